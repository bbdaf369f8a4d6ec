/* The controller's start-up unwinding (issue 18 item 2).
 *
 * The controller's memory is the caller's (baton_controller_init/_close,
 * configured by struct baton_controller_config: no struct baton_batond).
 * baton_controller_init() opens its parts in stages (peer fencing, work
 * queue, informers, peer watches, discovery timer, agent driver).
 * Each test makes the Nth stage fail (common/failpoint.h) and checks that
 * what was opened is closed: the loop runs dry and uv_loop_close() returns
 * 0, and under ASan nothing leaks and nothing is touched after it was
 * freed (the controller used to free itself while the work queue's and the
 * informers' timers were still registered with the loop). The last test
 * starts it fully and stops it the ordinary way.
 *
 * The kube client points at a port nobody listens on: the informers' first
 * lists fail and retry, which is all a start-up needs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "batond/controller.h"
#include "batond/scope.h"
#include "http/metrics.h"
#include "kube/client.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "harness.h"
#include "support/ports.h"

static const char kubeconfig[] =
    "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
    "clusters:\n- name: t\n  cluster:\n    server: http://127.0.0.1:9\n"
    "users:\n- name: t\n  user: {}\n"
    "contexts:\n- name: t\n  context: {cluster: t, user: t}\n";

struct fixture {
	uv_loop_t loop;
	struct baton_batond_config cfg;
	struct baton_scope scope;
	struct baton_kube_client kube;
	struct baton_controller_config cc;
	struct baton_controller c;
	bool stopped;
};

static void kube_closed_cb(struct baton_kube_client *c)
{
	(void)c;
}

static void fixture_init(struct fixture *f)
{
	struct baton_kube_config kc;
	char bind[64];

	memset(f, 0, sizeof *f);
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	baton_batond_config_defaults(&f->cfg);
	ck_assert_int_eq(baton_batond_config_set(&f->cfg.region, "eu"), 0);
	/* the agent API on a free port of the loopback */
	snprintf(bind, sizeof bind, "127.0.0.1:%d", tst_closed_port());
	ck_assert_int_eq(baton_batond_config_set(&f->cfg.agent_api_bind, bind),
			 0);
	baton_scope_init(&f->scope, &f->cfg);
	ck_assert_int_eq(baton_kube_config_load_data(&kc, kubeconfig,
						     strlen(kubeconfig), "t",
						     NULL, NULL),
			 0);
	ck_assert_int_eq(baton_kube_client_init(&f->loop, &f->kube, &kc, NULL),
			 0);
	baton_kube_config_free(&kc);
	/* no consensus, no events, no metrics: what a start-up needs */
	f->cc = (struct baton_controller_config){
	    .cfg = &f->cfg, .scope = &f->scope, .kube = &f->kube};
	f->c.data = f;
}

static int fixture_init_controller(struct fixture *f, char *errmsg)
{
	return baton_controller_init(&f->loop, &f->c, &f->cc, errmsg);
}

static void fixture_close(struct fixture *f)
{
	baton_kube_client_close(&f->kube, kube_closed_cb);
	LOOP_TEARDOWN(&f->loop);
	baton_scope_free(&f->scope);
	baton_batond_config_free(&f->cfg);
}

static void stopped_cb(struct baton_controller *c)
{
	struct fixture *f = c->data;
	f->stopped = true;
}

/* How many stages (fail points) a full start passes, then each one
 * failing in turn. */
static unsigned count_stages(void)
{
	struct fixture f;
	char errmsg[BATON_ERRMSG_SIZE];

	fixture_init(&f);
	baton_test_fail_at = 0;
	baton_test_fail_seen = 0;
	ck_assert_int_eq(fixture_init_controller(&f, errmsg), 0);
	baton_controller_close(&f.c, stopped_cb);
	LOOP_RUN_UNTIL(&f.loop, f.stopped);
	fixture_close(&f);
	return baton_test_fail_seen;
}

START_TEST(test_start_and_stop)
{
	/* seven or more: fencing, queue (init, run), two informers, their
	 * starts, the agent driver and its own stages */
	ck_assert_uint_ge(count_stages(), 7);
}
END_TEST

START_TEST(test_start_fails_at_each_stage)
{
	unsigned n = count_stages();

	for (unsigned at = 1; at <= n; at++) {
		struct fixture f;
		char errmsg[BATON_ERRMSG_SIZE] = "";
		int rv;

		fixture_init(&f);
		baton_test_fail_at = at;
		rv = fixture_init_controller(&f, errmsg);
		baton_test_fail_at = 0;
		ck_assert_msg(rv != 0, "stage %u of %u did not fail", at, n);
		ck_assert_msg(!f.stopped, "stage %u called a close callback",
			      at);
		ck_assert_msg(errmsg[0] != '\0', "stage %u: no message", at);
		/* the unwinding finishes on the loop; then nothing is left */
		fixture_close(&f);
	}
}
END_TEST

/* The agent API cannot listen (its port is taken): the agent driver, the
 * last stage, closes what it opened itself (it used to hand back a
 * half-started driver for the controller to stop), and so does the
 * controller. */
START_TEST(test_agent_api_port_taken)
{
	struct fixture f;
	char errmsg[BATON_ERRMSG_SIZE] = "";
	char bind_to[64];
	int fd = take_loopback_port(bind_to, sizeof bind_to);

	fixture_init(&f);
	ck_assert_int_eq(
	    baton_batond_config_set(&f.cfg.agent_api_bind, bind_to), 0);
	ck_assert_int_ne(fixture_init_controller(&f, errmsg), 0);
	ck_assert_msg(strstr(errmsg, "agent driver") != NULL, "%s", errmsg);
	fixture_close(&f);
	close(fd);
}
END_TEST

static Suite *controller_suite(void)
{
	Suite *s = suite_create("batond_controller");
	TCase *tc = tcase_create("startup");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_start_and_stop);
	tcase_add_test(tc, test_start_fails_at_each_stage);
	tcase_add_test(tc, test_agent_api_port_taken);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(controller_suite)
