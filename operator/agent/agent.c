/* baton-agent core: see agent.h for the safety rules.
 *
 * Happy path: boot (start or init the instance -> fence -> status ->
 * ready), then batond's orders arrive on POST /v1/order; each one is checked
 * (JSON, epoch), its lease part applied at once on the loop, and its engine
 * part queued. One engine operation runs at a time on the threadpool;
 * after each one reconcile() decides what runs next:
 *   1. no valid lease and not known fenced -> fence (before anything else);
 *   2. queued orders, in arrival order;
 *   3. valid lease, primary, fenced -> unfence.
 * A poll timer refreshes the status every status_interval_ms when idle.
 *
 * Failure paths: an order that fails is answered with the engine's message
 * (409 for a lagging replica, 500 otherwise) and the agent stays fenced. A
 * fence that fails is retried on every poll (the engine already stopped the
 * server if it could not confirm read-only). Cancel path: closing answers
 * queued orders with 503, waits for the running operation, fences, then
 * closes the HTTP server and the timers.
 */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define COMPONENT "agent"

struct agent_order {
	struct agent_order *next;
	enum baton_engine_op op;
	const char *action;
	uint64_t epoch;
	uint64_t ref_lsn;
	char host[256];
	int port;
	struct baton_http_request *http; /* answered when done; or NULL */
};

static void reconcile(struct baton_agent *a);
static void finish_close(struct baton_agent *a);

static uint64_t now_ms(struct baton_agent *a)
{
	uv_update_time(a->loop);
	return uv_now(a->loop);
}

uint64_t baton_agent_lease_remaining(struct baton_agent *a)
{
	uint64_t now = now_ms(a);
	if (!a->lease_valid || now >= a->lease_deadline) {
		return 0;
	}
	return a->lease_deadline - now;
}

static const char *op_name(enum baton_engine_op op)
{
	switch (op) {
	case BATON_ENGINE_STATUS:
		return "status";
	case BATON_ENGINE_START:
		return "start";
	case BATON_ENGINE_STOP:
		return "stop";
	case BATON_ENGINE_PROMOTE:
		return "promote";
	case BATON_ENGINE_FENCE:
		return "fence";
	case BATON_ENGINE_UNFENCE:
		return "unfence";
	case BATON_ENGINE_DEMOTE:
		return "demote";
	case BATON_ENGINE_REJOIN:
		return "rejoin";
	case BATON_ENGINE_INIT_PRIMARY:
		return "init-primary";
	case BATON_ENGINE_INIT_REPLICA:
		return "init-replica";
	}
	return "?";
}

