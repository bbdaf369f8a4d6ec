/* Fuzz target: the FSM's command decoder (consensus/fsm.h), with a
 * round-trip oracle.
 *
 * Every Raft entry goes through baton_cmd_decode() on every replica, and
 * whatever decodes is applied: a command that decodes must therefore mean
 * one thing only. For every input that decodes:
 *  - it encodes again (an accepted command that cannot be written back
 *    would be one that batond could never have proposed);
 *  - that encoding decodes to the same struct (older versions upgrade:
 *    a version 1 or 2 RENEW gains round_known, nothing else changes);
 *  - encoding is a fixed point: encode(decode(encode(x))) == encode(x);
 *  - the raft buffer baton_cmd_to_raft() makes (padded to 8 bytes)
 *    decodes to the same struct;
 *  - applying it to a fresh FSM never says MALFORMED (that verdict is
 *    for what does not decode).
 * abort() on any mismatch; ASan and UBSan catch the rest.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/fsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_fsm_cmd: invariant violated: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct baton_cmd a, b, c;
	uint8_t enc1[2 * BATON_CMD_MAX], enc2[2 * BATON_CMD_MAX];
	size_t n1 = 0, n2 = 0;
	struct raft_buffer rb;
	struct raft_fsm rf;
	struct baton_fsm f;
	int res;

	if (baton_cmd_decode(data, size, &a) != 0) {
		return 0;
	}
	if (baton_cmd_encode(&a, enc1, sizeof enc1, &n1) != 0) {
		fail("a decoded command does not encode");
	}
	if (n1 > BATON_CMD_MAX) {
		fail("a decoded command encodes past BATON_CMD_MAX");
	}
	if (baton_cmd_decode(enc1, n1, &b) != 0) {
		fail("an encoded command does not decode");
	}
	/* the one field an older version cannot carry */
	if (a.type == BATON_CMD_RENEW) {
		if (b.round_known != 1) {
			fail("a RENEW re-encoded without its round");
		}
		a.round_known = 1;
	}
	if (memcmp(&a, &b, sizeof a) != 0) {
		fail("decode(encode(decode(x))) != decode(x)");
	}
	if (baton_cmd_encode(&b, enc2, sizeof enc2, &n2) != 0 || n1 != n2 ||
	    memcmp(enc1, enc2, n1) != 0) {
		fail("encode is not a fixed point");
	}
	if (baton_cmd_to_raft(&b, &rb) != 0) {
		fail("baton_cmd_to_raft refused a decoded command");
	}
	if (rb.len % 8 != 0 || baton_cmd_decode(rb.base, rb.len, &c) != 0 ||
	    memcmp(&b, &c, sizeof b) != 0) {
		fail("the padded raft buffer does not decode to the command");
	}
	raft_free(rb.base);

	baton_fsm_init(&f, &rf);
	res = baton_fsm_apply_buf(&f, data, size);
	/* on an empty FSM only a REGISTER gets as far as its own checks */
	if (res == BATON_FSM_MALFORMED && a.type != BATON_CMD_REGISTER) {
		fail("a command that decodes was applied as MALFORMED");
	}
	if (res <= 0 || res >= BATON_FSM__COUNT || f.applied != 1) {
		fail("apply gave no verdict");
	}
	baton_fsm_close(&rf);
	return 0;
}
