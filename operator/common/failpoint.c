#include "common/failpoint.h"

_Thread_local unsigned baton_test_fail_at;
_Thread_local unsigned baton_test_fail_seen;
