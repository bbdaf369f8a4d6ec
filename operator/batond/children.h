/* The objects batond owns in its own cluster for one DatabaseCluster, as
 * pure functions of the spec (applied with server-side apply, owned by the
 * DatabaseCluster so the garbage collector removes them after teardown):
 *
 *   StatefulSet  <db>-<region>      the engine plus the baton-agent sidecar
 *   Service      <db>-<region>-hl   headless, stable pod DNS for replication
 *   PDB          <db>-<region>      at most one instance down voluntarily
 *   ConfigMap    <db>-<region>      what the agent needs to know
 *   Secret       <db>-<region>-agent-tls  the agents' certificate (when
 *                                   the agent API has mutual TLS)
 *   NetworkPolicy <db>-<region>-agent  order port from batond only (same)
 *
 * plus the primary and replica Services from the mesh backend
 * (mesh-adapters/), which carry the role+epoch label fence.
 *
 * Pods are created with baton.dev/role=replica and baton.dev/epoch=0: an
 * instance that (re)starts is fenced until batond confirms its epoch and
 * relabels it (ARCHITECTURE §5, rule 5). The StatefulSet controller never
 * reverts labels batond sets on a live pod.
 */
#ifndef BATON_BATOND_CHILDREN_H
#define BATON_BATOND_CHILDREN_H

#include <jansson.h>

#include "batond/dbspec.h"

#define BATON_AGENT_PORT 8081

#define BATON_AGENT_PROBE_PORT 8082
#define BATON_AGENT_TLS_DIR "/etc/baton/agent-tls"

/* The agent takes orders on 8081 and answers kubelet's probes and scrapers
 * on a plain port, 8082 (health, readiness, metrics, status; never orders).
 * With mutual TLS on the agent API (batond/agentpki.h) it serves 8081 to
 * verified clients only, obeys only ORDER_PEER, and asks batond for its
 * lease over https with the same certificate. The certificate is one more
 * child, the Secret "<db>-<region>-agent-tls" (base64 PEM). */
struct baton_children_tls {
	const char *order_peer; /* "baton://batond/<region>" */
	/* batond's pods' namespace (NULL: batond is not in a pod): a
	 * NetworkPolicy "<db>-<region>-agent" then admits the order port
	 * only from pods labelled app.kubernetes.io/component=batond there
	 * (the chart's), the database and probe ports from anywhere */
	const char *batond_namespace;
	const char *ca_b64;
	const char *cert_b64;
	const char *key_b64;
};

/* Appends the region's objects to OUT. Nothing for a witness region or a
 * region the spec does not list. TLS NULL: the agent API is plain HTTP. */
int baton_children_desired(const struct baton_dbspec *s, const char *region,
			   const char *batond_url,
			   const struct baton_children_tls *tls, json_t *out,
			   char *errmsg);

/* "<db>-<region>" into BUF. */
const char *baton_children_sts_name(const struct baton_dbspec *s,
				    const char *region, char *buf, size_t size);

/* "<db>-<region>-<ordinal>" into BUF: the pod of instance ORDINAL of
 * REGION's StatefulSet, hence its agent's application_name (--pg-name
 * defaults to the pod name). DB is the DatabaseCluster's name (the FSM's
 * "ns/db" after the slash). BUF, or NULL when the name does not fit SIZE
 * (it is never cut). */
const char *baton_children_pod_name(const char *db, const char *region,
				    int ordinal, char *buf, size_t size);

#endif /* BATON_BATOND_CHILDREN_H */
