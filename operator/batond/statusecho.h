/* Which DatabaseCluster watch events are only the echo of batond's own
 * status write, and need no reconcile.
 *
 * Every status patch batond sends comes back as a watch event of its own
 * DatabaseCluster (a new resourceVersion, the new status), and every
 * update used to enqueue the database: one more reconcile per status
 * write, which recomputes the status it just wrote and finds nothing to
 * do. In `make bench-batond DBS=200` these were 580 of 969 reconciles'
 * triggers (issue 20).
 *
 * The reconcile says which status it wants for each database (its
 * "intent", a stamp of the status it computed: written, or found already
 * there); an update is an echo, and is not enqueued, only when
 *
 * - it is not the informer's resync (OLD and NEW are one object: the
 *   resync is how drift is repaired, docs/batond.md "Writes per
 *   database");
 * - nothing batond reads of the object changed but metadata.resourceVersion
 *   and the status (the cached object is pruned to what batond reads,
 *   batond/cachefields.h, so that is every other field of it);
 * - the new status is exactly the database's intent.
 *
 * Anything else reconciles as before: a status someone else edited, a
 * write that raced a stale cache and left a status the reconcile did not
 * compute (a merge patch keeps keys it does not name), a status that went
 * back to an older one. A reconcile that finds the status it wants
 * already there records that as its intent too, so an echo of an earlier
 * write that an input change has overtaken since is not taken for the
 * current intent.
 *
 * Why skipping is safe: the status is a function of the inputs (the
 * spec, the FSM, the region's pods, the peers) and of the status before
 * it, and a status the reconcile computed is a fixed point of it (a
 * reconcile on its echo computes it again: that is why steady databases
 * write nothing). A changed input enqueues the database on its own.
 *
 * Pure: no I/O, no clock. Bounded: at most MAX databases; beyond that a
 * database's updates are all reconciled, as before.
 */
#ifndef BATON_BATOND_STATUSECHO_H
#define BATON_BATOND_STATUSECHO_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus/index.h"

struct baton_statusecho {
	struct baton_index dbs; /* "ns/name" -> its intent's stamp */
};

void baton_statusecho_init(struct baton_statusecho *t, unsigned max_dbs);
void baton_statusecho_free(struct baton_statusecho *t);

/* The reconcile of DB ("ns/name") wants STATUS (the status it computed,
 * whether it writes it or found it there). NULL STATUS, or a stamp that
 * cannot be taken, forgets DB's intent (its updates reconcile). */
void baton_statusecho_intend(struct baton_statusecho *t, const char *db,
			     json_t *status);

/* The status write of DB's intent is being sent at NOW_MS (monotonic):
 * until the cache holds that status, the cache is behind batond's own
 * write (baton_statusecho_behind). */
void baton_statusecho_writing(struct baton_statusecho *t, const char *db,
			      uint64_t now_ms);

/* DB's status write ended without writing (an error): nothing to wait
 * for. */
void baton_statusecho_unsent(struct baton_statusecho *t, const char *db);

/* Whether the status CACHED (NULL: none) that a reconcile of DB reads at
 * NOW_MS is older than DB's own status write: written less than
 * BATON_STATUSECHO_BEHIND_MS ago, and not the intent. Such a reconcile
 * waits (the caller requeues it with backoff) instead of computing a new
 * status from the old one: from a stale cache it wrote the same status
 * again, with new transition times and the phase Event a second time (a
 * database's second reconcile, woken while its first ran, read the cache
 * before the first write's watch event reached it: two status writes
 * and two Events of each new database in a run of five, rarer with more
 * in the queue, issue 20). Past the bound
 * (the echo lost: someone else wrote the status meanwhile, a watch
 * restarting) the cache is believed again. Clears DB's wait once the
 * cache holds the intent; while a reconcile waits, the echo of that write
 * is no echo (baton_statusecho_echo): it enqueues the database, so the
 * wait ends with the watch event, not with the backoff. */
#define BATON_STATUSECHO_BEHIND_MS 2000
bool baton_statusecho_behind(struct baton_statusecho *t, const char *db,
			     json_t *cached, uint64_t now_ms);

/* Whether the update of a cached DatabaseCluster from OLD_OBJ to NEW_OBJ
 * (both as the informer caches them) is only the echo of DB's intent.
 * False for a NULL T. */
bool baton_statusecho_echo(const struct baton_statusecho *t, json_t *old_obj,
			   json_t *new_obj);

/* DB is gone. */
void baton_statusecho_forget(struct baton_statusecho *t, const char *db);

/* The number of databases with an intent (tests). */
unsigned baton_statusecho_count(const struct baton_statusecho *t);

#endif /* BATON_BATOND_STATUSECHO_H */
