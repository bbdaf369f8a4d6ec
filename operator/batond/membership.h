/* Raft membership that cannot forget (issue 15 #3).
 *
 * The hazard. A Raft voter promises never to forget what it acknowledged: a
 * commit counts its ack. A batond whose data directory is lost (a PVC
 * deleted, a node replaced) used to run raft_bootstrap again and come back
 * as a voter with an empty log. Its vote then counts in elections, and it
 * grants it to any candidate, even one that lacks entries this node had
 * acknowledged before: with 3 regions, A and C commit e, C loses its disk,
 * A dies, B (without e) wins with C's vote, e is gone. Raft ids were also
 * positions in the sorted member list, so a region whose name sorts first
 * renumbered every node.
 *
 * The rules:
 *  1. Stable ids. A member's Raft id is a hash of its region name (FNV-1a,
 *     62 bits, never 0); two names that collide are a configuration error.
 *  2. A data directory is marked (baton-member.json: region, id) and a
 *     directory marked for another region, or holding Raft data with no
 *     mark (written by a version with positional ids), is refused.
 *  3. Bootstrap only a new fleet: with an empty data directory, batond
 *     starts Raft only after asking every peer (peer API, mutual TLS). If
 *     every peer answers and none holds more than the bootstrap entry, the
 *     fleet is new and every member bootstraps the same configuration.
 *     Otherwise it waits.
 *  4. An empty member of a fleet with data rejoins as a new member, never
 *     as the voter it was. It asks the leader (POST /v1/membership/rejoin,
 *     authenticated as itself by its certificate) to remove it, then asks
 *     again to be added back (as a spare), and starts Raft only once the
 *     leader's *committed* configuration has it as a non-voter. Removal
 *     first, not a demotion: the leader's progress record of a member (its
 *     match index) survives a role change and describes the log that was
 *     lost, so the leader would never resend it (seen on the lab: a
 *     demoted standby stayed empty). A spare or standby's vote is refused
 *     by raft itself (electionVote: "local server is not voting"), and it
 *     holds no old promises. The leader makes a spare a standby (it
 *     replicates) and a standby a voter once its log matches the leader's
 *     last index (raft_match_index), one configuration change at a time.
 * A region can only ask to be demoted itself, and demotion only removes a
 * vote: the worst a forged request with a stolen certificate does is cost
 * availability, never a committed entry.
 *
 * The decision is a pure function (baton_member_join_decide) over what the
 * peers said, tested on its own; raftglue.c wires it to the peer API.
 */
#ifndef BATON_BATOND_MEMBERSHIP_H
#define BATON_BATOND_MEMBERSHIP_H

#include <raft.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BATON_MEMBER_MARK "baton-member.json"

/* Rule 1. */
raft_id baton_member_id(const char *region);

/* Rule 2: whether DIR holds Raft data of REGION (ID) (*HAS_DATA true),
 * none (false), or something to refuse (BATON_ECONFIG, ERRMSG says what to
 * do). */
int baton_member_datadir(const char *dir, const char *region, raft_id id,
			 bool *has_data, char *errmsg);
/* Writes the mark (atomically). */
int baton_member_mark(const char *dir, const char *region, raft_id id,
		      char *errmsg);

/* What one peer's GET /v1/status said about the fleet and about us. */
struct baton_peer_view {
	const char *name;
	bool answered;
	bool joining;	     /* its own data directory was empty: not started */
	bool leader;	     /* it is the Raft leader */
	uint64_t last_index; /* its log's last index */
	/* our role in its committed configuration (leader only): RAFT_VOTER,
	 * RAFT_STANDBY, RAFT_SPARE, or -1 when we are not in it or when a
	 * configuration change is still uncommitted */
	int my_role;
};

enum baton_join {
	BATON_JOIN_WAIT = 0,  /* ask again later */
	BATON_JOIN_BOOTSTRAP, /* a new fleet: bootstrap the full configuration
			       */
	BATON_JOIN_ASK,	      /* ask the leader (ASK_PEER) to rejoin us */
	BATON_JOIN_START,     /* start Raft empty: we are a new non-voter */
};

/* Rules 3 and 4 for a member with an empty data directory. ADDED: the
 * leader answered our rejoin with "added" in this process. *ASK_PEER is
 * the index of the leader when the answer is ASK. WHY says why (logs). */
enum baton_join baton_member_join_decide(const struct baton_peer_view *v, int n,
					 bool added, int *ask_peer, char *why,
					 size_t why_size);

/* The member's role in CONF, or -1 if absent. */
int baton_member_role(const struct raft_configuration *conf, raft_id id);
const char *baton_member_role_name(int role);

/* Leader side of rule 4, for member ID (ADDRESS) that asked to rejoin: a
 * member is removed, a stranger added as a spare (*ADDED; the step below
 * makes it a standby, then a voter). Returns 0 when a change started (CB
 * runs when it is done), BATON_EBUSY when a configuration change is in
 * flight, or another error, with MSG. */
int baton_member_rejoin(struct raft *r, struct raft_change *chg, raft_id id,
			const char *address, raft_change_cb cb, bool *added,
			char *msg, size_t size);

/* One step of the leader's promotions, over the configured members
 * (IDS/ADDRS, N): a spare becomes a standby; a standby whose log matches
 * ours becomes a voter (absent members are added only when they ask). At most
 * one change; returns 0 when one started (MSG says which), BATON_ENOTFOUND when
 * there is nothing to do, another error otherwise. */
int baton_member_leader_step(struct raft *r, struct raft_change *chg,
			     const raft_id *ids, const char *const *addrs,
			     int n, raft_change_cb cb, char *msg, size_t size);

#endif /* BATON_BATOND_MEMBERSHIP_H */
