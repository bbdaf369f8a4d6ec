/* HTTP transport to one API server: libcurl multi on a libuv loop.
 *
 * Happy path: request_start() reserves a token from the bucket; with no
 * wait the easy handle goes straight into the multi handle, otherwise it
 * waits in c->waiting (FIFO, reservations are monotone) until limit_timer
 * fires. curl reports sockets through socket_cb (one uv_poll per socket,
 * struct sock_ctx) and deadlines through timer_cb (curl_timer); when a
 * transfer completes, check_multi_info() maps the outcome and runs the
 * request's callback once.
 *
 * Failure paths: CURLcode → BATON_ECONN/ETIMEDOUT/ETLS/ETOOLARGE; non-2xx →
 * baton_kube_status_error() on the Status body; a body past max_body aborts
 * the transfer with BATON_ETOOLARGE; a 2xx body that is not JSON is
 * BATON_EPARSE.
 *
 * Reports (for metrics, baton_kube_observe_requests): each attempt is
 * reported once, from req_done() for a buffered request, from header_cb()
 * when a stream's headers are complete, or from req_done() as code 0 when
 * the transport failed first. req->reported keeps it once per attempt and
 * is cleared when a 429 goes back to wait for its Retry-After.
 *
 * Cancel paths: request_cancel() and client_close() remove the easy handle
 * and run the callback with BATON_ECANCELED. curl must not be re-entered from
 * its own callbacks, so while c->depth > 0 (inside curl_multi_socket_action)
 * cancels and the close are only flagged and are carried out by
 * after_action() when curl returns.
 */
#include "kube/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

enum { REQ_IDLE = 0, REQ_WAITING, REQ_RUNNING };

static void wait_insert(struct baton_kube_client *c,
			struct baton_kube_request *req, uint64_t now);

struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct baton_kube_client *c;
	struct sock_ctx *next;
};

/* ---- token bucket ----------------------------------------------------------
 */

void baton_kube_bucket_init(struct baton_kube_bucket *b, double qps, int burst,
			    uint64_t now_ms)
{
	b->qps = qps;
	b->burst = burst > 0 ? burst : 1;
	b->tokens = b->burst;
	b->last_ms = now_ms;
}

uint64_t baton_kube_bucket_reserve(struct baton_kube_bucket *b, uint64_t now_ms)
{
	if (b->qps <= 0) {
		return 0;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * b->qps / 1000.0;
		if (b->tokens > b->burst) {
			b->tokens = b->burst;
		}
		b->last_ms = now_ms;
	}
	b->tokens -= 1.0;
	if (b->tokens >= 0) {
		return 0;
	}
	/* Round up: waking early would find the token not there yet. */
	return (uint64_t)(-b->tokens * 1000.0 / b->qps + 0.999);
}

/* ---- error mapping
 * ----------------------------------------------------------- */

int baton_kube_status_error(long http_status, json_t *status, char *errmsg)
{
	const char *reason =
	    json_string_value(json_object_get(status, "reason"));
	const char *message =
	    json_string_value(json_object_get(status, "message"));
	json_t *causes =
	    json_object_get(json_object_get(status, "details"), "causes");
	long code = json_integer_value(json_object_get(status, "code"));
	char extra[BATON_ERRMSG_SIZE] = "";
	size_t off = 0, i;
	json_t *cause;
	int rv;

	if (code == 0) {
		code = http_status;
	}
	switch (code) {
	case 400:
		rv = BATON_EINVAL;
		break;
	case 401:
	case 403:
		rv = BATON_EFORBIDDEN;
		break;
	case 404:
		rv = BATON_ENOTFOUND;
		break;
	case 409:
		rv = reason != NULL && strcmp(reason, "AlreadyExists") == 0
			 ? BATON_EEXIST
			 : BATON_ECONFLICT;
		break;
	case 410:
		rv = BATON_EGONE;
		break;
	case 422:
		rv = BATON_EINVALIDOBJ;
		break;
	case 429:
		rv = BATON_ETHROTTLED;
		break;
	case 504:
		rv = BATON_ETIMEDOUT;
		break;
	default:
		rv = BATON_ESERVER;
	}
	json_array_foreach(causes, i, cause)
	{
		const char *f =
		    json_string_value(json_object_get(cause, "field"));
		const char *m =
		    json_string_value(json_object_get(cause, "message"));
		int n = snprintf(extra + off, sizeof extra - off, "%s%s: %s",
				 off == 0 ? " (causes: " : "; ", f ? f : "",
				 m ? m : "");
		if (n < 0 || (size_t)n >= sizeof extra - off) {
			break;
		}
		off += (size_t)n;
	}
	if (off > 0 && off + 2 < sizeof extra) {
		extra[off++] = ')';
		extra[off] = '\0';
	}
	baton_errmsg_printf(errmsg, "HTTP %ld %s: %s%s", code,
			    reason ? reason : "", message ? message : "",
			    extra);
	return rv;
}

