#include "batond/raftglue.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <raft.h>
#include <raft/uv.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batond/membership.h"
#include "batond/peerpropose.h"
#include "batond/peertoken.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/failpoint.h"
#include "common/log.h"
#include "consensus/decider.h"
#include "consensus/driver.h"
#include "consensus/fsm.h"
#include "consensus/node.h"
#include "consensus/tls_transport.h"
#include "http/server.h"
#include "kube/client.h"

#define TICK_MS 50
struct proposal {
	struct baton_raftglue *g;
	struct baton_raft_apply apply;
	struct baton_kube_request req;
	struct baton_cmd cmd;
	struct baton_http_request *http; /* forwarded from a peer, or NULL */
	uint64_t started_ms;		 /* for the commit latency */
	struct proposal *next, **pprev;	 /* g->proposals: O(1) unlink */
};

/* lease times: CLOCK_BOOTTIME (common/clock.h) */
static uint64_t now_ms(void)
{
	return baton_lease_clock_ms();
}

static const char *self_name(struct baton_raftglue *g)
{
	return g->members[g->self].name;
}

static bool is_leader(struct baton_raftglue *g)
{
	return g->node.started && !g->stopping &&
	       raft_state(&g->node.raft) == RAFT_LEADER;
}

static struct baton_raftglue_member *leader_member(struct baton_raftglue *g)
{
	raft_id id = 0;
	const char *addr = NULL;
	if (!g->node.started) {
		return NULL;
	}
	raft_leader(&g->node.raft, &id, &addr);
	for (int i = 0; i < g->n_members; i++) {
		if (g->members[i].id == id) {
			return &g->members[i];
		}
	}
	return NULL;
}

/* ---- proposals ---------------------------------------------------------- */

/* A proposal is linked into g->proposals before its request starts and
 * unlinked once, by its one completion (proposal_done) or by propose() when
 * the start failed: a start that fails runs no callback, one that succeeds
 * runs it exactly once (consensus/node.h, kube/client.h). maybe_closed()
 * waits for the list to empty, so the node is never freed under a pending
 * proposal.
 *
 * Linked first, because a completion may not wait for the start to return.
 * Today neither does (cowsql/raft 0.22 queues a raft_apply request as
 * pending only after the submit returned and fires completions from raft_uv's
 * prepare/check callbacks; a kube request completes from curl's socket and
 * timer callbacks on the loop), but a completion that ran inside the start
 * used to free the proposal, after which propose() linked the freed memory.
 * Linked first, such a completion finds it in the list, and propose() no
 * longer touches it once the start succeeded. */
static void proposal_link(struct baton_raftglue *g, struct proposal *p)
{
	BATON_ASSERT(p->pprev == NULL);
	p->next = g->proposals;
	if (p->next != NULL) {
		p->next->pprev = &p->next;
	}
	p->pprev = &g->proposals;
	g->proposals = p;
}

static void proposal_unlink(struct proposal *p)
{
	/* unlinked twice: a second completion, or a failed start that also
	 * completed; either way P may already be freed */
	BATON_ASSERT(p->pprev != NULL);
	*p->pprev = p->next;
	if (p->next != NULL) {
		p->next->pprev = p->pprev;
	}
	p->next = NULL;
	p->pprev = NULL;
}

/* The outcome of a proposal (local or forwarded): an FSM result code, or
 * 0 when it did not commit (STATUS says why). */
static void proposal_done(struct proposal *p, int result, const char *why)
{
	struct baton_raftglue *g = p->g;

	if (p->http != NULL) {
		char body[160];
		if (result != 0) {
			snprintf(body, sizeof body,
				 "{\"result\":\"%s\",\"code\":%d}",
				 baton_fsm_result_name(result), result);
			baton_http_respond(p->http, 200, "application/json",
					   body, strlen(body), NULL);
		} else {
			baton_http_respond_error(p->http, 503, why);
		}
	}
	if (p->http == NULL) { /* our own proposal: the driver's */
		double secs = (double)(now_ms() - p->started_ms) / 1000.0;
		if (result != 0) {
			baton_metric_observe(g->m_commit, NULL, secs);
		}
		if (p->cmd.type == BATON_CMD_RENEW_BATCH &&
		    result == BATON_FSM_OK) {
			baton_metric_observe(g->m_renewal, NULL, secs);
		}
		baton_driver_done(&g->driver, &p->cmd, result);
	}
	/* a report not committed is said again at the next interval */
	if (result == 0 && p->cmd.type != BATON_CMD_REPORT &&
	    p->cmd.type != BATON_CMD_REPORT_BATCH) {
		baton_log(BATON_LOG_DEBUG, "raft", "%s %s: not committed: %s",
			  p->cmd.type == BATON_CMD_RENEW_BATCH ? "renew"
							       : "proposal",
			  p->cmd.db, why);
	}
	proposal_unlink(p);
	free(p);
}

static void apply_cb(struct baton_raft_apply *req, int status, int result)
{
	struct proposal *p = req->data;
	proposal_done(p, status == 0 ? result : 0,
		      status == 0 ? "" : baton_strerror(status));
}

static void forward_cb(struct baton_kube_request *req, int status)
{
	struct proposal *p = req->data;
	int code = 0;
	if (status == 0) {
		code = (int)json_integer_value(
		    json_object_get(req->result, "code"));
	}
	proposal_done(p, code, status == 0 ? "" : req->errmsg);
}

static int propose(struct baton_raftglue *g, const struct baton_cmd *cmd,
		   struct baton_http_request *http)
{
	struct baton_raftglue_member *l = NULL;
	struct proposal *p;
	char body[BATON_CMD_MAX * 2 + 32];
	bool leader = is_leader(g);
	int rv;

	if (g->stopping || !g->node.started) {
		return BATON_ESHUTDOWN;
	}
	if (!leader) {
		uint8_t raw[BATON_CMD_MAX];
		unsigned char b64[BATON_CMD_MAX * 2];
		size_t len = 0;

		l = leader_member(g);
		if (http != NULL || l == NULL || !l->client_ready) {
			/* a forwarded command is never forwarded again */
			return BATON_ENOTLEADER;
		}
		rv = baton_cmd_encode(cmd, raw, sizeof raw, &len);
		if (rv != 0) {
			return rv;
		}
		EVP_EncodeBlock(b64, raw, (int)len);
		snprintf(body, sizeof body, "{\"cmd\":\"%s\"}", b64);
	}
	p = calloc(1, sizeof *p);
	if (p == NULL) {
		return BATON_ENOMEM;
	}
	p->g = g;
	p->cmd = *cmd;
	p->http = http;
	p->started_ms = now_ms();
	proposal_link(g, p);
	if (leader) {
		p->apply.data = p;
		rv = baton_raft_apply(&g->node, &p->apply, cmd, apply_cb);
		if (rv != 0) {
			baton_log(BATON_LOG_WARN, "raft", "%s", g->node.errmsg);
			if (rv != BATON_ENOMEM && rv != BATON_ETOOLARGE &&
			    rv != BATON_EINVAL) {
				rv = BATON_ENOTLEADER;
			}
		}
	} else {
		p->req.data = p;
		rv = baton_kube_request_start(&l->client, &p->req, "POST",
					      "/v1/propose", "application/json",
					      body, 5000, NULL, forward_cb);
	}
	if (rv != 0) {
		/* no callback runs for a start that failed */
		proposal_unlink(p);
		free(p);
		return rv;
	}
	/* P may be completed and freed from here on */
	return 0;
}

