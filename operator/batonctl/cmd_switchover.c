/* batonctl switchover, pause and resume (batonctl/cli.h). */
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
#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/version.h"

/* ---- switchover -----------------------------------------------------------
 */

static void usage_switchover(FILE *f)
{
	fprintf(
	    f,
	    "usage: batonctl switchover NS/DB|-n NS DB REGION [--wait "
	    "DURATION] [region flags]\n\n"
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
	    "A switchover after the loss of the primary's region (its API "
	    "server does not\n"
	    "answer, or a region's status says the primary's lease expired: "
	    "status.\n"
	    "primaryFailingSince) is a manual promotion: it asks first, on a "
	    "terminal,\n"
	    "or needs --yes.\n\n"
	    "  -y, --yes        promote after a region loss without asking\n"
	    "  --wait DURATION  then show progress (phase, epoch, primary "
	    "per region)\n"
	    "                   until every reachable region's status "
	    "names REGION as\n"
	    "                   primary (e.g. 60s, 2m; default: do not "
	    "wait)\n\n"
	    "Exit 0 when requested (or completed, with --wait); 1 when "
	    "the database does\n"
	    "not exist, REGION is not one of its regions, a promotion after "
	    "a region loss\n"
	    "was not confirmed, batond refused or the wait timed out; 2 on "
	    "bad flags or\n"
	    "configs.\n\n"
	    "  -n, --namespace NS  with DB for NS/DB\n" BATON_CTL_REGION_HELP);
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
			    baton_ctl_str_or(json_object_get(st, "phase"), "-",
					     e, 0),
			    baton_ctl_str_or(json_object_get(st, "epoch"), "-",
					     e, sizeof e),
			    baton_ctl_str_or(
				json_object_get(st, "primaryRegion"), "-", NULL,
				0),
			    baton_ctl_str_or(json_object_get(sw, "state"), "-",
					     NULL, 0));
		}
		if (n < 0) {
			break;
		}
		off += (size_t)n;
	}
	return buf;
}

/* Whether a switchover of NS/NAME to TARGET is a promotion after the
 * loss of the primary's region, from the regions' copies of the last
 * fetch: the primary (status.primaryRegion) is another region, and its API
 * server did not answer or some region's status says the primary's lease
 * expired (status.primaryFailingSince). WHY says which, in words. */
bool baton_ctl_switchover_after_loss(struct baton_ctl_fleet *f,
				     const char *target, char *why, size_t len)
{
	const char *primary = NULL, *since = NULL, *seen_by = NULL;

	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		json_t *st = json_object_get(r->api_result, "status");
		const char *p, *s;
		if (r->kubeconfig == NULL || !r->api_ok) {
			continue;
		}
		p = json_string_value(json_object_get(st, "primaryRegion"));
		s = json_string_value(
		    json_object_get(st, "primaryFailingSince"));
		if (primary == NULL && p != NULL) {
			primary = p;
		}
		if (since == NULL && s != NULL) {
			since = s;
			seen_by = r->name;
		}
	}
	if (primary == NULL || strcmp(primary, target) == 0) {
		return false;
	}
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		if (strcmp(r->name, primary) == 0 && r->kubeconfig != NULL &&
		    !r->api_ok) {
			snprintf(why, len,
				 "the primary's region %s does not answer (%s)",
				 primary, r->api_err);
			return true;
		}
	}
	if (since != NULL) {
		snprintf(why, len,
			 "%s's status says the lease of the primary in %s "
			 "expired at %s",
			 seen_by, primary, since);
		return true;
	}
	return false;
}

