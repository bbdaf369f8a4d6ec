/* Integration tests for operator/agent against real PostgreSQL: the agent
 * runs in-process on the test's loop, its HTTP API is called with libcurl
 * from a thread (like batond would), and writes are probed directly on the
 * database.
 *
 *  - boot: the instance is read-only until a lease is granted;
 *  - a grant makes the primary writable; when batond goes silent the agent
 *    fences it before the last grant, counted from the question that got
 *    it, ends (batond's side answers from a scripted stand-in:
 *    tests/unit/support/lease_answerer.h);
 *  - a stale-epoch order is refused with 409 and logged; malformed JSON
 *    gets 400 with a message;
 *  - promote order on a replica -> first accepted write; fence order -> no
 *    more writes;
 *  - forged promote orders (an epoch jump, batond's own epoch) on a replica
 *    batond grants nothing: never writable, not even with BEGIN READ WRITE.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "../unit/support/pg_cluster.h"
#include "../unit/support/lease_answerer.h"
#include "agent/agent.h"
#include "common/log.h"
#include "engine/engine.h"

struct fx {
	uv_loop_t loop;
	uv_async_t wake;
	struct lease_answerer b;
	struct baton_agent agent;
	bool closed;
	atomic_int done;
	int port;
};

struct resp {
	long status;
	char body[32768]; /* /metrics is ~9 KB with the process_* series */
	size_t len;
	bool truncated; /* the body did not fit: a check on it proves nothing */
};

static size_t sink(char *p, size_t sz, size_t nm, void *ud)
{
	struct resp *r = ud;
	size_t n = sz * nm;
	size_t k =
	    n < sizeof r->body - 1 - r->len ? n : sizeof r->body - 1 - r->len;
	memcpy(r->body + r->len, p, k);
	r->len += k;
	r->truncated = r->truncated || k < n;
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
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
}

static void wake_cb(uv_async_t *a)
{
	(void)a;
}

static void agent_closed_cb(struct baton_agent *a)
{
	struct fx *f = a->data;
	f->closed = true;
}

static void start_agent(struct fx *f, struct pgt_node *n, const char *name)
{
	struct baton_agent_config cfg = {
	    .pod_name = name,
	    .pod_namespace = "db",
	    .region = "eu",
	    .listen_host = "127.0.0.1",
	    .listen_port = 0,
	    .lease_margin_ms = 100,
	    .status_interval_ms = 200,
	};
	memset(f, 0, sizeof *f);
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	uv_async_init(&f->loop, &f->wake, wake_cb);
	lease_answerer_start(&f->loop, &f->b);
	cfg.batond_url = f->b.url;
	cfg.lease_file = n->cfg.lease_file; /* the module's, when it runs */
	ck_assert_int_eq(baton_agent_init(&f->loop, &f->agent, &cfg, &n->e), 0);
	f->agent.data = f;
	f->port = baton_agent_port(&f->agent);
	LOOP_RUN_UNTIL(&f->loop, f->agent.ready || f->agent.failed);
	ck_assert_msg(f->agent.ready, "agent boot failed: %s",
		      f->agent.last_error);
}

static void stop_agent(struct fx *f)
{
	baton_agent_close(&f->agent, agent_closed_cb);
	uv_close((uv_handle_t *)&f->wake, NULL);
	LOOP_RUN_UNTIL(&f->loop, f->closed);
	lease_answerer_stop(&f->loop, &f->b);
	LOOP_TEARDOWN(&f->loop);
}

static void run_client(struct fx *f, void *(*fn)(void *), void *arg)
{
	pthread_t th;
	atomic_store(&f->done, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, fn, arg), 0);
	LOOP_RUN_UNTIL(&f->loop, atomic_load(&f->done));
	pthread_join(th, NULL);
}

static bool can_write(struct pgt_node *n)
{
	char err[256];
	return pgt_exec(n, "INSERT INTO t VALUES (1)", NULL, 0, err,
			sizeof err) == 0;
}

/* ---- lease
 * -------------------------------------------------------------------- */

struct lease_run {
	struct fx *f;
	struct pgt_node *n;
	double granted, first_ok, silent, last_grant, fenced, last_ok;
	struct resp promote, stale, malformed, badaction, status, ready,
	    metrics, nolease;
};

