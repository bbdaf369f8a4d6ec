/* labkubelet/podhost.c: the pod host: its network namespace made or
 * removed on the threadpool (netns.c), then the containers started, or the
 * pod finished. */
#include <stdio.h>

#include "labkubelet.h"

static void net_work_cb(uv_work_t *w)
{
	struct pod *p = w->data;
	struct lk *lk = p->lk;

	if (p->net_up) {
		p->net_rv = netns_setup(
		    p->netns, p->veth, p->ip, lk->o.prefix_len, lk->o.bridge,
		    lk->o.gateway, p->net_err, sizeof p->net_err);
	} else {
		char vols[POD_PATH_MAX + 16];
		netns_teardown(p->netns, p->veth, p->net_grace_ms);
		snprintf(vols, sizeof vols, "%s/volumes", p->dir);
		rm_rf(vols);
		p->net_rv = 0;
	}
}

static void net_after_cb(uv_work_t *w, int status)
{
	struct pod *p = w->data;

	p->net_busy = false;
	(void)status;
	if (p->net_up) {
		if (p->net_rv != 0) {
			pod_log(p, BATON_LOG_ERROR, "cannot create pod host",
				json_pack("{s:s}", "error", p->net_err));
			p->state = PS_NEW;
			if (pod_want_stop(p)) {
				pod_finish(p);
				return;
			}
			pod_retry(p, p->net_err);
			return;
		}
		pod_log(
		    p, BATON_LOG_INFO, "pod host up",
		    json_pack("{s:s, s:s}", "netns", p->netns, "ip", p->ip));
		p->err[0] = '\0';
		p->state = PS_RUNNING;
		time_rfc3339(p->start_time, sizeof p->start_time);
		if (pod_want_stop(p)) {
			pod_sync(p);
			return;
		}
		for (int i = 0; i < p->n_ctrs; i++) {
			if (!p->ctrs[i].passive) {
				ctr_start(&p->ctrs[i]);
			}
		}
		pod_status_write(p);
		return;
	}
	pod_log(p, BATON_LOG_INFO, "pod host removed",
		json_pack("{s:s}", "netns", p->netns));
	state_remove(p);
	pod_finish(p);
}

void net_start(struct pod *p, bool up)
{
	p->net_up = up;
	p->net_work.data = p;
	p->net_err[0] = '\0';
	if (uv_queue_work(p->lk->loop, &p->net_work, net_work_cb,
			  net_after_cb) == 0) {
		p->net_busy = true;
	} else {
		pod_log(p, BATON_LOG_ERROR, "cannot queue network work", NULL);
	}
}
