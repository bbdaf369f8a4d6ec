/* What batond caches of the objects it watches (docs/batond.md, "Memory").
 *
 * batond's informers keep only the fields batond reads: the transforms
 * here prune each DatabaseCluster and pod before it is cached
 * (kube/informer.h's transform, kube/prune.h's allow-lists), then share
 * what objects have in common (kube/intern.h). A pod as `make
 * bench-batond` serves it is ~4 KiB of JSON and ~36 KiB of jansson heap,
 * of which batond reads its name, labels, one annotation, its address,
 * its Ready condition and its postgres port: ~6 KiB pruned, less shared.
 *
 * Exact by construction and by test: the allow-lists below were built from
 * every json_object_get on a cached object in operator/batond/ and
 * operator/kube/, and tests/unit/test_batond_cachefields.c fails when a
 * field one of those reads sees is dropped. A new read of a cached field
 * needs its path here (and in that test).
 */
#ifndef BATON_BATOND_CACHEFIELDS_H
#define BATON_BATOND_CACHEFIELDS_H

#include <jansson.h>
#include <stddef.h>

#include "kube/informer.h"

/* Prunes a DatabaseCluster to what batond reads: apiVersion, kind, spec
 * and status whole (status is compared whole before a write), and of
 * metadata name, namespace, uid, generation, resourceVersion,
 * deletionTimestamp, finalizers and the switchover annotation. */
void baton_cachefields_dbc(json_t *obj);
/* Prunes a database pod to what batond reads. */
void baton_cachefields_pod(json_t *obj);
/* How many values were replaced by a shared equal one so far (tests). */
size_t baton_cachefields_shared(void);
/* Sets the transforms of the DatabaseCluster and pod informers' options
 * (the controller's one line of wiring). */
void baton_cachefields_use(struct baton_kube_informer_opts *dbcs,
			   struct baton_kube_informer_opts *pods);

#endif /* BATON_BATOND_CACHEFIELDS_H */