static void lsn_text(uint64_t lsn, char *buf, size_t n)
{
	snprintf(buf, n, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

static json_t *status_json(struct baton_agent *a)
{
	char lsn[32], replay[32];
	const char *health = a->failed			? "failed"
			     : a->last_error[0] != '\0' ? "degraded"
							: "ok";

	lsn_text(a->st.lsn, lsn, sizeof lsn);
	lsn_text(a->st.replay_lsn, replay, sizeof replay);
	return json_pack(
	    "{s:s,s:s,s:s,s:s,s:I,s:b,s:I,s:b,s:b,s:b,s:b,s:s,s:s,s:I,s:i,"
	    "s:i,s:i,s:b,s:s?,s:s,s:s?}",
	    "pod", a->cfg.pod_name, "namespace", a->cfg.pod_namespace, "region",
	    a->cfg.region, "role", baton_engine_role_name(a->st.role), "epoch",
	    (json_int_t)a->epoch, "leaseValid",
	    a->lease_valid && baton_agent_lease_remaining(a) > 0,
	    "leaseRemainingMillis", (json_int_t)baton_agent_lease_remaining(a),
	    "writable", a->st.writable, "fenced", a->fenced, "running",
	    a->st.running, "ready", a->ready, "lsn", lsn, "replayLsn", replay,
	    "lagBytes", (json_int_t)a->st.lag_bytes, "timeline",
	    (int)a->st.timeline, "standbys", (int)a->st.standbys,
	    "syncStandbys", (int)a->st.sync_standbys, "busy", a->busy,
	    "operation", a->busy ? op_name(a->req.op) : NULL, "health", health,
	    "lastError", a->last_error[0] ? a->last_error : NULL);
}

static void respond_json(struct baton_http_request *req, int status,
			 json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL) {
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	baton_http_respond(req, status, "application/json", text, strlen(text),
			   NULL);
	free(text);
}

/* ---- lease ----------------------------------------------------------------
 */

static void lease_expired_cb(uv_timer_t *t)
{
	struct baton_agent *a = t->data;

	if (!a->lease_valid) {
		return;
	}
	a->lease_valid = false;
	baton_log_kv(BATON_LOG_WARN, COMPONENT,
		     json_pack("{s:I}", "epoch", (json_int_t)a->epoch),
		     "lease expired: fencing the instance");
	baton_metric_inc(a->m_fences, (const char *[]){"lease-expired"}, 1);
	reconcile(a);
}

/* Lease granted by batond at send time S for lease_ms; received now (>= S):
 * ours ends at now + lease_ms - margin, never after S + lease_ms as long as
 * the delivery delay plus the fence time stay below the margin. */
static void grant_lease(struct baton_agent *a, uint64_t lease_ms)
{
	uint64_t now = now_ms(a);

	if (lease_ms <= a->cfg.lease_margin_ms) {
		a->lease_valid = false;
		uv_timer_stop(&a->lease_timer);
		return;
	}
	a->lease_deadline = now + lease_ms - a->cfg.lease_margin_ms;
	a->lease_valid = true;
	uv_timer_start(&a->lease_timer, lease_expired_cb,
		       a->lease_deadline - now, 0);
}

static void drop_lease(struct baton_agent *a)
{
	a->lease_valid = false;
	uv_timer_stop(&a->lease_timer);
}

/* ---- epoch persistence ------------------------------------------------------
 */

static int save_epoch(struct baton_agent *a, uint64_t epoch)
{
	char tmp[1024];
	char text[32];
	int fd, n;

	if (a->cfg.state_file == NULL) {
		return 0;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", a->cfg.state_file);
	n = snprintf(text, sizeof text, "%" PRIu64 "\n", epoch);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, (size_t)n) != n || fsync(fd) != 0) {
		baton_errmsg_printf(a->errmsg, "cannot write %s: %s", tmp,
				    strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return BATON_EIO;
	}
	close(fd);
	if (rename(tmp, a->cfg.state_file) != 0) {
		baton_errmsg_printf(a->errmsg, "cannot rename %s: %s", tmp,
				    strerror(errno));
		return BATON_EIO;
	}
	return 0;
}

static int load_epoch(struct baton_agent *a)
{
	char text[32] = "";
	char *end;
	FILE *f;

	if (a->cfg.state_file == NULL) {
		return 0;
	}
	f = fopen(a->cfg.state_file, "r");
	if (f == NULL) {
		return errno == ENOENT ? 0 : BATON_EIO;
	}
	if (fgets(text, sizeof text, f) == NULL) {
		text[0] = '\0';
	}
	fclose(f);
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0')) {
		baton_errmsg_printf(a->errmsg, "%s is corrupt: '%s'",
				    a->cfg.state_file, text);
		return BATON_EPARSE;
	}
	a->epoch = v;
	return 0;
}

/* ---- engine work ------------------------------------------------------------
 */

static int http_status_for(int rv)
{
	switch (rv) {
	case BATON_EBUSY:
	case BATON_ESTALE:
	case BATON_ECONFLICT:
		return 409;
	case BATON_ESHUTDOWN:
	case BATON_ECANCELED:
		return 503;
	default:
		return 500;
	}
}

static void op_done_cb(struct baton_engine_req *req, int status)
{
	struct baton_agent *a = req->data;
	struct agent_order *o = a->current;
	double secs = (double)(now_ms(a) - a->op_started) / 1000.0;
	enum baton_engine_op op = req->op;

	a->busy = false;
	a->current = NULL;
	a->st = req->st;
	baton_metric_observe(a->m_op_seconds, (const char *[]){op_name(op)},
			     secs);
	if (status == 0) {
		switch (op) {
		case BATON_ENGINE_FENCE:
		case BATON_ENGINE_PROMOTE:
		case BATON_ENGINE_DEMOTE:
		case BATON_ENGINE_REJOIN:
		case BATON_ENGINE_INIT_PRIMARY:
		case BATON_ENGINE_INIT_REPLICA:
			a->fenced = true; /* each leaves it read-only */
			break;
		case BATON_ENGINE_UNFENCE:
			a->fenced = false;
			break;
		default:
			break;
		}
		if (op != BATON_ENGINE_STATUS) {
			a->last_error[0] = '\0';
		}
	} else {
		snprintf(a->last_error, sizeof a->last_error, "%s: %s",
			 op_name(op),
			 req->errmsg[0] ? req->errmsg : baton_strerror(status));
		baton_log_kv(BATON_LOG_ERROR, COMPONENT,
			     json_pack("{s:s,s:s}", "operation", op_name(op),
				       "error", baton_errname(status)),
			     "%s", a->last_error);
	}
	if (op != BATON_ENGINE_STATUS) {
		baton_log_kv(
		    BATON_LOG_INFO, COMPONENT,
		    json_pack("{s:s,s:s,s:f,s:s,s:b}", "operation", op_name(op),
			      "result", baton_errname(status), "seconds", secs,
			      "role", baton_engine_role_name(a->st.role),
			      "writable", a->st.writable),
		    "%s finished", op_name(op));
	}

	/* boot: an existing database is started instead of initialised */
	if (a->booting && status == BATON_EEXIST &&
	    (op == BATON_ENGINE_INIT_PRIMARY ||
	     op == BATON_ENGINE_INIT_REPLICA)) {
		status = 0;
		struct agent_order *s = calloc(1, sizeof *s);
		if (s != NULL) {
			s->op = BATON_ENGINE_START;
			s->action = "start";
			s->next = a->queue_head;
			a->queue_head = s;
			if (a->queue_tail == NULL) {
				a->queue_tail = s;
			}
		}
	}
	if (a->booting && status != 0 && op != BATON_ENGINE_STATUS) {
		a->failed = true; /* not ready; a human must look */
	}
	if (a->booting && op == BATON_ENGINE_FENCE && status == 0 &&
	    !a->failed) {
		a->booting = false;
		a->ready = true;
		baton_log_kv(BATON_LOG_INFO, COMPONENT,
			     json_pack("{s:s}", "role",
				       baton_engine_role_name(a->st.role)),
			     "boot done: instance fenced, waiting for a lease");
	}
	if (o != NULL) {
		if (o->http != NULL) {
			if (status == 0) {
				respond_json(o->http, 200, status_json(a));
			} else {
				baton_http_respond_error(
				    o->http, http_status_for(status),
				    a->last_error);
			}
		}
		baton_metric_inc(
		    a->m_orders,
		    (const char *[]){o->action, status == 0 ? "ok" : "failed"},
		    1);
		free(o);
	}
	if (a->closing) {
		finish_close(a);
		return;
	}
	reconcile(a);
}

static void run_op(struct baton_agent *a, struct agent_order *o,
		   enum baton_engine_op op)
{
	memset(&a->req, 0, sizeof a->req);
	a->req.data = a;
	a->current = o;
	if (o != NULL) {
		a->req.ref_lsn = o->ref_lsn;
		snprintf(a->req.peer_host, sizeof a->req.peer_host, "%s",
			 o->host);
		a->req.peer_port = o->port;
	}
	a->busy = true;
	a->op_started = now_ms(a);
	if (baton_engine_submit(a->loop, &a->req, a->engine, op, op_done_cb) !=
	    0) {
		a->busy = false;
		a->current = NULL;
		if (o != NULL && o->http != NULL) {
			baton_http_respond_error(o->http, 500,
						 "cannot queue engine work");
		}
		free(o);
	}
}

static void reconcile(struct baton_agent *a)
{
	if (a->busy) {
		return;
	}
	/* rule 1 first: nothing runs before a due fence */
	if (a->lease_valid && now_ms(a) >= a->lease_deadline) {
		a->lease_valid = false;
	}
	if (!a->lease_valid && !a->fenced && !a->booting &&
	    (a->st.running || a->st.role == BATON_ROLE_UNKNOWN)) {
		run_op(a, NULL, BATON_ENGINE_FENCE);
		return;
	}
	if (a->queue_head != NULL) {
		struct agent_order *o = a->queue_head;
		a->queue_head = o->next;
		if (a->queue_head == NULL) {
			a->queue_tail = NULL;
		}
		run_op(a, o, o->op);
		return;
	}
	if (a->lease_valid && a->fenced && a->ready &&
	    a->st.role == BATON_ROLE_PRIMARY) {
		run_op(a, NULL, BATON_ENGINE_UNFENCE);
	}
}

static void enqueue(struct baton_agent *a, struct agent_order *o)
{
	o->next = NULL;
	if (a->queue_tail) {
		a->queue_tail->next = o;
	} else {
		a->queue_head = o;
	}
	a->queue_tail = o;
	reconcile(a);
}

static void poll_cb(uv_timer_t *t)
{
	struct baton_agent *a = t->data;
	if (a->busy || a->closing) {
		return;
	}
	if (a->queue_head == NULL && (a->lease_valid || a->fenced)) {
		run_op(a, NULL, BATON_ENGINE_STATUS);
		return;
	}
	reconcile(a); /* retries a failed fence */
}

/* ---- HTTP ------------------------------------------------------------------
 */

static void healthz_cb(struct baton_http_request *req, void *data)
{
	(void)data;
	baton_http_respond(req, 200, "text/plain", "ok\n", 3, NULL);
}

static void readyz_cb(struct baton_http_request *req, void *data)
{
	struct baton_agent *a = data;
	if (a->ready && !a->failed) {
		baton_http_respond(req, 200, "text/plain", "ready\n", 6, NULL);
	} else {
		baton_http_respond(req, 503, "text/plain",
				   a->failed ? "failed\n" : "booting\n",
				   a->failed ? 7 : 8, NULL);
	}
}

static void metrics_cb(struct baton_http_request *req, void *data)
{
	struct baton_agent *a = data;
	char *text;
	size_t len;

	baton_metric_set(a->m_epoch, NULL, (double)a->epoch);
	baton_metric_set(a->m_lease, NULL,
			 (double)baton_agent_lease_remaining(a) / 1000.0);
	baton_metric_set(a->m_writable, NULL, a->st.writable ? 1 : 0);
	baton_metric_set(a->m_lag, NULL, (double)a->st.lag_bytes);
	if (baton_metrics_render(&a->metrics, &text, &len) != 0) {
		baton_http_respond_error(req, 500, "cannot render metrics");
		return;
	}
	baton_http_respond(req, 200, "text/plain; version=0.0.4", text, len,
			   NULL);
	free(text);
}

static void status_cb(struct baton_http_request *req, void *data)
{
	respond_json(req, 200, status_json(data));
}

static void order_refused(struct baton_agent *a, struct baton_http_request *req,
			  int code, const char *action, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void order_refused(struct baton_agent *a, struct baton_http_request *req,
			  int code, const char *action, const char *fmt, ...)
{
	char msg[BATON_ERRMSG_SIZE];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	baton_log_kv(BATON_LOG_WARN, COMPONENT,
		     json_pack("{s:s,s:i,s:s,s:I}", "action",
			       action ? action : "", "status", code, "from",
			       req->peer[0] ? req->peer : req->remote,
			       "highestEpoch", (json_int_t)a->epoch),
		     "order refused: %s", msg);
	baton_metric_inc(
	    a->m_orders,
	    (const char *[]){action ? action : "invalid", "refused"}, 1);
	baton_http_respond_error(req, code, msg);
}

static void order_cb(struct baton_http_request *req, void *data)
{
	struct baton_agent *a = data;
	json_error_t jerr;
	json_t *o;
	json_t *v;
	const char *action;
	json_int_t epoch;
	json_int_t lease_ms = 0;
	struct agent_order *ord;

	if (a->cfg.order_peer != NULL && a->cfg.order_peer[0] != '\0' &&
	    strcmp(req->peer, a->cfg.order_peer) != 0) {
		order_refused(a, req, 403, NULL,
			      "orders are accepted only from %s, not '%s'",
			      a->cfg.order_peer, req->peer);
		return;
	}
	o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		order_refused(a, req, 400, NULL,
			      "malformed JSON order: %s (line %d, column %d)",
			      o ? "not an object" : jerr.text, jerr.line,
			      jerr.column);
		json_decref(o);
		return;
	}
	v = json_object_get(o, "action");
	action = json_string_value(v);
	if (action == NULL ||
	    (strcmp(action, "promote") != 0 && strcmp(action, "demote") != 0 &&
	     strcmp(action, "fence") != 0 && strcmp(action, "rejoin") != 0 &&
	     strcmp(action, "lease") != 0)) {
		order_refused(a, req, 400, NULL,
			      "\"action\" must be one of promote, demote, "
			      "fence, rejoin, lease");
		json_decref(o);
		return;
	}
	v = json_object_get(o, "epoch");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		order_refused(a, req, 400, action,
			      "\"epoch\" must be a non-negative integer");
		json_decref(o);
		return;
	}
	epoch = json_integer_value(v);
	v = json_object_get(o, "leaseMillis");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > 3600 * 1000) {
			order_refused(a, req, 400, action,
				      "\"leaseMillis\" must be an integer in "
				      "1..3600000");
			json_decref(o);
			return;
		}
		lease_ms = json_integer_value(v);
	} else if (strcmp(action, "lease") == 0) {
		order_refused(a, req, 400, action,
			      "a lease order needs \"leaseMillis\"");
		json_decref(o);
		return;
	}
	/* rule 4: never go back in epochs */
	if ((uint64_t)epoch < a->epoch) {
		order_refused(a, req, 409, action,
			      "stale epoch %" PRId64 " < highest seen %" PRIu64,
			      (int64_t)epoch, a->epoch);
		json_decref(o);
		return;
	}
	if (!a->ready && strcmp(action, "fence") != 0) {
		order_refused(a, req, 503, action, "agent is still booting");
		json_decref(o);
		return;
	}
	ord = calloc(1, sizeof *ord);
	if (ord == NULL) {
		json_decref(o);
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	ord->epoch = (uint64_t)epoch;
	ord->http = req;
	if ((uint64_t)epoch > a->epoch) {
		/* durable before acted on: a restart must not forget it */
		if (save_epoch(a, (uint64_t)epoch) != 0) {
			free(ord);
			json_decref(o);
			BATON_ERROR(COMPONENT, "%s", a->errmsg);
			baton_http_respond_error(req, 500, a->errmsg);
			return;
		}
		baton_log_kv(BATON_LOG_INFO, COMPONENT,
			     json_pack("{s:I,s:I}", "from",
				       (json_int_t)a->epoch, "to",
				       (json_int_t)epoch),
			     "new epoch");
		a->epoch = (uint64_t)epoch;
	}
	if (strcmp(action, "lease") == 0) {
		grant_lease(a, (uint64_t)lease_ms);
		free(ord);
		baton_metric_inc(a->m_orders, (const char *[]){"lease", "ok"},
				 1);
		json_decref(o);
		respond_json(req, 200, status_json(a));
		reconcile(a); /* may unfence */
		return;
	}
	if (strcmp(action, "promote") == 0) {
		ord->op = BATON_ENGINE_PROMOTE;
		ord->action = "promote";
		v = json_object_get(o, "primaryLsn");
		if (json_is_string(v) &&
		    baton_pg_parse_lsn(json_string_value(v), &ord->ref_lsn) !=
			0) {
			free(ord);
			order_refused(
			    a, req, 400, action,
			    "\"primaryLsn\" must look like 16/B374D848");
			json_decref(o);
			return;
		}
		if (lease_ms > 0) {
			grant_lease(a, (uint64_t)lease_ms);
		}
	} else if (strcmp(action, "rejoin") == 0) {
		const char *host =
		    json_string_value(json_object_get(o, "primaryHost"));
		json_t *port = json_object_get(o, "primaryPort");
		if (host == NULL || !json_is_integer(port) ||
		    json_integer_value(port) <= 0 ||
		    json_integer_value(port) > 65535) {
			free(ord);
			order_refused(a, req, 400, action,
				      "rejoin needs \"primaryHost\" and "
				      "\"primaryPort\"");
			json_decref(o);
			return;
		}
		drop_lease(a);
		ord->op = BATON_ENGINE_REJOIN;
		ord->action = "rejoin";
		snprintf(ord->host, sizeof ord->host, "%s", host);
		ord->port = (int)json_integer_value(port);
	} else {
		drop_lease(a);
		ord->op = strcmp(action, "demote") == 0 ? BATON_ENGINE_DEMOTE
							: BATON_ENGINE_FENCE;
		ord->action =
		    strcmp(action, "demote") == 0 ? "demote" : "fence";
		if (ord->op == BATON_ENGINE_FENCE) {
			baton_metric_inc(a->m_fences, (const char *[]){"order"},
					 1);
		}
	}
	json_decref(o);
	baton_log_kv(BATON_LOG_INFO, COMPONENT,
		     json_pack("{s:s,s:I,s:I,s:s}", "action", ord->action,
			       "epoch", (json_int_t)epoch, "leaseMillis",
			       lease_ms, "from",
			       req->peer[0] ? req->peer : req->remote),
		     "order accepted");
	enqueue(a, ord);
}

