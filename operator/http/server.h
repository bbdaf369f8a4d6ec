/* A small HTTP/1.1 server on libuv, for /healthz, /readyz, /metrics and the
 * JSON APIs of batond and baton-agent.
 *
 * Parsing is Debian's http-parser 2.9; this module adds what a daemon needs
 * around it: bounded header and body sizes (431 / 413), keep-alive, one
 * request in flight per connection (pipelined bytes wait in the buffer),
 * routes as (method, path) -> handler with 404 / 405, idle timeouts, a cap on
 * connections, and optional mutual TLS through OpenSSL memory BIOs.
 *
 * A handler receives a request and answers it with baton_http_respond(),
 * either at once or later from another callback (the agent answers an order
 * once the engine finished). Every request must be answered exactly once; if
 * the client went away meanwhile, the answer is dropped and the request is
 * freed all the same.
 *
 * With TLS configured and a CA given, clients must present a certificate
 * signed by that CA; the verified identity (first SAN URI, else the subject
 * CN) is in req->peer. It comes from the certificate, never from a header.
 */
#ifndef BATON_HTTP_SERVER_H
#define BATON_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/error.h"

#define BATON_HTTP_MAX_ROUTES 32
#define BATON_HTTP_PEER_SIZE 256

struct baton_http_server;
struct baton_http_conn;

struct baton_http_request {
	struct baton_http_server *server;
	struct baton_http_conn *conn; /* NULL once the client went away */
	const char *method;	      /* "GET", "POST", ... */
	char *path;		      /* without the query string */
	char *query;		      /* after '?', or "" */
	char *body;		      /* NUL-terminated, body_len bytes */
	size_t body_len;
	char *content_type;		 /* request Content-Type or "" */
	char peer[BATON_HTTP_PEER_SIZE]; /* verified TLS identity or "" */
	char remote[64];		 /* "127.0.0.1:port" */
	bool keep_alive;
	bool answered;
};

typedef void (*baton_http_handler_fn)(struct baton_http_request *req,
				      void *data);
typedef void (*baton_http_close_cb)(struct baton_http_server *srv);

struct baton_http_tls_config {
	const char *cert_file; /* PEM server certificate (chain) */
	const char *key_file;  /* PEM private key */
	const char *ca_file;   /* if set: client certificates are required */
	/* or the same as PEM text in memory (a file, when set, wins) */
	const char *cert_pem;
	const char *key_pem;
	const char *ca_pem;
};

struct baton_http_config {
	size_t max_header_bytes;  /* request line + headers; 0 -> 8 KiB */
	size_t max_body_bytes;	  /* 0 -> 1 MiB */
	unsigned idle_timeout_ms; /* 0 -> 30 s */
	/* a request (with the TLS handshake, for the first) must arrive
	 * whole this long after its first byte, however the bytes trickle
	 * in: a client sending one byte a second cannot hold a connection
	 * (and with enough of them the whole server) forever; 0 -> 10 s */
	unsigned request_timeout_ms;
	unsigned max_connections;		 /* 0 -> 128 */
	const struct baton_http_tls_config *tls; /* NULL -> plain HTTP */
};

struct baton_http_route {
	char method[8];
	char path[128];
	baton_http_handler_fn fn;
	void *data;
};

struct baton_http_server {
	void *data;
	uv_loop_t *loop;
	uv_tcp_t listener;
	struct baton_http_config cfg;
	void *ssl_ctx; /* SSL_CTX *, NULL without TLS */
	struct baton_http_route routes[BATON_HTTP_MAX_ROUTES];
	unsigned n_routes;
	struct baton_http_conn *conns; /* doubly linked */
	unsigned n_conns;
	bool listening;
	bool closing;
	bool closed;
	baton_http_close_cb close_cb;
	/* Counters, for /metrics and tests. */
	unsigned long long requests;
	unsigned long long rejected_tls;
	char errmsg[BATON_ERRMSG_SIZE];
};

/* Loads the TLS material, if any; returns BATON_ETLS with errmsg on bad
 * certificates. On failure nothing needs closing. */
int baton_http_server_init(uv_loop_t *loop, struct baton_http_server *srv,
			   const struct baton_http_config *cfg);

/* Registers METHOD PATH (exact match). BATON_ETOOLARGE past the table size. */
int baton_http_route(struct baton_http_server *srv, const char *method,
		     const char *path, baton_http_handler_fn fn, void *data);

/* Binds HOST:PORT (port 0 picks a free one, see baton_http_server_port). */
int baton_http_server_listen(struct baton_http_server *srv, const char *host,
			     int port);
int baton_http_server_port(const struct baton_http_server *srv);

/* Serves FD, a stream socket connected already, as if the listener had
 * accepted it (the same limits, timeouts and TLS): the fuzz targets and
 * tests hand the server one end of a socketpair this way, with no TCP
 * port. No listener is needed. The server owns FD from this call on, also
 * when it fails (BATON_ESHUTDOWN while closing, BATON_EIO with errmsg). */
int baton_http_server_adopt(struct baton_http_server *srv, uv_os_sock_t fd);

/* Stops listening, closes every connection (pending requests become
 * orphans that baton_http_respond frees), then calls cb. */
void baton_http_server_close(struct baton_http_server *srv,
			     baton_http_close_cb cb);

/* Answers REQ and releases it. extra_headers: "Name: value\r\n" lines or
 * NULL. Safe to call after the connection died. */
void baton_http_respond(struct baton_http_request *req, int status,
			const char *content_type, const char *body,
			size_t body_len, const char *extra_headers);

/* Shorthand: JSON body {"error": msg} with STATUS. */
void baton_http_respond_error(struct baton_http_request *req, int status,
			      const char *msg);

const char *baton_http_status_text(int status);

#endif /* BATON_HTTP_SERVER_H */
