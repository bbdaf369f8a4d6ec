/* Mutual-TLS raft_uv_transport. See tls_transport.h for the paths.
 *
 * Each connection owns a uv_tcp_t (ciphertext, to the peer), an SSL with two
 * memory BIOs, and after the handshake a uv_pipe_t on our end of a
 * socketpair (plaintext, to raft). Bytes from TCP go into the read BIO and
 * come out of SSL_read into the pipe; bytes from the pipe go into SSL_write
 * and out of the write BIO onto TCP. Everything runs on the loop, nothing
 * blocks. A connection is freed once both of its handles have closed.
 */
#include "consensus/tls_transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"

#define CHUNK 16384

struct impl;

struct conn {
	struct impl *impl;
	struct conn *next;
	uv_tcp_t tcp;
	uv_timer_t deadline; /* connect + handshake */
	uv_connect_t connect;
	uv_pipe_t pipe; /* our end of the socketpair */
	bool pipe_open;
	int open_handles;
	bool closing;
	bool done; /* handshake finished and stream handed to raft */
	bool client;
	SSL *ssl;
	BIO *rbio, *wbio;
	raft_id expected; /* outgoing: the id we dialled */
	struct raft_uv_connect *req;
	raft_uv_connect_cb connect_cb;
};

struct impl {
	uv_loop_t *loop;
	SSL_CTX *ctx;
	struct baton_tls_config cfg;
	uv_tcp_t listener;
	bool listening;
	raft_uv_accept_cb accept_cb;
	struct conn *conns;
	bool closing;
	int open_handles; /* listener + connections */
	raft_uv_transport_close_cb close_cb;
	struct raft_uv_transport *t;
	raft_id id;
	unsigned refused, accepted;
	unsigned handshaking; /* incoming connections not done yet */
};

static void maybe_closed(struct impl *impl);

static const struct baton_tls_member *member_by_region(struct impl *impl,
						       const char *region)
{
	unsigned i;
	for (i = 0; i < impl->cfg.n_members; i++) {
		if (strcmp(impl->cfg.members[i].region, region) == 0) {
			return &impl->cfg.members[i];
		}
	}
	return NULL;
}

static const struct baton_tls_member *member_by_id(struct impl *impl,
						   raft_id id)
{
	unsigned i;
	for (i = 0; i < impl->cfg.n_members; i++) {
		if (impl->cfg.members[i].id == id) {
			return &impl->cfg.members[i];
		}
	}
	return NULL;
}

/* ---- connection teardown ---------------------------------------------- */

static void conn_handle_closed_cb(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct impl *impl = c->impl;
	struct conn **p;

	if (--c->open_handles > 0) {
		return;
	}
	for (p = &impl->conns; *p != NULL; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	if (c->ssl != NULL) {
		SSL_free(c->ssl); /* frees both BIOs */
	}
	free(c);
	impl->open_handles--;
	maybe_closed(impl);
}

static void conn_close(struct conn *c, int status, const char *why)
{
	if (c->closing) {
		return;
	}
	c->closing = true;
	if (why != NULL) {
		baton_log(BATON_LOG_WARN, "raft-tls", "connection %s: %s",
			  c->client ? "to peer" : "from peer", why);
	}
	if (c->req != NULL && !c->done) {
		struct raft_uv_connect *req = c->req;
		c->req = NULL;
		c->connect_cb(req, NULL, status);
	}
	if (!c->client && !c->done) {
		c->impl->handshaking--;
	}
	if (c->pipe_open) {
		uv_close((uv_handle_t *)&c->pipe, conn_handle_closed_cb);
	}
	uv_close((uv_handle_t *)&c->deadline, conn_handle_closed_cb);
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed_cb);
}

static void deadline_cb(uv_timer_t *t)
{
	struct conn *c = t->data;
	char why[BATON_ERRMSG_SIZE];

	if (c->done || c->closing) {
		return;
	}
	baton_errmsg_printf(why, "TLS handshake not finished within %u ms",
			    c->impl->cfg.handshake_timeout_ms);
	c->impl->refused++;
	conn_close(c, RAFT_NOCONNECTION, why);
}

