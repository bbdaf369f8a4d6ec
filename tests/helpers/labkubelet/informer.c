/* labkubelet/informer.c: the pods informer: pods with spec.nodeName ==
 * NODE are adopted, updated or marked gone, and synced outside curl's
 * callbacks. */
#include <string.h>

#include "labkubelet.h"

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

void pods_add_cb(struct baton_kube_informer *inf, json_t *obj)
{
	pod_event(inf->data, obj, false);
}

void pods_update_cb(struct baton_kube_informer *inf, json_t *old_obj,
		    json_t *new_obj)
{
	const char *a = jpath(old_obj, "metadata", "uid");
	const char *b = jpath(new_obj, "metadata", "uid");
	if (a != NULL && b != NULL && strcmp(a, b) != 0) {
		pod_event(inf->data, old_obj, true); /* replaced (relist) */
	}
	pod_event(inf->data, new_obj, false);
}

void pods_delete_cb(struct baton_kube_informer *inf, json_t *obj)
{
	pod_event(inf->data, obj, true);
}
