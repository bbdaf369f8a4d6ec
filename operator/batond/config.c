#include "batond/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yamljson.h"

void baton_batond_config_defaults(struct baton_batond_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->election_timeout_ms = 1000;
	cfg->heartbeat_ms = 50;
	cfg->drift_percent = 5;
	cfg->margin_ms = 200;
	cfg->kube_qps = BATON_BATOND_DEFAULT_KUBE_QPS;
	cfg->kube_burst = BATON_BATOND_DEFAULT_KUBE_BURST;
	cfg->peer_token_seconds = 3600;
	cfg->log_level = BATON_LOG_INFO;
	cfg->ns = strdup("baton-system");
	cfg->raft_dir = strdup("/var/lib/baton/raft");
	cfg->http_bind = strdup("0.0.0.0:8080");
	cfg->agent_api_bind = strdup("0.0.0.0:7102");
}

int baton_batond_config_set(char **field, const char *value)
{
	char *copy = NULL;
	if (value != NULL && (copy = strdup(value)) == NULL) {
		return BATON_ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

int baton_split_host_port(const char *addr, char *host, size_t host_size,
			  int *port)
{
	const char *colon;
	char *end;
	long p;
	size_t n;

	if (addr == NULL) {
		return BATON_EINVAL;
	}
	colon = strrchr(addr, ':');
	if (colon == NULL || colon == addr || colon[1] == '\0') {
		return BATON_EINVAL;
	}
	n = (size_t)(colon - addr);
	if (addr[0] == '[' && colon[-1] == ']') { /* [::1]:7100 */
		addr++;
		n -= 2;
	}
	if (n == 0 || n >= host_size) {
		return BATON_EINVAL;
	}
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535) {
		return BATON_EINVAL;
	}
	memcpy(host, addr, n);
	host[n] = '\0';
	*port = (int)p;
	return 0;
}

static bool dns_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 40 || s[0] == '-' || s[n - 1] == '-') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(islower((unsigned char)s[i]) ||
		      isdigit((unsigned char)s[i]) || s[i] == '-')) {
			return false;
		}
	}
	return true;
}

/* ---- reading fields, with errors that name them ----------------------- */

struct reader {
	struct baton_batond_config *cfg;
	const char *name;
};

static int field_error(struct reader *r, const char *field, const char *what)
{
	baton_errmsg_printf(r->cfg->errmsg, "%s: %s: %s", r->name, field, what);
	return BATON_ECONFIG;
}

/* Refuses keys of OBJ not in ALLOWED (NULL-terminated). */
static int only_keys(struct reader *r, json_t *obj, const char *where,
		     const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL; i++) {
			if (strcmp(key, allowed[i]) == 0) {
				ok = true;
			}
		}
		if (!ok) {
			char f[160];
			snprintf(f, sizeof f, "%s%s%s", where,
				 where[0] ? "." : "", key);
			return field_error(r, f, "unknown field");
		}
	}
	return 0;
}

static int get_string(struct reader *r, json_t *obj, const char *key,
		      const char *path, char **out)
{
	json_t *v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_string(v)) {
		return field_error(r, path, "must be a string");
	}
	return baton_batond_config_set(out, json_string_value(v));
}

static int get_uint(struct reader *r, json_t *obj, const char *key,
		    const char *path, unsigned min, unsigned max, unsigned *out)
{
	json_t *v = json_object_get(obj, key);
	char what[96];
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		snprintf(what, sizeof what, "must be an integer from %u to %u",
			 min, max);
		return field_error(r, path, what);
	}
	*out = (unsigned)json_integer_value(v);
	return 0;
}

/* A rate: an integer or a decimal, MIN < value <= MAX. */
static int get_rate(struct reader *r, json_t *obj, const char *key,
		    const char *path, double min, double max, double *out)
{
	json_t *v = json_object_get(obj, key);
	char what[96];
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_number(v) || !(json_number_value(v) > min) ||
	    json_number_value(v) > max) {
		snprintf(what, sizeof what,
			 "must be a number above %g and at most %g "
			 "(requests per second)",
			 min, max);
		return field_error(r, path, what);
	}
	*out = json_number_value(v);
	return 0;
}

