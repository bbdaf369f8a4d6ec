/* Integration tests for the agent's init order against real PostgreSQL:
 * every pod of a region runs the same flags (no --init), so a fresh agent
 * waits for batond to say what it becomes. Two agents run in-process on
 * the test's loop; a client thread calls their HTTP API with libcurl, as
 * batond would, and probes the databases directly.
 *
 *  - boot on an empty data directory: not ready, "initialized": false,
 *    role "none"; other orders are refused (409);
 *  - malformed init orders get 400; a second init while one runs gets 503;
 *  - init primary -> ready and fenced; a repeated init is a 200 no-op, an
 *    init of the other role 409 (nothing is ever re-initialised);
 *  - init replica from an unreachable primary -> 500, still waiting, data
 *    directory empty again; the retry against the real primary succeeds;
 *  - synchronous mode with --sync-names naming every instance (itself and
 *    one that does not exist): the primary lists the replica in
 *    syncStandbys, the replica's position advances with the primary's
 *    writes while the primary holds a lease;
 *  - a grant on a replica changes nothing; a promote at the same epoch on
 *    a primary is a 200 no-op and leaves it writable under its lease
 *    (batond's grants come from a scripted stand-in,
 *    tests/unit/support/lease_answerer.h).
 * A second test drives the engine over an unfinished init's leftovers. A
 * third runs the baton-agent binary itself, the way a pod does, and looks
 * for the replication password where any process of the pod could read
 * it: the agent's and its server's /proc/<pid>/environ and cmdline.
 */
#include <curl/curl.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "../unit/support/pg_cluster.h"
#include "../unit/support/lease_answerer.h"
#include "agent/agent.h"
#include "common/log.h"

struct resp {
	long status;
	char body[8192];
	size_t len;
};

static size_t sink(char *p, size_t sz, size_t nm, void *ud)
{
	struct resp *r = ud;
	size_t n = sz * nm;
	size_t k =
	    n < sizeof r->body - 1 - r->len ? n : sizeof r->body - 1 - r->len;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->body[r->len] = '\0';
	return n;
}

static void call(int port, const char *method, const char *path,
		 const char *body, struct resp *r)
{
	CURL *h = curl_easy_init();
	char url[128];
	struct curl_slist *hdr =
	    curl_slist_append(NULL, "Content-Type: application/json");

	memset(r, 0, sizeof *r);
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 90000L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
}

