/* Unit tests for consensus/decider: lease expiry (also across lease
 * changes), candidate choice, the synchronous failover (lost, final
 * positions, the most advanced standby), blocked reasons, manual mode,
 * switchover and the renewer/agent side. */
#include <stdlib.h>
#include <string.h>

#include "consensus/decider.h"
#include "harness.h"

static void mkdb(struct baton_db_state *db, unsigned n)
{
	unsigned i;

	memset(db, 0, sizeof *db);
	snprintf(db->name, sizeof db->name, "orders");
	db->cfg.lease_ms = 1000;
	db->cfg.renew_ms = 200;
	db->cfg.drift_ppm = 100000; /* 10% */
	db->cfg.margin_ms = 50;
	db->cfg.max_lag_bytes = 1000;
	db->cfg.automatic = true;
	db->n_regions = n;
	for (i = 0; i < n; i++) {
		snprintf(db->regions[i].name, sizeof db->regions[i].name, "r%u",
			 i);
		db->regions[i].healthy = true;
		db->regions[i].position = 5000;
		db->regions[i].report_epoch = 3;
	}
	db->primary = 0;
	db->epoch = 3;
	db->sw_target = -1;
	db->lease_hwm_ms = 1000;
}

START_TEST(no_decision_before_expiry_then_promote)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	ck_assert(!baton_decider_decide(&d, &db, 100, &out)); /* not leader */
	baton_decider_become_leader(&d, 100);
	baton_decider_renewed(&d, &db, 0, 0, 500);
	/* 500 + 1000 * 1.1 + 50 = 1650 */
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 600), 1650);
	ck_assert(!baton_decider_decide(&d, &db, 1649, &out));
	ck_assert(baton_decider_decide(&d, &db, 1650, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 1);
	ck_assert_uint_eq(out.epoch, 4);
	ck_assert_int_eq(out.reason, BATON_REASON_LEASE_EXPIRED);
	/* no re-proposal before the retry interval */
	ck_assert(!baton_decider_decide(&d, &db, 1700, &out));
	ck_assert(baton_decider_decide(&d, &db, 2650, &out));
	baton_decider_close(&d);
}
END_TEST

/* A new leader goes on from the renewals it applied as a follower: the
 * lease ends where its own records say, not a whole lease after the
 * election. A snapshot restore (renewals folded in that it never applied)
 * counts as a renewal at the restore. */
START_TEST(new_leader_keeps_what_it_applied_as_a_follower)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	/* applied as a follower at 4500: ends at 4500 + 1100 + 50 */
	baton_decider_renewed(&d, &db, 0, 0, 4500);
	baton_decider_become_leader(&d, 5000);
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 5000), 5650);
	ck_assert(!baton_decider_decide(&d, &db, 5649, &out));
	ck_assert(baton_decider_decide(&d, &db, 5650, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	baton_decider_close(&d);

	/* a follower that last applied a renewal long ago and restored a
	 * snapshot at 4800: the lease counts from the restore */
	baton_decider_init(&d, 0);
	baton_decider_renewed(&d, &db, 0, 0, 0);
	baton_decider_restored(&d, 4800);
	baton_decider_become_leader(&d, 5000);
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 5000), 5950);
	ck_assert(!baton_decider_decide(&d, &db, 5949, &out));
	ck_assert(baton_decider_decide(&d, &db, 5950, &out));
	baton_decider_close(&d);

	/* a database this node never saw: from the election */
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 5000);
	ck_assert(!baton_decider_decide(&d, &db, 6149, &out));
	ck_assert(baton_decider_decide(&d, &db, 6150, &out));
	baton_decider_close(&d);
}
END_TEST

/* A lease that ran out while the fleet had no leader (the renewals could
 * not commit) is not lost at the election: the new leader gives it one
 * renewal round and a half (BATON_DECIDER_GRACE), and a renewal in that
 * time keeps the primary; without one it is lost at the end of the
 * grace. Before, the election itself triggered a failover of a primary
 * that was alive (CI: test_lab_failover, leadership moving under load). */
START_TEST(a_new_leader_gives_a_lapsed_lease_one_renewal_round)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	/* applied as a follower at 1000: ended at 2150; no leader until
	 * 4000 */
	baton_decider_renewed(&d, &db, 0, 0, 1000);
	baton_decider_become_leader(&d, 4000);
	/* renew 200 ms: grace 300 ms */
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 4000), 4300);
	ck_assert(!baton_decider_decide(&d, &db, 4000, &out));
	ck_assert(!baton_decider_decide(&d, &db, 4299, &out));
	/* renewed through the new leader: the primary stays */
	baton_decider_renewed(&d, &db, 0, 0, 4250);
	ck_assert(!baton_decider_decide(&d, &db, 4300, &out));
	ck_assert(!baton_decider_decide(&d, &db, 5399, &out));
	ck_assert(baton_decider_decide(&d, &db, 5400, &out));
	baton_decider_close(&d);

	/* no renewal in the grace: lost at its end */
	baton_decider_init(&d, 0);
	baton_decider_renewed(&d, &db, 0, 0, 1000);
	baton_decider_become_leader(&d, 4000);
	ck_assert(!baton_decider_decide(&d, &db, 4299, &out));
	ck_assert(baton_decider_decide(&d, &db, 4300, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	/* a follower knows nothing of the grace: its view is the lease */
	baton_decider_lose_leadership(&d);
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 4400), 2150);
	baton_decider_close(&d);
}
END_TEST

