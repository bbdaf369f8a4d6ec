/* Informer: LIST, then WATCH, keep the cache, call handlers.
 *
 * Happy path: start() → list_all (limit=500, RV unset: a consistent read)
 * → list_done_cb replaces the cache through a synthetic diff, marks synced,
 * and starts the watch from the list's RV → event_cb applies each event.
 *
 * Failure paths: a failed LIST retries after a jittered backoff (800 ms →
 * 30 s); the watch retries its own transient failures; on 410 the watch
 * calls gone_cb and we relist (the diff then covers whatever the watch
 * missed). Invariant: after every handler call the cache holds exactly the
 * state the handlers have been shown.
 *
 * Cancel path: close() stops the timers, cancels the LIST (its callback sees
 * BATON_ECANCELED), closes the watch, and calls close_cb once the watch and
 * both timers are closed.
 */
#include "kube/informer.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "kube/informer_shards.h"

int baton_kube_object_key(json_t *obj, char *buf, size_t len)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	int n;

	if (name == NULL) {
		return BATON_EINVAL;
	}
	if (ns != NULL && ns[0] != '\0') {
		n = snprintf(buf, len, "%s/%s", ns, name);
	} else {
		n = snprintf(buf, len, "%s", name);
	}
	return n < 0 || (size_t)n >= len ? BATON_ETOOLARGE : 0;
}

static const char *obj_rv(json_t *obj)
{
	return json_string_value(json_object_get(
	    json_object_get(obj, "metadata"), "resourceVersion"));
}

static bool same_rv(json_t *a, json_t *b)
{
	const char *x = obj_rv(a), *y = obj_rv(b);
	return x != NULL && y != NULL && strcmp(x, y) == 0;
}

static void start_list(struct baton_kube_informer *inf);
static void maybe_closed(struct baton_kube_informer *inf);

static void relist_timer_cb(uv_timer_t *t)
{
	start_list(t->data);
}

static void schedule_relist(struct baton_kube_informer *inf)
{
	double r = (double)(rand() % 1000) / 1000.0;
	uint64_t d = baton_kube_backoff_capped(&inf->relist_backoff, r,
					       inf->retry_cap_ms);
	baton_kube_informer_shard_failed(inf);
	BATON_WARN("kube",
		   "informer %s%s%s: LIST failed (%s); retrying in %llu ms",
		   inf->resource, inf->ns ? " in " : "", inf->ns ? inf->ns : "",
		   inf->errmsg, (unsigned long long)d);
	uv_timer_start(&inf->relist_timer, relist_timer_cb, d, 0);
}

/* Replace the cache with NEW_CACHE, telling handlers the difference. */
static void apply_relist(struct baton_kube_informer *inf, json_t *new_cache)
{
	json_t *old_cache = inf->cache;
	const char *key;
	json_t *obj;
	void *tmp;

	/* Install first: handlers that look into the cache see new state. */
	inf->cache = new_cache;
	json_object_foreach(new_cache, key, obj)
	{
		json_t *old = json_object_get(old_cache, key);
		if (old == NULL) {
			if (inf->h.on_add) {
				inf->h.on_add(inf, obj);
			}
		} else if (!same_rv(old, obj) && inf->h.on_update) {
			inf->h.on_update(inf, old, obj);
		}
		if (inf->closing) {
			break;
		}
	}
	json_object_foreach_safe(old_cache, tmp, key, obj)
	{
		if (inf->closing) {
			break;
		}
		if (json_object_get(new_cache, key) == NULL &&
		    inf->h.on_delete) {
			inf->h.on_delete(inf, obj);
		}
	}
	json_decref(old_cache);
}

/* What the cache keeps of OBJ (keep_managed_fields and transform in
 * informer.h). */
static void trim(const struct baton_kube_informer *inf, json_t *obj)
{
	if (!inf->keep_managed_fields) {
		json_object_del(json_object_get(obj, "metadata"),
				"managedFields");
	}
	if (inf->transform != NULL) {
		inf->transform(obj);
	}
}

/* Each LIST item as its page arrives: the LIST never holds more than one
 * page of whole objects (kube/rest.h). */
static void list_item_cb(struct baton_kube_lister *l, json_t *item)
{
	trim(l->data, item);
}

int baton_kube_informer_replace(struct baton_kube_informer *inf, json_t *items)
{
	json_t *obj, *cache;
	char key[512];
	size_t i;

	if (inf->shards != NULL) {
		return BATON_EINVAL; /* each shard replaces its own */
	}
	if ((cache = json_object()) == NULL) {
		return BATON_ENOMEM;
	}
	json_array_foreach(items, i, obj)
	{
		if (baton_kube_object_key(obj, key, sizeof key) != 0) {
			continue;
		}
		trim(inf, obj);
		if (json_object_set(cache, key, obj) != 0) {
			json_decref(cache);
			return BATON_ENOMEM;
		}
	}
	apply_relist(inf, cache);
	return 0;
}

