/* batond/peerpropose: which peer may forward which command to the leader
 * (the rules in peerpropose.h). A real FSM built by applying encoded
 * commands, as the leader's would be.
 *
 * "orders": east is the primary, west the standby region R whose
 * designation moves, north a third data region, quorum a witness. Each
 * DESIGNATE step from its proposer is accepted; from any other region
 * (the primary for JOIN and the asynchronous RELEASE, R for LEAVE and the
 * synchronous RELEASE, north for every step) it is refused. The races the
 * header argues are played out on the FSM: a primary that changes after
 * the check (the command's epoch makes the FSM refuse it), and a CONFIG to
 * synchronous after an asynchronous RELEASE was checked (no evidence, so
 * the FSM refuses it). */
#include <stdio.h>
#include <string.h>

#include "batond/peerpropose.h"
#include "consensus/fsm.h"
#include "harness.h"
#include "support/fsmcmd.h"

static const char *const names[] = {"east", "west", "north", "quorum"};

struct fixture {
	struct baton_fsm fsm;
	struct raft_fsm rf;
	char why[512];
};

static struct baton_cmd cmd(int type, const char *region, uint64_t epoch)
{
	return tst_cmd(type, "orders", region, epoch);
}

static struct baton_cmd config(bool synchronous)
{
	struct baton_cmd c = cmd(BATON_CMD_CONFIG, "", 0);

	c.cfg.lease_ms = 1000;
	c.cfg.renew_ms = 200;
	c.cfg.drift_ppm = 100000;
	c.cfg.margin_ms = 50;
	c.cfg.max_lag_bytes = 1 << 20;
	c.cfg.automatic = true;
	c.cfg.synchronous = synchronous;
	return c;
}

/* A fleet at command LEVEL (0: before any LEVEL entry). */
static void setup_at(struct fixture *f, bool synchronous, uint32_t level)
{
	struct baton_cmd c = config(synchronous);
	unsigned i;

	memset(f, 0, sizeof *f);
	baton_fsm_init(&f->fsm, &f->rf);
	c.type = BATON_CMD_REGISTER;
	c.n_regions = 4;
	for (i = 0; i < 4; i++) {
		snprintf(c.regions[i].name, sizeof c.regions[i].name, "%s",
			 names[i]);
		c.regions[i].priority = (int32_t)(4 - i);
	}
	c.regions[3].role = BATON_ROLE_WITNESS;
	snprintf(c.primary, sizeof c.primary, "east");
	ck_assert_int_eq(tst_fsm_apply(&f->fsm, &c), BATON_FSM_OK);
	if (level > 0) {
		memset(&c, 0, sizeof c);
		c.type = BATON_CMD_LEVEL;
		c.level = level;
		ck_assert_int_eq(tst_fsm_apply(&f->fsm, &c), BATON_FSM_OK);
		ck_assert_uint_eq(f->fsm.fleet_level, level);
	}
}

/* Every region's batond upgraded: the fleet at this batond's level. */
static void setup(struct fixture *f, bool synchronous)
{
	setup_at(f, synchronous, BATON_COMMAND_LEVEL);
}

static void teardown(struct fixture *f)
{
	baton_fsm_close(&f->rf);
}

static struct baton_cmd step(int s, uint64_t epoch, uint8_t ordinal,
			     uint64_t seq)
{
	struct baton_cmd c = cmd(BATON_CMD_DESIGNATE, "west", epoch);

	c.step = (uint8_t)s;
	c.ordinal = ordinal;
	c.desig_seq = seq;
	return c;
}

static struct baton_cmd release(uint64_t epoch, uint8_t a, uint8_t h,
				uint64_t seq, uint64_t x, uint64_t flush)
{
	struct baton_cmd c = step(BATON_DESIGNATE_RELEASE, epoch, a, seq);

	c.holder = h;
	c.drop_position = x;
	c.holder_flush = flush;
	return c;
}