int baton_ctl_cmd_switchover(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"wait", required_argument, NULL, 'w'},
	    {"yes", no_argument, NULL, 'y'},
	    BATON_CTL_REGION_LONGOPTS,
	    {0}};
	struct baton_ctl_region_flags rf = {0};
	struct baton_ctl_fleet *f = NULL;
	char ns[128], name[128], request[200], line[2048], last[2048] = "";
	const char *target;
	long wait_ms = 0;
	int opt, rv = 0, found = 0;
	bool yes = false;
	json_t *obj = NULL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "w:yn:h", longopts, NULL)) !=
	       -1) {
		int r = baton_ctl_region_flag(&rf, opt, optarg);
		if (r < 0) {
			return baton_ctl_die_usage("too many region flags");
		}
		if (r > 0) {
			continue;
		}
		switch (opt) {
		case 'w':
			wait_ms = baton_ctl_parse_duration(optarg);
			if (wait_ms <= 0) {
				return baton_ctl_die_usage(
				    "switchover: --wait wants a "
				    "duration like 60s, not '%s'",
				    optarg);
			}
			break;
		case 'y':
			yes = true;
			break;
		case 'h':
			usage_switchover(stdout);
			return 0;
		default:
			usage_switchover(stderr);
			return BATON_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage_switchover(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	if ((rv = baton_ctl_db_arg("switchover", rf.ns, argv[optind], ns, name,
				   sizeof ns)) != 0) {
		return rv;
	}
	target = argv[optind + 1];
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	if ((rv = baton_ctl_open_fleet(f, &rf)) != 0) {
		goto out;
	}
	found = baton_ctl_fetch_db(f, ns, name);
	if (found == 0) {
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	for (size_t i = 0; i < f->n && obj == NULL; i++) {
		if (f->regions[i].kubeconfig != NULL && f->regions[i].api_ok) {
			obj = json_incref(f->regions[i].api_result);
		}
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
				baton_ctl_prog, target, ns, name, names);
			rv = BATON_CTL_EXIT_FAILED;
			goto out;
		}
	}
	/* after a region loss this is a manual promotion: ask first */
	{
		char why[600], what[1400];
		if (baton_ctl_switchover_after_loss(f, target, why,
						    sizeof why)) {
			snprintf(
			    what, sizeof what,
			    "%s: promoting %s now makes it the primary of "
			    "%s/%s at a new epoch. The old primary, if it "
			    "still runs, writes no more once its lease "
			    "ends; without synchronous replication, writes "
			    "it acknowledged that %s had not received are "
			    "lost (in synchronous mode batond refuses a "
			    "target that holds less than another standby)",
			    why, target, ns, name, target);
			if (!baton_ctl_confirm(yes, what)) {
				rv = BATON_CTL_EXIT_FAILED;
				goto out;
			}
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
		fprintf(stderr, "%s: no region accepted the request\n",
			baton_ctl_prog);
		rv = BATON_CTL_EXIT_FAILED;
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
				"%s: batond refused the switchover: %s\n",
				baton_ctl_prog, refused);
			rv = BATON_CTL_EXIT_FAILED;
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
				baton_ctl_prog, (double)wait_ms / 1000.0,
				target, done, reachable, line);
			rv = BATON_CTL_EXIT_FAILED;
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
	fprintf(
	    f,
	    "usage: batonctl pause|resume NS/DB|-n NS DB [--wait "
	    "DURATION] [region flags]\n\n"
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
	    "2 on bad flags.\n\n"
	    "  -n, --namespace NS  with DB for NS/DB\n" BATON_CTL_REGION_HELP);
}

int baton_ctl_cmd_pause(int argc, char **argv, const char *mode)
{
	static const struct option longopts[] = {
	    {"wait", required_argument, NULL, 'w'},
	    BATON_CTL_REGION_LONGOPTS,
	    {0}};
	struct baton_ctl_region_flags rf = {0};
	struct baton_ctl_fleet *f = NULL;
	char ns[128], name[128];
	long wait_ms = 0;
	int opt, rv = 0, found = 0, patched;
	json_t *patch;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "w:n:h", longopts, NULL)) != -1) {
		int r = baton_ctl_region_flag(&rf, opt, optarg);
		if (r < 0) {
			return baton_ctl_die_usage("too many region flags");
		}
		if (r > 0) {
			continue;
		}
		switch (opt) {
		case 'w':
			wait_ms = baton_ctl_parse_duration(optarg);
			if (wait_ms <= 0) {
				return baton_ctl_die_usage(
				    "%s: --wait wants a duration "
				    "like 60s, not '%s'",
				    argv[0], optarg);
			}
			break;
		case 'h':
			usage_pause(stdout);
			return 0;
		default:
			usage_pause(stderr);
			return BATON_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage_pause(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	if ((rv = baton_ctl_db_arg(argv[0], rf.ns, argv[optind], ns, name,
				   sizeof ns)) != 0) {
		return rv;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	if ((rv = baton_ctl_open_fleet(f, &rf)) != 0) {
		goto out;
	}
	found = baton_ctl_fetch_db(f, ns, name);
	if (found == 0) {
		rv = BATON_CTL_EXIT_FAILED;
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
			fprintf(stderr, "%s: %s: not changed: %s\n",
				baton_ctl_prog, r->name, r->api_err);
		}
	}
	if (patched == 0) {
		fprintf(stderr, "%s: no region accepted the change\n",
			baton_ctl_prog);
		rv = BATON_CTL_EXIT_FAILED;
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
				baton_ctl_prog, (double)wait_ms / 1000.0, mode,
				done, reachable);
			rv = BATON_CTL_EXIT_FAILED;
			break;
		}
		usleep(500 * 1000);
	}
out:
	baton_ctl_fleet_close(f);
	free(f);
	return rv;
}
