/* baton-agent core: see agent.h for the safety rules.
 *
 * Happy path: boot (start or init the instance -> fence -> status ->
 * ready), then batond's orders arrive on POST /v1/order; each one is checked
 * (JSON, epoch), its lease part applied at once on the loop, and its engine
 * part queued. Boot with no instance and no init_role: the agent waits,
 * not ready, for an init order; that order runs init_primary or
 * init_replica, then the boot fence, and is answered once the agent is
 * ready (a failed init is answered with the engine's message and leaves
 * the agent waiting: the engine has emptied the data directory again). One
 * engine operation runs at a time on the threadpool; after each one reconcile()
 * decides what runs next:
 *   1. no valid lease and not known fenced -> fence (before anything else);
 *   2. queued orders, in arrival order;
 *   3. valid lease, primary, fenced -> unfence.
 * A poll timer refreshes the status every status_interval_ms when idle.
 *
 * Failure paths: an order that fails is answered with the engine's message
 * (409 for a lagging replica, 500 otherwise) and the agent stays fenced. A
 * fence that fails is retried on every poll (the engine already stopped the
 * server if it could not confirm read-only). A boot that fails (start or
 * boot fence) leaves the agent unready and is done again after a doubling
 * backoff (queue_boot, boot_failed). Cancel path: closing answers
 * queued orders with 503, waits for the running operation, fences, then
 * closes the HTTP server and the timers.
 */
#include "agent/agent.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/version.h"

#define COMPONENT "agent"

struct agent_order {
	struct agent_order *next;
	enum baton_engine_op op;
	bool init; /* an init order: INIT_*, then the boot fence */
	const char *action;
	uint64_t epoch;
	uint64_t ref_lsn;
	char host[256];
	int port;
	/* standbys, promote: the list to set first; gen: standbys' */
	bool with_sync;
	unsigned n_sync;
	char sync[BATON_ENGINE_MAX_STANDBYS][BATON_ENGINE_NAME_SIZE];
	uint64_t gen;
	struct baton_http_request *http; /* answered when done; or NULL */
};

static void reconcile(struct baton_agent *a);
static void boot_failed(struct baton_agent *a);
static void finish_close(struct baton_agent *a);
static int set_primary_epoch(struct baton_agent *a, uint64_t epoch);

/* lease times: CLOCK_BOOTTIME (common/clock.h), so a suspend cannot
 * stretch the lease; the loop's timers only wake it up (its time is
 * brought up to date too, so a timer armed from here counts from now) */
static uint64_t now_ms(struct baton_agent *a)
{
	uv_update_time(a->loop);
	return baton_lease_clock_ms();
}

uint64_t baton_agent_lease_remaining(struct baton_agent *a)
{
	uint64_t now = now_ms(a);
	if (!a->lease.valid || now >= a->lease.deadline) {
		return 0;
	}
	return a->lease.deadline - now;
}

/* Writable as clients find it: the engine unfenced *and* a lease that has
 * not ended by the clock. The engine's flag alone is what the last status
 * read saw; after a stop (SIGSTOP, a starved loop) it stays true until the
 * fence the expired lease queues has run, while PostgreSQL already refuses
 * every write by the same clock (baton_lease). */
static bool writable_now(struct baton_agent *a)
{
	return a->st.writable && baton_agent_lease_remaining(a) > 0;
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
	case BATON_ENGINE_DETACH:
		return "detach";
	case BATON_ENGINE_CASCADE:
		return "cascade";
	case BATON_ENGINE_SET_SYNC_NAMES:
		return "set-sync-names";
	}
	return "?";
}

