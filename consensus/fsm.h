/* The replicated state machine: per database, the primary region, the epoch
 * (a monotonic fencing token), the phase, each region's health and
 * replication position and the lease bookkeeping (ARCHITECTURE §5).
 *
 * Commands travel as a versioned binary encoding (big-endian, length-prefixed
 * names, at most BATON_CMD_MAX bytes):
 *
 *   'B' 'T' version(1) type(1) body...
 *
 * Apply never fails the Raft log: a command that is malformed, stale or out
 * of order is *rejected in the result* (raft stops applying on a non-zero
 * return, shared/research/raft.md §4). The result is a small integer code
 * carried in the `void *result` pointer; read it with baton_fsm_result().
 */
#ifndef BATON_CONSENSUS_FSM_H
#define BATON_CONSENSUS_FSM_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/decider.h"
#include "consensus/index.h"

/* Version 2 added the lease a RENEW claims; version 1 commands (a log
 * written by an earlier batond) still decode. A new command type needs no
 * new version: an earlier batond refuses the type (RENEW_BATCH: every
 * region runs the same version, docs/consensus.md "Upgrades"). Version 4
 * added the instance (ordinal) to REPORT and PROMOTE and the spare flag
 * to REPORT; DESIGNATE, LEVEL and REPORT_BATCH exist only in version 4
 * (a command of level 1 or 2, see below). Older entries decode as
 * ordinal 0, the only instance they could mean.
 *
 * The encoder writes the LOWEST version that can express a command
 * (baton_cmd_version()): a REPORT or PROMOTE of ordinal 0 that is not a
 * spare report is written as version 3, byte for byte what batond wrote
 * before, so a fleet whose regions all designate ordinal 0 keeps
 * emitting today's entries, and an older batond reads every entry but
 * DESIGNATE and the reports and promotes of other instances. */
#define BATON_CMD_VERSION 4
/* The commands this batond knows, as one number every region's batond
 * says on its peer API (GET /v1/status "commandLevel"; a batond from
 * before says nothing: 0). The fleet's level (struct baton_fsm
 * fleet_level) is raised by LEVEL, which the leader proposes once every
 * member's batond said at least that (consensus/driver.h); a command
 * that needs a level is proposed only once the FSM holds it, so a fleet
 * mid-upgrade never writes an entry one of its replicas would refuse as
 * malformed while the others apply it.
 *   1: DESIGNATE, spare REPORTs (command format 4), LEVEL, snapshot
 *      formats 5 to 7.
 *   2: REPORT_BATCH (a region's periodic reports of one tick in one
 *      entry, docs/consensus.md §7). */
#define BATON_COMMAND_LEVEL 2
#define BATON_LEVEL_DESIGNATION 1
#define BATON_LEVEL_REPORT_BATCH 2
#define BATON_CMD_MAX 2048
/* Databases one RENEW_BATCH renews: a region's renewals travel in
 * ceil(databases / this) entries per renewMillis, not one per database.
 * 16 items of at most 84 bytes stay inside BATON_CMD_MAX. */
#define BATON_RENEW_BATCH_MAX 16
/* Reports one REPORT_BATCH carries. An item is at most 82 bytes (a
 * 63-byte name), the entry's own fields 133 (fsm.c checks the sum), so
 * 23 would still fit; 16 keeps the largest entry (1,445 bytes) the size
 * class of a full RENEW_BATCH and a third of the limit spare. A region
 * whose databases all take writes reports each of them once per
 * report interval, spread over it (driver.c): at 1,000 databases and
 * batond's 50 ms tick ~50 reports a tick, 4 entries, where 23 would
 * still need 3. */
#define BATON_REPORT_BATCH_MAX 16
/* Snapshot format: 'B' 'S' version applied(u64) chain(u64) count dbs...
 * Version 2 widened count from u8 to u32 (thousands of databases); version
 * 3 added each region's report epoch and final flag and the lease high
 * water mark; version 4 the last epochs of removed databases (after the
 * databases: count u32, next u32, then name + epoch u64 each); version 5
 * each region's designation after its report epoch (designated u8, members
 * u16, listed u16, desig_seq u64, then the spare slot: ordinal u8 with 0xFF
 * for none, flags u8, position u64, report epoch u64); version 6 each
 * database's promote floor (u64) after its round; version 7 the fleet's
 * command level (u32) after the tombstones. Versions 1 to 6 still decode
 * (as ordinal 0, M = L = {0}, no spare; no floor; level 0), and the
 * encoder writes version 4 while every region has that designation, 5
 * while no database has a floor (both only with designation in use), 6
 * while the fleet's level is 0: a batond from before reads every snapshot
 * written before its fleet was all upgraded. */
