/* Deterministic simulation of the failover protocol; see sim.h.
 *
 * Real time is the fixture's global clock (ms). Every batond and every agent
 * has its own clock: local(t) = base_local + (t - base_real) * rate, where
 * each rate stays within 1 +- delta and (1 + delta) / (1 - delta) <= 1 +
 * drift, i.e. `drift` bounds the ratio of any two clocks, as decider.h
 * assumes. Clocks start at different offsets, as monotonic clocks of
 * different machines do.
 *
 * Region i is server i of the fixture. What runs there is the code batond
 * runs: the FSM and baton_driver_tick() (renew, report, decide) on batond's
 * clock, with the driver's proposals going through a model of batond's
 * Raft glue (raftglue.c): the leader applies directly; a follower forwards
 * to the leader it knows (delayed, lost when the link is down, timing out
 * after FORWARD_TIMEOUT_MS with an unknown outcome, just as the peer API's
 * HTTP request does), and the answer comes back the same way. The agent of
 * region i runs the agent's lease rule (baton_agent_lease_apply() in
 * decider.c, what baton-agent runs): every ASK_MS of its own clock it asks its
 * batond, which answers baton_driver_grant() when the answer is written;
 * questions and answers travel with a delay (long when the fault "slow
 * agent channel" is on), and a paused agent finds the answer waiting when
 * it resumes. batond sends orders as agents.c does: promote the designated
 * instance of the primary region (when its lease is valid), demote every
 * other, fence the old primary in a switchover and propose FENCE only from
 * the agent's acknowledgement of that fence. Writability is the agent's
 * own lease on its own clock: with the lease enforced inside PostgreSQL
 * (docs/agent.md) that is what decides whether a write commits.
 *
 * Two instances a region (sim.h): struct inst holds each instance's agent,
 * database and what batond knows of it; struct server its batond. What
 * batond does for the designation is agents.c's part, modelled: the
 * `standbys` order (sent when the list derived from the FSM's L differs
 * from the agent's, or the driver waits for a higher G; refused below the
 * agent's G; X is the primary's position when it lands), the list a
 * promote carries, the lease gate (no grant while the question's list
 * leaves the members), and the designate op's view of pods and standby
 * rows (designate.h). The decisions are the real code's: the driver runs
 * baton_designate_decide() and proposes what it says. With one instance
 * no random number is drawn and no line traced that was not before, so
 * every seed replays the run (and the digest) it gave before.
 */
#include "consensus/sim.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/fixture.h>

#include "common/error.h"
#include "consensus/decider.h"
#include "consensus/designate.h"
#include "consensus/driver.h"
#include "consensus/fsm.h"
#include "consensus/node.h"

#define DB "orders"
#define N_MAX 5
#define TRACE_LINES 40
#define TRACE_LINE 140
#define ASK_MS 50		/* agent clock: how often it asks */
#define ASK_TIMEOUT_MS 500	/* an unanswered question is given up */
#define ORDER_RETRY_MS 1000	/* batond: resend an unanswered order */
#define FORWARD_TIMEOUT_MS 5000 /* raftglue's peer API request */
#define MAX_EPOCHS 4096
#define MAX_EVENTS 8192
#define CHAIN_CAP (1u << 22)
#define INSTANCES_MAX 2
/* a listed standby this close behind the primary is `quorum` in its
 * pg_stat_replication row (streaming, not catching up) */
#define QUORUM_LAG_BYTES 500
/* scale mode: batond's tick (raftglue.c TICK_MS), batond's clock */
#define SCALE_TICK_MS 50
/* scale mode: all REGISTERs applied on every server within this */
#define SCALE_REGISTER_MS 600000
/* scale mode: settled once every server applied all but this many of the
 * leader's entries (a few ticks' worth at 10,000 databases); counted
 * unsettled once that backlog did not shrink over SCALE_TREND_MS (Raft
 * commits less than the fleet proposes) */
#define SCALE_SETTLED_LAG 256
#define SCALE_TREND_MS 10000
/* scale mode: a backlog beyond this (a registration queues ~4 entries a
 * database) is Raft falling behind for good: the run stops there, as the
 * fixture's cost per step grows with the entries not yet committed (an
 * hour of wall time at 10,000 databases otherwise) */
#define SCALE_RUNAWAY(n) (8 * (uint64_t)(n) + 4096)

struct clk {
	double base_real, base_local, rate;
};

struct sim;

enum order_kind {
	ORDER_NONE = 0,
	ORDER_PROMOTE,
	ORDER_DEMOTE, /* follow the current primary (rejoin, re-attach) */
	ORDER_FENCE,
	ORDER_DETACH, /* synchronous failover: stop streaming, say where */
};

/* One instance (pod) of a region: its agent, its database, and what the
 * region's batond knows of that agent (from its order acknowledgements
 * and status). A region has cfg->instances of them; with one, instance 0
 * is the region's only instance, as before the per-instance design. */
struct inst {
	/* the agent */
	struct clk aclk;
	struct baton_agent_lease al;
	bool ask_pending;
	double next_ask;     /* agent local */
	double paused_until; /* real */
	double paused_since;
	double slow_until; /* real: its channel to batond is slow */
	bool agent_was_writable;
	/* the database */
	uint64_t position;
	bool detached; /* stopped streaming (a synchronous failover) */
	/* scenario 5 (config.sibling_behind): its WAL receiver stalls, so
	 * it falls behind while linked */
	bool receiver_stalled;
	/* scenario 2: its WAL receiver is slow (5 bytes/ms, half the
	 * primary's write rate); CREDIT carries the fraction of a byte */
	bool receiver_slow;
	double receiver_credit;
	/* two instances: the pod is gone (killed) since DEAD_SINCE (real) */
	bool dead;
	double dead_since;
	/* two instances: its database is down, the agent answers and says
	 * so (not serving: §3.7's second row, without the stale wait) */
	bool pg_down;
	/* the synchronous list in force on this instance (agent.md: the
	 * `standbys` order, persisted beside the epoch, so a restart keeps
	 * it): per region, a mask of ordinals; G the applied count it was
	 * derived at (it only grows); HAS_LIST false until the first order */
	bool has_list;
	uint16_t list[N_MAX];
	uint64_t list_gen;
	/* BROKEN_RELEASE_BEFORE_FLUSH: a list written and answered, not in
	 * force before RELOAD_AT (real) */
	bool reload_pending;
	double reload_at;
	uint16_t reload_list[N_MAX];
	uint64_t reload_gen;
	/* batond's view of this agent */
	uint64_t known_epoch, known_primary_epoch;
	uint64_t fence_acked_epoch; /* switchover: fence acknowledged */
	uint64_t fence_acked_round;
	uint64_t detach_acked_epoch; /* failover: detach acknowledged */
	uint64_t detach_acked_round;
	uint64_t detach_position; /* ... at this final position */
	bool known_detached;
	int order_pending;   /* enum order_kind in flight */
	double order_sent;   /* real */
	bool status_read;    /* batond read its status (since it started) */
	bool status_serving; /* ... which said serving */
	uint64_t status_ms;  /* ... last at this time (batond's clock) */
};

struct server {
	struct sim *sim;
	unsigned i;
	struct baton_fsm fsm;
	struct raft_fsm rfsm;
	struct baton_driver drv;
	unsigned inc;	    /* batond incarnation: a crash starts a new one */
	uint64_t max_epoch; /* S2 */
	/* batond */
	struct clk bclk;
	double stall_until;    /* real: the loop is stuck until then */
	double fence_proposed; /* real */
	/* two instances: the primary's batond and its `standbys` orders:
	 * the last answer (epoch, G, X, when, batond's clock), the order in
	 * flight */
	bool sb_answer;
	uint64_t sb_answer_epoch, sb_answer_gen, sb_answer_x, sb_answer_ms;
	bool sb_pending;
	double sb_sent; /* real */
	/* the primary agent's status as last read: its standby rows */
	struct baton_designate_primary prim;
	struct inst ag[INSTANCES_MAX];
	/* scale mode: batond's next tick (its clock), and the FSM's own
	 * snapshot, which a counting wrapper calls */
	uint64_t next_tick;
	int (*fsm_snapshot)(struct raft_fsm *fsm, struct raft_buffer *bufs[],
			    unsigned *n_bufs);
};

enum ev_type {
	EV_FORWARD = 1,	 /* a forwarded proposal reaches the leader */
	EV_ACK,		 /* its outcome reaches the proposer */
	EV_ASK,		 /* an agent's question reaches its batond */
	EV_ANSWER,	 /* batond's answer reaches the agent */
	EV_ORDER,	 /* an order reaches the agent */
	EV_ORDER_ACK,	 /* the agent's acknowledgement reaches batond */
	EV_STANDBYS,	 /* a `standbys` order reaches the primary's agent */
	EV_STANDBYS_ACK, /* its answer (G, X) reaches batond */
	EV_FWD_TIMEOUT,	 /* a forwarded proposal's HTTP request times out */
};

struct event {
	double at;
	uint64_t seq; /* ties: in the order they were queued */
	int type;
	unsigned to, from;
	double sent; /* real, for timeouts */
	struct baton_cmd cmd;
	int result;
	bool failed;
	struct baton_lease_answer ans;
	int order;
	uint64_t epoch, primary_epoch;
	uint64_t position; /* ORDER_ACK: the agent's position */
	uint64_t round;	   /* ORDER, ORDER_ACK (detach): the round */
	bool detached;	   /* ORDER_ACK: it streams from nobody */
	unsigned inc;	   /* batond-bound: the incarnation it is for */
	unsigned ord;	   /* agent-bound or from an agent: the instance */
	/* a synchronous list: STANDBYS and PROMOTE (with_list), the list in
	 * force on ASK (the lease question carries it) and STANDBYS_ACK */
	bool has_list;
	uint16_t list[N_MAX];
	uint64_t gen;
	uint64_t x;   /* STANDBYS_ACK: the primary's position when it landed */
	bool refused; /* STANDBYS_ACK: G below the agent's (409) */
};

/* Scale mode: one of the databases (0 the modelled one, K > 0
 * "default/db-K..."), what the checks keep of it beyond the FSMs. */
struct bulk {
	uint64_t max_epoch[N_MAX]; /* S2, per server */
	/* the highest epoch any server applied and its primary (S4: the
	 * region whose lease must have ended when the next one applies) */
	uint64_t epoch;
	int primary;
	/* FAIL_REGION: its primary was in the killed region at FROM_EPOCH;
	 * DONE once the promote to a surviving region applied there,
	 * FAILED_MS after the kill */
	bool affected, done;
	uint64_t from_epoch;
	uint64_t failed_ms;
};

struct sim {
	const struct baton_sim_config *cfg;
	struct baton_sim_result *res;
	struct raft_fixture f;
	unsigned n;
	unsigned ni; /* instances per region (cfg->instances) */
	/* config.witness: the witness region's index (the last one), or
	 * -1: a Raft voter running the driver, with no instance at all */
	int witness;
	uint64_t rng;
	double delta; /* per-clock rate bound */
	struct server s[N_MAX];
	uint64_t *chain; /* chain[k] = hash after k applied commands */
	uint64_t chain_len, chain_cap;
	int epoch_writer[MAX_EPOCHS];
	uint64_t s4_epoch;	    /* S4 checked up to this epoch */
	int primary_of[MAX_EPOCHS]; /* region of each epoch's primary */
	bool synchronous;	    /* this schedule's database */
	bool epoch_rpo[MAX_EPOCHS];
	bool failing_over;   /* lost() applied, no promote yet */
	double last_elected; /* real: the latest "became leader" */
	uint64_t acked;	     /* highest acknowledged write position */
	uint64_t steps_seen; /* DESIGNATE: applied counts already logged */
	/* per region: when its last LEAVE applied (real) and the position
	 * of the member it left listed then (struct baton_sim_move) */
	double leave_at[N_MAX];
	uint64_t holder_at_leave[N_MAX];
	char trace[TRACE_LINES][TRACE_LINE];
	unsigned trace_next, trace_count;
	unsigned outstanding; /* apply/transfer requests in flight */
	/* raft_fixture_close() is under way: it frees server i's I/O before
	 * closing server i + 1, whose pending applies then fail, so their
	 * callbacks must not ask the fixture about links any more */
	bool closing;
	bool ending; /* two instances: an end phase (quiet) is under way */
	/* two instances, real: the latest promote that applied naming a
	 * region whose server is down (a primary region that said its
	 * designated instance was down, then died; design §4, "safe,
	 * slow"): that epoch lapses and fails over again, and L1's clock
	 * starts again from it */
	double dead_promote_at;
	/* two instances: forwarded proposals a leader took, by id: 1 once
	 * the proposer has its outcome or its timeout (a leader killed
	 * with the entry in flight never calls back in the fixture; the
	 * peer API's request times out, FORWARD_TIMEOUT_MS) */
	uint8_t *fwd_done;
	uint64_t fwd_n, fwd_cap;
	/* Schedule classes: one in four runs on a fast network and disk
	 * (1 ms, no fsync wait), where commits are nearly instant and only
	 * the drift allowance and the margin stand between two leases; one
	 * in four on slow disks (every fsync 100-400 ms, up to 40 % of the
	 * lease: batond's renewals still keep a lease, barely). A disk's
	 * latency never changes within a schedule: the 0.22.1 fixture would
	 * complete a snapshot before an older append and crash in raft's legacy
	 * snapshot code (docs/consensus.md). */
	unsigned base_latency, base_disk;
	/* One in four schedules puts every clock at an end of the drift
	 * bound (rate 1 - delta or 1 + delta): two clocks then differ by the
	 * whole allowance, where a decider without it is wrong (the no-drift
	 * variant is caught there) and the real one has only its margin. */
	bool extreme_clocks;
	struct event ev[MAX_EVENTS];
	unsigned n_ev;
	uint64_t ev_seq;
	/* scale mode: log_bytes[k] is the bytes of the leader's entries 1..k
	 * (an entry Raft appended of its own counts 0), so the bytes a
	 * server keeps beyond its snapshot are a difference; COUNTING: the
	 * window of struct baton_sim_load is open */
	uint64_t *log_bytes;
	uint64_t log_len, log_cap;
	bool counting;
	/* scale mode: every database's (cfg->databases), see struct bulk */
	struct bulk *bulk;
	/* FAIL_REGION: the region killed (-1: none yet) and when (real);
	 * FAILING: the burst is counted (struct baton_sim_failover) */
	int killed;
	double kill_at;
	bool failing;
};

struct req {
	union {
		struct raft_apply apply;
		struct raft_transfer transfer;
	} u;
	struct sim *sim;
	unsigned from, leader;
	unsigned inc; /* the proposer's incarnation */
	bool forwarded;
	double sent;
	struct baton_cmd cmd;
	double expiry_real; /* promotes: when the lease expired (real) */
	uint64_t fwd_id;    /* two instances: a forwarded one's id + 1 */
};

/* ---- helpers ----------------------------------------------------------- */

