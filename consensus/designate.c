/* Who proposes DESIGNATE, and on what evidence: see designate.h and
 * docs/design-per-instance.md §3.2-§3.7. Every proposal below is built
 * from the state it was judged on and meets the FSM's rule for its step
 * (fsm.c, apply_designate()): the epoch and desig_seq of that state, the
 * phase the step needs, and the masks it needs (JOIN: M = {designated};
 * LEAVE: the instance listed and another listed; RELEASE: the instance a
 * member that is not listed, the holder listed, the evidence). */
#include "consensus/designate.h"

#include <stdio.h>
#include <string.h>

#include "common/assert.h"

void baton_designate_memory_init(struct baton_designate_memory *mem)
{
	memset(mem, 0, sizeof *mem);
}

void baton_designate_applied(struct baton_designate_memory *mem,
			     const struct baton_db_state *st,
			     const struct baton_cmd *cmd, int result,
			     uint64_t applied, uint64_t now)
{
	struct baton_designate_region *m;
	int i;

	if (cmd == NULL) {
		/* restored: what applied in between is not known; the
		 * timers of changes in flight restart (later, never
		 * earlier: decide() takes the applied count it sees) */
		for (i = 0; i < BATON_MAX_REGIONS; i++) {
			mem->regions[i].joined = false;
			mem->regions[i].left = false;
		}
		return;
	}
	if (result != BATON_FSM_OK) {
		return;
	}
	if (cmd->type == BATON_CMD_REGISTER || cmd->type == BATON_CMD_REMOVE) {
		baton_designate_memory_init(mem);
		return;
	}
	if (st == NULL) {
		return;
	}
	if (cmd->type == BATON_CMD_PROMOTE) {
		/* every region is back to M = L = {designated} */
		for (i = 0; i < BATON_MAX_REGIONS; i++) {
			mem->regions[i].joined = false;
			mem->regions[i].left = false;
		}
		return;
	}
	if (cmd->type != BATON_CMD_DESIGNATE) {
		return;
	}
	i = baton_fsm_region_index(st, cmd->region);
	if (NEVER(i < 0 || i >= BATON_MAX_REGIONS)) {
		return; /* the FSM accepted it: the region exists */
	}
	m = &mem->regions[i];
	switch (cmd->step) {
	case BATON_DESIGNATE_JOIN:
		m->joined = true;
		m->join_seq = st->regions[i].desig_seq; /* the JOIN's bump */
		m->join_ms = now;
		m->left = false;
		break;
	case BATON_DESIGNATE_LEAVE:
		/* a list derived from here on omits the instance: its G is
		 * at least this (G is the applied count, syncset.h) */
		m->left = true;
		m->leave_seq = cmd->desig_seq;
		m->leave_applied = applied;
		break;
	case BATON_DESIGNATE_RELEASE:
		m->released = true;
		m->release_ms = now;
		m->joined = false;
		m->left = false;
		break;
	default:
		break;
	}
}

/* ---- building proposals ------------------------------------------------- */

static void proposal(const struct baton_db_state *st, int region, int step,
		     int ordinal, struct baton_designate_out *out)
{
	const struct baton_region_state *r = &st->regions[region];
	struct baton_cmd *c = &out->cmd;

	memset(c, 0, sizeof *c);
	c->type = BATON_CMD_DESIGNATE;
	memcpy(c->db, st->name, sizeof c->db);
	memcpy(c->region, r->name, sizeof c->region);
	c->epoch = st->epoch;
	c->step = (uint8_t)step;
	c->ordinal = (uint8_t)ordinal;
	c->desig_seq = r->desig_seq;
	out->region = region;
}

static void release(const struct baton_db_state *st, int region, int ordinal,
		    int holder, uint64_t x, uint64_t flush,
		    struct baton_designate_out *out)
{
	proposal(st, region, BATON_DESIGNATE_RELEASE, ordinal, out);
	out->cmd.holder = (uint8_t)holder;
	out->cmd.drop_position = x;
	out->cmd.holder_flush = flush;
}