/* ---- lifecycle
 * ---------------------------------------------------------------- */

static int add_metrics(struct baton_agent *a)
{
	static const char *order_labels[] = {"action", "result", NULL};
	static const char *op_labels[] = {"operation", NULL};
	static const char *reason_labels[] = {"reason", NULL};
	static const double buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5,
					 1,    2.5,  5,	  10,	30};

	baton_metrics_init(&a->metrics);
	a->m_orders = baton_metrics_add(
	    &a->metrics, BATON_METRIC_COUNTER, "baton_agent_orders_total",
	    "Orders received, by action and result.", order_labels, NULL, 0);
	a->m_epoch = baton_metrics_add(&a->metrics, BATON_METRIC_GAUGE,
				       "baton_agent_epoch",
				       "Highest epoch seen.", NULL, NULL, 0);
	a->m_lease =
	    baton_metrics_add(&a->metrics, BATON_METRIC_GAUGE,
			      "baton_agent_lease_remaining_seconds",
			      "Lease left; 0 means fenced.", NULL, NULL, 0);
	a->m_writable = baton_metrics_add(
	    &a->metrics, BATON_METRIC_GAUGE, "baton_agent_writable",
	    "1 when the instance accepts writes.", NULL, NULL, 0);
	a->m_lag = baton_metrics_add(&a->metrics, BATON_METRIC_GAUGE,
				     "baton_agent_replication_lag_bytes",
				     "Received minus replayed WAL (replica).",
				     NULL, NULL, 0);
	a->m_fences = baton_metrics_add(
	    &a->metrics, BATON_METRIC_COUNTER, "baton_agent_fences_total",
	    "Fences, by reason.", reason_labels, NULL, 0);
	a->m_op_seconds =
	    baton_metrics_add(&a->metrics, BATON_METRIC_HISTOGRAM,
			      "baton_agent_engine_operation_seconds",
			      "Engine operation duration.", op_labels, buckets,
			      sizeof buckets / sizeof buckets[0]);
	if (!a->m_orders || !a->m_epoch || !a->m_lease || !a->m_writable ||
	    !a->m_lag || !a->m_fences || !a->m_op_seconds) {
		baton_metrics_free(&a->metrics);
		return BATON_ENOMEM;
	}
	return 0;
}

