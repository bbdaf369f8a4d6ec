#include "batond/status.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "batond/children.h"
#include "common/labels.h"

/* Appends a condition, keeping the old lastTransitionTime when the status
 * is unchanged. */
static void condition(json_t *conds, json_t *old_conds, const char *type,
		      bool ok, const char *reason, const char *message,
		      int64_t generation, const char *now)
{
	const char *status = ok ? "True" : "False";
	const char *ltt = now;
	size_t i;
	json_t *c;

	json_array_foreach(old_conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		const char *l =
		    json_string_value(json_object_get(c, "lastTransitionTime"));
		if (t != NULL && strcmp(t, type) == 0 && s != NULL &&
		    strcmp(s, status) == 0 && l != NULL) {
			ltt = l;
		}
	}
	json_array_append_new(
	    conds, json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "type", type,
			     "status", status, "observedGeneration",
			     (json_int_t)generation, "lastTransitionTime", ltt,
			     "reason", reason, "message", message));
}

/* FIELD of the condition TYPE in CONDS, or NULL. */
static const char *cond_field(json_t *conds, const char *type,
			      const char *field)
{
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t != NULL && strcmp(t, type) == 0) {
			return json_string_value(json_object_get(c, field));
		}
	}
	return NULL;
}

/* The message of the condition TYPE, or "". */
static const char *cond_msg(json_t *conds, const char *type)
{
	const char *m = cond_field(conds, type, "message");
	return m ? m : "";
}

static bool cond_true(json_t *conds, const char *type)
{
	const char *s = cond_field(conds, type, "status");
	return s != NULL && strcmp(s, "True") == 0;
}

void baton_status_history(json_t *st, json_t *old)
{
	json_t *old_lf = json_object_get(old, "lastFailover");
	json_t *new_lf = json_object_get(st, "lastFailover");
	json_t *old_h = json_object_get(old, "history");
	json_t *h;
	size_t i;
	json_t *rec;

	if (!json_is_object(old_lf) || !json_is_object(new_lf) ||
	    json_equal(json_object_get(old_lf, "epoch"),
		       json_object_get(new_lf, "epoch"))) {
		if (json_is_array(old_h) && json_array_size(old_h) > 0) {
			json_object_set(st, "history", old_h);
		}
		return;
	}
	h = json_array();
	if (h == NULL) {
		return;
	}
	json_array_append(h, old_lf);
	json_array_foreach(old_h, i, rec)
	{
		if (json_array_size(h) >= BATON_STATUS_HISTORY) {
			break;
		}
		json_array_append(h, rec);
	}
	json_object_set_new(st, "history", h);
}

/* REGION's designation as the FSM has it, NULL: none known. */
static const struct baton_fsm_desig *desig_of(const struct baton_fsm_view *v,
					      const char *region)
{
	for (int i = 0; v != NULL && i < v->n_desig; i++) {
		if (strcmp(v->desig[i].region, region) == 0) {
			return &v->desig[i];
		}
	}
	return NULL;
}

static int lowest_bit(unsigned mask)
{
	for (int k = 0; k < 16; k++) {
		if (mask & (1u << k)) {
			return k;
		}
	}
	return -1;
}

/* O's designated (the pod the region would promote and the only one of it
 * in the synchronous set) and designation ({state, from, to}: Stable, or a
 * move in flight: Joining while both instances are listed, Leaving once
 * one of them left the list). Pod names by children.c's rule; nothing when
 * a name does not fit (it is never cut). */
