/* bench_kube: the Kubernetes client's watch decode rate and cache memory.
 *
 *   bench_kube pure [EVENTS]   decode throughput, no network (default 100000)
 *   bench_kube server [N]      against BATON_KUBECONFIG (default 10000)
 *   (bench_kube create|update NS N: internal, spawned by "server")
 *
 * pure: a watch stream of MODIFIED events, newline-framed as kube-apiserver
 * sends it, generated in memory for ConfigMap-sized and Pod-sized objects,
 * is fed in 16 KiB chunks (curl's largest write) to the data callback of a
 * real informer's watch stream: the same function libcurl's write callback
 * calls, so every byte goes through watch.c's framer, event parser and
 * resourceVersion bookkeeping and informer.c's cache update and handlers.
 * The informer's client points at a closed port and the loop is not run
 * while measuring, so no I/O happens. Reported: events/s per CPU second
 * (CLOCK_PROCESS_CPUTIME_ID, one thread) and per wall second, and the same
 * stream through the framer and the event parser alone, for reference.
 *
 * server: a child process creates N ConfigMaps in a fresh namespace with
 * the REST client, 64 in flight. This process, which has made no requests
 * yet, then runs a real informer on that namespace until has_synced and
 * reports RSS before and after, the compact JSON size of the cached
 * objects, and (dRSS - JSON bytes) / N. Another child then patches every
 * ConfigMap once (64 in flight) while this process counts the MODIFIED
 * events reaching the cache: events/s end to end and this process's CPU
 * time per event. The namespace is deleted at the end.
 *
 * Prints numbers; asserts only correctness (every event arrives, counts
 * match). Exit status 1 on any failure.
 */
#include <malloc.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "kube/informer.h"
#include "kube/rest.h"
#include "kube/watch.h"

extern char **environ;

#define CHUNK (16 * 1024)
#define INFLIGHT 64
#define PASS_EVENTS 10000 /* events in one generated stream */
#define PURE_KEYS 1000	  /* distinct objects in the pure stream */