static int get_object(struct reader *r, json_t *doc, const char *key,
		      json_t **out)
{
	json_t *v = json_object_get(doc, key);
	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_object(v)) {
		return field_error(r, key, "must be a mapping");
	}
	*out = v;
	return 0;
}

static int read_peers(struct reader *r, json_t *peers)
{
	static const char *const keys[] = {"name", "raftAddress", "apiAddress",
					   "kubeconfig", NULL};
	size_t i;
	json_t *p;
	int rv;

	if (peers == NULL || json_is_null(peers)) {
		return 0;
	}
	if (!json_is_array(peers)) {
		return field_error(r, "peers", "must be a list");
	}
	if (json_array_size(peers) > BATON_MAX_PEERS) {
		return field_error(r, "peers", "at most 6 peers");
	}
	json_array_foreach(peers, i, p)
	{
		struct baton_batond_peer *peer = &r->cfg->peers[i];
		char path[64];
		snprintf(path, sizeof path, "peers[%zu]", i);
		if (!json_is_object(p)) {
			return field_error(r, path, "must be a mapping");
		}
		if ((rv = only_keys(r, p, path, keys)) != 0) {
			return rv;
		}
		r->cfg->n_peers = i + 1;
		snprintf(path, sizeof path, "peers[%zu].name", i);
		if ((rv = get_string(r, p, "name", path, &peer->name)) != 0) {
			return rv;
		}
		snprintf(path, sizeof path, "peers[%zu].raftAddress", i);
		if ((rv = get_string(r, p, "raftAddress", path,
				     &peer->raft_address)) != 0) {
			return rv;
		}
		snprintf(path, sizeof path, "peers[%zu].apiAddress", i);
		if ((rv = get_string(r, p, "apiAddress", path,
				     &peer->api_address)) != 0) {
			return rv;
		}
		snprintf(path, sizeof path, "peers[%zu].kubeconfig", i);
		if ((rv = get_string(r, p, "kubeconfig", path,
				     &peer->kubeconfig)) != 0) {
			return rv;
		}
		if (peer->kubeconfig != NULL && peer->kubeconfig[0] == '\0') {
			free(peer->kubeconfig);
			peer->kubeconfig = NULL;
		}
	}
	return 0;
}

