/* The failover decider. See decider.h for the protocol and why it is safe.
 *
 * Pure: no I/O, no clock. Every timestamp is the caller's monotonic
 * milliseconds. Arithmetic is in integers so that the simulation replays bit
 * for bit. The only allocation is one lease record per database, found by
 * name through a hash index (consensus/index.h); a lease that cannot be
 * allocated only withholds decisions about its database.
 *
 * Invariants (common/assert.h): the database states come from the FSM,
 * whose rules and decoders keep the primary and the switchover target
 * indexes of its regions; the branches that would guard against anything
 * else are NEVER()s that decide nothing.
 */
#include "consensus/decider.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/assert.h"

void baton_decider_init(struct baton_decider *d, unsigned flags)
{
	memset(d, 0, sizeof *d);
	d->flags = flags;
	d->retry_ms = 1000;
	d->spare_wait_ms = BATON_DECIDER_SPARE_WAIT_MS;
	baton_index_init(&d->leases, sizeof(struct baton_decider_lease),
			 offsetof(struct baton_decider_lease, db),
			 BATON_NAME_SIZE, BATON_MAX_DATABASES);
}

void baton_decider_close(struct baton_decider *d)
{
	baton_index_free(&d->leases);
}

/* A lease of LEASE_MS counted from NOW in this leader's view: with the
 * drift allowance and the margin. */
static uint64_t full(const struct baton_db_state *db, uint64_t now,
		     uint32_t lease_ms)
{
	uint64_t lease = lease_ms;
	return now + lease + lease * db->cfg.drift_ppm / 1000000u +
	       db->cfg.margin_ms;
}

/* The longest lease any renewal may claim in DB's current epoch. */
static uint32_t longest(const struct baton_db_state *db)
{
	return db->lease_hwm_ms > db->cfg.lease_ms ? db->lease_hwm_ms
						   : db->cfg.lease_ms;
}

void baton_decider_become_leader(struct baton_decider *d, uint64_t now)
{
	unsigned i;

	d->leader = true;
	d->leader_since_ms = now;
	/* A new leader keeps what it recorded as a follower: every node
	 * records the local apply time of every renewal it applies, and a
	 * renewal's send precedes its apply on *any* node, so the bound of
	 * decider.h holds for a follower's records as for the leader's.
	 * Renewals committed but not yet applied here are applied after the
	 * election (later apply times, later expiries); a decision made
	 * before they apply carries a renew_seq they void. Until 2026-12-04
	 * every lease restarted at the election, which cost a whole lease
	 * on top of the election whenever the primary's region also held
	 * the Raft leader (docs/consensus.md). What was proposed as the old
	 * leader's follower is not this node's proposal. */
	for (i = 0; i < baton_index_count(&d->leases); i++) {
		struct baton_decider_lease *l = baton_index_at(&d->leases, i);
		l->proposed = false;
		l->notified = false;
		l->finals_seen = false;
	}
}

void baton_decider_restored(struct baton_decider *d, uint64_t now)
{
	/* the snapshot holds renewals this node never applied, each sent
	 * before now: every lease counts as renewed now (with the epoch's
	 * longest lease, expiry_of()), as at first sight */
	for (unsigned i = 0; i < baton_index_count(&d->leases); i++) {
		struct baton_decider_lease *l = baton_index_at(&d->leases, i);
		if (now > l->base_ms) {
			l->base_ms = now;
		}
		if (now > l->renewed_ms) {
			l->renewed_ms = now;
		}
	}
}

void baton_decider_lose_leadership(struct baton_decider *d)
{
	d->leader = false;
}

