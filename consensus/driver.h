/* One region's part of the failover protocol (ARCHITECTURE §5), run on
 * every tick of that region's batond: renew the leases of the databases
 * whose primary this region holds, report this region's instances, decide
 * as the Raft leader, and say when something the status shows changed.
 *
 * Pure: no I/O and no clock. The caller passes the time and the FSM and
 * hands the driver's proposals to Raft (ops->propose); outcomes come back
 * through baton_driver_done(), applied commands through
 * baton_driver_applied(). batond's Raft glue (operator/batond/raftglue.c)
 * and the deterministic simulation (consensus/sim.c) both run exactly this
 * code, so what the simulation checks is what the daemon does.
 *
 * Per database and tick the driver
 *  1. drops this region's lease when a switchover begins here (the old
 *     primary's side of §5.7);
 *  2. renews: when this region holds the primary and its designated
 *     instance is healthy, a RENEW(send time) every renewMillis, the
 *     renewals of one tick gathered in RENEW_BATCH entries of up to
 *     BATON_RENEW_BATCH_MAX databases (Raft load grows with regions and
 *     databases / 16, not with databases). Renewals are pipelined (up
 *     to BATON_DRIVER_RENEW_PIPELINE in flight, none counted once older
 *     than the lease), so one slow commit or one lost answer does not
 *     hold back the next: the lease is extended by each accepted renewal
 *     to its own send time + lease (decider.h);
 *  3. notices when the primary's lease lapsed in this node's view (status)
 *     and when this region's own lease lapsed (the label fence);
 *  4. reports health and position every report_ms when they changed or
 *     were not yet reported in this epoch, once the fleet's level has it
 *     (BATON_LEVEL_REPORT_BATCH) gathered like the renewals in
 *     REPORT_BATCH entries of up to BATON_REPORT_BATCH_MAX databases
 *     (final reports, spare reports and a switchover target's catch-up
 *     still go alone, at once); while a synchronous failover
 *     is under way (FailingOver) and this region is a standby, asks for
 *     the final position of each member (ops->final_report: the
 *     designated instance, and mid-move the other member, has stopped
 *     streaming from the old primary) and reports each (the other
 *     member's as a spare REPORT); while a
 *     planned switchover waits for this region (its target) to replay
 *     the old primary's final position, reports on the tick it has;
 *  4b. with designation on (ops.designate), about once per report
 *     interval, asks designate.c whether this region has a DESIGNATE to
 *     propose (a standby region starts a move of its own designated
 *     instance; the primary's region finishes the moves in flight) and
 *     proposes it, one in flight per database; designate.c's memory is
 *     fed from every applied command (baton_driver_applied);
 *  5. as the Raft leader, asks the decider and proposes what it decides
 *     (one promote or lost in flight per database), and keeps why a due
 *     failover is blocked for the status;
 *  6. as the Raft leader, raises the fleet's command level (LEVEL, fsm.h)
 *     once every member's batond said it knows it (ops.fleet_level).
 *     Designation (4b, the spare REPORTs) is on only once the FSM's level
 *     has it: a batond started with --designation in a fleet mid-upgrade
 *     proposes nothing an older replica would refuse.
 * Everything is O(1) per database and tick apart from what is due.
 */
#ifndef BATON_CONSENSUS_DRIVER_H
#define BATON_CONSENSUS_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/decider.h"
#include "consensus/designate.h"
#include "consensus/fsm.h"
#include "consensus/index.h"

#define BATON_DRIVER_RENEW_PIPELINE 3
#define BATON_DRIVER_REPORT_MS 1000

/* A region's best instance other than its designated one (a sibling),
 * for the FSM's spare slot (docs/design-per-instance.md §4). Zeroed: none.
 */
struct baton_spare_report {
	bool present;	   /* there is one; the rest is about it */
	int ordinal;	   /* its ordinal, never the designated one's */
	bool healthy;	   /* it serves: a replica that streams or replays */
	uint64_t position; /* its WAL position (bytes) */
	/* the epoch whose primary it follows, as follows_epoch below; 0:
	 * not known */
	uint64_t follows_epoch;
};

/* What a region reports to the FSM about one database. */
struct baton_region_report {
	bool healthy;	   /* an instance that serves (agent says so) */
	bool sync_standby; /* the primary lists our instance as synchronous */
	uint64_t position; /* WAL position (bytes) the agent reported, 0 */
	/* The designated instance (the one promoted and given the lease)
	 * serves: renewals go on only while it does, so that a dead
	 * primary instance lets the lease lapse even when a sibling in the
	 * same region is healthy. */
	bool primary_ready;
	/* The epoch whose primary the designated instance follows (or is):
	 * the epoch of the last order its agent carried out (one under way
	 * counts as not yet). Below the FSM's epoch its position belongs to
	 * an earlier timeline (an old primary's unreplicated WAL, a standby
	 * not yet rewound and re-pointed), so the region reports nothing
	 * until it follows. 0: not known (no agent), not checked. */
	uint64_t follows_epoch;
	/* The best sibling (serving first, then the highest position), only
	 * with designation on (ops.designate set; an older batond refuses
	 * spare reports). The driver reports it only from the primary
	 * region while the designated instance is not healthy: the region's
	 * own word that its primary instance is down, the one case a
	 * sibling is a failover candidate (decider.c candidate()). In that
	 * region's synchronous failover round the driver asks final_report
	 * for the FSM's spare slot too (the op detaches it). */
	struct baton_spare_report spare;
};

