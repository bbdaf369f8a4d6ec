/* Integration tests for the lease PostgreSQL enforces itself: the
 * baton_lease module (operator/engine/pg_lease/baton_lease.c) in real
 * PostgreSQL 15 servers started by the engine, fed by the lease file
 * writer (operator/engine/leasefile.c). The module is the one the build
 * made next to this binary ($(BUILD)/lib/baton_lease.so).
 *
 * What is proved here, each time on the server's own answer:
 *  - a valid lease lets writes commit; at and after the deadline no
 *    transaction that wrote commits, with SQLSTATE 25006 and "baton: no
 *    valid lease (epoch N): the instance is fenced": INSERT, UPDATE,
 *    DELETE, DDL, TRUNCATE, a data-modifying CTE, SELECT FOR UPDATE, a
 *    function that writes, txid_current() (an xid and nothing else, so
 *    only the commit check sees it), inside BEGIN READ WRITE, after SET
 *    default_transaction_read_only = off, and a transaction that began
 *    and wrote before the deadline and commits after it;
 *  - reads and read-only transactions still work, and so do the engine's
 *    fence, unfence and status (ALTER SYSTEM) with no lease; extending the
 *    deadline makes the instance writable again;
 *  - fail closed: a missing file, a corrupt one (magic, version, garbage),
 *    a short one, one of another boot (boot id), a writer stopped mid-
 *    update; a long-lived session follows a file deleted and written anew;
 *  - a replica (in recovery) is unaffected and replays; once promoted it
 *    is fenced until its own lease file says otherwise; clone, rewind,
 *    restart keep the module loaded, and ALTER SYSTEM cannot unload it;
 *    PREPARE TRANSACTION and COMMIT PREPARED are checked;
 *  - an agent process renewing the lease, then SIGSTOPped (or SIGKILLed),
 *    cannot keep PostgreSQL writable past the deadline it last wrote.
 */
#include <fcntl.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "../unit/support/pg_cluster.h"
#include "engine/engine.h"
#include "engine/leasefile.h"
#include "batonctl/load.h"

#define MS 1000000ull /* ns */

static void must(struct pgt_node *n, int rv)
{
	ck_assert_msg(rv == 0, "%s: %s (%s)", n->name, n->e.errmsg,
		      baton_errname(rv));
}

/* N's engine again, loading module SO with LEASE_PATH (NULL: neither). */
static void set_lease_config(struct pgt_node *n, const char *so,
			     const char *lease_path)
{
	n->cfg.lease_module = so;
	n->cfg.lease_file = lease_path;
	baton_engine_destroy(&n->e);
	ck_assert_int_eq(baton_pg_engine_init(&n->e, &n->cfg), 0);
}

/* A node whose engine loads the module and names LEASE_PATH. */
static void lease_node_init(struct pgt_node *n, const char *dir,
			    const char *name, const char *so,
			    const char *lease_path)
{
	pgt_node_init(n, dir, name, false, NULL);
	set_lease_config(n, so, lease_path);
}

static PGconn *conn(const struct pgt_node *n)
{
	char conninfo[512];
	PGconn *c;

	snprintf(conninfo, sizeof conninfo,
		 "host=%s port=%d user=postgres dbname=postgres "
		 "connect_timeout=5",
		 n->sockdir, n->port);
	c = PQconnectdb(conninfo);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect %s: %s", n->name,
		      PQerrorMessage(c));
	return c;
}

/* Runs Q on C: 0, or -1 with the message and SQLSTATE in ERR. */
static int run(PGconn *c, const char *q, char *err, size_t size)
{
	PGresult *r = PQexec(c, q);
	ExecStatusType st = PQresultStatus(r);
	int rv = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		snprintf(err, size, "[%s] %s", code ? code : "-",
			 PQerrorMessage(c));
		rv = -1;
	} else if (size > 0) {
		err[0] = '\0';
	}
	PQclear(r);
	return rv;
}

static void ok_on(PGconn *c, const char *q)
{
	char err[1024];
	ck_assert_msg(run(c, q, err, sizeof err) == 0, "%s: %s", q, err);
}

