/* Every clock Baton reads, in one place, each for one use:
 *
 *   CLOCK_BOOTTIME   baton_lease_clock_ms(), baton_boottime_ns()
 *                    leases, and nothing else needs it;
 *   CLOCK_MONOTONIC  baton_mono_ms(), baton_mono_ms_double()
 *                    durations, timeouts, backoffs, metrics;
 *   CLOCK_REALTIME   baton_realtime_ms(), baton_clock_rfc3339()
 *                    timestamps people and the API server read (status
 *                    conditions, Events, Lease renewTime, log lines,
 *                    batonctl's records). Never a duration that decides
 *                    anything: the wall clock jumps.
 *
 * The clock of leases is CLOCK_BOOTTIME. It is monotonic like
 * CLOCK_MONOTONIC but keeps counting while the machine is suspended (or a
 * VM is paused and its guest told so). A lease counted on CLOCK_MONOTONIC
 * would survive a suspend: batond's renewer would hand its agent a grant
 * from a region lease that ended in real time while it slept, and another
 * region may have been promoted meanwhile. Everything that computes or
 * compares lease times (batond's driver and agent API, the agent, the
 * baton_lease module through engine/leasefile.h) uses this clock; timers
 * that only wake the loop stay on libuv's. docs/consensus.md, "Clocks".
 *
 * Pure code (consensus/, the policies in batond/) reads no clock: the
 * caller passes `now` in, read from here.
 */
#ifndef BATON_COMMON_CLOCK_H
#define BATON_COMMON_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The clock_gettime() calls below cannot fail with these clock ids
 * (CLOCK_BOOTTIME: Linux >= 2.6.39). */

/* CLOCK_BOOTTIME in nanoseconds: monotonic, and counting through suspend.
 * A lease of L ms granted at boottime T ends at T + L * 1000000. */
static inline uint64_t baton_boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The lease clock in milliseconds (CLOCK_BOOTTIME). */
static inline uint64_t baton_lease_clock_ms(void)
{
	return baton_boottime_ns() / 1000000u;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline uint64_t baton_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* CLOCK_MONOTONIC in milliseconds with the fraction, for timings that are
 * reported (a switchover's steps) and deadlines computed from them. */
static inline double baton_mono_ms_double(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CLOCK_REALTIME in milliseconds since the epoch. */
static inline int64_t baton_realtime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Now on CLOCK_REALTIME as RFC 3339 UTC into BUF, with DIGITS (0, 3 or 6)
 * of the second's fraction: 0 is "2026-11-28T03:22:52Z" (metav1.Time:
 * status conditions, Events), 3 the log's milliseconds, 6 "MicroTime"
 * (coordination.k8s.io Leases, events.k8s.io). BUF holds at least 32
 * bytes; returns BUF. */
const char *baton_clock_rfc3339(char *buf, size_t size, int digits);

/* Seconds from TS (RFC 3339 UTC, whole seconds: "2026-11-28T03:22:52Z") to
 * NOW (seconds since the epoch, CLOCK_REALTIME), or 0 when TS does not
 * parse. Pure: the caller reads the clock. */
double baton_clock_seconds_since(const char *ts, time_t now);

/* TS as RFC 3339 ("2026-12-05T15:04:05Z", with a fraction, or a
 * "+01:00" offset) into *OUT, seconds since the epoch: 0, or -1 when it
 * does not parse. The fields are RFC 3339's, fixed-width digits: no
 * leading blanks, signs or one-digit fields. The one parser for every
 * timestamp Baton reads (the peer token's expiry holds it to UTC "Z"). */
int baton_clock_parse_rfc3339(const char *ts, time_t *out);

#endif /* BATON_COMMON_CLOCK_H */