static int curl_error(CURLcode cc, const char *detail, char *errmsg)
{
	int rv;

	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		rv = BATON_ETIMEDOUT;
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		rv = BATON_ETLS;
		break;
	case CURLE_OUT_OF_MEMORY:
		rv = BATON_ENOMEM;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		rv = BATON_EINVAL;
		break;
	default:
		rv = BATON_ECONN;
	}
	baton_errmsg_printf(errmsg, "%s: %s", curl_easy_strerror(cc),
			    detail && detail[0] ? detail : "");
	return rv;
}

/* ---- verbs -------------------------------------------------------------- */

const char *baton_kube_verb_name(enum baton_kube_verb verb)
{
	static const char *const names[BATON_KUBE_N_VERBS] = {
	    "GET",   "LIST",  "WATCH",	"POST", "PUT",
	    "PATCH", "APPLY", "DELETE", "OTHER"};
	return (unsigned)verb < BATON_KUBE_N_VERBS ? names[verb] : "OTHER";
}

static bool seg_is(const char *seg, size_t len, const char *word)
{
	return strlen(word) == len && strncmp(seg, word, len) == 0;
}

/* Does PATH_QUERY name a collection (no object name)? As
 * RequestInfoFactory: /api/VERSION/... or /apis/GROUP/VERSION/..., then an
 * optional namespaces/NS (unless what follows is a namespace's own
 * subresource), then RESOURCE[/NAME[/SUBRESOURCE]]. Other paths
 * (discovery, /version, absolute URLs to agents) are never collections. */
static bool is_collection(const char *path_query)
{
	const char *seg[8];
	size_t len[8], n = 0, skip, first;
	const char *p = path_query;

	if (p[0] != '/') {
		return false;
	}
	while (*p == '/' && n < 8) {
		size_t l;
		p++;
		l = strcspn(p, "/?");
		seg[n] = p;
		len[n] = l;
		n++;
		p += l;
	}
	if (n > 0 && seg_is(seg[0], len[0], "api")) {
		skip = 2;
	} else if (n > 0 && seg_is(seg[0], len[0], "apis")) {
		skip = 3;
	} else {
		return false;
	}
	if (n <= skip || len[n - 1] == 0) {
		/* discovery, or a trailing slash kube-apiserver would not
		 * route either */
		return false;
	}
	first = skip;
	if (seg_is(seg[first], len[first], "namespaces") && n - first > 2 &&
	    !seg_is(seg[first + 2], len[first + 2], "status") &&
	    !seg_is(seg[first + 2], len[first + 2], "finalize")) {
		first += 2;
	}
	return n - first == 1;
}

static bool query_has_watch(const char *path_query)
{
	const char *q = strchr(path_query, '?');

	while (q != NULL) {
		q++;
		if (strncmp(q, "watch=true", 10) == 0 ||
		    strncmp(q, "watch=1", 7) == 0) {
			return true;
		}
		q = strchr(q, '&');
	}
	return false;
}

enum baton_kube_verb baton_kube_verb_of(const char *method,
					const char *path_query,
					const char *content_type, bool streamed)
{
	if (strcmp(method, "GET") == 0) {
		if (streamed || query_has_watch(path_query)) {
			return BATON_KUBE_VERB_WATCH;
		}
		return is_collection(path_query) ? BATON_KUBE_VERB_LIST
						 : BATON_KUBE_VERB_GET;
	}
	if (strcmp(method, "POST") == 0) {
		return BATON_KUBE_VERB_POST;
	}
	if (strcmp(method, "PUT") == 0) {
		return BATON_KUBE_VERB_PUT;
	}
	if (strcmp(method, "DELETE") == 0) {
		return BATON_KUBE_VERB_DELETE;
	}
	if (strcmp(method, "PATCH") == 0) {
		return content_type != NULL &&
			       strncmp(content_type, "application/apply-patch",
				       23) == 0
			   ? BATON_KUBE_VERB_APPLY
			   : BATON_KUBE_VERB_PATCH;
	}
	return BATON_KUBE_VERB_OTHER;
}

