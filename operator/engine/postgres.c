/* PostgreSQL behind engine.h.
 *
 * Why blocking calls on the threadpool and not async libpq on the loop:
 * half of every role change is an external tool (initdb, pg_basebackup,
 * pg_ctl, pg_rewind, pg_controldata) that blocks anyway, and the SQL half is
 * a handful of short statements with connect_timeout and statement_timeout
 * set. One straight-line function per role change is easier to read and to
 * prove than a state machine of PQconnectPoll callbacks, and the loop never
 * blocks because baton_engine_submit() runs these functions in a worker.
 *
 * Layout on disk. Everything Baton decides lives in DATADIR/baton.conf,
 * included from postgresql.conf, and is rewritten after pg_basebackup and
 * pg_rewind (both copy the source's files): listen address, port, socket
 * directory, replication settings, primary_conninfo. The fence is
 * `ALTER SYSTEM SET default_transaction_read_only = on` (in
 * postgresql.auto.conf), so it survives a restart: a rebooted instance
 * comes back read-only until its agent unfences it.
 *
 * With a lease module configured, every start writes into baton.conf
 * the lines that load baton_lease (pg_lease/baton_lease.c) and name the
 * agent's lease file: then the server itself refuses to commit writes once
 * the lease ends, whatever the agent does or fails to do. Only an init's
 * first start runs without it, to create the replication role before any
 * lease can exist.
 *
 * Secrets. The replication password never goes on a command line (every
 * process of the pod reads /proc/<pid>/cmdline), into a child's
 * environment (the server inherits pg_ctl's, and /proc/<pid>/environ is
 * readable by the same user), or into a file inside DATADIR (base backups
 * copy it, logs included). It lives in one place on disk: a passfile
 * (PGPASSFILE format, 0600, the server's user) in a private directory
 * outside DATADIR, SECRETS_DIR. pg_basebackup gets PGPASSFILE, pg_rewind's
 * --source-server and primary_conninfo get passfile=, and the replication
 * role is created from a SCRAM verifier computed here, so the server never
 * sees (or logs) the cleartext either.
 *
 * The local socket. The engine connects as the superuser over the Unix
 * socket. Its directory is 0700 and belongs to the server's user, and
 * the socket itself is 0700 (unix_socket_permissions): only that user and
 * root can connect(2) at all. pg_hba then asks the kernel who connected
 * (peer): pg_ident's map "baton" lets only the server's OS user, and root
 * when the agent runs as root, in as postgres, so another uid that reaches
 * the socket anyway (a directory opened up by a kubelet's fsGroup pass, a
 * sidecar in the volume's group) is refused. When the server's uid has no
 * user name (no passwd entry: peer cannot name it, and initdb would refuse
 * to run), the engine falls back to trust on that private socket, and
 * says so at start.
 *
 * When the agent runs as root, the tools run as cfg->run_as (postgres
 * refuses root): fork, setgid/setuid, exec. Between fork and exec the child
 * calls only async-signal-safe functions (the parent is multithreaded).
 */
#include "engine/engine.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "engine/procstate.h"

#define OUT_CAP 4096
#define MAX_ARGS 24

struct pg {
	char *bindir;
	char *datadir;
	char *host;
	int port;
	char *name;
	char *socket_dir;
	char *repl_user;
	char *repl_password; /* wiped before it is freed */
	char *secrets_dir;   /* absolute, outside datadir */
	char *log_dir;	     /* DATADIR.baton-log: the server's log */
	char *log_file;	     /* LOG_DIR/postgres.log */
	char *passfile;	     /* SECRETS_DIR/replication.pgpass */
	bool synchronous;
	char *sync_names;
	int max_wal_senders;
	int wal_segsize_mb; /* 0: initdb's default */
	/* syncfs(2) instead of an fsync per file after a crash or a rewind
	 * (baton_pg_syncfs_reports_errors) */
	bool syncfs;
	unsigned timeout_s;
	char *lease_module; /* NULL: no enforcement inside the server */
	char *lease_file;
	bool lease_off; /* init_primary: started without the module */
	bool switch_user;
	uid_t uid;
	gid_t gid;
	/* the server's OS user name for pg_ident (peer); NULL: unknown,
	 * trust on the private socket instead */
	char *os_user;
	/* One administrative session kept between operations (session_get,
	 * below): NULL when none is open; IN_USE while an operation holds
	 * it. Engine operations run one at a time (the agent submits
	 * the next one when the last answered), on a worker thread. */
	PGconn *session;
	bool session_in_use;
	char out[OUT_CAP]; /* the last tool's output (tail) */
};

static struct pg *PG(struct baton_engine *e)
{
	return e->impl;
}

static char *dupstr(const char *s)
{
	return strdup(s ? s : "");
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int baton_pg_parse_lsn(const char *s, uint64_t *out)
{
	unsigned hi, lo;
	char tail;
	if (s == NULL || sscanf(s, "%X/%X%c", &hi, &lo, &tail) != 2) {
		return BATON_EPARSE;
	}
	*out = ((uint64_t)hi << 32) | lo;
	return 0;
}

/* ---- running the tools -------------------------------------------------- */

/* Runs argv[0] (a path) with extra env (NULL-terminated "K=V" list), as
 * run_as when root. Captures stdout+stderr (tail) in pg->out. Returns the
 * exit status, or -1 if it could not run. */
static int run(struct pg *pg, char *const argv[], char *const extra_env[])
{
	char *envp[64];
	int n = 0;
	int fds[2];
	pid_t pid;
	int wstatus;
	size_t len = 0;
	extern char **environ;

	for (char **e = environ; *e != NULL && n < 40; e++) {
		/* a password the caller's environment carries never reaches
		 * a tool or the server, and our PGPASSFILE is the only one */
		if (strncmp(*e, "PGPASSWORD=", 11) == 0 ||
		    strncmp(*e, "PGPASSFILE=", 11) == 0 ||
		    strncmp(*e, "BATON_REPL_PASSWORD=", 20) == 0) {
			continue;
		}
		envp[n++] = *e;
	}
	for (int i = 0; extra_env != NULL && extra_env[i] != NULL && n < 62;
	     i++) {
		envp[n++] = extra_env[i];
	}
	envp[n] = NULL;
	pg->out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC) != 0) {
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0) {
			dup2(devnull, 0);
		}
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		if (pg->switch_user) {
			if (setgroups(0, NULL) != 0 || setgid(pg->gid) != 0 ||
			    setuid(pg->uid) != 0) {
				_exit(126);
			}
		}
		if (chdir("/tmp") != 0) {
			_exit(126);
		}
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char buf[1024];
		ssize_t r = read(fds[0], buf, sizeof buf);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			break;
		}
		/* keep the tail: that is where tools say what went wrong */
		if (len + (size_t)r >= OUT_CAP) {
			size_t drop = len + (size_t)r - (OUT_CAP - 1);
			if (drop > len) {
				drop = len;
			}
			memmove(pg->out, pg->out + drop, len - drop);
			len -= drop;
		}
		size_t k = (size_t)r < OUT_CAP - 1 - len ? (size_t)r
							 : OUT_CAP - 1 - len;
		memcpy(pg->out + len, buf, k);
		len += k;
		pg->out[len] = '\0';
	}
	close(fds[0]);
	while (waitpid(pid, &wstatus, 0) < 0) {
		if (errno != EINTR) {
			return -1;
		}
	}
	if (WIFEXITED(wstatus)) {
		return WEXITSTATUS(wstatus);
	}
	return 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
}

static void tool_path(struct pg *pg, const char *tool, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", pg->bindir, tool);
}

/* The last line of the tool's output that says something. */
static const char *out_summary(struct pg *pg)
{
	char *s = pg->out;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) {
		s[--n] = '\0';
	}
	char *fatal = strstr(s, "FATAL:");
	if (fatal == NULL) {
		fatal = strstr(s, "error:");
	}
	if (fatal != NULL) {
		return fatal;
	}
	char *nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

static int classify_conn_error(const char *msg)
{
	if (strstr(msg, "password authentication failed") != NULL ||
	    strstr(msg, "no password supplied") != NULL ||
	    strstr(msg, "no pg_hba.conf entry") != NULL) {
		return BATON_EFORBIDDEN;
	}
	if (strstr(msg, "could not connect") != NULL ||
	    strstr(msg, "Connection refused") != NULL ||
	    strstr(msg, "timeout expired") != NULL ||
	    strstr(msg, "No route to host") != NULL ||
	    strstr(msg, "connection to server") != NULL) {
		return BATON_ECONN;
	}
	return BATON_EENGINE;
}

/* ---- files --------------------------------------------------------------- */

static int write_file(struct baton_engine *e, const char *path,
		      const char *text, mode_t mode)
{
	struct pg *pg = PG(e);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		baton_errmsg_printf(e->errmsg, "cannot write %s: %s", path,
				    strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return BATON_EIO;
	}
	if (pg->switch_user && fchown(fd, pg->uid, pg->gid) != 0) {
		close(fd);
		baton_errmsg_printf(e->errmsg, "cannot chown %s", path);
		return BATON_EIO;
	}
	close(fd);
	return 0;
}

static bool file_exists(const char *dir, const char *name)
{
	char path[1024];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

static void conninfo_escape(const char *in, char *out, size_t n)
{
	size_t j = 0;
	for (; *in && j + 2 < n; in++) {
		if (*in == '\'' || *in == '\\') {
			out[j++] = '\\';
		}
		out[j++] = *in;
	}
	out[j] = '\0';
}

/* For a value inside a postgresql.conf '...' string: ' -> '', \ -> \\. */
static void conf_escape(const char *in, char *out, size_t n)
{
	size_t j = 0;
	for (; *in && j + 3 < n; in++) {
		if (*in == '\'') {
			out[j++] = '\'';
		} else if (*in == '\\') {
			out[j++] = '\\';
		}
		out[j++] = *in;
	}
	out[j] = '\0';
}

/* PATH as a directory only the server's user may enter: created 0700 when
 * missing; an existing one made 0700 again and, when we run as root, given
 * to the server's user (a kubelet's fsGroup pass, or an older agent, may
 * have opened it up). Refused: a symlink or anything but a directory, a
 * directory another user owns (as non-root we could not close it), and a
 * shared directory (sticky bit, like /tmp), which is never taken over. */
static int private_dir(struct baton_engine *e, const char *path)
{
	struct pg *pg = PG(e);
	struct stat st;
	int fd;
	int rv = 0;

	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		baton_errmsg_printf(e->errmsg, "cannot create %s: %s", path,
				    strerror(errno));
		return BATON_EIO;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		baton_errmsg_printf(e->errmsg,
				    "%s must be a directory (not a symlink): "
				    "%s",
				    path, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return BATON_ECONFIG;
	}
	if (st.st_mode & S_ISVTX) {
		baton_errmsg_printf(e->errmsg,
				    "%s is a shared directory (sticky bit, "
				    "like /tmp): give this instance a "
				    "directory of its own",
				    path);
		rv = BATON_ECONFIG;
	} else if (!pg->switch_user && st.st_uid != geteuid()) {
		baton_errmsg_printf(e->errmsg,
				    "%s belongs to uid %ld, not to the agent's "
				    "user (uid %ld): it cannot be made private",
				    path, (long)st.st_uid, (long)geteuid());
		rv = BATON_ECONFIG;
	} else if ((pg->switch_user &&
		    (st.st_uid != pg->uid || st.st_gid != pg->gid) &&
		    fchown(fd, pg->uid, pg->gid) != 0) ||
		   ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) != 0)) {
		baton_errmsg_printf(e->errmsg,
				    "cannot make %s private (mode 0700, owned "
				    "by the server's user): %s",
				    path, strerror(errno));
		rv = BATON_EIO;
	}
	close(fd);
	return rv;
}

/* IN as a passfile field: ':' and '\' escaped with '\'. */
static int passfile_field(const char *in, char *out, size_t n, size_t *used)
{
	for (; *in != '\0'; in++) {
		if (*used + 3 >= n) {
			return BATON_ETOOLARGE;
		}
		if (*in == ':' || *in == '\\') {
			out[(*used)++] = '\\';
		}
		out[(*used)++] = *in;
	}
	out[*used] = '\0';
	return 0;
}

/* SECRETS_DIR/replication.pgpass: the one line libpq needs, written to a
 * temporary file (0600, the server's user: libpq ignores a passfile
 * anyone else may read) and renamed over the old one, so a walreceiver
 * reconnecting meanwhile reads the old file or the new one, never half.
 * Host, port and database are '*': the same password serves every
 * primary this instance is ordered to follow, and the file serves only
 * the replication role. Written before every use (clone, rewind, start):
 * a rotated password or a lost directory is repaired by the next one. */
static int write_passfile(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char line[2200] = "*:*:*:";
	char tmp[1100];
	size_t used = strlen(line);
	ssize_t len;
	int fd;
	int rv;

	if ((rv = private_dir(e, pg->secrets_dir)) != 0) {
		return rv;
	}
	if (passfile_field(pg->repl_user, line, sizeof line, &used) != 0 ||
	    used + 2 >= sizeof line) {
		baton_errmsg_printf(e->errmsg,
				    "replication user name too long");
		return BATON_ETOOLARGE;
	}
	line[used++] = ':';
	if (passfile_field(pg->repl_password, line, sizeof line, &used) != 0 ||
	    used + 2 >= sizeof line) {
		explicit_bzero(line, sizeof line);
		baton_errmsg_printf(e->errmsg, "replication password too long");
		return BATON_ETOOLARGE;
	}
	line[used++] = '\n';
	snprintf(tmp, sizeof tmp, "%s.tmp", pg->passfile);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	len = fd >= 0 ? write(fd, line, used) : -1;
	explicit_bzero(line, sizeof line);
	if (fd < 0 || len != (ssize_t)used ||
	    (pg->switch_user && fchown(fd, pg->uid, pg->gid) != 0) ||
	    fchmod(fd, 0600) != 0) {
		baton_errmsg_printf(e->errmsg, "cannot write %s: %s", tmp,
				    strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return BATON_EIO;
	}
	close(fd);
	if (rename(tmp, pg->passfile) != 0) {
		baton_errmsg_printf(e->errmsg, "cannot rename %s to %s: %s",
				    tmp, pg->passfile, strerror(errno));
		unlink(tmp);
		return BATON_EIO;
	}
	return 0;
}

/* The standby list of 'ANY 1 (...)' from the comma-separated sync_names:
 * blanks trimmed, empty names and this instance's own name dropped (batond
 * passes every instance the names of all instances of the cluster), each
 * name quoted as an identifier ("" doubles a quote). Names of instances
 * that do not exist yet are fine: a commit waits for any one *connected*
 * standby of the list. OUT is "" when no other name is left; then commits
 * wait for no standby at all (ANY 1 () does not parse). */
static int sync_standby_list(struct baton_engine *e, char *out, size_t size)
{
	struct pg *pg = PG(e);
	const char *p = pg->sync_names;
	size_t used = 0;

	out[0] = '\0';
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *next = comma ? comma + 1 : p + len;

		while (len > 0 && isspace((unsigned char)*p)) {
			p++;
			len--;
		}
		while (len > 0 && isspace((unsigned char)p[len - 1])) {
			len--;
		}
		if (len > 0 && !(strlen(pg->name) == len &&
				 strncmp(p, pg->name, len) == 0)) {
			/* worst case: a comma, 2 quotes, every byte doubled */
			if (used + 3 + 2 * len >= size) {
				baton_errmsg_printf(e->errmsg,
						    "--sync-names is too long");
				return BATON_ETOOLARGE;
			}
			if (used > 0) {
				out[used++] = ',';
			}
			out[used++] = '"';
			for (size_t i = 0; i < len; i++) {
				if (p[i] == '"') {
					out[used++] = '"';
				}
				out[used++] = p[i];
			}
			out[used++] = '"';
			out[used] = '\0';
		}
		p = next;
	}
	return 0;
}

#define SYNC_LIST_SIZE 2048
#define SYNC_LINE_SIZE (2 * SYNC_LIST_SIZE + 64)

/* baton.conf's synchronous_standby_names line for the current sync_names,
 * or "" (asynchronous, or no other name listed). */
static int sync_conf_line(struct baton_engine *e, char *out, size_t size)
{
	struct pg *pg = PG(e);
	char list[SYNC_LIST_SIZE];
	char quoted_list[2 * SYNC_LIST_SIZE];
	int rv;

	out[0] = '\0';
	if (!pg->synchronous) {
		return 0;
	}
	rv = sync_standby_list(e, list, sizeof list);
	if (rv != 0) {
		return rv;
	}
	conf_escape(list, quoted_list, sizeof quoted_list);
	if (list[0] != '\0') {
		snprintf(out, size,
			 "synchronous_standby_names = 'ANY 1 (%s)'\n",
			 quoted_list);
	}
	return 0;
}

