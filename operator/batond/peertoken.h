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

#include "batond/config.h"
#include "common/error.h"
#include "http/server.h"
#include "kube/client.h"

/* A bound on a token's size: ServiceAccount JWTs are about 1 KiB. */
#define BATON_PEERTOKEN_MAX_TOKEN 8192
#define BATON_PEERTOKEN_RETRY_MIN_MS 1000
#define BATON_PEERTOKEN_RETRY_MAX_MS 60000
/* "running low": below a quarter of its life or this, whichever is more */
#define BATON_PEERTOKEN_LOW_MS (5 * 60 * 1000)

struct baton_peertoken;
struct baton_metrics;

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

/* What the peer tokens read of the daemon; set by daemon.c. */
struct baton_peertoken_config {
	/* peerTokens.*, the peers (their kubeconfig paths are rewritten to
	 * the rotating copies), tls.*, namespace */
	struct baton_batond_config *cfg;
	struct baton_metrics *metrics; /* baton_peer_token_expiry_seconds */
	/* this region's API server, which mints the TokenRequests; open
	 * until the peer tokens closed */
	struct baton_kube_client *kube;
};

/* Private: one peer whose token rotates. */
struct baton_peertoken_peer {
	struct baton_peertoken *p;
	const char *name;
	char token_path[512];
	char kubeconfig_path[512];
	struct baton_kube_client client; /* the peer's batond, mutual TLS */
	bool client_ready;
	struct baton_kube_request req;
	bool pending;
	int64_t got_ms, expires_ms; /* the token in the file; -1: unknown */
	int64_t next_ms;
	unsigned failures;
	bool low_logged;
};

struct baton_peertoken_mint;
typedef void (*baton_peertoken_close_cb)(struct baton_peertoken *p);

struct baton_peertoken {
	/* Public. */
	void *data; /* the caller's; the peer tokens never touch it */

	/* Private. */
	struct baton_peertoken_config pc;
	uv_loop_t *loop;
	bool on; /* peerTokens configured */
	struct baton_peertoken_peer peers[BATON_MAX_PEERS];
	int n_peers;
	uv_timer_t tick;
	struct baton_metric *m_expiry;
	struct baton_peertoken_mint *mints;
	int n_mints;
	bool stopping;
	int closing;
	baton_peertoken_close_cb close_cb;
};

/* Lifecycle: the memory is the caller's (daemon.c embeds it in struct
 * baton_batond), libuv's rule.
 *
 * baton_peertoken_init() opens the tick timer (always: not started when
 * peerTokens is not configured, so a close is the same either way), then,
 * rotating, registers the metric and opens the peers in order, each step
 * a fail point (common/failpoint.h): peerTokens.dir, and per peer its
 * token file, its rotating kubeconfig, its peer API client and the
 * rewritten kubeconfig path; it starts the tick last. Call it before the
 * controller starts (which loads the rewritten paths); serving needs the
 * peer API: baton_peertoken_serve() once it exists.
 *
 * On failure it returns the error (ERRMSG says why) and closes what it
 * opened (err_after_*): P must not be closed. Those closes finish on the
 * loop: P's memory is the caller's again once the loop ran them (run it
 * until it is empty, as a daemon that stops does anyway).
 *
 * baton_peertoken_close(): stops the tick, cancels the mints in flight
 * (their callbacks answer 503) and closes the peer clients; CB(P) runs once
 * the last of them closed; then P's memory is the caller's. */
int baton_peertoken_init(uv_loop_t *loop, struct baton_peertoken *p,
			 const struct baton_peertoken_config *pc, char *errmsg);
void baton_peertoken_close(struct baton_peertoken *p,
			   baton_peertoken_close_cb cb);

/* Adds GET /v1/peer-token to SRV (the peer API) when serving is
 * configured; P may be NULL (nothing). */
int baton_peertoken_serve(struct baton_peertoken *p,
			  struct baton_http_server *srv);

#endif /* BATON_BATOND_PEERTOKEN_H */
