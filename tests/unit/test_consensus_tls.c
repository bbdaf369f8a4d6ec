/* consensus/tls_transport: mutual TLS between raft transports. Certificates
 * are made in-process with OpenSSL: a fleet CA, one certificate per region
 * (SAN URI baton://region/<name>), and the bad cases: another CA, an expired
 * certificate, a region that is not a member, a region other than the one
 * dialled. Then three raft nodes form a cluster over TLS. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/node.h"
#include "consensus/tls_transport.h"
#include "harness.h"
#include "support/ports.h"
#include "support/testpki.h"

struct pki {
	char dir[64];
	int ports[3]; /* r1..r3's, from the kernel (support/ports.h) */
};

static void issue(struct pki *p, X509 *ca, EVP_PKEY *ca_key, const char *name,
		  const char *region, long nb, long na)
{
	char san[128];

	snprintf(san, sizeof san, "URI:baton://region/%s", region);
	testpki_issue(p->dir, name, ca, ca_key, region, san, nb, na);
}

static void pki_make(struct pki *p)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	EVP_PKEY *other_key = EVP_EC_gen("P-256");
	X509 *ca, *other;
	char path[160];

	snprintf(p->dir, sizeof p->dir, "/tmp/baton-tls-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(p->dir));
	/* not 30000 + pid: that reaches into the ephemeral range, where any
	 * outgoing connection on the machine may hold the port */
	for (int i = 0; i < 3; i++) {
		p->ports[i] = tst_closed_port();
	}
	ca = testpki_cert(NULL, NULL, ca_key, "baton fleet CA", NULL, -60,
			  86400);
	other = testpki_cert(NULL, NULL, other_key, "someone else's CA", NULL,
			     -60, 86400);
	snprintf(path, sizeof path, "%s/ca.crt", p->dir);
	testpki_write_pem(path, ca, NULL);
	issue(p, ca, ca_key, "r1", "r1", -60, 86400);
	issue(p, ca, ca_key, "r2", "r2", -60, 86400);
	issue(p, ca, ca_key, "r3", "r3", -60, 86400);
	issue(p, other, other_key, "wrongca", "r2", -60, 86400);
	issue(p, ca, ca_key, "expired", "r2", -7200, -3600);
	issue(p, ca, ca_key, "stranger", "r9", -60, 86400);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(other_key);
}

static void pki_remove(struct pki *p)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void tls_cfg(struct pki *p, const char *name,
		    struct baton_tls_config *cfg, char paths[3][160])
{
	unsigned i;
	memset(cfg, 0, sizeof *cfg);
	snprintf(paths[0], 160, "%s/%s.crt", p->dir, name);
	snprintf(paths[1], 160, "%s/%s.key", p->dir, name);
	snprintf(paths[2], 160, "%s/ca.crt", p->dir);
	cfg->cert_file = paths[0];
	cfg->key_file = paths[1];
	cfg->ca_file = paths[2];
	cfg->n_members = 3;
	for (i = 0; i < 3; i++) {
		cfg->members[i].id = i + 1;
		snprintf(cfg->members[i].region, sizeof cfg->members[i].region,
			 "r%u", i + 1);
		snprintf(cfg->members[i].address,
			 sizeof cfg->members[i].address, "127.0.0.1:%d",
			 p->ports[i]);
	}
}

/* ---- one connection between two bare transports ------------------------ */

struct pair {
	uv_loop_t loop;
	struct raft_uv_transport server, client;
	struct raft_uv_connect req;
	int connect_status; /* 1 = pending */
	unsigned accepted;
	unsigned closed;
};

static void close_stream_cb(uv_handle_t *h)
{
	raft_free(h);
}

static void accept_cb(struct raft_uv_transport *t, raft_id id,
		      const char *address, struct uv_stream_s *stream)
{
	struct pair *p = t->data;
	ck_assert_uint_eq(id, 2);
	ck_assert_str_eq(address, p->server.impl ? address : "");
	p->accepted++;
	uv_close((uv_handle_t *)stream, close_stream_cb);
}

static void connect_cb(struct raft_uv_connect *req, struct uv_stream_s *stream,
		       int status)
{
	struct pair *p = req->data;
	p->connect_status = status;
	if (stream != NULL) {
		uv_close((uv_handle_t *)stream, close_stream_cb);
	}
}