static void die(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "bench_kube: ");
	fprintf(stderr, "%s: %s: %s\n", fmt, a ? a : "", b ? b : "");
	exit(1);
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* ---- a growable text buffer -------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 20;
		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		if ((b->p = realloc(b->p, cap)) == NULL) {
			die("out of memory", NULL, NULL);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* ---- realistic objects -------------------------------------------------- */

/* A ConfigMap as kube-apiserver returns it (managedFields included, as in
 * watch events), about 1 KiB. */
static int gen_configmap(char *out, size_t len, int i, unsigned long rv)
{
	return snprintf(
	    out, len,
	    "{\"apiVersion\":\"v1\",\"data\":{\"postgresql.conf\":"
	    "\"max_connections = 200\\nshared_buffers = 512MB\\n"
	    "wal_level = replica\\nmax_wal_senders = 10\\n"
	    "synchronous_commit = on\\n\",\"primary\":\"eu-west\","
	    "\"epoch\":\"%lu\"},\"kind\":\"ConfigMap\",\"metadata\":{"
	    "\"annotations\":{\"baton.dev/generation\":\"%lu\"},"
	    "\"creationTimestamp\":\"2026-11-28T04:00:00Z\",\"labels\":{"
	    "\"app.kubernetes.io/managed-by\":\"baton\","
	    "\"app.kubernetes.io/name\":\"db-%04d\",\"baton.dev/cluster\":"
	    "\"db-%04d\"},\"managedFields\":[{\"apiVersion\":\"v1\","
	    "\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:data\":{\".\":{},"
	    "\"f:epoch\":{},\"f:postgresql.conf\":{},\"f:primary\":{}},"
	    "\"f:metadata\":{\"f:annotations\":{\".\":{},"
	    "\"f:baton.dev/generation\":{}},\"f:labels\":{\".\":{},"
	    "\"f:app.kubernetes.io/managed-by\":{},"
	    "\"f:app.kubernetes.io/name\":{},\"f:baton.dev/cluster\":{}}}},"
	    "\"manager\":\"batond\",\"operation\":\"Update\","
	    "\"time\":\"2026-11-28T04:00:00Z\"}],\"name\":\"db-%04d-config\","
	    "\"namespace\":\"tenant-a\",\"resourceVersion\":\"%lu\","
	    "\"uid\":\"6f1c2b9e-3a4d-4e5f-8a7b-%012d\"}}",
	    rv, rv, i, i, i, rv, i);
}

/* A PostgreSQL pod of a StatefulSet as kube-apiserver returns it once
 * running (spec, status, managedFields from three managers), about 6 KiB. */
static int gen_pod(char *out, size_t len, int i, unsigned long rv)
{
	return snprintf(
	    out, len,
	    "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{"
	    "\"annotations\":{\"baton.dev/epoch\":\"%lu\"},"
	    "\"creationTimestamp\":\"2026-11-28T04:00:00Z\","
	    "\"generateName\":\"db-%04d-\",\"labels\":{"
	    "\"app.kubernetes.io/name\":\"db-%04d\",\"baton.dev/cluster\":"
	    "\"db-%04d\",\"baton.dev/role\":\"primary\","
	    "\"controller-revision-hash\":\"db-%04d-6d9f7c8b5f\","
	    "\"statefulset.kubernetes.io/pod-name\":\"db-%04d-0\"},"
	    "\"managedFields\":[{\"apiVersion\":\"v1\",\"fieldsType\":"
	    "\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:generateName\":{},"
	    "\"f:labels\":{\".\":{},\"f:app.kubernetes.io/name\":{},"
	    "\"f:baton.dev/cluster\":{},\"f:controller-revision-hash\":{},"
	    "\"f:statefulset.kubernetes.io/pod-name\":{}},"
	    "\"f:ownerReferences\":{\".\":{},\"k:{\\\"uid\\\":"
	    "\\\"0b3c5d7e-1f2a-4b3c-9d4e-5f6a7b8c9d0e\\\"}\":{}}},\"f:spec\":{"
	    "\"f:containers\":{\"k:{\\\"name\\\":\\\"postgres\\\"}\":{\".\":{},"
	    "\"f:env\":{\".\":{},\"k:{\\\"name\\\":\\\"PGDATA\\\"}\":{\".\":{},"
	    "\"f:name\":{},\"f:value\":{}}},\"f:image\":{},\"f:name\":{},"
	    "\"f:ports\":{\".\":{},\"k:{\\\"containerPort\\\":5432,"
	    "\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:containerPort\":{},"
	    "\"f:name\":{}}},\"f:resources\":{\".\":{},\"f:limits\":{},"
	    "\"f:requests\":{}},\"f:volumeMounts\":{}}},\"f:hostname\":{},"
	    "\"f:subdomain\":{},\"f:volumes\":{}}},\"manager\":"
	    "\"kube-controller-manager\",\"operation\":\"Update\",\"time\":"
	    "\"2026-11-28T04:00:00Z\"},{\"apiVersion\":\"v1\",\"fieldsType\":"
	    "\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:annotations\":{"
	    "\".\":{},\"f:baton.dev/epoch\":{}},\"f:labels\":{"
	    "\"f:baton.dev/role\":{}}}},\"manager\":\"batond\",\"operation\":"
	    "\"Update\",\"time\":\"2026-11-28T04:00:05Z\"},{\"apiVersion\":"
	    "\"v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:status\":{"
	    "\"f:conditions\":{\"k:{\\\"type\\\":\\\"ContainersReady\\\"}\":{"
	    "\".\":{},\"f:lastProbeTime\":{},\"f:lastTransitionTime\":{},"
	    "\"f:status\":{},\"f:type\":{}},\"k:{\\\"type\\\":\\\"Ready\\\"}\":"
	    "{"
	    "\".\":{},\"f:lastProbeTime\":{},\"f:lastTransitionTime\":{},"
	    "\"f:status\":{},\"f:type\":{}}},\"f:containerStatuses\":{},"
	    "\"f:hostIP\":{},\"f:phase\":{},\"f:podIP\":{},\"f:podIPs\":{},"
	    "\"f:startTime\":{}}},\"manager\":\"kubelet\",\"operation\":"
	    "\"Update\",\"subresource\":\"status\",\"time\":"
	    "\"2026-11-28T04:00:03Z\"}],\"name\":\"db-%04d-0\",\"namespace\":"
	    "\"tenant-a\",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\","
	    "\"blockOwnerDeletion\":true,\"controller\":true,\"kind\":"
	    "\"StatefulSet\",\"name\":\"db-%04d\",\"uid\":"
	    "\"0b3c5d7e-1f2a-4b3c-9d4e-5f6a7b8c9d0e\"}],\"resourceVersion\":"
	    "\"%lu\",\"uid\":\"9a8b7c6d-5e4f-4a3b-8c2d-%012d\"},\"spec\":{"
	    "\"containers\":[{\"env\":[{\"name\":\"PGDATA\",\"value\":"
	    "\"/var/lib/postgresql/data/pgdata\"},{\"name\":\"POD_NAME\","
	    "\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":"
	    "\"metadata.name\"}}}],\"image\":\"postgres:15.8\","
	    "\"imagePullPolicy\":\"IfNotPresent\",\"name\":\"postgres\","
	    "\"ports\":[{\"containerPort\":5432,\"name\":\"postgres\","
	    "\"protocol\":\"TCP\"}],\"readinessProbe\":{\"exec\":{\"command\":["
	    "\"pg_isready\",\"-U\",\"postgres\"]},\"failureThreshold\":3,"
	    "\"periodSeconds\":5,\"successThreshold\":1,\"timeoutSeconds\":1},"
	    "\"resources\":{\"limits\":{\"cpu\":\"2\",\"memory\":\"4Gi\"},"
	    "\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}},"
	    "\"terminationMessagePath\":\"/dev/termination-log\","
	    "\"terminationMessagePolicy\":\"File\",\"volumeMounts\":[{"
	    "\"mountPath\":\"/var/lib/postgresql/data\",\"name\":\"data\"},{"
	    "\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\","
	    "\"name\":\"kube-api-access-x7k2p\",\"readOnly\":true}]},{\"args\":"
	    "[\"--region=eu-west\",\"--listen=:8008\"],\"image\":"
	    "\"baton-agent:0.1\",\"imagePullPolicy\":\"IfNotPresent\","
	    "\"name\":\"baton-agent\",\"resources\":{},"
	    "\"terminationMessagePath\":\"/dev/termination-log\","
	    "\"terminationMessagePolicy\":\"File\"}],\"dnsPolicy\":"
	    "\"ClusterFirst\",\"enableServiceLinks\":true,\"hostname\":"
	    "\"db-%04d-0\",\"nodeName\":\"kwok-node-%d\",\"preemptionPolicy\":"
	    "\"PreemptLowerPriority\",\"priority\":0,\"restartPolicy\":"
	    "\"Always\",\"schedulerName\":\"default-scheduler\","
	    "\"securityContext\":{\"fsGroup\":999},\"serviceAccount\":"
	    "\"default\",\"serviceAccountName\":\"default\",\"subdomain\":"
	    "\"db-%04d\",\"terminationGracePeriodSeconds\":30,\"tolerations\":"
	    "[{\"effect\":\"NoExecute\",\"key\":"
	    "\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\","
	    "\"tolerationSeconds\":300},{\"effect\":\"NoExecute\",\"key\":"
	    "\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\","
	    "\"tolerationSeconds\":300}],\"volumes\":[{\"name\":\"data\","
	    "\"persistentVolumeClaim\":{\"claimName\":\"data-db-%04d-0\"}},{"
	    "\"name\":\"kube-api-access-x7k2p\",\"projected\":{\"defaultMode\":"
	    "420,\"sources\":[{\"serviceAccountToken\":{\"expirationSeconds\":"
	    "3607,\"path\":\"token\"}},{\"configMap\":{\"items\":[{\"key\":"
	    "\"ca.crt\",\"path\":\"ca.crt\"}],\"name\":\"kube-root-ca.crt\"}},{"
	    "\"downwardAPI\":{\"items\":[{\"fieldRef\":{\"apiVersion\":\"v1\","
	    "\"fieldPath\":\"metadata.namespace\"},\"path\":\"namespace\"}]}}]}"
	    "}"
	    "]},\"status\":{\"conditions\":[{\"lastProbeTime\":null,"
	    "\"lastTransitionTime\":\"2026-11-28T04:00:01Z\",\"status\":"
	    "\"True\",\"type\":\"Initialized\"},{\"lastProbeTime\":null,"
	    "\"lastTransitionTime\":\"2026-11-28T04:00:03Z\",\"status\":"
	    "\"True\",\"type\":\"Ready\"},{\"lastProbeTime\":null,"
	    "\"lastTransitionTime\":\"2026-11-28T04:00:03Z\",\"status\":"
	    "\"True\",\"type\":\"ContainersReady\"},{\"lastProbeTime\":null,"
	    "\"lastTransitionTime\":\"2026-11-28T04:00:00Z\",\"status\":"
	    "\"True\",\"type\":\"PodScheduled\"}],\"containerStatuses\":[{"
	    "\"containerID\":\"containerd://"
	    "4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\""
	    ","
	    "\"image\":\"docker.io/library/postgres:15.8\",\"imageID\":"
	    "\"docker.io/library/postgres@sha256:"
	    "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9\""
	    ","
	    "\"lastState\":{},\"name\":\"postgres\",\"ready\":true,"
	    "\"restartCount\":0,\"started\":true,\"state\":{\"running\":{"
	    "\"startedAt\":\"2026-11-28T04:00:02Z\"}}},{\"containerID\":"
	    "\"containerd://"
	    "5a4b3c2d1e0f5a4b3c2d1e0f5a4b3c2d1e0f5a4b3c2d1e0f5a4b3c2d1e0f5a4b\""
	    ","
	    "\"image\":\"baton-agent:0.1\",\"imageID\":\"sha256:"
	    "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a\""
	    ","
	    "\"lastState\":{},\"name\":\"baton-agent\",\"ready\":true,"
	    "\"restartCount\":0,\"started\":true,\"state\":{\"running\":{"
	    "\"startedAt\":\"2026-11-28T04:00:02Z\"}}}],\"hostIP\":"
	    "\"10.0.0.%d\",\"phase\":\"Running\",\"podIP\":\"10.244.%d.%d\","
	    "\"podIPs\":[{\"ip\":\"10.244.%d.%d\"}],\"qosClass\":\"Burstable\","
	    "\"startTime\":\"2026-11-28T04:00:00Z\"}}",
	    rv, i, i, i, i, i, i, i, rv, i, i, i % 16, i, i, i % 250 + 1,
	    i / 250, i % 250 + 2, i / 250, i % 250 + 2);
}

enum kind { KIND_CM, KIND_POD, KIND_MIX };

/* PASS_EVENTS MODIFIED events over PURE_KEYS objects, RVs increasing. */
static void gen_stream(struct buf *b, enum kind k, unsigned long rv0)
{
	static char obj[16384];
	static char line[16384 + 64];
	for (int e = 0; e < PASS_EVENTS; e++) {
		int i = e % PURE_KEYS, n;
		bool pod = k == KIND_POD || (k == KIND_MIX && (e & 1));
		n = pod ? gen_pod(obj, sizeof obj, i, rv0 + (unsigned long)e)
			: gen_configmap(obj, sizeof obj, i,
					rv0 + (unsigned long)e);
		if (n < 0 || (size_t)n >= sizeof obj) {
			die("object template too long", NULL, NULL);
		}
		n = snprintf(line, sizeof line,
			     "{\"type\":\"MODIFIED\",\"object\":%s}\n", obj);
		buf_add(b, line, (size_t)n);
	}
}

/* ---- pure decode ------------------------------------------------------- */

static uv_loop_t loop;
static unsigned long n_add, n_update, n_delete;

static void on_add(struct baton_kube_informer *inf, json_t *obj)
{
	n_add++;
}

static void on_update(struct baton_kube_informer *inf, json_t *o, json_t *n)
{
	n_update++;
}

static void on_delete(struct baton_kube_informer *inf, json_t *obj)
{
	n_delete++;
}

static const struct baton_kube_informer_handlers handlers = {on_add, on_update,
							     on_delete};

static int closed_port(void)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		die("no free port", NULL, NULL);
	}
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool closed_flag;

