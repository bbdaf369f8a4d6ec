/* Unit tests for operator/batond/switchover: the planned switchover and
 * manual promotion policy, without an API server. The properties under
 * test: the first sight of a database records the spec's primary and asks
 * for nothing; a request is a new annotation value or a changed
 * spec.primaryRegion, nothing else (an automatic failover never triggers a
 * switch back); only the Raft leader proposes, at most once a second, and
 * only for an eligible target; a switchover that does not fence in time is
 * aborted; a manual database whose primary is lost is promoted at the next
 * epoch. */
#include <string.h>

#include "batond/switchover.h"
#include "harness.h"

/* 2026-11-28T03:22:52Z */
#define NOW_S ((time_t)1795836172)
#define NOW "2026-11-28T03:22:52Z"
#define LONG_AGO "2026-11-28T03:19:52Z" /* 180 s earlier */

/* eu (primary, index 0), us, ap (witness) at EPOCH; us is healthy, a
 * synchronous standby, caught up. */
static void db_state(struct baton_db_state *st, uint64_t epoch)
{
	memset(st, 0, sizeof *st);
	snprintf(st->name, sizeof st->name, "shop/orders");
	st->n_regions = 3;
	snprintf(st->regions[0].name, sizeof st->regions[0].name, "eu");
	snprintf(st->regions[1].name, sizeof st->regions[1].name, "us");
	snprintf(st->regions[2].name, sizeof st->regions[2].name, "ap");
	st->regions[0].healthy = true;
	st->regions[1].healthy = true;
	st->regions[1].sync_standby = true;
	st->regions[2].role = BATON_ROLE_WITNESS;
	st->primary = 0;
	st->epoch = epoch;
	st->phase = BATON_PHASE_HEALTHY;
	st->sw_target = -1;
	st->cfg.automatic = true;
	st->cfg.synchronous = true;
	st->cfg.max_lag_bytes = 1024;
}

static void input(struct baton_switchover_in *in,
		  const struct baton_db_state *st, json_t *old)
{
	memset(in, 0, sizeof *in);
	in->db = "shop/orders";
	in->spec_primary = "eu";
	in->generation = 1;
	in->old = old;
	in->st = st;
	in->leader = true;
	in->may_propose = true;
	in->now = NOW;
	in->now_s = NOW_S;
}

static const char *rec_str(const struct baton_switchover_out *out,
			   const char *field)
{
	return json_string_value(json_object_get(out->record, field));
}

/* status.switchover after the first sight: eu, Completed. */
static json_t *settled(void)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s}", "target", "eu",
			 "specPrimary", "eu", "generation", (json_int_t)1,
			 "state", "Completed", "message",
			 "the initial primary");
}

START_TEST(unregistered_keeps_the_old_record)
{
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old = settled();

	input(&in, NULL, old);
	baton_switchover_decide(&in, &out);
	ck_assert_ptr_eq(out.record, old);
	ck_assert(!out.propose);
	ck_assert_int_eq(out.n_events, 0);
	json_decref(out.record);

	input(&in, NULL, NULL);
	baton_switchover_decide(&in, &out);
	ck_assert_ptr_null(out.record);
	json_decref(old);
}
END_TEST

START_TEST(first_sight_records_the_initial_primary)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;

	db_state(&st, 1);
	input(&in, &st, NULL);
	baton_switchover_decide(&in, &out);
	ck_assert_str_eq(rec_str(&out, "target"), "eu");
	ck_assert_str_eq(rec_str(&out, "state"), "Completed");
	ck_assert_str_eq(rec_str(&out, "message"), "the initial primary");
	ck_assert(!out.propose);
	ck_assert(!out.requeue);
	ck_assert_int_eq(out.n_events, 0);
	/* exactly that: no "request": null, which the status's merge patch
	 * would delete (the status kept would not be the one computed, and
	 * its watch event would not be the echo: batond/statusecho.h) */
	{
		json_t *want = settled();
		ck_assert(json_equal(out.record, want));
		json_decref(want);
	}
	json_decref(out.record);

	/* the spec names another region than the FSM's primary: recorded,
	 * not a request */
	in.spec_primary = "us";
	baton_switchover_decide(&in, &out);
	ck_assert_str_eq(rec_str(&out, "target"), "us");
	ck_assert_str_eq(rec_str(&out, "state"), "Completed");
	ck_assert_str_eq(rec_str(&out, "message"),
			 "recorded; the primary is eu");
	ck_assert(!out.propose);
	json_decref(out.record);
}
END_TEST

