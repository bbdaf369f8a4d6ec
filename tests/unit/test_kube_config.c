/* Unit tests for operator/kube/config: kubeconfig and in-cluster loading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kube/config.h"
#include "harness.h"

/* "hello" → aGVsbG8= */
static const char *good =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: a\n"
    "contexts:\n"
    "- name: a\n"
    "  context: {cluster: c1, user: u1, namespace: team}\n"
    "- name: b\n"
    "  context: {cluster: c2, user: u2}\n"
    "clusters:\n"
    "- name: c1\n"
    "  cluster:\n"
    "    server: https://127.0.0.1:6443/\n"
    "    certificate-authority-data: aGVsbG8=\n"
    "- name: c2\n"
    "  cluster:\n"
    "    server: https://10.0.0.1:443\n"
    "    insecure-skip-tls-verify: true\n"
    "users:\n"
    "- name: u1\n"
    "  user:\n"
    "    client-certificate-data: Y2VydA==\n"
    "    client-key-data: a2V5\n"
    "- name: u2\n"
    "  user:\n"
    "    token: abc.def\n";

START_TEST(good_current_context)
{
	struct baton_kube_config cfg;
	ck_assert_int_eq(baton_kube_config_load_data(&cfg, good, strlen(good),
						     "mem", NULL, NULL),
			 0);
	ck_assert_str_eq(cfg.server, "https://127.0.0.1:6443");
	ck_assert_str_eq(cfg.context, "a");
	ck_assert_str_eq(cfg.ns, "team");
	ck_assert_uint_eq(cfg.ca_len, 5);
	ck_assert_int_eq(memcmp(cfg.ca, "hello", 5), 0);
	ck_assert_uint_eq(cfg.cert_len, 4);
	ck_assert_int_eq(memcmp(cfg.cert, "cert", 4), 0);
	ck_assert_uint_eq(cfg.key_len, 3);
	ck_assert_ptr_null(cfg.token);
	ck_assert(!cfg.insecure);
	baton_kube_config_free(&cfg);
}
END_TEST

START_TEST(good_explicit_context)
{
	struct baton_kube_config cfg, copy;
	ck_assert_int_eq(baton_kube_config_load_data(&cfg, good, strlen(good),
						     "mem", NULL, "b"),
			 0);
	ck_assert_str_eq(cfg.server, "https://10.0.0.1:443");
	ck_assert_str_eq(cfg.ns, "default");
	ck_assert(cfg.insecure);
	ck_assert_str_eq(baton_kube_config_token(&cfg), "abc.def");
	ck_assert_int_eq(baton_kube_config_copy(&copy, &cfg), 0);
	baton_kube_config_free(&cfg);
	ck_assert_str_eq(copy.token, "abc.def");
	ck_assert(copy.insecure);
	baton_kube_config_free(&copy);
}
END_TEST

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof dir, "/tmp/kubecfgXXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

START_TEST(files_relative_to_kubeconfig_and_token_reread)
{
	struct baton_kube_config cfg;
	char path[256];

	mkdir_tmp();
	write_file("ca.pem", "CA-PEM");
	write_file("tok", "first\n");
	write_file("config", "current-context: x\n"
			     "contexts: [{name: x, context: {cluster: c, user: "
			     "u}}]\n"
			     "clusters: [{name: c, cluster: {server: "
			     "'https://h:1', certificate-authority: ca.pem}}]\n"
			     "users: [{name: u, user: {tokenFile: tok}}]\n");
	snprintf(path, sizeof path, "%s/config", dir);
	ck_assert_int_eq(baton_kube_config_load_file(&cfg, path, NULL), 0);
	ck_assert_uint_eq(cfg.ca_len, 6);
	ck_assert_str_eq(baton_kube_config_token(&cfg), "first");
	/* A new file (new inode) must be picked up. */
	write_file("tok.new", "second\n");
	snprintf(path, sizeof path, "%s/tok.new", dir);
	{
		char dst[256];
		snprintf(dst, sizeof dst, "%s/tok", dir);
		ck_assert_int_eq(rename(path, dst), 0);
	}
	ck_assert_str_eq(baton_kube_config_token(&cfg), "second");
	baton_kube_config_free(&cfg);
}
END_TEST

START_TEST(in_cluster)
{
	struct baton_kube_config cfg;

	mkdir_tmp();
	write_file("token", "sa-token\n");
	write_file("ca.crt", "CA");
	write_file("namespace", "baton-system");
	unsetenv("KUBERNETES_SERVICE_HOST");
	ck_assert_int_eq(baton_kube_config_in_cluster(&cfg, dir),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(cfg.errmsg, "KUBERNETES_SERVICE_HOST"));
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	ck_assert_int_eq(baton_kube_config_in_cluster(&cfg, dir), 0);
	ck_assert_str_eq(cfg.server, "https://[fd00::1]:443");
	ck_assert_str_eq(baton_kube_config_token(&cfg), "sa-token");
	ck_assert_str_eq(cfg.ns, "baton-system");
	ck_assert_uint_eq(cfg.ca_len, 2);
	baton_kube_config_free(&cfg);
	ck_assert_int_eq(baton_kube_config_in_cluster(&cfg, "/nonexistent"),
			 BATON_EIO);
	ck_assert_ptr_nonnull(strstr(cfg.errmsg, "token"));
}
END_TEST

