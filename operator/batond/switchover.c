/* The switchover policy (batond/switchover.h): pure, the controller acts. */
#include "batond/switchover.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "consensus/decider.h"

static void event(struct baton_switchover_out *out, const char *type,
		  const char *reason, const char *msg)
{
	struct baton_switchover_event *e;

	if (out->n_events >= BATON_SWITCHOVER_MAX_EVENTS) {
		return;
	}
	e = &out->events[out->n_events++];
	e->type = type;
	e->reason = reason;
	snprintf(e->message, sizeof e->message, "%s", msg);
}

static json_t *sw_record(json_t *old, const char *state, const char *msg)
{
	json_t *rec = json_deep_copy(old);
	if (rec == NULL) {
		return NULL;
	}
	json_object_set_new(rec, "state", json_string(state));
	json_object_set_new(rec, "message", json_string(msg));
	return rec;
}

/* The request started at STARTED (RFC 3339, may be NULL) waited longer
 * than the timeout. */
static bool timed_out(const struct baton_switchover_in *in, const char *started)
{
	return started != NULL &&
	       baton_clock_seconds_since(started, in->now_s) >
		   BATON_SWITCHOVER_TIMEOUT_S;
}

/* Why region T cannot take the primary right now (health, lag, standby
 * status: things that change), or false. */
static bool sw_ineligible(const struct baton_db_state *st, int t, char *msg,
			  size_t size)
{
	const char *target = st->regions[t].name;
	if (!st->regions[t].healthy) {
		snprintf(msg, size,
			 "%s is not healthy (no ready instance reported)",
			 target);
	} else if (st->regions[st->primary].position >
		   st->regions[t].position + st->cfg.max_lag_bytes) {
		snprintf(
		    msg, size,
		    "%s is %llu bytes behind the primary (at most %llu "
		    "allowed)",
		    target,
		    (unsigned long long)(st->regions[st->primary].position -
					 st->regions[t].position),
		    (unsigned long long)st->cfg.max_lag_bytes);
	} else if (st->cfg.synchronous && !st->regions[t].sync_standby) {
		snprintf(msg, size,
			 "%s is not a synchronous standby: promoting it could "
			 "lose acknowledged writes",
			 target);
	} else {
		return false;
	}
	return true;
}

/* A manual promotion of T in synchronous mode, the primary lost. What the
 * FSM knows of positions and of the synchronous standby predates the loss:
 * with ANY 1 of several standbys an acknowledged commit may be only on
 * another one, and a standby still streaming from an old primary that is
 * alive behind a partition moves on. So, as the automatic failover does
 * (consensus/decider.c), first LOST: every other data region's designated
 * standby stops streaming and reports where its WAL ends (a final
 * position, this round). Then T is promoted only if no standby holds more
 * than T. */
static json_t *sw_manual_sync(const struct baton_switchover_in *in, int t,
			      json_t *rec, struct baton_switchover_out *out)
{
	const struct baton_db_state *st = in->st;
	const struct baton_region_state *r = &st->regions[t];
	const char *target = r->name;
	const char *primary = st->regions[st->primary].name;
	const char *started =
	    json_string_value(json_object_get(rec, "startedAt"));
	struct baton_cmd *cmd = &out->cmd;
	char msg[300];
	int missing, best;

	if (st->phase != BATON_PHASE_FAILING_OVER) {
		memset(cmd, 0, sizeof *cmd);
		cmd->type = BATON_CMD_LOST;
		snprintf(cmd->db, sizeof cmd->db, "%s", in->db);
		snprintf(cmd->region, sizeof cmd->region, "%s", primary);
		cmd->epoch = st->epoch;
		cmd->renew_seq = st->renew_seq;
		out->propose = in->may_propose;
		snprintf(msg, sizeof msg,
			 "%s is lost; every standby stops and reports where "
			 "its WAL ends before %s is promoted (synchronous "
			 "mode)",
			 primary, target);
		return sw_record(rec, "InProgress", msg);
	}
	missing = baton_decider_missing_final(st);
	if (missing >= 0 ||
	    !(r->healthy && r->final && r->report_epoch == st->epoch)) {
		snprintf(msg, sizeof msg,
			 "waiting for %s to report where its WAL ends: "
			 "promoting %s before that could lose acknowledged "
			 "writes",
			 st->regions[missing >= 0 ? missing : t].name, target);
		if (timed_out(in, started)) {
			event(out, "Warning", "SwitchoverRefused", msg);
			return sw_record(rec, "Refused", msg);
		}
		return sw_record(rec, "InProgress", msg);
	}
	best = baton_decider_pick(st, st->primary, true);
	if (best >= 0 && st->regions[best].position > r->position) {
		snprintf(msg, sizeof msg,
			 "%s stopped at %llu, %s at %llu: only %s surely "
			 "holds every acknowledged write; promote %s instead",
			 target, (unsigned long long)r->position,
			 st->regions[best].name,
			 (unsigned long long)st->regions[best].position,
			 st->regions[best].name, st->regions[best].name);
		event(out, "Warning", "SwitchoverRefused", msg);
		return sw_record(rec, "Refused", msg);
	}
	memset(cmd, 0, sizeof *cmd);
	cmd->type = BATON_CMD_PROMOTE;
	snprintf(cmd->db, sizeof cmd->db, "%s", in->db);
	snprintf(cmd->region, sizeof cmd->region, "%s", target);
	cmd->epoch = st->epoch + 1;
	cmd->renew_seq = st->renew_seq;
	cmd->reason = BATON_REASON_MANUAL;
	out->propose = in->may_propose;
	snprintf(msg, sizeof msg,
		 "%s is lost; promoting %s at epoch %llu as asked (it stopped "
		 "at %llu; no standby holds more)",
		 primary, target, (unsigned long long)cmd->epoch,
		 (unsigned long long)r->position);
	return sw_record(rec, "InProgress", msg);
}

