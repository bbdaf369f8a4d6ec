/* consensus/driver, one region's tick, on an FSM built from real commands:
 * what it proposes and when. The simulation (test_consensus_sim) checks the
 * protocol's properties over many schedules; this checks single decisions
 * the schedules pass through too quickly to pin down. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/driver.h"
#include "consensus/fsm.h"
#include "harness.h"
#include "support/fsmcmd.h"

struct recorder {
	struct baton_region_report rep; /* what report() says */
	unsigned reports;		/* REPORT commands proposed */
	uint64_t last_position;
	unsigned reads; /* report() calls */
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

static struct baton_cmd cmd(int type, const char *region, uint64_t epoch)
{
	return tst_cmd(type, "lab/orders", region, epoch);
}

/* DB in r0, r1, r2 with r0 primary: lease 2 s, renew 500 ms. */
static struct baton_cmd register_cmd(const char *db)
{
	struct baton_cmd c;
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_REGISTER;
	snprintf(c.db, sizeof c.db, "%s", db);
	c.cfg.lease_ms = 2000;
	c.cfg.renew_ms = 500;
	c.cfg.drift_ppm = 100000;
	c.cfg.margin_ms = 200;
	c.cfg.automatic = true;
	c.n_regions = 3;
	for (unsigned i = 0; i < 3; i++) {
		snprintf(c.regions[i].name, sizeof c.regions[i].name, "r%u", i);
	}
	snprintf(c.primary, sizeof c.primary, "r0");
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
	c = register_cmd("lab/orders");
	ck_assert_int_eq(tst_fsm_apply(f, &c), BATON_FSM_OK);
	c = cmd(BATON_CMD_SWITCHOVER, "r1", 1);
	ck_assert_int_eq(tst_fsm_apply(f, &c), BATON_FSM_OK);
	db = baton_fsm_db(f, "lab/orders");
	c = cmd(BATON_CMD_FENCE, "r0", 1);
	c.position = final;
	c.round = db->round;
	ck_assert_int_eq(tst_fsm_apply(f, &c), BATON_FSM_OK);
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
	baton_driver_init(&d, "r1", &ops, 0, 1);
	/* the first tick reports (nothing said in this epoch yet) */
	baton_driver_tick(&d, &f, false, now);
	now += BATON_DRIVER_REPORT_MS;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_ge(r.reports, 1);
	c = cmd(BATON_CMD_REPORT, "r1", 1);
	c.healthy = 1;
	c.position = 500;
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
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
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
	r.rep.position = 950;
	now += 300;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 1);

	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* A planned switchover stops the old primary's renewals on purpose and
 * has one more lease to finish (decider.c): the status does not call the
 * primary lost meanwhile. Before, every switchover raised "the primary
 * is lost and no region can take over" (an Event naming the new primary
 * right after the promote, from the flag the fenced phase left). */
START_TEST(a_switchover_in_progress_is_not_a_lost_primary)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct recorder r = {.rep = {.healthy = true, .position = 500}};
	struct baton_driver_ops ops = {
	    .data = &r, .report = rec_report, .propose = rec_propose};
	uint64_t now = 1000000;

	fenced_switchover(&f, &rf, 900);
	baton_driver_init(&d, "r2", &ops, 0, 1); /* r2 leads Raft */
	baton_driver_tick(&d, &f, true, now);
	ck_assert(!baton_driver_primary_lost(&d, "lab/orders"));
	/* the lease (2 s + 10 % + 200 ms) is over, the switchover's extra
	 * lease is not */
	baton_driver_tick(&d, &f, true, now + 2500);
	ck_assert(!baton_driver_primary_lost(&d, "lab/orders"));
	baton_driver_tick(&d, &f, true, now + 4399);
	ck_assert(!baton_driver_primary_lost(&d, "lab/orders"));
	/* and then it is a failover */
	baton_driver_tick(&d, &f, true, now + 4400);
	ck_assert(baton_driver_primary_lost(&d, "lab/orders"));
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* After a failover the new primary's lease runs from the promote's apply:
 * a follower's status read right after the apply (a reconcile the apply
 * wakes, before the next tick) must not call the new primary lost. Before,
 * the flag the old epoch's lapse set stayed until the next tick, and every
 * failover raised a FailoverBlocked Warning naming the new primary
 * (seen on kind, 2026-12-05: "the primary in us-east is lost and no region
 * can take over" 0.1 s after us-east's promote committed). */
START_TEST(a_promote_applied_ends_the_lost_primary_at_once)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct recorder r = {.rep = {.healthy = true, .position = 500}};
	struct baton_driver_ops ops = {
	    .data = &r, .report = rec_report, .propose = rec_propose};
	struct baton_cmd c;
	struct baton_db_state *db;
	uint64_t now = 1000000;

	baton_fsm_init(&f, &rf);
	c = register_cmd("lab/orders");
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
	baton_driver_init(&d, "r2", &ops, 0, 1); /* r2: a follower */
	baton_driver_applied(&d, &f, &c, BATON_FSM_OK, now);
	baton_driver_tick(&d, &f, false, now);
	ck_assert(!baton_driver_primary_lost(&d, "lab/orders"));
	/* r0 stops renewing: lost after lease + drift + margin (2.4 s) */
	now += 2400;
	baton_driver_tick(&d, &f, false, now);
	ck_assert(baton_driver_primary_lost(&d, "lab/orders"));
	/* the leader promotes r1 (asynchronous mode: no final round) */
	db = baton_fsm_db(&f, "lab/orders");
	c = cmd(BATON_CMD_PROMOTE, "r1", 2);
	c.renew_seq = db->renew_seq;
	c.reason = BATON_REASON_LEASE_EXPIRED;
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
	now += 10;
	baton_driver_applied(&d, &f, &c, BATON_FSM_OK, now);
	/* no tick in between: the apply itself says so */
	ck_assert(!baton_driver_primary_lost(&d, "lab/orders"));
	/* and it is lost again only once r1's own lease lapses unrenewed */
	baton_driver_tick(&d, &f, false, now + 2399);
	ck_assert(!baton_driver_primary_lost(&d, "lab/orders"));
	baton_driver_tick(&d, &f, false, now + 2400);
	ck_assert(baton_driver_primary_lost(&d, "lab/orders"));
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* A region whose instance does not follow this epoch's primary yet (its
 * agent's last order is from an earlier epoch, or a rejoin is under way)
 * reports nothing: its position belongs to an earlier timeline. The
 * simulation found a switchover that promoted a target on the position
 * it had reported two epochs before, as a primary, with WAL no other
 * region had (seed 3525). */
START_TEST(a_region_on_an_earlier_timeline_reports_nothing)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct recorder r = {
	    .rep = {.healthy = true, .position = 5000, .follows_epoch = 1}};
	struct baton_driver_ops ops = {
	    .data = &r, .report = rec_report, .propose = rec_propose};
	struct baton_cmd c;
	uint64_t now = 1000000;

	baton_fsm_init(&f, &rf);
	c = register_cmd("lab/orders");
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
	/* r1 promoted at epoch 2: r0, the old primary, is told later */
	c = cmd(BATON_CMD_PROMOTE, "r1", 2);
	c.reason = BATON_REASON_MANUAL;
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
	baton_driver_init(&d, "r0", &ops, 0, 1);
	for (int i = 0; i < 4; i++) {
		baton_driver_tick(&d, &f, false, now);
		now += BATON_DRIVER_REPORT_MS;
	}
	ck_assert_uint_ge(r.reads, 1);
	ck_assert_uint_eq(r.reports, 0);
	/* rejoined at epoch 2 (rewound onto r1's timeline): it reports */
	r.rep.follows_epoch = 2;
	r.rep.position = 4000;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 1);
	ck_assert_uint_eq(r.last_position, 4000);
	/* no agent to ask (0): reported as before */
	r.rep.follows_epoch = 0;
	r.rep.position = 4100;
	now += BATON_DRIVER_REPORT_MS;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.reports, 2);
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
	baton_driver_init(&d, "r2", &ops, 0, 1);
	baton_driver_tick(&d, &f, false, now);
	now += BATON_DRIVER_REPORT_MS;
	baton_driver_tick(&d, &f, false, now);
	c = cmd(BATON_CMD_REPORT, "r2", 1);
	c.healthy = 1;
	c.position = 500;
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
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

/* ---- renewals per region ------------------------------------------------ */

#define FLEET 40 /* databases whose primary r0 holds: three batches */