START_TEST(file_size_capped)
{
	struct baton_kube_config cfg;
	char path[256];
	FILE *f;

	mkdir_tmp();
	snprintf(path, sizeof path, "%s/big", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < BATON_KUBE_CONFIG_MAX_FILE / 16 + 1; i++) {
		fputs("# padding......\n", f);
	}
	fclose(f);
	ck_assert_int_eq(baton_kube_config_load_file(&cfg, path, NULL),
			 BATON_ETOOLARGE);
	ck_assert_ptr_nonnull(strstr(cfg.errmsg, path));
	ck_assert_int_eq(
	    baton_kube_config_load_file(&cfg, "/nonexistent/kc", NULL),
	    BATON_EIO);
}
END_TEST

/* Broken kubeconfigs: each must fail with the given code, and the message
 * must mention the given field. */
struct broken {
	const char *yaml;
	const char *context;
	int code;
	const char *must_mention;
};

#define CTX                                                                    \
	"current-context: a\ncontexts: [{name: a, context: {cluster: c, "      \
	"user: u}}]\n"
#define CL "clusters: [{name: c, cluster: {server: 'https://h:1'}}]\n"
#define US "users: [{name: u, user: {token: t}}]\n"

static const struct broken broken[] = {
    {"", NULL, BATON_ECONFIG, "empty"},
    {"a: [unclosed\n", NULL, BATON_ECONFIG, "invalid YAML"},
    {"- 1\n- 2\n", NULL, BATON_ECONFIG, "mapping"},
    {"contexts: []\n" CL US, NULL, BATON_ECONFIG, "current-context"},
    {CTX CL US, "nope", BATON_ECONFIG, "no context named \"nope\""},
    {"current-context: a\ncontexts: {a: 1}\n" CL US, NULL, BATON_ECONFIG,
     "contexts: must be a list"},
    {"current-context: a\ncontexts: [{context: {cluster: c}}]\n" CL US, NULL,
     BATON_ECONFIG, "contexts[0].name"},
    {"current-context: a\ncontexts: [{name: a}]\n" CL US, NULL, BATON_ECONFIG,
     "contexts[0] (\"a\").context"},
    {"current-context: a\ncontexts: [{name: a, context: {user: u}}]\n" CL US,
     NULL, BATON_ECONFIG, "context.cluster"},
    {CTX "clusters: [{name: other, cluster: {server: 'https://h'}}]\n" US, NULL,
     BATON_ECONFIG, "no cluster named \"c\""},
    {CTX "clusters: [{name: c, cluster: {}}]\n" US, NULL, BATON_ECONFIG,
     ".server: missing"},
    {CTX "clusters: [{name: c, cluster: {server: 'h:1'}}]\n" US, NULL,
     BATON_ECONFIG, ".server: \"h:1\""},
    {CTX "clusters: [{name: c, cluster: {server: [1]}}]\n" US, NULL,
     BATON_ECONFIG, ".server: must be a string"},
    /* found by fuzz_kubeconfig: trailing '/' stripped, "https:" was left */
    {CTX "clusters: [{name: c, cluster: {server: 'https:////'}}]\n" US, NULL,
     BATON_ECONFIG, ".server: \"https:////\" has no host"},
    {CTX "clusters: [{name: c, cluster: {server: 'http://'}}]\n" US, NULL,
     BATON_ECONFIG, "has no host"},
    {CTX "clusters: [{name: c, cluster: {server: 'https://h', "
	 "certificate-authority-data: '!!!'}}]\n" US,
     NULL, BATON_ECONFIG, "certificate-authority-data: invalid base64"},
    {CTX "clusters: [{name: c, cluster: {server: 'https://h', "
	 "certificate-authority: /nonexistent/ca}}]\n" US,
     NULL, BATON_EIO, "certificate-authority: cannot read /nonexistent/ca"},
    {CTX "clusters: [{name: c, cluster: {server: 'https://h', "
	 "insecure-skip-tls-verify: maybe}}]\n" US,
     NULL, BATON_ECONFIG, "insecure-skip-tls-verify: \"maybe\""},
    {CTX "clusters: [{name: c, cluster: {server: 'https://h', "
	 "insecure-skip-tls-verify: true, certificate-authority-data: "
	 "aGVsbG8=}}]\n" US,
     NULL, BATON_ECONFIG, "insecure-skip-tls-verify: cannot be combined"},
    {CTX CL "users: [{name: other, user: {}}]\n", NULL, BATON_ECONFIG,
     "no user named \"u\""},
    {CTX CL "users: [{name: u, user: {client-certificate-data: Y2VydA==}}]\n",
     NULL, BATON_ECONFIG, "client-key: missing"},
    {CTX CL "users: [{name: u, user: {client-key-data: Y2VydA==}}]\n", NULL,
     BATON_ECONFIG, "client-certificate: missing"},
    {CTX CL "users: [{name: u, user: {client-certificate-data: '%%', "
	    "client-key-data: a2V5}}]\n",
     NULL, BATON_ECONFIG, "client-certificate-data: invalid base64"},
    {CTX CL "users: [{name: u, user: {client-certificate: /nonexistent/c, "
	    "client-key: /nonexistent/k}}]\n",
     NULL, BATON_EIO, "client-certificate: cannot read"},
    {CTX CL "users: [{name: u, user: {tokenFile: /nonexistent/t}}]\n", NULL,
     BATON_EIO, "tokenFile: cannot read /nonexistent/t"},
    {CTX CL "users: [{name: u, user: {token: ''}}]\n", NULL, BATON_ECONFIG,
     "token: empty"},
    {CTX CL "users: [{name: u, user: {exec: {command: aws}}}]\n", NULL,
     BATON_ECONFIG, "exec"},
    {CTX CL "users: {u: 1}\n", NULL, BATON_ECONFIG, "users: must be a list"},
    /* Alias bomb: each level doubles; the node budget must stop it. */
    {"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
     NULL, BATON_ETOOLARGE, "YAML nodes"},
};