static int other_member(const struct baton_region_state *r, int ordinal)
{
	for (int k = 0; k < BATON_ORDINALS; k++) {
		if (k != ordinal && (r->members & BATON_ORDINAL_BIT(k))) {
			return k;
		}
	}
	return BATON_ORDINAL_NONE;
}

/* ---- the standby region's side: is a down, and who replaces it --------- */

/* How long P's pod evidence (§3.7, first row) has held at NOW, from the
 * earliest condition that holds now (Failed, then deleted: down since it
 * failed); false when none holds. */
static bool pod_down_for(const struct baton_designate_pod *p, uint64_t now,
			 uint64_t *ms)
{
	uint64_t since = UINT64_MAX;

	if (p->gone && p->gone_since_ms < since) {
		since = p->gone_since_ms;
	}
	if (p->failed && p->failed_since_ms < since) {
		since = p->failed_since_ms;
	}
	if (p->ready_unknown && p->unknown_since_ms < since) {
		since = p->unknown_since_ms;
	}
	if (since == UINT64_MAX) {
		return false;
	}
	*ms = now >= since ? now - since : 0;
	return true;
}

static bool status_stale(const struct baton_designate_pod *p)
{
	return p->status_age_ms > BATON_DESIGNATE_STALE_MS;
}

/* Keeps M's agent timer (§3.7, second row) for the designated instance
 * A of designation SEQ: since when its status has been stale or it has
 * not been serving. A stale status counts from when it turned stale. */
static void agent_timer(struct baton_designate_region *m,
			const struct baton_designate_pod *p, int a,
			uint64_t seq, uint64_t now)
{
	uint64_t since = now;

	if (!status_stale(p) && p->serving) {
		m->agent_down = false;
		return;
	}
	if (status_stale(p) && p->status_age_ms != BATON_DESIGNATE_NO_STATUS) {
		uint64_t over = p->status_age_ms - BATON_DESIGNATE_STALE_MS;
		since = now > over ? now - over : 0;
	}
	if (m->agent_down && m->down_ordinal == a && m->down_seq == seq) {
		if (since < m->agent_down_since_ms) {
			m->agent_down_since_ms = since;
		}
		return;
	}
	m->agent_down = true;
	m->agent_down_since_ms = since;
	m->down_ordinal = (uint8_t)a;
	m->down_seq = seq;
}

/* Whether P can take over (§3.7): not held, Ready, serving on a fresh
 * status, following EPOCH, a replica streaming from the primary's
 * endpoint, within MAX_LAG. */
static bool candidate(const struct baton_designate_pod *p, uint64_t epoch,
		      uint64_t max_lag)
{
	return p->exists && !p->gone && !p->failed && !p->ready_unknown &&
	       !p->held && p->ready && !status_stale(p) && p->serving &&
	       p->follows_epoch == epoch && p->upstream_primary &&
	       p->lag_bytes <= max_lag;
}

static int pick(const struct baton_designate_input *in, int a)
{
	int best = BATON_ORDINAL_NONE;

	for (int k = 0; k < BATON_ORDINALS; k++) {
		const struct baton_designate_pod *p = &in->pods[k];
		if (k == a || !candidate(p, in->st->epoch, in->max_lag_bytes)) {
			continue;
		}
		/* least lag, then the lowest ordinal (k grows) */
		if (best < 0 || p->lag_bytes < in->pods[best].lag_bytes) {
			best = k;
		}
	}
	return best;
}

static bool standby_side(const struct baton_designate_input *in,
			 struct baton_designate_memory *mem, uint64_t now,
			 struct baton_designate_out *out)
{
	const struct baton_db_state *st = in->st;
	int me = in->me;
	const struct baton_region_state *r = &st->regions[me];
	struct baton_designate_region *m = &mem->regions[me];
	int a = r->designated;
	const struct baton_designate_pod *pa = &in->pods[a];
	uint64_t after = in->redesignate_after_ms;
	uint64_t pod_ms = 0;
	char why[96];
	int b;

