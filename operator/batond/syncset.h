/* The primary's synchronous standby list and the lease gate that keeps it
 * honest (docs/design-per-instance.md §3.3), as pure functions of the FSM.
 *
 * The list. In synchronous mode the primary lists, in
 * synchronous_standby_names = 'ANY 1 (...)', the pods of ∪ L(R) over the
 * other data regions R (the FSM's `listed` masks): "<sts(R)>-<k>" for each
 * k in L(R). Regions the spec gives no instance (replicas 0) are left out,
 * as children.c's boot default (--sync-names) always left them out: a name
 * that can never connect would make a fleet with one data region and an
 * empty one block every commit. While every region is at ordinal 0 with
 * L = {0} the list is exactly that boot default, in the same order. G, the
 * list's generation, is the FSM's applied count when the list was derived
 * (consensus/fsm.h, `applied`): the same on every node at the same log
 * entry and only growing, so an agent can refuse an older list (agent.md,
 * `standbys`) whichever batond sent it. The primary's agent gets a
 * `standbys` order only when the list it reports (status `syncConfig`)
 * names other instances than the FSM's: an equal list at an older G needs
 * no order, since the list in force is already the committed one.
 *
 * The gate. (I-LIST): while the epoch's primary can commit, its configured
 * list is within ∪ M(R), the members whose finals a synchronous failover
 * awaits. So in synchronous mode a lease is granted only when the primary
 * agent *reports* a list and every name of it is a member's pod (M, not L:
 * a list still naming an instance that just left L is safe, that instance
 * is still awaited, and must keep its lease). A restarted agent with a
 * stale persisted list, a lost order or an agent that reports no list gets
 * no grant, and pg_lease refuses its commits. In asynchronous mode there is
 * no list and no gate.
 *
 * No I/O, no clock: the agent driver (agents.c) feeds it the FSM's state,
 * the spec and the agent's status, and sends what it says.
 */
#ifndef BATON_BATOND_SYNCSET_H
#define BATON_BATOND_SYNCSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batond/dbspec.h"
#include "consensus/decider.h"

/* The agent takes at most 16 names of 1-63 bytes (agent.md, syncNames). */
#define BATON_SYNCSET_MAX 16
#define BATON_SYNCSET_NAME_SIZE 64

/* A synchronous list: what the FSM says (derived) or what an agent
 * reports (its syncConfig). */
struct baton_syncset {
	uint64_t gen;
	unsigned n;
	char names[BATON_SYNCSET_MAX][BATON_SYNCSET_NAME_SIZE];
};

/* REGION's designated ordinal in the FSM's ST; 0 when ST is NULL or does
 * not know REGION (what every site assumed before the designation). */
int baton_syncset_designated(const struct baton_db_state *st,
			     const char *region);

/* The list the FSM's ST asks of its primary, for SPEC (the regions'
 * replicas and the StatefulSets' names), at generation APPLIED. Empty in
 * asynchronous mode (the FSM's cfg.synchronous, which CONFIG keeps in step
 * with the spec). 0, or BATON_ETOOLARGE past BATON_SYNCSET_MAX names
 * (never with the CRD's 7 regions of at most 2 listed instances). */
int baton_syncset_derive(const struct baton_db_state *st,
			 const struct baton_dbspec *spec, uint64_t applied,
			 struct baton_syncset *out);

/* The list agent status STATUS reports (its syncConfig): true and OUT
 * filled; false when there is none or it is malformed (no gen, names not
 * an array of names, too many), which counts as none. */
bool baton_syncset_reported(json_t *status, struct baton_syncset *out);

/* Whether the primary's agent, reporting HAVE (NULL: no syncConfig, the
 * boot default in force), needs a standbys order with WANT. With no list
 * reported it does in synchronous mode (the gate wants a reported list,
 * even an empty one) or when WANT names someone; else when the names
 * differ, compared as sets and without case (as PostgreSQL matches
 * synchronous_standby_names). The generations are not compared. */
bool baton_syncset_needs_order(const struct baton_db_state *st,
			       const struct baton_syncset *want,
			       const struct baton_syncset *have);

/* Whether the primary's agent, reporting HAVE (NULL: none), needs a
 * standbys order because a RELEASE waits for an answer at G >= NEED
 * (consensus/designate.h, out->need_gen; 0: none) and the G of the list
 * it reports is below NEED (§9 note 31: after a restart the LEAVE's index
 * is not known, and an equal list is otherwise no order). WANT_GEN, the G
 * the order would carry, must reach NEED, or its answer would not count.
 * The agent accepts a higher G, and takes an equal one as a retry that
 * reads X afresh. */
bool baton_syncset_needs_gen(uint64_t need, const struct baton_syncset *have,
			     uint64_t want_gen);

/* The lease gate: true when the primary of ST, reporting HAVE (NULL:
 * none), may be granted a lease as far as its list goes. Asynchronous:
 * always. Synchronous: HAVE is there and each of its names is the pod of a
 * member (M) of a data region other than the primary. */
bool baton_syncset_gate(const struct baton_db_state *st,
			const struct baton_syncset *have);

#endif /* BATON_BATOND_SYNCSET_H */
