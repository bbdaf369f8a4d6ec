/* Integration tests for operator/kube against a real kube-apiserver.
 *
 * Needs BATON_KUBECONFIG (admin, client certificate) and
 * BATON_KUBECONFIG_LIMITED (service-account token), as exported by
 * `tests/env/regions env`. Missing variables FAIL the tests. The apiserver
 * restart case also needs BATON_REGIONS_DIR and BATON_REGION_NAMES and runs
 * `tests/env/regions restart-apiserver <first region>`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/rest.h"

#define LOOPS_PER_SEC 2000

static uv_loop_t loop;
static struct baton_kube_config cfg;
static struct baton_kube_client client;
static char ns[64];

struct done {
	bool done;
	int status;
	long http;
	json_t *result;
	char errmsg[BATON_ERRMSG_SIZE];
};

static void done_cb(struct baton_kube_request *req, int status)
{
	struct done *d = req->data;
	d->done = true;
	d->status = status;
	d->http = req->http_status;
	d->result = json_incref(req->result);
	memcpy(d->errmsg, req->errmsg, sizeof d->errmsg);
}

static void wait_done(struct done *d)
{
	for (int i = 0; i < 600000 && !d->done; i++) {
		uv_run(&loop, UV_RUN_ONCE);
	}
	ck_assert_msg(d->done, "request never completed");
}

static void client_closed_cb(struct baton_kube_client *c)
{
	*(bool *)c->data = true;
}

static const char *need_env(const char *name)
{
	const char *v = getenv(name);
	ck_assert_msg(v != NULL && v[0] != '\0',
		      "%s is not set: run under tests/integration/run.sh or "
		      "eval \"$(tests/env/regions env)\"",
		      name);
	return v;
}

static void open_client(const char *env, struct baton_kube_client *c,
			struct baton_kube_config *cf)
{
	const char *path = need_env(env);
	int rv = baton_kube_config_load_file(cf, path, NULL);
	ck_assert_msg(rv == 0, "%s: %s", path, cf->errmsg);
	rv = baton_kube_client_init(&loop, c, cf, NULL);
	ck_assert_msg(rv == 0, "client: %s", c->errmsg);
}

static void close_client(struct baton_kube_client *c,
			 struct baton_kube_config *cf)
{
	bool closed = false;
	c->data = &closed;
	baton_kube_client_close(c, client_closed_cb);
	LOOP_RUN_UNTIL(&loop, closed);
	baton_kube_config_free(cf);
}

static int sync_req_status(struct done *d)
{
	wait_done(d);
	return d->status;
}

static struct baton_kube_ref cm_ref(const char *name)
{
	struct baton_kube_ref r = {NULL, "v1", "configmaps", ns, name, NULL};
	return r;
}

static void setup(void)
{
	struct baton_kube_request req;
	struct done d = {0};
	struct baton_kube_ref nsref = {NULL, "v1", "namespaces",
				       NULL, NULL, NULL};
	json_t *obj;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	open_client("BATON_KUBECONFIG", &client, &cfg);
	snprintf(ns, sizeof ns, "kube-it-%d-%ld", (int)getpid(),
		 (long)(uv_hrtime() % 1000000));
	obj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind",
			"Namespace", "metadata", "name", ns);
	req.data = &d;
	ck_assert_int_eq(
	    baton_kube_create(&client, &req, &nsref, obj, NULL, done_cb), 0);
	json_decref(obj);
	ck_assert_msg(sync_req_status(&d) == 0, "create ns: %s", d.errmsg);
	json_decref(d.result);
}

static void teardown(void)
{
	struct baton_kube_request req;
	struct done d = {0};
	struct baton_kube_ref nsref = {NULL, "v1", "namespaces",
				       NULL, ns,   NULL};
	req.data = &d;
	if (baton_kube_delete(&client, &req, &nsref, NULL, done_cb) == 0) {
		wait_done(&d);
		json_decref(d.result);
	}
	close_client(&client, &cfg);
	LOOP_TEARDOWN(&loop);
}

static json_t *configmap(const char *name, const char *k, const char *v)
{
	return json_pack("{s:s,s:s,s:{s:s},s:{s:s}}", "apiVersion", "v1",
			 "kind", "ConfigMap", "metadata", "name", name, "data",
			 k, v);
}

/* ---- CRUD ------------------------------------------------------------------
 */

