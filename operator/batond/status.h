/* DatabaseCluster status as a pure function of what batond knows.
 *
 * Each region's batond writes status into its own cluster from: the parsed
 * spec (or why it is invalid), the Raft FSM's view of the database (primary
 * region, epoch, phase — the only source of truth for who is primary), and
 * what it observes of every region (its own pods, and the peers' through
 * their API servers). Conditions follow metav1.Condition: a condition's
 * lastTransitionTime changes only when its status changes, so repeated
 * reconciles write identical status and cause no churn.
 */
#ifndef BATON_BATOND_STATUS_H
#define BATON_BATOND_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "batond/dbspec.h"

struct baton_region_obs {
	const char *name;
	bool reachable;	       /* its API server (or ours) answered recently */
	int ready;	       /* ready database instances */
	int replicas;	       /* desired instances */
	int64_t lag_bytes;     /* -1: unknown */
	const char *role;      /* "primary", "replica", "witness", NULL */
	const char *last_seen; /* RFC 3339, NULL: never */
	/* "host:port" of the region's primary instance while it serves as
	 * primary (replicas elsewhere stream from it), NULL: none */
	const char *endpoint;
	/* comma-separated application names the region's primary reports
	 * as synchronous standbys, NULL: none */
	const char *sync_standbys;
	/* "host:port" of the region's designated instance whatever its
	 * role (where standbys go as soon as it is promoted), NULL */
	const char *instance_endpoint;
};

/* One data region's designation, as the FSM has it (docs/
 * design-per-instance.md §3.1): the designated ordinal, the members M (the
 * instances that may hold the only copy of a commit) and the listed L (what
 * the primary's synchronous list may name), one bit per ordinal. */
struct baton_fsm_desig {
	const char *region;
	int designated;
	uint16_t members, listed;
};

#define BATON_FSM_VIEW_REGIONS 8

struct baton_fsm_view {
	bool registered;	    /* the FSM knows the database */
	bool quorum;		    /* this batond can reach a Raft majority */
	const char *primary_region; /* NULL: none */
	uint64_t epoch;
	const char *phase; /* FSM phase: "Healthy", "FailingOver", ... */
	const char *last_failover; /* JSON text of lastFailover, or NULL */
	/* the primary's lease expired and no promotion followed yet */
	bool primary_lost;
	bool automatic; /* failover.mode in force (Raft): status.failoverMode */
	/* a due failover waits: "WaitingForStandby" (for BLOCKED_REGION's
	 * final position) or "NoCandidate"; NULL when it does not */
	const char *blocked;
	const char *blocked_region;
	/* every data region's designation, by region name */
	int n_desig;
	struct baton_fsm_desig desig[BATON_FSM_VIEW_REGIONS];
};

struct baton_status_input {
	const struct baton_dbspec *spec; /* NULL if the spec is invalid */
	int64_t generation;
	const char *spec_error; /* why the spec cannot work, or NULL */
	const struct baton_fsm_view *fsm;
	const struct baton_region_obs *regions;
	int n_regions;
	const char *mesh_error; /* mesh adapter problem (CRDs missing...) */
	bool deleting;
	const char *deleting_waiting_for; /* what teardown waits for */
	const char *now;		  /* RFC 3339, for lastTransitionTime */
	/* status.switchover as batond keeps it (borrowed; NULL: none): the
	 * last spec.primaryRegion request and how it went */
	json_t *switchover;
};

/* The new status object. OLD (may be NULL) is the current status, whose
 * conditions' lastTransitionTime is kept where the status did not change. */
json_t *baton_status_compute(const struct baton_status_input *in, json_t *old);

/* status.history: the promotions before the last one, newest first, at
 * most BATON_STATUS_HISTORY. Sets ST's history from OLD's: when ST's
 * lastFailover is of another epoch than OLD's, OLD's lastFailover joins
 * the front (the record as this region last wrote it: completedAt and
 * steps included). Nothing else ever enters it, so a restarted batond
 * (which keeps the old lastFailover) adds nothing twice. */
#define BATON_STATUS_HISTORY 10
void baton_status_history(json_t *st, json_t *old);

/* The Events a change of the regions' designations from OLD to ST calls
 * for, each through EMIT (TYPE "Normal" or "Warning"): DesignationStarted
 * (a region's move began: Joining), DesignationStalled (the joiner is given
 * up: givingUp), DesignationCompleted (another instance is designated).
 * Nothing when OLD is NULL (a first status says nothing changed). */
void baton_status_designation_events(json_t *old, json_t *st,
				     void (*emit)(void *data, const char *type,
						  const char *reason,
						  const char *message),
				     void *data);

#endif /* BATON_BATOND_STATUS_H */
