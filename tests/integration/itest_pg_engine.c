/* Integration tests for operator/engine/postgres.c against real PostgreSQL
 * 15 servers on loopback ports (the binaries must exist: missing ones fail
 * the test, they never skip it).
 *
 * What is proved here:
 *  - promote / fence / rejoin cycles leave exactly one writable instance and
 *    timelines that only go up;
 *  - a planned switchover loses nothing and reports its numbers;
 *  - synchronous mode under kill -9 of the primary with a steady write load:
 *    every acknowledged write is on the promoted replica (RPO 0); async mode
 *    reports how many acknowledged writes it lost;
 *  - bad input gives a clear status and never a second primary: missing and
 *    corrupt data dirs, a wrong replication password, a replica too far
 *    behind to promote;
 *  - the replication password is on no command line and in no environment
 *    of a tool or of the servers, and in no file of a data directory (the
 *    server log included); it lives only in a 0600 passfile outside them;
 *  - the local socket (the superuser's way in) is reachable only by the
 *    server's user and root, and peer authentication refuses any other
 *    OS user that reaches it anyway, root too when the agent is not root.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "../unit/support/pg_cluster.h"
#include "engine/engine.h"
#include "engine/procstate.h"

static struct baton_engine_status status_of(struct pgt_node *n)
{
	struct baton_engine_status st;
	int rv = n->e.ops->status(&n->e, &st);
	ck_assert_msg(rv == 0 || rv == BATON_ECONN, "status %s: %s", n->name,
		      n->e.errmsg);
	return st;
}

/* N streams from UP within 10 s. For a standby sent back to its old
 * upstream (a refused cascade): its walreceiver restarts, and under load
 * the status can be asked before it connected again (CI on 102d458 saw
 * "" here once). */
static void wait_upstream(struct pgt_node *n, const char *up)
{
	struct baton_engine_status st;
	for (int i = 0; i < 500; i++) {
		st = status_of(n);
		if (strcmp(st.upstream, up) == 0) {
			return;
		}
		usleep(20000);
	}
	ck_assert_str_eq(status_of(n).upstream, up);
}

static int writable_count(struct pgt_node *nodes, int n)
{
	int w = 0;
	for (int i = 0; i < n; i++) {
		char err[256];
		/* ask the server itself, not the engine's view */
		if (pgt_exec(&nodes[i],
			     "INSERT INTO probe VALUES (now()) RETURNING 1",
			     NULL, 0, err, sizeof err) == 0) {
			w++;
		}
	}
	return w;
}

/* A fresh instance has no probe table yet: try a write that needs none. */
static int writable_count_unready(struct pgt_node *n)
{
	char err[256];
	return pgt_exec(n, "CREATE TABLE born (x int)", NULL, 0, err,
			sizeof err) == 0;
}

static void must(struct pgt_node *n, int rv)
{
	ck_assert_msg(rv == 0, "%s: %s (%s)", n->name, n->e.errmsg,
		      baton_errname(rv));
}

static void sql(struct pgt_node *n, const char *q)
{
	char err[512];
	ck_assert_msg(pgt_exec(n, q, NULL, 0, err, sizeof err) == 0,
		      "%s on %s: %s", q, n->name, err);
}

static long long count_rows(struct pgt_node *n, const char *q)
{
	char out[64], err[256];
	ck_assert_msg(pgt_exec(n, q, out, sizeof out, err, sizeof err) == 0,
		      "%s: %s", q, err);
	return strtoll(out, NULL, 10);
}

static void wait_replayed(struct pgt_node *primary, struct pgt_node *replica)
{
	struct baton_engine_status p = status_of(primary);
	for (int i = 0; i < 1000; i++) {
		struct baton_engine_status r = status_of(replica);
		if (r.replay_lsn >= p.lsn) {
			return;
		}
		usleep(10000);
	}
	ck_abort_msg("%s did not catch up with %s", replica->name,
		     primary->name);
}

START_TEST(promote_fence_rejoin_cycles)
{
	char dir[64];
	struct pgt_node n[2];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status sa, sb;
	struct baton_switchover_result res;
	char err[256];

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	pb = (struct baton_engine_peer){"127.0.0.1", n[1].port};

	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	ck_assert_int_eq(writable_count_unready(&n[0]), 0); /* born fenced */
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	sql(&n[0], "CREATE TABLE t (id int primary key);"
		   "CREATE TABLE probe (at timestamptz)");
	sql(&n[0], "INSERT INTO t SELECT generate_series(1, 100)");
	must(&n[1], n[1].e.ops->init_replica(&n[1].e, &pa));
	sa = status_of(&n[0]);
	ck_assert_int_eq(sa.role, BATON_ROLE_PRIMARY);
	ck_assert(sa.writable);
	ck_assert_uint_eq(sa.timeline, 1);
	wait_replayed(&n[0], &n[1]);
	sb = status_of(&n[1]);
	ck_assert_int_eq(sb.role, BATON_ROLE_REPLICA);
	ck_assert(!sb.writable);
	ck_assert_int_eq(writable_count(n, 2), 1);

	/* fence: the old primary refuses writes at once */
	must(&n[0], n[0].e.ops->fence(&n[0].e));
	ck_assert_int_ne(pgt_exec(&n[0], "INSERT INTO t VALUES (1000)", NULL, 0,
				  err, sizeof err),
			 0);
	ck_assert_ptr_nonnull(strstr(err, "read-only"));
	ck_assert_int_eq(writable_count(n, 2), 0);
	/* fenced again (the agent fenced itself, then batond's order): the
	 * second fence skips what is in force but still cuts every client
	 * session, also one that began a read-write transaction after the
	 * first (BEGIN READ WRITE overrides the default) */
	{
		char ci[512];
		PGconn *rw;
		PGresult *r;
		snprintf(ci, sizeof ci,
			 "host=%s port=%d user=postgres dbname=postgres",
			 n[0].sockdir, n[0].port);
		rw = PQconnectdb(ci);
		ck_assert_int_eq(PQstatus(rw), CONNECTION_OK);
		r = PQexec(rw, "BEGIN READ WRITE");
		ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		must(&n[0], n[0].e.ops->fence(&n[0].e));
		r = PQexec(rw, "INSERT INTO t VALUES (1001)");
		ck_assert_int_ne(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		r = PQexec(rw, "COMMIT");
		ck_assert_int_ne(PQresultStatus(r), PGRES_COMMAND_OK);
		PQclear(r);
		PQfinish(rw);
		ck_assert_int_eq(count_rows(&n[0], "SELECT count(*) FROM t "
						   "WHERE id > 1000"),
				 0);
	}

	/* failover: stop a, promote b (still fenced), unfence b */
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	ck_assert_int_eq(writable_count(n, 2), 0); /* promoted, still fenced */
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	ck_assert_int_eq(writable_count(n, 2), 1);
	sb = status_of(&n[1]);
	ck_assert_int_eq(sb.role, BATON_ROLE_PRIMARY);
	ck_assert_uint_eq(sb.timeline, 2);
	sql(&n[1], "INSERT INTO t SELECT generate_series(101, 200)");

	/* rejoin a under b with pg_rewind */
	must(&n[0], n[0].e.ops->rejoin(&n[0].e, &pb));
	wait_replayed(&n[1], &n[0]);
	sa = status_of(&n[0]);
	ck_assert_int_eq(sa.role, BATON_ROLE_REPLICA);
	ck_assert_uint_eq(sa.timeline, 2);
	ck_assert_int_eq(count_rows(&n[0], "SELECT count(*) FROM t"), 200);
	ck_assert_int_eq(writable_count(n, 2), 1);

	/* planned switchover back to a: nothing lost */
	sql(&n[1], "INSERT INTO t SELECT generate_series(201, 300)");
	must(&n[1], baton_engine_switchover(&n[1].e, &n[0].e, 10000, &res));
	fprintf(stderr,
		"switchover: fence+stop %.1f ms, catch-up %.1f ms, promote "
		"%.1f ms, unavailable %.1f ms\n",
		res.fence_ms, res.catchup_ms, res.promote_ms,
		res.unavailable_ms);
	ck_assert_int_eq(count_rows(&n[0], "SELECT count(*) FROM t"), 300);
	sa = status_of(&n[0]);
	ck_assert_int_eq(sa.role, BATON_ROLE_PRIMARY);
	ck_assert_uint_eq(sa.timeline, 3);
	ck_assert_int_eq(writable_count(n, 2), 1);
	must(&n[1], n[1].e.ops->rejoin(&n[1].e, &pa));
	sql(&n[0], "INSERT INTO t VALUES (301)");
	wait_replayed(&n[0], &n[1]);
	ck_assert_int_eq(count_rows(&n[1], "SELECT count(*) FROM t"), 301);
	ck_assert_uint_eq(status_of(&n[1]).timeline, 3);
	ck_assert_int_eq(writable_count(n, 2), 1);

	pgt_cleanup(dir, n, 2);
}
END_TEST

/* ---- a rewind that fails half way ------------------------------------------
 *
 * pg_rewind that dies after it started rewriting the target (the lab saw
 * "server closed the connection unexpectedly" while fetching files, and
 * every later rewind then failed with "could not find common ancestor")
 * leaves a data directory that is no instance. The engine clones it again
 * from the primary. The fault: a bin directory whose pg_rewind says it
 * started, breaks pg_control and dies the way the lab's did; every other
 * tool is the real one.
 */
static void fault_bindir(const char *dir, char *out, size_t size)
{
	char cmd[2048];
	FILE *f;

	snprintf(out, size, "%s/faultbin", dir);
	snprintf(cmd, sizeof cmd,
		 "mkdir -p %s && chmod 755 %s && for t in %s/*; do "
		 "[ \"$(basename $t)\" = pg_rewind ] || ln -s $t %s/; done",
		 out, out, PGT_BINDIR, out);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/pg_rewind", out);
	f = fopen(cmd, "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\n"
	      "for a; do case $a in --target-pgdata=*) d=${a#*=};; esac; "
	      "done\n"
	      "echo 'pg_rewind: servers diverged at WAL location 0/3000000 "
	      "on timeline 1'\n"
	      "echo 'pg_rewind: rewinding from last common checkpoint at "
	      "0/2000060 on timeline 1'\n"
	      ": > \"$d/global/pg_control\"\n"
	      "echo 'pg_rewind: error: unexpected result while fetching "
	      "remote files: server closed the connection unexpectedly' >&2\n"
	      "exit 1\n",
	      f);
	fclose(f);
	ck_assert_int_eq(chmod(cmd, 0755), 0);
}

/* Nodes a (primary, born fenced) and b (its streaming replica, caught
 * up) in DIR. */
static void primary_and_replica(const char *dir, struct pgt_node n[2],
				struct baton_engine_peer *pa,
				struct baton_engine_peer *pb)
{
	pgt_require_binaries();
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	*pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	*pb = (struct baton_engine_peer){"127.0.0.1", n[1].port};
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[1], n[1].e.ops->init_replica(&n[1].e, pa));
	wait_replayed(&n[0], &n[1]);
}

