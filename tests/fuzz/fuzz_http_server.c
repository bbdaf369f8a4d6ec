/* Fuzz target: the HTTP/1.1 server (http/server.h) that batond's API and
 * every baton-agent's order port run on: whatever bytes a client sends,
 * through http-parser, the header and body caps, pipelining and the
 * one-request-at-a-time backpressure.
 *
 * No TCP port: the server is handed one end of a socketpair
 * (baton_http_server_adopt()) and this target is the client on the other.
 * Input: byte 0 picks the caps (default 8 KiB / 1 MiB, or small ones that
 * the input can cross: 431, 413), byte 1 seeds how the rest is cut into
 * writes; the rest is what the client sends, then it shuts its side down.
 * Routes: GET /a answers at once, POST /echo echoes the body, GET and PUT
 * /later answer from a timer (a request pending while more bytes arrive).
 *
 * Oracles (abort() on a violation):
 *  - what the handlers get is sane: a method, a NUL-terminated path with
 *    no '?', the query split off, a NUL-terminated body within the cap;
 *  - what the client gets back is a sequence of well-formed responses
 *    ("HTTP/1.1 NNN", Content-Length that is the body's length), one per
 *    request the server counted, plus at most one rejection (400, 408,
 *    413, 431, 500) and nothing after a "Connection: close";
 *  - the connection closes once the client's side is shut, the server
 *    closes, and the loop has no handle left (uv_loop_close() == 0).
 * Every request is answered exactly once (the server asserts it) and
 * LeakSanitizer sees whatever a path forgets to free.
 * TLS (the memory BIOs) is not fuzzed here: a handshake per input would
 * cost more than the parsing it wraps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "http/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_http_server: invariant violated: %s\n", what);
	abort();
}

#define MAX_LATER 64

struct ctx {
	uv_loop_t loop;
	struct baton_http_server srv;
	uv_timer_t later_timer;
	uv_timer_t guard;
	bool guard_fired;
	struct baton_http_request *later[MAX_LATER];
	unsigned n_later;
	unsigned handled; /* handler calls */
	unsigned orphans; /* answered after the client went away */
	bool closed;
	size_t max_body;
	size_t max_header;
	/* what the client read */
	char *in;
	size_t in_len, in_cap;
};

static void check_request(struct ctx *x, struct baton_http_request *req)
{
	x->handled++;
	if (req->method == NULL || req->path == NULL || req->query == NULL ||
	    req->body == NULL || req->content_type == NULL) {
		fail("a request field is NULL");
	}
	if (strchr(req->path, '?') != NULL) {
		fail("the path still holds the query");
	}
	if (req->body_len > x->max_body || req->body[req->body_len] != '\0') {
		fail("a body past the cap or not NUL-terminated");
	}
	if (strlen(req->path) > x->max_header) {
		fail("a path longer than the header cap");
	}
}

static void a_cb(struct baton_http_request *req, void *data)
{
	check_request(data, req);
	baton_http_respond(req, 200, "text/plain", "a\n", 2, NULL);
}

static void echo_cb(struct baton_http_request *req, void *data)
{
	check_request(data, req);
	baton_http_respond(req, 200, "application/octet-stream", req->body,
			   req->body_len, "X-Echo: 1\r\n");
}

static void later_timer_cb(uv_timer_t *t)
{
	struct ctx *x = t->data;
	unsigned n = x->n_later;

	x->n_later = 0;
	for (unsigned i = 0; i < n; i++) {
		if (x->later[i]->conn == NULL) {
			x->orphans++;
		}
		baton_http_respond_error(x->later[i], 200, "later");
	}
}

static void later_cb(struct baton_http_request *req, void *data)
{
	struct ctx *x = data;

	check_request(x, req);
	if (x->n_later == MAX_LATER) {
		fail("more requests pending than one connection can have");
	}
	x->later[x->n_later++] = req;
	uv_timer_start(&x->later_timer, later_timer_cb, 0, 0);
}

static void guard_cb(uv_timer_t *t)
{
	((struct ctx *)t->data)->guard_fired = true;
}

static void server_closed_cb(struct baton_http_server *srv)
{
	((struct ctx *)srv->data)->closed = true;
}

/* Reads whatever the server wrote so far (the client end is
 * non-blocking); true at EOF. */
static bool client_read(struct ctx *x, int fd)
{
	for (;;) {
		ssize_t n;

		if (x->in_cap - x->in_len < 4096) {
			x->in_cap = x->in_cap ? 2 * x->in_cap : 16384;
			x->in = realloc(x->in, x->in_cap);
			if (x->in == NULL) {
				abort();
			}
		}
		n = read(fd, x->in + x->in_len, x->in_cap - x->in_len);
		if (n > 0) {
			x->in_len += (size_t)n;
			continue;
		}
		if (n == 0) {
			return true;
		}
		if (errno == EINTR) {
			continue;
		}
		return false; /* EAGAIN */
	}
}

