/* The echo of batond's own status writes (batond/statusecho.h). Pure. */
#include "batond/statusecho.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond/applyhash.h"
#include "batond/cachefields.h"
#include "consensus/decider.h"

struct intent {
	char key[BATON_NAME_SIZE]; /* "ns/name", as the FSM names it */
	uint64_t stamp;
	uint64_t writing_ms; /* its write was sent then (0: none awaited) */
	bool waiting;	     /* a reconcile waits for that write's echo */
};

void baton_statusecho_init(struct baton_statusecho *t, unsigned max_dbs)
{
	memset(t, 0, sizeof *t);
	baton_index_init(&t->dbs, sizeof(struct intent),
			 offsetof(struct intent, key), BATON_NAME_SIZE,
			 max_dbs);
}

void baton_statusecho_free(struct baton_statusecho *t)
{
	baton_index_free(&t->dbs);
}

void baton_statusecho_intend(struct baton_statusecho *t, const char *db,
			     json_t *status)
{
	struct intent *in = baton_index_get(&t->dbs, db);
	uint64_t h;

	if (status == NULL || baton_applyhash_digest(status, &h) != 0) {
		baton_statusecho_forget(t, db);
		return;
	}
	if (in == NULL) {
		void *p;
		if (baton_index_add(&t->dbs, db, &p) != 0) {
			return; /* beyond the bound: its updates reconcile */
		}
		in = p;
	}
	in->stamp = h;
	in->writing_ms = 0;
	in->waiting = false;
}

void baton_statusecho_writing(struct baton_statusecho *t, const char *db,
			      uint64_t now_ms)
{
	struct intent *in = baton_index_get(&t->dbs, db);

	if (in != NULL) {
		in->writing_ms = now_ms != 0 ? now_ms : 1;
	}
}

void baton_statusecho_unsent(struct baton_statusecho *t, const char *db)
{
	struct intent *in = baton_index_get(&t->dbs, db);

	if (in != NULL) {
		in->writing_ms = 0;
		in->waiting = false;
	}
}

bool baton_statusecho_behind(struct baton_statusecho *t, const char *db,
			     json_t *cached, uint64_t now_ms)
{
	struct intent *in = baton_index_get(&t->dbs, db);
	uint64_t h;

	if (in == NULL || in->writing_ms == 0) {
		return false;
	}
	if (now_ms < in->writing_ms ||
	    now_ms - in->writing_ms >= BATON_STATUSECHO_BEHIND_MS ||
	    (cached != NULL && baton_applyhash_digest(cached, &h) == 0 &&
	     h == in->stamp)) {
		/* past the bound, believe the cache again; or it has the
		 * write */
		in->writing_ms = 0;
		in->waiting = false;
		return false;
	}
	in->waiting = true;
	return true;
}

/* Whether the objects' key K differs, the status (tree and kept text)
 * and metadata.resourceVersion aside. */
static bool differs(json_t *old_obj, json_t *new_obj, const char *k)
{
	json_t *o = json_object_get(old_obj, k);
	json_t *n = json_object_get(new_obj, k);
	const char *mk;
	json_t *mv;

	if (strcmp(k, "status") == 0 ||
	    strcmp(k, BATON_CACHEFIELDS_STATUS_TEXT) == 0) {
		return false;
	}
	if (strcmp(k, "metadata") != 0 || !json_is_object(o) ||
	    !json_is_object(n)) {
		return !json_equal(o, n);
	}
	json_object_foreach(n, mk, mv)
	{
		if (strcmp(mk, "resourceVersion") != 0 &&
		    !json_equal(mv, json_object_get(o, mk))) {
			return true;
		}
	}
	json_object_foreach(o, mk, mv)
	{
		if (strcmp(mk, "resourceVersion") != 0 &&
		    json_object_get(n, mk) == NULL) {
			return true;
		}
	}
	return false;
}

bool baton_statusecho_echo(const struct baton_statusecho *t, json_t *old_obj,
			   json_t *new_obj)
{
	json_t *md = json_object_get(new_obj, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const struct intent *in;
	char db[BATON_NAME_SIZE];
	const char *k;
	json_t *v, *status;
	uint64_t h;
	int n;

	/* the resync hands the cached object as both */
	if (t == NULL || old_obj == new_obj || !json_is_object(old_obj) ||
	    !json_is_object(new_obj) || ns == NULL || name == NULL) {
		return false;
	}
	n = snprintf(db, sizeof db, "%s/%s", ns, name);
	if (n < 0 || (size_t)n >= sizeof db ||
	    (in = baton_index_get(&t->dbs, db)) == NULL) {
		return false;
	}
	json_object_foreach(new_obj, k, v)
	{
		if (differs(old_obj, new_obj, k)) {
			return false;
		}
	}
	json_object_foreach(old_obj, k, v)
	{
		if (json_object_get(new_obj, k) == NULL &&
		    differs(old_obj, new_obj, k)) {
			return false;
		}
	}
	if (baton_cachefields_dbc_status(new_obj, &status) != 0 ||
	    status == NULL) {
		return false;
	}
	n = baton_applyhash_digest(status, &h);
	json_decref(status);
	/* a reconcile waits for this very echo: it is its wake-up */
	return n == 0 && h == in->stamp && !in->waiting;
}

void baton_statusecho_forget(struct baton_statusecho *t, const char *db)
{
	baton_index_del(&t->dbs, db);
}

unsigned baton_statusecho_count(const struct baton_statusecho *t)
{
	return baton_index_count(&t->dbs);
}
