/* batonctl: the operator's command line.
 *
 *   batonctl status [NS/DB] [-o table|json]      the fleet at a glance
 *   batonctl switchover NS/DB REGION [--wait D]  planned switchover
 *   batonctl check --server URL [--expect-peers A,B]   helm test's check
 *   batonctl version                             the client's version
 *   batonctl drill SCENARIO [--repeat N] [--report DIR]   (tests/lab/drill.sh)
 *   batonctl lab up|down|status|...              (tests/lab/lab.sh)
 *   batonctl load --hosts A,B,C --out DIR ...    write load + prober
 *   batonctl report DIR [--check]                a drill's report
 *
 * Regions come from --kubeconfig NAME=PATH (API servers), --batond
 * NAME=URL (batond's /v1/status), --region-config FILE (a batond config:
 * its region, kubeconfig, http.bind and its peers' kubeconfigs), or, with
 * none of these, from the lab in $BATON_LAB_DIR (or a running lab in
 * tests/lab/run), else from $KUBECONFIG (each file one region).
 *
 * Exit codes: 0 success; 1 the operation failed (no region reachable, the
 * database does not exist, a switchover was refused or timed out, a drill
 * failed its checks); 2 usage or configuration error (bad flag, broken
 * kubeconfig).
 */
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
#include "batonctl/completion.h"
#include "batonctl/fleet.h"
#include "batonctl/load.h"
#include "batonctl/report.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/version.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char *prog = "batonctl";

static void usage_main(FILE *f)
{
	fprintf(f,
		"batonctl: operate a Baton fleet (one batond per region, one "
		"writable primary)\n\n"
		"usage: batonctl COMMAND [flags]   (batonctl COMMAND --help "
		"for details)\n\n"
		"commands:\n"
		"  status [NS/DB]            every region: reachability, Raft "
		"role, term,\n"
		"                            leader; per database: primary, "
		"epoch, phase,\n"
		"                            ready, lag\n"
		"  switchover NS/DB REGION   move the primary to REGION "
		"(planned)\n"
		"  pause NS/DB | resume NS/DB  maintenance: no automatic "
		"failover (manual\n"
		"                            mode) until resumed\n"
		"  check --server URL        is this region's batond "
		"reachable and healthy\n"
		"  version                   batonctl's version (also "
		"--version)\n"
		"  drill SCENARIO            run a failure drill in the lab, "
		"write a report\n"
		"  lab up|down|status|...    the local lab "
		"(tests/lab/lab.sh)\n"
		"  load                      the drills' write load and "
		"split-brain prober\n"
		"  report DIR                compute a drill's report.json and "
		"timeline.svg\n"
		"  completion bash|zsh       a shell completion script "
		"(source <(batonctl completion bash))\n\n"
		"region flags (status, switchover, pause, resume):\n"
		"  --kubeconfig NAME=PATH[,NAME=PATH...]   a region's API "
		"server (repeatable;\n"
		"                            a bare PATH takes its directory's "
		"name, or its\n"
		"                            context's when that is no region "
		"name)\n"
		"  --batond NAME=URL[,...]   a region's batond, e.g. "
		"eu-west=http://198.18.0.11:8080\n"
		"  --region-config FILE      a batond config file (region, "
		"kubeconfig,\n"
		"                            http.bind, peers' kubeconfigs)\n"
		"  --lab DIR                 the lab's regions (default "
		"$BATON_LAB_DIR or\n"
		"                            a running lab in tests/lab/run "
		"when no region\n"
		"                            flag is given)\n"
		"  (none of these)           the files in $KUBECONFIG, one "
		"region each\n\n"
		"exit codes: 0 success, 1 the operation failed, 2 usage or "
		"configuration error\n");
}

static int die_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int die_usage(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", prog);
	return EXIT_USAGE;
}

/* ---- where things are ------------------------------------------------- */

/* The source tree: $BATON_TOP, else the first parent of the binary's
 * directory that holds tests/lab/lab.sh (build/<x>/bin/batonctl). */
