/* Who may forward which command to the leader: peerpropose.h has the rules
 * and why the epoch makes a check against the leader's applied state safe
 * although the state may change before the command applies. */
#include "batond/peerpropose.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/assert.h"

static int refuse(int verdict, char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(int verdict, char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && why_size > 0) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return verdict;
}

/* The region a certificate identity names: SAN URI baton://region/<name>,
 * else the CN (the TLS layer hands either). */
static const char *identity_region(const char *peer)
{
	static const char prefix[] = "baton://region/";

	if (strncmp(peer, prefix, sizeof prefix - 1) == 0) {
		return peer + sizeof prefix - 1;
	}
	return peer;
}

bool baton_peerpropose_peer_is(const char *peer, const char *region)
{
	if (peer == NULL || peer[0] == '\0') {
		return false;
	}
	return strcmp(identity_region(peer), region) == 0;
}

/* DESIGNATE: JOIN and the asynchronous RELEASE are the standby region's
 * own steps; LEAVE and the synchronous RELEASE the primary region's
 * (design-per-instance.md §3.2, §3.6). */
static int check_designate(const char *region, const struct baton_cmd *c,
			   struct baton_fsm *fsm, char *why, size_t why_size)
{
	struct baton_db_state *db;
	const char *primary;
	bool own;
	int r;

	if (fsm == NULL) {
		return refuse(BATON_PEERPROPOSE_NOT_LEADER, why, why_size,
			      "not the leader: a designate is judged on the "
			      "leader's state");
	}
	db = baton_fsm_db(fsm, c->db);
	if (db == NULL) {
		return refuse(BATON_PEERPROPOSE_NO_DB, why, why_size,
			      "database %s is unknown to the leader", c->db);
	}
	r = baton_fsm_region_index(db, c->region);
	if (r < 0) {
		return refuse(BATON_PEERPROPOSE_NO_DB, why, why_size,
			      "%s has no region %s", c->db, c->region);
	}
	switch (c->step) {
	case BATON_DESIGNATE_JOIN:
		own = true;
		break;
	case BATON_DESIGNATE_LEAVE:
		own = false;
		break;
	case BATON_DESIGNATE_RELEASE:
		own = baton_fsm_release_async(db, r);
		break;
	default:
		/* the decoder knows no other step */
		return refuse(BATON_PEERPROPOSE_TYPE, why, why_size,
			      "unknown designate step %d", c->step);
	}
	if (own) {
		if (strcmp(region, c->region) != 0) {
			return refuse(BATON_PEERPROPOSE_REGION, why, why_size,
				      "%s: only region %s may propose %s for "
				      "itself, not %s",
				      c->db, c->region,
				      baton_designate_step_name(c->step),
				      region);
		}
		/* a forged X or flush from R, applied as the synchronous
		 * form after a CONFIG to synchronous, would release a
		 * member on R's word */
		if (c->drop_position != 0 || c->holder_flush != 0) {
			return refuse(BATON_PEERPROPOSE_EVIDENCE, why, why_size,
				      "%s: an asynchronous release of region "
				      "%s carries no evidence",
				      c->db, c->region);
		}
		return BATON_PEERPROPOSE_OK;
	}
	/* LEAVE, synchronous RELEASE: the primary region's */
	primary = db->regions[db->primary].name;
	/* newer: the leader has not applied that promote yet and cannot
	 * tell who the primary is at that epoch */
	if (c->epoch > db->epoch) {
		return refuse(BATON_PEERPROPOSE_EPOCH, why, why_size,
			      "%s: %s at epoch %llu, but the leader has "
			      "applied epoch %llu only",
			      c->db, baton_designate_step_name(c->step),
			      (unsigned long long)c->epoch,
			      (unsigned long long)db->epoch);
	}
	if (strcmp(region, primary) != 0) {
		return refuse(BATON_PEERPROPOSE_NOT_PRIMARY, why, why_size,
			      "%s: only the primary region %s (epoch %llu) "
			      "may propose %s for region %s, not %s",
			      c->db, primary, (unsigned long long)db->epoch,
			      baton_designate_step_name(c->step), c->region,
			      region);
	}
	if (c->epoch != db->epoch) {
		return refuse(BATON_PEERPROPOSE_EPOCH, why, why_size,
			      "%s: %s at epoch %llu, but the current epoch "
			      "is %llu",
			      c->db, baton_designate_step_name(c->step),
			      (unsigned long long)c->epoch,
			      (unsigned long long)db->epoch);
	}
	return BATON_PEERPROPOSE_OK;
}

