#include "batond/controller.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batond/agentpeers.h"
#include "batond/agents.h"
#include "batond/cachefields.h"
#include "batond/fsmsync.h"
#include "batond/fsmview.h"
#include "batond/labels.h"
#include "batond/lastfailover.h"
#include "batond/peerfence.h"
#include "batond/peerwatch.h"
#include "batond/children.h"
#include "batond/events.h"
#include "batond/reconcile.h"
#include "batond/statusecho.h"
#include "batond/switchover.h"
#include "batond/syncset.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/failpoint.h"
#include "common/labels.h"
#include "common/log.h"
#include "http/metrics.h"
#include "kube/informer.h"
#include "kube/leaderelection.h"
#include "kube/workqueue.h"

static void maybe_stopped(struct baton_controller *c);
static void informer_closed_cb(struct baton_kube_informer *inf);
static void timer_closed_cb(uv_handle_t *h);
static void agents_stopped_cb(struct baton_agents *a);
static void queue_closed_cb(struct baton_kube_workqueue *q);
static void init_failed_cb(struct baton_controller *c);

/* "ns/name" into KEY, the database's name in the Raft FSM (and in
 * c->dbstate). dbspec_parse refuses longer ones, so this never truncates
 * (two databases must never share a truncated name). Returns KEY. */
static const char *db_key(const char *ns, const char *name,
			  char key[BATON_NAME_SIZE])
{
	size_t n = strlen(ns), m = strlen(name);
	if (NEVER(n + 1 + m >= BATON_NAME_SIZE)) {
		key[0] = '\0';
		return key;
	}
	memcpy(key, ns, n);
	key[n] = '/';
	memcpy(key + n + 1, name, m + 1);
	return key;
}

/* ---- the environment of the reconcile jobs ------------------------------ */

static void env_fsm_view(void *data, const struct baton_dbspec *spec,
			 struct baton_fsm_view *out)
{
	struct baton_controller *c = data;
	const struct baton_db_state *st = NULL;
	char db[BATON_NAME_SIZE];
	bool quorum = false, lost = false;

	if (c->consensus != NULL) {
		st = c->consensus->db(c->consensus->data,
				      db_key(spec->ns, spec->name, db));
		quorum = c->consensus->quorum(c->consensus->data);
		lost = st != NULL && c->consensus->primary_lost != NULL &&
		       c->consensus->primary_lost(c->consensus->data, st->name);
	}
	/* the record's copy of the primary's name; the FSM's own if there
	 * is no record */
	baton_fsmview_fill(
	    st, quorum, lost,
	    st != NULL && st->primary >= 0 &&
		    (unsigned)st->primary < st->n_regions
		? baton_dbstate_primary(&c->dbstate, db,
					st->regions[st->primary].name)
		: NULL,
	    out);
}

static int env_register(void *data, const struct baton_dbspec *spec)
{
	struct baton_controller *c = data;
	struct baton_cmd cmd;
	char db[BATON_NAME_SIZE];
	const char *key = db_key(spec->ns, spec->name, db);
	const struct baton_db_state *st;
	uint32_t drift = c->cc.cfg->drift_percent * 10000;

	if (c->consensus == NULL) {
		return BATON_ECONN;
	}
	/* Every region sees the same DatabaseCluster; only the leader
	 * proposes, the others wait for the committed entry. */
	st = c->consensus->db(c->consensus->data, key);
	if (st != NULL) {
		/* failover settings edited on a live database (fsmsync.h) */
		if (c->consensus->leader(c->consensus->data) &&
		    baton_fsmsync_config(spec, st, drift, c->cc.cfg->margin_ms,
					 &cmd)) {
			c->consensus->propose(c->consensus->data, &cmd);
		}
		return 0;
	}
	if (!c->consensus->leader(c->consensus->data)) {
		return BATON_EBUSY;
	}
	baton_fsmsync_register(spec, key, drift, c->cc.cfg->margin_ms, &cmd);
	return c->consensus->propose(c->consensus->data, &cmd);
}

