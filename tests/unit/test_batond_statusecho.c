/* Unit tests for operator/batond/statusecho: which DatabaseCluster updates
 * are only the echo of batond's own status write (issue 20). The
 * properties under test: the echo of the status the reconcile wanted is
 * one, whatever its keys' order; the resync, a status someone else wrote,
 * an older write an input change overtook, and any change of what batond
 * reads besides the status are not; without an intent (none recorded,
 * forgotten, beyond the bound, no table) nothing is an echo. The objects
 * are as the informer caches them (batond/cachefields.h: the status kept
 * as compressed text). */
#include <string.h>

#include "batond/cachefields.h"
#include "batond/statusecho.h"
#include "consensus/decider.h"
#include "common/labels.h"
#include "harness.h"

/* A DatabaseCluster as the informer caches it: resourceVersion RV,
 * generation GEN, spec.primaryRegion PRIMARY and the status STATUS (JSON
 * text, "" for none). Cached objects share equal parts (the intern pool):
 * a test changes one only before it is cached. */
static json_t *cached_spec(const char *rv, int gen, const char *primary,
			   const char *status, const char *md_key,
			   json_t *md_val)
{
	json_t *obj = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s, s:i, s:s, s:[s]}, s:{s:s}}",
	    "apiVersion", "baton.dev/v1alpha1", "kind", "DatabaseCluster",
	    "metadata", "name", "orders", "namespace", "shop", "uid",
	    "00000000-0000-4000-8000-000000000001", "generation", gen,
	    "resourceVersion", rv, "finalizers", BATON_FINALIZER, "spec",
	    "primaryRegion", primary);
	ck_assert_ptr_nonnull(obj);
	if (md_key != NULL && md_val != NULL) {
		json_object_set_new(json_object_get(obj, "metadata"), md_key,
				    md_val);
	} else if (md_key != NULL) {
		json_object_del(json_object_get(obj, "metadata"), md_key);
	}
	if (status[0] != '\0') {
		json_t *st = json_loads(status, 0, NULL);
		ck_assert_ptr_nonnull(st);
		json_object_set_new(obj, "status", st);
	}
	baton_cachefields_dbc_local(obj);
	return obj;
}

static json_t *cached(const char *rv, int gen, const char *status)
{
	return cached_spec(rv, gen, "eu-west", status, NULL, NULL);
}

static const char s_pending[] =
    "{\"phase\": \"Pending\", \"observedGeneration\": 1,"
    " \"conditions\": [{\"type\": \"Ready\", \"status\": \"False\"}]}";
static const char s_healthy[] =
    "{\"phase\": \"Healthy\", \"observedGeneration\": 1,"
    " \"conditions\": [{\"type\": \"Ready\", \"status\": \"True\"}]}";
/* s_healthy with its keys in another order */
static const char s_healthy_reordered[] =
    "{\"conditions\": [{\"status\": \"True\", \"type\": \"Ready\"}],"
    " \"observedGeneration\": 1, \"phase\": \"Healthy\"}";

static void intend(struct baton_statusecho *t, const char *db,
		   const char *status)
{
	json_t *st = json_loads(status, 0, NULL);
	ck_assert_ptr_nonnull(st);
	baton_statusecho_intend(t, db, st);
	json_decref(st);
}

START_TEST(the_echo_of_the_intent_is_one)
{
	struct baton_statusecho t;
	json_t *before = cached("10", 1, s_pending);
	json_t *after = cached("11", 1, s_healthy);

	baton_statusecho_init(&t, 100);
	/* nothing wanted yet: an update reconciles */
	ck_assert(!baton_statusecho_echo(&t, before, after));
	/* the reconcile wrote s_healthy: its watch event is the echo,
	 * whatever order the server's keys come in */
	intend(&t, "shop/orders", s_healthy_reordered);
	ck_assert_uint_eq(baton_statusecho_count(&t), 1);
	ck_assert(baton_statusecho_echo(&t, before, after));
	/* the informer's resync hands one object as both: never an echo
	 * (it is how drift is repaired) */
	ck_assert(!baton_statusecho_echo(&t, after, after));
	/* another database's intent is not this one's */
	baton_statusecho_forget(&t, "shop/orders");
	intend(&t, "shop/other", s_healthy);
	ck_assert(!baton_statusecho_echo(&t, before, after));
	baton_statusecho_free(&t);
	json_decref(before);
	json_decref(after);
}
END_TEST