/* N's engine again, with N->cfg as the caller changed it. */
static void reinit_engine(struct pgt_node *n)
{
	baton_engine_destroy(&n->e);
	ck_assert_int_eq(baton_pg_engine_init(&n->e, &n->cfg), 0);
}

START_TEST(half_done_rewind_clones_again)
{
	char dir[64], faultbin[128], marker[400];
	struct pgt_node n[2];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status sa;

	pgt_tmpdir(dir, sizeof dir);
	primary_and_replica(dir, n, &pa, &pb);
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	sql(&n[0], "CREATE TABLE t (id int primary key);"
		   "CREATE TABLE probe (at timestamptz)");
	sql(&n[0], "INSERT INTO t SELECT generate_series(1, 100)");
	wait_replayed(&n[0], &n[1]);
	/* failover to b, which takes more writes; a diverges a little */
	must(&n[0], n[0].e.ops->fence(&n[0].e));
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	sql(&n[1], "INSERT INTO t SELECT generate_series(101, 200)");

	/* a's engine, with the failing pg_rewind */
	fault_bindir(dir, faultbin, sizeof faultbin);
	n[0].cfg.bindir = faultbin;
	reinit_engine(&n[0]);
	must(&n[0], n[0].e.ops->rejoin(&n[0].e, &pb));

	/* a is b's replica again, with everything b has, and nothing else
	 * is writable */
	sql(&n[1], "INSERT INTO t VALUES (201)");
	wait_replayed(&n[1], &n[0]);
	sa = status_of(&n[0]);
	ck_assert_int_eq(sa.role, BATON_ROLE_REPLICA);
	ck_assert_uint_eq(sa.timeline, 2);
	ck_assert_int_eq(count_rows(&n[0], "SELECT count(*) FROM t"), 201);
	ck_assert_int_eq(writable_count(n, 2), 1);
	/* no marker left behind */
	snprintf(marker, sizeof marker, "%s.baton-rewind", n[0].datadir);
	ck_assert_int_ne(access(marker, F_OK), 0);
	snprintf(marker, sizeof marker, "%s.baton-init", n[0].datadir);
	ck_assert_int_ne(access(marker, F_OK), 0);

	pgt_cleanup(dir, n, 2);
}
END_TEST

struct cont_later {
	pid_t pid;
	unsigned ms;
};

static void *cont_later_main(void *arg)
{
	struct cont_later *c = arg;
	usleep(c->ms * 1000);
	kill(c->pid, SIGCONT);
	return NULL;
}

/* OP (fence or unfence) while N's postmaster is stopped for MS: the
 * reload it asks for is applied only after SIGCONT, so OP may return
 * only after that. Returns how long OP took. */
static double op_with_stopped_postmaster(struct pgt_node *n,
					 int (*op)(struct baton_engine *),
					 unsigned ms)
{
	struct cont_later cl = {baton_pg_postmaster_pid(&n->e), ms};
	pthread_t tid;
	struct timespec a, b;

	ck_assert_int_gt(cl.pid, 0);
	ck_assert_int_eq(kill(cl.pid, SIGSTOP), 0);
	ck_assert_int_eq(pthread_create(&tid, NULL, cont_later_main, &cl), 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	must(n, op(&n->e));
	clock_gettime(CLOCK_MONOTONIC, &b);
	pthread_join(tid, NULL);
	return (double)(b.tv_sec - a.tv_sec) * 1000.0 +
	       (double)(b.tv_nsec - a.tv_nsec) / 1e6;
}

/* A session opened now on N sees transaction_read_only = WANT. */
static void new_session_read_only(struct pgt_node *n, const char *want)
{
	char ro[16], err[256];
	ck_assert_msg(pgt_exec(n, "SHOW transaction_read_only", ro, sizeof ro,
			       err, sizeof err) == 0,
		      "%s: %s", n->name, err);
	ck_assert_str_eq(ro, want);
}

/* The pid of the agent's own session on N ("" when none is open). */
static void agent_session(struct pgt_node *n, char *out, size_t size)
{
	char err[256];
	ck_assert_msg(pgt_exec(n,
			       "SELECT COALESCE(string_agg(pid::text, ','), '')"
			       " FROM pg_stat_activity"
			       " WHERE application_name = 'baton-agent'",
			       out, size, err, sizeof err) == 0,
		      "%s: %s", n->name, err);
}

/* The engine keeps one administrative session between operations instead
 * of forking a backend for every status read and every order (each a
 * 50-150 ms fork and catalog load on a loaded machine, on the failover's
 * path twice per order). The same session serves status, fence, unfence,
 * detach and promote; a session that died under it (terminated, or the
 * server restarted) is replaced on the next operation without an error,
 * and fence and unfence return only once a new session sees the change. */
START_TEST(one_session_between_operations)
{
	char dir[64], pid[64], again[64], q[128], err[256];
	struct pgt_node n[2];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status st;
	uint64_t final_lsn = 0;

	pgt_tmpdir(dir, sizeof dir);
	primary_and_replica(dir, n, &pa, &pb);
	st = status_of(&n[0]);
	agent_session(&n[0], pid, sizeof pid);
	ck_assert_msg(pid[0] != '\0' && strchr(pid, ',') == NULL,
		      "one agent session after a status, got '%s'", pid);
	/* fence and unfence confirm on the kept session (no new session
	 * per try): what they return must already hold for a session
	 * opened right after */
	for (int i = 0; i < 20; i++) {
		must(&n[0], n[0].e.ops->unfence(&n[0].e));
		new_session_read_only(&n[0], "off");
		must(&n[0], n[0].e.ops->fence(&n[0].e));
		new_session_read_only(&n[0], "on");
		st = status_of(&n[0]);
		ck_assert(!st.writable);
	}
	agent_session(&n[0], again, sizeof again);
	ck_assert_str_eq(again, pid);

	/* the confirmation waits for the postmaster: stopped, it applies no
	 * reload and forks no session, and a fence or unfence that returned
	 * before it did would claim what new sessions do not get yet */
	{
		double took =
		    op_with_stopped_postmaster(&n[0], n[0].e.ops->unfence, 400);
		ck_assert_msg(took >= 380,
			      "unfence returned after %.0f ms, "
			      "before the postmaster could reload",
			      took);
		new_session_read_only(&n[0], "off");
		took =
		    op_with_stopped_postmaster(&n[0], n[0].e.ops->fence, 400);
		ck_assert_msg(took >= 380,
			      "fence returned after %.0f ms, "
			      "before the postmaster could reload",
			      took);
		new_session_read_only(&n[0], "on");
	}

	/* fence refuses writes at once after an unfence on the same session */
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	sql(&n[0], "CREATE TABLE probe (at timestamptz)");
	wait_replayed(&n[0], &n[1]);
	ck_assert_int_eq(writable_count(n, 2), 1);
	must(&n[0], n[0].e.ops->fence(&n[0].e));
	ck_assert_int_eq(writable_count(n, 2), 0);

	/* the kept session terminated under the engine: the next status
	 * opens another, no error */
	snprintf(q, sizeof q, "SELECT pg_terminate_backend(%s)", pid);
	ck_assert_msg(pgt_exec(&n[0], q, NULL, 0, err, sizeof err) == 0, "%s",
		      err);
	st = status_of(&n[0]);
	ck_assert_int_eq(st.role, BATON_ROLE_PRIMARY);
	agent_session(&n[0], again, sizeof again);
	ck_assert_msg(again[0] != '\0' && strcmp(again, pid) != 0,
		      "a new session after the old one died, got '%s'", again);

	/* the kept session's backend hangs (stopped): the engine gives up on
	 * it after its 2 s check and opens another, as connect_timeout
	 * bounded a fresh session; it does not hang with it */
	{
		pid_t hung = (pid_t)strtol(again, NULL, 10);
		ck_assert_int_gt(hung, 0);
		ck_assert_int_eq(kill(hung, SIGSTOP), 0);
		st = status_of(&n[0]);
		ck_assert_int_eq(st.role, BATON_ROLE_PRIMARY);
		kill(hung, SIGCONT);
	}

	/* a restart (stop closes the session first: a smart shutdown would
	 * wait for it) and the replica's detach and promote on its own */
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[0], n[0].e.ops->start(&n[0].e));
	st = status_of(&n[0]);
	ck_assert_int_eq(st.role, BATON_ROLE_PRIMARY);
	status_of(&n[1]);
	agent_session(&n[1], pid, sizeof pid);
	must(&n[1], n[1].e.ops->detach(&n[1].e, &final_lsn));
	ck_assert_uint_gt(final_lsn, 0);
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	st = status_of(&n[1]);
	ck_assert_int_eq(st.role, BATON_ROLE_PRIMARY);
	agent_session(&n[1], again, sizeof again);
	ck_assert_str_eq(again, pid);

	pgt_cleanup(dir, n, 2);
}
END_TEST

/* A promote order finds the instance stopped (a fence that could not
 * confirm read-only stops the server): it starts it, read-only, and
 * promotes it; it took no writes before the unfence. And a start listens
 * where the engine is configured now (a pod back on a restarted node has
 * a new IP; PostgreSQL told the old one failed to start on kind). */
