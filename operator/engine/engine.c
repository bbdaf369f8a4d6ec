/* Engine-independent parts: the planned switchover and running operations
 * on libuv's threadpool.
 *
 * Switchover (cf. CloudNativePG's demotion token):
 *   1. demote OLD: fence (read-only, sessions cut) and stop it cleanly; a
 *      fast shutdown makes the walsenders ship everything up to the
 *      shutdown checkpoint, whose position is the final LSN;
 *   2. wait until TARGET replayed past the final LSN;
 *   3. promote TARGET and unfence it.
 * Writes are refused from step 1 on, and the target serves only once it
 * holds everything OLD ever acknowledged: RPO 0 by construction. If step 2
 * times out, OLD stays down and TARGET stays a replica: availability is
 * lost, never safety; the caller decides (restart OLD, or fail over).
 */
#include "engine/engine.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"

const char *baton_engine_role_name(enum baton_engine_role role)
{
	switch (role) {
	case BATON_ROLE_PRIMARY:
		return "primary";
	case BATON_ROLE_REPLICA:
		return "replica";
	case BATON_ROLE_STOPPED:
		return "stopped";
	default:
		return "unknown";
	}
}

int baton_engine_switchover(struct baton_engine *old,
			    struct baton_engine *target, unsigned timeout_ms,
			    struct baton_switchover_result *res)
{
	struct baton_engine_status st;
	double t0, t1, t2, deadline;
	int rv;

	memset(res, 0, sizeof *res);
	rv = target->ops->status(target, &st);
	if (rv != 0) {
		return rv;
	}
	if (st.role != BATON_ROLE_REPLICA) {
		baton_errmsg_printf(target->errmsg,
				    "switchover target is %s, not a replica",
				    baton_engine_role_name(st.role));
		return BATON_EINVAL;
	}
	t0 = baton_mono_ms_double();
	rv = old->ops->demote(old, &res->final_lsn);
	if (rv != 0) {
		return rv;
	}
	t1 = baton_mono_ms_double();
	res->fence_ms = t1 - t0;
	deadline = t1 + timeout_ms;
	for (;;) {
		rv = target->ops->status(target, &st);
		/* replay_lsn is the end of the last record replayed, so the
		 * shutdown checkpoint record at final_lsn is in once replay
		 * is past it */
		if (rv == 0 && st.replay_lsn > res->final_lsn) {
			break;
		}
		if (baton_mono_ms_double() > deadline) {
			baton_errmsg_printf(
			    target->errmsg,
			    "switchover: target replayed %llX, needs past "
			    "%llX after %u ms; old primary stays fenced",
			    (unsigned long long)st.replay_lsn,
			    (unsigned long long)res->final_lsn, timeout_ms);
			return BATON_ETIMEDOUT;
		}
		struct timespec ts = {0, 5 * 1000000L};
		nanosleep(&ts, NULL);
	}
	t2 = baton_mono_ms_double();
	res->catchup_ms = t2 - t1;
	/* the target holds everything: no lag limit applies here */
	int64_t saved = target->max_lag_bytes;
	target->max_lag_bytes = -1;
	rv = target->ops->promote(target, res->final_lsn);
	target->max_lag_bytes = saved;
	if (rv == 0) {
		rv = target->ops->unfence(target);
	}
	if (rv != 0) {
		return rv;
	}
	res->promote_ms = baton_mono_ms_double() - t2;
	res->unavailable_ms = baton_mono_ms_double() - t0;
	baton_log_kv(BATON_LOG_INFO, "engine",
		     json_pack("{s:f,s:f,s:f,s:f}", "fenceMs", res->fence_ms,
			       "catchupMs", res->catchup_ms, "promoteMs",
			       res->promote_ms, "unavailableMs",
			       res->unavailable_ms),
		     "switchover done");
	return 0;
}

/* ---- threadpool -----------------------------------------------------------
 */

bool baton_engine_standby_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= BATON_ENGINE_NAME_SIZE) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (!isalnum(ch) && ch != '.' && ch != '_' && ch != '-') {
			return false;
		}
	}
	return true;
}

