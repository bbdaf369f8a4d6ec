/* Work queue: client-go's workqueue.Type + DelayingQueue + RateLimiting on
 * one thread.
 *
 * The three sets keep client-go's invariant: a key is in `dirty` iff it must
 * be processed (again); it is in the FIFO iff it is dirty and not being
 * processed; `processing` holds the keys handed out. done() re-queues a key
 * that became dirty while processing.
 *
 * Delayed keys sit in `delayed` (key → earliest ready time). tick() scans
 * it; controllers hold hundreds of keys, so O(n) per tick is fine and keeps
 * the code obvious. In push mode one uv_timer both dispatches (timeout 0)
 * and waits for the next delayed key; work_cb is never called from inside
 * add() or done(), so callers need not worry about re-entrancy.
 *
 * Asserted (common/assert.h): a key popped from the FIFO is not being
 * processed, so no key goes to two workers at once; the FIFO's length
 * matches its nodes; in push mode a key is done() only after work_cb had
 * it, so `active` never goes below zero.
 */
#include "kube/workqueue.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/assert.h"
#include "common/clock.h"

struct wq_node {
	struct wq_node *next;
	char key[];
};

static uint64_t now_ms(struct baton_kube_workqueue *q)
{
	if (q->clock != NULL) {
		return q->clock(q->clock_ud);
	}
	if (q->loop != NULL) {
		uv_update_time(q->loop);
		return uv_now(q->loop);
	}
	return baton_mono_ms();
}

static void schedule(struct baton_kube_workqueue *q);

static void push(struct baton_kube_workqueue *q, const char *key)
{
	size_t n = strlen(key) + 1;
	struct wq_node *node = malloc(sizeof *node + n);

	if (node == NULL) {
		/* Out of memory: the key stays dirty and is lost from the
		 * FIFO; nothing better to do without an error path. */
		return;
	}
	memcpy(node->key, key, n);
	node->next = NULL;
	if (q->tail != NULL) {
		q->tail->next = node;
	} else {
		q->head = node;
	}
	q->tail = node;
	q->len++;
}

int baton_kube_workqueue_init(uv_loop_t *loop, struct baton_kube_workqueue *q,
			      const struct baton_kube_workqueue_opts *opts)
{
	struct baton_kube_workqueue_opts def = {0};
	void *data = q->data;

	if (opts == NULL) {
		opts = &def;
	}
	memset(q, 0, sizeof *q);
	q->data = data;
	q->loop = loop;
	q->clock = opts->clock;
	q->clock_ud = opts->clock_ud;
	q->base_delay_ms = opts->base_delay_ms ? opts->base_delay_ms : 5;
	q->max_delay_ms = opts->max_delay_ms ? opts->max_delay_ms : 1000000;
	q->dirty = json_object();
	q->processing = json_object();
	q->failures = json_object();
	q->delayed = json_object();
	if (!q->dirty || !q->processing || !q->failures || !q->delayed) {
		json_decref(q->dirty);
		json_decref(q->processing);
		json_decref(q->failures);
		json_decref(q->delayed);
		return BATON_ENOMEM;
	}
	baton_kube_bucket_init(&q->bucket, opts->qps == 0 ? 10.0 : opts->qps,
			       opts->burst ? opts->burst : 100, now_ms(q));
	if (loop != NULL) {
		uv_timer_init(loop, &q->timer);
		q->timer.data = q;
	}
	return 0;
}

void baton_kube_workqueue_add(struct baton_kube_workqueue *q, const char *key)
{
	if (q->shutting_down || json_object_get(q->dirty, key) != NULL) {
		return;
	}
	json_object_set_new(q->dirty, key, json_true());
	if (json_object_get(q->processing, key) != NULL) {
		return; /* re-queued by done() */
	}
	push(q, key);
	schedule(q);
}

void baton_kube_workqueue_add_after(struct baton_kube_workqueue *q,
				    const char *key, uint64_t delay_ms)
{
	json_t *cur;
	uint64_t when;

	if (q->shutting_down) {
		return;
	}
	if (delay_ms == 0) {
		baton_kube_workqueue_add(q, key);
		return;
	}
	when = now_ms(q) + delay_ms;
	cur = json_object_get(q->delayed, key);
	if (cur != NULL && (uint64_t)json_integer_value(cur) <= when) {
		return;
	}
	json_object_set_new(q->delayed, key, json_integer((json_int_t)when));
	schedule(q);
}

uint64_t baton_kube_workqueue_add_rate_limited(struct baton_kube_workqueue *q,
					       const char *key)
{
	int n = baton_kube_workqueue_num_requeues(q, key);
	double exp = (double)q->base_delay_ms * pow(2.0, n);
	uint64_t d_exp, d_bucket;

	d_exp = exp > (double)q->max_delay_ms ? q->max_delay_ms : (uint64_t)exp;
	json_object_set_new(q->failures, key, json_integer(n + 1));
	d_bucket = baton_kube_bucket_reserve(&q->bucket, now_ms(q));
	d_exp = d_exp > d_bucket ? d_exp : d_bucket;
	baton_kube_workqueue_add_after(q, key, d_exp);
	return d_exp;
}

