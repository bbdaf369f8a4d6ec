/* Unit tests for the client's lifecycles without any server: requests to a
 * closed local port (connection refused), the rate limiter's queue, cancel
 * and close paths of client, watch, informer and leader election. Every
 * test ends with LOOP_TEARDOWN, so a leaked handle fails it, and ASan checks
 * the memory. (Behaviour against a real apiserver: itest_kube.c.) */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "http/server.h"
#include "support/ports.h"
#include "kube/informer.h"
#include "kube/leaderelection.h"
#include "kube/rest.h"
#include "kube/watch.h"

static uv_loop_t loop;
static struct baton_kube_client client;
static bool client_closed;

/* A port with nothing listening: bind, read the port, close. */
static void closed_cb(struct baton_kube_client *c)
{
	client_closed = true;
}

static void other_closed_cb(struct baton_kube_client *c)
{
	*(bool *)c->data = true;
}

static void setup_client(double qps, int burst)
{
	struct baton_kube_config cfg = {0};
	struct baton_kube_client_opts o = {0};
	char server[64];

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(server, sizeof server, "https://127.0.0.1:%d",
		 tst_closed_port());
	cfg.server = server;
	cfg.token = "secret";
	o.qps = qps;
	o.burst = burst;
	o.timeout_ms = 5000;
	client_closed = false;
	ck_assert_int_eq(baton_kube_client_init(&loop, &client, &cfg, &o), 0);
}

static void close_client(void)
{
	baton_kube_client_close(&client, closed_cb);
	LOOP_RUN_UNTIL(&loop, client_closed);
	LOOP_TEARDOWN(&loop);
}

struct res {
	int n;
	int status[8];
	uint64_t at[8];
	char errmsg[BATON_ERRMSG_SIZE];
};

static void res_cb(struct baton_kube_request *req, int status)
{
	struct res *r = req->data;
	r->status[r->n] = status;
	r->at[r->n] = uv_now(&loop);
	r->n++;
	memcpy(r->errmsg, req->errmsg, sizeof r->errmsg);
}

static const struct baton_kube_ref ns_ref = {NULL, "v1",      "namespaces",
					     NULL, "default", NULL};

START_TEST(connection_refused_is_econn)
{
	struct baton_kube_request req;
	struct res r = {0};

	setup_client(0, 0);
	req.data = &r;
	ck_assert_int_eq(baton_kube_get(&client, &req, &ns_ref, res_cb), 0);
	LOOP_RUN_UNTIL(&loop, r.n == 1);
	ck_assert_int_eq(r.status[0], BATON_ECONN);
	ck_assert_msg(strstr(r.errmsg, "onnect") != NULL, "%s", r.errmsg);
	close_client();
}
END_TEST

/* An exec plugin runs before the first request and not again while its
 * token is valid; a plugin that fails fails the request with its reason. */
