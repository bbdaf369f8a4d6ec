/* Event recorder with aggregation of repeats.
 *
 * Happy path: event() → new key → POST the Event (create_cb marks it
 * created); a repeat → count++ → merge PATCH {count, lastTimestamp}.
 * Invariant: at most one request per entry in flight; entry->count is what
 * happened, entry->sent what the server has; after each completion, if
 * count > sent another patch goes out.
 *
 * Failure paths: a failed create or patch is logged and counted, and the
 * entry forgets its server copy so the next repeat creates a new Event; a
 * patch answered 404 (the Event expired) re-creates it.
 *
 * Bound: the cache keeps cache_max entries in a list, most recently
 * recorded first; a new key past the bound forgets the oldest (O(1): the
 * list's tail, and its key in the jansson object). One forgotten with a
 * request in flight moves to r->gone until its callback frees it, so that
 * close() still finds it to cancel. Its next repeat, if any, creates a new
 * Event, the cost client-go's LRU pays too; clearing the whole cache at the
 * bound (as this did) paid it for every Event of a burst.
 *
 * Cancel path: close() cancels requests in flight; entries are freed when
 * the last callback has run (at once unless we are inside curl).
 */
#include "kube/events.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

struct ev_entry {
	/* in r->entries (most recent first), or r->gone once evicted */
	struct ev_entry *prev, *next;
	/* its key in r->cache, the cache's own copy: valid while cached */
	const char *key;
	struct baton_kube_recorder *r;
	/* only while a request is in flight (~0.6 KiB): most entries are
	 * sent once and never again */
	struct baton_kube_request *req;
	/* the Event as first sent, compact text: parsed again for each send
	 * (rare), where a jansson tree held ~4.4 KiB per entry, 4 MiB for an
	 * Event on each of 1,000 databases (docs/batond.md, "Memory") */
	char *event;
	int count;
	int sent;
	bool inflight;
	bool created;
	bool evicted;
};

static void entry_free(struct ev_entry *e)
{
	free(e->req);
	free(e->event);
	free(e);
}

/* Takes E out of its list (r->entries or, once evicted, r->gone). */
static void unlink_entry(struct ev_entry *e)
{
	struct baton_kube_recorder *r = e->r;

	if (e->prev != NULL) {
		e->prev->next = e->next;
	} else if (e->evicted) {
		r->gone = e->next;
	} else {
		r->entries = e->next;
	}
	if (e->next != NULL) {
		e->next->prev = e->prev;
	} else if (!e->evicted) {
		r->oldest = e->prev;
	}
	e->prev = e->next = NULL;
}

/* Puts E first in its list: the most recently recorded. */
static void push_entry(struct ev_entry *e)
{
	struct baton_kube_recorder *r = e->r;
	struct ev_entry **head = e->evicted ? &r->gone : &r->entries;

	e->prev = NULL;
	e->next = *head;
	if (*head != NULL) {
		(*head)->prev = e;
	} else if (!e->evicted) {
		r->oldest = e;
	}
	*head = e;
}

static void free_list(struct ev_entry *e)
{
	struct ev_entry *next;

	for (; e != NULL; e = next) {
		next = e->next;
		entry_free(e);
	}
}

static void finish_close(struct baton_kube_recorder *r)
{
	if (!r->closing || r->inflight > 0) {
		return;
	}
	free_list(r->entries);
	free_list(r->gone); /* empty: each is freed by its callback */
	r->entries = r->oldest = r->gone = NULL;
	json_decref(r->cache);
	r->cache = NULL;
	free(r->component);
	free(r->host);
	r->component = r->host = NULL;
	if (r->close_cb != NULL) {
		baton_kube_recorder_close_cb cb = r->close_cb;
		r->close_cb = NULL;
		cb(r);
	}
}

static void send_next(struct ev_entry *e);