/* DATADIR/baton.conf: everything Baton owns in the configuration. Values
 * quoted for postgresql.conf ('' doubles a quote). */
static int write_baton_conf(struct baton_engine *e,
			    const struct baton_engine_peer *primary)
{
	struct pg *pg = PG(e);
	char conf[8192];
	char path[1024];
	char sync[SYNC_LINE_SIZE] = "";
	char conninfo[4200] = "";
	char pf[1100];
	int n;

	n = sync_conf_line(e, sync, sizeof sync);
	if (n != 0) {
		return n;
	}
	if (primary != NULL) {
		/* two layers: the conninfo value, then the conf string. No
		 * password: the walreceiver reads it from the passfile, so
		 * this file (which base backups copy) holds no secret */
		char ci[2048], quoted[4096];
		conninfo_escape(pg->passfile, pf, sizeof pf);
		snprintf(ci, sizeof ci,
			 "host=%s port=%d user=%s passfile='%s' "
			 "application_name=%s connect_timeout=5 "
			 "keepalives_idle=5 keepalives_interval=2 "
			 "keepalives_count=3",
			 primary->host, primary->port, pg->repl_user, pf,
			 pg->name);
		conf_escape(ci, quoted, sizeof quoted);
		snprintf(conninfo, sizeof conninfo, "primary_conninfo = '%s'\n",
			 quoted);
	}
	n = snprintf(conf, sizeof conf,
		     "# Written by baton-agent; rewritten on every role "
		     "change. Do not edit.\n"
		     "listen_addresses = '%s'\n"
		     "port = %d\n"
		     "unix_socket_directories = '%s'\n"
		     /* only the server's user (and root) may connect(2) */
		     "unix_socket_permissions = 0700\n"
		     "cluster_name = '%s'\n"
		     "wal_level = replica\n"
		     "max_wal_senders = %d\n"
		     "max_replication_slots = %d\n"
		     "hot_standby = on\n"
		     "hot_standby_feedback = on\n"
		     "wal_log_hints = on\n"
		     "wal_keep_size = '512MB'\n"
		     "wal_receiver_status_interval = 1s\n"
		     "wal_sender_timeout = 10s\n"
		     "wal_receiver_timeout = 10s\n"
		     /* a promotion waits out a pending retry */
		     "wal_retrieve_retry_interval = 50ms\n"
		     "recovery_target_timeline = 'latest'\n"
		     "synchronous_commit = on\n"
		     /* fenced by default: only the agent's ALTER SYSTEM
		      * (postgresql.auto.conf, read last) makes it writable,
		      * and start() drops that override: every boot is
		      * read-only until the agent holds a lease */
		     "default_transaction_read_only = on\n"
		     "%s%s%s",
		     pg->host, pg->port, pg->socket_dir, pg->name,
		     pg->max_wal_senders, pg->max_wal_senders, sync, conninfo,
		     /* a start after a crash or a rewind syncs the data
		      * directory first: one syncfs, not an fsync per file
		      * (1.1-1.8 s of every rejoin on the lab) */
		     pg->syncfs ? "recovery_init_sync_method = syncfs\n" : "");
	if (n < 0 || (size_t)n >= sizeof conf) {
		baton_errmsg_printf(e->errmsg, "baton.conf too large");
		return BATON_ETOOLARGE;
	}
	snprintf(path, sizeof path, "%s/baton.conf", pg->datadir);
	return write_file(e, path, conf, 0600);
}

/* NAME as a pg_hba/pg_ident token: double-quoted, '"' doubled. */
static void hba_quote(const char *name, char *out, size_t n)
{
	size_t j = 0;
	out[j++] = '"';
	for (; *name != '\0' && j + 3 < n; name++) {
		if (*name == '"') {
			out[j++] = '"';
		}
		out[j++] = *name;
	}
	out[j++] = '"';
	out[j] = '\0';
}

/* pg_hba.conf and pg_ident.conf, rewritten at every start (an instance
 * made by an older agent had "local ... trust") and after a rewind (which
 * copies the source's). See "The local socket" above. */
static int write_hba(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char text[1024];
	char ident[512];
	char path[1024];
	char user[300];
	const char *local = pg->os_user != NULL ? "peer map=baton" : "trust";
	int rv;

	snprintf(text, sizeof text,
		 "# Written by baton-agent.\n"
		 "local all postgres %s\n"
		 "local replication postgres %s\n"
		 "host replication %s 0.0.0.0/0 scram-sha-256\n"
		 "host replication %s ::/0 scram-sha-256\n"
		 "host all all 0.0.0.0/0 scram-sha-256\n"
		 "host all all ::/0 scram-sha-256\n",
		 local, local, pg->repl_user, pg->repl_user);
	snprintf(path, sizeof path, "%s/pg_hba.conf", pg->datadir);
	if ((rv = write_file(e, path, text, 0600)) != 0) {
		return rv;
	}
	/* who may be postgres over the socket: the server's user, and root
	 * when the agent runs as root (it connects as itself) */
	if (pg->os_user != NULL) {
		hba_quote(pg->os_user, user, sizeof user);
		snprintf(ident, sizeof ident,
			 "# Written by baton-agent: the OS users that may "
			 "connect as postgres over the local socket.\n"
			 "baton %s postgres\n%s",
			 user, pg->switch_user ? "baton root postgres\n" : "");
	} else {
		snprintf(ident, sizeof ident,
			 "# Written by baton-agent. The server's uid has no "
			 "user name: the local socket uses trust.\n");
	}
	snprintf(path, sizeof path, "%s/pg_ident.conf", pg->datadir);
	return write_file(e, path, ident, 0600);
}

static int append_include(struct baton_engine *e)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof path, "%s/postgresql.conf", PG(e)->datadir);
	f = fopen(path, "a");
	if (f == NULL) {
		baton_errmsg_printf(e->errmsg, "cannot open %s: %s", path,
				    strerror(errno));
		return BATON_EIO;
	}
	fprintf(f, "\n# Baton's settings\ninclude_if_exists = 'baton.conf'\n");
	fclose(f);
	return 0;
}

static int touch_standby_signal(struct baton_engine *e)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/standby.signal", PG(e)->datadir);
	return write_file(e, path, "", 0600);
}

/* ---- init marker -----------------------------------------------------------
 *
 * An init (initdb or pg_basebackup, then configuration, start, role) can
 * fail or be killed half way, leaving a data directory that is not an
 * instance anyone may use, yet holds PG_VERSION. DATADIR.baton-init (next
 * to the data directory, never inside it: pg_basebackup wants an empty
 * one) is written and fsynced before the init touches DATADIR and removed
 * only once the init succeeded. While it exists, DATADIR holds *our own*
 * unfinished work: start() reports "no instance" (BATON_ENOTFOUND), and
 * the next init wipes the directory and starts over. Nothing else ever
 * removes files from a data directory: without the marker, a PG_VERSION
 * means an instance, and an init refuses to touch it.
 */

static void marker_path(struct pg *pg, char *buf, size_t n)
{
	snprintf(buf, n, "%s.baton-init", pg->datadir);
}

static bool init_marker_exists(struct pg *pg)
{
	char path[1024];
	struct stat st;
	marker_path(pg, path, sizeof path);
	return stat(path, &st) == 0;
}

/* fsync the directory holding DATADIR (and its marker): a created or
 * removed name is durable only then. */
static void sync_parent_dir(struct pg *pg)
{
	char dir[1024];
	char *slash;
	int fd;

	snprintf(dir, sizeof dir, "%s", pg->datadir);
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		snprintf(dir, sizeof dir, ".");
	} else if (slash == dir) {
		dir[1] = '\0';
	} else {
		*slash = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

bool baton_pg_syncfs_reports_errors(const char *release)
{
	int major = 0, minor = 0;
	if (release == NULL || sscanf(release, "%d.%d", &major, &minor) != 2) {
		return false;
	}
	return major > 5 || (major == 5 && minor >= 8);
}

/* Everything written to the file systems of DATADIR and its pg_wal (a
 * symlink may lead elsewhere) on disk: one syncfs(2) each, where an fsync
 * per file took 1.1 s for the lab's 1,100 files even with nothing dirty. */
static int syncfs_datadir(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char wal[1100];
	const char *dirs[] = {pg->datadir, wal};

	snprintf(wal, sizeof wal, "%s/pg_wal", pg->datadir);
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		int fd = open(dirs[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || syncfs(fd) != 0) {
			baton_errmsg_printf(e->errmsg, "syncfs %s: %s", dirs[i],
					    strerror(errno));
			if (fd >= 0) {
				close(fd);
			}
			return BATON_EIO;
		}
		close(fd);
	}
	return 0;
}

/* An empty marker file at PATH, durable before anything it guards runs. */
static int write_marker(struct baton_engine *e, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fsync(fd) != 0) {
		baton_errmsg_printf(e->errmsg, "cannot write %s: %s", path,
				    strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return BATON_EIO;
	}
	close(fd);
	sync_parent_dir(PG(e));
	return 0;
}

static int write_init_marker(struct baton_engine *e)
{
	char path[1024];
	marker_path(PG(e), path, sizeof path);
	return write_marker(e, path);
}

static void remove_init_marker(struct pg *pg)
{
	char path[1024];
	marker_path(pg, path, sizeof path);
	if (unlink(path) == 0 || errno == ENOENT) {
		sync_parent_dir(pg);
	}
}

static int unlink_cb(const char *path, const struct stat *sb, int flag,
		     struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	if (ftw->level == 0) {
		return 0; /* DATADIR itself stays */
	}
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* Empties DATADIR, which must be our unfinished init (the marker says
 * so). Symlinks are removed, never followed. */
static int wipe_unfinished_init(struct baton_engine *e)
{
	struct pg *pg = PG(e);

	assert(init_marker_exists(pg));
	if (nftw(pg->datadir, unlink_cb, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT) {
		baton_errmsg_printf(e->errmsg,
				    "cannot clear the unfinished init in %s: "
				    "%s",
				    pg->datadir, strerror(errno));
		return BATON_EIO;
	}
	return 0;
}

static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool empty = true;

	if (d == NULL) {
		return errno == ENOENT;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

static int pg_stop(struct baton_engine *e, bool immediate);
static void remove_stale_pidfile(struct baton_engine *e);

/* An empty DATADIR owned by run_as, mode 0700 (initdb and pg_basebackup
 * refuse anything else), with the init marker written. An unfinished init
 * of ours is cleared first; anything else in DATADIR is refused. */
static int prepare_empty_datadir(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	struct stat st;
	int rv;

	if (mkdir(pg->datadir, 0700) != 0 && errno != EEXIST) {
		baton_errmsg_printf(e->errmsg, "cannot create %s: %s",
				    pg->datadir, strerror(errno));
		return BATON_EIO;
	}
	if (init_marker_exists(pg)) {
		BATON_WARN("engine",
			   "%s holds an unfinished init (%s.baton-init): "
			   "clearing it",
			   pg->datadir, pg->datadir);
		if (baton_pg_postmaster_pid(e) > 0 &&
		    (rv = pg_stop(e, true)) != 0) {
			return rv;
		}
		remove_stale_pidfile(e);
		if ((rv = wipe_unfinished_init(e)) != 0) {
			return rv;
		}
	} else if (file_exists(pg->datadir, "PG_VERSION")) {
		baton_errmsg_printf(e->errmsg,
				    "%s already holds a database; refusing to "
				    "overwrite it",
				    pg->datadir);
		return BATON_EEXIST;
	} else if (!dir_is_empty(pg->datadir)) {
		baton_errmsg_printf(e->errmsg,
				    "%s is not empty but holds no PostgreSQL "
				    "instance (no PG_VERSION); refusing to "
				    "touch it: empty it by hand",
				    pg->datadir);
		return BATON_ECONFLICT;
	}
	if (stat(pg->datadir, &st) != 0 || chmod(pg->datadir, 0700) != 0 ||
	    (pg->switch_user && chown(pg->datadir, pg->uid, pg->gid) != 0)) {
		baton_errmsg_printf(e->errmsg, "cannot prepare %s: %s",
				    pg->datadir, strerror(errno));
		return BATON_EIO;
	}
	return write_init_marker(e);
}

/* An init failed after prepare_empty_datadir(): stop what it started and
 * empty DATADIR, so that the same init can be retried. The engine's
 * errmsg (why the init failed) is kept. */
static void undo_failed_init(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char why[BATON_ERRMSG_SIZE];

	memcpy(why, e->errmsg, sizeof why);
	if (baton_pg_postmaster_pid(e) > 0) {
		(void)pg_stop(e, true);
	}
	remove_stale_pidfile(e);
	if (init_marker_exists(pg) && wipe_unfinished_init(e) == 0) {
		remove_init_marker(pg);
		BATON_INFO("engine",
			   "failed init of %s: %s emptied for a retry",
			   pg->name, pg->datadir);
	} else {
		BATON_WARN("engine",
			   "failed init of %s: %s not emptied (%s); the next "
			   "init clears it",
			   pg->name, pg->datadir, e->errmsg);
	}
	memcpy(e->errmsg, why, sizeof why);
}

/* Missing or corrupt data directory: say so before pg_ctl's log does. An
 * unfinished init is no instance, unless the init itself is asking. */
static int check_datadir(struct baton_engine *e, bool during_init)
{
	struct pg *pg = PG(e);
	char tool[512];
	int rc;

	if (!file_exists(pg->datadir, "PG_VERSION")) {
		baton_errmsg_printf(e->errmsg,
				    "%s is missing or not a PostgreSQL data "
				    "directory (no PG_VERSION)",
				    pg->datadir);
		return BATON_ENOTFOUND;
	}
	if (!during_init && init_marker_exists(pg)) {
		baton_errmsg_printf(
		    e->errmsg,
		    "%s holds an unfinished init (%s.baton-init "
		    "exists), not an instance",
		    pg->datadir, pg->datadir);
		return BATON_ENOTFOUND;
	}
	tool_path(pg, "pg_controldata", tool, sizeof tool);
	char *argv[] = {tool, "-D", pg->datadir, NULL};
	rc = run(pg, argv, NULL);
	if (rc != 0 ||
	    strcasestr(pg->out, "CRC checksum does not match") != NULL) {
		baton_errmsg_printf(
		    e->errmsg, "data directory %s is corrupt: %s", pg->datadir,
		    rc != 0 ? out_summary(pg)
			    : "pg_control fails its CRC check");
		return BATON_EENGINE;
	}
	return 0;
}

/* ---- SQL ----------------------------------------------------------------- */

static PGconn *admin_connect(struct baton_engine *e, unsigned timeout_s)
{
	struct pg *pg = PG(e);
	char port[16];
	char timeout[16];
	const char *keys[] = {"host",
			      "port",
			      "user",
			      "dbname",
			      "connect_timeout",
			      "application_name",
			      "options",
			      NULL};
	const char *vals[] = {pg->socket_dir,
			      port,
			      "postgres",
			      "postgres",
			      timeout,
			      "baton-agent",
			      "-c statement_timeout=10000",
			      NULL};
	PGconn *c;

	snprintf(port, sizeof port, "%d", pg->port);
	snprintf(timeout, sizeof timeout, "%u", timeout_s ? timeout_s : 2);
	c = PQconnectdbParams(keys, vals, 0);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		baton_errmsg_printf(
		    e->errmsg, "cannot connect to %s (port %d): %s", pg->name,
		    pg->port, c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* The kept administrative session. Opening a session forks a backend
 * that loads its catalog caches: on the loaded lab 50-150 ms, paid by
 * every status read (every 100 ms) and twice by every order on the
 * failover path (the operation, then the fresh status every answer
 * carries). The hot paths (status, detach, promote, fence, unfence) take
 * the kept session instead; it never carries session state (no SET: what
 * needs one, init_primary's, opens its own), and is checked with an
 * empty query before use, so a server that restarted under it costs one
 * reconnect, not a failed order.
 *
 * A backend applies a reload between two commands, so the kept session
 * sees one only after a command: the empty query that checks it does
 * that too (read_only_confirmed() relies on it). A nested caller (the
 * session is in use) gets a fresh session that session_done() closes. */
/* An empty query on C answered within TIMEOUT_MS, the session idle. A
 * fresh session was bounded by connect_timeout; a kept one whose backend
 * hangs (stopped, starved) must not hang the engine with it. */
static bool session_alive(PGconn *c, int timeout_ms)
{
	double deadline = baton_mono_ms_double() + timeout_ms;
	PGresult *r;
	bool ok = false;

	if (PQstatus(c) != CONNECTION_OK ||
	    PQtransactionStatus(c) != PQTRANS_IDLE || PQsendQuery(c, "") != 1) {
		return false;
	}
	while (PQisBusy(c)) {
		struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
		double left = deadline - baton_mono_ms_double();
		int n;
		if (left <= 0) {
			return false; /* the caller closes it */
		}
		n = poll(&pfd, 1, (int)left + 1);
		if ((n < 0 && errno != EINTR) ||
		    (n > 0 && PQconsumeInput(c) != 1)) {
			return false;
		}
	}
	while ((r = PQgetResult(c)) != NULL) {
		ok = ok || PQresultStatus(r) == PGRES_EMPTY_QUERY;
		PQclear(r);
	}
	return ok && PQtransactionStatus(c) == PQTRANS_IDLE;
}

static PGconn *session_get(struct baton_engine *e, unsigned timeout_s)
{
	struct pg *pg = PG(e);

	if (pg->session_in_use) {
		return admin_connect(e, timeout_s);
	}
	if (pg->session != NULL && !session_alive(pg->session, 2000)) {
		PQfinish(pg->session);
		pg->session = NULL;
	}
	if (pg->session == NULL) {
		pg->session = admin_connect(e, timeout_s);
	}
	if (pg->session != NULL) {
		pg->session_in_use = true;
	}
	return pg->session;
}

/* Hand back C from session_get(): kept if it is the kept session and
 * still healthy and idle, else closed. */
static void session_done(struct baton_engine *e, PGconn *c)
{
	struct pg *pg = PG(e);

	if (c == NULL) {
		return;
	}
	if (c != pg->session) {
		PQfinish(c);
		return;
	}
	pg->session_in_use = false;
	if (PQstatus(c) != CONNECTION_OK ||
	    PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQfinish(c);
		pg->session = NULL;
	}
}

/* Before the server stops (a smart shutdown would wait for it; a fast
 * one would only cut it) and when the engine is freed. */
static void session_close(struct baton_engine *e)
{
	struct pg *pg = PG(e);

	if (pg->session != NULL && !pg->session_in_use) {
		PQfinish(pg->session);
		pg->session = NULL;
	}
}

/* Runs SQL; on success *out (if given) is the first value of the first row. */
static int exec_sql(struct baton_engine *e, PGconn *c, const char *sql,
		    char *out, size_t out_size)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		baton_errmsg_printf(e->errmsg, "%s(in: %.60s)",
				    PQerrorMessage(c), sql);
		PQclear(r);
		return PQstatus(c) == CONNECTION_OK ? BATON_EENGINE
						    : BATON_ECONN;
	}
	if (out != NULL) {
		out[0] = '\0';
		if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
		    !PQgetisnull(r, 0, 0)) {
			snprintf(out, out_size, "%s", PQgetvalue(r, 0, 0));
		}
	}
	PQclear(r);
	return 0;
}

/* "host=H port=P ..." → "H:P" (libpq's own parser); "" if absent. */
static void conninfo_upstream(const char *conninfo, char *out, size_t size)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *host = NULL, *port = "5432";
	out[0] = '\0';
	if (opts == NULL) {
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0') {
			continue;
		}
		if (strcmp(o->keyword, "host") == 0) {
			host = o->val;
		} else if (strcmp(o->keyword, "port") == 0) {
			port = o->val;
		}
	}
	if (host != NULL) {
		snprintf(out, size, "%s:%s", host, port);
	}
	PQconninfoFree(opts);
}

static int pg_status_conn(struct baton_engine *e, PGconn *c,
			  struct baton_engine_status *st)
{
	static const char *sql =
	    "SELECT pg_is_in_recovery(),"
	    " current_setting('default_transaction_read_only'),"
	    " CASE WHEN pg_is_in_recovery()"
	    "  THEN COALESCE(pg_last_wal_receive_lsn(), "
	    "pg_last_wal_replay_lsn())"
	    "  ELSE pg_current_wal_lsn() END,"
	    " CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
	    "  ELSE pg_current_wal_lsn() END,"
	    " CASE WHEN pg_is_in_recovery() THEN"
	    "  COALESCE((SELECT received_tli FROM pg_stat_wal_receiver),"
	    "   (SELECT timeline_id FROM pg_control_checkpoint()))"
	    "  ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()),1,8))"
	    "   ::bit(32)::int END";
	/* one row per walsender: who streams, who counts for a commit */
	static const char *standbys_sql =
	    "SELECT application_name, state = 'streaming',"
	    " sync_state IN ('sync','quorum'), flush_lsn"
	    " FROM pg_stat_replication ORDER BY application_name";
	PGresult *r = PQexec(c, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		baton_errmsg_printf(e->errmsg, "status query failed: %s",
				    PQerrorMessage(c));
		PQclear(r);
		return BATON_EENGINE;
	}
	memset(st, 0, sizeof *st);
	st->running = true;
	st->role = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? BATON_ROLE_REPLICA
							 : BATON_ROLE_PRIMARY;
	st->read_only = strcmp(PQgetvalue(r, 0, 1), "on") == 0;
	baton_pg_parse_lsn(PQgetvalue(r, 0, 2), &st->lsn);
	baton_pg_parse_lsn(PQgetvalue(r, 0, 3), &st->replay_lsn);
	st->timeline = (unsigned)strtoul(PQgetvalue(r, 0, 4), NULL, 10);
	PQclear(r);
	if (st->role == BATON_ROLE_REPLICA) {
		r = PQexec(c, "SELECT current_setting('primary_conninfo')");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			conninfo_upstream(PQgetvalue(r, 0, 0), st->upstream,
					  sizeof st->upstream);
		}
		PQclear(r);
	}
	r = PQexec(c, standbys_sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		baton_errmsg_printf(e->errmsg, "standby query failed: %s",
				    PQerrorMessage(c));
		PQclear(r);
		return BATON_EENGINE;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0);
		if (strcmp(PQgetvalue(r, i, 1), "t") == 0) {
			if (st->standbys < BATON_ENGINE_MAX_STANDBYS) {
				snprintf(st->standby_names[st->standbys],
					 BATON_ENGINE_NAME_SIZE, "%s", name);
				if (!PQgetisnull(r, i, 3)) {
					baton_pg_parse_lsn(
					    PQgetvalue(r, i, 3),
					    &st->standby_flush[st->standbys]);
				}
				st->n_standby_names = st->standbys + 1;
			}
			st->standbys++;
		}
		if (strcmp(PQgetvalue(r, i, 2), "t") == 0) {
			if (st->sync_standbys < BATON_ENGINE_MAX_STANDBYS) {
				snprintf(st->sync_names[st->sync_standbys],
					 BATON_ENGINE_NAME_SIZE, "%s", name);
				st->n_sync_names = st->sync_standbys + 1;
			}
			st->sync_standbys++;
		}
	}
	st->writable = st->role == BATON_ROLE_PRIMARY && !st->read_only;
	st->lag_bytes = st->role == BATON_ROLE_PRIMARY
			    ? 0
			    : (st->lsn >= st->replay_lsn
				   ? (int64_t)(st->lsn - st->replay_lsn)
				   : 0);
	PQclear(r);
	return 0;
}