/* ---- the FSM observer -------------------------------------------------------
 */

static void tick_cb(uv_timer_t *t);

/* The tick now (on the loop's next turn), then every TICK_MS again. */
static void kick(struct baton_raftglue *g)
{
	if (uv_is_active((uv_handle_t *)&g->tick) && !g->stopping) {
		uv_timer_start(&g->tick, tick_cb, 0, TICK_MS);
	}
}

static void op_kick(void *data)
{
	kick(data);
}

/* Whether DB's switchover waits for its target's report (the old primary
 * fenced): a report may let the decider promote at once. */
static bool switchover_waits(struct baton_fsm *f, const char *db)
{
	const struct baton_db_state *st = baton_fsm_db(f, db);

	return st != NULL && st->phase == BATON_PHASE_FENCED;
}

static void observer(struct baton_fsm *f, const struct baton_cmd *cmd,
		     int result, void *data)
{
	struct baton_raftglue *g = data;
	/* a role or phase change: anything but a renewal or a report */
	bool decision = cmd != NULL && result == BATON_FSM_OK &&
			cmd->type != BATON_CMD_RENEW &&
			cmd->type != BATON_CMD_REPORT;

	if (cmd == NULL || decision) {
		g->generation++;
	}
	/* (a batch reaches the observer as its items: RENEWs, REPORTs) */
	if (cmd != NULL && cmd->type != BATON_CMD_RENEW &&
	    cmd->type != BATON_CMD_RENEW_BATCH &&
	    cmd->type != BATON_CMD_REPORT_BATCH &&
	    baton_log_enabled(BATON_LOG_DEBUG)) {
		static const char *const names[BATON_CMD__COUNT] = {
		    [BATON_CMD_REGISTER] = "register",
		    [BATON_CMD_REMOVE] = "remove",
		    [BATON_CMD_REPORT] = "report",
		    [BATON_CMD_PROMOTE] = "promote",
		    [BATON_CMD_SWITCHOVER] = "switchover",
		    [BATON_CMD_FENCE] = "fence",
		    [BATON_CMD_SWITCHOVER_ABORT] = "switchover-abort",
		    [BATON_CMD_LOST] = "lost",
		    [BATON_CMD_CONFIG] = "config",
		};
		const char *n = cmd->type > 0 && cmd->type < BATON_CMD__COUNT
				    ? names[cmd->type]
				    : NULL;
		baton_log(BATON_LOG_DEBUG, "raft",
			  "%s: applied %s from %s at epoch %llu, position "
			  "%llu%s: %s",
			  cmd->db, n ? n : "command", cmd->region,
			  (unsigned long long)cmd->epoch,
			  (unsigned long long)cmd->position,
			  cmd->final ? " (final)" : "",
			  baton_fsm_result_name(result));
	}

	if (cmd != NULL && result == BATON_FSM_OK &&
	    cmd->type == BATON_CMD_PROMOTE) {
		g->obs.promoted(g->obs.data, cmd, NULL);
		baton_metric_inc(
		    g->m_failovers,
		    (const char *[]){baton_reason_name(cmd->reason)}, 1);
	}
	baton_desigmetrics_applied(&g->desigm, cmd, result, now_ms());
	baton_driver_applied(&g->driver, f, cmd, result, now_ms());
	/* On the leader, a decision the followers act on (anything but a
	 * renewal or a report) is pushed to them at once with a barrier
	 * (on the tick: not from inside raft's apply); a standby's final
	 * position, or a switchover target's report once the old primary
	 * fenced, lets the decider promote at once. Each waited for the
	 * next heartbeat or tick before: ~45 ms per hop of a failover. */
	if (decision) {
		/* a follower acts on it on this tick, not the next: a
		 * switchover's target reports its position on the FENCE
		 * apply (~25 ms per switchover on average) */
		if (is_leader(g)) {
			g->barrier_due = true;
		}
		kick(g);
	} else if (cmd != NULL && result == BATON_FSM_OK &&
		   cmd->type == BATON_CMD_REPORT && is_leader(g) &&
		   (cmd->final || switchover_waits(f, cmd->db))) {
		kick(g);
	}
}

/* ---- the tick: consensus/driver.c does the work ------------------------
 */

static void drv_report(void *data, const char *db,
		       struct baton_region_report *out)
{
	struct baton_raftglue *g = data;
	g->obs.region_report(g->obs.data, db, out);
}

static bool drv_final_report(void *data, const char *db, uint64_t epoch,
			     uint64_t round, int ordinal,
			     struct baton_region_report *out)
{
	struct baton_raftglue *g = data;
	return g->obs.final_report(g->obs.data, db, epoch, round, ordinal, out);
}

/* The designation's view (only with --designation): the observer's, as
 * the reports are; nothing known while no one acts on the FSM. */
static bool drv_designate(void *data, const char *db,
			  struct baton_designate_input *in, uint64_t now)
{
	struct baton_raftglue *g = data;
	return g->obs.designate != NULL &&
	       g->obs.designate(g->obs.data, db, in, now);
}

static int drv_propose(void *data, const struct baton_cmd *cmd)
{
	return propose(data, cmd, NULL);
}

static void drv_changed(void *data, const char *db)
{
	struct baton_raftglue *g = data;
	g->obs.fsm_changed(g->obs.data, db);
}

static void drv_log(void *data, int level, const char *db, const char *msg)
{
	enum baton_log_level l = level >= 2   ? BATON_LOG_WARN
				 : level == 1 ? BATON_LOG_INFO
					      : BATON_LOG_DEBUG;
	(void)data;
	if (!baton_log_enabled(l)) {
		return; /* a report per database per interval at debug */
	}
	if (db[0] == '\0') { /* the fleet's, not a database's */
		baton_log(l, "raft", "%s", msg);
		return;
	}
	baton_log_kv(l, "raft", json_pack("{s:s}", "db", db), "%s: %s", db,
		     msg);
}

static uint32_t drv_fleet_level(void *data)
{
	struct baton_raftglue *g = data;
	return baton_fleetlevel_known(&g->fleetlevel);
}

static void drv_leader_changed(void *data, bool leader)
{
	struct baton_raftglue *g = data;
	if (leader) {
		baton_log(BATON_LOG_INFO, "raft",
			  "elected leader (term %llu): leases go on from the "
			  "renewals applied here",
			  (unsigned long long)raft_current_term(&g->node.raft));
		g->obs.became_leader(g->obs.data);
	} else {
		/* same term: it stepped down, having heard from no majority
		 * within an election timeout; a higher term: another node
		 * started an election (it heard from no leader in time) */
		baton_log(BATON_LOG_INFO, "raft",
			  "no longer the leader (term now %llu)",
			  (unsigned long long)raft_current_term(&g->node.raft));
	}
}

static void join_step(struct baton_raftglue *g, uint64_t now);
static void member_step(struct baton_raftglue *g, uint64_t now);

