/* labkubelet/probe.c: readiness probes: readinessProbe.httpGet on the pod
 * address, curl on the threadpool, every periodSeconds. */
#include <curl/curl.h>
#include <stdio.h>

#include "labkubelet.h"

/* The probe's body is not needed, only its status. */
static size_t discard_cb(char *buf, size_t size, size_t n, void *ud)
{
	(void)buf;
	(void)ud;
	return size * n;
}

static void probe_work_cb(uv_work_t *w)
{
	struct ctr *c = w->data;
	CURL *h = curl_easy_init();
	long code = 0;

	c->probe_ok = false;
	if (h == NULL) {
		return;
	}
	curl_easy_setopt(h, CURLOPT_URL, c->probe_url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->probe_timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "baton-labkubelet/probe");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		c->probe_ok = code >= 200 && code < 400;
	}
	curl_easy_cleanup(h);
}

static void probe_after_cb(uv_work_t *w, int status)
{
	struct ctr *c = w->data;
	struct pod *p = c->pod;
	bool was = c->ready;

	c->probe_busy = false;
	if (p->state == PS_GONE) {
		pod_maybe_free(p);
		return;
	}
	if (status != 0 || !c->running) {
		return;
	}
	if (c->probe_ok) {
		c->probe_failures = 0;
		c->ready = true;
	} else if (++c->probe_failures >= c->failure_threshold) {
		c->ready = false;
	}
	if (c->ready != was) {
		pod_log(p, BATON_LOG_INFO,
			c->ready ? "container ready" : "container not ready",
			json_pack("{s:s, s:s}", "container", c->name, "url",
				  c->probe_url));
		if (!c->ready) {
			char msg[400];
			snprintf(msg, sizeof msg,
				 "Readiness probe failed: GET %.300s",
				 c->probe_url);
			pod_event_rec(p, "Warning", "Unhealthy", msg);
		}
		pod_status_write(p);
	}
	probe_schedule(c, c->probe_period_ms);
}

static void probe_timer_cb(uv_timer_t *t)
{
	struct ctr *c = t->data;
	struct pod *p = c->pod;

	if (!c->running || c->probe_busy || p->state != PS_RUNNING) {
		return;
	}
	snprintf(c->probe_url, sizeof c->probe_url, "http://%s:%d%s", p->ip,
		 c->probe_port, c->probe_path);
	c->probe_work.data = c;
	if (uv_queue_work(p->lk->loop, &c->probe_work, probe_work_cb,
			  probe_after_cb) == 0) {
		c->probe_busy = true;
	} else {
		probe_schedule(c, c->probe_period_ms);
	}
}

void probe_schedule(struct ctr *c, uint64_t ms)
{
	c->probe_timer.data = c;
	uv_timer_start(&c->probe_timer, probe_timer_cb, ms, 0);
}