/* Tells the loop's observer about this attempt's answer, once. */
static void req_report(struct baton_kube_request *req, long code)
{
	struct baton_kube_client *c = req->client;
	struct baton_kube_request_report r;

	if (req->reported || c->request_report_cb == NULL) {
		return;
	}
	req->reported = true;
	r.verb = req->verb;
	r.code = code;
	r.seconds = (double)(uv_hrtime() - req->launched_ns) / 1e9;
	c->request_report_cb(c, &r, c->request_report_arg);
}

/* ---- request lifecycle
 * ------------------------------------------------------- */

static void list_remove(struct baton_kube_request **head,
			struct baton_kube_request *r)
{
	if (r->prev != NULL) {
		r->prev->next = r->next;
	} else {
		*head = r->next;
	}
	if (r->next != NULL) {
		r->next->prev = r->prev;
	}
	r->prev = r->next = NULL;
}

static void list_append(struct baton_kube_request **head,
			struct baton_kube_request *r)
{
	struct baton_kube_request *t = *head;

	r->next = NULL;
	if (t == NULL) {
		r->prev = NULL;
		*head = r;
		return;
	}
	while (t->next != NULL) {
		t = t->next;
	}
	t->next = r;
	r->prev = t;
}

static void req_release(struct baton_kube_request *req)
{
	if (req->easy != NULL) {
		curl_easy_cleanup(req->easy);
		req->easy = NULL;
	}
	curl_slist_free_all(req->headers);
	curl_slist_free_all(req->connect);
	req->connect = NULL;
	req->headers = NULL;
	free(req->url);
	req->url = NULL;
	free(req->body);
	req->body = NULL;
	baton_buf_free(&req->resp);
}

/* Unlinks REQ, frees its transfer state, runs the callback with STATUS.
 * RESULT (owned, may be NULL) is lent to the callback. */
static void req_finish(struct baton_kube_request *req, int status,
		       json_t *result)
{
	struct baton_kube_client *c = req->client;
	baton_kube_request_cb cb = req->cb;

	if (req->state == REQ_WAITING) {
		list_remove(&c->waiting, req);
	} else if (req->state == REQ_RUNNING) {
		list_remove(&c->running, req);
		curl_multi_remove_handle(c->multi, req->easy);
	}
	req->state = REQ_IDLE;
	req_release(req);
	req->result = result;
	req->cb = NULL;
	cb(req, status);
	json_decref(result);
}

static void req_cancel_now(struct baton_kube_request *req)
{
	baton_errmsg_printf(req->errmsg, "request cancelled");
	req->http_status = 0;
	req_finish(req, BATON_ECANCELED, NULL);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct baton_kube_request *req = ud;
	size_t n = size * nmemb;
	long code = 0;
	int rv;

	if (req->cancel_pending) {
		req->abort_status = BATON_ECANCELED;
		return 0;
	}
	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &code);
	if (req->data_cb != NULL && code >= 200 && code < 300) {
		rv = req->data_cb(req, ptr, n);
		if (rv != 0) {
			req->abort_status = rv;
			return 0;
		}
		return n;
	}
	rv = baton_buf_add(&req->resp, ptr, n);
	if (rv != 0) {
		req->abort_status = rv; /* BATON_ETOOLARGE past max_body */
		return 0;
	}
	return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct baton_kube_request *req = ud;
	size_t n = size * nmemb;

	if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t k = n - 12 < sizeof tmp - 1 ? n - 12 : sizeof tmp - 1;
		memcpy(tmp, ptr + 12, k);
		tmp[k] = '\0';
		req->retry_after = strtol(tmp, NULL, 10);
		if (req->retry_after < 0) {
			req->retry_after = 0;
		}
	} else if (req->data_cb != NULL && (ptr[0] == '\r' || ptr[0] == '\n')) {
		/* The blank line ending a header block: a stream is
		 * answered now (its body may last minutes). A 1xx block
		 * (100 Continue) is followed by the real one. */
		long code = 0;
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200) {
			req_report(req, code);
		}
	}
	return n;
}

/* A 429 (or a GET's 5xx) with Retry-After: back into the waiting list
 * instead of completing. Streams are not retried here (the watch has its
 * own backoff that honours Retry-After). */
