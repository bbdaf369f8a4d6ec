/* Unit tests for operator/batond/fsmview (what the status reads of the FSM)
 * and the designation it carries into status.regions[] (status.c): every
 * state is reached through the real FSM, applying the DESIGNATE steps a
 * move takes (docs/design-per-instance.md §3.2), so the status follows the
 * FSM's masks, not a copy of their meaning. */
#include <string.h>

#include "batond/fsmview.h"
#include "batond/status.h"
#include "consensus/fsm.h"
#include "harness.h"
#include "support/fsmcmd.h"

#define DB "shop/orders"

static struct baton_fsm fsm;
static struct raft_fsm raft_fsm;

static void setup(void)
{
	struct baton_cmd c;

	baton_fsm_init(&fsm, &raft_fsm);
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_REGISTER;
	snprintf(c.db, sizeof c.db, DB);
	c.cfg.lease_ms = 10000;
	c.cfg.renew_ms = 1000;
	c.cfg.drift_ppm = 100000;
	c.cfg.margin_ms = 100;
	c.cfg.max_lag_bytes = 1000;
	c.cfg.automatic = true;
	c.cfg.synchronous = true;
	c.n_regions = 3;
	snprintf(c.regions[0].name, sizeof c.regions[0].name, "eu");
	snprintf(c.regions[1].name, sizeof c.regions[1].name, "us");
	snprintf(c.regions[2].name, sizeof c.regions[2].name, "ap");
	c.regions[2].role = BATON_ROLE_WITNESS;
	snprintf(c.primary, sizeof c.primary, "eu");
	ck_assert_int_eq(tst_fsm_apply(&fsm, &c), BATON_FSM_OK);
}

static void teardown(void)
{
	baton_fsm_close(&raft_fsm);
}

static const struct baton_db_state *db(void)
{
	const struct baton_db_state *st = baton_fsm_db(&fsm, DB);
	ck_assert_ptr_nonnull(st);
	return st;
}

/* DESIGNATE STEP of us's ORDINAL at the FSM's epoch and seq. */
static void designate(int step, int ordinal, int holder, uint64_t x,
		      uint64_t flush)
{
	struct baton_cmd c =
	    tst_cmd(BATON_CMD_DESIGNATE, DB, "us", db()->epoch);
	c.step = (uint8_t)step;
	c.ordinal = (uint8_t)ordinal;
	c.holder = (uint8_t)holder;
	c.desig_seq = db()->regions[1].desig_seq;
	c.drop_position = x;
	c.holder_flush = flush;
	ck_assert_str_eq(baton_fsm_result_name(tst_fsm_apply(&fsm, &c)),
			 baton_fsm_result_name(BATON_FSM_OK));
}

/* The status batond would write for the FSM as it is now. */
static json_t *status_now(void)
{
	struct baton_fsm_view v;
	struct baton_region_obs obs[3] = {{.name = "eu",
					   .reachable = true,
					   .ready = 1,
					   .replicas = 2,
					   .lag_bytes = -1},
					  {.name = "us",
					   .reachable = true,
					   .ready = 2,
					   .replicas = 2,
					   .lag_bytes = -1},
					  {.name = "ap",
					   .reachable = true,
					   .lag_bytes = -1,
					   .role = "witness"}};
	struct baton_dbspec spec;
	char errmsg[BATON_ERRMSG_SIZE];
	json_t *o = json_loads(
	    "{\"metadata\":{\"name\":\"orders\",\"namespace\":\"shop\"},"
	    "\"spec\":{\"regions\":[{\"name\":\"eu\",\"replicas\":2},"
	    "{\"name\":\"us\",\"replicas\":2},{\"name\":\"ap\",\"role\":"
	    "\"witness\",\"replicas\":0}],\"primaryRegion\":\"eu\"}}",
	    0, NULL);
	struct baton_status_input in = {.fsm = &v,
					.regions = obs,
					.n_regions = 3,
					.now = "2026-12-06T22:00:00Z"};
	json_t *st;

	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(baton_dbspec_parse(o, &spec, errmsg), 0);
	in.spec = &spec;
	baton_fsmview_fill(db(), true, false, NULL, &v);
	st = baton_status_compute(&in, NULL);
	json_decref(o);
	ck_assert_ptr_nonnull(st);
	return st;
}

static json_t *region(json_t *st, int i)
{
	return json_array_get(json_object_get(st, "regions"), (size_t)i);
}

static const char *str(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);
	if (path2 != NULL) {
		v = json_object_get(v, path2);
	}
	return json_string_value(v);
}

START_TEST(the_view_names_each_data_region_s_designation)
{
	struct baton_fsm_view v;

	baton_fsmview_fill(db(), true, false, NULL, &v);
	ck_assert(v.registered);
	ck_assert_str_eq(v.primary_region, "eu");
	ck_assert_str_eq(v.phase, "Healthy");
	ck_assert_int_eq(v.n_desig, 2); /* not the witness */
	ck_assert_str_eq(v.desig[0].region, "eu");
	ck_assert_str_eq(v.desig[1].region, "us");
	ck_assert_int_eq(v.desig[1].designated, 0);
	ck_assert_uint_eq(v.desig[1].members, 0x1);
	/* the caller's copy of the primary's name wins */
	baton_fsmview_fill(db(), true, false, "eu-copy", &v);
	ck_assert_str_eq(v.primary_region, "eu-copy");
	/* not registered: only the quorum */
	baton_fsmview_fill(NULL, true, false, NULL, &v);
	ck_assert(!v.registered);
	ck_assert(v.quorum);
	ck_assert_int_eq(v.n_desig, 0);
}
END_TEST

