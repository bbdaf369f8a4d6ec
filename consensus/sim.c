/* Deterministic simulation of the failover protocol; see sim.h.
 *
 * Real time is the fixture's global clock (ms). Every batond and every agent
 * has its own clock: local(t) = base_local + (t - base_real) * rate, where
 * each rate stays within 1 +- delta and (1 + delta) / (1 - delta) <= 1 +
 * drift, i.e. `drift` bounds the ratio of any two clocks, as decider.h
 * assumes. Clocks start at different offsets, as monotonic clocks of
 * different machines do.
 *
 * The model of one region i (server i of the fixture):
 * - batond: applies the log (server i's FSM); when its FSM says it is the
 *   primary, it proposes renew(db, i, epoch, send_time) every renew_ms to
 *   the leader it knows (a forwarded proposal needs the link i -> leader),
 *   and on a successful ack (the leader's apply callback, delivered back if
 *   the link leader -> i is up) extends its lease to send_time + lease. When
 *   its FSM says it lost the primary role, or a switchover begins, it drops
 *   the lease and demotes its agent at once, and fences. It reports health
 *   and replication position every 300 ms.
 * - agent: every 50 ms of its own clock asks its batond (if alive) for a
 *   lease; the grant is remaining / (1 + drift), counted from the agent's
 *   own time of asking. It is writable iff it holds an unexpired lease on
 *   its own clock. A dead batond cannot revoke it: the agent lease lapses.
 * - the decider of server i runs whenever server i is the Raft leader and
 *   proposes what it decides.
 */
#include "consensus/sim.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/fixture.h>

#include "common/error.h"
#include "consensus/decider.h"
#include "consensus/fsm.h"

#define DB "orders"
#define N_MAX 5
#define TRACE_LINES 40
#define TRACE_LINE 120
#define AGENT_POLL_MS 50
#define REPORT_MS 300
#define MAX_EPOCHS 4096
#define CHAIN_CAP (1u << 22)

struct clk {
	double base_real, base_local, rate;
};

struct sim;

struct server {
	struct sim *sim;
	unsigned i;
	struct baton_fsm fsm;
	struct raft_fsm rfsm;
	struct baton_decider dec;
	bool was_leader;
	uint64_t max_epoch; /* S2 */
	/* batond */
	struct clk bclk;
	struct baton_lease lease;
	double next_renew, next_report; /* batond local */
	uint64_t fenced_epoch;		/* switchover: fenced at this epoch */
	double fence_retry;
	/* agent */
	struct clk aclk;
	double next_poll;
	uint64_t agent_until; /* agent local, exclusive */
	uint64_t agent_epoch;
	bool agent_was_writable;
	/* replication position of this region's database */
	uint64_t position;
};

struct sim {
	const struct baton_sim_config *cfg;
	struct baton_sim_result *res;
	struct raft_fixture f;
	unsigned n;
	uint64_t rng;
	double delta; /* per-clock rate bound */
	struct server s[N_MAX];
	uint64_t *chain; /* chain[k] = hash after k applied commands */
	uint64_t chain_len, chain_cap;
	int epoch_writer[MAX_EPOCHS];
	char trace[TRACE_LINES][TRACE_LINE];
	unsigned trace_next, trace_count;
	uint64_t last_writable_real;
	unsigned outstanding; /* apply/transfer requests in flight */
};

struct req {
	union {
		struct raft_apply apply;
		struct raft_transfer transfer;
	} u;
	struct sim *sim;
	unsigned from, leader;
	struct baton_cmd cmd;
	double expiry_real; /* promotes: when the lease expired (real) */
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

static bool link_up(struct sim *s, unsigned i, unsigned j)
{
	return i == j || (alive(s, i) && alive(s, j) &&
			  !raft_fixture_saturated(&s->f, i, j));
}

static struct baton_db_state *db_of(struct server *sv)
{
	return baton_fsm_db(&sv->fsm, DB);
}

static uint64_t bnow(struct sim *s, struct server *sv, bool ceil_)
{
	double l = clk_local(&sv->bclk, now_real(s));
	return (uint64_t)(ceil_ ? ceil(l) : floor(l));
}

/* ---- FSM observer: S2, S3 and the decider's apply times ------------------ */

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

static void observer_cb(struct baton_fsm *f, const struct baton_cmd *cmd,
			int result, void *data)
{
	struct server *sv = data;
	struct sim *s = sv->sim;
	struct baton_db_state *db = baton_fsm_db(f, DB);
	uint64_t now = bnow(s, sv, false);

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
	}
	if (cmd == NULL || result != BATON_FSM_OK) {
		return;
	}
	switch (cmd->type) {
	case BATON_CMD_RENEW:
		baton_decider_renewed(&sv->dec, cmd->db, cmd->epoch,
				      cmd->send_ms, now);
		break;
	case BATON_CMD_PROMOTE:
	case BATON_CMD_REGISTER:
		/* the new primary's lease starts when the decision applies */
		baton_decider_renewed(&sv->dec, cmd->db,
				      db != NULL ? db->epoch : 1, now, now);
		if (cmd->type == BATON_CMD_PROMOTE) {
			tracef(s, "s%u applied promote r%d epoch %llu", sv->i,
			       db != NULL ? db->primary : -1,
			       (unsigned long long)cmd->epoch);
		}
		break;
	default:
		break;
	}
}