static bool req_retry_later(struct baton_kube_request *req)
{
	struct baton_kube_client *c = req->client;
	uint64_t now = uv_now(c->loop);
	long secs = req->retry_after;
	long code = req->http_status;

	if (secs <= 0 || req->data_cb != NULL || c->closing ||
	    req->retries >= BATON_KUBE_MAX_RETRIES ||
	    !(code == 429 || (code >= 500 && req->is_get))) {
		return false;
	}
	if (secs > 60) {
		secs = 60;
	}
	list_remove(&c->running, req);
	curl_multi_remove_handle(c->multi, req->easy);
	req->retries++;
	req->reported = false;
	req->retry_after = 0;
	baton_buf_reset(&req->resp);
	req->abort_status = 0;
	req->errmsg[0] = '\0';
	req->ready_ms = now + (uint64_t)secs * 1000;
	wait_insert(c, req, now);
	return true;
}

/* A finished transfer: map its outcome. */
static void req_done(struct baton_kube_request *req, CURLcode cc)
{
	json_t *result = NULL;
	json_error_t jerr;
	int status = 0;

	curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->http_status);
	if (cc == CURLE_OK ||
	    (cc == CURLE_WRITE_ERROR && req->abort_status != 0 &&
	     req->abort_status != BATON_ECANCELED)) {
		/* answered (we may have refused the body: too large...) */
		req_report(req, req->http_status);
	} else if (cc != CURLE_WRITE_ERROR || req->abort_status == 0) {
		/* no answer, or the connection broke during it */
		req_report(req, 0);
	}
	if (cc == CURLE_OK && req_retry_later(req)) {
		return;
	}
	if (cc != CURLE_OK) {
		if (cc == CURLE_WRITE_ERROR && req->abort_status != 0) {
			status = req->abort_status;
			if (status == BATON_ETOOLARGE) {
				baton_errmsg_printf(
				    req->errmsg,
				    "response body larger than %zu bytes",
				    req->client->max_body);
			} else if (status == BATON_ECANCELED) {
				baton_errmsg_printf(req->errmsg,
						    "request cancelled");
			} else if (req->errmsg[0] == '\0') {
				baton_errmsg_printf(req->errmsg, "%s",
						    baton_strerror(status));
			}
		} else {
			char detail[BATON_ERRMSG_SIZE];
			snprintf(detail, sizeof detail, "%s", req->errmsg);
			status = curl_error(cc, detail, req->errmsg);
			if (status == BATON_ETLS) {
				/* Say where to look: the CA or the client
				 * certificate in the config it came from. */
				struct baton_kube_config *cfg =
				    &req->client->cfg;
				char m[BATON_ERRMSG_SIZE];
				memcpy(m, req->errmsg, sizeof m);
				baton_errmsg_printf(
				    req->errmsg,
				    "TLS with %s failed (check "
				    "certificate-authority / "
				    "client-certificate "
				    "in %s): %s",
				    cfg->server,
				    cfg->source ? cfg->source : "?", m);
			}
		}
	} else if (req->http_status < 200 || req->http_status >= 300) {
		if (req->resp.len > 0) {
			result =
			    json_loadb(req->resp.p, req->resp.len, 0, &jerr);
		}
		status = baton_kube_status_error(req->http_status, result,
						 req->errmsg);
		/* as client-go: a credential the server refuses may have been
		 * revoked or have expired before its expirationTimestamp; the
		 * exec plugin runs again before the next request */
		if (req->http_status == 401 && req->client->cfg.exec != NULL) {
			req->client->cfg.exec_ran = false;
		}
		if (result != NULL && !json_is_object(result)) {
			json_decref(result);
			result = NULL;
		}
	} else if (req->data_cb == NULL && req->resp.len > 0) {
		result = json_loadb(req->resp.p, req->resp.len, 0, &jerr);
		if (result == NULL) {
			baton_errmsg_printf(req->errmsg,
					    "HTTP %ld: body is not JSON: %s "
					    "(line %d)",
					    req->http_status, jerr.text,
					    jerr.line);
			status = BATON_EPARSE;
		}
	}
	req_finish(req, status, result);
}

static void check_multi_info(struct baton_kube_client *c)
{
	CURLMsg *msg;
	int left;

	while (!c->closing && (msg = curl_multi_info_read(c->multi, &left))) {
		struct baton_kube_request *req = NULL;
		if (msg->msg != CURLMSG_DONE) {
			continue;
		}
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
				  (char **)&req);
		req_done(req, msg->data.result);
	}
}