struct baton_driver_ops {
	void *data;
	/* What this region reports for DB ("ns/name"). */
	void (*report)(void *data, const char *db,
		       struct baton_region_report *out);
	/* Hand CMD to Raft. 0: its outcome will come through
	 * baton_driver_done(); otherwise nothing was sent. */
	int (*propose)(void *data, const struct baton_cmd *cmd);
	/* Something DB's status shows changed. May be NULL. */
	void (*changed)(void *data, const char *db);
	/* A decision or lapse worth a log line (LEVEL: 0 debug, 1 info, 2
	 * warn). May be NULL. */
	void (*log)(void *data, int level, const char *db, const char *msg);
	/* This node became (or stopped being) the Raft leader. May be
	 * NULL. */
	void (*leader_changed)(void *data, bool leader);
	/* A synchronous failover of DB at EPOCH (its ROUND-th lost() in
	 * the epoch) needs the final position of this region's member
	 * ORDINAL: true and OUT filled once that instance has detached
	 * (stopped streaming) for this round; false while that is being
	 * done (the driver asks again). The driver asks for the designated
	 * instance and, while a designation move is in flight (M = {a, b},
	 * docs/design-per-instance.md §3.5), for the other member too, whose
	 * final it proposes as a spare REPORT: the failover waits for both.
	 * So the op's side detaches every member of the region in a round,
	 * not only the designated instance. In the lost primary region's
	 * round it asks for the FSM's spare slot (a sibling, §4) when the
	 * region reported one: the op detaches that instance too. The driver
	 * always names the ordinal (batond's agent side also reads -1 as the
	 * designated one). May be NULL: never final. */
	bool (*final_report)(void *data, const char *db, uint64_t epoch,
			     uint64_t round, int ordinal,
			     struct baton_region_report *out);
	/* Designation (consensus/designate.h): fill IN for DB. The driver
	 * has set IN->st, IN->me (this region, a data region of ST) and
	 * IN->applied; the op fills the rest: redesignate_after_ms and
	 * max_lag_bytes from the spec, pods[] when this region is a
	 * standby, primary when it is ST's primary. false: nothing known
	 * yet (nothing is proposed this round). NULL: designation is off
	 * (batond without --designation, a fleet not yet upgraded): the
	 * driver proposes no DESIGNATE and keeps no designation memory. */
	bool (*designate)(void *data, const char *db,
			  struct baton_designate_input *in, uint64_t now);
	/* The lowest command level (fsm.h, BATON_COMMAND_LEVEL) every
	 * member's batond has said, this one's included; 0 while one has
	 * not answered or said nothing (a batond from before). Asked only
	 * by the leader, only while the FSM's level is below this batond's.
	 * NULL: not gated, the fleet runs this build (the simulation, unit
	 * tests): designation follows ops.designate alone. */
	uint32_t (*fleet_level)(void *data);
};

/* Per database, only while designation is on: designate.c's memory and
 * what its last judgement said. */
struct baton_driver_desig {
	char db[BATON_NAME_SIZE];
	struct baton_designate_memory mem;
	bool in_flight;	   /* a DESIGNATE of this database awaits its outcome */
	uint64_t last_ms;  /* last judged (once per report interval) */
	uint64_t need_gen; /* the last judgement's out.need_gen */
	char reason[192];  /* and its reason ("" none) */
};

/* Per database: this node's bookkeeping. */
struct baton_driver_slot {
	char db[BATON_NAME_SIZE];
	struct baton_lease lease; /* this region's lease as the renewer */
	bool lease_was_valid;
	/* send times of the renewals in flight (0: a free place). One older
	 * than the lease is forgotten: its ack could not extend anything
	 * (send + lease is past), and a lost answer must not hold the
	 * pipeline until a transport timeout. */
	uint64_t renew_sent[BATON_DRIVER_RENEW_PIPELINE];
	uint64_t last_renew_ms; /* last renewal sent (or health-checked) */
	uint64_t last_report_ms;
	bool promote_in_flight;
	bool primary_was_lost;	/* the primary's lease expired in our view */
	bool lost_noticed;	/* manual mode: region-lost notice logged */
	uint64_t last_final_ms; /* failing over: last final report sent */
	uint64_t last_spare_final_ms; /* ... of the other member (a move) */
	bool final_in_flight;	      /* that final awaits its outcome */
	bool spare_final_in_flight;   /* ... the other member's */
	/* the leader's last decision was "blocked": why, and for which
	 * region (enum baton_blocked, -1) */
	int blocked;
	int blocked_region;
};