static void set_designation(json_t *o, const char *db,
			    const struct baton_fsm_desig *d)
{
	char a[128], b[128];
	unsigned other = d->members & ~(1u << d->designated);
	const char *state = "Stable";
	json_t *g;

	if (baton_children_pod_name(db, d->region, d->designated, a,
				    sizeof a) == NULL) {
		return;
	}
	json_object_set_new(o, "designated", json_string(a));
	if (other != 0) {
		state = d->listed == d->members ? "Joining" : "Leaving";
	}
	g = json_pack("{s:s}", "state", state);
	if (other != 0 &&
	    baton_children_pod_name(db, d->region, lowest_bit(other), b,
				    sizeof b) != NULL) {
		json_object_set_new(g, "from", json_string(a));
		json_object_set_new(g, "to", json_string(b));
		/* given up: the joiner left the list, the old one stays */
		if (d->listed == (1u << d->designated)) {
			json_object_set_new(g, "givingUp", json_true());
		}
	}
	json_object_set_new(o, "designation", g);
}

json_t *baton_status_compute(const struct baton_status_input *in, json_t *old)
{
	json_t *old_conds = json_object_get(old, "conditions");
	json_t *st = json_object();
	json_t *conds = json_array();
	json_t *regions = json_array();
	const struct baton_fsm_view *fsm = in->fsm;
	char msg[512];
	char why[640];
	char not_ready[256] = "";
	char ready[32];
	int data = 0, data_ready = 0;
	bool all_ready;
	const char *phase;

	json_object_set_new(st, "observedGeneration",
			    json_integer(in->generation));

	/* per-region state */
	for (int i = 0; i < in->n_regions; i++) {
		const struct baton_region_obs *r = &in->regions[i];
		const struct baton_db_region *sr =
		    in->spec ? baton_dbspec_region(in->spec, r->name) : NULL;
		bool is_data = sr == NULL || sr->role == BATON_DB_REGION_DATA;
		bool ok = r->reachable && r->ready >= (r->replicas > 0 ? 1 : 0);
		json_t *o = json_pack("{s:s, s:b, s:b}", "name", r->name,
				      "ready", ok, "reachable", r->reachable);
		if (r->role != NULL) {
			json_object_set_new(o, "role", json_string(r->role));
		}
		if (r->lag_bytes >= 0) {
			json_object_set_new(o, "lagBytes",
					    json_integer(r->lag_bytes));
		}
		if (r->last_seen != NULL) {
			json_object_set_new(o, "lastSeen",
					    json_string(r->last_seen));
		}
		if (r->endpoint != NULL) {
			json_object_set_new(o, "endpoint",
					    json_string(r->endpoint));
		}
		if (r->instance_endpoint != NULL) {
			json_object_set_new(o, "instanceEndpoint",
					    json_string(r->instance_endpoint));
		}
		if (r->sync_standbys != NULL && r->sync_standbys[0] != '\0') {
			json_t *names = json_array();
			const char *p = r->sync_standbys;
			while (*p != '\0') {
				size_t len = strcspn(p, ",");
				json_array_append_new(names,
						      json_stringn(p, len));
				p += len + (p[len] == ',');
			}
			json_object_set_new(o, "syncStandbys", names);
		}
		if (is_data && in->spec != NULL &&
		    desig_of(fsm, r->name) != NULL) {
			set_designation(o, in->spec->name,
					desig_of(fsm, r->name));
		}
		json_array_append_new(regions, o);
		if (is_data) {
			data++;
			data_ready += ok;
			if (!ok) {
				size_t n = strlen(not_ready);
				snprintf(not_ready + n, sizeof not_ready - n,
					 "%s%s%s", n ? ", " : "", r->name,
					 r->reachable ? "" : " (unreachable)");
			}
		}
	}
	json_object_set_new(st, "regions", regions);
	snprintf(ready, sizeof ready, "%d/%d", data_ready, data);
	json_object_set_new(st, "ready", json_string(ready));
	all_ready = data > 0 && data_ready == data;

	if (fsm != NULL && fsm->registered && fsm->primary_region != NULL) {
		json_object_set_new(st, "primaryRegion",
				    json_string(fsm->primary_region));
		json_object_set_new(st, "epoch",
				    json_integer((json_int_t)fsm->epoch));
	}
	if (fsm != NULL && fsm->registered) {
		/* the mode in force (Raft), which may still differ from a
		 * spec edited a moment ago */
		json_object_set_new(
		    st, "failoverMode",
		    json_string(fsm->automatic ? "automatic" : "manual"));
	}
	if (fsm != NULL && fsm->last_failover != NULL) {
		json_t *lf = json_loads(fsm->last_failover, 0, NULL);
		if (lf != NULL) {
			json_object_set_new(st, "lastFailover", lf);
		}
	}

	/* conditions and phase; the order of the tests is the priority */
	condition(conds, old_conds, "SpecValid", in->spec_error == NULL,
		  in->spec_error ? "InvalidSpec" : "Valid",
		  in->spec_error ? in->spec_error : "the spec can be served",
		  in->generation, in->now);
	if (fsm == NULL || !fsm->quorum) {
		condition(conds, old_conds, "Consensus", false, "NoQuorum",
			  "this region's batond cannot reach a Raft majority: "
			  "no failover decision can be made, and a primary "
			  "here fences itself when its lease ends",
			  in->generation, in->now);
	} else {
		condition(conds, old_conds, "Consensus", true, "Quorum",
			  "a Raft majority is reachable", in->generation,
			  in->now);
	}
	if (fsm != NULL && fsm->registered && fsm->primary_region != NULL) {
		snprintf(msg, sizeof msg, "the primary is in %s at epoch %llu",
			 fsm->primary_region, (unsigned long long)fsm->epoch);
		condition(conds, old_conds, "PrimaryElected", true, "Committed",
			  msg, in->generation, in->now);
	} else {
		condition(conds, old_conds, "PrimaryElected", false,
			  fsm && fsm->registered ? "NoPrimary"
						 : "NotRegistered",
			  fsm && fsm->registered
			      ? "no region holds the primary: waiting for a "
				"committed promote"
			      : "the database is not registered with the "
				"Raft group yet",
			  in->generation, in->now);
	}
	condition(conds, old_conds, "TrafficRouted", in->mesh_error == NULL,
		  in->mesh_error ? "MeshUnavailable" : "Routed",
		  in->mesh_error ? in->mesh_error
				 : "routing objects match the primary",
		  in->generation, in->now);
	snprintf(msg, sizeof msg, "%d of %d data regions ready", data_ready,
		 data);
	condition(conds, old_conds, "Ready",
		  all_ready && in->spec_error == NULL && fsm != NULL &&
		      fsm->registered && fsm->primary_region != NULL,
		  all_ready ? "AllRegionsReady" : "RegionsNotReady", msg,
		  in->generation, in->now);
	if (fsm != NULL && fsm->registered && fsm->primary_region != NULL) {
		if (fsm->primary_lost) {
			snprintf(
			    msg, sizeof msg,
			    fsm->automatic
				? "the lease of the primary in %s expired; "
				  "no region is eligible for promotion yet "
				  "(healthy, within maxLagBytes, a "
				  "synchronous standby in synchronous mode)"
				: "the lease of the primary in %s expired "
				  "and failover is manual: promote a region "
				  "with `batonctl switchover NS/NAME REGION` "
				  "(or the "
				  "annotation " BATON_ANNOTATION_SWITCHOVER
				  "=REGION in every region)",
			    fsm->primary_region);
		}
		condition(
		    conds, old_conds, "PrimaryAvailable", !fsm->primary_lost,
		    fsm->primary_lost ? "LeaseExpired" : "LeaseHeld",
		    fsm->primary_lost ? msg
				      : "the primary region holds its lease",
		    in->generation, in->now);
	}
	if (fsm != NULL && fsm->registered && fsm->primary_region != NULL) {
		bool waiting = fsm->blocked != NULL &&
			       strcmp(fsm->blocked, "WaitingForStandby") == 0;
		if (waiting) {
			snprintf(msg, sizeof msg,
				 "failing over from %s: waiting for region %s "
				 "to stop streaming and report where its WAL "
				 "ends (synchronous mode promotes only once "
				 "every standby has, so that no acknowledged "
				 "write is lost)",
				 fsm->primary_region,
				 fsm->blocked_region ? fsm->blocked_region
						     : "?");
		} else if (fsm->blocked != NULL) {
			snprintf(msg, sizeof msg,
				 "the primary in %s is lost and no region can "
				 "take over: none is a healthy data region "
				 "that reported in epoch %llu (within "
				 "maxLagBytes in asynchronous mode)",
				 fsm->primary_region,
				 (unsigned long long)fsm->epoch);
		}
		condition(conds, old_conds, "FailoverBlocked",
			  fsm->blocked != NULL,
			  fsm->blocked != NULL ? fsm->blocked : "NotBlocked",
			  fsm->blocked != NULL
			      ? msg
			      : "no failover is due, or it can proceed",
			  in->generation, in->now);
	}
	if (in->switchover != NULL) {
		const char *state =
		    json_string_value(json_object_get(in->switchover, "state"));
		json_object_set(st, "switchover", in->switchover);
		if (state != NULL && strcmp(state, "Completed") != 0) {
			const char *m = json_string_value(
			    json_object_get(in->switchover, "message"));
			condition(conds, old_conds, "SwitchoverAccepted",
				  strcmp(state, "Refused") != 0, state,
				  m ? m : state, in->generation, in->now);
		}
	}
	if (in->deleting) {
		condition(conds, old_conds, "Deleting", true, "Teardown",
			  in->deleting_waiting_for
			      ? in->deleting_waiting_for
			      : "removing routing, data and registration",
			  in->generation, in->now);
	}

	if (in->deleting) {
		phase = "Deleting";
	} else if (in->spec_error != NULL) {
		phase = "Pending";
	} else if (fsm == NULL || !fsm->registered ||
		   fsm->primary_region == NULL) {
		phase = "Provisioning";
	} else if (fsm->phase != NULL &&
		   strcmp(fsm->phase, "FailingOver") == 0) {
		phase = "FailingOver";
	} else if (fsm->primary_lost) {
		phase = "Degraded";
	} else if (fsm->phase != NULL &&
		   (strcmp(fsm->phase, "FailingOver") == 0 ||
		    strcmp(fsm->phase, "SwitchingOver") == 0 ||
		    strcmp(fsm->phase, "Fenced") == 0)) {
		phase = fsm->phase;
	} else {
		phase = all_ready ? "Healthy" : "Degraded";
	}
	json_object_set_new(st, "phase", json_string(phase));

	/* phaseReason: the phase in one sentence, from the condition that
	 * decided it (kubectl get -o wide, batonctl status) */
	why[0] = '\0';
	if (strcmp(phase, "Deleting") == 0) {
		snprintf(why, sizeof why, "%s", cond_msg(conds, "Deleting"));
	} else if (strcmp(phase, "Pending") == 0) {
		snprintf(why, sizeof why, "%s", cond_msg(conds, "SpecValid"));
	} else if (strcmp(phase, "Provisioning") == 0) {
		snprintf(why, sizeof why, "%s",
			 cond_msg(conds, cond_true(conds, "Consensus")
					     ? "PrimaryElected"
					     : "Consensus"));
	} else if (cond_true(conds, "FailoverBlocked")) {
		snprintf(why, sizeof why, "%s",
			 cond_msg(conds, "FailoverBlocked"));
	} else if (strcmp(phase, "FailingOver") == 0) {
		snprintf(why, sizeof why,
			 "the primary in %s lost its lease: promoting "
			 "another region",
			 fsm->primary_region);
	} else if (fsm->primary_lost) {
		snprintf(why, sizeof why, "%s",
			 cond_msg(conds, "PrimaryAvailable"));
	} else if (strcmp(phase, "SwitchingOver") == 0 ||
		   strcmp(phase, "Fenced") == 0) {
		const char *m =
		    cond_field(conds, "SwitchoverAccepted", "message");
		snprintf(why, sizeof why, "%s",
			 m ? m : "a planned switchover is in progress");
	} else if (all_ready) {
		snprintf(why, sizeof why,
			 "the primary is in %s at epoch %llu; %d of %d data "
			 "regions ready",
			 fsm->primary_region, (unsigned long long)fsm->epoch,
			 data_ready, data);
	} else {
		snprintf(why, sizeof why,
			 "%d of %d data regions ready; not ready: %s",
			 data_ready, data, not_ready[0] ? not_ready : "none");
	}
	json_object_set_new(st, "phaseReason", json_string(why));
	if (fsm != NULL && fsm->registered && fsm->primary_lost) {
		/* when the primary's lease was first seen expired here: the
		 * PrimaryAvailable condition's transition */
		const char *since =
		    cond_field(conds, "PrimaryAvailable", "lastTransitionTime");
		if (since != NULL) {
			json_object_set_new(st, "primaryFailingSince",
					    json_string(since));
		}
	}
	json_object_set_new(st, "conditions", conds);
	return st;
}

