/* Short-lived peer tokens: batond/peertoken.h says what and why.
 *
 * Happy path (rotating): a 1 s tick looks at every peer; when its next_ms
 * has come it asks the peer's batond GET /v1/peer-token over mutual TLS,
 * parses the answer, writes <dir>/<peer>.token.tmp, fsyncs it, renames it
 * over <dir>/<peer>.token and schedules the next fetch at half the new
 * token's life. Serving: the handler checks the caller's verified identity,
 * POSTs a TokenRequest on this region's kube client and relays the status.
 *
 * Failure paths: a fetch that fails (no answer, an HTTP error, a malformed
 * or oversized answer, a write that fails) is logged with why, the token
 * file is left as it was, and the fetch is retried with backoff. A mint
 * that fails answers 502 with the API server's reason; more than MAX_MINTS
 * at once answer 503.
 *
 * Cancel path: close() stops the tick, cancels the mints in flight (their
 * callbacks answer 503 and free them) and closes the peer clients; the
 * close callback runs once the last of them closed. A failed init closes
 * the same way (the handle is the caller's: nothing is freed but the
 * mints).
 */
#include "batond/peertoken.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batond/config.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/failpoint.h"
#include "common/log.h"
#include "common/version.h"
#include "http/metrics.h"
#include "kube/client.h"
#include "kube/config.h"

#define TICK_MS 1000
#define FETCH_TIMEOUT_MS 10000
#define MAX_MINTS 8
#define IDENTITY_PREFIX "baton://region/"

/* ---- pure parts ------------------------------------------------------- */

int64_t baton_peertoken_time_ms(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	time_t t;

	/* common/clock's parser, held to what a TokenRequest's status says
	 * (metav1.Time): UTC with an upper-case Z, never an offset, and not
	 * before 1970 (a negative time would read as long expired) */
	if (n == 0 || s[n - 1] != 'Z' ||
	    baton_clock_parse_rfc3339(s, &t) != 0 || t < 0) {
		return -1;
	}
	return (int64_t)t * 1000;
}

/* A token goes into an Authorization header and a file: printable ASCII,
 * no spaces. */
static int token_ok(const char *t, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (t[i] <= ' ' || t[i] > '~') {
			return 0;
		}
	}
	return len > 0;
}

int baton_peertoken_parse(json_t *answer, char **token, int64_t *expires_ms,
			  char *errmsg)
{
	json_t *t = json_object_get(answer, "token");
	const char *exp =
	    json_string_value(json_object_get(answer, "expirationTimestamp"));
	size_t len;

	*token = NULL;
	*expires_ms = -1;
	if (!json_is_object(answer)) {
		baton_errmsg_printf(errmsg, "the token answer is not a JSON "
					    "object");
		return BATON_EPARSE;
	}
	if (!json_is_string(t)) {
		baton_errmsg_printf(errmsg, "the token answer has no token");
		return BATON_EPARSE;
	}
	len = json_string_length(t);
	if (len > BATON_PEERTOKEN_MAX_TOKEN) {
		baton_errmsg_printf(errmsg,
				    "the token answer's token is %zu bytes "
				    "(at most %d)",
				    len, BATON_PEERTOKEN_MAX_TOKEN);
		return BATON_ETOOLARGE;
	}
	if (!token_ok(json_string_value(t), len)) {
		baton_errmsg_printf(errmsg, "the token answer's token is empty "
					    "or holds characters a bearer "
					    "token cannot");
		return BATON_EPARSE;
	}
	*expires_ms = baton_peertoken_time_ms(exp);
	if (*expires_ms < 0) {
		baton_errmsg_printf(errmsg,
				    "the token answer's expirationTimestamp "
				    "is missing or not RFC 3339 UTC");
		return BATON_EPARSE;
	}
	*token = strndup(json_string_value(t), len);
	if (*token == NULL) {
		*expires_ms = -1;
		baton_errmsg_printf(errmsg, "out of memory");
		return BATON_ENOMEM;
	}
	return 0;
}

