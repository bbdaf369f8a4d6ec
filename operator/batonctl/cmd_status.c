/* batonctl status (batonctl/cli.h). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batond/config.h"
#include "batonctl/check.h"
#include "batonctl/cli.h"
#include "batonctl/fleet.h"
#include "batonctl/load.h"
#include "batonctl/report.h"
#include "batonctl/table.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/version.h"
#include "common/yamljson.h"

/* ---- status ---------------------------------------------------------------
 */

static json_t *db_items(struct baton_ctl_region *r)
{
	json_t *items = json_object_get(r->api_result, "items");
	if (items == NULL && json_object_get(r->api_result, "spec") != NULL) {
		return json_pack("[O]", r->api_result);
	}
	return json_incref(items);
}

/* FILTER is "NS/NAME", or "NS/" for every database of NS. */
static bool filtered_out(const char *filter, const char *key)
{
	size_t n;

	if (filter == NULL) {
		return false;
	}
	n = strlen(filter);
	if (n > 0 && filter[n - 1] == '/') {
		return strncmp(filter, key, n) != 0;
	}
	return strcmp(filter, key) != 0;
}

/* This region's designated instance and the move in flight, from its
 * status (status.regions[].designated, .designation), as D's
 * "designated" ("orders-us-east-1") and "designation" ("Joining
 * orders-us-east-1": the state and the instance that joined; absent while
 * Stable). */
static void designation(json_t *d, json_t *me)
{
	json_t *g = json_object_get(me, "designation");
	const char *state = json_string_value(json_object_get(g, "state"));
	const char *to = json_string_value(json_object_get(g, "to"));
	char buf[300];

	if (json_is_string(json_object_get(me, "designated"))) {
		json_object_set(d, "designated",
				json_object_get(me, "designated"));
	}
	if (state == NULL || strcmp(state, "Stable") == 0) {
		return;
	}
	snprintf(buf, sizeof buf, "%s%s%s%s", state, to != NULL ? " " : "",
		 to != NULL ? to : "",
		 json_is_true(json_object_get(g, "givingUp")) ? " (giving up)"
							      : "");
	json_object_set_new(d, "designation", json_string(buf));
}

/* The pods of database KEY that the region's batond holds under a
 * forensic fence (its /v1/status agents[].forensicFence, batond/hold.h),
 * as D's "fenced": {"pod": "why"}. Nothing without batond. */
static void held_pods(struct baton_ctl_region *r, const char *key, json_t *d)
{
	json_t *held = NULL, *a;
	size_t i;

	if (!r->batond_ok) {
		return;
	}
	json_array_foreach(json_object_get(r->batond_status, "agents"), i, a)
	{
		const char *db = json_string_value(json_object_get(a, "db"));
		const char *pod = json_string_value(json_object_get(a, "pod"));
		json_t *why = json_object_get(a, "forensicFence");
		const char *slash = pod != NULL ? strchr(pod, '/') : NULL;
		if (db == NULL || why == NULL || slash == NULL ||
		    strcmp(db, key) != 0) {
			continue;
		}
		if (held == NULL) {
			held = json_object();
		}
		json_object_set(held, slash + 1, why);
	}
	if (held != NULL) {
		json_object_set_new(d, "fenced", held);
	}
}

