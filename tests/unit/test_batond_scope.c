/* Unit tests for operator/batond/scope (watchNamespaces): which
 * namespaces batond manages, what its informers are given, and a database
 * from another namespace said once at info, then ignored quietly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond/scope.h"
#include "harness.h"

static char *logbuf;
static size_t loglen;
static FILE *log_fp;

static void capture(void)
{
	log_fp = open_memstream(&logbuf, &loglen);
	ck_assert_ptr_nonnull(log_fp);
	baton_log_set_stream(log_fp);
}

/* How often the captured log says NEEDLE. */
static int said(const char *needle)
{
	int n = 0;
	fflush(log_fp);
	for (const char *p = logbuf; (p = strstr(p, needle)) != NULL; p++) {
		n++;
	}
	return n;
}

static void release(void)
{
	baton_log_set_stream(NULL);
	fclose(log_fp);
	free(logbuf);
}

START_TEST(empty_list_manages_every_namespace)
{
	struct baton_batond_config cfg;
	struct baton_scope s;

	memset(&cfg, 0, sizeof cfg);
	capture();
	baton_scope_init(&s, &cfg);
	ck_assert_ptr_null(baton_scope_namespaces(&s));
	ck_assert(baton_scope_has(&s, "kube-system"));
	ck_assert(baton_scope_admit(&s, "anything/db"));
	ck_assert(baton_scope_admit(NULL, "anything/db"));
	ck_assert_int_eq(said("in every namespace"), 1);
	baton_scope_free(&s);
	release();
}
END_TEST

START_TEST(listed_namespaces_only)
{
	char *nss[] = {"team-a", "team-b", NULL};
	struct baton_batond_config cfg;
	struct baton_scope s;
	const char *const *got;

	memset(&cfg, 0, sizeof cfg);
	cfg.watch_namespaces = nss;
	cfg.n_watch_namespaces = 2;
	capture();
	baton_scope_init(&s, &cfg);
	ck_assert_int_eq(said("only in namespaces team-a, team-b"), 1);
	got = baton_scope_namespaces(&s);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got[0], "team-a");
	ck_assert_str_eq(got[1], "team-b");
	ck_assert_ptr_null(got[2]);
	ck_assert(baton_scope_has(&s, "team-b"));
	ck_assert(!baton_scope_has(&s, "team"));
	ck_assert(!baton_scope_has(&s, "kube-system"));
	ck_assert(baton_scope_admit(&s, "team-a/orders"));
	/* a prefix of a listed namespace is not that namespace */
	ck_assert(!baton_scope_admit(&s, "team/orders"));
	ck_assert(!baton_scope_admit(&s, "kube-system/orders"));
	ck_assert(!baton_scope_admit(&s, "kube-system/orders"));
	ck_assert(!baton_scope_admit(&s, "kube-system/orders"));
	ck_assert(!baton_scope_admit(&s, "no-slash"));
	ck_assert_int_eq(said("kube-system/orders: ignored here"), 1);
	ck_assert_int_eq(said("team/orders: ignored here"), 1);
	ck_assert_int_eq(said("team-a/orders"), 0);
	baton_scope_free(&s);
	release();
}
END_TEST

static Suite *scope_suite(void)
{
	Suite *s = suite_create("batond_scope");
	TCase *tc = tcase_create("scope");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, empty_list_manages_every_namespace);
	tcase_add_test(tc, listed_namespaces_only);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(scope_suite)
