/* HTTP/1.1 server: see server.h for the contract.
 *
 * Happy path, per connection: accept -> (TLS handshake through memory BIOs)
 * -> bytes go into `in` -> http_parser_execute -> on_message_complete pauses
 * the parser and the request is dispatched to its route; reading stops
 * until the handler calls baton_http_respond(), which writes the answer,
 * unpauses the parser and parses whatever the client pipelined meanwhile.
 *
 * Failure paths: a request the parser rejects gets 400 and the connection
 * is closed (after the parser lost sync nothing else on it can be trusted);
 * too many header bytes -> 431, a body above the cap -> 413, both with
 * Connection: close. A failed TLS handshake (no client certificate, one from
 * another CA) closes the connection without an HTTP answer. Bounds on slow
 * or idle clients: a request (the TLS handshake included, for the first)
 * must be whole request_timeout_ms after its first byte, else 408 and
 * close (a trickling client used to re-arm the idle timer with every
 * byte); nothing read for idle_timeout_ms between requests closes; at most
 * max_connections at once. No per-address cap yet: max_connections slow
 * clients still fill the server for request_timeout_ms at a time.
 *
 * Cancel path: closing the server closes every connection; a request whose
 * handler has not answered yet loses its `conn` and baton_http_respond()
 * just frees it. A connection is freed only when both its handles closed.
 */
#include "http/server.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <assert.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"

#define DEFAULT_MAX_HEADER (8 * 1024)
#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_IDLE_MS 30000
#define DEFAULT_REQUEST_MS 10000
#define DEFAULT_MAX_CONNS 128
#define TLS_CHUNK 16384

struct baton_http_conn {
	struct baton_http_server *srv;
	struct baton_http_conn *prev;
	struct baton_http_conn *next;
	uv_tcp_t tcp;
	uv_timer_t timer;	 /* the deadlines below, checked periodically */
	uint64_t last_read_ms;	 /* loop time of the last bytes read */
	uint64_t req_started_ms; /* first byte of the request (0: idle) */
	int open_handles;
	http_parser parser;
	SSL *ssl;
	BIO *rbio; /* network -> OpenSSL */
	BIO *wbio; /* OpenSSL -> network */
	bool handshake_done;
	char peer[BATON_HTTP_PEER_SIZE];
	char remote[64];
	/* Plaintext not parsed yet (pipelined bytes wait here), bounded by a
	 * whole request and two TLS records. */
	struct baton_buf in;
	/* The request being parsed: its URL (bounded with the headers) and
	 * body (max_body_bytes). */
	struct baton_buf url;
	struct baton_buf body;
	char ctype[128];
	bool field_is_ctype;
	size_t header_bytes;
	int reject_status; /* 400, 413, 431 set by a parser callback */
	bool message_complete;
	struct baton_http_request *pending;
	bool in_process;
	bool reading;
	bool closing;
	bool close_after_write;
	unsigned writes_pending;
};

struct write_req {
	uv_write_t req;
	struct baton_http_conn *conn;
	char *buf;
};

static void conn_close(struct baton_http_conn *c);
static void conn_process(struct baton_http_conn *c);
static void start_reading(struct baton_http_conn *c);

const char *baton_http_status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 422:
		return "Unprocessable Entity";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Unknown";
	}
}

/* ---- TLS -------------------------------------------------------------- */

static void tls_errmsg(char *errmsg, const char *what, const char *file)
{
	char buf[160];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	baton_errmsg_printf(errmsg, "%s %s: %s", what, file ? file : "",
			    e ? buf : "unknown OpenSSL error");
}