int baton_batond_config_from_json(struct baton_batond_config *cfg, json_t *doc,
				  const char *name)
{
	static const char *const top[] = {
	    "region",	"namespace",  "kubeconfig", "watchNamespaces",
	    "peers",	"raft",	      "peerApi",    "tls",
	    "http",	"lease",      "log",	    "mesh",
	    "agentApi", "kubeClient", "peerTokens", "designation",
	    NULL};
	static const char *const peer_token_keys[] = {
	    "serviceAccount", "expirationSeconds", "dir", NULL};
	static const char *const raft_keys[] = {"bind", "dataDir",
						"electionTimeoutMillis",
						"heartbeatMillis", NULL};
	static const char *const bind_keys[] = {"bind", NULL};
	static const char *const agent_api_keys[] = {"bind", "url", "caCert",
						     "caKey", NULL};
	static const char *const tls_keys[] = {"ca", "cert", "key", NULL};
	static const char *const lease_keys[] = {"driftPercent", "marginMillis",
						 NULL};
	static const char *const log_keys[] = {"level", NULL};
	static const char *const kube_client_keys[] = {"qps", "burst", NULL};
	static const char *const mesh_keys[] = {"istioClusterIDs",
						"clusterDomain", NULL};
	struct reader r = {.cfg = cfg, .name = name};
	json_t *o;
	json_t *wn;
	int rv;

	baton_batond_config_set(&cfg->source, name);
	if (!json_is_object(doc)) {
		return field_error(&r, "(top level)", "must be a mapping");
	}
	if ((rv = only_keys(&r, doc, "", top)) != 0 ||
	    (rv = get_string(&r, doc, "region", "region", &cfg->region)) != 0 ||
	    (rv = get_string(&r, doc, "namespace", "namespace", &cfg->ns)) !=
		0 ||
	    (rv = get_string(&r, doc, "kubeconfig", "kubeconfig",
			     &cfg->kubeconfig)) != 0 ||
	    (rv = read_peers(&r, json_object_get(doc, "peers"))) != 0) {
		return rv;
	}
	if (cfg->kubeconfig != NULL && cfg->kubeconfig[0] == '\0') {
		free(cfg->kubeconfig);
		cfg->kubeconfig = NULL;
	}
	wn = json_object_get(doc, "watchNamespaces");
	if (wn != NULL && !json_is_null(wn)) {
		size_t i;
		json_t *v;
		if (!json_is_array(wn)) {
			return field_error(&r, "watchNamespaces",
					   "must be a list of namespaces");
		}
		cfg->watch_namespaces =
		    calloc(json_array_size(wn) + 1, sizeof(char *));
		if (cfg->watch_namespaces == NULL) {
			return BATON_ENOMEM;
		}
		json_array_foreach(wn, i, v)
		{
			if (!json_is_string(v)) {
				return field_error(&r, "watchNamespaces",
						   "must be a list of strings");
			}
			const char *ns = json_string_value(v);
			if (ns[0] == '\0') {
				return field_error(&r, "watchNamespaces",
						   "an empty namespace");
			}
			for (size_t j = 0; j < i; j++) {
				if (strcmp(cfg->watch_namespaces[j], ns) == 0) {
					return field_error(
					    &r, "watchNamespaces",
					    "a namespace is listed twice");
				}
			}
			cfg->watch_namespaces[i] = strdup(ns);
			if (cfg->watch_namespaces[i] == NULL) {
				return BATON_ENOMEM;
			}
			cfg->n_watch_namespaces = i + 1;
		}
	}
	if ((rv = get_object(&r, doc, "raft", &o)) != 0) {
		return rv;
	}
	if (o != NULL &&
	    ((rv = only_keys(&r, o, "raft", raft_keys)) != 0 ||
	     (rv = get_string(&r, o, "bind", "raft.bind", &cfg->raft_bind)) !=
		 0 ||
	     (rv = get_string(&r, o, "dataDir", "raft.dataDir",
			      &cfg->raft_dir)) != 0 ||
	     (rv = get_uint(&r, o, "electionTimeoutMillis",
			    "raft.electionTimeoutMillis", 100, 60000,
			    &cfg->election_timeout_ms)) != 0 ||
	     (rv = get_uint(&r, o, "heartbeatMillis", "raft.heartbeatMillis",
			    10, 10000, &cfg->heartbeat_ms)) != 0)) {
		return rv;
	}
	if ((rv = get_object(&r, doc, "peerApi", &o)) != 0) {
		return rv;
	}
	if (o != NULL && ((rv = only_keys(&r, o, "peerApi", bind_keys)) != 0 ||
			  (rv = get_string(&r, o, "bind", "peerApi.bind",
					   &cfg->peer_api_bind)) != 0)) {
		return rv;
	}
	if ((rv = get_object(&r, doc, "peerTokens", &o)) != 0) {
		return rv;
	}
	if (o != NULL &&
	    ((rv = only_keys(&r, o, "peerTokens", peer_token_keys)) != 0 ||
	     (rv = get_string(&r, o, "serviceAccount",
			      "peerTokens.serviceAccount",
			      &cfg->peer_token_account)) != 0 ||
	     (rv = get_uint(&r, o, "expirationSeconds",
			    "peerTokens.expirationSeconds", 600, 86400,
			    &cfg->peer_token_seconds)) != 0 ||
	     (rv = get_string(&r, o, "dir", "peerTokens.dir",
			      &cfg->peer_token_dir)) != 0)) {
		return rv;
	}
	if ((rv = get_object(&r, doc, "http", &o)) != 0) {
		return rv;
	}
	if (o != NULL && ((rv = only_keys(&r, o, "http", bind_keys)) != 0 ||
			  (rv = get_string(&r, o, "bind", "http.bind",
					   &cfg->http_bind)) != 0)) {
		return rv;
	}
	if ((rv = get_object(&r, doc, "agentApi", &o)) != 0) {
		return rv;
	}
	if (o != NULL &&
	    ((rv = only_keys(&r, o, "agentApi", agent_api_keys)) != 0 ||
	     (rv = get_string(&r, o, "bind", "agentApi.bind",
			      &cfg->agent_api_bind)) != 0 ||
	     (rv = get_string(&r, o, "url", "agentApi.url",
			      &cfg->agent_api_url)) != 0 ||
	     (rv = get_string(&r, o, "caCert", "agentApi.caCert",
			      &cfg->agent_ca_cert)) != 0 ||
	     (rv = get_string(&r, o, "caKey", "agentApi.caKey",
			      &cfg->agent_ca_key)) != 0)) {
		return rv;
	}
	if (cfg->agent_api_url != NULL && cfg->agent_api_url[0] == '\0') {
		free(cfg->agent_api_url);
		cfg->agent_api_url = NULL;
	}
	if ((rv = get_object(&r, doc, "tls", &o)) != 0) {
		return rv;
	}
	if (o != NULL &&
	    ((rv = only_keys(&r, o, "tls", tls_keys)) != 0 ||
	     (rv = get_string(&r, o, "ca", "tls.ca", &cfg->tls_ca)) != 0 ||
	     (rv = get_string(&r, o, "cert", "tls.cert", &cfg->tls_cert)) !=
		 0 ||
	     (rv = get_string(&r, o, "key", "tls.key", &cfg->tls_key)) != 0)) {
		return rv;
	}
	if ((rv = get_object(&r, doc, "lease", &o)) != 0) {
		return rv;
	}
	if (o != NULL &&
	    ((rv = only_keys(&r, o, "lease", lease_keys)) != 0 ||
	     (rv = get_uint(&r, o, "driftPercent", "lease.driftPercent", 0, 50,
			    &cfg->drift_percent)) != 0 ||
	     (rv = get_uint(&r, o, "marginMillis", "lease.marginMillis", 0,
			    60000, &cfg->margin_ms)) != 0)) {
		return rv;
	}
	if ((rv = get_object(&r, doc, "kubeClient", &o)) != 0) {
		return rv;
	}
	if (o != NULL &&
	    ((rv = only_keys(&r, o, "kubeClient", kube_client_keys)) != 0 ||
	     (rv = get_rate(&r, o, "qps", "kubeClient.qps", 0,
			    BATON_BATOND_MAX_KUBE_QPS, &cfg->kube_qps)) != 0 ||
	     (rv = get_uint(&r, o, "burst", "kubeClient.burst", 1,
			    BATON_BATOND_MAX_KUBE_BURST, &cfg->kube_burst)) !=
		 0)) {
		return rv;
	}
	o = json_object_get(doc, "designation");
	if (o != NULL && !json_is_null(o) && !json_is_boolean(o)) {
		return field_error(&r, "designation", "must be true or false");
	}
	cfg->designation = json_is_true(o);
	if ((rv = get_object(&r, doc, "log", &o)) != 0) {
		return rv;
	}
	if (o != NULL) {
		char *level = NULL;
		if ((rv = only_keys(&r, o, "log", log_keys)) != 0 ||
		    (rv = get_string(&r, o, "level", "log.level", &level)) !=
			0) {
			return rv;
		}
		if (level != NULL &&
		    baton_log_parse_level(level, &cfg->log_level) != 0) {
			free(level);
			return field_error(
			    &r, "log.level",
			    "must be debug, info, warn or error");
		}
		free(level);
	}
	if ((rv = get_object(&r, doc, "mesh", &o)) != 0) {
		return rv;
	}
	if (o != NULL) {
		json_t *ids = json_object_get(o, "istioClusterIDs");
		const char *k;
		json_t *v;
		if ((rv = only_keys(&r, o, "mesh", mesh_keys)) != 0) {
			return rv;
		}
		if (ids != NULL && !json_is_object(ids)) {
			return field_error(&r, "mesh.istioClusterIDs",
					   "must map region names to Istio "
					   "cluster IDs");
		}
		json_object_foreach(ids, k, v)
		{
			if (!json_is_string(v) || json_string_length(v) == 0) {
				return field_error(&r, "mesh.istioClusterIDs",
						   "every value must be a "
						   "non-empty cluster ID");
			}
		}
		json_decref(cfg->istio_cluster_ids);
		cfg->istio_cluster_ids = ids ? json_incref(ids) : NULL;
		if (json_object_get(o, "clusterDomain") != NULL) {
			const char *dom = json_string_value(
			    json_object_get(o, "clusterDomain"));
			if (dom == NULL || dom[0] == '\0' || dom[0] == '.' ||
			    strlen(dom) > 200 ||
			    strspn(dom, "abcdefghijklmnopqrstuvwxyz0123456789"
					"-.") != strlen(dom)) {
				return field_error(
				    &r, "mesh.clusterDomain",
				    "must be a DNS domain such as "
				    "cluster.local");
			}
			if ((rv = baton_batond_config_set(&cfg->cluster_domain,
							  dom)) != 0) {
				return rv;
			}
		}
	}
	return baton_batond_config_validate(cfg);
}

