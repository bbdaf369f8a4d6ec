/* baton-agent: the sidecar that runs one database instance's role changes
 * and enforces the lease locally.
 *
 * Safety rules (ARCHITECTURE.md §5), in the order the code keeps them:
 *  1. No valid lease -> read-only. The agent boots fenced (the engine starts
 *     the instance read-only, then the agent fences it explicitly) and makes
 *     it writable only while it holds a lease, as primary.
 *  2. The agent *asks* batond for its lease and counts the grant from the
 *     moment it sent the question (agent/lease.h has the argument): a slow
 *     or delayed answer shortens the lease, it can never stretch it past
 *     batond's own. A grant counts only for the epoch the instance was
 *     promoted at, and an answer to a question asked before the last fence,
 *     demote, rejoin or init is thrown away. The lease ends early enough
 *     for the fence to finish by the end of the grant: the configured
 *     margin, or the slowest of the last fences if that is longer.
 *  3. On lease expiry the agent fences at once (a timer on the loop; a fence
 *     waiting behind a running engine operation runs as soon as it ends, and
 *     an unfence that finishes after expiry is followed by a fence). With a
 *     lease file, every change of the lease is published to the baton_lease
 *     module first, and PostgreSQL refuses commits after the deadline on
 *     its own: a paused or killed agent cannot leave it writable.
 *  4. Orders with an epoch older than the highest seen are refused (409) and
 *     logged; an order with a newer epoch ends any lease held at an older
 *     one. Equal epochs are accepted (batond retries).
 *  5. An init never overwrites an instance: an init order creates one only
 *     in a data directory that holds none (the engine refuses otherwise),
 *     and only one init runs at a time.
 *
 * Boot without an instance: every pod of a region runs the same flags, so
 * a fresh pod cannot know what to become. With no instance in the data
 * directory and no init_role, the agent waits, not ready, for batond's
 * init order ({"action":"init","role":"primary"} or role "replica" with
 * primaryHost/primaryPort); the init runs, then the boot fence, then the
 * agent is ready.
 *
 * HTTP: GET /healthz, /readyz (200 once the role is settled after boot),
 * /metrics, /v1/status; POST /v1/order. With TLS and order_peer set, only
 * that verified identity may post orders (403 otherwise).
 */
#ifndef BATON_AGENT_H
#define BATON_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "engine/engine.h"
#include "http/metrics.h"
#include "http/procmetrics.h"
#include "http/server.h"
#include "agent/lease.h"
#include "engine/leasefile.h"

/* An order's epoch may exceed the highest epoch the agent has seen (in an
 * order or in batond's lease answers) by at most this: a failover raises the
 * epoch by one and takes a lease period, and the agent hears batond's epoch
 * every few hundred ms, so batond never jumps further; a forged order at
 * 2^63-1 would otherwise make every later order of batond's stale. */
#define BATON_AGENT_MAX_EPOCH_STEP 64

/* The longest wait between two boot tries (config boot_retry_ms). */
#define BATON_AGENT_BOOT_RETRY_MAX_MS 30000

struct baton_agent_config {
	const char *pod_name;
	const char *name; /* the engine's application_name; NULL: pod_name */
	const char *pod_namespace;
	const char *region;
	const char *listen_host;
	int listen_port;			 /* 0: pick one (tests) */
	const struct baton_http_tls_config *tls; /* NULL: plain HTTP */
	const char *order_peer; /* required client identity, or NULL */
	/* A second, plain HTTP listener for kubelet's probes and scrapers:
	 * /healthz /readyz /metrics /v1/status, never orders (the main one
	 * has mutual TLS then). NULL: none. */
	const char *probe_host;
	int probe_port;
	unsigned lease_margin_ms; /* fence this early; 0 -> 100 */
	/* batond's agent API ("http(s)://host:port"): where the lease is
	 * asked for. NULL: no lease is ever held (tests of orders alone). */
	const char *batond_url;
	/* The file the baton_lease module inside PostgreSQL reads the lease
	 * from (engine/leasefile.h); NULL: only this process fences. With it,
	 * PostgreSQL itself refuses every commit after the deadline, whether
	 * or not this process runs. */
	const char *lease_file;
	const char *batond_ca_file; /* TLS to batond (all three, or none) */
	const char *batond_cert_file;
	const char *batond_key_file;
	unsigned status_interval_ms; /* 0 -> 250 */
	/* A boot that failed (the instance would not start, or its boot
	 * fence could not be confirmed) is tried again after this, doubling
	 * up to BATON_AGENT_BOOT_RETRY_MAX_MS; 0 -> 1000. */
	unsigned boot_retry_ms;
	/* Boot: start the instance if it exists; else initialise it when
	 * init_role is "primary" or "replica" (from init_primary). */
	const char *init_role;
	const char *init_primary_host;
	/* Highest epoch, persisted (write + fsync + rename) before an order
	 * with a new epoch is acted on, and loaded at boot, so stale orders
	 * are refused across restarts too. NULL: memory only. Keep it out
	 * of the data directory (pg_basebackup/pg_rewind copy that). */
	const char *state_file;
	int init_primary_port;
};

struct agent_order; /* queued engine work (agent.c) */

/* A parsed POST /v1/order body. There is no lease order: the agent asks
 * batond for its lease (rule 2). */
enum baton_agent_action {
	BATON_AGENT_PROMOTE,
	BATON_AGENT_DEMOTE,
	BATON_AGENT_FENCE,
	BATON_AGENT_REJOIN,
	BATON_AGENT_INIT,
	BATON_AGENT_DETACH, /* synchronous failover: stop streaming */
	/* planned switchover: stream from the target (primaryHost:Port),
	 * another replica, before it is promoted */
	BATON_AGENT_CASCADE,
	/* the primary's synchronous standby list (docs/design-per-instance.md
	 * §3.3): syncNames at generation gen */
	BATON_AGENT_STANDBYS,
};

