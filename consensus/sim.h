/* Deterministic simulation of the failover protocol (ARCHITECTURE §5).
 *
 * raft_fixture runs 3 or 5 in-memory Raft servers. Each carries the real
 * FSM (fsm.c) and runs the real per-region driver (driver.c: renewals,
 * reports, decisions), the code batond runs; next to each, an agent runs
 * the real lease rule (agent/lease.h) over a modelled channel. Around them
 * the simulation models only what is I/O: forwarded proposals and their
 * acknowledgements (delayed, reordered, lost, timing out), the agent's
 * questions and batond's answers (delayed, held while the agent is
 * paused), orders (promote, demote, fence), database positions, and clocks
 * whose rates drift within the configured bound. A seeded PRNG drives a
 * schedule of partitions (both ways and one way), heals, kills and
 * crash-restarts of a region's batond (its volatile state is lost; Raft's
 * log survives), agent pauses and crashes, slow agent channels, message
 * delay, slow disks (fsync latency), batond loop stalls, leadership
 * transfers, planned switchovers and clock-rate changes.
 *
 * After every fixture step the checker asserts:
 *  S1  at most one agent is writable at any real instant, and every epoch
 *      has at most one writable region (agents judge their own lease on
 *      their own clock);
 *  S2  no FSM's epoch ever decreases;
 *  S3  applied histories are prefixes of each other (every FSM keeps a hash
 *      chain of what it applied; equal counts must give equal chains);
 *  S4  when a promote applies, the previous epoch's renewer lease and its
 *      agent's lease have already ended in real time (stronger than S1: it
 *      does not lean on the new primary's promotion time), and the
 *      smallest margin seen is reported.
 * After the final heal:
 *  L1  once a Raft leader exists, some agent is writable again within the
 *      liveness bound (a lease with its drift allowance and margin, and
 *      one second for the promote, the order and the first grant); a
 *      promote naming a region whose server is down starts the bound
 *      again (two instances: a primary region that said its designated
 *      instance was down and then died has its sibling promoted, and
 *      the database fails over again a lease later, design §4).
 *
 * With two instances a region (config.instances = 2, docs/consensus.md
 * §2 "Two instances"): each region has ordinals 0 and 1, each with its
 * own agent, lease and position; the FSM's designated ordinal of the
 * primary region is the instance promoted and granted; the primary's
 * synchronous list in force changes only by modelled `standbys` orders
 * (and the list a promote carries), persisted across agent restarts, and
 * only a standby it lists acknowledges a write. The driver runs
 * consensus/designate.c (its designate op is set only with two
 * instances). Faults add: an instance's pod killed or its database
 * stopped (the primary's too, never both of a region), and their
 * return; agent faults hit one instance.
 * Checks add, after every step:
 *  S5  while an instance of the primary can write, the list in force on
 *      it names only members (M) of the most-applied FSM;
 *  S1 and RPO per instance (the promoted one is the designated one);
 * and as end phases (config.end), from a settled fleet:
 *  L2  a standby region's designated instance killed beside a healthy
 *      sibling is replaced (RELEASE applied) within
 *      BATON_DESIGNATE_STALE_MS + redesignateAfter + 5 s; optionally the
 *      primary's region is killed after that (L1's bound and a lease);
 *  or the primary's region is killed with a move in flight;
 *  or (scenario 5) the primary's designated instance is killed, or its
 *  whole region after the instance said it was down and back.
 * The primary's designated instance can be killed or stopped in a
 * schedule too: its region then reports it down and its best sibling as
 * the spare (driver.c), and the decider may promote that sibling at the
 * next epoch (design §4); in a synchronous round batond detaches the
 * lost region's spare-slot instance as it does every member elsewhere.
 *
 * With a witness (config.witness) the last region registers with role
 * witness: a Raft voter running the driver, with no instance (no agent,
 * WAL, orders or polls). Checks add W1 (no promote names it), W2 (no list
 * in force names it), and L1 after the final kill is met only by an
 * instance outside the killed region.
 */
#ifndef BATON_CONSENSUS_SIM_H
#define BATON_CONSENSUS_SIM_H