int baton_agent_init(uv_loop_t *loop, struct baton_agent *a,
		     const struct baton_agent_config *cfg,
		     struct baton_engine *engine)
{
	struct baton_http_config hcfg = {.tls = cfg->tls,
					 .max_body_bytes = 64 * 1024};
	struct agent_order *boot;
	int rv;

	memset(a, 0, sizeof *a);
	a->loop = loop;
	a->cfg = *cfg;
	a->engine = engine;
	if (a->cfg.lease_margin_ms == 0) {
		a->cfg.lease_margin_ms = 1000;
	}
	if (a->cfg.status_interval_ms == 0) {
		a->cfg.status_interval_ms = 1000;
	}
	if (a->cfg.pod_name == NULL) {
		a->cfg.pod_name = "";
	}
	if (a->cfg.pod_namespace == NULL) {
		a->cfg.pod_namespace = "";
	}
	if (a->cfg.region == NULL) {
		a->cfg.region = "";
	}
	a->st.role = BATON_ROLE_UNKNOWN;
	a->st.lag_bytes = -1;
	rv = load_epoch(a);
	if (rv != 0) {
		return rv;
	}
	rv = add_metrics(a);
	if (rv != 0) {
		return rv;
	}
	rv = baton_http_server_init(loop, &a->http, &hcfg);
	if (rv != 0) {
		baton_errmsg_printf(a->errmsg, "%s", a->http.errmsg);
		goto err_after_metrics;
	}
	a->http.data = a;
	if (baton_http_route(&a->http, "GET", "/healthz", healthz_cb, a) ||
	    baton_http_route(&a->http, "GET", "/readyz", readyz_cb, a) ||
	    baton_http_route(&a->http, "GET", "/metrics", metrics_cb, a) ||
	    baton_http_route(&a->http, "GET", "/v1/status", status_cb, a) ||
	    baton_http_route(&a->http, "POST", "/v1/order", order_cb, a)) {
		rv = BATON_EINTERNAL;
		goto err_after_metrics;
	}
	rv = baton_http_server_listen(
	    &a->http, cfg->listen_host ? cfg->listen_host : "127.0.0.1",
	    cfg->listen_port);
	if (rv != 0) {
		baton_errmsg_printf(a->errmsg, "%s", a->http.errmsg);
		baton_http_server_close(&a->http, NULL);
		goto err_after_metrics;
	}
	uv_timer_init(loop, &a->lease_timer);
	uv_timer_init(loop, &a->poll_timer);
	a->lease_timer.data = a->poll_timer.data = a;
	uv_timer_start(&a->poll_timer, poll_cb, a->cfg.status_interval_ms,
		       a->cfg.status_interval_ms);

