/* batonctl history (batonctl/cli.h): the promotions of one database, as
 * the regions recorded them (status.lastFailover and status.history). */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batonctl/cli.h"
#include "batonctl/table.h"
#include "batonctl/fleet.h"
#include "common/error.h"

static void usage_history(FILE *f)
{
	fprintf(
	    f,
	    "usage: batonctl history NS/DB | -n NS DB [-o table|json] [region "
	    "flags]\n"
	    "\n"
	    "The promotions of NS/DB, newest first: automatic failovers,\n"
	    "planned switchovers and manual promotions, as every reachable\n"
	    "region recorded them (status.lastFailover and status.history,\n"
	    "the last 11). One row per epoch; its times are the promoted\n"
	    "region's own record when that region answered, else the first\n"
	    "region's that has it. SERVING is milliseconds from the promote\n"
	    "applied there to the new primary serving; SEEN IN lists the\n"
	    "regions that recorded it. Exit 0 when a region has the\n"
	    "database (even with no promotion yet), 1 when none does, 2 on\n"
	    "bad flags.\n\n"
	    "  -o, --output table|json\n"
	    "  -n, --namespace NS  with NAME for "
	    "NS/NAME\n" BATON_CTL_REGION_HELP);
}

/* Adds REC, recorded by REGION, to BY_EPOCH ("<epoch>" -> merged row). */
static void merge(json_t *by_epoch, json_t *rec, const char *region)
{
	char key[32];
	json_t *row, *seen;
	const char *to;

	if (!json_is_object(rec) ||
	    !json_is_integer(json_object_get(rec, "epoch"))) {
		return;
	}
	snprintf(key, sizeof key, "%lld",
		 (long long)json_integer_value(json_object_get(rec, "epoch")));
	row = json_object_get(by_epoch, key);
	to = json_string_value(json_object_get(rec, "to"));
	if (row == NULL) {
		row = json_deep_copy(rec);
		if (row == NULL) {
			return;
		}
		json_object_set_new(row, "recordedBy", json_string(region));
		json_object_set_new(row, "seenIn", json_array());
		json_object_set_new(by_epoch, key, row);
	} else if (to != NULL && strcmp(to, region) == 0) {
		/* the promoted region's own record wins */
		seen = json_incref(json_object_get(row, "seenIn"));
		json_object_clear(row);
		json_object_update(row, rec);
		json_object_set_new(row, "recordedBy", json_string(region));
		json_object_set_new(row, "seenIn", seen);
	}
	json_array_append_new(json_object_get(row, "seenIn"),
			      json_string(region));
}

static int by_epoch_desc(const void *a, const void *b)
{
	json_int_t x =
	    json_integer_value(json_object_get(*(json_t *const *)a, "epoch"));
	json_int_t y =
	    json_integer_value(json_object_get(*(json_t *const *)b, "epoch"));
	return x < y ? 1 : x > y ? -1 : 0;
}

static void print_rows(json_t *rows)
{
	size_t i, j;
	json_t *row, *r;

	if (json_array_size(rows) == 0) {
		printf("no promotion recorded yet\n");
		return;
	}
	static const char *const header[] = {
	    "EPOCH", "FROM", "TO", "REASON", "STARTED", "SERVING", "SEEN IN"};
	struct baton_ctl_table t;
	if (baton_ctl_table_init(&t, 7, header) != 0) {
		return;
	}
	json_array_foreach(rows, i, row)
	{
		char epoch[24], serving[24] = "-", seen[256] = "";
		json_t *ms = json_object_get(
		    json_object_get(row, "stepsMillis"), "serving");
		if (json_is_integer(ms)) {
			snprintf(serving, sizeof serving, "%lld",
				 (long long)json_integer_value(ms));
		}
		json_array_foreach(json_object_get(row, "seenIn"), j, r)
		{
			size_t n = strlen(seen);
			snprintf(seen + n, sizeof seen - n, "%s%s",
				 n ? "," : "", json_string_value(r));
		}
		snprintf(epoch, sizeof epoch, "%lld",
			 (long long)json_integer_value(
			     json_object_get(row, "epoch")));
		const char *cells[] = {
		    epoch,
		    baton_ctl_str_or(json_object_get(row, "from"), "-", NULL,
				     0),
		    baton_ctl_str_or(json_object_get(row, "to"), "-", NULL, 0),
		    baton_ctl_str_or(json_object_get(row, "reason"), "-", NULL,
				     0),
		    baton_ctl_str_or(json_object_get(row, "startedAt"), "-",
				     NULL, 0),
		    serving,
		    seen};
		baton_ctl_table_add(&t, cells);
	}
	baton_ctl_table_print(&t, stdout);
	baton_ctl_table_free(&t);
}

int baton_ctl_cmd_history(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    BATON_CTL_REGION_LONGOPTS,
	    {0}};
	struct baton_ctl_region_flags rf = {0};
	struct baton_ctl_fleet *f;
	char ns[128], name[128];
	bool json = false;
	int opt, rv = 0, found = 0;
	json_t *by_epoch, *rows, *row;
	const char *key;
	size_t n = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:n:h", longopts, NULL)) != -1) {
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
			} else if (strcmp(optarg, "table") != 0) {
				return baton_ctl_die_usage(
				    "history: -o wants table or json, not '%s'",
				    optarg);
			}
			break;
		case 'h':
			usage_history(stdout);
			return 0;
		default:
			usage_history(stderr);
			return BATON_CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage_history(stderr);
		return BATON_CTL_EXIT_USAGE;
	}
	if ((rv = baton_ctl_db_arg("history", rf.ns, argv[optind], ns, name,
				   sizeof ns)) != 0) {
		return rv;
	}
	f = calloc(1, sizeof *f);
	by_epoch = json_object();
	if (f == NULL || by_epoch == NULL) {
		free(f);
		json_decref(by_epoch);
		return BATON_CTL_EXIT_FAILED;
	}
	if ((rv = baton_ctl_open_fleet(f, &rf)) != 0) {
		goto out;
	}
	found = baton_ctl_fetch_db(f, ns, name);
	for (size_t i = 0; i < f->n; i++) {
		struct baton_ctl_region *r = &f->regions[i];
		json_t *st, *rec;
		size_t j;
		if (r->kubeconfig == NULL || !r->api_ok) {
			continue;
		}
		st = json_object_get(r->api_result, "status");
		merge(by_epoch, json_object_get(st, "lastFailover"), r->name);
		json_array_foreach(json_object_get(st, "history"), j, rec)
		{
			merge(by_epoch, rec, r->name);
		}
	}
	if (found == 0) {
		rv = BATON_CTL_EXIT_FAILED;
		goto out;
	}
	rows = json_array();
	{
		json_t *sorted[64] = {0};
		json_object_foreach(by_epoch, key, row)
		{
			if (n < sizeof sorted / sizeof sorted[0]) {
				sorted[n++] = row;
			}
		}
		qsort(sorted, n, sizeof sorted[0], by_epoch_desc);
		for (size_t i = 0; i < n; i++) {
			json_array_append(rows, sorted[i]);
		}
	}
	if (json) {
		json_dumpf(rows, stdout, JSON_INDENT(2));
		putchar('\n');
	} else {
		print_rows(rows);
	}
	json_decref(rows);
out:
	json_decref(by_epoch);
	baton_ctl_fleet_close(f);
	free(f);
	return rv;
}
