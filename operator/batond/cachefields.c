/* What batond caches (batond/cachefields.h). Pure.
 *
 * Where each kept field is read (a field listed here and read nowhere
 * costs memory; one read and not listed is a bug the unit test catches):
 *
 * DatabaseCluster
 *   apiVersion, kind          kube/events.c (involvedObject), batond/events.c
 *   metadata.name, namespace  informer key, dbspec.c, controller.c, events
 *   metadata.uid              dbspec.c (owner references), kube/events.c
 *   metadata.generation       dbspec.c, reconcile.c (observedGeneration)
 *   metadata.resourceVersion  informer relist diff, reconcile.c (finalizer
 *                             patch precondition)
 *   metadata.deletionTimestamp dbspec.c, reconcile.c
 *   metadata.finalizers       dbspec.c, reconcile.c
 *   metadata.annotations[baton.dev/switchover]  controller.c
 *   spec                      dbspec.c (all of it)
 *   status                    reconcile.c compares the whole status with
 *                             the one it computes before writing;
 *                             status.c, switchover, lastFailover, history;
 *                             controller.c (phase), peerwatch.c (regions).
 *                             The region's own DatabaseClusters keep it as
 *                             LZ4-compressed text
 *                             (baton_cachefields_dbc_local), and only
 *                             status.phase and status.switchover as a tree
 *                             (controller.c); reconcile.c reads the whole
 *                             through baton_cachefields_dbc_status()
 * Pod
 *   metadata.name, namespace  informer key, agents.c, controller.c
 *   metadata.resourceVersion  informer relist diff
 *   metadata.labels[baton.dev/cluster, role, epoch]  controller.c (the
 *                             label fence, observe), labels.c, agents.c
 *                             (cluster): no other label
 *   metadata.annotations[baton.dev/forensic-fence]  hold.c
 *   metadata.deletionTimestamp agents.c
 *   spec.containers[].ports[].name, containerPort  agents.c (pod_port)
 *   status.podIP              agents.c
 *   status.conditions[].type, status  agents.c (baton_agents_pod_ready)
 *
 * Nothing for batond/applyhash.c: it hashes the children built from the
 * dbspec (the same from a pruned DatabaseCluster, which the unit test
 * checks stamp by stamp), and its baton.dev/applied-hash annotation is on
 * those children, which batond never caches.
 */
#include "batond/cachefields.h"

#include <lz4.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/labels.h"
#include "kube/intern.h"
#include "kube/prune.h"

/* One pool for every informer batond runs (they all run on its one loop
 * thread): equal subtrees of cached objects are one value
 * (kube/intern.h). Created on first use, never freed (it lives as long
 * as the caches do; the sweep returns what no object holds). */
static struct baton_kube_intern pool;
static int pool_ready;

static struct baton_kube_intern *shared(void)
{
	if (!pool_ready && baton_kube_intern_init(&pool) == 0) {
		pool_ready = 1;
	}
	return &pool; /* a pool that failed to start shares nothing */
}

/* Replaces OBJ[KEY] with the pool's equal value, its insides first;
 * the value itself too unless ONLY_INSIDE (a labels object unique to its
 * pod whose values are not). */
static void share(json_t *obj, const char *key, int only_inside)
{
	json_t *v = json_object_get(obj, key), *s;

	if (v == NULL) {
		return;
	}
	s = baton_kube_intern_deep(shared(), v, !only_inside);
	if (s != v) {
		json_object_set(obj, key, s);
	}
}

static const struct baton_kube_keep dbc_annotations[] = {
    {BATON_ANNOTATION_SWITCHOVER, NULL},
    {NULL, NULL},
};

static const struct baton_kube_keep dbc_metadata[] = {
    {"name", NULL},
    {"namespace", NULL},
    {"uid", NULL},
    {"generation", NULL},
    {"resourceVersion", NULL},
    {"deletionTimestamp", NULL},
    {"finalizers", NULL},
    {"annotations", dbc_annotations},
    {NULL, NULL},
};

