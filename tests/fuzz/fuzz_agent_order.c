/* Fuzz target: baton-agent's order handling, stateful (agent/agent.h).
 *
 * A real struct baton_agent on a real loop, with its real HTTP server:
 * orders arrive as POST /v1/order over one end of a socketpair handed to
 * the agent's server (baton_http_server_adopt()), this target is batond on
 * the other end, and also plays batond's lease answers
 * (baton_agent_lease_answered()). The database is a fake engine in memory
 * that keeps the engine contract (engine/engine.h: promote leaves it
 * fenced, a fence that cannot confirm read-only stops the server, init
 * never overwrites) and runs on libuv's threadpool like the real one.
 * What is not here: the lease asker's HTTP client (the answers are handed
 * in), the lease file, the state file, and time: grants are 60 s or late
 * by two minutes, so that nothing expires while an input runs and every
 * run of an input does the same.
 *
 * Input: byte 0 is how the agent boots (0 an empty data directory: it
 * waits for an init order; 1 an existing primary; 2 an existing replica;
 * 3 a primary left writable), then steps, each an opcode byte and its
 * arguments:
 *   0..6  an order (promote fence demote rejoin init-primary init-replica
 *         detach) at an epoch byte: 0xfe epoch 0, 0xff 2^63-1, else the
 *         agent's epoch + (b & 15) - 4, and 15 means + 65 (past the
 *         largest step the agent accepts);
 *   7     a lease answer: epoch byte, grant byte (0 revoke, 1 within the
 *         margin, else 60 s), flags (bit 0: the answer to the question
 *         asked at the previous lease step, answered only now; bit 1: it
 *         arrives after its grant ended);
 *   8     a raw order body: a length byte and that many bytes;
 *   9     engine faults: bit i of the next byte fails the i-th next
 *         operation;
 *   10    GET /v1/status, /readyz and /metrics;
 *   11    the instance crashes (stops, as PostgreSQL killed).
 * After each step the loop runs until the answer is in and the agent is
 * idle.
 *
 * Oracles (abort() on a violation), with a model of batond's side:
 *  - the epoch the agent has accepted never goes back;
 *  - an order older than that epoch, or more than
 *    BATON_AGENT_MAX_EPOCH_STEP above everything the agent has heard, or
 *    one that does not parse, is refused (409 / 400) and changes nothing:
 *    no engine operation, no epoch, no lease generation; so is a standbys
 *    order whose gen is below the highest the agent accepted;
 *  - no invalid standby name reaches the engine (set_sync_names);
 *  - an accepted order leaves the agent at its epoch or above;
 *  - the agent counts itself primary (lease.primary_epoch) only at the
 *    epoch of the order during which its instance last became primary;
 *  - a grant extends the lease only when it was asked for after the last
 *    fence, demote, rejoin or init answered 200, for the agent's epoch,
 *    and that epoch is the one the instance last became primary at;
 *  - whenever the agent is idle, a writable instance means: a valid lease
 *    from a grant at the agent's current epoch, asked for after the last
 *    fence, demote, rejoin or init, and the instance made primary at that
 *    epoch. So a fenced agent never becomes writable again on an older
 *    epoch, nor without a grant asked for after the fence;
 *  - engine operations never overlap; unfence only runs on a primary;
 *  - every request gets exactly one well-formed answer, /v1/status says
 *    what the agent holds and /readyz whether it is ready;
 *  - after close the instance is not writable, and no handle is left.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/clock.h"
#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
const char *__asan_default_options(void);

/* Every run starts an agent whose metrics registry takes about 0.5 MiB;
 * with ASan's default 256 MiB quarantine each run touched fresh pages
 * (page faults were most of the time: 4 ms a run, 1.7 ms with this). A
 * use after free is still caught across the last few runs' frees. */
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

static bool tracing; /* FUZZ_TRACE=1: each step on stderr */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_agent_order: invariant violated: %s\n", what);
	abort();
}

/* ---- the fake engine ------------------------------------------------ */

