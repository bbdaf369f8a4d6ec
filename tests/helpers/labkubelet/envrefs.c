/* labkubelet/envrefs.c: env from Secrets and ConfigMaps.
 * Every secretKeyRef / configMapKeyRef of the containers we run is fetched
 * once per pod start attempt, before the pod host exists; a missing object
 * that is not optional holds the pod back (retried every 2 s), as the
 * kubelet's CreateContainerConfigError does. Then the pod host
 * (podhost.c). */
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "kube/rest.h"

#include "labkubelet.h"

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

void refs_next(struct pod *p)
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
