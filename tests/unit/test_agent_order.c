/* Unit tests for baton_agent_parse_order(): the shapes batond posts to
 * POST /v1/order, and the malformed ones the agent answers with 400. Pure
 * parsing: no loop, no engine. */
#include <string.h>

#include "agent/agent.h"
#include "harness.h"

static int parse(const char *body, struct baton_agent_order *o, char *err)
{
	return baton_agent_parse_order(body, strlen(body), o, err);
}

START_TEST(init_orders_parse)
{
	struct baton_agent_order o;
	char err[BATON_ERRMSG_SIZE];

	ck_assert_int_eq(
	    parse("{\"action\":\"init\",\"epoch\":3,\"role\":\"primary\"}", &o,
		  err),
	    0);
	ck_assert_int_eq(o.action, BATON_AGENT_INIT);
	ck_assert_str_eq(o.action_name, "init");
	ck_assert_uint_eq(o.epoch, 3);
	ck_assert_int_eq(o.role, BATON_ROLE_PRIMARY);
	ck_assert_str_eq(o.primary_host, "");

	ck_assert_int_eq(parse("{\"action\":\"init\",\"epoch\":4,\"role\":"
			       "\"replica\",\"primaryHost\":\"10.1.2.3\","
			       "\"primaryPort\":5432}",
			       &o, err),
			 0);
	ck_assert_int_eq(o.role, BATON_ROLE_REPLICA);
	ck_assert_str_eq(o.primary_host, "10.1.2.3");
	ck_assert_int_eq(o.primary_port, 5432);

	/* a DNS name and an IPv6 address are hosts too */
	ck_assert_int_eq(
	    parse("{\"action\":\"init\",\"epoch\":4,\"role\":\"replica\","
		  "\"primaryHost\":\"orders-eu-0.orders-eu.db.svc\","
		  "\"primaryPort\":5432}",
		  &o, err),
	    0);
	ck_assert_int_eq(
	    parse("{\"action\":\"init\",\"epoch\":4,\"role\":\"replica\","
		  "\"primaryHost\":\"fd00::1\",\"primaryPort\":1}",
		  &o, err),
	    0);
}
END_TEST

START_TEST(malformed_init_orders_are_invalid)
{
	static const struct {
		const char *body;
		int rv;
		const char *says;
	} cases[] = {
	    {"{\"action\":\"init\",\"epoch\":1}", BATON_EINVAL, "role"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"witness\"}",
	     BATON_EINVAL, "role"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":7}", BATON_EINVAL,
	     "role"},
	    {"{\"action\":\"init\",\"role\":\"primary\"}", BATON_EINVAL,
	     "epoch"},
	    {"{\"action\":\"init\",\"epoch\":-2,\"role\":\"primary\"}",
	     BATON_EINVAL, "epoch"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\"}",
	     BATON_EINVAL, "primaryHost"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	     "\"primaryHost\":\"h\"}",
	     BATON_EINVAL, "primaryPort"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	     "\"primaryHost\":\"h\",\"primaryPort\":0}",
	     BATON_EINVAL, "primaryPort"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	     "\"primaryHost\":\"h\",\"primaryPort\":65536}",
	     BATON_EINVAL, "primaryPort"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	     "\"primaryHost\":\"h\",\"primaryPort\":\"5432\"}",
	     BATON_EINVAL, "primaryPort"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	     "\"primaryHost\":\"\",\"primaryPort\":5432}",
	     BATON_EINVAL, "primaryHost"},
	    /* the host goes into a conninfo: no room for another keyword */
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	     "\"primaryHost\":\"h password=x\",\"primaryPort\":5432}",
	     BATON_EINVAL, "primaryHost"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"replica\","
	     "\"primaryHost\":\"h'\",\"primaryPort\":5432}",
	     BATON_EINVAL, "primaryHost"},
	    /* given with role primary, a peer is still checked */
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"primary\","
	     "\"primaryPort\":99999}",
	     BATON_EINVAL, "primaryHost"},
	    {"{\"action\":\"init\",\"epoch\":1,\"role\":\"primary\"",
	     BATON_EPARSE, "malformed JSON"},
	    {"[\"init\"]", BATON_EPARSE, "not an object"},
	    {"{\"action\":\"init\",\"action\":\"init\",\"epoch\":1,"
	     "\"role\":\"primary\"}",
	     BATON_EPARSE, "duplicate"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct baton_agent_order o;
		char err[BATON_ERRMSG_SIZE];
		int rv = parse(cases[i].body, &o, err);
		ck_assert_msg(rv == cases[i].rv, "%s: %s (%s)", cases[i].body,
			      baton_errname(rv), err);
		ck_assert_msg(strstr(err, cases[i].says) != NULL,
			      "%s: '%s' does not mention %s", cases[i].body,
			      err, cases[i].says);
	}
}
END_TEST

