/* batonctl check (batonctl/cli.h). */
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

int baton_ctl_cmd_check(int argc, char **argv)
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
			return BATON_CTL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		return baton_ctl_die_usage("check: unexpected argument '%s'",
					   argv[optind]);
	}
	if ((w.url == NULL) == (config == NULL)) {
		return baton_ctl_die_usage("check: give one of --server URL or "
					   "--region-config FILE");
	}
	if (config != NULL) {
		if (baton_batond_config_load(&cfg, config) != 0) {
			fprintf(stderr, "%s: --region-config %s: %s\n",
				baton_ctl_prog, config, cfg.errmsg);
			baton_batond_config_free(&cfg);
			return BATON_CTL_EXIT_USAGE;
		}
		have_cfg = true;
		if (baton_ctl_local_batond_url(&cfg, url, sizeof url) != 0) {
			fprintf(stderr,
				"%s: --region-config %s: no usable http.bind "
				"('%s')\n",
				baton_ctl_prog, config,
				cfg.http_bind ? cfg.http_bind : "");
			rv = BATON_CTL_EXIT_USAGE;
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
			rv = BATON_CTL_EXIT_FAILED;
			goto out;
		}
		for (p = strtok_r(peer_list, ",", &save); p != NULL;
		     p = strtok_r(NULL, ",", &save)) {
			if (w.n_peers == BATON_CTL_CHECK_MAX_PEERS) {
				rv = baton_ctl_die_usage(
				    "check: at most %d peers",
				    BATON_CTL_CHECK_MAX_PEERS);
				goto out;
			}
			w.peers[w.n_peers++] = p;
		}
	}
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	if (baton_ctl_check_run(c, &w, errmsg) != 0) {
		fprintf(stderr, "%s: check: %s\n", baton_ctl_prog, errmsg);
		rv = BATON_CTL_EXIT_USAGE;
		goto out;
	}
	for (int i = 0; i < c->n; i++) {
		printf("%-4s %s\n", c->items[i].ok ? "ok" : "FAIL",
		       c->items[i].line);
	}
	if (c->failed > 0) {
		fprintf(stderr, "%s: check: %d of %d checks failed\n",
			baton_ctl_prog, c->failed, c->n);
		rv = BATON_CTL_EXIT_FAILED;
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
