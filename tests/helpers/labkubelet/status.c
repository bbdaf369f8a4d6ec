/* labkubelet/status.c: pod status: what we would report, written to
 * pods/status (strategic merge patch, metadata.uid as a precondition)
 * whenever it changes; failed writes are retried every 2 s. */
#include <stdio.h>

#include "common/error.h"
#include "kube/rest.h"

#include "labkubelet.h"

static bool pod_any_active_running(const struct pod *p)
{
	bool any_active = false;
	for (int i = 0; i < p->n_ctrs; i++) {
		if (!p->ctrs[i].passive) {
			any_active = true;
			if (p->ctrs[i].running && !p->ctrs[i].exited) {
				return true;
			}
		}
	}
	return !any_active && p->state == PS_RUNNING;
}

static json_t *ctr_status(struct pod *p, struct ctr *c)
{
	bool up = p->state >= PS_RUNNING;
	bool running = c->passive ? up && pod_any_active_running(p)
				  : c->running && !c->exited;
	bool ready = running && (c->passive || c->ready);
	json_t *st =
	    json_pack("{s:s, s:s, s:s, s:b, s:b, s:i}", "name", c->name,
		      "image", c->image, "imageID", "", "ready", ready,
		      "started", running, "restartCount", c->restarts);
	char id[64];

	if (running && !c->passive) {
		snprintf(id, sizeof id, "lab://%d", c->pid);
		json_object_set_new(st, "containerID", json_string(id));
		json_object_set_new(st, "state",
				    json_pack("{s:{s:s}}", "running",
					      "startedAt", c->started_at));
	} else if (running) {
		json_object_set_new(st, "state",
				    json_pack("{s:{s:s}}", "running",
					      "startedAt", p->start_time));
	} else if (p->state == PS_STOPPING && c->has_last) {
		json_object_set_new(
		    st, "state",
		    json_pack("{s:{s:i, s:s, s:s, s:s}}", "terminated",
			      "exitCode", c->last_code, "reason",
			      c->last_reason, "startedAt", c->last_started,
			      "finishedAt", c->last_finished));
	} else {
		const char *msg = c->wait_msg[0] ? c->wait_msg : p->err;
		const char *reason = c->wait_reason[0] != '\0'
					 ? c->wait_reason
					 : "ContainerCreating";
		char pmsg[256];
		json_t *w;
		if (c->passive) {
			/* no process of its own: it shares the fate of the
			 * first active container (kubectl shows its reason) */
			const struct ctr *a = NULL;
			for (int i = 0; i < p->n_ctrs && a == NULL; i++) {
				if (!p->ctrs[i].passive) {
					a = &p->ctrs[i];
				}
			}
			reason = a != NULL && up && a->wait_reason[0] != '\0'
				     ? a->wait_reason
				     : "ContainerCreating";
			if (a != NULL) {
				snprintf(pmsg, sizeof pmsg,
					 "the lab runs it inside container "
					 "%.60s; waiting for that",
					 a->name);
				msg = pmsg;
			}
		}
		w = json_pack("{s:s}", "reason", reason);
		if (msg[0] != '\0') {
			json_object_set_new(w, "message", json_string(msg));
		}
		json_object_set_new(st, "state",
				    json_pack("{s:o}", "waiting", w));
	}
	if (c->has_last) {
		json_object_set_new(
		    st, "lastState",
		    json_pack("{s:{s:i, s:s, s:s, s:s}}", "terminated",
			      "exitCode", c->last_code, "reason",
			      c->last_reason, "startedAt", c->last_started,
			      "finishedAt", c->last_finished));
	}
	return st;
}