/* PEM text → the context's certificate chain, key or trusted CAs. */
static int use_pem(SSL_CTX *ctx, const char *pem, int what)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	int ok = 0;
	if (b == NULL) {
		return 0;
	}
	if (what == 0) { /* the leaf, then any intermediates */
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
		ok = x != NULL && SSL_CTX_use_certificate(ctx, x) == 1;
		X509_free(x);
		while (ok) {
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
			if (x == NULL) {
				ERR_clear_error(); /* the end of the text */
				break;
			}
			if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
				X509_free(x);
				ok = 0;
			}
		}
	} else if (what == 1) {
		EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		ok = k != NULL && SSL_CTX_use_PrivateKey(ctx, k) == 1;
		EVP_PKEY_free(k);
	} else {
		X509_STORE *st = SSL_CTX_get_cert_store(ctx);
		X509 *x;
		while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
			ok = X509_STORE_add_cert(st, x) == 1;
			X509_free(x);
			if (!ok) {
				break;
			}
		}
		ERR_clear_error();
	}
	BIO_free(b);
	return ok;
}

static int tls_ctx_init(struct baton_http_server *srv,
			const struct baton_http_tls_config *tls)
{
	SSL_CTX *ctx;
	const char *cert = tls->cert_file ? tls->cert_file : "(in memory)";
	const char *key = tls->key_file ? tls->key_file : "(in memory)";
	const char *ca = tls->ca_file ? tls->ca_file : "(in memory)";

	if ((tls->cert_file == NULL && tls->cert_pem == NULL) ||
	    (tls->key_file == NULL && tls->key_pem == NULL)) {
		baton_errmsg_printf(srv->errmsg,
				    "TLS needs both a certificate and a key");
		return BATON_ECONFIG;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		tls_errmsg(srv->errmsg, "SSL_CTX_new", NULL);
		return BATON_ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (tls->cert_file != NULL
		? SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1
		: !use_pem(ctx, tls->cert_pem, 0)) {
		tls_errmsg(srv->errmsg, "cannot load server certificate", cert);
		goto err_after_ctx;
	}
	if ((tls->key_file != NULL
		 ? SSL_CTX_use_PrivateKey_file(ctx, tls->key_file,
					       SSL_FILETYPE_PEM) != 1
		 : !use_pem(ctx, tls->key_pem, 1)) ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_errmsg(srv->errmsg, "cannot load or match private key",
			   key);
		goto err_after_ctx;
	}
	if (tls->ca_file != NULL || tls->ca_pem != NULL) {
		if (tls->ca_file != NULL ? SSL_CTX_load_verify_locations(
					       ctx, tls->ca_file, NULL) != 1
					 : !use_pem(ctx, tls->ca_pem, 2)) {
			tls_errmsg(srv->errmsg, "cannot load CA", ca);
			goto err_after_ctx;
		}
		SSL_CTX_set_verify(
		    ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		    NULL);
	}
	srv->ssl_ctx = ctx;
	return 0;

err_after_ctx:
	SSL_CTX_free(ctx);
	return BATON_ETLS;
}

/* The identity handlers see: the first SAN URI (spiffe://...), else CN. */
static void tls_peer_identity(SSL *ssl, char *out, size_t size)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	GENERAL_NAMES *sans;

	out[0] = '\0';
	if (cert == NULL) {
		return;
	}
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(sans, i);
		if (gn->type == GEN_URI) {
			const ASN1_STRING *s = gn->d.uniformResourceIdentifier;
			int n = ASN1_STRING_length(s);
			if (n > 0 && (size_t)n < size) {
				memcpy(out, ASN1_STRING_get0_data(s),
				       (size_t)n);
				out[n] = '\0';
				break;
			}
		}
	}
	GENERAL_NAMES_free(sans);
	if (out[0] == '\0') {
		X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
					  NID_commonName, out, (int)size);
	}
	X509_free(cert);
}

/* ---- writing ------------------------------------------------------------ */

static void write_cb(uv_write_t *req, int status)
{
	struct write_req *wr = (struct write_req *)req;
	struct baton_http_conn *c = wr->conn;

	free(wr->buf);
	free(wr);
	c->writes_pending--;
	if (status != 0 && !c->closing) {
		conn_close(c);
		return;
	}
	if (c->close_after_write && c->writes_pending == 0 && !c->closing) {
		conn_close(c);
	}
}

