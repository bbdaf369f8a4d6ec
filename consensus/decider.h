/* The failover decider: a pure state machine (ARCHITECTURE §5).
 *
 * No I/O and no clock: every function takes the caller's monotonic time in
 * milliseconds. The same code runs in batond and in the deterministic
 * simulation (consensus/sim.c).
 *
 * Two sides:
 *
 * - The Raft leader side (struct baton_decider). It records the *local apply
 *   time* of every renewal and considers a lease expired at
 *       apply_time + lease * (1 + drift) + margin
 *   on its own clock, the latest of these over every renewal applied (a
 *   renewal carries the lease its renewer counts, so a lease shortened by
 *   a configuration change is never cut short). Every node keeps these
 *   records, so a newly elected leader goes on from what it applied as a
 *   follower; a lease first seen, or seen again after a snapshot restore,
 *   counts as renewed then, with the longest lease used in the epoch. Two
 *   allowances only ever make the wait longer (so the argument below is
 *   untouched): a new leader counts no lease as lost within
 *   BATON_DECIDER_GRACE(renewMillis) of its election, so a lease that ran
 *   out while the fleet had no leader can be renewed through it (a
 *   leadership change is a pause, not a failover); and a new epoch's
 *   primary has one more lease before its first renewal (its region
 *   applies the promote and promotes its instance first). On
 *   expiry:
 *   - manual mode: a "region lost" notice, nothing else;
 *   - asynchronous: promote(db, region, epoch + 1) for the best eligible
 *     data region (healthy, reported in this epoch, within maxLagBytes);
 *   - synchronous (RPO 0): first lost(db, epoch): renewals stop counting
 *     as the primary's (one that does come back ends the failover), every
 *     member of every other data region's synchronous set (its designated
 *     instance and, mid-change, the joiner) stops streaming from the old
 *     primary and reports its final position; once *all* of them have
 *     (ANY 1 puts an acknowledged commit on at least one of them, and none
 *     can receive more once detached), promote the most advanced. While
 *     one is missing the decider waits and says so (FailoverBlocked).
 *     When the lost primary region's sibling is a candidate (its region
 *     said its designated instance is down), its final is waited for
 *     too, but only up to spare_wait_ms: without a word (no decision,
 *     no FailoverBlocked), since a bounded wait blocks nothing.
 *   A planned switchover promotes the target once the old primary has
 *   fenced and the target has replayed the old primary's final position,
 *   by a report made in the current epoch (a position kept from an
 *   earlier epoch can be a former primary's WAL end on a timeline a
 *   failover left behind).
 *
 * - The renewer side (struct baton_lease). The primary region's batond
 *   measures its lease from the renewal's *send time* on its own clock and
 *   hands its agent a lease that ends no later (baton_lease_agent_grant()).
 *
 * Why this is safe: `drift` bounds the ratio of any two clocks' rates
 * (rate_a / rate_b <= 1 + drift). The renewer's lease lasts at most
 * lease / rate_r real time from the send, which precedes its apply on any
 * node (the leader's, or a follower's that is elected later),
 * and the leader waits (lease * (1 + drift) + margin) / rate_l >= lease /
 * rate_r real time after the apply. A renewal that commits *after* the
 * leader decided would revive the old lease, so a promote carries the
 * renewal sequence number the decision was based on and the FSM rejects it
 * when a renewal was applied in between (compare-and-swap, see fsm.c).
 *
 * What a region's state describes (issue 15 item 4): its *designated
 * instance* (the ordinal in `designated`: 0 unless a DESIGNATE moved it,
 * and nothing proposes one yet), the only one a promote promotes, the
 * primary region's lease is granted to and a standby region contributes to
 * the synchronous set (ANY 1 of the other data regions' designated
 * instances). Its health, position and synchronous flag are that
 * instance's alone (operator/batond/agents.h, baton_agents_fold()), and
 * the primary region renews only while it serves: so "region R is
 * eligible / caught up / holds every acknowledged commit" is a statement
 * about the instance a decision would promote, never about a sibling, and
 * a dead designated primary lets the lease lapse however healthy a
 * sibling is.
 *
 * Freshness: live reports lag (agent status, batond's poll and the REPORT
 * cadence: up to ~3 s) and the decider uses them only to judge whether a
 * failover can start (a candidate exists) and, in asynchronous mode, whom
 * to promote (RPO > 0 there, bounded by maxLagBytes up to that lag). A
 * synchronous promote after an expiry is made on final positions only:
 * each is a REPORT of the round the lost() opened, which commits after the
 * expiry the leader judged, from an instance that had stopped streaming
 * before it answered (fsm.c freezes it; a final of another round or epoch
 * does not count), so no position the pick uses predates the expiry.
 *
 * Renewals travel in batches (RENEW_BATCH, one entry for many databases):
 * every item is applied as its own RENEW, so each database keeps its own
 * apply time, epoch check and compare-and-swap, and the argument above is
 * per item unchanged. The renewer counts an item only when the entry
 * applied on its own node with the item accepted (the verdict every
 * replica reaches) and only if it sent it (the batch's nonce), and a
 * revoke bars every renewal sent at or before it (barrier_ms): a lease
 * dropped for a switchover or a new epoch is not revived by a renewal that
 * was still in flight.
 */