static void *lease_client(void *arg)
{
	struct lease_run *r = arg;
	double t;

	/* the instance is a primary already: promoted at epoch 1 (a no-op
	 * in the engine), from then on grants at 1 count */
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"promote\",\"epoch\":1}", &r->promote);
	r->granted = pgt_now_ms();
	atomic_store(&r->f->b.epoch, 1);
	atomic_store(&r->f->b.grant_ms, 2000);
	while ((t = pgt_now_ms()) < r->granted + 5000 && r->first_ok == 0) {
		if (can_write(r->n)) {
			r->first_ok = t;
		}
		usleep(5000);
	}
	/* batond goes silent now: probe until the agent fences */
	usleep(500 * 1000);
	atomic_store(&r->f->b.refuse, true);
	r->silent = pgt_now_ms();
	while ((t = pgt_now_ms()) < r->silent + 5000) {
		/* t is taken before the write: a write that succeeds
		 * committed after t (a probe delayed by the scheduler makes
		 * the fence look late, never a success look early) */
		if (!can_write(r->n)) {
			r->fenced = t;
			break;
		}
		r->last_ok = t;
		usleep(5000);
	}
	r->last_grant = (double)atomic_load(&r->f->b.last_grant_at);
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"fence\",\"epoch\":0}", &r->stale);
	call(r->f->port, "POST", "/v1/order", "{\"action\":\"fence\",",
	     &r->malformed);
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"explode\",\"epoch\":1}", &r->badaction);
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"lease\",\"epoch\":1,\"leaseMillis\":60000}",
	     &r->nolease);
	/* the fence may still be cutting sessions: wait until it is done */
	for (int i = 0; i < 300; i++) {
		call(r->f->port, "GET", "/v1/status", NULL, &r->status);
		if (strstr(r->status.body, "\"busy\":false") != NULL &&
		    strstr(r->status.body, "\"fenced\":true") != NULL) {
			break;
		}
		usleep(10000);
	}
	call(r->f->port, "GET", "/readyz", NULL, &r->ready);
	call(r->f->port, "GET", "/metrics", NULL, &r->metrics);
	atomic_store(&r->f->done, 1);
	uv_async_send(&r->f->wake);
	return NULL;
}

START_TEST(silent_batond_fences_before_lease_end)
{
	char dir[64];
	struct pgt_node n;
	struct fx f;
	struct lease_run r = {0};
	char *logbuf = NULL;
	size_t loglen = 0;
	FILE *logf;
	json_t *st;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n, dir, "a", false, NULL);
	ck_assert_int_eq(n.e.ops->init_primary(&n.e), 0);
	ck_assert_int_eq(n.e.ops->unfence(&n.e), 0);
	ck_assert_int_eq(
	    pgt_exec(&n, "CREATE TABLE t (x int)", NULL, 0, NULL, 0), 0);
	ck_assert(can_write(&n)); /* writable before the agent boots */

	logf = open_memstream(&logbuf, &loglen);
	baton_log_set_stream(logf);
	start_agent(&f, &n, "a-0");
	ck_assert(!can_write(&n)); /* rule 1: boots fenced */

	r.f = &f;
	r.n = &n;
	run_client(&f, lease_client, &r);
	stop_agent(&f);
	baton_log_set_stream(NULL);
	fclose(logf);

	ck_assert_int_eq(r.promote.status, 200);
	ck_assert_msg(r.first_ok > 0, "the grant never made it writable");
	ck_assert_msg(r.fenced > 0, "still writable 5 s after a 2 s grant");
	fprintf(stderr,
		"grant 2000 ms, margin 100 ms: writable %.0f ms after the "
		"first grant; batond silent at +%.0f ms; fenced %.0f ms after "
		"the last grant was computed (%.0f ms before that grant "
		"ended); the last accepted write began %.0f ms after it\n",
		r.first_ok - r.granted, r.silent - r.granted,
		r.fenced - r.last_grant, 2000 - (r.fenced - r.last_grant),
		r.last_ok - r.last_grant);
	/* safety: no write began after the last grant, counted from when
	 * batond computed it (which is after the agent asked), ended; and
	 * the probes saw the fence soon after (scheduling delays on a busy
	 * machine only make it look later) */
	ck_assert_double_lt(r.last_ok - r.last_grant, 2000);
	ck_assert_double_lt(r.fenced - r.last_grant, 3000);
	/* and the grants were real leases: the agent held on well after
	 * batond went silent */
	ck_assert_double_gt(r.fenced - r.silent, 1000);

	ck_assert_int_eq(r.stale.status, 409);
	ck_assert_ptr_nonnull(strstr(r.stale.body, "stale epoch"));
	ck_assert_ptr_nonnull(strstr(logbuf, "order refused: stale epoch"));
	ck_assert_int_eq(r.malformed.status, 400);
	ck_assert_ptr_nonnull(strstr(r.malformed.body, "malformed JSON"));
	ck_assert_int_eq(r.badaction.status, 400);
	ck_assert_ptr_nonnull(strstr(r.badaction.body, "action"));
	ck_assert_int_eq(r.nolease.status, 400); /* no lease orders */
	ck_assert_ptr_nonnull(strstr(r.nolease.body, "asks batond"));
	ck_assert_int_eq(r.ready.status, 200);
	ck_assert_int_eq(r.status.status, 200);
	st = json_loads(r.status.body, 0, NULL);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "epoch")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(st, "role")),
			 "primary");
	ck_assert_msg(json_is_false(json_object_get(st, "writable")), "%s",
		      r.status.body);
	ck_assert(json_is_false(json_object_get(st, "leaseValid")));
	json_decref(st);
	ck_assert_ptr_nonnull(strstr(r.metrics.body, "baton_agent_epoch 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(r.metrics.body,
		   "baton_agent_fences_total{reason=\"lease-expired\"} 1"));
	/* the process_* series of any Prometheus client (at the end of a
	 * body that once outgrew the old 4 KB buffer) */
	ck_assert_msg(!r.metrics.truncated, "/metrics did not fit the buffer");
	ck_assert_ptr_nonnull(
	    strstr(r.metrics.body, "\nprocess_resident_memory_bytes "));
	ck_assert_ptr_nonnull(strstr(r.metrics.body, "\nprocess_open_fds "));
	free(logbuf);
	pgt_cleanup(dir, &n, 1);
}
END_TEST

