/* Which namespaces this batond manages (watchNamespaces).
 *
 * Empty: every namespace, with cluster-wide RBAC. Listed: batond lists and
 * watches DatabaseClusters and their pods only in those namespaces, one
 * LIST+WATCH each (kube/informer.h, opts.namespaces), in its own cluster
 * and in the peers'. Everything it writes follows from a DatabaseCluster
 * it watches (children, status, finalizer, pod labels, Events, peer
 * fencing, all in that DatabaseCluster's namespace), so it writes nowhere
 * else; the chart's Roles in those namespaces (and batond's own, for
 * Leases) make that the API server's rule too, not only batond's.
 *
 * A database another region registered in Raft from a namespace this
 * region does not manage is ignored here: said once at info, never
 * reconciled, no status written.
 */
#ifndef BATON_BATOND_SCOPE_H
#define BATON_BATOND_SCOPE_H

#include <jansson.h>
#include <stdbool.h>

#include "batond/config.h"

struct baton_scope {
	/* NULL-terminated, borrowed from the config; NULL: every namespace */
	const char *const *namespaces;
	json_t *ignored; /* databases already said to be out of scope */
};

/* S manages CFG's watchNamespaces; says so once at info. */
void baton_scope_init(struct baton_scope *s,
		      const struct baton_batond_config *cfg);
void baton_scope_free(struct baton_scope *s);

/* For informer opts.namespaces: NULL when every namespace is managed. */
const char *const *baton_scope_namespaces(const struct baton_scope *s);

/* Whether NS is managed. */
bool baton_scope_has(const struct baton_scope *s, const char *ns);

/* Whether DB ("ns/name") is managed; a database outside is logged at info
 * the first time it is seen. S may be NULL (every database). */
bool baton_scope_admit(struct baton_scope *s, const char *db);

#endif /* BATON_BATOND_SCOPE_H */
