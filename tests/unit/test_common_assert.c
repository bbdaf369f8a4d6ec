/* common/assert.h: BATON_ASSERT aborts in every build; ALWAYS/NEVER abort
 * in checked builds (BATON_CHECKED: build/san, which `make unit` runs) and
 * are the bare condition in release builds (build/plain). Each binary
 * checks the meaning of the build it was compiled in. */
#include <signal.h>
#include <stdio.h>

#include "../../operator/common/assert.h"
#include "../../operator/common/log.h"
#include "harness.h"

/* Not constants, so the compiler cannot fold the branches away. */
static volatile int yes = 1, no = 0;

START_TEST(true_conditions_pass_and_evaluate_once)
{
	int n = 0;

	BATON_ASSERT(yes);
	ck_assert_int_eq(ALWAYS(yes), 1);
	ck_assert_int_eq(NEVER(no), 0);
	BATON_ASSERT(++n == 1);
	ck_assert_int_eq(ALWAYS(++n == 2), 1);
	ck_assert_int_eq(NEVER(++n != 3), 0);
	ck_assert_int_eq(n, 3);
}
END_TEST

START_TEST(baton_assert_aborts)
{
	baton_log_set_stream(fopen("/dev/null", "w"));
	BATON_ASSERT(no);
	ck_abort_msg("BATON_ASSERT(false) returned");
}
END_TEST

#ifdef BATON_CHECKED
START_TEST(never_aborts_in_checked_builds)
{
	baton_log_set_stream(fopen("/dev/null", "w"));
	if (NEVER(yes)) {
		ck_abort_msg("NEVER(true) returned in a checked build");
	}
}
END_TEST

START_TEST(always_aborts_in_checked_builds)
{
	baton_log_set_stream(fopen("/dev/null", "w"));
	if (ALWAYS(no)) {
		ck_abort_msg("ALWAYS(false) returned true");
	}
	ck_abort_msg("ALWAYS(false) returned in a checked build");
}
END_TEST
#else
START_TEST(never_and_always_are_the_condition_in_release)
{
	int n = 0;

	ck_assert_int_eq(NEVER(yes), 1);
	ck_assert_int_eq(ALWAYS(no), 0);
	ck_assert_int_eq(NEVER(++n == 1), 1);
	ck_assert_int_eq(ALWAYS(++n == 3), 0);
	ck_assert_int_eq(n, 2);
}
END_TEST
#endif

static Suite *assert_suite(void)
{
	Suite *s = suite_create("common_assert");
	TCase *tc = tcase_create("assert");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, true_conditions_pass_and_evaluate_once);
	tcase_add_test_raise_signal(tc, baton_assert_aborts, SIGABRT);
#ifdef BATON_CHECKED
	tcase_add_test_raise_signal(tc, never_aborts_in_checked_builds,
				    SIGABRT);
	tcase_add_test_raise_signal(tc, always_aborts_in_checked_builds,
				    SIGABRT);
#else
	tcase_add_test(tc, never_and_always_are_the_condition_in_release);
#endif
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(assert_suite)
