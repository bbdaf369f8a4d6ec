/* The label fence: the role and epoch labels of this region's database
 * pods, as a pure planner over one request struct.
 *
 * The primary Service selects baton.dev/role=primary, so these labels are
 * where a promotion becomes traffic and where a demoted instance stops
 * receiving it. The controller (batond/controller.c) decides which pod
 * should be primary (the lowest ordinal while this region holds a valid
 * lease), fences the peers first (fence before promote, ARCHITECTURE §5),
 * and sends the patches; this module says, without I/O or clock, which
 * pod needs which label, whether a patch for it is already under way and
 * which request slot is free.
 *
 * Bounded: at most BATON_LABEL_SLOTS patches are in flight per controller;
 * a database that finds no free slot waits for one (the controller keeps
 * the list).
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

/* The TrafficShifted message for R (a primary label that landed), MS after
 * the promote was applied here (-1: none applied here since start). */
void baton_labels_shifted_message(const struct baton_label_req *r, int64_t ms,
				  char *buf, size_t size);

#endif /* BATON_BATOND_LABELS_H */