static int find_top(char *out, size_t len)
{
	const char *env = getenv("BATON_TOP");
	char path[PATH_MAX], probe[PATH_MAX + 32];
	ssize_t n;

	if (env != NULL && env[0] != '\0') {
		snprintf(out, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", path, sizeof path - 1);
	if (n <= 0) {
		return -1;
	}
	path[n] = '\0';
	for (int i = 0; i < 6; i++) {
		char *slash = strrchr(path, '/');
		if (slash == NULL || slash == path) {
			break;
		}
		*slash = '\0';
		snprintf(probe, sizeof probe, "%s/tests/lab/lab.sh", path);
		if (access(probe, X_OK) == 0) {
			snprintf(out, len, "%s", path);
			return 0;
		}
	}
	return -1;
}

static int exec_script(const char *rel, int argc, char **argv)
{
	char top[PATH_MAX], script[PATH_MAX + 64], self[PATH_MAX];
	char **args = calloc((size_t)argc + 2, sizeof *args);
	ssize_t n;

	if (args == NULL) {
		return EXIT_FAILED;
	}
	if (find_top(top, sizeof top) != 0) {
		fprintf(stderr,
			"%s: cannot find the source tree (tests/lab/) from the "
			"binary's location: set BATON_TOP\n",
			prog);
		free(args);
		return EXIT_USAGE;
	}
	snprintf(script, sizeof script, "%s/%s", top, rel);
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		setenv("BATONCTL", self, 1);
	}
	setenv("BATON_TOP", top, 1);
	args[0] = script;
	for (int i = 0; i < argc; i++) {
		args[i + 1] = argv[i];
	}
	execv(script, args);
	fprintf(stderr, "%s: cannot run %s: %s\n", prog, script,
		strerror(errno));
	free(args);
	return EXIT_FAILED;
}

/* ---- region flags ---------------------------------------------------------
 */

struct region_flags {
	const char *kubeconfigs[32];
	int n_kubeconfigs;
	const char *batonds[32];
	int n_batonds;
	const char *configs[BATON_CTL_MAX_REGIONS];
	int n_configs;
	const char *lab;
};

/* The region of a kubeconfig given without NAME= (its directory's name or
 * its current context: baton_ctl_kubeconfig_region), into NAME. */
static int kubeconfig_region(const char *path, char *name, size_t len)
{
	struct baton_kube_config kc;
	int rv;

	rv = baton_kube_config_load_file(&kc, path, NULL);
	if (rv != 0) {
		fprintf(stderr, "%s: kubeconfig %s: %s\n", prog, path,
			kc.errmsg);
		baton_kube_config_free(&kc);
		return EXIT_USAGE;
	}
	rv = baton_ctl_kubeconfig_region(path, kc.context, name, len);
	if (rv != 0) {
		fprintf(stderr,
			"%s: cannot tell the region of kubeconfig %s: neither "
			"its directory nor its context '%s' is a region name "
			"(lower case, digits, '-'): give "
			"--kubeconfig REGION=%s\n",
			prog, path, kc.context ? kc.context : "", path);
	}
	baton_kube_config_free(&kc);
	return rv != 0 ? EXIT_USAGE : 0;
}

/* "NAME=VALUE,NAME=VALUE" or a bare PATH (kubeconfigs only: the region is
 * its directory's name, as in tests/env/run/<region>/admin.kubeconfig, or
 * else its current context's). SEP separates the items. */
static int add_list(struct baton_ctl_fleet *f, const char *list, bool kube,
		    const char *sep)
{
	char *copy = strdup(list), *save = NULL, *item;
	int rv = 0;

	if (copy == NULL) {
		return EXIT_FAILED;
	}
	for (item = strtok_r(copy, sep, &save); item != NULL && rv == 0;
	     item = strtok_r(NULL, sep, &save)) {
		char name[BATON_CTL_NAME_SIZE];
		const char *value;
		char *eq = strchr(item, '=');
		if (eq != NULL) {
			*eq = '\0';
			snprintf(name, sizeof name, "%s", item);
			value = eq + 1;
		} else if (kube) {
			rv = kubeconfig_region(item, name, sizeof name);
			if (rv != 0) {
				break;
			}
			value = item;
		} else {
			fprintf(stderr,
				"%s: --batond wants NAME=URL, got '%s'\n", prog,
				item);
			rv = EXIT_USAGE;
			break;
		}
		if (name[0] == '\0' || value[0] == '\0') {
			fprintf(stderr,
				"%s: cannot tell the region of '%s': write "
				"NAME=%s\n",
				prog, item, kube ? "PATH" : "URL");
			rv = EXIT_USAGE;
			break;
		}
		rv = kube ? baton_ctl_fleet_add_kubeconfig(f, name, value)
			  : baton_ctl_fleet_add_batond(f, name, value);
		if (rv != 0) {
			fprintf(stderr, "%s: %s\n", prog, f->errmsg);
			rv = EXIT_USAGE;
		}
	}
	free(copy);
	return rv;
}

/* Where batonctl reaches the batond of CFG's region: its http.bind, with
 * a wildcard address read as this host. -1 without a usable http.bind. */
static int local_batond_url(const struct baton_batond_config *cfg, char *url,
			    size_t len)
{
	char host[256];
	int port;

	if (cfg->http_bind == NULL ||
	    baton_split_host_port(cfg->http_bind, host, sizeof host, &port) !=
		0) {
		return -1;
	}
	snprintf(url, len, "http://%s:%d",
		 strcmp(host, "0.0.0.0") == 0 || host[0] == '\0' ? "127.0.0.1"
								 : host,
		 port);
	return 0;
}

static int add_region_config(struct baton_ctl_fleet *f, const char *path)
{
	struct baton_batond_config cfg;
	char url[300];
	int rv;

	rv = baton_batond_config_load(&cfg, path); /* sets the defaults */
	if (rv != 0) {
		fprintf(stderr, "%s: --region-config %s: %s\n", prog, path,
			cfg.errmsg);
		baton_batond_config_free(&cfg);
		return EXIT_USAGE;
	}
	if (cfg.kubeconfig != NULL && baton_ctl_fleet_add_kubeconfig(
					  f, cfg.region, cfg.kubeconfig) != 0) {
		goto fail;
	}
	if (local_batond_url(&cfg, url, sizeof url) == 0 &&
	    baton_ctl_fleet_add_batond(f, cfg.region, url) != 0) {
		goto fail;
	}
	for (size_t i = 0; i < cfg.n_peers; i++) {
		struct baton_ctl_region *r =
		    baton_ctl_fleet_region(f, cfg.peers[i].name);
		if (cfg.peers[i].kubeconfig != NULL && r != NULL &&
		    r->kubeconfig == NULL &&
		    baton_ctl_fleet_add_kubeconfig(
			f, cfg.peers[i].name, cfg.peers[i].kubeconfig) != 0) {
			goto fail;
		}
	}
	baton_batond_config_free(&cfg);
	return 0;
fail:
	fprintf(stderr, "%s: --region-config %s: %s\n", prog, path, f->errmsg);
	baton_batond_config_free(&cfg);
	return EXIT_USAGE;
}

/* The lab's regions: regions/regions lists them; batond runs where
 * pids/batond-<r>.pid exists, on the region's address, port 8080. */
static int add_lab(struct baton_ctl_fleet *f, const char *lab)
{
	char path[PATH_MAX + 512], line[128];
	FILE *list;
	int rv = 0;

	snprintf(path, sizeof path, "%s/regions/regions", lab);
	list = fopen(path, "r");
	if (list == NULL) {
		fprintf(stderr,
			"%s: no region flags given and no lab at %s (%s): "
			"give --kubeconfig/--batond/--region-config, set "
			"KUBECONFIG, or start the lab ('batonctl lab up')\n",
			prog, lab, strerror(errno));
		return EXIT_USAGE;
	}
	while (rv == 0 && fgets(line, sizeof line, list) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0') {
			continue;
		}
		snprintf(path, sizeof path, "%s/regions/%s/admin.kubeconfig",
			 lab, line);
		if (baton_ctl_fleet_add_kubeconfig(f, line, path) != 0) {
			fprintf(stderr, "%s: %s\n", prog, f->errmsg);
			rv = EXIT_USAGE;
			break;
		}
		snprintf(path, sizeof path, "%s/pids/batond-%s.pid", lab, line);
		if (access(path, F_OK) == 0) {
			char envp[PATH_MAX + 512], l2[256], url[300];
			snprintf(envp, sizeof envp, "%s/regions/%s/region.env",
				 lab, line);
			FILE *e = fopen(envp, "r");
			while (e != NULL && fgets(l2, sizeof l2, e) != NULL) {
				if (strncmp(l2, "BATON_IP=", 9) == 0) {
					l2[strcspn(l2, "\r\n")] = '\0';
					snprintf(url, sizeof url,
						 "http://%s:8080", l2 + 9);
					baton_ctl_fleet_add_batond(f, line,
								   url);
				}
			}
			if (e != NULL) {
				fclose(e);
			}
		}
	}
	fclose(list);
	return rv;
}

