/* Unit tests for operator/common/yamljson and operator/batond/config: the
 * configuration the Helm chart renders loads, and every broken file gives an
 * error naming the file and the field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond/config.h"
#include "common/yamljson.h"
#include "harness.h"
#include "kube/client.h"

/* What charts/baton/templates/configmap.yaml renders for region eu-west. */
static const char chart_config[] =
    "region: \"eu-west\"\n"
    "namespace: \"baton-system\"\n"
    "kubeconfig: \"\"\n"
    "peers:\n"
    "  - name: \"us-east\"\n"
    "    raftAddress: \"198.18.0.12:7100\"\n"
    "    apiAddress: \"198.18.0.12:7101\"\n"
    "    kubeconfig: /etc/baton/peers/us-east.kubeconfig\n"
    "  - name: \"ap-south\"\n"
    "    raftAddress: \"198.18.0.13:7100\"\n"
    "    apiAddress: \"198.18.0.13:7101\"\n"
    "    kubeconfig: /etc/baton/peers/ap-south.kubeconfig\n"
    "raft:\n"
    "  bind: \"0.0.0.0:7100\"\n"
    "  dataDir: /var/lib/baton/raft\n"
    "  electionTimeoutMillis: 1000\n"
    "  heartbeatMillis: 100\n"
    "peerApi:\n"
    "  bind: \"0.0.0.0:7101\"\n"
    "tls:\n"
    "  ca: /etc/baton/tls/ca.crt\n"
    "  cert: /etc/baton/tls/tls.crt\n"
    "  key: /etc/baton/tls/tls.key\n"
    "http:\n"
    "  bind: \"0.0.0.0:8080\"\n"
    "lease:\n"
    "  driftPercent: 5\n"
    "  marginMillis: 200\n"
    "log:\n"
    "  level: \"info\"\n"
    "kubeClient:\n"
    "  qps: 150\n"
    "  burst: 300\n";

static int load_string(const char *yaml, struct baton_batond_config *cfg)
{
	char path[] = "/tmp/baton-config-XXXXXX";
	int fd = mkstemp(path);
	int rv;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	rv = baton_batond_config_load(cfg, path);
	unlink(path);
	return rv;
}

START_TEST(chart_rendered_config_loads)
{
	struct baton_batond_config cfg;
	int rv = load_string(chart_config, &cfg);
	ck_assert_msg(rv == 0, "%s", cfg.errmsg);
	ck_assert_str_eq(cfg.region, "eu-west");
	ck_assert_ptr_null(cfg.kubeconfig); /* "" means in-cluster */
	ck_assert_uint_eq(cfg.n_peers, 2);
	ck_assert_str_eq(cfg.peers[1].name, "ap-south");
	ck_assert_str_eq(cfg.peers[1].raft_address, "198.18.0.13:7100");
	ck_assert_uint_eq(cfg.election_timeout_ms, 1000);
	ck_assert_uint_eq(cfg.drift_percent, 5);
	ck_assert_int_eq(cfg.log_level, BATON_LOG_INFO);
	ck_assert(cfg.kube_qps == 150.0);
	ck_assert_uint_eq(cfg.kube_burst, 300);
	baton_batond_config_free(&cfg);
}
END_TEST