/* A request to TARGET (index T) is valid: move it along. */
static json_t *sw_progress(const struct baton_switchover_in *in, int t,
			   json_t *rec, struct baton_switchover_out *out)
{
	const struct baton_db_state *st = in->st;
	const char *target = st->regions[t].name;
	const char *primary = st->regions[st->primary].name;
	const char *started =
	    json_string_value(json_object_get(rec, "startedAt"));
	struct baton_cmd *cmd = &out->cmd;
	char msg[300];

	if (st->phase == BATON_PHASE_SWITCHING_OVER ||
	    st->phase == BATON_PHASE_FENCED) {
		if (st->sw_target != t) {
			return sw_record(rec, "Pending",
					 "another switchover is in progress");
		}
		if (timed_out(in, started) && in->leader &&
		    st->phase == BATON_PHASE_SWITCHING_OVER &&
		    in->may_propose) {
			memset(cmd, 0, sizeof *cmd);
			cmd->type = BATON_CMD_SWITCHOVER_ABORT;
			snprintf(cmd->db, sizeof cmd->db, "%s", in->db);
			cmd->epoch = st->epoch;
			out->propose = true;
			snprintf(msg, sizeof msg,
				 "%s did not fence within %ds: switchover "
				 "aborted, %s stays primary",
				 primary, BATON_SWITCHOVER_TIMEOUT_S, primary);
			event(out, "Warning", "SwitchoverAborted", msg);
			return sw_record(rec, "Refused", msg);
		}
		if (st->phase == BATON_PHASE_SWITCHING_OVER) {
			snprintf(msg, sizeof msg,
				 "fencing %s (no new writes), then %s catches "
				 "up and is promoted",
				 primary, target);
		} else {
			snprintf(msg, sizeof msg,
				 "%s is fenced at position %llu; waiting for "
				 "%s to replay it (at %llu)",
				 primary,
				 (unsigned long long)st->sw_final_position,
				 target,
				 (unsigned long long)st->regions[t].position);
		}
		return sw_record(rec, "InProgress", msg);
	}
	if (!in->leader) {
		if (timed_out(in, started)) {
			snprintf(msg, sizeof msg,
				 "the Raft leader's batond did not start the "
				 "switchover to %s within %ds (its region's "
				 "status says why)",
				 target, BATON_SWITCHOVER_TIMEOUT_S);
			return sw_record(rec, "Refused", msg);
		}
		snprintf(msg, sizeof msg,
			 "waiting for the Raft leader's batond to act; "
			 "spec.primaryRegion must say %s in every region "
			 "(batonctl switchover does that)",
			 target);
		return sw_record(rec, "Pending", msg);
	}
	if (!st->cfg.automatic && in->lease_expired && st->cfg.synchronous) {
		return sw_manual_sync(in, t, rec, out);
	}
	/* Only the leader judges eligibility (a follower's view of the
	 * reports may lag), and a target that is catching up (just rejoined,
	 * not yet a synchronous standby) is waited for, up to the timeout. */
	if (sw_ineligible(st, t, msg, sizeof msg)) {
		char waiting[400];
		if (timed_out(in, started)) {
			event(out, "Warning", "SwitchoverRefused", msg);
			return sw_record(rec, "Refused", msg);
		}
		snprintf(waiting, sizeof waiting,
			 "waiting up to %ds for %s to become eligible: %s",
			 BATON_SWITCHOVER_TIMEOUT_S, target, msg);
		return sw_record(rec, "Pending", waiting);
	}
	memset(cmd, 0, sizeof *cmd);
	snprintf(cmd->db, sizeof cmd->db, "%s", in->db);
	snprintf(cmd->region, sizeof cmd->region, "%s", target);
	if (!st->cfg.automatic && in->lease_expired) {
		/* manual mode, asynchronous, the primary is lost: promote now
		 * (the lease expired in the leader's view, as for an
		 * automatic one; up to maxLagBytes may be lost, as there) */
		cmd->type = BATON_CMD_PROMOTE;
		cmd->epoch = st->epoch + 1;
		cmd->renew_seq = st->renew_seq;
		cmd->reason = BATON_REASON_MANUAL;
		snprintf(msg, sizeof msg,
			 "%s is lost; promoting %s at epoch %llu as asked",
			 primary, target, (unsigned long long)cmd->epoch);
	} else {
		cmd->type = BATON_CMD_SWITCHOVER;
		cmd->epoch = st->epoch;
		snprintf(msg, sizeof msg,
			 "switchover from %s to %s proposed at epoch %llu",
			 primary, target, (unsigned long long)st->epoch);
	}
	out->propose = in->may_propose;
	return sw_record(rec, "InProgress", msg);
}

