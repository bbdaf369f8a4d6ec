/* labkubelet/netns.c: pod host network namespaces: create one with its
 * veth on the bridge, signal what runs in it, tear it down. Blocking (the
 * `ip` commands): called on the threadpool or at start-up. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labkubelet.h"

static bool netns_exists(const char *netns)
{
	char path[128];
	snprintf(path, sizeof path, "/run/netns/%s", netns);
	return access(path, F_OK) == 0;
}

/* Sends SIG to every process whose network namespace is NETNS (what
 * `ip netns pids` lists). Returns how many there were. */
static int netns_signal(const char *netns, int sig)
{
	char path[300];
	struct stat ns_st, st;
	struct dirent *de;
	DIR *d;
	int count = 0;

	snprintf(path, sizeof path, "/run/netns/%s", netns);
	if (stat(path, &ns_st) != 0) {
		return 0;
	}
	d = opendir("/proc");
	if (d == NULL) {
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 1 || pid == getpid()) {
			continue;
		}
		snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
		if (stat(path, &st) == 0 && st.st_ino == ns_st.st_ino &&
		    st.st_dev == ns_st.st_dev) {
			kill((pid_t)pid, sig);
			count++;
		}
	}
	closedir(d);
	return count;
}

/* Stops whatever still runs in NETNS (TERM, then KILL after GRACE_MS) and
 * deletes the namespace and the bridge side of its veth. */
void netns_teardown(const char *netns, const char *veth, unsigned grace_ms)
{
	char err[CMD_ERR_SIZE];

	if (netns[0] != '\0' && netns_exists(netns)) {
		if (netns_signal(netns, SIGTERM) > 0) {
			for (unsigned t = 0; t < grace_ms; t += 100) {
				usleep(100 * 1000);
				if (netns_signal(netns, 0) == 0) {
					break;
				}
			}
			netns_signal(netns, SIGKILL);
			for (int i = 0; i < 50 && netns_signal(netns, 0) > 0;
			     i++) {
				usleep(100 * 1000);
			}
		}
		char *del[] = {"ip", "netns", "del", (char *)netns, NULL};
		if (run_cmd(del, err, sizeof err) != 0) {
			baton_log_kv(BATON_LOG_WARN, COMP,
				     json_pack("{s:s, s:s}", "netns", netns,
					       "error", err),
				     "cannot delete network namespace");
		}
	}
	if (veth[0] != '\0') {
		char *del[] = {"ip", "link", "del", (char *)veth, NULL};
		(void)run_cmd(del, err, sizeof err); /* gone with its peer */
	}
}

int netns_setup(const char *netns, const char *veth, const char *ip,
		int prefix_len, const char *bridge, const char *gw, char *err,
		size_t errlen)
{
	char cidr[32];
	char e[CMD_ERR_SIZE];

	if (netns_exists(netns)) {
		snprintf(err, errlen,
			 "network namespace %s exists already (another lab "
			 "kubelet's pod with the same name, or a leftover: "
			 "'ip netns del %s')",
			 netns, netns);
		return -1;
	}
	snprintf(cidr, sizeof cidr, "%s/%d", ip, prefix_len);
	char *cmds[][12] = {
	    {"ip", "netns", "add", (char *)netns, NULL},
	    {"ip", "link", "add", (char *)veth, "type", "veth", "peer", "name",
	     "eth0", "netns", (char *)netns, NULL},
	    {"ip", "link", "set", (char *)veth, "master", (char *)bridge, "up",
	     NULL},
	    {"ip", "-n", (char *)netns, "addr", "add", cidr, "dev", "eth0",
	     NULL},
	    {"ip", "-n", (char *)netns, "link", "set", "eth0", "up", NULL},
	    {"ip", "-n", (char *)netns, "link", "set", "lo", "up", NULL},
	    {"ip", "-n", (char *)netns, "route", "add", "default", "via",
	     (char *)gw, NULL},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (run_cmd(cmds[i], e, sizeof e) != 0) {
			snprintf(err, errlen, "%s %s %s %s: %.300s", cmds[i][0],
				 cmds[i][1], cmds[i][2], cmds[i][3], e);
			netns_teardown(netns, veth, 0);
			return -1;
		}
	}
	return 0;
}