/* A WAL segment size given at init is initdb's, a clone takes it from its
 * source, and the timeline a promote starts is made of segments that size
 * (each promote copies the current segment: docs/lab.md, the heal's
 * rejoin). A size initdb would refuse is refused before anything runs. */
START_TEST(wal_segment_size_set_at_init)
{
	char dir[64], out[64], err[256], walpath[400];
	struct pgt_node n[2];
	struct baton_engine_peer pa, pb;
	struct baton_pg_config bad;
	struct baton_engine e;
	struct stat sb;
	struct utsname u;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	n[0].cfg.wal_segsize_mb = 1;
	reinit_engine(&n[0]);
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	pb = (struct baton_engine_peer){"127.0.0.1", n[1].port};
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[1], n[1].e.ops->init_replica(&n[1].e, &pa));
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pgt_exec(&n[i], "SHOW wal_segment_size", out,
					  sizeof out, err, sizeof err),
				 0);
		ck_assert_str_eq(out, "1MB");
	}
	wait_replayed(&n[0], &n[1]);
	must(&n[0], n[0].e.ops->fence(&n[0].e));
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	ck_assert_int_eq(
	    pgt_exec(&n[1], "SELECT pg_walfile_name(pg_current_wal_lsn())", out,
		     sizeof out, err, sizeof err),
	    0);
	snprintf(walpath, sizeof walpath, "%s/pg_wal/%s", n[1].datadir, out);
	ck_assert_msg(stat(walpath, &sb) == 0, "%s", walpath);
	ck_assert_int_eq(sb.st_size, 1024 * 1024);
	/* a start after a crash or a rewind syncs with one syncfs where
	 * the kernel reports write-back errors through it */
	ck_assert_int_eq(uname(&u), 0);
	ck_assert_int_eq(pgt_exec(&n[1], "SHOW recovery_init_sync_method", out,
				  sizeof out, err, sizeof err),
			 0);
	ck_assert_str_eq(out, baton_pg_syncfs_reports_errors(u.release)
				  ? "syncfs"
				  : "fsync");
	/* and an fsync per file when told so: a rejoin writes the
	 * configuration again */
	n[0].cfg.no_syncfs = true;
	reinit_engine(&n[0]);
	must(&n[0], n[0].e.ops->rejoin(&n[0].e, &pb));
	ck_assert_int_eq(pgt_exec(&n[0], "SHOW recovery_init_sync_method", out,
				  sizeof out, err, sizeof err),
			 0);
	ck_assert_str_eq(out, "fsync");

	bad = n[0].cfg;
	for (int mb = -1; mb <= 2048; mb++) {
		bool valid = mb >= 1 && mb <= 1024 && (mb & (mb - 1)) == 0;
		if (mb == 0) {
			continue; /* initdb's default */
		}
		bad.wal_segsize_mb = mb;
		int rv = baton_pg_engine_init(&e, &bad);
		ck_assert_int_eq(rv, valid ? 0 : BATON_ECONFIG);
		if (valid) {
			baton_engine_destroy(&e);
		} else {
			ck_assert_msg(strstr(e.errmsg, "WAL segment size") !=
					  NULL,
				      "%d: %s", mb, e.errmsg);
		}
	}

	pgt_cleanup(dir, n, 2);
}
END_TEST

START_TEST(promote_starts_a_stopped_instance)
{
	char dir[64], out[64], err[256];
	struct pgt_node n[2];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status st;

	pgt_tmpdir(dir, sizeof dir);
	primary_and_replica(dir, n, &pa, &pb);
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[1], n[1].e.ops->stop(&n[1].e, false));
	ck_assert_int_eq(baton_pg_postmaster_pid(&n[1].e), 0);
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	st = status_of(&n[1]);
	ck_assert_int_eq(st.role, BATON_ROLE_PRIMARY);
	ck_assert(!st.writable);
	ck_assert_int_eq(writable_count_unready(&n[1]), 0);
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	ck_assert_int_eq(writable_count_unready(&n[1]), 1);

	n[1].cfg.host = "127.0.0.2";
	reinit_engine(&n[1]);
	must(&n[1], n[1].e.ops->stop(&n[1].e, false));
	must(&n[1], n[1].e.ops->start(&n[1].e));
	ck_assert_int_eq(pgt_exec(&n[1], "SHOW listen_addresses", out,
				  sizeof out, err, sizeof err),
			 0);
	ck_assert_str_eq(out, "127.0.0.2");

	pgt_cleanup(dir, n, 2);
}
END_TEST

struct stop_call {
	struct pgt_node *n;
	int rv;
};

static void *stop_thread(void *arg)
{
	struct stop_call *c = arg;
	c->rv = c->n->e.ops->stop(&c->n->e, false);
	return NULL;
}

/* A client that connects while the server shuts down and then says
 * nothing gets a "dead-end" child, which PostgreSQL 15 never signals and
 * waits for (authentication_timeout, 60 s), even in an immediate
 * shutdown: on the lab it held 2 of 33 heals for 60 s. The engine's stop
 * ends such children itself. To make one for sure, the checkpointer is
 * stopped (SIGSTOP) so the shutdown stays open, a silent client connects
 * and is seen as the postmaster's untitled child, then the checkpointer
 * goes on. The stop must finish as a fast one: with the engine's bound
 * (15 s) below authentication_timeout, waiting for the child would have
 * run into the immediate shutdown, which the server's log would show. */
START_TEST(a_silent_client_does_not_hold_a_stop)
{
	char dir[64], out[64], err[256], logpath[400], line[512];
	struct pgt_node n[1];
	struct stop_call call = {&n[0], -1};
	pthread_t th;
	int ckpt, pm, fd = -1;
	bool shutting_down = false, fast_done = false, immediate = false;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	n[0].cfg.timeout_s = 15;
	reinit_engine(&n[0]);
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	ck_assert_int_eq(pgt_exec(&n[0],
				  "SELECT pid FROM pg_stat_activity WHERE "
				  "backend_type = 'checkpointer'",
				  out, sizeof out, err, sizeof err),
			 0);
	ckpt = (int)strtol(out, NULL, 10);
	pm = baton_pg_postmaster_pid(&n[0].e);
	ck_assert_int_gt(ckpt, 0);
	ck_assert_int_gt(pm, 0);
	ck_assert_int_eq(kill(ckpt, SIGSTOP), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, stop_thread, &call), 0);

	/* the shutdown has begun once a new client is told so */
	for (int i = 0; i < 1000 && !shutting_down; i++) {
		if (pgt_exec(&n[0], "SELECT 1", out, sizeof out, err,
			     sizeof err) != 0 &&
		    strstr(err, "shutting down") != NULL) {
			shutting_down = true;
		} else {
			usleep(10000);
		}
	}
	ck_assert_msg(shutting_down, "the server never began to shut down");

	/* a silent client: connected, accepted, nothing sent */
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)n[0].port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	/* signal 0: only count the untitled children */
	int seen = 0;
	for (int i = 0; i < 2000 && seen == 0; i++) {
		seen = baton_proc_signal_untitled_children(pm, 0);
		if (seen == 0) {
			usleep(1000);
		}
	}
	ck_assert_int_eq(kill(ckpt, SIGCONT), 0);

	ck_assert_int_eq(pthread_join(th, NULL), 0);
	/* the client had a child: seen, or (the engine ended it between two
	 * looks) its end closed the connection cleanly, where a connection
	 * no child ever took would be reset with the listening socket */
	char b;
	ssize_t r = read(fd, &b, 1);
	ck_assert_msg(seen > 0 || r == 0, "the silent client got no child");
	ck_assert_msg(call.rv == 0, "stop: %d %s", call.rv, n[0].e.errmsg);
	ck_assert_int_eq(baton_pg_postmaster_pid(&n[0].e), 0);
	snprintf(logpath, sizeof logpath, "%s.baton-log/postgres.log",
		 n[0].datadir);
	FILE *f = fopen(logpath, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f) != NULL) {
		fast_done |=
		    strstr(line, "database system is shut down") != NULL;
		immediate |= strstr(line, "immediate shutdown request") != NULL;
	}
	fclose(f);
	close(fd);
	ck_assert_msg(fast_done, "no clean shutdown in %s", logpath);
	ck_assert_msg(!immediate, "the fast stop waited for the silent client "
				  "and ran into the immediate one");
	pgt_cleanup(dir, n, 1);
}
END_TEST

/* A rejoin whose source has not finished its promotion (still in
 * recovery) is refused and leaves the instance as it was: rewinding
 * against it would find nothing to do, and following it would carry this
 * instance past the fork of the source's coming timeline. */
START_TEST(rejoin_waits_for_a_promoted_source)
{
	char dir[64];
	struct pgt_node n[2];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status sa;
	int rv;

	pgt_tmpdir(dir, sizeof dir);
	primary_and_replica(dir, n, &pa, &pb);
	/* a short bound for the wait */
	n[0].cfg.timeout_s = 2;
	reinit_engine(&n[0]);
	rv = n[0].e.ops->rejoin(&n[0].e, &pb); /* b is in recovery */
	ck_assert_int_eq(rv, BATON_ECONN);
	ck_assert_msg(strstr(n[0].e.errmsg, "still in recovery") != NULL, "%s",
		      n[0].e.errmsg);
	sa = status_of(&n[0]); /* untouched: still running, the primary */
	ck_assert_int_eq(sa.role, BATON_ROLE_PRIMARY);
	ck_assert(status_of(&n[1]).role == BATON_ROLE_REPLICA);

	pgt_cleanup(dir, n, 2);
}
END_TEST

/* A detached standby that is not ahead of the new primary's fork follows
 * it with a reload: same postmaster, streaming on the new timeline, every
 * row. One that is ahead (it received WAL the new primary never had) is
 * refused the new timeline by PostgreSQL itself, and the rejoin falls back
 * to pg_rewind: it follows too, without the rows the new primary lacks. */