/* Takes ownership of buf. */
static void raw_write(struct baton_http_conn *c, char *buf, size_t len)
{
	struct write_req *wr;
	uv_buf_t b;

	if (c->closing || len == 0) {
		free(buf);
		return;
	}
	wr = malloc(sizeof *wr);
	if (wr == NULL) {
		free(buf);
		conn_close(c);
		return;
	}
	wr->conn = c;
	wr->buf = buf;
	b = uv_buf_init(buf, (unsigned)len);
	if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
		free(buf);
		free(wr);
		conn_close(c);
		return;
	}
	c->writes_pending++;
}

/* Sends whatever OpenSSL queued for the network. */
static void tls_flush(struct baton_http_conn *c)
{
	size_t pending = BIO_ctrl_pending(c->wbio);
	char *buf;
	int n;

	if (pending == 0) {
		return;
	}
	buf = malloc(pending);
	if (buf == NULL) {
		conn_close(c);
		return;
	}
	n = BIO_read(c->wbio, buf, (int)pending);
	if (n <= 0) {
		free(buf);
		return;
	}
	raw_write(c, buf, (size_t)n);
}

/* Plaintext out: through OpenSSL when TLS is on. Copies data. */
static void conn_write(struct baton_http_conn *c, const char *data, size_t len)
{
	char *copy;

	if (c->closing) {
		return;
	}
	if (c->ssl != NULL) {
		if (SSL_write(c->ssl, data, (int)len) <= 0) {
			ERR_clear_error();
			conn_close(c);
			return;
		}
		tls_flush(c);
		return;
	}
	copy = malloc(len);
	if (copy == NULL) {
		conn_close(c);
		return;
	}
	memcpy(copy, data, len);
	raw_write(c, copy, len);
}

static void send_response(struct baton_http_conn *c, int status,
			  const char *ctype, const char *body, size_t body_len,
			  const char *extra, bool keep_alive)
{
	char head[1024];
	int n;

	n = snprintf(head, sizeof head,
		     "HTTP/1.1 %d %s\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %zu\r\n"
		     "%s"
		     "Connection: %s\r\n\r\n",
		     status, baton_http_status_text(status),
		     ctype ? ctype : "text/plain", body_len, extra ? extra : "",
		     keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof head) {
		conn_close(c);
		return;
	}
	if (body_len > 0 && body_len <= 64 * 1024) {
		/* one write, one TLS record sequence */
		char *all = malloc((size_t)n + body_len);
		if (all == NULL) {
			conn_close(c);
			return;
		}
		memcpy(all, head, (size_t)n);
		memcpy(all + n, body, body_len);
		conn_write(c, all, (size_t)n + body_len);
		free(all);
	} else {
		conn_write(c, head, (size_t)n);
		if (body_len > 0) {
			conn_write(c, body, body_len);
		}
	}
	if (!keep_alive) {
		c->close_after_write = true;
		if (c->writes_pending == 0 && !c->closing) {
			conn_close(c);
		}
	}
}

/* A request the parser rejected: answer and close. */
static void reject(struct baton_http_conn *c, int status, const char *msg)
{
	char body[256];
	int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
	BATON_DEBUG("http", "rejecting request from %s: %d %s", c->remote,
		    status, msg);
	send_response(c, status, "application/json", body, (size_t)n, NULL,
		      false);
	c->close_after_write = true;
}

/* ---- parser callbacks ------------------------------------------------- */