int baton_peerpropose_check(const char *peer, const struct baton_cmd *cmd,
			    struct baton_fsm *fsm, char *why, size_t why_size)
{
	const char *region;

	BATON_ASSERT(cmd != NULL);
	if (why != NULL && why_size > 0) {
		why[0] = '\0';
	}
	switch (cmd->type) {
	case BATON_CMD_RENEW:
	case BATON_CMD_RENEW_BATCH:
	case BATON_CMD_REPORT:
	case BATON_CMD_REPORT_BATCH:
	case BATON_CMD_FENCE:
	case BATON_CMD_DESIGNATE:
		break;
	default:
		/* a peer never decides: promotes, switchovers, registrations
		 * are the leader's own */
		return refuse(BATON_PEERPROPOSE_TYPE, why, why_size,
			      "only renew, report, fence and designate may "
			      "be forwarded");
	}
	if (fsm != NULL && baton_cmd_level(cmd) > fsm->fleet_level) {
		return refuse(BATON_PEERPROPOSE_LEVEL, why, why_size,
			      "%s needs the fleet's command level %u, and it "
			      "is %u: a region's batond does not know it yet",
			      cmd->db, baton_cmd_level(cmd), fsm->fleet_level);
	}
	if (peer == NULL || peer[0] == '\0') {
		return BATON_PEERPROPOSE_OK; /* no TLS: no identity */
	}
	region = identity_region(peer);
	if (cmd->type == BATON_CMD_DESIGNATE) {
		return check_designate(region, cmd, fsm, why, why_size);
	}
	/* a peer speaks for its own region only (a batch's items are all
	 * of the region the batch names: it has no other) */
	if (strcmp(region, cmd->region) != 0) {
		return refuse(BATON_PEERPROPOSE_REGION, why, why_size,
			      "certificate identity '%s' may not speak for "
			      "region %s",
			      peer, cmd->region);
	}
	return BATON_PEERPROPOSE_OK;
}

int baton_peerpropose_http_status(int verdict)
{
	switch (verdict) {
	case BATON_PEERPROPOSE_OK:
		return 200;
	case BATON_PEERPROPOSE_NOT_PRIMARY:
	case BATON_PEERPROPOSE_EPOCH:
	case BATON_PEERPROPOSE_NO_DB:
	case BATON_PEERPROPOSE_LEVEL:
		return 409;
	case BATON_PEERPROPOSE_NOT_LEADER:
		return 421;
	default:
		return 403;
	}
}

const char *baton_peerpropose_verdict_name(int verdict)
{
	static const char *const names[BATON_PEERPROPOSE__COUNT] = {
	    [BATON_PEERPROPOSE_OK] = "ok",
	    [BATON_PEERPROPOSE_TYPE] = "type",
	    [BATON_PEERPROPOSE_REGION] = "region",
	    [BATON_PEERPROPOSE_EVIDENCE] = "evidence",
	    [BATON_PEERPROPOSE_NOT_PRIMARY] = "not-primary",
	    [BATON_PEERPROPOSE_EPOCH] = "epoch",
	    [BATON_PEERPROPOSE_NO_DB] = "no-db",
	    [BATON_PEERPROPOSE_NOT_LEADER] = "not-leader",
	    [BATON_PEERPROPOSE_LEVEL] = "level",
	};

	if (verdict < 0 || verdict >= BATON_PEERPROPOSE__COUNT) {
		return "?";
	}
	return names[verdict];
}
