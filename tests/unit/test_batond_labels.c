/* Unit tests for operator/batond/labels: the label fence's planner. The
 * properties under test: exactly the wanted pod is labelled primary, every
 * other pod of the database replica, each with the FSM's epoch; a pod of
 * another database is never touched; a pod whose patch is in flight, or
 * landed moments ago while the cache lags, is not patched twice; at most
 * BATON_LABEL_SLOTS patches are in flight. */
#include <string.h>

#include "batond/labels.h"
#include "harness.h"

static struct baton_label_pod pod(const char *name, const char *role,
				  const char *epoch)
{
	struct baton_label_pod p = {"shop", name, "orders", role, epoch};
	return p;
}

START_TEST(the_wanted_pod_is_primary_the_others_replicas)
{
	struct baton_label_pod p = pod("orders-eu-0", NULL, NULL);

	ck_assert_str_eq(
	    baton_labels_want(&p, "shop", "orders", "orders-eu-0", "3"),
	    "primary");
	p = pod("orders-eu-1", NULL, NULL);
	ck_assert_str_eq(
	    baton_labels_want(&p, "shop", "orders", "orders-eu-0", "3"),
	    "replica");
	/* this region holds no valid lease: nobody is primary */
	p = pod("orders-eu-0", "primary", "3");
	ck_assert_str_eq(baton_labels_want(&p, "shop", "orders", "", "3"),
			 "replica");
}
END_TEST

START_TEST(a_pod_in_line_needs_nothing)
{
	struct baton_label_pod p = pod("orders-eu-0", "primary", "3");

	ck_assert_ptr_null(
	    baton_labels_want(&p, "shop", "orders", "orders-eu-0", "3"));
	p = pod("orders-eu-1", "replica", "3");
	ck_assert_ptr_null(
	    baton_labels_want(&p, "shop", "orders", "orders-eu-0", "3"));
	/* a new epoch relabels even the same role (fence before promote) */
	p = pod("orders-eu-0", "primary", "2");
	ck_assert_str_eq(
	    baton_labels_want(&p, "shop", "orders", "orders-eu-0", "3"),
	    "primary");
	p = pod("orders-eu-1", "fenced", "3");
	ck_assert_str_eq(
	    baton_labels_want(&p, "shop", "orders", "orders-eu-0", "3"),
	    "replica");
}
END_TEST

START_TEST(another_database_s_pod_is_never_touched)
{
	struct baton_label_pod p = pod("orders-eu-0", NULL, NULL);

	ck_assert_ptr_null(
	    baton_labels_want(&p, "other", "orders", "orders-eu-0", "3"));
	ck_assert_ptr_null(
	    baton_labels_want(&p, "shop", "carts", "orders-eu-0", "3"));
	p.cluster = NULL;
	ck_assert_ptr_null(
	    baton_labels_want(&p, "shop", "orders", "orders-eu-0", "3"));
	p = pod(NULL, NULL, NULL);
	ck_assert_ptr_null(baton_labels_want(&p, "shop", "orders", "", "3"));
}
END_TEST

