/* Informer: a LIST+WATCH cache of one resource, with change handlers.
 *
 * As client-go's reflector + indexer + shared informer, reduced to one
 * consumer: LIST (paged at 500, consistent read) then WATCH from the list's
 * resourceVersion; the cache is a jansson object keyed "namespace/name" (or
 * "name" for cluster-scoped objects). On 410 Gone the informer relists and
 * feeds handlers a synthetic diff against its cache (add for new keys,
 * update for changed resourceVersions, delete with the last known state for
 * vanished keys), so handlers see every final state exactly once. A resync
 * period re-delivers every cached object as update(old == new).
 *
 * Handlers get borrowed objects; json_incref() to keep one. They may not
 * modify them.
 *
 * With opts.namespaces the informer is one LIST+WATCH per namespace (its
 * shards, kube/informer_shards.c) feeding one cache and one set of
 * handlers: a caller whose RBAC is a Role per namespace can never list a
 * resource across all namespaces, and this is the only way it can watch
 * several. Users see the same informer either way.
 */
#ifndef BATON_KUBE_INFORMER_H
#define BATON_KUBE_INFORMER_H

#include "kube/watch.h"

struct baton_kube_informer;

struct baton_kube_informer_handlers {
	void (*on_add)(struct baton_kube_informer *inf, json_t *obj);
	void (*on_update)(struct baton_kube_informer *inf, json_t *old_obj,
			  json_t *new_obj);
	void (*on_delete)(struct baton_kube_informer *inf, json_t *obj);
};

struct baton_kube_informer_opts {
	const char *group; /* NULL/"" core */
	const char *version;
	const char *resource;
	const char *ns; /* NULL: all namespaces / cluster-scoped */
	/* NULL-terminated; when it names at least one namespace, one LIST+WATCH
	 * per namespace into one cache (ns must then be NULL; a name listed
	 * twice is refused) */
	const char *const *namespaces;
	const char *label_selector;
	uint64_t resync_ms; /* 0: no periodic resync */
	long page_size;	    /* 0: 500 */
	size_t max_items;   /* 0: unlimited */
	/* Cached objects lose metadata.managedFields unless this is set:
	 * nothing here reads them (writes are server-side apply, patches, or
	 * updates, which keep the stored managedFields when the body has
	 * none), and jansson spends about 4 KiB per object on them
	 * (docs/kube-client.md): most of batond's memory at 1,000 objects. */
	bool keep_managed_fields;
	/* What else the cache drops (client-go's SetTransform): called on
	 * every object before it is cached or shown to a handler (LIST items
	 * as each page arrives, WATCH objects, deleted ones too), in place.
	 * It must keep metadata.name, .namespace and .resourceVersion (the
	 * cache's key and its relist diff), and be idempotent: a relist
	 * passes an object through it again. NULL: objects are kept whole. */
	void (*transform)(json_t *obj);
	/* the longest wait before a failed LIST or WATCH is tried again,
	 * 0: 30 s (client-go's reflector also backs off to 30 s) */
	uint64_t retry_cap_ms;
};

typedef void (*baton_kube_informer_close_cb)(struct baton_kube_informer *inf);

struct baton_kube_informer {
	void *data;
	json_t *cache; /* "ns/name" → object; read-only for users */
	char errmsg[BATON_ERRMSG_SIZE];
	unsigned relists; /* completed LISTs, for tests and metrics */

	/* Private. */
	struct baton_kube_client *client;
	struct baton_kube_informer_handlers h;
	char *group, *version, *resource, *ns, *label_selector;
	uint64_t resync_ms;
	long page_size;
	size_t max_items;
	bool keep_managed_fields;
	void (*transform)(json_t *obj);
	struct baton_kube_lister lister;
	struct baton_kube_watch watch;
	uv_timer_t resync_timer;
	uv_timer_t relist_timer;
	uint64_t relist_backoff;
	uint64_t retry_cap_ms;
	bool synced;
	bool listing;
	bool started;
	bool closing;
	int closing_handles;
	bool watch_closed;
	baton_kube_informer_close_cb close_cb;
	/* sharded (opts.namespaces): the shards, or the informer this shard
	 * feeds (kube/informer_shards.h) */
	struct baton_kube_informer_shards *shards;
	struct baton_kube_informer *parent;
};

int baton_kube_informer_init(struct baton_kube_client *c,
			     struct baton_kube_informer *inf,
			     const struct baton_kube_informer_opts *opts,
			     const struct baton_kube_informer_handlers *h);
int baton_kube_informer_start(struct baton_kube_informer *inf);
/* True once the first LIST has been delivered to the handlers (sharded:
 * the first LIST of every namespace). */
bool baton_kube_informer_has_synced(const struct baton_kube_informer *inf);
/* The cached object for KEY ("ns/name"), borrowed, or NULL. */
json_t *baton_kube_informer_get(const struct baton_kube_informer *inf,
				const char *key);
/* Replaces the cache with ITEMS (an array of objects) as a relist does
 * (not for a sharded informer: BATON_EINVAL),
 * calling the handlers for the difference: on_add for new keys, on_update
 * for keys whose resourceVersion changed, on_delete (with the last cached
 * state) for keys that are gone. Used by the LIST path; public for tests. */
int baton_kube_informer_replace(struct baton_kube_informer *inf, json_t *items);
/* Writes the cache key of OBJ into BUF. */
int baton_kube_object_key(json_t *obj, char *buf, size_t len);
void baton_kube_informer_close(struct baton_kube_informer *inf,
			       baton_kube_informer_close_cb close_cb);

#endif /* BATON_KUBE_INFORMER_H */
