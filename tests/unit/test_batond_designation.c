/* Unit tests for operator/batond/designation: the pure filler that turns
 * batond's view (pod objects, agent statuses, the primary's standbys
 * answer) into consensus/designate.h's input (docs/design-per-instance.md
 * §3.3, §3.7; §9 notes 25, 35-).
 *
 * What must hold: each pod row (deleted, no object, Failed, Ready=Unknown)
 * with the since-time the API gives, converted to the driver's clock and
 * clamped, or the first look when it gives none, kept across calls and
 * forgotten once the row no longer holds; Ready; ordinals beyond the
 * StatefulSet's replicas do not exist; a hold from the annotation; the
 * agent row from the last status, with "never read" distinct from old;
 * upstream and lag against the primary; on the primary region, its answer
 * and each standby row mapped from application_name to (FSM region,
 * ordinal), whatever the case, names of no standby region's pod ignored,
 * a non-member's row kept (the module judges membership). */
#include <string.h>

#include "batond/agents.h"
#include "batond/dbspec.h"
#include "batond/designation.h"
#include "common/labels.h"
#include "harness.h"
#include "kube/informer.h"

/* 2026-12-06T12:00:00Z on the wall clock is NOW on the driver's */
#define WALL_NOON_MS (1796558400LL * 1000)
#define NOW 10000000ull

static struct baton_db_state st;
static struct baton_designation_view v;
static struct baton_designation_memory mem;
static struct baton_designate_input in;
static json_t *objs[8];
static int n_objs;

/* Cluster "orders": eu (primary, 0), us (1), us-east (2), ap (witness,
 * 3), at epoch 3; the primary reported POSITION 5000. "us" and "us-east"
 * share a prefix: "orders-us-east-0" names us-east's pod, not us's. */
static void setup(void)
{
	memset(&st, 0, sizeof st);
	snprintf(st.name, sizeof st.name, "shop/orders");
	st.n_regions = 4;
	snprintf(st.regions[0].name, sizeof st.regions[0].name, "eu");
	snprintf(st.regions[1].name, sizeof st.regions[1].name, "us");
	snprintf(st.regions[2].name, sizeof st.regions[2].name, "us-east");
	snprintf(st.regions[3].name, sizeof st.regions[3].name, "ap");
	st.regions[3].role = BATON_ROLE_WITNESS;
	for (int i = 0; i < 4; i++) {
		st.regions[i].members = BATON_ORDINAL_BIT(0);
		st.regions[i].listed = BATON_ORDINAL_BIT(0);
		st.regions[i].spare.ordinal = BATON_ORDINAL_NONE;
	}
	st.regions[0].position = 5000;
	st.primary = 0;
	st.epoch = 3;
	st.phase = BATON_PHASE_HEALTHY;
	st.sw_target = -1;

	memset(&v, 0, sizeof v);
	v.replicas = 2;
	v.redesignate_after_ms = 30000;
	v.max_lag_bytes = 4096;
	v.primary_instance = "10.0.0.1:5432";
	v.primary_endpoint = "10.0.0.9:5432";
	v.now = NOW;
	v.now_wall_ms = WALL_NOON_MS;
	memset(&mem, 0, sizeof mem);
	memset(&in, 0, sizeof in);
	in.st = &st;
	in.me = 1; /* us, a standby region */
	in.applied = 77;
	n_objs = 0;
}

static void teardown(void)
{
	for (int i = 0; i < n_objs; i++) {
		json_decref(objs[i]);
	}
}

/* A JSON object kept until teardown. */
static json_t *obj(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);

	ck_assert_msg(o != NULL, "%s: %s", text, e.text);
	ck_assert_int_lt(n_objs, 8);
	objs[n_objs++] = o;
	return o;
}

/* Runs the filler at NOW + DT (both clocks move together). */
static void fill_at(uint64_t dt)
{
	v.now = NOW + dt;
	v.now_wall_ms = WALL_NOON_MS + (int64_t)dt;
	baton_designation_fill(&v, &mem, &in);
}