int64_t baton_peertoken_jwt_exp_ms(const char *jwt)
{
	const char *p = jwt != NULL ? strchr(jwt, '.') : NULL;
	const char *e = p != NULL ? strchr(p + 1, '.') : NULL;
	unsigned char in[BATON_PEERTOKEN_MAX_TOKEN + 4];
	unsigned char out[BATON_PEERTOKEN_MAX_TOKEN];
	size_t n;
	int len;
	json_t *claims, *exp;
	int64_t ms = -1;

	if (e == NULL || (n = (size_t)(e - p - 1)) == 0 ||
	    n > BATON_PEERTOKEN_MAX_TOKEN) {
		return -1;
	}
	/* base64url without padding to base64 with padding */
	for (size_t i = 0; i < n; i++) {
		char c = p[1 + i];
		in[i] = c == '-' ? '+' : c == '_' ? '/' : (unsigned char)c;
	}
	while (n % 4 != 0) {
		in[n++] = '=';
	}
	len = EVP_DecodeBlock(out, in, (int)n);
	if (len < 0) {
		return -1;
	}
	claims = json_loadb((const char *)out, (size_t)len,
			    JSON_DISABLE_EOF_CHECK, NULL);
	exp = json_object_get(claims, "exp");
	if (json_is_integer(exp) && json_integer_value(exp) > 0) {
		ms = (int64_t)json_integer_value(exp) * 1000;
	}
	json_decref(claims);
	return ms;
}

int64_t baton_peertoken_next_ms(int64_t now_ms, int64_t got_ms,
				int64_t expires_ms, unsigned failures,
				uint32_t rnd)
{
	int64_t life = expires_ms - got_ms, backoff;

	if (failures == 0) {
		if (life <= 0) {
			return now_ms;
		}
		return got_ms + life / 2 -
		       (life / 10 > 0 ? (int64_t)(rnd % (uint64_t)(life / 10))
				      : 0);
	}
	backoff = BATON_PEERTOKEN_RETRY_MIN_MS;
	for (unsigned i = 1;
	     i < failures && backoff < BATON_PEERTOKEN_RETRY_MAX_MS; i++) {
		backoff *= 2;
	}
	if (backoff > BATON_PEERTOKEN_RETRY_MAX_MS) {
		backoff = BATON_PEERTOKEN_RETRY_MAX_MS;
	}
	return now_ms + backoff / 2 +
	       (int64_t)(rnd % (uint64_t)(backoff / 2 + 1));
}

int baton_peertoken_low(int64_t now_ms, int64_t expires_ms, int64_t life_ms)
{
	int64_t left = expires_ms - now_ms;
	int64_t quarter = life_ms > 0 ? life_ms / 4 : 0;
	return left < (quarter > BATON_PEERTOKEN_LOW_MS
			   ? quarter
			   : BATON_PEERTOKEN_LOW_MS);
}

/* ---- the daemon's side ------------------------------------------------ */

struct baton_peertoken_mint {
	struct baton_peertoken *p;
	struct baton_http_request *http;
	struct baton_kube_request req;
	struct baton_peertoken_mint *next;
};

static uint32_t rnd32(void)
{
	uint32_t r = 0;
	if (RAND_bytes((unsigned char *)&r, sizeof r) != 1) {
		r = (uint32_t)baton_realtime_ms();
	}
	return r;
}

/* Writes TEXT to PATH atomically (a reader sees the old file or the new
 * one, never a part), mode 0600. */
static int write_atomic(const char *path, const char *text, size_t len,
			char *errmsg)
{
	char tmp[600];
	int fd;
	ssize_t w;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		baton_errmsg_printf(errmsg, "cannot write %s: %s", tmp,
				    strerror(errno));
		return BATON_EIO;
	}
	w = write(fd, text, len);
	if (w != (ssize_t)len || fsync(fd) != 0) {
		baton_errmsg_printf(errmsg, "cannot write %s: %s", tmp,
				    w < 0 ? strerror(errno) : "short write");
		close(fd);
		unlink(tmp);
		return BATON_EIO;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		baton_errmsg_printf(errmsg, "cannot rename %s: %s", tmp,
				    strerror(errno));
		unlink(tmp);
		return BATON_EIO;
	}
	return 0;
}