static uint64_t rnd(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rndn(struct sim *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

/* FNV-1a over a line, then a word: the run's digest (sim.h) */
static uint64_t digest_str(uint64_t h, const char *p)
{
	while (*p != '\0') {
		h = (h ^ (uint8_t)*p++) * 0x100000001b3ull;
	}
	return (h ^ '\n') * 0x100000001b3ull;
}

static uint64_t digest_u64(uint64_t h, uint64_t v)
{
	for (unsigned k = 0; k < 8; k++) {
		h = (h ^ (uint8_t)(v >> (8 * k))) * 0x100000001b3ull;
	}
	return h;
}

static double now_real(struct sim *s)
{
	return (double)raft_fixture_time(&s->f);
}

static double clk_local(const struct clk *c, double t)
{
	return c->base_local + (t - c->base_real) * c->rate;
}

static double clk_real(const struct clk *c, double local)
{
	return c->base_real + (local - c->base_local) / c->rate;
}

static void clk_set_rate(struct clk *c, double t, double rate)
{
	c->base_local = clk_local(c, t);
	c->base_real = t;
	c->rate = rate;
}

static double random_rate(struct sim *s)
{
	double u = (double)(rnd(s) % 2000001) / 1000000.0 - 1.0; /* [-1,1] */
	if (s->extreme_clocks) {
		u = u < 0 ? -1.0 : 1.0;
	}
	return 1.0 + u * s->delta;
}

static void tracef(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tracef(struct sim *s, const char *fmt, ...)
{
	char *line = s->trace[s->trace_next];
	va_list ap;
	int n = snprintf(line, TRACE_LINE, "t=%llu ",
			 (unsigned long long)raft_fixture_time(&s->f));
	va_start(ap, fmt);
	vsnprintf(line + n, TRACE_LINE - (size_t)n, fmt, ap);
	va_end(ap);
	s->res->digest = digest_str(s->res->digest, line);
	if (s->cfg->trace) {
		fprintf(stderr, "sim: %s\n", line);
	}
	s->trace_next = (s->trace_next + 1) % TRACE_LINES;
	if (s->trace_count < TRACE_LINES) {
		s->trace_count++;
	}
}

static void violation(struct sim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void violation(struct sim *s, const char *fmt, ...)
{
	struct baton_sim_result *r = s->res;
	va_list ap;
	size_t off = 0;
	unsigned k;

	if (r->violation) {
		return;
	}
	r->violation = true;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof r->what, fmt, ap);
	va_end(ap);
	for (k = 0; k < s->trace_count && off < sizeof r->trace; k++) {
		unsigned idx =
		    (s->trace_next + TRACE_LINES - s->trace_count + k) %
		    TRACE_LINES;
		int w = snprintf(r->trace + off, sizeof r->trace - off,
				 "  %s\n", s->trace[idx]);
		if (w < 0) {
			break;
		}
		off += (size_t)w;
	}
}

static bool alive(struct sim *s, unsigned i)
{
	return raft_fixture_alive(&s->f, i);
}

/* Region I is the witness: no agent, no database, nothing to order
 * (its ag[] stays as setup left it, never asked about). */
static bool is_witness(const struct sim *s, unsigned i)
{
	return s->witness >= 0 && i == (unsigned)s->witness;
}

static bool link_up(struct sim *s, unsigned i, unsigned j)
{
	return i == j || (alive(s, i) && alive(s, j) &&
			  !raft_fixture_saturated(&s->f, i, j));
}

static struct baton_db_state *db_of(struct server *sv)
{
	return baton_fsm_db(&sv->fsm, DB);
}

/* "r1" with one instance a region, "r1.0" with two. */
static const char *iname(struct sim *s, char *buf, size_t size, unsigned i,
			 unsigned k)
{
	if (s->ni == 1) {
		snprintf(buf, size, "r%u", i);
	} else {
		snprintf(buf, size, "r%u.%u", i, k);
	}
	return buf;
}

/* The ordinal SV's FSM designates in its own region (0 before the
 * database is known, and always with one instance). */
static unsigned designated_of(struct server *sv)
{
	const struct baton_db_state *db = db_of(sv);
	return db != NULL ? db->regions[sv->i].designated : 0;
}

static struct inst *designated(struct server *sv)
{
	return &sv->ag[designated_of(sv)];
}

/* The instance is up and its agent answers: a paused agent stops
 * answering, and two seconds later the instance counts as not serving
 * (batond's poll sees it). */
static bool serving(struct sim *s, const struct inst *a)
{
	return !a->dead && !a->pg_down &&
	       (now_real(s) >= a->paused_until ||
		now_real(s) - a->paused_since < 2000);
}

/* The instance DB names the primary's (NULL: none). */
static const struct inst *primary_inst(struct sim *s,
				       const struct baton_db_state *db)
{
	if (db == NULL || db->primary < 0 || (unsigned)db->primary >= s->n) {
		return NULL;
	}
	return &s->s[db->primary].ag[db->regions[db->primary].designated];
}

/* The instance (I, K) streams from the primary instance its batond's FSM
 * names (*P): up, linked (not detached, its agent follows the epoch), the
 * link between the regions up, the primary's instance up. */
static bool streams(struct sim *s, unsigned i, unsigned k, struct inst **p)
{
	struct server *sv = &s->s[i];
	struct inst *a = &sv->ag[k];
	struct baton_db_state *db = db_of(sv);

	if (db == NULL || db->primary < 0 ||
	    (db->primary == (int)i && k == db->regions[i].designated) ||
	    a->detached || a->known_epoch < db->epoch ||
	    !link_up(s, (unsigned)db->primary, i)) {
		return false;
	}
	*p = &s->s[db->primary].ag[db->regions[db->primary].designated];
	return !a->dead && !a->pg_down && !(*p)->dead && !(*p)->pg_down;
}

/* batond's clock in whole ms: rounded down for times it records (a send
 * time: the lease counts from no later than the real send), up for
 * "now" in a grant (less is left). */
static uint64_t bnow(struct sim *s, struct server *sv, bool ceil_)
{
	double l = clk_local(&sv->bclk, now_real(s));
	return (uint64_t)(ceil_ ? ceil(l) : floor(l));
}

/* Scale mode: the name of database K > 0 ("default/db-00001", padded
 * with 'x' to cfg->name_len), as register_bulk() registers it. */
static void bulk_name(const struct sim *s, unsigned k, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "default/db-%05u", k);

	while (len < s->cfg->name_len && len + 1 < size) {
		buf[len++] = 'x';
	}
	buf[len < size ? len : size - 1] = '\0';
}

/* ... and back: K, 0 for the modelled database, -1 for any other name
 * (or outside scale mode). */
static long bulk_index(const struct sim *s, const char *name)
{
	static const char prefix[] = "default/db-";
	const char *digits = name + sizeof prefix - 1;
	char *end;
	unsigned long k;

	if (s->bulk == NULL) {
		return -1;
	}
	if (strcmp(name, DB) == 0) {
		return 0;
	}
	if (strncmp(name, prefix, sizeof prefix - 1) != 0) {
		return -1;
	}
	k = strtoul(digits, &end, 10);
	if (end == digits || (*end != '\0' && *end != 'x') || k == 0 ||
	    k >= s->cfg->databases) {
		return -1;
	}
	return (long)k;
}

/* Scale mode: the position of another database's instance in SV's
 * region. At rest it stays at 1; writing, it grows 10 bytes a ms of
 * batond's clock (every region's report of it changes every report
 * interval), except once its primary's region was killed: a standby of
 * a primary that died receives nothing more, so it stays where it was
 * at the kill until a promote names another primary. */
static uint64_t bulk_position(struct sim *s, struct server *sv,
			      const char *name)
{
	double t = now_real(s);

	if (!s->cfg->writing) {
		return 1;
	}
	if (s->killed >= 0) {
		const struct baton_db_state *st = baton_fsm_db(&sv->fsm, name);
		if (st != NULL && st->primary == s->killed) {
			t = s->kill_at;
		}
	}
	return 10 * (uint64_t)floor(clk_local(&sv->bclk, t));
}

/* A message from I to J takes the link's latency plus some jitter (so
 * messages overtake each other). */
static double delay(struct sim *s, unsigned from, unsigned to)
{
	(void)from;
	(void)to;
	return 1.0 + (double)rndn(s, 2 * s->base_latency);
}

/* ---- events ------------------------------------------------------------ */

static struct event *queue(struct sim *s, int type, double at)
{
	struct event *e;

	if (s->n_ev >= MAX_EVENTS) {
		violation(s, "model: event queue full");
		return NULL;
	}
	e = &s->ev[s->n_ev++];
	memset(e, 0, sizeof *e);
	e->type = type;
	e->at = at;
	e->seq = s->ev_seq++;
	e->sent = now_real(s);
	return e;
}

/* ---- FSM observer: S2, S3, S4 and the driver --------------------------- */

static void check_chain(struct sim *s, struct server *sv)
{
	uint64_t k = sv->fsm.applied;

	if (k >= CHAIN_CAP) {
		return;
	}
	if (k >= s->chain_cap) {
		uint64_t cap = s->chain_cap * 2;
		uint64_t *p;
		while (cap <= k) {
			cap *= 2;
		}
		p = realloc(s->chain, cap * sizeof *p);
		if (p == NULL) {
			return;
		}
		s->chain = p;
		s->chain_cap = cap;
	}
	while (s->chain_len <= k) {
		s->chain[s->chain_len++] = 0;
	}
	if (s->chain[k] == 0) {
		s->chain[k] = sv->fsm.chain;
	} else if (s->chain[k] != sv->fsm.chain) {
		violation(s, "S3: server %u applied history #%llu differs",
			  sv->i, (unsigned long long)k);
	}
}

static bool agent_writable(const struct inst *a, double t)
{
	return a->al.valid && a->al.primary_epoch == a->al.epoch &&
	       clk_local(&a->aclk, t) < (double)a->al.deadline;
}

/* S4, the first time any server applies the promote to EPOCH: the old
 * epoch's primary region must hold no lease any more, neither as renewer
 * (its batond) nor as agent. */
static void check_s4(struct sim *s, uint64_t epoch, const char *reason)
{
	double t = now_real(s), end = -1.0;
	struct server *old;
	int op;

	if (epoch <= s->s4_epoch || epoch < 2 || epoch >= MAX_EPOCHS) {
		return;
	}
	s->s4_epoch = epoch;
	op = s->primary_of[epoch - 1];
	if (op < 0 || (unsigned)op >= s->n) {
		return;
	}
	old = &s->s[op];
	{
		struct baton_driver_slot *sl =
		    baton_index_get(&old->drv.slots, DB);
		if (sl != NULL && sl->lease.held &&
		    sl->lease.epoch == epoch - 1) {
			double r =
			    clk_real(&old->bclk, (double)sl->lease.valid_until);
			if (r > end) {
				end = r;
			}
		}
	}
	for (unsigned k = 0; k < s->ni; k++) {
		const struct inst *a = &old->ag[k];
		if (a->al.valid && a->al.epoch == epoch - 1 &&
		    a->al.primary_epoch == epoch - 1) {
			double r = clk_real(&a->aclk, (double)a->al.deadline);
			if (r > end) {
				end = r;
			}
		}
	}
	if (end >= 0) {
		int64_t slack = (int64_t)floor(t - end);
		if (slack < s->res->min_slack_ms) {
			s->res->min_slack_ms = slack;
		}
		if (t < end) {
			violation(s,
				  "S4: promote to epoch %llu (%s) applied %.1f "
				  "ms before r%d's lease at epoch %llu ended",
				  (unsigned long long)epoch, reason, end - t,
				  op, (unsigned long long)(epoch - 1));
		}
	}
}

/* RPO (synchronous mode): the new primary holds every acknowledged
 * write. Checked once per epoch, the first time a promote applies. */
static void check_rpo(struct sim *s, const struct baton_db_state *db)
{
	const struct inst *np;

	if (!s->synchronous || db == NULL || db->primary < 0 ||
	    (unsigned)db->primary >= s->n || db->epoch < 2 ||
	    db->epoch >= MAX_EPOCHS || s->epoch_rpo[db->epoch]) {
		return;
	}
	s->epoch_rpo[db->epoch] = true;
	if (s->failing_over) {
		s->res->sync_failovers++;
	}
	/* the promoted instance: the region's designated one once the
	 * promote applied */
	np = &s->s[db->primary].ag[db->regions[db->primary].designated];
	if (np->position < s->acked) {
		violation(
		    s,
		    "RPO: promote of r%d%s at epoch %llu loses "
		    "acknowledged writes (it holds %llu, acknowledged "
		    "up to %llu)",
		    db->primary,
		    s->ni > 1
			? (db->regions[db->primary].designated ? ".1" : ".0")
			: "",
		    (unsigned long long)db->epoch,
		    (unsigned long long)np->position,
		    (unsigned long long)s->acked);
	}
}

/* A LEAVE applied (first server): when, and where the member it left
 * listed stood then, for the RELEASE that follows (scenario 2). */
static void note_leave(struct sim *s, struct server *sv,
		       const struct baton_cmd *cmd)
{
	struct baton_db_state *db = baton_fsm_db(&sv->fsm, DB);
	int ri = db != NULL ? baton_fsm_region_index(db, cmd->region) : -1;

	if (ri < 0 || (unsigned)ri >= s->n) {
		return;
	}
	s->leave_at[ri] = now_real(s);
	for (unsigned k = 0; k < s->ni; k++) {
		if (db->regions[ri].listed & BATON_ORDINAL_BIT(k)) {
			s->holder_at_leave[ri] = s->s[ri].ag[k].position;
		}
	}
}

/* A RELEASE applied (first server): its evidence beside what the
 * holder really held (struct baton_sim_move). */
static void note_release(struct sim *s, struct server *sv,
			 const struct baton_cmd *cmd)
{
	struct baton_db_state *db = baton_fsm_db(&sv->fsm, DB);
	int ri = db != NULL ? baton_fsm_region_index(db, cmd->region) : -1;
	struct baton_sim_move *m = &s->res->move;

	if (ri < 0 || (unsigned)ri >= s->n || cmd->holder >= s->ni) {
		return;
	}
	m->released = true;
	m->region = ri;
	m->holder = cmd->holder;
	m->x = cmd->drop_position;
	m->flush = cmd->holder_flush;
	m->holder_at_leave = s->holder_at_leave[ri];
	m->holder_at_release = s->s[ri].ag[cmd->holder].position;
	m->leave_to_release_ms = (uint64_t)(now_real(s) - s->leave_at[ri]);
}

/* A DESIGNATE applied, the first time any server applies it. */
static void log_step(struct sim *s, struct server *sv,
		     const struct baton_cmd *cmd)
{
	static const char step_name[] = "?JLR";
	struct baton_sim_result *r = s->res;
	size_t len = strlen(r->steps);

	s->steps_seen = sv->fsm.applied;
	if (cmd->step == BATON_DESIGNATE_JOIN) {
		r->joins++;
	} else if (cmd->step == BATON_DESIGNATE_LEAVE) {
		r->leaves++;
		note_leave(s, sv, cmd);
	} else {
		r->releases++;
		note_release(s, sv, cmd);
	}
	snprintf(r->steps + len, sizeof r->steps - len, "%s%s %c%u",
		 len > 0 ? " " : "", cmd->region,
		 step_name[cmd->step < 4 ? cmd->step : 0], cmd->ordinal);
	tracef(s,
	       "s%u applied designate %s %c%u seq %llu holder %u X %llu "
	       "flush %llu",
	       sv->i, cmd->region, step_name[cmd->step < 4 ? cmd->step : 0],
	       cmd->ordinal, (unsigned long long)cmd->desig_seq, cmd->holder,
	       (unsigned long long)cmd->drop_position,
	       (unsigned long long)cmd->holder_flush);
}

/* Scale mode, S4 for another database NAME: when its promote to EPOCH
 * first applies, region OP's renewer lease of the epoch before has ended
 * in real time (it has no agent: its batond's lease is all there is). */
static void check_s4_bulk(struct sim *s, const char *name, uint64_t epoch,
			  int op)
{
	const struct baton_driver_slot *sl;
	struct server *old;
	double t = now_real(s), end;

	if (op < 0 || (unsigned)op >= s->n) {
		return;
	}
	old = &s->s[op];
	sl = baton_index_get(&old->drv.slots, name);
	if (sl == NULL || !sl->lease.held || sl->lease.epoch != epoch - 1) {
		return;
	}
	end = clk_real(&old->bclk, (double)sl->lease.valid_until);
	if (t < end) {
		violation(s,
			  "S4: promote of %s to epoch %llu applied %.1f ms "
			  "before r%d's lease at epoch %llu ended",
			  name, (unsigned long long)epoch, end - t, op,
			  (unsigned long long)(epoch - 1));
	}
}

/* Scale mode: the failover of another database (struct bulk) is done
 * once the promote to a surviving region applied on that region's
 * server; the burst is counted until the last one. */
static void note_failed_over(struct sim *s, struct server *sv, struct bulk *b,
			     const struct baton_db_state *db)
{
	struct baton_sim_failover *fo = &s->res->failover;

	if (!b->affected || b->done || db->primary != (int)sv->i ||
	    db->primary == s->killed || db->epoch <= b->from_epoch) {
		return;
	}
	b->done = true;
	b->failed_ms = (uint64_t)(now_real(s) - s->kill_at);
	if (++fo->failed_over == fo->databases && s->failing) {
		s->failing = false;
		fo->burst_ms = b->failed_ms;
	}
}

/* Scale mode: S2 and S4 for the other database NAME a command applied
 * on SV touched (the modelled one has its own, observer_cb()). */
static void check_bulk(struct sim *s, struct server *sv, const char *name,
		       const struct baton_cmd *cmd, int result)
{
	long k = bulk_index(s, name);
	struct baton_db_state *db;
	struct bulk *b;

	if (k <= 0 || (db = baton_fsm_db(&sv->fsm, name)) == NULL) {
		return;
	}
	b = &s->bulk[k];
	if (db->epoch < b->max_epoch[sv->i]) {
		violation(s, "S2: server %u epoch of %s went back %llu -> %llu",
			  sv->i, name, (unsigned long long)b->max_epoch[sv->i],
			  (unsigned long long)db->epoch);
		return;
	}
	b->max_epoch[sv->i] = db->epoch;
	if (db->epoch > b->epoch) {
		/* the first server to apply it */
		if (cmd->type == BATON_CMD_PROMOTE && result == BATON_FSM_OK &&
		    db->epoch == b->epoch + 1) {
			check_s4_bulk(s, name, db->epoch, b->primary);
		}
		b->epoch = db->epoch;
		b->primary = db->primary;
	}
	if (cmd->type == BATON_CMD_PROMOTE && result == BATON_FSM_OK) {
		note_failed_over(s, sv, b, db);
	}
}

static void observer_cb(struct baton_fsm *f, const struct baton_cmd *cmd,
			int result, void *data)
{
	struct server *sv = data;
	struct sim *s = sv->sim;
	struct baton_db_state *db = baton_fsm_db(f, DB);
	/* the modelled database's command (scale mode has others) */
	bool mine = cmd != NULL && strcmp(cmd->db, DB) == 0;

	check_chain(s, sv);
	if (db != NULL) {
		if (db->epoch < sv->max_epoch) {
			violation(s,
				  "S2: server %u epoch went back %llu -> %llu",
				  sv->i, (unsigned long long)sv->max_epoch,
				  (unsigned long long)db->epoch);
		}
		if (db->epoch > sv->max_epoch) {
			sv->max_epoch = db->epoch;
		}
		if (db->epoch < MAX_EPOCHS && db->primary >= 0) {
			s->primary_of[db->epoch] = db->primary;
		}
	}
	if (mine && result == BATON_FSM_OK && cmd->type == BATON_CMD_LOST) {
		s->failing_over = true;
	}
	if (mine && result == BATON_FSM_OK && cmd->type == BATON_CMD_RENEW) {
		s->failing_over = false; /* it came back */
	}
	if (cmd != NULL && result == BATON_FSM_OK &&
	    cmd->type == BATON_CMD_DESIGNATE && f->applied > s->steps_seen) {
		log_step(s, sv, cmd);
	} else if (cmd != NULL && cmd->type == BATON_CMD_DESIGNATE &&
		   f->applied > s->steps_seen) {
		s->steps_seen = f->applied;
		s->res->desig_refused++;
		if (result == BATON_FSM_STALE_DESIGNATION) {
			s->res->desig_stale++;
		}
		tracef(s,
		       "s%u refused designate %s step %u ordinal %u seq "
		       "%llu: %d",
		       sv->i, cmd->region, cmd->step, cmd->ordinal,
		       (unsigned long long)cmd->desig_seq, result);
	}
	if (mine && result == BATON_FSM_OK && cmd->type == BATON_CMD_PROMOTE) {
		check_s4(s, cmd->epoch, baton_reason_name(cmd->reason));
		/* W1: the witness has no database to promote (the FSM
		 * refuses it as not eligible, the decider never names it) */
		if (db != NULL && db->primary >= 0 &&
		    is_witness(s, (unsigned)db->primary)) {
			violation(s,
				  "W1: promote of r%d, the witness (no "
				  "database instance), at epoch %llu (%s)",
				  db->primary, (unsigned long long)cmd->epoch,
				  baton_reason_name(cmd->reason));
		}
		check_rpo(s, db);
		if (s->ni > 1 && db != NULL && db->primary >= 0 &&
		    (unsigned)db->primary < s->n &&
		    !alive(s, (unsigned)db->primary)) {
			s->dead_promote_at = now_real(s);
		}
		if (s->res->kill.done &&
		    cmd->epoch == s->res->kill.from_epoch + 1 &&
		    s->res->kill.first_region < 0) {
			s->res->kill.first_region =
			    baton_fsm_region_index(db, cmd->region);
			s->res->kill.first_ordinal = cmd->ordinal;
		}
		s->failing_over = false;
		if (s->ni == 1) {
			tracef(s, "s%u applied promote %s epoch %llu", sv->i,
			       cmd->region, (unsigned long long)cmd->epoch);
		} else {
			tracef(s, "s%u applied promote %s.%u epoch %llu", sv->i,
			       cmd->region, cmd->ordinal,
			       (unsigned long long)cmd->epoch);
		}
	}
	/* scale mode: the databases this command touched */
	if (s->bulk != NULL && cmd != NULL) {
		if (cmd->type == BATON_CMD_RENEW_BATCH) {
			for (unsigned k = 0; k < cmd->n_items; k++) {
				check_bulk(s, sv, cmd->items[k].db, cmd,
					   result);
			}
		} else if (cmd->type == BATON_CMD_REPORT_BATCH) {
			for (unsigned k = 0; k < cmd->n_items; k++) {
				check_bulk(s, sv, cmd->reports[k].db, cmd,
					   result);
			}
		} else {
			check_bulk(s, sv, cmd->db, cmd, result);
		}
	}
	/* what batond does on every apply (raftglue.c's observer) */
	baton_driver_applied(&sv->drv, f, cmd, result, bnow(s, sv, false));
}

/* ---- proposals: raftglue's propose(), over the model network ----------- */

static void deliver_done(struct sim *s, unsigned to, const struct baton_cmd *c,
			 int result, double at, unsigned inc)
{
	struct event *e = queue(s, EV_ACK, at);
	if (e != NULL) {
		e->to = to;
		e->cmd = *c;
		e->result = result;
		e->inc = inc;
	}
}

static void apply_cb(struct raft_apply *areq, int status, void *result)
{
	struct req *r = areq->data;
	struct sim *s = r->sim;
	int rc = status == 0 ? baton_fsm_result(result) : 0;

	s->outstanding--;
	if (s->closing) {
		free(r);
		return;
	}
	if (r->cmd.type == BATON_CMD_PROMOTE && rc == BATON_FSM_OK) {
		double lat = now_real(s) - r->expiry_real;
		s->res->promotes++;
		if (r->expiry_real > 0 && lat >= 0) {
			s->res->failover_samples++;
			s->res->failover_ms_sum += (uint64_t)lat;
			if ((uint64_t)lat > s->res->failover_ms_max) {
				s->res->failover_ms_max = (uint64_t)lat;
			}
		}
	}
	if (r->cmd.type != BATON_CMD_RENEW_BATCH &&
	    r->cmd.type != BATON_CMD_REPORT &&
	    r->cmd.type != BATON_CMD_REPORT_BATCH) {
		tracef(s, "ack s%u->s%u type %d epoch %llu: %s", r->leader,
		       r->from, r->cmd.type, (unsigned long long)r->cmd.epoch,
		       status != 0 ? raft_strerror(status)
				   : baton_fsm_result_name(rc));
	}
	if (r->fwd_id != 0) {
		if (s->fwd_done[r->fwd_id - 1]) {
			free(r); /* the proposer timed out already */
			return;
		}
		s->fwd_done[r->fwd_id - 1] = 1;
	}
	if (!r->forwarded) {
		/* the leader's own proposal: its batond learns at once */
		deliver_done(s, r->from, &r->cmd, rc, now_real(s), r->inc);
	} else if (link_up(s, r->leader, r->from)) {
		deliver_done(s, r->from, &r->cmd, rc,
			     now_real(s) + delay(s, r->leader, r->from),
			     r->inc);
	} else {
		/* the answer is lost: the HTTP request times out */
		deliver_done(s, r->from, &r->cmd, 0,
			     r->sent + FORWARD_TIMEOUT_MS, r->inc);
	}
	free(r);
}

_Static_assert(BATON_CMD__COUNT <= BATON_SIM_CMD_TYPES,
	       "the scale mode counts every command type");

/* Scale mode: the leader LEADER appended CMD as an entry of LEN bytes at
 * its last index; counted while the window is open, and its bytes kept
 * by index either way (what a server holds beyond its snapshot). */
static void note_append(struct sim *s, unsigned leader,
			const struct baton_cmd *cmd, size_t len)
{
	struct baton_sim_load *l = &s->res->load;
	uint64_t idx = raft_last_index(raft_fixture_get(&s->f, leader));

	if (idx >= s->log_cap) {
		uint64_t cap = s->log_cap != 0 ? s->log_cap : 4096;
		uint64_t *p;
		while (cap <= idx) {
			cap *= 2;
		}
		p = realloc(s->log_bytes, cap * sizeof *p);
		if (p == NULL) {
			violation(s, "model: no memory for the log's sizes");
			return;
		}
		s->log_bytes = p;
		s->log_cap = cap;
	}
	if (s->log_len == 0) {
		s->log_bytes[0] = 0;
		s->log_len = 1;
	}
	/* Raft's own entries (a barrier at an election) weigh nothing here;
	 * an index written again after a leader change is overwritten */
	while (s->log_len < idx) {
		s->log_bytes[s->log_len] = s->log_bytes[s->log_len - 1];
		s->log_len++;
	}
	s->log_bytes[idx] = s->log_bytes[idx - 1] + len;
	s->log_len = idx + 1;
	if (s->failing) {
		struct baton_sim_failover *fo = &s->res->failover;
		fo->entries++;
		fo->bytes += len;
		if (cmd->type >= 0 && cmd->type < BATON_SIM_CMD_TYPES) {
			fo->type_entries[cmd->type]++;
		}
	}
	if (!s->counting) {
		return;
	}
	l->entries++;
	l->bytes += len;
	if (len > l->entry_max) {
		l->entry_max = len;
	}
	if (cmd->type >= 0 && cmd->type < BATON_SIM_CMD_TYPES) {
		l->type_entries[cmd->type]++;
		l->type_bytes[cmd->type] += len;
	}
	if (cmd->type == BATON_CMD_RENEW_BATCH) {
		l->renew_items += cmd->n_items;
	}
	if (cmd->type == BATON_CMD_REPORT_BATCH) {
		l->report_items += cmd->n_items;
	}
}

/* Scale mode: bytes of entries (from, to] of the leader's log. */
static uint64_t log_bytes_between(const struct sim *s, uint64_t from,
				  uint64_t to)
{
	if (s->log_len == 0) {
		return 0;
	}
	if (to >= s->log_len) {
		to = s->log_len - 1;
	}
	if (from >= to) {
		return 0;
	}
	return s->log_bytes[to] - s->log_bytes[from];
}

static int raft_propose(struct sim *s, unsigned leader, unsigned from,
			unsigned inc, bool forwarded, double sent,
			const struct baton_cmd *cmd, double expiry_real,
			uint64_t fwd_id)
{
	struct raft *rf = raft_fixture_get(&s->f, leader);
	struct raft_buffer buf;
	struct req *r;
	size_t len;

	if (!alive(s, leader) || raft_state(rf) != RAFT_LEADER) {
		return BATON_ENOTLEADER;
	}
	if (baton_cmd_to_raft(cmd, &buf) != 0) {
		return BATON_EINVAL;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		raft_free(buf.base);
		return BATON_ENOMEM;
	}
	r->sim = s;
	r->from = from;
	r->inc = inc;
	r->leader = leader;
	r->forwarded = forwarded;
	r->sent = sent;
	r->cmd = *cmd;
	r->expiry_real = expiry_real;
	r->fwd_id = fwd_id;
	r->u.apply.data = r;
	len = buf.len;
	if (raft_apply(rf, &r->u.apply, &buf, 1, apply_cb) != 0) {
		raft_free(buf.base);
		free(r);
		return BATON_ENOTLEADER;
	}
	s->outstanding++;
	if (s->cfg->databases > 0) {
		note_append(s, leader, cmd, len);
	}
	return 0;
}

/* The driver's propose: 0 when an outcome will come back. */
static int sim_propose(struct sim *s, unsigned from,
		       const struct baton_cmd *cmd, double expiry_real)
{
	struct raft *rf = raft_fixture_get(&s->f, from);
	raft_id lid = 0;
	const char *addr = NULL;
	unsigned leader;
	struct event *e;

	if (!alive(s, from)) {
		return BATON_ESHUTDOWN;
	}
	raft_leader(rf, &lid, &addr);
	if (lid == 0 || lid > s->n) {
		return BATON_ENOTLEADER; /* no leader known: nothing sent */
	}
	leader = (unsigned)lid - 1;
	if (leader == from) {
		return raft_propose(s, from, from, s->s[from].inc, false,
				    now_real(s), cmd, expiry_real, 0);
	}
	e = queue(s, EV_FORWARD, now_real(s) + delay(s, from, leader));
	if (e == NULL) {
		return BATON_ENOMEM;
	}
	e->to = leader;
	e->from = from;
	e->inc = s->s[from].inc;
	e->cmd = *cmd;
	return 0;
}

static int drv_propose(void *data, const struct baton_cmd *cmd)
{
	struct server *sv = data;
	struct sim *s = sv->sim;
	double expiry = 0;

	if (cmd->type == BATON_CMD_PROMOTE &&
	    cmd->reason == BATON_REASON_LEASE_EXPIRED) {
		/* the command's database (scale mode: not always DB) */
		const struct baton_db_state *db =
		    baton_fsm_db(&sv->fsm, cmd->db);
		if (db != NULL) {
			expiry = clk_real(
			    &sv->bclk,
			    (double)baton_decider_expiry(&sv->drv.decider, db,
							 bnow(s, sv, false)));
		}
	}
	if (cmd->type == BATON_CMD_PROMOTE && s->ni == 1) {
		tracef(s, "s%u proposes promote %s epoch %llu (%s)", sv->i,
		       cmd->region, (unsigned long long)cmd->epoch,
		       baton_reason_name(cmd->reason));
	} else if (cmd->type == BATON_CMD_PROMOTE) {
		tracef(s, "s%u proposes promote %s.%u epoch %llu (%s)", sv->i,
		       cmd->region, cmd->ordinal,
		       (unsigned long long)cmd->epoch,
		       baton_reason_name(cmd->reason));
	}
	if (cmd->type == BATON_CMD_DESIGNATE &&
	    cmd->step == BATON_DESIGNATE_JOIN) {
		s->res->join_proposals++; /* counted, not traced */
	}
	return sim_propose(s, sv->i, cmd, expiry);
}

static void drv_report(void *data, const char *db,
		       struct baton_region_report *out)
{
	struct server *sv = data;
	struct sim *s = sv->sim;
	const struct inst *a = designated(sv);
	if (strcmp(db, DB) != 0) {
		/* scale mode: a database with no agent modelled; its
		 * designated instance serves and asks for the lease, at a
		 * position that stays (or, writing, grows 10 bytes a ms: a
		 * new one at every report; bulk_position()); follows_epoch
		 * 0: not checked */
		memset(out, 0, sizeof *out);
		out->healthy = true;
		out->primary_ready = true;
		out->position = bulk_position(s, sv, db);
		return;
	}
	if (is_witness(s, sv->i)) {
		/* only BROKEN_WITNESS_AS_DATA (the driver reports for data
		 * regions): a batond that takes the witness for a standby
		 * caught up with the primary */
		const struct baton_db_state *st = db_of(sv);
		const struct inst *p = primary_inst(s, st);
		memset(out, 0, sizeof *out);
		out->healthy = true;
		out->primary_ready = true;
		out->position = p != NULL ? p->position : 0;
		out->follows_epoch = st != NULL ? st->epoch : 0;
		return;
	}
	/* batond sees its agent's status; a paused agent stops answering,
	 * and two seconds later the instance counts as not serving */
	out->healthy = s->ni == 1 || serving(s, a);
	out->position = a->position;
	/* agents.c: the agent's epoch, the last order's (here an order is
	 * carried out, a demote's rewind included, as it arrives) */
	out->follows_epoch = a->al.epoch;
	out->sync_standby = false;
	out->primary_ready = serving(s, a);
	/* two instances: the best sibling (agents.c's fold: serving first,
	 * then the highest position, then the lowest ordinal); the driver
	 * says it only from the primary region while A is not serving */
	if (s->ni > 1) {
		const struct inst *b = NULL;
		unsigned bk = 0;
		for (unsigned k = 0; k < s->ni; k++) {
			const struct inst *c = &sv->ag[k];
			if (c == a) {
				continue;
			}
			if (b == NULL || (serving(s, c) && !serving(s, b)) ||
			    (serving(s, c) == serving(s, b) &&
			     c->position > b->position)) {
				b = c;
				bk = k;
			}
		}
		if (b != NULL) {
			out->spare.present = true;
			out->spare.ordinal = (int)bk;
			out->spare.healthy = serving(s, b);
			out->spare.position = b->position;
			out->spare.follows_epoch = b->al.epoch;
		}
	}
}

/* agents.c: the final position of member ORDINAL is the one its agent
 * acknowledged the detach of this round with (each member is detached,
 * batond_orders_inst) */
static bool drv_final_report(void *data, const char *db, uint64_t epoch,
			     uint64_t round, int ordinal,
			     struct baton_region_report *out)
{
	struct server *sv = data;
	const struct inst *a;
	if (ordinal < 0 || (unsigned)ordinal >= sv->sim->ni) {
		return false; /* no such instance */
	}
	if (strcmp(db, DB) != 0) {
		/* scale mode: a database with no agent modelled fails over
		 * only once FAIL_REGION killed its primary's region; its
		 * instance here stopped where it was then (bulk_position())
		 * and, with no agent to order, has detached at once: its
		 * final is that position. The killed region answers nothing
		 * (its batond is gone, the driver does not run there). */
		if (!sv->sim->cfg->fail_region || !alive(sv->sim, sv->i)) {
			return false;
		}
		out->healthy = true;
		out->primary_ready = true;
		out->position = bulk_position(sv->sim, sv, db);
		return true;
	}
	a = &sv->ag[ordinal];
	if (sv->sim->cfg->sim_broken &
	    BATON_SIM_BROKEN_FINALS_DESIGNATED_ONLY) {
		/* every member answered with the designated instance's */
		a = designated(sv);
	}
	if (a->detach_acked_epoch != epoch || a->detach_acked_round != round) {
		return false; /* the detach order is on its way */
	}
	out->healthy = true;
	out->primary_ready = true;
	out->position = a->detach_position;
	return true;
}

/* The driver's designation op (two instances): what this region's
 * batond sees of its pods and, as the primary's, of its agent's standby
 * rows and last `standbys` answer (designate.h). */
static bool drv_designate(void *data, const char *dbname,
			  struct baton_designate_input *in, uint64_t now)
{
	struct server *sv = data;
	struct sim *s = sv->sim;
	const struct baton_db_state *st = in->st;
	const struct inst *p = primary_inst(s, st);
	(void)dbname;

	in->redesignate_after_ms = s->cfg->redesignate_after_ms;
	in->max_lag_bytes = st->cfg.max_lag_bytes;
	if (in->me == st->primary) {
		in->primary = sv->prim;
		in->primary.answer = sv->sb_answer;
		in->primary.answer_epoch = sv->sb_answer_epoch;
		in->primary.answer_gen = sv->sb_answer_gen;
		in->primary.answer_x = sv->sb_answer_x;
		in->primary.answer_ms = sv->sb_answer_ms;
		return true;
	}
	for (unsigned k = 0; k < s->ni; k++) {
		const struct inst *a = &sv->ag[k];
		struct baton_designate_pod *pod = &in->pods[k];
		struct inst *up;

		pod->exists = true;
		pod->gone = a->dead;
		if (a->dead) {
			pod->gone_since_ms = (uint64_t)floor(
			    clk_local(&sv->bclk, a->dead_since));
		}
		pod->ready = !a->dead && !a->pg_down;
		pod->status_age_ms = !a->status_read ? BATON_DESIGNATE_NO_STATUS
				     : now > a->status_ms ? now - a->status_ms
							  : 0;
		/* what its last status said: a killed pod's agent does not
		 * answer, so its status ages (and turns stale) */
		pod->serving = a->status_read && a->status_serving;
		pod->follows_epoch = a->al.epoch;
		pod->upstream_primary =
		    streams(s, sv->i, k, &up) && p != NULL && up == p;
		pod->lag_bytes = p != NULL && p->position > a->position
				     ? p->position - a->position
				     : 0;
	}
	return true;
}

static void drv_log(void *data, int level, const char *db, const char *msg)
{
	struct server *sv = data;
	(void)db;
	if (level == 0) {
		return; /* debug lines (every report) would drown the trace */
	}
	tracef(sv->sim, "s%u: %s", sv->i, msg);
}

/* ---- the agent --------------------------------------------------------- */

static bool agent_paused(struct sim *s, const struct inst *a)
{
	return now_real(s) < a->paused_until;
}

static double agent_delay(struct sim *s, const struct inst *a)
{
	if (now_real(s) < a->slow_until) {
		return 100.0 + (double)rndn(s, 1400); /* a slow channel */
	}
	return 1.0 + (double)rndn(s, 5);
}

static uint64_t anow(struct sim *s, const struct inst *a)
{
	return (uint64_t)floor(clk_local(&a->aclk, now_real(s)));
}

static void agent_tick(struct sim *s, struct server *sv, unsigned k)
{
	struct inst *a = &sv->ag[k];
	double al = clk_local(&a->aclk, now_real(s));
	struct event *e;

	if (is_witness(s, sv->i) || a->dead || agent_paused(s, a) ||
	    a->ask_pending || al < a->next_ask) {
		return;
	}
	a->next_ask = al + ASK_MS;
	e = queue(s, EV_ASK, now_real(s) + agent_delay(s, a));
	if (e == NULL) {
		return;
	}
	a->ask_pending = true;
	e->to = sv->i;
	e->ord = k;
	e->ans.sent_ms = anow(s, a);
	e->ans.gen = a->al.gen;
	e->ans.epoch = a->al.epoch;
	/* the question names the list in force (lease.h's sync) */
	e->has_list = a->has_list;
	memcpy(e->list, a->list, sizeof e->list);
}

/* A list with G reaches the agent (a `standbys` order, or a promote that
 * carries one): an older G is refused (agent.h), an equal one is a retry. */
static bool agent_set_list(struct inst *a, const struct event *o)
{
	if (a->has_list && o->gen < a->list_gen) {
		return false;
	}
	a->has_list = true;
	memcpy(a->list, o->list, sizeof a->list);
	a->list_gen = o->gen;
	return true;
}

/* BROKEN_RELEASE_BEFORE_FLUSH: the list is written and answered now but
 * in force only once the reload took effect, RELOAD_MS later (a reload
 * already on its way keeps its time: the agent does not wait for it). */
static bool agent_set_list_later(struct sim *s, struct inst *a,
				 const struct event *o)
{
	uint64_t gen = a->reload_pending && a->reload_gen > a->list_gen
			   ? a->reload_gen
			   : a->list_gen;

	if (a->has_list && o->gen < gen) {
		return false;
	}
	if (!a->reload_pending) {
		a->reload_pending = true;
		a->reload_at = now_real(s) + BATON_SIM_RELOAD_MS;
	}
	memcpy(a->reload_list, o->list, sizeof a->reload_list);
	a->reload_gen = o->gen;
	return true;
}

/* A reload that took effect (BROKEN_RELEASE_BEFORE_FLUSH). */
static void agent_reloaded(struct sim *s, struct inst *a)
{
	if (!a->reload_pending || now_real(s) < a->reload_at) {
		return;
	}
	a->reload_pending = false;
	if (!a->has_list || a->reload_gen >= a->list_gen) {
		a->has_list = true;
		memcpy(a->list, a->reload_list, sizeof a->list);
		a->list_gen = a->reload_gen;
	}
}

/* An order reaches the agent (agent.c: accept_epoch, then the action). */
static void agent_order(struct sim *s, struct server *sv, unsigned k,
			const struct event *o)
{
	struct inst *a = &sv->ag[k];
	int order = o->order;
	uint64_t epoch = o->epoch;
	struct event *e;

	if (a->dead) {
		return; /* nobody there: batond sends it again */
	}
	if (epoch < a->al.epoch) {
		return; /* 409: stale */
	}
	if (epoch > a->al.epoch) {
		a->al.epoch = epoch;
		if (a->al.valid) { /* rule 4: a newer epoch ends the lease */
			a->al.gen++;
			a->al.valid = false;
		}
	}
	switch (order) {
	case ORDER_PROMOTE:
		/* the list first, then pg_promote (agent.md) */
		if (o->has_list) {
			(void)agent_set_list(a, o);
		}
		a->al.primary_epoch = epoch;
		break;
	case ORDER_DEMOTE:
		a->al.gen++;
		a->al.valid = false;
		a->al.primary_epoch = 0;
		break;
	case ORDER_FENCE:
		a->al.gen++;
		a->al.valid = false;
		break;
	case ORDER_DETACH:
		/* the standby stops streaming: its position is final */
		a->detached = true;
		break;
	default:
		break;
	}
	if (order == ORDER_DEMOTE) {
		/* follow the current primary: a standby ahead of it (async
		 * mode) is rewound to it */
		const struct baton_db_state *db = db_of(sv);
		const struct inst *p = primary_inst(s, db);
		a->detached = false;
		if (p != NULL && p != a && a->position > p->position) {
			a->position = p->position;
		}
	}
	e = queue(s, EV_ORDER_ACK, now_real(s) + agent_delay(s, a));
	if (e != NULL) {
		e->to = sv->i;
		e->ord = k;
		e->inc = sv->inc;
		e->position = a->position;
		e->detached = a->detached;
		e->round = o->round;
		e->order = order;
		e->epoch = a->al.epoch;
		e->primary_epoch = a->al.primary_epoch;
	}
}

/* A `standbys` order reaches the primary's agent: the list is in force
 * at once (the model has no walsender to wait for), and X is the
 * primary's position then: every commit acknowledged with a removed
 * standby's help is at or below it (design-per-instance.md §3.3). */
static void agent_standbys(struct sim *s, struct server *sv, unsigned k,
			   const struct event *o)
{
	struct inst *a = &sv->ag[k];
	struct event *e;
	bool ok;

	if (a->dead || o->epoch < a->al.epoch) {
		return; /* lost, or 409 (stale epoch): sent again */
	}
	a->al.epoch = o->epoch;
	ok = (s->cfg->sim_broken & BATON_SIM_BROKEN_RELEASE_BEFORE_FLUSH)
		 ? agent_set_list_later(s, a, o)
		 : agent_set_list(a, o);
	e = queue(s, EV_STANDBYS_ACK, now_real(s) + agent_delay(s, a));
	if (e != NULL) {
		e->to = sv->i;
		e->ord = k;
		e->inc = o->inc;
		e->epoch = o->epoch;
		e->gen = o->gen;
		e->refused = !ok;
		e->x = a->position;
	}
}

/* ---- batond (apart from the driver): answers and orders ---------------- */

/* The list batond derives for DB (syncset.h): each standby data region's
 * L. BROKEN_LIST_EARLY also names the sibling of a designated instance
 * whose pod is gone, before any JOIN: what the protocol forbids. */
static void wanted_list(struct sim *s, const struct baton_db_state *db,
			uint16_t *list)
{
	memset(list, 0, sizeof(uint16_t) * N_MAX);
	if (!db->cfg.synchronous) {
		return;
	}
	for (unsigned i = 0; i < db->n_regions && i < s->n; i++) {
		const struct baton_region_state *r = &db->regions[i];
		if ((int)i == db->primary || r->role != BATON_ROLE_DATA) {
			continue;
		}
		/* BROKEN_NO_LEAVE: from M, so LEAVE changes nothing */
		list[i] = (s->cfg->sim_broken & BATON_SIM_BROKEN_NO_LEAVE)
			      ? r->members
			      : r->listed;
		if ((s->cfg->sim_broken & BATON_SIM_BROKEN_LIST_EARLY) &&
		    s->s[i].ag[r->designated].dead) {
			list[i] |= (uint16_t)((1u << s->ni) - 1);
		}
	}
}

/* The lease gate (agents.c, baton_agents_lease_grant()): in synchronous
 * mode the list the question names must exist and lie within the
 * members of DB (§3.3): a stale persisted list never reaches a commit. */
static bool list_within_members(const struct baton_db_state *db,
				const struct event *q)
{
	if (!db->cfg.synchronous) {
		return true;
	}
	if (!q->has_list) {
		return false;
	}
	for (unsigned i = 0; i < N_MAX; i++) {
		uint16_t m = i < db->n_regions && (int)i != db->primary
				 ? db->regions[i].members
				 : 0;
		if ((q->list[i] & ~m) != 0) {
			return false;
		}
	}
	return true;
}

static void batond_answer(struct sim *s, struct server *sv, struct event *q)
{
	const struct baton_db_state *db = db_of(sv);
	struct event *e =
	    queue(s, EV_ANSWER, now_real(s) + agent_delay(s, &sv->ag[q->ord]));

	if (e == NULL) {
		return;
	}
	e->to = sv->i;
	e->ord = q->ord;
	e->ans = q->ans;
	e->ans.epoch = 0;
	e->ans.grant_ms = 0;
	if (db != NULL) {
		e->ans.epoch = db->epoch;
		/* agents.c: baton_agents_lease_grant(), to the designated
		 * instance of the primary region only (BROKEN_GRANT_ORDINAL_0:
		 * to ordinal 0, whatever the FSM designates) */
		unsigned to =
		    (s->cfg->sim_broken & BATON_SIM_BROKEN_GRANT_ORDINAL_0)
			? 0
			: db->regions[sv->i].designated;
		if (db->primary == (int)sv->i && q->ord == to &&
		    db->phase != BATON_PHASE_SWITCHING_OVER &&
		    db->phase != BATON_PHASE_FENCED &&
		    (s->ni == 1 || list_within_members(db, q))) {
			e->ans.grant_ms = baton_driver_grant(
			    &sv->drv, DB, db->epoch, bnow(s, sv, true));
		}
	}
}

static struct event *send_order(struct sim *s, struct server *sv, unsigned k,
				int order, uint64_t epoch)
{
	struct inst *a = &sv->ag[k];
	struct event *e = queue(s, EV_ORDER, now_real(s) + agent_delay(s, a));
	if (e != NULL) {
		e->to = sv->i;
		e->ord = k;
		e->inc = sv->inc;
		e->order = order;
		e->epoch = epoch;
		a->order_pending = order;
		a->order_sent = now_real(s);
	}
	return e;
}

/* Two instances, synchronous: the primary's batond sends a `standbys`
 * order when the list it derives from the FSM differs from the one its
 * agent has in force, or when the driver's designation waits for an
 * answer at a G above the agent's (design-per-instance.md §9 note 31). */
static void batond_standbys(struct sim *s, struct server *sv, unsigned k)
{
	const struct baton_db_state *db = db_of(sv);
	struct inst *a = &sv->ag[k];
	uint16_t want[N_MAX];
	uint64_t need = baton_driver_need_gen(&sv->drv, DB);
	struct event *e;

	if (!db->cfg.synchronous || a->known_primary_epoch != db->epoch ||
	    (sv->sb_pending && now_real(s) - sv->sb_sent < ORDER_RETRY_MS)) {
		return;
	}
	sv->sb_pending = false;
	wanted_list(s, db, want);
	/* batond reads the agent's list from its status (polled): the one
	 * it wrote and persisted, in force unless a reload is still on its
	 * way (BROKEN_RELEASE_BEFORE_FLUSH) */
	if (a->reload_pending &&
	    memcmp(want, a->reload_list, sizeof want) == 0 &&
	    need <= a->reload_gen) {
		return;
	}
	if (!a->reload_pending && a->has_list &&
	    memcmp(want, a->list, sizeof want) == 0 && need <= a->list_gen) {
		return;
	}
	sv->sb_pending = true;
	sv->sb_sent = now_real(s);
	if (!s->ending && rndn(s, 10) == 0) {
		/* lost (the agent restarted before it answered): batond
		 * sends it again; not in the end phases, which are quiet */
		tracef(s, "standbys order to r%u.%u lost", sv->i, k);
		return;
	}
	e = queue(s, EV_STANDBYS, now_real(s) + agent_delay(s, a));
	if (e == NULL) {
		return;
	}
	e->to = sv->i;
	e->ord = k;
	e->inc = sv->inc;
	e->epoch = db->epoch;
	e->has_list = true;
	memcpy(e->list, want, sizeof e->list);
	e->gen = sv->fsm.applied;
	tracef(s, "s%u orders r%u.%u standbys at G %llu", sv->i, sv->i, k,
	       (unsigned long long)e->gen);
}

/* agents.c's drive() for instance K, in the terms of the model */
static void batond_orders_inst(struct sim *s, struct server *sv, unsigned k)
{
	const struct baton_db_state *db = db_of(sv);
	struct inst *a = &sv->ag[k];
	bool primary, des;

	if (a->order_pending != ORDER_NONE &&
	    now_real(s) - a->order_sent < ORDER_RETRY_MS) {
		return;
	}
	a->order_pending = ORDER_NONE;
	des = k == db->regions[sv->i].designated;
	primary = db->primary == (int)sv->i && des;
	if (primary && (db->phase == BATON_PHASE_SWITCHING_OVER ||
			db->phase == BATON_PHASE_FENCED)) {
		if (a->fence_acked_epoch != db->epoch ||
		    a->fence_acked_round != db->round) {
			struct event *e =
			    send_order(s, sv, k, ORDER_FENCE, db->epoch);
			if (e != NULL) {
				e->round = db->round;
			}
		} else if (db->phase == BATON_PHASE_SWITCHING_OVER &&
			   now_real(s) - sv->fence_proposed >= 200) {
			/* only from the agent's acknowledgement of the
			 * fence at this epoch (H3) */
			struct baton_cmd c;
			memset(&c, 0, sizeof c);
			c.type = BATON_CMD_FENCE;
			snprintf(c.db, sizeof c.db, "%s", DB);
			snprintf(c.region, sizeof c.region, "r%u", sv->i);
			c.epoch = db->epoch;
			c.position = a->position;
			c.round = db->round;
			sv->fence_proposed = now_real(s);
			if (sim_propose(s, sv->i, &c, 0) == 0) {
				tracef(s, "s%u proposes fence at %llu", sv->i,
				       (unsigned long long)c.position);
			}
		}
		return;
	}
	if (baton_decider_final_due(db, (int)sv->i, (int)k) !=
	    BATON_FINAL_NONE) {
		/* agents.c detaches(), the rule itself: every member of a
		 * standby region (the designated instance and, mid-move, the
		 * other: design §3.5), the lost primary region's sibling in
		 * its spare slot (§4), and after a promote that left a floor
		 * a standby region's member the promote dropped (§9 note 51)
		 * stop streaming and say where they stopped, which the
		 * driver reports as their finals */
		if (a->detach_acked_epoch != db->epoch ||
		    a->detach_acked_round != db->round) {
			struct event *e =
			    send_order(s, sv, k, ORDER_DETACH, db->epoch);
			if (e != NULL) {
				e->round = db->round;
			}
		}
		return;
	}
	if (primary &&
	    baton_driver_lease_valid(&sv->drv, DB, db->epoch,
				     bnow(s, sv, false)) &&
	    a->known_primary_epoch != db->epoch) {
		struct event *e =
		    send_order(s, sv, k, ORDER_PROMOTE, db->epoch);
		/* the promote carries the list (design §9 note 18) */
		if (e != NULL && s->ni > 1 && db->cfg.synchronous) {
			e->has_list = true;
			wanted_list(s, db, e->list);
			e->gen = sv->fsm.applied;
		}
	} else if (!primary &&
		   (a->known_primary_epoch != 0 || a->known_epoch < db->epoch ||
		    a->known_detached)) {
		send_order(s, sv, k, ORDER_DEMOTE, db->epoch);
	} else if (primary && s->ni > 1) {
		batond_standbys(s, sv, k);
	}
}

static void batond_orders(struct sim *s, struct server *sv)
{
	if (db_of(sv) == NULL || is_witness(s, sv->i)) {
		return; /* the witness's batond has no agent to order */
	}
	for (unsigned k = 0; k < s->ni; k++) {
		batond_orders_inst(s, sv, k);
	}
}

/* ---- the event loop of the model -------------------------------------- */

/* Two instances: an id for the forwarded proposal E a leader is about
 * to take, and its timeout queued (0: not tracked). */
static uint64_t fwd_track(struct sim *s, const struct event *e)
{
	struct event *t;

	if (s->ni == 1) {
		return 0; /* the model of before */
	}
	if (s->fwd_n == s->fwd_cap) {
		uint64_t cap = s->fwd_cap ? s->fwd_cap * 2 : 1024;
		uint8_t *p = realloc(s->fwd_done, cap);
		if (p == NULL) {
			return 0;
		}
		memset(p + s->fwd_cap, 0, cap - s->fwd_cap);
		s->fwd_done = p;
		s->fwd_cap = cap;
	}
	t = queue(s, EV_FWD_TIMEOUT, e->sent + FORWARD_TIMEOUT_MS);
	if (t == NULL) {
		return 0;
	}
	t->to = e->from;
	t->inc = e->inc;
	t->cmd = e->cmd;
	t->gen = s->fwd_n;
	return ++s->fwd_n;
}

static void handle(struct sim *s, struct event *e)
{
	struct server *sv = &s->s[e->to];
	struct inst *a = &sv->ag[e->ord];

	switch (e->type) {
	case EV_FORWARD:
		/* the peer API: lost on a cut link (the sender times out),
		 * refused by a node that no longer leads (421) */
		if (!link_up(s, e->from, e->to)) {
			deliver_done(s, e->from, &e->cmd, 0,
				     e->sent + FORWARD_TIMEOUT_MS, e->inc);
		} else if (raft_propose(s, e->to, e->from, e->inc, true,
					e->sent, &e->cmd, 0,
					fwd_track(s, e)) != 0) {
			deliver_done(s, e->from, &e->cmd, 0,
				     now_real(s) + delay(s, e->to, e->from),
				     e->inc);
		}
		return;
	case EV_FWD_TIMEOUT:
		if (!s->fwd_done[e->gen]) {
			s->fwd_done[e->gen] = 1;
			deliver_done(s, e->to, &e->cmd, 0, now_real(s), e->inc);
		}
		return;
	case EV_ACK:
		if (e->inc != sv->inc) {
			return; /* for a batond that crashed since */
		}
		baton_driver_done(&sv->drv, &e->cmd, e->result);
		return;
	case EV_ASK:
		if (!alive(s, e->to)) {
			/* nobody answers: the agent gives up */
			struct event *q =
			    queue(s, EV_ANSWER, e->sent + ASK_TIMEOUT_MS);
			if (q != NULL) {
				q->to = e->to;
				q->ord = e->ord;
				q->failed = true;
			}
			return;
		}
		batond_answer(s, sv, e);
		return;
	case EV_ANSWER:
		a->ask_pending = false;
		if (!e->failed && !a->dead) {
			/* the agent's own rule, at its own time */
			baton_agent_lease_apply(&a->al, &e->ans, anow(s, a));
		}
		return;
	case EV_ORDER:
		agent_order(s, sv, e->ord, e);
		return;
	case EV_ORDER_ACK:
		if (e->inc != sv->inc) {
			return;
		}
		a->order_pending = ORDER_NONE;
		a->known_epoch = e->epoch;
		a->known_primary_epoch = e->primary_epoch;
		a->known_detached = e->detached;
		if (e->order == ORDER_FENCE) {
			a->fence_acked_epoch = e->epoch;
			a->fence_acked_round = e->round;
		}
		if (e->order == ORDER_DETACH) {
			a->detach_acked_epoch = e->epoch;
			a->detach_acked_round = e->round;
			a->detach_position = e->position;
		}
		return;
	case EV_STANDBYS:
		agent_standbys(s, sv, e->ord, e);
		return;
	case EV_STANDBYS_ACK:
		if (e->inc != sv->inc) {
			return; /* the request died with the batond */
		}
		sv->sb_pending = false;
		if (!e->refused) {
			sv->sb_answer = true;
			sv->sb_answer_epoch = e->epoch;
			sv->sb_answer_gen = e->gen;
			sv->sb_answer_x = e->x;
			sv->sb_answer_ms = bnow(s, sv, false);
		}
		tracef(s, "s%u: r%u.%u standbys answer G %llu X %llu%s", sv->i,
		       sv->i, e->ord, (unsigned long long)e->gen,
		       (unsigned long long)e->x,
		       e->refused ? " (refused: older G)" : "");
		return;
	default:
		return;
	}
}

/* Whether E must wait: its receiver's loop is stalled (batond) or paused
 * (agent): it is handled when that ends, in order. */
static double blocked_until(struct sim *s, const struct event *e)
{
	const struct server *sv = &s->s[e->to];
	switch (e->type) {
	case EV_ANSWER:
	case EV_ORDER:
	case EV_STANDBYS:
		return sv->ag[e->ord].paused_until;
	case EV_ACK:
	case EV_ORDER_ACK:
	case EV_STANDBYS_ACK:
	case EV_FWD_TIMEOUT:
		/* a stopped (killed, not crashed) batond finds them when it
		 * runs again */
		return alive(s, e->to) ? sv->stall_until : 1e18;
	case EV_ASK:
	case EV_FORWARD:
		return sv->stall_until;
	default:
		return 0;
	}
}

static void run_events(struct sim *s)
{
	double t = now_real(s);

	for (;;) {
		unsigned best = s->n_ev;
		struct event e;

		for (unsigned k = 0; k < s->n_ev; k++) {
			double at = s->ev[k].at;
			double b = blocked_until(s, &s->ev[k]);
			if (b > at) {
				at = b;
			}
			if (at > t) {
				continue;
			}
			if (best == s->n_ev || s->ev[k].seq < s->ev[best].seq) {
				best = k;
			}
		}
		if (best == s->n_ev || s->res->violation) {
			return;
		}
		e = s->ev[best];
		s->ev[best] = s->ev[--s->n_ev];
		handle(s, &e);
	}
}

/* ---- the per-step model ------------------------------------------------ */

static void check_agents(struct sim *s)
{
	double t = now_real(s);
	unsigned i, j, k, l, n_writable = 0;
	char na[32], nb[32];

	for (i = 0; i < s->n; i++) {
		for (k = 0; k < s->ni; k++) {
			struct inst *a = &s->s[i].ag[k];
			bool w = agent_writable(a, t);
			int who = (int)(i * INSTANCES_MAX + k);

			if (w) {
				n_writable++;
				if (a->al.epoch < MAX_EPOCHS) {
					int *wr = &s->epoch_writer[a->al.epoch];
					if (*wr < 0) {
						*wr = who;
					} else if (*wr != who) {
						violation(
						    s,
						    "S1: epoch %llu writable "
						    "in %s and %s",
						    (unsigned long long)
							a->al.epoch,
						    iname(s, na, sizeof na,
							  (unsigned)*wr /
							      INSTANCES_MAX,
							  (unsigned)*wr %
							      INSTANCES_MAX),
						    iname(s, nb, sizeof nb, i,
							  k));
					}
				}
				if (!a->agent_was_writable) {
					tracef(s,
					       "agent %s writable at epoch "
					       "%llu",
					       iname(s, na, sizeof na, i, k),
					       (unsigned long long)a->al.epoch);
				}
			} else if (a->agent_was_writable) {
				tracef(s, "agent %s read-only",
				       iname(s, na, sizeof na, i, k));
				if (s->cfg->quiet) {
					s->res->lease_lapses++;
				}
			}
			a->agent_was_writable = w;
		}
	}
	if (n_writable <= 1) {
		return;
	}
	for (i = 0; i < s->n; i++) {
		for (k = 0; k < s->ni; k++) {
			for (j = i; j < s->n; j++) {
				for (l = j == i ? k + 1 : 0; l < s->ni; l++) {
					const struct inst *x = &s->s[i].ag[k];
					const struct inst *y = &s->s[j].ag[l];
					if (!agent_writable(x, t) ||
					    !agent_writable(y, t)) {
						continue;
					}
					violation(
					    s,
					    "S1: agents %s (epoch %llu) and "
					    "%s (epoch %llu) writable at "
					    "t=%.0f",
					    iname(s, na, sizeof na, i, k),
					    (unsigned long long)x->al.epoch,
					    iname(s, nb, sizeof nb, j, l),
					    (unsigned long long)y->al.epoch, t);
				}
			}
		}
	}
}

/* Writes and replication. A writable primary's position grows 10 bytes
 * a ms; a standby that streams from the current primary (linked, not
 * detached) receives at most 50 a ms, so it can lag behind a burst and
 * catches up in seconds, not instantly. In
 * synchronous mode a write is acknowledged once some standby holds it
 * (with two instances a region, a standby the primary's list in force
 * names): the highest such position is what RPO checks a promote
 * against. */
static void replicate(struct sim *s, double dt)
{
	unsigned i, k;

	for (i = 0; i < s->n; i++) {
		for (k = 0; k < s->ni && !is_witness(s, i); k++) {
			struct inst *a = &s->s[i].ag[k];
			agent_reloaded(s, a);
			if (agent_writable(a, now_real(s)) && !a->pg_down) {
				a->position += (uint64_t)(dt * 10.0);
			}
		}
	}
	for (i = 0; i < s->n; i++) {
		for (k = 0; k < s->ni && !is_witness(s, i); k++) {
			struct inst *a = &s->s[i].ag[k], *p;
			uint64_t step = (uint64_t)(dt * 50.0) + 1;
			if (a->receiver_stalled || !streams(s, i, k, &p)) {
				continue;
			}
			if (a->receiver_slow) {
				a->receiver_credit += dt * 5.0;
				step = (uint64_t)a->receiver_credit;
				a->receiver_credit -= (double)step;
			}
			if (p->position > a->position) {
				a->position = p->position - a->position > step
						  ? a->position + step
						  : p->position;
			}
			if (agent_writable(p, now_real(s)) &&
			    a->position > s->acked &&
			    (s->ni == 1 ||
			     (p->list[i] & BATON_ORDINAL_BIT(k)) != 0)) {
				s->acked = a->position;
			}
		}
	}
}

/* The most-applied FSM's view of the database, or NULL; LIVE: of the
 * servers that run. S5 judges by every server's (a killed server's log
 * is on its disk: what it applied was committed, and with the majority
 * down the live ones may not have applied the latest promote), the end
 * phases by the live ones'. */
static const struct baton_db_state *top_db_of(struct sim *s, bool live)
{
	const struct baton_db_state *top = NULL;
	uint64_t best = 0;

	for (unsigned i = 0; i < s->n; i++) {
		const struct baton_db_state *db = db_of(&s->s[i]);
		if ((!live || alive(s, i)) && db != NULL &&
		    (top == NULL || s->s[i].fsm.applied > best)) {
			top = db;
			best = s->s[i].fsm.applied;
		}
	}
	return top;
}

static const struct baton_db_state *top_db(struct sim *s)
{
	return top_db_of(s, true);
}

/* S5 (two instances): while the primary's instance holds a lease, the
 * list in force on it names only members of the most-applied FSM
 * (design-per-instance.md §2, (I-LIST)). */
static void check_s5(struct sim *s)
{
	const struct baton_db_state *top = top_db_of(s, false);
	char na[32];

	if (top == NULL || !top->cfg.synchronous) {
		return;
	}
	for (unsigned i = 0; i < s->n; i++) {
		for (unsigned k = 0; k < s->ni; k++) {
			const struct inst *a = &s->s[i].ag[k];
			if (!agent_writable(a, now_real(s)) || !a->has_list) {
				continue;
			}
			for (unsigned r = 0; r < s->n; r++) {
				uint16_t m = (int)r != top->primary
						 ? top->regions[r].members
						 : 0;
				if (is_witness(s, r) && a->list[r] != 0) {
					violation(s,
						  "W2: %s lists the witness "
						  "r%u (mask %#x)",
						  iname(s, na, sizeof na, i, k),
						  r, a->list[r]);
					return;
				}
				if ((a->list[r] & ~m) != 0) {
					violation(s,
						  "S5: %s lists r%u mask %#x, "
						  "members %#x",
						  iname(s, na, sizeof na, i, k),
						  r, a->list[r], m);
					return;
				}
			}
		}
	}
}

/* batond's poll of its agents (two instances): the status it last read
 * of each (for the designation's pod rows), and the primary's rows of
 * its standbys. */
static void poll_status(struct sim *s, struct server *sv)
{
	const struct baton_db_state *db = db_of(sv);
	uint64_t now = bnow(s, sv, false);

	if (is_witness(s, sv->i)) {
		return; /* no agent to poll */
	}
	for (unsigned k = 0; k < s->ni; k++) {
		struct inst *a = &sv->ag[k];
		if (!a->dead && !agent_paused(s, a)) {
			a->status_ms = now;
			a->status_read = true;
			a->status_serving = !a->pg_down;
		}
	}
	if (db == NULL || db->primary != (int)sv->i) {
		return;
	}
	{
		unsigned d = db->regions[sv->i].designated;
		struct inst *pa = &sv->ag[d];
		struct baton_designate_primary *pr = &sv->prim;

		if (pa->dead || agent_paused(s, pa)) {
			return; /* the last status stays, and ages */
		}
		memset(pr->standby, 0, sizeof pr->standby);
		pr->status = true;
		pr->status_epoch = pa->al.epoch;
		pr->status_ms = now;
		for (unsigned i = 0; i < s->n; i++) {
			for (unsigned k = 0; k < s->ni && !is_witness(s, i);
			     k++) {
				struct inst *b = &s->s[i].ag[k], *p;
				struct baton_designate_standby *row =
				    &pr->standby[i][k];
				if (!streams(s, i, k, &p) || p != pa) {
					continue;
				}
				row->walsender = true;
				row->flush = b->position;
				row->quorum =
				    pa->has_list &&
				    (pa->list[i] & BATON_ORDINAL_BIT(k)) != 0 &&
				    pa->position - b->position <
					QUORUM_LAG_BYTES;
			}
		}
	}
}

/* Scale mode: raftglue.c's timer, every SCALE_TICK_MS of batond's clock.
 * The fixture moves time from one Raft event to the next (up to ~30 ms
 * apart at a few databases), so a tick runs at the first step at or past
 * its time, with that step's time; the next is due SCALE_TICK_MS after
 * the last one was due, not after it ran, or the ticks (and with them the
 * renewals, sent on the first tick renewMillis after the last) would
 * drift late by the fixture's gaps. */
static bool tick_due(struct sim *s, struct server *sv)
{
	uint64_t now = bnow(s, sv, false);

	if (sv->next_tick == 0) {
		sv->next_tick = now;
	}
	if (now < sv->next_tick) {
		return false;
	}
	while (sv->next_tick <= now) {
		sv->next_tick += SCALE_TICK_MS;
	}
	return true;
}

/* Scale mode, FAIL_REGION: how far the slowest live server's applied
 * entries are behind the live leader's log (0: no live leader). */
static uint64_t live_backlog(struct sim *s)
{
	raft_index last = 0;
	uint64_t most = 0;

	for (unsigned i = 0; i < s->n; i++) {
		struct raft *rf = raft_fixture_get(&s->f, i);
		if (alive(s, i) && raft_state(rf) == RAFT_LEADER) {
			last = raft_last_index(rf);
		}
	}
	for (unsigned i = 0; i < s->n && last > 0; i++) {
		raft_index a = raft_last_applied(raft_fixture_get(&s->f, i));
		if (alive(s, i) && a < last && last - a > most) {
			most = last - a;
		}
	}
	return most;
}

static void on_step(struct sim *s, double dt)
{
	unsigned i, k;

	run_events(s);
	for (i = 0; i < s->n; i++) {
		struct server *sv = &s->s[i];
		struct raft *rf = raft_fixture_get(&s->f, i);
		if (!alive(s, i) || now_real(s) < sv->stall_until) {
			continue;
		}
		if (s->ni > 1) {
			poll_status(s, sv);
		}
		/* batond's tick: the driver, then agents.c's orders */
		if (s->cfg->databases == 0 || tick_due(s, sv)) {
			baton_driver_tick(&sv->drv, &sv->fsm,
					  raft_state(rf) == RAFT_LEADER,
					  bnow(s, sv, false));
		}
		batond_orders(s, sv);
	}
	for (i = 0; i < s->n; i++) {
		for (k = 0; k < s->ni; k++) {
			agent_tick(s, &s->s[i], k);
		}
	}
	replicate(s, dt);
	check_agents(s);
	if (s->ni > 1) {
		check_s5(s);
	}
	if (s->failing) {
		uint64_t b = live_backlog(s);
		if (b > s->res->failover.backlog_peak) {
			s->res->failover.backlog_peak = b;
		}
	}
	for (i = 0; i < s->n; i++) {
		struct raft *rf = raft_fixture_get(&s->f, i);
		uint64_t kept = raft_last_index(rf) - rf->trail.offset;
		if (kept > s->res->max_log_entries) {
			s->res->max_log_entries = kept;
		}
		if (s->counting) {
			struct baton_sim_load *l = &s->res->load;
			uint64_t b = log_bytes_between(s, rf->trail.offset,
						       raft_last_index(rf));
			if (kept > l->peak_log_entries) {
				l->peak_log_entries = kept;
			}
			if (b > l->peak_log_bytes) {
				l->peak_log_bytes = b;
			}
		}
	}
}

static void advance(struct sim *s, unsigned ms)
{
	raft_time end = raft_fixture_time(&s->f) + ms;
	unsigned guard = 0;

	while (raft_fixture_time(&s->f) < end && !s->res->violation &&
	       guard++ < 1000000) {
		double before = now_real(s);
		raft_fixture_step(&s->f);
		on_step(s, now_real(s) - before);
	}
}

/* ---- faults ------------------------------------------------------------ */

static void transfer_cb(struct raft_transfer *t)
{
	struct req *r = t->data;
	r->sim->outstanding--;
	free(r);
}

/* Two instances: kill instance K of region I (its pod gone: the agent
 * and the database stop; the volume stays), or bring it back (the agent
 * restarts, fenced, with its persisted epoch and list). */
static void kill_inst(struct sim *s, unsigned i, unsigned k, bool pod)
{
	struct inst *a = &s->s[i].ag[k];
	char na[32];

	if (!pod) {
		/* the database stops; the agent answers "not serving" */
		a->pg_down = true;
		tracef(s, "stop database %s", iname(s, na, sizeof na, i, k));
		return;
	}
	a->dead = true;
	a->dead_since = now_real(s);
	a->al.valid = false;
	a->al.gen++;
	a->ask_pending = false;
	tracef(s, "kill instance %s", iname(s, na, sizeof na, i, k));
}

static void revive_inst(struct sim *s, unsigned i, unsigned k)
{
	struct inst *a = &s->s[i].ag[k];
	char na[32];

	if (a->pg_down && !a->dead) {
		a->pg_down = false;
		tracef(s, "start database %s", iname(s, na, sizeof na, i, k));
		return;
	}
	a->dead = false;
	a->pg_down = false;
	a->ask_pending = false;
	tracef(s, "revive instance %s", iname(s, na, sizeof na, i, k));
}

/* Heals every fault; FINAL: the final heal. With config.moves a heal
 * before it leaves dead or stopped instances as they are, so a
 * designated standby stays down long enough for its move to finish. */
static void heal_all(struct sim *s, bool final)
{
	bool instances = final || !s->cfg->moves;
	unsigned i, j;
	for (i = 0; i < s->n; i++) {
		for (j = 0; j < s->n; j++) {
			if (i != j && raft_fixture_saturated(&s->f, i, j)) {
				raft_fixture_desaturate(&s->f, i, j);
			}
		}
		if (!alive(s, i)) {
			raft_fixture_revive(&s->f, i);
		}
		raft_fixture_set_network_latency(&s->f, i, s->base_latency);
		for (unsigned k = 0; k < s->ni; k++) {
			struct inst *a = &s->s[i].ag[k];
			a->slow_until = 0;
			if (a->paused_until > now_real(s)) {
				a->paused_until = now_real(s);
			}
			if (instances && (a->dead || a->pg_down)) {
				revive_inst(s, i, k);
			}
		}
		if (s->s[i].stall_until > now_real(s)) {
			s->s[i].stall_until = now_real(s);
		}
	}
}

static unsigned n_dead(struct sim *s)
{
	unsigned i, d = 0;
	for (i = 0; i < s->n; i++) {
		d += !alive(s, i);
	}
	return d;
}

static void drv_leader_changed(void *data, bool leader)
{
	struct server *sv = data;
	struct raft *rf = raft_fixture_get(&sv->sim->f, sv->i);
	if (leader) {
		sv->sim->last_elected = now_real(sv->sim);
	}
	tracef(sv->sim, "s%u %s (term %llu)", sv->i,
	       leader ? "became leader" : "lost leadership",
	       (unsigned long long)raft_current_term(rf));
}

/* What every member's batond says it knows (batond/fleetlevel.c asks
 * them): every server runs this build, at the level the run says. */
static uint32_t drv_fleet_level(void *data)
{
	struct server *sv = data;
	return sv->sim->cfg->command_level;
}

/* What raftglue draws at random: unique per server and incarnation. */
static uint64_t incarnation(const struct server *sv)
{
	return (uint64_t)(sv->i + 1) << 32 | (sv->inc + 1);
}

static struct baton_driver_ops driver_ops(struct server *sv)
{
	struct baton_driver_ops ops = {
	    .data = sv,
	    .report = drv_report,
	    .propose = drv_propose,
	    .log = drv_log,
	    .leader_changed = drv_leader_changed,
	    .final_report = drv_final_report,
	};
	/* designation only with two instances: with one, the driver
	 * proposes no DESIGNATE and the run is the one of before */
	if (sv->sim->ni > 1) {
		ops.designate = drv_designate;
	}
	/* the fleet's level, as batond raises it (level 0: not at all) */
	if (sv->sim->cfg->command_level != 0) {
		ops.fleet_level = drv_fleet_level;
	}
	return ops;
}

/* A crash of region A's batond: Raft's log and the FSM survive (they are
 * on disk: the restarted node replays them), everything else is gone. */
static void crash_batond(struct sim *s, unsigned a)
{
	struct server *sv = &s->s[a];
	struct baton_driver_ops ops = driver_ops(sv);
	char region[BATON_NAME_SIZE];

	snprintf(region, sizeof region, "%s", sv->drv.region);
	baton_driver_close(&sv->drv);
	sv->inc++;
	baton_driver_init(&sv->drv, region, &ops, s->cfg->decider_flags,
			  incarnation(sv));
	for (unsigned k = 0; k < s->ni; k++) {
		struct inst *ag = &sv->ag[k];
		ag->known_epoch = ag->known_primary_epoch = 0;
		ag->fence_acked_epoch = 0;
		ag->order_pending = ORDER_NONE;
		ag->status_read = false;
	}
	sv->sb_answer = false;
	sv->sb_pending = false;
	memset(&sv->prim, 0, sizeof sv->prim);
	raft_fixture_kill(&s->f, a);
}

/* Two instances: which one a fault about an agent hits (no draw with
 * one, so a one-instance schedule is the run it always was). */
static unsigned pick_inst(struct sim *s)
{
	return s->ni == 1 ? 0 : rndn(s, s->ni);
}

/* Two instances: kill an instance, the primary's too (its sibling may
 * then be promoted, design-per-instance.md §4), but never both of a
 * region: that is the region's own fault, a kill of its server; or
 * revive one. */
static void inst_fault(struct sim *s, unsigned a)
{
	struct server *sv = &s->s[a];
	const struct baton_db_state *db = db_of(sv);
	unsigned k = rndn(s, s->ni);
	bool other_dead = false;

	if (is_witness(s, a)) {
		return; /* no instance there */
	}
	for (unsigned l = 0; l < s->ni; l++) {
		other_dead |= l != k && (sv->ag[l].dead || sv->ag[l].pg_down);
	}
	if (sv->ag[k].dead || sv->ag[k].pg_down) {
		revive_inst(s, a, k);
	} else if (!other_dead && db != NULL) {
		kill_inst(s, a, k, rndn(s, 2) == 0);
	}
}

static void fault(struct sim *s)
{
	unsigned a = rndn(s, s->n), b = rndn(s, s->n), j;
	unsigned what = rndn(s, 100);
	struct server *sv = &s->s[a];
	double t = now_real(s);
	char na[32];

	if (s->ni > 1 && rndn(s, 100) < 15) {
		inst_fault(s, a);
		return;
	}
	if (what < 12) {
		for (j = 0; j < s->n; j++) {
			if (j != a) {
				raft_fixture_saturate(&s->f, a, j);
				raft_fixture_saturate(&s->f, j, a);
			}
		}
		tracef(s, "partition s%u", a);
	} else if (what < 20) {
		if (a != b) {
			raft_fixture_saturate(&s->f, a, b);
			tracef(s, "cut s%u -> s%u", a, b);
		}
	} else if (what < 33) {
		heal_all(s, false);
		tracef(s, "heal");
	} else if (what < 39) {
		if (alive(s, a) && n_dead(s) + 1 < s->n) {
			raft_fixture_kill(&s->f, a);
			tracef(s, "kill s%u", a);
		}
	} else if (what < 43) {
		if (alive(s, a) && n_dead(s) + 1 < s->n) {
			crash_batond(s, a);
			tracef(s, "crash batond s%u (restarts on revive)", a);
		}
	} else if (what < 50) {
		if (!alive(s, a)) {
			raft_fixture_revive(&s->f, a);
			tracef(s, "revive s%u", a);
		}
	} else if (what < 56) {
		unsigned lat = 5 + rndn(s, 300);
		raft_fixture_set_network_latency(&s->f, a, lat);
		tracef(s, "latency s%u %u ms", a, lat);
	} else if (what < 63) {
		double d = 100 + rndn(s, 900);
		sv->stall_until = t + d;
		tracef(s, "batond loop s%u stalls %.0f ms", a, d);
	} else if (what < 72 && is_witness(s, a)) {
		/* an agent fault in the witness: it has none */
	} else if (what < 67) {
		double d = 200 + rndn(s, 3000);
		struct inst *ag = &sv->ag[pick_inst(s)];
		ag->paused_since = t;
		ag->paused_until = t + d;
		tracef(s, "agent %s paused %.0f ms",
		       iname(s, na, sizeof na, a, (unsigned)(ag - sv->ag)), d);
	} else if (what < 69) {
		/* the agent process restarts: boots fenced, its epoch and
		 * primary epoch come back from its state file */
		unsigned k = pick_inst(s);
		struct inst *ag = &sv->ag[k];
		ag->al.valid = false;
		ag->al.gen++;
		ag->ask_pending = false;
		tracef(s, "agent %s restarts", iname(s, na, sizeof na, a, k));
	} else if (what < 72) {
		unsigned k = pick_inst(s);
		struct inst *ag = &sv->ag[k];
		ag->slow_until = t + 500 + rndn(s, 3000);
		tracef(s, "agent channel %s slow until %.0f",
		       iname(s, na, sizeof na, a, k), ag->slow_until);
	} else if (what < 82) {
		double r = random_rate(s);
		if (rndn(s, 2) == 0 || is_witness(s, a)) {
			clk_set_rate(&sv->bclk, t, r);
			tracef(s, "batond clock r%u rate %.4f", a, r);
		} else {
			unsigned k = pick_inst(s);
			clk_set_rate(&sv->ag[k].aclk, t, r);
			tracef(s, "agent clock %s rate %.4f",
			       iname(s, na, sizeof na, a, k), r);
		}
	} else if (what < 87) {
		unsigned l = raft_fixture_leader_index(&s->f);
		struct req *r;
		if (l < s->n && alive(s, l) &&
		    (r = calloc(1, sizeof *r)) != NULL) {
			r->sim = s;
			r->u.transfer.data = r;
			if (raft_transfer(raft_fixture_get(&s->f, l),
					  &r->u.transfer, 0,
					  transfer_cb) == 0) {
				s->outstanding++;
				tracef(s, "transfer leadership from s%u", l);
			} else {
				free(r);
			}
		}
	} else if (what < 89) {
		if (s->cfg->disk_faults && alive(s, a)) {
			raft_fixture_io_fault(&s->f, a, (int)rndn(s, 3), 1);
			tracef(s, "disk fault s%u", a);
		}
	} else if (what < 93) {
		struct baton_db_state *db = db_of(sv);
		if (db != NULL && (int)b != db->primary) {
			struct baton_cmd c;
			memset(&c, 0, sizeof c);
			c.type = BATON_CMD_SWITCHOVER;
			snprintf(c.db, sizeof c.db, "%s", DB);
			snprintf(c.region, sizeof c.region, "r%u", b);
			c.epoch = db->epoch;
			sim_propose(s, a, &c, 0);
			tracef(s, "switchover to r%u requested via s%u", b, a);
		}
	}
	/* else: quiet step */
}

/* ---- setup and run ----------------------------------------------------- */

void baton_sim_config_default(struct baton_sim_config *c)
{
	memset(c, 0, sizeof *c);
	c->n_servers = 3;
	c->seed = 1;
	c->steps = 40;
	c->step_ms = 150;
	c->lease_ms = 1000;
	c->renew_ms = 200;
	c->drift_ppm = 100000;
	c->margin_ms = 50;
	/* from a Raft leader after the final heal: a full lease with its
	 * drift allowance and margin counted from the election (1,150 ms),
	 * then the promote's commit, the order and the first grant: a
	 * second on top, and what the model's ticks and delays add */
	c->liveness_ms = 2500;
	c->disk_faults =
	    false; /* see docs/consensus.md: crashes the 0.22.1 fixture */
	c->snapshot_threshold = 64;
	c->snapshot_trailing = 32;
	c->instances = 1;
	/* short, so that a move fits in a schedule: a designated instance
	 * gone counts as down 5 s (its status stale) + this later */
	c->redesignate_after_ms = 3000;
	c->command_level = BATON_COMMAND_LEVEL;
}

void baton_sim_config_scale(struct baton_sim_config *c, unsigned n,
			    unsigned seconds)
{
	baton_sim_config_default(c);
	c->databases = n;
	c->seconds = seconds;
	c->quiet = true;
	c->steps = 0;
	/* the DatabaseCluster's defaults (dbspec.c: leaseSeconds 2,
	 * renewMillis 500) and batond's (config.c: drift 5 %, margin
	 * 200 ms) */
	c->lease_ms = 2000;
	c->renew_ms = 500;
	c->drift_ppm = 50000;
	c->margin_ms = 200;
	/* node.c's, what batond runs with */
	c->snapshot_threshold = 1024;
	c->snapshot_trailing = 2048;
	c->max_inflight = BATON_NODE_MAX_INFLIGHT;
}

/* Scale mode: the FSM's snapshot, counted (every server, the window). */
static int counted_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
			    unsigned *n_bufs)
{
	struct server *sv =
	    (struct server *)(void *)((char *)fsm -
				      offsetof(struct server, rfsm));
	struct baton_sim_load *l = &sv->sim->res->load;
	int rv = sv->fsm_snapshot(fsm, bufs, n_bufs);

	if (rv == 0 && sv->sim->counting) {
		uint64_t len = 0;
		for (unsigned k = 0; k < *n_bufs; k++) {
			len += (*bufs)[k].len;
		}
		l->snapshots++;
		l->snapshot_bytes_last = len;
		if (len > l->snapshot_bytes_max) {
			l->snapshot_bytes_max = len;
		}
	}
	return rv;
}

static void quiet_emit(struct raft_tracer *t, int type, const void *info)
{
	(void)t;
	(void)type;
	(void)info;
}

static struct raft_tracer quiet_tracer = {NULL, 2, quiet_emit};

static int setup(struct sim *s)
{
	const struct baton_sim_config *c = s->cfg;
	struct raft_configuration conf;
	unsigned i;

	switch (rndn(s, 4)) {
	case 0:
		s->base_latency = 1;
		s->base_disk = 0;
		break;
	case 1:
		s->base_latency = 15;
		s->base_disk = 100 + rndn(s, 300);
		break;
	default:
		s->base_latency = 15;
		s->base_disk = 5;
		break;
	}
	s->synchronous = rndn(s, 2) == 0;
	if (c->sync_mode != BATON_SIM_SYNC_SEED) {
		s->synchronous = c->sync_mode == BATON_SIM_SYNC_ON;
	}
	s->res->synchronous = s->synchronous;
	s->extreme_clocks = rndn(s, 4) == 0;
	if (c->databases > 0) {
		/* scale mode: one network and disk for every size (the
		 * common class above: 15 ms links, 5 ms fsyncs) */
		s->base_latency = 15;
		s->base_disk = 5;
	}
	if (raft_fixture_initialize(&s->f) != 0) {
		return BATON_EINTERNAL;
	}
	for (i = 0; i < s->n; i++) {
		struct server *sv = &s->s[i];
		struct baton_driver_ops ops;
		char region[BATON_NAME_SIZE];
		struct raft *rf;

		sv->sim = s;
		sv->i = i;
		ops = driver_ops(sv);
		baton_fsm_init(&sv->fsm, &sv->rfsm);
		sv->fsm.observer = observer_cb;
		sv->fsm.observer_data = sv;
		if (c->databases > 0) {
			sv->fsm_snapshot = sv->rfsm.snapshot;
			sv->rfsm.snapshot = counted_snapshot;
		}
		snprintf(region, sizeof region, "r%u", i);
		baton_driver_init(&sv->drv, region, &ops, c->decider_flags,
				  incarnation(sv));
		/* the agent fences nothing early: the tightest case */
		sv->ag[0].al.margin_ms = 0;
		sv->bclk.rate = random_rate(s);
		sv->bclk.base_local = (double)(rnd(s) % 1000000);
		sv->ag[0].aclk.rate = random_rate(s);
		sv->ag[0].aclk.base_local = (double)(rnd(s) % 1000000);
		for (unsigned k = 1; k < s->ni; k++) {
			sv->ag[k].al.margin_ms = 0;
			sv->ag[k].aclk.rate = random_rate(s);
			sv->ag[k].aclk.base_local = (double)(rnd(s) % 1000000);
		}
		if (raft_fixture_grow(&s->f, &sv->rfsm) != 0) {
			return BATON_EINTERNAL;
		}
		rf = raft_fixture_get(&s->f, i);
		if (!c->trace) {
			rf->tracer = &quiet_tracer; /* fixture: stderr */
		}
		/* raft seeds its PRNG from the wall clock: replay needs ours.
		 */
		raft_seed(rf, (unsigned)rnd(s));
		raft_set_pre_vote(rf, true);
		raft_set_election_timeout(rf, 400);
		raft_set_heartbeat_timeout(rf, 50);
		raft_set_snapshot_threshold(rf, c->snapshot_threshold);
		raft_set_snapshot_trailing(rf, c->snapshot_trailing);
		if (c->max_inflight > 0) {
			raft_set_max_inflight_entries(rf, c->max_inflight);
		}
		/* The fixture seeds raft's PRNG to hit this value, which must
		 * lie in [timeout, 2 * timeout) or it searches forever. */
		raft_fixture_set_randomized_election_timeout(&s->f, i,
							     400 + i * 50);
		raft_fixture_set_network_latency(&s->f, i, s->base_latency);
		raft_fixture_set_disk_latency(&s->f, i, s->base_disk);
	}
	raft_configuration_init(&conf);
	if (raft_fixture_configuration(&s->f, s->n, &conf) != 0 ||
	    raft_fixture_bootstrap(&s->f, &conf) != 0 ||
	    raft_fixture_start(&s->f) != 0) {
		raft_configuration_close(&conf);
		return BATON_EINTERNAL;
	}
	raft_configuration_close(&conf);
	return 0;
}

static void reset_timeouts(struct sim *s)
{
	unsigned i;
	for (i = 0; i < s->n; i++) {
		raft_fixture_set_randomized_election_timeout(
		    &s->f, i, 400 + rndn(s, 400));
	}
}

static void register_db(struct sim *s)
{
	struct baton_cmd c;
	unsigned i;

	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_REGISTER;
	snprintf(c.db, sizeof c.db, "%s", DB);
	c.cfg.lease_ms = s->cfg->lease_ms;
	c.cfg.renew_ms = s->cfg->renew_ms;
	c.cfg.drift_ppm = s->cfg->drift_ppm;
	c.cfg.margin_ms = s->cfg->margin_ms;
	c.cfg.max_lag_bytes = 1u << 30;
	c.cfg.automatic = true;
	c.cfg.synchronous = s->synchronous;
	c.n_regions = s->n;
	for (i = 0; i < s->n; i++) {
		snprintf(c.regions[i].name, sizeof c.regions[i].name, "r%u", i);
		/* the DatabaseCluster's `role: witness`
		 * (BROKEN_WITNESS_AS_DATA: the operator registers it as a data
		 * region) */
		c.regions[i].role =
		    is_witness(s, i) && !(s->cfg->sim_broken &
					  BATON_SIM_BROKEN_WITNESS_AS_DATA)
			? BATON_ROLE_WITNESS
			: BATON_ROLE_DATA;
		c.regions[i].priority = (int32_t)rndn(s, 3);
	}
	snprintf(c.primary, sizeof c.primary, "r0");
	sim_propose(s, 0, &c, 0);
}

/* Scale mode: the other databases' REGISTERs, from server 0 (the leader
 * setup elected), as the operator's would be: the same regions as the
 * modelled database, each primary the next data region in turn (or r0). */
static void register_bulk(struct sim *s)
{
	const struct baton_sim_config *c = s->cfg;
	struct baton_cmd cmd;
	unsigned data[N_MAX] = {0}, n_data = 0;

	memset(&cmd, 0, sizeof cmd);
	cmd.type = BATON_CMD_REGISTER;
	cmd.cfg.lease_ms = c->lease_ms;
	cmd.cfg.renew_ms = c->renew_ms;
	cmd.cfg.drift_ppm = c->drift_ppm;
	cmd.cfg.margin_ms = c->margin_ms;
	cmd.cfg.max_lag_bytes = 1u << 30;
	cmd.cfg.automatic = true;
	cmd.cfg.synchronous = s->synchronous;
	cmd.n_regions = s->n;
	for (unsigned i = 0; i < s->n; i++) {
		snprintf(cmd.regions[i].name, sizeof cmd.regions[i].name, "r%u",
			 i);
		cmd.regions[i].role =
		    is_witness(s, i) ? BATON_ROLE_WITNESS : BATON_ROLE_DATA;
		if (!is_witness(s, i)) {
			data[n_data++] = i;
		}
	}
	if (n_data == 0) {
		n_data = 1; /* not reached: a witness needs 3 servers */
	}
	for (unsigned k = 1; k < c->databases && !s->res->violation; k++) {
		int rv;

		bulk_name(s, k, cmd.db, sizeof cmd.db);
		snprintf(cmd.primary, sizeof cmd.primary, "r%u",
			 c->one_region ? 0 : data[k % n_data]);
		rv = sim_propose(s, 0, &cmd, 0);
		if (rv != 0) {
			violation(s, "scale: REGISTER %u not proposed: %s", k,
				  baton_strerror(rv));
		}
	}
}

/* Scale mode: every server applied every REGISTER. */
static bool all_registered(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (baton_fsm_count(&s->s[i].fsm) < s->cfg->databases) {
			return false;
		}
	}
	return true;
}