struct fake {
	atomic_int in_op;
	bool exists, running, read_only;
	enum baton_engine_role role; /* PRIMARY or REPLICA once it exists */
	uint64_t lsn;
	char upstream[128];
	uint32_t faults;       /* bit 0: the next operation fails */
	unsigned ops;	       /* operations other than status */
	unsigned made_primary; /* promotes and primary inits that worked */
};

static struct fake *fk(struct baton_engine *e)
{
	return e->impl;
}

/* Enter an operation: never two at once (the agent serialises them). */
static struct fake *enter(struct baton_engine *e)
{
	struct fake *f = fk(e);
	if (atomic_exchange(&f->in_op, 1) != 0) {
		fail("two engine operations at once");
	}
	f->ops++;
	return f;
}

/* Leave it; the injected fault, if this one is to fail. */
static int leave(struct baton_engine *e, struct fake *f, int rv)
{
	atomic_store(&f->in_op, 0);
	if (rv != 0) {
		baton_errmsg_printf(e->errmsg, "fake engine: %s",
				    baton_strerror(rv));
	}
	return rv;
}

static bool faulty(struct fake *f)
{
	bool bad = f->faults & 1;
	f->faults >>= 1;
	return bad;
}

static bool writable(const struct fake *f)
{
	return f->exists && f->running && f->role == BATON_ROLE_PRIMARY &&
	       !f->read_only;
}

static int fe_init_primary(struct baton_engine *e)
{
	struct fake *f = enter(e);
	if (f->exists) {
		return leave(e, f, BATON_EEXIST);
	}
	if (faulty(f)) {
		return leave(e, f, BATON_EENGINE); /* removes what it made */
	}
	/* a fresh primary accepts writes: the agent must fence it */
	f->exists = f->running = true;
	f->role = BATON_ROLE_PRIMARY;
	f->read_only = false;
	f->lsn = 0x1000000;
	f->made_primary++;
	return leave(e, f, 0);
}

static int fe_init_replica(struct baton_engine *e,
			   const struct baton_engine_peer *p)
{
	struct fake *f = enter(e);
	if (f->exists) {
		return leave(e, f, BATON_EEXIST);
	}
	if (faulty(f) || p->host == NULL || p->host[0] == '\0') {
		return leave(e, f, BATON_EENGINE);
	}
	f->exists = f->running = f->read_only = true;
	f->role = BATON_ROLE_REPLICA;
	snprintf(f->upstream, sizeof f->upstream, "%s:%d", p->host, p->port);
	return leave(e, f, 0);
}

static int fe_start(struct baton_engine *e)
{
	struct fake *f = enter(e);
	if (!f->exists) {
		return leave(e, f, BATON_ENOTFOUND);
	}
	if (faulty(f)) {
		return leave(e, f, BATON_EENGINE);
	}
	f->running = true;
	return leave(e, f, 0);
}

static int fe_stop(struct baton_engine *e, bool immediate)
{
	struct fake *f = enter(e);
	(void)immediate;
	f->running = false;
	return leave(e, f, 0);
}

static int fe_status(struct baton_engine *e, struct baton_engine_status *st)
{
	struct fake *f = fk(e);

	memset(st, 0, sizeof *st);
	st->lag_bytes = -1;
	if (!f->exists) {
		baton_errmsg_printf(e->errmsg, "fake engine: no instance");
		return BATON_ECONN;
	}
	if (!f->running) {
		st->role = BATON_ROLE_STOPPED;
		return 0;
	}
	st->role = f->role;
	st->running = true;
	st->read_only = f->read_only;
	st->writable = writable(f);
	st->lsn = st->replay_lsn = f->lsn;
	st->lag_bytes = 0;
	st->timeline = 1;
	snprintf(st->upstream, sizeof st->upstream, "%s", f->upstream);
	return 0;
}

static int fe_promote(struct baton_engine *e, uint64_t ref_lsn)
{
	struct fake *f = enter(e);
	(void)ref_lsn;
	if (!f->running) {
		return leave(e, f, BATON_EENGINE);
	}
	if (faulty(f)) {
		return leave(e, f, BATON_EBUSY); /* lagging */
	}
	if (f->role == BATON_ROLE_REPLICA) {
		/* promote leaves it fenced (engine.h) */
		f->role = BATON_ROLE_PRIMARY;
		f->read_only = true;
		f->upstream[0] = '\0';
	}
	f->made_primary++;
	return leave(e, f, 0);
}

