/* batond's metrics about its Kubernetes clients, fed by kube/'s per-loop
 * observers (baton_kube_observe_requests, baton_kube_observe_watch_restarts)
 * so that kube/ knows nothing of http/metrics:
 *
 *   baton_kube_requests_total{api_region,verb,code}
 *   baton_kube_request_duration_seconds{api_region,verb}   (histogram)
 *   baton_watch_restarts_total{api_region}
 *
 * api_region is the region whose API server a client talks to: this region's
 * (the daemon's own client) or a peer's (the controller's read-only peer
 * watches, recognised by the kubeconfig they loaded). Other clients on the
 * loop use kube/client as a plain HTTP client (batond → agents, the peer
 * batond API) and are not API servers: their requests are not counted.
 * Every label is bounded: at most 1 + BATON_MAX_PEERS clusters, the fixed
 * verb set of kube/client.h, code an HTTP status or "error" (no answer).
 */
#ifndef BATON_BATOND_KUBEMETRICS_H
#define BATON_BATOND_KUBEMETRICS_H

#include <uv.h>

#include "batond/config.h"
#include "http/metrics.h"
#include "kube/client.h"

struct baton_kubemetrics {
	const struct baton_batond_config *cfg;
	const struct baton_kube_client *own; /* this region's client */
	uv_loop_t *loop;
	struct baton_metric *requests;
	struct baton_metric *seconds;
	struct baton_metric *watch_restarts;
};

/* Registers the families in M and observes every kube client initialised
 * on LOOP from now on. OWN is the client of CFG->region (it may be
 * initialised later). BATON_ENOMEM or BATON_ETOOLARGE (too many observed
 * loops) on failure. */
int baton_kubemetrics_start(struct baton_kubemetrics *km,
			    struct baton_metrics *m, uv_loop_t *loop,
			    const struct baton_batond_config *cfg,
			    const struct baton_kube_client *own);

/* Stops observing the loop (before it closes). */
void baton_kubemetrics_stop(struct baton_kubemetrics *km);

/* The cluster label of client C, or NULL if C does not talk to an API
 * server of the fleet. */
const char *baton_kubemetrics_cluster(const struct baton_kubemetrics *km,
				      const struct baton_kube_client *c);

#endif /* BATON_BATOND_KUBEMETRICS_H */