static void list_done_cb(struct baton_kube_lister *l, int status, json_t *list)
{
	struct baton_kube_informer *inf = l->data;
	json_t *items;
	const char *rv;
	int st;

	inf->listing = false;
	if (inf->closing) {
		maybe_closed(inf);
		return;
	}
	if (status == BATON_ECANCELED) {
		return;
	}
	if (status != 0) {
		memcpy(inf->errmsg, l->errmsg, sizeof inf->errmsg);
		schedule_relist(inf);
		return;
	}
	items = json_object_get(list, "items");
	rv = json_string_value(json_object_get(
	    json_object_get(list, "metadata"), "resourceVersion"));
	if (baton_kube_informer_replace(inf, items) != 0) {
		schedule_relist(inf);
		return;
	}
	inf->relist_backoff = 0;
	inf->relists++;
	if (inf->parent != NULL) {
		inf->parent->relists++;
	}
	/* A LIST of a thousand objects parsed whole (managedFields and all)
	 * leaves tens of MiB of freed heap that glibc keeps: batond's RSS after
	 * a restart at 1,000 DatabaseClusters was 130 MiB, 85 after a trim.
	 * LISTs are rare (start-up, 410 Gone): give it back. */
	malloc_trim(0);
	if (inf->closing) {
		return;
	}
	inf->synced = true;
	st = baton_kube_watch_start(&inf->watch, rv);
	if (st != 0) {
		baton_errmsg_printf(inf->errmsg, "watch start: %s",
				    baton_strerror(st));
		schedule_relist(inf);
	}
}

static void start_list(struct baton_kube_informer *inf)
{
	struct baton_kube_ref ref = {inf->group, inf->version, inf->resource,
				     inf->ns,	 NULL,	       NULL};
	struct baton_kube_list_opts o = {0};
	int rv;

	if (inf->closing || inf->listing) {
		return;
	}
	o.label_selector = inf->label_selector;
	o.limit = inf->page_size;
	inf->lister.data = inf;
	inf->lister.transform = list_item_cb;
	rv = baton_kube_list_all(inf->client, &inf->lister, &ref, &o,
				 inf->max_items, list_done_cb);
	if (rv != 0) {
		memcpy(inf->errmsg, inf->lister.errmsg, sizeof inf->errmsg);
		if (rv != BATON_ESHUTDOWN) {
			schedule_relist(inf);
		}
		return;
	}
	inf->listing = true;
}

static void watch_event_cb(struct baton_kube_watch *w, int type, json_t *obj)
{
	struct baton_kube_informer *inf = w->data;
	char key[512];
	json_t *old;

	if (type == BATON_KUBE_BOOKMARK ||
	    baton_kube_object_key(obj, key, sizeof key) != 0) {
		return;
	}
	old = json_incref(json_object_get(inf->cache, key));
	if (type == BATON_KUBE_DELETED) {
		trim(inf, obj); /* handlers see what the cache would hold */
		if (old != NULL) {
			json_object_del(inf->cache, key);
			if (inf->h.on_delete) {
				inf->h.on_delete(inf, obj);
			}
		}
	} else {
		trim(inf, obj);
		json_object_set(inf->cache, key, obj);
		if (old == NULL) {
			if (inf->h.on_add) {
				inf->h.on_add(inf, obj);
			}
		} else if (inf->h.on_update) {
			inf->h.on_update(inf, old, obj);
		}
	}
	json_decref(old);
}

static void watch_gone_cb(struct baton_kube_watch *w)
{
	struct baton_kube_informer *inf = w->data;
	start_list(inf);
}

static void resync_cb(uv_timer_t *t)
{
	struct baton_kube_informer *inf = t->data;
	const char *key;
	json_t *obj;
	json_t *snap;

	if (!inf->synced || inf->h.on_update == NULL) {
		return;
	}
	/* Iterate a snapshot: handlers may trigger cache changes later in
	 * this loop iteration, never during, but be safe. */
	snap = json_copy(inf->cache);
	json_object_foreach(snap, key, obj)
	{
		if (inf->closing) {
			break;
		}
		inf->h.on_update(inf, obj, obj);
	}
	json_decref(snap);
}

static char *dup_or_null(const char *s, bool *fail)
{
	char *d = NULL;
	if (s != NULL && (d = strdup(s)) == NULL) {
		*fail = true;
	}
	return d;
}

static void free_strings(struct baton_kube_informer *inf)
{
	free(inf->group);
	free(inf->version);
	free(inf->resource);
	free(inf->ns);
	free(inf->label_selector);
	inf->group = inf->version = inf->resource = inf->ns =
	    inf->label_selector = NULL;
}

