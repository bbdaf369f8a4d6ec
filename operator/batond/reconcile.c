#include "batond/reconcile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond/agentpki.h"
#include "batond/cachefields.h"
#include "batond/children.h"
#include "batond/firststatus.h"
#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "mesh-adapters/mesh.h"

enum step {
	STEP_FINALIZER = 1,
	STEP_APPLY,
	STEP_PRUNE,
	STEP_STATUS,
	STEP_DRAIN,
	STEP_REMOVE_FINALIZER,
	STEP_DONE,
};

static void run(struct baton_reconcile *r);

int baton_reconcile_resource(const char *api_version, const char *kind,
			     char *group, size_t group_size, char *version,
			     size_t version_size, const char **resource)
{
	static const struct {
		const char *kind;
		const char *resource;
	} kinds[] = {
	    {"StatefulSet", "statefulsets"},
	    {"Service", "services"},
	    {"ConfigMap", "configmaps"},
	    {"Secret", "secrets"},
	    {"NetworkPolicy", "networkpolicies"},
	    {"PodDisruptionBudget", "poddisruptionbudgets"},
	    {"DestinationRule", "destinationrules"},
	    {"VirtualService", "virtualservices"},
	    {"ServiceExport", "serviceexports"},
	};
	const char *slash;

	if (api_version == NULL || kind == NULL) {
		return BATON_EINVAL;
	}
	*resource = NULL;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (strcmp(kinds[i].kind, kind) == 0) {
			*resource = kinds[i].resource;
		}
	}
	if (*resource == NULL) {
		return BATON_EINVAL;
	}
	slash = strchr(api_version, '/');
	if (slash == NULL) {
		snprintf(group, group_size, "%s", "");
		snprintf(version, version_size, "%s", api_version);
	} else {
		snprintf(group, group_size, "%.*s", (int)(slash - api_version),
			 api_version);
		snprintf(version, version_size, "%s", slash + 1);
	}
	return 0;
}

static const struct baton_kube_ref dbc_ref = {.group = "baton.dev",
					      .version = "v1alpha1",
					      .resource = "databaseclusters"};

/* A delete of the prune step: its request is handed to the kube client
 * and may complete only after the job moved on, so all of them are freed
 * together when the job ends. */
struct baton_reconcile_prune {
	struct baton_kube_request req;
	struct baton_reconcile_prune *next;
};

static void free_prune_reqs(struct baton_reconcile *r)
{
	while (r->prune_reqs != NULL) {
		struct baton_reconcile_prune *d = r->prune_reqs;
		r->prune_reqs = d->next;
		free(d);
	}
}

static void finish(struct baton_reconcile *r, int status)
{
	baton_reconcile_cb cb = r->cb;
	free_prune_reqs(r);
	json_decref(r->obj);
	json_decref(r->objects);
	r->obj = NULL;
	r->objects = NULL;
	r->step = STEP_DONE;
	cb(r, status);
}

static void fail(struct baton_reconcile *r, int status, const char *what,
		 const char *detail)
{
	baton_errmsg_printf(r->errmsg, "%s/%s: %s: %s", r->spec.ns,
			    r->spec.name, what, detail);
	finish(r, status);
}

static const char *md_str(json_t *obj, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(obj, "metadata"), key));
}

/* ---- mesh and children ------------------------------------------------- */

