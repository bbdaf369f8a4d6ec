/* Unit tests for operator/batond/syncset: the primary's synchronous list
 * from the FSM and the lease gate (docs/design-per-instance.md §3.3).
 *
 * The FSM states are the real FSM's: REGISTER from a parsed spec
 * (fsmsync.c), applied. Then the designation fields are set by hand where
 * a test needs a move under way (DESIGNATE's own rules are
 * test_consensus_fsm's). What must hold: at ordinal 0 the list is, name
 * for name, the boot default children.c gives the pod (--sync-names); a
 * designated ordinal other than 0 changes the pods named; G is the FSM's
 * applied count and grows; the gate wants a reported list within the
 * members (not only the listed) in synchronous mode and nothing in
 * asynchronous mode; an equal list is no order. */
#include <stdlib.h>
#include <string.h>

#include "batond/agents.h"
#include "batond/children.h"
#include "batond/dbspec.h"
#include "batond/fsmsync.h"
#include "batond/syncset.h"
#include "consensus/fsm.h"
#include "harness.h"

/* eu-west (primary), us-east, ap-south: data; an empty data region
 * (replicas 0) and a witness; SYNC: failover.synchronous. */
static const char *cluster(bool sync)
{
	return sync ? "{\"apiVersion\": \"baton.dev/v1alpha1\", \"kind\": "
		      "\"DatabaseCluster\", \"metadata\": {\"name\": "
		      "\"orders\", \"namespace\": \"shop\", \"uid\": \"u1\"},"
		      " \"spec\": {\"regions\": ["
		      "{\"name\": \"eu-west\", \"role\": \"data\"},"
		      "{\"name\": \"us-east\", \"role\": \"data\", "
		      "\"replicas\": 2},"
		      "{\"name\": \"empty\", \"role\": \"data\", "
		      "\"replicas\": 0},"
		      "{\"name\": \"ap-south\", \"role\": \"data\"},"
		      "{\"name\": \"tie\", \"role\": \"witness\"}],"
		      " \"primaryRegion\": \"eu-west\","
		      " \"failover\": {\"synchronous\": true}}}"
		    : "{\"apiVersion\": \"baton.dev/v1alpha1\", \"kind\": "
		      "\"DatabaseCluster\", \"metadata\": {\"name\": "
		      "\"orders\", \"namespace\": \"shop\", \"uid\": \"u1\"},"
		      " \"spec\": {\"regions\": ["
		      "{\"name\": \"eu-west\", \"role\": \"data\"},"
		      "{\"name\": \"us-east\", \"role\": \"data\"}],"
		      " \"primaryRegion\": \"eu-west\","
		      " \"failover\": {\"synchronous\": false}}}";
}

static struct baton_fsm fsm;
static struct raft_fsm raft_fsm;

static void spec_of(const char *text, struct baton_dbspec *spec)
{
	char errmsg[BATON_ERRMSG_SIZE];
	json_t *obj = json_loads(text, 0, NULL);

	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(baton_dbspec_parse(obj, spec, errmsg), 0);
	json_decref(obj);
}

static int apply(const struct baton_cmd *c)
{
	uint8_t buf[BATON_CMD_MAX];
	size_t len;

	ck_assert_int_eq(baton_cmd_encode(c, buf, sizeof buf, &len), 0);
	return baton_fsm_apply_buf(&fsm, buf, len);
}

/* The FSM's state of SPEC once registered (a fresh FSM). */
static struct baton_db_state *registered(const struct baton_dbspec *spec)
{
	struct baton_cmd c;

	baton_fsm_close(&raft_fsm);
	baton_fsm_init(&fsm, &raft_fsm);
	baton_fsmsync_register(spec, "shop/orders", 50000, 100, &c);
	ck_assert_int_eq(apply(&c), BATON_FSM_OK);
	ck_assert_ptr_nonnull(baton_fsm_db(&fsm, "shop/orders"));
	return baton_fsm_db(&fsm, "shop/orders");
}

static void setup(void)
{
	baton_fsm_init(&fsm, &raft_fsm);
}

static void teardown(void)
{
	baton_fsm_close(&raft_fsm);
}