static int count_header(struct baton_http_conn *c, size_t len)
{
	c->header_bytes += len;
	if (c->header_bytes > c->srv->cfg.max_header_bytes) {
		c->reject_status = 431;
		return 1;
	}
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct baton_http_conn *c = p->data;
	baton_buf_free(&c->url);
	baton_buf_free(&c->body);
	c->ctype[0] = '\0';
	c->header_bytes = 0;
	c->message_complete = false;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct baton_http_conn *c = p->data;
	int rv;

	if (count_header(c, len) != 0) {
		return 1;
	}
	rv = baton_buf_add(&c->url, at, len);
	if (rv != 0) {
		c->reject_status = rv == BATON_ETOOLARGE ? 431 : 500;
		return 1;
	}
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct baton_http_conn *c = p->data;
	/* +4: the ": " and CRLF the parser does not hand us */
	if (count_header(c, len + 4) != 0) {
		return 1;
	}
	c->field_is_ctype =
	    (len == 12 && strncasecmp(at, "content-type", 12) == 0);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct baton_http_conn *c = p->data;
	if (count_header(c, len) != 0) {
		return 1;
	}
	if (c->field_is_ctype) {
		size_t have = strlen(c->ctype);
		size_t room = sizeof c->ctype - 1 - have;
		size_t n = len < room ? len : room;
		memcpy(c->ctype + have, at, n);
		c->ctype[have + n] = '\0';
	}
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct baton_http_conn *c = p->data;
	if ((p->flags & F_CONTENTLENGTH) &&
	    p->content_length > c->srv->cfg.max_body_bytes) {
		c->reject_status = 413;
		return -1; /* http-parser: negative is an error, too */
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct baton_http_conn *c = p->data;
	int rv = baton_buf_add(&c->body, at, len);

	if (rv != 0) {
		c->reject_status = rv == BATON_ETOOLARGE ? 413 : 500;
		return 1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct baton_http_conn *c = p->data;
	c->message_complete = true;
	/* One request at a time: the rest of the buffer waits. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- dispatch ----------------------------------------------------------- */

static void free_request(struct baton_http_request *req)
{
	free(req->path);
	free(req->body);
	free(req->content_type);
	free(req);
}

static void dispatch(struct baton_http_conn *c)
{
	struct baton_http_server *srv = c->srv;
	struct baton_http_request *req;
	char *q;
	char allow[128] = "";
	const struct baton_http_route *match = NULL;

	req = calloc(1, sizeof *req);
	if (req == NULL) {
		reject(c, 500, "out of memory");
		return;
	}
	req->server = srv;
	req->conn = c;
	req->method = http_method_str((enum http_method)c->parser.method);
	req->body_len = c->body.len;
	req->path = baton_buf_take(&c->url);
	if (req->path == NULL) {
		req->path = strdup("/");
	}
	req->body = baton_buf_take(&c->body);
	if (req->body == NULL) {
		req->body = strdup("");
	}
	req->content_type = strdup(c->ctype);
	if (req->path == NULL || req->body == NULL ||
	    req->content_type == NULL) {
		free_request(req);
		reject(c, 500, "out of memory");
		return;
	}
	q = strchr(req->path, '?');
	if (q != NULL) {
		*q = '\0';
		req->query = q + 1;
	} else {
		req->query = req->path + strlen(req->path);
	}
	snprintf(req->peer, sizeof req->peer, "%s", c->peer);
	snprintf(req->remote, sizeof req->remote, "%s", c->remote);
	req->keep_alive = http_should_keep_alive(&c->parser) != 0;
	c->pending = req;
	srv->requests++;

	for (unsigned i = 0; i < srv->n_routes; i++) {
		const struct baton_http_route *r = &srv->routes[i];
		if (strcmp(r->path, req->path) != 0) {
			continue;
		}
		if (strcmp(r->method, req->method) == 0) {
			match = r;
			break;
		}
		size_t used = strlen(allow);
		snprintf(allow + used, sizeof allow - used, "%s%s",
			 used ? ", " : "", r->method);
	}
	if (match != NULL) {
		match->fn(req, match->data);
	} else if (allow[0] != '\0') {
		char hdr[160];
		snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
		baton_http_respond(req, 405, "application/json",
				   "{\"error\":\"method not allowed\"}", 31,
				   hdr);
	} else {
		baton_http_respond_error(req, 404, "no such path");
	}
}

/* Parses buffered plaintext until a request is pending or bytes run out. */
static void conn_process(struct baton_http_conn *c)
{
	if (c->in_process) {
		return;
	}
	c->in_process = true;
	while (!c->closing && c->pending == NULL && !c->close_after_write &&
	       c->in.len > 0) {
		size_t n = http_parser_execute(&c->parser, &parser_settings,
					       c->in.p, c->in.len);
		enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);

		if (n > c->in.len) {
			n = c->in.len;
		}
		baton_buf_consume(&c->in, n);
		if (err == HPE_PAUSED && c->message_complete) {
			dispatch(c);
			continue;
		}
		if (err == HPE_HEADER_OVERFLOW) {
			reject(c, 431, "request headers too large");
			break;
		}
		if (err != HPE_OK) {
			if (c->reject_status == 431) {
				reject(c, 431, "request headers too large");
			} else if (c->reject_status == 413) {
				reject(c, 413, "request body too large");
			} else if (c->reject_status == 500) {
				reject(c, 500, "out of memory");
			} else {
				reject(c, 400, http_errno_name(err));
			}
			break;
		}
		if (n == 0) {
			break;
		}
	}
	c->in_process = false;
	if (!c->closing && c->pending == NULL && !c->close_after_write) {
		start_reading(c);
	}
}

void baton_http_respond(struct baton_http_request *req, int status,
			const char *content_type, const char *body,
			size_t body_len, const char *extra_headers)
{
	struct baton_http_conn *c = req->conn;

	assert(!req->answered);
	req->answered = true;
	if (c == NULL || c->closing) {
		free_request(req); /* the client went away */
		return;
	}
	assert(c->pending == req);
	c->pending = NULL;
	send_response(c, status, content_type, body, body_len, extra_headers,
		      req->keep_alive && !c->srv->closing);
	free_request(req);
	if (c->closing || c->close_after_write) {
		return;
	}
	/* answered: the next request's clock starts with its first byte */
	c->req_started_ms = 0;
	c->last_read_ms = uv_now(c->srv->loop);
	http_parser_pause(&c->parser, 0);
	c->message_complete = false;
	conn_process(c); /* pipelined bytes, if any; resumes reading */
}

void baton_http_respond_error(struct baton_http_request *req, int status,
			      const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg ? msg : "");
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL) {
		baton_http_respond(req, status, "application/json", "{}", 2,
				   NULL);
		return;
	}
	baton_http_respond(req, status, "application/json", text, strlen(text),
			   NULL);
	free(text);
}