static void client_closed_cb(struct baton_kube_client *c)
{
	closed_flag = true;
}

static void informer_closed_cb(struct baton_kube_informer *inf)
{
	closed_flag = true;
}

static void run_until(bool *flag)
{
	while (!*flag) {
		uv_run(&loop, UV_RUN_ONCE);
	}
}

static void close_informer(struct baton_kube_informer *inf)
{
	closed_flag = false;
	baton_kube_informer_close(inf, informer_closed_cb);
	run_until(&closed_flag);
}

static void close_client(struct baton_kube_client *c)
{
	closed_flag = false;
	baton_kube_client_close(c, client_closed_cb);
	run_until(&closed_flag);
}

/* Feeds STREAM in CHUNK-byte pieces to the watch's data callback, as
 * libcurl's write callback does. */
static void feed(struct baton_kube_informer *inf, const struct buf *s)
{
	struct baton_kube_request *req = &inf->watch.req;
	for (size_t off = 0; off < s->len; off += CHUNK) {
		size_t n = s->len - off < CHUNK ? s->len - off : CHUNK;
		int rv = req->data_cb(req, s->p + off, n);
		if (rv != 0) {
			die("watch data callback", baton_errname(rv),
			    inf->watch.errmsg);
		}
	}
}

static int parse_only_cb(void *ud, const char *line, size_t len)
{
	json_t *obj;
	int type, rv;
	rv = baton_kube_event_parse(line, len, &type, &obj, ud);
	json_decref(obj);
	return rv;
}

