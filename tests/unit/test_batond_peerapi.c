/* The peer API's POST /v1/propose over real mutual TLS (raftglue.c's
 * handler and batond/peerpropose.c's rules together): a one-region fleet
 * "eu" whose leader serves the peer API with the fleet's certificates,
 * and clients presenting the certificates of regions eu, us and ap, made
 * in-process with OpenSSL (the region is in the SAN URI
 * baton://region/<name>, as for the Raft transport).
 *
 * "orders" has eu as its primary and us, ap as standby regions. A
 * DESIGNATE forwarded by the region that proposes that step is proposed
 * and applied (200 with the FSM's verdict); a forged one, a region's
 * certificate proposing another region's step, is refused before it
 * reaches the log (403 or 409) and changes nothing. What the FSM does with
 * an accepted step is test_consensus_fsm's; every refusal rule is
 * test_batond_peerpropose's. This proves the handler asks the rule, with
 * the certificate's identity and the leader's applied state.
 *
 * The client is libcurl's easy interface in a thread, since the server
 * runs on this test's loop.
 *
 * Then the path a real follower takes: two batonds (eu, us) in one
 * process, a fleet over mutual TLS, and the follower's own proposals
 * forwarded by propose() with its certificate. Whoever wins the
 * election: the follower's JOIN for itself applies, its LEAVE of its own
 * instance (the primary's step) is refused; and where the follower is
 * the primary, its LEAVE of the leader's region's instance applies. */
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "batond/config.h"
#include "batond/raftglue.h"
#include "common/error.h"
#include "consensus/fsm.h"
#include "harness.h"
#include "support/ports.h"
#include "support/testpki.h"

/* ---- the fleet's certificates ------------------------------------------- */

static void issue(const char *dir, X509 *ca, EVP_PKEY *ca_key,
		  const char *region)
{
	char san[128];

	/* the IP too: batond's own peer client checks the host */
	snprintf(san, sizeof san, "URI:baton://region/%s,IP:127.0.0.1", region);
	testpki_issue(dir, region, ca, ca_key, region, san, -60, 86400);
}

static void pki_make(const char *dir)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	X509 *ca;
	char path[160];

	ck_assert_ptr_nonnull(ca_key);
	ca = testpki_cert(NULL, NULL, ca_key, "baton fleet CA", NULL, -60,
			  86400);
	snprintf(path, sizeof path, "%s/ca.crt", dir);
	testpki_write_pem(path, ca, NULL);
	issue(dir, ca, ca_key, "eu");
	issue(dir, ca, ca_key, "us");
	issue(dir, ca, ca_key, "ap");
	X509_free(ca);
	EVP_PKEY_free(ca_key);
}

/* ---- a one-region fleet serving the peer API over mutual TLS ------------ */

struct fixture {
	uv_loop_t loop;
	struct baton_batond_config cfg;
	struct baton_metrics metrics;
	struct baton_raftglue g;
	const struct baton_consensus_ops *ops;
	char root[64];
	char api[64];
	bool stopped;
	bool fatal;
};

static void fatal_cb(void *data)
{
	struct fixture *f = data;
	f->fatal = true;
}

static void stopped_cb(struct baton_raftglue *g)
{
	struct fixture *f = g->data;
	f->stopped = true;
}

static void set_path(char **field, const char *root, const char *name)
{
	char path[160];

	snprintf(path, sizeof path, "%s/%s", root, name);
	ck_assert_int_eq(baton_batond_config_set(field, path), 0);
}

