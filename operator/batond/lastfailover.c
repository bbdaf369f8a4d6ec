/* status.lastFailover (batond/lastfailover.h): pure, the controller acts. */
#include "batond/lastfailover.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "consensus/decider.h"

int baton_lastfailover_init(struct baton_lastfailover *r,
			    struct baton_dbstate *dbs)
{
	r->dbs = dbs;
	return 0;
}

void baton_lastfailover_close(struct baton_lastfailover *r)
{
	r->dbs = NULL;
}

/* DB's status.lastFailover (borrowed), or NULL. */
static json_t *record(struct baton_lastfailover *r, const char *db)
{
	const struct baton_dbrec *rec = baton_dbstate_get(r->dbs, db);
	return rec != NULL ? rec->last_failover : NULL;
}

bool baton_lastfailover_promoted(struct baton_lastfailover *r,
				 const struct baton_cmd *cmd, const char *from,
				 const char *now, const char *now_micro,
				 uint64_t now_ms, char *msg, size_t size)
{
	json_t *lf;
	struct baton_dbrec *rec;

	if (from == NULL) {
		rec = baton_dbstate_get(r->dbs, cmd->db);
		if (rec != NULL && rec->primary[0] != '\0') {
			from = rec->primary;
		}
	}
	lf = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:{}}", "from",
		       from ? from : "", "to", cmd->region, "epoch",
		       (json_int_t)cmd->epoch, "reason",
		       baton_reason_name(cmd->reason), "startedAt", now,
		       "appliedAt", now_micro, "stepsMillis");
	if (lf == NULL) {
		return false;
	}
	if (from != NULL && strcmp(from, cmd->region) == 0 &&
	    cmd->ordinal < BATON_ORDINALS) {
		/* a sibling in the same region (design-per-instance §4):
		 * "was eu-west" alone read like nothing happened */
		snprintf(msg, size,
			 "Raft committed: %s is primary at epoch %llu, its "
			 "instance %u (a sibling of the instance it lost; %s)",
			 cmd->region, (unsigned long long)cmd->epoch,
			 (unsigned)cmd->ordinal,
			 baton_reason_name(cmd->reason));
	} else {
		snprintf(msg, size,
			 "Raft committed: %s is primary at epoch %llu (was "
			 "%s; %s)",
			 cmd->region, (unsigned long long)cmd->epoch,
			 from ? from : "none", baton_reason_name(cmd->reason));
	}
	rec = baton_dbstate_obtain(r->dbs, cmd->db);
	if (rec == NULL) {
		json_decref(lf);
		return false;
	}
	json_decref(rec->last_failover);
	rec->last_failover = lf;
	rec->promote_ms = now_ms;
	return true;
}

json_t *baton_lastfailover_get(struct baton_lastfailover *r, const char *db)
{
	return record(r, db);
}

int64_t baton_lastfailover_since(struct baton_lastfailover *r, const char *db,
				 uint64_t now_ms)
{
	const struct baton_dbrec *rec = baton_dbstate_get(r->dbs, db);
	return rec != NULL && rec->last_failover != NULL
		   ? (int64_t)(now_ms - rec->promote_ms)
		   : -1;
}

bool baton_lastfailover_step(struct baton_lastfailover *r, const char *db,
			     uint64_t epoch, const char *step, int64_t ms)
{
	json_t *lf = record(r, db);
	json_t *steps = json_object_get(lf, "stepsMillis");
	if (ms < 0 || steps == NULL ||
	    (uint64_t)json_integer_value(json_object_get(lf, "epoch")) !=
		epoch ||
	    json_object_get(steps, step) != NULL) {
		return false;
	}
	json_object_set_new(steps, step, json_integer((json_int_t)ms));
	return true;
}

bool baton_lastfailover_before(struct baton_lastfailover *r, const char *db,
			       uint64_t epoch, const char *step, uint64_t at_ms)
{
	json_t *lf = record(r, db);
	json_t *steps = json_object_get(lf, "stepsMillis");
	uint64_t promote_ms;

	if (steps == NULL ||
	    (uint64_t)json_integer_value(json_object_get(lf, "epoch")) !=
		epoch ||
	    json_object_get(steps, step) != NULL) {
		return false;
	}
	promote_ms = baton_dbstate_get(r->dbs, db)->promote_ms;
	if (at_ms > promote_ms ||
	    promote_ms - at_ms > BATON_LASTFAILOVER_BEFORE_MS) {
		return false;
	}
	json_object_set_new(steps, step,
			    json_integer(-(json_int_t)(promote_ms - at_ms)));
	return true;
}

const char *baton_lastfailover_awaiting(struct baton_lastfailover *r,
					const char *db)
{
	json_t *lf = record(r, db);
	if (json_object_get(lf, "completedAt") != NULL) {
		return NULL;
	}
	return json_string_value(json_object_get(lf, "to"));
}

void baton_lastfailover_serving(struct baton_lastfailover *r, const char *db,
				const char *endpoint, const char *now,
				time_t now_s, int64_t ms, char *msg,
				size_t size)
{
	json_t *lf = record(r, db);
	const char *to = json_string_value(json_object_get(lf, "to"));
	const char *started =
	    json_string_value(json_object_get(lf, "startedAt"));

	json_object_set_new(lf, "completedAt", json_string(now));
	if (ms >= 0) {
		snprintf(msg, size,
			 "%s serves as primary at %s (%lld ms after the "
			 "promote was applied here)",
			 to, endpoint, (long long)ms);
	} else {
		snprintf(msg, size,
			 "%s serves as primary at %s (about %.0f s after the "
			 "promote)",
			 to, endpoint,
			 started ? baton_clock_seconds_since(started, now_s)
				 : 0.0);
	}
}

bool baton_lastfailover_routed(struct baton_lastfailover *r, const char *db,
			       const char *primary, uint64_t epoch,
			       const char *mesh, int64_t ms, char *msg,
			       size_t size)
{
	json_t *lf = record(r, db);
	const char *to = json_string_value(json_object_get(lf, "to"));

	if (to == NULL || strcmp(to, primary) != 0 ||
	    !baton_lastfailover_step(r, db, epoch, "routed", ms)) {
		return false;
	}
	snprintf(msg, size,
		 "routing objects (mesh %s) send new connections to %s at "
		 "epoch %llu in this cluster (%lld ms after the promote was "
		 "applied here)",
		 mesh, primary, (unsigned long long)epoch, (long long)ms);
	return true;
}