static void transport_closed_cb(struct raft_uv_transport *t)
{
	struct pair *p = t->data;
	p->closed++;
}

/* Client with certificate CLIENT_CERT (claiming raft id 2) dials SERVE_AS
 * (raft id 1's address) whose server uses SERVER_CERT. */
static void try_pair(struct pki *pki, const char *server_cert,
		     const char *client_cert, bool expect_ok)
{
	struct pair *p = calloc(1, sizeof *p);
	struct baton_tls_config scfg, ccfg;
	char sp[3][160], cp[3][160];

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(uv_loop_init(&p->loop), 0);
	tls_cfg(pki, server_cert, &scfg, sp);
	tls_cfg(pki, client_cert, &ccfg, cp);
	ck_assert_int_eq(baton_tls_transport_init(&p->server, &p->loop, &scfg),
			 0);
	ck_assert_int_eq(baton_tls_transport_init(&p->client, &p->loop, &ccfg),
			 0);
	p->server.data = p;
	p->client.data = p;
	ck_assert_int_eq(p->server.init(&p->server, 1, "127.0.0.1"), 0);
	ck_assert_int_eq(p->client.init(&p->client, 2, "127.0.0.1"), 0);
	ck_assert_int_eq(p->server.listen(&p->server, accept_cb), 0);
	p->connect_status = 1;
	p->req.data = p;
	ck_assert_int_eq(p->client.connect(&p->client, &p->req, 1,
					   scfg.members[0].address, connect_cb),
			 0);
	if (expect_ok) {
		LOOP_RUN_UNTIL(&p->loop,
			       p->connect_status == 0 && p->accepted == 1);
	} else {
		/* In TLS 1.3 the client's handshake completes before the
		 * server has checked the client certificate: a bad client
		 * certificate shows up as a server refusal (and raft on the
		 * client sees the stream close). A bad server certificate is
		 * refused by the client before raft sees anything. */
		LOOP_RUN_UNTIL(
		    &p->loop, baton_tls_transport_refused(&p->server) +
				      baton_tls_transport_refused(&p->client) >=
				  1);
		LOOP_RUN_UNTIL(&p->loop, p->connect_status != 1);
		if (baton_tls_transport_refused(&p->client) > 0) {
			ck_assert_int_ne(p->connect_status, 0);
		}
		ck_assert_uint_eq(p->accepted, 0);
	}
	p->server.close(&p->server, transport_closed_cb);
	p->client.close(&p->client, transport_closed_cb);
	LOOP_RUN_UNTIL(&p->loop, p->closed == 2);
	baton_tls_transport_close(&p->server);
	baton_tls_transport_close(&p->client);
	LOOP_TEARDOWN(&p->loop);
	free(p);
}

/* Whoever connects to the Raft port and says nothing (or trickles a
 * handshake) is cut at the handshake deadline, not held forever; beyond
 * BATON_TLS_MAX_HANDSHAKES such connections at once, the next is closed
 * at accept. */
struct silent {
	uv_tcp_t tcp;
	uv_connect_t req;
	bool eof;
	uint64_t connected_at, eof_at;
};

static void silent_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char buf[256];
	(void)h;
	(void)hint;
	*b = uv_buf_init(buf, sizeof buf);
}

static void silent_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct silent *x = s->data;
	(void)b;
	if (n < 0) {
		x->eof = true;
		x->eof_at = uv_now(s->loop);
		uv_read_stop(s);
	}
}

static void silent_connected(uv_connect_t *req, int status)
{
	struct silent *x = req->data;
	ck_assert_int_eq(status, 0);
	x->connected_at = uv_now(req->handle->loop);
	uv_read_start((uv_stream_t *)&x->tcp, silent_alloc, silent_read);
}