/* Scale mode: how far the slowest server's applied entries are behind
 * the leader's (server 0's) log. */
static uint64_t backlog(struct sim *s)
{
	raft_index last = raft_last_index(raft_fixture_get(&s->f, 0));
	uint64_t most = 0;

	for (unsigned i = 0; i < s->n; i++) {
		raft_index a = raft_last_applied(raft_fixture_get(&s->f, i));
		if (a < last && last - a > most) {
			most = last - a;
		}
	}
	return most;
}

/* Scale mode: the drivers' counters, summed, into L (SIGN -1: taken
 * off, at the window's start). */
static void driver_counts(struct sim *s, struct baton_sim_load *l, int sign)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct baton_driver_stats *st = &s->s[i].drv.stats;
		uint64_t m = sign < 0 ? (uint64_t)-1 : 1; /* wraps back */
		l->lease_lapses += m * st->lease_lapses;
		l->renew_sent += m * st->renewals_sent;
		l->renew_accepted += m * st->renewals_accepted;
		l->renew_refused += m * st->renewals_refused;
		l->renew_unknown += m * st->renewals_unknown;
	}
}

/* Scale mode: Raft fell behind for good (SCALE_RUNAWAY); says when,
 * with the drivers' counters since the start, once. */
static bool runaway(struct sim *s)
{
	struct baton_sim_load *l = &s->res->load;

	if (l->runaway_ms > 0) {
		return true;
	}
	if (backlog(s) <= SCALE_RUNAWAY(s->cfg->databases)) {
		return false;
	}
	l->runaway_ms = (uint64_t)now_real(s);
	l->backlog = backlog(s);
	l->applied = s->s[0].fsm.applied;
	l->index_advance = raft_last_index(raft_fixture_get(&s->f, 0));
	driver_counts(s, l, 1);
	return true;
}

