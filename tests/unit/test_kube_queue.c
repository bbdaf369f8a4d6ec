/* Unit tests for operator/kube/workqueue and the client's token bucket,
 * with injected time. */
#include <string.h>

#include "harness.h"
#include "kube/workqueue.h"

static uint64_t fake_now;

static uint64_t fake_clock(void *ud)
{
	(void)ud;
	return fake_now;
}

static void init_q(struct baton_kube_workqueue *q, double qps)
{
	struct baton_kube_workqueue_opts o = {0};
	o.clock = fake_clock;
	o.qps = qps;
	fake_now = 1000;
	q->data = NULL;
	ck_assert_int_eq(baton_kube_workqueue_init(NULL, q, &o), 0);
}

START_TEST(dedup_and_requeue_while_processing)
{
	struct baton_kube_workqueue q;
	const char *k1, *k2, *k3;

	init_q(&q, 0);
	baton_kube_workqueue_add(&q, "a");
	baton_kube_workqueue_add(&q, "a");
	baton_kube_workqueue_add(&q, "b");
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 2);
	ck_assert_int_eq(baton_kube_workqueue_get(&q, &k1), 0);
	ck_assert_str_eq(k1, "a");
	/* Added while processing: not handed to a second worker. */
	baton_kube_workqueue_add(&q, "a");
	baton_kube_workqueue_add(&q, "a");
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 1);
	ck_assert_int_eq(baton_kube_workqueue_get(&q, &k2), 0);
	ck_assert_str_eq(k2, "b");
	ck_assert_int_eq(baton_kube_workqueue_get(&q, &k3), BATON_EBUSY);
	/* done() re-queues it exactly once. */
	baton_kube_workqueue_done(&q, k1);
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 1);
	ck_assert_int_eq(baton_kube_workqueue_get(&q, &k3), 0);
	ck_assert_str_eq(k3, "a");
	baton_kube_workqueue_done(&q, k3);
	baton_kube_workqueue_done(&q, k2);
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 0);
	ck_assert_int_eq(baton_kube_workqueue_get(&q, &k3), BATON_EBUSY);
	/* done() of an unknown key is harmless. */
	baton_kube_workqueue_done(&q, "zzz");
	baton_kube_workqueue_close(&q, NULL);
	ck_assert_int_eq(baton_kube_workqueue_get(&q, &k3), BATON_ESHUTDOWN);
}
END_TEST

START_TEST(fifo_order)
{
	struct baton_kube_workqueue q;
	const char *k;
	char name[8];

	init_q(&q, 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "k%d", i);
		baton_kube_workqueue_add(&q, name);
	}
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "k%d", i);
		ck_assert_int_eq(baton_kube_workqueue_get(&q, &k), 0);
		ck_assert_str_eq(k, name);
		baton_kube_workqueue_done(&q, k);
	}
	baton_kube_workqueue_close(&q, NULL);
}
END_TEST

START_TEST(exponential_per_item_backoff)
{
	struct baton_kube_workqueue q;
	uint64_t want = 5;

	init_q(&q, -1); /* bucket off: only the exponential part */
	for (int i = 0; i < 40; i++) {
		uint64_t d = baton_kube_workqueue_add_rate_limited(&q, "x");
		ck_assert_uint_eq(d, want);
		ck_assert_int_eq(baton_kube_workqueue_num_requeues(&q, "x"),
				 i + 1);
		want = want * 2 > 1000000 ? 1000000 : want * 2;
	}
	/* Other keys have their own count. */
	ck_assert_uint_eq(baton_kube_workqueue_add_rate_limited(&q, "y"), 5);
	baton_kube_workqueue_forget(&q, "x");
	ck_assert_int_eq(baton_kube_workqueue_num_requeues(&q, "x"), 0);
	ck_assert_uint_eq(baton_kube_workqueue_add_rate_limited(&q, "x"), 5);
	baton_kube_workqueue_close(&q, NULL);
}
END_TEST

START_TEST(bucket_combined_with_max)
{
	struct baton_kube_workqueue q;
	char name[16];

	init_q(&q, 0); /* defaults: 10 qps, burst 100 */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "k%d", i);
		ck_assert_uint_eq(
		    baton_kube_workqueue_add_rate_limited(&q, name), 5);
	}
	/* The burst is spent: 10 qps → 100 ms, 200 ms, ... */
	ck_assert_uint_eq(baton_kube_workqueue_add_rate_limited(&q, "n1"), 100);
	ck_assert_uint_eq(baton_kube_workqueue_add_rate_limited(&q, "n2"), 200);
	/* Time refills tokens. */
	fake_now += 1000;
	ck_assert_uint_eq(baton_kube_workqueue_add_rate_limited(&q, "n3"), 5);
	baton_kube_workqueue_close(&q, NULL);
}
END_TEST