/* The region's desired objects; PRIMARY NULL means "drain". */
static int desired_objects(struct baton_reconcile *r, const char *primary,
			   uint64_t epoch, bool drain_only)
{
	const struct baton_reconcile_env *env = r->env;
	struct baton_mesh_region regions[BATON_DB_MAX_REGIONS];
	struct baton_mesh_spec ms;
	const struct baton_mesh_backend *backend;
	size_t n = 0;
	int rv;

	r->objects = json_array();
	if (!drain_only) {
		struct baton_children_tls tls = {0};
		char *b64[3] = {NULL, NULL, NULL};
		rv = 0;
		if (env->agent_pki != NULL) {
			const char *cert, *key;
			const char *ca = baton_agentpki_ca_pem(env->agent_pki);
			rv = baton_agentpki_agent(env->agent_pki, r->spec.ns,
						  r->spec.name, &cert, &key,
						  r->errmsg);
			if (rv == 0) {
				b64[0] = baton_agentpki_base64(ca, strlen(ca));
				b64[1] =
				    baton_agentpki_base64(cert, strlen(cert));
				b64[2] =
				    baton_agentpki_base64(key, strlen(key));
				if (!b64[0] || !b64[1] || !b64[2]) {
					rv = BATON_ENOMEM;
				}
			}
			tls.order_peer =
			    baton_agentpki_batond_identity(env->agent_pki);
			tls.batond_namespace =
			    baton_agentpki_batond_namespace(env->agent_pki);
			tls.ca_b64 = b64[0];
			tls.cert_b64 = b64[1];
			tls.key_b64 = b64[2];
		}
		if (rv == 0) {
			rv = baton_children_desired(
			    &r->spec, env->region, env->batond_url,
			    env->agent_pki != NULL ? &tls : NULL, r->objects,
			    r->errmsg);
		}
		for (int i = 0; i < 3; i++) {
			if (b64[i] != NULL) {
				memset(b64[i], 0, strlen(b64[i]));
			}
			free(b64[i]);
		}
		if (rv != 0) {
			return rv;
		}
	}
	for (int i = 0; i < r->spec.n_regions; i++) {
		if (r->spec.regions[i].role == BATON_DB_REGION_DATA) {
			regions[n].name = r->spec.regions[i].name;
			regions[n].istio_cluster_id =
			    env->istio_cluster_id
				? env->istio_cluster_id(env->data,
							r->spec.regions[i].name)
				: NULL;
			n++;
		}
	}
	memset(&ms, 0, sizeof ms);
	ms.db = r->spec.name;
	ms.ns = r->spec.ns;
	ms.db_uid = r->spec.uid;
	ms.service = r->spec.service;
	ms.port = r->spec.port;
	ms.regions = regions;
	ms.n_regions = n;
	ms.local_region = env->region;
	ms.primary_region = primary;
	ms.epoch = epoch;
	ms.cluster_domain = env->cluster_domain;

	backend = baton_mesh_lookup(drain_only ? "none" : r->spec.mesh);
	if (backend == NULL) {
		backend = &baton_mesh_plain;
	}
	if (strcmp(backend->name, "mcs") == 0) {
		static const char *const mcs[] = {
		    "multicluster.x-k8s.io/v1beta1",
		    "multicluster.x-k8s.io/v1alpha1", "net.gke.io/v1"};
		const char *served[3];
		size_t k = 0;
		for (size_t i = 0; i < 3; i++) {
			if (env->api_served(env->data, mcs[i])) {
				served[k++] = mcs[i];
			}
		}
		ms.mcs_api_version = baton_mesh_mcs_pick_version(served, k);
		if (ms.mcs_api_version == NULL) {
			baton_errmsg_printf(
			    r->mesh_error,
			    "traffic.mesh is mcs but this cluster serves no "
			    "ServiceExport API (multicluster.x-k8s.io or "
			    "net.gke.io): install the MCS CRDs; routing falls "
			    "back to plain Services");
			backend = &baton_mesh_plain;
		}
	} else {
		for (size_t i = 0; backend->required_apis[i] != NULL; i++) {
			if (!env->api_served(env->data,
					     backend->required_apis[i])) {
				baton_errmsg_printf(
				    r->mesh_error,
				    "traffic.mesh is %s but this cluster does "
				    "not serve %s: install its CRDs; routing "
				    "falls back to plain Services",
				    backend->name, backend->required_apis[i]);
				backend = &baton_mesh_plain;
				break;
			}
		}
	}
	/* a drain always routes (to nowhere); otherwise only a database the
	 * FSM holds is routed (reconcile.h, step 4) */
	rv = drain_only || r->routing
		 ? backend->desired(&ms, r->objects, r->errmsg)
		 : 0;
	if (rv != 0) {
		return rv;
	}
	r->routed_mesh = backend->name;
	r->routed_epoch = primary != NULL ? epoch : 0;
	snprintf(r->routed_primary, sizeof r->routed_primary, "%s",
		 primary != NULL ? primary : "");
	if (drain_only) {
		/* only the primary Service matters: it loses its endpoints */
		while (json_array_size(r->objects) > 1) {
			json_array_remove(r->objects,
					  json_array_size(r->objects) - 1);
		}
	}
	return 0;
}

/* "ns/name" into BUF (dbspec_parse refuses longer ones). */
static const char *db_name(const struct baton_reconcile *r, char *buf,
			   size_t size)
{
	snprintf(buf, size, "%s/%s", r->spec.ns, r->spec.name);
	return buf;
}

