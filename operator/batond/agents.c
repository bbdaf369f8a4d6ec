#include "batond/agents.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "batond/agentpki.h"
#include "batond/children.h"
#include "batond/config.h"
#include "batond/hold.h"
#include "batond/lastfailover.h"
#include "batond/syncset.h"
#include "http/server.h"
#include "common/labels.h"
#include "common/assert.h"
#include "common/failpoint.h"
#include "common/log.h"
#include "common/version.h"
#include "consensus/designate.h"
#include "kube/client.h"
#include "kube/config.h"
#include "mesh-adapters/mesh.h"

#define TICK_MS 200
/* the timer's period: a full tick runs every TICK_MS, or at once when the
 * FSM applied a role or phase change (ops->generation) */
#define WAKE_MS 25
#define POLL_MS 1000
#define POLL_FAST_MS 100 /* a promoted primary waiting for its lease */
/* a planned switchover's target, until it replayed the final position */
#define POLL_TARGET_MS 50
#define POLL_TIMEOUT_MS 2000
/* a status older than BATON_DESIGNATE_STALE_MS drives nothing: one
 * constant, so that what the designation counts as an agent gone silent
 * (consensus/designate.h) is what the orders and the report stop at */
#define ORDER_TIMEOUT_MS 15000	     /* lease, promote, fence */
#define LONG_ORDER_TIMEOUT_MS 600000 /* init, rejoin: copies data */
/* standbys: the engine waits up to 30 s for every walsender to take the
 * reload (agent.md); a shorter timeout would cut a slow one short */
#define STANDBYS_ORDER_TIMEOUT_MS 45000
#define BACKOFF_MAX_MS 30000

/* A pod's record is sized for what the pod uses (issue 20: ~1.3 KiB each
 * when every string had its largest size): its names are one allocation
 * with the record, and the texts that are empty for most pods (an error,
 * a forensic fence's reason) or short (an endpoint) are allocated while
 * set (set_text()), NULL while empty; read them through text(). */
struct baton_agents_pod {
	struct baton_agents *a;
	/* into names[], set once at creation */
	const char *key;     /* "ns/pod" */
	const char *db;	     /* "ns/cluster", the FSM's name */
	const char *ns;	     /* each at most 63 bytes, as before (the */
	const char *name;    /* names' own limit; they were char[64]) */
	const char *cluster; /* the pod's BATON_LABEL_CLUSTER */
	char ip[64];
	int ordinal;
	int db_port;
	json_t *status; /* the agent's last /v1/status */
	uint64_t status_ms;
	uint64_t poll_sent_ms; /* when the poll in flight was sent */
	uint64_t next_poll_ms;
	unsigned poll_failures;
	/* the requests, each allocated only while it is in flight (non-NULL
	 * exactly then): ~0.6 KiB each, embedded they were half of a pod's
	 * record */
	struct baton_kube_request *poll_req;
	struct baton_kube_request *order_req;
	bool pinned; /* a caller still uses it: pod_release waits */
	char order[16];
	uint64_t order_epoch;
	uint64_t order_ms;
	/* init replica / rejoin: the endpoint, at most TARGET_SIZE - 1 */
	char *order_target;
	uint64_t next_order_ms;
	unsigned order_failures;
	uint64_t fence_proposed_ms;
	uint64_t order_round; /* the FSM's round the order was for */
	/* answers that count for one epoch and round only (the FSM's) */
	uint64_t fence_epoch, fence_round, fence_position;
	bool fence_ok;
	uint64_t detach_epoch, detach_round, detach_position;
	bool detach_ok;
	/* the last successful standbys order's answer: its epoch, G and X
	 * (the primary's flush position once the list took effect), and
	 * when it came (designation's RELEASE evidence, §3.3) */
	bool answer_ok;
	uint64_t answer_epoch, answer_gen, answer_x, answer_ms;
	uint64_t lease_asked_ms; /* last lease question, and its answer */
	uint64_t lease_granted_ms;
	uint64_t lease_asks;
	char *following;  /* endpoint we last told it to stream from (same) */
	char *last_error; /* at most ERROR_SIZE - 1 bytes */
	/* a forensic fence (batond/hold.h), and what its annotation says */
	bool held;
	char *hold_reason; /* at most BATON_HOLD_REASON_SIZE - 1 bytes */
	bool seen;
	bool gone;
	struct baton_agents_pod *next;
	char names[]; /* key, db, ns, name, cluster, each NUL-terminated */
};

/* the bounds of a pod's texts, those of the arrays they were */
#define TARGET_SIZE 96	 /* order_target, following */
#define ERROR_SIZE 256	 /* last_error */
#define SYNC_SIZE 512	 /* a database's sync */
#define POD_KEY_SIZE 160 /* a pod's key, "ns/pod" (its index's records) */

/* Per database, recomputed every tick from its pods. */
struct baton_agents_db {
	char db[BATON_NAME_SIZE];
	bool answered; /* some agent of it answered */
	/* some agent of it has asked for a lease: it has agents, so a
	 * silent one is down, not absent (no falling back to readiness) */
	bool has_agents;
	/* health, readiness, position: the designated instance's only;
	 * the spare: the best sibling (baton_agents_fold()) */
	struct baton_region_report rep;
	/* the designated instance's pod is Ready: the report before any
	 * agent answered (not a sibling's readiness) */
	bool pod0_ready;
	char endpoint[96];
	/* "host:port" of the designated instance (the FSM's), whatever its
	 * role: where the other regions' standbys will stream from once
	 * this region is promoted (published as instanceEndpoint) */
	char instance[96];
	/* the primary's synchronous standbys, comma-separated, at most
	 * SYNC_SIZE - 1 bytes; allocated while there are any (a record is
	 * sized for what its database uses: 512 bytes each before) */
	char *sync;
	bool sync_set; /* SYNC was read at this tick */
	/* the designated ordinal ENDPOINT, INSTANCE and SYNC were read for
	 * (the last tick's): after a promote or a move inside this region
	 * they are the old instance's until the next tick, and a status
	 * written in between must not publish them (the other regions'
	 * standbys would be sent to a lost instance: 10 s of a sibling
	 * failover on the lab) */
	int read_for;
	bool seen;
	/* The hops of the next promote's critical path as seen here, for
	 * stepsMillis (note_fsm_hops()): the FSM's phase and epoch at the
	 * last tick, when this region applied the round's start
	 * (SwitchingOver or FailingOver) and the old primary's fence
	 * (Fenced); CLOCK_MONOTONIC ms, 0: not seen. Up to WAKE_MS late:
	 * the tick that notices runs within that of the apply. */
	uint8_t hop_phase;
	uint64_t hop_epoch;
	uint64_t committed_ms, fenced_ms;
	/* what the last tick computed, as a 64-bit hash of its text (800
	 * bytes per database kept whole): a change is reported
	 * (env.changed), so the status follows the agents without a
	 * reconcile per order */
	uint64_t last_summary;
	/* the primary's synchronous list as last derived (wanted_list()),
	 * and what it was derived from; allocated only for synchronous
	 * databases whose primary this region holds (about 1 KiB) */
	struct wanted {
		char uid[64];
		json_int_t generation;
		struct wanted_key {
			uint64_t epoch;
			int primary;
			bool synchronous;
			unsigned n_regions;
			uint8_t role[BATON_MAX_REGIONS];
			uint16_t listed[BATON_MAX_REGIONS];
		} key;
		struct baton_syncset list;
	} * wanted;
	struct baton_agents_db *next;
};

/* lease times: CLOCK_BOOTTIME (common/clock.h) */
static uint64_t now_ms(void)
{
	return baton_lease_clock_ms();
}

/* A pod's optional text: "" for NULL. */
static const char *text(const char *s)
{
	return s != NULL ? s : "";
}

/* *DST = SRC, at most SIZE - 1 bytes of it as snprintf() into a char[SIZE]
 * kept it; NULL for "". Nothing is allocated when the text is unchanged
 * (every tick sets some again). Out of memory, *DST is NULL: the text
 * reads as empty, which every reader takes as "none". */
static void set_text(char **dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	if (*dst != NULL && strncmp(*dst, src, n) == 0 && (*dst)[n] == '\0') {
		return;
	}
	free(*dst);
	*dst = NULL;
	if (n > 0 && (*dst = malloc(n + 1)) != NULL) {
		memcpy(*dst, src, n);
		(*dst)[n] = '\0';
	}
}

/* ---- pure helpers --------------------------------------------------------
 */

uint64_t baton_agents_summary_hash(const char *s)
{
	/* FNV-1a; never 0, which a new database starts with, so its first
	 * summary is always reported */
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	}
	return h != 0 ? h : 1;
}

bool baton_agents_parse_lsn(const char *s, uint64_t *out)
{
	unsigned long long hi, lo;
	int n = 0;
	if (s == NULL || sscanf(s, "%llx/%llx%n", &hi, &lo, &n) != 2 ||
	    s[n] != '\0' || hi > 0xffffffffull || lo > 0xffffffffull) {
		return false;
	}
	*out = (uint64_t)hi << 32 | (uint64_t)lo;
	return true;
}

int baton_agents_ordinal(const char *pod)
{
	const char *dash = pod ? strrchr(pod, '-') : NULL;
	char *end;
	long v;
	if (dash == NULL || dash[1] == '\0') {
		return -1;
	}
	v = strtol(dash + 1, &end, 10);
	if (*end != '\0' || v < 0 || v > 100000) {
		return -1;
	}
	return (int)v;
}

