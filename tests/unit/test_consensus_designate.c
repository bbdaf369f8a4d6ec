/* Unit tests for consensus/designate: who proposes DESIGNATE, and on what
 * evidence (docs/design-per-instance.md §3.2-§3.7).
 *
 * The FSM is the real one: every proposal the module makes is applied
 * through baton_fsm_apply_buf() (propose_ok(): it must be accepted in the
 * state it was judged on), and the module's memory is fed by the FSM's
 * observer, as batond will. What must hold: each evidence row of §3.7
 * starts a designation at its timer and not a millisecond before; a hold
 * and redesignateAfter 0 never do; the candidate is the least lagging
 * eligible instance, then the lowest ordinal; no JOIN within
 * redesignateAfter of a RELEASE and no move back; LEAVE once the joiner is
 * quorum or the old instance has no walsender; RELEASE only from an
 * answer at the epoch with G at or past LEAVE's applied count, X > 0 and a
 * later flush >= X; give-up after 60 s; the asynchronous direct RELEASE;
 * and a proposal that lost a race is refused by the FSM. */
#include <stdlib.h>
#include <string.h>

#include "consensus/designate.h"
#include "consensus/fsm.h"
#include "harness.h"

#define DB "shop/orders"
#define EU 0 /* the primary region */
#define US 1 /* a standby region with four instances */
#define WIT 2
#define AFTER 30000 /* redesignateAfter */
#define T0 1000000  /* the tests' clock starts here */

static struct baton_fsm fsm;
static struct raft_fsm raft_fsm;
/* each batond's own memory: the standby region's and the primary's */
static struct baton_designate_memory mem_us, mem_eu;
static uint64_t clock_ms; /* what the observer stamps applies with */

static void observe_cb(struct baton_fsm *f, const struct baton_cmd *cmd,
		       int result, void *data)
{
	const struct baton_db_state *st = baton_fsm_db(f, DB);

	(void)data;
	baton_designate_applied(&mem_us, st, cmd, result, f->applied, clock_ms);
	baton_designate_applied(&mem_eu, st, cmd, result, f->applied, clock_ms);
}

static int apply(const struct baton_cmd *c)
{
	uint8_t buf[BATON_CMD_MAX];
	size_t len;

	ck_assert_int_eq(baton_cmd_encode(c, buf, sizeof buf, &len), 0);
	return baton_fsm_apply_buf(&fsm, buf, len);
}

static struct baton_db_state *db(void)
{
	struct baton_db_state *st = baton_fsm_db(&fsm, DB);

	ck_assert_ptr_nonnull(st);
	return st;
}

static void registered(bool synchronous)
{
	struct baton_cmd c;

	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_REGISTER;
	snprintf(c.db, sizeof c.db, DB);
	c.cfg.lease_ms = 10000;
	c.cfg.renew_ms = 1000;
	c.cfg.drift_ppm = 100000;
	c.cfg.margin_ms = 100;
	c.cfg.max_lag_bytes = 1000;
	c.cfg.automatic = true;
	c.cfg.synchronous = synchronous;
	c.n_regions = 3;
	snprintf(c.regions[EU].name, sizeof c.regions[EU].name, "eu");
	snprintf(c.regions[US].name, sizeof c.regions[US].name, "us");
	snprintf(c.regions[WIT].name, sizeof c.regions[WIT].name, "wit");
	c.regions[WIT].role = BATON_ROLE_WITNESS;
	snprintf(c.primary, sizeof c.primary, "eu");
	ck_assert_int_eq(apply(&c), BATON_FSM_OK);
}

static void setup(void)
{
	baton_fsm_init(&fsm, &raft_fsm);
	fsm.observer = observe_cb;
	baton_designate_memory_init(&mem_us);
	baton_designate_memory_init(&mem_eu);
	clock_ms = T0;
	registered(true);
}

static void teardown(void)
{
	baton_fsm_close(&raft_fsm);
}

