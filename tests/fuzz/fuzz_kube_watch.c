/* Fuzz target: the watch stream framer and event parser (kube/watch.h),
 * the code that turns an API server's chunked watch body into events.
 *
 * Input: byte 0 picks the line cap (255: the default 16 MiB, else
 * 4 * byte + 1), byte 1 seeds how the body is cut into chunks (the same
 * bytes arrive in whatever pieces TCP and curl make of them), byte 2 bit 0
 * says to stop at the first event that does not parse (what the watch
 * handle does); the rest is the body.
 *
 * Oracle: a reference framer written the obvious way (split the whole body
 * at '\n', drop one trailing '\r', skip empty lines) over the whole body.
 * The real framer, fed chunk by chunk, must emit exactly the reference's
 * lines, in order, and nothing else; fail with BATON_ETOOLARGE exactly when
 * a line's bytes fed so far exceed the cap (never earlier, never later) and
 * be empty afterwards; keep exactly the unterminated tail otherwise. Every
 * line goes to the event parser: a parsed event has a known type and an
 * object (a new reference, freed here: LeakSanitizer counts), a refused
 * one has none and says why; ERROR events go through the Status mapping
 * the watch uses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/client.h"
#include "kube/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_kube_watch: invariant violated: %s\n", what);
	abort();
}

struct seen {
	const char *body; /* the reference's view */
	size_t body_len;
	size_t next; /* where the next reference line starts */
	unsigned lines;
	bool stop_on_bad;
};

/* The reference: the next non-empty line at or after s->next, as
 * [*start, *start + *len) without '\r'; its raw length (up to '\n' or
 * the end) in *raw. false when no '\n' follows. */
static bool ref_next(const struct seen *s, size_t *start, size_t *len,
		     size_t *raw, size_t *after)
{
	size_t p = s->next;

	for (;;) {
		const char *nl = memchr(s->body + p, '\n', s->body_len - p);
		size_t n;

		if (nl == NULL) {
			*start = p;
			*raw = s->body_len - p;
			return false;
		}
		n = (size_t)(nl - (s->body + p));
		*start = p;
		*raw = n;
		*after = p + n + 1;
		*len = n > 0 && s->body[p + n - 1] == '\r' ? n - 1 : n;
		if (*len > 0) {
			return true;
		}
		p = *after;
	}
}

static void check_event(const char *line, size_t len)
{
	char errmsg[BATON_ERRMSG_SIZE] = "";
	json_t *obj = (json_t *)1;
	int type = -1;
	int rv = baton_kube_event_parse(line, len, &type, &obj, errmsg);

	if (rv != 0) {
		if (rv != BATON_EPARSE || obj != NULL || type != 0 ||
		    errmsg[0] == '\0') {
			fail("a refused event left a result or no reason");
		}
		return;
	}
	if (type < BATON_KUBE_ADDED || type > BATON_KUBE_ERROR ||
	    !json_is_object(obj) || obj->refcount != 1) {
		fail("a parsed event has no type or no object of its own");
	}
	if (type == BATON_KUBE_ERROR) {
		long code = json_integer_value(json_object_get(obj, "code"));
		errmsg[0] = '\0';
		rv = baton_kube_status_error(code ? code : 500, obj, errmsg);
		if (rv <= 0 || rv >= BATON_E_COUNT || errmsg[0] == '\0') {
			fail("an ERROR event mapped to no error");
		}
	} else {
		/* what the watch keeps to resume from */
		const char *rvs = json_string_value(json_object_get(
		    json_object_get(obj, "metadata"), "resourceVersion"));
		if (rvs != NULL && strlen(rvs) > len) {
			fail("a resourceVersion longer than its event");
		}
	}
	json_decref(obj);
}

static int line_cb(void *ud, const char *line, size_t len)
{
	struct seen *s = ud;
	size_t start, rlen, raw, after;
	char errmsg[BATON_ERRMSG_SIZE];
	int type;
	json_t *obj = NULL;

	if (!ref_next(s, &start, &rlen, &raw, &after) || rlen != len ||
	    memcmp(s->body + start, line, len) != 0) {
		fail("the framer emitted a line the reference does not have");
	}
	s->next = after;
	s->lines++;
	check_event(line, len);
	if (!s->stop_on_bad) {
		return 0;
	}
	if (baton_kube_event_parse(line, len, &type, &obj, errmsg) != 0) {
		return BATON_EPARSE;
	}
	json_decref(obj);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct baton_kube_framer f;
	struct seen s;
	size_t max, off = 0, start, rlen, raw, after;
	uint32_t rng;
	int rv = 0;

	if (size < 3) {
		return 0;
	}
	max = data[0] == 255 ? BATON_KUBE_WATCH_MAX_LINE : 4u * data[0] + 1;
	rng = data[1];
	memset(&s, 0, sizeof s);
	s.stop_on_bad = data[2] & 1;
	s.body = (const char *)data + 3;
	s.body_len = size - 3;
	baton_kube_framer_init(&f, data[0] == 255 ? 0 : max);

	while (off < s.body_len) {
		size_t n = s.body_len - off;
		size_t chunk_start = off;

		if (rng != 0) {
			rng = rng * 1103515245u + 12345u;
			size_t want = 1 + (rng >> 16) % 64;
			n = want < n ? want : n;
		}
		rv = baton_kube_framer_feed(&f, s.body + off, n, line_cb, &s);
		off += n;
		if (rv == BATON_ETOOLARGE) {
			/* the line after the last emitted one is too long,
			 * and was not too long before this chunk */
			ref_next(&s, &start, &rlen, &raw, &after);
			size_t end = off < start + raw ? off : start + raw;
			size_t fed = end > start ? end - start : 0;
			size_t fed_before =
			    chunk_start > start ? chunk_start - start : 0;
			if (fed <= max || fed_before > max) {
				fail("ETOOLARGE for a line within the cap");
			}
			if (f.line.len != 0) {
				fail("the framer kept bytes after ETOOLARGE");
			}
			break;
		}
		if (rv != 0) {
			if (rv != BATON_EPARSE || !s.stop_on_bad) {
				fail("feed failed without a reason");
			}
			if (f.line.len != 0) {
				fail("the framer kept bytes after a stop");
			}
			break;
		}
	}
	if (rv == 0) {
		/* every complete line came out; the tail is kept */
		if (ref_next(&s, &start, &rlen, &raw, &after)) {
			fail("a complete line was never emitted");
		}
		if (raw > max || f.line.len != raw ||
		    (raw > 0 && memcmp(f.line.p, s.body + start, raw) != 0)) {
			fail("the framer does not hold the unterminated tail");
		}
	}
	baton_kube_framer_free(&f);
	return 0;
}
