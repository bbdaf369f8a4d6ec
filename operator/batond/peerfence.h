/* Peer fencing: before this region labels its instance primary at a new
 * epoch, every instance of the database still labelled primary in the peer
 * clusters it can reach (through the peer kubeconfig, whose RBAC and
 * admission policy allow only that) is labelled fenced, so that its
 * primary Service stops selecting it even when its own batond is gone but
 * its API server still answers. The old primary's agent has fenced itself
 * already when its lease ended; this is the routing side. An unreachable
 * peer does not block: its instances are fenced by their lease, and its
 * own batond relabels them when it returns.
 *
 * Per database: a LIST of the pods labelled primary in each peer, then a
 * merge PATCH of each (role=fenced, the epoch, fenced-by this region). The
 * database counts as fenced at an epoch once every request of the round
 * has answered (or failed: a peer that cannot be asked does not block).
 *
 * The controller owns the peer clients and the work queue; this module
 * only borrows a client per peer (env.client) and says when a database's
 * round ended (env.done) or an instance was fenced (env.event).
 */
#ifndef BATON_BATOND_PEERFENCE_H
#define BATON_BATOND_PEERFENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "batond/dbspec.h"
#include "batond/dbstate.h"
#include "kube/client.h"

struct baton_peerfence_env {
	void *data;
	/* the per-database records the rounds are kept in (the owner's:
	 * batond/dbstate.h; it outlives the module) */
	struct baton_dbstate *dbs;
	const char *region; /* ours: the fenced-by annotation */
	int n_peers;
	/* Peer P's name and client (NULL: not watched, skipped). */
	const char *(*peer_name)(void *data, int p);
	struct baton_kube_client *(*client)(void *data, int p);
	/* DB's round ended (look at it again), or nothing (stopping). */
	void (*done)(void *data, const char *db);
	/* An instance was fenced through a peer's API server. */
	void (*event)(void *data, const char *db, const char *type,
		      const char *reason, const char *message);
	/* A request ended while stopping (the owner counts pending()). */
	void (*settled)(void *data);
};

struct baton_peerfence {
	struct baton_peerfence_env env;
	bool stopping;
	/* Private. */
	int pending; /* requests in flight, all databases */
};

/* 0 (allocates nothing: each round is kept in its database's record,
 * env.dbs). */
int baton_peerfence_init(struct baton_peerfence *f,
			 const struct baton_peerfence_env *env);
/* Requests must have ended (pending() == 0); the rounds stay in env.dbs
 * (the owner frees it). */
void baton_peerfence_close(struct baton_peerfence *f);

/* True when every reachable peer has no instance of SPEC (DB, "ns/name")
 * labelled primary below EPOCH any more, or could not be asked; starts
 * the round otherwise (env.done says when it ended). */
bool baton_peerfence_done(struct baton_peerfence *f,
			  const struct baton_dbspec *spec, const char *db,
			  uint64_t epoch);

/* Requests in flight (the owner waits for 0 before closing). */
int baton_peerfence_pending(const struct baton_peerfence *f);

#endif /* BATON_BATOND_PEERFENCE_H */
