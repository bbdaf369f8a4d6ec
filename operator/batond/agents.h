/* batond's side of the agents: turning the FSM's decisions into orders for
 * this region's baton-agents, and the agents' reports into FSM reports.
 *
 * Every database pod of this region runs a baton-agent on BATON_AGENT_PORT.
 * The driver polls each agent's GET /v1/status about once a second and, on
 * every tick (200 ms), compares what the agent says with what the FSM says
 * and sends at most one order at a time per pod (POST /v1/order), each
 * carrying the FSM's epoch (the agent refuses older epochs, so a restarted
 * or partitioned batond can never undo a newer decision):
 *
 *   no instance yet       init primary (the designated instance of the
 *                         primary region, at
 *                         epoch 1, before any region reported a position:
 *                         a brand-new database), else init replica from the
 *                         primary's endpoint
 *   the primary pod here  promote (when the agent is not yet the primary
 *   (designated)          of the FSM's epoch), with the synchronous list;
 *                         standbys (the list the FSM asks for, when the
 *                         one the agent reports differs:
 *                         batond/syncset.h); its lease it asks for itself
 *                         (below)
 *   switchover, old side  fence; once the agent answered that fence order
 *                         (this switchover's round) fenced, not writable,
 *                         no lease: propose FENCE with the final WAL
 *                         position from that answer (a status from before
 *                         proves nothing: review H3)
 *   failing over, standby detach the designated instance (stop streaming
 *   (synchronous)         from the old primary); its answer's final
 *                         position is this region's final report
 *                         (baton_agents_final()); in the lost primary
 *                         region, its sibling in the FSM's spare slot
 *                         likewise (design-per-instance.md §4)
 *   switchover, replica   cascade: stream from the target's designated
 *   (before the promote)  instance instead of the old primary, so it
 *                         follows the target's promotion on the same
 *                         connection (the engine refuses unless the
 *                         target has all this replica received)
 *   any other pod         a primary, a replica following another endpoint
 *                         than the current primary's, or one that follows
 *                         nobody (detached): rejoin (pg_rewind if needed,
 *                         then stream from the primary)
 *
 * The lease is pulled, not pushed: every agent asks POST /v1/lease on
 * batond's agent API ({"namespace","pod","epoch"}) and batond answers
 * {"epoch", "grantMillis", "askEveryMillis"}: the grant is
 * baton_lease_agent_grant() of this region's lease, computed when the
 * answer is written, and only for the designated instance (the FSM's
 * ordinal) of the primary region outside a switchover, in synchronous
 * mode only while the list it reports stays within the FSM's members
 * (the lease gate, batond/syncset.h); 0 for everyone else. The agent
 * counts it from when it asked (agent/lease.h), so no delay on the way can
 * make it outlive this region's lease. A question is accepted only from
 * the pod's own address (or, with TLS, its certificate).
 *
 * A pod annotated baton.dev/forensic-fence is held (batond/hold.h): no
 * order but a fence, no lease, reported as serving nothing.
 *
 * Nothing else here is needed for safety: the agent fences itself when its
 * lease ends, and the label fence (controller.c) removes a pod from the
 * primary Service as soon as this region's lease is not valid. Orders make
 * the change fast and bring old primaries back as replicas.
 */
#ifndef BATON_BATOND_AGENTS_H
#define BATON_BATOND_AGENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "batond/consensus.h"
#include "consensus/index.h"
#include "http/server.h"
#include "kube/client.h"
#include "kube/informer.h"

struct baton_agents;
struct baton_agentpki;
struct baton_lastfailover;