/* ---- reading --------------------------------------------------------------
 */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = malloc(TLS_CHUNK);
	buf->len = buf->base ? TLS_CHUNK : 0;
}

static int append_plain(struct baton_http_conn *c, const char *data, size_t len)
{
	return baton_buf_add(&c->in, data, len);
}

static void tls_fail(struct baton_http_conn *c)
{
	char buf[160];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	c->srv->rejected_tls++;
	baton_log_kv(BATON_LOG_WARN, "http",
		     json_pack("{s:s,s:s}", "remote", c->remote, "tls",
			       e ? buf : "handshake failed"),
		     "TLS handshake rejected");
	tls_flush(c); /* the alert, so the client learns why */
	c->close_after_write = true;
	if (c->writes_pending == 0) {
		conn_close(c);
	}
}

/* Ciphertext in: handshake, then decrypt into `in`. */
static int tls_input(struct baton_http_conn *c, const char *data, size_t len)
{
	char plain[TLS_CHUNK];
	int n;

	if (BIO_write(c->rbio, data, (int)len) != (int)len) {
		return BATON_ENOMEM;
	}
	if (!c->handshake_done) {
		n = SSL_do_handshake(c->ssl);
		if (n != 1) {
			int e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ) {
				tls_flush(c);
				return 0;
			}
			tls_fail(c);
			return BATON_ETLS;
		}
		c->handshake_done = true;
		tls_peer_identity(c->ssl, c->peer, sizeof c->peer);
		tls_flush(c);
	}
	for (;;) {
		n = SSL_read(c->ssl, plain, sizeof plain);
		if (n > 0) {
			int rv = append_plain(c, plain, (size_t)n);
			if (rv != 0) {
				return rv;
			}
			continue;
		}
		int e = SSL_get_error(c->ssl, n);
		tls_flush(c);
		if (e == SSL_ERROR_WANT_READ) {
			return 0;
		}
		ERR_clear_error();
		return BATON_ECONN; /* close_notify or a broken record */
	}
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct baton_http_conn *c = s->data;
	int rv;

	if (nread < 0) {
		free(buf->base);
		conn_close(c);
		return;
	}
	if (nread == 0) {
		free(buf->base);
		return;
	}
	c->last_read_ms = uv_now(c->srv->loop);
	if (c->req_started_ms == 0) {
		c->req_started_ms = c->last_read_ms;
	}
	if (c->ssl != NULL) {
		rv = tls_input(c, buf->base, (size_t)nread);
	} else {
		rv = append_plain(c, buf->base, (size_t)nread);
	}
	free(buf->base);
	if (c->closing) {
		return;
	}
	if (rv == BATON_ETOOLARGE) {
		reject(c, 413, "request too large");
		return;
	}
	if (rv != 0) {
		if (rv != BATON_ETLS) {
			conn_close(c);
		}
		return;
	}
	conn_process(c);
	/* Backpressure: stop reading while a handler works. */
	if (!c->closing && (c->pending != NULL || c->close_after_write) &&
	    c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

static void start_reading(struct baton_http_conn *c)
{
	if (c->reading || c->closing) {
		return;
	}
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) {
		c->reading = true;
	}
}