static int env_unregister(void *data, const struct baton_dbspec *spec)
{
	struct baton_controller *c = data;
	struct baton_cmd cmd;
	char db[BATON_NAME_SIZE];
	const char *key = db_key(spec->ns, spec->name, db);
	int rv;

	if (c->consensus == NULL || !c->consensus->quorum(c->consensus->data)) {
		return BATON_ECONN;
	}
	if (c->consensus->db(c->consensus->data, key) == NULL) {
		return 0;
	}
	if (!c->consensus->leader(c->consensus->data)) {
		return BATON_EBUSY;
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.type = BATON_CMD_REMOVE;
	snprintf(cmd.db, sizeof cmd.db, "%s", key);
	rv = c->consensus->propose(c->consensus->data, &cmd);
	return rv != 0 ? rv : BATON_EBUSY; /* done once applied */
}

static void agents_changed(void *data, const char *db)
{
	baton_controller_fsm_changed(data, db);
}

static void env_event(void *data, json_t *obj, const char *type,
		      const char *reason, const char *message);

static void agents_event(void *data, const char *db, const char *type,
			 const char *reason, const char *message)
{
	struct baton_controller *c = data;
	json_t *obj = baton_kube_informer_get(&c->dbcs, db);
	if (obj != NULL) {
		env_event(c, obj, type, reason, message);
	}
}

static int env_observe(void *data, const struct baton_dbspec *spec,
		       struct baton_region_obs *obs, int max)
{
	struct baton_controller *c = data;
	const char *region = c->cc.cfg->region;
	int n = 0;
	char db[BATON_NAME_SIZE];
	const struct baton_dbrec *rec;

	db_key(spec->ns, spec->name, db);
	rec = baton_dbstate_get(&c->dbstate, db);

	for (int i = 0; i < spec->n_regions && n < max; i++) {
		struct baton_region_obs *o = &obs[n++];
		memset(o, 0, sizeof *o);
		o->name = spec->regions[i].name;
		o->lag_bytes = -1;
		o->replicas = spec->regions[i].replicas;
		o->role = spec->regions[i].role == BATON_DB_REGION_WITNESS
			      ? "witness"
			      : NULL;
		if (strcmp(o->name, region) != 0) {
			baton_peerwatch_observe(&c->peers, spec, o);
			continue;
		}
		o->reachable = true;
		o->endpoint = baton_agents_endpoint(c->agents, db);
		o->sync_standbys = baton_agents_sync_standbys(c->agents, db);
		o->instance_endpoint =
		    baton_agents_instance_endpoint(c->agents, db);
		/* the database's own pods (the index), not every cached pod */
		for (unsigned p = 0; rec != NULL && p < rec->n_pods; p++) {
			json_t *pod =
			    baton_kube_informer_get(&c->pods, rec->pods[p]);
			json_t *md = json_object_get(pod, "metadata");
			json_t *labels = json_object_get(md, "labels");
			const char *cl = json_string_value(
			    json_object_get(labels, BATON_LABEL_CLUSTER));
			const char *ns =
			    json_string_value(json_object_get(md, "namespace"));
			if (cl == NULL || ns == NULL ||
			    strcmp(cl, spec->name) != 0 ||
			    strcmp(ns, spec->ns) != 0) {
				continue;
			}
			if (json_string_value(json_object_get(
				labels, BATON_LABEL_ROLE)) != NULL &&
			    strcmp(json_string_value(json_object_get(
				       labels, BATON_LABEL_ROLE)),
				   "primary") == 0) {
				o->role = "primary";
			} else if (o->role == NULL) {
				o->role = "replica";
			}
			if (baton_agents_pod_ready(pod)) {
				o->ready++;
			}
		}
	}
	return n;
}

/* From the last discovery (GET /apis, refreshed every 30 s). Before the
 * first answer nothing optional is served: routing falls back to plain
 * Services with a condition, and every database is reconciled again when
 * the answer arrives. */
static bool env_api_served(void *data, const char *gv)
{
	struct baton_controller *c = data;
	return c->served != NULL && json_object_get(c->served, gv) != NULL;
}

static void discovery_cb(struct baton_kube_request *req, int status);

static void discover(struct baton_controller *c)
{
	if (c->discovery_pending || c->stopping) {
		return;
	}
	c->discovery_req.data = c;
	if (baton_kube_request_start(c->cc.kube, &c->discovery_req, "GET",
				     "/apis", NULL, NULL, 0, NULL,
				     discovery_cb) == 0) {
		c->discovery_pending = true;
	}
}

static void discovery_cb(struct baton_kube_request *req, int status)
{
	struct baton_controller *c = req->data;
	json_t *served;
	size_t i, j;
	json_t *g, *v;
	bool changed;

	c->discovery_pending = false;
	if (status != 0) {
		if (status != BATON_ECANCELED) {
			baton_log(BATON_LOG_WARN, "controller",
				  "API discovery failed: %s", req->errmsg);
		}
		if (c->stopping) {
			maybe_stopped(c);
		}
		return;
	}
	served = json_object();
	json_array_foreach(json_object_get(req->result, "groups"), i, g)
	{
		json_array_foreach(json_object_get(g, "versions"), j, v)
		{
			const char *gv = json_string_value(
			    json_object_get(v, "groupVersion"));
			if (gv != NULL) {
				json_object_set_new(served, gv, json_true());
			}
		}
	}
	changed = c->served == NULL || !json_equal(c->served, served);
	json_decref(c->served);
	c->served = served;
	if (changed) {
		baton_controller_resync_all(c);
	}
}

static void discovery_timer_cb(uv_timer_t *t)
{
	discover(t->data);
}

static void env_event(void *data, json_t *obj, const char *type,
		      const char *reason, const char *message)
{
	struct baton_controller *c = data;
	baton_events_record(c->cc.events, obj, type, reason, message);
}

/* ---- spec.primaryRegion: planned switchover and manual promotion -------
 *
 * The policy is batond/switchover.c (pure); here the controller reads the
 * clock, proposes, records the Events and requeues. */

static json_t *env_switchover(void *data, const struct baton_dbspec *spec,
			      json_t *obj)
{
	struct baton_controller *c = data;
	struct baton_switchover_in in;
	struct baton_switchover_out out;
	char db[BATON_NAME_SIZE], now[40];
	uint64_t mono = baton_mono_ms();

	db_key(spec->ns, spec->name, db);
	memset(&in, 0, sizeof in);
	in.db = db;
	in.spec_primary = spec->primary_region;
	in.generation = spec->generation;
	in.request = json_string_value(json_object_get(
	    json_object_get(json_object_get(obj, "metadata"), "annotations"),
	    BATON_ANNOTATION_SWITCHOVER));
	in.old = json_object_get(json_object_get(obj, "status"), "switchover");
	in.st = c->consensus ? c->consensus->db(c->consensus->data, db) : NULL;
	if (in.st != NULL) {
		in.leader = c->consensus->leader(c->consensus->data);
		in.lease_expired =
		    in.leader && !in.st->cfg.automatic &&
		    c->consensus->lease_expired != NULL &&
		    c->consensus->lease_expired(c->consensus->data, db);
		in.may_propose =
		    baton_dbstate_propose_due(&c->dbstate, db, mono);
	}
	in.now = baton_clock_rfc3339(now, sizeof now, 0);
	in.now_s = time(NULL);
	baton_switchover_decide(&in, &out);
	if (out.propose) {
		baton_dbstate_proposed(&c->dbstate, db, mono);
		c->consensus->propose(c->consensus->data, &out.cmd);
	}
	for (int i = 0; i < out.n_events; i++) {
		env_event(c, obj, out.events[i].type, out.events[i].reason,
			  out.events[i].message);
	}
	if (out.requeue) {
		baton_kube_workqueue_add_after(&c->queue, db, 1000);
	}
	return out.record;
}

/* ---- status.lastFailover (batond/lastfailover.h) ------------------------ */

/* Milliseconds since DB's last promote was applied here, or -1. */
static int64_t since_promote(struct baton_controller *c, const char *db)
{
	return baton_lastfailover_since(&c->lastfo, db, baton_mono_ms());
}

/* Records STEP of DB's last failover, MS after its promote was applied
 * here: once per failover (EPOCH must be the failover's), in the metric and
 * in status.lastFailover.stepsMillis. Returns whether it was new. */
static bool failover_step(struct baton_controller *c, const char *db,
			  uint64_t epoch, const char *step, int64_t ms)
{
	if (!baton_lastfailover_step(&c->lastfo, db, epoch, step, ms)) {
		return false;
	}
	baton_metric_observe(c->cc.m_failover_step, (const char *[]){step},
			     (double)ms / 1000);
	return true;
}

void baton_controller_promoted(struct baton_controller *c,
			       const struct baton_cmd *cmd, const char *from)
{
	char now[40], now_micro[40], msg[300];
	if (c->stopping) {
		return;
	}
	baton_clock_rfc3339(now, sizeof now, 0);
	/* with microseconds: regions compare these */
	baton_clock_rfc3339(now_micro, sizeof now_micro, 6);
	if (baton_lastfailover_promoted(&c->lastfo, cmd, from, now, now_micro,
					baton_mono_ms(), msg, sizeof msg)) {
		agents_event(c, cmd->db, "Normal", "FailoverStarted", msg);
	}
}

/* completedAt: when this region sees the new primary serving (its
 * endpoint published, here or by the peer). */
static json_t *env_last_failover(void *data, const struct baton_dbspec *spec)
{
	struct baton_controller *c = data;
	char db[BATON_NAME_SIZE];
	json_t *lf;
	const char *to;

	db_key(spec->ns, spec->name, db);
	lf = baton_lastfailover_get(&c->lastfo, db);
	if (lf == NULL) {
		return NULL;
	}
	to = baton_lastfailover_awaiting(&c->lastfo, db);
	if (to != NULL) {
		const char *ep = strcmp(to, c->cc.cfg->region) == 0
				     ? baton_agents_endpoint(c->agents, db)
				     : baton_agentpeers_endpoint(
					   &c->peers, spec->ns, spec->name, to);
		if (ep != NULL) {
			char now[40], msg[300];
			int64_t ms = since_promote(c, db);
			baton_clock_rfc3339(now, sizeof now, 0);
			baton_lastfailover_serving(&c->lastfo, db, ep, now,
						   time(NULL), ms, msg,
						   sizeof msg);
			failover_step(c, db,
				      (uint64_t)json_integer_value(
					  json_object_get(lf, "epoch")),
				      "serving", ms);
			agents_event(c, db, "Normal", "FailoverCompleted", msg);
		}
	}
	return json_incref(lf);
}

/* The reconcile job has every routing object of the database as desired
 * for PRIMARY at EPOCH in this cluster (applied and pruned). */
static void env_routed(void *data, const struct baton_dbspec *spec,
		       const char *primary, uint64_t epoch, const char *mesh)
{
	struct baton_controller *c = data;
	char db[BATON_NAME_SIZE], msg[300];
	int64_t ms;

	db_key(spec->ns, spec->name, db);
	ms = since_promote(c, db);
	if (!baton_lastfailover_routed(&c->lastfo, db, primary, epoch, mesh, ms,
				       msg, sizeof msg)) {
		return;
	}
	baton_metric_observe(c->cc.m_failover_step, (const char *[]){"routed"},
			     (double)ms / 1000);
	agents_event(c, db, "Normal", "TrafficRouted", msg);
}

static const char *env_istio_cluster_id(void *data, const char *region)
{
	struct baton_controller *c = data;
	return baton_batond_istio_cluster_id(c->cc.cfg, region);
}

static const char *env_now(void *data, char *buf, size_t size)
{
	return baton_clock_rfc3339(buf, size, 0);
}

static double env_since(void *data, const char *ts)
{
	return baton_clock_seconds_since(ts, time(NULL));
}

/* ---- pod labels: the fence -------------------------------------------------
 */

static void label_cb(struct baton_kube_request *req, int status)
{
	struct baton_controller *c = req->data;
	struct baton_label_req *l =
	    (struct baton_label_req *)((char *)req -
				       offsetof(struct baton_label_req, req));
	l->busy = false;
	l->done_ms = status == 0 ? baton_mono_ms() : 0;
	if (status != 0 && status != BATON_ECANCELED) {
		baton_log(BATON_LOG_WARN, "controller", "labelling a pod: %s",
			  req->errmsg);
		if (!c->stopping) { /* try again: nothing else would */
			baton_kube_workqueue_add_rate_limited(&c->queue, l->db);
		}
	} else if (status == 0 && l->primary && !c->stopping) {
		char msg[300];
		int64_t ms = since_promote(c, l->db);
		failover_step(c, l->db, l->epoch, "labelled", ms);
		baton_labels_shifted_message(l, ms, msg, sizeof msg);
		agents_event(c, l->db, "Normal", "TrafficShifted", msg);
	}
	c->label_pending--;
	/* a slot is free: the database that waited longest syncs again */
	if (!c->stopping) {
		char db[BATON_NAME_SIZE];
		if (baton_dbstate_next_waiting(&c->dbstate, db, sizeof db)) {
			baton_kube_workqueue_add(&c->queue, db);
		}
	}
	if (c->stopping) {
		maybe_stopped(c);
	}
}

/* ---- peer fencing (batond/peerfence.h): the controller's side ------------ */

static const char *fence_peer_name(void *data, int p)
{
	struct baton_controller *c = data;
	return baton_peerwatch_name(&c->peers, p);
}

static struct baton_kube_client *fence_client(void *data, int p)
{
	struct baton_controller *c = data;
	return baton_peerwatch_client(&c->peers, p);
}

static void fence_done(void *data, const char *db)
{
	struct baton_controller *c = data;
	baton_kube_workqueue_add(&c->queue, db);
}

static void fence_settled(void *data)
{
	maybe_stopped(data);
}

/* Sends the patch A plans for POD of DB (batond/labels.h). */
static void label_send(struct baton_controller *c, const char *db,
		       const struct baton_label_pod *pod,
		       const struct baton_label_action *a)
{
	struct baton_kube_ref ref = {NULL,    "v1",	 "pods",
				     pod->ns, pod->name, NULL};
	struct baton_label_req *l = &c->labels[a->slot];
	json_t *patch = baton_labels_patch(a);

	l->req.data = c;
	snprintf(l->db, sizeof l->db, "%s", db);
	snprintf(l->pod, sizeof l->pod, "%s", pod->name);
	l->epoch = a->epoch;
	l->primary = a->primary;
	l->done_ms = 0;
	if (baton_kube_patch(c->cc.kube, &l->req, &ref, BATON_KUBE_PATCH_MERGE,
			     patch, NULL, label_cb) == 0) {
		c->label_pending++;
		l->busy = true;
		baton_log(BATON_LOG_INFO, "controller",
			  "%s/%s: role %s at epoch %llu", pod->ns, pod->name,
			  a->role, (unsigned long long)a->epoch);
	}
	json_decref(patch);
}

/* Brings the region's pods of SPEC in line with the FSM: the designated
 * ordinal (the FSM's) is primary with the epoch when this region holds the
 * primary; every other pod is a replica. The plan is batond/labels.c's; this
 * feeds it from the pod cache and the FSM and sends what it plans. */
static void sync_labels(struct baton_controller *c,
			const struct baton_dbspec *spec)
{
	struct baton_fsm_view v;
	const char *region = c->cc.cfg->region;
	char want_primary[128] = "";
	char db[BATON_NAME_SIZE];
	const struct baton_dbrec *rec;
	struct baton_label_pod *pods;
	struct baton_label_plan plan;
	struct baton_label_plan_in in;
	unsigned n_pods;

	if (c->stopping) {
		return;
	}
	env_fsm_view(c, spec, &v);
	if (!v.registered) {
		return;
	}
	db_key(spec->ns, spec->name, db);
	/* Primary only while this region's lease is valid: a partitioned
	 * primary region fences its own pod before the leader's view of the
	 * lease expires (ARCHITECTURE §5, step 4). */
	if (v.primary_region != NULL && strcmp(v.primary_region, region) == 0 &&
	    c->consensus != NULL &&
	    c->consensus->lease_valid(c->consensus->data, db, v.epoch)) {
		if (baton_children_pod_name(
			spec->name, region,
			baton_syncset_designated(
			    c->consensus->db(c->consensus->data, db), region),
			want_primary, sizeof want_primary) == NULL) {
			want_primary[0] = '\0';
		}
	}
	rec = baton_dbstate_get(&c->dbstate, db);
	if (rec == NULL || rec->n_pods == 0) {
		return;
	}
	n_pods = rec->n_pods;
	pods = calloc(n_pods, sizeof *pods);
	if (pods == NULL) {
		baton_kube_workqueue_add_rate_limited(&c->queue, db);
		return;
	}
	/* the strings are the cached objects': nothing below changes the
	 * cache (peer fencing may add a record, never a pod) */
	for (unsigned p = 0; p < n_pods; p++) {
		pods[p] = baton_labels_pod(
		    baton_kube_informer_get(&c->pods, rec->pods[p]));
	}
	in = (struct baton_label_plan_in){
	    .db = db,
	    .ns = spec->ns,
	    .cluster = spec->name,
	    .want_primary = want_primary,
	    .epoch = v.epoch,
	    .reqs = c->labels,
	    .n_reqs = BATON_LABEL_SLOTS,
	    .now = baton_mono_ms(),
	};
	baton_labels_plan(&in, pods, n_pods, &plan);
	/* peer fencing first (fence before promote, §5) */
	if (plan.fence && baton_peerfence_done(&c->fence, spec, db, v.epoch)) {
		in.fence_done = true;
		baton_labels_plan(&in, pods, n_pods, &plan);
	}
	for (int i = 0; i < plan.n; i++) {
		label_send(c, db, &pods[plan.actions[i].pod], &plan.actions[i]);
	}
	if (plan.wait) {
		/* every request slot busy: again when one frees */
		baton_dbstate_wait(&c->dbstate, db);
	}
	free(pods);
}

/* ---- the work queue and workers
 * ---------------------------------------------- */

static void worker_done_cb(struct baton_reconcile *r, int status);

/* Push mode: the queue hands out at most BATON_CONTROLLER_WORKERS keys at once,
 * never the same key twice concurrently. */
static void work_cb(struct baton_kube_workqueue *q, const char *key)
{
	struct baton_controller *c = q->data;
	struct baton_controller_worker *w = NULL;
	json_t *obj;
	int rv;

	for (int i = 0; i < BATON_CONTROLLER_WORKERS; i++) {
		if (!c->workers[i].busy) {
			w = &c->workers[i];
			break;
		}
	}
	if (NEVER(w == NULL) || c->stopping) { /* workers == slots */
		baton_kube_workqueue_done(q, key);
		return;
	}
	snprintf(w->key, sizeof w->key, "%s", key);
	obj = baton_kube_informer_get(&c->dbcs, w->key);
	if (obj == NULL) {
		/* deleted: its children go with their owner. No job of KEY
		 * runs (the queue hands a key to one worker at a time), so
		 * nothing holds its record's strings. */
		baton_dbstate_forget(&c->dbstate, key);
		baton_kube_workqueue_forget(q, key);
		baton_kube_workqueue_done(q, key);
		return;
	}
	w->busy = true;
	w->c = c;
	w->job.data = w;
	w->started_ms = baton_mono_ms();
	rv = baton_reconcile_start(&w->job, &c->env, obj, worker_done_cb);
	if (rv != 0) {
		w->busy = false;
		baton_kube_workqueue_forget(q, key);
		baton_kube_workqueue_done(q, key);
	}
}

static void worker_done_cb(struct baton_reconcile *r, int status)
{
	struct baton_controller_worker *w = r->data;
	struct baton_controller *c = w->c;
	const char *result = status == 0		 ? "success"
			     : status == BATON_EBUSY	 ? "waiting"
			     : status == BATON_ECANCELED ? "cancelled"
							 : "error";
	double secs = (double)(baton_mono_ms() - w->started_ms) / 1000.0;

	baton_metric_inc(c->cc.m_reconciles, (const char *[]){result}, 1);
	baton_metric_observe(c->cc.m_reconcile_seconds, NULL, secs);
	if (status == 0) {
		/* Not registered yet (no leader, or another node's proposal
		 * in flight): look again shortly rather than wait for the
		 * next change. */
		if (r->spec_error[0] == '\0' && !r->spec.deleting &&
		    c->consensus != NULL &&
		    c->consensus->db(c->consensus->data, w->key) == NULL) {
			/* with backoff: a full FSM must not become a storm */
			baton_kube_workqueue_add_rate_limited(&c->queue,
							      w->key);
		} else {
			baton_kube_workqueue_forget(&c->queue, w->key);
		}
		/* sync_labels skips pods with a patch in flight (or just
		 * landed), so a busy neighbour never delays this database */
		if (r->spec_error[0] == '\0') {
			sync_labels(c, &r->spec);
		}
	} else if (!c->stopping) {
		if (status != BATON_EBUSY) {
			baton_log(BATON_LOG_WARN, "controller",
				  "reconcile %s failed (will retry): %s",
				  w->key, r->errmsg);
		}
		baton_kube_workqueue_add_rate_limited(&c->queue, w->key);
	}
	baton_kube_workqueue_done(&c->queue, w->key);
	w->busy = false;
	if (c->stopping) {
		maybe_stopped(c);
	}
}

static void enqueue_obj(struct baton_controller *c, json_t *obj)
{
	char key[160];
	if (baton_kube_object_key(obj, key, sizeof key) == 0) {
		baton_kube_workqueue_add(&c->queue, key);
	}
}

static void dbc_add(struct baton_kube_informer *inf, json_t *obj)
{
	enqueue_obj(inf->data, obj);
}

static void dbc_update(struct baton_kube_informer *inf, json_t *old_obj,
		       json_t *new_obj)
{
	struct baton_controller *c = inf->data;
	/* not the echo of our own status write (batond/statusecho.h) */
	if (!baton_statusecho_echo(c->cc.echoes, old_obj, new_obj)) {
		enqueue_obj(c, new_obj);
	}
}

static void dbc_delete(struct baton_kube_informer *inf, json_t *obj)
{
	enqueue_obj(inf->data, obj);
}

/* A peer's status of DB changed: reconcile it (when it is ours too). */
static void peer_changed(void *data, const char *db)
{
	struct baton_controller *c = data;
	if (!c->stopping && baton_kube_informer_get(&c->dbcs, db) != NULL) {
		baton_kube_workqueue_add(&c->queue, db);
	}
}

static void peers_closed(void *data)
{
	struct baton_controller *c = data;
	/* one close callback per close asked for */
	BATON_ASSERT(c->closing > 0);
	c->closing--;
	maybe_stopped(c);
}

/* POD's database ("ns/cluster") into KEY; false if it has none. */
static bool pod_db(json_t *pod, char *key, size_t size)
{
	json_t *md = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *cl = json_string_value(json_object_get(
	    json_object_get(md, "labels"), BATON_LABEL_CLUSTER));
	if (ns == NULL || cl == NULL) {
		return false;
	}
	snprintf(key, size, "%s/%s", ns, cl);
	return true;
}

static void pods_index(struct baton_controller *c, json_t *pod, bool add)
{
	char db[160], key[512];
	int rv;
	if (!pod_db(pod, db, sizeof db) ||
	    baton_kube_object_key(pod, key, sizeof key) != 0) {
		return;
	}
	if (!add) {
		baton_dbstate_pod_del(&c->dbstate, db, key);
		return;
	}
	rv = baton_dbstate_pod_add(&c->dbstate, db, key);
	/* a name no DatabaseCluster can have (dbspec_parse refuses it) is
	 * never asked for: not worth a line */
	if (rv != 0 && rv != BATON_EINVAL) {
		baton_log(BATON_LOG_WARN, "controller",
			  "pod %s of %s not indexed: %s", key, db,
			  baton_strerror(rv));
	}
}

/* A pod changed: reconcile its DatabaseCluster. */
static void pod_changed(struct baton_controller *c, json_t *pod)
{
	json_t *md = json_object_get(pod, "metadata");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *cl = json_string_value(json_object_get(
	    json_object_get(md, "labels"), BATON_LABEL_CLUSTER));
	char key[160];
	if (ns != NULL && cl != NULL) {
		snprintf(key, sizeof key, "%s/%s", ns, cl);
		baton_kube_workqueue_add(&c->queue, key);
	}
}

static void pod_add(struct baton_kube_informer *inf, json_t *obj)
{
	pods_index(inf->data, obj, true);
	pod_changed(inf->data, obj);
}

static void pod_update(struct baton_kube_informer *inf, json_t *old_obj,
		       json_t *new_obj)
{
	pods_index(inf->data, old_obj, false);
	pods_index(inf->data, new_obj, true);
	pod_changed(inf->data, new_obj);
}

static void pod_delete(struct baton_kube_informer *inf, json_t *obj)
{
	pods_index(inf->data, obj, false);
	pod_changed(inf->data, obj);
}

static bool pods_ready(struct baton_controller *c, const char *db)
{
	char ns[64];
	const char *slash = strchr(db, '/');
	const struct baton_dbrec *rec = baton_dbstate_get(&c->dbstate, db);
	json_t *pod;

	if (slash == NULL || (size_t)(slash - db) >= sizeof ns) {
		return false;
	}
	memcpy(ns, db, (size_t)(slash - db));
	ns[slash - db] = '\0';
	for (unsigned p = 0; rec != NULL && p < rec->n_pods; p++) {
		json_t *md;
		pod = baton_kube_informer_get(&c->pods, rec->pods[p]);
		md = json_object_get(pod, "metadata");
		const char *pns =
		    json_string_value(json_object_get(md, "namespace"));
		const char *cl = json_string_value(json_object_get(
		    json_object_get(md, "labels"), BATON_LABEL_CLUSTER));
		if (pns == NULL || cl == NULL || strcmp(pns, ns) != 0 ||
		    strcmp(cl, slash + 1) != 0) {
			continue;
		}
		if (baton_agents_pod_ready(pod)) {
			return true;
		}
	}
	return false;
}

void baton_controller_region_report(struct baton_controller *c, const char *db,
				    struct baton_region_report *out)
{
	baton_agents_report(c->agents, db, pods_ready(c, db), out);
}

void baton_controller_resync_all(struct baton_controller *c)
{
	const char *key;
	json_t *obj;
	if (c->stopping) {
		return;
	}
	json_object_foreach(c->dbcs.cache, key, obj)
	{
		baton_kube_workqueue_add(&c->queue, key);
	}
}

void baton_controller_fsm_changed(struct baton_controller *c, const char *db)
{
	if (!c->stopping && baton_scope_admit(c->cc.scope, db)) {
		baton_kube_workqueue_add(&c->queue, db);
	}
}

/* ---- lifecycle
 * ------------------------------------------------------------------ */

/* The first step of a failed start's unwinding, whichever stage it is
 * entered at (each later stage runs it again, harmlessly): nothing new
 * starts, and c->closing holds one count until every close was asked for. */
static void unwind_begin(struct baton_controller *c)
{
	if (!c->stopping) {
		c->stopping = true;
		c->fence.stopping = true;
		c->closing = 1;
	}
}

int baton_controller_init(uv_loop_t *loop, struct baton_controller *c,
			  const struct baton_controller_config *cc,
			  char *errmsg)
{
	static const struct baton_kube_informer_handlers dbc_h = {
	    dbc_add, dbc_update, dbc_delete};
	static const struct baton_kube_informer_handlers pod_h = {
	    pod_add, pod_update, pod_delete};
	struct baton_kube_informer_opts dopts = {
	    .group = "baton.dev",
	    .version = "v1alpha1",
	    .resource = "databaseclusters",
	    .resync_ms = 10 * 60 * 1000,
	    .namespaces = baton_scope_namespaces(cc->scope),
	};
	struct baton_kube_informer_opts popts = {
	    .version = "v1",
	    .resource = "pods",
	    .label_selector = BATON_LABEL_CLUSTER,
	    .namespaces = baton_scope_namespaces(cc->scope),
	};
	const struct baton_batond_config *cfg = cc->cfg;
	void *data = c->data;
	int rv;

	baton_cachefields_use(&dopts, &popts);
	/* The happy path opens, in order: peer fencing, the work
	 * queue, the two informers (started), the peer watches, the
	 * discovery timer, the agent driver. A failure closes what was
	 * opened, newest first (err_after_*); what holds a uv handle is
	 * released in its close callback, and the controller's memory once
	 * the last one ran (maybe_stopped), never before: the loop keeps
	 * pointers into it until then. C's memory is the caller's. */
	memset(c, 0, sizeof *c);
	c->data = data;
	c->cc = *cc;
	c->loop = loop;
	baton_dbstate_init(&c->dbstate); /* allocates nothing yet */
	c->consensus = cc->consensus;
	c->env = (struct baton_reconcile_env){
	    .data = c,
	    .kube = cc->kube,
	    .region = cfg->region,
	    .batond_url = cc->batond_url,
	    .agent_pki = cc->agent_pki,
	    .fsm_view = env_fsm_view,
	    .fsm_register = env_register,
	    .fsm_unregister = env_unregister,
	    .observe = env_observe,
	    .api_served = env_api_served,
	    .istio_cluster_id = env_istio_cluster_id,
	    .cluster_domain = cfg->cluster_domain,
	    .event = env_event,
	    .now = env_now,
	    .seconds_since = env_since,
	    .switchover = env_switchover,
	    .last_failover = env_last_failover,
	    .routed = env_routed,
	    .applied = cc->applied,
	    .echoes = cc->echoes,
	};
	baton_lastfailover_init(&c->lastfo, &c->dbstate);
	{
		struct baton_peerfence_env fenv = {
		    .data = c,
		    .dbs = &c->dbstate,
		    .region = cfg->region,
		    .peer_name = fence_peer_name,
		    .client = fence_client,
		    .done = fence_done,
		    .event = agents_event,
		    .settled = fence_settled,
		};
		rv = baton_failpoint() ? BATON_ENOMEM
				       : baton_peerfence_init(&c->fence, &fenv);
	}
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "peer fencing: %s",
				    baton_strerror(rv));
		goto err_after_lastfo;
	}
	/* from here every stage holds uv handles: the memory goes in
	 * maybe_stopped, once they closed */
	c->queue.data = c;
	rv = baton_failpoint()
		 ? BATON_ENOMEM
		 : baton_kube_workqueue_init(loop, &c->queue, NULL);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "work queue: %s",
				    baton_strerror(rv));
		goto err_after_fence;
	}
	c->queue.data = c;
	rv = baton_failpoint()
		 ? BATON_ENOMEM
		 : baton_kube_workqueue_run(&c->queue, BATON_CONTROLLER_WORKERS,
					    work_cb);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "work queue: %s",
				    baton_strerror(rv));
		goto err_after_queue;
	}
	rv = baton_failpoint()
		 ? BATON_ENOMEM
		 : baton_kube_informer_init(cc->kube, &c->dbcs, &dopts, &dbc_h);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "informer: %s", baton_strerror(rv));
		goto err_after_queue;
	}
	c->dbcs.data = c;
	rv = baton_failpoint()
		 ? BATON_ENOMEM
		 : baton_kube_informer_init(cc->kube, &c->pods, &popts, &pod_h);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "informer: %s", baton_strerror(rv));
		goto err_after_dbcs;
	}
	c->pods.data = c;
	if ((rv = baton_failpoint()
		      ? BATON_ENOMEM
		      : baton_kube_informer_start(&c->dbcs)) != 0 ||
	    (rv = baton_failpoint()
		      ? BATON_ENOMEM
		      : baton_kube_informer_start(&c->pods)) != 0) {
		baton_errmsg_printf(errmsg, "informer start: %s",
				    baton_strerror(rv));
		goto err_after_pods;
	}
	{
		struct baton_peerwatch_env wenv = {
		    .data = c,
		    .changed = peer_changed,
		    .closed = peers_closed,
		};
		baton_peerwatch_start(&c->peers, loop, cfg,
				      baton_scope_namespaces(cc->scope), &wenv);
	}
	c->fence.env.n_peers = c->peers.n;
	uv_timer_init(loop, &c->discovery_timer);
	c->discovery_timer.data = c;
	{
		struct baton_agents_env aenv = {
		    .data = c,
		    .region = cfg->region,
		    .consensus = c->consensus,
		    .pods = &c->pods,
		    .dbcs = &c->dbcs,
		    .changed = agents_changed,
		    .event = agents_event,
		    .lastfo = &c->lastfo,
		    .api_bind = cfg->agent_api_bind,
		    .pki = cc->agent_pki,
		};
		baton_agentpeers_bind(&aenv, &c->peers);
		/* on failure the driver closed what it opened itself and
		 * c->agents stays NULL */
		c->agent_driver.data = c;
		rv = baton_failpoint()
			 ? BATON_ENOMEM
			 : baton_agents_init(loop, &c->agent_driver, &aenv);
	}
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "agent driver: %s",
				    baton_strerror(rv));
		goto err_after_timer;
	}
	c->agents = &c->agent_driver;
	uv_timer_start(&c->discovery_timer, discovery_timer_cb, 0, 30000);
	return 0;

	/* The stages below close asynchronously: c->closing counts them, one
	 * more held until every close was asked for (a close callback that
	 * runs at once must not finish the close under us). */