struct baton_agents_env {
	void *data;
	const char *region;
	const struct baton_consensus_ops *consensus; /* NULL: no Raft */
	struct baton_kube_informer *pods;	     /* this region's pods */
	/* The DatabaseClusters (their spec: each region's replicas and
	 * StatefulSet), for the primary's synchronous list
	 * (batond/syncset.h). NULL: no list is sent, and in synchronous
	 * mode the gate then grants no lease. */
	struct baton_kube_informer *dbcs;
	/* What the peer_* callbacks below get (NULL: DATA); batond's come
	 * from batond/agentpeers.h, over its peer watches. Every caller
	 * passes baton_agents_peer_data(env), never DATA. */
	void *peer_data;
	/* The endpoint ("host:port") and synchronous standbys ("a,b") that
	 * REGION's batond published for NS/NAME (peer status), or NULL. */
	const char *(*peer_endpoint)(void *data, const char *ns,
				     const char *name, const char *region);
	const char *(*peer_sync_standbys)(void *data, const char *ns,
					  const char *name, const char *region);
	/* The address of REGION's designated instance for NS/NAME, whatever
	 * its role (peer status instanceEndpoint), or NULL. May be NULL. */
	const char *(*peer_instance_endpoint)(void *data, const char *ns,
					      const char *name,
					      const char *region);
	/* The pod REGION's batond names as its designated instance for
	 * NS/NAME (peer status regions[].designated), or NULL (none
	 * published: an older batond). The addresses above are that pod's;
	 * while it is not the pod the FSM designates there now (the entry
	 * was written before a promote or a move inside REGION) they are not
	 * used. May be NULL: not checked. */
	const char *(*peer_designated)(void *data, const char *ns,
				       const char *name, const char *region);
	/* Something the status shows changed for DB ("ns/name"). */
	void (*changed)(void *data, const char *db);
	/* Record an Event on DB's DatabaseCluster. */
	void (*event)(void *data, const char *db, const char *type,
		      const char *reason, const char *message);
	/* The agent API ("host:port"; NULL: none, no agent gets a lease). */
	const char *api_bind;
	/* status.lastFailover of this region (NULL: none): the driver adds
	 * the hops of a promote's critical path it sees to its stepsMillis
	 * ("committed", "fenced" before the promote; "promoted", "writable",
	 * "standby" after it, in the new primary's region) and calls
	 * CHANGED. */
	struct baton_lastfailover *lastfo;
	/* The region's agent CA (NULL: plain HTTP both ways, no identities):
	 * orders and status over mutual TLS to the database's certificate
	 * name at the pod's IP; leases only to a caller whose certificate
	 * names the pod's database. */
	struct baton_agentpki *pki;
};

typedef void (*baton_agents_close_cb)(struct baton_agents *a);

/* The driver's memory is the caller's (the controller embeds it). Opens,
 * in order: the maps, the agents' client, the tick timer and the agent
 * API (when env->api_bind), each a fail point (common/failpoint.h). On
 * failure it closes what it opened, newest first; some of it closes on
 * the loop, and A's memory is the caller's again once the loop ran those
 * closes. A failed A must not be closed. */
int baton_agents_init(uv_loop_t *loop, struct baton_agents *a,
		      const struct baton_agents_env *env);
/* Cancels requests in flight, closes everything, then calls CB(A); A's
 * memory is the caller's from then on. */
void baton_agents_close(struct baton_agents *a, baton_agents_close_cb cb);

/* What this region reports to the FSM for DB: its designated instance's
 * health, position and synchronous flag (baton_agents_fold()). Before any
 * agent of DB answered (kwok pods in tests), health falls back to pod
 * readiness (the readiness probe is the agent's /readyz). */
void baton_agents_report(struct baton_agents *a, const char *db, bool pod_ready,
			 struct baton_region_report *out);

/* "host:port" of DB's local instance that is primary and not fenced, or
 * NULL; the comma-separated synchronous standbys it reports, or NULL.
 * Valid until the next tick. */
const char *baton_agents_endpoint(struct baton_agents *a, const char *db);
const char *baton_agents_sync_standbys(struct baton_agents *a, const char *db);
/* "host:port" of DB's local designated instance (the FSM's), whatever its
 * role, or NULL: where standbys elsewhere go once this region is
 * promoted. Valid until the next tick. */
const char *baton_agents_instance_endpoint(struct baton_agents *a,
					   const char *db);

/* What batond last heard from the agent of one pod, for the designation
 * (batond/designation.h). Times are the lease clock's (common/clock.h),
 * the consensus driver's NOW. */
struct baton_agents_seen {
	json_t *status;	    /* its last status, NULL: never read; borrowed,
			       valid until the loop runs again */
	uint64_t status_ms; /* when it was read (or an order's answer came) */
	/* the last successful answer to a standbys order: the order's epoch,
	 * the answer's G and X (its flush position), when it came */
	bool answer;
	uint64_t answer_epoch, answer_gen, answer_x, answer_ms;
};