/* Runs the loop until COND(x) holds; a second without progress is a hang. */
#define RUN_UNTIL(x, fd, cond)                                                 \
	do {                                                                   \
		(x)->guard_fired = false;                                      \
		uv_timer_start(&(x)->guard, guard_cb, 1000, 0);                \
		while (!(cond)) {                                              \
			uv_run(&(x)->loop, UV_RUN_ONCE);                       \
			client_read((x), (fd));                                \
			if ((x)->guard_fired) {                                \
				fail("stuck: " #cond);                         \
			}                                                      \
		}                                                              \
		uv_timer_stop(&(x)->guard);                                    \
	} while (0)

/* The responses in what the client read: well-formed, counted. */
static void check_responses(struct ctx *x)
{
	size_t off = 0;
	unsigned answers = 0, rejects = 0;
	bool closed = false;

	while (off < x->in_len) {
		const char *p = x->in + off;
		size_t left = x->in_len - off;
		const char *end, *cl;
		char head[2048];
		unsigned long long blen;
		int status;
		char *e;

		if (closed) {
			fail("bytes after a Connection: close response");
		}
		end = memmem(p, left, "\r\n\r\n", 4);
		if (end == NULL || left < 13 ||
		    memcmp(p, "HTTP/1.1 ", 9) != 0 ||
		    (size_t)(end - p) >= sizeof head) {
			fail("a malformed response head");
		}
		memcpy(head, p, (size_t)(end - p));
		head[end - p] = '\0';
		status = (int)strtol(head + 9, &e, 10);
		if (e != head + 12 || status < 200 || status > 599) {
			fail("a response without a status");
		}
		cl = strstr(head, "\r\nContent-Length: ");
		if (cl == NULL) {
			fail("a response without Content-Length");
		}
		blen = strtoull(cl + 18, &e, 10);
		if (*e != '\r' || blen > left - (size_t)(end + 4 - p)) {
			fail("a body shorter than its Content-Length");
		}
		closed = strstr(head, "\r\nConnection: close") != NULL;
		if (!closed &&
		    strstr(head, "\r\nConnection: keep-alive") == NULL) {
			fail("a response that says nothing of the connection");
		}
		if (status == 400 || status == 408 || status == 413 ||
		    status == 431 || status == 500) {
			rejects++;
			if (!closed) {
				fail("a rejection that keeps the connection");
			}
		} else {
			answers++;
		}
		off = (size_t)(end + 4 - x->in) + (size_t)blen;
	}
	if (rejects > 1) {
		fail("more than one rejection on one connection");
	}
	if (answers + x->orphans != x->srv.requests ||
	    x->handled > x->srv.requests) {
		fail("answers and requests do not add up");
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	baton_log_set_stream(fopen("/dev/null", "w"));
	baton_log_set_level(BATON_LOG_DEBUG); /* formats every line */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t headers[] = {0, 64, 256, 0};
	static const size_t bodies[] = {0, 16, 512, 0};
	struct baton_http_config cfg = {0};
	struct ctx *x;
	int sv[2];
	uint32_t rng;
	size_t off;

	if (size < 2) {
		return 0;
	}
	x = calloc(1, sizeof *x);
	if (x == NULL || uv_loop_init(&x->loop) != 0) {
		abort();
	}
	cfg.max_header_bytes = headers[data[0] & 3];
	cfg.max_body_bytes = bodies[(data[0] >> 2) & 3];
	x->max_header = cfg.max_header_bytes ? cfg.max_header_bytes : 8192;
	x->max_body = cfg.max_body_bytes ? cfg.max_body_bytes : 1024 * 1024;
	rng = data[1];
	if (baton_http_server_init(&x->loop, &x->srv, &cfg) != 0 ||
	    baton_http_route(&x->srv, "GET", "/a", a_cb, x) != 0 ||
	    baton_http_route(&x->srv, "POST", "/echo", echo_cb, x) != 0 ||
	    baton_http_route(&x->srv, "GET", "/later", later_cb, x) != 0 ||
	    baton_http_route(&x->srv, "PUT", "/later", later_cb, x) != 0) {
		abort();
	}
	x->srv.data = x;
	uv_timer_init(&x->loop, &x->later_timer);
	uv_timer_init(&x->loop, &x->guard);
	x->later_timer.data = x->guard.data = x;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		abort();
	}
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (baton_http_server_adopt(&x->srv, sv[0]) != 0) {
		fail("the server does not take a connected socket");
	}

	/* the client writes in pieces, the loop turning in between */
	for (off = 2; off < size;) {
		size_t n = size - off;
		ssize_t w;

		if (rng != 0) {
			rng = rng * 1103515245u + 12345u;
			size_t want = 1 + (rng >> 16) % 200;
			n = want < n ? want : n;
		}
		w = send(sv[1], data + off, n, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			break; /* the server closed: the rest is not read */
		}
		if (w > 0) {
			off += (size_t)w;
		}
		uv_run(&x->loop, UV_RUN_NOWAIT);
		client_read(x, sv[1]);
	}
	shutdown(sv[1], SHUT_WR);
	RUN_UNTIL(x, sv[1], x->srv.n_conns == 0);
	while (!client_read(x, sv[1])) {
	}
	close(sv[1]);
	check_responses(x);

	baton_http_server_close(&x->srv, server_closed_cb);
	uv_close((uv_handle_t *)&x->later_timer, NULL);
	RUN_UNTIL(x, -1, x->closed);
	uv_close((uv_handle_t *)&x->guard, NULL);
	uv_run(&x->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&x->loop) != 0) {
		fail("a handle outlived the server");
	}
	free(x->in);
	free(x);
	return 0;
}