/* ---- ciphertext out --------------------------------------------------- */

struct wreq {
	uv_write_t w;
	char data[];
};

static void write_cb(uv_write_t *w, int status)
{
	struct conn *c = w->data;
	free(w);
	if (status != 0 && status != UV_ECANCELED) {
		conn_close(c, RAFT_NOCONNECTION, "write to peer failed");
	}
}

static int flush_wbio(struct conn *c)
{
	char buf[CHUNK];
	int n;

	while ((n = BIO_read(c->wbio, buf, sizeof buf)) > 0) {
		struct wreq *r = malloc(sizeof *r + (size_t)n);
		uv_buf_t b;
		if (r == NULL) {
			return BATON_ENOMEM;
		}
		memcpy(r->data, buf, (size_t)n);
		b = uv_buf_init(r->data, (unsigned)n);
		r->w.data = c;
		if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, write_cb) !=
		    0) {
			free(r);
			return BATON_ECONN;
		}
	}
	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) >
	    BATON_TLS_MAX_QUEUED) {
		baton_log(BATON_LOG_WARN, "raft-tls",
			  "peer reads nothing: more than %u bytes queued",
			  BATON_TLS_MAX_QUEUED);
		return BATON_ECONN;
	}
	return 0;
}

static void pipe_write_cb(uv_write_t *w, int status)
{
	struct conn *c = w->data;
	free(w);
	if (status != 0 && status != UV_ECANCELED) {
		conn_close(c, RAFT_NOCONNECTION, NULL);
	}
}

/* ---- plaintext from raft -> SSL -> TCP -------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	(void)h;
	(void)hint;
	buf->base = malloc(CHUNK);
	buf->len = buf->base != NULL ? CHUNK : 0;
}

static void pipe_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (n > 0 && !c->closing) {
		if (SSL_write(c->ssl, buf->base, (int)n) != (int)n ||
		    flush_wbio(c) != 0) {
			conn_close(c, RAFT_NOCONNECTION, "TLS write failed");
		}
	} else if (n < 0) {
		conn_close(c, RAFT_NOCONNECTION, NULL); /* raft hung up */
	}
	free(buf->base);
}

/* ---- identity from the verified certificate ------------------------- */

/* The region named by CERT: SAN URI baton://region/<name>, else the CN. */
static int cert_region(X509 *cert, char *out, size_t cap)
{
	static const char prefix[] = "baton://region/";
	GENERAL_NAMES *names;
	int i, found = 0;

	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const unsigned char *u;
		int len;
		if (g->type != GEN_URI) {
			continue;
		}
		u = ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
		len = ASN1_STRING_length(g->d.uniformResourceIdentifier);
		if (len > (int)sizeof prefix - 1 &&
		    (size_t)len - (sizeof prefix - 1) < cap &&
		    memcmp(u, prefix, sizeof prefix - 1) == 0 &&
		    memchr(u, '\0', (size_t)len) == NULL) {
			size_t n = (size_t)len - (sizeof prefix - 1);
			memcpy(out, u + sizeof prefix - 1, n);
			out[n] = '\0';
			found = 1;
			break;
		}
	}
	GENERAL_NAMES_free(names);
	if (!found) {
		X509_NAME *subject = X509_get_subject_name(cert);
		if (X509_NAME_get_text_by_NID(subject, NID_commonName, out,
					      (int)cap) <= 0) {
			return BATON_ETLS;
		}
	}
	return 0;
}