#define ANY_EPOCH (~0ull)

/* Q on C must be refused by the lease, at epoch EPOCH (or ANY_EPOCH),
 * saying WHY (or anything, when NULL). */
static void refused_on(PGconn *c, const char *q, unsigned long long epoch,
		       const char *why)
{
	char err[1024], want[128];

	ck_assert_msg(run(c, q, err, sizeof err) != 0, "%s was accepted", q);
	if (epoch == ANY_EPOCH) {
		snprintf(want, sizeof want, "baton: no valid lease (epoch ");
	} else {
		snprintf(want, sizeof want,
			 "baton: no valid lease (epoch %llu): the instance is "
			 "fenced",
			 epoch);
	}
	ck_assert_msg(strstr(err, want) != NULL, "%s: want '%s', got %s", q,
		      want, err);
	ck_assert_msg(strncmp(err, "[25006]", 7) == 0, "%s: sqlstate: %s", q,
		      err);
	ck_assert_msg(why == NULL || strstr(err, why) != NULL,
		      "%s: want '%s' in %s", q, why, err);
	ck_assert_msg(strstr(err, "HINT:") != NULL, "%s: no hint: %s", q, err);
	/* an aborted transaction block must not linger on C */
	if (PQtransactionStatus(c) == PQTRANS_INERROR) {
		PQclear(PQexec(c, "ROLLBACK"));
	}
}

static void ok(struct pgt_node *n, const char *q)
{
	PGconn *c = conn(n);
	ok_on(c, q);
	PQfinish(c);
}

static void refused(struct pgt_node *n, const char *q, unsigned long long epoch,
		    const char *why)
{
	PGconn *c = conn(n);
	refused_on(c, q, epoch, why);
	PQfinish(c);
}

static long long count(struct pgt_node *n, const char *q)
{
	char out[64], err[256];
	ck_assert_msg(pgt_exec(n, q, out, sizeof out, err, sizeof err) == 0,
		      "%s: %s", q, err);
	return strtoll(out, NULL, 10);
}

static void show_state(struct pgt_node *n, char *out, size_t size)
{
	char err[256];
	ck_assert_msg(pgt_exec(n, "SHOW baton.lease_state", out, size, err,
			       sizeof err) == 0,
		      "the module is not loaded on %s: %s", n->name, err);
}

static void grant(struct baton_leasefile *lf, uint64_t epoch, uint64_t ms)
{
	baton_leasefile_set(lf, epoch, baton_boottime_ns() + ms * MS);
}

static void sleep_ms(unsigned ms)
{
	usleep(ms * 1000u);
}

/* Overwrites LEN bytes at OFF of the lease file behind the writer's back
 * (the flock is advisory), as a corruption would. */