static void exec_client(const char *script, const char *dir, int port)
{
	struct baton_kube_config cfg;
	struct baton_kube_client_opts o = {.timeout_ms = 5000};
	char path[256], kc[1024];
	const char *p = path;
	FILE *f;

	snprintf(path, sizeof path, "%s/plugin", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(script, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, 0700), 0);
	snprintf(kc, sizeof kc,
		 "current-context: x\n"
		 "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
		 "clusters: [{name: c, cluster: {server: "
		 "'%s://127.0.0.1:%d'}}]\n"
		 "users: [{name: u, user: {exec: {apiVersion: "
		 "client.authentication.k8s.io/v1, command: ./plugin}}}]\n",
		 port ? "http" : "https", port ? port : tst_closed_port());
	snprintf(path, sizeof path, "%s/config", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(kc, f);
	fclose(f);
	ck_assert_int_eq(baton_kube_config_load_files(&cfg, &p, 1, NULL,
						      BATON_KUBE_CONFIG_EXEC),
			 0);
	client_closed = false;
	ck_assert_int_eq(baton_kube_client_init(&loop, &client, &cfg, &o), 0);
	baton_kube_config_free(&cfg);
}

START_TEST(exec_plugin_before_requests)
{
	struct baton_kube_request reqs[2];
	struct res r = {0};
	char dir[] = "/tmp/kubeexecXXXXXX", runs[64], buf[16];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	exec_client(
	    "#!/bin/sh\necho x >> \"$(dirname \"$0\")/runs\"\n"
	    "echo '{\"apiVersion\": \"client.authentication.k8s.io/v1\","
	    " \"kind\": \"ExecCredential\", \"status\": {\"token\": "
	    "\"t\"}}'\n",
	    dir, 0);
	for (int i = 0; i < 2; i++) {
		reqs[i].data = &r;
		ck_assert_int_eq(
		    baton_kube_get(&client, &reqs[i], &ns_ref, res_cb), 0);
	}
	LOOP_RUN_UNTIL(&loop, r.n == 2);
	ck_assert_int_eq(r.status[0], BATON_ECONN);
	snprintf(runs, sizeof runs, "%s/runs", dir);
	f = fopen(runs, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq((int)fread(buf, 1, sizeof buf, f), 2); /* once */
	fclose(f);
	close_client();

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	exec_client("#!/bin/sh\necho 'please log in' >&2\nexit 1\n", dir, 0);
	ck_assert_int_eq(baton_kube_get(&client, &reqs[0], &ns_ref, res_cb),
			 BATON_EIO);
	ck_assert_msg(strstr(client.errmsg, "exited with status 1: please "
					    "log in") != NULL,
		      "%s", client.errmsg);
	close_client();
}
END_TEST

/* A 401 makes the plugin run again before the next request (its token
 * may have been revoked before it expired), as client-go does. */
static int unauthorized_left;

static void maybe_401_cb(struct baton_http_request *req, void *data)
{
	if (unauthorized_left > 0) {
		unauthorized_left--;
		baton_http_respond_error(req, 401, "Unauthorized");
		return;
	}
	baton_http_respond(req, 200, "application/json", "{}", 2, NULL);
}

static bool http_closed;

static void http_closed_cb(struct baton_http_server *srv)
{
	http_closed = true;
}

START_TEST(exec_plugin_again_after_401)
{
	struct baton_http_server srv;
	struct baton_http_config hc = {0};
	struct baton_kube_request req;
	struct res r = {0};
	char dir[] = "/tmp/kubeexecXXXXXX", runs[64], buf[16];
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(baton_http_server_init(&loop, &srv, &hc), 0);
	ck_assert_int_eq(baton_http_route(&srv, "GET",
					  "/api/v1/namespaces/default",
					  maybe_401_cb, NULL),
			 0);
	ck_assert_int_eq(baton_http_server_listen(&srv, "127.0.0.1", 0), 0);
	exec_client(
	    "#!/bin/sh\necho x >> \"$(dirname \"$0\")/runs\"\n"
	    "echo '{\"apiVersion\": \"client.authentication.k8s.io/v1\","
	    " \"kind\": \"ExecCredential\", \"status\": {\"token\": "
	    "\"t\", \"expirationTimestamp\": \"2999-01-01T00:00:00Z\"}}'"
	    "\n",
	    dir, baton_http_server_port(&srv));
	unauthorized_left = 1;
	for (int i = 0; i < 3; i++) {
		req.data = &r;
		ck_assert_int_eq(baton_kube_get(&client, &req, &ns_ref, res_cb),
				 0);
		LOOP_RUN_UNTIL(&loop, r.n == i + 1);
	}
	ck_assert_int_eq(r.status[0], BATON_EFORBIDDEN);
	ck_assert_int_eq(r.status[1], 0);
	ck_assert_int_eq(r.status[2], 0);
	/* run for the first request, again after the 401, not for the third
	 * (its token is valid for centuries) */
	snprintf(runs, sizeof runs, "%s/runs", dir);
	f = fopen(runs, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq((int)fread(buf, 1, sizeof buf, f), 4);
	fclose(f);
	http_closed = false;
	baton_http_server_close(&srv, http_closed_cb);
	LOOP_RUN_UNTIL(&loop, http_closed);
	close_client();
}
END_TEST

START_TEST(limiter_spaces_requests)
{
	struct baton_kube_request reqs[3];
	struct res r = {0};
	uint64_t t0;

	setup_client(10, 1); /* one token, then one per 100 ms */
	t0 = uv_now(&loop);
	for (int i = 0; i < 3; i++) {
		reqs[i].data = &r;
		ck_assert_int_eq(
		    baton_kube_get(&client, &reqs[i], &ns_ref, res_cb), 0);
	}
	LOOP_RUN_UNTIL(&loop, r.n == 3);
	ck_assert_uint_ge(r.at[2] - t0, 190);
	close_client();
}
END_TEST

START_TEST(close_cancels_waiting_and_running)
{
	struct baton_kube_request reqs[4];
	struct res r = {0};

	setup_client(1, 1); /* one runs, three wait for tokens */
	for (int i = 0; i < 4; i++) {
		reqs[i].data = &r;
		ck_assert_int_eq(
		    baton_kube_get(&client, &reqs[i], &ns_ref, res_cb), 0);
	}
	baton_kube_client_close(&client, closed_cb);
	ck_assert_int_eq(r.n, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(r.status[i], BATON_ECANCELED);
	}
	ck_assert_int_eq(baton_kube_get(&client, &reqs[0], &ns_ref, res_cb),
			 BATON_ESHUTDOWN);
	LOOP_RUN_UNTIL(&loop, client_closed);
	LOOP_TEARDOWN(&loop);
}
END_TEST

START_TEST(cancel_one_request)
{
	struct baton_kube_request a, b;
	struct res ra = {0}, rb = {0};

	setup_client(0, 0);
	a.data = &ra;
	b.data = &rb;
	ck_assert_int_eq(baton_kube_get(&client, &a, &ns_ref, res_cb), 0);
	ck_assert_int_eq(baton_kube_get(&client, &b, &ns_ref, res_cb), 0);
	baton_kube_request_cancel(&a);
	ck_assert_int_eq(ra.n, 1);
	ck_assert_int_eq(ra.status[0], BATON_ECANCELED);
	baton_kube_request_cancel(&a); /* no-op once completed */
	ck_assert_int_eq(ra.n, 1);
	LOOP_RUN_UNTIL(&loop, rb.n == 1);
	ck_assert_int_eq(rb.status[0], BATON_ECONN);
	close_client();
}
END_TEST

static bool wclosed;
static int wrestarts;
static struct baton_kube_client *wrestart_client;

static void wrestart_cb(struct baton_kube_client *c, void *arg)
{
	ck_assert_ptr_eq(arg, &wrestarts);
	wrestart_client = c;
	wrestarts++;
}

static void wev_cb(struct baton_kube_watch *w, int type, json_t *obj)
{
}

static void wgone_cb(struct baton_kube_watch *w)
{
}

static void wclose_cb(struct baton_kube_watch *w)
{
	wclosed = true;
}

START_TEST(watch_retries_then_closes)
{
	struct baton_kube_watch w;
	struct baton_kube_ref ref = {NULL, "v1", "pods", "ns", NULL, NULL};

	/* the loop's clients report every reopened stream (batond's
	 * baton_watch_restarts_total); a loop is known by its address */
	ck_assert_int_eq(
	    baton_kube_observe_watch_restarts(&loop, wrestart_cb, &wrestarts),
	    0);
	setup_client(0, 0);
	wclosed = false;
	wrestarts = 0;
	w.data = NULL;
	ck_assert_int_eq(
	    baton_kube_watch_init(&client, &w, &ref, NULL, wev_cb, wgone_cb),
	    0);
	ck_assert_int_eq(baton_kube_watch_start(&w, "42"), 0);
	/* Refused, backoff ≥ 800 ms, refused again. */
	LOOP_RUN_UNTIL(&loop, w.restarts >= 2);
	ck_assert_str_eq(w.rv, "42"); /* kept for the resume */
	ck_assert(w.errmsg[0] != '\0');
	/* the first stream is no restart */
	ck_assert_int_eq(wrestarts, (int)w.restarts - 1);
	ck_assert_ptr_eq(wrestart_client, &client);
	baton_kube_watch_close(&w, wclose_cb);
	LOOP_RUN_UNTIL(&loop, wclosed);
	close_client();
	ck_assert_int_eq(baton_kube_observe_watch_restarts(&loop, NULL, NULL),
			 0);
}
END_TEST

static bool iclosed;

static void iclose_cb(struct baton_kube_informer *inf)
{
	iclosed = true;
}

START_TEST(informer_close_before_sync)
{
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts o = {0};
	struct baton_kube_informer_handlers h = {0};

	setup_client(0, 0);
	iclosed = false;
	o.version = "v1";
	o.resource = "configmaps";
	o.resync_ms = 10;
	inf.data = NULL;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h), 0);
	ck_assert_int_eq(baton_kube_informer_start(&inf), 0);
	/* The LIST fails (refused) and is retried after a backoff. */
	LOOP_RUN_UNTIL(&loop, inf.errmsg[0] != '\0');
	ck_assert(!baton_kube_informer_has_synced(&inf));
	baton_kube_informer_close(&inf, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	close_client();
}
END_TEST

/* An informer over a list of namespaces: one LIST per namespace, and the
 * namespace in the error the owner shows (a Forbidden in one namespace is
 * what an operator must see). */
START_TEST(sharded_informer_names_the_failing_namespace)
{
	static const char *const nss[] = {"team-a", "team-b", NULL};
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts o = {0};
	struct baton_kube_informer_handlers h = {0};

	setup_client(0, 0);
	iclosed = false;
	o.version = "v1";
	o.resource = "configmaps";
	o.namespaces = nss;
	inf.data = NULL;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h), 0);
	ck_assert_ptr_nonnull(inf.shards);
	ck_assert_int_eq(baton_kube_informer_start(&inf), 0);
	LOOP_RUN_UNTIL(&loop, inf.errmsg[0] != '\0');
	ck_assert_msg(strncmp(inf.errmsg, "namespace team-", 15) == 0, "%s",
		      inf.errmsg);
	ck_assert(!baton_kube_informer_has_synced(&inf));
	ck_assert_int_eq(baton_kube_informer_replace(&inf, NULL), BATON_EINVAL);
	baton_kube_informer_close(&inf, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	ck_assert_ptr_null(inf.cache);
	close_client();
}
END_TEST

START_TEST(sharded_informer_close_while_listing)
{
	static const char *const nss[] = {"a", "b", "c", NULL};
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts o = {0};
	struct baton_kube_informer_handlers h = {0};

	setup_client(0, 0);
	iclosed = false;
	o.version = "v1";
	o.resource = "pods";
	o.namespaces = nss;
	inf.data = NULL;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h), 0);
	ck_assert_int_eq(baton_kube_informer_start(&inf), 0);
	baton_kube_informer_close(&inf, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	close_client();
}
END_TEST