START_TEST(status_follows_a_move_through_its_steps)
{
	json_t *st = status_now();

	ck_assert_str_eq(str(region(st, 1), "designated", NULL), "orders-us-0");
	ck_assert_str_eq(str(region(st, 1), "designation", "state"), "Stable");
	ck_assert_ptr_null(json_object_get(
	    json_object_get(region(st, 1), "designation"), "to"));
	ck_assert_str_eq(str(region(st, 0), "designated", NULL), "orders-eu-0");
	ck_assert_ptr_null(json_object_get(region(st, 2), "designated"));
	json_decref(st);

	designate(BATON_DESIGNATE_JOIN, 1, 0, 0, 0);
	st = status_now();
	ck_assert_str_eq(str(region(st, 1), "designation", "state"), "Joining");
	ck_assert_str_eq(str(region(st, 1), "designation", "from"),
			 "orders-us-0");
	ck_assert_str_eq(str(region(st, 1), "designation", "to"),
			 "orders-us-1");
	json_decref(st);

	designate(BATON_DESIGNATE_LEAVE, 0, 0, 0, 0);
	st = status_now();
	ck_assert_str_eq(str(region(st, 1), "designation", "state"), "Leaving");
	ck_assert_ptr_null(json_object_get(
	    json_object_get(region(st, 1), "designation"), "givingUp"));
	ck_assert_str_eq(str(region(st, 1), "designated", NULL), "orders-us-0");
	json_decref(st);

	designate(BATON_DESIGNATE_RELEASE, 0, 1, 5000, 5000);
	st = status_now();
	ck_assert_str_eq(str(region(st, 1), "designated", NULL), "orders-us-1");
	ck_assert_str_eq(str(region(st, 1), "designation", "state"), "Stable");
	json_decref(st);
}
END_TEST

START_TEST(status_says_when_a_move_is_given_up)
{
	json_t *st;

	designate(BATON_DESIGNATE_JOIN, 2, 0, 0, 0);
	designate(BATON_DESIGNATE_LEAVE, 2, 0, 0, 0); /* the joiner leaves */
	st = status_now();
	ck_assert_str_eq(str(region(st, 1), "designation", "state"), "Leaving");
	ck_assert_str_eq(str(region(st, 1), "designation", "to"),
			 "orders-us-2");
	ck_assert(json_is_true(json_object_get(
	    json_object_get(region(st, 1), "designation"), "givingUp")));
	ck_assert_str_eq(str(region(st, 1), "designated", NULL), "orders-us-0");
	json_decref(st);
}
END_TEST

struct events {
	char log[1024];
	unsigned n;
};

static void record(void *data, const char *type, const char *reason,
		   const char *message)
{
	struct events *e = data;
	size_t len = strlen(e->log);

	e->n++;
	snprintf(e->log + len, sizeof e->log - len, "%s %s: %s\n", type, reason,
		 message);
}

/* Events from the status before and after EACH step: one per change. */
START_TEST(each_step_of_a_move_says_so_once)
{
	struct events e = {{0}, 0};
	json_t *before = status_now(), *after;

	baton_status_designation_events(NULL, before, record, &e);
	ck_assert_uint_eq(e.n, 0); /* a first status */
	baton_status_designation_events(before, before, record, &e);
	ck_assert_uint_eq(e.n, 0); /* nothing changed */

	designate(BATON_DESIGNATE_JOIN, 1, 0, 0, 0);
	after = status_now();
	baton_status_designation_events(before, after, record, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_msg(strstr(e.log, "Normal DesignationStarted: region us: "
				    "orders-us-1 joins") != NULL,
		      "%s", e.log);
	baton_status_designation_events(after, after, record, &e);
	ck_assert_uint_eq(e.n, 1);
	json_decref(before);
	before = after;

	designate(BATON_DESIGNATE_LEAVE, 0, 0, 0, 0);
	after = status_now();
	baton_status_designation_events(before, after, record, &e);
	ck_assert_uint_eq(e.n, 1); /* Leaving is progress, not news */
	json_decref(before);
	before = after;

	designate(BATON_DESIGNATE_RELEASE, 0, 1, 5000, 5000);
	after = status_now();
	baton_status_designation_events(before, after, record, &e);
	ck_assert_uint_eq(e.n, 2);
	ck_assert_msg(strstr(e.log, "Normal DesignationCompleted: region us: "
				    "orders-us-1 is the designated instance "
				    "(was orders-us-0)") != NULL,
		      "%s", e.log);
	json_decref(before);
	before = after;

	/* a move given up: Started, then Stalled, and nothing completes */
	designate(BATON_DESIGNATE_JOIN, 2, 0, 0, 0);
	after = status_now();
	baton_status_designation_events(before, after, record, &e);
	json_decref(before);
	before = after;
	designate(BATON_DESIGNATE_LEAVE, 2, 0, 0, 0);
	after = status_now();
	baton_status_designation_events(before, after, record, &e);
	ck_assert_uint_eq(e.n, 4);
	ck_assert_msg(strstr(e.log, "Warning DesignationStalled: region us: "
				    "orders-us-2 did not catch up") != NULL,
		      "%s", e.log);
	json_decref(before);
	json_decref(after);
}
END_TEST

static Suite *fsmview_suite(void)
{
	Suite *s = suite_create("batond_fsmview");
	TCase *tc = tcase_create("fsmview");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_view_names_each_data_region_s_designation);
	tcase_add_test(tc, status_follows_a_move_through_its_steps);
	tcase_add_test(tc, status_says_when_a_move_is_given_up);
	tcase_add_test(tc, each_step_of_a_move_says_so_once);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(fsmview_suite)