/* ---- connection lifecycle ------------------------------------------------ */

static void maybe_server_closed(struct baton_http_server *srv)
{
	if (srv->closing && !srv->listening && srv->n_conns == 0 &&
	    !srv->closed) {
		baton_http_close_cb cb = srv->close_cb;
		srv->closed = true;
		if (srv->ssl_ctx != NULL) {
			SSL_CTX_free(srv->ssl_ctx);
			srv->ssl_ctx = NULL;
		}
		if (cb != NULL) {
			cb(srv);
		}
	}
}

static void conn_handle_closed_cb(uv_handle_t *h)
{
	struct baton_http_conn *c = h->data;
	struct baton_http_server *srv = c->srv;

	if (--c->open_handles > 0) {
		return;
	}
	if (c->prev) {
		c->prev->next = c->next;
	} else {
		srv->conns = c->next;
	}
	if (c->next) {
		c->next->prev = c->prev;
	}
	srv->n_conns--;
	if (c->ssl) {
		SSL_free(c->ssl); /* frees both BIOs */
	}
	baton_buf_free(&c->in);
	baton_buf_free(&c->url);
	baton_buf_free(&c->body);
	free(c);
	maybe_server_closed(srv);
}

static void conn_close(struct baton_http_conn *c)
{
	if (c->closing) {
		return;
	}
	c->closing = true;
	if (c->pending != NULL) {
		c->pending->conn = NULL; /* orphan: respond() frees it */
		c->pending = NULL;
	}
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed_cb);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed_cb);
}

/* Every check interval: a request that is not whole request_timeout_ms
 * after its first byte gets 408 and the connection closes; a connection
 * with nothing read for idle_timeout_ms closes. Neither while a handler
 * works on a request (the timer keeps repeating). */
static void idle_cb(uv_timer_t *t)
{
	struct baton_http_conn *c = t->data;
	uint64_t now = uv_now(c->srv->loop);

	if (c->pending != NULL || c->closing) {
		return;
	}
	if (c->req_started_ms != 0 && !c->close_after_write &&
	    now - c->req_started_ms >= c->srv->cfg.request_timeout_ms) {
		BATON_WARN("http",
			   "%s: request not complete %u ms after its "
			   "first byte: closed",
			   c->remote, c->srv->cfg.request_timeout_ms);
		if (c->handshake_done || c->ssl == NULL) {
			reject(c, 408, "request timeout");
		} else {
			conn_close(c);
		}
		return;
	}
	if (now - c->last_read_ms >= c->srv->cfg.idle_timeout_ms) {
		conn_close(c);
	}
}

