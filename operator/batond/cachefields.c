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
 *                             text (baton_cachefields_dbc_local), and only
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

#include <stdlib.h>

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

/* The status's text, and a status of phase and switchover only (the
 * tree's parts controller.c reads). Left as it was when anything fails:
 * the object then keeps its whole status, which every reader handles. */
static void status_as_text(json_t *obj)
{
	json_t *st = json_object_get(obj, "status"), *brief, *v;
	char *text;

	if (!json_is_object(st) ||
	    json_object_get(obj, BATON_CACHEFIELDS_STATUS_TEXT) != NULL) {
		return; /* no status, or transformed already */
	}
	if ((text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		return;
	}
	brief = json_object();
	if (brief != NULL &&
	    ((v = json_object_get(st, "phase")) == NULL ||
	     json_object_set(brief, "phase", v) == 0) &&
	    ((v = json_object_get(st, "switchover")) == NULL ||
	     json_object_set(brief, "switchover", v) == 0) &&
	    json_object_set_new(obj, BATON_CACHEFIELDS_STATUS_TEXT,
				json_string(text)) == 0) {
		json_object_set(obj, "status", brief);
	}
	json_decref(brief);
	free(text);
}

void baton_cachefields_dbc_local(json_t *obj)
{
	status_as_text(obj);
	baton_cachefields_dbc(obj);
}

int baton_cachefields_dbc_status(json_t *obj, json_t **out)
{
	const char *text = json_string_value(
	    json_object_get(obj, BATON_CACHEFIELDS_STATUS_TEXT));

	if (text == NULL) {
		*out = json_incref(json_object_get(obj, "status"));
		return 0;
	}
	*out = json_loads(text, 0, NULL);
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