/* The names of L joined by commas. */
static const char *joined(const struct baton_syncset *l, char *buf, size_t size)
{
	buf[0] = '\0';
	for (unsigned i = 0; i < l->n; i++) {
		size_t used = strlen(buf);
		snprintf(buf + used, size - used, "%s%s", i ? "," : "",
			 l->names[i]);
	}
	return buf;
}

/* children.c's --sync-names for REGION's pods, or NULL when it gives
 * none (asynchronous). */
static char *boot_default(const struct baton_dbspec *spec, const char *region)
{
	char errmsg[BATON_ERRMSG_SIZE];
	json_t *all = json_array(), *o;
	char *names = NULL;
	size_t i, k, j;

	ck_assert_int_eq(baton_children_desired(spec, region,
						"http://batond:8080", NULL, all,
						errmsg),
			 0);
	json_array_foreach(all, i, o)
	{
		json_t *c, *args;
		if (strcmp(json_string_value(json_object_get(o, "kind")),
			   "StatefulSet") != 0) {
			continue;
		}
		json_array_foreach(
		    json_object_get(
			json_object_get(
			    json_object_get(json_object_get(o, "spec"),
					    "template"),
			    "spec"),
			"containers"),
		    k, c)
		{
			args = json_object_get(c, "args");
			for (j = 0; j + 1 < json_array_size(args); j++) {
				if (strcmp(json_string_value(
					       json_array_get(args, j)),
					   "--sync-names") == 0) {
					names = strdup(json_string_value(
					    json_array_get(args, j + 1)));
				}
			}
		}
	}
	json_decref(all);
	return names;
}

/* Whatever region is the primary, at ordinal 0 the FSM's list is the pod
 * argument children.c gives that region's pods, name for name and in the
 * same order: the empty region (replicas 0) and the witness are left out
 * as before, and so is the primary's own region. */
START_TEST(at_ordinal_0_the_list_is_the_boot_default)
{
	static const char *const data[] = {"eu-west", "us-east", "ap-south"};
	struct baton_dbspec spec;
	struct baton_db_state *st;
	struct baton_syncset l;
	char buf[1024];

	spec_of(cluster(true), &spec);
	st = registered(&spec);
	for (size_t i = 0; i < sizeof data / sizeof *data; i++) {
		char *want = boot_default(&spec, data[i]);
		st->primary = baton_fsm_region_index(st, data[i]);
		ck_assert_int_ge(st->primary, 0);
		ck_assert_int_eq(baton_syncset_derive(st, &spec, 7, &l), 0);
		ck_assert_ptr_nonnull(want);
		ck_assert_str_eq(joined(&l, buf, sizeof buf), want);
		ck_assert_uint_eq(l.gen, 7);
		/* the agent reports it back: no order, and a grant */
		ck_assert(!baton_syncset_needs_order(st, &l, &l));
		ck_assert(baton_syncset_gate(st, &l));
		free(want);
	}
	st->primary = 0;
	ck_assert_int_eq(baton_syncset_derive(st, &spec, 7, &l), 0);
	ck_assert_str_eq(joined(&l, buf, sizeof buf),
			 "orders-us-east-0,orders-ap-south-0");

	/* asynchronous: no pod argument, no list */
	spec_of(cluster(false), &spec);
	st = registered(&spec);
	ck_assert_ptr_null(boot_default(&spec, "eu-west"));
	ck_assert_int_eq(baton_syncset_derive(st, &spec, 9, &l), 0);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_uint_eq(l.gen, 9);
}
END_TEST

/* The list follows the FSM's L: a region whose designated instance is
 * ordinal 1 is listed by that pod, and a move under way (both listed)
 * names both; the designated ordinal is what every batond site reads. */
