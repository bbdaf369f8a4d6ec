/* baton_labkubelet: the lab's kubelet, for database pods only (design §9).
 *
 *   baton_labkubelet --kubeconfig F --node NAME --region R --bin-dir DIR
 *                    --state-dir DIR [--pod-cidr-base 198.18.0.100] ...
 *   baton_labkubelet fake-agent --listen H:P [--write FILE] ...  (tests)
 *   baton_labkubelet pod-exec [--mount SRC DST ro|rw]... [--workdir D]
 *                    -- CMD...          (internal: runs inside `ip netns exec`)
 *
 * There is no container runtime in the lab: a pod is a "pod host" network
 * namespace (bp-<pod>) with one veth into the bridge and its own address,
 * and each of its containers is a plain process started in that namespace
 * (`ip netns exec NS <self> pod-exec ... -- CMD`, pod-exec bind-mounts the
 * pod's volumes in a private mount namespace, then execs CMD, so the pid we
 * record is the container's own process). Containers named by
 * --passive-container (default "postgres") get no process: baton-agent runs
 * PostgreSQL itself, so they are reported running while the pod's other
 * containers run.
 *
 * Happy path: register the Node (server-side apply, then nodes/status and a
 * Lease in kube-node-lease every 10 s), LIST+WATCH all pods and keep those
 * with spec.nodeName == NODE. For each: resolve volumes (PVC → bound PV's
 * hostPath, emptyDir under the state dir, hostPath, secret → its decoded
 * keys as files under the state dir), create the pod host,
 * start the containers, probe readinessProbe.httpGet on the pod address, and
 * write pods/status (strategic merge patch, like the kubelet, with
 * metadata.uid as a precondition) whenever what we would report changes,
 * plus Events (Started, Killing, BackOff, Unhealthy ...). Informer handlers
 * only mark pods; a 0 ms timer syncs them, because the handlers run inside
 * curl's callbacks where no request may be started.
 *
 * Failure paths: a container that exits is restarted with backoff (1 s,
 * doubling to 30 s, reset after 60 s of running) and counted in
 * restartCount; volume or network setup errors are shown as the waiting
 * reason's message and retried every 2 s; failed status writes and DELETEs
 * are retried every 2 s (never in a tight loop); the Node is registered
 * again if it disappears.
 *
 * Bounds: --max-pods pods and addresses, 4 containers per pod, 96 argv and
 * env entries, container logs copytruncated at 16 MiB, 64 dead pod
 * directories kept for their logs.
 *
 * Stop paths: a pod with a deletionTimestamp, or gone from the API, is
 * stopped: SIGTERM to each container's process group, SIGKILL after the
 * grace period, then every process still in the pod host gets SIGTERM, then
 * SIGKILL, and the namespace is removed. Only then is the pod deleted from
 * the API with grace 0 (uid precondition), as the kubelet does. On our own
 * SIGTERM every pod is stopped the same way (grace capped by
 * --shutdown-grace) but left in the API; a second signal kills at once.
 *
 * Crash safety: each pod's namespace, veth, address and pids (with their
 * /proc start times) are written to STATE/pods/<uid>/state before they
 * exist; at start-up every state file left behind is torn down first, so a
 * restarted lab kubelet never leaks namespaces or processes. tests/lab/lab.sh
 * reads the same files.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "http/server.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"
#include "kube/rest.h"

extern char **environ;

#define COMP "labkubelet"
#define FIELD_MANAGER "baton-labkubelet"
#define MAX_PODS_CAP 200
#define MAX_CTRS 4
#define MAX_ARGV 96
#define MAX_ENV 96
#define MAX_PASSIVE 8
#define MAX_STATE_PIDS 8
#define HEARTBEAT_MS 10000
#define LEASE_SECONDS 40
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define BACKOFF_RESET_MS 60000
#define RETRY_MS 2000
#define LEFTOVER_GRACE_MS 5000
#define CMD_ERR_SIZE 512
#define LOG_ROTATE_BYTES (16L * 1024 * 1024) /* per container log */
#define KEEP_DEAD_POD_DIRS 64		     /* logs of pods that are gone */
#define POD_PATH_MAX 1024
#define CONTAINER_PATH                                                         \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- small helpers ---------------------------------------------------- */

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *jpath(json_t *o, const char *a, const char *b)
{
	return jstr(json_object_get(o, a), b);
}

static void time_rfc3339(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[POD_PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
				return -1;
			}
			*p = '/';
		}
	}
	if (mkdir(tmp, mode) != 0 && errno != EEXIST) {
		return -1;
	}
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Field 22 of /proc/PID/stat (start time in clock ticks), 0 if gone. It
 * tells a recorded pid from a recycled one. */
static unsigned long long proc_start_time(int pid)
{
	char path[64];
	char buf[1024];
	unsigned long long v = 0;
	FILE *f;
	char *p;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL) {
		return 0;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the command may contain spaces */
	if (p == NULL) {
		return 0;
	}
	/* after ") " come fields 3.. ; the start time is field 22 */
	for (int field = 2; field < 22 && p != NULL; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p != NULL) {
		v = strtoull(p + 1, NULL, 10);
	}
	return v;
}

/* Runs ARGV (PATH lookup) and waits; stderr+stdout tail in ERR. Blocking:
 * called from the threadpool or before the loop runs. libuv reaps only the
 * pids it spawned, so waitpid() here does not race with it. */
static int run_cmd(char *const argv[], char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	int pfd[2];
	pid_t pid;
	int status = 0;
	size_t used = 0;
	ssize_t n;
	char sink[256];
	int rc;

	if (pipe2(pfd, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		snprintf(err, errlen, "%s: %s", argv[0], strerror(rc));
		return -1;
	}
	err[0] = '\0';
	for (;;) {
		if (used + 1 < errlen) {
			n = read(pfd[0], err + used, errlen - 1 - used);
		} else {
			n = read(pfd[0], sink, sizeof sink);
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		if (used + 1 < errlen) {
			used += (size_t)n;
		}
	}
	close(pfd[0]);
	err[used < errlen ? used : errlen - 1] = '\0';
	while (used > 0 && (err[used - 1] == '\n' || err[used - 1] == ' ')) {
		err[--used] = '\0';
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (err[0] == '\0') {
			snprintf(err, errlen, "%s exited with status %d",
				 argv[0],
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		return -1;
	}
	return 0;
}

/* ---- pod host network namespaces (blocking; threadpool or start-up) --- */

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
static void netns_teardown(const char *netns, const char *veth,
			   unsigned grace_ms)
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

static int netns_setup(const char *netns, const char *veth, const char *ip,
		       int prefix_len, const char *bridge, const char *gw,
		       char *err, size_t errlen)
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

/* ---- the kubelet's state ---------------------------------------------- */

struct opts {
	const char *kubeconfig;
	const char *node;
	const char *region;
	const char *bin_dir;
	const char *state_dir;
	const char *bridge;
	const char *gateway;
	const char *node_ip;
	const char *pod_cidr_base;
	uint32_t base; /* host order */
	int max_pods;
	int prefix_len;
	int shutdown_grace_s;
	const char *passive[MAX_PASSIVE];
	int n_passive;
};

enum pstate {
	PS_NEW,	     /* seen, nothing done */
	PS_VOLUMES,  /* resolving volumes (API GETs) */
	PS_NET_UP,   /* creating the pod host (threadpool) */
	PS_RUNNING,  /* containers run or restart */
	PS_STOPPING, /* TERM sent, waiting for exits or the grace period */
	PS_NET_DOWN, /* removing the pod host (threadpool) */
	PS_DELETING, /* DELETE grace 0 in flight */
	PS_GONE,     /* off the list; freed when nothing is in flight */
};

static const char *pstate_name[] = {"new",	"volumes",  "net-up",
				    "running",	"stopping", "net-down",
				    "deleting", "gone"};

struct lk;
struct pod;

struct ctr {
	struct pod *pod;
	char name[64];
	char image[256];
	bool passive;
	uv_process_t proc;
	bool running; /* spawned, handle not closed yet */
	bool exited;  /* reaped: the pid may belong to someone else now */
	int pid;
	unsigned long long pid_start;
	char started_at[32];
	uint64_t started_ms;
	bool ever_started;
	int restarts;
	uint64_t backoff_ms;
	bool in_backoff;
	bool has_last;
	int last_code;
	char last_reason[32];
	char last_started[32];
	char last_finished[32];
	char wait_reason[48];
	char wait_msg[256];
	uv_timer_t restart_timer;
	/* readiness (httpGet only; anything else: ready while running) */
	bool has_probe;
	char probe_path[256];
	int probe_port;
	uint64_t probe_period_ms;
	uint64_t probe_delay_ms;
	long probe_timeout_ms;
	int failure_threshold;
	int probe_failures;
	uv_timer_t probe_timer;
	uv_work_t probe_work;
	bool probe_busy;
	bool probe_ok;
	char probe_url[320];
	bool ready;
};

struct pod {
	struct lk *lk;
	struct pod *next;
	json_t *obj;
	char ns[64];
	char name[254];
	char uid[64];
	char dir[POD_PATH_MAX];
	char netns[64];
	char veth[16];
	char ip[16];
	int slot;
	enum pstate state;
	bool api_gone;
	bool kill_sent;
	bool probes_started;
	char start_time[32];
	bool ready;
	char ready_changed[32];
	int n_ctrs;
	struct ctr ctrs[MAX_CTRS];
	json_t *vol_paths; /* volume name → host path */
	json_t *refs;	   /* "secret/NAME" | "configmap/NAME" → its data */
	size_t ref_i;
	size_t vol_i;
	int vol_step;	   /* 0: GET the claim, 1: GET its volume, 2: GET the
			      Secret of a secret volume */
	size_t sec_i;	   /* the secret volume being refreshed */
	char sec_err[256]; /* the last refresh trouble (logged once) */
	struct baton_kube_request vreq;
	bool vreq_busy;
	uv_work_t net_work;
	bool net_busy;
	bool net_up; /* what net_work does */
	int net_rv;
	unsigned net_grace_ms;
	char net_err[CMD_ERR_SIZE];
	uv_timer_t timer; /* retries and the kill deadline */
	struct baton_kube_request sreq;
	uv_timer_t stimer; /* status write retry */
	bool sreq_busy;
	bool sdirty;
	json_t *last_status;
	struct baton_kube_request dreq;
	bool dreq_busy;
	int open_handles;
	bool closing;
	char err[256]; /* pod-level trouble, shown as the waiting message */
	bool needs_sync;
};

struct lk {
	uv_loop_t *loop;
	uv_loop_t loop_storage;
	struct opts o;
	char self[PATH_MAX];
	struct baton_kube_client kube;
	struct baton_kube_informer pods_inf;
	struct baton_kube_recorder events;
	bool events_open;
	bool kube_open;
	bool inf_open;
	uv_signal_t sigterm, sigint;
	uv_timer_t heartbeat;
	uv_timer_t kick; /* runs pod_sync outside the informer's callbacks */
	struct baton_kube_request node_req, nstat_req, lease_req;
	bool node_busy, nstat_busy, lease_busy;
	bool node_applied;
	char node_uid[64];
	char ready_since[32];
	struct pod *pods;
	int n_live; /* allocated pod structs, on the list or not */
	bool slot_used[MAX_PODS_CAP];
	bool pod_cap_logged;
	bool stopping;
	bool killing;
	bool shut;
	int exit_code;
};

static void pod_sync(struct pod *p);
static void pod_status_write(struct pod *p);
static void lk_check_done(struct lk *lk);

static bool pod_busy(const struct pod *p)
{
	if (p->vreq_busy || p->net_busy || p->sreq_busy || p->dreq_busy) {
		return true;
	}
	for (int i = 0; i < p->n_ctrs; i++) {
		if (p->ctrs[i].probe_busy || p->ctrs[i].running) {
			return true;
		}
	}
	return false;
}

static void pod_log(const struct pod *p, enum baton_log_level level,
		    const char *msg, json_t *extra)
{
	json_t *f = json_pack("{s:s, s:s, s:s}", "pod", p->name, "namespace",
			      p->ns, "state", pstate_name[p->state]);
	if (extra != NULL) {
		json_object_update(f, extra);
		json_decref(extra);
	}
	baton_log_kv(level, COMP, f, "%s", msg);
}

/* An Event about P for `kubectl describe pod` (as the kubelet's: Started,
 * Killing, BackOff, Failed, Unhealthy). Fire and forget; the recorder
 * aggregates repeats. */
static void pod_event_rec(struct pod *p, const char *type, const char *reason,
			  const char *msg)
{
	json_t *ref;

	if (!p->lk->events_open || p->lk->stopping || p->api_gone) {
		return;
	}
	ref = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "v1",
			"kind", "Pod", "metadata", "name", p->name, "namespace",
			p->ns, "uid", p->uid);
	if (ref != NULL) {
		baton_kube_event(&p->lk->events, ref, type, reason, "%s", msg);
		json_decref(ref);
	}
}

/* ---- pod memory --------------------------------------------------------- */

static void pod_free(struct pod *p)
{
	struct lk *lk = p->lk;
	json_decref(p->obj);
	json_decref(p->vol_paths);
	json_decref(p->refs);
	json_decref(p->last_status);
	free(p);
	lk->n_live--;
	lk_check_done(lk);
}

static void pod_handle_closed_cb(uv_handle_t *h)
{
	struct pod *p = h->data;
	if (--p->open_handles == 0 && p->closing) {
		pod_free(p);
	}
}

static void ctr_handle_closed_cb(uv_handle_t *h)
{
	struct ctr *c = h->data;
	pod_handle_closed_cb((uv_handle_t *)&c->pod->timer);
}

/* Frees P once it is GONE and nothing refers to it any more. */
static void pod_maybe_free(struct pod *p)
{
	if (p->state != PS_GONE || p->closing || pod_busy(p)) {
		return;
	}
	p->closing = true;
	uv_close((uv_handle_t *)&p->timer, pod_handle_closed_cb);
	uv_close((uv_handle_t *)&p->stimer, pod_handle_closed_cb);
	for (int i = 0; i < p->n_ctrs; i++) {
		p->ctrs[i].restart_timer.data = &p->ctrs[i];
		p->ctrs[i].probe_timer.data = &p->ctrs[i];
		uv_close((uv_handle_t *)&p->ctrs[i].restart_timer,
			 ctr_handle_closed_cb);
		uv_close((uv_handle_t *)&p->ctrs[i].probe_timer,
			 ctr_handle_closed_cb);
	}
}

static void state_write(struct pod *p)
{
	char path[POD_PATH_MAX + 16], tmp[POD_PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof path, "%s/state", p->dir);
	snprintf(tmp, sizeof tmp, "%s/state.tmp", p->dir);
	f = fopen(tmp, "w");
	if (f == NULL) {
		pod_log(p, BATON_LOG_ERROR, "cannot write state file",
			json_pack("{s:s, s:s}", "path", tmp, "error",
				  strerror(errno)));
		return;
	}
	fprintf(f, "pod=%s/%s\nuid=%s\nnetns=%s\nveth=%s\nip=%s\n", p->ns,
		p->name, p->uid, p->netns, p->veth, p->ip);
	for (int i = 0; i < p->n_ctrs; i++) {
		if (p->ctrs[i].running && !p->ctrs[i].exited) {
			fprintf(f, "pid=%d %llu %s\n", p->ctrs[i].pid,
				p->ctrs[i].pid_start, p->ctrs[i].name);
		}
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		pod_log(p, BATON_LOG_ERROR, "cannot write state file",
			json_pack("{s:s, s:s}", "path", path, "error",
				  strerror(errno)));
	}
}

static void state_remove(struct pod *p)
{
	char path[POD_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/state", p->dir);
	unlink(path);
}

/* Start-up: tear down every pod host a previous run left behind. */
static void state_cleanup_leftovers(struct lk *lk)
{
	char dir[POD_PATH_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/pods", lk->o.state_dir);
	d = opendir(dir);
	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[POD_PATH_MAX + 300];
		char line[512];
		char netns[64] = "", veth[16] = "";
		FILE *f;

		if (de->d_name[0] == '.') {
			continue;
		}
		snprintf(path, sizeof path, "%s/%s/state", dir, de->d_name);
		f = fopen(path, "r");
		if (f == NULL) {
			continue;
		}
		while (fgets(line, sizeof line, f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "netns=", 6) == 0) {
				snprintf(netns, sizeof netns, "%.63s",
					 line + 6);
			} else if (strncmp(line, "veth=", 5) == 0) {
				snprintf(veth, sizeof veth, "%.15s", line + 5);
			} else if (strncmp(line, "pid=", 4) == 0) {
				int pid = 0;
				unsigned long long st = 0;
				if (sscanf(line + 4, "%d %llu", &pid, &st) ==
					2 &&
				    pid > 1 && proc_start_time(pid) == st) {
					kill(-pid, SIGKILL);
					kill(pid, SIGKILL);
				}
			}
		}
		fclose(f);
		baton_log_kv(
		    BATON_LOG_WARN, COMP,
		    json_pack("{s:s, s:s}", "netns", netns, "state", path),
		    "tearing down a pod host left by a previous run");
		netns_teardown(netns, veth, 0);
		unlink(path);
	}
	closedir(d);
}

/* ---- pod spec → what to run ------------------------------------------- */

static bool is_passive(const struct lk *lk, const char *name)
{
	for (int i = 0; i < lk->o.n_passive; i++) {
		if (strcmp(lk->o.passive[i], name) == 0) {
			return true;
		}
	}
	return false;
}

static json_t *ctr_spec(const struct ctr *c)
{
	json_t *list =
	    json_object_get(json_object_get(c->pod->obj, "spec"), "containers");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *n = jstr(v, "name");
		if (n != NULL && strcmp(n, c->name) == 0) {
			return v;
		}
	}
	return NULL;
}

/* A fieldRef's value, or NULL if the lab cannot resolve it. */
static const char *field_ref(struct pod *p, const char *path, char *buf,
			     size_t n)
{
	json_t *meta = json_object_get(p->obj, "metadata");
	char key[256];

	if (strcmp(path, "metadata.name") == 0) {
		return p->name;
	}
	if (strcmp(path, "metadata.namespace") == 0) {
		return p->ns;
	}
	if (strcmp(path, "metadata.uid") == 0) {
		return p->uid;
	}
	if (strcmp(path, "spec.nodeName") == 0) {
		return p->lk->o.node;
	}
	if (strcmp(path, "spec.serviceAccountName") == 0) {
		const char *sa = jpath(p->obj, "spec", "serviceAccountName");
		return sa != NULL ? sa : "default";
	}
	if (strcmp(path, "status.podIP") == 0 ||
	    strcmp(path, "status.podIPs") == 0) {
		return p->ip;
	}
	if (strcmp(path, "status.hostIP") == 0 ||
	    strcmp(path, "status.hostIPs") == 0) {
		return p->lk->o.node_ip;
	}
	if ((sscanf(path, "metadata.labels['%255[^']']", key) == 1 &&
	     strncmp(path, "metadata.labels", 15) == 0)) {
		const char *v = jstr(json_object_get(meta, "labels"), key);
		snprintf(buf, n, "%s", v != NULL ? v : "");
		return buf;
	}
	if ((sscanf(path, "metadata.annotations['%255[^']']", key) == 1 &&
	     strncmp(path, "metadata.annotations", 20) == 0)) {
		const char *v = jstr(json_object_get(meta, "annotations"), key);
		snprintf(buf, n, "%s", v != NULL ? v : "");
		return buf;
	}
	return NULL;
}

/* The most bytes LEN characters of base64 decode to. */
static size_t b64_max(size_t len)
{
	return len / 4 * 3;
}

/* A Secret's value (standard base64, padded) RAW of LEN characters into OUT
 * (CAP bytes); its length in *OUTLEN. -1 if RAW is not base64 or does not
 * fit. */
static int b64_decode(const char *raw, size_t len, unsigned char *out,
		      size_t cap, size_t *outlen)
{
	size_t pad = 0;
	int dec;

	if (len % 4 != 0 || b64_max(len) > cap || len > INT_MAX) {
		return -1;
	}
	if (len == 0) {
		*outlen = 0;
		return 0;
	}
	while (pad < 2 && len > pad && raw[len - 1 - pad] == '=') {
		pad++;
	}
	dec = EVP_DecodeBlock(out, (const unsigned char *)raw, (int)len);
	if (dec < 0 || (size_t)dec < pad) {
		return -1;
	}
	*outlen = (size_t)dec - pad;
	return 0;
}

/* secretKeyRef / configMapKeyRef → its value in OUT (a Secret's value
 * base64-decoded). BATON_ENOTFOUND: optional and absent (leave the
 * variable unset); other errors say why in ERRMSG. */
static int key_ref(struct pod *p, json_t *from, const char *var, char *out,
		   size_t n, char *errmsg)
{
	json_t *sk = json_object_get(from, "secretKeyRef");
	json_t *ref =
	    sk != NULL ? sk : json_object_get(from, "configMapKeyRef");
	const char *name = jstr(ref, "name");
	const char *key = jstr(ref, "key");
	bool optional = json_is_true(json_object_get(ref, "optional"));
	char rkey[300];
	json_t *data;
	const char *raw;
	size_t len, dec;

	snprintf(rkey, sizeof rkey, "%s/%.250s", sk ? "secret" : "configmap",
		 name ? name : "");
	data = json_object_get(p->refs, rkey);
	raw = key != NULL ? jstr(data, key) : NULL;
	if (raw == NULL) {
		if (optional) {
			return BATON_ENOTFOUND;
		}
		baton_errmsg_printf(errmsg, "env %s: %s %s has no key %s", var,
				    sk ? "Secret" : "ConfigMap",
				    name ? name : "?", key ? key : "?");
		return BATON_EINVAL;
	}
	len = strlen(raw);
	if (sk == NULL) {
		if (len >= n) {
			baton_errmsg_printf(errmsg, "env %s: value too large",
					    var);
			return BATON_ETOOLARGE;
		}
		memcpy(out, raw, len + 1);
		return 0;
	}
	if (len % 4 != 0 || b64_max(len) >= n) {
		baton_errmsg_printf(errmsg,
				    "env %s: Secret %s key %s is not base64 "
				    "or too large",
				    var, name, key);
		return BATON_EINVAL;
	}
	if (b64_decode(raw, len, (unsigned char *)out, n - 1, &dec) != 0) {
		baton_errmsg_printf(errmsg,
				    "env %s: Secret %s key %s: bad base64", var,
				    name, key);
		return BATON_EINVAL;
	}
	out[dec] = '\0';
	return 0;
}

struct strv {
	char *v[MAX_ARGV + 1];
	int n;
};

static int strv_add(struct strv *s, const char *str)
{
	if (s->n >= MAX_ARGV) {
		return BATON_ETOOLARGE;
	}
	s->v[s->n] = strdup(str);
	if (s->v[s->n] == NULL) {
		return BATON_ENOMEM;
	}
	s->v[++s->n] = NULL;
	return 0;
}

static void strv_free(struct strv *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->v[i]);
	}
	s->n = 0;
	s->v[0] = NULL;
}