static void poke(const char *path, off_t off, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/* The drills' write load counts a write as acknowledged only if its commit
 * succeeded. With the extended protocol an autocommit INSERT's
 * CommandComplete arrives before its commit, which runs at Sync: a lease
 * that ends in between makes baton_lease refuse the commit after the
 * client already holds a COMMAND_OK. The load kept that first result and
 * counted the refused write as acknowledged, which a lab drill then
 * reported as a lost write (kill-batond, 2026-12-05: id 247, whose
 * transaction the promoted standby had replayed as an abort). */
START_TEST(load_counts_a_refused_commit_as_an_error)
{
	char dir[64], so[128], path[128], errmsg[BATON_ERRMSG_SIZE];
	char err[512];
	struct pgt_node n[1];
	struct baton_leasefile lf;
	const char *params[] = {"7"};
	bool broken;
	PGresult *r;
	PGconn *c;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_lease_module_copy(dir, so, sizeof so);
	snprintf(path, sizeof path, "%s/lease-a", dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	lease_node_init(&n[0], dir, "a", so, path);
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	grant(&lf, 3, 60000);
	ok(&n[0], "CREATE TABLE t (id int primary key, v int)");

	/* the statement starts under the lease and ends after it */
	grant(&lf, 3, 1000);
	c = conn(&n[0]);
	r = baton_ctl_load_exec(
	    c, "INSERT INTO t VALUES ($1, (SELECT 0 FROM pg_sleep(1.5)))", 1,
	    params, 10000, err, sizeof err, &broken);
	ck_assert_msg(r == NULL, "a refused commit was taken as acknowledged");
	ck_assert_msg(strstr(err, "baton: no valid lease") != NULL, "%s", err);
	PQfinish(c);
	grant(&lf, 3, 60000);
	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM t"), 0);
	baton_leasefile_close(&lf);
	pgt_cleanup(dir, n, 1);
}
END_TEST

START_TEST(commits_need_a_valid_lease)
{
	char dir[64], so[128], path[128], errmsg[BATON_ERRMSG_SIZE];
	char state[256];
	struct pgt_node n[1];
	struct baton_leasefile lf;
	struct baton_engine_status st;
	PGconn *c;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_lease_module_copy(dir, so, sizeof so);
	snprintf(path, sizeof path, "%s/lease-a", dir);
	/* the agent opens its lease file before the instance starts */
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	lease_node_init(&n[0], dir, "a", so, path);
	/* init creates the replication role although no lease can exist
	 * yet, and leaves the module loaded */
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	show_state(&n[0], state, sizeof state);
	ck_assert_msg(strstr(state, "fenced by the agent") != NULL, "%s",
		      state);
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	/* read-only off, but no lease: the server still refuses */
	refused(&n[0], "CREATE TABLE t (id int)", 0, "fenced by the agent");

	grant(&lf, 3, 60000);
	show_state(&n[0], state, sizeof state);
	ck_assert_msg(strncmp(state, "valid: epoch 3", 14) == 0, "%s", state);
	ok(&n[0], "CREATE TABLE t (id int primary key, v int);"
		  "CREATE TABLE probe (x int);"
		  "CREATE FUNCTION w() RETURNS int LANGUAGE sql AS "
		  "'INSERT INTO probe VALUES (1) RETURNING 1'");
	ok(&n[0], "INSERT INTO t VALUES (1, 0)");
	ok(&n[0], "BEGIN READ WRITE; INSERT INTO t VALUES (2, 0); COMMIT");
	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM t"), 2);

	/* a transaction that writes before the deadline and commits after
	 * it: only the commit check can see it */
	grant(&lf, 3, 1500);
	c = conn(&n[0]);
	ok_on(c, "BEGIN");
	ok_on(c, "INSERT INTO t VALUES (3, 0)");
	sleep_ms(1700);
	refused_on(c, "COMMIT", 3, "the lease expired");
	PQfinish(c);
	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM t"), 2);

	/* after the deadline, every way to write */
	const char *writes[] = {
	    "INSERT INTO t VALUES (4, 0)",
	    "UPDATE t SET v = 1",
	    "DELETE FROM t",
	    "CREATE TABLE u (x int)",
	    "CREATE TEMP TABLE tmp (x int)",
	    "TRUNCATE t",
	    "ALTER TABLE t ADD COLUMN w int",
	    "CREATE INDEX ON t (v)",
	    "WITH x AS (INSERT INTO t VALUES (5, 0) RETURNING 1) "
	    "SELECT * FROM x",
	    "SELECT * FROM t FOR UPDATE",
	    "SELECT w()",
	    "COPY t FROM PROGRAM 'echo 6,0' WITH (FORMAT csv)",
	    /* an xid and nothing else: no hook but the commit sees it */
	    "SELECT txid_current()",
	    "BEGIN READ WRITE; INSERT INTO t VALUES (7, 0); COMMIT",
	    "SET default_transaction_read_only = off; "
	    "INSERT INTO t VALUES (8, 0)",
	    "BEGIN; SET TRANSACTION READ WRITE; UPDATE t SET v = 2; COMMIT",
	    "DO 'BEGIN INSERT INTO t VALUES (9, 0); END'",
	};
	for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
		refused(&n[0], writes[i], 3, "the lease expired");
	}
	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM t"), 2);
	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM probe"), 0);
	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM t WHERE v <> 0"),
			 0);

	/* reads, read-only transactions and the agent's own statements */
	ok(&n[0], "SELECT * FROM t");
	ok(&n[0], "BEGIN READ ONLY; SELECT count(*) FROM t; COMMIT");
	ok(&n[0], "BEGIN; SELECT count(*) FROM t; SAVEPOINT s; "
		  "SELECT 1; RELEASE s; COMMIT");
	ok(&n[0], "EXPLAIN INSERT INTO t VALUES (10, 0)");
	ok(&n[0], "BEGIN; SET work_mem = '8MB'; SHOW work_mem; "
		  "LOCK TABLE t IN ACCESS SHARE MODE; COMMIT");
	ok(&n[0], "VACUUM t");
	ok(&n[0], "CHECKPOINT");
	must(&n[0], n[0].e.ops->fence(&n[0].e));
	must(&n[0], n[0].e.ops->status(&n[0].e, &st));
	ck_assert_int_eq(st.role, BATON_ROLE_PRIMARY);
	must(&n[0], n[0].e.ops->unfence(&n[0].e));

	/* extending the lease makes it writable again */
	grant(&lf, 4, 60000);
	ok(&n[0], "INSERT INTO t VALUES (11, 0)");
	ok(&n[0], "SELECT w()");
	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM t"), 3);

	/* the agent drops the lease: refused at once, with its epoch */
	baton_leasefile_set(&lf, 4, 0);
	refused(&n[0], "INSERT INTO t VALUES (12, 0)", 4,
		"fenced by the agent");
	/* an exiting agent fences */
	grant(&lf, 5, 60000);
	ok(&n[0], "INSERT INTO t VALUES (13, 0)");
	baton_leasefile_close(&lf);
	refused(&n[0], "INSERT INTO t VALUES (14, 0)", 5,
		"fenced by the agent");

	pgt_cleanup(dir, n, 1);
}
END_TEST

