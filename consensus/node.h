/* One Raft voter on raft_uv: the fleet's replicated FSM (fsm.h) on disk.
 * batond's Raft glue (operator/batond/raftglue.c) and the node tests run
 * this; entries are the FSM's own encoding (baton_cmd_to_raft), the one
 * the simulation (sim.c) writes too.
 *
 * Happy path: baton_raft_init() opens (or bootstraps) the data directory,
 * starts raft with pre-vote on and the configured timeouts (with
 * defer_start, only opens it: baton_raft_start() bootstraps and starts
 * later, once the caller knows whether this is a new fleet); the caller
 * proposes commands with baton_raft_apply() and learns the FSM's verdict in
 * the callback. baton_raft_close() hands leadership over first when this
 * node leads (graceful shutdown), then closes raft, the I/O backend and the
 * transport, and calls close_cb; the node's memory is the caller's again.
 *
 * Failure paths: an apply that raft refuses up front returns BATON_ENOTLEADER
 * or BATON_EBUSY; one that loses leadership in flight completes with
 * BATON_ENOTLEADER and an *unknown* outcome (the entry may still commit:
 * commands are idempotent or epoch-guarded). Pending applies complete with
 * BATON_ECANCELED when the node closes.
 */
#ifndef BATON_CONSENSUS_NODE_H
#define BATON_CONSENSUS_NODE_H

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <uv.h>

#include "common/error.h"
#include "consensus/fsm.h"

#define BATON_RAFT_MAX_MEMBERS 8
/* Entries raft keeps in flight to each follower (its default is 32). */
#define BATON_NODE_MAX_INFLIGHT 1024

struct baton_raft_member {
	raft_id id;
	char address[128]; /* host:port */
};

struct baton_raft_config {
	raft_id id;
	const char *address;	     /* this node's host:port */
	const char *dir;	     /* data directory (must exist) */
	unsigned election_ms;	     /* default 1000 */
	unsigned heartbeat_ms;	     /* default 100 */
	unsigned snapshot_threshold; /* default 1024 */
	unsigned snapshot_trailing;  /* default 2048 */
	unsigned max_inflight;	     /* 0: BATON_NODE_MAX_INFLIGHT */
	unsigned n_members; /* bootstrap set, used on a pristine directory */
	struct baton_raft_member members[BATON_RAFT_MAX_MEMBERS];
	/* NULL: raft's plain TCP transport. Otherwise an initialized
	 * transport (e.g. tls_transport.h) that the node closes. */
	struct raft_uv_transport *transport;
	void (*transport_close)(struct raft_uv_transport *t);
	const char *bind_address;     /* plain TCP: listen here, not address */
	unsigned connect_retry_ms;    /* 0: raft_uv's default (1 s) */
	unsigned transfer_timeout_ms; /* hand-over on close; 0: election */
	/* Open only: no bootstrap, no start until baton_raft_start(). The
	 * init then never leaves anything closing behind on failure. */
	bool defer_start;
};

struct baton_raft_node;
typedef void (*baton_raft_close_cb)(struct baton_raft_node *n);

struct baton_raft_node {
	void *data;
	uv_loop_t *loop;
	struct raft raft;
	struct raft_io io;
	struct raft_uv_transport tcp;
	struct raft_uv_transport *transport;
	void (*transport_close)(struct raft_uv_transport *t);
	struct baton_fsm fsm;
	struct raft_fsm raft_fsm;
	unsigned n_members; /* the bootstrap set (baton_raft_start) */
	struct baton_raft_member members[BATON_RAFT_MAX_MEMBERS];
	unsigned transfer_timeout_ms;
	bool started;
	struct raft_transfer transfer;
	uv_timer_t transfer_timer; /* bounds the hand-over on close */
	bool timer_open;
	bool raft_closing, raft_closed;
	baton_raft_close_cb close_cb;
	bool closing;
	char errmsg[BATON_ERRMSG_SIZE];
};

struct baton_raft_apply;
/* STATUS is 0 or a BATON_E* code; RESULT the FSM verdict (BATON_FSM_*). */
typedef void (*baton_raft_apply_cb)(struct baton_raft_apply *req, int status,
				    int result);
struct baton_raft_apply {
	void *data;
	baton_raft_apply_cb cb;
	struct raft_apply raft_req;
};

struct baton_raft_change;
typedef void (*baton_raft_change_cb)(struct baton_raft_change *req, int status);
struct baton_raft_change {
	void *data;
	baton_raft_change_cb cb;
	struct raft_change raft_req;
};

int baton_raft_init(uv_loop_t *loop, struct baton_raft_node *n,
		    const struct baton_raft_config *cfg);
/* After an init with defer_start: BOOTSTRAP the configured members (a new
 * fleet; an error when the directory has state), then start raft. On
 * failure the node stays open: close it with baton_raft_close(). */
int baton_raft_start(struct baton_raft_node *n, bool bootstrap);
void baton_raft_close(struct baton_raft_node *n, baton_raft_close_cb cb);

int baton_raft_apply(struct baton_raft_node *n, struct baton_raft_apply *req,
		     const struct baton_cmd *cmd, baton_raft_apply_cb cb);
/* On the leader: append a barrier entry, which raft replicates at once.
 * Its AppendEntries carries the commit index, so the followers apply what
 * the leader just committed now instead of on the next heartbeat
 * (heartbeat_ms later: ~45 ms per decision on the lab). Fire and forget:
 * nothing waits for it. */
int baton_raft_barrier(struct baton_raft_node *n);
bool baton_raft_is_leader(struct baton_raft_node *n);
raft_id baton_raft_leader(struct baton_raft_node *n);

/* Membership: one change at a time (BATON_EBUSY otherwise). A new member
 * joins as a spare: add, then assign RAFT_VOTER. */
int baton_raft_add(struct baton_raft_node *n, struct baton_raft_change *req,
		   raft_id id, const char *address, baton_raft_change_cb cb);
int baton_raft_assign(struct baton_raft_node *n, struct baton_raft_change *req,
		      raft_id id, int role, baton_raft_change_cb cb);
int baton_raft_remove(struct baton_raft_node *n, struct baton_raft_change *req,
		      raft_id id, baton_raft_change_cb cb);

/* Translate a raft error code into the BATON_E* space. */
int baton_raft_error(int rv);

#endif /* BATON_CONSENSUS_NODE_H */
