/* Unit tests for operator/kube/leaderelection: the pure lease decision
 * (client-go's observed-time rule) and option validation. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "harness.h"
#include "kube/leaderelection.h"

static json_t *lease(const char *holder, const char *renew, int transitions)
{
	return json_pack("{s:{s:s,s:i,s:s,s:s,s:i}}", "spec", "holderIdentity",
			 holder, "leaseDurationSeconds", 15, "acquireTime",
			 "2026-01-01T00:00:00.000000Z", "renewTime", renew,
			 "leaseTransitions", transitions);
}

START_TEST(free_lease_is_taken)
{
	struct baton_kube_lease_observed obs = {0};
	json_t *l = lease("", "t0", 0);
	ck_assert_int_eq(baton_kube_lease_decide(l, "me", 15000, &obs, 0),
			 BATON_KUBE_LEASE_TAKE);
	json_decref(l);
	l = json_object(); /* no spec at all */
	ck_assert_int_eq(baton_kube_lease_decide(l, "me", 15000, &obs, 0),
			 BATON_KUBE_LEASE_TAKE);
	json_decref(l);
	free(obs.record);
}
END_TEST

START_TEST(own_lease_is_renewed)
{
	struct baton_kube_lease_observed obs = {0};
	json_t *l = lease("me", "t0", 3);
	ck_assert_int_eq(baton_kube_lease_decide(l, "me", 15000, &obs, 0),
			 BATON_KUBE_LEASE_RENEW);
	json_decref(l);
	free(obs.record);
}
END_TEST

/* Remote timestamps are never trusted: only how long the record stayed
 * unchanged on our clock. */
START_TEST(observed_time_rule)
{
	struct baton_kube_lease_observed obs = {0};
	json_t *l = lease("other", "ancient-renew-time", 1);

	ck_assert_int_eq(baton_kube_lease_decide(l, "me", 15000, &obs, 1000),
			 BATON_KUBE_LEASE_WAIT);
	ck_assert_int_eq(baton_kube_lease_decide(l, "me", 15000, &obs, 15999),
			 BATON_KUBE_LEASE_WAIT);
	/* The holder renews: the clock restarts. */
	json_decref(l);
	l = lease("other", "newer", 1);
	ck_assert_int_eq(baton_kube_lease_decide(l, "me", 15000, &obs, 15999),
			 BATON_KUBE_LEASE_WAIT);
	ck_assert_int_eq(baton_kube_lease_decide(l, "me", 15000, &obs, 30998),
			 BATON_KUBE_LEASE_WAIT);
	ck_assert_int_eq(baton_kube_lease_decide(l, "me", 15000, &obs, 30999),
			 BATON_KUBE_LEASE_TAKE);
	json_decref(l);
	free(obs.record);
}
END_TEST

START_TEST(options_validated)
{
	struct baton_kube_leader le = {0};
	struct baton_kube_leader_opts o = {0};
	o.ns = "ns";
	o.name = "lock";
	o.identity = "me";
	o.lease_duration_ms = 10000;
	o.renew_deadline_ms = 10000; /* must be < lease duration */
	ck_assert_int_eq(baton_kube_leader_init(NULL, &le, &o), BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(le.errmsg, "renewDeadline"));
	o.lease_duration_ms = 15000;
	o.retry_period_ms = 9000; /* 1.2 × 9 s > 10 s */
	ck_assert_int_eq(baton_kube_leader_init(NULL, &le, &o), BATON_EINVAL);
	o.identity = "";
	ck_assert_int_eq(baton_kube_leader_init(NULL, &le, &o), BATON_EINVAL);
}
END_TEST

START_TEST(microtime_format)
{
	char buf[40];
	baton_clock_rfc3339(buf, sizeof buf, 6);
	ck_assert_uint_eq(strlen(buf), 27);
	ck_assert_int_eq(buf[10], 'T');
	ck_assert_int_eq(buf[19], '.');
	ck_assert_int_eq(buf[26], 'Z');
}
END_TEST

static Suite *lease_suite(void)
{
	Suite *s = suite_create("kube_lease");
	TCase *tc = tcase_create("lease");
	tcase_add_test(tc, free_lease_is_taken);
	tcase_add_test(tc, own_lease_is_renewed);
	tcase_add_test(tc, observed_time_rule);
	tcase_add_test(tc, options_validated);
	tcase_add_test(tc, microtime_format);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(lease_suite)
