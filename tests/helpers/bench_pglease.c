/* bench_pglease: what the baton_lease module costs per commit.
 *
 *   build/plain/tests/helpers/bench_pglease [SECONDS] [ROUNDS]
 *
 * Two primaries started by the engine, one loading the module (a valid
 * lease in its file throughout), one without it, benchmarked in turns (ABBA
 * per round, so a drift of the machine hits both sides). pgbench, one
 * client over the Unix socket, prepared statements, SECONDS per run:
 *   insert, async   one-row INSERT per transaction, synchronous_commit off:
 *                   the commit is CPU only, the worst case for the check;
 *   tpcb-N, async   pgbench's simple-update (UPDATE, SELECT, INSERT);
 *   insert, fsync   the one-row INSERT with synchronous_commit on.
 * Prints, per side, median tps and the median and best latency, and their
 * differences: the overhead per commit. On a busy machine the run-to-run
 * spread of wall-clock numbers (printed) is far larger than the check
 * itself (~0.1 us, see test_engine_leasefile's check_cost), so it also
 * measures what contention hardly moves: the CPU time the server backend
 * spends per one-row INSERT commit (/proc/PID/schedstat, COMMITS commits
 * over one connection, synchronous_commit off). Asserts nothing. The module is
 * the one next to this binary ($(BUILD)/lib/baton_lease.so). Run as root (the
 * server runs as postgres).
 */
#include <libgen.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "engine/engine.h"
#include "engine/leasefile.h"

#define BINDIR "/usr/lib/postgresql/15/bin"
#define MAX_ROUNDS 16

struct node {
	char datadir[256];
	char sockdir[256];
	int port;
	struct baton_pg_config cfg;
	struct baton_engine e;
};

static void die(const char *what, struct baton_engine *e)
{
	fprintf(stderr, "bench_pglease: %s: %s\n", what, e ? e->errmsg : "");
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

static void node_init(struct node *n, const char *dir, const char *name,
		      const char *so, const char *lease)
{
	snprintf(n->datadir, sizeof n->datadir, "%s/%s", dir, name);
	snprintf(n->sockdir, sizeof n->sockdir, "%s", dir);
	n->port = free_port();
	n->cfg = (struct baton_pg_config){.bindir = BINDIR,
					  .datadir = n->datadir,
					  .host = "127.0.0.1",
					  .port = n->port,
					  .name = name,
					  .socket_dir = n->sockdir,
					  .run_as = "postgres",
					  .repl_user = "baton_repl",
					  .repl_password = "bench",
					  .lease_module = so,
					  .lease_file = lease};
	if (baton_pg_engine_init(&n->e, &n->cfg) != 0 ||
	    n->e.ops->init_primary(&n->e) != 0 ||
	    n->e.ops->unfence(&n->e) != 0) {
		die("init", &n->e);
	}
}

static void psql(struct node *n, const char *sql)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "%s/psql -qX -h %s -p %d -U postgres -d postgres "
		 "-v ON_ERROR_STOP=1 -c \"%s\" >/dev/null",
		 BINDIR, n->sockdir, n->port, sql);
	if (system(cmd) != 0) {
		die(sql, NULL);
	}
}

struct result {
	double tps, latency_ms;
};

/* One pgbench run: ARGS are the workload's own arguments. */
static struct result pgbench(struct node *n, const char *sync_commit,
			     const char *args, int seconds)
{
	char cmd[1024], line[512];
	struct result r = {0, 0};
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "PGOPTIONS='-c synchronous_commit=%s' %s/pgbench -n -c 1 -j 1 "
		 "-M prepared -T %d -h %s -p %d -U postgres %s postgres 2>&1",
		 sync_commit, BINDIR, seconds, n->sockdir, n->port, args);
	p = popen(cmd, "r");
	if (p == NULL) {
		die("pgbench", NULL);
	}
	while (fgets(line, sizeof line, p) != NULL) {
		char *v;
		if ((v = strstr(line, "tps = ")) != NULL) {
			r.tps = strtod(v + 6, NULL);
		} else if ((v = strstr(line, "latency average = ")) != NULL) {
			r.latency_ms = strtod(v + 18, NULL);
		}
	}
	if (pclose(p) != 0 || r.tps <= 0) {
		die("pgbench failed", NULL);
	}
	return r;
}

