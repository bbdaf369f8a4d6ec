/* Unit tests for operator/batond/membership: stable Raft ids, the data
 * directory's mark, and the decision a member with an empty data directory
 * takes from what its peers say (bootstrap a new fleet, wait, ask to be a
 * standby, start as one). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond/membership.h"
#include "common/error.h"
#include "harness.h"

START_TEST(ids_are_stable_and_independent_of_the_other_names)
{
	raft_id eu = baton_member_id("eu-west");
	ck_assert_uint_ne(eu, 0);
	ck_assert_uint_eq(eu, baton_member_id("eu-west"));
	ck_assert_uint_ne(eu, baton_member_id("us-east"));
	ck_assert_uint_ne(eu, baton_member_id("eu-west2"));
	ck_assert_uint_le(eu, 0x3fffffffffffffffull);
	/* FNV-1a of "a" (0xaf63dc4c8601ec8c) without its two top bits */
	ck_assert_uint_eq(baton_member_id("a"), 0x2f63dc4c8601ec8cull);
}
END_TEST

static void touch(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(data_directory_mark)
{
	char dir[] = "/tmp/baton-member-XXXXXX";
	char err[BATON_ERRMSG_SIZE], cmd[128];
	raft_id id = baton_member_id("eu-west");
	bool data = true;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	/* empty: no data, nothing to refuse */
	ck_assert_int_eq(baton_member_datadir(dir, "eu-west", id, &data, err),
			 0);
	ck_assert(!data);
	/* Raft data without a mark: written with positional ids */
	touch(dir, "metadata1", "x");
	ck_assert_int_eq(baton_member_datadir(dir, "eu-west", id, &data, err),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "by position"));
	/* marked: ours */
	ck_assert_int_eq(baton_member_mark(dir, "eu-west", id, err), 0);
	ck_assert_int_eq(baton_member_datadir(dir, "eu-west", id, &data, err),
			 0);
	ck_assert(data);
	/* another region's directory */
	ck_assert_int_eq(baton_member_datadir(dir, "us-east",
					      baton_member_id("us-east"), &data,
					      err),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "belongs to region eu-west"));
	/* a mark with no Raft data: the start did not get far, decide
	 * again */
	snprintf(cmd, sizeof cmd, "rm -f %s/metadata1", dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(baton_member_datadir(dir, "eu-west", id, &data, err),
			 0);
	ck_assert(!data);
	/* a broken mark is refused, not overwritten */
	touch(dir, BATON_MEMBER_MARK, "{not json");
	ck_assert_int_eq(baton_member_datadir(dir, "eu-west", id, &data, err),
			 BATON_ECONFIG);
	ck_assert_ptr_nonnull(strstr(err, "not a member mark"));
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static struct baton_peer_view peer(const char *name, bool answered,
				   bool joining, bool leader,
				   uint64_t last_index, int my_role)
{
	return (struct baton_peer_view){.name = name,
					.answered = answered,
					.joining = joining,
					.leader = leader,
					.last_index = last_index,
					.my_role = my_role};
}

START_TEST(join_decisions)
{
	struct baton_peer_view v[2];
	char why[512];
	int ask;

	/* everyone new: a new fleet */
	v[0] = peer("us-east", true, true, false, 0, -1);
	v[1] = peer("ap-south", true, true, false, 0, -1);
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, false, &ask, why, sizeof why),
	    BATON_JOIN_BOOTSTRAP);
	/* a peer that bootstrapped already (its index 1 only): still new */
	v[0] = peer("us-east", true, false, false, 1, -1);
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, false, &ask, why, sizeof why),
	    BATON_JOIN_BOOTSTRAP);
	/* one peer silent: it may hold the fleet's data, wait */
	v[1] = peer("ap-south", false, false, false, 0, -1);
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, false, &ask, why, sizeof why),
	    BATON_JOIN_WAIT);
	ck_assert_ptr_nonnull(strstr(why, "ap-south"));
	/* the fleet has data, we are a voter in the leader's configuration:
	 * ask the leader, never bootstrap, never start as that voter */
	v[0] = peer("us-east", true, false, true, 120, RAFT_VOTER);
	v[1] = peer("ap-south", false, false, false, 0, -1);
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, false, &ask, why, sizeof why),
	    BATON_JOIN_ASK);
	ck_assert_int_eq(ask, 0);
	/* not a member at all (a region added to the fleet): ask too */
	v[0].my_role = -1;
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, false, &ask, why, sizeof why),
	    BATON_JOIN_ASK);
	/* data, but the answer is a follower's: wait for the leader */
	v[0] = peer("us-east", true, false, false, 120, -1);
	v[1] = peer("ap-south", true, false, false, 118, -1);
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, false, &ask, why, sizeof why),
	    BATON_JOIN_WAIT);
	/* a standby in the leader's configuration, but not added back by
	 * this process: a leftover of an earlier attempt whose progress
	 * record may describe a lost log; ask again (removed, then added) */
	v[1] = peer("ap-south", true, false, true, 121, RAFT_STANDBY);
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, false, &ask, why, sizeof why),
	    BATON_JOIN_ASK);
	ck_assert_int_eq(ask, 1);
	/* added back by our own request, committed as a spare: start */
	v[1].my_role = RAFT_SPARE;
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, true, &ask, why, sizeof why),
	    BATON_JOIN_START);
	/* even if the other peer is silent now */
	v[0].answered = false;
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, true, &ask, why, sizeof why),
	    BATON_JOIN_START);
	/* added, but the leader's committed configuration does not show it
	 * yet: wait, do not ask again (it would remove us) */
	v[1].my_role = -1;
	ck_assert_int_eq(
	    baton_member_join_decide(v, 2, true, &ask, why, sizeof why),
	    BATON_JOIN_WAIT);
}
END_TEST

static Suite *membership_suite(void)
{
	Suite *s = suite_create("batond-membership");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, ids_are_stable_and_independent_of_the_other_names);
	tcase_add_test(tc, data_directory_mark);
	tcase_add_test(tc, join_decisions);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(membership_suite)