struct baton_agent_order {
	enum baton_agent_action action;
	const char *action_name; /* static; NULL until "action" parsed */
	uint64_t epoch;
	uint64_t primary_lsn;	     /* promote; 0: none given */
	enum baton_engine_role role; /* init: PRIMARY or REPLICA */
	char primary_host[256];	     /* rejoin, init replica, cascade */
	int primary_port;
	/* standbys (always), promote (when has_sync_names): the synchronous
	 * list, each name baton_engine_standby_name_valid(), no duplicates */
	bool has_sync_names;
	unsigned n_sync_names;
	char sync_names[BATON_ENGINE_MAX_STANDBYS][BATON_ENGINE_NAME_SIZE];
	uint64_t gen; /* standbys: the list's generation; only grows */
};

/* Parses and validates an order body (pure: no agent state, no epoch
 * rules). 0, or BATON_EPARSE (not a JSON object: errmsg has line and
 * column) or BATON_EINVAL (a missing or invalid field); both mean 400. */
int baton_agent_parse_order(const char *body, size_t len,
			    struct baton_agent_order *out, char *errmsg);

struct baton_agent {
	void *data;
	uv_loop_t *loop;
	struct baton_agent_config cfg;
	struct baton_engine *engine;
	struct baton_http_server http;
	struct baton_http_server probe_http;
	bool probe_started;
	/* the highest epoch batond's lease answers named: with the epochs
	 * this agent saw, the ceiling of an order's epoch (no order may jump
	 * more than BATON_AGENT_MAX_EPOCH_STEP above what batond has said) */
	uint64_t batond_epoch;
	uv_timer_t lease_timer;
	uv_timer_t poll_timer;
	struct baton_metrics metrics;
	struct baton_procmetrics procm; /* process_* series */
	struct baton_metric *m_orders;
	struct baton_metric *m_epoch;
	struct baton_metric *m_lease;
	struct baton_metric *m_writable;
	struct baton_metric *m_lag;
	struct baton_metric *m_fences;
	struct baton_metric *m_asks;
	struct baton_metric *m_ask_seconds;
	struct baton_metric *m_op_seconds;

	/* epoch (highest seen), primary_epoch, generation, deadline
	 * (uv_now() ms, valid while now < deadline): agent/lease.h */
	struct baton_agent_lease lease;
	struct baton_lease_asker asker;
	bool asker_started;
	struct baton_leasefile lease_file; /* fd -1: not configured */
	unsigned fence_ms[8]; /* the last fences' durations (rule 2) */
	unsigned fence_next;
	bool ready; /* role settled after boot */
	bool booting;
	bool initialized;  /* the data directory holds an instance */
	bool initializing; /* an init order is queued or running */
	bool fenced;	   /* last fence succeeded, no unfence since */
	bool failed;	   /* boot failed: not ready, instance left stopped */
	unsigned boot_retry_ms; /* the wait before the next boot try */
	uint64_t boot_retry_at; /* now_ms() of the next boot try */
	unsigned boot_tries;	/* boots that failed in a row */
	char boot_error[BATON_ERRMSG_SIZE + 32]; /* why the last boot failed */
	/* The synchronous list last set by a standbys order (or a promote
	 * carrying one), persisted beside the epoch; sync_set false: none
	 * yet, the engine keeps its boot default (--sync-names). sync_gen_
	 * seen: the highest generation accepted (an order below it is
	 * refused), sync_gen: the one applied. sync_flush_lsn: X of the
	 * last applied order on a primary. */
	bool sync_set;
	unsigned n_sync;
	char sync[BATON_ENGINE_MAX_STANDBYS][BATON_ENGINE_NAME_SIZE];
	uint64_t sync_gen;
	uint64_t sync_gen_seen;
	uint64_t sync_flush_lsn;
	bool detached;	       /* stopped streaming for a failover (detach) */
	uint64_t detached_lsn; /* ... where its WAL ends: the final position */
	struct baton_engine_status st;
	char last_error[BATON_ERRMSG_SIZE + 32];

	/* engine work, one at a time */
	struct baton_engine_req req;
	bool busy;
	uint64_t op_started;
	struct agent_order *current;
	struct agent_order *queue_head;
	struct agent_order *queue_tail;

	bool closing;
	int open_handles;
	void (*close_cb)(struct baton_agent *a);
	char errmsg[BATON_ERRMSG_SIZE];
};

/* Binds the HTTP server and starts the boot sequence (start or init the
 * instance, fence it, read its status -> ready). */
int baton_agent_init(uv_loop_t *loop, struct baton_agent *a,
		     const struct baton_agent_config *cfg,
		     struct baton_engine *engine);
int baton_agent_port(const struct baton_agent *a);

/* What one answer of batond's to a lease question does (rule 2), on the
 * loop: the asker calls it; the fuzz target (tests/fuzz/) calls it to play
 * batond without a socket. ANS carries what the agent recorded when it
 * asked (send time on baton_lease_clock_ms(), lease generation, epoch). */
void baton_agent_lease_answered(struct baton_agent *a,
				const struct baton_lease_answer *ans);

/* Milliseconds of lease left (0 when none). */
uint64_t baton_agent_lease_remaining(struct baton_agent *a);

/* Fences the instance (a clean shutdown keeps nothing writable), then
 * closes every handle and calls cb. The engine is the caller's. */
void baton_agent_close(struct baton_agent *a,
		       void (*cb)(struct baton_agent *a));

#endif /* BATON_AGENT_H */