const char *baton_batond_istio_cluster_id(const struct baton_batond_config *cfg,
					  const char *region)
{
	const char *id =
	    json_string_value(json_object_get(cfg->istio_cluster_ids, region));
	return id != NULL ? id : region;
}

int baton_batond_config_validate(struct baton_batond_config *cfg)
{
	struct reader r = {.cfg = cfg,
			   .name = cfg->source ? cfg->source : "(flags)"};
	char host[256];
	int port;

	if (cfg->region == NULL || cfg->region[0] == '\0') {
		return field_error(&r, "region", "is required");
	}
	if (!dns_label(cfg->region)) {
		return field_error(&r, "region",
				   "must be a DNS label of at most 40 "
				   "characters (lower case, digits, '-')");
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		struct baton_batond_peer *p = &cfg->peers[i];
		char path[64];
		snprintf(path, sizeof path, "peers[%zu].name", i);
		if (p->name == NULL || !dns_label(p->name)) {
			return field_error(&r, path,
					   "is required and must be a DNS "
					   "label");
		}
		if (strcmp(p->name, cfg->region) == 0) {
			return field_error(&r, path,
					   "names this region itself; list "
					   "only the other regions");
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->peers[j].name, p->name) == 0) {
				return field_error(&r, path,
						   "duplicate peer name");
			}
		}
		snprintf(path, sizeof path, "peers[%zu].raftAddress", i);
		if (baton_split_host_port(p->raft_address, host, sizeof host,
					  &port) != 0) {
			return field_error(&r, path,
					   "is required, as host:port");
		}
		snprintf(path, sizeof path, "peers[%zu].apiAddress", i);
		if (baton_split_host_port(p->api_address, host, sizeof host,
					  &port) != 0) {
			return field_error(&r, path,
					   "is required, as host:port");
		}
	}
	if (cfg->raft_bind != NULL &&
	    baton_split_host_port(cfg->raft_bind, host, sizeof host, &port) !=
		0) {
		return field_error(&r, "raft.bind", "must be host:port");
	}
	if (cfg->peer_api_bind != NULL &&
	    baton_split_host_port(cfg->peer_api_bind, host, sizeof host,
				  &port) != 0) {
		return field_error(&r, "peerApi.bind", "must be host:port");
	}
	if (cfg->http_bind == NULL ||
	    baton_split_host_port(cfg->http_bind, host, sizeof host, &port) !=
		0) {
		return field_error(&r, "http.bind", "must be host:port");
	}
	if (cfg->agent_api_bind == NULL ||
	    baton_split_host_port(cfg->agent_api_bind, host, sizeof host,
				  &port) != 0) {
		return field_error(&r, "agentApi.bind", "must be host:port");
	}
	if (cfg->agent_api_url != NULL &&
	    strncmp(cfg->agent_api_url, "http://", 7) != 0 &&
	    strncmp(cfg->agent_api_url, "https://", 8) != 0) {
		return field_error(&r, "agentApi.url",
				   "must be an http:// or https:// URL");
	}
	if (cfg->election_timeout_ms < 5 * cfg->heartbeat_ms) {
		return field_error(&r, "raft.electionTimeoutMillis",
				   "must be at least 5 times "
				   "raft.heartbeatMillis");
	}
	if ((cfg->agent_ca_cert == NULL) != (cfg->agent_ca_key == NULL)) {
		return field_error(&r, "agentApi.caCert",
				   "caCert and caKey go together (the "
				   "region's agent CA and its key)");
	}
	if (cfg->agent_ca_cert != NULL && cfg->agent_api_url != NULL &&
	    strncmp(cfg->agent_api_url, "https://", 8) != 0) {
		return field_error(&r, "agentApi.url",
				   "must be https:// when agentApi.caCert is "
				   "set (the agents ask for their lease over "
				   "mutual TLS)");
	}
	if ((cfg->peer_token_account != NULL || cfg->peer_token_dir != NULL) &&
	    cfg->tls_ca == NULL) {
		return field_error(&r, "peerTokens",
				   "needs tls (a peer token is handed only to "
				   "a peer that proved its identity with a "
				   "client certificate)");
	}
	if ((cfg->tls_ca == NULL) != (cfg->tls_cert == NULL) ||
	    (cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
		return field_error(&r, "tls",
				   "ca, cert and key go together (all or "
				   "none)");
	}
	if (cfg->n_peers > 0 && cfg->tls_ca == NULL &&
	    getenv("BATON_INSECURE_PEERS") == NULL) {
		return field_error(&r, "tls",
				   "is required when peers are configured "
				   "(Raft and the peer API use mutual TLS)");
	}
	return 0;
}

