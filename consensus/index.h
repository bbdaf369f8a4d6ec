/* A bounded set of fixed-size records keyed by name, with O(1) lookup.
 *
 * The FSM's databases, the decider's leases and batond's per-database slots
 * used to live in fixed arrays of BATON_MAX_DATABASES found by linear scans;
 * at a thousand databases every tick and every reconcile paid for the whole
 * scan. An index owns its records:
 *
 * - each record is its own zeroed allocation of ITEM_SIZE bytes whose name
 *   (a NUL-terminated char[KEY_SIZE] at KEY_OFFSET) is set by
 *   baton_index_add(); a record's address never changes until it is
 *   deleted, so callers may keep pointers across other adds and deletes;
 * - a dense array of record pointers gives iteration in a deterministic
 *   order (insertion order, except that deleting record i moves the last
 *   record into position i) — every replica of the FSM that applies the
 *   same commands iterates, and snapshots, in the same order;
 * - an open-addressing table (linear probing, FNV-1a hashes, load <= 1/2,
 *   backward-shift deletion so that no tombstones build up) maps a name to
 *   its position in the dense array.
 *
 * Bounded: at most MAX records (BATON_ETOOLARGE beyond). A zeroed struct is
 * a valid empty index that allocates nothing until the first add, so
 * baton_index_free() is safe on an index that was never initialised.
 */
#ifndef BATON_CONSENSUS_INDEX_H
#define BATON_CONSENSUS_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct baton_index_slot {
	uint32_t hash;
	uint32_t pos; /* position in items + 1; 0 = empty */
};

struct baton_index {
	size_t item_size;
	size_t key_offset;
	size_t key_size; /* names are at most key_size - 1 bytes */
	unsigned max;
	void **items; /* dense, n used of items_cap */
	unsigned n, items_cap;
	struct baton_index_slot *table; /* table_cap slots, a power of 2 */
	unsigned table_cap;
};

void baton_index_init(struct baton_index *ix, size_t item_size,
		      size_t key_offset, size_t key_size, unsigned max);
/* Free every record and the index's arrays; the index is empty (and keeps
 * its parameters) afterwards. */
void baton_index_free(struct baton_index *ix);

/* The record named NAME, or NULL. */
void *baton_index_get(const struct baton_index *ix, const char *name);

/* Add a zeroed record named NAME; *OUT gets it. BATON_EEXIST (with *OUT set
 * to the existing record), BATON_EINVAL for an empty or too long name,
 * BATON_ETOOLARGE at MAX records, BATON_ENOMEM. On error nothing changed. */
int baton_index_add(struct baton_index *ix, const char *name, void **out);

/* Delete and free the record named NAME; false if there was none. Pointers
 * to other records stay valid; the last record takes its position. */
bool baton_index_del(struct baton_index *ix, const char *name);

/* Delete every record for which KEEP returns false. */
void baton_index_retain(struct baton_index *ix,
			bool (*keep)(const void *item, void *data), void *data);

static inline unsigned baton_index_count(const struct baton_index *ix)
{
	return ix->n;
}

/* The record at position I (< count), for iteration. */
static inline void *baton_index_at(const struct baton_index *ix, unsigned i)
{
	return ix->items[i];
}

#endif /* BATON_CONSENSUS_INDEX_H */