/* Scale mode (sim.h): register, settle, count. */
static void run_scale(struct sim *s)
{
	const struct baton_sim_config *c = s->cfg;
	struct baton_sim_load *l = &s->res->load;
	struct raft *leader = raft_fixture_get(&s->f, 0);
	double t0 = now_real(s), t1;
	uint64_t idx0, applied0;

	register_db(s);
	register_bulk(s);
	while (!s->res->violation && !all_registered(s) && !runaway(s) &&
	       now_real(s) - t0 < SCALE_REGISTER_MS) {
		reset_timeouts(s);
		advance(s, 50);
	}
	if (runaway(s)) {
		return;
	}
	if (!all_registered(s)) {
		if (!s->res->violation) {
			violation(s,
				  "scale: not every REGISTER applied in %u s",
				  SCALE_REGISTER_MS / 1000);
		}
		return;
	}
	l->registered_ms = (uint64_t)(now_real(s) - t0);
	/* Every region's first report of every database, and the first
	 * renewals, are the registration's: Raft commits them at the rate
	 * its pipeline allows (raft's max_inflight_entries), so the window
	 * opens once that backlog has drained, and a report interval and a
	 * lease later (what the window counts is the steady state). */
	for (double t = now_real(s); !s->res->violation &&
				     backlog(s) > SCALE_SETTLED_LAG &&
				     now_real(s) - t0 < SCALE_REGISTER_MS;) {
		uint64_t before = backlog(s);
		while (!s->res->violation && backlog(s) > SCALE_SETTLED_LAG &&
		       !runaway(s) && now_real(s) - t < SCALE_TREND_MS) {
			reset_timeouts(s);
			advance(s, 150);
		}
		if (runaway(s)) {
			return;
		}
		if (backlog(s) >= before) {
			break; /* not shrinking: Raft does not keep up */
		}
		t = now_real(s);
	}
	if (backlog(s) <= SCALE_SETTLED_LAG) {
		l->settled_ms = (uint64_t)(now_real(s) - t0);
		for (double t = now_real(s);
		     !s->res->violation &&
		     now_real(s) - t < 1000.0 + c->lease_ms;) {
			reset_timeouts(s);
			advance(s, 150);
		}
	}
	idx0 = raft_last_index(leader);
	applied0 = s->s[0].fsm.applied;
	driver_counts(s, l, -1);
	t1 = now_real(s);
	s->counting = true;
	while (!s->res->violation &&
	       now_real(s) - t1 < 1000.0 * (double)c->seconds) {
		reset_timeouts(s);
		advance(s, 150);
	}
	s->counting = false;
	l->measured_ms = (uint64_t)(now_real(s) - t1);
	l->index_advance = raft_last_index(leader) - idx0;
	l->applied = s->s[0].fsm.applied - applied0;
	l->backlog = backlog(s);
	driver_counts(s, l, 1);
	if (raft_state(leader) != RAFT_LEADER) {
		violation(s, "scale: server 0 lost the leadership (no fault)");
	}
}