static void pure_one(const char *label, enum kind k, long events)
{
	struct baton_kube_config cfg = {0};
	struct baton_kube_client client;
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts io = {0};
	struct baton_kube_framer fr;
	struct buf s = {0};
	char server[64], errmsg[BATON_ERRMSG_SIZE];
	long passes = (events + PASS_EVENTS - 1) / PASS_EVENTS, fed = 0;
	double c0, w0, cpu, wall, pcpu;
	int rv;

	gen_stream(&s, k, 1000);
	snprintf(server, sizeof server, "https://127.0.0.1:%d", closed_port());
	cfg.server = server;
	cfg.token = "bench";
	if (baton_kube_client_init(&loop, &client, &cfg, NULL) != 0) {
		die("client", client.errmsg, NULL);
	}
	io.version = "v1";
	io.resource = label[0] == 'p' ? "pods" : "configmaps";
	if (baton_kube_informer_init(&client, &inf, &io, &handlers) != 0) {
		die("informer", inf.errmsg, NULL);
	}
	/* What the informer does once its LIST is in: watch from its RV. */
	rv = baton_kube_watch_start(&inf.watch, "999");
	if (rv != 0 || inf.watch.req.data_cb == NULL) {
		die("watch start", baton_errname(rv), inf.watch.errmsg);
	}
	/* Warm-up pass (fills the cache; later events are updates). */
	feed(&inf, &s);
	n_add = n_update = n_delete = 0;

	c0 = cpu_s();
	w0 = wall_s();
	for (long p = 0; p < passes; p++) {
		feed(&inf, &s);
		fed += PASS_EVENTS;
	}
	cpu = cpu_s() - c0;
	wall = wall_s() - w0;
	if (n_update != (unsigned long)fed || n_add != 0 ||
	    json_object_size(inf.cache) != PURE_KEYS) {
		fprintf(stderr,
			"bench_kube: %s: %lu updates, %lu adds, %zu cached "
			"(want %ld, 0, %d)\n",
			label, n_update, n_add, json_object_size(inf.cache),
			fed, PURE_KEYS);
		exit(1);
	}

	/* The same bytes through the framer and the parser only. */
	baton_kube_framer_init(&fr, 0);
	c0 = cpu_s();
	for (long p = 0; p < passes; p++) {
		for (size_t off = 0; off < s.len; off += CHUNK) {
			size_t n = s.len - off < CHUNK ? s.len - off : CHUNK;
			rv = baton_kube_framer_feed(&fr, s.p + off, n,
						    parse_only_cb, errmsg);
			if (rv != 0) {
				die("parse", baton_errname(rv), errmsg);
			}
		}
	}
	pcpu = cpu_s() - c0;
	baton_kube_framer_free(&fr);

	printf("  %-10s %7ld events  %6.0f B/event  %8.0f events/s CPU  "
	       "%8.0f events/s wall  %6.1f MB/s  (framer+parse only: "
	       "%8.0f events/s CPU)\n",
	       label, fed, (double)s.len / PASS_EVENTS, (double)fed / cpu,
	       (double)fed / wall, (double)s.len * (double)passes / cpu / 1e6,
	       (double)fed / pcpu);

	close_informer(&inf);
	close_client(&client);
	free(s.p);
}

