/* See pg_cluster.h. */
#include "pg_cluster.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double pgt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void pgt_require_binaries(void)
{
	const char *tools[] = {"initdb",	"pg_ctl",    "postgres",
			       "pg_basebackup", "pg_rewind", "pg_controldata"};
	for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
		char path[256];
		snprintf(path, sizeof path, "%s/%s", PGT_BINDIR, tools[i]);
		ck_assert_msg(access(path, X_OK) == 0,
			      "PostgreSQL binary %s is missing: install "
			      "postgresql-15 (make deps)",
			      path);
	}
	if (geteuid() == 0) {
		ck_assert_msg(getpwnam("postgres") != NULL,
			      "running as root needs a postgres OS user");
	}
}

/* Servers a forked test left behind (a failed ck_assert or a timeout ends
 * the child without its cleanup): the runner process reaps every temp dir
 * named after it, as an unchecked teardown. */
void pgt_reap(void)
{
	char cmd[1024];
	snprintf(
	    cmd, sizeof cmd,
	    "for d in /tmp/baton-pg-%d-*/*/; do [ -f \"$d/postmaster.pid\" ] "
	    "&& runuser -u postgres -- %s/pg_ctl -D \"$d\" stop -m "
	    "immediate >/dev/null 2>&1; done; rm -rf /tmp/baton-pg-%d-*",
	    (int)getpid(), PGT_BINDIR, (int)getpid());
	if (system(cmd) != 0) {
		fprintf(stderr, "pgt_reap failed\n");
	}
}

void pgt_tmpdir(char *out, size_t size)
{
	struct passwd *pw = getpwnam("postgres");
	/* named after the runner (our parent under CK_FORK): see pgt_reap */
	snprintf(out, size, "/tmp/baton-pg-%d-XXXXXX", (int)getppid());
	ck_assert_ptr_nonnull(mkdtemp(out));
	ck_assert_int_eq(chmod(out, 0755), 0);
	if (geteuid() == 0 && pw != NULL) {
		ck_assert_int_eq(chown(out, pw->pw_uid, pw->pw_gid), 0);
	}
}

/* A port PostgreSQL can bind a moment later. Picked below the ephemeral
 * range: a port the kernel hands out for bind(0) is one any outgoing
 * connection may take between this pick and the server's bind (CI lost a
 * region start that way). Ports already handed out by this process are
 * not handed out again. */
int pgt_free_port(void)
{
	static int given[64];
	static size_t ngiven;
	static pid_t seeded;
	unsigned eph_low = 32768, x;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f != NULL) {
		if (fscanf(f, "%u", &x) == 1 && x > 21000 && x <= 65535) {
			eph_low = x;
		}
		fclose(f);
	}
	if (seeded !=
	    getpid()) { /* check forks each test: reseed per process */
		seeded = getpid();
		srandom((unsigned)seeded ^ (unsigned)time(NULL));
	}
	for (int tries = 0; tries < 1000; tries++) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		int port = 20000 + (int)(random() % (eph_low - 20000));
		bool dup = false;
		int fd;

		for (size_t i = 0; i < ngiven; i++) {
			dup = dup || given[i] == port;
		}
		if (dup) {
			continue;
		}
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)port);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(fd, 0);
		if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0) {
			close(fd);
			given[ngiven++ % 64] = port;
			return port;
		}
		close(fd);
	}
	ck_abort_msg("no free port below %u", eph_low);
	return -1;
}

void pgt_node_init(struct pgt_node *n, const char *dir, const char *name,
		   bool synchronous, const char *sync_names)
{
	memset(n, 0, sizeof *n);
	snprintf(n->name, sizeof n->name, "%s", name);
	snprintf(n->datadir, sizeof n->datadir, "%s/%s", dir, name);
	snprintf(n->sockdir, sizeof n->sockdir, "%s", dir);
	n->port = pgt_free_port();
	n->cfg = (struct baton_pg_config){
	    .bindir = PGT_BINDIR,
	    .datadir = n->datadir,
	    .host = "127.0.0.1",
	    .port = n->port,
	    .name = n->name,
	    .socket_dir = n->sockdir,
	    .run_as = "postgres",
	    .repl_user = "baton_repl",
	    .repl_password = PGT_REPL_PASSWORD,
	    .synchronous = synchronous,
	    .sync_names = sync_names,
	    .timeout_s = 30,
	};
	ck_assert_int_eq(baton_pg_engine_init(&n->e, &n->cfg), 0);
}

int pgt_exec(const struct pgt_node *n, const char *sql, char *out,
	     size_t out_size, char *err, size_t err_size)
{
	char conninfo[512];
	PGconn *c;
	PGresult *r;
	int rv = 0;

	snprintf(conninfo, sizeof conninfo,
		 "host=%s port=%d user=postgres dbname=postgres "
		 "connect_timeout=3",
		 n->sockdir, n->port);
	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		if (err) {
			snprintf(err, err_size, "%s", PQerrorMessage(c));
		}
		PQfinish(c);
		return -1;
	}
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		if (err) {
			snprintf(err, err_size, "%s", PQerrorMessage(c));
		}
		rv = -1;
	} else if (out != NULL) {
		out[0] = '\0';
		if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
			snprintf(out, out_size, "%s", PQgetvalue(r, 0, 0));
		}
	}
	PQclear(r);
	PQfinish(c);
	return rv;
}