/* A leader among the servers that run (a killed one may still think it
 * leads). */
static bool live_leader(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (alive(s, i) &&
		    raft_state(raft_fixture_get(&s->f, i)) == RAFT_LEADER) {
			return true;
		}
	}
	return false;
}

/* A planned switchover is under way in some live server's FSM: the
 * decider gives the old primary one more lease to fence before the
 * switchover becomes a failover (decider.c), and L1 allows it. */
static bool switching_over(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		const struct baton_db_state *db = db_of(&s->s[i]);
		if (alive(s, i) && db != NULL &&
		    (db->phase == BATON_PHASE_SWITCHING_OVER ||
		     db->phase == BATON_PHASE_FENCED)) {
			return true;
		}
	}
	return false;
}

static void dump_fsm(struct sim *s, unsigned i)
{
	struct baton_db_state *db = db_of(&s->s[i]);
	char line[TRACE_LINE];
	size_t off = 0;

	if (db == NULL) {
		return;
	}
	for (unsigned k = 0; k < db->n_regions && off < sizeof line; k++) {
		const struct baton_region_state *r = &db->regions[k];
		int w = snprintf(line + off, sizeof line - off,
				 " r%u:%s%s@%llu/%llu", k,
				 r->healthy ? "h" : "-", r->final ? "F" : "-",
				 (unsigned long long)r->position,
				 (unsigned long long)r->report_epoch);
		if (w >= 0 && s->ni > 1 && off + (size_t)w < sizeof line) {
			off += (size_t)w;
			w = snprintf(line + off, sizeof line - off,
				     " d%u M%x L%x p%d", r->designated,
				     r->members, r->listed, (int)r->priority);
		}
		if (w >= 0 && s->ni > 1 && r->spare.ordinal >= 0 &&
		    off + (size_t)w < sizeof line) {
			off += (size_t)w;
			w = snprintf(line + off, sizeof line - off,
				     " s%d%s%s@%llu/%llu", r->spare.ordinal,
				     r->spare.healthy ? "h" : "-",
				     r->spare.final ? "F" : "-",
				     (unsigned long long)r->spare.position,
				     (unsigned long long)r->spare.report_epoch);
		}
		if (w < 0) {
			break;
		}
		off += (size_t)w;
	}
	tracef(s, "s%u fsm: %s primary r%d epoch %llu%s", i,
	       baton_phase_name(db->phase), db->primary,
	       (unsigned long long)db->epoch, line);
}