static json_t *pod_status_build(struct pod *p)
{
	const char *ip = p->lk->o.node_ip;
	bool up = p->state >= PS_RUNNING;
	bool ready = up && p->state == PS_RUNNING;
	json_t *cs = json_array();
	json_t *status;
	json_t *conds;
	char now[32];

	for (int i = 0; i < p->n_ctrs; i++) {
		json_t *s = ctr_status(p, &p->ctrs[i]);
		ready = ready && json_is_true(json_object_get(s, "ready"));
		json_array_append_new(cs, s);
	}
	time_rfc3339(now, sizeof now);
	if (ready != p->ready || p->ready_changed[0] == '\0') {
		p->ready = ready;
		snprintf(p->ready_changed, sizeof p->ready_changed, "%s", now);
	}
	const char *since = p->start_time[0] ? p->start_time : now;
	conds = json_pack(
	    "[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}, "
	    "{s:s, s:s, s:s}, {s:s, s:s, s:s}]",
	    "type", "PodReadyToStartContainers", "status",
	    up ? "True" : "False", "lastTransitionTime", since, "type",
	    "Initialized", "status", "True", "lastTransitionTime", since,
	    "type", "ContainersReady", "status", ready ? "True" : "False",
	    "lastTransitionTime", p->ready_changed, "type", "Ready", "status",
	    ready ? "True" : "False", "lastTransitionTime", p->ready_changed,
	    "type", "PodScheduled", "status", "True", "lastTransitionTime",
	    since);
	status =
	    json_pack("{s:s, s:s, s:[{s:s}], s:o, s:o}", "phase",
		      up ? "Running" : "Pending", "hostIP", ip, "hostIPs", "ip",
		      ip, "conditions", conds, "containerStatuses", cs);
	if (p->start_time[0] != '\0') {
		json_object_set_new(status, "startTime",
				    json_string(p->start_time));
	}
	if (up && p->ip[0] != '\0') {
		json_object_set_new(status, "podIP", json_string(p->ip));
		json_object_set_new(status, "podIPs",
				    json_pack("[{s:s}]", "ip", p->ip));
	}
	return status;
}

static void status_retry_cb(uv_timer_t *t)
{
	pod_status_write(t->data);
}

static void status_cb(struct baton_kube_request *req, int status)
{
	struct pod *p = req->data;

	p->sreq_busy = false;
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (status != 0 && status != BATON_ENOTFOUND &&
	    status != BATON_ECANCELED) {
		/* resend the whole status later, never in a tight loop */
		pod_log(p, BATON_LOG_WARN, "pod status write failed; retrying",
			json_pack("{s:s}", "error", req->errmsg));
		json_decref(p->last_status);
		p->last_status = NULL;
		p->sdirty = false;
		p->stimer.data = p;
		uv_timer_start(&p->stimer, status_retry_cb, RETRY_MS, 0);
		return;
	}
	if (p->sdirty) {
		pod_status_write(p);
	}
}

/* Writes pods/status if what we would report changed. One write at a time
 * per pod; a change meanwhile is written when it completes. */
void pod_status_write(struct pod *p)
{
	struct baton_kube_ref ref = {.version = "v1",
				     .resource = "pods",
				     .ns = p->ns,
				     .name = p->name,
				     .subresource = "status"};
	json_t *st;
	json_t *patch;

	if (p->api_gone || p->state >= PS_NET_DOWN || p->lk->stopping) {
		return;
	}
	if (p->sreq_busy || uv_is_active((uv_handle_t *)&p->stimer)) {
		p->sdirty = true;
		return;
	}
	p->sdirty = false;
	st = pod_status_build(p);
	if (p->last_status != NULL && json_equal(st, p->last_status)) {
		json_decref(st);
		return;
	}
	json_decref(p->last_status);
	p->last_status = json_incref(st);
	/* metadata.uid: a precondition, so a pod re-created under the same
	 * name never gets this incarnation's status (the kubelet does so) */
	patch = json_pack("{s:{s:s}, s:o}", "metadata", "uid", p->uid, "status",
			  st);
	p->sreq.data = p;
	if (baton_kube_patch(&p->lk->kube, &p->sreq, &ref,
			     BATON_KUBE_PATCH_STRATEGIC, patch, NULL,
			     status_cb) == 0) {
		p->sreq_busy = true;
	} else {
		pod_log(p, BATON_LOG_WARN, "cannot start a pod status write",
			json_pack("{s:s}", "error", p->sreq.errmsg));
		json_decref(p->last_status);
		p->last_status = NULL;
		uv_timer_start(&p->stimer, status_retry_cb, RETRY_MS, 0);
	}
	json_decref(patch);
}
