/* labkubelet/options.c: the kubelet's flags, their checks, --help. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

#include "labkubelet.h"

static void usage(FILE *out)
{
	fputs(
	    "Usage: baton_labkubelet --kubeconfig F --node NAME --region R\n"
	    "                        --bin-dir DIR --state-dir DIR [flags]\n"
	    "       baton_labkubelet fake-agent [--listen H:P] [--write FILE]\n"
	    "                        [--not-ready-file FILE] "
	    "[--ignore-sigterm]\n"
	    "                        [--echo-env VAR]   (a test stand-in for "
	    "baton-agent)\n"
	    "\n"
	    "The lab's kubelet: registers Node NAME and runs the pods bound "
	    "to it\n"
	    "as processes in per-pod network namespaces bp-<pod> on the "
	    "bridge\n"
	    "(see docs/lab.md). Needs root.\n"
	    "\n"
	    "  --kubeconfig F            the region's admin kubeconfig\n"
	    "  --node NAME               the Node to register and serve\n"
	    "  --region R                topology.kubernetes.io/region\n"
	    "  --bin-dir DIR             where bare command names are found "
	    "first\n"
	    "                            (baton-agent)\n"
	    "  --state-dir DIR           pod state files, container logs, "
	    "emptyDirs\n"
	    "  --pod-cidr-base IP        first pod address (default "
	    "198.18.0.100)\n"
	    "  --max-pods N              pod addresses from the base "
	    "(default 32)\n"
	    "  --bridge NAME             bridge for the pod hosts (default "
	    "batonbr0)\n"
	    "  --gateway IP              the bridge's address (default "
	    "198.18.0.1)\n"
	    "  --prefix-len N            the bridge subnet's prefix (default "
	    "24)\n"
	    "  --node-ip IP              the Node's InternalIP and pods' "
	    "hostIP\n"
	    "                            (default: the gateway)\n"
	    "  --passive-container NAME  report NAME running, start no "
	    "process\n"
	    "                            (repeatable; default postgres)\n"
	    "  --shutdown-grace S        cap on grace periods when we stop "
	    "(15)\n"
	    "  --log-level L             debug, info, warn, error\n"
	    "\n"
	    "SIGTERM/SIGINT: stop every pod process and pod host, exit 0; a "
	    "second\n"
	    "signal kills at once. Exit 2 on bad flags.\n",
	    out);
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1) {
		return BATON_EINVAL;
	}
	*out = ntohl(a.s_addr);
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		return BATON_EINVAL;
	}
	*out = (int)v;
	return 0;
}

/* Fills LK from the command line: -1 when the kubelet should run, else
 * the exit code (0 after --help, 2 on bad flags, 1 when our own binary
 * cannot be found). */