START_TEST(other_orders_parse)
{
	struct baton_agent_order o;
	char err[BATON_ERRMSG_SIZE];

	/* no lease orders: the agent asks batond (agent/lease.h) */
	ck_assert_int_eq(
	    parse("{\"action\":\"lease\",\"epoch\":9,\"leaseMillis\":3000}", &o,
		  err),
	    BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "asks batond"));
	ck_assert_int_eq(parse("{\"action\":\"promote\",\"epoch\":2,"
			       "\"primaryLsn\":\"16/B374D848\"}",
			       &o, err),
			 0);
	ck_assert_uint_eq(o.primary_lsn, (0x16ULL << 32) | 0xB374D848ULL);
	ck_assert_int_eq(parse("{\"action\":\"promote\",\"epoch\":2,"
			       "\"primaryLsn\":42}",
			       &o, err),
			 BATON_EINVAL);
	ck_assert_int_eq(parse("{\"action\":\"rejoin\",\"epoch\":2,"
			       "\"primaryHost\":\"10.0.0.9\","
			       "\"primaryPort\":5433}",
			       &o, err),
			 0);
	ck_assert_int_eq(o.action, BATON_AGENT_REJOIN);
	ck_assert_int_eq(o.primary_port, 5433);
	ck_assert_int_eq(parse("{\"action\":\"rejoin\",\"epoch\":2}", &o, err),
			 BATON_EINVAL);
	/* cascade names the replica to stream from, like a rejoin */
	ck_assert_int_eq(parse("{\"action\":\"cascade\",\"epoch\":3,"
			       "\"primaryHost\":\"10.0.0.7\","
			       "\"primaryPort\":5432}",
			       &o, err),
			 0);
	ck_assert_int_eq(o.action, BATON_AGENT_CASCADE);
	ck_assert_str_eq(o.primary_host, "10.0.0.7");
	ck_assert_int_eq(o.primary_port, 5432);
	ck_assert_int_eq(parse("{\"action\":\"cascade\",\"epoch\":3}", &o, err),
			 BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "primaryHost"));
	ck_assert_int_eq(parse("{\"action\":\"cascade\",\"epoch\":3,"
			       "\"primaryHost\":\"x y\","
			       "\"primaryPort\":5432}",
			       &o, err),
			 BATON_EINVAL);
	ck_assert_int_eq(parse("{\"action\":\"fence\",\"epoch\":0}", &o, err),
			 0);
	ck_assert_int_eq(o.action, BATON_AGENT_FENCE);
	ck_assert_int_eq(parse("{\"action\":\"demote\",\"epoch\":1}", &o, err),
			 0);
	ck_assert_int_eq(o.action, BATON_AGENT_DEMOTE);
	ck_assert_int_eq(parse("{\"action\":\"explode\",\"epoch\":1}", &o, err),
			 BATON_EINVAL);
	ck_assert_ptr_null(o.action_name);
	ck_assert_ptr_nonnull(strstr(err, "init"));
}
END_TEST

/* standbys: gen and syncNames are required; names are application names,
 * distinct, at most BATON_ENGINE_MAX_STANDBYS; promote may carry a list */