/* ---- operations ---------------------------------------------------------- */

static int start_instance(struct baton_engine *e, bool during_init);

/* The server's log (stderr, pg_ctl -l) lives in DATADIR.baton-log, next to
 * the data directory and never inside it: pg_rewind copies the source's
 * files over the target's, a log inside PGDATA with them, so a rejoin used
 * to replace a fenced primary's record of its last seconds with its new
 * primary's. Base backups copied it too. The directory is the server
 * user's (it writes the file) and private (statements can be in it).
 *
 * Bounded at each start: a log past BATON_PG_LOG_ROTATE_BYTES becomes
 * postgres.log.1 (the one before is dropped) and the server starts a new
 * one. A server that runs for weeks can grow it past the bound until its
 * next start; pg_ctl appends, so nothing is lost across restarts until
 * then. */
#define BATON_PG_LOG_ROTATE_BYTES (16L * 1024 * 1024)

static int log_prepare(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char old[1100];
	struct stat st;
	int rv;

	if ((rv = private_dir(e, pg->log_dir)) != 0) {
		return rv;
	}
	if (stat(pg->log_file, &st) == 0 &&
	    st.st_size > BATON_PG_LOG_ROTATE_BYTES) {
		snprintf(old, sizeof old, "%s.1", pg->log_file);
		if (rename(pg->log_file, old) != 0) {
			/* the log only grows on: no reason to refuse a start */
			BATON_WARN("engine", "cannot rotate %s: %s",
				   pg->log_file, strerror(errno));
		}
	}
	return 0;
}

static int pg_ctl(struct baton_engine *e, const char *action, const char *mode)
{
	struct pg *pg = PG(e);
	char tool[512], timeout[16];

	tool_path(pg, "pg_ctl", tool, sizeof tool);
	snprintf(timeout, sizeof timeout, "%u", pg->timeout_s);
	if (strcmp(action, "start") == 0) {
		char *argv[] = {tool, "-D", pg->datadir, "-l",	  pg->log_file,
				"-w", "-t", timeout,	 "start", NULL};
		int rv = log_prepare(e);
		return rv != 0 ? rv : run(pg, argv, NULL);
	}
	char *argv[] = {tool, "-D", pg->datadir, "-m",		 (char *)mode,
			"-w", "-t", timeout,	 (char *)action, NULL};
	return run(pg, argv, NULL);
}

/* initdb and the rest, in an empty DATADIR (see pg_init_primary) */
static int init_primary_steps(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char tool[512];
	char sql[2048];
	char *lit, *verifier;
	PGconn *c;
	int rv;

	tool_path(pg, "initdb", tool, sizeof tool);
	char segsize[32];
	snprintf(segsize, sizeof segsize, "--wal-segsize=%d",
		 pg->wal_segsize_mb);
	char *argv[] = {tool,
			"-D",
			pg->datadir,
			"-U",
			"postgres",
			"-E",
			"UTF8",
			"--locale=C",
			"-A",
			"trust",
			pg->wal_segsize_mb ? segsize : NULL,
			NULL};
	if (run(pg, argv, NULL) != 0) {
		baton_errmsg_printf(e->errmsg, "initdb %s failed: %s",
				    pg->datadir, out_summary(pg));
		return BATON_EENGINE;
	}
	/* the lease module would refuse CREATE ROLE below: no agent can hold
	 * a lease for an instance that does not exist yet */
	pg->lease_off = pg->lease_module != NULL;
	if ((rv = write_hba(e)) != 0 || (rv = append_include(e)) != 0 ||
	    (rv = write_baton_conf(e, NULL)) != 0) {
		return rv;
	}
	rv = start_instance(e, true);
	if (rv != 0) {
		return rv;
	}
	c = admin_connect(e, pg->timeout_s);
	if (c == NULL) {
		return BATON_ECONN;
	}
	/* the SCRAM verifier, computed here: the cleartext is never in a
	 * statement the server could log (log_statement, or the statement
	 * of a failed command: the server's log, DATADIR.baton-log) */
	verifier = PQencryptPasswordConn(c, pg->repl_password, pg->repl_user,
					 "scram-sha-256");
	lit = verifier != NULL ? PQescapeLiteral(c, verifier, strlen(verifier))
			       : NULL;
	char *ident =
	    PQescapeIdentifier(c, pg->repl_user, strlen(pg->repl_user));
	PQfreemem(verifier);
	if (lit == NULL || ident == NULL) {
		PQfreemem(lit);
		PQfreemem(ident);
		baton_errmsg_printf(e->errmsg,
				    "cannot hash or escape the replication "
				    "role's password: %s",
				    PQerrorMessage(c));
		PQfinish(c);
		return BATON_EINVAL;
	}
	snprintf(
	    sql, sizeof sql,
	    /* no standby can acknowledge yet */
	    "SET synchronous_commit = local;"
	    "CREATE ROLE %s WITH REPLICATION LOGIN PASSWORD %s;"
	    /* what pg_rewind needs from its source, nothing more */
	    "GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, "
	    "boolean) TO %s;"
	    "GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, "
	    "boolean) TO %s;"
	    "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) "
	    "TO %s;"
	    "GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, "
	    "bigint, bigint, boolean) TO %s;"
	    /* rejoin() checkpoints a freshly promoted source */
	    "GRANT pg_checkpoint TO %s;",
	    ident, lit, ident, ident, ident, ident, ident);
	PQfreemem(lit);
	PQfreemem(ident);
	/* born fenced (baton.conf): this session alone may write */
	rv = exec_sql(e, c, "SET default_transaction_read_only = off", NULL, 0);
	if (rv == 0) {
		rv = exec_sql(e, c, sql, NULL, 0);
	}
	PQfinish(c);
	if (rv == 0 && pg->lease_off) {
		/* from now on every start loads the module */
		pg->lease_off = false;
		if ((rv = pg_stop(e, false)) == 0) {
			rv = start_instance(e, true);
		}
	}
	if (rv == 0) {
		BATON_INFO("engine", "initialised primary %s in %s", pg->name,
			   pg->datadir);
	}
	return rv;
}

/* pg_basebackup and pg_rewind copy the source's data directory, including
 * its socket lock file when the socket lives there: that file names the
 * *source's* postmaster, which may be alive (same host in the lab, or the
 * same pid in another pid namespace), and PostgreSQL then refuses to start
 * ("lock file already exists"). Nothing of ours runs yet: drop it. */
static void drop_copied_socket_lock(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char path[1024];
	if (strcmp(pg->socket_dir, pg->datadir) != 0) {
		return;
	}
	snprintf(path, sizeof path, "%s/.s.PGSQL.%d.lock", pg->datadir,
		 pg->port);
	if (unlink(path) == 0) {
		BATON_INFO("engine",
			   "removed the socket lock copied from the "
			   "source: %s",
			   path);
	}
}

/* pg_basebackup and the rest, in an empty DATADIR (see pg_init_replica) */
static int init_replica_steps(struct baton_engine *e,
			      const struct baton_engine_peer *primary)
{
	struct pg *pg = PG(e);
	char tool[512], port[16], pfenv[1100];
	int rv;

	if ((rv = write_passfile(e)) != 0) {
		return rv;
	}
	tool_path(pg, "pg_basebackup", tool, sizeof tool);
	snprintf(port, sizeof port, "%d", primary->port);
	snprintf(pfenv, sizeof pfenv, "PGPASSFILE=%s", pg->passfile);
	char *env[] = {pfenv, "PGCONNECT_TIMEOUT=5", NULL};
	char *argv[] = {
	    tool,     "-D", pg->datadir, "-h",		(char *)primary->host,
	    "-p",     port, "-U",	 pg->repl_user, "-X",
	    "stream", "-c", "fast",	 "-w",		NULL};
	if (run(pg, argv, env) != 0) {
		const char *why = out_summary(pg);
		rv = classify_conn_error(pg->out);
		baton_errmsg_printf(
		    e->errmsg, "pg_basebackup from %s:%d failed (%s): %s",
		    primary->host, primary->port,
		    rv == BATON_EFORBIDDEN ? "wrong replication password"
		    : rv == BATON_ECONN	   ? "primary unreachable"
					   : "engine error",
		    why);
		return rv;
	}
	drop_copied_socket_lock(e);
	if ((rv = write_baton_conf(e, primary)) != 0 ||
	    (rv = touch_standby_signal(e)) != 0) {
		return rv;
	}
	BATON_INFO("engine", "cloned replica %s from %s:%d", pg->name,
		   primary->host, primary->port);
	return start_instance(e, true);
}

/* Both inits: refuse an existing instance (BATON_EEXIST), mark DATADIR as
 * ours while the init runs, and on failure leave it empty again. */
static int pg_init_primary(struct baton_engine *e)
{
	int rv = prepare_empty_datadir(e);
	if (rv != 0) {
		return rv;
	}
	rv = init_primary_steps(e);
	PG(e)->lease_off = false;
	if (rv != 0) {
		undo_failed_init(e);
		return rv;
	}
	remove_init_marker(PG(e));
	return 0;
}

static int pg_init_replica(struct baton_engine *e,
			   const struct baton_engine_peer *primary)
{
	int rv = prepare_empty_datadir(e);
	if (rv != 0) {
		return rv;
	}
	rv = init_replica_steps(e, primary);
	if (rv != 0) {
		undo_failed_init(e);
		return rv;
	}
	remove_init_marker(PG(e));
	return 0;
}

