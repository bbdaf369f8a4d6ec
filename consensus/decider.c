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

/* A region that may become the primary: a healthy data region that
 * reported in the current epoch (so it follows this epoch's primary). */
static bool candidate(const struct baton_db_state *db, int i, int exclude)
{
	const struct baton_region_state *r = &db->regions[i];
	return i != exclude && r->role == BATON_ROLE_DATA && r->healthy &&
	       r->report_epoch == db->epoch;
}

static int pick(const struct baton_db_state *db, int exclude, bool final_only,
		unsigned flags)
{
	uint64_t primary_pos = 0;
	int best = -1;
	uint64_t best_lag = 0;
	unsigned i;

	if (ALWAYS(db->primary >= 0 && (unsigned)db->primary < db->n_regions)) {
		primary_pos = db->regions[db->primary].position;
	}
	for (i = 0; i < db->n_regions; i++) {
		const struct baton_region_state *r = &db->regions[i];
		uint64_t lag;

		if (!candidate(db, (int)i, exclude) ||
		    (final_only && !r->final) ||
		    ((flags & BATON_DECIDER_BROKEN_SYNC_FLAG) &&
		     db->cfg.synchronous && !r->sync_standby)) {
			continue;
		}
		if (flags & BATON_DECIDER_BROKEN_FIRST_FINAL) {
			return (int)i;
		}
		lag =
		    r->position >= primary_pos ? 0 : primary_pos - r->position;
		/* a final position is where the standby stopped: what it
		 * holds is what it holds; only a live lag is limited */
		if (!final_only && lag > db->cfg.max_lag_bytes) {
			continue;
		}
		if (best < 0) {
			best = (int)i;
			best_lag = lag;
			continue;
		}
		/* Final positions (ANY 1 of the standbys): an acknowledged
		 * commit is on at least one of them, so only the most
		 * advanced one surely holds them all; priority only breaks
		 * ties. */
		if (final_only && r->position != db->regions[best].position) {
			if (r->position > db->regions[best].position) {
				best = (int)i;
				best_lag = lag;
			}
			continue;
		}
		if (r->priority > db->regions[best].priority ||
		    (r->priority == db->regions[best].priority &&
		     lag < best_lag)) {
			best = (int)i;
			best_lag = lag;
		}
	}
	return best;
}

int baton_decider_pick(const struct baton_db_state *db, int exclude,
		       bool final_only)
{
	return pick(db, exclude, final_only, 0);
}

int baton_decider_missing_final(const struct baton_db_state *db)
{
	for (unsigned i = 0; i < db->n_regions; i++) {
		const struct baton_region_state *r = &db->regions[i];
		if ((int)i != db->primary && r->role == BATON_ROLE_DATA &&
		    !(r->final && r->report_epoch == db->epoch)) {
			return (int)i;
		}
	}
	return -1;
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
	int target;

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
		int missing = baton_decider_missing_final(db);
		if (missing >= 0 &&
		    !(d->flags & BATON_DECIDER_BROKEN_FIRST_FINAL)) {
			return blocked(out, db, BATON_BLOCKED_WAITING_FINAL,
				       missing, now);
		}
		target = pick(db, db->primary, true, d->flags);
		if (target < 0) {
			return blocked(out, db, BATON_BLOCKED_NO_CANDIDATE, -1,
				       now);
		}
		if (!may_propose(d, l, db, now)) {
			return false;
		}
		fill(out, db, BATON_DECISION_PROMOTE, target,
		     BATON_REASON_LEASE_EXPIRED, now);
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
	target = pick(db, db->primary, false, d->flags);
	if (target < 0) {
		return blocked(out, db, BATON_BLOCKED_NO_CANDIDATE, -1, expiry);
	}
	if (!may_propose(d, l, db, now)) {
		return false;
	}
	fill(out, db,
	     db->cfg.synchronous ? BATON_DECISION_LOST : BATON_DECISION_PROMOTE,
	     target, BATON_REASON_LEASE_EXPIRED, expiry);
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
		return pick(db, db->primary, true, 0) < 0
			   ? BATON_BLOCKED_NO_CANDIDATE
			   : BATON_BLOCKED_NONE;
	}
	if (primary_lost && db->cfg.automatic &&
	    pick(db, db->primary, false, 0) < 0) {
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