static int check(struct fixture *f, const char *peer, const struct baton_cmd *c)
{
	return baton_peerpropose_check(peer, c, &f->fsm, f->why, sizeof f->why);
}

/* Every step of a synchronous move of west's designation from 0 to 1,
 * each checked from every region before it applies: accepted from its
 * proposer only, then applied. */
START_TEST(sync_move_each_step_from_its_proposer)
{
	struct fixture f;
	struct baton_cmd join = step(BATON_DESIGNATE_JOIN, 1, 1, 0);
	struct baton_cmd leave = step(BATON_DESIGNATE_LEAVE, 1, 0, 1);
	struct baton_cmd rel = release(1, 0, 1, 1, 100, 120);

	setup(&f, true);

	/* JOIN: west's own */
	ck_assert_int_eq(check(&f, "west", &join), BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(check(&f, "baton://region/west", &join),
			 BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(check(&f, "east", &join), BATON_PEERPROPOSE_REGION);
	ck_assert_str_eq(f.why, "orders: only region west may propose join for "
				"itself, not east");
	ck_assert_int_eq(check(&f, "north", &join), BATON_PEERPROPOSE_REGION);
	ck_assert_int_eq(check(&f, "quorum", &join), BATON_PEERPROPOSE_REGION);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &join), BATON_FSM_OK);

	/* LEAVE: the primary's (east), although it names west */
	ck_assert_int_eq(check(&f, "baton://region/east", &leave),
			 BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(check(&f, "west", &leave),
			 BATON_PEERPROPOSE_NOT_PRIMARY);
	ck_assert_str_eq(f.why, "orders: only the primary region east "
				"(epoch 1) may propose leave for region "
				"west, not west");
	ck_assert_int_eq(check(&f, "north", &leave),
			 BATON_PEERPROPOSE_NOT_PRIMARY);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &leave), BATON_FSM_OK);

	/* RELEASE, synchronous: the primary's, with its evidence */
	ck_assert_int_eq(check(&f, "east", &rel), BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(check(&f, "west", &rel),
			 BATON_PEERPROPOSE_NOT_PRIMARY);
	ck_assert_int_eq(check(&f, "north", &rel),
			 BATON_PEERPROPOSE_NOT_PRIMARY);
	ck_assert_int_eq(check(&f, "quorum", &rel),
			 BATON_PEERPROPOSE_NOT_PRIMARY);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &rel), BATON_FSM_OK);
	ck_assert_uint_eq(baton_fsm_db(&f.fsm, "orders")->regions[1].designated,
			  1);
	teardown(&f);
}
END_TEST

/* A synchronous RELEASE without evidence (say, west's asynchronous form
 * sent to a synchronous database) is still the primary's: the form is
 * judged on the FSM's mode, not on the command's fields. */
START_TEST(sync_release_without_evidence_is_still_the_primarys)
{
	struct fixture f;
	struct baton_cmd rel = release(1, 0, 1, 0, 0, 0);

	setup(&f, true);
	ck_assert_int_eq(check(&f, "west", &rel),
			 BATON_PEERPROPOSE_NOT_PRIMARY);
	ck_assert_int_eq(check(&f, "east", &rel), BATON_PEERPROPOSE_OK);
	teardown(&f);
}
END_TEST

/* Asynchronous: west's lone RELEASE(designated, holder) is west's own,
 * and carries no evidence. */
