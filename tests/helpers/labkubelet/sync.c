/* labkubelet/sync.c: the pod state machine: a new pod (its netns name,
 * containers, probes), its address, and each state's next step; waiting
 * and retrying every 2 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labkubelet.h"

void retry_timer_cb(uv_timer_t *t)
{
	pod_sync(t->data);
}

void pod_retry(struct pod *p, const char *why)
{
	if (strcmp(p->err, why) != 0) {
		pod_log(p, BATON_LOG_WARN, "waiting",
			json_pack("{s:s}", "reason", why));
		pod_event_rec(p, "Warning", "FailedCreatePodSandBox", why);
	}
	snprintf(p->err, sizeof p->err, "%s", why);
	p->timer.data = p;
	uv_timer_start(&p->timer, retry_timer_cb, RETRY_MS, 0);
	pod_status_write(p);
}

struct pod *pod_find(struct lk *lk, const char *uid)
{
	for (struct pod *p = lk->pods; p != NULL; p = p->next) {
		if (strcmp(p->uid, uid) == 0) {
			return p;
		}
	}
	return NULL;
}

static bool netns_taken(const struct pod *p)
{
	for (const struct pod *q = p->lk->pods; q != NULL; q = q->next) {
		if (q != p && q->state != PS_NEW &&
		    strcmp(q->netns, p->netns) == 0) {
			return true;
		}
	}
	return false;
}

void pod_sync(struct pod *p)
{
	struct lk *lk = p->lk;

	switch (p->state) {
	case PS_NEW:
		if (p->vreq_busy || p->net_busy) {
			return;
		}
		if (pod_want_stop(p)) {
			char vols[POD_PATH_MAX + 16];
			/* no pod host to tear down, but volumes may have been
			 * made (a secret's decoded keys): they go with the
			 * pod, as after a pod host's teardown */
			snprintf(vols, sizeof vols, "%s/volumes", p->dir);
			rm_rf(vols);
			uv_timer_stop(&p->timer);
			pod_finish(p);
			return;
		}
		if (uv_is_active((uv_handle_t *)&p->timer)) {
			return; /* a retry is pending */
		}
		if (netns_taken(p)) {
			pod_retry(p, "waiting for the previous pod with this "
				     "name to be torn down");
			return;
		}
		if (p->slot < 0) {
			/* The API server refuses to change status.podIPs once
			 * set (422), so a pod that already has an address (we
			 * were restarted) keeps it when it is ours and free;
			 * otherwise addresses could swap between pods and the
			 * API would show the wrong one for good. */
			const char *had = json_string_value(json_object_get(
			    json_object_get(p->obj, "status"), "podIP"));
			struct in_addr prev;
			int want = -1;
			if (had != NULL &&
			    inet_pton(AF_INET, had, &prev) == 1) {
				uint32_t h = ntohl(prev.s_addr);
				if (h >= lk->o.base &&
				    h < lk->o.base + (uint32_t)lk->o.max_pods &&
				    !lk->slot_used[h - lk->o.base]) {
					want = (int)(h - lk->o.base);
				}
			}
			for (int k = 0; k < lk->o.max_pods; k++) {
				int i = want >= 0 ? want : k;
				if (!lk->slot_used[i]) {
					struct in_addr a = {
					    .s_addr = htonl(lk->o.base +
							    (uint32_t)i)};
					lk->slot_used[i] = true;
					p->slot = i;
					inet_ntop(AF_INET, &a, p->ip,
						  sizeof p->ip);
					snprintf(p->veth, sizeof p->veth,
						 "bpv%04x",
						 (lk->o.base + (uint32_t)i) &
						     0xffff);
					break;
				}
			}
			if (p->slot < 0) {
				pod_retry(p, "no free pod address (raise "
					     "--max-pods)");
				return;
			}
		}
		p->state = PS_VOLUMES;
		p->vol_i = 0;
		p->ref_i = 0;
		json_object_clear(p->vol_paths);
		json_object_clear(p->refs);
		vol_next(p);
		return;
	case PS_VOLUMES:
		if (!p->vreq_busy && pod_want_stop(p)) {
			p->state = PS_NEW;
			pod_sync(p);
		}
		return;
	case PS_NET_UP:
		return; /* net_after_cb moves on */
	case PS_RUNNING:
		if (pod_want_stop(p)) {
			pod_begin_stop(p);
			pod_sync(p);
			return;
		}
		pod_status_write(p);
		return;
	case PS_STOPPING:
		if (lk->killing && !p->kill_sent) {
			kill_timer_cb(&p->timer);
		}
		if (pod_all_exited(p) && !p->net_busy) {
			uv_timer_stop(&p->timer);
			p->state = PS_NET_DOWN;
			p->net_grace_ms = lk->killing ? 0 : LEFTOVER_GRACE_MS;
			net_start(p, false);
		}
		return;
	case PS_DELETING:
		if (!p->dreq_busy && !uv_is_active((uv_handle_t *)&p->timer)) {
			pod_finish(p); /* the retry after a failed DELETE */
		}
		return;
	case PS_NET_DOWN:
	case PS_GONE:
		return;
	}
}

