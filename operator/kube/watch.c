/* WATCH: framing, parsing, reconnect.
 *
 * Happy path: start() opens the stream; data_cb feeds bytes to the framer;
 * every complete line is one event: its resourceVersion is recorded (so a
 * reconnect never replays or skips), then event_cb runs. When the server
 * ends the stream at timeoutSeconds, the request callback reopens it from
 * the last RV.
 *
 * Failure paths: a connection error, a 5xx, a malformed event or an
 * over-long line ends the stream and schedules a reconnect after a jittered
 * backoff (800 ms doubling to 30 s; reset once a stream delivers an event);
 * 429 waits max(backoff, Retry-After). 410 (HTTP or an ERROR event) is not
 * retried: the RV is unusable, so gone_cb tells the owner to relist.
 *
 * Cancel paths: stop() cancels the request (its callback sees
 * BATON_ECANCELED and does nothing) and the timer. close() does the same
 * and calls close_cb once the timer is closed and no request is active.
 * event_cb may call stop/close: data_cb checks w->running after each event
 * and aborts the transfer.
 */
#include "kube/watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

#define BACKOFF_BASE_MS 800
#define BACKOFF_CAP_MS 30000
#define MIN_WATCH_TIMEOUT_S 300

/* ---- framer
 * ------------------------------------------------------------------ */

void baton_kube_framer_init(struct baton_kube_framer *f, size_t max_line)
{
	baton_buf_init(&f->line,
		       max_line ? max_line : BATON_KUBE_WATCH_MAX_LINE);
}

void baton_kube_framer_reset(struct baton_kube_framer *f)
{
	baton_buf_reset(&f->line);
}

void baton_kube_framer_free(struct baton_kube_framer *f)
{
	baton_buf_free(&f->line);
}

static int emit(const char *line, size_t len, baton_kube_line_cb cb, void *ud)
{
	if (len > 0 && line[len - 1] == '\r') {
		len--;
	}
	if (len == 0) {
		return 0;
	}
	return cb(ud, line, len);
}

/* A line too long is dropped whole: the stream goes on with the next. */
static int buffer_append(struct baton_kube_framer *f, const char *data,
			 size_t len)
{
	int rv = baton_buf_add(&f->line, data, len);

	if (rv == BATON_ETOOLARGE) {
		baton_buf_reset(&f->line);
	}
	return rv;
}

int baton_kube_framer_feed(struct baton_kube_framer *f, const char *data,
			   size_t len, baton_kube_line_cb line_cb, void *ud)
{
	int rv;

	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t n;

		if (nl == NULL) {
			return buffer_append(f, data, len);
		}
		n = (size_t)(nl - data);
		if (f->line.len == 0) {
			/* Whole line in this chunk: no copy. */
			if (n > f->line.max) {
				return BATON_ETOOLARGE;
			}
			rv = emit(data, n, line_cb, ud);
		} else {
			if ((rv = buffer_append(f, data, n)) != 0) {
				return rv;
			}
			rv = emit(f->line.p, f->line.len, line_cb, ud);
			/* consumed, whatever the callback says (it may stop
			 * the watch, never free the framer under us) */
			baton_buf_reset(&f->line);
		}
		if (rv != 0) {
			return rv;
		}
		data = nl + 1;
		len -= n + 1;
	}
	return 0;
}

/* ---- events
 * ------------------------------------------------------------------ */

int baton_kube_event_parse(const char *line, size_t len, int *type,
			   json_t **obj, char *errmsg)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {
	    {"ADDED", BATON_KUBE_ADDED},     {"MODIFIED", BATON_KUBE_MODIFIED},
	    {"DELETED", BATON_KUBE_DELETED}, {"BOOKMARK", BATON_KUBE_BOOKMARK},
	    {"ERROR", BATON_KUBE_ERROR},
	};
	json_error_t jerr;
	json_t *ev = json_loadb(line, len, 0, &jerr);
	const char *t;
	json_t *o;

	*obj = NULL;
	*type = 0;
	if (ev == NULL) {
		baton_errmsg_printf(errmsg, "watch event is not JSON: %s",
				    jerr.text);
		return BATON_EPARSE;
	}
	t = json_string_value(json_object_get(ev, "type"));
	o = json_object_get(ev, "object");
	if (t == NULL || !json_is_object(o)) {
		baton_errmsg_printf(errmsg,
				    "watch event without type or object");
		json_decref(ev);
		return BATON_EPARSE;
	}
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		if (strcmp(t, types[i].name) == 0) {
			*type = types[i].type;
		}
	}
	if (*type == 0) {
		baton_errmsg_printf(errmsg,
				    "unknown watch event type \"%.64s\"", t);
		json_decref(ev);
		return BATON_EPARSE;
	}
	*obj = json_incref(o);
	json_decref(ev);
	return 0;
}

