/* Unit tests for operator/batond/applyhash: which children a reconcile
 * applies. The properties under test: the stamp is a function of the
 * desired state alone (key order, an old stamp in the object and a second
 * stamping change nothing; any change of content or identity changes it);
 * a database's first reconcile applies everything, an unchanged one
 * nothing; a changed object is applied alone; a failed apply is applied
 * again; FORCE, the refresh period and a clock that went back apply
 * everything; only pods that were cached and went force a full apply;
 * forget and the bound. What the API server makes of it:
 * tests/integration/itest_reconcile.c. */
#include <string.h>

#include "batond/applyhash.h"
#include "batond/children.h"
#include "batond/dbspec.h"
#include "common/labels.h"
#include "harness.h"

static const char cluster[] =
    "{\"apiVersion\": \"baton.dev/v1alpha1\", \"kind\": \"DatabaseCluster\","
    " \"metadata\": {\"name\": \"orders\", \"namespace\": \"shop\","
    "  \"uid\": \"00000000-0000-4000-8000-000000000001\"},"
    " \"spec\": {\"regions\": [{\"name\": \"eu-west\", \"role\": \"data\"},"
    "  {\"name\": \"us-east\", \"role\": \"data\"}],"
    "  \"primaryRegion\": \"eu-west\"%s}}";

/* The children of eu-west for the cluster with EXTRA in its spec, stamped:
 * H gets the stamps, the return value the objects (decref it). */
static json_t *children(const char *extra, uint64_t *h, unsigned *n)
{
	char errmsg[BATON_ERRMSG_SIZE];
	char text[sizeof cluster + 200];
	struct baton_dbspec spec;
	json_t *obj, *all, *o;
	size_t i;

	snprintf(text, sizeof text, cluster, extra);
	obj = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(baton_dbspec_parse(obj, &spec, errmsg), 0);
	json_decref(obj);
	all = json_array();
	ck_assert_int_eq(baton_children_desired(&spec, "eu-west",
						"http://batond:8080", NULL, all,
						errmsg),
			 0);
	ck_assert_uint_ge(json_array_size(all), 4);
	ck_assert_uint_le(json_array_size(all), BATON_APPLYHASH_MAX_OBJECTS);
	json_array_foreach(all, i, o)
	{
		ck_assert_int_eq(baton_applyhash_stamp(o, &h[i]), 0);
	}
	*n = (unsigned)json_array_size(all);
	return all;
}

static const char *annotation(json_t *o)
{
	return json_string_value(json_object_get(
	    json_object_get(json_object_get(o, "metadata"), "annotations"),
	    BATON_ANNOTATION_APPLIED_HASH));
}