START_TEST(bad_lease_files_refuse)
{
	char dir[64], so[128], path[128], errmsg[BATON_ERRMSG_SIZE];
	struct pgt_node n[1];
	struct baton_leasefile lf;
	PGconn *longlived;
	uint64_t v;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_lease_module_copy(dir, so, sizeof so);
	snprintf(path, sizeof path, "%s/lease-a", dir);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	lease_node_init(&n[0], dir, "a", so, path);
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	grant(&lf, 2, 600000);
	ok(&n[0], "CREATE TABLE t (x int)");
	/* a pooled connection: its backend mapped the file long ago */
	longlived = conn(&n[0]);
	ok_on(longlived, "INSERT INTO t VALUES (1)");

	/* missing: the agent exited (fenced) and the file was removed */
	baton_leasefile_close(&lf);
	ck_assert_int_eq(unlink(path), 0);
	refused(&n[0], "INSERT INTO t VALUES (2)", 0, "missing");
	refused_on(longlived, "INSERT INTO t VALUES (2)", 0, "missing");
	/* a new agent writes a new file: the old session follows it */
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	grant(&lf, 3, 600000);
	ok(&n[0], "INSERT INTO t VALUES (3)");
	ok_on(longlived, "INSERT INTO t VALUES (4)");

	/* corrupt magic, wrong version, garbage: refused until the writer
	 * rewrites the record */
	poke(path, 0, "XXXXXXXX", 8);
	refused(&n[0], "INSERT INTO t VALUES (5)", 3, "bad magic");
	refused_on(longlived, "INSERT INTO t VALUES (5)", 3, "bad magic");
	grant(&lf, 3, 600000);
	ok(&n[0], "INSERT INTO t VALUES (6)");
	v = 2;
	poke(path, 8, &v, 4);
	refused(&n[0], "INSERT INTO t VALUES (7)", 3, "unknown version");
	grant(&lf, 3, 600000);
	ok(&n[0], "INSERT INTO t VALUES (8)");
	{
		unsigned char junk[BATON_LEASEFILE_SIZE];
		for (size_t i = 0; i < sizeof junk; i++) {
			junk[i] = (unsigned char)(i * 37 + 11);
		}
		poke(path, 0, junk, sizeof junk);
		refused(&n[0], "INSERT INTO t VALUES (9)", ANY_EPOCH, NULL);
		grant(&lf, 3, 600000);
		ok(&n[0], "INSERT INTO t VALUES (10)");
	}

	/* the previous boot's record: a deadline that is far in the future
	 * on this boot's clock, and another boot id (a host that crashed
	 * and came back, with the old file on its disk) */
	{
		struct baton_leasefile_data d;
		ck_assert_int_eq(pread(lf.fd, &d, sizeof d, 0),
				 (ssize_t)sizeof d);
		d.boot_id[0] ^= 0x5a5a;
		d.deadline_ns = baton_boottime_ns() + 3600000 * MS;
		poke(path, 0, &d, sizeof d);
		refused(&n[0], "INSERT INTO t VALUES (11)", 3,
			"before the last reboot");
		refused_on(longlived, "INSERT INTO t VALUES (11)", 3,
			   "before the last reboot");
		grant(&lf, 3, 600000);
		ok(&n[0], "INSERT INTO t VALUES (12)");
	}

	/* a writer stopped in the middle of an update (odd sequence) */
	{
		uint64_t seq;
		ck_assert_int_eq(pread(lf.fd, &seq, sizeof seq, 16),
				 (ssize_t)sizeof seq);
		seq |= 1;
		poke(path, 16, &seq, sizeof seq);
		refused(&n[0], "INSERT INTO t VALUES (13)", 0,
			"in the middle of an update");
		grant(&lf, 3, 600000);
		ok(&n[0], "INSERT INTO t VALUES (14)");
	}

	/* short: truncated behind everyone's back (never to zero: a
	 * mapped page wholly past the end of the file would fault) */
	baton_leasefile_close(&lf);
	ck_assert_int_eq(truncate(path, 8), 0);
	refused(&n[0], "INSERT INTO t VALUES (15)", 0, "too short");
	refused_on(longlived, "INSERT INTO t VALUES (15)", 0, NULL);
	ck_assert_int_eq(baton_leasefile_open(&lf, path, errmsg), 0);
	grant(&lf, 4, 600000);
	ok(&n[0], "INSERT INTO t VALUES (16)");
	ok_on(longlived, "INSERT INTO t VALUES (17)");

	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM t"), 10);
	PQfinish(longlived);

	/* the configuration decides at every start: the module turned off
	 * (the agent would no longer write the file) is no longer loaded,
	 * and turned on for an existing instance, it is */
	baton_leasefile_set(&lf, 4, 0);
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	set_lease_config(&n[0], NULL, NULL);
	must(&n[0], n[0].e.ops->start(&n[0].e));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	{
		char err[256];
		ck_assert_int_ne(pgt_exec(&n[0], "SHOW baton.lease_state", NULL,
					  0, err, sizeof err),
				 0);
	}
	ok(&n[0], "INSERT INTO t VALUES (18)");
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	set_lease_config(&n[0], so, path);
	must(&n[0], n[0].e.ops->start(&n[0].e));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	refused(&n[0], "INSERT INTO t VALUES (19)", 4, "fenced by the agent");
	grant(&lf, 5, 600000);
	ok(&n[0], "INSERT INTO t VALUES (19)");

	baton_leasefile_close(&lf);
	pgt_cleanup(dir, n, 1);
}
END_TEST