uint64_t baton_kube_backoff_capped(uint64_t *base_ms, double r, uint64_t cap_ms)
{
	uint64_t d;

	if (cap_ms == 0) {
		cap_ms = BACKOFF_CAP_MS;
	} else if (cap_ms < BACKOFF_BASE_MS) {
		cap_ms = BACKOFF_BASE_MS;
	}
	if (*base_ms < BACKOFF_BASE_MS) {
		*base_ms = BACKOFF_BASE_MS;
	}
	/* Jitter factor 1.0: wait in [base, 2·base), capped. */
	d = *base_ms + (uint64_t)((double)*base_ms * r);
	if (d > cap_ms) {
		d = cap_ms;
	}
	*base_ms *= 2;
	if (*base_ms > cap_ms) {
		*base_ms = cap_ms;
	}
	return d;
}

uint64_t baton_kube_backoff_next(uint64_t *base_ms, double r)
{
	return baton_kube_backoff_capped(base_ms, r, BACKOFF_CAP_MS);
}

/* ---- the watch handle ------------------------------------------------------
 */

static double rnd(struct baton_kube_watch *w)
{
	return (double)(rand_r(&w->rng) % 1000000) / 1000000.0;
}

/* The next wait before trying again, within this watch's cap. */
static uint64_t retry_delay(struct baton_kube_watch *w)
{
	return baton_kube_backoff_capped(&w->backoff_ms, rnd(w),
					 w->backoff_cap_ms);
}

static void open_stream(struct baton_kube_watch *w);

static void timer_cb(uv_timer_t *t)
{
	struct baton_kube_watch *w = t->data;
	if (w->running && !w->req_active) {
		open_stream(w);
	}
}

static void schedule(struct baton_kube_watch *w, uint64_t delay_ms)
{
	uv_timer_start(&w->timer, timer_cb, delay_ms, 0);
}

static int line_cb(void *ud, const char *line, size_t len)
{
	struct baton_kube_watch *w = ud;
	json_t *obj;
	const char *rv;
	int type, st;

	st = baton_kube_event_parse(line, len, &type, &obj, w->errmsg);
	if (st != 0) {
		w->own_msg = true;
		return st;
	}
	if (type == BATON_KUBE_ERROR) {
		long code = json_integer_value(json_object_get(obj, "code"));
		st = baton_kube_status_error(code ? code : 500, obj, w->errmsg);
		w->own_msg = true;
		json_decref(obj);
		return st;
	}
	rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
					       "resourceVersion"));
	if (rv != NULL && rv[0] != '\0') {
		char *copy = strdup(rv);
		if (copy == NULL) {
			json_decref(obj);
			return BATON_ENOMEM;
		}
		free(w->rv);
		w->rv = copy;
	}
	w->stream_events++;
	w->backoff_ms = BACKOFF_BASE_MS;
	w->event_cb(w, type, obj);
	json_decref(obj);
	/* The callback may have stopped or closed us. */
	return w->running && !w->req.cancel_pending ? 0 : BATON_ECANCELED;
}

static int data_cb(struct baton_kube_request *req, const char *buf, size_t len)
{
	struct baton_kube_watch *w = req->data;
	int rv;

	if (!w->running || req->cancel_pending) {
		return BATON_ECANCELED;
	}
	rv = baton_kube_framer_feed(&w->framer, buf, len, line_cb, w);
	if (rv == BATON_ETOOLARGE) {
		w->own_msg = true;
		baton_errmsg_printf(w->errmsg,
				    "watch event longer than %zu bytes",
				    w->framer.line.max);
	}
	return rv;
}

static void maybe_closed(struct baton_kube_watch *w)
{
	if (w->closing && w->timer_closed && !w->req_active) {
		baton_kube_watch_close_cb cb = w->close_cb;
		baton_kube_framer_free(&w->framer);
		free(w->rv);
		free(w->path);
		w->rv = w->path = NULL;
		if (cb != NULL) {
			cb(w);
		}
	}
}

static void stream_done_cb(struct baton_kube_request *req, int status)
{
	struct baton_kube_watch *w = req->data;
	uint64_t delay;

	w->req_active = false;
	baton_kube_framer_reset(&w->framer);
	if (w->closing) {
		maybe_closed(w);
		return;
	}
	if (!w->running || status == BATON_ECANCELED) {
		return;
	}
	if (status == 0) {
		/* The server's timeoutSeconds: reopen from the last RV now,
		 * unless the stream died at once (then it is a failure). */
		if (w->stream_events > 0 ||
		    uv_now(w->client->loop) - w->stream_started >= 1000) {
			open_stream(w);
			return;
		}
		baton_errmsg_printf(w->errmsg, "watch stream ended at once");
	} else if (!w->own_msg) {
		/* No message of our own (ERROR event, framing): the
		 * transport's or the HTTP Status's. */
		memcpy(w->errmsg, req->errmsg, sizeof w->errmsg);
	}
	if (status == BATON_EGONE) {
		w->running = false;
		BATON_INFO("kube", "watch %s: resourceVersion %s expired: %s",
			   w->path, w->rv ? w->rv : "", w->errmsg);
		free(w->rv);
		w->rv = NULL;
		w->gone_cb(w);
		return;
	}
	delay = retry_delay(w);
	if (status == BATON_ETHROTTLED && req->retry_after > 0 &&
	    (uint64_t)req->retry_after * 1000 > delay) {
		delay = (uint64_t)req->retry_after * 1000;
	}
	BATON_WARN("kube", "watch %s failed (%s: %s); retrying in %llu ms",
		   w->path, baton_errname(status), w->errmsg,
		   (unsigned long long)delay);
	schedule(w, delay);
}