static int fe_fence(struct baton_engine *e)
{
	struct fake *f = enter(e);
	if (faulty(f)) {
		/* read-only not confirmed: the server is stopped */
		f->running = false;
		return leave(e, f, BATON_EENGINE);
	}
	f->read_only = true;
	return leave(e, f, 0);
}

static int fe_unfence(struct baton_engine *e)
{
	struct fake *f = enter(e);
	if (f->role != BATON_ROLE_PRIMARY) {
		fail("unfence of an instance that is not a primary");
	}
	if (!f->running || faulty(f)) {
		return leave(e, f, BATON_EENGINE);
	}
	f->read_only = false;
	return leave(e, f, 0);
}

static int fe_demote(struct baton_engine *e, uint64_t *final_lsn)
{
	struct fake *f = enter(e);
	if (faulty(f)) {
		f->running = false; /* fenced and stopped, or not */
		return leave(e, f, BATON_EENGINE);
	}
	f->read_only = true;
	f->running = false;
	*final_lsn = f->lsn;
	return leave(e, f, 0);
}

static int fe_rejoin(struct baton_engine *e, const struct baton_engine_peer *p)
{
	struct fake *f = enter(e);
	if (!f->exists || faulty(f)) {
		return leave(e, f, BATON_EENGINE);
	}
	f->running = f->read_only = true;
	f->role = BATON_ROLE_REPLICA;
	snprintf(f->upstream, sizeof f->upstream, "%s:%d", p->host, p->port);
	return leave(e, f, 0);
}

static int fe_detach(struct baton_engine *e, uint64_t *final_lsn)
{
	struct fake *f = enter(e);
	if (!f->running || f->role != BATON_ROLE_REPLICA || faulty(f)) {
		return leave(e, f, BATON_EENGINE);
	}
	f->upstream[0] = '\0';
	*final_lsn = f->lsn;
	return leave(e, f, 0);
}

/* The primary answers X (its position); a replica only records: 0. */
static int fe_set_sync_names(struct baton_engine *e, const char *const *names,
			     unsigned n, uint64_t *flush_lsn)
{
	struct fake *f = enter(e);
	for (unsigned i = 0; i < n; i++) {
		if (!baton_engine_standby_name_valid(names[i])) {
			fail("an invalid standby name reached the engine");
		}
	}
	if (n > BATON_ENGINE_MAX_STANDBYS || faulty(f)) {
		return leave(e, f, BATON_EENGINE);
	}
	*flush_lsn = f->running && f->role == BATON_ROLE_PRIMARY ? f->lsn : 0;
	return leave(e, f, 0);
}

static const struct baton_engine_ops fake_ops = {
    .name = "fake",
    .init_primary = fe_init_primary,
    .init_replica = fe_init_replica,
    .start = fe_start,
    .stop = fe_stop,
    .status = fe_status,
    .promote = fe_promote,
    .fence = fe_fence,
    .unfence = fe_unfence,
    .demote = fe_demote,
    .rejoin = fe_rejoin,
    .detach = fe_detach,
    .set_sync_names = fe_set_sync_names,
};

/* ---- batond's side ------------------------------------------------------ */

struct run {
	uv_loop_t loop;
	struct baton_agent agent;
	struct baton_engine engine;
	struct fake fake;
	uv_timer_t guard;
	bool guard_fired;
	bool closed;
	int fd; /* batond's end of the socketpair */
	char in[65536];
	size_t in_len;
	/* the model, batond's view */
	uint64_t epoch;	   /* highest epoch the agent has accepted */
	uint64_t ordered;  /* highest epoch of an order answered 200 */
	uint64_t promoted; /* the order's epoch when the engine last became
			      primary (a promote or a primary init worked) */
	/* fences, demotes, rejoins and inits answered 200: a grant asked
	 * for before one of them must not make the instance writable */
	uint64_t drops;
	struct {
		uint64_t gen;	/* the agent's lease generation then */
		uint64_t drops; /* the model's */
	} asked;		/* the question before the current one */
	uint64_t grant_epoch;	/* the last grant that extended the lease */
	uint64_t grant_drops;	/* drops when it was asked for */
	bool granted;
};

