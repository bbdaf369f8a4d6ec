/* bench_pg: role-change timings of the PostgreSQL engine on real servers.
 *
 *   build/san/tests/helpers/bench_pg [ROUNDS]
 *
 * Prints, per round and as min/median/max:
 *   promote->write   promote order (the primary is dead) -> first write
 *                    accepted by the promoted replica (promote + unfence);
 *   switchover gap   longest window with no acknowledged write while a
 *                    client writes continuously through a planned
 *                    switchover (it follows whichever instance accepts);
 *   fence            fence order -> first refused write, with a client
 *                    writing continuously on the primary.
 * Two instances on loopback ports under a temp dir; run as root (the
 * servers run as postgres) or as a user that can run postgres.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/engine.h"

#define BINDIR "/usr/lib/postgresql/15/bin"

struct node {
	char name[16];
	char datadir[256];
	char sockdir[256];
	int port;
	struct baton_pg_config cfg;
	struct baton_engine e;
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, struct baton_engine *e)
{
	fprintf(stderr, "bench_pg: %s: %s\n", what, e ? e->errmsg : "");
	exit(1);
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		die("no free port", NULL);
	}
	close(fd);
	return ntohs(a.sin_port);
}

static void node_init(struct node *n, const char *dir, const char *name)
{
	memset(n, 0, sizeof *n);
	snprintf(n->name, sizeof n->name, "%s", name);
	snprintf(n->datadir, sizeof n->datadir, "%s/%s", dir, name);
	snprintf(n->sockdir, sizeof n->sockdir, "%s", dir);
	n->port = free_port();
	n->cfg = (struct baton_pg_config){.bindir = BINDIR,
					  .datadir = n->datadir,
					  .host = "127.0.0.1",
					  .port = n->port,
					  .name = n->name,
					  .socket_dir = n->sockdir,
					  .run_as = "postgres",
					  .repl_user = "baton_repl",
					  .repl_password = "bench",
					  .max_lag_bytes = -1};
	if (baton_pg_engine_init(&n->e, &n->cfg) != 0) {
		die("engine init", &n->e);
	}
}

static PGconn *connect_node(const struct node *n)
{
	char ci[512];
	snprintf(ci, sizeof ci,
		 "host=%s port=%d user=postgres dbname=postgres "
		 "connect_timeout=2",
		 n->sockdir, n->port);
	return PQconnectdb(ci);
}

static int write_once(const struct node *n)
{
	PGconn *c = connect_node(n);
	int ok = 0;
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *r = PQexec(c, "INSERT INTO b VALUES (1)");
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
	}
	PQfinish(c);
	return ok;
}

static void must(int rv, struct node *n, const char *what)
{
	if (rv != 0) {
		die(what, &n->e);
	}
}

/* ---- a writer that follows whichever instance accepts -------------------- */

struct writer {
	struct node *nodes[2];
	atomic_int stop;
	double last_ok;
	double max_gap;
	long acked;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;
	PGconn *c = NULL;
	int cur = 0;

	w->last_ok = now_ms();
	while (!atomic_load(&w->stop)) {
		if (c == NULL || PQstatus(c) != CONNECTION_OK) {
			PQfinish(c);
			c = connect_node(w->nodes[cur]);
		}
		PGresult *r = PQexec(c, "INSERT INTO b VALUES (1)");
		if (PQresultStatus(r) == PGRES_COMMAND_OK) {
			double t = now_ms();
			if (t - w->last_ok > w->max_gap) {
				w->max_gap = t - w->last_ok;
			}
			w->last_ok = t;
			w->acked++;
		} else {
			/* refused or gone: try the other instance */
			PQfinish(c);
			c = NULL;
			cur = 1 - cur;
			usleep(1000);
		}
		PQclear(r);
	}
	PQfinish(c);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	printf("%-40s min %7.1f ms  median %7.1f ms  max %7.1f ms\n", what,
	       v[0], v[n / 2], v[n - 1]);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 3;
	char dir[64] = "/tmp/baton-bench-XXXXXX";
	struct node n[2];
	struct baton_engine_peer peer[2];
	double promote[16], gap[16], fence[16];
	struct passwd *pw = getpwnam("postgres");