START_TEST(a_designated_ordinal_other_than_0_changes_the_names)
{
	struct baton_dbspec spec;
	struct baton_db_state *st;
	struct baton_syncset l;
	char buf[1024];
	int us;

	spec_of(cluster(true), &spec);
	st = registered(&spec);
	us = baton_fsm_region_index(st, "us-east");
	ck_assert_int_eq(baton_syncset_designated(st, "us-east"), 0);
	st->regions[us].designated = 1;
	st->regions[us].members = BATON_ORDINAL_BIT(1);
	st->regions[us].listed = BATON_ORDINAL_BIT(1);
	ck_assert_int_eq(baton_syncset_designated(st, "us-east"), 1);
	ck_assert_int_eq(baton_syncset_designated(st, "eu-west"), 0);
	ck_assert_int_eq(baton_syncset_designated(st, "nowhere"), 0);
	ck_assert_int_eq(baton_syncset_designated(NULL, "us-east"), 0);
	ck_assert_int_eq(baton_syncset_derive(st, &spec, 11, &l), 0);
	ck_assert_str_eq(joined(&l, buf, sizeof buf),
			 "orders-us-east-1,orders-ap-south-0");

	/* JOIN(0) after a move: both members, both listed */
	st->regions[us].members |= BATON_ORDINAL_BIT(0);
	st->regions[us].listed |= BATON_ORDINAL_BIT(0);
	ck_assert_int_eq(baton_syncset_derive(st, &spec, 12, &l), 0);
	ck_assert_str_eq(joined(&l, buf, sizeof buf),
			 "orders-us-east-0,orders-us-east-1,orders-ap-south-0");

	/* the pod a label or a grant goes to; never a cut name */
	ck_assert_str_eq(
	    baton_children_pod_name("orders", "us-east", 1, buf, sizeof buf),
	    "orders-us-east-1");
	ck_assert_ptr_null(
	    baton_children_pod_name("orders", "us-east", 1, buf, 16));
}
END_TEST

/* G is the FSM's applied count where the list was derived: it grows with
 * every command applied, so a later derivation never goes below an
 * earlier one; an equal list at an older G is no order. */
START_TEST(the_generation_is_the_applied_count_and_only_grows)
{
	struct baton_dbspec spec;
	struct baton_db_state *st;
	struct baton_syncset first, later;
	struct baton_cmd c;
	uint64_t g0;

	spec_of(cluster(true), &spec);
	st = registered(&spec);
	g0 = fsm.applied;
	ck_assert_uint_gt(g0, 0);
	ck_assert_int_eq(baton_syncset_derive(st, &spec, fsm.applied, &first),
			 0);
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_REPORT;
	snprintf(c.db, sizeof c.db, "shop/orders");
	snprintf(c.region, sizeof c.region, "us-east");
	c.epoch = st->epoch;
	c.healthy = 1;
	c.position = 4096;
	apply(&c);
	c.position = 8192;
	apply(&c);
	st = baton_fsm_db(&fsm, "shop/orders");
	ck_assert_int_eq(baton_syncset_derive(st, &spec, fsm.applied, &later),
			 0);
	ck_assert_uint_eq(first.gen, g0);
	ck_assert_uint_eq(later.gen, g0 + 2);
	/* the agent still reports the list at G0: nothing to send */
	ck_assert(!baton_syncset_needs_order(st, &later, &first));
}
END_TEST

/* The order: sent when the names differ (as sets, without case), or when
 * the agent reports no list in synchronous mode (the gate needs one, even
 * an empty one); never for an equal list. */
START_TEST(an_order_only_when_the_names_differ)
{
	struct baton_dbspec spec;
	struct baton_db_state *st;
	struct baton_syncset want, have;

	spec_of(cluster(true), &spec);
	st = registered(&spec);
	ck_assert_int_eq(baton_syncset_derive(st, &spec, 20, &want), 0);
	ck_assert_uint_eq(want.n, 2);

	/* the same names, another order, other case, older G */
	memset(&have, 0, sizeof have);
	have.gen = 3;
	have.n = 2;
	snprintf(have.names[0], sizeof have.names[0], "ORDERS-ap-south-0");
	snprintf(have.names[1], sizeof have.names[1], "orders-us-east-0");
	ck_assert(!baton_syncset_needs_order(st, &want, &have));
	/* one missing */
	have.n = 1;
	ck_assert(baton_syncset_needs_order(st, &want, &have));
	/* one too many */
	have.n = 3;
	snprintf(have.names[1], sizeof have.names[1], "orders-us-east-0");
	snprintf(have.names[2], sizeof have.names[2], "orders-us-east-1");
	ck_assert(baton_syncset_needs_order(st, &want, &have));
	/* none reported: an order, even for an empty list */
	ck_assert(baton_syncset_needs_order(st, &want, NULL));
	want.n = 0;
	ck_assert(baton_syncset_needs_order(st, &want, NULL));

	/* asynchronous: the boot default is no list; only a list left
	 * from synchronous days needs an (empty) order */
	spec_of(cluster(false), &spec);
	st = registered(&spec);
	ck_assert_int_eq(baton_syncset_derive(st, &spec, 21, &want), 0);
	ck_assert(!baton_syncset_needs_order(st, &want, NULL));
	have.n = 0;
	ck_assert(!baton_syncset_needs_order(st, &want, &have));
	have.n = 1;
	ck_assert(baton_syncset_needs_order(st, &want, &have));
}
END_TEST

