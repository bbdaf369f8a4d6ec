/* Unit tests for operator/common: the error space, structured logs and
 * JSON written as YAML. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../operator/common/error.h"
#include "../../operator/common/log.h"
#include "../../operator/common/yamljson.h"
#include "harness.h"

START_TEST(every_code_has_text_and_name)
{
	for (int c = 0; c < BATON_E_COUNT; c++) {
		ck_assert_str_ne(baton_strerror(c), "unknown error");
		ck_assert_str_ne(baton_errname(c), "BATON_E?");
	}
	ck_assert_str_eq(baton_strerror(BATON_E_COUNT), "unknown error");
	ck_assert_str_eq(baton_strerror(-1), "unknown error");
	ck_assert_str_eq(baton_errname(BATON_ECONFLICT), "BATON_ECONFLICT");
}
END_TEST

START_TEST(errmsg_is_truncated_not_overflowed)
{
	char buf[BATON_ERRMSG_SIZE + 8];
	char big[1000];
	memset(buf, 'X', sizeof buf);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	baton_errmsg_printf(buf, "%s", big);
	ck_assert_uint_eq(strlen(buf), BATON_ERRMSG_SIZE - 1);
	ck_assert_int_eq(buf[BATON_ERRMSG_SIZE], 'X');
}
END_TEST

static json_t *log_one(enum baton_log_level level, json_t *kv, const char *msg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *line;

	ck_assert_ptr_nonnull(f);
	baton_log_set_stream(f);
	baton_log_kv(level, "test", kv, "%s", msg);
	baton_log_set_stream(NULL);
	fclose(f);
	line = len > 0 ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return line;
}

START_TEST(log_lines_are_json_with_fields)
{
	json_t *line;

	baton_log_set_level(BATON_LOG_INFO);
	baton_log_set_static_fields(json_pack("{s:s}", "region", "eu-west"));
	line = log_one(BATON_LOG_WARN, json_pack("{s:i}", "epoch", 7), "hello");
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(json_string_value(json_object_get(line, "level")),
			 "warn");
	ck_assert_str_eq(json_string_value(json_object_get(line, "msg")),
			 "hello");
	ck_assert_str_eq(json_string_value(json_object_get(line, "region")),
			 "eu-west");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "epoch")), 7);
	json_decref(line);

	/* below the threshold: nothing, and the fields are not leaked */
	line = log_one(BATON_LOG_DEBUG, json_pack("{s:i}", "x", 1), "quiet");
	ck_assert_ptr_null(line);

	/* invalid UTF-8 still yields a line */
	line = log_one(BATON_LOG_ERROR, NULL, "\xff\xfe");
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(json_string_value(json_object_get(line, "msg")),
			 "(invalid utf-8)");
	json_decref(line);
	baton_log_set_static_fields(NULL);
}
END_TEST

START_TEST(log_level_parsing)
{
	enum baton_log_level l;
	ck_assert_int_eq(baton_log_parse_level("debug", &l), 0);
	ck_assert_int_eq(l, BATON_LOG_DEBUG);
	ck_assert_int_eq(baton_log_parse_level("error", &l), 0);
	ck_assert_int_eq(l, BATON_LOG_ERROR);
	ck_assert_int_eq(baton_log_parse_level("loud", &l), BATON_EINVAL);
	ck_assert_int_eq(baton_log_parse_level(NULL, &l), BATON_EINVAL);
}
END_TEST

/* JSON -> YAML -> JSON gives back the same JSON, strings that look like
 * something else included, and the YAML is block style, one key a line. */
START_TEST(json_written_as_yaml_reads_back_the_same)
{
	char err[BATON_ERRMSG_SIZE], *text = NULL;
	size_t len = 0;
	json_t *doc = json_loads(
	    "{\"regions\": [{\"name\": \"eu-west\", \"reachable\": \"yes\","
	    " \"databases\": [{\"epoch\": 3, \"lagBytes\": 1048576,"
	    " \"ready\": \"2/2\", \"phase\": \"Healthy\", \"on\": \"off\","
	    " \"n\": \"123\", \"t\": \"true\", \"z\": \"null\", \"e\": \"\","
	    " \"r\": 0.5, \"b\": false, \"x\": null, \"v\": \"v0.1.0\","
	    " \"m\": \"a: b # c\\nd\", \"u\": \"\u00e9t\u00e9\"}]}],"
	    " \"empty\": {}, \"none\": [], \"at\": 1733000000000}",
	    0, NULL);
	json_t *back = NULL;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(doc);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(baton_json_to_yaml(doc, f, err), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "\n- name: eu-west\n"));
	ck_assert_ptr_nonnull(strstr(text, "epoch: 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "reachable: \"yes\"\n"));
	ck_assert_ptr_nonnull(strstr(text, "m: \"a: b # c\\nd\"\n"));
	ck_assert_int_eq(baton_yaml_to_json(text, len, "out", &back, err), 0);
	ck_assert_msg(json_equal(doc, back), "read back differs:\n%s", text);
	json_decref(back);
	json_decref(doc);
	free(text);
}
END_TEST

static Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, every_code_has_text_and_name);
	tcase_add_test(tc, errmsg_is_truncated_not_overflowed);
	tcase_add_test(tc, log_lines_are_json_with_fields);
	tcase_add_test(tc, log_level_parsing);
	tcase_add_test(tc, json_written_as_yaml_reads_back_the_same);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(common_suite)