#define BATON_SNAPSHOT_VERSION 7

enum baton_cmd_type {
	BATON_CMD_REGISTER = 1,	    /* db, config, regions, primary */
	BATON_CMD_REMOVE,	    /* db */
	BATON_CMD_RENEW,	    /* db, region, epoch, send_ms */
	BATON_CMD_REPORT,	    /* db, region, healthy, sync, position */
	BATON_CMD_PROMOTE,	    /* db, region, epoch, renew_seq, reason */
	BATON_CMD_SWITCHOVER,	    /* db, region (target), epoch: begin */
	BATON_CMD_FENCE,	    /* db, region, epoch, position (final) */
	BATON_CMD_SWITCHOVER_ABORT, /* db, epoch */
	BATON_CMD_LOST,		    /* db, region (primary), epoch, renew_seq */
	BATON_CMD_CONFIG,	    /* db, config */
	/* region, send_ms, nonce, then per database: db, epoch, round,
	 * lease_ms. Each item applies as the RENEW it stands for, with its
	 * own verdict (the observer sees one RENEW per item, carrying the
	 * batch's nonce); the entry's own result is OK when every item was
	 * accepted, PARTIAL otherwise. */
	BATON_CMD_RENEW_BATCH,
	/* db, region (a standby region), epoch, step, ordinal, desig_seq,
	 * then for RELEASE the holder and the evidence
	 * (docs/design-per-instance.md §3.2; rules in fsm.c) */
	BATON_CMD_DESIGNATE,
	/* level: raise the fleet's command level (never lowers it); no
	 * database. The leader's alone (never forwarded by the peer API) */
	BATON_CMD_LEVEL,
	/* region, then per database: db, epoch, healthy, sync, position,
	 * ordinal. A region's periodic (not final, not spare) REPORTs of
	 * one tick; each item applies as the REPORT it stands for, with its
	 * own verdict (the observer sees one REPORT per item); the entry's
	 * own result is OK when every item was accepted, PARTIAL otherwise.
	 * Level 2 (BATON_LEVEL_REPORT_BATCH) */
	BATON_CMD_REPORT_BATCH,
	BATON_CMD__COUNT
};

/* DESIGNATE's steps. A move from a to b is JOIN(b), LEAVE(a),
 * RELEASE(a, holder b); giving up on a joiner b is LEAVE(b),
 * RELEASE(b, holder a). In asynchronous mode a lone RELEASE(designated,
 * holder b) moves the designation at once (no list, no evidence). */
enum baton_designate_step {
	BATON_DESIGNATE_JOIN = 1, /* ordinal joins M and L, becomes the spare */
	BATON_DESIGNATE_LEAVE,	  /* ordinal leaves L (stays in M) */
	BATON_DESIGNATE_RELEASE,  /* ordinal leaves M, holder stays */
	BATON_DESIGNATE__COUNT
};

