/* Unit tests for operator/batond/desigmetrics: the designation series on
 * /metrics (docs/batond.md, Metrics) from commands as the FSM's observer
 * hands them over, and the gauge from a real FSM's state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond/desigmetrics.h"
#include "harness.h"
#include "support/fsmcmd.h"

static char *render(struct baton_metrics *m)
{
	char *text;
	size_t len;
	ck_assert_int_eq(baton_metrics_render(m, &text, &len), 0);
	return text;
}

static struct baton_cmd step(const char *region, int s)
{
	struct baton_cmd c =
	    tst_cmd(BATON_CMD_DESIGNATE, "lab/orders", region, 1);
	c.step = (uint8_t)s;
	return c;
}

/* Every step counted by its verdict; a move timed from its JOIN to its
 * RELEASE, per region; a refused RELEASE ends nothing. */
START_TEST(steps_counted_and_a_move_timed_join_to_release)
{
	struct baton_metrics m;
	struct baton_desigmetrics dm;
	struct baton_cmd c;
	char *text;

	baton_metrics_init(&m);
	ck_assert_int_eq(baton_desigmetrics_add(&dm, &m, true), 0);
	c = step("us-east", BATON_DESIGNATE_JOIN);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 10000);
	c = step("eu-west", BATON_DESIGNATE_JOIN);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 15000);
	c = step("us-east", BATON_DESIGNATE_LEAVE);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 20000);
	c = step("us-east", BATON_DESIGNATE_RELEASE);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_NOT_FLUSHED, 30000);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 40000);
	text = render(&m);
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_designations_total{step=\"join\",result="
			 "\"ok\"} 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_designations_total{step=\"leave\",result="
			 "\"ok\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_designations_total{step=\"release\",result="
			 "\"not-flushed\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_designations_total{step=\"release\",result="
			 "\"ok\"} 1\n"));
	/* us-east's move: 30 s; eu-west's still in flight */
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_designation_seconds_count 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "baton_designation_seconds_sum 30"));
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_designation_seconds_bucket{le=\"20\"} 0\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_designation_seconds_bucket{le=\"30\"} 1\n"));
	ck_assert_uint_eq(baton_index_count(&dm.joins), 1);
	free(text);
	/* an asynchronous RELEASE (no JOIN) is counted, not timed */
	c = step("ap-south", BATON_DESIGNATE_RELEASE);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 50000);
	text = render(&m);
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_designation_seconds_count 1\n"));
	free(text);
	baton_desigmetrics_close(&dm);
	baton_metrics_free(&m);
}
END_TEST

/* A removed database, or a restored snapshot (what applied in between is
 * not known), leaves no move to time: nothing is kept for it. */
START_TEST(removal_and_restore_forget_moves_in_flight)
{
	struct baton_metrics m;
	struct baton_desigmetrics dm;
	struct baton_cmd c;

	baton_metrics_init(&m);
	ck_assert_int_eq(baton_desigmetrics_add(&dm, &m, true), 0);
	c = step("us-east", BATON_DESIGNATE_JOIN);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 1000);
	c = tst_cmd(BATON_CMD_DESIGNATE, "lab/other", "us-east", 1);
	c.step = BATON_DESIGNATE_JOIN;
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 1000);
	ck_assert_uint_eq(baton_index_count(&dm.joins), 2);
	c = tst_cmd(BATON_CMD_REMOVE, "lab/orders", "us-east", 1);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 2000);
	ck_assert_uint_eq(baton_index_count(&dm.joins), 1);
	baton_desigmetrics_applied(&dm, NULL, 0, 3000);
	ck_assert_uint_eq(baton_index_count(&dm.joins), 0);
	c = step("us-east", BATON_DESIGNATE_RELEASE);
	baton_desigmetrics_applied(&dm, &c, BATON_FSM_OK, 4000);
	{
		char *text = render(&m);
		ck_assert_ptr_nonnull(
		    strstr(text, "baton_designations_total{step=\"release\","
				 "result=\"ok\"} 1\n"));
		ck_assert_ptr_null(
		    strstr(text, "baton_designation_seconds_count 1"));
		free(text);
	}
	baton_desigmetrics_close(&dm);
	baton_metrics_free(&m);
}
END_TEST

/* The gauge follows the FSM: each data region's designated ordinal, only
 * with designation on, and a removed database's series go. */
START_TEST(the_gauge_is_each_data_region_s_designated_ordinal)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_metrics m, off;
	struct baton_desigmetrics dm, dm_off;
	struct baton_cmd c;
	char *text;

	baton_fsm_init(&f, &rf);
	c = tst_cmd(BATON_CMD_REGISTER, "lab/orders", "r0", 0);
	c.cfg.lease_ms = 2000;
	c.cfg.renew_ms = 500;
	c.n_regions = 3;
	for (unsigned i = 0; i < 3; i++) {
		snprintf(c.regions[i].name, sizeof c.regions[i].name, "r%u", i);
	}
	c.regions[2].role = BATON_ROLE_WITNESS;
	snprintf(c.primary, sizeof c.primary, "r0");
	ck_assert_str_eq(baton_fsm_result_name(tst_fsm_apply(&f, &c)), "ok");
	baton_fsm_db(&f, "lab/orders")->regions[1].designated = 1;

	baton_metrics_init(&m);
	baton_metrics_init(&off);
	ck_assert_int_eq(baton_desigmetrics_add(&dm, &m, true), 0);
	ck_assert_int_eq(baton_desigmetrics_add(&dm_off, &off, false), 0);
	baton_desigmetrics_update(&dm, &f);
	baton_desigmetrics_update(&dm_off, &f);
	text = render(&m);
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_database_designated_ordinal{db_namespace="
			 "\"lab\",name=\"orders\",region=\"r0\"} 0\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_database_designated_ordinal{db_namespace="
			 "\"lab\",name=\"orders\",region=\"r1\"} 1\n"));
	ck_assert_ptr_null(strstr(text, "region=\"r2\"")); /* a witness */
	free(text);
	text = render(&off);
	ck_assert_ptr_null(strstr(text, "baton_database_designated_ordinal{"));
	free(text);

	c = tst_cmd(BATON_CMD_REMOVE, "lab/orders", "r0", 1);
	ck_assert_str_eq(baton_fsm_result_name(tst_fsm_apply(&f, &c)), "ok");
	baton_desigmetrics_update(&dm, &f);
	text = render(&m);
	ck_assert_ptr_null(strstr(text, "baton_database_designated_ordinal{"));
	free(text);
	baton_desigmetrics_close(&dm);
	baton_desigmetrics_close(&dm_off);
	baton_metrics_free(&m);
	baton_metrics_free(&off);
	baton_fsm_close(&rf);
}
END_TEST

static Suite *desigmetrics_suite(void)
{
	Suite *s = suite_create("batond_desigmetrics");
	TCase *tc = tcase_create("desigmetrics");
	tcase_add_test(tc, steps_counted_and_a_move_timed_join_to_release);
	tcase_add_test(tc, removal_and_restore_forget_moves_in_flight);
	tcase_add_test(tc, the_gauge_is_each_data_region_s_designated_ordinal);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(desigmetrics_suite)