static int cmd_pure(long events)
{
	if (uv_loop_init(&loop) != 0) {
		die("uv_loop_init", NULL, NULL);
	}
	printf("decode (no network): %ld MODIFIED events per kind over %d "
	       "objects, fed in %d-byte chunks\nto a real informer's watch "
	       "stream (framer -> event parser -> RV -> cache -> handlers), "
	       "one thread\n",
	       events, PURE_KEYS, CHUNK);
	pure_one("configmaps", KIND_CM, events);
	pure_one("pods", KIND_POD, events);
	pure_one("mixed", KIND_MIX, events);
	uv_loop_close(&loop);
	return 0;
}

/* ---- against a server: writer children ------------------------------- */

static const char *need_env(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0') {
		die(name, "not set",
		    "run tests/bench/bench-kube.sh, or eval \"$(tests/env/"
		    "regions env)\" first");
	}
	return v;
}

static void open_client(struct baton_kube_client *c, double qps)
{
	struct baton_kube_config cfg;
	struct baton_kube_client_opts o = {0};
	const char *path = need_env("BATON_KUBECONFIG");

	if (baton_kube_config_load_file(&cfg, path, NULL) != 0) {
		die(path, cfg.errmsg, NULL);
	}
	o.qps = qps;
	o.burst = qps > 0 ? (int)qps : 0;
	if (baton_kube_client_init(&loop, c, &cfg, &o) != 0) {
		die("client", c->errmsg, NULL);
	}
	baton_kube_config_free(&cfg);
}

struct writer {
	struct baton_kube_client client;
	struct baton_kube_request reqs[INFLIGHT];
	const char *ns;
	bool update;
	int n, next, inflight, ok, failed;
	char firsterr[BATON_ERRMSG_SIZE];
};

static void writer_next(struct writer *w, struct baton_kube_request *req);

static void writer_cb(struct baton_kube_request *req, int status)
{
	struct writer *w = req->data;
	w->inflight--;
	if (status == 0) {
		w->ok++;
	} else if (w->failed++ == 0) {
		memcpy(w->firsterr, req->errmsg, sizeof w->firsterr);
	}
	writer_next(w, req);
}

