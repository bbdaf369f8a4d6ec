/* baton-agent: flags, environment, signals; the work is in agent.c.
 *
 * The replication password comes from --repl-password-file (a Secret
 * volume) or, for hand-run agents, from BATON_REPL_PASSWORD. Either way
 * the variable is removed from the environment and its bytes wiped before
 * anything starts: every process the agent starts (the tools, the server)
 * would inherit it, and /proc/<pid>/environ shows the environment a
 * process was started with, whatever unsetenv() did later. The engine
 * keeps the only copy, and hands it to the tools as a passfile. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/log.h"
#include "common/version.h"
#include "engine/engine.h"

static const char usage[] =
    "Usage: baton-agent [options]\n"
    "\n"
    "Runs next to one PostgreSQL instance: executes batond's role changes\n"
    "(init, promote, demote, fence, rejoin) and keeps the instance\n"
    "read-only whenever it holds no valid lease. It boots fenced. With no\n"
    "instance in the data directory and no --init, it waits (not ready)\n"
    "for batond's init order.\n"
    "\n"
    "Identity:\n"
    "  --pod-name NAME         pod name (env POD_NAME)\n"
    "  --namespace NS          pod namespace (env POD_NAMESPACE)\n"
    "  --region NAME           region of this instance (env BATON_REGION)\n"
    "\n"
    "HTTP API (/healthz /readyz /metrics /v1/status, POST /v1/order):\n"
    "  --listen HOST:PORT      default 0.0.0.0:8008\n"
    "  --tls-cert FILE         server certificate (PEM)\n"
    "  --tls-key FILE          server key (PEM)\n"
    "  --tls-ca FILE           CA for client certificates (mutual TLS)\n"
    "  --order-peer ID         only this verified client (SAN URI or CN)\n"
    "                          may post orders\n"
    "\n"
    "Lease (the agent asks batond and counts from its own send time):\n"
    "  --batond-url URL        batond's agent API (env BATON_BATOND_URL);\n"
    "                          without it the instance is never writable\n"
    "  --batond-ca FILE        CA that signed batond's certificate (https)\n"
    "  --batond-cert FILE      this agent's client certificate (PEM)\n"
    "  --batond-key FILE       its key (PEM)\n"
    "  --lease-margin-ms N     fence N ms before the grant ends, room for\n"
    "                          the fence itself (default 100)\n"
    "  --status-interval-ms N  status refresh (default 100)\n"
    "  --state-file FILE       persist the highest epoch seen (outside the\n"
    "                          data dir), so stale orders are refused after\n"
    "                          a restart too\n"
    "\n"
    "PostgreSQL:\n"
    "  --pg-bindir DIR         default /usr/lib/postgresql/15/bin\n"
    "  --pg-data DIR           data directory (env PGDATA)\n"
    "  --pg-host ADDR          listen/advertised address (default 127.0.0.1)\n"
    "  --pg-port N             default 5432\n"
    "  --pg-name NAME          application_name (default: pod name)\n"
    "  --pg-socket-dir DIR     admin socket directory (default: data dir)\n"
    "  --pg-user USER          OS user for the server when run as root\n"
    "                          (default postgres)\n"
    "  --repl-user USER        replication role (default baton_repl)\n"
    "  --repl-password-file F  its password, the file's first line (or env\n"
    "                          BATON_REPL_PASSWORD, which is then removed\n"
    "                          from the environment)\n"
    "  --secrets-dir DIR       private directory for the password's\n"
    "                          passfile, outside the data dir (default:\n"
    "                          DATA.baton-secrets, next to the data dir)\n"
    "  --synchronous           synchronous_standby_names = 'ANY 1 (...)'\n"
    "  --sync-names A,B        standby application names for that (this\n"
    "                          instance's own name is left out)\n"
    "  --max-lag-bytes N       refuse to promote beyond (default 16 MiB)\n"
    "  --pg-wal-segsize MIB    WAL segment size for --init primary and an\n"
    "                          init order (initdb --wal-segsize: a power\n"
    "                          of two, 1-1024; default initdb's, 16)\n"
    "  --init primary|replica  create the instance if the data dir is empty\n"
    "                          (default: wait for an init order)\n"
    "  --init-from HOST:PORT   primary to clone for --init replica\n"
    "  --pg-lease-module LIB   load this baton_lease module (path or name\n"
    "                          in pkglibdir): PostgreSQL itself refuses\n"
    "                          writes once the lease in --lease-file ends\n"
    "  --lease-file FILE       the lease file for it (outside the data dir)\n"
    "\n"
    "  --log-level LEVEL       debug, info, warn, error (default info)\n"
    "  -h, --help              this text\n"
    "  -V, --version           print the version\n";

static uv_signal_t sigterm, sigint;
static struct baton_agent agent;
static int exit_code;

static void closed_cb(struct baton_agent *a)
{
	(void)a;
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
}

static void signal_cb(uv_signal_t *s, int signum)
{
	(void)s;
	BATON_INFO("agent", "signal %d: fencing and exiting", signum);
	uv_signal_stop(&sigterm);
	uv_signal_stop(&sigint);
	baton_agent_close(&agent, closed_cb);
}

static int split_hostport(const char *s, char *host, size_t n, int *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	if (colon == NULL || (size_t)(colon - s) >= n) {
		return -1;
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535) {
		return -1;
	}
	*port = (int)p;
	return 0;
}

static long parse_num(const char *flag, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "baton-agent: %s wants a number, got '%s'\n",
			flag, s);
		exit(2);
	}
	return v;
}

/* The first line of PATH, in memory of its own (forget_secret() it).
 * read(2), not stdio: no library buffer keeps a copy. */
