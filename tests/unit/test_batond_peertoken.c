/* Unit tests for operator/batond/peertoken: the token answer's parser (bad
 * input is an error and yields no token), the JWT expiry, the refresh
 * schedule (half life with jitter, bounded jittered backoff) and the "low"
 * rule; and its lifecycle: a caller-owned handle whose init, failed at
 * each stage in turn (common/failpoint.h), closes what it opened (the tick
 * timer, the peers' API clients) and calls nobody back, under ASan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <uv.h>

#include "batond/config.h"
#include "common/failpoint.h"
#include "batond/peertoken.h"
#include "harness.h"
#include "http/metrics.h"
#include "support/ports.h"

#define T0 1796514444000LL /* 2026-12-05T23:47:24Z */

START_TEST(parses_a_token_request_status)
{
	json_t *a = json_pack("{s:s, s:s}", "token", "eyJh.eyJi.c2ln",
			      "expirationTimestamp", "2026-12-05T23:47:24Z");
	char errmsg[BATON_ERRMSG_SIZE] = "";
	char *token = NULL;
	int64_t exp = 0;

	ck_assert_int_eq(baton_peertoken_parse(a, &token, &exp, errmsg), 0);
	ck_assert_str_eq(token, "eyJh.eyJi.c2ln");
	ck_assert_int_eq(exp, T0);
	free(token);
	json_decref(a);
	ck_assert_int_eq(baton_peertoken_time_ms("2026-12-05T23:47:24.5Z"), T0);
}
END_TEST

/* common/clock's parser, held to metav1.Time: UTC with 'Z' only */
START_TEST(expiry_is_utc_rfc3339)
{
	const char *bad[] = {
	    NULL,
	    "",
	    "2026-12-05T23:47:24z",
	    "2026-12-06T00:47:24+01:00",
	    "2026-12-05T23:47:24",
	    " 2026-12-05T23:47:24Z",
	    "2026-12-5T23:47:24Z",
	    "1969-12-31T23:59:59Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(baton_peertoken_time_ms(bad[i]) == -1, "'%s'",
			      bad[i] ? bad[i] : "(null)");
	}
	ck_assert_int_eq(baton_peertoken_time_ms("2026-12-05T23:47:24Z"), T0);
	ck_assert_int_eq(baton_peertoken_time_ms("1970-01-01T00:00:00Z"), 0);
}
END_TEST

START_TEST(bad_answers_are_errors_without_a_token)
{
	const char *bad[] = {
	    "[]",
	    "{}",
	    "{\"token\": 5, \"expirationTimestamp\": \"2026-12-05T23:47:24Z\"}",
	    "{\"token\": \"\", \"expirationTimestamp\": "
	    "\"2026-12-05T23:47:24Z\"}",
	    "{\"token\": \"a b\", \"expirationTimestamp\": "
	    "\"2026-12-05T23:47:24Z\"}",
	    "{\"token\": \"a\\nAuthorization: x\", \"expirationTimestamp\": "
	    "\"2026-12-05T23:47:24Z\"}",
	    "{\"token\": \"abc\"}",
	    "{\"token\": \"abc\", \"expirationTimestamp\": \"tomorrow\"}",
	    "{\"token\": \"abc\", \"expirationTimestamp\": "
	    "\"2026-12-05T23:47:24+01:00\"}",
	    "{\"token\": \"abc\", \"expirationTimestamp\": "
	    "\"2026-13-04T23:47:24Z\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *a = json_loads(bad[i], 0, NULL);
		char errmsg[BATON_ERRMSG_SIZE] = "";
		char *token = (char *)"untouched";
		int64_t exp = 0;
		ck_assert_ptr_nonnull(a);
		ck_assert_int_eq(baton_peertoken_parse(a, &token, &exp, errmsg),
				 BATON_EPARSE);
		ck_assert_ptr_null(token);
		ck_assert_msg(errmsg[0] != '\0', "no message for %s", bad[i]);
		json_decref(a);
	}
	ck_assert_int_eq(baton_peertoken_parse(NULL, &(char *){NULL},
					       &(int64_t){0},
					       (char[BATON_ERRMSG_SIZE]){0}),
			 BATON_EPARSE);
}
END_TEST