START_TEST(async_release_is_the_regions_own)
{
	struct fixture f;
	struct baton_cmd rel = release(1, 0, 2, 0, 0, 0);
	struct baton_cmd forged = release(1, 0, 2, 0, 100, 120);

	setup(&f, false);
	ck_assert_int_eq(check(&f, "west", &rel), BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(check(&f, "east", &rel), BATON_PEERPROPOSE_REGION);
	ck_assert_str_eq(f.why,
			 "orders: only region west may propose release for "
			 "itself, not east");
	ck_assert_int_eq(check(&f, "north", &rel), BATON_PEERPROPOSE_REGION);
	ck_assert_int_eq(check(&f, "west", &forged),
			 BATON_PEERPROPOSE_EVIDENCE);
	ck_assert_int_eq(check(&f, "east", &forged), BATON_PEERPROPOSE_REGION);
	ck_assert_int_eq(
	    baton_peerpropose_http_status(BATON_PEERPROPOSE_EVIDENCE), 403);
	/* JOIN stays west's in asynchronous mode too */
	{
		struct baton_cmd join = step(BATON_DESIGNATE_JOIN, 1, 1, 0);
		ck_assert_int_eq(check(&f, "west", &join),
				 BATON_PEERPROPOSE_OK);
		ck_assert_int_eq(check(&f, "east", &join),
				 BATON_PEERPROPOSE_REGION);
	}
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &rel), BATON_FSM_OK);
	ck_assert_uint_eq(baton_fsm_db(&f.fsm, "orders")->regions[1].designated,
			  2);
	teardown(&f);
}
END_TEST

/* Asynchronous after a move began (a JOIN and a LEAVE applied while
 * synchronous, then a CONFIG to asynchronous): the CONFIG ended the move
 * (design-per-instance.md §9 note 33), so a RELEASE is the asynchronous
 * form again, west's own and without evidence. The ended move's RELEASE
 * from the primary is refused by the check and, had it been forwarded
 * before the CONFIG, by the FSM (its seq). The check asks the FSM's own
 * predicate, so the two agree. */
START_TEST(async_config_mid_move_makes_release_the_regions)
{
	struct fixture f;
	struct baton_cmd join = step(BATON_DESIGNATE_JOIN, 1, 1, 0);
	struct baton_cmd leave = step(BATON_DESIGNATE_LEAVE, 1, 0, 1);
	struct baton_cmd cfg = config(false);
	struct baton_cmd rel = release(1, 0, 1, 1, 100, 120);
	struct baton_cmd own = release(1, 0, 1, 2, 0, 0);

	setup(&f, true);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &join), BATON_FSM_OK);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &leave), BATON_FSM_OK);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &cfg), BATON_FSM_OK);
	ck_assert(!baton_fsm_db(&f.fsm, "orders")->cfg.synchronous);
	ck_assert(baton_fsm_release_async(baton_fsm_db(&f.fsm, "orders"), 1));
	ck_assert_int_eq(check(&f, "east", &rel), BATON_PEERPROPOSE_REGION);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &rel),
			 BATON_FSM_STALE_DESIGNATION);
	ck_assert_int_eq(check(&f, "east", &own), BATON_PEERPROPOSE_REGION);
	ck_assert_int_eq(check(&f, "west", &own), BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &own), BATON_FSM_OK);
	ck_assert_uint_eq(baton_fsm_db(&f.fsm, "orders")->regions[1].designated,
			  1);
	teardown(&f);
}
END_TEST

/* The primary changes: east proposes a LEAVE at epoch 1, north is
 * promoted to epoch 2. Checked before the promote applies, east's LEAVE
 * passes, and the FSM refuses it when it applies after the promote (the
 * race the epoch closes); checked after, it is refused as a stale
 * primary's. North's own LEAVE must name epoch 2. */
