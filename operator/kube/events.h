/* Event recorder: core/v1 Events about objects, with aggregation.
 *
 * As client-go's EventRecorder + EventCorrelator (reduced): the first
 * occurrence of (involved object uid, type, reason, message) creates an
 * Event with count 1; repeats bump count and lastTimestamp with a merge
 * PATCH of that Event instead of creating new ones. At most one request per
 * Event is in flight; repeats arriving meanwhile are folded into the next
 * patch. A patch that finds the Event gone (404: TTL-expired) creates a new
 * one. The aggregation cache is bounded (cache_max entries,
 * BATON_KUBE_EVENTS_CACHE by default): when full, the least recently
 * recorded Event is forgotten, and its next repeat, if any, creates a fresh
 * Event (as client-go's LRU of 4,096). Clearing the whole cache instead
 * made every Event of a burst past the bound a new one.
 *
 * Recording is fire-and-forget: failures are logged, never returned.
 */
#ifndef BATON_KUBE_EVENTS_H
#define BATON_KUBE_EVENTS_H

#include "kube/rest.h"

#define BATON_KUBE_EVENTS_CACHE 4096

struct baton_kube_recorder;
struct ev_entry;
typedef void (*baton_kube_recorder_close_cb)(struct baton_kube_recorder *r);

struct baton_kube_recorder {
	void *data;
	/* counters, for tests/metrics (evicted: forgotten at the bound) */
	unsigned created, patched, failed, evicted;
	/* entries kept for aggregation; BATON_KUBE_EVENTS_CACHE after init
	 * (tests lower it) */
	unsigned cache_max;

	/* Private. */
	struct baton_kube_client *client;
	char *component;
	char *host;
	json_t *cache; /* key → pointer to struct ev_entry (as integer) */
	/* the cached entries, most recently recorded first: the oldest is
	 * the first to go */
	struct ev_entry *entries, *oldest;
	/* forgotten while their request was in flight: freed by its
	 * callback, cancelled by close */
	struct ev_entry *gone;
	int inflight;
	bool closing;
	baton_kube_recorder_close_cb close_cb;
};

int baton_kube_recorder_init(struct baton_kube_client *c,
			     struct baton_kube_recorder *r,
			     const char *component, const char *host);

/* Records an event about OBJ (needs metadata.name; namespace, uid, kind
 * and apiVersion are copied when present). TYPE is "Normal" or "Warning". */
void baton_kube_event(struct baton_kube_recorder *r, json_t *obj,
		      const char *type, const char *reason, const char *fmt,
		      ...) __attribute__((format(printf, 5, 6)));

/* Cancels requests in flight; CLOSE_CB runs before returning. */
void baton_kube_recorder_close(struct baton_kube_recorder *r,
			       baton_kube_recorder_close_cb close_cb);

#endif /* BATON_KUBE_EVENTS_H */
