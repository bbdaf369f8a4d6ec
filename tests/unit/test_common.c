/* Unit tests for operator/common: the error space and structured logs. */
#include <stdio.h>
#include <string.h>

#include "../../operator/common/error.h"
#include "../../operator/common/log.h"
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

static Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, every_code_has_text_and_name);
	tcase_add_test(tc, errmsg_is_truncated_not_overflowed);
	tcase_add_test(tc, log_lines_are_json_with_fields);
	tcase_add_test(tc, log_level_parsing);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(common_suite)