/* The pod KEY ("ns/pod") as the driver knows it: true and OUT filled, or
 * false (OUT zeroed) when the driver has no such pod (not in the pod
 * informer's cache, or being deleted) or is closing. */
bool baton_agents_seen(struct baton_agents *a, const char *key,
		       struct baton_agents_seen *out);
/* The environment A was started with (its informers and peer lookups),
 * or NULL once A is closing. */
const struct baton_agents_env *baton_agents_env(const struct baton_agents *a);

/* Per pod: address, last status, last order (for batond's /v1/status). */
json_t *baton_agents_status(struct baton_agents *a);

/* A synchronous failover of DB at EPOCH, round ROUND: true and OUT's
 * position filled once this region's designated instance answered a
 * detach order for that round (where its WAL ends); false until then. */
bool baton_agents_final(struct baton_agents *a, const char *db, uint64_t epoch,
			uint64_t round, struct baton_region_report *out);
/* The same for this region's member ORDINAL (-1: the designated
 * instance): every member of a standby region is sent the detach order
 * in a failover round (baton_agents_decide), and each one's final is its
 * own answer (the driver asks for the other member's mid-move,
 * consensus/driver.h). */
bool baton_agents_member_final(struct baton_agents *a, const char *db,
			       uint64_t epoch, uint64_t round, int ordinal,
			       struct baton_region_report *out);

/* ---- the decision, pure (unit-tested) ---------------------------------- */

/* One instance as its agent reported it, and what batond knows about it. */
struct baton_agent_view {
	bool initialized;
	const char *role; /* "primary", "replica", "none", NULL */
	bool writable;
	bool fenced;
	uint64_t epoch;		/* the highest the agent has seen */
	uint64_t primary_epoch; /* the epoch it is primary at, 0: none */
	uint64_t position;	/* WAL bytes */
	const char *upstream;	/* "host:port" it streams from, NULL: unknown */
	int ordinal;		/* StatefulSet ordinal (the FSM's `designated`
				   is the region's promoted one) */
	const char *own_endpoint;     /* "podIP:port" */
	const char *following;	      /* what batond last told it, or "" */
	const char *primary_endpoint; /* the current primary's, or NULL */
	/* the primary region's designated instance, published before it
	 * serves (another region's peer status), or NULL */
	const char *primary_instance;
	bool detached; /* it streams from nobody (agent says so) */
	/* a planned switchover before its promote: the target region's
	 * designated instance ("host:port"), or NULL */
	const char *switchover_target;
	/* a synchronous failover once every standby said where it stopped:
	 * the designated instance of the region the FSM will promote
	 * (baton_decider_pick), or NULL */
	const char *failover_target;
	/* what batond learnt from this pod's answers, for the FSM's round */
	bool fence_acked; /* a fence order answered: fenced, no lease */
	uint64_t fence_position;
	bool detach_done; /* a detach order answered */
	/* only in the primary's region */
	bool lease_valid;
	/* a forensic fence holds it (batond/hold.h): fence it, nothing more */
	bool held;
};

struct baton_agent_order {
	const char *action; /* "init", "promote", "fence", "rejoin",
			       "detach", "cascade", or NULL: nothing */
	const char *target; /* init replica / rejoin / cascade: the
			       endpoint */
	uint64_t epoch;
	bool propose_fence; /* switchover: propose FENCE at this position */
	uint64_t fence_position;
};

/* What the instance V of region ME should be told, given the FSM's ST. */
void baton_agents_decide(const struct baton_db_state *st, int me,
			 const struct baton_agent_view *v,
			 struct baton_agent_order *out);

struct baton_syncset;

/* The grant for a lease question from instance V's pod (ordinal ORDINAL)
 * of region ME, given the FSM's ST, the synchronous list the instance
 * reports (SYNC, its syncConfig; NULL: none) and this region's grant
 * GRANT_MS (baton_lease_agent_grant()): GRANT_MS for the designated
 * instance of the primary region outside a switchover whose list passes
 * the lease gate (baton_syncset_gate(): in synchronous mode a reported
 * list within the members), else 0. Pure. */
uint64_t baton_agents_lease_grant(const struct baton_db_state *st, int me,
				  int ordinal, const struct baton_syncset *sync,
				  uint64_t grant_ms);

