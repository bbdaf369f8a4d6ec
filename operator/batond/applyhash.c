#include "batond/applyhash.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/error.h"
#include "common/labels.h"
#include "consensus/decider.h"

/* One database's set: the stamps of its objects that are live as desired,
 * and since when every one of them was applied (the refresh base). A
 * database has a handful of objects, so a linear scan is the fastest
 * lookup. */
struct applied_db {
	char key[BATON_NAME_SIZE]; /* "ns/name", as the FSM names it */
	unsigned n;
	/* the region had no pod of it at the last baton_applyhash_pods_gone */
	bool lacked;
	/* the set came from baton_applyhash_seed, no reconcile saw it yet */
	bool seeded;
	uint64_t since_ms;
	uint64_t stamps[BATON_APPLYHASH_MAX_OBJECTS];
};

void baton_applyhash_init(struct baton_applyhash *t, unsigned max_dbs,
			  uint64_t refresh_ms)
{
	memset(t, 0, sizeof *t);
	baton_index_init(&t->dbs, sizeof(struct applied_db),
			 offsetof(struct applied_db, key), BATON_NAME_SIZE,
			 max_dbs);
	t->refresh_ms = refresh_ms;
}

void baton_applyhash_free(struct baton_applyhash *t)
{
	baton_index_free(&t->dbs);
}

int baton_applyhash_digest(json_t *v, uint64_t *out)
{
	unsigned char md_val[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char *text;
	uint64_t h = 0;
	int ok;

	/* Sorted keys: the same value always serialises to the same bytes,
	 * whatever order the builders inserted keys in. SHA-256, not a fast
	 * non-cryptographic hash: the value carries the user's input, and a
	 * collision would make batond skip an apply or a reconcile. */
	text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
	if (text == NULL) {
		return BATON_ENOMEM;
	}
	ok =
	    EVP_Digest(text, strlen(text), md_val, &md_len, EVP_sha256(), NULL);
	free(text);
	if (!ok || md_len < 8) {
		return BATON_ENOMEM;
	}
	for (int i = 0; i < 8; i++) {
		h = (h << 8) | md_val[i];
	}
	*out = h;
	return 0;
}

int baton_applyhash_stamp(json_t *obj, uint64_t *out)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *ann;
	char hex[17];
	uint64_t h = 0;
	int rv;

	if (!json_is_object(md)) {
		return BATON_EINVAL;
	}
	ann = json_object_get(md, "annotations");
	if (ann != NULL && !json_is_object(ann)) {
		return BATON_EINVAL;
	}
	/* The stamp of the object as it would be without one: stamping twice
	 * gives the same stamp. */
	if (ann != NULL) {
		json_object_del(ann, BATON_ANNOTATION_APPLIED_HASH);
		if (json_object_size(ann) == 0) {
			json_object_del(md, "annotations");
			ann = NULL;
		}
	}
	if ((rv = baton_applyhash_digest(obj, &h)) != 0) {
		return rv;
	}
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
	if (ann == NULL) {
		ann = json_object();
		if (ann == NULL ||
		    json_object_set_new(md, "annotations", ann)) {
			return BATON_ENOMEM;
		}
	}
	if (json_object_set_new(ann, BATON_ANNOTATION_APPLIED_HASH,
				json_string(hex)) != 0) {
		return BATON_ENOMEM;
	}
	*out = h;
	return 0;
}

static bool has(const struct applied_db *a, uint64_t h)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (a->stamps[i] == h) {
			return true;
		}
	}
	return false;
}

/* DB's record in *OUT, made (zeroed: an empty set) if it had none;
 * *ADDED says which. 0, or the index's error (the bound, a bad name). */
static int record(struct baton_applyhash *t, const char *db,
		  struct applied_db **out, bool *added)
{
	void *p = baton_index_get(&t->dbs, db);
	int rv = 0;

	*added = p == NULL;
	if (p == NULL) {
		rv = baton_index_add(&t->dbs, db, &p);
	}
	*out = p;
	return rv;
}

unsigned baton_applyhash_plan(const struct baton_applyhash *t, const char *db,
			      const uint64_t *h, unsigned n, bool force,
			      uint64_t now_ms, bool *skip, uint64_t *since)
{
	const struct applied_db *a = baton_index_get(&t->dbs, db);
	unsigned apply = 0;
	/* A full apply restarts the refresh period; so does a set from the
	 * future (a clock that went back cannot make a set fresh forever). */
	bool all = force || a == NULL || a->n == 0 || now_ms < a->since_ms ||
		   now_ms - a->since_ms >= baton_applyhash_period(t);

	*since = all ? now_ms : a->since_ms;
	for (unsigned i = 0; i < n; i++) {
		skip[i] = !all && has(a, h[i]);
		if (!skip[i]) {
			apply++;
		}
	}
	return apply;
}

