/* Unit tests for operator/kube/watch: framing, event parsing, backoff, and
 * REST path/query building (pure parts; the streaming handle is covered by
 * tests/integration/itest_kube.c against a real apiserver). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kube/watch.h"

static const char stream[] =
    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"10\"}}}\n"
    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"11\"},\"data\":{\"k\":\"line\\nbreak\"}}}\r\n"
    "\n"
    "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":"
    "\"12\"}}}\n"
    "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\","
    "\"resourceVersion\":\"13\"}}}\n"
    "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
    "\"reason\":\"Expired\",\"message\":\"too old resource version\"}}\n";

struct seen {
	int n;
	int types[16];
	char rvs[16][16];
};

static int collect(void *ud, const char *line, size_t len)
{
	struct seen *s = ud;
	json_t *obj;
	int type;
	char err[BATON_ERRMSG_SIZE];
	int rv = baton_kube_event_parse(line, len, &type, &obj, err);

	ck_assert_msg(rv == 0, "parse: %s (%.*s)", err, (int)len, line);
	ck_assert_int_lt(s->n, 16);
	s->types[s->n] = type;
	{
		const char *v = json_string_value(json_object_get(
		    json_object_get(obj, "metadata"), "resourceVersion"));
		snprintf(s->rvs[s->n], sizeof s->rvs[0], "%s", v ? v : "-");
	}
	s->n++;
	json_decref(obj);
	return 0;
}

static void check_seen(const struct seen *s)
{
	static const int want[] = {BATON_KUBE_ADDED, BATON_KUBE_MODIFIED,
				   BATON_KUBE_BOOKMARK, BATON_KUBE_DELETED,
				   BATON_KUBE_ERROR};
	static const char *rvs[] = {"10", "11", "12", "13", "-"};
	ck_assert_int_eq(s->n, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(s->types[i], want[i]);
		ck_assert_str_eq(s->rvs[i], rvs[i]);
	}
}

START_TEST(framing_whole_stream)
{
	struct baton_kube_framer f;
	struct seen s = {0};
	baton_kube_framer_init(&f, 0);
	ck_assert_int_eq(
	    baton_kube_framer_feed(&f, stream, strlen(stream), collect, &s), 0);
	check_seen(&s);
	ck_assert_uint_eq(f.line.len, 0);
	baton_kube_framer_free(&f);
}
END_TEST

/* Split the stream at every byte boundary, and at every pair of
 * boundaries: the events must not change. */
START_TEST(framing_split_at_every_byte)
{
	size_t n = strlen(stream);
	for (size_t i = 0; i <= n; i++) {
		struct baton_kube_framer f;
		struct seen s = {0};
		baton_kube_framer_init(&f, 0);
		ck_assert_int_eq(
		    baton_kube_framer_feed(&f, stream, i, collect, &s), 0);
		ck_assert_int_eq(
		    baton_kube_framer_feed(&f, stream + i, n - i, collect, &s),
		    0);
		check_seen(&s);
		baton_kube_framer_free(&f);
	}
	for (size_t i = 0; i <= n; i += 3) {
		for (size_t j = i; j <= n; j += 7) {
			struct baton_kube_framer f;
			struct seen s = {0};
			baton_kube_framer_init(&f, 0);
			ck_assert_int_eq(
			    baton_kube_framer_feed(&f, stream, i, collect, &s),
			    0);
			ck_assert_int_eq(baton_kube_framer_feed(&f, stream + i,
								j - i, collect,
								&s),
					 0);
			ck_assert_int_eq(baton_kube_framer_feed(&f, stream + j,
								n - j, collect,
								&s),
					 0);
			check_seen(&s);
			baton_kube_framer_free(&f);
		}
	}
}
END_TEST

START_TEST(framing_byte_by_byte)
{
	struct baton_kube_framer f;
	struct seen s = {0};
	baton_kube_framer_init(&f, 0);
	for (size_t i = 0; i < strlen(stream); i++) {
		ck_assert_int_eq(
		    baton_kube_framer_feed(&f, stream + i, 1, collect, &s), 0);
	}
	check_seen(&s);
	baton_kube_framer_free(&f);
}
END_TEST

static int count_lines(void *ud, const char *line, size_t len)
{
	(*(int *)ud)++;
	return 0;
}

