/* The exposition text operator/http/metrics.c renders, checked by
 * Prometheus's own parser and linter: `promtool check metrics` (Debian's
 * prometheus package, make deps). Registries that exist without a daemon:
 * the process_* series, and one family of every type with labels whose
 * values need escaping, special values (+Inf, -Inf, NaN) and observations
 * past the last bucket. (batond's whole registry, live, is checked the same
 * way by tests/integration/test_failover.sh.) A missing promtool fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "http/metrics.h"
#include "http/procmetrics.h"

/* promtool's verdict on TEXT: its exit status, its output in OUT. */
static int promtool(const char *text, size_t len, char *out, size_t outlen)
{
	char path[] = "/tmp/baton-metrics-XXXXXX";
	char cmd[256];
	FILE *p;
	size_t n;
	int fd = mkstemp(path);
	int st;

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq((size_t)write(fd, text, len), len);
	close(fd);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_registry(struct baton_metrics *m)
{
	char *text = NULL, out[4096];
	size_t len = 0;
	int rv;

	ck_assert_int_eq(baton_metrics_render(m, &text, &len), 0);
	rv = promtool(text, len, out, sizeof out);
	ck_assert_msg(rv == 0, "promtool check metrics: exit %d: %s\n--\n%s",
		      rv, out, text);
	free(text);
}

START_TEST(promtool_is_installed)
{
	ck_assert_msg(system("promtool --version >/dev/null 2>&1") == 0,
		      "promtool is missing: make deps (Debian's prometheus)");
}
END_TEST

START_TEST(every_type_with_hostile_labels)
{
	static const char *const lbl[] = {"name", "region", NULL};
	static const double b[] = {0.1, 1, 10};
	struct baton_metrics m;
	struct baton_metric *c, *g, *h;

	baton_metrics_init(&m);
	c = baton_metrics_add(&m, BATON_METRIC_COUNTER, "baton_test_total",
			      "A counter, with \\ and a\nnewline in its help",
			      lbl, NULL, 0);
	g = baton_metrics_add(&m, BATON_METRIC_GAUGE, "baton_test_value",
			      "A gauge", lbl, NULL, 0);
	h = baton_metrics_add(&m, BATON_METRIC_HISTOGRAM,
			      "baton_test_duration_seconds", "A histogram", lbl,
			      b, 3);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(
	    baton_metric_inc(c, (const char *const[]){"q\"uote", "eu"}, 3), 0);
	ck_assert_int_eq(
	    baton_metric_inc(c, (const char *const[]){"back\\slash", "us"}, 1),
	    0);
	ck_assert_int_eq(
	    baton_metric_set(g, (const char *const[]){"new\nline", "eu"}, NAN),
	    0);
	ck_assert_int_eq(
	    baton_metric_set(g, (const char *const[]){"inf", "eu"}, INFINITY),
	    0);
	ck_assert_int_eq(
	    baton_metric_set(g, (const char *const[]){"-inf", "eu"}, -INFINITY),
	    0);
	ck_assert_int_eq(
	    baton_metric_set(g, (const char *const[]){"tiny", ""}, 1e-300), 0);
	for (double v = 0.05; v < 100; v *= 3) {
		ck_assert_int_eq(baton_metric_observe(
				     h, (const char *const[]){"a", "eu"}, v),
				 0);
	}
	check_registry(&m);
	baton_metrics_free(&m);
}
END_TEST

START_TEST(process_series)
{
	struct baton_metrics m;
	struct baton_procmetrics p;

	baton_metrics_init(&m);
	ck_assert_int_eq(baton_procmetrics_add(&p, &m), 0);
	baton_procmetrics_update(&p);
	check_registry(&m);
	baton_metrics_free(&m);
}
END_TEST

/* The checker itself: a counter without _total and a malformed line must
 * be refused, or the tests above prove nothing. */
START_TEST(promtool_refuses_bad_text)
{
	static const char bad_name[] = "# HELP x_count A counter\n"
				       "# TYPE x_count counter\n"
				       "x_count 1\n";
	static const char garbage[] = "# TYPE y gauge\ny{a=\"b} 1\n";
	char out[4096];

	ck_assert_int_ne(
	    promtool(bad_name, sizeof bad_name - 1, out, sizeof out), 0);
	ck_assert_int_ne(promtool(garbage, sizeof garbage - 1, out, sizeof out),
			 0);
}
END_TEST

static Suite *promtool_suite(void)
{
	Suite *s = suite_create("http_promtool");
	TCase *tc = tcase_create("promtool");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, promtool_is_installed);
	tcase_add_test(tc, every_type_with_hostile_labels);
	tcase_add_test(tc, process_series);
	tcase_add_test(tc, promtool_refuses_bad_text);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(promtool_suite)