static int set_sync_names(struct baton_engine *e, struct baton_engine_req *req)
{
	const char *names[BATON_ENGINE_MAX_STANDBYS];

	if (e->ops->set_sync_names == NULL) {
		baton_errmsg_printf(e->errmsg,
				    "the %s engine cannot change its "
				    "synchronous standbys",
				    e->ops->name);
		return BATON_EINVAL;
	}
	if (req->n_sync_names > BATON_ENGINE_MAX_STANDBYS) {
		baton_errmsg_printf(e->errmsg, "too many standby names");
		return BATON_EINVAL;
	}
	for (unsigned i = 0; i < req->n_sync_names; i++) {
		names[i] = req->sync_names[i];
	}
	return e->ops->set_sync_names(e, names, req->n_sync_names,
				      &req->final_lsn);
}

static void work_cb(uv_work_t *w)
{
	struct baton_engine_req *req = w->data;
	struct baton_engine *e = req->engine;
	struct baton_engine_peer peer = {req->peer_host, req->peer_port};
	int rv = 0;

	e->errmsg[0] = '\0';
	switch (req->op) {
	case BATON_ENGINE_STATUS:
		break;
	case BATON_ENGINE_START:
		/* the agent's persisted list over the boot default; the
		 * start fails (and boot tries again) when it cannot be set,
		 * so the list the agent reports is the one in force */
		if (req->with_sync_names) {
			rv = set_sync_names(e, req);
		}
		if (rv == 0) {
			rv = e->ops->start(e);
		}
		break;
	case BATON_ENGINE_STOP:
		rv = e->ops->stop(e, false);
		break;
	case BATON_ENGINE_PROMOTE:
		if (req->with_sync_names) {
			rv = set_sync_names(e, req);
		}
		if (rv == 0) {
			rv = e->ops->promote(e, req->ref_lsn);
		}
		break;
	case BATON_ENGINE_SET_SYNC_NAMES:
		rv = set_sync_names(e, req);
		break;
	case BATON_ENGINE_FENCE:
		rv = e->ops->fence(e);
		break;
	case BATON_ENGINE_UNFENCE:
		rv = e->ops->unfence(e);
		break;
	case BATON_ENGINE_DEMOTE:
		rv = e->ops->demote(e, &req->final_lsn);
		break;
	case BATON_ENGINE_REJOIN:
		rv = e->ops->rejoin(e, &peer);
		break;
	case BATON_ENGINE_INIT_PRIMARY:
		rv = e->ops->init_primary(e);
		break;
	case BATON_ENGINE_INIT_REPLICA:
		rv = e->ops->init_replica(e, &peer);
		break;
	case BATON_ENGINE_DETACH:
		if (e->ops->detach == NULL) {
			baton_errmsg_printf(e->errmsg,
					    "the %s engine cannot detach a "
					    "replica",
					    e->ops->name);
			rv = BATON_EINVAL;
		} else {
			rv = e->ops->detach(e, &req->final_lsn);
		}
		break;
	case BATON_ENGINE_CASCADE:
		if (e->ops->cascade == NULL) {
			baton_errmsg_printf(e->errmsg,
					    "the %s engine cannot cascade a "
					    "replica",
					    e->ops->name);
			rv = BATON_EINVAL;
		} else {
			rv = e->ops->cascade(e, &peer);
		}
		break;
	}
	if (rv != 0) {
		memcpy(req->errmsg, e->errmsg, sizeof req->errmsg);
	}
	/* every answer carries a fresh status */
	if (e->ops->status(e, &req->st) != 0 && rv == 0 &&
	    req->op == BATON_ENGINE_STATUS) {
		rv = BATON_ECONN;
		memcpy(req->errmsg, e->errmsg, sizeof req->errmsg);
	}
	req->status = rv;
}

static void after_work_cb(uv_work_t *w, int status)
{
	struct baton_engine_req *req = w->data;
	if (status == UV_ECANCELED) {
		req->status = BATON_ECANCELED;
	}
	req->cb(req, req->status);
}

int baton_engine_submit(uv_loop_t *loop, struct baton_engine_req *req,
			struct baton_engine *e, enum baton_engine_op op,
			baton_engine_cb cb)
{
	req->engine = e;
	req->op = op;
	req->cb = cb;
	req->status = 0;
	req->errmsg[0] = '\0';
	req->work.data = req;
	if (uv_queue_work(loop, &req->work, work_cb, after_work_cb) != 0) {
		return BATON_EINTERNAL;
	}
	return 0;
}