static json_t *region_status(struct baton_ctl_region *r, const char *filter)
{
	json_t *out = json_object();
	json_t *raft = json_object_get(r->batond_status, "raft");
	json_t *dbs = json_array();
	int sources = (r->kubeconfig != NULL) + (r->batond_url != NULL);
	int ok = (r->kubeconfig && r->api_ok) + (r->batond_url && r->batond_ok);
	size_t i;
	json_t *o;

	json_object_set_new(out, "name", json_string(r->name));
	json_object_set_new(out, "reachable",
			    json_string(ok == 0		? "no"
					: ok == sources ? "yes"
							: "partial"));
	if (r->kubeconfig != NULL) {
		json_object_set_new(out, "api",
				    json_pack("{s:s, s:s?, s:b, s:s?}",
					      "kubeconfig", r->kubeconfig,
					      "context", r->context,
					      "reachable", r->api_ok, "error",
					      r->api_ok ? NULL : r->api_err));
	}
	if (r->batond_url != NULL) {
		json_object_set_new(
		    out, "batond",
		    json_pack("{s:s, s:b, s:s?, s:O?}", "url", r->batond_url,
			      "reachable", r->batond_ok, "error",
			      r->batond_ok ? NULL : r->batond_err, "raft",
			      raft));
	}
	/* databases: the region's own copies (status written by its batond);
	 * without an API server, what batond says */
	json_t *items = r->api_ok ? db_items(r) : NULL;
	json_array_foreach(items, i, o)
	{
		json_t *md = json_object_get(o, "metadata");
		json_t *st = json_object_get(o, "status");
		char key[300];
		snprintf(key, sizeof key, "%s/%s",
			 json_string_value(json_object_get(md, "namespace")),
			 json_string_value(json_object_get(md, "name")));
		if (filtered_out(filter, key)) {
			continue;
		}
		json_t *me = NULL, *x;
		size_t j;
		json_array_foreach(json_object_get(st, "regions"), j, x)
		{
			const char *n =
			    json_string_value(json_object_get(x, "name"));
			if (n != NULL && strcmp(n, r->name) == 0) {
				me = x;
			}
		}
		json_t *d = json_pack(
		    "{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, "
		    "s:O?}",
		    "database", key, "phaseReason",
		    json_object_get(st, "phaseReason"), "primaryFailingSince",
		    json_object_get(st, "primaryFailingSince"), "primaryRegion",
		    json_object_get(st, "primaryRegion"), "epoch",
		    json_object_get(st, "epoch"), "phase",
		    json_object_get(st, "phase"), "ready",
		    json_object_get(st, "ready"), "role",
		    json_object_get(me, "role"), "lagBytes",
		    json_object_get(me, "lagBytes"), "specPrimaryRegion",
		    json_object_get(json_object_get(o, "spec"),
				    "primaryRegion"));
		held_pods(r, key, d);
		designation(d, me);
		json_array_append_new(dbs, d);
	}
	json_decref(items);
	if (!r->api_ok && r->batond_ok) {
		json_array_foreach(
		    json_object_get(r->batond_status, "databases"), i, o)
		{
			const char *key =
			    json_string_value(json_object_get(o, "key"));
			if (key == NULL || (filtered_out(filter, key))) {
				continue;
			}
			json_array_append_new(
			    dbs, json_pack("{s:s, s:O?, s:O?, s:O?, s:s}",
					   "database", key, "primaryRegion",
					   json_object_get(o, "primary"),
					   "epoch", json_object_get(o, "epoch"),
					   "phase", json_object_get(o, "phase"),
					   "source", "batond"));
		}
	}
	json_object_set_new(out, "databases", dbs);
	return out;
}

/* The LAG cell: bytes in a human unit ("-" when not reported). */
static const char *lag_cell(json_t *v, char *buf, size_t len)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		return "-";
	}
	return baton_ctl_human_bytes((uint64_t)json_integer_value(v), buf, len);
}

/* One row per region and database, each column as wide as its widest
 * cell. WIDE: DESIGNATED, the region's designated instance (and a move in
 * flight), FENCED, the pods its batond holds under a forensic fence,
 * and REASON, the region's status.phaseReason. */
