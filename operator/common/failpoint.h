/* A test-only start-up failure injection: the Nth fail point reached
 * fails, as if the step behind it had returned an error.
 *
 *   baton_test_fail_at = 3;         (a test: the third point fails)
 *   rv = baton_failpoint() ? BATON_ENOMEM : step(...);
 *
 * 0 (the default, and always in batond) turns it off: a fail point is then
 * one increment, one load and one compare, on start-up paths and where a
 * bounded buffer grows (common/buf.h: next to a realloc). The tests drive
 * every stage of a constructor's err_after_* unwinding with it under ASan
 * (tests/unit/test_batond_controller.c) and a buffer's allocation failure
 * (tests/unit/test_common_buf.c). The counters are per thread: a test sets
 * them in the thread that runs the constructor (the loop's), and another
 * thread that reaches a fail point (batonctl load's probers, through a
 * common/buf.h buffer) counts in its own, which stays 0: it never fails
 * and never races.
 */
#ifndef BATON_COMMON_FAILPOINT_H
#define BATON_COMMON_FAILPOINT_H

#include <stdbool.h>

extern _Thread_local unsigned baton_test_fail_at;
/* How many fail points were reached since the counter was last set
 * (tests: how many stages a constructor has). */
extern _Thread_local unsigned baton_test_fail_seen;

static inline bool baton_failpoint(void)
{
	baton_test_fail_seen++;
	return baton_test_fail_at != 0 && --baton_test_fail_at == 0;
}

#endif /* BATON_COMMON_FAILPOINT_H */