static int open_fleet(struct baton_ctl_fleet *f, struct region_flags *rf)
{
	int rv;

	if (baton_ctl_fleet_init(f) != 0) {
		fprintf(stderr, "%s: %s\n", prog, f->errmsg);
		return EXIT_FAILED;
	}
	for (int i = 0; i < rf->n_configs; i++) {
		if ((rv = add_region_config(f, rf->configs[i])) != 0) {
			return rv;
		}
	}
	for (int i = 0; i < rf->n_kubeconfigs; i++) {
		if ((rv = add_list(f, rf->kubeconfigs[i], true, ",")) != 0) {
			return rv;
		}
	}
	for (int i = 0; i < rf->n_batonds; i++) {
		if ((rv = add_list(f, rf->batonds[i], false, ",")) != 0) {
			return rv;
		}
	}
	if (f->n == 0) {
		char top[PATH_MAX / 2], lab[PATH_MAX / 2 + 64];
		const char *dir = rf->lab ? rf->lab : getenv("BATON_LAB_DIR");
		const char *kubeconfig = getenv("KUBECONFIG");
		bool have_top = find_top(top, sizeof top) == 0;
		if (dir != NULL && dir[0] != '\0') {
			return add_lab(f, dir);
		}
		/* a running lab in the source tree comes first: make lab
		 * runs `batonctl status` in shells that may set KUBECONFIG */
		if (have_top) {
			snprintf(lab, sizeof lab,
				 "%s/tests/lab/run/regions/regions", top);
			if (access(lab, F_OK) == 0) {
				snprintf(lab, sizeof lab, "%s/tests/lab/run",
					 top);
				return add_lab(f, lab);
			}
		}
		/* as kubectl: a ':'-separated list; each file is one region
		 * (its current context) */
		if (kubeconfig != NULL && kubeconfig[0] != '\0') {
			return add_list(f, kubeconfig, true, ":");
		}
		if (!have_top) {
			fprintf(stderr,
				"%s: no regions: give --kubeconfig, --batond "
				"or --region-config, or set KUBECONFIG\n",
				prog);
			return EXIT_USAGE;
		}
		snprintf(lab, sizeof lab, "%s/tests/lab/run", top);
		return add_lab(f, lab);
	}
	return 0;
}

/* Region flags shared by status and switchover; 1 if OPT was one. */
static int region_flag(struct region_flags *rf, int opt, const char *arg)
{
	switch (opt) {
	case 'k':
		if (rf->n_kubeconfigs == 32) {
			return -1;
		}
		rf->kubeconfigs[rf->n_kubeconfigs++] = arg;
		return 1;
	case 'b':
		if (rf->n_batonds == 32) {
			return -1;
		}
		rf->batonds[rf->n_batonds++] = arg;
		return 1;
	case 'c':
		if (rf->n_configs == BATON_CTL_MAX_REGIONS) {
			return -1;
		}
		rf->configs[rf->n_configs++] = arg;
		return 1;
	case 'L':
		rf->lab = arg;
		return 1;
	default:
		return 0;
	}
}

#define REGION_LONGOPTS                                                        \
	{"kubeconfig", required_argument, NULL, 'k'},                          \
	    {"batond", required_argument, NULL, 'b'},                          \
	    {"region-config", required_argument, NULL, 'c'},                   \
	    {"lab", required_argument, NULL, 'L'},                             \
	{                                                                      \
		"help", no_argument, NULL, 'h'                                 \
	}