#include <stdbool.h>
#include <stdint.h>

struct baton_sim_config {
	unsigned n_servers; /* 3 or 5 */
	uint64_t seed;
	unsigned steps;	  /* schedule steps (one fault decision each) */
	unsigned step_ms; /* simulated ms per step */
	unsigned
	    decider_flags; /* BATON_DECIDER_BROKEN_* to prove the checker */
	uint32_t lease_ms, renew_ms, drift_ppm, margin_ms;
	unsigned liveness_ms; /* L1: after the final heal's first leader */
	bool disk_faults;
	bool trace; /* print the trace as it happens */
	bool quiet; /* no faults at all: a steady run (lease lapses counted) */
	unsigned snapshot_threshold, snapshot_trailing;
	/* Instances per region: 1 (the model before per-instance
	 * designation, the runs and digests of before) or 2 (each region
	 * has ordinals 0 and 1; batond runs consensus/designate.c through
	 * the driver; S5 and L2 are checked). */
	unsigned instances;
	uint32_t redesignate_after_ms; /* spec.failover.redesignateAfter */
	unsigned sim_broken;	       /* BATON_SIM_BROKEN_*: the model's own */
	int end;		       /* enum baton_sim_end (two instances) */
	/* END_KILL_PRIMARY_INSTANCE: the sibling's WAL receiver stalls a
	 * second before the kill, so it is behind the standby members */
	bool sibling_behind;
	/* END_KILL_PRIMARY_MID_MOVE: the other standby regions' WAL
	 * receivers stall when the phase starts and the leaving member's
	 * once its LEAVE applied, so only the joiner holds the latest
	 * acknowledged writes when the primary dies */
	bool joiner_only_copy;
	/* two instances: a heal before the final one leaves a killed or
	 * stopped instance down (only its own fault revives it), so moves
	 * finish inside the random schedules; the runner's --moves also
	 * sets 120 steps and a redesignateAfter of 1 s */
	bool moves;
	/* The last region is a witness (examples/ledger-2-plus-witness.yaml:
	 * REGISTER gives it BATON_ROLE_WITNESS): its server votes in Raft
	 * and runs batond's driver, but it has no database instance, so no
	 * agent, no WAL, no orders. Checked besides: W1, no promote ever
	 * names it; W2, no synchronous list in force names it. Off: the
	 * runs and digests of before. */
	bool witness;
	/* Scale mode (docs/consensus.md, "Renewals at 10,000 databases"):
	 * 0 off. Otherwise the modelled database and DATABASES - 1 more are
	 * registered, their primaries spread round-robin over the data
	 * regions (ONE_REGION: all in r0), and once every server applied
	 * them all, SECONDS simulated seconds run with no fault while the
	 * Raft load is counted (struct baton_sim_load). The other databases
	 * have no agent: their region reports them healthy, its designated
	 * instance ready, at a fixed position (WRITING: one that grows, so
	 * every region reports each of them every report interval), so their
	 * primaries renew. batond's tick (every 50 ms of its clock, as
	 * raftglue.c) drives the driver, not every fixture step, so that a
	 * tick gathers what is due into RENEW_BATCH entries as batond does.
	 * The caller sets batond's defaults (baton_sim_config_scale). S2 and
	 * S4 are checked for every database (S4 on its renewer's lease: the
	 * others have no agent), S1 on the modelled one's agents, S3 on
	 * every entry. */
	unsigned databases;
	unsigned seconds;
	bool one_region;
	bool writing;
	unsigned name_len; /* the other databases' names ("default/db-...") */
	/* raft_set_max_inflight_entries() on every server; 0: raft's
	 * default (32), what batond runs with (node.c does not set it) */
	unsigned max_inflight;
	/* The command level every server's batond says (fsm.h,
	 * BATON_COMMAND_LEVEL by default: the fleet runs this build), so
	 * the Raft leader's driver raises the FSM's level with LEVEL as
	 * batond's does (driver.h step 6), and what needs a level (report
	 * batches at 2) starts once it applied. 1: a fleet that knows
	 * designation only (every periodic report alone). 0: no level is
	 * said and none proposed, the FSM stays at 0 and designation is
	 * not gated: the runs and digests from before the level. */
	uint32_t command_level;
	/* Scale mode: once the window closed, the Raft leader's region (r0,
	 * the primary of the modelled database and of every other database
	 * registration gave it: all with ONE_REGION, a third of them
	 * round-robin over three) is killed for good, and the run goes on
	 * until every database whose primary it held has a new one in a
	 * surviving region at a higher epoch, or BATON_SIM_FAIL_BOUND_MS
	 * passed (struct baton_sim_failover). The other databases' instances
	 * are modelled as their reports are: a standby of a database whose
	 * primary died stops at the position it had (it receives nothing
	 * more) and answers its final report at once with it; the dead
	 * region answers nothing. */
	bool fail_region;
	int sync_mode; /* enum baton_sim_sync: every database's mode */
};