static bool reported(const char *status_text, struct baton_syncset *out)
{
	json_t *st = json_loads(status_text, 0, NULL);
	bool ok;

	ck_assert_ptr_nonnull(st);
	ok = baton_syncset_reported(st, out);
	json_decref(st);
	return ok;
}

/* The gate: a reported list within ∪ M of the standby regions. A name of
 * a non-member, of the primary's own region or of a witness refuses;
 * a member that left L (LEAVE) is still fine; no list or a malformed one
 * refuses in synchronous mode; asynchronous mode has no gate. */
START_TEST(the_gate_wants_a_reported_list_within_the_members)
{
	struct baton_dbspec spec;
	struct baton_db_state *st;
	struct baton_syncset have;
	int us;

	spec_of(cluster(true), &spec);
	st = registered(&spec);
	us = baton_fsm_region_index(st, "us-east");

	ck_assert(reported("{\"syncConfig\": {\"gen\": 4, \"names\": "
			   "[\"orders-us-east-0\", \"Orders-AP-south-0\"]}}",
			   &have));
	ck_assert_uint_eq(have.gen, 4);
	ck_assert_uint_eq(have.n, 2);
	ck_assert(baton_syncset_gate(st, &have));
	/* the empty region's pod is a member too (REGISTER: M = {0}) */
	ck_assert(reported("{\"syncConfig\": {\"gen\": 4, \"names\": "
			   "[\"orders-empty-0\"]}}",
			   &have));
	ck_assert(baton_syncset_gate(st, &have));
	/* an empty list names no non-member */
	ck_assert(
	    reported("{\"syncConfig\": {\"gen\": 4, \"names\": []}}", &have));
	ck_assert(baton_syncset_gate(st, &have));

	/* a sibling that is no member */
	ck_assert(reported("{\"syncConfig\": {\"gen\": 4, \"names\": "
			   "[\"orders-us-east-0\", \"orders-us-east-1\"]}}",
			   &have));
	ck_assert(!baton_syncset_gate(st, &have));
	/* the primary's own region, a witness, another database */
	ck_assert(reported("{\"syncConfig\": {\"gen\": 4, \"names\": "
			   "[\"orders-eu-west-0\"]}}",
			   &have));
	ck_assert(!baton_syncset_gate(st, &have));
	ck_assert(reported("{\"syncConfig\": {\"gen\": 4, \"names\": "
			   "[\"orders-tie-0\"]}}",
			   &have));
	ck_assert(!baton_syncset_gate(st, &have));
	ck_assert(reported("{\"syncConfig\": {\"gen\": 4, \"names\": "
			   "[\"carts-us-east-0\"]}}",
			   &have));
	ck_assert(!baton_syncset_gate(st, &have));

	/* a move from 0 to 1, LEAVE(0) applied: 0 ∈ M, 0 ∉ L. A list still
	 * naming 0 keeps its lease; after RELEASE(0) it does not. */
	st->regions[us].members = BATON_ORDINAL_BIT(0) | BATON_ORDINAL_BIT(1);
	st->regions[us].listed = BATON_ORDINAL_BIT(1);
	st->regions[us].spare.ordinal = 1;
	ck_assert(reported("{\"syncConfig\": {\"gen\": 4, \"names\": "
			   "[\"orders-us-east-0\", \"orders-ap-south-0\"]}}",
			   &have));
	ck_assert(baton_syncset_gate(st, &have));
	st->regions[us].designated = 1;
	st->regions[us].members = BATON_ORDINAL_BIT(1);
	st->regions[us].spare.ordinal = 0;
	ck_assert(!baton_syncset_gate(st, &have));

	/* nothing reported, or nothing readable: no grant */
	ck_assert(!baton_syncset_gate(st, NULL));
	ck_assert(!reported("{\"role\": \"primary\"}", &have));
	ck_assert(!reported("{\"syncConfig\": {\"names\": []}}", &have));
	ck_assert(!reported("{\"syncConfig\": {\"gen\": 1, \"names\": "
			    "\"orders-us-east-1\"}}",
			    &have));
	ck_assert(!reported("{\"syncConfig\": {\"gen\": 1, \"names\": "
			    "[\"orders-us-east-1\", 7]}}",
			    &have));
	ck_assert(
	    !reported("{\"syncConfig\": {\"gen\": -1, \"names\": []}}", &have));

	/* asynchronous: no list, no gate */
	spec_of(cluster(false), &spec);
	st = registered(&spec);
	ck_assert(baton_syncset_gate(st, NULL));
}
END_TEST