START_TEST(standbys_orders_parse)
{
	struct baton_agent_order o;
	char err[BATON_ERRMSG_SIZE];
	char body[2048];
	int n;

	ck_assert_int_eq(parse("{\"action\":\"standbys\",\"epoch\":3,\"gen\":"
			       "17,\"syncNames\":[\"ledger-us-east-0\",\"b\"]}",
			       &o, err),
			 0);
	ck_assert_int_eq(o.action, BATON_AGENT_STANDBYS);
	ck_assert_uint_eq(o.gen, 17);
	ck_assert(o.has_sync_names);
	ck_assert_uint_eq(o.n_sync_names, 2);
	ck_assert_str_eq(o.sync_names[0], "ledger-us-east-0");
	ck_assert_str_eq(o.sync_names[1], "b");
	/* an empty list is a list (no standby region left) */
	ck_assert_int_eq(parse("{\"action\":\"standbys\",\"epoch\":3,\"gen\":"
			       "0,\"syncNames\":[]}",
			       &o, err),
			 0);
	ck_assert_uint_eq(o.n_sync_names, 0);
	static const char *const bad[] = {
	    "{\"action\":\"standbys\",\"epoch\":3,\"syncNames\":[]}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":-1,\"syncNames\":[]}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":\"1\","
	    "\"syncNames\":[]}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":1}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":1,\"syncNames\":"
	    "\"b\"}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":1,\"syncNames\":"
	    "[\"*\"]}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":1,\"syncNames\":"
	    "[\"a,b\"]}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":1,\"syncNames\":"
	    "[\"\"]}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":1,\"syncNames\":"
	    "[1]}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":1,\"syncNames\":"
	    "[\"b\",\"B\"]}",
	    "{\"action\":\"standbys\",\"epoch\":3,\"gen\":1,\"syncNames\":"
	    "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaa\"]}",
	    "{\"action\":\"promote\",\"epoch\":3,\"syncNames\":[\"'\"]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ck_assert_msg(parse(bad[i], &o, err) == BATON_EINVAL, "%s",
			      bad[i]);
		ck_assert_msg(err[0] != '\0', "%s", bad[i]);
	}
	/* a NUL inside a name: jansson refuses the body itself */
	ck_assert_int_eq(parse("{\"action\":\"standbys\",\"epoch\":3,"
			       "\"gen\":1,\"syncNames\":[\"b\\u0000c\"]}",
			       &o, err),
			 BATON_EPARSE);
	/* at most BATON_ENGINE_MAX_STANDBYS names */
	n = snprintf(body, sizeof body,
		     "{\"action\":\"standbys\",\"epoch\":1,\"gen\":1,"
		     "\"syncNames\":[");
	for (int i = 0; i <= BATON_ENGINE_MAX_STANDBYS; i++) {
		n += snprintf(body + n, sizeof body - (size_t)n, "%s\"s%d\"",
			      i ? "," : "", i);
	}
	snprintf(body + n, sizeof body - (size_t)n, "]}");
	ck_assert_int_eq(parse(body, &o, err), BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "at most"));
	/* promote: the list is optional */
	ck_assert_int_eq(parse("{\"action\":\"promote\",\"epoch\":2}", &o, err),
			 0);
	ck_assert(!o.has_sync_names);
	ck_assert_int_eq(parse("{\"action\":\"promote\",\"epoch\":2,"
			       "\"syncNames\":[\"c\"]}",
			       &o, err),
			 0);
	ck_assert(o.has_sync_names);
	ck_assert_uint_eq(o.n_sync_names, 1);
	ck_assert_str_eq(o.sync_names[0], "c");
}
END_TEST

static Suite *agent_order_suite(void)
{
	Suite *s = suite_create("agent_order");
	TCase *tc = tcase_create("parse");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, init_orders_parse);
	tcase_add_test(tc, malformed_init_orders_are_invalid);
	tcase_add_test(tc, other_orders_parse);
	tcase_add_test(tc, standbys_orders_parse);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(agent_order_suite)
