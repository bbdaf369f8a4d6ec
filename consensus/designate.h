/* Who proposes DESIGNATE, and on what evidence
 * (docs/design-per-instance.md §3.2-§3.7): a pure module, run per database
 * on every tick by a region's batond and, later, by the simulation.
 *
 * No I/O and no clock: the caller passes the FSM's state, what it sees of
 * the pods and agents, the time (its monotonic clock, in ms) and a small
 * memory it keeps per database (struct baton_designate_memory, fed by
 * baton_designate_applied() from the FSM's observer on every node). The
 * answer is at most one DESIGNATE per database and call, or none, with a
 * reason for logs and Events. Every proposal is one the FSM accepts in the
 * state it was judged on (same epoch, same desig_seq, the step's phase and
 * masks); the FSM still judges it, so a proposal that lost a race is
 * refused there, never applied on stale ground.
 *
 * Two sides, told apart by this region's place in the FSM:
 *
 * - A standby region R (its own batond) watches its designated instance
 *   a. a counts as down on the evidence of §3.7 (pod gone, Failed or
 *   Ready=Unknown for BATON_DESIGNATE_POD_DOWN_MS; agent status older than
 *   BATON_DESIGNATE_STALE_MS, or not serving, for redesignateAfter; a
 *   forensic hold on a never counts). Then it picks b (not held, Ready,
 *   serving, following the epoch, streaming from the primary's endpoint,
 *   within maxLagBytes; least lag, then lowest ordinal) and proposes
 *   JOIN(R, E, seq, b) in synchronous mode, RELEASE(R, E, seq, a, holder
 *   b) with no evidence in asynchronous mode (§3.6). Not within
 *   redesignateAfter of R's last RELEASE (no flapping); nothing else
 *   starts a move, so an a that comes back never causes a move back.
 *
 * - The primary region (its batond) finishes what a JOIN started, for
 *   every standby region with a change in flight (M = {a, b}):
 *     L = {a, b}: LEAVE(a) once the primary reports b `quorum`, or at once
 *       when it has no walsender for a; give up on b (LEAVE(b)) when b is
 *       not `quorum` BATON_DESIGNATE_GIVE_UP_MS after the JOIN applied;
 *     L = {h}: RELEASE(x, holder h) for the other member x, only from a
 *       `standbys` answer at the epoch whose G is at or past the applied
 *       count at which x's LEAVE applied (the list in force omits x), with
 *       X > 0, and a primary status read at or after that answer in which
 *       h's flush position is at least X (§3.3, §3.4: every commit
 *       acknowledged with x's help has an LSN <= X, so it is on h).
 *
 * Memory and restarts: the memory is only ever a hint towards waiting
 * longer. A batond that restarts mid-move has forgotten when LEAVE
 * applied; it then takes the applied count it first sees the move at,
 * which is at or past LEAVE's, so the G it asks for is stricter
 * (out->need_gen says which G an answer must have).
 */
#ifndef BATON_CONSENSUS_DESIGNATE_H
#define BATON_CONSENSUS_DESIGNATE_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/decider.h"
#include "consensus/fsm.h"

/* §3.7's timers. POD_DOWN: a pod deleted and not recreated, Failed, or
 * Ready=Unknown (its node lost). STALE: an agent status older than this
 * says nothing (batond/agents.c, STALE_MS). GIVE_UP: a joiner that is not
 * `quorum` this long after its JOIN is given up on. */
#define BATON_DESIGNATE_POD_DOWN_MS 10000
#define BATON_DESIGNATE_STALE_MS 5000
#define BATON_DESIGNATE_GIVE_UP_MS 60000
/* spec.failover.redesignateAfterSeconds' default, in ms (0: never) */
#define BATON_DESIGNATE_AFTER_DEFAULT_MS 30000
/* status_age_ms of an agent whose status was never read */
#define BATON_DESIGNATE_NO_STATUS UINT64_MAX

/* What this region's batond sees of one of its pods (ordinal k). Times
 * are the caller's clock, like NOW. */
