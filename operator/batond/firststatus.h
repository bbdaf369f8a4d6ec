/* A new database's first status waits for its registration (issue 20).
 *
 * A DatabaseCluster's first reconcile runs before its Raft registration
 * commits: its status said Provisioning, with an Event ("phase (none) →
 * Provisioning"), and the commit's reconcile, milliseconds later, wrote
 * it again with the primary the FSM chose, and another Event: four writes
 * where two say it all. So the first status is held back while
 *   - the object has no status yet (a status once written is never held:
 *     a restart whose log is behind writes as before),
 *   - this batond reaches a Raft majority (a commit can come),
 *   - the FSM does not hold the database, and
 *   - the object is younger than BATON_FIRSTSTATUS_WAIT_S by this
 *     process's clock (its creationTimestamp; an unparseable one, or one
 *     in the future, is not held).
 * The commit enqueues the database (the FSM's change), and meanwhile the
 * controller looks again with backoff, as for any database its FSM does
 * not hold. Past the wait, or without a majority, the status says
 * Provisioning as before: a registration that cannot commit (a full FSM,
 * a lost majority) is hidden for at most the wait plus one backoff step,
 * never for ever.
 */
#ifndef BATON_BATOND_FIRSTSTATUS_H
#define BATON_BATOND_FIRSTSTATUS_H

#include <jansson.h>
#include <stdbool.h>

#include "batond/status.h"

#define BATON_FIRSTSTATUS_WAIT_S 30.0

/* Whether the status OLD (NULL: none) of a database AGE_S seconds old
 * (negative: unknown), with FSM this region's view of it, is held back.
 * Pure. */
bool baton_firststatus_hold(const json_t *old, const struct baton_fsm_view *fsm,
			    double age_s);

#endif