/* The epoch a promote began: the new primary renews only once its region
 * applied the promote and ordered its instance, so it has one more lease
 * before its first renewal; after that, the lease as always. Before, a
 * promote slower than one lease (PostgreSQL's promote 1.7 s plus 1.2 s of
 * apply lag under load) was followed by an unplanned failover of the
 * region just promoted. */
START_TEST(a_new_epoch_has_one_more_lease_before_its_first_renewal)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	baton_decider_renewed(&d, &db, 0, 0, 500);
	/* a promote of r1 at epoch 4 applied at 1000 */
	db.epoch = 4;
	db.primary = 1;
	for (unsigned i = 0; i < db.n_regions; i++) {
		db.regions[i].report_epoch = 4;
	}
	ck_assert(!baton_decider_decide(&d, &db, 1000, &out));
	/* 1000 + 1100 + 50, and one more lease */
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 1000), 3150);
	ck_assert(!baton_decider_decide(&d, &db, 2150, &out));
	ck_assert(!baton_decider_decide(&d, &db, 3149, &out));
	/* the first renewal: from now on the lease as always */
	baton_decider_renewed(&d, &db, 0, 0, 3000);
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 3000), 4150);
	ck_assert(!baton_decider_decide(&d, &db, 4149, &out));
	ck_assert(baton_decider_decide(&d, &db, 4150, &out));
	ck_assert_uint_eq(out.epoch, 5);
	baton_decider_close(&d);

	/* never renewed at the new epoch: lost one lease later than the
	 * old rule */
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	db.epoch = 3;
	baton_decider_renewed(&d, &db, 0, 0, 500);
	db.epoch = 4;
	ck_assert(!baton_decider_decide(&d, &db, 1000, &out));
	ck_assert(!baton_decider_decide(&d, &db, 3149, &out));
	ck_assert(baton_decider_decide(&d, &db, 3150, &out));
	baton_decider_close(&d);
}
END_TEST

START_TEST(pick_prefers_priority_then_lag_and_skips_ineligible)
{
	struct baton_db_state db;

	mkdb(&db, 4);
	db.regions[1].position = 4500; /* lag 500 */
	db.regions[2].position = 4900; /* lag 100 */
	db.regions[3].role = BATON_ROLE_WITNESS;
	ck_assert_int_eq(baton_decider_pick(&db, 0, false), 2);
	db.regions[1].priority = 5;
	ck_assert_int_eq(baton_decider_pick(&db, 0, false), 1);
	db.regions[1].position = 3000; /* lag 2000 > max */
	ck_assert_int_eq(baton_decider_pick(&db, 0, false), 2);
	db.regions[2].healthy = false;
	ck_assert_int_eq(baton_decider_pick(&db, 0, false), -1);
	db.regions[2].healthy = true;
	/* a region that has not reported in this epoch follows nobody we
	 * know of */
	db.regions[2].report_epoch = 2;
	ck_assert_int_eq(baton_decider_pick(&db, 0, false), -1);
	db.regions[2].report_epoch = 3;
	ck_assert_int_eq(baton_decider_pick(&db, 0, false), 2);
	/* final only: a region that did not report its final position is
	 * no candidate */
	ck_assert_int_eq(baton_decider_pick(&db, 0, true), -1);
	db.regions[2].final = true;
	ck_assert_int_eq(baton_decider_pick(&db, 0, true), 2);
}
END_TEST

/* Synchronous with ANY 1: a commit was acknowledged once one standby had
 * it, so promoting a higher-priority standby that is behind the other one
 * could lose it. Among final positions the most advanced wins, and the
 * lag limit does not apply (a final position is what the standby holds). */
START_TEST(final_pick_prefers_the_most_advanced_standby)
{
	struct baton_db_state db;

	mkdb(&db, 3);
	db.cfg.synchronous = true;
	db.regions[1].final = true;
	db.regions[2].final = true;
	db.regions[1].priority = 100;
	db.regions[2].priority = 50;
	db.regions[1].position = 4900;
	db.regions[2].position = 5000;
	ck_assert_int_eq(baton_decider_pick(&db, 0, true), 2);
	db.regions[1].position = 5000; /* a tie: priority decides */
	ck_assert_int_eq(baton_decider_pick(&db, 0, true), 1);
	db.regions[2].position = 5001;
	ck_assert_int_eq(baton_decider_pick(&db, 0, true), 2);
	db.regions[1].position = 100; /* far behind: still a candidate */
	db.regions[2].position = 90;
	ck_assert_int_eq(baton_decider_pick(&db, 0, true), 1);
	/* live positions: priority first, within the lag limit */
	db.regions[1].position = 4900;
	db.regions[2].position = 5000;
	ck_assert_int_eq(baton_decider_pick(&db, 0, false), 1);
}
END_TEST

/* The synchronous failover: lost() first, then wait for every standby's
 * final position (blocked, saying whose), then promote the most advanced;
 * no candidate at all is blocked too, never silent. */