/* Flags are text: all of it must be the number (strtod/strtol alone
 * would take "20x" as 20 and "" as 0). */
int baton_batond_config_set_kube_qps(struct baton_batond_config *cfg,
				     const char *text)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (text[0] == '\0' || isspace((unsigned char)text[0]) ||
	    *end != '\0' || errno != 0 || !(v > 0) ||
	    v > BATON_BATOND_MAX_KUBE_QPS) {
		baton_errmsg_printf(cfg->errmsg,
				    "--kube-qps: must be a number above 0 and "
				    "at most %g (requests per second), not "
				    "'%s'",
				    BATON_BATOND_MAX_KUBE_QPS, text);
		return BATON_ECONFIG;
	}
	cfg->kube_qps = v;
	return 0;
}

int baton_batond_config_set_kube_burst(struct baton_batond_config *cfg,
				       const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (text[0] == '\0' || isspace((unsigned char)text[0]) ||
	    *end != '\0' || errno != 0 || v < 1 ||
	    v > BATON_BATOND_MAX_KUBE_BURST) {
		baton_errmsg_printf(cfg->errmsg,
				    "--kube-burst: must be an integer from 1 "
				    "to %d (requests at once), not '%s'",
				    BATON_BATOND_MAX_KUBE_BURST, text);
		return BATON_ECONFIG;
	}
	cfg->kube_burst = (unsigned)v;
	return 0;
}