static const char *sget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool bget(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

/* The agent's WAL position: "position" (bytes), else its LSN strings. */
static uint64_t agent_position(json_t *st)
{
	json_t *p = json_object_get(st, "position");
	uint64_t v = 0;
	if (json_is_integer(p) && json_integer_value(p) >= 0) {
		return (uint64_t)json_integer_value(p);
	}
	if (!baton_agents_parse_lsn(sget(st, "lsn"), &v)) {
		baton_agents_parse_lsn(sget(st, "replayLsn"), &v);
	}
	return v;
}

uint64_t baton_agents_follows_epoch(json_t *st)
{
	json_t *e = json_object_get(st, "epoch");
	uint64_t epoch;

	if (!json_is_integer(e) || json_integer_value(e) < 1) {
		return 0; /* an agent that says nothing of it: not checked */
	}
	epoch = (uint64_t)json_integer_value(e);
	/* an order at EPOCH under way (a rejoin's pg_rewind, a promote):
	 * the instance does not follow that epoch's primary yet; an epoch
	 * of 1 under way (the first init) has no earlier timeline */
	if (bget(st, "busy")) {
		static const char *const same_timeline[] = {
		    "status", "fence", "unfence", "detach", "cascade"};
		const char *op = sget(st, "operation");
		for (size_t i = 0; op != NULL && i < sizeof same_timeline /
							 sizeof *same_timeline;
		     i++) {
			if (strcmp(op, same_timeline[i]) == 0) {
				return epoch;
			}
		}
		return epoch > 1 ? epoch - 1 : 0;
	}
	return epoch;
}

static bool agent_initialized(json_t *st)
{
	json_t *i = json_object_get(st, "initialized");
	const char *role = sget(st, "role");
	if (json_is_boolean(i)) {
		return json_is_true(i);
	}
	return role != NULL && strcmp(role, "none") != 0;
}

uint64_t baton_agents_position(json_t *st)
{
	return agent_position(st);
}

bool baton_agents_serving(json_t *st)
{
	const char *h = sget(st, "health");

	/* a stopped instance (a failed rejoin) serves nothing: not healthy,
	 * whatever the pod says */
	return st != NULL && agent_initialized(st) && bget(st, "ready") &&
	       !json_is_false(json_object_get(st, "running")) &&
	       (h == NULL || strcmp(h, "failed") != 0);
}

/* A record of a->pod_index or a->db_index: the key and the pod or
 * database it names (owned by a->pods / a->dbs, not by the index). */
struct agents_ref {
	void *ptr;
	char key[]; /* KEY_SIZE bytes (index_init()) */
};

static void *index_get(const struct baton_index *ix, const char *key)
{
	const struct agents_ref *r = baton_index_get(ix, key);
	return r != NULL ? r->ptr : NULL;
}

/* 0, or an error with nothing added (the caller drops PTR) */
static int index_set(struct baton_index *ix, const char *key, void *ptr)
{
	struct agents_ref *r;
	int rv = baton_failpoint() ? BATON_ENOMEM
				   : baton_index_add(ix, key, (void **)&r);
	if (rv != 0) {
		return rv;
	}
	r->ptr = ptr;
	return 0;
}

/* KEY_SIZE: a pod's key ("ns/pod") was bounded at 160 bytes and a
 * database's name at BATON_NAME_SIZE; one record type sized for the pods
 * cost every database 96 bytes more. */
static void index_init(struct baton_index *ix, size_t key_size)
{
	baton_index_init(ix, sizeof(struct agents_ref) + key_size,
			 offsetof(struct agents_ref, key), key_size,
			 BATON_MAX_DATABASES * 4);
}

/* ---- requests ---------------------------------------------------------- */

static void maybe_stopped(struct baton_agents *a);

static void pod_free(struct baton_agents_pod *p)
{
	json_decref(p->status);
	free(p->order_target);
	free(p->following);
	free(p->last_error);
	free(p->hold_reason);
	free(p);
}

/* Unlinks and frees P once nothing of it is in flight and no caller holds
 * it (pinned). */
static void pod_release(struct baton_agents *a, struct baton_agents_pod *p)
{
	struct baton_agents_pod **pp;
	bool linked = false;
	if (p->poll_req != NULL || p->order_req != NULL || p->pinned) {
		return;
	}
	for (pp = &a->pods; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			linked = true;
			break;
		}
	}
	/* every pod lives in a->pods from its creation to here: one missing
	 * was released before, and freeing it again corrupts the heap */
	BATON_ASSERT(linked);
	if (!a->stopping) {
		(void)baton_index_del(&a->pod_index, p->key);
	}
	pod_free(p);
}

static const char *field_summary(json_t *st, char *buf, size_t n)
{
	json_t *sync = json_object_get(st, "syncStandbys");
	char *s = json_dumps(sync ? sync : json_null(), JSON_COMPACT);
	snprintf(buf, n, "%s|%d|%d|%d|%d|%s",
		 sget(st, "role") ? sget(st, "role") : "", bget(st, "writable"),
		 bget(st, "fenced"), agent_initialized(st), bget(st, "ready"),
		 s ? s : "");
	free(s);
	return buf;
}

/* stepsMillis after a promote, in the new primary's region: its agent
 * answered the promote order (PostgreSQL promoted: PROMOTE_ANSWER), its
 * instance is writable (lease granted, unfenced), and the first
 * synchronous standby streams from it (in synchronous mode the first
 * commit can be acknowledged only from then on). As batond sees them:
 * from the order's answer or a poll. */
static void note_agent_hops(struct baton_agents *a, struct baton_agents_pod *p,
			    bool promote_answer)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	const struct baton_db_state *st;
	struct baton_lastfailover *lf = a->env.lastfo;
	json_t *s = p->status, *pe;
	int64_t ms;
	bool any = false;

	if (lf == NULL || cs == NULL || s == NULL ||
	    (st = cs->db(cs->data, p->db)) == NULL || st->primary < 0 ||
	    baton_fsm_region_index(st, a->env.region) != st->primary ||
	    p->ordinal != (int)st->regions[st->primary].designated ||
	    sget(s, "role") == NULL ||
	    strcmp(sget(s, "role"), "primary") != 0 ||
	    !json_is_integer(pe = json_object_get(s, "primaryEpoch")) ||
	    (uint64_t)json_integer_value(pe) != st->epoch ||
	    (ms = baton_lastfailover_since(lf, p->db, baton_mono_ms())) < 0) {
		return;
	}
	if (promote_answer) {
		any |= baton_lastfailover_step(lf, p->db, st->epoch, "promoted",
					       ms);
	}
	if (bget(s, "writable")) {
		any |= baton_lastfailover_step(lf, p->db, st->epoch, "writable",
					       ms);
	}
	if (json_array_size(json_object_get(s, "syncStandbys")) > 0) {
		any |= baton_lastfailover_step(lf, p->db, st->epoch, "standby",
					       ms);
	}
	if (any && a->env.changed != NULL) {
		a->env.changed(a->env.data, p->db);
	}
}

/* stepsMillis "granted": the new primary's agent was first given a lease
 * at the promote's epoch (it unfences next), as batond answered it. */
static void note_grant(struct baton_agents *a, struct baton_agents_pod *p,
		       const struct baton_db_state *st)
{
	struct baton_lastfailover *lf = a->env.lastfo;
	int64_t ms;

	if (lf == NULL || st->primary < 0 ||
	    baton_fsm_region_index(st, a->env.region) != st->primary ||
	    (ms = baton_lastfailover_since(lf, p->db, baton_mono_ms())) < 0) {
		return;
	}
	if (baton_lastfailover_step(lf, p->db, st->epoch, "granted", ms) &&
	    a->env.changed != NULL) {
		a->env.changed(a->env.data, p->db);
	}
}

/* stepsMillis before a promote, in every region: the round's start and
 * the old primary's fence as this region applied them, told once the
 * promote they led to is applied (negative: before it). */
static void note_fsm_hops(struct baton_agents *a)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	uint64_t now = baton_mono_ms();

	if (cs == NULL || a->env.lastfo == NULL) {
		return;
	}
	for (struct baton_agents_db *d = a->dbs; d != NULL; d = d->next) {
		const struct baton_db_state *st = cs->db(cs->data, d->db);
		if (st == NULL) {
			continue;
		}
		if (st->phase != d->hop_phase) {
			if (st->phase == BATON_PHASE_SWITCHING_OVER ||
			    st->phase == BATON_PHASE_FAILING_OVER) {
				d->committed_ms = now;
				d->fenced_ms = 0;
			} else if (st->phase == BATON_PHASE_FENCED) {
				d->fenced_ms = now;
			} else if (st->epoch == d->hop_epoch) {
				/* called off: its hops lead nowhere */
				d->committed_ms = d->fenced_ms = 0;
			}
			d->hop_phase = st->phase;
		}
		if (st->epoch == d->hop_epoch) {
			continue;
		}
		if (d->hop_epoch != 0 && d->committed_ms != 0) {
			bool any = baton_lastfailover_before(
			    a->env.lastfo, d->db, st->epoch, "committed",
			    d->committed_ms);
			if (d->fenced_ms != 0) {
				any |= baton_lastfailover_before(
				    a->env.lastfo, d->db, st->epoch, "fenced",
				    d->fenced_ms);
			}
			if (any && a->env.changed != NULL) {
				a->env.changed(a->env.data, d->db);
			}
		}
		d->committed_ms = d->fenced_ms = 0;
		d->hop_epoch = st->epoch;
	}
}

/* A primary that is not writable yet (a promote done, its first lease on
 * the way) is watched closely: the moment it becomes writable is when its
 * endpoint is published and the other regions' standbys are told to
 * follow it (a 1 s poll cost up to 1 s of every failover and switchover on
 * the lab). So is one without a synchronous standby in synchronous mode:
 * no write is acknowledged before one streams, and when one does is the
 * "standby" hop of stepsMillis. */
static bool watch_closely(struct baton_agents *a, struct baton_agents_pod *p)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	const struct baton_db_state *st;
	const char *role = sget(p->status, "role");

	if (role == NULL || strcmp(role, "primary") != 0) {
		return false;
	}
	if (!bget(p->status, "writable")) {
		return true;
	}
	return cs != NULL && (st = cs->db(cs->data, p->db)) != NULL &&
	       st->cfg.synchronous &&
	       json_array_size(json_object_get(p->status, "syncStandbys")) == 0;
}

static void target_caught_up(struct baton_agents *a,
			     const struct baton_agents_pod *p);

static void poll_done(struct baton_kube_request *req, int status)
{
	struct baton_agents_pod *p = req->data;
	struct baton_agents *a = p->a;
	uint64_t now = now_ms();

	if (a->stopping || p->gone) {
		pod_release(a, p);
		if (a->stopping) {
			maybe_stopped(a);
		}
		return;
	}
	if (status == 0 && json_is_object(req->result) &&
	    p->status_ms > p->poll_sent_ms) {
		/* an order's answer came in while this poll was on its way:
		 * the poll's status may be the older one (it would repeat
		 * the order); kept the answer, and ask again at once */
		p->poll_failures = 0;
		p->next_poll_ms = now;
		return;
	}
	if (status == 0 && json_is_object(req->result)) {
		char before[600] = "", after[600];
		if (p->status != NULL) {
			field_summary(p->status, before, sizeof before);
		}
		json_decref(p->status);
		p->status = json_incref(req->result);
		p->status_ms = now;
		if (p->poll_failures > 0) {
			baton_log(BATON_LOG_INFO, "agents",
				  "%s: agent at %s answers again", p->key,
				  p->ip);
		}
		p->poll_failures = 0;
		p->next_poll_ms =
		    now + (watch_closely(a, p) ? POLL_FAST_MS : POLL_MS);
		note_agent_hops(a, p, false);
		target_caught_up(a, p);
		if (strcmp(before, field_summary(p->status, after,
						 sizeof after)) != 0 &&
		    a->env.changed != NULL) {
			a->env.changed(a->env.data, p->db);
		}
		return;
	}
	if (p->poll_failures == 0) {
		baton_log(BATON_LOG_INFO, "agents",
			  "%s: agent at %s does not answer: %s", p->key, p->ip,
			  req->errmsg);
	}
	{
		char err[ERROR_SIZE];
		snprintf(err, sizeof err, "status: %.200s", req->errmsg);
		set_text(&p->last_error, err, ERROR_SIZE);
	}
	p->poll_failures++;
	/* a restarted pod answers again within seconds; a pod that never
	 * answers (no agent: kwok in tests) is asked every 30 s */
	p->next_poll_ms =
	    now + (p->poll_failures <= 10 ? 2000 : BACKOFF_MAX_MS);
}

/* The agent's PATH: plain http to the pod IP, or (mutual TLS) https to its
 * database's certificate name connected to the pod IP, so the answer comes
 * from a holder of that database's key (batond/agentpki.h). */
static const char *agent_url(const struct baton_agents *a,
			     const struct baton_agents_pod *p, const char *path,
			     char *url, size_t size, char *connect,
			     size_t csize)
{
	bool v6 = strchr(p->ip, ':') != NULL;
	connect[0] = '\0';
	if (a->env.pki == NULL) {
		snprintf(url, size, "http://%s%s%s:%d%s", v6 ? "[" : "", p->ip,
			 v6 ? "]" : "", BATON_AGENT_PORT, path);
		return NULL;
	}
	{
		char host[160];
		baton_agentpki_agent_host(p->ns, p->cluster, host, sizeof host);
		snprintf(url, size, "https://%s:%d%s", host, BATON_AGENT_PORT,
			 path);
		snprintf(connect, csize, "%s:%d:%s%s%s:%d", host,
			 BATON_AGENT_PORT, v6 ? "[" : "", p->ip, v6 ? "]" : "",
			 BATON_AGENT_PORT);
	}
	return connect;
}

