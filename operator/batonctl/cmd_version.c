/* batonctl version (batonctl/cli.h): this client's version and, given
 * region flags, every region's batond and the agents it drives, from
 * batond's /v1/status. Every region of a fleet must run the same command
 * set (docs/consensus.md §8): this is how a mixed fleet shows. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batonctl/cli.h"
#include "batonctl/fleet.h"
#include "common/version.h"

static void usage_version(FILE *f)
{
	fprintf(f,
		"usage: batonctl version [region flags]\n\n"
		"batonctl's version; with region flags (or --lab) also each\n"
		"region's batond version and the versions of the agents it\n"
		"drives (from batond's /v1/status; \"-\" when batond does not\n"
		"answer or no agent has). Exit 0, 2 on bad "
		"flags.\n\n" BATON_CTL_REGION_HELP);
}

/* The distinct agent versions in batond's status ST, "a,b" in BUF. */
static const char *agent_versions(json_t *st, char *buf, size_t len)
{
	const char *seen[16];
	int n_seen = 0;
	size_t i;
	json_t *p;

	buf[0] = '\0';
	json_array_foreach(json_object_get(st, "agents"), i, p)
	{
		const char *v = json_string_value(
		    json_object_get(json_object_get(p, "agent"), "version"));
		bool dup = false;
		size_t n = strlen(buf);
		if (v == NULL || n_seen == 16) {
			continue;
		}
		for (int k = 0; k < n_seen; k++) {
			dup = dup || strcmp(seen[k], v) == 0;
		}
		if (!dup) {
			seen[n_seen++] = v;
			snprintf(buf + n, len - n, "%s%s", n ? "," : "", v);
		}
	}
	return buf[0] ? buf : "-";
}

int baton_ctl_cmd_version(int argc, char **argv)
{
	static const struct option longopts[] = {BATON_CTL_REGION_LONGOPTS,
						 {0}};
	struct baton_ctl_region_flags rf = {0};
	struct baton_ctl_fleet *f;
	bool regions = false;
	int opt, rv;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = baton_ctl_region_flag(&rf, opt, optarg);
		if (r < 0) {
			return baton_ctl_die_usage("too many region flags");
		}
		if (r > 0) {
			regions = true;
			continue;
		}
		if (opt == 'h') {
			usage_version(stdout);
			return 0;
		}
		usage_version(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	if (optind < argc) {
		return baton_ctl_die_usage("version: unexpected argument '%s'",
					   argv[optind]);
	}
	printf("batonctl %s\n", BATON_VERSION);
	if (!regions) {
		return 0;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return BATON_CTL_EXIT_FAILED;
	}
	rv = baton_ctl_open_fleet(f, &rf);
	if (rv == 0) {
		baton_ctl_fleet_fetch(f, NULL, NULL, true);
		for (size_t i = 0; i < f->n; i++) {
			struct baton_ctl_region *r = &f->regions[i];
			char agents[256];
			if (r->batond_url == NULL) {
				printf(
				    "%-10s batond -  (no batond URL for this "
				    "region)\n",
				    r->name);
			} else if (!r->batond_ok) {
				printf("%-10s batond -  (%s)\n", r->name,
				       r->batond_err);
			} else {
				printf("%-10s batond %s  agents %s\n", r->name,
				       baton_ctl_str_or(
					   json_object_get(r->batond_status,
							   "version"),
					   "-", NULL, 0),
				       agent_versions(r->batond_status, agents,
						      sizeof agents));
			}
		}
	}
	baton_ctl_fleet_close(f);
	free(f);
	return rv;
}
