/* labkubelet/run.c: start and stop: start-up (state directory, leftovers,
 * client, informer, signals, heartbeat), the loop, and the way out: on
 * SIGTERM every pod is stopped, then everything is closed. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

#include "labkubelet.h"

static void inf_closed_cb(struct baton_kube_informer *inf)
{
	struct lk *lk = inf->data;
	lk->inf_open = false;
	baton_kube_client_close(&lk->kube, NULL);
	lk->kube_open = false;
}

/* Once every pod is gone: close the informer, the client and our handles;
 * the loop then ends. */
void lk_check_done(struct lk *lk)
{
	if (!lk->stopping || lk->shut || lk->pods != NULL || lk->n_live > 0) {
		return;
	}
	lk->shut = true;
	baton_log(BATON_LOG_INFO, COMP, "every pod host is down: exiting");
	uv_close((uv_handle_t *)&lk->heartbeat, NULL);
	uv_close((uv_handle_t *)&lk->kick, NULL);
	if (lk->events_open) {
		lk->events_open = false;
		baton_kube_recorder_close(&lk->events, NULL);
	}
	uv_close((uv_handle_t *)&lk->sigterm, NULL);
	uv_close((uv_handle_t *)&lk->sigint, NULL);
	if (lk->inf_open) {
		baton_kube_informer_close(&lk->pods_inf, inf_closed_cb);
	} else if (lk->kube_open) {
		baton_kube_client_close(&lk->kube, NULL);
		lk->kube_open = false;
	}
}

static void lk_stop(struct lk *lk)
{
	struct pod *p, *next;

	if (lk->stopping) {
		/* a second signal: no more grace */
		lk->killing = true;
		baton_log(BATON_LOG_WARN, COMP, "second signal: killing pods");
	}
	lk->stopping = true;
	uv_timer_stop(&lk->heartbeat);
	for (p = lk->pods; p != NULL; p = next) {
		next = p->next;
		/* an unreachable API server must not hold the shutdown up for
		 * a request timeout: the callbacks run now, cancelled */
		uv_timer_stop(&p->stimer);
		if (p->sreq_busy) {
			baton_kube_request_cancel(&p->sreq);
		}
		if (p->vreq_busy) {
			baton_kube_request_cancel(&p->vreq);
		}
		if (p->dreq_busy) {
			baton_kube_request_cancel(&p->dreq);
		}
	}
	for (p = lk->pods; p != NULL; p = next) {
		next = p->next;
		pod_sync(p);
	}
	lk_check_done(lk);
}

static void signal_cb(uv_signal_t *h, int signum)
{
	struct lk *lk = h->data;
	baton_log(BATON_LOG_INFO, COMP, "%s: stopping every pod I started",
		  signum == SIGTERM ? "SIGTERM" : "SIGINT");
	lk_stop(lk);
}

int lk_run(struct lk *lk)
{
	struct baton_kube_config kc;
	struct baton_kube_client_opts copts = {.user_agent =
						   "baton-labkubelet/0.1.0"};
	struct baton_kube_informer_opts iopts = {
	    .version = "v1", .resource = "pods", .max_items = 20000};
	struct baton_kube_informer_handlers ih = {.on_add = pods_add_cb,
						  .on_update = pods_update_cb,
						  .on_delete = pods_delete_cb};
	char dir[POD_PATH_MAX];
	int rv;

	snprintf(dir, sizeof dir, "%s/pods", lk->o.state_dir);
	if (mkdir_p(dir, 0755) != 0) {
		fprintf(stderr, "baton_labkubelet: state directory %s: %s\n",
			dir, strerror(errno));
		return 1;
	}
	state_cleanup_leftovers(lk);
	rv = baton_kube_config_load_file(&kc, lk->o.kubeconfig, NULL);
	if (rv != 0) {
		fprintf(stderr, "baton_labkubelet: %s\n", kc.errmsg);
		baton_kube_config_free(&kc);
		return 2;
	}
	lk->loop = &lk->loop_storage;
	uv_loop_init(lk->loop);
	rv = baton_kube_client_init(lk->loop, &lk->kube, &kc, &copts);
	baton_kube_config_free(&kc);
	if (rv != 0) {
		fprintf(stderr, "baton_labkubelet: kube client: %s\n",
			lk->kube.errmsg);
		uv_loop_close(lk->loop);
		return 1;
	}
	lk->kube_open = true;
	if (baton_kube_recorder_init(&lk->kube, &lk->events, "baton-labkubelet",
				     lk->o.node) == 0) {
		lk->events_open = true;
	}
	lk->pods_inf.data = lk;
	rv = baton_kube_informer_init(&lk->kube, &lk->pods_inf, &iopts, &ih);
	if (rv == 0) {
		lk->pods_inf.data = lk;
		lk->inf_open = true;
		rv = baton_kube_informer_start(&lk->pods_inf);
	}
	if (rv != 0) {
		fprintf(stderr, "baton_labkubelet: pod informer: %s\n",
			lk->pods_inf.errmsg);
		return 1;
	}
	uv_signal_init(lk->loop, &lk->sigterm);
	uv_signal_init(lk->loop, &lk->sigint);
	lk->sigterm.data = lk;
	lk->sigint.data = lk;
	uv_signal_start(&lk->sigterm, signal_cb, SIGTERM);
	uv_signal_start(&lk->sigint, signal_cb, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	uv_timer_init(lk->loop, &lk->heartbeat);
	lk->heartbeat.data = lk;
	uv_timer_init(lk->loop, &lk->kick);
	lk->kick.data = lk;
	time_rfc3339(lk->ready_since, sizeof lk->ready_since);
	heartbeat(lk);
	uv_timer_start(&lk->heartbeat, heartbeat_cb, RETRY_MS, 0);
	baton_log_kv(BATON_LOG_INFO, COMP,
		     json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}", "server",
			       lk->kube.cfg.server, "bin_dir", lk->o.bin_dir,
			       "state_dir", lk->o.state_dir, "pod_cidr_base",
			       lk->o.pod_cidr_base, "max_pods", lk->o.max_pods,
			       "self", lk->self),
		     "lab kubelet starting");
	uv_run(lk->loop, UV_RUN_DEFAULT);
	rv = uv_loop_close(lk->loop);
	if (rv != 0) {
		baton_log(BATON_LOG_ERROR, COMP,
			  "handles left open at exit (a bug): %s",
			  uv_strerror(rv));
		return 1;
	}
	return lk->exit_code;
}
