/* batonctl's region names for kubeconfigs given without NAME=: a
 * directory named like a region names it (the test regions' layout); a
 * directory that is not a region name (~/.kube) falls back to the
 * kubeconfig's context, and when neither is a region name the caller must
 * ask for NAME=PATH rather than invent a region. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batonctl/cli.h"
#include "batonctl/fleet.h"
#include "batonctl/fleetfile.h"
#include "harness.h"

START_TEST(test_region_names)
{
	ck_assert(baton_ctl_region_name_ok("eu-west"));
	ck_assert(baton_ctl_region_name_ok("r1"));
	ck_assert(!baton_ctl_region_name_ok(".kube"));
	ck_assert(!baton_ctl_region_name_ok("-a"));
	ck_assert(!baton_ctl_region_name_ok("a-"));
	ck_assert(!baton_ctl_region_name_ok("EU"));
	ck_assert(!baton_ctl_region_name_ok("kind@eu"));
	ck_assert(!baton_ctl_region_name_ok(""));
	ck_assert(!baton_ctl_region_name_ok(NULL));
	/* 41 and 40 characters */
	ck_assert(!baton_ctl_region_name_ok(
	    "a1234567890123456789012345678901234567890"));
	ck_assert(baton_ctl_region_name_ok(
	    "a123456789012345678901234567890123456789"));
}
END_TEST

START_TEST(test_kubeconfig_region)
{
	char name[64];

	ck_assert_int_eq(baton_ctl_kubeconfig_region(
			     "/w/tests/env/run/us-east/admin.kubeconfig", "x",
			     name, sizeof name),
			 0);
	ck_assert_str_eq(name, "us-east");
	/* ~/.kube/config: the context, never ".kube" */
	ck_assert_int_eq(baton_ctl_kubeconfig_region("/home/a/.kube/config",
						     "eu-west", name,
						     sizeof name),
			 0);
	ck_assert_str_eq(name, "eu-west");
	ck_assert_int_eq(baton_ctl_kubeconfig_region("config", "ap-south", name,
						     sizeof name),
			 0);
	ck_assert_str_eq(name, "ap-south");
	ck_assert_int_eq(
	    baton_ctl_kubeconfig_region("/home/a/.kube/config",
					"arn:aws:eks:eu-west-1:1:cluster/x",
					name, sizeof name),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_ctl_kubeconfig_region("/home/a/.kube/config",
						     NULL, name, sizeof name),
			 BATON_EINVAL);
	/* too long for the caller's buffer: refused, not cut */
	ck_assert_int_eq(
	    baton_ctl_kubeconfig_region("/x/.kube/config", "eu-west", name, 4),
	    BATON_EINVAL);
}
END_TEST

/* ---- the fleet file ------------------------------------------------------ */

static int parse(struct baton_ctl_fleetfile *ff, const char *text)
{
	return baton_ctl_fleetfile_parse(ff, text, strlen(text),
					 "/home/op/.config/baton/fleet.yaml",
					 "/home/op/.config/baton");
}