static void done_cb(struct baton_kube_request *req, int status)
{
	struct ev_entry *e = req->data;
	struct baton_kube_recorder *r = e->r;
	bool was_create = !e->created;
	int sent =
	    (int)json_integer_value(json_object_get(req->result, "count"));

	/* what the request says is read before it is freed */
	if (!r->closing && status != 0 &&
	    (status != BATON_ENOTFOUND || was_create)) {
		BATON_WARN("kube", "event %s: %s",
			   was_create ? "create" : "patch", req->errmsg);
	}
	e->req = NULL;
	free(req);
	e->inflight = false;
	r->inflight--;
	if (r->closing) {
		if (e->evicted) {
			unlink_entry(e);
			entry_free(e);
		}
		finish_close(r);
		return;
	}
	if (status == 0) {
		if (was_create) {
			r->created++;
		} else {
			r->patched++;
		}
		e->created = true;
		e->sent = sent;
	} else if (status == BATON_ENOTFOUND && !was_create) {
		e->created = false; /* expired: re-create with the count */
	} else {
		r->failed++;
		e->created = false;
		e->sent = e->count;
	}
	if (e->evicted) {
		unlink_entry(e);
		entry_free(e);
		return;
	}
	/* a PATCH answered 404: the Event expired, create it again; a CREATE
	 * answered 404 (no such namespace) waits for a repeat, as any failed
	 * one does (it was sent again at once, and again, until it stopped
	 * failing) */
	if (e->count > e->sent || (!was_create && status == BATON_ENOTFOUND)) {
		send_next(e);
	}
}

static void send_next(struct ev_entry *e)
{
	struct baton_kube_recorder *r = e->r;
	json_t *ev = json_loads(e->event, 0, NULL);
	json_t *meta = json_object_get(ev, "metadata");
	struct baton_kube_ref ref = {
	    NULL,
	    "v1",
	    "events",
	    json_string_value(json_object_get(meta, "namespace")),
	    json_string_value(json_object_get(meta, "name")),
	    NULL};
	char ts[32];
	int rv;

	if (ev == NULL) {
		r->failed++;
		BATON_WARN("kube", "event: cannot send: out of memory");
		e->sent = e->count;
		return;
	}
	if ((e->req = calloc(1, sizeof *e->req)) == NULL) {
		r->failed++;
		BATON_WARN("kube", "event: cannot send: out of memory");
		e->sent = e->count;
		json_decref(ev);
		return;
	}
	baton_clock_rfc3339(ts, sizeof ts, 0);
	json_object_set_new(ev, "count", json_integer(e->count));
	json_object_set_new(ev, "lastTimestamp", json_string(ts));
	e->req->data = e;
	if (!e->created) {
		rv = baton_kube_create(r->client, e->req, &ref, ev, NULL,
				       done_cb);
	} else {
		json_t *patch = json_pack("{s:i,s:s}", "count", e->count,
					  "lastTimestamp", ts);
		rv = patch ? baton_kube_patch(r->client, e->req, &ref,
					      BATON_KUBE_PATCH_MERGE, patch,
					      NULL, done_cb)
			   : BATON_ENOMEM;
		json_decref(patch);
	}
	json_decref(ev); /* the request has its body and path */
	if (rv != 0) {
		r->failed++;
		BATON_WARN("kube", "event: cannot send: %s", e->req->errmsg);
		free(e->req);
		e->req = NULL;
		e->sent = e->count;
		return;
	}
	e->inflight = true;
	r->inflight++;
}

int baton_kube_recorder_init(struct baton_kube_client *c,
			     struct baton_kube_recorder *r,
			     const char *component, const char *host)
{
	void *data = r->data;

	memset(r, 0, sizeof *r);
	r->data = data;
	r->client = c;
	r->component = strdup(component ? component : "baton");
	r->host = host ? strdup(host) : NULL;
	r->cache = json_object();
	r->cache_max = BATON_KUBE_EVENTS_CACHE;
	if (r->component == NULL || (host && r->host == NULL) ||
	    r->cache == NULL) {
		free(r->component);
		free(r->host);
		json_decref(r->cache);
		return BATON_ENOMEM;
	}
	return 0;
}

/* A cache key (object, type, reason, message): built in this size by
 * baton_kube_event() and copied in it by evict_oldest(), so the copy is
 * never cut and a delete never misses. */
