/* The shards of an informer that watches a list of namespaces: one
 * LIST+WATCH per namespace, one cache and one set of handlers for the
 * user. Only kube/informer.c calls these; users see an ordinary informer
 * (kube/informer.h, opts.namespaces).
 *
 * Why shards and not one LIST across namespaces: a Role per namespace
 * (batond's RBAC when watchNamespaces is set) cannot list or watch a
 * resource in all namespaces, and the API has no LIST of "these
 * namespaces". Why one cache: batond's controller and agent driver read
 * the cache and get objects by key; they must not care how it was filled.
 */
#ifndef BATON_KUBE_INFORMER_SHARDS_H
#define BATON_KUBE_INFORMER_SHARDS_H

#include "kube/informer.h"

struct baton_kube_informer_shards;

/* INF becomes the owner of one shard per name in opts->namespaces. On
 * failure nothing is left for the caller to close (shards already made are
 * closed in the background and never call back into INF). */
int baton_kube_informer_shards_init(
    struct baton_kube_client *c, struct baton_kube_informer *inf,
    const struct baton_kube_informer_opts *opts,
    const struct baton_kube_informer_handlers *h);
int baton_kube_informer_shards_start(struct baton_kube_informer *inf);
/* Every shard has delivered its first LIST. */
bool baton_kube_informer_shards_synced(const struct baton_kube_informer *inf);
/* Closes every shard; CLOSE_CB once the last one is closed. */
void baton_kube_informer_shards_close(struct baton_kube_informer *inf,
				      baton_kube_informer_close_cb close_cb);
/* SHARD's LIST failed: its owner's errmsg says so, with the namespace (a
 * Forbidden in one namespace is what an operator needs to see). */
void baton_kube_informer_shard_failed(struct baton_kube_informer *shard);

#endif /* BATON_KUBE_INFORMER_SHARDS_H */
