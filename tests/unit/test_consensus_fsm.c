/* Unit tests for consensus/fsm: the command encoding (including malformed
 * input), apply semantics and snapshot/restore. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "consensus/fsm.h"
#include "harness.h"

static struct baton_cmd reg_cmd(void)
{
	struct baton_cmd c;
	unsigned i;

	memset(&c, 0, sizeof c);
	c.type = BATON_CMD_REGISTER;
	snprintf(c.db, sizeof c.db, "orders");
	c.cfg.lease_ms = 1000;
	c.cfg.renew_ms = 200;
	c.cfg.drift_ppm = 100000;
	c.cfg.margin_ms = 50;
	c.cfg.max_lag_bytes = 1 << 20;
	c.cfg.automatic = true;
	c.n_regions = 3;
	for (i = 0; i < 3; i++) {
		snprintf(c.regions[i].name, sizeof c.regions[i].name,
			 "region-%u", i);
		c.regions[i].priority = (int32_t)i - 1;
	}
	c.regions[2].role = BATON_ROLE_WITNESS;
	snprintf(c.primary, sizeof c.primary, "region-0");
	return c;
}

static int apply(struct baton_fsm *f, const struct baton_cmd *c)
{
	uint8_t buf[BATON_CMD_MAX];
	size_t len;
	ck_assert_int_eq(baton_cmd_encode(c, buf, sizeof buf, &len), 0);
	return baton_fsm_apply_buf(f, buf, len);
}

static struct baton_cmd cmd(int type, const char *region, uint64_t epoch)
{
	struct baton_cmd c;
	memset(&c, 0, sizeof c);
	c.type = type;
	snprintf(c.db, sizeof c.db, "orders");
	snprintf(c.region, sizeof c.region, "%s", region);
	c.epoch = epoch;
	return c;
}

START_TEST(encode_decode_roundtrip_every_type)
{
	uint8_t buf[BATON_CMD_MAX];
	size_t len;
	struct baton_cmd in, out;
	int t;

	in = reg_cmd();
	ck_assert_int_eq(baton_cmd_encode(&in, buf, sizeof buf, &len), 0);
	ck_assert_int_eq(baton_cmd_decode(buf, len, &out), 0);
	ck_assert_int_eq(memcmp(&in, &out, sizeof in), 0);
	for (t = BATON_CMD_REMOVE; t < BATON_CMD__COUNT; t++) {
		in =
		    cmd(t,
			t == BATON_CMD_SWITCHOVER_ABORT || t == BATON_CMD_REMOVE
			    ? ""
			    : "region-1",
			7);
		if (t == BATON_CMD_REMOVE) {
			in.epoch = 0;
		}
		if (t == BATON_CMD_RENEW) {
			in.send_ms = 123456789012ull;
		}
		if (t == BATON_CMD_PROMOTE) {
			in.renew_seq = 42;
			in.reason = BATON_REASON_LEASE_EXPIRED;
		}
		if (t == BATON_CMD_REPORT || t == BATON_CMD_FENCE) {
			in.position = 1ull << 40;
		}
		if (t == BATON_CMD_REPORT) {
			in.healthy = 1;
			in.sync_standby = 1;
		}
		ck_assert_int_eq(baton_cmd_encode(&in, buf, sizeof buf, &len),
				 0);
		ck_assert_int_eq(baton_cmd_decode(buf, len, &out), 0);
		ck_assert_int_eq(memcmp(&in, &out, sizeof in), 0);
	}
}
END_TEST

START_TEST(decode_rejects_malformed_cleanly)
{
	uint8_t buf[BATON_CMD_MAX];
	uint8_t junk[BATON_CMD_MAX + 8];
	size_t len, cut;
	struct baton_cmd in = reg_cmd(), out;
	unsigned seed = 1, i, k;

	ck_assert_int_eq(baton_cmd_encode(&in, buf, sizeof buf, &len), 0);
	/* every truncation */
	for (cut = 0; cut < len; cut++) {
		ck_assert_int_eq(baton_cmd_decode(buf, cut, &out),
				 BATON_EPARSE);
	}
	/* trailing garbage */
	memcpy(junk, buf, len);
	junk[len] = 1;
	ck_assert_int_eq(baton_cmd_decode(junk, len + 1, &out), BATON_EPARSE);
	/* up to 7 zero bytes are raft_uv's alignment padding; 8 are not */
	memset(junk + len, 0, 8);
	ck_assert_int_eq(baton_cmd_decode(junk, len + 7, &out), 0);
	ck_assert_int_eq(baton_cmd_decode(junk, len + 8, &out), BATON_EPARSE);
	{
		struct raft_buffer rb;
		ck_assert_int_eq(baton_cmd_to_raft(&in, &rb), 0);
		ck_assert_uint_eq(rb.len % 8, 0);
		ck_assert_int_eq(baton_cmd_decode(rb.base, rb.len, &out), 0);
		raft_free(rb.base);
	}
	/* unknown version and type */
	junk[2] = 99;
	ck_assert_int_eq(baton_cmd_decode(junk, len, &out), BATON_EPARSE);
	junk[2] = BATON_CMD_VERSION;
	junk[3] = 200;
	ck_assert_int_eq(baton_cmd_decode(junk, len, &out), BATON_EPARSE);
	ck_assert_int_eq(baton_cmd_decode(NULL, 0, &out), BATON_EPARSE);
	/* random garbage and random bit flips never crash (ASan watches) */
	for (i = 0; i < 20000; i++) {
		size_t n = (size_t)rand_r(&seed) % sizeof junk;
		for (k = 0; k < n; k++) {
			junk[k] = (uint8_t)rand_r(&seed);
		}
		if (i % 2 == 0 && n > 4) {
			memcpy(junk, buf, len < n ? len : n);
			junk[(size_t)rand_r(&seed) % n] ^=
			    (uint8_t)(1u << (rand_r(&seed) % 8));
		}
		(void)baton_cmd_decode(junk, n, &out);
	}
	/* the FSM turns them into a MALFORMED result, not an error */
	{
		struct baton_fsm f;
		struct raft_fsm rf;
		baton_fsm_init(&f, &rf);
		ck_assert_int_eq(baton_fsm_apply_buf(&f, "garbage", 7),
				 BATON_FSM_MALFORMED);
		ck_assert_uint_eq(f.applied, 1);
	}
	/* names that do not fit are refused by the encoder */
	memset(in.db, 'x', sizeof in.db);
	ck_assert_int_eq(baton_cmd_encode(&in, buf, sizeof buf, &len),
			 BATON_EINVAL);
	in = reg_cmd();
	ck_assert_int_eq(baton_cmd_encode(&in, buf, 10, &len), BATON_ETOOLARGE);
}
END_TEST

