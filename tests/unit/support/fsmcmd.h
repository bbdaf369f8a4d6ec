/* Commands for the FSM's tests, applied as the log applies them: encoded,
 * then decoded and applied by baton_fsm_apply_buf(), so every test also
 * runs the codec. */
#ifndef BATON_TEST_FSMCMD_H
#define BATON_TEST_FSMCMD_H

#include <stdint.h>

#include "consensus/fsm.h"

/* C encoded (it must encode) and applied to F: the FSM's result. */
int tst_fsm_apply(struct baton_fsm *f, const struct baton_cmd *c);

/* A zeroed command of TYPE for database DB, naming REGION at EPOCH. */
struct baton_cmd tst_cmd(int type, const char *db, const char *region,
			 uint64_t epoch);

#endif /* BATON_TEST_FSMCMD_H */