static void teardown(struct baton_kube_client *c);

/* Runs what was deferred while curl was on the stack. */
static void after_action(struct baton_kube_client *c)
{
	struct baton_kube_request *r, *next;

	if (c->depth > 0 || c->torn_down) {
		return;
	}
	for (r = c->running; r != NULL && !c->closing; r = next) {
		next = r->next;
		if (r->cancel_pending) {
			req_cancel_now(r);
			/* The callback may have cancelled others: restart. */
			next = c->running;
		}
	}
	check_multi_info(c);
	if (c->closing) {
		teardown(c);
	}
}

static void socket_action(struct baton_kube_client *c, curl_socket_t fd,
			  int flags)
{
	int running;

	c->depth++;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	c->depth--;
	after_action(c);
}

/* ---- curl ↔ libuv
 * ------------------------------------------------------------ */

static void handle_closed_cb(uv_handle_t *h)
{
	struct baton_kube_client *c = h->data;

	if (h->type == UV_POLL) {
		free(h);
	}
	c->handles--;
	if (c->handles == 0 && c->torn_down) {
		baton_kube_config_free(&c->cfg);
		free(c->user_agent);
		c->user_agent = NULL;
		if (c->close_cb != NULL) {
			c->close_cb(c);
		}
	}
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct sock_ctx *s = (struct sock_ctx *)h;
	int flags = 0;

	if (status < 0) {
		flags = CURL_CSELECT_ERR;
	} else {
		if (events & UV_READABLE) {
			flags |= CURL_CSELECT_IN;
		}
		if (events & UV_WRITABLE) {
			flags |= CURL_CSELECT_OUT;
		}
	}
	socket_action(s->c, s->fd, flags);
}

static void sock_close(struct baton_kube_client *c, struct sock_ctx *s)
{
	struct sock_ctx **pp;

	for (pp = &c->socks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	uv_poll_stop(&s->poll);
	s->poll.data = c;
	uv_close((uv_handle_t *)&s->poll, handle_closed_cb);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *ud,
		     void *sockp)
{
	struct baton_kube_client *c = ud;
	struct sock_ctx *s = sockp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(c->multi, fd, NULL);
			sock_close(c, s);
		}
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof *s);
		if (s == NULL) {
			return -1;
		}
		if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		c->handles++;
		s->fd = fd;
		s->c = c;
		s->next = c->socks;
		c->socks = s;
		curl_multi_assign(c->multi, fd, s);
	}
	if (what & CURL_POLL_IN) {
		events |= UV_READABLE;
	}
	if (what & CURL_POLL_OUT) {
		events |= UV_WRITABLE;
	}
	uv_poll_start(&s->poll, events, poll_cb);
	return 0;
}

static void curl_timer_cb(uv_timer_t *t)
{
	socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *ud)
{
	struct baton_kube_client *c = ud;

	if (timeout_ms < 0) {
		uv_timer_stop(&c->curl_timer);
	} else {
		uv_timer_start(&c->curl_timer, curl_timer_cb,
			       (uint64_t)timeout_ms, 0);
	}
	return 0;
}

/* ---- starting requests
 * ------------------------------------------------------- */

static int req_launch(struct baton_kube_request *req)
{
	struct baton_kube_client *c = req->client;
	CURLMcode mc;

	list_append(&c->running, req);
	req->state = REQ_RUNNING;
	req->launched_ns = uv_hrtime();
	mc = curl_multi_add_handle(c->multi, req->easy);
	if (mc != CURLM_OK) {
		list_remove(&c->running, req);
		req->state = REQ_IDLE;
		baton_errmsg_printf(req->errmsg, "curl_multi_add_handle: %s",
				    curl_multi_strerror(mc));
		return BATON_ENOMEM;
	}
	return 0;
}

static void limit_timer_cb(uv_timer_t *t)
{
	struct baton_kube_client *c = t->data;
	uint64_t now = uv_now(c->loop);

	while (c->waiting != NULL && c->waiting->ready_ms <= now) {
		struct baton_kube_request *req = c->waiting;
		list_remove(&c->waiting, req);
		req->state = REQ_IDLE;
		if (req_launch(req) != 0) {
			req_finish(req, BATON_ENOMEM, NULL);
		}
	}
	if (c->waiting != NULL) {
		uv_timer_start(&c->limit_timer, limit_timer_cb,
			       c->waiting->ready_ms - now, 0);
	}
}