/* Drops an unfence left in postgresql.auto.conf (by a crash, or copied by
 * pg_basebackup / pg_rewind) so the server boots read-only (baton.conf).
 * With the lease module, also any ALTER SYSTEM of shared_preload_libraries
 * or baton.*: postgresql.auto.conf is read after baton.conf, and would
 * otherwise unload the module or point it at another file. */
static int scrub_unfence(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char path[1024];
	char line[1024];
	char *text = NULL;
	size_t len = 0;
	FILE *in, *out;
	int rv;

	snprintf(path, sizeof path, "%s/postgresql.auto.conf", pg->datadir);
	in = fopen(path, "r");
	if (in == NULL) {
		return 0;
	}
	out = open_memstream(&text, &len);
	if (out == NULL) {
		fclose(in);
		return BATON_ENOMEM;
	}
	while (fgets(line, sizeof line, in) != NULL) {
		bool lease_key =
		    strncmp(line, "shared_preload_libraries", 24) == 0 ||
		    strncmp(line, "baton.", 6) == 0;
		if (strncmp(line, "default_transaction_read_only", 29) != 0 &&
		    !(pg->lease_module != NULL && lease_key)) {
			fputs(line, out);
		}
	}
	fclose(in);
	fclose(out);
	rv = write_file(e, path, text ? text : "", 0600);
	free(text);
	return rv;
}

/* An agent before the passfile wrote the password into baton.conf's
 * primary_conninfo, inside DATADIR: rewrite baton.conf, following the same
 * primary, with passfile= instead. Every start goes through here, so an
 * upgraded agent removes it at once, not at the next role change. */
static int scrub_conninfo_password(struct baton_engine *e)
{
	static const char key[] = "primary_conninfo = '";
	struct pg *pg = PG(e);
	char path[1024], line[4200], ci[4200];
	char host[256] = "";
	int port = 0;
	bool found = false;
	PQconninfoOption *opts;
	FILE *f;
	size_t j = 0;
	int rv;

	snprintf(path, sizeof path, "%s/baton.conf", pg->datadir);
	f = fopen(path, "re");
	if (f == NULL) {
		return 0;
	}
	while (!found && fgets(line, sizeof line, f) != NULL) {
		found = strncmp(line, key, sizeof key - 1) == 0 &&
			strstr(line, "password=") != NULL;
	}
	fclose(f);
	if (!found) {
		return 0;
	}
	/* the conf string's value: '' is a quote, \\ a backslash */
	for (const char *p = line + sizeof key - 1; *p != '\0'; p++) {
		if ((p[0] == '\'' && p[1] == '\'') ||
		    (p[0] == '\\' && p[1] != '\0')) {
			p++;
		} else if (p[0] == '\'') {
			break;
		}
		if (j + 1 < sizeof ci) {
			ci[j++] = *p;
		}
	}
	ci[j] = '\0';
	explicit_bzero(line, sizeof line);
	opts = PQconninfoParse(ci, NULL);
	explicit_bzero(ci, sizeof ci);
	for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++) {
		if (o->val != NULL && strcmp(o->keyword, "host") == 0) {
			snprintf(host, sizeof host, "%s", o->val);
		} else if (o->val != NULL && strcmp(o->keyword, "port") == 0) {
			port = (int)strtol(o->val, NULL, 10);
		}
		if (o->val != NULL && strcmp(o->keyword, "password") == 0) {
			explicit_bzero(o->val, strlen(o->val));
		}
	}
	PQconninfoFree(opts);
	if (host[0] != '\0') {
		struct baton_engine_peer peer = {host, port > 0 ? port : 5432};
		rv = write_baton_conf(e, &peer);
	} else {
		rv = write_baton_conf(e, NULL); /* unreadable: follow no one */
	}
	if (rv == 0) {
		BATON_WARN("engine",
			   "%s: baton.conf (written by an older agent) held "
			   "the replication password in primary_conninfo; "
			   "rewritten with passfile= (copies made before, "
			   "base backups included, still hold it)",
			   pg->name);
	}
	return rv;
}

/* baton.conf's lease lines as configured now, and its synchronous
 * standby list as last set (set_sync_names; the boot default before). The
 * other lines (primary_conninfo above all) are kept as they are, so this
 * is safe on a running replica too. Every start goes through
 * here, so an instance created before the module was configured, or with
 * another module path, loads what is configured now, and one whose module
 * was turned off stops loading it (its agent would no longer write the
 * file: the module would refuse every write forever).
 *
 * And listen_addresses as configured now: a pod that comes back on a
 * real kubelet (its node restarted) gets a new pod IP, and a server
 * told to listen on the old one fails with "could not create any TCP/IP
 * sockets" (the kind lab's kill-region drill, docs/kind.md). */
static int sync_lease_conf(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char path[1024];
	char *line = NULL, *text = NULL;
	char sync[SYNC_LINE_SIZE];
	size_t cap = 0, len = 0;
	FILE *in, *out;
	int rv;

	rv = sync_conf_line(e, sync, sizeof sync);
	if (rv != 0) {
		return rv;
	}
	snprintf(path, sizeof path, "%s/baton.conf", pg->datadir);
	out = open_memstream(&text, &len);
	if (out == NULL) {
		return BATON_ENOMEM;
	}
	in = fopen(path, "r");
	while (in != NULL && getline(&line, &cap, in) > 0) {
		if (strncmp(line, "shared_preload_libraries", 24) != 0 &&
		    strncmp(line, "baton.", 6) != 0 &&
		    strncmp(line, "listen_addresses", 16) != 0 &&
		    strncmp(line, "synchronous_standby_names", 25) != 0) {
			fputs(line, out);
		}
	}
	fprintf(out, "listen_addresses = '%s'\n%s", pg->host, sync);
	free(line);
	if (in != NULL) {
		fclose(in);
	}
	if (pg->lease_module != NULL && !pg->lease_off) {
		/* the module name was checked at init: no quote, no comma */
		char quoted[1024];
		conf_escape(pg->lease_file, quoted, sizeof quoted);
		fprintf(out,
			"shared_preload_libraries = '%s'\n"
			"baton.lease_file = '%s'\n",
			pg->lease_module, quoted);
	}
	fclose(out);
	rv = text != NULL ? write_file(e, path, text, 0600) : BATON_ENOMEM;
	free(text);
	return rv;
}

/* A socket directory outside the data directory (pg_rewind and
 * pg_basebackup would copy a socket inside it) is created on demand, and
 * made private at every start: whoever can connect(2) to the socket may
 * try to log in as the superuser. */
static int ensure_socket_dir(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	if (strcmp(pg->socket_dir, pg->datadir) == 0) {
		return 0; /* 0700 already: initdb and pg_basebackup see to it */
	}
	return private_dir(e, pg->socket_dir);
}

/* Starts the server read-only. DURING_INIT: the init marker is ours. */
static int start_instance(struct baton_engine *e, bool during_init)
{
	struct pg *pg = PG(e);
	int rv = check_datadir(e, during_init);

	if (rv == 0) {
		rv = ensure_socket_dir(e);
	}
	if (rv != 0) {
		return rv;
	}
	if (baton_pg_postmaster_pid(e) > 0) {
		PGconn *c = admin_connect(e, 2);
		if (c != NULL) {
			PQfinish(c);
			return 0; /* already running */
		}
	}
	remove_stale_pidfile(e);
	rv = scrub_unfence(e);
	if (rv == 0) {
		rv = scrub_conninfo_password(e);
	}
	if (rv == 0) {
		rv = sync_lease_conf(e);
	}
	if (rv == 0) {
		rv = write_hba(e);
	}
	if (rv == 0) {
		/* the walreceiver reads it (primary_conninfo's passfile=) */
		rv = write_passfile(e);
	}
	if (rv != 0) {
		return rv;
	}
	if (pg_ctl(e, "start", NULL) != 0) {
		char tail[512] = "";
		FILE *f = fopen(pg->log_file, "r");
		if (f != NULL) {
			/* the last FATAL/PANIC line of the server log */
			char line[512];
			while (fgets(line, sizeof line, f) != NULL) {
				if (strstr(line, "FATAL") ||
				    strstr(line, "PANIC")) {
					snprintf(tail, sizeof tail, "%s", line);
				}
			}
			fclose(f);
		}
		baton_errmsg_printf(
		    e->errmsg, "postgres %s did not start: %s%s%s%s", pg->name,
		    tail[0] ? tail : out_summary(pg), tail[0] ? "" : " (see ",
		    tail[0] ? "" : pg->log_file, tail[0] ? "" : ")");
		return BATON_EENGINE;
	}
	return 0;
}

static int pg_start(struct baton_engine *e)
{
	return start_instance(e, false);
}

/* After pg_ctl's stop gave up: what the server's processes are doing, one
 * line each. A process the kernel holds in an uninterruptible sleep (state
 * D: a flush, a discard, a journal commit) outlives every signal, SIGKILL
 * included, and its kernel stack says what it waits for. */
static void log_still_running(struct baton_engine *e, const char *how)
{
	struct pg *pg = PG(e);
	char tree[8192], *line, *save = NULL;
	int pid = baton_pg_postmaster_pid(e);

	if (pid == 0 || baton_proc_describe_tree(pid, tree, sizeof tree) == 0) {
		return;
	}
	for (line = strtok_r(tree, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		BATON_WARN("engine",
			   "postgres %s still running %u s after %s stop: %s",
			   pg->name, pg->timeout_s, how, line);
	}
}

/* What `pg_ctl stop -m fast|immediate -w` does (SIGINT or SIGQUIT to the
 * postmaster, then wait until it is gone), with one thing more: while it
 * waits it ends the postmaster's children that never got past a client's
 * startup packet. PostgreSQL 15 waits for its dead-end children (a client
 * that connected during the shutdown, to be told so) and signals none of
 * them, not even in an immediate shutdown, so a client that connects and
 * says nothing held every stop for authentication_timeout: 60 s, seen in 2
 * of 33 heals on the lab, where load writers connect to every instance.
 * The shutdown checkpoint does not wait for them, so ending them loses
 * nothing; the untitled ones are the only children signalled. 0 once the
 * postmaster is gone, BATON_ETIMEDOUT after pg->timeout_s. */
static int stop_server(struct baton_engine *e, int sig)
{
	struct pg *pg = PG(e);
	int pid = baton_pg_postmaster_pid(e);
	double start = baton_mono_ms_double(), now, sweep = start + 200;

	if (pid == 0) {
		return 0;
	}
	if (kill(pid, sig) != 0 && errno != ESRCH) {
		baton_errmsg_printf(e->errmsg, "cannot signal postgres %s: %s",
				    pg->name, strerror(errno));
		return BATON_EENGINE;
	}
	while ((pid = baton_pg_postmaster_pid(e)) != 0) {
		now = baton_mono_ms_double();
		if (now - start >= pg->timeout_s * 1000.0) {
			baton_errmsg_printf(e->errmsg,
					    "postgres %s did not stop in %u s",
					    pg->name, pg->timeout_s);
			return BATON_ETIMEDOUT;
		}
		if (now >= sweep) {
			int n =
			    baton_proc_signal_untitled_children(pid, SIGTERM);
			if (n > 0) {
				BATON_INFO(
				    "engine",
				    "postgres %s: ended %d connection(s) "
				    "that sent no startup packet, so the "
				    "stop need not wait for them",
				    pg->name, n);
			}
			sweep = now + 200;
		}
		sleep_ms(10);
	}
	return 0;
}

static int pg_stop(struct baton_engine *e, bool immediate)
{
	struct pg *pg = PG(e);

	session_close(e);
	if (baton_pg_postmaster_pid(e) == 0) {
		return 0;
	}
	if (!immediate && stop_server(e, SIGINT) == 0) {
		return 0;
	}
	if (!immediate) {
		log_still_running(e, "a fast");
	}
	if (stop_server(e, SIGQUIT) == 0) {
		return 0;
	}
	/* pg_ctl gave up: the postmaster itself */
	int pid = baton_pg_postmaster_pid(e);
	if (pid == 0) {
		return 0; /* it died meanwhile */
	}
	log_still_running(e, "an immediate");
	if (kill(pid, SIGKILL) == 0 || errno == ESRCH) {
		BATON_WARN("engine", "postgres %s killed (pid %d)", pg->name,
			   pid);
		return 0;
	}
	baton_errmsg_printf(e->errmsg, "cannot stop postgres %s: %s", pg->name,
			    out_summary(pg));
	return BATON_EENGINE;
}

static int pg_status(struct baton_engine *e, struct baton_engine_status *st)
{
	PGconn *c;
	int rv;

	memset(st, 0, sizeof *st);
	st->lag_bytes = -1;
	if (baton_pg_postmaster_pid(e) == 0) {
		st->role = BATON_ROLE_STOPPED;
		st->read_only = true;
		return 0;
	}
	c = session_get(e, 2);
	if (c == NULL) {
		st->role = BATON_ROLE_UNKNOWN;
		return BATON_ECONN;
	}
	rv = pg_status_conn(e, c, st);
	session_done(e, c);
	return rv;
}

static int pg_promote(struct baton_engine *e, uint64_t ref_lsn)
{
	struct pg *pg = PG(e);
	struct baton_engine_status st;
	char out[64];
	PGconn *c;
	int rv;

	/* Stopped (a fence that could not confirm read-only stops the
	 * server; a start that failed once): start it first. It comes up
	 * read-only (start scrubs an unfence), so the promote below is the
	 * only way it takes writes, under a lease, as always. Before, the
	 * order failed with "cannot connect" for good (the kind lab's
	 * kill-region drill, docs/kind.md). */
	if (baton_pg_postmaster_pid(e) == 0) {
		BATON_INFO("engine",
			   "%s is not running: starting it to promote it",
			   pg->name);
		rv = start_instance(e, false);
		if (rv != 0) {
			return rv;
		}
	}
	c = session_get(e, pg->timeout_s);
	if (c == NULL) {
		return BATON_ECONN;
	}
	rv = pg_status_conn(e, c, &st);
	if (rv != 0) {
		goto out;
	}
	if (st.role == BATON_ROLE_PRIMARY) {
		goto out; /* already promoted: idempotent */
	}
	int64_t lag = st.lag_bytes;
	if (ref_lsn > st.replay_lsn &&
	    (int64_t)(ref_lsn - st.replay_lsn) > lag) {
		lag = (int64_t)(ref_lsn - st.replay_lsn);
	}
	if (e->max_lag_bytes >= 0 && lag > e->max_lag_bytes) {
		baton_errmsg_printf(e->errmsg,
				    "refusing to promote %s: replica is %lld "
				    "bytes behind (maxLagBytes %lld)",
				    pg->name, (long long)lag,
				    (long long)e->max_lag_bytes);
		rv = BATON_EBUSY;
		goto out;
	}
	/* Stay fenced across the promotion: the agent unfences under lease.
	 * A replica is born read-only (baton.conf) and only the agent's
	 * unfence, which reloads at once, writes "off" (an "off" a crash
	 * left behind is scrubbed at start): when the setting in force is
	 * "on", so is every file a reload would read, and ALTER SYSTEM's
	 * fsync and a reload are skipped (pg_fence's rule). */
	rv = exec_sql(e, c, "SHOW default_transaction_read_only", out,
		      sizeof out);
	if (rv == 0 && strcmp(out, "on") != 0) {
		rv = exec_sql(
		    e, c, "ALTER SYSTEM SET default_transaction_read_only = on",
		    NULL, 0);
		if (rv == 0) {
			rv = exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0);
		}
	}
	/* pg_promote(wait => true) polls every 100 ms; poll ourselves at
	 * 5 ms instead: the promotion itself takes a few tens of ms */
	if (rv == 0) {
		rv =
		    exec_sql(e, c, "SELECT pg_promote(false)", out, sizeof out);
	}
	if (rv == 0) {
		double deadline = baton_mono_ms_double() + 60000;
		do {
			rv = exec_sql(e, c, "SELECT pg_is_in_recovery()", out,
				      sizeof out);
			if (rv != 0 || strcmp(out, "f") == 0) {
				break;
			}
			sleep_ms(5);
		} while (baton_mono_ms_double() < deadline);
		if (rv == 0 && strcmp(out, "f") == 0) {
			snprintf(out, sizeof out, "t");
		}
	}
	if (rv == 0 && strcmp(out, "t") != 0) {
		baton_errmsg_printf(e->errmsg,
				    "pg_promote on %s did not finish in 60 s",
				    pg->name);
		rv = BATON_ETIMEDOUT;
	}
	/* No CHECKPOINT here: it would delay the first write by ~200 ms.
	 * pg_rewind reads the source's timeline from its control file, so
	 * rejoin() asks the new primary for a checkpoint right before it
	 * rewinds (the replication role holds pg_checkpoint). */
	if (rv == 0) {
		BATON_INFO("engine", "promoted %s (lag was %lld bytes)",
			   pg->name, (long long)lag);
	}
out:
	session_done(e, c);
	return rv;
}

