/* labkubelet/stop.c: stopping and deleting: SIGTERM to each container's
 * process group, SIGKILL after the grace period; once the pod host is gone
 * the pod is deleted from the API with grace 0 (uid precondition), unless
 * we are shutting down. */
#include <signal.h>
#include <stdio.h>

#include "common/error.h"
#include "kube/rest.h"

#include "labkubelet.h"

static void pod_release(struct pod *p)
{
	struct lk *lk = p->lk;
	struct pod **pp;

	uv_timer_stop(&p->timer);
	for (pp = &lk->pods; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->slot >= 0) {
		lk->slot_used[p->slot] = false;
		p->slot = -1;
	}
	p->state = PS_GONE;
	pod_log(p, BATON_LOG_INFO, "pod released", NULL);
	pod_maybe_free(p);
	lk_check_done(lk);
}

static void delete_cb(struct baton_kube_request *req, int status)
{
	struct pod *p = req->data;

	p->dreq_busy = false;
	if (status == 0 || status == BATON_ENOTFOUND ||
	    status == BATON_ECONFLICT || status == BATON_ECANCELED ||
	    p->lk->stopping) {
		pod_release(p);
		return;
	}
	pod_log(p, BATON_LOG_WARN, "cannot delete pod; retrying",
		json_pack("{s:s}", "error", req->errmsg));
	p->timer.data = p;
	uv_timer_start(&p->timer, retry_timer_cb, RETRY_MS, 0);
}

/* The pod host is gone: tell the API server the pod may go (grace 0, only
 * this incarnation), unless the API server already forgot it or we are
 * shutting down (a kubelet that stops leaves its pods in the API). */
void pod_finish(struct pod *p)
{
	struct baton_kube_ref ref = {
	    .version = "v1", .resource = "pods", .ns = p->ns, .name = p->name};
	struct baton_kube_delete_opts dopts = {.precondition_uid = p->uid,
					       .grace_period_seconds = 0,
					       .has_grace = true};

	if (p->api_gone || p->lk->stopping) {
		pod_release(p);
		return;
	}
	p->state = PS_DELETING;
	p->dreq.data = p;
	if (baton_kube_delete(&p->lk->kube, &p->dreq, &ref, &dopts,
			      delete_cb) != 0) {
		pod_release(p);
		return;
	}
	p->dreq_busy = true;
}

void kill_timer_cb(uv_timer_t *t)
{
	struct pod *p = t->data;

	p->kill_sent = true;
	for (int i = 0; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];
		if (c->running && !c->exited && c->pid > 0) {
			pod_log(p, BATON_LOG_WARN, "grace period over: SIGKILL",
				json_pack("{s:s, s:i}", "container", c->name,
					  "pid", c->pid));
			if (kill(-c->pid, SIGKILL) != 0) {
				kill(c->pid, SIGKILL);
			}
		}
	}
}

static int pod_grace_s(const struct pod *p)
{
	json_t *g = json_object_get(json_object_get(p->obj, "metadata"),
				    "deletionGracePeriodSeconds");
	int s = 30;

	if (!json_is_integer(g)) {
		g = json_object_get(json_object_get(p->obj, "spec"),
				    "terminationGracePeriodSeconds");
	}
	if (json_is_integer(g) && json_integer_value(g) >= 0) {
		s = json_integer_value(g) > 3600 ? 3600
						 : (int)json_integer_value(g);
	}
	if (p->lk->stopping && s > p->lk->o.shutdown_grace_s) {
		s = p->lk->o.shutdown_grace_s;
	}
	if (p->lk->killing) {
		s = 0;
	}
	return s;
}

void pod_begin_stop(struct pod *p)
{
	int grace = pod_grace_s(p);

	p->state = PS_STOPPING;
	pod_log(p, BATON_LOG_INFO, "stopping pod",
		json_pack("{s:i, s:b, s:b}", "grace_seconds", grace, "api_gone",
			  p->api_gone, "shutdown", p->lk->stopping));
	if (!pod_all_exited(p)) {
		char msg[96];
		snprintf(msg, sizeof msg,
			 "Stopping containers (grace period %d s)", grace);
		pod_event_rec(p, "Normal", "Killing", msg);
	}
	for (int i = 0; i < p->n_ctrs; i++) {
		struct ctr *c = &p->ctrs[i];
		uv_timer_stop(&c->restart_timer);
		uv_timer_stop(&c->probe_timer);
		c->in_backoff = false;
		if (c->running && !c->exited && c->pid > 0) {
			if (kill(-c->pid, grace > 0 ? SIGTERM : SIGKILL) != 0) {
				kill(c->pid, grace > 0 ? SIGTERM : SIGKILL);
			}
		}
	}
	p->net_grace_ms = LEFTOVER_GRACE_MS;
	p->timer.data = p;
	uv_timer_start(&p->timer, kill_timer_cb, (uint64_t)grace * 1000, 0);
}

bool pod_all_exited(const struct pod *p)
{
	for (int i = 0; i < p->n_ctrs; i++) {
		if (p->ctrs[i].running) {
			return false;
		}
	}
	return true;
}
