/* The region's agent PKI: who may order a database's agent, and which agent
 * batond is talking to (issue 15 #1, docs/agent.md "Who may order an
 * agent").
 *
 * Each region has its own agent CA (the chart generates it once and keeps
 * it; the lab makes one with openssl). batond holds the CA's key and, from
 * it, in memory only:
 *
 *   its own certificate   SAN URI baton://batond/<region>, plus the host of
 *                         its agent API URL (DNS or IP): the client
 *                         certificate of every order and status request, and
 *                         the server certificate of the agent API where the
 *                         agents ask for their lease;
 *   one certificate per   SAN URI baton://agent/<ns>/<db>, DNS
 *   database              <db>.<ns>.agent.baton.invalid: given to that
 *                         database's pods in a Secret; batond reaches an
 *                         agent as https://<that DNS name>:8081 connected to
 *                         the pod IP, so ordinary hostname verification
 *                         proves the pod holds that database's key (a reused
 *                         pod IP cannot answer for another database).
 *
 * The agent obeys only a client whose verified identity is
 * baton://batond/<region> (--order-peer); batond's agent API grants a lease
 * only to a caller whose identity names the database it asks for.
 *
 * Keys are EC P-256, made fresh per batond process (a restart re-issues;
 * every certificate it made is still valid until it expires, so agents keep
 * working with the one they loaded). Not thread-safe: batond's loop only.
 */
#ifndef BATON_BATOND_AGENTPKI_H
#define BATON_BATOND_AGENTPKI_H

#include <stddef.h>

struct baton_agentpki;

/* Validity of what it issues. */
#define BATON_AGENTPKI_DAYS 365

/* Loads the CA (CA_CERT, CA_KEY: PEM files; the key must match) and issues
 * batond's certificate for REGION; BATOND_HOST (a DNS name or an IP, may be
 * NULL) goes into its SANs. BATOND_NAMESPACE (NULL: not in a pod) is where
 * batond's pods run: each database's NetworkPolicy admits the order port
 * only from there. Returns 0 or a BATON_E* with ERRMSG set. */
int baton_agentpki_init(struct baton_agentpki **out, const char *ca_cert,
			const char *ca_key, const char *region,
			const char *batond_host, const char *batond_namespace,
			char *errmsg);
void baton_agentpki_free(struct baton_agentpki *p);

/* PEM text, owned by P. */
const char *baton_agentpki_ca_pem(const struct baton_agentpki *p);
const char *baton_agentpki_batond_cert_pem(const struct baton_agentpki *p);
const char *baton_agentpki_batond_key_pem(const struct baton_agentpki *p);
/* batond's namespace, or NULL. */
const char *baton_agentpki_batond_namespace(const struct baton_agentpki *p);
/* "baton://batond/<region>": what the agents obey. */
const char *baton_agentpki_batond_identity(const struct baton_agentpki *p);

/* The certificate and key of database NS/DB's agents (issued on first use,
 * then the same for this process). Returns 0 or a BATON_E* with ERRMSG. */
int baton_agentpki_agent(struct baton_agentpki *p, const char *ns,
			 const char *db, const char **cert_pem,
			 const char **key_pem, char *errmsg);

/* "<db>.<ns>.agent.baton.invalid" (the DNS SAN of its certificate). */
const char *baton_agentpki_agent_host(const char *ns, const char *db, char *buf,
				      size_t size);
/* "baton://agent/<ns>/<db>" (the URI SAN). */
const char *baton_agentpki_agent_identity(const char *ns, const char *db,
					  char *buf, size_t size);

/* Base64 of LEN bytes of DATA (no newlines), malloc'd; NULL: no memory. */
char *baton_agentpki_base64(const char *data, size_t len);

#endif /* BATON_BATOND_AGENTPKI_H */