static void fixture_start(struct fixture *f)
{
	struct baton_raftglue_config rc = {.cfg = &f->cfg,
					   .metrics = &f->metrics,
					   .fatal = fatal_cb,
					   .data = f};
	char errmsg[BATON_ERRMSG_SIZE] = "";
	char bind[64];
	int rv;

	memset(f, 0, sizeof *f);
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	snprintf(f->root, sizeof f->root, "/tmp/baton-peerapi-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->root));
	pki_make(f->root);
	baton_batond_config_defaults(&f->cfg);
	ck_assert_int_eq(baton_batond_config_set(&f->cfg.region, "eu"), 0);
	snprintf(bind, sizeof bind, "127.0.0.1:%d", tst_closed_port());
	ck_assert_int_eq(baton_batond_config_set(&f->cfg.raft_bind, bind), 0);
	snprintf(f->api, sizeof f->api, "127.0.0.1:%d", tst_closed_port());
	ck_assert_int_eq(baton_batond_config_set(&f->cfg.peer_api_bind, f->api),
			 0);
	set_path(&f->cfg.raft_dir, f->root, "raft");
	set_path(&f->cfg.tls_ca, f->root, "ca.crt");
	set_path(&f->cfg.tls_cert, f->root, "eu.crt");
	set_path(&f->cfg.tls_key, f->root, "eu.key");
	f->cfg.election_timeout_ms = 300;
	f->cfg.heartbeat_ms = 50;
	baton_metrics_init(&f->metrics);
	f->g.data = f;
	rv = baton_raftglue_init(&f->loop, &f->g, &rc, errmsg);
	ck_assert_msg(rv == 0, "start: %s", errmsg);
	f->ops = baton_raftglue_ops(&f->g);
	LOOP_RUN_UNTIL(&f->loop, f->ops->leader(f->ops->data) || f->fatal);
	ck_assert(!f->fatal);
}

static void fixture_stop(struct fixture *f)
{
	char cmdline[128];

	baton_raftglue_close(&f->g, stopped_cb);
	LOOP_RUN_UNTIL(&f->loop, f->stopped);
	LOOP_TEARDOWN(&f->loop);
	baton_metrics_free(&f->metrics);
	baton_batond_config_free(&f->cfg);
	snprintf(cmdline, sizeof cmdline, "rm -rf %s", f->root);
	ck_assert_int_eq(system(cmdline), 0);
}

/* ---- the client ---------------------------------------------------------- */

struct post {
	char url[96], cert[160], key[160], ca[160];
	char body[BATON_CMD_MAX * 2 + 32];
	char answer[1024];
	size_t len;
	long status;
	atomic_int done;
};

static size_t post_write_cb(char *p, size_t size, size_t n, void *data)
{
	struct post *req = data;
	size_t room = sizeof req->answer - 1 - req->len;
	size_t take = size * n < room ? size * n : room;

	memcpy(req->answer + req->len, p, take);
	req->len += take;
	req->answer[req->len] = '\0';
	return size * n;
}

static void *post_thread(void *data)
{
	struct post *req = data;
	CURL *c = curl_easy_init();

	if (c != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, req->url);
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca);
		curl_easy_setopt(c, CURLOPT_SSLCERT, req->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, req->key);
		/* the server's certificate names a region, not 127.0.0.1;
		 * what is under test is the client's */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, post_write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, req);
		if (curl_easy_perform(c) == CURLE_OK) {
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE,
					  &req->status);
		}
		curl_easy_cleanup(c);
	}
	atomic_store(&req->done, 1);
	return NULL;
}

/* POST CMD to the leader's peer API as region AS (its certificate); the
 * HTTP status, or 0 when no answer came. The answer's body in ANSWER. */