void baton_switchover_decide(const struct baton_switchover_in *in,
			     struct baton_switchover_out *out)
{
	const struct baton_db_state *st = in->st;
	json_t *old = in->old;
	const char *old_target =
	    json_string_value(json_object_get(old, "target"));
	const char *old_state =
	    json_string_value(json_object_get(old, "state"));
	const char *old_spec =
	    json_string_value(json_object_get(old, "specPrimary"));
	const char *old_request =
	    json_string_value(json_object_get(old, "request"));
	const char *request = in->request;
	const char *target = NULL;
	char req_target[BATON_NAME_SIZE];
	const char *primary;
	char msg[300];
	json_t *rec;
	int t;

	memset(out, 0, sizeof *out);
	if (st == NULL || st->primary < 0) {
		out->record = json_incref(old);
		return;
	}
	primary = st->regions[st->primary].name;
	if (old == NULL || old_target == NULL || old_state == NULL) {
		/* first sight: the spec names the initial primary */
		snprintf(msg, sizeof msg,
			 strcmp(in->spec_primary, primary) == 0
			     ? "the initial primary"
			     : "recorded; the primary is %s",
			 primary);
		out->record =
		    json_pack("{s:s, s:s, s:s*, s:I, s:s, s:s}", "target",
			      in->spec_primary, "specPrimary", in->spec_primary,
			      "request", request, "generation",
			      (json_int_t)in->generation, "state", "Completed",
			      "message", msg);
		return;
	}
	/* A request is a new value of the annotation (any target, also the
	 * region spec.primaryRegion already names, e.g. to move back after
	 * a failover) or a changed spec.primaryRegion. */
	if (request != NULL && request[0] != '\0' &&
	    (old_request == NULL || strcmp(request, old_request) != 0)) {
		size_t n = strcspn(request, "/");
		snprintf(req_target, sizeof req_target, "%.*s",
			 (int)(n < sizeof req_target ? n : 0), request);
		target = req_target;
	} else if (strcmp(in->spec_primary, old_spec ? old_spec : old_target) !=
		   0) {
		target = in->spec_primary;
	}
	if (target == NULL) {
		target = old_target; /* no new request: follow the last */
	}
	t = baton_fsm_region_index(st, target);
	if (target == old_target) {
		/* a refusal here can be overtaken by the leader's decision
		 * (this region's view of health and lag may lag behind) */
		if (strcmp(old_state, "Completed") == 0 ||
		    (strcmp(old_state, "Refused") == 0 &&
		     strcmp(primary, target) != 0)) {
			out->record = json_incref(old);
			return;
		}
		if (strcmp(primary, target) == 0) {
			out->record = sw_record(old, "Completed",
						"the primary is in the "
						"requested region");
			json_object_set_new(out->record, "completedAt",
					    json_string(in->now));
			snprintf(msg, sizeof msg,
				 "%s is the primary at epoch %llu, as "
				 "requested",
				 target, (unsigned long long)st->epoch);
			event(out, "Normal", "SwitchoverCompleted", msg);
			return;
		}
		if (t < 0) {
			out->record = json_incref(old);
			return;
		}
		out->record = sw_progress(in, t, old, out);
		out->requeue = true;
		return;
	}
	/* a new request ("request" only with the annotation's value: a null
	 * in the status would be a merge patch's deletion, and the status
	 * the server keeps would not be the one computed, issue 20) */
	rec = json_pack("{s:s, s:s, s:s*, s:I, s:s}", "target", target,
			"specPrimary", in->spec_primary, "request", request,
			"generation", (json_int_t)in->generation, "startedAt",
			in->now);
	if (strcmp(primary, target) == 0) {
		out->record =
		    sw_record(rec, "Completed", "already the primary");
		json_decref(rec);
		return;
	}
	if (t >= 0 && st->regions[t].role == BATON_ROLE_DATA) {
		snprintf(msg, sizeof msg, "switchover to %s requested", target);
		event(out, "Normal", "SwitchoverStarted", msg);
		out->record = sw_progress(in, t, rec, out);
		json_decref(rec);
		out->requeue = true;
		return;
	}
	snprintf(msg, sizeof msg, "%s is not a data region of this database",
		 target);
	event(out, "Warning", "SwitchoverRefused", msg);
	out->record = sw_record(rec, "Refused", msg);
	json_decref(rec);
}