#ifndef BATON_CONSENSUS_DECIDER_H
#define BATON_CONSENSUS_DECIDER_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/index.h"

#define BATON_NAME_SIZE 64  /* names: at most 63 bytes + NUL */
#define BATON_MAX_REGIONS 8 /* regions per database */
/* databases per fleet: a cap, not a size (docs/consensus.md section 7) */
#define BATON_MAX_DATABASES 16384

enum baton_region_role { BATON_ROLE_DATA = 0, BATON_ROLE_WITNESS = 1 };

enum baton_phase {
	BATON_PHASE_HEALTHY = 0,
	BATON_PHASE_SWITCHING_OVER, /* begin committed, old primary fencing */
	BATON_PHASE_FENCED,	    /* old primary fenced at final position */
	BATON_PHASE_REGION_LOST,    /* manual mode: lease expired, waiting */
	BATON_PHASE_FAILING_OVER,   /* synchronous: lost committed, the
				       standbys detach and report */
	BATON_PHASE__COUNT
};

enum baton_reason {
	BATON_REASON_LEASE_EXPIRED = 1,
	BATON_REASON_SWITCHOVER = 2,
	BATON_REASON_MANUAL = 3,
};

struct baton_failover_config {
	uint32_t lease_ms;
	uint32_t renew_ms;
	uint32_t drift_ppm; /* bound on clock-rate ratio - 1, parts/million */
	uint32_t margin_ms;
	uint64_t max_lag_bytes;
	bool automatic;
	bool synchronous;
};

/* Ordinals a member mask can hold (the CRD allows replicas <= 9). */
#define BATON_ORDINALS 16
#define BATON_ORDINAL_NONE (-1)
#define BATON_ORDINAL_BIT(k) ((uint16_t)(1u << (k)))

/* A region's second instance slot (docs/design-per-instance.md §3.1): the
 * instance joining the synchronous set, else the region's best other one.
 * The same fields as the designated instance's, which stay in
 * struct baton_region_state for the code that predates the design. */
struct baton_spare_state {
	int8_t ordinal; /* BATON_ORDINAL_NONE: no spare */
	bool healthy;
	bool sync_standby;
	bool final;
	uint64_t position;
	uint64_t report_epoch;
};

struct baton_region_state {
	char name[BATON_NAME_SIZE];
	uint8_t role;	  /* enum baton_region_role */
	int32_t priority; /* higher wins */
	/* What follows, up to DESIGNATED, describes the designated instance */
	bool healthy;
	bool sync_standby;     /* reported: the synchronous standby */
	uint64_t position;     /* last reported replay/write position (bytes) */
	uint64_t report_epoch; /* the epoch its last report was made in */
	bool final; /* failing over: detached, POSITION is where it stopped */
	/* The designation (docs/design-per-instance.md §2, §3.1). DESIGNATED
	 * is the ordinal a promote promotes; MEMBERS (M) the instances whose
	 * finals a synchronous failover awaits, since any of them may hold
	 * the only copy of an acknowledged commit; LISTED (L) those the
	 * primary may name in synchronous_standby_names. The FSM keeps
	 * (fsm.c, designation_consistent()): DESIGNATED in M, L a non-empty
	 * subset of M, M within {DESIGNATED, SPARE.ordinal}: one change in
	 * flight per region, and none in the primary region. REGISTER and
	 * every snapshot before version 5: ordinal 0, M = L = {0}, no spare:
	 * what the code assumed before the design. */
	uint8_t designated;
	uint16_t members; /* BATON_ORDINAL_BIT per ordinal */
	uint16_t listed;
	uint64_t desig_seq; /* bumped by JOIN; LEAVE and RELEASE name it */
	struct baton_spare_state spare;
};

