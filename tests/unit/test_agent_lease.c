/* Unit tests for operator/agent's lease rules with an in-process fake engine
 * (no PostgreSQL): deterministic orderings that are hard to force on a real
 * server, such as a lease expiring while an unfence is still running.
 *
 * The fake engine keeps its state in atomics (its operations run on the
 * threadpool) and sleeps a configurable time in unfence.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/log.h"
#include "harness.h"

/* ---- fake engine --------------------------------------------------------- */

static atomic_int fk_read_only;
static atomic_int fk_role;
static atomic_int fk_fences;
static atomic_int fk_unfences;
static atomic_int fk_unfence_delay_ms;
static atomic_int fk_exists = 1; /* the data directory holds an instance */
static atomic_int fk_init_fail;	 /* the next init fails */
static atomic_int fk_inits;
static atomic_int fk_promote_delay_ms;

static int fk_ok_peer(struct baton_engine *e, const struct baton_engine_peer *p)
{
	(void)e;
	(void)p;
	return 0;
}

/* Like the PostgreSQL engine: ENOTFOUND without an instance, an init
 * refuses an existing one and leaves nothing behind when it fails. */
static int fk_start(struct baton_engine *e)
{
	if (!atomic_load(&fk_exists)) {
		baton_errmsg_printf(e->errmsg, "no PG_VERSION");
		return BATON_ENOTFOUND;
	}
	return 0;
}

static int fk_init(struct baton_engine *e, enum baton_engine_role role)
{
	atomic_fetch_add(&fk_inits, 1);
	if (atomic_load(&fk_exists)) {
		baton_errmsg_printf(e->errmsg, "already holds a database");
		return BATON_EEXIST;
	}
	if (atomic_load(&fk_init_fail)) {
		atomic_store(&fk_init_fail, 0);
		baton_errmsg_printf(e->errmsg, "primary unreachable");
		return BATON_ECONN;
	}
	atomic_store(&fk_role, role);
	atomic_store(&fk_read_only, 1);
	atomic_store(&fk_exists, 1);
	return 0;
}

static int fk_init_primary(struct baton_engine *e)
{
	return fk_init(e, BATON_ROLE_PRIMARY);
}

static int fk_init_replica(struct baton_engine *e,
			   const struct baton_engine_peer *p)
{
	(void)p;
	return fk_init(e, BATON_ROLE_REPLICA);
}

static int fk_stop(struct baton_engine *e, bool immediate)
{
	(void)e;
	(void)immediate;
	return 0;
}

static int fk_status(struct baton_engine *e, struct baton_engine_status *st)
{
	(void)e;
	memset(st, 0, sizeof *st);
	if (!atomic_load(&fk_exists)) {
		st->role = BATON_ROLE_STOPPED;
		st->read_only = true;
		return 0;
	}
	st->running = true;
	st->role = (enum baton_engine_role)atomic_load(&fk_role);
	st->read_only = atomic_load(&fk_read_only);
	st->writable = st->role == BATON_ROLE_PRIMARY && !st->read_only;
	st->timeline = 1;
	return 0;
}

static int fk_promote(struct baton_engine *e, uint64_t ref)
{
	(void)e;
	(void)ref;
	usleep((useconds_t)atomic_load(&fk_promote_delay_ms) * 1000);
	if (atomic_load(&fk_role) == BATON_ROLE_PRIMARY) {
		return 0; /* already promoted: nothing changes */
	}
	atomic_store(&fk_read_only, 1);
	atomic_store(&fk_role, BATON_ROLE_PRIMARY);
	return 0;
}

static int fk_fence(struct baton_engine *e)
{
	(void)e;
	atomic_store(&fk_read_only, 1);
	atomic_fetch_add(&fk_fences, 1);
	return 0;
}

static int fk_unfence(struct baton_engine *e)
{
	(void)e;
	usleep((useconds_t)atomic_load(&fk_unfence_delay_ms) * 1000);
	atomic_store(&fk_read_only, 0);
	atomic_fetch_add(&fk_unfences, 1);
	return 0;
}

