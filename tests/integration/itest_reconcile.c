/* Integration tests for operator/batond/reconcile against a real
 * kube-apiserver (and its controller-manager, for garbage collection).
 *
 * The reconcile job runs with an environment whose FSM view is set by the
 * test (the Raft group is tested in consensus/); everything it writes goes
 * to the real API server: finalizer, children by server-side apply, status,
 * Events through the callback, and the teardown. Needs BATON_KUBECONFIG;
 * a missing variable FAILS the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/harness.h"
#include "batond/applyseed.h"
#include "batond/cachefields.h"
#include "batond/firststatus.h"
#include "batond/reconcile.h"
#include "kube/client.h"
#include "kube/config.h"
#include "kube/rest.h"

static uv_loop_t loop;
static struct baton_kube_config cfg;
static struct baton_kube_client client;
static char ns[64];

/* ---- the environment the reconciler sees -------------------------------- */

struct fake_env {
	bool registered;
	const char *primary;
	uint64_t epoch;
	int unregister_rv;
	double deletion_age;
	int events;
	char last_reason[64];
	bool mcs;
	bool claim_gke; /* say net.gke.io/v1 is served: pruning's list fails */
	/* what env->routed last saw, and how often */
	int routed;
	char routed_primary[64];
	uint64_t routed_epoch;
	char routed_mesh[16];
	json_t *last_failover; /* what env->last_failover returns */
	bool no_pods; /* env_h: this region has no pod of the database */
	/* this region's FSM does not hold the database and registering it is
	 * another node's (a follower whose log is behind) */
	bool lagging;
	bool no_quorum; /* this batond cannot reach a Raft majority */
};
static struct fake_env fenv;

static void env_fsm_view(void *data, const struct baton_dbspec *spec,
			 struct baton_fsm_view *out)
{
	struct fake_env *e = data;
	memset(out, 0, sizeof *out);
	out->registered = e->registered;
	out->quorum = !e->no_quorum;
	out->primary_region = e->primary;
	out->epoch = e->epoch;
	out->phase = "Healthy";
}

static int env_register(void *data, const struct baton_dbspec *spec)
{
	struct fake_env *e = data;
	if (e->lagging) {
		return BATON_EBUSY;
	}
	e->registered = true;
	return 0;
}

static int env_unregister(void *data, const struct baton_dbspec *spec)
{
	return ((struct fake_env *)data)->unregister_rv;
}

static int env_observe(void *data, const struct baton_dbspec *spec,
		       struct baton_region_obs *obs, int max)
{
	int n = 0;
	for (int i = 0; i < spec->n_regions && n < max; i++) {
		memset(&obs[n], 0, sizeof obs[n]);
		obs[n].name = spec->regions[i].name;
		obs[n].reachable = true;
		obs[n].replicas = spec->regions[i].replicas;
		obs[n].ready = spec->regions[i].replicas;
		obs[n].lag_bytes = 0;
		n++;
	}
	return n;
}

static bool env_api_served(void *data, const char *gv)
{
	/* the MCS CRDs are installed by the prune test only */
	struct fake_env *e = data;
	return (e->mcs && strcmp(gv, "multicluster.x-k8s.io/v1beta1") == 0) ||
	       (e->claim_gke && strcmp(gv, "net.gke.io/v1") == 0);
}

static void env_routed(void *data, const struct baton_dbspec *spec,
		       const char *primary, uint64_t epoch, const char *mesh)
{
	struct fake_env *e = data;
	e->routed++;
	snprintf(e->routed_primary, sizeof e->routed_primary, "%s", primary);
	e->routed_epoch = epoch;
	snprintf(e->routed_mesh, sizeof e->routed_mesh, "%s", mesh);
}

static void env_event(void *data, json_t *obj, const char *type,
		      const char *reason, const char *message)
{
	struct fake_env *e = data;
	e->events++;
	snprintf(e->last_reason, sizeof e->last_reason, "%s", reason);
}

static const char *env_now(void *data, char *buf, size_t size)
{
	snprintf(buf, size, "2026-11-28T00:00:00Z");
	return buf;
}

static double env_since(void *data, const char *ts)
{
	return ((struct fake_env *)data)->deletion_age;
}

static json_t *env_last_failover(void *data, const struct baton_dbspec *spec)
{
	json_t *lf = ((struct fake_env *)data)->last_failover;
	return lf ? json_incref(lf) : NULL;
}

/* What both environments below share; each names its own observe. */
#define FAKE_ENV_COMMON                                                        \
	.data = &fenv, .kube = &client, .region = "eu-west",                   \
	.batond_url = "http://batond.baton-system:8080",                       \
	.fsm_view = env_fsm_view, .fsm_register = env_register,                \
	.fsm_unregister = env_unregister, .api_served = env_api_served,        \
	.event = env_event, .now = env_now, .seconds_since = env_since,        \
	.routed = env_routed, .last_failover = env_last_failover

static const struct baton_reconcile_env env = {
    FAKE_ENV_COMMON,
    .observe = env_observe,
};