int baton_kube_informer_init(struct baton_kube_client *c,
			     struct baton_kube_informer *inf,
			     const struct baton_kube_informer_opts *opts,
			     const struct baton_kube_informer_handlers *h)
{
	struct baton_kube_watch_opts wo = {0};
	struct baton_kube_ref ref = {opts->group, opts->version, opts->resource,
				     opts->ns,	  NULL,		 NULL};
	void *data = inf->data;
	bool fail = false;
	int rv;

	if (opts->namespaces != NULL && opts->namespaces[0] != NULL) {
		return baton_kube_informer_shards_init(c, inf, opts, h);
	}
	memset(inf, 0, sizeof *inf);
	inf->data = data;
	if (opts->version == NULL || opts->resource == NULL) {
		baton_errmsg_printf(inf->errmsg,
				    "informer: version and resource required");
		return BATON_EINVAL;
	}
	inf->client = c;
	inf->h = *h;
	inf->group = dup_or_null(opts->group, &fail);
	inf->version = dup_or_null(opts->version, &fail);
	inf->resource = dup_or_null(opts->resource, &fail);
	inf->ns = dup_or_null(opts->ns, &fail);
	inf->label_selector = dup_or_null(opts->label_selector, &fail);
	inf->cache = json_object();
	if (fail || inf->cache == NULL) {
		rv = BATON_ENOMEM;
		goto err_after_strings;
	}
	inf->resync_ms = opts->resync_ms;
	inf->page_size = opts->page_size > 0 ? opts->page_size : 500;
	inf->max_items = opts->max_items;
	inf->keep_managed_fields = opts->keep_managed_fields;
	inf->transform = opts->transform;
	inf->retry_cap_ms = opts->retry_cap_ms;
	wo.label_selector = opts->label_selector;
	wo.retry_cap_ms = opts->retry_cap_ms;
	inf->watch.data = inf;
	rv = baton_kube_watch_init(c, &inf->watch, &ref, &wo, watch_event_cb,
				   watch_gone_cb);
	if (rv != 0) {
		memcpy(inf->errmsg, inf->watch.errmsg, sizeof inf->errmsg);
		goto err_after_strings;
	}
	uv_timer_init(c->loop, &inf->resync_timer);
	uv_timer_init(c->loop, &inf->relist_timer);
	inf->resync_timer.data = inf;
	inf->relist_timer.data = inf;
	return 0;

err_after_strings:
	json_decref(inf->cache);
	inf->cache = NULL;
	free_strings(inf);
	return rv;
}

int baton_kube_informer_start(struct baton_kube_informer *inf)
{
	if (inf->closing) {
		return BATON_ESHUTDOWN;
	}
	if (inf->started) {
		return 0;
	}
	if (inf->shards != NULL) {
		return baton_kube_informer_shards_start(inf);
	}
	inf->started = true;
	if (inf->resync_ms > 0) {
		uv_timer_start(&inf->resync_timer, resync_cb, inf->resync_ms,
			       inf->resync_ms);
	}
	start_list(inf);
	return 0;
}

bool baton_kube_informer_has_synced(const struct baton_kube_informer *inf)
{
	if (inf->shards != NULL) {
		return baton_kube_informer_shards_synced(inf);
	}
	return inf->synced;
}

json_t *baton_kube_informer_get(const struct baton_kube_informer *inf,
				const char *key)
{
	return json_object_get(inf->cache, key);
}

static void maybe_closed(struct baton_kube_informer *inf)
{
	if (inf->closing_handles == 0 && inf->watch_closed && !inf->listing) {
		json_decref(inf->cache);
		inf->cache = NULL;
		free_strings(inf);
		if (inf->close_cb != NULL) {
			inf->close_cb(inf);
		}
	}
}

static void timer_closed_cb(uv_handle_t *h)
{
	struct baton_kube_informer *inf = h->data;
	inf->closing_handles--;
	maybe_closed(inf);
}

static void watch_closed_cb(struct baton_kube_watch *w)
{
	struct baton_kube_informer *inf = w->data;
	inf->watch_closed = true;
	maybe_closed(inf);
}

void baton_kube_informer_close(struct baton_kube_informer *inf,
			       baton_kube_informer_close_cb close_cb)
{
	if (inf->closing) {
		return;
	}
	if (inf->shards != NULL) {
		baton_kube_informer_shards_close(inf, close_cb);
		return;
	}
	inf->closing = true;
	inf->close_cb = close_cb;
	inf->closing_handles = 2;
	uv_close((uv_handle_t *)&inf->resync_timer, timer_closed_cb);
	uv_close((uv_handle_t *)&inf->relist_timer, timer_closed_cb);
	if (inf->listing) {
		/* list_done_cb clears listing (synchronously unless we are
		 * inside curl; then before the timers' close callbacks). */
		baton_kube_lister_cancel(&inf->lister);
	}
	baton_kube_watch_close(&inf->watch, watch_closed_cb);
}
