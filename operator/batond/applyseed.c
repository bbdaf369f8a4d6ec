#include "batond/applyseed.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/labels.h"
#include "common/log.h"
#include "consensus/decider.h"

/* Items a page: a StatefulSet with its managed fields is a few KiB of
 * JSON, several times that as a tree; a hundred keeps the page small
 * beside batond's caches. */
#define SEED_PAGE 100

/* What batond applies and may list (charts/baton/templates/rbac.yaml):
 * children.h's kinds but Secrets, and the mesh backends' routing objects
 * (mesh-adapters/). */
static const struct baton_kube_ref kinds[] = {
    {.group = "apps", .version = "v1", .resource = "statefulsets"},
    {.group = "", .version = "v1", .resource = "services"},
    {.group = "", .version = "v1", .resource = "configmaps"},
    {.group = "policy", .version = "v1", .resource = "poddisruptionbudgets"},
    {.group = "networking.k8s.io",
     .version = "v1",
     .resource = "networkpolicies"},
    {.group = "networking.istio.io",
     .version = "v1",
     .resource = "destinationrules"},
    {.group = "networking.istio.io",
     .version = "v1",
     .resource = "virtualservices"},
    {.group = "multicluster.x-k8s.io",
     .version = "v1beta1",
     .resource = "serviceexports"},
    {.group = "multicluster.x-k8s.io",
     .version = "v1alpha1",
     .resource = "serviceexports"},
    {.group = "net.gke.io", .version = "v1", .resource = "serviceexports"},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static int next_page(struct baton_applyseed *s);

static void finish(struct baton_applyseed *s, int error)
{
	s->running = false;
	s->error = error;
	free(s->cont);
	s->cont = NULL;
	/* the pages were parsed whole (managed fields and all): give the
	 * freed heap back, as the informers do after a LIST */
	malloc_trim(0);
	s->cb(s);
}

/* One child: its stamp, under its database. */
static void take(struct baton_applyseed *s, json_t *item, uint64_t now_ms)
{
	json_t *md = json_object_get(item, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *db = json_string_value(json_object_get(
	    json_object_get(md, "labels"), BATON_LABEL_CLUSTER));
	const char *hex = json_string_value(json_object_get(
	    json_object_get(md, "annotations"), BATON_ANNOTATION_APPLIED_HASH));
	char key[BATON_NAME_SIZE], *end;
	unsigned long long h;
	int n;

	s->listed++;
	if (ns == NULL || db == NULL || hex == NULL || strlen(hex) != 16) {
		return; /* not applied by a batond that stamps */
	}
	h = strtoull(hex, &end, 16);
	n = snprintf(key, sizeof key, "%s/%s", ns, db);
	if (*end != '\0' || n < 0 || (size_t)n >= sizeof key) {
		return;
	}
	if (baton_applyhash_seed(s->applied, key, (uint64_t)h, now_ms) == 0) {
		s->seeded++;
	}
}

/* The next kind (or namespace of this kind), from its first page. */
static void next_list(struct baton_applyseed *s)
{
	free(s->cont);
	s->cont = NULL;
	if (s->namespaces != NULL && s->namespaces[s->ns] != NULL &&
	    s->namespaces[s->ns + 1] != NULL) {
		s->ns++;
	} else {
		s->ns = 0;
		s->kind++;
	}
}

static void page_cb(struct baton_kube_request *req, int status)
{
	struct baton_applyseed *s = req->data;
	json_t *items, *item;
	const char *cont;
	uint64_t now_ms = baton_mono_ms();
	size_t i;
	int rv;

	if (status == BATON_ECANCELED) {
		finish(s, status);
		return;
	}
	if (status == BATON_EFORBIDDEN || status == BATON_ENOTFOUND) {
		/* not ours to list, or not served here: applied as before */
		const struct baton_kube_ref *k = &kinds[s->kind];
		s->kinds_absent++;
		baton_log(BATON_LOG_INFO, "applyseed",
			  "%s%s%s not seeded (%s): its objects are applied "
			  "again at their first reconcile",
			  k->resource, k->group[0] ? "." : "", k->group,
			  status == BATON_EFORBIDDEN ? "not allowed to list"
						     : "not served");
		/* the same answer in every namespace (one API, the chart's
		 * one set of rules): the next kind */
		free(s->cont);
		s->cont = NULL;
		s->ns = 0;
		s->kind++;
	} else if (status != 0) {
		baton_errmsg_printf(s->errmsg, "%s", req->errmsg);
		finish(s, status);
		return;
	} else {
		s->pages++;
		items = json_object_get(req->result, "items");
		json_array_foreach(items, i, item)
		{
			take(s, item, now_ms);
		}
		cont = json_string_value(json_object_get(
		    json_object_get(req->result, "metadata"), "continue"));
		if (cont != NULL && cont[0] != '\0') {
			free(s->cont);
			s->cont = strdup(cont);
			if (s->cont == NULL) {
				finish(s, BATON_ENOMEM);
				return;
			}
		} else {
			next_list(s);
		}
	}
	if (s->kind == N_KINDS) {
		finish(s, 0);
		return;
	}
	rv = next_page(s);
	if (rv != 0) {
		baton_errmsg_printf(s->errmsg, "%s", s->req.errmsg);
		finish(s, rv);
	}
}

static int next_page(struct baton_applyseed *s)
{
	struct baton_kube_ref ref = kinds[s->kind];
	struct baton_kube_list_opts lo = {
	    .label_selector = BATON_LABEL_CLUSTER,
	    .continue_token = s->cont,
	    .limit = SEED_PAGE,
	};

	ref.ns = s->namespaces != NULL ? s->namespaces[s->ns] : NULL;
	s->req.data = s;
	return baton_kube_list(s->kube, &s->req, &ref, &lo, page_cb);
}

int baton_applyseed_start(struct baton_applyseed *s,
			  struct baton_kube_client *kube,
			  struct baton_applyhash *applied,
			  const char *const *namespaces, baton_applyseed_cb cb)
{
	void *data = s->data;
	int rv;

	memset(s, 0, sizeof *s);
	s->data = data;
	s->kube = kube;
	s->applied = applied;
	/* an empty list of namespaces is every namespace (scope.h) */
	s->namespaces =
	    namespaces != NULL && namespaces[0] != NULL ? namespaces : NULL;
	s->cb = cb;
	rv = next_page(s);
	if (rv != 0) {
		baton_errmsg_printf(s->errmsg, "%s", s->req.errmsg);
		return rv;
	}
	s->running = true;
	return 0;
}

void baton_applyseed_cancel(struct baton_applyseed *s)
{
	if (s->running) {
		baton_kube_request_cancel(&s->req);
	}
}