static void order(int port, struct resp *r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void order(int port, struct resp *r, const char *fmt, ...)
{
	char body[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	call(port, "POST", "/v1/order", body, r);
}

/* ---- two agents on one loop ---------------------------------------------- */

struct fx {
	uv_loop_t loop;
	uv_async_t wake;
	struct pgt_node n[2];
	struct lease_answerer b;
	struct baton_agent agent[2];
	int port[2];
	int closed;
	atomic_int done;
	char fail[1024]; /* the client thread's first failed check */
};

static void wake_cb(uv_async_t *h)
{
	(void)h;
}

static void agent_closed_cb(struct baton_agent *a)
{
	struct fx *f = a->data;
	f->closed++;
}

static void start_agents(struct fx *f)
{
	lease_answerer_start(&f->loop, &f->b);
	for (int i = 0; i < 2; i++) {
		struct baton_agent_config cfg = {
		    .pod_name = f->n[i].name,
		    .pod_namespace = "db",
		    .region = "eu",
		    .listen_host = "127.0.0.1",
		    .lease_margin_ms = 100,
		    .status_interval_ms = 100,
		    .batond_url = f->b.url,
		};
		ck_assert_int_eq(
		    baton_agent_init(&f->loop, &f->agent[i], &cfg, &f->n[i].e),
		    0);
		f->agent[i].data = f;
		f->port[i] = baton_agent_port(&f->agent[i]);
	}
	LOOP_RUN_UNTIL(&f->loop, !f->agent[0].booting && !f->agent[1].booting);
}

static void stop_agents(struct fx *f)
{
	baton_agent_close(&f->agent[0], agent_closed_cb);
	baton_agent_close(&f->agent[1], agent_closed_cb);
	uv_close((uv_handle_t *)&f->wake, NULL);
	LOOP_RUN_UNTIL(&f->loop, f->closed == 2);
	lease_answerer_stop(&f->loop, &f->b);
	LOOP_TEARDOWN(&f->loop);
}

static void run_client(struct fx *f, void *(*fn)(void *))
{
	pthread_t th;
	atomic_store(&f->done, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, fn, f), 0);
	LOOP_RUN_UNTIL(&f->loop, atomic_load(&f->done));
	pthread_join(th, NULL);
	ck_assert_msg(f->fail[0] == '\0', "%s", f->fail);
}

static void record_fail(struct fx *f, int line, const char *cond,
			const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void record_fail(struct fx *f, int line, const char *cond,
			const char *fmt, ...)
{
	int n = snprintf(f->fail, sizeof f->fail, "line %d: %s: ", line, cond);
	va_list ap;

	if (n > 0 && (size_t)n < sizeof f->fail) {
		va_start(ap, fmt);
		vsnprintf(f->fail + n, sizeof f->fail - (size_t)n, fmt, ap);
		va_end(ap);
	}
}

/* Checks in the client thread record the first failure and end the
 * thread; the test asserts on the loop's thread (run_client). */
#define EXPECT(f, cond, ...)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                 \
			record_fail((f), __LINE__, #cond, __VA_ARGS__);        \
			goto out;                                              \
		}                                                              \
	} while (0)

/* One field of a JSON body (a copy: the caller decrefs). */
static json_t *field(const struct resp *r, const char *key)
{
	json_t *o = json_loads(r->body, 0, NULL);
	json_t *v = json_incref(json_object_get(o, key));
	json_decref(o);
	return v;
}

static bool is_true(const struct resp *r, const char *key)
{
	json_t *v = field(r, key);
	bool t = json_is_true(v);
	json_decref(v);
	return t;
}

static bool is_false(const struct resp *r, const char *key)
{
	json_t *v = field(r, key);
	bool t = json_is_false(v);
	json_decref(v);
	return t;
}

static bool str_is(const struct resp *r, const char *key, const char *want)
{
	json_t *v = field(r, key);
	bool eq = json_is_string(v) && strcmp(json_string_value(v), want) == 0;
	json_decref(v);
	return eq;
}

static long long num(const struct resp *r, const char *key)
{
	json_t *v = field(r, key);
	long long n = json_is_integer(v) ? json_integer_value(v) : -1;
	json_decref(v);
	return n;
}

static bool lists(const struct resp *r, const char *key, const char *name)
{
	json_t *v = field(r, key);
	size_t i;
	json_t *e;
	bool found = false;
	json_array_foreach(v, i, e)
	{
		found = found || strcmp(json_string_value(e), name) == 0;
	}
	json_decref(v);
	return found;
}

static bool can_write(struct pgt_node *n)
{
	char err[256];
	return pgt_exec(n,
			"CREATE TABLE IF NOT EXISTS w (x int);"
			"INSERT INTO w VALUES (1)",
			NULL, 0, err, sizeof err) == 0;
}

/* Polls GET /v1/status until COND(r) holds or 30 s pass. */
#define WAIT_STATUS(f, i, r, cond)                                             \
	do {                                                                   \
		double _end = pgt_now_ms() + 30000;                            \
		do {                                                           \
			call((f)->port[i], "GET", "/v1/status", NULL, (r));    \
			if (cond) {                                            \
				break;                                         \
			}                                                      \
			usleep(20000);                                         \
		} while (pgt_now_ms() < _end);                                 \
		EXPECT(f, cond, "status: %s", (r)->body);                      \
	} while (0)

struct bg_order {
	int port;
	const char *body;
	struct resp r;
};

static void *bg_order_thread(void *arg)
{
	struct bg_order *b = arg;
	call(b->port, "POST", "/v1/order", b->body, &b->r);
	return NULL;
}

/* ---- the init story ------------------------------------------------------ */

static void *init_client(void *arg)
{
	struct fx *f = arg;
	const int A = 0, B = 1;
	struct resp r, r2;
	struct bg_order first = {0};
	pthread_t th;
	bool th_running = false;
	long long pos0, pos;
	char out[128];

	/* 1. booted on an empty data directory: waiting, not ready */
	call(f->port[A], "GET", "/readyz", NULL, &r);
	EXPECT(f, r.status == 503, "%ld", r.status);
	EXPECT(f, strstr(r.body, "waiting for an init order from batond"), "%s",
	       r.body);
	call(f->port[A], "GET", "/v1/status", NULL, &r);
	EXPECT(f, r.status == 200, "%ld", r.status);
	EXPECT(f, is_false(&r, "initialized"), "%s", r.body);
	EXPECT(f, str_is(&r, "role", "none"), "%s", r.body);
	EXPECT(f, !is_true(&r, "ready") && !is_true(&r, "writable"), "%s",
	       r.body);
	EXPECT(f, str_is(&r, "name", "a"), "%s", r.body);
	EXPECT(f, str_is(&r, "health", "ok"), "%s", r.body);
	order(f->port[A], &r, "{\"action\":\"promote\",\"epoch\":1}");
	EXPECT(f, r.status == 409 && strstr(r.body, "init"), "%ld %s", r.status,
	       r.body);

	/* 2. malformed init orders */
	order(f->port[A], &r, "{\"action\":\"init\",\"epoch\":1}");
	EXPECT(f, r.status == 400 && strstr(r.body, "role"), "%ld %s", r.status,
	       r.body);
	order(f->port[A], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"witness\"}");
	EXPECT(f, r.status == 400 && strstr(r.body, "role"), "%ld %s", r.status,
	       r.body);
	order(f->port[A], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	      "\"primaryHost\":\"127.0.0.1\",\"primaryPort\":70000}");
	EXPECT(f, r.status == 400 && strstr(r.body, "primaryPort"), "%ld %s",
	       r.status, r.body);
	order(f->port[A], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	      "\"primaryHost\":\"127.0.0.1\",\"primaryPort\":\"5432\"}");
	EXPECT(f, r.status == 400, "%ld %s", r.status, r.body);
	order(f->port[A], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	      "\"primaryPort\":5432}");
	EXPECT(f, r.status == 400 && strstr(r.body, "primaryHost"), "%ld %s",
	       r.status, r.body);
	order(f->port[A], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	      "\"primaryHost\":\"h password=x\",\"primaryPort\":5432}");
	EXPECT(f, r.status == 400 && strstr(r.body, "primaryHost"), "%ld %s",
	       r.status, r.body);
	order(f->port[A], &r, "{\"action\":\"init\",\"role\":\"primary\"}");
	EXPECT(f, r.status == 400 && strstr(r.body, "epoch"), "%ld %s",
	       r.status, r.body);

	/* 3. init primary; a second init while it runs is refused */
	first.port = f->port[A];
	first.body = "{\"action\":\"init\",\"epoch\":1,\"role\":\"primary\"}";
	EXPECT(f, pthread_create(&th, NULL, bg_order_thread, &first) == 0,
	       "pthread_create");
	th_running = true;
	WAIT_STATUS(
	    f, A, &r,
	    str_is(&r, "reason", "initializing the instance (init order)"));
	order(f->port[A], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"primary\"}");
	EXPECT(f, r.status == 503 && strstr(r.body, "busy"), "%ld %s", r.status,
	       r.body);
	pthread_join(th, NULL);
	th_running = false;
	EXPECT(f, first.r.status == 200, "%ld %s", first.r.status,
	       first.r.body);
	EXPECT(f,
	       is_true(&first.r, "initialized") && is_true(&first.r, "ready") &&
		   is_true(&first.r, "fenced") &&
		   str_is(&first.r, "role", "primary"),
	       "%s", first.r.body);
	call(f->port[A], "GET", "/readyz", NULL, &r);
	EXPECT(f, r.status == 200, "%ld %s", r.status, r.body);
	EXPECT(f, !can_write(&f->n[A]), "a fresh primary accepts writes");
	/* its own name is left out of the synchronous list */
	EXPECT(f,
	       pgt_exec(&f->n[A], "SHOW synchronous_standby_names", out,
			sizeof out, NULL, 0) == 0,
	       "SHOW");
	EXPECT(f, strcmp(out, "ANY 1 (\"b\",\"ghost-0\")") == 0, "%s", out);

	/* 4. retried init: a no-op; the other role: refused */
	order(f->port[A], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"primary\"}");
	EXPECT(f, r.status == 200 && strstr(r.body, "nothing done"), "%ld %s",
	       r.status, r.body);
	order(f->port[A], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	      "\"primaryHost\":\"127.0.0.1\",\"primaryPort\":%d}",
	      f->n[B].port);
	EXPECT(f, r.status == 409 && strstr(r.body, "never overwrites"),
	       "%ld %s", r.status, r.body);

	/* 5. init replica from nowhere: 500, still waiting, retry works */
	order(f->port[B], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	      "\"primaryHost\":\"127.0.0.1\",\"primaryPort\":%d}",
	      pgt_free_port());
	EXPECT(f, r.status == 500 && strstr(r.body, "unreachable"), "%ld %s",
	       r.status, r.body);
	call(f->port[B], "GET", "/v1/status", NULL, &r);
	EXPECT(f, is_false(&r, "initialized") && str_is(&r, "role", "none"),
	       "%s", r.body);
	call(f->port[B], "GET", "/readyz", NULL, &r2);
	EXPECT(f, r2.status == 503 && strstr(r2.body, "waiting"), "%s",
	       r2.body);
	order(f->port[B], &r,
	      "{\"action\":\"init\",\"epoch\":0,\"role\":\"replica\","
	      "\"primaryHost\":\"127.0.0.1\",\"primaryPort\":%d}",
	      f->n[A].port);
	EXPECT(f, r.status == 409 && strstr(r.body, "stale epoch"), "%ld %s",
	       r.status, r.body);
	order(f->port[B], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	      "\"primaryHost\":\"127.0.0.1\",\"primaryPort\":%d}",
	      f->n[A].port);
	EXPECT(f, r.status == 200, "%ld %s", r.status, r.body);
	EXPECT(f,
	       str_is(&r, "role", "replica") && is_true(&r, "ready") &&
		   is_true(&r, "fenced") && !is_true(&r, "writable"),
	       "%s", r.body);
	{
		/* it says whom it streams from (batond re-points replicas
		 * whose upstream is not the current primary) */
		char want[64];
		snprintf(want, sizeof want, "127.0.0.1:%d", f->n[A].port);
		EXPECT(f, str_is(&r, "upstream", want), "%s", r.body);
	}
	order(f->port[B], &r,
	      "{\"action\":\"init\",\"epoch\":1,\"role\":\"primary\"}");
	EXPECT(f, r.status == 409, "%ld %s", r.status, r.body);

	/* 6. the primary sees the replica streaming, in sync */
	WAIT_STATUS(f, A, &r,
		    lists(&r, "standbys", "b") &&
			lists(&r, "syncStandbys", "b"));
	EXPECT(f, num(&r, "syncStandbyCount") == 1, "%s", r.body);

	/* 7. batond grants at epoch 1: the replica asks too and gets
	 * nothing out of it (it was never promoted at 1) */
	atomic_store(&f->b.epoch, 1);
	atomic_store(&f->b.grant_ms, 20000);
	usleep(300 * 1000);
	call(f->port[B], "GET", "/v1/status", NULL, &r);
	EXPECT(f,
	       is_true(&r, "fenced") && !is_true(&r, "writable") &&
		   str_is(&r, "role", "replica"),
	       "%s", r.body);

	/* 8. the primary under the grant: writes; the replica's position
	 * follows (synchronous commit: acknowledged means received) */
	WAIT_STATUS(f, A, &r, is_true(&r, "writable"));
	call(f->port[B], "GET", "/v1/status", NULL, &r);
	pos0 = num(&r, "position");
	EXPECT(f, pos0 > 0, "%s", r.body);
	EXPECT(f, can_write(&f->n[A]), "primary under lease refuses writes");
	EXPECT(f,
	       pgt_exec(&f->n[A],
			"INSERT INTO w SELECT generate_series(1, 20000)", NULL,
			0, NULL, 0) == 0,
	       "insert");
	WAIT_STATUS(f, B, &r, num(&r, "position") > pos0 + 100000);
	pos = num(&r, "position");
	/* statuses are as of each agent's last refresh: wait for A's */
	WAIT_STATUS(f, A, &r, num(&r, "position") >= pos);

	/* 9. promote at the same epoch on the primary: 200, still
	 * writable under its lease */
	order(f->port[A], &r, "{\"action\":\"promote\",\"epoch\":1}");
	EXPECT(f, r.status == 200 && str_is(&r, "role", "primary"), "%ld %s",
	       r.status, r.body);
	EXPECT(f, is_true(&r, "writable") && !is_true(&r, "fenced"), "%s",
	       r.body);
	EXPECT(f, can_write(&f->n[A]), "writes refused after a no-op promote");

	/* 10. standbys orders (docs/design-per-instance.md §3.3): the
	 * primary's list becomes {ghost-0}: b is no synchronous standby
	 * when the answer comes, which carries X; an older generation is
	 * refused; the replica only records its list (no X); b listed
	 * again is synchronous again */
	order(f->port[A], &r,
	      "{\"action\":\"standbys\",\"epoch\":1,\"gen\":3,"
	      "\"syncNames\":[\"ghost-0\"]}");
	EXPECT(f, r.status == 200 && num(&r, "flushPosition") >= pos, "%ld %s",
	       r.status, r.body);
	EXPECT(f,
	       !str_is(&r, "flushLsn", "") && !lists(&r, "syncStandbys", "b"),
	       "%s", r.body);
	EXPECT(f,
	       strstr(r.body, "\"syncConfig\":{\"gen\":3,\"names\":"
			      "[\"ghost-0\"]}") != NULL,
	       "%s", r.body);
	EXPECT(f,
	       pgt_exec(&f->n[A], "SHOW synchronous_standby_names", out,
			sizeof out, NULL, 0) == 0,
	       "SHOW");
	EXPECT(f, strcmp(out, "ANY 1 (\"ghost-0\")") == 0, "%s", out);
	order(f->port[A], &r,
	      "{\"action\":\"standbys\",\"epoch\":1,\"gen\":2,"
	      "\"syncNames\":[\"b\"]}");
	EXPECT(f, r.status == 409 && strstr(r.body, "stale generation 2"),
	       "%ld %s", r.status, r.body);
	order(f->port[B], &r,
	      "{\"action\":\"standbys\",\"epoch\":1,\"gen\":1,"
	      "\"syncNames\":[\"a\"]}");
	EXPECT(f,
	       r.status == 200 && num(&r, "flushPosition") == 0 &&
		   str_is(&r, "flushLsn", "") && str_is(&r, "role", "replica"),
	       "%ld %s", r.status, r.body);
	order(f->port[A], &r,
	      "{\"action\":\"standbys\",\"epoch\":1,\"gen\":4,"
	      "\"syncNames\":[\"b\"]}");
	EXPECT(f, r.status == 200, "%ld %s", r.status, r.body);
	WAIT_STATUS(f, A, &r, lists(&r, "syncStandbys", "b"));

out:
	if (th_running) {
		pthread_join(th, NULL);
	}
	atomic_store(&f->done, 1);
	uv_async_send(&f->wake);
	return NULL;
}

START_TEST(init_orders)
{
	char dir[64];
	struct fx *f = calloc(1, sizeof *f);
	struct stat st;
	char path[300];

	ck_assert_ptr_nonnull(f);
	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	/* batond passes every data pod's name to every pod, its own too */
	pgt_node_init(&f->n[0], dir, "a", true, "a, b,ghost-0");
	pgt_node_init(&f->n[1], dir, "b", true, "a, b,ghost-0");
	/* as in the StatefulSet: no --pg-socket-dir, the socket (and its lock
	 * file, which pg_basebackup copies) lives in the data directory */
	for (int i = 0; i < 2; i++) {
		snprintf(f->n[i].sockdir, sizeof f->n[i].sockdir, "%s",
			 f->n[i].datadir);
		f->n[i].cfg.socket_dir = NULL;
		baton_engine_destroy(&f->n[i].e);
		ck_assert_int_eq(baton_pg_engine_init(&f->n[i].e, &f->n[i].cfg),
				 0);
	}
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	uv_async_init(&f->loop, &f->wake, wake_cb);
	start_agents(f);
	ck_assert(!f->agent[0].ready && !f->agent[0].failed);
	ck_assert(!f->agent[0].initialized);

	run_client(f, init_client);
	stop_agents(f);

	/* nothing left of the failed init's marker */
	snprintf(path, sizeof path, "%s.baton-init", f->n[1].datadir);
	ck_assert_int_ne(stat(path, &st), 0);
	pgt_cleanup(dir, f->n, 2);
	free(f);
}
END_TEST

/* ---- leftovers of an init that was killed half way ------------------------
 */

START_TEST(unfinished_init_is_cleared)
{
	char dir[64];
	char cmd[2048];
	struct pgt_node n[2];
	struct baton_engine_peer pa;
	int rv;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};

	/* foreign files without PG_VERSION: never touched */
	snprintf(cmd, sizeof cmd, "mkdir -p %s && touch %s/precious",
		 n[0].datadir, n[0].datadir);
	ck_assert_int_eq(system(cmd), 0);
	rv = n[0].e.ops->init_primary(&n[0].e);
	ck_assert_int_eq(rv, BATON_ECONFLICT);
	snprintf(cmd, sizeof cmd, "test -f %s/precious && rm %s/precious",
		 n[0].datadir, n[0].datadir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(n[0].e.ops->init_primary(&n[0].e), 0);

	/* an instance: an init refuses it */
	rv = n[0].e.ops->init_primary(&n[0].e);
	ck_assert_int_eq(rv, BATON_EEXIST);
	rv = n[0].e.ops->init_replica(&n[0].e, &pa);
	ck_assert_int_eq(rv, BATON_EEXIST);

	/* an init killed half way: PG_VERSION and the marker */
	snprintf(cmd, sizeof cmd,
		 "mkdir -p %s/base && echo 15 > %s/PG_VERSION && touch "
		 "%s.baton-init && chown -R postgres %s",
		 n[1].datadir, n[1].datadir, n[1].datadir, n[1].datadir);
	ck_assert_int_eq(system(cmd), 0);
	rv = n[1].e.ops->start(&n[1].e);
	ck_assert_int_eq(rv, BATON_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(n[1].e.errmsg, "unfinished init"));
	ck_assert_int_eq(n[1].e.ops->init_replica(&n[1].e, &pa), 0);
	snprintf(cmd, sizeof cmd, "test ! -e %s.baton-init", n[1].datadir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(n[1].e.ops->stop(&n[1].e, false), 0);
	ck_assert_int_eq(n[1].e.ops->start(&n[1].e), 0);

	pgt_cleanup(dir, n, 2);
}
END_TEST

/* ---- the agent binary and its password -----------------------------------
 */

/* BUILD/bin/baton-agent, next to this binary's BUILD/itests. */
static void agent_binary(char *out, size_t size)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	snprintf(out, size, "%s/../bin/baton-agent", dirname(exe));
	ck_assert_msg(access(out, X_OK) == 0, "%s is missing: build it (make)",
		      out);
}

/* baton-agent for N (an empty data directory: it waits for an init
 * order) with exactly ENV, on PORT; PWFILE adds --repl-password-file.
 * Returns once /healthz answers. Its log: DIR/<name>.agent.log. */
static pid_t spawn_agent(struct pgt_node *n, const char *dir, int port,
			 char *const env[], const char *pwfile)
{
	char bin[600], listen[64], pgport[16], logf[300];
	char *argv[] = {bin,
			"--pg-data",
			n->datadir,
			"--pg-port",
			pgport,
			"--pg-host",
			"127.0.0.1",
			"--pg-name",
			n->name,
			"--pg-socket-dir",
			n->sockdir,
			"--pg-bindir",
			PGT_BINDIR,
			"--listen",
			listen,
			"--repl-password-file",
			(char *)pwfile,
			NULL};
	struct resp r;
	pid_t pid;

	agent_binary(bin, sizeof bin);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	snprintf(pgport, sizeof pgport, "%d", n->port);
	snprintf(logf, sizeof logf, "%s/%s.agent.log", dir, n->name);
	if (pwfile == NULL) { /* no --repl-password-file */
		argv[sizeof argv / sizeof argv[0] - 3] = NULL;
	}
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(bin, argv, env);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		int st;
		ck_assert_msg(waitpid(pid, &st, WNOHANG) == 0,
			      "baton-agent for %s exited: see %s", n->name,
			      logf);
		call(port, "GET", "/healthz", NULL, &r);
		if (r.status == 200) {
			return pid;
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	ck_abort_msg("baton-agent for %s never answered: see %s", n->name,
		     logf);
	return -1;
}

static void stop_agent(pid_t pid)
{
	int st;
	kill(pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			return;
		}
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	ck_abort_msg("baton-agent %d ignored SIGTERM for 10 s", (int)pid);
}

static void wait_streaming(struct pgt_node *primary, const char *name)
{
	char q[160], out[16] = "";
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM pg_stat_replication WHERE "
		 "application_name = '%s' AND state = 'streaming'",
		 name);
	for (int i = 0; i < 1000 && strcmp(out, "1") != 0; i++) {
		if (pgt_exec(primary, q, out, sizeof out, NULL, 0) != 0) {
			out[0] = '\0';
		}
		usleep(10000);
	}
	ck_assert_msg(strcmp(out, "1") == 0, "%s never streamed from %s", name,
		      primary->name);
}

/* An agent answers /healthz while its boot (a start that finds no
 * instance) still runs, and an order then gets 503 "still booting": wait
 * until it says it waits for an init order. */
static void wait_for_init_wait(int port, const char *name)
{
	struct resp r;
	for (int i = 0; i < 500; i++) {
		call(port, "GET", "/readyz", NULL, &r);
		if (strstr(r.body, "waiting for an init order") != NULL) {
			return;
		}
		usleep(20000);
	}
	ck_abort_msg("%s: never waited for an init order: %ld %s", name,
		     r.status, r.body);
}

START_TEST(agent_binary_keeps_its_password_to_itself)
{
	char dir[64], pwfile[128], where[16];
	struct pgt_node n[3];
	struct resp r;
	/* b as in the pod: a Secret volume file, and a decoy in the
	 * environment that must be neither used nor left behind; c as a
	 * hand-run agent: the real password in its environment */
	char *env_b[] = {"PATH=/usr/bin:/bin",
			 "BATON_REPL_PASSWORD=decoy-" PGT_SECRET_MARK, NULL};
	char *env_c[] = {"PATH=/usr/bin:/bin",
			 "BATON_REPL_PASSWORD=" PGT_REPL_PASSWORD, NULL};
	pid_t pid[3] = {0};
	int port[3] = {0};
	FILE *f;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	pgt_node_init(&n[2], dir, "c", false, NULL);
	ck_assert_int_eq(n[0].e.ops->init_primary(&n[0].e), 0);
	snprintf(pwfile, sizeof pwfile, "%s/password", dir);
	f = fopen(pwfile, "w");
	ck_assert_ptr_nonnull(f);
	fputs(PGT_REPL_PASSWORD "\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(pwfile, 0400), 0);

	for (int i = 1; i < 3; i++) {
		port[i] = pgt_free_port();
		pid[i] =
		    spawn_agent(&n[i], dir, port[i], i == 1 ? env_b : env_c,
				i == 1 ? pwfile : NULL);
		ck_assert_msg(!pgt_proc_holds(pid[i], PGT_SECRET_MARK, where,
					      sizeof where),
			      "baton-agent's /proc/%d/%s holds the password",
			      (int)pid[i], where);
		/* the password still works: a clone, then streaming */
		wait_for_init_wait(port[i], n[i].name);
		order(port[i], &r,
		      "{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
		      "\"primaryHost\":\"127.0.0.1\",\"primaryPort\":%d}",
		      n[0].port);
		ck_assert_msg(r.status == 200, "%s: %ld %s", n[i].name,
			      r.status, r.body);
		wait_streaming(&n[0], n[i].name);
		ck_assert_msg(!pgt_proc_holds(pid[i], PGT_SECRET_MARK, where,
					      sizeof where),
			      "baton-agent's /proc/%d/%s holds the password",
			      (int)pid[i], where);
		/* nor did the server it started inherit it */
		int leak = pgt_server_proc_holds(&n[i], PGT_SECRET_MARK);
		ck_assert_msg(leak == 0,
			      "process %d of %s's server (started by the "
			      "agent) has the password in its command line "
			      "or environment",
			      leak, n[i].name);
	}
	stop_agent(pid[1]);
	stop_agent(pid[2]);
	pgt_cleanup(dir, n, 3);
}
END_TEST

static Suite *agent_init_suite(void)
{
	Suite *s = suite_create("agent_init");
	TCase *tc = tcase_create("init");
	tcase_set_timeout(tc, 240);
	tcase_add_unchecked_fixture(tc, NULL, pgt_reap);
	tcase_add_test(tc, init_orders);
	tcase_add_test(tc, unfinished_init_is_cleared);
	tcase_add_test(tc, agent_binary_keeps_its_password_to_itself);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(agent_init_suite)