static void tick_cb(uv_timer_t *t)
{
	struct baton_raftglue *g = t->data;

	if (g->stopping) {
		return;
	}
	if (g->barrier_due) {
		g->barrier_due = false;
		(void)baton_raft_barrier(&g->node); /* best effort */
	}
	if (g->joining) {
		join_step(g, now_ms());
	}
	member_step(g, now_ms());
	/* the leader learns what every member's batond knows until the
	 * fleet's level is this one's (driver step 6, fleetlevel.h) */
	if (is_leader(g) && g->node.fsm.fleet_level < BATON_COMMAND_LEVEL) {
		struct baton_kube_client *clients[BATON_RAFTGLUE_MEMBERS];
		for (int i = 0; i < g->n_members; i++) {
			clients[i] = g->members[i].client_ready
					 ? &g->members[i].client
					 : NULL;
		}
		baton_fleetlevel_ask(&g->fleetlevel, clients, now_ms());
	}
	baton_driver_tick(&g->driver, &g->node.fsm, is_leader(g), now_ms());
}

/* ---- the peer API -----------------------------------------------------------
 */

static void api_propose(struct baton_http_request *req, void *data)
{
	struct baton_raftglue *g = data;
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	const char *b64 = json_string_value(json_object_get(body, "cmd"));
	unsigned char raw[BATON_CMD_MAX + 4];
	struct baton_cmd cmd;
	char why[BATON_HTTP_PEER_SIZE + 3 * BATON_NAME_SIZE + 128];
	bool leader;
	int verdict;
	int n;
	int rv;

	if (b64 == NULL || strlen(b64) > BATON_CMD_MAX * 4 / 3 + 4) {
		json_decref(body);
		baton_http_respond_error(req, 400,
					 "body must be {\"cmd\": base64}");
		return;
	}
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
	/* EVP_DecodeBlock counts the padding as zero bytes: drop them */
	for (size_t k = strlen(b64); n > 0 && k > 0 && b64[k - 1] == '='; k--) {
		n--;
	}
	rv = n > 0 ? baton_cmd_decode(raw, (size_t)n, &cmd) : BATON_EPARSE;
	json_decref(body);
	if (rv != 0) {
		baton_http_respond_error(req, 400, "malformed command");
		return;
	}
	/* A peer speaks only for its own region (DESIGNATE: for the region
	 * that proposes that step), and never decides (peerpropose.h). A
	 * DESIGNATE is judged on this node's applied state, and only on the
	 * leader's: the check, the leadership test and the proposal run in
	 * this one turn of the loop, so nothing applies in between; what
	 * applies before the command does is answered by its epoch, which
	 * the FSM checks (peerpropose.h). */
	leader = is_leader(g);
	verdict = baton_peerpropose_check(
	    g->cfg->tls_ca != NULL ? req->peer : NULL, &cmd,
	    leader ? &g->node.fsm : NULL, why, sizeof why);
	if (verdict != BATON_PEERPROPOSE_OK &&
	    verdict != BATON_PEERPROPOSE_NOT_LEADER) {
		baton_log(BATON_LOG_WARN, "peer-api",
			  "refused a forwarded command from '%s' (%s): %s",
			  req->peer, baton_peerpropose_verdict_name(verdict),
			  why);
		baton_http_respond_error(
		    req, baton_peerpropose_http_status(verdict), why);
		return;
	}
	/* NOT_LEADER (a DESIGNATE on a follower, judged on no state) is never
	 * proposed, whatever the leadership says now */
	if (!leader || verdict != BATON_PEERPROPOSE_OK) {
		struct baton_raftglue_member *l = leader_member(g);
		char msg[160];
		snprintf(msg, sizeof msg, "not the leader; leader: %s",
			 l ? l->name : "unknown");
		baton_http_respond_error(req, 421, msg);
		return;
	}
	rv = propose(g, &cmd, req);
	if (rv != 0) {
		baton_http_respond_error(req, 503, baton_strerror(rv));
	}
}

static json_t *raft_status(void *data)
{
	struct baton_raftglue *g = data;
	struct baton_raftglue_member *l = leader_member(g);
	json_t *members = json_array();
	json_t *st;
	for (int i = 0; i < g->n_members; i++) {
		json_array_append_new(
		    members,
		    json_pack("{s:s, s:I, s:s}", "name", g->members[i].name,
			      "id", (json_int_t)g->members[i].id, "address",
			      g->members[i].raft_address));
	}
	st = json_pack(
	    "{s:s, s:s, s:I, s:s?, s:I, s:o, s:b, s:I}", "self", self_name(g),
	    "state",
	    g->node.started ? raft_state_name(raft_state(&g->node.raft))
			    : (g->joining ? "joining" : "stopped"),
	    "term",
	    (json_int_t)(g->node.started ? raft_current_term(&g->node.raft)
					 : 0),
	    "leader", l ? l->name : NULL, "applied",
	    (json_int_t)g->node.fsm.applied, "members", members, "joining",
	    g->joining, "lastIndex",
	    (json_int_t)(g->node.started ? raft_last_index(&g->node.raft) : 0));
	/* what this batond knows and what the whole fleet does (consensus/
	 * fsm.h): the leader raises the fleet's level from the former */
	if (st != NULL) {
		json_object_set_new(st, "commandLevel",
				    json_integer(BATON_COMMAND_LEVEL));
		json_object_set_new(st, "fleetCommandLevel",
				    json_integer(g->node.fsm.fleet_level));
	}
	/* the leader's committed configuration, when no change is in flight:
	 * what a joining member may trust (batond/membership.h rule 4) */
	if (st != NULL && is_leader(g) &&
	    g->node.raft.configuration_uncommitted_index == 0) {
		json_t *roles = json_object();
		for (int i = 0; i < g->n_members; i++) {
			json_object_set_new(
			    roles, g->members[i].name,
			    json_string(
				baton_member_role_name(baton_member_role(
				    &g->node.raft.configuration_committed,
				    g->members[i].id))));
		}
		json_object_set_new(st, "roles", roles);
	}
	return st;
}

static void api_status(struct baton_http_request *req, void *data)
{
	json_t *st = raft_status(data);
	char *text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	if (text == NULL) {
		baton_http_respond_error(req, 500, "out of memory");
		return;
	}
	baton_http_respond(req, 200, "application/json", text, strlen(text),
			   NULL);
	free(text);
}

/* ---- membership (batond/membership.h) ------------------------------------
 */

static struct baton_raftglue_member *member_named(struct baton_raftglue *g,
						  const char *name)
{
	for (int i = 0; name != NULL && i < g->n_members; i++) {
		if (strcmp(g->members[i].name, name) == 0) {
			return &g->members[i];
		}
	}
	return NULL;
}

static void change_cb(struct raft_change *req, int status)
{
	struct baton_raftglue *g = req->data;
	g->change_pending = false;
	if (status != 0 && !g->stopping) {
		baton_log(BATON_LOG_WARN, "raft",
			  "membership change failed: %s",
			  raft_strerror(status));
	}
}

/* POST /v1/membership/rejoin {"region": R}, from R itself (its
 * certificate): R's Raft data is gone; make it a standby (rule 4). */