static void handshake_done(struct conn *c)
{
	struct impl *impl = c->impl;
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	char region[BATON_NAME_SIZE], why[BATON_ERRMSG_SIZE];
	const struct baton_tls_member *m;
	long vr = SSL_get_verify_result(c->ssl);
	uv_pipe_t *raft_stream;
	int fds[2];

	if (cert == NULL || vr != X509_V_OK) {
		baton_errmsg_printf(why, "peer certificate refused: %s",
				    cert == NULL
					? "none presented"
					: X509_verify_cert_error_string(vr));
		goto refuse;
	}
	if (cert_region(cert, region, sizeof region) != 0) {
		baton_errmsg_printf(why, "peer certificate names no region");
		goto refuse;
	}
	m = member_by_region(impl, region);
	if (m == NULL) {
		baton_errmsg_printf(why, "region %s is not a member", region);
		goto refuse;
	}
	if (c->client && m->id != c->expected) {
		baton_errmsg_printf(why,
				    "dialled raft id %llu but the certificate "
				    "is for region %s (id %llu)",
				    c->expected, region, m->id);
		goto refuse;
	}
	X509_free(cert);
	cert = NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		baton_errmsg_printf(why, "socketpair failed");
		goto refuse;
	}
	raft_stream = raft_malloc(sizeof *raft_stream);
	if (raft_stream == NULL || uv_pipe_init(impl->loop, raft_stream, 0) ||
	    uv_pipe_open(raft_stream, fds[0]) != 0) {
		raft_free(raft_stream);
		close(fds[0]);
		close(fds[1]);
		baton_errmsg_printf(why, "cannot wrap the socketpair");
		goto refuse;
	}
	uv_pipe_init(impl->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->pipe_open = true;
	c->open_handles++;
	uv_pipe_open(&c->pipe, fds[1]);
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, pipe_read_cb);
	c->done = true;
	uv_timer_stop(&c->deadline);
	if (!c->client) {
		impl->handshaking--;
	}
	impl->accepted++;
	if (c->client) {
		struct raft_uv_connect *req = c->req;
		c->req = NULL;
		c->connect_cb(req, (struct uv_stream_s *)raft_stream, 0);
	} else {
		impl->accept_cb(impl->t, m->id, m->address,
				(struct uv_stream_s *)raft_stream);
	}
	return;

refuse:
	X509_free(cert);
	impl->refused++;
	conn_close(c, RAFT_NOCONNECTION, why);
}

/* ---- ciphertext from TCP --------------------------------------------- */

static void tcp_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	char out[CHUNK];
	int r;

	if (c->closing) {
		free(buf->base);
		return;
	}
	if (n < 0) {
		free(buf->base);
		conn_close(c, RAFT_NOCONNECTION,
			   c->done ? NULL : "peer closed during handshake");
		return;
	}
	if (n > 0 && BIO_write(c->rbio, buf->base, (int)n) != (int)n) {
		free(buf->base);
		conn_close(c, RAFT_NOCONNECTION, "TLS buffer");
		return;
	}
	free(buf->base);
	if (!c->done) {
		r = SSL_do_handshake(c->ssl);
		flush_wbio(c);
		if (r == 1) {
			handshake_done(c);
		} else if (SSL_get_error(c->ssl, r) != SSL_ERROR_WANT_READ) {
			char why[BATON_ERRMSG_SIZE];
			unsigned long e = ERR_get_error();
			long vr = SSL_get_verify_result(c->ssl);
			baton_errmsg_printf(
			    why, "TLS handshake failed: %s%s%s",
			    e ? ERR_reason_error_string(e) : "protocol error",
			    vr != X509_V_OK ? ": " : "",
			    vr != X509_V_OK ? X509_verify_cert_error_string(vr)
					    : "");
			ERR_clear_error();
			c->impl->refused++;
			conn_close(c, RAFT_NOCONNECTION, why);
			return;
		}
		if (!c->done) {
			return;
		}
	}
	while (!c->closing && (r = SSL_read(c->ssl, out, sizeof out)) > 0) {
		struct wreq *w = malloc(sizeof *w + (size_t)r);
		uv_buf_t b;
		if (w == NULL) {
			conn_close(c, RAFT_NOMEM, "out of memory");
			return;
		}
		memcpy(w->data, out, (size_t)r);
		b = uv_buf_init(w->data, (unsigned)r);
		w->w.data = c;
		if (uv_write(&w->w, (uv_stream_t *)&c->pipe, &b, 1,
			     pipe_write_cb) != 0) {
			free(w);
			conn_close(c, RAFT_NOCONNECTION, NULL);
			return;
		}
	}
	flush_wbio(c); /* TLS 1.3 may answer (key update, tickets) */
}