/* Whether the databases are synchronous: drawn from the seed (the runs
 * of before), or said. */
enum baton_sim_sync {
	BATON_SIM_SYNC_SEED = 0,
	BATON_SIM_SYNC_ON,
	BATON_SIM_SYNC_OFF,
};

/* Entry types counted (enum baton_cmd_type in fsm.h is below this). */
#define BATON_SIM_CMD_TYPES 16

/* Scale mode: what the Raft log carried while SECONDS ran, counted as the
 * leader appended it (every entry is then replicated to each voter). */
struct baton_sim_load {
	uint64_t registered_ms; /* simulated: first REGISTER -> all applied */
	/* ... -> every server applied within SCALE_SETTLED_LAG entries of
	 * the leader's log (the registration's backlog drained); 0: it did
	 * not (the backlog stopped shrinking), and the window was counted
	 * anyway */
	uint64_t settled_ms;
	/* entries server 0 applied in the window (commits keep up: about
	 * ENTRIES), and the leader's log beyond the slowest server's last
	 * applied entry when the window closed */
	uint64_t applied, backlog;
	/* Raft fell behind for good (the backlog passed 8 entries a
	 * database + 4,096) at this simulated ms, and the run stopped
	 * there: no window; APPLIED, BACKLOG, INDEX_ADVANCE and the
	 * renewal counters are then since the start. 0: it did not */
	uint64_t runaway_ms;
	uint64_t measured_ms; /* the window counted below */
	uint64_t entries, bytes, entry_max;
	uint64_t type_entries[BATON_SIM_CMD_TYPES];
	uint64_t type_bytes[BATON_SIM_CMD_TYPES];
	uint64_t renew_items;  /* databases renewed by the RENEW_BATCHes */
	uint64_t report_items; /* databases reported by the REPORT_BATCHes */
	/* the leader's log index across the window: entries Raft appended
	 * of its own (barriers, configurations) make it exceed ENTRIES */
	uint64_t index_advance;
	/* snapshots taken by every server in the window, their size */
	uint64_t snapshots, snapshot_bytes_max, snapshot_bytes_last;
	/* the most entries any server kept beyond its last snapshot (what
	 * batond holds in memory for its log), and the most bytes they
	 * weighed (the entries' encoded commands, without raft's own
	 * per-entry bookkeeping) */
	uint64_t peak_log_entries, peak_log_bytes;
	uint64_t lease_lapses; /* renewers' leases that lapsed (any db) */
	/* the drivers' renewals in the window (struct baton_driver_stats) */
	uint64_t renew_sent, renew_accepted, renew_refused, renew_unknown;
};

/* Scale mode, FAIL_REGION: the failover of every database the killed
 * region held the primary of, from the kill. */
