/* Who may forward which command to the Raft leader (POST /v1/propose).
 *
 * A non-leader batond forwards its proposals to the leader over the peer
 * API (mutual TLS); the leader decides here, before proposing, whether the
 * peer whose verified certificate names region P may propose the command.
 * Pure: the command, the certificate's identity and the leader's applied
 * FSM in, a verdict out. raftglue.c maps the verdict to an HTTP status.
 *
 * The rules (docs/consensus.md, "The peer API"; design-per-instance.md §3.2
 * and §9 note 9b):
 *
 *   RENEW, RENEW_BATCH, REPORT,         from the region the command names
 *   REPORT_BATCH, FENCE
 *   DESIGNATE JOIN                      from the region it names (R)
 *   DESIGNATE RELEASE, asynchronous     from R, and without evidence
 *   DESIGNATE LEAVE, RELEASE (sync)     from the database's primary region
 *                                       at the command's epoch, which must
 *                                       be the leader's current one
 *   anything else                       never (the leader decides those)
 *
 * and, on the leader, only a command the fleet's level allows
 * (baton_cmd_level() <= the applied FSM's fleet_level): an entry one
 * member's older batond would refuse never reaches the log from a peer.
 *
 * "Asynchronous" is the FSM's own test (baton_fsm_release_async()). The
 * primary is read from the leader's applied state at the moment of the
 * check; the command's epoch closes the race with a promote that applies
 * before the command does: a promote always raises the epoch, and the FSM
 * refuses a DESIGNATE of another epoch, so a command checked against
 * primary P at epoch E applies only while P is still the primary.
 * The asynchronous RELEASE's race with a CONFIG to synchronous is closed
 * by its missing evidence: applied as the synchronous form it is refused
 * (X = 0 is no evidence, `not-flushed`).
 *
 * Without TLS there is no identity (PEER NULL or ""): only the type rule
 * applies, as for renewals before (a fleet without TLS trusts its network).
 */
#ifndef BATON_BATOND_PEERPROPOSE_H
#define BATON_BATOND_PEERPROPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include "consensus/fsm.h"

enum baton_peerpropose_verdict {
	BATON_PEERPROPOSE_OK = 0,
	/* the type is never forwarded (403) */
	BATON_PEERPROPOSE_TYPE,
	/* the certificate names another region than the one that proposes
	 * this command or step (403) */
	BATON_PEERPROPOSE_REGION,
	/* an asynchronous RELEASE that carries evidence (X or the holder's
	 * flush): only the primary's synchronous form has any (403) */
	BATON_PEERPROPOSE_EVIDENCE,
	/* LEAVE or a synchronous RELEASE from a region that is not the
	 * primary in the leader's applied state: a stale primary, or a
	 * forgery (409: the peer may retry once it has caught up) */
	BATON_PEERPROPOSE_NOT_PRIMARY,
	/* the command's epoch is not the leader's current one: older (the
	 * FSM would refuse it) or newer (the leader has not applied that far;
	 * the primary it names is unknown here) (409) */
	BATON_PEERPROPOSE_EPOCH,
	/* the database, or the region in it, is unknown to the leader's
	 * FSM (409) */
	BATON_PEERPROPOSE_NO_DB,
	/* DESIGNATE needs the leader's state, and FSM was NULL: this node is
	 * not the leader (421) */
	BATON_PEERPROPOSE_NOT_LEADER,
	/* the command needs a higher command level than the fleet's in the
	 * leader's applied state (baton_cmd_level()): a member's batond
	 * would refuse the entry while the others apply it (409: the level
	 * only rises) */
	BATON_PEERPROPOSE_LEVEL,
	BATON_PEERPROPOSE__COUNT
};

/* Whether the peer PEER (the verified certificate identity: a region name
 * or "baton://region/<name>"; NULL or "" without TLS) may forward CMD.
 * FSM: the leader's applied state, or NULL on a node that is not the
 * leader (then only the rules that need no state are judged, and a
 * DESIGNATE gets NOT_LEADER). WHY (WHY_SIZE bytes, may be NULL) gets a
 * sentence for the answer and the log on a refusal. */
int baton_peerpropose_check(const char *peer, const struct baton_cmd *cmd,
			    struct baton_fsm *fsm, char *why, size_t why_size);

/* Whether the verified certificate identity PEER names REGION (false
 * for NULL or ""); the membership API asks it too. */
bool baton_peerpropose_peer_is(const char *peer, const char *region);

/* The HTTP status for VERDICT (200 for OK). */
int baton_peerpropose_http_status(int verdict);
/* A short name for logs and metrics ("region", "not-primary", ...). */
const char *baton_peerpropose_verdict_name(int verdict);

#endif /* BATON_BATOND_PEERPROPOSE_H */