bool baton_agents_pod_ready(json_t *pod)
{
	size_t i;
	json_t *c;

	json_array_foreach(
	    json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
	{
		const char *t = sget(c, "type");
		const char *st = sget(c, "status");
		if (t != NULL && st != NULL && strcmp(t, "Ready") == 0) {
			return strcmp(st, "True") == 0;
		}
	}
	return false;
}

/* Whether P, an agent that has asked for its lease before, has not asked
 * for a whole lease period: whatever it held has ended (it counts from its
 * own question), so it cannot be the writable primary, whatever its last
 * status says. A paused or starved agent is noticed here after one lease,
 * not after STALE_MS plus the poll timeout; the renewals stop and another
 * region takes over (the drill pause-agent). Stopping renewals is always
 * safe; a batond loop stall delays the questions' processing by as much as
 * the renewals themselves. */
static bool asks_stopped(struct baton_agents *a, struct baton_agents_pod *p,
			 uint64_t now)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	const struct baton_db_state *st;

	if (p->lease_asks == 0 || cs == NULL ||
	    (st = cs->db(cs->data, p->db)) == NULL || st->cfg.lease_ms == 0 ||
	    now - p->lease_asked_ms <= st->cfg.lease_ms) {
		return false;
	}
	return true;
}

/* Whether P is the designated instance of a planned switchover's target
 * that has not yet said it replayed the old primary's final position: the
 * promote waits for exactly that (consensus/decider.c), so it is asked
 * every POLL_TARGET_MS, not every POLL_MS (on the lab the 1 s poll and the
 * 1 s report cost the switchover ~0.5 s each on average). */
static bool switchover_target(struct baton_agents *a,
			      const struct baton_agents_pod *p)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	const struct baton_db_state *st;
	int me;

	if (cs == NULL || (st = cs->db(cs->data, p->db)) == NULL ||
	    st->sw_target < 0 ||
	    (st->phase != BATON_PHASE_SWITCHING_OVER &&
	     st->phase != BATON_PHASE_FENCED)) {
		return false;
	}
	me = baton_fsm_region_index(st, a->env.region);
	return me == st->sw_target &&
	       p->ordinal == (int)st->regions[me].designated &&
	       (st->phase == BATON_PHASE_SWITCHING_OVER ||
		st->regions[me].position < st->sw_final_position);
}

/* P, a switchover's target, was just polled: once it has replayed the
 * fenced primary's final position the consensus tick reports that now, not
 * on its next turn (up to 50 ms later). */
static void target_caught_up(struct baton_agents *a,
			     const struct baton_agents_pod *p)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	const struct baton_db_state *st;

	if (cs == NULL || cs->kick == NULL || !switchover_target(a, p) ||
	    (st = cs->db(cs->data, p->db)) == NULL ||
	    st->phase != BATON_PHASE_FENCED ||
	    agent_position(p->status) < st->sw_final_position) {
		return;
	}
	cs->kick(cs->data);
}

/* The request is the pod's only while it is in flight: unhooked before
 * the answer is handled (which may release the pod, or start the next
 * request), freed after. */
static void poll_cb(struct baton_kube_request *req, int status)
{
	struct baton_agents_pod *p = req->data;

	p->poll_req = NULL;
	poll_done(req, status);
	free(req);
}

static void poll(struct baton_agents *a, struct baton_agents_pod *p,
		 uint64_t now)
{
	char url[256], connect[256];
	if (p->poll_req != NULL || p->ip[0] == '\0') {
		return;
	}
	if (now < p->next_poll_ms &&
	    !(p->poll_failures == 0 && now - p->status_ms >= POLL_TARGET_MS &&
	      switchover_target(a, p))) {
		return;
	}
	if ((p->poll_req = calloc(1, sizeof *p->poll_req)) == NULL) {
		return; /* the next tick tries again */
	}
	p->poll_req->data = p;
	p->poll_sent_ms = now_ms();
	if (baton_kube_request_start_via(
		&a->client, p->poll_req,
		agent_url(a, p, "/v1/status", url, sizeof url, connect,
			  sizeof connect),
		"GET", url, NULL, NULL, POLL_TIMEOUT_MS, poll_cb) != 0) {
		free(p->poll_req);
		p->poll_req = NULL;
	}
}

static void order_event(struct baton_agents *a, struct baton_agents_pod *p,
			bool ok, const char *detail)
{
	char msg[512];
	const char *reason = NULL;
	if (!ok) {
		snprintf(msg, sizeof msg,
			 "%s of %s at epoch %" PRIu64
			 " failed (will retry): %s",
			 p->order, p->name, p->order_epoch, detail);
		a->env.event(a->env.data, p->db, "Warning", "AgentOrderFailed",
			     msg);
		return;
	}
	if (strcmp(p->order, "promote") == 0) {
		reason = "Promoted";
		snprintf(msg, sizeof msg,
			 "%s promoted to primary at epoch %" PRIu64
			 " in region %s",
			 p->name, p->order_epoch, a->env.region);
	} else if (strcmp(p->order, "fence") == 0) {
		reason = "Fenced";
		snprintf(msg, sizeof msg,
			 "%s fenced (read-only) at epoch %" PRIu64, p->name,
			 p->order_epoch);
	} else if (strcmp(p->order, "rejoin") == 0) {
		reason = "Rejoined";
		snprintf(msg, sizeof msg,
			 "%s rejoined as a replica of %s at epoch %" PRIu64,
			 p->name, text(p->order_target), p->order_epoch);
	} else if (strcmp(p->order, "init") == 0) {
		reason = "Initialized";
		snprintf(msg, sizeof msg, "%s initialised as %s", p->name,
			 p->order_target != NULL ? "a replica"
						 : "the first primary");
	}
	if (reason != NULL) {
		a->env.event(a->env.data, p->db, "Normal", reason, msg);
	}
}

/* P's agent answered a standbys order with R: its G and X (flushPosition,
 * else flushLsn), for the order's epoch, kept as the RELEASE's evidence
 * (consensus/designate.h). An answer without a G says nothing. */
static void standbys_answer(struct baton_agents_pod *p, json_t *r, uint64_t now)
{
	json_t *gen = json_object_get(r, "gen");
	json_t *x = json_object_get(r, "flushPosition");
	uint64_t lsn = 0;

	if (!json_is_integer(gen) || json_integer_value(gen) < 0) {
		return;
	}
	if (json_is_integer(x) && json_integer_value(x) > 0) {
		lsn = (uint64_t)json_integer_value(x);
	} else {
		(void)baton_agents_parse_lsn(sget(r, "flushLsn"), &lsn);
	}
	p->answer_ok = true;
	p->answer_epoch = p->order_epoch;
	p->answer_gen = (uint64_t)json_integer_value(gen);
	p->answer_x = lsn;
	p->answer_ms = now;
}

static void order_done(struct baton_kube_request *req, int status)
{
	struct baton_agents_pod *p = req->data;
	struct baton_agents *a = p->a;
	uint64_t now = now_ms();

	if (a->stopping || p->gone) {
		pod_release(a, p);
		if (a->stopping) {
			maybe_stopped(a);
		}
		return;
	}
	p->next_poll_ms = now; /* see the effect at once */
	a->tick_ms = 0;	       /* and act on it on the next wake */
	if (status == 0) {
		baton_log_kv(BATON_LOG_INFO, "agents",
			     json_pack("{s:s, s:s, s:I, s:I}", "pod", p->key,
				       "order", p->order, "epoch",
				       (json_int_t)p->order_epoch, "millis",
				       (json_int_t)(now - p->order_ms)),
			     "%s: %s done in %" PRIu64 " ms", p->key, p->order,
			     now - p->order_ms);
		if (p->order_target != NULL) {
			set_text(&p->following, p->order_target, TARGET_SIZE);
		}
		p->order_failures = 0;
		p->next_order_ms = 0;
		/* The answer is the agent's status after the order: drive on
		 * it, not on the status from before (which would repeat the
		 * order). */
		if (json_is_object(req->result) &&
		    json_object_get(req->result, "role") != NULL) {
			json_t *r = req->result;
			json_decref(p->status);
			p->status = json_incref(r);
			p->status_ms = now;
			/* the answers the FSM may be told about, for the epoch
			 * and round the order was for */
			if (strcmp(p->order, "fence") == 0 &&
			    bget(r, "fenced") && !bget(r, "writable") &&
			    !bget(r, "leaseValid")) {
				p->fence_ok = true;
				p->fence_epoch = p->order_epoch;
				p->fence_round = p->order_round;
				p->fence_position = agent_position(r);
			}
			if (strcmp(p->order, "detach") == 0 &&
			    bget(r, "detached") &&
			    json_is_integer(
				json_object_get(r, "finalPosition"))) {
				p->detach_ok = true;
				p->detach_epoch = p->order_epoch;
				p->detach_round = p->order_round;
				p->detach_position =
				    (uint64_t)json_integer_value(
					json_object_get(r, "finalPosition"));
				/* the consensus tick reports it now */
				if (a->env.consensus != NULL &&
				    a->env.consensus->kick != NULL) {
					a->env.consensus->kick(
					    a->env.consensus->data);
				}
			}
			if (strcmp(p->order, "standbys") == 0) {
				standbys_answer(p, r, now);
			}
		}
		note_agent_hops(a, p, strcmp(p->order, "promote") == 0);
		order_event(a, p, true, NULL);
		if (a->env.changed != NULL) {
			a->env.changed(a->env.data, p->db);
		}
		return;
	}
	{
		const char *detail = req->errmsg;
		char buf[300];
		if (json_is_string(json_object_get(req->result, "error"))) {
			snprintf(buf, sizeof buf, "HTTP %ld: %s",
				 req->http_status, sget(req->result, "error"));
			detail = buf;
		}
		{
			char err[ERROR_SIZE];
			snprintf(err, sizeof err, "%s: %.200s", p->order,
				 detail);
			set_text(&p->last_error, err, ERROR_SIZE);
		}
		baton_log(BATON_LOG_WARN, "agents",
			  "%s: %s at epoch %" PRIu64 " failed: %s", p->key,
			  p->order, p->order_epoch, detail);
		{
			/* a refused cascade (the target promoted
			 * meanwhile) must not hold up the rejoin that
			 * follows the promote by a second */
			uint64_t backoff =
			    (strcmp(p->order, "cascade") == 0 ? 250ull
							      : 1000ull)
			    << (p->order_failures < 5 ? p->order_failures : 5);
			p->order_failures++;
			p->next_order_ms =
			    now + (backoff < BACKOFF_MAX_MS ? backoff
							    : BACKOFF_MAX_MS);
			if (p->order_failures == 1 ||
			    p->order_failures % 10 == 0) {
				order_event(a, p, false, detail);
			}
		}
	}
}

/* as poll_cb: the request is the pod's only while it is in flight */
static void order_cb(struct baton_kube_request *req, int status)
{
	struct baton_agents_pod *p = req->data;

	p->order_req = NULL;
	order_done(req, status);
	free(req);
}

/* Sends ACTION at EPOCH with the fields of BODY (stolen). TARGET is the
 * endpoint an init replica / rejoin streams from ("" otherwise). */