#define BATON_SIM_FAIL_BOUND_MS 60000
struct baton_sim_failover {
	bool done;	    /* the region was killed */
	int region;	    /* which (r0) */
	bool synchronous;   /* lost(), final reports, promote */
	unsigned databases; /* the other databases whose primary it held */
	/* ... that have a primary in a surviving region at a higher epoch
	 * (the promote applied on that region's server), within the bound */
	unsigned failed_over;
	/* ... and whose new primary's region holds the lease at that epoch
	 * (renewing) a lease and a second after the last one */
	unsigned renewing;
	uint64_t elected_ms; /* kill -> a live Raft leader (0: none) */
	/* kill -> each database's promote applied on its new primary's
	 * server: the first, the median, the 99th percentile, the last */
	uint64_t first_ms, p50_ms, p99_ms, last_ms;
	/* the modelled database: kill -> an agent writable at a higher
	 * epoch (0: not within the bound) */
	uint64_t modelled_ms;
	/* what the leaders appended from the kill to the last failover (or
	 * the bound), and the most entries a live server was behind the
	 * live leader's log meanwhile */
	uint64_t burst_ms;
	uint64_t entries, bytes;
	uint64_t type_entries[BATON_SIM_CMD_TYPES];
	uint64_t backlog_peak;
};

/* Deliberately broken batond behaviour, for proving that the two-instance
 * checks bite (tests/unit/test_consensus_sim.c). */
enum {
	/* the primary lists a standby region's other instance as soon as
	 * the designated one's pod is gone, before any JOIN: S5 */
	BATON_SIM_BROKEN_LIST_EARLY = 1 << 0,
	/* batond grants the lease to ordinal 0 of the primary region,
	 * whatever the FSM designates (design-per-instance.md §6): after a
	 * sibling's promote the instance promoted never gets one. The
	 * design's table says S1; the agent's own rule makes it a liveness
	 * failure instead (ordinal 0 became primary at an older epoch, so it
	 * ignores a grant of the new one): caught by L1 */
	BATON_SIM_BROKEN_GRANT_ORDINAL_0 = 1 << 1,
	/* the primary's agent reads X as a `standbys` order lands, before
	 * the reload took effect: the old list stays in force
	 * BATON_SIM_RELOAD_MS longer, so the leaving member acknowledges
	 * writes above X and a RELEASE judged on that X does not cover
	 * them (design §3.3's wait skipped): S5, RPO */
	BATON_SIM_BROKEN_RELEASE_BEFORE_FLUSH = 1 << 2,
	/* the primary's batond derives its list from M, not L: a committed
	 * LEAVE does not keep the leaving instance out of the list (as a
	 * batond that dropped it only in its memory, then restarted), so
	 * the RELEASE's X is read with it still listed: S5, RPO */
	BATON_SIM_BROKEN_NO_LEAVE = 1 << 3,
	/* batond answers the final of every member of a standby region
	 * with its designated instance's (agents.c's final ignoring the
	 * ordinal): a failover round mid-move never sees the joiner's own
	 * final, the state of the driver before design note 41 with a
	 * decider that does not block on it: RPO */
	BATON_SIM_BROKEN_FINALS_DESIGNATED_ONLY = 1 << 4,
	/* with config.witness: the operator registers the witness as a
	 * data region and its batond reports it healthy at the primary's
	 * position (as if a caught-up standby were there); the FSM and
	 * the decider then take it for a candidate: W1 (and L1: nothing
	 * there can serve) */
	BATON_SIM_BROKEN_WITNESS_AS_DATA = 1 << 5,
};

/* BROKEN_RELEASE_BEFORE_FLUSH: how long after X the old list stays */
#define BATON_SIM_RELOAD_MS 500

