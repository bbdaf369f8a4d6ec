/* The forensic fence ("hold") of one database instance: keep it as it is,
 * read-only, for someone to look at.
 *
 * An operator sets the annotation baton.dev/forensic-fence on one database
 * pod (`batonctl fence NS/DB POD --reason TEXT`, a merge patch through the
 * region's API server: the same authentication and RBAC as a switchover's
 * request) and removes it again (`batonctl unfence`). While the pod carries
 * it, this region's batond (batond/agents.c, through the functions below):
 *
 *   - orders the instance nothing but `fence`, and that only while it
 *     reports itself writable or unfenced: no init, promote, rejoin (no
 *     pg_rewind rewrites its WAL), detach or demote;
 *   - grants its agent no lease (grantMillis 0): the agent fences an
 *     instance without a valid lease by itself, and baton_lease inside
 *     PostgreSQL refuses every commit past the last grant, so the instance
 *     is read-only whatever batond's orders;
 *   - reports it to the FSM as serving nothing: a held designated
 *     instance (ordinal 0) makes its region no candidate for a promotion;
 *     in the primary's region the lease is not renewed any more, so the
 *     FSM fails the database over (automatic mode) or says the primary is
 *     lost (manual mode), as for a dead instance;
 *   - gives no final position for it in a synchronous failover: the
 *     instance may hold the only copy of an acknowledged commit, so the
 *     failover waits for it (FailoverBlocked, WaitingForStandby) instead
 *     of promoting a region that holds less;
 *   - does not publish it as the region's primary endpoint.
 *
 * Safety (at most one writable primary per epoch): a hold only takes away
 * (orders, lease, health); nothing here makes an instance writable, and
 * removing the hold gives back nothing but the ordinary path, on which an
 * instance is writable only as the FSM's promoted designated instance of
 * the current epoch holding a lease. So neither setting nor removing the
 * annotation (by anyone who may patch the pod) can make two instances
 * writable; a peer region's batond may not touch it (the chart's admission
 * policy lets peers change only the fence labels and baton.dev/fenced-by).
 *
 * The hold lives on the pod: a pod deleted and recreated by its
 * StatefulSet comes back without it (and is rejoined as usual); its data
 * directory is on its volume, which the recreation keeps.
 */
#ifndef BATON_BATOND_HOLD_H
#define BATON_BATOND_HOLD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "batond/agents.h"

/* The reason a hold's annotation gives is cut to this many bytes. */
#define BATON_HOLD_REASON_SIZE 160

/* Whether POD (a pod object) carries the hold; its value (who and why) in
 * REASON of LEN, "" when empty. A pod without metadata is not held. */
bool baton_hold_of_pod(json_t *pod, char *reason, size_t len);

/* The order for a held instance V (baton_agents_decide's OUT, epoch set by
 * the caller): fence while it reports itself writable, or a primary that
 * is not fenced; else nothing. */
void baton_hold_decide(const struct baton_agent_view *v,
		       struct baton_agent_order *out);

#endif /* BATON_BATOND_HOLD_H */