/* The spec's two fields go through as they are. */
START_TEST(the_spec_s_fields_go_through)
{
	fill_at(0);
	ck_assert_uint_eq(in.redesignate_after_ms, 30000);
	ck_assert_uint_eq(in.max_lag_bytes, 4096);
	ck_assert_uint_eq(in.applied, 77);
	ck_assert_ptr_eq(in.st, &st);
}
END_TEST

/* Ordinals below the StatefulSet's replicas exist; none above. A pod with
 * no object at all is gone from the first look that saw none, and stays
 * so dated; once it has an object again the memory is dropped, so a later
 * absence counts from its own first look. */
START_TEST(a_pod_without_an_object_is_gone_from_the_first_look)
{
	fill_at(0);
	ck_assert(in.pods[0].exists && in.pods[1].exists);
	ck_assert(!in.pods[2].exists);
	ck_assert(in.pods[0].gone);
	ck_assert_uint_eq(in.pods[0].gone_since_ms, NOW);
	fill_at(4000);
	ck_assert(in.pods[0].gone);
	ck_assert_uint_eq(in.pods[0].gone_since_ms, NOW);

	v.pods[0].pod = obj("{\"metadata\": {\"name\": \"orders-us-0\"},"
			    " \"status\": {\"phase\": \"Running\"}}");
	fill_at(5000);
	ck_assert(!in.pods[0].gone);
	v.pods[0].pod = NULL;
	fill_at(9000);
	ck_assert(in.pods[0].gone);
	ck_assert_uint_eq(in.pods[0].gone_since_ms, NOW + 9000);

	/* a term as the primary region in between: the first looks start
	 * again (the pod may have come and gone meanwhile) */
	st.primary = 1;
	fill_at(10000);
	st.primary = 0;
	fill_at(12000);
	ck_assert(in.pods[0].gone);
	ck_assert_uint_eq(in.pods[0].gone_since_ms, NOW + 12000);
}
END_TEST

/* A deleted pod is gone since the deletion was asked: deletionTimestamp
 * less the grace period (deleted at 11:59:50, 10 s before NOW). Without a
 * grace period the timestamp itself; unparsable, the first look. */
START_TEST(a_deleted_pod_is_gone_since_its_deletion_was_asked)
{
	v.pods[0].pod = obj("{\"metadata\": {\"name\": \"orders-us-0\","
			    " \"deletionTimestamp\": \"2026-12-06T12:00:20Z\","
			    " \"deletionGracePeriodSeconds\": 30}}");
	v.pods[1].pod =
	    obj("{\"metadata\": {\"name\": \"orders-us-1\","
		" \"deletionTimestamp\": \"2026-12-06T11:59:58Z\"}}");
	fill_at(0);
	ck_assert(in.pods[0].gone);
	ck_assert_uint_eq(in.pods[0].gone_since_ms, NOW - 10000);
	ck_assert(in.pods[1].gone);
	ck_assert_uint_eq(in.pods[1].gone_since_ms, NOW - 2000);

	v.pods[1].pod = obj("{\"metadata\": {\"name\": \"orders-us-1\","
			    " \"deletionTimestamp\": \"yesterday\"}}");
	fill_at(1000);
	ck_assert(in.pods[1].gone);
	ck_assert_uint_eq(in.pods[1].gone_since_ms, NOW + 1000);
	fill_at(3000);
	ck_assert_uint_eq(in.pods[1].gone_since_ms, NOW + 1000);
}
END_TEST

/* Phase Failed has no time of its own: since the first look that saw it,
 * kept while it holds, forgotten when it no longer does. */
START_TEST(a_failed_pod_counts_from_the_first_look)
{
	json_t *failed = obj("{\"metadata\": {\"name\": \"orders-us-0\"},"
			     " \"status\": {\"phase\": \"Failed\"}}");
	v.pods[0].pod = failed;
	fill_at(0);
	ck_assert(in.pods[0].failed);
	ck_assert(!in.pods[0].gone && !in.pods[0].ready_unknown);
	ck_assert_uint_eq(in.pods[0].failed_since_ms, NOW);
	fill_at(7000);
	ck_assert_uint_eq(in.pods[0].failed_since_ms, NOW);

	v.pods[0].pod = obj("{\"metadata\": {\"name\": \"orders-us-0\"},"
			    " \"status\": {\"phase\": \"Running\"}}");
	fill_at(8000);
	ck_assert(!in.pods[0].failed);
	v.pods[0].pod = failed;
	fill_at(9000);
	ck_assert_uint_eq(in.pods[0].failed_since_ms, NOW + 9000);
}
END_TEST

