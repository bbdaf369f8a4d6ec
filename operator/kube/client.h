/* One HTTP client per Kubernetes API server, on a libuv loop.
 *
 * libcurl's multi interface is driven by the loop (curl's multi-uv.c
 * pattern): curl tells us which sockets to watch (uv_poll) and when to wake
 * it (uv_timer). Connections are reused by curl's connection cache. Every
 * request first reserves a token from a client-side token bucket (QPS/burst,
 * as client-go's flowcontrol), then runs with TLS verification on unless the
 * config says insecure.
 *
 * Requests are caller-owned structs that must stay put until their callback
 * has run. The callback runs exactly once: with 0 on a 2xx answer, or with a
 * BATON_E* code (HTTP status and the API's Status body mapped once, here),
 * or BATON_ECANCELED when the request or the client was closed first. After
 * the callback returns the library never touches the request again, so the
 * callback may free it.
 */
#ifndef BATON_KUBE_CLIENT_H
#define BATON_KUBE_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/buf.h"
#include "common/error.h"
#include "kube/config.h"

/* The library's default, for clients that say nothing (baton-agent's, the
 * peers' read-only watches). batond sets its own from its configuration
 * (kubeClient.qps/burst, docs/batond.md): at 50/s its writes waited here. */
#define BATON_KUBE_DEFAULT_QPS 50.0
#define BATON_KUBE_DEFAULT_BURST 100
#define BATON_KUBE_DEFAULT_TIMEOUT_MS 30000
#define BATON_KUBE_DEFAULT_MAX_BODY (64u * 1024 * 1024)
/* As client-go: a 429 (any verb) or a 5xx (GET) that carries Retry-After is
 * retried after that many seconds (capped at 60), at most this often. */
#define BATON_KUBE_MAX_RETRIES 10

/* A token bucket, pure: time is passed in (ms). reserve() takes one token
 * and returns how long the caller must wait for it (0: now), like Go's
 * rate.Limiter.Reserve().Delay(). qps <= 0 disables limiting. */
struct baton_kube_bucket {
	double qps;
	double burst;
	double tokens;
	uint64_t last_ms;
};
void baton_kube_bucket_init(struct baton_kube_bucket *b, double qps, int burst,
			    uint64_t now_ms);
uint64_t baton_kube_bucket_reserve(struct baton_kube_bucket *b,
				   uint64_t now_ms);

struct baton_kube_client_opts {
	double qps;	 /* 0: BATON_KUBE_DEFAULT_QPS; < 0: unlimited */
	int burst;	 /* 0: BATON_KUBE_DEFAULT_BURST */
	long timeout_ms; /* per request; 0: default */
	size_t max_body; /* response cap; 0: default */
	const char *user_agent;
};

struct baton_kube_request;
struct baton_kube_client;

typedef void (*baton_kube_request_cb)(struct baton_kube_request *req,
				      int status);
/* Streaming bodies (watch): bytes of a 2xx answer as they arrive. Return 0
 * to continue or a BATON_E* code to abort the request with that status. */
typedef int (*baton_kube_data_cb)(struct baton_kube_request *req,
				  const char *buf, size_t len);
typedef void (*baton_kube_client_close_cb)(struct baton_kube_client *c);
/* A watch on client C opened a new stream after its first one (the
 * server's timeout, an error, a relist after 410 Gone): for metrics. */
typedef void (*baton_kube_watch_restart_cb)(struct baton_kube_client *c,
					    void *arg);

/* What a request did, as kube-apiserver's apiserver_request_total names
 * verbs: GET on a collection is LIST, a streamed GET is WATCH, a PATCH with
 * an apply-patch body is APPLY. A fixed set, so a metric labelled by it
 * stays bounded. */
enum baton_kube_verb {
	BATON_KUBE_VERB_GET,
	BATON_KUBE_VERB_LIST,
	BATON_KUBE_VERB_WATCH,
	BATON_KUBE_VERB_POST,
	BATON_KUBE_VERB_PUT,
	BATON_KUBE_VERB_PATCH,
	BATON_KUBE_VERB_APPLY,
	BATON_KUBE_VERB_DELETE,
	BATON_KUBE_VERB_OTHER, /* any other method */
	BATON_KUBE_N_VERBS,
};

/* "GET", "LIST", ...: a static string. */
const char *baton_kube_verb_name(enum baton_kube_verb verb);

/* One answer (or transport failure) of one HTTP attempt: a 429 retried
 * after Retry-After is reported once per answer. A request is reported
 * when its caller would learn the outcome: a buffered request when it
 * completes, a stream (WATCH) when its response headers arrive. Requests
 * cancelled before an answer are not reported. */
struct baton_kube_request_report {
	enum baton_kube_verb verb;
	long code;	/* HTTP status; 0: no answer (connect, TLS, reset,
			   timeout) */
	double seconds; /* from handing the request to curl (after the
			   client-side rate limiter) to the report */
};
/* For metrics only: must not start, cancel or close anything. */
typedef void (*baton_kube_request_report_cb)(
    struct baton_kube_client *c, const struct baton_kube_request_report *r,
    void *arg);

struct baton_kube_request {
	void *data;
	/* Results, valid during the callback. */
	long http_status; /* 0 if no answer */
	json_t *result;	  /* borrowed: the body (2xx) or the Status (error);
			     json_incref() to keep it */
	long retry_after; /* seconds from Retry-After, 0 if none */
	char errmsg[BATON_ERRMSG_SIZE];