START_TEST(a_standby_follows_the_new_primary_without_a_restart)
{
	char dir[64], up[160];
	struct pgt_node n[3];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status sb, sc;
	uint64_t lsn;
	int pid_c;

	pgt_tmpdir(dir, sizeof dir);
	pgt_require_binaries();
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	pgt_node_init(&n[2], dir, "c", false, NULL);
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	pb = (struct baton_engine_peer){"127.0.0.1", n[1].port};
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[1], n[1].e.ops->init_replica(&n[1].e, &pa));
	must(&n[2], n[2].e.ops->init_replica(&n[2].e, &pa));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	sql(&n[0], "CREATE TABLE t (id int primary key);"
		   "CREATE TABLE probe (at timestamptz)");
	sql(&n[0], "INSERT INTO t SELECT generate_series(1, 100)");
	wait_replayed(&n[0], &n[1]);
	wait_replayed(&n[0], &n[2]);

	/* the synchronous failover's steps: both standbys detach, the old
	 * primary dies, b is promoted */
	must(&n[1], n[1].e.ops->detach(&n[1].e, &lsn));
	must(&n[2], n[2].e.ops->detach(&n[2].e, &lsn));
	pgt_kill9(&n[0]);
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	pid_c = baton_pg_postmaster_pid(&n[2].e);
	ck_assert_int_gt(pid_c, 0);
	{
		bool past = true;
		must(&n[2], baton_pg_past_fork(&n[2].e, &pb, &past));
		ck_assert_msg(!past, "c detached before the fork");
	}
	must(&n[2], n[2].e.ops->rejoin(&n[2].e, &pb));
	ck_assert_int_eq(baton_pg_postmaster_pid(&n[2].e), pid_c);
	sql(&n[1], "INSERT INTO t VALUES (101)");
	wait_replayed(&n[1], &n[2]);
	sb = status_of(&n[1]);
	sc = status_of(&n[2]);
	ck_assert_int_eq(sc.role, BATON_ROLE_REPLICA);
	ck_assert_uint_eq(sc.timeline, sb.timeline);
	snprintf(up, sizeof up, "127.0.0.1:%d", n[1].port);
	ck_assert_str_eq(sc.upstream, up);
	ck_assert_int_eq(count_rows(&n[2], "SELECT count(*) FROM t"), 101);

	/* c ahead of the fork: a (the old primary) comes back as b's
	 * replica and detaches; b takes rows that reach c only; b dies and
	 * a is promoted without them. PostgreSQL refuses c the new
	 * timeline, so the rejoin rewinds c (a new postmaster) and c ends
	 * up with exactly what a has. */
	{
		must(&n[0], n[0].e.ops->rejoin(&n[0].e, &pb));
		wait_replayed(&n[1], &n[0]);
		must(&n[0], n[0].e.ops->detach(&n[0].e, &lsn));
		/* c has received b's rows but not replayed them yet (its
		 * replay paused here; on the lab: WAL the old primary wrote
		 * after a switchover's final position, arriving while the
		 * rejoin asks): its replay position alone says "before the
		 * fork", and the reload would fail after 3 s */
		sql(&n[2], "SELECT pg_wal_replay_pause()");
		sql(&n[1], "INSERT INTO t SELECT generate_series(102, 150)");
		{
			struct baton_engine_status pb_st = status_of(&n[1]);
			int i = 0;
			while (status_of(&n[2]).lsn < pb_st.lsn && i++ < 1000) {
				usleep(10000);
			}
			ck_assert_uint_ge(status_of(&n[2]).lsn, pb_st.lsn);
		}
		must(&n[0], n[0].e.ops->promote(&n[0].e, 0));
		{
			/* asked up front, not found out after 3 s: c still
			 * streams from b, so it says which timeline it is on;
			 * it stops receiving and replays what it has before
			 * the answer */
			bool past = false;
			must(&n[2], baton_pg_past_fork(&n[2].e, &pa, &past));
			ck_assert_msg(past, "c holds rows a never had");
		}
		pgt_kill9(&n[1]);
		must(&n[0], n[0].e.ops->unfence(&n[0].e));
		pid_c = baton_pg_postmaster_pid(&n[2].e);
		must(&n[2], n[2].e.ops->rejoin(&n[2].e, &pa));
		ck_assert_int_ne(baton_pg_postmaster_pid(&n[2].e), pid_c);
		sql(&n[0], "INSERT INTO t VALUES (1000)");
		wait_replayed(&n[0], &n[2]);
		ck_assert_int_eq(count_rows(&n[2], "SELECT count(*) FROM t"),
				 102);
		ck_assert_int_eq(status_of(&n[2]).role, BATON_ROLE_REPLICA);
		ck_assert_int_eq(writable_count(n, 3), 1);
	}
	pgt_cleanup(dir, n, 3);
}
END_TEST

static void sql_within(struct pgt_node *n, const char *q)
{
	char buf[512];
	/* a synchronous commit with no standby waits forever: bounded */
	snprintf(buf, sizeof buf, "SET statement_timeout = '10s'; %s", q);
	sql(n, buf);
}

static void wait_lsn(struct pgt_node *n, uint64_t lsn)
{
	for (int i = 0; i < 1000; i++) {
		if (status_of(n).replay_lsn >= lsn) {
			return;
		}
		usleep(10000);
	}
	ck_abort_msg("%s did not replay up to %llX", n->name,
		     (unsigned long long)lsn);
}

static bool lists(const char (*names)[BATON_ENGINE_NAME_SIZE], unsigned n,
		  const char *name)
{
	for (unsigned i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			return true;
		}
	}
	return false;
}

/* N's status once NAME is one of its synchronous standbys (5 s at most). */
static struct baton_engine_status wait_sync_standby(struct pgt_node *n,
						    const char *name)
{
	struct baton_engine_status st = status_of(n);

	for (int i = 0; i < 500 && !lists(st.sync_names, st.n_sync_names, name);
	     i++) {
		usleep(10000);
		st = status_of(n);
	}
	ck_assert_msg(lists(st.sync_names, st.n_sync_names, name),
		      "%s is not a synchronous standby of the new primary",
		      name);
	return st;
}

/* COUNT instances a, b, ... in DIR, synchronous (every other one in the
 * list): a the primary, unfenced, the others its streaming standbys with
 * table t (100 rows) and table probe replayed. *PA and *PB: a's and b's
 * addresses. */
static void sync_fleet(const char *dir, struct pgt_node *n, int count,
		       struct baton_engine_peer *pa,
		       struct baton_engine_peer *pb)
{
	static const char *const names[] = {"a", "b", "c", "d"};
	char list[16] = "";

	ck_assert_int_le(count, 4);
	for (int i = 0, len = 0; i < count; i++) {
		len += snprintf(list + len, sizeof list - (size_t)len, "%s%s",
				i ? "," : "", names[i]);
	}
	pgt_require_binaries();
	for (int i = 0; i < count; i++) {
		pgt_node_init(&n[i], dir, names[i], true, list);
	}
	*pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	*pb = (struct baton_engine_peer){"127.0.0.1", n[1].port};
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	for (int i = 1; i < count; i++) {
		must(&n[i], n[i].e.ops->init_replica(&n[i].e, pa));
	}
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	sql_within(&n[0], "CREATE TABLE t (id int primary key);"
			  "CREATE TABLE probe (at timestamptz)");
	sql_within(&n[0], "INSERT INTO t SELECT generate_series(1, 100)");
	for (int i = 1; i < count; i++) {
		wait_replayed(&n[0], &n[i]);
	}
}

/* A planned switchover's cascade (engine cascade): a standby streams from
 * the target, another standby, before the target is promoted, and follows
 * the target's promotion on the same connection, no order needed, no
 * restart: in synchronous mode the new primary commits at once. It never
 * holds WAL the target lacks: when it received more from the primary than
 * the target has, it refuses and streams from the primary again (which
 * alone then acknowledges commits: a commit here would hang otherwise).
 * A target on another timeline (promoted already) and a primary are
 * refused the same way. */
START_TEST(a_cascading_standby_follows_the_target_and_never_gets_ahead)
{
	char dir[64], up[160];
	struct pgt_node n[3];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status sa, sb, sc;
	uint64_t lsn;
	int pid_c, rv;

	pgt_tmpdir(dir, sizeof dir);
	sync_fleet(dir, n, 3, &pa, &pb);
	pid_c = baton_pg_postmaster_pid(&n[2].e);

	/* c ahead of b: b stops receiving, a commits rows only c holds
	 * (c acknowledges them). c must not cascade from b; it goes back
	 * to a, and a's next commit, which only c can acknowledge now,
	 * goes through. */
	must(&n[1], n[1].e.ops->detach(&n[1].e, &lsn));
	sql_within(&n[0], "INSERT INTO t SELECT generate_series(101, 110)");
	wait_replayed(&n[0], &n[2]);
	rv = n[2].e.ops->cascade(&n[2].e, &pb);
	ck_assert_int_eq(rv, BATON_ETIMEDOUT);
	ck_assert_msg(strstr(n[2].e.errmsg, "ahead") != NULL, "%s",
		      n[2].e.errmsg);
	snprintf(up, sizeof up, "127.0.0.1:%d", n[0].port);
	wait_upstream(&n[2], up);
	sql_within(&n[0], "INSERT INTO t VALUES (111)");
	wait_replayed(&n[0], &n[2]);
	ck_assert_int_eq(count_rows(&n[2], "SELECT count(*) FROM t"), 111);
	ck_assert_int_eq(baton_pg_postmaster_pid(&n[2].e), pid_c);

	/* b streams from a again; now c cascades from b */
	must(&n[1], n[1].e.ops->rejoin(&n[1].e, &pa));
	wait_replayed(&n[0], &n[1]);
	must(&n[2], n[2].e.ops->cascade(&n[2].e, &pb));
	must(&n[2], n[2].e.ops->cascade(&n[2].e, &pb)); /* repeated: no-op */
	snprintf(up, sizeof up, "127.0.0.1:%d", n[1].port);
	ck_assert_str_eq(status_of(&n[2]).upstream, up);
	sql_within(&n[0], "INSERT INTO t SELECT generate_series(112, 120)");
	wait_replayed(&n[0], &n[2]); /* through b */
	ck_assert_int_eq(count_rows(&n[2], "SELECT count(*) FROM t"), 120);
	for (int i = 0; i < 500; i++) { /* c's walsender on a goes away */
		sa = status_of(&n[0]);
		if (!lists(sa.standby_names, sa.n_standby_names, "c")) {
			break;
		}
		usleep(10000);
	}
	ck_assert(!lists(sa.standby_names, sa.n_standby_names, "c"));
	ck_assert(lists(sa.standby_names, sa.n_standby_names, "b"));

	/* the switchover: a fenced, b caught up and promoted. c follows
	 * b's new timeline by itself, and b's first synchronous commit
	 * goes through at once (a, still a fenced primary, streams from
	 * nobody: c is b's only standby) */
	must(&n[0], n[0].e.ops->fence(&n[0].e));
	wait_replayed(&n[0], &n[1]);
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	sb = status_of(&n[1]);
	sb = wait_sync_standby(&n[1], "c");
	sql_within(&n[1], "INSERT INTO t VALUES (1000)");
	sb = status_of(&n[1]);
	wait_lsn(&n[2], sb.lsn);
	sc = status_of(&n[2]);
	ck_assert_uint_eq(sc.timeline, sb.timeline);
	ck_assert_uint_gt(sb.timeline, 1);
	ck_assert_int_eq(count_rows(&n[2], "SELECT count(*) FROM t"), 121);
	ck_assert_int_eq(baton_pg_postmaster_pid(&n[2].e), pid_c);
	ck_assert_int_eq(sc.role, BATON_ROLE_REPLICA);
	ck_assert_int_eq(writable_count(n, 3), 1);

	/* an upstream on another timeline (a, the old primary) and a
	 * primary (b) are refused; c keeps streaming from b */
	rv = n[2].e.ops->cascade(&n[2].e, &pa);
	ck_assert_int_eq(rv, BATON_ECONFLICT);
	ck_assert_msg(strstr(n[2].e.errmsg, "timeline") != NULL, "%s",
		      n[2].e.errmsg);
	ck_assert_str_eq(status_of(&n[2]).upstream, up);
	sql_within(&n[1], "INSERT INTO t VALUES (1001)");
	wait_lsn(&n[2], status_of(&n[1]).lsn);
	rv = n[1].e.ops->cascade(&n[1].e, &pa);
	ck_assert_int_eq(rv, BATON_ECONFLICT);
	ck_assert_int_eq(writable_count(n, 3), 1);
	pgt_cleanup(dir, n, 3);
}
END_TEST