/* Ready=Unknown (the node lost) counts from the condition's
 * lastTransitionTime; a time ahead of the wall clock is now (a skewed
 * clock only delays), one older than the driver's clock is 0, a missing
 * one the first look. Ready=True is ready, and nothing else is. */
START_TEST(ready_unknown_counts_from_the_condition_s_time_clamped)
{
	v.pods[0].pod =
	    obj("{\"metadata\": {\"name\": \"orders-us-0\"}, \"status\": "
		"{\"phase\": \"Running\", \"conditions\": [{\"type\": "
		"\"Ready\", \"status\": \"Unknown\", \"lastTransitionTime\": "
		"\"2026-12-06T11:59:45Z\"}]}}");
	v.pods[1].pod =
	    obj("{\"metadata\": {\"name\": \"orders-us-1\"}, \"status\": "
		"{\"phase\": \"Running\", \"conditions\": [{\"type\": "
		"\"Ready\", \"status\": \"True\", \"lastTransitionTime\": "
		"\"2026-12-06T11:00:00Z\"}]}}");
	fill_at(0);
	ck_assert(in.pods[0].ready_unknown);
	ck_assert(!in.pods[0].ready);
	ck_assert_uint_eq(in.pods[0].unknown_since_ms, NOW - 15000);
	ck_assert(in.pods[1].ready);
	ck_assert(!in.pods[1].ready_unknown);

	/* ahead of the wall clock: now */
	v.pods[0].pod =
	    obj("{\"metadata\": {\"name\": \"orders-us-0\"}, \"status\": "
		"{\"conditions\": [{\"type\": \"Ready\", \"status\": "
		"\"Unknown\", \"lastTransitionTime\": "
		"\"2026-12-06T12:05:00Z\"}]}}");
	fill_at(0);
	ck_assert_uint_eq(in.pods[0].unknown_since_ms, NOW);
	/* further back than the driver's clock goes: 0 */
	v.pods[0].pod =
	    obj("{\"metadata\": {\"name\": \"orders-us-0\"}, \"status\": "
		"{\"conditions\": [{\"type\": \"Ready\", \"status\": "
		"\"Unknown\", \"lastTransitionTime\": "
		"\"2026-11-06T12:00:00Z\"}]}}");
	fill_at(0);
	ck_assert_uint_eq(in.pods[0].unknown_since_ms, 0);
	/* no time: the first look */
	v.pods[0].pod =
	    obj("{\"metadata\": {\"name\": \"orders-us-0\"}, \"status\": "
		"{\"conditions\": [{\"type\": \"Ready\", \"status\": "
		"\"Unknown\"}]}}");
	fill_at(2000);
	ck_assert_uint_eq(in.pods[0].unknown_since_ms, NOW + 2000);
	fill_at(6000);
	ck_assert_uint_eq(in.pods[0].unknown_since_ms, NOW + 2000);
}
END_TEST

/* The forensic hold is read from the pod's annotation (hold.h). */
START_TEST(a_held_pod_is_held)
{
	v.pods[0].pod =
	    obj("{\"metadata\": {\"name\": \"orders-us-0\", \"annotations\": "
		"{\"" BATON_ANNOTATION_HOLD "\": \"looking\"}}}");
	v.pods[1].pod = obj("{\"metadata\": {\"name\": \"orders-us-1\"}}");
	fill_at(0);
	ck_assert(in.pods[0].held);
	ck_assert(!in.pods[1].held);
}
END_TEST

/* The agent row: age from when the status was read; serving, the epoch it
 * follows, upstream = the primary's instance (or its published endpoint,
 * the same pod), lag behind the primary region's reported position. A
 * status never read is NO_STATUS, not merely old, and serves nothing. */