struct batcher {
	struct baton_cmd sent[8]; /* RENEW_BATCH proposals, in order */
	unsigned n_sent;
	struct baton_driver *d;
	struct baton_fsm *f;
	uint64_t now;
	bool refuse; /* propose() fails: nothing is sent */
};

static void ready_report(void *data, const char *db,
			 struct baton_region_report *out)
{
	(void)data;
	(void)db;
	out->healthy = true;
	out->primary_ready = true;
}

static int batch_propose(void *data, const struct baton_cmd *cmd)
{
	struct batcher *b = data;
	if (b->refuse) {
		return -1;
	}
	if (cmd->type == BATON_CMD_RENEW_BATCH) {
		ck_assert_uint_lt(b->n_sent, 8);
		b->sent[b->n_sent++] = *cmd;
	}
	return 0;
}

/* batond's observer: every apply reaches the driver */
static void batch_observer(struct baton_fsm *f, const struct baton_cmd *cmd,
			   int result, void *data)
{
	struct batcher *b = data;
	baton_driver_applied(b->d, f, cmd, result, b->now);
}

static void register_fleet(struct baton_fsm *f, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		char name[BATON_NAME_SIZE];
		struct baton_cmd c;
		snprintf(name, sizeof name, "fleet/db-%03u", k);
		c = register_cmd(name);
		ck_assert_int_eq(tst_fsm_apply(f, &c), BATON_FSM_OK);
	}
}

static void fleet_setup(struct baton_fsm *f, struct raft_fsm *rf,
			struct baton_driver *d, struct batcher *b,
			uint64_t incarnation)
{
	struct baton_driver_ops ops = {
	    .data = b, .report = ready_report, .propose = batch_propose};

	memset(b, 0, sizeof *b);
	baton_fsm_init(f, rf);
	register_fleet(f, FLEET);
	baton_driver_init(d, "r0", &ops, 0, incarnation);
	b->d = d;
	b->f = f;
	f->observer = batch_observer;
	f->observer_data = b;
}

/* One tick of the primary region renews every database in
 * ceil(FLEET / BATON_RENEW_BATCH_MAX) entries, each database once; once
 * applied here, every lease holds until send time + lease. */
START_TEST(one_tick_renews_every_database_in_batches)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct batcher b;
	unsigned seen[FLEET] = {0};
	uint64_t now = 1000000;

	fleet_setup(&f, &rf, &d, &b, 7);
	b.now = now;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(b.n_sent, (FLEET + BATON_RENEW_BATCH_MAX - 1) /
					BATON_RENEW_BATCH_MAX);
	for (unsigned i = 0; i < b.n_sent; i++) {
		ck_assert_str_eq(b.sent[i].region, "r0");
		ck_assert_uint_eq(b.sent[i].send_ms, now);
		ck_assert_uint_eq(b.sent[i].nonce, 7);
		for (unsigned k = 0; k < b.sent[i].n_items; k++) {
			unsigned idx;
			ck_assert_int_eq(
			    sscanf(b.sent[i].items[k].db, "fleet/db-%u", &idx),
			    1);
			ck_assert_uint_lt(idx, FLEET);
			seen[idx]++;
			ck_assert_uint_eq(b.sent[i].items[k].epoch, 1);
			ck_assert_uint_eq(b.sent[i].items[k].lease_ms, 2000);
		}
	}
	for (unsigned k = 0; k < FLEET; k++) {
		ck_assert_uint_eq(seen[k], 1);
	}
	/* nothing is valid before the entries apply */
	ck_assert(!baton_driver_lease_valid(&d, "fleet/db-000", 1, now + 10));
	/* the leader's answer that every item was accepted extends the
	 * lease before this node applied the entry itself */
	{
		struct baton_driver_slot *sl = NULL;
		baton_driver_done(&d, &b.sent[0], BATON_FSM_OK);
		ck_assert(baton_driver_lease_valid(&d, b.sent[0].items[0].db, 1,
						   now + 1500));
		/* and the next renewal may go out */
		sl = baton_index_get(&d.slots, b.sent[0].items[0].db);
		ck_assert_ptr_nonnull(sl);
		for (unsigned k = 0; k < BATON_DRIVER_RENEW_PIPELINE; k++) {
			ck_assert_uint_eq(sl->renew_sent[k], 0);
		}
		/* a PARTIAL answer extends nothing by itself */
		ck_assert(!baton_driver_lease_valid(&d, b.sent[1].items[0].db,
						    1, now + 10));
		baton_driver_done(&d, &b.sent[1], BATON_FSM_PARTIAL);
		ck_assert(!baton_driver_lease_valid(&d, b.sent[1].items[0].db,
						    1, now + 10));
	}
	b.now = now + 40;
	for (unsigned i = 0; i < b.n_sent; i++) {
		ck_assert_int_eq(tst_fsm_apply(&f, &b.sent[i]), BATON_FSM_OK);
		if (i > 1) {
			baton_driver_done(&d, &b.sent[i], BATON_FSM_OK);
		}
	}
	for (unsigned k = 0; k < FLEET; k++) {
		char name[BATON_NAME_SIZE];
		snprintf(name, sizeof name, "fleet/db-%03u", k);
		ck_assert_uint_eq(baton_fsm_db(&f, name)->renew_seq, 1);
		ck_assert(baton_driver_lease_valid(&d, name, 1, now + 1500));
		/* counted from the send time, not the apply */
		ck_assert(!baton_driver_lease_valid(&d, name, 1, now + 2000));
	}
	ck_assert_uint_eq(d.stats.renewals_sent, FLEET);
	ck_assert_uint_eq(d.stats.renewals_accepted, FLEET);
	/* the pipelines are free again: the next renewMillis renews all */
	b.n_sent = 0;
	baton_driver_tick(&d, &f, false, now + 500);
	ck_assert_uint_eq(b.n_sent, 3);
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* ---- reports per region ------------------------------------------------ */

/* What region r1 proposes about FLEET databases taking writes. */
struct reporter {
	/* REPORT and REPORT_BATCH, in order (one tick's) */
	struct baton_cmd sent[FLEET + 8];
	unsigned n_sent;
	unsigned singles, finals, batches, items;
	uint64_t position; /* what report() says: it moves with the writes */
	bool refuse;	   /* propose() fails: nothing is sent */
};

static void writing_report(void *data, const char *db,
			   struct baton_region_report *out)
{
	struct reporter *r = data;

	(void)db;
	out->healthy = true;
	out->primary_ready = true;
	out->position = r->position;
}

static int reporter_propose(void *data, const struct baton_cmd *cmd)
{
	struct reporter *r = data;

	if (r->refuse) {
		return -1;
	}
	if (cmd->type == BATON_CMD_REPORT) {
		r->singles++;
		r->finals += cmd->final;
	} else if (cmd->type == BATON_CMD_REPORT_BATCH) {
		ck_assert_uint_gt(cmd->n_items, 0);
		ck_assert_uint_le(cmd->n_items, BATON_REPORT_BATCH_MAX);
		ck_assert_str_eq(cmd->db, cmd->reports[0].db);
		r->batches++;
		r->items += cmd->n_items;
	} else {
		return 0;
	}
	ck_assert_str_eq(cmd->region, "r1");
	ck_assert_uint_lt(r->n_sent, sizeof r->sent / sizeof r->sent[0]);
	r->sent[r->n_sent++] = *cmd;
	return 0;
}

static bool reporter_final(void *data, const char *db, uint64_t epoch,
			   uint64_t round, int ordinal,
			   struct baton_region_report *out)
{
	(void)data;
	(void)db;
	(void)epoch;
	(void)round;
	(void)ordinal;
	out->healthy = true;
	out->position = 77;
	return true;
}

/* Everything R recorded applied to F (the FSM's verdicts all OK), then
 * forgotten. */
static void reporter_apply(struct reporter *r, struct baton_fsm *f,
			   struct baton_driver *d)
{
	for (unsigned k = 0; k < r->n_sent; k++) {
		int rv = tst_fsm_apply(f, &r->sent[k]);
		ck_assert_str_eq(baton_fsm_result_name(rv),
				 baton_fsm_result_name(BATON_FSM_OK));
		baton_driver_done(d, &r->sent[k], rv);
	}
	r->n_sent = 0;
	r->singles = r->finals = r->batches = r->items = 0;
}

static void raise_to(struct baton_fsm *f, uint32_t level)
{
	struct baton_cmd c;

	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_LEVEL;
	c.level = level;
	ck_assert_int_eq(tst_fsm_apply(f, &c), BATON_FSM_OK);
	ck_assert_uint_eq(f->fleet_level, level);
}

