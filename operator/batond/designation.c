/* batond's view for the designation: see designation.h. The filler reads
 * only what agents.c reads of the same objects (its serving, position and
 * follows_epoch helpers), so the designation cannot judge an agent
 * otherwise than the report and the orders do. */
#include "batond/designation.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "batond/agents.h"
#include "batond/children.h"
#include "batond/dbspec.h"
#include "batond/hold.h"
#include "common/assert.h"
#include "common/clock.h"
#include "kube/informer.h"

static const char *sget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The cluster's name in the FSM's "ns/cluster". */
static const char *cluster_of(const char *db)
{
	const char *slash = strchr(db, '/');

	return slash != NULL ? slash + 1 : db;
}

/* NOW's clock at the wall time T_MS: NOW - (wall now - T), within [0, NOW].
 * A time ahead of the wall clock is now. */
static uint64_t mono_at(const struct baton_designation_view *v, int64_t t_ms)
{
	int64_t ago = v->now_wall_ms - t_ms;

	if (ago <= 0) {
		return v->now;
	}
	return (uint64_t)ago >= v->now ? 0 : v->now - (uint64_t)ago;
}

/* The RFC 3339 time TS in ms since 1970: true, or false when absent or
 * malformed. */
static bool wall_ms(const char *ts, int64_t *out)
{
	time_t t;

	if (ts == NULL || baton_clock_parse_rfc3339(ts, &t) != 0) {
		return false;
	}
	*out = (int64_t)t * 1000;
	return true;
}

/* The first look's time in *SLOT (set now when 0). */
static uint64_t first_look(uint64_t *slot, uint64_t now)
{
	if (*slot == 0) {
		*slot = now != 0 ? now : 1;
	}
	return *slot;
}

/* POD's Ready condition: "True", "False", "Unknown", or NULL; *SINCE its
 * lastTransitionTime (NULL when absent). */
