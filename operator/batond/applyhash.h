/* Which children to apply: only those whose desired state changed.
 *
 * Every reconcile used to server-side apply every child of the database
 * (StatefulSet, Services, ConfigMap, PDB, Secret, NetworkPolicy, routing
 * objects) whatever triggered it: its own status write, a pod's readiness,
 * an FSM change. An apply that changes nothing is still a write request the
 * API server admits, decodes, diffs and answers. batond does not cache its
 * children (that would cost memory at 10,000 databases), so it remembers
 * what it applied instead:
 *
 * - each desired object gets a stamp, a hash of its serialised JSON (keys
 *   sorted), written into the object as the annotation
 *   BATON_ANNOTATION_APPLIED_HASH so that the live object says which
 *   desired state it was last applied from;
 * - per database, the stamps of the objects that are live as desired (an
 *   apply of them succeeded, in this process) and since when the set was
 *   complete;
 * - an object whose stamp is in its database's set is not applied again,
 *   unless the set is older than the refresh period or the caller forces a
 *   full apply.
 *
 * Drift (someone edits or deletes a child) is therefore repaired:
 * - at once for a changed desired state (a new stamp: spec edit, new
 *   primary or epoch, a new certificate after a restart of batond);
 * - at the next reconcile when the region's pods of the database are gone
 *   (a deleted StatefulSet: its pods go, their watch events reconcile the
 *   database, baton_applyhash_pods_gone() says so and the caller forces a
 *   full apply);
 * - at the first reconcile after the refresh period (baton_applyhash_period:
 *   10 minutes, longer beyond 1,000 databases) for anything else
 *   (an edited Service, ConfigMap, PDB, NetworkPolicy or Secret, a deleted
 *   Service); the DatabaseCluster informer's resync reconciles every
 *   database at least that often;
 * - at batond's start, within the refresh period: the sets are in memory,
 *   and batond/applyseed.h fills them from the live children's
 *   annotations before the controller starts (a child whose annotation is
 *   a desired stamp was last applied from that state), each database's
 *   refresh base set back by a share of the period drawn from its name, so
 *   a restart re-applies nothing at once and every database in full
 *   within the period after it, spread evenly. Before that every child of
 *   every database was applied again at each start (issue 20: 6,000
 *   applies at 1,000 databases, 30,000 at 5,000).
 *
 * Pure: no I/O, no clock (NOW comes in), bounded (at most MAX databases;
 * beyond that a database is simply applied in full every time).
 */
#ifndef BATON_BATOND_APPLYHASH_H
#define BATON_BATOND_APPLYHASH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "consensus/index.h"

/* The most objects one database has in one region (reconcile.h's
 * BATON_RECONCILE_MAX_OBJECTS must not exceed it). */
#define BATON_APPLYHASH_MAX_OBJECTS 16
/* Every child is applied at least this often while it is reconciled: the
 * bound on how long an edit of a child outlives batond's desired state. */
#define BATON_APPLYHASH_REFRESH_MS (10u * 60u * 1000u)
/* ... or, with more databases, once per this much per database: the
 * refresh sends at most ~10 applies a second (six children a database)
 * whatever the fleet. At 10 minutes for all, 5,000 databases refreshed
 * at 50 applies a second for ever, 71 measured in a steady minute
 * (issue 20); now 1,000 take the 10 minutes, 5,000 50, 10,000 100. */
#define BATON_APPLYHASH_REFRESH_PER_DB_MS 600u

struct baton_applyhash {
	struct baton_index dbs; /* "ns/name" -> struct baton_applyhash_db */
	uint64_t refresh_ms;
};

void baton_applyhash_init(struct baton_applyhash *t, unsigned max_dbs,
			  uint64_t refresh_ms);
void baton_applyhash_free(struct baton_applyhash *t);

/* The first 64 bits of the SHA-256 of V serialised with sorted keys:
 * equal values, however their keys were inserted, have one digest. 0 or
 * BATON_ENOMEM. */
int baton_applyhash_digest(json_t *v, uint64_t *out);
/* Sets OBJ's annotation BATON_ANNOTATION_APPLIED_HASH to the stamp of OBJ
 * (hashed without that annotation) and stores the stamp in *OUT. 0,
 * BATON_EINVAL (OBJ has no metadata object) or BATON_ENOMEM. */