static const struct {
	const char *name;
	const char *yaml;
	const char *expect; /* substring of errmsg */
} broken[] = {
    {"no region", "peers: []\n", "region: is required"},
    {"bad region", "region: EU_west\n", "region: must be a DNS label"},
    {"unknown top key", "region: a\nraf: {}\n", "raf: unknown field"},
    {"unknown nested key", "region: a\nraft: {electionTimeout: 3}\n",
     "raft.electionTimeout: unknown field"},
    {"peer is self",
     "region: a\npeers: [{name: a, raftAddress: 'h:1', "
     "apiAddress: 'h:2'}]\n",
     "peers[0].name: names this region itself"},
    {"duplicate peer",
     "region: a\npeers: [{name: b, raftAddress: 'h:1', apiAddress: 'h:2'}, "
     "{name: b, raftAddress: 'h:1', apiAddress: 'h:2'}]\n",
     "peers[1].name: duplicate peer name"},
    {"peer without address", "region: a\npeers: [{name: b}]\n",
     "peers[0].raftAddress: is required"},
    {"bad port",
     "region: a\npeers: [{name: b, raftAddress: 'h:99999', apiAddress: "
     "'h:2'}]\n",
     "peers[0].raftAddress"},
    {"peers not a list", "region: a\npeers: {b: 1}\n", "peers: must be a list"},
    {"timeout not a number", "region: a\nraft: {heartbeatMillis: fast}\n",
     "raft.heartbeatMillis: must be an integer"},
    {"election too short",
     "region: a\nraft: {electionTimeoutMillis: 200, heartbeatMillis: 100}\n",
     "at least 5 times"},
    {"drift out of range", "region: a\nlease: {driftPercent: 90}\n",
     "lease.driftPercent: must be an integer from 0 to 50"},
    {"bad log level", "region: a\nlog: {level: loud}\n", "log.level"},
    {"partial tls", "region: a\ntls: {ca: /x}\n", "tls: ca, cert and key"},
    {"peers without tls",
     "region: a\npeers: [{name: b, raftAddress: 'h:1', apiAddress: "
     "'h:2'}]\n",
     "tls: is required when peers are configured"},
    {"http bind", "region: a\nhttp: {bind: nowhere}\n", "http.bind"},
    {"not a mapping", "- a\n- b\n", "must be a mapping"},
    {"yaml syntax", "region: [a\n", ":"},
    {"alias", "a: &x 1\nregion: *x\n", "not supported"},
    {"empty", "", "empty document"},
    {"duplicate key", "region: a\nregion: b\n", "duplicate key"},
    {"istio ids not a map", "region: a\nmesh: {istioClusterIDs: [x]}\n",
     "mesh.istioClusterIDs: must map region names"},
    {"istio id empty", "region: a\nmesh: {istioClusterIDs: {a: ''}}\n",
     "non-empty cluster ID"},
    {"cluster domain not a domain",
     "region: a\nmesh: {clusterDomain: \"Cluster Local\"}\n",
     "mesh.clusterDomain: must be a DNS domain"},
    {"cluster domain empty", "region: a\nmesh: {clusterDomain: ''}\n",
     "mesh.clusterDomain"},
    {"kube qps zero", "region: a\nkubeClient: {qps: 0}\n",
     "kubeClient.qps: must be a number above 0 and at most 10000"},
    {"kube qps negative", "region: a\nkubeClient: {qps: -5}\n",
     "kubeClient.qps: must be a number above 0"},
    {"kube qps not a number", "region: a\nkubeClient: {qps: fast}\n",
     "kubeClient.qps: must be a number"},
    {"kube qps quoted", "region: a\nkubeClient: {qps: '200'}\n",
     "kubeClient.qps: must be a number"},
    {"kube qps too high", "region: a\nkubeClient: {qps: 10001}\n",
     "kubeClient.qps: must be a number above 0 and at most 10000"},
    {"kube burst zero", "region: a\nkubeClient: {burst: 0}\n",
     "kubeClient.burst: must be an integer from 1 to 20000"},
    {"kube burst negative", "region: a\nkubeClient: {burst: -1}\n",
     "kubeClient.burst: must be an integer from 1 to 20000"},
    {"kube burst fraction", "region: a\nkubeClient: {burst: 2.5}\n",
     "kubeClient.burst: must be an integer"},
    {"kube burst not a number", "region: a\nkubeClient: {burst: lots}\n",
     "kubeClient.burst: must be an integer"},
    {"kube client unknown key", "region: a\nkubeClient: {QPS: 5}\n",
     "kubeClient.QPS: unknown field"},
    {"kube client not a mapping", "region: a\nkubeClient: 200\n",
     "kubeClient: must be a mapping"},
    /* one LIST+WATCH per namespace: a name twice would be two */
    {"watch namespace twice", "region: a\nwatchNamespaces: [x, y, x]\n",
     "watchNamespaces: a namespace is listed twice"},
    {"watch namespace empty", "region: a\nwatchNamespaces: [x, '']\n",
     "watchNamespaces: an empty namespace"},
    {"watch namespaces not a list", "region: a\nwatchNamespaces: x\n",
     "watchNamespaces: must be a list"},
    {"designation not a boolean", "region: a\ndesignation: 1\n",
     "designation: must be true or false"},
    {"designation quoted", "region: a\ndesignation: 'true'\n",
     "designation: must be true or false"},
    {"designation a mapping", "region: a\ndesignation: {enabled: true}\n",
     "designation: must be true or false"},
};