int baton_applyhash_done(struct baton_applyhash *t, const char *db,
			 const uint64_t *h, const bool *live, unsigned n,
			 uint64_t since)
{
	struct applied_db *a;
	bool added;
	int rv;

	if (n > BATON_APPLYHASH_MAX_OBJECTS) {
		baton_applyhash_forget(t, db);
		return BATON_ETOOLARGE;
	}
	if ((rv = record(t, db, &a, &added)) != 0) {
		return rv;
	}
	a->n = 0;
	a->since_ms = since;
	a->seeded = false;
	for (unsigned i = 0; i < n; i++) {
		if (live[i]) {
			a->stamps[a->n++] = h[i];
		}
	}
	BATON_ASSERT(a->n <= BATON_APPLYHASH_MAX_OBJECTS);
	return 0;
}

bool baton_applyhash_pods_gone(struct baton_applyhash *t, const char *db,
			       bool lacks)
{
	struct applied_db *a;
	bool added, gone;

	if (record(t, db, &a, &added) != 0) {
		return false;
	}
	if (added) {
		/* an empty set (n 0): the plan applies everything */
		a->lacked = lacks;
		return false;
	}
	a->seeded = false;
	gone = lacks && !a->lacked;
	a->lacked = lacks;
	return gone;
}

uint64_t baton_applyhash_seed_since(const struct baton_applyhash *t,
				    const char *db, uint64_t now_ms)
{
	/* FNV-1a of the name: the share is the same for DB in every
	 * process, and spread evenly across databases over the last nine
	 * tenths of the period: none is due in its first tenth, while the
	 * start reconciles every database (a refresh there is load the
	 * restart need not carry) */
	uint64_t x = 0xcbf29ce484222325ull, back, span;

	for (const unsigned char *p = (const unsigned char *)db; *p; p++) {
		x = (x ^ *p) * 0x100000001b3ull;
	}
	span = baton_applyhash_period(t) / 10 * 9;
	back = span > 0 ? x % span : 0;
	return now_ms > back ? now_ms - back : 0;
}

void baton_applyhash_seed_spread(struct baton_applyhash *t, uint64_t now_ms)
{
	for (unsigned i = 0; i < baton_index_count(&t->dbs); i++) {
		struct applied_db *a = baton_index_at(&t->dbs, i);
		if (a->seeded) {
			a->since_ms =
			    baton_applyhash_seed_since(t, a->key, now_ms);
		}
	}
}

uint64_t baton_applyhash_period(const struct baton_applyhash *t)
{
	uint64_t by_dbs = (uint64_t)baton_index_count(&t->dbs) *
			  BATON_APPLYHASH_REFRESH_PER_DB_MS;

	if (by_dbs > t->refresh_ms) {
		return by_dbs;
	}
	return t->refresh_ms > 0 ? t->refresh_ms : 1;
}

int baton_applyhash_seed(struct baton_applyhash *t, const char *db, uint64_t h,
			 uint64_t now_ms)
{
	struct applied_db *a;
	bool added;
	int rv;

	if ((rv = record(t, db, &a, &added)) != 0) {
		return rv;
	}
	if (!added && !a->seeded) {
		return BATON_EEXIST;
	}
	if (added) {
		/* as if the region had no pods: its first reconcile is not
		 * forced by pods it does not see (the pod cache may not
		 * have listed them yet). A StatefulSet deleted before the
		 * list has no stamp in the set anyway. */
		a->lacked = true;
		a->seeded = true;
		a->since_ms = baton_applyhash_seed_since(t, db, now_ms);
	}
	if (has(a, h)) {
		return 0;
	}
	if (a->n == BATON_APPLYHASH_MAX_OBJECTS) {
		baton_applyhash_forget(t, db);
		return BATON_ETOOLARGE;
	}
	a->stamps[a->n++] = h;
	return 0;
}

static bool not_seeded(const void *item, void *data)
{
	const struct applied_db *a = item;
	unsigned *dropped = data;

	if (a->seeded) {
		(*dropped)++;
	}
	return !a->seeded;
}

unsigned baton_applyhash_drop_seeded(struct baton_applyhash *t)
{
	unsigned dropped = 0;

	baton_index_retain(&t->dbs, not_seeded, &dropped);
	return dropped;
}

void baton_applyhash_forget(struct baton_applyhash *t, const char *db)
{
	baton_index_del(&t->dbs, db);
}

unsigned baton_applyhash_count(const struct baton_applyhash *t)
{
	return baton_index_count(&t->dbs);
}