int baton_applyhash_stamp(json_t *obj, uint64_t *out);

/* The plan for database DB (its key "ns/name") whose N desired objects
 * have stamps H: SKIP[i] is true for an object that needs no apply.
 * *SINCE gets what to pass to baton_applyhash_done() afterwards. FORCE
 * (or no set, or a set older than the refresh period) applies all.
 * Returns the number of objects to apply. */
unsigned baton_applyhash_plan(const struct baton_applyhash *t, const char *db,
			      const uint64_t *h, unsigned n, bool force,
			      uint64_t now_ms, bool *skip, uint64_t *since);

/* After the plan was carried out: LIVE[i] says object i is live as
 * desired (skipped, or its apply succeeded). The database's set becomes
 * exactly those stamps. 0, or BATON_ETOOLARGE / BATON_ENOMEM (nothing is
 * remembered: the next reconcile applies everything, which is correct). */
int baton_applyhash_done(struct baton_applyhash *t, const char *db,
			 const uint64_t *h, const bool *live, unsigned n,
			 uint64_t since);

/* Whether DB's pods are gone from this region: LACKS (the region should
 * run pods of DB and its pod cache holds none) now, and not at DB's
 * previous call. Only then may its StatefulSet have been deleted, and the
 * caller forces a full apply. A database whose pods were not seen since
 * its children were applied is one whose StatefulSet has not made them
 * yet (kube-controller-manager's pace: seconds, minutes on a loaded API
 * server); applying every child again at each of its reconciles in that
 * window made no pod sooner and cost up to seven APPLYs a time (issue
 * 20). Remembers LACKS for the next call (creating DB's record, an empty
 * set: a plan applies everything for it). False for a DB it cannot
 * remember (the bound): the plan applies everything for it anyway. */
bool baton_applyhash_pods_gone(struct baton_applyhash *t, const char *db,
			       bool lacks);

/* Seeding (batond/applyseed.h): a live child of DB ("ns/name") says it
 * was applied from stamp H. Taken only while DB has no set of this
 * process's own: a reconcile's (baton_applyhash_pods_gone,
 * baton_applyhash_done) is newer than any list, and a seed never
 * changes it. A seeded set's refresh base is NOW_MS less a share of the
 * refresh period drawn from DB's name (baton_applyhash_seed_since): its
 * refresh falls in the last nine tenths of the period after the start,
 * none in the first, while the start reconciles everything. Its
 * first baton_applyhash_pods_gone() is false: the set holds only live
 * children (a StatefulSet deleted before the list is not in it), and a
 * reconcile before the pod cache listed the pods must not apply all.
 * 0; BATON_EEXIST (DB has its own set: nothing taken); BATON_ETOOLARGE
 * (more stamps than a database has objects: DB's seeded set is dropped,
 * and its next reconcile applies everything); BATON_ENOMEM (the bound). */
int baton_applyhash_seed(struct baton_applyhash *t, const char *db, uint64_t h,
			 uint64_t now_ms);
/* The refresh base of DB's seeded set at NOW_MS (tests, the docs). */
uint64_t baton_applyhash_seed_since(const struct baton_applyhash *t,
				    const char *db, uint64_t now_ms);
/* Draws every seeded set's refresh base again over the period as it is
 * now that the seed is done (it grows with the databases seeded). */
void baton_applyhash_seed_spread(struct baton_applyhash *t, uint64_t now_ms);
/* The refresh period now: the larger of the configured one and
 * BATON_APPLYHASH_REFRESH_PER_DB_MS per database with a set. */
uint64_t baton_applyhash_period(const struct baton_applyhash *t);
/* Drops every set still only seeded (no reconcile ever saw its database:
 * children of a database deleted while batond was down, which the
 * garbage collector removes). Returns how many. */
unsigned baton_applyhash_drop_seeded(struct baton_applyhash *t);

/* DB is gone (or its children must all be applied next time). */
void baton_applyhash_forget(struct baton_applyhash *t, const char *db);

/* The number of databases with a set (tests, metrics). */
unsigned baton_applyhash_count(const struct baton_applyhash *t);

#endif /* BATON_BATOND_APPLYHASH_H */