static void open_stream(struct baton_kube_watch *w)
{
	char path[4096];
	struct baton_kube_list_opts o = {0};
	long timeout_s;
	int rv;

	snprintf(path, sizeof path, "%s", w->path);
	timeout_s = MIN_WATCH_TIMEOUT_S +
		    (long)(rnd(w) * MIN_WATCH_TIMEOUT_S); /* [300,600) */
	if (timeout_s >= 2 * MIN_WATCH_TIMEOUT_S) {
		timeout_s = 2 * MIN_WATCH_TIMEOUT_S - 1;
	}
	o.watch = true;
	o.allow_watch_bookmarks = true;
	o.timeout_seconds = timeout_s;
	o.resource_version = w->rv;
	rv = baton_kube_list_query(&o, path, sizeof path);
	if (rv == 0) {
		w->req.data = w;
		w->own_msg = false;
		w->stream_events = 0;
		w->stream_started = uv_now(w->client->loop);
		/* The transfer outlives the server's timeout by a margin, so
		 * a silently dead connection is noticed. */
		rv = baton_kube_request_start(
		    w->client, &w->req, "GET", path, NULL, NULL,
		    (timeout_s + 30) * 1000L, data_cb, stream_done_cb);
	}
	if (rv != 0) {
		if (rv == BATON_ESHUTDOWN) {
			w->running = false;
			return;
		}
		schedule(w, retry_delay(w));
		return;
	}
	w->req_active = true;
	w->restarts++;
	if (w->restarts > 1 && w->client->watch_restart_cb != NULL) {
		w->client->watch_restart_cb(w->client,
					    w->client->watch_restart_arg);
	}
}

int baton_kube_watch_init(struct baton_kube_client *c,
			  struct baton_kube_watch *w,
			  const struct baton_kube_ref *ref,
			  const struct baton_kube_watch_opts *opts,
			  baton_kube_watch_event_cb event_cb,
			  baton_kube_watch_gone_cb gone_cb)
{
	struct baton_kube_list_opts lo = {0};
	struct baton_kube_ref coll = *ref;
	char path[4096];
	void *data = w->data;
	int rv;

	memset(w, 0, sizeof *w);
	w->data = data;
	coll.name = NULL;
	if (opts != NULL) {
		lo.label_selector = opts->label_selector;
		lo.field_selector = opts->field_selector;
	}
	rv = baton_kube_path(&coll, path, sizeof path);
	rv = rv ? rv : baton_kube_list_query(&lo, path, sizeof path);
	if (rv != 0) {
		baton_errmsg_printf(w->errmsg, "watch: bad resource reference");
		return rv;
	}
	if ((w->path = strdup(path)) == NULL) {
		return BATON_ENOMEM;
	}
	w->client = c;
	w->event_cb = event_cb;
	w->gone_cb = gone_cb;
	w->backoff_ms = BACKOFF_BASE_MS;
	w->backoff_cap_ms = opts ? opts->retry_cap_ms : 0;
	w->rng = (unsigned)uv_hrtime() ^ (unsigned)(uintptr_t)w;
	baton_kube_framer_init(&w->framer, opts ? opts->max_line : 0);
	uv_timer_init(c->loop, &w->timer);
	w->timer.data = w;
	return 0;
}

int baton_kube_watch_start(struct baton_kube_watch *w, const char *rv)
{
	char *copy = NULL;

	if (w->closing) {
		return BATON_ESHUTDOWN;
	}
	if (rv != NULL && rv[0] != '\0' && (copy = strdup(rv)) == NULL) {
		return BATON_ENOMEM;
	}
	baton_kube_watch_stop(w);
	free(w->rv);
	w->rv = copy;
	w->running = true;
	if (w->req_active) {
		/* The cancel is deferred (we are inside a curl callback):
		 * reopen from the timer once the old stream is gone. */
		schedule(w, 0);
	} else {
		open_stream(w);
	}
	return 0;
}

void baton_kube_watch_stop(struct baton_kube_watch *w)
{
	w->running = false;
	uv_timer_stop(&w->timer);
	if (w->req_active) {
		baton_kube_request_cancel(&w->req);
	}
}

static void watch_timer_closed_cb(uv_handle_t *h)
{
	struct baton_kube_watch *w = h->data;
	w->timer_closed = true;
	maybe_closed(w);
}

void baton_kube_watch_close(struct baton_kube_watch *w,
			    baton_kube_watch_close_cb close_cb)
{
	if (w->closing) {
		return;
	}
	baton_kube_watch_stop(w);
	w->closing = true;
	w->close_cb = close_cb;
	uv_close((uv_handle_t *)&w->timer, watch_timer_closed_cb);
}
