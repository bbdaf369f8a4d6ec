/* batond's configuration: one YAML file (the Helm chart renders it into a
 * ConfigMap), optionally overridden by flags.
 *
 *   region: eu-west                 # this region; the Raft peer name
 *   namespace: baton-system         # where batond runs (Lease, Events)
 *   kubeconfig: ""                  # own cluster; empty: in-cluster
 *   watchNamespaces: []             # empty: all
 *   peers:
 *     - {name: us-east, raftAddress: "h:7100", apiAddress: "h:7101",
 *        kubeconfig: /etc/baton/peers/us-east.kubeconfig}
 *   raft: {bind: "0.0.0.0:7100", dataDir: /var/lib/baton/raft,
 *          electionTimeoutMillis: 1000, heartbeatMillis: 100}
 *   peerApi: {bind: "0.0.0.0:7101"}
 *   peerTokens: {serviceAccount: baton-peer,  # mint for it (TokenRequest)
 *                expirationSeconds: 3600,     # 600..86400
 *                dir: /run/baton/peer-tokens} # rotate the peers' tokens
 *   tls: {ca: ..., cert: ..., key: ...}
 *   http: {bind: "0.0.0.0:8080"}    # /healthz /readyz /metrics
 *   agentApi: {bind: "0.0.0.0:7102",  # the agents ask for leases here
 *              url: ""}               # how they reach it; empty:
 *                                     # http://<bind or $POD_IP>:<port>
 *   lease: {driftPercent: 5, marginMillis: 200}
 *   kubeClient: {qps: 200, burst: 400}  # this region's API server:
 *                                       # client-side token bucket
 *   mesh: {istioClusterIDs: {eu-west: cluster-eu},  # region → Istio ID
 *          clusterDomain: cluster.local}          # Service DNS names
 *   log: {level: info}
 *   designation: false              # propose DESIGNATE (--designation;
 *                                   # docs/design-per-instance.md §5)
 *
 * Unknown keys are errors (a typo must not silently fall back to a
 * default); every error names the file and the field.
 */
#ifndef BATON_BATOND_CONFIG_H
#define BATON_BATOND_CONFIG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/log.h"

#define BATON_MAX_PEERS 6

/* batond's client-side limit on its own API server (kubeClient.qps/burst,
 * --kube-qps/--kube-burst). At the library's 50/s batond converging 200
 * DatabaseClusters wrote 48 requests/s: the limit, not the server, set the
 * pace (issue 20). 200/s sustained and 400 at once sits below what one
 * kube-apiserver's default APF shares give a workload-high flow, so the
 * server's fairness (429 + Retry-After, honoured) rather than this bucket
 * pushes back; docs/batond.md has the numbers. */
#define BATON_BATOND_DEFAULT_KUBE_QPS 200.0
#define BATON_BATOND_DEFAULT_KUBE_BURST 400
#define BATON_BATOND_MAX_KUBE_QPS 10000.0
#define BATON_BATOND_MAX_KUBE_BURST 20000

struct baton_batond_peer {
	char *name;
	char *raft_address;
	char *api_address;
	char *kubeconfig; /* NULL: peer not watched (lab without peer access) */
};

struct baton_batond_config {
	char *source; /* file name, for messages */
	char *region;
	char *ns;
	char *kubeconfig; /* NULL: in-cluster */
	char **watch_namespaces;
	size_t n_watch_namespaces;
	struct baton_batond_peer peers[BATON_MAX_PEERS];
	size_t n_peers;
	char *raft_bind;
	char *raft_dir;
	unsigned election_timeout_ms;
	unsigned heartbeat_ms;
	char *peer_api_bind;
	/* batond/peertoken.h: this region's peer ServiceAccount, whose
	 * short-lived tokens the peer API hands to the other regions (NULL:
	 * none served), their lifetime, and where the peers' rotated tokens
	 * are kept (NULL: the peer kubeconfigs are used as they are) */
	char *peer_token_account;
	unsigned peer_token_seconds;
	char *peer_token_dir;
	char *tls_ca;
	char *tls_cert;
	char *tls_key;
	char *http_bind;
	char *agent_api_bind;
	char *agent_api_url; /* NULL: derived from agent_api_bind */
	/* The region's agent CA (PEM files), NULL: the agent API has no TLS
	 * (batond/agentpki.h) */
	char *agent_ca_cert;
	char *agent_ca_key;
	unsigned drift_percent;
	unsigned margin_ms;
	double kube_qps;     /* > 0 */
	unsigned kube_burst; /* >= 1 */
	enum baton_log_level log_level;
	json_t *istio_cluster_ids; /* region → Istio cluster ID, or NULL */
	char *cluster_domain;	   /* NULL: cluster.local */
	/* designation, --designation: this batond proposes DESIGNATE
	 * (consensus/designate.h), off by default until every region runs a
	 * batond that knows the command (the RENEW_BATCH rule) */
	bool designation;
	char errmsg[BATON_ERRMSG_SIZE];
};

/* Defaults only (no file): everything but region and peers. */
void baton_batond_config_defaults(struct baton_batond_config *cfg);

/* Loads and validates PATH. On error CFG holds errmsg; free is harmless. */
int baton_batond_config_load(struct baton_batond_config *cfg, const char *path);

/* The same from a parsed document; NAME is used in messages. */
int baton_batond_config_from_json(struct baton_batond_config *cfg, json_t *doc,
				  const char *name);

/* Checks the cross-field rules (after flags overrode fields). */
int baton_batond_config_validate(struct baton_batond_config *cfg);

/* Replaces *FIELD with a copy of VALUE (flags). */
int baton_batond_config_set(char **field, const char *value);

/* --kube-qps / --kube-burst: parses TEXT into cfg->kube_qps (a number
 * above 0, at most BATON_BATOND_MAX_KUBE_QPS) or cfg->kube_burst (an
 * integer from 1 to BATON_BATOND_MAX_KUBE_BURST). BATON_ECONFIG with
 * cfg->errmsg naming the flag and the value otherwise. */
int baton_batond_config_set_kube_qps(struct baton_batond_config *cfg,
				     const char *text);
int baton_batond_config_set_kube_burst(struct baton_batond_config *cfg,
				       const char *text);

void baton_batond_config_free(struct baton_batond_config *cfg);

/* The Istio cluster ID of REGION (its topology.istio.io/cluster value):
 * from mesh.istioClusterIDs, else the region name. */
const char *baton_batond_istio_cluster_id(const struct baton_batond_config *cfg,
					  const char *region);

/* "host:port" → host and port; BATON_EINVAL if malformed. */
int baton_split_host_port(const char *addr, char *host, size_t host_size,
			  int *port);

#endif /* BATON_BATOND_CONFIG_H */