/* A namespace listed twice or empty, or ns beside namespaces, is refused
 * before anything starts (nothing to close). An empty list is no list. */
START_TEST(sharded_informer_refuses_bad_lists)
{
	static const char *const twice[] = {"a", "b", "a", NULL};
	static const char *const empty[] = {"a", "", NULL};
	static const char *const none[] = {NULL};
	static const char *const one[] = {"a", NULL};
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts o = {0};
	struct baton_kube_informer_handlers h = {0};

	setup_client(0, 0);
	o.version = "v1";
	o.resource = "pods";
	o.namespaces = twice;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h),
			 BATON_EINVAL);
	ck_assert_str_eq(inf.errmsg, "informer: namespace a listed twice");
	o.namespaces = empty;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h),
			 BATON_EINVAL);
	o.namespaces = one;
	o.ns = "b";
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h),
			 BATON_EINVAL);
	/* no namespace listed: the ordinary informer */
	o.ns = NULL;
	o.namespaces = none;
	iclosed = false;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h), 0);
	ck_assert_ptr_null(inf.shards);
	baton_kube_informer_close(&inf, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	close_client();
}
END_TEST

START_TEST(informer_close_while_listing)
{
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts o = {0};
	struct baton_kube_informer_handlers h = {0};

	setup_client(0, 0);
	iclosed = false;
	o.version = "v1";
	o.resource = "configmaps";
	inf.data = NULL;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h), 0);
	ck_assert_int_eq(baton_kube_informer_start(&inf), 0);
	baton_kube_informer_close(&inf, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	close_client();
}
END_TEST