/* NAME=VALUE of ENV for NAME, or NULL. */
static const char *env_lookup(const struct strv *env, const char *name,
			      size_t len)
{
	for (int i = 0; i < env->n; i++) {
		if (strncmp(env->v[i], name, len) == 0 &&
		    env->v[i][len] == '=') {
			return env->v[i] + len + 1;
		}
	}
	return NULL;
}

/* Kubernetes expands $(VAR) in command and args from the container's
 * environment; $$ is a literal $; unknown references stay as written. */
static int expand(const char *in, const struct strv *env, char *out, size_t n)
{
	size_t o = 0;
	for (const char *s = in; *s != '\0';) {
		const char *add = s;
		size_t len = 1;
		if (s[0] == '$' && s[1] == '$') {
			len = 1;
			s += 2;
		} else if (s[0] == '$' && s[1] == '(') {
			const char *end = strchr(s + 2, ')');
			const char *v =
			    end != NULL
				? env_lookup(env, s + 2, (size_t)(end - s - 2))
				: NULL;
			if (v != NULL) {
				add = v;
				len = strlen(v);
				s = end + 1;
			} else {
				s++;
			}
		} else {
			s++;
		}
		if (o + len >= n) {
			return BATON_ETOOLARGE;
		}
		memcpy(out + o, add, len);
		o += len;
	}
	out[o] = '\0';
	return 0;
}

static bool find_exec(const char *dir, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", dir, name);
	return access(out, X_OK) == 0;
}

/* Builds the argv and environment of container C. On error C->wait_msg
 * says what is wrong with the pod spec. */
static int ctr_build(struct ctr *c, json_t *spec, struct strv *argv,
		     struct strv *env)
{
	struct pod *p = c->pod;
	struct lk *lk = p->lk;
	char buf[4096];
	char exe[PATH_MAX];
	struct strv cmd = {.n = 0};
	json_t *v;
	size_t i;
	int rv = 0;

	snprintf(buf, sizeof buf, "HOSTNAME=%s", p->name);
	if (strv_add(env, "PATH=" CONTAINER_PATH) || strv_add(env, buf) ||
	    strv_add(env, "HOME=/root")) {
		return BATON_ENOMEM;
	}
	json_array_foreach(json_object_get(spec, "env"), i, v)
	{
		const char *name = jstr(v, "name");
		const char *val = jstr(v, "value");
		json_t *from = json_object_get(v, "valueFrom");
		char fbuf[2048];
		char ebuf[2048];
		if (name == NULL) {
			continue;
		}
		if (from != NULL &&
		    (json_object_get(from, "secretKeyRef") ||
		     json_object_get(from, "configMapKeyRef"))) {
			int r = key_ref(p, from, name, fbuf, sizeof fbuf,
					c->wait_msg);
			if (r == BATON_ENOTFOUND) {
				continue; /* optional and missing: unset */
			}
			if (r != 0) {
				return r;
			}
			val = fbuf;
		} else if (from != NULL) {
			const char *fp = jpath(from, "fieldRef", "fieldPath");
			val = fp != NULL ? field_ref(p, fp, fbuf, sizeof fbuf)
					 : NULL;
			if (val == NULL) {
				baton_errmsg_printf(
				    c->wait_msg,
				    "env %s: only fieldRef, secretKeyRef and "
				    "configMapKeyRef are supported in the lab",
				    name);
				return BATON_EINVAL;
			}
		}
		/* $(VAR) is expanded in plain values only, as in Kubernetes */
		if (from != NULL) {
			snprintf(ebuf, sizeof ebuf, "%s", val);
		} else if (expand(val != NULL ? val : "", env, ebuf,
				  sizeof ebuf) != 0) {
			baton_errmsg_printf(c->wait_msg, "env %s: too long",
					    name);
			return BATON_ETOOLARGE;
		}
		if (snprintf(buf, sizeof buf, "%s=%s", name, ebuf) >=
			(int)sizeof buf ||
		    strv_add(env, buf) != 0) {
			baton_errmsg_printf(c->wait_msg, "env: too large");
			return BATON_ETOOLARGE;
		}
	}
	if (json_object_get(spec, "envFrom") != NULL) {
		baton_errmsg_printf(c->wait_msg,
				    "envFrom is not supported in the lab");
		return BATON_EINVAL;
	}

	/* command + args; without command, args is the whole command line
	 * (the lab has no image ENTRYPOINT). */
	const char *keys[] = {"command", "args"};
	for (int k = 0; k < 2; k++) {
		json_array_foreach(json_object_get(spec, keys[k]), i, v)
		{
			const char *s = json_string_value(v);
			if (s == NULL || expand(s, env, buf, sizeof buf) != 0 ||
			    strv_add(&cmd, buf) != 0) {
				baton_errmsg_printf(c->wait_msg,
						    "%s[%zu]: not a string or "
						    "too long",
						    keys[k], i);
				strv_free(&cmd);
				return BATON_EINVAL;
			}
		}
	}
	if (cmd.n == 0) {
		baton_errmsg_printf(c->wait_msg,
				    "no command or args: the lab has no image "
				    "entrypoint to fall back on");
		return BATON_EINVAL;
	}
	if (strchr(cmd.v[0], '/') == NULL) {
		char path[sizeof(CONTAINER_PATH)];
		char *save = NULL;
		bool found =
		    find_exec(lk->o.bin_dir, cmd.v[0], exe, sizeof exe);
		snprintf(path, sizeof path, "%s", CONTAINER_PATH);
		for (char *d = strtok_r(path, ":", &save); !found && d != NULL;
		     d = strtok_r(NULL, ":", &save)) {
			found = find_exec(d, cmd.v[0], exe, sizeof exe);
		}
		if (!found) {
			baton_errmsg_printf(c->wait_msg,
					    "executable %s not found in "
					    "--bin-dir %s nor in %s",
					    cmd.v[0], lk->o.bin_dir,
					    CONTAINER_PATH);
			strv_free(&cmd);
			return BATON_ENOTFOUND;
		}
	} else {
		snprintf(exe, sizeof exe, "%s", cmd.v[0]);
		if (access(exe, X_OK) != 0) {
			baton_errmsg_printf(c->wait_msg, "%s: %s", exe,
					    strerror(errno));
			strv_free(&cmd);
			return BATON_ENOTFOUND;
		}
	}

	/* The image has the baton_lease module in PostgreSQL's pkglibdir;
	 * the lab's "image" is the build directory: a module given by name
	 * is the one built next to the binaries (BUILD/lib/NAME.so). */
	for (int k = 1; k + 1 < cmd.n; k++) {
		if (strcmp(cmd.v[k], "--pg-lease-module") == 0 &&
		    strchr(cmd.v[k + 1], '/') == NULL) {
			char so[PATH_MAX];
			char *dup;
			snprintf(so, sizeof so, "%s/../lib/%s.so",
				 lk->o.bin_dir, cmd.v[k + 1]);
			if (access(so, R_OK) == 0 &&
			    (dup = strdup(so)) != NULL) {
				free(cmd.v[k + 1]);
				cmd.v[k + 1] = dup;
			}
		}
	}