/* The replicated state of one database, as held by every FSM. */
struct baton_db_state {
	char name[BATON_NAME_SIZE];
	struct baton_failover_config cfg;
	unsigned n_regions;
	struct baton_region_state regions[BATON_MAX_REGIONS];
	int primary; /* index into regions */
	uint64_t epoch;
	uint8_t phase;	    /* enum baton_phase */
	uint64_t renew_seq; /* renewals applied at this epoch (the CAS token) */
	int sw_target;	    /* switchover target, -1 if none */
	uint64_t sw_final_position; /* old primary's final position */
	/* Synchronous: what the instance promoted at this epoch held (its
	 * final), when the promote's reset left no instance awaited in
	 * this epoch's round that surely holds it (a sibling promoted, the
	 * lost region's designation moved to its spare, a member of a move
	 * in flight dropped): every candidate of the next round must reach
	 * it. 0: none needed (the old primary's instance, which holds it,
	 * is awaited). docs/design-per-instance.md §9, note 47. */
	uint64_t promote_floor;
	uint32_t lease_hwm_ms; /* longest lease a renewal used in this epoch */
	/* switchovers and lost()s applied so far: a fence and a final
	 * position count for their own round only (one called off and
	 * started again at the same epoch is a new round) */
	uint64_t round;
};

/* Deliberately broken variants, for proving that the simulation's checker
 * finds real bugs (tests/unit/test_consensus_sim.c). Never set in batond. */
enum {
	BATON_DECIDER_BROKEN_NO_DRIFT = 1 << 0,	 /* lease + 0, no margin */
	BATON_DECIDER_BROKEN_SEND_TIME = 1 << 1, /* expiry from send time */
	/* the rule before 0.2: a synchronous candidate must be the one the
	 * dead primary last reported as its synchronous standby */
	BATON_DECIDER_BROKEN_SYNC_FLAG = 1 << 2,
	/* synchronous: promote the first standby that reported its final
	 * position, without waiting for the others */
	BATON_DECIDER_BROKEN_FIRST_FINAL = 1 << 3,
	/* the lost primary region's spare (a sibling) is a candidate
	 * without the region's own word that its designated instance is
	 * down (docs/design-per-instance.md §4): a region cut off or killed
	 * as a whole can have its sibling promoted */
	BATON_DECIDER_BROKEN_SIBLING_ANY_REPORT = 1 << 4,
};

/* The default spare_wait_ms (struct baton_decider): ten times the latest
 * the lab has seen the spare's final land after the members' (46 ms), and
 * room for one resend of a final report refused or not committed (the
 * driver's FINAL_REPORT_MS, 300 ms, plus a commit; one whose answer never
 * comes is resent after FINAL_REPORT_INFLIGHT_MS, 1 s, past this wait:
 * the spare is never awaited, so that costs the choice of the spare, not
 * safety); at most one renewal interval
 * of the chart's default (500 ms) added to a failover whose spare never
 * answers. docs/design-per-instance.md §9, note 48. */
#define BATON_DECIDER_SPARE_WAIT_MS 500

/* How long a new leader waits before it counts any lease as lost: one
 * renewal round and a half (decider.c, expiry_of()). */
#define BATON_DECIDER_GRACE(renew_ms) ((uint64_t)(renew_ms)*3 / 2)

struct baton_decider_lease {
	char db[BATON_NAME_SIZE];
	uint64_t epoch;
	uint64_t base_ms;     /* election or first sight: counts as renewed */
	uint64_t expiry_ms;   /* latest end over the renewals since, 0: none */
	uint64_t renewed_ms;  /* local apply time of the last renewal */
	uint64_t send_ms;     /* renewer's send time (only for BROKEN_SEND) */
	uint64_t proposed_ms; /* last promote proposal, 0 = none */
	/* the epoch began here (a promote applied): until its first
	 * renewal, the new primary also has its promotion's time */
	bool new_epoch;
	bool proposed;
	uint8_t phase; /* the phase the proposal was made in */
	bool notified; /* manual mode: region-lost notice emitted */
	/* Synchronous round: when this leader first saw every member's
	 * final in round FINALS_ROUND (the bound of the wait for the lost
	 * primary region's spare, struct baton_decider, counts from here).
	 * Leader-local, like PROPOSED: a new epoch, a new round or a new
	 * term of leadership starts it again. */
	bool finals_seen;
	uint64_t finals_round;
	uint64_t finals_ms;
};

