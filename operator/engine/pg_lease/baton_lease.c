/* baton_lease: PostgreSQL 15 refuses to commit writes without a valid lease.
 *
 * Loaded with shared_preload_libraries; baton.lease_file names the file
 * baton-agent writes (leasefile_format.h). The agent's fence
 * (default_transaction_read_only) only shapes new transactions, and only
 * while the agent runs: BEGIN READ WRITE walks past it, and a paused or
 * killed agent never applies it. This module moves the deadline into the
 * server: every commit that would write is checked against the clock, in
 * the committing backend itself, so the check needs nobody else to be
 * scheduled.
 *
 * What is refused, while the server is not in recovery:
 *  - the commit (XACT_EVENT_PRE_COMMIT, _PARALLEL_PRE_COMMIT) and the
 *    PREPARE TRANSACTION (XACT_EVENT_PRE_PREPARE) of a transaction that
 *    has an xid, i.e. that wrote something, at or after the deadline. This
 *    is the safety check: whatever path a write took (BEGIN READ WRITE,
 *    SET default_transaction_read_only = off, a function, a trigger, a
 *    procedure's intermediate COMMIT), its commit record is never written.
 *  - COMMIT PREPARED, checked as the statement starts: it writes the
 *    commit record of a transaction prepared earlier without running that
 *    transaction's commit callbacks.
 *  - fail fast, before any work: DML (and SELECT FOR UPDATE/SHARE, and
 *    WITH ... INSERT) in ExecutorStart, and every utility statement that
 *    PostgreSQL itself refuses in a read-only transaction (DDL, TRUNCATE)
 *    plus CLUSTER, REINDEX, NOTIFY and COPY FROM in ProcessUtility. The
 *    commit check would refuse their transactions anyway.
 * Fail closed: no lease file, a short one, a corrupt one (magic, version),
 * one written before the last reboot (boot id), a writer stuck mid-update,
 * baton.lease_file unset: every one of them refuses, like an expired
 * lease.
 *
 * What it does NOT cover (docs/agent.md says it for operators):
 *  - WAL written without an xid: nextval() between its WAL-logged steps
 *    (one record pre-logs 32 values; the value handed out is consumed even
 *    if the transaction is then refused), non-transactional logical
 *    decoding messages (pg_logical_emit_message(false, ...)), hint-bit
 *    full-page images, VACUUM's pruning, CHECKPOINT. None of them is a
 *    client's data, but they make the fenced instance's WAL diverge:
 *    pg_rewind (rejoin) deals with that.
 *  - The moment between the check and the commit record: a backend that
 *    passed the check just before the deadline and is then descheduled
 *    writes its commit record late. The agent's lease margin (its deadline
 *    is batond's minus --lease-margin-ms) must cover that stall too.
 *  - A superuser: it can rewrite the lease file with COPY ... TO, unload
 *    this module with ALTER SYSTEM (the engine drops such overrides at
 *    every start) or run anything with COPY ... PROGRAM. The lease guards
 *    against a partitioned or paused control plane, not against a hostile
 *    database superuser.
 *  - Asynchronous replication: a write committed before the deadline but
 *    not yet streamed is lost at failover, as before.
 *
 * Cost: one seqlock read of a page shared with the agent and one vDSO
 * clock_gettime(CLOCK_BOOTTIME) per writing commit and per DML statement.
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"

#include "leasefile_format.h"

PG_MODULE_MAGIC;

void _PG_init(void);

/* A writer stuck mid-update is waited for this long, then refused: the
 * agent's update is a handful of stores, so only a stopped or preempted
 * agent is ever seen odd, and a preempted one is back within a few ms. */
#define READ_SPINS 1000
#define READ_ROUNDS 50
#define READ_PAUSE_US 200

static char *lease_file_path;
static char *lease_state_unused;

/* Read once in the postmaster, inherited by every backend: a backend never
 * outlives the boot its postmaster started in. Zero: unknown, refuse. */
static uint64 boot_id[2];

/* This backend's read-only mapping of the lease file, made on first use
 * and kept. dev/ino tell when the path now names another file. */
static const struct baton_leasefile_data *lease_map;
static dev_t lease_dev;
static ino_t lease_ino;

static ExecutorStart_hook_type prev_executor_start;
static ProcessUtility_hook_type prev_process_utility;

struct lease_check {
	enum baton_lease_verdict verdict;
	uint64 epoch;
	uint64 deadline_ns;
	uint64 now_ns;
};

static uint64 boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64)ts.tv_sec * UINT64CONST(1000000000) + (uint64)ts.tv_nsec;
}

