/* common/buf.h: the bounded buffer. Appends and formats up to the bound,
 * BATON_ETOOLARGE past it with the content unchanged, BATON_ENOMEM when an
 * allocation fails (common/failpoint.h) with the content unchanged too. */
#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/failpoint.h"
#include "harness.h"

START_TEST(test_add_and_terminate)
{
	struct baton_buf b;

	baton_buf_init(&b, 64);
	ck_assert_ptr_null(b.p);
	ck_assert_int_eq(baton_buf_add(&b, "abc", 3), 0);
	ck_assert_int_eq(baton_buf_add(&b, "", 0), 0);
	ck_assert_int_eq(baton_buf_add(&b, "de", 2), 0);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_str_eq(b.p, "abcde");
	baton_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.p, "");
	baton_buf_free(&b);
	ck_assert_ptr_null(b.p);
	/* an empty append allocates: the content is "" */
	ck_assert_int_eq(baton_buf_add(&b, "", 0), 0);
	ck_assert_str_eq(b.p, "");
	baton_buf_free(&b);
}
END_TEST

START_TEST(test_bound)
{
	struct baton_buf b;
	char big[1000];

	memset(big, 'x', sizeof big);
	baton_buf_init(&b, 10);
	ck_assert_int_eq(baton_buf_add(&b, big, 10), 0);
	ck_assert_uint_eq(b.len, 10);
	/* one byte more is too large, and nothing changed */
	ck_assert_int_eq(baton_buf_add(&b, "y", 1), BATON_ETOOLARGE);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_uint_eq(strlen(b.p), 10);
	ck_assert_int_eq(baton_buf_printf(&b, "%d", 1), BATON_ETOOLARGE);
	ck_assert_uint_eq(strlen(b.p), 10);
	/* the memory never exceeds the bound and its terminator */
	ck_assert_uint_le(b.cap, 11);
	baton_buf_reset(&b);
	ck_assert_int_eq(baton_buf_add(&b, big, 11), BATON_ETOOLARGE);
	ck_assert_uint_eq(b.len, 0);
	/* a length that would overflow is too large, not a wrap */
	ck_assert_int_eq(baton_buf_add(&b, big, SIZE_MAX), BATON_ETOOLARGE);
	baton_buf_free(&b);
}
END_TEST

START_TEST(test_grows_by_doubling)
{
	struct baton_buf b;
	char chunk[100];
	size_t caps = 0, last = 0;

	memset(chunk, 'z', sizeof chunk);
	baton_buf_init(&b, 1u << 20);
	for (int i = 0; i < 10000; i++) {
		ck_assert_int_eq(baton_buf_add(&b, chunk, sizeof chunk), 0);
		if (b.cap != last) {
			caps++;
			last = b.cap;
		}
	}
	ck_assert_uint_eq(b.len, 1000000);
	/* 256 doubled up to past 1 MB, then the bound: a handful of
	 * reallocations, not one per append */
	ck_assert_uint_le(caps, 14);
	ck_assert_uint_le(b.cap, (1u << 20) + 1);
	baton_buf_free(&b);
}
END_TEST

START_TEST(test_printf)
{
	struct baton_buf b;

	baton_buf_init(&b, 4096);
	ck_assert_int_eq(baton_buf_printf(&b, "%s=%d", "a", 1), 0);
	/* longer than the first allocation: formatted again after growing */
	ck_assert_int_eq(baton_buf_printf(&b, " %0300d", 7), 0);
	ck_assert_uint_eq(b.len, 3 + 301);
	ck_assert_int_eq(strncmp(b.p, "a=1 000", 7), 0);
	ck_assert_int_eq(b.p[b.len - 1], '7');
	ck_assert_uint_eq(strlen(b.p), b.len);
	baton_buf_free(&b);
}
END_TEST

START_TEST(test_consume)
{
	struct baton_buf b;

	baton_buf_init(&b, 64);
	ck_assert_int_eq(baton_buf_add(&b, "line1\nrest", 10), 0);
	baton_buf_consume(&b, 6);
	ck_assert_str_eq(b.p, "rest");
	ck_assert_uint_eq(b.len, 4);
	baton_buf_consume(&b, 0);
	baton_buf_consume(&b, 4);
	ck_assert_str_eq(b.p, "");
	baton_buf_free(&b);
}
END_TEST

START_TEST(test_allocation_failure)
{
	struct baton_buf b;
	char chunk[300];

	memset(chunk, 'q', sizeof chunk);
	baton_buf_init(&b, 1 << 16);
	/* the first growth fails: still empty, and usable afterwards */
	baton_test_fail_at = 1;
	ck_assert_int_eq(baton_buf_add(&b, "abc", 3), BATON_ENOMEM);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(baton_buf_add(&b, "abc", 3), 0);
	/* a later one fails: the content is what it was */
	baton_test_fail_at = 1;
	ck_assert_int_eq(baton_buf_add(&b, chunk, sizeof chunk), BATON_ENOMEM);
	ck_assert_str_eq(b.p, "abc");
	baton_test_fail_at = 1;
	ck_assert_int_eq(baton_buf_printf(&b, "%0400d", 1), BATON_ENOMEM);
	ck_assert_str_eq(b.p, "abc");
	ck_assert_uint_eq(b.len, 3);
	/* an append that needs no growth is no fail point */
	baton_test_fail_at = 1;
	ck_assert_int_eq(baton_buf_add(&b, "d", 1), 0);
	ck_assert_uint_eq(baton_test_fail_at, 1);
	baton_test_fail_at = 0;
	ck_assert_str_eq(b.p, "abcd");
	baton_buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("common_buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_add_and_terminate);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_grows_by_doubling);
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_consume);
	tcase_add_test(tc, test_allocation_failure);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(buf_suite)