	/* ip netns exec NS SELF pod-exec --mount SRC DST ro|rw ... -- CMD */
	rv = strv_add(argv, "ip") || strv_add(argv, "netns") ||
	     strv_add(argv, "exec") || strv_add(argv, p->netns) ||
	     strv_add(argv, lk->self) || strv_add(argv, "pod-exec");
	json_array_foreach(json_object_get(spec, "volumeMounts"), i, v)
	{
		const char *vol = jstr(v, "name");
		const char *dst = jstr(v, "mountPath");
		const char *sub = jstr(v, "subPath");
		const char *src = jstr(p->vol_paths, vol != NULL ? vol : "");
		bool ro = json_is_true(json_object_get(v, "readOnly"));
		json_t *pv;
		size_t k;
		if (src == NULL || dst == NULL) {
			continue; /* projected, configMap ...: not in the lab */
		}
		/* a secret volume is read-only whatever the mount says, as
		 * the kubelet's are */
		json_array_foreach(
		    json_object_get(json_object_get(p->obj, "spec"), "volumes"),
		    k, pv)
		{
			const char *pn = jstr(pv, "name");
			ro = ro || (pn != NULL && vol != NULL &&
				    strcmp(pn, vol) == 0 &&
				    json_object_get(pv, "secret") != NULL);
		}
		if (sub != NULL && sub[0] != '\0') {
			snprintf(buf, sizeof buf, "%s/%s", src, sub);
			mkdir_p(buf, 0755);
			src = buf;
		}
		rv = rv || strv_add(argv, "--mount") || strv_add(argv, src) ||
		     strv_add(argv, dst) || strv_add(argv, ro ? "ro" : "rw");
	}
	if (jstr(spec, "workingDir") != NULL) {
		rv = rv || strv_add(argv, "--workdir") ||
		     strv_add(argv, jstr(spec, "workingDir"));
	}
	rv = rv || strv_add(argv, "--") || strv_add(argv, exe);
	for (int k = 1; k < cmd.n; k++) {
		rv = rv || strv_add(argv, cmd.v[k]);
	}
	strv_free(&cmd);
	if (rv != 0) {
		baton_errmsg_printf(c->wait_msg, "command line too long");
		return BATON_ETOOLARGE;
	}
	return 0;
}

static uint64_t probe_ms(json_t *probe, const char *key, uint64_t dflt)
{
	json_t *v = json_object_get(probe, key);
	return json_is_integer(v) && json_integer_value(v) >= 0
		   ? (uint64_t)json_integer_value(v) * 1000
		   : dflt;
}

/* readinessProbe.httpGet → URL on the pod address; a named port is looked
 * up in the container's ports. Other probe kinds: ready while running. */
static void ctr_probe_config(struct ctr *c, json_t *spec)
{
	json_t *probe = json_object_get(spec, "readinessProbe");
	json_t *get = json_object_get(probe, "httpGet");
	json_t *port = json_object_get(get, "port");
	const char *path = jstr(get, "path");
	json_t *v;
	size_t i;

	c->has_probe = false;
	if (get == NULL) {
		return;
	}
	c->probe_port = 0;
	if (json_is_integer(port)) {
		c->probe_port = (int)json_integer_value(port);
	} else if (json_is_string(port)) {
		json_array_foreach(json_object_get(spec, "ports"), i, v)
		{
			const char *n = jstr(v, "name");
			if (n != NULL &&
			    strcmp(n, json_string_value(port)) == 0) {
				c->probe_port = (int)json_integer_value(
				    json_object_get(v, "containerPort"));
			}
		}
		if (c->probe_port == 0) {
			char *end;
			long n = strtol(json_string_value(port), &end, 10);
			c->probe_port = *end == '\0' ? (int)n : 0;
		}
	}
	if (c->probe_port <= 0 || c->probe_port > 65535) {
		pod_log(c->pod, BATON_LOG_WARN,
			"readinessProbe port unresolved: ready while running",
			json_pack("{s:s}", "container", c->name));
		return;
	}
	snprintf(c->probe_path, sizeof c->probe_path, "%s",
		 path != NULL ? path : "/");
	c->probe_period_ms = probe_ms(probe, "periodSeconds", 10000);
	c->probe_delay_ms = probe_ms(probe, "initialDelaySeconds", 0);
	c->probe_timeout_ms = (long)probe_ms(probe, "timeoutSeconds", 1000);
	if (c->probe_period_ms < 1000) {
		c->probe_period_ms = 1000;
	}
	if (c->probe_timeout_ms < 1000) {
		c->probe_timeout_ms = 1000;
	}
	v = json_object_get(probe, "failureThreshold");
	c->failure_threshold = json_is_integer(v) && json_integer_value(v) > 0
				   ? (int)json_integer_value(v)
				   : 3;
	c->has_probe = true;
}

/* ---- readiness probes (curl on the threadpool) ------------------------ */

/* The probe's body is not needed, only its status. */
static size_t discard_cb(char *buf, size_t size, size_t n, void *ud)
{
	(void)buf;
	(void)ud;
	return size * n;
}

static void probe_work_cb(uv_work_t *w)
{
	struct ctr *c = w->data;
	CURL *h = curl_easy_init();
	long code = 0;

	c->probe_ok = false;
	if (h == NULL) {
		return;
	}
	curl_easy_setopt(h, CURLOPT_URL, c->probe_url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->probe_timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "baton-labkubelet/probe");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		c->probe_ok = code >= 200 && code < 400;
	}
	curl_easy_cleanup(h);
}

static void probe_schedule(struct ctr *c, uint64_t ms);

static void probe_after_cb(uv_work_t *w, int status)
{
	struct ctr *c = w->data;
	struct pod *p = c->pod;
	bool was = c->ready;

	c->probe_busy = false;
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (status != 0 || !c->running) {
		return;
	}
	if (c->probe_ok) {
		c->probe_failures = 0;
		c->ready = true;
	} else if (++c->probe_failures >= c->failure_threshold) {
		c->ready = false;
	}
	if (c->ready != was) {
		pod_log(p, BATON_LOG_INFO,
			c->ready ? "container ready" : "container not ready",
			json_pack("{s:s, s:s}", "container", c->name, "url",
				  c->probe_url));
		if (!c->ready) {
			char msg[400];
			snprintf(msg, sizeof msg,
				 "Readiness probe failed: GET %.300s",
				 c->probe_url);
			pod_event_rec(p, "Warning", "Unhealthy", msg);
		}
		pod_status_write(p);
	}
	probe_schedule(c, c->probe_period_ms);
}

static void probe_timer_cb(uv_timer_t *t)
{
	struct ctr *c = t->data;
	struct pod *p = c->pod;

	if (!c->running || c->probe_busy || p->state != PS_RUNNING) {
		return;
	}
	snprintf(c->probe_url, sizeof c->probe_url, "http://%s:%d%s", p->ip,
		 c->probe_port, c->probe_path);
	c->probe_work.data = c;
	if (uv_queue_work(p->lk->loop, &c->probe_work, probe_work_cb,
			  probe_after_cb) == 0) {
		c->probe_busy = true;
	} else {
		probe_schedule(c, c->probe_period_ms);
	}
}

static void probe_schedule(struct ctr *c, uint64_t ms)
{
	c->probe_timer.data = c;
	uv_timer_start(&c->probe_timer, probe_timer_cb, ms, 0);
}

/* ---- containers --------------------------------------------------------- */

static bool pod_want_stop(const struct pod *p)
{
	return p->lk->stopping || p->api_gone ||
	       json_object_get(json_object_get(p->obj, "metadata"),
			       "deletionTimestamp") != NULL;
}

static int ctr_start(struct ctr *c);

static void restart_timer_cb(uv_timer_t *t)
{
	struct ctr *c = t->data;
	struct pod *p = c->pod;

	c->in_backoff = false;
	if (p->state != PS_RUNNING || pod_want_stop(p)) {
		pod_sync(p);
		return;
	}
	ctr_start(c);
	pod_status_write(p);
}

static void ctr_backoff(struct ctr *c)
{
	uint64_t delay = c->backoff_ms;

	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							   : c->backoff_ms * 2;
	c->in_backoff = true;
	snprintf(c->wait_reason, sizeof c->wait_reason, "%s",
		 c->ever_started ? "CrashLoopBackOff" : "CreateContainerError");
	if (c->ever_started) {
		snprintf(c->wait_msg, sizeof c->wait_msg,
			 "back-off %llus restarting failed container %s",
			 (unsigned long long)(delay / 1000), c->name);
		pod_event_rec(c->pod, "Warning", "BackOff",
			      "Back-off restarting failed container");
	}
	c->restart_timer.data = c;
	uv_timer_start(&c->restart_timer, restart_timer_cb, delay, 0);
}

static void proc_closed_cb(uv_handle_t *h)
{
	struct ctr *c = h->data;
	struct pod *p = c->pod;

	c->running = false;
	p->open_handles--;
	state_write(p);
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (p->state == PS_RUNNING && !pod_want_stop(p)) {
		ctr_backoff(c);
		c->restarts++;
		pod_status_write(p);
		return;
	}
	pod_sync(p);
}

static void proc_exit_cb(uv_process_t *proc, int64_t exit_status,
			 int term_signal)
{
	struct ctr *c = proc->data;
	struct pod *p = c->pod;

	c->exited = true;
	c->has_last = true;
	c->last_code = term_signal != 0 ? 128 + term_signal : (int)exit_status;
	snprintf(c->last_reason, sizeof c->last_reason, "%s",
		 c->last_code == 0 ? "Completed" : "Error");
	snprintf(c->last_started, sizeof c->last_started, "%s", c->started_at);
	time_rfc3339(c->last_finished, sizeof c->last_finished);
	c->ready = false;
	uv_timer_stop(&c->probe_timer);
	if (uv_now(p->lk->loop) - c->started_ms >= BACKOFF_RESET_MS) {
		c->backoff_ms = BACKOFF_MIN_MS;
	}
	pod_log(p,
		p->state == PS_RUNNING && !pod_want_stop(p) ? BATON_LOG_WARN
							    : BATON_LOG_INFO,
		"container exited",
		json_pack("{s:s, s:i, s:I, s:i}", "container", c->name, "pid",
			  c->pid, "exit_status", (json_int_t)exit_status,
			  "signal", term_signal));
	/* running stays true until the handle is closed: the pod is busy */
	uv_close((uv_handle_t *)&c->proc, proc_closed_cb);
}

/* The container's executable: the word after pod-exec's "--". */
static const char *exe_of(const struct strv *argv)
{
	for (int i = 0; i + 1 < argv->n; i++) {
		if (strcmp(argv->v[i], "--") == 0) {
			return argv->v[i + 1];
		}
	}
	return argv->n > 0 ? argv->v[0] : "";
}

static int ctr_open_log(struct ctr *c)
{
	char path[POD_PATH_MAX + 80];
	snprintf(path, sizeof path, "%s/%s.log", c->pod->dir, c->name);
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* Starts C's process in the pod host; on failure schedules a retry with
 * backoff and says why in the waiting state. */
static int ctr_start(struct ctr *c)
{
	struct pod *p = c->pod;
	struct strv argv = {.n = 0}, env = {.n = 0};
	uv_process_options_t po;
	uv_stdio_container_t stdio[3];
	json_t *spec = ctr_spec(c);
	int fd = -1;
	int rv;

	c->wait_msg[0] = '\0';
	if (spec == NULL) {
		baton_errmsg_printf(c->wait_msg, "container %s vanished",
				    c->name);
		rv = BATON_EINTERNAL;
		goto err;
	}
	rv = ctr_build(c, spec, &argv, &env);
	if (rv != 0) {
		goto err;
	}
	fd = ctr_open_log(c);
	if (fd < 0) {
		baton_errmsg_printf(c->wait_msg, "log file in %s: %s", p->dir,
				    strerror(errno));
		rv = BATON_EIO;
		goto err;
	}
	memset(&po, 0, sizeof po);
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = fd;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = fd;
	po.file = argv.v[0];
	po.args = argv.v;
	po.env = env.v;
	po.stdio = stdio;
	po.stdio_count = 3;
	po.exit_cb = proc_exit_cb;
	/* Own session and process group: SIGTERM reaches the container's
	 * children, and a crash of ours does not take the pods down. */
	po.flags = UV_PROCESS_DETACHED;
	c->proc.data = c;
	rv = uv_spawn(p->lk->loop, &c->proc, &po);
	close(fd);
	p->open_handles++;
	if (rv != 0) {
		baton_errmsg_printf(c->wait_msg, "spawn %s: %s", argv.v[0],
				    uv_strerror(rv));
		c->running = true; /* until the close callback */
		c->exited = true;
		c->ever_started = false;
		uv_close((uv_handle_t *)&c->proc, proc_closed_cb);
		strv_free(&argv);
		strv_free(&env);
		return BATON_EIO;
	}
	c->running = true;
	c->exited = false;
	c->ever_started = true;
	c->pid = c->proc.pid;
	c->pid_start = proc_start_time(c->pid);
	c->started_ms = uv_now(p->lk->loop);
	c->probe_failures = 0;
	c->ready = !c->has_probe;
	c->wait_reason[0] = '\0';
	time_rfc3339(c->started_at, sizeof c->started_at);
	state_write(p);
	pod_log(p, BATON_LOG_INFO, "container started",
		json_pack("{s:s, s:i, s:s, s:i}", "container", c->name, "pid",
			  c->pid, "command", exe_of(&argv), "restarts",
			  c->restarts));
	{
		char msg[160];
		snprintf(msg, sizeof msg,
			 "Started container %.60s (pid %d in pod host %.40s)",
			 c->name, c->pid, p->netns);
		pod_event_rec(p, "Normal", "Started", msg);
	}
	if (c->has_probe) {
		probe_schedule(c,
			       c->probe_delay_ms > 0 ? c->probe_delay_ms : 300);
	}
	strv_free(&argv);
	strv_free(&env);
	return 0;
err:
	strv_free(&argv);
	strv_free(&env);
	pod_log(p, BATON_LOG_ERROR, "cannot start container",
		json_pack("{s:s, s:s}", "container", c->name, "error",
			  c->wait_msg));
	pod_event_rec(p, "Warning", "Failed", c->wait_msg);
	ctr_backoff(c);
	snprintf(c->wait_reason, sizeof c->wait_reason, "%s",
		 rv == BATON_ENOTFOUND ? "RunContainerError"
				       : "CreateContainerConfigError");
	return rv;
}

/* ---- volumes -------------------------------------------------------------
 * persistentVolumeClaim → the bound PersistentVolume's hostPath (or local)
 * path; emptyDir → STATE/pods/<uid>/volumes/<name>; hostPath → its path;
 * secret → STATE/pods/<uid>/volumes/<name> filled from the Secret (below).
 * Anything else (the ServiceAccount token's projected volume, configMap
 * volumes) is not mounted in the lab. */

static void vol_next(struct pod *p);

static void retry_timer_cb(uv_timer_t *t)
{
	pod_sync(t->data);
}

static void pod_retry(struct pod *p, const char *why)
{
	if (strcmp(p->err, why) != 0) {
		pod_log(p, BATON_LOG_WARN, "waiting",
			json_pack("{s:s}", "reason", why));
		pod_event_rec(p, "Warning", "FailedCreatePodSandBox", why);
	}
	snprintf(p->err, sizeof p->err, "%s", why);
	p->timer.data = p;
	uv_timer_start(&p->timer, retry_timer_cb, RETRY_MS, 0);
	pod_status_write(p);
}

static void vol_set(struct pod *p, const char *name, const char *path)
{
	if (mkdir_p(path, 0755) != 0) {
		pod_log(p, BATON_LOG_WARN, "cannot create volume directory",
			json_pack("{s:s, s:s}", "path", path, "error",
				  strerror(errno)));
	}
	json_object_set_new(p->vol_paths, name, json_string(path));
	p->vol_i++;
}

/* ---- secret volumes ---------------------------------------------------
 * As the kubelet does: the Secret (in the pod's namespace) is fetched
 * before the pod host is made and each data key, base64-decoded, becomes a
 * file of STATE/pods/<uid>/volumes/<name>/ (or only the keys of items[], at
 * their relative paths), with the item's mode, else defaultMode, else
 * 0644. Each file is written atomically (temp file + rename) and only when
 * it changed; files of keys no longer there are removed. A missing Secret
 * holds the pod back (retried every 2 s) unless the volume is optional:
 * then the directory is empty. While the pod runs the files are refreshed
 * every heartbeat (10 s), as the kubelet updates secret volumes in place,
 * and the volume is always mounted read-only, as the kubelet's are. */

#define SECRET_TMP "..labkubelet.tmp" /* no key nor item path starts ".." */
#define SECRET_DEPTH 16

/* True if REL may name a file of a secret volume: relative, no ".."
 * element, not starting with ".." (the API server's rule for items). */
static bool vol_rel_ok(const char *rel)
{
	const char *s = rel;

	if (rel[0] == '\0' || rel[0] == '/' || strlen(rel) > 255 ||
	    strncmp(rel, "..", 2) == 0) {
		return false;
	}
	while (*s != '\0') {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			return false;
		}
		s += n;
		s += *s == '/';
	}
	return true;
}