static int split_ref(const char *ref, char *ns, char *name, size_t len)
{
	const char *slash = strchr(ref, '/');
	if (slash == NULL || slash == ref || slash[1] == '\0' ||
	    strchr(slash + 1, '/') != NULL || (size_t)(slash - ref) >= len ||
	    strlen(slash + 1) >= len) {
		return -1;
	}
	snprintf(ns, len, "%.*s", (int)(slash - ref), ref);
	snprintf(name, len, "%s", slash + 1);
	return 0;
}

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
				    json_pack("{s:s, s:b, s:s?}", "kubeconfig",
					      r->kubeconfig, "reachable",
					      r->api_ok, "error",
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
		if (filter != NULL && strcmp(filter, key) != 0) {
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
		    "{s:s, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}",
		    "database", key, "primaryRegion",
		    json_object_get(st, "primaryRegion"), "epoch",
		    json_object_get(st, "epoch"), "phase",
		    json_object_get(st, "phase"), "ready",
		    json_object_get(st, "ready"), "role",
		    json_object_get(me, "role"), "lagBytes",
		    json_object_get(me, "lagBytes"), "specPrimaryRegion",
		    json_object_get(json_object_get(o, "spec"),
				    "primaryRegion"));
		json_array_append_new(dbs, d);
	}
	json_decref(items);
	if (!r->api_ok && r->batond_ok) {
		json_array_foreach(
		    json_object_get(r->batond_status, "databases"), i, o)
		{
			const char *key =
			    json_string_value(json_object_get(o, "key"));
			if (key == NULL ||
			    (filter != NULL && strcmp(filter, key) != 0)) {
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

/* V as text: strings as they are, numbers and booleans formatted into
 * BUF, or into one of a few rotating buffers when BUF is NULL or empty
 * (several values in one printf). */
static const char *str_or(json_t *v, const char *dflt, char *buf, size_t len)
{
	static char ring[8][32];
	static unsigned next;

	if (buf == NULL || len == 0) {
		buf = ring[next++ % 8];
		len = sizeof ring[0];
	}
	if (json_is_string(v)) {
		return json_string_value(v);
	}
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_boolean(v)) {
		return json_is_true(v) ? "true" : "false";
	}
	return dflt;
}

static void print_table(json_t *regions)
{
	size_t i, j;
	json_t *r, *d;
	char b1[32], b2[32], b3[32];

	printf("%-10s %-9s %-10s %-5s %-10s %-20s %-10s %-5s %-14s %-5s "
	       "%-8s %s\n",
	       "REGION", "REACHABLE", "RAFT", "TERM", "LEADER", "DATABASE",
	       "PRIMARY", "EPOCH", "PHASE", "READY", "ROLE", "LAG");
	json_array_foreach(regions, i, r)
	{
		json_t *raft =
		    json_object_get(json_object_get(r, "batond"), "raft");
		const char *name =
		    json_string_value(json_object_get(r, "name"));
		const char *reach =
		    json_string_value(json_object_get(r, "reachable"));
		const char *state =
		    str_or(json_object_get(raft, "state"), "-", b1, sizeof b1);
		const char *term =
		    str_or(json_object_get(raft, "term"), "-", b2, sizeof b2);
		const char *leader =
		    str_or(json_object_get(raft, "leader"), "-", b3, sizeof b3);
		json_t *dbs = json_object_get(r, "databases");
		if (json_array_size(dbs) == 0) {
			printf("%-10s %-9s %-10s %-5s %-10s %s\n", name, reach,
			       state, term, leader, "-");
		}
		json_array_foreach(dbs, j, d)
		{
			char c1[32], c2[32];
			printf(
			    "%-10s %-9s %-10s %-5s %-10s %-20s %-10s %-5s "
			    "%-14s %-5s %-8s %s\n",
			    name, reach, state, term, leader,
			    json_string_value(json_object_get(d, "database")),
			    str_or(json_object_get(d, "primaryRegion"), "-", c1,
				   sizeof c1),
			    str_or(json_object_get(d, "epoch"), "-", c2,
				   sizeof c2),
			    str_or(json_object_get(d, "phase"), "-", b1,
				   sizeof b1),
			    str_or(json_object_get(d, "ready"), "-", b2,
				   sizeof b2),
			    str_or(json_object_get(d, "role"), "-", b3,
				   sizeof b3),
			    str_or(json_object_get(d, "lagBytes"), "-", c1,
				   sizeof c1));
		}
	}
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
	fprintf(f, "usage: batonctl status [NS/DB] [-o table|json] [region "
		   "flags]\n\n"
		   "One row per region and database: whether the region "
		   "answered (API server\n"
		   "and batond), its batond's Raft state, term and leader, "
		   "and from the\n"
		   "region's own copy of each DatabaseCluster: primary region, "
		   "epoch, phase,\n"
		   "ready instances, this region's role and replication lag "
		   "(bytes).\n"
		   "Unreachable regions are listed with the error. Exit 0 if "
		   "any region\n"
		   "answered, 1 if none did, 2 on bad flags or configs.\n\n"
		   "  -o, --output table|json\n"
		   "  --kubeconfig NAME=PATH[,...]  --batond NAME=URL[,...]\n"
		   "  --region-config FILE  --lab DIR\n");
}

static int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'}, REGION_LONGOPTS, {0}};
	struct region_flags rf = {0};
	struct baton_ctl_fleet *f;
	const char *filter = NULL;
	bool json = false;
	int opt, rv, answered;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		int r = region_flag(&rf, opt, optarg);
		if (r < 0) {
			return die_usage("too many region flags");
		}
		if (r > 0) {
			continue;
		}
		switch (opt) {
		case 'o':
			if (strcmp(optarg, "json") == 0) {
				json = true;
			} else if (strcmp(optarg, "table") != 0) {
				return die_usage(
				    "status: -o wants table or json, not '%s'",
				    optarg);
			}
			break;
		case 'h':
			usage_status(stdout);
			return 0;
		default:
			usage_status(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		char ns[128], name[128];
		filter = argv[optind++];
		if (split_ref(filter, ns, name, sizeof ns) != 0) {
			return die_usage("status: '%s' is not NAMESPACE/NAME",
					 filter);
		}
	}
	if (optind < argc) {
		return die_usage("status: unexpected argument '%s'",
				 argv[optind]);
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return EXIT_FAILED;
	}
	rv = open_fleet(f, &rf);
	if (rv != 0) {
		baton_ctl_fleet_close(f);
		free(f);
		return rv;
	}
	answered = baton_ctl_fleet_fetch(f, NULL, NULL, true);
	json_t *regions = json_array();
	for (size_t i = 0; i < f->n; i++) {
		json_array_append_new(regions,
				      region_status(&f->regions[i], filter));
	}
	if (json) {
		json_t *doc = json_pack("{s:o, s:I}", "regions", regions, "at",
					(json_int_t)baton_realtime_ms());
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
	} else {
		print_table(regions);
		json_decref(regions);
	}
	baton_ctl_fleet_close(f);
	free(f);
	if (answered == 0) {
		fprintf(stderr, "%s: no region answered\n", prog);
		return EXIT_FAILED;
	}
	return 0;
}

/* ---- switchover -----------------------------------------------------------
 */

static void usage_switchover(FILE *f)
{
	fprintf(f,
		"usage: batonctl switchover NS/DB REGION [--wait DURATION] "
		"[region flags]\n\n"
		"Asks for a planned switchover of NS/DB to REGION: sets "
		"spec.primaryRegion\n"
		"and the request annotation " BATON_ANNOTATION_SWITCHOVER
		"=REGION/<id> "
		"(a merge patch)\n"
		"on the DatabaseCluster in every reachable region, so the "
		"Raft leader's\n"
		"batond sees it wherever the leader is. batond then fences "
		"the primary,\n"
		"waits for REGION to catch up and promotes it (in "
		"failover.mode manual the\n"
		"same request promotes after a region was lost).\n\n"
		"  --wait DURATION  then show progress (phase, epoch, primary "
		"per region)\n"
		"                   until every reachable region's status "
		"names REGION as\n"
		"                   primary (e.g. 60s, 2m; default: do not "
		"wait)\n\n"
		"Exit 0 when requested (or completed, with --wait); 1 when "
		"the database does\n"
		"not exist, REGION is not one of its regions, batond refused "
		"or the wait\n"
		"timed out; 2 on bad flags or configs.\n");
}

static const char *phase_line(struct baton_ctl_fleet *f, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < f->n && off < len; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		json_t *st = json_object_get(r->api_result, "status");
		json_t *sw = json_object_get(st, "switchover");
		char e[32];
		int n;
		if (r->kubeconfig == NULL) {
			continue;
		}
		if (!r->api_ok) {
			n = snprintf(buf + off, len - off, "%s%s: unreachable",
				     off ? " | " : "", r->name);
		} else {
			n = snprintf(
			    buf + off, len - off,
			    "%s%s: %s epoch %s primary %s (switchover %s)",
			    off ? " | " : "", r->name,
			    str_or(json_object_get(st, "phase"), "-", e, 0),
			    str_or(json_object_get(st, "epoch"), "-", e,
				   sizeof e),
			    str_or(json_object_get(st, "primaryRegion"), "-",
				   NULL, 0),
			    str_or(json_object_get(sw, "state"), "-", NULL, 0));
		}
		if (n < 0) {
			break;
		}
		off += (size_t)n;
	}
	return buf;
}

static int cmd_switchover(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"wait", required_argument, NULL, 'w'}, REGION_LONGOPTS, {0}};
	struct region_flags rf = {0};
	struct baton_ctl_fleet *f = NULL;
	char ns[128], name[128], request[200], line[2048], last[2048] = "";
	const char *target;
	long wait_ms = 0;
	int opt, rv = 0, found = 0;
	json_t *obj = NULL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "w:h", longopts, NULL)) != -1) {
		int r = region_flag(&rf, opt, optarg);
		if (r < 0) {
			return die_usage("too many region flags");
		}
		if (r > 0) {
			continue;
		}
		switch (opt) {
		case 'w':
			wait_ms = baton_ctl_parse_duration(optarg);
			if (wait_ms <= 0) {
				return die_usage("switchover: --wait wants a "
						 "duration like 60s, not '%s'",
						 optarg);
			}
			break;
		case 'h':
			usage_switchover(stdout);
			return 0;
		default:
			usage_switchover(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage_switchover(stderr);
		return EXIT_USAGE;
	}
	if (split_ref(argv[optind], ns, name, sizeof ns) != 0) {
		return die_usage("switchover: '%s' is not NAMESPACE/NAME",
				 argv[optind]);
	}
	target = argv[optind + 1];
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return EXIT_FAILED;
	}
	if ((rv = open_fleet(f, &rf)) != 0) {
		goto out;
	}
	baton_ctl_fleet_fetch(f, ns, name, false);
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (r->kubeconfig == NULL) {
			continue;
		}
		if (r->api_ok) {
			found++;
			if (obj == NULL) {
				obj = json_incref(r->api_result);
			}
		} else if (r->api_status == BATON_ENOTFOUND) {
			fprintf(stderr, "%s: %s: no DatabaseCluster %s/%s\n",
				prog, r->name, ns, name);
		} else {
			fprintf(stderr, "%s: %s: unreachable, skipped: %s\n",
				prog, r->name, r->api_err);
		}
	}
	if (found == 0) {
		fprintf(stderr,
			"%s: DatabaseCluster %s/%s was not found in any "
			"reachable region\n",
			prog, ns, name);
		rv = EXIT_FAILED;
		goto out;
	}
	/* REGION must be one of the database's regions */
	{
		json_t *regs =
		    json_object_get(json_object_get(obj, "spec"), "regions");
		json_t *x;
		size_t i;
		bool member = false;
		char names[512] = "";
		json_array_foreach(regs, i, x)
		{
			const char *n =
			    json_string_value(json_object_get(x, "name"));
			if (n == NULL) {
				continue;
			}
			member = member || strcmp(n, target) == 0;
			size_t l = strlen(names);
			snprintf(names + l, sizeof names - l, "%s%s",
				 l ? ", " : "", n);
		}
		if (!member) {
			fprintf(stderr,
				"%s: %s is not one of %s/%s's regions (%s)\n",
				prog, target, ns, name, names);
			rv = EXIT_FAILED;
			goto out;
		}
	}
	snprintf(request, sizeof request, "%s/batonctl-%lld", target,
		 (long long)baton_realtime_ms());
	json_t *patch = json_pack("{s:{s:{s:s}}, s:{s:s}}", "metadata",
				  "annotations", BATON_ANNOTATION_SWITCHOVER,
				  request, "spec", "primaryRegion", target);
	int patched = baton_ctl_fleet_patch(f, ns, name, patch);
	json_decref(patch);
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (r->kubeconfig == NULL) {
			continue;
		}
		if (r->api_ok) {
			printf("%s: switchover to %s requested (%s)\n", r->name,
			       target, request);
		}
	}
	if (patched == 0) {
		fprintf(stderr, "%s: no region accepted the request\n", prog);
		rv = EXIT_FAILED;
		goto out;
	}
	if (wait_ms == 0) {
		goto out;
	}
	int64_t start = baton_realtime_ms(), end = start + wait_ms;
	for (;;) {
		int reachable = 0, done = 0;
		const char *refused = NULL;
		baton_ctl_fleet_fetch(f, ns, name, false);
		for (size_t i = 0; i < f->n; i++) {
			struct baton_ctl_region *r = &f->regions[i];
			json_t *st = json_object_get(r->api_result, "status");
			json_t *sw = json_object_get(st, "switchover");
			const char *p = json_string_value(
			    json_object_get(st, "primaryRegion"));
			const char *ph =
			    json_string_value(json_object_get(st, "phase"));
			const char *req =
			    json_string_value(json_object_get(sw, "request"));
			const char *state =
			    json_string_value(json_object_get(sw, "state"));
			if (r->kubeconfig == NULL || !r->api_ok) {
				continue;
			}
			reachable++;
			if (req != NULL && strcmp(req, request) == 0 &&
			    state != NULL && strcmp(state, "Refused") == 0) {
				refused = json_string_value(
				    json_object_get(sw, "message"));
				if (refused == NULL) {
					refused = "(no message)";
				}
			}
			if (p != NULL && strcmp(p, target) == 0 &&
			    (ph == NULL || (strcmp(ph, "SwitchingOver") != 0 &&
					    strcmp(ph, "FailingOver") != 0))) {
				done++;
			}
		}
		phase_line(f, line, sizeof line);
		if (strcmp(line, last) != 0) {
			printf("[+%5.1fs] %s\n",
			       (double)(baton_realtime_ms() - start) / 1000.0,
			       line);
			fflush(stdout);
			snprintf(last, sizeof last, "%s", line);
		}
		if (refused != NULL) {
			fprintf(stderr,
				"%s: batond refused the switchover: %s\n", prog,
				refused);
			rv = EXIT_FAILED;
			break;
		}
		if (reachable > 0 && done == reachable) {
			printf(
			    "switchover of %s/%s to %s completed in %.1f s\n",
			    ns, name, target,
			    (double)(baton_realtime_ms() - start) / 1000.0);
			break;
		}
		if (baton_realtime_ms() >= end) {
			fprintf(stderr,
				"%s: timed out after %.0f s waiting for %s to "
				"be primary in every reachable region (%d of "
				"%d agree); last: %s\n",
				prog, (double)wait_ms / 1000.0, target, done,
				reachable, line);
			rv = EXIT_FAILED;
			break;
		}
		usleep(500 * 1000);
	}