/* Whether every new client session gets default_transaction_read_only =
 * WANT_ON after a reload. Asked on the kept session: pg_reload_conf()
 * signals the postmaster alone, which rereads the files, then signals
 * every backend, and forks new sessions from its own (reloaded) memory;
 * the kept session applies a pending reload between two commands (the
 * empty query session_get() sends). So once the kept session shows the
 * value, the postmaster has it, and so does every session it forks from
 * then on. Before, a new session per try: 50-150 ms each on the loaded
 * lab, on the way to the first write after every promote. */
static bool read_only_confirmed(struct baton_engine *e, bool want_on)
{
	double deadline = baton_mono_ms_double() + 3000;
	char out[16];

	do {
		PGconn *c = session_get(e, 2);
		if (c != NULL) {
			int rv =
			    exec_sql(e, c, "SHOW default_transaction_read_only",
				     out, sizeof out);
			session_done(e, c);
			if (rv == 0 &&
			    strcmp(out, want_on ? "on" : "off") == 0) {
				return true;
			}
		}
		sleep_ms(5);
	} while (baton_mono_ms_double() < deadline);
	return false;
}

static int pg_fence(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	char out[16];
	PGconn *c;
	int rv;

	if (baton_pg_postmaster_pid(e) == 0) {
		return 0; /* not running: accepts nothing */
	}
	c = session_get(e, 2);
	if (c == NULL) {
		goto stop;
	}
	/* Already read-only for every new session (the agent fenced itself
	 * when its lease ended, and batond's fence order for a switchover
	 * follows at once): the setting is in force and persisted, only the
	 * sessions are cut again. On a loaded lab the full fence took ~0.8 s
	 * (ALTER SYSTEM's fsync, a reload, new sessions to confirm it), on
	 * the switchover's critical path, twice. The kept session's value is
	 * the server's: every reload comes from this engine, one operation
	 * at a time, and an unfence returns only once new sessions see "off"
	 * (the postmaster signals every backend before it forks a new one),
	 * so the empty query session_get() sends has applied it here. */
	rv = exec_sql(e, c, "SHOW default_transaction_read_only", out,
		      sizeof out);
	if (rv == 0 && strcmp(out, "on") == 0) {
		session_done(e, c);
		goto cut_sessions;
	}
	rv = exec_sql(e, c,
		      "ALTER SYSTEM SET default_transaction_read_only = on",
		      NULL, 0);
	if (rv == 0) {
		rv = exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0);
	}
	session_done(e, c);
	if (rv != 0 || !read_only_confirmed(e, true)) {
		goto stop;
	}
cut_sessions:
	/* Sessions that began before the reload may be inside a write
	 * transaction: cut every client session. */
	c = session_get(e, 2);
	if (c == NULL) {
		goto stop;
	}
	rv = exec_sql(e, c,
		      "SELECT count(pg_terminate_backend(pid)) FROM "
		      "pg_stat_activity WHERE backend_type = 'client backend' "
		      "AND pid <> pg_backend_pid()",
		      NULL, 0);
	session_done(e, c);
	if (rv != 0) {
		goto stop;
	}
	return 0;

stop:
	BATON_WARN("engine", "cannot confirm %s is read-only (%s): stopping it",
		   pg->name, e->errmsg);
	rv = pg_stop(e, false);
	if (rv != 0) {
		return rv;
	}
	return 0;
}

static int pg_unfence(struct baton_engine *e)
{
	PGconn *c = session_get(e, PG(e)->timeout_s);
	int rv;

	if (c == NULL) {
		return BATON_ECONN;
	}
	rv = exec_sql(e, c,
		      "ALTER SYSTEM SET default_transaction_read_only = off",
		      NULL, 0);
	if (rv == 0) {
		rv = exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0);
	}
	session_done(e, c);
	if (rv == 0 && !read_only_confirmed(e, false)) {
		baton_errmsg_printf(
		    e->errmsg, "%s still read-only after reload", PG(e)->name);
		rv = BATON_ETIMEDOUT;
	}
	return rv;
}

/* The primary's synchronous list becomes NAMES (docs/design-per-instance.md
 * §3.3). A name removed from the list may have helped acknowledge a commit
 * until its walsender applied the reload; so the answer, X, is read only
 * once (1) the postmaster reloaded (a new session's pg_conf_load_time() is
 * past a time read after the file was written: every later walsender
 * starts with the new list) and (2)
 * every walsender of an unlisted name shows sync_state 'async' (priority 0:
 * it releases no waiter and counts in no quorum). A commit acknowledged
 * with a removed name's help was flushed here first, so its LSN <= X.
 *
 * Names are compared without case, as PostgreSQL matches
 * synchronous_standby_names. A replica (or a stopped instance) only
 * records the list in baton.conf, for its promotion: *FLUSH_LSN 0. */
static int wait_list_applied(struct baton_engine *e, const char *before,
			     const char *const *names, unsigned n,
			     uint64_t *flush_lsn)
{
	struct pg *pg = PG(e);
	double deadline = baton_mono_ms_double() + pg->timeout_s * 1000.0;
	char why[BATON_ERRMSG_SIZE] = "the postmaster has not reloaded";

	for (;;) {
		PGconn *c = admin_connect(e, pg->timeout_s);
		const char *params[1] = {before};
		PGresult *r;
		bool reloaded = false, released = true;

		if (c == NULL) {
			return BATON_ECONN;
		}
		r = PQexecParams(c,
				 "SELECT pg_conf_load_time() > $1::timestamptz",
				 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			reloaded = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		}
		PQclear(r);
		r = PQexec(c, "SELECT application_name, sync_state"
			      " FROM pg_stat_replication");
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			baton_errmsg_printf(e->errmsg,
					    "standby query failed: %s",
					    PQerrorMessage(c));
			PQclear(r);
			PQfinish(c);
			return BATON_EENGINE;
		}
		for (int i = 0; reloaded && i < PQntuples(r); i++) {
			const char *name = PQgetvalue(r, i, 0);
			bool listed = false;
			for (unsigned j = 0; j < n && !listed; j++) {
				listed = strcasecmp(name, names[j]) == 0;
			}
			if (!listed &&
			    strcmp(PQgetvalue(r, i, 1), "async") != 0) {
				released = false;
				snprintf(why, sizeof why,
					 "standby %.64s, no longer listed, is "
					 "still '%.16s'",
					 name, PQgetvalue(r, i, 1));
			}
		}
		PQclear(r);
		if (reloaded && released) {
			char out[64];
			int rv =
			    exec_sql(e, c, "SELECT pg_current_wal_flush_lsn()",
				     out, sizeof out);
			if (rv == 0 &&
			    baton_pg_parse_lsn(out, flush_lsn) != 0) {
				baton_errmsg_printf(
				    e->errmsg, "bad flush position '%s'", out);
				rv = BATON_EENGINE;
			}
			PQfinish(c);
			return rv;
		}
		PQfinish(c);
		if (baton_mono_ms_double() >= deadline) {
			baton_errmsg_printf(
			    e->errmsg,
			    "the new synchronous list of %s did "
			    "not take effect in %u s: %s",
			    pg->name, pg->timeout_s, why);
			return BATON_ETIMEDOUT;
		}
		sleep_ms(10);
	}
}

static int pg_set_sync_names(struct baton_engine *e, const char *const *names,
			     unsigned n, uint64_t *flush_lsn)
{
	struct pg *pg = PG(e);
	char csv[BATON_ENGINE_MAX_STANDBYS * BATON_ENGINE_NAME_SIZE] = "";
	char before[128], role[8];
	size_t used = 0;
	char *old;
	PGconn *c;
	int rv;

	*flush_lsn = 0;
	if (n > BATON_ENGINE_MAX_STANDBYS) {
		baton_errmsg_printf(e->errmsg,
				    "%u synchronous standby names: at most %d",
				    n, BATON_ENGINE_MAX_STANDBYS);
		return BATON_EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!baton_engine_standby_name_valid(names[i])) {
			baton_errmsg_printf(e->errmsg,
					    "'%.64s' is no standby name: 1-63 "
					    "of A-Z a-z 0-9 . _ -",
					    names[i]);
			return BATON_EINVAL;
		}
		used += (size_t)snprintf(csv + used, sizeof csv - used, "%s%s",
					 i > 0 ? "," : "", names[i]);
	}
	old = pg->sync_names;
	pg->sync_names = dupstr(csv);
	if (pg->sync_names == NULL) {
		pg->sync_names = old;
		return BATON_ENOMEM;
	}
	/* a stopped instance reads the file at its next start; an empty
	 * data directory gets the list with its init */
	if (baton_pg_postmaster_pid(e) == 0) {
		rv = file_exists(pg->datadir, "PG_VERSION") ? sync_lease_conf(e)
							    : 0;
		goto out;
	}
	c = session_get(e, pg->timeout_s);
	if (c == NULL) {
		rv = BATON_ECONN;
		goto out;
	}
	/* BEFORE is read once the file holds the new list: any reload the
	 * postmaster makes later (ours, or one another caller asked for)
	 * reads it */
	if ((rv = exec_sql(e, c, "SELECT pg_is_in_recovery()", role,
			   sizeof role)) != 0 ||
	    (rv = sync_lease_conf(e)) != 0 ||
	    (rv = exec_sql(e, c, "SELECT clock_timestamp()", before,
			   sizeof before)) != 0 ||
	    (rv = exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0)) != 0) {
		session_done(e, c);
		goto out;
	}
	session_done(e, c);
	if (strcmp(role, "f") == 0) {
		rv = wait_list_applied(e, before, names, n, flush_lsn);
	}
out:
	if (rv != 0) {
		/* the new list stays in memory: every later write of
		 * baton.conf uses it; the caller retries the order */
		BATON_WARN("engine", "set_sync_names on %s: %s", pg->name,
			   e->errmsg);
	}
	if (rv == 0) {
		BATON_INFO("engine", "%s: synchronous standbys now '%s'%s",
			   pg->name, pg->sync_names,
			   *flush_lsn ? "" : " (applies when promoted)");
	}
	free(old);
	return rv;
}

/* The standby on C stops receiving: baton.conf without primary_conninfo,
 * a reload, and the WAL receiver gone (the startup process ends it). It
 * stays a hot standby and replays what it has. */
static int stop_receiving(struct baton_engine *e, PGconn *c)
{
	double deadline = baton_mono_ms_double() + 10000;
	char out[32];
	int rv = write_baton_conf(e, NULL);

	if (rv == 0) {
		rv = exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0);
	}
	while (rv == 0) {
		rv = exec_sql(e, c,
			      "SELECT count(*) FROM pg_stat_wal_receiver "
			      "WHERE pid IS NOT NULL",
			      out, sizeof out);
		if (rv != 0 || strcmp(out, "0") == 0) {
			break;
		}
		if (baton_mono_ms_double() > deadline) {
			baton_errmsg_printf(e->errmsg,
					    "the WAL receiver of %s did not "
					    "stop within 10 s",
					    PG(e)->name);
			rv = BATON_ETIMEDOUT;
			break;
		}
		sleep_ms(10);
	}
	return rv;
}

/* A synchronous failover (consensus/decider.h): the replica stops
 * receiving from the old primary, so it acknowledges nothing more, and
 * says where its WAL ends. Without primary_conninfo (baton.conf rewritten
 * without it, then a reload) the startup process ends the WAL receiver;
 * we wait until pg_stat_wal_receiver is empty, then read the last
 * position received and flushed (what a commit's acknowledgement waited
 * for). No restart: the instance stays a hot standby. */
static int pg_detach(struct baton_engine *e, uint64_t *final_lsn)
{
	struct pg *pg = PG(e);
	PGconn *c;
	char out[64];
	int rv;

	c = session_get(e, 2);
	if (c == NULL) {
		return BATON_ECONN;
	}
	rv = exec_sql(e, c, "SELECT pg_is_in_recovery()", out, sizeof out);
	if (rv == 0 && strcmp(out, "t") != 0) {
		baton_errmsg_printf(
		    e->errmsg, "%s is a primary: nothing to detach", pg->name);
		rv = BATON_ECONFLICT;
	}
	if (rv == 0) {
		rv = stop_receiving(e, c);
	}
	if (rv == 0) {
		rv = exec_sql(e, c,
			      "SELECT COALESCE(pg_last_wal_receive_lsn(),"
			      " pg_last_wal_replay_lsn())",
			      out, sizeof out);
	}
	if (rv == 0 && baton_pg_parse_lsn(out, final_lsn) != 0) {
		baton_errmsg_printf(e->errmsg, "%s: unreadable position '%s'",
				    pg->name, out);
		rv = BATON_EENGINE;
	}
	session_done(e, c);
	if (rv == 0) {
		BATON_INFO("engine", "%s detached from its primary at %s",
			   pg->name, out);
	}
	return rv;
}

static int read_checkpoint_lsn(struct baton_engine *e, uint64_t *lsn)
{
	struct pg *pg = PG(e);
	char tool[512];
	char *line;

	tool_path(pg, "pg_controldata", tool, sizeof tool);
	char *argv[] = {tool, "-D", pg->datadir, NULL};
	if (run(pg, argv, NULL) != 0 ||
	    (line = strstr(pg->out, "Latest checkpoint location:")) == NULL) {
		baton_errmsg_printf(e->errmsg, "pg_controldata %s failed: %s",
				    pg->datadir, out_summary(pg));
		return BATON_EENGINE;
	}
	line += strlen("Latest checkpoint location:");
	while (*line == ' ') {
		line++;
	}
	char buf[32];
	size_t n = strcspn(line, "\n");
	snprintf(buf, sizeof buf, "%.*s", (int)(n < 31 ? n : 31), line);
	return baton_pg_parse_lsn(buf, lsn);
}

static int pg_demote(struct baton_engine *e, uint64_t *final_lsn)
{
	int rv = pg_fence(e);
	if (rv != 0) {
		return rv;
	}
	/* A fast shutdown makes the walsenders send everything up to and
	 * including the shutdown checkpoint before they exit. */
	rv = pg_stop(e, false);
	if (rv != 0) {
		return rv;
	}
	return read_checkpoint_lsn(e, final_lsn);
}

int baton_pg_rewind_failure(const char *output, bool earlier)
{
	if (strstr(output, "different systems") != NULL ||
	    strstr(output, "different system") != NULL) {
		return BATON_PG_REWIND_REFUSE;
	}
	/* pg_rewind names the divergence point, then starts rewriting */
	if (earlier || strstr(output, "servers diverged") != NULL ||
	    strstr(output, "rewinding from last common checkpoint") != NULL) {
		return BATON_PG_REWIND_RECLONE;
	}
	return BATON_PG_REWIND_RETRY;
}

/* DATADIR.baton-rewind, next to the data directory: a rewind is running
 * (or was killed). Like the init marker, fsynced before pg_rewind starts
 * and removed only when it finished. */
static void rewind_marker_path(struct pg *pg, char *buf, size_t n)
{
	snprintf(buf, n, "%s.baton-rewind", pg->datadir);
}

/* pg_rewind failed after it may have rewritten part of DATADIR: the
 * directory is no instance any more (PostgreSQL's documentation: take a
 * fresh backup). The order said this instance follows PRIMARY, so what it
 * holds beyond the primary was never acknowledged in synchronous mode, and
 * rewinding would have dropped it too: clone again, under the init marker
 * (a crash half way leaves an unfinished init the next init clears). */
static int reclone(struct baton_engine *e,
		   const struct baton_engine_peer *primary, const char *why)
{
	struct pg *pg = PG(e);
	char path[1024];
	int rv;

	BATON_WARN("engine",
		   "pg_rewind of %s left %s unusable (%s): cloning it again "
		   "from %s:%d",
		   pg->name, pg->datadir, why, primary->host, primary->port);
	if ((rv = write_init_marker(e)) != 0) {
		return rv;
	}
	rewind_marker_path(pg, path, sizeof path);
	(void)unlink(path);
	sync_parent_dir(pg);
	if (baton_pg_postmaster_pid(e) > 0 && (rv = pg_stop(e, true)) != 0) {
		return rv;
	}
	remove_stale_pidfile(e);
	if ((rv = wipe_unfinished_init(e)) != 0) {
		return rv;
	}
	rv = init_replica_steps(e, primary);
	if (rv != 0) {
		undo_failed_init(e);
		return rv;
	}
	remove_init_marker(pg);
	BATON_INFO("engine", "%s cloned again from %s:%d after a failed rewind",
		   pg->name, primary->host, primary->port);
	return 0;
}

