/* Unit tests for operator/batond/peertoken: the token answer's parser (bad
 * input is an error and yields no token), the JWT expiry, the refresh
 * schedule (half life with jitter, bounded jittered backoff) and the "low"
 * rule; and its start's unwinding: a start that fails closes what it opened
 * (the tick timer) and hands nothing back (it used to hand back the
 * half-started object for the caller to stop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "batond/config.h"
#include "batond/peertoken.h"
#include "harness.h"
#include "http/metrics.h"

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
	bool stopped;
};

static void life_init(struct life *l, const char *dir)
{
	memset(l, 0, sizeof *l);
	ck_assert_int_eq(uv_loop_init(&l->loop), 0);
	baton_batond_config_defaults(&l->cfg);
	ck_assert_int_eq(baton_batond_config_set(&l->cfg.region, "eu"), 0);
	ck_assert_int_eq(baton_batond_config_set(&l->cfg.peer_token_dir, dir),
			 0);
	baton_metrics_init(&l->metrics);
	/* no kube client: nothing is minted without a peer asking */
	l->pc = (struct baton_peertoken_config){
	    .cfg = &l->cfg, .metrics = &l->metrics, .data = l};
}

static void life_free(struct life *l)
{
	LOOP_TEARDOWN(&l->loop);
	baton_metrics_free(&l->metrics);
	baton_batond_config_free(&l->cfg);
}

static void life_stopped_cb(void *data)
{
	((struct life *)data)->stopped = true;
}

START_TEST(start_and_stop)
{
	struct life l;
	struct baton_peertoken *p = NULL;
	char dir[] = "/tmp/baton-peertoken-XXXXXX";
	char errmsg[BATON_ERRMSG_SIZE] = "";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	life_init(&l, dir);
	ck_assert_int_eq(baton_peertoken_start(&l.loop, &l.pc, &p, errmsg), 0);
	ck_assert_ptr_nonnull(p);
	baton_peertoken_stop(p, life_stopped_cb);
	LOOP_RUN_UNTIL(&l.loop, l.stopped);
	life_free(&l);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* peerTokens.dir cannot be made, after the tick timer was opened: the
 * start closes it itself and hands nothing back; the loop then closes with
 * nothing left (ASan: nothing leaked). */
START_TEST(failed_start_closes_what_it_opened)
{
	struct life l;
	struct baton_peertoken *p = NULL;
	char errmsg[BATON_ERRMSG_SIZE] = "";

	life_init(&l, "/proc/baton-no/tokens");
	ck_assert_int_eq(baton_peertoken_start(&l.loop, &l.pc, &p, errmsg),
			 BATON_EIO);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(errmsg, "peerTokens.dir") != NULL, "%s", errmsg);
	life_free(&l);
	ck_assert(!l.stopped);
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
	tcase_add_test(tc, start_and_stop);
	tcase_add_test(tc, failed_start_closes_what_it_opened);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(peertoken_suite)
