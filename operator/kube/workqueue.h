/* A rate-limited work queue of string keys, with client-go's semantics.
 *
 *   - add() de-duplicates: a key waiting in the queue is queued once;
 *   - a key is never handed to two workers at once; a key added while it is
 *     being processed is queued again when done() is called;
 *   - add_rate_limited() waits max(5 ms·2^failures capped at 1000 s, a
 *     10 qps / 100 burst token bucket) (DefaultControllerRateLimiter);
 *     forget() resets the failure count; add_after() delays an add (the
 *     earliest pending time wins).
 *
 * Time comes from opts.clock (ms), so tests inject it. Two ways to drive it:
 *   - pull: get()/done() and tick() (promotes due delayed keys), with no
 *     loop (loop NULL) — what the unit tests use;
 *   - push: run() on a libuv loop calls work_cb(q, key) for up to N keys at
 *     a time; the worker calls done(q, key) when finished (possibly later,
 *     from another callback).
 */
#ifndef BATON_KUBE_WORKQUEUE_H
#define BATON_KUBE_WORKQUEUE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "kube/client.h"

typedef uint64_t (*baton_kube_clock_fn)(void *ud);

struct baton_kube_workqueue_opts {
	uint64_t base_delay_ms;	   /* 0: 5 */
	uint64_t max_delay_ms;	   /* 0: 1000 s */
	double qps;		   /* 0: 10; < 0: no bucket */
	int burst;		   /* 0: 100 */
	baton_kube_clock_fn clock; /* NULL: uv_now(loop) (or monotonic) */
	void *clock_ud;
};

struct baton_kube_workqueue;
typedef void (*baton_kube_work_cb)(struct baton_kube_workqueue *q,
				   const char *key);
typedef void (*baton_kube_workqueue_close_cb)(struct baton_kube_workqueue *q);

struct wq_node;

struct baton_kube_workqueue {
	void *data;

	/* Private. */
	uv_loop_t *loop;
	uv_timer_t timer;
	json_t *dirty;	    /* key → true: queued or to be re-queued */
	json_t *processing; /* key → its string (stable pointer for get) */
	json_t *failures;   /* key → count */
	json_t *delayed;    /* key → ready time (ms) */
	struct wq_node *head, *tail;
	size_t len;
	struct baton_kube_bucket bucket;
	uint64_t base_delay_ms, max_delay_ms;
	baton_kube_clock_fn clock;
	void *clock_ud;
	int workers;
	int active;
	bool shutting_down;
	bool dispatching;
	baton_kube_work_cb work_cb;
	baton_kube_workqueue_close_cb close_cb;
};

/* LOOP may be NULL (pull mode only). */
int baton_kube_workqueue_init(uv_loop_t *loop, struct baton_kube_workqueue *q,
			      const struct baton_kube_workqueue_opts *opts);
void baton_kube_workqueue_add(struct baton_kube_workqueue *q, const char *key);
void baton_kube_workqueue_add_after(struct baton_kube_workqueue *q,
				    const char *key, uint64_t delay_ms);
/* Returns the delay chosen. */
uint64_t baton_kube_workqueue_add_rate_limited(struct baton_kube_workqueue *q,
					       const char *key);
void baton_kube_workqueue_forget(struct baton_kube_workqueue *q,
				 const char *key);
int baton_kube_workqueue_num_requeues(struct baton_kube_workqueue *q,
				      const char *key);
/* Keys ready to be handed out (not counting delayed or processing ones). */
size_t baton_kube_workqueue_len(const struct baton_kube_workqueue *q);

/* Pull mode. get(): 0 and *KEY (valid until done), or BATON_EBUSY when
 * nothing is ready, BATON_ESHUTDOWN after shutdown. */
int baton_kube_workqueue_get(struct baton_kube_workqueue *q, const char **key);
void baton_kube_workqueue_done(struct baton_kube_workqueue *q, const char *key);
/* Moves due delayed keys into the queue; returns ms until the next one is
 * due, or UINT64_MAX if none. */
uint64_t baton_kube_workqueue_tick(struct baton_kube_workqueue *q);

/* Push mode (needs a loop): up to WORKERS keys in flight. */
int baton_kube_workqueue_run(struct baton_kube_workqueue *q, int workers,
			     baton_kube_work_cb work_cb);

/* Stops handing out keys, drops queued ones, and frees everything; with a
 * loop CLOSE_CB runs from the loop, without one it runs now. Keys being
 * processed may still be done() until CLOSE_CB. */
void baton_kube_workqueue_close(struct baton_kube_workqueue *q,
				baton_kube_workqueue_close_cb close_cb);

#endif /* BATON_KUBE_WORKQUEUE_H */