START_TEST(framing_overlong_line)
{
	struct baton_kube_framer f;
	char big[300];
	int lines = 0;

	memset(big, 'x', sizeof big);
	baton_kube_framer_init(&f, 100);
	/* Partial line growing past the cap, in small pieces. */
	ck_assert_int_eq(
	    baton_kube_framer_feed(&f, big, 60, count_lines, &lines), 0);
	ck_assert_int_eq(
	    baton_kube_framer_feed(&f, big, 60, count_lines, &lines),
	    BATON_ETOOLARGE);
	ck_assert_uint_eq(f.line.len, 0);
	/* A complete over-long line in one chunk. */
	big[150] = '\n';
	ck_assert_int_eq(
	    baton_kube_framer_feed(&f, big, 151, count_lines, &lines),
	    BATON_ETOOLARGE);
	/* Exactly at the cap is fine, split or not. */
	big[100] = '\n';
	ck_assert_int_eq(
	    baton_kube_framer_feed(&f, big, 101, count_lines, &lines), 0);
	ck_assert_int_eq(
	    baton_kube_framer_feed(&f, big, 50, count_lines, &lines), 0);
	ck_assert_int_eq(
	    baton_kube_framer_feed(&f, big + 50, 51, count_lines, &lines), 0);
	ck_assert_int_eq(lines, 2);
	baton_kube_framer_free(&f);
}
END_TEST

static int stop_at_second(void *ud, const char *line, size_t len)
{
	return ++(*(int *)ud) == 2 ? BATON_ECANCELED : 0;
}

START_TEST(framing_callback_stops)
{
	struct baton_kube_framer f;
	int lines = 0;
	baton_kube_framer_init(&f, 0);
	ck_assert_int_eq(
	    baton_kube_framer_feed(&f, "a\nb\nc\n", 6, stop_at_second, &lines),
	    BATON_ECANCELED);
	ck_assert_int_eq(lines, 2);
	baton_kube_framer_free(&f);
}
END_TEST

START_TEST(event_parse_errors)
{
	char err[BATON_ERRMSG_SIZE];
	json_t *obj;
	int type;
	const char *bad[] = {
	    "not json",
	    "{\"type\":\"ADDED\"}",
	    "{\"object\":{}}",
	    "{\"type\":\"WHAT\",\"object\":{}}",
	    "{\"type\":\"ADDED\",\"object\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(baton_kube_event_parse(bad[i], strlen(bad[i]),
							&type, &obj, err),
				 BATON_EPARSE);
		ck_assert_ptr_null(obj);
		ck_assert(err[0] != '\0');
	}
}
END_TEST

START_TEST(status_mapping)
{
	char err[BATON_ERRMSG_SIZE];
	json_t *st = json_loads(
	    "{\"kind\":\"Status\",\"code\":409,\"reason\":\"Conflict\","
	    "\"message\":\"Apply failed with 1 conflict\",\"details\":{"
	    "\"causes\":[{\"reason\":\"FieldManagerConflict\",\"message\":"
	    "\"conflict with \\\"a\\\"\",\"field\":\".data.k\"}]}}",
	    0, NULL);
	ck_assert_int_eq(baton_kube_status_error(409, st, err),
			 BATON_ECONFLICT);
	ck_assert_str_eq(err, "HTTP 409 Conflict: Apply failed with 1 "
			      "conflict (causes: .data.k: conflict with "
			      "\"a\")");
	json_decref(st);
	st = json_pack("{s:s}", "reason", "AlreadyExists");
	ck_assert_int_eq(baton_kube_status_error(409, st, err), BATON_EEXIST);
	json_decref(st);
	ck_assert_int_eq(baton_kube_status_error(410, NULL, err), BATON_EGONE);
	ck_assert_int_eq(baton_kube_status_error(404, NULL, err),
			 BATON_ENOTFOUND);
	ck_assert_int_eq(baton_kube_status_error(403, NULL, err),
			 BATON_EFORBIDDEN);
	ck_assert_int_eq(baton_kube_status_error(422, NULL, err),
			 BATON_EINVALIDOBJ);
	ck_assert_int_eq(baton_kube_status_error(429, NULL, err),
			 BATON_ETHROTTLED);
	ck_assert_int_eq(baton_kube_status_error(503, NULL, err),
			 BATON_ESERVER);
}
END_TEST