/* The periodic reports of one tick travel in REPORT_BATCH entries only
 * once the fleet's level has the command (an older batond refuses it):
 * at levels 0 and 1 each goes alone as before. Each database once, each
 * item the REPORT it stands for; a batch that could not be sent is said
 * again at the next interval (nothing is kept in flight); nothing
 * unchanged is said again. */
START_TEST(periodic_reports_are_batched_at_level_2_only)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct reporter r = {.position = 1000};
	struct baton_driver_ops ops = {
	    .data = &r, .report = writing_report, .propose = reporter_propose};
	unsigned seen[FLEET] = {0};
	uint64_t now = 1000000;

	baton_fsm_init(&f, &rf);
	register_fleet(&f, FLEET);
	baton_driver_init(&d, "r1", &ops, 0, 3);
	baton_driver_tick(&d, &f, false, now); /* the slots: spread reports */
	reporter_apply(&r, &f, &d);
	for (uint32_t level = 0; level < BATON_LEVEL_REPORT_BATCH; level++) {
		if (level > 0) {
			raise_to(&f, level);
		}
		/* every database due on one tick, every position moved */
		r.position += 100;
		now += 5000;
		baton_driver_tick(&d, &f, false, now);
		ck_assert_uint_eq(r.singles, FLEET);
		ck_assert_uint_eq(r.batches, 0);
		reporter_apply(&r, &f, &d);
	}

	raise_to(&f, BATON_LEVEL_REPORT_BATCH);
	r.position += 100;
	now += 5000;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.singles, 0);
	ck_assert_uint_eq(r.batches, (FLEET + BATON_REPORT_BATCH_MAX - 1) /
					 BATON_REPORT_BATCH_MAX);
	ck_assert_uint_eq(r.items, FLEET);
	for (unsigned i = 0; i < r.n_sent; i++) {
		const struct baton_cmd *b = &r.sent[i];
		ck_assert_int_eq(b->type, BATON_CMD_REPORT_BATCH);
		/* full ones first: flushed when full, the rest at the end */
		ck_assert_uint_eq(b->n_items,
				  i + 1 < r.n_sent
				      ? BATON_REPORT_BATCH_MAX
				      : FLEET % BATON_REPORT_BATCH_MAX);
		for (unsigned k = 0; k < b->n_items; k++) {
			const struct baton_report_item *it = &b->reports[k];
			unsigned idx;
			ck_assert_int_eq(sscanf(it->db, "fleet/db-%u", &idx),
					 1);
			ck_assert_uint_lt(idx, FLEET);
			seen[idx]++;
			ck_assert_uint_eq(it->epoch, 1);
			ck_assert_uint_eq(it->position, r.position);
			ck_assert_uint_eq(it->healthy, 1);
			ck_assert_uint_eq(it->sync_standby, 0);
			ck_assert_uint_eq(it->ordinal, 0);
		}
	}
	for (unsigned k = 0; k < FLEET; k++) {
		ck_assert_uint_eq(seen[k], 1);
	}
	ck_assert_uint_eq(d.stats.report_batches_sent, r.batches);
	reporter_apply(&r, &f, &d);
	for (unsigned k = 0; k < FLEET; k++) {
		char name[BATON_NAME_SIZE];
		const struct baton_region_state *r1;
		snprintf(name, sizeof name, "fleet/db-%03u", k);
		r1 = &baton_fsm_db(&f, name)->regions[1];
		ck_assert_uint_eq(r1->position, r.position);
		ck_assert_uint_eq(r1->report_epoch, 1);
		ck_assert(r1->healthy);
	}
	/* unchanged and held by the FSM: nothing to say */
	now += 5000;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.n_sent, 0);
	/* not sent: nothing kept, said again at the next interval */
	r.position += 100;
	r.refuse = true;
	now += 5000;
	baton_driver_tick(&d, &f, false, now);
	r.refuse = false;
	ck_assert_uint_eq(r.n_sent, 0);
	now += 500;
	baton_driver_tick(&d, &f, false, now); /* within the interval */
	ck_assert_uint_eq(r.n_sent, 0);
	now += 500;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.items, FLEET);
	ck_assert_uint_eq(r.singles, 0);
	reporter_apply(&r, &f, &d);
	/* the usual cadence, writes going on: each database once a
	 * second, in entries of up to BATON_REPORT_BATCH_MAX, never alone */
	for (uint64_t end = now + 3000; now < end;) {
		now += 50;
		r.position += 10;
		baton_driver_tick(&d, &f, false, now);
		ck_assert_uint_eq(r.singles, 0);
		ck_assert_uint_le(r.n_sent, 1 + FLEET / BATON_REPORT_BATCH_MAX);
		reporter_apply(&r, &f, &d);
	}
	ck_assert_uint_ge(d.stats.reports_sent, 6 * FLEET);
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* Level 2 batches the periodic reports only: a standby's final position
 * in a synchronous failover and a switchover target's word that it
 * caught up go alone, at once (a promote waits for them). */
/* Every database of the fleet lost its primary in r0: a synchronous
 * failover round, each standby region asked for its final. */
static void lose_fleet(struct baton_fsm *f)
{
	for (unsigned k = 0; k < FLEET; k++) {
		struct baton_cmd c;
		char name[BATON_NAME_SIZE];
		snprintf(name, sizeof name, "fleet/db-%03u", k);
		c = tst_cmd(BATON_CMD_LOST, name, "r0", 1);
		ck_assert_int_eq(tst_fsm_apply(f, &c), BATON_FSM_OK);
	}
}

START_TEST(final_and_catch_up_reports_are_never_batched)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct reporter r = {.position = 1000};
	struct baton_driver_ops ops = {.data = &r,
				       .report = writing_report,
				       .propose = reporter_propose,
				       .final_report = reporter_final};
	uint64_t now = 1000000;

	baton_fsm_init(&f, &rf);
	register_fleet(&f, FLEET);
	raise_to(&f, BATON_COMMAND_LEVEL);
	lose_fleet(&f);
	baton_driver_init(&d, "r1", &ops, 0, 3);
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.batches, 0);
	ck_assert_uint_eq(r.finals, FLEET);
	ck_assert_uint_eq(r.singles, FLEET);
	ck_assert_uint_eq(d.stats.report_batches_sent, 0);
	baton_driver_close(&d);
	baton_fsm_close(&rf);

	/* the target of a planned switchover, caught up */
	fenced_switchover(&f, &rf, 900);
	raise_to(&f, BATON_COMMAND_LEVEL);
	memset(&r, 0, sizeof r);
	r.position = 1000;
	baton_driver_init(&d, "r1", &ops, 0, 3);
	baton_driver_tick(&d, &f, false, now);
	baton_driver_tick(&d, &f, false, now + 5000);
	ck_assert_uint_eq(r.batches, 0);
	ck_assert_uint_ge(r.singles, 1);
	ck_assert_uint_eq(r.sent[0].position, 1000);
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* A final report on its way is not sent again every FINAL_REPORT_MS
 * (300 ms): with a whole region failing over, a resend every 300 ms while
 * the first waited behind thousands of entries appended 37,632 REPORTs
 * for 20,000 finals (issue 20). Its outcome lets the resend go (one not
 * committed: after 300 ms), and without an outcome it goes after a
 * second all the same: a lost answer never stalls a failover. */