START_TEST(replica_promotion_and_restarts)
{
	char dir[64], so[128], pa_path[128], pb_path[128];
	char errmsg[BATON_ERRMSG_SIZE], state[256];
	struct pgt_node n[2];
	struct baton_leasefile la, lb;
	struct baton_engine_peer pa, pb;
	PGconn *c;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_lease_module_copy(dir, so, sizeof so);
	snprintf(pa_path, sizeof pa_path, "%s/lease-a", dir);
	snprintf(pb_path, sizeof pb_path, "%s/lease-b", dir);
	ck_assert_int_eq(baton_leasefile_open(&la, pa_path, errmsg), 0);
	ck_assert_int_eq(baton_leasefile_open(&lb, pb_path, errmsg), 0);
	lease_node_init(&n[0], dir, "a", so, pa_path);
	lease_node_init(&n[1], dir, "b", so, pb_path);
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	pb = (struct baton_engine_peer){"127.0.0.1", n[1].port};
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	grant(&la, 1, 600000);
	ok(&n[0], "CREATE TABLE t (x int); INSERT INTO t VALUES (1)");

	/* a clone: b's own lease says fenced, yet it replays and reads */
	must(&n[1], n[1].e.ops->init_replica(&n[1].e, &pa));
	ok(&n[0], "INSERT INTO t VALUES (2)");
	for (int i = 0; i < 500 && count(&n[1], "SELECT count(*) FROM t") < 2;
	     i++) {
		sleep_ms(10);
	}
	ck_assert_int_eq(count(&n[1], "SELECT count(*) FROM t"), 2);
	show_state(&n[1], state, sizeof state);
	ck_assert_msg(strstr(state, "in recovery: not enforced") != NULL, "%s",
		      state);
	ok(&n[1], "BEGIN READ ONLY; SELECT * FROM t; COMMIT");

	/* failover to b: fenced after promotion until its agent's lease */
	must(&n[0], n[0].e.ops->fence(&n[0].e));
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	refused(&n[1], "INSERT INTO t VALUES (3)", 0, "fenced by the agent");
	grant(&lb, 2, 600000);
	ok(&n[1], "INSERT INTO t VALUES (3)");

	/* a rewound a loads the module too */
	must(&n[0], n[0].e.ops->rejoin(&n[0].e, &pb));
	show_state(&n[0], state, sizeof state);
	ck_assert_msg(strstr(state, "in recovery") != NULL, "%s", state);

	/* ALTER SYSTEM cannot unload the module or move the file: the
	 * engine drops such overrides at every start */
	ok(&n[1], "ALTER SYSTEM SET shared_preload_libraries = ''");
	ok(&n[1], "ALTER SYSTEM SET baton.lease_file = '/tmp/elsewhere'");
	ok(&n[1], "ALTER SYSTEM SET max_prepared_transactions = 4");
	must(&n[1], n[1].e.ops->stop(&n[1].e, false));
	must(&n[1], n[1].e.ops->start(&n[1].e));
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	show_state(&n[1], state, sizeof state);
	ck_assert_msg(strncmp(state, "valid: epoch 2", 14) == 0, "%s", state);
	baton_leasefile_set(&lb, 2, 0);
	refused(&n[1], "INSERT INTO t VALUES (4)", 2, "fenced by the agent");

	/* two-phase commit: PREPARE after the deadline is refused, and so
	 * is COMMIT PREPARED of a transaction prepared before it */
	grant(&lb, 3, 600000);
	ok(&n[1], "BEGIN; INSERT INTO t VALUES (5); PREPARE TRANSACTION 'p1'");
	c = conn(&n[1]);
	ok_on(c, "BEGIN");
	ok_on(c, "INSERT INTO t VALUES (6)");
	baton_leasefile_set(&lb, 3, 0);
	refused_on(c, "PREPARE TRANSACTION 'p2'", 3, "fenced by the agent");
	PQfinish(c);
	refused(&n[1], "COMMIT PREPARED 'p1'", 3, "fenced by the agent");
	ck_assert_int_eq(count(&n[1], "SELECT count(*) FROM pg_prepared_xacts"),
			 1);
	grant(&lb, 3, 600000);
	ok(&n[1], "COMMIT PREPARED 'p1'");
	ck_assert_int_eq(count(&n[1], "SELECT count(*) FROM t"), 4);
	/* throwing a prepared transaction away writes nothing it wrote */
	ok(&n[1], "BEGIN; INSERT INTO t VALUES (7); PREPARE TRANSACTION 'p3'");
	baton_leasefile_set(&lb, 3, 0);
	ok(&n[1], "ROLLBACK PREPARED 'p3'");
	ck_assert_int_eq(count(&n[1], "SELECT count(*) FROM pg_prepared_xacts"),
			 0);
	ck_assert_int_eq(count(&n[1], "SELECT count(*) FROM t"), 4);

	baton_leasefile_close(&la);
	baton_leasefile_close(&lb);
	pgt_cleanup(dir, n, 2);
}
END_TEST

