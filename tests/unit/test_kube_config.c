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

/* ---- several files ($KUBECONFIG), as kubectl merges them ---------------- */

static void in_dir(char *out, size_t len, const char *sub, const char *name)
{
	char d[128];
	snprintf(d, sizeof d, "%s/%s", dir, sub);
	(void)mkdir(d, 0700);
	snprintf(out, len, "%.127s/%.64s", d, name);
}

static void write_path(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* First file wins per name and for current-context; a cluster found in
 * the second file reads its CA relative to the second file; a file of the
 * list that does not exist is skipped. */
START_TEST(merged_first_file_wins)
{
	struct baton_kube_config cfg;
	char a[256], b[256], ca[256], missing[256];
	const char *paths[3];

	mkdir_tmp();
	in_dir(a, sizeof a, "a", "config");
	in_dir(b, sizeof b, "b", "config");
	in_dir(ca, sizeof ca, "b", "ca.pem");
	in_dir(missing, sizeof missing, "c", "config");
	write_path(ca, "B-CA");
	write_path(a, "current-context: eu\n"
		      "contexts:\n"
		      "- {name: eu, context: {cluster: eu-c, user: me}}\n"
		      "users: [{name: me, user: {token: from-a}}]\n");
	write_path(b, "current-context: us\n"
		      "contexts:\n"
		      "- {name: eu, context: {cluster: nowhere, user: me}}\n"
		      "- {name: us, context: {cluster: us-c, user: me, "
		      "namespace: db}}\n"
		      "clusters:\n"
		      "- {name: eu-c, cluster: {server: 'https://eu:6443', "
		      "certificate-authority: ca.pem}}\n"
		      "- {name: us-c, cluster: {server: 'https://us:6443'}}\n"
		      "users: [{name: me, user: {token: from-b}}]\n");
	paths[0] = a;
	paths[1] = missing;
	paths[2] = b;
	ck_assert_int_eq(baton_kube_config_load_files(&cfg, paths, 3, NULL, 0),
			 0);
	ck_assert_str_eq(cfg.context, "eu");
	ck_assert_str_eq(cfg.server, "https://eu:6443");
	ck_assert_uint_eq(cfg.ca_len, 4);
	ck_assert_int_eq(memcmp(cfg.ca, "B-CA", 4), 0);
	ck_assert_str_eq(cfg.token, "from-a");
	baton_kube_config_free(&cfg);
	/* a context by name, only in the second file */
	ck_assert_int_eq(baton_kube_config_load_files(&cfg, paths, 3, "us", 0),
			 0);
	ck_assert_str_eq(cfg.server, "https://us:6443");
	ck_assert_str_eq(cfg.ns, "db");
	ck_assert_str_eq(cfg.token, "from-a");
	baton_kube_config_free(&cfg);
	/* a context no file has names every file */
	ck_assert_int_eq(baton_kube_config_load_files(&cfg, paths, 3, "ap", 0),
			 BATON_ECONFIG);
	ck_assert_msg(strstr(cfg.errmsg, "no context named \"ap\"") &&
			  strstr(cfg.errmsg, b),
		      "%s", cfg.errmsg);
	/* none exists: an error naming them */
	paths[0] = missing;
	ck_assert_int_eq(baton_kube_config_load_files(&cfg, paths, 1, NULL, 0),
			 BATON_EIO);
	ck_assert_ptr_nonnull(strstr(cfg.errmsg, missing));
	ck_assert_int_eq(baton_kube_config_load_files(&cfg, paths, 2, NULL, 0),
			 BATON_EIO);
	ck_assert_ptr_nonnull(strstr(cfg.errmsg, "none of these"));
}
END_TEST

START_TEST(default_files_from_env)
{
	const char *paths[BATON_KUBE_CONFIG_MAX_FILES];
	char buf[512], err[BATON_ERRMSG_SIZE];

	setenv("KUBECONFIG", "/a:::/b:/a", 1);
	ck_assert_int_eq(
	    baton_kube_config_default_files(paths, buf, sizeof buf, err), 2);
	ck_assert_str_eq(paths[0], "/a");
	ck_assert_str_eq(paths[1], "/b");
	setenv("KUBECONFIG", "", 1);
	setenv("HOME", "/home/op", 1);
	ck_assert_int_eq(
	    baton_kube_config_default_files(paths, buf, sizeof buf, err), 1);
	ck_assert_str_eq(paths[0], "/home/op/.kube/config");
	setenv("KUBECONFIG", ":", 1);
	ck_assert_int_eq(
	    baton_kube_config_default_files(paths, buf, sizeof buf, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "names no file"));
}
END_TEST

/* ---- exec credential plugins ---------------------------------------------
 * The plugins are small shell scripts in a temporary directory; the loader
 * runs them without a shell (the #! line does). */

static char kc_path[256];

static void exec_kubeconfig(const char *user_exec)
{
	char text[2048];
	snprintf(text, sizeof text,
		 "current-context: x\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "clusters: [{name: c, cluster: {server: 'https://h:1', "
		 "certificate-authority-data: aGVsbG8=}}]\n"
		 "users:\n"
		 "- name: u\n"
		 "  user:\n"
		 "    exec:\n%s",
		 user_exec);
	write_file("config", text);
	snprintf(kc_path, sizeof kc_path, "%s/config", dir);
}

static void plugin(const char *name, const char *body)
{
	char path[256];
	write_file(name, body);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_eq(chmod(path, 0700), 0);
}

static int load_exec_cfg(struct baton_kube_config *cfg)
{
	const char *p = kc_path;
	return baton_kube_config_load_files(cfg, &p, 1, NULL,
					    BATON_KUBE_CONFIG_EXEC);
}

/* A token with an expiry: args and env reach the plugin, and
 * KUBERNETES_EXEC_INFO says what is asked (and the cluster, as
 * provideClusterInfo asks); it runs once while the token is valid and
 * again once it has expired. */
START_TEST(exec_token_and_expiry)
{
	struct baton_kube_config cfg, copy;
	char count[256], info[256], text[1024];
	FILE *f;

	mkdir_tmp();
	plugin("plugin",
	       "#!/bin/sh\n"
	       "d=$(dirname \"$0\")\n"
	       "echo x >> \"$d/runs\"\n"
	       "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$d/info\"\n"
	       "n=$(wc -l < \"$d/runs\")\n"
	       "cat <<EOF\n"
	       "{\"apiVersion\": \"client.authentication.k8s.io/v1\",\n"
	       " \"kind\": \"ExecCredential\",\n"
	       " \"status\": {\"token\": \"$1-$REGION-$n\",\n"
	       "   \"expirationTimestamp\": \"$(cat \"$d/expiry\")\"}}\n"
	       "EOF\n");
	write_file("expiry", "2001-01-01T00:00:00Z");
	exec_kubeconfig("      apiVersion: client.authentication.k8s.io/v1\n"
			"      command: ./plugin\n"
			"      args: [tok]\n"
			"      env: [{name: REGION, value: eu-west}]\n"
			"      provideClusterInfo: true\n"
			"      interactiveMode: Never\n");
	ck_assert_int_eq(load_exec_cfg(&cfg), 0);
	ck_assert_ptr_null(cfg.token); /* not run before it is needed */
	ck_assert_int_eq(baton_kube_config_copy(&copy, &cfg), 0);
	baton_kube_config_free(&cfg);
	ck_assert_int_eq(baton_kube_config_refresh(&copy), 0);
	ck_assert_str_eq(copy.token, "tok-eu-west-1");
	/* expired (2001): the next refresh runs it again */
	write_file("expiry", "2999-01-01T10:00:00.5+02:00");
	ck_assert_int_eq(baton_kube_config_refresh(&copy), 0);
	ck_assert_str_eq(copy.token, "tok-eu-west-2");
	ck_assert_int_eq(copy.exec_expiry, 32472172800); /* 08:00Z */
	/* valid for centuries: not again */
	ck_assert_int_eq(baton_kube_config_refresh(&copy), 0);
	ck_assert_str_eq(baton_kube_config_token(&copy), "tok-eu-west-2");
	snprintf(count, sizeof count, "%s/runs", dir);
	f = fopen(count, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq((int)fread(text, 1, sizeof text, f), 4);
	fclose(f);
	snprintf(info, sizeof info, "%s/info", dir);
	f = fopen(info, "r");
	ck_assert_ptr_nonnull(f);
	text[fread(text, 1, sizeof text - 1, f)] = '\0';
	fclose(f);
	ck_assert_msg(strstr(text, "\"apiVersion\":\"client.authentication."
				   "k8s.io/v1\"") &&
			  strstr(text, "\"interactive\":false") &&
			  strstr(text, "\"server\":\"https://h:1\"") &&
			  strstr(text, "\"certificate-authority-data\":"
				       "\"aGVsbG8=\""),
		      "KUBERNETES_EXEC_INFO: %s", text);
	baton_kube_config_free(&copy);
}
END_TEST

/* v1beta1 and a client certificate instead of a token. */
START_TEST(exec_client_certificate)
{
	struct baton_kube_config cfg;

	mkdir_tmp();
	plugin("cert-plugin",
	       "#!/bin/sh\n"
	       "echo '{\"apiVersion\": "
	       "\"client.authentication.k8s.io/v1beta1\", \"kind\": "
	       "\"ExecCredential\", \"status\": {\"clientCertificateData\": "
	       "\"CERT\", \"clientKeyData\": \"KEY\"}}'\n");
	exec_kubeconfig(
	    "      apiVersion: client.authentication.k8s.io/v1beta1\n"
	    "      command: ./cert-plugin\n");
	ck_assert_int_eq(load_exec_cfg(&cfg), 0);
	ck_assert_int_eq(baton_kube_config_refresh(&cfg), 0);
	ck_assert_ptr_null(cfg.token);
	ck_assert_uint_eq(cfg.cert_len, 4);
	ck_assert_int_eq(memcmp(cfg.cert, "CERT", 4), 0);
	ck_assert_int_eq(memcmp(cfg.key, "KEY", 3), 0);
	ck_assert_int_eq(cfg.exec_expiry, 0);
	baton_kube_config_free(&cfg);
}
END_TEST

struct bad_plugin {
	const char *script; /* NULL: no such command */
	const char *exec;   /* the kubeconfig's exec block */
	int code;
	const char *must_mention;
};

#define V1 "      apiVersion: client.authentication.k8s.io/v1\n"
#define CMD "      command: ./p\n"
#define CRED_HEAD                                                              \
	"{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": "     \
	"\"ExecCredential\", "

static const struct bad_plugin bad_plugins[] = {
    {"#!/bin/sh\necho 'token expired, run aws sso login' >&2\nexit 3\n", V1 CMD,
     BATON_EIO, "/p\" exited with status 3: token expired, run aws sso login"},
    {"#!/bin/sh\necho 'Hello, I am not JSON'\n", V1 CMD, BATON_ECONFIG,
     "printed no ExecCredential"},
    {"#!/bin/sh\necho '{\"apiVersion\": "
     "\"client.authentication.k8s.io/v1beta1\", \"kind\": "
     "\"ExecCredential\", \"status\": {\"token\": \"t\"}}'\n",
     V1 CMD, BATON_ECONFIG, "not the \"client.authentication.k8s.io/v1\""},
    {"#!/bin/sh\necho '" CRED_HEAD "\"status\": {}}'\n", V1 CMD, BATON_ECONFIG,
     "neither status.token nor"},
    {"#!/bin/sh\necho '" CRED_HEAD
     "\"status\": {\"clientCertificateData\": \"C\"}}'\n",
     V1 CMD, BATON_ECONFIG, "without clientKeyData"},
    {"#!/bin/sh\necho '" CRED_HEAD "\"status\": {\"token\": \"t\", "
     "\"expirationTimestamp\": \"tomorrow\"}}'\n",
     V1 CMD, BATON_ECONFIG, "\"tomorrow\", not an RFC 3339 time"},
    {"#!/bin/sh\nkill -9 $$\n", V1 CMD, BATON_EIO, "killed by signal 9"},
    {NULL,
     V1 "      command: baton-no-such-plugin\n"
	"      installHint: install it with apt\n",
     BATON_ECONFIG,
     "cannot run \"baton-no-such-plugin\": No such file or directory: "
     "install it with apt"},
};

START_TEST(exec_plugin_failures)
{
	const struct bad_plugin *b = &bad_plugins[_i];
	struct baton_kube_config cfg;
	int rv;

	mkdir_tmp();
	if (b->script != NULL) {
		plugin("p", b->script);
	}
	exec_kubeconfig(b->exec);
	ck_assert_int_eq(load_exec_cfg(&cfg), 0);
	rv = baton_kube_config_refresh(&cfg);
	ck_assert_msg(rv == b->code, "case %d: %s (%s)", _i, baton_errname(rv),
		      cfg.errmsg);
	ck_assert_msg(strstr(cfg.errmsg, b->must_mention) != NULL,
		      "case %d: \"%s\" does not mention \"%s\"", _i, cfg.errmsg,
		      b->must_mention);
	ck_assert_msg(strstr(cfg.errmsg, "user \"u\".exec") != NULL,
		      "case %d: no user in \"%s\"", _i, cfg.errmsg);
	ck_assert_ptr_null(cfg.token);
	ck_assert_ptr_null(cfg.cert);
	baton_kube_config_free(&cfg);
}
END_TEST

/* Refused at load: outside batonctl, a missing command or apiVersion, a
 * plugin that wants a terminal, exec beside a token; auth-provider says
 * to use exec. */
START_TEST(exec_refused_at_load)
{
	static const struct {
		const char *exec;
		unsigned flags;
		const char *must_mention;
	} cases[] = {
	    {V1 CMD, 0, "run only in batonctl"},
	    {CMD, BATON_KUBE_CONFIG_EXEC, ".apiVersion: \"\": want"},
	    {"      apiVersion: client.authentication.k8s.io/v1alpha1\n" CMD,
	     BATON_KUBE_CONFIG_EXEC, "v1alpha1\": want"},
	    {V1, BATON_KUBE_CONFIG_EXEC, ".command: missing"},
	    {V1 CMD "      interactiveMode: Always\n", BATON_KUBE_CONFIG_EXEC,
	     "no terminal"},
	    {V1 CMD "      args: {a: b}\n", BATON_KUBE_CONFIG_EXEC,
	     "args: must be a list"},
	    {V1 CMD "      env: [{name: A}]\n", BATON_KUBE_CONFIG_EXEC,
	     "env[0]: wants a name and a value"},
	    {V1 CMD "    token: t\n", BATON_KUBE_CONFIG_EXEC,
	     "more than one way"},
	};
	struct baton_kube_config cfg;
	const char *p;

	mkdir_tmp();
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		exec_kubeconfig(cases[i].exec);
		p = kc_path;
		ck_assert_int_eq(baton_kube_config_load_files(&cfg, &p, 1, NULL,
							      cases[i].flags),
				 BATON_ECONFIG);
		ck_assert_msg(strstr(cfg.errmsg, cases[i].must_mention),
			      "case %zu: \"%s\" does not mention \"%s\"", i,
			      cfg.errmsg, cases[i].must_mention);
		ck_assert_ptr_null(cfg.exec);
	}
	write_file("config",
		   CTX CL "users: [{name: u, user: {auth-provider: {name: "
			  "gcp}}}]\n");
	p = kc_path;
	ck_assert_int_eq(baton_kube_config_load_files(&cfg, &p, 1, NULL,
						      BATON_KUBE_CONFIG_EXEC),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(
	    strstr(cfg.errmsg, "use an exec credential plugin"));
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
	tc = tcase_create("merged");
	tcase_add_test(tc, merged_first_file_wins);
	tcase_add_test(tc, default_files_from_env);
	suite_add_tcase(s, tc);
	tc = tcase_create("exec");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, exec_token_and_expiry);
	tcase_add_test(tc, exec_client_certificate);
	tcase_add_loop_test(tc, exec_plugin_failures, 0,
			    (int)(sizeof bad_plugins / sizeof bad_plugins[0]));
	tcase_add_test(tc, exec_refused_at_load);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(config_suite)
