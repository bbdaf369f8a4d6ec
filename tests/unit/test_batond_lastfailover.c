/* Unit tests for operator/batond/lastfailover: status.lastFailover and the
 * failover's step timings. The properties under test: a promote starts a
 * new record (from the primary last seen when the command does not say);
 * each step is recorded once per failover and only for the failover's
 * epoch; completedAt is set once the new primary serves; routing counts
 * only for the promote's target. */
#include <string.h>

#include "batond/lastfailover.h"
#include "harness.h"

/* the per-database records lastfailover keeps its state in */
static struct baton_dbstate dbs;

#define NOW "2026-11-28T03:22:52Z"
#define NOW_MICRO "2026-11-28T03:22:52.123456Z"

static void promote(struct baton_cmd *cmd, const char *to, uint64_t epoch)
{
	memset(cmd, 0, sizeof *cmd);
	cmd->type = BATON_CMD_PROMOTE;
	snprintf(cmd->db, sizeof cmd->db, "shop/orders");
	snprintf(cmd->region, sizeof cmd->region, "%s", to);
	cmd->epoch = epoch;
	cmd->reason = BATON_REASON_MANUAL;
}

static int64_t step(struct baton_lastfailover *r, const char *name)
{
	json_t *steps = json_object_get(
	    baton_lastfailover_get(r, "shop/orders"), "stepsMillis");
	json_t *v = json_object_get(steps, name);
	return v ? (int64_t)json_integer_value(v) : -1;
}

START_TEST(a_promote_starts_a_record)
{
	struct baton_lastfailover r;
	struct baton_cmd cmd;
	char msg[300];
	json_t *lf;

	baton_dbstate_init(&dbs);
	ck_assert_int_eq(baton_lastfailover_init(&r, &dbs), 0);
	ck_assert_ptr_null(baton_lastfailover_get(&r, "shop/orders"));
	ck_assert_int_eq(baton_lastfailover_since(&r, "shop/orders", 5000), -1);

	baton_dbstate_primary(&dbs, "shop/orders", "eu"); /* viewed */
	promote(&cmd, "us", 4);
	ck_assert(baton_lastfailover_promoted(&r, &cmd, NULL, NOW, NOW_MICRO,
					      1000, msg, sizeof msg));
	ck_assert(strstr(msg, "us is primary at epoch 4 (was eu;") != NULL);
	lf = baton_lastfailover_get(&r, "shop/orders");
	ck_assert_str_eq(json_string_value(json_object_get(lf, "from")), "eu");
	ck_assert_str_eq(json_string_value(json_object_get(lf, "to")), "us");
	ck_assert_int_eq(json_integer_value(json_object_get(lf, "epoch")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(lf, "startedAt")),
			 NOW);
	ck_assert_str_eq(json_string_value(json_object_get(lf, "appliedAt")),
			 NOW_MICRO);
	ck_assert_int_eq(baton_lastfailover_since(&r, "shop/orders", 1250),
			 250);

	/* the command names where it came from */
	promote(&cmd, "eu", 5);
	ck_assert(baton_lastfailover_promoted(&r, &cmd, "us", NOW, NOW_MICRO,
					      2000, msg, sizeof msg));
	lf = baton_lastfailover_get(&r, "shop/orders");
	ck_assert_str_eq(json_string_value(json_object_get(lf, "from")), "us");

	/* a sibling in the same region says so (design-per-instance §4) */
	promote(&cmd, "eu", 6);
	cmd.ordinal = 1;
	ck_assert(baton_lastfailover_promoted(&r, &cmd, "eu", NOW, NOW_MICRO,
					      3000, msg, sizeof msg));
	ck_assert_msg(strstr(msg,
			     "eu is primary at epoch 6, its instance 1 "
			     "(a sibling of the instance it lost;") != NULL,
		      "%s", msg);
	baton_lastfailover_close(&r);
	baton_dbstate_free(&dbs);
}
END_TEST