/* ---- promote and fence orders
 * ---------------------------------------------------- */

struct promote_run {
	struct fx *f;
	struct pgt_node *n;
	double promote_to_write, fence_to_refused;
	struct resp promote, fence, stale_promote;
};

static void *promote_client(void *arg)
{
	struct promote_run *r = arg;
	double t0 = pgt_now_ms(), t;

	atomic_store(&r->f->b.epoch, 2);
	atomic_store(&r->f->b.grant_ms, 10000);
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"promote\",\"epoch\":2}", &r->promote);
	while ((t = pgt_now_ms()) < t0 + 10000) {
		if (can_write(r->n)) {
			r->promote_to_write = t - t0;
			break;
		}
		usleep(2000);
	}
	/* a switchover: batond stops granting, then orders the fence */
	atomic_store(&r->f->b.grant_ms, 0);
	t0 = pgt_now_ms();
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"fence\",\"epoch\":2}", &r->fence);
	while ((t = pgt_now_ms()) < t0 + 10000) {
		if (!can_write(r->n)) {
			r->fence_to_refused = t - t0;
			break;
		}
		usleep(2000);
	}
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"promote\",\"epoch\":1}", &r->stale_promote);
	atomic_store(&r->f->done, 1);
	uv_async_send(&r->f->wake);
	return NULL;
}

