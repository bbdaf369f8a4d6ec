#include "batond/dbstate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/error.h"

void baton_dbstate_init(struct baton_dbstate *t)
{
	memset(t, 0, sizeof *t);
	baton_index_init(&t->ix, sizeof(struct baton_dbrec),
			 offsetof(struct baton_dbrec, name),
			 sizeof((struct baton_dbrec *)0)->name,
			 BATON_DBSTATE_MAX);
}

/* What R holds outside itself. */
static void free_rec(struct baton_dbrec *r)
{
	for (unsigned i = 0; i < r->n_pods; i++) {
		free(r->pods[i]);
	}
	free(r->pods);
	r->pods = NULL;
	r->n_pods = r->cap_pods = 0;
	json_decref(r->last_failover);
	r->last_failover = NULL;
}

void baton_dbstate_free(struct baton_dbstate *t)
{
	for (unsigned i = 0; i < baton_index_count(&t->ix); i++) {
		free_rec(baton_index_at(&t->ix, i));
	}
	baton_index_free(&t->ix);
	t->wait_head = t->wait_tail = NULL;
}

struct baton_dbrec *baton_dbstate_get(struct baton_dbstate *t, const char *db)
{
	return baton_index_get(&t->ix, db);
}

unsigned baton_dbstate_count(const struct baton_dbstate *t)
{
	return baton_index_count(&t->ix);
}

/* DB's record, made if there is none. */
static int obtain(struct baton_dbstate *t, const char *db,
		  struct baton_dbrec **out)
{
	void *item;
	int rv = baton_index_add(&t->ix, db, &item);
	if (rv == BATON_EEXIST) {
		rv = 0;
	}
	*out = rv == 0 ? item : NULL;
	return rv;
}

struct baton_dbrec *baton_dbstate_obtain(struct baton_dbstate *t,
					 const char *db)
{
	struct baton_dbrec *r;
	return obtain(t, db, &r) == 0 ? r : NULL;
}

static void unwait(struct baton_dbstate *t, struct baton_dbrec *r)
{
	if (!r->label_waiting) {
		return;
	}
	if (r->wait_prev != NULL) {
		r->wait_prev->wait_next = r->wait_next;
	} else {
		t->wait_head = r->wait_next;
	}
	if (r->wait_next != NULL) {
		r->wait_next->wait_prev = r->wait_prev;
	} else {
		t->wait_tail = r->wait_prev;
	}
	r->wait_next = r->wait_prev = NULL;
	r->label_waiting = false;
}

/* Frees R once it remembers nothing. */
static void maybe_drop(struct baton_dbstate *t, struct baton_dbrec *r)
{
	if (r->n_pods > 0 || r->label_waiting || r->proposed ||
	    r->primary[0] != '\0' || r->fenced || r->fencing > 0 ||
	    r->last_failover != NULL) {
		return;
	}
	free_rec(r);
	/* R is the index's: its name finds it */
	(void)NEVER(!baton_index_del(&t->ix, r->name));
}

static int find_pod(const struct baton_dbrec *r, const char *pod)
{
	for (unsigned i = 0; i < r->n_pods; i++) {
		if (strcmp(r->pods[i], pod) == 0) {
			return (int)i;
		}
	}
	return -1;
}

int baton_dbstate_pod_add(struct baton_dbstate *t, const char *db,
			  const char *pod)
{
	struct baton_dbrec *r;
	char *copy;
	int rv = obtain(t, db, &r);

	if (rv != 0) {
		return rv;
	}
	if (find_pod(r, pod) >= 0) {
		return 0;
	}
	if (r->n_pods >= BATON_DBSTATE_MAX_PODS) {
		rv = BATON_ETOOLARGE;
		goto err;
	}
	if (r->n_pods == r->cap_pods) {
		unsigned cap = r->cap_pods == 0 ? 4 : 2 * r->cap_pods;
		char **p;
		if (cap > BATON_DBSTATE_MAX_PODS) {
			cap = BATON_DBSTATE_MAX_PODS;
		}
		p = realloc(r->pods, cap * sizeof *p);
		if (p == NULL) {
			rv = BATON_ENOMEM;
			goto err;
		}
		r->pods = p;
		r->cap_pods = cap;
	}
	copy = strdup(pod);
	if (copy == NULL) {
		rv = BATON_ENOMEM;
		goto err;
	}
	r->pods[r->n_pods++] = copy;
	return 0;

err:
	maybe_drop(t, r); /* a record made for nothing goes again */
	return rv;
}

void baton_dbstate_pod_del(struct baton_dbstate *t, const char *db,
			   const char *pod)
{
	struct baton_dbrec *r = baton_index_get(&t->ix, db);
	int i;

	if (r == NULL || (i = find_pod(r, pod)) < 0) {
		return;
	}
	free(r->pods[i]);
	/* keep the order: the others stay as they were indexed */
	memmove(&r->pods[i], &r->pods[i + 1],
		(r->n_pods - (unsigned)i - 1) * sizeof r->pods[0]);
	r->n_pods--;
	maybe_drop(t, r);
}

int baton_dbstate_wait(struct baton_dbstate *t, const char *db)
{
	struct baton_dbrec *r;
	int rv = obtain(t, db, &r);

	if (rv != 0 || r->label_waiting) {
		return rv;
	}
	r->label_waiting = true;
	r->wait_prev = t->wait_tail;
	r->wait_next = NULL;
	if (t->wait_tail != NULL) {
		t->wait_tail->wait_next = r;
	} else {
		t->wait_head = r;
	}
	t->wait_tail = r;
	return 0;
}

bool baton_dbstate_next_waiting(struct baton_dbstate *t, char *db, size_t size)
{
	struct baton_dbrec *r = t->wait_head;

	if (r == NULL) {
		return false;
	}
	snprintf(db, size, "%s", r->name);
	unwait(t, r);
	maybe_drop(t, r);
	return true;
}

bool baton_dbstate_propose_due(struct baton_dbstate *t, const char *db,
			       uint64_t now_ms)
{
	struct baton_dbrec *r = baton_index_get(&t->ix, db);
	return r == NULL || !r->proposed || now_ms - r->proposed_ms >= 1000;
}

int baton_dbstate_proposed(struct baton_dbstate *t, const char *db,
			   uint64_t now_ms)
{
	struct baton_dbrec *r;
	int rv = obtain(t, db, &r);

	if (rv != 0) {
		return rv;
	}
	r->proposed = true;
	r->proposed_ms = now_ms;
	return 0;
}

const char *baton_dbstate_primary(struct baton_dbstate *t, const char *db,
				  const char *region)
{
	struct baton_dbrec *r;

	if (obtain(t, db, &r) != 0) {
		return NULL;
	}
	if (region != r->primary) { /* its own string again: nothing to do */
		snprintf(r->primary, sizeof r->primary, "%s", region);
	}
	if (r->primary[0] == '\0') {
		maybe_drop(t, r); /* "" is no view */
		return "";
	}
	return r->primary;
}

void baton_dbstate_forget(struct baton_dbstate *t, const char *db)
{
	struct baton_dbrec *r = baton_index_get(&t->ix, db);

	if (r == NULL) {
		return;
	}
	unwait(t, r);
	r->proposed = false;
	r->proposed_ms = 0;
	r->primary[0] = '\0';
	/* a recreated database is fenced afresh (its epochs start again) */
	r->fenced = false;
	r->fenced_epoch = 0;
	json_decref(r->last_failover);
	r->last_failover = NULL;
	r->promote_ms = 0;
	maybe_drop(t, r);
}