static struct conn *conn_new(struct impl *impl, bool client)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL) {
		return NULL;
	}
	c->impl = impl;
	c->client = client;
	c->ssl = SSL_new(impl->ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		SSL_free(c->ssl);
		free(c);
		return NULL;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	if (client) {
		SSL_set_connect_state(c->ssl);
	} else {
		SSL_set_accept_state(c->ssl);
	}
	uv_tcp_init(impl->loop, &c->tcp);
	c->tcp.data = c;
	uv_timer_init(impl->loop, &c->deadline);
	c->deadline.data = c;
	uv_timer_start(&c->deadline, deadline_cb,
		       client && impl->cfg.handshake_timeout_ms >
				     BATON_TLS_CONNECT_TIMEOUT_MS
			   ? BATON_TLS_CONNECT_TIMEOUT_MS
			   : impl->cfg.handshake_timeout_ms,
		       0);
	c->open_handles = 2;
	impl->open_handles++;
	c->next = impl->conns;
	impl->conns = c;
	return c;
}

/* Data the peer has not acknowledged for BATON_TLS_USER_TIMEOUT_MS ends
 * the connection (raft reconnects). Without it, a connection that lived
 * through a partition kept TCP's retransmission backoff (seconds, doubling)
 * after the link came back, and raft's heartbeats reached the healed
 * region up to ~3 s late on the lab. Best effort: a socket that refuses
 * the option keeps the kernel's default. */
static void set_user_timeout(struct conn *c)
{
	uv_os_fd_t fd;
	unsigned ms = BATON_TLS_USER_TIMEOUT_MS;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms,
				 sizeof ms);
	}
}

/* ---- outgoing --------------------------------------------------------- */

static void connect_cb(uv_connect_t *req, int status)
{
	struct conn *c = req->data;

	if (c->closing) {
		return;
	}
	if (status != 0) {
		conn_close(c, RAFT_NOCONNECTION, NULL);
		return;
	}
	set_user_timeout(c);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, tcp_read_cb);
	SSL_do_handshake(c->ssl);
	flush_wbio(c);
}

static int parse_address(const char *address, struct sockaddr_in *sa)
{
	char host[128];
	const char *colon = strrchr(address, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - address) >= sizeof host) {
		return BATON_EINVAL;
	}
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port <= 0 || port > 65535) {
		return BATON_EINVAL;
	}
	return uv_ip4_addr(host, (int)port, sa) == 0 ? 0 : BATON_EINVAL;
}

static int impl_connect(struct raft_uv_transport *t,
			struct raft_uv_connect *req, raft_id id,
			const char *address, raft_uv_connect_cb cb)
{
	struct impl *impl = t->impl;
	struct sockaddr_in sa;
	struct conn *c;

	if (impl->closing) {
		return RAFT_CANCELED;
	}
	if (parse_address(address, &sa) != 0) {
		return RAFT_NOCONNECTION;
	}
	c = conn_new(impl, true);
	if (c == NULL) {
		return RAFT_NOMEM;
	}
	c->expected = id;
	c->req = req;
	c->connect_cb = cb;
	c->connect.data = c;
	if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&sa,
			   connect_cb) != 0) {
		/* report asynchronously through the close path */
		conn_close(c, RAFT_NOCONNECTION, NULL);
	}
	return 0;
}

/* ---- incoming --------------------------------------------------------- */

static void listen_cb(uv_stream_t *server, int status)
{
	struct impl *impl = server->data;
	struct conn *c;

	if (status != 0 || impl->closing) {
		return;
	}
	c = conn_new(impl, false);
	if (c == NULL) {
		return;
	}
	impl->handshaking++; /* conn_close and handshake_done count down */
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c, 0, NULL);
		return;
	}
	if (impl->handshaking > BATON_TLS_MAX_HANDSHAKES) {
		impl->refused++;
		conn_close(c, RAFT_NOCONNECTION,
			   "too many connections in their handshake");
		return;
	}
	set_user_timeout(c);
	uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, tcp_read_cb);
}

static int impl_init(struct raft_uv_transport *t, raft_id id,
		     const char *address)
{
	struct impl *impl = t->impl;
	(void)address;
	impl->id = id;
	return 0;
}

