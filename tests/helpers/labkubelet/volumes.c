/* labkubelet/volumes.c: volumes.
 * persistentVolumeClaim → the bound PersistentVolume's hostPath (or local)
 * path; emptyDir → STATE/pods/<uid>/volumes/<name>; hostPath → its path;
 * secret → STATE/pods/<uid>/volumes/<name> filled from the Secret
 * (secretvol.c). Anything else (the ServiceAccount token's projected
 * volume, configMap volumes) is not mounted in the lab. Once every volume
 * is resolved, the env's Secrets and ConfigMaps (envrefs.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "kube/rest.h"

#include "labkubelet.h"

void vol_set(struct pod *p, const char *name, const char *path)
{
	if (mkdir_p(path, 0755) != 0) {
		pod_log(p, BATON_LOG_WARN, "cannot create volume directory",
			json_pack("{s:s, s:s}", "path", path, "error",
				  strerror(errno)));
	}
	json_object_set_new(p->vol_paths, name, json_string(path));
	p->vol_i++;
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

/* Resolves volume vol_i onwards; then creates the pod host. */
void vol_next(struct pod *p)
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
