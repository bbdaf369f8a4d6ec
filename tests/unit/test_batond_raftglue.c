/* raftglue's proposals and its lifecycle (issue 18): one region, a real
 * Raft node on raft_uv in a temporary directory.
 *
 * A proposal is linked into the node's pending list before its request
 * starts and unlinked exactly once (raftglue.c, "proposals"); the node is
 * freed only once that list is empty. The tests check the three ways out:
 * a proposal that commits, proposals still pending when the node stops
 * (raft fails them at raft_close; the node must wait for them, and under
 * ASan nothing is used after it was freed), and a proposal whose start
 * fails (it must not stay in the list, or the stop would never finish).
 *
 * Whether a completion can run before raft_apply() returns (cowsql/raft
 * 0.22: no, the request becomes pending only after the submit returned) is
 * written down in raftglue.c; no double of raft can make it happen without
 * breaking raft's own contract, so it is not a test here.
 *
 * Lifecycle: the struct is the caller's (baton_raftglue_init/_close).
 * baton_raftglue_init() opens its parts in stages (driver, tick, node,
 * peer API, peer clients, Raft start); the "init" tests make the Nth
 * stage fail (common/failpoint.h), or a real step (the peer API's port is
 * taken), and check that nothing is left half-built: the loop runs dry,
 * uv_loop_close() returns 0, and under ASan nothing leaks. Before, a
 * failed start handed the half-built node back through *out for the
 * caller to stop, with its tick timer registered in it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "batond/config.h"
#include "batond/raftglue.h"
#include "common/error.h"
#include "common/failpoint.h"
#include "consensus/fsm.h"
#include "harness.h"
#include "support/ports.h"

struct fixture {
	uv_loop_t loop;
	struct baton_batond_config cfg;
	struct baton_metrics metrics;
	struct baton_raftglue g;
	const struct baton_consensus_ops *ops;
	char root[64];
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

/* The loop, the configuration and the metrics, in ROOT (a new temporary
 * directory when ROOT is NULL). */