START_TEST(fleetfile_good)
{
	struct baton_ctl_fleetfile ff;

	setenv("HOME", "/home/op", 1);
	ck_assert_int_eq(parse(&ff, "# three regions of one kubeconfig\n"
				    "regions:\n"
				    "  eu-west:\n"
				    "    context: prod-eu\n"
				    "    batond: http://198.18.0.11:8080\n"
				    "  us-east: {context: 'arn:aws:eks:x'}\n"
				    "  ap-south:\n"
				    "    kubeconfig: ap.kubeconfig\n"
				    "  ca-central:\n"
				    "    kubeconfig: ~/kube/ca\n"
				    "    context: ca\n"
				    "kubeconfig: ~/.kube/prod.yaml\n"),
			 0);
	ck_assert_uint_eq(ff.n, 4);
	ck_assert_str_eq(ff.regions[0].name, "eu-west");
	ck_assert_int_eq(ff.regions[0].line, 3);
	ck_assert_str_eq(ff.regions[0].context, "prod-eu");
	ck_assert_str_eq(ff.regions[0].batond, "http://198.18.0.11:8080");
	/* the file's kubeconfig for regions that name only a context */
	ck_assert_str_eq(ff.regions[0].kubeconfig, "/home/op/.kube/prod.yaml");
	ck_assert_str_eq(ff.regions[1].context, "arn:aws:eks:x");
	ck_assert_ptr_null(ff.regions[1].batond);
	ck_assert_str_eq(ff.regions[2].kubeconfig,
			 "/home/op/.config/baton/ap.kubeconfig");
	ck_assert_ptr_null(ff.regions[2].context);
	ck_assert_str_eq(ff.regions[3].kubeconfig, "/home/op/kube/ca");
	baton_ctl_fleetfile_free(&ff);

	/* no kubeconfig anywhere: kubectl's files (NULL) */
	ck_assert_int_eq(parse(&ff, "regions: {eu-west: {context: eu}}\n"), 0);
	ck_assert_ptr_null(ff.regions[0].kubeconfig);
	baton_ctl_fleetfile_free(&ff);
}
END_TEST

static const struct {
	const char *text;
	const char *must_mention;
} broken_fleets[] = {
    {"", "empty"},
    {"regions:\n  eu-west: {context: [\n", ":3: invalid YAML"},
    {"- eu-west\n", ":1: top level: must be a mapping"},
    {"kubeconfig: x\n", ":1: regions: missing"},
    {"regions: [eu-west]\n", ":1: regions: must map region names"},
    {"regions: {}\n", ":1: regions: must map"},
    {"region:\n  eu-west: {context: eu}\n", ":1: region: unknown key"},
    {"regions:\n  eu-west:\n    contxt: eu\n",
     ":3: regions.eu-west.contxt: unknown key"},
    {"regions:\n  EU: {context: eu}\n", ":2: regions: 'EU' is no region"},
    {"regions:\n  eu-west: {context: a}\n  eu-west: {context: b}\n",
     ":3: regions: eu-west is listed twice (line 2)"},
    {"regions:\n  eu-west: {}\n",
     ":2: regions.eu-west: give its kubeconfig, context or batond"},
    {"regions:\n  eu-west: ctx\n", ":2: regions.eu-west: must be a mapping"},
    {"regions:\n  eu-west:\n    context: [a]\n",
     ":3: regions.eu-west.context: must be a string"},
    {"regions:\n  eu-west:\n    context: ''\n",
     ":3: regions.eu-west.context: empty"},
    {"regions:\n  eu-west:\n    batond: 198.18.0.11:8080\n",
     ":3: regions.eu-west.batond: '198.18.0.11:8080' is not an http"},
};

START_TEST(fleetfile_broken)
{
	struct baton_ctl_fleetfile ff;
	int rv = parse(&ff, broken_fleets[_i].text);

	ck_assert_int_eq(rv, BATON_ECONFIG);
	ck_assert_msg(strstr(ff.errmsg, broken_fleets[_i].must_mention) &&
			  strstr(ff.errmsg, "fleet.yaml"),
		      "case %d: \"%s\" does not mention \"%s\"", _i, ff.errmsg,
		      broken_fleets[_i].must_mention);
	ck_assert_uint_eq(ff.n, 0);
}
END_TEST