START_TEST(each_step_once_per_failover)
{
	struct baton_lastfailover r;
	struct baton_cmd cmd;
	char msg[300];

	baton_dbstate_init(&dbs);
	ck_assert_int_eq(baton_lastfailover_init(&r, &dbs), 0);
	/* no failover seen: nothing to record */
	ck_assert(
	    !baton_lastfailover_step(&r, "shop/orders", 4, "labelled", 10));
	promote(&cmd, "us", 4);
	baton_lastfailover_promoted(&r, &cmd, "eu", NOW, NOW_MICRO, 1000, msg,
				    sizeof msg);
	ck_assert(
	    !baton_lastfailover_step(&r, "shop/orders", 4, "labelled", -1));
	ck_assert(
	    !baton_lastfailover_step(&r, "shop/orders", 3, "labelled", 10));
	ck_assert(
	    baton_lastfailover_step(&r, "shop/orders", 4, "labelled", 10));
	ck_assert(
	    !baton_lastfailover_step(&r, "shop/orders", 4, "labelled", 20));
	ck_assert_int_eq(step(&r, "labelled"), 10);
	baton_lastfailover_close(&r);
	baton_dbstate_free(&dbs);
}
END_TEST

/* The hops before the promote (a switchover committed, the old primary
 * fenced) are stored as negative milliseconds: once, for the record's
 * epoch, never after the promote and never from a round long gone. */
START_TEST(hops_before_the_promote_are_negative)
{
	struct baton_lastfailover r;
	struct baton_cmd cmd;
	char msg[300];

	baton_dbstate_init(&dbs);
	ck_assert_int_eq(baton_lastfailover_init(&r, &dbs), 0);
	ck_assert(
	    !baton_lastfailover_before(&r, "shop/orders", 4, "fenced", 900));
	promote(&cmd, "us", 4);
	baton_lastfailover_promoted(&r, &cmd, "eu", NOW, NOW_MICRO, 200000, msg,
				    sizeof msg);
	ck_assert(baton_lastfailover_before(&r, "shop/orders", 4, "committed",
					    199380));
	ck_assert_int_eq(step(&r, "committed"), -620);
	ck_assert(!baton_lastfailover_before(&r, "shop/orders", 4, "committed",
					     199900)); /* once */
	ck_assert(
	    !baton_lastfailover_before(&r, "shop/orders", 3, "fenced", 199900));
	ck_assert(!baton_lastfailover_before(&r, "shop/orders", 4, "fenced",
					     200001)); /* after it */
	ck_assert(!baton_lastfailover_before(
	    &r, "shop/orders", 4, "fenced",
	    200000 - BATON_LASTFAILOVER_BEFORE_MS - 1)); /* long gone */
	ck_assert(
	    baton_lastfailover_before(&r, "shop/orders", 4, "fenced", 200000));
	ck_assert_int_eq(step(&r, "fenced"), 0);
	baton_lastfailover_close(&r);
	baton_dbstate_free(&dbs);
}
END_TEST

START_TEST(serving_completes_the_record)
{
	struct baton_lastfailover r;
	struct baton_cmd cmd;
	char msg[300];
	json_t *lf;

	baton_dbstate_init(&dbs);
	ck_assert_int_eq(baton_lastfailover_init(&r, &dbs), 0);
	ck_assert_ptr_null(baton_lastfailover_awaiting(&r, "shop/orders"));
	promote(&cmd, "us", 4);
	baton_lastfailover_promoted(&r, &cmd, "eu", NOW, NOW_MICRO, 1000, msg,
				    sizeof msg);
	ck_assert_str_eq(baton_lastfailover_awaiting(&r, "shop/orders"), "us");
	baton_lastfailover_serving(&r, "shop/orders", "198.18.0.140:5432",
				   "2026-11-28T03:22:55Z", 0, 3000, msg,
				   sizeof msg);
	ck_assert_str_eq(msg, "us serves as primary at 198.18.0.140:5432 "
			      "(3000 ms after the promote was applied here)");
	lf = baton_lastfailover_get(&r, "shop/orders");
	ck_assert_str_eq(json_string_value(json_object_get(lf, "completedAt")),
			 "2026-11-28T03:22:55Z");
	ck_assert_ptr_null(baton_lastfailover_awaiting(&r, "shop/orders"));

	/* no promote applied here: the age comes from startedAt */
	json_object_del(lf, "completedAt");
	baton_lastfailover_serving(&r, "shop/orders", "198.18.0.140:5432", NOW,
				   (time_t)1795836172 + 7, -1, msg, sizeof msg);
	ck_assert_str_eq(msg, "us serves as primary at 198.18.0.140:5432 "
			      "(about 7 s after the promote)");
	baton_lastfailover_close(&r);
	baton_dbstate_free(&dbs);
}
END_TEST