static void lsn_text(uint64_t lsn, char *buf, size_t n)
{
	snprintf(buf, n, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

/* Why /readyz says 503, or NULL when ready. */
static const char *not_ready_reason(const struct baton_agent *a)
{
	if (a->closing) {
		return "shutting down";
	}
	if (a->failed) {
		return "failed: see lastError in /v1/status";
	}
	if (a->ready) {
		return NULL;
	}
	if (a->initializing) {
		return "initializing the instance (init order)";
	}
	if (!a->booting && !a->initialized) {
		return "waiting for an init order from batond";
	}
	return "booting";
}

static json_t *names_json(const char (*names)[BATON_ENGINE_NAME_SIZE],
			  unsigned n)
{
	json_t *arr = json_array();
	for (unsigned i = 0; arr != NULL && i < n; i++) {
		if (json_array_append_new(arr, json_string(names[i])) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* role: "none" while the data directory holds no instance, "unknown"
 * while booting; else the engine's (primary, replica, stopped, unknown).
 * position: the WAL position as a byte count, (hi << 32) | lo: on a
 * primary pg_current_wal_lsn(), on a replica the last received (flushed)
 * LSN, else the last replayed one; 0 when unknown. */
static json_t *status_json_base(struct baton_agent *a);

/* The synchronous list in force ({gen, names}), or NULL before any
 * standbys order or persisted list (the boot default, --sync-names). */
static json_t *sync_config_json(const struct baton_agent *a)
{
	if (!a->sync_set) {
		return NULL;
	}
	return json_pack(
	    "{s:I,s:o}", "gen", (json_int_t)a->sync_gen, "names",
	    names_json((const char(*)[BATON_ENGINE_NAME_SIZE])a->sync,
		       a->n_sync));
}

static json_t *status_json(struct baton_agent *a)
{
	json_t *st = status_json_base(a);

	if (st == NULL) {
		return NULL;
	}
	json_object_set_new(st, "version", json_string(BATON_VERSION));
	json_object_set_new(st, "primaryEpoch",
			    json_integer((json_int_t)a->lease.primary_epoch));
	json_object_set_new(st, "leaseMarginMillis",
			    json_integer((json_int_t)a->lease.margin_ms));
	json_object_set_new(st, "detached", json_boolean(a->detached));
	if (a->sync_set) {
		json_object_set_new(st, "syncConfig", sync_config_json(a));
	}
	{
		json_t *flush = json_object();
		for (unsigned i = 0; flush != NULL && i < a->st.n_standby_names;
		     i++) {
			json_object_set_new(
			    flush, a->st.standby_names[i],
			    json_integer((json_int_t)a->st.standby_flush[i]));
		}
		json_object_set_new(st, "standbyFlushPositions", flush);
	}
	if (a->detached) {
		json_object_set_new(st, "finalPosition",
				    json_integer((json_int_t)a->detached_lsn));
	}
	if (a->asker_started) {
		json_object_set_new(
		    st, "leaseAsks",
		    json_pack("{s:I,s:I,s:I,s:I,s:i,s:s?}", "asked",
			      (json_int_t)a->asker.asked, "answered",
			      (json_int_t)a->asker.answered, "failed",
			      (json_int_t)a->asker.failed, "rttMillis",
			      (json_int_t)a->asker.rtt_ms, "askEveryMillis",
			      (int)a->asker.ask_ms, "lastError",
			      a->asker.errmsg[0] ? a->asker.errmsg : NULL));
	}
	return st;
}

static json_t *status_json_base(struct baton_agent *a)
{
	char lsn[32], replay[32];
	const char *health = a->failed			? "failed"
			     : a->last_error[0] != '\0' ? "degraded"
							: "ok";
	const char *role = a->booting ? "unknown"
			   : !a->initialized
			       ? "none"
			       : baton_engine_role_name(a->st.role);

	lsn_text(a->st.lsn, lsn, sizeof lsn);
	lsn_text(a->st.replay_lsn, replay, sizeof replay);
	return json_pack(
	    "{s:s,s:s,s:s,s:s,s:b,s:s,s:I,s:b,s:I,s:b,s:b,s:b,s:b,s:s?,s:I,"
	    "s:s,s:s,s:I,s:i,s:o,s:o,s:i,s:i,s:b,s:s?,s:s,s:s?,s:s?}",
	    "pod", a->cfg.pod_name, "namespace", a->cfg.pod_namespace, "region",
	    a->cfg.region, "name", a->cfg.name, "initialized", a->initialized,
	    "role", role, "epoch", (json_int_t)a->lease.epoch, "leaseValid",
	    a->lease.valid && baton_agent_lease_remaining(a) > 0,
	    "leaseRemainingMillis", (json_int_t)baton_agent_lease_remaining(a),
	    "writable", writable_now(a), "fenced", a->fenced, "running",
	    a->st.running, "ready", a->ready && !a->failed, "reason",
	    not_ready_reason(a), "position", (json_int_t)a->st.lsn, "lsn", lsn,
	    "replayLsn", replay, "lagBytes", (json_int_t)a->st.lag_bytes,
	    "timeline", (int)a->st.timeline, "standbys",
	    names_json(
		(const char(*)[BATON_ENGINE_NAME_SIZE])a->st.standby_names,
		a->st.n_standby_names),
	    "syncStandbys",
	    names_json((const char(*)[BATON_ENGINE_NAME_SIZE])a->st.sync_names,
		       a->st.n_sync_names),
	    "standbyCount", (int)a->st.standbys, "syncStandbyCount",
	    (int)a->st.sync_standbys, "busy", a->busy, "operation",
	    a->busy ? op_name(a->req.op) : NULL, "health", health, "lastError",
	    a->last_error[0] ? a->last_error : NULL, "upstream",
	    a->st.upstream[0] ? a->st.upstream : NULL);
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

/* Tells PostgreSQL (the baton_lease module) until when it may commit
 * writes: the agent's deadline on CLOCK_BOOTTIME, or fenced. Called on
 * every change of the lease, before anything else acts on it. */
static void publish_lease(struct baton_agent *a)
{
	if (a->lease_file.fd < 0) {
		return;
	}
	baton_leasefile_set(&a->lease_file, a->lease.epoch,
			    baton_agent_lease_file_ns(&a->lease, now_ms(a)));
}

static void lease_expired_cb(uv_timer_t *t)
{
	struct baton_agent *a = t->data;

	if (!a->lease.valid) {
		return;
	}
	a->lease.valid = false;
	publish_lease(a);
	baton_log_kv(BATON_LOG_WARN, COMPONENT,
		     json_pack("{s:I}", "epoch", (json_int_t)a->lease.epoch),
		     "lease expired: fencing the instance");
	baton_metric_inc(a->m_fences, (const char *[]){"lease-expired"}, 1);
	reconcile(a);
}

/* Rule 2: every order that drops the lease also moves the generation on,
 * so that an answer to a question asked before it is thrown away. */
static void drop_lease(struct baton_agent *a)
{
	a->lease.gen++;
	a->lease.valid = false;
	publish_lease(a);
	uv_timer_stop(&a->lease_timer);
}

static uint64_t asker_now(struct baton_lease_asker *k)
{
	return now_ms(k->data);
}

static uint64_t asker_gen(struct baton_lease_asker *k)
{
	return ((struct baton_agent *)k->data)->lease.gen;
}

static uint64_t asker_epoch(struct baton_lease_asker *k)
{
	return ((struct baton_agent *)k->data)->lease.epoch;
}

/* Every question names the list in force, null for none: batond's gate
 * judges it rather than the list of its last poll, which a restart could
 * have changed since (design-per-instance.md §9 note 22). */
static json_t *asker_sync(struct baton_lease_asker *k)
{
	json_t *sc = sync_config_json(k->data);

	return sc != NULL ? sc : json_null();
}

static void asker_cb(struct baton_lease_asker *k,
		     const struct baton_lease_answer *ans, int status)
{
	struct baton_agent *a = k->data;

	if (status != 0) {
		baton_metric_inc(a->m_asks, (const char *[]){"failed"}, 1);
		if (k->failed == 1 || k->failed % 50 == 0) {
			baton_log_kv(BATON_LOG_WARN, COMPONENT,
				     json_pack("{s:I}", "failures",
					       (json_int_t)k->failed),
				     "cannot ask batond for the lease: %s",
				     k->errmsg);
		}
		return;
	}
	baton_agent_lease_answered(a, ans);
}

void baton_agent_lease_answered(struct baton_agent *a,
				const struct baton_lease_answer *ans)
{
	uint64_t now = now_ms(a);
	enum baton_grant_verdict v;

	baton_metric_observe(a->m_ask_seconds, NULL,
			     (double)(now - ans->sent_ms) / 1000.0);
	if (ans->epoch > a->batond_epoch) {
		a->batond_epoch = ans->epoch;
	}
	v = baton_agent_lease_apply(&a->lease, ans, now);
	baton_metric_inc(a->m_asks,
			 (const char *[]){baton_grant_verdict_name(v)}, 1);
	switch (v) {
	case BATON_GRANT_EXTENDED:
		publish_lease(a);
		uv_timer_start(&a->lease_timer, lease_expired_cb,
			       a->lease.deadline - now, 0);
		if (a->fenced) {
			reconcile(a); /* may unfence */
		}
		break;
	case BATON_GRANT_REVOKED:
		publish_lease(a);
		uv_timer_stop(&a->lease_timer);
		baton_log_kv(
		    BATON_LOG_WARN, COMPONENT,
		    json_pack("{s:I}", "epoch", (json_int_t)a->lease.epoch),
		    "batond revoked the lease: fencing the instance");
		baton_metric_inc(a->m_fences, (const char *[]){"revoked"}, 1);
		reconcile(a);
		break;
	default:
		break;
	}
}

/* ---- epoch persistence ------------------------------------------------------
 */

/* "EPOCH PRIMARY_EPOCH[ GEN[ NAME,NAME...]]\n": the highest epoch seen,
 * the epoch this instance became primary at (0: it is not one) and, once
 * a standbys order set one, the synchronous list and its generation
 * (format 3; "GEN" alone is an empty list). Formats 1 (the epoch alone)
 * and 2 load as no list set. */
#define STATE_TEXT_SIZE                                                        \
	(128 + BATON_ENGINE_MAX_STANDBYS * BATON_ENGINE_NAME_SIZE)

static int save_epoch(struct baton_agent *a, uint64_t epoch,
		      uint64_t primary_epoch)
{
	char tmp[1024];
	char text[STATE_TEXT_SIZE];
	int fd, n;

	if (a->cfg.state_file == NULL) {
		return 0;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", a->cfg.state_file);
	n = snprintf(text, sizeof text, "%" PRIu64 " %" PRIu64, epoch,
		     primary_epoch);
	if (a->sync_set) {
		n += snprintf(text + n, sizeof text - (size_t)n, " %" PRIu64,
			      a->sync_gen);
		for (unsigned i = 0; i < a->n_sync; i++) {
			n += snprintf(text + n, sizeof text - (size_t)n, "%s%s",
				      i ? "," : " ", a->sync[i]);
		}
	}
	n += snprintf(text + n, sizeof text - (size_t)n, "\n");
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

/* Format 3's list: "NAME,NAME..." up to the end of the line. */
static int load_sync_names(struct baton_agent *a, const char *p)
{
	size_t len = strcspn(p, "\n");

	a->n_sync = 0;
	while (len > 0) {
		size_t k = strcspn(p, ",\n");
		if (a->n_sync == BATON_ENGINE_MAX_STANDBYS ||
		    k >= BATON_ENGINE_NAME_SIZE) {
			return BATON_EPARSE;
		}
		memcpy(a->sync[a->n_sync], p, k);
		a->sync[a->n_sync][k] = '\0';
		if (!baton_engine_standby_name_valid(a->sync[a->n_sync])) {
			return BATON_EPARSE;
		}
		a->n_sync++;
		p += k;
		len -= k;
		if (len > 0) { /* the comma; a trailing one leaves "" */
			p++;
			len--;
			if (len == 0) {
				return BATON_EPARSE;
			}
		}
	}
	return 0;
}

static int load_epoch(struct baton_agent *a)
{
	char text[STATE_TEXT_SIZE] = "";
	unsigned long long v, pv = 0;
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
	v = strtoull(text, &end, 10);
	if (errno == 0 && end != text && *end == ' ') {
		/* format 2; format 1 had the epoch alone */
		const char *p = end + 1;
		pv = strtoull(p, &end, 10);
		if (end == p || pv > v) {
			errno = EINVAL;
		}
	}
	if (errno == 0 && *end == ' ') {
		/* format 3: the synchronous list */
		const char *p = end + 1;
		a->sync_gen = strtoull(p, &end, 10);
		if (end == p || !isdigit((unsigned char)*p)) {
			errno = EINVAL;
		} else if (*end == ' ') {
			if (load_sync_names(a, end + 1) != 0) {
				errno = EINVAL;
			}
			end += 1 + strcspn(end + 1, "\n");
		}
		a->sync_set = errno == 0;
		a->sync_gen_seen = a->sync_gen;
	}
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0')) {
		baton_errmsg_printf(a->errmsg, "%s is corrupt: '%s'",
				    a->cfg.state_file, text);
		return BATON_EPARSE;
	}
	a->lease.epoch = v;
	a->lease.primary_epoch = pv;
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
	case BATON_EEXIST:
		return 409;
	case BATON_ESHUTDOWN:
	case BATON_ECANCELED:
		return 503;
	default:
		return 500;
	}
}

static void push_front(struct baton_agent *a, struct agent_order *o)
{
	o->next = a->queue_head;
	a->queue_head = o;
	if (a->queue_tail == NULL) {
		a->queue_tail = o;
	}
}

/* Boot found no instance and no init_role was given: every pod of a region
 * runs the same flags, so batond says what this one becomes (init order).
 * Nothing runs, so nothing accepts writes: fenced. */
static void wait_for_init(struct baton_agent *a, const char *why)
{
	a->booting = false;
	a->initialized = false;
	a->fenced = true;
	a->last_error[0] = '\0';
	/* the boot fence queued behind the start has nothing to fence */
	while (a->queue_head != NULL && a->queue_head->http == NULL &&
	       strcmp(a->queue_head->action, "boot") == 0) {
		struct agent_order *o = a->queue_head;
		a->queue_head = o->next;
		free(o);
	}
	if (a->queue_head == NULL) {
		a->queue_tail = NULL;
	}
	baton_log_kv(BATON_LOG_INFO, COMPONENT,
		     json_pack("{s:s}", "detail", why),
		     "no instance in the data directory: waiting for an init "
		     "order from batond");
}

/* Rule 2: the lease ends early enough for a fence to finish by the end
 * of the grant. The margin is the configured one or the slowest of the
 * last eight fences, whichever is longer (a loaded machine fences
 * slower; the margin follows). */
static void note_fence_time(struct baton_agent *a, unsigned ms)
{
	unsigned worst = a->cfg.lease_margin_ms;

	if (a->lease_file.fd >= 0) {
		return; /* PostgreSQL enforces the deadline itself */
	}
	a->fence_ms[a->fence_next++ % 8] = ms;
	for (unsigned i = 0; i < 8; i++) {
		if (a->fence_ms[i] > worst) {
			worst = a->fence_ms[i];
		}
	}
	a->lease.margin_ms = worst;
}

/* A list the engine applied: the agent's (and, persisted, the next
 * boot's). A state file that cannot be written keeps the list in memory
 * and says so: batond sends it again. */
static void note_sync_names(struct baton_agent *a, const struct agent_order *o,
			    uint64_t x)
{
	a->sync_set = true;
	a->n_sync = o->n_sync;
	memcpy(a->sync, o->sync, sizeof a->sync);
	if (o->op == BATON_ENGINE_SET_SYNC_NAMES) {
		a->sync_gen = o->gen;
		a->sync_flush_lsn = x;
	}
	if (save_epoch(a, a->lease.epoch, a->lease.primary_epoch) != 0) {
		BATON_ERROR(COMPONENT, "%s", a->errmsg);
	}
}

/* The answer to a standbys order: the status, plus X (flushPosition,
 * flushLsn: 0 and "" on a replica, which only records the list). */
static json_t *standbys_answer(struct baton_agent *a, uint64_t x)
{
	json_t *st = status_json(a);
	char lsn[32];

	if (st == NULL) {
		return NULL;
	}
	lsn_text(x, lsn, sizeof lsn);
	json_object_set_new(st, "gen", json_integer((json_int_t)a->sync_gen));
	json_object_set_new(st, "flushPosition", json_integer((json_int_t)x));
	json_object_set_new(st, "flushLsn", json_string(x ? lsn : ""));
	return st;
}

static void op_done_cb(struct baton_engine_req *req, int status)
{
	struct baton_agent *a = req->data;
	struct agent_order *o = a->current;
	double secs = (double)(now_ms(a) - a->op_started) / 1000.0;
	enum baton_engine_op op = req->op;
	bool is_init =
	    op == BATON_ENGINE_INIT_PRIMARY || op == BATON_ENGINE_INIT_REPLICA;

	a->busy = false;
	a->current = NULL;
	a->st = req->st;
	baton_metric_observe(a->m_op_seconds, (const char *[]){op_name(op)},
			     secs);
	if (op == BATON_ENGINE_FENCE && status == 0) {
		note_fence_time(a, (unsigned)(secs * 1000.0) + 1);
	}
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
	/* Never believe "fenced" while the engine says writable (a promote of
	 * an instance that is already an unfenced primary changes nothing):
	 * rule 1 then fences it as soon as no lease covers it. */
	if (a->st.writable) {
		a->fenced = false;
	}
	if (status == 0 && (op == BATON_ENGINE_START || is_init)) {
		a->initialized = true;
	}
	if (status == 0 && o != NULL && o->with_sync &&
	    (op == BATON_ENGINE_SET_SYNC_NAMES || op == BATON_ENGINE_PROMOTE)) {
		note_sync_names(a, o, req->final_lsn);
	}
	if (status == 0 && op == BATON_ENGINE_DETACH) {
		a->detached = true;
		a->detached_lsn = req->final_lsn;
	} else if (status == 0 &&
		   (op == BATON_ENGINE_REJOIN || op == BATON_ENGINE_PROMOTE ||
		    op == BATON_ENGINE_CASCADE || is_init ||
		    op == BATON_ENGINE_START)) {
		/* streams again, or is the primary; a replica that booted
		 * without a primary to stream from was detached before */
		a->detached = a->st.role == BATON_ROLE_REPLICA &&
			      a->st.upstream[0] == '\0';
	}
	/* A promote (or the first primary's init) at epoch E: from now on
	 * a grant at E may make the instance writable; ask at once. */
	if (status == 0 && o != NULL && o->http != NULL &&
	    (op == BATON_ENGINE_PROMOTE || op == BATON_ENGINE_INIT_PRIMARY) &&
	    o->epoch == a->lease.epoch && set_primary_epoch(a, o->epoch) == 0 &&
	    a->asker_started) {
		baton_lease_asker_kick(&a->asker);
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
	if (a->booting && status == BATON_EEXIST && is_init) {
		status = 0;
		struct agent_order *s = calloc(1, sizeof *s);
		if (s != NULL) {
			s->op = BATON_ENGINE_START;
			s->action = "start";
			push_front(a, s);
		}
	}
	if (a->booting && op == BATON_ENGINE_START) {
		if (status == BATON_ENOTFOUND && a->cfg.init_role == NULL) {
			wait_for_init(a, req->errmsg);
			status = 0;
		} else if (status != 0) {
			a->initialized = true; /* there, but will not start */
		}
	}
	if (a->booting && status != 0 && op != BATON_ENGINE_STATUS) {
		boot_failed(a); /* not ready; tried again after a backoff */
	}
	if (a->booting && op == BATON_ENGINE_FENCE && status == 0 &&
	    !a->failed) {
		a->booting = false;
		a->ready = true;
		a->boot_tries = 0;
		a->boot_retry_ms = 0;
		baton_log_kv(BATON_LOG_INFO, COMPONENT,
			     json_pack("{s:s}", "role",
				       baton_engine_role_name(a->st.role)),
			     "boot done: instance fenced, waiting for a lease");
	}
	if (o != NULL && o->init) {
		if (is_init && status == 0 && !a->closing) {
			/* rule 1: the boot fence comes before ready, and
			 * before the answer */
			o->op = BATON_ENGINE_FENCE;
			push_front(a, o);
			reconcile(a);
			return;
		}
		a->initializing = false;
		if (op == BATON_ENGINE_FENCE && status == 0) {
			a->ready = true;
			a->failed = false;
			baton_log_kv(
			    BATON_LOG_INFO, COMPONENT,
			    json_pack("{s:s}", "role",
				      baton_engine_role_name(a->st.role)),
			    "init done: instance fenced, waiting for "
			    "a lease");
		} else if (op == BATON_ENGINE_FENCE) {
			a->failed = true; /* created, but not known read-only */
		}
	}
	if (o != NULL) {
		if (o->http != NULL) {
			if (status == 0 && op == BATON_ENGINE_SET_SYNC_NAMES) {
				respond_json(
				    o->http, 200,
				    standbys_answer(a, req->final_lsn));
			} else if (status == 0) {
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
	if (o != NULL && o->with_sync) {
		a->req.with_sync_names = true;
		a->req.n_sync_names = o->n_sync;
		memcpy(a->req.sync_names, o->sync, sizeof a->req.sync_names);
	} else if (op == BATON_ENGINE_START && a->sync_set) {
		/* the persisted list, not the boot default */
		a->req.with_sync_names = true;
		a->req.n_sync_names = a->n_sync;
		memcpy(a->req.sync_names, a->sync, sizeof a->req.sync_names);
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

/* The first queued order, taken off the queue (the queue is not empty). */
static struct agent_order *dequeue(struct baton_agent *a)
{
	struct agent_order *o = a->queue_head;
	a->queue_head = o->next;
	if (a->queue_head == NULL) {
		a->queue_tail = NULL;
	}
	return o;
}

static void reconcile(struct baton_agent *a)
{
	if (a->busy) {
		return;
	}
	/* rule 1 first: nothing runs before a due fence */
	if (a->lease.valid && now_ms(a) >= a->lease.deadline) {
		a->lease.valid = false;
		publish_lease(a);
	}
	if (!a->lease.valid && !a->fenced && !a->booting &&
	    (a->st.running || a->st.role == BATON_ROLE_UNKNOWN)) {
		/* A fence order first in line (it dropped the lease: this is
		 * its fence) is answered by this very fence; running it again
		 * after cost a switchover ~0.5 s on a loaded lab. */
		struct agent_order *o = a->queue_head;
		run_op(a,
		       o != NULL && o->op == BATON_ENGINE_FENCE ? dequeue(a)
								: NULL,
		       BATON_ENGINE_FENCE);
		return;
	}
	if (a->queue_head != NULL) {
		struct agent_order *o = dequeue(a);
		run_op(a, o, o->op);
		return;
	}
	if (a->lease.valid && a->fenced && a->ready &&
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

/* Boot: init (init_role) or start, then the boot fence (rule 1: start
 * fenced). At start-up, and again after a boot that failed: a start can
 * fail for reasons that pass (the pod's address not up yet, a stale lock
 * of a killed postmaster, a full disk freed since), and on a real kubelet
 * nothing else would try again (the liveness probe answers while the
 * agent runs), so the pod stayed unready with a stopped instance until a
 * human deleted it. A retry is the very boot the agent does at start-up:
 * the instance starts fenced, and nothing is ready before its fence. */
static int queue_boot(struct baton_agent *a)
{
	const struct baton_agent_config *cfg = &a->cfg;
	struct agent_order *start = calloc(1, sizeof *start);
	struct agent_order *fence = calloc(1, sizeof *fence);

	if (start == NULL || fence == NULL) {
		free(start);
		free(fence);
		return BATON_ENOMEM;
	}
	a->booting = true;
	a->failed = false;
	start->action = "boot";
	if (cfg->init_role != NULL && strcmp(cfg->init_role, "primary") == 0) {
		start->op = BATON_ENGINE_INIT_PRIMARY;
	} else if (cfg->init_role != NULL &&
		   strcmp(cfg->init_role, "replica") == 0) {
		start->op = BATON_ENGINE_INIT_REPLICA;
		snprintf(start->host, sizeof start->host, "%s",
			 cfg->init_primary_host ? cfg->init_primary_host : "");
		start->port = cfg->init_primary_port;
	} else {
		start->op = BATON_ENGINE_START;
	}
	fence->action = "boot";
	fence->op = BATON_ENGINE_FENCE;
	enqueue(a, start);
	enqueue(a, fence);
	return 0;
}

/* A boot step failed: not ready, and the next boot after a backoff
 * (boot_retry_ms, doubling up to BATON_AGENT_BOOT_RETRY_MAX_MS). */
static void boot_failed(struct baton_agent *a)
{
	unsigned first = a->cfg.boot_retry_ms ? a->cfg.boot_retry_ms : 1000;

	if (a->failed) {
		return; /* the boot fence after a failed start: one failure */
	}
	a->failed = true;
	a->boot_tries++;
	snprintf(a->boot_error, sizeof a->boot_error, "%s", a->last_error);
	a->boot_retry_ms = a->boot_retry_ms == 0 ? first : a->boot_retry_ms * 2;
	if (a->boot_retry_ms > BATON_AGENT_BOOT_RETRY_MAX_MS) {
		a->boot_retry_ms = BATON_AGENT_BOOT_RETRY_MAX_MS;
	}
	a->boot_retry_at = now_ms(a) + a->boot_retry_ms;
	baton_log_kv(BATON_LOG_WARN, COMPONENT,
		     json_pack("{s:s,s:i,s:i}", "error", a->last_error, "try",
			       (int)a->boot_tries, "retryInMs",
			       (int)a->boot_retry_ms),
		     "boot failed: not ready; trying again");
}

static void poll_cb(uv_timer_t *t)
{
	struct baton_agent *a = t->data;
	if (a->busy || a->closing) {
		return;
	}
	if (a->booting && a->failed && a->queue_head == NULL &&
	    !a->initializing && now_ms(a) >= a->boot_retry_at) {
		baton_log_kv(BATON_LOG_INFO, COMPONENT,
			     json_pack("{s:i}", "try", (int)a->boot_tries + 1),
			     "boot: trying again");
		if (queue_boot(a) == 0) {
			return;
		}
	}
	if (a->queue_head == NULL && (a->lease.valid || a->fenced)) {
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
	const char *why = not_ready_reason(a);
	char text[128];
	int n;

	if (why == NULL) {
		baton_http_respond(req, 200, "text/plain", "ready\n", 6, NULL);
		return;
	}
	n = snprintf(text, sizeof text, "%s\n", why);
	baton_http_respond(req, 503, "text/plain", text, (size_t)n, NULL);
}

static void metrics_cb(struct baton_http_request *req, void *data)
{
	struct baton_agent *a = data;
	char *text;
	size_t len;

	baton_metric_set(a->m_epoch, NULL, (double)a->lease.epoch);
	baton_metric_set(a->m_lease, NULL,
			 (double)baton_agent_lease_remaining(a) / 1000.0);
	baton_metric_set(a->m_writable, NULL, writable_now(a) ? 1 : 0);
	baton_metric_set(a->m_lag, NULL, (double)a->st.lag_bytes);
	baton_procmetrics_update(&a->procm);
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
			       "highestEpoch", (json_int_t)a->lease.epoch),
		     "order refused: %s", msg);
	baton_metric_inc(
	    a->m_orders,
	    (const char *[]){action ? action : "invalid", "refused"}, 1);
	baton_http_respond_error(req, code, msg);
}

/* ---- order parsing ---------------------------------------------------------
 */

/* A host name or an IP address: it goes into a conninfo unquoted, so
 * nothing that could start another keyword (blanks, quotes, '='). */
static bool valid_host(const char *h)
{
	if (h == NULL || h[0] == '\0') {
		return false;
	}
	for (; *h != '\0'; h++) {
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || strchr(".-_:%[]", *h))) {
			return false;
		}
	}
	return true;
}

/* primaryHost and primaryPort: REQUIRED, or validated only when given. */
static int parse_peer(json_t *o, struct baton_agent_order *out, bool required,
		      char *errmsg)
{
	json_t *host = json_object_get(o, "primaryHost");
	json_t *port = json_object_get(o, "primaryPort");

	if (!required && host == NULL && port == NULL) {
		return 0;
	}
	if (!valid_host(json_string_value(host)) ||
	    strlen(json_string_value(host)) >= sizeof out->primary_host) {
		baton_errmsg_printf(errmsg,
				    "%s needs \"primaryHost\": a host name or "
				    "IP address",
				    out->action_name);
		return BATON_EINVAL;
	}
	if (!json_is_integer(port) || json_integer_value(port) <= 0 ||
	    json_integer_value(port) > 65535) {
		baton_errmsg_printf(errmsg,
				    "%s needs \"primaryPort\": an integer in "
				    "1..65535",
				    out->action_name);
		return BATON_EINVAL;
	}
	snprintf(out->primary_host, sizeof out->primary_host, "%s",
		 json_string_value(host));
	out->primary_port = (int)json_integer_value(port);
	return 0;
}

/* "syncNames": an array of at most BATON_ENGINE_MAX_STANDBYS distinct
 * application names (baton_engine_standby_name_valid). */
static int parse_sync_names(json_t *v, struct baton_agent_order *out,
			    char *errmsg)
{
	size_t i;
	json_t *name;

	if (!json_is_array(v)) {
		baton_errmsg_printf(errmsg,
				    "%s needs \"syncNames\": an array of "
				    "standby names",
				    out->action_name);
		return BATON_EINVAL;
	}
	if (json_array_size(v) > BATON_ENGINE_MAX_STANDBYS) {
		baton_errmsg_printf(
		    errmsg, "\"syncNames\" has %zu names: at most %d",
		    json_array_size(v), BATON_ENGINE_MAX_STANDBYS);
		return BATON_EINVAL;
	}
	json_array_foreach(v, i, name)
	{
		const char *n = json_string_value(name);
		if (n == NULL || strlen(n) != json_string_length(name) ||
		    !baton_engine_standby_name_valid(n)) {
			baton_errmsg_printf(errmsg,
					    "\"syncNames\"[%zu] is no standby "
					    "name: 1-%d of A-Z a-z 0-9 . _ -",
					    i, BATON_ENGINE_NAME_SIZE - 1);
			return BATON_EINVAL;
		}
		for (unsigned k = 0; k < out->n_sync_names; k++) {
			if (strcasecmp(out->sync_names[k], n) == 0) {
				baton_errmsg_printf(errmsg,
						    "\"syncNames\" lists '%s' "
						    "twice",
						    n);
				return BATON_EINVAL;
			}
		}
		snprintf(out->sync_names[out->n_sync_names],
			 BATON_ENGINE_NAME_SIZE, "%s", n);
		out->n_sync_names++;
	}
	out->has_sync_names = true;
	return 0;
}

int baton_agent_parse_order(const char *body, size_t len,
			    struct baton_agent_order *out, char *errmsg)
{
	static const struct {
		const char *name;
		enum baton_agent_action action;
	} actions[] = {
	    {"promote", BATON_AGENT_PROMOTE},
	    {"demote", BATON_AGENT_DEMOTE},
	    {"fence", BATON_AGENT_FENCE},
	    {"rejoin", BATON_AGENT_REJOIN},
	    {"init", BATON_AGENT_INIT},
	    {"detach", BATON_AGENT_DETACH},
	    {"cascade", BATON_AGENT_CASCADE},
	    {"standbys", BATON_AGENT_STANDBYS},
	};
	json_error_t jerr;
	json_t *o;
	json_t *v;
	const char *s;
	int rv = BATON_EINVAL;

	memset(out, 0, sizeof *out);
	errmsg[0] = '\0';
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL || !json_is_object(o)) {
		if (o == NULL) {
			baton_errmsg_printf(
			    errmsg,
			    "malformed JSON order: %s (line %d, column %d)",
			    jerr.text, jerr.line, jerr.column);
		} else {
			baton_errmsg_printf(errmsg, "malformed JSON order: "
						    "not an object");
		}
		json_decref(o);
		return BATON_EPARSE;
	}
	s = json_string_value(json_object_get(o, "action"));
	for (size_t i = 0; s != NULL && i < sizeof actions / sizeof *actions;
	     i++) {
		if (strcmp(s, actions[i].name) == 0) {
			out->action = actions[i].action;
			out->action_name = actions[i].name;
		}
	}
	if (out->action_name == NULL) {
		baton_errmsg_printf(
		    errmsg,
		    "\"action\" must be one of promote, demote, "
		    "fence, rejoin, init, detach, cascade, standbys%s",
		    s != NULL && strcmp(s, "lease") == 0
			? " (there are no lease orders: the agent asks "
			  "batond for its lease)"
			: "");
		goto out;
	}
	v = json_object_get(o, "epoch");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		baton_errmsg_printf(errmsg,
				    "\"epoch\" must be a non-negative integer");
		goto out;
	}
	out->epoch = (uint64_t)json_integer_value(v);
	switch (out->action) {
	case BATON_AGENT_PROMOTE:
		v = json_object_get(o, "primaryLsn");
		if (v != NULL && baton_pg_parse_lsn(json_string_value(v),
						    &out->primary_lsn) != 0) {
			baton_errmsg_printf(
			    errmsg,
			    "\"primaryLsn\" must look like 16/B374D848");
			goto out;
		}
		v = json_object_get(o, "syncNames");
		if (v != NULL && parse_sync_names(v, out, errmsg) != 0) {
			goto out;
		}
		break;
	case BATON_AGENT_STANDBYS:
		v = json_object_get(o, "gen");
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			baton_errmsg_printf(errmsg, "standbys needs \"gen\": a "
						    "non-negative integer");
			goto out;
		}
		out->gen = (uint64_t)json_integer_value(v);
		if (parse_sync_names(json_object_get(o, "syncNames"), out,
				     errmsg) != 0) {
			goto out;
		}
		break;
	case BATON_AGENT_REJOIN:
	case BATON_AGENT_CASCADE:
		if (parse_peer(o, out, true, errmsg) != 0) {
			goto out;
		}
		break;
	case BATON_AGENT_INIT:
		s = json_string_value(json_object_get(o, "role"));
		if (s != NULL && strcmp(s, "primary") == 0) {
			out->role = BATON_ROLE_PRIMARY;
		} else if (s != NULL && strcmp(s, "replica") == 0) {
			out->role = BATON_ROLE_REPLICA;
		} else {
			baton_errmsg_printf(errmsg,
					    "init needs \"role\": \"primary\" "
					    "or \"replica\"");
			goto out;
		}
		if (parse_peer(o, out, out->role == BATON_ROLE_REPLICA,
			       errmsg) != 0) {
			goto out;
		}
		break;
	default:
		break;
	}
	rv = 0;
out:
	json_decref(o);
	return rv;
}

/* ---- orders
 * ------------------------------------------------------------------
 */

/* Rule 4: a new epoch is durable before anything acts on it. */
static int accept_epoch(struct baton_agent *a, struct baton_http_request *req,
			uint64_t epoch)
{
	if (epoch <= a->lease.epoch) {
		return 0;
	}
	if (save_epoch(a, epoch, a->lease.primary_epoch) != 0) {
		BATON_ERROR(COMPONENT, "%s", a->errmsg);
		baton_http_respond_error(req, 500, a->errmsg);
		return BATON_EIO;
	}
	baton_log_kv(BATON_LOG_INFO, COMPONENT,
		     json_pack("{s:I,s:I}", "from", (json_int_t)a->lease.epoch,
			       "to", (json_int_t)epoch),
		     "new epoch");
	a->lease.epoch = epoch;
	/* rule 4: a newer decision exists; a lease at an older epoch ends */
	if (a->lease.valid) {
		drop_lease(a);
		baton_metric_inc(a->m_fences, (const char *[]){"new-epoch"}, 1);
		reconcile(a);
	}
	return 0;
}

/* The epoch this instance is primary at (0: none), durable before it
 * counts: a grant is honoured only for it (rule 2). */
static int set_primary_epoch(struct baton_agent *a, uint64_t epoch)
{
	if (a->lease.primary_epoch == epoch) {
		return 0;
	}
	if (save_epoch(a, a->lease.epoch, epoch) != 0) {
		BATON_ERROR(COMPONENT, "%s", a->errmsg);
		return BATON_EIO;
	}
	a->lease.primary_epoch = epoch;
	publish_lease(a);
	return 0;
}

static void log_accepted(struct baton_agent *a, struct baton_http_request *req,
			 const struct baton_agent_order *ord)
{
	baton_log_kv(BATON_LOG_INFO, COMPONENT,
		     json_pack("{s:s,s:I,s:s}", "action", ord->action_name,
			       "epoch", (json_int_t)ord->epoch, "from",
			       req->peer[0] ? req->peer : req->remote),
		     "order accepted");
}

/* An init order. Idempotent, because batond retries: on an instance that
 * already is what the order asks for, nothing runs and the answer is 200
 * with a "note". An init never overwrites an instance (rule 5): an
 * instance of the other role gets 409. */
static void init_order(struct baton_agent *a, struct baton_http_request *req,
		       const struct baton_agent_order *ord)
{
	const char *want = baton_engine_role_name(ord->role);
	struct agent_order *o;

	if (a->booting) {
		order_refused(a, req, 503, "init", "agent is still booting");
		return;
	}
	if (a->initializing) {
		order_refused(a, req, 503, "init",
			      "busy: an init order is already running");
		return;
	}
	if (a->initialized) {
		json_t *st;
		char note[160];

		if (a->st.role != ord->role) {
			order_refused(a, req, 409, "init",
				      "the data directory already holds an "
				      "instance (role %s); an init never "
				      "overwrites one (send %s instead)",
				      baton_engine_role_name(a->st.role),
				      ord->role == BATON_ROLE_PRIMARY
					  ? "promote"
					  : "rejoin");
			return;
		}
		if (accept_epoch(a, req, ord->epoch) != 0) {
			return;
		}
		snprintf(note, sizeof note,
			 "already initialized as a %s: nothing done%s", want,
			 ord->role == BATON_ROLE_REPLICA
			     ? " (send rejoin to follow another primary)"
			     : "");
		baton_metric_inc(a->m_orders, (const char *[]){"init", "ok"},
				 1);
		st = status_json(a);
		json_object_set_new(st, "note", json_string(note));
		respond_json(req, 200, st);
		return;
	}
	o = calloc(1, sizeof *o);
	if (o == NULL) {
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	if (accept_epoch(a, req, ord->epoch) != 0) {
		free(o);
		return;
	}
	o->init = true;
	o->action = "init";
	o->epoch = ord->epoch;
	o->http = req;
	if (ord->role == BATON_ROLE_PRIMARY) {
		o->op = BATON_ENGINE_INIT_PRIMARY;
	} else {
		o->op = BATON_ENGINE_INIT_REPLICA;
		snprintf(o->host, sizeof o->host, "%s", ord->primary_host);
		o->port = ord->primary_port;
	}
	a->initializing = true;
	a->last_error[0] = '\0';
	drop_lease(a);
	set_primary_epoch(a, 0);
	log_accepted(a, req, ord);
	enqueue(a, o);
}

static void copy_sync_names(struct agent_order *o,
			    const struct baton_agent_order *ord)
{
	o->with_sync = ord->has_sync_names;
	o->n_sync = ord->n_sync_names;
	memcpy(o->sync, ord->sync_names, sizeof o->sync);
}

static void order_cb(struct baton_http_request *req, void *data)
{
	struct baton_agent *a = data;
	struct baton_agent_order ord;
	char err[BATON_ERRMSG_SIZE];
	struct agent_order *o;

	if (a->cfg.order_peer != NULL && a->cfg.order_peer[0] != '\0' &&
	    strcmp(req->peer, a->cfg.order_peer) != 0) {
		order_refused(a, req, 403, NULL,
			      "orders are accepted only from %s, not '%s'",
			      a->cfg.order_peer, req->peer);
		return;
	}
	if (baton_agent_parse_order(req->body, req->body_len, &ord, err) != 0) {
		order_refused(a, req, 400, ord.action_name, "%s", err);
		return;
	}
	/* rule 4: never go back in epochs */
	if (ord.epoch < a->lease.epoch) {
		order_refused(a, req, 409, ord.action_name,
			      "stale epoch %" PRIu64 " < highest seen %" PRIu64,
			      ord.epoch, a->lease.epoch);
		return;
	}
	{
		uint64_t seen = a->lease.epoch > a->batond_epoch
				    ? a->lease.epoch
				    : a->batond_epoch;
		if (ord.epoch > seen + BATON_AGENT_MAX_EPOCH_STEP) {
			order_refused(a, req, 409, ord.action_name,
				      "epoch %" PRIu64
				      " jumps more than %d above the highest "
				      "this agent has seen (%" PRIu64
				      ", in orders and batond's lease "
				      "answers): batond never does that",
				      ord.epoch, BATON_AGENT_MAX_EPOCH_STEP,
				      seen);
			return;
		}
	}
	/* a generation below the highest accepted is an older list: refused
	 * before anything changes, like a stale epoch */
	if (ord.action == BATON_AGENT_STANDBYS && ord.gen < a->sync_gen_seen) {
		order_refused(a, req, 409, ord.action_name,
			      "stale generation %" PRIu64
			      " < highest seen %" PRIu64,
			      ord.gen, a->sync_gen_seen);
		return;
	}
	if (a->closing) {
		order_refused(a, req, 503, ord.action_name,
			      "agent is shutting down");
		return;
	}
	if (ord.action == BATON_AGENT_INIT) {
		init_order(a, req, &ord);
		return;
	}
	if (!a->ready && ord.action != BATON_AGENT_FENCE) {
		if (a->initializing) {
			order_refused(a, req, 503, ord.action_name,
				      "busy: an init order is running");
		} else if (!a->booting && !a->initialized) {
			order_refused(a, req, 409, ord.action_name,
				      "no instance yet: waiting for an init "
				      "order");
		} else if (a->failed) {
			order_refused(a, req, 503, ord.action_name,
				      "boot failed: %s", a->boot_error);
		} else {
			order_refused(a, req, 503, ord.action_name,
				      "agent is still booting");
		}
		return;
	}
	o = calloc(1, sizeof *o);
	if (o == NULL) {
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	if (accept_epoch(a, req, ord.epoch) != 0) {
		free(o);
		return;
	}
	o->epoch = ord.epoch;
	o->http = req;
	o->action = ord.action_name;
	switch (ord.action) {
	case BATON_AGENT_PROMOTE:
		/* the lease comes by asking once the promote is done; a list
		 * given is in force before the instance is a primary */
		o->op = BATON_ENGINE_PROMOTE;
		o->ref_lsn = ord.primary_lsn;
		copy_sync_names(o, &ord);
		break;
	case BATON_AGENT_STANDBYS:
		a->sync_gen_seen = ord.gen;
		o->op = BATON_ENGINE_SET_SYNC_NAMES;
		o->gen = ord.gen;
		copy_sync_names(o, &ord);
		break;
	case BATON_AGENT_REJOIN:
		drop_lease(a);
		set_primary_epoch(a, 0);
		o->op = BATON_ENGINE_REJOIN;
		snprintf(o->host, sizeof o->host, "%s", ord.primary_host);
		o->port = ord.primary_port;
		break;
	case BATON_AGENT_DEMOTE:
		drop_lease(a);
		set_primary_epoch(a, 0);
		o->op = BATON_ENGINE_DEMOTE;
		break;
	case BATON_AGENT_DETACH:
		/* a replica holds no lease; it stops streaming and says
		 * where its WAL ends */
		o->op = BATON_ENGINE_DETACH;
		break;
	case BATON_AGENT_CASCADE:
		/* a replica holds no lease; it streams from another replica
		 * (the engine refuses anything else) */
		o->op = BATON_ENGINE_CASCADE;
		snprintf(o->host, sizeof o->host, "%s", ord.primary_host);
		o->port = ord.primary_port;
		break;
	default: /* fence */
		drop_lease(a);
		o->op = BATON_ENGINE_FENCE;
		baton_metric_inc(a->m_fences, (const char *[]){"order"}, 1);
		break;
	}
	log_accepted(a, req, &ord);
	enqueue(a, o);
}

/* ---- lifecycle
 * ---------------------------------------------------------------- */

static int add_metrics(struct baton_agent *a)
{
	static const char *order_labels[] = {"action", "result", NULL};
	static const char *op_labels[] = {"operation", NULL};
	static const char *reason_labels[] = {"reason", NULL};
	static const char *verdict_labels[] = {"result", NULL};
	static const double ask_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
					     0.05,  0.1,    0.25,  0.5,	 1};
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
	    "Fences and lease losses, by reason (lease-expired, revoked, "
	    "new-epoch, order).",
	    reason_labels, NULL, 0);
	a->m_asks = baton_metrics_add(
	    &a->metrics, BATON_METRIC_COUNTER, "baton_agent_lease_asks_total",
	    "Lease questions to batond, by outcome (extended, kept, revoked, "
	    "ignored, failed).",
	    verdict_labels, NULL, 0);
	a->m_ask_seconds = baton_metrics_add(
	    &a->metrics, BATON_METRIC_HISTOGRAM,
	    "baton_agent_lease_ask_seconds",
	    "Round trip of a lease question to batond.", NULL, ask_buckets,
	    sizeof ask_buckets / sizeof ask_buckets[0]);
	a->m_op_seconds =
	    baton_metrics_add(&a->metrics, BATON_METRIC_HISTOGRAM,
			      "baton_agent_engine_operation_seconds",
			      "Engine operation duration.", op_labels, buckets,
			      sizeof buckets / sizeof buckets[0]);
	if (!a->m_orders || !a->m_epoch || !a->m_lease || !a->m_writable ||
	    !a->m_lag || !a->m_fences || !a->m_op_seconds || !a->m_asks ||
	    !a->m_ask_seconds ||
	    baton_procmetrics_add(&a->procm, &a->metrics) != 0) {
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
	int rv;

	memset(a, 0, sizeof *a);
	a->loop = loop;
	a->cfg = *cfg;
	a->engine = engine;
	if (a->cfg.lease_margin_ms == 0) {
		a->cfg.lease_margin_ms = 100;
	}
	/* 100 ms: a status read is one round trip on the engine's kept
	 * session (no backend fork), and a switchover's promote waits for
	 * the target's position through it */
	if (a->cfg.status_interval_ms == 0) {
		a->cfg.status_interval_ms = 100;
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
	if (a->cfg.name == NULL) {
		a->cfg.name = a->cfg.pod_name;
	}
	a->st.role = BATON_ROLE_UNKNOWN;
	a->st.lag_bytes = -1;
	a->lease.margin_ms = a->cfg.lease_margin_ms;
	a->lease_file.fd = -1;
	rv = load_epoch(a);
	if (rv != 0) {
		return rv;
	}
	if (cfg->lease_file != NULL) {
		/* fenced before the instance starts (rule 1) */
		rv = baton_leasefile_open(&a->lease_file, cfg->lease_file,
					  a->errmsg);
		if (rv != 0) {
			return rv;
		}
	}
	rv = add_metrics(a);
	if (rv != 0) {
		baton_leasefile_close(&a->lease_file);
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
	if (cfg->probe_host != NULL) {
		struct baton_http_config pcfg = {.max_body_bytes = 1024};
		rv = baton_http_server_init(loop, &a->probe_http, &pcfg);
		if (rv == 0) {
			a->probe_http.data = a;
			a->probe_started = true;
			if (baton_http_route(&a->probe_http, "GET", "/healthz",
					     healthz_cb, a) ||
			    baton_http_route(&a->probe_http, "GET", "/readyz",
					     readyz_cb, a) ||
			    baton_http_route(&a->probe_http, "GET", "/metrics",
					     metrics_cb, a) ||
			    baton_http_route(&a->probe_http, "GET",
					     "/v1/status", status_cb, a)) {
				rv = BATON_EINTERNAL;
			}
		}
		if (rv == 0) {
			rv = baton_http_server_listen(
			    &a->probe_http, cfg->probe_host, cfg->probe_port);
		}
		if (rv != 0) {
			baton_errmsg_printf(a->errmsg, "probe listener: %s",
					    a->probe_http.errmsg);
			if (a->probe_started) {
				a->probe_started = false;
				baton_http_server_close(&a->probe_http, NULL);
			}
			baton_http_server_close(&a->http, NULL);
			goto err_after_metrics;
		}
	}
	uv_timer_init(loop, &a->lease_timer);
	uv_timer_init(loop, &a->poll_timer);
	a->lease_timer.data = a->poll_timer.data = a;
	uv_timer_start(&a->poll_timer, poll_cb, a->cfg.status_interval_ms,
		       a->cfg.status_interval_ms);
	if (cfg->batond_url != NULL && cfg->batond_url[0] != '\0') {
		struct baton_lease_asker_config kc = {
		    .url = cfg->batond_url,
		    .ca_file = cfg->batond_ca_file,
		    .cert_file = cfg->batond_cert_file,
		    .key_file = cfg->batond_key_file,
		    .pod_namespace = a->cfg.pod_namespace,
		    .pod_name = a->cfg.pod_name,
		    .now = asker_now,
		    .gen = asker_gen,
		    .epoch = asker_epoch,
		    .sync = asker_sync,
		    .cb = asker_cb};
		a->asker.data = a;
		rv = baton_lease_asker_init(loop, &a->asker, &kc);
		if (rv != 0) {
			/* a broken URL or certificate: say so and stay
			 * fenced rather than run without a way to a lease */
			baton_errmsg_printf(a->errmsg, "%s", a->asker.errmsg);
			uv_close((uv_handle_t *)&a->lease_timer, NULL);
			uv_close((uv_handle_t *)&a->poll_timer, NULL);
			baton_http_server_close(&a->http, NULL);
			if (a->probe_started) {
				a->probe_started = false;
				baton_http_server_close(&a->probe_http, NULL);
			}
			goto err_after_metrics;
		}
		a->asker.data = a;
		a->asker_started = true;
	}

	/* boot: init or start, then fence (rule 1: start fenced) */
	rv = queue_boot(a);
	if (rv != 0) {
		goto err_after_metrics;
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
	baton_leasefile_close(&a->lease_file);
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
		baton_leasefile_close(&a->lease_file); /* fenced */
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

static void asker_closed_cb(struct baton_lease_asker *k)
{
	one_closed(k->data);
}

static void finish_close(struct baton_agent *a)
{
	if (a->busy || a->open_handles > 0) {
		return;
	}
	/* never leave a writable instance behind an exiting agent */
	if (!a->fenced && a->st.running) {
		a->lease.valid = false;
		run_op(a, NULL, BATON_ENGINE_FENCE);
		a->fenced = true; /* one attempt; op_done_cb calls us again */
		return;
	}
	a->open_handles =
	    3 + (a->asker_started ? 1 : 0) + (a->probe_started ? 1 : 0);
	if (a->probe_started) {
		a->probe_started = false;
		baton_http_server_close(&a->probe_http, http_closed_cb);
	}
	if (a->asker_started) {
		a->asker_started = false;
		baton_lease_asker_close(&a->asker, asker_closed_cb);
	}
	uv_close((uv_handle_t *)&a->lease_timer, handle_closed_cb);
	uv_close((uv_handle_t *)&a->poll_timer, handle_closed_cb);
	baton_http_server_close(&a->http, http_closed_cb);
}

void baton_agent_close(struct baton_agent *a, void (*cb)(struct baton_agent *a))
{
	struct agent_order *o;

	a->closing = true;
	a->close_cb = cb;
	a->lease.valid = false;
	publish_lease(a);
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
