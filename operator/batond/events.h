/* batond's Events: every Event batond records goes through here (issue 18:
 * it used to build them by hand, one new Event per occurrence).
 *
 * The recorder is kube/events.c, client-go's EventRecorder with its
 * aggregation: the first (object, type, reason, message) creates an Event,
 * a repeat bumps its count and lastTimestamp. Every Event is about a
 * DatabaseCluster (the reconcile's, the switchover policy's, the agent
 * driver's and peer fencing's, through the controller's env) and is also
 * logged, as a Warning or an info line with the object and the reason.
 *
 * daemon.c owns the recorder (struct baton_batond.events): opened with the
 * kube client, closed before it; the controller calls
 * baton_events_record() from its env. Recording is fire-and-forget.
 */
#ifndef BATON_BATOND_EVENTS_H
#define BATON_BATOND_EVENTS_H

#include <jansson.h>

#include "kube/client.h"
#include "kube/events.h"

/* source.component of batond's Events */
#define BATON_EVENTS_COMPONENT "batond"

/* R records Events on C with source.host REGION. */
int baton_events_init(struct baton_kube_client *c,
		      struct baton_kube_recorder *r, const char *region);

/* Logs and records an Event of TYPE ("Normal", "Warning") about OBJ, a
 * DatabaseCluster (metadata.name needed; kind and apiVersion are filled in
 * when OBJ lacks them). */
void baton_events_record(struct baton_kube_recorder *r, json_t *obj,
			 const char *type, const char *reason,
			 const char *message);

#endif /* BATON_BATOND_EVENTS_H */
