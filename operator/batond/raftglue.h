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
 * The FSM observer enqueues the database in the controller after every
 * applied command, so labels, routing and status follow the FSM.
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

#include "batond/controller.h"

/* How soon raft_uv connects again to a peer it could not reach (its
 * default is 1 s): a region that comes back is reached sooner. */
#define BATON_RAFT_CONNECT_RETRY_MS 250

struct baton_batond;
struct baton_raftglue;

int baton_raftglue_start(struct baton_batond *d, struct baton_raftglue **out,
			 char *errmsg);
const struct baton_consensus_ops *baton_raftglue_ops(struct baton_raftglue *g);

/* Raft, lease and failover metrics, brought up to date (at a scrape). */
void baton_raftglue_update_metrics(struct baton_raftglue *g);
/* The lease this region holds for DB ("ns/name") at EPOCH is valid now. */
bool baton_raftglue_lease_valid(struct baton_raftglue *g, const char *db,
				uint64_t epoch);
/* Graceful: transfer leadership if leader, then close everything. */
void baton_raftglue_stop(struct baton_raftglue *g,
			 void (*stopped_cb)(struct baton_batond *d));

#endif /* BATON_BATOND_RAFTGLUE_H */