void pgt_kill9(struct pgt_node *n)
{
	int pm = baton_pg_postmaster_pid(&n->e);
	DIR *d;
	struct dirent *de;

	ck_assert_int_gt(pm, 0);
	kill(pm, SIGKILL);
	/* children (backends, walsenders): find them by parent pid */
	d = opendir("/proc");
	while (d != NULL && (de = readdir(d)) != NULL) {
		char path[300], buf[512];
		FILE *f;
		int pid = (int)strtol(de->d_name, NULL, 10);
		if (pid <= 0) {
			continue;
		}
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		if (fgets(buf, sizeof buf, f) != NULL) {
			char *p = strrchr(buf, ')');
			int ppid = 0;
			if (p != NULL && sscanf(p + 2, "%*c %d", &ppid) == 1 &&
			    ppid == pm) {
				kill(pid, SIGKILL);
			}
		}
		fclose(f);
	}
	if (d != NULL) {
		closedir(d);
	}
	for (int i = 0; i < 200 && kill(pm, 0) == 0; i++) {
		usleep(10000);
	}
}

void pgt_cleanup(const char *dir, struct pgt_node *nodes, int n)
{
	char cmd[512];
	for (int i = 0; i < n; i++) {
		if (nodes[i].e.ops != NULL) {
			nodes[i].e.ops->stop(&nodes[i].e, true);
			baton_engine_destroy(&nodes[i].e);
		}
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot remove %s\n", dir);
	}
}

void pgt_lease_module_copy(const char *dir, char *out, size_t size)
{
	char exe[512], src[600], cmd[1400];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	/* BUILD/itests/itest_x -> BUILD/lib/baton_lease.so */
	snprintf(src, sizeof src, "%s/../lib/baton_lease.so", dirname(exe));
	ck_assert_msg(access(src, R_OK) == 0,
		      "%s is missing: build it (make unit-build)", src);
	snprintf(out, size, "%s/baton_lease.so", dir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 644 '%s'", src, out,
		 out);
	ck_assert_int_eq(system(cmd), 0);
}

/* All of PATH (a /proc file or a data file) in a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *buf;
	ssize_t r;

	*len = 0;
	if (fd < 0) {
		return NULL;
	}
	buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			char *bigger = realloc(buf, cap * 2);
			ck_assert_ptr_nonnull(bigger);
			buf = bigger;
			cap *= 2;
		}
	}
	close(fd);
	*len = n;
	return buf;
}

bool pgt_proc_holds(int pid, const char *needle, char *where, size_t size)
{
	const char *files[] = {"cmdline", "environ"};
	for (size_t i = 0; i < 2; i++) {
		char path[64];
		size_t len;
		char *buf;
		bool hit;

		snprintf(path, sizeof path, "/proc/%d/%s", pid, files[i]);
		buf = slurp(path, &len);
		hit = buf != NULL && memmem(buf, len, needle, strlen(needle));
		free(buf);
		if (hit) {
			if (where != NULL) {
				snprintf(where, size, "%s", files[i]);
			}
			return true;
		}
	}
	return false;
}

int pgt_server_proc_holds(struct pgt_node *n, const char *needle)
{
	int pm = baton_pg_postmaster_pid(&n->e);
	DIR *d;
	struct dirent *de;
	int found = 0;

	ck_assert_int_gt(pm, 0);
	if (pgt_proc_holds(pm, needle, NULL, 0)) {
		return pm;
	}
	d = opendir("/proc");
	while (d != NULL && found == 0 && (de = readdir(d)) != NULL) {
		char path[300], buf[512];
		FILE *f;
		int pid = (int)strtol(de->d_name, NULL, 10);
		int ppid = 0;
		if (pid <= 0) {
			continue;
		}
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		if (fgets(buf, sizeof buf, f) != NULL) {
			char *p = strrchr(buf, ')');
			if (p != NULL && sscanf(p + 2, "%*c %d", &ppid) == 1 &&
			    ppid == pm &&
			    pgt_proc_holds(pid, needle, NULL, 0)) {
				found = pid;
			}
		}
		fclose(f);
	}
	if (d != NULL) {
		closedir(d);
	}
	return found;
}

static const char *tree_needle;
static char tree_found[512];

static int tree_cb(const char *path, const struct stat *sb, int flag,
		   struct FTW *ftw)
{
	size_t len;
	char *buf;
	bool hit;

	(void)ftw;
	if (flag != FTW_F || !S_ISREG(sb->st_mode)) {
		return 0;
	}
	buf = slurp(path, &len);
	hit = buf != NULL &&
	      memmem(buf, len, tree_needle, strlen(tree_needle)) != NULL;
	free(buf);
	if (hit) {
		snprintf(tree_found, sizeof tree_found, "%s", path);
		return 1;
	}
	return 0;
}

bool pgt_tree_holds(const char *root, const char *needle, char *found,
		    size_t size)
{
	int rv;

	tree_needle = needle;
	tree_found[0] = '\0';
	rv = nftw(root, tree_cb, 16, FTW_PHYS);
	ck_assert_msg(rv >= 0, "cannot walk %s", root);
	if (found != NULL) {
		snprintf(found, size, "%s", tree_found);
	}
	return rv == 1;
}