out:
	json_decref(obj);
	baton_ctl_fleet_close(f);
	free(f);
	return rv;
}

/* ---- pause / resume --------------------------------------------------------
 */

static void usage_pause(FILE *f)
{
	fprintf(f,
		"usage: batonctl pause|resume NS/DB [--wait DURATION] "
		"[region flags]\n\n"
		"pause: maintenance mode. Sets spec.failover.mode manual on "
		"NS/DB in every\n"
		"reachable region (a merge patch): batond commits it to Raft "
		"and no region\n"
		"is promoted automatically, not even when the primary's "
		"region is lost\n"
		"(`batonctl switchover` still promotes on request). resume "
		"sets it back to\n"
		"automatic. `kubectl get dbc -o wide` shows the mode in force "
		"(MODE).\n\n"
		"  --wait DURATION  then wait until every reachable region's "
		"status says\n"
		"                   the mode is in force "
		"(status.failoverMode)\n\n"
		"Exit 0 when set (and in force, with --wait); 1 when the "
		"database does not\n"
		"exist, no region accepted the change or the wait timed out; "
		"2 on bad flags.\n");
}

static int cmd_pause(int argc, char **argv, const char *mode)
{
	static const struct option longopts[] = {
	    {"wait", required_argument, NULL, 'w'}, REGION_LONGOPTS, {0}};
	struct region_flags rf = {0};
	struct baton_ctl_fleet *f = NULL;
	char ns[128], name[128];
	long wait_ms = 0;
	int opt, rv = 0, found = 0, patched;
	json_t *patch;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "w:h", longopts, NULL)) != -1) {
		int r = region_flag(&rf, opt, optarg);
		if (r < 0) {
			return die_usage("too many region flags");
		}
		if (r > 0) {
			continue;
		}
		switch (opt) {
		case 'w':
			wait_ms = baton_ctl_parse_duration(optarg);
			if (wait_ms <= 0) {
				return die_usage("%s: --wait wants a duration "
						 "like 60s, not '%s'",
						 argv[0], optarg);
			}
			break;
		case 'h':
			usage_pause(stdout);
			return 0;
		default:
			usage_pause(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage_pause(stderr);
		return EXIT_USAGE;
	}
	if (split_ref(argv[optind], ns, name, sizeof ns) != 0) {
		return die_usage("%s: '%s' is not NAMESPACE/NAME", argv[0],
				 argv[optind]);
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return EXIT_FAILED;
	}
	if ((rv = open_fleet(f, &rf)) != 0) {
		goto out;
	}
	baton_ctl_fleet_fetch(f, ns, name, false);
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (r->kubeconfig == NULL) {
			continue;
		}
		if (r->api_ok) {
			found++;
		} else if (r->api_status == BATON_ENOTFOUND) {
			fprintf(stderr, "%s: %s: no DatabaseCluster %s/%s\n",
				prog, r->name, ns, name);
		} else {
			fprintf(stderr, "%s: %s: unreachable, skipped: %s\n",
				prog, r->name, r->api_err);
		}
	}
	if (found == 0) {
		fprintf(stderr,
			"%s: DatabaseCluster %s/%s was not found in any "
			"reachable region\n",
			prog, ns, name);
		rv = EXIT_FAILED;
		goto out;
	}
	patch = json_pack("{s:{s:{s:s}}}", "spec", "failover", "mode", mode);
	patched = baton_ctl_fleet_patch(f, ns, name, patch);
	json_decref(patch);
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (r->kubeconfig == NULL) {
			continue;
		}
		if (r->api_ok) {
			printf("%s: failover.mode %s\n", r->name, mode);
		} else {
			fprintf(stderr, "%s: %s: not changed: %s\n", prog,
				r->name, r->api_err);
		}
	}
	if (patched == 0) {
		fprintf(stderr, "%s: no region accepted the change\n", prog);
		rv = EXIT_FAILED;
		goto out;
	}
	if (wait_ms == 0) {
		goto out;
	}
	int64_t start = baton_realtime_ms(), end = start + wait_ms;
	for (;;) {
		int reachable = 0, done = 0;
		baton_ctl_fleet_fetch(f, ns, name, false);
		for (size_t i = 0; i < f->n; i++) {
			struct baton_ctl_region *r = &f->regions[i];
			const char *m = json_string_value(json_object_get(
			    json_object_get(r->api_result, "status"),
			    "failoverMode"));
			if (r->kubeconfig == NULL || !r->api_ok) {
				continue;
			}
			reachable++;
			done += m != NULL && strcmp(m, mode) == 0;
		}
		if (reachable > 0 && done == reachable) {
			printf("%s/%s: failover.mode %s in force in every "
			       "reachable region (%.1f s)\n",
			       ns, name, mode,
			       (double)(baton_realtime_ms() - start) / 1000.0);
			break;
		}
		if (baton_realtime_ms() >= end) {
			fprintf(stderr,
				"%s: timed out after %.0f s: failover.mode %s "
				"in force in %d of %d reachable regions "
				"(status.failoverMode; is batond running?)\n",
				prog, (double)wait_ms / 1000.0, mode, done,
				reachable);
			rv = EXIT_FAILED;
			break;
		}
		usleep(500 * 1000);
	}