START_TEST(synchronous_failover_waits_for_every_final_position)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 4);
	db.cfg.synchronous = true;
	db.regions[3].role = BATON_ROLE_WITNESS;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(!baton_decider_decide(&d, &db, 1000, &out));
	ck_assert(baton_decider_decide(&d, &db, 1150, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_LOST);
	ck_assert_uint_eq(out.renew_seq, db.renew_seq);
	/* committed: the standbys report */
	db.phase = BATON_PHASE_FAILING_OVER;
	ck_assert(baton_decider_decide(&d, &db, 1160, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
	ck_assert_int_eq(out.blocked, BATON_BLOCKED_WAITING_FINAL);
	ck_assert_int_eq(out.region, 1);
	db.regions[2].final = true;
	db.regions[2].position = 7000;
	ck_assert(baton_decider_decide(&d, &db, 1170, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
	ck_assert_int_eq(out.region, 1); /* the witness reports nothing */
	db.regions[1].final = true;
	db.regions[1].position = 6000;
	db.regions[1].priority = 9;
	ck_assert(baton_decider_decide(&d, &db, 1180, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 2); /* the most advanced */
	ck_assert_uint_eq(out.epoch, 4);
	/* a final report from an older epoch does not count */
	db.regions[2].report_epoch = 2;
	ck_assert_int_eq(baton_decider_missing_final(&db), 2);
	baton_decider_close(&d);

	/* nobody healthy: blocked, not silent */
	mkdb(&db, 3);
	db.regions[1].healthy = false;
	db.regions[2].healthy = false;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(baton_decider_decide(&d, &db, 1150, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
	ck_assert_int_eq(out.blocked, BATON_BLOCKED_NO_CANDIDATE);
	ck_assert_str_eq(baton_blocked_name(out.blocked), "NoCandidate");
	baton_decider_close(&d);
}
END_TEST

/* A renewal carries the lease its renewer counts. Shortening the lease
 * (a configuration change) never cuts a lease granted before: the leader
 * keeps the latest end over every renewal, and a new leader counts the
 * longest lease of the epoch from its election. */
START_TEST(a_shorter_lease_never_cuts_an_earlier_one)
{
	struct baton_decider d;
	struct baton_db_state db;

	mkdb(&db, 3);
	db.cfg.lease_ms = 10000;
	db.lease_hwm_ms = 10000;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	baton_decider_renewed(&d, &db, 10000, 0, 100);
	/* 100 + 10000 * 1.1 + 50 */
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 200), 11150);
	db.cfg.lease_ms = 2000; /* CONFIG applied */
	baton_decider_renewed(&d, &db, 2000, 0, 300);
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 400), 11150);
	baton_decider_renewed(&d, &db, 2000, 0, 10000);
	/* 10000 + 2000 * 1.1 + 50 = 12250 > 11150 */
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 10100), 12250);
	/* re-elected: what it applied stands */
	baton_decider_lose_leadership(&d);
	baton_decider_become_leader(&d, 11000);
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 11000), 12250);
	/* after a restore: the longest lease of the epoch, from then */
	baton_decider_restored(&d, 20000);
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 20000),
			  20000 + 11000 + 50);
	baton_decider_close(&d);
}
END_TEST

START_TEST(manual_mode_only_notifies_once)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 3);
	db.cfg.automatic = false;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(baton_decider_decide(&d, &db, 5000, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_REGION_LOST);
	ck_assert(!baton_decider_decide(&d, &db, 9000, &out));
	baton_decider_close(&d);
}
END_TEST

/* A synchronous round in manual mode is a human's request: its promote is
 * batond/switchover.c's to judge, never the decider's pick (which would
 * promote a region no one asked for). */