START_TEST(a_patch_in_flight_or_just_landed_is_not_sent_twice)
{
	struct baton_label_req reqs[BATON_LABEL_SLOTS];

	memset(reqs, 0, sizeof reqs);
	snprintf(reqs[3].db, sizeof reqs[3].db, "shop/orders");
	snprintf(reqs[3].pod, sizeof reqs[3].pod, "orders-eu-0");
	reqs[3].epoch = 3;
	reqs[3].primary = true;
	reqs[3].busy = true;
	ck_assert(baton_labels_in_flight(reqs, BATON_LABEL_SLOTS, "shop/orders",
					 "orders-eu-0", true, 3, 10000));
	/* in flight: whatever it was for */
	ck_assert(baton_labels_in_flight(reqs, BATON_LABEL_SLOTS, "shop/orders",
					 "orders-eu-0", false, 4, 10000));
	ck_assert(!baton_labels_in_flight(reqs, BATON_LABEL_SLOTS,
					  "shop/orders", "orders-eu-1", true, 3,
					  10000));
	ck_assert(!baton_labels_in_flight(reqs, BATON_LABEL_SLOTS, "shop/carts",
					  "orders-eu-0", true, 3, 10000));

	/* landed at 10000: the same patch is taken as done for 2 s */
	reqs[3].busy = false;
	reqs[3].done_ms = 10000;
	ck_assert(baton_labels_in_flight(reqs, BATON_LABEL_SLOTS, "shop/orders",
					 "orders-eu-0", true, 3,
					 10000 + BATON_LABEL_SETTLE_MS - 1));
	ck_assert(!baton_labels_in_flight(reqs, BATON_LABEL_SLOTS,
					  "shop/orders", "orders-eu-0", true, 3,
					  10000 + BATON_LABEL_SETTLE_MS));
	/* another patch of the same pod is not held back */
	ck_assert(!baton_labels_in_flight(reqs, BATON_LABEL_SLOTS,
					  "shop/orders", "orders-eu-0", false,
					  3, 10001));
	ck_assert(!baton_labels_in_flight(reqs, BATON_LABEL_SLOTS,
					  "shop/orders", "orders-eu-0", true, 4,
					  10001));
	/* failed (done_ms 0): sent again */
	reqs[3].done_ms = 0;
	ck_assert(!baton_labels_in_flight(reqs, BATON_LABEL_SLOTS,
					  "shop/orders", "orders-eu-0", true, 3,
					  10001));
}
END_TEST

START_TEST(at_most_the_slots_are_in_flight)
{
	struct baton_label_req reqs[BATON_LABEL_SLOTS];

	memset(reqs, 0, sizeof reqs);
	ck_assert_int_eq(baton_labels_free_slot(reqs, BATON_LABEL_SLOTS), 0);
	for (int i = 0; i < BATON_LABEL_SLOTS; i++) {
		reqs[i].busy = true;
	}
	ck_assert_int_eq(baton_labels_free_slot(reqs, BATON_LABEL_SLOTS), -1);
	reqs[5].busy = false;
	ck_assert_int_eq(baton_labels_free_slot(reqs, BATON_LABEL_SLOTS), 5);
}
END_TEST

START_TEST(the_traffic_shifted_message_says_how_long_it_took)
{
	struct baton_label_req r;
	char msg[300];

	memset(&r, 0, sizeof r);
	snprintf(r.pod, sizeof r.pod, "orders-us-0");
	r.epoch = 7;
	baton_labels_shifted_message(&r, 42, msg, sizeof msg);
	ck_assert_str_eq(msg, "orders-us-0 labelled primary at epoch 7: the "
			      "primary Service selects it (42 ms after the "
			      "promote was applied here)");
	baton_labels_shifted_message(&r, -1, msg, sizeof msg);
	ck_assert_str_eq(msg, "orders-us-0 labelled primary at epoch 7: the "
			      "primary Service selects it (no promote "
			      "applied here since start)");
	/* bounded */
	baton_labels_shifted_message(&r, 42, msg, 20);
	ck_assert_uint_eq(strlen(msg), 19);
}
END_TEST

static Suite *labels_suite(void)
{
	Suite *s = suite_create("batond_labels");
	TCase *tc = tcase_create("plan");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, the_wanted_pod_is_primary_the_others_replicas);
	tcase_add_test(tc, a_pod_in_line_needs_nothing);
	tcase_add_test(tc, another_database_s_pod_is_never_touched);
	tcase_add_test(tc, a_patch_in_flight_or_just_landed_is_not_sent_twice);
	tcase_add_test(tc, at_most_the_slots_are_in_flight);
	tcase_add_test(tc, the_traffic_shifted_message_says_how_long_it_took);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(labels_suite)