START_TEST(silent_peer_is_cut_at_the_handshake_deadline)
{
	struct pki pki;
	struct pair *p = calloc(1, sizeof *p);
	struct baton_tls_config scfg;
	char sp[3][160];
	enum { N = BATON_TLS_MAX_HANDSHAKES + 1 };
	struct silent x[N];
	struct sockaddr_in sa;
	unsigned eofs, at_once, at_deadline;

	pki_make(&pki);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(uv_loop_init(&p->loop), 0);
	tls_cfg(&pki, "r1", &scfg, sp);
	scfg.handshake_timeout_ms = 1000;
	ck_assert_int_eq(baton_tls_transport_init(&p->server, &p->loop, &scfg),
			 0);
	p->server.data = p;
	ck_assert_int_eq(p->server.init(&p->server, 1, "127.0.0.1"), 0);
	ck_assert_int_eq(p->server.listen(&p->server, accept_cb), 0);

	memset(x, 0, sizeof x);
	ck_assert_int_eq(uv_ip4_addr("127.0.0.1", pki.ports[0], &sa), 0);
	for (int i = 0; i < N; i++) {
		uv_tcp_init(&p->loop, &x[i].tcp);
		x[i].tcp.data = &x[i];
		x[i].req.data = &x[i];
		ck_assert_int_eq(uv_tcp_connect(&x[i].req, &x[i].tcp,
						(const struct sockaddr *)&sa,
						silent_connected),
				 0);
	}
	for (;;) {
		eofs = at_once = at_deadline = 0;
		for (int i = 0; i < N; i++) {
			if (x[i].eof) {
				eofs++;
				if (x[i].eof_at - x[i].connected_at < 500) {
					at_once++;
				} else {
					at_deadline++;
				}
			}
		}
		if (eofs == N) {
			break;
		}
		uv_run(&p->loop, UV_RUN_ONCE);
	}
	/* one over the cap closed at accept, the others by the deadline
	 * (not at once, and not never) */
	ck_assert_uint_ge(at_once, 1);
	ck_assert_uint_ge(at_deadline, BATON_TLS_MAX_HANDSHAKES - 2);
	ck_assert_uint_eq(baton_tls_transport_refused(&p->server), N);
	ck_assert_uint_eq(p->accepted, 0);

	for (int i = 0; i < N; i++) {
		uv_close((uv_handle_t *)&x[i].tcp, NULL);
	}
	p->server.close(&p->server, transport_closed_cb);
	LOOP_RUN_UNTIL(&p->loop, p->closed == 1);
	baton_tls_transport_close(&p->server);
	LOOP_TEARDOWN(&p->loop);
	free(p);
	pki_remove(&pki);
}
END_TEST

START_TEST(good_certificates_connect)
{
	struct pki pki = {0};
	signal(SIGPIPE, SIG_IGN);
	pki_make(&pki);
	try_pair(&pki, "r1", "r2", true);
	pki_remove(&pki);
}
END_TEST

START_TEST(bad_certificates_are_refused)
{
	struct pki pki = {0};
	signal(SIGPIPE, SIG_IGN);
	pki_make(&pki);
	try_pair(&pki, "r1", "wrongca", false);	 /* unknown CA */
	try_pair(&pki, "r1", "expired", false);	 /* expired */
	try_pair(&pki, "r1", "stranger", false); /* region not a member */
	try_pair(&pki, "r3", "r2", false); /* dialled id 1, cert says r3 */
	pki_remove(&pki);
}
END_TEST

/* ---- three raft nodes over TLS ----------------------------------------- */

struct cluster {
	uv_loop_t loop;
	struct baton_raft_node nodes[3];
	struct raft_uv_transport tls[3];
	char dirs[3][96];
	unsigned closed, applied;
};

static void node_closed_cb(struct baton_raft_node *n)
{
	struct cluster *c = n->data;
	c->closed++;
}

static void applied_cb(struct baton_raft_apply *req, int status, int result)
{
	struct cluster *c = req->data;
	if (status == 0 && result == BATON_FSM_OK) {
		c->applied++;
	}
}

static int leader_of(struct cluster *c)
{
	for (int i = 0; i < 3; i++) {
		if (baton_raft_is_leader(&c->nodes[i])) {
			return i;
		}
	}
	return -1;
}

static bool all_registered(struct cluster *c)
{
	for (int i = 0; i < 3; i++) {
		if (baton_fsm_db(&c->nodes[i].fsm, "orders") == NULL) {
			return false;
		}
	}
	return true;
}