static void set_metric(struct baton_peertoken_peer *pr, int64_t now)
{
	const char *labels[] = {pr->name};
	if (pr->p->m_expiry != NULL && pr->expires_ms >= 0) {
		baton_metric_set(pr->p->m_expiry, labels,
				 (double)(pr->expires_ms - now) / 1000.0);
	}
}

static void fetch_cb(struct baton_kube_request *req, int status)
{
	struct baton_peertoken_peer *pr = req->data;
	struct baton_peertoken *p = pr->p;
	char errmsg[BATON_ERRMSG_SIZE] = "";
	char *token = NULL;
	int64_t expires = -1, now = baton_realtime_ms();
	int rv = status;

	pr->pending = false;
	if (status == BATON_ECANCELED || p->stopping) {
		return;
	}
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "%s",
				    req->errmsg[0] ? req->errmsg
						   : baton_strerror(rv));
	} else {
		rv = baton_peertoken_parse(req->result, &token, &expires,
					   errmsg);
	}
	if (rv == 0 && expires <= now) {
		baton_errmsg_printf(errmsg, "the token answer expired already");
		rv = BATON_EINVAL;
	}
	if (rv == 0) {
		rv = write_atomic(pr->token_path, token, strlen(token), errmsg);
	}
	free(token);
	if (rv != 0) {
		pr->failures++;
		pr->next_ms = baton_peertoken_next_ms(
		    now, pr->got_ms, pr->expires_ms, pr->failures, rnd32());
		baton_log(BATON_LOG_WARN, "peertoken",
			  "peer %s: no new token (%s); the last good one stays "
			  "(%s), next try in %lld ms",
			  pr->name, errmsg,
			  pr->expires_ms < 0	 ? "expiry unknown"
			  : pr->expires_ms > now ? "still valid"
						 : "EXPIRED",
			  (long long)(pr->next_ms - now));
		return;
	}
	pr->got_ms = now;
	pr->expires_ms = expires;
	pr->failures = 0;
	pr->low_logged = false;
	pr->next_ms = baton_peertoken_next_ms(now, now, expires, 0, rnd32());
	set_metric(pr, now);
	baton_log(BATON_LOG_INFO, "peertoken",
		  "peer %s: new token valid for %lld s, next refresh in %lld s",
		  pr->name, (long long)((expires - now) / 1000),
		  (long long)((pr->next_ms - now) / 1000));
}

static void tick_cb(uv_timer_t *t)
{
	struct baton_peertoken *p = t->data;
	int64_t now = baton_realtime_ms();

	for (int i = 0; i < p->n_peers; i++) {
		struct baton_peertoken_peer *pr = &p->peers[i];
		set_metric(pr, now);
		if (pr->expires_ms >= 0 && !pr->low_logged &&
		    baton_peertoken_low(
			now, pr->expires_ms,
			pr->got_ms > 0 ? pr->expires_ms - pr->got_ms : 0)) {
			pr->low_logged = true;
			baton_log(BATON_LOG_WARN, "peertoken",
				  "peer %s: its API token %s in %lld s and no "
				  "new one could be fetched from its batond; "
				  "without one this region loses sight of "
				  "%s (status, peer fencing)",
				  pr->name,
				  pr->expires_ms > now ? "expires" : "expired",
				  (long long)((pr->expires_ms - now) / 1000),
				  pr->name);
		}
		if (!pr->client_ready || pr->pending || now < pr->next_ms) {
			continue;
		}
		pr->req.data = pr;
		if (baton_kube_request_start(
			&pr->client, &pr->req, "GET", "/v1/peer-token", NULL,
			NULL, FETCH_TIMEOUT_MS, NULL, fetch_cb) == 0) {
			pr->pending = true;
		}
	}
}