/* ---- a paused agent
 * ----------------------------------------------------------
 *
 * The agent process renews a 400 ms lease every 50 ms. SIGSTOP (or
 * SIGKILL) it: the file stops moving, and by the last deadline it wrote
 * the server refuses writes by itself, whoever asks and however. The
 * check is exact, not a timing guess: once the agent is known stopped
 * (waitpid), no later renewal exists, so every write that *started* 400
 * ms or more after that moment must have been refused.
 */
#define AGENT_LEASE_MS 400
#define AGENT_RENEW_MS 50

static pid_t start_agent(const char *path)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct baton_leasefile lf;
		char errmsg[BATON_ERRMSG_SIZE];
		/* never outlive a test that failed half way */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (baton_leasefile_open(&lf, path, errmsg) != 0) {
			_exit(1);
		}
		for (;;) {
			grant(&lf, 9, AGENT_LEASE_MS);
			usleep(AGENT_RENEW_MS * 1000);
		}
	}
	return pid;
}

/* Polls Q on C every 5 ms until it succeeds; ms it took. */
static double ms_until_ok(PGconn *c, const char *q, double limit_ms)
{
	double t0 = pgt_now_ms();
	char err[512] = "";

	while (pgt_now_ms() - t0 < limit_ms) {
		if (run(c, q, err, sizeof err) == 0) {
			return pgt_now_ms() - t0;
		}
		sleep_ms(5);
	}
	ck_abort_msg("%s: not accepted within %.0f ms: %s", q, limit_ms, err);
	return -1;
}