out:
	baton_ctl_fleet_close(f);
	free(f);
	return rv;
}

/* ---- check ----------------------------------------------------------------
 */

static void usage_check(FILE *f)
{
	fprintf(f,
		"usage: batonctl check (--server URL | --region-config FILE) "
		"[--region NAME]\n"
		"                      [--expect-peers NAME,NAME...]\n\n"
		"Checks that this region's batond is reachable and healthy, "
		"one line per\n"
		"check: /readyz answers 200; /v1/status answers and names "
		"the expected\n"
		"region; its DatabaseCluster and pod caches are synced; a "
		"Raft leader is\n"
		"known; every expected peer is a Raft member. The chart's "
		"`helm test`\n"
		"hook runs it against the release's -metrics Service.\n\n"
		"  --server URL         batond's HTTP endpoint, e.g.\n"
		"                       http://baton-metrics.baton-system.svc:"
		"8080\n"
		"  --region-config FILE a batond config: its http.bind, "
		"region and peers\n"
		"  --region NAME        the region batond must serve\n"
		"  --expect-peers LIST  regions that must be Raft members "
		"(default with\n"
		"                       --region-config: its peers)\n\n"
		"Exit 0 if every check passed, 1 if one failed, 2 on bad "
		"flags or configs.\n");
}