/* The benchmark's ConfigMap: labels, ~600 bytes of data. */
static json_t *bench_configmap(const char *name, int i)
{
	char conf[640];
	snprintf(conf, sizeof conf,
		 "# cluster %d\nmax_connections = 200\nshared_buffers = "
		 "512MB\nwal_level = replica\nmax_wal_senders = 10\n"
		 "synchronous_commit = on\nwork_mem = 8MB\n"
		 "maintenance_work_mem = 128MB\neffective_cache_size = 3GB\n"
		 "checkpoint_timeout = 15min\nmax_wal_size = 4GB\n"
		 "min_wal_size = 1GB\nwal_keep_size = 2GB\nhot_standby = on\n"
		 "archive_mode = off\nlog_min_duration_statement = 500ms\n"
		 "log_line_prefix = '%%m [%%p] %%q%%u@%%d '\n"
		 "default_statistics_target = 100\nrandom_page_cost = 1.1\n"
		 "effective_io_concurrency = 200\n",
		 i);
	return json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s}},s:{s:s,s:s}}",
			 "apiVersion", "v1", "kind", "ConfigMap", "metadata",
			 "name", name, "labels", "bench", "kube",
			 "app.kubernetes.io/managed-by", "baton", "data",
			 "postgresql.conf", conf, "generation", "1");
}

static void writer_next(struct writer *w, struct baton_kube_request *req)
{
	struct baton_kube_ref r = {NULL, "v1", "configmaps", w->ns, NULL, NULL};
	char name[32];
	json_t *obj;
	int rv;

	if (w->next >= w->n) {
		return;
	}
	snprintf(name, sizeof name, "cm-%05d", w->next);
	req->data = w;
	if (w->update) {
		r.name = name;
		obj = json_pack("{s:{s:s}}", "data", "generation", "2");
		rv = baton_kube_patch(&w->client, req, &r,
				      BATON_KUBE_PATCH_MERGE, obj, NULL,
				      writer_cb);
	} else {
		obj = bench_configmap(name, w->next);
		rv = baton_kube_create(&w->client, req, &r, obj, NULL,
				       writer_cb);
	}
	json_decref(obj);
	if (rv != 0) {
		die("request", baton_errname(rv), req->errmsg);
	}
	w->next++;
	w->inflight++;
}

static void done_cb(struct baton_kube_request *req, int status)
{
	*(int *)req->data = status;
}

/* create NS N | update NS N: N writes, INFLIGHT at a time. */
static int cmd_write(bool update, const char *ns, int n)
{
	static struct writer w;
	double t0, t;

	if (uv_loop_init(&loop) != 0) {
		die("uv_loop_init", NULL, NULL);
	}
	w.ns = ns;
	w.n = n;
	w.update = update;
	open_client(&w.client, -1); /* unlimited: 64 in flight is the cap */
	if (!update) {
		struct baton_kube_ref nsr = {NULL, "v1", "namespaces",
					     NULL, NULL, NULL};
		struct baton_kube_request req;
		int st = 1;
		json_t *o =
		    json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind",
			      "Namespace", "metadata", "name", ns);
		req.data = &st;
		if (baton_kube_create(&w.client, &req, &nsr, o, NULL,
				      done_cb) != 0) {
			die("create namespace", req.errmsg, NULL);
		}
		json_decref(o);
		while (st == 1) {
			uv_run(&loop, UV_RUN_ONCE);
		}
		if (st != 0) {
			die("create namespace", ns, req.errmsg);
		}
	}
	t0 = wall_s();
	for (int i = 0; i < INFLIGHT; i++) {
		writer_next(&w, &w.reqs[i]);
	}
	while (w.inflight > 0) {
		uv_run(&loop, UV_RUN_ONCE);
	}
	t = wall_s() - t0;
	if (w.failed > 0 || w.ok != n) {
		fprintf(stderr, "bench_kube: %d of %d %s failed: %s\n",
			w.failed, n, update ? "updates" : "creates",
			w.firsterr);
		exit(1);
	}
	printf("  %s %d ConfigMaps, %d in flight: %.1f s, %.0f/s\n",
	       update ? "patched" : "created", n, INFLIGHT, t, (double)n / t);
	fflush(stdout);
	close_client(&w.client);
	uv_loop_close(&loop);
	return 0;
}

/* Runs "bench_kube VERB NS N" (this program) as a child process. */
static pid_t spawn_child(const char *verb, const char *ns, int n)
{
	char nbuf[16];
	char *argv[5];
	pid_t pid;

	snprintf(nbuf, sizeof nbuf, "%d", n);
	argv[0] = "bench_kube";
	argv[1] = (char *)verb;
	argv[2] = (char *)ns;
	argv[3] = nbuf;
	argv[4] = NULL;
	fflush(stdout);
	if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ) !=
	    0) {
		die("posix_spawn", verb, NULL);
	}
	return pid;
}