static char *read_secret(const char *path)
{
	char buf[600];
	char *copy;
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err = errno;

	if (fd >= 0) {
		while ((n = read(fd, buf, sizeof buf - 1)) < 0 &&
		       errno == EINTR) {
		}
		err = errno;
		close(fd);
	}
	if (n <= 0) {
		fprintf(stderr, "baton-agent: cannot read %s: %s\n", path,
			n == 0 ? "empty file" : strerror(err));
		exit(2);
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	copy = strdup(buf);
	explicit_bzero(buf, sizeof buf);
	if (copy == NULL) {
		fprintf(stderr, "baton-agent: out of memory\n");
		exit(1);
	}
	return copy;
}

/* NAME's value (a copy), after NAME is gone from the environment and the
 * bytes of every NAME=... entry are zeroed where the kernel shows them
 * (/proc/self/environ is the start-up environment block itself). */
static char *take_env_secret(const char *name)
{
	extern char **environ;
	size_t len = strlen(name);
	char *entries[8];
	size_t n = 0;
	char *copy = NULL;

	for (char **e = environ; e != NULL && *e != NULL; e++) {
		if (strncmp(*e, name, len) != 0 || (*e)[len] != '=') {
			continue;
		}
		if (copy == NULL && (copy = strdup(*e + len + 1)) == NULL) {
			fprintf(stderr, "baton-agent: out of memory\n");
			exit(1);
		}
		if (n < sizeof entries / sizeof entries[0]) {
			entries[n++] = *e;
		}
	}
	unsetenv(name); /* every entry of NAME leaves environ first */
	for (size_t i = 0; i < n; i++) {
		explicit_bzero(entries[i], strlen(entries[i]));
	}
	return copy;
}

static void forget_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

int main(int argc, char **argv)
{
	enum {
		OPT_POD = 256,
		OPT_NS,
		OPT_REGION,
		OPT_LISTEN,
		OPT_PROBE_LISTEN,
		OPT_CERT,
		OPT_KEY,
		OPT_CA,
		OPT_PEER,
		OPT_MARGIN,
		OPT_INTERVAL,
		OPT_BINDIR,
		OPT_DATA,
		OPT_PGHOST,
		OPT_PGPORT,
		OPT_PGNAME,
		OPT_SOCK,
		OPT_PGUSER,
		OPT_RUSER,
		OPT_RPWFILE,
		OPT_SECRETS,
		OPT_SYNC,
		OPT_SYNCNAMES,
		OPT_MAXLAG,
		OPT_WALSEG,
		OPT_INIT,
		OPT_INITFROM,
		OPT_LOG,
		OPT_STATE,
		OPT_BATOND,
		OPT_BATOND_CA,
		OPT_BATOND_CERT,
		OPT_BATOND_KEY,
		OPT_LEASEMOD,
		OPT_LEASEFILE,
	};
	static const struct option opts[] = {
	    {"pod-name", required_argument, 0, OPT_POD},
	    {"namespace", required_argument, 0, OPT_NS},
	    {"region", required_argument, 0, OPT_REGION},
	    {"listen", required_argument, 0, OPT_LISTEN},
	    {"probe-listen", required_argument, 0, OPT_PROBE_LISTEN},
	    {"tls-cert", required_argument, 0, OPT_CERT},
	    {"tls-key", required_argument, 0, OPT_KEY},
	    {"tls-ca", required_argument, 0, OPT_CA},
	    {"order-peer", required_argument, 0, OPT_PEER},
	    {"lease-margin-ms", required_argument, 0, OPT_MARGIN},
	    {"status-interval-ms", required_argument, 0, OPT_INTERVAL},
	    {"pg-bindir", required_argument, 0, OPT_BINDIR},
	    {"pg-data", required_argument, 0, OPT_DATA},
	    {"pg-host", required_argument, 0, OPT_PGHOST},
	    {"pg-port", required_argument, 0, OPT_PGPORT},
	    {"pg-name", required_argument, 0, OPT_PGNAME},
	    {"pg-socket-dir", required_argument, 0, OPT_SOCK},
	    {"pg-user", required_argument, 0, OPT_PGUSER},
	    {"repl-user", required_argument, 0, OPT_RUSER},
	    {"repl-password-file", required_argument, 0, OPT_RPWFILE},
	    {"secrets-dir", required_argument, 0, OPT_SECRETS},
	    {"synchronous", no_argument, 0, OPT_SYNC},
	    {"sync-names", required_argument, 0, OPT_SYNCNAMES},
	    {"max-lag-bytes", required_argument, 0, OPT_MAXLAG},
	    {"pg-wal-segsize", required_argument, 0, OPT_WALSEG},
	    {"init", required_argument, 0, OPT_INIT},
	    {"init-from", required_argument, 0, OPT_INITFROM},
	    {"log-level", required_argument, 0, OPT_LOG},
	    {"state-file", required_argument, 0, OPT_STATE},
	    {"batond-url", required_argument, 0, OPT_BATOND},
	    {"batond-ca", required_argument, 0, OPT_BATOND_CA},
	    {"batond-cert", required_argument, 0, OPT_BATOND_CERT},
	    {"batond-key", required_argument, 0, OPT_BATOND_KEY},
	    {"pg-lease-module", required_argument, 0, OPT_LEASEMOD},
	    {"lease-file", required_argument, 0, OPT_LEASEFILE},
	    {"help", no_argument, 0, 'h'},
	    {"version", no_argument, 0, 'V'},
	    {0, 0, 0, 0},
	};
	struct baton_agent_config cfg = {0};
	struct baton_pg_config pg = {0};
	struct baton_http_tls_config tls = {0};
	struct baton_engine engine;
	char listen_host[128] = "0.0.0.0";
	char probe_host[128] = "";
	int probe_port = 0;
	char init_host[256] = "";
	int listen_port = 8008;
	enum baton_log_level level;
	uv_loop_t *loop = uv_default_loop();
	/* the agent's own copy, until the engine has taken it */
	char *password = take_env_secret("BATON_REPL_PASSWORD");
	int c, rv;

	cfg.pod_name = getenv("POD_NAME");
	cfg.pod_namespace = getenv("POD_NAMESPACE");
	cfg.region = getenv("BATON_REGION");
	cfg.batond_url = getenv("BATON_BATOND_URL");
	pg.datadir = getenv("PGDATA");
	pg.repl_user = "baton_repl";
	pg.port = 5432;
	while ((c = getopt_long(argc, argv, "hV", opts, NULL)) != -1) {
		switch (c) {
		case OPT_POD:
			cfg.pod_name = optarg;
			break;
		case OPT_NS:
			cfg.pod_namespace = optarg;
			break;
		case OPT_REGION:
			cfg.region = optarg;
			break;
		case OPT_LISTEN:
			if (split_hostport(optarg, listen_host,
					   sizeof listen_host,
					   &listen_port) != 0) {
				fprintf(stderr, "baton-agent: --listen wants "
						"HOST:PORT\n");
				return 2;
			}
			break;
		case OPT_PROBE_LISTEN:
			if (split_hostport(optarg, probe_host,
					   sizeof probe_host,
					   &probe_port) != 0) {
				fprintf(stderr, "baton-agent: --probe-listen "
						"wants HOST:PORT\n");
				return 2;
			}
			break;
		case OPT_CERT:
			tls.cert_file = optarg;
			break;
		case OPT_KEY:
			tls.key_file = optarg;
			break;
		case OPT_CA:
			tls.ca_file = optarg;
			break;
		case OPT_PEER:
			cfg.order_peer = optarg;
			break;
		case OPT_MARGIN:
			cfg.lease_margin_ms =
			    (unsigned)parse_num("--lease-margin-ms", optarg);
			break;
		case OPT_INTERVAL:
			cfg.status_interval_ms =
			    (unsigned)parse_num("--status-interval-ms", optarg);
			break;
		case OPT_BINDIR:
			pg.bindir = optarg;
			break;
		case OPT_DATA:
			pg.datadir = optarg;
			break;
		case OPT_PGHOST:
			pg.host = optarg;
			break;
		case OPT_PGPORT:
			pg.port = (int)parse_num("--pg-port", optarg);
			break;
		case OPT_PGNAME:
			pg.name = optarg;
			break;
		case OPT_SOCK:
			pg.socket_dir = optarg;
			break;
		case OPT_PGUSER:
			pg.run_as = optarg;
			break;
		case OPT_RUSER:
			pg.repl_user = optarg;
			break;
		case OPT_RPWFILE:
			forget_secret(&password); /* the file wins */
			password = read_secret(optarg);
			break;
		case OPT_SECRETS:
			pg.secrets_dir = optarg;
			break;
		case OPT_SYNC:
			pg.synchronous = true;
			break;
		case OPT_SYNCNAMES:
			pg.sync_names = optarg;
			break;
		case OPT_MAXLAG:
			pg.max_lag_bytes = parse_num("--max-lag-bytes", optarg);
			break;
		case OPT_WALSEG:
			pg.wal_segsize_mb =
			    (int)parse_num("--pg-wal-segsize", optarg);
			if (!baton_pg_wal_segsize_valid(pg.wal_segsize_mb)) {
				fprintf(stderr,
					"baton-agent: --pg-wal-segsize wants a "
					"power of two from 1 to 1024 (MiB), "
					"got '%s'\n",
					optarg);
				exit(2);
			}
			break;
		case OPT_INIT:
			cfg.init_role = optarg;
			break;
		case OPT_INITFROM:
			if (split_hostport(optarg, init_host, sizeof init_host,
					   &cfg.init_primary_port) != 0) {
				fprintf(stderr,
					"baton-agent: --init-from wants "
					"HOST:PORT\n");
				return 2;
			}
			cfg.init_primary_host = init_host;
			break;
		case OPT_LOG:
			if (baton_log_parse_level(optarg, &level) != 0) {
				fprintf(stderr,
					"baton-agent: bad --log-level\n");
				return 2;
			}
			baton_log_set_level(level);
			break;
		case OPT_STATE:
			cfg.state_file = optarg;
			break;
		case OPT_BATOND:
			cfg.batond_url = optarg;
			break;
		case OPT_BATOND_CA:
			cfg.batond_ca_file = optarg;
			break;
		case OPT_BATOND_CERT:
			cfg.batond_cert_file = optarg;
			break;
		case OPT_BATOND_KEY:
			cfg.batond_key_file = optarg;
			break;
		case OPT_LEASEMOD:
			pg.lease_module = optarg;
			break;
		case OPT_LEASEFILE:
			pg.lease_file = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'V':
			printf("baton-agent %s\n", BATON_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "baton-agent: unexpected argument '%s'\n%s",
			argv[optind], usage);
		return 2;
	}
	pg.repl_password = password;
	if (pg.datadir == NULL || pg.repl_password == NULL) {
		fprintf(stderr, "baton-agent: --pg-data (or PGDATA) and "
				"--repl-password-file (or BATON_REPL_PASSWORD) "
				"are required; see --help\n");
		return 2;
	}
	if (pg.name == NULL) {
		pg.name = cfg.pod_name ? cfg.pod_name : "baton";
	}
	cfg.name = pg.name;
	if (cfg.init_role != NULL && strcmp(cfg.init_role, "primary") != 0 &&
	    strcmp(cfg.init_role, "replica") != 0) {
		fprintf(stderr, "baton-agent: --init is primary or replica\n");
		return 2;
	}
	if (cfg.init_role != NULL && strcmp(cfg.init_role, "replica") == 0 &&
	    cfg.init_primary_host == NULL) {
		fprintf(stderr, "baton-agent: --init replica needs "
				"--init-from HOST:PORT\n");
		return 2;
	}
	if (tls.cert_file != NULL || tls.key_file != NULL) {
		cfg.tls = &tls;
	}
	cfg.lease_file = pg.lease_file; /* the agent writes what PG reads */
	cfg.listen_host = listen_host;
	cfg.listen_port = listen_port;
	if (probe_host[0] != '\0') {
		cfg.probe_host = probe_host;
		cfg.probe_port = probe_port;
	}
	baton_log_set_static_fields(
	    json_pack("{s:s,s:s,s:s}", "pod", cfg.pod_name ? cfg.pod_name : "",
		      "namespace", cfg.pod_namespace ? cfg.pod_namespace : "",
		      "region", cfg.region ? cfg.region : ""));

	rv = baton_pg_engine_init(&engine, &pg);
	pg.repl_password = NULL;
	forget_secret(&password); /* the engine keeps its own copy */
	if (rv != 0) {
		BATON_ERROR("agent", "%s", engine.errmsg);
		return 1;
	}
	rv = baton_agent_init(loop, &agent, &cfg, &engine);
	if (rv != 0) {
		BATON_ERROR("agent", "cannot start: %s (%s)", agent.errmsg,
			    baton_strerror(rv));
		baton_engine_destroy(&engine);
		return 1;
	}
	/* a client that hangs up before its answer must not kill us */
	signal(SIGPIPE, SIG_IGN);
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, signal_cb, SIGTERM);
	uv_signal_start(&sigint, signal_cb, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	baton_engine_destroy(&engine);
	baton_log_set_static_fields(NULL);
	return exit_code;
}