START_TEST(the_stamp_is_the_desired_state)
{
	uint64_t h1[16], h2[16], h3[16], again;
	unsigned n1, n2, n3;
	json_t *a = children("", h1, &n1);
	json_t *b = children("", h2, &n2);
	json_t *c = children(", \"storage\": {\"size\": \"20Gi\"}", h3, &n3);
	json_t *o, *copy;
	char hex[17];

	/* the same spec, the same stamps; every object its own */
	ck_assert_uint_eq(n1, n2);
	for (unsigned i = 0; i < n1; i++) {
		ck_assert_uint_eq(h1[i], h2[i]);
		for (unsigned j = 0; j < i; j++) {
			ck_assert_uint_ne(h1[i], h1[j]);
		}
		/* the annotation says which */
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h1[i]);
		ck_assert_str_eq(annotation(json_array_get(a, i)), hex);
	}
	/* another storage size changes the StatefulSet (and only it) */
	ck_assert_uint_eq(n1, n3);
	ck_assert(memcmp(h1, h3, n1 * sizeof h1[0]) != 0);

	/* stamping again (the annotation is there) gives the same stamp */
	o = json_array_get(a, 0);
	ck_assert_int_eq(baton_applyhash_stamp(o, &again), 0);
	ck_assert_uint_eq(again, h1[0]);

	/* key order does not matter: rebuild the object in reverse */
	{
		const char *key;
		json_t *v;
		void *it;
		json_t *keys = json_array();
		copy = json_object();
		json_object_foreach(o, key, v)
		{
			json_array_append_new(keys, json_string(key));
		}
		for (size_t i = json_array_size(keys); i-- > 0;) {
			key = json_string_value(json_array_get(keys, i));
			json_object_set(copy, key, json_object_get(o, key));
		}
		it = json_object_iter(copy);
		ck_assert_str_ne(json_object_iter_key(it),
				 json_object_iter_key(json_object_iter(o)));
		json_decref(keys);
	}
	/* the copy shares metadata with O: give it its own */
	json_object_set_new(copy, "metadata",
			    json_deep_copy(json_object_get(o, "metadata")));
	ck_assert_int_eq(baton_applyhash_stamp(copy, &again), 0);
	ck_assert_uint_eq(again, h1[0]);

	/* any change of content does change it, and so does a stale
	 * annotation that is not batond's own */
	json_object_set_new(
	    json_object_get(json_object_get(copy, "metadata"), "annotations"),
	    "someone/else", json_string("x"));
	ck_assert_int_eq(baton_applyhash_stamp(copy, &again), 0);
	ck_assert_uint_ne(again, h1[0]);
	json_decref(copy);

	/* no metadata: refused */
	copy = json_pack("{s:s}", "kind", "Service");
	ck_assert_int_eq(baton_applyhash_stamp(copy, &again), BATON_EINVAL);
	json_decref(copy);

	json_decref(a);
	json_decref(b);
	json_decref(c);
}
END_TEST

static void all_live(bool *live, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		live[i] = true;
	}
}

START_TEST(only_what_changed_is_applied)
{
	struct baton_applyhash t;
	uint64_t h1[16], h2[16], since;
	bool skip[16], live[16];
	unsigned n1, n2, changed = 0;
	json_t *a = children("", h1, &n1);
	json_t *b = children(", \"storage\": {\"size\": \"20Gi\"}", h2, &n2);

	baton_applyhash_init(&t, 100, 60000);
	/* first reconcile: everything */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h1, n1, false,
					       1000, skip, &since),
			  n1);
	ck_assert_uint_eq(since, 1000);
	all_live(live, n1);
	ck_assert_int_eq(
	    baton_applyhash_done(&t, "shop/orders", h1, live, n1, since), 0);
	ck_assert_uint_eq(baton_applyhash_count(&t), 1);

	/* the same desired state: nothing, the set keeps its age */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h1, n1, false,
					       2000, skip, &since),
			  0);
	ck_assert_uint_eq(since, 1000);
	for (unsigned i = 0; i < n1; i++) {
		ck_assert(skip[i]);
	}
	/* another database with the same stamps is its own */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/other", h1, n1, false,
					       2000, skip, &since),
			  n1);

	/* the storage size changed: only the StatefulSet */
	for (unsigned i = 0; i < n2; i++) {
		changed += h1[i] != h2[i];
	}
	ck_assert_uint_eq(changed, 1);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h2, n2, false,
					       3000, skip, &since),
			  changed);
	for (unsigned i = 0; i < n2; i++) {
		ck_assert(skip[i] == (h1[i] == h2[i]));
	}
	all_live(live, n2);
	ck_assert_int_eq(
	    baton_applyhash_done(&t, "shop/orders", h2, live, n2, since), 0);
	/* back to the old size: that again (the set holds only what is
	 * live now) */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h1, n1, false,
					       4000, skip, &since),
			  changed);

	baton_applyhash_free(&t);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(a_failed_apply_is_applied_again)
{
	struct baton_applyhash t;
	uint64_t h[16], since;
	bool skip[16], live[16];
	unsigned n;
	json_t *a = children("", h, &n);

	baton_applyhash_init(&t, 100, 60000);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       0, skip, &since),
			  n);
	all_live(live, n);
	live[1] = false; /* its apply failed */
	ck_assert_int_eq(
	    baton_applyhash_done(&t, "shop/orders", h, live, n, since), 0);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       10, skip, &since),
			  1);
	ck_assert(!skip[1]);
	ck_assert(skip[0]);
	baton_applyhash_free(&t);
	json_decref(a);
}
END_TEST