START_TEST(a_final_on_its_way_is_not_sent_again)
{
	static struct baton_cmd first[FLEET + 8];
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct reporter r = {.position = 1000};
	struct baton_driver_ops ops = {.data = &r,
				       .report = writing_report,
				       .propose = reporter_propose,
				       .final_report = reporter_final};
	uint64_t now = 1000000;
	unsigned n, half;

	baton_fsm_init(&f, &rf);
	register_fleet(&f, FLEET);
	lose_fleet(&f);
	baton_driver_init(&d, "r1", &ops, 0, 3);
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_eq(r.finals, FLEET);
	n = r.n_sent;
	memcpy(first, r.sent, n * sizeof first[0]);
	r.n_sent = r.finals = r.singles = 0;
	/* 350 ms on, none has an outcome: none is sent again (it was) */
	baton_driver_tick(&d, &f, false, now + 350);
	ck_assert_uint_eq(r.finals, 0);
	/* half of them were not committed (a leadership lost): those go
	 * again, the others still wait */
	half = 0;
	for (unsigned k = 0; k < n; k++) {
		if (first[k].final && k % 2 == 0) {
			baton_driver_done(&d, &first[k], 0);
			half++;
		}
	}
	baton_driver_tick(&d, &f, false, now + 400);
	ck_assert_uint_eq(r.finals, half);
	r.finals = 0;
	/* the others' outcome never comes: sent again a second after */
	baton_driver_tick(&d, &f, false, now + 999);
	ck_assert_uint_eq(r.finals, 0);
	baton_driver_tick(&d, &f, false, now + 1000);
	ck_assert_uint_eq(r.finals, FLEET - half);
	/* applied: the FSM holds every final, nothing more is sent */
	reporter_apply(&r, &f, &d);
	baton_driver_tick(&d, &f, false, now + 5000);
	ck_assert_uint_eq(r.finals, 0);
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* A batch this driver did not send (an earlier batond of the same region,
 * whose entries the log replays: its send times are on another clock) is
 * applied but extends no lease of this one. */
START_TEST(a_replayed_batch_of_an_earlier_process_extends_nothing)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct batcher b;
	struct baton_cmd old;
	uint64_t now = 1000000;

	fleet_setup(&f, &rf, &d, &b, 8);
	b.now = now;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_uint_gt(b.n_sent, 0);
	old = b.sent[0];
	old.nonce = 7;		     /* the process before this one */
	old.send_ms = now + 3600000; /* its clock ran far ahead */
	ck_assert_int_eq(tst_fsm_apply(&f, &old), BATON_FSM_OK);
	ck_assert_uint_eq(baton_fsm_db(&f, old.items[0].db)->renew_seq, 1);
	ck_assert(!baton_driver_lease_valid(&d, old.items[0].db, 1, now));
	ck_assert_uint_eq(d.stats.renewals_accepted, 0);
	/* its own batch does */
	ck_assert_int_eq(tst_fsm_apply(&f, &b.sent[0]), BATON_FSM_OK);
	ck_assert(baton_driver_lease_valid(&d, old.items[0].db, 1, now + 1));
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* Each item keeps its own compare-and-swap: a database promoted away
 * between the send and the apply refuses its item (and this region's
 * lease on it ends), the others in the same entry renew. */
START_TEST(each_item_has_its_own_verdict)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct batcher b;
	struct baton_cmd c;
	const char *moved, *kept;
	uint64_t now = 1000000;

	fleet_setup(&f, &rf, &d, &b, 9);
	b.now = now;
	baton_driver_tick(&d, &f, false, now);
	ck_assert_int_eq(tst_fsm_apply(&f, &b.sent[0]), BATON_FSM_OK);
	moved = b.sent[0].items[0].db;
	kept = b.sent[0].items[1].db;
	ck_assert(baton_driver_lease_valid(&d, moved, 1, now + 100));
	/* the next round of renewals is sent; meanwhile MOVED fails over */
	b.n_sent = 0;
	baton_driver_tick(&d, &f, false, now + 500);
	ck_assert_uint_gt(b.n_sent, 0);
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_PROMOTE;
	snprintf(c.db, sizeof c.db, "%s", moved);
	snprintf(c.region, sizeof c.region, "r1");
	c.epoch = 2;
	c.renew_seq = 1;
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
	ck_assert_int_eq(tst_fsm_apply(&f, &b.sent[0]), BATON_FSM_PARTIAL);
	baton_driver_done(&d, &b.sent[0], BATON_FSM_PARTIAL);
	ck_assert_uint_eq(baton_fsm_db(&f, moved)->epoch, 2);
	ck_assert_uint_eq(baton_fsm_db(&f, moved)->renew_seq, 0);
	ck_assert_uint_eq(baton_fsm_db(&f, kept)->renew_seq, 2);
	ck_assert(!baton_driver_lease_valid(&d, moved, 1, now + 600));
	ck_assert(baton_driver_lease_valid(&d, kept, 1, now + 2000));
	ck_assert_uint_eq(d.stats.renewals_refused, 1);
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* A batch that never committed (no leader, a lost answer) frees its
 * places: the next renewal goes out on time. One that could not be sent
 * takes none. */
START_TEST(an_unknown_batch_frees_the_pipeline)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct batcher b;
	uint64_t now = 1000000;

	fleet_setup(&f, &rf, &d, &b, 10);
	for (unsigned round = 0; round < 5; round++) {
		b.n_sent = 0;
		baton_driver_tick(&d, &f, false, now + 500 * round);
		ck_assert_uint_eq(b.n_sent, 3);
		for (unsigned i = 0; i < b.n_sent; i++) {
			baton_driver_done(&d, &b.sent[i], 0);
		}
	}
	ck_assert_uint_eq(d.stats.renewals_unknown, 5 * FLEET);
	ck_assert(!baton_driver_lease_valid(&d, "fleet/db-000", 1, now));
	/* no leader known three times in a row (as many as the pipeline
	 * holds, none old enough to be forgotten): still every place free */
	b.refuse = true;
	for (unsigned round = 5; round < 5 + BATON_DRIVER_RENEW_PIPELINE;
	     round++) {
		baton_driver_tick(&d, &f, false, now + 500 * round);
	}
	b.refuse = false;
	b.n_sent = 0;
	baton_driver_tick(&d, &f, false,
			  now + 500 * (5 + BATON_DRIVER_RENEW_PIPELINE));
	ck_assert_uint_eq(b.n_sent, 3);
	ck_assert_uint_eq(d.stats.renewals_sent, 6 * FLEET);
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* ---- the primary region's designated instance ----------------------- */

struct gate {
	struct baton_region_report rep;
	unsigned renewals; /* RENEW_BATCH proposals */
	unsigned lost;	   /* LOST proposals */
};

static void gate_report(void *data, const char *db,
			struct baton_region_report *out)
{
	struct gate *g = data;
	(void)db;
	*out = g->rep;
}

static int gate_propose(void *data, const struct baton_cmd *cmd)
{
	struct gate *g = data;
	g->renewals += cmd->type == BATON_CMD_RENEW_BATCH;
	g->lost += cmd->type == BATON_CMD_LOST;
	return 0;
}

/* Issue 15 item 4: the primary region's pod 0 (the instance promoted and
 * given the lease) is dead beside a healthy pod 1. The region stops
 * renewing, so the lease lapses and a failover starts (here, as the Raft
 * leader too, a synchronous one: lost()); it does not renew forever on a
 * sibling's health with no instance writable. */
START_TEST(renewals_stop_when_the_designated_instance_does_not_serve)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d;
	struct gate g = {.rep = {.healthy = true, .primary_ready = false}};
	struct baton_driver_ops ops = {
	    .data = &g, .report = gate_report, .propose = gate_propose};
	struct baton_cmd c;
	uint64_t now = 1000000;

	baton_fsm_init(&f, &rf);
	c = register_cmd("lab/orders");
	c.cfg.synchronous = true;
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
	c = cmd(BATON_CMD_REPORT, "r1", 1);
	c.healthy = 1;
	ck_assert_int_eq(tst_fsm_apply(&f, &c), BATON_FSM_OK);
	baton_driver_init(&d, "r0", &ops, 0, 1);
	for (uint64_t t = 0; t <= 3000; t += 100) {
		baton_driver_tick(&d, &f, true, now + t);
	}
	ck_assert_uint_eq(g.renewals, 0);
	ck_assert_uint_ge(g.lost, 1);
	baton_driver_close(&d);

	/* pod 0 serves: the region renews */
	g = (struct gate){.rep = {.healthy = true, .primary_ready = true}};
	baton_driver_init(&d, "r0", &ops, 0, 2);
	baton_driver_tick(&d, &f, false, now + 5000);
	ck_assert_uint_eq(g.renewals, 1);
	baton_driver_close(&d);
	baton_fsm_close(&rf);
}
END_TEST

/* ---- designation (4b): the driver runs consensus/designate.c ---------- */

/* Two regions' drivers over one FSM: r0 the primary, r1 a standby whose
 * designated instance (ordinal 0) is gone beside a healthy ordinal 1. The
 * test is the log: what a driver proposes is applied (or refused) by the
 * test, and every apply reaches both drivers, as batond's observer does. */
