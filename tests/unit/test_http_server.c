/* Unit tests for operator/http: the server over real sockets on 127.0.0.1
 * and the Prometheus text helper.
 *
 * The server runs on the test's loop in the main thread; the client (libcurl
 * easy, or a raw socket for malformed input) runs in a thread and wakes the
 * loop with a uv_async_t when it is done, so LOOP_RUN_UNTIL never sleeps on
 * an idle loop.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "batond/agentpki.h"
#include "common/error.h"
#include "harness.h"
#include "http/metrics.h"
#include "http/server.h"

struct fixture {
	uv_loop_t loop;
	struct baton_http_server srv;
	int port;
	bool closed;
	uv_async_t wake;
	atomic_int done;
	/* deferred answers */
	uv_timer_t later;
	struct baton_http_request *held;
	char certdir[64];
};

static void hello_cb(struct baton_http_request *req, void *data)
{
	char body[512];
	int n = snprintf(body, sizeof body, "hello %s peer=%s body=%s",
			 req->method, req->peer, req->body);
	(void)data;
	baton_http_respond(req, 200, "text/plain", body, (size_t)n, NULL);
}

static void later_cb(uv_timer_t *t)
{
	struct fixture *f = t->data;
	baton_http_respond(f->held, 202, "text/plain", "later", 5, NULL);
	f->held = NULL;
}

/* Answers 50 ms later, from a timer: the asynchronous path. */
static void slow_cb(struct baton_http_request *req, void *data)
{
	struct fixture *f = data;
	f->held = req;
	uv_timer_start(&f->later, later_cb, 50, 0);
}

static void closed_cb(struct baton_http_server *srv)
{
	struct fixture *f = srv->data;
	f->closed = true;
}

static void wake_cb(uv_async_t *a)
{
	(void)a;
}

/* 0: the server's default (10 s); the slow-client test sets it short */
static unsigned request_timeout_ms;

static void setup_server(struct fixture *f,
			 const struct baton_http_tls_config *tls)
{
	struct baton_http_config cfg = {.max_header_bytes = 1024,
					.max_body_bytes = 4096,
					.request_timeout_ms =
					    request_timeout_ms,
					.tls = tls};

	memset(f, 0, sizeof *f);
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	ck_assert_int_eq(uv_async_init(&f->loop, &f->wake, wake_cb), 0);
	uv_timer_init(&f->loop, &f->later);
	f->later.data = f;
	ck_assert_int_eq(baton_http_server_init(&f->loop, &f->srv, &cfg), 0);
	f->srv.data = f;
	ck_assert_int_eq(
	    baton_http_route(&f->srv, "GET", "/hello", hello_cb, f), 0);
	ck_assert_int_eq(
	    baton_http_route(&f->srv, "POST", "/hello", hello_cb, f), 0);
	ck_assert_int_eq(baton_http_route(&f->srv, "GET", "/slow", slow_cb, f),
			 0);
	ck_assert_int_eq(baton_http_server_listen(&f->srv, "127.0.0.1", 0), 0);
	f->port = baton_http_server_port(&f->srv);
	ck_assert_int_gt(f->port, 0);
}

static void teardown_server(struct fixture *f)
{
	baton_http_server_close(&f->srv, closed_cb);
	uv_close((uv_handle_t *)&f->wake, NULL);
	uv_close((uv_handle_t *)&f->later, NULL);
	LOOP_RUN_UNTIL(&f->loop, f->closed);
	LOOP_TEARDOWN(&f->loop);
}

/* Runs fn(arg) in a thread while the loop serves. */
static void run_client(struct fixture *f, void *(*fn)(void *), void *arg)
{
	pthread_t th;
	atomic_store(&f->done, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, fn, arg), 0);
	LOOP_RUN_UNTIL(&f->loop, atomic_load(&f->done));
	pthread_join(th, NULL);
}

static void client_done(struct fixture *f)
{
	atomic_store(&f->done, 1);
	uv_async_send(&f->wake);
}

