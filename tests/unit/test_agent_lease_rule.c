/* Unit tests for the agent's lease rule (agent/lease.h): what one answer
 * from batond does to the lease, for every way an answer can be stale. The
 * property under test: the deadline never ends later than
 * question time + grant - margin, whatever the order and delay of answers,
 * and nothing but a current answer for the agent's own primary epoch moves
 * it. A randomized check drives thousands of answers with random delays
 * and generations against that bound. */
#include <stdlib.h>
#include <string.h>

#include "agent/lease.h"
#include "harness.h"

static struct baton_agent_lease held(uint64_t epoch)
{
	struct baton_agent_lease l;
	memset(&l, 0, sizeof l);
	l.epoch = epoch;
	l.primary_epoch = epoch;
	l.gen = 7;
	l.margin_ms = 100;
	return l;
}

static struct baton_lease_answer answer(uint64_t sent, uint64_t epoch,
					uint64_t grant)
{
	struct baton_lease_answer a = {
	    .sent_ms = sent, .gen = 7, .epoch = epoch, .grant_ms = grant};
	return a;
}

START_TEST(a_grant_counts_from_the_question)
{
	struct baton_agent_lease l = held(3);
	struct baton_lease_answer a = answer(1000, 3, 1500);

	/* answered 400 ms after the question: ends at 1000 + 1500 - 100 */
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1400),
			 BATON_GRANT_EXTENDED);
	ck_assert(l.valid);
	ck_assert_uint_eq(l.deadline, 2400);
	/* an older question's answer adds nothing */
	a = answer(900, 3, 1500);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1500),
			 BATON_GRANT_KEPT);
	ck_assert_uint_eq(l.deadline, 2400);
	/* a newer one moves it */
	a = answer(1200, 3, 1500);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1250),
			 BATON_GRANT_EXTENDED);
	ck_assert_uint_eq(l.deadline, 2600);
}
END_TEST

/* What PostgreSQL is told is the lease's own deadline, whenever it is
 * computed: the agent used to publish "the clock now + what is left"
 * with the clock read twice, and a preemption between the readings
 * stretched the deadline by its length (a commit 112 ms after the lease
 * in a loaded CI run). */
START_TEST(the_published_deadline_is_the_lease_s_own)
{
	struct baton_agent_lease l = held(3);
	struct baton_lease_answer a = answer(1000, 3, 1500);

	ck_assert_uint_eq(baton_agent_lease_file_ns(&l, 1000), 0);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1400),
			 BATON_GRANT_EXTENDED);
	/* the same at any time it is computed, up to the end */
	ck_assert_uint_eq(baton_agent_lease_file_ns(&l, 1400),
			  2400ull * 1000000u);
	ck_assert_uint_eq(baton_agent_lease_file_ns(&l, 2399),
			  2400ull * 1000000u);
	/* over: fenced */
	ck_assert_uint_eq(baton_agent_lease_file_ns(&l, 2400), 0);
	/* held for another epoch than the one it is primary at: fenced */
	l.primary_epoch = 2;
	ck_assert_uint_eq(baton_agent_lease_file_ns(&l, 1500), 0);
	l.primary_epoch = 3;
	l.valid = false;
	ck_assert_uint_eq(baton_agent_lease_file_ns(&l, 1500), 0);
}
END_TEST

START_TEST(late_answers_are_worth_nothing)
{
	struct baton_agent_lease l = held(3);
	struct baton_lease_answer a = answer(1000, 3, 500);

	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1400),
			 BATON_GRANT_IGNORED); /* 1000 + 500 - 100 = 1400 */
	ck_assert(!l.valid);
	a = answer(1000, 3, 80); /* shorter than the margin */
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1001),
			 BATON_GRANT_IGNORED);
	ck_assert(!l.valid);
}
END_TEST

START_TEST(answers_from_before_a_fence_are_thrown_away)
{
	struct baton_agent_lease l = held(3);
	struct baton_lease_answer a = answer(1000, 3, 1500);

	a.gen = 6; /* asked before the last fence/demote/rejoin/init */
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1010),
			 BATON_GRANT_IGNORED);
	ck_assert(!l.valid);
	a.gen = 8; /* cannot happen (from the future): not trusted either */
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1010),
			 BATON_GRANT_IGNORED);
	ck_assert(!l.valid);
}
END_TEST

START_TEST(a_grant_is_for_the_primary_of_its_epoch_only)
{
	struct baton_agent_lease l = held(3);
	struct baton_lease_answer a = answer(1000, 4, 1500);

	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1010),
			 BATON_GRANT_IGNORED); /* batond ahead of us */
	a = answer(1000, 2, 1500);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1010),
			 BATON_GRANT_IGNORED); /* batond behind */
	/* a replica (never promoted) and one promoted at an older epoch */
	l.primary_epoch = 0;
	a = answer(1000, 3, 1500);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1010),
			 BATON_GRANT_IGNORED);
	l.primary_epoch = 2;
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1010),
			 BATON_GRANT_IGNORED);
	ck_assert(!l.valid);
	/* epoch 0 is no epoch */
	l = held(0);
	a = answer(1000, 0, 1500);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1010),
			 BATON_GRANT_IGNORED);
}
END_TEST