static void read_boot_id(void)
{
	char buf[64];
	ssize_t n;
	int fd = open(BATON_LEASEFILE_BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);

	boot_id[0] = boot_id[1] = 0;
	if (fd < 0) {
		return;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) {
		return;
	}
	buf[n] = '\0';
	if (baton_leasefile_parse_boot_id(buf, boot_id) != 0) {
		boot_id[0] = boot_id[1] = 0;
	}
}

static void unmap_lease(void)
{
	if (lease_map != NULL) {
		munmap((void *)lease_map, BATON_LEASEFILE_SIZE);
		lease_map = NULL;
	}
}

/* Maps the lease file read-only. BATON_LEASE_VALID when mapped, otherwise
 * why not (the next check tries again). */
static enum baton_lease_verdict map_lease(void)
{
	struct stat st;
	void *map;
	int fd;

	if (lease_file_path == NULL || lease_file_path[0] == '\0') {
		return BATON_LEASE_UNSET;
	}
	fd = open(lease_file_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return BATON_LEASE_MISSING;
	}
	/* A mapping past the end of the file faults (SIGBUS) when read:
	 * only a file holding the whole record is mapped. The writer never
	 * shrinks it afterwards. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return BATON_LEASE_MISSING;
	}
	if (st.st_size < (off_t)BATON_LEASEFILE_SIZE) {
		close(fd);
		return BATON_LEASE_SHORT;
	}
	map = mmap(NULL, BATON_LEASEFILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd); /* the mapping holds the file */
	if (map == MAP_FAILED) {
		return BATON_LEASE_MISSING;
	}
	lease_map = map;
	lease_dev = st.st_dev;
	lease_ino = st.st_ino;
	return BATON_LEASE_VALID;
}

/* The path names another file than the one mapped (deleted, replaced)? */
static bool lease_file_replaced(void)
{
	struct stat st;

	if (stat(lease_file_path, &st) != 0) {
		return true;
	}
	return st.st_dev != lease_dev || st.st_ino != lease_ino;
}

static void read_lease(struct lease_check *c)
{
	struct baton_lease_snapshot snap;
	int round;

	c->epoch = 0;
	c->deadline_ns = 0;
	if (lease_map == NULL) {
		c->verdict = map_lease();
		if (c->verdict != BATON_LEASE_VALID) {
			c->now_ns = boottime_ns();
			return;
		}
	}
	for (round = 0; round < READ_ROUNDS; round++) {
		if (baton_leasefile_read(lease_map, &snap, READ_SPINS) == 0) {
			break;
		}
		pg_usleep(READ_PAUSE_US);
	}
	/* the clock after the record: never older than what was read */
	c->now_ns = boottime_ns();
	if (round == READ_ROUNDS) {
		c->verdict = BATON_LEASE_TORN;
		return;
	}
	c->epoch = snap.epoch;
	c->deadline_ns = snap.deadline_ns;
	c->verdict = baton_leasefile_judge(&snap, boot_id, c->now_ns);
}

/* The lease as of now. Only a refusal pays for a look at the path: a
 * long-lived session whose file was deleted and written anew must see the
 * new one, not fail forever on its old mapping. */
static void check_lease(struct lease_check *c)
{
	read_lease(c);
	if (c->verdict != BATON_LEASE_VALID &&
	    c->verdict != BATON_LEASE_UNSET && lease_map != NULL &&
	    lease_file_replaced()) {
		unmap_lease();
		read_lease(c);
	}
}

static void refuse(const struct lease_check *c, const char *what)
{
	char detail[160];

	if (c->verdict == BATON_LEASE_EXPIRED) {
		snprintf(detail, sizeof detail, "%s %.3f s ago",
			 baton_lease_verdict_text(c->verdict),
			 (double)(c->now_ns - c->deadline_ns) / 1e9);
	} else {
		snprintf(detail, sizeof detail, "%s",
			 baton_lease_verdict_text(c->verdict));
	}
	ereport(ERROR,
		(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
		 errmsg("baton: no valid lease (epoch %llu): the instance is "
			"fenced",
			(unsigned long long)c->epoch),
		 errdetail("%s; %s refused.", detail, what),
		 errhint("This instance accepts writes only while its "
			 "baton-agent holds the lease from batond. Write to "
			 "the current primary.")));
}

static void enforce(const char *what)
{
	struct lease_check c;

	if (RecoveryInProgress()) {
		return; /* a replica writes nothing; promotion ends this */
	}
	check_lease(&c);
	if (c.verdict != BATON_LEASE_VALID) {
		refuse(&c, what);
	}
}

