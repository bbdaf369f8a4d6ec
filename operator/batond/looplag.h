/* How late batond's event loop runs, measured from inside it.
 *
 * Everything batond does for a lease happens on one libuv loop: Raft's
 * heartbeats and elections, the renewer's ticks, the agents' answers. A
 * loop that stalls (CPU starvation, a slow disk under a synchronous call,
 * a long computation) delays all of them by the same amount, and a stall
 * longer than Raft's election timeout costs the fleet its leader. The
 * probe is a timer due every BATON_LOOPLAG_PERIOD_MS: how much later than
 * that it fires is the loop's lag. Every sample feeds
 *
 *   baton_loop_lag_seconds                  (histogram)
 *
 * and a lag of BATON_LOOPLAG_WARN_MS or more is logged (warn), so that a
 * leadership change or a lapsed lease can be matched with a stall in the
 * logs.
 */
#ifndef BATON_BATOND_LOOPLAG_H
#define BATON_BATOND_LOOPLAG_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "http/metrics.h"

#define BATON_LOOPLAG_PERIOD_MS 100
#define BATON_LOOPLAG_WARN_MS 250

struct baton_looplag {
	uv_timer_t timer;
	struct baton_metric *seconds;
	uint64_t due_ms; /* monotonic ms the next firing is due */
	uint64_t max_ms; /* the largest lag seen */
	bool started;
};

/* Registers the histogram in M and starts the probe on LOOP.
 * BATON_ENOMEM on failure (nothing started). */
int baton_looplag_start(struct baton_looplag *l, struct baton_metrics *m,
			uv_loop_t *loop);

/* The lag of a firing at NOW_MS that was due at DUE_MS (0 when early). */
uint64_t baton_looplag_of(uint64_t due_ms, uint64_t now_ms);

/* Closes the timer (the loop must run once more to finish the close). */
void baton_looplag_stop(struct baton_looplag *l);

#endif /* BATON_BATOND_LOOPLAG_H */
