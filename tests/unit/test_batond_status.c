/* Unit tests for operator/batond/dbspec and status: parsing a
 * DatabaseCluster, refusing what cannot work with a message, and the status
 * (phase, conditions, READY) batond writes. */
#include <string.h>

#include "batond/dbspec.h"
#include "batond/status.h"
#include "harness.h"

static json_t *dbc(const char *extra_spec)
{
	char text[2048];
	json_error_t err;
	json_t *o;
	snprintf(text, sizeof text,
		 "{\"metadata\":{\"name\":\"orders\",\"namespace\":\"shop\","
		 "\"uid\":\"u1\",\"generation\":4,\"finalizers\":[\"baton.dev/"
		 "teardown\"]},\"spec\":{\"regions\":[{\"name\":\"eu\","
		 "\"replicas\":2},{\"name\":\"us\"},{\"name\":\"ap\",\"role\":"
		 "\"witness\",\"replicas\":0}],\"primaryRegion\":\"eu\"%s}}",
		 extra_spec);
	o = json_loads(text, 0, &err);
	ck_assert_msg(o != NULL, "%s", err.text);
	return o;
}

START_TEST(parse_with_defaults)
{
	char errmsg[BATON_ERRMSG_SIZE];
	struct baton_dbspec s;
	json_t *o = dbc("");
	ck_assert_int_eq(baton_dbspec_parse(o, &s, errmsg), 0);
	ck_assert_str_eq(s.name, "orders");
	ck_assert_int_eq(s.generation, 4);
	ck_assert(s.has_finalizer);
	ck_assert(!s.deleting);
	ck_assert_int_eq(s.n_regions, 3);
	ck_assert_int_eq(s.regions[0].replicas, 2);
	ck_assert_int_eq(s.regions[2].role, BATON_DB_REGION_WITNESS);
	ck_assert_int_eq(baton_dbspec_data_regions(&s), 2);
	ck_assert(s.automatic);
	ck_assert_int_eq(s.lease_seconds, 2);
	ck_assert_str_eq(s.service, "orders-rw");
	ck_assert(s.retain_data);
	json_decref(o);
}
END_TEST

static const struct {
	const char *spec;
	const char *expect;
} bad[] = {
    {",\"primaryRegion\":\"mars\"", "not one of spec.regions"},
    {",\"primaryRegion\":\"ap\"", "witness"},
    {",\"engine\":\"mysql\"", "postgres only"},
    {",\"failover\":{\"leaseSeconds\":1,\"renewMillis\":900}",
     "twice renewMillis"},
};

START_TEST(unworkable_specs_say_why)
{
	char errmsg[BATON_ERRMSG_SIZE];
	struct baton_dbspec s;
	/* a later "primaryRegion" key replaces the first in jansson */
	json_t *o = dbc(bad[_i].spec);
	ck_assert_int_eq(baton_dbspec_parse(o, &s, errmsg), BATON_EINVALIDOBJ);
	ck_assert_msg(strstr(errmsg, bad[_i].expect) != NULL, "%s", errmsg);
	json_decref(o);
}
END_TEST

START_TEST(duplicate_regions_are_refused)
{
	char errmsg[BATON_ERRMSG_SIZE];
	struct baton_dbspec s;
	json_t *o = json_loads(
	    "{\"metadata\":{\"name\":\"x\"},\"spec\":{\"regions\":[{\"name\":"
	    "\"a\"},{\"name\":\"a\"}],\"primaryRegion\":\"a\"}}",
	    0, NULL);
	ck_assert_int_eq(baton_dbspec_parse(o, &s, errmsg), BATON_EINVALIDOBJ);
	ck_assert_ptr_nonnull(strstr(errmsg, "twice"));
	json_decref(o);
}
END_TEST

static const char *cond(json_t *st, const char *type, const char *field)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(st, "conditions"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "type")),
			   type) == 0) {
			return json_string_value(json_object_get(c, field));
		}
	}
	return NULL;
}