START_TEST(promote_and_fence_orders)
{
	char dir[64];
	struct pgt_node n[2];
	struct fx f;
	struct promote_run r = {0};
	struct baton_engine_peer pa;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	ck_assert_int_eq(n[0].e.ops->init_primary(&n[0].e), 0);
	ck_assert_int_eq(n[0].e.ops->unfence(&n[0].e), 0);
	ck_assert_int_eq(
	    pgt_exec(&n[0], "CREATE TABLE t (x int)", NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(n[1].e.ops->init_replica(&n[1].e, &pa), 0);
	usleep(300 * 1000);
	ck_assert_int_eq(n[0].e.ops->demote(&n[0].e, &(uint64_t){0}), 0);

	start_agent(&f, &n[1], "b-0");
	r.f = &f;
	r.n = &n[1];
	run_client(&f, promote_client, &r);
	stop_agent(&f);

	ck_assert_int_eq(r.promote.status, 200);
	ck_assert_msg(r.promote_to_write > 0, "never writable after promote");
	ck_assert_int_eq(r.fence.status, 200);
	ck_assert_msg(r.fence_to_refused > 0, "still writable after fence");
	ck_assert_int_eq(r.stale_promote.status, 409);
	fprintf(stderr,
		"agent: promote order -> first accepted write %.0f ms; fence "
		"order -> writes refused %.0f ms\n",
		r.promote_to_write, r.fence_to_refused);
	pgt_cleanup(dir, n, 2);
}
END_TEST

/* ---- forged orders
 * -------------------------------------------------------------- */

/* Anyone on the pod network can POST to an agent (docs/agent.md: the
 * order API has no authentication yet). What a forged promote cannot do
 * is make a second writable primary: writability needs batond's grant,
 * which batond gives only to the pod its FSM names primary, at its own
 * address, for the FSM's epoch. Here batond says what it says to a
 * replica: epoch 1, grant 0. */
struct forged_run {
	struct fx *f;
	struct pgt_node *n;
	struct resp jump, same;
	int probes, writable, rw_writable;
	bool control;
};

static bool can_write_rw(struct pgt_node *n)
{
	char err[256];
	/* the session overrides the agent's default_transaction_read_only;
	 * the INSERT's own result is the one returned (a COMMIT of an
	 * aborted transaction would say OK) */
	return pgt_exec(n,
			"SET default_transaction_read_only = off; "
			"SET transaction_read_only = off; "
			"INSERT INTO t VALUES (2)",
			NULL, 0, err, sizeof err) == 0;
}

/* Probe for MS milliseconds and at least PROBES_MIN times: on a loaded
 * machine (CI beside other work) 5 s once held only 16 probes, and a
 * window with few probes says little about writability. */
#define PROBES_MIN 12
static void probe(struct forged_run *r, double ms)
{
	double t0 = pgt_now_ms();
	int n;

	for (n = 0; pgt_now_ms() < t0 + ms || n < PROBES_MIN; n++) {
		r->probes++;
		r->writable += can_write(r->n);
		r->rw_writable += can_write_rw(r->n);
		usleep(20000);
	}
}

static void *forged_client(void *arg)
{
	struct forged_run *r = arg;
	double t0;

	atomic_store(&r->f->b.epoch, 1);
	atomic_store(&r->f->b.grant_ms, 0);
	/* an epoch jump batond could not have produced, with a long lease
	 * asked for: refused (409, BATON_AGENT_MAX_EPOCH_STEP); were it
	 * accepted, the lease rule would still keep it read-only */
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"promote\",\"epoch\":9000,\"leaseMillis\":3600000}",
	     &r->jump);
	probe(r, 3000);
	/* and at batond's own epoch */
	call(r->f->port, "POST", "/v1/order",
	     "{\"action\":\"promote\",\"epoch\":1}", &r->same);
	probe(r, 2000);
	/* the control: the probe does see writes once batond itself grants
	 * the lease for the instance's epoch (1: the forged promote at 1
	 * made it primary there, read-only without batond's grant) */
	atomic_store(&r->f->b.epoch, 1);
	atomic_store(&r->f->b.grant_ms, 10000);
	t0 = pgt_now_ms();
	while (pgt_now_ms() < t0 + 5000 && !r->control) {
		r->control = can_write_rw(r->n);
		usleep(20000);
	}
	atomic_store(&r->f->done, 1);
	uv_async_send(&r->f->wake);
	return NULL;
}

START_TEST(forged_promote_never_writable)
{
	char dir[64];
	struct pgt_node n[2];
	struct fx f;
	struct forged_run r = {0};
	struct baton_engine_peer pa;
	char so[128], lease_path[128];

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	/* b runs as in a pod: the lease inside PostgreSQL (baton_lease) */
	pgt_lease_module_copy(dir, so, sizeof so);
	snprintf(lease_path, sizeof lease_path, "%s/b.lease", dir);
	n[1].cfg.lease_module = so;
	n[1].cfg.lease_file = lease_path;
	baton_engine_destroy(&n[1].e);
	ck_assert_int_eq(baton_pg_engine_init(&n[1].e, &n[1].cfg), 0);
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	ck_assert_int_eq(n[0].e.ops->init_primary(&n[0].e), 0);
	ck_assert_int_eq(n[0].e.ops->unfence(&n[0].e), 0);
	ck_assert_int_eq(
	    pgt_exec(&n[0], "CREATE TABLE t (x int)", NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(n[1].e.ops->init_replica(&n[1].e, &pa), 0);
	usleep(300 * 1000);

	start_agent(&f, &n[1], "b-0");
	r.f = &f;
	r.n = &n[1];
	run_client(&f, forged_client, &r);
	stop_agent(&f);

	fprintf(stderr,
		"forged promote (epoch 9000, then 1): HTTP %ld and %ld; %d "
		"probes, %d writable, %d writable with BEGIN READ WRITE\n",
		r.jump.status, r.same.status, r.probes, r.writable,
		r.rw_writable);
	ck_assert_int_eq(r.jump.status, 409);
	ck_assert_int_ge(r.probes, 2 * PROBES_MIN);
	ck_assert_int_eq(r.writable, 0);
	ck_assert_int_eq(r.rw_writable, 0);
	ck_assert_msg(r.control, "never writable with batond's grant: the "
				 "probe proves nothing");
	pgt_cleanup(dir, n, 2);
}
END_TEST

static Suite *agent_suite(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("lease");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, pgt_reap);
	tcase_add_test(tc, silent_batond_fences_before_lease_end);
	tcase_add_test(tc, promote_and_fence_orders);
	tcase_add_test(tc, forged_promote_never_writable);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(agent_suite)
