/* What every member's batond knows (batond/fleetlevel.h), asked over
 * HTTP from two peers on loopback (this batond is the third member):
 * "commandLevel" read from their /v1/status, a peer that says nothing
 * counted as a batond from before (0), nothing known until every peer
 * has answered, a failed or malformed answer keeping what the peer said
 * before, a level never going back, answers after the stop ignored.
 */
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "batond/fleetlevel.h"
#include "consensus/fsm.h"
#include "harness.h"
#include "http/server.h"
#include "kube/config.h"
#include "support/kubeconfig.h"

struct peer {
	struct baton_http_server srv;
	struct baton_kube_client client;
	const char *body; /* what GET /v1/status answers; NULL: 500 */
	int asked;
	bool srv_closed, client_closed;
};

struct world {
	uv_loop_t loop;
	struct peer peers[2]; /* members 0 and 2; 1 is this batond */
	struct baton_fleetlevel fl;
	struct baton_kube_client *clients[3];
	uint64_t now;
};

static void status_cb(struct baton_http_request *req, void *data)
{
	struct peer *p = data;

	p->asked++;
	if (p->body == NULL) {
		baton_http_respond_error(req, 500, "broken");
		return;
	}
	baton_http_respond(req, 200, "application/json", p->body,
			   strlen(p->body), NULL);
}

static void srv_closed_cb(struct baton_http_server *srv)
{
	struct peer *p =
	    (struct peer *)((char *)srv - offsetof(struct peer, srv));
	p->srv_closed = true;
}

static void client_closed_cb(struct baton_kube_client *c)
{
	struct peer *p =
	    (struct peer *)((char *)c - offsetof(struct peer, client));
	p->client_closed = true;
}

static void peer_start(struct world *w, struct peer *p)
{
	struct baton_http_config hc = {0};

	ck_assert_int_eq(baton_http_server_init(&w->loop, &p->srv, &hc), 0);
	ck_assert_int_eq(
	    baton_http_route(&p->srv, "GET", "/v1/status", status_cb, p), 0);
	ck_assert_int_eq(baton_http_server_listen(&p->srv, "127.0.0.1", 0), 0);
	tst_local_client(&w->loop, &p->client, baton_http_server_port(&p->srv));
}

static struct world *world_start(void)
{
	struct world *w = calloc(1, sizeof *w);

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(uv_loop_init(&w->loop), 0);
	peer_start(w, &w->peers[0]);
	peer_start(w, &w->peers[1]);
	w->clients[0] = &w->peers[0].client;
	w->clients[1] = NULL; /* this batond */
	w->clients[2] = &w->peers[1].client;
	baton_fleetlevel_init(&w->fl, 3, 1);
	w->now = 1000000;
	return w;
}

static void world_stop(struct world *w)
{
	baton_fleetlevel_stop(&w->fl);
	for (int i = 0; i < 2; i++) {
		baton_kube_client_close(&w->peers[i].client, client_closed_cb);
		baton_http_server_close(&w->peers[i].srv, srv_closed_cb);
	}
	LOOP_RUN_UNTIL(&w->loop,
		       w->peers[0].client_closed && w->peers[0].srv_closed &&
			   w->peers[1].client_closed && w->peers[1].srv_closed);
	LOOP_TEARDOWN(&w->loop);
	free(w);
}

/* One round: ask (at w->now), run until no request is pending, then move
 * the clock past the asking interval. */
static void round_trip(struct world *w)
{
	baton_fleetlevel_ask(&w->fl, w->clients, w->now);
	LOOP_RUN_UNTIL(&w->loop,
		       !w->fl.peers[0].pending && !w->fl.peers[2].pending);
	w->now += BATON_FLEETLEVEL_ASK_MS;
}

START_TEST(parse_reads_command_level)
{
	json_t *j;

	ck_assert_int_eq(baton_fleetlevel_parse(NULL), -1);
	j = json_array();
	ck_assert_int_eq(baton_fleetlevel_parse(j), -1);
	json_decref(j);
	j = json_pack("{s:s}", "self", "eu");
	ck_assert_int_eq(baton_fleetlevel_parse(j), 0); /* from before */
	json_decref(j);
	j = json_pack("{s:i}", "commandLevel", 3);
	ck_assert_int_eq(baton_fleetlevel_parse(j), 3);
	json_decref(j);
	j = json_pack("{s:s}", "commandLevel", "1");
	ck_assert_int_eq(baton_fleetlevel_parse(j), -1);
	json_decref(j);
	j = json_pack("{s:i}", "commandLevel", -1);
	ck_assert_int_eq(baton_fleetlevel_parse(j), -1);
	json_decref(j);
	j = json_pack("{s:I}", "commandLevel", (json_int_t)1 << 40);
	ck_assert_int_eq(baton_fleetlevel_parse(j), -1);
	json_decref(j);
}
END_TEST

