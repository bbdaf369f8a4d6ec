/* What batond sees for the designation (docs/design-per-instance.md §3.3,
 * §3.7): the input consensus/designate.c judges, filled from the pod
 * informer and the agent driver (batond/agents.h).
 *
 * Two parts, as syncset.h and agents.c are:
 *
 * - baton_designation_fill(), pure: no I/O and no clock (the caller passes
 *   NOW on the driver's clock and the wall clock's reading with it). From
 *   one database's pods (the informer's objects), their agents' last
 *   statuses and the primary agent's last `standbys` answer it fills a
 *   struct baton_designate_input: the pods of a standby region by ordinal,
 *   or the primary's answer and standby rows by (FSM region, ordinal).
 *   Since-times from the API server (a deletion, Ready=Unknown) are wall
 *   times; each becomes NOW - (wall now - t), clamped to [0, NOW] (a time
 *   ahead of this clock counts as now: a skewed clock can only make a
 *   designation wait longer). Where the API gives no time (phase Failed,
 *   a pod with no object at all) the since is the first look that saw it,
 *   kept in struct baton_designation_memory: after a restart that is
 *   later, never earlier.
 *
 * - struct baton_designation, the glue the Raft driver reaches through the
 *   observer (raftglue.c, only with --designation; daemon.c points it
 *   here): it finds the objects, keeps that memory per database and the
 *   spec's three fields per object generation, and calls the filler.
 *
 * Timing only decides *when* a change starts; the FSM's rules keep it
 * safe whatever these say (§2).
 */
#ifndef BATON_BATOND_DESIGNATION_H
#define BATON_BATOND_DESIGNATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus/designate.h"
#include "consensus/index.h"

struct baton_agents;

/* One ordinal of this region's StatefulSet, as batond has it. */
struct baton_designation_pod {
	json_t *pod;	    /* the informer's object, NULL: none */
	json_t *status;	    /* its agent's last status, NULL: never read */
	uint64_t status_ms; /* when it was read (NOW's clock) */
};

/* The primary region's designated instance, as batond has its agent. */
struct baton_designation_primary {
	json_t *status; /* its last status, NULL: never read */
	uint64_t status_ms;
	/* the last successful `standbys` answer (agents.h) */
	bool answer;
	uint64_t answer_epoch, answer_gen, answer_x, answer_ms;
};

struct baton_designation_view {
	int replicas;		       /* this region's, from the spec */
	uint32_t redesignate_after_ms; /* spec.failover */
	uint64_t max_lag_bytes;	       /* spec.failover.maxLagBytes */
	/* a standby region: where the primary's instance is ("host:port",
	 * its instance endpoint and its published endpoint; NULL: unknown),
	 * and this region's pods by ordinal */
	const char *primary_instance;
	const char *primary_endpoint;
	struct baton_designation_pod pods[BATON_ORDINALS];
	/* the primary region */
	struct baton_designation_primary primary;
	uint64_t now;	     /* the driver's clock (ms) */
	int64_t now_wall_ms; /* CLOCK_REALTIME at NOW (ms since 1970) */
};

/* Since-times only batond can know, per database; zeroed at first. */
struct baton_designation_memory {
	uint64_t missing_ms[BATON_ORDINALS]; /* no object (0: it has one) */
	uint64_t failed_ms[BATON_ORDINALS];  /* phase Failed (0: not) */
	uint64_t unknown_ms[BATON_ORDINALS]; /* Ready=Unknown, no time */
	uint64_t deleted_ms[BATON_ORDINALS]; /* deleting, no time */
};

/* Fills IN (IN->st, IN->me and IN->applied set by the caller) from V:
 * the spec's fields; for a standby region each ordinal's pod and agent
 * rows; for the primary region its answer and its status's standby rows,
 * their application_name mapped to (FSM region, ordinal) through the pod
 * naming rule (baton_children_pod_name()), names of no standby region's
 * pod ignored. MEM keeps the first-look times. Pure. */
void baton_designation_fill(const struct baton_designation_view *v,
			    struct baton_designation_memory *mem,
			    struct baton_designate_input *in);

/* ---- the glue ------------------------------------------------------------ */

struct baton_designation {
	/* Private. Per database: memory and the spec's fields. */
	struct baton_index dbs;
	uint64_t swept_ms;
};

void baton_designation_init(struct baton_designation *d);
void baton_designation_free(struct baton_designation *d);

/* The observer's designate (batond/consensus.h) for agent driver A (NULL:
 * not running, nothing known): fills IN for DB at NOW (the driver's
 * clock). False without the DatabaseCluster or its spec. */
bool baton_designation_designate(struct baton_designation *d,
				 struct baton_agents *a, const char *db,
				 struct baton_designate_input *in,
				 uint64_t now);

#endif /* BATON_BATOND_DESIGNATION_H */
