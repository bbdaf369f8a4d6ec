/* batonctl's drill report, on hand-made records: the split-brain detector
 * must fire on two instances acknowledging probe writes at overlapping
 * times and stay quiet across a clean handover; RTO is the longest stretch
 * without an acknowledged write from the last one before the fault; lost
 * writes come from the readback; durations parse as documented. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batonctl/fleet.h"
#include "batonctl/report.h"
#include "harness.h"

static char dir[64];

static void put(const char *name, const char *text)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/baton-report-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	put("drill.json",
	    "{\"scenario\": \"kill-region\", \"faultAt\": 1000, "
	    "\"convergedAt\": 3000, \"converged\": true, "
	    "\"epochBefore\": 1, \"epochAfter\": 2, \"instances\": "
	    "{\"a\": \"eu-west\", \"b\": \"us-east\"}}");
	/* a writes until 990, nothing until b's first ack at 2500 */
	put("writes.jsonl",
	    "{\"t0\": 900, \"t\": 905, \"ok\": true, \"id\": 1, \"host\": "
	    "\"a\"}\n"
	    "{\"t0\": 980, \"t\": 990, \"ok\": true, \"id\": 2, \"host\": "
	    "\"a\"}\n"
	    "{\"t0\": 1000, \"t\": 2000, \"ok\": false, \"id\": 3, \"host\": "
	    "\"a\", \"err\": \"no answer\"}\n"
	    "{\"t0\": 2000, \"t\": 2500, \"ok\": true, \"id\": 4, \"host\": "
	    "\"b\"}\n"
	    "{\"t0\": 2520, \"t\": 2540, \"ok\": true, \"id\": 5, \"host\": "
	    "\"b\"}\n");
	put("summary.json", "{\"readback\": true, \"missing\": 0, "
			    "\"missingIds\": [], \"present\": 4, "
			    "\"readbackHost\": \"b\"}");
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static json_t *report(void)
{
	char errmsg[BATON_ERRMSG_SIZE];
	json_t *rep = NULL;
	ck_assert_int_eq(baton_ctl_report_write(dir, &rep, errmsg), 0);
	ck_assert_ptr_nonnull(rep);
	return rep;
}

static bool split(json_t *rep)
{
	return json_is_true(
	    json_object_get(json_object_get(rep, "splitBrain"), "detected"));
}

START_TEST(test_clean_handover)
{
	/* a acknowledges until 990, fails from 1000; b from 2400 */
	put("probes.jsonl",
	    "{\"t0\": 800, \"t\": 805, \"host\": \"a\", \"ok\": true}\n"
	    "{\"t0\": 900, \"t\": 990, \"host\": \"a\", \"ok\": true}\n"
	    "{\"t0\": 1000, \"t\": 2000, \"host\": \"a\", \"ok\": false}\n"
	    "{\"t0\": 800, \"t\": 801, \"host\": \"b\", \"ok\": false}\n"
	    "{\"t0\": 2400, \"t\": 2410, \"host\": \"b\", \"ok\": true}\n"
	    "{\"t0\": 2500, \"t\": 2505, \"host\": \"b\", \"ok\": true}\n");
	json_t *rep = report();
	ck_assert(!split(rep));
	ck_assert_int_eq(json_integer_value(json_object_get(rep, "rtoMs")),
			 2500 - 990);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(
		json_object_get(rep, "firstAckByAnotherInstance"), "t")),
	    2500);
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(rep, "rpo"),
					       "lostAcknowledgedWrites")),
	    0);
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(rep, "writes"), "errors")),
			 1);
	json_decref(rep);
	/* the timeline names the instances by region */
	char path[128], buf[65536];
	snprintf(path, sizeof path, "%s/timeline.svg", dir);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "<svg"));
	ck_assert_ptr_nonnull(strstr(buf, "eu-west a"));
	ck_assert_ptr_nonnull(strstr(buf, "</svg>"));
}
END_TEST