#define EV_KEY_SIZE 1536

/* Forgets the least recently recorded entry. */
static void evict_oldest(struct baton_kube_recorder *r)
{
	struct ev_entry *e = r->oldest;
	char key[EV_KEY_SIZE];

	/* the key is the cache's, freed by the delete that reads it */
	snprintf(key, sizeof key, "%s", e->key);
	unlink_entry(e);
	json_object_del(r->cache, key);
	e->key = NULL;
	r->evicted++;
	if (e->inflight) {
		e->evicted = true; /* freed by its callback */
		push_entry(e);
	} else {
		entry_free(e);
	}
}

void baton_kube_event(struct baton_kube_recorder *r, json_t *obj,
		      const char *type, const char *reason, const char *fmt,
		      ...)
{
	json_t *meta = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *ns = json_string_value(json_object_get(meta, "namespace"));
	const char *uid = json_string_value(json_object_get(meta, "uid"));
	char msg[1024], key[EV_KEY_SIZE], evname[320], ts[32];
	struct ev_entry *e;
	json_t *slot, *ev;
	va_list ap;

	if (r->closing || name == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(key, sizeof key, "%s/%s/%s|%s|%s|%s", ns ? ns : "", name,
		 uid ? uid : "", type, reason, msg);
	slot = json_object_get(r->cache, key);
	if (slot != NULL) {
		e = (struct ev_entry *)(intptr_t)json_integer_value(slot);
		if (e != r->entries) {
			unlink_entry(e);
			push_entry(e);
		}
		e->count++;
		if (!e->inflight) {
			send_next(e);
		}
		return;
	}
	while (r->oldest != NULL &&
	       json_object_size(r->cache) >= r->cache_max) {
		evict_oldest(r);
	}
	e = calloc(1, sizeof *e);
	if (e == NULL) {
		return;
	}
	baton_clock_rfc3339(ts, sizeof ts, 0);
	snprintf(evname, sizeof evname, "%.240s.%llx", name,
		 (unsigned long long)uv_hrtime());
	e->r = r;
	e->count = 1;
	ev = json_pack(
	    "{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s*,s:s*,s:s*,s:s*},s:s,s:s,s:s,"
	    "s:i,s:s,s:s,s:{s:s,s:s*},s:s,s:s}",
	    "apiVersion", "v1", "kind", "Event", "metadata", "name", evname,
	    "namespace", ns ? ns : "default", "involvedObject", "name", name,
	    "namespace", ns, "uid", uid, "kind",
	    json_string_value(json_object_get(obj, "kind")), "apiVersion",
	    json_string_value(json_object_get(obj, "apiVersion")), "reason",
	    reason, "message", msg, "type", type, "count", 1, "firstTimestamp",
	    ts, "lastTimestamp", ts, "source", "component", r->component,
	    "host", r->host, "reportingComponent", r->component,
	    "reportingInstance", r->host ? r->host : r->component);
	e->event = ev != NULL ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (e->event == NULL ||
	    json_object_set_new(r->cache, key,
				json_integer((json_int_t)(intptr_t)e)) != 0) {
		entry_free(e);
		return;
	}
	e->key = json_object_iter_key(json_object_iter_at(r->cache, key));
	push_entry(e);
	send_next(e);
}

void baton_kube_recorder_close(struct baton_kube_recorder *r,
			       baton_kube_recorder_close_cb close_cb)
{
	struct ev_entry *e, *next;

	if (r->closing) {
		return;
	}
	r->closing = true;
	r->close_cb = close_cb;
	/* a cancel outside curl calls back at once, and the last callback
	 * would free every entry, the next one of this loop too: one more
	 * "in flight" until the loop is done */
	r->inflight++;
	for (e = r->entries; e != NULL; e = next) {
		next = e->next;
		if (e->inflight) {
			baton_kube_request_cancel(e->req);
		}
	}
	/* a cancel may free this one (evicted), never another */
	for (e = r->gone; e != NULL; e = next) {
		next = e->next;
		baton_kube_request_cancel(e->req);
	}
	r->inflight--;
	finish_close(r);
}