static void xact_cb(XactEvent event, void *arg)
{
	switch (event) {
	case XACT_EVENT_PRE_COMMIT:
	case XACT_EVENT_PARALLEL_PRE_COMMIT:
		/* no xid: the transaction wrote nothing to commit */
		if (TransactionIdIsValid(GetTopTransactionIdIfAny())) {
			enforce("the commit was");
		}
		break;
	case XACT_EVENT_PRE_PREPARE:
		if (TransactionIdIsValid(GetTopTransactionIdIfAny())) {
			enforce("PREPARE TRANSACTION was");
		}
		break;
	default:
		break;
	}
}

static void executor_start(QueryDesc *qd, int eflags)
{
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
	    (qd->operation != CMD_SELECT || qd->plannedstmt->hasModifyingCTE ||
	     qd->plannedstmt->rowMarks != NIL)) {
		enforce("the statement was");
	}
	if (prev_executor_start != NULL) {
		prev_executor_start(qd, eflags);
	} else {
		standard_ExecutorStart(qd, eflags);
	}
}

/* Would this utility statement write? Read-only in PostgreSQL's own sense
 * (ClassifyUtilityCommandAsReadOnly in tcop/utility.c), where fail-fast
 * is all that is at stake, with one exception that is about safety:
 * COMMIT PREPARED. Statements not listed are refused, so a new kind of
 * statement fails closed. ALTER SYSTEM must stay allowed: it is how the
 * agent fences. */
static bool utility_writes(Node *stmt)
{
	switch (nodeTag(stmt)) {
	case T_TransactionStmt:
		return ((TransactionStmt *)stmt)->kind ==
		       TRANS_STMT_COMMIT_PREPARED;
	case T_CopyStmt:
		return ((CopyStmt *)stmt)->is_from;
	case T_AlterSystemStmt:
	case T_CallStmt:
	case T_CheckPointStmt:
	case T_ClosePortalStmt:
	case T_ConstraintsSetStmt:
	case T_DeallocateStmt:
	case T_DeclareCursorStmt:
	case T_DiscardStmt:
	case T_DoStmt:
	case T_ExecuteStmt:
	case T_ExplainStmt:
	case T_FetchStmt:
	case T_ListenStmt:
	case T_LoadStmt:
	case T_LockStmt:
	case T_PrepareStmt:
	case T_UnlistenStmt:
	case T_VacuumStmt:
	case T_VariableSetStmt:
	case T_VariableShowStmt:
		return false;
	default:
		return true;
	}
}

static void process_utility(PlannedStmt *pstmt, const char *query,
			    bool read_only_tree, ProcessUtilityContext context,
			    ParamListInfo params, QueryEnvironment *env,
			    DestReceiver *dest, QueryCompletion *qc)
{
	if (utility_writes(pstmt->utilityStmt)) {
		enforce("the statement was");
	}
	if (prev_process_utility != NULL) {
		prev_process_utility(pstmt, query, read_only_tree, context,
				     params, env, dest, qc);
	} else {
		standard_ProcessUtility(pstmt, query, read_only_tree, context,
					params, env, dest, qc);
	}
}

/* SHOW baton.lease_state: the module's own view, for the agent's status
 * and for people. Computed at every SHOW. */
static const char *show_lease_state(void)
{
	static char buf[256];
	struct lease_check c;

	const char *recovery =
	    RecoveryInProgress() ? "; in recovery: not enforced" : "";

	check_lease(&c);
	if (c.verdict == BATON_LEASE_VALID) {
		snprintf(
		    buf, sizeof buf, "valid: epoch %llu, %llu ms left%s",
		    (unsigned long long)c.epoch,
		    (unsigned long long)((c.deadline_ns - c.now_ns) / 1000000),
		    recovery);
	} else {
		snprintf(buf, sizeof buf, "no valid lease: %s (epoch %llu)%s",
			 baton_lease_verdict_text(c.verdict),
			 (unsigned long long)c.epoch, recovery);
	}
	return buf;
}

void _PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress) {
		ereport(ERROR, (errmsg("baton_lease must be loaded with "
				       "shared_preload_libraries")));
	}
	DefineCustomStringVariable(
	    "baton.lease_file", "File holding this instance's lease.",
	    "Written by baton-agent. Without a valid lease in it, no "
	    "transaction that wrote anything may commit.",
	    &lease_file_path, "", PGC_POSTMASTER, GUC_NOT_IN_SAMPLE, NULL, NULL,
	    NULL);
	DefineCustomStringVariable(
	    "baton.lease_state", "Whether this instance holds a valid lease.",
	    NULL, &lease_state_unused, "", PGC_INTERNAL,
	    GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE | GUC_NO_RESET_ALL, NULL,
	    NULL, show_lease_state);
	MarkGUCPrefixReserved("baton");
	read_boot_id();
	RegisterXactCallback(xact_cb, NULL);
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = executor_start;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = process_utility;
}