static const struct baton_kube_keep dbc_keep[] = {
    {"apiVersion", NULL},
    {"kind", NULL},
    {"metadata", dbc_metadata},
    {"spec", NULL},
    {"status", NULL},
    {BATON_CACHEFIELDS_STATUS_TEXT, NULL},
    {NULL, NULL},
};

static const struct baton_kube_keep pod_annotations[] = {
    {BATON_ANNOTATION_HOLD, NULL},
    {NULL, NULL},
};

/* not the StatefulSet's (pod-name, controller-revision-hash, pod-index),
 * two of them unique per pod */
static const struct baton_kube_keep pod_labels[] = {
    {BATON_LABEL_CLUSTER, NULL},
    {BATON_LABEL_ROLE, NULL},
    {BATON_LABEL_EPOCH, NULL},
    {NULL, NULL},
};

static const struct baton_kube_keep pod_metadata[] = {
    {"name", NULL},
    {"namespace", NULL},
    {"resourceVersion", NULL},
    {"labels", pod_labels},
    {"annotations", pod_annotations},
    {"deletionTimestamp", NULL},
    {NULL, NULL},
};

static const struct baton_kube_keep pod_ports[] = {
    {"name", NULL},
    {"containerPort", NULL},
    {NULL, NULL},
};

static const struct baton_kube_keep pod_containers[] = {
    {"ports", pod_ports},
    {NULL, NULL},
};

static const struct baton_kube_keep pod_spec[] = {
    {"containers", pod_containers},
    {NULL, NULL},
};

static const struct baton_kube_keep pod_conditions[] = {
    {"type", NULL},
    {"status", NULL},
    {NULL, NULL},
};

static const struct baton_kube_keep pod_status[] = {
    {"podIP", NULL},
    {"conditions", pod_conditions},
    {NULL, NULL},
};

static const struct baton_kube_keep pod_keep[] = {
    {"metadata", pod_metadata},
    {"spec", pod_spec},
    {"status", pod_status},
    {NULL, NULL},
};

/* What a fleet's objects have in common is shared: a DatabaseCluster's
 * defaulted spec settings and its conditions' messages, a pod's ports and
 * conditions. Names, uids and resourceVersions are not (one object each:
 * a pool entry would cost more than the string). */
void baton_cachefields_dbc(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");

	baton_kube_prune(obj, dbc_keep);
	share(obj, "apiVersion", 0);
	share(obj, "kind", 0);
	share(md, "namespace", 0);
	share(md, "finalizers", 0);
	share(md, "annotations", 0);
	share(obj, "spec", 0);
	share(obj, "status", 0);
}

/* The kept text is LZ4-compressed (liblz4, which raft links already):
 * a status's JSON repeats its conditions' keys and the region's name, and
 * halves (the fixture: 1,946 -> 859 bytes; ~1 KiB a database). Stored as
 * a jansson string of bytes, not text: a 4-byte little-endian length of
 * the JSON, then the LZ4 block. Only baton_cachefields_dbc_status() reads
 * it; nothing dumps a cached object whole. A status longer than
 * STATUS_TEXT_MAX stays a tree (left as it was), as any failure here. */
#define STATUS_TEXT_MAX (1u << 20)

/* A new jansson string holding TEXT (N bytes) compressed, or NULL. */
static json_t *status_pack(const char *text, size_t n)
{
	int cap, c;
	char *buf;
	json_t *out = NULL;

	if (n == 0 || n > STATUS_TEXT_MAX) {
		return NULL;
	}
	cap = LZ4_compressBound((int)n);
	if (cap <= 0 || (buf = malloc(4 + (size_t)cap)) == NULL) {
		return NULL;
	}
	buf[0] = (char)(n & 0xff);
	buf[1] = (char)(n >> 8 & 0xff);
	buf[2] = (char)(n >> 16 & 0xff);
	buf[3] = (char)(n >> 24 & 0xff);
	c = LZ4_compress_default(text, buf + 4, (int)n, cap);
	if (c > 0) {
		out = json_stringn_nocheck(buf, 4 + (size_t)c);
	}
	free(buf);
	return out;
}