static struct baton_decider_lease *lease_get(struct baton_decider *d,
					     const struct baton_db_state *db,
					     uint64_t now)
{
	struct baton_decider_lease *l = baton_index_get(&d->leases, db->name);
	void *item;

	if (l != NULL) {
		if (l->epoch != db->epoch) {
			/* First sight of this epoch here: the lease starts
			 * now (conservative). */
			l->epoch = db->epoch;
			l->new_epoch = true;
			l->base_ms = now;
			l->renewed_ms = now;
			l->send_ms = now;
			l->expiry_ms = 0;
			l->proposed = false;
			l->notified = false;
			l->finals_seen = false;
		}
		return l;
	}
	if (baton_index_add(&d->leases, db->name, &item) != 0) {
		return NULL; /* out of memory or a bad name: no decision */
	}
	l = item; /* zeroed, name set */
	l->epoch = db->epoch;
	/* Never seen here: a leader counts it as renewed at its election
	 * (§5.2; restores happen only on followers, so nothing later was
	 * missed), anyone else from now; expiry_of() adds the lease. */
	l->base_ms = d->leader ? d->leader_since_ms : now;
	l->renewed_ms = l->base_ms;
	l->send_ms = l->base_ms;
	return l;
}

void baton_decider_renewed(struct baton_decider *d,
			   const struct baton_db_state *db, uint32_t lease_ms,
			   uint64_t send_ms, uint64_t now)
{
	struct baton_decider_lease *l = lease_get(d, db, now);
	uint64_t e;

	if (l == NULL) {
		return;
	}
	if (now > l->renewed_ms) {
		l->renewed_ms = now;
	}
	/* the latest end over every renewal applied: a renewal claiming a
	 * longer lease than the next one keeps its own end */
	e = full(db, now, lease_ms != 0 ? lease_ms : db->cfg.lease_ms);
	if (e > l->expiry_ms) {
		l->expiry_ms = e;
	}
	l->send_ms = send_ms;
	l->proposed = false;
}

void baton_decider_forget(struct baton_decider *d, const char *db)
{
	baton_index_del(&d->leases, db);
}

struct retain_ctx {
	bool (*exists)(const char *db, void *data);
	void *data;
};

static bool lease_exists(const void *item, void *data)
{
	const struct baton_decider_lease *l = item;
	const struct retain_ctx *ctx = data;
	return ctx->exists(l->db, ctx->data);
}

void baton_decider_retain(struct baton_decider *d,
			  bool (*exists)(const char *db, void *data),
			  void *data)
{
	struct retain_ctx ctx = {exists, data};
	baton_index_retain(&d->leases, lease_exists, &ctx);
}

static uint64_t expiry_of(const struct baton_decider *d,
			  const struct baton_decider_lease *l,
			  const struct baton_db_state *db)
{
	unsigned flags = d->flags;
	uint64_t lease = db->cfg.lease_ms;
	uint64_t e;

	if (flags & BATON_DECIDER_BROKEN_SEND_TIME) {
		/* BROKEN: another machine's clock, and no allowance. */
		return l->send_ms + lease;
	}
	if (flags & BATON_DECIDER_BROKEN_NO_DRIFT) {
		return l->renewed_ms + lease;
	}
	/* as renewed at the election (or at first sight) with the longest
	 * lease of the epoch, or later by the renewals themselves, each with
	 * the lease it claimed: whichever ends last */
	e = full(db, l->base_ms, longest(db));
	/* A new epoch's primary renews once its region has applied the
	 * promote and ordered its instance (under load, seconds after the
	 * leader applied it): it has one more lease before its first
	 * renewal. Never sooner than the rule above, so as safe. */
	if (l->new_epoch && l->expiry_ms == 0) {
		e += lease;
	}
	if (l->expiry_ms > e) {
		e = l->expiry_ms;
	}
	/* A new leader decides nothing in its first renewal round and a
	 * half: a lease that ran out while the fleet had no leader (no
	 * renewal could commit) gets one chance to be renewed through this
	 * leader before it counts as lost, so a leadership change alone is
	 * a pause in writes, not a failover. Later, never sooner: as safe. */
	if (d->leader &&
	    e < d->leader_since_ms + BATON_DECIDER_GRACE(db->cfg.renew_ms)) {
		e = d->leader_since_ms + BATON_DECIDER_GRACE(db->cfg.renew_ms);
	}
	return e;
}

/* When a primary whose lease ends at EXPIRY counts as lost. A planned
 * switchover stops the renewals on purpose: the old primary has one more
 * lease to fence before this turns into a failover (it becomes one when
 * the old primary or the target died). */
static uint64_t lost_at(const struct baton_db_state *db, uint64_t expiry)
{
	if (db->phase == BATON_PHASE_SWITCHING_OVER ||
	    db->phase == BATON_PHASE_FENCED) {
		return expiry + db->cfg.lease_ms;
	}
	return expiry;
}

