/* Unit tests for operator/batond/peerfence: the round of peer fencing that
 * precedes labelling an instance primary at a new epoch. The properties
 * under test: a peer that is not watched or not in the spec never blocks;
 * a peer whose API server cannot be asked (connection refused, a real
 * socket) holds the round only until its request fails; one round per
 * database at a time; a round ended at an epoch answers for that epoch and
 * older ones, a newer epoch starts a new round; a stop cancels the requests
 * in flight without asking the owner to look again. What a reachable API
 * server makes of the LIST and PATCH: tests/integration/test_failover.sh
 * ("stale primary pod is fenced through its API server").
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "batond/dbspec.h"
#include "batond/peerfence.h"
#include "common/error.h"
#include "harness.h"
#include "support/ports.h"

static const char cluster[] =
    "{\"apiVersion\": \"baton.dev/v1alpha1\", \"kind\": \"DatabaseCluster\","
    " \"metadata\": {\"name\": \"orders\", \"namespace\": \"shop\","
    "  \"uid\": \"00000000-0000-4000-8000-000000000001\"},"
    " \"spec\": {\"regions\": [{\"name\": \"eu-west\", \"role\": \"data\"},"
    "  {\"name\": \"us-east\", \"role\": \"data\"}],"
    "  \"primaryRegion\": \"eu-west\"}}";

#define DB "shop/orders"

static uv_loop_t loop;
static struct baton_dbstate dbs; /* the rounds live in its records */

struct owner {
	const char *names[2];
	struct baton_kube_client clients[2];
	bool have_client[2];
	int done;    /* env.done calls */
	int settled; /* env.settled calls */
	int events;  /* env.event calls */
	int opened;  /* clients initialised */
	int closed;  /* clients closed */
};

static const char *peer_name(void *data, int p)
{
	struct owner *o = data;
	return o->names[p];
}

static struct baton_kube_client *client(void *data, int p)
{
	struct owner *o = data;
	return o->have_client[p] ? &o->clients[p] : NULL;
}

static void done_cb(void *data, const char *db)
{
	struct owner *o = data;
	ck_assert_str_eq(db, DB);
	o->done++;
}

static void event_cb(void *data, const char *db, const char *type,
		     const char *reason, const char *message)
{
	struct owner *o = data;
	(void)db;
	(void)type;
	(void)reason;
	(void)message;
	o->events++;
}

static void settled_cb(void *data)
{
	struct owner *o = data;
	o->settled++;
}

static void client_closed(struct baton_kube_client *c)
{
	struct owner *o = c->data;
	o->closed++;
}

static void refusing_client(struct owner *o, int p)
{
	struct baton_kube_config cfg = {0};
	struct baton_kube_client_opts opts = {0};
	char server[64];

	snprintf(server, sizeof server, "https://127.0.0.1:%d",
		 tst_closed_port());
	cfg.server = server;
	cfg.token = "secret";
	opts.timeout_ms = 5000;
	ck_assert_int_eq(
	    baton_kube_client_init(&loop, &o->clients[p], &cfg, &opts), 0);
	o->clients[p].data = o;
	o->have_client[p] = true;
	o->opened++;
}

static void setup(struct owner *o, struct baton_peerfence *f,
		  struct baton_dbspec *spec, const char *peer0,
		  const char *peer1)
{
	char errmsg[BATON_ERRMSG_SIZE];
	json_t *obj = json_loads(cluster, 0, NULL);
	struct baton_peerfence_env env = {
	    .data = o,
	    .dbs = &dbs,
	    .region = "eu-west",
	    .n_peers = 2,
	    .peer_name = peer_name,
	    .client = client,
	    .done = done_cb,
	    .event = event_cb,
	    .settled = settled_cb,
	};

	memset(o, 0, sizeof *o);
	o->names[0] = peer0;
	o->names[1] = peer1;
	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(baton_dbspec_parse(obj, spec, errmsg), 0);
	json_decref(obj);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	baton_dbstate_init(&dbs);
	ck_assert_int_eq(baton_peerfence_init(f, &env), 0);
}