/* The peer's batond, over the peer API with this region's certificate. */
static int peer_api_client(struct baton_peertoken *p,
			   struct baton_peertoken_peer *pr,
			   const char *api_address, char *errmsg)
{
	const struct baton_batond_config *cfg = p->pc.cfg;
	struct baton_kube_config kc;
	char yaml[4096];
	int rv;

	snprintf(yaml, sizeof yaml,
		 "apiVersion: v1\nkind: Config\ncurrent-context: p\n"
		 "clusters:\n- name: p\n  cluster:\n    server: "
		 "https://%s\n    certificate-authority: %s\n"
		 "users:\n- name: p\n  user:\n    client-certificate: "
		 "%s\n    client-key: %s\ncontexts:\n- name: p\n  "
		 "context: {cluster: p, user: p}\n",
		 api_address, cfg->tls_ca, cfg->tls_cert, cfg->tls_key);
	rv = baton_kube_config_load_data(&kc, yaml, strlen(yaml), pr->name,
					 NULL, NULL);
	if (rv == 0 && baton_failpoint()) {
		baton_errmsg_printf(errmsg, "peer %s: its peer API client: %s",
				    pr->name, baton_strerror(BATON_ENOMEM));
		rv = BATON_ENOMEM;
	} else if (rv == 0) {
		struct baton_kube_client_opts co = {
		    .user_agent = "batond/" BATON_VERSION " (peer token)"};
		rv = baton_kube_client_init(p->loop, &pr->client, &kc, &co);
		if (rv != 0) {
			baton_errmsg_printf(errmsg, "%s", pr->client.errmsg);
		}
	} else {
		baton_errmsg_printf(errmsg, "%s", kc.errmsg);
	}
	baton_kube_config_free(&kc);
	pr->client_ready = rv == 0;
	return rv;
}

/* A write that a test's fail point failed (common/failpoint.h). */
static int write_failed(const char *path, char *errmsg)
{
	baton_errmsg_printf(errmsg, "cannot write %s: %s", path, strerror(EIO));
	return BATON_EIO;
}

/* <dir>/<peer>.kubeconfig: the bootstrap's server and CA, the token from
 * <dir>/<peer>.token. */
static int derive_kubeconfig(struct baton_peertoken_peer *pr,
			     const struct baton_kube_config *kc, char *errmsg)
{
	char *ca64 = NULL, *yaml = NULL;
	size_t cap;
	int rv, n;

	if (kc->ca != NULL) {
		ca64 = malloc(4 * ((kc->ca_len + 2) / 3) + 1);
		if (ca64 == NULL) {
			return BATON_ENOMEM;
		}
		EVP_EncodeBlock((unsigned char *)ca64, kc->ca, (int)kc->ca_len);
	}
	cap = 1024 + strlen(kc->server) + (ca64 ? strlen(ca64) : 0) +
	      strlen(pr->token_path) +
	      (kc->tls_server_name ? strlen(kc->tls_server_name) : 0);
	yaml = malloc(cap);
	if (yaml == NULL) {
		free(ca64);
		return BATON_ENOMEM;
	}
	n = snprintf(yaml, cap,
		     "# written by batond (batond/peertoken.h): the bootstrap "
		     "kubeconfig's server and CA, a rotated token\n"
		     "apiVersion: v1\nkind: Config\ncurrent-context: peer\n"
		     "clusters:\n- name: peer\n  cluster:\n    server: \"%s\"\n"
		     "%s%s%s%s%s%s%s"
		     "users:\n- name: peer\n  user:\n    tokenFile: \"%s\"\n"
		     "contexts:\n- name: peer\n  context: {cluster: peer, "
		     "user: peer}\n",
		     kc->server, ca64 ? "    certificate-authority-data: " : "",
		     ca64 ? ca64 : "", ca64 ? "\n" : "",
		     kc->insecure ? "    insecure-skip-tls-verify: true\n" : "",
		     kc->tls_server_name ? "    tls-server-name: " : "",
		     kc->tls_server_name ? kc->tls_server_name : "",
		     kc->tls_server_name ? "\n" : "", pr->token_path);
	rv = n > 0 && (size_t)n < cap
		 ? write_atomic(pr->kubeconfig_path, yaml, (size_t)n, errmsg)
		 : BATON_ETOOLARGE;
	free(yaml);
	free(ca64);
	return rv;
}

