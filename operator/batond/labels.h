/* The label fence: the role and epoch labels of this region's database
 * pods, as a pure planner over one request struct.
 *
 * The primary Service selects baton.dev/role=primary, so these labels are
 * where a promotion becomes traffic and where a demoted instance stops
 * receiving it. The controller (batond/controller.c) reads the FSM (which
 * pod should be primary: the lowest ordinal while this region holds a
 * valid lease; the epoch), feeds the database's cached pods to
 * baton_labels_plan() and sends the patches it plans; this module says,
 * without I/O or clock, which pod needs which label, whether a patch for it
 * is already under way and which request slot it takes.
 *
 * Fence before promote (ARCHITECTURE §5): the wanted primary is labelled
 * only once peer fencing says no peer region still has an instance of the
 * database labelled primary below the epoch. Asking starts a fencing round
 * (I/O), so the plan does not ask: it says the answer is needed
 * (plan.fence), and the controller asks and plans again with it. Replicas
 * are relabelled whatever the answer (a stale primary here is demoted at
 * once).
 *
 * Bounded: at most BATON_LABEL_SLOTS patches are in flight per controller;
 * a database that finds no free slot waits for one (plan.wait; the
 * controller keeps the list).
 */
#ifndef BATON_BATOND_LABELS_H
#define BATON_BATOND_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/fsm.h"
#include "kube/client.h"

#define BATON_LABEL_SLOTS 8

/* A patch that landed this recently is taken as done while the pod cache
 * has not caught up with it: the pod is not patched twice. */
#define BATON_LABEL_SETTLE_MS 2000

/* One label patch and what it is for (TrafficShifted, the failover's
 * "labelled" step). */
struct baton_label_req {
	struct baton_kube_request req;
	char db[BATON_NAME_SIZE];
	char pod[64];
	uint64_t epoch;
	bool primary;
	/* in flight; or when it landed (monotonic ms, 0: failed or never) */
	bool busy;
	uint64_t done_ms;
};

/* A cached pod's identity and fence labels (any may be NULL). */
struct baton_label_pod {
	const char *ns;
	const char *name;
	const char *cluster; /* baton.dev/cluster */
	const char *role;    /* baton.dev/role */
	const char *epoch;   /* baton.dev/epoch */
};

/* The role POD must be labelled with at EPOCH ("primary" when it is
 * WANT_PRIMARY, else "replica"), or NULL when there is nothing to do: it
 * has that role and epoch already, or it is not a pod of the database
 * CLUSTER in NS. */
const char *baton_labels_want(const struct baton_label_pod *pod, const char *ns,
			      const char *cluster, const char *want_primary,
			      const char *epoch);

/* A patch of POD of DB is in flight, or the same patch (PRIMARY at EPOCH)
 * landed less than BATON_LABEL_SETTLE_MS before NOW: its watch event will
 * bring the database back. */
bool baton_labels_in_flight(const struct baton_label_req *reqs, int n,
			    const char *db, const char *pod, bool primary,
			    uint64_t epoch, uint64_t now);

/* The first request slot not in flight, or -1. */
int baton_labels_free_slot(const struct baton_label_req *reqs, int n);

/* What the planner is given besides the pods: one database, what its
 * labels should say, and the request slots. */
struct baton_label_plan_in {
	const char *db;		  /* "ns/name": the requests' key */
	const char *ns;		  /* the database's namespace ... */
	const char *cluster;	  /* ... and name (baton.dev/cluster) */
	const char *want_primary; /* the pod to label primary ("": none) */
	uint64_t epoch;		  /* the FSM's epoch */
	const struct baton_label_req *reqs; /* the request slots */
	int n_reqs;
	uint64_t now; /* monotonic ms */
	/* peer fencing is done for this epoch (fence before promote) */
	bool fence_done;
};

/* One patch to send: label pods[pod] ROLE at EPOCH through reqs[slot]. */
struct baton_label_action {
	unsigned pod;
	const char *role; /* "primary" or "replica" (static strings) */
	bool primary;
	uint64_t epoch;
	int slot;
};

struct baton_label_plan {
	struct baton_label_action actions[BATON_LABEL_SLOTS];
	int n;
	/* the wanted primary needs its label but in.fence_done was false:
	 * ask peer fencing, and plan again with true if it is done */
	bool fence;
	/* a pod needs a patch and every slot is taken: the database waits
	 * for one to free (the pods after it are not looked at) */
	bool wait;
};

/* Plans the patches that bring PODS (one database's pods in this region's
 * cache, in the cache index's order; other databases' pods are ignored) in
 * line with IN, in that order: a pod that needs no label, or has a patch
 * in flight (baton_labels_in_flight), is skipped; the wanted primary is
 * held back while !in.fence_done; each other pod takes the next free slot,
 * until none is left. Pure: the same input gives the same plan. */
void baton_labels_plan(const struct baton_label_plan_in *in,
		       const struct baton_label_pod *pods, unsigned n_pods,
		       struct baton_label_plan *plan);

/* POD's (a cached pod object, or NULL) identity and fence labels; the
 * strings are POD's. */
struct baton_label_pod baton_labels_pod(json_t *pod);

/* The JSON merge patch that sets A's role and epoch labels (NULL: no
 * memory). */
json_t *baton_labels_patch(const struct baton_label_action *a);

/* The TrafficShifted message for R (a primary label that landed), MS after
 * the promote was applied here (-1: none applied here since start). */
void baton_labels_shifted_message(const struct baton_label_req *r, int64_t ms,
				  char *buf, size_t size);

#endif /* BATON_BATOND_LABELS_H */