static void applied_all(struct baton_reconcile *r)
{
	if (r->env->applied != NULL) {
		char db[160];
		/* what is live as desired now: the skipped objects and those
		 * applied with success; a failed one is applied next time */
		(void)baton_applyhash_done(
		    r->env->applied, db_name(r, db, sizeof db), r->stamps,
		    r->live, (unsigned)json_array_size(r->objects),
		    r->applied_since);
	}
	if (r->first_error != 0) {
		char detail[BATON_ERRMSG_SIZE];
		snprintf(detail, sizeof detail, "%s", r->errmsg);
		fail(r, r->first_error, "server-side apply", detail);
		return;
	}
	r->step = r->step == STEP_DRAIN ? STEP_REMOVE_FINALIZER : STEP_PRUNE;
	run(r);
}

/* ---- prune: routing objects no longer desired --------------------------- */

/* The mesh kinds whose objects may stop being desired (a ServiceExport
 * moves with the primary; switching mesh leaves the old backend's objects
 * behind). Services, children and the rest are always desired while the
 * DatabaseCluster exists, and go with it through owner references. */
static const struct {
	const char *group_version;
	const char *kind;
	const char *resource;
} prunable[] = {
    {"networking.istio.io/v1", "DestinationRule", "destinationrules"},
    {"networking.istio.io/v1", "VirtualService", "virtualservices"},
    {"multicluster.x-k8s.io/v1beta1", "ServiceExport", "serviceexports"},
    {"multicluster.x-k8s.io/v1alpha1", "ServiceExport", "serviceexports"},
    {"net.gke.io/v1", "ServiceExport", "serviceexports"},
};
#define N_PRUNABLE (sizeof prunable / sizeof prunable[0])

/* The REST address of prunable kind K in NS; GROUP holds the group name. */
static struct baton_kube_ref prunable_ref(size_t k, char *group,
					  size_t group_size, const char *ns,
					  const char *name)
{
	const char *gv = prunable[k].group_version;
	const char *slash = strchr(gv, '/');
	struct baton_kube_ref ref = {0};
	snprintf(group, group_size, "%.*s", (int)(slash - gv), gv);
	ref.group = group;
	ref.version = slash + 1;
	ref.resource = prunable[k].resource;
	ref.ns = ns;
	ref.name = name;
	return ref;
}

/* Whether the desired objects hold GROUP's KIND named NAME. The group
 * matters: a ServiceExport of net.gke.io left from before must go when the
 * multicluster.x-k8s.io one is wanted (versions of one group are one
 * object, so the version does not). */
static bool desired_has(struct baton_reconcile *r, const char *group,
			const char *kind, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(r->objects, i, o)
	{
		const char *k = json_string_value(json_object_get(o, "kind"));
		const char *av =
		    json_string_value(json_object_get(o, "apiVersion"));
		const char *n = md_str(o, "name");
		const char *slash = av ? strchr(av, '/') : NULL;
		size_t glen = slash ? (size_t)(slash - av) : 0;
		if (k && n && strcmp(k, kind) == 0 && strcmp(n, name) == 0 &&
		    glen == strlen(group) && strncmp(av, group, glen) == 0) {
			return true;
		}
	}
	return false;
}

static void pruned_one(struct baton_reconcile *r)
{
	if (--r->pending == 0) {
		if (!r->prune_failed && r->routed_epoch > 0 &&
		    r->env->routed != NULL) {
			r->env->routed(r->env->data, &r->spec,
				       r->routed_primary, r->routed_epoch,
				       r->routed_mesh);
		}
		r->step = STEP_STATUS;
		run(r);
	}
}

static void prune_delete_cb(struct baton_kube_request *req, int status)
{
	struct baton_reconcile *r = req->data;
	if (status != 0 && status != BATON_ENOTFOUND) {
		baton_log(BATON_LOG_WARN, "reconcile",
			  "%s/%s: pruning a routing object: %s", r->spec.ns,
			  r->spec.name, req->errmsg);
		r->prune_failed = true;
	}
	pruned_one(r);
}