START_TEST(fleetfile_default_path)
{
	struct baton_ctl_fleetfile ff_unused;
	char path[256];
	bool explicit;

	setenv("HOME", "/home/op", 1);
	unsetenv("BATON_FLEET");
	unsetenv("XDG_CONFIG_HOME");
	ck_assert_int_eq(
	    baton_ctl_fleetfile_default(path, sizeof path, &explicit), 0);
	ck_assert_str_eq(path, "/home/op/.config/baton/fleet.yaml");
	ck_assert(!explicit);
	setenv("XDG_CONFIG_HOME", "/cfg", 1);
	ck_assert_int_eq(
	    baton_ctl_fleetfile_default(path, sizeof path, &explicit), 0);
	ck_assert_str_eq(path, "/cfg/baton/fleet.yaml");
	setenv("BATON_FLEET", "/etc/fleet.yaml", 1);
	ck_assert_int_eq(
	    baton_ctl_fleetfile_default(path, sizeof path, &explicit), 0);
	ck_assert_str_eq(path, "/etc/fleet.yaml");
	ck_assert(explicit);
	ck_assert_int_eq(baton_ctl_fleetfile_load(&ff_unused, "/nonexistent/f"),
			 BATON_EIO);
	ck_assert_ptr_nonnull(strstr(ff_unused.errmsg, "/nonexistent/f: cannot "
						       "read"));
}
END_TEST

/* -n NS NAME beside NS/NAME */
START_TEST(db_arg_forms)
{
	char ns[64], name[64];

	ck_assert_int_eq(
	    baton_ctl_db_arg("t", NULL, "lab/orders", ns, name, sizeof ns), 0);
	ck_assert_str_eq(ns, "lab");
	ck_assert_str_eq(name, "orders");
	ck_assert_int_eq(
	    baton_ctl_db_arg("t", "lab", "orders", ns, name, sizeof ns), 0);
	ck_assert_str_eq(ns, "lab");
	ck_assert_str_eq(name, "orders");
	ck_assert_int_eq(
	    baton_ctl_db_arg("t", "lab", "lab/orders", ns, name, sizeof ns), 0);
	ck_assert_int_eq(
	    baton_ctl_db_arg("t", "x", "lab/orders", ns, name, sizeof ns),
	    BATON_CTL_EXIT_USAGE);
	ck_assert_int_eq(
	    baton_ctl_db_arg("t", NULL, "orders", ns, name, sizeof ns),
	    BATON_CTL_EXIT_USAGE);
	ck_assert_int_eq(
	    baton_ctl_db_arg("t", "a/b", "orders", ns, name, sizeof ns),
	    BATON_CTL_EXIT_USAGE);
	ck_assert_int_eq(
	    baton_ctl_db_arg("t", NULL, "lab/", ns, name, sizeof ns),
	    BATON_CTL_EXIT_USAGE);
}
END_TEST

START_TEST(pod_names_give_region_and_ordinal)
{
	char region[64];
	int ord = -1;

	ck_assert_int_eq(baton_ctl_pod_region("orders", "orders-eu-west-1",
					      region, sizeof region, &ord),
			 0);
	ck_assert_str_eq(region, "eu-west");
	ck_assert_int_eq(ord, 1);
	ck_assert_int_eq(baton_ctl_pod_region("orders", "orders-us-0", region,
					      sizeof region, &ord),
			 0);
	ck_assert_str_eq(region, "us");
	ck_assert_int_eq(ord, 0);
	/* not a pod of orders, no region, no ordinal, a bad region */
	ck_assert_int_ne(baton_ctl_pod_region("orders", "billing-us-0", region,
					      sizeof region, &ord),
			 0);
	ck_assert_int_ne(baton_ctl_pod_region("orders", "orders-0", region,
					      sizeof region, &ord),
			 0);
	ck_assert_int_ne(baton_ctl_pod_region("orders", "orders-us-", region,
					      sizeof region, &ord),
			 0);
	ck_assert_int_ne(baton_ctl_pod_region("orders", "orders-us-x1", region,
					      sizeof region, &ord),
			 0);
	ck_assert_int_ne(baton_ctl_pod_region("orders", "orders-US-1", region,
					      sizeof region, &ord),
			 0);
	ck_assert_int_ne(baton_ctl_pod_region("orders", "ordersx-us-1", region,
					      sizeof region, &ord),
			 0);
}
END_TEST