/* Two instances: what happens after the final heal and L1. */
enum baton_sim_end {
	/* L2: a standby region's designated instance is killed; its
	 * sibling must be designated (RELEASE applied) within
	 * BATON_DESIGNATE_STALE_MS + redesignateAfter + 5 s */
	BATON_SIM_END_L2 = 0,
	BATON_SIM_END_NONE,
	/* a standby region's designated agent stops answering (paused,
	 * its database still streaming); once the move away from it is
	 * in flight (LEAVE applied), the primary's region is killed:
	 * the failover must lose no acknowledged write, and finish once
	 * the paused agent answers again */
	BATON_SIM_END_KILL_PRIMARY_MID_MOVE,
	/* L2, then the primary's region is killed (when a majority stays):
	 * a writable primary within L1's bound and a lease */
	BATON_SIM_END_L2_KILL_PRIMARY,
	/* scenario 5 of design-per-instance.md §6: the primary's designated
	 * instance is killed (its pod) beside a healthy, caught-up sibling:
	 * a writable primary at a later epoch within L1's bound, a lease
	 * and a second (the sibling's report); struct baton_sim_kill says
	 * which instance */
	BATON_SIM_END_KILL_PRIMARY_INSTANCE,
	/* scenario 5, the whole region: the primary's designated instance
	 * says it is down (its database stopped until the FSM holds that
	 * word and the sibling's spare report), comes back and says so,
	 * then the primary's region is killed (when a majority stays): the
	 * region's last word is "designated healthy", so the sibling is no
	 * candidate; a writable primary elsewhere within L1's bound and a
	 * lease */
	BATON_SIM_END_KILL_PRIMARY_REGION,
	/* scenario 2: a standby region's designated pod is killed while
	 * its sibling's WAL receiver is slow (5 bytes/ms, half the
	 * primary's write rate): RELEASE must wait until the joiner holds
	 * X; struct baton_sim_move says what it waited for */
	BATON_SIM_END_LAGGING_JOINER,
	/* a standby region's designated agent stops answering (its
	 * database streams on and acknowledges while listed) and the other
	 * standby regions' WAL receivers stall, so the moving region holds
	 * the only copy of what is acknowledged; once RELEASE applied the
	 * primary's region is killed: the promote must hold every
	 * acknowledged write (RPO) */
	BATON_SIM_END_MOVE_THEN_KILL_PRIMARY,
	/* scenario 3: a standby region's designated pod is killed; its
	 * batond crash-restarts as it proposes JOIN (the proposal may
	 * still commit), and the restarted one judges again; once a JOIN
	 * applied, a RELEASE of an incarnation that judged before it (the
	 * seq before the JOIN) is proposed: the FSM must refuse it
	 * (stale designation) and the move finish with one JOIN */
	BATON_SIM_END_DESIGNATION_RACE,
	/* scenario 4: END_MOVE_THEN_KILL_PRIMARY, but once RELEASE applied
	 * the released instance answers again and, streaming at full speed
	 * unlisted while the joiner is slow, gets ahead of every
	 * acknowledged write; then the primary's region is killed. The
	 * old instance must never count (not a member, not promoted) and
	 * no acknowledged write may be lost (struct baton_sim_old_back) */
	BATON_SIM_END_OLD_BACK,
};

/* What END_KILL_PRIMARY_INSTANCE and END_KILL_PRIMARY_REGION did. */
struct baton_sim_kill {
	bool done;	     /* the kill happened (the fleet settled first) */
	bool promoted;	     /* then a writable primary at a later epoch */
	int lost_region;     /* the primary's region when killed */
	int lost_ordinal;    /* ... and its designated instance */
	int region, ordinal; /* the instance writable after (-1: none) */
	/* the instance the first promote after the kill named (-1: none);
	 * with nothing else failing it must be the one writable after */
	int first_region, first_ordinal;
	uint64_t from_epoch, epoch;
	uint64_t ms; /* kill -> that primary writable */
	/* synchronous: the last finals the FSM held before the promote:
	 * the lost region's spare's (if it reported one) and the highest
	 * of the standby regions' members' */
	bool spare_final;
	uint64_t spare_final_position, member_final_position;
};

/* Two instances: the last move's RELEASE, as it applied (scenario 2). */
struct baton_sim_move {
	bool released;
	int region;
	unsigned holder;
	uint64_t x, flush;	    /* the RELEASE's evidence */
	uint64_t holder_at_leave;   /* the holder's position at its LEAVE */
	uint64_t holder_at_release; /* ... and when the RELEASE applied */
	uint64_t leave_to_release_ms;
};

/* END_OLD_BACK: the released instance back, ahead on WAL nobody
 * acknowledged, before the primary's region is killed. */
struct baton_sim_old_back {
	bool done;
	int region;
	unsigned ordinal;  /* the released instance */
	uint64_t position; /* its position when the primary was killed */
	uint64_t acked;	   /* the highest acknowledged write then */
	uint16_t members;  /* its region's M after the failover */
	int new_region;	   /* the instance writable after (-1: none) */
	int new_ordinal;
};