START_TEST(primary_that_changed)
{
	struct fixture f;
	struct baton_cmd join = step(BATON_DESIGNATE_JOIN, 1, 1, 0);
	struct baton_cmd leave = step(BATON_DESIGNATE_LEAVE, 1, 0, 1);
	struct baton_cmd promote = cmd(BATON_CMD_PROMOTE, "north", 2);
	struct baton_cmd leave2, join2;

	setup(&f, true);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &join), BATON_FSM_OK);
	ck_assert_int_eq(check(&f, "east", &leave), BATON_PEERPROPOSE_OK);
	promote.reason = BATON_REASON_LEASE_EXPIRED;
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &promote), BATON_FSM_OK);
	/* the LEAVE checked against east at epoch 1 applies now */
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &leave), BATON_FSM_STALE_EPOCH);

	/* checked now: east is a stale primary */
	ck_assert_int_eq(check(&f, "east", &leave),
			 BATON_PEERPROPOSE_NOT_PRIMARY);
	ck_assert_str_eq(f.why, "orders: only the primary region north "
				"(epoch 2) may propose leave for region "
				"west, not east");
	/* 409, not 403: a primary that is stale here may be the leader's
	 * lag, and the peer tries again */
	ck_assert_int_eq(
	    baton_peerpropose_http_status(BATON_PEERPROPOSE_NOT_PRIMARY), 409);
	/* the new primary on the old epoch: refused here, as the FSM would */
	ck_assert_int_eq(check(&f, "north", &leave), BATON_PEERPROPOSE_EPOCH);
	ck_assert_str_eq(f.why, "orders: leave at epoch 1, but the current "
				"epoch is 2");
	/* a promote resets west's designation (M = L = {0}, seq 1): the
	 * next move starts with a JOIN, at epoch 2, west's own */
	join2 = step(BATON_DESIGNATE_JOIN, 2, 1, 1);
	ck_assert_int_eq(check(&f, "west", &join2), BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(check(&f, "north", &join2), BATON_PEERPROPOSE_REGION);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &join2), BATON_FSM_OK);
	leave2 = step(BATON_DESIGNATE_LEAVE, 2, 0, 2);
	ck_assert_int_eq(check(&f, "north", &leave2), BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(check(&f, "east", &leave2),
			 BATON_PEERPROPOSE_NOT_PRIMARY);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &leave2), BATON_FSM_OK);
	/* a proposer ahead of the leader (it applied epoch 3, the leader
	 * has not): the leader cannot say who the primary is then */
	leave2.epoch = 3;
	ck_assert_int_eq(check(&f, "north", &leave2), BATON_PEERPROPOSE_EPOCH);
	ck_assert_int_eq(check(&f, "east", &leave2), BATON_PEERPROPOSE_EPOCH);
	ck_assert_int_eq(baton_peerpropose_http_status(BATON_PEERPROPOSE_EPOCH),
			 409);
	teardown(&f);
}
END_TEST

/* The race on the asynchronous form: west's RELEASE(0, holder 1) is
 * checked while the database is asynchronous (west's own step); before it
 * applies, a CONFIG to synchronous, west's JOIN(1) and the primary's
 * LEAVE(0) apply, which is exactly the state the synchronous RELEASE
 * needs. Without evidence the FSM refuses it (not-flushed); with made-up
 * evidence it would release 0 on west's word alone, which is why the
 * check refuses an asynchronous RELEASE that carries any. */
START_TEST(async_release_then_config_to_sync)
{
	struct fixture f;
	struct baton_cmd rel = release(1, 0, 1, 1, 0, 0);
	struct baton_cmd forged = release(1, 0, 1, 1, 100, 120);
	struct baton_cmd cfg = config(true);
	struct baton_cmd join = step(BATON_DESIGNATE_JOIN, 1, 1, 0);
	struct baton_cmd leave = step(BATON_DESIGNATE_LEAVE, 1, 0, 1);

	setup(&f, false);
	ck_assert_int_eq(check(&f, "west", &rel), BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(check(&f, "west", &forged),
			 BATON_PEERPROPOSE_EVIDENCE);
	ck_assert_str_eq(f.why, "orders: an asynchronous release of region "
				"west carries no evidence");
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &cfg), BATON_FSM_OK);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &join), BATON_FSM_OK);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &leave), BATON_FSM_OK);
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &rel), BATON_FSM_NOT_FLUSHED);
	ck_assert_uint_eq(baton_fsm_db(&f.fsm, "orders")->regions[1].designated,
			  0);
	/* what the forged one would have done, had the check let it by */
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &forged), BATON_FSM_OK);
	ck_assert_uint_eq(baton_fsm_db(&f.fsm, "orders")->regions[1].designated,
			  1);
	teardown(&f);
}
END_TEST