	if (rounds < 1 || rounds > 16) {
		fprintf(stderr, "usage: bench_pg [ROUNDS 1..16]\n");
		return 2;
	}
	if (access(BINDIR "/postgres", X_OK) != 0) {
		fprintf(stderr, "bench_pg: %s/postgres missing\n", BINDIR);
		return 1;
	}
	baton_log_set_level(BATON_LOG_WARN);
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0 ||
	    (geteuid() == 0 &&
	     (pw == NULL || chown(dir, pw->pw_uid, pw->pw_gid) != 0))) {
		die("temp dir", NULL);
	}
	node_init(&n[0], dir, "a");
	node_init(&n[1], dir, "b");
	peer[0] = (struct baton_engine_peer){"127.0.0.1", n[0].port};
	peer[1] = (struct baton_engine_peer){"127.0.0.1", n[1].port};
	must(n[0].e.ops->init_primary(&n[0].e), &n[0], "init primary");
	must(n[0].e.ops->unfence(&n[0].e), &n[0], "unfence");
	{
		PGconn *c = connect_node(&n[0]);
		PQclear(PQexec(c, "CREATE TABLE b (x int)"));
		PQfinish(c);
	}
	must(n[1].e.ops->init_replica(&n[1].e, &peer[0]), &n[1],
	     "init replica");

	int p = 0; /* index of the current primary */
	for (int i = 0; i < rounds; i++) {
		int q = 1 - p;
		struct writer w = {.nodes = {&n[p], &n[q]}};
		pthread_t th;
		struct baton_switchover_result res;
		double t0;

		/* fence: order -> first refused write */
		usleep(200 * 1000);
		fence[i] = -1;
		t0 = now_ms();
		must(n[p].e.ops->fence(&n[p].e), &n[p], "fence");
		for (double t = now_ms(); t < t0 + 5000; t = now_ms()) {
			if (!write_once(&n[p])) {
				fence[i] = t - t0;
				break;
			}
		}
		must(n[p].e.ops->unfence(&n[p].e), &n[p], "unfence");

		/* switchover p -> q under a write load */
		pthread_create(&th, NULL, writer_thread, &w);
		usleep(300 * 1000);
		must(baton_engine_switchover(&n[p].e, &n[q].e, 10000, &res),
		     &n[q], "switchover");
		usleep(300 * 1000);
		atomic_store(&w.stop, 1);
		pthread_join(th, NULL);
		gap[i] = w.max_gap;
		printf(
		    "round %d: switchover %s->%s: engine says unavailable "
		    "%.1f ms (fence+stop %.1f, catch-up %.1f, promote %.1f); "
		    "client saw a %.1f ms gap, %ld writes\n",
		    i + 1, n[p].name, n[q].name, res.unavailable_ms,
		    res.fence_ms, res.catchup_ms, res.promote_ms, w.max_gap,
		    w.acked);
		must(n[p].e.ops->rejoin(&n[p].e, &peer[q]), &n[p], "rejoin");

		/* failover: kill -9 the new primary q, promote p */
		usleep(300 * 1000);
		int pid = baton_pg_postmaster_pid(&n[q].e);
		char cmd[96];
		kill(pid, SIGKILL);
		/* its children notice the postmaster's death; make it quick */
		snprintf(cmd, sizeof cmd, "pkill -KILL -P %d", pid);
		if (system(cmd) < 0) {
			die("pkill", NULL);
		}
		usleep(100 * 1000);
		t0 = now_ms();
		must(n[p].e.ops->promote(&n[p].e, 0), &n[p], "promote");
		must(n[p].e.ops->unfence(&n[p].e), &n[p], "unfence");
		while (!write_once(&n[p]) && now_ms() < t0 + 10000) {
		}
		promote[i] = now_ms() - t0;
		/* q comes back as a replica of p (crash-recovered + rewound) */
		must(n[q].e.ops->stop(&n[q].e, true), &n[q], "stop");
		must(n[q].e.ops->rejoin(&n[q].e, &peer[p]), &n[q], "rejoin");
	}
	printf("\n");
	report("promote order -> first accepted write", promote, rounds);
	report("switchover write-unavailability window", gap, rounds);
	report("fence order -> writes refused", fence, rounds);

	n[0].e.ops->stop(&n[0].e, true);
	n[1].e.ops->stop(&n[1].e, true);
	baton_engine_destroy(&n[0].e);
	baton_engine_destroy(&n[1].e);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_pg: cannot remove %s\n", dir);
	}
	return 0;
}
