/* status.lastFailover: what this batond saw of each database's last
 * promote, and how long each step after it took here.
 *
 * A record starts when the FSM applies a promote (from, to, epoch, reason,
 * startedAt, appliedAt with microseconds so that regions can be compared);
 * the controller then adds each step once, in milliseconds after the
 * promote was applied here (stepsMillis: "labelled" when the primary label
 * landed, "routed" when every routing object points at the new primary,
 * "serving" when its endpoint is published, which also sets completedAt;
 * the agent driver adds the hops it sees, batond/agents.h: "committed"
 * and "fenced" before the promote, negative, then "promoted", "writable"
 * and "standby").
 *
 * No I/O and no clock: times come in, Event messages come out; the
 * controller (batond/controller.c) reads the clocks, feeds the
 * baton_failover_step_seconds metric and records the Events. Nothing here
 * is needed for safety: it is what people read after a failover.
 */
#ifndef BATON_BATOND_LASTFAILOVER_H
#define BATON_BATOND_LASTFAILOVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "batond/dbstate.h"
#include "consensus/fsm.h"

struct baton_lastfailover {
	/* Private: the per-database records it keeps its state in (the
	 * owner's, batond/dbstate.h: last_failover, promote_ms; the "from"
	 * of a promote is the record's primary as last viewed). */
	struct baton_dbstate *dbs;
};

/* Keeps its state in DBS, which outlives it; 0 (allocates nothing). */
int baton_lastfailover_init(struct baton_lastfailover *r,
			    struct baton_dbstate *dbs);
/* Nothing of its own to free: the records are DBS's. */
void baton_lastfailover_close(struct baton_lastfailover *r);

/* The FSM applied CMD, a promote, FROM the region named (NULL: DB's
 * primary as last viewed, baton_dbstate_primary()) at NOW (RFC 3339), NOW_MICRO
 * (with microseconds) and NOW_MS (monotonic). Starts a new record; fills MSG
 * (FailoverStarted) and returns true, or false when out of memory. */
bool baton_lastfailover_promoted(struct baton_lastfailover *r,
				 const struct baton_cmd *cmd, const char *from,
				 const char *now, const char *now_micro,
				 uint64_t now_ms, char *msg, size_t size);

/* DB's record (borrowed), or NULL. */
json_t *baton_lastfailover_get(struct baton_lastfailover *r, const char *db);

/* Milliseconds from DB's last promote applied here to NOW_MS, or -1. */
int64_t baton_lastfailover_since(struct baton_lastfailover *r, const char *db,
				 uint64_t now_ms);

/* Records STEP, MS after the promote: once per failover (EPOCH must be
 * the record's), never a negative MS. Returns whether it was new. */
bool baton_lastfailover_step(struct baton_lastfailover *r, const char *db,
			     uint64_t epoch, const char *step, int64_t ms);

/* Records STEP, which happened here at AT_MS (monotonic, the clock of
 * baton_lastfailover_promoted()'s NOW_MS) *before* DB's promote at EPOCH
 * was applied here: stepsMillis then holds AT_MS minus the promote's time,
 * zero or negative (a switchover committed, the old primary fenced). Once
 * per failover; refused when AT_MS is after the promote or more than
 * BATON_LASTFAILOVER_BEFORE_MS before it (a round called off long ago).
 * Returns whether it was new. */
#define BATON_LASTFAILOVER_BEFORE_MS 120000
bool baton_lastfailover_before(struct baton_lastfailover *r, const char *db,
			       uint64_t epoch, const char *step,
			       uint64_t at_ms);

/* The region DB's last promote went to while it is not known to serve
 * yet (no completedAt), or NULL. */
const char *baton_lastfailover_awaiting(struct baton_lastfailover *r,
					const char *db);

/* The new primary serves at ENDPOINT (seen at NOW, RFC 3339, NOW_S on
 * the wall clock), MS after the promote was applied here (-1: unknown):
 * sets completedAt and fills MSG (FailoverCompleted). The caller records
 * the "serving" step. */
void baton_lastfailover_serving(struct baton_lastfailover *r, const char *db,
				const char *endpoint, const char *now,
				time_t now_s, int64_t ms, char *msg,
				size_t size);

/* Every routing object of DB points at PRIMARY at EPOCH (MESH the backend)
 * MS after the promote: when that is DB's last promote's target and the
 * step is new, records "routed", fills MSG (TrafficRouted) and returns
 * true. */
bool baton_lastfailover_routed(struct baton_lastfailover *r, const char *db,
			       const char *primary, uint64_t epoch,
			       const char *mesh, int64_t ms, char *msg,
			       size_t size);

#endif /* BATON_BATOND_LASTFAILOVER_H */