struct baton_sim_result {
	bool violation;
	char what[256];	  /* the first violation, or the liveness failure */
	char trace[4096]; /* the last events before it */
	bool liveness_ok;
	/* The fixture's Raft elected no leader within 15 s after the final
	 * heal (not a property of Baton's: docs/consensus.md); L1 was not
	 * checked in this schedule. */
	bool raft_stalled;
	/* Two instances: no writable primary after the final heal because
	 * the failover rightly waits on a promote floor (design-per-instance
	 * §9, notes 47, 49) that only unreachable instances hold (their
	 * server down, or the instance dead or stopped): promoting anything
	 * else would lose acknowledged writes. L1 was not checked. */
	bool floor_waited;
	uint64_t sim_ms;   /* simulated time run */
	unsigned promotes; /* promotes committed (leader's view) */
	unsigned failover_samples;
	uint64_t failover_ms_sum; /* lease expiry -> promote committed */
	uint64_t failover_ms_max;
	uint64_t recover_ms;	  /* final heal -> writable primary */
	uint64_t max_log_entries; /* entries kept beyond the last snapshot */
	uint64_t applied;	  /* commands applied on server 0 */
	/* S4: the smallest real-time margin between the end of the old
	 * epoch's leases and a promote's apply (INT64_MAX: no promote) */
	int64_t min_slack_ms;
	unsigned lease_lapses;	 /* a primary agent lost its lease, no fault */
	unsigned sync_failovers; /* promotes after lost() (synchronous) */
	/* A hash of every event the model traced (printed or not) and of
	 * each server's applied history and Raft term at the end: two runs
	 * of one seed are the same run only if their digests are equal
	 * ("the same seed replays bit for bit", docs/consensus.md). */
	uint64_t digest;
	/* two instances: DESIGNATE steps applied (first server to apply
	 * each), the moves L2 timed, and the steps in order ("r1 J1 L0 R0
	 * ..."; truncated) */
	unsigned joins, leaves, releases;
	unsigned l2_checked;
	uint64_t l2_ms_max;	 /* kill -> RELEASE applied */
	unsigned mid_move_kills; /* END_KILL_PRIMARY_MID_MOVE carried out */
	unsigned move_kills;	 /* END_MOVE_THEN_KILL_PRIMARY carried out */
	char steps[256];
	bool synchronous; /* the schedule's database (drawn from the seed) */
	struct baton_sim_kill kill;
	struct baton_sim_move move;
	/* DESIGNATE commands the FSM refused (first server to apply each),
	 * and how many of them as a stale designation */
	unsigned desig_refused, desig_stale;
	/* DESIGNATE JOINs batond proposed (any region, any incarnation),
	 * and END_DESIGNATION_RACE's crash-restart and stale RELEASE */
	unsigned join_proposals;
	bool race_crashed, race_stale_sent;
	struct baton_sim_old_back old_back;
	/* the region the final kill took for good (-1: none), and the
	 * region writable when L1 was met (-1: none) */
	int final_killed;
	int recovered_region;
	struct baton_sim_load load;	    /* scale mode */
	struct baton_sim_failover failover; /* scale mode, FAIL_REGION */
};

void baton_sim_config_default(struct baton_sim_config *c);
/* Scale mode with batond's defaults: N databases, SECONDS measured, the
 * spec's defaults (leaseSeconds 2, renewMillis 500), batond's (drift 5 %,
 * margin 200 ms) and node.c's snapshot threshold and trailing (1,024 and
 * 2,048, not the simulation's 64 and 32). */
void baton_sim_config_scale(struct baton_sim_config *c, unsigned n,
			    unsigned seconds);
/* Run one schedule. Returns 0 (a violation is reported in RES, not as an
 * error) or BATON_EINTERNAL if the fixture could not be set up. */
int baton_sim_run(const struct baton_sim_config *c,
		  struct baton_sim_result *res);

#endif /* BATON_CONSENSUS_SIM_H */