START_TEST(test_overlap_is_split_brain)
{
	/* b starts acknowledging at 1500 while a still does until 1600 */
	put("probes.jsonl",
	    "{\"t0\": 1400, \"t\": 1410, \"host\": \"a\", \"ok\": true}\n"
	    "{\"t0\": 1590, \"t\": 1600, \"host\": \"a\", \"ok\": true}\n"
	    "{\"t0\": 1700, \"t\": 1710, \"host\": \"a\", \"ok\": false}\n"
	    "{\"t0\": 1500, \"t\": 1505, \"host\": \"b\", \"ok\": true}\n");
	json_t *rep = report();
	ck_assert(split(rep));
	json_t *o = json_array_get(
	    json_object_get(json_object_get(rep, "splitBrain"), "overlaps"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "from")), 1500);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "to")), 1505);
	json_decref(rep);
}
END_TEST

START_TEST(test_lost_writes_and_unchecked)
{
	put("probes.jsonl", "");
	put("summary.json", "{\"readback\": true, \"missing\": 2, "
			    "\"missingIds\": [2, 4], \"present\": 2}");
	json_t *rep = report();
	ck_assert_int_eq(
	    json_integer_value(json_object_get(json_object_get(rep, "rpo"),
					       "lostAcknowledgedWrites")),
	    2);
	json_decref(rep);
	/* no readback: lost writes are unknown, not 0 */
	put("summary.json", "{\"readback\": false, \"readbackError\": \"no "
			    "primary\"}");
	rep = report();
	ck_assert(json_is_null(json_object_get(json_object_get(rep, "rpo"),
					       "lostAcknowledgedWrites")));
	json_decref(rep);
}
END_TEST

START_TEST(test_no_writes_after_fault)
{
	put("probes.jsonl", "");
	put("writes.jsonl", "{\"t0\": 900, \"t\": 905, \"ok\": true, \"id\": "
			    "1, \"host\": \"a\"}\n");
	json_t *rep = report();
	ck_assert(json_is_null(json_object_get(rep, "rtoMs")));
	ck_assert(json_is_false(json_object_get(rep, "writesResumed")));
	json_decref(rep);
}
END_TEST

START_TEST(test_missing_drill_json)
{
	char errmsg[BATON_ERRMSG_SIZE];
	json_t *rep = NULL;
	char path[128];
	snprintf(path, sizeof path, "%s/drill.json", dir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(baton_ctl_report_write(dir, &rep, errmsg),
			 BATON_EINVAL);
	ck_assert_ptr_null(rep);
	ck_assert_ptr_nonnull(strstr(errmsg, "drill.json"));
}
END_TEST

START_TEST(test_durations)
{
	ck_assert_int_eq(baton_ctl_parse_duration("60s"), 60000);
	ck_assert_int_eq(baton_ctl_parse_duration("2m"), 120000);
	ck_assert_int_eq(baton_ctl_parse_duration("20ms"), 20);
	ck_assert_int_eq(baton_ctl_parse_duration("1.5"), 1500);
	ck_assert_int_eq(baton_ctl_parse_duration("0"), 0);
	ck_assert_int_eq(baton_ctl_parse_duration("soon"), -1);
	ck_assert_int_eq(baton_ctl_parse_duration("5h"), -1);
	ck_assert_int_eq(baton_ctl_parse_duration("-1s"), -1);
	ck_assert_int_eq(baton_ctl_parse_duration(""), -1);
	ck_assert_int_eq(baton_ctl_parse_duration(" 1s"), -1);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("batonctl_report");
	TCase *tc = tcase_create("report");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_clean_handover);
	tcase_add_test(tc, test_overlap_is_split_brain);
	tcase_add_test(tc, test_lost_writes_and_unchecked);
	tcase_add_test(tc, test_no_writes_after_fault);
	tcase_add_test(tc, test_missing_drill_json);
	suite_add_tcase(s, tc);
	tc = tcase_create("durations");
	tcase_add_test(tc, test_durations);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(report_suite)