/* A synchronous failover: the standbys detached, the primary gone, b
 * about to be promoted. c, told to cascade from b while b is still in
 * recovery, streams from it at once (it is not ahead of b) and follows
 * b's promotion on that connection: no wait for the promotion, no
 * restart, no rewind, and b's first synchronous commit has c to
 * acknowledge it. d, told to rejoin b once b is promoted, takes the new
 * timeline by a reload at once (b's history says d is not past the
 * fork). A c that received more than b is not pointed at b: the cascade
 * is refused and the rejoin waits for b's promotion as before (and then
 * rewinds). */
START_TEST(a_detached_standby_follows_a_promoting_target)
{
	char dir[64], up[160];
	struct pgt_node n[4];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status sb, sc;
	uint64_t lsn;
	int pid_c, rv;

	pgt_tmpdir(dir, sizeof dir);
	sync_fleet(dir, n, 3, &pa, &pb);

	/* c ahead of b: b detaches first, a commits rows only c holds */
	must(&n[1], n[1].e.ops->detach(&n[1].e, &lsn));
	sql_within(&n[0], "INSERT INTO t SELECT generate_series(101, 110)");
	wait_replayed(&n[0], &n[2]);
	must(&n[2], n[2].e.ops->detach(&n[2].e, &lsn));
	pgt_kill9(&n[0]);
	rv = n[2].e.ops->cascade(&n[2].e, &pb);
	ck_assert_int_eq(rv, BATON_ECONFLICT);
	ck_assert_msg(strstr(n[2].e.errmsg, "not streaming from it") != NULL,
		      "%s", n[2].e.errmsg);
	ck_assert_str_eq(status_of(&n[2]).upstream, ""); /* still detached */
	n[2].cfg.timeout_s = 2; /* a short bound for the long way's wait */
	reinit_engine(&n[2]);
	rv = n[2].e.ops->rejoin(&n[2].e, &pb);
	ck_assert_int_eq(rv, BATON_ECONN);
	ck_assert_msg(strstr(n[2].e.errmsg, "still in recovery") != NULL, "%s",
		      n[2].e.errmsg);
	ck_assert_str_eq(status_of(&n[2]).upstream, ""); /* still detached */
	pgt_cleanup(dir, n, 3);

	/* the same with c and d not ahead: they follow b before b is
	 * promoted, c by a cascade (batond's way), d by a rejoin (what
	 * batond sends when the promote was applied first) */
	pgt_tmpdir(dir, sizeof dir);
	sync_fleet(dir, n, 4, &pa, &pb);
	must(&n[2], n[2].e.ops->detach(&n[2].e, &lsn));
	must(&n[3], n[3].e.ops->detach(&n[3].e, &lsn));
	must(&n[1], n[1].e.ops->detach(&n[1].e, &lsn));
	pgt_kill9(&n[0]);
	pid_c = baton_pg_postmaster_pid(&n[2].e);
	must(&n[2], n[2].e.ops->cascade(&n[2].e, &pb));
	must(&n[2], n[2].e.ops->cascade(&n[2].e, &pb)); /* repeated */
	/* answered while b is still a standby: it did not wait */
	ck_assert_int_eq(status_of(&n[1]).role, BATON_ROLE_REPLICA);
	snprintf(up, sizeof up, "127.0.0.1:%d", n[1].port);
	ck_assert_str_eq(status_of(&n[2]).upstream, up);

	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	/* d, told after the promotion (batond's rejoin raced it): it
	 * takes b's new timeline the same way, b's history saying it is
	 * not past the fork */
	int pid_d = baton_pg_postmaster_pid(&n[3].e);
	must(&n[3], n[3].e.ops->rejoin(&n[3].e, &pb));
	ck_assert_str_eq(status_of(&n[3]).upstream, up);
	ck_assert_int_eq(baton_pg_postmaster_pid(&n[3].e), pid_d);
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	sb = wait_sync_standby(&n[1], "c");
	sql_within(&n[1], "INSERT INTO t VALUES (1000)");
	sb = status_of(&n[1]);
	wait_lsn(&n[2], sb.lsn);
	sc = status_of(&n[2]);
	ck_assert_uint_gt(sb.timeline, 1);
	ck_assert_uint_eq(sc.timeline, sb.timeline);
	ck_assert_int_eq(count_rows(&n[2], "SELECT count(*) FROM t"), 101);
	ck_assert_int_eq(baton_pg_postmaster_pid(&n[2].e), pid_c);
	ck_assert_int_eq(sc.role, BATON_ROLE_REPLICA);
	wait_lsn(&n[3], sb.lsn);
	ck_assert_uint_eq(status_of(&n[3]).timeline, sb.timeline);
	ck_assert_int_eq(count_rows(&n[3], "SELECT count(*) FROM t"), 101);
	ck_assert_int_eq(writable_count(n, 4), 1);
	pgt_cleanup(dir, n, 4);
}
END_TEST

/* What a failed rewind leaves decides what happens next. */
START_TEST(rewind_failure_decisions)
{
	/* could not even connect: nothing touched, try again later */
	ck_assert_int_eq(
	    baton_pg_rewind_failure(
		"pg_rewind: error: could not connect to server: connection "
		"to server at \"10.0.0.1\", port 5432 failed: Connection "
		"refused",
		false),
	    BATON_PG_REWIND_RETRY);
	/* it got to rewriting, then failed */
	ck_assert_int_eq(
	    baton_pg_rewind_failure(
		"pg_rewind: servers diverged at WAL location 0/3000000 on "
		"timeline 1\npg_rewind: rewinding from last common checkpoint "
		"at 0/2000060 on timeline 1\npg_rewind: error: unexpected "
		"result while fetching remote files: server closed the "
		"connection unexpectedly",
		false),
	    BATON_PG_REWIND_RECLONE);
	/* the aftermath of an earlier half-done rewind */
	ck_assert_int_eq(baton_pg_rewind_failure(
			     "pg_rewind: error: could not find common "
			     "ancestor of the source and target cluster's "
			     "timelines",
			     true),
			 BATON_PG_REWIND_RECLONE);
	ck_assert_int_eq(baton_pg_rewind_failure(
			     "pg_rewind: error: could not find common "
			     "ancestor of the source and target cluster's "
			     "timelines",
			     false),
			 BATON_PG_REWIND_RETRY);
	/* another database system: never wipe, even after an earlier try */
	ck_assert_int_eq(
	    baton_pg_rewind_failure("pg_rewind: error: source and target "
				    "clusters are from different systems",
				    true),
	    BATON_PG_REWIND_REFUSE);
}
END_TEST

/* ---- secrets ---------------------------------------------------------------
 *
 * A bin directory whose every tool first appends its own /proc/self/cmdline
 * and /proc/self/environ (what any process of the pod could read while it
 * runs) to LOG, then runs the real tool. initdb also turns on log_statement
 * = 'all', so the server log (inside DATADIR, copied by pg_basebackup)
 * shows every statement the engine sends.
 */
static void spy_bindir(const char *dir, char *out, size_t size, char *log,
		       size_t log_size)
{
	char cmd[2048];
	FILE *f;

	snprintf(out, size, "%s/spybin", dir);
	snprintf(log, log_size, "%s/spy.log", dir);
	snprintf(cmd, sizeof cmd,
		 "mkdir -p %s && chmod 755 %s && : > %s && chmod 666 %s", out,
		 out, log, log);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "%s/spy", out);
	f = fopen(cmd, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(
	    f,
	    "#!/bin/sh\n"
	    "t=$(basename \"$0\")\n"
	    "{ echo \"== $t\"; tr '\\000' ' ' < /proc/$$/cmdline; echo;"
	    " tr '\\000' '\\n' < /proc/$$/environ; } >> %s\n"
	    "if [ \"$t\" = initdb ]; then\n"
	    "  %s/initdb \"$@\" || exit $?\n"
	    "  while [ $# -gt 0 ]; do [ \"$1\" = -D ] && d=$2; shift; done\n"
	    "  echo \"log_statement = 'all'\" >> \"$d/postgresql.conf\"\n"
	    "  exit 0\n"
	    "fi\n"
	    "exec %s/\"$t\" \"$@\"\n",
	    log, PGT_BINDIR, PGT_BINDIR);
	fclose(f);
	ck_assert_int_eq(chmod(cmd, 0755), 0);
	snprintf(cmd, sizeof cmd,
		 "for t in %s/*; do ln -s spy %s/$(basename $t); done",
		 PGT_BINDIR, out);
	ck_assert_int_eq(system(cmd), 0);
}

