/* One Raft voter on raft_uv. See node.h for the lifecycle.
 *
 * Close path: if this node leads, raft_transfer() first so that the fleet
 * does not wait an election timeout for a new leader; whatever the transfer
 * outcome, raft_close() follows, and in its callback the I/O backend and the
 * transport are released (raft's own example/server.c order).
 */
#include "consensus/node.h"

#include <string.h>

#include "common/log.h"

int baton_raft_error(int rv)
{
	switch (rv) {
	case 0:
		return 0;
	case RAFT_NOMEM:
		return BATON_ENOMEM;
	case RAFT_NOTLEADER:
	case RAFT_LEADERSHIPLOST:
		return BATON_ENOTLEADER;
	case RAFT_CANTCHANGE:
	case RAFT_BUSY:
		return BATON_EBUSY;
	case RAFT_SHUTDOWN:
	case RAFT_CANCELED:
		return BATON_ECANCELED;
	case RAFT_NOCONNECTION:
		return BATON_ECONN;
	case RAFT_IOERR:
	case RAFT_NOSPACE:
	case RAFT_CORRUPT:
		return BATON_EIO;
	case RAFT_BADID:
	case RAFT_DUPLICATEID:
	case RAFT_DUPLICATEADDRESS:
	case RAFT_BADROLE:
	case RAFT_INVALID:
		return BATON_EINVAL;
	default:
		return BATON_EINTERNAL;
	}
}

static void close_raft(struct baton_raft_node *n);

/* raft_bootstrap() with the configured members. */
static int bootstrap(struct baton_raft_node *n)
{
	struct raft_configuration conf;
	unsigned i;
	int rv = 0;

	raft_configuration_init(&conf);
	for (i = 0; i < n->n_members && rv == 0; i++) {
		rv = raft_configuration_add(&conf, n->members[i].id,
					    n->members[i].address, RAFT_VOTER);
		if (rv != 0) {
			baton_errmsg_printf(n->errmsg, "member %llu: %s",
					    n->members[i].id,
					    raft_strerror(rv));
		}
	}
	if (rv == 0) {
		rv = raft_bootstrap(&n->raft, &conf);
		if (rv != 0) {
			baton_errmsg_printf(n->errmsg, "raft_bootstrap: %s",
					    raft_errmsg(&n->raft));
		}
	}
	raft_configuration_close(&conf);
	return rv;
}

static int start(struct baton_raft_node *n)
{
	int rv = raft_start(&n->raft);
	if (rv != 0) {
		/* raft says nothing when the I/O backend fails to start (the
		 * transport's listen): its own message and the code then */
		const char *te = n->transport ? n->transport->errmsg : "";
		baton_errmsg_printf(n->errmsg, "raft_start: %s%s%s%s%s (%s)",
				    raft_errmsg(&n->raft),
				    n->io.errmsg[0] ? "; " : "", n->io.errmsg,
				    te[0] ? "; transport: " : "", te,
				    raft_strerror(rv));
		return rv;
	}
	n->started = true;
	return 0;
}