START_TEST(apply_rules)
{
	struct baton_fsm f;
	struct raft_fsm rf;
	struct baton_cmd c = reg_cmd();
	struct baton_db_state *db;

	baton_fsm_init(&f, &rf);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_EXISTS);
	db = baton_fsm_db(&f, "orders");
	ck_assert_ptr_nonnull(db);
	ck_assert_uint_eq(db->epoch, 1);
	ck_assert_int_eq(db->primary, 0);

	c = cmd(BATON_CMD_RENEW, "region-0", 1);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	ck_assert_uint_eq(db->renew_seq, 1);
	c = cmd(BATON_CMD_RENEW, "region-1", 1);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_NOT_PRIMARY);
	c = cmd(BATON_CMD_RENEW, "region-0", 2);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_BAD_EPOCH);
	c = cmd(BATON_CMD_RENEW, "nowhere", 1);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_NO_REGION);

	/* promote: exactly epoch + 1, CAS on renewals, data regions only */
	c = cmd(BATON_CMD_PROMOTE, "region-1", 3);
	c.renew_seq = 1;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_BAD_EPOCH);
	c = cmd(BATON_CMD_PROMOTE, "region-1", 1);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_STALE_EPOCH);
	c = cmd(BATON_CMD_PROMOTE, "region-1", 2);
	c.renew_seq = 0;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_LEASE_RENEWED);
	c = cmd(BATON_CMD_PROMOTE, "region-2", 2);
	c.renew_seq = 1;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_NOT_ELIGIBLE);
	c = cmd(BATON_CMD_PROMOTE, "region-1", 2);
	c.renew_seq = 1;
	c.reason = BATON_REASON_LEASE_EXPIRED;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	ck_assert_int_eq(db->primary, 1);
	ck_assert_uint_eq(db->epoch, 2);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_STALE_EPOCH);
	c = cmd(BATON_CMD_RENEW, "region-0", 1);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_STALE_EPOCH);

	/* switchover: begin, fence with final position, promote target */
	c = cmd(BATON_CMD_SWITCHOVER, "region-0", 2);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_PHASE);
	c = cmd(BATON_CMD_FENCE, "region-0", 2);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_NOT_PRIMARY);
	c = cmd(BATON_CMD_FENCE, "region-1", 2);
	c.position = 777;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	ck_assert_int_eq(db->phase, BATON_PHASE_FENCED);
	c = cmd(BATON_CMD_RENEW, "region-1", 2);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_PHASE);
	c = cmd(BATON_CMD_PROMOTE, "region-0", 3);
	c.renew_seq = db->renew_seq;
	c.reason = BATON_REASON_SWITCHOVER;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	ck_assert_int_eq(db->primary, 0);
	ck_assert_int_eq(db->phase, BATON_PHASE_HEALTHY);

	c = cmd(BATON_CMD_REPORT, "region-1", 3);
	c.healthy = 0;
	c.position = 99;
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	ck_assert(!db->regions[1].healthy);
	ck_assert_uint_eq(db->regions[1].position, 99);

	c = cmd(BATON_CMD_REMOVE, "", 0);
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_OK);
	ck_assert_ptr_null(baton_fsm_db(&f, "orders"));
	ck_assert_int_eq(apply(&f, &c), BATON_FSM_NO_DB);
}
END_TEST

