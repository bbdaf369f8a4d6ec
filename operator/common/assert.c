/* The failure half of common/assert.h: one log line that says which
 * invariant broke and where, then abort() (a core dump, or a signal the
 * test harness can expect). */
#include "common/assert.h"

#include <stdlib.h>

#include "common/log.h"

void baton_assert_fail(const char *expr, const char *file, int line,
		       const char *func)
{
	baton_log(BATON_LOG_ERROR, "assert",
		  "invariant failed: %s at %s:%d (%s)", expr, file, line, func);
	abort();
}