	/* boot: init or start, then fence (rule 1: start fenced) */
	a->booting = true;
	boot = calloc(1, sizeof *boot);
	if (boot == NULL) {
		rv = BATON_ENOMEM;
		goto err_after_metrics;
	}
	boot->action = "boot";
	if (cfg->init_role != NULL && strcmp(cfg->init_role, "primary") == 0) {
		boot->op = BATON_ENGINE_INIT_PRIMARY;
	} else if (cfg->init_role != NULL &&
		   strcmp(cfg->init_role, "replica") == 0) {
		boot->op = BATON_ENGINE_INIT_REPLICA;
		snprintf(boot->host, sizeof boot->host, "%s",
			 cfg->init_primary_host ? cfg->init_primary_host : "");
		boot->port = cfg->init_primary_port;
	} else {
		boot->op = BATON_ENGINE_START;
	}
	enqueue(a, boot);
	boot = calloc(1, sizeof *boot);
	if (boot != NULL) {
		boot->action = "boot";
		boot->op = BATON_ENGINE_FENCE;
		enqueue(a, boot);
	}
	baton_log_kv(BATON_LOG_INFO, COMPONENT,
		     json_pack("{s:s,s:s,s:s,s:i,s:i}", "pod", a->cfg.pod_name,
			       "namespace", a->cfg.pod_namespace, "region",
			       a->cfg.region, "port", baton_agent_port(a),
			       "leaseMarginMs", (int)a->cfg.lease_margin_ms),
		     "agent started: instance stays fenced until a lease");
	return 0;

err_after_metrics:
	baton_metrics_free(&a->metrics);
	return rv;
}