static int start_peers(struct baton_peertoken *p, int64_t now, char *errmsg);

static void init_failed_cb(struct baton_peertoken *p)
{
	(void)
	    p; /* a failed init unwound (baton_peertoken_init): nobody waits */
}

/* Opens the tick timer, then (rotating) the peers (start_peers: the token
 * directory, their token files, rotating kubeconfigs and peer API
 * clients); on a failure closes what it opened, as a close does. */
int baton_peertoken_init(uv_loop_t *loop, struct baton_peertoken *p,
			 const struct baton_peertoken_config *pc, char *errmsg)
{
	static const char *const peer_label[] = {"peer", NULL};
	struct baton_batond_config *cfg = pc->cfg;
	void *data = p->data;
	int64_t now = baton_realtime_ms();
	int rv;

	memset(p, 0, sizeof *p);
	p->data = data;
	p->pc = *pc;
	p->loop = loop;
	uv_timer_init(loop, &p->tick);
	p->tick.data = p;
	p->on = cfg->peer_token_account != NULL || cfg->peer_token_dir != NULL;
	if (!p->on) {
		return 0;
	}
	/* NULL (too many families): the series is not exported, the tokens
	 * rotate all the same */
	p->m_expiry = baton_metrics_add(
	    pc->metrics, BATON_METRIC_GAUGE, "baton_peer_token_expiry_seconds",
	    "Seconds until the API token this batond holds for a peer region "
	    "expires (negative: expired); refreshed at half its life",
	    peer_label, NULL, 0);
	rv = start_peers(p, now, errmsg);
	if (rv != 0) {
		goto err_after_tick;
	}
	uv_timer_start(&p->tick, tick_cb, 0, TICK_MS);
	return 0;

err_after_tick:
	/* the tick and the peer clients opened so far close as at a close
	 * (no mint can be in flight: nothing served yet) */
	baton_peertoken_close(p, init_failed_cb);
	return rv;
}

static int start_peers(struct baton_peertoken *p, int64_t now, char *errmsg)
{
	struct baton_batond_config *cfg = p->pc.cfg;
	int rv;

	if (cfg->peer_token_dir != NULL &&
	    (baton_failpoint() ? (errno = EIO, -1)
			       : mkdir(cfg->peer_token_dir, 0700)) != 0 &&
	    errno != EEXIST) {
		baton_errmsg_printf(errmsg, "peerTokens.dir %s: %s",
				    cfg->peer_token_dir, strerror(errno));
		return BATON_EIO;
	}
	for (size_t i = 0; cfg->peer_token_dir != NULL && i < cfg->n_peers;
	     i++) {
		struct baton_batond_peer *bp = &cfg->peers[i];
		struct baton_peertoken_peer *pr = &p->peers[p->n_peers];
		struct baton_kube_config kc;
		const char *tok;

		if (bp->kubeconfig == NULL) {
			continue;
		}
		memset(pr, 0, sizeof *pr);
		pr->p = p;
		pr->name = bp->name;
		pr->expires_ms = -1;
		snprintf(pr->token_path, sizeof pr->token_path, "%s/%s.token",
			 cfg->peer_token_dir, bp->name);
		snprintf(pr->kubeconfig_path, sizeof pr->kubeconfig_path,
			 "%s/%s.kubeconfig", cfg->peer_token_dir, bp->name);
		/* as the controller does: a peer whose kubeconfig is broken
		 * is logged (here and there) and left unwatched, never a
		 * reason not to run */
		if (baton_kube_config_load_file(&kc, bp->kubeconfig, NULL) !=
		    0) {
			baton_log(BATON_LOG_ERROR, "peertoken",
				  "peer %s: %s (no token rotation)", bp->name,
				  kc.errmsg);
			baton_kube_config_free(&kc);
			continue;
		}
		tok = baton_kube_config_token(&kc);
		if (tok == NULL) {
			/* client certificates: nothing to rotate here */
			baton_log(BATON_LOG_INFO, "peertoken",
				  "peer %s: %s holds no token, used as it is",
				  bp->name, bp->kubeconfig);
			baton_kube_config_free(&kc);
			continue;
		}
		rv = baton_failpoint() ? write_failed(pr->token_path, errmsg)
				       : write_atomic(pr->token_path, tok,
						      strlen(tok), errmsg);
		if (rv == 0) {
			rv = baton_failpoint()
				 ? write_failed(pr->kubeconfig_path, errmsg)
				 : derive_kubeconfig(pr, &kc, errmsg);
		}
		pr->expires_ms = baton_peertoken_jwt_exp_ms(tok);
		baton_kube_config_free(&kc);
		if (rv != 0) {
			return rv;
		}
		rv = peer_api_client(p, pr, bp->api_address, errmsg);
		if (rv != 0) {
			return rv;
		}
		p->n_peers++;
		pr->next_ms = now; /* a fresh token at once */
		baton_log(BATON_LOG_INFO, "peertoken",
			  "peer %s: %s bootstraps (%s); rotated tokens go to "
			  "%s",
			  bp->name, bp->kubeconfig,
			  pr->expires_ms < 0	 ? "expiry unknown"
			  : pr->expires_ms > now ? "valid"
						 : "expired",
			  pr->token_path);
		free(bp->kubeconfig);
		bp->kubeconfig =
		    baton_failpoint() ? NULL : strdup(pr->kubeconfig_path);
		if (bp->kubeconfig == NULL) {
			baton_errmsg_printf(errmsg, "out of memory");
			return BATON_ENOMEM;
		}
	}
	return 0;
}