err_after_timer:
	unwind_begin(c);
	if (baton_peerwatch_close(&c->peers)) {
		c->closing++;
	}
	c->closing++;
	uv_close((uv_handle_t *)&c->discovery_timer, timer_closed_cb);
err_after_pods:
	unwind_begin(c);
	c->closing++;
	baton_kube_informer_close(&c->pods, informer_closed_cb);
err_after_dbcs:
	unwind_begin(c);
	c->closing++;
	baton_kube_informer_close(&c->dbcs, informer_closed_cb);
err_after_queue:
	unwind_begin(c);
	c->closing++;
	c->close_cb = init_failed_cb;
	baton_kube_workqueue_close(&c->queue, queue_closed_cb);
	c->closing--;	  /* the guard */
	maybe_stopped(c); /* the records go once the last close callback ran */
	return rv;

	/* Nothing below holds a uv handle: released at once. */
err_after_fence:
	baton_peerfence_close(&c->fence);
err_after_lastfo:
	baton_lastfailover_close(&c->lastfo);
	baton_dbstate_free(&c->dbstate);
	return rv;
}

bool baton_controller_ready(struct baton_controller *c, char *why, size_t size)
{
	if (!baton_kube_informer_has_synced(&c->dbcs)) {
		snprintf(why, size, "DatabaseCluster cache not synced: %s",
			 c->dbcs.errmsg[0] ? c->dbcs.errmsg : "listing");
		return false;
	}
	if (!baton_kube_informer_has_synced(&c->pods)) {
		snprintf(why, size, "pod cache not synced: %s",
			 c->pods.errmsg[0] ? c->pods.errmsg : "listing");
		return false;
	}
	if (c->consensus != NULL && !c->consensus->quorum(c->consensus->data)) {
		snprintf(why, size, "no Raft quorum reachable");
		return false;
	}
	return true;
}