START_TEST(manual_mode_never_promotes_from_a_round)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 3);
	db.cfg.synchronous = true;
	db.phase = BATON_PHASE_FAILING_OVER;
	db.regions[1].final = true;
	db.regions[2].final = true;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	/* automatic: every final position in, the decider promotes */
	ck_assert(baton_decider_decide(&d, &db, 5000, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	baton_decider_close(&d);

	db.cfg.automatic = false;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	for (uint64_t now = 5000; now <= 20000; now += 1000) {
		if (baton_decider_decide(&d, &db, now, &out)) {
			ck_assert_int_eq(out.kind, BATON_DECISION_REGION_LOST);
		}
	}
	baton_decider_close(&d);
}
END_TEST

START_TEST(switchover_waits_for_final_position)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	db.phase = BATON_PHASE_FENCED;
	db.sw_target = 2;
	db.sw_final_position = 6000;
	ck_assert(!baton_decider_decide(&d, &db, 10, &out));
	db.regions[2].position = 6000;
	ck_assert(baton_decider_decide(&d, &db, 20, &out));
	ck_assert_int_eq(out.region, 2);
	ck_assert_int_eq(out.reason, BATON_REASON_SWITCHOVER);
	ck_assert_uint_eq(out.epoch, 4);
	baton_decider_close(&d);

	/* a position the target reported in an earlier epoch (a former
	 * primary's WAL end, before the failover that left its tail
	 * behind) is no proof it replayed this epoch's final position
	 * (make sim, seed 3525 of --schedules 4000 --seed 1) */
	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	db.phase = BATON_PHASE_FENCED;
	db.sw_target = 2;
	db.sw_final_position = 6000;
	db.regions[2].position = 9000;
	db.regions[2].report_epoch = 1;
	ck_assert(!baton_decider_decide(&d, &db, 10, &out));
	db.regions[2].position = 6000; /* reported in epoch 3 */
	db.regions[2].report_epoch = 3;
	ck_assert(baton_decider_decide(&d, &db, 20, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 2);
	baton_decider_close(&d);

	/* a target that never catches up (it died) leaves the database to
	 * the lease: a failover to another region after it */
	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	db.phase = BATON_PHASE_FENCED;
	db.sw_target = 2;
	db.sw_final_position = 6000;
	db.regions[2].healthy = false;
	/* a switchover gets one more lease to finish first */
	ck_assert(!baton_decider_decide(&d, &db, 1150, &out));
	ck_assert(!baton_decider_decide(&d, &db, 2149, &out));
	ck_assert(baton_decider_decide(&d, &db, 2150, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 1);
	ck_assert_int_eq(out.reason, BATON_REASON_LEASE_EXPIRED);
	baton_decider_close(&d);
}
END_TEST

/* r0 primary at epoch 3 fenced at 6000 for a switchover to r1, which
 * died; r2 a witness: no other candidate. */
static void mk_fenced_witness(struct baton_db_state *db, bool synchronous)
{
	mkdb(db, 3);
	db->cfg.synchronous = synchronous;
	db->phase = BATON_PHASE_FENCED;
	db->sw_target = 1;
	db->sw_final_position = 6000;
	db->regions[0].position = 6000;
	db->regions[1].healthy = false;
	db->regions[2].role = BATON_ROLE_WITNESS;
	for (unsigned i = 0; i < 3; i++) {
		db->regions[i].members = BATON_ORDINAL_BIT(0);
		db->regions[i].listed = BATON_ORDINAL_BIT(0);
		db->regions[i].spare.ordinal = BATON_ORDINAL_NONE;
	}
}

/* The decision on DB at 2150 (the switchover's extra lease over) by a
 * fresh leader of time 0. */
static bool fenced_decide(const struct baton_db_state *db,
			  struct baton_decision *out)
{
	struct baton_decider d;
	bool r;

	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(!baton_decider_decide(&d, db, 2149, out));
	r = baton_decider_decide(&d, db, 2150, out);
	baton_decider_close(&d);
	return r;
}

/* A switchover whose target dies after the old primary fenced itself, with
 * nobody else to take over (make sim --witness --instances 2, seed 1433):
 * once the switchover's extra lease is over, the fenced old primary is
 * promoted again at the next epoch, only on its region's word of this
 * epoch that it serves at or past the position it fenced at; not while a
 * move is in flight (synchronous), never before the lease, never when
 * another region can take over, never in manual mode. */
START_TEST(a_fenced_primary_whose_target_died_is_promoted_again)
{
	struct baton_db_state db;
	struct baton_decision out;
	int region;

	for (int sync = 0; sync < 2; sync++) {
		mk_fenced_witness(&db, sync);
		ck_assert(fenced_decide(&db, &out));
		ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
		ck_assert_int_eq(out.region, 0);
		ck_assert_int_eq(out.ordinal, 0);
		ck_assert_uint_eq(out.epoch, 4);
		ck_assert_int_eq(out.reason, BATON_REASON_LEASE_EXPIRED);
		ck_assert_int_eq(baton_decider_blocked(&db, true, &region),
				 BATON_BLOCKED_NONE);
	}

	/* its region's word is missing, stale, unhealthy or short */
	mk_fenced_witness(&db, true);
	db.regions[0].report_epoch = 2;
	ck_assert(fenced_decide(&db, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
	ck_assert_int_eq(out.blocked, BATON_BLOCKED_NO_CANDIDATE);
	ck_assert_int_eq(baton_decider_blocked(&db, true, &region),
			 BATON_BLOCKED_NO_CANDIDATE);
	mk_fenced_witness(&db, true);
	db.regions[0].healthy = false;
	ck_assert(fenced_decide(&db, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
	mk_fenced_witness(&db, false);
	db.regions[0].position = 5999;
	ck_assert(fenced_decide(&db, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);

	/* synchronous, a move in flight in the dead target's region: its
	 * joiner may hold the only other copy, and the reset drops it */
	mk_fenced_witness(&db, true);
	db.regions[1].members |= BATON_ORDINAL_BIT(1);
	db.regions[1].spare.ordinal = 1;
	ck_assert(fenced_decide(&db, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);

	/* another data region can take over: the failover goes there */
	mk_fenced_witness(&db, false);
	db.regions[2].role = BATON_ROLE_DATA;
	ck_assert(fenced_decide(&db, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 2);

	/* not fenced for a switchover (a plain lease expiry): never the
	 * lost primary itself */
	mk_fenced_witness(&db, false);
	db.phase = BATON_PHASE_HEALTHY;
	db.sw_target = -1;
	{
		struct baton_decider d;
		baton_decider_init(&d, 0);
		baton_decider_become_leader(&d, 0);
		ck_assert(baton_decider_decide(&d, &db, 5000, &out));
		ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
		baton_decider_close(&d);
	}

	/* manual mode: a human decides */
	mk_fenced_witness(&db, false);
	db.cfg.automatic = false;
	ck_assert(fenced_decide(&db, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_REGION_LOST);
}
END_TEST

START_TEST(renewer_lease_from_send_time_and_agent_shorter)
{
	struct baton_lease l;

	baton_lease_init(&l, 1000, 100000);
	ck_assert(!baton_lease_valid(&l, 1, 0));
	baton_lease_acked(&l, 1, 100, 1000);
	ck_assert(baton_lease_valid(&l, 1, 1099));
	ck_assert(!baton_lease_valid(&l, 1, 1100));
	ck_assert(!baton_lease_valid(&l, 2, 500));
	/* an older ack never shortens */
	baton_lease_acked(&l, 1, 50, 1000);
	ck_assert(baton_lease_valid(&l, 1, 1099));
	/* agent: remaining 1000 / 1.1 */
	ck_assert_uint_eq(baton_lease_agent_grant(&l, 1, 100), 909);
	ck_assert_uint_eq(baton_lease_agent_grant(&l, 1, 2000), 0);
	baton_lease_revoke(&l, 200);
	ck_assert(!baton_lease_valid(&l, 1, 200));
	/* a renewal sent before the revoke, acknowledged after it, brings
	 * nothing back (a switchover began while it was in flight) */
	baton_lease_acked(&l, 1, 150, 1000);
	ck_assert(!baton_lease_valid(&l, 1, 201));
	baton_lease_acked(&l, 1, 200, 1000);
	ck_assert(!baton_lease_valid(&l, 1, 201));
	/* one sent after it does */
	baton_lease_acked(&l, 1, 201, 1000);
	ck_assert(baton_lease_valid(&l, 1, 300));
}
END_TEST

/* Leases are per database, found by name among thousands: each keeps its
 * own renewal time, forgetting one leaves the others alone, and retain()
 * drops the leases of databases that no longer exist. */
static bool even_exists(const char *db, void *data)
{
	unsigned long k = strtoul(db + 2, NULL, 10); /* "db<k>" */
	(void)data;
	return k % 2 == 0;
}

START_TEST(leases_for_thousands_of_databases)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;
	char name[BATON_NAME_SIZE];
	unsigned k, n = 3000;

	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	for (k = 0; k < n; k++) {
		snprintf(db.name, sizeof db.name, "db%u", k);
		baton_decider_renewed(&d, &db, 0, 0, 1000 + k);
	}
	ck_assert_uint_eq(baton_index_count(&d.leases), n);
	for (k = 0; k < n; k += 7) {
		snprintf(db.name, sizeof db.name, "db%u", k);
		/* 1000 + k + 1000 * 1.1 + 50 */
		ck_assert_uint_eq(baton_decider_expiry(&d, &db, 0), 2150 + k);
		ck_assert(!baton_decider_decide(&d, &db, 2149 + k, &out));
		ck_assert(baton_decider_decide(&d, &db, 2150 + k, &out));
		ck_assert_str_eq(out.db, db.name);
	}
	baton_decider_forget(&d, "db1501");
	ck_assert_uint_eq(baton_index_count(&d.leases), n - 1);
	snprintf(db.name, sizeof db.name, "db1503");
	ck_assert_uint_eq(baton_decider_expiry(&d, &db, 0), 2150 + 1503);
	baton_decider_retain(&d, even_exists, NULL);
	ck_assert_uint_eq(baton_index_count(&d.leases), n / 2);
	for (k = 0; k < n; k++) {
		snprintf(name, sizeof name, "db%u", k);
		if (k % 2 == 0) {
			ck_assert_ptr_nonnull(baton_index_get(&d.leases, name));
		} else {
			ck_assert_ptr_null(baton_index_get(&d.leases, name));
		}
	}
	baton_decider_close(&d);
}
END_TEST

/* ---- instances (docs/design-per-instance.md §3.5, §4) ------------------- */

/* Region I's spare: ORDINAL, healthy, reported in epoch 3 at POSITION; a
 * member of the synchronous set when MEMBER. */
static void set_spare(struct baton_db_state *db, unsigned i, int ordinal,
		      bool member, uint64_t position)
{
	struct baton_region_state *r = &db->regions[i];
	r->spare.ordinal = (int8_t)ordinal;
	r->spare.healthy = true;
	r->spare.position = position;
	r->spare.report_epoch = 3;
	r->members = BATON_ORDINAL_BIT(r->designated);
	if (member) {
		r->members |= BATON_ORDINAL_BIT(ordinal);
	}
	r->listed = r->members;
}

/* Mid-change, either member may hold the only copy of an acknowledged
 * commit: the round waits for both (naming the one missing), and the
 * highest final wins, the joiner's too. */
START_TEST(finals_wait_for_every_member)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;
	int ordinal = 99;

	mkdb(&db, 3);
	db.cfg.synchronous = true;
	set_spare(&db, 1, 1, true, 0);
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	db.phase = BATON_PHASE_FAILING_OVER;
	db.regions[1].final = true;
	db.regions[1].position = 6000;
	db.regions[2].final = true;
	db.regions[2].position = 6500;
	ck_assert(baton_decider_decide(&d, &db, 1160, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
	ck_assert_int_eq(out.blocked, BATON_BLOCKED_WAITING_FINAL);
	ck_assert_int_eq(out.region, 1);
	ck_assert_int_eq(out.ordinal, 1); /* the joiner */
	ck_assert_int_eq(baton_decider_missing_instance(&db, &ordinal), 1);
	ck_assert_int_eq(ordinal, 1);
	/* a final of an older epoch does not count */
	db.regions[1].spare.final = true;
	db.regions[1].spare.position = 7000;
	db.regions[1].spare.report_epoch = 2;
	ck_assert_int_eq(baton_decider_missing_final(&db), 1);
	db.regions[1].spare.report_epoch = 3;
	ck_assert_int_eq(baton_decider_missing_final(&db), -1);
	ck_assert(baton_decider_decide(&d, &db, 1170, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 1);
	ck_assert_int_eq(out.ordinal, 1);
	/* not a member (released): no longer awaited, and below the
	 * members' highest final it is no candidate either */
	set_spare(&db, 1, 1, false, 0);
	db.regions[1].spare.final = false;
	ck_assert_int_eq(baton_decider_missing_final(&db), -1);
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, true, &ordinal),
			 2);
	ck_assert_int_eq(ordinal, 0);
	baton_decider_close(&d);
}
END_TEST

/* A spare that is not a member (an asynchronous replica) is promoted in a
 * synchronous round only at or past the highest member final; equal
 * positions keep the designated instance (it comes first). */
START_TEST(spare_picked_only_at_or_above_highest_member_final)
{
	struct baton_db_state db;
	int ordinal;

	mkdb(&db, 3);
	db.cfg.synchronous = true;
	db.phase = BATON_PHASE_FAILING_OVER;
	db.regions[1].final = true;
	db.regions[1].position = 7000;
	db.regions[2].final = true;
	db.regions[2].position = 6000;
	set_spare(&db, 2, 4, false, 6999);
	db.regions[2].spare.final = true;
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, true, &ordinal),
			 1);
	ck_assert_int_eq(ordinal, 0);
	db.regions[2].spare.position = 7000; /* a tie: the earlier stays */
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, true, &ordinal),
			 1);
	db.regions[2].priority = 5; /* priority breaks the tie */
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, true, &ordinal),
			 2);
	ck_assert_int_eq(ordinal, 4);
	db.regions[2].priority = 0;
	db.regions[2].spare.position = 7001;
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, true, &ordinal),
			 2);
	ck_assert_int_eq(ordinal, 4);
	/* without its final it is nothing */
	db.regions[2].spare.final = false;
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, true, &ordinal),
			 1);
	/* and outside a synchronous round a standby's spare never is */
	db.regions[2].spare.final = true;
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, false, &ordinal),
			 1);
	ck_assert_int_eq(ordinal, 0);
}
END_TEST