static bool file_holds(const char *path, const char *needle)
{
	char found[512];
	/* a tree of one file */
	return pgt_tree_holds(path, needle, found, sizeof found);
}

static void wait_streaming_to(struct pgt_node *primary, const char *name)
{
	for (int i = 0; i < 1000; i++) {
		struct baton_engine_status st = status_of(primary);
		for (unsigned k = 0; k < st.n_standby_names; k++) {
			if (strcmp(st.standby_names[k], name) == 0) {
				return;
			}
		}
		usleep(10000);
	}
	ck_abort_msg("%s never streamed from %s", name, primary->name);
}

static void no_secret_in_servers(struct pgt_node *nodes, int n)
{
	for (int i = 0; i < n; i++) {
		int pid = pgt_server_proc_holds(&nodes[i], PGT_SECRET_MARK);
		ck_assert_msg(pid == 0,
			      "process %d of %s's server has the replication "
			      "password in its command line or environment",
			      pid, nodes[i].name);
	}
}

/* Where N keeps its passfile: primary_conninfo's passfile=. */
static void passfile_of(struct pgt_node *n, char *out, size_t size)
{
	char ci[1024], err[256];
	PQconninfoOption *opts;

	ck_assert_msg(pgt_exec(n, "SHOW primary_conninfo", ci, sizeof ci, err,
			       sizeof err) == 0,
		      "%s", err);
	opts = PQconninfoParse(ci, NULL);
	ck_assert_ptr_nonnull(opts);
	out[0] = '\0';
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		ck_assert_msg(strcmp(o->keyword, "password") != 0 ||
				  o->val == NULL,
			      "primary_conninfo of %s carries a password: %s",
			      n->name, ci);
		if (strcmp(o->keyword, "passfile") == 0 && o->val != NULL) {
			snprintf(out, size, "%s", o->val);
		}
	}
	PQconninfoFree(opts);
	ck_assert_msg(out[0] == '/', "no passfile in %s's primary_conninfo: %s",
		      n->name, ci);
}

START_TEST(secrets_stay_off_argv_environ_and_datadir)
{
	char dir[64], spybin[128], log[128], path[600], found[512];
	char pf[512], text[256];
	struct pgt_node n[2];
	struct baton_engine_peer pa, pb;
	uid_t pg_uid;
	struct stat st;
	FILE *f;

	pgt_require_binaries();
	pg_uid = getpwnam("postgres")->pw_uid;
	pgt_tmpdir(dir, sizeof dir);
	spy_bindir(dir, spybin, sizeof spybin, log, sizeof log);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	for (int i = 0; i < 2; i++) {
		n[i].cfg.bindir = spybin;
		reinit_engine(&n[i]);
	}
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	pb = (struct baton_engine_peer){"127.0.0.1", n[1].port};

	/* a clone (pg_basebackup) streaming from its primary ... */
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	/* the server logs every statement, the role's creation too, into
	 * DATADIR.baton-log (outside the data directory) */
	snprintf(path, sizeof path, "%s.baton-log/postgres.log", n[0].datadir);
	ck_assert(file_holds(path, "CREATE ROLE"));
	ck_assert_msg(!file_holds(path, PGT_SECRET_MARK),
		      "the server log holds the replication password");
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	sql(&n[0], "CREATE TABLE t (id int primary key);"
		   "CREATE TABLE probe (at timestamptz)");
	must(&n[1], n[1].e.ops->init_replica(&n[1].e, &pa));
	wait_streaming_to(&n[0], "b");
	no_secret_in_servers(n, 2);
	/* ... then a failover and a rewind (pg_rewind) back into it; what
	 * a's server logged before its fence must survive the rewind (a log
	 * inside PGDATA was replaced by b's copy) */
	sql(&n[0], "SELECT 'the last words of a'");
	must(&n[0], n[0].e.ops->fence(&n[0].e));
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	sql(&n[1], "INSERT INTO t VALUES (1)");
	must(&n[0], n[0].e.ops->rejoin(&n[0].e, &pb));
	wait_streaming_to(&n[1], "a");
	wait_replayed(&n[1], &n[0]);
	ck_assert_int_eq(count_rows(&n[0], "SELECT count(*) FROM t"), 1);
	no_secret_in_servers(n, 2);
	ck_assert_msg(file_holds(path, "the last words of a"),
		      "the rewind lost a's server log (%s)", path);
	ck_assert(file_holds(path, "CREATE ROLE"));

	/* what every tool saw: the passfile's path, never the password */
	ck_assert_msg(!file_holds(log, PGT_SECRET_MARK),
		      "a tool got the replication password on its command "
		      "line or in its environment (see %s)",
		      log);
	ck_assert(file_holds(log, "== pg_basebackup"));
	ck_assert(file_holds(log, "== pg_rewind"));
	ck_assert(file_holds(log, "PGPASSFILE=/"));
	ck_assert(file_holds(log, "passfile="));
	ck_assert(!file_holds(log, "PGPASSWORD"));

	/* nothing in either data directory: baton.conf, the server logs
	 * (every statement logged), WAL, catalogs */
	for (int i = 0; i < 2; i++) {
		ck_assert_msg(!pgt_tree_holds(n[i].datadir, PGT_SECRET_MARK,
					      found, sizeof found),
			      "%s holds the replication password", found);
		snprintf(path, sizeof path, "%s.baton-log", n[i].datadir);
		ck_assert_msg(
		    !pgt_tree_holds(path, PGT_SECRET_MARK, found, sizeof found),
		    "%s holds the replication password", found);
		snprintf(path, sizeof path, "%s/baton.conf", n[i].datadir);
		ck_assert(!file_holds(path, "password="));
	}
	snprintf(path, sizeof path, "%s/baton.conf", n[0].datadir);
	ck_assert(file_holds(path, "passfile=")); /* a follows b */

	/* the one copy: a 0600 passfile of the server's user, in a 0700
	 * directory of its own, outside the data directory */
	passfile_of(&n[0], pf, sizeof pf);
	ck_assert_msg(strncmp(pf, n[0].datadir, strlen(n[0].datadir)) != 0 ||
			  pf[strlen(n[0].datadir)] != '/',
		      "passfile %s is inside the data directory", pf);
	ck_assert_int_eq(lstat(pf, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(st.st_uid, pg_uid);
	f = fopen(pf, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(text, sizeof text, f));
	fclose(f);
	ck_assert_str_eq(text, "*:*:*:baton_repl:s3cret'pw\\:x\\\\y\n");
	*strrchr(pf, '/') = '\0';
	ck_assert_int_eq(lstat(pf, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_uint_eq(st.st_uid, pg_uid);

	/* a replica whose baton.conf an older agent wrote (the password in
	 * primary_conninfo, escaped for both layers): the next start takes
	 * it out, and the replica follows the same primary */
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	snprintf(path, sizeof path, "%s/baton.conf", n[0].datadir);
	f = fopen(path, "a");
	ck_assert_ptr_nonnull(f);
	fprintf(f,
		"primary_conninfo = 'host=127.0.0.1 port=%d user=baton_repl "
		"password=''s3cret\\\\''pw:x\\\\\\\\y'' application_name=a'\n",
		n[1].port);
	fclose(f);
	ck_assert(file_holds(path, PGT_SECRET_MARK));
	must(&n[0], n[0].e.ops->start(&n[0].e));
	ck_assert_msg(!file_holds(path, PGT_SECRET_MARK),
		      "baton.conf of an older agent keeps the password");
	ck_assert(file_holds(path, "passfile="));
	sql(&n[1], "INSERT INTO t VALUES (2)");
	wait_streaming_to(&n[1], "a");
	wait_replayed(&n[1], &n[0]);
	ck_assert_int_eq(count_rows(&n[0], "SELECT count(*) FROM t"), 2);

	pgt_cleanup(dir, n, 2);
}
END_TEST

/* Connects to N's socket as the superuser from a child running as UID:GID;
 * 0: refused by peer authentication, 1: connected, 2: refused otherwise
 * (libpq's message on stderr). */
static int connect_as(struct pgt_node *n, uid_t uid, gid_t gid)
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char ci[512];
		PGconn *c;
		if (setgroups(0, NULL) != 0 || setgid(gid) != 0 ||
		    setuid(uid) != 0) {
			_exit(3);
		}
		snprintf(ci, sizeof ci,
			 "host=%s port=%d user=postgres dbname=postgres "
			 "connect_timeout=3",
			 n->sockdir, n->port);
		c = PQconnectdb(ci);
		if (PQstatus(c) == CONNECTION_OK) {
			_exit(1);
		}
		fprintf(stderr, "uid %ld: %s", (long)uid, PQerrorMessage(c));
		_exit(strstr(PQerrorMessage(c), "Peer authentication failed")
			  ? 0
			  : 2);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void check_private(const char *path, mode_t want, uid_t owner)
{
	struct stat st;
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == want && st.st_uid == owner,
		      "%s is mode %04o uid %ld, want %04o uid %ld", path,
		      (unsigned)(st.st_mode & 07777), (long)st.st_uid,
		      (unsigned)want, (long)owner);
}

START_TEST(local_socket_admits_only_the_agent)
{
	char dir[64], sock[128], path[300];
	struct pgt_node n[2];
	struct passwd *pw;
	uid_t pg_uid, nobody_uid;
	gid_t pg_gid, nobody_gid;
	char err[256];
	int st;
	pid_t pid;

	pgt_require_binaries();
	/* getpwnam's answer is overwritten by the next call: copy it */
	pw = getpwnam("nobody");
	ck_assert_msg(pw != NULL, "this test needs a 'nobody' user");
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	pw = getpwnam("postgres");
	ck_assert_ptr_nonnull(pw);
	pg_uid = pw->pw_uid;
	pg_gid = pw->pw_gid;
	pgt_tmpdir(dir, sizeof dir); /* 0755: everyone could enter */
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	snprintf(sock, sizeof sock, "%s/.s.PGSQL.%d", dir, n[0].port);

	/* only the server's user (and root) can connect(2) at all */
	check_private(dir, 0700, pg_uid);
	check_private(sock, 0700, pg_uid);
	snprintf(path, sizeof path, "%s/pg_hba.conf", n[0].datadir);
	{
		char line[256];
		FILE *f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof line, f) != NULL) {
			ck_assert_msg(strstr(line, "trust") == NULL ||
					  line[0] == '#',
				      "pg_hba.conf: %s", line);
		}
		fclose(f);
	}
	/* root (this agent runs as root) and the server's user get in */
	ck_assert_int_eq(connect_as(&n[0], 0, 0), 1);
	ck_assert_int_eq(connect_as(&n[0], pg_uid, pg_gid), 1);
	/* anyone else who reaches the socket (the directory and the socket
	 * opened up, as a kubelet's fsGroup pass or an operator might) is
	 * refused by peer authentication */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod(sock, 0777), 0);
	ck_assert_int_eq(connect_as(&n[0], nobody_uid, nobody_gid), 0);
	/* the next start closes the directory again */
	must(&n[0], n[0].e.ops->stop(&n[0].e, false));
	must(&n[0], n[0].e.ops->start(&n[0].e));
	check_private(dir, 0700, pg_uid);
	check_private(sock, 0700, pg_uid);

	/* an agent that is not root (the pod: agent and server both uid
	 * 999): its own peer connections work, root is no longer let in */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct baton_engine_status s;
		struct baton_engine e;
		int rv;
		if (setgroups(0, NULL) != 0 || setgid(pg_gid) != 0 ||
		    setuid(pg_uid) != 0) {
			_exit(3);
		}
		n[1].cfg.run_as = NULL;
		rv = baton_pg_engine_init(&e, &n[1].cfg);
		if (rv == 0) {
			rv = e.ops->init_primary(&e);
		}
		if (rv == 0) {
			rv = e.ops->unfence(&e);
		}
		if (rv == 0) {
			rv = e.ops->status(&e, &s);
		}
		if (rv != 0 || !s.writable) {
			fprintf(stderr, "non-root engine: %s (%s)\n", e.errmsg,
				baton_errname(rv));
			_exit(1);
		}
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "the engine run as postgres failed (status %d)", st);
	ck_assert_int_eq(connect_as(&n[1], pg_uid, pg_gid), 1);
	ck_assert_int_eq(connect_as(&n[1], 0, 0), 0);
	ck_assert_int_ne(pgt_exec(&n[1], "SELECT 1", NULL, 0, err, sizeof err),
			 0);

	pgt_cleanup(dir, n, 2);
}
END_TEST