struct desig_world {
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_driver d0, d1;
	uint64_t now;
	/* the views the op gives */
	bool r1_pod0_gone;
	uint64_t answer_gen, answer_x; /* r0's `standbys` answer, 0: none */
	/* what was proposed and not yet handed back */
	struct baton_cmd pending[4];
	unsigned n_pending;
	unsigned views;	     /* op calls */
	unsigned designates; /* DESIGNATE proposals */
	/* REPORTs proposed (applied after each tick), and the FSM's
	 * verdict on the last one */
	struct baton_cmd reports[8];
	unsigned n_reports, reports_applied;
	int last_report_result;
	/* final REPORTs of the spare slot the FSM accepted, and the
	 * ordinals the final op was asked about (a bit each) */
	unsigned spare_finals_ok;
	uint16_t finals_asked;
	/* r0's designated instance does not serve; its ordinal 1 does
	 * (design §4: the region's own word) */
	bool r0_down;
	bool r1_down;	      /* the same of r1's */
	bool r0_asks_stopped; /* r0's serves but cannot hold the lease */
	/* the last PROMOTE proposed, and how many */
	struct baton_cmd promote;
	unsigned promotes;
	struct baton_cmd batch; /* the last RENEW_BATCH (not applied) */
	/* the fleet's level the op says (desig_setup_gated), the LEVELs
	 * proposed (not applied) and by whom */
	uint32_t known_level;
	struct baton_cmd level;
	unsigned levels, levels_by_d1;
	unsigned report_batches; /* REPORT_BATCH proposals */
};

static struct desig_world *dw;

static void desig_observer(struct baton_fsm *f, const struct baton_cmd *cmd,
			   int result, void *data)
{
	(void)data;
	baton_driver_applied(&dw->d0, f, cmd, result, dw->now);
	baton_driver_applied(&dw->d1, f, cmd, result, dw->now);
}

static int desig_propose(void *data, const struct baton_cmd *cmd)
{
	(void)data;
	/* a REPORT_BATCH (fleet level 2) is applied as the REPORTs are */
	if ((cmd->type == BATON_CMD_REPORT ||
	     cmd->type == BATON_CMD_REPORT_BATCH) &&
	    dw->n_reports < 8) {
		dw->reports[dw->n_reports++] = *cmd;
	}
	dw->report_batches += cmd->type == BATON_CMD_REPORT_BATCH;
	if (cmd->type == BATON_CMD_RENEW_BATCH) {
		dw->batch = *cmd;
	}
	if (cmd->type == BATON_CMD_PROMOTE) {
		dw->promote = *cmd;
		dw->promotes++;
	}
	if (cmd->type == BATON_CMD_LEVEL) {
		dw->level = *cmd;
		dw->levels++;
		dw->levels_by_d1 += data == &dw->d1;
	}
	if (cmd->type == BATON_CMD_DESIGNATE) {
		ck_assert_uint_lt(dw->n_pending, 4);
		dw->pending[dw->n_pending++] = *cmd;
		dw->designates++;
	}
	return 0;
}

static bool desig_view(void *data, const char *db,
		       struct baton_designate_input *in, uint64_t now)
{
	struct baton_driver *d = data;
	const struct baton_db_state *st = in->st;

	(void)db;
	dw->views++;
	ck_assert_ptr_nonnull(st);
	ck_assert_uint_eq(in->applied, dw->f.applied);
	ck_assert_uint_eq(in->redesignate_after_ms,
			  BATON_DESIGNATE_AFTER_DEFAULT_MS);
	in->max_lag_bytes = 1000;
	if (d == &dw->d1) {
		ck_assert_int_eq(in->me, 1);
		for (int k = 0; k < 2; k++) {
			struct baton_designate_pod *p = &in->pods[k];
			p->exists = true;
			p->ready = true;
			p->status_age_ms = 100;
			p->serving = true;
			p->follows_epoch = st->epoch;
			p->upstream_primary = true;
			p->lag_bytes = 10;
		}
		if (dw->r1_pod0_gone) {
			in->pods[0] = (struct baton_designate_pod){
			    .exists = true,
			    .gone = true,
			    .gone_since_ms = 1000000,
			    .status_age_ms = BATON_DESIGNATE_NO_STATUS};
		}
		return true;
	}
	ck_assert_int_eq(in->me, 0);
	in->primary.status = true;
	in->primary.status_epoch = st->epoch;
	in->primary.status_ms = now;
	/* r1's ordinal 0 has no walsender, ordinal 1 is quorum */
	in->primary.standby[1][1].walsender = true;
	in->primary.standby[1][1].quorum = true;
	in->primary.standby[1][1].flush = 9000;
	if (dw->answer_gen != 0) {
		in->primary.answer = true;
		in->primary.answer_epoch = st->epoch;
		in->primary.answer_gen = dw->answer_gen;
		in->primary.answer_x = dw->answer_x;
		in->primary.answer_ms = now;
	}
	return true;
}

/* Each region's report: every designated instance serves (r0's does not
 * while r0_down), and each region has a healthy sibling, ordinal 1, which
 * only the primary region's driver may report, and only while its own
 * instance is down. */
static void desig_report(void *data, const char *db,
			 struct baton_region_report *out)
{
	bool down = (data == &dw->d0 && dw->r0_down) ||
		    (data == &dw->d1 && dw->r1_down);

	(void)db;
	/* r0_asks_stopped: its agent serves but no longer asks for its
	 * lease (a lost node: the status is still fresh) */
	out->healthy = !down;
	out->primary_ready = !down && !(data == &dw->d0 && dw->r0_asks_stopped);
	out->position = 4000;
	out->spare = (struct baton_spare_report){.present = true,
						 .ordinal = 1,
						 .healthy = true,
						 .position = 4242,
						 .follows_epoch = 1};
}

/* Tick both drivers from NOW to NOW + MS every 100 ms. */
static void desig_run(uint64_t ms)
{
	for (uint64_t end = dw->now + ms; dw->now < end; dw->now += 100) {
		baton_driver_tick(&dw->d0, &dw->f, true, dw->now);
		baton_driver_tick(&dw->d1, &dw->f, false, dw->now);
		for (unsigned k = 0; k < dw->n_reports; k++) {
			dw->last_report_result =
			    tst_fsm_apply(&dw->f, &dw->reports[k]);
			dw->reports_applied++;
			if (dw->reports[k].spare && dw->reports[k].final &&
			    dw->last_report_result == BATON_FSM_OK) {
				dw->spare_finals_ok++;
			}
		}
		dw->n_reports = 0;
	}
}

/* The one proposal pending: of STEP and ORDINAL, from D, applied with the
 * FSM's verdict (expected OK) and handed back to D. */
static void desig_commit(struct baton_driver *d, int step, int ordinal)
{
	struct baton_cmd c;
	int rv;

	ck_assert_uint_eq(dw->n_pending, 1);
	c = dw->pending[0];
	dw->n_pending = 0;
	ck_assert_int_eq(c.type, BATON_CMD_DESIGNATE);
	ck_assert_str_eq(c.region, "r1");
	ck_assert_int_eq(c.step, step);
	ck_assert_int_eq(c.ordinal, ordinal);
	rv = tst_fsm_apply(&dw->f, &c);
	ck_assert_str_eq(baton_fsm_result_name(rv),
			 baton_fsm_result_name(BATON_FSM_OK));
	baton_driver_done(d, &c, rv);
}

/* r1's final positions in a failover round: each instance detached at
 * its own position, ordinal 0 at 7777 and ordinal 1 at 8888 */
static bool desig_final(void *data, const char *db, uint64_t epoch,
			uint64_t round, int ordinal,
			struct baton_region_report *out)
{
	(void)data;
	(void)db;
	(void)epoch;
	(void)round;
	ck_assert_int_ge(ordinal, 0);
	ck_assert_int_lt(ordinal, BATON_ORDINALS);
	dw->finals_asked |= BATON_ORDINAL_BIT(ordinal);
	out->healthy = true;
	out->position = ordinal == 0 ? 7777 : 8888;
	return true;
}

static uint32_t desig_level(void *data)
{
	/* asked by the leader only */
	ck_assert_ptr_eq(data, &dw->d0);
	return dw->known_level;
}

static void desig_setup_ops(bool designation, bool gated)
{
	struct baton_driver_ops ops = {.report = desig_report,
				       .propose = desig_propose,
				       .final_report = desig_final};
	struct baton_cmd c;

	dw = calloc(1, sizeof *dw);
	ck_assert_ptr_nonnull(dw);
	dw->now = 1000000;
	baton_fsm_init(&dw->f, &dw->rf);
	dw->f.observer = desig_observer;
	c = register_cmd("lab/orders");
	c.cfg.synchronous = true;
	c.cfg.max_lag_bytes = 1000;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	if (designation) {
		ops.designate = desig_view;
	}
	if (gated) {
		ops.fleet_level = desig_level;
	}
	ops.data = &dw->d0;
	baton_driver_init(&dw->d0, "r0", &ops, 0, 1);
	ops.data = &dw->d1;
	baton_driver_init(&dw->d1, "r1", &ops, 0, 2);
}