static void send_order(struct baton_agents *a, struct baton_agents_pod *p,
		       const char *action, uint64_t epoch, json_t *body,
		       const char *target, long timeout_ms)
{
	char url[256], connect[256];
	const char *via;
	char *text;
	int rv;

	if (body == NULL) {
		return;
	}
	json_object_set_new(body, "action", json_string(action));
	json_object_set_new(body, "epoch", json_integer((json_int_t)epoch));
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		return;
	}
	via = agent_url(a, p, "/v1/order", url, sizeof url, connect,
			sizeof connect);
	snprintf(p->order, sizeof p->order, "%s", action);
	set_text(&p->order_target, target, TARGET_SIZE);
	p->order_epoch = epoch;
	p->order_ms = now_ms();
	if ((p->order_req = calloc(1, sizeof *p->order_req)) == NULL) {
		free(text);
		return;
	}
	p->order_req->data = p;
	rv = baton_kube_request_start_via(&a->client, p->order_req, via, "POST",
					  url, "application/json", text,
					  timeout_ms, order_cb);
	free(text);
	if (rv != 0) {
		free(p->order_req);
		p->order_req = NULL;
	} else {
		baton_log(BATON_LOG_INFO, "agents",
			  "%s: ordering %s at epoch %" PRIu64 "%s%s", p->key,
			  action, epoch, target[0] ? " from " : "", target);
	}
}

static json_t *with_endpoint(const char *endpoint)
{
	char host[80];
	const char *colon = strrchr(endpoint, ':');
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;
	size_t n = colon ? (size_t)(colon - endpoint) : 0;
	if (colon == NULL || n == 0 || n >= sizeof host || port <= 0 ||
	    port > 65535) {
		return NULL;
	}
	memcpy(host, endpoint, n);
	host[n] = '\0';
	return json_pack("{s:s, s:i}", "primaryHost", host, "primaryPort",
			 (int)port);
}

/* ---- deciding what a pod should do ----------------------------------------
 */

static bool any_position(const struct baton_db_state *st)
{
	for (unsigned i = 0; i < st->n_regions; i++) {
		if (st->regions[i].position > 0) {
			return true;
		}
	}
	return false;
}

/* V stops streaming in this synchronous failover round to say where its
 * WAL ends: a member of another data region (either may hold the only
 * copy of an acknowledged commit), the lost region's spare (a candidate
 * on its region's word), or, after a promote that left a floor, a standby
 * region's spare that the promote dropped from its members
 * (baton_decider_final_due(), the rule the driver and the simulation
 * follow too). The driver asks for each one's detach answer as its final
 * (driver.c report_finals(), report_lost_spare()). */
static bool detaches(const struct baton_db_state *st, int me,
		     const struct baton_agent_view *v)
{
	return baton_decider_final_due(st, me, v->ordinal) !=
		   BATON_FINAL_NONE &&
	       v->role != NULL && strcmp(v->role, "replica") == 0 &&
	       !v->detach_done;
}

void baton_agents_decide(const struct baton_db_state *st, int me,
			 const struct baton_agent_view *v,
			 struct baton_agent_order *out)
{
	const char *role = v->role ? v->role : "none";
	bool here = st->primary == me;
	bool designated =
	    here && me >= 0 && v->ordinal == (int)st->regions[me].designated;
	const char *ep = v->primary_endpoint;

	memset(out, 0, sizeof *out);
	out->epoch = st->epoch;
	if (v->held) {
		/* a forensic fence: whatever the FSM says (batond/hold.h) */
		baton_hold_decide(v, out);
		return;
	}
	if (!v->initialized) {
		if (designated && st->epoch == 1 && !any_position(st)) {
			out->action = "init"; /* a brand-new database */
		} else if (ep != NULL && strcmp(ep, v->own_endpoint) != 0) {
			out->action = "init";
			out->target = ep;
		}
		return;
	}
	if (designated) {
		if (st->phase == BATON_PHASE_SWITCHING_OVER ||
		    st->phase == BATON_PHASE_FENCED) {
			/* planned switchover, the old primary's side: fence,
			 * then tell the FSM where the WAL ends, from the
			 * fence order's own answer */
			if (!v->fence_acked) {
				out->action = "fence";
			} else if (st->phase == BATON_PHASE_SWITCHING_OVER) {
				out->propose_fence = true;
				out->fence_position = v->fence_position;
			}
			return;
		}
		/* a failover round from this region is under way: its
		 * designated instance is the one lost, never a candidate
		 * (decider.c); an instance of it that came back as a replica
		 * is not made primary again at the old epoch, only to be
		 * rewound once the round promotes another (found reading
		 * commit 7's sibling path) */
		if (st->phase == BATON_PHASE_FAILING_OVER) {
			return;
		}
		/* No wait for this region's first renewal (it cost every
		 * failover and switchover ~0.2 s): a promoted instance stays
		 * read-only until its agent holds a lease, which it is granted
		 * only while this region's lease is valid (lease_grant), and
		 * PostgreSQL refuses writes past the lease itself (pg_lease).
		 * A grant at epoch E counts only on the instance promoted at
		 * E (agent/lease.h): an instance that is already primary at
		 * an older epoch is promoted again (nothing changes in the
		 * engine; the agent records the epoch). */
		if (strcmp(role, "primary") != 0 ||
		    v->primary_epoch != st->epoch) {
			out->action = "promote";
		}
		return;
	}
	/* a synchronous failover: every member of every other data
	 * region's synchronous set (its designated standby and, while a
	 * designation move is in flight, the other member: M = {a, b},
	 * docs/design-per-instance.md §3.5) stops streaming and says where
	 * its WAL ends; either may hold the only copy of an acknowledged
	 * commit, and the failover waits for each one's final. So does the
	 * lost primary region's spare (§4), whose final never blocks the
	 * round but makes it a candidate. Once
	 * every one has, the FSM's pick is known to all: the others stream
	 * from the target while it is still a standby (a cascade, as in a
	 * switchover; the engine checks that the target holds everything
	 * they do) and follow its promotion on that connection. Told to
	 * rejoin only once the promote was applied, they raced it, and
	 * their fork check and WAL receiver restart came after it:
	 * 0.5-0.9 s of every synchronous region failover (docs/lab.md). A
	 * target the leader does not promote after all (it died) leaves
	 * them cascading from a standby that holds their WAL: the rejoin
	 * below takes them to whoever is promoted. */
	if (st->phase == BATON_PHASE_FAILING_OVER) {
		const char *t = v->failover_target;
		if (detaches(st, me, v)) {
			out->action = "detach";
		} else if (v->detach_done && strcmp(role, "replica") == 0 &&
			   t != NULL && strcmp(t, v->own_endpoint) != 0 &&
			   (v->upstream == NULL ||
			    strcmp(v->upstream, t) != 0)) {
			out->action = "cascade";
			out->target = t;
		}
		return;
	}
	/* A planned switchover, before the target is promoted: every other
	 * replica streams from the target instead of the old primary
	 * (cascading replication), so that it follows the target's
	 * promotion on the same connection and, in synchronous mode, is
	 * there to acknowledge the new primary's first commit. Ordered
	 * only after the promote, its rejoin (a fork check on a new
	 * connection, then the WAL receiver's restart) cost 0.4-0.9 s of
	 * every switchover's write gap. The engine switches only when the
	 * target has flushed everything this replica received, so it never
	 * holds WAL the target lacks (it can follow the target whatever
	 * happens next); a failed cascade leaves it streaming from the old
	 * primary. Replicas wait for the promote meanwhile: one that
	 * cascades must not be sent back to the old primary's endpoint.
	 * Called off (back to Healthy at this epoch) or turned into a
	 * failover, the rules below and above apply again: its upstream is
	 * not the primary's, so it rejoins it; detached, it reports. */
	if ((st->phase == BATON_PHASE_SWITCHING_OVER ||
	     st->phase == BATON_PHASE_FENCED) &&
	    strcmp(role, "replica") == 0) {
		const char *t = v->switchover_target;
		if (t != NULL && strcmp(t, v->own_endpoint) != 0 &&
		    !v->detached &&
		    (v->upstream == NULL || strcmp(v->upstream, t) != 0)) {
			out->action = "cascade";
			out->target = t;
		}
		return;
	}
	/* every other instance streams from the primary's endpoint. Until
	 * the promoted region publishes it (its instance turned writable:
	 * promote, then unfence), the address of the instance the FSM
	 * promoted will do: the rejoin waits for that instance to leave
	 * recovery before it rewinds against it (engine rejoin), so the
	 * standbys start over while the promote runs instead of after it.
	 * In synchronous mode the new primary commits nothing before one of
	 * them streams again: this is on the failover's critical path. */
	if (ep == NULL && v->primary_instance != NULL &&
	    st->phase == BATON_PHASE_HEALTHY &&
	    !(strcmp(role, "primary") == 0 && v->writable)) {
		ep = v->primary_instance; /* (a writable old primary is
					     fenced first, below) */
	}
	if (ep == NULL || strcmp(ep, v->own_endpoint) == 0) {
		if (strcmp(role, "primary") == 0 && v->writable) {
			out->action = "fence";
		}
		return;
	}
	if (strcmp(role, "primary") == 0 || strcmp(role, "stopped") == 0 ||
	    (strcmp(role, "replica") == 0 && v->detached) ||
	    (v->upstream != NULL && v->upstream[0] != '\0' &&
	     strcmp(v->upstream, ep) != 0) ||
	    (v->upstream == NULL && v->following != NULL &&
	     v->following[0] != '\0' && strcmp(v->following, ep) != 0)) {
		out->action = "rejoin";
		out->target = ep;
	} else if (strcmp(role, "replica") == 0 && v->epoch != 0 &&
		   v->epoch < st->epoch && v->upstream != NULL &&
		   strcmp(v->upstream, ep) == 0) {
		/* A replica that cascaded from a switchover's target followed
		 * its promotion on the same connection: no order carried the
		 * new epoch to it, and a region reports in an epoch only once
		 * its designated instance follows it
		 * (baton_agents_follows_epoch), so it was never again a
		 * switchover target or a failover candidate (CI, 2026-12-05:
		 * a second switchover to it waited forever). A cascade to
		 * the upstream it already has changes nothing in the engine
		 * (no reload, no WAL receiver restart) and brings the epoch. */
		out->action = "cascade";
		out->target = ep;
	}
}

uint64_t baton_agents_lease_grant(const struct baton_db_state *st, int me,
				  int ordinal, const struct baton_syncset *sync,
				  uint64_t grant_ms)
{
	if (st == NULL || me < 0 || st->primary != me ||
	    (unsigned)me >= st->n_regions ||
	    ordinal != (int)st->regions[me].designated ||
	    st->phase == BATON_PHASE_SWITCHING_OVER ||
	    st->phase == BATON_PHASE_FENCED) {
		return 0;
	}
	/* (I-LIST): no commit under a list naming a non-member */
	if (!baton_syncset_gate(st, sync)) {
		return 0;
	}
	return grant_ms;
}

/* The FSM's part of the list's inputs (baton_syncset_derive()), exactly:
 * the mode, the primary, and each region's role and L. Region names are
 * fixed from REGISTER on; a database registered again has another epoch
 * and comes from another object (another uid). No hash: a list kept past
 * a change of L but sent with the current G would tell the agent, and the
 * RELEASE that reads its answer, that an old list is the current one. */
static void list_key(const struct baton_db_state *st, struct wanted_key *k)
{
	k->epoch = st->epoch;
	k->primary = st->primary;
	k->synchronous = st->cfg.synchronous;
	k->n_regions = st->n_regions;
	for (unsigned i = 0; i < st->n_regions; i++) {
		k->role[i] = st->regions[i].role;
		k->listed[i] = st->regions[i].listed;
	}
}