uint64_t baton_decider_lost_at(const struct baton_decider *d,
			       const struct baton_db_state *db, uint64_t now)
{
	return lost_at(db, baton_decider_expiry(d, db, now));
}

uint64_t baton_decider_expiry(const struct baton_decider *d,
			      const struct baton_db_state *db, uint64_t now)
{
	const struct baton_decider_lease *l =
	    baton_index_get(&d->leases, db->name);

	if (l != NULL && l->epoch == db->epoch) {
		return expiry_of(d, l, db);
	}
	{
		struct baton_decider_lease fresh = {
		    .base_ms = now, .renewed_ms = now, .send_ms = now};
		return expiry_of(d, &fresh, db);
	}
}

/* One instance of a region as the decider sees it (issue 15 item 4,
 * docs/design-per-instance.md §3.1): slot 0 is the designated instance,
 * slot 1 the spare, each with what it reported itself; a decision names
 * the instance, never a region's best pod (§1.3 (b), (c)). */
struct slot {
	int ordinal;
	bool member; /* in M: its final is awaited (§3.5) */
	bool healthy, sync_standby, final;
	uint64_t position, report_epoch;
};

/* Slot S of region I into OUT; false when there is none. A spare slot
 * naming the designated ordinal is none too: records built by hand
 * (zeroed) have one, and the FSM never makes one (fsm.c). */
static bool slot_of(const struct baton_db_state *db, unsigned i, int s,
		    struct slot *out)
{
	const struct baton_region_state *r = &db->regions[i];
	const struct baton_spare_state *sp = &r->spare;

	if (s == 0) {
		*out = (struct slot){.ordinal = r->designated,
				     .member = true,
				     .healthy = r->healthy,
				     .sync_standby = r->sync_standby,
				     .final = r->final,
				     .position = r->position,
				     .report_epoch = r->report_epoch};
		return true;
	}
	if (sp->ordinal < 0 || sp->ordinal >= BATON_ORDINALS ||
	    sp->ordinal == (int)r->designated) {
		return false;
	}
	*out = (struct slot){
	    .ordinal = sp->ordinal,
	    .member = (r->members & BATON_ORDINAL_BIT(sp->ordinal)) != 0,
	    .healthy = sp->healthy,
	    .sync_standby = sp->sync_standby,
	    .final = sp->final,
	    .position = sp->position,
	    .report_epoch = sp->report_epoch};
	return true;
}

/* An instance that may become the primary: healthy, of a data region,
 * reported in the current epoch (so it follows this epoch's primary).
 * In the lost primary's region EXCLUDE the designated instance is the
 * one lost; its spare (a sibling) counts only on the region's own word:
 * it reported, in this epoch, its designated instance down (§4). A
 * region cut off as a whole still reads "designated healthy" and fails
 * over elsewhere. */
static bool candidate(const struct baton_db_state *db, int i, int s,
		      const struct slot *sl, int exclude, unsigned flags)
{
	const struct baton_region_state *r = &db->regions[i];

	if (r->role != BATON_ROLE_DATA || !sl->healthy ||
	    sl->report_epoch != db->epoch) {
		return false;
	}
	if (i != exclude) {
		return true;
	}
	if (flags & BATON_DECIDER_BROKEN_SIBLING_ANY_REPORT) {
		return s == 1; /* BROKEN: no word from the region needed */
	}
	return s == 1 && !r->healthy && r->report_epoch == db->epoch;
}

/* The highest final position of a member of a standby region: every
 * commit acknowledged in the epoch is at or below it (ANY 1 of the
 * members, §2 (I-HOLD)). */
uint64_t baton_decider_member_final_floor(const struct baton_db_state *db)
{
	uint64_t floor = 0;
	struct slot sl;

	for (unsigned i = 0; i < db->n_regions; i++) {
		if ((int)i == db->primary ||
		    db->regions[i].role != BATON_ROLE_DATA) {
			continue;
		}
		for (int s = 0; s < 2; s++) {
			if (slot_of(db, i, s, &sl) && sl.member && sl.final &&
			    sl.report_epoch == db->epoch &&
			    sl.position > floor) {
				floor = sl.position;
			}
		}
	}
	return floor;
}

