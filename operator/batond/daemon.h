/* The batond process: one libuv loop holding this region's kube client, the
 * peers' kube clients (read-only), the HTTP endpoints, the controller
 * (informers, work queue, reconcile jobs) and the Raft node.
 *
 * Start-up: config → kube clients → HTTP (/healthz answers at once,
 * /readyz only once the caches have synced) → controller.
 * Shutdown (SIGTERM/SIGINT): stop taking work, let in-flight reconciles
 * finish or cancel, close every handle, and return from the loop with
 * uv_loop_close() == 0.
 */
#ifndef BATON_BATOND_DAEMON_H
#define BATON_BATOND_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "batond/applyhash.h"
#include "batond/applyseed.h"
#include "batond/config.h"
#include "batond/controller.h"
#include "batond/designation.h"
#include "batond/heaptrim.h"
#include "batond/kubemetrics.h"
#include "batond/looplag.h"
#include "batond/peertoken.h"
#include "batond/raftglue.h"
#include "batond/scope.h"
#include "batond/statusecho.h"
#include "http/metrics.h"
#include "http/procmetrics.h"
#include "http/server.h"
#include "kube/client.h"
#include "kube/events.h"

struct baton_consensus_ops;
struct baton_agentpki;

struct baton_batond {
	uv_loop_t *loop;
	struct baton_batond_config *cfg;
	struct baton_scope scope; /* watchNamespaces */
	struct baton_kube_client kube;
	bool kube_ready;
	/* every Event batond records (batond/events.h); open while the kube
	 * client is */
	struct baton_kube_recorder events;
	bool events_ready;
	struct baton_http_server http;
	bool http_started;
	struct baton_metrics metrics;
	struct baton_metric *m_reconciles;
	struct baton_metric *m_reconcile_seconds;
	struct baton_metric *m_queue_depth;
	struct baton_kubemetrics kube_metrics; /* requests, watch restarts */
	struct baton_looplag loop_lag;	       /* baton_loop_lag_seconds */
	struct baton_heaptrim heap_trim;       /* freed heap given back */
	struct baton_metric *m_epoch;
	struct baton_metric *m_primary;
	struct baton_metric *m_up;
	/* failover steps, from the promote applied here: "labelled" (the
	 * primary Service selects the new primary in this region), "serving"
	 * (its endpoint is published) */
	struct baton_metric *m_failover_step;
	struct baton_procmetrics procm; /* process_* series */
	uv_signal_t sigterm;
	uv_signal_t sigint;
	/* the controller: its memory is ours (batond/controller.h);
	 * CONTROLLER is &ctl from a successful baton_controller_init() to
	 * its close callback, NULL otherwise */
	struct baton_controller ctl;
	struct baton_controller *controller;
	/* the designation's view and memory (batond/designation.h), read by
	 * the driver through the observer while the controller runs */
	struct baton_designation desig;
	/* the Raft glue: its memory is ours (batond/raftglue.h), open from
	 * a successful baton_raftglue_init() to its close callback */
	struct baton_raftglue raft;
	bool raft_open;
	/* the peer tokens: their memory is ours (batond/peertoken.h), open
	 * from a successful baton_peertoken_init() to its close callback */
	struct baton_peertoken peertoken;
	bool peertoken_open;
	const struct baton_consensus_ops *consensus; /* NULL: not started */
	char batond_url[300]; /* where agents reach this batond */
	/* the region's agent CA (NULL: the agent API has no TLS) */
	struct baton_agentpki *agent_pki;
	/* the children applied so far, by stamp (batond/applyhash.h) */
	struct baton_applyhash applied;
	/* seeds APPLIED from the live children before the controller
	 * starts (batond/applyseed.h); SEED_TIMER bounds the wait, then
	 * drops the seeded sets no reconcile claimed (open while
	 * SEED_TIMER_OPEN) */
	struct baton_applyseed seed;
	uv_timer_t seed_timer;
	bool seed_timer_open;
	uint64_t seed_started_ms;
	/* the status each reconcile wants (batond/statusecho.h) */
	struct baton_statusecho echoes;
	bool stopping;
	int exit_code;
	char errmsg[BATON_ERRMSG_SIZE];
};

/* Runs until SIGTERM/SIGINT. Returns the process exit code. */
int baton_batond_run(struct baton_batond_config *cfg);

/* Begins the graceful shutdown (also called by the signal handlers). */
void baton_batond_stop(struct baton_batond *d, int exit_code);

#endif /* BATON_BATOND_DAEMON_H */
