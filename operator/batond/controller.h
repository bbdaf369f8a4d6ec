/* The DatabaseCluster controller inside batond.
 *
 * Informers keep caches of this cluster's DatabaseClusters and database
 * pods; every change enqueues the DatabaseCluster's key ("ns/name") in the
 * work queue; a worker runs one reconcile job (batond/reconcile.c) per key
 * at a time and requeues failures with backoff. After a successful
 * reconcile the controller brings the region's pod labels in line with the
 * FSM (role and epoch: the label fence).
 *
 * The Raft group is reached through struct baton_consensus_ops (implemented
 * over consensus/ by batond/raftglue.c); whenever the FSM applies a command
 * for a database, the controller enqueues it, so a committed promote turns
 * into labels, routing and status within one reconcile.
 */
#ifndef BATON_BATOND_CONTROLLER_H
#define BATON_BATOND_CONTROLLER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "consensus/driver.h"
#include "consensus/fsm.h"

struct baton_batond;
struct baton_controller;

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
};

int baton_controller_start(struct baton_batond *d,
			   struct baton_controller **out, char *errmsg);
bool baton_controller_ready(struct baton_controller *c, char *why, size_t size);
void baton_controller_update_metrics(struct baton_controller *c);
json_t *baton_controller_status(struct baton_controller *c);
void baton_controller_stop(struct baton_controller *c,
			   void (*stopped_cb)(struct baton_batond *d));

/* What this region reports to the FSM about DB ("ns/name"). */
void baton_controller_region_report(struct baton_controller *c, const char *db,
				    struct baton_region_report *out);

/* A synchronous failover needs this region's final position for DB
 * (baton_agents_final()). */
bool baton_controller_final_report(struct baton_controller *c, const char *db,
				   uint64_t epoch, uint64_t round,
				   struct baton_region_report *out);

/* Reconcile every cached DatabaseCluster (this node just became leader:
 * whatever waited for a leader to register can proceed). */
void baton_controller_resync_all(struct baton_controller *c);

/* The FSM applied a promote for CMD->db: remember it for
 * status.lastFailover (from, to, epoch, reason, times). */
void baton_controller_promoted(struct baton_controller *c,
			       const struct baton_cmd *cmd, const char *from);

/* The FSM applied a command for DB: reconcile it. */
void baton_controller_fsm_changed(struct baton_controller *c, const char *db);

#endif /* BATON_BATOND_CONTROLLER_H */