/* The relist diff: handlers see each final state exactly once. */
struct diffseen {
	char log[1024];
};

static void log_ev(struct baton_kube_informer *inf, const char *what,
		   json_t *obj)
{
	struct diffseen *d = inf->data;
	json_t *m = json_object_get(obj, "metadata");
	size_t n = strlen(d->log);
	snprintf(d->log + n, sizeof d->log - n, "%s:%s@%s ", what,
		 json_string_value(json_object_get(m, "name")),
		 json_string_value(json_object_get(m, "resourceVersion")));
}

static void d_add(struct baton_kube_informer *inf, json_t *o)
{
	log_ev(inf, "add", o);
}

static void d_update(struct baton_kube_informer *inf, json_t *o, json_t *n)
{
	log_ev(inf, "upd", n);
}

static void d_delete(struct baton_kube_informer *inf, json_t *o)
{
	log_ev(inf, "del", o);
}

static json_t *items(const char *spec)
{
	/* "a@1 b@2" → [{metadata:{namespace:ns,name:a,resourceVersion:1}}..] */
	json_t *arr = json_array();
	char buf[256], *save = NULL, *tok;
	snprintf(buf, sizeof buf, "%s", spec);
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		char *at = strchr(tok, '@');
		*at = '\0';
		json_array_append_new(arr,
				      json_pack("{s:{s:s,s:s,s:s}}", "metadata",
						"namespace", "ns", "name", tok,
						"resourceVersion", at + 1));
	}
	return arr;
}

