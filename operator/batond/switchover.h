/* spec.primaryRegion: planned switchover and manual promotion, as a pure
 * policy.
 *
 * spec.primaryRegion names the initial primary; afterwards a *change* of it
 * is a request, and so is a new value of the annotation
 * baton.dev/switchover ("<region>" or "<region>/<any request id>"), which
 * can also name the region the spec already names (moving back after a
 * failover, which leaves the spec as it was). status.switchover remembers
 * the last request handled (target, specPrimary, request, state), so an
 * automatic failover never triggers a switch back and an unrelated spec
 * edit triggers nothing. Only the Raft leader proposes; the request must
 * be made in every region (batonctl switchover does) so the leader's batond
 * sees it wherever the leader is.
 *
 * No I/O and no clock: the request, the FSM's state, the old record, the
 * time and whether this node leads go in; the new status.switchover, at
 * most one command to propose, the Events to record and whether to look
 * again shortly come out. The controller (batond/controller.c) reads the
 * clock, proposes, records and requeues.
 */
#ifndef BATON_BATOND_SWITCHOVER_H
#define BATON_BATOND_SWITCHOVER_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "consensus/fsm.h"

/* A switchover that has not finished (fenced and promoted) this long after
 * it was requested is aborted or refused. */
#define BATON_SWITCHOVER_TIMEOUT_S 120

/* At most this many Events come out of one decision. */
#define BATON_SWITCHOVER_MAX_EVENTS 2

struct baton_switchover_in {
	const char *db;		  /* "ns/name", the FSM's name */
	const char *spec_primary; /* spec.primaryRegion */
	int64_t generation;	  /* metadata.generation */
	/* the baton.dev/switchover annotation, or NULL */
	const char *request;
	/* status.switchover (borrowed), or NULL */
	json_t *old;
	/* The FSM's state of DB, or NULL (not registered yet). */
	const struct baton_db_state *st;
	bool leader; /* this node is the Raft leader */
	/* The leader's decider considers the primary's lease expired
	 * (manual mode: a human may promote now). */
	bool lease_expired;
	/* No switchover or promote was proposed for DB in the last second
	 * (the controller keeps that time): a command may come out. */
	bool may_propose;
	/* Now on the wall clock: as RFC 3339 (seconds) for the record, and
	 * in seconds to measure how long a request has waited. */
	const char *now;
	time_t now_s;
};

struct baton_switchover_event {
	const char *type; /* "Normal" or "Warning" */
	const char *reason;
	char message[300];
};

struct baton_switchover_out {
	/* The new status.switchover (a new reference), or NULL. */
	json_t *record;
	/* CMD is to be proposed (then no other may be for a second). */
	bool propose;
	struct baton_cmd cmd;
	/* Events to record on the DatabaseCluster, in order. */
	int n_events;
	struct baton_switchover_event events[BATON_SWITCHOVER_MAX_EVENTS];
	/* A request is in flight: reconcile again in a second. */
	bool requeue;
};

/* Decides what to do with IN; fills OUT (the caller releases
 * OUT->record). */
void baton_switchover_decide(const struct baton_switchover_in *in,
			     struct baton_switchover_out *out);

#endif /* BATON_BATOND_SWITCHOVER_H */