/* The agents' lease answer applies the gate (agents.c), to the designated
 * instance of the primary region only: ordinal 1 once it is designated. */
START_TEST(the_lease_grant_goes_through_the_gate)
{
	struct baton_dbspec spec;
	struct baton_db_state *st;
	struct baton_syncset good, bad;
	int eu;

	spec_of(cluster(true), &spec);
	st = registered(&spec);
	eu = baton_fsm_region_index(st, "eu-west");
	ck_assert_int_eq(st->primary, eu);
	ck_assert_int_eq(baton_syncset_derive(st, &spec, 5, &good), 0);
	bad = good;
	snprintf(bad.names[0], sizeof bad.names[0], "orders-us-east-1");

	ck_assert_uint_eq(baton_agents_lease_grant(st, eu, 0, &good, 1700),
			  1700);
	ck_assert_uint_eq(baton_agents_lease_grant(st, eu, 0, &bad, 1700), 0);
	ck_assert_uint_eq(baton_agents_lease_grant(st, eu, 0, NULL, 1700), 0);
	ck_assert_uint_eq(baton_agents_lease_grant(st, eu, 1, &good, 1700), 0);
	/* the primary region's designated instance is ordinal 1 */
	st->regions[eu].designated = 1;
	st->regions[eu].members = st->regions[eu].listed = BATON_ORDINAL_BIT(1);
	ck_assert_uint_eq(baton_agents_lease_grant(st, eu, 1, &good, 1700),
			  1700);
	ck_assert_uint_eq(baton_agents_lease_grant(st, eu, 0, &good, 1700), 0);
}
END_TEST

/* §9 note 31: a standbys order for a RELEASE waiting on G >= NEED only
 * while the reported G is below it (none counts as 0), and only with an
 * order whose own G reaches it; NEED 0 is none. */
START_TEST(an_order_when_a_release_needs_a_newer_g)
{
	struct baton_syncset have;

	memset(&have, 0, sizeof have);
	have.gen = 40;
	ck_assert(!baton_syncset_needs_gen(0, &have, 60));
	ck_assert(!baton_syncset_needs_gen(0, NULL, 60));
	ck_assert(!baton_syncset_needs_gen(39, &have, 60));
	ck_assert(!baton_syncset_needs_gen(40, &have, 60)); /* equal: has it */
	ck_assert(baton_syncset_needs_gen(41, &have, 60));
	ck_assert(baton_syncset_needs_gen(55, NULL, 60));
	ck_assert(baton_syncset_needs_gen(60, &have, 60));
	ck_assert(!baton_syncset_needs_gen(61, &have, 60)); /* cannot reach */
}
END_TEST

static Suite *syncset_suite(void)
{
	Suite *s = suite_create("batond_syncset");
	TCase *tc = tcase_create("syncset");
	tcase_set_timeout(tc, 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, at_ordinal_0_the_list_is_the_boot_default);
	tcase_add_test(tc, a_designated_ordinal_other_than_0_changes_the_names);
	tcase_add_test(tc, the_generation_is_the_applied_count_and_only_grows);
	tcase_add_test(tc, an_order_only_when_the_names_differ);
	tcase_add_test(tc, the_gate_wants_a_reported_list_within_the_members);
	tcase_add_test(tc, the_lease_grant_goes_through_the_gate);
	tcase_add_test(tc, an_order_when_a_release_needs_a_newer_g);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(syncset_suite)