/* Probes with an INSERT every 5 ms from T_STOPPED (the agent is known
 * stopped) until refused, for at most LIMIT_MS. Returns when the first
 * refusal came; *LAST_OK_START is when the last accepted probe started
 * (relative to T_STOPPED; -1 if none). */
static double probe_until_refused(PGconn *c, double t_stopped, double limit_ms,
				  double *last_ok_start)
{
	char err[512];

	*last_ok_start = -1;
	for (;;) {
		double start = pgt_now_ms() - t_stopped;
		if (run(c, "INSERT INTO t VALUES (0)", err, sizeof err) != 0) {
			ck_assert_msg(strstr(err, "baton: no valid lease") !=
					  NULL,
				      "%s", err);
			return pgt_now_ms() - t_stopped;
		}
		*last_ok_start = start;
		ck_assert_msg(start < limit_ms,
			      "still writable %.0f ms after the agent stopped",
			      start);
		sleep_ms(5);
	}
}

START_TEST(paused_agent_cannot_keep_it_writable)
{
	char dir[64], so[128], path[128];
	struct pgt_node n[1];
	pid_t agent;
	double t_stopped, stop_ms, kill_ms, last_ok, last_ok_kill;
	PGconn *c, *probe;
	int wst;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_lease_module_copy(dir, so, sizeof so);
	snprintf(path, sizeof path, "%s/lease-a", dir);
	lease_node_init(&n[0], dir, "a", so, path);
	agent = start_agent(path);
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	probe = conn(&n[0]);
	ms_until_ok(probe, "CREATE TABLE IF NOT EXISTS t (x int)", 5000);
	c = conn(&n[0]);
	ok_on(c, "BEGIN READ WRITE");
	ok_on(c, "INSERT INTO t VALUES (1)");

	/* paused */
	ck_assert_int_eq(kill(agent, SIGSTOP), 0);
	ck_assert_int_eq(waitpid(agent, &wst, WUNTRACED), agent);
	ck_assert(WIFSTOPPED(wst));
	t_stopped = pgt_now_ms();
	stop_ms = probe_until_refused(probe, t_stopped, AGENT_LEASE_MS + 1000,
				      &last_ok);
	ck_assert_msg(last_ok < AGENT_LEASE_MS,
		      "a write that started %.1f ms after the agent stopped "
		      "was accepted (lease %d ms)",
		      last_ok, AGENT_LEASE_MS);
	/* and it stays refused, however the client asks */
	for (int i = 0; i < 5; i++) {
		refused(&n[0], "INSERT INTO t VALUES (2)", 9,
			"the lease expired");
		refused(&n[0],
			"SET default_transaction_read_only = off; BEGIN READ "
			"WRITE; INSERT INTO t VALUES (2); COMMIT",
			9, "the lease expired");
		sleep_ms(100);
	}
	refused_on(c, "COMMIT", 9, "the lease expired");
	PQfinish(c);

	/* resumed: writable again at its next renewal */
	ck_assert_int_eq(kill(agent, SIGCONT), 0);
	ms_until_ok(probe, "INSERT INTO t VALUES (0)", 2000);

	/* killed: the same, without anyone writing a fence */
	ck_assert_int_eq(kill(agent, SIGKILL), 0);
	ck_assert_int_eq(waitpid(agent, &wst, 0), agent);
	t_stopped = pgt_now_ms();
	kill_ms = probe_until_refused(probe, t_stopped, AGENT_LEASE_MS + 1000,
				      &last_ok_kill);
	ck_assert(last_ok_kill < AGENT_LEASE_MS);
	fprintf(stderr,
		"paused agent (lease %d ms, renewed every %d ms): first "
		"refusal %.0f ms after SIGSTOP (last accepted write started "
		"at %.0f ms), %.0f ms after SIGKILL (%.0f ms)\n",
		AGENT_LEASE_MS, AGENT_RENEW_MS, stop_ms, last_ok, kill_ms,
		last_ok_kill);
	ck_assert_int_eq(count(&n[0], "SELECT count(*) FROM t WHERE x <> 0"),
			 0);
	PQfinish(probe);
	pgt_cleanup(dir, n, 1);
}
END_TEST

