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
 *
 * Where the parts live (tests/helpers/labkubelet/, docs/testenv.md): this
 * header holds the limits, the kubelet's state (struct lk, pod, ctr) and
 * what the files call of each other; each file is one section:
 *
 *   main.c       dispatch: the kubelet, pod-exec or fake-agent
 *   options.c    flags, their checks, --help
 *   run.c        start-up, the loop, SIGTERM and the way out
 *   informer.c   the pods informer: pods of this node, marked, synced
 *   sync.c       the pod state machine (new → volumes → net-up → running
 *                → stopping → net-down → deleting → gone), retries
 *   volumes.c    volumes: claims, emptyDir, hostPath; then envrefs.c
 *   secretvol.c  secret volumes: written, pruned, refreshed
 *   envrefs.c    env from Secrets and ConfigMaps; then podhost.c
 *   podhost.c    the pod host (network namespace) up and down, off-loop
 *   netns.c      the blocking `ip` commands behind it
 *   spec.c       a container's spec → argv, env, mounts, probe
 *   container.c  container processes: start, exit, backoff
 *   probe.c      readiness probes (curl on the threadpool)
 *   status.c     pods/status writes
 *   stop.c       stopping, the grace period, DELETE
 *   pod.c        a pod's logging, Events and memory
 *   statefile.c  crash safety: STATE/pods/<uid>/state, start-up cleanup
 *   node.c       the Node, its status and Lease (heartbeat)
 *   logs.c       container log rotation, dead pod directories
 *   util.c       small helpers (JSON, files, /proc, run a command)
 *   podexec.c    pod-exec (inside `ip netns exec`)
 *   fakeagent.c  fake-agent, a stand-in for baton-agent in tests
 */
#ifndef BATON_TESTS_LABKUBELET_H
#define BATON_TESTS_LABKUBELET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/log.h"
#include "kube/client.h"
#include "kube/events.h"
#include "kube/informer.h"

#define COMP "labkubelet"
#define FIELD_MANAGER "baton-labkubelet"
#define MAX_PODS_CAP 200
#define MAX_CTRS 4
#define MAX_ARGV 96
#define MAX_PASSIVE 8
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
	char abs_state_dir[PATH_MAX]; /* state_dir and bin_dir, resolved */
	char abs_bin_dir[PATH_MAX];
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

struct strv {
	char *v[MAX_ARGV + 1];
	int n;
};

/* util.c */
const char *jstr(json_t *o, const char *k);
const char *jpath(json_t *o, const char *a, const char *b);
void time_rfc3339(char *buf, size_t n);
int mkdir_p(const char *path, mode_t mode);
void rm_rf(const char *path);
unsigned long long proc_start_time(int pid);
int run_cmd(char *const argv[], char *err, size_t errlen);

/* netns.c */
void netns_teardown(const char *netns, const char *veth, unsigned grace_ms);
int netns_setup(const char *netns, const char *veth, const char *ip,
		int prefix_len, const char *bridge, const char *gw, char *err,
		size_t errlen);

/* pod.c */
void pod_log(const struct pod *p, enum baton_log_level level, const char *msg,
	     json_t *extra);
void pod_event_rec(struct pod *p, const char *type, const char *reason,
		   const char *msg);
bool pod_want_stop(const struct pod *p);
void pod_maybe_free(struct pod *p);

/* statefile.c */
void state_write(struct pod *p);
void state_remove(struct pod *p);
void state_cleanup_leftovers(struct lk *lk);

/* spec.c */
bool is_passive(const struct lk *lk, const char *name);
json_t *ctr_spec(const struct ctr *c);
size_t b64_max(size_t len);
int b64_decode(const char *raw, size_t len, unsigned char *out, size_t cap,
	       size_t *outlen);
void strv_free(struct strv *s);
int ctr_build(struct ctr *c, json_t *spec, struct strv *argv, struct strv *env);
void ctr_probe_config(struct ctr *c, json_t *spec);

/* probe.c */
void probe_schedule(struct ctr *c, uint64_t ms);

/* container.c */
int ctr_start(struct ctr *c);

/* volumes.c */
void vol_set(struct pod *p, const char *name, const char *path);
void vol_next(struct pod *p);

/* secretvol.c */
void vol_secret_done(struct pod *p, json_t *vol, struct baton_kube_request *req,
		     int status);
void secrets_refresh(struct lk *lk);

/* envrefs.c */
void refs_next(struct pod *p);

/* podhost.c */
void net_start(struct pod *p, bool up);

/* stop.c */
void pod_finish(struct pod *p);
void kill_timer_cb(uv_timer_t *t);
void pod_begin_stop(struct pod *p);
bool pod_all_exited(const struct pod *p);

/* sync.c */
void retry_timer_cb(uv_timer_t *t);
void pod_retry(struct pod *p, const char *why);
struct pod *pod_find(struct lk *lk, const char *uid);
void pod_sync(struct pod *p);
struct pod *pod_new(struct lk *lk, json_t *obj);

/* status.c */
void pod_status_write(struct pod *p);

/* informer.c */
void pods_add_cb(struct baton_kube_informer *inf, json_t *obj);
void pods_update_cb(struct baton_kube_informer *inf, json_t *old_obj,
		    json_t *new_obj);
void pods_delete_cb(struct baton_kube_informer *inf, json_t *obj);

/* node.c */
void heartbeat(struct lk *lk);
void heartbeat_cb(uv_timer_t *t);

/* logs.c */
void logs_rotate(struct lk *lk);
void dead_dirs_prune(struct lk *lk);

/* run.c */
void lk_check_done(struct lk *lk);
int lk_run(struct lk *lk);

/* podexec.c */
int pod_exec_main(int argc, char **argv);

/* fakeagent.c */
int fake_agent_main(int argc, char **argv);

/* options.c */
int lk_options(struct lk *lk, int argc, char **argv);

#endif
