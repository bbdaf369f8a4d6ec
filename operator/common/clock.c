/* The formatting and parsing half of common/clock.h. */
#include "common/clock.h"

#include <stdio.h>
#include <string.h>

const char *baton_clock_rfc3339(char *buf, size_t size, int digits)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	switch (digits) {
	case 3:
		snprintf(buf, size, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
		break;
	case 6:
		snprintf(buf, size, "%s.%06ldZ", base, ts.tv_nsec / 1000);
		break;
	default:
		snprintf(buf, size, "%sZ", base);
		break;
	}
	return buf;
}

double baton_clock_seconds_since(const char *ts, time_t now)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
		return 0;
	}
	return difftime(now, timegm(&tm));
}