static void desig_setup(bool designation)
{
	desig_setup_ops(designation, false);
}

static void desig_teardown(void)
{
	baton_driver_close(&dw->d0);
	baton_driver_close(&dw->d1);
	baton_fsm_close(&dw->rf);
	free(dw);
	dw = NULL;
}

/* Without the op (batond without --designation, a fleet mid-upgrade)
 * nothing is proposed and nothing is kept, whatever the pods show. */
START_TEST(designation_off_proposes_nothing)
{
	desig_setup(false);
	dw->r1_pod0_gone = true;
	desig_run(120000);
	ck_assert_uint_eq(dw->designates, 0);
	ck_assert_ptr_null(baton_driver_designation(&dw->d1, "lab/orders"));
	ck_assert_uint_eq(baton_driver_need_gen(&dw->d0, "lab/orders"), 0);
	ck_assert_uint_eq(baton_index_count(&dw->d1.desig), 0);
	desig_teardown();
}
END_TEST

/* A dead designated standby is moved through the three steps, each
 * proposed by its side: JOIN by the standby region, LEAVE and RELEASE by
 * the primary's; RELEASE waits for an answer at the G the driver names
 * (the applied count at which LEAVE applied, known to r0's driver only
 * through the applies it observed). */
START_TEST(a_dead_designated_standby_moves_join_leave_release)
{
	const struct baton_region_state *r1;
	uint64_t leave_applied, need;
	struct baton_cmd c;

	desig_setup(true);
	desig_run(3000);
	ck_assert_uint_eq(dw->designates, 0); /* everyone serves */
	ck_assert_uint_gt(dw->views, 0);

	dw->r1_pod0_gone = true; /* since 1,000,000: 3 s ago */
	desig_run(6000);
	ck_assert_uint_eq(dw->designates, 0); /* not yet 10 s */
	desig_run(2000);
	ck_assert_uint_eq(dw->designates, 1);
	desig_commit(&dw->d1, BATON_DESIGNATE_JOIN, 1);

	desig_run(1100); /* r0 sees ordinal 1 quorum, 0 without walsender */
	desig_commit(&dw->d0, BATON_DESIGNATE_LEAVE, 0);
	leave_applied = dw->f.applied;
	/* other commands apply before r0 judges again */
	c = cmd(BATON_CMD_REPORT, "r1", 1);
	c.healthy = 1;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	desig_run(1100);
	need = baton_driver_need_gen(&dw->d0, "lab/orders");
	ck_assert_uint_eq(need, leave_applied);
	ck_assert_uint_eq(dw->n_pending, 0); /* no answer yet */
	ck_assert_str_ne(baton_driver_designation(&dw->d0, "lab/orders"), "");

	/* an answer below it proves nothing; at it, with b past X, does */
	dw->answer_gen = need - 1;
	dw->answer_x = 5000;
	desig_run(1100);
	ck_assert_uint_eq(dw->n_pending, 0);
	dw->answer_gen = need;
	desig_run(1100);
	desig_commit(&dw->d0, BATON_DESIGNATE_RELEASE, 0);
	r1 = &baton_fsm_db(&dw->f, "lab/orders")->regions[1];
	ck_assert_int_eq(r1->designated, 1);
	ck_assert_uint_eq(r1->members, 0x2);
	ck_assert_uint_eq(r1->listed, 0x2);
	ck_assert_uint_eq(dw->designates, 3);
	desig_teardown();
}
END_TEST

/* r1's designated ordinal 0 gone: r1 JOINs ordinal 1, then the primary
 * r0 LEAVEs ordinal 0 out of the list; no RELEASE yet: M(r1) = {0, 1},
 * L(r1) = {1}, ordinal 0 still designated (a move past LEAVE). */
static void desig_move_past_leave(void)
{
	desig_setup(true);
	dw->r1_pod0_gone = true;
	desig_run(11000);
	desig_commit(&dw->d1, BATON_DESIGNATE_JOIN, 1);
	desig_run(1100);
	desig_commit(&dw->d0, BATON_DESIGNATE_LEAVE, 0);
}

/* After a move, r1's reports are about its new designated instance
 * (ordinal 1): the FSM takes them, the final position of a failover round
 * included. Found by the kill-instance drill: reports named ordinal 0
 * whatever the FSM designated, every one was refused as stale, and a
 * synchronous failover waited forever for r1's final position. */
START_TEST(reports_name_the_designated_instance_after_a_move)
{
	const struct baton_db_state *st;
	struct baton_cmd c;

	desig_move_past_leave();
	dw->answer_gen = dw->f.applied;
	dw->answer_x = 5000;
	desig_run(1100);
	desig_commit(&dw->d0, BATON_DESIGNATE_RELEASE, 0);
	st = baton_fsm_db(&dw->f, "lab/orders");
	ck_assert_int_eq(st->regions[1].designated, 1);

	/* the primary's lease lapsed: a synchronous failover round */
	c = cmd(BATON_CMD_LOST, "r0", 1);
	c.renew_seq = st->renew_seq;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	dw->reports_applied = 0;
	desig_run(1000);
	ck_assert_uint_gt(dw->reports_applied, 0);
	ck_assert_str_eq(baton_fsm_result_name(dw->last_report_result),
			 baton_fsm_result_name(BATON_FSM_OK));
	st = baton_fsm_db(&dw->f, "lab/orders");
	ck_assert(st->regions[1].final);
	ck_assert_uint_eq(st->regions[1].position, 8888); /* ordinal 1's */
	desig_teardown();
}
END_TEST

/* A synchronous failover that starts mid-move (design §3.5): r1's JOIN(1)
 * and the primary's LEAVE(0) applied, no RELEASE, so M(r1) = {0, 1} and
 * the decider waits for both finals. r1's driver asks for each member's
 * final and proposes ordinal 1's as a spare REPORT, which the FSM takes
 * into r1's spare slot: nothing is missing any more. Before, only the
 * designated instance's final was reported and the failover waited for
 * the joiner's for good (baton_sim --end kill-primary-mid-move). */
START_TEST(a_move_in_flight_reports_every_member_s_final)
{
	const struct baton_db_state *st;
	const struct baton_region_state *r1;
	struct baton_cmd c;
	int ordinal = -1;

	desig_move_past_leave();
	st = baton_fsm_db(&dw->f, "lab/orders");
	r1 = &st->regions[1];
	ck_assert_int_eq(r1->designated, 0);
	ck_assert_uint_eq(r1->members, 0x3);
	ck_assert_uint_eq(r1->listed, 0x2);

	/* the primary died before its RELEASE: a failover round */
	c = cmd(BATON_CMD_LOST, "r0", 1);
	c.renew_seq = st->renew_seq;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	dw->finals_asked = 0;
	dw->spare_finals_ok = 0;
	desig_run(1000);
	st = baton_fsm_db(&dw->f, "lab/orders");
	r1 = &st->regions[1];
	ck_assert_uint_eq(st->phase, BATON_PHASE_FAILING_OVER);
	/* both members were asked, each for its own final */
	ck_assert_uint_eq(dw->finals_asked, 0x3);
	ck_assert(r1->final);
	ck_assert_uint_eq(r1->position, 7777);
	ck_assert_uint_ge(dw->spare_finals_ok, 1);
	ck_assert_int_eq(r1->spare.ordinal, 1);
	ck_assert(r1->spare.final);
	ck_assert_uint_eq(r1->spare.report_epoch, st->epoch);
	ck_assert_uint_eq(r1->spare.position, 8888);
	/* r1 is complete: the decider waits for no member of it */
	ck_assert(baton_decider_missing_instance(st, &ordinal) != 1);
	/* and once held, neither final is asked again */
	dw->finals_asked = 0;
	desig_run(1000);
	ck_assert_uint_eq(dw->finals_asked, 0);
	desig_teardown();
}
END_TEST

/* Design §9 note 51: a promote that reset a move past LEAVE drops the
 * listed member, which may hold the promote floor alone. In the next
 * round its region reports that instance's final too (the spare slot, no
 * member), so the decider has a candidate at the floor instead of waiting
 * for the promoted primary to come back. */