START_TEST(raft_cluster_over_tls)
{
	struct pki pki = {0};
	struct cluster *c = calloc(1, sizeof *c);
	struct baton_raft_apply req;
	struct baton_cmd cmd;
	unsigned i, j;

	ck_assert_ptr_nonnull(c);
	signal(SIGPIPE, SIG_IGN);
	pki_make(&pki);
	ck_assert_int_eq(uv_loop_init(&c->loop), 0);
	for (i = 0; i < 3; i++) {
		struct baton_tls_config tcfg;
		struct baton_raft_config rcfg;
		char paths[3][160], name[8], addr[128];

		snprintf(name, sizeof name, "r%u", i + 1);
		tls_cfg(&pki, name, &tcfg, paths);
		ck_assert_int_eq(
		    baton_tls_transport_init(&c->tls[i], &c->loop, &tcfg), 0);
		snprintf(c->dirs[i], sizeof c->dirs[i], "%s/data%u", pki.dir,
			 i);
		ck_assert_int_eq(mkdir(c->dirs[i], 0700), 0);
		memset(&rcfg, 0, sizeof rcfg);
		memcpy(addr, tcfg.members[i].address, sizeof addr);
		rcfg.id = i + 1;
		rcfg.address = addr;
		rcfg.dir = c->dirs[i];
		rcfg.election_ms = 300;
		rcfg.heartbeat_ms = 50;
		rcfg.n_members = 3;
		for (j = 0; j < 3; j++) {
			rcfg.members[j].id = j + 1;
			memcpy(rcfg.members[j].address, tcfg.members[j].address,
			       sizeof rcfg.members[j].address);
		}
		rcfg.transport = &c->tls[i];
		rcfg.transport_close = NULL; /* freed below, after close */
		ck_assert_msg(baton_raft_init(&c->loop, &c->nodes[i], &rcfg) ==
				  0,
			      "%s", c->nodes[i].errmsg);
		c->nodes[i].data = c;
	}
	LOOP_RUN_UNTIL(&c->loop, leader_of(c) >= 0);
	memset(&cmd, 0, sizeof cmd);
	cmd.type = BATON_CMD_REGISTER;
	snprintf(cmd.db, sizeof cmd.db, "orders");
	cmd.cfg.lease_ms = 1000;
	cmd.n_regions = 3;
	for (j = 0; j < 3; j++) {
		snprintf(cmd.regions[j].name, sizeof cmd.regions[j].name, "r%u",
			 j + 1);
	}
	snprintf(cmd.primary, sizeof cmd.primary, "r1");
	req.data = c;
	ck_assert_int_eq(
	    baton_raft_apply(&c->nodes[leader_of(c)], &req, &cmd, applied_cb),
	    0);
	LOOP_RUN_UNTIL(&c->loop, c->applied == 1 && all_registered(c));
	for (i = 0; i < 3; i++) {
		ck_assert_uint_ge(baton_tls_transport_accepted(&c->tls[i]), 1);
		ck_assert_uint_eq(baton_tls_transport_refused(&c->tls[i]), 0);
	}
	/* Graceful shutdown of the leader first: it hands leadership to a
	 * live follower (a transfer to a closing node would stall). */
	{
		int l = leader_of(c);
		baton_raft_close(&c->nodes[l], node_closed_cb);
		LOOP_RUN_UNTIL(&c->loop, c->closed == 1);
		for (i = 0; i < 3; i++) {
			if ((int)i != l) {
				baton_raft_close(&c->nodes[i], node_closed_cb);
			}
		}
	}
	LOOP_RUN_UNTIL(&c->loop, c->closed == 3);
	for (i = 0; i < 3; i++) {
		baton_tls_transport_close(&c->tls[i]);
	}
	LOOP_TEARDOWN(&c->loop);
	free(c);
	pki_remove(&pki);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("consensus_tls");
	TCase *tc = tcase_create("tls");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_certificates_connect);
	tcase_add_test(tc, silent_peer_is_cut_at_the_handshake_deadline);
	tcase_add_test(tc, bad_certificates_are_refused);
	tcase_add_test(tc, raft_cluster_over_tls);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(tls_suite)