static bool same_key(const struct wanted_key *x, const struct wanted_key *y)
{
	if (x->epoch != y->epoch || x->primary != y->primary ||
	    x->synchronous != y->synchronous || x->n_regions != y->n_regions) {
		return false;
	}
	for (unsigned i = 0; i < x->n_regions; i++) {
		if (x->role[i] != y->role[i] || x->listed[i] != y->listed[i]) {
			return false;
		}
	}
	return true;
}

/* The synchronous list the FSM's ST asks of DB's primary
 * (batond/syncset.h): true and OUT filled; false without the spec or the
 * FSM's applied count (then nothing is sent). Asynchronous: empty, with no
 * spec read. Otherwise the list is derived once per spec (the object's uid
 * and generation) and FSM state (list_key()) and kept with the database:
 * deriving it parsed the spec on every tick for every primary
 * (design-per-instance.md §9 note 23). G is the applied count at each
 * call, so a kept list still carries the current one. */
static bool wanted_list(struct baton_agents *a, const struct baton_db_state *st,
			const char *db, struct baton_syncset *out)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	struct baton_agents_db *d;
	struct baton_dbspec spec;
	char errmsg[BATON_ERRMSG_SIZE];
	const char *uid;
	json_int_t gen;
	struct wanted_key key;
	json_t *obj, *meta;

	if (cs == NULL || cs->applied == NULL) {
		return false;
	}
	if (!st->cfg.synchronous) {
		memset(out, 0, sizeof *out);
		out->gen = cs->applied(cs->data);
		return true;
	}
	if (a->env.dbcs == NULL ||
	    (obj = baton_kube_informer_get(a->env.dbcs, db)) == NULL) {
		return false;
	}
	meta = json_object_get(obj, "metadata");
	uid = json_string_value(json_object_get(meta, "uid"));
	gen = json_integer_value(json_object_get(meta, "generation"));
	list_key(st, &key);
	d = index_get(&a->db_index, db);
	if (d != NULL && d->wanted != NULL && uid != NULL &&
	    same_key(&d->wanted->key, &key) && d->wanted->generation == gen &&
	    strcmp(d->wanted->uid, uid) == 0) {
		*out = d->wanted->list;
		out->gen = cs->applied(cs->data);
		return true;
	}
	if (baton_dbspec_parse(obj, &spec, errmsg) != 0 ||
	    baton_syncset_derive(st, &spec, cs->applied(cs->data), out) != 0) {
		return false;
	}
	if (d != NULL && uid != NULL && strlen(uid) < sizeof d->wanted->uid &&
	    (d->wanted != NULL ||
	     (d->wanted = malloc(sizeof *d->wanted)) != NULL)) {
		memcpy(d->wanted->uid, uid, strlen(uid) + 1);
		d->wanted->generation = gen;
		d->wanted->key = key;
		d->wanted->list = *out;
	}
	return true;
}

/* BODY (an order's) gains "syncNames": the names of L. */
static json_t *with_sync_names(json_t *body, const struct baton_syncset *l)
{
	json_t *names = json_array();

	for (unsigned i = 0; names != NULL && i < l->n; i++) {
		json_array_append_new(names, json_string(l->names[i]));
	}
	if (body == NULL || names == NULL) {
		json_decref(names);
		json_decref(body);
		return NULL;
	}
	json_object_set_new(body, "syncNames", names);
	return body;
}

/* The list the primary instance P (status S) of region ME needs, when the
 * one it reports differs from the FSM's (baton_syncset_needs_order()), or
 * when a RELEASE waits for an answer at a G above the one it reports
 * (baton_syncset_needs_gen()): true and WANT filled. One order at a time
 * per pod (drive()), and the primary's is one pod per database. Only
 * outside a switchover and a failover's round, where the instance is
 * fenced or about to be. */
static bool standbys_due(struct baton_agents *a,
			 const struct baton_db_state *st, int me,
			 const struct baton_agents_pod *p, json_t *s,
			 struct baton_syncset *want)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	struct baton_syncset have;
	bool reported;

	if (st->primary != me || me < 0 || p->held ||
	    p->ordinal != (int)st->regions[me].designated ||
	    (st->phase != BATON_PHASE_HEALTHY &&
	     st->phase != BATON_PHASE_REGION_LOST) ||
	    !wanted_list(a, st, p->db, want)) {
		return false;
	}
	reported = baton_syncset_reported(s, &have);
	if (baton_syncset_needs_order(st, want, reported ? &have : NULL)) {
		return true;
	}
	/* a RELEASE waits for an answer at a G the agent's list has not
	 * reached (§9 note 31): the same list again, at the current G */
	return cs->need_gen != NULL &&
	       baton_syncset_needs_gen(cs->need_gen(cs->data, p->db),
				       reported ? &have : NULL, want->gen);
}

/* What the env's peer_* callbacks are given. */
static void *peer_data(const struct baton_agents *a)
{
	return baton_agents_peer_data(&a->env);
}

/* What region R's batond published for P's database (its endpoints) is
 * about the instance the FSM designates in R now: its entry names that
 * pod. An entry written before a promote or a move inside R names the
 * old one, whose addresses must not be used (a sibling failover on the
 * lab sent every standby to the lost instance: a 10 s connect timeout
 * before the retry). An entry that names none (an older batond) is
 * taken as it is. */
static bool peer_current(struct baton_agents *a,
			 const struct baton_agents_pod *p,
			 const struct baton_db_state *st, int r)
{
	const char *named;
	char want[128];

	if (a->env.peer_designated == NULL || r < 0 ||
	    (unsigned)r >= st->n_regions) {
		return true;
	}
	named = a->env.peer_designated(peer_data(a), p->ns, p->cluster,
				       st->regions[r].name);
	return named == NULL ||
	       baton_children_pod_name(p->cluster, st->regions[r].name,
				       st->regions[r].designated, want,
				       sizeof want) == NULL ||
	       strcmp(named, want) == 0;
}

static void drive(struct baton_agents *a, struct baton_agents_pod *p,
		  uint64_t now)
{
	const struct baton_consensus_ops *cs = a->env.consensus;
	const struct baton_db_state *st;
	struct baton_agents_db *info;
	json_t *s = p->status;
	json_t *epj;
	struct baton_agent_view v;
	struct baton_agent_order o;
	struct baton_syncset want;
	char own[96];
	int me;

	/* An agent busy with its periodic status read takes an order all
	 * the same (it queues it): waiting for the next poll cost a
	 * switchover's fence a second. */
	if (cs == NULL || s == NULL || p->order_req != NULL || p->gone ||
	    now < p->next_order_ms ||
	    now - p->status_ms > BATON_DESIGNATE_STALE_MS ||
	    (bget(s, "busy") &&
	     (sget(s, "operation") == NULL ||
	      strcmp(sget(s, "operation"), "status") != 0))) {
		return;
	}
	st = cs->db(cs->data, p->db);
	if (st == NULL || st->primary < 0) {
		return;
	}
	me = baton_fsm_region_index(st, a->env.region);
	if (me < 0) {
		return;
	}
	memset(&v, 0, sizeof v);
	snprintf(own, sizeof own, "%s:%d", p->ip, p->db_port);
	v.initialized = agent_initialized(s);
	v.role = sget(s, "role");
	v.writable = bget(s, "writable");
	v.fenced = bget(s, "fenced");
	epj = json_object_get(s, "epoch");
	v.epoch = json_is_integer(epj) ? (uint64_t)json_integer_value(epj) : 0;
	v.position = agent_position(s);
	epj = json_object_get(s, "primaryEpoch");
	v.primary_epoch =
	    json_is_integer(epj) ? (uint64_t)json_integer_value(epj) : 0;
	v.upstream = sget(s, "upstream");
	v.detached = bget(s, "detached");
	v.fence_acked = p->fence_ok && p->fence_epoch == st->epoch &&
			p->fence_round == st->round;
	v.fence_position = p->fence_position;
	v.detach_done = p->detach_ok && p->detach_epoch == st->epoch &&
			p->detach_round == st->round;
	v.ordinal = p->ordinal;
	v.own_endpoint = own;
	v.following = text(p->following);
	v.held = p->held;
	if (st->primary == me) {
		info = index_get(&a->db_index, p->db);
		v.primary_endpoint =
		    info && info->endpoint[0] ? info->endpoint : NULL;
		v.lease_valid = cs->lease_valid(cs->data, p->db, st->epoch);
	} else if (a->env.peer_endpoint != NULL &&
		   peer_current(a, p, st, st->primary)) {
		/* the FSM never names a primary outside its regions */
		BATON_ASSERT((unsigned)st->primary < st->n_regions);
		v.primary_endpoint =
		    a->env.peer_endpoint(peer_data(a), p->ns, p->cluster,
					 st->regions[st->primary].name);
		if (a->env.peer_instance_endpoint != NULL) {
			v.primary_instance = a->env.peer_instance_endpoint(
			    peer_data(a), p->ns, p->cluster,
			    st->regions[st->primary].name);
		}
	}
	if (st->phase == BATON_PHASE_FAILING_OVER &&
	    a->env.peer_instance_endpoint != NULL &&
	    baton_decider_missing_final(st) < 0) {
		int t = baton_decider_pick(st, st->primary, true);
		/* the lost primary region is picked only for its spare
		 * (decider.c candidate()), but the instance it publishes is
		 * its designated one, the instance lost: no cascade to it;
		 * the promote's designated instance is then rejoined */
		if (t >= 0 && t != me && t != st->primary &&
		    peer_current(a, p, st, t)) {
			v.failover_target = a->env.peer_instance_endpoint(
			    peer_data(a), p->ns, p->cluster,
			    st->regions[t].name);
		}
	}
	if ((st->phase == BATON_PHASE_SWITCHING_OVER ||
	     st->phase == BATON_PHASE_FENCED) &&
	    st->sw_target >= 0 && (unsigned)st->sw_target < st->n_regions) {
		if (st->sw_target == me) {
			info = index_get(&a->db_index, p->db);
			v.switchover_target =
			    info && info->instance[0] ? info->instance : NULL;
		} else if (a->env.peer_instance_endpoint != NULL &&
			   peer_current(a, p, st, st->sw_target)) {
			v.switchover_target = a->env.peer_instance_endpoint(
			    peer_data(a), p->ns, p->cluster,
			    st->regions[st->sw_target].name);
		}
	}
	baton_agents_decide(st, me, &v, &o);

	if (o.propose_fence && now - p->fence_proposed_ms >= 1000) {
		struct baton_cmd cmd;
		memset(&cmd, 0, sizeof cmd);
		cmd.type = BATON_CMD_FENCE;
		snprintf(cmd.db, sizeof cmd.db, "%s", p->db);
		snprintf(cmd.region, sizeof cmd.region, "%s", a->env.region);
		cmd.epoch = o.epoch;
		cmd.position = o.fence_position;
		cmd.round = st->round;
		p->fence_proposed_ms = now;
		baton_log(BATON_LOG_INFO, "agents",
			  "%s: fenced for the switchover at position %" PRIu64,
			  p->db, cmd.position);
		cs->propose(cs->data, &cmd);
	}
	if (o.action == NULL) {
		/* the primary at this epoch: its synchronous list follows the
		 * FSM's (a retry after a refusal at a newer G) */
		if (v.role != NULL && strcmp(v.role, "primary") == 0 &&
		    v.primary_epoch == st->epoch && bget(s, "ready") &&
		    standbys_due(a, st, me, p, s, &want)) {
			p->order_round = st->round;
			send_order(
			    a, p, "standbys", st->epoch,
			    with_sync_names(
				json_pack("{s:I}", "gen", (json_int_t)want.gen),
				&want),
			    "", STANDBYS_ORDER_TIMEOUT_MS);
		}
		return;
	}
	p->order_round = st->round;
	if (strcmp(o.action, "init") == 0) {
		json_t *b = o.target ? with_endpoint(o.target)
				     : json_pack("{s:s}", "role", "primary");
		if (b != NULL && o.target != NULL) {
			json_object_set_new(b, "role", json_string("replica"));
		}
		send_order(a, p, "init", o.epoch, b, o.target ? o.target : "",
			   LONG_ORDER_TIMEOUT_MS);
	} else if (strcmp(o.action, "rejoin") == 0) {
		send_order(a, p, "rejoin", o.epoch, with_endpoint(o.target),
			   o.target, LONG_ORDER_TIMEOUT_MS);
	} else if (strcmp(o.action, "cascade") == 0) {
		send_order(a, p, "cascade", o.epoch, with_endpoint(o.target),
			   o.target, ORDER_TIMEOUT_MS);
	} else if (strcmp(o.action, "promote") == 0 &&
		   standbys_due(a, st, me, p, s, &want)) {
		/* the list is in force from the promotion on: no commit
		 * waits for a standbys order, and the lease gate passes */
		send_order(a, p, "promote", o.epoch,
			   with_sync_names(json_object(), &want), "",
			   ORDER_TIMEOUT_MS);
	} else {
		send_order(a, p, o.action, o.epoch, json_object(), "",
			   ORDER_TIMEOUT_MS);
	}
}