static int pick(const struct baton_db_state *db, int exclude, bool final_only,
		unsigned flags, int *ordinal)
{
	uint64_t primary_pos = 0, floor = 0;
	int best = -1;
	uint64_t best_lag = 0, best_pos = 0;
	int32_t best_priority = 0;
	unsigned i;

	*ordinal = -1;
	if (ALWAYS(db->primary >= 0 && (unsigned)db->primary < db->n_regions)) {
		primary_pos = db->regions[db->primary].position;
	}
	if (final_only) {
		floor = baton_decider_member_final_floor(db);
	}
	for (i = 0; i < db->n_regions; i++) {
		const struct baton_region_state *r = &db->regions[i];

		for (int s = 0; s < 2; s++) {
			struct slot sl;
			uint64_t lag;

			if (!slot_of(db, i, s, &sl) ||
			    !candidate(db, (int)i, s, &sl, exclude, flags) ||
			    (final_only && !sl.final) ||
			    ((flags & BATON_DECIDER_BROKEN_SYNC_FLAG) &&
			     db->cfg.synchronous && !sl.sync_standby)) {
				continue;
			}
			/* a standby region's spare is no candidate of its
			 * own (asynchronous: the designated instances and
			 * the lost region's sibling, §4); in a synchronous
			 * round one that is not a member is one only at or
			 * past every member's final: on the same timeline,
			 * it then holds every acknowledged commit */
			if (s == 1 && !final_only && (int)i != exclude) {
				continue;
			}
			if (final_only && !sl.member && sl.position < floor) {
				continue;
			}
			/* nor, after a promote that left no surely holding
			 * instance awaited, below what the promoted one held
			 * (struct baton_db_state, promote_floor) */
			if (final_only && sl.position < db->promote_floor) {
				continue;
			}
			if (flags & BATON_DECIDER_BROKEN_FIRST_FINAL) {
				*ordinal = sl.ordinal;
				return (int)i;
			}
			lag = sl.position >= primary_pos
				  ? 0
				  : primary_pos - sl.position;
			/* a final position is where the standby stopped:
			 * what it holds is what it holds; only a live lag
			 * is limited */
			if (!final_only && lag > db->cfg.max_lag_bytes) {
				continue;
			}
			if (best < 0) {
				goto take;
			}
			/* Final positions (ANY 1 of the members): an
			 * acknowledged commit is on at least one of them,
			 * so only the most advanced one surely holds them
			 * all; priority only breaks ties. */
			if (final_only && sl.position != best_pos) {
				if (sl.position > best_pos) {
					goto take;
				}
				continue;
			}
			if (r->priority > best_priority ||
			    (r->priority == best_priority && lag < best_lag)) {
				goto take;
			}
			continue;
		take:
			best = (int)i;
			*ordinal = sl.ordinal;
			best_lag = lag;
			best_pos = sl.position;
			best_priority = r->priority;
		}
	}
	return best;
}

int baton_decider_pick(const struct baton_db_state *db, int exclude,
		       bool final_only)
{
	int ordinal;
	return pick(db, exclude, final_only, 0, &ordinal);
}

int baton_decider_pick_instance(const struct baton_db_state *db, int exclude,
				bool final_only, int *ordinal)
{
	return pick(db, exclude, final_only, 0, ordinal);
}

int baton_decider_missing_instance(const struct baton_db_state *db,
				   int *ordinal)
{
	struct slot sl;

	for (unsigned i = 0; i < db->n_regions; i++) {
		if ((int)i == db->primary ||
		    db->regions[i].role != BATON_ROLE_DATA) {
			continue;
		}
		for (int s = 0; s < 2; s++) {
			if (slot_of(db, i, s, &sl) && sl.member &&
			    !(sl.final && sl.report_epoch == db->epoch)) {
				if (ordinal != NULL) {
					*ordinal = sl.ordinal;
				}
				return (int)i;
			}
		}
	}
	return -1;
}

int baton_decider_missing_final(const struct baton_db_state *db)
{
	return baton_decider_missing_instance(db, NULL);
}