static int impl_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
	struct impl *impl = t->impl;
	const struct baton_tls_member *me = member_by_id(impl, impl->id);
	struct sockaddr_in sa;

	if (me == NULL || parse_address(me->address, &sa) != 0) {
		baton_errmsg_printf(t->errmsg, "no listen address for id %llu",
				    impl->id);
		return RAFT_INVALID;
	}
	impl->accept_cb = cb;
	uv_tcp_init(impl->loop, &impl->listener);
	impl->listener.data = impl;
	impl->listening = true;
	impl->open_handles++;
	int uv_rv =
	    uv_tcp_bind(&impl->listener, (const struct sockaddr *)&sa, 0);
	if (uv_rv == 0) {
		uv_rv =
		    uv_listen((uv_stream_t *)&impl->listener, 64, listen_cb);
	}
	if (uv_rv != 0) {
		baton_errmsg_printf(t->errmsg, "cannot listen on %s: %s",
				    me->address, uv_strerror(uv_rv));
		return RAFT_IOERR;
	}
	return 0;
}

static void listener_closed_cb(uv_handle_t *h)
{
	struct impl *impl = h->data;
	impl->open_handles--;
	maybe_closed(impl);
}

static void maybe_closed(struct impl *impl)
{
	if (impl->closing && impl->open_handles == 0 &&
	    impl->close_cb != NULL) {
		raft_uv_transport_close_cb cb = impl->close_cb;
		impl->close_cb = NULL;
		cb(impl->t);
	}
}

static void impl_close(struct raft_uv_transport *t,
		       raft_uv_transport_close_cb cb)
{
	struct impl *impl = t->impl;
	struct conn *c, *next;

	impl->closing = true;
	impl->close_cb = cb;
	if (impl->listening) {
		impl->listening = false;
		uv_close((uv_handle_t *)&impl->listener, listener_closed_cb);
	}
	for (c = impl->conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c, RAFT_CANCELED, NULL);
	}
	maybe_closed(impl);
}

int baton_tls_transport_init(struct raft_uv_transport *t, uv_loop_t *loop,
			     const struct baton_tls_config *cfg)
{
	struct impl *impl;

	if (cfg->n_members > BATON_TLS_MAX_MEMBERS) {
		return BATON_EINVAL;
	}
	impl = calloc(1, sizeof *impl);
	if (impl == NULL) {
		return BATON_ENOMEM;
	}
	impl->loop = loop;
	impl->cfg = *cfg;
	if (impl->cfg.handshake_timeout_ms == 0) {
		impl->cfg.handshake_timeout_ms = 5000;
	}
	impl->t = t;
	impl->ctx = SSL_CTX_new(TLS_method());
	if (impl->ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(impl->ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(impl->ctx, TLS1_3_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(impl->ctx, cfg->cert_file) !=
		1 ||
	    SSL_CTX_use_PrivateKey_file(impl->ctx, cfg->key_file,
					SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(impl->ctx) != 1 ||
	    SSL_CTX_load_verify_locations(impl->ctx, cfg->ca_file, NULL) != 1) {
		unsigned long e = ERR_get_error();
		baton_errmsg_printf(t->errmsg, "TLS setup (%s, %s, %s): %s",
				    cfg->cert_file, cfg->key_file, cfg->ca_file,
				    e ? ERR_reason_error_string(e) : "failed");
		ERR_clear_error();
		SSL_CTX_free(impl->ctx);
		free(impl);
		return BATON_ETLS;
	}
	/* Both sides verify: the client certificate is mandatory. */
	SSL_CTX_set_verify(
	    impl->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	t->version = 1;
	t->impl = impl;
	t->init = impl_init;
	t->listen = impl_listen;
	t->connect = impl_connect;
	t->close = impl_close;
	return 0;
}

void baton_tls_transport_close(struct raft_uv_transport *t)
{
	struct impl *impl = t->impl;
	if (impl == NULL) {
		return;
	}
	SSL_CTX_free(impl->ctx);
	free(impl);
	t->impl = NULL;
}

unsigned baton_tls_transport_refused(struct raft_uv_transport *t)
{
	return ((struct impl *)t->impl)->refused;
}

unsigned baton_tls_transport_accepted(struct raft_uv_transport *t)
{
	return ((struct impl *)t->impl)->accepted;
}