static long post_as(struct fixture *f, const char *as,
		    const struct baton_cmd *cmd, char *answer, size_t cap)
{
	struct post *req = calloc(1, sizeof *req);
	uint8_t raw[BATON_CMD_MAX];
	unsigned char b64[BATON_CMD_MAX * 2];
	size_t len = 0;
	pthread_t t;
	long status;

	ck_assert_ptr_nonnull(req);
	ck_assert_int_eq(baton_cmd_encode(cmd, raw, sizeof raw, &len), 0);
	EVP_EncodeBlock(b64, raw, (int)len);
	snprintf(req->body, sizeof req->body, "{\"cmd\":\"%s\"}", b64);
	snprintf(req->url, sizeof req->url, "https://%s/v1/propose", f->api);
	snprintf(req->cert, sizeof req->cert, "%s/%s.crt", f->root, as);
	snprintf(req->key, sizeof req->key, "%s/%s.key", f->root, as);
	snprintf(req->ca, sizeof req->ca, "%s/ca.crt", f->root);
	atomic_init(&req->done, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, post_thread, req), 0);
	LOOP_RUN_UNTIL(&f->loop, atomic_load(&req->done));
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	snprintf(answer, cap, "%s", req->answer);
	status = req->status;
	free(req);
	return status;
}

static struct baton_cmd designate(int step, uint8_t ordinal, uint64_t seq)
{
	struct baton_cmd c;

	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_DESIGNATE;
	snprintf(c.db, sizeof c.db, "shop/orders");
	snprintf(c.region, sizeof c.region, "us");
	c.epoch = 1;
	c.step = (uint8_t)step;
	c.ordinal = ordinal;
	c.desig_seq = seq;
	return c;
}

static const struct baton_region_state *us_state(struct fixture *f)
{
	const struct baton_db_state *db =
	    f->ops->db(f->ops->data, "shop/orders");

	ck_assert_ptr_nonnull(db);
	ck_assert_str_eq(db->regions[1].name, "us");
	return &db->regions[1];
}

#define ASSERT_ANSWER(got, want, answer, needle)                               \
	ck_assert_msg((got) == (want) && strstr((answer), (needle)) != NULL,   \
		      "status %ld, want %d with '%s': %s", (long)(got),        \
		      (want), (needle), (answer))

START_TEST(designate_forwarded_by_its_proposer_and_a_forged_one)
{
	static const char *const regions[] = {"eu", "us", "ap"};
	struct fixture f;
	struct baton_cmd reg, c;
	char answer[1024];
	long st;

	fixture_start(&f);
	memset(&reg, 0, sizeof reg);
	reg.type = BATON_CMD_REGISTER;
	snprintf(reg.db, sizeof reg.db, "shop/orders");
	/* no lease runs out while the test runs: nothing but these steps
	 * changes the database */
	reg.cfg.lease_ms = 600000;
	reg.cfg.renew_ms = 1000;
	reg.cfg.synchronous = true;
	reg.n_regions = 3;
	for (unsigned i = 0; i < 3; i++) {
		snprintf(reg.regions[i].name, sizeof reg.regions[i].name, "%s",
			 regions[i]);
	}
	snprintf(reg.primary, sizeof reg.primary, "eu");
	ck_assert_int_eq(f.ops->propose(f.ops->data, &reg), 0);
	LOOP_RUN_UNTIL(&f.loop, f.ops->db(f.ops->data, "shop/orders") != NULL);

	/* forged: ap's certificate proposing us's JOIN */
	c = designate(BATON_DESIGNATE_JOIN, 1, 0);
	st = post_as(&f, "ap", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 403, answer, "only region us may propose join");
	/* the primary's certificate may not join for us either */
	st = post_as(&f, "eu", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 403, answer, "only region us may propose join");
	ck_assert_uint_eq(us_state(&f)->members, 1);

	/* us's own JOIN: proposed, applied */
	st = post_as(&f, "us", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 200, answer, "\"result\":\"ok\"");
	ck_assert_uint_eq(us_state(&f)->members, 3);
	ck_assert_uint_eq(us_state(&f)->listed, 3);

	/* forged: us's certificate proposing its LEAVE, the primary's */
	c = designate(BATON_DESIGNATE_LEAVE, 0, 1);
	st = post_as(&f, "us", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 409, answer, "only the primary region eu");
	st = post_as(&f, "ap", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 409, answer, "only the primary region eu");
	ck_assert_uint_eq(us_state(&f)->listed, 3);

	/* the primary's LEAVE, forwarded with eu's certificate */
	st = post_as(&f, "eu", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 200, answer, "\"result\":\"ok\"");
	ck_assert_uint_eq(us_state(&f)->listed, 2);

	/* the synchronous RELEASE: us's certificate refused, eu's taken */
	c = designate(BATON_DESIGNATE_RELEASE, 0, 1);
	c.holder = 1;
	c.drop_position = 100;
	c.holder_flush = 120;
	st = post_as(&f, "us", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 409, answer, "only the primary region eu");
	ck_assert_uint_eq(us_state(&f)->designated, 0);
	st = post_as(&f, "eu", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 200, answer, "\"result\":\"ok\"");
	ck_assert_uint_eq(us_state(&f)->designated, 1);

	/* as before: a decision is never forwarded, a renewal only by
	 * its own region */
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_PROMOTE;
	snprintf(c.db, sizeof c.db, "shop/orders");
	snprintf(c.region, sizeof c.region, "us");
	c.epoch = 2;
	st = post_as(&f, "us", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 403, answer, "may be forwarded");
	c.type = BATON_CMD_RENEW;
	c.epoch = 1;
	snprintf(c.region, sizeof c.region, "eu");
	st = post_as(&f, "us", &c, answer, sizeof answer);
	ASSERT_ANSWER(st, 403, answer, "may not speak for region eu");
	fixture_stop(&f);
}
END_TEST