/* The JSON text VAL holds (status_pack()), parsed; NULL when it cannot be
 * unpacked or parsed, or out of memory. */
static json_t *status_unpack(json_t *val)
{
	const unsigned char *p = (const unsigned char *)json_string_value(val);
	size_t len = json_string_length(val);
	uint32_t n;
	char *text;
	json_t *out = NULL;

	if (p == NULL || len <= 4 ||
	    len - 4 > (size_t)LZ4_compressBound((int)STATUS_TEXT_MAX)) {
		return NULL;
	}
	n = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
	if (n == 0 || n > STATUS_TEXT_MAX || (text = malloc(n)) == NULL) {
		return NULL;
	}
	if (LZ4_decompress_safe((const char *)p + 4, text, (int)(len - 4),
				(int)n) == (int)n) {
		out = json_loadb(text, n, 0, NULL);
	}
	free(text);
	return out;
}

/* The status's text, and a status of phase and switchover only (the
 * tree's parts controller.c reads). Left as it was when anything fails:
 * the object then keeps its whole status, which every reader handles. */
static void status_as_text(json_t *obj)
{
	json_t *st = json_object_get(obj, "status"), *brief, *v, *packed;
	char *text;

	if (!json_is_object(st) ||
	    json_object_get(obj, BATON_CACHEFIELDS_STATUS_TEXT) != NULL) {
		return; /* no status, or transformed already */
	}
	if ((text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		return;
	}
	packed = status_pack(text, strlen(text));
	free(text);
	if (packed == NULL) {
		return;
	}
	brief = json_object();
	if (brief != NULL &&
	    ((v = json_object_get(st, "phase")) == NULL ||
	     json_object_set(brief, "phase", v) == 0) &&
	    ((v = json_object_get(st, "switchover")) == NULL ||
	     json_object_set(brief, "switchover", v) == 0) &&
	    json_object_set(obj, BATON_CACHEFIELDS_STATUS_TEXT, packed) == 0) {
		json_object_set(obj, "status", brief);
	}
	json_decref(brief);
	json_decref(packed);
}

void baton_cachefields_dbc_local(json_t *obj)
{
	status_as_text(obj);
	baton_cachefields_dbc(obj);
}

int baton_cachefields_dbc_status(json_t *obj, json_t **out)
{
	json_t *packed = json_object_get(obj, BATON_CACHEFIELDS_STATUS_TEXT);

	if (!json_is_string(packed)) {
		*out = json_incref(json_object_get(obj, "status"));
		return 0;
	}
	*out = status_unpack(packed);
	return *out != NULL ? 0 : BATON_ENOMEM;
}

void baton_cachefields_pod(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");

	baton_kube_prune(obj, pod_keep);
	share(md, "namespace", 0);
	share(md, "annotations", 0);
	share(md, "labels", 1);
	share(obj, "spec", 0);
	share(json_object_get(obj, "status"), "conditions", 0);
}

size_t baton_cachefields_shared(void)
{
	return pool_ready ? pool.hits : 0;
}

void baton_cachefields_use(struct baton_kube_informer_opts *dbcs,
			   struct baton_kube_informer_opts *pods)
{
	dbcs->transform = baton_cachefields_dbc_local;
	pods->transform = baton_cachefields_pod;
	/* A LIST page's whole objects are parsed before they are pruned,
	 * and what survives pruning is scattered across the heap they used:
	 * glibc cannot give that back. At client-go's 500 a restart at 1,000
	 * left batond 15 MiB above its converged RSS; a page of 100 pods
	 * bounds that to a fifth, for 10 requests instead of 2. */
	dbcs->page_size = 100;
	pods->page_size = 100;
}
