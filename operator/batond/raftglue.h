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

#include <raft.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "batond/config.h"
#include "batond/consensus.h"
#include "batond/desigmetrics.h"
#include "batond/fleetlevel.h"
#include "consensus/driver.h"
#include "consensus/node.h"
#include "http/metrics.h"
#include "http/server.h"
#include "kube/client.h"

/* How soon raft_uv connects again to a peer it could not reach (its
 * default is 1 s): a region that comes back is reached sooner. */
#define BATON_RAFT_CONNECT_RETRY_MS 250

struct baton_raftglue;
struct baton_peertoken;
struct proposal;

#define BATON_RAFTGLUE_MEMBERS (BATON_MAX_PEERS + 1)

struct baton_raftglue_config {
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

typedef void (*baton_raftglue_close_cb)(struct baton_raftglue *g);

/* Lifecycle: the memory is the caller's (daemon.c embeds it in struct
 * baton_batond), libuv's rule.
 *
 * baton_raftglue_init() opens, in order (each a fail point,
 * common/failpoint.h): the driver, the tick timer, the Raft node (with
 * its TLS transport), the peer API (when peerApi.bind is set), one kube
 * client per peer's API, then starts Raft (unless the data directory is
 * empty: then it asks the peers first) and the tick.
 *
 * On failure it returns the error (ERRMSG says which stage) and closes
 * what it opened, newest first (err_after_*): nothing is half-built, and
 * G must not be closed. Some of those closes finish on the loop: G's
 * memory is the caller's again once the loop ran them (run it until it is
 * empty, as a daemon that stops does anyway).
 *
 * baton_raftglue_close(): graceful (leadership is transferred when this
 * node leads), every handle closed, pending proposals failed; CB(G) runs
 * once the last close callback ran; then G's memory is the caller's. */
int baton_raftglue_init(uv_loop_t *loop, struct baton_raftglue *g,
			const struct baton_raftglue_config *cfg, char *errmsg);
void baton_raftglue_close(struct baton_raftglue *g, baton_raftglue_close_cb cb);

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

/* Private: one member of the group (self included). */
struct baton_raftglue_member {
	char name[BATON_NAME_SIZE];
	raft_id id;
	char raft_address[256];
	char api_address[256];
	struct baton_kube_client client; /* peer API client */
	bool client_ready;		 /* CLIENT is open */
	struct baton_raftglue *g;
	/* joining with an empty data directory (batond/membership.h): what
	 * the peer last said, and the requests asking it */
	struct baton_kube_request st_req, rj_req;
	bool st_pending, rj_pending;
	uint64_t st_ms; /* when its last answer came, 0: never */
	bool st_joining, st_leader;
	uint64_t st_last_index;
	int st_my_role;
};

struct baton_raftglue {
	/* Public. */
	void *data; /* the caller's; raftglue never touches it */

	/* Private. */
	uv_loop_t *loop;
	struct baton_raftglue_config rc;       /* metrics, fatal */
	const struct baton_batond_config *cfg; /* rc.cfg */
	/* who acts on the FSM (batond/consensus.h); never NULL members:
	 * baton_raftglue_observe() puts the no-op ones in for NULL */
	struct baton_raft_observer obs;
	/* consensus/node.h: raft on raft_uv with the FSM, the one the node
	 * tests run */
	struct baton_raft_node node;
	struct raft_uv_transport tls_transport;
	struct baton_raftglue_member members[BATON_RAFTGLUE_MEMBERS];
	int n_members;
	int self;
	struct baton_driver driver; /* consensus/driver.h: the protocol */
	/* what each member's batond knows (fleetlevel.h), asked while
	 * leading */
	struct baton_fleetlevel fleetlevel;
	uint64_t generation; /* ops.generation: role/phase changes applied */
	/* runs from a successful init until the close: kick() restarts it
	 * only then (uv_is_active) */
	uv_timer_t tick;
	bool barrier_due; /* a decision applied here, the leader: push it */
	/* metrics (on the daemon's registry; may be NULL) */
	struct baton_metric *m_level; /* baton_fleet_command_level */
	/* baton_reports_total, baton_report_batches_total */
	struct baton_metric *m_reports, *m_report_batches;
	struct baton_metric *m_leader, *m_term, *m_applied, *m_commit,
	    *m_renewal, *m_renewals, *m_lease_left, *m_failovers, *m_blocked;
	struct baton_driver_stats counted; /* what the counters hold */
	struct baton_desigmetrics desigm;  /* batond/desigmetrics.h */
	struct baton_http_server api;	   /* open when cfg->peer_api_bind */
	struct baton_consensus_ops ops;
	struct proposal *proposals;
	bool stopping;
	int closing;
	/* membership (batond/membership.h) */
	bool joining;	       /* empty data dir: Raft not started yet */
	uint64_t join_next_ms; /* next decision */
	char join_why[512];    /* the last decision's reason, logged once */
	bool join_added;       /* the leader added us back (this process) */
	uint64_t join_logged_ms;
	struct raft_change change;
	bool change_pending;
	uint64_t member_next_ms;
	baton_raftglue_close_cb close_cb;
};

#endif /* BATON_BATOND_RAFTGLUE_H */