START_TEST(the_agent_row_comes_from_the_last_status)
{
	v.pods[0].pod = obj("{\"metadata\": {\"name\": \"orders-us-0\"}}");
	v.pods[0].status = obj(
	    "{\"initialized\": true, \"role\": \"replica\", \"ready\": true,"
	    " \"running\": true, \"health\": \"ok\", \"epoch\": 3,"
	    " \"upstream\": \"10.0.0.1:5432\", \"position\": 4000}");
	v.pods[0].status_ms = NOW - 1200;
	v.pods[1].pod = obj("{\"metadata\": {\"name\": \"orders-us-1\"}}");
	v.pods[1].status = obj(
	    "{\"initialized\": true, \"role\": \"replica\", \"ready\": true,"
	    " \"health\": \"failed\", \"epoch\": 2, \"upstream\": "
	    "\"10.0.0.7:5432\", \"position\": 6000}");
	v.pods[1].status_ms = NOW - 9000;
	fill_at(0);
	ck_assert_uint_eq(in.pods[0].status_age_ms, 1200);
	ck_assert(in.pods[0].serving);
	ck_assert_uint_eq(in.pods[0].follows_epoch, 3);
	ck_assert(in.pods[0].upstream_primary);
	ck_assert_uint_eq(in.pods[0].lag_bytes, 1000);
	ck_assert_uint_eq(in.pods[1].status_age_ms, 9000);
	ck_assert(!in.pods[1].serving);
	ck_assert_uint_eq(in.pods[1].follows_epoch, 2);
	ck_assert(!in.pods[1].upstream_primary);
	ck_assert_uint_eq(in.pods[1].lag_bytes, 0); /* ahead: no lag */

	/* the published endpoint names the primary too; a primary's own
	 * status is no replica streaming from it */
	v.pods[1].status = obj("{\"role\": \"replica\", \"upstream\": "
			       "\"10.0.0.9:5432\"}");
	v.pods[0].status = obj("{\"role\": \"primary\", \"upstream\": "
			       "\"10.0.0.1:5432\"}");
	fill_at(0);
	ck_assert(in.pods[1].upstream_primary);
	ck_assert(!in.pods[0].upstream_primary);

	v.pods[0].status = NULL;
	fill_at(0);
	ck_assert_uint_eq(in.pods[0].status_age_ms, BATON_DESIGNATE_NO_STATUS);
	ck_assert(!in.pods[0].serving);
}
END_TEST

/* The primary region: its answer as it is, and its status's standby rows
 * by (FSM region, ordinal): a walsender in standbys, quorum in
 * syncStandbys, flush from standbyFlushPositions; case does not matter;
 * us-east's pod is not us's; the primary region's own sibling, the
 * witness, another cluster's pod and no pod at all are ignored; a
 * non-member (us-1, not in M) keeps its row. No pod rows. */
START_TEST(the_primary_s_rows_map_names_to_regions_and_ordinals)
{
	in.me = 0;
	v.primary.status =
	    obj("{\"role\": \"primary\", \"primaryEpoch\": 3, \"standbys\": "
		"[\"orders-us-0\", \"ORDERS-US-EAST-0\", \"orders-eu-1\"],"
		" \"syncStandbys\": [\"orders-us-1\"],"
		" \"standbyFlushPositions\": {\"orders-us-0\": 4100,"
		" \"orders-us-1\": 4500, \"Orders-Us-East-0\": 4200,"
		" \"orders-eu-1\": 1, \"orders-ap-0\": 2, \"billing-us-0\": 3,"
		" \"psql\": 4, \"orders-us-99\": 5}}");
	v.primary.status_ms = NOW - 300;
	v.primary.answer = true;
	v.primary.answer_epoch = 3;
	v.primary.answer_gen = 70;
	v.primary.answer_x = 4050;
	v.primary.answer_ms = NOW - 400;
	v.pods[0].pod = obj("{\"metadata\": {\"name\": \"orders-eu-0\"}}");
	fill_at(0);

	ck_assert(in.primary.answer);
	ck_assert_uint_eq(in.primary.answer_epoch, 3);
	ck_assert_uint_eq(in.primary.answer_gen, 70);
	ck_assert_uint_eq(in.primary.answer_x, 4050);
	ck_assert_uint_eq(in.primary.answer_ms, NOW - 400);
	ck_assert(in.primary.status);
	ck_assert_uint_eq(in.primary.status_epoch, 3);
	ck_assert_uint_eq(in.primary.status_ms, NOW - 300);

	ck_assert(in.primary.standby[1][0].walsender);
	ck_assert(!in.primary.standby[1][0].quorum);
	ck_assert_uint_eq(in.primary.standby[1][0].flush, 4100);
	ck_assert(in.primary.standby[1][1].walsender);
	ck_assert(in.primary.standby[1][1].quorum);
	ck_assert_uint_eq(in.primary.standby[1][1].flush, 4500);
	ck_assert(in.primary.standby[2][0].walsender);
	ck_assert(!in.primary.standby[2][0].quorum);
	ck_assert_uint_eq(in.primary.standby[2][0].flush, 4200);
	/* nothing else anywhere */
	for (int i = 0; i < BATON_MAX_REGIONS; i++) {
		for (int k = 0; k < BATON_ORDINALS; k++) {
			const struct baton_designate_standby *sb =
			    &in.primary.standby[i][k];
			if ((i == 1 && k <= 1) || (i == 2 && k == 0)) {
				continue;
			}
			ck_assert_msg(!sb->walsender && !sb->quorum &&
					  sb->flush == 0,
				      "row [%d][%d] set", i, k);
		}
	}
	/* the primary region has no pod rows */
	ck_assert(!in.pods[0].exists && !in.pods[0].gone);
}
END_TEST