static void prune_list_cb(struct baton_kube_request *req, int status)
{
	struct baton_reconcile *r = req->data;
	size_t k = (size_t)(req - r->reqs);
	size_t i;
	json_t *item;

	if (status != 0) {
		baton_log(BATON_LOG_WARN, "reconcile",
			  "%s/%s: listing routing objects to prune: %s",
			  r->spec.ns, r->spec.name, req->errmsg);
		r->prune_failed = true;
	}
	if (status == 0 && k < N_PRUNABLE) {
		json_array_foreach(json_object_get(req->result, "items"), i,
				   item)
		{
			const char *name = md_str(item, "name");
			char group[64];
			struct baton_reconcile_prune *del;
			struct baton_kube_ref ref;

			if (name == NULL) {
				continue;
			}
			ref = prunable_ref(k, group, sizeof group, r->spec.ns,
					   name);
			if (desired_has(r, group, prunable[k].kind, name)) {
				continue;
			}
			del = calloc(1, sizeof *del);
			if (del == NULL) {
				continue;
			}
			del->req.data = r;
			baton_log(BATON_LOG_INFO, "reconcile",
				  "%s/%s: removing %s %s (no longer desired)",
				  r->spec.ns, r->spec.name, prunable[k].kind,
				  name);
			if (baton_kube_delete(r->env->kube, &del->req, &ref,
					      NULL, prune_delete_cb) == 0) {
				r->pending++;
				/* freed when the job ends (finish) */
				del->req.data = r;
				del->next = r->prune_reqs;
				r->prune_reqs = del;
			} else {
				free(del);
			}
		}
	}
	pruned_one(r);
}

static void prune(struct baton_reconcile *r)
{
	char selector[128];
	snprintf(selector, sizeof selector, BATON_LABEL_CLUSTER "=%s",
		 r->spec.name);
	r->pending = 1;
	for (size_t k = 0; r->routing && k < N_PRUNABLE; k++) {
		char group[64];
		struct baton_kube_ref ref;
		struct baton_kube_list_opts lo = {0};

		if (!r->env->api_served(r->env->data,
					prunable[k].group_version)) {
			continue;
		}
		ref = prunable_ref(k, group, sizeof group, r->spec.ns, NULL);
		lo.label_selector = selector;
		r->reqs[k].data = r;
		if (baton_kube_list(r->env->kube, &r->reqs[k], &ref, &lo,
				    prune_list_cb) == 0) {
			r->pending++;
		}
	}
	pruned_one(r);
}

static void apply_cb(struct baton_kube_request *req, int status)
{
	struct baton_reconcile *r = req->data;
	if (status != 0 && r->first_error == 0) {
		r->first_error = status;
		baton_errmsg_printf(r->errmsg, "%s", req->errmsg);
	}
	if (status == 0) {
		r->objects_applied++;
		r->live[req - r->reqs] = true;
	}
	if (--r->pending == 0) {
		applied_all(r);
	}
}

/* Whether this region should run pods of the database and the pod cache
 * holds none: when it held some before, its StatefulSet may have been
 * deleted (baton_applyhash_pods_gone), so every child is applied, whatever
 * was applied before. */
static bool region_lacks_pods(struct baton_reconcile *r)
{
	const struct baton_reconcile_env *env = r->env;
	struct baton_region_obs obs[BATON_DB_MAX_REGIONS];
	int n = env->observe(env->data, &r->spec, obs, BATON_DB_MAX_REGIONS);

	for (int i = 0; i < n; i++) {
		if (strcmp(obs[i].name, env->region) == 0) {
			return obs[i].replicas > 0 && obs[i].role == NULL;
		}
	}
	return false;
}

/* Stamps every object and decides which to apply (batond/applyhash.h):
 * SKIP[i] for the unchanged ones. The drain is always applied in full: it
 * is rare, and it is what takes the traffic away. */
static int plan_applies(struct baton_reconcile *r, bool *skip)
{
	unsigned n = (unsigned)json_array_size(r->objects);
	char db[160];
	size_t i;
	json_t *o;
	bool force;
	int rv;

	json_array_foreach(r->objects, i, o)
	{
		rv = baton_applyhash_stamp(o, &r->stamps[i]);
		if (rv != 0) {
			return rv;
		}
		r->live[i] = false;
		skip[i] = false;
	}
	if (r->env->applied == NULL) {
		return 0;
	}
	db_name(r, db, sizeof db);
	force = r->step == STEP_DRAIN;
	if (!force) {
		force = baton_applyhash_pods_gone(r->env->applied, db,
						  region_lacks_pods(r));
	}
	baton_applyhash_plan(r->env->applied, db, r->stamps, n, force,
			     baton_mono_ms(), skip, &r->applied_since);
	for (i = 0; i < n; i++) {
		r->live[i] = skip[i];
	}
	return 0;
}