START_TEST(nothing_new_asks_for_nothing)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old = settled();

	db_state(&st, 1);
	input(&in, &st, old);
	baton_switchover_decide(&in, &out);
	ck_assert_ptr_eq(out.record, old);
	ck_assert(!out.propose);
	json_decref(out.record);

	/* an automatic failover moved the primary to us: no switch back */
	st.primary = 1;
	st.epoch = 2;
	baton_switchover_decide(&in, &out);
	ck_assert_ptr_eq(out.record, old);
	ck_assert(!out.propose);
	ck_assert_int_eq(out.n_events, 0);
	json_decref(out.record);
	json_decref(old);
}
END_TEST

START_TEST(a_changed_spec_proposes_a_switchover_on_the_leader)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old = settled();

	db_state(&st, 3);
	input(&in, &st, old);
	in.spec_primary = "us";
	in.generation = 2;
	baton_switchover_decide(&in, &out);
	ck_assert(out.propose);
	ck_assert_int_eq(out.cmd.type, BATON_CMD_SWITCHOVER);
	ck_assert_str_eq(out.cmd.db, "shop/orders");
	ck_assert_str_eq(out.cmd.region, "us");
	ck_assert_uint_eq(out.cmd.epoch, 3);
	ck_assert(out.requeue);
	ck_assert_str_eq(rec_str(&out, "state"), "InProgress");
	ck_assert_str_eq(rec_str(&out, "target"), "us");
	ck_assert_str_eq(rec_str(&out, "startedAt"), NOW);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(out.record, "generation")), 2);
	/* no annotation: no "request" (not null, which a merge patch
	 * deletes) */
	ck_assert_ptr_null(json_object_get(out.record, "request"));
	ck_assert_int_eq(out.n_events, 1);
	ck_assert_str_eq(out.events[0].reason, "SwitchoverStarted");
	ck_assert_str_eq(out.events[0].message, "switchover to us requested");
	json_decref(out.record);

	/* proposed less than a second ago: the same record, no command */
	in.may_propose = false;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "InProgress");
	json_decref(out.record);
	json_decref(old);
}
END_TEST

START_TEST(a_follower_waits_for_the_leader)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old = settled();
	json_t *pending;

	db_state(&st, 3);
	input(&in, &st, old);
	in.spec_primary = "us";
	in.leader = false;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "Pending");
	ck_assert(strstr(rec_str(&out, "message"), "Raft leader") != NULL);

	/* the same request 180 s later, still no leader action: Refused */
	pending = out.record;
	json_object_set_new(pending, "startedAt", json_string(LONG_AGO));
	in.old = pending;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "Refused");
	ck_assert_int_eq(out.n_events, 0);
	json_decref(out.record);
	json_decref(pending);
	json_decref(old);
}
END_TEST

START_TEST(an_ineligible_target_is_waited_for_then_refused)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old = settled();
	json_t *pending;

	db_state(&st, 3);
	st.regions[1].sync_standby = false;
	input(&in, &st, old);
	in.request = "us/req-1";
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "Pending");
	ck_assert_str_eq(rec_str(&out, "request"), "us/req-1");
	ck_assert(strstr(rec_str(&out, "message"),
			 "not a synchronous standby") != NULL);

	pending = out.record;
	json_object_set_new(pending, "startedAt", json_string(LONG_AGO));
	in.old = pending;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "Refused");
	ck_assert_int_eq(out.n_events, 1);
	ck_assert_str_eq(out.events[0].type, "Warning");
	ck_assert_str_eq(out.events[0].reason, "SwitchoverRefused");
	json_decref(out.record);

	/* lagging beyond maxLagBytes */
	st.regions[1].sync_standby = true;
	st.regions[0].position = 10000;
	st.regions[1].position = 100;
	in.old = old;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert(strstr(rec_str(&out, "message"), "9900 bytes behind") !=
		  NULL);
	json_decref(out.record);
	json_decref(pending);
	json_decref(old);
}
END_TEST

START_TEST(a_witness_or_unknown_region_is_refused)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old = settled();

	db_state(&st, 3);
	input(&in, &st, old);
	in.request = "ap";
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert(!out.requeue);
	ck_assert_str_eq(rec_str(&out, "state"), "Refused");
	ck_assert_str_eq(out.events[0].reason, "SwitchoverRefused");
	json_decref(out.record);

	in.request = "mars/1";
	baton_switchover_decide(&in, &out);
	ck_assert_str_eq(rec_str(&out, "state"), "Refused");
	ck_assert_str_eq(rec_str(&out, "target"), "mars");
	json_decref(out.record);

	/* the primary's own region: Completed at once */
	in.request = "eu/again";
	baton_switchover_decide(&in, &out);
	ck_assert_str_eq(rec_str(&out, "state"), "Completed");
	ck_assert_str_eq(rec_str(&out, "message"), "already the primary");
	json_decref(out.record);
	json_decref(old);
}
END_TEST