struct baton_cmd {
	int type;
	char db[BATON_NAME_SIZE];
	char region[BATON_NAME_SIZE];
	uint64_t epoch;
	uint64_t send_ms;     /* RENEW */
	uint32_t lease_ms;    /* RENEW: the lease it claims, 0: configured */
	uint64_t position;    /* REPORT, FENCE */
	uint64_t renew_seq;   /* PROMOTE */
	uint8_t reason;	      /* PROMOTE */
	uint8_t healthy;      /* REPORT */
	uint8_t sync_standby; /* REPORT */
	uint8_t final;	      /* REPORT: detached, POSITION is final */
	uint64_t round;	      /* REPORT (final), FENCE: the round it is for;
				 RENEW (v3): the failover round its proposer
				 had seen */
	uint8_t round_known;  /* RENEW: ROUND was encoded (v3 and later) */
	/* REPORT, PROMOTE: the instance (ordinal; 0 in entries before v4).
	 * DESIGNATE: the instance that joins, leaves or is released. */
	uint8_t ordinal;
	uint8_t spare; /* REPORT (v4): ORDINAL is the region's spare slot */
	/* DESIGNATE */
	uint8_t step;	    /* enum baton_designate_step */
	uint64_t desig_seq; /* the region's designation it was proposed on */
	uint8_t holder;	    /* RELEASE: the member that stays (h) */
	/* RELEASE, synchronous: the primary's WAL flush position once it had
	 * dropped ORDINAL from its list (X), and HOLDER's flush position
	 * seen after that; the FSM requires holder_flush >= drop_position */
	uint64_t drop_position;
	uint64_t holder_flush;
	uint32_t level; /* LEVEL */
	/* REGISTER, CONFIG */
	struct baton_failover_config cfg;
	unsigned n_regions;
	struct {
		char name[BATON_NAME_SIZE];
		uint8_t role;
		int32_t priority;
	} regions[BATON_MAX_REGIONS];
	char primary[BATON_NAME_SIZE];
	/* RENEW_BATCH, and the RENEW items the observer sees: who sent it
	 * (the proposing driver's incarnation, baton_driver_init), so that
	 * a driver counts only its own renewals, never one replayed from
	 * the log that an earlier process sent on another clock */
	uint64_t nonce;
	/* RENEW_BATCH, REPORT_BATCH: the items of the one the type says
	 * (never both: they share their storage). The entry's DB is its
	 * first item's (a REPORT_BATCH whose DB is not does not encode) */
	unsigned n_items;
	union {
		struct baton_renew_item {
			char db[BATON_NAME_SIZE];
			uint64_t epoch;
			uint64_t round;
			uint32_t lease_ms;
		} items[BATON_RENEW_BATCH_MAX];
		/* a REPORT's fields, not final and not spare (its round
		 * means nothing then, fsm.c) */
		struct baton_report_item {
			char db[BATON_NAME_SIZE];
			uint64_t epoch;
			uint64_t position;
			uint8_t healthy;
			uint8_t sync_standby;
			uint8_t ordinal;
		} reports[BATON_REPORT_BATCH_MAX];
	};
};

/* The version CMD is written in: the lowest that can express it. */
int baton_cmd_version(const struct baton_cmd *cmd);
/* The fleet's command level CMD needs (BATON_COMMAND_LEVEL's list): 2 for
 * REPORT_BATCH, 1 for every other command of format 4 (DESIGNATE, LEVEL,
 * a REPORT or PROMOTE naming an instance), 0 otherwise. A replica whose
 * batond is below it refuses the entry as malformed. */
uint32_t baton_cmd_level(const struct baton_cmd *cmd);
/* Encode CMD into BUF (capacity CAP); *LEN gets the size.
 * BATON_EINVAL for a bad command, BATON_ETOOLARGE if CAP is too small. */
int baton_cmd_encode(const struct baton_cmd *cmd, uint8_t *buf, size_t cap,
		     size_t *len);
/* Decode; BATON_EPARSE for truncated, unknown version/type, or trailing
 * garbage. Never reads past LEN. */
int baton_cmd_decode(const uint8_t *buf, size_t len, struct baton_cmd *cmd);
/* Encode into a raft_malloc'd buffer ready for raft_apply. */
int baton_cmd_to_raft(const struct baton_cmd *cmd, struct raft_buffer *out);

enum baton_fsm_result {
	BATON_FSM_OK = 1, /* non-zero so that a NULL result means "none" */
	BATON_FSM_MALFORMED,
	BATON_FSM_NO_DB,
	BATON_FSM_EXISTS,
	BATON_FSM_FULL,
	BATON_FSM_NO_REGION,
	BATON_FSM_STALE_EPOCH,	 /* epoch older than current */
	BATON_FSM_BAD_EPOCH,	 /* promote epoch is not current + 1 */
	BATON_FSM_NOT_PRIMARY,	 /* renew/fence from a region that is not */
	BATON_FSM_LEASE_RENEWED, /* promote CAS: a renewal came in between */
	BATON_FSM_NOT_ELIGIBLE,	 /* promote target is not a data region */
	BATON_FSM_PHASE,	 /* not allowed in the current phase */
	/* Not a verdict: REGISTER could not allocate its record, so nothing
	 * was applied (applied, chain and the observer are untouched). The raft
	 * glue returns RAFT_NOMEM, and raft stops applying at this entry: a
	 * replica that stalls is safe, one that skipped a command is not. */
	BATON_FSM_NOMEM,
	/* RENEW_BATCH, REPORT_BATCH: applied, but not every item was
	 * accepted (each item's verdict reaches the observer); OK means all
	 * were */
	BATON_FSM_PARTIAL,
	/* DESIGNATE (or a REPORT/PROMOTE naming an instance) made on another
	 * designation than the region's: another seq, an instance that is
	 * not where the step needs it (out of order, repeated) */
	BATON_FSM_STALE_DESIGNATION,
	/* RELEASE without its evidence: no drop position, or the holder had
	 * not flushed up to it */
	BATON_FSM_NOT_FLUSHED,
	BATON_FSM__COUNT
};