START_TEST(a_member_the_promote_dropped_reports_its_final_after_a_floor)
{
	const struct baton_db_state *st;
	const struct baton_region_state *r1;
	struct baton_cmd c;
	int ordinal = -1;

	desig_move_past_leave();
	st = baton_fsm_db(&dw->f, "lab/orders");
	c = cmd(BATON_CMD_LOST, "r0", 1);
	c.renew_seq = st->renew_seq;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	desig_run(1000); /* r1's finals: 7777 (ordinal 0), 8888 (1) */
	st = baton_fsm_db(&dw->f, "lab/orders");
	ck_assert(st->regions[1].spare.final);

	/* r2 (no driver here) is promoted on a final of its own; the
	 * reset drops r1's ordinal 1, which held 8888: the floor */
	c = cmd(BATON_CMD_REPORT, "r2", 1);
	c.healthy = 1;
	c.final = 1;
	c.position = 8888;
	c.round = st->round;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	c = cmd(BATON_CMD_PROMOTE, "r2", 2);
	c.renew_seq = st->renew_seq;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	st = baton_fsm_db(&dw->f, "lab/orders");
	r1 = &st->regions[1];
	ck_assert_int_eq(st->primary, 2);
	ck_assert_uint_eq(st->promote_floor, 8888);
	ck_assert_int_eq(r1->designated, 0);
	ck_assert_uint_eq(r1->members, 0x1);
	ck_assert_int_eq(r1->spare.ordinal, 1);

	/* r2 is lost before anyone caught up with it: a round at epoch 2 */
	c = cmd(BATON_CMD_LOST, "r2", 2);
	c.renew_seq = st->renew_seq;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	dw->finals_asked = 0;
	for (uint64_t end = dw->now + 1000; dw->now < end; dw->now += 100) {
		baton_driver_tick(&dw->d1, &dw->f, false, dw->now);
		for (unsigned k = 0; k < dw->n_reports; k++) {
			(void)tst_fsm_apply(&dw->f, &dw->reports[k]);
		}
		dw->n_reports = 0;
	}
	st = baton_fsm_db(&dw->f, "lab/orders");
	r1 = &st->regions[1];
	ck_assert_uint_eq(st->phase, BATON_PHASE_FAILING_OVER);
	ck_assert_uint_eq(dw->finals_asked, 0x3);
	ck_assert(r1->final);
	ck_assert_uint_eq(r1->position, 7777);
	ck_assert(r1->spare.final);
	ck_assert_uint_eq(r1->spare.report_epoch, 2);
	ck_assert_uint_eq(r1->spare.position, 8888);
	/* the member below the floor is no candidate; the dropped one is */
	ck_assert_int_eq(baton_decider_pick_instance(st, 2, true, &ordinal), 1);
	ck_assert_int_eq(ordinal, 1);
	desig_teardown();
}
END_TEST

/* The count of spare REPORTs (not final) REGION proposed in the last run:
 * the reports proposed are kept in dw->reports until applied, so count
 * them in the proposer instead. */
static unsigned spare_reports_of(const char *region)
{
	unsigned n = 0;

	for (unsigned k = 0; k < dw->n_reports; k++) {
		if (dw->reports[k].spare && !dw->reports[k].final &&
		    strcmp(dw->reports[k].region, region) == 0) {
			n++;
		}
	}
	return n;
}

/* Tick both drivers for MS and count the spare REPORTs (not final) REGION
 * proposed, each applied as it came. */
static unsigned spare_run(uint64_t ms, const char *region)
{
	unsigned n = 0;

	for (uint64_t end = dw->now + ms; dw->now < end; dw->now += 100) {
		baton_driver_tick(&dw->d0, &dw->f, true, dw->now);
		baton_driver_tick(&dw->d1, &dw->f, false, dw->now);
		n += spare_reports_of(region);
		for (unsigned k = 0; k < dw->n_reports; k++) {
			dw->last_report_result =
			    tst_fsm_apply(&dw->f, &dw->reports[k]);
		}
		dw->n_reports = 0;
	}
	return n;
}

/* Design §4, the region's own word: the primary region reports its
 * sibling in the spare slot only while it says its designated instance is
 * down, once per change; a standby region never does outside a failover
 * (its spare slot is designation's), and nothing at all without
 * designation (an older batond refuses spare reports). */
START_TEST(the_primary_region_reports_its_sibling_only_when_its_own_is_down)
{
	const struct baton_region_state *r0;

	desig_setup(false);
	dw->r0_down = true;
	ck_assert_uint_eq(spare_run(5000, "r0"), 0);
	desig_teardown();

	desig_setup(true);
	ck_assert_uint_eq(spare_run(5000, "r0"), 0); /* it serves */
	/* serving but not asking (no renewal goes out): down in r0's word
	 * at once, not once its status goes stale */
	dw->r0_asks_stopped = true;
	ck_assert_uint_eq(spare_run(1100, "r0"), 1);
	ck_assert(!baton_fsm_db(&dw->f, "lab/orders")->regions[0].healthy);
	desig_teardown();

	desig_setup(true);
	dw->r0_down = true;
	ck_assert_uint_eq(spare_run(1100, "r0"), 1);
	ck_assert_str_eq(baton_fsm_result_name(dw->last_report_result),
			 baton_fsm_result_name(BATON_FSM_OK));
	r0 = &baton_fsm_db(&dw->f, "lab/orders")->regions[0];
	ck_assert(!r0->healthy);
	ck_assert_int_eq(r0->designated, 0);
	ck_assert_int_eq(r0->spare.ordinal, 1);
	ck_assert(r0->spare.healthy);
	ck_assert_uint_eq(r0->spare.position, 4242);
	ck_assert_uint_eq(r0->spare.report_epoch, 1);
	/* said once: nothing new, nothing sent */
	ck_assert_uint_eq(spare_run(5000, "r0"), 0);
	/* the standby region has a healthy sibling all along, and says
	 * nothing of it even with its own instance down */
	dw->r1_down = true;
	ck_assert_uint_eq(spare_run(2000, "r1"), 0);
	desig_teardown();
}
END_TEST

/* Designation waits for the fleet's level (driver step 6): a batond run
 * with designation in a fleet whose members have not all said they know
 * DESIGNATE proposes no DESIGNATE, no spare REPORT, and does not fold
 * "cannot hold the lease" into its health; the leader proposes LEVEL once
 * every member knows it (only the leader, again only after 5 s when it
 * did not apply, never above this batond's own level), and once it has
 * applied designation is on. */
START_TEST(designation_waits_for_the_fleet_level)
{
	desig_setup_ops(true, true);
	dw->known_level = 0; /* a member has not answered, or is older */
	dw->r1_pod0_gone = true;
	dw->r0_asks_stopped = true;
	ck_assert_uint_eq(spare_run(60000, "r0"), 0);
	ck_assert_uint_eq(dw->designates, 0);
	ck_assert_uint_eq(dw->levels, 0);
	ck_assert(baton_fsm_db(&dw->f, "lab/orders")->regions[0].healthy);
	ck_assert_uint_eq(baton_index_count(&dw->d1.desig), 0);

	dw->known_level = 7; /* a newer member: capped at this one's */
	spare_run(100, "r0");
	ck_assert_uint_eq(dw->levels, 1);
	ck_assert_uint_eq(dw->level.level, BATON_COMMAND_LEVEL);
	ck_assert_uint_eq(dw->levels_by_d1, 0);
	spare_run(4800, "r0");
	ck_assert_uint_eq(dw->levels, 1); /* in flight */
	spare_run(300, "r0");
	ck_assert_uint_eq(dw->levels, 2); /* not applied: asked again */
	ck_assert_uint_eq(dw->f.fleet_level, 0);
	ck_assert_uint_eq(dw->designates, 0);
	ck_assert_uint_eq(dw->report_batches, 0); /* every report alone */
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &dw->level), BATON_FSM_OK);
	ck_assert_uint_eq(dw->f.fleet_level, BATON_COMMAND_LEVEL);
	ck_assert_uint_ge(dw->f.fleet_level, BATON_LEVEL_DESIGNATION);
	/* on: r0 says its instance cannot hold the lease, and its sibling */
	ck_assert_uint_eq(spare_run(1100, "r0"), 1);
	ck_assert(!baton_fsm_db(&dw->f, "lab/orders")->regions[0].healthy);
	spare_run(60000, "r0");
	ck_assert_uint_gt(dw->designates, 0); /* r1's move of its dead 0 */
	ck_assert_uint_eq(dw->levels, 2);     /* at its level: no more */
	/* and level 2: the periodic reports (r0's "down" above) batched */
	ck_assert_uint_gt(dw->report_batches, 0);
	desig_teardown();
}
END_TEST

