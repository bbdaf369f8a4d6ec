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
 *
 * Lifecycle: the memory is the caller's (daemon.c embeds it in struct
 * baton_batond), libuv's rule; everything it reads of the daemon comes in
 * struct baton_controller_config. baton_controller_init() opens, in order
 * (each a fail point, common/failpoint.h): peer fencing, the work
 * queue (init, run), the two informers (init, init, start, start), the peer
 * watches, the discovery timer, the agent driver (its own stages:
 * batond/agents.h). On failure it returns the error (ERRMSG says which
 * stage) and closes what it opened, newest first (err_after_*): nothing is
 * half-open and C must not be closed. Some of those closes finish on the
 * loop: C's memory is the caller's again once the loop ran them.
 * baton_controller_close() cancels the work in flight and closes every
 * handle; CB(C) runs once the last close callback ran, and C's memory is
 * the caller's again.
 */
#ifndef BATON_BATOND_CONTROLLER_H
#define BATON_BATOND_CONTROLLER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "batond/agents.h"
#include "batond/config.h"
#include "batond/consensus.h"
#include "batond/dbstate.h"
#include "batond/labels.h"
#include "batond/lastfailover.h"
#include "batond/peerfence.h"
#include "batond/peerwatch.h"
#include "batond/reconcile.h"
#include "batond/scope.h"
#include "kube/informer.h"
#include "kube/workqueue.h"

struct baton_controller;
struct baton_agentpki;
struct baton_applyhash;
struct baton_kube_recorder;
struct baton_metric;

/* What the controller reads of the daemon; set by daemon.c. Every pointer
 * outlives the controller. */
struct baton_controller_config {
	/* region, driftPercent, marginMillis, clusterDomain, the Istio
	 * cluster ids, agentApi.bind, the peers (their kubeconfigs: the
	 * peer watches) */
	const struct baton_batond_config *cfg;
	struct baton_scope *scope;	    /* watchNamespaces */
	struct baton_kube_client *kube;	    /* this region's API server */
	struct baton_kube_recorder *events; /* batond/events.h */
	const struct baton_consensus_ops *consensus; /* Raft's side */
	const char *batond_url;		  /* where agents reach this batond */
	struct baton_agentpki *agent_pki; /* NULL: no TLS to agents */
	/* the children applied so far, by stamp (batond/applyhash.h) */
	struct baton_applyhash *applied;
	/* the status each reconcile wants (batond/statusecho.h) */
	struct baton_statusecho *echoes;
	/* metrics (NULL: not kept) */
	struct baton_metric *m_reconciles, *m_reconcile_seconds, *m_queue_depth,
	    *m_epoch, *m_primary, *m_failover_step;
};

typedef void (*baton_controller_close_cb)(struct baton_controller *c);

int baton_controller_init(uv_loop_t *loop, struct baton_controller *c,
			  const struct baton_controller_config *cfg,
			  char *errmsg);
void baton_controller_close(struct baton_controller *c,
			    baton_controller_close_cb cb);
bool baton_controller_ready(struct baton_controller *c, char *why, size_t size);
void baton_controller_update_metrics(struct baton_controller *c);
json_t *baton_controller_status(struct baton_controller *c);

/* What this region reports to the FSM about DB ("ns/name"). */
void baton_controller_region_report(struct baton_controller *c, const char *db,
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

/* Private. */

#define BATON_CONTROLLER_WORKERS 4

struct baton_controller_worker {
	struct baton_controller *c;
	struct baton_reconcile job;
	char key[160];
	bool busy;
	uint64_t started_ms;
};

struct baton_controller {
	/* Public. */
	void *data; /* the caller's; the controller never touches it */

	/* Private. */
	struct baton_controller_config cc;
	uv_loop_t *loop;
	/* one record per database: its pods, label wait, last proposal,
	 * viewed primary, peer fencing's round, status.lastFailover
	 * (batond/dbstate.h) */
	struct baton_dbstate dbstate;
	/* the peer clusters' DatabaseClusters (batond/peerwatch.h) */
	struct baton_peerwatch peers;
	struct baton_kube_informer dbcs;
	struct baton_kube_informer pods;
	struct baton_kube_workqueue queue;
	struct baton_reconcile_env env;
	struct baton_controller_worker workers[BATON_CONTROLLER_WORKERS];
	const struct baton_consensus_ops *consensus;
	/* the agent driver: &agent_driver while it is open, else NULL */
	struct baton_agents *agents;
	struct baton_agents agent_driver;
	/* the label fence's patches (batond/labels.h) */
	struct baton_label_req labels[BATON_LABEL_SLOTS];
	/* discovery: the group/versions this cluster serves (mesh CRDs) */
	json_t *served;
	struct baton_kube_request discovery_req;
	bool discovery_pending;
	uv_timer_t discovery_timer;
	int label_pending;
	bool stopping;
	int closing;
	baton_controller_close_cb close_cb;
	/* status.lastFailover as this batond saw it (kept in dbstate) */
	struct baton_lastfailover lastfo;
	/* peer fencing (batond/peerfence.h; its rounds are in dbstate) */
	struct baton_peerfence fence;
};

#endif /* BATON_BATOND_CONTROLLER_H */
