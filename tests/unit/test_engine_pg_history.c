/* The timeline history parser the engine's rejoin uses to tell, before it
 * reloads, whether a standby can follow a new timeline
 * (baton_pg_history_switchpoint; the standby side is in itest_pg_engine). */
#include <stdint.h>
#include <string.h>

#include "engine/engine.h"
#include "harness.h"

START_TEST(switchpoints_are_found_by_parent_timeline)
{
	/* what TIMELINE_HISTORY 4 returns for a timeline 4 that forked off
	 * 3, which forked off 2, which forked off 1 */
	const char *h = "1\t0/3000148\tno recovery target specified\n"
			"\n"
			"2\t0/5A0001B0\tno recovery target specified\n"
			"3\t1/0C2D3E48\tno recovery target specified\n";
	uint64_t lsn = 0;

	ck_assert(baton_pg_history_switchpoint(h, 1, &lsn));
	ck_assert_uint_eq(lsn, 0x3000148);
	ck_assert(baton_pg_history_switchpoint(h, 2, &lsn));
	ck_assert_uint_eq(lsn, 0x5A0001B0);
	ck_assert(baton_pg_history_switchpoint(h, 3, &lsn));
	ck_assert_uint_eq(lsn, 0x10C2D3E48ull);
	/* the timeline itself and unknown ones are not parents */
	ck_assert(!baton_pg_history_switchpoint(h, 4, &lsn));
	ck_assert(!baton_pg_history_switchpoint(h, 0, &lsn));
	/* no trailing newline; comments and junk lines are skipped */
	ck_assert(baton_pg_history_switchpoint("# x\njunk\n7\tA/B", 7, &lsn));
	ck_assert_uint_eq(lsn, 0xA0000000Bull);
	ck_assert(!baton_pg_history_switchpoint("", 1, &lsn));
	ck_assert(!baton_pg_history_switchpoint("1\tnot-an-lsn\n", 1, &lsn));
	ck_assert(!baton_pg_history_switchpoint(NULL, 1, &lsn));
}
END_TEST

/* syncfs(2) only where the kernel reports write-back errors through it */
START_TEST(syncfs_only_from_linux_5_8)
{
	ck_assert(baton_pg_syncfs_reports_errors("5.8.0"));
	ck_assert(baton_pg_syncfs_reports_errors("5.10.0-28-amd64"));
	ck_assert(baton_pg_syncfs_reports_errors("6.1.0"));
	ck_assert(baton_pg_syncfs_reports_errors("6.18.44-fc-v1294"));
	ck_assert(baton_pg_syncfs_reports_errors("10.0"));
	ck_assert(!baton_pg_syncfs_reports_errors("5.7.19"));
	ck_assert(!baton_pg_syncfs_reports_errors("4.19.0-26-amd64"));
	ck_assert(!baton_pg_syncfs_reports_errors("3.10.0-1160.el7.x86_64"));
	ck_assert(!baton_pg_syncfs_reports_errors("5"));
	ck_assert(!baton_pg_syncfs_reports_errors(""));
	ck_assert(!baton_pg_syncfs_reports_errors("linux"));
	ck_assert(!baton_pg_syncfs_reports_errors(NULL));
}
END_TEST

/* synchronous list names: what an application name can be, never
 * PostgreSQL's wildcard, a quote, a comma or a blank */
START_TEST(standby_names_are_plain_application_names)
{
	char longest[BATON_ENGINE_NAME_SIZE],
	    too_long[BATON_ENGINE_NAME_SIZE + 1];

	memset(longest, 'a', sizeof longest - 1);
	longest[sizeof longest - 1] = '\0';
	memset(too_long, 'a', sizeof too_long - 1);
	too_long[sizeof too_long - 1] = '\0';
	ck_assert(baton_engine_standby_name_valid("ledger-us-east-0"));
	ck_assert(baton_engine_standby_name_valid("A.b_C-9"));
	ck_assert(baton_engine_standby_name_valid(longest));
	ck_assert(!baton_engine_standby_name_valid(too_long));
	ck_assert(!baton_engine_standby_name_valid(""));
	ck_assert(!baton_engine_standby_name_valid("*"));
	ck_assert(!baton_engine_standby_name_valid("a,b"));
	ck_assert(!baton_engine_standby_name_valid("a\"b"));
	ck_assert(!baton_engine_standby_name_valid("a'b"));
	ck_assert(!baton_engine_standby_name_valid(" a"));
	ck_assert(!baton_engine_standby_name_valid("a\n"));
	ck_assert(!baton_engine_standby_name_valid("caf\xc3\xa9"));
}
END_TEST

static Suite *history_suite(void)
{
	Suite *s = suite_create("engine_pg_history");
	TCase *tc = tcase_create("history");
	tcase_add_test(tc, switchpoints_are_found_by_parent_timeline);
	tcase_add_test(tc, syncfs_only_from_linux_5_8);
	tcase_add_test(tc, standby_names_are_plain_application_names);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(history_suite)