static json_t *region_named(json_t *status, const char *name)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(status, "regions"), i, r)
	{
		const char *n = json_string_value(json_object_get(r, "name"));
		if (n != NULL && strcmp(n, name) == 0) {
			return r;
		}
	}
	return NULL;
}

static const char *field(json_t *o, const char *key, const char *sub)
{
	json_t *v = json_object_get(o, key);
	return json_string_value(sub != NULL ? json_object_get(v, sub) : v);
}

void baton_status_designation_events(json_t *old, json_t *st,
				     void (*emit)(void *data, const char *type,
						  const char *reason,
						  const char *message),
				     void *data)
{
	size_t i;
	json_t *now;
	char msg[512];

	if (old == NULL) {
		return;
	}
	json_array_foreach(json_object_get(st, "regions"), i, now)
	{
		const char *name = field(now, "name", NULL);
		json_t *before = region_named(old, name != NULL ? name : "");
		const char *d_now = field(now, "designated", NULL);
		const char *d_before = field(before, "designated", NULL);
		const char *s_now = field(now, "designation", "state");
		const char *s_before = field(before, "designation", "state");
		const char *to = field(now, "designation", "to");
		bool up_now = json_is_true(json_object_get(
		    json_object_get(now, "designation"), "givingUp"));
		bool up_before = json_is_true(json_object_get(
		    json_object_get(before, "designation"), "givingUp"));

		if (name == NULL || before == NULL || d_now == NULL) {
			continue;
		}
		if (s_now != NULL && strcmp(s_now, "Joining") == 0 &&
		    (s_before == NULL || strcmp(s_before, "Stable") == 0)) {
			snprintf(msg, sizeof msg,
				 "region %s: %s joins the synchronous set "
				 "beside %s (designated); it becomes the "
				 "designated instance once it has flushed "
				 "every commit %s may have acknowledged",
				 name, to != NULL ? to : "?", d_now, d_now);
			emit(data, "Normal", "DesignationStarted", msg);
		}
		if (up_now && !up_before) {
			snprintf(msg, sizeof msg,
				 "region %s: %s did not catch up and leaves "
				 "the synchronous set again; %s stays "
				 "designated",
				 name, to != NULL ? to : "?", d_now);
			emit(data, "Warning", "DesignationStalled", msg);
		}
		if (d_before != NULL && strcmp(d_before, d_now) != 0) {
			snprintf(msg, sizeof msg,
				 "region %s: %s is the designated instance "
				 "(was %s)",
				 name, d_now, d_before);
			emit(data, "Normal", "DesignationCompleted", msg);
		}
	}
}