const char *baton_fsm_result_name(int code);
/* A DESIGNATE step's name: "join", "leave", "release" ("unknown"). */
const char *baton_designate_step_name(int step);
static inline int baton_fsm_result(void *result)
{
	return (int)(uintptr_t)result;
}

/* Called after every apply (accepted or not) and after a restore (cmd NULL).
 * The simulation and batond use it to feed the decider local apply times. */
struct baton_fsm;
typedef void (*baton_fsm_observer_cb)(struct baton_fsm *f,
				      const struct baton_cmd *cmd, int result,
				      void *data);

/* The last epoch of a removed database. */
struct baton_fsm_tombstone {
	char name[BATON_NAME_SIZE];
	uint64_t epoch;
};
#define BATON_FSM_TOMBSTONES 256

struct baton_fsm {
	/* struct baton_db_state records by name, at most BATON_MAX_DATABASES
	 * (consensus/index.h); use baton_fsm_db(), baton_fsm_count() and
	 * baton_fsm_db_at(). */
	struct baton_index dbs;
	uint64_t applied; /* commands applied, including rejected ones */
	uint64_t chain;	  /* running hash of every applied command */
	/* Epochs never go back, also across a DatabaseCluster deleted and
	 * created again under the same name (retained data, agents that
	 * remember the highest epoch they saw): REGISTER continues above the
	 * last epoch REMOVE left here. A ring of the last
	 * BATON_FSM_TOMBSTONES removals, the oldest forgotten first. */
	struct baton_fsm_tombstone tomb[BATON_FSM_TOMBSTONES];
	unsigned n_tomb, tomb_next;
	/* The highest LEVEL applied (BATON_COMMAND_LEVEL): every region's
	 * batond knows the commands of this level. Only rises. */
	uint32_t fleet_level;
	baton_fsm_observer_cb observer;
	void *observer_data;
};

/* Fill RAFT_FSM (version 2, no snapshot_finalize/async) around F. Nothing
 * is allocated until the first REGISTER. */
void baton_fsm_init(struct baton_fsm *f, struct raft_fsm *raft_fsm);
/* Free the FSM's databases (RAFT_FSM's data may be NULL: nothing to do). */
void baton_fsm_close(struct raft_fsm *raft_fsm);

/* Apply an encoded command directly (what raft_fsm.apply does). */
int baton_fsm_apply_buf(struct baton_fsm *f, const void *buf, size_t len);

/* The database NAME, found through a hash index, or NULL. The pointer stays
 * valid until that database is removed (REMOVE applied), a snapshot is
 * restored (every record is replaced) or the FSM is closed; other
 * databases' registrations and removals do not move it. */
struct baton_db_state *baton_fsm_db(struct baton_fsm *f, const char *name);
static inline unsigned baton_fsm_count(const struct baton_fsm *f)
{
	return baton_index_count(&f->dbs);
}
/* Iteration: I < baton_fsm_count(). The order is the same on every replica
 * that applied the same commands; a REMOVE moves the last database into the
 * removed one's position. */
static inline struct baton_db_state *baton_fsm_db_at(const struct baton_fsm *f,
						     unsigned i)
{
	return baton_index_at(&f->dbs, i);
}
int baton_fsm_region_index(const struct baton_db_state *db, const char *region);
/* Whether a RELEASE for REGION (an index into DB's regions) applies now as
 * the asynchronous form (§3.6: no list, no evidence, proposed by the
 * region itself) rather than the synchronous one (the primary's, with
 * evidence). The FSM's apply and the peer API's proposer check
 * (batond/peerpropose.c) both ask this, so they cannot disagree. */
bool baton_fsm_release_async(const struct baton_db_state *db, int region);

/* Snapshot encoding, exposed for tests. */
int baton_fsm_snapshot_encode(const struct baton_fsm *f,
			      struct raft_buffer *out);
/* In format VERSION (2 to BATON_SNAPSHOT_VERSION): the tests prove that
 * old snapshots still restore. BATON_EINVAL when VERSION cannot hold F's
 * state (a designation other than REGISTER's before version 5). */
int baton_fsm_snapshot_encode_version(const struct baton_fsm *f, int version,
				      struct raft_buffer *out);
int baton_fsm_snapshot_decode(struct baton_fsm *f, const void *buf, size_t len);

#endif /* BATON_CONSENSUS_FSM_H */