START_TEST(unknown_database_or_region)
{
	struct fixture f;
	struct baton_cmd join = step(BATON_DESIGNATE_JOIN, 1, 1, 0);
	struct baton_cmd leave = step(BATON_DESIGNATE_LEAVE, 1, 0, 1);

	setup(&f, true);
	snprintf(join.db, sizeof join.db, "ledger");
	snprintf(leave.db, sizeof leave.db, "ledger");
	ck_assert_int_eq(check(&f, "west", &join), BATON_PEERPROPOSE_NO_DB);
	ck_assert_str_eq(f.why, "database ledger is unknown to the leader");
	ck_assert_int_eq(check(&f, "east", &leave), BATON_PEERPROPOSE_NO_DB);
	join = step(BATON_DESIGNATE_JOIN, 1, 1, 0);
	snprintf(join.region, sizeof join.region, "south");
	ck_assert_int_eq(check(&f, "south", &join), BATON_PEERPROPOSE_NO_DB);
	ck_assert_int_eq(baton_peerpropose_http_status(BATON_PEERPROPOSE_NO_DB),
			 409);
	teardown(&f);
}
END_TEST

/* A DESIGNATE on a node that is not the leader (no FSM handed in) is not
 * judged there; the other types need no state. */
START_TEST(designate_needs_the_leaders_state)
{
	struct fixture f;
	struct baton_cmd join = step(BATON_DESIGNATE_JOIN, 1, 1, 0);
	struct baton_cmd renew = cmd(BATON_CMD_RENEW, "west", 1);

	setup(&f, true);
	ck_assert_int_eq(
	    baton_peerpropose_check("west", &join, NULL, f.why, sizeof f.why),
	    BATON_PEERPROPOSE_NOT_LEADER);
	ck_assert_int_eq(
	    baton_peerpropose_http_status(BATON_PEERPROPOSE_NOT_LEADER), 421);
	ck_assert_int_eq(
	    baton_peerpropose_check("west", &renew, NULL, f.why, sizeof f.why),
	    BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(
	    baton_peerpropose_check("east", &renew, NULL, f.why, sizeof f.why),
	    BATON_PEERPROPOSE_REGION);
	teardown(&f);
}
END_TEST

/* Today's rules, unchanged: renew, report and fence for one's own region
 * only; the leader's decisions never. Without TLS (no identity) only the
 * type rule. */
START_TEST(other_types_as_before)
{
	static const int own[] = {BATON_CMD_RENEW, BATON_CMD_RENEW_BATCH,
				  BATON_CMD_REPORT, BATON_CMD_REPORT_BATCH,
				  BATON_CMD_FENCE};
	static const int never[] = {
	    BATON_CMD_REGISTER,	  BATON_CMD_REMOVE, BATON_CMD_PROMOTE,
	    BATON_CMD_SWITCHOVER, BATON_CMD_LOST,   BATON_CMD_SWITCHOVER_ABORT,
	    BATON_CMD_CONFIG,
	};
	struct fixture f;
	struct baton_cmd c;
	size_t i;

	setup(&f, true);
	for (i = 0; i < sizeof own / sizeof own[0]; i++) {
		c = cmd(own[i], "west", 1);
		ck_assert_int_eq(check(&f, "west", &c), BATON_PEERPROPOSE_OK);
		ck_assert_int_eq(check(&f, "baton://region/west", &c),
				 BATON_PEERPROPOSE_OK);
		ck_assert_int_eq(check(&f, "east", &c),
				 BATON_PEERPROPOSE_REGION);
		ck_assert_int_eq(check(&f, "baton://region/east", &c),
				 BATON_PEERPROPOSE_REGION);
		ck_assert_int_eq(check(&f, NULL, &c), BATON_PEERPROPOSE_OK);
	}
	ck_assert_int_eq(check(&f, "baton://region/east", &c),
			 BATON_PEERPROPOSE_REGION);
	ck_assert_str_eq(f.why, "certificate identity 'baton://region/east' "
				"may not speak for region west");
	for (i = 0; i < sizeof never / sizeof never[0]; i++) {
		c = cmd(never[i], "west", 1);
		ck_assert_int_eq(check(&f, "west", &c), BATON_PEERPROPOSE_TYPE);
		ck_assert_int_eq(check(&f, NULL, &c), BATON_PEERPROPOSE_TYPE);
		ck_assert_int_eq(check(&f, "", &c), BATON_PEERPROPOSE_TYPE);
	}
	ck_assert_int_eq(baton_peerpropose_http_status(BATON_PEERPROPOSE_TYPE),
			 403);
	ck_assert_int_eq(
	    baton_peerpropose_http_status(BATON_PEERPROPOSE_REGION), 403);
	/* no identity: a DESIGNATE is judged by the FSM alone */
	c = step(BATON_DESIGNATE_LEAVE, 1, 0, 0);
	ck_assert_int_eq(check(&f, NULL, &c), BATON_PEERPROPOSE_OK);
	ck_assert_str_eq(
	    baton_peerpropose_verdict_name(BATON_PEERPROPOSE_NOT_PRIMARY),
	    "not-primary");
	teardown(&f);
}
END_TEST

/* A REPORT_BATCH speaks for the one region it names, whatever its items
 * are (they have no region of their own): forwarded by that region only,
 * also by a node that does not lead (the rule needs no state), and a
 * batch that names another region is refused although its items could
 * be the forwarder's own databases. */
START_TEST(a_report_batch_is_the_region_s_own)
{
	struct fixture f;
	struct baton_cmd c;

	setup(&f, true);
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_REPORT_BATCH;
	snprintf(c.region, sizeof c.region, "west");
	c.n_items = 2;
	snprintf(c.reports[0].db, sizeof c.reports[0].db, "orders");
	c.reports[0].epoch = 1;
	c.reports[0].healthy = 1;
	snprintf(c.reports[1].db, sizeof c.reports[1].db, "billing");
	c.reports[1].epoch = 1;
	snprintf(c.db, sizeof c.db, "orders");
	ck_assert_int_eq(check(&f, "baton://region/west", &c),
			 BATON_PEERPROPOSE_OK);
	ck_assert_int_eq(
	    baton_peerpropose_check("west", &c, NULL, f.why, sizeof f.why),
	    BATON_PEERPROPOSE_OK);
	/* east forwards west's reports: east may not speak for west */
	ck_assert_int_eq(check(&f, "baton://region/east", &c),
			 BATON_PEERPROPOSE_REGION);
	ck_assert_str_eq(f.why, "certificate identity 'baton://region/east' "
				"may not speak for region west");
	ck_assert_int_eq(
	    baton_peerpropose_check("east", &c, NULL, f.why, sizeof f.why),
	    BATON_PEERPROPOSE_REGION);
	/* and the applied batch is west's reports */
	ck_assert_int_eq(tst_fsm_apply(&f.fsm, &c), BATON_FSM_PARTIAL);
	ck_assert_uint_eq(
	    baton_fsm_db(&f.fsm, "orders")->regions[1].report_epoch, 1);
	teardown(&f);
}
END_TEST

/* A fleet mid-upgrade: the leader forwards nothing above the fleet's
 * level, whoever sends it (TLS or not), since a member's older batond
 * would refuse the entry as malformed while the others apply it. A node
 * that does not lead has no level to judge by (the leader judges). */
START_TEST(nothing_above_the_fleet_s_level_is_forwarded)
{
	struct fixture f;
	struct baton_cmd b, d, r;

	memset(&b, 0, sizeof b);
	b.type = BATON_CMD_REPORT_BATCH;
	snprintf(b.region, sizeof b.region, "west");
	b.n_items = 1;
	snprintf(b.reports[0].db, sizeof b.reports[0].db, "orders");
	b.reports[0].epoch = 1;
	snprintf(b.db, sizeof b.db, "orders");
	memset(&d, 0, sizeof d);
	d.type = BATON_CMD_DESIGNATE;
	snprintf(d.db, sizeof d.db, "orders");
	snprintf(d.region, sizeof d.region, "west");
	d.epoch = 1;
	d.step = BATON_DESIGNATE_JOIN;
	d.ordinal = 1;
	memset(&r, 0, sizeof r);
	r.type = BATON_CMD_REPORT;
	snprintf(r.db, sizeof r.db, "orders");
	snprintf(r.region, sizeof r.region, "west");
	r.epoch = 1;
	ck_assert_uint_eq(baton_cmd_level(&b), BATON_LEVEL_REPORT_BATCH);
	ck_assert_uint_eq(baton_cmd_level(&d), BATON_LEVEL_DESIGNATION);
	ck_assert_uint_eq(baton_cmd_level(&r), 0);

	for (uint32_t level = 0; level <= BATON_COMMAND_LEVEL; level++) {
		setup_at(&f, false, level);
		ck_assert_int_eq(check(&f, "baton://region/west", &b),
				 level >= BATON_LEVEL_REPORT_BATCH
				     ? BATON_PEERPROPOSE_OK
				     : BATON_PEERPROPOSE_LEVEL);
		ck_assert_int_eq(baton_peerpropose_check(NULL, &b, &f.fsm,
							 f.why, sizeof f.why),
				 level >= BATON_LEVEL_REPORT_BATCH
				     ? BATON_PEERPROPOSE_OK
				     : BATON_PEERPROPOSE_LEVEL);
		ck_assert_int_eq(check(&f, "baton://region/west", &d),
				 level >= BATON_LEVEL_DESIGNATION
				     ? BATON_PEERPROPOSE_OK
				     : BATON_PEERPROPOSE_LEVEL);
		ck_assert_int_eq(check(&f, "baton://region/west", &r),
				 BATON_PEERPROPOSE_OK);
		if (level == 0) {
			ck_assert_int_eq(check(&f, "baton://region/west", &b),
					 BATON_PEERPROPOSE_LEVEL);
			ck_assert_str_eq(
			    f.why, "orders needs the fleet's command level 2, "
				   "and it is 0: a region's batond does not "
				   "know it yet");
			ck_assert_int_eq(baton_peerpropose_http_status(
					     BATON_PEERPROPOSE_LEVEL),
					 409);
			ck_assert_str_eq(baton_peerpropose_verdict_name(
					     BATON_PEERPROPOSE_LEVEL),
					 "level");
		}
		teardown(&f);
	}
	ck_assert_int_eq(
	    baton_peerpropose_check("west", &b, NULL, f.why, sizeof f.why),
	    BATON_PEERPROPOSE_OK);
}
END_TEST

static Suite *peerpropose_suite(void)
{
	Suite *s = suite_create("batond_peerpropose");
	TCase *tc = tcase_create("check");

	tcase_add_test(tc, sync_move_each_step_from_its_proposer);
	tcase_add_test(tc, sync_release_without_evidence_is_still_the_primarys);
	tcase_add_test(tc, async_release_is_the_regions_own);
	tcase_add_test(tc, async_config_mid_move_makes_release_the_regions);
	tcase_add_test(tc, primary_that_changed);
	tcase_add_test(tc, async_release_then_config_to_sync);
	tcase_add_test(tc, unknown_database_or_region);
	tcase_add_test(tc, designate_needs_the_leaders_state);
	tcase_add_test(tc, other_types_as_before);
	tcase_add_test(tc, a_report_batch_is_the_region_s_own);
	tcase_add_test(tc, nothing_above_the_fleet_s_level_is_forwarded);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(peerpropose_suite)