START_TEST(oversized_token_is_too_large)
{
	char *big = malloc(BATON_PEERTOKEN_MAX_TOKEN + 2);
	char errmsg[BATON_ERRMSG_SIZE] = "";
	char *token = NULL;
	int64_t exp;
	json_t *a;

	memset(big, 'a', BATON_PEERTOKEN_MAX_TOKEN + 1);
	big[BATON_PEERTOKEN_MAX_TOKEN + 1] = '\0';
	a = json_pack("{s:s, s:s}", "token", big, "expirationTimestamp",
		      "2026-12-05T23:47:24Z");
	ck_assert_int_eq(baton_peertoken_parse(a, &token, &exp, errmsg),
			 BATON_ETOOLARGE);
	ck_assert_ptr_null(token);
	ck_assert_ptr_nonnull(strstr(errmsg, "at most"));
	json_decref(a);
	big[BATON_PEERTOKEN_MAX_TOKEN] = '\0'; /* exactly the cap: fine */
	a = json_pack("{s:s, s:s}", "token", big, "expirationTimestamp",
		      "2026-12-05T23:47:24Z");
	ck_assert_int_eq(baton_peertoken_parse(a, &token, &exp, errmsg), 0);
	free(token);
	json_decref(a);
	free(big);
}
END_TEST

START_TEST(jwt_expiry)
{
	/* header {"alg":"none"}, payload {"exp":1796514444,"sub":"x?"}
	 * (base64url, no padding) */
	ck_assert_int_eq(baton_peertoken_jwt_exp_ms(
			     "eyJhbGciOiJub25lIn0."
			     "eyJleHAiOjE3OTY1MTQ0NDQsInN1YiI6Ing_In0.s"),
			 T0);
	ck_assert_int_eq(baton_peertoken_jwt_exp_ms("opaque"), -1);
	ck_assert_int_eq(baton_peertoken_jwt_exp_ms("a..b"), -1);
	ck_assert_int_eq(baton_peertoken_jwt_exp_ms("a.e30.b"), -1); /* {} */
	ck_assert_int_eq(baton_peertoken_jwt_exp_ms(NULL), -1);
}
END_TEST

START_TEST(refresh_at_half_life_with_jitter)
{
	int64_t life = 3600 * 1000;
	/* no jitter: exactly half */
	ck_assert_int_eq(baton_peertoken_next_ms(T0, T0, T0 + life, 0, 0),
			 T0 + life / 2);
	/* jitter takes up to a tenth of the life off, never adds */
	for (uint32_t r = 1; r < 4000000000u; r += 77777777u) {
		int64_t n =
		    baton_peertoken_next_ms(T0 + 5, T0, T0 + life, 0, r);
		ck_assert(n <= T0 + life / 2);
		ck_assert(n > T0 + life / 2 - life / 10);
	}
	/* a token that came expired: at once */
	ck_assert_int_eq(baton_peertoken_next_ms(T0, T0, T0, 0, 123), T0);
}
END_TEST

START_TEST(retry_backoff_is_bounded_and_jittered)
{
	int64_t prev_hi = 0;
	for (unsigned f = 1; f <= 40; f++) {
		int64_t lo =
		    baton_peertoken_next_ms(T0, T0, T0 + 1000, f, 0) - T0;
		int64_t hi =
		    baton_peertoken_next_ms(T0, T0, T0 + 1000, f, UINT32_MAX) -
		    T0;
		ck_assert(lo >= BATON_PEERTOKEN_RETRY_MIN_MS / 2);
		ck_assert(hi <= BATON_PEERTOKEN_RETRY_MAX_MS);
		ck_assert(lo <= hi);
		ck_assert(hi >= prev_hi ||
			  hi >= BATON_PEERTOKEN_RETRY_MAX_MS / 2);
		prev_hi = hi;
	}
	/* first retry within 0.5-1 s, the cap within 30-60 s */
	ck_assert(baton_peertoken_next_ms(T0, 0, 0, 1, 0) - T0 == 500);
	ck_assert(baton_peertoken_next_ms(T0, 0, 0, 30, 0) - T0 == 30000);
}
END_TEST

START_TEST(low_at_a_quarter_or_five_minutes)
{
	int64_t hour = 3600 * 1000;
	ck_assert(!baton_peertoken_low(T0, T0 + hour, hour));
	ck_assert(!baton_peertoken_low(T0, T0 + hour / 4 + 1, hour));
	ck_assert(baton_peertoken_low(T0, T0 + hour / 4 - 1, hour));
	/* a short token: the 5-minute floor */
	ck_assert(baton_peertoken_low(T0, T0 + 4 * 60 * 1000, 10 * 60 * 1000));
	/* an unknown life (the bootstrap): the floor alone */
	ck_assert(!baton_peertoken_low(T0, T0 + 6 * 60 * 1000, 0));
	ck_assert(baton_peertoken_low(T0, T0 - 1, 0));
}
END_TEST