static void wait_child(pid_t pid, const char *verb)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0) {
		die("child failed", verb, NULL);
	}
}

/* ---- against a server: the informer ------------------------------------ */

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2) {
		die("/proc/self/statm", NULL, NULL);
	}
	fclose(f);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static unsigned long n_changed;
static bool count_all; /* replay: the cache already holds these RVs */
static double t_first, t_last;

static void srv_on_update(struct baton_kube_informer *inf, json_t *o, json_t *n)
{
	const char *a = json_string_value(
	    json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
	const char *b = json_string_value(
	    json_object_get(json_object_get(n, "metadata"), "resourceVersion"));
	if (count_all || (a && b && strcmp(a, b) != 0)) {
		double t = wall_s();
		if (n_changed++ == 0) {
			t_first = t;
		}
		t_last = t;
	}
}

static const struct baton_kube_informer_handlers srv_handlers = {
    on_add, srv_on_update, on_delete};

static int cmd_server(int n)
{
	struct baton_kube_client client;
	struct baton_kube_informer inf;
	struct baton_kube_informer_opts io = {0};
	char ns[64];
	const char *key;
	json_t *obj;
	long rss0, rss1, rss1t;
	size_t json_bytes = 0, heap0, heap1, heap2;
	double c0, w0, cpu, tsync, t_deadline;
	char *rv_sync;
	unsigned relists;
	pid_t pid;

	snprintf(ns, sizeof ns, "bench-kube-%d", (int)getpid());
	printf("against %s: namespace %s\n", need_env("BATON_KUBECONFIG"), ns);
	wait_child(spawn_child("create", ns, n), "create");

	if (uv_loop_init(&loop) != 0) {
		die("uv_loop_init", NULL, NULL);
	}
	open_client(&client, 0); /* client-go's defaults: 50 QPS, burst 100 */
	io.version = "v1";
	io.resource = "configmaps";
	io.keep_managed_fields = true; /* measured at the end */
	io.ns = ns;
	io.label_selector = "bench=kube";
	if (baton_kube_informer_init(&client, &inf, &io, &srv_handlers) != 0) {
		die("informer", inf.errmsg, NULL);
	}
	malloc_trim(0);
	rss0 = rss_kib();
	heap0 = mallinfo2().uordblks;
	c0 = cpu_s();
	w0 = wall_s();
	if (baton_kube_informer_start(&inf) != 0) {
		die("informer start", inf.errmsg, NULL);
	}
	t_deadline = w0 + 300;
	while (!baton_kube_informer_has_synced(&inf) && wall_s() < t_deadline) {
		uv_run(&loop, UV_RUN_ONCE);
	}
	tsync = wall_s() - w0;
	cpu = cpu_s() - c0;
	if (!baton_kube_informer_has_synced(&inf) ||
	    json_object_size(inf.cache) != (size_t)n) {
		fprintf(stderr,
			"bench_kube: informer synced=%d with %zu "
			"objects (want %d): %s\n",
			baton_kube_informer_has_synced(&inf),
			json_object_size(inf.cache), n, inf.errmsg);
		exit(1);
	}
	rss1 = rss_kib();
	heap1 = mallinfo2().uordblks;
	malloc_trim(0);
	rss1t = rss_kib();
	json_object_foreach(inf.cache, key, obj)
	{
		char *d = json_dumps(obj, JSON_COMPACT);
		if (d == NULL) {
			die("json_dumps", key, NULL);
		}
		json_bytes += strlen(d);
		free(d);
	}
	printf("  informer LIST (pages of 500) -> has_synced: %.2f s wall, "
	       "%.2f s CPU, %d objects\n",
	       tsync, cpu, n);
	printf("  RSS before %ld KiB, after sync %ld KiB (%ld KiB after "
	       "malloc_trim)\n",
	       rss0, rss1, rss1t);
	printf("  JSON (json_dumps compact) %zu bytes total, %.0f bytes per "
	       "object\n",
	       json_bytes, (double)json_bytes / n);
	printf("  overhead per cached object beyond its JSON: %.0f bytes "
	       "(%.0f after malloc_trim); RSS per object %.0f bytes\n",
	       ((double)(rss1 - rss0) * 1024 - (double)json_bytes) / n,
	       ((double)(rss1t - rss0) * 1024 - (double)json_bytes) / n,
	       (double)(rss1 - rss0) * 1024 / n);
	printf("  malloc'd bytes in use: +%zu, %.0f per object, %.0f beyond "
	       "its JSON\n",
	       heap1 - heap0, (double)(heap1 - heap0) / n,
	       ((double)(heap1 - heap0) - (double)json_bytes) / n);
	fflush(stdout);
	if ((rv_sync = strdup(inf.watch.rv ? inf.watch.rv : "")) == NULL) {
		die("out of memory", NULL, NULL);
	}
	relists = inf.relists;

	/* Let the watch open before the writes start. */
	t_deadline = wall_s() + 2;
	while (wall_s() < t_deadline) {
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
	}
	n_changed = 0;
	c0 = cpu_s();
	w0 = wall_s();
	pid = spawn_child("update", ns, n);
	t_deadline = w0 + 600;
	while (n_changed < (unsigned long)n && wall_s() < t_deadline) {
		uv_run(&loop, UV_RUN_ONCE);
	}
	cpu = cpu_s() - c0;
	wait_child(pid, "update");
	if (n_changed != (unsigned long)n) {
		fprintf(stderr,
			"bench_kube: %lu of %d MODIFIED events "
			"arrived: %s\n",
			n_changed, n, inf.watch.errmsg);
		exit(1);
	}
	printf("  watch: %d MODIFIED events into the cache in %.2f s from "
	       "the first write: %.0f events/s end to end\n",
	       n, t_last - w0, (double)n / (t_last - w0));
	printf("         (first to last event %.2f s: %.0f events/s); this "
	       "process used %.3f s CPU: %.0f events per CPU second\n",
	       t_last - t_first, (double)(n - 1) / (t_last - t_first), cpu,
	       (double)n / cpu);

	/* Replay: the same 10,000 events again, from the RV of the LIST,
	 * out of kube-apiserver's watch cache as fast as it sends them. */
	baton_kube_watch_stop(&inf.watch);
	n_changed = 0;
	count_all = true;
	c0 = cpu_s();
	w0 = wall_s();
	if (baton_kube_watch_start(&inf.watch, rv_sync) != 0) {
		die("watch start", inf.watch.errmsg, NULL);
	}
	t_deadline = w0 + 60;
	while (n_changed < (unsigned long)n && wall_s() < t_deadline) {
		uv_run(&loop, UV_RUN_ONCE);
	}
	cpu = cpu_s() - c0;
	if (n_changed < (unsigned long)n || inf.relists != relists) {
		fprintf(stderr,
			"bench_kube: replay from RV %s: %lu of %d "
			"events, %u relists: %s\n",
			rv_sync, n_changed, n, inf.relists - relists,
			inf.watch.errmsg);
		exit(1);
	}
	printf("  watch replay from the LIST's RV (server's watch cache): %d "
	       "events in %.2f s: %.0f events/s end to end, %.3f s CPU: %.0f "
	       "events per CPU second\n",
	       n, t_last - w0, (double)n / (t_last - w0), cpu, (double)n / cpu);
	free(rv_sync);

	/* What managedFields cost (client-go users often strip them with a
	 * transform): drop them from every cached object. */
	malloc_trim(0);
	heap1 = mallinfo2().uordblks;
	json_object_foreach(inf.cache, key, obj)
	{
		json_object_del(json_object_get(obj, "metadata"),
				"managedFields");
	}
	heap2 = mallinfo2().uordblks;
	printf("  managedFields hold %.0f malloc'd bytes per cached object "
	       "(dropped after the run to measure it)\n",
	       ((double)heap1 - (double)heap2) / n);

	{
		struct baton_kube_ref r = {NULL, "v1", "namespaces",
					   NULL, ns,   NULL};
		struct baton_kube_request req;
		int st = 1;
		req.data = &st;
		if (baton_kube_delete(&client, &req, &r, NULL, done_cb) == 0) {
			while (st == 1) {
				uv_run(&loop, UV_RUN_ONCE);
			}
		}
	}
	close_informer(&inf);
	close_client(&client);
	uv_loop_close(&loop);
	return 0;
}

static long arg_long(const char *s, long def)
{
	char *end;
	long v;
	if (s == NULL) {
		return def;
	}
	v = strtol(s, &end, 10);
	if (*end != '\0' || v <= 0) {
		die("bad number", s, NULL);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(cmd, "pure") == 0) {
		return cmd_pure(arg_long(argc > 2 ? argv[2] : NULL, 100000));
	}
	if (strcmp(cmd, "server") == 0) {
		return cmd_server(
		    (int)arg_long(argc > 2 ? argv[2] : NULL, 10000));
	}
	if ((strcmp(cmd, "create") == 0 || strcmp(cmd, "update") == 0) &&
	    argc == 4) {
		return cmd_write(cmd[0] == 'u', argv[2],
				 (int)arg_long(argv[3], 0));
	}
	fprintf(stderr, "usage: bench_kube pure [EVENTS] | server [N]\n");
	return 2;
}