/* O's KEY (defaultMode, an item's mode): DFLT if absent, -1 if it is not a
 * mode in 0..0777. */
static int vol_mode(json_t *o, const char *key, int dflt)
{
	json_t *m = json_object_get(o, key);

	if (m == NULL) {
		return dflt;
	}
	if (!json_is_integer(m) || json_integer_value(m) < 0 ||
	    json_integer_value(m) > 0777) {
		return -1;
	}
	return (int)json_integer_value(m);
}

/* What secret volume VOL holds given the Secret's DATA (NULL: an optional
 * Secret that does not exist): relative path → {key, mode}. NULL with WHY
 * set when the volume asks for what the Secret cannot give. */
static json_t *secret_files(json_t *vol, json_t *data, char *why, size_t n)
{
	json_t *sec = json_object_get(vol, "secret");
	const char *vname = jstr(vol, "name");
	const char *sname = jstr(sec, "secretName");
	bool optional = json_is_true(json_object_get(sec, "optional"));
	json_t *items = json_object_get(sec, "items");
	int dmode = vol_mode(sec, "defaultMode", 0644);
	json_t *files = json_object();
	const char *key;
	json_t *v;
	size_t i;

	if (dmode < 0) {
		snprintf(why, n,
			 "volume %.60s: secret.defaultMode must be a mode "
			 "between 0 and 0777",
			 vname);
		goto fail;
	}
	if (json_array_size(items) == 0) {
		json_object_foreach(data, key, v)
		{
			if (!json_is_string(v) || !vol_rel_ok(key)) {
				snprintf(why, n,
					 "volume %.60s: Secret %.60s key "
					 "%.60s is not base64 or cannot be a "
					 "file name",
					 vname, sname, key);
				goto fail;
			}
			json_object_set_new(
			    files, key,
			    json_pack("{s:s, s:i}", "key", key, "mode", dmode));
		}
		return files;
	}
	json_array_foreach(items, i, v)
	{
		const char *ikey = jstr(v, "key");
		const char *path = jstr(v, "path");
		int mode = vol_mode(v, "mode", dmode);

		if (ikey == NULL || path == NULL) {
			snprintf(why, n,
				 "volume %.60s: secret.items[%zu] needs a key "
				 "and a path",
				 vname, i);
			goto fail;
		}
		if (!vol_rel_ok(path)) {
			snprintf(why, n,
				 "volume %.60s: secret.items[%zu].path "
				 "\"%.60s\" must be a relative path without "
				 "'..' (it would leave the volume)",
				 vname, i, path);
			goto fail;
		}
		if (mode < 0) {
			snprintf(why, n,
				 "volume %.60s: secret.items[%zu].mode must "
				 "be a mode between 0 and 0777",
				 vname, i);
			goto fail;
		}
		if (jstr(data, ikey) == NULL) {
			if (optional) {
				continue;
			}
			snprintf(why, n,
				 "volume %.60s: Secret %.60s has no key %.60s "
				 "(secret.items[%zu])",
				 vname, sname, ikey, i);
			goto fail;
		}
		json_object_set_new(
		    files, path,
		    json_pack("{s:s, s:i}", "key", ikey, "mode", mode));
	}
	return files;
fail:
	json_decref(files);
	return NULL;
}

/* True if some path of FILES lies below directory REL. */
static bool files_below(json_t *files, const char *rel)
{
	size_t n = strlen(rel);
	const char *k;
	json_t *v;

	json_object_foreach(files, k, v)
	{
		if (strncmp(k, rel, n) == 0 && k[n] == '/') {
			return true;
		}
	}
	return false;
}

/* Removes from secret volume directory ROOT (below REL) whatever FILES does
 * not name: the file of a key dropped from the Secret or from items, a temp
 * file a crash left, a directory where a file goes now. */
static void secret_prune(const char *root, const char *rel, json_t *files,
			 int depth)
{
	char dir[POD_PATH_MAX + 600];
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] != '\0' ? "/" : "",
		 rel);
	d = opendir(dir);
	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char crel[600];
		char path[sizeof dir + 300];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0) {
			continue;
		}
		snprintf(crel, sizeof crel, "%s%s%s", rel,
			 rel[0] != '\0' ? "/" : "", de->d_name);
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (lstat(path, &st) != 0) {
			continue;
		}
		if (S_ISREG(st.st_mode) && json_object_get(files, crel)) {
			continue; /* rewritten if it changed */
		}
		if (S_ISDIR(st.st_mode) && depth < SECRET_DEPTH &&
		    files_below(files, crel)) {
			secret_prune(root, crel, files, depth + 1);
		} else if (S_ISDIR(st.st_mode)) {
			rm_rf(path);
		} else {
			unlink(path);
		}
	}
	closedir(d);
}

/* True if PATH is a regular file that holds exactly BUF (N bytes), MODE. */
static bool file_same(const char *path, const unsigned char *buf, size_t n,
		      mode_t mode)
{
	unsigned char chunk[4096];
	struct stat st;
	size_t off = 0;
	bool same;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0) {
		return false;
	}
	same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       (size_t)st.st_size == n && (st.st_mode & 07777) == mode;
	while (same && off < n) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		same = r > 0 && (size_t)r <= n - off &&
		       memcmp(chunk, buf + off, (size_t)r) == 0;
		off += same ? (size_t)r : 0;
	}
	close(fd);
	return same;
}

/* BUF (N bytes) into PATH with MODE, atomically: TMP (on the same file
 * system) is written, then renamed over PATH, so a reader sees the old
 * content or the new, never a part. 0 or an errno value. */
static int file_write_atomic(const char *path, const char *tmp,
			     const unsigned char *buf, size_t n, mode_t mode)
{
	size_t off = 0;
	bool ok = true;
	int fd, err = 0;

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		return errno;
	}
	while (ok && off < n) {
		ssize_t w = write(fd, buf + off, n - off);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		ok = w > 0;
		off += ok ? (size_t)w : 0;
	}
	if (!ok || fchmod(fd, mode) != 0) {
		ok = false;
		err = errno != 0 ? errno : EIO;
	}
	if (close(fd) != 0 && ok) {
		ok = false;
		err = errno;
	}
	if (ok && rename(tmp, path) != 0) {
		ok = false;
		err = errno;
	}
	if (!ok) {
		unlink(tmp);
	}
	return ok ? 0 : err;
}

/* Makes DIR the content of secret volume VOL for the Secret's DATA (NULL:
 * an optional Secret that does not exist). 0, or -1 with WHY saying what
 * and why. */
static int secret_vol_write(json_t *vol, json_t *data, const char *dir,
			    char *why, size_t n)
{
	const char *vname = jstr(vol, "name");
	const char *sname = jpath(vol, "secret", "secretName");
	json_t *files = secret_files(vol, data, why, n);
	char tmp[POD_PATH_MAX + 320];
	const char *rel;
	json_t *f;
	int rv = 0;

	if (files == NULL) {
		return -1;
	}
	if (mkdir_p(dir, 0755) != 0) {
		snprintf(why, n, "volume %.60s: cannot create %.120s: %s",
			 vname, dir, strerror(errno));
		json_decref(files);
		return -1;
	}
	secret_prune(dir, "", files, 0);
	snprintf(tmp, sizeof tmp, "%s/" SECRET_TMP, dir);
	json_object_foreach(files, rel, f)
	{
		const char *key = jstr(f, "key");
		const char *raw = jstr(data, key);
		mode_t mode =
		    (mode_t)json_integer_value(json_object_get(f, "mode"));
		size_t len = raw != NULL ? strlen(raw) : 0, dlen = 0;
		char path[POD_PATH_MAX + 600];
		unsigned char *buf = malloc(b64_max(len) + 1);
		int err = 0;

		snprintf(path, sizeof path, "%s/%s", dir, rel);
		if (buf == NULL) {
			err = ENOMEM;
		} else if (raw == NULL ||
			   b64_decode(raw, len, buf, b64_max(len), &dlen) !=
			       0) {
			snprintf(why, n,
				 "volume %.60s: Secret %.60s key %.60s: bad "
				 "base64",
				 vname, sname, key);
			free(buf);
			rv = -1;
			break;
		} else if (strchr(rel, '/') != NULL) {
			char parent[sizeof path];
			snprintf(parent, sizeof parent, "%s", path);
			*strrchr(parent, '/') = '\0';
			err = mkdir_p(parent, 0755) != 0 ? errno : 0;
		}
		if (err == 0 && !file_same(path, buf, dlen, mode)) {
			err = file_write_atomic(path, tmp, buf, dlen, mode);
		}
		free(buf);
		if (err != 0) {
			snprintf(why, n, "volume %.60s: cannot write %.80s: %s",
				 vname, rel, strerror(err));
			rv = -1;
			break;
		}
	}
	json_decref(files);
	return rv;
}

/* The Secret of secret volume VOL came back (STATUS): its directory is
 * filled, then the next volume; a Secret that is missing and not optional
 * holds the pod back, as an unbound claim does. */
static void vol_secret_done(struct pod *p, json_t *vol,
			    struct baton_kube_request *req, int status)
{
	const char *vname = jstr(vol, "name");
	const char *sname = jpath(vol, "secret", "secretName");
	bool optional = json_is_true(
	    json_object_get(json_object_get(vol, "secret"), "optional"));
	char dir[POD_PATH_MAX + 300];
	char why[256];

	if (status == BATON_ENOTFOUND && !optional) {
		snprintf(why, sizeof why,
			 "volume %.60s: Secret %.100s not found (the pod "
			 "waits for it: the volume is not optional)",
			 vname, sname);
	} else if (status != 0 && status != BATON_ENOTFOUND) {
		snprintf(why, sizeof why, "volume %.40s: Secret %.60s: %.130s",
			 vname, sname, req->errmsg);
	} else {
		snprintf(dir, sizeof dir, "%s/volumes/%s", p->dir, vname);
		if (secret_vol_write(vol,
				     status == 0
					 ? json_object_get(req->result, "data")
					 : NULL,
				     dir, why, sizeof why) == 0) {
			vol_set(p, vname, dir);
			vol_next(p);
			return;
		}
	}
	p->state = PS_NEW;
	pod_retry(p, why);
}

static void secret_refresh_next(struct pod *p);

static void secret_refresh_cb(struct baton_kube_request *req, int status)
{
	struct pod *p = req->data;
	json_t *vol = json_array_get(
	    json_object_get(json_object_get(p->obj, "spec"), "volumes"),
	    p->sec_i);
	const char *vname = jstr(vol, "name");
	const char *sname = jpath(vol, "secret", "secretName");
	bool optional = json_is_true(
	    json_object_get(json_object_get(vol, "secret"), "optional"));
	char dir[POD_PATH_MAX + 300];
	char why[256] = "";

	p->vreq_busy = false;
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (p->state != PS_RUNNING || vname == NULL || sname == NULL) {
		return; /* stopping: the directory goes with the pod host */
	}
	if (status == 0 || (status == BATON_ENOTFOUND && optional)) {
		snprintf(dir, sizeof dir, "%s/volumes/%s", p->dir, vname);
		secret_vol_write(
		    vol,
		    status == 0 ? json_object_get(req->result, "data") : NULL,
		    dir, why, sizeof why);
	} else if (status == BATON_ENOTFOUND) {
		snprintf(why, sizeof why,
			 "volume %.60s: Secret %.100s not found; its files "
			 "are kept",
			 vname, sname);
	} else {
		snprintf(why, sizeof why, "volume %.40s: Secret %.60s: %.130s",
			 vname, sname, req->errmsg);
	}
	if (strcmp(why, p->sec_err) != 0) {
		if (why[0] != '\0') {
			pod_log(p, BATON_LOG_WARN,
				"cannot refresh a secret volume",
				json_pack("{s:s}", "error", why));
		}
		snprintf(p->sec_err, sizeof p->sec_err, "%s", why);
	}
	p->sec_i++;
	secret_refresh_next(p);
}

/* GETs the Secret of the next secret volume from sec_i on. */
static void secret_refresh_next(struct pod *p)
{
	json_t *vols =
	    json_object_get(json_object_get(p->obj, "spec"), "volumes");

	for (; p->sec_i < json_array_size(vols); p->sec_i++) {
		json_t *vol = json_array_get(vols, p->sec_i);
		struct baton_kube_ref ref = {
		    .version = "v1",
		    .resource = "secrets",
		    .ns = p->ns,
		    .name = jpath(vol, "secret", "secretName")};
		if (ref.name == NULL || jstr(vol, "name") == NULL) {
			continue;
		}
		p->vreq.data = p;
		if (baton_kube_get(&p->lk->kube, &p->vreq, &ref,
				   secret_refresh_cb) == 0) {
			p->vreq_busy = true;
		}
		return;
	}
}

/* Every heartbeat: the secret volumes of running pods follow their
 * Secrets (a rotated certificate, a dropped key). */
static void secrets_refresh(struct lk *lk)
{
	for (struct pod *p = lk->pods; p != NULL; p = p->next) {
		if (p->state == PS_RUNNING && !p->vreq_busy &&
		    !pod_want_stop(p)) {
			p->sec_i = 0;
			secret_refresh_next(p);
		}
	}
}