START_TEST(zero_for_our_epoch_revokes)
{
	struct baton_agent_lease l = held(3);
	struct baton_lease_answer a = answer(1000, 3, 1500);

	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1010),
			 BATON_GRANT_EXTENDED);
	a = answer(1100, 3, 0);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1110),
			 BATON_GRANT_REVOKED);
	ck_assert(!l.valid);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1120),
			 BATON_GRANT_IGNORED);
	/* a zero for another epoch revokes nothing */
	a = answer(1200, 3, 1500);
	baton_agent_lease_apply(&l, &a, 1210);
	a = answer(1300, 2, 0);
	ck_assert_int_eq(baton_agent_lease_apply(&l, &a, 1310),
			 BATON_GRANT_IGNORED);
	ck_assert(l.valid);
}
END_TEST

/* Random questions, delays, generations and epochs: whenever the lease is
 * valid, its deadline is at most the latest accepted question time plus
 * its grant minus the margin — an answer never stretches it beyond what
 * batond granted from the moment the agent asked. */
START_TEST(no_answer_ever_stretches_the_lease)
{
	struct baton_agent_lease l = held(5);
	uint64_t now = 1000, bound = 0;
	unsigned extended = 0;

	srand(42);
	for (int i = 0; i < 200000; i++) {
		struct baton_lease_answer a;
		uint64_t delay = (uint64_t)(rand() % 3000);
		enum baton_grant_verdict v;

		now += (uint64_t)(rand() % 50);
		a.sent_ms = now > delay ? now - delay : 0;
		a.gen = rand() % 8 == 0 ? l.gen - 1 : l.gen;
		a.epoch = rand() % 10 == 0 ? 4 : 5;
		a.grant_ms = rand() % 20 == 0 ? 0 : (uint64_t)(rand() % 2500);
		v = baton_agent_lease_apply(&l, &a, now);
		if (v == BATON_GRANT_EXTENDED) {
			extended++;
			ck_assert_uint_eq(a.gen, l.gen);
			ck_assert_uint_eq(a.epoch, l.primary_epoch);
			bound = a.sent_ms + a.grant_ms - l.margin_ms;
		}
		if (v == BATON_GRANT_REVOKED) {
			bound = 0;
		}
		if (l.valid && now < l.deadline) {
			ck_assert_uint_le(l.deadline, bound);
		}
		if (rand() % 1000 == 0) {
			l.gen++; /* a fence order */
			l.valid = false;
			bound = 0;
		}
	}
	ck_assert_uint_gt(extended, 1000); /* the check saw real leases */
}
END_TEST

START_TEST(answer_bodies_are_checked)
{
	uint64_t e = 0, g = 0;
	unsigned every = 100;
	json_t *b;

	b = json_loads("{\"epoch\":3,\"grantMillis\":1500,"
		       "\"askEveryMillis\":5}",
		       0, NULL);
	ck_assert(baton_lease_parse_answer(b, &e, &g, &every));
	ck_assert_uint_eq(e, 3);
	ck_assert_uint_eq(g, 1500);
	ck_assert_uint_eq(every, BATON_LEASE_ASK_MIN_MS); /* clamped */
	json_decref(b);
	const char *bad[] = {
	    "[]",
	    "{\"epoch\":3}",
	    "{\"epoch\":-1,\"grantMillis\":5}",
	    "{\"epoch\":3,\"grantMillis\":\"5\"}",
	    "{\"epoch\":3,\"grantMillis\":3600001}",
	    "{\"epoch\":3,\"grantMillis\":-4}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		b = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		ck_assert_ptr_nonnull(b);
		ck_assert_msg(!baton_lease_parse_answer(b, &e, &g, &every),
			      "%s accepted", bad[i]);
		json_decref(b);
	}
}
END_TEST

static Suite *rule_suite(void)
{
	Suite *s = suite_create("agent_lease_rule");
	TCase *tc = tcase_create("rule");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_grant_counts_from_the_question);
	tcase_add_test(tc, late_answers_are_worth_nothing);
	tcase_add_test(tc, answers_from_before_a_fence_are_thrown_away);
	tcase_add_test(tc, a_grant_is_for_the_primary_of_its_epoch_only);
	tcase_add_test(tc, zero_for_our_epoch_revokes);
	tcase_add_test(tc, no_answer_ever_stretches_the_lease);
	tcase_add_test(tc, answer_bodies_are_checked);
	tcase_add_test(tc, the_published_deadline_is_the_lease_s_own);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(rule_suite)