/* Inserts REQ into the waiting list ordered by ready_ms (FIFO among equal
 * times) and re-arms the timer if it became the head. */
static void wait_insert(struct baton_kube_client *c,
			struct baton_kube_request *req, uint64_t now)
{
	struct baton_kube_request *t = c->waiting, *prev = NULL;

	while (t != NULL && t->ready_ms <= req->ready_ms) {
		prev = t;
		t = t->next;
	}
	req->prev = prev;
	req->next = t;
	if (t != NULL) {
		t->prev = req;
	}
	if (prev != NULL) {
		prev->next = req;
	} else {
		c->waiting = req;
		uv_timer_start(&c->limit_timer, limit_timer_cb,
			       req->ready_ms > now ? req->ready_ms - now : 0,
			       0);
	}
	req->state = REQ_WAITING;
}

static int build_easy(struct baton_kube_client *c,
		      struct baton_kube_request *req, const char *method,
		      const char *content_type, long timeout_ms)
{
	struct baton_kube_config *cfg = &c->cfg;
	const char *token;
	struct curl_slist *h;
	CURL *e;
	int rv;

	/* an exec plugin's credential, (re)made when it has expired */
	if ((rv = baton_kube_config_refresh(cfg)) != 0) {
		baton_errmsg_printf(req->errmsg, "%s", cfg->errmsg);
		baton_errmsg_printf(c->errmsg, "%s", cfg->errmsg);
		return rv;
	}
	token = baton_kube_config_token(cfg);
	req->easy = e = curl_easy_init();
	if (e == NULL) {
		return BATON_ENOMEM;
	}
	h = curl_slist_append(NULL, "Accept: application/json");
	req->headers = h;
	if (h == NULL) {
		return BATON_ENOMEM;
	}
	if (content_type != NULL) {
		char line[128];
		snprintf(line, sizeof line, "Content-Type: %s", content_type);
		if ((h = curl_slist_append(req->headers, line)) == NULL) {
			return BATON_ENOMEM;
		}
	}
	if (token != NULL) {
		size_t n = strlen(token) + 32;
		char *line = malloc(n);
		if (line == NULL) {
			return BATON_ENOMEM;
		}
		snprintf(line, n, "Authorization: Bearer %s", token);
		h = curl_slist_append(req->headers, line);
		memset(line, 0, n);
		free(line);
		if (h == NULL) {
			return BATON_ENOMEM;
		}
	}
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errmsg);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (timeout_ms > 0) {
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	}
	if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	if (req->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(req->body));
	}
	if (req->connect_to[0] != '\0') {
		curl_slist_free_all(req->connect);
		req->connect = curl_slist_append(NULL, req->connect_to);
		if (req->connect == NULL) {
			return BATON_ENOMEM;
		}
		curl_easy_setopt(e, CURLOPT_CONNECT_TO, req->connect);
	}
	if (cfg->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (cfg->ca != NULL) {
		struct curl_blob b = {cfg->ca, cfg->ca_len, CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	}
	if (cfg->cert != NULL) {
		struct curl_blob cb = {cfg->cert, cfg->cert_len,
				       CURL_BLOB_COPY};
		struct curl_blob kb = {cfg->key, cfg->key_len, CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &kb);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	return 0;
}

static int request_start(struct baton_kube_client *c,
			 struct baton_kube_request *req, const char *connect_to,
			 const char *method, const char *path_query,
			 const char *content_type, const char *body,
			 long timeout_ms, baton_kube_data_cb data_cb,
			 baton_kube_request_cb cb)
{
	void *data = req->data;
	uint64_t now, wait;
	size_t n;
	int rv;

	if (c->closing) {
		return BATON_ESHUTDOWN;
	}
	memset(req, 0, sizeof *req);
	if (connect_to != NULL) {
		if (strlen(connect_to) >= sizeof req->connect_to) {
			baton_errmsg_printf(req->errmsg,
					    "connect-to '%s' is too long",
					    connect_to);
			req->data = data;
			return BATON_EINVAL;
		}
		snprintf(req->connect_to, sizeof req->connect_to, "%s",
			 connect_to);
	}
	req->data = data;
	req->client = c;
	baton_buf_init(&req->resp, c->max_body);
	req->cb = cb;
	req->data_cb = data_cb;
	req->timeout_ms = timeout_ms == 0 ? c->timeout_ms : timeout_ms;
	req->is_get = strcmp(method, "GET") == 0;
	req->verb = baton_kube_verb_of(method, path_query, content_type,
				       data_cb != NULL);
	{
		/* an absolute URL (batond → agents) goes as is */
		const char *base =
		    strncmp(path_query, "http://", 7) == 0 ||
			    strncmp(path_query, "https://", 8) == 0
			? ""
			: c->cfg.server;
		n = strlen(base) + strlen(path_query) + 1;
		req->url = malloc(n);
		if (req->url == NULL) {
			rv = BATON_ENOMEM;
			goto err_after_alloc;
		}
		snprintf(req->url, n, "%s%s", base, path_query);
	}
	if (body != NULL && (req->body = strdup(body)) == NULL) {
		rv = BATON_ENOMEM;
		goto err_after_alloc;
	}
	rv = build_easy(c, req, method, content_type, req->timeout_ms);
	if (rv != 0) {
		goto err_after_alloc;
	}
	now = uv_now(c->loop);
	wait = baton_kube_bucket_reserve(&c->bucket, now);
	/* Bucket reservations are monotone, so a request that may go now
	 * only ever overtakes retries waiting for their Retry-After. */
	if (wait == 0 && (c->waiting == NULL || c->waiting->ready_ms > now)) {
		rv = req_launch(req);
		if (rv != 0) {
			goto err_after_alloc;
		}
		return 0;
	}
	req->ready_ms = now + wait;
	wait_insert(c, req, now);
	return 0;

err_after_alloc:
	if (req->errmsg[0] == '\0') {
		baton_errmsg_printf(req->errmsg, "%s", baton_strerror(rv));
	}
	req_release(req);
	return rv;
}

int baton_kube_request_start(struct baton_kube_client *c,
			     struct baton_kube_request *req, const char *method,
			     const char *path_query, const char *content_type,
			     const char *body, long timeout_ms,
			     baton_kube_data_cb data_cb,
			     baton_kube_request_cb cb)
{
	return request_start(c, req, NULL, method, path_query, content_type,
			     body, timeout_ms, data_cb, cb);
}

int baton_kube_request_start_via(struct baton_kube_client *c,
				 struct baton_kube_request *req,
				 const char *connect_to, const char *method,
				 const char *url, const char *content_type,
				 const char *body, long timeout_ms,
				 baton_kube_request_cb cb)
{
	return request_start(c, req, connect_to, method, url, content_type,
			     body, timeout_ms, NULL, cb);
}

void baton_kube_request_cancel(struct baton_kube_request *req)
{
	if (req->state == REQ_IDLE || req->client == NULL) {
		return;
	}
	if (req->state == REQ_RUNNING && req->client->depth > 0) {
		req->cancel_pending = true;
		return;
	}
	req_cancel_now(req);
}

/* ---- client lifecycle
 * --------------------------------------------------------- */

/* Loops whose clients report watch restarts. One loop per thread, and
 * clients are initialised on their loop's thread; the table is written only
 * by the owners of the loops, before and after they run them. */
static struct {
	uv_loop_t *loop; /* NULL: free slot */
	baton_kube_watch_restart_cb watch_cb;
	void *watch_arg;
	baton_kube_request_report_cb request_cb;
	void *request_arg;
} observed[BATON_KUBE_MAX_OBSERVED_LOOPS];

/* The index of LOOP's slot, taking a free one if CREATE; -1 if none. */
static int observed_slot(uv_loop_t *loop, bool create)
{
	int free_slot = -1;

	for (int i = 0; i < BATON_KUBE_MAX_OBSERVED_LOOPS; i++) {
		if (observed[i].loop == loop) {
			return i;
		}
		if (observed[i].loop == NULL && free_slot < 0) {
			free_slot = i;
		}
	}
	if (!create || free_slot < 0) {
		return -1;
	}
	memset(&observed[free_slot], 0, sizeof observed[free_slot]);
	observed[free_slot].loop = loop;
	return free_slot;
}

/* A slot with neither observer is free again. */
static void observed_gc(int i)
{
	if (observed[i].watch_cb == NULL && observed[i].request_cb == NULL) {
		observed[i].loop = NULL;
	}
}

int baton_kube_observe_watch_restarts(uv_loop_t *loop,
				      baton_kube_watch_restart_cb cb, void *arg)
{
	int i = observed_slot(loop, cb != NULL);

	if (i < 0) {
		return cb == NULL ? 0 : BATON_ETOOLARGE;
	}
	observed[i].watch_cb = cb;
	observed[i].watch_arg = arg;
	observed_gc(i);
	return 0;
}

int baton_kube_observe_requests(uv_loop_t *loop,
				baton_kube_request_report_cb cb, void *arg)
{
	int i = observed_slot(loop, cb != NULL);

	if (i < 0) {
		return cb == NULL ? 0 : BATON_ETOOLARGE;
	}
	observed[i].request_cb = cb;
	observed[i].request_arg = arg;
	observed_gc(i);
	return 0;
}

int baton_kube_client_init(uv_loop_t *loop, struct baton_kube_client *c,
			   const struct baton_kube_config *cfg,
			   const struct baton_kube_client_opts *opts)
{
	struct baton_kube_client_opts def = {0};
	void *data = c->data;
	static bool global_done;
	int rv;

	if (!global_done) {
		/* Idempotent enough: curl >= 7.84 makes it thread-safe. */
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global_done = true;
	}
	memset(c, 0, sizeof *c);
	c->data = data;
	c->loop = loop;
	for (int i = 0; i < BATON_KUBE_MAX_OBSERVED_LOOPS; i++) {
		if (observed[i].loop == loop) {
			c->watch_restart_cb = observed[i].watch_cb;
			c->watch_restart_arg = observed[i].watch_arg;
			c->request_report_cb = observed[i].request_cb;
			c->request_report_arg = observed[i].request_arg;
		}
	}
	if (opts == NULL) {
		opts = &def;
	}
	if (cfg->server == NULL) {
		baton_errmsg_printf(c->errmsg, "config has no server");
		return BATON_EINVAL;
	}
	rv = baton_kube_config_copy(&c->cfg, cfg);
	if (rv != 0) {
		baton_errmsg_printf(c->errmsg, "%s", c->cfg.errmsg);
		return rv;
	}
	c->timeout_ms =
	    opts->timeout_ms ? opts->timeout_ms : BATON_KUBE_DEFAULT_TIMEOUT_MS;
	c->max_body =
	    opts->max_body ? opts->max_body : BATON_KUBE_DEFAULT_MAX_BODY;
	c->user_agent =
	    strdup(opts->user_agent ? opts->user_agent : "baton/0.1");
	c->multi = curl_multi_init();
	if (c->user_agent == NULL || c->multi == NULL) {
		rv = BATON_ENOMEM;
		goto err_after_copy;
	}
	baton_kube_bucket_init(
	    &c->bucket, opts->qps == 0 ? BATON_KUBE_DEFAULT_QPS : opts->qps,
	    opts->burst ? opts->burst : BATON_KUBE_DEFAULT_BURST, uv_now(loop));
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	/* No per-host connection cap: over HTTP/1.1 every watch holds a
	 * connection for minutes, and a cap would starve other requests.
	 * Over h2 (what kube-apiserver speaks) PIPEWAIT multiplexes. */
	uv_timer_init(loop, &c->curl_timer);
	uv_timer_init(loop, &c->limit_timer);
	c->curl_timer.data = c;
	c->limit_timer.data = c;
	c->handles = 2;
	return 0;

err_after_copy:
	if (c->multi != NULL) {
		curl_multi_cleanup(c->multi);
	}
	free(c->user_agent);
	baton_kube_config_free(&c->cfg);
	baton_errmsg_printf(c->errmsg, "client init: out of memory");
	return rv;
}

static void teardown(struct baton_kube_client *c)
{
	if (c->torn_down) {
		return;
	}
	/* Callbacks of cancelled requests may start or cancel others; new
	 * starts are refused (closing), so these loops end. */
	while (c->waiting != NULL) {
		req_cancel_now(c->waiting);
	}
	while (c->running != NULL) {
		req_cancel_now(c->running);
	}
	c->torn_down = true;
	curl_multi_cleanup(c->multi);
	c->multi = NULL;
	while (c->socks != NULL) {
		sock_close(c, c->socks);
	}
	uv_close((uv_handle_t *)&c->curl_timer, handle_closed_cb);
	uv_close((uv_handle_t *)&c->limit_timer, handle_closed_cb);
}

void baton_kube_client_close(struct baton_kube_client *c,
			     baton_kube_client_close_cb close_cb)
{
	if (c->closing) {
		return;
	}
	c->closing = true;
	c->close_cb = close_cb;
	if (c->depth == 0) {
		teardown(c);
	}
}