/* Starts every apply at once; PENDING holds one extra count until all are
 * started, so a callback cannot finish the step early. */
static void apply_objects(struct baton_reconcile *r)
{
	bool skip[BATON_RECONCILE_MAX_OBJECTS];
	size_t i;
	json_t *o;
	int rv;

	if (json_array_size(r->objects) > BATON_RECONCILE_MAX_OBJECTS) {
		fail(r, BATON_EINTERNAL, "apply", "too many objects");
		return;
	}
	rv = plan_applies(r, skip);
	if (rv != 0) {
		fail(r, rv, "apply", "cannot stamp the objects");
		return;
	}
	r->pending = 1;
	r->first_error = 0;
	json_array_foreach(r->objects, i, o)
	{
		char group[64], version[32];
		const char *resource;
		struct baton_kube_ref ref = {0};
		if (skip[i]) {
			r->objects_skipped++;
			continue;
		}
		rv = baton_reconcile_resource(
		    json_string_value(json_object_get(o, "apiVersion")),
		    json_string_value(json_object_get(o, "kind")), group,
		    sizeof group, version, sizeof version, &resource);
		if (rv == 0) {
			ref.group = group;
			ref.version = version;
			ref.resource = resource;
			ref.ns = r->spec.ns;
			ref.name = md_str(o, "name");
			r->reqs[i].data = r;
			rv = baton_kube_apply(r->env->kube, &r->reqs[i], &ref,
					      o, BATON_FIELD_MANAGER, true,
					      apply_cb);
		}
		if (rv == 0) {
			r->pending++;
		} else if (r->first_error == 0) {
			r->first_error = rv;
			baton_errmsg_printf(r->errmsg, "cannot start apply: %s",
					    baton_strerror(rv));
		}
	}
	if (--r->pending == 0) {
		applied_all(r);
	}
}

/* ---- finalizer ----------------------------------------------------------- */

/* The status write ended without writing: the cache is not behind it. */
static void status_unsent(struct baton_reconcile *r)
{
	if (r->env->echoes != NULL) {
		char db[160];
		baton_statusecho_unsent(r->env->echoes,
					db_name(r, db, sizeof db));
	}
}

static void patch_cb(struct baton_kube_request *req, int status)
{
	struct baton_reconcile *r = req->data;
	if (status != 0) {
		char detail[BATON_ERRMSG_SIZE];
		if (r->step == STEP_STATUS) {
			status_unsent(r);
		}
		snprintf(detail, sizeof detail, "%s", req->errmsg);
		fail(r, status,
		     r->step == STEP_FINALIZER ? "adding the finalizer"
		     : r->step == STEP_STATUS  ? "writing status"
					       : "removing the finalizer",
		     detail);
		return;
	}
	switch (r->step) {
	case STEP_FINALIZER:
		r->step = STEP_APPLY;
		run(r);
		break;
	case STEP_STATUS:
		r->status_written = true;
		finish(r, r->waiting_for[0] != '\0' ? BATON_EBUSY : 0);
		break;
	default:
		r->finalizer_removed = true;
		if (r->env->applied != NULL) {
			char db[160];
			baton_applyhash_forget(r->env->applied,
					       db_name(r, db, sizeof db));
		}
		if (r->env->echoes != NULL) {
			char db[160];
			baton_statusecho_forget(r->env->echoes,
						db_name(r, db, sizeof db));
		}
		finish(r, 0);
		break;
	}
}

static int patch_finalizers(struct baton_reconcile *r, bool add)
{
	json_t *fins =
	    json_object_get(json_object_get(r->obj, "metadata"), "finalizers");
	const char *rv = md_str(r->obj, "resourceVersion");
	struct baton_kube_ref ref = dbc_ref;
	json_t *patch;
	int index = -1;
	size_t i;
	json_t *f;
	int err;

	json_array_foreach(fins, i, f)
	{
		if (strcmp(json_string_value(f) ? json_string_value(f) : "",
			   BATON_FINALIZER) == 0) {
			index = (int)i;
		}
	}
	/* The test op makes the patch fail if anyone changed the object since
	 * we read it, instead of clobbering their finalizers. */
	patch = json_pack("[{s:s, s:s, s:s}]", "op", "test", "path",
			  "/metadata/resourceVersion", "value", rv ? rv : "");
	if (add) {
		if (fins == NULL) {
			json_array_append_new(
			    patch, json_pack("{s:s, s:s, s:[s]}", "op", "add",
					     "path", "/metadata/finalizers",
					     "value", BATON_FINALIZER));
		} else {
			json_array_append_new(
			    patch, json_pack("{s:s, s:s, s:s}", "op", "add",
					     "path", "/metadata/finalizers/-",
					     "value", BATON_FINALIZER));
		}
	} else {
		char path[64];
		snprintf(path, sizeof path, "/metadata/finalizers/%d", index);
		json_array_append_new(
		    patch, json_pack("{s:s, s:s, s:s}", "op", "test", "path",
				     path, "value", BATON_FINALIZER));
		json_array_append_new(patch, json_pack("{s:s, s:s}", "op",
						       "remove", "path", path));
	}
	ref.ns = r->spec.ns;
	ref.name = r->spec.name;
	r->reqs[0].data = r;
	err = baton_kube_patch(r->env->kube, &r->reqs[0], &ref,
			       BATON_KUBE_PATCH_JSON, patch, NULL, patch_cb);
	json_decref(patch);
	return err;
}