int baton_raft_init(uv_loop_t *loop, struct baton_raft_node *n,
		    const struct baton_raft_config *cfg)
{
	int rv;

	memset(n, 0, sizeof *n);
	n->loop = loop;
	baton_fsm_init(&n->fsm, &n->raft_fsm);
	if (cfg->transport != NULL) {
		/* ours from here on, whatever happens */
		n->transport = cfg->transport;
		n->transport_close = cfg->transport_close;
		if (cfg->n_members > BATON_RAFT_MAX_MEMBERS) {
			rv = RAFT_INVALID;
			goto err_members;
		}
	} else if (cfg->n_members > BATON_RAFT_MAX_MEMBERS) {
		rv = RAFT_INVALID;
		goto err_members;
	} else {
		n->tcp.version = 1; /* raft refuses 0 with RAFT_INVALID */
		rv = raft_uv_tcp_init(&n->tcp, loop);
		if (rv != 0) {
			baton_errmsg_printf(n->errmsg, "raft tcp transport: %s",
					    raft_strerror(rv));
			goto err_after_fsm;
		}
		n->transport = &n->tcp;
		n->transport_close = raft_uv_tcp_close;
		if (cfg->bind_address != NULL) {
			rv = raft_uv_tcp_set_bind_address(&n->tcp,
							  cfg->bind_address);
			if (rv != 0) {
				baton_errmsg_printf(
				    n->errmsg, "raft bind address %s: %s",
				    cfg->bind_address,
				    n->tcp.errmsg[0] ? n->tcp.errmsg
						     : raft_strerror(rv));
				goto err_after_transport;
			}
		}
	}
	n->n_members = cfg->n_members;
	memcpy(n->members, cfg->members,
	       cfg->n_members * sizeof cfg->members[0]);
	rv = raft_uv_init(&n->io, loop, cfg->dir, n->transport);
	if (rv != 0) {
		baton_errmsg_printf(n->errmsg, "raft data directory %s: %s",
				    cfg->dir, n->io.errmsg);
		goto err_after_transport;
	}
	if (cfg->connect_retry_ms > 0) {
		raft_uv_set_connect_retry_delay(&n->io, cfg->connect_retry_ms);
	}
	rv = raft_init(&n->raft, &n->io, &n->raft_fsm, cfg->id, cfg->address);
	if (rv != 0) {
		baton_errmsg_printf(n->errmsg, "raft_init: %s",
				    raft_errmsg(&n->raft));
		goto err_after_io;
	}
	n->raft.data = n;
	raft_set_pre_vote(&n->raft, true);
	raft_set_election_timeout(&n->raft,
				  cfg->election_ms ? cfg->election_ms : 1000);
	raft_set_heartbeat_timeout(&n->raft,
				   cfg->heartbeat_ms ? cfg->heartbeat_ms : 100);
	raft_set_snapshot_threshold(
	    &n->raft, cfg->snapshot_threshold ? cfg->snapshot_threshold : 1024);
	raft_set_snapshot_trailing(
	    &n->raft, cfg->snapshot_trailing ? cfg->snapshot_trailing : 2048);
	/* raft's default pipeline (32 entries in flight to a follower)
	 * commits ~32 entries a round trip: below the renewals of 10,000
	 * primaries and the reports of 1,000 databases taking writes, in
	 * the simulation (docs/consensus.md §7, "Renewals at 10,000
	 * databases"). Flow control only: what commits and when it may
	 * is unchanged. */
	raft_set_max_inflight_entries(&n->raft, cfg->max_inflight
						    ? cfg->max_inflight
						    : BATON_NODE_MAX_INFLIGHT);
	n->transfer_timeout_ms = cfg->transfer_timeout_ms
				     ? cfg->transfer_timeout_ms
				     : n->raft.election_timeout;
	if (cfg->defer_start) {
		return 0;
	}
	if (cfg->n_members > 0) {
		rv = bootstrap(n);
		/* A directory with state keeps it: restart, not bootstrap. */
		if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) {
			goto err_after_raft;
		}
	}
	rv = start(n);
	if (rv != 0) {
		goto err_after_raft;
	}
	return 0;

err_after_raft:
	/* raft_close is asynchronous: the rest is released on the loop. */
	n->closing = true;
	close_raft(n);
	return baton_raft_error(rv) ? baton_raft_error(rv) : BATON_EINTERNAL;
err_after_io:
	raft_uv_close(&n->io);
err_members:
	baton_errmsg_printf(n->errmsg, "%u members (at most %d)",
			    cfg->n_members, BATON_RAFT_MAX_MEMBERS);
err_after_transport:
	if (n->transport_close != NULL) {
		n->transport_close(n->transport);
	}
err_after_fsm:
	baton_fsm_close(&n->raft_fsm);
	return baton_raft_error(rv) ? baton_raft_error(rv) : BATON_EIO;
}

int baton_raft_start(struct baton_raft_node *n, bool boot)
{
	int rv;

	if (n->closing || n->started) {
		baton_errmsg_printf(n->errmsg, "raft node already %s",
				    n->closing ? "closing" : "started");
		return BATON_EINVAL;
	}
	if (boot) {
		rv = bootstrap(n);
		if (rv != 0) {
			return baton_raft_error(rv) ? baton_raft_error(rv)
						    : BATON_EINTERNAL;
		}
	}
	rv = start(n);
	if (rv != 0) {
		return baton_raft_error(rv) ? baton_raft_error(rv)
					    : BATON_EINTERNAL;
	}
	return 0;
}

static void maybe_done(struct baton_raft_node *n)
{
	if (n->raft_closed && !n->timer_open && n->close_cb != NULL) {
		baton_raft_close_cb cb = n->close_cb;
		n->close_cb = NULL;
		cb(n);
	}
}

static void node_close_cb(struct raft *r)
{
	struct baton_raft_node *n = r->data;

	raft_uv_close(&n->io);
	if (n->transport_close != NULL) {
		n->transport_close(n->transport);
	}
	baton_fsm_close(&n->raft_fsm);
	n->raft_closed = true;
	maybe_done(n);
}

static void timer_closed_cb(uv_handle_t *h)
{
	struct baton_raft_node *n = h->data;
	n->timer_open = false;
	maybe_done(n);
}