/* r0's designated instance is down and its sibling said so (above); the
 * lease lapses and a synchronous round starts: r0's driver asks for its
 * spare slot's final (the op detaches it) and proposes it; at 8888 it is
 * at or past r1's member final (7777), so the leader promotes r0's
 * ordinal 1 at epoch 2. The promote ends r0's lease although it names r0
 * again. */
START_TEST(a_lost_region_s_sibling_is_promoted_on_its_final)
{
	const struct baton_db_state *st;
	struct baton_cmd c;

	desig_setup(true);
	dw->r0_down = true;
	(void)spare_run(1100, "r0");
	st = baton_fsm_db(&dw->f, "lab/orders");
	ck_assert_int_eq(st->regions[0].spare.ordinal, 1);

	c = cmd(BATON_CMD_LOST, "r0", 1);
	c.renew_seq = st->renew_seq;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	/* r2 has no driver here: its final by hand, below r1's */
	c = cmd(BATON_CMD_REPORT, "r2", 1);
	c.healthy = 1;
	c.final = 1;
	c.position = 100;
	c.round = st->round;
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	dw->finals_asked = 0;
	dw->promotes = 0;
	desig_run(3000);
	st = baton_fsm_db(&dw->f, "lab/orders");
	ck_assert(dw->finals_asked & BATON_ORDINAL_BIT(1));
	ck_assert(st->regions[0].spare.final);
	ck_assert_uint_eq(st->regions[0].spare.position, 8888);
	ck_assert_uint_eq(dw->promotes, 1);
	ck_assert_str_eq(dw->promote.region, "r0");
	ck_assert_int_eq(dw->promote.ordinal, 1);
	ck_assert_uint_eq(dw->promote.epoch, 2);
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &dw->promote), BATON_FSM_OK);
	st = baton_fsm_db(&dw->f, "lab/orders");
	ck_assert_int_eq(st->primary, 0);
	ck_assert_int_eq(st->regions[0].designated, 1);
	ck_assert(!baton_driver_lease_valid(&dw->d0, "lab/orders", 1, dw->now));
	ck_assert(!baton_driver_lease_valid(&dw->d0, "lab/orders", 2, dw->now));
	desig_teardown();
}
END_TEST

/* A promote ends this region's lease even when it names this region again
 * (a sibling at E + 1, design §4): nothing of E's lease is left to grant
 * from. */
START_TEST(a_sibling_promote_ends_the_region_s_own_lease)
{
	const struct baton_db_state *st;
	struct baton_cmd c;

	desig_setup(true);
	desig_run(600);
	ck_assert_str_eq(dw->batch.region, "r0");
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &dw->batch), BATON_FSM_OK);
	baton_driver_done(&dw->d0, &dw->batch, BATON_FSM_OK);
	ck_assert(baton_driver_lease_valid(&dw->d0, "lab/orders", 1, dw->now));
	dw->r0_down = true;
	(void)spare_run(1000, "r0");
	st = baton_fsm_db(&dw->f, "lab/orders");
	ck_assert_int_eq(st->regions[0].spare.ordinal, 1);
	ck_assert(baton_driver_lease_valid(&dw->d0, "lab/orders", 1, dw->now));
	c = cmd(BATON_CMD_PROMOTE, "r0", 2);
	c.ordinal = 1;
	c.renew_seq = st->renew_seq;
	c.reason = BATON_REASON_LEASE_EXPIRED;
	ck_assert_str_eq(baton_fsm_result_name(tst_fsm_apply(&dw->f, &c)),
			 baton_fsm_result_name(BATON_FSM_OK));
	ck_assert_int_eq(
	    baton_fsm_db(&dw->f, "lab/orders")->regions[0].designated, 1);
	ck_assert(!baton_driver_lease_valid(&dw->d0, "lab/orders", 1, dw->now));
	/* and no barrier: a renewal at E + 1 sent in the very millisecond
	 * the promote applied counts (a barrier there cost every sibling
	 * failover a renewal interval) */
	c = dw->batch;
	c.send_ms = dw->now;
	c.n_items = 1;
	c.items[0].epoch = 2;
	c.items[0].round = baton_fsm_db(&dw->f, "lab/orders")->round;
	ck_assert_str_eq(baton_fsm_result_name(tst_fsm_apply(&dw->f, &c)),
			 baton_fsm_result_name(BATON_FSM_OK));
	baton_driver_done(&dw->d0, &c, BATON_FSM_OK);
	ck_assert(baton_driver_lease_valid(&dw->d0, "lab/orders", 2, dw->now));
	desig_teardown();
}
END_TEST

/* One DESIGNATE per database in flight: nothing more while its outcome
 * is out; a refusal hands it back and it is judged afresh. The view is
 * asked about once per report interval, not every tick. */
START_TEST(one_designation_in_flight_and_judged_once_a_second)
{
	struct baton_cmd c;
	unsigned views;

	desig_setup(true);
	dw->r1_pod0_gone = true;
	desig_run(11000);
	ck_assert_uint_eq(dw->designates, 1);
	views = dw->views;
	desig_run(10000);
	ck_assert_uint_eq(dw->designates, 1);
	/* r0 still judges (once a second), r1 waits for its outcome */
	ck_assert_uint_le(dw->views - views, 11);
	ck_assert_uint_ge(dw->views - views, 9);
	/* lost a race: refused, judged again, proposed again */
	c = dw->pending[0];
	dw->n_pending = 0;
	baton_driver_done(&dw->d1, &c, BATON_FSM_STALE_DESIGNATION);
	desig_run(1100);
	ck_assert_uint_eq(dw->designates, 2);
	desig_teardown();
}
END_TEST

/* A removed database's designation memory goes with it (and a restore
 * keeps only the databases the snapshot has). */
START_TEST(designation_memory_goes_with_the_database)
{
	struct baton_cmd c;

	desig_setup(true);
	desig_run(1100);
	ck_assert_ptr_nonnull(baton_driver_designation(&dw->d1, "lab/orders"));
	c = cmd(BATON_CMD_REMOVE, "r0", 1);
	ck_assert_int_eq(tst_fsm_apply(&dw->f, &c), BATON_FSM_OK);
	ck_assert_ptr_null(baton_driver_designation(&dw->d1, "lab/orders"));
	ck_assert_ptr_null(baton_driver_designation(&dw->d0, "lab/orders"));
	ck_assert_uint_eq(baton_index_count(&dw->d0.desig), 0);
	desig_teardown();
}
END_TEST

static Suite *driver_suite(void)
{
	Suite *s = suite_create("consensus_driver");
	TCase *tc = tcase_create("driver");
	tcase_add_test(tc, switchover_target_reports_catch_up_at_once);
	tcase_add_test(tc, a_region_on_an_earlier_timeline_reports_nothing);
	tcase_add_test(tc, a_switchover_in_progress_is_not_a_lost_primary);
	tcase_add_test(tc, a_promote_applied_ends_the_lost_primary_at_once);
	tcase_add_test(tc, other_regions_keep_the_cadence);
	tcase_add_test(tc, one_tick_renews_every_database_in_batches);
	tcase_add_test(tc, periodic_reports_are_batched_at_level_2_only);
	tcase_add_test(tc, final_and_catch_up_reports_are_never_batched);
	tcase_add_test(tc, a_final_on_its_way_is_not_sent_again);
	tcase_add_test(tc,
		       a_replayed_batch_of_an_earlier_process_extends_nothing);
	tcase_add_test(tc, each_item_has_its_own_verdict);
	tcase_add_test(tc, an_unknown_batch_frees_the_pipeline);
	tcase_add_test(
	    tc, renewals_stop_when_the_designated_instance_does_not_serve);
	tcase_add_test(tc, designation_off_proposes_nothing);
	tcase_add_test(tc, designation_waits_for_the_fleet_level);
	tcase_add_test(tc, a_dead_designated_standby_moves_join_leave_release);
	tcase_add_test(tc, one_designation_in_flight_and_judged_once_a_second);
	tcase_add_test(tc, designation_memory_goes_with_the_database);
	tcase_add_test(tc, reports_name_the_designated_instance_after_a_move);
	tcase_add_test(tc, a_move_in_flight_reports_every_member_s_final);
	tcase_add_test(
	    tc, a_member_the_promote_dropped_reports_its_final_after_a_floor);
	tcase_add_test(
	    tc,
	    the_primary_region_reports_its_sibling_only_when_its_own_is_down);
	tcase_add_test(tc, a_lost_region_s_sibling_is_promoted_on_its_final);
	tcase_add_test(tc, a_sibling_promote_ends_the_region_s_own_lease);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(driver_suite)
