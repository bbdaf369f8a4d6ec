#include "common/failpoint.h"

unsigned baton_test_fail_at;
unsigned baton_test_fail_seen;