START_TEST(a_fleet_of_one_knows_its_own_level)
{
	struct baton_fleetlevel fl;

	baton_fleetlevel_init(&fl, 1, 0);
	ck_assert_uint_eq(baton_fleetlevel_known(&fl), BATON_COMMAND_LEVEL);
}
END_TEST

/* An older peer (no commandLevel) holds the fleet at 0 until it is
 * upgraded; nothing is known before both peers answered. */
START_TEST(the_lowest_of_every_member)
{
	struct world *w = world_start();

	ck_assert_uint_eq(baton_fleetlevel_known(&w->fl), 0);
	w->peers[0].body = "{\"self\":\"a\",\"commandLevel\":1}";
	w->peers[1].body = NULL; /* no answer yet */
	round_trip(w);
	ck_assert_int_eq(w->peers[0].asked, 1);
	ck_assert_uint_eq(baton_fleetlevel_known(&w->fl), 0);
	w->peers[1].body = "{\"self\":\"c\"}"; /* a batond from before */
	round_trip(w);
	ck_assert_uint_eq(baton_fleetlevel_known(&w->fl), 0);
	w->peers[1].body = "{\"self\":\"c\",\"commandLevel\":1}";
	/* asked again only after the interval */
	baton_fleetlevel_ask(&w->fl, w->clients,
			     w->now - BATON_FLEETLEVEL_ASK_MS + 1);
	ck_assert(!w->fl.peers[2].pending);
	round_trip(w);
	ck_assert_int_eq(w->peers[1].asked, 3);
	ck_assert_uint_eq(baton_fleetlevel_known(&w->fl), 1);
	world_stop(w);
}
END_TEST

/* What a peer said stays through a failed or malformed answer and never
 * goes back (a restarted older batond: the FSM's level only rises too);
 * a peer with no client is not asked and holds the level at 0. */
START_TEST(failures_keep_what_was_said)
{
	struct world *w = world_start();

	w->peers[0].body = "{\"commandLevel\":1}";
	w->peers[1].body = "{\"commandLevel\":2}";
	round_trip(w);
	ck_assert_uint_eq(baton_fleetlevel_known(&w->fl), 1);
	w->peers[0].body = NULL; /* 500 */
	round_trip(w);
	w->peers[0].body = "not json";
	round_trip(w);
	w->peers[0].body = "{\"commandLevel\":\"x\"}";
	round_trip(w);
	w->peers[0].body = "{\"commandLevel\":0}";
	round_trip(w);
	ck_assert_int_eq(w->peers[0].asked, 5);
	ck_assert_uint_eq(w->fl.peers[0].level, 1);
	ck_assert_uint_eq(baton_fleetlevel_known(&w->fl), 1);
	world_stop(w);

	w = world_start();
	w->clients[2] = NULL;
	w->peers[0].body = "{\"commandLevel\":1}";
	baton_fleetlevel_ask(&w->fl, w->clients, w->now);
	LOOP_RUN_UNTIL(&w->loop, !w->fl.peers[0].pending);
	ck_assert_int_eq(w->peers[1].asked, 0);
	ck_assert_uint_eq(baton_fleetlevel_known(&w->fl), 0);
	world_stop(w);
}
END_TEST

/* An answer that comes after the stop is not kept. */
START_TEST(answers_after_the_stop_are_ignored)
{
	struct world *w = world_start();

	w->peers[0].body = "{\"commandLevel\":1}";
	w->peers[1].body = "{\"commandLevel\":1}";
	baton_fleetlevel_ask(&w->fl, w->clients, w->now);
	baton_fleetlevel_stop(&w->fl);
	LOOP_RUN_UNTIL(&w->loop,
		       !w->fl.peers[0].pending && !w->fl.peers[2].pending);
	ck_assert(!w->fl.peers[0].answered && !w->fl.peers[2].answered);
	baton_fleetlevel_ask(&w->fl, w->clients, w->now + 10000);
	ck_assert(!w->fl.peers[0].pending); /* nothing asked either */
	ck_assert_uint_eq(baton_fleetlevel_known(&w->fl), 0);
	world_stop(w);
}
END_TEST

static Suite *fleetlevel_suite(void)
{
	Suite *s = suite_create("batond_fleetlevel");
	TCase *tc = tcase_create("fleetlevel");

	tcase_add_test(tc, parse_reads_command_level);
	tcase_add_test(tc, a_fleet_of_one_knows_its_own_level);
	tcase_add_test(tc, the_lowest_of_every_member);
	tcase_add_test(tc, failures_keep_what_was_said);
	tcase_add_test(tc, answers_after_the_stop_are_ignored);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(fleetlevel_suite)