struct baton_decider {
	bool leader;
	uint64_t leader_since_ms;
	unsigned flags;
	uint32_t retry_ms; /* re-propose a decision after this long */
	/* A synchronous round whose members' finals are all in waits up to
	 * this long (from when this leader first saw them) for the final of
	 * the lost primary region's spare, while that sibling is a candidate
	 * on the region's own word: it keeps the primary in its region and
	 * its final lands a few ms after the members' (design §4, §9 note
	 * 48). Bounded: the spare's final never blocks a failover. 0: no
	 * wait. Default BATON_DECIDER_SPARE_WAIT_MS. */
	uint32_t spare_wait_ms;
	/* struct baton_decider_lease by database name, at most
	 * BATON_MAX_DATABASES (consensus/index.h). A lease that cannot be
	 * allocated means no decision for that database (never a wrong one). */
	struct baton_index leases;
};

enum baton_decision_kind {
	BATON_DECISION_NONE = 0,
	BATON_DECISION_PROMOTE,
	BATON_DECISION_REGION_LOST, /* manual mode: tell the humans */
	BATON_DECISION_LOST,	    /* synchronous: propose lost() first */
	BATON_DECISION_BLOCKED,	    /* a failover is due and cannot happen */
};

/* Why a due failover waits (BATON_DECISION_BLOCKED). */
enum baton_blocked {
	BATON_BLOCKED_NONE = 0,
	BATON_BLOCKED_NO_CANDIDATE,  /* no healthy data region reported in
					this epoch (within maxLagBytes) */
	BATON_BLOCKED_WAITING_FINAL, /* a standby has not reported where it
					stopped (region: which) */
};

struct baton_decision {
	int kind; /* enum baton_decision_kind */
	char db[BATON_NAME_SIZE];
	int region; /* index into the database's regions */
	/* the instance: PROMOTE's (the region's designated one or its
	 * spare), BLOCKED waiting for a final: whose; else the region's
	 * designated one (-1 without a region) */
	int ordinal;
	uint64_t epoch;		/* the new epoch: current + 1 */
	uint64_t renew_seq;	/* CAS token: the renewals this decision saw */
	int reason;		/* enum baton_reason */
	uint64_t expired_at_ms; /* local time the lease was considered gone */
	int blocked;		/* enum baton_blocked (BLOCKED) */
};

void baton_decider_init(struct baton_decider *d, unsigned flags);
/* Free the leases (the decider can be initialised again). */
void baton_decider_close(struct baton_decider *d);

/* This node won an election at NOW. The leases keep the renewals it
 * applied as a follower (decider.c says why that is safe). */
void baton_decider_become_leader(struct baton_decider *d, uint64_t now);
/* A snapshot was restored at NOW: every lease counts as renewed now (the
 * snapshot folds in renewals this node never applied). */
void baton_decider_restored(struct baton_decider *d, uint64_t now);
void baton_decider_lose_leadership(struct baton_decider *d);

/* A renewal (or a promote or a registration, which start the new primary's
 * lease) for DB (the FSM's state after the apply) was applied locally at
 * NOW; LEASE_MS is the lease the renewer counts (0: DB's configured one).
 * SEND_MS is the renewer's claimed send time, kept only for the
 * deliberately broken variant. */
void baton_decider_renewed(struct baton_decider *d,
			   const struct baton_db_state *db, uint32_t lease_ms,
			   uint64_t send_ms, uint64_t now);

/* The database was removed: forget its lease. */
void baton_decider_forget(struct baton_decider *d, const char *db);
/* Forget every lease whose database EXISTS says is gone (after a snapshot
 * restore, which removes databases without REMOVE commands). */
void baton_decider_retain(struct baton_decider *d,
			  bool (*exists)(const char *db, void *data),
			  void *data);

/* Local time at which DB's primary lease expires in this leader's view. */
uint64_t baton_decider_expiry(const struct baton_decider *d,
			      const struct baton_db_state *db, uint64_t now);

/* Local time from which DB's primary counts as lost: the expiry, and one
 * more lease while a planned switchover is under way (the renewals stop on
 * purpose). What decide() acts on and what the status shows. */