/* A pod that already ran (we restarted, the start-up cleanup killed its
 * processes) keeps counting from its reported restartCount, plus one for
 * the process that was running: restart counts never go back. */
static void ctr_adopt_count(struct ctr *c)
{
	json_t *list = json_object_get(json_object_get(c->pod->obj, "status"),
				       "containerStatuses");
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
	{
		const char *n = jstr(v, "name");
		json_t *rc = json_object_get(v, "restartCount");
		if (n == NULL || strcmp(n, c->name) != 0 || c->passive) {
			continue;
		}
		if (json_is_integer(rc) && json_integer_value(rc) >= 0 &&
		    json_integer_value(rc) < INT32_MAX) {
			c->restarts = (int)json_integer_value(rc);
		}
		if (json_object_get(json_object_get(v, "state"), "running") !=
		    NULL) {
			c->restarts++;
		}
	}
}

struct pod *pod_new(struct lk *lk, json_t *obj)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *ctrs =
	    json_object_get(json_object_get(obj, "spec"), "containers");
	struct pod *p;
	char hash[16];
	unsigned long h = 5381;
	size_t i;
	json_t *v;

	p = calloc(1, sizeof *p);
	if (p == NULL) {
		return NULL;
	}
	p->lk = lk;
	p->slot = -1;
	snprintf(p->ns, sizeof p->ns, "%s", jstr(meta, "namespace"));
	snprintf(p->name, sizeof p->name, "%s", jstr(meta, "name"));
	snprintf(p->uid, sizeof p->uid, "%s", jstr(meta, "uid"));
	snprintf(p->dir, sizeof p->dir, "%s/pods/%s", lk->o.state_dir, p->uid);
	/* bp-<name>; a long name keeps its head and gets a hash of
	 * namespace/name so it stays unique and fits a file name */
	if (strlen(p->name) <= 40) {
		snprintf(p->netns, sizeof p->netns, "bp-%s", p->name);
	} else {
		for (const char *s = p->ns; *s; s++) {
			h = h * 33 + (unsigned char)*s;
		}
		for (const char *s = p->name; *s; s++) {
			h = h * 33 + (unsigned char)*s;
		}
		snprintf(hash, sizeof hash, "%08lx", h & 0xffffffffUL);
		snprintf(p->netns, sizeof p->netns, "bp-%.30s-%s", p->name,
			 hash);
	}
	p->vol_paths = json_object();
	p->refs = json_object();
	json_array_foreach(ctrs, i, v)
	{
		struct ctr *c;
		if (p->n_ctrs == MAX_CTRS) {
			pod_log(p, BATON_LOG_WARN,
				"too many containers; the lab runs the first 4",
				NULL);
			break;
		}
		c = &p->ctrs[p->n_ctrs++];
		c->pod = p;
		snprintf(c->name, sizeof c->name, "%s", jstr(v, "name"));
		snprintf(c->image, sizeof c->image, "%s",
			 jstr(v, "image") != NULL ? jstr(v, "image") : "lab");
		c->passive = is_passive(lk, c->name);
		c->backoff_ms = BACKOFF_MIN_MS;
		snprintf(c->wait_reason, sizeof c->wait_reason,
			 "ContainerCreating");
		uv_timer_init(lk->loop, &c->restart_timer);
		uv_timer_init(lk->loop, &c->probe_timer);
		c->restart_timer.data = c;
		c->probe_timer.data = c;
		p->open_handles += 2;
	}
	uv_timer_init(lk->loop, &p->timer);
	p->timer.data = p;
	uv_timer_init(lk->loop, &p->stimer);
	p->stimer.data = p;
	p->open_handles += 2;
	if (mkdir_p(p->dir, 0755) != 0) {
		snprintf(p->err, sizeof p->err, "state directory %.160s: %s",
			 p->dir, strerror(errno));
	}
	p->obj = json_incref(obj);
	for (int k = 0; k < p->n_ctrs; k++) {
		ctr_probe_config(&p->ctrs[k], json_array_get(ctrs, (size_t)k));
		ctr_adopt_count(&p->ctrs[k]);
	}
	p->next = lk->pods;
	lk->pods = p;
	lk->n_live++;
	pod_log(p, BATON_LOG_INFO, "pod assigned to this node",
		json_pack("{s:s, s:s}", "uid", p->uid, "netns", p->netns));
	return p;
}