START_TEST(a_switchover_that_does_not_fence_in_time_is_aborted)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old =
	    json_pack("{s:s, s:s, s:s, s:s}", "target", "us", "specPrimary",
		      "us", "state", "InProgress", "startedAt", NOW);

	db_state(&st, 3);
	st.phase = BATON_PHASE_SWITCHING_OVER;
	st.sw_target = 1;
	input(&in, &st, old);
	in.spec_primary = "us";
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert(out.requeue);
	ck_assert_str_eq(rec_str(&out, "state"), "InProgress");
	ck_assert(strstr(rec_str(&out, "message"), "fencing eu") != NULL);
	json_decref(out.record);

	json_object_set_new(old, "startedAt", json_string(LONG_AGO));
	in.may_propose = false; /* not twice within a second */
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "InProgress");
	json_decref(out.record);

	in.may_propose = true;
	baton_switchover_decide(&in, &out);
	ck_assert(out.propose);
	ck_assert_int_eq(out.cmd.type, BATON_CMD_SWITCHOVER_ABORT);
	ck_assert_uint_eq(out.cmd.epoch, 3);
	ck_assert_str_eq(rec_str(&out, "state"), "Refused");
	ck_assert_int_eq(out.n_events, 1);
	ck_assert_str_eq(out.events[0].reason, "SwitchoverAborted");
	json_decref(out.record);

	/* fenced already: the abort is no longer an option */
	st.phase = BATON_PHASE_FENCED;
	st.sw_final_position = 4242;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert(strstr(rec_str(&out, "message"), "fenced at position 4242") !=
		  NULL);
	json_decref(out.record);

	/* another target's switchover in progress */
	st.sw_target = 0;
	baton_switchover_decide(&in, &out);
	ck_assert_str_eq(rec_str(&out, "state"), "Pending");
	json_decref(out.record);
	json_decref(old);
}
END_TEST

START_TEST(the_switchover_completes_when_the_target_is_primary)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old =
	    json_pack("{s:s, s:s, s:s, s:s}", "target", "us", "specPrimary",
		      "us", "state", "InProgress", "startedAt", NOW);

	db_state(&st, 4);
	st.primary = 1;
	input(&in, &st, old);
	in.spec_primary = "us";
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert(!out.requeue);
	ck_assert_str_eq(rec_str(&out, "state"), "Completed");
	ck_assert_str_eq(rec_str(&out, "completedAt"), NOW);
	ck_assert_int_eq(out.n_events, 1);
	ck_assert_str_eq(out.events[0].reason, "SwitchoverCompleted");
	ck_assert_str_eq(out.events[0].message,
			 "us is the primary at epoch 4, as requested");
	json_decref(out.record);
	json_decref(old);
}
END_TEST

START_TEST(a_manual_database_with_a_lost_primary_is_promoted)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old = settled();

	db_state(&st, 5);
	st.cfg.automatic = false;
	st.cfg.synchronous = false;
	st.renew_seq = 77;
	input(&in, &st, old);
	in.request = "us";
	in.lease_expired = true;
	baton_switchover_decide(&in, &out);
	ck_assert(out.propose);
	ck_assert_int_eq(out.cmd.type, BATON_CMD_PROMOTE);
	ck_assert_uint_eq(out.cmd.epoch, 6);
	ck_assert_uint_eq(out.cmd.renew_seq, 77);
	ck_assert_int_eq(out.cmd.reason, BATON_REASON_MANUAL);
	ck_assert_str_eq(out.cmd.region, "us");
	json_decref(out.record);

	/* automatic: the lease is the decider's business, a switchover */
	st.cfg.automatic = true;
	baton_switchover_decide(&in, &out);
	ck_assert_int_eq(out.cmd.type, BATON_CMD_SWITCHOVER);
	json_decref(out.record);
	json_decref(old);
}
END_TEST

/* Synchronous, manual, the primary lost: the target's position and its
 * synchronous flag in the FSM predate the loss. us was the synchronous
 * standby but ap (a data region here) may hold acknowledged writes us does
 * not (ANY 1). First a round (LOST): every standby stops and reports where
 * its WAL ends; then us only if no standby holds more. On the old code the
 * first decision promoted us at once. */