START_TEST(broken_configs_name_the_field)
{
	struct baton_batond_config cfg;
	int rv = load_string(broken[_i].yaml, &cfg);
	ck_assert_msg(rv != 0, "%s: accepted", broken[_i].name);
	ck_assert_msg(strstr(cfg.errmsg, broken[_i].expect) != NULL,
		      "%s: errmsg \"%s\" lacks \"%s\"", broken[_i].name,
		      cfg.errmsg, broken[_i].expect);
	ck_assert_msg(strstr(cfg.errmsg, "/tmp/baton-config-") != NULL,
		      "%s: errmsg \"%s\" does not name the file",
		      broken[_i].name, cfg.errmsg);
	baton_batond_config_free(&cfg);
}
END_TEST

START_TEST(istio_cluster_ids_map_regions)
{
	struct baton_batond_config cfg;
	int rv = load_string("region: eu-west\nmesh:\n  istioClusterIDs: "
			     "{eu-west: cluster-eu}\n",
			     &cfg);
	ck_assert_msg(rv == 0, "%s", cfg.errmsg);
	ck_assert_str_eq(baton_batond_istio_cluster_id(&cfg, "eu-west"),
			 "cluster-eu");
	/* unmapped regions default to their name */
	ck_assert_str_eq(baton_batond_istio_cluster_id(&cfg, "us-east"),
			 "us-east");
	ck_assert_ptr_null(cfg.cluster_domain); /* cluster.local */
	baton_batond_config_free(&cfg);
	rv = load_string(
	    "region: eu-west\nmesh: {clusterDomain: corp.example}\n", &cfg);
	ck_assert_msg(rv == 0, "%s", cfg.errmsg);
	ck_assert_str_eq(cfg.cluster_domain, "corp.example");
	baton_batond_config_free(&cfg);
}
END_TEST

START_TEST(missing_file_is_a_clear_error)
{
	struct baton_batond_config cfg;
	ck_assert_int_eq(
	    baton_batond_config_load(&cfg, "/nonexistent/baton.yaml"),
	    BATON_EIO);
	ck_assert_ptr_nonnull(strstr(cfg.errmsg, "/nonexistent/baton.yaml"));
	baton_batond_config_free(&cfg);
}
END_TEST

START_TEST(yaml_scalars_are_typed)
{
	char err[BATON_ERRMSG_SIZE];
	json_t *d;
	const char *y = "a: 1\nb: -2.5\nc: true\nd: ~\ne: '7'\nf: x1\ng: []\n";
	ck_assert_int_eq(baton_yaml_to_json(y, strlen(y), "t", &d, err), 0);
	ck_assert(json_is_integer(json_object_get(d, "a")));
	ck_assert(json_is_real(json_object_get(d, "b")));
	ck_assert(json_is_true(json_object_get(d, "c")));
	ck_assert(json_is_null(json_object_get(d, "d")));
	ck_assert_str_eq(json_string_value(json_object_get(d, "e")), "7");
	ck_assert_str_eq(json_string_value(json_object_get(d, "f")), "x1");
	ck_assert(json_is_array(json_object_get(d, "g")));
	json_decref(d);
}
END_TEST

START_TEST(yaml_depth_is_bounded)
{
	char err[BATON_ERRMSG_SIZE];
	char buf[1024];
	json_t *d;
	size_t n = 0;
	for (int i = 0; i < 200; i++) {
		buf[n++] = '[';
	}
	for (int i = 0; i < 200; i++) {
		buf[n++] = ']';
	}
	ck_assert_int_eq(baton_yaml_to_json(buf, n, "deep", &d, err),
			 BATON_EPARSE);
	ck_assert_ptr_nonnull(strstr(err, "nested too deeply"));
	ck_assert_ptr_null(d);
}
END_TEST