void baton_kube_workqueue_forget(struct baton_kube_workqueue *q,
				 const char *key)
{
	json_object_del(q->failures, key);
}

int baton_kube_workqueue_num_requeues(struct baton_kube_workqueue *q,
				      const char *key)
{
	return (int)json_integer_value(json_object_get(q->failures, key));
}

size_t baton_kube_workqueue_len(const struct baton_kube_workqueue *q)
{
	return q->len;
}

uint64_t baton_kube_workqueue_tick(struct baton_kube_workqueue *q)
{
	uint64_t now = now_ms(q), next = UINT64_MAX;
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(q->delayed, tmp, key, v)
	{
		uint64_t when = (uint64_t)json_integer_value(v);
		if (when <= now) {
			/* add() before del(): KEY points into the entry. */
			baton_kube_workqueue_add(q, key);
			json_object_del(q->delayed, key);
		} else if (when - now < next) {
			next = when - now;
		}
	}
	return next;
}

int baton_kube_workqueue_get(struct baton_kube_workqueue *q, const char **key)
{
	struct wq_node *node = q->head;
	json_t *s;

	*key = NULL;
	if (q->shutting_down) {
		return BATON_ESHUTDOWN;
	}
	if (node == NULL) {
		return BATON_EBUSY;
	}
	BATON_ASSERT(q->len > 0);
	/* add() and done() never push a key being processed (dirty may
	 * lack it: json_object_set_new() can fail) */
	BATON_ASSERT(json_object_get(q->processing, node->key) == NULL);
	q->head = node->next;
	if (q->head == NULL) {
		q->tail = NULL;
	}
	q->len--;
	s = json_string(node->key);
	if (s == NULL || json_object_set_new(q->processing, node->key, s)) {
		free(node);
		return BATON_ENOMEM;
	}
	json_object_del(q->dirty, node->key);
	*key = json_string_value(s);
	free(node);
	return 0;
}

void baton_kube_workqueue_done(struct baton_kube_workqueue *q, const char *key)
{
	json_t *held = json_object_get(q->processing, key);
	bool requeue;

	if (held == NULL) {
		return;
	}
	requeue = json_object_get(q->dirty, key) != NULL;
	if (requeue && !q->shutting_down) {
		push(q, key);
	}
	/* KEY may be the pointer get() returned: delete last. */
	json_object_del(q->processing, key);
	if (q->work_cb != NULL && ALWAYS(q->active > 0)) {
		q->active--;
	}
	schedule(q);
}

/* ---- push mode
 * ---------------------------------------------------------------- */

static void timer_cb(uv_timer_t *t);

static void dispatch(struct baton_kube_workqueue *q)
{
	uint64_t next;
	const char *key;

	if (q->dispatching) {
		return;
	}
	BATON_ASSERT(q->work_cb != NULL); /* run() set it before schedule() */
	q->dispatching = true;
	(void)baton_kube_workqueue_tick(q);
	while (!q->shutting_down && q->active < q->workers &&
	       baton_kube_workqueue_get(q, &key) == 0) {
		q->active++;
		q->work_cb(q, key);
	}
	q->dispatching = false;
	if (q->shutting_down) {
		return;
	}
	next = baton_kube_workqueue_tick(q);
	if (q->head != NULL && q->active < q->workers) {
		next = 0;
	}
	if (next != UINT64_MAX) {
		uv_timer_start(&q->timer, timer_cb, next, 0);
	} else {
		uv_timer_stop(&q->timer);
	}
}

static void timer_cb(uv_timer_t *t)
{
	dispatch(t->data);
}

static void schedule(struct baton_kube_workqueue *q)
{
	if (q->loop == NULL || q->work_cb == NULL || q->shutting_down ||
	    q->dispatching) {
		return;
	}
	uv_timer_start(&q->timer, timer_cb, 0, 0);
}

int baton_kube_workqueue_run(struct baton_kube_workqueue *q, int workers,
			     baton_kube_work_cb work_cb)
{
	if (q->loop == NULL || workers < 1) {
		return BATON_EINVAL;
	}
	q->workers = workers;
	q->work_cb = work_cb;
	schedule(q);
	return 0;
}

static void free_all(struct baton_kube_workqueue *q)
{
	while (q->head != NULL) {
		struct wq_node *n = q->head;
		q->head = n->next;
		free(n);
	}
	q->tail = NULL;
	q->len = 0;
	json_decref(q->dirty);
	json_decref(q->processing);
	json_decref(q->failures);
	json_decref(q->delayed);
	q->dirty = q->processing = q->failures = q->delayed = NULL;
}

static void closed_cb(uv_handle_t *h)
{
	struct baton_kube_workqueue *q = h->data;
	free_all(q);
	if (q->close_cb != NULL) {
		q->close_cb(q);
	}
}

void baton_kube_workqueue_close(struct baton_kube_workqueue *q,
				baton_kube_workqueue_close_cb close_cb)
{
	if (q->shutting_down) {
		return;
	}
	q->shutting_down = true;
	q->close_cb = close_cb;
	if (q->loop != NULL) {
		uv_close((uv_handle_t *)&q->timer, closed_cb);
		return;
	}
	free_all(q);
	if (close_cb != NULL) {
		close_cb(q);
	}
}