START_TEST(force_refresh_and_clock_apply_everything)
{
	struct baton_applyhash t;
	uint64_t h[16], since;
	bool skip[16], live[16];
	unsigned n;
	json_t *a = children("", h, &n);

	baton_applyhash_init(&t, 100, 60000);
	baton_applyhash_plan(&t, "shop/orders", h, n, false, 100000, skip,
			     &since);
	all_live(live, n);
	baton_applyhash_done(&t, "shop/orders", h, live, n, since);

	/* forced (the region has no pods: its StatefulSet may be gone) */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, true,
					       100001, skip, &since),
			  n);
	ck_assert_uint_eq(since, 100001);
	/* just inside the refresh period: nothing; at its end: everything,
	 * and the period starts again */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       159999, skip, &since),
			  0);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       160000, skip, &since),
			  n);
	ck_assert_uint_eq(since, 160000);
	baton_applyhash_done(&t, "shop/orders", h, live, n, since);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       160001, skip, &since),
			  0);
	/* a clock that went back: everything */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       5, skip, &since),
			  n);
	/* forgotten (the database is gone): everything */
	baton_applyhash_forget(&t, "shop/orders");
	ck_assert_uint_eq(baton_applyhash_count(&t), 0);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       160002, skip, &since),
			  n);
	baton_applyhash_free(&t);
	json_decref(a);
}
END_TEST

/* What the reconcile does with the region's pods (issue 20): a database
 * whose StatefulSet has not made its pods yet is not applied in full at
 * each reconcile while it waits for them; one whose pods were cached and
 * are gone (its StatefulSet may have been deleted) is, once. */
START_TEST(only_pods_that_went_force_a_full_apply)
{
	struct baton_applyhash t;
	uint64_t h[16], since;
	bool skip[16], live[16];
	unsigned n;
	json_t *a = children("", h, &n);

	baton_applyhash_init(&t, 1, 60000);
	all_live(live, n);
	/* the first reconcile: no pod yet, no set: everything (the record
	 * pods_gone made is an empty set, its refresh base unset) */
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/orders", true));
	ck_assert_uint_eq(baton_applyhash_count(&t), 1);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       1000, skip, &since),
			  n);
	ck_assert_uint_eq(since, 1000);
	baton_applyhash_done(&t, "shop/orders", h, live, n, since);
	/* its status write, its registration: still no pod, nothing */
	for (int i = 0; i < 3; i++) {
		ck_assert(!baton_applyhash_pods_gone(&t, "shop/orders", true));
		ck_assert_uint_eq(
		    baton_applyhash_plan(&t, "shop/orders", h, n, false,
					 2000 + (uint64_t)i, skip, &since),
		    0);
	}
	/* the pods come, and stay */
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/orders", false));
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/orders", false));
	/* they go: once */
	ck_assert(baton_applyhash_pods_gone(&t, "shop/orders", true));
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/orders", true));
	/* back, gone again: once more */
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/orders", false));
	ck_assert(baton_applyhash_pods_gone(&t, "shop/orders", true));
	/* a database it cannot remember (the bound: one) is never "gone";
	 * its plan applies everything anyway */
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/other", false));
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/other", true));
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/other", h, n, false,
					       3000, skip, &since),
			  n);
	/* forgotten: a fresh start */
	baton_applyhash_forget(&t, "shop/orders");
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/orders", true));
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       4000, skip, &since),
			  n);
	baton_applyhash_free(&t);
	json_decref(a);
}
END_TEST