/* The exclusion is the lost primary instance; its region's sibling is a
 * candidate only on the region's own word (its designated instance
 * reported down in this epoch), never because the sibling looks fine: a
 * region cut off as a whole still reads "designated healthy". */
START_TEST(sibling_needs_the_regions_own_word)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;
	int ordinal;

	mkdb(&db, 2);
	db.regions[1].healthy = false;
	set_spare(&db, 0, 1, false, 5000);
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(baton_decider_decide(&d, &db, 1150, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
	ck_assert_int_eq(out.blocked, BATON_BLOCKED_NO_CANDIDATE);
	/* the region says its designated instance is down, in this epoch */
	db.regions[0].healthy = false;
	db.regions[0].report_epoch = 2;
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, false, &ordinal),
			 -1);
	db.regions[0].report_epoch = 3;
	ck_assert(baton_decider_decide(&d, &db, 2200, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 0);
	ck_assert_int_eq(out.ordinal, 1);
	/* the lost instance itself never */
	db.regions[0].spare.healthy = false;
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, false, &ordinal),
			 -1);
	/* a healthy designated instance elsewhere still comes by priority */
	db.regions[0].spare.healthy = true;
	db.regions[1].healthy = true;
	db.regions[1].priority = 1;
	ck_assert_int_eq(baton_decider_pick_instance(&db, 0, false, &ordinal),
			 1);
	ck_assert_int_eq(ordinal, 0);
	baton_decider_close(&d);
}
END_TEST