START_TEST(informer_relist_diff)
{
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts o = {0};
	struct baton_kube_informer_handlers h = {d_add, d_update, d_delete};
	struct diffseen d = {0};
	json_t *list;

	setup_client(0, 0);
	iclosed = false;
	o.version = "v1";
	o.resource = "configmaps";
	inf.data = &d;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h), 0);
	list = items("a@1 b@1 c@1");
	ck_assert_int_eq(baton_kube_informer_replace(&inf, list), 0);
	json_decref(list);
	ck_assert_str_eq(d.log, "add:a@1 add:b@1 add:c@1 ");
	/* a unchanged, b modified, c deleted, d new. */
	d.log[0] = '\0';
	list = items("a@1 b@5 d@6");
	ck_assert_int_eq(baton_kube_informer_replace(&inf, list), 0);
	json_decref(list);
	ck_assert_str_eq(d.log, "upd:b@5 add:d@6 del:c@1 ");
	ck_assert_ptr_nonnull(baton_kube_informer_get(&inf, "ns/d"));
	ck_assert_ptr_null(baton_kube_informer_get(&inf, "ns/c"));
	ck_assert_uint_eq(json_object_size(inf.cache), 3);
	/* The same list again: nothing to tell. */
	d.log[0] = '\0';
	list = items("a@1 b@5 d@6");
	ck_assert_int_eq(baton_kube_informer_replace(&inf, list), 0);
	json_decref(list);
	ck_assert_str_eq(d.log, "");
	baton_kube_informer_close(&inf, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	close_client();
}
END_TEST