int baton_agent_port(const struct baton_agent *a)
{
	return baton_http_server_port(&a->http);
}

static void one_closed(struct baton_agent *a)
{
	if (--a->open_handles == 0) {
		baton_metrics_free(&a->metrics);
		if (a->close_cb) {
			a->close_cb(a);
		}
	}
}

static void handle_closed_cb(uv_handle_t *h)
{
	one_closed(h->data);
}

static void http_closed_cb(struct baton_http_server *srv)
{
	one_closed(srv->data);
}

static void finish_close(struct baton_agent *a)
{
	if (a->busy || a->open_handles > 0) {
		return;
	}
	/* never leave a writable instance behind an exiting agent */
	if (!a->fenced && a->st.running) {
		a->lease_valid = false;
		run_op(a, NULL, BATON_ENGINE_FENCE);
		a->fenced = true; /* one attempt; op_done_cb calls us again */
		return;
	}
	a->open_handles = 3;
	uv_close((uv_handle_t *)&a->lease_timer, handle_closed_cb);
	uv_close((uv_handle_t *)&a->poll_timer, handle_closed_cb);
	baton_http_server_close(&a->http, http_closed_cb);
}

void baton_agent_close(struct baton_agent *a, void (*cb)(struct baton_agent *a))
{
	struct agent_order *o;

	a->closing = true;
	a->close_cb = cb;
	uv_timer_stop(&a->lease_timer);
	uv_timer_stop(&a->poll_timer);
	while ((o = a->queue_head) != NULL) {
		a->queue_head = o->next;
		if (o->http != NULL) {
			baton_http_respond_error(o->http, 503,
						 "agent is shutting down");
		}
		free(o);
	}
	a->queue_tail = NULL;
	finish_close(a);
}