/* A healthy instance of region US at epoch E: a candidate. */
static struct baton_designate_pod healthy(uint64_t epoch, uint64_t lag)
{
	struct baton_designate_pod p = {
	    .exists = true,
	    .ready = true,
	    .status_age_ms = 500,
	    .serving = true,
	    .follows_epoch = epoch,
	    .upstream_primary = true,
	    .lag_bytes = lag,
	};
	return p;
}

/* US's batond: four healthy instances, lag 10 * ordinal. */
static void us_view(struct baton_designate_input *in)
{
	memset(in, 0, sizeof *in);
	in->st = db();
	in->me = US;
	in->applied = fsm.applied;
	in->redesignate_after_ms = AFTER;
	in->max_lag_bytes = 1000;
	for (int k = 0; k < 4; k++) {
		in->pods[k] = healthy(in->st->epoch, 10 * (uint64_t)k);
	}
}

/* EU's batond: its agent's status, fresh at NOW, with walsenders for
 * every US instance, none quorum. */
static void eu_view(struct baton_designate_input *in, uint64_t now)
{
	memset(in, 0, sizeof *in);
	in->st = db();
	in->me = EU;
	in->applied = fsm.applied;
	in->redesignate_after_ms = AFTER;
	in->max_lag_bytes = 1000;
	in->primary.status = true;
	in->primary.status_epoch = in->st->epoch;
	in->primary.status_ms = now;
	for (int k = 0; k < 4; k++) {
		in->primary.standby[US][k].walsender = true;
	}
}

static bool decide(struct baton_designate_input *in,
		   struct baton_designate_memory *m, uint64_t now,
		   struct baton_designate_out *out)
{
	in->st = db();
	in->applied = fsm.applied;
	return baton_designate_decide(in, m, now, out);
}

/* The module proposes STEP(ordinal) for US at NOW, and the real FSM
 * accepts it in the state it was judged on. */
static void propose_ok(struct baton_designate_input *in,
		       struct baton_designate_memory *m, uint64_t now, int step,
		       int ordinal)
{
	struct baton_designate_out out;
	bool yes = decide(in, m, now, &out);

	ck_assert_msg(yes, "no proposal: %s", out.reason);
	ck_assert_int_eq(out.region, US);
	ck_assert_int_eq(out.cmd.type, BATON_CMD_DESIGNATE);
	ck_assert_str_eq(out.cmd.region, "us");
	ck_assert_int_eq(out.cmd.step, step);
	ck_assert_int_eq(out.cmd.ordinal, ordinal);
	clock_ms = now;
	ck_assert_str_eq(baton_fsm_result_name(apply(&out.cmd)),
			 baton_fsm_result_name(BATON_FSM_OK));
}

static void propose_none(struct baton_designate_input *in,
			 struct baton_designate_memory *m, uint64_t now)
{
	struct baton_designate_out out;
	bool yes = decide(in, m, now, &out);

	ck_assert_msg(!yes, "proposed step %d of %d at %llu: %s", out.cmd.step,
		      out.cmd.ordinal, (unsigned long long)(now - T0),
		      out.reason);
}

/* ---- §3.7: the evidence rows and their timers ---------------------------- */

START_TEST(pod_gone_counts_after_ten_seconds)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	propose_none(&in, &mem_us, T0 + BATON_DESIGNATE_POD_DOWN_MS - 1);
	propose_ok(&in, &mem_us, T0 + BATON_DESIGNATE_POD_DOWN_MS,
		   BATON_DESIGNATE_JOIN, 1);
	ck_assert_uint_eq(db()->regions[US].members, 0x3);
	ck_assert_int_eq(db()->regions[US].spare.ordinal, 1);
}
END_TEST

START_TEST(pod_failed_counts_after_ten_seconds)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].failed = true;
	in.pods[0].failed_since_ms = T0;
	propose_none(&in, &mem_us, T0 + BATON_DESIGNATE_POD_DOWN_MS - 1);
	propose_ok(&in, &mem_us, T0 + BATON_DESIGNATE_POD_DOWN_MS,
		   BATON_DESIGNATE_JOIN, 1);
}
END_TEST