/* A new connection, counted and linked; its tcp handle is not connected
 * yet (accept or open comes next). NULL when out of memory. */
static struct baton_http_conn *conn_new(struct baton_http_server *srv)
{
	struct baton_http_conn *c = calloc(1, sizeof *c);

	if (c == NULL) {
		return NULL;
	}
	c->srv = srv;
	baton_buf_init(&c->in, srv->cfg.max_header_bytes +
				   srv->cfg.max_body_bytes + 2 * TLS_CHUNK);
	baton_buf_init(&c->url, srv->cfg.max_header_bytes);
	baton_buf_init(&c->body, srv->cfg.max_body_bytes);
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->open_handles = 2;
	c->next = srv->conns;
	if (srv->conns) {
		srv->conns->prev = c;
	}
	srv->conns = c;
	srv->n_conns++;
	return c;
}

/* The connection is connected: limits, peer address, parser, TLS, timers,
 * reading. */
static void conn_start(struct baton_http_conn *c)
{
	struct baton_http_server *srv = c->srv;
	struct sockaddr_storage ss;
	int len = sizeof ss;

	if (srv->n_conns > srv->cfg.max_connections) {
		BATON_WARN("http", "connection limit %u reached",
			   srv->cfg.max_connections);
		conn_close(c);
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		char ip[48] = "?";
		int port = 0;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			uv_ip4_name(a, ip, sizeof ip);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			uv_ip6_name(a, ip, sizeof ip);
			port = ntohs(a->sin6_port);
		}
		snprintf(c->remote, sizeof c->remote, "%s:%d", ip, port);
	}
	uv_tcp_nodelay(&c->tcp, 1);
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	if (srv->ssl_ctx != NULL) {
		c->ssl = SSL_new(srv->ssl_ctx);
		c->rbio = BIO_new(BIO_s_mem());
		c->wbio = BIO_new(BIO_s_mem());
		if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
			if (c->ssl == NULL) {
				BIO_free(c->rbio);
				BIO_free(c->wbio);
			} else {
				/* SSL_free below frees what SSL_set_bio got */
				SSL_set_bio(c->ssl, c->rbio, c->wbio);
			}
			conn_close(c);
			return;
		}
		SSL_set_bio(c->ssl, c->rbio, c->wbio);
		SSL_set_accept_state(c->ssl);
	}
	/* the handshake and the first request count from the accept */
	c->last_read_ms = c->req_started_ms = uv_now(srv->loop);
	{
		unsigned every = srv->cfg.idle_timeout_ms;
		if (srv->cfg.request_timeout_ms < every) {
			every = srv->cfg.request_timeout_ms;
		}
		every = every / 4 > 0 ? every / 4 : 1;
		uv_timer_start(&c->timer, idle_cb, every, every);
	}
	start_reading(c);
}

static void connection_cb(uv_stream_t *listener, int status)
{
	struct baton_http_server *srv = listener->data;
	struct baton_http_conn *c;

	if (status != 0 || srv->closing) {
		return;
	}
	c = conn_new(srv);
	if (c == NULL) {
		return;
	}
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	conn_start(c);
}

int baton_http_server_adopt(struct baton_http_server *srv, uv_os_sock_t fd)
{
	struct baton_http_conn *c;
	int rv;

	if (srv->closing) {
		close(fd);
		return BATON_ESHUTDOWN;
	}
	c = conn_new(srv);
	if (c == NULL) {
		close(fd);
		return BATON_ENOMEM;
	}
	rv = uv_tcp_open(&c->tcp, fd);
	if (rv != 0) {
		baton_errmsg_printf(srv->errmsg, "cannot serve socket %d: %s",
				    (int)fd, uv_strerror(rv));
		close(fd); /* the handle never took it */
		conn_close(c);
		return BATON_EIO;
	}
	conn_start(c);
	return 0;
}

