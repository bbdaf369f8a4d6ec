/* Unit tests for operator/batond/dbstate: the controller's per-database
 * records. The properties under test: a database's pods come back in the
 * order they were indexed (a changed pod moves to the end), once each; the
 * label waiters are served first come first served, each once however
 * often it asked; a proposal holds the next one back for a second; the
 * viewed primary is each record's own string; a record is freed once it
 * remembers nothing, by forget() (all but its pods and a fencing round
 * still out) and by free() (ASan checks nothing leaks); the bounds. */
#include <stdio.h>
#include <string.h>

#include "batond/dbstate.h"
#include "common/error.h"
#include "harness.h"

START_TEST(pods_in_the_order_they_were_indexed)
{
	struct baton_dbstate t;
	const struct baton_dbrec *r;

	baton_dbstate_init(&t);
	ck_assert_ptr_null(baton_dbstate_get(&t, "shop/orders"));
	ck_assert_int_eq(baton_dbstate_pod_add(&t, "shop/orders", "shop/o-0"),
			 0);
	ck_assert_int_eq(baton_dbstate_pod_add(&t, "shop/orders", "shop/o-1"),
			 0);
	ck_assert_int_eq(baton_dbstate_pod_add(&t, "shop/orders", "shop/o-2"),
			 0);
	/* twice is once */
	ck_assert_int_eq(baton_dbstate_pod_add(&t, "shop/orders", "shop/o-1"),
			 0);
	ck_assert_int_eq(baton_dbstate_pod_add(&t, "shop/carts", "shop/c-0"),
			 0);
	r = baton_dbstate_get(&t, "shop/orders");
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->n_pods, 3);
	ck_assert_str_eq(r->pods[0], "shop/o-0");
	ck_assert_str_eq(r->pods[1], "shop/o-1");
	ck_assert_str_eq(r->pods[2], "shop/o-2");
	/* an update is a delete and an add: the pod moves to the end */
	baton_dbstate_pod_del(&t, "shop/orders", "shop/o-0");
	ck_assert_int_eq(baton_dbstate_pod_add(&t, "shop/orders", "shop/o-0"),
			 0);
	ck_assert_uint_eq(r->n_pods, 3);
	ck_assert_str_eq(r->pods[0], "shop/o-1");
	ck_assert_str_eq(r->pods[1], "shop/o-2");
	ck_assert_str_eq(r->pods[2], "shop/o-0");
	/* unknown pods and databases: nothing */
	baton_dbstate_pod_del(&t, "shop/orders", "shop/o-9");
	baton_dbstate_pod_del(&t, "shop/nope", "shop/o-0");
	ck_assert_uint_eq(r->n_pods, 3);
	/* another database's pods are its own */
	ck_assert_uint_eq(baton_dbstate_get(&t, "shop/carts")->n_pods, 1);
	ck_assert_uint_eq(baton_dbstate_count(&t), 2);
	baton_dbstate_free(&t); /* with pods: ASan sees nothing leak */
	ck_assert_uint_eq(baton_dbstate_count(&t), 0);
	ck_assert_ptr_null(baton_dbstate_get(&t, "shop/orders"));
}
END_TEST