START_TEST(another_status_reconciles)
{
	struct baton_statusecho t;
	json_t *before = cached("10", 1, s_pending);
	json_t *healthy = cached("11", 1, s_healthy);
	json_t *bare = cached("12", 1, "");

	baton_statusecho_init(&t, 100);
	/* someone else set s_healthy while batond wants s_pending */
	intend(&t, "shop/orders", s_pending);
	ck_assert(!baton_statusecho_echo(&t, before, healthy));
	/* the status removed */
	ck_assert(!baton_statusecho_echo(&t, healthy, bare));
	/* an older write's echo after a later reconcile found the status
	 * it wanted already there (an input changed back meanwhile): the
	 * later intent counts, the echo reconciles */
	intend(&t, "shop/orders", s_healthy);
	intend(&t, "shop/orders", s_pending);
	ck_assert(!baton_statusecho_echo(&t, before, healthy));
	/* a NULL status forgets */
	intend(&t, "shop/orders", s_healthy);
	baton_statusecho_intend(&t, "shop/orders", NULL);
	ck_assert_uint_eq(baton_statusecho_count(&t), 0);
	ck_assert(!baton_statusecho_echo(&t, before, healthy));
	baton_statusecho_free(&t);
	json_decref(before);
	json_decref(healthy);
	json_decref(bare);
}
END_TEST

/* What changed besides the status: a reconcile, whatever the status. */
START_TEST(any_other_change_reconciles)
{
	struct baton_statusecho t;
	json_t *before = cached("10", 1, s_pending);
	json_t *after;

	baton_statusecho_init(&t, 100);
	intend(&t, "shop/orders", s_healthy);

	/* a spec edit (and its generation) */
	after = cached("11", 2, s_healthy);
	ck_assert(!baton_statusecho_echo(&t, before, after));
	json_decref(after);
	after = cached_spec("11", 1, "us-east", s_healthy, NULL, NULL);
	ck_assert(!baton_statusecho_echo(&t, before, after));
	json_decref(after);
	/* the switchover annotation */
	after = cached_spec(
	    "11", 1, "eu-west", s_healthy, "annotations",
	    json_pack("{s:s}", BATON_ANNOTATION_SWITCHOVER, "us-east/1"));
	ck_assert(!baton_statusecho_echo(&t, before, after));
	json_decref(after);
	/* the deletion, the finalizers */
	after = cached_spec("11", 1, "eu-west", s_healthy, "deletionTimestamp",
			    json_string("2026-12-07T08:00:00Z"));
	ck_assert(!baton_statusecho_echo(&t, before, after));
	json_decref(after);
	after = cached_spec("11", 1, "eu-west", s_healthy, "finalizers", NULL);
	ck_assert(!baton_statusecho_echo(&t, before, after));
	json_decref(after);
	/* a key only the old object had */
	after = cached("11", 1, s_healthy);
	json_object_set_new(before, "extra", json_true());
	ck_assert(!baton_statusecho_echo(&t, before, after));
	json_object_del(before, "extra");
	/* and with nothing else changed, it is the echo */
	ck_assert(baton_statusecho_echo(&t, before, after));
	json_decref(after);

	baton_statusecho_free(&t);
	json_decref(before);
}
END_TEST

START_TEST(bounded_and_null)
{
	struct baton_statusecho t;
	json_t *before = cached("10", 1, s_pending);
	json_t *after = cached("11", 1, s_healthy);
	char long_name[BATON_NAME_SIZE + 16];

	ck_assert(!baton_statusecho_echo(NULL, before, after));
	baton_statusecho_init(&t, 1);
	intend(&t, "shop/first", s_healthy);
	/* beyond the bound: not remembered, its updates reconcile */
	intend(&t, "shop/orders", s_healthy);
	ck_assert_uint_eq(baton_statusecho_count(&t), 1);
	ck_assert(!baton_statusecho_echo(&t, before, after));
	/* a name longer than the FSM's is never remembered */
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	baton_statusecho_forget(&t, "shop/first");
	intend(&t, long_name, s_healthy);
	ck_assert_uint_eq(baton_statusecho_count(&t), 0);
	baton_statusecho_free(&t);
	/* a zeroed, never initialised table frees */
	memset(&t, 0, sizeof t);
	baton_statusecho_free(&t);
	json_decref(before);
	json_decref(after);
}
END_TEST