static const char *ready_condition(json_t *pod, const char **since)
{
	size_t i;
	json_t *c;

	*since = NULL;
	json_array_foreach(
	    json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
	{
		const char *t = sget(c, "type");
		if (t != NULL && strcmp(t, "Ready") == 0) {
			*since = sget(c, "lastTransitionTime");
			return sget(c, "status");
		}
	}
	return NULL;
}

/* Ordinal K of a standby region: the pod row and the agent row of §3.7. */
static void fill_pod(const struct baton_designation_view *v,
		     struct baton_designation_memory *mem,
		     const struct baton_db_state *st, int k,
		     struct baton_designate_pod *out)
{
	const struct baton_designation_pod *p = &v->pods[k];
	json_t *md = json_object_get(p->pod, "metadata");
	json_t *s = p->status;
	const char *del, *phase, *ready, *since, *role, *up;
	char reason[BATON_HOLD_REASON_SIZE];
	int64_t t;

	memset(out, 0, sizeof *out);
	out->exists = k < v->replicas;
	out->held =
	    p->pod != NULL && baton_hold_of_pod(p->pod, reason, sizeof reason);
	if (p->pod == NULL) {
		/* deleted and not recreated, or never created: since the
		 * first look without it */
		out->gone = true;
		out->gone_since_ms = first_look(&mem->missing_ms[k], v->now);
		mem->failed_ms[k] = mem->unknown_ms[k] = mem->deleted_ms[k] = 0;
	} else {
		mem->missing_ms[k] = 0;
		del = sget(md, "deletionTimestamp");
		if (del != NULL) {
			/* deletionTimestamp is the deletion's time plus its
			 * grace period: the deletion was asked that much
			 * earlier */
			json_t *grace =
			    json_object_get(md, "deletionGracePeriodSeconds");
			out->gone = true;
			if (wall_ms(del, &t)) {
				if (json_is_integer(grace) &&
				    json_integer_value(grace) > 0) {
					t -= json_integer_value(grace) * 1000;
				}
				out->gone_since_ms = mono_at(v, t);
			} else {
				out->gone_since_ms =
				    first_look(&mem->deleted_ms[k], v->now);
			}
		} else {
			mem->deleted_ms[k] = 0;
		}
		/* the phase has no time of its own */
		phase = sget(json_object_get(p->pod, "status"), "phase");
		if (phase != NULL && strcmp(phase, "Failed") == 0) {
			out->failed = true;
			out->failed_since_ms =
			    first_look(&mem->failed_ms[k], v->now);
		} else {
			mem->failed_ms[k] = 0;
		}
		ready = ready_condition(p->pod, &since);
		out->ready = ready != NULL && strcmp(ready, "True") == 0;
		if (ready != NULL && strcmp(ready, "Unknown") == 0) {
			/* the node controller set it when the node stopped
			 * reporting: that is when it was lost */
			out->ready_unknown = true;
			out->unknown_since_ms =
			    wall_ms(since, &t)
				? mono_at(v, t)
				: first_look(&mem->unknown_ms[k], v->now);
		} else {
			mem->unknown_ms[k] = 0;
		}
	}
	if (s == NULL) {
		out->status_age_ms = BATON_DESIGNATE_NO_STATUS;
		return;
	}
	out->status_age_ms = v->now > p->status_ms ? v->now - p->status_ms : 0;
	out->serving = baton_agents_serving(s);
	out->follows_epoch = baton_agents_follows_epoch(s);
	role = sget(s, "role");
	up = sget(s, "upstream");
	out->upstream_primary = role != NULL && strcmp(role, "replica") == 0 &&
				up != NULL &&
				((v->primary_instance != NULL &&
				  strcmp(up, v->primary_instance) == 0) ||
				 (v->primary_endpoint != NULL &&
				  strcmp(up, v->primary_endpoint) == 0));
	{
		/* behind the primary region's last reported position, as the
		 * decider measures lag */
		uint64_t have = baton_agents_position(s);
		uint64_t pos =
		    st->primary >= 0 && (unsigned)st->primary < st->n_regions
			? st->regions[st->primary].position
			: 0;
		out->lag_bytes = pos > have ? pos - have : 0;
	}
}

/* The standby region and ordinal of application_name NAME in ST's
 * database: true and *REGION, *ORDINAL set, or false when it names no pod
 * of a data region other than the primary (the naming rule is the pods',
 * baton_children_pod_name(); case does not matter, as for PostgreSQL). */
static bool standby_slot(const struct baton_db_state *st, const char *name,
			 int *region, int *ordinal)
{
	int k = baton_agents_ordinal(name);
	char pod[BATON_NAME_SIZE * 2];

	if (k < 0 || k >= BATON_ORDINALS) {
		return false;
	}
	for (int i = 0; i < (int)st->n_regions; i++) {
		if (i == st->primary ||
		    st->regions[i].role != BATON_ROLE_DATA ||
		    baton_children_pod_name(cluster_of(st->name),
					    st->regions[i].name, k, pod,
					    sizeof pod) == NULL) {
			continue;
		}
		if (strcasecmp(pod, name) == 0) {
			*region = i;
			*ordinal = k;
			return true;
		}
	}
	return false;
}

/* The primary's agent: its last answer, and its last status's standby
 * rows (walsenders in `standbys`, quorum in `syncStandbys`: under
 * 'ANY 1 (...)' every synchronous standby is 'quorum', and the flush
 * positions in `standbyFlushPositions`). */
static void fill_primary(const struct baton_designation_view *v,
			 const struct baton_db_state *st,
			 struct baton_designate_primary *out)
{
	const struct baton_designation_primary *p = &v->primary;
	json_t *s = p->status, *n, *e;
	const char *role = sget(s, "role"), *name;
	size_t j;
	int i, k;

	memset(out, 0, sizeof *out);
	out->answer = p->answer;
	out->answer_epoch = p->answer_epoch;
	out->answer_gen = p->answer_gen;
	out->answer_x = p->answer_x;
	out->answer_ms = p->answer_ms;
	e = json_object_get(s, "primaryEpoch");
	if (s == NULL || role == NULL || strcmp(role, "primary") != 0 ||
	    !json_is_integer(e) || json_integer_value(e) < 1) {
		return; /* not a primary's status: no rows */
	}
	out->status = true;
	out->status_epoch = (uint64_t)json_integer_value(e);
	out->status_ms = p->status_ms;
	json_array_foreach(json_object_get(s, "standbys"), j, n)
	{
		if ((name = json_string_value(n)) != NULL &&
		    standby_slot(st, name, &i, &k)) {
			out->standby[i][k].walsender = true;
		}
	}
	json_array_foreach(json_object_get(s, "syncStandbys"), j, n)
	{
		if ((name = json_string_value(n)) != NULL &&
		    standby_slot(st, name, &i, &k)) {
			out->standby[i][k].walsender = true;
			out->standby[i][k].quorum = true;
		}
	}
	json_object_foreach(json_object_get(s, "standbyFlushPositions"), name,
			    n)
	{
		if (json_is_integer(n) && json_integer_value(n) >= 0 &&
		    standby_slot(st, name, &i, &k)) {
			out->standby[i][k].walsender = true;
			out->standby[i][k].flush =
			    (uint64_t)json_integer_value(n);
		}
	}
}

void baton_designation_fill(const struct baton_designation_view *v,
			    struct baton_designation_memory *mem,
			    struct baton_designate_input *in)
{
	const struct baton_db_state *st = in->st;

	BATON_ASSERT(st != NULL && in->me >= 0 &&
		     (unsigned)in->me < st->n_regions);
	in->redesignate_after_ms = v->redesignate_after_ms;
	in->max_lag_bytes = v->max_lag_bytes;
	memset(in->pods, 0, sizeof in->pods);
	memset(&in->primary, 0, sizeof in->primary);
	if (in->me == st->primary ||
	    st->regions[in->me].role != BATON_ROLE_DATA) {
		/* the first looks are a standby's; ones from before a term as
		 * the primary would date a pod missing again since long ago */
		memset(mem, 0, sizeof *mem);
		if (in->me == st->primary) {
			fill_primary(v, st, &in->primary);
		}
		return;
	}
	for (int k = 0; k < BATON_ORDINALS; k++) {
		fill_pod(v, mem, st, k, &in->pods[k]);
	}
}

/* ---- the glue ------------------------------------------------------------ */

/* a record not asked for this long is dropped (its database is gone, or
 * this region stopped holding data for it): its memory only ever made a
 * designation wait, so forgetting it is safe */
#define SWEEP_MS 60000

struct designation_db {
	char db[BATON_NAME_SIZE];
	uint64_t used_ms;
	/* the spec's fields, for this object and generation */
	char uid[64];
	json_int_t generation;
	char region[BATON_NAME_SIZE];
	bool spec_ok;
	int replicas;
	uint32_t after_ms;
	uint64_t max_lag;
	struct baton_designation_memory mem;
};

void baton_designation_init(struct baton_designation *d)
{
	memset(d, 0, sizeof *d);
	baton_index_init(&d->dbs, sizeof(struct designation_db),
			 offsetof(struct designation_db, db),
			 sizeof(((struct designation_db *)0)->db),
			 BATON_MAX_DATABASES);
}

void baton_designation_free(struct baton_designation *d)
{
	baton_index_free(&d->dbs);
}

static bool recent(const void *item, void *data)
{
	const struct designation_db *r = item;
	uint64_t now = *(const uint64_t *)data;

	return now < r->used_ms || now - r->used_ms < SWEEP_MS;
}

/* R's spec fields from OBJ for REGION, parsed once per object generation
 * (a parse per database and tick is what note 23 took out of agents.c). */
static bool spec_fields(struct designation_db *r, json_t *obj,
			const char *region)
{
	json_t *md = json_object_get(obj, "metadata");
	const char *uid = sget(md, "uid");
	json_int_t gen = json_integer_value(json_object_get(md, "generation"));
	struct baton_dbspec spec;
	const struct baton_db_region *reg;
	char errmsg[BATON_ERRMSG_SIZE];

	if (uid != NULL && r->uid[0] != '\0' && strcmp(uid, r->uid) == 0 &&
	    gen == r->generation && strcmp(region, r->region) == 0) {
		return r->spec_ok;
	}
	r->spec_ok = baton_dbspec_parse(obj, &spec, errmsg) == 0;
	if (r->spec_ok) {
		reg = baton_dbspec_region(&spec, region);
		r->replicas = reg != NULL ? reg->replicas : 0;
		r->after_ms = (uint32_t)spec.redesignate_after_seconds * 1000u;
		r->max_lag =
		    spec.max_lag_bytes > 0 ? (uint64_t)spec.max_lag_bytes : 0;
	}
	snprintf(r->uid, sizeof r->uid, "%s", uid != NULL ? uid : "");
	r->generation = gen;
	snprintf(r->region, sizeof r->region, "%s", region);
	return r->spec_ok;
}

/* KEY ("ns/pod") of ordinal K of REGION in DB; false if it does not fit. */
static bool pod_key(const char *db, const char *region, int k, char *key,
		    size_t size)
{
	const char *slash = strchr(db, '/');
	char name[BATON_NAME_SIZE * 2];
	int n;

	if (slash == NULL || baton_children_pod_name(slash + 1, region, k, name,
						     sizeof name) == NULL) {
		return false;
	}
	n = snprintf(key, size, "%.*s/%s", (int)(slash - db), db, name);
	return n > 0 && (size_t)n < size;
}

bool baton_designation_designate(struct baton_designation *d,
				 struct baton_agents *a, const char *db,
				 struct baton_designate_input *in, uint64_t now)
{
	const struct baton_db_state *st = in->st;
	const struct baton_agents_env *env;
	struct baton_designation_view v;
	struct designation_db *r;
	struct baton_agents_seen seen;
	const char *region;
	char key[BATON_NAME_SIZE * 3];
	json_t *obj;
	int me = in->me;

	if (a == NULL || st == NULL || me < 0 ||
	    (unsigned)me >= st->n_regions) {
		return false;
	}
	env = baton_agents_env(a);
	if (env == NULL || env->dbcs == NULL || env->pods == NULL ||
	    (obj = baton_kube_informer_get(env->dbcs, db)) == NULL) {
		return false;
	}
	if (now - d->swept_ms >= SWEEP_MS) {
		d->swept_ms = now;
		baton_index_retain(&d->dbs, recent, &now);
	}
	r = baton_index_get(&d->dbs, db);
	if (r == NULL && baton_index_add(&d->dbs, db, (void **)&r) != 0) {
		return false; /* at the cap, or out of memory: next tick */
	}
	r->used_ms = now;
	region = st->regions[me].name;
	if (!spec_fields(r, obj, region)) {
		return false;
	}
	memset(&v, 0, sizeof v);
	v.replicas = r->replicas;
	v.redesignate_after_ms = r->after_ms;
	v.max_lag_bytes = r->max_lag;
	v.now = now;
	v.now_wall_ms = baton_realtime_ms();
	if (me == st->primary) {
		if (pod_key(db, region, st->regions[me].designated, key,
			    sizeof key) &&
		    baton_agents_seen(a, key, &seen)) {
			v.primary.status = seen.status;
			v.primary.status_ms = seen.status_ms;
			v.primary.answer = seen.answer;
			v.primary.answer_epoch = seen.answer_epoch;
			v.primary.answer_gen = seen.answer_gen;
			v.primary.answer_x = seen.answer_x;
			v.primary.answer_ms = seen.answer_ms;
		}
	} else if (st->primary >= 0 && (unsigned)st->primary < st->n_regions) {
		const char *slash = strchr(db, '/');
		char ns[BATON_NAME_SIZE];
		const char *pr = st->regions[st->primary].name;

		snprintf(ns, sizeof ns, "%.*s",
			 slash != NULL ? (int)(slash - db) : 0, db);
		if (env->peer_instance_endpoint != NULL) {
			v.primary_instance = env->peer_instance_endpoint(
			    baton_agents_peer_data(env), ns, cluster_of(db),
			    pr);
		}
		if (env->peer_endpoint != NULL) {
			v.primary_endpoint =
			    env->peer_endpoint(baton_agents_peer_data(env), ns,
					       cluster_of(db), pr);
		}
		for (int k = 0; k < BATON_ORDINALS; k++) {
			/* only what the designation can read: the
			 * StatefulSet's ordinals and the designated one */
			if ((k >= r->replicas &&
			     k != (int)st->regions[me].designated) ||
			    !pod_key(db, region, k, key, sizeof key)) {
				continue;
			}
			v.pods[k].pod = baton_kube_informer_get(env->pods, key);
			if (baton_agents_seen(a, key, &seen)) {
				v.pods[k].status = seen.status;
				v.pods[k].status_ms = seen.status_ms;
			}
		}
	}
	baton_designation_fill(&v, &r->mem, in);
	return true;
}