static void api_rejoin(struct baton_http_request *req, void *data)
{
	struct baton_raftglue *g = data;
	json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
	struct baton_raftglue_member *m =
	    member_named(g, json_string_value(json_object_get(body, "region")));
	char msg[300];
	int rv;

	json_decref(body);
	if (m == NULL || m == &g->members[g->self]) {
		baton_http_respond_error(req, 400,
					 "body must be {\"region\": a peer's "
					 "name}");
		return;
	}
	if (g->cfg->tls_ca == NULL ||
	    !baton_peerpropose_peer_is(req->peer, m->name)) {
		snprintf(
		    msg, sizeof msg,
		    "only region %s itself may ask (certificate: '%.100s')",
		    m->name, req->peer);
		baton_log(BATON_LOG_WARN, "raft", "rejoin refused: %s", msg);
		baton_http_respond_error(req, 403, msg);
		return;
	}
	if (!is_leader(g)) {
		struct baton_raftglue_member *l = leader_member(g);
		snprintf(msg, sizeof msg, "not the leader; leader: %s",
			 l ? l->name : "unknown");
		baton_http_respond_error(req, 421, msg);
		return;
	}
	if (g->change_pending) {
		baton_http_respond_error(req, 409,
					 "a configuration change is in flight");
		return;
	}
	g->change.data = g;
	{
		bool added = false;
		rv = baton_member_rejoin(&g->node.raft, &g->change, m->id,
					 m->raft_address, change_cb, &added,
					 msg, sizeof msg);
		if (rv == 0) {
			char text[400];
			int n;
			g->change_pending = true;
			baton_log(BATON_LOG_WARN, "raft",
				  "region %s lost its Raft data: %s; it votes "
				  "again once it has caught up",
				  m->name, msg);
			n = snprintf(text, sizeof text,
				     "{\"added\":%s,\"result\":\"%s\"}",
				     added ? "true" : "false", msg);
			baton_http_respond(req, 202, "application/json", text,
					   (size_t)n, NULL);
			return;
		}
	}
	baton_http_respond_error(req, rv == BATON_EBUSY ? 409 : 500, msg);
}

/* The leader promotes, one change at a time: missing members are added,
 * spares become standbys, caught-up standbys voters. */
static void member_step(struct baton_raftglue *g, uint64_t now)
{
	raft_id ids[BATON_RAFTGLUE_MEMBERS];
	const char *addrs[BATON_RAFTGLUE_MEMBERS];
	char msg[300];
	int n = 0, rv;

	if (!is_leader(g) || g->change_pending || now < g->member_next_ms) {
		return;
	}
	g->member_next_ms = now + 1000;
	for (int i = 0; i < g->n_members; i++) {
		if (i != g->self) {
			ids[n] = g->members[i].id;
			addrs[n++] = g->members[i].raft_address;
		}
	}
	g->change.data = g;
	rv = baton_member_leader_step(&g->node.raft, &g->change, ids, addrs, n,
				      change_cb, msg, sizeof msg);
	if (rv == 0) {
		g->change_pending = true;
		baton_log(BATON_LOG_INFO, "raft", "membership: %s", msg);
	} else if (rv != BATON_ENOTFOUND && rv != BATON_EBUSY) {
		baton_log(BATON_LOG_WARN, "raft", "membership: %s", msg);
	}
}

static int raft_go(struct baton_raftglue *g, bool bootstrap, char *errmsg);

static void join_status_cb(struct baton_kube_request *req, int status)
{
	struct baton_raftglue_member *m = req->data;
	struct baton_raftglue *g = m->g;
	json_t *r = req->result;
	json_t *roles;

	m->st_pending = false;
	if (status != 0 || g->stopping || !json_is_object(r)) {
		return;
	}
	m->st_ms = now_ms();
	m->st_joining = json_is_true(json_object_get(r, "joining"));
	m->st_last_index =
	    (uint64_t)json_integer_value(json_object_get(r, "lastIndex"));
	m->st_leader = json_string_value(json_object_get(r, "leader")) &&
		       strcmp(json_string_value(json_object_get(r, "leader")),
			      m->name) == 0;
	roles = json_object_get(r, "roles");
	m->st_my_role = -1;
	if (json_is_object(roles)) {
		const char *mine =
		    json_string_value(json_object_get(roles, self_name(g)));
		if (mine != NULL) {
			m->st_my_role =
			    strcmp(mine, "voter") == 0	   ? RAFT_VOTER
			    : strcmp(mine, "standby") == 0 ? RAFT_STANDBY
			    : strcmp(mine, "spare") == 0   ? RAFT_SPARE
							   : -1;
		}
	} else if (m->st_leader) {
		m->st_leader = false; /* a change in flight: ask again */
	}
}

static void join_rejoin_cb(struct baton_kube_request *req, int status)
{
	struct baton_raftglue_member *m = req->data;
	struct baton_raftglue *g = m->g;
	m->rj_pending = false;
	if (g->stopping) {
		return;
	}
	if (status != 0) {
		baton_log(BATON_LOG_INFO, "raft", "asking %s to rejoin us: %s",
			  m->name, req->errmsg);
		return;
	}
	if (json_is_true(json_object_get(req->result, "added"))) {
		g->join_added = true;
	}
}

/* Rules 3 and 4 for an empty data directory, every second until Raft
 * starts. */
static void join_step(struct baton_raftglue *g, uint64_t now)
{
	struct baton_peer_view v[BATON_RAFTGLUE_MEMBERS];
	struct baton_raftglue_member *peer[BATON_RAFTGLUE_MEMBERS];
	char why[512], errmsg[BATON_ERRMSG_SIZE];
	enum baton_join d;
	int n = 0, ask;

	if (now < g->join_next_ms) {
		return;
	}
	g->join_next_ms = now + 1000;
	for (int i = 0; i < g->n_members; i++) {
		struct baton_raftglue_member *m = &g->members[i];
		if (i == g->self) {
			continue;
		}
		memset(&v[n], 0, sizeof v[n]);
		v[n].name = m->name;
		v[n].answered = m->st_ms != 0 && now - m->st_ms < 3000;
		v[n].joining = m->st_joining;
		v[n].leader = m->st_leader;
		v[n].last_index = m->st_last_index;
		v[n].my_role = m->st_my_role;
		peer[n++] = m;
		if (m->client_ready && !m->st_pending) {
			m->st_req.data = m;
			if (baton_kube_request_start(
				&m->client, &m->st_req, "GET", "/v1/status",
				NULL, NULL, 2000, NULL, join_status_cb) == 0) {
				m->st_pending = true;
			}
		}
	}
	d = baton_member_join_decide(v, n, g->join_added, &ask, why,
				     sizeof why);
	if (strcmp(why, g->join_why) != 0 || now - g->join_logged_ms > 15000) {
		baton_log(d == BATON_JOIN_WAIT ? BATON_LOG_WARN
					       : BATON_LOG_INFO,
			  "raft", "%s", why);
		snprintf(g->join_why, sizeof g->join_why, "%s", why);
		g->join_logged_ms = now;
	}
	if (d == BATON_JOIN_ASK && ask >= 0 && !peer[ask]->rj_pending) {
		char body[200];
		struct baton_raftglue_member *m = peer[ask];
		snprintf(body, sizeof body, "{\"region\":\"%s\"}",
			 self_name(g));
		m->rj_req.data = m;
		if (baton_kube_request_start(&m->client, &m->rj_req, "POST",
					     "/v1/membership/rejoin",
					     "application/json", body, 5000,
					     NULL, join_rejoin_cb) == 0) {
			m->rj_pending = true;
		}
	}
	if (d == BATON_JOIN_BOOTSTRAP || d == BATON_JOIN_START) {
		if (raft_go(g, d == BATON_JOIN_BOOTSTRAP, errmsg) != 0) {
			baton_log(BATON_LOG_ERROR, "raft", "%s", errmsg);
			g->rc.fatal(g->rc.data);
		}
	}
}

/* ---- consensus ops
 * ------------------------------------------------------------ */

static const struct baton_db_state *op_db(void *data, const char *db)
{
	struct baton_raftglue *g = data;
	return baton_fsm_db(&g->node.fsm, db);
}

