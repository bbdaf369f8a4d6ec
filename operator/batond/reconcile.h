/* Reconciling one DatabaseCluster in this region's cluster.
 *
 * Happy path, each step an async call on the region's kube client:
 *   1. parse the spec; a spec that cannot work → status with SpecValid=False
 *      and an Event, and stop (no requeue: the next edit re-enqueues it);
 *   2. add the baton.dev/teardown finalizer (JSON patch with a test op, so
 *      a concurrent writer is detected, never overwritten);
 *   3. ask the Raft group to register the database (idempotent);
 *   4. server-side apply the region's children and the mesh backend's
 *      routing objects for the primary the FSM names (field manager batond,
 *      force: batond owns these fields), each stamped with the hash of its
 *      desired state; with env->applied, only those whose stamp this
 *      process has not applied yet (batond/applyhash.h says when drift is
 *      repaired all the same). While this region's FSM does not hold the
 *      database (its registration in flight, or this region's log behind)
 *      the routing objects are neither applied nor pruned, left as they
 *      are: the FSM alone says who is primary, and routing for "no
 *      database" points the primary Service at epoch 0, wrong for a
 *      region whose log lags and one apply too many for a new database,
 *      whose commit reconciles it again (issue 20);
 *   5. compute status (pure, batond/status.c) and patch /status only if it
 *      differs, so a reconcile that learns nothing writes nothing; a new
 *      database's first status waits for its registration to commit
 *      (batond/firststatus.h), so it is written once, with its primary.
 *
 * Deletion: the primary Service is pointed at epoch 0 (no endpoints: traffic
 * drained), the database is removed from the FSM, then the finalizer is
 * removed. If the FSM cannot be reached (no quorum, a region down) the job
 * reports what it waits for in a Deleting condition and retries, up to
 * spec.teardown.timeoutSeconds after the deletion started; then it removes
 * the finalizer anyway and records a Warning Event — the data stays unless
 * retainData is false, so giving up never loses data.
 *
 * Failure: the job ends with the first error (callback status != 0, errmsg
 * set) and the caller requeues the key with backoff. Cancel: closing the
 * kube client cancels the requests; the job ends with BATON_ECANCELED.
 */
#ifndef BATON_BATOND_RECONCILE_H
#define BATON_BATOND_RECONCILE_H

#include <jansson.h>

struct baton_agentpki;
#include <stdbool.h>

#include "batond/applyhash.h"
#include "batond/dbspec.h"
#include "batond/status.h"
#include "batond/statusecho.h"
#include "kube/rest.h"

#define BATON_FIELD_MANAGER "batond"
#define BATON_RECONCILE_MAX_OBJECTS BATON_APPLYHASH_MAX_OBJECTS

/* What the reconciler needs from the daemon, behind function pointers so the
 * same code runs in batond and in tests. */