/* ---- the tick ----------------------------------------------------------- */

static int pod_port(json_t *pod)
{
	size_t i, j;
	json_t *c, *port;
	json_array_foreach(
	    json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
	{
		json_array_foreach(json_object_get(c, "ports"), j, port)
		{
			const char *n = sget(port, "name");
			if (n != NULL && strcmp(n, "postgres") == 0) {
				return (int)json_integer_value(
				    json_object_get(port, "containerPort"));
			}
		}
	}
	return 5432;
}

static struct baton_agents_db *dbinfo_get(struct baton_agents *a,
					  const char *db)
{
	struct baton_agents_db *d = index_get(&a->db_index, db);
	if (d == NULL && (d = calloc(1, sizeof *d)) != NULL) {
		snprintf(d->db, sizeof d->db, "%s", db);
		if (index_set(&a->db_index, d->db, d) != 0) {
			free(d); /* again at the next tick */
			return NULL;
		}
		d->next = a->dbs;
		a->dbs = d;
	}
	return d;
}

/* P's forensic fence from its pod object (batond/hold.h); a change is an
 * Event on its database, and its effect (no lease, not serving) applies
 * from this tick on. */
static void hold_update(struct baton_agents *a, struct baton_agents_pod *p,
			json_t *pod)
{
	char reason[BATON_HOLD_REASON_SIZE], msg[400];
	bool held = baton_hold_of_pod(pod, reason, sizeof reason);

	if (held == p->held && strcmp(reason, text(p->hold_reason)) == 0) {
		return;
	}
	if (held != p->held) {
		if (held) {
			snprintf(msg, sizeof msg,
				 "%s fenced for forensics (%s): no orders but "
				 "fence, no lease, never promoted or rejoined "
				 "until the annotation " BATON_ANNOTATION_HOLD
				 " is removed",
				 p->name,
				 reason[0] ? reason : "no reason given");
		} else {
			snprintf(msg, sizeof msg,
				 "%s: forensic fence removed; batond drives it "
				 "again (it may be rejoined, pg_rewind "
				 "included)",
				 p->name);
		}
		baton_log(BATON_LOG_WARN, "agents", "%s", msg);
		if (a->env.event != NULL) {
			a->env.event(
			    a->env.data, p->db, held ? "Warning" : "Normal",
			    held ? "InstanceFenced" : "InstanceUnfenced", msg);
		}
		if (a->env.changed != NULL) {
			a->env.changed(a->env.data, p->db);
		}
	}
	p->held = held;
	set_text(&p->hold_reason, reason, BATON_HOLD_REASON_SIZE);
}

/* This region's designated ordinal for DB: the FSM's, 0 without one. */
static int designated_here(const struct baton_agents *a, const char *db)
{
	const struct baton_consensus_ops *cs = a->env.consensus;

	return baton_syncset_designated(
	    cs != NULL ? cs->db(cs->data, db) : NULL, a->env.region);
}

/* Appends at most 63 bytes of S to P's names (as snprintf() into a
 * char[64] kept it), and returns where it starts. */
static const char *pod_name_add(char **at, const char *s)
{
	const char *start = *at;
	size_t n = strnlen(s, 63);

	memcpy(*at, s, n);
	(*at)[n] = '\0';
	*at += n + 1;
	return start;
}

/* A new pod record, its names in the same allocation; NULL out of memory. */
static struct baton_agents_pod *pod_new(const char *key, const char *db,
					const char *ns, const char *name,
					const char *cluster)
{
	/* the key, "ns/pod", was a char[160]: the bound is not the other
	 * names' */
	size_t key_n = strnlen(key, POD_KEY_SIZE - 1);
	struct baton_agents_pod *p = calloc(
	    1, sizeof *p + key_n + 1 + strnlen(db, 63) + 1 + strnlen(ns, 63) +
		   1 + strnlen(name, 63) + 1 + strnlen(cluster, 63) + 1);
	char *at;

	if (p == NULL) {
		return NULL;
	}
	memcpy(p->names, key, key_n);
	p->names[key_n] = '\0';
	p->key = p->names;
	at = p->names + key_n + 1;
	p->db = pod_name_add(&at, db);
	p->ns = pod_name_add(&at, ns);
	p->name = pod_name_add(&at, name);
	p->cluster = pod_name_add(&at, cluster);
	return p;
}

/* Mark and sweep: the pods in the informer's cache are the pods. */
static void sync_pods(struct baton_agents *a, uint64_t now)
{
	const char *key;
	json_t *pod;
	struct baton_agents_pod *p, *next;
	struct baton_agents_db *d, **dp;

	for (p = a->pods; p != NULL; p = p->next) {
		p->seen = false;
	}
	for (d = a->dbs; d != NULL; d = d->next) {
		d->seen = false;
		d->answered = d->pod0_ready = false;
		memset(&d->rep, 0, sizeof d->rep);
		d->endpoint[0] = d->instance[0] = '\0';
		d->sync_set = false; /* SYNC is freed after the pods if unset */
	}
	json_object_foreach(a->env.pods->cache, key, pod)
	{
		json_t *md = json_object_get(pod, "metadata");
		const char *cl =
		    sget(json_object_get(md, "labels"), BATON_LABEL_CLUSTER);
		const char *ns = sget(md, "namespace");
		const char *name = sget(md, "name");
		const char *ip = sget(json_object_get(pod, "status"), "podIP");
		char db[BATON_NAME_SIZE];
		int designated;

		if (cl == NULL || ns == NULL || name == NULL ||
		    sget(md, "deletionTimestamp") != NULL ||
		    strlen(ns) + 1 + strlen(cl) >= sizeof db) {
			continue;
		}
		memcpy(db, ns, strlen(ns));
		db[strlen(ns)] = '/';
		memcpy(db + strlen(ns) + 1, cl, strlen(cl) + 1);
		p = index_get(&a->pod_index, key);
		if (p == NULL) {
			p = pod_new(key, db, ns, name, cl);
			if (p == NULL) {
				continue;
			}
			if (index_set(&a->pod_index, key, p) != 0) {
				free(p); /* again at the next tick */
				continue;
			}
			p->a = a;
			p->ordinal = baton_agents_ordinal(name);
			p->next = a->pods;
			a->pods = p;
		}
		p->seen = true;
		p->db_port = pod_port(pod);
		hold_update(a, p, pod);
		if (strcmp(p->ip, ip ? ip : "") != 0) {
			snprintf(p->ip, sizeof p->ip, "%s", ip ? ip : "");
			p->next_poll_ms = now; /* new address: ask at once */
			p->poll_failures = 0;
			json_decref(p->status);
			p->status = NULL;
		}
		d = dbinfo_get(a, p->db);
		if (d == NULL) {
			continue;
		}
		d->seen = true;
		designated = designated_here(a, p->db);
		d->read_for = designated;
		if (p->ordinal == designated) {
			d->pod0_ready = baton_agents_pod_ready(pod) && !p->held;
		}
		if (p->ordinal == designated && p->ip[0] != '\0' &&
		    p->db_port > 0) {
			snprintf(d->instance, sizeof d->instance, "%s:%d",
				 p->ip, p->db_port);
		}
		if (p->lease_asks > 0) {
			d->has_agents = true;
		}
		if (p->status != NULL &&
		    now - p->status_ms <= BATON_DESIGNATE_STALE_MS) {
			json_t *s = p->status;
			struct baton_instance_report inst = {
			    .ordinal = p->ordinal,
			    .designated = designated,
			    .serving = baton_agents_serving(s) &&
				       /* held: never a candidate (hold.h) */
				       !p->held,
			    .asking = !asks_stopped(a, p, now),
			    .position = agent_position(s),
			    .follows_epoch = baton_agents_follows_epoch(s),
			};
			d->answered = true;
			baton_agents_fold(&d->rep, &inst);
			/* the primary's endpoint is the designated
			 * instance's only: an old one back as an unfenced
			 * primary of an earlier epoch (a sibling promoted
			 * since, design §4) is never published */
			if (p->ordinal == designated && sget(s, "role") &&
			    strcmp(sget(s, "role"), "primary") == 0 &&
			    !json_is_false(json_object_get(s, "running")) &&
			    !bget(s, "fenced") && !p->held &&
			    p->ip[0] != '\0') {
				size_t i;
				json_t *n;
				char sync[SYNC_SIZE];
				snprintf(d->endpoint, sizeof d->endpoint,
					 "%s:%d", p->ip, p->db_port);
				snprintf(sync, sizeof sync, "%s",
					 d->sync_set ? text(d->sync) : "");
				json_array_foreach(
				    json_object_get(s, "syncStandbys"), i, n)
				{
					size_t used = strlen(sync);
					if (json_is_string(n)) {
						snprintf(sync + used,
							 sizeof sync - used,
							 "%s%s",
							 used ? "," : "",
							 json_string_value(n));
					}
				}
				set_text(&d->sync, sync, SYNC_SIZE);
				d->sync_set = true;
			}
		}
	}
	/* sweep */
	for (p = a->pods; p != NULL; p = next) {
		next = p->next;
		if (!p->seen && !p->gone) {
			p->gone = true;
			(void)baton_index_del(&a->pod_index, p->key);
			/* a cancel may run the request's callback at once,
			 * which releases a gone pod: pinned, P outlives both
			 * cancels and is released here, once */
			p->pinned = true;
			if (p->poll_req != NULL) {
				baton_kube_request_cancel(p->poll_req);
			}
			if (p->order_req != NULL) {
				baton_kube_request_cancel(p->order_req);
			}
			p->pinned = false;
			pod_release(a, p);
		}
	}
	for (dp = &a->dbs; *dp != NULL;) {
		char now_summary[800];
		uint64_t h;
		d = *dp;
		if (!d->seen) {
			*dp = d->next;
			(void)baton_index_del(&a->db_index, d->db);
			free(d->wanted);
			free(d->sync);
			free(d);
			continue;
		}
		dp = &d->next;
		if (!d->sync_set) {
			set_text(&d->sync, "", SYNC_SIZE);
		}
		snprintf(now_summary, sizeof now_summary, "%d|%d|%d|%s|%s|%s",
			 d->answered, d->rep.healthy, d->rep.primary_ready,
			 d->endpoint, d->instance, text(d->sync));
		h = baton_agents_summary_hash(now_summary);
		if (h != d->last_summary) {
			d->last_summary = h;
			if (a->env.changed != NULL) {
				a->env.changed(a->env.data, d->db);
			}
		}
	}
}

static void tick_cb(uv_timer_t *t)
{
	struct baton_agents *a = t->data;
	uint64_t now = now_ms();
	struct baton_agents_pod *p;

	if (a->stopping) {
		return;
	}
	{
		const struct baton_consensus_ops *cs = a->env.consensus;
		uint64_t gen = cs != NULL && cs->generation != NULL
				   ? cs->generation(cs->data)
				   : 0;
		if (gen == a->generation && now - a->tick_ms < TICK_MS) {
			/* between full ticks, only a switchover's target is
			 * asked again (every POLL_TARGET_MS): polled on full
			 * ticks alone, it was asked every 200 ms, and the
			 * promote waits for its report of the final position */
			for (p = a->pods; p != NULL; p = p->next) {
				if (!p->gone && p->poll_req == NULL &&
				    switchover_target(a, p)) {
					poll(a, p, now);
				}
			}
			return;
		}
		a->generation = gen;
		a->tick_ms = now;
	}
	sync_pods(a, now);
	note_fsm_hops(a);
	for (p = a->pods; p != NULL; p = p->next) {
		if (p->gone) {
			continue;
		}
		poll(a, p, now);
		drive(a, p, now);
	}
}

/* ---- the lease questions ------------------------------------------------
 */

/* The question came from POD: its certificate (with TLS) or, without, the
 * pod's address, so that one pod cannot ask in another's name. */
static bool from_pod(const struct baton_http_request *req,
		     const struct baton_agents_pod *p)
{
	const char *colon = strrchr(req->remote, ':');
	size_t n = colon ? (size_t)(colon - req->remote) : 0;

	return p->ip[0] != '\0' && n == strlen(p->ip) &&
	       strncmp(req->remote, p->ip, n) == 0;
}

static void lease_cb(struct baton_http_request *req, void *data)
{
	struct baton_agents *a = data;
	const struct baton_consensus_ops *cs = a->env.consensus;
	json_t *body =
	    json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, NULL);
	const char *ns = sget(body, "namespace");
	const char *name = sget(body, "pod");
	const struct baton_db_state *st = NULL;
	uint64_t grant = 0, epoch = 0, now = now_ms();
	unsigned every = 200;
	char key[160], text[300];
	struct baton_agents_pod *p = NULL;
	int n;

	struct baton_syncset sync;
	/* the list in force, as the question says it (null: none), else
	 * (an agent from before it said) as the agent last reported it */
	int asked_list = json_object_get(body, "syncConfig") == NULL
			     ? -1
			     : baton_syncset_reported(body, &sync);

	if (ns != NULL && name != NULL &&
	    snprintf(key, sizeof key, "%s/%s", ns, name) < (int)sizeof key) {
		p = index_get(&a->pod_index, key);
	}
	json_decref(body);
	if (ns == NULL || name == NULL) {
		baton_http_respond_error(req, 400,
					 "body must be {\"namespace\": NS, "
					 "\"pod\": NAME, \"epoch\": N}");
		return;
	}
	if (p == NULL || p->gone) {
		baton_http_respond_error(req, 404,
					 "no such database pod in this "
					 "region's cache");
		return;
	}
	if (!from_pod(req, p)) {
		snprintf(text, sizeof text,
			 "a lease for %s is given only to its own address %s",
			 p->key, p->ip[0] ? p->ip : "(none yet)");
		baton_log(BATON_LOG_WARN, "agents",
			  "lease question from %s: %s", req->remote, text);
		baton_http_respond_error(req, 403, text);
		return;
	}
	if (a->env.pki != NULL) {
		char id[200], msg[600];
		baton_agentpki_agent_identity(p->ns, p->cluster, id, sizeof id);
		if (strcmp(req->peer, id) != 0) {
			snprintf(msg, sizeof msg,
				 "a lease for %s is given only to %s, not "
				 "'%.200s'",
				 p->key, id, req->peer);
			baton_log(BATON_LOG_WARN, "agents",
				  "lease question from %s: %s", req->remote,
				  msg);
			baton_http_respond_error(req, 403, msg);
			return;
		}
	}
	if (cs != NULL && (st = cs->db(cs->data, p->db)) != NULL) {
		int me = baton_fsm_region_index(st, a->env.region);
		/* the question's list; else the agent's last report (its
		 * status, or the answer to its last order) */
		bool reported = asked_list >= 0
				    ? asked_list
				    : baton_syncset_reported(p->status, &sync);
		epoch = st->epoch;
		grant = baton_agents_lease_grant(
		    st, me, p->ordinal, reported ? &sync : NULL,
		    cs->agent_grant(cs->data, p->db, st->epoch));
		if (p->held) {
			grant = 0; /* a forensic fence: no lease (hold.h) */
		}
		/* a few questions per renewal, never fewer than one per
		 * tenth of the lease */
		every = st->cfg.renew_ms / 4;
		if (every > st->cfg.lease_ms / 10) {
			every = st->cfg.lease_ms / 10;
		}
	}
	if (grant > 0 && p->lease_granted_ms == 0 && st != NULL) {
		note_grant(a, p, st);
	}
	p->lease_asked_ms = now;
	p->lease_granted_ms = grant;
	p->lease_asks++;
	n = snprintf(text, sizeof text,
		     "{\"epoch\":%" PRIu64 ",\"grantMillis\":%" PRIu64
		     ",\"askEveryMillis\":%u}",
		     epoch, grant, every < 50 ? 50 : every);
	baton_http_respond(req, 200, "application/json", text, (size_t)n, NULL);
}