static bool op_quorum(void *data)
{
	struct baton_raftglue *g = data;
	return leader_member(g) != NULL;
}

static bool op_leader(void *data)
{
	return is_leader(data);
}

static int op_propose(void *data, const struct baton_cmd *cmd)
{
	return propose(data, cmd, NULL);
}

static bool op_lease_valid(void *data, const char *db, uint64_t epoch)
{
	return baton_raftglue_lease_valid(data, db, epoch);
}

static bool op_lease_expired(void *data, const char *db)
{
	struct baton_raftglue *g = data;
	const struct baton_db_state *st = g->ops.db(g, db);
	return st != NULL && is_leader(g) &&
	       baton_driver_expired(&g->driver, st, now_ms());
}

static uint64_t op_generation(void *data)
{
	struct baton_raftglue *g = data;
	return g->generation;
}

static uint64_t op_applied(void *data)
{
	struct baton_raftglue *g = data;
	return g->node.fsm.applied;
}

static uint64_t op_need_gen(void *data, const char *db)
{
	struct baton_raftglue *g = data;
	return baton_driver_need_gen(&g->driver, db);
}

static bool op_primary_lost(void *data, const char *db)
{
	struct baton_raftglue *g = data;
	return baton_driver_primary_lost(&g->driver, db);
}

static uint64_t op_agent_grant(void *data, const char *db, uint64_t epoch)
{
	struct baton_raftglue *g = data;
	return baton_driver_grant(&g->driver, db, epoch, now_ms());
}

static void add_metrics(struct baton_raftglue *g)
{
	static const char *const result[] = {"result", NULL};
	static const char *const reason[] = {"reason", NULL};
	/* db_namespace, not namespace: a ServiceMonitor gives every series
	 * the scraped pod's own namespace label and renames ours to
	 * exported_namespace (docs/batond.md, Metrics) */
	static const char *const db[] = {"db_namespace", "name", NULL};
	static const double secs[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				      0.1,   0.25,   0.5,   1,	  2.5};
	struct baton_metrics *m = g->rc.metrics;

	g->m_leader = baton_metrics_add(
	    m, BATON_METRIC_GAUGE, "baton_raft_leader",
	    "1 when this batond leads the Raft group", NULL, NULL, 0);
	g->m_term = baton_metrics_add(m, BATON_METRIC_GAUGE, "baton_raft_term",
				      "Current Raft term", NULL, NULL, 0);
	g->m_applied = baton_metrics_add(
	    m, BATON_METRIC_GAUGE, "baton_raft_applied_commands",
	    "Commands the FSM applied (accepted or refused)", NULL, NULL, 0);
	g->m_commit = baton_metrics_add(
	    m, BATON_METRIC_HISTOGRAM, "baton_raft_commit_seconds",
	    "This batond's proposals: proposed to applied (forwarded ones "
	    "through the leader's peer API)",
	    NULL, secs, sizeof secs / sizeof secs[0]);
	g->m_renewal = baton_metrics_add(
	    m, BATON_METRIC_HISTOGRAM, "baton_lease_renewal_seconds",
	    "Lease renewals: sent to accepted", NULL, secs,
	    sizeof secs / sizeof secs[0]);
	g->m_renewals = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_lease_renewals_total",
	    "Lease renewals by outcome (sent, accepted, refused, unknown: "
	    "no answer within the lease)",
	    result, NULL, 0);
	g->m_lease_left = baton_metrics_add(
	    m, BATON_METRIC_GAUGE, "baton_lease_remaining_seconds",
	    "This region's lease as its renewer sees it (primary databases "
	    "only)",
	    db, NULL, 0);
	g->m_failovers = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_failovers_total",
	    "Promotes applied here, by reason (lease-expired, switchover, "
	    "manual)",
	    reason, NULL, 0);
	g->m_blocked = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_failovers_blocked_total",
	    "Failovers this leader found blocked, by reason "
	    "(WaitingForStandby, NoCandidate)",
	    reason, NULL, 0);
	g->m_level = baton_metrics_add(
	    m, BATON_METRIC_GAUGE, "baton_fleet_command_level",
	    "The commands every region's batond knows, as committed in Raft "
	    "(1: designation; 2: report batches; below batond's own level "
	    "while a region runs an older batond)",
	    NULL, NULL, 0);
	g->m_reports = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_reports_total",
	    "Health and position reports proposed (alone or batched)", NULL,
	    NULL, 0);
	g->m_report_batches = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_report_batches_total",
	    "REPORT_BATCH entries proposed (fleet level 2: the periodic "
	    "reports of one tick together)",
	    NULL, NULL, 0);
	(void)baton_desigmetrics_add(&g->desigm, m, g->rc.cfg->designation);
}

void baton_raftglue_update_metrics(struct baton_raftglue *g)
{
	const struct baton_driver_stats *st;
	uint64_t now = now_ms();

	if (g == NULL || !g->node.started) {
		return;
	}
	st = &g->driver.stats;
	baton_metric_set(g->m_leader, NULL, is_leader(g) ? 1 : 0);
	baton_metric_set(g->m_term, NULL,
			 (double)raft_current_term(&g->node.raft));
	baton_metric_set(g->m_applied, NULL, (double)g->node.fsm.applied);
	baton_metric_set(g->m_level, NULL, (double)g->node.fsm.fleet_level);
	/* the driver counts; the counters catch up */
#define CATCH_UP(metric, labels, field)                                        \
	do {                                                                   \
		baton_metric_inc(metric, labels,                               \
				 (double)(st->field - g->counted.field));      \
		g->counted.field = st->field;                                  \
	} while (0)
#define ONE(label) ((const char *[]){label})
	CATCH_UP(g->m_renewals, ONE("sent"), renewals_sent);
	CATCH_UP(g->m_renewals, ONE("accepted"), renewals_accepted);
	CATCH_UP(g->m_renewals, ONE("refused"), renewals_refused);
	CATCH_UP(g->m_renewals, ONE("unknown"), renewals_unknown);
	CATCH_UP(g->m_blocked, ONE("WaitingForStandby"),
		 blocked[BATON_BLOCKED_WAITING_FINAL]);
	CATCH_UP(g->m_blocked, ONE("NoCandidate"),
		 blocked[BATON_BLOCKED_NO_CANDIDATE]);
	CATCH_UP(g->m_reports, NULL, reports_sent);
	CATCH_UP(g->m_report_batches, NULL, report_batches_sent);
#undef ONE
#undef CATCH_UP
	/* only the databases whose primary is here now: a region that lost
	 * the primary must not keep its last value (an alert on a low lease
	 * would fire forever) */
	baton_metric_clear(g->m_lease_left);
	for (unsigned i = 0; i < baton_fsm_count(&g->node.fsm); i++) {
		const struct baton_db_state *db =
		    baton_fsm_db_at(&g->node.fsm, i);
		struct baton_driver_slot *s;
		char ns[BATON_NAME_SIZE];
		const char *slash = strchr(db->name, '/');
		double left = 0;

		if (db->primary < 0 || slash == NULL ||
		    strcmp(db->regions[db->primary].name, self_name(g)) != 0) {
			continue;
		}
		s = baton_index_get(&g->driver.slots, db->name);
		if (s != NULL && baton_lease_valid(&s->lease, db->epoch, now)) {
			left = (double)(s->lease.valid_until - now) / 1000.0;
		}
		snprintf(ns, sizeof ns, "%.*s", (int)(slash - db->name),
			 db->name);
		baton_metric_set(g->m_lease_left,
				 (const char *[]){ns, slash + 1}, left);
	}
	baton_desigmetrics_update(&g->desigm, &g->node.fsm);
}

