/* Short-lived peer tokens with rotation (issue 15 item 6).
 *
 * Each region has a peer ServiceAccount (the chart's <release>-peer) that
 * the OTHER regions' batonds use on this region's API server. Instead of a
 * year-long token in a Secret:
 *
 *  - serving (peerTokens.serviceAccount set): GET /v1/peer-token on the
 *    peer API (mutual TLS, the Raft CA) mints a token for that one account
 *    with the TokenRequest API (POST .../serviceaccounts/<name>/token,
 *    expirationSeconds peerTokens.expirationSeconds) and answers
 *    {"token": "...", "expirationTimestamp": "RFC 3339"}; only a caller
 *    whose verified certificate names a configured peer region gets one;
 *  - rotating (peerTokens.dir set): for every peer with a kubeconfig, the
 *    kubeconfig is only the bootstrap (a `kubectl create token --duration`
 *    token). At start its server and CA are copied into
 *    <dir>/<peer>.kubeconfig whose user reads <dir>/<peer>.token
 *    (tokenFile), and the peer entry is pointed at that file before the
 *    controller loads it. Fetched tokens replace the token file atomically
 *    (write, fsync, rename); the kube client re-reads a changed token file
 *    before each request (kube/config.h), so the next request carries the
 *    new token and running watches are not touched.
 *
 * Schedule: a token is refreshed at half its life (less up to a tenth of it,
 * random, so regions do not align); a failed fetch is retried after a
 * jittered exponential backoff (1 s doubling to 60 s). The last good token
 * stays in place whatever fails: a malformed or oversized answer is an
 * error logged with the reason, never written. When less than a quarter of
 * its life remains (or 5 minutes) batond logs a warning; the remaining life
 * is exported as baton_peer_token_expiry_seconds{peer}.
 */
#ifndef BATON_BATOND_PEERTOKEN_H
#define BATON_BATOND_PEERTOKEN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"
#include "http/server.h"

/* A bound on a token's size: ServiceAccount JWTs are about 1 KiB. */
#define BATON_PEERTOKEN_MAX_TOKEN 8192
#define BATON_PEERTOKEN_RETRY_MIN_MS 1000
#define BATON_PEERTOKEN_RETRY_MAX_MS 60000
/* "running low": below a quarter of its life or this, whichever is more */
#define BATON_PEERTOKEN_LOW_MS (5 * 60 * 1000)

struct baton_peertoken;
struct baton_batond_config;
struct baton_metrics;
struct baton_kube_client;

/* ---- pure parts (unit-tested) ---- */

/* A TokenRequest status or the peer API's answer ({"token": ...,
 * "expirationTimestamp": ...}): *TOKEN (malloc'd) and *EXPIRES_MS (Unix
 * ms). BATON_EPARSE (missing or malformed field, a token with characters a
 * header cannot carry), BATON_ETOOLARGE (token over the cap); *TOKEN is
 * then NULL and ERRMSG says why. */
int baton_peertoken_parse(json_t *answer, char **token, int64_t *expires_ms,
			  char *errmsg);

/* "2026-12-04T23:47:24Z" (UTC, optional fraction) to Unix ms; -1 if not. */
int64_t baton_peertoken_time_ms(const char *rfc3339);

/* The exp claim of a JWT in Unix ms, or -1 (not a JWT, no exp): the
 * bootstrap token's life, before any fetch. */
int64_t baton_peertoken_jwt_exp_ms(const char *jwt);

/* When to fetch again, in the same clock as the arguments. After a good
 * token got at GOT_MS expiring at EXPIRES_MS (FAILURES 0): half its life,
 * less RND % (life / 10). After FAILURES >= 1 failures in a row, from
 * NOW_MS: a backoff of 1 s doubling to 60 s, the upper half random. RND is
 * a random number (time and randomness are passed in). */
int64_t baton_peertoken_next_ms(int64_t now_ms, int64_t got_ms,
				int64_t expires_ms, unsigned failures,
				uint32_t rnd);

/* The token is running low: less than a quarter of LIFE_MS (its full life)
 * or BATON_PEERTOKEN_LOW_MS left at NOW_MS. */
int baton_peertoken_low(int64_t now_ms, int64_t expires_ms, int64_t life_ms);

/* ---- the daemon's side ---- */

/* Rewrites the peers' kubeconfig paths (rotating) and registers the metric;
 * call before the controller starts. Serving needs the peer API:
 * baton_peertoken_serve() once it exists. 0 or BATON_E* with ERRMSG; *OUT
 * is NULL when peer tokens are not configured, and on a failure, which
 * closes what was opened (on the loop: run it before the loop closes). */
/* What the peer tokens read of the daemon; set by daemon.c. */
struct baton_peertoken_config {
	/* peerTokens.*, the peers (their kubeconfig paths are rewritten to
	 * the rotating copies), tls.*, namespace */
	struct baton_batond_config *cfg;
	struct baton_metrics *metrics; /* baton_peer_token_expiry_seconds */
	/* this region's API server, which mints the TokenRequests; open
	 * until the peer tokens stopped */
	struct baton_kube_client *kube;
	void *data; /* handed to the stop callback */
};

int baton_peertoken_start(uv_loop_t *loop,
			  const struct baton_peertoken_config *pc,
			  struct baton_peertoken **out, char *errmsg);

/* Adds GET /v1/peer-token to SRV (the peer API). */
int baton_peertoken_serve(struct baton_peertoken *p,
			  struct baton_http_server *srv);

/* Cancels everything; STOPPED_CB(data) once every handle closed. */
void baton_peertoken_stop(struct baton_peertoken *p,
			  void (*stopped_cb)(void *data));

#endif /* BATON_BATOND_PEERTOKEN_H */