START_TEST(bounded)
{
	struct baton_applyhash t;
	uint64_t h[BATON_APPLYHASH_MAX_OBJECTS + 1] = {1, 2, 3}, since;
	bool skip[BATON_APPLYHASH_MAX_OBJECTS + 1];
	bool live[BATON_APPLYHASH_MAX_OBJECTS + 1] = {true, true, true};
	char long_name[100];

	baton_applyhash_init(&t, 2, 60000);
	ck_assert_int_eq(baton_applyhash_done(&t, "a/a", h, live, 3, 0), 0);
	ck_assert_int_eq(baton_applyhash_done(&t, "a/b", h, live, 3, 0), 0);
	/* a third database is not remembered: applied in full every time */
	ck_assert_int_eq(baton_applyhash_done(&t, "a/c", h, live, 3, 0),
			 BATON_ETOOLARGE);
	ck_assert_uint_eq(
	    baton_applyhash_plan(&t, "a/c", h, 3, false, 1, skip, &since), 3);
	ck_assert_uint_eq(
	    baton_applyhash_plan(&t, "a/a", h, 3, false, 1, skip, &since), 0);
	/* too many objects: forgotten, not truncated */
	ck_assert_int_eq(baton_applyhash_done(&t, "a/a", h, live,
					      BATON_APPLYHASH_MAX_OBJECTS + 1,
					      0),
			 BATON_ETOOLARGE);
	ck_assert_uint_eq(
	    baton_applyhash_plan(&t, "a/a", h, 3, false, 1, skip, &since), 3);
	/* a name longer than the FSM's */
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	ck_assert_int_eq(baton_applyhash_done(&t, long_name, h, live, 3, 0),
			 BATON_EINVAL);
	baton_applyhash_free(&t);
	/* a zeroed, never initialised table frees */
	memset(&t, 0, sizeof t);
	baton_applyhash_free(&t);
}
END_TEST

/* Seeding at start (batond/applyseed.h): the stamps a restarted batond
 * reads off the live children stand for its own applies, so an unchanged
 * database applies nothing, a changed object alone is applied, and the
 * set refreshes within the period, at a time drawn from the name. */
START_TEST(seeded_children_are_not_applied_again)
{
	struct baton_applyhash t;
	uint64_t h1[16], h2[16], since;
	bool skip[16], live[16];
	unsigned n1, n2, changed = 0;
	json_t *a = children("", h1, &n1);
	json_t *b = children(", \"storage\": {\"size\": \"20Gi\"}", h2, &n2);
	const uint64_t now = 10000000, period = 600000;

	baton_applyhash_init(&t, 100, period);
	for (unsigned i = 0; i < n1; i++) {
		ck_assert_int_eq(
		    baton_applyhash_seed(&t, "shop/orders", h1[i], now), 0);
		/* a stamp listed twice (two pages, two kinds) is one */
		ck_assert_int_eq(
		    baton_applyhash_seed(&t, "shop/orders", h1[i], now + 1), 0);
	}
	ck_assert_uint_eq(baton_applyhash_count(&t), 1);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h1, n1, false,
					       now, skip, &since),
			  0);
	/* the refresh base: set back by less than the period, from the
	 * name (the same in every process) */
	ck_assert_uint_eq(since,
			  baton_applyhash_seed_since(&t, "shop/orders", now));
	ck_assert_uint_le(since, now);
	ck_assert_uint_gt(since, now - period);
	/* the set refreshes in full once the period from it is over */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h1, n1, false,
					       since + period - 1, skip,
					       &since),
			  0);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h1, n1, false,
					       since + period, skip, &since),
			  n1);
	/* a changed desired state: that object alone */
	for (unsigned i = 0; i < n2; i++) {
		changed += h1[i] != h2[i];
	}
	ck_assert_uint_eq(changed, 1);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h2, n2, false,
					       now, skip, &since),
			  changed);
	/* a database nothing was seeded for: everything */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/other", h1, n1, false,
					       now, skip, &since),
			  n1);

	/* once a reconcile carried out a plan, the set is its own: a late
	 * page of the list (an old state of a child) changes nothing */
	all_live(live, n2);
	ck_assert_int_eq(
	    baton_applyhash_done(&t, "shop/orders", h2, live, n2, now), 0);
	ck_assert_int_eq(baton_applyhash_seed(&t, "shop/orders", h1[0], now),
			 BATON_EEXIST);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h1, n1, false,
					       now + 1, skip, &since),
			  changed);
	ck_assert_uint_eq(baton_applyhash_drop_seeded(&t), 0);
	ck_assert_uint_eq(baton_applyhash_count(&t), 1);
	baton_applyhash_free(&t);
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(a_seed_never_overrides_a_reconcile)
{
	struct baton_applyhash t;
	uint64_t h[16], since;
	bool skip[16];
	unsigned n;
	json_t *a = children("", h, &n);

	baton_applyhash_init(&t, 100, 60000);
	/* the reconcile came first (no pod yet: an empty set of its own) */
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/orders", true));
	ck_assert_int_eq(baton_applyhash_seed(&t, "shop/orders", h[0], 5),
			 BATON_EEXIST);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/orders", h, n, false,
					       5, skip, &since),
			  n);
	/* seeded, and its first reconcile sees no pods (the pod cache has
	 * not listed them yet): not forced, the set holds the live
	 * children; pods seen, then gone: forced, as for any set */
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(
		    baton_applyhash_seed(&t, "shop/seeded", h[i], 100000), 0);
	}
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/seeded", true));
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/seeded", h, n, false,
					       100000, skip, &since),
			  0);
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/seeded", false));
	ck_assert(baton_applyhash_pods_gone(&t, "shop/seeded", true));
	/* and that reconcile made the set its own */
	ck_assert_int_eq(baton_applyhash_seed(&t, "shop/seeded", h[0], 100000),
			 BATON_EEXIST);
	/* seeded with its pods there: nothing forced */
	for (unsigned i = 0; i < n; i++) {
		ck_assert_int_eq(
		    baton_applyhash_seed(&t, "shop/fine", h[i], 100000), 0);
	}
	ck_assert(!baton_applyhash_pods_gone(&t, "shop/fine", false));
	ck_assert_uint_eq(baton_applyhash_plan(&t, "shop/fine", h, n, false,
					       100000, skip, &since),
			  0);
	baton_applyhash_free(&t);
	json_decref(a);
}
END_TEST