/* ---- two batonds: a follower forwards through propose() ----------------- */

struct node {
	struct baton_batond_config cfg;
	struct baton_metrics metrics;
	struct baton_raftglue g;
	const struct baton_consensus_ops *ops;
	bool stopped, fatal;
};

static void node_fatal_cb(void *data)
{
	struct node *n = data;
	n->fatal = true;
}

static void node_stopped_cb(struct baton_raftglue *g)
{
	struct node *n = g->data;
	n->stopped = true;
}

/* Region NAME of the fleet {eu, us} in ROOT; RAFT and API: each region's
 * ports, by index (eu 0, us 1). */
static void node_start(uv_loop_t *loop, struct node *n, const char *root,
		       int self, const int raft[2], const int api[2])
{
	static const char *const names[] = {"eu", "us"};
	struct baton_raftglue_config rc = {.cfg = &n->cfg,
					   .metrics = &n->metrics,
					   .fatal = node_fatal_cb,
					   .data = n};
	char errmsg[BATON_ERRMSG_SIZE] = "";
	char addr[64], file[64];
	int other = 1 - self;
	int rv;

	memset(n, 0, sizeof *n);
	baton_batond_config_defaults(&n->cfg);
	ck_assert_int_eq(baton_batond_config_set(&n->cfg.region, names[self]),
			 0);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", raft[self]);
	ck_assert_int_eq(baton_batond_config_set(&n->cfg.raft_bind, addr), 0);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", api[self]);
	ck_assert_int_eq(baton_batond_config_set(&n->cfg.peer_api_bind, addr),
			 0);
	snprintf(file, sizeof file, "raft-%s", names[self]);
	set_path(&n->cfg.raft_dir, root, file);
	set_path(&n->cfg.tls_ca, root, "ca.crt");
	snprintf(file, sizeof file, "%s.crt", names[self]);
	set_path(&n->cfg.tls_cert, root, file);
	snprintf(file, sizeof file, "%s.key", names[self]);
	set_path(&n->cfg.tls_key, root, file);
	n->cfg.n_peers = 1;
	ck_assert_int_eq(
	    baton_batond_config_set(&n->cfg.peers[0].name, names[other]), 0);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", raft[other]);
	ck_assert_int_eq(
	    baton_batond_config_set(&n->cfg.peers[0].raft_address, addr), 0);
	snprintf(addr, sizeof addr, "127.0.0.1:%d", api[other]);
	ck_assert_int_eq(
	    baton_batond_config_set(&n->cfg.peers[0].api_address, addr), 0);
	n->cfg.election_timeout_ms = 300;
	n->cfg.heartbeat_ms = 50;
	baton_metrics_init(&n->metrics);
	n->g.data = n;
	rv = baton_raftglue_init(loop, &n->g, &rc, errmsg);
	ck_assert_msg(rv == 0, "start %s: %s", names[self], errmsg);
	n->ops = baton_raftglue_ops(&n->g);
}