static const char *phase(json_t *st)
{
	return json_string_value(json_object_get(st, "phase"));
}

START_TEST(phases_follow_the_fsm_and_the_regions)
{
	char errmsg[BATON_ERRMSG_SIZE];
	struct baton_dbspec s;
	json_t *o = dbc("");
	struct baton_region_obs obs[3] = {
	    {"eu", true, 2, 2, 0, "primary", "2026-11-28T00:00:00Z", NULL, NULL,
	     NULL},
	    {"us", true, 1, 1, 100, "replica", NULL, NULL, NULL,
	     "198.18.0.140:5432"},
	    {"ap", true, 0, 0, -1, "witness", NULL, NULL, NULL, NULL},
	};
	struct baton_fsm_view fsm = {.quorum = true, .automatic = true};
	struct baton_status_input in = {.spec = &s,
					.generation = 4,
					.fsm = &fsm,
					.regions = obs,
					.n_regions = 3,
					.now = "2026-11-28T01:00:00Z"};
	json_t *st;

	ck_assert_int_eq(baton_dbspec_parse(o, &s, errmsg), 0);
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(phase(st), "Provisioning");
	ck_assert_str_eq(cond(st, "PrimaryElected", "reason"), "NotRegistered");
	json_decref(st);

	fsm.registered = true;
	fsm.primary_region = "eu";
	fsm.epoch = 5;
	fsm.phase = "Healthy";
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(phase(st), "Healthy");
	ck_assert_str_eq(json_string_value(json_object_get(st, "ready")),
			 "2/2");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "epoch")), 5);
	/* a replica region's designated instance is published whatever its
	 * role (standbys go there as soon as it is promoted), "endpoint"
	 * only while it serves as primary */
	{
		json_t *us = json_array_get(json_object_get(st, "regions"), 1);
		ck_assert_str_eq(
		    json_string_value(json_object_get(us, "instanceEndpoint")),
		    "198.18.0.140:5432");
		ck_assert_ptr_null(json_object_get(us, "endpoint"));
		ck_assert_ptr_null(json_object_get(
		    json_array_get(json_object_get(st, "regions"), 0),
		    "instanceEndpoint"));
	}
	ck_assert_str_eq(json_string_value(json_object_get(st, "failoverMode")),
			 "automatic");
	ck_assert_str_eq(cond(st, "Ready", "status"), "True");
	ck_assert_int_eq(
	    json_integer_value(json_object_get(st, "observedGeneration")), 4);

	/* us becomes unreachable: Degraded, Ready False, but the old
	 * Consensus condition keeps its transition time */
	obs[1].reachable = false;
	in.now = "2026-11-28T02:00:00Z";
	{
		json_t *st2 = baton_status_compute(&in, st);
		ck_assert_str_eq(phase(st2), "Degraded");
		ck_assert_str_eq(
		    json_string_value(json_object_get(st2, "ready")), "1/2");
		ck_assert_str_eq(cond(st2, "Ready", "status"), "False");
		ck_assert_str_eq(cond(st2, "Ready", "lastTransitionTime"),
				 "2026-11-28T02:00:00Z");
		ck_assert_str_eq(cond(st2, "Consensus", "lastTransitionTime"),
				 "2026-11-28T01:00:00Z");
		json_decref(st2);
	}
	json_decref(st);

	fsm.phase = "FailingOver";
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(phase(st), "FailingOver");
	json_decref(st);

	fsm.quorum = false;
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(cond(st, "Consensus", "reason"), "NoQuorum");
	json_decref(st);

	in.deleting = true;
	in.deleting_waiting_for = "waiting for region us (unreachable)";
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(phase(st), "Deleting");
	ck_assert_str_eq(cond(st, "Deleting", "message"),
			 "waiting for region us (unreachable)");
	json_decref(st);
	json_decref(o);
}
END_TEST