START_TEST(a_synchronous_manual_promote_waits_for_final_positions)
{
	struct baton_db_state st;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	json_t *old = settled(), *rec;

	db_state(&st, 5);
	st.cfg.automatic = false;
	st.renew_seq = 77;
	st.regions[2].role = BATON_ROLE_DATA;
	st.regions[2].healthy = true;
	st.regions[1].report_epoch = st.regions[2].report_epoch = 5;
	st.regions[0].position = 9000; /* last heard, before the loss */
	st.regions[1].position = 9000;
	input(&in, &st, old);
	in.request = "us";
	in.lease_expired = true;

	/* 1. the round */
	baton_switchover_decide(&in, &out);
	ck_assert(out.propose);
	ck_assert_int_eq(out.cmd.type, BATON_CMD_LOST);
	ck_assert_str_eq(out.cmd.region, "eu");
	ck_assert_uint_eq(out.cmd.epoch, 5);
	ck_assert_uint_eq(out.cmd.renew_seq, 77);
	ck_assert_str_eq(rec_str(&out, "state"), "InProgress");
	rec = out.record;

	/* 2. committed; ap has not said where it stopped: wait */
	st.phase = BATON_PHASE_FAILING_OVER;
	st.round = 1;
	st.regions[1].final = true;
	st.regions[1].position = 9000;
	in.old = rec;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "InProgress");
	ck_assert_ptr_nonnull(strstr(rec_str(&out, "message"), "ap"));
	json_decref(out.record);

	/* 3. ap stopped further on: us would lose what only ap holds */
	st.regions[2].final = true;
	st.regions[2].position = 9400;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "Refused");
	ck_assert_int_eq(out.n_events, 1);
	ck_assert_str_eq(out.events[0].reason, "SwitchoverRefused");
	ck_assert_ptr_nonnull(strstr(out.events[0].message, "promote ap"));
	json_decref(out.record);

	/* 4. the most advanced one is promoted as asked */
	in.request = "ap";
	baton_switchover_decide(&in, &out);
	ck_assert(out.propose);
	ck_assert_int_eq(out.cmd.type, BATON_CMD_PROMOTE);
	ck_assert_str_eq(out.cmd.region, "ap");
	ck_assert_uint_eq(out.cmd.epoch, 6);
	ck_assert_uint_eq(out.cmd.renew_seq, 77);
	ck_assert_int_eq(out.cmd.reason, BATON_REASON_MANUAL);
	json_decref(out.record);

	/* ... and so is us when it holds as much */
	in.request = "us";
	st.regions[1].position = 9400;
	baton_switchover_decide(&in, &out);
	ck_assert(out.propose);
	ck_assert_int_eq(out.cmd.type, BATON_CMD_PROMOTE);
	ck_assert_str_eq(out.cmd.region, "us");
	json_decref(out.record);

	/* 5. a final position from another epoch is none: wait, then give
	 * up after the timeout */
	st.regions[1].report_epoch = 4;
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "InProgress");
	json_decref(out.record);
	in.now_s = NOW_S + 10 * BATON_SWITCHOVER_TIMEOUT_S;
	json_object_set_new(rec, "startedAt", json_string(NOW));
	baton_switchover_decide(&in, &out);
	ck_assert(!out.propose);
	ck_assert_str_eq(rec_str(&out, "state"), "Refused");
	json_decref(out.record);

	json_decref(rec);
	json_decref(old);
}
END_TEST

static Suite *switchover_suite(void)
{
	Suite *s = suite_create("batond_switchover");
	TCase *tc = tcase_create("decide");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, unregistered_keeps_the_old_record);
	tcase_add_test(tc, first_sight_records_the_initial_primary);
	tcase_add_test(tc, nothing_new_asks_for_nothing);
	tcase_add_test(tc, a_changed_spec_proposes_a_switchover_on_the_leader);
	tcase_add_test(tc, a_follower_waits_for_the_leader);
	tcase_add_test(tc, an_ineligible_target_is_waited_for_then_refused);
	tcase_add_test(tc, a_witness_or_unknown_region_is_refused);
	tcase_add_test(tc, a_switchover_that_does_not_fence_in_time_is_aborted);
	tcase_add_test(tc, the_switchover_completes_when_the_target_is_primary);
	tcase_add_test(tc, a_manual_database_with_a_lost_primary_is_promoted);
	tcase_add_test(tc,
		       a_synchronous_manual_promote_waits_for_final_positions);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(switchover_suite)