uint64_t baton_decider_lost_at(const struct baton_decider *d,
			       const struct baton_db_state *db, uint64_t now);

/* Look at DB at NOW. Returns true and fills OUT when the caller should
 * propose something (a promote, lost) or report something (region lost,
 * blocked). Never decides when this node is not the leader. The caller
 * proposes OUT as a Raft command; the FSM is the final arbiter (epoch and
 * renew_seq CAS). */
bool baton_decider_decide(struct baton_decider *d,
			  const struct baton_db_state *db, uint64_t now,
			  struct baton_decision *out);

/* The highest final position of a member of a standby region in DB's
 * round: every commit acknowledged in the epoch is at or below it (ANY 1
 * of the members). 0 when none has reported one. */
uint64_t baton_decider_member_final_floor(const struct baton_db_state *db);
/* The best eligible data region other than EXCLUDE, or -1: healthy,
 * reported in the current epoch, within max_lag_bytes of the primary's
 * last position; when FINAL_ONLY, only regions that reported their final
 * position, the most advanced first (with ANY 1 only it surely holds every
 * acknowledged commit); then highest priority, then least lag. */
int baton_decider_pick(const struct baton_db_state *db, int exclude,
		       bool final_only);
/* The same over instances (region, slot: docs/design-per-instance.md
 * §3.1): the region, and in *ORDINAL the instance (-1 with none). EXCLUDE
 * is the lost primary *instance*: its region's designated one; the
 * region's spare counts only when the region itself reported its
 * designated instance down in this epoch (§4). A standby region's spare
 * is a candidate only in a synchronous round, as a member, or at or past
 * the highest final of every member. With every region at ordinal 0 and
 * no spare, exactly baton_decider_pick(). */
int baton_decider_pick_instance(const struct baton_db_state *db, int exclude,
				bool final_only, int *ordinal);
/* Synchronous failover: the first candidate (a data region other than the
 * primary) that has not reported its final position, or -1 when all
 * have. */
int baton_decider_missing_final(const struct baton_db_state *db);
/* The same over every member of each standby region's synchronous set
 * (designated and, mid-change, the joiner: either may hold the only copy
 * of an acknowledged commit, §3.5): the region, and in *ORDINAL (if not
 * NULL) which member. */
int baton_decider_missing_instance(const struct baton_db_state *db,
				   int *ordinal);
/* Why instance ORDINAL of REGION stops streaming in DB's failover round
 * and says where its WAL ends (a detach, then a final REPORT): the one
 * rule batond's agents (agents.c), its driver (driver.c) and the
 * simulation's model of the agents follow. */
enum baton_final_due {
	BATON_FINAL_NONE = 0,
	/* a member of a standby data region (the designated instance and,
	 * mid-move, the other member): either may hold the only copy of an
	 * acknowledged commit, and the round waits for each (§3.5) */
	BATON_FINAL_MEMBER,
	/* the lost primary region's sibling in its spare slot, healthy and
	 * reported in this epoch: a candidate on its region's own word, at
	 * or past every member's final; it never blocks the round (§4) */
	BATON_FINAL_LOST_SPARE,
	/* after a synchronous promote that left a promote floor, a standby
	 * region's spare slot that is no member: the member the promote's
	 * reset dropped (a move past LEAVE), which may be the only instance
	 * up that holds the floor (docs/design-per-instance.md §9 note 51).
	 * It never blocks the round either. */
	BATON_FINAL_FLOOR_SPARE,
};
enum baton_final_due baton_decider_final_due(const struct baton_db_state *db,
					     int region, int ordinal);
const char *baton_blocked_name(int blocked);
/* Why a due failover of DB waits, as any node sees it from the FSM and
 * whether the primary's lease lapsed in its view (PRIMARY_LOST): for the
 * status (FailoverBlocked), on every region, not only the leader.
 * *REGION: the standby waited for, or -1. The bounded wait for the lost
 * primary region's spare is no block: decide() says nothing during it,
 * and this says what it says with the spare's final missing (NONE while
 * a member's final is a candidate, NoCandidate when none is). */
int baton_decider_blocked(const struct baton_db_state *db, bool primary_lost,
			  int *region);

/* ---- renewer side (the primary region's batond) ------------------------ */

