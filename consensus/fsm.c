/* The replicated state machine. See fsm.h for the encoding and the rules.
 *
 * Every rule below keeps one half of §5's safety property:
 * - epochs only grow: a promote must carry exactly epoch + 1;
 * - one writable region per epoch: only the primary of the current epoch
 *   may renew, and a promote is refused when a renewal was applied after
 *   the leader decided (renew_seq compare-and-swap), because that renewal
 *   gave the old primary a fresh lease the decision did not see.
 * Only REGISTER allocates (one record in the database index). When that
 * allocation fails nothing is applied and raft is told to stop applying
 * (BATON_FSM_NOMEM, fsm.h): every other outcome is the same on every replica.
 *
 * Invariants (common/assert.h): a command that breaks a rule is a result
 * code, never an assertion. What is asserted is the machine's own state,
 * which the decoders validate on the way in: a primary and a switchover
 * target that name one of the database's regions, a known phase, the
 * tombstone ring's cursor. The branches that cannot be taken because the
 * decoder already refused the input are NEVER(), with the rejection they
 * would give in a release build.
 */
#include "consensus/fsm.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/error.h"

/* ---- bounded writer / reader ------------------------------------------- */

struct wr {
	uint8_t *p; /* NULL: only measure (len counts, nothing is written) */
	size_t cap, len;
	bool overflow; /* out of space */
	bool invalid;  /* a name does not fit its field */
};

static void put(struct wr *w, const void *src, size_t n)
{
	if (w->p == NULL) {
		w->len += n;
		return;
	}
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void put_u8(struct wr *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(w, b, 2);
}

static void put_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
			(uint8_t)(v >> 8), (uint8_t)v};
	put(w, b, 4);
}

static void put_u64(struct wr *w, uint64_t v)
{
	put_u32(w, (uint32_t)(v >> 32));
	put_u32(w, (uint32_t)v);
}

static void put_str(struct wr *w, const char *s)
{
	size_t n = strnlen(s, BATON_NAME_SIZE);
	if (n >= BATON_NAME_SIZE) {
		w->invalid = true;
		return;
	}
	put_u8(w, (uint8_t)n);
	put(w, s, n);
}

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static void get(struct rd *r, void *dst, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p + r->off, n);
	r->off += n;
}

static uint8_t get_u8(struct rd *r)
{
	uint8_t v;
	get(r, &v, 1);
	return v;
}