enum baton_final_due baton_decider_final_due(const struct baton_db_state *db,
					     int region, int ordinal)
{
	const struct baton_region_state *r;
	bool spare;

	if (db->phase != BATON_PHASE_FAILING_OVER || region < 0 ||
	    (unsigned)region >= db->n_regions || ordinal < 0 ||
	    ordinal >= BATON_ORDINALS) {
		return BATON_FINAL_NONE;
	}
	r = &db->regions[region];
	spare = ordinal == r->spare.ordinal && ordinal != (int)r->designated;
	if (region == db->primary) {
		return spare && r->spare.healthy &&
			       r->spare.report_epoch == db->epoch
			   ? BATON_FINAL_LOST_SPARE
			   : BATON_FINAL_NONE;
	}
	if (r->role != BATON_ROLE_DATA) {
		return BATON_FINAL_NONE;
	}
	if (ordinal == (int)r->designated ||
	    (r->members & BATON_ORDINAL_BIT(ordinal)) != 0) {
		return BATON_FINAL_MEMBER;
	}
	return spare && db->cfg.synchronous && db->promote_floor != 0
		   ? BATON_FINAL_FLOOR_SPARE
		   : BATON_FINAL_NONE;
}

/* The lost primary region's spare in a synchronous round (§4): a
 * candidate on its region's own word (the region reported, in this epoch,
 * its designated instance down and the spare healthy) whose final is not
 * in. The driver asks for that final (driver.c, report_lost_spare()); it
 * lands a few ms after the members' on the lab. */
static bool spare_final_due(const struct baton_db_state *db, unsigned flags)
{
	struct slot sl;
	int p = db->primary;

	if (!ALWAYS(p >= 0 && (unsigned)p < db->n_regions)) {
		return false;
	}
	return slot_of(db, (unsigned)p, 1, &sl) &&
	       candidate(db, p, 1, &sl, p, flags) && !sl.final;
}

/* Every member's final is in (the round could pick now): wait still, up to
 * spare_wait_ms from the first time this leader saw that in this round,
 * for the lost primary region's sibling's final, while it is due. The
 * sibling keeps the primary in its region, and without the wait it loses
 * on timing alone (lab: its final 5-46 ms after the members'); with its
 * final in, pick() judges it as ever (at or past every member's final).
 * The bound keeps design §4's "the spare's never blocks". */
static bool spare_wait(const struct baton_decider *d,
		       const struct baton_decider_lease *l,
		       const struct baton_db_state *db, uint64_t now)
{
	return ALWAYS(l->finals_seen) &&
	       now - l->finals_ms < d->spare_wait_ms &&
	       spare_final_due(db, d->flags);
}

/* Every member's final of DB's round is in, seen at NOW: the first time
 * in this round starts the wait above. */
static void finals_in(struct baton_decider_lease *l,
		      const struct baton_db_state *db, uint64_t now)
{
	if (!l->finals_seen || l->finals_round != db->round) {
		l->finals_seen = true;
		l->finals_round = db->round;
		l->finals_ms = now;
	}
}

/* A planned switchover whose target died after the old primary fenced
 * itself: the phase is still Fenced, the switchover's extra lease is over
 * (lost_at()) and no other instance is a candidate (two data regions and
 * a witness: the target was the only other one). The old primary's
 * instance is then promoted again, at the next epoch, when its region
 * reported it in this epoch healthy (serving, and with designation
 * asking for its lease) and at or past the final position it fenced at:
 * it holds every write acknowledged in the epoch (it wrote them; nothing
 * is written after the fence), its lease ended a lease ago, and the
 * promote's renew_seq compare-and-swap makes it the only one at the next
 * epoch. Without this it stayed read-only, up and holding everything,
 * until the target came back (make sim --witness --instances 2, seed
 * 1433). Synchronous: not while a standby region has a move in flight,
 * whose member the promote's reset would drop (it may hold the only
 * other copy, design-per-instance §9 note 47); with M = {designated}
 * everywhere, the next round awaits the same members as this one. A
 * stale "healthy" (the region died since) costs one promote that renews
 * nothing and then waits like any lost primary. */
