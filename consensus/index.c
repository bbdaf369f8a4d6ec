/* A bounded name -> record index. See index.h for the layout and its
 * guarantees (stable record addresses, deterministic iteration order).
 *
 * Invariants (asserted here; tests/unit/test_consensus_index.c checks them
 * after every step of random churn):
 * - every used table slot's pos - 1 is a position < n whose record's name
 *   hashes to slot.hash, and every position has exactly one slot;
 * - with linear probing, a record's slot is reached from hash & mask
 *   without crossing an empty slot. Deletion keeps this by shifting later
 *   entries of the same probe run back (Knuth's algorithm R) instead of
 *   leaving tombstones, so lookups never slow down with churn.
 */
#include "consensus/index.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/error.h"

#define MIN_ITEMS 16
#define MIN_TABLE 32

void baton_index_init(struct baton_index *ix, size_t item_size,
		      size_t key_offset, size_t key_size, unsigned max)
{
	BATON_ASSERT(key_offset + key_size <= item_size && key_size > 1);
	memset(ix, 0, sizeof *ix);
	ix->item_size = item_size;
	ix->key_offset = key_offset;
	ix->key_size = key_size;
	ix->max = max;
}

void baton_index_free(struct baton_index *ix)
{
	unsigned i;

	for (i = 0; i < ix->n; i++) {
		free(ix->items[i]);
	}
	free(ix->items);
	free(ix->table);
	ix->items = NULL;
	ix->table = NULL;
	ix->n = ix->items_cap = ix->table_cap = 0;
}

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s != '\0') {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

static const char *key_of(const struct baton_index *ix, const void *item)
{
	return (const char *)item + ix->key_offset;
}

/* The slot holding NAME, or the empty slot where it would go. */
static unsigned find_slot(const struct baton_index *ix, const char *name,
			  uint32_t h)
{
	unsigned mask = ix->table_cap - 1;
	unsigned i = h & mask;

	/* a power of two at most half full: the probe ends at an empty slot */
	BATON_ASSERT(ix->table_cap != 0 && (ix->table_cap & mask) == 0 &&
		     2 * ix->n <= ix->table_cap);

	for (;;) {
		const struct baton_index_slot *s = &ix->table[i];
		if (s->pos == 0) {
			return i;
		}
		if (s->hash == h &&
		    strcmp(key_of(ix, ix->items[s->pos - 1]), name) == 0) {
			return i;
		}
		i = (i + 1) & mask;
	}
}

void *baton_index_get(const struct baton_index *ix, const char *name)
{
	unsigned i;

	if (ix->n == 0) {
		return NULL;
	}
	i = find_slot(ix, name, hash_name(name));
	return ix->table[i].pos != 0 ? ix->items[ix->table[i].pos - 1] : NULL;
}

/* Rebuild the table with CAP slots from the dense array. */
static int rehash(struct baton_index *ix, unsigned cap)
{
	struct baton_index_slot *t = calloc(cap, sizeof *t);
	unsigned mask = cap - 1;
	unsigned p;

	if (t == NULL) {
		return BATON_ENOMEM;
	}
	for (p = 0; p < ix->n; p++) {
		uint32_t h = hash_name(key_of(ix, ix->items[p]));
		unsigned i = h & mask;
		while (t[i].pos != 0) {
			i = (i + 1) & mask;
		}
		t[i].hash = h;
		t[i].pos = p + 1;
	}
	free(ix->table);
	ix->table = t;
	ix->table_cap = cap;
	return 0;
}

/* Room for one more record in both arrays (load factor <= 1/2). */
static int reserve(struct baton_index *ix)
{
	if (ix->n == ix->items_cap) {
		unsigned cap =
		    ix->items_cap == 0 ? MIN_ITEMS : ix->items_cap * 2;
		void **items;
		if (cap > ix->max) {
			cap = ix->max;
		}
		BATON_ASSERT(cap > ix->n); /* add() refused n == max */
		items = realloc(ix->items, cap * sizeof *items);
		if (items == NULL) {
			return BATON_ENOMEM;
		}
		ix->items = items;
		ix->items_cap = cap;
	}
	if (2 * (ix->n + 1) > ix->table_cap) {
		unsigned cap = ix->table_cap == 0 ? MIN_TABLE : ix->table_cap;
		while (2 * (ix->n + 1) > cap) {
			cap *= 2;
		}
		return rehash(ix, cap);
	}
	return 0;
}

int baton_index_add(struct baton_index *ix, const char *name, void **out)
{
	size_t len = strnlen(name, ix->key_size);
	uint32_t h = hash_name(name);
	unsigned i;
	void *item;
	int rv;

	*out = NULL;
	if (len == 0 || len >= ix->key_size) {
		return BATON_EINVAL;
	}
	if (ix->n > 0) {
		i = find_slot(ix, name, h);
		if (ix->table[i].pos != 0) {
			*out = ix->items[ix->table[i].pos - 1];
			return BATON_EEXIST;
		}
	}
	if (ix->n >= ix->max) {
		return BATON_ETOOLARGE;
	}
	rv = reserve(ix);
	if (rv != 0) {
		return rv;
	}
	item = calloc(1, ix->item_size);
	if (item == NULL) {
		return BATON_ENOMEM;
	}
	memcpy((char *)item + ix->key_offset, name, len + 1);
	i = find_slot(ix, name, h); /* the table may have been rebuilt */
	BATON_ASSERT(ix->table[i].pos == 0);
	ix->items[ix->n] = item;
	ix->table[i].hash = h;
	ix->table[i].pos = ++ix->n;
	*out = item;
	return 0;
}

/* Empty slot I and shift later members of its probe run back into place. */
static void table_remove(struct baton_index *ix, unsigned i)
{
	unsigned mask = ix->table_cap - 1;
	unsigned j = i;

	for (;;) {
		unsigned home;
		j = (j + 1) & mask;
		if (ix->table[j].pos == 0) {
			break;
		}
		home = ix->table[j].hash & mask;
		/* The entry at j may move to i only if its home is not in
		 * the cyclic interval (i, j]. */
		if (i <= j ? (home <= i || home > j)
			   : (home <= i && home > j)) {
			ix->table[i] = ix->table[j];
			i = j;
		}
	}
	ix->table[i].pos = 0;
	ix->table[i].hash = 0;
}

static void delete_at(struct baton_index *ix, unsigned slot)
{
	unsigned p = ix->table[slot].pos - 1;
	unsigned last = ix->n - 1;

	BATON_ASSERT(ix->table[slot].pos != 0 && p <= last);
	free(ix->items[p]);
	table_remove(ix, slot);
	if (p != last) {
		/* The last record moves to position p: repoint its slot. */
		const char *k = key_of(ix, ix->items[last]);
		unsigned s = find_slot(ix, k, hash_name(k));
		BATON_ASSERT(ix->table[s].pos == last + 1);
		ix->items[p] = ix->items[last];
		ix->table[s].pos = p + 1;
	}
	ix->items[last] = NULL;
	ix->n--;
}

bool baton_index_del(struct baton_index *ix, const char *name)
{
	unsigned slot;

	if (ix->n == 0) {
		return false;
	}
	slot = find_slot(ix, name, hash_name(name));
	if (ix->table[slot].pos == 0) {
		return false;
	}
	delete_at(ix, slot);
	return true;
}

void baton_index_retain(struct baton_index *ix,
			bool (*keep)(const void *item, void *data), void *data)
{
	unsigned p = ix->n;

	/* Backwards: deleting position p moves an already kept record in. */
	while (p-- > 0) {
		const char *k = key_of(ix, ix->items[p]);
		if (!keep(ix->items[p], data)) {
			delete_at(ix, find_slot(ix, k, hash_name(k)));
		}
	}
}
