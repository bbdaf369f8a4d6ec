/* The DatabaseCluster controller inside batond.
 *
 * Informers keep caches of this cluster's DatabaseClusters and database
 * pods; every change enqueues the DatabaseCluster's key ("ns/name") in the
 * work queue; a worker runs one reconcile job (batond/reconcile.c) per key
 * at a time and requeues failures with backoff. After a successful
 * reconcile the controller brings the region's pod labels in line with the
 * FSM (role and epoch: the label fence).
 *
 * The Raft group is reached through struct baton_consensus_ops
 * (batond/consensus.h, implemented over consensus/ by batond/raftglue.c);
 * Raft's side calls back through struct baton_raft_observer, which
 * daemon.c points at the functions at the end of this header once the
 * controller started: whenever the FSM applies a command for a database,
 * the controller enqueues it, so a committed promote turns into labels,
 * routing and status within one reconcile. Those functions are never
 * called with a NULL controller.
 */
#ifndef BATON_BATOND_CONTROLLER_H
#define BATON_BATOND_CONTROLLER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "batond/consensus.h"

struct baton_batond;
struct baton_controller;

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