int baton_batond_config_load(struct baton_batond_config *cfg, const char *path)
{
	json_t *doc = NULL;
	int rv;

	baton_batond_config_defaults(cfg);
	rv = baton_yaml_load_file(path, &doc, cfg->errmsg);
	if (rv != 0) {
		return rv == BATON_EPARSE ? BATON_ECONFIG : rv;
	}
	rv = baton_batond_config_from_json(cfg, doc, path);
	json_decref(doc);
	return rv;
}

void baton_batond_config_free(struct baton_batond_config *cfg)
{
	free(cfg->source);
	free(cfg->region);
	free(cfg->ns);
	free(cfg->kubeconfig);
	for (size_t i = 0; i < cfg->n_watch_namespaces; i++) {
		free(cfg->watch_namespaces[i]);
	}
	free(cfg->watch_namespaces);
	for (size_t i = 0; i < BATON_MAX_PEERS; i++) {
		free(cfg->peers[i].name);
		free(cfg->peers[i].raft_address);
		free(cfg->peers[i].api_address);
		free(cfg->peers[i].kubeconfig);
	}
	free(cfg->raft_bind);
	free(cfg->raft_dir);
	free(cfg->peer_api_bind);
	free(cfg->peer_token_account);
	free(cfg->peer_token_dir);
	free(cfg->tls_ca);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->http_bind);
	free(cfg->agent_api_bind);
	free(cfg->agent_api_url);
	free(cfg->agent_ca_cert);
	free(cfg->agent_ca_key);
	free(cfg->cluster_domain);
	json_decref(cfg->istio_cluster_ids);
	memset(cfg, 0, offsetof(struct baton_batond_config, errmsg));
}