/* ---- kill -9 under load ----------------------------------------------------
 */

struct writer {
	struct pgt_node *node;
	atomic_int stop;
	long long acked; /* highest id the server acknowledged */
	long long attempted;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	char conninfo[512];
	PGconn *c;

	snprintf(conninfo, sizeof conninfo,
		 "host=%s port=%d user=postgres dbname=postgres",
		 w->node->sockdir, w->node->port);
	c = PQconnectdb(conninfo);
	while (PQstatus(c) == CONNECTION_OK && !atomic_load(&w->stop)) {
		char q[128];
		PGresult *r;
		long long id = w->acked + 1;
		snprintf(q, sizeof q, "INSERT INTO w VALUES (%lld)", id);
		w->attempted = id;
		r = PQexec(c, q);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			PQclear(r);
			break;
		}
		/* a commit with a WARNING about cancelled sync wait was not
		 * confirmed by the standby: we never see it here because the
		 * primary dies without answering */
		PQclear(r);
		w->acked = id;
	}
	PQfinish(c);
	return NULL;
}

/* Kills the primary during a write load, promotes the replica; returns the
 * number of acknowledged writes missing on it. */
static long long crash_and_count_loss(bool synchronous, long long *acked)
{
	char dir[64];
	struct pgt_node n[2];
	struct baton_engine_peer pa;
	struct writer w = {0};
	pthread_t th;
	long long present, lost;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", synchronous, "b");
	pgt_node_init(&n[1], dir, "b", synchronous, "a");
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	must(&n[1], n[1].e.ops->init_replica(&n[1].e, &pa));
	sql(&n[0], "CREATE TABLE w (id bigint primary key)");
	if (synchronous) {
		struct baton_engine_status st;
		for (int i = 0; i < 500; i++) {
			st = status_of(&n[0]);
			if (st.sync_standbys == 1) {
				break;
			}
			usleep(10000);
		}
		ck_assert_uint_eq(st.sync_standbys, 1);
	}
	w.node = &n[0];
	ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, &w), 0);
	usleep(1500 * 1000);
	pgt_kill9(&n[0]);
	atomic_store(&w.stop, 1);
	pthread_join(th, NULL);
	ck_assert_int_gt(w.acked, 100);

	n[1].e.max_lag_bytes = -1; /* failover: take what we have */
	must(&n[1], n[1].e.ops->promote(&n[1].e, 0));
	must(&n[1], n[1].e.ops->unfence(&n[1].e));
	present = count_rows(&n[1], "SELECT count(*) FROM w");
	char q[128];
	snprintf(q, sizeof q, "SELECT count(*) FROM w WHERE id <= %lld",
		 w.acked);
	lost = w.acked - count_rows(&n[1], q);
	fprintf(stderr,
		"%s kill -9: %lld writes acknowledged, %lld rows on the "
		"promoted replica, %lld acknowledged writes lost\n",
		synchronous ? "sync" : "async", w.acked, present, lost);
	*acked = w.acked;
	pgt_cleanup(dir, n, 2);
	return lost;
}

START_TEST(sync_kill9_loses_nothing)
{
	long long acked;
	ck_assert_int_eq(crash_and_count_loss(true, &acked), 0);
}
END_TEST

START_TEST(async_kill9_reports_loss)
{
	long long acked;
	long long lost = crash_and_count_loss(false, &acked);
	ck_assert_int_ge(lost, 0);
	ck_assert_int_le(lost, acked);
}
END_TEST

/* ---- bad input -------------------------------------------------------------
 */

START_TEST(bad_input_gives_clear_errors)
{
	char dir[64];
	struct pgt_node n[4];
	struct baton_engine_peer pa;
	char path[512];
	FILE *f;
	int rv;

	pgt_require_binaries();
	pgt_tmpdir(dir, sizeof dir);
	pgt_node_init(&n[0], dir, "a", false, NULL);
	pgt_node_init(&n[1], dir, "b", false, NULL);
	pgt_node_init(&n[2], dir, "c", false, NULL);
	pgt_node_init(&n[3], dir, "missing", false, NULL);
	pa = (struct baton_engine_peer){"127.0.0.1", n[0].port};

	/* missing data dir */
	rv = n[3].e.ops->start(&n[3].e);
	ck_assert_int_eq(rv, BATON_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(n[3].e.errmsg, "missing"));

	must(&n[0], n[0].e.ops->init_primary(&n[0].e));
	must(&n[0], n[0].e.ops->unfence(&n[0].e));
	sql(&n[0], "CREATE TABLE t (id int); CREATE TABLE probe (at "
		   "timestamptz)");

	/* wrong replication password */
	n[2].cfg.repl_password = "wrong";
	baton_engine_destroy(&n[2].e);
	ck_assert_int_eq(baton_pg_engine_init(&n[2].e, &n[2].cfg), 0);
	rv = n[2].e.ops->init_replica(&n[2].e, &pa);
	ck_assert_int_eq(rv, BATON_EFORBIDDEN);
	ck_assert_ptr_nonnull(strstr(n[2].e.errmsg, "password"));

	/* unreachable primary */
	struct baton_engine_peer nowhere = {"127.0.0.1", pgt_free_port()};
	rv = n[1].e.ops->init_replica(&n[1].e, &nowhere);
	ck_assert_int_eq(rv, BATON_ECONN);
	ck_assert_ptr_nonnull(strstr(n[1].e.errmsg, "unreachable"));
	snprintf(path, sizeof path, "rm -rf %s", n[1].datadir);
	ck_assert_int_eq(system(path), 0);

	/* replica too far behind: replay paused, 4 MiB written */
	must(&n[1], n[1].e.ops->init_replica(&n[1].e, &pa));
	wait_replayed(&n[0], &n[1]);
	sql(&n[1], "SELECT pg_wal_replay_pause()");
	sql(&n[0], "INSERT INTO t SELECT generate_series(1, 100000)");
	usleep(500 * 1000);
	n[1].e.max_lag_bytes = 1024 * 1024;
	rv = n[1].e.ops->promote(&n[1].e, 0);
	ck_assert_int_eq(rv, BATON_EBUSY);
	ck_assert_ptr_nonnull(strstr(n[1].e.errmsg, "behind"));
	ck_assert_int_eq(status_of(&n[1]).role, BATON_ROLE_REPLICA);
	/* ... and with a reference LSN from the old primary */
	struct baton_engine_status sa = status_of(&n[0]);
	sql(&n[1], "SELECT pg_wal_replay_resume()");
	wait_replayed(&n[0], &n[1]);
	n[1].e.max_lag_bytes = 1024;
	rv = n[1].e.ops->promote(&n[1].e, sa.lsn + 10 * 1024 * 1024);
	ck_assert_int_eq(rv, BATON_EBUSY);
	ck_assert_int_eq(writable_count(n, 2), 1); /* never a second primary */

	/* corrupt data dir: garbage control file */
	must(&n[1], n[1].e.ops->stop(&n[1].e, false));
	snprintf(path, sizeof path, "%s/global/pg_control", n[1].datadir);
	f = fopen(path, "r+");
	ck_assert_ptr_nonnull(f);
	fseek(f, 16, SEEK_SET);
	fputs("garbage garbage garbage", f);
	fclose(f);
	rv = n[1].e.ops->start(&n[1].e);
	ck_assert_int_eq(rv, BATON_EENGINE);
	ck_assert_ptr_nonnull(strstr(n[1].e.errmsg, "corrupt"));
	ck_assert_int_eq(status_of(&n[1]).role, BATON_ROLE_STOPPED);
	ck_assert_int_eq(writable_count(n, 2), 1);

	pgt_cleanup(dir, n, 4);
}
END_TEST