/* The engine refuses a lease configuration that cannot work. */
START_TEST(engine_lease_config_checks)
{
	struct baton_engine e;
	struct baton_pg_config cfg = {
	    .datadir = "/tmp/baton-nonexistent/data",
	    .port = 5432,
	    .repl_user = "r",
	    .repl_password = "p",
	};
	struct {
		const char *module, *file, *want;
	} bad[] = {
	    {"baton_lease", NULL, "both or neither"},
	    {NULL, "/run/baton/lease", "both or neither"},
	    {"", "/run/baton/lease", "both or neither"},
	    {"baton_lease", "lease", "absolute"},
	    {"baton_lease", "/tmp/baton-nonexistent/data/lease",
	     "inside the data directory"},
	    {"baton_lease,other", "/run/baton/lease", "without quotes"},
	    {"/no/such/baton_lease.so", "/run/baton/lease", "No such file"},
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cfg.lease_module = bad[i].module;
		cfg.lease_file = bad[i].file;
		ck_assert_int_eq(baton_pg_engine_init(&e, &cfg), BATON_ECONFIG);
		ck_assert_msg(strstr(e.errmsg, bad[i].want) != NULL,
			      "case %zu: %s", i, e.errmsg);
	}
	cfg.lease_module = "baton_lease"; /* a name in pkglibdir */
	cfg.lease_file = "/tmp/baton-nonexistent/data.lease";
	ck_assert_int_eq(baton_pg_engine_init(&e, &cfg), 0);
	baton_engine_destroy(&e);
}
END_TEST

static Suite *pg_lease_suite(void)
{
	Suite *s = suite_create("pg_lease");
	TCase *tc = tcase_create("module");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, NULL, pgt_reap);
	tcase_add_test(tc, engine_lease_config_checks);
	tcase_add_test(tc, commits_need_a_valid_lease);
	tcase_add_test(tc, load_counts_a_refused_commit_as_an_error);
	tcase_add_test(tc, bad_lease_files_refuse);
	tcase_add_test(tc, replica_promotion_and_restarts);
	tcase_add_test(tc, paused_agent_cannot_keep_it_writable);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(pg_lease_suite)