static bool fenced_primary_back(const struct baton_db_state *db)
{
	const struct baton_region_state *p;

	if (db->phase != BATON_PHASE_FENCED || db->sw_target < 0 ||
	    !ALWAYS(db->primary >= 0 &&
		    (unsigned)db->primary < db->n_regions)) {
		return false;
	}
	p = &db->regions[db->primary];
	if (p->role != BATON_ROLE_DATA || !p->healthy ||
	    p->report_epoch != db->epoch ||
	    p->position < db->sw_final_position) {
		return false;
	}
	for (unsigned i = 0; db->cfg.synchronous && i < db->n_regions; i++) {
		const struct baton_region_state *r = &db->regions[i];
		if ((int)i != db->primary && r->role == BATON_ROLE_DATA &&
		    (r->members & ~BATON_ORDINAL_BIT(r->designated)) != 0) {
			return false;
		}
	}
	return true;
}

/* One proposal per phase and epoch, repeated after retry_ms if nothing
 * came of it (a lost() committed moves to the next step at once). */
static bool may_propose(const struct baton_decider *d,
			struct baton_decider_lease *l,
			const struct baton_db_state *db, uint64_t now)
{
	if (l->proposed && l->phase != db->phase) {
		l->proposed = false;
	}
	return !l->proposed || now >= l->proposed_ms + d->retry_ms;
}

static void proposed(struct baton_decider_lease *l,
		     const struct baton_db_state *db, uint64_t now)
{
	l->proposed = true;
	l->proposed_ms = now;
	l->phase = db->phase;
}

static void fill(struct baton_decision *out, const struct baton_db_state *db,
		 int kind, int region, int reason, uint64_t at)
{
	memset(out, 0, sizeof *out);
	out->kind = kind;
	snprintf(out->db, sizeof out->db, "%s", db->name);
	out->region = region;
	out->ordinal = region >= 0 && (unsigned)region < db->n_regions
			   ? (int)db->regions[region].designated
			   : -1;
	out->epoch = db->epoch + 1;
	out->renew_seq = db->renew_seq;
	out->reason = reason;
	out->expired_at_ms = at;
}

static bool blocked(struct baton_decision *out, const struct baton_db_state *db,
		    int why, int region, uint64_t at)
{
	fill(out, db, BATON_DECISION_BLOCKED, region,
	     BATON_REASON_LEASE_EXPIRED, at);
	out->blocked = why;
	return true;
}

bool baton_decider_decide(struct baton_decider *d,
			  const struct baton_db_state *db, uint64_t now,
			  struct baton_decision *out)
{
	struct baton_decider_lease *l;
	uint64_t expiry;
	int target, ordinal = -1;

	memset(out, 0, sizeof *out);
	if (!d->leader) {
		return false; /* §5: decisions exist only as leader proposals */
	}
	if (NEVER(db->n_regions > BATON_MAX_REGIONS ||
		  db->sw_target >= (int)db->n_regions)) {
		return false;
	}
	l = lease_get(d, db, now);
	if (l == NULL) {
		return false;
	}

	/* §5.7 planned switchover: the old primary fenced itself and
	 * reported its final position; promote once the target replayed it.
	 * No lease wait: the fence already made the old primary read-only.
	 * The target's position must be one it reported in this epoch: a
	 * position kept from an earlier epoch (a former primary's WAL end on
	 * the timeline a failover left behind, never reported again since)
	 * says nothing about this epoch's writes. make sim found it (seed
	 * 3525 of --schedules 4000 --seed 1: r0, primary at epoch 1, its
	 * batond stalled through epochs 2 and 3, promoted at epoch 4 on its
	 * epoch-1 position, 990 acknowledged bytes short). */
	if (db->phase == BATON_PHASE_FENCED && db->sw_target >= 0) {
		const struct baton_region_state *t =
		    &db->regions[db->sw_target];
		if (t->position >= db->sw_final_position && t->healthy &&
		    t->report_epoch == db->epoch) {
			if (!may_propose(d, l, db, now)) {
				return false;
			}
			fill(out, db, BATON_DECISION_PROMOTE, db->sw_target,
			     BATON_REASON_SWITCHOVER, now);
			proposed(l, db, now);
			return true;
		}
		/* a target that does not catch up (it died) leaves the
		 * database to the lease below, like any lost primary */
	}

