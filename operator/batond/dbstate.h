/* The controller's per-database state: one typed record per database
 * ("ns/name", its name in the Raft FSM), kept in a baton_index
 * (consensus/index.h): O(1) by name, bounded, stable addresses.
 *
 * A record holds what the controller remembers of a database between
 * reconciles:
 *
 * - its pods in this region's pod cache, by the informer's key ("ns/pod"),
 *   in the order they were indexed (a pod that changes moves to the end):
 *   per-database questions (observe, labels, readiness) never scan every
 *   cached pod;
 * - whether its label sync found every request slot busy (it syncs again,
 *   first come first served, when one frees);
 * - when it last proposed a switchover or promote (at most one a second);
 * - the FSM's primary region as the last view read it: the string the
 *   view hands out, owned by the record, so two databases' views never
 *   share a buffer;
 * - peer fencing's round (batond/peerfence.c): the epoch its last round
 *   ended at, the requests of the round still out;
 * - status.lastFailover as this batond saw it (batond/lastfailover.c) and
 *   when its promote was applied here.
 *
 * Lifetime: a record is created by the first thing it has to remember and
 * freed once it remembers nothing (its last pod gone, nothing waiting,
 * nothing proposed, no view, no fencing round, no lastFailover), by
 * baton_dbstate_forget() (the DatabaseCluster was deleted: only its cached
 * pods and a fencing round still out, if any, stay), and by
 * baton_dbstate_free() (the controller closes). Strings a record handed
 * out stay valid until then.
 *
 * Bounded: at most BATON_DBSTATE_MAX records and BATON_DBSTATE_MAX_PODS
 * pods per record (BATON_ETOOLARGE beyond); names longer than
 * BATON_NAME_SIZE - 1 bytes are refused (BATON_EINVAL): dbspec_parse
 * refuses such databases, so nothing would ever ask for them.
 *
 * Single-threaded (the loop's thread); no callbacks, no I/O.
 */
#ifndef BATON_BATOND_DBSTATE_H
#define BATON_BATOND_DBSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "consensus/decider.h"
#include "consensus/index.h"

/* records: every registered database and then as many named only by
 * stray pods' labels */
#define BATON_DBSTATE_MAX (2 * BATON_MAX_DATABASES)
/* cached pods of one database (replicas of one region, far fewer) */
#define BATON_DBSTATE_MAX_PODS 1024

struct baton_dbrec {
	char name[BATON_NAME_SIZE]; /* "ns/name" */
	/* the database's cached pods: n_pods keys, strdup'ed */
	char **pods;
	unsigned n_pods;
	/* the label sync waits for a free request slot */
	bool label_waiting;
	/* a switchover or promote was proposed, at proposed_ms (monotonic) */
	bool proposed;
	uint64_t proposed_ms;
	/* the FSM's primary region as last viewed ("" before) */
	char primary[BATON_NAME_SIZE];
	/* peer fencing: a round ended at fenced_epoch; FENCING requests of
	 * the current round are still out (0: no round) */
	bool fenced;
	uint64_t fenced_epoch;
	int fencing;
	/* status.lastFailover (a reference; NULL: none) and the monotonic ms
	 * its promote was applied here */
	json_t *last_failover;
	uint64_t promote_ms;

	/* Private. */
	unsigned cap_pods;
	struct baton_dbrec *wait_next, *wait_prev; /* the waiting FIFO */
};

struct baton_dbstate {
	/* Private. */
	struct baton_index ix;
	struct baton_dbrec *wait_head, *wait_tail;
};

/* An empty table; allocates nothing. */
void baton_dbstate_init(struct baton_dbstate *t);
/* Frees every record; the table is empty again. */
void baton_dbstate_free(struct baton_dbstate *t);

/* DB's record, or NULL. */
struct baton_dbrec *baton_dbstate_get(struct baton_dbstate *t, const char *db);
/* DB's record, made if there is none; NULL if none can be (a name too
 * long, the bound, no memory). For a module that keeps its own fields in
 * the record (peer fencing): it must set one that keeps the record. */
struct baton_dbrec *baton_dbstate_obtain(struct baton_dbstate *t,
					 const char *db);
/* How many records there are. */
unsigned baton_dbstate_count(const struct baton_dbstate *t);

/* POD (its cache key) belongs to DB: 0 (also when it was known already),
 * BATON_EINVAL, BATON_ETOOLARGE, BATON_ENOMEM. */
int baton_dbstate_pod_add(struct baton_dbstate *t, const char *db,
			  const char *pod);
/* POD no longer belongs to DB (nothing if it did not). */
void baton_dbstate_pod_del(struct baton_dbstate *t, const char *db,
			   const char *pod);

/* DB's label sync waits for a free request slot (once, whatever how often
 * it is asked): 0 or an error of baton_index_add(). */
int baton_dbstate_wait(struct baton_dbstate *t, const char *db);
/* Takes the database that has waited longest: copies its name into DB
 * (SIZE >= BATON_NAME_SIZE) and returns true, or false if none waits. */
bool baton_dbstate_next_waiting(struct baton_dbstate *t, char *db, size_t size);

/* No switchover or promote was proposed for DB in the last second. */
bool baton_dbstate_propose_due(struct baton_dbstate *t, const char *db,
			       uint64_t now_ms);
/* One was proposed at NOW_MS: 0 or an error of baton_index_add(). */
int baton_dbstate_proposed(struct baton_dbstate *t, const char *db,
			   uint64_t now_ms);

/* The FSM's primary region of DB is REGION: returns the record's copy
 * (valid until the record goes), or NULL if there is no record for DB and
 * none can be made. */
const char *baton_dbstate_primary(struct baton_dbstate *t, const char *db,
				  const char *region);

/* DB's DatabaseCluster is gone: forget everything but its cached pods and
 * a fencing round still out (its requests end on their own). */
void baton_dbstate_forget(struct baton_dbstate *t, const char *db);

#endif /* BATON_BATOND_DBSTATE_H */