static uint16_t get_u16(struct rd *r)
{
	uint8_t b[2];
	get(r, b, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static uint32_t get_u32(struct rd *r)
{
	uint8_t b[4];
	get(r, b, 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static uint64_t get_u64(struct rd *r)
{
	uint64_t hi = get_u32(r);
	return hi << 32 | get_u32(r);
}

static void get_str(struct rd *r, char *dst)
{
	uint8_t n = get_u8(r);
	dst[0] = '\0';
	if (n >= BATON_NAME_SIZE) {
		r->bad = true;
		return;
	}
	get(r, dst, n);
	dst[n] = '\0';
	if (memchr(dst, '\0', n) != NULL) {
		r->bad = true; /* embedded NUL */
	}
}

/* ---- commands ---------------------------------------------------------- */

static void put_cfg(struct wr *w, const struct baton_failover_config *c)
{
	put_u32(w, c->lease_ms);
	put_u32(w, c->renew_ms);
	put_u32(w, c->drift_ppm);
	put_u32(w, c->margin_ms);
	put_u64(w, c->max_lag_bytes);
	put_u8(w, (uint8_t)((c->automatic ? 1 : 0) | (c->synchronous ? 2 : 0)));
}

static void get_cfg(struct rd *r, struct baton_failover_config *c)
{
	uint8_t flags;
	c->lease_ms = get_u32(r);
	c->renew_ms = get_u32(r);
	c->drift_ppm = get_u32(r);
	c->margin_ms = get_u32(r);
	c->max_lag_bytes = get_u64(r);
	flags = get_u8(r);
	if (flags & ~3u) {
		r->bad = true;
	}
	c->automatic = flags & 1;
	c->synchronous = (flags & 2) != 0;
}

int baton_cmd_version(const struct baton_cmd *cmd)
{
	switch (cmd->type) {
	case BATON_CMD_DESIGNATE:
	case BATON_CMD_LEVEL:
	case BATON_CMD_REPORT_BATCH:
		return 4;
	case BATON_CMD_REPORT:
		return cmd->ordinal != 0 || cmd->spare ? 4 : 3;
	case BATON_CMD_PROMOTE:
		return cmd->ordinal != 0 ? 4 : 3;
	default:
		return 3;
	}
}

uint32_t baton_cmd_level(const struct baton_cmd *cmd)
{
	if (cmd->type == BATON_CMD_REPORT_BATCH) {
		return BATON_LEVEL_REPORT_BATCH;
	}
	return baton_cmd_version(cmd) >= 4 ? BATON_LEVEL_DESIGNATION : 0;
}

/* DESIGNATE's fields make sense together: a known step, ordinals a
 * member mask holds, and no RELEASE fields on the other steps (one
 * command, one encoding). */
static bool designate_valid(const struct baton_cmd *c)
{
	if (c->step < BATON_DESIGNATE_JOIN ||
	    c->step >= BATON_DESIGNATE__COUNT || c->ordinal >= BATON_ORDINALS ||
	    c->holder >= BATON_ORDINALS) {
		return false;
	}
	return c->step == BATON_DESIGNATE_RELEASE ||
	       (c->holder == 0 && c->drop_position == 0 &&
		c->holder_flush == 0);
}

/* REPORT_BATCH's item flags; no other bit is defined */
#define REPORT_ITEM_HEALTHY 1u
#define REPORT_ITEM_SYNC 2u
/* The largest REPORT_BATCH: 'B' 'T' version type, db, region (63-byte
 * names and their lengths), count, then per item a name, epoch, flags,
 * position and ordinal (fsm.h, BATON_REPORT_BATCH_MAX). */
#define REPORT_ITEM_MAX (BATON_NAME_SIZE + 8 + 1 + 8 + 1)
_Static_assert(4 + 2 * BATON_NAME_SIZE + 1 +
		       BATON_REPORT_BATCH_MAX * REPORT_ITEM_MAX <=
		   BATON_CMD_MAX,
	       "a full REPORT_BATCH fits in BATON_CMD_MAX");
_Static_assert(BATON_REPORT_BATCH_MAX <= 255, "the count is a byte");
/* apply_batch(): one array holds the verdicts of either batch */
_Static_assert(BATON_REPORT_BATCH_MAX <= BATON_RENEW_BATCH_MAX,
	       "a REPORT_BATCH's verdicts fit apply_batch()'s array");

/* BATCH's items say what a REPORT_BATCH can: a name, an instance, and
 * the entry's DB is the first one's (one command, one encoding). */
static bool report_batch_valid(const struct baton_cmd *batch)
{
	if (batch->n_items == 0 || batch->n_items > BATON_REPORT_BATCH_MAX ||
	    strncmp(batch->db, batch->reports[0].db, BATON_NAME_SIZE) != 0) {
		return false;
	}
	for (unsigned i = 0; i < batch->n_items; i++) {
		const struct baton_report_item *it = &batch->reports[i];
		if (it->db[0] == '\0' || it->ordinal >= BATON_ORDINALS) {
			return false;
		}
	}
	return true;
}

int baton_cmd_encode(const struct baton_cmd *cmd, uint8_t *buf, size_t cap,
		     size_t *len)
{
	struct wr w = {.p = buf, .cap = cap};
	int version = baton_cmd_version(cmd);
	unsigned i;

	if (cmd->type <= 0 || cmd->type >= BATON_CMD__COUNT ||
	    cmd->n_regions > BATON_MAX_REGIONS ||
	    ((cmd->type == BATON_CMD_REPORT ||
	      cmd->type == BATON_CMD_PROMOTE) &&
	     cmd->ordinal >= BATON_ORDINALS)) {
		return BATON_EINVAL;
	}
	put_u8(&w, 'B');
	put_u8(&w, 'T');
	put_u8(&w, (uint8_t)version);
	put_u8(&w, (uint8_t)cmd->type);
	put_str(&w, cmd->db);
	switch (cmd->type) {
	case BATON_CMD_REGISTER:
		put_cfg(&w, &cmd->cfg);
		put_u8(&w, (uint8_t)cmd->n_regions);
		for (i = 0; i < cmd->n_regions; i++) {
			put_str(&w, cmd->regions[i].name);
			put_u8(&w, cmd->regions[i].role);
			put_u32(&w, (uint32_t)cmd->regions[i].priority);
		}
		put_str(&w, cmd->primary);
		break;
	case BATON_CMD_REMOVE:
		break;
	case BATON_CMD_RENEW:
		put_str(&w, cmd->region);
		put_u64(&w, cmd->epoch);
		put_u64(&w, cmd->send_ms);
		put_u32(&w, cmd->lease_ms);
		put_u64(&w, cmd->round);
		break;
	case BATON_CMD_REPORT:
		put_str(&w, cmd->region);
		put_u64(&w, cmd->epoch);
		put_u8(&w, cmd->healthy);
		put_u8(&w,
		       (uint8_t)((cmd->sync_standby ? 1 : 0) |
				 (cmd->final ? 2 : 0) | (cmd->spare ? 4 : 0)));
		put_u64(&w, cmd->position);
		put_u64(&w, cmd->round);
		if (version >= 4) {
			put_u8(&w, cmd->ordinal);
		}
		break;
	case BATON_CMD_LOST:
		put_str(&w, cmd->region);
		put_u64(&w, cmd->epoch);
		put_u64(&w, cmd->renew_seq);
		break;
	case BATON_CMD_CONFIG:
		put_cfg(&w, &cmd->cfg);
		break;
	case BATON_CMD_PROMOTE:
		put_str(&w, cmd->region);
		put_u64(&w, cmd->epoch);
		put_u64(&w, cmd->renew_seq);
		put_u8(&w, cmd->reason);
		if (version >= 4) {
			put_u8(&w, cmd->ordinal);
		}
		break;
	case BATON_CMD_SWITCHOVER:
		put_str(&w, cmd->region);
		put_u64(&w, cmd->epoch);
		break;
	case BATON_CMD_FENCE:
		put_str(&w, cmd->region);
		put_u64(&w, cmd->epoch);
		put_u64(&w, cmd->position);
		put_u64(&w, cmd->round);
		break;
	case BATON_CMD_SWITCHOVER_ABORT:
		put_u64(&w, cmd->epoch);
		break;
	case BATON_CMD_RENEW_BATCH:
		if (cmd->n_items == 0 || cmd->n_items > BATON_RENEW_BATCH_MAX) {
			return BATON_EINVAL;
		}
		put_str(&w, cmd->region);
		put_u64(&w, cmd->send_ms);
		put_u64(&w, cmd->nonce);
		put_u8(&w, (uint8_t)cmd->n_items);
		for (i = 0; i < cmd->n_items; i++) {
			const struct baton_renew_item *it = &cmd->items[i];
			if (it->db[0] == '\0') {
				return BATON_EINVAL;
			}
			put_str(&w, it->db);
			put_u64(&w, it->epoch);
			put_u64(&w, it->round);
			put_u32(&w, it->lease_ms);
		}
		break;
	case BATON_CMD_DESIGNATE:
		if (!designate_valid(cmd)) {
			return BATON_EINVAL;
		}
		put_str(&w, cmd->region);
		put_u64(&w, cmd->epoch);
		put_u8(&w, cmd->step);
		put_u8(&w, cmd->ordinal);
		put_u64(&w, cmd->desig_seq);
		put_u8(&w, cmd->holder);
		put_u64(&w, cmd->drop_position);
		put_u64(&w, cmd->holder_flush);
		break;
	case BATON_CMD_LEVEL:
		/* one meaning per encoding: no database, a level to raise */
		if (cmd->db[0] != '\0' || cmd->level == 0) {
			return BATON_EINVAL;
		}
		put_u32(&w, cmd->level);
		break;
	case BATON_CMD_REPORT_BATCH:
		if (!report_batch_valid(cmd)) {
			return BATON_EINVAL;
		}
		put_str(&w, cmd->region);
		put_u8(&w, (uint8_t)cmd->n_items);
		for (i = 0; i < cmd->n_items; i++) {
			const struct baton_report_item *it = &cmd->reports[i];
			unsigned item_flags =
			    (it->healthy ? REPORT_ITEM_HEALTHY : 0) |
			    (it->sync_standby ? REPORT_ITEM_SYNC : 0);
			put_str(&w, it->db);
			put_u64(&w, it->epoch);
			put_u8(&w, (uint8_t)item_flags);
			put_u64(&w, it->position);
			put_u8(&w, it->ordinal);
		}
		break;
	}
	if (w.invalid) {
		return BATON_EINVAL;
	}
	if (w.overflow) {
		return BATON_ETOOLARGE;
	}
	*len = w.len;
	return 0;
}

int baton_cmd_decode(const uint8_t *buf, size_t len, struct baton_cmd *cmd)
{
	struct rd r = {.p = buf, .len = len};
	unsigned i;
	uint8_t flags;

	memset(cmd, 0, sizeof *cmd);
	if (buf == NULL || len < 4 || len > BATON_CMD_MAX || buf[0] != 'B' ||
	    buf[1] != 'T' || buf[2] < 1 || buf[2] > BATON_CMD_VERSION) {
		return BATON_EPARSE;
	}
	r.off = 3;
	cmd->type = get_u8(&r);
	get_str(&r, cmd->db);
	switch (cmd->type) {
	case BATON_CMD_REGISTER:
		get_cfg(&r, &cmd->cfg);
		cmd->n_regions = get_u8(&r);
		if (cmd->n_regions > BATON_MAX_REGIONS) {
			return BATON_EPARSE;
		}
		for (i = 0; i < cmd->n_regions; i++) {
			get_str(&r, cmd->regions[i].name);
			cmd->regions[i].role = get_u8(&r);
			cmd->regions[i].priority = (int32_t)get_u32(&r);
		}
		get_str(&r, cmd->primary);
		break;
	case BATON_CMD_REMOVE:
		break;
	case BATON_CMD_RENEW:
		get_str(&r, cmd->region);
		cmd->epoch = get_u64(&r);
		cmd->send_ms = get_u64(&r);
		if (buf[2] >= 2) {
			cmd->lease_ms = get_u32(&r);
		}
		if (buf[2] >= 3) {
			cmd->round = get_u64(&r);
			cmd->round_known = 1;
		}
		break;
	case BATON_CMD_REPORT:
		get_str(&r, cmd->region);
		cmd->epoch = get_u64(&r);
		cmd->healthy = get_u8(&r);
		flags = get_u8(&r);
		if (flags & ~(buf[2] >= 4 ? 7u : 3u)) {
			return BATON_EPARSE;
		}
		cmd->sync_standby = flags & 1;
		cmd->final = (flags & 2) != 0;
		cmd->spare = (flags & 4) != 0;
		cmd->position = get_u64(&r);
		if (buf[2] >= 2) {
			cmd->round = get_u64(&r);
		}
		if (buf[2] >= 4) {
			cmd->ordinal = get_u8(&r);
		}
		break;
	case BATON_CMD_LOST:
		if (buf[2] < 2) {
			return BATON_EPARSE;
		}
		get_str(&r, cmd->region);
		cmd->epoch = get_u64(&r);
		cmd->renew_seq = get_u64(&r);
		break;
	case BATON_CMD_CONFIG:
		if (buf[2] < 2) {
			return BATON_EPARSE;
		}
		get_cfg(&r, &cmd->cfg);
		break;
	case BATON_CMD_PROMOTE:
		get_str(&r, cmd->region);
		cmd->epoch = get_u64(&r);
		cmd->renew_seq = get_u64(&r);
		cmd->reason = get_u8(&r);
		if (buf[2] >= 4) {
			cmd->ordinal = get_u8(&r);
		}
		break;
	case BATON_CMD_SWITCHOVER:
		get_str(&r, cmd->region);
		cmd->epoch = get_u64(&r);
		break;
	case BATON_CMD_FENCE:
		get_str(&r, cmd->region);
		cmd->epoch = get_u64(&r);
		cmd->position = get_u64(&r);
		if (buf[2] >= 2) {
			cmd->round = get_u64(&r);
		}
		break;
	case BATON_CMD_SWITCHOVER_ABORT:
		cmd->epoch = get_u64(&r);
		break;
	case BATON_CMD_RENEW_BATCH:
		get_str(&r, cmd->region);
		cmd->send_ms = get_u64(&r);
		cmd->nonce = get_u64(&r);
		cmd->n_items = get_u8(&r);
		if (cmd->n_items == 0 || cmd->n_items > BATON_RENEW_BATCH_MAX) {
			return BATON_EPARSE;
		}
		for (i = 0; i < cmd->n_items; i++) {
			struct baton_renew_item *it = &cmd->items[i];
			get_str(&r, it->db);
			it->epoch = get_u64(&r);
			it->round = get_u64(&r);
			it->lease_ms = get_u32(&r);
			if (!r.bad && it->db[0] == '\0') {
				return BATON_EPARSE;
			}
		}
		break;
	case BATON_CMD_DESIGNATE:
		if (buf[2] < 4) {
			return BATON_EPARSE;
		}
		get_str(&r, cmd->region);
		cmd->epoch = get_u64(&r);
		cmd->step = get_u8(&r);
		cmd->ordinal = get_u8(&r);
		cmd->desig_seq = get_u64(&r);
		cmd->holder = get_u8(&r);
		cmd->drop_position = get_u64(&r);
		cmd->holder_flush = get_u64(&r);
		if (!r.bad && !designate_valid(cmd)) {
			return BATON_EPARSE;
		}
		break;
	case BATON_CMD_LEVEL:
		if (buf[2] < 4 || cmd->db[0] != '\0') {
			return BATON_EPARSE;
		}
		cmd->level = get_u32(&r);
		if (!r.bad && cmd->level == 0) {
			return BATON_EPARSE;
		}
		break;
	case BATON_CMD_REPORT_BATCH:
		if (buf[2] < 4) {
			return BATON_EPARSE;
		}
		get_str(&r, cmd->region);
		cmd->n_items = get_u8(&r);
		if (r.bad || cmd->n_items == 0 ||
		    cmd->n_items > BATON_REPORT_BATCH_MAX) {
			return BATON_EPARSE;
		}
		for (i = 0; i < cmd->n_items; i++) {
			struct baton_report_item *it = &cmd->reports[i];
			get_str(&r, it->db);
			it->epoch = get_u64(&r);
			flags = get_u8(&r);
			if (flags & ~(REPORT_ITEM_HEALTHY | REPORT_ITEM_SYNC)) {
				return BATON_EPARSE;
			}
			it->healthy = (flags & REPORT_ITEM_HEALTHY) != 0;
			it->sync_standby = (flags & REPORT_ITEM_SYNC) != 0;
			it->position = get_u64(&r);
			it->ordinal = get_u8(&r);
		}
		if (!r.bad && !report_batch_valid(cmd)) {
			return BATON_EPARSE;
		}
		break;
	default:
		return BATON_EPARSE;
	}
	/* raft_uv wants 8-byte multiples: up to 7 zero bytes of padding. */
	if (!r.bad && len - r.off < 8) {
		while (r.off < len && r.p[r.off] == 0) {
			r.off++;
		}
	}
	if (r.bad || r.off != len ||
	    (cmd->db[0] == '\0' && cmd->type != BATON_CMD_LEVEL) ||
	    cmd->ordinal >= BATON_ORDINALS) {
		return BATON_EPARSE;
	}
	return 0;
}

int baton_cmd_to_raft(const struct baton_cmd *cmd, struct raft_buffer *out)
{
	uint8_t tmp[BATON_CMD_MAX];
	size_t len = 0, padded;
	int rv;

	rv = baton_cmd_encode(cmd, tmp, sizeof tmp, &len);
	if (rv != 0) {
		return rv;
	}
	/* raft_uv refuses entries whose length is not a multiple of 8 ("entry
	 * buffers must be 8-byte aligned") and, in 0.22.1, frees the buffer
	 * on that error path although raft_apply() fails. */
	padded = (len + 7) & ~(size_t)7;
	out->base = raft_malloc(padded);
	if (out->base == NULL) {
		return BATON_ENOMEM;
	}
	memset(out->base, 0, padded);
	memcpy(out->base, tmp, len);
	out->len = padded;
	return 0;
}

const char *baton_designate_step_name(int step)
{
	switch (step) {
	case BATON_DESIGNATE_JOIN:
		return "join";
	case BATON_DESIGNATE_LEAVE:
		return "leave";
	case BATON_DESIGNATE_RELEASE:
		return "release";
	default:
		return "unknown";
	}
}

const char *baton_fsm_result_name(int code)
{
	static const char *const names[] = {
	    "none",	      "ok",
	    "malformed",      "no-such-database",
	    "exists",	      "full",
	    "no-such-region", "stale-epoch",
	    "bad-epoch",      "not-primary",
	    "lease-renewed",  "not-eligible",
	    "wrong-phase",    "out-of-memory",
	    "partial",	      "stale-designation",
	    "not-flushed"};
	_Static_assert(sizeof names / sizeof names[0] == BATON_FSM__COUNT,
		       "a name for every result");
	if (code < 0 || code >= BATON_FSM__COUNT) {
		return "unknown";
	}
	return names[code];
}

/* ---- state ------------------------------------------------------------- */

static void dbs_init(struct baton_index *ix)
{
	baton_index_init(ix, sizeof(struct baton_db_state),
			 offsetof(struct baton_db_state, name), BATON_NAME_SIZE,
			 BATON_MAX_DATABASES);
}

struct baton_db_state *baton_fsm_db(struct baton_fsm *f, const char *name)
{
	return baton_index_get(&f->dbs, name);
}

int baton_fsm_region_index(const struct baton_db_state *db, const char *region)
{
	unsigned i;
	for (i = 0; i < db->n_regions; i++) {
		if (strcmp(db->regions[i].name, region) == 0) {
			return (int)i;
		}
	}
	return -1;
}

/* Remembers NAME's last EPOCH (fsm.h: the tombstones). */
static void tombstone(struct baton_fsm *f, const char *name, uint64_t epoch)
{
	struct baton_fsm_tombstone *t = NULL;

	for (unsigned i = 0; i < f->n_tomb; i++) {
		if (strcmp(f->tomb[i].name, name) == 0) {
			t = &f->tomb[i];
			break;
		}
	}
	if (t == NULL) {
		BATON_ASSERT(f->tomb_next < BATON_FSM_TOMBSTONES);
		t = &f->tomb[f->tomb_next];
		f->tomb_next = (f->tomb_next + 1) % BATON_FSM_TOMBSTONES;
		if (f->n_tomb < BATON_FSM_TOMBSTONES) {
			f->n_tomb++;
		}
		snprintf(t->name, sizeof t->name, "%s", name);
		t->epoch = 0;
	}
	if (epoch > t->epoch) {
		t->epoch = epoch;
	}
}

/* ---- designation (docs/design-per-instance.md §2, §3) -------------------- */

/* R's designation as REGISTER leaves it, and as every snapshot before
 * version 5 decodes: ordinal 0 designated, M = L = {0}, no spare. */
static void designation_reset(struct baton_region_state *r)
{
	r->designated = 0;
	r->members = BATON_ORDINAL_BIT(0);
	r->listed = BATON_ORDINAL_BIT(0);
	r->desig_seq = 0;
	memset(&r->spare, 0, sizeof r->spare);
	r->spare.ordinal = BATON_ORDINAL_NONE;
}

/* After any promote (§3.4, §4): every commit acknowledged in the old
 * epoch is on the new primary, so no instance holds an only copy any
 * more and every region's synchronous set is its designated instance
 * alone. A joiner stays in the spare slot, no longer a member. */
static void designation_settle(struct baton_db_state *db)
{
	for (unsigned i = 0; i < db->n_regions; i++) {
		struct baton_region_state *r = &db->regions[i];
		r->members = BATON_ORDINAL_BIT(r->designated);
		r->listed = r->members;
	}
}

/* Asynchronous mode (a CONFIG): with no list, M protects nothing, so a
 * move in flight is ended as a promote ends it (designation_settle()):
 * M = L = {designated}, the joiner left as the spare. Left mid-move, it
 * could never finish: the asynchronous RELEASE needs M = {designated},
 * and the synchronous one a standbys answer an asynchronous primary is
 * never sent (design-per-instance.md §9 note 33). The seq moves on where
 * M changed, so a LEAVE or RELEASE of the ended move, still in flight,
 * is refused; a region with nothing in flight keeps its bytes (and the
 * snapshot its format). A CONFIG back to synchronous starts from there
 * (§3.6). */
static void config_async(struct baton_db_state *db)
{
	for (unsigned i = 0; i < db->n_regions; i++) {
		struct baton_region_state *r = &db->regions[i];
		if (r->members != BATON_ORDINAL_BIT(r->designated) ||
		    r->listed != r->members) {
			r->desig_seq++;
		}
	}
	designation_settle(db);
}

static void spare_clear(struct baton_spare_state *sp)
{
	memset(sp, 0, sizeof *sp);
	sp->ordinal = BATON_ORDINAL_NONE;
}

/* Exchanges R's designated instance and its spare, each with what it
 * reported: the slots follow the instances, never the other way round
 * (an instance's position is never read as another's, §1.3 (b)). */
static void swap_slots(struct baton_region_state *r)
{
	struct baton_spare_state *sp = &r->spare;
	struct baton_spare_state was = {.ordinal = (int8_t)r->designated,
					.healthy = r->healthy,
					.sync_standby = r->sync_standby,
					.final = r->final,
					.position = r->position,
					.report_epoch = r->report_epoch};

	BATON_ASSERT(sp->ordinal >= 0 && sp->ordinal < BATON_ORDINALS);
	r->designated = (uint8_t)sp->ordinal;
	r->healthy = sp->healthy;
	r->sync_standby = sp->sync_standby;
	r->final = sp->final;
	r->position = sp->position;
	r->report_epoch = sp->report_epoch;
	*sp = was;
}

/* The spare slot names ORDINAL: kept as it is if it already does,
 * otherwise emptied for it (nothing reported yet). */
static void spare_take(struct baton_spare_state *sp, uint8_t ordinal)
{
	if (sp->ordinal != (int8_t)ordinal) {
		spare_clear(sp);
		sp->ordinal = (int8_t)ordinal;
	}
}

/* A released instance stays the spare only while it is healthy (§3.2). */
static void spare_keep_if_healthy(struct baton_spare_state *sp)
{
	if (!sp->healthy) {
		spare_clear(sp);
	}
}

static bool designation_default(const struct baton_region_state *r)
{
	return r->designated == 0 && r->members == BATON_ORDINAL_BIT(0) &&
	       r->listed == BATON_ORDINAL_BIT(0) && r->desig_seq == 0 &&
	       r->spare.ordinal == BATON_ORDINAL_NONE;
}

/* §2: DESIGNATED in M; L a non-empty subset of M (an empty list would make
 * the primary silently asynchronous); M within {DESIGNATED, spare}: one
 * change in flight. The primary region has no synchronous set of its own
 * (every promote resets it), so there M = L = {DESIGNATED}. An empty spare
 * slot carries nothing, so that equal states are equal bytes. */
static bool designation_consistent(const struct baton_region_state *r,
				   bool primary)
{
	const struct baton_spare_state *sp = &r->spare;
	uint16_t d = BATON_ORDINAL_BIT(r->designated & (BATON_ORDINALS - 1));
	uint16_t allowed = d;

	if (r->designated >= BATON_ORDINALS) {
		return false;
	}
	if (sp->ordinal == BATON_ORDINAL_NONE) {
		if (sp->healthy || sp->sync_standby || sp->final ||
		    sp->position != 0 || sp->report_epoch != 0) {
			return false;
		}
	} else if (sp->ordinal < 0 || sp->ordinal >= BATON_ORDINALS ||
		   sp->ordinal == r->designated) {
		return false;
	} else {
		allowed |= BATON_ORDINAL_BIT(sp->ordinal);
	}
	if ((r->members & d) == 0 || (r->members & ~allowed) != 0 ||
	    r->listed == 0 || (r->listed & ~r->members) != 0) {
		return false;
	}
	return !primary || (r->members == d && r->listed == d);
}

static int apply_register(struct baton_fsm *f, const struct baton_cmd *c)
{
	struct baton_db_state *db;
	void *item;
	int primary = -1;
	unsigned i, j;
	int rv;

	if (baton_fsm_db(f, c->db) != NULL) {
		return BATON_FSM_EXISTS;
	}
	if (baton_fsm_count(f) >= BATON_MAX_DATABASES) {
		return BATON_FSM_FULL;
	}
	if (c->n_regions == 0 || c->cfg.lease_ms == 0) {
		return BATON_FSM_MALFORMED;
	}
	for (i = 0; i < c->n_regions; i++) {
		if (c->regions[i].name[0] == '\0' ||
		    c->regions[i].role > BATON_ROLE_WITNESS) {
			return BATON_FSM_MALFORMED;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(c->regions[i].name, c->regions[j].name) ==
			    0) {
				return BATON_FSM_MALFORMED;
			}
		}
		if (strcmp(c->regions[i].name, c->primary) == 0) {
			primary = (int)i;
		}
	}
	if (primary < 0 || c->regions[primary].role != BATON_ROLE_DATA) {
		return BATON_FSM_NO_REGION;
	}
	/* Every rejection is above: from here on the command is accepted. */
	rv = baton_index_add(&f->dbs, c->db, &item);
	if (rv != 0) {
		/* EEXIST and ETOOLARGE were ruled out above, EINVAL by the
		 * decoder (empty or too long names). */
		if (NEVER(rv != BATON_ENOMEM)) {
			return BATON_FSM_MALFORMED;
		}
		return BATON_FSM_NOMEM;
	}
	db = item; /* zeroed, name set */
	db->cfg = c->cfg;
	db->n_regions = c->n_regions;
	for (i = 0; i < c->n_regions; i++) {
		memcpy(db->regions[i].name, c->regions[i].name,
		       sizeof db->regions[i].name);
		db->regions[i].role = c->regions[i].role;
		db->regions[i].priority = c->regions[i].priority;
		db->regions[i].healthy = true;
		designation_reset(&db->regions[i]);
	}
	db->primary = primary;
	db->epoch = 1;
	for (i = 0; i < f->n_tomb; i++) {
		if (strcmp(f->tomb[i].name, c->db) == 0) {
			db->epoch = f->tomb[i].epoch + 1;
			break;
		}
	}
	db->phase = BATON_PHASE_HEALTHY;
	db->sw_target = -1;
	db->lease_hwm_ms = c->cfg.lease_ms;
	return BATON_FSM_OK;
}

static void clear_finals(struct baton_db_state *db)
{
	for (unsigned i = 0; i < db->n_regions; i++) {
		db->regions[i].final = false;
		db->regions[i].spare.final = false;
	}
}

static int epoch_check(const struct baton_db_state *db, uint64_t epoch)
{
	if (epoch < db->epoch) {
		return BATON_FSM_STALE_EPOCH;
	}
	if (epoch > db->epoch) {
		return BATON_FSM_BAD_EPOCH;
	}
	return BATON_FSM_OK;
}

/* A REPORT about R's spare slot (v4, the spare flag): the joining
 * instance, else the region's best other one (§3.1, §4). It takes the
 * slot unless the slot holds a member (the joiner) or a final of this
 * failover, which another instance's report may not replace. */
static int apply_spare_report(struct baton_db_state *db,
			      struct baton_region_state *r,
			      const struct baton_cmd *c)
{
	struct baton_spare_state *sp = &r->spare;

	if (c->ordinal == r->designated) {
		return BATON_FSM_STALE_DESIGNATION;
	}
	if (sp->ordinal != (int8_t)c->ordinal && sp->ordinal >= 0 &&
	    ((r->members & BATON_ORDINAL_BIT(sp->ordinal)) != 0 || sp->final)) {
		return BATON_FSM_STALE_DESIGNATION;
	}
	spare_take(sp, c->ordinal);
	sp->healthy = c->healthy != 0;
	sp->sync_standby = c->sync_standby != 0;
	sp->report_epoch = c->epoch;
	if (db->phase == BATON_PHASE_FAILING_OVER) {
		/* frozen as the designated instance's (and the primary
		 * region's spare detaches in lost() too, §4) */
		if (!sp->final) {
			sp->position = c->position;
			sp->final = c->final != 0 && c->round == db->round;
		}
	} else {
		sp->position = c->position;
	}
	return BATON_FSM_OK;
}

/* Asynchronous mode (§3.6): no list, so no JOIN, LEAVE or evidence; a
 * lone RELEASE(designated, holder b) moves the designation to b at once.
 * b's slot forgets its report epoch, so the region is no candidate until
 * b reports in this epoch (a promote promotes the instance whose report
 * it judged). */
static int release_async(struct baton_region_state *r,
			 const struct baton_cmd *c)
{
	if (c->ordinal != r->designated) {
		return BATON_FSM_STALE_DESIGNATION;
	}
	if (c->holder == r->designated) {
		return BATON_FSM_NOT_ELIGIBLE;
	}
	spare_take(&r->spare, c->holder);
	swap_slots(r);
	r->report_epoch = 0;
	r->final = false;
	r->members = BATON_ORDINAL_BIT(r->designated);
	r->listed = r->members;
	spare_keep_if_healthy(&r->spare);
	r->desig_seq++; /* a repeated entry cannot move it again */
	return BATON_FSM_OK;
}

bool baton_fsm_release_async(const struct baton_db_state *db, int region)
{
	const struct baton_region_state *r;

	BATON_ASSERT(region >= 0 && (unsigned)region < db->n_regions);
	r = &db->regions[region];
	return !db->cfg.synchronous &&
	       r->members == BATON_ORDINAL_BIT(r->designated);
}

/* DESIGNATE (docs/design-per-instance.md §3.2): a standby region changes
 * its designated instance. Every step names the epoch and the region's
 * desig_seq it was proposed on, so one made on another designation (an
 * earlier move, a restarted proposer) is refused, as is a step out of
 * order: each requires the state the previous one leaves. What each keeps
 * (§3.4): JOIN grows M before any primary can list the joiner; LEAVE only
 * shrinks L, and a stays in M; RELEASE drops a from M only on the
 * evidence that every commit acknowledged with a's help (LSN <= X) is
 * flushed on the holder, which stays a member. Never in the primary
 * region, whose designated instance moves only by a promote. */
static int apply_designate(struct baton_db_state *db, int region,
			   const struct baton_cmd *c)
{
	struct baton_region_state *r = &db->regions[region];
	uint16_t self = BATON_ORDINAL_BIT(c->ordinal);
	uint16_t designated = BATON_ORDINAL_BIT(r->designated);
	int rc;

	if ((rc = epoch_check(db, c->epoch)) != BATON_FSM_OK) {
		return rc;
	}
	if (r->role != BATON_ROLE_DATA || region == db->primary) {
		return BATON_FSM_NOT_ELIGIBLE;
	}
	if (c->desig_seq != r->desig_seq) {
		return BATON_FSM_STALE_DESIGNATION;
	}
	switch (c->step) {
	case BATON_DESIGNATE_JOIN:
		/* a failover or switchover under way waits for the
		 * members it has; none is added in the middle */
		if (db->phase != BATON_PHASE_HEALTHY) {
			return BATON_FSM_PHASE;
		}
		if (r->members != designated) {
			return BATON_FSM_STALE_DESIGNATION; /* one at a time */
		}
		if (c->ordinal == r->designated) {
			return BATON_FSM_NOT_ELIGIBLE;
		}
		spare_take(&r->spare, c->ordinal);
		/* b counts only once it reported in this epoch */
		r->spare.report_epoch = 0;
		r->spare.final = false;
		r->members |= self;
		r->listed |= self;
		r->desig_seq++;
		return BATON_FSM_OK;
	case BATON_DESIGNATE_LEAVE:
		if (db->phase != BATON_PHASE_HEALTHY) {
			return BATON_FSM_PHASE;
		}
		if ((r->listed & self) == 0) {
			return BATON_FSM_STALE_DESIGNATION;
		}
		if ((r->listed & ~self) == 0) {
			/* the last listed: an empty list would make the
			 * primary silently asynchronous (§2) */
			return BATON_FSM_NOT_ELIGIBLE;
		}
		r->listed &= (uint16_t)~self;
		return BATON_FSM_OK;
	case BATON_DESIGNATE_RELEASE:
		/* allowed in a failover (X was measured in the epoch and
		 * stays valid, and it unblocks the round, §3.5), not in a
		 * switchover, whose target must stay what it is */
		if (db->phase == BATON_PHASE_SWITCHING_OVER ||
		    db->phase == BATON_PHASE_FENCED) {
			return BATON_FSM_PHASE;
		}
		if (baton_fsm_release_async(db, region)) {
			return release_async(r, c);
		}
		if ((r->members & self) == 0 || (r->listed & self) != 0 ||
		    (r->listed & BATON_ORDINAL_BIT(c->holder)) == 0) {
			return BATON_FSM_STALE_DESIGNATION;
		}
		if (c->drop_position == 0 ||
		    c->holder_flush < c->drop_position) {
			return BATON_FSM_NOT_FLUSHED;
		}
		r->members &= (uint16_t)~self;
		if (c->ordinal == r->designated) {
			swap_slots(r); /* M = {holder} = {spare}: it moves */
		}
		spare_keep_if_healthy(&r->spare);
		return BATON_FSM_OK;
	default:
		/* the decoder knows no other step */
		(void)NEVER(true);
		return BATON_FSM_MALFORMED;
	}
}

/* After a failover, the lost primary region P designates its spare when
 * the spare was healthy and reported in the old epoch E (§4): otherwise
 * the new primary would list P's dead instance, and with two data
 * regions every commit would wait for a designation. */
static bool spare_takes_over(const struct baton_region_state *p, uint64_t epoch)
{
	const struct baton_spare_state *sp = &p->spare;

	return sp->ordinal >= 0 && sp->healthy && sp->report_epoch == epoch;
}

static void lost_region_to_spare(struct baton_region_state *p, uint64_t epoch)
{
	if (spare_takes_over(p, epoch)) {
		swap_slots(p);
	}
}

/* The floor a synchronous promote of REGION leaves for the next round
 * (struct baton_db_state, promote_floor), or 0. Everything acknowledged
 * up to this epoch is at or below the round's highest member final (ANY 1
 * of the members) or the floor this epoch had, and the promoted instance
 * holds it. The next round awaits each standby region's designated
 * instance after the reset: one of them surely holds it only while the
 * old primary's instance is among them, i.e. unless a sibling is
 * promoted (the old instance stays in the lost region), the lost region
 * designates its spare, or the reset drops a member that may have held
 * the only other copy (a move in flight). Found by the simulation (make
 * sim, --moves: seeds 1129, 1446, 2383 and 1282 lost acknowledged
 * writes). */
static uint64_t promote_floor(const struct baton_db_state *db, int region)
{
	uint64_t held = baton_decider_member_final_floor(db);
	bool drops = region == db->primary ||
		     spare_takes_over(&db->regions[db->primary], db->epoch);

	for (unsigned i = 0; i < db->n_regions && !drops; i++) {
		const struct baton_region_state *r = &db->regions[i];
		drops = r->role == BATON_ROLE_DATA &&
			(r->members & ~BATON_ORDINAL_BIT(r->designated)) != 0;
	}
	if (db->promote_floor > held) {
		held = db->promote_floor;
	}
	return drops ? held : 0;
}

static int apply_cmd(struct baton_fsm *f, const struct baton_cmd *c)
{
	struct baton_db_state *db;
	int region = -1;
	int rc;
	uint64_t held_floor;

	if (c->type == BATON_CMD_REGISTER) {
		return apply_register(f, c);
	}
	if (c->type == BATON_CMD_LEVEL) {
		/* the fleet's level only rises: a LEVEL proposed on an older
		 * view (a leader that had not yet applied a higher one) is
		 * accepted and changes nothing */
		if (c->level > f->fleet_level) {
			f->fleet_level = c->level;
		}
		return BATON_FSM_OK;
	}
	db = baton_fsm_db(f, c->db);
	if (db == NULL) {
		return BATON_FSM_NO_DB;
	}
	if (c->type != BATON_CMD_REMOVE &&
	    c->type != BATON_CMD_SWITCHOVER_ABORT &&
	    c->type != BATON_CMD_CONFIG) {
		region = baton_fsm_region_index(db, c->region);
		if (region < 0) {
			return BATON_FSM_NO_REGION;
		}
	}
	switch (c->type) {
	case BATON_CMD_REMOVE:
		tombstone(f, db->name, db->epoch);
		baton_index_del(&f->dbs, c->db); /* frees db */
		return BATON_FSM_OK;
	case BATON_CMD_RENEW:
		if ((rc = epoch_check(db, c->epoch)) != BATON_FSM_OK) {
			return rc;
		}
		if (region != db->primary) {
			return BATON_FSM_NOT_PRIMARY;
		}
		if (db->phase == BATON_PHASE_FENCED) {
			return BATON_FSM_PHASE; /* fenced: no lease until abort
						 */
		}
		if ((db->phase == BATON_PHASE_REGION_LOST ||
		     db->phase == BATON_PHASE_FAILING_OVER) &&
		    c->round_known && c->round != db->round) {
			/* proposed before this failover round began: it was
			 * in flight when the decider judged the lease over,
			 * and may not call the failover off. A region that is
			 * really back renews again, having seen the round.
			 * (The drill pause-agent: such a renewal undid a
			 * failover and cost a whole second lease period.) */
			return BATON_FSM_PHASE;
		}
		if (db->phase == BATON_PHASE_REGION_LOST ||
		    db->phase == BATON_PHASE_FAILING_OVER) {
			/* it came back: the failover is off (a promote still
			 * in flight fails its renew_seq compare-and-swap) */
			db->phase = BATON_PHASE_HEALTHY;
			clear_finals(db);
		}
		if (c->lease_ms > db->lease_hwm_ms) {
			db->lease_hwm_ms = c->lease_ms;
		}
		db->renew_seq++;
		return BATON_FSM_OK;
	case BATON_CMD_REPORT: {
		struct baton_region_state *r = &db->regions[region];
		/* a report made for another epoch says nothing about this
		 * one (whom the instance follows) */
		if ((rc = epoch_check(db, c->epoch)) != BATON_FSM_OK) {
			return rc;
		}
		if (c->spare) {
			return apply_spare_report(db, r, c);
		}
		/* a report is about one instance (before v4: ordinal 0); one
		 * that is not the designated one any more (a RELEASE applied
		 * after it was made) says nothing about the one that is */
		if (c->ordinal != r->designated) {
			return BATON_FSM_STALE_DESIGNATION;
		}
		r->healthy = c->healthy != 0;
		r->sync_standby = c->sync_standby != 0;
		r->report_epoch = c->epoch;
		if (db->phase == BATON_PHASE_FAILING_OVER &&
		    region != db->primary) {
			/* a final position is frozen until the failover ends;
			 * a live one does not count any more */
			if (!r->final) {
				r->position = c->position;
				/* a final position from an earlier round (the
				 * standby has streamed since) is no final
				 * position for this one */
				r->final =
				    c->final != 0 && c->round == db->round;
			}
		} else if (region != db->primary ||
			   db->phase != BATON_PHASE_FENCED) {
			r->position = c->position;
		}
		return BATON_FSM_OK;
	}
	case BATON_CMD_LOST:
		/* synchronous failover, step 1 (decider.h): the decider saw
		 * the primary's lease end; renewals no longer count as the
		 * primary's until one comes back, and the standbys detach
		 * and report where they stopped */
		if ((rc = epoch_check(db, c->epoch)) != BATON_FSM_OK) {
			return rc;
		}
		if (region != db->primary) {
			return BATON_FSM_NOT_PRIMARY;
		}
		if (c->renew_seq != db->renew_seq) {
			return BATON_FSM_LEASE_RENEWED;
		}
		/* also in a planned switchover whose old primary (or target)
		 * died before it finished: no renewal for a whole lease */
		if (db->phase == BATON_PHASE_FAILING_OVER) {
			return BATON_FSM_PHASE;
		}
		/* manual mode too: a human asked to promote a region of a
		 * synchronous database (batond/switchover.c), which then
		 * waits for the final positions; no one but the human
		 * promotes (decider.c) */
		db->phase = BATON_PHASE_FAILING_OVER;
		db->sw_target = -1;
		db->sw_final_position = 0;
		db->round++;
		clear_finals(db);
		return BATON_FSM_OK;
	case BATON_CMD_PROMOTE:
		if (c->epoch <= db->epoch) {
			return BATON_FSM_STALE_EPOCH;
		}
		if (c->epoch != db->epoch + 1) {
			return BATON_FSM_BAD_EPOCH;
		}
		if (db->regions[region].role != BATON_ROLE_DATA) {
			return BATON_FSM_NOT_ELIGIBLE;
		}
		/* the instance promoted is the target's designated one or its
		 * spare (a sibling, §4), each judged on its own reports */
		if (c->ordinal != db->regions[region].designated &&
		    (int)c->ordinal != db->regions[region].spare.ordinal) {
			return BATON_FSM_NOT_ELIGIBLE;
		}
		if (c->renew_seq != db->renew_seq) {
			return BATON_FSM_LEASE_RENEWED;
		}
		if (c->reason == BATON_REASON_SWITCHOVER &&
		    (db->phase != BATON_PHASE_FENCED ||
		     region != db->sw_target)) {
			return BATON_FSM_PHASE;
		}
		/* judged before the reset below changes what it reads */
		held_floor =
		    db->cfg.synchronous && c->reason != BATON_REASON_SWITCHOVER
			? promote_floor(db, region)
			: 0;
		if (c->ordinal != db->regions[region].designated) {
			swap_slots(&db->regions[region]);
		}
		if (region != db->primary &&
		    c->reason != BATON_REASON_SWITCHOVER) {
			lost_region_to_spare(&db->regions[db->primary],
					     db->epoch);
		}
		db->primary = region;
		db->epoch = c->epoch;
		designation_settle(db);
		db->renew_seq = 0;
		db->phase = BATON_PHASE_HEALTHY;
		db->sw_target = -1;
		db->sw_final_position = 0;
		db->promote_floor = held_floor;
		db->lease_hwm_ms = db->cfg.lease_ms;
		clear_finals(db);
		return BATON_FSM_OK;
	case BATON_CMD_SWITCHOVER:
		if ((rc = epoch_check(db, c->epoch)) != BATON_FSM_OK) {
			return rc;
		}
		if (db->phase != BATON_PHASE_HEALTHY) {
			return BATON_FSM_PHASE;
		}
		if (region == db->primary ||
		    db->regions[region].role != BATON_ROLE_DATA) {
			return BATON_FSM_NOT_ELIGIBLE;
		}
		db->phase = BATON_PHASE_SWITCHING_OVER;
		db->sw_target = region;
		db->round++;
		return BATON_FSM_OK;
	case BATON_CMD_FENCE:
		if ((rc = epoch_check(db, c->epoch)) != BATON_FSM_OK) {
			return rc;
		}
		if (region != db->primary) {
			return BATON_FSM_NOT_PRIMARY;
		}
		if (db->phase != BATON_PHASE_SWITCHING_OVER) {
			return BATON_FSM_PHASE;
		}
		/* the old primary fenced for *this* switchover (H3): a fence
		 * acknowledged in an earlier one, called off since, proves
		 * nothing about now */
		if (c->round != db->round) {
			return BATON_FSM_STALE_EPOCH;
		}
		db->phase = BATON_PHASE_FENCED;
		db->sw_final_position = c->position;
		db->regions[region].position = c->position;
		return BATON_FSM_OK;
	case BATON_CMD_SWITCHOVER_ABORT:
		if ((rc = epoch_check(db, c->epoch)) != BATON_FSM_OK) {
			return rc;
		}
		if (db->phase != BATON_PHASE_SWITCHING_OVER &&
		    db->phase != BATON_PHASE_FENCED) {
			return BATON_FSM_PHASE;
		}
		db->phase = BATON_PHASE_HEALTHY;
		db->sw_target = -1;
		return BATON_FSM_OK;
	case BATON_CMD_DESIGNATE:
		return apply_designate(db, region, c);
	case BATON_CMD_CONFIG:
		/* failover settings edited on a live database. The lease a
		 * renewal claims travels with it and the decider keeps the
		 * latest end over every renewal (decider.h), so a shorter
		 * lease only shortens leases renewed from now on. Manual
		 * mode stops a failover that has not promoted yet. */
		if (c->cfg.lease_ms == 0 || c->cfg.renew_ms == 0 ||
		    c->cfg.renew_ms >= c->cfg.lease_ms) {
			return BATON_FSM_MALFORMED;
		}
		db->cfg = c->cfg;
		if (!db->cfg.automatic &&
		    db->phase == BATON_PHASE_FAILING_OVER) {
			db->phase = BATON_PHASE_REGION_LOST;
			clear_finals(db);
		}
		if (!db->cfg.synchronous) {
			config_async(db);
		}
		return BATON_FSM_OK;
	default:
		/* the decoder knows no other type; REGISTER is above */
		(void)NEVER(true);
		return BATON_FSM_MALFORMED;
	}
}

/* DB's state is one the rules above can produce (and get_db() accepts).
 * O(regions): checked after every apply, in every build (NEVER). */
static bool db_consistent(const struct baton_db_state *db)
{
	if (!(db->n_regions > 0 && db->n_regions <= BATON_MAX_REGIONS &&
	      db->primary >= 0 && (unsigned)db->primary < db->n_regions &&
	      db->sw_target >= -1 && db->sw_target < (int)db->n_regions &&
	      db->phase < BATON_PHASE__COUNT)) {
		return false;
	}
	for (unsigned i = 0; i < db->n_regions; i++) {
		if (!designation_consistent(&db->regions[i],
					    (int)i == db->primary)) {
			return false;
		}
	}
	return true;
}

/* apply_cmd() and the checks on the state it leaves behind. */
static int apply_checked(struct baton_fsm *f, const struct baton_cmd *c)
{
	int result = apply_cmd(f, c);
	const struct baton_db_state *db = baton_fsm_db(f, c->db);

	/* a rejected command changed nothing, an applied one kept the
	 * state consistent; a release build goes on with what it has */
	if (db != NULL) {
		(void)NEVER(!db_consistent(db));
	}
	return result;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;
	if (h == 0) {
		h = 1469598103934665603ull;
	}
	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Until v0.1 batond wrote entries in a frame of its own: [u32 length,
 * big-endian][command][zero padding to 8]. Such an entry starts with two
 * zero bytes, an entry in today's format with "BT": a log written then
 * still applies (the command inside the frame, to its stated length). */
static const uint8_t *legacy_unframe(const uint8_t *b, size_t *len)
{
	size_t n;

	if (b == NULL || *len < 8 || b[0] != 0 || b[1] != 0) {
		return b;
	}
	n = (size_t)b[2] << 8 | b[3];
	if (n > *len - 4 || n < 2 || b[4] != 'B' || b[5] != 'T') {
		return b; /* not a frame: decodes as malformed */
	}
	*len = n;
	return b + 4;
}

/* Item I of BATCH as the RENEW or REPORT it stands for: the command
 * the proposer would have sent alone (a REPORT_BATCH item is a REPORT of
 * format 4 with the flags and round of a periodic one: neither final nor
 * spare, round 0). */
static void batch_item(const struct baton_cmd *batch, unsigned i,
		       struct baton_cmd *out)
{
	memset(out, 0, sizeof *out);
	memcpy(out->region, batch->region, sizeof out->region);
	if (batch->type == BATON_CMD_REPORT_BATCH) {
		const struct baton_report_item *it = &batch->reports[i];

		out->type = BATON_CMD_REPORT;
		memcpy(out->db, it->db, sizeof out->db);
		out->epoch = it->epoch;
		out->healthy = it->healthy;
		out->sync_standby = it->sync_standby;
		out->position = it->position;
		out->ordinal = it->ordinal;
		return;
	}
	BATON_ASSERT(batch->type == BATON_CMD_RENEW_BATCH);
	out->type = BATON_CMD_RENEW;
	memcpy(out->db, batch->items[i].db, sizeof out->db);
	out->epoch = batch->items[i].epoch;
	out->send_ms = batch->send_ms;
	out->lease_ms = batch->items[i].lease_ms;
	out->round = batch->items[i].round;
	out->round_known = 1;
	out->nonce = batch->nonce;
}

/* A RENEW_BATCH or REPORT_BATCH: every item applies as its RENEW or
 * REPORT, through the same code with the same rules (the per-database
 * compare-and-swap included), and the observer hears of each. Neither
 * allocates: no item can come back NOMEM. */
static int apply_batch(struct baton_fsm *f, const struct baton_cmd *batch,
		       const void *buf, size_t len)
{
	int results[BATON_RENEW_BATCH_MAX] = {0};
	struct baton_cmd item;
	uint8_t r = BATON_FSM_OK;
	int all = BATON_FSM_OK;

	for (unsigned i = 0; i < batch->n_items; i++) {
		batch_item(batch, i, &item);
		results[i] = apply_checked(f, &item);
		(void)NEVER(results[i] == BATON_FSM_NOMEM);
		if (results[i] != BATON_FSM_OK) {
			all = BATON_FSM_PARTIAL;
		}
	}
	f->applied++;
	f->chain = fnv(f->chain, buf, len);
	for (unsigned i = 0; i < batch->n_items; i++) {
		r = (uint8_t)results[i];
		f->chain = fnv(f->chain, &r, 1);
	}
	if (f->observer == NULL) {
		return all;
	}
	for (unsigned i = 0; i < batch->n_items; i++) {
		batch_item(batch, i, &item);
		f->observer(f, &item, results[i], f->observer_data);
	}
	return all;
}

int baton_fsm_apply_buf(struct baton_fsm *f, const void *buf, size_t len)
{
	struct baton_cmd cmd;
	int result;
	uint8_t r;
	size_t cmd_len = len;
	const uint8_t *cmd_buf = legacy_unframe(buf, &cmd_len);

	if (baton_cmd_decode(cmd_buf, cmd_len, &cmd) != 0) {
		result = BATON_FSM_MALFORMED;
	} else if (cmd.type == BATON_CMD_RENEW_BATCH ||
		   cmd.type == BATON_CMD_REPORT_BATCH) {
		return apply_batch(f, &cmd, buf, len);
	} else {
		result = apply_checked(f, &cmd);
		if (result == BATON_FSM_NOMEM) {
			return result; /* not applied: see fsm.h */
		}
	}
	f->applied++;
	r = (uint8_t)result;
	f->chain = fnv(f->chain, buf, buf != NULL ? len : 0);
	f->chain = fnv(f->chain, &r, 1);
	if (f->observer != NULL) {
		f->observer(f, result == BATON_FSM_MALFORMED ? NULL : &cmd,
			    result, f->observer_data);
	}
	return result;
}

/* ---- raft glue ---------------------------------------------------------- */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf,
		     void **result)
{
	struct baton_fsm *f = fsm->data;
	int rc = baton_fsm_apply_buf(f, buf->base, buf->len);
	if (rc == BATON_FSM_NOMEM) {
		return RAFT_NOMEM; /* stall here rather than diverge */
	}
	*result = (void *)(uintptr_t)rc;
	return 0; /* never stop the log: rejections live in the result */
}

static void put_db(struct wr *w, const struct baton_db_state *db, int version)
{
	unsigned i;
	put_str(w, db->name);
	put_cfg(w, &db->cfg);
	put_u8(w, (uint8_t)db->n_regions);
	for (i = 0; i < db->n_regions; i++) {
		const struct baton_region_state *r = &db->regions[i];
		put_str(w, r->name);
		put_u8(w, r->role);
		put_u32(w, (uint32_t)r->priority);
		put_u8(w, (uint8_t)((r->healthy ? 1 : 0) |
				    (r->sync_standby ? 2 : 0) |
				    (r->final ? 4 : 0)));
		put_u64(w, r->position);
		if (version >= 3) {
			put_u64(w, r->report_epoch);
		}
		if (version >= 5) {
			const struct baton_spare_state *sp = &r->spare;
			put_u8(w, r->designated);
			put_u16(w, r->members);
			put_u16(w, r->listed);
			put_u64(w, r->desig_seq);
			put_u8(w, (uint8_t)sp->ordinal); /* none: 0xFF */
			put_u8(w, (uint8_t)((sp->healthy ? 1 : 0) |
					    (sp->sync_standby ? 2 : 0) |
					    (sp->final ? 4 : 0)));
			put_u64(w, sp->position);
			put_u64(w, sp->report_epoch);
		} else if (!designation_default(r)) {
			w->invalid = true; /* the format cannot say it */
		}
	}
	put_u8(w, (uint8_t)db->primary);
	put_u64(w, db->epoch);
	put_u8(w, db->phase);
	put_u64(w, db->renew_seq);
	put_u8(w, (uint8_t)(db->sw_target + 1));
	put_u64(w, db->sw_final_position);
	if (version >= 3) {
		put_u32(w, db->lease_hwm_ms);
		put_u64(w, db->round);
	}
	if (version >= 6) {
		put_u64(w, db->promote_floor);
	} else if (db->promote_floor != 0) {
		w->invalid = true; /* the format cannot say it */
	}
}

static void get_db(struct rd *r, struct baton_db_state *db, int version)
{
	unsigned i;
	memset(db, 0, sizeof *db);
	get_str(r, db->name);
	get_cfg(r, &db->cfg);
	db->n_regions = get_u8(r);
	if (db->n_regions > BATON_MAX_REGIONS) {
		r->bad = true;
		return;
	}
	for (i = 0; i < db->n_regions; i++) {
		struct baton_region_state *g = &db->regions[i];
		uint8_t flags;
		get_str(r, g->name);
		g->role = get_u8(r);
		if (g->role > BATON_ROLE_WITNESS) {
			r->bad = true;
		}
		g->priority = (int32_t)get_u32(r);
		flags = get_u8(r);
		if (flags & ~7u) {
			r->bad = true;
		}
		g->healthy = flags & 1;
		g->sync_standby = (flags & 2) != 0;
		g->final = (flags & 4) != 0;
		g->position = get_u64(r);
		if (version >= 3) {
			g->report_epoch = get_u64(r);
		}
		designation_reset(g);
		if (version >= 5) {
			struct baton_spare_state *sp = &g->spare;
			g->designated = get_u8(r);
			g->members = get_u16(r);
			g->listed = get_u16(r);
			g->desig_seq = get_u64(r);
			sp->ordinal = (int8_t)get_u8(r);
			flags = get_u8(r);
			if (flags & ~7u) {
				r->bad = true;
			}
			sp->healthy = flags & 1;
			sp->sync_standby = (flags & 2) != 0;
			sp->final = (flags & 4) != 0;
			sp->position = get_u64(r);
			sp->report_epoch = get_u64(r);
		}
	}
	db->primary = get_u8(r);
	db->epoch = get_u64(r);
	db->phase = get_u8(r);
	db->renew_seq = get_u64(r);
	db->sw_target = (int)get_u8(r) - 1;
	db->sw_final_position = get_u64(r);
	db->lease_hwm_ms =
	    version >= 3 ? get_u32(r) : db->cfg.lease_ms; /* v1, v2 */
	db->round = version >= 3 ? get_u64(r) : 0;
	db->promote_floor = version >= 6 ? get_u64(r) : 0;
	if ((unsigned)db->primary >= db->n_regions ||
	    db->phase >= BATON_PHASE__COUNT ||
	    db->sw_target >= (int)db->n_regions) {
		r->bad = true;
		return;
	}
	/* a state the rules cannot produce is corrupt (§2) */
	if (!r->bad && !db_consistent(db)) {
		r->bad = true;
	}
}

/* The lowest format that can hold F: version 4 while every region has
 * the designation REGISTER gives it (nothing sets another yet), so that a
 * snapshot stays readable by a batond of the version before until a
 * designation is in use (docs/design-per-instance.md §5). */
static int snapshot_version(const struct baton_fsm *f)
{
	unsigned n = baton_fsm_count(f);
	int v = 4;

	if (f->fleet_level > 0) {
		return 7; /* every region's batond reads it (fsm.h) */
	}
	for (unsigned i = 0; i < n; i++) {
		const struct baton_db_state *db = baton_fsm_db_at(f, i);
		if (db->promote_floor != 0) {
			return 6;
		}
		for (unsigned k = 0; k < db->n_regions; k++) {
			if (!designation_default(&db->regions[k])) {
				v = 5;
			}
		}
	}
	return v;
}

int baton_fsm_snapshot_encode(const struct baton_fsm *f,
			      struct raft_buffer *out)
{
	return baton_fsm_snapshot_encode_version(f, snapshot_version(f), out);
}

static void put_snapshot(struct wr *w, const struct baton_fsm *f, int version)
{
	unsigned n = baton_fsm_count(f);
	unsigned i;

	put_u8(w, 'B');
	put_u8(w, 'S');
	put_u8(w, (uint8_t)version);
	put_u64(w, f->applied);
	put_u64(w, f->chain);
	put_u32(w, n);
	for (i = 0; i < n; i++) {
		put_db(w, baton_fsm_db_at(f, i), version);
	}
	if (version >= 4) {
		put_u32(w, f->n_tomb);
		put_u32(w, f->tomb_next);
		for (i = 0; i < f->n_tomb; i++) {
			put_str(w, f->tomb[i].name);
			put_u64(w, f->tomb[i].epoch);
		}
	}
	if (version >= 7) {
		put_u32(w, f->fleet_level);
	}
}

int baton_fsm_snapshot_encode_version(const struct baton_fsm *f, int version,
				      struct raft_buffer *out)
{
	struct wr w = {0};

	if (version < 2 || version > BATON_SNAPSHOT_VERSION ||
	    (snapshot_version(f) >= 5 && version < snapshot_version(f))) {
		return BATON_EINVAL; /* the format cannot hold this state */
	}
	/* Two passes: measure, then write into a buffer of exactly that
	 * size. A worst-case bound (64 + n x 848 bytes) would allocate 8 MiB
	 * at 10,000 databases for a snapshot of ~1.4 MiB (a 3-region
	 * database encodes in ~135 bytes). */
	put_snapshot(&w, f, version);
	if (w.invalid) {
		return BATON_ETOOLARGE;
	}
	w.cap = w.len;
	w.len = 0;
	w.p = raft_malloc(w.cap > 0 ? w.cap : 1);
	if (w.p == NULL) {
		return BATON_ENOMEM;
	}
	put_snapshot(&w, f, version);
	if (w.overflow || w.invalid || w.len != w.cap) {
		raft_free(w.p);
		return BATON_ETOOLARGE;
	}
	out->base = w.p;
	out->len = w.len;
	return 0;
}

/* Decodes into a fresh index and replaces F's databases only when the
 * whole snapshot is valid: a truncated or corrupt snapshot (bad counts,
 * names, indexes, duplicate databases, trailing bytes) leaves F untouched
 * and returns BATON_EPARSE; BATON_ENOMEM when a record cannot be
 * allocated. */
int baton_fsm_snapshot_decode(struct baton_fsm *f, const void *buf, size_t len)
{
	struct rd r = {.p = buf, .len = len};
	struct baton_index dbs;
	uint64_t applied, chain;
	uint32_t n, i, n_tomb = 0, tomb_next = 0, level = 0;
	struct baton_fsm_tombstone *tomb = NULL;
	int rv = BATON_EPARSE;

	if (buf == NULL || len < 3 || r.p[0] != 'B' || r.p[1] != 'S' ||
	    r.p[2] < 1 || r.p[2] > BATON_SNAPSHOT_VERSION) {
		return BATON_EPARSE;
	}
	r.off = 3;
	applied = get_u64(&r);
	chain = get_u64(&r);
	n = r.p[2] == 1 ? get_u8(&r) : get_u32(&r); /* v1: u8 count */
	if (r.bad || n > BATON_MAX_DATABASES) {
		return BATON_EPARSE;
	}
	dbs_init(&dbs);
	for (i = 0; i < n; i++) {
		struct baton_db_state db;
		void *item;
		int arv;

		get_db(&r, &db, r.p[2]);
		if (r.bad) {
			goto err_after_init;
		}
		arv = baton_index_add(&dbs, db.name, &item);
		if (arv != 0) {
			/* a duplicate or empty name is corrupt */
			rv = arv == BATON_ENOMEM ? BATON_ENOMEM : BATON_EPARSE;
			goto err_after_init;
		}
		memcpy(item, &db, sizeof db);
	}
	if (r.p[2] >= 4) {
		tomb = calloc(BATON_FSM_TOMBSTONES, sizeof *tomb);
		if (tomb == NULL) {
			rv = BATON_ENOMEM;
			goto err_after_init;
		}
		n_tomb = get_u32(&r);
		tomb_next = get_u32(&r);
		if (r.bad || n_tomb > BATON_FSM_TOMBSTONES ||
		    tomb_next >= BATON_FSM_TOMBSTONES ||
		    (n_tomb < BATON_FSM_TOMBSTONES && tomb_next != n_tomb)) {
			goto err_after_init;
		}
		for (i = 0; i < n_tomb; i++) {
			get_str(&r, tomb[i].name);
			tomb[i].epoch = get_u64(&r);
			if (r.bad || tomb[i].name[0] == '\0') {
				goto err_after_init;
			}
		}
	}
	if (r.p[2] >= 7) {
		level = get_u32(&r);
	}
	if (r.bad || r.off != len) {
		goto err_after_init;
	}
	baton_index_free(&f->dbs);
	f->dbs = dbs;
	f->applied = applied;
	f->chain = chain;
	memset(f->tomb, 0, sizeof f->tomb);
	if (tomb != NULL) {
		memcpy(f->tomb, tomb, (size_t)n_tomb * sizeof tomb[0]);
	}
	f->n_tomb = n_tomb;
	f->tomb_next = tomb_next;
	f->fleet_level = level;
	free(tomb);
	return 0;

err_after_init:
	free(tomb);
	baton_index_free(&dbs);
	return rv;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
			unsigned *n_bufs)
{
	struct baton_fsm *f = fsm->data;
	int rv;

	*bufs = raft_malloc(sizeof **bufs);
	if (*bufs == NULL) {
		return RAFT_NOMEM;
	}
	rv = baton_fsm_snapshot_encode(f, &(*bufs)[0]);
	if (rv != 0) {
		raft_free(*bufs);
		*bufs = NULL;
		return RAFT_NOMEM;
	}
	*n_bufs = 1;
	return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct baton_fsm *f = fsm->data;
	int rv = baton_fsm_snapshot_decode(f, buf->base, buf->len);

	if (rv != 0) {
		return rv == BATON_ENOMEM ? RAFT_NOMEM : RAFT_MALFORMED;
	}
	raft_free(buf->base); /* on success the FSM owns it */
	if (f->observer != NULL) {
		f->observer(f, NULL, 0, f->observer_data);
	}
	return 0;
}

void baton_fsm_init(struct baton_fsm *f, struct raft_fsm *raft_fsm)
{
	memset(f, 0, sizeof *f);
	dbs_init(&f->dbs);
	memset(raft_fsm, 0, sizeof *raft_fsm);
	raft_fsm->version = 2;
	raft_fsm->data = f;
	raft_fsm->apply = fsm_apply;
	raft_fsm->snapshot = fsm_snapshot;
	raft_fsm->restore = fsm_restore;
	raft_fsm->snapshot_finalize = NULL;
	raft_fsm->snapshot_async = NULL;
}

void baton_fsm_close(struct raft_fsm *raft_fsm)
{
	struct baton_fsm *f = raft_fsm->data;

	if (f != NULL) {
		baton_index_free(&f->dbs);
	}
	raft_fsm->data = NULL;
}
