/* Unit tests for operator/batond/labels: the label fence's planner. The
 * properties under test: exactly the wanted pod is labelled primary, every
 * other pod of the database replica, each with the FSM's epoch; a pod of
 * another database is never touched; a pod whose patch is in flight, or
 * landed moments ago while the cache lags, is not patched twice; at most
 * BATON_LABEL_SLOTS patches are in flight; the wanted primary waits for
 * peer fencing while the replicas do not; a database that finds no free
 * slot waits for one. */
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

/* The planner's input for shop/orders at epoch 3, orders-eu-0 wanted
 * primary, every slot free, peer fencing done. */
static struct baton_label_req plan_reqs[BATON_LABEL_SLOTS];

static struct baton_label_plan_in plan_in(void)
{
	struct baton_label_plan_in in = {
	    .db = "shop/orders",
	    .ns = "shop",
	    .cluster = "orders",
	    .want_primary = "orders-eu-0",
	    .epoch = 3,
	    .reqs = plan_reqs,
	    .n_reqs = BATON_LABEL_SLOTS,
	    .now = 10000,
	    .fence_done = true,
	};
	memset(plan_reqs, 0, sizeof plan_reqs);
	return in;
}

static void busy(int slot, const char *pod, bool primary, uint64_t epoch)
{
	struct baton_label_req *r = &plan_reqs[slot];
	snprintf(r->db, sizeof r->db, "shop/orders");
	snprintf(r->pod, sizeof r->pod, "%s", pod);
	r->primary = primary;
	r->epoch = epoch;
	r->busy = true;
}

static void assert_action(const struct baton_label_plan *plan, int i,
			  unsigned pod, bool primary, int slot)
{
	ck_assert_int_gt(plan->n, i);
	ck_assert_uint_eq(plan->actions[i].pod, pod);
	ck_assert_int_eq(plan->actions[i].primary, primary);
	ck_assert_str_eq(plan->actions[i].role,
			 primary ? "primary" : "replica");
	ck_assert_uint_eq(plan->actions[i].epoch, 3);
	ck_assert_int_eq(plan->actions[i].slot, slot);
}

START_TEST(a_fresh_database_is_labelled_in_the_cache_s_order)
{
	struct baton_label_plan_in in = plan_in();
	struct baton_label_pod pods[] = {
	    pod("orders-eu-1", NULL, NULL), pod("orders-eu-0", NULL, NULL),
	    pod("orders-eu-2", "replica", "3"), /* in line already */
	};
	struct baton_label_plan plan;

	baton_labels_plan(&in, pods, 3, &plan);
	ck_assert_int_eq(plan.n, 2);
	assert_action(&plan, 0, 0, false, 0);
	assert_action(&plan, 1, 1, true, 1);
	ck_assert(!plan.fence);
	ck_assert(!plan.wait);
	/* the same input, the same plan */
	baton_labels_plan(&in, pods, 3, &plan);
	ck_assert_int_eq(plan.n, 2);
	assert_action(&plan, 1, 1, true, 1);
}
END_TEST

START_TEST(the_primary_waits_for_peer_fencing_the_replicas_do_not)
{
	struct baton_label_plan_in in = plan_in();
	struct baton_label_pod pods[] = {
	    pod("orders-eu-0", "replica", "2"),
	    pod("orders-eu-1", "replica", "2"),
	};
	struct baton_label_plan plan;

	in.fence_done = false;
	baton_labels_plan(&in, pods, 2, &plan);
	ck_assert(plan.fence); /* ask peer fencing */
	ck_assert_int_eq(plan.n, 1);
	assert_action(&plan, 0, 1, false, 0);
	ck_assert(!plan.wait);

	/* fenced: planned again, the primary goes first (cache order) */
	in.fence_done = true;
	baton_labels_plan(&in, pods, 2, &plan);
	ck_assert(!plan.fence);
	ck_assert_int_eq(plan.n, 2);
	assert_action(&plan, 0, 0, true, 0);
	assert_action(&plan, 1, 1, false, 1);

	/* the primary in line: fencing is not asked for */
	pods[0] = pod("orders-eu-0", "primary", "3");
	in.fence_done = false;
	baton_labels_plan(&in, pods, 2, &plan);
	ck_assert(!plan.fence);
	ck_assert_int_eq(plan.n, 1);
	assert_action(&plan, 0, 1, false, 0);
}
END_TEST