START_TEST(ready_unknown_counts_after_ten_seconds)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].ready_unknown = true;
	in.pods[0].unknown_since_ms = T0 + 500;
	propose_none(&in, &mem_us, T0 + 500 + BATON_DESIGNATE_POD_DOWN_MS - 1);
	propose_ok(&in, &mem_us, T0 + 500 + BATON_DESIGNATE_POD_DOWN_MS,
		   BATON_DESIGNATE_JOIN, 1);
}
END_TEST

/* A status older than STALE_MS counts from when it turned stale, for
 * redesignateAfter: one look, with no memory of earlier ticks. */
START_TEST(agent_silent_counts_after_redesignate_after)
{
	struct baton_designate_input in;
	uint64_t now = T0 + 100000;

	us_view(&in);
	in.pods[0].status_age_ms = BATON_DESIGNATE_STALE_MS + AFTER - 1;
	propose_none(&in, &mem_us, now);
	baton_designate_memory_init(&mem_us);
	in.pods[0].status_age_ms = BATON_DESIGNATE_STALE_MS + AFTER;
	propose_ok(&in, &mem_us, now, BATON_DESIGNATE_JOIN, 1);
}
END_TEST

/* Not serving on a fresh status counts from the first tick that saw it,
 * and serving again starts the count over. */
START_TEST(agent_not_serving_counts_after_redesignate_after)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].serving = false;
	propose_none(&in, &mem_us, T0);
	propose_none(&in, &mem_us, T0 + 20000);
	in.pods[0].serving = true; /* back: the count starts over */
	propose_none(&in, &mem_us, T0 + 20001);
	in.pods[0].serving = false;
	propose_none(&in, &mem_us, T0 + 20002);
	propose_none(&in, &mem_us, T0 + 20002 + AFTER - 1);
	propose_ok(&in, &mem_us, T0 + 20002 + AFTER, BATON_DESIGNATE_JOIN, 1);
}
END_TEST

/* A pod that is gone counts after its own 10 s, whatever the agent row's
 * timer (started at the same time) says: the rows are separate. */
START_TEST(pod_row_needs_only_ten_seconds)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	in.pods[0].serving = false;
	propose_none(&in, &mem_us, T0);
	propose_none(&in, &mem_us, T0 + 9999);
	propose_ok(&in, &mem_us, T0 + 10000, BATON_DESIGNATE_JOIN, 1);
}
END_TEST

/* The caller's clock stepping back shortens no timer. */
START_TEST(a_clock_going_back_starts_nothing)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].serving = false;
	propose_none(&in, &mem_us, T0 + 50000); /* the agent row from here */
	propose_none(&in, &mem_us, T0 + 1000);
	us_view(&in);
	mem_us.regions[US].released = true;
	mem_us.regions[US].release_ms = T0 + 50000;
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	propose_none(&in, &mem_us, T0 + 20000);
}
END_TEST

START_TEST(redesignate_after_zero_never_starts_one)
{
	struct baton_designate_input in;

	us_view(&in);
	in.redesignate_after_ms = 0;
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	in.pods[0].status_age_ms = BATON_DESIGNATE_NO_STATUS;
	propose_none(&in, &mem_us, T0);
	propose_none(&in, &mem_us, T0 + 3600000);
}
END_TEST

START_TEST(a_hold_never_starts_one)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].held = true;
	in.pods[0].failed = true;
	in.pods[0].failed_since_ms = T0;
	in.pods[0].serving = false;
	propose_none(&in, &mem_us, T0);
	propose_none(&in, &mem_us, T0 + 3600000);
	in.pods[0].held = false; /* lifted: the evidence counts again */
	propose_ok(&in, &mem_us, T0 + 3600001, BATON_DESIGNATE_JOIN, 1);
}
END_TEST

