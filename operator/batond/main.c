/* batond: one per region. Flags override the configuration file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond/daemon.h"
#include "common/log.h"
#include "common/version.h"

static void usage(FILE *out)
{
	fputs(
	    "Usage: batond [--config FILE] [flags]\n"
	    "\n"
	    "batond keeps exactly one writable primary of each "
	    "DatabaseCluster\n"
	    "across regions. Run one per region (cluster); the batonds form "
	    "one\n"
	    "Raft group that alone decides which region holds the primary.\n"
	    "\n"
	    "Flags (each overrides the same setting of the configuration "
	    "file):\n"
	    "  -c, --config FILE        configuration file (YAML; see "
	    "docs/batond.md)\n"
	    "  -r, --region NAME        this region's name (the Raft peer "
	    "name)\n"
	    "  -k, --kubeconfig FILE    kubeconfig of this region's cluster\n"
	    "                           (default: in-cluster service "
	    "account)\n"
	    "      --http-bind H:P      /healthz, /readyz, /metrics (default "
	    "0.0.0.0:8080)\n"
	    "      --raft-bind H:P      Raft listener\n"
	    "      --raft-dir DIR       Raft data directory\n"
	    "      --peer-api-bind H:P  peer API listener\n"
	    "      --agent-api-bind H:P the agents ask for their lease here\n"
	    "                           (default 0.0.0.0:7102)\n"
	    "      --kube-qps N         requests per second to this region's "
	    "API server,\n"
	    "                           client-side (default 200)\n"
	    "      --kube-burst N       at most N of them at once (the "
	    "bucket; default 400)\n"
	    "      --designation        propose designations: a standby "
	    "region moves its\n"
	    "                           designated instance to a healthy "
	    "sibling (off by\n"
	    "                           default; turn on once every region "
	    "runs this batond)\n"
	    "  -l, --log-level LEVEL    debug, info, warn or error\n"
	    "      --check-config       load and validate the configuration, "
	    "then exit\n"
	    "  -h, --help               this text\n"
	    "  -V, --version            print the version\n"
	    "\n"
	    "Logs are JSON lines on stderr. SIGTERM or SIGINT: hand over Raft\n"
	    "leadership, finish in-flight work, exit 0.\n"
	    "\n"
	    "Exit status: 0 after a clean shutdown, 1 on a runtime error, 2 "
	    "on\n"
	    "bad flags or configuration.\n",
	    out);
}

int main(int argc, char **argv)
{
	enum {
		OPT_HTTP = 256,
		OPT_RAFT_BIND,
		OPT_RAFT_DIR,
		OPT_PEER_API,
		OPT_AGENT_API,
		OPT_KUBE_QPS,
		OPT_KUBE_BURST,
		OPT_DESIGNATION,
		OPT_CHECK,
	};
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"region", required_argument, NULL, 'r'},
	    {"kubeconfig", required_argument, NULL, 'k'},
	    {"http-bind", required_argument, NULL, OPT_HTTP},
	    {"raft-bind", required_argument, NULL, OPT_RAFT_BIND},
	    {"raft-dir", required_argument, NULL, OPT_RAFT_DIR},
	    {"peer-api-bind", required_argument, NULL, OPT_PEER_API},
	    {"agent-api-bind", required_argument, NULL, OPT_AGENT_API},
	    {"kube-qps", required_argument, NULL, OPT_KUBE_QPS},
	    {"kube-burst", required_argument, NULL, OPT_KUBE_BURST},
	    {"designation", no_argument, NULL, OPT_DESIGNATION},
	    {"log-level", required_argument, NULL, 'l'},
	    {"check-config", no_argument, NULL, OPT_CHECK},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct baton_batond_config cfg;
	const char *config_path = NULL;
	const char *region = NULL, *kubeconfig = NULL, *http = NULL;
	const char *raft_bind = NULL, *raft_dir = NULL, *peer_api = NULL;
	const char *agent_api = NULL;
	const char *kube_qps = NULL, *kube_burst = NULL;
	const char *level = NULL;
	int check_only = 0, designation = 0;
	int c;
	int rv;

	while ((c = getopt_long(argc, argv, "c:r:k:l:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'r':
			region = optarg;
			break;
		case 'k':
			kubeconfig = optarg;
			break;
		case 'l':
			level = optarg;
			break;
		case OPT_HTTP:
			http = optarg;
			break;
		case OPT_RAFT_BIND:
			raft_bind = optarg;
			break;
		case OPT_RAFT_DIR:
			raft_dir = optarg;
			break;
		case OPT_PEER_API:
			peer_api = optarg;
			break;
		case OPT_AGENT_API:
			agent_api = optarg;
			break;
		case OPT_KUBE_QPS:
			kube_qps = optarg;
			break;
		case OPT_KUBE_BURST:
			kube_burst = optarg;
			break;
		case OPT_DESIGNATION:
			designation = 1;
			break;
		case OPT_CHECK:
			check_only = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("batond %s\n", BATON_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"batond: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return 2;
	}

	if (config_path != NULL) {
		rv = baton_batond_config_load(&cfg, config_path);
		/* A missing region may come from --region: validate below. */
		if (rv != 0 && !(region != NULL && cfg.region == NULL &&
				 strstr(cfg.errmsg, "region: is required"))) {
			fprintf(stderr, "batond: %s\n", cfg.errmsg);
			baton_batond_config_free(&cfg);
			return 2;
		}
	} else {
		baton_batond_config_defaults(&cfg);
	}
	if ((region && baton_batond_config_set(&cfg.region, region)) ||
	    (kubeconfig &&
	     baton_batond_config_set(&cfg.kubeconfig, kubeconfig)) ||
	    (http && baton_batond_config_set(&cfg.http_bind, http)) ||
	    (raft_bind && baton_batond_config_set(&cfg.raft_bind, raft_bind)) ||
	    (raft_dir && baton_batond_config_set(&cfg.raft_dir, raft_dir)) ||
	    (peer_api &&
	     baton_batond_config_set(&cfg.peer_api_bind, peer_api)) ||
	    (agent_api &&
	     baton_batond_config_set(&cfg.agent_api_bind, agent_api))) {
		fprintf(stderr, "batond: out of memory\n");
		baton_batond_config_free(&cfg);
		return 1;
	}
	if (designation) {
		cfg.designation = true;
	}
	if ((kube_qps != NULL &&
	     baton_batond_config_set_kube_qps(&cfg, kube_qps) != 0) ||
	    (kube_burst != NULL &&
	     baton_batond_config_set_kube_burst(&cfg, kube_burst) != 0)) {
		fprintf(stderr, "batond: %s\n", cfg.errmsg);
		baton_batond_config_free(&cfg);
		return 2;
	}
	if (level != NULL &&
	    baton_log_parse_level(level, &cfg.log_level) != 0) {
		fprintf(stderr,
			"batond: --log-level must be debug, info, warn or "
			"error, not '%s'\n",
			level);
		baton_batond_config_free(&cfg);
		return 2;
	}
	rv = baton_batond_config_validate(&cfg);
	if (rv != 0) {
		fprintf(stderr, "batond: %s\n", cfg.errmsg);
		baton_batond_config_free(&cfg);
		return 2;
	}
	if (check_only) {
		printf("batond: configuration for region %s is valid (%zu "
		       "peers)\n",
		       cfg.region, cfg.n_peers);
		baton_batond_config_free(&cfg);
		return 0;
	}
	baton_log_set_level(cfg.log_level);
	baton_log_set_static_fields(json_pack("{s:s}", "region", cfg.region));
	rv = baton_batond_run(&cfg);
	baton_batond_config_free(&cfg);
	baton_log_set_static_fields(NULL);
	return rv;
}