START_TEST(routing_counts_for_the_promote_s_target_only)
{
	struct baton_lastfailover r;
	struct baton_cmd cmd;
	char msg[300];

	baton_dbstate_init(&dbs);
	ck_assert_int_eq(baton_lastfailover_init(&r, &dbs), 0);
	ck_assert(!baton_lastfailover_routed(&r, "shop/orders", "us", 4,
					     "plain", 10, msg, sizeof msg));
	promote(&cmd, "us", 4);
	baton_lastfailover_promoted(&r, &cmd, "eu", NOW, NOW_MICRO, 1000, msg,
				    sizeof msg);
	ck_assert(!baton_lastfailover_routed(&r, "shop/orders", "eu", 4,
					     "plain", 10, msg, sizeof msg));
	ck_assert(baton_lastfailover_routed(&r, "shop/orders", "us", 4, "istio",
					    12, msg, sizeof msg));
	ck_assert_str_eq(msg, "routing objects (mesh istio) send new "
			      "connections to us at epoch 4 in this cluster "
			      "(12 ms after the promote was applied here)");
	ck_assert_int_eq(step(&r, "routed"), 12);
	ck_assert(!baton_lastfailover_routed(&r, "shop/orders", "us", 4,
					     "istio", 30, msg, sizeof msg));
	baton_lastfailover_close(&r);
	baton_dbstate_free(&dbs);
}
END_TEST

START_TEST(a_deleted_database_s_record_goes_with_it)
{
	struct baton_lastfailover r;
	struct baton_cmd cmd;
	char msg[300];

	baton_dbstate_init(&dbs);
	ck_assert_int_eq(baton_lastfailover_init(&r, &dbs), 0);
	promote(&cmd, "us", 4);
	ck_assert(baton_lastfailover_promoted(&r, &cmd, NULL, NOW, NOW_MICRO,
					      1000, msg, sizeof msg));
	/* no primary viewed yet: from nowhere */
	ck_assert(strstr(msg, "(was none;") != NULL);
	ck_assert_uint_eq(baton_dbstate_count(&dbs), 1);
	/* the DatabaseCluster was deleted (batond/dbstate.h) */
	baton_dbstate_forget(&dbs, "shop/orders");
	ck_assert_ptr_null(baton_lastfailover_get(&r, "shop/orders"));
	ck_assert_int_eq(baton_lastfailover_since(&r, "shop/orders", 1500), -1);
	ck_assert(!baton_lastfailover_step(&r, "shop/orders", 4, "routed", 5));
	ck_assert_uint_eq(baton_dbstate_count(&dbs), 0);
	/* a record still held goes with the table (ASan: no leak) */
	ck_assert(baton_lastfailover_promoted(&r, &cmd, "eu", NOW, NOW_MICRO,
					      2000, msg, sizeof msg));
	baton_lastfailover_close(&r);
	baton_dbstate_free(&dbs);
}
END_TEST

static Suite *lastfailover_suite(void)
{
	Suite *s = suite_create("batond_lastfailover");
	TCase *tc = tcase_create("record");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, a_promote_starts_a_record);
	tcase_add_test(tc, each_step_once_per_failover);
	tcase_add_test(tc, hops_before_the_promote_are_negative);
	tcase_add_test(tc, serving_completes_the_record);
	tcase_add_test(tc, routing_counts_for_the_promote_s_target_only);
	tcase_add_test(tc, a_deleted_database_s_record_goes_with_it);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(lastfailover_suite)