bool baton_raftglue_lease_valid(struct baton_raftglue *g, const char *db,
				uint64_t epoch)
{
	return baton_driver_lease_valid(&g->driver, db, epoch, now_ms());
}

/* ---- the observer (batond/consensus.h) -------------------------------- */

/* Nobody acts on the FSM (before the controller started, after it began
 * to stop): the region reports nothing, which is what a controller whose
 * agents never answered reports too. */
static void noop_changed(void *data, const char *db)
{
	(void)data;
	(void)db;
}

static void noop_promoted(void *data, const struct baton_cmd *cmd,
			  const char *from)
{
	(void)data;
	(void)cmd;
	(void)from;
}

static void noop_leader(void *data)
{
	(void)data;
}

static void noop_report(void *data, const char *db,
			struct baton_region_report *out)
{
	(void)data;
	(void)db;
	memset(out, 0, sizeof *out);
}

static bool noop_final(void *data, const char *db, uint64_t epoch,
		       uint64_t round, int ordinal,
		       struct baton_region_report *out)
{
	(void)data;
	(void)db;
	(void)epoch;
	(void)round;
	(void)ordinal;
	(void)out;
	return false;
}

void baton_raftglue_observe(struct baton_raftglue *g,
			    const struct baton_raft_observer *obs)
{
	static const struct baton_raft_observer none = {
	    .fsm_changed = noop_changed,
	    .promoted = noop_promoted,
	    .became_leader = noop_leader,
	    .region_report = noop_report,
	    .final_report = noop_final,
	};
	if (obs == NULL) {
		g->obs = none;
		return;
	}
	/* a half-filled observer is a wiring bug, not a state to tolerate */
	BATON_ASSERT(obs->fsm_changed != NULL && obs->promoted != NULL &&
		     obs->became_leader != NULL && obs->region_report != NULL &&
		     obs->final_report != NULL);
	g->obs = *obs;
}

const struct baton_consensus_ops *baton_raftglue_ops(struct baton_raftglue *g)
{
	return &g->ops;
}

/* ---- start and stop
 * ----------------------------------------------------------- */

static int cmp_members(const void *a, const void *b)
{
	return strcmp(((const struct baton_raftglue_member *)a)->name,
		      ((const struct baton_raftglue_member *)b)->name);
}

static int peer_client(struct baton_raftglue *g,
		       struct baton_raftglue_member *m, char *errmsg)
{
	const struct baton_batond_config *cfg = g->cfg;
	struct baton_kube_config kc;
	char yaml[4096];
	int rv;

	/* The peer API speaks HTTPS with our region's client certificate;
	 * reuse the kube client (a kubeconfig in memory) for its transport. */
	if (cfg->tls_ca != NULL) {
		snprintf(yaml, sizeof yaml,
			 "apiVersion: v1\nkind: Config\ncurrent-context: p\n"
			 "clusters:\n- name: p\n  cluster:\n    server: "
			 "https://%s\n    certificate-authority: %s\n"
			 "users:\n- name: p\n  user:\n    client-certificate: "
			 "%s\n    client-key: %s\ncontexts:\n- name: p\n  "
			 "context: {cluster: p, user: p}\n",
			 m->api_address, cfg->tls_ca, cfg->tls_cert,
			 cfg->tls_key);
	} else {
		snprintf(yaml, sizeof yaml,
			 "apiVersion: v1\nkind: Config\ncurrent-context: p\n"
			 "clusters:\n- name: p\n  cluster:\n    server: "
			 "http://%s\nusers:\n- name: p\n  user: {}\n"
			 "contexts:\n- name: p\n  context: {cluster: p, user: "
			 "p}\n",
			 m->api_address);
	}
	rv = baton_kube_config_load_data(&kc, yaml, strlen(yaml), m->name, NULL,
					 NULL);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "peer %s: %s", m->name, kc.errmsg);
		baton_kube_config_free(&kc);
		return rv;
	}
	rv = baton_kube_client_init(g->loop, &m->client, &kc, NULL);
	baton_kube_config_free(&kc);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "peer %s: %s", m->name,
				    m->client.errmsg);
		return rv;
	}
	m->client_ready = true;
	return 0;
}

/* Starts Raft; BOOTSTRAP (a new fleet, every member a voter) first. Marks
 * the data directory as this region's before anything is written to it. */
static int raft_go(struct baton_raftglue *g, bool bootstrap, char *errmsg)
{
	const struct baton_batond_config *cfg = g->cfg;
	int rv;

	rv = baton_member_mark(cfg->raft_dir, cfg->region,
			       g->members[g->self].id, errmsg);
	if (rv != 0) {
		return rv;
	}
	rv = baton_raft_start(&g->node, bootstrap);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "raft %s on %s (data in %s): %s",
				    bootstrap ? "bootstrap" : "start",
				    g->members[g->self].raft_address,
				    cfg->raft_dir, g->node.errmsg);
		return BATON_EINTERNAL;
	}
	g->joining = false;
	baton_log(BATON_LOG_INFO, "raft", "%s: Raft started",
		  bootstrap	  ? "new fleet bootstrapped"
		  : g->join_added ? "rejoining as a new member"
				  : "data directory found");
	return 0;
}

static void init_failed_cb(struct baton_raftglue *g)
{
	(void)g; /* a failed init unwound (baton_raftglue_init): nobody waits */
}

static void maybe_closed(struct baton_raftglue *g);
static void handle_closed_cb(uv_handle_t *h);
static void api_closed_cb(struct baton_http_server *srv);
static void client_closed_cb(struct baton_kube_client *c);
static void node_closed_cb(struct baton_raft_node *n);

/* Who is who: self + peers, sorted by name; ids are hashes of the names
 * (batond/membership.h rule 1). */
static int members_init(struct baton_raftglue *g, char *errmsg)
{
	const struct baton_batond_config *cfg = g->cfg;

	snprintf(g->members[0].name, sizeof g->members[0].name, "%s",
		 cfg->region);
	snprintf(g->members[0].raft_address, sizeof g->members[0].raft_address,
		 "%s", cfg->raft_bind ? cfg->raft_bind : "127.0.0.1:7100");
	snprintf(g->members[0].api_address, sizeof g->members[0].api_address,
		 "%s", cfg->peer_api_bind ? cfg->peer_api_bind : "");
	g->n_members = 1;
	for (size_t i = 0; i < cfg->n_peers; i++) {
		struct baton_raftglue_member *m = &g->members[g->n_members++];
		snprintf(m->name, sizeof m->name, "%s", cfg->peers[i].name);
		snprintf(m->raft_address, sizeof m->raft_address, "%s",
			 cfg->peers[i].raft_address);
		snprintf(m->api_address, sizeof m->api_address, "%s",
			 cfg->peers[i].api_address);
	}
	qsort(g->members, (size_t)g->n_members, sizeof g->members[0],
	      cmp_members);
	for (int i = 0; i < g->n_members; i++) {
		g->members[i].id = baton_member_id(g->members[i].name);
		g->members[i].g = g;
		if (strcmp(g->members[i].name, cfg->region) == 0) {
			g->self = i;
		}
		for (int j = 0; j < i; j++) {
			if (g->members[j].id == g->members[i].id) {
				baton_errmsg_printf(
				    errmsg,
				    "regions %s and %s have the same Raft id "
				    "(a hash of the name): rename one",
				    g->members[j].name, g->members[i].name);
				return BATON_ECONFIG;
			}
		}
	}
	baton_fleetlevel_init(&g->fleetlevel, g->n_members, g->self);
	return 0;
}