/* A reconcile that reads the cache before its own last status write
 * reached it waits (the write's watch event wakes it) instead of writing
 * the same status again from the stale one; the wait ends when the cache
 * has the write, when the write was not sent, or after the bound. */
START_TEST(a_cache_behind_its_own_write_waits_for_it)
{
	struct baton_statusecho t;
	json_t *none = cached("10", 1, "");
	json_t *written = cached("11", 1, s_healthy);
	json_t *st_pending = json_loads(s_pending, 0, NULL);
	json_t *st_healthy = json_loads(s_healthy_reordered, 0, NULL);
	const char *db = "shop/orders";

	baton_statusecho_init(&t, 100);
	/* nothing written: never behind */
	ck_assert(!baton_statusecho_behind(&t, db, NULL, 1000));
	intend(&t, db, s_healthy);
	ck_assert(!baton_statusecho_behind(&t, db, NULL, 1000));
	/* written at 1000 ms; the cache still has no status, or an older
	 * one: behind, until the bound */
	baton_statusecho_writing(&t, db, 1000);
	ck_assert(baton_statusecho_behind(&t, db, NULL, 1000));
	ck_assert(baton_statusecho_behind(&t, db, st_pending, 1005));
	ck_assert(baton_statusecho_behind(
	    &t, db, NULL, 1000 + BATON_STATUSECHO_BEHIND_MS - 1));
	/* while it waits the write's watch event is its wake-up, not an
	 * echo to drop */
	ck_assert(!baton_statusecho_echo(&t, none, written));
	/* the cache has it (any key order): no wait, and it is cleared */
	ck_assert(!baton_statusecho_behind(&t, db, st_healthy, 1010));
	ck_assert(!baton_statusecho_behind(&t, db, NULL, 1011));
	/* ... and later echoes are echoes again */
	ck_assert(baton_statusecho_echo(&t, none, written));

	/* past the bound (the echo lost, someone else's write): the cache
	 * is believed again, for good */
	baton_statusecho_writing(&t, db, 5000);
	ck_assert(baton_statusecho_behind(&t, db, NULL, 5001));
	ck_assert(!baton_statusecho_behind(&t, db, NULL,
					   5000 + BATON_STATUSECHO_BEHIND_MS));
	ck_assert(!baton_statusecho_behind(&t, db, NULL, 5002));
	ck_assert(baton_statusecho_echo(&t, none, written));
	/* a clock that went back is not trusted either */
	baton_statusecho_writing(&t, db, 9000);
	ck_assert(!baton_statusecho_behind(&t, db, NULL, 8999));

	/* a write that failed leaves nothing to wait for */
	baton_statusecho_writing(&t, db, 10000);
	baton_statusecho_unsent(&t, db);
	ck_assert(!baton_statusecho_behind(&t, db, NULL, 10001));
	/* a new intent (a reconcile that found its status there) too */
	baton_statusecho_writing(&t, db, 11000);
	intend(&t, db, s_pending);
	ck_assert(!baton_statusecho_behind(&t, db, NULL, 11001));
	/* unknown databases, and a table without the database */
	baton_statusecho_writing(&t, "shop/other", 12000);
	ck_assert(!baton_statusecho_behind(&t, "shop/other", NULL, 12001));
	baton_statusecho_unsent(&t, "shop/other");

	baton_statusecho_free(&t);
	json_decref(st_pending);
	json_decref(st_healthy);
	json_decref(none);
	json_decref(written);
}
END_TEST

static Suite *statusecho_suite(void)
{
	Suite *s = suite_create("batond_statusecho");
	TCase *tc = tcase_create("echo");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, the_echo_of_the_intent_is_one);
	tcase_add_test(tc, another_status_reconciles);
	tcase_add_test(tc, any_other_change_reconciles);
	tcase_add_test(tc, bounded_and_null);
	tcase_add_test(tc, a_cache_behind_its_own_write_waits_for_it);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(statusecho_suite)