/* A status that is not a primary's (a replica, or no primaryEpoch) gives
 * no status and no rows; the answer still goes through. */
START_TEST(a_status_that_is_not_a_primary_s_gives_no_rows)
{
	in.me = 0;
	v.primary.status = obj("{\"role\": \"replica\", \"primaryEpoch\": 3,"
			       " \"standbys\": [\"orders-us-0\"]}");
	v.primary.answer = true;
	v.primary.answer_gen = 5;
	fill_at(0);
	ck_assert(!in.primary.status);
	ck_assert(!in.primary.standby[1][0].walsender);
	ck_assert(in.primary.answer);
	ck_assert_uint_eq(in.primary.answer_gen, 5);

	v.primary.status = obj("{\"role\": \"primary\", \"standbys\": "
			       "[\"orders-us-0\"]}");
	fill_at(0);
	ck_assert(!in.primary.status);
	ck_assert(!in.primary.standby[1][0].walsender);
}
END_TEST

/* A region that holds no data (the witness) gets no rows at all, though
 * the view has pods; a standby region gets no primary rows. */
START_TEST(a_witness_gets_no_rows)
{
	v.pods[0].pod = obj("{\"metadata\": {\"name\": \"orders-ap-0\"}}");
	v.primary.status = obj("{\"role\": \"primary\", \"primaryEpoch\": 3,"
			       " \"standbys\": [\"orders-us-0\"]}");
	in.me = 3;
	fill_at(0);
	ck_assert(!in.pods[0].exists && !in.pods[0].gone);
	ck_assert(!in.primary.status);
	in.me = 1;
	fill_at(0);
	ck_assert(in.pods[0].exists);
	ck_assert(!in.primary.status);
	ck_assert(!in.primary.standby[1][0].walsender);
}
END_TEST

/* spec.failover.redesignateAfterSeconds (batond/dbspec.c): the CRD's
 * default 30 when absent (or null), 0 ("never") to 3600 as given; out of
 * range or not an integer is refused with a message naming the field. */