/* The Raft node on raft_uv, behind mutual TLS when tls is configured. On
 * failure the node closed what it opened, the transport included. */
static int node_init(struct baton_raftglue *g, char *errmsg)
{
	const struct baton_batond_config *cfg = g->cfg;
	struct baton_raft_config rc = {
	    .id = g->members[g->self].id,
	    .address = g->members[g->self].raft_address,
	    .dir = cfg->raft_dir,
	    .election_ms = cfg->election_timeout_ms,
	    .heartbeat_ms = cfg->heartbeat_ms,
	    .bind_address = cfg->raft_bind,
	    /* raft_uv tries a failed peer again after 1 s by default; with
	     * BATON_TLS_CONNECT_TIMEOUT_MS bounding each attempt, a healed
	     * peer is reached within ~0.25 s of its next SYN getting
	     * through */
	    .connect_retry_ms = BATON_RAFT_CONNECT_RETRY_MS,
	    /* a transfer to a peer that does not answer never completes: a
	     * few election timeouts, then close */
	    .transfer_timeout_ms = 3 * cfg->election_timeout_ms,
	    /* the data directory may be empty: whether to bootstrap is
	     * decided with the peers (raft_go) */
	    .defer_start = true,
	};
	int rv;

	for (int i = 0; i < g->n_members; i++) {
		struct baton_raft_member *rm = &rc.members[rc.n_members++];
		rm->id = g->members[i].id;
		snprintf(rm->address, sizeof rm->address, "%s",
			 g->members[i].raft_address);
	}
	if (cfg->tls_ca != NULL) {
		/* Mutual TLS: the peer's raft id comes from its verified
		 * certificate (baton://region/<name>), never from its claim. */
		struct baton_tls_config tc = {.cert_file = cfg->tls_cert,
					      .key_file = cfg->tls_key,
					      .ca_file = cfg->tls_ca};
		for (int i = 0; i < g->n_members; i++) {
			struct baton_tls_member *tm =
			    &tc.members[tc.n_members++];
			tm->id = g->members[i].id;
			snprintf(tm->region, sizeof tm->region, "%s",
				 g->members[i].name);
			snprintf(tm->address, sizeof tm->address, "%s",
				 g->members[i].raft_address);
		}
		g->tls_transport.version = 1;
		rv = baton_tls_transport_init(&g->tls_transport, g->loop, &tc);
		if (rv != 0) {
			baton_errmsg_printf(
			    errmsg, "raft transport (mutual TLS): %s",
			    g->tls_transport.errmsg[0] ? g->tls_transport.errmsg
						       : baton_strerror(rv));
			return BATON_ECONFIG;
		}
		rc.transport = &g->tls_transport;
		rc.transport_close = baton_tls_transport_close;
	}
	rv = baton_raft_init(g->loop, &g->node, &rc);
	if (rv != 0) {
		baton_errmsg_printf(errmsg, "%s", g->node.errmsg);
		return rv == BATON_EIO ? BATON_EIO : BATON_ECONFIG;
	}
	g->node.data = g;
	g->node.fsm.observer = observer;
	g->node.fsm.observer_data = g;
	return 0;
}

/* The peer API: routes, then listen. On failure the server is open (the
 * caller closes it). */
static int api_listen(struct baton_raftglue *g, char *errmsg)
{
	const struct baton_batond_config *cfg = g->cfg;
	char host[256];
	int port;
	int rv;

	baton_http_route(&g->api, "POST", "/v1/propose", api_propose, g);
	baton_http_route(&g->api, "GET", "/v1/status", api_status, g);
	baton_http_route(&g->api, "POST", "/v1/membership/rejoin", api_rejoin,
			 g);
	/* GET /v1/peer-token, batond/peertoken.h */
	baton_peertoken_serve(g->rc.peertoken, &g->api);
	rv = baton_failpoint() ? BATON_EINVAL
			       : baton_split_host_port(cfg->peer_api_bind, host,
						       sizeof host, &port);
	if (rv == 0) {
		rv = baton_http_server_listen(&g->api, host, port);
	}
	if (rv != 0) {
		baton_errmsg_printf(
		    errmsg, "peer API on %s: %s", cfg->peer_api_bind,
		    g->api.errmsg[0] ? g->api.errmsg : baton_strerror(rv));
	}
	return rv;
}

/* Close the peers' API clients that are open; each close counts in
 * g->closing (client_closed_cb). */
static void close_clients(struct baton_raftglue *g)
{
	baton_fleetlevel_stop(&g->fleetlevel);
	for (int i = 0; i < g->n_members; i++) {
		if (g->members[i].client_ready) {
			g->closing++;
			g->members[i].client.data = g;
			baton_kube_client_close(&g->members[i].client,
						client_closed_cb);
			g->members[i].client_ready = false;
		}
	}
}

