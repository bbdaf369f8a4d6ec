/* batonctl load and report (batonctl/cli.h). */
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
			baton_ctl_prog, flag, arg);
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

int baton_ctl_cmd_load(int argc, char **argv)
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
				return baton_ctl_die_usage(
				    "load: bad --port '%s'", optarg);
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
				return BATON_CTL_EXIT_USAGE;
			}
			break;
		}
		case 'a':
			if (parse_port(optarg, &o.agent_port) != 0) {
				free(hosts);
				return baton_ctl_die_usage(
				    "load: bad --agent-port '%s'", optarg);
			}
			break;
		case 'h':
			free(hosts);
			usage_load(stdout);
			return 0;
		default:
			free(hosts);
			usage_load(stderr);
			return BATON_CTL_EXIT_USAGE;
		}
	}
	if (hosts == NULL || o.out_dir == NULL || optind < argc) {
		free(hosts);
		usage_load(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	for (h = strtok_r(hosts, ",", &save); h != NULL;
	     h = strtok_r(NULL, ",", &save)) {
		if (o.n_hosts == BATON_CTL_LOAD_MAX_HOSTS) {
			free(hosts);
			return baton_ctl_die_usage("load: at most 8 hosts");
		}
		o.hosts[o.n_hosts++] = h;
	}
	if (o.n_hosts == 0 || o.interval_ms <= 0 || o.probe_interval_ms <= 0 ||
	    o.write_timeout_ms <= 0) {
		free(hosts);
		return baton_ctl_die_usage(
		    "load: --hosts and positive intervals are "
		    "needed");
	}
	rv = baton_ctl_load_run(&o);
	free(hosts);
	return rv == 0 ? 0 : BATON_CTL_EXIT_FAILED;
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

int baton_ctl_cmd_report(int argc, char **argv)
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
			return BATON_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage_report(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	if (baton_ctl_report_write(argv[optind], &rep, errmsg) != 0) {
		fprintf(stderr, "%s: report: %s\n", baton_ctl_prog, errmsg);
		return BATON_CTL_EXIT_FAILED;
	}
	json_t *rpo = json_object_get(rep, "rpo");
	json_t *lost = json_object_get(rpo, "lostAcknowledgedWrites");
	bool split = json_is_true(
	    json_object_get(json_object_get(rep, "splitBrain"), "detected"));
	bool conv = json_is_true(json_object_get(rep, "converged"));
	char b1[32], b2[32];
	printf(
	    "drill %s: converged %s, RTO %s ms, lost acknowledged writes "
	    "%s, split brain %s, epoch %s -> %s\n",
	    json_string_value(json_object_get(rep, "scenario")),
	    conv ? "yes" : "NO",
	    baton_ctl_str_or(json_object_get(rep, "rtoMs"), "-", b1, sizeof b1),
	    baton_ctl_str_or(lost, "unchecked", b2, sizeof b2),
	    split ? "YES" : "no",
	    baton_ctl_str_or(json_object_get(rep, "epochBefore"), "?", b1, 0),
	    baton_ctl_str_or(json_object_get(rep, "epochAfter"), "?", NULL, 0));
	int rv = 0;
	if (check && (!conv || split || !json_is_integer(lost) ||
		      json_integer_value(lost) != 0)) {
		rv = BATON_CTL_EXIT_FAILED;
	}
	json_decref(rep);
	return rv;
}