static void fixture_init(struct fixture *f, const char *root)
{
	char bind[64], dir[96];

	memset(f, 0, sizeof *f);
	ck_assert_int_eq(uv_loop_init(&f->loop), 0);
	if (root != NULL) {
		snprintf(f->root, sizeof f->root, "%s", root);
	} else {
		snprintf(f->root, sizeof f->root, "/tmp/baton-raftglue-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(f->root));
	}
	snprintf(dir, sizeof dir, "%s/raft", f->root);
	snprintf(bind, sizeof bind, "127.0.0.1:%d", tst_closed_port());
	baton_batond_config_defaults(&f->cfg);
	ck_assert_int_eq(baton_batond_config_set(&f->cfg.region, "eu"), 0);
	ck_assert_int_eq(baton_batond_config_set(&f->cfg.raft_bind, bind), 0);
	ck_assert_int_eq(baton_batond_config_set(&f->cfg.raft_dir, dir), 0);
	f->cfg.election_timeout_ms = 300;
	f->cfg.heartbeat_ms = 50;
	baton_metrics_init(&f->metrics);
}

static int fixture_init_raft(struct fixture *f, char *errmsg)
{
	struct baton_raftglue_config rc = {.cfg = &f->cfg,
					   .metrics = &f->metrics,
					   .fatal = fatal_cb,
					   .data = f};
	f->g.data = f;
	return baton_raftglue_init(&f->loop, &f->g, &rc, errmsg);
}

/* What fixture_init made, with the loop run dry first (a failed init's
 * closes finish there); the directory stays when KEEP. */
static void fixture_free(struct fixture *f, bool keep)
{
	char cmdline[128];

	LOOP_TEARDOWN(&f->loop);
	baton_metrics_free(&f->metrics);
	baton_batond_config_free(&f->cfg);
	if (!keep) {
		snprintf(cmdline, sizeof cmdline, "rm -rf %s", f->root);
		ck_assert_int_eq(system(cmdline), 0);
	}
}

static void fixture_start(struct fixture *f)
{
	char errmsg[BATON_ERRMSG_SIZE] = "";
	int rv;

	fixture_init(f, NULL);
	rv = fixture_init_raft(f, errmsg);
	ck_assert_msg(rv == 0, "start: %s", errmsg);
	f->ops = baton_raftglue_ops(&f->g);
	/* an empty data directory and no peers: a new fleet of one, which
	 * bootstraps and elects itself */
	LOOP_RUN_UNTIL(&f->loop, f->ops->leader(f->ops->data) || f->fatal);
	ck_assert(!f->fatal);
}

static void fixture_stop_keep(struct fixture *f, bool keep)
{
	baton_raftglue_close(&f->g, stopped_cb);
	LOOP_RUN_UNTIL(&f->loop, f->stopped);
	fixture_free(f, keep);
}

static void fixture_stop(struct fixture *f)
{
	fixture_stop_keep(f, false);
}

static struct baton_cmd register_cmd(const char *db)
{
	struct baton_cmd cmd;

	memset(&cmd, 0, sizeof cmd);
	cmd.type = BATON_CMD_REGISTER;
	snprintf(cmd.db, sizeof cmd.db, "%s", db);
	cmd.cfg.lease_ms = 1000;
	cmd.n_regions = 1;
	snprintf(cmd.regions[0].name, sizeof cmd.regions[0].name, "eu");
	snprintf(cmd.primary, sizeof cmd.primary, "eu");
	return cmd;
}

START_TEST(test_proposal_commits)
{
	struct fixture f;
	struct baton_cmd cmd = register_cmd("shop/orders");

	fixture_start(&f);
	ck_assert_int_eq(f.ops->propose(f.ops->data, &cmd), 0);
	LOOP_RUN_UNTIL(&f.loop, f.ops->db(f.ops->data, "shop/orders") != NULL);
	fixture_stop(&f);
}
END_TEST

START_TEST(test_stop_waits_for_pending_proposals)
{
	struct fixture f;

	fixture_start(&f);
	for (int i = 0; i < 8; i++) {
		char db[32];
		struct baton_cmd cmd;

		snprintf(db, sizeof db, "shop/db%d", i);
		cmd = register_cmd(db);
		ck_assert_int_eq(f.ops->propose(f.ops->data, &cmd), 0);
	}
	/* none has committed yet: raft fails them while it closes, and
	 * the node is freed only after the last one */
	fixture_stop(&f);
}
END_TEST

START_TEST(test_failed_start_is_not_left_pending)
{
	struct fixture f;
	struct baton_cmd cmd = register_cmd("shop/orders");

	fixture_start(&f);
	cmd.type = BATON_CMD__COUNT; /* no such command: encoding refuses */
	ck_assert_int_eq(f.ops->propose(f.ops->data, &cmd), BATON_EINVAL);
	/* with the refused proposal left in the list, the stop would wait
	 * for a completion that never comes */
	fixture_stop(&f);
}
END_TEST

/* ---- lifecycle ---------------------------------------------------------- */

/* Two shapes reach every stage between them. FRESH: an empty data
 * directory, the peer API on, one peer with an API address (unreachable):
 * the driver, the node, the peer API (init, listen), the peer's client;
 * Raft waits for the join. RESTART: a data directory a one-region fleet
 * left behind, no peer API: the driver, the node, Raft's start. */
enum shape { FRESH, RESTART };

static void shape_init(struct fixture *f, enum shape shape, const char *root)
{
	char bind[64];

	fixture_init(f, root);
	if (shape == FRESH) {
		struct baton_batond_peer *p = &f->cfg.peers[f->cfg.n_peers++];
		snprintf(bind, sizeof bind, "127.0.0.1:%d", tst_closed_port());
		ck_assert_int_eq(
		    baton_batond_config_set(&f->cfg.peer_api_bind, bind), 0);
		ck_assert_int_eq(baton_batond_config_set(&p->name, "us"), 0);
		snprintf(bind, sizeof bind, "127.0.0.1:%d", tst_closed_port());
		ck_assert_int_eq(
		    baton_batond_config_set(&p->raft_address, bind), 0);
		snprintf(bind, sizeof bind, "127.0.0.1:%d", tst_closed_port());
		ck_assert_int_eq(baton_batond_config_set(&p->api_address, bind),
				 0);
	}
}

/* A data directory with a bootstrapped one-region fleet in it. */
static void make_restart_root(char *root, size_t size)
{
	struct fixture f;

	fixture_start(&f);
	snprintf(root, size, "%s", f.root);
	fixture_stop_keep(&f, true);
}

/* How many fail points a full init of SHAPE passes. */
static unsigned count_stages(enum shape shape, const char *root)
{
	struct fixture f;
	char errmsg[BATON_ERRMSG_SIZE] = "";
	unsigned n;

	shape_init(&f, shape, root);
	baton_test_fail_at = 0;
	baton_test_fail_seen = 0;
	ck_assert_msg(fixture_init_raft(&f, errmsg) == 0, "%s", errmsg);
	n = baton_test_fail_seen;
	fixture_stop_keep(&f, root != NULL);
	return n;
}

static void fail_each_stage(enum shape shape, const char *root,
			    unsigned min_stages)
{
	unsigned n = count_stages(shape, root);

	ck_assert_uint_ge(n, min_stages);
	for (unsigned at = 1; at <= n; at++) {
		struct fixture f;
		char errmsg[BATON_ERRMSG_SIZE] = "";
		int rv;

		shape_init(&f, shape, root);
		baton_test_fail_at = at;
		rv = fixture_init_raft(&f, errmsg);
		baton_test_fail_at = 0;
		ck_assert_msg(rv != 0, "stage %u of %u did not fail", at, n);
		ck_assert_msg(errmsg[0] != '\0', "stage %u: no message", at);
		ck_assert(!f.fatal);
		/* what was opened closes on the loop; then nothing is left
		 * (LOOP_TEARDOWN: uv_loop_close() == 0; ASan: no leak) */
		fixture_free(&f, root != NULL);
	}
}

START_TEST(test_init_fails_at_each_stage_fresh)
{
	/* driver, node, peer API init, its listen, the peer's client */
	fail_each_stage(FRESH, NULL, 5);
}
END_TEST

START_TEST(test_init_fails_at_each_stage_restart)
{
	char root[64], cmdline[128];

	make_restart_root(root, sizeof root);
	/* driver, node, Raft's start */
	fail_each_stage(RESTART, root, 3);
	snprintf(cmdline, sizeof cmdline, "rm -rf %s", root);
	ck_assert_int_eq(system(cmdline), 0);
}
END_TEST

/* A real failure, not an injected one: the peer API's port is taken. The
 * node, the tick and the server were open; all of them close. */
START_TEST(test_init_peer_api_port_taken)
{
	struct fixture f;
	char errmsg[BATON_ERRMSG_SIZE] = "";
	char bind_to[64];
	int fd = take_loopback_port(bind_to, sizeof bind_to);

	shape_init(&f, FRESH, NULL);
	ck_assert_int_eq(baton_batond_config_set(&f.cfg.peer_api_bind, bind_to),
			 0);
	ck_assert_int_ne(fixture_init_raft(&f, errmsg), 0);
	ck_assert_msg(strstr(errmsg, "peer API") != NULL, "%s", errmsg);
	fixture_free(&f, false);
	close(fd);
}
END_TEST

/* The data directory cannot be made: nothing was opened yet. */
START_TEST(test_init_bad_data_dir)
{
	struct fixture f;
	char errmsg[BATON_ERRMSG_SIZE] = "";

	fixture_init(&f, NULL);
	ck_assert_int_eq(
	    baton_batond_config_set(&f.cfg.raft_dir, "/proc/baton-no/raft"), 0);
	ck_assert_int_eq(fixture_init_raft(&f, errmsg), BATON_EIO);
	ck_assert_msg(strstr(errmsg, "raft.dataDir") != NULL, "%s", errmsg);
	fixture_free(&f, false);
}
END_TEST

/* The ops the agent driver kicks the tick through (a detach answered)
 * are the ones a successful init hands out: .kick runs the tick on the
 * loop's next turn. A decision applied on the leader (a registration:
 * neither a renewal nor a report) is pushed with a barrier, a log entry
 * right after it, from that kicked tick. Once the close began, a kick
 * restarts nothing (the tick timer is stopped and closing). */
START_TEST(test_kick_and_the_barrier_after_a_decision)
{
	struct fixture f;
	struct baton_cmd cmd = register_cmd("shop/orders");
	raft_index reg;

	fixture_start(&f);
	ck_assert_ptr_nonnull(f.ops->kick);
	ck_assert(uv_is_active((uv_handle_t *)&f.g.tick));
	f.ops->kick(f.ops->data);
	ck_assert_uint_eq(uv_timer_get_due_in(&f.g.tick), 0);
	ck_assert_uint_eq(uv_timer_get_repeat(&f.g.tick), 50);

	/* no database yet, so nothing else is proposed: the registration
	 * is the next entry, and the tick's barrier the one after it (the
	 * barrier goes first in the tick, before any report) */
	reg = raft_last_index(&f.g.node.raft) + 1;
	ck_assert_int_eq(f.ops->propose(f.ops->data, &cmd), 0);
	LOOP_RUN_UNTIL(&f.loop, f.ops->db(f.ops->data, "shop/orders") != NULL);
	/* due since the apply, or pushed already (the kicked tick may run
	 * in the same loop turn) */
	ck_assert(f.g.barrier_due || raft_last_index(&f.g.node.raft) > reg);
	LOOP_RUN_UNTIL(&f.loop, !f.g.barrier_due &&
				    raft_last_applied(&f.g.node.raft) > reg);

	baton_raftglue_close(&f.g, stopped_cb);
	f.ops->kick(f.ops->data);
	ck_assert(!uv_is_active((uv_handle_t *)&f.g.tick));
	LOOP_RUN_UNTIL(&f.loop, f.stopped);
	fixture_free(&f, false);
}
END_TEST

/* Runs LOOP for MS (the tick's timer wakes it every 50 ms). */
static void run_ms(uv_loop_t *loop, uint64_t ms)
{
	uint64_t end;

	uv_update_time(loop);
	end = uv_now(loop) + ms;
	while (uv_now(loop) < end) {
		uv_run(loop, UV_RUN_ONCE);
		uv_update_time(loop);
	}
}

/* An observer that acts on nothing but counts designate's calls. */
static int desig_calls;
static uint64_t desig_applied;

static void obs_changed(void *data, const char *db)
{
	(void)data;
	(void)db;
}

static void obs_promoted(void *data, const struct baton_cmd *cmd,
			 const char *from)
{
	(void)data;
	(void)cmd;
	(void)from;
}

static void obs_leader(void *data)
{
	(void)data;
}

static void obs_report(void *data, const char *db,
		       struct baton_region_report *out)
{
	(void)data;
	(void)db;
	memset(out, 0, sizeof *out);
}

static bool obs_final(void *data, const char *db, uint64_t epoch,
		      uint64_t round, int ordinal,
		      struct baton_region_report *out)
{
	(void)data;
	(void)db;
	(void)epoch;
	(void)round;
	(void)ordinal;
	(void)out;
	return false;
}

static bool obs_designate(void *data, const char *db,
			  struct baton_designate_input *in, uint64_t now)
{
	(void)data;
	(void)now;
	ck_assert_str_eq(db, "shop/orders");
	ck_assert_ptr_nonnull(in->st);
	desig_calls++;
	desig_applied = in->applied;
	return false; /* nothing known: nothing is proposed */
}

/* Designation only with --designation (config designation): without it
 * the driver has no designate op, so it proposes no DESIGNATE and keeps
 * no memory, whatever the observer offers; with it, the driver's tick asks
 * the observer's designate for each database (and an observer without
 * one knows nothing). need_gen is always offered to the agent driver (0:
 * none). Fails on a raftglue that sets the op regardless of the flag, or
 * does not pass the observer's through. */
START_TEST(test_designation_only_with_the_flag)
{
	struct baton_raft_observer obs = {
	    .fsm_changed = obs_changed,
	    .promoted = obs_promoted,
	    .became_leader = obs_leader,
	    .region_report = obs_report,
	    .final_report = obs_final,
	    .designate = obs_designate,
	};
	struct baton_cmd cmd = register_cmd("shop/orders");
	char errmsg[BATON_ERRMSG_SIZE] = "";
	struct baton_designate_input in;
	struct fixture f;
	int rv;

	/* off (the default): no op, the observer's never asked */
	fixture_start(&f);
	ck_assert(!f.cfg.designation);
	ck_assert_ptr_null(f.g.driver.ops.designate);
	ck_assert_ptr_nonnull(f.ops->need_gen);
	ck_assert_uint_eq(f.ops->need_gen(f.ops->data, "shop/orders"), 0);
	desig_calls = 0;
	baton_raftglue_observe(&f.g, &obs);
	ck_assert_int_eq(f.ops->propose(f.ops->data, &cmd), 0);
	LOOP_RUN_UNTIL(&f.loop, f.ops->db(f.ops->data, "shop/orders") != NULL);
	run_ms(&f.loop, 1500);
	ck_assert_int_eq(desig_calls, 0);
	baton_raftglue_observe(&f.g, NULL);
	fixture_stop(&f);

	/* on: the driver asks the observer's designate on its tick */
	fixture_init(&f, NULL);
	f.cfg.designation = true;
	rv = fixture_init_raft(&f, errmsg);
	ck_assert_msg(rv == 0, "start: %s", errmsg);
	f.ops = baton_raftglue_ops(&f.g);
	LOOP_RUN_UNTIL(&f.loop, f.ops->leader(f.ops->data) || f.fatal);
	ck_assert_ptr_nonnull(f.g.driver.ops.designate);
	/* no observer yet: nothing known */
	memset(&in, 0, sizeof in);
	ck_assert(!f.g.driver.ops.designate(f.g.driver.ops.data, "shop/orders",
					    &in, 1));
	desig_calls = 0;
	baton_raftglue_observe(&f.g, &obs);
	ck_assert_int_eq(f.ops->propose(f.ops->data, &cmd), 0);
	LOOP_RUN_UNTIL(&f.loop, desig_calls > 0);
	ck_assert_int_gt(desig_calls, 0);
	ck_assert_uint_ge(desig_applied, 1);
	baton_raftglue_observe(&f.g, NULL);
	fixture_stop(&f);
}
END_TEST

static Suite *raftglue_suite(void)
{
	Suite *s = suite_create("batond_raftglue");
	TCase *tc = tcase_create("proposals");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_proposal_commits);
	tcase_add_test(tc, test_stop_waits_for_pending_proposals);
	tcase_add_test(tc, test_failed_start_is_not_left_pending);
	tcase_add_test(tc, test_kick_and_the_barrier_after_a_decision);
	tcase_add_test(tc, test_designation_only_with_the_flag);
	suite_add_tcase(s, tc);
	tc = tcase_create("init");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_init_fails_at_each_stage_fresh);
	tcase_add_test(tc, test_init_fails_at_each_stage_restart);
	tcase_add_test(tc, test_init_peer_api_port_taken);
	tcase_add_test(tc, test_init_bad_data_dir);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(raftglue_suite)
