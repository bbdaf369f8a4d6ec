/* Unit tests for consensus/index: lookup, insert and delete of thousands of
 * names (deletes in the middle of probe runs included), stable record
 * addresses, the cap, retain(), and the table's invariants after every step
 * of random churn checked against a plain array as the model. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "consensus/index.h"
#include "harness.h"

struct rec {
	uint64_t value;
	char name[24];
};

static void init(struct baton_index *ix, unsigned max)
{
	baton_index_init(ix, sizeof(struct rec), offsetof(struct rec, name),
			 sizeof((struct rec *)0)->name, max);
}

static struct rec *add(struct baton_index *ix, const char *name)
{
	void *item;
	ck_assert_int_eq(baton_index_add(ix, name, &item), 0);
	return item;
}

/* Every position has exactly one slot, every slot points at a record whose
 * name it finds, and nothing is reachable that was deleted. */
static void check_invariants(const struct baton_index *ix)
{
	unsigned used = 0, i;

	ck_assert_uint_le(ix->n, ix->items_cap);
	ck_assert_uint_le(ix->n, ix->max);
	if (ix->n > 0) {
		ck_assert_uint_le(2 * ix->n, ix->table_cap);
		ck_assert_uint_eq(ix->table_cap & (ix->table_cap - 1), 0);
	}
	for (i = 0; i < ix->table_cap; i++) {
		const struct baton_index_slot *s = &ix->table[i];
		const struct rec *r;
		if (s->pos == 0) {
			continue;
		}
		used++;
		ck_assert_uint_le(s->pos, ix->n);
		r = ix->items[s->pos - 1];
		/* a lookup of the record's own name lands on it */
		ck_assert_ptr_eq(baton_index_get(ix, r->name), r);
	}
	ck_assert_uint_eq(used, ix->n);
}

START_TEST(empty_and_never_initialised)
{
	struct baton_index ix;
	void *item;

	memset(&ix, 0, sizeof ix);
	baton_index_free(&ix); /* a zeroed index is valid and empty */
	init(&ix, 10);
	ck_assert_ptr_null(baton_index_get(&ix, "x"));
	ck_assert(!baton_index_del(&ix, "x"));
	ck_assert_uint_eq(baton_index_count(&ix), 0);
	ck_assert_int_eq(baton_index_add(&ix, "", &item), BATON_EINVAL);
	ck_assert_ptr_null(item);
	/* 23 bytes + NUL fit in name[24]; 24 do not */
	ck_assert_int_eq(
	    baton_index_add(&ix, "abcdefghijklmnopqrstuvwx", &item),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_index_add(&ix, "abcdefghijklmnopqrstuvw", &item),
			 0);
	ck_assert_str_eq(((struct rec *)item)->name, "abcdefghijklmnopqrstuvw");
	ck_assert_uint_eq(((struct rec *)item)->value, 0); /* zeroed */
	baton_index_free(&ix);
	ck_assert_uint_eq(baton_index_count(&ix), 0);
	baton_index_free(&ix); /* twice is fine */
}
END_TEST

START_TEST(insert_lookup_remove_many)
{
	struct baton_index ix;
	struct rec *recs[5000];
	char name[24];
	unsigned k, n = 5000;
	void *item;

	init(&ix, 10000);
	for (k = 0; k < n; k++) {
		snprintf(name, sizeof name, "default/db-%05u", k);
		recs[k] = add(&ix, name);
		recs[k]->value = k;
	}
	ck_assert_uint_eq(baton_index_count(&ix), n);
	check_invariants(&ix);
	for (k = 0; k < n; k++) {
		snprintf(name, sizeof name, "default/db-%05u", k);
		ck_assert_ptr_eq(baton_index_get(&ix, name), recs[k]);
		ck_assert_int_eq(baton_index_add(&ix, name, &item),
				 BATON_EEXIST);
		ck_assert_ptr_eq(item, recs[k]);
	}
	ck_assert_ptr_null(baton_index_get(&ix, "default/db-05000"));
	ck_assert_ptr_null(baton_index_get(&ix, "default/db-0000"));

	/* remove the middle: records before and after keep their address */
	for (k = 1000; k < 4000; k++) {
		snprintf(name, sizeof name, "default/db-%05u", k);
		ck_assert(baton_index_del(&ix, name));
		ck_assert(!baton_index_del(&ix, name));
	}
	check_invariants(&ix);
	ck_assert_uint_eq(baton_index_count(&ix), 2000);
	for (k = 0; k < n; k++) {
		snprintf(name, sizeof name, "default/db-%05u", k);
		if (k >= 1000 && k < 4000) {
			ck_assert_ptr_null(baton_index_get(&ix, name));
		} else {
			ck_assert_ptr_eq(baton_index_get(&ix, name), recs[k]);
			ck_assert_uint_eq(recs[k]->value, k);
		}
	}
	/* iteration visits each remaining record once */
	{
		uint64_t sum = 0, want = 0;
		for (k = 0; k < baton_index_count(&ix); k++) {
			sum += ((struct rec *)baton_index_at(&ix, k))->value;
		}
		for (k = 0; k < n; k++) {
			want += k >= 1000 && k < 4000 ? 0 : k;
		}
		ck_assert_uint_eq(sum, want);
	}
	baton_index_free(&ix);
}
END_TEST