/* ---- libcurl client ---------------------------------------------------- */

struct call {
	struct fixture *f;
	const char *method;
	const char *path;
	const char *body;
	const char *extra_header;
	long status[2];
	char resp[2][1024];
	size_t resp_len[2];
	long connects[2];
	int n; /* requests on one easy handle (keep-alive) */
	CURLcode rc;
	/* TLS */
	const char *cacert;
	const char *cert;
	const char *key;
	/* set: https://VERIFY_HOST:port connected to 127.0.0.1, with the
	 * server's certificate checked against that name (batond → agent) */
	const char *verify_host;
};

static size_t sink(char *p, size_t sz, size_t nm, void *ud)
{
	struct call *c = ud;
	int i = c->n;
	size_t n = sz * nm;
	size_t room = sizeof c->resp[i] - 1 - c->resp_len[i];
	size_t k = n < room ? n : room;
	memcpy(c->resp[i] + c->resp_len[i], p, k);
	c->resp_len[i] += k;
	c->resp[i][c->resp_len[i]] = '\0';
	return n;
}

static void *curl_thread(void *arg)
{
	struct call *c = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char url[256];
	int reps = c->n > 0 ? c->n : 1;

	struct curl_slist *connect = NULL;
	snprintf(url, sizeof url, "%s://%s:%d%s", c->cacert ? "https" : "http",
		 c->verify_host ? c->verify_host : "127.0.0.1", c->f->port,
		 c->path);
	if (c->verify_host) {
		char to[256];
		snprintf(to, sizeof to, "%s:%d:127.0.0.1:%d", c->verify_host,
			 c->f->port, c->f->port);
		connect = curl_slist_append(NULL, to);
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect);
	}
	if (c->extra_header) {
		hdrs = curl_slist_append(hdrs, c->extra_header);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
	if (c->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
	}
	if (c->cacert) {
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST,
				 c->verify_host ? 2L : 0L);
		if (c->cert) {
			curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
			curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
		}
	}
	for (c->n = 0; c->n < reps; c->n++) {
		c->rc = curl_easy_perform(h);
		if (c->rc != CURLE_OK) {
			break;
		}
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status[c->n]);
		curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &c->connects[c->n]);
	}
	curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(connect);
	client_done(c->f);
	return NULL;
}

static void do_call(struct fixture *f, struct call *c)
{
	c->f = f;
	run_client(f, curl_thread, c);
}

START_TEST(routes_and_status_codes)
{
	struct fixture f;
	struct call ok = {.method = "GET", .path = "/hello?x=1"};
	struct call post = {.method = "POST", .path = "/hello", .body = "abc"};
	struct call missing = {.method = "GET", .path = "/nope"};
	struct call wrong = {.method = "DELETE", .path = "/hello"};
	struct call slow = {.method = "GET", .path = "/slow"};

	setup_server(&f, NULL);
	do_call(&f, &ok);
	ck_assert_int_eq(ok.rc, CURLE_OK);
	ck_assert_int_eq(ok.status[0], 200);
	ck_assert_str_eq(ok.resp[0], "hello GET peer= body=");
	do_call(&f, &post);
	ck_assert_int_eq(post.status[0], 200);
	ck_assert_str_eq(post.resp[0], "hello POST peer= body=abc");
	do_call(&f, &missing);
	ck_assert_int_eq(missing.status[0], 404);
	do_call(&f, &wrong);
	ck_assert_int_eq(wrong.status[0], 405);
	do_call(&f, &slow);
	ck_assert_int_eq(slow.status[0], 202);
	ck_assert_str_eq(slow.resp[0], "later");
	teardown_server(&f);
}
END_TEST

/* A connected socket handed to the server (baton_http_server_adopt()) is
 * served like an accepted one: two requests on one end of a socketpair
 * (the second pipelined behind the first), and the server closes its end
 * when the client shuts its own. */