static int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"server", required_argument, NULL, 's'},
	    {"region-config", required_argument, NULL, 'c'},
	    {"region", required_argument, NULL, 'r'},
	    {"expect-peers", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {0}};
	struct baton_ctl_check_want w = {0};
	struct baton_ctl_checks *c = NULL;
	struct baton_batond_config cfg;
	const char *config = NULL, *peers = NULL;
	char url[300], errmsg[BATON_ERRMSG_SIZE];
	char *peer_list = NULL, *save = NULL, *p;
	bool have_cfg = false;
	int opt, rv = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			w.url = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'r':
			w.region = optarg;
			break;
		case 'p':
			peers = optarg;
			break;
		case 'h':
			usage_check(stdout);
			return 0;
		default:
			usage_check(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		return die_usage("check: unexpected argument '%s'",
				 argv[optind]);
	}
	if ((w.url == NULL) == (config == NULL)) {
		return die_usage("check: give one of --server URL or "
				 "--region-config FILE");
	}
	if (config != NULL) {
		if (baton_batond_config_load(&cfg, config) != 0) {
			fprintf(stderr, "%s: --region-config %s: %s\n", prog,
				config, cfg.errmsg);
			baton_batond_config_free(&cfg);
			return EXIT_USAGE;
		}
		have_cfg = true;
		if (local_batond_url(&cfg, url, sizeof url) != 0) {
			fprintf(stderr,
				"%s: --region-config %s: no usable http.bind "
				"('%s')\n",
				prog, config,
				cfg.http_bind ? cfg.http_bind : "");
			rv = EXIT_USAGE;
			goto out;
		}
		w.url = url;
		if (w.region == NULL) {
			w.region = cfg.region;
		}
		for (size_t i = 0; peers == NULL && i < cfg.n_peers &&
				   w.n_peers < BATON_CTL_CHECK_MAX_PEERS;
		     i++) {
			w.peers[w.n_peers++] = cfg.peers[i].name;
		}
	}
	/* "--expect-peers=" (no peers: a single region) is fine */
	if (peers != NULL) {
		peer_list = strdup(peers);
		if (peer_list == NULL) {
			rv = EXIT_FAILED;
			goto out;
		}
		for (p = strtok_r(peer_list, ",", &save); p != NULL;
		     p = strtok_r(NULL, ",", &save)) {
			if (w.n_peers == BATON_CTL_CHECK_MAX_PEERS) {
				rv = die_usage("check: at most %d peers",
					       BATON_CTL_CHECK_MAX_PEERS);
				goto out;
			}
			w.peers[w.n_peers++] = p;
		}
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		rv = EXIT_FAILED;
		goto out;
	}
	if (baton_ctl_check_run(c, &w, errmsg) != 0) {
		fprintf(stderr, "%s: check: %s\n", prog, errmsg);
		rv = EXIT_USAGE;
		goto out;
	}
	for (int i = 0; i < c->n; i++) {
		printf("%-4s %s\n", c->items[i].ok ? "ok" : "FAIL",
		       c->items[i].line);
	}
	if (c->failed > 0) {
		fprintf(stderr, "%s: check: %d of %d checks failed\n", prog,
			c->failed, c->n);
		rv = EXIT_FAILED;
	} else {
		printf("check: all %d checks passed\n", c->n);
	}
out:
	free(c);
	free(peer_list);
	if (have_cfg) {
		baton_batond_config_free(&cfg);
	}
	return rv;
}

/* ---- load and report ------------------------------------------------------
 */

static void usage_load(FILE *f)
{
	fprintf(f,
		"usage: batonctl load --hosts H1,H2,... --out DIR [flags]\n\n"
		"Writes one row every --interval to whichever host accepts "
		"writes (all hosts\n"
		"are tried at once), and probes every host with a tiny write "
		"every\n"
		"--probe-interval (the split-brain detector); polls each "
		"host's agent for\n"
		"role and epoch. Stops on SIGTERM/SIGINT or after "
		"--duration, then reads\n"
		"back this run's ids from the instance accepting writes. "
		"Files in DIR:\n"
		"writes.jsonl, probes.jsonl, states.jsonl, summary.json "
		"(docs/lab.md).\n\n"
		"  --hosts LIST            PostgreSQL hosts (pod addresses)\n"
		"  --port N                5432\n"
		"  --user U --password P   app / app\n"
		"  --dbname D              postgres\n"
		"  --out DIR               where the records go (created)\n"
		"  --run NAME              rows are tagged with it (default "
		"run-<ms>)\n"
		"  --interval D            20ms\n"
		"  --probe-interval D      100ms\n"
		"  --write-timeout D       1s (a write unanswered by then is "
		"an error)\n"
		"  --duration D            0: until a signal\n"
		"  --setup-timeout D       120s to find a writable instance at "
		"start\n"
		"  --agent-port N          8082, the agents' plain status port "
		"(0: do\n"
		"                          not poll agents)\n");
}

