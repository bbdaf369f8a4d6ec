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

#include "common/error.h"

#include "kube/informer.h"

/* Prunes a DatabaseCluster to what batond reads: apiVersion, kind, spec
 * and status whole (status is compared whole before a write), and of
 * metadata name, namespace, uid, generation, resourceVersion,
 * deletionTimestamp, finalizers and the switchover annotation. */
void baton_cachefields_dbc(json_t *obj);
/* Where baton_cachefields_dbc_local() keeps the whole status, as compact
 * JSON text compressed with LZ4 (bytes, not text: read it only with
 * baton_cachefields_dbc_status()): a key no API object has. */
#define BATON_CACHEFIELDS_STATUS_TEXT "baton.dev/cached-status"
/* The region's own DatabaseClusters (the controller's informer): as
 * baton_cachefields_dbc(), but the whole status is kept as its compact
 * JSON text (~2 KiB; ~0.9 KiB compressed) under
 * BATON_CACHEFIELDS_STATUS_TEXT, not as a jansson tree (~6.5 KiB: seven
 * conditions with their own timestamps, which the pool cannot share),
 * and status itself keeps only phase and switchover, which controller.c
 * reads at every reconcile and for /v1/status. Read the whole status with
 * baton_cachefields_dbc_status(). Idempotent: an object already transformed is
 * only pruned again. */
void baton_cachefields_dbc_local(json_t *obj);
/* The whole status of a cached DatabaseCluster, a new reference, in *OUT
 * (NULL when it has none): parsed from the text baton_cachefields_dbc_local
 * kept, or the object's own status when it was not transformed so.
 * BATON_ENOMEM (and *OUT NULL) when the text cannot be parsed. */
int baton_cachefields_dbc_status(json_t *obj, json_t **out);
/* Prunes a database pod to what batond reads. */
void baton_cachefields_pod(json_t *obj);
/* How many values were replaced by a shared equal one so far (tests). */
size_t baton_cachefields_shared(void);
/* Sets the transforms of the DatabaseCluster and pod informers' options
 * (the controller's one line of wiring). */
void baton_cachefields_use(struct baton_kube_informer_opts *dbcs,
			   struct baton_kube_informer_opts *pods);

#endif /* BATON_BATOND_CACHEFIELDS_H */