int baton_raftglue_init(uv_loop_t *loop, struct baton_raftglue *g,
			const struct baton_raftglue_config *gc, char *errmsg)
{
	const struct baton_batond_config *cfg = gc->cfg;
	struct baton_http_tls_config tls = {.cert_file = cfg->tls_cert,
					    .key_file = cfg->tls_key,
					    .ca_file = cfg->tls_ca};
	struct baton_http_config hc = {0};
	void *data = g->data;
	int rv;

	/* The happy path opens, in order: the driver, the tick timer, the
	 * Raft node, the peer API, the peers' API clients; then Raft starts
	 * (or the join begins) and the tick. A failure closes what was
	 * opened, newest first (err_after_*); the handles close on the loop
	 * (g->closing counts them, one more held until every close was
	 * asked for), and the driver goes once the last one closed. */
	BATON_ASSERT(gc->fatal != NULL);
	errmsg[0] = '\0';
	memset(g, 0, sizeof *g);
	g->data = data;
	g->loop = loop;
	g->rc = *gc;
	g->cfg = cfg;
	baton_raftglue_observe(g, NULL);
	rv = members_init(g, errmsg);
	if (rv != 0) {
		return rv;
	}
	if (mkdir(cfg->raft_dir, 0700) != 0 && errno != EEXIST) {
		baton_errmsg_printf(errmsg, "raft.dataDir %s: %s",
				    cfg->raft_dir, strerror(errno));
		return BATON_EIO;
	}
	{
		bool has_data = false;
		rv = baton_member_datadir(cfg->raft_dir, cfg->region,
					  g->members[g->self].id, &has_data,
					  errmsg);
		if (rv != 0) {
			return rv;
		}
		g->joining = !has_data;
	}
	if (baton_failpoint()) {
		baton_errmsg_printf(errmsg, "raft driver: out of memory");
		return BATON_ENOMEM;
	}
	{
		struct baton_driver_ops dops = {
		    .data = g,
		    .report = drv_report,
		    .propose = drv_propose,
		    .changed = drv_changed,
		    .log = drv_log,
		    .leader_changed = drv_leader_changed,
		    .final_report = drv_final_report,
		    /* NULL: no DESIGNATE is proposed and no designation
		     * memory kept (driver.h); on only once every region
		     * runs a batond that knows the command */
		    .designate = cfg->designation ? drv_designate : NULL,
		    /* on only once every member's batond knows DESIGNATE
		     * (the fleet's command level, fleetlevel.h) */
		    .fleet_level = drv_fleet_level,
		};
		uint64_t inc = 0;
		/* this process's renewals, told from ones an earlier batond
		 * sent and the log replays (driver.h) */
		if (RAND_bytes((unsigned char *)&inc, sizeof inc) != 1) {
			inc = (uint64_t)now_ms() << 20 ^ (uint64_t)getpid();
		}
		baton_driver_init(&g->driver, cfg->region, &dops, 0, inc);
		if (cfg->designation) {
			baton_log(BATON_LOG_INFO, "raft",
				  "designation asked for (--designation): on "
				  "once every region's batond knows its "
				  "commands (the fleet's command level)");
		}
	}
	add_metrics(g);
	/* from here every stage holds uv handles: they close on the loop */
	g->closing = 1; /* the guard, dropped once every close was asked */
	g->close_cb = init_failed_cb;
	uv_timer_init(loop, &g->tick);
	g->tick.data = g;
	rv = baton_failpoint() ? BATON_ENOMEM : node_init(g, errmsg);
	if (rv != 0) {
		if (errmsg[0] == '\0') {
			baton_errmsg_printf(errmsg, "raft node: %s",
					    baton_strerror(rv));
		}
		goto err_after_tick;
	}
	if (cfg->peer_api_bind != NULL) {
		hc.tls = cfg->tls_ca != NULL ? &tls : NULL;
		rv = baton_failpoint()
			 ? BATON_ENOMEM
			 : baton_http_server_init(loop, &g->api, &hc);
		if (rv != 0) {
			baton_errmsg_printf(errmsg, "peer API: %s",
					    g->api.errmsg[0]
						? g->api.errmsg
						: baton_strerror(rv));
			goto err_after_node;
		}
		rv = api_listen(g, errmsg);
		if (rv != 0) {
			goto err_after_api;
		}
	}
	for (int i = 0; i < g->n_members; i++) {
		if (i != g->self && g->members[i].api_address[0] != '\0') {
			rv = baton_failpoint()
				 ? BATON_ENOMEM
				 : peer_client(g, &g->members[i], errmsg);
			if (rv != 0) {
				if (errmsg[0] == '\0') {
					baton_errmsg_printf(errmsg,
							    "peer %s: %s",
							    g->members[i].name,
							    baton_strerror(rv));
				}
				goto err_after_clients;
			}
		}
	}
	if (!g->joining) {
		rv = baton_failpoint() ? BATON_EINTERNAL
				       : raft_go(g, false, errmsg);
		if (rv != 0) {
			if (errmsg[0] == '\0') {
				baton_errmsg_printf(errmsg, "raft start: %s",
						    baton_strerror(rv));
			}
			goto err_after_clients;
		}
	} else {
		baton_log(BATON_LOG_WARN, "raft",
			  "raft.dataDir %s is empty: asking the peers whether "
			  "this is a new fleet before starting Raft",
			  cfg->raft_dir);
	}
	g->closing = 0;
	g->close_cb = NULL;
	g->ops = (struct baton_consensus_ops){
	    .data = g,
	    .db = op_db,
	    .quorum = op_quorum,
	    .leader = op_leader,
	    .propose = op_propose,
	    .status = raft_status,
	    .lease_valid = op_lease_valid,
	    .agent_grant = op_agent_grant,
	    .lease_expired = op_lease_expired,
	    .primary_lost = op_primary_lost,
	    .generation = op_generation,
	    .applied = op_applied,
	    .kick = op_kick,
	    .need_gen = op_need_gen,
	};
	uv_timer_start(&g->tick, tick_cb, TICK_MS, TICK_MS);
	baton_log(BATON_LOG_INFO, "raft",
		  "node %s (id %llu) started on %s with %d members, data in %s",
		  cfg->region, (unsigned long long)g->members[g->self].id,
		  g->members[g->self].raft_address, g->n_members,
		  cfg->raft_dir);
	return 0;

err_after_clients:
	g->stopping = true;
	close_clients(g);
err_after_api:
	g->stopping = true;
	if (cfg->peer_api_bind != NULL) {
		g->closing++;
		g->api.data = g;
		baton_http_server_close(&g->api, api_closed_cb);
	}
err_after_node:
	g->stopping = true;
	g->closing++;
	baton_raft_close(&g->node, node_closed_cb);
err_after_tick:
	g->stopping = true;
	g->closing++;
	uv_close((uv_handle_t *)&g->tick, handle_closed_cb);
	g->closing--;	 /* the guard */
	maybe_closed(g); /* closes the driver once the last callback ran */
	return rv;
}

/* ---- shutdown
 * ----------------------------------------------------------------- */

static void maybe_closed(struct baton_raftglue *g)
{
	baton_raftglue_close_cb cb = g->close_cb;
	if (g->closing > 0 || g->proposals != NULL || cb == NULL) {
		return;
	}
	g->close_cb = NULL;
	baton_driver_close(&g->driver);
	baton_desigmetrics_close(&g->desigm);
	cb(g); /* G's memory is the caller's from here */
}

static void handle_closed_cb(uv_handle_t *h)
{
	struct baton_raftglue *g = h->data;
	/* one close callback per close asked for */
	BATON_ASSERT(g->closing > 0);
	g->closing--;
	maybe_closed(g);
}

static void api_closed_cb(struct baton_http_server *srv)
{
	struct baton_raftglue *g = srv->data;
	/* one close callback per close asked for */
	BATON_ASSERT(g->closing > 0);
	g->closing--;
	maybe_closed(g);
}

static void client_closed_cb(struct baton_kube_client *c)
{
	struct baton_raftglue *g = c->data;
	/* one close callback per close asked for */
	BATON_ASSERT(g->closing > 0);
	g->closing--;
	maybe_closed(g);
}

static void node_closed_cb(struct baton_raft_node *n)
{
	struct baton_raftglue *g = n->data;
	/* one close callback per close asked for */
	BATON_ASSERT(g->closing > 0);
	g->closing--;
	maybe_closed(g);
}

/* Everything closes at once; the Raft node first hands leadership over
 * when it leads (consensus/node.c: bounded by transfer_timeout_ms), and
 * raft cancels the pending applies (their callbacks run). */
static void close_all(struct baton_raftglue *g)
{
	g->closing = 2; /* tick, node */
	uv_close((uv_handle_t *)&g->tick, handle_closed_cb);
	if (g->cfg->peer_api_bind != NULL) {
		g->closing++;
		g->api.data = g;
		baton_http_server_close(&g->api, api_closed_cb);
	}
	close_clients(g);
	baton_raft_close(&g->node, node_closed_cb);
	maybe_closed(g);
}

void baton_raftglue_close(struct baton_raftglue *g, baton_raftglue_close_cb cb)
{
	BATON_ASSERT(cb != NULL && g->close_cb == NULL);
	g->close_cb = cb;
	/* nothing goes up once the daemon began to stop us */
	baton_raftglue_observe(g, NULL);
	if (is_leader(g) && g->n_members > 1) {
		baton_log(BATON_LOG_INFO, "raft",
			  "shutting down: transferring leadership");
	}
	g->stopping = true;
	uv_timer_stop(&g->tick);
	close_all(g);
}
