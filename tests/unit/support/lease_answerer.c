/* See lease_answerer.h. */
#include "lease_answerer.h"

#include <stdio.h>
#include <string.h>

#include "../harness.h"

static void answer_now(struct lease_answerer *b, struct baton_http_request *req,
		       const char *body)
{
	if (atomic_load(&b->refuse)) {
		baton_http_respond_error(req, 503, "no leader");
		return;
	}
	baton_http_respond(req, 200, "application/json", body, strlen(body),
			   NULL);
}

static void delay_cb(uv_timer_t *t)
{
	struct lease_answerer *b = t->data;
	struct baton_http_request *req = b->held;
	b->held = NULL;
	if (req != NULL) {
		answer_now(b, req, b->held_body);
	}
}

/* The body is computed when the question arrives, as batond does; the
 * delay only holds the answer back on the way. */
static void lease_cb(struct baton_http_request *req, void *data)
{
	struct lease_answerer *b = data;
	uint64_t grant = atomic_load(&b->grant_ms);
	char body[128];

	snprintf(b->question, sizeof b->question, "%.*s", (int)req->body_len,
		 req->body != NULL ? req->body : "");
	atomic_fetch_add(&b->asks, 1);
	snprintf(body, sizeof body,
		 "{\"epoch\":%llu,\"grantMillis\":%llu,\"askEveryMillis\":50}",
		 (unsigned long long)atomic_load(&b->epoch),
		 (unsigned long long)grant);
	if (grant > 0 && !atomic_load(&b->refuse)) {
		atomic_store(&b->last_grant_at, uv_hrtime() / 1000000);
	}
	if (b->held != NULL) { /* one held at a time: refuse the rest */
		baton_http_respond_error(req, 503, "busy");
		return;
	}
	if (atomic_load(&b->delay_ms) == 0) {
		answer_now(b, req, body);
		return;
	}
	b->held = req;
	snprintf(b->held_body, sizeof b->held_body, "%s", body);
	uv_timer_start(&b->delay, delay_cb, atomic_load(&b->delay_ms), 0);
}

static void closed_cb(struct baton_http_server *srv)
{
	((struct lease_answerer *)srv->data)->closed = true;
}

void lease_answerer_start(uv_loop_t *loop, struct lease_answerer *b)
{
	struct baton_http_config hc = {0};

	memset(b, 0, sizeof *b);
	ck_assert_int_eq(baton_http_server_init(loop, &b->srv, &hc), 0);
	b->srv.data = b;
	ck_assert_int_eq(
	    baton_http_route(&b->srv, "POST", "/v1/lease", lease_cb, b), 0);
	ck_assert_int_eq(baton_http_server_listen(&b->srv, "127.0.0.1", 0), 0);
	uv_timer_init(loop, &b->delay);
	b->delay.data = b;
	snprintf(b->url, sizeof b->url, "http://127.0.0.1:%d",
		 baton_http_server_port(&b->srv));
}

void lease_answerer_stop(uv_loop_t *loop, struct lease_answerer *b)
{
	if (b->held != NULL) {
		answer_now(b, b->held, "{}");
		b->held = NULL;
	}
	uv_close((uv_handle_t *)&b->delay, NULL);
	baton_http_server_close(&b->srv, closed_cb);
	LOOP_RUN_UNTIL(loop, b->closed);
}