START_TEST(nothing_while_the_designated_instance_serves)
{
	struct baton_designate_input in;

	us_view(&in);
	for (uint64_t t = 0; t <= 3600000; t += 60000) {
		propose_none(&in, &mem_us, T0 + t);
	}
	/* the primary region and a witness never start one */
	in.me = EU;
	propose_none(&in, &mem_us, T0);
	in.me = WIT;
	propose_none(&in, &mem_us, T0);
}
END_TEST

/* ---- the candidate --------------------------------------------------------
 */

START_TEST(candidate_least_lag_then_lowest_ordinal)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	in.pods[1].lag_bytes = 500;
	in.pods[2].lag_bytes = 100;
	in.pods[3].lag_bytes = 100;
	propose_ok(&in, &mem_us, T0 + 10000, BATON_DESIGNATE_JOIN, 2);
}
END_TEST

/* Each condition of §3.7's candidate, broken on the only other instance:
 * no JOIN. */
START_TEST(candidate_must_meet_every_condition)
{
	struct baton_designate_input in;
	struct baton_designate_out out;

	for (int c = 0; c < 11; c++) {
		us_view(&in);
		in.pods[0].gone = true;
		in.pods[0].gone_since_ms = T0;
		in.pods[2].exists = in.pods[3].exists = false;
		struct baton_designate_pod *b = &in.pods[1];
		switch (c) {
		case 0:
			b->held = true;
			break;
		case 1:
			b->ready = false;
			break;
		case 2:
			b->serving = false;
			break;
		case 3:
			b->follows_epoch = in.st->epoch - 1;
			break;
		case 4:
			b->upstream_primary = false;
			break;
		case 5:
			b->lag_bytes = 1001;
			break;
		case 6:
			b->status_age_ms = BATON_DESIGNATE_STALE_MS + 1;
			break;
		case 7:
			b->exists = false;
			break;
		case 8:
			b->failed = true;
			break;
		case 9:
			b->ready_unknown = true;
			break;
		default:
			b->lag_bytes = 1000;
			break; /* at the bound: ok */
		}
		bool yes = decide(&in, &mem_us, T0 + 10000, &out);
		ck_assert_msg(yes == (c == 10), "condition %d: %s", c,
			      out.reason);
	}
}
END_TEST

/* ---- the primary's side ------------------------------------------------- */

/* US's instance 0 gone: JOIN(1) applied at T0 + 10 s. */
static uint64_t joined(void)
{
	struct baton_designate_input in;

	us_view(&in);
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	propose_ok(&in, &mem_us, T0 + 10000, BATON_DESIGNATE_JOIN, 1);
	return T0 + 10000;
}

START_TEST(leave_once_the_joiner_is_quorum)
{
	struct baton_designate_input in;
	uint64_t t = joined();

	eu_view(&in, t + 1000);
	propose_none(&in, &mem_eu, t + 1000); /* a streams, b not quorum */
	/* a stale status proves nothing */
	in.primary.standby[US][1].quorum = true;
	in.primary.status_ms = t;
	propose_none(&in, &mem_eu, t + 1000 + BATON_DESIGNATE_STALE_MS);
	in.primary.status_ms = t + 2000;
	propose_ok(&in, &mem_eu, t + 2000, BATON_DESIGNATE_LEAVE, 0);
	ck_assert_uint_eq(db()->regions[US].listed, 0x2);
	ck_assert_uint_eq(db()->regions[US].members, 0x3);
	/* L = {b}: no second LEAVE, the release waits for evidence */
	propose_none(&in, &mem_eu, t + 3000);
}
END_TEST

START_TEST(leave_at_once_without_a_walsender)
{
	struct baton_designate_input in;
	uint64_t t = joined();

	eu_view(&in, t);
	in.primary.standby[US][0].walsender = false;
	propose_ok(&in, &mem_eu, t, BATON_DESIGNATE_LEAVE, 0);
}
END_TEST

/* The standby's side does nothing while a change is in flight, and the
 * primary's proposes no LEAVE outside Healthy. */