/* Two instances, after the final heal: the most-applied live FSM is in a
 * synchronous round whose promote floor (struct baton_db_state; design
 * §9, note 47) no instance able to act holds: each instance at or above
 * it is unreachable (its region's server down, the final kill) or dead
 * or stopped. The decider rightly takes nothing below the floor, so the
 * failover waits for one of them (RPO 0), however long: L1's clock does
 * not run then. A holder that is up (a standby region's sibling, say)
 * keeps the clock running: waiting for a dead one beside it is no
 * correct wait. */
static bool floor_unheld(struct sim *s)
{
	const struct baton_db_state *db = top_db(s);

	if (s->ni < 2 || db == NULL || db->promote_floor == 0 ||
	    db->phase != BATON_PHASE_FAILING_OVER) {
		return false;
	}
	for (unsigned i = 0; i < s->n; i++) {
		for (unsigned k = 0; k < s->ni && !is_witness(s, i); k++) {
			const struct inst *a = &s->s[i].ag[k];
			if (a->position >= db->promote_floor && alive(s, i) &&
			    !a->dead && !a->pg_down) {
				return false;
			}
		}
	}
	return true;
}

/* The instances at or above DB's promote floor that are up, for L1's
 * message ("r1.1@62500 r2.1@66150"), in BUF. */
static void floor_holders(struct sim *s, const struct baton_db_state *db,
			  char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < s->n && off < size; i++) {
		for (unsigned k = 0;
		     k < s->ni && off < size && !is_witness(s, i); k++) {
			const struct inst *a = &s->s[i].ag[k];
			int w;
			if (a->position < db->promote_floor || !alive(s, i) ||
			    a->dead || a->pg_down) {
				continue;
			}
			w = snprintf(buf + off, size - off, " r%u.%u@%llu", i,
				     k, (unsigned long long)a->position);
			if (w < 0) {
				return;
			}
			off += (size_t)w;
		}
	}
}

static bool have_writable(struct sim *s)
{
	unsigned i;
	for (i = 0; i < s->n; i++) {
		for (unsigned k = 0; k < s->ni; k++) {
			if (agent_writable(&s->s[i].ag[k], now_real(s))) {
				return true;
			}
		}
	}
	return false;
}

/* L1 is met: an agent is writable; after the final kill, one outside
 * the killed region: the killed primary's agent keeps its lease up to a
 * lease after the kill, and L1 met on that dying lease said nothing about
 * the failover (448 of 940 final kills in --schedules 3000 passed that
 * way before the rule was strict everywhere, docs/consensus.md §2). */
static bool l1_met(struct sim *s)
{
	int dead = s->res->final_killed;

	if (dead < 0) {
		return have_writable(s);
	}
	for (unsigned i = 0; i < s->n; i++) {
		for (unsigned k = 0; k < s->ni && (int)i != dead; k++) {
			if (agent_writable(&s->s[i].ag[k], now_real(s))) {
				return true;
			}
		}
	}
	return false;
}

/* advance() for the end phases: new election timeouts first, as the
 * main loop draws (equal timers duel forever in the fixture). */
static void end_advance(struct sim *s, unsigned ms)
{
	reset_timeouts(s);
	advance(s, ms);
}

/* The end phases start from a settled fleet: every server runs and has
 * applied what the most-applied one has, the phase is Healthy and the
 * primary's designated instance is writable at the FSM's epoch (the
 * final heal's L1 may have passed on a killed primary's lease that was
 * still running). Waits up to 15 s; false if it never settles. */
static bool settle(struct sim *s)
{
	double t0 = now_real(s);

	while (!s->res->violation && now_real(s) - t0 < 15000) {
		const struct baton_db_state *db = top_db(s);
		uint64_t lo = UINT64_MAX, hi = 0;
		bool same;
		for (unsigned i = 0; i < s->n; i++) {
			uint64_t k = s->s[i].fsm.applied;
			if (alive(s, i)) {
				lo = k < lo ? k : lo;
				hi = k > hi ? k : hi;
			}
		}
		same = lo == hi;
		if (db != NULL && same && db->phase == BATON_PHASE_HEALTHY &&
		    alive(s, (unsigned)db->primary)) {
			const struct inst *p = primary_inst(s, db);
			if (p != NULL && agent_writable(p, now_real(s)) &&
			    p->al.epoch == db->epoch) {
				return true;
			}
		}
		end_advance(s, 50);
	}
	return false;
}

/* A standby data region whose batond runs, with nothing in flight and
 * both instances up: the one the end phases act on (-1: none). */
static int quiet_standby(struct sim *s, const struct baton_db_state *db)
{
	for (unsigned i = 0; i < db->n_regions && i < s->n; i++) {
		const struct baton_region_state *r = &db->regions[i];
		bool up = true;
		if ((int)i == db->primary || r->role != BATON_ROLE_DATA ||
		    !alive(s, i) ||
		    r->members != BATON_ORDINAL_BIT(r->designated)) {
			continue;
		}
		for (unsigned k = 0; k < s->ni; k++) {
			up &= !s->s[i].ag[k].dead && !s->s[i].ag[k].pg_down;
		}
		if (up) {
			return (int)i;
		}
	}
	return -1;
}

/* L2: a standby region's designated instance dies while its sibling is
 * healthy and nothing else goes wrong: the sibling is designated (the
 * RELEASE applied) within the time its death takes to count (the agent
 * status turns stale after BATON_DESIGNATE_STALE_MS, then
 * redesignateAfter) and 5 s for the steps (JOIN, LEAVE, the `standbys`
 * order and its answer, the catch-up to X, RELEASE). */
static void end_l2(struct sim *s)
{
	const struct baton_db_state *db = top_db(s);
	uint64_t bound =
	    BATON_DESIGNATE_STALE_MS + s->cfg->redesignate_after_ms + 5000;
	double t0;
	int r, p;
	unsigned d;

	if (!settle(s) || (db = top_db(s)) == NULL ||
	    (r = quiet_standby(s, db)) < 0) {
		tracef(s, "L2: no settled standby region to try");
		return;
	}
	d = db->regions[r].designated;
	kill_inst(s, (unsigned)r, d, true);
	t0 = now_real(s);
	while (!s->res->violation && now_real(s) - t0 < (double)bound) {
		end_advance(s, 50);
		db = top_db(s);
		if (db != NULL && db->regions[r].designated != d) {
			break;
		}
	}
	if (s->res->violation) {
		return;
	}
	db = top_db(s);
	if (db == NULL || db->regions[r].designated == d) {
		const char *why = baton_driver_designation(&s->s[r].drv, DB);
		const char *pwhy =
		    db != NULL && db->primary >= 0
			? baton_driver_designation(&s->s[db->primary].drv, DB)
			: NULL;
		dump_fsm(s, (unsigned)r);
		violation(s,
			  "L2: r%d.%u dead for %.0f ms beside a healthy "
			  "sibling and still designated (bound %llu ms); "
			  "r%d says: %s; the primary's: %s",
			  r, d, now_real(s) - t0, (unsigned long long)bound, r,
			  why != NULL ? why : "(off)",
			  pwhy != NULL ? pwhy : "(off)");
		return;
	}
	s->res->l2_checked++;
	if ((uint64_t)(now_real(s) - t0) > s->res->l2_ms_max) {
		s->res->l2_ms_max = (uint64_t)(now_real(s) - t0);
	}
	tracef(s, "L2: r%d designates %u %.0f ms after r%d.%u died", r,
	       db->regions[r].designated, now_real(s) - t0, r, d);
	/* and, with END_L2_KILL_PRIMARY, a kill of the primary's region
	 * after that fails over within L1's bound (design-per-instance.md
	 * §6): the region that moved reports, and is judged, on its new
	 * designated instance */
	if (s->cfg->end != BATON_SIM_END_L2_KILL_PRIMARY) {
		return;
	}
	if ((s->n - n_dead(s) - 1) * 2 <= s->n) {
		return; /* no majority would be left (a final kill) */
	}
	if (!settle(s) || (db = top_db(s)) == NULL) {
		tracef(s, "L2: not settled after the move");
		return;
	}
	p = db->primary;
	raft_fixture_kill(&s->f, (unsigned)p);
	tracef(s, "L2: kill the primary s%d after the move", p);
	/* as after the final heal: Raft elects first (a fixture stall is
	 * not Baton's, docs/consensus.md), then L1's bound from the
	 * election, with a lease more: the killed primary's runs out */
	t0 = now_real(s);
	while (!s->res->violation && !live_leader(s) &&
	       now_real(s) - t0 < 15000) {
		end_advance(s, 50);
	}
	if (!live_leader(s)) {
		s->res->raft_stalled = true;
		tracef(s, "L2: Raft elected no leader 15 s after the kill");
		return;
	}
	t0 = now_real(s);
	bound =
	    (uint64_t)s->cfg->lease_ms + s->cfg->liveness_ms + 6 * s->base_disk;
	while (!s->res->violation && now_real(s) - t0 < (double)bound) {
		end_advance(s, 50);
		db = top_db(s);
		if (db != NULL && db->primary != p && have_writable(s)) {
			break;
		}
	}
	db = top_db(s);
	if (!s->res->violation &&
	    (db == NULL || db->primary == p || !have_writable(s))) {
		for (unsigned i = 0; i < s->n; i++) {
			dump_fsm(s, i);
		}
		violation(s,
			  "L1 (after L2): no writable primary %llu ms after "
			  "the primary s%d was killed",
			  (unsigned long long)bound, p);
	}
}