struct baton_designate_pod {
	bool exists; /* the StatefulSet has (or wants) ordinal k */
	/* pod evidence (§3.7, first row): each with since when it holds */
	bool gone; /* deleted and not recreated (a scale-down too) */
	uint64_t gone_since_ms;
	bool failed; /* phase Failed */
	uint64_t failed_since_ms;
	bool ready_unknown; /* Ready=Unknown: the node is lost */
	uint64_t unknown_since_ms;
	bool ready; /* Ready=True */
	/* the agent (second row) */
	uint64_t status_age_ms; /* BATON_DESIGNATE_NO_STATUS: never read */
	bool serving;		/* agents.c's serving(): initialised, up */
	uint64_t follows_epoch; /* the epoch whose primary it follows */
	bool upstream_primary;	/* streams from the primary's endpoint */
	uint64_t lag_bytes;	/* behind the primary's position */
	bool held;		/* a forensic hold (batond/hold.h) */
};

/* What the primary's agent reports of one standby instance. */
struct baton_designate_standby {
	bool walsender; /* a pg_stat_replication row names it */
	bool quorum;	/* its sync_state is 'quorum' */
	uint64_t flush; /* its flush position (standbyFlushPositions), 0 */
};

/* What the primary region's batond sees of its agent. */
struct baton_designate_primary {
	/* the last `standbys` answer: epoch, G and X (flushLsn) */
	bool answer;
	uint64_t answer_epoch, answer_gen, answer_x;
	uint64_t answer_ms; /* when it came */
	/* the agent's last status: standby rows and flush positions */
	bool status;
	uint64_t status_epoch;
	uint64_t status_ms; /* when it was read */
	/* by FSM region index, then ordinal */
	struct baton_designate_standby standby[BATON_MAX_REGIONS]
					      [BATON_ORDINALS];
};

struct baton_designate_input {
	const struct baton_db_state *st; /* the FSM's state of the database */
	int me;		  /* this batond's region (index into st) */
	uint64_t applied; /* the FSM's applied count (struct baton_fsm) */
	uint32_t redesignate_after_ms; /* 0: never start a designation */
	uint64_t max_lag_bytes;	       /* spec.failover.maxLagBytes */
	/* me is a standby region: its pods by ordinal */
	struct baton_designate_pod pods[BATON_ORDINALS];
	/* me is the primary region */
	struct baton_designate_primary primary;
};

/* Per region of one database: what the caller keeps between calls. */
struct baton_designate_region {
	/* since when the designated instance's agent looked down, on the
	 * designation (ordinal, desig_seq) it was judged on */
	bool agent_down;
	uint64_t agent_down_since_ms;
	uint8_t down_ordinal;
	uint64_t down_seq;
	/* the last RELEASE applied (hysteresis) */
	bool released;
	uint64_t release_ms;
	/* the JOIN that started the change in flight (give-up timer) and
	 * the applied count at which its LEAVE applied; both for DESIG_SEQ
	 * (the seq the JOIN left) */
	bool joined;
	uint64_t join_seq, join_ms;
	bool left;
	uint64_t leave_seq, leave_applied;
};

struct baton_designate_memory {
	struct baton_designate_region regions[BATON_MAX_REGIONS];
};

struct baton_designate_out {
	struct baton_cmd cmd; /* the proposal (type DESIGNATE), if any */
	int region;	      /* the region it is for, or -1 */
	/* RELEASE waits for a standbys answer at G >= this (0: none) */
	uint64_t need_gen;
	char reason[192]; /* why, or why not (logs, Events) */
};

/* Zeroes MEM (a database first seen, or a restart). */
void baton_designate_memory_init(struct baton_designate_memory *mem);

/* The FSM applied CMD with RESULT; ST is the database's state after it
 * (NULL: removed), APPLIED the FSM's applied count (this command
 * included), NOW the caller's clock. Call it for every command on every
 * node (baton_fsm_observer_cb); CMD NULL (a restore) forgets the
 * timers of changes in flight, which then restart, later. */
void baton_designate_applied(struct baton_designate_memory *mem,
			     const struct baton_db_state *st,
			     const struct baton_cmd *cmd, int result,
			     uint64_t applied, uint64_t now);

/* One judgement at NOW: true and OUT->cmd filled with a DESIGNATE to
 * propose, or false (OUT->reason still says why not when something is
 * being waited for). Updates MEM's down timer. */
bool baton_designate_decide(const struct baton_designate_input *in,
			    struct baton_designate_memory *mem, uint64_t now,
			    struct baton_designate_out *out);

#endif /* BATON_CONSENSUS_DESIGNATE_H */