START_TEST(a_record_goes_with_the_last_thing_it_remembers)
{
	struct baton_dbstate t;
	char db[BATON_NAME_SIZE];

	baton_dbstate_init(&t);
	baton_dbstate_pod_add(&t, "a/x", "a/x-0");
	baton_dbstate_pod_add(&t, "a/x", "a/x-1");
	baton_dbstate_pod_del(&t, "a/x", "a/x-1");
	ck_assert_ptr_nonnull(baton_dbstate_get(&t, "a/x"));
	baton_dbstate_pod_del(&t, "a/x", "a/x-0");
	ck_assert_ptr_null(baton_dbstate_get(&t, "a/x"));

	/* a waiter without pods goes once it was served */
	ck_assert_int_eq(baton_dbstate_wait(&t, "a/x"), 0);
	ck_assert_uint_eq(baton_dbstate_count(&t), 1);
	ck_assert(baton_dbstate_next_waiting(&t, db, sizeof db));
	ck_assert_ptr_null(baton_dbstate_get(&t, "a/x"));

	/* a pod, a proposal and a view keep it; forget() leaves the pod */
	baton_dbstate_pod_add(&t, "a/x", "a/x-0");
	ck_assert_int_eq(baton_dbstate_proposed(&t, "a/x", 5000), 0);
	ck_assert_str_eq(baton_dbstate_primary(&t, "a/x", "eu"), "eu");
	baton_dbstate_wait(&t, "a/x");
	baton_dbstate_forget(&t, "a/x");
	ck_assert_ptr_nonnull(baton_dbstate_get(&t, "a/x"));
	ck_assert(!baton_dbstate_get(&t, "a/x")->label_waiting);
	ck_assert(!baton_dbstate_get(&t, "a/x")->proposed);
	ck_assert_str_eq(baton_dbstate_get(&t, "a/x")->primary, "");
	ck_assert(baton_dbstate_propose_due(&t, "a/x", 5001));
	ck_assert(!baton_dbstate_next_waiting(&t, db, sizeof db));
	baton_dbstate_pod_del(&t, "a/x", "a/x-0");
	ck_assert_uint_eq(baton_dbstate_count(&t), 0);

	/* without pods forget() frees it at once */
	baton_dbstate_primary(&t, "a/y", "us");
	baton_dbstate_proposed(&t, "a/y", 1);
	ck_assert_uint_eq(baton_dbstate_count(&t), 1);
	baton_dbstate_forget(&t, "a/y");
	ck_assert_uint_eq(baton_dbstate_count(&t), 0);
	baton_dbstate_forget(&t, "a/nope"); /* unknown: nothing */
	baton_dbstate_free(&t);
}
END_TEST

START_TEST(waiters_first_come_first_served_once_each)
{
	struct baton_dbstate t;
	char db[BATON_NAME_SIZE];

	baton_dbstate_init(&t);
	ck_assert(!baton_dbstate_next_waiting(&t, db, sizeof db));
	baton_dbstate_wait(&t, "n/a");
	baton_dbstate_wait(&t, "n/b");
	baton_dbstate_wait(&t, "n/a"); /* again: keeps its place */
	baton_dbstate_wait(&t, "n/c");
	ck_assert(baton_dbstate_next_waiting(&t, db, sizeof db));
	ck_assert_str_eq(db, "n/a");
	/* served, it queues at the end when it waits again */
	baton_dbstate_wait(&t, "n/a");
	ck_assert(baton_dbstate_next_waiting(&t, db, sizeof db));
	ck_assert_str_eq(db, "n/b");
	/* forget() takes a waiter out of the middle of the line */
	baton_dbstate_wait(&t, "n/d");
	baton_dbstate_forget(&t, "n/a");
	ck_assert(baton_dbstate_next_waiting(&t, db, sizeof db));
	ck_assert_str_eq(db, "n/c");
	ck_assert(baton_dbstate_next_waiting(&t, db, sizeof db));
	ck_assert_str_eq(db, "n/d");
	ck_assert(!baton_dbstate_next_waiting(&t, db, sizeof db));
	ck_assert_uint_eq(baton_dbstate_count(&t), 0);
	/* waiters are freed with the table */
	baton_dbstate_wait(&t, "n/e");
	baton_dbstate_pod_add(&t, "n/e", "n/e-0");
	baton_dbstate_free(&t);
	ck_assert(!baton_dbstate_next_waiting(&t, db, sizeof db));
}
END_TEST

START_TEST(one_proposal_a_second)
{
	struct baton_dbstate t;

	baton_dbstate_init(&t);
	ck_assert(baton_dbstate_propose_due(&t, "n/a", 0)); /* no record */
	ck_assert_ptr_null(baton_dbstate_get(&t, "n/a"));
	baton_dbstate_proposed(&t, "n/a", 10000);
	ck_assert(!baton_dbstate_propose_due(&t, "n/a", 10000));
	ck_assert(!baton_dbstate_propose_due(&t, "n/a", 10999));
	ck_assert(baton_dbstate_propose_due(&t, "n/a", 11000));
	/* per database */
	ck_assert(baton_dbstate_propose_due(&t, "n/b", 10001));
	baton_dbstate_proposed(&t, "n/a", 11000);
	ck_assert(!baton_dbstate_propose_due(&t, "n/a", 11500));
	baton_dbstate_free(&t);
}
END_TEST