static char *sync_state_of(struct pgt_node *primary, const char *name,
			   char *out, size_t size)
{
	char q[256], err[256];

	snprintf(q, sizeof q,
		 "SELECT sync_state FROM pg_stat_replication"
		 " WHERE application_name = '%s'",
		 name);
	ck_assert_msg(pgt_exec(primary, q, out, size, err, sizeof err) == 0,
		      "%s", err);
	return out;
}

static uint64_t flushed_lsn(struct pgt_node *n)
{
	char out[64], err[256];
	uint64_t lsn = 0;

	ck_assert_msg(pgt_exec(n, "SELECT pg_current_wal_flush_lsn()", out,
			       sizeof out, err, sizeof err) == 0,
		      "%s", err);
	ck_assert_int_eq(baton_pg_parse_lsn(out, &lsn), 0);
	return lsn;
}

static int set_names(struct pgt_node *n, const char *const *names,
		     unsigned count, uint64_t *x)
{
	return n->e.ops->set_sync_names(&n->e, names, count, x);
}

/* A commit sent on its own connection: waiting (for a synchronous standby)
 * or not, asked later. */
static PGconn *commit_async(struct pgt_node *n, const char *q)
{
	char conninfo[512];
	PGconn *c;

	snprintf(conninfo, sizeof conninfo,
		 "host=%s port=%d user=postgres dbname=postgres", n->sockdir,
		 n->port);
	c = PQconnectdb(conninfo);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	ck_assert_int_eq(PQsendQuery(c, q), 1);
	return c;
}

/* Whether C's query is still running after MS milliseconds. */
static bool still_waiting(PGconn *c, int ms)
{
	double until = pgt_now_ms() + ms;
	while (pgt_now_ms() < until) {
		ck_assert_int_eq(PQconsumeInput(c), 1);
		if (!PQisBusy(c)) {
			return false;
		}
		usleep(10000);
	}
	return true;
}

/* C's query (from commit_async) went through: its result, then the end. */
static void commit_succeeded(PGconn *c)
{
	PGresult *r = PQgetResult(c);
	ck_assert_int_eq(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	while ((r = PQgetResult(c)) != NULL) {
		PQclear(r);
	}
	PQfinish(c);
}

/* set_sync_names (docs/design-per-instance.md §3.3): a with synchronous
 * standbys b and c, both listed. The list becomes {c}: when the call
 * returns, b's walsender already shows 'async' (it acknowledges nothing),
 * X is at or past every commit acknowledged before, and a commit goes
 * through with b stopped (c acknowledges it) but waits with c stopped (b,
 * streaming again, no longer counts) until b is listed again. On a
 * replica the list is only recorded, for its promotion; bad names are
 * refused. */
START_TEST(set_sync_names_releases_removed_standbys)
{
	static const char *const only_c[] = {"c"};
	static const char *const b_and_c[] = {"b", "c"};
	static const char *const wild[] = {"c", "*"};
	const char *many[BATON_ENGINE_MAX_STANDBYS + 1];
	char dir[64], state[32], path[512];
	struct pgt_node n[3];
	struct baton_engine_peer pa, pb;
	struct baton_engine_status st;
	uint64_t acked, x = 1;
	int ws_b, rv;
	PGconn *w;

	pgt_tmpdir(dir, sizeof dir);
	sync_fleet(dir, n, 3, &pa, &pb);
	wait_sync_standby(&n[0], "b");
	wait_sync_standby(&n[0], "c");
	ck_assert_str_eq(sync_state_of(&n[0], "b", state, sizeof state),
			 "quorum");

	sql_within(&n[0], "INSERT INTO t VALUES (1001)");
	acked = flushed_lsn(&n[0]);
	/* b's walsender cannot apply the reload (stopped): b still counts
	 * in the quorum, so there is no X yet, whatever the wait */
	ws_b = (int)count_rows(&n[0], "SELECT pid FROM pg_stat_replication"
				      " WHERE application_name = 'b'");
	ck_assert_int_gt(ws_b, 0);
	n[0].cfg.timeout_s = 2;
	reinit_engine(&n[0]);
	ck_assert_int_eq(kill(ws_b, SIGSTOP), 0);
	rv = set_names(&n[0], only_c, 1, &x);
	ck_assert_int_eq(kill(ws_b, SIGCONT), 0);
	ck_assert_msg(rv == BATON_ETIMEDOUT, "%s: %s", baton_errname(rv),
		      n[0].e.errmsg);
	ck_assert_msg(strstr(n[0].e.errmsg, "standby b, no longer listed, is "
					    "still 'quorum'") != NULL,
		      "%s", n[0].e.errmsg);
	ck_assert_uint_eq(x, 0);
	/* once it runs, the same order completes */
	must(&n[0], set_names(&n[0], only_c, 1, &x));
	ck_assert_str_eq(sync_state_of(&n[0], "b", state, sizeof state),
			 "async");
	ck_assert_str_eq(sync_state_of(&n[0], "c", state, sizeof state),
			 "quorum");
	ck_assert_uint_ge(x, acked);
	ck_assert_uint_le(x, flushed_lsn(&n[0]));
	snprintf(path, sizeof path, "%s/baton.conf", n[0].datadir);
	ck_assert(file_holds(path, "synchronous_standby_names = 'ANY 1 "
				   "(\"c\")'"));
	st = status_of(&n[0]); /* the flush positions, for the answer */
	ck_assert(lists(st.standby_names, st.n_standby_names, "c"));
	for (unsigned k = 0; k < st.n_standby_names; k++) {
		ck_assert_uint_gt(st.standby_flush[k], 0);
	}

	/* b stopped: c alone acknowledges */
	must(&n[1], n[1].e.ops->stop(&n[1].e, true));
	w = commit_async(&n[0], "INSERT INTO t VALUES (1002)");
	ck_assert_msg(!still_waiting(w, 10000), "a commit waited for b");
	commit_succeeded(w);

	/* b streams again (unlisted: async), c stopped: a commit waits */
	must(&n[1], n[1].e.ops->start(&n[1].e));
	wait_streaming_to(&n[0], "b");
	ck_assert_str_eq(sync_state_of(&n[0], "b", state, sizeof state),
			 "async");
	must(&n[2], n[2].e.ops->stop(&n[2].e, true));
	w = commit_async(&n[0], "INSERT INTO t VALUES (1003)");
	ck_assert_msg(still_waiting(w, 2000), "a commit went through with "
					      "no listed standby");
	/* b listed again: it releases the waiting commit */
	must(&n[0], set_names(&n[0], b_and_c, 2, &x));
	ck_assert_msg(!still_waiting(w, 10000), "b did not release the commit");
	commit_succeeded(w);
	ck_assert_int_eq(count_rows(&n[0], "SELECT count(*) FROM t"), 103);

	/* a replica records the list, keeps streaming, reports no X */
	must(&n[1], set_names(&n[1], only_c, 1, &x));
	ck_assert_uint_eq(x, 0);
	snprintf(path, sizeof path, "%s/baton.conf", n[1].datadir);
	ck_assert(file_holds(path, "'ANY 1 (\"c\")'"));
	ck_assert(file_holds(path, "primary_conninfo"));
	wait_replayed(&n[0], &n[1]);

	/* what cannot be a list */
	ck_assert_int_eq(set_names(&n[0], wild, 2, &x), BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(n[0].e.errmsg, "'*'"));
	for (unsigned k = 0; k < BATON_ENGINE_MAX_STANDBYS + 1; k++) {
		many[k] = "c";
	}
	ck_assert_int_eq(
	    set_names(&n[0], many, BATON_ENGINE_MAX_STANDBYS + 1, &x),
	    BATON_EINVAL);
	snprintf(path, sizeof path, "%s/baton.conf", n[0].datadir);
	ck_assert(file_holds(path, "'ANY 1 (\"b\",\"c\")'"));
	(void)pb;
	pgt_cleanup(dir, n, 3);
}
END_TEST

static Suite *pg_suite(void)
{
	Suite *s = suite_create("pg_engine");
	TCase *tc = tcase_create("roles");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, NULL, pgt_reap);
	tcase_add_test(tc, promote_fence_rejoin_cycles);
	tcase_add_test(tc, bad_input_gives_clear_errors);
	tcase_add_test(tc, half_done_rewind_clones_again);
	tcase_add_test(tc, rewind_failure_decisions);
	tcase_add_test(tc, rejoin_waits_for_a_promoted_source);
	tcase_add_test(tc, one_session_between_operations);
	tcase_add_test(tc, promote_starts_a_stopped_instance);
	tcase_add_test(tc, wal_segment_size_set_at_init);
	tcase_add_test(tc, a_standby_follows_the_new_primary_without_a_restart);
	tcase_add_test(
	    tc, a_cascading_standby_follows_the_target_and_never_gets_ahead);
	tcase_add_test(tc, a_detached_standby_follows_a_promoting_target);
	tcase_add_test(tc, secrets_stay_off_argv_environ_and_datadir);
	tcase_add_test(tc, local_socket_admits_only_the_agent);
	suite_add_tcase(s, tc);
	tc = tcase_create("stop");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, NULL, pgt_reap);
	tcase_add_test(tc, a_silent_client_does_not_hold_a_stop);
	suite_add_tcase(s, tc);
	tc = tcase_create("sync_names");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, NULL, pgt_reap);
	tcase_add_test(tc, set_sync_names_releases_removed_standbys);
	suite_add_tcase(s, tc);

	tc = tcase_create("crash");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, NULL, pgt_reap);
	tcase_add_test(tc, sync_kill9_loses_nothing);
	tcase_add_test(tc, async_kill9_reports_loss);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(pg_suite)
