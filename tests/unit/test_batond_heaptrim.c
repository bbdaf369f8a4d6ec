/* Unit tests for operator/batond/heaptrim: freed heap between live blocks
 * is given back to the kernel by a check, and a heap with little free is
 * left alone. The RSS is read from /proc/self/statm: the property is the
 * resident memory, not glibc's bookkeeping. Under AddressSanitizer malloc
 * is ASan's (no arenas, malloc_trim does nothing): only the rule is
 * checked there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond/heaptrim.h"
#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define BATON_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BATON_TEST_ASAN 1
#endif
#endif

START_TEST(the_rule)
{
	ck_assert(!baton_heaptrim_due(0));
	ck_assert(!baton_heaptrim_due(BATON_HEAPTRIM_MIN_FREE - 1));
	ck_assert(baton_heaptrim_due(BATON_HEAPTRIM_MIN_FREE));
	ck_assert(baton_heaptrim_due((size_t)64 << 20));
}
END_TEST

#ifndef BATON_TEST_ASAN
/* resident KiB of this process */
static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#define BLOCKS 4096
#define BLOCK (16 * 1024) /* under the mmap threshold: heap, not mmap */

START_TEST(freed_heap_between_live_blocks_is_given_back)
{
	static char *blocks[BLOCKS];
	struct baton_heaptrim h;
	long before, after;

	memset(&h, 0, sizeof h); /* no metrics */
	/* 64 MiB touched, then every block but each 16th freed: the
	 * survivors pin the heap, so only a trim of the middle gives the
	 * freed pages back */
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BLOCK);
		ck_assert_ptr_nonnull(blocks[i]);
		memset(blocks[i], i & 0xff, BLOCK);
	}
	for (int i = 0; i < BLOCKS; i++) {
		if (i % 16 != 15) {
			free(blocks[i]);
			blocks[i] = NULL;
		}
	}
	before = rss_kib();
	ck_assert_msg(baton_heaptrim_check(&h), "nothing given back");
	after = rss_kib();
	/* ~60 MiB were free in the middle of the heap */
	ck_assert_msg(before - after >= 32 * 1024,
		      "RSS %ld -> %ld KiB: the freed blocks stayed resident",
		      before, after);
	/* the live blocks are intact */
	for (int i = 15; i < BLOCKS; i += 16) {
		ck_assert_int_eq((unsigned char)blocks[i][0], i & 0xff);
		ck_assert_int_eq((unsigned char)blocks[i][BLOCK - 1], i & 0xff);
		free(blocks[i]);
	}
}
END_TEST

START_TEST(little_free_is_left_alone)
{
	struct baton_heaptrim h;
	memset(&h, 0, sizeof h);
	/* one trim takes what is free now; the next check finds under the
	 * threshold and calls no trim at all */
	(void)baton_heaptrim_check(&h);
	ck_assert(!baton_heaptrim_check(&h));
}
END_TEST
#endif

static Suite *heaptrim_suite(void)
{
	Suite *s = suite_create("batond_heaptrim");
	TCase *tc = tcase_create("trim");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, the_rule);
#ifndef BATON_TEST_ASAN
	tcase_add_test(tc, freed_heap_between_live_blocks_is_given_back);
	tcase_add_test(tc, little_free_is_left_alone);
#endif
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(heaptrim_suite)