static void vol_get_cb(struct baton_kube_request *req, int status)
{
	struct pod *p = req->data;
	json_t *vol = json_array_get(
	    json_object_get(json_object_get(p->obj, "spec"), "volumes"),
	    p->vol_i);
	const char *vname = jstr(vol, "name");
	char why[256];

	p->vreq_busy = false;
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (pod_want_stop(p)) {
		pod_sync(p);
		return;
	}
	if (p->vol_step == 2) {
		vol_secret_done(p, vol, req, status);
		return;
	}
	if (status != 0) {
		snprintf(why, sizeof why, "volume %.40s: %.200s",
			 vname ? vname : "?", req->errmsg);
		p->state = PS_NEW;
		pod_retry(p, why);
		return;
	}
	if (p->vol_step == 0) {
		const char *pv = jpath(req->result, "spec", "volumeName");
		const char *phase = jpath(req->result, "status", "phase");
		if (pv == NULL || phase == NULL ||
		    strcmp(phase, "Bound") != 0) {
			snprintf(
			    why, sizeof why,
			    "PersistentVolumeClaim %s is not bound yet "
			    "(is there a PersistentVolume for it?)",
			    jpath(vol, "persistentVolumeClaim", "claimName"));
			p->state = PS_NEW;
			pod_retry(p, why);
			return;
		}
		struct baton_kube_ref ref = {.version = "v1",
					     .resource = "persistentvolumes",
					     .name = pv};
		p->vol_step = 1;
		p->vreq.data = p;
		if (baton_kube_get(&p->lk->kube, &p->vreq, &ref, vol_get_cb) ==
		    0) {
			p->vreq_busy = true;
		} else {
			p->state = PS_NEW;
			pod_retry(p, p->vreq.errmsg);
		}
		return;
	}
	const char *path =
	    jpath(json_object_get(req->result, "spec"), "hostPath", "path");
	if (path == NULL) {
		path = jpath(json_object_get(req->result, "spec"), "local",
			     "path");
	}
	if (path == NULL) {
		snprintf(why, sizeof why,
			 "volume %s: PersistentVolume %s is neither hostPath "
			 "nor local; the lab can only mount those",
			 vname, jpath(req->result, "metadata", "name"));
		p->state = PS_NEW;
		pod_retry(p, why);
		return;
	}
	vol_set(p, vname, path);
	vol_next(p);
}

static void net_work_cb(uv_work_t *w);
static void net_after_cb(uv_work_t *w, int status);

static void net_start(struct pod *p, bool up)
{
	p->net_up = up;
	p->net_work.data = p;
	p->net_err[0] = '\0';
	if (uv_queue_work(p->lk->loop, &p->net_work, net_work_cb,
			  net_after_cb) == 0) {
		p->net_busy = true;
	} else {
		pod_log(p, BATON_LOG_ERROR, "cannot queue network work", NULL);
	}
}

/* ---- env from Secrets and ConfigMaps --------------------------------------
 * Every secretKeyRef / configMapKeyRef of the containers we run is fetched
 * once per pod start attempt, before the pod host exists; a missing object
 * that is not optional holds the pod back (retried every 2 s), as the
 * kubelet's CreateContainerConfigError does. */

static json_t *refs_wanted(struct pod *p)
{
	json_t *want = json_array();
	json_t *ctrs =
	    json_object_get(json_object_get(p->obj, "spec"), "containers");
	size_t i, j;
	json_t *c, *e;

	json_array_foreach(ctrs, i, c)
	{
		if (is_passive(p->lk, jstr(c, "name") ? jstr(c, "name") : "")) {
			continue;
		}
		json_array_foreach(json_object_get(c, "env"), j, e)
		{
			json_t *from = json_object_get(e, "valueFrom");
			json_t *sk = json_object_get(from, "secretKeyRef");
			json_t *ck = json_object_get(from, "configMapKeyRef");
			char key[300];
			if (sk == NULL && ck == NULL) {
				continue;
			}
			snprintf(key, sizeof key, "%s/%.250s",
				 sk ? "secret" : "configmap",
				 jstr(sk ? sk : ck, "name")
				     ? jstr(sk ? sk : ck, "name")
				     : "");
			bool dup = false;
			size_t k;
			json_t *w;
			json_array_foreach(want, k, w)
			{
				dup = dup ||
				      strcmp(json_string_value(w), key) == 0;
			}
			if (!dup) {
				json_array_append_new(want, json_string(key));
			}
		}
	}
	return want;
}

static void refs_next(struct pod *p);

/* True if some container we run needs KEY ("secret/NAME") non-optionally. */
static bool ref_required(struct pod *p, const char *key)
{
	json_t *ctrs =
	    json_object_get(json_object_get(p->obj, "spec"), "containers");
	size_t i, j;
	json_t *c, *e;

	json_array_foreach(ctrs, i, c)
	{
		if (is_passive(p->lk, jstr(c, "name") ? jstr(c, "name") : "")) {
			continue;
		}
		json_array_foreach(json_object_get(c, "env"), j, e)
		{
			json_t *from = json_object_get(e, "valueFrom");
			json_t *sk = json_object_get(from, "secretKeyRef");
			json_t *ck = json_object_get(from, "configMapKeyRef");
			json_t *r = sk ? sk : ck;
			char k[300];
			if (r == NULL) {
				continue;
			}
			snprintf(k, sizeof k, "%s/%.250s",
				 sk ? "secret" : "configmap",
				 jstr(r, "name") ? jstr(r, "name") : "");
			if (strcmp(k, key) == 0 &&
			    !json_is_true(json_object_get(r, "optional"))) {
				return true;
			}
		}
	}
	return false;
}

static void ref_get_cb(struct baton_kube_request *req, int status)
{
	struct pod *p = req->data;
	json_t *want = refs_wanted(p);
	const char *key = json_string_value(json_array_get(want, p->ref_i));
	char why[300];

	p->vreq_busy = false;
	if (p->state == PS_GONE) {
		json_decref(want);
		pod_maybe_free(p);
		return;
	}
	if (pod_want_stop(p) || key == NULL) {
		json_decref(want);
		pod_sync(p);
		return;
	}
	if (status == BATON_ENOTFOUND && ref_required(p, key)) {
		snprintf(why, sizeof why, "%s %.200s not found",
			 strncmp(key, "secret/", 7) == 0 ? "Secret"
							 : "ConfigMap",
			 strchr(key, '/') + 1);
		json_decref(want);
		p->state = PS_NEW;
		pod_retry(p, why);
		return;
	} else if (status == BATON_ENOTFOUND) {
		json_object_set_new(p->refs, key, json_null()); /* optional */
	} else if (status != 0) {
		snprintf(why, sizeof why, "env from %.100s: %.180s", key,
			 req->errmsg);
		json_decref(want);
		p->state = PS_NEW;
		pod_retry(p, why);
		return;
	} else {
		json_t *data = json_object_get(req->result, "data");
		json_object_set(p->refs, key, data ? data : json_null());
	}
	json_decref(want);
	p->ref_i++;
	refs_next(p);
}

static void refs_next(struct pod *p)
{
	json_t *want = refs_wanted(p);
	const char *key = json_string_value(json_array_get(want, p->ref_i));

	if (key != NULL) {
		bool secret = strncmp(key, "secret/", 7) == 0;
		struct baton_kube_ref ref = {.version = "v1",
					     .resource = secret ? "secrets"
								: "configmaps",
					     .ns = p->ns,
					     .name = strchr(key, '/') + 1};
		p->vreq.data = p;
		if (baton_kube_get(&p->lk->kube, &p->vreq, &ref, ref_get_cb) !=
		    0) {
			char why[300];
			snprintf(why, sizeof why, "env from %.100s: %.180s",
				 key, p->vreq.errmsg);
			json_decref(want);
			p->state = PS_NEW;
			pod_retry(p, why);
			return;
		}
		p->vreq_busy = true;
		json_decref(want);
		return;
	}
	json_decref(want);
	/* everything resolved: the pod host next */
	p->state = PS_NET_UP;
	state_write(p);
	net_start(p, true);
}

/* Resolves volume vol_i onwards; then creates the pod host. */
static void vol_next(struct pod *p)
{
	json_t *vols =
	    json_object_get(json_object_get(p->obj, "spec"), "volumes");
	char path[POD_PATH_MAX + 300];

	while (p->vol_i < json_array_size(vols)) {
		json_t *vol = json_array_get(vols, p->vol_i);
		const char *name = jstr(vol, "name");
		if (name == NULL) {
			p->vol_i++;
		} else if (json_object_get(vol, "emptyDir") != NULL) {
			snprintf(path, sizeof path, "%s/volumes/%s", p->dir,
				 name);
			vol_set(p, name, path);
		} else if (jpath(vol, "hostPath", "path") != NULL) {
			vol_set(p, name, jpath(vol, "hostPath", "path"));
		} else if (json_object_get(vol, "secret") != NULL) {
			struct baton_kube_ref ref = {
			    .version = "v1",
			    .resource = "secrets",
			    .ns = p->ns,
			    .name = jpath(vol, "secret", "secretName")};
			char why[256];
			if (ref.name == NULL || ref.name[0] == '\0') {
				snprintf(why, sizeof why,
					 "volume %.60s: secret.secretName is "
					 "missing",
					 name);
				p->state = PS_NEW;
				pod_retry(p, why);
				return;
			}
			p->vol_step = 2;
			p->vreq.data = p;
			if (baton_kube_get(&p->lk->kube, &p->vreq, &ref,
					   vol_get_cb) != 0) {
				snprintf(why, sizeof why,
					 "volume %.40s: Secret %.60s: %.130s",
					 name, ref.name, p->vreq.errmsg);
				p->state = PS_NEW;
				pod_retry(p, why);
				return;
			}
			p->vreq_busy = true;
			return;
		} else if (jpath(vol, "persistentVolumeClaim", "claimName") !=
			   NULL) {
			struct baton_kube_ref ref = {
			    .version = "v1",
			    .resource = "persistentvolumeclaims",
			    .ns = p->ns,
			    .name = jpath(vol, "persistentVolumeClaim",
					  "claimName")};
			p->vol_step = 0;
			p->vreq.data = p;
			if (baton_kube_get(&p->lk->kube, &p->vreq, &ref,
					   vol_get_cb) != 0) {
				p->state = PS_NEW;
				pod_retry(p, p->vreq.errmsg);
				return;
			}
			p->vreq_busy = true;
			return;
		} else {
			p->vol_i++;
		}
	}
	/* all volumes resolved: the env's secrets and config maps next */
	refs_next(p);
}

/* ---- the pod host ------------------------------------------------------- */

static void net_work_cb(uv_work_t *w)
{
	struct pod *p = w->data;
	struct lk *lk = p->lk;

	if (p->net_up) {
		p->net_rv = netns_setup(
		    p->netns, p->veth, p->ip, lk->o.prefix_len, lk->o.bridge,
		    lk->o.gateway, p->net_err, sizeof p->net_err);
	} else {
		char vols[POD_PATH_MAX + 16];
		netns_teardown(p->netns, p->veth, p->net_grace_ms);
		snprintf(vols, sizeof vols, "%s/volumes", p->dir);
		rm_rf(vols);
		p->net_rv = 0;
	}
}

static void pod_finish(struct pod *p);

static void net_after_cb(uv_work_t *w, int status)
{
	struct pod *p = w->data;

	p->net_busy = false;
	(void)status;
	if (p->net_up) {
		if (p->net_rv != 0) {
			pod_log(p, BATON_LOG_ERROR, "cannot create pod host",
				json_pack("{s:s}", "error", p->net_err));
			p->state = PS_NEW;
			if (pod_want_stop(p)) {
				pod_finish(p);
				return;
			}
			pod_retry(p, p->net_err);
			return;
		}
		pod_log(
		    p, BATON_LOG_INFO, "pod host up",
		    json_pack("{s:s, s:s}", "netns", p->netns, "ip", p->ip));
		p->err[0] = '\0';
		p->state = PS_RUNNING;
		time_rfc3339(p->start_time, sizeof p->start_time);
		if (pod_want_stop(p)) {
			pod_sync(p);
			return;
		}
		for (int i = 0; i < p->n_ctrs; i++) {
			if (!p->ctrs[i].passive) {
				ctr_start(&p->ctrs[i]);
			}
		}
		pod_status_write(p);
		return;
	}
	pod_log(p, BATON_LOG_INFO, "pod host removed",
		json_pack("{s:s}", "netns", p->netns));
	state_remove(p);
	pod_finish(p);
}

/* ---- stopping and deleting -------------------------------------------- */

static void pod_release(struct pod *p)
{
	struct lk *lk = p->lk;
	struct pod **pp;

	uv_timer_stop(&p->timer);
	for (pp = &lk->pods; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->slot >= 0) {
		lk->slot_used[p->slot] = false;
		p->slot = -1;
	}
	p->state = PS_GONE;
	pod_log(p, BATON_LOG_INFO, "pod released", NULL);
	pod_maybe_free(p);
	lk_check_done(lk);
}

static void delete_cb(struct baton_kube_request *req, int status)
{
	struct pod *p = req->data;

	p->dreq_busy = false;
	if (status == 0 || status == BATON_ENOTFOUND ||
	    status == BATON_ECONFLICT || status == BATON_ECANCELED ||
	    p->lk->stopping) {
		pod_release(p);
		return;
	}
	pod_log(p, BATON_LOG_WARN, "cannot delete pod; retrying",
		json_pack("{s:s}", "error", req->errmsg));
	p->timer.data = p;
	uv_timer_start(&p->timer, retry_timer_cb, RETRY_MS, 0);
}

/* The pod host is gone: tell the API server the pod may go (grace 0, only
 * this incarnation), unless the API server already forgot it or we are
 * shutting down (a kubelet that stops leaves its pods in the API). */
static void pod_finish(struct pod *p)
{
	struct baton_kube_ref ref = {
	    .version = "v1", .resource = "pods", .ns = p->ns, .name = p->name};
	struct baton_kube_delete_opts dopts = {.precondition_uid = p->uid,
					       .grace_period_seconds = 0,
					       .has_grace = true};

	if (p->api_gone || p->lk->stopping) {
		pod_release(p);
		return;
	}
	p->state = PS_DELETING;
	p->dreq.data = p;
	if (baton_kube_delete(&p->lk->kube, &p->dreq, &ref, &dopts,
			      delete_cb) != 0) {
		pod_release(p);
		return;
	}
	p->dreq_busy = true;
}

static void kill_timer_cb(uv_timer_t *t)
{
	struct pod *p = t->data;

	p->kill_sent = true;
	for (int i = 0; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];
		if (c->running && !c->exited && c->pid > 0) {
			pod_log(p, BATON_LOG_WARN, "grace period over: SIGKILL",
				json_pack("{s:s, s:i}", "container", c->name,
					  "pid", c->pid));
			if (kill(-c->pid, SIGKILL) != 0) {
				kill(c->pid, SIGKILL);
			}
		}
	}
}

static int pod_grace_s(const struct pod *p)
{
	json_t *g = json_object_get(json_object_get(p->obj, "metadata"),
				    "deletionGracePeriodSeconds");
	int s = 30;

	if (!json_is_integer(g)) {
		g = json_object_get(json_object_get(p->obj, "spec"),
				    "terminationGracePeriodSeconds");
	}
	if (json_is_integer(g) && json_integer_value(g) >= 0) {
		s = json_integer_value(g) > 3600 ? 3600
						 : (int)json_integer_value(g);
	}
	if (p->lk->stopping && s > p->lk->o.shutdown_grace_s) {
		s = p->lk->o.shutdown_grace_s;
	}
	if (p->lk->killing) {
		s = 0;
	}
	return s;
}