START_TEST(invalid_spec_is_pending_with_a_false_condition)
{
	struct baton_fsm_view fsm = {.quorum = true, .automatic = true};
	struct baton_status_input in = {
	    .spec = NULL,
	    .generation = 2,
	    .spec_error = "region eu-west has no configured batond peer",
	    .fsm = &fsm,
	    .now = "2026-11-28T01:00:00Z"};
	json_t *st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(phase(st), "Pending");
	ck_assert_str_eq(cond(st, "SpecValid", "status"), "False");
	ck_assert_str_eq(cond(st, "SpecValid", "message"),
			 "region eu-west has no configured batond peer");
	ck_assert_str_eq(json_string_value(json_object_get(st, "ready")),
			 "0/0");
	json_decref(st);
}
END_TEST

START_TEST(status_publishes_the_endpoint_and_switchover)
{
	struct baton_fsm_view fsm = {.registered = true,
				     .quorum = true,
				     .primary_region = "eu",
				     .epoch = 2,
				     .phase = "Healthy"};
	struct baton_region_obs obs[2] = {
	    {.name = "eu",
	     .reachable = true,
	     .ready = 1,
	     .replicas = 1,
	     .lag_bytes = -1,
	     .role = "primary",
	     .endpoint = "198.18.0.100:5432",
	     .sync_standbys = "orders-us-0,orders-ap-0"},
	    {.name = "us",
	     .reachable = true,
	     .ready = 1,
	     .replicas = 1,
	     .lag_bytes = -1,
	     .role = "replica"}};
	json_t *sw = json_pack("{s:s, s:i, s:s, s:s}", "target", "ap",
			       "generation", 5, "state", "Refused", "message",
			       "ap is not a data region of this database");
	struct baton_status_input in = {.generation = 5,
					.fsm = &fsm,
					.regions = obs,
					.n_regions = 2,
					.now = "2026-11-28T01:00:00Z",
					.switchover = sw};
	json_t *st = baton_status_compute(&in, NULL);
	json_t *eu = json_array_get(json_object_get(st, "regions"), 0);
	json_t *us = json_array_get(json_object_get(st, "regions"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(eu, "endpoint")),
			 "198.18.0.100:5432");
	ck_assert_int_eq(json_array_size(json_object_get(eu, "syncStandbys")),
			 2);
	ck_assert_str_eq(json_string_value(json_array_get(
			     json_object_get(eu, "syncStandbys"), 1)),
			 "orders-ap-0");
	ck_assert_ptr_null(json_object_get(us, "endpoint"));
	ck_assert_ptr_null(json_object_get(us, "syncStandbys"));
	ck_assert(json_equal(json_object_get(st, "switchover"), sw));
	ck_assert_str_eq(cond(st, "SwitchoverAccepted", "status"), "False");
	ck_assert_str_eq(cond(st, "SwitchoverAccepted", "reason"), "Refused");
	json_decref(st);
	json_decref(sw);
}
END_TEST

START_TEST(a_lost_primary_is_degraded_and_says_what_promotes)
{
	struct baton_fsm_view fsm = {.registered = true,
				     .quorum = true,
				     .primary_region = "eu",
				     .epoch = 2,
				     .phase = "Healthy",
				     .primary_lost = true,
				     .automatic = false};
	struct baton_region_obs obs[1] = {{.name = "us",
					   .reachable = true,
					   .ready = 1,
					   .replicas = 1,
					   .lag_bytes = -1,
					   .role = "replica"}};
	struct baton_status_input in = {.generation = 1,
					.fsm = &fsm,
					.regions = obs,
					.n_regions = 1,
					.now = "2026-11-28T01:00:00Z"};
	json_t *st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(st, "phase")),
			 "Degraded");
	ck_assert_str_eq(cond(st, "PrimaryAvailable", "status"), "False");
	ck_assert_str_eq(cond(st, "PrimaryAvailable", "reason"),
			 "LeaseExpired");
	ck_assert_ptr_nonnull(strstr(cond(st, "PrimaryAvailable", "message"),
				     "batonctl switchover"));
	/* the mode in force is the FSM's, whatever the spec says now */
	ck_assert_str_eq(json_string_value(json_object_get(st, "failoverMode")),
			 "manual");
	json_decref(st);

	fsm.primary_lost = false;
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(cond(st, "PrimaryAvailable", "status"), "True");
	ck_assert_str_eq(json_string_value(json_object_get(st, "phase")),
			 "Healthy");
	json_decref(st);
}
END_TEST

