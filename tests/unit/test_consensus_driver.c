/* consensus/driver, one region's tick, on an FSM built from real commands:
 * what it proposes and when. The simulation (test_consensus_sim) checks the
 * protocol's properties over many schedules; this checks single decisions
 * the schedules pass through too quickly to pin down. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "consensus/driver.h"
#include "consensus/fsm.h"
#include "harness.h"

struct recorder {
	struct baton_region_report rep; /* what report() says */
	unsigned reports;		/* REPORT commands proposed */
	uint64_t last_position;
	unsigned reads;			/* report() calls */
};

static void rec_report(void *data, const char *db,
		       struct baton_region_report *out)
{
	struct recorder *r = data;
	r->reads++;
	*out = r->rep;
}

static int rec_propose(void *data, const struct baton_cmd *cmd)
{
	struct recorder *r = data;
	if (cmd->type == BATON_CMD_REPORT) {
		r->reports++;
		r->last_position = cmd->position;
	}
	return 0;
}

static int apply(struct baton_fsm *f, const struct baton_cmd *c)
{
	uint8_t buf[BATON_CMD_MAX];
	size_t len;
	ck_assert_int_eq(baton_cmd_encode(c, buf, sizeof buf, &len), 0);
	return baton_fsm_apply_buf(f, buf, len);
}

static struct baton_cmd cmd(int type, const char *region, uint64_t epoch)
{
	struct baton_cmd c;
	memset(&c, 0, sizeof c);
	c.type = type;
	snprintf(c.db, sizeof c.db, "lab/orders");
	snprintf(c.region, sizeof c.region, "%s", region);
	c.epoch = epoch;
	return c;
}

/* r0 primary at epoch 1, a switchover to r1 begun and r0 fenced at
 * position FINAL. */
static void fenced_switchover(struct baton_fsm *f, struct raft_fsm *rf,
			      uint64_t final)
{
	struct baton_cmd c;
	struct baton_db_state *db;

	baton_fsm_init(f, rf);
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_REGISTER;
	snprintf(c.db, sizeof c.db, "lab/orders");
	c.cfg.lease_ms = 2000;
	c.cfg.renew_ms = 500;
	c.cfg.drift_ppm = 100000;
	c.cfg.margin_ms = 200;
	c.cfg.automatic = true;
	c.n_regions = 3;
	for (unsigned i = 0; i < 3; i++) {
		snprintf(c.regions[i].name, sizeof c.regions[i].name, "r%u",
			 i);
	}
	snprintf(c.primary, sizeof c.primary, "r0");
	ck_assert_int_eq(apply(f, &c), BATON_FSM_OK);
	c = cmd(BATON_CMD_SWITCHOVER, "r1", 1);
	ck_assert_int_eq(apply(f, &c), BATON_FSM_OK);
	db = baton_fsm_db(f, "lab/orders");
	c = cmd(BATON_CMD_FENCE, "r0", 1);
	c.position = final;
	c.round = db->round;
	ck_assert_int_eq(apply(f, &c), BATON_FSM_OK);
	ck_assert_int_eq(db->phase, BATON_PHASE_FENCED);
	ck_assert_int_eq(db->sw_target, 1);
	ck_assert_uint_eq(db->sw_final_position, final);
}

/* The target of a planned switchover reports, on the tick it has caught
 * up, that it replayed the old primary's final position: the promote
 * waits for that report. Before it has caught up it reports on the usual
 * cadence only; once the FSM has the position, never early again. */
START_TEST(switchover_target_reports_catch_up_at_once)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct recorder r = {.rep = {.healthy = true, .position = 500}};
	struct baton_driver_ops ops = {
	    .data = &r, .report = rec_report, .propose = rec_propose};
	struct baton_cmd c;
	uint64_t now = 1000000;

	fenced_switchover(&f, &rf, 900);
	baton_driver_init(&d, "r1", &ops, 0);
	/* the first tick reports (nothing said in this epoch yet) */
	baton_driver_tick(&d, &f, false, now);
	now += BATON_DRIVER_REPORT_MS;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_ge(r.reports, 1);
	c = cmd(BATON_CMD_REPORT, "r1", 1);
	c.healthy = 1;
	c.position = 500;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	r.reports = 0;

	/* behind the final position: the usual cadence (nothing changed,
	 * nothing said) */
	now += 250;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 0);

	/* caught up: reported on this very tick, 300 ms after the last
	 * report, well inside the report interval */
	r.rep.position = 900;
	now += 50;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 1);
	ck_assert_uint_eq(r.last_position, 900);
	/* not again on every tick while it is in flight */
	now += 50;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 1);

	/* once applied, the FSM knows: back to the usual cadence */
	c.position = 900;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	r.rep.position = 950;
	now += 300;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 1);

	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* Another region (not the target) keeps the usual cadence in the same
 * state. */
START_TEST(other_regions_keep_the_cadence)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct recorder r = {.rep = {.healthy = true, .position = 500}};
	struct baton_driver_ops ops = {
	    .data = &r, .report = rec_report, .propose = rec_propose};
	struct baton_cmd c;
	uint64_t now = 1000000;

	fenced_switchover(&f, &rf, 900);
	baton_driver_init(&d, "r2", &ops, 0);
	baton_driver_tick(&d, &f, false, now);
	now += BATON_DRIVER_REPORT_MS;
	baton_driver_tick(&d, &f, false, now);
	c = cmd(BATON_CMD_REPORT, "r2", 1);
	c.healthy = 1;
	c.position = 500;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	r.reports = 0;
	r.rep.position = 900;
	now += 300;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 0);
	now += BATON_DRIVER_REPORT_MS;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 1);
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

static Suite *driver_suite(void)
{
	Suite *s = suite_create("consensus_driver");
	TCase *tc = tcase_create("driver");
	tcase_add_test(tc, switchover_target_reports_catch_up_at_once);
	tcase_add_test(tc, other_regions_keep_the_cadence);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(driver_suite)