static bool pod_all_exited(const struct pod *p);

static void pod_begin_stop(struct pod *p)
{
	int grace = pod_grace_s(p);

	p->state = PS_STOPPING;
	pod_log(p, BATON_LOG_INFO, "stopping pod",
		json_pack("{s:i, s:b, s:b}", "grace_seconds", grace, "api_gone",
			  p->api_gone, "shutdown", p->lk->stopping));
	if (!pod_all_exited(p)) {
		char msg[96];
		snprintf(msg, sizeof msg,
			 "Stopping containers (grace period %d s)", grace);
		pod_event_rec(p, "Normal", "Killing", msg);
	}
	for (int i = 0; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];
		uv_timer_stop(&c->restart_timer);
		uv_timer_stop(&c->probe_timer);
		c->in_backoff = false;
		if (c->running && !c->exited && c->pid > 0) {
			if (kill(-c->pid, grace > 0 ? SIGTERM : SIGKILL) != 0) {
				kill(c->pid, grace > 0 ? SIGTERM : SIGKILL);
			}
		}
	}
	p->net_grace_ms = LEFTOVER_GRACE_MS;
	p->timer.data = p;
	uv_timer_start(&p->timer, kill_timer_cb, (uint64_t)grace * 1000, 0);
}

static bool pod_all_exited(const struct pod *p)
{
	for (int i = 0; i < p->n_ctrs; i++) {
		if (p->ctrs[i].running) {
			return false;
		}
	}
	return true;
}

/* ---- the pod state machine --------------------------------------------- */

static struct pod *pod_find(struct lk *lk, const char *uid)
{
	for (struct pod *p = lk->pods; p != NULL; p = p->next) {
		if (strcmp(p->uid, uid) == 0) {
			return p;
		}
	}
	return NULL;
}

static bool netns_taken(const struct pod *p)
{
	for (const struct pod *q = p->lk->pods; q != NULL; q = q->next) {
		if (q != p && q->state != PS_NEW &&
		    strcmp(q->netns, p->netns) == 0) {
			return true;
		}
	}
	return false;
}

static void pod_sync(struct pod *p)
{
	struct lk *lk = p->lk;

	switch (p->state) {
	case PS_NEW:
		if (p->vreq_busy || p->net_busy) {
			return;
		}
		if (pod_want_stop(p)) {
			char vols[POD_PATH_MAX + 16];
			/* no pod host to tear down, but volumes may have been
			 * made (a secret's decoded keys): they go with the
			 * pod, as after a pod host's teardown */
			snprintf(vols, sizeof vols, "%s/volumes", p->dir);
			rm_rf(vols);
			uv_timer_stop(&p->timer);
			pod_finish(p);
			return;
		}
		if (uv_is_active((uv_handle_t *)&p->timer)) {
			return; /* a retry is pending */
		}
		if (netns_taken(p)) {
			pod_retry(p, "waiting for the previous pod with this "
				     "name to be torn down");
			return;
		}
		if (p->slot < 0) {
			/* The API server refuses to change status.podIPs once
			 * set (422), so a pod that already has an address (we
			 * were restarted) keeps it when it is ours and free;
			 * otherwise addresses could swap between pods and the
			 * API would show the wrong one for good. */
			const char *had = json_string_value(json_object_get(
			    json_object_get(p->obj, "status"), "podIP"));
			struct in_addr prev;
			int want = -1;
			if (had != NULL &&
			    inet_pton(AF_INET, had, &prev) == 1) {
				uint32_t h = ntohl(prev.s_addr);
				if (h >= lk->o.base &&
				    h < lk->o.base + (uint32_t)lk->o.max_pods &&
				    !lk->slot_used[h - lk->o.base]) {
					want = (int)(h - lk->o.base);
				}
			}
			for (int k = 0; k < lk->o.max_pods; k++) {
				int i = want >= 0 ? want : k;
				if (!lk->slot_used[i]) {
					struct in_addr a = {
					    .s_addr = htonl(lk->o.base +
							    (uint32_t)i)};
					lk->slot_used[i] = true;
					p->slot = i;
					inet_ntop(AF_INET, &a, p->ip,
						  sizeof p->ip);
					snprintf(p->veth, sizeof p->veth,
						 "bpv%04x",
						 (lk->o.base + (uint32_t)i) &
						     0xffff);
					break;
				}
			}
			if (p->slot < 0) {
				pod_retry(p, "no free pod address (raise "
					     "--max-pods)");
				return;
			}
		}
		p->state = PS_VOLUMES;
		p->vol_i = 0;
		p->ref_i = 0;
		json_object_clear(p->vol_paths);
		json_object_clear(p->refs);
		vol_next(p);
		return;
	case PS_VOLUMES:
		if (!p->vreq_busy && pod_want_stop(p)) {
			p->state = PS_NEW;
			pod_sync(p);
		}
		return;
	case PS_NET_UP:
		return; /* net_after_cb moves on */
	case PS_RUNNING:
		if (pod_want_stop(p)) {
			pod_begin_stop(p);
			pod_sync(p);
			return;
		}
		pod_status_write(p);
		return;
	case PS_STOPPING:
		if (lk->killing && !p->kill_sent) {
			kill_timer_cb(&p->timer);
		}
		if (pod_all_exited(p) && !p->net_busy) {
			uv_timer_stop(&p->timer);
			p->state = PS_NET_DOWN;
			p->net_grace_ms = lk->killing ? 0 : LEFTOVER_GRACE_MS;
			net_start(p, false);
		}
		return;
	case PS_DELETING:
		if (!p->dreq_busy && !uv_is_active((uv_handle_t *)&p->timer)) {
			pod_finish(p); /* the retry after a failed DELETE */
		}
		return;
	case PS_NET_DOWN:
	case PS_GONE:
		return;
	}
}

/* A pod that already ran (we restarted, the start-up cleanup killed its
 * processes) keeps counting from its reported restartCount, plus one for
 * the process that was running: restart counts never go back. */
static void ctr_adopt_count(struct ctr *c)
{
	json_t *list = json_object_get(json_object_get(c->pod->obj, "status"),
				       "containerStatuses");
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		const char *n = jstr(v, "name");
		json_t *rc = json_object_get(v, "restartCount");
		if (n == NULL || strcmp(n, c->name) != 0 || c->passive) {
			continue;
		}
		if (json_is_integer(rc) && json_integer_value(rc) >= 0 &&
		    json_integer_value(rc) < INT32_MAX) {
			c->restarts = (int)json_integer_value(rc);
		}
		if (json_object_get(json_object_get(v, "state"), "running") !=
		    NULL) {
			c->restarts++;
		}
	}
}

static struct pod *pod_new(struct lk *lk, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *ctrs =
	    json_object_get(json_object_get(obj, "spec"), "containers");
	struct pod *p;
	char hash[16];
	unsigned long h = 5381;
	size_t i;
	json_t *v;

	p = calloc(1, sizeof *p);
	if (p == NULL) {
		return NULL;
	}
	p->lk = lk;
	p->slot = -1;
	snprintf(p->ns, sizeof p->ns, "%s", jstr(meta, "namespace"));
	snprintf(p->name, sizeof p->name, "%s", jstr(meta, "name"));
	snprintf(p->uid, sizeof p->uid, "%s", jstr(meta, "uid"));
	snprintf(p->dir, sizeof p->dir, "%s/pods/%s", lk->o.state_dir, p->uid);
	/* bp-<name>; a long name keeps its head and gets a hash of
	 * namespace/name so it stays unique and fits a file name */
	if (strlen(p->name) <= 40) {
		snprintf(p->netns, sizeof p->netns, "bp-%s", p->name);
	} else {
		for (const char *s = p->ns; *s; s++) {
			h = h * 33 + (unsigned char)*s;
		}
		for (const char *s = p->name; *s; s++) {
			h = h * 33 + (unsigned char)*s;
		}
		snprintf(hash, sizeof hash, "%08lx", h & 0xffffffffUL);
		snprintf(p->netns, sizeof p->netns, "bp-%.30s-%s", p->name,
			 hash);
	}
	p->vol_paths = json_object();
	p->refs = json_object();
	json_array_foreach(ctrs, i, v)
	{
		struct ctr *c;
		if (p->n_ctrs == MAX_CTRS) {
			pod_log(p, BATON_LOG_WARN,
				"too many containers; the lab runs the first 4",
				NULL);
			break;
		}
		c = &p->ctrs[p->n_ctrs++];
		c->pod = p;
		snprintf(c->name, sizeof c->name, "%s", jstr(v, "name"));
		snprintf(c->image, sizeof c->image, "%s",
			 jstr(v, "image") != NULL ? jstr(v, "image") : "lab");
		c->passive = is_passive(lk, c->name);
		c->backoff_ms = BACKOFF_MIN_MS;
		snprintf(c->wait_reason, sizeof c->wait_reason,
			 "ContainerCreating");
		uv_timer_init(lk->loop, &c->restart_timer);
		uv_timer_init(lk->loop, &c->probe_timer);
		c->restart_timer.data = c;
		c->probe_timer.data = c;
		p->open_handles += 2;
	}
	uv_timer_init(lk->loop, &p->timer);
	p->timer.data = p;
	uv_timer_init(lk->loop, &p->stimer);
	p->stimer.data = p;
	p->open_handles += 2;
	if (mkdir_p(p->dir, 0755) != 0) {
		snprintf(p->err, sizeof p->err, "state directory %.160s: %s",
			 p->dir, strerror(errno));
	}
	p->obj = json_incref(obj);
	for (int k = 0; k < p->n_ctrs; k++) {
		ctr_probe_config(&p->ctrs[k], json_array_get(ctrs, (size_t)k));
		ctr_adopt_count(&p->ctrs[k]);
	}
	p->next = lk->pods;
	lk->pods = p;
	lk->n_live++;
	pod_log(p, BATON_LOG_INFO, "pod assigned to this node",
		json_pack("{s:s, s:s}", "uid", p->uid, "netns", p->netns));
	return p;
}

/* ---- pod status ---------------------------------------------------------- */

static bool pod_any_active_running(const struct pod *p)
{
	bool any_active = false;
	for (int i = 0; i < p->n_ctrs; i++) {
		if (!p->ctrs[i].passive) {
			any_active = true;
			if (p->ctrs[i].running && !p->ctrs[i].exited) {
				return true;
			}
		}
	}
	return !any_active && p->state == PS_RUNNING;
}

static json_t *ctr_status(struct pod *p, struct ctr *c)
{
	bool up = p->state >= PS_RUNNING;
	bool running = c->passive ? up && pod_any_active_running(p)
				  : c->running && !c->exited;
	bool ready = running && (c->passive || c->ready);
	json_t *st =
	    json_pack("{s:s, s:s, s:s, s:b, s:b, s:i}", "name", c->name,
		      "image", c->image, "imageID", "", "ready", ready,
		      "started", running, "restartCount", c->restarts);
	char id[64];

	if (running && !c->passive) {
		snprintf(id, sizeof id, "lab://%d", c->pid);
		json_object_set_new(st, "containerID", json_string(id));
		json_object_set_new(st, "state",
				    json_pack("{s:{s:s}}", "running",
					      "startedAt", c->started_at));
	} else if (running) {
		json_object_set_new(st, "state",
				    json_pack("{s:{s:s}}", "running",
					      "startedAt", p->start_time));
	} else if (p->state == PS_STOPPING && c->has_last) {
		json_object_set_new(
		    st, "state",
		    json_pack("{s:{s:i, s:s, s:s, s:s}}", "terminated",
			      "exitCode", c->last_code, "reason",
			      c->last_reason, "startedAt", c->last_started,
			      "finishedAt", c->last_finished));
	} else {
		const char *msg = c->wait_msg[0] ? c->wait_msg : p->err;
		const char *reason = c->wait_reason[0] != '\0'
					 ? c->wait_reason
					 : "ContainerCreating";
		char pmsg[256];
		json_t *w;
		if (c->passive) {
			/* no process of its own: it shares the fate of the
			 * first active container (kubectl shows its reason) */
			const struct ctr *a = NULL;
			for (int i = 0; i < p->n_ctrs && a == NULL; i++) {
				if (!p->ctrs[i].passive) {
					a = &p->ctrs[i];
				}
			}
			reason = a != NULL && up && a->wait_reason[0] != '\0'
				     ? a->wait_reason
				     : "ContainerCreating";
			if (a != NULL) {
				snprintf(pmsg, sizeof pmsg,
					 "the lab runs it inside container "
					 "%.60s; waiting for that",
					 a->name);
				msg = pmsg;
			}
		}
		w = json_pack("{s:s}", "reason", reason);
		if (msg[0] != '\0') {
			json_object_set_new(w, "message", json_string(msg));
		}
		json_object_set_new(st, "state",
				    json_pack("{s:o}", "waiting", w));
	}
	if (c->has_last) {
		json_object_set_new(
		    st, "lastState",
		    json_pack("{s:{s:i, s:s, s:s, s:s}}", "terminated",
			      "exitCode", c->last_code, "reason",
			      c->last_reason, "startedAt", c->last_started,
			      "finishedAt", c->last_finished));
	}
	return st;
}

static json_t *pod_status_build(struct pod *p)
{
	const char *ip = p->lk->o.node_ip;
	bool up = p->state >= PS_RUNNING;
	bool ready = up && p->state == PS_RUNNING;
	json_t *cs = json_array();
	json_t *status;
	json_t *conds;
	char now[32];

	for (int i = 0; i < p->n_ctrs; i++) {
		json_t *s = ctr_status(p, &p->ctrs[i]);
		ready = ready && json_is_true(json_object_get(s, "ready"));
		json_array_append_new(cs, s);
	}
	time_rfc3339(now, sizeof now);
	if (ready != p->ready || p->ready_changed[0] == '\0') {
		p->ready = ready;
		snprintf(p->ready_changed, sizeof p->ready_changed, "%s", now);
	}
	const char *since = p->start_time[0] ? p->start_time : now;
	conds = json_pack(
	    "[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, "
	    "{s:s, s:s, s:s}, {s:s, s:s, s:s}]",
	    "type", "PodReadyToStartContainers", "status",
	    up ? "True" : "False", "lastTransitionTime", since, "type",
	    "Initialized", "status", "True", "lastTransitionTime", since,
	    "type", "ContainersReady", "status", ready ? "True" : "False",
	    "lastTransitionTime", p->ready_changed, "type", "Ready", "status",
	    ready ? "True" : "False", "lastTransitionTime", p->ready_changed,
	    "type", "PodScheduled", "status", "True", "lastTransitionTime",
	    since);
	status =
	    json_pack("{s:s, s:s, s:[{s:s}], s:o, s:o}", "phase",
		      up ? "Running" : "Pending", "hostIP", ip, "hostIPs", "ip",
		      ip, "conditions", conds, "containerStatuses", cs);
	if (p->start_time[0] != '\0') {
		json_object_set_new(status, "startTime",
				    json_string(p->start_time));
	}
	if (up && p->ip[0] != '\0') {
		json_object_set_new(status, "podIP", json_string(p->ip));
		json_object_set_new(status, "podIPs",
				    json_pack("[{s:s}]", "ip", p->ip));
	}
	return status;
}

static void status_retry_cb(uv_timer_t *t)
{
	pod_status_write(t->data);
}

