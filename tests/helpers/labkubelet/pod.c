/* labkubelet/pod.c: a pod's log lines and Events, whether it should stop,
 * and its memory: freed once it is gone and nothing is in flight. */
#include <stdlib.h>

#include "labkubelet.h"

static const char *pstate_name[] = {"new",	"volumes",  "net-up",
				    "running",	"stopping", "net-down",
				    "deleting", "gone"};

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

void pod_log(const struct pod *p, enum baton_log_level level, const char *msg,
	     json_t *extra)
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
void pod_event_rec(struct pod *p, const char *type, const char *reason,
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

bool pod_want_stop(const struct pod *p)
{
	return p->lk->stopping || p->api_gone ||
	       json_object_get(json_object_get(p->obj, "metadata"),
			       "deletionTimestamp") != NULL;
}

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
void pod_maybe_free(struct pod *p)
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