/* ---- server -------------------------------------------------------------- */

int baton_http_server_init(uv_loop_t *loop, struct baton_http_server *srv,
			   const struct baton_http_config *cfg)
{
	int rv;

	memset(srv, 0, sizeof *srv);
	srv->loop = loop;
	if (cfg != NULL) {
		srv->cfg = *cfg;
	}
	if (srv->cfg.max_header_bytes == 0) {
		srv->cfg.max_header_bytes = DEFAULT_MAX_HEADER;
	}
	if (srv->cfg.max_body_bytes == 0) {
		srv->cfg.max_body_bytes = DEFAULT_MAX_BODY;
	}
	if (srv->cfg.idle_timeout_ms == 0) {
		srv->cfg.idle_timeout_ms = DEFAULT_IDLE_MS;
	}
	if (srv->cfg.request_timeout_ms == 0) {
		srv->cfg.request_timeout_ms = DEFAULT_REQUEST_MS;
	}
	if (srv->cfg.max_connections == 0) {
		srv->cfg.max_connections = DEFAULT_MAX_CONNS;
	}
	srv->cfg.tls = NULL; /* not kept: the caller's strings */
	if (cfg != NULL && cfg->tls != NULL) {
		rv = tls_ctx_init(srv, cfg->tls);
		if (rv != 0) {
			return rv;
		}
	}
	return 0;
}

int baton_http_route(struct baton_http_server *srv, const char *method,
		     const char *path, baton_http_handler_fn fn, void *data)
{
	struct baton_http_route *r;

	if (srv->n_routes >= BATON_HTTP_MAX_ROUTES) {
		baton_errmsg_printf(srv->errmsg, "more than %d routes",
				    BATON_HTTP_MAX_ROUTES);
		return BATON_ETOOLARGE;
	}
	if (strlen(method) >= sizeof r->method ||
	    strlen(path) >= sizeof r->path) {
		baton_errmsg_printf(srv->errmsg, "route %s %s too long", method,
				    path);
		return BATON_EINVAL;
	}
	r = &srv->routes[srv->n_routes++];
	snprintf(r->method, sizeof r->method, "%s", method);
	snprintf(r->path, sizeof r->path, "%s", path);
	r->fn = fn;
	r->data = data;
	return 0;
}

int baton_http_server_listen(struct baton_http_server *srv, const char *host,
			     int port)
{
	struct sockaddr_storage ss;
	int rv;

	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
		baton_errmsg_printf(srv->errmsg, "bad listen address %s", host);
		return BATON_ECONFIG;
	}
	uv_tcp_init(srv->loop, &srv->listener);
	srv->listener.data = srv;
	srv->listening = true;
	rv = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0);
	if (rv == 0) {
		rv = uv_listen((uv_stream_t *)&srv->listener, 128,
			       connection_cb);
	}
	if (rv != 0) {
		baton_errmsg_printf(srv->errmsg, "cannot listen on %s:%d: %s",
				    host, port, uv_strerror(rv));
		return BATON_EIO;
	}
	return 0;
}

int baton_http_server_port(const struct baton_http_server *srv)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;

	if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len) !=
	    0) {
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void listener_closed_cb(uv_handle_t *h)
{
	struct baton_http_server *srv = h->data;
	srv->listening = false;
	maybe_server_closed(srv);
}

void baton_http_server_close(struct baton_http_server *srv,
			     baton_http_close_cb cb)
{
	struct baton_http_conn *c;

	assert(!srv->closing);
	srv->closing = true;
	srv->close_cb = cb;
	for (c = srv->conns; c != NULL; c = c->next) {
		conn_close(c);
	}
	if (srv->listening) {
		uv_close((uv_handle_t *)&srv->listener, listener_closed_cb);
	} else {
		maybe_server_closed(srv);
	}
}