static void guard_cb(uv_timer_t *t)
{
	((struct run *)t->data)->guard_fired = true;
}

static void client_read(struct run *r)
{
	for (;;) {
		ssize_t n = read(r->fd, r->in + r->in_len,
				 sizeof r->in - 1 - r->in_len);
		if (n > 0) {
			r->in_len += (size_t)n;
			if (r->in_len == sizeof r->in - 1) {
				fail("an answer larger than 64 KiB");
			}
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		return;
	}
}

/* One whole response at the start of r->in: its status and body
 * (NUL-terminated in place), consumed. 0 while incomplete. */
static int take_response(struct run *r, char *body, size_t cap)
{
	char *end, *cl, *e;
	unsigned long long blen;
	size_t head, total;
	int status;

	r->in[r->in_len] = '\0';
	end = memmem(r->in, r->in_len, "\r\n\r\n", 4);
	if (end == NULL) {
		return 0;
	}
	head = (size_t)(end - r->in) + 4;
	if (memcmp(r->in, "HTTP/1.1 ", 9) != 0) {
		fail("an answer that is not HTTP/1.1");
	}
	status = (int)strtol(r->in + 9, &e, 10);
	cl = strstr(r->in, "\r\nContent-Length: ");
	if (status < 200 || status > 599 || cl == NULL || cl > end) {
		fail("an answer without a status or a Content-Length");
	}
	blen = strtoull(cl + 18, &e, 10);
	if (blen >= cap) {
		fail("an answer body larger than expected");
	}
	total = head + (size_t)blen;
	if (r->in_len < total) {
		return 0;
	}
	memcpy(body, r->in + head, (size_t)blen);
	body[blen] = '\0';
	memmove(r->in, r->in + total, r->in_len - total);
	r->in_len -= total;
	return status;
}

static bool idle(const struct run *r)
{
	const struct baton_agent *a = &r->agent;
	return !a->busy && a->queue_head == NULL && !a->booting;
}

/* Runs the loop until COND; two seconds without it is a hang. */
#define RUN_UNTIL(r, cond)                                                     \
	do {                                                                   \
		(r)->guard_fired = false;                                      \
		uv_timer_start(&(r)->guard, guard_cb, 2000, 0);                \
		while (!(cond)) {                                              \
			uv_run(&(r)->loop, UV_RUN_ONCE);                       \
			if ((r)->guard_fired) {                                \
				fail("stuck: " #cond);                         \
			}                                                      \
		}                                                              \
		uv_timer_stop(&(r)->guard);                                    \
	} while (0)

/* Sends one request and waits for its answer and for the agent to be
 * idle; the answer's status, its body in BODY. */
static int request(struct run *r, const char *method, const char *path,
		   const char *body, size_t len, char *out, size_t cap)
{
	char head[256];
	int n, status = 0;

	n = snprintf(head, sizeof head,
		     "%s %s HTTP/1.1\r\nHost: agent\r\n"
		     "Content-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n",
		     method, path, len);
	if (send(r->fd, head, (size_t)n, MSG_NOSIGNAL) != n ||
	    (len > 0 && send(r->fd, body, len, MSG_NOSIGNAL) != (ssize_t)len)) {
		fail("the agent's connection closed");
	}
	r->guard_fired = false;
	uv_timer_start(&r->guard, guard_cb, 2000, 0);
	while (status == 0 || !idle(r)) {
		uv_run(&r->loop, UV_RUN_ONCE);
		client_read(r);
		if (status == 0) {
			status = take_response(r, out, cap);
		}
		if (r->guard_fired) {
			fail("an order was never answered, or the agent "
			     "never went idle");
		}
	}
	uv_timer_stop(&r->guard);
	if (r->in_len != 0) {
		fail("an answer nobody asked for");
	}
	return status;
}

/* Whenever the agent is idle. */
static void check_idle(struct run *r)
{
	struct baton_agent *a = &r->agent;

	if (tracing) {
		fprintf(stderr,
			"  idle: epoch %" PRIu64 " primary %" PRIu64
			" gen %" PRIu64 " lease %s fenced %d ready %d | "
			"engine %s%s%s ops %u | model promoted %" PRIu64
			" grant %" PRIu64 "@%" PRIu64 "\n",
			a->lease.epoch, a->lease.primary_epoch, a->lease.gen,
			a->lease.valid ? "valid" : "none", a->fenced, a->ready,
			r->fake.exists ? baton_engine_role_name(r->fake.role)
				       : "none",
			r->fake.running ? "" : " stopped",
			writable(&r->fake) ? " WRITABLE" : "", r->fake.ops,
			r->promoted, r->grant_epoch, r->grant_drops);
	}
	if (a->lease.epoch < r->epoch || a->lease.epoch < r->ordered) {
		fail("the agent's epoch went back");
	}
	r->epoch = a->lease.epoch;
	if (a->lease.primary_epoch != 0 &&
	    a->lease.primary_epoch != r->promoted) {
		fail("the agent counts itself primary at an epoch its "
		     "instance was not made primary at");
	}
	if (!writable(&r->fake)) {
		return;
	}
	if (!a->lease.valid || baton_agent_lease_remaining(a) == 0) {
		fail("writable without a valid lease");
	}
	if (!r->granted || r->grant_epoch != a->lease.epoch ||
	    r->grant_drops != r->drops) {
		fail("writable without a grant at the current epoch since "
		     "the last fence");
	}
	if (r->promoted != a->lease.epoch ||
	    a->lease.primary_epoch != a->lease.epoch) {
		fail("writable at an epoch it was not promoted at");
	}
}

static uint64_t epoch_arg(const struct run *r, uint8_t b)
{
	uint64_t cur = r->agent.lease.epoch;
	int d = b & 15;

	if (b == 0xfe) {
		return 0;
	}
	if (b == 0xff) {
		return INT64_MAX;
	}
	if (d == 15) {
		return cur + BATON_AGENT_MAX_EPOCH_STEP + 1;
	}
	return d < 4 && cur < (uint64_t)(4 - d) ? 0 : cur + (uint64_t)d - 4;
}

static void order(struct run *r, const char *body, size_t len)
{
	struct baton_agent *a = &r->agent;
	struct baton_agent_order ord;
	char err[BATON_ERRMSG_SIZE];
	char answer[8192];
	uint64_t e0 = a->lease.epoch, gen0 = a->lease.gen;
	uint64_t seen = e0 > a->batond_epoch ? e0 : a->batond_epoch;
	unsigned ops0 = r->fake.ops, made0 = r->fake.made_primary;
	bool parsed = baton_agent_parse_order(body, len, &ord, err) == 0;
	/* a standbys order's generation never goes back either */
	bool must_refuse =
	    !parsed || ord.epoch < e0 ||
	    ord.epoch > seen + BATON_AGENT_MAX_EPOCH_STEP ||
	    (ord.action == BATON_AGENT_STANDBYS && ord.gen < a->sync_gen_seen);
	int status =
	    request(r, "POST", "/v1/order", body, len, answer, sizeof answer);

	if (tracing) {
		fprintf(stderr, "order %.*s -> %d %s\n", (int)len, body, status,
			answer);
	}

	if (must_refuse) {
		if (status != (parsed ? 409 : 400)) {
			fail("a stale, too new or malformed order was not "
			     "refused");
		}
		if (r->fake.ops != ops0 || a->lease.epoch != e0 ||
		    a->lease.gen != gen0) {
			fail("a refused order changed something");
		}
	} else if (status == 200) {
		if (ord.epoch > r->ordered) {
			r->ordered = ord.epoch;
		}
		/* an init that found the instance there did nothing */
		if (ord.action == BATON_AGENT_FENCE ||
		    ord.action == BATON_AGENT_DEMOTE ||
		    ord.action == BATON_AGENT_REJOIN ||
		    (ord.action == BATON_AGENT_INIT &&
		     strstr(answer, "\"note\"") == NULL)) {
			r->drops++;
		}
	}
	if (r->fake.made_primary != made0) {
		r->promoted = ord.epoch;
	}
	check_idle(r);
}

static void structured_order(struct run *r, uint8_t op, uint8_t eb)
{
	static const char *const actions[] = {
	    "promote", "fence", "demote", "rejoin", "init", "init", "detach"};
	uint64_t epoch = epoch_arg(r, eb);
	char body[256];
	int n;

	switch (op) {
	case 0:
		n = snprintf(body, sizeof body,
			     "{\"action\":\"promote\",\"epoch\":%" PRIu64
			     ",\"primaryLsn\":\"0/%X\"}",
			     epoch, (unsigned)eb << 8);
		break;
	case 3:
	case 5:
		n = snprintf(body, sizeof body,
			     "{\"action\":\"%s\",\"epoch\":%" PRIu64
			     "%s,\"primaryHost\":\"10.0.0.%u\","
			     "\"primaryPort\":5432}",
			     actions[op], epoch,
			     op == 5 ? ",\"role\":\"replica\"" : "",
			     (unsigned)eb);
		break;
	case 4:
		n = snprintf(body, sizeof body,
			     "{\"action\":\"init\",\"epoch\":%" PRIu64
			     ",\"role\":\"primary\"}",
			     epoch);
		break;
	default:
		n = snprintf(body, sizeof body,
			     "{\"action\":\"%s\",\"epoch\":%" PRIu64 "}",
			     actions[op], epoch);
		break;
	}
	order(r, body, (size_t)n);
}

static void lease_answer(struct run *r, uint8_t eb, uint8_t gb, uint8_t flags)
{
	struct baton_agent *a = &r->agent;
	struct baton_lease_answer ans;
	uint64_t now = baton_lease_clock_ms();
	uint64_t gen0 = a->lease.gen, deadline0 = a->lease.deadline;
	bool valid0 = a->lease.valid;
	/* the answer to this question, or (flags bit 0) to the one asked
	 * at the previous lease step, answered only now */
	uint64_t q_gen = gen0, q_drops = r->drops;

	if (flags & 1) {
		q_gen = r->asked.gen;
		q_drops = r->asked.drops;
	}
	r->asked.gen = gen0;
	r->asked.drops = r->drops;
	ans.epoch = epoch_arg(r, eb);
	ans.grant_ms = gb == 0 ? 0 : gb == 1 ? a->lease.margin_ms : 60000;
	ans.gen = q_gen;
	ans.sent_ms = flags & 2 ? now - 120000 : now;
	if (tracing) {
		fprintf(stderr,
			"lease answer epoch %" PRIu64 " grant %" PRIu64
			" gen %" PRIu64 "%s\n",
			ans.epoch, ans.grant_ms, ans.gen,
			flags & 2 ? " (late)" : "");
	}
	baton_agent_lease_answered(a, &ans);
	if (a->lease.valid && (!valid0 || a->lease.deadline != deadline0)) {
		if (q_drops != r->drops || ans.epoch != a->lease.epoch ||
		    ans.epoch != a->lease.primary_epoch ||
		    ans.epoch != r->promoted || ans.grant_ms == 0 ||
		    (flags & 2)) {
			fail("a grant extended the lease that rule 2 throws "
			     "away");
		}
		r->granted = true;
		r->grant_epoch = ans.epoch;
		r->grant_drops = q_drops;
	}
	RUN_UNTIL(r, idle(r));
	check_idle(r);
}

/* GET /v1/status, /readyz and /metrics: what batond and kubelet read. */
static void status_request(struct run *r)
{
	static char answer[65536];
	json_t *st;
	int status =
	    request(r, "GET", "/v1/status", NULL, 0, answer, sizeof answer);

	st = json_loads(answer, 0, NULL);
	if (status != 200 || st == NULL ||
	    json_integer_value(json_object_get(st, "epoch")) !=
		(json_int_t)r->agent.lease.epoch ||
	    json_integer_value(json_object_get(st, "primaryEpoch")) !=
		(json_int_t)r->agent.lease.primary_epoch) {
		fail("/v1/status does not say what the agent holds");
	}
	json_decref(st);
	status = request(r, "GET", "/readyz", NULL, 0, answer, sizeof answer);
	if (status != (r->agent.ready && !r->agent.failed ? 200 : 503)) {
		fail("/readyz does not say whether the agent is ready");
	}
	status = request(r, "GET", "/metrics", NULL, 0, answer, sizeof answer);
	if (status != 200 || strstr(answer, "\nbaton_agent_epoch ") == NULL) {
		fail("/metrics without the agent's epoch");
	}
	check_idle(r);
}

static void closed_cb(struct baton_agent *a)
{
	((struct run *)a->data)->closed = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	tracing = getenv("FUZZ_TRACE") != NULL;
	baton_log_set_stream(tracing ? stderr : fopen("/dev/null", "w"));
	baton_log_set_level(BATON_LOG_DEBUG); /* formats every line */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct baton_agent_config cfg = {
	    .pod_name = "orders-eu-0",
	    .pod_namespace = "lab",
	    .region = "eu-west",
	    .listen_host = "127.0.0.1",
	    .lease_margin_ms = 100,
	    .status_interval_ms = 3600 * 1000, /* no polls: determinism */
	};
	struct run *r;
	int sv[2];
	size_t i;

	if (size < 1) {
		return 0;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL || uv_loop_init(&r->loop) != 0) {
		abort();
	}
	r->engine.ops = &fake_ops;
	r->engine.impl = &r->fake;
	r->engine.max_lag_bytes = -1;
	switch (data[0] & 3) {
	case 0:
		break; /* an empty data directory */
	case 1:
	case 3:
		r->fake.exists = true;
		r->fake.role = BATON_ROLE_PRIMARY;
		r->fake.read_only = (data[0] & 3) == 1;
		break;
	case 2:
		r->fake.exists = r->fake.read_only = true;
		r->fake.role = BATON_ROLE_REPLICA;
		snprintf(r->fake.upstream, sizeof r->fake.upstream,
			 "10.0.0.1:5432");
		break;
	}
	uv_timer_init(&r->loop, &r->guard);
	r->guard.data = r;
	if (baton_agent_init(&r->loop, &r->agent, &cfg, &r->engine) != 0) {
		fail("the agent does not start");
	}
	r->agent.data = r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		abort();
	}
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	r->fd = sv[1];
	if (baton_http_server_adopt(&r->agent.http, sv[0]) != 0) {
		fail("the agent's server does not take a connected socket");
	}
	RUN_UNTIL(r, idle(r));
	check_idle(r);

	for (i = 1; i < size;) {
		uint8_t op = data[i++] % 12;
		uint8_t b0 = i < size ? data[i] : 0;
		uint8_t b1 = i + 1 < size ? data[i + 1] : 0;
		uint8_t b2 = i + 2 < size ? data[i + 2] : 0;

		switch (op) {
		case 7:
			lease_answer(r, b0, b1, b2);
			i += 3;
			break;
		case 8: {
			size_t n = b0;
			i = i < size ? i + 1 : size;
			n = n < size - i ? n : size - i;
			order(r, (const char *)data + i, n);
			i += n;
			break;
		}
		case 9:
			if (tracing) {
				fprintf(stderr, "engine faults 0x%02x\n", b0);
			}
			r->fake.faults = b0;
			i++;
			break;
		case 10:
			status_request(r);
			break;
		case 11:
			if (tracing) {
				fprintf(stderr, "instance crashes\n");
			}
			r->fake.running = false;
			break;
		default:
			structured_order(r, op, b0);
			i++;
			break;
		}
	}

	r->fake.faults = 0;
	baton_agent_close(&r->agent, closed_cb);
	RUN_UNTIL(r, r->closed);
	if (writable(&r->fake)) {
		fail("the agent closed and left the instance writable");
	}
	close(r->fd);
	uv_close((uv_handle_t *)&r->guard, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&r->loop) != 0) {
		fail("a handle outlived the agent");
	}
	free(r);
	return 0;
}