void baton_controller_update_metrics(struct baton_controller *c)
{
	const char *key;
	json_t *obj;

	baton_metric_set(c->cc.m_queue_depth, NULL,
			 (double)baton_kube_workqueue_len(&c->queue));
	if (c->consensus == NULL) {
		return;
	}
	json_object_foreach(c->dbcs.cache, key, obj)
	{
		const struct baton_db_state *st =
		    c->consensus->db(c->consensus->data, key);
		json_t *md = json_object_get(obj, "metadata");
		const char *ns =
		    json_string_value(json_object_get(md, "namespace"));
		const char *name =
		    json_string_value(json_object_get(md, "name"));
		if (st == NULL || ns == NULL || name == NULL) {
			continue;
		}
		baton_metric_set(c->cc.m_epoch, (const char *[]){ns, name},
				 (double)st->epoch);
		for (unsigned i = 0; i < st->n_regions; i++) {
			baton_metric_set(
			    c->cc.m_primary,
			    (const char *[]){ns, name, st->regions[i].name},
			    (int)i == st->primary ? 1 : 0);
		}
	}
}

json_t *baton_controller_status(struct baton_controller *c)
{
	json_t *st = json_object();
	json_t *dbs = json_array();
	const char *key;
	json_t *obj;

	json_object_set_new(
	    st, "synced",
	    json_boolean(baton_kube_informer_has_synced(&c->dbcs) &&
			 baton_kube_informer_has_synced(&c->pods)));
	if (c->consensus != NULL) {
		json_object_set_new(st, "raft",
				    c->consensus->status(c->consensus->data));
	}
	json_object_foreach(c->dbcs.cache, key, obj)
	{
		const struct baton_db_state *s =
		    c->consensus ? c->consensus->db(c->consensus->data, key)
				 : NULL;
		json_t *o = json_pack(
		    "{s:s, s:O?}", "key", key, "phase",
		    json_object_get(json_object_get(obj, "status"), "phase"));
		if (s != NULL) {
			json_object_set_new(o, "epoch",
					    json_integer((json_int_t)s->epoch));
			if (s->primary >= 0) {
				json_object_set_new(
				    o, "primary",
				    json_string(s->regions[s->primary].name));
			}
			json_object_set_new(
			    o, "fsmPhase",
			    json_string(baton_phase_name(s->phase)));
		}
		json_array_append_new(dbs, o);
	}
	json_object_set_new(st, "databases", dbs);
	if (c->agents != NULL) {
		json_object_set_new(st, "agents",
				    baton_agents_status(c->agents));
	}
	return st;
}

