/* See kubemetrics.h. The observers run on batond's loop, from inside the
 * kube clients (a completed transfer, a stream's headers, a watch
 * reopening): they only update the registry. */
#include "batond/kubemetrics.h"

#include <stdio.h>
#include <string.h>

const char *baton_kubemetrics_cluster(const struct baton_kubemetrics *km,
				      const struct baton_kube_client *c)
{
	if (c == km->own) {
		return km->cfg->region;
	}
	for (size_t i = 0; i < km->cfg->n_peers; i++) {
		const char *kc = km->cfg->peers[i].kubeconfig;
		if (kc != NULL && c->cfg.source != NULL &&
		    strcmp(kc, c->cfg.source) == 0) {
			return km->cfg->peers[i].name;
		}
	}
	return NULL;
}

static void request_cb(struct baton_kube_client *c,
		       const struct baton_kube_request_report *r, void *arg)
{
	struct baton_kubemetrics *km = arg;
	const char *cluster = baton_kubemetrics_cluster(km, c);
	const char *verb = baton_kube_verb_name(r->verb);
	char code[16];

	if (cluster == NULL) {
		return;
	}
	if (r->code >= 100 && r->code <= 999) {
		snprintf(code, sizeof code, "%ld", r->code);
	} else {
		snprintf(code, sizeof code, "error");
	}
	/* A full family (BATON_ETOOLARGE) drops the sample: metrics must
	 * never fail a request. */
	(void)baton_metric_inc(km->requests,
			       (const char *const[]){cluster, verb, code}, 1);
	(void)baton_metric_observe(
	    km->seconds, (const char *const[]){cluster, verb}, r->seconds);
}

/* Every kube client on the loop reports, its own and the controller's peer
 * clients alike; one that is not an API server is "unknown", as before
 * request metrics existed. */
static void watch_restarted_cb(struct baton_kube_client *c, void *arg)
{
	struct baton_kubemetrics *km = arg;
	const char *cluster = baton_kubemetrics_cluster(km, c);

	(void)baton_metric_inc(
	    km->watch_restarts,
	    (const char *const[]){cluster ? cluster : "unknown"}, 1);
}

int baton_kubemetrics_start(struct baton_kubemetrics *km,
			    struct baton_metrics *m, uv_loop_t *loop,
			    const struct baton_batond_config *cfg,
			    const struct baton_kube_client *own)
{
	/* api_region, not cluster: a multi-cluster Prometheus (Thanos, Mimir,
	 * federation) tells its clusters apart by an external label named
	 * cluster, which a series' own label of that name overrides */
	static const char *const cluster[] = {"api_region", NULL};
	static const char *const cluster_verb[] = {"api_region", "verb", NULL};
	static const char *const cluster_verb_code[] = {"api_region", "verb",
							"code", NULL};
	/* client-go's rest_client_request_duration_seconds range, from a
	 * millisecond (a cached GET) to the 60 s a slow LIST may take */
	static const double secs[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
				      0.05,  0.1,    0.25,  0.5,  1,
				      2.5,   5,	     10,    30,	  60};
	int rv;

	memset(km, 0, sizeof *km);
	km->cfg = cfg;
	km->own = own;
	km->requests = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_kube_requests_total",
	    "Answers from Kubernetes API servers, by their region, verb and "
	    "HTTP "
	    "status (\"error\": no answer); each retry counts",
	    cluster_verb_code, NULL, 0);
	km->seconds = baton_metrics_add(
	    m, BATON_METRIC_HISTOGRAM, "baton_kube_request_duration_seconds",
	    "Time from sending a request to a Kubernetes API server to its "
	    "answer (a watch: to its headers), after the client-side limiter",
	    cluster_verb, secs, sizeof secs / sizeof secs[0]);
	km->watch_restarts = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_watch_restarts_total",
	    "Watches restarted (timeouts, errors, 410 relists)", cluster, NULL,
	    0);
	if (km->requests == NULL || km->seconds == NULL ||
	    km->watch_restarts == NULL) {
		return BATON_ENOMEM;
	}
	rv = baton_kube_observe_watch_restarts(loop, watch_restarted_cb, km);
	if (rv == 0) {
		rv = baton_kube_observe_requests(loop, request_cb, km);
	}
	if (rv != 0) {
		baton_kube_observe_watch_restarts(loop, NULL, NULL);
		return rv;
	}
	km->loop = loop;
	return 0;
}

void baton_kubemetrics_stop(struct baton_kubemetrics *km)
{
	if (km->loop != NULL) {
		baton_kube_observe_requests(km->loop, NULL, NULL);
		baton_kube_observe_watch_restarts(km->loop, NULL, NULL);
		km->loop = NULL;
	}
}