	/* Synchronous failover under way: lost() is committed (the old
	 * lease had already ended then, and no renewal has come back since,
	 * or the phase would be Healthy). Promote once every standby said
	 * where it stopped. In manual mode the round was a human's request
	 * (batond/switchover.c judges it): nothing here. */
	if (db->phase == BATON_PHASE_FAILING_OVER && db->cfg.automatic) {
		int missing_ordinal = -1;
		int missing =
		    baton_decider_missing_instance(db, &missing_ordinal);
		if (missing >= 0 &&
		    !(d->flags & BATON_DECIDER_BROKEN_FIRST_FINAL)) {
			blocked(out, db, BATON_BLOCKED_WAITING_FINAL, missing,
				now);
			out->ordinal = missing_ordinal;
			return true;
		}
		finals_in(l, db, now);
		target = pick(db, db->primary, true, d->flags, &ordinal);
		if (target < 0) {
			return blocked(out, db, BATON_BLOCKED_NO_CANDIDATE, -1,
				       now);
		}
		/* a member can be promoted: the sibling's final, bounded,
		 * before that (no decision: a wait of a few hundred ms is
		 * no FailoverBlocked, and the status would otherwise raise
		 * a Warning Event in every sibling's failover) */
		if (!(d->flags & BATON_DECIDER_BROKEN_FIRST_FINAL) &&
		    spare_wait(d, l, db, now)) {
			return false;
		}
		if (!may_propose(d, l, db, now)) {
			return false;
		}
		fill(out, db, BATON_DECISION_PROMOTE, target,
		     BATON_REASON_LEASE_EXPIRED, now);
		out->ordinal = ordinal;
		proposed(l, db, now);
		return true;
	}

	expiry = lost_at(db, expiry_of(d, l, db));
	if (now < expiry) {
		return false;
	}
	if (!db->cfg.automatic) {
		if (l->notified) {
			return false;
		}
		l->notified = true;
		fill(out, db, BATON_DECISION_REGION_LOST, db->primary,
		     BATON_REASON_MANUAL, expiry);
		return true;
	}
	target = pick(db, db->primary, false, d->flags, &ordinal);
	if (target < 0 && fenced_primary_back(db)) {
		if (!may_propose(d, l, db, now)) {
			return false;
		}
		fill(out, db, BATON_DECISION_PROMOTE, db->primary,
		     BATON_REASON_LEASE_EXPIRED, expiry);
		proposed(l, db, now);
		return true;
	}
	if (target < 0) {
		return blocked(out, db, BATON_BLOCKED_NO_CANDIDATE, -1, expiry);
	}
	if (!may_propose(d, l, db, now)) {
		return false;
	}
	fill(out, db,
	     db->cfg.synchronous ? BATON_DECISION_LOST : BATON_DECISION_PROMOTE,
	     target, BATON_REASON_LEASE_EXPIRED, expiry);
	out->ordinal = ordinal;
	proposed(l, db, now);
	return true;
}

int baton_decider_blocked(const struct baton_db_state *db, bool primary_lost,
			  int *region)
{
	*region = -1;
	if (db->phase == BATON_PHASE_FAILING_OVER) {
		*region = baton_decider_missing_final(db);
		if (*region >= 0) {
			return BATON_BLOCKED_WAITING_FINAL;
		}
		return baton_decider_pick(db, db->primary, true) < 0
			   ? BATON_BLOCKED_NO_CANDIDATE
			   : BATON_BLOCKED_NONE;
	}
	if (primary_lost && db->cfg.automatic &&
	    baton_decider_pick(db, db->primary, false) < 0 &&
	    !fenced_primary_back(db)) {
		return BATON_BLOCKED_NO_CANDIDATE;
	}
	return BATON_BLOCKED_NONE;
}

const char *baton_blocked_name(int blocked)
{
	switch (blocked) {
	case BATON_BLOCKED_NO_CANDIDATE:
		return "NoCandidate";
	case BATON_BLOCKED_WAITING_FINAL:
		return "WaitingForStandby";
	default:
		return "";
	}
}

/* ---- renewer side ------------------------------------------------------ */

void baton_lease_init(struct baton_lease *l, uint32_t lease_ms,
		      uint32_t drift_ppm)
{
	memset(l, 0, sizeof *l);
	l->lease_ms = lease_ms;
	l->drift_ppm = drift_ppm;
}

