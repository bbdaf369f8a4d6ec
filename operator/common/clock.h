/* The clock of leases: CLOCK_BOOTTIME in milliseconds. It is monotonic like
 * CLOCK_MONOTONIC but keeps counting while the machine is suspended (or a
 * VM is paused and its guest told so). A lease counted on CLOCK_MONOTONIC
 * would survive a suspend: batond's renewer would hand its agent a grant
 * from a region lease that ended in real time while it slept, and another
 * region may have been promoted meanwhile. Everything that computes or
 * compares lease times (batond's driver and agent API, the agent, the
 * baton_lease module through engine/leasefile.h) uses this clock; timers
 * that only wake the loop stay on libuv's. docs/consensus.md, "Clocks". */
#ifndef BATON_COMMON_CLOCK_H
#define BATON_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t baton_lease_clock_ms(void)
{
	struct timespec ts;

	/* cannot fail with a valid clock id (Linux >= 2.6.39) */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif /* BATON_COMMON_CLOCK_H */