START_TEST(one_change_at_a_time)
{
	struct baton_designate_input in, eu;
	struct baton_cmd c;
	uint64_t t = joined();

	us_view(&in);
	in.pods[1].gone = true; /* the joiner dies too */
	in.pods[1].gone_since_ms = t;
	propose_none(&in, &mem_us, t + 3600000);
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_SWITCHOVER;
	snprintf(c.db, sizeof c.db, DB);
	snprintf(c.region, sizeof c.region, "us");
	c.epoch = db()->epoch;
	ck_assert_int_eq(apply(&c), BATON_FSM_OK);
	eu_view(&eu, t);
	eu.primary.standby[US][1].quorum = true;
	propose_none(&eu, &mem_eu, t);
}
END_TEST

/* LEAVE(a) applied at applied count N; a standbys answer at the epoch
 * with G >= N, X > 0, and a status no older than it with flush(b) >= X. */
static uint64_t left(uint64_t *leave_applied)
{
	struct baton_designate_input in;
	uint64_t t = joined();

	eu_view(&in, t + 1000);
	in.primary.standby[US][1].quorum = true;
	propose_ok(&in, &mem_eu, t + 1000, BATON_DESIGNATE_LEAVE, 0);
	*leave_applied = fsm.applied;
	return t + 1000;
}

static void with_answer(struct baton_designate_input *in, uint64_t gen,
			uint64_t x, uint64_t answer_ms, uint64_t flush_b,
			uint64_t status_ms)
{
	in->primary.answer = true;
	in->primary.answer_epoch = db()->epoch;
	in->primary.answer_gen = gen;
	in->primary.answer_x = x;
	in->primary.answer_ms = answer_ms;
	in->primary.status_epoch = db()->epoch;
	in->primary.status_ms = status_ms;
	in->primary.standby[US][1].flush = flush_b;
}

START_TEST(release_needs_g_at_leave_and_flush_at_least_x)
{
	struct baton_designate_input in;
	struct baton_designate_out out;
	uint64_t n, t = left(&n);

	eu_view(&in, t);
	decide(&in, &mem_eu, t, &out);
	ck_assert_uint_eq(out.need_gen, n);
	/* G below LEAVE's applied count: the list may still name a */
	with_answer(&in, n - 1, 5000, t, 6000, t + 100);
	propose_none(&in, &mem_eu, t + 100);
	/* X = 0 is no evidence */
	with_answer(&in, n, 0, t, 6000, t + 100);
	propose_none(&in, &mem_eu, t + 100);
	/* an answer from an older epoch */
	with_answer(&in, n, 5000, t, 6000, t + 100);
	in.primary.answer_epoch = db()->epoch - 1;
	propose_none(&in, &mem_eu, t + 100);
	/* b behind X */
	with_answer(&in, n, 5000, t, 4999, t + 100);
	propose_none(&in, &mem_eu, t + 100);
	/* b's flush read before the answer came */
	with_answer(&in, n, 5000, t + 100, 5000, t + 99);
	propose_none(&in, &mem_eu, t + 100);
	/* a status of another epoch */
	with_answer(&in, n, 5000, t, 5000, t + 100);
	in.primary.status_epoch = db()->epoch + 1;
	propose_none(&in, &mem_eu, t + 100);
	/* at the bounds: G = N, flush = X */
	with_answer(&in, n, 5000, t, 5000, t);
	propose_ok(&in, &mem_eu, t + 100, BATON_DESIGNATE_RELEASE, 0);
	ck_assert_int_eq(db()->regions[US].designated, 1);
	ck_assert_uint_eq(db()->regions[US].members, 0x2);
	ck_assert_uint_eq(db()->regions[US].listed, 0x2);
}
END_TEST