START_TEST(host_port_split)
{
	char h[64];
	int p;
	ck_assert_int_eq(baton_split_host_port("198.18.0.1:7100", h, 64, &p),
			 0);
	ck_assert_str_eq(h, "198.18.0.1");
	ck_assert_int_eq(p, 7100);
	ck_assert_int_eq(baton_split_host_port("[::1]:80", h, 64, &p), 0);
	ck_assert_str_eq(h, "::1");
	ck_assert_int_eq(baton_split_host_port("host", h, 64, &p),
			 BATON_EINVAL);
	ck_assert_int_eq(baton_split_host_port(":80", h, 64, &p), BATON_EINVAL);
	ck_assert_int_eq(baton_split_host_port("h:0", h, 64, &p), BATON_EINVAL);
	ck_assert_int_eq(baton_split_host_port("h:80x", h, 64, &p),
			 BATON_EINVAL);
}
END_TEST

/* An empty agentApi.url means "derive it"; it must not take the agent CA
 * with it (it freed caCert and caKey, which config_free freed again). */
START_TEST(empty_agent_url_keeps_the_agent_ca)
{
	struct baton_batond_config cfg;
	int rv = load_string("region: a\nagentApi: {url: '', caCert: /ca.crt, "
			     "caKey: /ca.key}\n",
			     &cfg);
	ck_assert_msg(rv == 0, "%s", cfg.errmsg);
	ck_assert_ptr_null(cfg.agent_api_url);
	ck_assert_str_eq(cfg.agent_ca_cert, "/ca.crt");
	ck_assert_str_eq(cfg.agent_ca_key, "/ca.key");
	baton_batond_config_free(&cfg);
}
END_TEST

/* designation (--designation sets the same field): off unless the file
 * says true. */
START_TEST(designation_is_off_unless_enabled)
{
	static const struct {
		const char *yaml;
		bool want;
	} cases[] = {
	    {"region: a\n", false},
	    {"region: a\ndesignation: true\n", true},
	    {"region: a\ndesignation: false\n", false},
	    {"region: a\ndesignation:\n", false},
	};
	struct baton_batond_config cfg;

	baton_batond_config_defaults(&cfg);
	ck_assert(!cfg.designation);
	baton_batond_config_free(&cfg);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rv = load_string(cases[i].yaml, &cfg);
		ck_assert_msg(rv == 0, "%s", cfg.errmsg);
		ck_assert_msg(cfg.designation == cases[i].want, "%s",
			      cases[i].yaml);
		baton_batond_config_free(&cfg);
	}
}
END_TEST

START_TEST(kube_client_limits_default_and_fractions)
{
	struct baton_batond_config cfg;
	int rv = load_string("region: a\n", &cfg);
	ck_assert_msg(rv == 0, "%s", cfg.errmsg);
	ck_assert(cfg.kube_qps == BATON_BATOND_DEFAULT_KUBE_QPS);
	ck_assert_uint_eq(cfg.kube_burst, BATON_BATOND_DEFAULT_KUBE_BURST);
	baton_batond_config_free(&cfg);
	/* client-go's QPS is a float too; one key alone keeps the other's
	 * default */
	rv = load_string("region: a\nkubeClient: {qps: 12.5}\n", &cfg);
	ck_assert_msg(rv == 0, "%s", cfg.errmsg);
	ck_assert(cfg.kube_qps == 12.5);
	ck_assert_uint_eq(cfg.kube_burst, BATON_BATOND_DEFAULT_KUBE_BURST);
	baton_batond_config_free(&cfg);
}
END_TEST

/* --kube-qps / --kube-burst: the whole argument is the number. */
static const struct {
	bool burst;
	const char *text;
	bool ok;
	double want;
} flags[] = {
    {false, "200", true, 200},	  {false, "0.5", true, 0.5},
    {false, "1e3", true, 1000},	  {false, "10000", true, 10000},
    {false, "0", false, 0},	  {false, "-1", false, 0},
    {false, "abc", false, 0},	  {false, "20x", false, 0},
    {false, "", false, 0},	  {false, " 5", false, 0},
    {false, "nan", false, 0},	  {false, "inf", false, 0},
    {false, "10000.5", false, 0}, {false, "1e400", false, 0},
    {true, "400", true, 400},	  {true, "1", true, 1},
    {true, "20000", true, 20000}, {true, "0", false, 0},
    {true, "-3", false, 0},	  {true, "2.5", false, 0},
    {true, "many", false, 0},	  {true, "", false, 0},
    {true, "20001", false, 0},	  {true, "99999999999999999999", false, 0},
};