static int parse_ms(const char *flag, const char *arg, long *out)
{
	long v = baton_ctl_parse_duration(arg);
	if (v < 0) {
		fprintf(stderr,
			"%s: %s wants a duration (20ms, 1s, 2m), not "
			"'%s'\n",
			prog, flag, arg);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_port(const char *arg, int *out)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || v < 0 || v > 65535) {
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int cmd_load(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"hosts", required_argument, NULL, 'H'},
	    {"port", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'U'},
	    {"password", required_argument, NULL, 'P'},
	    {"dbname", required_argument, NULL, 'd'},
	    {"out", required_argument, NULL, 'O'},
	    {"run", required_argument, NULL, 'r'},
	    {"interval", required_argument, NULL, 'i'},
	    {"probe-interval", required_argument, NULL, 'I'},
	    {"write-timeout", required_argument, NULL, 't'},
	    {"duration", required_argument, NULL, 'D'},
	    {"setup-timeout", required_argument, NULL, 'S'},
	    {"agent-port", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {0}};
	struct baton_ctl_load_opts o;
	char *hosts = NULL, *save = NULL, *h;
	int opt, rv;

	baton_ctl_load_defaults(&o);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			free(hosts);
			hosts = strdup(optarg);
			break;
		case 'p':
			if (parse_port(optarg, &o.port) != 0 || o.port == 0) {
				free(hosts);
				return die_usage("load: bad --port '%s'",
						 optarg);
			}
			break;
		case 'U':
			o.user = optarg;
			break;
		case 'P':
			o.password = optarg;
			break;
		case 'd':
			o.dbname = optarg;
			break;
		case 'O':
			o.out_dir = optarg;
			break;
		case 'r':
			o.run = optarg;
			break;
		case 'i':
		case 'I':
		case 't':
		case 'D':
		case 'S': {
			long *dst = opt == 'i'	 ? &o.interval_ms
				    : opt == 'I' ? &o.probe_interval_ms
				    : opt == 't' ? &o.write_timeout_ms
				    : opt == 'D' ? &o.duration_ms
						 : &o.setup_timeout_ms;
			if (parse_ms("load", optarg, dst) != 0) {
				free(hosts);
				return EXIT_USAGE;
			}
			break;
		}
		case 'a':
			if (parse_port(optarg, &o.agent_port) != 0) {
				free(hosts);
				return die_usage("load: bad --agent-port '%s'",
						 optarg);
			}
			break;
		case 'h':
			free(hosts);
			usage_load(stdout);
			return 0;
		default:
			free(hosts);
			usage_load(stderr);
			return EXIT_USAGE;
		}
	}
	if (hosts == NULL || o.out_dir == NULL || optind < argc) {
		free(hosts);
		usage_load(stderr);
		return EXIT_USAGE;
	}
	for (h = strtok_r(hosts, ",", &save); h != NULL;
	     h = strtok_r(NULL, ",", &save)) {
		if (o.n_hosts == BATON_CTL_LOAD_MAX_HOSTS) {
			free(hosts);
			return die_usage("load: at most 8 hosts");
		}
		o.hosts[o.n_hosts++] = h;
	}
	if (o.n_hosts == 0 || o.interval_ms <= 0 || o.probe_interval_ms <= 0 ||
	    o.write_timeout_ms <= 0) {
		free(hosts);
		return die_usage("load: --hosts and positive intervals are "
				 "needed");
	}
	rv = baton_ctl_load_run(&o);
	free(hosts);
	return rv == 0 ? 0 : EXIT_FAILED;
}

static void usage_report(FILE *f)
{
	fprintf(f, "usage: batonctl report DIR [--check]\n\n"
		   "Computes DIR/report.json and DIR/timeline.svg from what "
		   "'batonctl load'\n"
		   "and the drill left in DIR, and prints a one-line summary. "
		   "With --check,\n"
		   "exits 1 if the drill did not converge, a split brain was "
		   "seen, or an\n"
		   "acknowledged write was lost (or could not be checked).\n");
}

static int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"check", no_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {0}};
	char errmsg[BATON_ERRMSG_SIZE];
	bool check = false;
	json_t *rep = NULL;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'c') {
			check = true;
		} else if (opt == 'h') {
			usage_report(stdout);
			return 0;
		} else {
			usage_report(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage_report(stderr);
		return EXIT_USAGE;
	}
	if (baton_ctl_report_write(argv[optind], &rep, errmsg) != 0) {
		fprintf(stderr, "%s: report: %s\n", prog, errmsg);
		return EXIT_FAILED;
	}
	json_t *rpo = json_object_get(rep, "rpo");
	json_t *lost = json_object_get(rpo, "lostAcknowledgedWrites");
	bool split = json_is_true(
	    json_object_get(json_object_get(rep, "splitBrain"), "detected"));
	bool conv = json_is_true(json_object_get(rep, "converged"));
	char b1[32], b2[32];
	printf("drill %s: converged %s, RTO %s ms, lost acknowledged writes "
	       "%s, split brain %s, epoch %s -> %s\n",
	       json_string_value(json_object_get(rep, "scenario")),
	       conv ? "yes" : "NO",
	       str_or(json_object_get(rep, "rtoMs"), "-", b1, sizeof b1),
	       str_or(lost, "unchecked", b2, sizeof b2), split ? "YES" : "no",
	       str_or(json_object_get(rep, "epochBefore"), "?", b1, 0),
	       str_or(json_object_get(rep, "epochAfter"), "?", NULL, 0));
	int rv = 0;
	if (check && (!conv || split || !json_is_integer(lost) ||
		      json_integer_value(lost) != 0)) {
		rv = EXIT_FAILED;
	}
	json_decref(rep);
	return rv;
}

/* ---- drill and lab ---------------------------------------------------- */

static int cmd_script(const char *rel, const char *what, int argc, char **argv)
{
	if (argc < 1) {
		fprintf(stderr, "%s: %s needs a command (see '%s %s --help')\n",
			prog, what, prog, what);
		return EXIT_USAGE;
	}
	return exec_script(rel, argc, argv);
}

int main(int argc, char **argv)
{
	const char *cmd;

	baton_log_set_level(BATON_LOG_WARN);
	if (argc < 2) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage_main(stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 ||
	    strcmp(cmd, "-V") == 0) {
		if (argc > 2) {
			return die_usage("version takes no arguments");
		}
		printf("batonctl %s\n", BATON_VERSION);
		return 0;
	}
	if (strcmp(cmd, "status") == 0) {
		return cmd_status(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "switchover") == 0) {
		return cmd_switchover(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "check") == 0) {
		return cmd_check(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "pause") == 0) {
		return cmd_pause(argc - 1, argv + 1, "manual");
	}
	if (strcmp(cmd, "resume") == 0) {
		return cmd_pause(argc - 1, argv + 1, "automatic");
	}
	if (strcmp(cmd, "load") == 0) {
		return cmd_load(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "report") == 0) {
		return cmd_report(argc - 1, argv + 1);
	}
	if (strcmp(cmd, "completion") == 0) {
		return batonctl_completion(stdout, prog, argc - 1, argv + 1);
	}
	if (strcmp(cmd, "drill") == 0) {
		return cmd_script("tests/lab/drill.sh", "drill", argc - 2,
				  argv + 2);
	}
	if (strcmp(cmd, "lab") == 0) {
		return cmd_script("tests/lab/lab.sh", "lab", argc - 2,
				  argv + 2);
	}
	return die_usage("unknown command '%s'", cmd);
}