START_TEST(adopted_socketpair_is_served)
{
	static const char reqs[] = "GET /hello HTTP/1.1\r\n\r\n"
				   "POST /hello HTTP/1.1\r\n"
				   "Content-Length: 2\r\n\r\nhi";
	struct fixture f;
	char buf[2048];
	size_t len = 0;
	int sv[2];

	setup_server(&f, NULL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(baton_http_server_adopt(&f.srv, sv[0]), 0);
	ck_assert_int_eq(f.srv.n_conns, 1);
	ck_assert_int_eq(write(sv[1], reqs, sizeof reqs - 1),
			 (ssize_t)(sizeof reqs - 1));
	shutdown(sv[1], SHUT_WR);
	LOOP_RUN_UNTIL(&f.loop, f.srv.n_conns == 0);
	for (;;) {
		ssize_t n = read(sv[1], buf + len, sizeof buf - 1 - len);
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(sv[1]);
	ck_assert_ptr_nonnull(strstr(buf, "hello GET peer= body="));
	ck_assert_ptr_nonnull(strstr(buf, "hello POST peer= body=hi"));
	ck_assert_int_eq(f.srv.requests, 2);
	teardown_server(&f);
}
END_TEST

START_TEST(keep_alive_reuses_connection)
{
	struct fixture f;
	struct call c = {.method = "GET", .path = "/hello", .n = 2};

	setup_server(&f, NULL);
	do_call(&f, &c);
	ck_assert_int_eq(c.rc, CURLE_OK);
	ck_assert_int_eq(c.status[0], 200);
	ck_assert_int_eq(c.status[1], 200);
	ck_assert_int_eq(c.connects[0], 1);
	ck_assert_int_eq(c.connects[1], 0); /* second request: same socket */
	teardown_server(&f);
}
END_TEST

START_TEST(oversized_headers_and_body)
{
	struct fixture f;
	char big[2048];
	char *body = malloc(8192);
	struct call hdr = {.method = "GET", .path = "/hello"};
	struct call bod = {.method = "POST", .path = "/hello"};

	memcpy(big, "X-Big: ", 7);
	memset(big + 7, 'a', sizeof big - 8);
	big[sizeof big - 1] = '\0';
	hdr.extra_header = big;
	memset(body, 'b', 8191);
	body[8191] = '\0';
	bod.body = body;
	setup_server(&f, NULL);
	do_call(&f, &hdr);
	ck_assert_int_eq(hdr.status[0], 431);
	do_call(&f, &bod);
	ck_assert_int_eq(bod.status[0], 413);
	teardown_server(&f);
	free(body);
}
END_TEST

/* ---- raw socket client ----------------------------------------------------
 */

struct raw {
	struct fixture *f;
	const char *send;
	char resp[2048];
	size_t len;
	int eof; /* the server closed the connection */
};

static void *raw_thread(void *arg)
{
	struct raw *r = arg;
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {.tv_sec = 5};

	a.sin_port = htons((uint16_t)r->f->port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    write(fd, r->send, strlen(r->send)) == (ssize_t)strlen(r->send)) {
		for (;;) {
			ssize_t n = read(fd, r->resp + r->len,
					 sizeof r->resp - 1 - r->len);
			if (n == 0) {
				r->eof = 1;
				break;
			}
			if (n < 0) {
				break;
			}
			r->len += (size_t)n;
			r->resp[r->len] = '\0';
		}
	}
	close(fd);
	client_done(r->f);
	return NULL;
}

START_TEST(malformed_request_gets_400_and_close)
{
	struct fixture f;
	struct raw r = {.send = "GARBAGE / HTTP/1.1\r\nHost: x\r\n\r\n"};

	setup_server(&f, NULL);
	r.f = &f;
	run_client(&f, raw_thread, &r);
	ck_assert_msg(strncmp(r.resp, "HTTP/1.1 400 ", 13) == 0, "got %s",
		      r.resp);
	ck_assert_ptr_nonnull(strstr(r.resp, "Connection: close"));
	ck_assert_int_eq(r.eof, 1);
	teardown_server(&f);
}
END_TEST

/* A client trickling one byte every 100 ms (each byte re-armed the idle
 * timer before, so it held the connection for good, and 128 such clients
 * the whole server): the request must be whole 400 ms after its first
 * byte, or 408 and close. A keep-alive client that waits longer than that
 * between two requests is not cut (only the idle timeout applies). */
struct trickle {
	struct fixture *f;
	char resp[512];
	size_t len;
	int eof;
	double closed_after_ms; /* from the first byte */
	int sent;
	long second_status;
};

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int raw_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = {.tv_sec = 5};

	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what the server still sends until it closes the connection (FIN or
 * RST both count: it is the server's close the test looks for). */
static void trickle_drain(struct trickle *t, int fd, double t0)
{
	for (;;) {
		ssize_t n =
		    recv(fd, t->resp + t->len, sizeof t->resp - 1 - t->len, 0);
		if (n > 0) {
			t->len += (size_t)n;
			t->resp[t->len] = '\0';
			continue;
		}
		if (n == 0 || errno == ECONNRESET || errno == EPIPE) {
			t->eof = 1;
			t->closed_after_ms = mono_ms() - t0;
		}
		return; /* or SO_RCVTIMEO (5 s): still open */
	}
}

static void *trickle_thread(void *arg)
{
	struct trickle *t = arg;
	static const char req[] =
	    "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	int fd = raw_connect(t->f->port);
	double t0 = mono_ms();

	for (size_t i = 0; fd >= 0 && i < sizeof req - 1; i++) {
		ssize_t n;
		if (write(fd, req + i, 1) != 1) {
			/* the server closed it before we saw the answer */
			trickle_drain(t, fd, t0);
			if (!t->eof) {
				t->eof = 1;
				t->closed_after_ms = mono_ms() - t0;
			}
			break;
		}
		t->sent++;
		usleep(100 * 1000);
		n = recv(fd, t->resp + t->len, sizeof t->resp - 1 - t->len,
			 MSG_DONTWAIT);
		if (n > 0) {
			/* the answer has begun: stop writing (a byte sent
			 * after the server's close earns a RST that can
			 * overtake the FIN) and wait for the close */
			t->len += (size_t)n;
			t->resp[t->len] = '\0';
			trickle_drain(t, fd, t0);
			break;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			t->eof = 1;
			t->closed_after_ms = mono_ms() - t0;
			break;
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	client_done(t->f);
	return NULL;
}

static void *patient_thread(void *arg)
{
	struct trickle *t = arg;
	static const char req[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd = raw_connect(t->f->port);
	ssize_t n;

	if (fd >= 0 && write(fd, req, sizeof req - 1) == sizeof req - 1 &&
	    (n = read(fd, t->resp, sizeof t->resp - 1)) > 0) {
		t->resp[n] = '\0';
		usleep(700 * 1000); /* longer than the request timeout */
		if (write(fd, req, sizeof req - 1) == sizeof req - 1 &&
		    (n = read(fd, t->resp, sizeof t->resp - 1)) > 0) {
			t->resp[n] = '\0';
			t->second_status = strtol(t->resp + 9, NULL, 10);
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	client_done(t->f);
	return NULL;
}

START_TEST(slow_client_gets_408_and_close)
{
	struct fixture f;
	struct trickle t = {0}, p = {0};

	request_timeout_ms = 400;
	setup_server(&f, NULL);
	t.f = &f;
	run_client(&f, trickle_thread, &t);
	p.f = &f;
	run_client(&f, patient_thread, &p);
	teardown_server(&f);
	request_timeout_ms = 0;

	ck_assert_msg(t.eof, "still open after %d bytes, one per 100 ms",
		      t.sent);
	ck_assert_msg(strncmp(t.resp, "HTTP/1.1 408 ", 13) == 0, "got %s",
		      t.resp);
	/* 400 ms and the check interval (100 ms); generous for a busy
	 * machine, far below the 8 s the trickle would take */
	ck_assert_double_lt(t.closed_after_ms, 3000);
	ck_assert_int_eq(p.second_status, 200);
}
END_TEST

START_TEST(pipelined_requests_answered_in_order)
{
	struct fixture f;
	struct raw r = {.send = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
				"GET /hello HTTP/1.1\r\nHost: x\r\n"
				"Connection: close\r\n\r\n"};
	char *first;
	char *second;

	setup_server(&f, NULL);
	r.f = &f;
	run_client(&f, raw_thread, &r);
	first = strstr(r.resp, "HTTP/1.1 202");
	second = strstr(r.resp, "HTTP/1.1 200");
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(second);
	ck_assert_msg(first < second, "answers out of order");
	ck_assert_int_eq(r.eof, 1);
	teardown_server(&f);
}
END_TEST

/* ---- mutual TLS ---------------------------------------------------------- */

static void sh(const char *cmd)
{
	int rc = system(cmd);
	ck_assert_msg(rc == 0, "command failed (%d): %s", rc, cmd);
}

/* Two CAs; a server cert and a client cert from CA 1, a client from CA 2. */
static void make_certs(char *dir, size_t size)
{
	char cmd[4096];
	snprintf(dir, size, "/tmp/baton-http-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(
	    cmd, sizeof cmd,
	    "set -e; cd %s; exec >/dev/null 2>&1;"
	    "for ca in ca1 ca2; do openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout $ca.key -out $ca.pem "
	    "-days 2 -subj /CN=$ca; done;"
	    "mk() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
	    "-nodes -keyout $1.key -out $1.csr -subj /CN=$2;"
	    " printf 'subjectAltName=%%s\\n' \"$3\" > $1.ext;"
	    " openssl x509 -req -in $1.csr -CA $4.pem -CAkey $4.key "
	    "-CAcreateserial -out $1.pem -days 2 -extfile $1.ext; };"
	    "mk server localhost IP:127.0.0.1 ca1;"
	    "mk client batond-eu URI:spiffe://baton/region/eu ca1;"
	    "mk rogue batond-eu URI:spiffe://baton/region/eu ca2",
	    dir);
	sh(cmd);
}

static void rm_certs(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	sh(cmd);
}

START_TEST(mtls_requires_client_cert_from_ca)
{
	struct fixture f;
	char dir[64];
	char ca[128], scert[128], skey[128], ccert[128], ckey[128], rcert[128],
	    rkey[128];
	struct baton_http_tls_config tls;
	struct call good = {.method = "GET", .path = "/hello"};
	struct call nocert = {.method = "GET", .path = "/hello"};
	struct call rogue = {.method = "GET", .path = "/hello"};

	make_certs(dir, sizeof dir);
	snprintf(ca, sizeof ca, "%s/ca1.pem", dir);
	snprintf(scert, sizeof scert, "%s/server.pem", dir);
	snprintf(skey, sizeof skey, "%s/server.key", dir);
	snprintf(ccert, sizeof ccert, "%s/client.pem", dir);
	snprintf(ckey, sizeof ckey, "%s/client.key", dir);
	snprintf(rcert, sizeof rcert, "%s/rogue.pem", dir);
	snprintf(rkey, sizeof rkey, "%s/rogue.key", dir);
	tls = (struct baton_http_tls_config){
	    .cert_file = scert, .key_file = skey, .ca_file = ca};
	setup_server(&f, &tls);

	good.cacert = nocert.cacert = rogue.cacert = ca;
	good.cert = ccert;
	good.key = ckey;
	rogue.cert = rcert;
	rogue.key = rkey;
	do_call(&f, &good);
	ck_assert_int_eq(good.rc, CURLE_OK);
	ck_assert_int_eq(good.status[0], 200);
	ck_assert_str_eq(good.resp[0],
			 "hello GET peer=spiffe://baton/region/eu body=");
	do_call(&f, &nocert);
	ck_assert_int_ne(nocert.rc, CURLE_OK);
	ck_assert_int_eq(nocert.status[0], 0);
	do_call(&f, &rogue);
	ck_assert_int_ne(rogue.rc, CURLE_OK);
	ck_assert_int_eq(rogue.status[0], 0);
	ck_assert_uint_ge(f.srv.rejected_tls, 2);
	teardown_server(&f);
	rm_certs(dir);
}
END_TEST

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(fputs(text, fp) >= 0, 1);
	ck_assert_int_eq(fclose(fp), 0);
}

/* The agent API as batond and an agent use it (batond/agentpki.h): the
 * server (an agent) holds its database's certificate in memory; only a
 * client with a certificate from the region's agent CA gets in, and the
 * handler sees batond's identity; a client that expects another database's
 * agent at that address refuses the server; a client from another CA (ca2)
 * and one without a certificate never reach a handler. */
START_TEST(agent_pki_mutual_tls_end_to_end)
{
	struct fixture f;
	struct baton_agentpki *pki;
	char dir[64], ca1[128], ca1key[128], bcert[128], bkey[128], rcert[128],
	    rkey[128];
	char err[BATON_ERRMSG_SIZE];
	const char *acert, *akey, *ocert, *okey;
	struct baton_http_tls_config tls = {0};
	struct call batond = {.method = "POST",
			      .path = "/hello",
			      .body = "x",
			      .verify_host = "orders.shop.agent.baton.invalid"};
	struct call wrongdb = {.method = "POST",
			       .path = "/hello",
			       .body = "x",
			       .verify_host =
				   "payments.shop.agent.baton.invalid"};
	struct call nocert = batond, rogue = batond;

	make_certs(dir, sizeof dir);
	snprintf(ca1, sizeof ca1, "%s/ca1.pem", dir);
	snprintf(ca1key, sizeof ca1key, "%s/ca1.key", dir);
	ck_assert_int_eq(baton_agentpki_init(&pki, ca1, ca1key, "eu-west",
					     "198.18.0.11", NULL, err),
			 0);
	ck_assert_int_eq(
	    baton_agentpki_agent(pki, "shop", "orders", &acert, &akey, err), 0);
	ck_assert_int_eq(
	    baton_agentpki_agent(pki, "shop", "payments", &ocert, &okey, err),
	    0);
	snprintf(bcert, sizeof bcert, "%s/batond.pem", dir);
	snprintf(bkey, sizeof bkey, "%s/batond.key", dir);
	write_file(bcert, baton_agentpki_batond_cert_pem(pki));
	write_file(bkey, baton_agentpki_batond_key_pem(pki));
	snprintf(rcert, sizeof rcert, "%s/rogue.pem", dir);
	snprintf(rkey, sizeof rkey, "%s/rogue.key", dir);

	tls.cert_pem = acert;
	tls.key_pem = akey;
	tls.ca_pem = baton_agentpki_ca_pem(pki);
	setup_server(&f, &tls);
	batond.cacert = wrongdb.cacert = nocert.cacert = rogue.cacert = ca1;
	batond.cert = wrongdb.cert = bcert;
	batond.key = wrongdb.key = bkey;
	rogue.cert = rcert;
	rogue.key = rkey;
	nocert.cert = nocert.key = NULL;

	do_call(&f, &batond);
	ck_assert_msg(batond.rc == CURLE_OK, "batond's call: %s",
		      curl_easy_strerror(batond.rc));
	ck_assert_int_eq(batond.status[0], 200);
	ck_assert_str_eq(batond.resp[0],
			 "hello POST peer=baton://batond/eu-west body=x");
	do_call(&f, &wrongdb);
	ck_assert_int_eq(wrongdb.rc, CURLE_PEER_FAILED_VERIFICATION);
	do_call(&f, &nocert);
	ck_assert_int_ne(nocert.rc, CURLE_OK);
	ck_assert_int_eq(nocert.status[0], 0);
	do_call(&f, &rogue);
	ck_assert_int_ne(rogue.rc, CURLE_OK);
	ck_assert_int_eq(rogue.status[0], 0);
	ck_assert_uint_ge(f.srv.rejected_tls, 2);
	teardown_server(&f);
	baton_agentpki_free(pki);
	rm_certs(dir);
}
END_TEST

START_TEST(tls_bad_key_is_a_clear_error)
{
	uv_loop_t loop;
	struct baton_http_server srv;
	struct baton_http_tls_config tls = {.cert_file =
						"/nonexistent/cert.pem",
					    .key_file = "/nonexistent/key.pem"};
	struct baton_http_config cfg = {.tls = &tls};

	uv_loop_init(&loop);
	ck_assert_int_eq(baton_http_server_init(&loop, &srv, &cfg), BATON_ETLS);
	ck_assert_ptr_nonnull(strstr(srv.errmsg, "/nonexistent/cert.pem"));
	LOOP_TEARDOWN(&loop);
}
END_TEST

/* ---- metrics ------------------------------------------------------------- */

START_TEST(metrics_text_format)
{
	struct baton_metrics m;
	const char *lbl[] = {"action", NULL};
	const char *v1[] = {"promote"};
	const char *v2[] = {"fe\"n\nce"};
	double buckets[] = {0.1, 1};
	struct baton_metric *c, *g, *h;
	char *text;
	size_t len;

	baton_metrics_init(&m);
	c = baton_metrics_add(&m, BATON_METRIC_COUNTER, "baton_orders_total",
			      "Orders received.", lbl, NULL, 0);
	g = baton_metrics_add(&m, BATON_METRIC_GAUGE, "baton_epoch",
			      "Highest epoch seen.", NULL, NULL, 0);
	h = baton_metrics_add(&m, BATON_METRIC_HISTOGRAM, "baton_order_seconds",
			      "Order latency.", lbl, buckets, 2);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(g);
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_null(baton_metrics_add(&m, BATON_METRIC_GAUGE, "1bad", "",
					     NULL, NULL, 0));
	ck_assert_int_eq(baton_metric_inc(c, v1, 2), 0);
	ck_assert_int_eq(baton_metric_inc(c, v2, 1), 0);
	ck_assert_int_eq(baton_metric_inc(c, v1, -1), BATON_EINVAL);
	ck_assert_int_eq(baton_metric_set(g, NULL, 7), 0);
	ck_assert_int_eq(baton_metric_observe(h, v1, 0.05), 0);
	ck_assert_int_eq(baton_metric_observe(h, v1, 0.5), 0);
	ck_assert_int_eq(baton_metric_observe(h, v1, 5), 0);
	ck_assert_int_eq(baton_metrics_render(&m, &text, &len), 0);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_ptr_nonnull(
	    strstr(text, "# TYPE baton_orders_total counter\n"
			 "baton_orders_total{action=\"promote\"} 2\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_orders_total{action=\"fe\\\"n\\nce\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "baton_epoch 7\n"));
	ck_assert_ptr_nonnull(strstr(
	    text,
	    "baton_order_seconds_bucket{action=\"promote\",le=\"0.1\"} 1\n"
	    "baton_order_seconds_bucket{action=\"promote\",le=\"1\"} 2\n"
	    "baton_order_seconds_bucket{action=\"promote\",le=\"+Inf\"} 3\n"
	    "baton_order_seconds_sum{action=\"promote\"} 5.55"));
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_order_seconds_count{action=\"promote\"} 3\n"));
	free(text);

	/* a cleared family renders its header and no series; series set
	 * after the clear are new ones (ASan: the old label values freed) */
	baton_metric_clear(c);
	ck_assert_int_eq(baton_metrics_render(&m, &text, &len), 0);
	ck_assert_ptr_nonnull(
	    strstr(text, "# TYPE baton_orders_total counter\n"));
	ck_assert_ptr_null(strstr(text, "baton_orders_total{"));
	free(text);
	ck_assert_int_eq(baton_metric_inc(c, v2, 4), 0);
	ck_assert_int_eq(baton_metrics_render(&m, &text, &len), 0);
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_orders_total{action=\"fe\\\"n\\nce\"} 4\n"));
	ck_assert_ptr_null(strstr(text, "action=\"promote\"} 2"));
	free(text);
	baton_metrics_free(&m);
}
END_TEST

/* A series per database at the scale: 10,000 per family (the old
 * bound, 256, dropped every gauge past the 256th database silently), each
 * found again by its values after the index grew, rendered, cleared and
 * set again; a family at its bound refuses new series with ETOOLARGE and
 * still updates the ones it has. */
START_TEST(metrics_many_series)
{
	struct baton_metrics m;
	const char *lbl[] = {"db", "region", NULL};
	struct baton_metric *g;
	char db[32], *text;
	size_t len;

	baton_metrics_init(&m);
	g = baton_metrics_add(&m, BATON_METRIC_GAUGE, "baton_db_epoch", "", lbl,
			      NULL, 0);
	ck_assert_ptr_nonnull(g);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < 10000; i++) {
			snprintf(db, sizeof db, "ns/db-%d", i);
			ck_assert_int_eq(
			    baton_metric_set(g, (const char *const[]){db, "r"},
					     i + pass),
			    0);
		}
		ck_assert_uint_eq(g->n_series, 10000);
	}
	ck_assert_int_eq(baton_metrics_render(&m, &text, &len), 0);
	ck_assert_ptr_nonnull(
	    strstr(text, "baton_db_epoch{db=\"ns/db-0\",region=\"r\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
	    text, "baton_db_epoch{db=\"ns/db-9999\",region=\"r\"} 10000\n"));
	free(text);
	/* the separator keeps ("a","bc") and ("ab","c") apart */
	baton_metric_clear(g);
	ck_assert_int_eq(
	    baton_metric_set(g, (const char *const[]){"a", "bc"}, 1), 0);
	ck_assert_int_eq(
	    baton_metric_set(g, (const char *const[]){"ab", "c"}, 2), 0);
	ck_assert_uint_eq(g->n_series, 2);
	baton_metric_clear(g);
	for (int i = 0; i < BATON_METRICS_MAX_SERIES; i++) {
		snprintf(db, sizeof db, "%d", i);
		ck_assert_int_eq(
		    baton_metric_set(g, (const char *const[]){db, "r"}, i), 0);
	}
	ck_assert_int_eq(
	    baton_metric_set(g, (const char *const[]){"one-more", "r"}, 1),
	    BATON_ETOOLARGE);
	ck_assert_int_eq(
	    baton_metric_set(g, (const char *const[]){"7", "r"}, 70), 0);
	ck_assert_uint_eq(g->dropped, 1);
	baton_metrics_free(&m);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("server");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, routes_and_status_codes);
	tcase_add_test(tc, adopted_socketpair_is_served);
	tcase_add_test(tc, keep_alive_reuses_connection);
	tcase_add_test(tc, oversized_headers_and_body);
	tcase_add_test(tc, malformed_request_gets_400_and_close);
	tcase_add_test(tc, slow_client_gets_408_and_close);
	tcase_add_test(tc, pipelined_requests_answered_in_order);
	tcase_add_test(tc, mtls_requires_client_cert_from_ca);
	tcase_add_test(tc, tls_bad_key_is_a_clear_error);
	tcase_add_test(tc, agent_pki_mutual_tls_end_to_end);
	suite_add_tcase(s, tc);
	tc = tcase_create("metrics");
	tcase_add_test(tc, metrics_text_format);
	tcase_add_test(tc, metrics_many_series);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(http_suite)