START_TEST(kube_client_flags_parse_or_say_why)
{
	struct baton_batond_config cfg;
	int rv;

	baton_batond_config_defaults(&cfg);
	rv = flags[_i].burst
		 ? baton_batond_config_set_kube_burst(&cfg, flags[_i].text)
		 : baton_batond_config_set_kube_qps(&cfg, flags[_i].text);
	if (flags[_i].ok) {
		ck_assert_msg(rv == 0, "'%s': %s", flags[_i].text, cfg.errmsg);
		if (flags[_i].burst) {
			ck_assert_uint_eq(cfg.kube_burst,
					  (unsigned)flags[_i].want);
		} else {
			ck_assert(cfg.kube_qps == flags[_i].want);
		}
	} else {
		const char *flag =
		    flags[_i].burst ? "--kube-burst: " : "--kube-qps: ";
		char quoted[64];
		ck_assert_int_eq(rv, BATON_ECONFIG);
		/* names the flag and repeats what was given */
		snprintf(quoted, sizeof quoted, "'%s'", flags[_i].text);
		ck_assert_msg(strstr(cfg.errmsg, flag) != NULL &&
				  strstr(cfg.errmsg, quoted) != NULL,
			      "'%s': %s", flags[_i].text, cfg.errmsg);
		/* and the old value stays */
		ck_assert(cfg.kube_qps == BATON_BATOND_DEFAULT_KUBE_QPS);
		ck_assert_uint_eq(cfg.kube_burst,
				  BATON_BATOND_DEFAULT_KUBE_BURST);
	}
	baton_batond_config_free(&cfg);
}
END_TEST

/* The bucket batond's client gets by default: 400 requests at once, then
 * one every 5 ms (200/s) — four times what converging 200 databases
 * needed (48/s, issue 20). Time is passed in: no clock, no sleeping. */
START_TEST(default_bucket_allows_400_then_200_per_second)
{
	struct baton_kube_bucket b;
	uint64_t wait = 0;

	baton_kube_bucket_init(&b, BATON_BATOND_DEFAULT_KUBE_QPS,
			       BATON_BATOND_DEFAULT_KUBE_BURST, 1000);
	for (int i = 0; i < 400; i++) {
		ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 1000), 0);
	}
	ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 1000), 5);
	ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 1000), 10);
	/* one second later 200 tokens came back, 2 were owed */
	for (int i = 0; i < 198; i++) {
		ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 2000), 0);
	}
	ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 2000), 5);
	/* sustained: 2,000 more at once are spread over 10 s */
	for (int i = 0; i < 2000; i++) {
		wait = baton_kube_bucket_reserve(&b, 2000);
	}
	ck_assert_uint_eq(wait, 10005);
	/* idle for a minute: the bucket holds 400, not 12,000 */
	b.tokens = 0;
	b.last_ms = 100000;
	for (int i = 0; i < 400; i++) {
		ck_assert_uint_eq(baton_kube_bucket_reserve(&b, 160000), 0);
	}
	ck_assert_uint_gt(baton_kube_bucket_reserve(&b, 160000), 0);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("batond-config");
	TCase *tc = tcase_create("config");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, chart_rendered_config_loads);
	tcase_add_loop_test(tc, broken_configs_name_the_field, 0,
			    sizeof broken / sizeof broken[0]);
	tcase_add_test(tc, missing_file_is_a_clear_error);
	tcase_add_test(tc, istio_cluster_ids_map_regions);
	tcase_add_test(tc, yaml_scalars_are_typed);
	tcase_add_test(tc, yaml_depth_is_bounded);
	tcase_add_test(tc, host_port_split);
	tcase_add_test(tc, empty_agent_url_keeps_the_agent_ca);
	tcase_add_test(tc, kube_client_limits_default_and_fractions);
	tcase_add_test(tc, designation_is_off_unless_enabled);
	tcase_add_loop_test(tc, kube_client_flags_parse_or_say_why, 0,
			    sizeof flags / sizeof flags[0]);
	tcase_add_test(tc, default_bucket_allows_400_then_200_per_second);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(config_suite)