START_TEST(snapshot_restore_roundtrip)
{
	struct baton_fsm a, b;
	struct raft_fsm ra, rb;
	struct raft_buffer *bufs;
	unsigned n;
	struct baton_cmd c = reg_cmd();
	size_t cut;

	baton_fsm_init(&a, &ra);
	baton_fsm_init(&b, &rb);
	ck_assert_int_eq(apply(&a, &c), BATON_FSM_OK);
	c = cmd(BATON_CMD_RENEW, "region-0", 1);
	ck_assert_int_eq(apply(&a, &c), BATON_FSM_OK);
	ck_assert_int_eq(ra.snapshot(&ra, &bufs, &n), 0);
	ck_assert_uint_eq(n, 1);
	for (cut = 0; cut < bufs[0].len; cut++) {
		ck_assert_int_eq(
		    baton_fsm_snapshot_decode(&b, bufs[0].base, cut),
		    BATON_EPARSE);
	}
	ck_assert_int_eq(rb.restore(&rb, &bufs[0]), 0); /* frees base */
	raft_free(bufs);
	ck_assert_uint_eq(b.applied, a.applied);
	ck_assert_uint_eq(b.chain, a.chain);
	ck_assert_int_eq(memcmp(b.dbs, a.dbs, sizeof a.dbs), 0);
	baton_fsm_close(&ra);
	baton_fsm_close(&rb);
}
END_TEST

static Suite *fsm_suite(void)
{
	Suite *s = suite_create("consensus_fsm");
	TCase *tc = tcase_create("fsm");
	tcase_add_test(tc, encode_decode_roundtrip_every_type);
	tcase_add_test(tc, decode_rejects_malformed_cleanly);
	tcase_add_test(tc, apply_rules);
	tcase_add_test(tc, snapshot_restore_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(fsm_suite)
