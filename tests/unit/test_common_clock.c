/* common/clock.h: the RFC 3339 forms the API server and the logs get, and
 * the clocks' units. */
#include <regex.h>
#include <string.h>

#include "../../operator/common/clock.h"
#include "harness.h"

static void assert_matches(const char *s, const char *re)
{
	regex_t r;

	ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&r, s, 0, NULL, 0) == 0, "%s !~ %s", s, re);
	regfree(&r);
}

START_TEST(rfc3339_forms)
{
	char buf[32];
	const char *day =
	    "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:"
	    "[0-6][0-9]";
	char re[128];

	ck_assert_ptr_eq(baton_clock_rfc3339(buf, sizeof buf, 0), buf);
	snprintf(re, sizeof re, "%sZ$", day);
	assert_matches(buf, re);
	baton_clock_rfc3339(buf, sizeof buf, 3);
	snprintf(re, sizeof re, "%s\\.[0-9]{3}Z$", day);
	assert_matches(buf, re);
	baton_clock_rfc3339(buf, sizeof buf, 6);
	snprintf(re, sizeof re, "%s\\.[0-9]{6}Z$", day);
	assert_matches(buf, re);
	/* a short buffer is truncated, never overrun */
	baton_clock_rfc3339(buf, 8, 6);
	ck_assert_uint_eq(strlen(buf), 7);
}
END_TEST

START_TEST(units_and_order)
{
	uint64_t ns = baton_boottime_ns(), ms = baton_lease_clock_ms();
	uint64_t m0 = baton_mono_ms();
	double md = baton_mono_ms_double();
	int64_t rt = baton_realtime_ms();

	ck_assert_uint_ge(ms, ns / 1000000u);
	ck_assert_uint_le(ms - ns / 1000000u, 1000);
	ck_assert(md >= (double)m0 && md - (double)m0 < 1000.0);
	ck_assert_int_gt(rt, 1700000000000LL); /* after November 2023 */
	ck_assert_uint_ge(baton_mono_ms(), m0);
}
END_TEST

static Suite *clock_suite(void)
{
	Suite *s = suite_create("common_clock");
	TCase *tc = tcase_create("clock");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, rfc3339_forms);
	tcase_add_test(tc, units_and_order);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(clock_suite)