/* The WAL receivers of every standby region but R stall: R's
 * instances then hold the only copy of what the primary acknowledges
 * from here on, so a promote that misses one of them loses writes. */
static void stall_others(struct sim *s, const struct baton_db_state *db, int r)
{
	for (unsigned i = 0; i < s->n; i++) {
		if ((int)i == r || (int)i == db->primary || is_witness(s, i)) {
			continue;
		}
		for (unsigned k = 0; k < s->ni; k++) {
			s->s[i].ag[k].receiver_stalled = true;
		}
		tracef(s, "r%u's WAL receivers stall", i);
	}
}

/* Waits, 1 ms at a time for up to MS, until region R's designated
 * instance is no longer D in the most-applied live FSM (its RELEASE
 * applied). SLOW_AT_LEAVE: the joiner's WAL receiver turns slow once
 * the LEAVE applied (it was `quorum` for it), so it holds X only a
 * while after the answer. */
static bool await_release(struct sim *s, int r, unsigned d, double ms,
			  bool slow_at_leave)
{
	double t0 = now_real(s);

	while (!s->res->violation && now_real(s) - t0 < ms) {
		const struct baton_db_state *db;
		struct inst *b = &s->s[r].ag[1 - d];
		end_advance(s, 1);
		db = top_db(s);
		if (db != NULL && db->regions[r].designated != d) {
			return true;
		}
		if (slow_at_leave && db != NULL && !b->receiver_slow &&
		    db->regions[r].listed != db->regions[r].members) {
			b->receiver_slow = true;
			tracef(s, "r%d.%u's WAL receiver turns slow", r, 1 - d);
		}
	}
	return false;
}

/* Kills the primary's region P and waits up to 15 s for a writable
 * primary; a violation ("L1 (WHAT)") if none comes. */
static void kill_primary_await(struct sim *s, int p, const char *what)
{
	double t0;

	raft_fixture_kill(&s->f, (unsigned)p);
	tracef(s, "%s: kill the primary s%d", what, p);
	t0 = now_real(s);
	while (!s->res->violation && now_real(s) - t0 < 15000) {
		const struct baton_db_state *db;
		end_advance(s, 50);
		db = top_db(s);
		if (db != NULL && db->primary != p && have_writable(s)) {
			return;
		}
	}
	if (!s->res->violation) {
		for (unsigned i = 0; i < s->n; i++) {
			dump_fsm(s, i);
		}
		violation(s, "L1 (%s): no writable primary 15 s after the kill",
			  what);
	}
}

/* The start of an end phase that moves a standby region's designation: a
 * settled database in synchronous mode with a standby region that has a
 * sibling to move to (quiet_standby()), and, when the phase KILLS the
 * primary's server later, a majority left after it. The region, with
 * *DBP its database; -1 (said in the trace, as PHASE) when there is
 * none. */
static int move_phase_start(struct sim *s, const char *phase, bool kills,
			    const struct baton_db_state **dbp)
{
	const struct baton_db_state *db = top_db(s);
	int r;

	if (kills && (s->n - n_dead(s) - 1) * 2 <= s->n) {
		/* a final kill took a server already: killing the primary's
		 * too would leave Raft without a majority, a stall of the
		 * fleet rather than of the failover (as END_L2_KILL_PRIMARY) */
		tracef(s, "%s: no majority would be left", phase);
		return -1;
	}
	if (db == NULL || !db->cfg.synchronous || !settle(s) ||
	    (db = top_db(s)) == NULL || (r = quiet_standby(s, db)) < 0) {
		tracef(s, "%s: no synchronous standby region", phase);
		return -1;
	}
	*dbp = db;
	return r;
}

/* Scenario 2 of design §6: a standby region's designated pod is killed
 * while its sibling's WAL receiver is slow (5 bytes/ms; the primary
 * writes 10). The joiner is listed once the old instance leaves (it
 * has no walsender), and the RELEASE must wait until it has flushed the
 * X of the answer to the list without the old instance: checked here
 * against what it really held when the RELEASE applied. */
static void end_lagging_joiner(struct sim *s)
{
	const struct baton_db_state *db = NULL;
	const struct baton_sim_move *m = &s->res->move;
	int r;
	unsigned d;

	if ((r = move_phase_start(s, "lagging joiner", false, &db)) < 0) {
		return;
	}
	d = db->regions[r].designated;
	s->s[r].ag[1 - d].receiver_slow = true;
	kill_inst(s, (unsigned)r, d, true);
	if (!await_release(s, r, d, 60000, false)) {
		if (!s->res->violation) {
			dump_fsm(s, (unsigned)r);
			violation(s,
				  "L2 (lagging joiner): r%d.%u still "
				  "designated 60 s after its pod died",
				  r, d);
		}
		return;
	}
	tracef(s,
	       "lagging joiner: RELEASE X %llu flush %llu, r%d.%u held %llu "
	       "at LEAVE, %llu at RELEASE, %llu ms after LEAVE",
	       (unsigned long long)m->x, (unsigned long long)m->flush, r,
	       m->holder, (unsigned long long)m->holder_at_leave,
	       (unsigned long long)m->holder_at_release,
	       (unsigned long long)m->leave_to_release_ms);
	if (m->holder_at_release < m->x) {
		violation(s,
			  "RELEASE of r%d.%u applied with the holder at %llu, "
			  "below X %llu",
			  r, d, (unsigned long long)m->holder_at_release,
			  (unsigned long long)m->x);
	}
}

/* Scenario 4: the released instance R.D answers again; unlisted, it
 * streams at full speed while the joiner is slow, so within 2 s it
 * holds WAL that nobody acknowledged. */
static void old_back(struct sim *s, int r, unsigned d)
{
	struct inst *a = &s->s[r].ag[d];
	struct baton_sim_old_back *o = &s->res->old_back;

	a->paused_until = now_real(s);
	tracef(s, "old back: r%d.%u answers again", r, d);
	end_advance(s, 2000);
	o->done = true;
	o->region = r;
	o->ordinal = d;
	o->position = a->position;
	o->acked = s->acked;
	tracef(s, "old back: r%d.%u at %llu, acknowledged %llu", r, d,
	       (unsigned long long)o->position, (unsigned long long)o->acked);
}

/* Scenario 4, after the failover: where the old instance's region
 * stands and which instance writes. */
static void old_back_after(struct sim *s, int r)
{
	struct baton_sim_old_back *o = &s->res->old_back;
	const struct baton_db_state *db = top_db(s);

	o->new_region = o->new_ordinal = -1;
	o->members = db != NULL ? db->regions[r].members : 0;
	for (unsigned i = 0; i < s->n; i++) {
		for (unsigned k = 0; k < s->ni; k++) {
			if (agent_writable(&s->s[i].ag[k], now_real(s))) {
				o->new_region = (int)i;
				o->new_ordinal = (int)k;
			}
		}
	}
}

/* A standby region's designated agent stops answering while its
 * database streams on (listed, it acknowledges), and every other
 * standby region's WAL receiver stalls: the moving region holds the
 * only copy of what is acknowledged; the joiner's receiver turns slow
 * once the LEAVE applied. Once the move's RELEASE applied,
 * the primary's region is killed: every acknowledged write must be on
 * the instance promoted (RPO), which holds only if X covered every
 * commit the released instance acknowledged (design §3.3, §3.4). */
static void end_move_then_kill(struct sim *s)
{
	const struct baton_db_state *db = NULL;
	int r;
	unsigned d;

	if ((r = move_phase_start(s, "move-then-kill", true, &db)) < 0) {
		return;
	}
	d = db->regions[r].designated;
	s->s[r].ag[d].paused_since = now_real(s);
	s->s[r].ag[d].paused_until = now_real(s) + 600000;
	tracef(s, "move-then-kill: agent r%d.%u stops answering", r, d);
	stall_others(s, db, r);
	if (!await_release(s, r, d, 30000, true)) {
		tracef(s, "move-then-kill: no RELEASE in 30 s");
		return;
	}
	if (s->cfg->end == BATON_SIM_END_OLD_BACK) {
		old_back(s, r, d);
	}
	if (s->res->violation || (db = top_db(s)) == NULL) {
		return;
	}
	s->res->move_kills++;
	kill_primary_await(s, db->primary, "move-then-kill");
	if (s->cfg->end == BATON_SIM_END_OLD_BACK) {
		old_back_after(s, r);
	}
}

/* A live Raft leader, or -1. */
static int live_leader_id(struct sim *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		if (alive(s, i) &&
		    raft_state(raft_fixture_get(&s->f, i)) == RAFT_LEADER) {
			return (int)i;
		}
	}
	return -1;
}

/* Scenario 3's stale RELEASE: what an incarnation of the primary's
 * batond that judged region R before its JOIN (seq SEQ) would send,
 * proposed at the leader under a dead incarnation (its answer reaches
 * nobody). */
static void propose_stale_release(struct sim *s,
				  const struct baton_db_state *db, int r,
				  unsigned d, uint64_t seq)
{
	int l = live_leader_id(s);
	struct baton_cmd c;

	if (l < 0) {
		return;
	}
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_DESIGNATE;
	snprintf(c.db, sizeof c.db, "%s", DB);
	snprintf(c.region, sizeof c.region, "r%d", r);
	c.epoch = db->epoch;
	c.step = BATON_DESIGNATE_RELEASE;
	c.ordinal = (uint8_t)d;
	c.holder = (uint8_t)(1 - d);
	c.desig_seq = seq;
	c.drop_position = 1;
	c.holder_flush = 1;
	if (raft_propose(s, (unsigned)l, (unsigned)l, UINT_MAX, false,
			 now_real(s), &c, 0, 0) == 0) {
		s->res->race_stale_sent = true;
		tracef(s, "race: stale RELEASE r%d.%u seq %llu proposed", r, d,
		       (unsigned long long)seq);
	}
}

/* Scenario 3 of design §6 (END_DESIGNATION_RACE, sim.h). With two
 * instances there is one sibling to pick, so the restarted batond's
 * "other sibling" is the same one: the race is two JOINs for one
 * designation, of which the FSM takes one. */
static void end_race(struct sim *s)
{
	const struct baton_db_state *db = NULL;
	unsigned proposals, d;
	uint64_t seq;
	double t0;
	int r;

	if ((r = move_phase_start(s, "race", false, &db)) < 0) {
		return;
	}
	d = db->regions[r].designated;
	seq = db->regions[r].desig_seq;
	proposals = s->res->join_proposals;
	kill_inst(s, (unsigned)r, d, true);
	t0 = now_real(s);
	while (!s->res->violation && s->res->join_proposals == proposals &&
	       now_real(s) - t0 < 30000) {
		end_advance(s, 1);
	}
	if (s->res->join_proposals == proposals) {
		tracef(s, "race: no JOIN proposed");
		return;
	}
	crash_batond(s, (unsigned)r);
	s->res->race_crashed = true;
	tracef(s, "race: r%d's batond crashes with its JOIN in flight", r);
	end_advance(s, 100);
	raft_fixture_revive(&s->f, (unsigned)r);
	tracef(s, "race: r%d's batond restarts", r);
	t0 = now_real(s);
	while (!s->res->violation && now_real(s) - t0 < 30000) {
		end_advance(s, 1);
		db = top_db(s);
		if (db != NULL && db->regions[r].desig_seq > seq) {
			break; /* a JOIN applied */
		}
	}
	if (db == NULL || db->regions[r].desig_seq == seq) {
		tracef(s, "race: no JOIN applied");
		return;
	}
	propose_stale_release(s, db, r, d, seq);
	if (!await_release(s, r, d, 30000, false) && !s->res->violation) {
		dump_fsm(s, (unsigned)r);
		violation(s,
			  "L2 (race): r%d.%u still designated 30 s after "
			  "its JOIN",
			  r, d);
	}
}

/* A standby region's designated agent stops answering (paused: its
 * database streams on, so the primary keeps it in quorum); the move
 * away from it starts (JOIN) and, once the primary's LEAVE applied, the
 * primary's region is killed with the RELEASE not yet applied. The
 * failover must lose no acknowledged write (RPO, checked at the
 * promote) and end once the paused agent answers again (its final:
 * it is still a member). */
static void end_mid_move(struct sim *s)
{
	const struct baton_db_state *db = NULL;
	struct inst *a;
	double t0;
	int r, p;
	unsigned d;

	if ((r = move_phase_start(s, "mid-move", true, &db)) < 0) {
		return;
	}
	d = db->regions[r].designated;
	a = &s->s[r].ag[d];
	a->paused_since = now_real(s);
	a->paused_until = now_real(s) + 600000;
	tracef(s, "mid-move: agent r%d.%u stops answering", r, d);
	if (s->cfg->joiner_only_copy) {
		stall_others(s, db, r);
	}
	t0 = now_real(s);
	/* 1 ms at a time: LEAVE to RELEASE is a few round trips */
	while (!s->res->violation && now_real(s) - t0 < 30000) {
		end_advance(s, 1);
		db = top_db(s);
		if (db == NULL ||
		    db->regions[r].members ==
			BATON_ORDINAL_BIT(db->regions[r].designated)) {
			if (db != NULL && db->regions[r].designated != d) {
				break; /* released before we saw LEAVE */
			}
			continue;
		}
		if (s->cfg->joiner_only_copy && !a->receiver_stalled) {
			/* JOIN applied: from here only the joiner takes
			 * what the primary acknowledges */
			a->receiver_stalled = true;
			tracef(s, "mid-move: r%d.%u's WAL receiver stalls", r,
			       d);
		}
		if (db->regions[r].listed != db->regions[r].members) {
			break; /* LEAVE applied, RELEASE not yet */
		}
	}
	db = top_db(s);
	if (s->res->violation || db == NULL ||
	    db->regions[r].listed == db->regions[r].members) {
		tracef(s, "mid-move: no LEAVE seen in flight");
		a->paused_until = now_real(s);
		return;
	}
	p = db->primary;
	raft_fixture_kill(&s->f, (unsigned)p);
	s->res->mid_move_kills++;
	tracef(s, "mid-move: r%d's LEAVE applied; kill the primary s%d", r, p);
	end_advance(s, 3000);
	a->paused_until = now_real(s);
	tracef(s, "mid-move: agent r%d.%u answers again", r, d);
	t0 = now_real(s);
	while (!s->res->violation && !have_writable(s) &&
	       now_real(s) - t0 < 15000) {
		end_advance(s, 50);
	}
	if (!s->res->violation && !have_writable(s)) {
		for (unsigned i = 0; i < s->n; i++) {
			dump_fsm(s, i);
		}
		violation(s,
			  "L1 (mid-move): no writable primary 15 s after the "
			  "paused member answered again");
	}
}

/* ---- scenario 5: the primary's instance, then its region ---------------- */

/* An agent writable at an epoch above EPOCH: its region in *RI, its
 * ordinal in *RK. */
static bool writable_after(struct sim *s, uint64_t epoch, unsigned *ri,
			   unsigned *rk)
{
	for (unsigned i = 0; i < s->n; i++) {
		for (unsigned k = 0; k < s->ni; k++) {
			const struct inst *a = &s->s[i].ag[k];
			if (agent_writable(a, now_real(s)) &&
			    a->al.epoch > epoch) {
				*ri = i;
				*rk = k;
				return true;
			}
		}
	}
	return false;
}

/* The primary region P's instance SIB streams from P's designated one
 * at the FSM's epoch and has caught up: the sibling a kill of the
 * designated instance leaves. */
static bool sibling_ready(struct sim *s, unsigned p, unsigned sib)
{
	const struct inst *b = &s->s[p].ag[sib];
	const struct baton_db_state *db = db_of(&s->s[p]);
	struct inst *up;

	return db != NULL && db->primary == (int)p && streams(s, p, sib, &up) &&
	       b->al.epoch == db->epoch &&
	       up->position - b->position < QUORUM_LAG_BYTES;
}

/* In a synchronous round: the finals DB holds, kept until the promote
 * (it resets them): the lost region LOST's spare's, and the highest of
 * the standby regions' members' (decider.c, member_final_floor()). */
static void note_finals(struct sim *s, const struct baton_db_state *db,
			int lost)
{
	struct baton_sim_kill *kl = &s->res->kill;
	const struct baton_spare_state *sp;
	uint64_t floor = 0;

	if (db == NULL || db->phase != BATON_PHASE_FAILING_OVER ||
	    db->primary != lost) {
		return;
	}
	sp = &db->regions[lost].spare;
	kl->spare_final =
	    sp->ordinal >= 0 && sp->final && sp->report_epoch == db->epoch;
	kl->spare_final_position = kl->spare_final ? sp->position : 0;
	for (unsigned i = 0; i < db->n_regions; i++) {
		const struct baton_region_state *r = &db->regions[i];
		if ((int)i == lost || r->role != BATON_ROLE_DATA) {
			continue;
		}
		if (r->final && r->report_epoch == db->epoch &&
		    r->position > floor) {
			floor = r->position;
		}
		if (r->spare.ordinal >= 0 &&
		    (r->members & BATON_ORDINAL_BIT(r->spare.ordinal)) != 0 &&
		    r->spare.final && r->spare.report_epoch == db->epoch &&
		    r->spare.position > floor) {
			floor = r->spare.position;
		}
	}
	kl->member_final_position = floor;
}

/* Settles the fleet and waits (10 s at most) for the primary region's
 * sibling to stream, caught up: *P the primary region, *D its designated
 * instance, *SIB the other. */
static bool settle_sibling(struct sim *s, unsigned *p, unsigned *d,
			   unsigned *sib)
{
	const struct baton_db_state *db;
	double t0;

	if (s->ni < 2 || !settle(s) || (db = top_db(s)) == NULL) {
		return false;
	}
	*p = (unsigned)db->primary;
	*d = db->regions[*p].designated;
	*sib = *d == 0 ? 1 : 0;
	t0 = now_real(s);
	while (!s->res->violation && !sibling_ready(s, *p, *sib) &&
	       now_real(s) - t0 < 10000) {
		end_advance(s, 50);
	}
	db = top_db(s);
	return !s->res->violation && sibling_ready(s, *p, *sib) && db != NULL &&
	       db->primary == (int)*p && db->regions[*p].designated == *d;
}

/* Waits up to BOUND ms from T0 for a writable primary above the kill's
 * epoch, noting the finals on the way (1 ms steps: the last ones before
 * the promote), and records it; else L1 is violated (WHAT: which kill). */
static void await_promoted(struct sim *s, double t0, uint64_t bound,
			   const char *what)
{
	struct baton_sim_kill *kl = &s->res->kill;
	unsigned wi = 0, wk = 0;

	while (!s->res->violation &&
	       !writable_after(s, kl->from_epoch, &wi, &wk) &&
	       now_real(s) - t0 < (double)bound) {
		end_advance(s, 1);
		note_finals(s, top_db(s), kl->lost_region);
	}
	if (s->res->violation) {
		return;
	}
	if (!writable_after(s, kl->from_epoch, &wi, &wk)) {
		for (unsigned i = 0; i < s->n; i++) {
			dump_fsm(s, i);
		}
		violation(s,
			  "L1 (%s): no writable primary %llu ms after "
			  "r%d.%d was lost at epoch %llu",
			  what, (unsigned long long)bound, kl->lost_region,
			  kl->lost_ordinal, (unsigned long long)kl->from_epoch);
		return;
	}
	kl->promoted = true;
	kl->region = (int)wi;
	kl->ordinal = (int)wk;
	kl->epoch = s->s[wi].ag[wk].al.epoch;
	kl->ms = (uint64_t)(now_real(s) - t0);
	tracef(s, "%s: r%u.%u writable at epoch %llu, %llu ms after", what, wi,
	       wk, (unsigned long long)kl->epoch, (unsigned long long)kl->ms);
	/* Nothing fails after the kill: the first promote must serve. One
	 * that names an instance that cannot (its region dead) is only
	 * undone by another lapse and failover a lease later, which the
	 * time bound can hide (design §4: "safe, slow") */
	if (kl->epoch != kl->from_epoch + 1) {
		violation(s,
			  "L1 (%s): the promote to epoch %llu (r%d.%d) never "
			  "served; r%u.%u writable only at epoch %llu",
			  what, (unsigned long long)(kl->from_epoch + 1),
			  kl->first_region, kl->first_ordinal, wi, wk,
			  (unsigned long long)kl->epoch);
	}
}