/* A synchronous round over three regions whose primary region r0 said,
 * in this epoch, its designated instance was down, its spare (ordinal 1)
 * healthy: every member's final is in (r1 at 7000, r2 at 6000), the
 * spare's is not. */
static void mk_sibling_round(struct baton_db_state *db)
{
	mkdb(db, 3);
	db->cfg.synchronous = true;
	db->phase = BATON_PHASE_FAILING_OVER;
	db->round = 1;
	db->regions[0].healthy = false;
	set_spare(db, 0, 1, false, 5000);
	db->regions[1].final = true;
	db->regions[1].position = 7000;
	db->regions[2].final = true;
	db->regions[2].position = 6000;
}

/* The lost primary region's sibling is a candidate on its region's word,
 * and its final lands a few ms after the members' (lab: 5-46 ms): the
 * round waits for it, silently (no decision, no FailoverBlocked), and
 * only up to spare_wait_ms from the first time the leader saw every
 * member's final; then it promotes the members' best, as before. */
START_TEST(the_round_waits_bounded_for_the_lost_regions_spare)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;
	int region;

	mk_sibling_round(&db);
	baton_decider_init(&d, 0);
	ck_assert_uint_eq(d.spare_wait_ms, BATON_DECIDER_SPARE_WAIT_MS);
	baton_decider_become_leader(&d, 0);
	ck_assert(!baton_decider_decide(&d, &db, 2000, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_NONE);
	/* no block in anyone's status during it: a member can be promoted */
	ck_assert_int_eq(baton_decider_blocked(&db, true, &region),
			 BATON_BLOCKED_NONE);
	ck_assert_int_eq(region, -1);
	ck_assert(!baton_decider_decide(&d, &db, 2000 + 499, &out));
	/* bounded: the members' most advanced, as without a spare */
	ck_assert(baton_decider_decide(&d, &db, 2000 + 500, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 1);
	ck_assert_int_eq(out.ordinal, 0);
	ck_assert_uint_eq(out.epoch, 4);
	baton_decider_close(&d);

	/* the clock starts when every member's final is in, not before:
	 * waiting for a member is not waiting for the spare */
	mk_sibling_round(&db);
	db.regions[2].final = false;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(baton_decider_decide(&d, &db, 2000, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_BLOCKED);
	ck_assert_int_eq(out.blocked, BATON_BLOCKED_WAITING_FINAL);
	ck_assert_int_eq(out.region, 2);
	db.regions[2].final = true;
	ck_assert(!baton_decider_decide(&d, &db, 3000, &out));
	ck_assert(!baton_decider_decide(&d, &db, 3499, &out));
	/* a new round at the same epoch (one called off and started
	 * again) waits afresh */
	db.round = 2;
	ck_assert(!baton_decider_decide(&d, &db, 3500, &out));
	ck_assert(!baton_decider_decide(&d, &db, 3999, &out));
	/* so does a new leader (it never saw the finals as leader) */
	baton_decider_lose_leadership(&d);
	baton_decider_become_leader(&d, 3990);
	ck_assert(!baton_decider_decide(&d, &db, 4000, &out));
	ck_assert(!baton_decider_decide(&d, &db, 4499, &out));
	ck_assert(baton_decider_decide(&d, &db, 4500, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 1);
	baton_decider_close(&d);

	/* settable: 0 is no wait */
	mk_sibling_round(&db);
	baton_decider_init(&d, 0);
	d.spare_wait_ms = 0;
	baton_decider_become_leader(&d, 0);
	ck_assert(baton_decider_decide(&d, &db, 2000, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 1);
	baton_decider_close(&d);
}
END_TEST

/* The spare's final arriving inside the wait ends it at once, and the
 * spare is judged as without the wait: a candidate only at or past the
 * highest member final (then it keeps the primary in its region, here
 * first in region order on a tie); below it, the members' best. */
/* The sibling round waits (no decision at 2000); then the spare's final
 * comes in at POSITION, HEALTHY, and the decision at AT promotes REGION's
 * instance ORDINAL. */
static void spare_final_promotes(uint64_t position, bool healthy, uint64_t at,
				 int region, int ordinal)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mk_sibling_round(&db);
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(!baton_decider_decide(&d, &db, 2000, &out));
	db.regions[0].spare.final = true;
	db.regions[0].spare.healthy = healthy;
	db.regions[0].spare.position = position;
	ck_assert(baton_decider_decide(&d, &db, at, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, region);
	ck_assert_int_eq(out.ordinal, ordinal);
	ck_assert_uint_eq(out.epoch, 4);
	baton_decider_close(&d);
}

START_TEST(the_spares_final_in_the_wait_is_judged_as_ever)
{
	/* equal to r1's final: a holder, and first in region order */
	spare_final_promotes(7000, true, 2046, 0, 1);
	/* below the highest member final: no candidate, no more wait */
	spare_final_promotes(6999, true, 2046, 1, 0);
	/* a final that says the spare is unhealthy: no candidate either */
	spare_final_promotes(9000, false, 2010, 1, 0);
}
END_TEST

/* The synchronous round at DB promotes at once at NOW (no wait): the
 * members' best, r1. */
static void promotes_r1_at_once(const struct baton_db_state *db)
{
	struct baton_decider d;
	struct baton_decision out;

	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(baton_decider_decide(&d, db, 2000, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 1);
	ck_assert_int_eq(out.ordinal, 0);
	baton_decider_close(&d);
}

/* The wait only when the spare is a candidate on its region's own word and
 * its final is missing: never for a region that did not say (in this
 * epoch) its designated instance is down (cut off as a whole, it fails
 * over elsewhere as before), an unhealthy spare, a spare not reported in
 * this epoch, a spare whose final is in, a region with no spare (one
 * instance: the simulation's digests of before), nor outside a
 * synchronous round. */
START_TEST(no_wait_unless_the_spare_is_a_candidate_without_its_final)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mk_sibling_round(&db);
	db.regions[0].healthy = true; /* no word from the region */
	promotes_r1_at_once(&db);

	mk_sibling_round(&db);
	db.regions[0].report_epoch = 2; /* its word is of another epoch */
	promotes_r1_at_once(&db);

	mk_sibling_round(&db);
	db.regions[0].spare.healthy = false;
	promotes_r1_at_once(&db);

	mk_sibling_round(&db);
	db.regions[0].spare.report_epoch = 2;
	promotes_r1_at_once(&db);

	mk_sibling_round(&db);
	db.regions[0].spare.final = true; /* in, below the members' */
	db.regions[0].spare.position = 6500;
	promotes_r1_at_once(&db);

	/* one instance per region: no spare slot */
	mk_sibling_round(&db);
	db.regions[0].spare.ordinal = BATON_ORDINAL_NONE;
	promotes_r1_at_once(&db);
	mk_sibling_round(&db);
	memset(&db.regions[0].spare, 0, sizeof db.regions[0].spare);
	promotes_r1_at_once(&db); /* zeroed: the designated ordinal */

	/* asynchronous: no round; the sibling is a live candidate at the
	 * expiry like any other, and the decision comes then */
	mk_sibling_round(&db);
	db.cfg.synchronous = false;
	db.phase = BATON_PHASE_HEALTHY;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(!baton_decider_decide(&d, &db, 1149, &out));
	ck_assert(baton_decider_decide(&d, &db, 1150, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_PROMOTE);
	ck_assert_int_eq(out.region, 0); /* first in order, no lag */
	ck_assert_int_eq(out.ordinal, 1);
	baton_decider_close(&d);

	/* synchronous, at the expiry: lost() at once, as before */
	mk_sibling_round(&db);
	db.phase = BATON_PHASE_HEALTHY;
	baton_decider_init(&d, 0);
	baton_decider_become_leader(&d, 0);
	ck_assert(baton_decider_decide(&d, &db, 1150, &out));
	ck_assert_int_eq(out.kind, BATON_DECISION_LOST);
	baton_decider_close(&d);
}
END_TEST

/* The one rule of who detaches in a round (agents.c, driver.c and the
 * simulation all ask it): members of standby data regions, the lost
 * primary region's sibling on the region's word, and, only while a
 * promote floor is set in a synchronous round, a standby region's spare
 * that is no member (the one a promote's reset dropped, §9 note 51). */
START_TEST(final_due_names_every_instance_that_detaches)
{
	struct baton_db_state db;

	mk_sibling_round(&db);
	set_spare(&db, 1, 1, true, 7100);  /* r1 mid-move: a member */
	set_spare(&db, 2, 1, false, 6100); /* r2: a spare, no member */
	ck_assert_int_eq(baton_decider_final_due(&db, 1, 0),
			 BATON_FINAL_MEMBER);
	ck_assert_int_eq(baton_decider_final_due(&db, 1, 1),
			 BATON_FINAL_MEMBER);
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 0),
			 BATON_FINAL_MEMBER);
	ck_assert_int_eq(baton_decider_final_due(&db, 0, 1),
			 BATON_FINAL_LOST_SPARE);
	/* the lost designated instance, an instance in no slot, no floor */
	ck_assert_int_eq(baton_decider_final_due(&db, 0, 0), BATON_FINAL_NONE);
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 2), BATON_FINAL_NONE);
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 1), BATON_FINAL_NONE);

	db.promote_floor = 6100;
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 1),
			 BATON_FINAL_FLOOR_SPARE);
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 2), BATON_FINAL_NONE);
	/* asynchronous, a witness, or out of a round: nobody is due */
	db.cfg.synchronous = false;
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 1), BATON_FINAL_NONE);
	db.cfg.synchronous = true;
	db.regions[2].role = BATON_ROLE_WITNESS;
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 1), BATON_FINAL_NONE);
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 0), BATON_FINAL_NONE);
	db.regions[2].role = BATON_ROLE_DATA;
	db.phase = BATON_PHASE_HEALTHY;
	ck_assert_int_eq(baton_decider_final_due(&db, 2, 1), BATON_FINAL_NONE);
	ck_assert_int_eq(baton_decider_final_due(&db, 1, 0), BATON_FINAL_NONE);
	ck_assert_int_eq(baton_decider_final_due(&db, 0, 1), BATON_FINAL_NONE);
	db.phase = BATON_PHASE_FAILING_OVER;
	/* the lost region's sibling needs its own report in this epoch */
	db.regions[0].spare.report_epoch = 2;
	ck_assert_int_eq(baton_decider_final_due(&db, 0, 1), BATON_FINAL_NONE);
	/* out of range */
	ck_assert_int_eq(baton_decider_final_due(&db, 3, 0), BATON_FINAL_NONE);
	ck_assert_int_eq(baton_decider_final_due(&db, -1, 0), BATON_FINAL_NONE);
	ck_assert_int_eq(baton_decider_final_due(&db, 1, BATON_ORDINALS),
			 BATON_FINAL_NONE);
	ck_assert_int_eq(baton_decider_final_due(&db, 1, -1), BATON_FINAL_NONE);
}
END_TEST