START_TEST(seeding_is_bounded_and_spread)
{
	struct baton_applyhash t;
	uint64_t since, h[BATON_APPLYHASH_MAX_OBJECTS + 1];
	bool skip[BATON_APPLYHASH_MAX_OBJECTS + 1];
	unsigned tenths[10] = {0};
	char name[32];

	baton_applyhash_init(&t, 3, 600000);
	/* more stamps than a database has objects: dropped, not kept
	 * partly (its next reconcile applies everything) */
	for (unsigned i = 0; i <= BATON_APPLYHASH_MAX_OBJECTS; i++) {
		h[i] = 100 + i;
		ck_assert_int_eq(
		    baton_applyhash_seed(&t, "a/many", h[i], 1000000),
		    i < BATON_APPLYHASH_MAX_OBJECTS ? 0 : BATON_ETOOLARGE);
	}
	ck_assert_uint_eq(baton_applyhash_count(&t), 0);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "a/many", h, 2, false,
					       1000000, skip, &since),
			  2);
	/* the bound on databases */
	ck_assert_int_eq(baton_applyhash_seed(&t, "a/a", 1, 1000000), 0);
	ck_assert_int_eq(baton_applyhash_seed(&t, "a/b", 1, 1000000), 0);
	ck_assert_int_eq(baton_applyhash_done(&t, "a/c", h, skip, 0, 0), 0);
	ck_assert_int_ne(baton_applyhash_seed(&t, "a/d", 1, 1000000), 0);
	/* sets no reconcile saw (children of a database deleted while
	 * batond was down) go; the reconcile's stays */
	ck_assert_uint_eq(baton_applyhash_drop_seeded(&t), 2);
	ck_assert_uint_eq(baton_applyhash_count(&t), 1);
	baton_applyhash_free(&t);

	/* the refresh bases of a thousand databases spread over nine
	 * tenths of the period: no tenth gets more than twice its share,
	 * and none is due in the first tenth after the start (the tenth
	 * farthest back is empty) */
	baton_applyhash_init(&t, 1000, 600000);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "bench/db-%u", i);
		since = baton_applyhash_seed_since(&t, name, 1000000);
		ck_assert_uint_le(since, 1000000);
		ck_assert_uint_gt(since, 1000000 - 600000);
		tenths[(1000000 - since) / 60000]++;
	}
	for (unsigned i = 0; i < 9; i++) {
		ck_assert_uint_gt(tenths[i], 50);
		ck_assert_uint_lt(tenths[i], 200);
	}
	ck_assert_uint_eq(tenths[9], 0);
	/* a clock younger than the period: the base is 0, not a wrap */
	ck_assert_uint_eq(baton_applyhash_seed_since(&t, "bench/db-1", 5), 0);
	baton_applyhash_free(&t);
}
END_TEST

