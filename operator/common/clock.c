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
	time_t t;

	if (baton_clock_parse_rfc3339(ts, &t) != 0) {
		return 0;
	}
	return difftime(now, t);
}

int baton_clock_parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;
	long off = 0;

	/* RFC 3339's date-time is digits in fixed places,
	 * "YYYY-MM-DDTHH:MM:SS"; strptime alone would take leading blanks, a
	 * sign and one-digit fields (" 2026-1-5T1:2:3Z"), and it checks the
	 * ranges below */
	for (int i = 0; i < 19; i++) {
		char want = "dddd-dd-ddTdd:dd:dd"[i];
		if (want == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != want) {
			return -1;
		}
	}
	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p != s + 19) {
		return -1;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9') {
			return -1;
		}
		while (*p >= '0' && *p <= '9') {
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' &&
		   p[2] >= '0' && p[2] <= '9' && p[3] == ':' && p[4] >= '0' &&
		   p[4] <= '9' && p[5] >= '0' && p[5] <= '9') {
		off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L +
		      ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
		if (*p == '-') {
			off = -off;
		}
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0') {
		return -1;
	}
	*out = timegm(&tm) - off;
	return 0;
}
