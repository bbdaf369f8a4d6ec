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

/* One parser for every timestamp Baton reads (issue 18: peertoken.c had a
 * second, stricter one): RFC 3339's fixed-width fields, its fraction and
 * offsets, nothing strptime would take beyond them. */
START_TEST(parse_rfc3339_shape)
{
	const char *bad[] = {
	    " 2026-12-05T23:47:24Z", /* strptime skips blanks */
	    "+2026-12-05T23:47:24Z",
	    "2026-1-05T23:47:24Z",
	    "2026-12-5T23:47:24Z",
	    "2026-12-05T3:47:24Z",
	    "2026-12-05T23:47:4Z",
	    "2026-13-05T23:47:24Z",
	    "2026-12-32T23:47:24Z",
	    "2026-12-05T24:47:24Z",
	    "2026-12-05T23:60:24Z",
	    "2026-12-05t23:47:24Z",
	    "2026-12-05T23:47:24+1:00",
	    "2026-12-05T23:47:24Z ",
	    "2026-12-05",
	    "",
	    "1970-01-01T00:00:00", /* no zone */
	    "1970-01-01T00:00:00Zx",
	    "1970-01-01 00:00:00Z",
	    "1970-01-01T00:00:00.Z", /* a fraction has a digit */
	};
	const struct {
		const char *ts;
		time_t t;
	} good[] = {
	    {"2026-12-05T23:47:24Z", 1796514444},
	    {"2026-12-05T23:47:24.999999z", 1796514444},
	    {"2026-12-06T01:47:24+02:00", 1796514444},
	    {"1970-01-01T00:01:00Z", 60},
	    {"1970-01-01T01:00:00.123-01:00", 7200},
	};
	time_t t;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(baton_clock_parse_rfc3339(bad[i], &t) == -1,
			      "'%s' parsed", bad[i]);
	}
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		t = 0;
		ck_assert_msg(baton_clock_parse_rfc3339(good[i].ts, &t) == 0 &&
				  t == good[i].t,
			      "'%s': %lld", good[i].ts, (long long)t);
	}
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
	tcase_add_test(tc, parse_rfc3339_shape);
	tcase_add_test(tc, units_and_order);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(clock_suite)
