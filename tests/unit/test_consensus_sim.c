/* The deterministic failover simulation (consensus/sim.c): 2,000 random
 * schedules on 3 and 5 servers must keep S1-S3 and L1 (see sim.h), and a
 * deliberately broken decider must be caught within the same budget. */
#include <string.h>

#include "consensus/decider.h"
#include "consensus/sim.h"
#include "harness.h"

static void run_range(unsigned servers, uint64_t first, unsigned n)
{
	struct baton_sim_config cfg;
	struct baton_sim_result r;
	unsigned i;

	baton_sim_config_default(&cfg);
	cfg.n_servers = servers;
	for (i = 0; i < n; i++) {
		cfg.seed = first + i;
		ck_assert_int_eq(baton_sim_run(&cfg, &r), 0);
		ck_assert_msg(!r.violation,
			      "seed %llu (servers %u): %s\n%s\nreproduce: "
			      "baton_sim --servers %u --seed %llu "
			      "--schedules 1 --trace",
			      (unsigned long long)cfg.seed, servers, r.what,
			      r.trace, servers, (unsigned long long)cfg.seed);
		ck_assert(r.liveness_ok);
	}
}

/* 4 x 350 schedules on 3 servers, 2 x 300 on 5: 2,000 in all. */
START_TEST(three_servers)
{
	run_range(3, 1 + (uint64_t)_i * 350, 350);
}
END_TEST

START_TEST(five_servers)
{
	run_range(5, 100001 + (uint64_t)_i * 300, 300);
}
END_TEST

START_TEST(same_seed_same_run)
{
	struct baton_sim_config cfg;
	struct baton_sim_result a, b;

	baton_sim_config_default(&cfg);
	cfg.seed = 4242;
	ck_assert_int_eq(baton_sim_run(&cfg, &a), 0);
	ck_assert_int_eq(baton_sim_run(&cfg, &b), 0);
	ck_assert_uint_eq(a.sim_ms, b.sim_ms);
	ck_assert_uint_eq(a.applied, b.applied);
	ck_assert_uint_eq(a.promotes, b.promotes);
	ck_assert_uint_eq(a.recover_ms, b.recover_ms);
}
END_TEST

/* The checker is only worth something if it catches a real bug: a leader
 * that measures expiry from the renewer's send time (another machine's
 * clock, no drift allowance) must be caught within the default budget. */
START_TEST(broken_decider_is_caught)
{
	struct baton_sim_config cfg;
	struct baton_sim_result r;
	unsigned i, found = 0;
	uint64_t first = 0;

	baton_sim_config_default(&cfg);
	cfg.decider_flags = BATON_DECIDER_BROKEN_SEND_TIME;
	for (i = 0; i < 2000 && found == 0; i++) {
		cfg.seed = 1 + i;
		ck_assert_int_eq(baton_sim_run(&cfg, &r), 0);
		if (r.violation && strncmp(r.what, "S1", 2) == 0) {
			found++;
			first = cfg.seed;
		}
	}
	ck_assert_msg(found > 0, "the broken decider went unnoticed");
	fprintf(stderr, "broken decider caught at seed %llu: %s\n",
		(unsigned long long)first, r.what);
}
END_TEST

static Suite *sim_suite(void)
{
	Suite *s = suite_create("consensus_sim");
	TCase *tc = tcase_create("sim");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, three_servers, 0, 4);
	tcase_add_loop_test(tc, five_servers, 0, 2);
	tcase_add_test(tc, same_seed_same_run);
	tcase_add_test(tc, broken_decider_is_caught);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(sim_suite)