/* Nanoseconds PID has run on a CPU. */
static double cpu_ns(int pid)
{
	char path[64];
	double ns = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
	f = fopen(path, "r");
	if (f == NULL || fscanf(f, "%lf", &ns) != 1) {
		die("schedstat", NULL);
	}
	fclose(f);
	return ns;
}

#define COMMITS 20000

/* Backend CPU microseconds per one-row INSERT commit on N. */
static double backend_us_per_commit(struct node *n)
{
	char ci[512];
	PGconn *c;
	PGresult *r;
	double t0 = 0, t1;
	int pid;

	snprintf(ci, sizeof ci,
		 "host=%s port=%d user=postgres dbname=postgres "
		 "options='-c synchronous_commit=off'",
		 n->sockdir, n->port);
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK) {
		die(PQerrorMessage(c), NULL);
	}
	r = PQprepare(c, "ins", "INSERT INTO bench_ins VALUES (1)", 0, NULL);
	PQclear(r);
	pid = PQbackendPID(c);
	for (int i = 0; i < COMMITS + 1000; i++) {
		if (i == 1000) { /* after a warm-up */
			t0 = cpu_ns(pid);
		}
		r = PQexecPrepared(c, "ins", 0, NULL, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			die(PQerrorMessage(c), NULL);
		}
		PQclear(r);
	}
	t1 = cpu_ns(pid);
	PQfinish(c);
	return (t1 - t0) / COMMITS / 1000;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 5;
	int rounds = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
	char dir[64] = "/tmp/baton-bench-pglease-XXXXXX";
	char exe[512], so[600], lease[128], script[128], cmd[1400];
	char errmsg[BATON_ERRMSG_SIZE];
	struct passwd *pw = getpwnam("postgres");
	struct baton_leasefile lf;
	struct node n[2];
	ssize_t len;
	FILE *f;
	static const struct {
		const char *name, *sync;
		bool insert; /* the one-row INSERT script, or -N */
	} work[] = {
	    {"insert, synchronous_commit off", "off", true},
	    {"tpcb-like -N, synchronous_commit off", "off", false},
	    {"insert, synchronous_commit on", "on", true},
	};
	enum { N_WORK = sizeof work / sizeof work[0] };
	double tps[N_WORK][2][MAX_ROUNDS], lat[N_WORK][2][MAX_ROUNDS];
	double cpu[2][MAX_ROUNDS];

	if (seconds < 1 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr,
			"usage: bench_pglease [SECONDS] [ROUNDS 1..%d]\n",
			MAX_ROUNDS);
		return 2;
	}
	baton_log_set_level(BATON_LOG_WARN);
	len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0) {
		die("/proc/self/exe", NULL);
	}
	exe[len] = '\0';
	/* BUILD/tests/helpers/bench_pglease -> BUILD/lib/baton_lease.so */
	snprintf(so, sizeof so, "%s/../../lib/baton_lease.so", dirname(exe));
	if (access(so, R_OK) != 0) {
		fprintf(stderr, "bench_pglease: %s missing (make all)\n", so);
		return 1;
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0 ||
	    (geteuid() == 0 &&
	     (pw == NULL || chown(dir, pw->pw_uid, pw->pw_gid) != 0))) {
		die("temp dir", NULL);
	}
	snprintf(cmd, sizeof cmd, "cp '%s' %s/baton_lease.so", so, dir);
	if (system(cmd) != 0) {
		die("copy the module", NULL);
	}
	snprintf(so, sizeof so, "%s/baton_lease.so", dir);
	snprintf(lease, sizeof lease, "%s/lease", dir);
	snprintf(script, sizeof script, "%s/insert.sql", dir);
	f = fopen(script, "w");
	if (f == NULL) {
		die("script", NULL);
	}
	fputs("INSERT INTO bench_ins VALUES (1);\n", f);
	fclose(f);
	if (baton_leasefile_open(&lf, lease, errmsg) != 0) {
		fprintf(stderr, "bench_pglease: %s\n", errmsg);
		return 1;
	}
	/* a day: no renewal needed during the runs */
	baton_leasefile_set(&lf, 1, baton_boottime_ns() + 86400000000000ull);

	node_init(&n[1], dir, "with", so, lease);
	node_init(&n[0], dir, "without", NULL, NULL);
	for (int i = 0; i < 2; i++) {
		psql(&n[i], "CREATE TABLE bench_ins (x int)");
		snprintf(cmd, sizeof cmd,
			 "%s/pgbench -q -i -s 1 -h %s -p %d -U postgres "
			 "postgres >/dev/null 2>&1",
			 BINDIR, n[i].sockdir, n[i].port);
		if (system(cmd) != 0) {
			die("pgbench -i", NULL);
		}
	}

	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < 2; k++) {
			int with = (r + k) % 2 == 0;
			cpu[with][r] = backend_us_per_commit(&n[with]);
		}
		for (int w = 0; w < N_WORK; w++) {
			char args[256];
			snprintf(args, sizeof args, "%s%s",
				 work[w].insert ? "-f " : "-N",
				 work[w].insert ? script : "");
			/* ABBA: with first in even rounds */
			for (int k = 0; k < 2; k++) {
				int with = (r + k) % 2 == 0;
				struct result res = pgbench(
				    &n[with], work[w].sync, args, seconds);
				tps[w][with][r] = res.tps;
				lat[w][with][r] = res.latency_ms;
			}
		}
	}

	printf("pgbench, 1 client, %d s per run, %d rounds (module loaded "
	       "with a valid lease / no module):\n",
	       seconds, rounds);
	for (int w = 0; w < N_WORK; w++) {
		double t1 = median(tps[w][1], rounds);
		double t0 = median(tps[w][0], rounds);
		double l1 = median(lat[w][1], rounds);
		double l0 = median(lat[w][0], rounds);
		/* sorted by median() */
		double b1 = lat[w][1][0], b0 = lat[w][0][0];
		double w0 = lat[w][0][rounds - 1];
		printf("  %s\n"
		       "    median %8.0f / %8.0f tps, %7.4f / %7.4f ms: "
		       "%+7.2f us/commit (%+.1f%%)\n"
		       "    best   %7.4f / %7.4f ms: %+7.2f us/commit "
		       "(%+.1f%%); no-module runs spread %.4f..%.4f ms\n",
		       work[w].name, t1, t0, l1, l0, (l1 - l0) * 1000,
		       (l1 - l0) / l0 * 100, b1, b0, (b1 - b0) * 1000,
		       (b1 - b0) / b0 * 100, b0, w0);
	}

	{
		double c1 = median(cpu[1], rounds), c0 = median(cpu[0], rounds);
		printf("backend CPU per one-row INSERT commit (%d commits, "
		       "median of %d): %.2f / %.2f us: %+.2f us/commit "
		       "(%+.1f%%); best %.2f / %.2f us\n",
		       COMMITS, rounds, c1, c0, c1 - c0, (c1 - c0) / c0 * 100,
		       cpu[1][0], cpu[0][0]);
	}

	for (int i = 0; i < 2; i++) {
		n[i].e.ops->stop(&n[i].e, true);
		baton_engine_destroy(&n[i].e);
	}
	baton_leasefile_close(&lf);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot remove %s\n", dir);
	}
	return 0;
}