/* ---- serving ---------------------------------------------------------- */

static void mint_unlink(struct baton_peertoken_mint *m)
{
	struct baton_peertoken_mint **pp = &m->p->mints;
	while (*pp != m) {
		pp = &(*pp)->next;
	}
	*pp = m->next;
	m->p->n_mints--;
}

static void mint_closed(struct baton_peertoken *p);

static void mint_cb(struct baton_kube_request *req, int status)
{
	struct baton_peertoken_mint *m = req->data;
	struct baton_peertoken *p = m->p;
	json_t *st = json_object_get(req->result, "status");
	char errmsg[BATON_ERRMSG_SIZE];
	char *token = NULL, *text = NULL;
	int64_t expires;
	int rv;

	if (status != 0) {
		baton_log(BATON_LOG_WARN, "peertoken",
			  "cannot mint a token for %s: %s",
			  p->pc.cfg->peer_token_account,
			  req->errmsg[0] ? req->errmsg
					 : baton_strerror(status));
		baton_http_respond_error(
		    m->http, status == BATON_ECANCELED ? 503 : 502,
		    status == BATON_ECANCELED ? "shutting down"
					      : "the API server did not mint "
						"a token");
	} else if ((rv = baton_peertoken_parse(st, &token, &expires, errmsg)) !=
		   0) {
		baton_log(BATON_LOG_WARN, "peertoken", "TokenRequest: %s",
			  errmsg);
		baton_http_respond_error(m->http, 502, errmsg);
	} else {
		json_t *o = json_pack(
		    "{s:s, s:O?}", "token", token, "expirationTimestamp",
		    json_object_get(st, "expirationTimestamp"));
		text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (text == NULL) {
			baton_http_respond_error(m->http, 500, "out of memory");
		} else {
			baton_http_respond(m->http, 200, "application/json",
					   text, strlen(text), NULL);
		}
	}
	free(text);
	free(token);
	mint_unlink(m);
	free(m);
	if (p->stopping) {
		mint_closed(p);
	}
}

/* Is IDENTITY (a verified certificate's) a configured peer region? */
static bool is_peer(const struct baton_batond_config *cfg, const char *id)
{
	size_t n = strlen(IDENTITY_PREFIX);
	if (strncmp(id, IDENTITY_PREFIX, n) != 0) {
		return false;
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		if (strcmp(id + n, cfg->peers[i].name) == 0) {
			return true;
		}
	}
	return false;
}