/* The cache keeps no managedFields unless asked to (informer.h). */
START_TEST(informer_drops_managed_fields)
{
	struct baton_kube_informer inf, keep;
	struct baton_kube_informer_opts o = {0};
	struct baton_kube_informer_handlers h = {d_add, d_update, d_delete};
	struct diffseen d = {0}, dk = {0};
	json_t *list, *md;

	setup_client(0, 0);
	o.version = "v1";
	o.resource = "configmaps";
	inf.data = &d;
	keep.data = &dk;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h), 0);
	o.keep_managed_fields = true;
	ck_assert_int_eq(baton_kube_informer_init(&client, &keep, &o, &h), 0);
	list =
	    json_pack("[{s:{s:s, s:s, s:s, s:{s:s}, s:[{s:s}]}}]", "metadata",
		      "namespace", "ns", "name", "a", "resourceVersion", "1",
		      "labels", "l", "v", "managedFields", "manager", "batond");
	ck_assert_int_eq(baton_kube_informer_replace(&keep, list), 0);
	md =
	    json_object_get(baton_kube_informer_get(&keep, "ns/a"), "metadata");
	ck_assert_ptr_nonnull(json_object_get(md, "managedFields"));
	json_decref(list);
	list =
	    json_pack("[{s:{s:s, s:s, s:s, s:{s:s}, s:[{s:s}]}}]", "metadata",
		      "namespace", "ns", "name", "a", "resourceVersion", "1",
		      "labels", "l", "v", "managedFields", "manager", "batond");
	ck_assert_int_eq(baton_kube_informer_replace(&inf, list), 0);
	json_decref(list);
	ck_assert_str_eq(d.log, "add:a@1 ");
	md = json_object_get(baton_kube_informer_get(&inf, "ns/a"), "metadata");
	ck_assert_ptr_null(json_object_get(md, "managedFields"));
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(md, "labels"), "l")),
			 "v");
	iclosed = false;
	baton_kube_informer_close(&inf, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	iclosed = false;
	baton_kube_informer_close(&keep, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	close_client();
}
END_TEST

/* opts.transform (client-go's SetTransform): what the cache and the
 * handlers get is the transformed object, once per object. */
static int transformed;

static void drop_data(json_t *obj)
{
	transformed++;
	json_object_del(obj, "data");
}

START_TEST(informer_transform)
{
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts o = {0};
	struct baton_kube_informer_handlers h = {d_add, d_update, d_delete};
	struct diffseen d = {0};
	json_t *list, *obj;

	setup_client(0, 0);
	transformed = 0;
	o.version = "v1";
	o.resource = "configmaps";
	o.transform = drop_data;
	inf.data = &d;
	ck_assert_int_eq(baton_kube_informer_init(&client, &inf, &o, &h), 0);
	list = json_pack("[{s:{s:s, s:s, s:s}, s:{s:s}}]", "metadata",
			 "namespace", "ns", "name", "a", "resourceVersion", "1",
			 "data", "k", "v");
	ck_assert_int_eq(baton_kube_informer_replace(&inf, list), 0);
	json_decref(list);
	ck_assert_str_eq(d.log, "add:a@1 ");
	ck_assert_int_eq(transformed, 1);
	obj = baton_kube_informer_get(&inf, "ns/a");
	ck_assert_ptr_nonnull(obj);
	ck_assert_ptr_null(json_object_get(obj, "data"));
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(obj, "metadata"), "name")),
			 "a");
	iclosed = false;
	baton_kube_informer_close(&inf, iclose_cb);
	LOOP_RUN_UNTIL(&loop, iclosed);
	close_client();
}
END_TEST

static bool lclosed;

static void lclose_cb(struct baton_kube_leader *le)
{
	lclosed = true;
}

START_TEST(leader_close_in_flight)
{
	struct baton_kube_leader le = {0};
	struct baton_kube_leader_opts o = {0};

	setup_client(0, 0);
	lclosed = false;
	o.ns = "ns";
	o.name = "lock";
	o.identity = "me";
	o.release_on_cancel = true;
	ck_assert_int_eq(baton_kube_leader_init(&client, &le, &o), 0);
	ck_assert_int_eq(baton_kube_leader_start(&le), 0);
	baton_kube_leader_close(&le, lclose_cb);
	LOOP_RUN_UNTIL(&loop, lclosed);
	ck_assert(!le.leading);
	close_client();
}
END_TEST

/* ---- request reports (batond's baton_kube_requests_total) ---- */