static void teardown(struct owner *o, struct baton_peerfence *f)
{
	for (int p = 0; p < 2; p++) {
		if (o->have_client[p]) {
			baton_kube_client_close(&o->clients[p], client_closed);
		}
	}
	LOOP_RUN_UNTIL(&loop, o->closed == o->opened);
	ck_assert_int_eq(baton_peerfence_pending(f), 0);
	baton_peerfence_close(f);
	baton_dbstate_free(&dbs);
	LOOP_TEARDOWN(&loop);
}

START_TEST(peers_not_watched_or_not_in_the_spec_never_block)
{
	struct owner o;
	struct baton_peerfence f;
	struct baton_dbspec spec;

	/* us-east is in the spec but not watched (no client); ap-south has
	 * a client but is not one of the database's regions */
	setup(&o, &f, &spec, "us-east", "ap-south");
	refusing_client(&o, 1);
	ck_assert(baton_peerfence_done(&f, &spec, DB, 3));
	ck_assert_int_eq(baton_peerfence_pending(&f), 0);
	/* nothing was started, so nothing will call back */
	ck_assert_int_eq(o.done, 0);
	/* the round counts as ended at 3: asked again, still nothing out */
	ck_assert(baton_peerfence_done(&f, &spec, DB, 3));
	ck_assert(baton_peerfence_done(&f, &spec, DB, 2));
	ck_assert_int_eq(baton_peerfence_pending(&f), 0);
	teardown(&o, &f);
}
END_TEST

START_TEST(an_unreachable_peer_holds_the_round_until_it_fails)
{
	struct owner o;
	struct baton_peerfence f;
	struct baton_dbspec spec;

	setup(&o, &f, &spec, "us-east", "ap-south");
	refusing_client(&o, 0);
	ck_assert(!baton_peerfence_done(&f, &spec, DB, 5));
	ck_assert_int_eq(baton_peerfence_pending(&f), 1);
	/* asked again while the round is out: no second round */
	ck_assert(!baton_peerfence_done(&f, &spec, DB, 5));
	ck_assert_int_eq(baton_peerfence_pending(&f), 1);

	LOOP_RUN_UNTIL(&loop, o.done == 1);
	ck_assert_int_eq(baton_peerfence_pending(&f), 0);
	ck_assert_int_eq(o.events, 0);	/* nothing was fenced */
	ck_assert_int_eq(o.settled, 0); /* not stopping */
	/* ended at 5: answers for 5 and older at once */
	ck_assert(baton_peerfence_done(&f, &spec, DB, 5));
	ck_assert(baton_peerfence_done(&f, &spec, DB, 4));
	ck_assert_int_eq(baton_peerfence_pending(&f), 0);
	/* a newer epoch is a new round */
	ck_assert(!baton_peerfence_done(&f, &spec, DB, 6));
	ck_assert_int_eq(baton_peerfence_pending(&f), 1);
	LOOP_RUN_UNTIL(&loop, o.done == 2);
	ck_assert(baton_peerfence_done(&f, &spec, DB, 6));
	teardown(&o, &f);
}
END_TEST

START_TEST(a_stop_cancels_the_round_without_asking_to_look_again)
{
	struct owner o;
	struct baton_peerfence f;
	struct baton_dbspec spec;

	setup(&o, &f, &spec, "us-east", "ap-south");
	refusing_client(&o, 0);
	ck_assert(!baton_peerfence_done(&f, &spec, DB, 7));
	ck_assert_int_eq(baton_peerfence_pending(&f), 1);
	f.stopping = true;
	/* closing the client cancels the request: it settles, and the
	 * owner is not asked to reconcile the database again */
	baton_kube_client_close(&o.clients[0], client_closed);
	o.have_client[0] = false;
	LOOP_RUN_UNTIL(&loop, o.closed == 1);
	ck_assert_int_eq(baton_peerfence_pending(&f), 0);
	ck_assert_int_eq(o.settled, 1);
	ck_assert_int_eq(o.done, 0);
	teardown(&o, &f);
}
END_TEST

static Suite *peerfence_suite(void)
{
	Suite *s = suite_create("batond_peerfence");
	TCase *tc = tcase_create("round");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, peers_not_watched_or_not_in_the_spec_never_block);
	tcase_add_test(tc, an_unreachable_peer_holds_the_round_until_it_fails);
	tcase_add_test(tc,
		       a_stop_cancels_the_round_without_asking_to_look_again);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(peerfence_suite)
