/* WATCH streams: newline framing, event parsing, and a self-restarting watch.
 *
 * The framer and the event parser are pure (no I/O) so they can be tested
 * byte by byte. The watch handle keeps one streaming GET open with
 * watch=1&allowWatchBookmarks=true&timeoutSeconds=T (T random in [300,600),
 * as client-go), records the resourceVersion of every event (bookmarks
 * included) and reconnects from it:
 *   - a clean end of stream (the server's timeout) reconnects at once;
 *   - failures back off 800 ms → 30 s with jitter (client-go's
 *     NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, 1.0)), and a 429
 *     waits at least its Retry-After;
 *   - 410 Gone (HTTP status or an ERROR event with code 410) stops the
 *     watch and calls gone_cb: the caller must relist and start again.
 */
#ifndef BATON_KUBE_WATCH_H
#define BATON_KUBE_WATCH_H

#include "common/buf.h"
#include "kube/rest.h"

#define BATON_KUBE_WATCH_MAX_LINE (16u * 1024 * 1024)

/* ---- framing (pure) ---------------------------------------------------------
 */

struct baton_kube_framer {
	/* the partial line; its bound is the longest accepted line, without
	 * the newline */
	struct baton_buf line;
};

/* Return 0 to continue, a BATON_E* to stop feeding (returned by feed). */
typedef int (*baton_kube_line_cb)(void *ud, const char *line, size_t len);

void baton_kube_framer_init(struct baton_kube_framer *f, size_t max_line);
/* Calls LINE_CB for every complete non-empty line (a trailing '\r' is
 * dropped); keeps the partial tail. BATON_ETOOLARGE if a line exceeds the
 * cap (the framer is then reset), BATON_ENOMEM. */
int baton_kube_framer_feed(struct baton_kube_framer *f, const char *data,
			   size_t len, baton_kube_line_cb line_cb, void *ud);
void baton_kube_framer_reset(struct baton_kube_framer *f);
void baton_kube_framer_free(struct baton_kube_framer *f);

enum baton_kube_event_type {
	BATON_KUBE_ADDED = 1,
	BATON_KUBE_MODIFIED,
	BATON_KUBE_DELETED,
	BATON_KUBE_BOOKMARK,
	BATON_KUBE_ERROR,
};

/* Parses one watch event line. On success *OBJ is a new reference.
 * BATON_EPARSE with errmsg for malformed events. */
int baton_kube_event_parse(const char *line, size_t len, int *type,
			   json_t **obj, char *errmsg);

/* ---- the watch handle ---------------------------------------------------- */

struct baton_kube_watch;
/* OBJ is borrowed. Never called with BATON_KUBE_ERROR (handled inside). */
typedef void (*baton_kube_watch_event_cb)(struct baton_kube_watch *w, int type,
					  json_t *obj);
typedef void (*baton_kube_watch_gone_cb)(struct baton_kube_watch *w);
typedef void (*baton_kube_watch_close_cb)(struct baton_kube_watch *w);

struct baton_kube_watch_opts {
	const char *label_selector;
	const char *field_selector;
	size_t max_line; /* 0: BATON_KUBE_WATCH_MAX_LINE */
	/* the longest wait between failed attempts, 0: 30 s (a peer's watch
	 * uses less: after a partition heals, the region must see the
	 * peer's status within seconds, not at the end of a 30 s backoff) */
	uint64_t retry_cap_ms;
};

struct baton_kube_watch {
	void *data;
	char *rv; /* last resourceVersion seen */
	char errmsg[BATON_ERRMSG_SIZE];
	unsigned restarts; /* streams opened, for tests and metrics */

	/* Private. */
	struct baton_kube_client *client;
	struct baton_kube_request req;
	struct baton_kube_framer framer;
	uv_timer_t timer;
	char *path; /* collection path + selectors */
	uint64_t backoff_ms;
	uint64_t backoff_cap_ms;
	uint64_t stream_started;
	unsigned stream_events;
	bool own_msg; /* errmsg set by framing/ERROR for this stream */
	bool running; /* started and not stopped/gone */
	bool req_active;
	bool closing;
	bool timer_closed;
	unsigned rng;
	baton_kube_watch_event_cb event_cb;
	baton_kube_watch_gone_cb gone_cb;
	baton_kube_watch_close_cb close_cb;
};

int baton_kube_watch_init(struct baton_kube_client *c,
			  struct baton_kube_watch *w,
			  const struct baton_kube_ref *ref,
			  const struct baton_kube_watch_opts *opts,
			  baton_kube_watch_event_cb event_cb,
			  baton_kube_watch_gone_cb gone_cb);
/* Starts (or restarts) watching from RV (NULL or "": from now, with
 * synthetic ADDED events for current objects). */
int baton_kube_watch_start(struct baton_kube_watch *w, const char *rv);
/* Stops without closing; no more callbacks until start. */
void baton_kube_watch_stop(struct baton_kube_watch *w);
void baton_kube_watch_close(struct baton_kube_watch *w,
			    baton_kube_watch_close_cb close_cb);

/* Backoff step, pure: next delay for a failure with the current base;
 * advances *base_ms (800 → 30000). R is a random value in [0,1). */
uint64_t baton_kube_backoff_next(uint64_t *base_ms, double r);
/* The same with the cap CAP_MS (0: 30 s; never below the 800 ms base). */
uint64_t baton_kube_backoff_capped(uint64_t *base_ms, double r,
				   uint64_t cap_ms);

#endif /* BATON_KUBE_WATCH_H */