START_TEST(redesignate_after_seconds_defaults_and_bounds)
{
	static const struct {
		const char *failover; /* the failover mapping's extra field */
		int want;	      /* -1: refused */
	} cases[] = {
	    {"", 30},
	    {", \"redesignateAfterSeconds\": null", 30},
	    {", \"redesignateAfterSeconds\": 0", 0},
	    {", \"redesignateAfterSeconds\": 45", 45},
	    {", \"redesignateAfterSeconds\": 3600", 3600},
	    {", \"redesignateAfterSeconds\": 3601", -1},
	    {", \"redesignateAfterSeconds\": -1", -1},
	    {", \"redesignateAfterSeconds\": \"30\"", -1},
	    {", \"redesignateAfterSeconds\": 2.5", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[1024], errmsg[BATON_ERRMSG_SIZE] = "";
		struct baton_dbspec spec;
		json_t *o;
		int rv;

		snprintf(text, sizeof text,
			 "{\"metadata\": {\"name\": \"orders\", "
			 "\"namespace\": \"shop\"}, \"spec\": {\"regions\": "
			 "[{\"name\": \"eu\"}, {\"name\": \"us\"}], "
			 "\"primaryRegion\": \"eu\", \"failover\": "
			 "{\"synchronous\": true%s}}}",
			 cases[i].failover);
		o = obj(text);
		rv = baton_dbspec_parse(o, &spec, errmsg);
		if (cases[i].want < 0) {
			ck_assert_msg(rv == BATON_EINVALIDOBJ, "%s accepted",
				      cases[i].failover);
			ck_assert_msg(strstr(errmsg, "spec.failover."
						     "redesignateAfterSeconds "
						     "must be an integer from "
						     "0") != NULL,
				      "%s: %s", cases[i].failover, errmsg);
		} else {
			ck_assert_msg(rv == 0, "%s: %s", cases[i].failover,
				      errmsg);
			ck_assert_int_eq(spec.redesignate_after_seconds,
					 cases[i].want);
		}
		json_decref(objs[--n_objs]);
	}
}
END_TEST

/* ---- the glue, on a real agent driver -------------------------------- */

struct life {
	uv_loop_t loop;
	uv_timer_t timer;
	bool stopped;
};

static void life_timer_cb(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void life_run_ms(struct life *l, uint64_t ms)
{
	uv_timer_start(&l->timer, life_timer_cb, ms, 0);
	uv_run(&l->loop, UV_RUN_DEFAULT);
}

static void life_stopped_cb(struct baton_agents *a)
{
	((struct life *)a->data)->stopped = true;
}

static json_t *cluster_obj(int generation, int after_s)
{
	char text[800];

	snprintf(text, sizeof text,
		 "{\"metadata\": {\"name\": \"orders\", \"namespace\": "
		 "\"shop\", \"uid\": \"u1\", \"generation\": %d}, "
		 "\"spec\": {\"regions\": [{\"name\": \"eu\"}, "
		 "{\"name\": \"us\", \"replicas\": 2}, {\"name\": "
		 "\"us-east\"}, {\"name\": \"ap\", \"role\": \"witness\", "
		 "\"replicas\": 0}], \"primaryRegion\": \"eu\", "
		 "\"failover\": {\"maxLagBytes\": 1000, "
		 "\"redesignateAfterSeconds\": %d}}}",
		 generation, after_s);
	return json_loads(text, 0, NULL);
}

/* The glue finds this region's pods in the informer by the naming rule,
 * reads the spec's replicas (this region's), redesignateAfterSeconds and
 * maxLagBytes, again when the object's generation changes, and says
 * nothing without the object or the agent driver. Kwok-like pods: no
 * agent answers, so no status. Fails on a glue that builds other keys,
 * reads another region's replicas or keeps a stale spec. */
/* The peer callbacks get the env's peer_data (batond's are the peer
 * watches, batond/agentpeers.c), never its data: the lab found the
 * designation reading the controller as a peer watch (no instance could
 * take over, ever). */
static int peer_marker, env_marker, peer_calls;

static const char *marked_peer(void *data, const char *ns, const char *name,
			       const char *region)
{
	ck_assert_ptr_eq(data, &peer_marker);
	ck_assert_str_eq(region, "eu");
	peer_calls++;
	return "10.0.0.1:5432";
}

START_TEST(the_glue_reads_the_informers_and_the_spec)
{
	struct life l;
	struct baton_kube_informer pods, dbcs;
	struct baton_agents_env env;
	struct baton_agents agents, *a = &agents;
	struct baton_designation d;
	struct baton_agents_seen seen;

	memset(&l, 0, sizeof l);
	uv_loop_init(&l.loop);
	uv_timer_init(&l.loop, &l.timer);
	memset(&pods, 0, sizeof pods);
	pods.cache = json_object();
	json_object_set_new(
	    pods.cache, "shop/orders-us-0",
	    json_pack("{s:{s:s, s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:s}]}}",
		      "metadata", "name", "orders-us-0", "namespace", "shop",
		      "labels", "baton.dev/cluster", "orders", "status",
		      "phase", "Running", "conditions", "type", "Ready",
		      "status", "True"));
	memset(&dbcs, 0, sizeof dbcs);
	dbcs.cache = json_object();
	json_object_set_new(dbcs.cache, "shop/orders", cluster_obj(1, 45));
	memset(&env, 0, sizeof env);
	env.region = "us";
	env.pods = &pods;
	env.dbcs = &dbcs;
	env.data = &env_marker;
	env.peer_data = &peer_marker;
	env.peer_endpoint = marked_peer;
	env.peer_instance_endpoint = marked_peer;
	peer_calls = 0;
	a->data = &l;
	ck_assert_int_eq(baton_agents_init(&l.loop, a, &env), 0);
	life_run_ms(&l, 100);
	baton_designation_init(&d);

	ck_assert(
	    !baton_designation_designate(&d, NULL, "shop/orders", &in, NOW));
	ck_assert(baton_designation_designate(&d, a, "shop/orders", &in, NOW));
	ck_assert_int_eq(peer_calls, 2); /* the primary's two addresses */
	ck_assert_uint_eq(in.redesignate_after_ms, 45000);
	ck_assert_uint_eq(in.max_lag_bytes, 1000);
	ck_assert(in.pods[0].exists && !in.pods[0].gone && in.pods[0].ready);
	ck_assert_uint_eq(in.pods[0].status_age_ms, BATON_DESIGNATE_NO_STATUS);
	ck_assert(in.pods[1].exists && in.pods[1].gone);
	ck_assert(!in.pods[2].exists);
	ck_assert(baton_agents_seen(a, "shop/orders-us-0", &seen));
	ck_assert_ptr_null(seen.status);

	/* a new generation is read again */
	json_object_set_new(dbcs.cache, "shop/orders", cluster_obj(2, 0));
	ck_assert(
	    baton_designation_designate(&d, a, "shop/orders", &in, NOW + 1));
	ck_assert_uint_eq(in.redesignate_after_ms, 0);
	/* no object: nothing known */
	json_object_del(dbcs.cache, "shop/orders");
	ck_assert(
	    !baton_designation_designate(&d, a, "shop/orders", &in, NOW + 2));

	/* closing: nothing known (its pods and informers are going) */
	json_object_set_new(dbcs.cache, "shop/orders", cluster_obj(3, 45));
	ck_assert(
	    baton_designation_designate(&d, a, "shop/orders", &in, NOW + 3));
	baton_agents_close(a, life_stopped_cb);
	ck_assert(
	    !baton_designation_designate(&d, a, "shop/orders", &in, NOW + 4));
	ck_assert(!baton_agents_seen(a, "shop/orders-us-0", &seen));
	baton_designation_free(&d);
	while (!l.stopped) {
		uv_run(&l.loop, UV_RUN_ONCE);
	}
	uv_close((uv_handle_t *)&l.timer, NULL);
	uv_run(&l.loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&l.loop), 0);
	json_decref(pods.cache);
	json_decref(dbcs.cache);
}
END_TEST

static Suite *designation_suite(void)
{
	Suite *s = suite_create("batond_designation");
	TCase *tc = tcase_create("fill");
	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_spec_s_fields_go_through);
	tcase_add_test(tc, a_pod_without_an_object_is_gone_from_the_first_look);
	tcase_add_test(tc, a_deleted_pod_is_gone_since_its_deletion_was_asked);
	tcase_add_test(tc, a_failed_pod_counts_from_the_first_look);
	tcase_add_test(tc,
		       ready_unknown_counts_from_the_condition_s_time_clamped);
	tcase_add_test(tc, a_held_pod_is_held);
	tcase_add_test(tc, the_agent_row_comes_from_the_last_status);
	tcase_add_test(tc,
		       the_primary_s_rows_map_names_to_regions_and_ordinals);
	tcase_add_test(tc, a_status_that_is_not_a_primary_s_gives_no_rows);
	tcase_add_test(tc, a_witness_gets_no_rows);
	suite_add_tcase(s, tc);
	tc = tcase_create("spec");
	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, redesignate_after_seconds_defaults_and_bounds);
	suite_add_tcase(s, tc);
	tc = tcase_create("glue");
	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_glue_reads_the_informers_and_the_spec);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(designation_suite)