static Suite *decider_suite(void)
{
	Suite *s = suite_create("consensus_decider");
	TCase *tc = tcase_create("decider");
	tcase_add_test(tc, no_decision_before_expiry_then_promote);
	tcase_add_test(tc, new_leader_keeps_what_it_applied_as_a_follower);
	tcase_add_test(tc, a_new_leader_gives_a_lapsed_lease_one_renewal_round);
	tcase_add_test(tc,
		       a_new_epoch_has_one_more_lease_before_its_first_renewal);
	tcase_add_test(tc, pick_prefers_priority_then_lag_and_skips_ineligible);
	tcase_add_test(tc, final_pick_prefers_the_most_advanced_standby);
	tcase_add_test(tc, synchronous_failover_waits_for_every_final_position);
	tcase_add_test(tc, a_shorter_lease_never_cuts_an_earlier_one);
	tcase_add_test(tc, manual_mode_only_notifies_once);
	tcase_add_test(tc, manual_mode_never_promotes_from_a_round);
	tcase_add_test(tc, switchover_waits_for_final_position);
	tcase_add_test(tc, renewer_lease_from_send_time_and_agent_shorter);
	tcase_add_test(tc, leases_for_thousands_of_databases);
	tcase_add_test(tc, finals_wait_for_every_member);
	tcase_add_test(tc, spare_picked_only_at_or_above_highest_member_final);
	tcase_add_test(tc, sibling_needs_the_regions_own_word);
	tcase_add_test(tc, the_round_waits_bounded_for_the_lost_regions_spare);
	tcase_add_test(tc, the_spares_final_in_the_wait_is_judged_as_ever);
	tcase_add_test(
	    tc, no_wait_unless_the_spare_is_a_candidate_without_its_final);
	tcase_add_test(tc, final_due_names_every_instance_that_detaches);
	tcase_add_test(tc,
		       a_fenced_primary_whose_target_died_is_promoted_again);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(decider_suite)