static const char *str(json_t *st, const char *key)
{
	return json_string_value(json_object_get(st, key));
}

/* status.phaseReason says why in one sentence, from the condition that
 * decided the phase; status.primaryFailingSince is when this region first
 * saw the primary's lease expired, and stays that time while it stays
 * expired. */
START_TEST(the_phase_says_why_and_since_when)
{
	struct baton_fsm_view fsm = {.registered = true,
				     .quorum = true,
				     .primary_region = "eu",
				     .epoch = 3,
				     .phase = "Healthy",
				     .automatic = true};
	struct baton_region_obs obs[3] = {
	    {.name = "eu",
	     .reachable = true,
	     .ready = 1,
	     .replicas = 1,
	     .lag_bytes = -1,
	     .role = "primary"},
	    {.name = "us",
	     .reachable = true,
	     .ready = 1,
	     .replicas = 1,
	     .lag_bytes = -1,
	     .role = "replica"},
	    {.name = "ap",
	     .reachable = true,
	     .ready = 1,
	     .replicas = 1,
	     .lag_bytes = -1,
	     .role = "replica"},
	};
	struct baton_status_input in = {.generation = 1,
					.fsm = &fsm,
					.regions = obs,
					.n_regions = 3,
					.now = "2026-11-28T01:00:00Z"};
	json_t *st, *st2;

	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(str(st, "phase"), "Healthy");
	ck_assert_str_eq(str(st, "phaseReason"),
			 "the primary is in eu at epoch 3; 3 of 3 data "
			 "regions ready");
	ck_assert_ptr_null(json_object_get(st, "primaryFailingSince"));
	json_decref(st);

	/* which regions are not ready, and why when it is known */
	obs[1].reachable = false;
	obs[2].ready = 0;
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(str(st, "phase"), "Degraded");
	ck_assert_str_eq(str(st, "phaseReason"),
			 "1 of 3 data regions ready; not ready: us "
			 "(unreachable), ap");
	json_decref(st);
	obs[1].reachable = true;
	obs[2].ready = 1;

	/* the primary's lease expires at 01:00; still expired at 01:05:
	 * the same primaryFailingSince */
	fsm.primary_lost = true;
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(str(st, "phase"), "Degraded");
	ck_assert_ptr_nonnull(
	    strstr(str(st, "phaseReason"), "the lease of the primary in eu"));
	ck_assert_str_eq(str(st, "primaryFailingSince"),
			 "2026-11-28T01:00:00Z");
	in.now = "2026-11-28T01:05:00Z";
	st2 = baton_status_compute(&in, st);
	ck_assert_str_eq(str(st2, "primaryFailingSince"),
			 "2026-11-28T01:00:00Z");
	json_decref(st);
	st = st2;

	/* blocked: the reason names what blocks it */
	fsm.blocked = "NoCandidate";
	st2 = baton_status_compute(&in, st);
	ck_assert_ptr_nonnull(
	    strstr(str(st2, "phaseReason"), "no region can take over"));
	json_decref(st2);
	fsm.blocked = NULL;

	/* failing over */
	fsm.phase = "FailingOver";
	st2 = baton_status_compute(&in, st);
	ck_assert_str_eq(str(st2, "phase"), "FailingOver");
	ck_assert_str_eq(str(st2, "phaseReason"),
			 "the primary in eu lost its lease: promoting another "
			 "region");
	json_decref(st2);

	/* the new primary holds its lease: no primaryFailingSince */
	fsm.phase = "Healthy";
	fsm.primary_lost = false;
	fsm.primary_region = "us";
	fsm.epoch = 4;
	in.now = "2026-11-28T01:06:00Z";
	st2 = baton_status_compute(&in, st);
	ck_assert_str_eq(str(st2, "phase"), "Healthy");
	ck_assert_ptr_null(json_object_get(st2, "primaryFailingSince"));
	json_decref(st2);
	json_decref(st);

	/* no quorum while provisioning: the Consensus condition says so */
	fsm.registered = false;
	fsm.quorum = false;
	st = baton_status_compute(&in, NULL);
	ck_assert_str_eq(str(st, "phase"), "Provisioning");
	ck_assert_ptr_nonnull(
	    strstr(str(st, "phaseReason"), "cannot reach a Raft majority"));
	json_decref(st);
}
END_TEST