static void print_table(json_t *regions, bool wide)
{
	static const char *const header[] = {
	    "REGION",	"REACHABLE", "RAFT",	   "TERM",   "LEADER",
	    "DATABASE", "PRIMARY",   "EPOCH",	   "PHASE",  "READY",
	    "ROLE",	"LAG",	     "DESIGNATED", "FENCED", "REASON"};
	struct baton_ctl_table t;
	size_t i, j, ncols = wide ? 15 : 12;
	json_t *r, *d;

	/* the header and every row have the wide table's 15 cells */
	_Static_assert(sizeof header / sizeof *header == 15,
		       "a header cell per column of the wide table");

	if (baton_ctl_table_init(&t, ncols, header) != 0) {
		fprintf(stderr, "%s: out of memory\n", baton_ctl_prog);
		return;
	}
	json_array_foreach(regions, i, r)
	{
		json_t *raft =
		    json_object_get(json_object_get(r, "batond"), "raft");
		char b[3][32];
		const char *row[15] = {
		    json_string_value(json_object_get(r, "name")),
		    json_string_value(json_object_get(r, "reachable")),
		    baton_ctl_str_or(json_object_get(raft, "state"), "-", b[0],
				     sizeof b[0]),
		    baton_ctl_str_or(json_object_get(raft, "term"), "-", b[1],
				     sizeof b[1]),
		    baton_ctl_str_or(json_object_get(raft, "leader"), "-", b[2],
				     sizeof b[2]),
		};
		json_t *dbs = json_object_get(r, "databases");
		if (json_array_size(dbs) == 0) {
			baton_ctl_table_add(&t, row); /* the rest: "-" */
		}
		json_array_foreach(dbs, j, d)
		{
			char c[5][32], fenced[300] = "", desig[400];
			const char *pod;
			json_t *why;
			row[5] =
			    json_string_value(json_object_get(d, "database"));
			row[6] = baton_ctl_str_or(
			    json_object_get(d, "primaryRegion"), "-", c[0],
			    sizeof c[0]);
			row[7] = baton_ctl_str_or(json_object_get(d, "epoch"),
						  "-", c[1], sizeof c[1]);
			row[8] = baton_ctl_str_or(json_object_get(d, "phase"),
						  "-", c[2], sizeof c[2]);
			row[9] = baton_ctl_str_or(json_object_get(d, "ready"),
						  "-", c[3], sizeof c[3]);
			row[10] = baton_ctl_str_or(json_object_get(d, "role"),
						   "-", NULL, 0);
			row[11] = lag_cell(json_object_get(d, "lagBytes"), c[4],
					   sizeof c[4]);
			json_object_foreach(json_object_get(d, "fenced"), pod,
					    why)
			{
				size_t used = strlen(fenced);
				snprintf(fenced + used, sizeof fenced - used,
					 "%s%s", used ? "," : "", pod);
			}
			/* "orders-us-east-0", or with a move in flight
			 * "orders-us-east-0 (Joining orders-us-east-1)" */
			snprintf(
			    desig, sizeof desig, "%s%s%s%s",
			    baton_ctl_str_or(json_object_get(d, "designated"),
					     "-", NULL, 0),
			    json_is_string(json_object_get(d, "designation"))
				? " ("
				: "",
			    json_is_string(json_object_get(d, "designation"))
				? json_string_value(
				      json_object_get(d, "designation"))
				: "",
			    json_is_string(json_object_get(d, "designation"))
				? ")"
				: "");
			row[12] = desig;
			row[13] = fenced;
			row[14] = baton_ctl_str_or(
			    json_object_get(d, "phaseReason"), "-", NULL, 0);
			baton_ctl_table_add(&t, row);
		}
	}
	baton_ctl_table_print(&t, stdout);
	baton_ctl_table_free(&t);
	json_array_foreach(regions, i, r)
	{
		json_t *api = json_object_get(r, "api");
		json_t *bd = json_object_get(r, "batond");
		const char *name =
		    json_string_value(json_object_get(r, "name"));
		if (json_is_string(json_object_get(api, "error"))) {
			printf(
			    "%s: API server unreachable: %s\n", name,
			    json_string_value(json_object_get(api, "error")));
		}
		if (json_is_string(json_object_get(bd, "error"))) {
			printf("%s: batond unreachable: %s\n", name,
			       json_string_value(json_object_get(bd, "error")));
		}
	}
}

static void usage_status(FILE *f)
{
	fprintf(f,
		"usage: batonctl status [NS/DB | -n NS [DB]] "
		"[-o table|wide|json|yaml] "
		"[--watch[=2s]] [region flags]\n\n"
		"One row per region and database: whether the region "
		"answered (API server\n"
		"and batond), its batond's Raft state, term and leader, "
		"and from the\n"
		"region's own copy of each DatabaseCluster: primary region, "
		"epoch, phase,\n"
		"ready instances, this region's role and replication lag "
		"(KiB, MiB, ...;\n"
		"bytes in json and yaml); columns as wide as their content; "
		"-o wide adds\n"
		"the region's designated instance and a move of it in "
		"flight (DESIGNATED),\n"
		"the pods its batond holds under a forensic fence (FENCED) "
		"and the reason\n"
		"for the phase (status.phaseReason).\n"
		"Unreachable regions are listed with the error. Exit 0 if "
		"any region\n"
		"answered, 1 if none did, 2 on bad flags or configs.\n\n"
		"  -o, --output table|wide|json|yaml\n"
		"  -w, --watch[=INTERVAL]  again every INTERVAL (default 2s) "
		"until Ctrl-C;\n"
		"                          with -o json one compact document "
		"per line,\n"
		"                          with -o yaml one document each "
		"(---)\n"
		"  -n, --namespace NS  with NAME for "
		"NS/NAME\n" BATON_CTL_REGION_HELP);
}