struct baton_driver_stats {
	uint64_t renewals_sent, renewals_accepted, renewals_refused,
	    renewals_unknown;
	/* reports: REPORTs proposed, alone or as items of the
	 * report_batches_sent REPORT_BATCH entries */
	uint64_t reports_sent, report_batches_sent;
	uint64_t promotes_proposed, lost_proposed, lease_lapses;
	uint64_t blocked[3]; /* decisions blocked, by enum baton_blocked */
	uint64_t designates_proposed;
	uint64_t levels_proposed;
};

struct baton_driver {
	char region[BATON_NAME_SIZE];
	/* this incarnation, in every renewal it sends: its own renewals are
	 * told from ones an earlier process sent (replayed from the log) */
	uint64_t nonce;
	/* the renewals of this tick not yet sent (a RENEW_BATCH) */
	struct baton_cmd batch;
	/* the periodic reports of this tick not yet sent (a REPORT_BATCH),
	 * only while BATCHING_REPORTS: the FSM's level has REPORT_BATCH
	 * (set at each tick) */
	struct baton_cmd reports;
	bool batching_reports;
	struct baton_driver_ops ops;
	struct baton_decider decider;
	bool leader;
	/* ops.designate set and the fleet's level has designation (or
	 * ops.fleet_level is NULL); set at each tick */
	bool designating;
	uint64_t level_proposed_ms; /* last LEVEL proposed (0: none) */
	uint32_t report_ms;
	struct baton_driver_stats stats;
	/* struct baton_driver_slot by database name (created by the tick,
	 * deleted with the database or after a restore that lacks it) */
	struct baton_index slots;
	/* struct baton_driver_desig by database name; used only when
	 * ops.designate is set (created by the tick, deleted with the
	 * database or after a restore that lacks it) */
	struct baton_index desig;
};

/* INCARNATION: a number this process (this driver) has and no earlier
 * one of the same region had, e.g. random; 0 counts as 1. */
void baton_driver_init(struct baton_driver *d, const char *region,
		       const struct baton_driver_ops *ops,
		       unsigned decider_flags, uint64_t incarnation);
void baton_driver_close(struct baton_driver *d);

/* One tick at NOW; LEADER: this node is the Raft leader. */
void baton_driver_tick(struct baton_driver *d, struct baton_fsm *fsm,
		       bool leader, uint64_t now);

/* The FSM applied CMD with RESULT at NOW (on every node, for every
 * command); CMD NULL: it was restored from a snapshot. */
void baton_driver_applied(struct baton_driver *d, struct baton_fsm *fsm,
			  const struct baton_cmd *cmd, int result,
			  uint64_t now);

/* The outcome of a proposal this driver made: the FSM's verdict, or 0
 * when it did not commit or nobody knows (a forwarded proposal whose
 * answer was lost). A RENEW_BATCH's verdicts are per database and come
 * with the apply on this node (baton_driver_applied): only an accepted
 * renewal extends the lease. A REPORT_BATCH, like a REPORT, leaves
 * nothing to settle (a report not applied is said again). */
void baton_driver_done(struct baton_driver *d, const struct baton_cmd *cmd,
		       int result);

/* This region's lease for DB at EPOCH is valid at NOW. */
bool baton_driver_lease_valid(struct baton_driver *d, const char *db,
			      uint64_t epoch, uint64_t now);
/* What the agent of DB's designated instance may hold, counted from when
 * it asked (decider.h, agent/lease.h); 0 when this region's lease is not
 * valid. */
uint64_t baton_driver_grant(struct baton_driver *d, const char *db,
			    uint64_t epoch, uint64_t now);
/* DB's primary lease lapsed in this node's view (any node; for status). */
bool baton_driver_primary_lost(struct baton_driver *d, const char *db);
/* This node leads and its decider considers ST's primary lease expired
 * (manual mode: a human may promote now). */
bool baton_driver_expired(struct baton_driver *d,
			  const struct baton_db_state *st, uint64_t now);
/* Why a due failover of DB waits, as the leader last decided
 * (BATON_BLOCKED_NONE when it does not, or this node does not lead);
 * *REGION the region it waits for, or -1. */
int baton_driver_blocked(struct baton_driver *d, const char *db, int *region);
/* Designation (ops.designate set): the G a `standbys` answer of DB's
 * primary must reach before the RELEASE in flight can be proposed
 * (designate.h, out->need_gen; design note 31: the agent is sent a
 * `standbys` order while its G is below it), 0: none. */
uint64_t baton_driver_need_gen(struct baton_driver *d, const char *db);
/* Why DB's designation waits or moves, as last judged ("" nothing, NULL
 * designation off or DB unknown). Valid until the next tick. */
const char *baton_driver_designation(struct baton_driver *d, const char *db);

#endif /* BATON_CONSENSUS_DRIVER_H */
