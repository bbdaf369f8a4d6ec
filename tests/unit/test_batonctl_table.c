/* batonctl's tables: columns as wide as their widest cell (a long
 * database name or reason does not shift the columns after it), and lag
 * in units a human reads. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batonctl/table.h"
#include "harness.h"

START_TEST(columns_are_as_wide_as_their_content)
{
	static const char *const header[] = {"REGION", "DATABASE", "LAG"};
	static const char *const r1[] = {
	    "eu-west", "shop/a-rather-long-database-name", "1.5 MiB"};
	static const char *const r2[] = {"ap", NULL, "0 B"};
	struct baton_ctl_table t;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_int_eq(baton_ctl_table_init(&t, 3, header), 0);
	ck_assert_int_eq(baton_ctl_table_add(&t, r1), 0);
	ck_assert_int_eq(baton_ctl_table_add(&t, r2), 0);
	baton_ctl_table_print(&t, f);
	fclose(f);
	ck_assert_str_eq(
	    text, "REGION    DATABASE                           LAG\n"
		  "eu-west   shop/a-rather-long-database-name   1.5 MiB\n"
		  "ap        -                                  0 B\n");
	baton_ctl_table_free(&t);
	free(text);
}
END_TEST

START_TEST(a_cell_longer_than_the_cap_is_cut)
{
	static const char *const header[] = {"A", "B"};
	char big[BATON_CTL_TABLE_MAX_CELL * 2];
	const char *row[] = {big, "x"};
	struct baton_ctl_table t;

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(baton_ctl_table_init(&t, 2, header), 0);
	ck_assert_int_eq(baton_ctl_table_add(&t, row), 0);
	ck_assert_uint_eq(strlen(t.cells[2]), BATON_CTL_TABLE_MAX_CELL - 1);
	ck_assert_str_eq(t.cells[2] + BATON_CTL_TABLE_MAX_CELL - 4, "...");
	baton_ctl_table_free(&t);
}
END_TEST

START_TEST(bytes_in_human_units)
{
	char b[32];

	ck_assert_str_eq(baton_ctl_human_bytes(0, b, sizeof b), "0 B");
	ck_assert_str_eq(baton_ctl_human_bytes(1023, b, sizeof b), "1023 B");
	ck_assert_str_eq(baton_ctl_human_bytes(1024, b, sizeof b), "1.0 KiB");
	ck_assert_str_eq(baton_ctl_human_bytes(1536, b, sizeof b), "1.5 KiB");
	ck_assert_str_eq(baton_ctl_human_bytes(16 << 20, b, sizeof b),
			 "16 MiB");
	ck_assert_str_eq(baton_ctl_human_bytes((1 << 20) - 1, b, sizeof b),
			 "1.0 MiB");
	ck_assert_str_eq(baton_ctl_human_bytes(3ull << 30, b, sizeof b),
			 "3.0 GiB");
	ck_assert_str_eq(baton_ctl_human_bytes(UINT64_MAX, b, sizeof b),
			 "16384 PiB");
}
END_TEST

static Suite *table_suite(void)
{
	Suite *s = suite_create("batonctl-table");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, columns_are_as_wide_as_their_content);
	tcase_add_test(tc, a_cell_longer_than_the_cap_is_cut);
	tcase_add_test(tc, bytes_in_human_units);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(table_suite)