int baton_ctl_cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"watch", optional_argument, NULL, 'w'},
	    BATON_CTL_REGION_LONGOPTS,
	    {0}};
	struct baton_ctl_region_flags rf = {0};
	struct baton_ctl_fleet *f;
	const char *filter = NULL;
	char filter_buf[300];
	bool json = false, wide = false, yaml = false;
	long watch_ms = 0;
	int opt, rv, answered;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:n:wh", longopts, NULL)) !=
	       -1) {
		int r = baton_ctl_region_flag(&rf, opt, optarg);
		if (r < 0) {
			return baton_ctl_die_usage("too many region flags");
		}
		if (r > 0) {
			continue;
		}
		switch (opt) {
		case 'o':
			if (strcmp(optarg, "json") == 0) {
				json = true;
			} else if (strcmp(optarg, "wide") == 0) {
				wide = true;
			} else if (strcmp(optarg, "yaml") == 0) {
				yaml = true;
			} else if (strcmp(optarg, "table") != 0) {
				return baton_ctl_die_usage(
				    "status: -o wants table, wide, json or "
				    "yaml, not '%s'",
				    optarg);
			}
			break;
		case 'w':
			watch_ms =
			    optarg ? baton_ctl_parse_duration(optarg) : 2000;
			if (watch_ms <= 0) {
				return baton_ctl_die_usage(
				    "status: --watch wants an interval like "
				    "2s, not '%s'",
				    optarg);
			}
			break;
		case 'h':
			usage_status(stdout);
			return 0;
		default:
			usage_status(stderr);
			return BATON_CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		char ns[128], name[128];
		if ((rv = baton_ctl_db_arg("status", rf.ns, argv[optind++], ns,
					   name, sizeof ns)) != 0) {
			return rv;
		}
		snprintf(filter_buf, sizeof filter_buf, "%s/%s", ns, name);
		filter = filter_buf;
	} else if (rf.ns != NULL) {
		/* -n NS alone: every database of NS */
		snprintf(filter_buf, sizeof filter_buf, "%s/", rf.ns);
		filter = filter_buf;
	}
	if (optind < argc) {
		return baton_ctl_die_usage("status: unexpected argument '%s'",
					   argv[optind]);
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	rv = baton_ctl_open_fleet(f, &rf);
	if (rv != 0) {
		baton_ctl_fleet_close(f);
		free(f);
		return rv;
	}
	for (;;) {
		json_t *regions = json_array();
		answered = baton_ctl_fleet_fetch(f, NULL, NULL, true);
		for (size_t i = 0; i < f->n; i++) {
			json_array_append_new(
			    regions, region_status(&f->regions[i], filter));
		}
		if (watch_ms > 0 && !json && !yaml && isatty(STDOUT_FILENO)) {
			fputs("\033[H\033[2J", stdout); /* a fresh screen */
		}
		if (yaml) {
			char err[BATON_ERRMSG_SIZE];
			json_t *doc =
			    json_pack("{s:o, s:I}", "regions", regions, "at",
				      (json_int_t)baton_realtime_ms());
			if (watch_ms > 0) {
				fputs("---\n", stdout); /* one per round */
			}
			fflush(stdout);
			if (baton_json_to_yaml(doc, stdout, err) != 0) {
				fprintf(stderr, "%s: %s\n", baton_ctl_prog,
					err);
			}
			json_decref(doc);
		} else if (json) {
			json_t *doc =
			    json_pack("{s:o, s:I}", "regions", regions, "at",
				      (json_int_t)baton_realtime_ms());
			/* one document per line while watching */
			json_dumpf(doc, stdout,
				   watch_ms > 0 ? JSON_COMPACT
						: JSON_INDENT(2));
			putchar('\n');
			json_decref(doc);
		} else {
			if (watch_ms > 0) {
				char now[40];
				printf("every %.1fs  %s\n\n",
				       (double)watch_ms / 1000,
				       baton_clock_rfc3339(now, sizeof now, 0));
			}
			print_table(regions, wide);
			json_decref(regions);
		}
		fflush(stdout);
		if (watch_ms <= 0) {
			break;
		}
		/* until interrupted (Ctrl-C ends the process) */
		usleep((useconds_t)watch_ms * 1000);
	}
	baton_ctl_fleet_close(f);
	free(f);
	if (answered == 0) {
		fprintf(stderr, "%s: no region answered\n", baton_ctl_prog);
		return BATON_CTL_EXIT_FAILED;
	}
	return 0;
}