START_TEST(configmap_crud)
{
	struct baton_kube_ref r = cm_ref("crud");
	struct baton_kube_request req;
	struct done d = {0};
	json_t *obj = configmap("crud", "a", "1"), *got, *patch;
	char rv_old[64];

	req.data = &d;
	ck_assert_int_eq(
	    baton_kube_create(&client, &req, &r, obj, NULL, done_cb), 0);
	ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
	ck_assert_int_eq(d.http, 201);
	json_decref(d.result);

	/* A second create: AlreadyExists. */
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(
	    baton_kube_create(&client, &req, &r, obj, NULL, done_cb), 0);
	ck_assert_int_eq(sync_req_status(&d), BATON_EEXIST);
	ck_assert_ptr_nonnull(strstr(d.errmsg, "AlreadyExists"));
	json_decref(d.result);
	json_decref(obj);

	memset(&d, 0, sizeof d);
	ck_assert_int_eq(baton_kube_get(&client, &req, &r, done_cb), 0);
	ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
	got = d.result;
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(got, "data"), "a")),
			 "1");
	snprintf(rv_old, sizeof rv_old, "%s",
		 json_string_value(json_object_get(
		     json_object_get(got, "metadata"), "resourceVersion")));

	/* Update with the current RV works; with the old RV it conflicts. */
	json_object_set_new(json_object_get(got, "data"), "a",
			    json_string("2"));
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(
	    baton_kube_update(&client, &req, &r, got, NULL, done_cb), 0);
	ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
	json_decref(d.result);
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(
	    baton_kube_update(&client, &req, &r, got, NULL, done_cb), 0);
	ck_assert_int_eq(sync_req_status(&d), BATON_ECONFLICT);
	ck_assert_int_eq(d.http, 409);
	json_decref(d.result);
	json_decref(got);

	/* Merge patch and JSON patch. */
	patch = json_pack("{s:{s:s}}", "data", "b", "x");
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(baton_kube_patch(&client, &req, &r,
					  BATON_KUBE_PATCH_MERGE, patch, NULL,
					  done_cb),
			 0);
	ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
	json_decref(d.result);
	json_decref(patch);
	patch = json_pack("[{s:s,s:s,s:s},{s:s,s:s}]", "op", "test", "path",
			  "/data/b", "value", "x", "op", "remove", "path",
			  "/data/b");
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(baton_kube_patch(&client, &req, &r,
					  BATON_KUBE_PATCH_JSON, patch, NULL,
					  done_cb),
			 0);
	ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
	ck_assert_ptr_null(
	    json_object_get(json_object_get(d.result, "data"), "b"));
	json_decref(d.result);
	json_decref(patch);

	/* Delete with a wrong uid precondition fails, then deletes. */
	{
		struct baton_kube_delete_opts o = {0};
		o.precondition_uid = "00000000-0000-0000-0000-000000000000";
		memset(&d, 0, sizeof d);
		ck_assert_int_eq(
		    baton_kube_delete(&client, &req, &r, &o, done_cb), 0);
		ck_assert_int_eq(sync_req_status(&d), BATON_ECONFLICT);
		json_decref(d.result);
		o.precondition_uid = NULL;
		o.propagation_policy = "Background";
		memset(&d, 0, sizeof d);
		ck_assert_int_eq(
		    baton_kube_delete(&client, &req, &r, &o, done_cb), 0);
		ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
		json_decref(d.result);
	}
	memset(&d, 0, sizeof d);
	ck_assert_int_eq(baton_kube_get(&client, &req, &r, done_cb), 0);
	ck_assert_int_eq(sync_req_status(&d), BATON_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(d.errmsg, "404"));
	json_decref(d.result);
}
END_TEST

/* ---- SSA -------------------------------------------------------------------
 */

START_TEST(ssa_conflict_without_force)
{
	struct baton_kube_ref r = cm_ref("ssa");
	struct baton_kube_request req;
	struct done d = {0};
	json_t *a = configmap("ssa", "k", "from-a");
	json_t *b = configmap("ssa", "k", "from-b");

	req.data = &d;
	ck_assert_int_eq(
	    baton_kube_apply(&client, &req, &r, a, "mgr-a", false, done_cb), 0);
	ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
	json_decref(d.result);

	memset(&d, 0, sizeof d);
	ck_assert_int_eq(
	    baton_kube_apply(&client, &req, &r, b, "mgr-b", false, done_cb), 0);
	ck_assert_int_eq(sync_req_status(&d), BATON_ECONFLICT);
	ck_assert_int_eq(d.http, 409);
	ck_assert_msg(strstr(d.errmsg, ".data.k") != NULL,
		      "no field cause in \"%s\"", d.errmsg);
	json_decref(d.result);

	memset(&d, 0, sizeof d);
	ck_assert_int_eq(
	    baton_kube_apply(&client, &req, &r, b, "mgr-b", true, done_cb), 0);
	ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(d.result, "data"), "k")),
			 "from-b");
	json_decref(d.result);

	/* Missing fieldManager is refused before sending. */
	ck_assert_int_eq(
	    baton_kube_apply(&client, &req, &r, b, NULL, true, done_cb),
	    BATON_EINVAL);
	json_decref(a);
	json_decref(b);
}
END_TEST