/* The same environment with the children's stamps remembered
 * (batond/applyhash.h) and pods in every region unless fenv.no_pods. */
static struct baton_applyhash applied;

static int env_observe_pods(void *data, const struct baton_dbspec *spec,
			    struct baton_region_obs *obs, int max)
{
	int n = env_observe(data, spec, obs, max);
	for (int i = 0; i < n; i++) {
		obs[i].role =
		    ((struct fake_env *)data)->no_pods ? NULL : "replica";
	}
	return n;
}

static const struct baton_reconcile_env env_h = {
    FAKE_ENV_COMMON,
    .observe = env_observe_pods,
    .applied = &applied,
};

/* ... and the status each reconcile wants (batond/statusecho.h) */
static struct baton_statusecho echoes;
static const struct baton_reconcile_env env_e = {
    FAKE_ENV_COMMON,
    .observe = env_observe_pods,
    .applied = &applied,
    .echoes = &echoes,
};

/* ---- helpers ------------------------------------------------------------- */

struct done {
	bool done;
	int status;
	json_t *result;
	char errmsg[BATON_ERRMSG_SIZE];
};

static void done_cb(struct baton_kube_request *req, int status)
{
	struct done *d = req->data;
	d->done = true;
	d->status = status;
	d->result = json_incref(req->result);
	memcpy(d->errmsg, req->errmsg, sizeof d->errmsg);
}

static void wait_for(bool *flag)
{
	for (int i = 0; i < 600000 && !*flag; i++) {
		uv_run(&loop, UV_RUN_ONCE);
	}
	ck_assert_msg(*flag, "operation never completed");
}

static json_t *get(const char *group, const char *version, const char *res,
		   const char *name, int *status)
{
	struct baton_kube_request req = {0};
	struct done d = {0};
	struct baton_kube_ref ref = {group, version, res, ns, name, NULL};
	req.data = &d;
	ck_assert_int_eq(baton_kube_get(&client, &req, &ref, done_cb), 0);
	wait_for(&d.done);
	*status = d.status;
	return d.result;
}

static json_t *get_dbc(const char *name)
{
	int st;
	json_t *o = get("baton.dev", "v1alpha1", "databaseclusters", name, &st);
	ck_assert_msg(st == 0, "get dbc %s: %s", name, baton_errname(st));
	return o;
}

struct job {
	struct baton_reconcile r;
	bool done;
	int status;
	bool status_written;
	bool finalizer_removed;
	int applied;
	int skipped;
	char errmsg[BATON_ERRMSG_SIZE];
};

static void job_cb(struct baton_reconcile *r, int status)
{
	struct job *j = r->data;
	j->done = true;
	j->status = status;
	j->status_written = r->status_written;
	j->finalizer_removed = r->finalizer_removed;
	j->applied = r->objects_applied;
	j->skipped = r->objects_skipped;
	memcpy(j->errmsg, r->errmsg, sizeof j->errmsg);
}

static int reconcile_in(const struct baton_reconcile_env *e, const char *name,
			struct job *j)
{
	json_t *obj = get_dbc(name);
	int rv;
	memset(j, 0, sizeof *j);
	j->r.data = j;
	rv = baton_reconcile_start(&j->r, e, obj, job_cb);
	json_decref(obj);
	if (rv != 0) {
		return rv;
	}
	wait_for(&j->done);
	return j->status;
}

static void create_dbc(const char *name, const char *extra)
{
	char text[1024];
	struct baton_kube_request req = {0};
	struct done d = {0};
	struct baton_kube_ref ref = {
	    "baton.dev", "v1alpha1", "databaseclusters", ns, NULL, NULL};
	json_t *obj;
	snprintf(text, sizeof text,
		 "{\"apiVersion\":\"baton.dev/v1alpha1\",\"kind\":"
		 "\"DatabaseCluster\",\"metadata\":{\"name\":\"%s\"},\"spec\":"
		 "{\"regions\":[{\"name\":\"eu-west\"},{\"name\":\"us-east\"},"
		 "{\"name\":\"ap-south\"}],\"primaryRegion\":\"eu-west\"%s}}",
		 name, extra);
	obj = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(obj);
	req.data = &d;
	ck_assert_int_eq(
	    baton_kube_create(&client, &req, &ref, obj, NULL, done_cb), 0);
	json_decref(obj);
	wait_for(&d.done);
	ck_assert_msg(d.status == 0, "create %s: %s", name, d.errmsg);
	json_decref(d.result);
}

/* Deletes NAME (of GROUP/VERSION RES in the test's namespace); it must
 * succeed. */
static void delete_obj(const char *group, const char *version, const char *res,
		       const char *name)
{
	struct baton_kube_request req = {0};
	struct done d = {0};
	struct baton_kube_ref ref = {group, version, res, ns, name, NULL};
	req.data = &d;
	ck_assert_int_eq(baton_kube_delete(&client, &req, &ref, NULL, done_cb),
			 0);
	wait_for(&d.done);
	ck_assert_msg(d.status == 0, "delete %s: %s", name, d.errmsg);
	json_decref(d.result);
}