static int fk_demote(struct baton_engine *e, uint64_t *lsn)
{
	*lsn = 0;
	return fk_fence(e);
}

static const struct baton_engine_ops fake_ops = {
    .name = "fake",
    .init_primary = fk_init_primary,
    .init_replica = fk_init_replica,
    .start = fk_start,
    .stop = fk_stop,
    .status = fk_status,
    .promote = fk_promote,
    .fence = fk_fence,
    .unfence = fk_unfence,
    .demote = fk_demote,
    .rejoin = fk_ok_peer,
};

/* ---- fixture ----------------------------------------------------------------
 */

struct fx {
	uv_loop_t loop;
	uv_async_t wake;
	struct baton_engine engine;
	struct baton_agent agent;
	bool closed;
	atomic_int done;
	int port;
};

static void wake_cb(uv_async_t *a)
{
	(void)a;
}

static void closed_cb(struct baton_agent *a)
{
	((struct fx *)a->data)->closed = true;
}

static const char *fx_state_file;
static const char *fx_order_peer;
static bool fx_empty; /* boot on a data directory without an instance */

static void fx_start(struct fx *f, unsigned margin_ms)
{
	struct baton_agent_config cfg = {.state_file = fx_state_file,
					 .order_peer = fx_order_peer,
					 .pod_name = "p",
					 .pod_namespace = "ns",
					 .region = "r",
					 .listen_host = "127.0.0.1",
					 .lease_margin_ms = margin_ms,
					 .status_interval_ms = 50};

	memset(f, 0, sizeof *f);
	atomic_store(&fk_read_only, 0); /* writable before the agent boots */
	atomic_store(&fk_role, BATON_ROLE_PRIMARY);
	atomic_store(&fk_fences, 0);
	atomic_store(&fk_unfences, 0);
	atomic_store(&fk_unfence_delay_ms, 0);
	atomic_store(&fk_exists, !fx_empty);
	atomic_store(&fk_init_fail, 0);
	atomic_store(&fk_inits, 0);
	atomic_store(&fk_promote_delay_ms, 0);
	f->engine.ops = &fake_ops;
	f->engine.max_lag_bytes = -1;
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	uv_async_init(&f->loop, &f->wake, wake_cb);
	ck_assert_int_eq(
	    baton_agent_init(&f->loop, &f->agent, &cfg, &f->engine), 0);
	f->agent.data = f;
	f->port = baton_agent_port(&f->agent);
	if (fx_empty) {
		LOOP_RUN_UNTIL(&f->loop, !f->agent.booting);
	} else {
		LOOP_RUN_UNTIL(&f->loop, f->agent.ready);
	}
}

static void fx_stop(struct fx *f)
{
	baton_agent_close(&f->agent, closed_cb);
	uv_close((uv_handle_t *)&f->wake, NULL);
	LOOP_RUN_UNTIL(&f->loop, f->closed);
	LOOP_TEARDOWN(&f->loop);
}

static long post(int port, const char *body, char *out, size_t n)
{
	CURL *h = curl_easy_init();
	char url[96];
	long status = 0;
	FILE *mem = fmemopen(out, n, "w");

	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/order", port);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	}
	fclose(mem);
	curl_easy_cleanup(h);
	return status;
}

struct script {
	struct fx *f;
	const char *bodies[4];
	long status[4];
	char out[4][2048];
	unsigned wait_ms; /* after the orders, before done */
};

static void *script_thread(void *arg)
{
	struct script *s = arg;
	for (int i = 0; i < 4 && s->bodies[i] != NULL; i++) {
		s->status[i] =
		    post(s->f->port, s->bodies[i], s->out[i], sizeof s->out[i]);
	}
	usleep(s->wait_ms * 1000);
	atomic_store(&s->f->done, 1);
	uv_async_send(&s->f->wake);
	return NULL;
}

static void run_script(struct fx *f, struct script *s)
{
	pthread_t th;
	s->f = f;
	atomic_store(&f->done, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, script_thread, s), 0);
	LOOP_RUN_UNTIL(&f->loop, atomic_load(&f->done));
	pthread_join(th, NULL);
	/* let a fence triggered at the very end finish */
	LOOP_RUN_UNTIL(&f->loop, !f->agent.busy);
}