int lk_options(struct lk *lk, int argc, char **argv)
{
	enum {
		O_KUBECONFIG = 256,
		O_NODE,
		O_REGION,
		O_BIN,
		O_STATE,
		O_BASE,
		O_MAXPODS,
		O_BRIDGE,
		O_GW,
		O_PREFIX,
		O_NODEIP,
		O_PASSIVE,
		O_GRACE,
		O_LEVEL,
	};
	static const struct option lopts[] = {
	    {"kubeconfig", required_argument, NULL, O_KUBECONFIG},
	    {"node", required_argument, NULL, O_NODE},
	    {"region", required_argument, NULL, O_REGION},
	    {"bin-dir", required_argument, NULL, O_BIN},
	    {"state-dir", required_argument, NULL, O_STATE},
	    {"pod-cidr-base", required_argument, NULL, O_BASE},
	    {"max-pods", required_argument, NULL, O_MAXPODS},
	    {"bridge", required_argument, NULL, O_BRIDGE},
	    {"gateway", required_argument, NULL, O_GW},
	    {"prefix-len", required_argument, NULL, O_PREFIX},
	    {"node-ip", required_argument, NULL, O_NODEIP},
	    {"passive-container", required_argument, NULL, O_PASSIVE},
	    {"shutdown-grace", required_argument, NULL, O_GRACE},
	    {"log-level", required_argument, NULL, O_LEVEL},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts *o = &lk->o;
	uint32_t gw, mask, last;
	enum baton_log_level level;
	ssize_t n;
	int c;

	o->bridge = "batonbr0";
	o->gateway = "198.18.0.1";
	o->pod_cidr_base = "198.18.0.100";
	o->max_pods = 32;
	o->prefix_len = 24;
	o->shutdown_grace_s = 15;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case O_KUBECONFIG:
			o->kubeconfig = optarg;
			break;
		case O_NODE:
			o->node = optarg;
			break;
		case O_REGION:
			o->region = optarg;
			break;
		case O_BIN:
			o->bin_dir = optarg;
			break;
		case O_STATE:
			o->state_dir = optarg;
			break;
		case O_BASE:
			o->pod_cidr_base = optarg;
			break;
		case O_MAXPODS:
			bad = parse_int(optarg, 1, MAX_PODS_CAP, &o->max_pods);
			break;
		case O_BRIDGE:
			o->bridge = optarg;
			break;
		case O_GW:
			o->gateway = optarg;
			break;
		case O_PREFIX:
			bad = parse_int(optarg, 16, 30, &o->prefix_len);
			break;
		case O_NODEIP:
			o->node_ip = optarg;
			break;
		case O_PASSIVE:
			if (o->n_passive == MAX_PASSIVE) {
				bad = 1;
			} else {
				o->passive[o->n_passive++] = optarg;
			}
			break;
		case O_GRACE:
			bad = parse_int(optarg, 0, 3600, &o->shutdown_grace_s);
			break;
		case O_LEVEL:
			if (baton_log_parse_level(optarg, &level) != 0) {
				bad = 1;
			} else {
				baton_log_set_level(level);
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr,
				"baton_labkubelet: bad value '%s' for --%s\n",
				optarg, lopts[c - O_KUBECONFIG].name);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"baton_labkubelet: unexpected argument '%s' (see "
			"--help)\n",
			argv[optind]);
		return 2;
	}
	if (!o->kubeconfig || !o->node || !o->region || !o->bin_dir ||
	    !o->state_dir) {
		fprintf(stderr, "baton_labkubelet: --kubeconfig, --node, "
				"--region, --bin-dir and --state-dir are "
				"required (see --help)\n");
		return 2;
	}
	if (o->n_passive == 0) {
		o->passive[o->n_passive++] = "postgres";
	}
	if (o->node_ip == NULL) {
		o->node_ip = o->gateway;
	}
	/* Addresses: only 198.18.0.0/15 (RFC 2544), inside the bridge's
	 * subnet, never the gateway. */
	mask = o->prefix_len == 0 ? 0 : ~0u << (32 - o->prefix_len);
	if (parse_ip(o->pod_cidr_base, &o->base) != 0 ||
	    parse_ip(o->gateway, &gw) != 0) {
		fprintf(stderr, "baton_labkubelet: --pod-cidr-base and "
				"--gateway must be IPv4 addresses\n");
		return 2;
	}
	last = o->base + (uint32_t)o->max_pods - 1;
	if ((o->base & 0xfffe0000u) != 0xc6120000u ||
	    (last & 0xfffe0000u) != 0xc6120000u) {
		fprintf(stderr, "baton_labkubelet: pod addresses must be in "
				"198.18.0.0/15 (RFC 2544), nothing else\n");
		return 2;
	}
	if ((o->base & mask) != (gw & mask) || (last & mask) != (gw & mask) ||
	    (gw >= o->base && gw <= last) || (last & ~mask) == ~mask) {
		fprintf(stderr,
			"baton_labkubelet: %s + %d pods must stay inside the "
			"bridge subnet of %s/%d and avoid the gateway and the "
			"broadcast address\n",
			o->pod_cidr_base, o->max_pods, o->gateway,
			o->prefix_len);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "baton_labkubelet: needs root (network "
				"namespaces, veth pairs, mounts)\n");
		return 2;
	}
	if (realpath(o->state_dir, o->abs_state_dir) == NULL &&
	    (mkdir_p(o->state_dir, 0755) != 0 ||
	     realpath(o->state_dir, o->abs_state_dir) == NULL)) {
		fprintf(stderr, "baton_labkubelet: --state-dir %s: %s\n",
			o->state_dir, strerror(errno));
		return 2;
	}
	o->state_dir = o->abs_state_dir;
	if (realpath(o->bin_dir, o->abs_bin_dir) == NULL) {
		fprintf(stderr, "baton_labkubelet: --bin-dir %s: %s\n",
			o->bin_dir, strerror(errno));
		return 2;
	}
	o->bin_dir = o->abs_bin_dir;
	n = readlink("/proc/self/exe", lk->self, sizeof lk->self - 1);
	if (n <= 0) {
		fprintf(stderr, "baton_labkubelet: /proc/self/exe: %s\n",
			strerror(errno));
		return 1;
	}
	lk->self[n] = '\0';
	return -1;
}