static const struct {
	const char *method, *path, *ctype;
	bool streamed;
	enum baton_kube_verb verb;
} verbs[] = {
    {"GET", "/api/v1/namespaces/ns/configmaps", NULL, false,
     BATON_KUBE_VERB_LIST},
    {"GET", "/api/v1/namespaces/ns/configmaps?limit=500&continue=x", NULL,
     false, BATON_KUBE_VERB_LIST},
    {"GET", "/api/v1/configmaps?labelSelector=watch%3Dtrue", NULL, false,
     BATON_KUBE_VERB_LIST},
    {"GET", "/api/v1/namespaces/ns/configmaps/a", NULL, false,
     BATON_KUBE_VERB_GET},
    {"GET", "/api/v1/namespaces/ns/pods/p/log", NULL, false,
     BATON_KUBE_VERB_GET},
    /* the namespaces resource itself, and a namespace's own subresource */
    {"GET", "/api/v1/namespaces", NULL, false, BATON_KUBE_VERB_LIST},
    {"GET", "/api/v1/namespaces/ns", NULL, false, BATON_KUBE_VERB_GET},
    {"GET", "/api/v1/namespaces/ns/status", NULL, false, BATON_KUBE_VERB_GET},
    {"GET", "/apis/baton.dev/v1alpha1/databaseclusters", NULL, false,
     BATON_KUBE_VERB_LIST},
    {"GET", "/apis/baton.dev/v1alpha1/namespaces/ns/databaseclusters/db", NULL,
     false, BATON_KUBE_VERB_GET},
    {"GET", "/apis/baton.dev/v1alpha1/namespaces/ns/databaseclusters/db/status",
     NULL, false, BATON_KUBE_VERB_GET},
    {"GET", "/api/v1/pods?watch=true&resourceVersion=7", NULL, false,
     BATON_KUBE_VERB_WATCH},
    {"GET", "/api/v1/pods?allowWatchBookmarks=true&watch=1", NULL, false,
     BATON_KUBE_VERB_WATCH},
    {"GET", "/api/v1/pods?nowatch=true", NULL, false, BATON_KUBE_VERB_LIST},
    {"GET", "/api/v1/pods", NULL, true, BATON_KUBE_VERB_WATCH},
    /* discovery, non-resource paths and absolute URLs are no LISTs */
    {"GET", "/api", NULL, false, BATON_KUBE_VERB_GET},
    {"GET", "/api/v1", NULL, false, BATON_KUBE_VERB_GET},
    {"GET", "/apis/apps/v1", NULL, false, BATON_KUBE_VERB_GET},
    {"GET", "/version", NULL, false, BATON_KUBE_VERB_GET},
    {"GET", "https://10.0.0.9:7102/v1/agents", NULL, false,
     BATON_KUBE_VERB_GET},
    {"POST", "/api/v1/namespaces/ns/configmaps", "application/json", false,
     BATON_KUBE_VERB_POST},
    {"PUT", "/api/v1/namespaces/ns/configmaps/a", "application/json", false,
     BATON_KUBE_VERB_PUT},
    {"DELETE", "/api/v1/namespaces/ns/configmaps/a", NULL, false,
     BATON_KUBE_VERB_DELETE},
    {"PATCH", "/api/v1/namespaces/ns/configmaps/a",
     "application/merge-patch+json", false, BATON_KUBE_VERB_PATCH},
    {"PATCH", "/api/v1/namespaces/ns/configmaps/a",
     "application/strategic-merge-patch+json", false, BATON_KUBE_VERB_PATCH},
    {"PATCH", "/api/v1/namespaces/ns/configmaps/a",
     "application/apply-patch+yaml", false, BATON_KUBE_VERB_APPLY},
    {"HEAD", "/api/v1/namespaces/ns/configmaps/a", NULL, false,
     BATON_KUBE_VERB_OTHER},
};

START_TEST(verbs_as_kube_apiserver_names_them)
{
	enum baton_kube_verb v =
	    baton_kube_verb_of(verbs[_i].method, verbs[_i].path,
			       verbs[_i].ctype, verbs[_i].streamed);
	ck_assert_msg(
	    v == verbs[_i].verb, "%s %s%s: %s, want %s", verbs[_i].method,
	    verbs[_i].path, verbs[_i].streamed ? " (streamed)" : "",
	    baton_kube_verb_name(v), baton_kube_verb_name(verbs[_i].verb));
}
END_TEST

START_TEST(verb_names_are_distinct)
{
	for (int i = 0; i < BATON_KUBE_N_VERBS; i++) {
		const char *a = baton_kube_verb_name((enum baton_kube_verb)i);
		ck_assert_ptr_nonnull(a);
		for (int j = 0; j < i; j++) {
			ck_assert_str_ne(
			    a, baton_kube_verb_name((enum baton_kube_verb)j));
		}
	}
	ck_assert_str_eq(baton_kube_verb_name(BATON_KUBE_N_VERBS), "OTHER");
}
END_TEST

static struct {
	int n;
	struct baton_kube_request_report r[8];
	struct baton_kube_client *c[8];
} reports;

static void report_cb(struct baton_kube_client *c,
		      const struct baton_kube_request_report *r, void *arg)
{
	ck_assert_ptr_eq(arg, &reports);
	if (reports.n < 8) {
		reports.r[reports.n] = *r;
		reports.c[reports.n] = c;
	}
	reports.n++;
}