/* ---- proposals --------------------------------------------------------- */

static void apply_cb(struct raft_apply *areq, int status, void *result)
{
	struct req *r = areq->data;
	struct sim *s = r->sim;
	int rc = status == 0 ? baton_fsm_result(result) : 0;

	s->outstanding--;
	if (s->res->violation && status != 0) {
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
	if (r->cmd.type == BATON_CMD_PROMOTE ||
	    r->cmd.type == BATON_CMD_FENCE ||
	    r->cmd.type == BATON_CMD_SWITCHOVER) {
		tracef(s, "ack s%u->s%u type %d epoch %llu: %s", r->leader,
		       r->from, r->cmd.type, (unsigned long long)r->cmd.epoch,
		       status != 0 ? raft_strerror(status)
				   : baton_fsm_result_name(rc));
	}
	if (r->cmd.type == BATON_CMD_RENEW && rc == BATON_FSM_OK &&
	    r->from < s->n && link_up(s, r->leader, r->from)) {
		struct server *sv = &s->s[r->from];
		baton_lease_acked(&sv->lease, r->cmd.epoch, r->cmd.send_ms);
	}
	free(r);
}

/* Propose CMD from region FROM: directly if it leads, else forwarded to
 * the leader it knows (the peer API), if the link is up. */
static void propose(struct sim *s, unsigned from, const struct baton_cmd *cmd,
		    double expiry_real)
{
	struct raft *rf = raft_fixture_get(&s->f, from);
	raft_id lid = 0;
	const char *addr = NULL;
	unsigned leader;
	struct raft_buffer buf;
	struct req *r;
	int rv;

	if (!alive(s, from)) {
		return;
	}
	raft_leader(rf, &lid, &addr);
	if (lid == 0 || lid > s->n) {
		return;
	}
	leader = (unsigned)lid - 1;
	if (!link_up(s, from, leader) ||
	    raft_state(raft_fixture_get(&s->f, leader)) != RAFT_LEADER) {
		return;
	}
	if (baton_cmd_to_raft(cmd, &buf) != 0) {
		return;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL) {
		raft_free(buf.base);
		return;
	}
	r->sim = s;
	r->from = from;
	r->leader = leader;
	r->cmd = *cmd;
	r->expiry_real = expiry_real;
	r->u.apply.data = r;
	rv = raft_apply(raft_fixture_get(&s->f, leader), &r->u.apply, &buf, 1,
			apply_cb);
	if (rv != 0) {
		raft_free(buf.base);
		free(r);
		return;
	}
	s->outstanding++;
}

static struct baton_cmd mkcmd(int type, unsigned region, uint64_t epoch)
{
	struct baton_cmd c;
	memset(&c, 0, sizeof c);
	c.type = type;
	snprintf(c.db, sizeof c.db, "%s", DB);
	snprintf(c.region, sizeof c.region, "r%u", region);
	c.epoch = epoch;
	return c;
}

/* ---- the per-step model ------------------------------------------------ */

static void drop_agent(struct server *sv)
{
	sv->agent_until = 0;
}

static bool agent_writable(struct sim *s, struct server *sv, double t)
{
	return sv->agent_until > 0 &&
	       clk_local(&sv->aclk, t) < (double)sv->agent_until;
}

static void batond_tick(struct sim *s, struct server *sv)
{
	struct baton_db_state *db = db_of(sv);
	double l = clk_local(&sv->bclk, now_real(s));
	uint64_t now = (uint64_t)floor(l);
	bool primary;

	if (db == NULL) {
		return;
	}
	primary = db->primary == (int)sv->i;
	/* Lost the role, or the epoch moved on: demote at once (§5.4). */
	if (sv->lease.held && (!primary || sv->lease.epoch != db->epoch)) {
		baton_lease_revoke(&sv->lease);
		drop_agent(sv);
		tracef(s, "s%u demoted (epoch %llu, primary r%d)", sv->i,
		       (unsigned long long)db->epoch, db->primary);
	}
	if (sv->agent_epoch != db->epoch || !primary) {
		drop_agent(sv);
	}
	if (primary && (db->phase == BATON_PHASE_SWITCHING_OVER ||
			db->phase == BATON_PHASE_FENCED)) {
		/* §5.7: fence first (lease and agent), then report the final
		 * position. */
		if (sv->lease.held) {
			baton_lease_revoke(&sv->lease);
			drop_agent(sv);
			tracef(s, "s%u fenced for switchover", sv->i);
		}
		sv->fenced_epoch = db->epoch;
		if (db->phase == BATON_PHASE_SWITCHING_OVER &&
		    l >= sv->fence_retry) {
			struct baton_cmd c =
			    mkcmd(BATON_CMD_FENCE, sv->i, db->epoch);
			c.position = sv->position;
			propose(s, sv->i, &c, 0);
			sv->fence_retry = l + 200;
		}
	} else if (primary && l >= sv->next_renew) {
		struct baton_cmd c = mkcmd(BATON_CMD_RENEW, sv->i, db->epoch);
		c.send_ms = now; /* the lease counts from here */
		propose(s, sv->i, &c, 0);
		sv->next_renew = l + db->cfg.renew_ms;
	}
	if (l >= sv->next_report) {
		struct baton_cmd c = mkcmd(BATON_CMD_REPORT, sv->i, db->epoch);
		c.healthy = 1;
		c.position = sv->position;
		propose(s, sv->i, &c, 0);
		sv->next_report = l + REPORT_MS;
	}
}

static void agent_tick(struct sim *s, struct server *sv)
{
	double t = now_real(s);
	double al = clk_local(&sv->aclk, t);
	struct baton_db_state *db;
	uint64_t grant, until;

	if (al < sv->next_poll) {
		return;
	}
	sv->next_poll = al + AGENT_POLL_MS;
	if (!alive(s, sv->i)) {
		return; /* batond dead: nobody extends, nobody revokes */
	}
	db = db_of(sv);
	if (db == NULL || db->primary != (int)sv->i) {
		return;
	}
	grant =
	    baton_lease_agent_grant(&sv->lease, db->epoch, bnow(s, sv, true));
	if (grant == 0) {
		return;
	}
	until = (uint64_t)floor(al) + grant;
	if (sv->agent_epoch != db->epoch || until > sv->agent_until) {
		sv->agent_until = until;
		sv->agent_epoch = db->epoch;
	}
}

static void check_agents(struct sim *s)
{
	double t = now_real(s);
	unsigned i, j, n_writable = 0;

	for (i = 0; i < s->n; i++) {
		struct server *a = &s->s[i];
		bool w = agent_writable(s, a, t);

		if (w) {
			n_writable++;
			if (a->agent_epoch < MAX_EPOCHS) {
				int *wr = &s->epoch_writer[a->agent_epoch];
				if (*wr < 0) {
					*wr = (int)i;
				} else if (*wr != (int)i) {
					violation(
					    s,
					    "S1: epoch %llu writable in "
					    "r%d and r%u",
					    (unsigned long long)a->agent_epoch,
					    *wr, i);
				}
			}
			if (!a->agent_was_writable) {
				tracef(s, "agent r%u writable at epoch %llu", i,
				       (unsigned long long)a->agent_epoch);
			}
		} else if (a->agent_was_writable) {
			tracef(s, "agent r%u read-only", i);
		}
		a->agent_was_writable = w;
	}
	if (n_writable > 1) {
		for (i = 0; i < s->n; i++) {
			for (j = i + 1; j < s->n; j++) {
				if (agent_writable(s, &s->s[i], t) &&
				    agent_writable(s, &s->s[j], t)) {
					violation(
					    s,
					    "S1: agents r%u (epoch %llu) and "
					    "r%u (epoch %llu) writable at "
					    "t=%.0f",
					    i,
					    (unsigned long long)s->s[i]
						.agent_epoch,
					    j,
					    (unsigned long long)s->s[j]
						.agent_epoch,
					    t);
				}
			}
		}
	}
	if (n_writable > 0) {
		s->last_writable_real = (uint64_t)t;
	}
}

static void replicate(struct sim *s, double dt)
{
	unsigned i;

	for (i = 0; i < s->n; i++) {
		struct server *sv = &s->s[i];
		if (agent_writable(s, sv, now_real(s))) {
			sv->position += (uint64_t)(dt * 10.0); /* writes */
		}
	}
	for (i = 0; i < s->n; i++) {
		struct server *sv = &s->s[i];
		struct baton_db_state *db = db_of(sv);
		if (db == NULL || db->primary == (int)i || db->primary < 0 ||
		    !link_up(s, (unsigned)db->primary, i)) {
			continue;
		}
		if (s->s[db->primary].position > sv->position) {
			sv->position = s->s[db->primary].position;
		}
	}
}

static void leader_tick(struct sim *s, struct server *sv)
{
	struct raft *rf = raft_fixture_get(&s->f, sv->i);
	bool leader = alive(s, sv->i) && raft_state(rf) == RAFT_LEADER;
	uint64_t now = bnow(s, sv, false);
	struct baton_db_state *db;
	struct baton_decision d;

	if (leader && !sv->was_leader) {
		baton_decider_become_leader(&sv->dec, now);
		tracef(s, "s%u became leader (term %llu)", sv->i,
		       (unsigned long long)rf->current_term);
	} else if (!leader && sv->was_leader) {
		baton_decider_lose_leadership(&sv->dec);
	}
	sv->was_leader = leader;
	if (!leader || (db = db_of(sv)) == NULL) {
		return;
	}
	if (baton_decider_decide(&sv->dec, db, now, &d) &&
	    d.kind == BATON_DECISION_PROMOTE) {
		struct baton_cmd c =
		    mkcmd(BATON_CMD_PROMOTE, (unsigned)d.region, d.epoch);
		c.renew_seq = d.renew_seq;
		c.reason = (uint8_t)d.reason;
		tracef(s, "s%u decides promote r%d epoch %llu (%s)", sv->i,
		       d.region, (unsigned long long)d.epoch,
		       baton_reason_name(d.reason));
		propose(s, sv->i, &c,
			d.reason == BATON_REASON_LEASE_EXPIRED
			    ? clk_real(&sv->bclk, (double)d.expired_at_ms)
			    : 0);
	}
}

static void on_step(struct sim *s, double dt)
{
	unsigned i;

	for (i = 0; i < s->n; i++) {
		leader_tick(s, &s->s[i]);
	}
	for (i = 0; i < s->n; i++) {
		if (alive(s, i)) {
			batond_tick(s, &s->s[i]);
		}
	}
	for (i = 0; i < s->n; i++) {
		agent_tick(s, &s->s[i]);
	}
	replicate(s, dt);
	check_agents(s);
	for (i = 0; i < s->n; i++) {
		struct raft *rf = raft_fixture_get(&s->f, i);
		uint64_t kept = raft_last_index(rf) - rf->trail.offset;
		if (kept > s->res->max_log_entries) {
			s->res->max_log_entries = kept;
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

static void heal_all(struct sim *s)
{
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
		raft_fixture_set_network_latency(&s->f, i, 15);
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

static void fault(struct sim *s)
{
	unsigned a = rndn(s, s->n), b = rndn(s, s->n), j;
	unsigned what = rndn(s, 100);

	if (what < 15) {
		for (j = 0; j < s->n; j++) {
			if (j != a) {
				raft_fixture_saturate(&s->f, a, j);
				raft_fixture_saturate(&s->f, j, a);
			}
		}
		tracef(s, "partition s%u", a);
	} else if (what < 25) {
		if (a != b) {
			raft_fixture_saturate(&s->f, a, b);
			tracef(s, "cut s%u -> s%u", a, b);
		}
	} else if (what < 40) {
		heal_all(s);
		tracef(s, "heal");
	} else if (what < 48) {
		if (alive(s, a) && n_dead(s) + 1 < s->n) {
			raft_fixture_kill(&s->f, a);
			tracef(s, "kill s%u", a);
		}
	} else if (what < 55) {
		if (!alive(s, a)) {
			raft_fixture_revive(&s->f, a);
			tracef(s, "revive s%u", a);
		}
	} else if (what < 63) {
		unsigned lat = 5 + rndn(s, 300);
		raft_fixture_set_network_latency(&s->f, a, lat);
		tracef(s, "latency s%u %u ms", a, lat);
	} else if (what < 78) {
		struct server *sv = &s->s[a];
		double t = now_real(s);
		if (rndn(s, 2) == 0) {
			clk_set_rate(&sv->bclk, t, random_rate(s));
			tracef(s, "batond clock r%u rate %.4f", a,
			       sv->bclk.rate);
		} else {
			clk_set_rate(&sv->aclk, t, random_rate(s));
			tracef(s, "agent clock r%u rate %.4f", a,
			       sv->aclk.rate);
		}
	} else if (what < 84) {
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
	} else if (what < 88) {
		if (s->cfg->disk_faults && alive(s, a)) {
			raft_fixture_io_fault(&s->f, a, (int)rndn(s, 3), 1);
			tracef(s, "disk fault s%u", a);
		}
	} else if (what < 92) {
		struct baton_db_state *db = db_of(&s->s[a]);
		if (db != NULL && (int)b != db->primary) {
			struct baton_cmd c =
			    mkcmd(BATON_CMD_SWITCHOVER, b, db->epoch);
			propose(s, a, &c, 0);
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
	c->liveness_ms = 15000;
	c->disk_faults =
	    false; /* see docs/consensus.md: crashes the 0.22.1 fixture */
	c->snapshot_threshold = 64;
	c->snapshot_trailing = 32;
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

	if (raft_fixture_initialize(&s->f) != 0) {
		return BATON_EINTERNAL;
	}
	for (i = 0; i < s->n; i++) {
		struct server *sv = &s->s[i];
		struct raft *rf;

		sv->sim = s;
		sv->i = i;
		baton_fsm_init(&sv->fsm, &sv->rfsm);
		sv->fsm.observer = observer_cb;
		sv->fsm.observer_data = sv;
		baton_decider_init(&sv->dec, c->decider_flags);
		baton_lease_init(&sv->lease, c->lease_ms, c->drift_ppm);
		sv->bclk.rate = random_rate(s);
		sv->bclk.base_local = (double)(rnd(s) % 1000000);
		sv->aclk.rate = random_rate(s);
		sv->aclk.base_local = (double)(rnd(s) % 1000000);
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
		/* The fixture seeds raft's PRNG to hit this value, which must
		 * lie in [timeout, 2 * timeout) or it searches forever. */
		raft_fixture_set_randomized_election_timeout(&s->f, i,
							     400 + i * 50);
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
	c.n_regions = s->n;
	for (i = 0; i < s->n; i++) {
		snprintf(c.regions[i].name, sizeof c.regions[i].name, "r%u", i);
		c.regions[i].role = BATON_ROLE_DATA;
		c.regions[i].priority = (int32_t)rndn(s, 3);
	}
	snprintf(c.primary, sizeof c.primary, "r0");
	propose(s, 0, &c, 0);
}

static bool have_writable(struct sim *s)
{
	unsigned i;
	for (i = 0; i < s->n; i++) {
		if (agent_writable(s, &s->s[i], now_real(s))) {
			return true;
		}
	}
	return false;
}

int baton_sim_run(const struct baton_sim_config *c,
		  struct baton_sim_result *res)
{
	struct sim *s;
	unsigned step, i;
	double heal_t;
	int rv = 0;

	memset(res, 0, sizeof *res);
	if (c->n_servers < 1 || c->n_servers > N_MAX) {
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
	s->rng = c->seed;
	/* (1 + delta) / (1 - delta) = 1 + drift  =>  delta = d / (2 + d) */
	s->delta =
	    ((double)c->drift_ppm / 1e6) / (2.0 + (double)c->drift_ppm / 1e6);
	for (i = 0; i < MAX_EPOCHS; i++) {
		s->epoch_writer[i] = -1;
	}
	if (setup(s) != 0) {
		rv = BATON_EINTERNAL;
		goto out;
	}
	raft_fixture_elect(&s->f, 0);
	reset_timeouts(s);
	on_step(s, 0);
	register_db(s);
	advance(s, 1000);
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
		fault(s);
		advance(s, c->step_ms);
	}
	if (!res->violation) {
		heal_all(s);
		tracef(s, "final heal");
		heal_t = now_real(s);
		while (!res->violation && !have_writable(s) &&
		       now_real(s) - heal_t < c->liveness_ms) {
			reset_timeouts(s);
			advance(s, 50);
		}
		res->recover_ms = (uint64_t)(now_real(s) - heal_t);
		res->liveness_ok = have_writable(s);
		if (!res->liveness_ok && !res->violation) {
			violation(s, "L1: no writable primary %u ms after heal",
				  c->liveness_ms);
			res->liveness_ok = false;
		}
		/* Let every server catch up and compare their FSMs. */
		if (!res->violation) {
			advance(s, 2000);
		}
	}
out_close:
	res->sim_ms = raft_fixture_time(&s->f);
	res->applied = s->s[0].fsm.applied;
	raft_fixture_close(&s->f);
	for (i = 0; i < s->n; i++) {
		baton_fsm_close(&s->s[i].rfsm);
		baton_decider_close(&s->s[i].dec);
	}
out:
	free(s->chain);
	free(s);
	return rv;
}