/* The release's command carries the holder and the evidence. */
START_TEST(release_carries_holder_and_evidence)
{
	struct baton_designate_input in;
	struct baton_designate_out out;
	uint64_t n, t = left(&n);

	eu_view(&in, t);
	with_answer(&in, n + 3, 7000, t, 7100, t + 1);
	ck_assert(decide(&in, &mem_eu, t + 1, &out));
	ck_assert_int_eq(out.cmd.step, BATON_DESIGNATE_RELEASE);
	ck_assert_int_eq(out.cmd.ordinal, 0);
	ck_assert_int_eq(out.cmd.holder, 1);
	ck_assert_uint_eq(out.cmd.drop_position, 7000);
	ck_assert_uint_eq(out.cmd.holder_flush, 7100);
	ck_assert_uint_eq(out.cmd.desig_seq, db()->regions[US].desig_seq);
	ck_assert_uint_eq(out.cmd.epoch, db()->epoch);
}
END_TEST

/* A batond that restarted after LEAVE forgot its applied count: it asks
 * for an answer at the count it first sees, which is later (stricter). */
START_TEST(release_after_a_restart_asks_for_a_later_g)
{
	struct baton_designate_input in;
	struct baton_designate_out out;
	struct baton_cmd c;
	uint64_t n, t = left(&n);

	/* something else applies in between */
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_RENEW;
	snprintf(c.db, sizeof c.db, DB);
	snprintf(c.region, sizeof c.region, "eu");
	c.epoch = db()->epoch;
	ck_assert_int_eq(apply(&c), BATON_FSM_OK);
	baton_designate_memory_init(&mem_eu);
	eu_view(&in, t);
	with_answer(&in, n, 5000, t, 5000, t);
	ck_assert(!decide(&in, &mem_eu, t, &out));
	ck_assert_uint_eq(out.need_gen, n + 1);
	with_answer(&in, n + 1, 5000, t, 5000, t);
	propose_ok(&in, &mem_eu, t, BATON_DESIGNATE_RELEASE, 0);
}
END_TEST

/* X was measured in the epoch and stays valid in a failover (§3.5). */
START_TEST(release_allowed_while_failing_over)
{
	struct baton_designate_input in;
	struct baton_cmd c;
	uint64_t n, t = left(&n);

	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_LOST;
	snprintf(c.db, sizeof c.db, DB);
	snprintf(c.region, sizeof c.region, "eu");
	c.epoch = db()->epoch;
	c.renew_seq = db()->renew_seq;
	ck_assert_int_eq(apply(&c), BATON_FSM_OK);
	ck_assert_int_eq(db()->phase, BATON_PHASE_FAILING_OVER);
	eu_view(&in, t);
	with_answer(&in, n, 5000, t, 5000, t);
	propose_ok(&in, &mem_eu, t, BATON_DESIGNATE_RELEASE, 0);
}
END_TEST

/* The joiner is not quorum 60 s after its JOIN applied: LEAVE(b), then
 * RELEASE(b, holder a) on a's flush, back to where it was. */
START_TEST(give_up_on_a_joiner_that_never_catches_up)
{
	struct baton_designate_input in;
	uint64_t n, t = joined();

	eu_view(&in, t + BATON_DESIGNATE_GIVE_UP_MS - 1);
	propose_none(&in, &mem_eu, t + BATON_DESIGNATE_GIVE_UP_MS - 1);
	in.primary.status_ms = t + BATON_DESIGNATE_GIVE_UP_MS;
	propose_ok(&in, &mem_eu, t + BATON_DESIGNATE_GIVE_UP_MS,
		   BATON_DESIGNATE_LEAVE, 1);
	n = fsm.applied;
	ck_assert_uint_eq(db()->regions[US].listed, 0x1);
	with_answer(&in, n, 9000, t + 61000, 0, t + 61000);
	in.primary.standby[US][0].flush = 8999; /* a, the holder */
	propose_none(&in, &mem_eu, t + 61000);
	in.primary.standby[US][0].flush = 9000;
	propose_ok(&in, &mem_eu, t + 61000, BATON_DESIGNATE_RELEASE, 1);
	ck_assert_int_eq(db()->regions[US].designated, 0);
	ck_assert_uint_eq(db()->regions[US].members, 0x1);
	ck_assert_uint_eq(db()->regions[US].listed, 0x1);
}
END_TEST