/* ---- start and stop ---- */

struct life {
	uv_loop_t loop;
	struct baton_batond_config cfg;
	struct baton_metrics metrics;
	struct baton_peertoken_config pc;
	struct baton_peertoken p;
	char dir[64];
	bool closed;
};

/* A self-signed certificate and its key in DIR (tls.ca, .cert, .key: the
 * peer API client only loads them, nobody answers). */
static void write_tls(const char *dir, struct baton_batond_config *cfg)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_NAME *name;
	char path[128];
	FILE *f;

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(cert);
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"eu", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	ck_assert(X509_sign(cert, key, EVP_sha256()) > 0);
	snprintf(path, sizeof path, "%s/tls.crt", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert(PEM_write_X509(f, cert));
	fclose(f);
	ck_assert_int_eq(baton_batond_config_set(&cfg->tls_ca, path), 0);
	ck_assert_int_eq(baton_batond_config_set(&cfg->tls_cert, path), 0);
	snprintf(path, sizeof path, "%s/tls.key", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
	ck_assert_int_eq(baton_batond_config_set(&cfg->tls_key, path), 0);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* Peer "us": a bootstrap kubeconfig holding a token, a peer API nobody
 * listens on. */
static void add_peer(struct life *l)
{
	struct baton_batond_peer *bp = &l->cfg.peers[l->cfg.n_peers++];
	char path[128], addr[64];
	FILE *f;

	snprintf(path, sizeof path, "%s/us.bootstrap", l->dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f,
		"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
		"clusters:\n- name: c\n  cluster:\n    server: "
		"https://127.0.0.1:%d\n    insecure-skip-tls-verify: true\n"
		"users:\n- name: u\n  user:\n    token: abc\n"
		"contexts:\n- name: c\n  context: {cluster: c, user: u}\n",
		tst_closed_port());
	fclose(f);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", tst_closed_port());
	ck_assert_int_eq(baton_batond_config_set(&bp->name, "us"), 0);
	ck_assert_int_eq(baton_batond_config_set(&bp->kubeconfig, path), 0);
	ck_assert_int_eq(baton_batond_config_set(&bp->api_address, addr), 0);
}

/* A new temporary directory; rotating into TOKENS (under it, or TOKENS
 * itself when absolute; NULL: peer tokens off), with peer "us" when
 * PEER. */
static void life_init(struct life *l, const char *tokens, bool peer)
{
	char path[128];

	memset(l, 0, sizeof *l);
	ck_assert_int_eq(uv_loop_init(&l->loop), 0);
	snprintf(l->dir, sizeof l->dir, "/tmp/baton-peertoken-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(l->dir));
	baton_batond_config_defaults(&l->cfg);
	ck_assert_int_eq(baton_batond_config_set(&l->cfg.region, "eu"), 0);
	if (tokens != NULL) {
		if (tokens[0] == '/') {
			snprintf(path, sizeof path, "%s", tokens);
		} else {
			snprintf(path, sizeof path, "%s/%s", l->dir, tokens);
		}
		ck_assert_int_eq(
		    baton_batond_config_set(&l->cfg.peer_token_dir, path), 0);
	}
	if (peer) {
		write_tls(l->dir, &l->cfg);
		add_peer(l);
	}
	baton_metrics_init(&l->metrics);
	/* no kube client: nothing is minted without a peer asking */
	l->pc = (struct baton_peertoken_config){.cfg = &l->cfg,
						.metrics = &l->metrics};
	l->p.data = l;
}

/* The loop run dry (a failed init's closes finish there), then nothing
 * is left: uv_loop_close() == 0, and ASan finds no leak. */
static void life_free(struct life *l)
{
	char cmdline[128];

	LOOP_TEARDOWN(&l->loop);
	baton_metrics_free(&l->metrics);
	baton_batond_config_free(&l->cfg);
	snprintf(cmdline, sizeof cmdline, "rm -rf %s", l->dir);
	ck_assert_int_eq(system(cmdline), 0);
}

static void life_closed_cb(struct baton_peertoken *p)
{
	struct life *l = p->data;
	ck_assert(!l->closed);
	l->closed = true;
}

static void life_close(struct life *l)
{
	baton_peertoken_close(&l->p, life_closed_cb);
	ck_assert(!l->closed); /* on the loop, never from the close */
	LOOP_RUN_UNTIL(&l->loop, l->closed);
}

START_TEST(init_and_close)
{
	struct life l;
	char errmsg[BATON_ERRMSG_SIZE] = "";
	char path[128];

	life_init(&l, "tokens", true);
	ck_assert_int_eq(baton_peertoken_init(&l.loop, &l.p, &l.pc, errmsg), 0);
	ck_assert_ptr_eq(l.p.data, &l); /* kept */
	/* the peer's kubeconfig now reads the rotating token file */
	snprintf(path, sizeof path, "%s/tokens/us.kubeconfig", l.dir);
	ck_assert_str_eq(l.cfg.peers[0].kubeconfig, path);
	snprintf(path, sizeof path, "%s/tokens/us.token", l.dir);
	ck_assert_int_eq(access(path, R_OK), 0);
	/* its first fetch goes out at once (nobody answers) */
	uv_run(&l.loop, UV_RUN_NOWAIT);
	life_close(&l);
	life_free(&l);
}
END_TEST

/* Not configured: nothing is done, and a close is a close all the same. */
START_TEST(off_closes_all_the_same)
{
	struct baton_http_server srv;
	struct life l;
	char errmsg[BATON_ERRMSG_SIZE] = "";

	life_init(&l, NULL, false);
	ck_assert_int_eq(baton_peertoken_init(&l.loop, &l.p, &l.pc, errmsg), 0);
	/* no route: serving is off too (the server is never touched) */
	memset(&srv, 0, sizeof srv);
	ck_assert_int_eq(baton_peertoken_serve(&l.p, &srv), 0);
	life_close(&l);
	life_free(&l);
}
END_TEST

/* peerTokens.dir cannot be made (a real failure, not an injected one):
 * the init closes the tick itself and calls nobody back. */
START_TEST(failed_init_closes_what_it_opened)
{
	struct life l;
	char errmsg[BATON_ERRMSG_SIZE] = "";

	life_init(&l, "/proc/baton-no/tokens", false);
	ck_assert_int_eq(baton_peertoken_init(&l.loop, &l.p, &l.pc, errmsg),
			 BATON_EIO);
	ck_assert_msg(strstr(errmsg, "peerTokens.dir") != NULL, "%s", errmsg);
	life_free(&l);
	ck_assert(!l.closed);
}
END_TEST

/* Every stage of an init with one rotating peer fails in turn: the token
 * directory, the peer's token file, its kubeconfig, its peer API client,
 * the rewritten path. Each returns an error with a message, calls nobody
 * back and leaves nothing open or allocated. */
START_TEST(init_fails_at_each_stage)
{
	struct life l;
	char errmsg[BATON_ERRMSG_SIZE] = "";
	unsigned n;

	life_init(&l, "tokens", true);
	baton_test_fail_at = 0;
	baton_test_fail_seen = 0;
	ck_assert_int_eq(baton_peertoken_init(&l.loop, &l.p, &l.pc, errmsg), 0);
	n = baton_test_fail_seen;
	life_close(&l);
	life_free(&l);
	ck_assert_uint_ge(n, 5);

	for (unsigned at = 1; at <= n; at++) {
		int rv;

		errmsg[0] = '\0';
		life_init(&l, "tokens", true);
		baton_test_fail_at = at;
		rv = baton_peertoken_init(&l.loop, &l.p, &l.pc, errmsg);
		baton_test_fail_at = 0;
		ck_assert_msg(rv != 0, "stage %u of %u did not fail", at, n);
		ck_assert_msg(errmsg[0] != '\0', "stage %u: no message", at);
		life_free(&l);
		ck_assert_msg(!l.closed, "stage %u: called back", at);
	}
}
END_TEST

static Suite *peertoken_suite(void)
{
	Suite *s = suite_create("batond_peertoken");
	TCase *tc = tcase_create("peertoken");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, parses_a_token_request_status);
	tcase_add_test(tc, expiry_is_utc_rfc3339);
	tcase_add_test(tc, bad_answers_are_errors_without_a_token);
	tcase_add_test(tc, oversized_token_is_too_large);
	tcase_add_test(tc, jwt_expiry);
	tcase_add_test(tc, refresh_at_half_life_with_jitter);
	tcase_add_test(tc, retry_backoff_is_bounded_and_jittered);
	tcase_add_test(tc, low_at_a_quarter_or_five_minutes);
	tcase_add_test(tc, init_and_close);
	tcase_add_test(tc, off_closes_all_the_same);
	tcase_add_test(tc, failed_init_closes_what_it_opened);
	tcase_add_test(tc, init_fails_at_each_stage);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(peertoken_suite)