	/* Private. */
	struct baton_kube_client *client;
	struct baton_kube_request *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *connect;
	char connect_to[128];
	char *url;
	char *body;
	struct baton_buf resp; /* the body, bounded by the client's max_body */
	uint64_t ready_ms;
	long timeout_ms;
	int state;
	int abort_status;
	int retries;
	uint64_t launched_ns; /* uv_hrtime() when handed to curl */
	enum baton_kube_verb verb;
	bool is_get;
	bool cancel_pending;
	bool reported; /* this attempt's answer went to the observer */
	baton_kube_request_cb cb;
	baton_kube_data_cb data_cb;
};

struct baton_kube_client {
	void *data;
	uv_loop_t *loop;
	struct baton_kube_config cfg;
	char errmsg[BATON_ERRMSG_SIZE];

	/* Private. */
	CURLM *multi;
	uv_timer_t curl_timer;
	uv_timer_t limit_timer;
	struct baton_kube_bucket bucket;
	struct baton_kube_request *waiting; /* FIFO, waiting for a token */
	struct baton_kube_request *running; /* added to curl */
	struct sock_ctx *socks;
	long timeout_ms;
	size_t max_body;
	char *user_agent;
	int depth; /* > 0 while inside curl_multi_socket_action */
	int handles;
	bool closing;
	bool torn_down;
	baton_kube_client_close_cb close_cb;
	baton_kube_watch_restart_cb watch_restart_cb; /* from the loop */
	void *watch_restart_arg;
	baton_kube_request_report_cb request_report_cb; /* from the loop */
	void *request_report_arg;
};

#define BATON_KUBE_MAX_OBSERVED_LOOPS 8

/* Every client initialised on LOOP from now on calls CB(c, ARG) when one
 * of its watches restarts. Per loop rather than per client because the
 * owner of the metric (batond's daemon) does not create every client on
 * its loop (the controller's peer clients). CB NULL forgets LOOP; call it
 * before the loop closes. BATON_ETOOLARGE past the cap. */
int baton_kube_observe_watch_restarts(uv_loop_t *loop,
				      baton_kube_watch_restart_cb cb,
				      void *arg);

/* The same for requests: every client initialised on LOOP from now on calls
 * CB(c, report, ARG) for each answer (struct baton_kube_request_report).
 * This keeps kube/ free of any metrics library: batond turns the reports
 * into baton_kube_requests_total and baton_kube_request_duration_seconds.
 * CB NULL forgets; BATON_ETOOLARGE past BATON_KUBE_MAX_OBSERVED_LOOPS. */
int baton_kube_observe_requests(uv_loop_t *loop,
				baton_kube_request_report_cb cb, void *arg);

/* The verb of METHOD on PATH_QUERY (a path relative to the API server or an
 * absolute URL; only the former can be a LIST), CONTENT_TYPE (may be NULL)
 * and whether the body is streamed: kube-apiserver's own classification
 * (k8s.io/apiserver RequestInfoFactory), reduced to what tells GET from
 * LIST. Pure; exposed for the tests. */
enum baton_kube_verb baton_kube_verb_of(const char *method,
					const char *path_query,
					const char *content_type,
					bool streamed);

/* Copies CFG. Returns 0 or a BATON_E* with c->errmsg set. */
int baton_kube_client_init(uv_loop_t *loop, struct baton_kube_client *c,
			   const struct baton_kube_config *cfg,
			   const struct baton_kube_client_opts *opts);

/* Cancels every request (callbacks run with BATON_ECANCELED), then frees
 * everything and calls CLOSE_CB (may be NULL) from the loop. */
void baton_kube_client_close(struct baton_kube_client *c,
			     baton_kube_client_close_cb close_cb);

/* Starts METHOD on PATH_QUERY ("/api/v1/...?..", relative to the server;
 * an absolute "http://" or "https://" URL is used as is, with the client's
 * TLS settings: batond reaches its agents that way). BODY (may be NULL) is
 * copied. TIMEOUT_MS 0 means the client default, < 0 none. DATA_CB non-NULL
 * streams a 2xx body instead of buffering it. Returns 0, or an error without
 * calling CB (BATON_ESHUTDOWN if the client is closing). */
int baton_kube_request_start(struct baton_kube_client *c,
			     struct baton_kube_request *req, const char *method,
			     const char *path_query, const char *content_type,
			     const char *body, long timeout_ms,
			     baton_kube_data_cb data_cb,
			     baton_kube_request_cb cb);

/* baton_kube_request_start on an absolute URL, connecting to CONNECT_TO
 * ("URLHOST:URLPORT:HOST:PORT", curl's CONNECT_TO; NULL: the URL's) while
 * TLS still verifies the URL's host name: batond reaches an agent as its
 * database's certificate name at the pod's IP this way. */
int baton_kube_request_start_via(struct baton_kube_client *c,
				 struct baton_kube_request *req,
				 const char *connect_to, const char *method,
				 const char *url, const char *content_type,
				 const char *body, long timeout_ms,
				 baton_kube_request_cb cb);

/* Cancels a started request; its callback runs with BATON_ECANCELED (now,
 * or, if called from inside a data callback, when curl returns). No-op if
 * it already completed. */
void baton_kube_request_cancel(struct baton_kube_request *req);

/* Maps an HTTP status and the API's Status body (may be NULL) to a BATON_E*
 * and writes "HTTP 409 Conflict: message (causes: field: message; ...)". */
int baton_kube_status_error(long http_status, json_t *status, char *errmsg);

#endif /* BATON_KUBE_CLIENT_H */