/* ---- a whole move, hysteresis, no move back ----------------------------- */

static uint64_t moved(void)
{
	struct baton_designate_input in;
	uint64_t n, t = left(&n);

	eu_view(&in, t);
	with_answer(&in, n, 5000, t, 5000, t);
	propose_ok(&in, &mem_eu, t, BATON_DESIGNATE_RELEASE, 0);
	return t;
}

START_TEST(full_move_join_leave_release)
{
	uint64_t seq0 = db()->regions[US].desig_seq;
	uint64_t t = moved();
	const struct baton_region_state *r = &db()->regions[US];

	ck_assert_int_eq(r->designated, 1);
	ck_assert_uint_eq(r->members, 0x2);
	ck_assert_uint_eq(r->listed, 0x2);
	ck_assert_uint_eq(r->desig_seq, seq0 + 1);
	ck_assert(mem_us.regions[US].released);
	ck_assert_uint_eq(mem_us.regions[US].release_ms, t);
}
END_TEST

/* No JOIN within redesignateAfter of the last RELEASE; a returning a is
 * no reason to move back. */
START_TEST(hysteresis_and_no_move_back)
{
	struct baton_designate_input in;
	uint64_t t = moved();

	us_view(&in);
	/* a is back and healthy, b serves: nothing, ever */
	for (uint64_t d = 0; d <= 600000; d += 30000) {
		propose_none(&in, &mem_us, t + d);
	}
	/* b dies at once: its pod evidence is due after 10 s, but the
	 * last RELEASE was less than redesignateAfter ago */
	in.pods[1].gone = true;
	in.pods[1].gone_since_ms = t;
	propose_none(&in, &mem_us, t + 10000);
	propose_none(&in, &mem_us, t + AFTER - 1);
	propose_ok(&in, &mem_us, t + AFTER, BATON_DESIGNATE_JOIN, 0);
}
END_TEST

/* ---- asynchronous mode --------------------------------------------------- */

START_TEST(async_moves_by_a_direct_release)
{
	struct baton_designate_input in;
	struct baton_designate_out out;
	uint64_t seq;

	teardown();
	baton_fsm_init(&fsm, &raft_fsm);
	fsm.observer = observe_cb;
	registered(false);
	seq = db()->regions[US].desig_seq;
	us_view(&in);
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	in.pods[2].lag_bytes = 0;
	propose_none(&in, &mem_us, T0 + 9999);
	ck_assert(decide(&in, &mem_us, T0 + 10000, &out));
	ck_assert_int_eq(out.cmd.holder, 2);
	ck_assert_uint_eq(out.cmd.drop_position, 0);
	ck_assert_uint_eq(out.cmd.holder_flush, 0);
	propose_ok(&in, &mem_us, T0 + 10000, BATON_DESIGNATE_RELEASE, 0);
	ck_assert_int_eq(db()->regions[US].designated, 2);
	ck_assert_uint_eq(db()->regions[US].members, 0x4);
	ck_assert_uint_eq(db()->regions[US].desig_seq, seq + 1);
	/* the same evidence does not move it again before redesignateAfter */
	us_view(&in);
	in.pods[2].gone = true;
	in.pods[2].gone_since_ms = T0 + 10000;
	propose_none(&in, &mem_us, T0 + 10000 + AFTER - 1);
}
END_TEST

/* ---- proposals the FSM must refuse --------------------------------------- */

/* A JOIN judged on one designation, applied after another JOIN: refused
 * (desig_seq); one judged before a switchover began: refused (phase). */
