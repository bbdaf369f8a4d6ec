/* The objects batond owns in its own cluster for one DatabaseCluster, as
 * pure functions of the spec (applied with server-side apply, owned by the
 * DatabaseCluster so the garbage collector removes them after teardown):
 *
 *   StatefulSet  <db>-<region>      the engine plus the baton-agent sidecar
 *   Service      <db>-<region>-hl   headless, stable pod DNS for replication
 *   PDB          <db>-<region>      at most one instance down voluntarily
 *   ConfigMap    <db>-<region>      what the agent needs to know
 *
 * plus the primary and replica Services from the mesh backend
 * (mesh-adapters/), which carry the role+epoch label fence.
 *
 * Pods are created with baton.dev/role=replica and baton.dev/epoch=0: an
 * instance that (re)starts is fenced until batond confirms its epoch and
 * relabels it (ARCHITECTURE §5, rule 5). The StatefulSet controller never
 * reverts labels batond sets on a live pod.
 */
#ifndef BATON_BATOND_CHILDREN_H
#define BATON_BATOND_CHILDREN_H

#include <jansson.h>

#include "batond/dbspec.h"

#define BATON_LABEL_REGION "baton.dev/region"
#define BATON_AGENT_PORT 8081

/* Appends the region's objects to OUT. Nothing for a witness region or a
 * region the spec does not list. */
int baton_children_desired(const struct baton_dbspec *s, const char *region,
			   const char *batond_url, json_t *out, char *errmsg);

/* "<db>-<region>" into BUF. */
const char *baton_children_sts_name(const struct baton_dbspec *s,
				    const char *region, char *buf, size_t size);

#endif /* BATON_BATOND_CHILDREN_H */