START_TEST(a_stale_primary_is_demoted_whatever_peer_fencing_says)
{
	struct baton_label_plan_in in = plan_in();
	/* the region lost its lease: nobody here is primary */
	struct baton_label_pod pods[] = {
	    pod("orders-eu-0", "primary", "2"),
	};
	struct baton_label_plan plan;

	in.want_primary = "";
	in.fence_done = false;
	baton_labels_plan(&in, pods, 1, &plan);
	ck_assert(!plan.fence);
	ck_assert_int_eq(plan.n, 1);
	assert_action(&plan, 0, 0, false, 0);

	/* a promotion elsewhere in the region: the old primary (another
	 * ordinal, an older epoch) is relabelled replica at the new epoch
	 * even while the new primary waits for the peers */
	in.want_primary = "orders-eu-0";
	struct baton_label_pod moved[] = {
	    pod("orders-eu-0", "replica", "2"),
	    pod("orders-eu-1", "primary", "2"),
	};
	baton_labels_plan(&in, moved, 2, &plan);
	ck_assert(plan.fence);
	ck_assert_int_eq(plan.n, 1);
	assert_action(&plan, 0, 1, false, 0);
}
END_TEST

START_TEST(a_pod_with_a_patch_in_flight_is_skipped)
{
	struct baton_label_plan_in in = plan_in();
	struct baton_label_pod pods[] = {
	    pod("orders-eu-0", NULL, NULL),
	    pod("orders-eu-1", NULL, NULL),
	    pod("orders-eu-2", NULL, NULL),
	};
	struct baton_label_plan plan;

	busy(0, "orders-eu-0", true, 3);
	busy(2, "orders-eu-2", false, 2); /* whatever it was for */
	baton_labels_plan(&in, pods, 3, &plan);
	ck_assert_int_eq(plan.n, 1);
	assert_action(&plan, 0, 1, false, 1); /* the first free slot */

	/* landed moments ago, the cache lagging: not sent twice */
	plan_reqs[0].busy = false;
	plan_reqs[0].done_ms = in.now - 1;
	plan_reqs[2].busy = false;
	baton_labels_plan(&in, pods, 3, &plan);
	ck_assert_int_eq(plan.n, 2);
	assert_action(&plan, 0, 1, false, 0);
	assert_action(&plan, 1, 2, false, 1);
	/* the same pod of another database is not this one's */
	snprintf(plan_reqs[0].db, sizeof plan_reqs[0].db, "shop/carts");
	plan_reqs[0].busy = true;
	baton_labels_plan(&in, pods, 3, &plan);
	ck_assert_int_eq(plan.n, 3);
	assert_action(&plan, 0, 0, true, 1);
}
END_TEST

START_TEST(no_free_slot_means_wait)
{
	struct baton_label_plan_in in = plan_in();
	struct baton_label_pod pods[] = {
	    pod("orders-eu-0", NULL, NULL),
	    pod("orders-eu-1", NULL, NULL),
	    pod("orders-eu-2", NULL, NULL),
	};
	struct baton_label_plan plan;

	for (int i = 0; i < BATON_LABEL_SLOTS; i++) {
		busy(i, "other-eu-0", false, 3);
	}
	plan_reqs[4].busy = false;
	baton_labels_plan(&in, pods, 3, &plan);
	ck_assert_int_eq(plan.n, 1); /* one slot: the first pod takes it */
	assert_action(&plan, 0, 0, true, 4);
	ck_assert(plan.wait);

	plan_reqs[4].busy = true;
	baton_labels_plan(&in, pods, 3, &plan);
	ck_assert_int_eq(plan.n, 0);
	ck_assert(plan.wait);

	/* nothing to patch: no wait, however busy */
	struct baton_label_pod in_line[] = {
	    pod("orders-eu-0", "primary", "3"),
	    pod("orders-eu-1", "replica", "3"),
	};
	baton_labels_plan(&in, in_line, 2, &plan);
	ck_assert_int_eq(plan.n, 0);
	ck_assert(!plan.wait);
}
END_TEST