START_TEST(token_bucket_pure)
{
	struct baton_kube_bucket b;
	baton_kube_bucket_init(&b, 50, 100, 0);
	for (int i = 0; i < 100; i++) {
		ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 0), 0);
	}
	ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 0), 20);
	ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 0), 40);
	/* 1 s later: 50 new tokens, 2 owed. */
	for (int i = 0; i < 48; i++) {
		ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 1000), 0);
	}
	ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 1000), 20);
	baton_kube_bucket_init(&b, -1, 1, 0);
	ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 0), 0);
	ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 0), 0);
}
END_TEST

START_TEST(delayed_adds)
{
	struct baton_kube_workqueue q;
	const char *k;

	init_q(&q, 0);
	baton_kube_workqueue_add_after(&q, "a", 100);
	baton_kube_workqueue_add_after(&q, "b", 100);
	baton_kube_workqueue_add_after(&q, "b", 50);  /* earlier wins */
	baton_kube_workqueue_add_after(&q, "a", 300); /* later ignored */
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 0);
	ck_assert_uint_eq(baton_kube_workqueue_tick(&q), 50);
	fake_now += 50;
	ck_assert_uint_eq(baton_kube_workqueue_tick(&q), 50);
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 1);
	ck_assert_int_eq(baton_kube_workqueue_get(&q, &k), 0);
	ck_assert_str_eq(k, "b");
	baton_kube_workqueue_done(&q, k);
	fake_now += 50;
	ck_assert_uint_eq(baton_kube_workqueue_tick(&q), UINT64_MAX);
	ck_assert_int_eq(baton_kube_workqueue_get(&q, &k), 0);
	ck_assert_str_eq(k, "a");
	/* Delayed add of a key being processed: re-queued on done. */
	baton_kube_workqueue_add_after(&q, "a", 10);
	fake_now += 10;
	baton_kube_workqueue_tick(&q);
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 0);
	baton_kube_workqueue_done(&q, k);
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 1);
	/* Zero delay is an immediate add. */
	baton_kube_workqueue_add_after(&q, "c", 0);
	ck_assert_uint_eq(baton_kube_workqueue_len(&q), 2);
	baton_kube_workqueue_close(&q, NULL);
}
END_TEST

/* Push mode on a real loop. */
struct pushed {
	int calls[4];
	int concurrent, max_concurrent;
	bool closed;
	const char *held;
	uv_timer_t t;
};

static void finish_cb(uv_timer_t *t)
{
	struct baton_kube_workqueue *q = t->data;
	struct pushed *p = q->data;
	p->concurrent--;
	baton_kube_workqueue_done(q, p->held);
}

static void work_cb(struct baton_kube_workqueue *q, const char *key)
{
	struct pushed *p = q->data;
	int i = key[0] - 'a';
	p->calls[i]++;
	p->concurrent++;
	if (p->concurrent > p->max_concurrent) {
		p->max_concurrent = p->concurrent;
	}
	if (i == 0 && p->calls[0] == 1) {
		/* Slow item: finish later; meanwhile it is added again. */
		p->held = key;
		baton_kube_workqueue_add(q, "a");
		uv_timer_start(&p->t, finish_cb, 20, 0);
		return;
	}
	p->concurrent--;
	baton_kube_workqueue_done(q, key);
}

static void q_closed_cb(struct baton_kube_workqueue *q)
{
	((struct pushed *)q->data)->closed = true;
}

START_TEST(push_mode_on_loop)
{
	uv_loop_t loop;
	struct baton_kube_workqueue q;
	struct pushed p = {0};

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	q.data = &p;
	ck_assert_int_eq(baton_kube_workqueue_init(&loop, &q, NULL), 0);
	uv_timer_init(&loop, &p.t);
	p.t.data = &q;
	ck_assert_int_eq(baton_kube_workqueue_run(&q, 2, work_cb), 0);
	baton_kube_workqueue_add(&q, "a");
	baton_kube_workqueue_add(&q, "b");
	baton_kube_workqueue_add_after(&q, "c", 30);
	/* Nothing runs synchronously inside add(). */
	ck_assert_int_eq(p.calls[0] + p.calls[1], 0);
	LOOP_RUN_UNTIL(&loop, p.calls[0] == 2 && p.calls[2] == 1);
	ck_assert_int_eq(p.calls[1], 1);
	ck_assert_int_le(p.max_concurrent, 2);
	baton_kube_workqueue_close(&q, q_closed_cb);
	uv_close((uv_handle_t *)&p.t, NULL);
	LOOP_RUN_UNTIL(&loop, p.closed);
	LOOP_TEARDOWN(&loop);
}
END_TEST

static Suite *queue_suite(void)
{
	Suite *s = suite_create("kube_queue");
	TCase *tc = tcase_create("queue");
	tcase_add_test(tc, dedup_and_requeue_while_processing);
	tcase_add_test(tc, fifo_order);
	tcase_add_test(tc, exponential_per_item_backoff);
	tcase_add_test(tc, bucket_combined_with_max);
	tcase_add_test(tc, token_bucket_pure);
	tcase_add_test(tc, delayed_adds);
	tcase_add_test(tc, push_mode_on_loop);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(queue_suite)