/* How this instance reaches PRIMARY as the replication role (EXTRA:
 * "dbname=postgres" or "replication=true"): the password stays in the
 * passfile (write_passfile() first). */
static void source_conninfo(struct baton_engine *e,
			    const struct baton_engine_peer *primary,
			    const char *extra, char *out, size_t size)
{
	struct pg *pg = PG(e);
	char pf[1100];

	conninfo_escape(pg->passfile, pf, sizeof pf);
	snprintf(out, size,
		 "host=%s port=%d user=%s passfile='%s' %s connect_timeout=5",
		 primary->host, primary->port, pg->repl_user, pf, extra);
}

bool baton_pg_history_switchpoint(const char *history, unsigned tli,
				  uint64_t *lsn)
{
	const char *line = history;

	while (line != NULL && *line != '\0') {
		unsigned parent, hi, lo;
		const char *next = strchr(line, '\n');
		if (sscanf(line, "%u\t%X/%X", &parent, &hi, &lo) == 3 &&
		    parent == tli) {
			*lsn = ((uint64_t)hi << 32) | lo;
			return true;
		}
		line = next != NULL ? next + 1 : NULL;
	}
	return false;
}

/* baton_pg_past_fork() with the passfile written and, when the caller
 * knows it, the timeline PRIMARY writes (SRC_TLI; 0: asked here). */
/* After stop_receiving(), the standby on C replays what it received
 * until it passes SWITCHPOINT, has replayed all it received, or its
 * startup process waits for WAL that will not come; *REPLAY is where it
 * got. A record cut short at the end of what it received never replays:
 * the wait for WAL says so. At most 1 s. */
static int settle_replay(struct baton_engine *e, PGconn *c,
			 uint64_t switchpoint, uint64_t *replay)
{
	double deadline = baton_mono_ms_double() + 1000;
	int idle = 0;

	for (;;) {
		PGresult *r = PQexec(
		    c, "SELECT pg_last_wal_replay_lsn(),"
		       " COALESCE(pg_last_wal_receive_lsn(), '0/0'),"
		       " COALESCE((SELECT wait_event FROM pg_stat_activity"
		       " WHERE backend_type = 'startup'), '')");
		uint64_t received = 0;
		bool waiting;

		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
		    baton_pg_parse_lsn(PQgetvalue(r, 0, 0), replay) != 0 ||
		    baton_pg_parse_lsn(PQgetvalue(r, 0, 1), &received) != 0) {
			baton_errmsg_printf(e->errmsg,
					    "%s: replay position: %s",
					    PG(e)->name, PQerrorMessage(c));
			PQclear(r);
			return BATON_EENGINE;
		}
		waiting = strcmp(PQgetvalue(r, 0, 2),
				 "RecoveryRetrieveRetryInterval") == 0;
		PQclear(r);
		idle = waiting ? idle + 1 : 0;
		if (*replay > switchpoint || *replay >= received || idle >= 2 ||
		    baton_mono_ms_double() > deadline) {
			return 0;
		}
		sleep_ms(5);
	}
}

static int past_fork(struct baton_engine *e,
		     const struct baton_engine_peer *primary, unsigned src_tli,
		     bool *past)
{
	struct pg *pg = PG(e);
	char src[2048], out[128], cmd[64];
	unsigned my_tli = 0;
	uint64_t mine = 0, switchpoint = 0;
	PGconn *c, *rc = NULL;
	PGresult *r = NULL;
	int rv;

	*past = true;
	c = session_get(e, 2);
	if (c == NULL) {
		return BATON_ECONN;
	}
	/* the timeline and the end of the last record this standby replayed:
	 * what PostgreSQL compares with the switch point (a received
	 * position can end past it in a record's unfinished tail, and the
	 * standby still follows: the lab's failovers said "no rewind
	 * required" when the received position was used). Records received
	 * but not yet replayed are missed here; the reload's own check
	 * catches those, as before. */
	rv = exec_sql(
	    e, c,
	    "SELECT COALESCE((SELECT received_tli FROM pg_stat_wal_receiver),"
	    " 0) || ' ' || COALESCE(pg_last_wal_replay_lsn(), '0/0')",
	    out, sizeof out);
	session_done(e, c);
	if (rv != 0) {
		return rv;
	}
	/* Only a streaming standby says which timeline it is on: without a
	 * WAL receiver (a detached standby, a failover's) the last
	 * checkpoint's timeline can be several switches old, and the wrong
	 * switch point said "past" where pg_rewind found nothing to do. Not
	 * known: not past, and the reload decides, as before. */
	if (strncmp(out, "0 ", 2) == 0) {
		*past = false;
		return 0;
	}
	{
		char lsn[64];
		if (sscanf(out, "%u %63s", &my_tli, lsn) != 2 ||
		    baton_pg_parse_lsn(lsn, &mine) != 0) {
			baton_errmsg_printf(e->errmsg,
					    "%s: unexpected position '%s'",
					    pg->name, out);
			return BATON_EENGINE;
		}
	}
	source_conninfo(e, primary, "replication=true", src, sizeof src);
	rc = PQconnectdb(src);
	if (PQstatus(rc) != CONNECTION_OK) {
		baton_errmsg_printf(
		    e->errmsg, "replication connection to %s:%d: %s",
		    primary->host, primary->port, PQerrorMessage(rc));
		rv = BATON_ECONN;
		goto out;
	}
	if (src_tli == 0) {
		r = PQexec(rc, "IDENTIFY_SYSTEM");
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
		    PQnfields(r) < 2) {
			baton_errmsg_printf(
			    e->errmsg, "IDENTIFY_SYSTEM on %s:%d: %s",
			    primary->host, primary->port, PQerrorMessage(rc));
			rv = BATON_EENGINE;
			goto out;
		}
		src_tli = (unsigned)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
		PQclear(r);
		r = NULL;
	}
	if (src_tli == my_tli) {
		*past = false; /* no fork between them */
		goto out;
	}
	if (src_tli < my_tli || src_tli < 2) {
		goto out; /* the standby is ahead: a rewind */
	}
	snprintf(cmd, sizeof cmd, "TIMELINE_HISTORY %u", src_tli);
	r = PQexec(rc, cmd);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    PQnfields(r) < 2) {
		baton_errmsg_printf(e->errmsg, "%s on %s:%d: %s", cmd,
				    primary->host, primary->port,
				    PQerrorMessage(rc));
		rv = BATON_EENGINE;
		goto out;
	}
	if (baton_pg_history_switchpoint(PQgetvalue(r, 0, 1), my_tli,
					 &switchpoint)) {
		/* Still streaming from the old primary, this standby can
		 * receive WAL past the fork after this check (a switchover's
		 * old primary writes some after its final position: hint
		 * bits, snapshots); the reload then found out only when its
		 * 3 s ran out (one switchover in three on the lab). So it
		 * stops receiving first and replays what it has: the answer
		 * cannot change after that. */
		c = session_get(e, 2);
		if (c == NULL) {
			rv = BATON_ECONN;
			goto out;
		}
		/* a paused startup process would not end the receiver */
		(void)exec_sql(e, c, "SELECT pg_wal_replay_resume()", NULL, 0);
		rv = stop_receiving(e, c);
		if (rv == 0) {
			rv = settle_replay(e, c, switchpoint, &mine);
		}
		session_done(e, c);
		if (rv == 0) {
			*past = mine > switchpoint;
		}
	} /* else: our timeline is not in its history: a rewind */
out:
	PQclear(r);
	PQfinish(rc);
	return rv;
}

int baton_pg_past_fork(struct baton_engine *e,
		       const struct baton_engine_peer *primary, bool *past)
{
	int rv = write_passfile(e);

	*past = true;
	return rv != 0 ? rv : past_fork(e, primary, 0, past);
}

/* A standby that is not ahead of PRIMARY's timeline fork follows it with
 * a reload: primary_conninfo names PRIMARY (PostgreSQL 13+ restarts the
 * WAL receiver on a reload), and recovery_target_timeline = latest lets
 * the startup process take PRIMARY's new timeline from its history file.
 * No restart and no pg_rewind: the instance keeps serving reads and, in
 * synchronous mode, acknowledges the new primary's commits within a
 * fraction of a second instead of after a stop, a rewind and a start.
 *
 * Whether it may follow is PostgreSQL's own check, not ours: the startup
 * process refuses a timeline that forked off before its recovery point
 * ("forked off current database system timeline ... before current
 * recovery point") and stays on its own. So the answer is what it does:
 * true only once the WAL receiver streams from PRIMARY on SRC_TLI, the
 * timeline PRIMARY writes; false after WAIT_MS otherwise, and the caller
 * rewinds as before (which rewrites the configuration anyway). */
static bool follow_by_reload(struct baton_engine *e,
			     const struct baton_engine_peer *primary,
			     const char *src_tli, unsigned wait_ms)
{
	struct pg *pg = PG(e);
	char out[64], sql[512], host[256];
	char *esc;
	double deadline;
	PGconn *c;
	bool ok = false;

	if (src_tli[0] == '\0' || baton_pg_postmaster_pid(e) == 0) {
		return false;
	}
	c = session_get(e, 2);
	if (c == NULL) {
		return false;
	}
	if (exec_sql(e, c, "SELECT pg_is_in_recovery()", out, sizeof out) !=
		0 ||
	    strcmp(out, "t") != 0) {
		goto out; /* an old primary: only a rewind makes it a standby */
	}
	if (write_baton_conf(e, primary) != 0 ||
	    exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0) != 0) {
		goto out;
	}
	/* sender_host is what primary_conninfo says (an address here) */
	esc = PQescapeLiteral(c, primary->host, strlen(primary->host));
	if (esc == NULL) {
		goto out;
	}
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM pg_stat_wal_receiver WHERE "
		 "status = 'streaming' AND sender_host = %s AND "
		 "sender_port = %d AND received_tli = %s",
		 esc, primary->port, src_tli);
	PQfreemem(esc);
	snprintf(host, sizeof host, "%s:%d", primary->host, primary->port);
	deadline = baton_mono_ms_double() + wait_ms;
	do {
		if (exec_sql(e, c, sql, out, sizeof out) != 0) {
			break;
		}
		if (strcmp(out, "1") == 0) {
			ok = true;
			break;
		}
		sleep_ms(20);
	} while (baton_mono_ms_double() < deadline);
	if (ok) {
		BATON_INFO("engine",
			   "%s follows %s on timeline %s after a reload (no "
			   "restart, no rewind)",
			   pg->name, host, src_tli);
	} else {
		BATON_INFO("engine",
			   "%s does not stream from %s on timeline %s within "
			   "%u ms of a reload: rewinding",
			   pg->name, host, src_tli, wait_ms);
	}
out:
	session_done(e, c);
	return ok;
}

/* How long pg_cascade() waits for its upstream to have flushed everything
 * this standby received. Both stream from the same primary, so it is
 * normally there already; a primary that is gone leaves it behind for
 * good, and the standby then goes back to its primary. */
#define CASCADE_WAIT_MS 2000

/* IDENTIFY_SYSTEM on the replication connection RC: the database system,
 * the timeline and the position up to which RC's server would send WAL
 * (on a standby: what it has flushed, or replayed if further, on its
 * replay timeline; on a primary: its flush position on its timeline). */
static int identify(struct baton_engine *e, PGconn *rc,
		    const struct baton_engine_peer *peer, char *sysid,
		    size_t size, unsigned *tli, uint64_t *pos)
{
	PGresult *r = PQexec(rc, "IDENTIFY_SYSTEM");
	int rv = 0;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 ||
	    PQnfields(r) < 3 ||
	    baton_pg_parse_lsn(PQgetvalue(r, 0, 2), pos) != 0) {
		baton_errmsg_printf(e->errmsg, "IDENTIFY_SYSTEM on %s:%d: %s",
				    peer->host, peer->port, PQerrorMessage(rc));
		rv =
		    PQstatus(rc) == CONNECTION_OK ? BATON_EENGINE : BATON_ECONN;
	} else {
		snprintf(sysid, size, "%s", PQgetvalue(r, 0, 0));
		*tli = (unsigned)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
	}
	PQclear(r);
	return rv;
}

/* After a reload that points primary_conninfo at UPSTREAM: until the
 * session C sees it. A backend applies a reload between two commands,
 * maybe not by the next one, and the status that answers an order is read
 * on this session: one that still showed the old setting made the agent
 * report the old upstream (pg_cascade() says what that cost). */
static int await_upstream(struct baton_engine *e, PGconn *c,
			  const struct baton_engine_peer *upstream)
{
	char want[128], ci[4200];
	double deadline = baton_mono_ms_double() + 2000;

	snprintf(want, sizeof want, "%s:%d", upstream->host, upstream->port);
	for (;;) {
		char now_up[128] = "";
		if (exec_sql(e, c, "SELECT current_setting('primary_conninfo')",
			     ci, sizeof ci) == 0) {
			conninfo_upstream(ci, now_up, sizeof now_up);
		}
		if (strcmp(now_up, want) == 0) {
			return 0;
		}
		if (baton_mono_ms_double() > deadline) {
			baton_errmsg_printf(e->errmsg,
					    "%s: the reload naming %s was not "
					    "seen within 2 s",
					    PG(e)->name, want);
			return BATON_ETIMEDOUT;
		}
		sleep_ms(5);
	}
}

/* A synchronous failover's standby, detached (pg_detach: it receives from
 * nobody, its WAL end fixed), told to stream from the instance the FSM
 * picked or promoted while that instance is still a standby or still
 * promoting: it streams from it at once, as a cascading standby of a
 * standby, and follows its promotion on that connection (the cascading
 * walsender ends the old timeline at the switch point; the WAL receiver
 * here takes the new one, ~25 ms on the lab). Waiting for the promotion
 * to end first, then a fork check and the WAL receiver's restart on new
 * connections, put 0.5-0.9 s between the promote and the first
 * synchronous standby of every region failover, and the new primary
 * commits nothing before one streams (docs/lab.md). batond sends it as a
 * cascade once every standby reported where it stopped (the target is
 * then known and not promoted yet), and a rejoin tries it first.
 *
 * Safe for the same reason as pg_cascade(): this standby never holds WAL
 * that UPSTREAM lacks. Detached, it receives nothing more, so its position
 * is final; UPSTREAM, on the same system and the same timeline, has
 * flushed (or replayed) at least as much (IDENTIFY_SYSTEM on both: a
 * cascading walsender's own view of its replay timeline and position, the
 * numbers its WAL receiver would get); then whatever UPSTREAM does next,
 * promoted at the end of its WAL or left a standby, this one can follow it
 * without a rewind, or go to whichever standby is promoted instead (all
 * hold the same old timeline up to their own end).
 *
 * UPSTREAM promoted already (batond's rejoin after the promote was applied
 * races the promotion): its timeline history says where it forked off
 * this one; a standby not past that point follows it the same way (what
 * PostgreSQL itself checks before it takes a new timeline).
 *
 * *DETACHED false: not a detached standby (a primary, streaming or about
 * to, stopped): nothing was asked or changed, 0 returned. Else 0 once
 * primary_conninfo names UPSTREAM, or an error with nothing changed
 * (UPSTREAM behind or past the fork, another system, unreachable). */