START_TEST(more_pods_than_slots_fill_them_then_wait)
{
	struct baton_label_plan_in in = plan_in();
	struct baton_label_pod pods[BATON_LABEL_SLOTS + 2];
	char names[BATON_LABEL_SLOTS + 2][32];
	struct baton_label_plan plan;

	for (int i = 0; i < BATON_LABEL_SLOTS + 2; i++) {
		snprintf(names[i], sizeof names[i], "orders-eu-%d", i + 1);
		pods[i] = pod(names[i], NULL, NULL);
	}
	baton_labels_plan(&in, pods, BATON_LABEL_SLOTS + 2, &plan);
	ck_assert_int_eq(plan.n, BATON_LABEL_SLOTS);
	for (int i = 0; i < BATON_LABEL_SLOTS; i++) {
		assert_action(&plan, i, (unsigned)i, false, i);
	}
	ck_assert(plan.wait);
}
END_TEST

START_TEST(pods_of_other_databases_are_ignored)
{
	struct baton_label_plan_in in = plan_in();
	struct baton_label_pod pods[] = {
	    pod("orders-eu-0", NULL, NULL), pod("orders-eu-1", NULL, NULL),
	    pod("carts-eu-0", NULL, NULL),
	    pod(NULL, NULL, NULL), /* gone from the cache */
	};
	struct baton_label_plan plan;

	pods[0].ns = "other"; /* another namespace's orders */
	pods[2].cluster = "carts";
	pods[1].cluster = NULL;
	for (int i = 0; i < BATON_LABEL_SLOTS; i++) {
		busy(i, "x", false, 3);
	}
	baton_labels_plan(&in, pods, 4, &plan);
	ck_assert_int_eq(plan.n, 0);
	ck_assert(!plan.wait); /* none of them needed a slot */
	ck_assert(!plan.fence);
	baton_labels_plan(&in, pods, 0, &plan);
	ck_assert_int_eq(plan.n, 0);
}
END_TEST

START_TEST(a_cached_pod_s_labels_and_the_patch)
{
	json_t *obj = json_pack(
	    "{s:{s:s, s:s, s:{s:s, s:s, s:s}}}", "metadata", "namespace",
	    "shop", "name", "orders-eu-0", "labels", "baton.dev/cluster",
	    "orders", "baton.dev/role", "replica", "baton.dev/epoch", "2");
	struct baton_label_pod p = baton_labels_pod(obj);
	struct baton_label_action a = {
	    .pod = 0, .role = "primary", .primary = true, .epoch = 3};
	json_t *patch, *want;

	ck_assert_str_eq(p.ns, "shop");
	ck_assert_str_eq(p.name, "orders-eu-0");
	ck_assert_str_eq(p.cluster, "orders");
	ck_assert_str_eq(p.role, "replica");
	ck_assert_str_eq(p.epoch, "2");
	json_decref(obj);
	/* gone from the cache: nothing, never a patch */
	p = baton_labels_pod(NULL);
	ck_assert_ptr_null(p.name);
	ck_assert_ptr_null(baton_labels_want(&p, "shop", "orders", "", "3"));

	patch = baton_labels_patch(&a);
	want = json_pack("{s:{s:{s:s, s:s}}}", "metadata", "labels",
			 "baton.dev/role", "primary", "baton.dev/epoch", "3");
	ck_assert(json_equal(patch, want));
	json_decref(patch);
	json_decref(want);
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
	tcase_add_test(tc, a_fresh_database_is_labelled_in_the_cache_s_order);
	tcase_add_test(tc,
		       the_primary_waits_for_peer_fencing_the_replicas_do_not);
	tcase_add_test(tc,
		       a_stale_primary_is_demoted_whatever_peer_fencing_says);
	tcase_add_test(tc, a_pod_with_a_patch_in_flight_is_skipped);
	tcase_add_test(tc, no_free_slot_means_wait);
	tcase_add_test(tc, more_pods_than_slots_fill_them_then_wait);
	tcase_add_test(tc, pods_of_other_databases_are_ignored);
	tcase_add_test(tc, a_cached_pod_s_labels_and_the_patch);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(labels_suite)