static void serve_cb(struct baton_http_request *req, void *data)
{
	struct baton_peertoken *p = data;
	const struct baton_batond_config *cfg = p->pc.cfg;
	char path[512], body[256];
	struct baton_peertoken_mint *m;

	if (!is_peer(cfg, req->peer)) {
		baton_log(BATON_LOG_WARN, "peertoken",
			  "refused a peer token to %s (identity \"%s\"): not a "
			  "configured peer region",
			  req->remote, req->peer);
		baton_http_respond_error(req, 403,
					 "peer tokens go to peer regions only");
		return;
	}
	if (p->stopping || p->n_mints >= MAX_MINTS) {
		baton_http_respond_error(req, 503, "busy, try again");
		return;
	}
	m = calloc(1, sizeof *m);
	if (m == NULL) {
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	m->p = p;
	m->http = req;
	m->req.data = m;
	snprintf(path, sizeof path,
		 "/api/v1/namespaces/%s/serviceaccounts/%s/token", cfg->ns,
		 cfg->peer_token_account);
	snprintf(body, sizeof body,
		 "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":"
		 "\"TokenRequest\",\"spec\":{\"expirationSeconds\":%u}}",
		 cfg->peer_token_seconds);
	if (baton_kube_request_start(p->pc.kube, &m->req, "POST", path,
				     "application/json", body, FETCH_TIMEOUT_MS,
				     NULL, mint_cb) != 0) {
		free(m);
		baton_http_respond_error(req, 503, "busy, try again");
		return;
	}
	m->next = p->mints;
	p->mints = m;
	p->n_mints++;
}

int baton_peertoken_serve(struct baton_peertoken *p,
			  struct baton_http_server *srv)
{
	if (p == NULL || !p->on || p->pc.cfg->peer_token_account == NULL) {
		return 0;
	}
	return baton_http_route(srv, "GET", "/v1/peer-token", serve_cb, p);
}

/* ---- close ----------------------------------------------------------- */

static void maybe_stopped(struct baton_peertoken *p)
{
	baton_peertoken_close_cb cb = p->close_cb;
	if (p->closing > 0 || p->mints != NULL || cb == NULL) {
		return;
	}
	p->close_cb = NULL;
	cb(p); /* P's memory is the caller's from here */
}

static void mint_closed(struct baton_peertoken *p)
{
	maybe_stopped(p);
}

static void tick_closed_cb(uv_handle_t *h)
{
	struct baton_peertoken *p = h->data;
	/* one close callback per close asked for */
	BATON_ASSERT(p->closing > 0);
	p->closing--;
	maybe_stopped(p);
}

static void client_closed_cb(struct baton_kube_client *c)
{
	struct baton_peertoken *p = c->data;
	/* one close callback per close asked for */
	BATON_ASSERT(p->closing > 0);
	p->closing--;
	maybe_stopped(p);
}

void baton_peertoken_close(struct baton_peertoken *p,
			   baton_peertoken_close_cb cb)
{
	BATON_ASSERT(cb != NULL && p->close_cb == NULL);
	p->stopping = true;
	p->close_cb = cb;
	p->closing = 1;
	uv_close((uv_handle_t *)&p->tick, tick_closed_cb);
	for (int i = 0; i < p->n_peers; i++) {
		if (p->peers[i].client_ready) {
			p->closing++;
			p->peers[i].client.data = p;
			baton_kube_client_close(&p->peers[i].client,
						client_closed_cb);
			p->peers[i].client_ready = false;
		}
	}
	/* the callbacks answer 503, unlink and free */
	for (struct baton_peertoken_mint *m = p->mints, *next; m != NULL;
	     m = next) {
		next = m->next;
		baton_kube_request_cancel(&m->req);
	}
	/* the tick's close callback comes on the loop: never from here */
	maybe_stopped(p);
}
