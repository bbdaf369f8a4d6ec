/* Intern: one shared jansson value for equal subtrees of cached objects
 * (hash-consing).
 *
 * A thousand pods carry the same pruned conditions and ports, a thousand
 * DatabaseClusters the same defaulted failover, storage and teardown
 * settings and mostly the same condition messages; jansson spends ~9
 * bytes of heap per byte of JSON on each copy. Cached objects are never
 * modified (kube/informer.h), and jansson values are reference counted,
 * so equal subtrees can be one value.
 *
 * The pool maps a 64-bit hash of a value's canonical encoding (sorted
 * keys) to the value; a hit is confirmed with json_equal, so a hash
 * collision costs sharing, never correctness. Values only the pool still
 * holds (refcount 1) are swept once as many values were added as the pool
 * held after its last sweep (amortised O(1) per value).
 */
#ifndef BATON_KUBE_INTERN_H
#define BATON_KUBE_INTERN_H

#include <jansson.h>
#include <stddef.h>

/* subtrees whose canonical encoding is longer are not shared */
#define BATON_KUBE_INTERN_MAX_BYTES 4096

struct baton_kube_intern {
	json_t *pool; /* "hash" -> the shared value */
	size_t added; /* since the last sweep */
	size_t next_sweep;
	size_t hits; /* values replaced by a shared one, for tests */
};

int baton_kube_intern_init(struct baton_kube_intern *t);
void baton_kube_intern_free(struct baton_kube_intern *t);
/* The value equal to V that the pool holds: V itself when the pool had
 * none (it is added), or the pool's. Borrowed. V must not be modified
 * afterwards, nor anything holding the result. */
json_t *baton_kube_intern(struct baton_kube_intern *t, json_t *v);
/* Interns every object, array and string inside V, bottom up, replacing
 * each by the pool's; V itself too when V_TOO. */
json_t *baton_kube_intern_deep(struct baton_kube_intern *t, json_t *v,
			       int v_too);
/* Drops the values only the pool holds. */
void baton_kube_intern_sweep(struct baton_kube_intern *t);

#endif /* BATON_KUBE_INTERN_H */