static int follow_detached(struct baton_engine *e,
			   const struct baton_engine_peer *upstream,
			   bool *detached)
{
	struct pg *pg = PG(e);
	char out[64], ci[4200], up[128] = "", src[2048], port[16];
	char my_sys[64] = "", up_sys[64] = "";
	unsigned my_tli = 0, up_tli = 0;
	uint64_t mine = 0, up_pos = 0;
	const struct baton_engine_peer self = {"self", pg->port};
	PGconn *c, *me = NULL, *rc = NULL;
	bool forked = false;
	int rv;

	*detached = false;
	c = session_get(e, 2);
	if (c == NULL) {
		return 0; /* the caller's own path finds out */
	}
	/* detached: in recovery, no primary_conninfo, no WAL receiver */
	if (exec_sql(e, c,
		     "SELECT pg_is_in_recovery()::text || ' ' ||"
		     " (SELECT count(*) FROM pg_stat_wal_receiver"
		     " WHERE pid IS NOT NULL)",
		     out, sizeof out) != 0 ||
	    strcmp(out, "true 0") != 0 ||
	    exec_sql(e, c, "SELECT current_setting('primary_conninfo')", ci,
		     sizeof ci) != 0) {
		session_done(e, c);
		return 0;
	}
	conninfo_upstream(ci, up, sizeof up);
	if (up[0] != '\0') {
		session_done(e, c);
		return 0;
	}
	*detached = true;
	rv = write_passfile(e);
	if (rv == 0) {
		const char *keys[] = {
		    "host", "port", "user", "replication", "connect_timeout",
		    NULL};
		const char *vals[] = {pg->socket_dir, port, "postgres",
				      "true",	      "2",  NULL};
		snprintf(port, sizeof port, "%d", pg->port);
		me = PQconnectdbParams(keys, vals, 0);
		if (PQstatus(me) != CONNECTION_OK) {
			baton_errmsg_printf(e->errmsg,
					    "replication connection to %s "
					    "itself: %s",
					    pg->name, PQerrorMessage(me));
			rv = BATON_ECONN;
		}
	}
	if (rv == 0) {
		rv = identify(e, me, &self, my_sys, sizeof my_sys, &my_tli,
			      &mine);
	}
	if (rv == 0) {
		source_conninfo(e, upstream, "replication=true", src,
				sizeof src);
		rc = PQconnectdb(src);
		if (PQstatus(rc) != CONNECTION_OK) {
			baton_errmsg_printf(
			    e->errmsg, "replication connection to %s:%d: %s",
			    upstream->host, upstream->port, PQerrorMessage(rc));
			rv = BATON_ECONN;
		}
	}
	if (rv == 0) {
		rv = identify(e, rc, upstream, up_sys, sizeof up_sys, &up_tli,
			      &up_pos);
	}
	if (rv == 0 && strcmp(my_sys, up_sys) == 0 && my_tli != 0 &&
	    up_tli > my_tli) {
		/* promoted already (or promoting): where its timeline forked
		 * off this one is in its history; not past it, this standby
		 * takes the new timeline as a cascade would have */
		char cmd[64];
		PGresult *r;
		uint64_t sp = 0;
		snprintf(cmd, sizeof cmd, "TIMELINE_HISTORY %u", up_tli);
		r = PQexec(rc, cmd);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		    PQnfields(r) >= 2 &&
		    baton_pg_history_switchpoint(PQgetvalue(r, 0, 1), my_tli,
						 &sp) &&
		    mine <= sp) {
			up_pos = sp;
			up_tli = my_tli; /* what it follows: the fork */
			forked = true;
		}
		PQclear(r);
	}
	if (rv == 0 && (strcmp(my_sys, up_sys) != 0 || my_tli != up_tli ||
			my_tli == 0 || up_pos < mine)) {
		baton_errmsg_printf(
		    e->errmsg,
		    "%s:%d is on timeline %u of system %s at %X/%X, %s "
		    "(detached) on timeline %u of %s at %X/%X: not streaming "
		    "from it before it is promoted",
		    upstream->host, upstream->port, up_tli, up_sys,
		    (unsigned)(up_pos >> 32), (unsigned)up_pos, pg->name,
		    my_tli, my_sys, (unsigned)(mine >> 32), (unsigned)mine);
		rv = BATON_ECONFLICT;
	}
	PQfinish(rc);
	PQfinish(me);
	if (rv == 0 &&
	    ((rv = write_baton_conf(e, upstream)) != 0 ||
	     (rv = exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0)) != 0)) {
		(void)write_baton_conf(e, NULL); /* detached, as it was */
		(void)exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0);
	}
	if (rv == 0) {
		rv = await_upstream(e, c, upstream);
	}
	session_done(e, c);
	if (rv == 0) {
		BATON_INFO("engine",
			   "%s, detached at %X/%X on timeline %u, streams "
			   "from %s:%d at once (%s %X/%X): no wait, no "
			   "rewind",
			   pg->name, (unsigned)(mine >> 32), (unsigned)mine,
			   my_tli, upstream->host, upstream->port,
			   forked ? "its timeline forked off at"
				  : "it holds this timeline up to",
			   (unsigned)(up_pos >> 32), (unsigned)up_pos);
	}
	return rv;
}

/* A planned switchover, before its target is promoted: this standby
 * streams from UPSTREAM, the target (another standby of the same
 * primary), instead of from the primary: cascading replication. When the
 * target is promoted, its cascading walsender ends the old timeline at
 * the switch point and the WAL receiver here follows the new timeline on
 * the same connection (~25 ms on the lab), so in synchronous mode the new
 * primary has a standby to acknowledge its first commit the moment it
 * promotes. Without this, the standby was told to rejoin only once the
 * promote was committed, and its fork check (a new replication
 * connection) and the WAL receiver's restart came after the promote:
 * 0.4-0.9 s of every switchover's write gap (docs/lab.md).
 *
 * The invariant: this standby never holds WAL that UPSTREAM lacks. Then
 * whatever UPSTREAM does next (promoted at the end of its WAL, or left a
 * standby when the switchover is called off) this standby can follow it,
 * and it can always go back to the primary, which has everything either
 * holds. A cascading walsender sends only what its server has flushed,
 * so once streaming from UPSTREAM this standby cannot get ahead of it;
 * the switch itself is the one moment it could (it may have received
 * more from the primary than UPSTREAM has). So the switch is: stop
 * receiving (the WAL end here is fixed), then check, on a replication
 * connection to UPSTREAM, that it is the same database system, on the
 * timeline this standby received, and has flushed at least as much
 * (IDENTIFY_SYSTEM, waiting up to CASCADE_WAIT_MS), and only then point
 * primary_conninfo at it. UPSTREAM promoted meanwhile shows as another
 * timeline: refused, like every failed check, and then primary_conninfo
 * is put back as it was: the standby streams from its primary again,
 * nothing else changed, and the caller's order is retried or overtaken
 * by a rejoin. */
static int pg_cascade(struct baton_engine *e,
		      const struct baton_engine_peer *upstream)
{
	struct pg *pg = PG(e);
	char out[128], src[2048], mine_sys[64] = "", up_sys[64] = "";
	char before[128] = "", host[128], lsn[64], ci[4200];
	unsigned my_tli = 0, up_tli = 0;
	uint64_t mine = 0, up_pos = 0;
	struct baton_engine_peer old = {host, 0};
	double deadline;
	PGconn *c, *rc = NULL;
	bool detached;
	int rv;

	rv = follow_detached(e, upstream, &detached);
	if (detached) {
		return rv; /* a failover's standby (follow_detached) */
	}
	rv = write_passfile(e);
	if (rv != 0) {
		return rv;
	}
	c = session_get(e, 2);
	if (c == NULL) {
		return BATON_ECONN;
	}
	/* a standby, streaming (its timeline known), from whom */
	rv = exec_sql(e, c,
		      "SELECT CASE WHEN pg_is_in_recovery() THEN 't' ELSE"
		      " 'f' END || ' ' ||"
		      " COALESCE((SELECT received_tli FROM"
		      " pg_stat_wal_receiver), 0) || ' ' ||"
		      " (SELECT system_identifier FROM pg_control_system())",
		      out, sizeof out);
	if (rv == 0 && out[0] == 't') {
		/* whole: cut short, its quoted passfile path would not
		 * parse, and a failure would put back no upstream at all */
		rv =
		    exec_sql(e, c, "SELECT current_setting('primary_conninfo')",
			     ci, sizeof ci);
		if (rv == 0) {
			conninfo_upstream(ci, before, sizeof before);
		}
	}
	snprintf(host, sizeof host, "%s:%d", upstream->host, upstream->port);
	if (rv == 0 && out[0] == 't' && strcmp(before, host) == 0) {
		/* already: an order repeated (its WAL receiver may still be
		 * starting: a failover's standby cascades before it) */
		session_done(e, c);
		return 0;
	}
	if (rv == 0 &&
	    (sscanf(out, "t %u %63s", &my_tli, mine_sys) != 2 || my_tli == 0)) {
		baton_errmsg_printf(
		    e->errmsg,
		    "%s is %s: only a streaming standby "
		    "cascades",
		    pg->name, out[0] == 't' ? "not streaming" : "a primary");
		rv = BATON_ECONFLICT;
	}
	if (rv != 0) {
		session_done(e, c);
		return rv;
	}
	snprintf(out, sizeof out, "%s:%d", upstream->host, upstream->port);
	/* the upstream first: one that cannot be (promoted already,
	 * another system, unreachable) is refused before anything here
	 * changes */
	source_conninfo(e, upstream, "replication=true", src, sizeof src);
	rc = PQconnectdb(src);
	if (PQstatus(rc) != CONNECTION_OK) {
		baton_errmsg_printf(
		    e->errmsg, "replication connection to %s:%d: %s",
		    upstream->host, upstream->port, PQerrorMessage(rc));
		PQfinish(rc);
		session_done(e, c);
		return BATON_ECONN;
	}
	rv = identify(e, rc, upstream, up_sys, sizeof up_sys, &up_tli, &up_pos);
	if (rv == 0 && (strcmp(up_sys, mine_sys) != 0 || up_tli != my_tli)) {
		baton_errmsg_printf(e->errmsg,
				    "%s:%d is on timeline %u of system %s, %s "
				    "on timeline %u of %s: not cascading",
				    upstream->host, upstream->port, up_tli,
				    up_sys, pg->name, my_tli, mine_sys);
		rv = BATON_ECONFLICT;
	}
	if (rv != 0) {
		PQfinish(rc);
		session_done(e, c);
		return rv;
	}
	/* a paused startup process would not end the receiver */
	(void)exec_sql(e, c, "SELECT pg_wal_replay_resume()", NULL, 0);
	rv = stop_receiving(e, c);
	if (rv == 0) {
		rv = exec_sql(e, c,
			      "SELECT COALESCE(pg_last_wal_receive_lsn(),"
			      " pg_last_wal_replay_lsn())",
			      lsn, sizeof lsn);
		if (rv == 0 && baton_pg_parse_lsn(lsn, &mine) != 0) {
			baton_errmsg_printf(e->errmsg,
					    "%s: unreadable position '%s'",
					    pg->name, lsn);
			rv = BATON_EENGINE;
		}
	}
	deadline = baton_mono_ms_double() + CASCADE_WAIT_MS;
	while (rv == 0) {
		if (up_pos >= mine) {
			break;
		}
		if (baton_mono_ms_double() > deadline) {
			baton_errmsg_printf(
			    e->errmsg,
			    "%s:%d has flushed %X/%X, %s received %s: it "
			    "would be ahead of its upstream; not cascading",
			    upstream->host, upstream->port,
			    (unsigned)(up_pos >> 32), (unsigned)up_pos,
			    pg->name, lsn);
			rv = BATON_ETIMEDOUT;
			break;
		}
		sleep_ms(5);
		rv = identify(e, rc, upstream, up_sys, sizeof up_sys, &up_tli,
			      &up_pos);
		if (rv == 0 && up_tli != my_tli) {
			baton_errmsg_printf(
			    e->errmsg,
			    "%s:%d left timeline %u (promoted): "
			    "not cascading",
			    upstream->host, upstream->port, my_tli);
			rv = BATON_ECONFLICT;
		}
	}
	PQfinish(rc);
	if (rv == 0) {
		rv = write_baton_conf(e, upstream);
		if (rv == 0) {
			rv = exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0);
		}
	}
	if (rv != 0) {
		/* back to where it streamed from (or to nobody, as before) */
		char *colon = strrchr(before, ':');
		int undo;
		if (colon != NULL) {
			snprintf(host, sizeof host, "%.*s",
				 (int)(colon - before), before);
			old.port = (int)strtol(colon + 1, NULL, 10);
		}
		undo = write_baton_conf(e, colon != NULL ? &old : NULL);
		if (undo == 0) {
			undo =
			    exec_sql(e, c, "SELECT pg_reload_conf()", NULL, 0);
		}
		if (undo != 0) {
			BATON_WARN("engine",
				   "%s: putting primary_conninfo back to '%s' "
				   "failed too",
				   pg->name, before);
		}
		session_done(e, c);
		return rv;
	}
	/* A backend applies a reload between two commands, and maybe not
	 * by the next one (the postmaster signals it): the status that
	 * answers the order is read on this session, and one that still
	 * showed no primary_conninfo (stop_receiving's) made the agent say
	 * "detached" and batond order a needless rejoin after the promote
	 * (the lab's first runs: 0.8-5.6 s). So the new setting is
	 * confirmed here first, then the WAL receiver streaming from
	 * UPSTREAM is waited for (not required: the target may still be
	 * behind in its own receiving; the cascade holds either way). */
	rv = await_upstream(e, c, upstream);
	if (rv != 0) {
		session_done(e, c);
		return rv;
	}
	{
		char q[256], n[16] = "";
		bool streaming = false;
		snprintf(q, sizeof q,
			 "SELECT count(*) FROM pg_stat_wal_receiver WHERE "
			 "status = 'streaming' AND sender_port = %d",
			 upstream->port);
		deadline = baton_mono_ms_double() + 1000;
		while (!streaming && baton_mono_ms_double() < deadline) {
			streaming = exec_sql(e, c, q, n, sizeof n) == 0 &&
				    strcmp(n, "1") == 0;
			if (!streaming) {
				sleep_ms(10);
			}
		}
		session_done(e, c);
		BATON_INFO("engine",
			   "%s streams from %s:%d (cascading, timeline %u) "
			   "instead of %s, at %s%s",
			   pg->name, upstream->host, upstream->port, my_tli,
			   before[0] ? before : "nobody", lsn,
			   streaming ? ""
				     : " (its WAL receiver not streaming yet "
				       "after 1 s)");
	}
	return 0;
}