static void status_cb(struct baton_kube_request *req, int status)
{
	struct pod *p = req->data;

	p->sreq_busy = false;
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (status != 0 && status != BATON_ENOTFOUND &&
	    status != BATON_ECANCELED) {
		/* resend the whole status later, never in a tight loop */
		pod_log(p, BATON_LOG_WARN, "pod status write failed; retrying",
			json_pack("{s:s}", "error", req->errmsg));
		json_decref(p->last_status);
		p->last_status = NULL;
		p->sdirty = false;
		p->stimer.data = p;
		uv_timer_start(&p->stimer, status_retry_cb, RETRY_MS, 0);
		return;
	}
	if (p->sdirty) {
		pod_status_write(p);
	}
}

/* Writes pods/status if what we would report changed. One write at a time
 * per pod; a change meanwhile is written when it completes. */
static void pod_status_write(struct pod *p)
{
	struct baton_kube_ref ref = {.version = "v1",
				     .resource = "pods",
				     .ns = p->ns,
				     .name = p->name,
				     .subresource = "status"};
	json_t *st;
	json_t *patch;

	if (p->api_gone || p->state >= PS_NET_DOWN || p->lk->stopping) {
		return;
	}
	if (p->sreq_busy || uv_is_active((uv_handle_t *)&p->stimer)) {
		p->sdirty = true;
		return;
	}
	p->sdirty = false;
	st = pod_status_build(p);
	if (p->last_status != NULL && json_equal(st, p->last_status)) {
		json_decref(st);
		return;
	}
	json_decref(p->last_status);
	p->last_status = json_incref(st);
	/* metadata.uid: a precondition, so a pod re-created under the same
	 * name never gets this incarnation's status (the kubelet does so) */
	patch = json_pack("{s:{s:s}, s:o}", "metadata", "uid", p->uid, "status",
			  st);
	p->sreq.data = p;
	if (baton_kube_patch(&p->lk->kube, &p->sreq, &ref,
			     BATON_KUBE_PATCH_STRATEGIC, patch, NULL,
			     status_cb) == 0) {
		p->sreq_busy = true;
	} else {
		pod_log(p, BATON_LOG_WARN, "cannot start a pod status write",
			json_pack("{s:s}", "error", p->sreq.errmsg));
		json_decref(p->last_status);
		p->last_status = NULL;
		uv_timer_start(&p->stimer, status_retry_cb, RETRY_MS, 0);
	}
	json_decref(patch);
}

/* ---- pods informer ------------------------------------------------------- */

/* Informer handlers run inside curl's write callback, where the client
 * cannot start requests (curl refuses recursive calls): they only record
 * the event, and this timer, at 0 ms, syncs the pods from the loop. */
static void kick_cb(uv_timer_t *t)
{
	struct lk *lk = t->data;
	struct pod *p, *next;

	for (p = lk->pods; p != NULL; p = next) {
		next = p->next;
		if (p->needs_sync) {
			p->needs_sync = false;
			pod_sync(p);
		}
	}
}

static void pod_kick(struct pod *p)
{
	p->needs_sync = true;
	if (!uv_is_active((uv_handle_t *)&p->lk->kick)) {
		uv_timer_start(&p->lk->kick, kick_cb, 0, 0);
	}
}

static void pod_event(struct lk *lk, json_t *obj, bool deleted)
{
	const char *node = jpath(obj, "spec", "nodeName");
	const char *uid = jpath(obj, "metadata", "uid");
	const char *phase = jpath(obj, "status", "phase");
	struct pod *p;

	if (node == NULL || uid == NULL || strcmp(node, lk->o.node) != 0) {
		return;
	}
	p = pod_find(lk, uid);
	if (deleted) {
		if (p != NULL) {
			p->api_gone = true;
			pod_kick(p);
		}
		return;
	}
	if (p == NULL) {
		if (lk->stopping ||
		    (phase != NULL && (strcmp(phase, "Succeeded") == 0 ||
				       strcmp(phase, "Failed") == 0))) {
			return;
		}
		if (lk->n_live >= lk->o.max_pods) {
			if (!lk->pod_cap_logged) {
				baton_log(BATON_LOG_ERROR, COMP,
					  "more than --max-pods %d pods on "
					  "this node: ignoring the rest",
					  lk->o.max_pods);
				lk->pod_cap_logged = true;
			}
			return;
		}
		p = pod_new(lk, obj);
		if (p == NULL) {
			baton_log(BATON_LOG_ERROR, COMP, "out of memory");
			return;
		}
	} else {
		json_decref(p->obj);
		p->obj = json_incref(obj);
	}
	pod_kick(p);
}

static void pods_add_cb(struct baton_kube_informer *inf, json_t *obj)
{
	pod_event(inf->data, obj, false);
}

static void pods_update_cb(struct baton_kube_informer *inf, json_t *old_obj,
			   json_t *new_obj)
{
	const char *a = jpath(old_obj, "metadata", "uid");
	const char *b = jpath(new_obj, "metadata", "uid");
	if (a != NULL && b != NULL && strcmp(a, b) != 0) {
		pod_event(inf->data, old_obj, true); /* replaced (relist) */
	}
	pod_event(inf->data, new_obj, false);
}

static void pods_delete_cb(struct baton_kube_informer *inf, json_t *obj)
{
	pod_event(inf->data, obj, true);
}

/* ---- the Node and its Lease --------------------------------------------- */

static void heartbeat(struct lk *lk);

static void node_status_cb(struct baton_kube_request *req, int status)
{
	struct lk *lk = req->data;
	lk->nstat_busy = false;
	if (status == BATON_ENOTFOUND) {
		baton_log(BATON_LOG_WARN, COMP,
			  "node %s is gone from the API: registering again",
			  lk->o.node);
		lk->node_applied = false;
	} else if (status != 0 && status != BATON_ECANCELED) {
		baton_log(BATON_LOG_WARN, COMP, "node status: %s", req->errmsg);
	}
	lk_check_done(lk);
}

static void lease_cb(struct baton_kube_request *req, int status)
{
	struct lk *lk = req->data;
	lk->lease_busy = false;
	if (status != 0 && status != BATON_ECANCELED) {
		baton_log(BATON_LOG_WARN, COMP, "node lease: %s", req->errmsg);
	}
	lk_check_done(lk);
}

static void node_cb(struct baton_kube_request *req, int status)
{
	struct lk *lk = req->data;
	const char *uid;

	lk->node_busy = false;
	if (status != 0) {
		if (status != BATON_ECANCELED) {
			baton_log(BATON_LOG_WARN, COMP,
				  "cannot register node %s: %s (retrying)",
				  lk->o.node, req->errmsg);
		}
		lk_check_done(lk);
		return;
	}
	uid = jpath(req->result, "metadata", "uid");
	snprintf(lk->node_uid, sizeof lk->node_uid, "%s", uid ? uid : "");
	if (!lk->node_applied) {
		baton_log(BATON_LOG_INFO, COMP, "node %s registered",
			  lk->o.node);
	}
	lk->node_applied = true;
	heartbeat(lk);
}

static void heartbeat(struct lk *lk)
{
	struct baton_kube_ref nref = {
	    .version = "v1", .resource = "nodes", .name = lk->o.node};
	char now[32], micro[40], pods[16];
	json_t *obj;

	if (lk->stopping) {
		return;
	}
	if (!lk->node_applied) {
		if (lk->node_busy) {
			return;
		}
		obj = json_pack(
		    "{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}, "
		    "s:{s:s}}, s:{}}",
		    "apiVersion", "v1", "kind", "Node", "metadata", "name",
		    lk->o.node, "labels", "kubernetes.io/hostname", lk->o.node,
		    "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
		    "topology.kubernetes.io/region", lk->o.region,
		    "topology.kubernetes.io/zone", lk->o.region,
		    "baton.dev/lab", "true", "annotations",
		    "baton.dev/lab-kubelet",
		    "pod hosts are network "
		    "namespaces bp-<pod>",
		    "spec");
		lk->node_req.data = lk;
		if (baton_kube_apply(&lk->kube, &lk->node_req, &nref, obj,
				     FIELD_MANAGER, true, node_cb) == 0) {
			lk->node_busy = true;
		}
		json_decref(obj);
		return;
	}
	time_rfc3339(now, sizeof now);
	baton_clock_rfc3339(micro, sizeof micro, 6);
	snprintf(pods, sizeof pods, "%d", lk->o.max_pods);
	if (!lk->nstat_busy) {
		json_t *res = json_pack("{s:s, s:s, s:s, s:s}", "cpu", "8",
					"memory", "32Gi", "pods", pods,
					"ephemeral-storage", "100Gi");
		json_t *cond = json_array();
		const char *types[][4] = {
		    {"Ready", "True", "KubeletReady",
		     "baton lab kubelet is posting ready status"},
		    {"MemoryPressure", "False", "KubeletHasSufficientMemory",
		     ""},
		    {"DiskPressure", "False", "KubeletHasNoDiskPressure", ""},
		    {"PIDPressure", "False", "KubeletHasSufficientPID", ""},
		    {"NetworkUnavailable", "False", "RouteCreated", ""},
		};
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
			json_array_append_new(
			    cond,
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type",
				      types[i][0], "status", types[i][1],
				      "reason", types[i][2], "message",
				      types[i][3], "lastHeartbeatTime", now,
				      "lastTransitionTime", lk->ready_since));
		}
		obj = json_pack(
		    "{s:s, s:s, s:{s:s}, s:{s:o, s:O, s:O, s:[{s:s, s:s}, "
		    "{s:s, s:s}], s:{s:s, s:s, s:s, s:s, s:s, s:s}, "
		    "s:{s:{s:i}}}}",
		    "apiVersion", "v1", "kind", "Node", "metadata", "name",
		    lk->o.node, "status", "conditions", cond, "capacity", res,
		    "allocatable", res, "addresses", "type", "InternalIP",
		    "address", lk->o.node_ip, "type", "Hostname", "address",
		    lk->o.node, "nodeInfo", "kubeletVersion", "v1.34.4-lab",
		    "containerRuntimeVersion", "baton-lab://0.1.0",
		    "operatingSystem", "linux", "architecture", "amd64",
		    "osImage", "Baton lab (network namespaces)",
		    "kernelVersion", "", "daemonEndpoints", "kubeletEndpoint",
		    "Port", 0);
		json_decref(res);
		nref.subresource = "status";
		lk->nstat_req.data = lk;
		if (obj != NULL &&
		    baton_kube_apply(&lk->kube, &lk->nstat_req, &nref, obj,
				     FIELD_MANAGER, true,
				     node_status_cb) == 0) {
			lk->nstat_busy = true;
		}
		json_decref(obj);
	}
	if (!lk->lease_busy) {
		struct baton_kube_ref lref = {.group = "coordination.k8s.io",
					      .version = "v1",
					      .resource = "leases",
					      .ns = "kube-node-lease",
					      .name = lk->o.node};
		obj = json_pack(
		    "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s}}", "apiVersion",
		    "coordination.k8s.io/v1", "kind", "Lease", "metadata",
		    "name", lk->o.node, "namespace", "kube-node-lease", "spec",
		    "holderIdentity", lk->o.node, "leaseDurationSeconds",
		    LEASE_SECONDS, "renewTime", micro);
		if (obj != NULL && lk->node_uid[0] != '\0') {
			json_object_set_new(
			    json_object_get(obj, "metadata"), "ownerReferences",
			    json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion",
				      "v1", "kind", "Node", "name", lk->o.node,
				      "uid", lk->node_uid));
		}
		lk->lease_req.data = lk;
		if (obj != NULL &&
		    baton_kube_apply(&lk->kube, &lk->lease_req, &lref, obj,
				     FIELD_MANAGER, true, lease_cb) == 0) {
			lk->lease_busy = true;
		}
		json_decref(obj);
	}
}

/* Container logs are bounded like the kubelet's: past LOG_ROTATE_BYTES the
 * log is copied to <name>.log.1 and truncated in place (the process keeps
 * its O_APPEND descriptor, so its next line lands at the new start). */
static void logs_rotate(struct lk *lk)
{
	for (struct pod *p = lk->pods; p != NULL; p = p->next) {
		for (int i = 0; i < p->n_ctrs; i++) {
			char path[POD_PATH_MAX + 80], old[POD_PATH_MAX + 84];
			struct stat st;
			int in, out;
			off_t off = 0;

			snprintf(path, sizeof path, "%s/%s.log", p->dir,
				 p->ctrs[i].name);
			if (stat(path, &st) != 0 ||
			    st.st_size < LOG_ROTATE_BYTES) {
				continue;
			}
			snprintf(old, sizeof old, "%s.1", path);
			in = open(path, O_RDWR | O_CLOEXEC);
			out =
			    open(old, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
				 0644);
			if (in >= 0 && out >= 0) {
				while (off < st.st_size &&
				       sendfile(out, in, &off,
						(size_t)(st.st_size - off)) >
					   0) {
				}
				if (ftruncate(in, 0) != 0) {
					pod_log(
					    p, BATON_LOG_WARN,
					    "cannot truncate a container log",
					    json_pack("{s:s}", "path", path));
				}
			}
			if (in >= 0) {
				close(in);
			}
			if (out >= 0) {
				close(out);
			}
		}
	}
}

struct dead_dir {
	struct timespec mtime;
	char name[80];
};

static int dead_dir_cmp(const void *a, const void *b)
{
	const struct timespec *x = &((const struct dead_dir *)a)->mtime;
	const struct timespec *y = &((const struct dead_dir *)b)->mtime;
	if (x->tv_sec != y->tv_sec) {
		return x->tv_sec < y->tv_sec ? 1 : -1; /* newest first */
	}
	return x->tv_nsec < y->tv_nsec ? 1 : x->tv_nsec > y->tv_nsec ? -1 : 0;
}

/* The directories of pods that are gone keep their logs for post-mortems;
 * only the newest KEEP_DEAD_POD_DIRS stay. A directory is dead when it
 * has no state file and no pod of ours uses it. */
static void dead_dirs_prune(struct lk *lk)
{
	char dir[POD_PATH_MAX];
	struct dead_dir *dead = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof dir, "%s/pods", lk->o.state_dir);
	d = opendir(dir);
	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char path[POD_PATH_MAX + 100];
		struct stat st;
		bool live = false;

		if (de->d_name[0] == '.' || strlen(de->d_name) >= 80) {
			continue;
		}
		for (struct pod *p = lk->pods; p != NULL && !live;
		     p = p->next) {
			live = strcmp(p->uid, de->d_name) == 0;
		}
		snprintf(path, sizeof path, "%s/%s/state", dir, de->d_name);
		if (live || access(path, F_OK) == 0) {
			continue;
		}
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
			continue;
		}
		if (n == cap) {
			size_t ncap = cap == 0 ? 128 : cap * 2;
			struct dead_dir *nd;
			if (ncap > 65536 ||
			    (nd = realloc(dead, ncap * sizeof *nd)) == NULL) {
				break; /* prune what we have */
			}
			dead = nd;
			cap = ncap;
		}
		dead[n].mtime = st.st_mtim;
		snprintf(dead[n].name, sizeof dead[n].name, "%s", de->d_name);
		n++;
	}
	closedir(d);
	if (n > KEEP_DEAD_POD_DIRS) {
		qsort(dead, n, sizeof *dead, dead_dir_cmp);
		for (size_t k = KEEP_DEAD_POD_DIRS; k < n; k++) {
			char path[POD_PATH_MAX + 100];
			snprintf(path, sizeof path, "%s/%s", dir, dead[k].name);
			rm_rf(path);
		}
	}
	free(dead);
}