/* The refresh sends at most ~10 applies a second whatever the fleet
 * (issue 20: 10 minutes for all was 50 a second at 5,000): the period
 * grows with the databases, and after a seed the refresh bases spread
 * over the period as it is then. */
START_TEST(the_refresh_period_grows_with_the_fleet)
{
	struct baton_applyhash t;
	uint64_t h[1] = {7}, since, lo = UINT64_MAX, hi = 0;
	bool skip[1], live[1] = {true};
	char name[32];
	const uint64_t now = 100000000;

	baton_applyhash_init(&t, 10000, 600000);
	ck_assert_uint_eq(baton_applyhash_period(&t), 600000);
	for (unsigned i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "a/db-%u", i);
		ck_assert_int_eq(baton_applyhash_done(&t, name, h, live, 1, 0),
				 0);
	}
	/* 1,000: the configured 10 minutes */
	ck_assert_uint_eq(baton_applyhash_period(&t), 600000);
	for (unsigned i = 1000; i < 5000; i++) {
		snprintf(name, sizeof name, "a/db-%u", i);
		ck_assert_int_eq(
		    baton_applyhash_seed(&t, name, h[0], now - 1000000), 0);
	}
	/* 5,000: 50 minutes */
	ck_assert_uint_eq(baton_applyhash_period(&t),
			  5000ull * BATON_APPLYHASH_REFRESH_PER_DB_MS);
	/* a set 10 minutes old is not due at 5,000 */
	ck_assert_uint_eq(baton_applyhash_plan(&t, "a/db-0", h, 1, false,
					       600000, skip, &since),
			  0);
	ck_assert_uint_eq(baton_applyhash_plan(&t, "a/db-0", h, 1, false,
					       3000000, skip, &since),
			  1);
	/* the seeded ones drew their bases while the period grew; spread
	 * again, they cover the whole 50 minutes */
	baton_applyhash_seed_spread(&t, now);
	for (unsigned i = 1000; i < 5000; i++) {
		snprintf(name, sizeof name, "a/db-%u", i);
		baton_applyhash_plan(&t, name, h, 1, false, now, skip, &since);
		ck_assert_uint_le(since, now);
		lo = since < lo ? since : lo;
		hi = since > hi ? since : hi;
	}
	/* over 40 of the first 45 of the 50 minutes */
	ck_assert_uint_gt(now - lo, 2400000);
	ck_assert_uint_lt(now - lo, 2700000);
	ck_assert_uint_lt(now - hi, 300000);
	baton_applyhash_free(&t);
}
END_TEST

static Suite *applyhash_suite(void)
{
	Suite *s = suite_create("batond_applyhash");
	TCase *tc = tcase_create("plan");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, the_stamp_is_the_desired_state);
	tcase_add_test(tc, only_what_changed_is_applied);
	tcase_add_test(tc, a_failed_apply_is_applied_again);
	tcase_add_test(tc, force_refresh_and_clock_apply_everything);
	tcase_add_test(tc, only_pods_that_went_force_a_full_apply);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, seeded_children_are_not_applied_again);
	tcase_add_test(tc, a_seed_never_overrides_a_reconcile);
	tcase_add_test(tc, seeding_is_bounded_and_spread);
	tcase_add_test(tc, the_refresh_period_grows_with_the_fleet);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(applyhash_suite)