static json_t *record(int epoch, const char *to)
{
	return json_pack("{s:i, s:s, s:s}", "epoch", epoch, "to", to, "reason",
			 "lease-expired");
}

/* status.history: each promotion's record joins the front once the next
 * one replaces it as lastFailover; nothing else enters it; at most
 * BATON_STATUS_HISTORY, the oldest dropped. */
START_TEST(history_keeps_the_promotions_before_the_last)
{
	json_t *old = json_object(), *st;

	/* no lastFailover before: nothing to keep */
	st = json_pack("{s:o}", "lastFailover", record(2, "us"));
	baton_status_history(st, old);
	ck_assert_ptr_null(json_object_get(st, "history"));
	json_decref(old);
	old = st;

	/* the same promotion again (its record gained steps): no entry */
	st = json_pack("{s:o}", "lastFailover", record(2, "us"));
	json_object_set_new(json_object_get(st, "lastFailover"), "completedAt",
			    json_string("2026-11-28T01:00:03Z"));
	baton_status_history(st, old);
	ck_assert_ptr_null(json_object_get(st, "history"));
	json_decref(old);
	old = st;

	/* the next promotion: the previous record, as last written, joins */
	st = json_pack("{s:o}", "lastFailover", record(3, "ap"));
	baton_status_history(st, old);
	ck_assert_int_eq(json_array_size(json_object_get(st, "history")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(st, "history"), 0),
			     "completedAt")),
			 "2026-11-28T01:00:03Z");
	json_decref(old);
	old = st;

	/* a status without lastFailover (an invalid spec) keeps the history
	 * and adds nothing */
	st = json_object();
	baton_status_history(st, old);
	ck_assert_int_eq(json_array_size(json_object_get(st, "history")), 1);
	json_decref(st);

	/* bounded, newest first */
	for (int e = 4; e < 4 + 2 * BATON_STATUS_HISTORY; e++) {
		st = json_pack("{s:o}", "lastFailover", record(e, "eu"));
		baton_status_history(st, old);
		json_decref(old);
		old = st;
	}
	ck_assert_int_eq(json_array_size(json_object_get(old, "history")),
			 BATON_STATUS_HISTORY);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(old, "history"), 0), "epoch")),
	    2 + 2 * BATON_STATUS_HISTORY);
	json_decref(old);
}
END_TEST

static Suite *status_suite(void)
{
	Suite *s = suite_create("batond-status");
	TCase *tc = tcase_create("status");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, parse_with_defaults);
	tcase_add_loop_test(tc, unworkable_specs_say_why, 0,
			    sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, duplicate_regions_are_refused);
	tcase_add_test(tc, phases_follow_the_fsm_and_the_regions);
	tcase_add_test(tc, invalid_spec_is_pending_with_a_false_condition);
	tcase_add_test(tc, status_publishes_the_endpoint_and_switchover);
	tcase_add_test(tc, a_lost_primary_is_degraded_and_says_what_promotes);
	tcase_add_test(tc, the_phase_says_why_and_since_when);
	tcase_add_test(tc, history_keeps_the_promotions_before_the_last);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(status_suite)