/* A transport failure is reported as code 0 with the request's verb, once
 * per attempt; a request cancelled before it was sent is not reported; a
 * client initialised after the loop stopped being observed reports
 * nothing. (Answers with HTTP codes, 429s and watches: itest_kube.c
 * against a real kube-apiserver.) */
START_TEST(transport_failures_are_reported)
{
	struct baton_kube_request a, b, w, later;
	struct res ra = {0}, rb = {0}, rw = {0}, rl = {0};
	struct baton_kube_list_opts lo = {.limit = 10};
	struct baton_kube_client other;
	struct baton_kube_config cfg = {0};
	int gets = 0, lists = 0;

	memset(&reports, 0, sizeof reports);
	ck_assert_int_eq(
	    baton_kube_observe_requests(&loop, report_cb, &reports), 0);
	setup_client(1, 2); /* a and b go now, w waits a second */
	a.data = &ra;
	b.data = &rb;
	w.data = &rw;
	ck_assert_int_eq(baton_kube_get(&client, &a, &ns_ref, res_cb), 0);
	ck_assert_int_eq(baton_kube_list(&client, &b, &ns_ref, &lo, res_cb), 0);
	ck_assert_int_eq(baton_kube_get(&client, &w, &ns_ref, res_cb), 0);
	baton_kube_request_cancel(&w);
	ck_assert_int_eq(rw.n, 1);
	ck_assert_int_eq(rw.status[0], BATON_ECANCELED);
	LOOP_RUN_UNTIL(&loop, ra.n == 1 && rb.n == 1);
	ck_assert_int_eq(ra.status[0], BATON_ECONN);
	ck_assert_int_eq(rb.status[0], BATON_ECONN);
	ck_assert_int_eq(reports.n, 2);
	for (int i = 0; i < 2; i++) {
		ck_assert_ptr_eq(reports.c[i], &client);
		ck_assert_int_eq(reports.r[i].code, 0);
		ck_assert(reports.r[i].seconds >= 0);
		gets += reports.r[i].verb == BATON_KUBE_VERB_GET;
		lists += reports.r[i].verb == BATON_KUBE_VERB_LIST;
	}
	ck_assert_int_eq(gets, 1);
	ck_assert_int_eq(lists, 1);

	/* stop observing: a new client on the loop does not report */
	ck_assert_int_eq(baton_kube_observe_requests(&loop, NULL, NULL), 0);
	cfg.server = client.cfg.server;
	ck_assert_int_eq(baton_kube_client_init(&loop, &other, &cfg, NULL), 0);
	later.data = &rl;
	ck_assert_int_eq(baton_kube_get(&other, &later, &ns_ref, res_cb), 0);
	LOOP_RUN_UNTIL(&loop, rl.n == 1);
	ck_assert_int_eq(rl.status[0], BATON_ECONN);
	ck_assert_int_eq(reports.n, 2);
	{
		bool closed = false;
		other.data = &closed;
		baton_kube_client_close(&other, other_closed_cb);
		LOOP_RUN_UNTIL(&loop, closed);
	}
	close_client();
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("kube_client");
	TCase *tc = tcase_create("lifecycle");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, connection_refused_is_econn);
	tcase_add_test(tc, exec_plugin_before_requests);
	tcase_add_test(tc, exec_plugin_again_after_401);
	tcase_add_test(tc, limiter_spaces_requests);
	tcase_add_test(tc, close_cancels_waiting_and_running);
	tcase_add_test(tc, cancel_one_request);
	tcase_add_test(tc, watch_retries_then_closes);
	tcase_add_test(tc, informer_close_before_sync);
	tcase_add_test(tc, informer_close_while_listing);
	tcase_add_test(tc, sharded_informer_names_the_failing_namespace);
	tcase_add_test(tc, sharded_informer_close_while_listing);
	tcase_add_test(tc, sharded_informer_refuses_bad_lists);
	tcase_add_test(tc, leader_close_in_flight);
	tcase_add_test(tc, informer_relist_diff);
	tcase_add_test(tc, informer_drops_managed_fields);
	tcase_add_test(tc, informer_transform);
	tcase_add_loop_test(tc, verbs_as_kube_apiserver_names_them, 0,
			    (int)(sizeof verbs / sizeof verbs[0]));
	tcase_add_test(tc, verb_names_are_distinct);
	tcase_add_test(tc, transport_failures_are_reported);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(client_suite)
