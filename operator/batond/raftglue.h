/* batond's side of the Raft group: the node, the decider loop, the lease
 * renewer and the peer API.
 *
 * Node: cowsql/raft on raft_uv (data directory cfg->raft_dir), pre-vote on,
 * the configured election and heartbeat timeouts. Every region's batond is a
 * voter. Raft ids are the 1-based positions of the region names in sorted
 * order, so every batond derives the same ids from the same peer lists; a
 * fresh data directory is bootstrapped with that full configuration.
 *
 * Decisions (ARCHITECTURE §5):
 *  - the primary region's batond proposes renew(db, region, epoch, send)
 *    every renewMillis (through the peer API when it is not the leader) and
 *    holds a lease measured from the send time (consensus/decider.h's
 *    struct baton_lease);
 *  - the leader records the local apply time of every renewal in its
 *    decider, ticks every 50 ms, and proposes the decider's promotes;
 *  - every batond reports its region's health each second.
 * After every applied command the FSM observer tells the part that acts on
 * the FSM (struct baton_raft_observer, batond/consensus.h: the controller,
 * wired by daemon.c), so labels, routing and status follow the FSM.
 * raftglue knows nothing above batond/consensus.h: it gets its loop,
 * configuration and metrics in struct baton_raftglue_config, and tells the
 * daemon through cfg.fatal when it must stop.
 *
 * Peer API (HTTPS with client certificates when tls is configured):
 *   POST /v1/propose  {"cmd": "<base64 command>"} → {"result": "OK"} once
 *                     committed; 421 with the leader's region when this
 *                     node is not the leader
 *   GET  /v1/status   this node's Raft view
 */
#ifndef BATON_BATOND_RAFTGLUE_H
#define BATON_BATOND_RAFTGLUE_H

#include <stdbool.h>
#include <uv.h>

#include "batond/config.h"
#include "batond/consensus.h"
#include "http/metrics.h"

/* How soon raft_uv connects again to a peer it could not reach (its
 * default is 1 s): a region that comes back is reached sooner. */
#define BATON_RAFT_CONNECT_RETRY_MS 250

struct baton_raftglue;
struct baton_peertoken;

struct baton_raftglue_config {
	uv_loop_t *loop;
	/* region, peers, raft.*, tls.*, peerApi.bind (read, never kept
	 * beyond the daemon's life, which outlives raftglue) */
	const struct baton_batond_config *cfg;
	struct baton_metrics *metrics;	   /* where its series go */
	struct baton_peertoken *peertoken; /* GET /v1/peer-token; may be NULL */
	/* Raft cannot start after all (a join decided on an empty data
	 * directory failed): the daemon must stop. Required. */
	void (*fatal)(void *data);
	void *data;
};

/* On failure *OUT may still be set: the half-started node, which the
 * caller stops with baton_raftglue_stop() (it closes what was opened). */
int baton_raftglue_start(const struct baton_raftglue_config *cfg,
			 struct baton_raftglue **out, char *errmsg);
const struct baton_consensus_ops *baton_raftglue_ops(struct baton_raftglue *g);

/* Raft, lease and failover metrics, brought up to date (at a scrape). */
void baton_raftglue_update_metrics(struct baton_raftglue *g);
/* The lease this region holds for DB ("ns/name") at EPOCH is valid now. */
bool baton_raftglue_lease_valid(struct baton_raftglue *g, const char *db,
				uint64_t epoch);
/* Who acts on the FSM from now on: OBS is copied, every member set. NULL
 * stops the calls, and the region then reports nothing (what a controller
 * whose agents never answered reports too). daemon.c sets it once the
 * controller started and clears it before the controller stops. */
void baton_raftglue_observe(struct baton_raftglue *g,
			    const struct baton_raft_observer *obs);

/* Graceful: transfer leadership if leader, then close everything; then
 * STOPPED_CB(DATA). */
void baton_raftglue_stop(struct baton_raftglue *g,
			 void (*stopped_cb)(void *data), void *data);

#endif /* BATON_BATOND_RAFTGLUE_H */
