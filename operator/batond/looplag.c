/* See looplag.h. The lag is measured on CLOCK_MONOTONIC, not on libuv's
 * cached loop time: uv_now() is refreshed only once per loop iteration, so
 * a callback that blocks the loop would hide from it. */
#include "batond/looplag.h"

#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"

uint64_t baton_looplag_of(uint64_t due_ms, uint64_t now_ms)
{
	return now_ms > due_ms ? now_ms - due_ms : 0;
}

static void tick(uv_timer_t *t)
{
	struct baton_looplag *l = t->data;
	uint64_t now = baton_mono_ms();
	uint64_t lag = baton_looplag_of(l->due_ms, now);

	(void)baton_metric_observe(l->seconds, NULL, (double)lag / 1000.0);
	if (lag > l->max_ms) {
		l->max_ms = lag;
	}
	if (lag >= BATON_LOOPLAG_WARN_MS) {
		baton_log(BATON_LOG_WARN, "batond",
			  "event loop stalled: a timer fired %llu ms late "
			  "(Raft heartbeats and lease renewals waited as long)",
			  (unsigned long long)lag);
	}
	l->due_ms = now + BATON_LOOPLAG_PERIOD_MS;
}

int baton_looplag_start(struct baton_looplag *l, struct baton_metrics *m,
			uv_loop_t *loop)
{
	static const double secs[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
				      0.25,  0.5,   1,	  2.5,	 5};

	memset(l, 0, sizeof *l);
	l->seconds = baton_metrics_add(
	    m, BATON_METRIC_HISTOGRAM, "baton_loop_lag_seconds",
	    "How much later than due a timer on batond's event loop fires "
	    "(Raft heartbeats and lease renewals wait as long)",
	    NULL, secs, sizeof secs / sizeof secs[0]);
	if (l->seconds == NULL) {
		return BATON_ENOMEM;
	}
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	l->due_ms = baton_mono_ms() + BATON_LOOPLAG_PERIOD_MS;
	uv_timer_start(&l->timer, tick, BATON_LOOPLAG_PERIOD_MS,
		       BATON_LOOPLAG_PERIOD_MS);
	uv_unref((uv_handle_t *)&l->timer); /* never keeps the loop alive */
	l->started = true;
	return 0;
}

void baton_looplag_stop(struct baton_looplag *l)
{
	if (l->started) {
		uv_close((uv_handle_t *)&l->timer, NULL);
		l->started = false;
	}
}