static void node_stop(uv_loop_t *loop, struct node *n)
{
	baton_raftglue_close(&n->g, node_stopped_cb);
	LOOP_RUN_UNTIL(loop, n->stopped);
}

static void node_free(struct node *n)
{
	baton_metrics_free(&n->metrics);
	baton_batond_config_free(&n->cfg);
}

/* A proposal the follower forwarded has completed (answered or failed). */
static bool forwards_done(struct node *n)
{
	return n->g.proposals == NULL;
}

/* F proposes C, which it forwards to the leader; returns once the
 * forward was answered. Before the first heartbeat F may not know the
 * leader yet (BATON_ENOTLEADER): it tries again on the next turn. */
static void forward(uv_loop_t *loop, struct node *f, const struct baton_cmd *c)
{
	for (int i = 0; i < 200; i++) {
		if (f->ops->propose(f->ops->data, c) == 0) {
			ck_assert(!forwards_done(f));
			LOOP_RUN_UNTIL(loop, forwards_done(f));
			return;
		}
		uv_run(loop, UV_RUN_ONCE);
	}
	ck_abort_msg("%s found no leader to forward to", f->cfg.region);
}

static void register_db(uv_loop_t *loop, struct node *leader,
			struct node *follower, const char *db,
			const char *primary, const char *standby)
{
	struct baton_cmd reg;

	memset(&reg, 0, sizeof reg);
	reg.type = BATON_CMD_REGISTER;
	snprintf(reg.db, sizeof reg.db, "%s", db);
	reg.cfg.lease_ms = 600000; /* no lease runs out in the test */
	reg.cfg.renew_ms = 1000;
	reg.cfg.synchronous = true;
	reg.n_regions = 2;
	snprintf(reg.regions[0].name, sizeof reg.regions[0].name, "%s",
		 primary);
	snprintf(reg.regions[1].name, sizeof reg.regions[1].name, "%s",
		 standby);
	snprintf(reg.primary, sizeof reg.primary, "%s", primary);
	ck_assert_int_eq(leader->ops->propose(leader->ops->data, &reg), 0);
	LOOP_RUN_UNTIL(loop,
		       follower->ops->db(follower->ops->data, db) != NULL);
}

static const struct baton_region_state *standby_of(struct node *n,
						   const char *db)
{
	const struct baton_db_state *st = n->ops->db(n->ops->data, db);

	ck_assert_ptr_nonnull(st);
	return &st->regions[1];
}

/* Whoever wins the election, L is the leader and F the follower. In
 * "mine" F is the standby region R: F's JOIN, forwarded, applies; F's own
 * LEAVE (the primary's step, a forgery) is refused and nothing applies.
 * In "theirs" F is the primary and L the standby: L joins locally, and
 * F's LEAVE of L's instance, forwarded from a follower, applies. */