/* The hand-over finished, failed, or took too long: close raft (once). */
static void close_raft(struct baton_raft_node *n)
{
	if (n->raft_closing) {
		return;
	}
	n->raft_closing = true;
	if (n->timer_open) {
		uv_timer_stop(&n->transfer_timer);
		uv_close((uv_handle_t *)&n->transfer_timer, timer_closed_cb);
	}
	raft_close(&n->raft, node_close_cb);
}

static void transfer_cb(struct raft_transfer *req)
{
	close_raft(req->data);
}

static void transfer_timeout_cb(uv_timer_t *t)
{
	struct baton_raft_node *n = t->data;
	baton_log(BATON_LOG_WARN, "raft",
		  "leadership transfer timed out; closing anyway");
	close_raft(n);
}

void baton_raft_close(struct baton_raft_node *n, baton_raft_close_cb cb)
{
	if (n->closing) {
		return;
	}
	n->closing = true;
	n->close_cb = cb;
	if (n->started && raft_state(&n->raft) == RAFT_LEADER &&
	    uv_timer_init(n->loop, &n->transfer_timer) == 0) {
		n->transfer_timer.data = n;
		n->timer_open = true;
		n->transfer.data = n;
		if (raft_transfer(&n->raft, &n->transfer, 0, transfer_cb) ==
		    0) {
			/* An election timeout is what the fleet would wait
			 * without the hand-over: never wait longer. */
			uv_timer_start(&n->transfer_timer, transfer_timeout_cb,
				       n->transfer_timeout_ms, 0);
			return;
		}
	}
	close_raft(n);
}

static void apply_cb(struct raft_apply *raft_req, int status, void *result)
{
	struct baton_raft_apply *req = raft_req->data;
	req->cb(req, baton_raft_error(status),
		status == 0 ? baton_fsm_result(result) : 0);
}

int baton_raft_apply(struct baton_raft_node *n, struct baton_raft_apply *req,
		     const struct baton_cmd *cmd, baton_raft_apply_cb cb)
{
	struct raft_buffer buf;
	int rv;

	if (n->closing) {
		return BATON_ESHUTDOWN;
	}
	rv = baton_cmd_to_raft(cmd, &buf);
	if (rv != 0) {
		baton_errmsg_printf(n->errmsg, "encoding a command for %s: %s",
				    cmd->db, baton_strerror(rv));
		return rv;
	}
	req->cb = cb;
	req->raft_req.data = req;
	rv = raft_apply(&n->raft, &req->raft_req, &buf, 1, apply_cb);
	if (rv != 0) {
		raft_free(buf.base); /* raft owns it only on success */
		baton_errmsg_printf(n->errmsg, "raft_apply: %s",
				    raft_strerror(rv));
		return baton_raft_error(rv);
	}
	return 0;
}

static void barrier_cb(struct raft_barrier *req, int status)
{
	(void)status; /* lost leadership or closing: nothing to undo */
	free(req);
}

int baton_raft_barrier(struct baton_raft_node *n)
{
	struct raft_barrier *req;
	int rv;

	if (!baton_raft_is_leader(n)) {
		return BATON_ENOTLEADER;
	}
	req = calloc(1, sizeof *req);
	if (req == NULL) {
		return BATON_ENOMEM;
	}
	rv = raft_barrier(&n->raft, req, barrier_cb);
	if (rv != 0) {
		free(req);
		return baton_raft_error(rv);
	}
	return 0;
}

bool baton_raft_is_leader(struct baton_raft_node *n)
{
	return n->started && !n->closing && raft_state(&n->raft) == RAFT_LEADER;
}

raft_id baton_raft_leader(struct baton_raft_node *n)
{
	raft_id id = 0;
	const char *address = NULL;
	raft_leader(&n->raft, &id, &address);
	return id;
}

static void change_cb(struct raft_change *raft_req, int status)
{
	struct baton_raft_change *req = raft_req->data;
	req->cb(req, baton_raft_error(status));
}

int baton_raft_add(struct baton_raft_node *n, struct baton_raft_change *req,
		   raft_id id, const char *address, baton_raft_change_cb cb)
{
	req->cb = cb;
	req->raft_req.data = req;
	return baton_raft_error(
	    raft_add(&n->raft, &req->raft_req, id, address, change_cb));
}

int baton_raft_assign(struct baton_raft_node *n, struct baton_raft_change *req,
		      raft_id id, int role, baton_raft_change_cb cb)
{
	req->cb = cb;
	req->raft_req.data = req;
	return baton_raft_error(
	    raft_assign(&n->raft, &req->raft_req, id, role, change_cb));
}

int baton_raft_remove(struct baton_raft_node *n, struct baton_raft_change *req,
		      raft_id id, baton_raft_change_cb cb)
{
	req->cb = cb;
	req->raft_req.data = req;
	return baton_raft_error(
	    raft_remove(&n->raft, &req->raft_req, id, change_cb));
}