static void heartbeat_cb(uv_timer_t *t)
{
	struct lk *lk = t->data;
	heartbeat(lk);
	if (!lk->stopping) {
		secrets_refresh(lk);
	}
	logs_rotate(lk);
	dead_dirs_prune(lk);
	/* until registered, retry sooner */
	uv_timer_start(&lk->heartbeat, heartbeat_cb,
		       lk->node_applied ? HEARTBEAT_MS : RETRY_MS, 0);
}

/* ---- start and stop -------------------------------------------------------
 */

static void inf_closed_cb(struct baton_kube_informer *inf)
{
	struct lk *lk = inf->data;
	lk->inf_open = false;
	baton_kube_client_close(&lk->kube, NULL);
	lk->kube_open = false;
}

/* Once every pod is gone: close the informer, the client and our handles;
 * the loop then ends. */
static void lk_check_done(struct lk *lk)
{
	if (!lk->stopping || lk->shut || lk->pods != NULL || lk->n_live > 0) {
		return;
	}
	lk->shut = true;
	baton_log(BATON_LOG_INFO, COMP, "every pod host is down: exiting");
	uv_close((uv_handle_t *)&lk->heartbeat, NULL);
	uv_close((uv_handle_t *)&lk->kick, NULL);
	if (lk->events_open) {
		lk->events_open = false;
		baton_kube_recorder_close(&lk->events, NULL);
	}
	uv_close((uv_handle_t *)&lk->sigterm, NULL);
	uv_close((uv_handle_t *)&lk->sigint, NULL);
	if (lk->inf_open) {
		baton_kube_informer_close(&lk->pods_inf, inf_closed_cb);
	} else if (lk->kube_open) {
		baton_kube_client_close(&lk->kube, NULL);
		lk->kube_open = false;
	}
}

static void lk_stop(struct lk *lk)
{
	struct pod *p, *next;

	if (lk->stopping) {
		/* a second signal: no more grace */
		lk->killing = true;
		baton_log(BATON_LOG_WARN, COMP, "second signal: killing pods");
	}
	lk->stopping = true;
	uv_timer_stop(&lk->heartbeat);
	for (p = lk->pods; p != NULL; p = next) {
		next = p->next;
		/* an unreachable API server must not hold the shutdown up for
		 * a request timeout: the callbacks run now, cancelled */
		uv_timer_stop(&p->stimer);
		if (p->sreq_busy) {
			baton_kube_request_cancel(&p->sreq);
		}
		if (p->vreq_busy) {
			baton_kube_request_cancel(&p->vreq);
		}
		if (p->dreq_busy) {
			baton_kube_request_cancel(&p->dreq);
		}
	}
	for (p = lk->pods; p != NULL; p = next) {
		next = p->next;
		pod_sync(p);
	}
	lk_check_done(lk);
}

static void signal_cb(uv_signal_t *h, int signum)
{
	struct lk *lk = h->data;
	baton_log(BATON_LOG_INFO, COMP, "%s: stopping every pod I started",
		  signum == SIGTERM ? "SIGTERM" : "SIGINT");
	lk_stop(lk);
}

static int lk_run(struct lk *lk)
{
	struct baton_kube_config kc;
	struct baton_kube_client_opts copts = {.user_agent =
						   "baton-labkubelet/0.1.0"};
	struct baton_kube_informer_opts iopts = {
	    .version = "v1", .resource = "pods", .max_items = 20000};
	struct baton_kube_informer_handlers ih = {.on_add = pods_add_cb,
						  .on_update = pods_update_cb,
						  .on_delete = pods_delete_cb};
	char dir[POD_PATH_MAX];
	int rv;

	snprintf(dir, sizeof dir, "%s/pods", lk->o.state_dir);
	if (mkdir_p(dir, 0755) != 0) {
		fprintf(stderr, "baton_labkubelet: state directory %s: %s\n",
			dir, strerror(errno));
		return 1;
	}
	state_cleanup_leftovers(lk);
	rv = baton_kube_config_load_file(&kc, lk->o.kubeconfig, NULL);
	if (rv != 0) {
		fprintf(stderr, "baton_labkubelet: %s\n", kc.errmsg);
		baton_kube_config_free(&kc);
		return 2;
	}
	lk->loop = &lk->loop_storage;
	uv_loop_init(lk->loop);
	rv = baton_kube_client_init(lk->loop, &lk->kube, &kc, &copts);
	baton_kube_config_free(&kc);
	if (rv != 0) {
		fprintf(stderr, "baton_labkubelet: kube client: %s\n",
			lk->kube.errmsg);
		uv_loop_close(lk->loop);
		return 1;
	}
	lk->kube_open = true;
	if (baton_kube_recorder_init(&lk->kube, &lk->events, "baton-labkubelet",
				     lk->o.node) == 0) {
		lk->events_open = true;
	}
	lk->pods_inf.data = lk;
	rv = baton_kube_informer_init(&lk->kube, &lk->pods_inf, &iopts, &ih);
	if (rv == 0) {
		lk->pods_inf.data = lk;
		lk->inf_open = true;
		rv = baton_kube_informer_start(&lk->pods_inf);
	}
	if (rv != 0) {
		fprintf(stderr, "baton_labkubelet: pod informer: %s\n",
			lk->pods_inf.errmsg);
		return 1;
	}
	uv_signal_init(lk->loop, &lk->sigterm);
	uv_signal_init(lk->loop, &lk->sigint);
	lk->sigterm.data = lk;
	lk->sigint.data = lk;
	uv_signal_start(&lk->sigterm, signal_cb, SIGTERM);
	uv_signal_start(&lk->sigint, signal_cb, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	uv_timer_init(lk->loop, &lk->heartbeat);
	lk->heartbeat.data = lk;
	uv_timer_init(lk->loop, &lk->kick);
	lk->kick.data = lk;
	time_rfc3339(lk->ready_since, sizeof lk->ready_since);
	heartbeat(lk);
	uv_timer_start(&lk->heartbeat, heartbeat_cb, RETRY_MS, 0);
	baton_log_kv(BATON_LOG_INFO, COMP,
		     json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "server",
			       lk->kube.cfg.server, "bin_dir", lk->o.bin_dir,
			       "state_dir", lk->o.state_dir, "pod_cidr_base",
			       lk->o.pod_cidr_base, "max_pods", lk->o.max_pods,
			       "self", lk->self),
		     "lab kubelet starting");
	uv_run(lk->loop, UV_RUN_DEFAULT);
	rv = uv_loop_close(lk->loop);
	if (rv != 0) {
		baton_log(BATON_LOG_ERROR, COMP,
			  "handles left open at exit (a bug): %s",
			  uv_strerror(rv));
		return 1;
	}
	return lk->exit_code;
}

/* ---- pod-exec: inside `ip netns exec`, before the container's command --- */

static int pod_exec_main(int argc, char **argv)
{
	const char *workdir = "/";
	int i = 2;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--mount") == 0 && i + 3 < argc) {
			const char *src = argv[i + 1], *dst = argv[i + 2];
			bool ro = strcmp(argv[i + 3], "ro") == 0;
			if (mkdir_p(dst, 0755) != 0) {
				fprintf(stderr, "pod-exec: mkdir %s: %s\n", dst,
					strerror(errno));
				return 126;
			}
			if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) !=
			    0) {
				fprintf(stderr, "pod-exec: bind %s on %s: %s\n",
					src, dst, strerror(errno));
				return 126;
			}
			if (ro && mount(NULL, dst, NULL,
					MS_REMOUNT | MS_BIND | MS_RDONLY,
					NULL) != 0) {
				fprintf(stderr, "pod-exec: read-only %s: %s\n",
					dst, strerror(errno));
				return 126;
			}
			i += 3;
		} else if (strcmp(argv[i], "--workdir") == 0 && i + 1 < argc) {
			workdir = argv[++i];
		} else {
			fprintf(stderr, "pod-exec: unexpected argument '%s'\n",
				argv[i]);
			return 126;
		}
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "pod-exec: no command after --\n");
		return 126;
	}
	if (chdir(workdir) != 0) {
		fprintf(stderr, "pod-exec: chdir %s: %s\n", workdir,
			strerror(errno));
		return 126;
	}
	execv(argv[i + 1], argv + i + 1);
	fprintf(stderr, "pod-exec: exec %s: %s\n", argv[i + 1],
		strerror(errno));
	return 127;
}

/* ---- fake-agent: a stand-in for baton-agent in the lab kubelet's tests -- */

struct fake {
	uv_signal_t sigterm;
	uv_signal_t sigint;
	struct baton_http_server http;
	const char *not_ready_file;
	const char *echo_env; /* a variable /v1/status shows, for tests */
};

static void fake_healthz(struct baton_http_request *req, void *data)
{
	(void)data;
	baton_http_respond(req, 200, "text/plain", "ok\n", 3, NULL);
}

static void fake_readyz(struct baton_http_request *req, void *data)
{
	struct fake *f = data;
	if (f->not_ready_file != NULL && access(f->not_ready_file, F_OK) == 0) {
		baton_http_respond(req, 503, "text/plain", "not ready\n", 10,
				   NULL);
		return;
	}
	baton_http_respond(req, 200, "text/plain", "ok\n", 3, NULL);
}

static void fake_status(struct baton_http_request *req, void *data)
{
	struct fake *f = data;
	json_t *o;
	char *text;
	o = json_pack("{s:s?, s:s?, s:i, s:s?}", "pod", getenv("POD_NAME"),
		      "namespace", getenv("POD_NAMESPACE"), "pid",
		      (int)getpid(), "region", getenv("BATON_REGION"));
	if (o != NULL && f->echo_env != NULL) {
		const char *v = getenv(f->echo_env);
		json_object_set_new(o, "env",
				    json_pack("{s:s?}", f->echo_env, v));
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (text == NULL) {
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	baton_http_respond(req, 200, "application/json", text, strlen(text),
			   NULL);
	free(text);
}

static void fake_closed_cb(struct baton_http_server *srv)
{
	(void)srv;
}

static void fake_signal_cb(uv_signal_t *h, int signum)
{
	struct fake *f = h->data;
	(void)signum;
	baton_http_server_close(&f->http, fake_closed_cb);
	uv_close((uv_handle_t *)&f->sigterm, NULL);
	uv_close((uv_handle_t *)&f->sigint, NULL);
}

static int fake_agent_main(int argc, char **argv)
{
	const char *listen = "0.0.0.0:8081";
	const char *write_file = NULL;
	struct fake f = {.not_ready_file = NULL};
	bool ignore_term = false;
	struct baton_http_config hc = {0};
	char host[128];
	const char *colon;
	uv_loop_t loop;
	int port;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen = argv[++i];
		} else if (strcmp(argv[i], "--write") == 0 && i + 1 < argc) {
			write_file = argv[++i];
		} else if (strcmp(argv[i], "--not-ready-file") == 0 &&
			   i + 1 < argc) {
			f.not_ready_file = argv[++i];
		} else if (strcmp(argv[i], "--echo-env") == 0 && i + 1 < argc) {
			f.echo_env = argv[++i];
		} else if (strcmp(argv[i], "--ignore-sigterm") == 0) {
			ignore_term = true; /* only SIGKILL ends it */
		} else {
			/* tolerate baton-agent's flags, so the same pod spec
			 * can run either */
			if (strncmp(argv[i], "--", 2) == 0 && i + 1 < argc &&
			    strncmp(argv[i + 1], "--", 2) != 0) {
				i++;
			}
		}
	}
	colon = strrchr(listen, ':');
	if (colon == NULL || (size_t)(colon - listen) >= sizeof host) {
		fprintf(stderr, "fake-agent: --listen wants HOST:PORT\n");
		return 2;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = (int)strtol(colon + 1, NULL, 10);
	if (write_file != NULL) {
		FILE *w = fopen(write_file, "a");
		if (w == NULL) {
			fprintf(stderr, "fake-agent: %s: %s\n", write_file,
				strerror(errno));
			return 1;
		}
		fprintf(w, "%s\n",
			getenv("POD_NAME") ? getenv("POD_NAME") : "?");
		fclose(w);
	}
	uv_loop_init(&loop);
	if (baton_http_server_init(&loop, &f.http, &hc) != 0 ||
	    baton_http_route(&f.http, "GET", "/healthz", fake_healthz, &f) ||
	    baton_http_route(&f.http, "GET", "/readyz", fake_readyz, &f) ||
	    baton_http_route(&f.http, "GET", "/v1/status", fake_status, &f) ||
	    baton_http_server_listen(&f.http, host, port) != 0) {
		fprintf(stderr, "fake-agent: %s: %s\n", listen, f.http.errmsg);
		return 1;
	}
	uv_signal_init(&loop, &f.sigterm);
	uv_signal_init(&loop, &f.sigint);
	f.sigterm.data = &f;
	f.sigint.data = &f;
	if (ignore_term) {
		signal(SIGTERM, SIG_IGN);
	} else {
		uv_signal_start(&f.sigterm, fake_signal_cb, SIGTERM);
	}
	uv_signal_start(&f.sigint, fake_signal_cb, SIGINT);
	baton_log(BATON_LOG_INFO, "fake-agent", "serving on %s", listen);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	baton_log(BATON_LOG_INFO, "fake-agent", "stopped");
	return 0;
}

/* ---- main ------------------------------------------------------------------
 */

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

int main(int argc, char **argv)
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
	static struct lk lk;
	struct opts *o = &lk.o;
	uint32_t gw, mask, last;
	enum baton_log_level level;
	char abs_state[PATH_MAX], abs_bin[PATH_MAX];
	ssize_t n;
	int c;

	if (argc > 1 && strcmp(argv[1], "pod-exec") == 0) {
		return pod_exec_main(argc, argv);
	}
	if (argc > 1 && strcmp(argv[1], "fake-agent") == 0) {
		return fake_agent_main(argc, argv);
	}
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
	if (realpath(o->state_dir, abs_state) == NULL &&
	    (mkdir_p(o->state_dir, 0755) != 0 ||
	     realpath(o->state_dir, abs_state) == NULL)) {
		fprintf(stderr, "baton_labkubelet: --state-dir %s: %s\n",
			o->state_dir, strerror(errno));
		return 2;
	}
	o->state_dir = abs_state;
	if (realpath(o->bin_dir, abs_bin) == NULL) {
		fprintf(stderr, "baton_labkubelet: --bin-dir %s: %s\n",
			o->bin_dir, strerror(errno));
		return 2;
	}
	o->bin_dir = abs_bin;
	n = readlink("/proc/self/exe", lk.self, sizeof lk.self - 1);
	if (n <= 0) {
		fprintf(stderr, "baton_labkubelet: /proc/self/exe: %s\n",
			strerror(errno));
		return 1;
	}
	lk.self[n] = '\0';
	baton_log_set_static_fields(
	    json_pack("{s:s, s:s}", "node", o->node, "region", o->region));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return lk_run(&lk);
}