	agent_timer(m, pa, a, r->desig_seq, now);
	if (r->members != BATON_ORDINAL_BIT(a)) {
		/* the primary's side finishes it; one at a time (§2) */
		snprintf(out->reason, sizeof out->reason,
			 "%s: a change of designation is under way", r->name);
		return false;
	}
	if (st->phase != BATON_PHASE_HEALTHY || after == 0 || pa->held) {
		/* a failover or switchover keeps its members; 0 is never;
		 * a hold is a human's intent (batonctl reinit) */
		return false;
	}
	if (pod_down_for(pa, now, &pod_ms) &&
	    pod_ms >= BATON_DESIGNATE_POD_DOWN_MS) {
		snprintf(why, sizeof why, "pod %s for %llu s",
			 pa->gone     ? "gone"
			 : pa->failed ? "Failed"
				      : "Ready=Unknown",
			 (unsigned long long)(pod_ms / 1000));
	} else if (m->agent_down && now - m->agent_down_since_ms >= after) {
		/* agent_timer() keeps the start at or before NOW */
		snprintf(why, sizeof why, "agent %s for %llu s",
			 status_stale(pa) ? "silent" : "not serving",
			 (unsigned long long)((now - m->agent_down_since_ms) /
					      1000));
	} else {
		return false;
	}
	/* a clock that went back counts as within (no flapping) */
	if (m->released &&
	    (now < m->release_ms || now - m->release_ms < after)) {
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d down (%s), but the last designation "
			 "ended %llu ms ago",
			 r->name, a, why,
			 (unsigned long long)(now - m->release_ms));
		return false;
	}
	b = pick(in, a);
	if (b < 0) {
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d down (%s), no instance can take over",
			 r->name, a, why);
		return false;
	}
	if (st->cfg.synchronous) {
		proposal(st, me, BATON_DESIGNATE_JOIN, b, out);
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d down (%s); instance %d joins the "
			 "synchronous set",
			 r->name, a, why, b);
	} else {
		/* §3.6: no list, so no JOIN, LEAVE or evidence */
		release(st, me, a, b, 0, 0, out);
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d down (%s); instance %d designated",
			 r->name, a, why, b);
	}
	return true;
}

/* ---- the primary's side: finish a change in flight --------------------- */

static bool primary_status_fresh(const struct baton_designate_primary *pr,
				 uint64_t epoch, uint64_t now)
{
	return pr->status && pr->status_epoch == epoch &&
	       now >= pr->status_ms &&
	       now - pr->status_ms <= BATON_DESIGNATE_STALE_MS;
}

/* L = M = {a, b}: one of them leaves the list. */
static bool leave_step(const struct baton_designate_input *in, int i,
		       const struct baton_designate_region *m, uint64_t now,
		       struct baton_designate_out *out)
{
	const struct baton_db_state *st = in->st;
	const struct baton_region_state *r = &st->regions[i];
	const struct baton_designate_standby *sb = in->primary.standby[i];
	int a = r->designated, b = other_member(r, a);

	if (st->phase != BATON_PHASE_HEALTHY || NEVER(b < 0)) {
		return false;
	}
	if (!primary_status_fresh(&in->primary, st->epoch, now)) {
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d joining, no fresh primary status",
			 r->name, b);
		return false;
	}
	if (sb[b].quorum) {
		proposal(st, i, BATON_DESIGNATE_LEAVE, a, out);
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d is quorum; instance %d leaves the "
			 "list",
			 r->name, b, a);
		return true;
	}
	if (!sb[a].walsender) {
		proposal(st, i, BATON_DESIGNATE_LEAVE, a, out);
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d has no walsender; it leaves the "
			 "list",
			 r->name, a);
		return true;
	}
	if (now >= m->join_ms &&
	    now - m->join_ms >= BATON_DESIGNATE_GIVE_UP_MS) {
		/* the same steps the other way round (§3.2) */
		proposal(st, i, BATON_DESIGNATE_LEAVE, b, out);
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d not quorum after %d s; given up",
			 r->name, b, BATON_DESIGNATE_GIVE_UP_MS / 1000);
		return true;
	}
	snprintf(out->reason, sizeof out->reason,
		 "%s: waiting for instance %d to be quorum", r->name, b);
	return false;
}

/* L = {h}: the other member x is released on the evidence that h has
 * every commit acknowledged with x's help (§3.3, §3.4). */