START_TEST(each_database_owns_its_primary)
{
	struct baton_dbstate t;
	const char *a, *b;

	baton_dbstate_init(&t);
	a = baton_dbstate_primary(&t, "n/a", "eu");
	b = baton_dbstate_primary(&t, "n/b", "us");
	/* the scratch buffer this replaces gave both the last one's */
	ck_assert_str_eq(a, "eu");
	ck_assert_str_eq(b, "us");
	ck_assert_ptr_ne(a, b);
	/* a new view rewrites the same string */
	ck_assert_ptr_eq(baton_dbstate_primary(&t, "n/a", "ap"), a);
	ck_assert_str_eq(a, "ap");
	/* and stays while other records come and go */
	for (int i = 0; i < 100; i++) {
		char db[32];
		snprintf(db, sizeof db, "n/x%d", i);
		baton_dbstate_pod_add(&t, db, "p");
	}
	for (int i = 0; i < 100; i++) {
		char db[32];
		snprintf(db, sizeof db, "n/x%d", i);
		baton_dbstate_pod_del(&t, db, "p");
	}
	ck_assert_ptr_eq(baton_dbstate_get(&t, "n/a")->primary, a);
	ck_assert_str_eq(a, "ap");
	ck_assert_uint_eq(baton_dbstate_count(&t), 2);
	baton_dbstate_free(&t);
}
END_TEST

START_TEST(a_fencing_round_outlives_forget_its_result_does_not)
{
	struct baton_dbstate t;
	struct baton_dbrec *r;

	baton_dbstate_init(&t);
	/* peer fencing keeps its round in the record (batond/peerfence.c) */
	r = baton_dbstate_obtain(&t, "n/a");
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_eq(baton_dbstate_obtain(&t, "n/a"), r);
	r->fencing = 2;
	/* deleted while requests are out: they end on their own */
	baton_dbstate_forget(&t, "n/a");
	ck_assert_ptr_eq(baton_dbstate_get(&t, "n/a"), r);
	ck_assert_int_eq(r->fencing, 2);
	/* the round ended: its epoch keeps the record ... */
	r->fencing = 0;
	r->fenced = true;
	r->fenced_epoch = 7;
	/* ... until the database is forgotten: recreated, its epochs start
	 * again, and it is fenced afresh */
	baton_dbstate_forget(&t, "n/a");
	ck_assert_ptr_null(baton_dbstate_get(&t, "n/a"));
	ck_assert_ptr_null(baton_dbstate_obtain(&t, ""));
	baton_dbstate_free(&t);
}
END_TEST

START_TEST(the_bounds)
{
	struct baton_dbstate t;
	char name[2 * BATON_NAME_SIZE];

	baton_dbstate_init(&t);
	/* a name dbspec_parse refuses: never stored */
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	ck_assert_int_eq(baton_dbstate_pod_add(&t, name, "n/p"), BATON_EINVAL);
	ck_assert_int_eq(baton_dbstate_wait(&t, name), BATON_EINVAL);
	ck_assert_ptr_null(baton_dbstate_primary(&t, name, "eu"));
	ck_assert_uint_eq(baton_dbstate_count(&t), 0);
	/* at most BATON_DBSTATE_MAX_PODS pods per database */
	for (int i = 0; i < BATON_DBSTATE_MAX_PODS; i++) {
		char pod[32];
		snprintf(pod, sizeof pod, "n/p-%d", i);
		ck_assert_int_eq(baton_dbstate_pod_add(&t, "n/a", pod), 0);
	}
	ck_assert_int_eq(baton_dbstate_pod_add(&t, "n/a", "n/one-more"),
			 BATON_ETOOLARGE);
	ck_assert_uint_eq(baton_dbstate_get(&t, "n/a")->n_pods,
			  BATON_DBSTATE_MAX_PODS);
	baton_dbstate_free(&t);
}
END_TEST

static Suite *dbstate_suite(void)
{
	Suite *s = suite_create("batond_dbstate");
	TCase *tc = tcase_create("records");
	tcase_add_test(tc, pods_in_the_order_they_were_indexed);
	tcase_add_test(tc, a_record_goes_with_the_last_thing_it_remembers);
	tcase_add_test(tc, waiters_first_come_first_served_once_each);
	tcase_add_test(tc, one_proposal_a_second);
	tcase_add_test(tc, each_database_owns_its_primary);
	tcase_add_test(tc, a_fencing_round_outlives_forget_its_result_does_not);
	tcase_add_test(tc, the_bounds);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(dbstate_suite)