/* ---- what the rest of batond asks ---------------------------------------
 */

void baton_agents_report(struct baton_agents *a, const char *db, bool pod_ready,
			 struct baton_region_report *out)
{
	struct baton_agents_db *d = a ? index_get(&a->db_index, db) : NULL;
	const struct baton_consensus_ops *cs = a ? a->env.consensus : NULL;
	const struct baton_db_state *st;

	memset(out, 0, sizeof *out);
	if (d != NULL && !d->answered && d->has_agents) {
		/* its agents went silent: not the pod's readiness, which
		 * lags by the probe's failure threshold (a paused agent's
		 * pod stayed Ready for 6 s and a renewal from that called a
		 * failover off: drill pause-agent) */
		return;
	}
	if (d == NULL || !d->answered) {
		/* no agent (kwok pods in tests): the designated instance's
		 * pod readiness once its pods are known here, else the
		 * controller's view of them */
		out->healthy = d != NULL ? d->pod0_ready : pod_ready;
		out->primary_ready = out->healthy;
		return;
	}
	*out = d->rep;
	/* synchronous: the primary's region lists our designated instance
	 * (a sibling in the list is no remote copy of what the designated
	 * instance holds) */
	st = cs ? cs->db(cs->data, db) : NULL;
	if (st != NULL && st->primary >= 0 &&
	    strcmp(st->regions[st->primary].name, a->env.region) != 0 &&
	    a->env.peer_sync_standbys != NULL) {
		const char *slash = strchr(db, '/');
		char ns[64];
		const char *list;
		struct baton_agents_pod *p;
		size_t n = slash ? (size_t)(slash - db) : 0;
		if (slash == NULL || n >= sizeof ns) {
			return;
		}
		memcpy(ns, db, n);
		ns[n] = '\0';
		list = a->env.peer_sync_standbys(peer_data(a), ns, slash + 1,
						 st->regions[st->primary].name);
		int designated = baton_syncset_designated(st, a->env.region);
		for (p = a->pods; list != NULL && p != NULL; p = p->next) {
			const char *name = sget(p->status, "name");
			if (p->gone || strcmp(p->db, db) != 0) {
				continue;
			}
			if (baton_agents_sync_listed(list, p->ordinal,
						     designated,
						     name ? name : p->name)) {
				out->sync_standby = true;
				return;
			}
		}
	}
}

/* V is a better spare than the one R holds (docs/design-per-instance.md
 * §4): a serving sibling first (only one that serves is a candidate),
 * then the most advanced, then the lowest ordinal, so that the same pods
 * give the same spare whatever order the pod cache lists them in (a
 * spare that flipped between equal siblings would be reported anew on
 * every tick). */
static bool better_spare(const struct baton_spare_report *had,
			 const struct baton_instance_report *v)
{
	if (!had->present || v->serving != had->healthy) {
		return !had->present || v->serving;
	}
	if (v->position != had->position) {
		return v->position > had->position;
	}
	return v->ordinal < had->ordinal;
}

/* A sibling says nothing about the region's own health, position or
 * readiness (the designated instance is what a failover promotes), but
 * the best one is the region's spare: the instance a lost primary region
 * offers in its place (consensus/driver.h, struct baton_spare_report). */
static void fold_sibling(struct baton_region_report *r,
			 const struct baton_instance_report *v)
{
	struct baton_spare_report *sp = &r->spare;

	if (v->ordinal < 0 || v->ordinal >= BATON_ORDINALS ||
	    !better_spare(sp, v)) {
		return; /* not a StatefulSet pod, or no better */
	}
	sp->present = true;
	sp->ordinal = v->ordinal;
	sp->healthy = v->serving;
	sp->position = v->position;
	sp->follows_epoch = v->follows_epoch;
}

void baton_agents_fold(struct baton_region_report *r,
		       const struct baton_instance_report *v)
{
	if (v->ordinal != v->designated) {
		fold_sibling(r, v);
		return;
	}
	r->healthy = v->serving;
	r->primary_ready = v->serving && v->asking;
	r->position = v->position;
	r->follows_epoch = v->follows_epoch;
}

bool baton_agents_sync_listed(const char *list, int ordinal, int designated,
			      const char *name)
{
	size_t len;
	const char *q;

	if (list == NULL || name == NULL || ordinal != designated ||
	    (len = strlen(name)) == 0) {
		return false;
	}
	for (q = list; (q = strstr(q, name)) != NULL; q += len) {
		if ((q == list || q[-1] == ',') &&
		    (q[len] == ',' || q[len] == '\0')) {
			return true;
		}
	}
	return false;
}

bool baton_agents_final(struct baton_agents *a, const char *db, uint64_t epoch,
			uint64_t round, struct baton_region_report *out)
{
	return baton_agents_member_final(a, db, epoch, round, -1, out);
}

bool baton_agents_member_final(struct baton_agents *a, const char *db,
			       uint64_t epoch, uint64_t round, int ordinal,
			       struct baton_region_report *out)
{
	struct baton_agents_pod *p;

	if (ordinal < 0) {
		ordinal = a != NULL ? designated_here(a, db) : 0;
	}
	for (p = a ? a->pods : NULL; p != NULL; p = p->next) {
		/* each member's own answer to its own detach order; a held
		 * instance gives none: the failover waits for it rather
		 * than promote a region that may hold less (hold.h) */
		if (!p->gone && !p->held && p->ordinal == ordinal &&
		    strcmp(p->db, db) == 0 && p->detach_ok &&
		    p->detach_epoch == epoch && p->detach_round == round) {
			memset(out, 0, sizeof *out);
			out->healthy = true;
			out->primary_ready = true;
			out->position = p->detach_position;
			return true;
		}
	}
	return false;
}