/* ---- status ----------------------------------------------------------------
 */

/* NEW as a JSON merge patch over OLD: a merge patch keeps every key it
 * does not name, so a key OLD has and NEW lacks is named with null (in
 * nested objects too; arrays are replaced whole). Returns a new reference
 * or NULL. */
static json_t *merge_patch_from(json_t *old, json_t *new_obj)
{
	json_t *out = json_deep_copy(new_obj);
	const char *key;
	json_t *ov;

	if (out == NULL || !json_is_object(old) || !json_is_object(new_obj)) {
		return out;
	}
	json_object_foreach(old, key, ov)
	{
		json_t *nv = json_object_get(new_obj, key);
		if (nv == NULL) {
			json_object_set_new(out, key, json_null());
		} else if (json_is_object(ov) && json_is_object(nv)) {
			json_t *sub = merge_patch_from(ov, nv);
			if (sub != NULL) {
				json_object_set_new(out, key, sub);
			}
		}
	}
	return out;
}

/* The FailoverBlocked condition turned true: an Event says why (a failover
 * that waits must never wait silently). */
static json_t *find_condition(json_t *status, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t != NULL && strcmp(t, type) == 0) {
			return c;
		}
	}
	return NULL;
}

static void failover_blocked_event(struct baton_reconcile *r, json_t *old,
				   json_t *st)
{
	json_t *now = find_condition(st, "FailoverBlocked");
	json_t *before = find_condition(old, "FailoverBlocked");
	const char *s_now = json_string_value(json_object_get(now, "status"));
	const char *s_before =
	    json_string_value(json_object_get(before, "status"));

	if (s_now != NULL && strcmp(s_now, "True") == 0 &&
	    (s_before == NULL || strcmp(s_before, "True") != 0)) {
		r->env->event(
		    r->env->data, r->obj, "Warning", "FailoverBlocked",
		    json_string_value(json_object_get(now, "message")));
	}
}

static void designation_event(void *data, const char *type, const char *reason,
			      const char *message)
{
	struct baton_reconcile *r = data;
	r->env->event(r->env->data, r->obj, type, reason, message);
}

/* Seconds since the object was created by this process's clock, or -1
 * when its creationTimestamp is missing or does not parse. */
static double creation_age(struct baton_reconcile *r)
{
	const char *created = md_str(r->obj, "creationTimestamp");
	time_t t;

	if (created == NULL || baton_clock_parse_rfc3339(created, &t) != 0) {
		return -1;
	}
	return r->env->seconds_since(r->env->data, created);
}