void baton_lease_acked(struct baton_lease *l, uint64_t epoch, uint64_t send_ms,
		       uint32_t lease_ms)
{
	uint64_t until = send_ms + lease_ms;

	if (send_ms <= l->barrier_ms) {
		return; /* sent before the lease was dropped */
	}
	if (!l->held || l->epoch != epoch) {
		l->held = true;
		l->epoch = epoch;
		l->valid_until = until;
		return;
	}
	if (until > l->valid_until) {
		l->valid_until = until;
	}
}

void baton_lease_revoke(struct baton_lease *l, uint64_t now)
{
	l->held = false;
	l->valid_until = 0;
	if (now > l->barrier_ms) {
		l->barrier_ms = now;
	}
}

bool baton_lease_valid(const struct baton_lease *l, uint64_t epoch,
		       uint64_t now)
{
	return l->held && l->epoch == epoch && now < l->valid_until;
}

uint64_t baton_lease_agent_grant(const struct baton_lease *l, uint64_t epoch,
				 uint64_t now)
{
	uint64_t remaining;

	if (!baton_lease_valid(l, epoch, now)) {
		return 0;
	}
	remaining = l->valid_until - now;
	/* remaining / (1 + drift), rounded down. */
	return remaining * 1000000u / (1000000u + l->drift_ppm);
}

/* ---- agent side ------------------------------------------------------ */

enum baton_grant_verdict
baton_agent_lease_apply(struct baton_agent_lease *l,
			const struct baton_lease_answer *ans, uint64_t now)
{
	uint64_t until;

	/* Asked before a fence/demote/rejoin/init: computed before it. */
	if (ans->gen != l->gen) {
		return BATON_GRANT_IGNORED;
	}
	/* A grant is for the primary of its epoch only. An answer for an
	 * older epoch comes from a batond that has not caught up; one for a
	 * newer epoch waits for the promote order at that epoch. */
	if (ans->epoch != l->epoch || l->primary_epoch != ans->epoch ||
	    ans->epoch == 0) {
		return BATON_GRANT_IGNORED;
	}
	if (ans->grant_ms == 0) {
		if (!l->valid) {
			return BATON_GRANT_IGNORED;
		}
		l->valid = false;
		l->deadline = 0;
		return BATON_GRANT_REVOKED;
	}
	if (ans->grant_ms <= l->margin_ms) {
		return BATON_GRANT_IGNORED;
	}
	until = ans->sent_ms + ans->grant_ms - l->margin_ms;
	if (until <= now) {
		return BATON_GRANT_IGNORED; /* late: it already ended */
	}
	if (l->valid && now < l->deadline && until <= l->deadline) {
		return BATON_GRANT_KEPT;
	}
	l->valid = true;
	l->deadline = until;
	return BATON_GRANT_EXTENDED;
}

uint64_t baton_agent_lease_file_ns(const struct baton_agent_lease *l,
				   uint64_t now)
{
	if (!l->valid || now >= l->deadline || l->primary_epoch != l->epoch) {
		return 0;
	}
	return l->deadline * 1000000u;
}

const char *baton_grant_verdict_name(enum baton_grant_verdict v)
{
	switch (v) {
	case BATON_GRANT_EXTENDED:
		return "extended";
	case BATON_GRANT_KEPT:
		return "kept";
	case BATON_GRANT_REVOKED:
		return "revoked";
	case BATON_GRANT_IGNORED:
		return "ignored";
	}
	return "?";
}

const char *baton_phase_name(int phase)
{
	static const char *const names[] = {
	    "Healthy", "SwitchingOver", "Fenced", "RegionLost", "FailingOver"};
	if (phase < 0 || phase >= BATON_PHASE__COUNT) {
		return "Unknown";
	}
	return names[phase];
}

const char *baton_reason_name(int reason)
{
	switch (reason) {
	case BATON_REASON_LEASE_EXPIRED:
		return "lease-expired";
	case BATON_REASON_SWITCHOVER:
		return "switchover";
	case BATON_REASON_MANUAL:
		return "manual";
	default:
		return "unknown";
	}
}