static void delete_dbc(const char *name)
{
	delete_obj("baton.dev", "v1alpha1", "databaseclusters", name);
}

/* The primary Service SVC exists and its selector names EPOCH: the label
 * fence that decides which pod gets writes. */
static void assert_primary_service_epoch(const char *svc, const char *epoch)
{
	int st;
	json_t *o = get(NULL, "v1", "services", svc, &st);
	ck_assert_msg(st == 0, "Service %s: %s", svc, baton_errname(st));
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_object_get(json_object_get(o, "spec"), "selector"),
		"baton.dev/epoch")),
	    epoch);
	json_decref(o);
}

static const char *status_str(json_t *o, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(o, "status"), key));
}

static int reconcile(const char *name, struct job *j)
{
	return reconcile_in(&env, name, j);
}

/* ---- fixtures ------------------------------------------------------------ */

static void make_namespace(void)
{
	struct baton_kube_request req = {0};
	struct done d = {0};
	struct baton_kube_ref ref = {NULL, "v1", "namespaces",
				     NULL, NULL, NULL};
	json_t *obj;
	snprintf(ns, sizeof ns, "itest-rec-%ld-%d", (long)time(NULL),
		 rand() % 100000);
	obj = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
			"Namespace", "metadata", "name", ns);
	req.data = &d;
	ck_assert_int_eq(
	    baton_kube_create(&client, &req, &ref, obj, NULL, done_cb), 0);
	json_decref(obj);
	wait_for(&d.done);
	ck_assert_msg(d.status == 0, "namespace: %s", d.errmsg);
	json_decref(d.result);
}

static void setup(void)
{
	const char *path = getenv("BATON_KUBECONFIG");
	int rv;
	ck_assert_msg(path != NULL, "BATON_KUBECONFIG is not set: run under "
				    "tests/integration/run.sh");
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	uv_loop_init(&loop);
	rv = baton_kube_config_load_file(&cfg, path, NULL);
	ck_assert_msg(rv == 0, "%s", cfg.errmsg);
	rv = baton_kube_client_init(&loop, &client, &cfg, NULL);
	ck_assert_msg(rv == 0, "%s", client.errmsg);
	memset(&fenv, 0, sizeof fenv);
	baton_applyhash_init(&applied, 100, BATON_APPLYHASH_REFRESH_MS);
	baton_statusecho_init(&echoes, 100);
	make_namespace();
}

static void closed_cb(struct baton_kube_client *c)
{
	*(bool *)c->data = true;
}

static void teardown(void)
{
	bool closed = false;
	client.data = &closed;
	baton_kube_client_close(&client, closed_cb);
	wait_for(&closed);
	baton_kube_config_free(&cfg);
	baton_applyhash_free(&applied);
	baton_statusecho_free(&echoes);
	LOOP_TEARDOWN(&loop);
}

/* ---- tests ----------------------------------------------------------------
 */

START_TEST(reconcile_creates_children_status_and_finalizer)
{
	struct job j;
	json_t *o;
	int st;

	create_dbc("orders", "");
	fenv.primary = "eu-west";
	fenv.epoch = 1;
	ck_assert_msg(reconcile("orders", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 6); /* sts, hl svc, pdb, cm, rw, ro */
	ck_assert(j.status_written);
	o = get_dbc("orders");
	ck_assert_str_eq(
	    json_string_value(json_array_get(
		json_object_get(json_object_get(o, "metadata"), "finalizers"),
		0)),
	    "baton.dev/teardown");
	ck_assert_str_eq(status_str(o, "phase"), "Healthy");
	ck_assert_str_eq(status_str(o, "primaryRegion"), "eu-west");
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(o, "status"), "epoch")),
			 1);
	json_decref(o);
	o = get("apps", "v1", "statefulsets", "orders-eu-west", &st);
	ck_assert_msg(st == 0, "StatefulSet missing: %s", baton_errname(st));
	json_decref(o);
	assert_primary_service_epoch("orders-rw", "1");
}
END_TEST

START_TEST(second_reconcile_writes_no_status)
{
	struct job j;
	json_t *o;
	const char *rv1;
	char rv_before[32];

	create_dbc("quiet", "");
	fenv.primary = "eu-west";
	fenv.epoch = 3;
	ck_assert_msg(reconcile("quiet", &j) == 0, "%s", j.errmsg);
	o = get_dbc("quiet");
	rv1 = json_string_value(
	    json_object_get(json_object_get(o, "metadata"), "resourceVersion"));
	snprintf(rv_before, sizeof rv_before, "%s", rv1);
	json_decref(o);
	ck_assert_msg(reconcile("quiet", &j) == 0, "%s", j.errmsg);
	ck_assert(!j.status_written);
	o = get_dbc("quiet");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(o, "metadata"),
					      "resourceVersion")),
	    rv_before);
	json_decref(o);
}
END_TEST