/* ---- tests -----------------------------------------------------------------
 */

START_TEST(boots_fenced)
{
	struct fx f;
	fx_start(&f, 100);
	ck_assert_int_eq(atomic_load(&fk_read_only), 1);
	ck_assert_int_ge(atomic_load(&fk_fences), 1);
	ck_assert(!f.agent.lease_valid);
	fx_stop(&f);
}
END_TEST

START_TEST(lease_unfences_then_expiry_fences)
{
	struct fx f;
	struct script s = {
	    .bodies =
		{"{\"action\":\"lease\",\"epoch\":3,\"leaseMillis\":400}"},
	    .wait_ms = 100};

	fx_start(&f, 100);
	run_script(&f, &s);
	ck_assert_int_eq(s.status[0], 200);
	LOOP_RUN_UNTIL(&f.loop,
		       atomic_load(&fk_unfences) == 1 && !f.agent.busy);
	ck_assert_int_eq(atomic_load(&fk_read_only), 0);
	uint64_t t0 = uv_now(&f.loop);
	int fences = atomic_load(&fk_fences);
	LOOP_RUN_UNTIL(&f.loop, atomic_load(&fk_fences) > fences);
	/* fenced at receive + 400 - 100, i.e. before batond's 400 */
	ck_assert_uint_lt(uv_now(&f.loop) - t0, 400);
	ck_assert_int_eq(atomic_load(&fk_read_only), 1);
	ck_assert_uint_eq(f.agent.epoch, 3);
	fx_stop(&f);
}
END_TEST

START_TEST(expiry_during_unfence_is_followed_by_fence)
{
	struct fx f;
	struct script s = {
	    .bodies =
		{"{\"action\":\"lease\",\"epoch\":1,\"leaseMillis\":150}"},
	    .wait_ms = 500};

	fx_start(&f, 50);
	atomic_store(&fk_unfence_delay_ms, 300); /* outlives the lease */
	run_script(&f, &s);
	LOOP_RUN_UNTIL(&f.loop,
		       atomic_load(&fk_unfences) == 1 && !f.agent.busy);
	ck_assert_int_eq(atomic_load(&fk_read_only), 1);
	ck_assert(!f.agent.lease_valid);
	fx_stop(&f);
}
END_TEST

START_TEST(stale_and_malformed_orders_are_refused)
{
	struct fx f;
	struct script s = {
	    .bodies = {
		"{\"action\":\"lease\",\"epoch\":5,\"leaseMillis\":5000}",
		"{\"action\":\"promote\",\"epoch\":4}",
		"{\"action\":\"lease\",\"epoch\":",
		"{\"action\":\"lease\",\"epoch\":-1,\"leaseMillis\":1}"}};

	fx_start(&f, 100);
	run_script(&f, &s);
	ck_assert_int_eq(s.status[0], 200);
	ck_assert_int_eq(s.status[1], 409);
	ck_assert_ptr_nonnull(strstr(s.out[1], "stale epoch 4"));
	ck_assert_int_eq(s.status[2], 400);
	ck_assert_ptr_nonnull(strstr(s.out[2], "malformed JSON"));
	ck_assert_int_eq(s.status[3], 400);
	ck_assert_uint_eq(f.agent.epoch, 5);
	fx_stop(&f);
}
END_TEST

START_TEST(fence_order_drops_the_lease)
{
	struct fx f;
	struct script s = {
	    .bodies =
		{"{\"action\":\"lease\",\"epoch\":2,\"leaseMillis\":60000}",
		 "{\"action\":\"fence\",\"epoch\":2}"},
	    .wait_ms = 50};

	fx_start(&f, 100);
	run_script(&f, &s);
	ck_assert_int_eq(s.status[0], 200);
	ck_assert_int_eq(s.status[1], 200);
	ck_assert_int_eq(atomic_load(&fk_read_only), 1);
	ck_assert(!f.agent.lease_valid);
	fx_stop(&f);
}
END_TEST