/* ---- paging ----------------------------------------------------------------
 */

#define NCM 5000
#define CONCURRENCY 64

struct bulk {
	int next, inflight, ok, failed;
	struct baton_kube_request reqs[CONCURRENCY];
	char firsterr[BATON_ERRMSG_SIZE];
};

static void bulk_start(struct bulk *b, struct baton_kube_request *req);

static void bulk_cb(struct baton_kube_request *req, int status)
{
	struct bulk *b = *(struct bulk **)&req->data;
	b->inflight--;
	if (status == 0) {
		b->ok++;
	} else {
		if (b->failed++ == 0) {
			memcpy(b->firsterr, req->errmsg, sizeof b->firsterr);
		}
	}
	bulk_start(b, req);
}

static void bulk_start(struct bulk *b, struct baton_kube_request *req)
{
	struct baton_kube_ref r = cm_ref(NULL);
	char name[32];
	json_t *obj;

	if (b->next >= NCM) {
		return;
	}
	snprintf(name, sizeof name, "cm-%05d", b->next++);
	obj = configmap(name, "i", name);
	req->data = b;
	ck_assert_int_eq(
	    baton_kube_create(&client, req, &r, obj, NULL, bulk_cb), 0);
	b->inflight++;
	json_decref(obj);
}

struct listed {
	bool done;
	int status;
	size_t n;
	json_t *list;
	char errmsg[BATON_ERRMSG_SIZE];
};

static void listed_cb(struct baton_kube_lister *l, int status, json_t *list)
{
	struct listed *x = l->data;
	x->done = true;
	x->status = status;
	x->n = json_array_size(json_object_get(list, "items"));
	x->list = json_incref(list);
	memcpy(x->errmsg, l->errmsg, sizeof x->errmsg);
}

START_TEST(list_paging_5000)
{
	static struct bulk b;
	struct baton_kube_lister l;
	struct listed x = {0};
	struct baton_kube_list_opts o = {0};
	struct baton_kube_ref r = cm_ref(NULL);
	struct baton_kube_request req;
	struct done d = {0};

	memset(&b, 0, sizeof b);
	for (int i = 0; i < CONCURRENCY; i++) {
		bulk_start(&b, &b.reqs[i]);
	}
	for (int i = 0; i < 10000000 && (b.inflight > 0); i++) {
		uv_run(&loop, UV_RUN_ONCE);
	}
	ck_assert_msg(b.failed == 0, "%d creates failed: %s", b.failed,
		      b.firsterr);
	ck_assert_int_eq(b.ok, NCM);

	l.data = &x;
	o.limit = 500;
	ck_assert_int_eq(baton_kube_list_all(&client, &l, &r, &o, 0, listed_cb),
			 0);
	for (int i = 0; i < 1000000 && !x.done; i++) {
		uv_run(&loop, UV_RUN_ONCE);
	}
	ck_assert_msg(x.status == 0, "%s", x.errmsg);
	/* kube-root-ca.crt is created by the controller-manager. */
	ck_assert_msg(x.n == NCM || x.n == NCM + 1, "listed %zu", x.n);
	json_decref(x.list);

	/* One page by hand: limit + continue are honoured. */
	o.limit = 7;
	req.data = &d;
	ck_assert_int_eq(baton_kube_list(&client, &req, &r, &o, done_cb), 0);
	ck_assert_msg(sync_req_status(&d) == 0, "%s", d.errmsg);
	ck_assert_uint_eq(json_array_size(json_object_get(d.result, "items")),
			  7);
	ck_assert_ptr_nonnull(json_string_value(json_object_get(
	    json_object_get(d.result, "metadata"), "continue")));
	json_decref(d.result);
}
END_TEST

/* ---- auth and TLS
 * ------------------------------------------------------------ */