START_TEST(the_cap_is_enforced)
{
	struct baton_index ix;
	char name[24];
	unsigned k;
	void *item;

	init(&ix, 100);
	for (k = 0; k < 100; k++) {
		snprintf(name, sizeof name, "n%u", k);
		add(&ix, name);
	}
	ck_assert_int_eq(baton_index_add(&ix, "n100", &item), BATON_ETOOLARGE);
	ck_assert_ptr_null(item);
	ck_assert_int_eq(baton_index_add(&ix, "n5", &item), BATON_EEXIST);
	ck_assert_uint_le(ix.items_cap, 100);
	ck_assert(baton_index_del(&ix, "n5"));
	add(&ix, "n100");
	ck_assert_int_eq(baton_index_add(&ix, "n101", &item), BATON_ETOOLARGE);
	check_invariants(&ix);
	baton_index_free(&ix);
}
END_TEST

static bool keep_odd(const void *item, void *data)
{
	const struct rec *r = item;
	(*(unsigned *)data)++;
	return r->value % 2 == 1;
}

START_TEST(retain_deletes_what_it_is_told_to)
{
	struct baton_index ix;
	char name[24];
	unsigned k, calls = 0;

	init(&ix, 4096);
	for (k = 0; k < 1000; k++) {
		snprintf(name, sizeof name, "r%u", k);
		add(&ix, name)->value = k;
	}
	baton_index_retain(&ix, keep_odd, &calls);
	ck_assert_uint_eq(calls, 1000); /* each record asked once */
	ck_assert_uint_eq(baton_index_count(&ix), 500);
	check_invariants(&ix);
	for (k = 0; k < 1000; k++) {
		snprintf(name, sizeof name, "r%u", k);
		if (k % 2 == 1) {
			ck_assert_ptr_nonnull(baton_index_get(&ix, name));
		} else {
			ck_assert_ptr_null(baton_index_get(&ix, name));
		}
	}
	baton_index_free(&ix);
}
END_TEST

/* Random adds and deletes over a small name space (long probe runs,
 * wrap-around at the table's end, deletes in the middle of runs), checked
 * against a plain array after every step. */
START_TEST(random_churn_matches_a_model)
{
	enum { NAMES = 700 };
	struct baton_index ix;
	struct rec *model[NAMES] = {0};
	unsigned seed = 42, step;
	char name[24];

	init(&ix, 4096);
	for (step = 0; step < 30000; step++) {
		unsigned k = (unsigned)rand_r(&seed) % NAMES;
		snprintf(name, sizeof name, "%u", k * 2654435761u);
		if (model[k] == NULL) {
			model[k] = add(&ix, name);
			model[k]->value = k;
		} else if (rand_r(&seed) % 3 != 0) {
			ck_assert(baton_index_del(&ix, name));
			model[k] = NULL;
		}
		if (step % 97 == 0) {
			unsigned j, live = 0;
			check_invariants(&ix);
			for (j = 0; j < NAMES; j++) {
				snprintf(name, sizeof name, "%u",
					 j * 2654435761u);
				ck_assert_ptr_eq(baton_index_get(&ix, name),
						 model[j]);
				live += model[j] != NULL;
			}
			ck_assert_uint_eq(baton_index_count(&ix), live);
		}
	}
	baton_index_free(&ix);
}
END_TEST

static Suite *index_suite(void)
{
	Suite *s = suite_create("consensus_index");
	TCase *tc = tcase_create("index");
	tcase_add_test(tc, empty_and_never_initialised);
	tcase_add_test(tc, insert_lookup_remove_many);
	tcase_add_test(tc, the_cap_is_enforced);
	tcase_add_test(tc, retain_deletes_what_it_is_told_to);
	tcase_add_test(tc, random_churn_matches_a_model);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(index_suite)