START_TEST(new_epoch_moves_the_primary_service)
{
	struct job j;
	json_t *o;

	create_dbc("moves", "");
	fenv.primary = "eu-west";
	fenv.epoch = 1;
	ck_assert_msg(reconcile("moves", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(fenv.routed, 1);
	fenv.primary = "us-east";
	fenv.epoch = 2;
	ck_assert_msg(reconcile("moves", &j) == 0, "%s", j.errmsg);
	assert_primary_service_epoch("moves-rw", "2");
	/* the routing step reports what it routed to */
	ck_assert_int_eq(fenv.routed, 2);
	ck_assert_str_eq(fenv.routed_primary, "us-east");
	ck_assert_int_eq(fenv.routed_epoch, 2);
	ck_assert_str_eq(fenv.routed_mesh,
			 "plain"); /* the backend of mesh: none */
	o = get_dbc("moves");
	ck_assert_str_eq(status_str(o, "primaryRegion"), "us-east");
	json_decref(o);
}
END_TEST

START_TEST(without_a_committed_primary_it_is_provisioning)
{
	struct job j;
	json_t *o;

	create_dbc("manual", ",\"failover\":{\"mode\":\"manual\","
			     "\"synchronous\":false}");
	fenv.registered = false;
	fenv.primary = NULL;
	ck_assert_msg(reconcile("manual", &j) == 0, "%s", j.errmsg);
	/* nothing is routed anywhere: no routing step to report */
	ck_assert_int_eq(fenv.routed, 0);
	o = get_dbc("manual");
	ck_assert_str_eq(status_str(o, "phase"), "Provisioning");
	json_decref(o);
	/* and no pod may receive writes: the primary Service names epoch 0 */
	assert_primary_service_epoch("manual-rw", "0");
}
END_TEST

/* Routing follows the FSM, and only the FSM: while this region's log does
 * not hold the database (a new one's registration in flight, a follower
 * behind) its routing objects are left as they are. Applying routing for
 * "no database" pointed a lagging region's primary Service at epoch 0 (no
 * endpoints) and cost every new database one apply too many (issue 20). */
START_TEST(routing_waits_for_the_fsm_to_hold_the_database)
{
	struct job j;
	json_t *o;
	int st;

	create_dbc("lag", "");
	fenv.primary = "eu-west";
	fenv.epoch = 3;
	ck_assert_msg(reconcile_in(&env_h, "lag", &j) == 0, "%s", j.errmsg);
	assert_primary_service_epoch("lag-rw", "3");
	ck_assert_int_eq(fenv.routed, 1);

	/* this region's FSM loses sight of it (a restart whose log is
	 * behind): the primary keeps its endpoints, nothing is routed */
	fenv.registered = false;
	fenv.lagging = true;
	fenv.primary = NULL;
	fenv.epoch = 0;
	ck_assert_msg(reconcile_in(&env_h, "lag", &j) == 0, "%s", j.errmsg);
	assert_primary_service_epoch("lag-rw", "3");
	ck_assert_int_eq(fenv.routed, 1);

	/* a new database before its registration commits: its children,
	 * not its routing */
	create_dbc("fresh", "");
	ck_assert_msg(reconcile_in(&env_h, "fresh", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 4);
	o = get(NULL, "v1", "services", "fresh-rw", &st);
	ck_assert_int_eq(st, BATON_ENOTFOUND);
	json_decref(o);
	o = get("apps", "v1", "statefulsets", "fresh-eu-west", &st);
	ck_assert_msg(st == 0, "StatefulSet missing: %s", baton_errname(st));
	json_decref(o);
	/* committed: the routing, once, and the children are not applied
	 * again */
	fenv.lagging = false;
	fenv.primary = "eu-west";
	fenv.epoch = 1;
	ck_assert_msg(reconcile_in(&env_h, "fresh", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 2);
	ck_assert_int_eq(j.skipped, 4);
	assert_primary_service_epoch("fresh-rw", "1");
}
END_TEST

/* A new database's first status waits for its registration to commit
 * (batond/firststatus.h): written once, with the primary, and one phase
 * Event, where it was Provisioning (a status write and an Event) and then
 * the primary (another of each) milliseconds later (issue 20). Without a
 * majority, or once the object is older than the wait, Provisioning is
 * written at once: a registration that cannot commit is not hidden. */
/* A new database NAME whose first reconcile writes Provisioning. */
static void assert_provisioning_at_once(const char *name)
{
	struct job j;
	json_t *o;

	create_dbc(name, "");
	ck_assert_msg(reconcile_in(&env_h, name, &j) == 0, "%s", j.errmsg);
	ck_assert(j.status_written);
	o = get_dbc(name);
	ck_assert_str_eq(status_str(o, "phase"), "Provisioning");
	json_decref(o);
}

START_TEST(a_new_databases_status_is_written_once_with_its_primary)
{
	struct job j;
	json_t *o;

	create_dbc("once", "");
	fenv.lagging = true;
	ck_assert_msg(reconcile_in(&env_h, "once", &j) == 0, "%s", j.errmsg);
	ck_assert(!j.status_written);
	ck_assert_int_eq(fenv.events, 0);
	o = get_dbc("once");
	ck_assert_ptr_null(status_str(o, "phase"));
	json_decref(o);
	/* committed */
	fenv.lagging = false;
	fenv.primary = "eu-west";
	fenv.epoch = 1;
	ck_assert_msg(reconcile_in(&env_h, "once", &j) == 0, "%s", j.errmsg);
	ck_assert(j.status_written);
	ck_assert_int_eq(fenv.events, 1);
	o = get_dbc("once");
	ck_assert_str_eq(status_str(o, "primaryRegion"), "eu-west");
	ck_assert_str_ne(status_str(o, "phase"), "Provisioning");
	json_decref(o);

	/* no majority: no commit can come, so it says so now */
	fenv.registered = false;
	fenv.lagging = true;
	fenv.primary = NULL;
	fenv.epoch = 0;
	fenv.no_quorum = true;
	assert_provisioning_at_once("cut-off");

	/* a majority, but the registration has not committed within the
	 * wait (a full FSM): Provisioning, not silence */
	fenv.no_quorum = false;
	fenv.deletion_age = BATON_FIRSTSTATUS_WAIT_S + 1; /* env_since */
	assert_provisioning_at_once("stuck");
}
END_TEST

START_TEST(delete_drains_then_removes_the_finalizer)
{
	struct job j;
	json_t *o;
	int st;

	create_dbc("gone", "");
	fenv.primary = "eu-west";
	fenv.epoch = 4;
	ck_assert_msg(reconcile("gone", &j) == 0, "%s", j.errmsg);
	delete_dbc("gone");
	/* the Raft group cannot be reached: wait, with a condition */
	fenv.unregister_rv = BATON_ECONN;
	fenv.deletion_age = 5;
	ck_assert_int_eq(reconcile("gone", &j), BATON_EBUSY);
	o = get_dbc("gone");
	ck_assert_str_eq(status_str(o, "phase"), "Deleting");
	json_decref(o);
	/* traffic is drained meanwhile: the primary Service names epoch 0 */
	assert_primary_service_epoch("gone-rw", "0");
	/* past the teardown timeout it gives up, with a Warning Event */
	fenv.deletion_age = 301;
	fenv.events = 0;
	ck_assert_msg(reconcile("gone", &j) == 0, "%s", j.errmsg);
	ck_assert(j.finalizer_removed);
	ck_assert_str_eq(fenv.last_reason, "TeardownTimedOut");
	o = get("baton.dev", "v1alpha1", "databaseclusters", "gone", &st);
	ck_assert_int_eq(st, BATON_ENOTFOUND);
	json_decref(o);
}
END_TEST

START_TEST(delete_with_quorum_is_immediate)
{
	struct job j;
	json_t *o;
	int st;

	create_dbc("quick", "");
	fenv.primary = "eu-west";
	fenv.epoch = 1;
	ck_assert_msg(reconcile("quick", &j) == 0, "%s", j.errmsg);
	delete_dbc("quick");
	fenv.unregister_rv = 0;
	ck_assert_msg(reconcile("quick", &j) == 0, "%s", j.errmsg);
	ck_assert(j.finalizer_removed);
	o = get("baton.dev", "v1alpha1", "databaseclusters", "quick", &st);
	ck_assert_int_eq(st, BATON_ENOTFOUND);
	json_decref(o);
}
END_TEST

START_TEST(serviceexport_follows_the_primary_and_is_pruned)
{
	struct job j;
	json_t *o;
	int st;
	char cmd[512];
	const char *kc = getenv("BATON_KUBECONFIG");
	const char *root = getenv("BATON_ROOT");

	snprintf(
	    cmd, sizeof cmd,
	    "%s/tests/env/bin/kubectl --kubeconfig %s apply --server-side "
	    "-f %s/tests/env/bin/multicluster.x-k8s.io_serviceexports.yaml "
	    ">/dev/null && %s/tests/env/bin/kubectl --kubeconfig %s wait "
	    "--for condition=established --timeout=30s "
	    "crd/serviceexports.multicluster.x-k8s.io >/dev/null",
	    root ? root : ".", kc, root ? root : ".", root ? root : ".", kc);
	ck_assert_int_eq(system(cmd), 0);
	fenv.mcs = true;
	create_dbc("exp", ",\"traffic\":{\"mesh\":\"mcs\",\"service\":"
			  "{\"name\":\"exp-rw\"}}");
	fenv.primary = "eu-west"; /* this region */
	fenv.epoch = 1;
	ck_assert_msg(reconcile("exp", &j) == 0, "%s", j.errmsg);
	o = get("multicluster.x-k8s.io", "v1beta1", "serviceexports", "exp-rw",
		&st);
	ck_assert_msg(st == 0, "the primary's cluster exports: %s",
		      baton_errname(st));
	json_decref(o);
	/* the primary moves away: this cluster must stop exporting */
	fenv.primary = "us-east";
	fenv.epoch = 2;
	ck_assert_msg(reconcile("exp", &j) == 0, "%s", j.errmsg);
	o = get("multicluster.x-k8s.io", "v1beta1", "serviceexports", "exp-rw",
		&st);
	ck_assert_int_eq(st, BATON_ENOTFOUND);
	json_decref(o);
	ck_assert_str_eq(fenv.routed_mesh, "mcs");
	ck_assert_str_eq(fenv.routed_primary, "us-east");
	ck_assert_int_eq(fenv.routed_epoch, 2);
}
END_TEST

/* The status is written as a JSON merge patch, which keeps every key it
 * does not name: a field the new status lacks must be removed, not left
 * from the last failover (the lab showed a stale stepsMillis.labelled). */
START_TEST(status_fields_that_go_away_are_removed)
{
	struct job j;
	json_t *o, *steps;

	create_dbc("steps", "");
	fenv.primary = "eu-west";
	fenv.epoch = 4;
	fenv.last_failover = json_pack(
	    "{s:s, s:s, s:i, s:{s:i, s:i}}", "from", "us-east", "to", "eu-west",
	    "epoch", 4, "stepsMillis", "labelled", 300, "routed", 100);
	ck_assert_msg(reconcile("steps", &j) == 0, "%s", j.errmsg);
	json_decref(fenv.last_failover);
	fenv.primary = "us-east";
	fenv.epoch = 5;
	fenv.last_failover =
	    json_pack("{s:s, s:s, s:i, s:{s:i}}", "from", "eu-west", "to",
		      "us-east", "epoch", 5, "stepsMillis", "routed", 90);
	ck_assert_msg(reconcile("steps", &j) == 0, "%s", j.errmsg);
	o = get_dbc("steps");
	steps = json_object_get(
	    json_object_get(json_object_get(o, "status"), "lastFailover"),
	    "stepsMillis");
	ck_assert_int_eq(json_integer_value(json_object_get(steps, "routed")),
			 90);
	ck_assert_msg(json_object_get(steps, "labelled") == NULL,
		      "labelled is left from epoch 4");
	json_decref(o);
	/* and once written, the same status is not written again */
	ck_assert_msg(reconcile("steps", &j) == 0, "%s", j.errmsg);
	ck_assert(!j.status_written);
	json_decref(fenv.last_failover);
	fenv.last_failover = NULL;
}
END_TEST

/* A prune that cannot list (here: an API discovery claimed but the API
 * server does not serve) leaves the reconcile going, but routing is not
 * reported as done: a stale routing object may still be there. */
START_TEST(failed_prune_is_not_routed)
{
	struct job j;

	create_dbc("unpruned", "");
	fenv.primary = "eu-west";
	fenv.epoch = 3;
	fenv.claim_gke = true;
	ck_assert_msg(reconcile("unpruned", &j) == 0, "%s", j.errmsg);
	assert_primary_service_epoch("unpruned-rw", "3");
	ck_assert_int_eq(fenv.routed, 0);
	/* once it can prune, it is */
	fenv.claim_gke = false;
	ck_assert_msg(reconcile("unpruned", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(fenv.routed, 1);
	ck_assert_int_eq(fenv.routed_epoch, 3);
}
END_TEST

/* Epoch 2 for database NAME (at 1 before): only the routing Services
 * that name it are applied, and the primary Service selects it. */
static void epoch_2_applies_routing_only(const char *name)
{
	char svc[64];
	struct job j;

	fenv.epoch = 2;
	ck_assert_msg(reconcile_in(&env_h, name, &j) == 0, "%s", j.errmsg);
	ck_assert_int_gt(j.applied, 0);
	ck_assert_int_lt(j.applied, 6);
	ck_assert_int_eq(j.applied + j.skipped, 6);
	snprintf(svc, sizeof svc, "%s-rw", name);
	assert_primary_service_epoch(svc, "2");
}

/* Children whose desired state did not change are not applied again
 * (issue 20); what changed is; a region whose pods went (its StatefulSet
 * deleted) gets every child again, once; the live objects carry the
 * stamp. */
START_TEST(unchanged_children_are_not_applied_again)
{
	struct job j;
	json_t *o;
	int st;

	create_dbc("steady", "");
	fenv.primary = "eu-west";
	fenv.epoch = 1;
	ck_assert_msg(reconcile_in(&env_h, "steady", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 6);
	ck_assert_int_eq(j.skipped, 0);
	o = get("apps", "v1", "statefulsets", "steady-eu-west", &st);
	ck_assert_msg(st == 0, "StatefulSet missing: %s", baton_errname(st));
	ck_assert_uint_eq(
	    strlen(json_string_value(json_object_get(
		json_object_get(json_object_get(o, "metadata"), "annotations"),
		"baton.dev/applied-hash"))),
	    16);
	json_decref(o);

	/* nothing changed: nothing applied (without the stamps: all 6) */
	ck_assert_msg(reconcile_in(&env_h, "steady", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 0);
	ck_assert_int_eq(j.skipped, 6);
	ck_assert_msg(reconcile("steady", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 6);

	/* a new epoch: only the routing Services that name it */
	epoch_2_applies_routing_only("steady");

	/* the StatefulSet deleted: while its pods are cached nothing is
	 * applied (the refresh period repairs it); once the region has no
	 * pods, everything is */
	delete_obj("apps", "v1", "statefulsets", "steady-eu-west");
	ck_assert_msg(reconcile_in(&env_h, "steady", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 0);
	fenv.no_pods = true;
	ck_assert_msg(reconcile_in(&env_h, "steady", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 6);
	o = get("apps", "v1", "statefulsets", "steady-eu-west", &st);
	ck_assert_msg(st == 0, "StatefulSet not recreated: %s",
		      baton_errname(st));
	json_decref(o);
	/* once: while its new pods are still to come, nothing (each
	 * reconcile applied all six again before) */
	ck_assert_msg(reconcile_in(&env_h, "steady", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 0);
	ck_assert_uint_eq(baton_applyhash_count(&applied), 1);
}
END_TEST

static void seed_cb(struct baton_applyseed *s)
{
	*(bool *)s->data = true;
}

/* A restart: the applied sets start empty and are seeded from the live
 * children (batond/applyseed.h) in NAMESPACES; what the seed did is
 * checked. */
static void restart_and_seed(const char *const *namespaces,
			     struct baton_applyseed *seed)
{
	bool done = false;

	baton_applyhash_free(&applied);
	/* room for the other tests' databases on this API server */
	baton_applyhash_init(&applied, 100000, BATON_APPLYHASH_REFRESH_MS);
	memset(seed, 0, sizeof *seed);
	seed->data = &done;
	ck_assert_int_eq(
	    baton_applyseed_start(seed, &client, &applied, namespaces, seed_cb),
	    0);
	/* never from within the start */
	ck_assert(!done);
	wait_for(&done);
	ck_assert_msg(seed->error == 0, "seed: %s (%s)",
		      baton_errname(seed->error), seed->errmsg);
	ck_assert(!seed->running);
}

/* After a restart, unchanged children are not applied again: their
 * stamps are read off the live objects (issue 20: a restart at 1,000
 * databases applied 6,000 children); a child deleted while batond was
 * down, and one whose desired state changed, are applied. */
START_TEST(a_restart_reads_the_stamps_off_the_children)
{
	/* a namespace with nothing in it first: the walk goes on to ours */
	const char *const mine[] = {"itest-rec-none", ns, NULL};
	struct baton_applyseed seed;
	struct job j;

	create_dbc("kept", "");
	create_dbc("lost", "");
	fenv.primary = "eu-west";
	fenv.epoch = 1;
	ck_assert_msg(reconcile_in(&env_h, "kept", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 6);
	ck_assert_msg(reconcile_in(&env_h, "lost", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 6);
	/* while batond is down, someone deletes a child */
	delete_obj("", "v1", "configmaps", "lost-eu-west");

	/* these namespaces only: exactly the two databases' live children */
	restart_and_seed(mine, &seed);
	ck_assert_uint_eq(seed.seeded, 11);
	ck_assert_uint_ge(seed.listed, 11);
	ck_assert_uint_eq(baton_applyhash_count(&applied), 2);
	ck_assert_msg(reconcile_in(&env_h, "kept", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 0);
	ck_assert_int_eq(j.skipped, 6);
	ck_assert_msg(reconcile_in(&env_h, "lost", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 1);
	ck_assert_int_eq(j.skipped, 5);

	/* every namespace (the API server holds other tests' children too):
	 * ours are among them; then a new epoch applies only what names it */
	restart_and_seed(NULL, &seed);
	ck_assert_uint_ge(seed.seeded, 12);
	epoch_2_applies_routing_only("kept");

	/* without the seed (the restart before): all six */
	baton_applyhash_free(&applied);
	baton_applyhash_init(&applied, 100, BATON_APPLYHASH_REFRESH_MS);
	ck_assert_msg(reconcile_in(&env_h, "lost", &j) == 0, "%s", j.errmsg);
	ck_assert_int_eq(j.applied, 6);
}
END_TEST

/* A seed cancelled mid-way says so, once, and leaves what it took. */
START_TEST(a_cancelled_seed_says_so)
{
	struct baton_applyseed seed;
	bool done = false;

	memset(&seed, 0, sizeof seed);
	seed.data = &done;
	ck_assert_int_eq(
	    baton_applyseed_start(&seed, &client, &applied, NULL, seed_cb), 0);
	ck_assert(seed.running);
	baton_applyseed_cancel(&seed);
	ck_assert(done);
	ck_assert_int_eq(seed.error, BATON_ECANCELED);
	ck_assert(!seed.running);
	/* a second cancel does nothing */
	done = false;
	baton_applyseed_cancel(&seed);
	ck_assert(!done);
}
END_TEST

/* The DatabaseCluster as batond's informer caches it (its status as
 * compressed text: batond/cachefields.h). */
static json_t *get_cached(const char *name)
{
	json_t *o = get_dbc(name);
	baton_cachefields_dbc_local(o);
	return o;
}

/* The status a reconcile wrote comes back from the API server as the
 * status it wanted: its watch event is the echo and needs no reconcile
 * (issue 20); a status written by someone else is not. */
START_TEST(the_status_written_comes_back_as_its_echo)
{
	struct job j;
	json_t *before, *after;

	create_dbc("echo", "");
	fenv.registered = true;
	fenv.primary = "eu-west";
	fenv.epoch = 3;
	ck_assert_msg(reconcile_in(&env_e, "echo", &j) == 0, "%s", j.errmsg);
	ck_assert(j.status_written);
	before = get_cached("echo");
	/* an input changes: a new status */
	fenv.primary = "us-east";
	fenv.epoch = 4;
	ck_assert_msg(reconcile_in(&env_e, "echo", &j) == 0, "%s", j.errmsg);
	ck_assert(j.status_written);
	after = get_cached("echo");
	ck_assert(baton_statusecho_echo(&echoes, before, after));
	/* what the echo's reconcile would do: nothing */
	ck_assert_msg(reconcile_in(&env_e, "echo", &j) == 0, "%s", j.errmsg);
	ck_assert(!j.status_written);
	/* the write of the status before (someone else's, or a stale one)
	 * is not the echo */
	ck_assert(!baton_statusecho_echo(&echoes, after, before));
	json_decref(before);
	json_decref(after);
}
END_TEST

/* A reconcile of the object as it was before this process's own status
 * write (a cache the write's watch event has not reached yet: a
 * database's second reconcile, woken while its first ran) waits for it;
 * it used to write the same status again, with new transition times and
 * the phase Event a second time (issue 20). */
START_TEST(a_reconcile_on_a_cache_behind_its_own_write_waits)
{
	struct job j;
	json_t *stale, *fresh;
	int events;
	int rv;

	create_dbc("behind", "");
	fenv.registered = true;
	fenv.primary = "eu-west";
	fenv.epoch = 2;
	ck_assert_msg(reconcile_in(&env_e, "behind", &j) == 0, "%s", j.errmsg);
	ck_assert(j.status_written);
	events = fenv.events;
	/* the cache still has the object without the status written (its
	 * finalizer's echo, say) */
	stale = get_dbc("behind");
	json_object_del(stale, "status");
	baton_cachefields_dbc_local(stale);
	memset(&j, 0, sizeof j);
	j.r.data = &j;
	ck_assert_int_eq(baton_reconcile_start(&j.r, &env_e, stale, job_cb), 0);
	wait_for(&j.done);
	ck_assert_int_eq(j.status, BATON_EBUSY);
	ck_assert(!j.status_written);
	ck_assert_int_eq(fenv.events, events);
	/* the write reaches the cache: nothing to write */
	fresh = get_cached("behind");
	memset(&j, 0, sizeof j);
	j.r.data = &j;
	ck_assert_int_eq(baton_reconcile_start(&j.r, &env_e, fresh, job_cb), 0);
	wait_for(&j.done);
	rv = j.status;
	ck_assert_msg(rv == 0, "%s", j.errmsg);
	ck_assert(!j.status_written);
	ck_assert_int_eq(fenv.events, events);
	json_decref(stale);
	json_decref(fresh);
}
END_TEST

static Suite *reconcile_suite(void)
{
	Suite *s = suite_create("reconcile");
	TCase *tc = tcase_create("real-apiserver");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, reconcile_creates_children_status_and_finalizer);
	tcase_add_test(tc, second_reconcile_writes_no_status);
	tcase_add_test(tc, new_epoch_moves_the_primary_service);
	tcase_add_test(tc, without_a_committed_primary_it_is_provisioning);
	tcase_add_test(tc, routing_waits_for_the_fsm_to_hold_the_database);
	tcase_add_test(tc,
		       a_new_databases_status_is_written_once_with_its_primary);
	tcase_add_test(tc, delete_drains_then_removes_the_finalizer);
	tcase_add_test(tc, delete_with_quorum_is_immediate);
	tcase_add_test(tc, serviceexport_follows_the_primary_and_is_pruned);
	tcase_add_test(tc, failed_prune_is_not_routed);
	tcase_add_test(tc, status_fields_that_go_away_are_removed);
	tcase_add_test(tc, unchanged_children_are_not_applied_again);
	tcase_add_test(tc, the_status_written_comes_back_as_its_echo);
	tcase_add_test(tc, a_reconcile_on_a_cache_behind_its_own_write_waits);
	tcase_add_test(tc, a_restart_reads_the_stamps_off_the_children);
	tcase_add_test(tc, a_cancelled_seed_says_so);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(reconcile_suite)