static int pg_rejoin(struct baton_engine *e,
		     const struct baton_engine_peer *primary)
{
	struct pg *pg = PG(e);
	char tool[512], src[2048];
	char src_tli[24] = "";
	int rv;

	rv = check_datadir(e, false);
	if (rv == 0) {
		rv = write_passfile(e);
	}
	if (rv != 0) {
		return rv;
	}
	/* pg_rewind's --source-server is on its command line: the passfile's
	 * path goes there, never the password */
	{
		bool detached;
		if (follow_detached(e, primary, &detached) == 0 && detached) {
			return 0;
		}
		if (detached) {
			BATON_INFO("engine", "%s: %s; rejoining the long way",
				   pg->name, e->errmsg);
		}
	}
	source_conninfo(e, primary, "dbname=postgres", src, sizeof src);
	/* The source must have finished its promotion (but for a detached
	 * standby that is not ahead of it: follow_detached()): one still in
	 * recovery is on the old timeline, pg_rewind would find nothing to
	 * do, and this instance would follow it past the point where its new
	 * timeline forks off (the lab saw a replica stuck at "new timeline 3
	 * forked off current database system timeline 2 before current
	 * recovery point" after a quick second switchover). A just-promoted
	 * source may also not have written its new timeline to its control
	 * file yet: a checkpoint first. */
	{
		PGconn *sc = PQconnectdb(src);
		bool primary_ready = false;
		unsigned waited_ms = 0,
			 limit_ms = (pg->timeout_s ? pg->timeout_s : 30) * 1000;
		while (PQstatus(sc) == CONNECTION_OK) {
			PGresult *r = PQexec(sc, "SELECT pg_is_in_recovery()");
			bool in_recovery =
			    PQresultStatus(r) != PGRES_TUPLES_OK ||
			    PQntuples(r) != 1 ||
			    strcmp(PQgetvalue(r, 0, 0), "f") != 0;
			PQclear(r);
			if (!in_recovery) {
				primary_ready = true;
				break;
			}
			if (waited_ms >= limit_ms) {
				break;
			}
			/* a promote takes a few hundred ms: ask often (one
			 * query on an open session), the standby follows
			 * sooner */
			sleep_ms(20);
			waited_ms += 20;
		}
		if (!primary_ready) {
			baton_errmsg_printf(
			    e->errmsg,
			    "rejoin of %s: %s:%d is %s; not rewinding against "
			    "it (the order is retried)",
			    pg->name, primary->host, primary->port,
			    PQstatus(sc) == CONNECTION_OK
				? "still in recovery, not a primary yet"
				: "unreachable");
			PQfinish(sc);
			return BATON_ECONN;
		}
		/* the timeline it writes: its current WAL file's, read
		 * without a checkpoint (one on a primary that just started
		 * taking writes costs them, and a standby that can follow by
		 * a reload does not need it) */
		PGresult *r =
		    PQexec(sc, "SELECT ('x' || substr(pg_walfile_name("
			       "pg_current_wal_lsn()), 1, 8))::bit(32)::int");
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
		    strspn(PQgetvalue(r, 0, 0), "0123456789") ==
			strlen(PQgetvalue(r, 0, 0)) &&
		    strlen(PQgetvalue(r, 0, 0)) < sizeof src_tli) {
			snprintf(src_tli, sizeof src_tli, "%s",
				 PQgetvalue(r, 0, 0));
		}
		PQclear(r);
		/* A standby that holds WAL of the old timeline beyond the
		 * fork (in a switchover: what the old primary wrote after its
		 * final position, on-access pruning by readers for one) is
		 * refused the new timeline: PostgreSQL says so only in its
		 * log, and the reload path below found out when its 3 s ran
		 * out (one switchover in four on the lab, 9 s). Ask first. */
		bool past = false;
		if (past_fork(e, primary, (unsigned)strtoul(src_tli, NULL, 10),
			      &past) == 0 &&
		    past) {
			BATON_INFO(
			    "engine",
			    "%s replayed WAL past the point where %s:%d's "
			    "timeline forked off: rewinding",
			    pg->name, primary->host, primary->port);
		} else if (follow_by_reload(e, primary, src_tli, 3000)) {
			PQfinish(sc);
			return 0;
		}
		r = PQexec(sc, "CHECKPOINT");
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			BATON_WARN("engine",
				   "CHECKPOINT on %s:%d before pg_rewind: %s",
				   primary->host, primary->port,
				   PQerrorMessage(sc));
		}
		PQclear(r);
		PQfinish(sc);
	}
	/* only now: a source that is not ready leaves this instance as it
	 * was */
	rv = pg_stop(e, false);
	if (rv != 0) {
		return rv;
	}
	remove_stale_pidfile(e);
	tool_path(pg, "pg_rewind", tool, sizeof tool);
	char tgt[1100];
	char srcarg[sizeof src + 32];
	char marker[1024];
	bool earlier;
	snprintf(tgt, sizeof tgt, "--target-pgdata=%s", pg->datadir);
	snprintf(srcarg, sizeof srcarg, "--source-server=%s", src);
	/* --no-sync: one syncfs below instead of pg_rewind's fsync of every
	 * file (1.1 s on the lab), before the marker goes */
	char *argv[] = {tool, tgt, srcarg, pg->syncfs ? "--no-sync" : NULL,
			NULL};
	rewind_marker_path(pg, marker, sizeof marker);
	earlier = access(marker, F_OK) == 0;
	if ((rv = write_marker(e, marker)) != 0) {
		return rv;
	}
	if (run(pg, argv, NULL) != 0) {
		char why[BATON_ERRMSG_SIZE];
		int action = baton_pg_rewind_failure(pg->out, earlier);
		snprintf(why, sizeof why, "%s", out_summary(pg));
		if (action == BATON_PG_REWIND_RECLONE) {
			rv = reclone(e, primary, why);
			if (rv == 0) {
				return 0;
			}
			return rv;
		}
		if (!earlier) { /* this attempt touched nothing */
			(void)unlink(marker);
			sync_parent_dir(pg);
		}
		rv = action == BATON_PG_REWIND_REFUSE
			 ? BATON_ECONFLICT
			 : classify_conn_error(pg->out);
		baton_errmsg_printf(
		    e->errmsg, "pg_rewind of %s against %s:%d failed: %s",
		    pg->name, primary->host, primary->port, why);
		return rv;
	}
	if (pg->syncfs && (rv = syncfs_datadir(e)) != 0) {
		/* the marker stays: the next attempt treats the data
		 * directory as half rewritten */
		return rv;
	}
	(void)unlink(marker);
	sync_parent_dir(pg);
	BATON_INFO("engine", "pg_rewind of %s: %s", pg->name, out_summary(pg));
	drop_copied_socket_lock(e);
	/* pg_rewind copied the source's configuration files: ours again */
	if ((rv = write_hba(e)) != 0 ||
	    (rv = write_baton_conf(e, primary)) != 0 ||
	    (rv = touch_standby_signal(e)) != 0) {
		return rv;
	}
	return pg_start(e);
}

/* Alive and not a zombie waiting to be reaped. */
static bool pid_alive(long pid)
{
	char path[64];
	char stat[256] = "";
	FILE *f;
	char *p;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
		return false;
	}
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return true;
	}
	if (fgets(stat, sizeof stat, f) == NULL) {
		stat[0] = '\0';
	}
	fclose(f);
	p = strrchr(stat, ')');
	return !(p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

static long pid_in_file(const char *path)
{
	char line[32] = "";
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	if (fgets(line, sizeof line, f) == NULL) {
		line[0] = '\0';
	}
	fclose(f);
	return strtol(line, NULL, 10);
}

int baton_pg_postmaster_pid(struct baton_engine *e)
{
	char path[1024];
	long pid;

	snprintf(path, sizeof path, "%s/postmaster.pid", PG(e)->datadir);
	pid = pid_in_file(path);
	return pid_alive(pid) ? (int)pid : 0;
}

/* A postmaster killed with SIGKILL leaves postmaster.pid behind; while its
 * pid is an unreaped zombie, postgres (and pg_rewind's single-user crash
 * recovery) would take it for a live server and refuse to start. */
static void remove_stale_pidfile(struct baton_engine *e)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof path, "%s/postmaster.pid", PG(e)->datadir);
	if (stat(path, &st) == 0 && baton_pg_postmaster_pid(e) == 0) {
		if (unlink(path) == 0) {
			BATON_INFO("engine", "removed stale %s", path);
		}
	}
	/* the socket's lock file names the same dead postmaster */
	snprintf(path, sizeof path, "%s/.s.PGSQL.%d.lock", PG(e)->socket_dir,
		 PG(e)->port);
	if (stat(path, &st) == 0 && !pid_alive(pid_in_file(path))) {
		unlink(path);
		snprintf(path, sizeof path, "%s/.s.PGSQL.%d", PG(e)->socket_dir,
			 PG(e)->port);
		unlink(path);
	}
}

static void pg_destroy(struct baton_engine *e)
{
	struct pg *pg = PG(e);
	if (pg == NULL) {
		return;
	}
	free(pg->bindir);
	free(pg->datadir);
	free(pg->host);
	free(pg->name);
	free(pg->socket_dir);
	free(pg->repl_user);
	if (pg->repl_password != NULL) {
		explicit_bzero(pg->repl_password, strlen(pg->repl_password));
	}
	free(pg->repl_password);
	free(pg->secrets_dir);
	free(pg->passfile);
	free(pg->log_dir);
	free(pg->log_file);
	free(pg->os_user);
	free(pg->sync_names);
	free(pg->lease_module);
	free(pg->lease_file);
	PQfinish(pg->session);
	free(pg);
	e->impl = NULL;
}

static const struct baton_engine_ops pg_ops = {
    .name = "postgres",
    .init_primary = pg_init_primary,
    .init_replica = pg_init_replica,
    .start = pg_start,
    .stop = pg_stop,
    .status = pg_status,
    .promote = pg_promote,
    .fence = pg_fence,
    .unfence = pg_unfence,
    .detach = pg_detach,
    .cascade = pg_cascade,
    .set_sync_names = pg_set_sync_names,
    .demote = pg_demote,
    .rejoin = pg_rejoin,
    .destroy = pg_destroy,
};

/* The lease module and file: both or neither, the file absolute and
 * outside the data directory (pg_basebackup and pg_rewind would copy a
 * lease to another instance), the module a plain list element. */
static int lease_config(struct baton_engine *e,
			const struct baton_pg_config *cfg)
{
	struct pg *pg = PG(e);
	const char *m = cfg->lease_module;
	const char *f = cfg->lease_file;
	size_t dlen = strlen(pg->datadir);
	struct stat st;

	if (m == NULL && f == NULL) {
		return 0;
	}
	if (m == NULL || f == NULL || m[0] == '\0' || f[0] == '\0') {
		baton_errmsg_printf(e->errmsg,
				    "the lease module and the lease file go "
				    "together: give both or neither");
		return BATON_ECONFIG;
	}
	if (strlen(m) >= 512 || strpbrk(m, ",'\"\\ \t\n") != NULL) {
		baton_errmsg_printf(e->errmsg,
				    "lease module '%.64s' must be a path or "
				    "library name without quotes, commas or "
				    "blanks",
				    m);
		return BATON_ECONFIG;
	}
	if (m[0] == '/' && stat(m, &st) != 0) {
		baton_errmsg_printf(e->errmsg, "lease module %.128s: %s", m,
				    strerror(errno));
		return BATON_ECONFIG;
	}
	if (f[0] != '/' || strlen(f) >= 512) {
		baton_errmsg_printf(e->errmsg,
				    "lease file '%.64s' must be an absolute "
				    "path (under 512 bytes)",
				    f);
		return BATON_ECONFIG;
	}
	if (strncmp(f, pg->datadir, dlen) == 0 && f[dlen] == '/') {
		baton_errmsg_printf(e->errmsg,
				    "lease file %.128s is inside the data "
				    "directory: base backups would copy it",
				    f);
		return BATON_ECONFIG;
	}
	pg->lease_module = strdup(m);
	pg->lease_file = strdup(f);
	return pg->lease_module && pg->lease_file ? 0 : BATON_ENOMEM;
}

/* The replication password as a passfile can hold it, and the directory
 * for that file: absolute (the server reads it from DATADIR, the tools
 * from /tmp) and outside the data directory (base backups copy it). */
static int secrets_config(struct baton_engine *e,
			  const struct baton_pg_config *cfg)
{
	struct pg *pg = PG(e);
	const char *pw = cfg->repl_password;
	size_t dlen = strlen(pg->datadir);
	char cwd[512] = "";
	char dir[1024];
	int n;

	if (pw[0] == '\0' || strpbrk(pw, "\r\n") != NULL || strlen(pw) > 512) {
		baton_errmsg_printf(e->errmsg,
				    "the replication password must be 1 to "
				    "512 bytes on one line (it goes into a "
				    "passfile)");
		return BATON_ECONFIG;
	}
	if (cfg->secrets_dir != NULL) {
		n = snprintf(dir, sizeof dir, "%s", cfg->secrets_dir);
	} else {
		n = snprintf(dir, sizeof dir, "%s.baton-secrets", pg->datadir);
	}
	if (dir[0] != '/' && getcwd(cwd, sizeof cwd) != NULL) {
		char rel[sizeof dir];
		memcpy(rel, dir, sizeof rel);
		n = snprintf(dir, sizeof dir, "%s/%s", cwd, rel);
	}
	for (size_t k = strlen(dir); k > 1 && dir[k - 1] == '/'; k--) {
		dir[k - 1] = '\0';
	}
	if (n < 0 || strlen(dir) >= 512 || dir[0] != '/') {
		baton_errmsg_printf(e->errmsg,
				    "secrets directory '%.64s' must be an "
				    "absolute path under 512 bytes",
				    dir);
		return BATON_ECONFIG;
	}
	if (strncmp(dir, pg->datadir, dlen) == 0 &&
	    (dir[dlen] == '/' || dir[dlen] == '\0')) {
		baton_errmsg_printf(e->errmsg,
				    "secrets directory %.128s is inside the "
				    "data directory: base backups would copy "
				    "the password",
				    dir);
		return BATON_ECONFIG;
	}
	pg->secrets_dir = strdup(dir);
	if (pg->secrets_dir == NULL ||
	    asprintf(&pg->passfile, "%s/replication.pgpass", dir) < 0) {
		pg->passfile = NULL;
		return BATON_ENOMEM;
	}
	return 0;
}

bool baton_pg_wal_segsize_valid(int mb)
{
	return mb >= 1 && mb <= 1024 && (mb & (mb - 1)) == 0;
}

int baton_pg_engine_init(struct baton_engine *e,
			 const struct baton_pg_config *cfg)
{
	struct pg *pg;
	int rv;

	memset(e, 0, sizeof *e);
	if (cfg->datadir == NULL || cfg->port <= 0 || cfg->repl_user == NULL ||
	    cfg->repl_password == NULL) {
		baton_errmsg_printf(e->errmsg,
				    "postgres engine needs a data directory, a "
				    "port and replication credentials");
		return BATON_ECONFIG;
	}
	if (cfg->wal_segsize_mb != 0 &&
	    !baton_pg_wal_segsize_valid(cfg->wal_segsize_mb)) {
		baton_errmsg_printf(e->errmsg,
				    "WAL segment size %d MiB: a power of two "
				    "from 1 to 1024 is needed",
				    cfg->wal_segsize_mb);
		return BATON_ECONFIG;
	}
	pg = calloc(1, sizeof *pg);
	if (pg == NULL) {
		return BATON_ENOMEM;
	}
	e->ops = &pg_ops;
	e->impl = pg;
	pg->bindir =
	    dupstr(cfg->bindir ? cfg->bindir : "/usr/lib/postgresql/15/bin");
	pg->datadir = dupstr(cfg->datadir);
	/* DATADIR.baton-init must name a sibling, not a file inside */
	for (size_t n = pg->datadir ? strlen(pg->datadir) : 0;
	     n > 1 && pg->datadir[n - 1] == '/'; n--) {
		pg->datadir[n - 1] = '\0';
	}
	pg->host = dupstr(cfg->host ? cfg->host : "127.0.0.1");
	pg->port = cfg->port;
	pg->name = dupstr(cfg->name ? cfg->name : "baton");
	pg->socket_dir =
	    dupstr(cfg->socket_dir ? cfg->socket_dir : cfg->datadir);
	pg->repl_user = dupstr(cfg->repl_user);
	pg->repl_password = dupstr(cfg->repl_password);
	pg->synchronous = cfg->synchronous;
	pg->sync_names = dupstr(cfg->sync_names);
	pg->max_wal_senders = cfg->max_wal_senders ? cfg->max_wal_senders : 10;
	pg->wal_segsize_mb = cfg->wal_segsize_mb;
	if (!cfg->no_syncfs) {
		struct utsname u;
		pg->syncfs =
		    uname(&u) == 0 && baton_pg_syncfs_reports_errors(u.release);
	}
	pg->timeout_s = cfg->timeout_s ? cfg->timeout_s : 30;
	e->max_lag_bytes =
	    cfg->max_lag_bytes ? cfg->max_lag_bytes : 16 * 1024 * 1024;
	if (!pg->bindir || !pg->datadir || !pg->host || !pg->name ||
	    !pg->socket_dir || !pg->repl_user || !pg->repl_password ||
	    !pg->sync_names) {
		pg_destroy(e);
		return BATON_ENOMEM;
	}
	if ((rv = lease_config(e, cfg)) != 0 ||
	    (rv = secrets_config(e, cfg)) != 0) {
		pg_destroy(e);
		return rv;
	}
	/* a sibling of DATADIR, like DATADIR.baton-init (see log_prepare) */
	if (asprintf(&pg->log_dir, "%s.baton-log", pg->datadir) < 0) {
		pg->log_dir = NULL; /* undefined on failure */
	} else if (asprintf(&pg->log_file, "%s/postgres.log", pg->log_dir) <
		   0) {
		pg->log_file = NULL;
	}
	if (pg->log_dir == NULL || pg->log_file == NULL) {
		pg_destroy(e);
		return BATON_ENOMEM;
	}
	if (geteuid() == 0) {
		struct passwd pw, *res = NULL;
		char buf[1024];
		const char *user = cfg->run_as ? cfg->run_as : "postgres";
		if (getpwnam_r(user, &pw, buf, sizeof buf, &res) != 0 ||
		    res == NULL) {
			baton_errmsg_printf(e->errmsg,
					    "running as root and there is no "
					    "user %s to run postgres as",
					    user);
			pg_destroy(e);
			return BATON_ECONFIG;
		}
		pg->switch_user = true;
		pg->uid = pw.pw_uid;
		pg->gid = pw.pw_gid;
		pg->os_user = strdup(user);
		if (pg->os_user == NULL) {
			pg_destroy(e);
			return BATON_ENOMEM;
		}
	} else {
		/* the server runs as we do: peer must name our uid */
		struct passwd pw, *res = NULL;
		char buf[1024];
		if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 &&
		    res != NULL) {
			pg->os_user = strdup(pw.pw_name);
			if (pg->os_user == NULL) {
				pg_destroy(e);
				return BATON_ENOMEM;
			}
		} else {
			BATON_WARN("engine",
				   "uid %ld has no user name (no passwd "
				   "entry): PostgreSQL's peer authentication "
				   "cannot name it, so the local socket of "
				   "%s uses trust; only uid %ld and root can "
				   "reach it (0700)",
				   (long)geteuid(), pg->name, (long)geteuid());
		}
	}
	return 0;
}