START_TEST(epoch_survives_restart)
{
	struct fx f;
	char path[64] = "/tmp/baton-agent-state-XXXXXX";
	int fd = mkstemp(path);
	struct script first = {
	    .bodies = {
		"{\"action\":\"lease\",\"epoch\":7,\"leaseMillis\":5000}"}};
	struct script second = {
	    .bodies = {"{\"action\":\"promote\",\"epoch\":6}"}};
	FILE *c;

	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(path); /* absent file: epoch 0 */
	fx_state_file = path;
	fx_start(&f, 100);
	ck_assert_uint_eq(f.agent.epoch, 0);
	run_script(&f, &first);
	ck_assert_int_eq(first.status[0], 200);
	fx_stop(&f);

	fx_start(&f, 100); /* the restarted agent remembers epoch 7 */
	ck_assert_uint_eq(f.agent.epoch, 7);
	ck_assert_int_eq(atomic_load(&fk_read_only), 1); /* and boots fenced */
	run_script(&f, &second);
	ck_assert_int_eq(second.status[0], 409);
	fx_stop(&f);

	c = fopen(path, "w");
	fputs("not a number\n", c);
	fclose(c);
	{
		uv_loop_t loop;
		struct baton_engine e = {.ops = &fake_ops};
		struct baton_agent a;
		struct baton_agent_config cfg = {.listen_host = "127.0.0.1",
						 .state_file = path};
		uv_loop_init(&loop);
		ck_assert_int_eq(baton_agent_init(&loop, &a, &cfg, &e),
				 BATON_EPARSE);
		ck_assert_ptr_nonnull(strstr(a.errmsg, "corrupt"));
		LOOP_TEARDOWN(&loop);
	}
	unlink(path);
	fx_state_file = NULL;
}
END_TEST

/* Orders only from the configured identity: a client without a verified
 * certificate (here: plain HTTP) is refused with 403 and nothing changes. */
START_TEST(orders_only_from_the_configured_peer)
{
	struct fx f;
	struct script s = {
	    .bodies = {
		"{\"action\":\"lease\",\"epoch\":9,\"leaseMillis\":5000}"}};

	fx_order_peer = "spiffe://baton/region/eu";
	fx_start(&f, 100);
	run_script(&f, &s);
	ck_assert_int_eq(s.status[0], 403);
	ck_assert_ptr_nonnull(strstr(s.out[0], "spiffe://baton/region/eu"));
	ck_assert_uint_eq(f.agent.epoch, 0);
	ck_assert(!f.agent.lease_valid);
	fx_stop(&f);
	fx_order_peer = NULL;
}
END_TEST

/* A promote at the same epoch on a primary that is already unfenced
 * changes nothing; the agent must not take it for a fence, or a lease
 * that ends while the promote runs would leave the instance writable
 * (rule 3). */
START_TEST(promote_on_unfenced_primary_still_fences_at_lease_end)
{
	struct fx f;
	struct script s = {
	    .bodies = {"{\"action\":\"lease\",\"epoch\":1,\"leaseMillis\":400}",
		       "{\"action\":\"promote\",\"epoch\":1}"},
	    .wait_ms = 0};

	fx_start(&f, 100);
	atomic_store(&fk_promote_delay_ms, 500); /* outlives the lease */
	run_script(&f, &s);
	ck_assert_int_eq(s.status[0], 200);
	ck_assert_int_eq(s.status[1], 200);
	ck_assert_ptr_nonnull(strstr(s.out[1], "\"role\":\"primary\""));
	LOOP_RUN_UNTIL(&f.loop, !f.agent.lease_valid && !f.agent.busy &&
				    atomic_load(&fk_read_only) == 1);
	ck_assert(f.agent.fenced);
	fx_stop(&f);
}
END_TEST