/* An init that failed unwound (baton_controller_init): nobody waits. */
static void init_failed_cb(struct baton_controller *c)
{
	(void)c;
}

static void maybe_stopped(struct baton_controller *c)
{
	baton_controller_close_cb cb = c->close_cb;

	if (c->closing > 0 || c->label_pending > 0 || c->discovery_pending ||
	    baton_peerfence_pending(&c->fence) > 0 || cb == NULL) {
		return;
	}
	for (int i = 0; i < BATON_CONTROLLER_WORKERS; i++) {
		if (c->workers[i].busy) {
			return;
		}
	}
	c->close_cb = NULL;
	baton_dbstate_free(&c->dbstate);
	json_decref(c->served);
	baton_lastfailover_close(&c->lastfo);
	baton_peerfence_close(&c->fence);
	cb(c); /* C's memory is the caller's from here */
}

static void informer_closed_cb(struct baton_kube_informer *inf)
{
	struct baton_controller *c = inf->data;
	/* one close callback per close asked for */
	BATON_ASSERT(c->closing > 0);
	c->closing--;
	maybe_stopped(c);
}

static void timer_closed_cb(uv_handle_t *h)
{
	struct baton_controller *c = h->data;
	/* one close callback per close asked for */
	BATON_ASSERT(c->closing > 0);
	c->closing--;
	maybe_stopped(c);
}

