/* The two interfaces between batond's Raft side (batond/raftglue.c) and
 * the parts that act on its decisions (the controller, the agent driver).
 *
 * Down: struct baton_consensus_ops, what raftglue offers. The controller
 * and the agent driver read the FSM and propose through it, never through
 * raftglue's own functions.
 *
 * Up: struct baton_raft_observer, what raftglue tells whoever acts on the
 * FSM. raftglue starts before the controller and stops after it, so
 * daemon.c sets the observer once the controller has started and clears it
 * before the controller stops (baton_raftglue_observe()); in between, and
 * only then, raftglue calls it. raftglue includes no header above this
 * one: the arrow from raftglue to the controller is a pointer daemon.c
 * hands it, not an #include.
 */
#ifndef BATON_BATOND_CONSENSUS_H
#define BATON_BATOND_CONSENSUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus/designate.h"
#include "consensus/driver.h"
#include "consensus/fsm.h"

struct baton_consensus_ops {
	void *data;
	/* The FSM's replicated state of DB ("ns/name"), or NULL. */
	const struct baton_db_state *(*db)(void *data, const char *db);
	/* A Raft majority is reachable from here (leader known, contact). */
	bool (*quorum)(void *data);
	/* This node is the Raft leader. */
	bool (*leader)(void *data);
	/* Propose CMD (asynchronous; the FSM observer reports the result).
	 * BATON_ENOTLEADER when this node cannot propose. */
	int (*propose)(void *data, const struct baton_cmd *cmd);
	/* Raft status for /v1/status and metrics. */
	json_t *(*status)(void *data);
	/* This region holds a valid lease for DB at EPOCH (it may act as the
	 * primary); false as soon as the lease lapses. */
	bool (*lease_valid)(void *data, const char *db, uint64_t epoch);
	/* How long this region's agent may hold the lease for DB at EPOCH,
	 * measured from now on the agent's clock (0: no valid lease). */
	uint64_t (*agent_grant)(void *data, const char *db, uint64_t epoch);
	/* This node leads and its decider considers DB's primary lease
	 * expired (manual mode: a human may promote now). */
	bool (*lease_expired)(void *data, const char *db);
	/* DB's primary lease expired in this node's view (any node; for
	 * status, not for decisions). May be NULL. */
	bool (*primary_lost)(void *data, const char *db);
	/* Grows whenever a command that changes a role or a phase applies
	 * (anything but renewals and reports), so that the agent driver acts
	 * on it at once instead of on its next tick. May be NULL. */
	uint64_t (*generation)(void *data);
	/* Commands the FSM applied here so far (struct baton_fsm, applied):
	 * a function of the log position, the same on every node at the
	 * same entry, and it only grows (a snapshot carries it). The
	 * generation of a synchronous list (batond/syncset.h). May be NULL:
	 * then no list is sent. */
	uint64_t (*applied)(void *data);
	/* Something this region reports changed (a standby's final
	 * position is known): run the consensus tick now, not on its next
	 * 50 ms. May be NULL. */
	void (*kick)(void *data);
	/* The G a standbys answer for DB must reach before a RELEASE can be
	 * proposed (baton_driver_need_gen(): the last designation's
	 * out->need_gen), 0: none. The primary's agent is sent a standbys
	 * order while the G it reports is below it (§9 note 31). May be
	 * NULL: none. */
	uint64_t (*need_gen)(void *data, const char *db);
};

/* What raftglue tells the part that acts on the FSM. Every member but
 * designate is required once the observer is set; none is called
 * re-entrantly from another. */
struct baton_raft_observer {
	void *data;
	/* The FSM applied a command for DB ("ns/name"): act on it (the
	 * controller reconciles it). */
	void (*fsm_changed)(void *data, const char *db);
	/* The FSM applied a promote (CMD); FROM is the old primary region,
	 * or NULL when not known (status.lastFailover). */
	void (*promoted)(void *data, const struct baton_cmd *cmd,
			 const char *from);
	/* This node just became the Raft leader: whatever waited for a
	 * leader (a registration) may proceed. */
	void (*became_leader)(void *data);
	/* What this region reports to the FSM about DB (filled in OUT). */
	void (*region_report)(void *data, const char *db,
			      struct baton_region_report *out);
	/* A synchronous failover of DB at EPOCH, round ROUND, needs the
	 * final position of this region's member ORDINAL (the designated
	 * instance, or mid-move the other member: driver.h): true and OUT
	 * filled once known. */
	bool (*final_report)(void *data, const char *db, uint64_t epoch,
			     uint64_t round, int ordinal,
			     struct baton_region_report *out);
	/* Optional (NULL: nothing known). What this region sees of DB's pods
	 * and agents for the designation (consensus/designate.h): IN->st,
	 * IN->me and IN->applied are set, the rest is filled here; false
	 * when nothing is known yet. NOW is the driver's clock (the lease
	 * clock). Called only when batond runs with --designation. */
	bool (*designate)(void *data, const char *db,
			  struct baton_designate_input *in, uint64_t now);
};

#endif /* BATON_BATOND_CONSENSUS_H */
