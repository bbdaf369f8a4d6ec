/* batonctl's region names for kubeconfigs given without NAME=: a
 * directory named like a region names it (the test regions' layout); a
 * directory that is not a region name (~/.kube) falls back to the
 * kubeconfig's context, and when neither is a region name the caller must
 * ask for NAME=PATH rather than invent a region. */
#include <check.h>
#include <string.h>

#include "batonctl/fleet.h"
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

static Suite *fleet_suite(void)
{
	Suite *s = suite_create("batonctl_fleet");
	TCase *tc = tcase_create("names");
	tcase_add_test(tc, test_region_names);
	tcase_add_test(tc, test_kubeconfig_region);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(fleet_suite)