static bool release_step(const struct baton_designate_input *in, int i,
			 const struct baton_designate_region *m,
			 struct baton_designate_out *out)
{
	const struct baton_db_state *st = in->st;
	const struct baton_region_state *r = &st->regions[i];
	const struct baton_designate_primary *pr = &in->primary;
	int h, x;
	uint64_t flush;

	/* h is the listed member, x the other */
	for (h = 0; h < BATON_ORDINALS; h++) {
		if (r->listed == BATON_ORDINAL_BIT(h)) {
			break;
		}
	}
	x = other_member(r, h);
	if (NEVER(h >= BATON_ORDINALS || x < 0)) {
		return false;
	}
	if (st->phase == BATON_PHASE_SWITCHING_OVER ||
	    st->phase == BATON_PHASE_FENCED) {
		return false; /* the FSM refuses it there (§3.2) */
	}
	out->need_gen = m->leave_applied;
	/* an answer at this epoch to a list that omits x: derived at or
	 * after x's LEAVE, and X read once the reload took effect */
	if (!pr->answer || pr->answer_epoch != st->epoch ||
	    pr->answer_gen < m->leave_applied || pr->answer_x == 0) {
		snprintf(out->reason, sizeof out->reason,
			 "%s: instance %d left the list; waiting for the "
			 "primary's answer at G >= %llu",
			 r->name, x, (unsigned long long)m->leave_applied);
		return false;
	}
	flush = pr->standby[i][h].flush;
	if (!pr->status || pr->status_epoch != st->epoch ||
	    pr->status_ms < pr->answer_ms || flush < pr->answer_x) {
		snprintf(out->reason, sizeof out->reason,
			 "%s: waiting for instance %d to flush %llu (at %llu)",
			 r->name, h, (unsigned long long)pr->answer_x,
			 (unsigned long long)flush);
		return false;
	}
	release(st, i, x, h, pr->answer_x, flush, out);
	snprintf(out->reason, sizeof out->reason,
		 "%s: instance %d flushed %llu >= %llu, the primary's WAL "
		 "when instance %d left the list; instance %d released",
		 r->name, h, (unsigned long long)flush,
		 (unsigned long long)pr->answer_x, x, x);
	return true;
}

static bool primary_side(const struct baton_designate_input *in,
			 struct baton_designate_memory *mem, uint64_t now,
			 struct baton_designate_out *out)
{
	const struct baton_db_state *st = in->st;
	char waiting[sizeof out->reason] = "";

	for (int i = 0; i < (int)st->n_regions; i++) {
		const struct baton_region_state *r = &st->regions[i];
		struct baton_designate_region *m = &mem->regions[i];
		bool done;

		if (i == st->primary || r->role != BATON_ROLE_DATA ||
		    r->members == BATON_ORDINAL_BIT(r->designated)) {
			continue;
		}
		/* what a restart forgot counts from now: later, never
		 * earlier (designate.h) */
		if (!m->joined || m->join_seq != r->desig_seq) {
			m->joined = true;
			m->join_seq = r->desig_seq;
			m->join_ms = now;
		}
		if (r->listed == r->members) {
			done = leave_step(in, i, m, now, out);
		} else {
			if (!m->left || m->leave_seq != r->desig_seq) {
				m->left = true;
				m->leave_seq = r->desig_seq;
				m->leave_applied = in->applied;
			}
			done = release_step(in, i, m, out);
		}
		if (done) {
			return true;
		}
		if (waiting[0] == '\0') {
			memcpy(waiting, out->reason, sizeof waiting);
		}
	}
	memcpy(out->reason, waiting, sizeof out->reason);
	return false;
}

bool baton_designate_decide(const struct baton_designate_input *in,
			    struct baton_designate_memory *mem, uint64_t now,
			    struct baton_designate_out *out)
{
	const struct baton_db_state *st = in->st;

	memset(out, 0, sizeof *out);
	out->region = -1;
	if (NEVER(st == NULL || in->me < 0 || in->me >= (int)st->n_regions)) {
		return false;
	}
	if (in->me == st->primary) {
		return primary_side(in, mem, now, out);
	}
	if (st->regions[in->me].role != BATON_ROLE_DATA) {
		return false;
	}
	return standby_side(in, mem, now, out);
}