/* Scenario 5 (design-per-instance.md §6): the primary's designated
 * instance is killed beside a healthy sibling. Its region says so (the
 * driver's report and spare report) and stops renewing; after the
 * expiry the decider promotes the sibling (asynchronous: by priority
 * and lag among the candidates; synchronous: only at or past every
 * member's final, which needs batond to detach it) or another region.
 * Bound: L1's, a lease, and a report interval for the region's word. */
static void end_kill_instance(struct sim *s)
{
	struct baton_sim_kill *kl = &s->res->kill;
	const struct baton_db_state *db;
	unsigned p, d, sib;
	uint64_t bound = (uint64_t)s->cfg->lease_ms + s->cfg->liveness_ms +
			 BATON_DRIVER_REPORT_MS + 6 * s->base_disk;

	kl->region = kl->ordinal = -1;
	kl->first_region = kl->first_ordinal = -1;
	if (n_dead(s) > 0) {
		/* a synchronous failover waits for every standby region's
		 * final: a region the final kill took would block it for
		 * good, which is the protocol's rule, not this scenario */
		tracef(s, "primary instance: a region is down already");
		return;
	}
	if (!settle_sibling(s, &p, &d, &sib) || (db = top_db(s)) == NULL) {
		tracef(s, "primary instance: no settled primary and sibling");
		return;
	}
	if (s->cfg->sibling_behind) {
		/* its final will be below the members': a synchronous round
		 * must not take it (RPO would see the writes it lacks) */
		s->s[p].ag[sib].receiver_stalled = true;
		tracef(s, "primary instance: r%u.%u's receiver stalls", p, sib);
		end_advance(s, 1000);
		if (s->res->violation || (db = top_db(s)) == NULL ||
		    db->primary != (int)p) {
			s->s[p].ag[sib].receiver_stalled = false;
			return;
		}
	}
	kl->done = true;
	kl->lost_region = (int)p;
	kl->lost_ordinal = (int)d;
	kl->from_epoch = db->epoch;
	kill_inst(s, p, d, true);
	await_promoted(s, now_real(s), bound, "primary instance killed");
	s->s[p].ag[sib].receiver_stalled = false;
}

/* Scenario 5, the whole region: the designated instance's database
 * stops until the FSM holds the region's word (designated down, the
 * sibling the spare), starts again until the FSM holds "designated
 * healthy" and the instance is writable at the same epoch; then the
 * region is killed. Its last word says its designated instance serves,
 * so its sibling is no candidate (decider.c candidate()) and another
 * region must be promoted (BROKEN_SIBLING_ANY_REPORT promotes the
 * sibling in the dead region: no writable primary, L1). */
static void end_kill_region(struct sim *s)
{
	struct baton_sim_kill *kl = &s->res->kill;
	const struct baton_db_state *db;
	const struct baton_region_state *r;
	unsigned p, d, sib, wi, wk;
	uint64_t epoch, bound;
	bool word = false, back = false;
	double t0;

	kl->region = kl->ordinal = -1;
	kl->first_region = kl->first_ordinal = -1;
	if (n_dead(s) > 0) {
		/* with another region down already, a majority may not stay
		 * and a synchronous failover would wait for its final */
		tracef(s, "primary region: a region is down already");
		return;
	}
	if (!settle_sibling(s, &p, &d, &sib) || (db = top_db(s)) == NULL) {
		tracef(s, "primary region: no settled primary and sibling");
		return;
	}
	epoch = db->epoch;
	kill_inst(s, p, d, false);
	t0 = now_real(s);
	while (!s->res->violation && !word && now_real(s) - t0 < 3000) {
		end_advance(s, 1);
		db = top_db(s);
		if (db == NULL || db->epoch != epoch) {
			break;
		}
		r = &db->regions[p];
		word = !r->healthy && r->report_epoch == epoch &&
		       r->spare.ordinal == (int)sib && r->spare.healthy &&
		       r->spare.report_epoch == epoch;
	}
	revive_inst(s, p, d);
	t0 = now_real(s);
	while (!s->res->violation && word && !back && now_real(s) - t0 < 5000) {
		end_advance(s, 50);
		db = top_db(s);
		if (db == NULL || db->epoch != epoch) {
			break;
		}
		r = &db->regions[p];
		back = r->healthy && r->report_epoch == epoch &&
		       agent_writable(&s->s[p].ag[d], now_real(s)) &&
		       s->s[p].ag[d].al.epoch == epoch;
	}
	if (s->res->violation || !back) {
		tracef(s, "primary region: the word %s, not back at epoch %llu",
		       word ? "said" : "not said", (unsigned long long)epoch);
		return;
	}
	kl->done = true;
	kl->lost_region = (int)p;
	kl->lost_ordinal = (int)d;
	kl->from_epoch = epoch;
	raft_fixture_kill(&s->f, p);
	tracef(s, "primary region: r%u.%u said down and back; kill s%u", p, d,
	       p);
	/* Raft elects first (a fixture stall is not Baton's) */
	t0 = now_real(s);
	while (!s->res->violation && !live_leader(s) &&
	       !writable_after(s, epoch, &wi, &wk) &&
	       now_real(s) - t0 < 15000) {
		end_advance(s, 50);
	}
	if (!live_leader(s) && !writable_after(s, epoch, &wi, &wk)) {
		s->res->raft_stalled = true;
		tracef(s, "primary region: Raft elected no leader in 15 s");
		return;
	}
	bound =
	    (uint64_t)s->cfg->lease_ms + s->cfg->liveness_ms + 6 * s->base_disk;
	await_promoted(s, now_real(s), bound, "primary region killed");
}

/* ---- scale mode: a region's failover of all its primaries ------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* FAIL_REGION's times, from the databases done (the first, the median,
 * the 99th percentile and the last of those that failed over). */
static void failover_times(struct sim *s)
{
	struct baton_sim_failover *fo = &s->res->failover;
	uint64_t *ms;
	unsigned n = 0;

	if (fo->failed_over == 0 ||
	    (ms = calloc(fo->failed_over, sizeof *ms)) == NULL) {
		return;
	}
	for (unsigned k = 1; k < s->cfg->databases; k++) {
		if (s->bulk[k].done && n < fo->failed_over) {
			ms[n++] = s->bulk[k].failed_ms;
		}
	}
	qsort(ms, n, sizeof *ms, cmp_u64);
	fo->first_ms = ms[0];
	fo->p50_ms = ms[(n - 1) * 50 / 100];
	fo->p99_ms = ms[(n - 1) * 99 / 100];
	fo->last_ms = ms[n - 1];
	free(ms);
}

/* FAIL_REGION, once the window closed (sim.h): r0, the Raft leader and
 * the primary of the modelled database and of the others registration
 * gave it, is killed for good. Raft elects among the others; the new
 * leader's decider finds each of those leases expired (after its grace)
 * and fails each database over: a promote (asynchronous), or lost(), the
 * surviving regions' final reports and a promote (synchronous), one
 * database at a time in flight each, the way batond does. Every check
 * runs on (S2 and S4 for every database, check_bulk()). Runs until all
 * of them are done (note_failed_over()) and the modelled database has a
 * writable agent at a higher epoch, or BATON_SIM_FAIL_BOUND_MS; then a
 * lease and a second more, and counts the new primaries' regions that
 * hold their lease at the new epoch (they renew). */
static void run_fail(struct sim *s)
{
	const struct baton_sim_config *c = s->cfg;
	struct baton_sim_failover *fo = &s->res->failover;
	const struct baton_db_state *st = db_of(&s->s[0]);
	uint64_t from = st != NULL ? st->epoch : 0;
	char name[BATON_NAME_SIZE];
	unsigned wi, wk;
	double t0;

	fo->region = 0;
	fo->synchronous = s->synchronous;
	for (unsigned k = 1; k < c->databases; k++) {
		bulk_name(s, k, name, sizeof name);
		st = baton_fsm_db(&s->s[0].fsm, name);
		if (st != NULL && st->primary == 0) {
			s->bulk[k].affected = true;
			s->bulk[k].from_epoch = st->epoch;
			fo->databases++;
		}
	}
	t0 = s->kill_at = now_real(s);
	s->killed = 0;
	raft_fixture_kill(&s->f, 0);
	tracef(s, "scale: kill s0, the Raft leader, the primary of %u others",
	       fo->databases);
	fo->done = true;
	s->failing = fo->databases > 0;
	while (!s->res->violation &&
	       (fo->failed_over < fo->databases || fo->modelled_ms == 0) &&
	       now_real(s) - t0 < BATON_SIM_FAIL_BOUND_MS) {
		reset_timeouts(s);
		advance(s, 10);
		if (fo->elected_ms == 0 && live_leader(s)) {
			fo->elected_ms = (uint64_t)(now_real(s) - t0);
		}
		if (fo->modelled_ms == 0 && writable_after(s, from, &wi, &wk)) {
			fo->modelled_ms = (uint64_t)(now_real(s) - t0);
		}
	}
	if (s->failing) {
		s->failing = false;
		fo->burst_ms = (uint64_t)(now_real(s) - t0);
	}
	failover_times(s);
	if (s->res->violation) {
		return;
	}
	if (!live_leader(s)) {
		/* not Baton's: docs/consensus.md, the fixture's stalls */
		s->res->raft_stalled = true;
		tracef(s, "scale: Raft elected no leader after the kill");
		return;
	}
	if (fo->modelled_ms == 0) {
		violation(s,
			  "L1 (scale, r0 killed): no writable primary for %s "
			  "%u ms after the kill",
			  DB, BATON_SIM_FAIL_BOUND_MS);
		return;
	}
	for (double t = now_real(s);
	     !s->res->violation && now_real(s) - t < 1000.0 + c->lease_ms;) {
		reset_timeouts(s);
		advance(s, 50);
	}
	for (unsigned k = 1; k < c->databases && !s->res->violation; k++) {
		const struct baton_driver_slot *sl;
		struct server *sv;

		if (!s->bulk[k].done || s->bulk[k].primary < 0 ||
		    s->bulk[k].primary == s->killed) {
			continue;
		}
		/* the new primary's own FSM: where its batond renews from */
		bulk_name(s, k, name, sizeof name);
		st = baton_fsm_db(&s->s[s->bulk[k].primary].fsm, name);
		if (st == NULL || st->primary < 0 || st->primary == s->killed) {
			continue;
		}
		sv = &s->s[st->primary];
		sl = baton_index_get(&sv->drv.slots, name);
		fo->renewing += sl != NULL && sl->lease.held &&
				sl->lease.epoch == st->epoch &&
				sl->lease.valid_until > bnow(s, sv, false);
	}
}

int baton_sim_run(const struct baton_sim_config *c,
		  struct baton_sim_result *res)
{
	struct sim *s;
	unsigned step, i, bound;
	bool sw_extra;
	double heal_t, leader_t, floor_t = 0;
	int rv = 0;

	memset(res, 0, sizeof *res);
	res->min_slack_ms = INT64_MAX;
	res->digest = 0xcbf29ce484222325ull;
	if (c->n_servers < 1 || c->n_servers > N_MAX || c->instances < 1 ||
	    c->instances > INSTANCES_MAX || (c->witness && c->n_servers < 3)) {
		return BATON_EINVAL;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		return BATON_ENOMEM;
	}
	s->chain_cap = 1024;
	s->chain = calloc(s->chain_cap, sizeof *s->chain);
	if (s->chain == NULL) {
		free(s);
		return BATON_ENOMEM;
	}
	s->cfg = c;
	s->res = res;
	s->n = c->n_servers;
	s->ni = c->instances;
	s->witness = c->witness ? (int)s->n - 1 : -1;
	res->final_killed = res->recovered_region = -1;
	res->failover.region = -1;
	s->killed = -1;
	if (c->databases > 0) {
		s->bulk = calloc(c->databases, sizeof *s->bulk);
		if (s->bulk == NULL) {
			free(s->chain);
			free(s);
			return BATON_ENOMEM;
		}
	}
	s->rng = c->seed;
	/* (1 + delta) / (1 - delta) = 1 + drift  =>  delta = d / (2 + d) */
	s->delta =
	    ((double)c->drift_ppm / 1e6) / (2.0 + (double)c->drift_ppm / 1e6);
	for (i = 0; i < MAX_EPOCHS; i++) {
		s->epoch_writer[i] = -1;
		s->primary_of[i] = -1;
	}
	if (setup(s) != 0) {
		rv = BATON_EINTERNAL;
		goto out;
	}
	raft_fixture_elect(&s->f, 0);
	reset_timeouts(s);
	on_step(s, 0);
	if (c->databases > 0) {
		run_scale(s);
		if (c->fail_region && !res->violation &&
		    res->load.measured_ms > 0) {
			run_fail(s);
		}
		goto out_close;
	}
	register_db(s);
	advance(s, 1000 + 4 * s->base_disk);
	if (db_of(&s->s[0]) == NULL) {
		snprintf(res->what, sizeof res->what,
			 "setup: database not registered");
		res->violation = true;
		goto out_close;
	}
	for (step = 0; step < c->steps && !res->violation; step++) {
		/* The fixture hands raft a fixed "randomized" timeout; keep
		 * drawing new ones or equal timers duel forever. */
		reset_timeouts(s);
		if (!c->quiet) {
			fault(s);
		}
		advance(s, c->step_ms);
	}
	if (!res->violation) {
		heal_all(s, true);
		tracef(s, "final heal");
		/* In one schedule in three the primary's region then dies
		 * for good (a majority stays): L1 needs a failover, not the
		 * old primary coming back. */
		if (rndn(s, 3) == 0 && !c->quiet) {
			struct baton_db_state *db = db_of(&s->s[0]);
			if (db != NULL && db->primary >= 0) {
				raft_fixture_kill(&s->f, (unsigned)db->primary);
				res->final_killed = db->primary;
				tracef(s, "final kill of the primary s%d",
				       db->primary);
			}
		}
		heal_t = now_real(s);
		/* Raft itself first: the fixture can take a while to elect
		 * after disk stalls (followers still persisting). What L1
		 * bounds is Baton's part, from the moment a leader exists. */
		while (!res->violation && !l1_met(s) && !live_leader(s) &&
		       now_real(s) - heal_t < 15000) {
			reset_timeouts(s);
			advance(s, 50);
		}
		leader_t = now_real(s);
		if (!l1_met(s) && !live_leader(s)) {
			/* not Baton's: see docs/consensus.md (a server killed
			 * with an append in flight never completes it in the
			 * 0.22.1 fixture, and stays a follower for good) */
			res->raft_stalled = true;
			res->liveness_ok = true;
			tracef(s, "Raft elected no leader in 15 s after the "
				  "heal: schedule ends (fixture stall)");
			goto out_close;
		}
		/* every commit on the way costs an fsync: lost(), the final
		 * reports, the promote, the new primary's first renewal, and
		 * one spare; counted from the latest election (a leader the
		 * heal or the final kill deposed right away does not count) */
		bound = c->liveness_ms + 6 * s->base_disk;
		sw_extra = false;
		while (!res->violation && !l1_met(s) &&
		       now_real(s) - heal_t < 15000) {
			double since = s->last_elected > leader_t
					   ? s->last_elected
					   : leader_t;
			if (s->dead_promote_at > since) {
				since = s->dead_promote_at;
			}
			/* a failover that rightly waits on a floor only
			 * unreachable instances hold: the clock starts again
			 * once one of them is back */
			if (floor_unheld(s)) {
				floor_t = now_real(s);
			}
			if (floor_t > since) {
				since = floor_t;
			}
			if (!sw_extra && switching_over(s)) {
				sw_extra = true;
				bound += c->lease_ms;
			}
			/* the clock runs while a leader exists; with none
			 * (deposed, and Raft elects no other) it is Raft's
			 * stall, classified below, not Baton's time */
			if (live_leader(s) && now_real(s) - since >= bound) {
				break;
			}
			reset_timeouts(s);
			advance(s, 50);
		}
		if (!l1_met(s) && !live_leader(s)) {
			res->raft_stalled = true;
			res->liveness_ok = true;
			tracef(s, "Raft has no leader 15 s after the heal: "
				  "schedule ends (fixture stall)");
			goto out_close;
		}
		if (!l1_met(s) && floor_unheld(s)) {
			res->floor_waited = true;
			res->liveness_ok = true;
			tracef(s, "no writable primary: the failover waits on "
				  "the promote floor, which only unreachable "
				  "instances hold (L1 not checked)");
			goto out_close;
		}
		res->recover_ms = (uint64_t)(now_real(s) - heal_t);
		res->liveness_ok = l1_met(s);
		for (i = 0; i < s->n; i++) {
			for (unsigned k = 0; k < s->ni; k++) {
				if (agent_writable(&s->s[i].ag[k],
						   now_real(s))) {
					res->recovered_region = (int)i;
				}
			}
		}
		if (!l1_met(s)) {
			for (i = 0; i < s->n; i++) {
				struct raft *rf = raft_fixture_get(&s->f, i);
				dump_fsm(s, i);
				tracef(
				    s,
				    "s%u: %s term %llu, applied %llu, "
				    "agent epoch %llu/%llu valid %d",
				    i, raft_state_name(raft_state(rf)),
				    (unsigned long long)raft_current_term(rf),
				    (unsigned long long)s->s[i].fsm.applied,
				    (unsigned long long)designated(&s->s[i])
					->al.epoch,
				    (unsigned long long)designated(&s->s[i])
					->al.primary_epoch,
				    designated(&s->s[i])->al.valid);
			}
		}
		if (!res->liveness_ok && !res->violation) {
			const struct baton_db_state *db = top_db(s);
			char up[96];
			if (s->ni > 1 && db != NULL && db->promote_floor > 0 &&
			    db->phase == BATON_PHASE_FAILING_OVER) {
				/* not the correct wait above: an instance
				 * that holds the floor is up, and the round
				 * never asks it (docs/consensus.md) */
				floor_holders(s, db, up, sizeof up);
				violation(
				    s,
				    "L1 (promote floor %llu): no writable "
				    "primary %u ms after a Raft leader "
				    "existed again (%.0f ms after the "
				    "heal); up at or above it:%s",
				    (unsigned long long)db->promote_floor,
				    bound, leader_t - heal_t, up);
			} else {
				violation(s,
					  "L1: no writable primary %u ms after "
					  "a Raft leader existed again (%.0f "
					  "ms after the heal)",
					  bound, leader_t - heal_t);
			}
		}
		/* Let every server catch up and compare their FSMs. */
		if (!res->violation) {
			advance(s, 2000);
		}
		if (!res->violation && s->ni > 1 && !c->quiet) {
			s->ending = true;
			if (c->end == BATON_SIM_END_L2 ||
			    c->end == BATON_SIM_END_L2_KILL_PRIMARY) {
				end_l2(s);
			} else if (c->end ==
				   BATON_SIM_END_KILL_PRIMARY_MID_MOVE) {
				end_mid_move(s);
			} else if (c->end ==
				   BATON_SIM_END_KILL_PRIMARY_INSTANCE) {
				end_kill_instance(s);
			} else if (c->end ==
				   BATON_SIM_END_KILL_PRIMARY_REGION) {
				end_kill_region(s);
			} else if (c->end == BATON_SIM_END_LAGGING_JOINER) {
				end_lagging_joiner(s);
			} else if (c->end ==
				       BATON_SIM_END_MOVE_THEN_KILL_PRIMARY ||
				   c->end == BATON_SIM_END_OLD_BACK) {
				end_move_then_kill(s);
			} else if (c->end == BATON_SIM_END_DESIGNATION_RACE) {
				end_race(s);
			}
		}
	}
out_close:
	res->sim_ms = raft_fixture_time(&s->f);
	res->applied = s->s[0].fsm.applied;
	res->digest = digest_u64(res->digest, res->sim_ms);
	for (i = 0; i < s->n; i++) {
		struct raft *rf = raft_fixture_get(&s->f, i);
		res->digest = digest_u64(res->digest, s->s[i].fsm.applied);
		res->digest = digest_u64(res->digest, s->s[i].fsm.chain);
		res->digest = digest_u64(res->digest, raft_current_term(rf));
	}
	s->closing = true;
	raft_fixture_close(&s->f);
	for (i = 0; i < s->n; i++) {
		baton_fsm_close(&s->s[i].rfsm);
		baton_driver_close(&s->s[i].drv);
	}
out:
	free(s->bulk);
	free(s->log_bytes);
	free(s->fwd_done);
	free(s->chain);
	free(s);
	return rv;
}