START_TEST(token_kubeconfig_works)
{
	struct baton_kube_config lcfg;
	struct baton_kube_client lc;
	struct baton_kube_request req;
	struct done d = {0};
	struct baton_kube_ref r = {NULL, "v1", "configmaps", NULL, NULL, NULL};
	struct baton_kube_list_opts o = {0};

	open_client("BATON_KUBECONFIG_LIMITED", &lc, &lcfg);
	ck_assert_ptr_nonnull(lcfg.token);
	ck_assert_ptr_null(lcfg.cert);
	r.ns = lcfg.ns;
	o.limit = 1;
	req.data = &d;
	ck_assert_int_eq(baton_kube_list(&lc, &req, &r, &o, done_cb), 0);
	wait_done(&d);
	/* Authenticated: either allowed, or a 403 naming the SA user (never
	 * a 401). */
	ck_assert_msg(d.status == 0 ||
			  (d.status == BATON_EFORBIDDEN && d.http == 403),
		      "token auth failed: %s", d.errmsg);
	json_decref(d.result);
	close_client(&lc, &lcfg);
}
END_TEST

START_TEST(wrong_ca_fails_clearly)
{
	struct baton_kube_config bad;
	struct baton_kube_client bc;
	struct baton_kube_request req;
	struct done d = {0};
	struct baton_kube_ref r = {NULL, "v1",	    "namespaces",
				   NULL, "default", NULL};
	bool closed = false;
	/* A self-signed CA that did not sign the apiserver's certificate: use
	 * the client certificate itself as the trust anchor. */
	ck_assert_int_eq(baton_kube_config_copy(&bad, &cfg), 0);
	free(bad.ca);
	bad.ca = malloc(bad.cert_len + 1);
	memcpy(bad.ca, bad.cert, bad.cert_len);
	bad.ca_len = bad.cert_len;
	ck_assert_int_eq(baton_kube_client_init(&loop, &bc, &bad, NULL), 0);
	req.data = &d;
	ck_assert_int_eq(baton_kube_get(&bc, &req, &r, done_cb), 0);
	wait_done(&d);
	ck_assert_msg(d.status == BATON_ETLS, "got %s: %s",
		      baton_errname(d.status), d.errmsg);
	ck_assert_msg(strstr(d.errmsg, "certificate") != NULL ||
			  strstr(d.errmsg, "SSL") != NULL,
		      "unclear: %s", d.errmsg);
	bc.data = &closed;
	baton_kube_client_close(&bc, client_closed_cb);
	LOOP_RUN_UNTIL(&loop, closed);
	baton_kube_config_free(&bad);
}
END_TEST

START_TEST(close_cancels_inflight)
{
	struct baton_kube_config c2;
	struct baton_kube_client cl;
	struct baton_kube_request reqs[5];
	struct done d[5];
	struct baton_kube_ref r = {NULL, "v1", "namespaces", NULL, NULL, NULL};
	bool closed = false;

	memset(d, 0, sizeof d);
	open_client("BATON_KUBECONFIG", &cl, &c2);
	for (int i = 0; i < 5; i++) {
		reqs[i].data = &d[i];
		ck_assert_int_eq(
		    baton_kube_list(&cl, &reqs[i], &r, NULL, done_cb), 0);
	}
	cl.data = &closed;
	baton_kube_client_close(&cl, client_closed_cb);
	for (int i = 0; i < 5; i++) {
		ck_assert(d[i].done);
		ck_assert_int_eq(d[i].status, BATON_ECANCELED);
	}
	ck_assert_int_eq(baton_kube_list(&cl, &reqs[0], &r, NULL, done_cb),
			 BATON_ESHUTDOWN);
	LOOP_RUN_UNTIL(&loop, closed);
	baton_kube_config_free(&c2);
}
END_TEST

/* WATCH-TESTS */
static void add_watch_tests(TCase *tc)
{
	(void)tc;
}

static Suite *kube_suite(void)
{
	Suite *s = suite_create("itest_kube");
	TCase *tc = tcase_create("rest");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, configmap_crud);
	tcase_add_test(tc, ssa_conflict_without_force);
	tcase_add_test(tc, token_kubeconfig_works);
	tcase_add_test(tc, wrong_ca_fails_clearly);
	tcase_add_test(tc, close_cancels_inflight);
	tcase_add_test(tc, list_paging_5000);
	add_watch_tests(tc);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(kube_suite)
