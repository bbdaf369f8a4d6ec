/* batonctl check's verdicts on what batond answered: a healthy batond
 * passes every check; each unhealthy answer (not ready, wrong region,
 * caches not synced, no Raft leader, a peer missing from the members, no
 * answer at all) fails exactly the check that names it, with a line that
 * says what to look at. Also the run against a URL nobody serves. */
#include <check.h>
#include <jansson.h>
#include <string.h>

#include "batonctl/check.h"
#include "common/error.h"
#include "harness.h"

static const char *healthy =
    "{\"region\": \"eu-west\", \"synced\": true, \"databases\": [],"
    " \"raft\": {\"self\": \"eu-west\", \"state\": \"follower\","
    " \"term\": 3, \"leader\": \"us-east\", \"applied\": 9, \"members\": ["
    " {\"name\": \"eu-west\", \"id\": 1, \"address\": \"a:7100\"},"
    " {\"name\": \"us-east\", \"id\": 2, \"address\": \"b:7100\"},"
    " {\"name\": \"ap-south\", \"id\": 3, \"address\": \"c:7100\"}]}}";

static struct baton_ctl_check_want want(void)
{
	struct baton_ctl_check_want w = {
	    .url = "http://baton-metrics.baton-system.svc:8080",
	    .region = "eu-west",
	    .peers = {"us-east", "ap-south"},
	    .n_peers = 2,
	};
	return w;
}

static json_t *load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* The one failed line, asserting there is exactly one. */
static const char *only_failure(const struct baton_ctl_checks *c)
{
	const char *line = NULL;
	ck_assert_int_eq(c->failed, 1);
	for (int i = 0; i < c->n; i++) {
		if (!c->items[i].ok) {
			line = c->items[i].line;
		}
	}
	ck_assert_ptr_nonnull(line);
	return line;
}

START_TEST(test_healthy)
{
	struct baton_ctl_checks c = {0};
	struct baton_ctl_check_want w = want();
	json_t *st = load(healthy);

	baton_ctl_check_readyz(&c, &w, true, "");
	baton_ctl_check_status(&c, &w, st, NULL);
	ck_assert_int_eq(c.failed, 0);
	/* readyz, region, caches, Raft, two peers */
	ck_assert_int_eq(c.n, 6);
	ck_assert_ptr_nonnull(strstr(c.items[3].line, "leader us-east"));
	ck_assert_ptr_nonnull(strstr(c.items[5].line, "ap-south"));
	json_decref(st);
}
END_TEST

START_TEST(test_not_ready)
{
	struct baton_ctl_checks c = {0};
	struct baton_ctl_check_want w = want();

	baton_ctl_check_readyz(&c, &w, false,
			       "HTTP 503: no Raft quorum reachable");
	ck_assert_ptr_nonnull(strstr(only_failure(&c),
				     "not ready (/readyz): HTTP 503: no Raft "
				     "quorum reachable"));
}
END_TEST

START_TEST(test_wrong_region)
{
	struct baton_ctl_checks c = {0};
	struct baton_ctl_check_want w = want();
	json_t *st = load(healthy);

	w.region = "us-east";
	baton_ctl_check_status(&c, &w, st, NULL);
	ck_assert_ptr_nonnull(
	    strstr(only_failure(&c), "is region eu-west, expected us-east"));
	/* no expected region: any will do */
	memset(&c, 0, sizeof c);
	w.region = NULL;
	baton_ctl_check_status(&c, &w, st, NULL);
	ck_assert_int_eq(c.failed, 0);
	json_decref(st);
}
END_TEST

START_TEST(test_not_synced)
{
	struct baton_ctl_checks c = {0};
	struct baton_ctl_check_want w = want();
	json_t *st = load(healthy);

	json_object_set_new(st, "synced", json_false());
	baton_ctl_check_status(&c, &w, st, NULL);
	ck_assert_ptr_nonnull(strstr(only_failure(&c), "not synced"));
	json_decref(st);
}
END_TEST

START_TEST(test_no_leader)
{
	struct baton_ctl_checks c = {0};
	struct baton_ctl_check_want w = want();
	json_t *st = load(healthy);
	json_t *raft = json_object_get(st, "raft");

	json_object_set_new(raft, "leader", json_null());
	json_object_set_new(raft, "state", json_string("candidate"));
	baton_ctl_check_status(&c, &w, st, NULL);
	ck_assert_ptr_nonnull(strstr(
	    only_failure(&c), "no leader known (state candidate, members "
			      "eu-west, us-east, ap-south)"));
	json_decref(st);
}
END_TEST

START_TEST(test_missing_peer)
{
	struct baton_ctl_checks c = {0};
	struct baton_ctl_check_want w = want();
	json_t *st = load(healthy);

	w.peers[1] = "sa-east";
	baton_ctl_check_status(&c, &w, st, NULL);
	ck_assert_ptr_nonnull(
	    strstr(only_failure(&c), "peer sa-east is not a Raft member"));
	json_decref(st);
}
END_TEST

START_TEST(test_no_status)
{
	struct baton_ctl_checks c = {0};
	struct baton_ctl_check_want w = want();

	baton_ctl_check_status(&c, &w, NULL, "Couldn't connect to server");
	ck_assert_int_eq(c.n, 1);
	ck_assert_ptr_nonnull(
	    strstr(only_failure(&c), "no status (/v1/status): Couldn't"));
}
END_TEST

START_TEST(test_cap)
{
	struct baton_ctl_checks c = {0};
	for (int i = 0; i < BATON_CTL_CHECK_MAX + 3; i++) {
		baton_ctl_checks_add(&c, false, "check %d", i);
	}
	ck_assert_int_eq(c.n, BATON_CTL_CHECK_MAX);
	ck_assert_int_eq(c.failed, BATON_CTL_CHECK_MAX + 3);
}
END_TEST

/* Port 1 on loopback: refused at once. Both requests fail; the status
 * checks that need the document are replaced by one line. */
START_TEST(test_run_unreachable)
{
	struct baton_ctl_checks c = {0};
	struct baton_ctl_check_want w = want();
	char errmsg[BATON_ERRMSG_SIZE];

	w.url = "http://127.0.0.1:1";
	ck_assert_int_eq(baton_ctl_check_run(&c, &w, errmsg), 0);
	ck_assert_int_eq(c.n, 2);
	ck_assert_int_eq(c.failed, 2);
	ck_assert_ptr_nonnull(strstr(c.items[0].line, "is not ready"));
	ck_assert_ptr_nonnull(strstr(c.items[1].line, "no status"));

	memset(&c, 0, sizeof c);
	w.url = "ftp://x";
	ck_assert_int_eq(baton_ctl_check_run(&c, &w, errmsg), BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(errmsg, "must start with http://"));
}
END_TEST

static Suite *check_suite(void)
{
	Suite *s = suite_create("batonctl_check");
	TCase *tc = tcase_create("verdicts");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_healthy);
	tcase_add_test(tc, test_not_ready);
	tcase_add_test(tc, test_wrong_region);
	tcase_add_test(tc, test_not_synced);
	tcase_add_test(tc, test_no_leader);
	tcase_add_test(tc, test_missing_peer);
	tcase_add_test(tc, test_no_status);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_run_unreachable);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(check_suite)
