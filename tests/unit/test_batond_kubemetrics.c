/* Unit tests for operator/batond/kubemetrics: which kube clients on
 * batond's loop are counted under which cluster, and what the families
 * look like on /metrics. Requests go to a closed local port (connection
 * refused), the one answer a unit test gets without a server: code
 * "error". Answers with HTTP codes, 429s and watches are counted against
 * a real kube-apiserver in itest_kube.c (request_reports_from_a_real_server).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "batond/kubemetrics.h"
#include "harness.h"
#include "support/ports.h"
#include "kube/rest.h"

static uv_loop_t loop;

static void closed_cb(struct baton_kube_client *c)
{
	(*(int *)c->data)++;
}

static void done_cb(struct baton_kube_request *req, int status)
{
	ck_assert_int_eq(status, BATON_ECONN);
	(*(int *)req->data)++;
}

static void init_client(struct baton_kube_client *c, const char *server,
			const char *source, int *closed)
{
	struct baton_kube_config kc = {0};
	kc.server = (char *)server;
	kc.source = (char *)source;
	c->data = closed;
	ck_assert_int_eq(baton_kube_client_init(&loop, c, &kc, NULL), 0);
}

static char *render(struct baton_metrics *m)
{
	char *text;
	size_t len;
	ck_assert_int_eq(baton_metrics_render(m, &text, &len), 0);
	return text;
}

START_TEST(requests_counted_by_cluster_verb_code)
{
	struct baton_batond_config cfg;
	struct baton_metrics m;
	struct baton_kubemetrics km;
	struct baton_kube_client own, peer, agents;
	struct baton_kube_request r1, r2, r3, r4;
	struct baton_kube_ref pods = {NULL, "v1", "pods", "ns", NULL, NULL};
	struct baton_kube_ref pod = {NULL, "v1", "pods", "ns", "p", NULL};
	char server[64];
	int done = 0, closed = 0;
	char *text;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	baton_batond_config_defaults(&cfg);
	ck_assert_int_eq(baton_batond_config_set(&cfg.region, "eu-west"), 0);
	ck_assert_int_eq(baton_batond_config_set(&cfg.peers[0].name, "us-east"),
			 0);
	ck_assert_int_eq(baton_batond_config_set(&cfg.peers[0].kubeconfig,
						 "/etc/baton/peers/us-east"),
			 0);
	cfg.n_peers = 1;
	baton_metrics_init(&m);
	ck_assert_int_eq(baton_kubemetrics_start(&km, &m, &loop, &cfg, &own),
			 0);

	snprintf(server, sizeof server, "https://127.0.0.1:%d",
		 tst_closed_port());
	init_client(&own, server, "/etc/kubeconfig", &closed);
	init_client(&peer, server, "/etc/baton/peers/us-east", &closed);
	/* batond → agents: kube/client as a plain HTTP client */
	init_client(&agents, server, "agents", &closed);
	ck_assert_str_eq(baton_kubemetrics_cluster(&km, &own), "eu-west");
	ck_assert_str_eq(baton_kubemetrics_cluster(&km, &peer), "us-east");
	ck_assert_ptr_null(baton_kubemetrics_cluster(&km, &agents));

	r1.data = r2.data = r3.data = r4.data = &done;
	ck_assert_int_eq(baton_kube_get(&own, &r1, &pod, done_cb), 0);
	ck_assert_int_eq(baton_kube_list(&own, &r2, &pods, NULL, done_cb), 0);
	ck_assert_int_eq(baton_kube_list(&peer, &r3, &pods, NULL, done_cb), 0);
	ck_assert_int_eq(baton_kube_get(&agents, &r4, &pod, done_cb), 0);
	LOOP_RUN_UNTIL(&loop, done == 4);

	text = render(&m);
	ck_assert_msg(strstr(text, "baton_kube_requests_total{api_region="
				   "\"eu-west\",verb=\"GET\",code=\"error\"} "
				   "1\n") != NULL,
		      "%s", text);
	ck_assert_msg(strstr(text, "baton_kube_requests_total{api_region="
				   "\"eu-west\",verb=\"LIST\",code=\"error\"} "
				   "1\n") != NULL,
		      "%s", text);
	ck_assert_msg(strstr(text, "baton_kube_requests_total{api_region="
				   "\"us-east\",verb=\"LIST\",code=\"error\"} "
				   "1\n") != NULL,
		      "%s", text);
	ck_assert_msg(
	    strstr(text, "baton_kube_request_duration_seconds_count{"
			 "api_region=\"eu-west\",verb=\"GET\"} 1\n") != NULL,
	    "%s", text);
	ck_assert_msg(strstr(text, "# TYPE baton_kube_request_duration_seconds "
				   "histogram\n") != NULL,
		      "%s", text);
	/* exactly three series: the agents' request is not an API call */
	ck_assert_uint_eq(km.requests->n_series, 3);
	ck_assert_uint_eq(km.seconds->n_series, 3);
	free(text);

	baton_kube_client_close(&own, closed_cb);
	baton_kube_client_close(&peer, closed_cb);
	baton_kube_client_close(&agents, closed_cb);
	LOOP_RUN_UNTIL(&loop, closed == 3);
	baton_kubemetrics_stop(&km);
	LOOP_TEARDOWN(&loop);
	baton_metrics_free(&m);
	baton_batond_config_free(&cfg);
}
END_TEST

/* Stopping frees the loop's observer slot (the table has
 * BATON_KUBE_MAX_OBSERVED_LOOPS): twice that many loops, one after the
 * other, each find one. Loops are only keys here, never run. */
START_TEST(stop_frees_the_observer_slot)
{
	struct baton_batond_config cfg;
	struct baton_metrics m;
	struct baton_kubemetrics km;
	struct baton_kube_client own;
	static uv_loop_t loops[2 * BATON_KUBE_MAX_OBSERVED_LOOPS];

	baton_batond_config_defaults(&cfg);
	ck_assert_int_eq(baton_batond_config_set(&cfg.region, "a"), 0);
	for (int i = 0; i < 2 * BATON_KUBE_MAX_OBSERVED_LOOPS; i++) {
		baton_metrics_init(&m);
		ck_assert_int_eq(
		    baton_kubemetrics_start(&km, &m, &loops[i], &cfg, &own), 0);
		baton_kubemetrics_stop(&km);
		baton_metrics_free(&m);
	}
	baton_batond_config_free(&cfg);
}
END_TEST

static Suite *kubemetrics_suite(void)
{
	Suite *s = suite_create("batond-kubemetrics");
	TCase *tc = tcase_create("kubemetrics");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, requests_counted_by_cluster_verb_code);
	tcase_add_test(tc, stop_frees_the_observer_slot);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(kubemetrics_suite)