START_TEST(lease_on_replica_never_unfences)
{
	struct fx f;
	struct script s = {
	    .bodies = {"{\"action\":\"lease\",\"epoch\":1,\"leaseMillis\":"
		       "60000}"},
	    .wait_ms = 200};

	fx_start(&f, 100);
	atomic_store(&fk_role, BATON_ROLE_REPLICA);
	LOOP_RUN_UNTIL(&f.loop, f.agent.st.role == BATON_ROLE_REPLICA);
	run_script(&f, &s);
	ck_assert_int_eq(s.status[0], 200);
	ck_assert_int_eq(atomic_load(&fk_unfences), 0);
	ck_assert_int_eq(atomic_load(&fk_read_only), 1);
	ck_assert(f.agent.fenced);
	fx_stop(&f);
}
END_TEST

/* No instance and no init_role: the agent waits for an init order; a
 * failed init leaves it waiting, the retry makes it ready and fenced, and
 * a repeated init is a no-op (the engine is not asked again). */
START_TEST(empty_data_dir_waits_for_init_order)
{
	struct fx f;
	struct script s1 = {
	    .bodies = {"{\"action\":\"lease\",\"epoch\":2,\"leaseMillis\":"
		       "5000}",
		       "{\"action\":\"init\",\"epoch\":2,\"role\":\"replica\","
		       "\"primaryHost\":\"10.0.0.1\",\"primaryPort\":5432}"}};
	struct script s2 = {
	    .bodies = {
		"{\"action\":\"init\",\"epoch\":2,\"role\":\"primary\"}",
		"{\"action\":\"init\",\"epoch\":2,\"role\":\"primary\"}",
		"{\"action\":\"init\",\"epoch\":2,\"role\":\"replica\","
		"\"primaryHost\":\"10.0.0.1\",\"primaryPort\":5432}",
		"{\"action\":\"init\",\"epoch\":1,\"role\":\"primary\"}"}};

	fx_empty = true;
	fx_start(&f, 100);
	ck_assert(!f.agent.ready && !f.agent.failed && !f.agent.initialized);
	ck_assert(f.agent.fenced);
	atomic_store(&fk_init_fail, 1);
	run_script(&f, &s1);
	ck_assert_int_eq(s1.status[0], 409); /* lease: no instance yet */
	ck_assert_int_eq(s1.status[1], 500);
	ck_assert_ptr_nonnull(strstr(s1.out[1], "unreachable"));
	ck_assert(!f.agent.ready && !f.agent.initialized);
	ck_assert_uint_eq(f.agent.epoch, 2); /* persisted before acting */

	run_script(&f, &s2);
	ck_assert_int_eq(s2.status[0], 200);
	ck_assert_ptr_nonnull(strstr(s2.out[0], "\"initialized\":true"));
	ck_assert_ptr_nonnull(strstr(s2.out[0], "\"ready\":true"));
	ck_assert_int_eq(s2.status[1], 200);
	ck_assert_ptr_nonnull(strstr(s2.out[1], "nothing done"));
	ck_assert_int_eq(s2.status[2], 409);
	ck_assert_int_eq(s2.status[3], 409);
	ck_assert_int_eq(atomic_load(&fk_inits), 2);
	ck_assert(f.agent.ready && f.agent.fenced);
	ck_assert_int_eq(atomic_load(&fk_read_only), 1);
	fx_stop(&f);
	fx_empty = false;
}
END_TEST

static Suite *agent_suite(void)
{
	Suite *s = suite_create("agent");
	TCase *tc = tcase_create("lease");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, boots_fenced);
	tcase_add_test(tc, lease_unfences_then_expiry_fences);
	tcase_add_test(tc, expiry_during_unfence_is_followed_by_fence);
	tcase_add_test(tc, stale_and_malformed_orders_are_refused);
	tcase_add_test(tc, fence_order_drops_the_lease);
	tcase_add_test(tc, epoch_survives_restart);
	tcase_add_test(tc, orders_only_from_the_configured_peer);
	tcase_add_test(tc,
		       promote_on_unfenced_primary_still_fences_at_lease_end);
	tcase_add_test(tc, lease_on_replica_never_unfences);
	tcase_add_test(tc, empty_data_dir_waits_for_init_order);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(agent_suite)