/* OLD: the status the object has (batond/cachefields.h keeps it as text) */
static void write_status_from(struct baton_reconcile *r, json_t *old)
{
	const struct baton_reconcile_env *env = r->env;
	struct baton_region_obs obs[BATON_DB_MAX_REGIONS];
	struct baton_fsm_view fsm = {0};
	struct baton_status_input in = {0};
	char now[40];
	json_t *st;
	json_t *patch;
	struct baton_kube_ref ref = dbc_ref;
	bool valid = r->spec_error[0] == '\0';
	int rv;

	if (valid) {
		env->fsm_view(env->data, &r->spec, &fsm);
	}
	if (valid && !r->spec.deleting &&
	    baton_firststatus_hold(old, &fsm, creation_age(r))) {
		finish(r, 0); /* the commit's reconcile writes it */
		return;
	}
	if (valid && !r->spec.deleting && env->echoes != NULL) {
		char db[160];
		if (baton_statusecho_behind(env->echoes,
					    db_name(r, db, sizeof db), old,
					    baton_mono_ms())) {
			/* the cache has not seen this process's last write
			 * yet: look again when it has (statusecho.h) */
			snprintf(r->errmsg, sizeof r->errmsg,
				 "the cache is behind its own status write");
			finish(r, BATON_EBUSY);
			return;
		}
	}
	in.spec = valid ? &r->spec : NULL;
	in.generation = r->spec.generation;
	in.spec_error = valid ? NULL : r->spec_error;
	in.fsm = &fsm;
	in.n_regions =
	    valid ? env->observe(env->data, &r->spec, obs, BATON_DB_MAX_REGIONS)
		  : 0;
	in.regions = obs;
	in.mesh_error = r->mesh_error[0] ? r->mesh_error : NULL;
	in.deleting = r->spec.deleting;
	in.deleting_waiting_for = r->waiting_for[0] ? r->waiting_for : NULL;
	in.now = env->now(env->data, now, sizeof now);
	if (valid && !r->spec.deleting && env->switchover != NULL) {
		in.switchover = env->switchover(env->data, &r->spec, r->obj);
	}
	st = baton_status_compute(&in, old);
	json_decref(in.switchover);
	if (st != NULL && valid && env->last_failover != NULL) {
		json_t *lf = env->last_failover(env->data, &r->spec);
		if (lf != NULL) {
			json_object_set_new(st, "lastFailover", lf);
		} else if (json_object_get(old, "lastFailover") != NULL) {
			json_object_set(st, "lastFailover",
					json_object_get(old, "lastFailover"));
		}
	}
	if (st != NULL) {
		baton_status_history(st, old);
	}
	if (st == NULL) {
		fail(r, BATON_ENOMEM, "status", "out of memory");
		return;
	}
	/* what this reconcile wants, written or found: its echo (the write's
	 * watch event) is no new reconcile, an older write's is */
	if (env->echoes != NULL) {
		char db[160];
		baton_statusecho_intend(env->echoes, db_name(r, db, sizeof db),
					st);
	}
	if (old != NULL && json_equal(old, st)) {
		json_decref(st);
		finish(r, r->waiting_for[0] != '\0' ? BATON_EBUSY : 0);
		return;
	}
	{
		const char *old_phase =
		    json_string_value(json_object_get(old, "phase"));
		const char *new_phase =
		    json_string_value(json_object_get(st, "phase"));
		if (old_phase == NULL || strcmp(old_phase, new_phase) != 0) {
			char msg[160];
			snprintf(msg, sizeof msg, "phase %s → %s in region %s",
				 old_phase ? old_phase : "(none)", new_phase,
				 env->region);
			env->event(env->data, r->obj,
				   strcmp(new_phase, "Degraded") == 0 ||
					   strcmp(new_phase, "Pending") == 0
				       ? "Warning"
				       : "Normal",
				   new_phase, msg);
		}
	}
	failover_blocked_event(r, old, st);
	baton_status_designation_events(old, st, designation_event, r);
	patch = json_pack("{s:o}", "status", merge_patch_from(old, st));
	json_decref(st);
	if (patch == NULL) {
		fail(r, BATON_ENOMEM, "status", "out of memory");
		return;
	}
	ref.ns = r->spec.ns;
	ref.name = r->spec.name;
	ref.subresource = "status";
	r->reqs[0].data = r;
	if (env->echoes != NULL) {
		char db[160];
		baton_statusecho_writing(env->echoes, db_name(r, db, sizeof db),
					 baton_mono_ms());
	}
	rv = baton_kube_patch(env->kube, &r->reqs[0], &ref,
			      BATON_KUBE_PATCH_MERGE, patch, NULL, patch_cb);
	json_decref(patch);
	if (rv != 0) {
		status_unsent(r);
		fail(r, rv, "writing status", baton_strerror(rv));
	}
}

static void write_status(struct baton_reconcile *r)
{
	json_t *old;

	if (baton_cachefields_dbc_status(r->obj, &old) != 0) {
		fail(r, BATON_ENOMEM, "status", "out of memory");
		return;
	}
	write_status_from(r, old);
	json_decref(old);
}

/* ---- the state machine ------------------------------------------------------
 */