START_TEST(a_proposal_that_lost_a_race_is_refused)
{
	struct baton_designate_input in;
	struct baton_designate_out first, second;
	struct baton_cmd c;

	us_view(&in);
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	ck_assert(decide(&in, &mem_us, T0 + 10000, &first));
	in.pods[1].exists = false;
	ck_assert(decide(&in, &mem_us, T0 + 10000, &second));
	ck_assert_int_eq(second.cmd.ordinal, 2);
	ck_assert_int_eq(apply(&first.cmd), BATON_FSM_OK);
	ck_assert_int_eq(apply(&second.cmd), BATON_FSM_STALE_DESIGNATION);

	teardown();
	setup();
	us_view(&in);
	in.pods[0].gone = true;
	in.pods[0].gone_since_ms = T0;
	ck_assert(decide(&in, &mem_us, T0 + 10000, &first));
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_SWITCHOVER;
	snprintf(c.db, sizeof c.db, DB);
	snprintf(c.region, sizeof c.region, "us");
	c.epoch = db()->epoch;
	ck_assert_int_eq(apply(&c), BATON_FSM_OK);
	ck_assert_int_eq(apply(&first.cmd), BATON_FSM_PHASE);
	propose_none(&in, &mem_us, T0 + 10000); /* and none now */
}
END_TEST

/* A RELEASE made without the module's checks is what the FSM refuses
 * too: before LEAVE (stale-designation), and with flush < X or X = 0
 * (not-flushed). */
START_TEST(the_fsm_refuses_a_release_without_evidence)
{
	struct baton_designate_input in;
	struct baton_designate_out out;
	uint64_t n, t = left(&n);

	eu_view(&in, t);
	with_answer(&in, n, 5000, t, 5000, t);
	ck_assert(decide(&in, &mem_eu, t, &out));
	out.cmd.holder_flush = 4999;
	ck_assert_int_eq(apply(&out.cmd), BATON_FSM_NOT_FLUSHED);
	out.cmd.holder_flush = 5000;
	out.cmd.drop_position = 0;
	ck_assert_int_eq(apply(&out.cmd), BATON_FSM_NOT_FLUSHED);
	out.cmd.drop_position = 5000;
	out.cmd.holder = 0;
	out.cmd.ordinal = 1; /* b is listed: not releasable */
	ck_assert_int_eq(apply(&out.cmd), BATON_FSM_STALE_DESIGNATION);
}
END_TEST

static Suite *designate_suite(void)
{
	Suite *s = suite_create("consensus_designate");
	TCase *tc = tcase_create("designate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pod_gone_counts_after_ten_seconds);
	tcase_add_test(tc, pod_failed_counts_after_ten_seconds);
	tcase_add_test(tc, ready_unknown_counts_after_ten_seconds);
	tcase_add_test(tc, agent_silent_counts_after_redesignate_after);
	tcase_add_test(tc, agent_not_serving_counts_after_redesignate_after);
	tcase_add_test(tc, pod_row_needs_only_ten_seconds);
	tcase_add_test(tc, a_clock_going_back_starts_nothing);
	tcase_add_test(tc, redesignate_after_zero_never_starts_one);
	tcase_add_test(tc, a_hold_never_starts_one);
	tcase_add_test(tc, nothing_while_the_designated_instance_serves);
	tcase_add_test(tc, candidate_least_lag_then_lowest_ordinal);
	tcase_add_test(tc, candidate_must_meet_every_condition);
	tcase_add_test(tc, leave_once_the_joiner_is_quorum);
	tcase_add_test(tc, leave_at_once_without_a_walsender);
	tcase_add_test(tc, one_change_at_a_time);
	tcase_add_test(tc, release_needs_g_at_leave_and_flush_at_least_x);
	tcase_add_test(tc, release_carries_holder_and_evidence);
	tcase_add_test(tc, release_after_a_restart_asks_for_a_later_g);
	tcase_add_test(tc, release_allowed_while_failing_over);
	tcase_add_test(tc, give_up_on_a_joiner_that_never_catches_up);
	tcase_add_test(tc, full_move_join_leave_release);
	tcase_add_test(tc, hysteresis_and_no_move_back);
	tcase_add_test(tc, async_moves_by_a_direct_release);
	tcase_add_test(tc, a_proposal_that_lost_a_race_is_refused);
	tcase_add_test(tc, the_fsm_refuses_a_release_without_evidence);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(designate_suite)
