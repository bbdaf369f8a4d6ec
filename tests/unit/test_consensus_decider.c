/* Unit tests for consensus/decider: lease expiry, candidate choice, manual
 * mode, switchover and the renewer/agent side. */
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
	}
	db->primary = 0;
	db->epoch = 3;
	db->sw_target = -1;
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
	baton_decider_renewed(&d, "orders", 3, 0, 500);
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

START_TEST(new_leader_restarts_every_lease)
{
	struct baton_decider d;
	struct baton_db_state db;
	struct baton_decision out;

	mkdb(&db, 3);
	baton_decider_init(&d, 0);
	baton_decider_renewed(&d, "orders", 3, 0, 0);
	baton_decider_become_leader(&d, 5000);
	ck_assert(!baton_decider_decide(&d, &db, 6000, &out));
	ck_assert(baton_decider_decide(&d, &db, 6150, &out));
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
	ck_assert_int_eq(baton_decider_pick(&db, 0), 2);
	db.regions[1].priority = 5;
	ck_assert_int_eq(baton_decider_pick(&db, 0), 1);
	db.regions[1].position = 3000; /* lag 2000 > max */
	ck_assert_int_eq(baton_decider_pick(&db, 0), 2);
	db.regions[2].healthy = false;
	ck_assert_int_eq(baton_decider_pick(&db, 0), -1);
	db.regions[2].healthy = true;
	db.cfg.synchronous = true;
	ck_assert_int_eq(baton_decider_pick(&db, 0), -1);
	db.regions[2].sync_standby = true;
	ck_assert_int_eq(baton_decider_pick(&db, 0), 2);
}
END_TEST

/* Synchronous with ANY 1: a commit was acknowledged once one standby had
 * it, so promoting a higher-priority standby that is behind the other one
 * could lose it. The most advanced synchronous standby wins. */
START_TEST(synchronous_pick_prefers_the_most_advanced_standby)
{
	struct baton_db_state db;

	mkdb(&db, 3);
	db.cfg.synchronous = true;
	db.regions[1].sync_standby = true;
	db.regions[2].sync_standby = true;
	db.regions[1].priority = 100;
	db.regions[2].priority = 50;
	db.regions[1].position = 4900;
	db.regions[2].position = 5000;
	ck_assert_int_eq(baton_decider_pick(&db, 0), 2);
	db.regions[1].position = 5000; /* a tie: priority decides */
	ck_assert_int_eq(baton_decider_pick(&db, 0), 1);
	db.regions[2].position = 5001;
	ck_assert_int_eq(baton_decider_pick(&db, 0), 2);
	/* asynchronous: priority first, as before */
	db.cfg.synchronous = false;
	ck_assert_int_eq(baton_decider_pick(&db, 0), 1);
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
}
END_TEST

START_TEST(renewer_lease_from_send_time_and_agent_shorter)
{
	struct baton_lease l;

	baton_lease_init(&l, 1000, 100000);
	ck_assert(!baton_lease_valid(&l, 1, 0));
	baton_lease_acked(&l, 1, 100);
	ck_assert(baton_lease_valid(&l, 1, 1099));
	ck_assert(!baton_lease_valid(&l, 1, 1100));
	ck_assert(!baton_lease_valid(&l, 2, 500));
	/* an older ack never shortens */
	baton_lease_acked(&l, 1, 50);
	ck_assert(baton_lease_valid(&l, 1, 1099));
	/* agent: remaining 1000 / 1.1 */
	ck_assert_uint_eq(baton_lease_agent_grant(&l, 1, 100), 909);
	ck_assert_uint_eq(baton_lease_agent_grant(&l, 1, 2000), 0);
	baton_lease_revoke(&l);
	ck_assert(!baton_lease_valid(&l, 1, 200));
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
		snprintf(name, sizeof name, "db%u", k);
		baton_decider_renewed(&d, name, 3, 0, 1000 + k);
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

static Suite *decider_suite(void)
{
	Suite *s = suite_create("consensus_decider");
	TCase *tc = tcase_create("decider");
	tcase_add_test(tc, no_decision_before_expiry_then_promote);
	tcase_add_test(tc, new_leader_restarts_every_lease);
	tcase_add_test(tc, pick_prefers_priority_then_lag_and_skips_ineligible);
	tcase_add_test(tc, synchronous_pick_prefers_the_most_advanced_standby);
	tcase_add_test(tc, manual_mode_only_notifies_once);
	tcase_add_test(tc, switchover_waits_for_final_position);
	tcase_add_test(tc, renewer_lease_from_send_time_and_agent_shorter);
	tcase_add_test(tc, leases_for_thousands_of_databases);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(decider_suite)