START_TEST(backoff_sequence)
{
	uint64_t base = 0;
	ck_assert_uint_eq(baton_kube_backoff_next(&base, 0.0), 800);
	ck_assert_uint_eq(baton_kube_backoff_next(&base, 0.0), 1600);
	ck_assert_uint_eq(baton_kube_backoff_next(&base, 0.5), 4800);
	for (int i = 0; i < 10; i++) {
		uint64_t d = baton_kube_backoff_next(&base, 0.99);
		ck_assert_uint_le(d, 30000);
	}
	ck_assert_uint_eq(base, 30000);
	/* a peer's watch: capped at 2 s, however long the peer is away */
	base = 0;
	ck_assert_uint_eq(baton_kube_backoff_capped(&base, 0.0, 2000), 800);
	ck_assert_uint_eq(baton_kube_backoff_capped(&base, 0.0, 2000), 1600);
	for (int i = 0; i < 10; i++) {
		ck_assert_uint_le(baton_kube_backoff_capped(&base, 0.99, 2000),
				  2000);
	}
	ck_assert_uint_eq(base, 2000);
	/* 0 is the default cap; a cap below the base is the base */
	base = 30000;
	ck_assert_uint_eq(baton_kube_backoff_capped(&base, 0.99, 0), 30000);
	base = 0;
	ck_assert_uint_eq(baton_kube_backoff_capped(&base, 0.99, 100), 800);
}
END_TEST

START_TEST(paths_and_queries)
{
	char buf[512];
	struct baton_kube_ref core = {NULL,  "v1",  "configmaps",
				      "ns1", "a b", NULL};
	struct baton_kube_ref grp = {
	    "coordination.k8s.io", "v1", "leases", NULL, NULL, NULL};
	struct baton_kube_ref st = {"baton.io", "v1", "dbs",
				    "x",	"y",  "status"};
	struct baton_kube_list_opts o = {0};

	ck_assert_int_eq(baton_kube_path(&core, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/api/v1/namespaces/ns1/configmaps/a%20b");
	ck_assert_int_eq(baton_kube_path(&grp, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/apis/coordination.k8s.io/v1/leases");
	ck_assert_int_eq(baton_kube_path(&st, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/apis/baton.io/v1/namespaces/x/dbs/y/status");
	ck_assert_int_eq(baton_kube_path(&st, buf, 10), BATON_ETOOLARGE);
	/* Nothing set: nothing sent. */
	ck_assert_int_eq(baton_kube_path(&grp, buf, sizeof buf), 0);
	ck_assert_int_eq(baton_kube_list_query(&o, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/apis/coordination.k8s.io/v1/leases");
	o.label_selector = "app=db,tier in (a,b)";
	o.limit = 500;
	o.resource_version = "";
	ck_assert_int_eq(baton_kube_list_query(&o, buf, sizeof buf), 0);
	ck_assert_str_eq(buf, "/apis/coordination.k8s.io/v1/leases?"
			      "labelSelector=app%3Ddb%2Ctier%20in%20%28a%2Cb%29"
			      "&resourceVersion=&limit=500");
}
END_TEST

static long alloc_budget;

static void *failing_malloc(size_t n)
{
	if (alloc_budget-- <= 0) {
		return NULL;
	}
	return malloc(n);
}

/* jansson allocation failures at every point while framing and parsing a
 * stream: errors, never crashes or leaks (ASan). */
START_TEST(alloc_failures_while_parsing)
{
	int done = 0;
	for (long n = 0; n < 5000 && !done; n++) {
		struct baton_kube_framer f;
		struct seen s = {0};
		char err[BATON_ERRMSG_SIZE];
		json_t *obj;
		int type, rv;

		alloc_budget = n;
		json_set_alloc_funcs(failing_malloc, free);
		rv = baton_kube_event_parse(stream, strcspn(stream, "\n"),
					    &type, &obj, err);
		json_set_alloc_funcs(malloc, free);
		if (rv == 0) {
			json_decref(obj);
			done = 1;
		}
		baton_kube_framer_init(&f, 0);
		(void)baton_kube_framer_feed(&f, stream, 40, count_lines, &s.n);
		baton_kube_framer_free(&f);
	}
	ck_assert_int_eq(done, 1);
}
END_TEST

static Suite *watch_suite(void)
{
	Suite *s = suite_create("kube_watch");
	TCase *tc = tcase_create("framing");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, framing_whole_stream);
	tcase_add_test(tc, framing_split_at_every_byte);
	tcase_add_test(tc, framing_byte_by_byte);
	tcase_add_test(tc, framing_overlong_line);
	tcase_add_test(tc, framing_callback_stops);
	tcase_add_test(tc, event_parse_errors);
	tcase_add_test(tc, status_mapping);
	tcase_add_test(tc, backoff_sequence);
	tcase_add_test(tc, paths_and_queries);
	tcase_add_test(tc, alloc_failures_while_parsing);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(watch_suite)
