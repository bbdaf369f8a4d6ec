/* One region's part of the failover protocol; see driver.h. */
#include "consensus/driver.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define LOG_DEBUG 0
#define LOG_INFO 1
#define LOG_WARN 2
#define FINAL_REPORT_MS 300 /* resend a final report not yet applied */
/* ... but one whose entry is still on its way (proposed, no outcome yet)
 * only after this long: with a whole region's databases failing over at
 * once, the finals' commit waits behind thousands of entries, and a
 * resend every 300 ms appended 37,632 REPORTs for 20,000 finals (issue
 * 20). Every proposal ends in baton_driver_done (committed, refused, or
 * not committed: a lost leadership, the peer API's timeout), which lets
 * the resend go at once; the bound only covers an outcome that never
 * comes. */
#define FINAL_REPORT_INFLIGHT_MS 1000
/* a switchover target that has caught up reports at most this often (a
 * report in flight is not sent again on every tick) */
#define SWITCHOVER_REPORT_MS 200
#define LEVEL_RETRY_MS 5000 /* a LEVEL proposed and not applied */

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	while (*s != '\0') {
		h = (h ^ (uint8_t)*s++) * 16777619u;
	}
	return h;
}

static void say(struct baton_driver *d, int level, const char *db,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void say(struct baton_driver *d, int level, const char *db,
		const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (d->ops.log == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	d->ops.log(d->ops.data, level, db, msg);
}

static void changed(struct baton_driver *d, const char *db)
{
	if (d->ops.changed != NULL) {
		d->ops.changed(d->ops.data, db);
	}
}

void baton_driver_init(struct baton_driver *d, const char *region,
		       const struct baton_driver_ops *ops,
		       unsigned decider_flags, uint64_t incarnation)
{
	memset(d, 0, sizeof *d);
	snprintf(d->region, sizeof d->region, "%s", region);
	d->ops = *ops;
	d->nonce = incarnation != 0 ? incarnation : 1;
	d->report_ms = BATON_DRIVER_REPORT_MS;
	baton_decider_init(&d->decider, decider_flags);
	baton_index_init(&d->slots, sizeof(struct baton_driver_slot),
			 offsetof(struct baton_driver_slot, db),
			 BATON_NAME_SIZE, BATON_MAX_DATABASES);
	baton_index_init(&d->desig, sizeof(struct baton_driver_desig),
			 offsetof(struct baton_driver_desig, db),
			 BATON_NAME_SIZE, BATON_MAX_DATABASES);
}

void baton_driver_close(struct baton_driver *d)
{
	baton_decider_close(&d->decider);
	baton_index_free(&d->slots);
	baton_index_free(&d->desig);
}

/* DB's slot; with ST a missing one is created (only the tick does). NULL
 * when there is none, or no memory for one: the next tick tries again. */
static struct baton_driver_slot *slot_for(struct baton_driver *d,
					  const char *db,
					  const struct baton_db_state *st,
					  uint64_t now)
{
	struct baton_driver_slot *s = baton_index_get(&d->slots, db);
	void *item;

	if (s != NULL || st == NULL ||
	    baton_index_add(&d->slots, db, &item) != 0) {
		return s;
	}
	s = item;
	baton_lease_init(&s->lease, st->cfg.lease_ms, st->cfg.drift_ppm);
	s->blocked_region = -1;
	/* Spread the reports of databases registered together over the
	 * report interval: a thousand of them do not all ask in one tick. */
	s->last_report_ms = now - d->report_ms + name_hash(db) % d->report_ms;
	return s;
}

static bool slot_in_fsm(const void *item, void *data)
{
	const struct baton_driver_slot *s = item;
	return baton_fsm_db(data, s->db) != NULL;
}

static bool desig_in_fsm(const void *item, void *data)
{
	const struct baton_driver_desig *g = item;
	return baton_fsm_db(data, g->db) != NULL;
}

/* DB's designation memory; with ST a missing one is created (only the
 * tick does, and only with designation on). */
static struct baton_driver_desig *desig_for(struct baton_driver *d,
					    const char *db,
					    const struct baton_db_state *st,
					    uint64_t now)
{
	struct baton_driver_desig *g = baton_index_get(&d->desig, db);
	void *item;

	if (g != NULL || st == NULL || !d->designating ||
	    baton_index_add(&d->desig, db, &item) != 0) {
		return g;
	}
	g = item;
	baton_designate_memory_init(&g->mem);
	/* judged once per report interval, spread like the reports: a
	 * thousand databases do not all judge in one tick */
	g->last_ms = now - d->report_ms + name_hash(db) % d->report_ms;
	return g;
}

static bool db_in_fsm(const char *db, void *data)
{
	return baton_fsm_db(data, db) != NULL;
}

static struct baton_cmd cmd_for(int type, const struct baton_db_state *st,
				const char *region)
{
	struct baton_cmd c;
	memset(&c, 0, sizeof c);
	c.type = type;
	snprintf(c.db, sizeof c.db, "%s", st->name);
	snprintf(c.region, sizeof c.region, "%s", region);
	c.epoch = st->epoch;
	return c;
}

/* A REPORT of this region for ST: about its designated instance, named by
 * ordinal (the FSM refuses a report of any other as stale: a RELEASE that
 * applied after it was made). Before any designation moved, ordinal 0: a
 * format-3 entry, as an older batond writes. */
static struct baton_cmd report_cmd(const struct baton_driver *d,
				   const struct baton_db_state *st, int me)
{
	struct baton_cmd c = cmd_for(BATON_CMD_REPORT, st, d->region);

	c.ordinal = st->regions[me].designated;
	return c;
}

/* ---- what was applied and what came back ------------------------------ */

static void ack(struct baton_driver *d, struct baton_driver_slot *s,
		const char *db, uint64_t epoch, uint64_t send_ms,
		uint32_t lease_ms)
{
	bool had = s->lease.held && s->lease.epoch == epoch;

	baton_lease_acked(&s->lease, epoch, send_ms,
			  lease_ms != 0 ? lease_ms : s->lease.lease_ms);
	if (!had && s->lease.held && s->lease.epoch == epoch) {
		/* the first lease of an epoch: its agent may unfence now */
		say(d, LOG_INFO, db, "lease at epoch %llu held",
		    (unsigned long long)epoch);
	}
}

/* One of this driver's own renewals (a RENEW_BATCH item it proposed, this
 * incarnation) applied here with RESULT: only an accepted one extends the
 * lease, to its own send time + the lease it claimed (decider.h). The
 * verdict is read where the entry applies, on this node: it is committed
 * then, and the FSM's verdict is the one every replica reaches. */
static void own_renewal(struct baton_driver *d, const struct baton_cmd *cmd,
			int result)
{
	struct baton_driver_slot *s = baton_index_get(&d->slots, cmd->db);

	if (s == NULL) {
		return;
	}
	if (result == BATON_FSM_OK) {
		d->stats.renewals_accepted++;
		ack(d, s, cmd->db, cmd->epoch, cmd->send_ms, cmd->lease_ms);
	} else if (result == BATON_FSM_NOT_PRIMARY ||
		   result == BATON_FSM_STALE_EPOCH) {
		d->stats.renewals_refused++;
		/* and every renewal sent before this one with it */
		baton_lease_revoke(&s->lease, cmd->send_ms);
	} else {
		d->stats.renewals_refused++;
	}
}

void baton_driver_applied(struct baton_driver *d, struct baton_fsm *fsm,
			  const struct baton_cmd *cmd, int result, uint64_t now)
{
	const struct baton_db_state *st;

	if (cmd == NULL) { /* restored from a snapshot */
		/* databases the snapshot lacks were removed: nothing else
		 * would drop their slots and leases */
		baton_index_retain(&d->slots, slot_in_fsm, fsm);
		baton_index_retain(&d->desig, desig_in_fsm, fsm);
		baton_decider_retain(&d->decider, db_in_fsm, fsm);
		/* what applied in between is not known: designate.c
		 * restarts the timers of the moves in flight (later) */
		for (unsigned i = 0; i < baton_index_count(&d->desig); i++) {
			struct baton_driver_desig *g =
			    baton_index_at(&d->desig, i);
			/* every one is in the FSM (retained just above) */
			baton_designate_applied(&g->mem,
						baton_fsm_db(fsm, g->db), NULL,
						0, fsm->applied, now);
		}
		baton_decider_restored(&d->decider, now);
		for (unsigned i = 0; i < baton_fsm_count(fsm); i++) {
			changed(d, baton_fsm_db_at(fsm, i)->name);
		}
		return;
	}
	if (cmd->type == BATON_CMD_RENEW && cmd->nonce == d->nonce &&
	    strcmp(cmd->region, d->region) == 0) {
		own_renewal(d, cmd, result);
	}
	if (result != BATON_FSM_OK) {
		return;
	}
	if (cmd->type == BATON_CMD_LEVEL) {
		say(d, LOG_INFO, "", "the fleet's command level is %u%s%s",
		    fsm->fleet_level,
		    d->ops.designate != NULL &&
			    fsm->fleet_level >= BATON_LEVEL_DESIGNATION
			? ": every region knows DESIGNATE, designation on"
			: "",
		    fsm->fleet_level >= BATON_LEVEL_REPORT_BATCH
			? "; periodic reports travel in REPORT_BATCH entries"
			: "");
		return;
	}
	st = baton_fsm_db(fsm, cmd->db);
	if (cmd->type != BATON_CMD_RENEW && cmd->type != BATON_CMD_REPORT) {
		/* designate.c's memory (when, at which applied count, each
		 * step applied) is fed on every node, so a region's batond
		 * that becomes the primary's knows what applied before */
		struct baton_driver_desig *g =
		    baton_index_get(&d->desig, cmd->db);
		if (g != NULL) {
			baton_designate_applied(&g->mem, st, cmd, result,
						fsm->applied, now);
		}
	}
	switch (cmd->type) {
	case BATON_CMD_RENEW:
		/* §5.2: the leader's view counts from the local apply, with
		 * the lease the renewal claims */
		if (st != NULL) {
			baton_decider_renewed(&d->decider, st, cmd->lease_ms,
					      cmd->send_ms, now);
		}
		return; /* renewals change nothing the status shows */
	case BATON_CMD_REGISTER:
		if (st != NULL) {
			baton_decider_renewed(&d->decider, st, 0, 0, now);
		}
		break;
	case BATON_CMD_PROMOTE: {
		struct baton_driver_slot *s =
		    baton_index_get(&d->slots, cmd->db);
		/* the new primary's lease starts when the decision applies */
		if (st != NULL) {
			baton_decider_renewed(&d->decider, st, 0, 0, now);
		}
		if (s != NULL && strcmp(cmd->region, d->region) != 0) {
			baton_lease_revoke(&s->lease, now);
		} else if (s != NULL && s->lease.epoch < cmd->epoch) {
			/* promoted again, a sibling at E + 1 (design §4):
			 * nothing of the E lease is left to grant from. No
			 * barrier: the renewal this tick sends in this very
			 * millisecond is at E + 1 already, and one the
			 * barrier refused cost every sibling failover a
			 * renewal interval (the simulation's digest moved) */
			s->lease.held = false;
			s->lease.valid_until = 0;
		}
		if (s != NULL) {
			s->lost_noticed = false;
		}
		say(d, LOG_INFO, cmd->db,
		    "promote committed: %s is primary at epoch %llu (%s)",
		    cmd->region, (unsigned long long)cmd->epoch,
		    baton_reason_name(cmd->reason));
		break;
	}
	case BATON_CMD_REMOVE:
		baton_decider_forget(&d->decider, cmd->db);
		baton_index_del(&d->slots, cmd->db);
		baton_index_del(&d->desig, cmd->db);
		break;
	case BATON_CMD_DESIGNATE:
		say(d, LOG_INFO, cmd->db,
		    "designation committed: %s ordinal %u %s (seq %llu)",
		    cmd->region, cmd->ordinal,
		    cmd->step == BATON_DESIGNATE_JOIN	 ? "joins"
		    : cmd->step == BATON_DESIGNATE_LEAVE ? "leaves the list"
							 : "released",
		    (unsigned long long)cmd->desig_seq);
		break;
	case BATON_CMD_REPORT:
		return; /* health is read when reconciling */
	case BATON_CMD_SWITCHOVER: {
		/* the old primary's lease ends as the switchover applies
		 * (the tick says so too, and fences) */
		struct baton_driver_slot *s =
		    baton_index_get(&d->slots, cmd->db);
		if (s != NULL && st != NULL && st->primary >= 0 &&
		    strcmp(st->regions[st->primary].name, d->region) == 0) {
			baton_lease_revoke(&s->lease, now);
		}
		break;
	}
	case BATON_CMD_LOST:
		say(d, LOG_WARN, cmd->db,
		    "failing over from %s at epoch %llu: the standbys stop "
		    "streaming and report where they stopped",
		    cmd->region, (unsigned long long)cmd->epoch);
		break;
	default:
		break;
	}
	/* The lost flag follows the state just applied, not the last tick:
	 * after a promote the new primary's lease runs from the apply, and a
	 * reconcile woken by this apply must not read the flag the previous
	 * epoch's lapse left (a follower raised "the primary in <new> is
	 * lost and no region can take over" right after every failover). */
	if (st != NULL) {
		struct baton_driver_slot *s =
		    baton_index_get(&d->slots, cmd->db);
		if (s != NULL) {
			s->primary_was_lost =
			    now >= baton_decider_lost_at(&d->decider, st, now);
		}
	}
	changed(d, cmd->db);
}

/* The renewal of DB sent at SEND_MS leaves its pipeline (a slot created
 * again since, or a renewal forgotten as too old, has no place). */
static void free_place(struct baton_driver *d, const char *db, uint64_t send_ms)
{
	struct baton_driver_slot *s = baton_index_get(&d->slots, db);

	for (unsigned k = 0; s != NULL && k < BATON_DRIVER_RENEW_PIPELINE;
	     k++) {
		if (s->renew_sent[k] == send_ms) {
			s->renew_sent[k] = 0;
			return;
		}
	}
}

void baton_driver_done(struct baton_driver *d, const struct baton_cmd *cmd,
		       int result)
{
	struct baton_driver_slot *s;

	if (cmd->type == BATON_CMD_RENEW_BATCH) {
		/* free each renewal's place in its pipeline; the verdicts
		 * come with the apply here (own_renewal), or all at once
		 * with an OK answer (every item accepted) */
		for (unsigned i = 0; i < cmd->n_items; i++) {
			free_place(d, cmd->items[i].db, cmd->send_ms);
			s = baton_index_get(&d->slots, cmd->items[i].db);
			if (result == BATON_FSM_OK && s != NULL &&
			    strcmp(cmd->region, d->region) == 0) {
				/* the leader applied it and accepted every
				 * item: the lease extends now, not only once
				 * this node has applied the entry too (a
				 * follower catching up after a restart applies
				 * late; its lease lapsed meanwhile: CI's
				 * test_lab_failover). Counted where it
				 * applies here (own_renewal). */
				ack(d, s, cmd->items[i].db, cmd->items[i].epoch,
				    cmd->send_ms, cmd->items[i].lease_ms);
			}
			if (result == 0) {
				d->stats.renewals_unknown++;
			}
		}
		return;
	}
	if (cmd->type == BATON_CMD_REPORT_BATCH) {
		/* nothing in flight to free: a report is said again at the
		 * next interval unless the FSM holds it (report()), whatever
		 * became of this entry; the verdicts apply per item */
		return;
	}
	if (cmd->type == BATON_CMD_DESIGNATE) {
		struct baton_driver_desig *g =
		    baton_index_get(&d->desig, cmd->db);
		if (g != NULL) {
			g->in_flight = false;
		}
		if (result != BATON_FSM_OK) {
			say(d, LOG_INFO, cmd->db,
			    "designation step for %s ordinal %u not applied "
			    "(%d): judged again",
			    cmd->region, cmd->ordinal, result);
		}
		return;
	}
	s = baton_index_get(&d->slots, cmd->db);
	if (s != NULL &&
	    (cmd->type == BATON_CMD_PROMOTE || cmd->type == BATON_CMD_LOST)) {
		s->promote_in_flight = false;
	}
	/* a final's outcome: resent after FINAL_REPORT_MS if the FSM does
	 * not hold it (report_final) */
	if (s != NULL && cmd->type == BATON_CMD_REPORT && cmd->final &&
	    strcmp(cmd->region, d->region) == 0) {
		if (cmd->spare) {
			s->spare_final_in_flight = false;
		} else {
			s->final_in_flight = false;
		}
	}
}

/* ---- the tick ---------------------------------------------------------- */

/* Send the renewals gathered in this tick (one entry, up to
 * BATON_RENEW_BATCH_MAX databases). */
static void flush_renewals(struct baton_driver *d)
{
	struct baton_cmd *b = &d->batch;

	if (b->n_items == 0) {
		return;
	}
	snprintf(b->db, sizeof b->db, "%s", b->items[0].db);
	if (d->ops.propose(d->ops.data, b) == 0) {
		d->stats.renewals_sent += b->n_items;
	} else {
		/* nothing was sent: no place in any pipeline is taken */
		for (unsigned i = 0; i < b->n_items; i++) {
			free_place(d, b->items[i].db, b->send_ms);
		}
	}
	b->n_items = 0;
}

static void renew(struct baton_driver *d, const struct baton_db_state *st,
		  struct baton_driver_slot *s, uint64_t now)
{
	struct baton_region_report rep;
	struct baton_renew_item *it;
	int free_at = -1;

	if (now == 0 || now - s->last_renew_ms < st->cfg.renew_ms) {
		return;
	}
	for (unsigned k = 0; k < BATON_DRIVER_RENEW_PIPELINE; k++) {
		if (s->renew_sent[k] != 0 &&
		    now - s->renew_sent[k] >= st->cfg.lease_ms) {
			s->renew_sent[k] = 0; /* worthless now */
			d->stats.renewals_unknown++;
		}
		if (s->renew_sent[k] == 0 && free_at < 0) {
			free_at = (int)k;
		}
	}
	if (free_at < 0) {
		return; /* the pipeline is full of young renewals */
	}
	/* Health is asked once per renewMillis, also while unhealthy (not
	 * every tick for each of a thousand unhealthy databases). */
	s->last_renew_ms = now;
	memset(&rep, 0, sizeof rep);
	d->ops.report(d->ops.data, st->name, &rep);
	if (!rep.primary_ready) {
		return; /* a region whose primary died lets its lease lapse */
	}
	/* a configuration change reaches the next renewal */
	s->lease.lease_ms = st->cfg.lease_ms;
	s->lease.drift_ppm = st->cfg.drift_ppm;
	/* into this tick's batch: one entry for many databases, each with
	 * its own epoch and round (fsm.c applies each as its RENEW) */
	if (d->batch.n_items == BATON_RENEW_BATCH_MAX) {
		flush_renewals(d);
	}
	if (d->batch.n_items == 0) {
		memset(&d->batch, 0, sizeof d->batch);
		d->batch.type = BATON_CMD_RENEW_BATCH;
		snprintf(d->batch.region, sizeof d->batch.region, "%s",
			 d->region);
		d->batch.send_ms = now; /* the lease counts from here */
		d->batch.nonce = d->nonce;
	}
	it = &d->batch.items[d->batch.n_items++];
	snprintf(it->db, sizeof it->db, "%s", st->name);
	it->epoch = st->epoch;
	it->round = st->round; /* a renewal from before a failover round
				  cannot call that round off (fsm.c) */
	it->lease_ms = st->cfg.lease_ms;
	s->renew_sent[free_at] = now;
}

/* A (not final) REPORT of REP for this region, ME in ST. */
static struct baton_cmd live_report(const struct baton_driver *d,
				    const struct baton_db_state *st, int me,
				    const struct baton_region_report *rep)
{
	struct baton_cmd c = report_cmd(d, st, me);

	c.healthy = rep->healthy;
	c.position = rep->position;
	c.sync_standby = rep->sync_standby;
	return c;
}

/* ... proposed alone, now. */
static void propose_report(struct baton_driver *d,
			   const struct baton_db_state *st, int me,
			   const struct baton_region_report *rep)
{
	struct baton_cmd c = live_report(d, st, me, rep);

	if (d->ops.propose(d->ops.data, &c) == 0) {
		d->stats.reports_sent++;
		say(d, LOG_DEBUG, st->name,
		    "report sent: position %llu, healthy %d, epoch %llu",
		    (unsigned long long)rep->position, rep->healthy,
		    (unsigned long long)st->epoch);
	}
}

/* Send the periodic reports gathered in this tick (one entry, up to
 * BATON_REPORT_BATCH_MAX databases). A report keeps nothing in flight:
 * one not sent, lost or refused is said again at the next report
 * interval (report() compares with what the FSM holds), as a single
 * REPORT always was. */
static void flush_reports(struct baton_driver *d)
{
	struct baton_cmd *b = &d->reports;

	if (b->n_items == 0) {
		return;
	}
	snprintf(b->db, sizeof b->db, "%s", b->reports[0].db);
	if (d->ops.propose(d->ops.data, b) == 0) {
		d->stats.reports_sent += b->n_items;
		d->stats.report_batches_sent++;
		say(d, LOG_DEBUG, b->db, "%u reports sent in one entry",
		    b->n_items);
	}
	b->n_items = 0;
}

/* A periodic report: once the fleet's level has REPORT_BATCH, into this
 * tick's batch (flushed when full and at the end of the tick: nothing
 * waits longer than the tick it was due in); before, alone, as an older
 * batond refuses the batch (fsm.h). Each item is the REPORT
 * live_report() makes, field for field. */
static void queue_report(struct baton_driver *d,
			 const struct baton_db_state *st, int me,
			 const struct baton_region_report *rep)
{
	struct baton_cmd c;
	struct baton_report_item *it;

	if (!d->batching_reports) {
		propose_report(d, st, me, rep);
		return;
	}
	c = live_report(d, st, me, rep);
	if (d->reports.n_items == BATON_REPORT_BATCH_MAX) {
		flush_reports(d);
	}
	if (d->reports.n_items == 0) {
		memset(&d->reports, 0, sizeof d->reports);
		d->reports.type = BATON_CMD_REPORT_BATCH;
		snprintf(d->reports.region, sizeof d->reports.region, "%s",
			 d->region);
	}
	it = &d->reports.reports[d->reports.n_items++];
	memcpy(it->db, c.db, sizeof it->db);
	it->epoch = c.epoch;
	it->healthy = c.healthy;
	it->sync_standby = c.sync_standby;
	it->position = c.position;
	it->ordinal = c.ordinal;
}

/* Whether REP may be reported in ST's epoch: its instance follows this
 * epoch's primary (or is it), so its position is on this epoch's
 * timeline. A region whose last report is from an earlier epoch is no
 * candidate for a failover nor a switchover target (decider.c). */
static bool follows(const struct baton_region_report *rep,
		    const struct baton_db_state *st)
{
	return rep->follows_epoch == 0 || rep->follows_epoch >= st->epoch;
}

/* The final position of this region's member ORDINAL, in the failover
 * round ST is in: asked of the op and proposed as a final REPORT (of the
 * designated instance, or SPARE: of the spare slot), at most once per
 * FINAL_REPORT_MS (*LAST_MS) until the FSM holds it, and while the last
 * one is on its way (*IN_FLIGHT) at most once per
 * FINAL_REPORT_INFLIGHT_MS. */
static void report_final(struct baton_driver *d,
			 const struct baton_db_state *st, int me, int ordinal,
			 bool spare, uint64_t *last_ms, bool *in_flight,
			 uint64_t now)
{
	struct baton_region_report rep;
	struct baton_cmd c;

	if (now - *last_ms <
	    (*in_flight ? FINAL_REPORT_INFLIGHT_MS : FINAL_REPORT_MS)) {
		return;
	}
	memset(&rep, 0, sizeof rep);
	if (!d->ops.final_report(d->ops.data, st->name, st->epoch, st->round,
				 ordinal, &rep)) {
		return; /* still detaching: asked again next tick */
	}
	*last_ms = now;
	c = report_cmd(d, st, me);
	c.healthy = rep.healthy;
	c.position = rep.position;
	c.final = 1;
	c.round = st->round;
	if (spare) {
		c.ordinal = (uint8_t)ordinal;
		c.spare = 1;
	}
	if (d->ops.propose(d->ops.data, &c) != 0) {
		*in_flight = false;
		return;
	}
	*in_flight = true;
	d->stats.reports_sent++;
	if (spare) {
		say(d, LOG_INFO, st->name,
		    "final position %llu of instance %d (the spare slot) "
		    "reported for epoch %llu",
		    (unsigned long long)rep.position, ordinal,
		    (unsigned long long)st->epoch);
	} else {
		say(d, LOG_INFO, st->name,
		    "final position %llu reported for epoch %llu",
		    (unsigned long long)rep.position,
		    (unsigned long long)st->epoch);
	}
}

/* After a synchronous promote that left a promote floor, the member the
 * promote's reset dropped (a move past LEAVE: the listed instance, kept in
 * the spare slot) may be the only instance up that holds the floor; the
 * round awaits only the members, so without its final the failover waits
 * for the promoted primary to come back (docs/design-per-instance.md §9
 * note 51). Its final is asked for like the lost region's spare's: a
 * candidate at or past every member's final and the floor, never
 * awaited. */
static void report_floor_spare(struct baton_driver *d,
			       const struct baton_db_state *st,
			       struct baton_driver_slot *s, int me,
			       uint64_t now)
{
	const struct baton_spare_state *sp = &st->regions[me].spare;

	if (!d->designating ||
	    baton_decider_final_due(st, me, sp->ordinal) !=
		BATON_FINAL_FLOOR_SPARE ||
	    (sp->final && sp->report_epoch == st->epoch)) {
		return;
	}
	report_final(d, st, me, sp->ordinal, true, &s->last_spare_final_ms,
		     &s->spare_final_in_flight, now);
}

/* A synchronous failover waits for the final position of every member of
 * every standby region (decider.h; docs/design-per-instance.md §3.5): the
 * designated instance's, and mid-move the other member's (the joiner, or
 * the one leaving), which the FSM keeps in the spare slot (M is within
 * {designated, spare}). Either may hold the only copy of an acknowledged
 * commit. */
static void report_finals(struct baton_driver *d,
			  const struct baton_db_state *st,
			  struct baton_driver_slot *s, int me, uint64_t now)
{
	const struct baton_region_state *mine = &st->regions[me];

	if (d->ops.final_report == NULL) {
		return;
	}
	if (!(mine->final && mine->report_epoch == st->epoch)) {
		report_final(d, st, me, mine->designated, false,
			     &s->last_final_ms, &s->final_in_flight, now);
	}
	for (int k = 0; k < BATON_ORDINALS; k++) {
		const struct baton_spare_state *sp = &mine->spare;

		if (k == (int)mine->designated ||
		    (mine->members & BATON_ORDINAL_BIT(k)) == 0) {
			continue;
		}
		if (sp->ordinal == k && sp->final &&
		    sp->report_epoch == st->epoch) {
			continue; /* the FSM holds it */
		}
		report_final(d, st, me, k, true, &s->last_spare_final_ms,
			     &s->spare_final_in_flight, now);
	}
	report_floor_spare(d, st, s, me, now);
}

/* The lost primary region's sibling in a synchronous failover round
 * (docs/design-per-instance.md §4): the FSM's spare slot of this region
 * holds it when the region said its designated instance was down. It is
 * a candidate only at or past every member's final, so its own final is
 * asked for (the op detaches it); it never blocks the round. */
static void report_lost_spare(struct baton_driver *d,
			      const struct baton_db_state *st,
			      struct baton_driver_slot *s, int me, uint64_t now)
{
	const struct baton_region_state *mine = &st->regions[me];
	const struct baton_spare_state *sp = &mine->spare;

	if (d->ops.final_report == NULL || !d->designating || sp->ordinal < 0 ||
	    sp->ordinal >= BATON_ORDINALS ||
	    sp->ordinal == (int)mine->designated || !sp->healthy ||
	    sp->report_epoch != st->epoch || sp->final) {
		return;
	}
	report_final(d, st, me, sp->ordinal, true, &s->last_spare_final_ms,
		     &s->spare_final_in_flight, now);
}

/* The primary region's spare REPORT (docs/design-per-instance.md §4):
 * only while REP says the designated instance is down, the region's own
 * word that makes its sibling a candidate; never otherwise (a report per
 * database per second for nothing). Under the no-change and follows
 * rules of the region's own report. */
static void report_spare(struct baton_driver *d,
			 const struct baton_db_state *st,
			 const struct baton_region_report *rep, int me)
{
	const struct baton_region_state *mine = &st->regions[me];
	const struct baton_spare_report *sp = &rep->spare;
	const struct baton_spare_state *had = &mine->spare;
	struct baton_cmd c;

	if (!d->designating || me != st->primary || rep->healthy ||
	    !sp->present || sp->ordinal < 0 || sp->ordinal >= BATON_ORDINALS ||
	    sp->ordinal == (int)mine->designated ||
	    (sp->follows_epoch != 0 && sp->follows_epoch < st->epoch)) {
		return;
	}
	if (had->ordinal == sp->ordinal && had->healthy == sp->healthy &&
	    had->position == sp->position && had->report_epoch == st->epoch) {
		return;
	}
	c = report_cmd(d, st, me);
	c.ordinal = (uint8_t)sp->ordinal;
	c.spare = 1;
	c.healthy = sp->healthy;
	c.position = sp->position;
	if (d->ops.propose(d->ops.data, &c) == 0) {
		d->stats.reports_sent++;
		say(d, LOG_DEBUG, st->name,
		    "spare report sent: instance %d, position %llu, healthy "
		    "%d, epoch %llu",
		    sp->ordinal, (unsigned long long)sp->position, sp->healthy,
		    (unsigned long long)st->epoch);
	}
}

static void report(struct baton_driver *d, const struct baton_db_state *st,
		   struct baton_driver_slot *s, int me, uint64_t now)
{
	const struct baton_region_state *mine = &st->regions[me];
	struct baton_region_report rep;

	/* a synchronous failover waits for this standby's final positions */
	if (st->phase == BATON_PHASE_FAILING_OVER && me != st->primary) {
		report_finals(d, st, s, me, now);
		return;
	}
	if (st->phase == BATON_PHASE_FAILING_OVER) {
		report_lost_spare(d, st, s, me, now);
	}
	/* a planned switchover waits for the target to have replayed the
	 * old primary's final position: say so on the tick it is known,
	 * not on the next report (up to report_ms later) */
	if (st->phase == BATON_PHASE_FENCED && me == st->sw_target &&
	    mine->position < st->sw_final_position &&
	    now - s->last_report_ms >= SWITCHOVER_REPORT_MS) {
		memset(&rep, 0, sizeof rep);
		d->ops.report(d->ops.data, st->name, &rep);
		if (rep.position >= st->sw_final_position &&
		    follows(&rep, st)) {
			s->last_report_ms = now;
			propose_report(d, st, me, &rep);
			return;
		}
	}
	if (now - s->last_report_ms < d->report_ms) {
		return;
	}
	s->last_report_ms = now;
	memset(&rep, 0, sizeof rep);
	d->ops.report(d->ops.data, st->name, &rep);
	if (!follows(&rep, st)) {
		return; /* a position from an earlier timeline says nothing */
	}
	/* The primary region whose designated instance cannot hold the
	 * lease (its agent stopped asking: a lost node, a paused agent)
	 * says so as soon as its renewals stop, not once the instance's
	 * status has gone stale seconds later: that word is what makes its
	 * sibling a candidate (design §4), and it must be in the FSM before
	 * the lease expires at the leader, or another region is promoted.
	 * The lost primary instance itself is never a candidate, so saying
	 * it is unhealthy takes nothing from the decider. */
	if (d->designating && me == st->primary && !rep.primary_ready) {
		rep.healthy = false;
	}
	/* unchanged, and already said in this epoch: nothing to say */
	if (!(rep.healthy == mine->healthy && rep.position == mine->position &&
	      rep.sync_standby == mine->sync_standby &&
	      mine->report_epoch == st->epoch)) {
		queue_report(d, st, me, &rep);
	}
	report_spare(d, st, &rep, me);
}

/* 4b. At most one DESIGNATE per database in flight, judged about once per
 * report interval (designate.c's timers are seconds: 10 s and more). */
static void designate(struct baton_driver *d, const struct baton_fsm *fsm,
		      const struct baton_db_state *st, int me, uint64_t now)
{
	struct baton_driver_desig *g = desig_for(d, st->name, st, now);
	struct baton_designate_input in;
	struct baton_designate_out out;

	if (g == NULL || g->in_flight || now - g->last_ms < d->report_ms) {
		return;
	}
	g->last_ms = now;
	/* the spec's redesignateAfterSeconds default; the op may say
	 * otherwise */
	memset(&in, 0, sizeof in);
	in.st = st;
	in.me = me;
	in.applied = fsm->applied;
	in.redesignate_after_ms = BATON_DESIGNATE_AFTER_DEFAULT_MS;
	if (!d->ops.designate(d->ops.data, st->name, &in, now)) {
		return;
	}
	memset(&out, 0, sizeof out);
	if (!baton_designate_decide(&in, &g->mem, now, &out)) {
		g->need_gen = out.need_gen;
		if (strcmp(g->reason, out.reason) != 0) {
			snprintf(g->reason, sizeof g->reason, "%s", out.reason);
			if (out.reason[0] != '\0') {
				say(d, LOG_DEBUG, st->name, "designation: %s",
				    out.reason);
			}
			changed(d, st->name);
		}
		return;
	}
	g->need_gen = out.need_gen;
	snprintf(g->reason, sizeof g->reason, "%s", out.reason);
	say(d, LOG_INFO, st->name,
	    "designation: proposing %s of %s ordinal %u (seq %llu): %s",
	    baton_designate_step_name(out.cmd.step), out.cmd.region,
	    out.cmd.ordinal, (unsigned long long)out.cmd.desig_seq, out.reason);
	if (d->ops.propose(d->ops.data, &out.cmd) == 0) {
		g->in_flight = true;
		d->stats.designates_proposed++;
	}
	changed(d, st->name);
}

static void decide(struct baton_driver *d, const struct baton_db_state *st,
		   struct baton_driver_slot *s, uint64_t now)
{
	struct baton_decision dec;
	struct baton_cmd c;

	if (s->promote_in_flight) {
		return;
	}
	if (!baton_decider_decide(&d->decider, st, now, &dec)) {
		dec.kind = BATON_DECISION_NONE;
	}
	/* why a due failover waits: for the status, said once per change */
	{
		int why = dec.kind == BATON_DECISION_BLOCKED
			      ? dec.blocked
			      : BATON_BLOCKED_NONE;
		int region =
		    dec.kind == BATON_DECISION_BLOCKED ? dec.region : -1;
		if (why != s->blocked || region != s->blocked_region) {
			s->blocked = why;
			s->blocked_region = region;
			if (why != BATON_BLOCKED_NONE) {
				d->stats.blocked[why]++;
				say(d, LOG_WARN, st->name,
				    "failover blocked: %s%s%s",
				    baton_blocked_name(why),
				    region >= 0 ? ", region " : "",
				    region >= 0 ? st->regions[region].name
						: "");
			}
			changed(d, st->name);
		}
	}
	if (dec.kind == BATON_DECISION_LOST) {
		c = cmd_for(BATON_CMD_LOST, st, st->regions[st->primary].name);
		c.renew_seq = dec.renew_seq;
		say(d, LOG_WARN, st->name,
		    "the primary's lease expired: proposing lost (synchronous "
		    "failover from %s at epoch %llu)",
		    c.region, (unsigned long long)st->epoch);
		if (d->ops.propose(d->ops.data, &c) == 0) {
			s->promote_in_flight = true;
			d->stats.lost_proposed++;
		}
		return;
	}
	if (dec.kind == BATON_DECISION_REGION_LOST) {
		if (!s->lost_noticed) {
			s->lost_noticed = true;
			say(d, LOG_WARN, st->name,
			    "the primary's lease expired and failover is "
			    "manual: run batonctl switchover to promote a "
			    "region");
		}
		changed(d, st->name);
		return;
	}
	if (dec.kind != BATON_DECISION_PROMOTE) {
		return;
	}
	c = cmd_for(BATON_CMD_PROMOTE, st, st->regions[dec.region].name);
	/* the instance the decision judged (ordinal 0: a format-3 entry) */
	c.ordinal = (uint8_t)dec.ordinal;
	c.epoch = dec.epoch;
	c.renew_seq = dec.renew_seq;
	c.reason = (uint8_t)dec.reason;
	say(d, LOG_WARN, st->name, "%s: proposing promote of %s at epoch %llu",
	    baton_reason_name(dec.reason), c.region,
	    (unsigned long long)dec.epoch);
	if (d->ops.propose(d->ops.data, &c) == 0) {
		s->promote_in_flight = true;
		d->stats.promotes_proposed++;
	}
}

/* As the leader: LEVEL once every member's batond knows more than the
 * FSM holds, up to this batond's own level (a newer member's extra
 * commands mean nothing to this one). Asked again after LEVEL_RETRY_MS
 * when the entry did not come back applied (a lost leadership, a full
 * queue): LEVEL only rises, a repeat changes nothing. */
static void raise_level(struct baton_driver *d, struct baton_fsm *fsm,
			uint64_t now)
{
	struct baton_cmd c;
	uint32_t known;

	if (d->ops.fleet_level == NULL ||
	    fsm->fleet_level >= BATON_COMMAND_LEVEL ||
	    (d->level_proposed_ms != 0 &&
	     now - d->level_proposed_ms < LEVEL_RETRY_MS)) {
		return;
	}
	known = d->ops.fleet_level(d->ops.data);
	if (known > BATON_COMMAND_LEVEL) {
		known = BATON_COMMAND_LEVEL;
	}
	if (known <= fsm->fleet_level) {
		return;
	}
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_LEVEL;
	c.level = known;
	if (d->ops.propose(d->ops.data, &c) == 0) {
		d->level_proposed_ms = now;
		d->stats.levels_proposed++;
		say(d, LOG_INFO, "",
		    "every member's batond knows command level %u (the "
		    "fleet's is %u): proposing it",
		    known, fsm->fleet_level);
	}
}

void baton_driver_tick(struct baton_driver *d, struct baton_fsm *fsm,
		       bool leader, uint64_t now)
{
	if (leader && !d->leader) {
		/* §5.2: every lease counts as renewed at the election */
		baton_decider_become_leader(&d->decider, now);
		d->leader = true;
		if (d->ops.leader_changed != NULL) {
			d->ops.leader_changed(d->ops.data, true);
		}
	} else if (!leader && d->leader) {
		baton_decider_lose_leadership(&d->decider);
		d->leader = false;
		if (d->ops.leader_changed != NULL) {
			d->ops.leader_changed(d->ops.data, false);
		}
	}
	d->designating = d->ops.designate != NULL &&
			 (d->ops.fleet_level == NULL ||
			  fsm->fleet_level >= BATON_LEVEL_DESIGNATION);
	/* the FSM's level alone: with no ops.fleet_level nobody raises it,
	 * and every report goes alone as before */
	d->batching_reports = fsm->fleet_level >= BATON_LEVEL_REPORT_BATCH;
	/* 6. the fleet's command level */
	if (leader) {
		raise_level(d, fsm, now);
	}

	/* Nothing below applies to the FSM (Raft applies on later
	 * callbacks), so iterating by position is safe. */
	for (unsigned i = 0; i < baton_fsm_count(fsm); i++) {
		const struct baton_db_state *st = baton_fsm_db_at(fsm, i);
		struct baton_driver_slot *s = slot_for(d, st->name, st, now);
		int me = baton_fsm_region_index(st, d->region);
		bool primary_here = me >= 0 && st->primary == me;
		bool switching = st->phase == BATON_PHASE_SWITCHING_OVER ||
				 st->phase == BATON_PHASE_FENCED;
		bool valid, lost;

		if (s == NULL) {
			continue;
		}
		/* 1. a planned switchover began: the lease ends now (the
		 * agent is fenced next) */
		if (primary_here && switching) {
			baton_lease_revoke(&s->lease, now);
		}
		/* 2. renew */
		if (primary_here && !switching) {
			renew(d, st, s, now);
		}
		/* 3. the primary's lease lapsed in this node's view (every
		 * node sees the renewals applied): status says so, by the
		 * decider's own rule (a switchover under way has one more
		 * lease; before, every switchover said "the primary is
		 * lost") */
		lost = now >= baton_decider_lost_at(&d->decider, st, now);
		if (lost != s->primary_was_lost) {
			s->primary_was_lost = lost;
			changed(d, st->name);
		}
		/* ... and this region's own lease: the label fence */
		valid = baton_lease_valid(&s->lease, st->epoch, now);
		if (valid != s->lease_was_valid) {
			s->lease_was_valid = valid;
			if (!valid && primary_here) {
				d->stats.lease_lapses++;
				say(d, LOG_WARN, st->name,
				    "lease at epoch %llu lapsed: fencing the "
				    "local primary",
				    (unsigned long long)st->epoch);
			}
			changed(d, st->name);
		}
		/* 4. report */
		if (me >= 0 && st->regions[me].role == BATON_ROLE_DATA) {
			report(d, st, s, me, now);
			/* 4b. designation */
			if (d->designating) {
				designate(d, fsm, st, me, now);
			}
		}
		/* 5. decide */
		if (leader) {
			decide(d, st, s, now);
		}
	}
	flush_renewals(d);
	flush_reports(d);
}

/* ---- what the rest of the node asks ------------------------------------ */

bool baton_driver_lease_valid(struct baton_driver *d, const char *db,
			      uint64_t epoch, uint64_t now)
{
	struct baton_driver_slot *s = baton_index_get(&d->slots, db);
	return s != NULL && baton_lease_valid(&s->lease, epoch, now);
}

uint64_t baton_driver_grant(struct baton_driver *d, const char *db,
			    uint64_t epoch, uint64_t now)
{
	struct baton_driver_slot *s = baton_index_get(&d->slots, db);
	return s != NULL ? baton_lease_agent_grant(&s->lease, epoch, now) : 0;
}

bool baton_driver_primary_lost(struct baton_driver *d, const char *db)
{
	struct baton_driver_slot *s = baton_index_get(&d->slots, db);
	return s != NULL && s->primary_was_lost;
}

int baton_driver_blocked(struct baton_driver *d, const char *db, int *region)
{
	struct baton_driver_slot *s = baton_index_get(&d->slots, db);

	*region = -1;
	if (s == NULL || !d->leader) {
		return BATON_BLOCKED_NONE;
	}
	*region = s->blocked_region;
	return s->blocked;
}

bool baton_driver_expired(struct baton_driver *d,
			  const struct baton_db_state *st, uint64_t now)
{
	return d->leader && now >= baton_decider_expiry(&d->decider, st, now);
}

uint64_t baton_driver_need_gen(struct baton_driver *d, const char *db)
{
	struct baton_driver_desig *g = baton_index_get(&d->desig, db);
	return g != NULL ? g->need_gen : 0;
}

const char *baton_driver_designation(struct baton_driver *d, const char *db)
{
	struct baton_driver_desig *g = baton_index_get(&d->desig, db);
	return g != NULL ? g->reason : NULL;
}
