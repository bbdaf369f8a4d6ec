/* Fuzz target: FSM snapshot restore (consensus/fsm.c, through the
 * raft_fsm.restore entry point raft calls), then commands applied on top.
 *
 * A follower that falls behind gets the leader's snapshot and restores it;
 * a corrupt one must be refused whole (the FSM untouched), and an accepted
 * one must mean exactly one state. Input:
 *
 *   u16 BE length L, the snapshot (L bytes), then commands, each a u16 BE
 *   length and that many bytes (what baton_fsm_apply_buf() gets)
 *
 * Oracles (abort() on a violation):
 *  - a refused snapshot leaves the FSM as it was (empty, applied 0);
 *  - restore -> snapshot -> restore gives the same state (applied, chain,
 *    every database record, the tombstones, the fleet's command level),
 *    and snapshotting that gives the same bytes;
 *  - the commands applied to both copies give the same verdicts, the same
 *    chain and the same state (apply is deterministic, also on states only
 *    a restore can produce);
 *  - a database's epoch never goes back under any command but REMOVE;
 *  - each apply counts once in `applied`;
 *  - the final state survives another snapshot and restore.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/fsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_fsm_snapshot: invariant violated: %s\n", what);
	abort();
}

/* Restores BUF (copied into a raft_malloc'd buffer, which the FSM owns on
 * success) through raft's entry point. */
static int restore(struct raft_fsm *rf, const void *buf, size_t len)
{
	struct raft_buffer b;
	int rv;

	b.len = len;
	b.base = raft_malloc(len > 0 ? len : 1);
	if (b.base == NULL) {
		abort();
	}
	if (len > 0) {
		memcpy(b.base, buf, len);
	}
	rv = rf->restore(rf, &b);
	if (rv != 0) {
		raft_free(b.base);
	}
	return rv;
}

static struct raft_buffer snapshot(struct raft_fsm *rf)
{
	struct raft_buffer *bufs = NULL, out;
	unsigned n = 0;

	if (rf->snapshot(rf, &bufs, &n) != 0 || n != 1) {
		fail("a restored FSM cannot be snapshotted");
	}
	out = bufs[0];
	raft_free(bufs);
	return out;
}

static void same_state(const struct baton_fsm *a, const struct baton_fsm *b,
		       const char *when)
{
	char what[160];

	snprintf(what, sizeof what, "two FSMs differ %s", when);
	if (a->applied != b->applied || a->chain != b->chain ||
	    baton_fsm_count(a) != baton_fsm_count(b) ||
	    a->n_tomb != b->n_tomb || a->tomb_next != b->tomb_next ||
	    a->fleet_level != b->fleet_level) {
		fail(what);
	}
	for (unsigned i = 0; i < baton_fsm_count(a); i++) {
		if (memcmp(baton_fsm_db_at(a, i), baton_fsm_db_at(b, i),
			   sizeof(struct baton_db_state)) != 0) {
			fail(what);
		}
	}
	/* a reused tombstone slot keeps bytes after the name's NUL */
	for (unsigned i = 0; i < a->n_tomb; i++) {
		if (strcmp(a->tomb[i].name, b->tomb[i].name) != 0 ||
		    a->tomb[i].epoch != b->tomb[i].epoch) {
			fail(what);
		}
	}
}

static void same_bytes(const struct raft_buffer *x, const struct raft_buffer *y,
		       const char *what)
{
	if (x->len != y->len || memcmp(x->base, y->base, x->len) != 0) {
		fail(what);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct baton_fsm f1, f2, f3;
	struct raft_fsm r1, r2, r3;
	struct raft_buffer s1, s2;
	size_t len, off;

	if (size < 2) {
		return 0;
	}
	len = (size_t)data[0] << 8 | data[1];
	if (len > size - 2) {
		len = size - 2;
	}
	baton_fsm_init(&f1, &r1);
	baton_fsm_init(&f2, &r2);
	if (restore(&r1, data + 2, len) != 0) {
		if (f1.applied != 0 || f1.chain != 0 || baton_fsm_count(&f1)) {
			fail("a refused snapshot changed the FSM");
		}
		baton_fsm_close(&r1);
		baton_fsm_close(&r2);
		return 0;
	}
	s1 = snapshot(&r1);
	if (restore(&r2, s1.base, s1.len) != 0) {
		fail("the snapshot of a restored FSM does not restore");
	}
	same_state(&f1, &f2, "after snapshot and restore");
	s2 = snapshot(&r2);
	same_bytes(&s1, &s2, "a second snapshot has other bytes");
	raft_free(s2.base);
	raft_free(s1.base);

	for (off = 2 + len; off + 2 <= size;) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		const uint8_t *cmd = data + off + 2;
		struct baton_cmd c;
		struct baton_db_state *db;
		uint64_t before = 0, applied = f1.applied;
		int res1, res2;

		if (n > size - off - 2) {
			n = size - off - 2;
		}
		off += 2 + n;
		if (baton_cmd_decode(cmd, n, &c) == 0 &&
		    (db = baton_fsm_db(&f1, c.db)) != NULL) {
			before = db->epoch;
		}
		res1 = baton_fsm_apply_buf(&f1, cmd, n);
		res2 = baton_fsm_apply_buf(&f2, cmd, n);
		if (res1 != res2) {
			fail("the same command, two verdicts");
		}
		if (res1 != BATON_FSM_NOMEM && f1.applied != applied + 1) {
			fail("an apply did not count once");
		}
		if (before != 0 && c.type != BATON_CMD_REMOVE &&
		    (db = baton_fsm_db(&f1, c.db)) != NULL &&
		    db->epoch < before) {
			fail("a database's epoch went back");
		}
	}
	same_state(&f1, &f2, "after the same commands");

	s1 = snapshot(&r1);
	baton_fsm_init(&f3, &r3);
	if (restore(&r3, s1.base, s1.len) != 0) {
		fail("the snapshot after commands does not restore");
	}
	same_state(&f1, &f3, "after commands, snapshot and restore");
	raft_free(s1.base);
	baton_fsm_close(&r1);
	baton_fsm_close(&r2);
	baton_fsm_close(&r3);
	return 0;
}