static void agents_stopped_cb(struct baton_agents *a)
{
	struct baton_controller *c = a->data;
	c->agents = NULL;
	/* one close callback per close asked for */
	BATON_ASSERT(c->closing > 0);
	c->closing--;
	maybe_stopped(c);
}

static void queue_closed_cb(struct baton_kube_workqueue *q)
{
	struct baton_controller *c = q->data;
	/* one close callback per close asked for */
	BATON_ASSERT(c->closing > 0);
	c->closing--;
	maybe_stopped(c);
}

void baton_controller_close(struct baton_controller *c,
			    baton_controller_close_cb cb)
{
	BATON_ASSERT(cb != NULL && c->close_cb == NULL);
	c->stopping = true;
	c->fence.stopping = true;
	c->close_cb = cb;
	c->closing = 4;
	if (baton_peerwatch_close(&c->peers)) {
		c->closing++;
	}
	uv_close((uv_handle_t *)&c->discovery_timer, timer_closed_cb);
	if (c->agents != NULL) {
		c->closing++;
		baton_agents_close(c->agents, agents_stopped_cb);
	}
	baton_kube_informer_close(&c->dbcs, informer_closed_cb);
	baton_kube_informer_close(&c->pods, informer_closed_cb);
	baton_kube_workqueue_close(&c->queue, queue_closed_cb);
}
