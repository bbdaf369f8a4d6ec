/* tests/unit/support/fsmcmd.h */
#include "fsmcmd.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

int tst_fsm_apply(struct baton_fsm *f, const struct baton_cmd *c)
{
	uint8_t buf[BATON_CMD_MAX];
	size_t len;

	ck_assert_int_eq(baton_cmd_encode(c, buf, sizeof buf, &len), 0);
	return baton_fsm_apply_buf(f, buf, len);
}

struct baton_cmd tst_cmd(int type, const char *db, const char *region,
			 uint64_t epoch)
{
	struct baton_cmd c;

	memset(&c, 0, sizeof c);
	c.type = type;
	snprintf(c.db, sizeof c.db, "%s", db);
	snprintf(c.region, sizeof c.region, "%s", region);
	c.epoch = epoch;
	return c;
}
