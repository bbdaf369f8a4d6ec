/* Prune: keep only the listed fields of a JSON object, in place.
 *
 * An informer's transform (client-go's SetTransform) uses it to cache only
 * what its consumer reads: jansson spends ~5 bytes of heap per byte of
 * JSON, and most of a pod or a kubectl-applied object is never read
 * (docs/batond.md, "Memory").
 *
 * An allow-list is an array of baton_kube_keep ending with {NULL}. Each
 * entry keeps one key of the object: with sub == NULL the whole value, with
 * sub the value pruned by sub in turn (an object directly, an array
 * element by element; a value of another type is kept as it is). Every
 * key not listed is deleted.
 */
#ifndef BATON_KUBE_PRUNE_H
#define BATON_KUBE_PRUNE_H

#include <jansson.h>

struct baton_kube_keep {
	const char *key;
	const struct baton_kube_keep *sub; /* NULL: the whole value */
};

/* Deletes from OBJ (an object; anything else is left alone) every key
 * KEEP does not list, recursively. */
void baton_kube_prune(json_t *obj, const struct baton_kube_keep *keep);

#endif /* BATON_KUBE_PRUNE_H */