struct baton_reconcile_env {
	void *data;
	struct baton_kube_client *kube;
	const char *region;
	const char *batond_url; /* agents reach batond here */
	/* The region's agent CA (NULL: the agent API is plain HTTP): each
	 * database's agents get their certificate as a child Secret. */
	struct baton_agentpki *agent_pki;
	/* The FSM's view of NS/NAME. Strings must stay valid until the job
	 * ends. */
	void (*fsm_view)(void *data, const struct baton_dbspec *spec,
			 struct baton_fsm_view *out);
	/* Ask the Raft group to register / remove the database. Returns 0
	 * when done (committed), BATON_EBUSY when in progress (the caller
	 * requeues), or an error. */
	int (*fsm_register)(void *data, const struct baton_dbspec *spec);
	int (*fsm_unregister)(void *data, const struct baton_dbspec *spec);
	/* Observations of every region (own pods, peers' clusters). Returns
	 * the number filled. */
	int (*observe)(void *data, const struct baton_dbspec *spec,
		       struct baton_region_obs *obs, int max);
	/* The cluster's DNS domain (NULL: cluster.local). */
	const char *cluster_domain;
	/* The Istio cluster ID of REGION (NULL: the region name). */
	const char *(*istio_cluster_id)(void *data, const char *region);
	/* Whether GROUP/VERSION is served by this cluster (mesh CRDs). */
	bool (*api_served)(void *data, const char *group_version);
	/* Record an Event on OBJ. */
	void (*event)(void *data, json_t *obj, const char *type,
		      const char *reason, const char *message);
	/* Current time in RFC 3339 (tests inject it). */
	const char *(*now)(void *data, char *buf, size_t size);
	/* Seconds since the RFC 3339 time TS (teardown timeout). */
	double (*seconds_since)(void *data, const char *ts);
	/* Acts on a changed spec.primaryRegion (planned switchover, manual
	 * promotion) and returns the new status.switchover (a reference) or
	 * NULL. OBJ is the DatabaseCluster. May be NULL (tests). */
	json_t *(*switchover)(void *data, const struct baton_dbspec *spec,
			      json_t *obj);
	/* status.lastFailover for the spec's database (a reference), or
	 * NULL to keep what the status holds. May be NULL. */
	json_t *(*last_failover)(void *data, const struct baton_dbspec *spec);
	/* Every routing object of the database is as desired for PRIMARY at
	 * EPOCH in this cluster: all applied, everything no longer desired
	 * pruned (MESH: the backend used). Called once per reconcile that got
	 * there, before the status is written. May be NULL. */
	void (*routed)(void *data, const struct baton_dbspec *spec,
		       const char *primary, uint64_t epoch, const char *mesh);
	/* The stamps of the children applied so far (batond/applyhash.h):
	 * a child whose desired state is unchanged is not applied again.
	 * NULL: every reconcile applies every child. */
	struct baton_applyhash *applied;
	/* The status each database's reconcile wants (batond/statusecho.h):
	 * the watch event of that status written is no new reconcile. NULL:
	 * every update reconciles. */
	struct baton_statusecho *echoes;
};

struct baton_reconcile;
typedef void (*baton_reconcile_cb)(struct baton_reconcile *r, int status);

struct baton_reconcile {
	void *data;
	char errmsg[BATON_ERRMSG_SIZE];
	/* Outcome details, valid in the callback. */
	bool status_written; /* /status was patched */
	int objects_applied;
	int objects_skipped; /* unchanged since applied (env->applied) */
	bool finalizer_removed;
	/* Private. */
	const struct baton_reconcile_env *env;
	json_t *obj;
	json_t *objects;
	/* the prune step's delete requests (heap), freed when the job ends */
	struct baton_reconcile_prune *prune_reqs;
	struct baton_dbspec spec;
	char spec_error[BATON_ERRMSG_SIZE];
	char mesh_error[BATON_ERRMSG_SIZE];
	char waiting_for[BATON_ERRMSG_SIZE];
	struct baton_kube_request reqs[BATON_RECONCILE_MAX_OBJECTS];
	/* the apply step's objects: stamp, whether it is live as desired */
	uint64_t stamps[BATON_RECONCILE_MAX_OBJECTS];
	bool live[BATON_RECONCILE_MAX_OBJECTS];
	uint64_t applied_since;
	int pending;
	int first_error;
	bool prune_failed;
	/* the FSM holds the database: its routing objects are applied and
	 * pruned (else left as they are) */
	bool routing;
	int step;
	/* what the apply step routed to (for env->routed) */
	char routed_primary[64]; /* a region name */
	uint64_t routed_epoch;
	const char *routed_mesh;
	baton_reconcile_cb cb;
};

/* Starts reconciling OBJ (borrowed; a reference is kept until the callback).
 * The callback runs exactly once, from the loop. */
int baton_reconcile_start(struct baton_reconcile *r,
			  const struct baton_reconcile_env *env, json_t *obj,
			  baton_reconcile_cb cb);

/* group, version and plural resource for an apiVersion + kind the reconciler
 * writes; 0 or BATON_EINVAL. GROUP is "" for the core group. */
int baton_reconcile_resource(const char *api_version, const char *kind,
			     char *group, size_t group_size, char *version,
			     size_t version_size, const char **resource);

#endif /* BATON_BATOND_RECONCILE_H */