/* ---- the region's report, pure (unit-tested) ---------------------------
 *
 * A region reports its *designated instance* (the FSM's `designated`
 * ordinal, 0 until a designation moves it): the one a
 * failover or a switchover promotes, the one the primary region's lease is
 * granted to, and the only one of a standby region in the primary's
 * synchronous set (children.c). Health, position and the synchronous flag
 * of a sibling (ordinal 1, 2, ...) say nothing about it: a region whose
 * pod 0 is dead or lagging beside a healthy, advanced pod 1 must not look
 * like an eligible, caught-up candidate, since pod 0 is what would be
 * promoted (issue 15 item 4; until then the report was the any/max over
 * every pod of the region). */

/* One instance, as batond last heard from its agent (a fresh status). */
struct baton_instance_report {
	int ordinal;	   /* StatefulSet ordinal */
	int designated;	   /* the region's designated ordinal (the FSM's) */
	bool serving;	   /* initialised, ready, running, not failed */
	bool asking;	   /* still asks for its lease (or never did) */
	uint64_t position; /* WAL bytes */
	/* the epoch it follows (baton_agents_follows_epoch()), 0 unknown */
	uint64_t follows_epoch;
};

/* Adds instance V to its region's report R (zeroed before the first):
 * only the designated instance sets health, readiness and position; the
 * best sibling (serving first, then the highest position, then the lowest
 * ordinal) is R's spare (docs/design-per-instance.md §4). */
void baton_agents_fold(struct baton_region_report *r,
		       const struct baton_instance_report *v);

/* Whether the instance NAME (ordinal ORDINAL) of a standby region whose
 * designated ordinal is DESIGNATED counts as a synchronous standby given
 * the primary's comma-separated LIST: it is listed, and it is the
 * designated instance. */
bool baton_agents_sync_listed(const char *list, int ordinal, int designated,
			      const char *name);

/* Pure helpers, exposed for the unit tests. */
/* "16/B374D848" → bytes; false if malformed. */
bool baton_agents_parse_lsn(const char *s, uint64_t *out);
/* The hash a database's per-tick summary is kept as (a change of it is
 * reported): FNV-1a of the text, never 0. */
uint64_t baton_agents_summary_hash(const char *s);

/* The epoch whose primary the instance behind agent status ST follows (or
 * is): the agent's epoch, the one before while an order that moves it to
 * another timeline (promote, rejoin, init, ...) is under way; 0 when the
 * status names no epoch. consensus/driver.h, follows_epoch. */
uint64_t baton_agents_follows_epoch(json_t *st);
/* The WAL position (bytes) agent status ST reports: "position", else its
 * LSN strings; 0 when it names none. */
uint64_t baton_agents_position(json_t *st);
/* The instance behind agent status ST serves: initialised, ready, running,
 * not failed (the report's health; a hold is the caller's to add). */
bool baton_agents_serving(json_t *st);

/* POD's Ready condition is True (the one reading of it batond has). */
bool baton_agents_pod_ready(json_t *pod);
/* The ordinal of a StatefulSet pod name ("orders-eu-west-3" → 3), or -1. */
int baton_agents_ordinal(const char *pod);

/* Private. */
struct baton_agents_pod;
struct baton_agents_db;

/* What ENV's peer_* callbacks are given: peer_data, or data without it. */
static inline void *baton_agents_peer_data(const struct baton_agents_env *env)
{
	return env->peer_data != NULL ? env->peer_data : env->data;
}

struct baton_agents {
	/* Public. */
	void *data; /* the caller's; the driver never touches it */

	/* Private. */
	uv_loop_t *loop;
	struct baton_agents_env env;
	struct baton_kube_client client;
	uv_timer_t tick;
	uint64_t tick_ms;    /* the last full tick */
	uint64_t generation; /* consensus ops->generation at that tick */
	/* "ns/pod" → its struct baton_agents_pod, "ns/cluster" → its struct
	 * baton_agents_db (struct agents_ref records, agents.c); the pods
	 * and databases themselves live in the two lists below */
	struct baton_index pod_index;
	struct baton_index db_index;
	struct baton_agents_pod *pods;
	struct baton_agents_db *dbs;
	struct baton_http_server api; /* the agents ask for leases here */
	bool api_started;
	bool stopping;
	int closing;
	baton_agents_close_cb stopped_cb;
};

#endif /* BATON_BATOND_AGENTS_H */