bool baton_agents_seen(struct baton_agents *a, const char *key,
		       struct baton_agents_seen *out)
{
	/* closing, the index still names pods already freed */
	struct baton_agents_pod *p =
	    a != NULL && !a->stopping ? index_get(&a->pod_index, key) : NULL;

	memset(out, 0, sizeof *out);
	if (p == NULL || p->gone) {
		return false;
	}
	out->status = p->status;
	out->status_ms = p->status_ms;
	out->answer = p->answer_ok;
	out->answer_epoch = p->answer_epoch;
	out->answer_gen = p->answer_gen;
	out->answer_x = p->answer_x;
	out->answer_ms = p->answer_ms;
	return true;
}

const struct baton_agents_env *baton_agents_env(const struct baton_agents *a)
{
	/* closing: its informers may be closing too */
	return a->stopping ? NULL : &a->env;
}

/* DB's record, only while what it read is about the instance the FSM
 * designates here now (read_for). */
static struct baton_agents_db *current(struct baton_agents *a, const char *db)
{
	struct baton_agents_db *d = a ? index_get(&a->db_index, db) : NULL;
	return d != NULL && d->read_for == designated_here(a, db) ? d : NULL;
}

const char *baton_agents_endpoint(struct baton_agents *a, const char *db)
{
	struct baton_agents_db *d = current(a, db);
	return d && d->endpoint[0] ? d->endpoint : NULL;
}

const char *baton_agents_instance_endpoint(struct baton_agents *a,
					   const char *db)
{
	struct baton_agents_db *d = current(a, db);
	return d && d->instance[0] ? d->instance : NULL;
}

const char *baton_agents_sync_standbys(struct baton_agents *a, const char *db)
{
	struct baton_agents_db *d = current(a, db);
	return d ? d->sync : NULL; /* NULL when empty */
}

json_t *baton_agents_status(struct baton_agents *a)
{
	json_t *arr = json_array();
	struct baton_agents_pod *p;
	for (p = a->pods; p != NULL; p = p->next) {
		json_t *o;
		if (p->gone) {
			continue;
		}
		o = json_pack("{s:s, s:s, s:s, s:b, s:s}", "pod", p->key, "db",
			      p->db, "address", p->ip, "answering",
			      p->status != NULL && p->poll_failures == 0,
			      "following", text(p->following));
		if (p->status != NULL) {
			json_object_set(o, "agent", p->status);
		}
		if (p->lease_asks > 0) {
			json_object_set_new(
			    o, "lease",
			    json_pack(
				"{s:I, s:I, s:I}", "asks",
				(json_int_t)p->lease_asks, "lastGrantMillis",
				(json_int_t)p->lease_granted_ms,
				"lastAskAgeMillis",
				(json_int_t)(now_ms() - p->lease_asked_ms)));
		}
		if (p->order[0] != '\0') {
			json_object_set_new(
			    o, "lastOrder",
			    json_pack("{s:s, s:I, s:b}", "action", p->order,
				      "epoch", (json_int_t)p->order_epoch,
				      "pending", p->order_req != NULL));
		}
		if (p->last_error != NULL) {
			json_object_set_new(o, "lastError",
					    json_string(p->last_error));
		}
		if (p->held) {
			json_object_set_new(o, "forensicFence",
					    json_string(text(p->hold_reason)));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

/* ---- lifecycle ------------------------------------------------------------
 */

/* The agents' client: plain, or (mutual TLS) batond's certificate and the
 * agent CA, as a kubeconfig the kube client reads. Malloc'd YAML. */
static char *client_yaml(const struct baton_agentpki *pki)
{
	static const char plain[] =
	    "apiVersion: v1\nkind: Config\ncurrent-context: a\n"
	    "clusters:\n- name: a\n  cluster:\n    server: "
	    "http://agents.invalid\n"
	    "users:\n- name: a\n  user: {}\n"
	    "contexts:\n- name: a\n  context: {cluster: a, user: a}\n";
	char *ca, *cert, *key, *out = NULL;
	size_t n;

	if (pki == NULL) {
		return strdup(plain);
	}
	ca = baton_agentpki_base64(baton_agentpki_ca_pem(pki),
				   strlen(baton_agentpki_ca_pem(pki)));
	cert =
	    baton_agentpki_base64(baton_agentpki_batond_cert_pem(pki),
				  strlen(baton_agentpki_batond_cert_pem(pki)));
	key = baton_agentpki_base64(baton_agentpki_batond_key_pem(pki),
				    strlen(baton_agentpki_batond_key_pem(pki)));
	if (ca != NULL && cert != NULL && key != NULL) {
		n = strlen(ca) + strlen(cert) + strlen(key) + 512;
		out = malloc(n);
		if (out != NULL) {
			snprintf(
			    out, n,
			    "apiVersion: v1\nkind: Config\n"
			    "current-context: a\nclusters:\n- name: a\n"
			    "  cluster:\n    server: https://agents.invalid\n"
			    "    certificate-authority-data: %s\n"
			    "users:\n- name: a\n  user:\n"
			    "    client-certificate-data: %s\n"
			    "    client-key-data: %s\n"
			    "contexts:\n- name: a\n"
			    "  context: {cluster: a, user: a}\n",
			    ca, cert, key);
		}
	}
	if (key != NULL) {
		memset(key, 0, strlen(key));
	}
	free(ca);
	free(cert);
	free(key);
	return out;
}

/* The agent API: lease questions from the agents. On failure nothing is
 * left open except a->api when api_started says so. */
static int start_api(struct baton_agents *a)
{
	const struct baton_agents_env *env = &a->env;
	struct baton_http_config hc = {.max_body_bytes = 4096};
	struct baton_http_tls_config tls = {0};
	char host[256];
	int port;
	int rv;

	if (env->pki != NULL) {
		/* agents ask over https with their database's certificate:
		 * lease_cb checks it names the pod's database */
		tls.cert_pem = baton_agentpki_batond_cert_pem(env->pki);
		tls.key_pem = baton_agentpki_batond_key_pem(env->pki);
		tls.ca_pem = baton_agentpki_ca_pem(env->pki);
		hc.tls = &tls;
	}
	rv = baton_split_host_port(env->api_bind, host, sizeof host, &port);
	if (rv == 0) {
		rv = baton_failpoint()
			 ? BATON_ENOMEM
			 : baton_http_server_init(a->loop, &a->api, &hc);
	}
	if (rv == 0) {
		a->api_started = true;
		a->api.data = a;
		rv =
		    baton_http_route(&a->api, "POST", "/v1/lease", lease_cb, a);
	}
	if (rv == 0) {
		rv = baton_failpoint()
			 ? BATON_EIO
			 : baton_http_server_listen(&a->api, host, port);
	}
	if (rv != 0) {
		baton_log(BATON_LOG_ERROR, "agents", "agent API on %s: %s",
			  env->api_bind,
			  a->api_started ? a->api.errmsg : "not host:port");
		return rv;
	}
	baton_log(BATON_LOG_INFO, "agents", "agent API on %s (lease questions)",
		  env->api_bind);
	return 0;
}

static void init_failed_cb(struct baton_agents *a)
{
	(void)a; /* a failed init unwound (baton_agents_init): nobody waits */
}

/* Opens its parts in stages (maps, the agents' client, the tick timer, the
 * agent API) and on a failure closes what it opened (err_after_*): the
 * client and the timer close asynchronously, and the maps go once the
 * last close callback ran, as at a close. Each stage is a fail point
 * (common/failpoint.h); the controller's test fails each in turn
 * (tests/unit/test_batond_controller.c). */
int baton_agents_init(uv_loop_t *loop, struct baton_agents *a,
		      const struct baton_agents_env *env)
{
	struct baton_kube_client_opts opts = {
	    .qps = -1, .user_agent = "batond/" BATON_VERSION " (agents)"};
	struct baton_kube_config kc;
	void *data = a->data;
	char *yaml;
	int rv;

	memset(a, 0, sizeof *a);
	a->data = data;
	a->loop = loop;
	a->env = *env;
	index_init(&a->pod_index, POD_KEY_SIZE);
	index_init(&a->db_index, BATON_NAME_SIZE);
	yaml = client_yaml(env->pki);
	rv = yaml == NULL ? BATON_ENOMEM
			  : baton_kube_config_load_data(&kc, yaml, strlen(yaml),
							"agents", NULL, NULL);
	if (yaml != NULL) {
		memset(yaml, 0, strlen(yaml));
		free(yaml);
	}
	if (rv == 0) {
		rv = baton_failpoint()
			 ? BATON_ENOMEM
			 : baton_kube_client_init(loop, &a->client, &kc, &opts);
		baton_kube_config_free(&kc);
	}
	if (rv != 0) {
		goto err_after_maps;
	}
	a->client.data = a;
	uv_timer_init(loop, &a->tick);
	a->tick.data = a;
	if (env->api_bind != NULL && (rv = start_api(a)) != 0) {
		goto err_after_tick;
	}
	uv_timer_start(&a->tick, tick_cb, WAKE_MS, WAKE_MS);
	return 0;

err_after_tick:
	/* the client, the timer and a half-open API close as at a close (no
	 * pod is known yet); the maps go in the last close callback */
	baton_agents_close(a, init_failed_cb);
	return rv;
err_after_maps:
	baton_index_free(&a->pod_index);
	baton_index_free(&a->db_index);
	return rv;
}

static void maybe_stopped(struct baton_agents *a)
{
	struct baton_agents_db *d;
	if (a->closing > 0 || a->pods != NULL || a->stopped_cb == NULL) {
		return;
	}
	while ((d = a->dbs) != NULL) {
		a->dbs = d->next;
		free(d->wanted);
		free(d->sync);
		free(d);
	}
	baton_index_free(&a->pod_index);
	baton_index_free(&a->db_index);
	{
		baton_agents_close_cb cb = a->stopped_cb;
		a->stopped_cb = NULL;
		cb(a); /* A's memory is the caller's from here */
	}
}

static void client_closed_cb(struct baton_kube_client *c)
{
	struct baton_agents *a = c->data;
	/* one close callback per close asked for */
	BATON_ASSERT(a->closing > 0);
	a->closing--;
	maybe_stopped(a);
}

static void tick_closed_cb(uv_handle_t *h)
{
	struct baton_agents *a = h->data;
	/* one close callback per close asked for */
	BATON_ASSERT(a->closing > 0);
	a->closing--;
	maybe_stopped(a);
}

static void api_closed_cb(struct baton_http_server *srv)
{
	struct baton_agents *a = srv->data;
	/* one close callback per close asked for */
	BATON_ASSERT(a->closing > 0);
	a->closing--;
	maybe_stopped(a);
}

void baton_agents_close(struct baton_agents *a, baton_agents_close_cb cb)
{
	struct baton_agents_pod *p, *next;
	BATON_ASSERT(cb != NULL && a->stopped_cb == NULL);
	a->stopping = true;
	a->stopped_cb = cb;
	a->closing = 2;
	/* pods with nothing in flight go now; the rest when their
	 * callbacks run (ECANCELED from the client's close) */
	for (p = a->pods; p != NULL; p = next) {
		next = p->next;
		p->gone = true;
		pod_release(a, p);
	}
	if (a->api_started) {
		a->closing++;
		a->api_started = false;
		baton_http_server_close(&a->api, api_closed_cb);
	}
	uv_close((uv_handle_t *)&a->tick, tick_closed_cb);
	baton_kube_client_close(&a->client, client_closed_cb);
}