struct baton_lease {
	uint64_t epoch;
	uint32_t lease_ms; /* what the next renewal claims (the FSM's) */
	uint32_t drift_ppm;
	bool held;
	uint64_t valid_until; /* renewer's clock */
	/* renewals sent at or before this (renewer's clock) extend nothing:
	 * set by a revoke, so that a renewal still in flight when the lease
	 * was dropped (a switchover began, the epoch moved on) cannot bring
	 * it back when it applies later */
	uint64_t barrier_ms;
};

void baton_lease_init(struct baton_lease *l, uint32_t lease_ms,
		      uint32_t drift_ppm);
/* The renewal sent at SEND_MS for EPOCH, claiming LEASE_MS, was committed
 * and accepted. */
void baton_lease_acked(struct baton_lease *l, uint64_t epoch, uint64_t send_ms,
		       uint32_t lease_ms);
/* Drop the lease at once (demoted, fencing, epoch moved on) at NOW: no
 * renewal sent at or before NOW extends it again. */
void baton_lease_revoke(struct baton_lease *l, uint64_t now);
bool baton_lease_valid(const struct baton_lease *l, uint64_t epoch,
		       uint64_t now);
/* The duration the agent may hold its lease, measured on the agent's clock
 * from the moment it *asked* (before this call): remaining / (1 + drift),
 * so that it ends no later in real time. 0 when not valid. */
uint64_t baton_lease_agent_grant(const struct baton_lease *l, uint64_t epoch,
				 uint64_t now);

/* ---- agent side (the instance's baton-agent) ---------------------------
 *
 * The agent asks its batond for a lease and counts the grant from the
 * moment it *sent* the question, on its own clock. The grant was computed
 * when batond answered, later in real time, as remaining / (1 + drift)
 * (baton_lease_agent_grant()), so the agent's lease ends no later in real
 * time than batond's however long the question and the answer took: a
 * late answer only shortens it. operator/agent/lease.h asks the questions;
 * this rule decides what one answer does. */

struct baton_agent_lease {
	uint64_t epoch;		/* highest epoch the agent has seen */
	uint64_t primary_epoch; /* the epoch it became primary at, 0: none */
	uint64_t gen;		/* bumped by every order that drops it */
	bool valid;
	uint64_t deadline;  /* agent clock (ms); valid while now < deadline */
	unsigned margin_ms; /* fence this much before the grant ends */
};

/* One answer, with what the agent recorded when it asked. */
struct baton_lease_answer {
	uint64_t sent_ms; /* agent clock when the question left */
	uint64_t gen;	  /* lease generation at that moment */
	uint64_t epoch;	  /* the epoch batond answered for */
	uint64_t grant_ms;
};

enum baton_grant_verdict {
	BATON_GRANT_EXTENDED = 1, /* deadline moved later (or set) */
	BATON_GRANT_KEPT,	  /* valid, and this answer adds nothing */
	BATON_GRANT_REVOKED,	  /* batond says 0 for our epoch: dropped */
	BATON_GRANT_IGNORED,	  /* stale generation, other epoch, late */
};

/* Applies ANS at agent time NOW to L. Thrown away: an answer to a question
 * asked before the last fence/demote/rejoin/init (L->gen moved on), one
 * for another epoch than the one the instance became primary at, one
 * that arrives after the lease it grants ended. A 0 for our epoch revokes
 * at once. The deadline is ANS->sent_ms + grant - margin, never later. */
enum baton_grant_verdict
baton_agent_lease_apply(struct baton_agent_lease *l,
			const struct baton_lease_answer *ans, uint64_t now);
const char *baton_grant_verdict_name(enum baton_grant_verdict v);

/* What the agent publishes to PostgreSQL (engine/leasefile.h) for L at
 * NOW (both on the lease clock, CLOCK_BOOTTIME in ms): L's own deadline
 * in CLOCK_BOOTTIME nanoseconds while L is valid for its primary epoch,
 * else 0 (fenced). The deadline itself, never "the clock now + what is
 * left": a preemption between two readings of the clock stretched the
 * published deadline by its length (a commit 112 ms after the lease under
 * a loaded CI run, itest_agent_lease). */
uint64_t baton_agent_lease_file_ns(const struct baton_agent_lease *l,
				   uint64_t now);

const char *baton_phase_name(int phase);
const char *baton_reason_name(int reason);

#endif /* BATON_CONSENSUS_DECIDER_H */