static void run(struct baton_reconcile *r)
{
	const struct baton_reconcile_env *env = r->env;
	int rv;

	switch (r->step) {
	case STEP_FINALIZER:
		if (r->spec.has_finalizer) {
			r->step = STEP_APPLY;
			run(r);
			return;
		}
		rv = patch_finalizers(r, true);
		if (rv != 0) {
			fail(r, rv, "adding the finalizer", baton_strerror(rv));
		}
		return;
	case STEP_APPLY: {
		struct baton_fsm_view fsm = {0};
		rv = env->fsm_register(env->data, &r->spec);
		if (rv != 0 && rv != BATON_EBUSY) {
			baton_log(BATON_LOG_WARN, "reconcile",
				  "%s/%s: registering with the Raft group: %s",
				  r->spec.ns, r->spec.name, baton_strerror(rv));
		}
		env->fsm_view(env->data, &r->spec, &fsm);
		r->routing = fsm.registered;
		rv = desired_objects(r,
				     fsm.registered ? fsm.primary_region : NULL,
				     fsm.epoch, false);
		if (rv != 0) {
			char detail[BATON_ERRMSG_SIZE];
			snprintf(detail, sizeof detail, "%s", r->errmsg);
			fail(r, rv, "building objects", detail);
			return;
		}
		apply_objects(r);
		return;
	}
	case STEP_PRUNE:
		prune(r);
		return;
	case STEP_STATUS:
		write_status(r);
		return;
	case STEP_DRAIN:
		rv = desired_objects(r, NULL, 0, true);
		if (rv != 0) {
			char detail[BATON_ERRMSG_SIZE];
			snprintf(detail, sizeof detail, "%s", r->errmsg);
			fail(r, rv, "draining", detail);
			return;
		}
		apply_objects(r);
		return;
	case STEP_REMOVE_FINALIZER: {
		const char *ts = md_str(r->obj, "deletionTimestamp");
		double waited = ts ? env->seconds_since(env->data, ts) : 0;
		rv = env->fsm_unregister(env->data, &r->spec);
		if (rv != 0 && waited < r->spec.teardown_timeout_seconds) {
			snprintf(r->waiting_for, sizeof r->waiting_for,
				 "waiting to remove the database from the "
				 "Raft group (%s); giving up after %ds",
				 baton_strerror(rv),
				 r->spec.teardown_timeout_seconds);
			r->step = STEP_STATUS;
			write_status(r);
			return;
		}
		if (rv != 0) {
			char msg[BATON_ERRMSG_SIZE];
			snprintf(
			    msg, sizeof msg,
			    "teardown waited %.0fs for the Raft group (%s) "
			    "and gave up; data %s",
			    waited, baton_strerror(rv),
			    r->spec.retain_data ? "retained" : "deleted");
			env->event(env->data, r->obj, "Warning",
				   "TeardownTimedOut", msg);
		}
		rv = patch_finalizers(r, false);
		if (rv != 0) {
			fail(r, rv, "removing the finalizer",
			     baton_strerror(rv));
		}
		return;
	}
	default:
		fail(r, BATON_EINTERNAL, "reconcile", "bad step");
	}
}

int baton_reconcile_start(struct baton_reconcile *r,
			  const struct baton_reconcile_env *env, json_t *obj,
			  baton_reconcile_cb cb)
{
	void *data = r->data;
	int rv;

	memset(r, 0, sizeof *r);
	r->data = data;
	r->env = env;
	r->cb = cb;
	r->obj = json_incref(obj);
	rv = baton_dbspec_parse(obj, &r->spec, r->spec_error);
	if (rv != 0) {
		/* Report, do not retry: the next edit re-enqueues it. */
		const char *ns = md_str(obj, "namespace");
		const char *name = md_str(obj, "name");
		snprintf(r->spec.ns, sizeof r->spec.ns, "%s",
			 ns ? ns : "default");
		snprintf(r->spec.name, sizeof r->spec.name, "%s",
			 name ? name : "");
		r->spec.generation = json_integer_value(json_object_get(
		    json_object_get(obj, "metadata"), "generation"));
		env->event(env->data, obj, "Warning", "InvalidSpec",
			   r->spec_error);
		r->step = STEP_STATUS;
	} else if (r->spec.deleting) {
		if (!r->spec.has_finalizer) {
			json_decref(r->obj);
			r->obj = NULL;
			return BATON_ENOTFOUND; /* nothing left to do */
		}
		r->step = STEP_DRAIN;
	} else {
		r->step = STEP_FINALIZER;
	}
	run(r);
	return 0;
}