/* REGION of fleet F answered with STATUS (JSON text), or not (NULL). */
static void answered(struct baton_ctl_fleet *f, const char *region,
		     const char *status)
{
	struct baton_ctl_region *r = &f->regions[f->n++];
	snprintf(r->name, sizeof r->name, "%s", region);
	r->kubeconfig = (char *)"/dev/null";
	r->api_ok = status != NULL;
	if (status != NULL) {
		r->api_result =
		    json_pack("{s:o}", "status", json_loads(status, 0, NULL));
	} else {
		snprintf(r->api_err, sizeof r->api_err, "connection refused");
	}
}

static void forget(struct baton_ctl_fleet *f)
{
	for (size_t i = 0; i < f->n; i++) {
		json_decref(f->regions[i].api_result);
	}
	memset(f, 0, sizeof *f);
}

START_TEST(a_switchover_after_the_primarys_loss_is_told_apart)
{
	struct baton_ctl_fleet *f = calloc(1, sizeof *f);
	char why[600];

	/* both answer, the primary is fine: a planned switchover */
	answered(f, "eu", "{\"primaryRegion\": \"eu\"}");
	answered(f, "us", "{\"primaryRegion\": \"eu\"}");
	ck_assert(!baton_ctl_switchover_after_loss(f, "us", why, sizeof why));
	forget(f);
	/* the primary's region does not answer */
	answered(f, "eu", NULL);
	answered(f, "us", "{\"primaryRegion\": \"eu\"}");
	ck_assert(baton_ctl_switchover_after_loss(f, "us", why, sizeof why));
	ck_assert_ptr_nonnull(
	    strstr(why, "primary's region eu does not answer"));
	ck_assert_ptr_nonnull(strstr(why, "connection refused"));
	/* ... but moving back to it is no promotion after a loss */
	ck_assert(!baton_ctl_switchover_after_loss(f, "eu", why, sizeof why));
	forget(f);
	/* it answers, but its lease expired (status.primaryFailingSince) */
	answered(f, "eu", "{\"primaryRegion\": \"eu\"}");
	answered(f, "us",
		 "{\"primaryRegion\": \"eu\", "
		 "\"primaryFailingSince\": \"2026-12-05T20:00:00Z\"}");
	ck_assert(baton_ctl_switchover_after_loss(f, "us", why, sizeof why));
	ck_assert_ptr_nonnull(strstr(why, "expired at 2026-12-05T20:00:00Z"));
	forget(f);
	/* no status yet: nothing to judge by */
	answered(f, "eu", NULL);
	answered(f, "us", "{}");
	ck_assert(!baton_ctl_switchover_after_loss(f, "us", why, sizeof why));
	forget(f);
	/* with --yes nothing is asked; without a terminal, no */
	ck_assert(baton_ctl_confirm(true, "x"));
	if (!isatty(STDIN_FILENO)) {
		ck_assert(!baton_ctl_confirm(false, "x"));
	}
	free(f);
}
END_TEST

static Suite *fleet_suite(void)
{
	Suite *s = suite_create("batonctl_fleet");
	TCase *tc = tcase_create("names");
	tcase_add_test(tc, test_region_names);
	tcase_add_test(tc, test_kubeconfig_region);
	suite_add_tcase(s, tc);
	tc = tcase_create("fleetfile");
	tcase_add_test(tc, fleetfile_good);
	tcase_add_loop_test(
	    tc, fleetfile_broken, 0,
	    (int)(sizeof broken_fleets / sizeof broken_fleets[0]));
	tcase_add_test(tc, fleetfile_default_path);
	tcase_add_test(tc, db_arg_forms);
	tcase_add_test(tc, pod_names_give_region_and_ordinal);
	tcase_add_test(tc, a_switchover_after_the_primarys_loss_is_told_apart);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(fleet_suite)