START_TEST(follower_forwards_designate_through_propose)
{
	uv_loop_t loop;
	struct node nodes[2], *l, *f;
	char root[64], cmdline[128];
	int raft[2], api[2];
	struct baton_cmd c;

	/* raft_uv writes to a peer that hung up while the nodes stop
	 * (docs/consensus.md §4): batond ignores SIGPIPE, so must this */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	snprintf(root, sizeof root, "/tmp/baton-peerapi-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	pki_make(root);
	for (int i = 0; i < 2; i++) {
		raft[i] = tst_closed_port();
		api[i] = tst_closed_port();
	}
	node_start(&loop, &nodes[0], root, 0, raft, api);
	node_start(&loop, &nodes[1], root, 1, raft, api);
	LOOP_RUN_UNTIL(&loop, nodes[0].fatal || nodes[1].fatal ||
				  nodes[0].ops->leader(nodes[0].ops->data) ||
				  nodes[1].ops->leader(nodes[1].ops->data));
	ck_assert(!nodes[0].fatal && !nodes[1].fatal);
	l = nodes[0].ops->leader(nodes[0].ops->data) ? &nodes[0] : &nodes[1];
	f = l == &nodes[0] ? &nodes[1] : &nodes[0];

	/* a fleet whose every batond knows DESIGNATE (the leader forwards
	 * nothing above the fleet's level, peerpropose.h); in the log before
	 * the REGISTERs, so applied wherever they are */
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_LEVEL;
	c.level = BATON_COMMAND_LEVEL;
	ck_assert_int_eq(l->ops->propose(l->ops->data, &c), 0);
	register_db(&loop, l, f, "shop/mine", l->cfg.region, f->cfg.region);
	register_db(&loop, l, f, "shop/theirs", f->cfg.region, l->cfg.region);

	/* F's JOIN for itself, forwarded: applied everywhere. The leader
	 * may not know the follower's client yet: try until it took it. */
	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_DESIGNATE;
	snprintf(c.db, sizeof c.db, "shop/mine");
	snprintf(c.region, sizeof c.region, "%s", f->cfg.region);
	c.epoch = 1;
	c.step = BATON_DESIGNATE_JOIN;
	c.ordinal = 1;
	forward(&loop, f, &c);
	ck_assert_uint_eq(standby_of(l, "shop/mine")->members, 3);
	LOOP_RUN_UNTIL(&loop, standby_of(f, "shop/mine")->members == 3);

	/* F's LEAVE of its own instance: the primary's step, forged */
	c.step = BATON_DESIGNATE_LEAVE;
	c.ordinal = 0;
	c.desig_seq = 1;
	forward(&loop, f, &c);
	/* answered, and nothing changed: the leader refused it before the
	 * log (an accepted one is answered only once it applied there) */
	ck_assert_uint_eq(standby_of(l, "shop/mine")->listed, 3);

	/* "theirs": L (the standby region) joins locally, F (the primary)
	 * forwards its LEAVE of L's instance 0: applied */
	snprintf(c.db, sizeof c.db, "shop/theirs");
	snprintf(c.region, sizeof c.region, "%s", l->cfg.region);
	c.step = BATON_DESIGNATE_JOIN;
	c.ordinal = 1;
	c.desig_seq = 0;
	ck_assert_int_eq(l->ops->propose(l->ops->data, &c), 0);
	LOOP_RUN_UNTIL(&loop, standby_of(f, "shop/theirs")->members == 3);
	c.step = BATON_DESIGNATE_LEAVE;
	c.ordinal = 0;
	c.desig_seq = 1;
	forward(&loop, f, &c);
	ck_assert_uint_eq(standby_of(l, "shop/theirs")->listed, 2);
	LOOP_RUN_UNTIL(&loop, standby_of(f, "shop/theirs")->listed == 2);

	node_stop(&loop, f);
	node_stop(&loop, l);
	LOOP_TEARDOWN(&loop);
	node_free(&nodes[0]);
	node_free(&nodes[1]);
	snprintf(cmdline, sizeof cmdline, "rm -rf %s", root);
	ck_assert_int_eq(system(cmdline), 0);
}
END_TEST

static Suite *peerapi_suite(void)
{
	Suite *s = suite_create("batond_peerapi");
	TCase *tc = tcase_create("propose");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc,
		       designate_forwarded_by_its_proposer_and_a_forged_one);
	tcase_add_test(tc, follower_forwards_designate_through_propose);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(peerapi_suite)