START_TEST(broken_kubeconfigs)
{
	const struct broken *b = &broken[_i];
	struct baton_kube_config cfg;
	int rv = baton_kube_config_load_data(&cfg, b->yaml, strlen(b->yaml),
					     "/etc/kc.yaml", NULL, b->context);

	ck_assert_msg(rv == b->code, "case %d: got %s want %s (%s)", _i,
		      baton_errname(rv), baton_errname(b->code), cfg.errmsg);
	ck_assert_msg(strstr(cfg.errmsg, b->must_mention) != NULL,
		      "case %d: \"%s\" does not mention \"%s\"", _i, cfg.errmsg,
		      b->must_mention);
	ck_assert_msg(strstr(cfg.errmsg, "/etc/kc.yaml") != NULL ||
			  strstr(cfg.errmsg, "YAML") != NULL,
		      "case %d: no file name in \"%s\"", _i, cfg.errmsg);
	ck_assert_ptr_null(cfg.server);
	baton_kube_config_free(&cfg);
}
END_TEST

START_TEST(errmsg_names_context)
{
	struct baton_kube_config cfg;
	const char *y = CTX "clusters: [{name: c, cluster: {}}]\n" US;
	ck_assert_int_eq(
	    baton_kube_config_load_data(&cfg, y, strlen(y), "f", NULL, NULL),
	    BATON_ECONFIG);
	ck_assert_str_eq(cfg.errmsg,
			 "f: context \"a\": cluster \"c\".server: missing");
}
END_TEST

/* A plain URL (batond's agents and peers) needs a host as well. */
START_TEST(url_needs_a_host)
{
	struct baton_kube_config cfg;

	ck_assert_int_eq(baton_kube_config_for_url(&cfg, "https://h:8443/",
						   NULL, NULL, NULL,
						   "--batond-url"),
			 0);
	ck_assert_str_eq(cfg.server, "https://h:8443");
	baton_kube_config_free(&cfg);
	ck_assert_int_eq(baton_kube_config_for_url(&cfg, "http:///", NULL, NULL,
						   NULL, "--batond-url"),
			 BATON_ECONFIG);
	ck_assert_str_eq(cfg.errmsg, "--batond-url: 'http:///' has no host");
	ck_assert_ptr_null(cfg.server);
}
END_TEST

/* Allocation failures inside jansson (the allocator hook) at every point
 * of a load: it fails cleanly or succeeds, never crashes or leaks (ASan). */
static long alloc_budget;

static void *failing_malloc(size_t n)
{
	if (alloc_budget-- <= 0) {
		return NULL;
	}
	return malloc(n);
}

START_TEST(jansson_alloc_failures)
{
	struct baton_kube_config cfg;
	int ok = 0;

	for (long n = 0; n < 2000 && ok == 0; n++) {
		int rv;
		alloc_budget = n;
		json_set_alloc_funcs(failing_malloc, free);
		rv = baton_kube_config_load_data(&cfg, good, strlen(good),
						 "mem", NULL, "b");
		json_set_alloc_funcs(malloc, free);
		if (rv == 0) {
			ck_assert_str_eq(cfg.server, "https://10.0.0.1:443");
			ok = 1;
		} else {
			ck_assert(cfg.errmsg[0] != '\0');
			ck_assert_ptr_null(cfg.server);
		}
		baton_kube_config_free(&cfg);
	}
	ck_assert_int_eq(ok, 1);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("kube_config");
	TCase *tc = tcase_create("config");
	tcase_add_test(tc, good_current_context);
	tcase_add_test(tc, good_explicit_context);
	tcase_add_test(tc, files_relative_to_kubeconfig_and_token_reread);
	tcase_add_test(tc, in_cluster);
	tcase_add_test(tc, file_size_capped);
	tcase_add_loop_test(tc, broken_kubeconfigs, 0,
			    (int)(sizeof broken / sizeof broken[0]));
	tcase_add_test(tc, errmsg_names_context);
	tcase_add_test(tc, url_needs_a_host);
	tcase_add_test(tc, jansson_alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(config_suite)
