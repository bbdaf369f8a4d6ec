/* The bounded buffer (buf.h). Invariants, asserted on entry: the bound is
 * set (init ran), len <= max, and once memory is held len < cap with
 * p[len] == '\0'. */
#include "common/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/failpoint.h"

#define MIN_CAP 256

void baton_buf_init(struct baton_buf *b, size_t max)
{
	BATON_ASSERT(max > 0 && max < SIZE_MAX);
	memset(b, 0, sizeof *b);
	b->max = max;
}

/* Room for ADD more bytes and the terminator. */
static int grow(struct baton_buf *b, size_t add)
{
	size_t need, cap;
	char *p;

	BATON_ASSERT(b->max > 0 && b->len <= b->max);
	if (add > b->max - b->len) {
		return BATON_ETOOLARGE;
	}
	need = b->len + add + 1;
	if (need <= b->cap) {
		return 0;
	}
	cap = b->cap != 0 ? b->cap : MIN_CAP;
	while (cap < need) {
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	}
	if (cap > b->max + 1) {
		cap = b->max + 1; /* need <= max + 1: still enough */
	}
	if (baton_failpoint()) {
		return BATON_ENOMEM;
	}
	p = realloc(b->p, cap);
	if (p == NULL) {
		return BATON_ENOMEM;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

int baton_buf_add(struct baton_buf *b, const void *data, size_t len)
{
	int rv = grow(b, len);

	if (rv != 0) {
		return rv;
	}
	if (len > 0) {
		memcpy(b->p + b->len, data, len);
	}
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

int baton_buf_vprintf(struct baton_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;
	int rv;

	/* first into the room there is; when that is too small, grow to
	 * what vsnprintf said it needs and format again */
	va_copy(again, ap);
	n = vsnprintf(b->p != NULL ? b->p + b->len : NULL,
		      b->p != NULL ? b->cap - b->len : 0, fmt, ap);
	if (n < 0) {
		va_end(again);
		if (b->p != NULL) {
			b->p[b->len] = '\0';
		}
		return BATON_EINVAL;
	}
	if (b->p != NULL && (size_t)n < b->cap - b->len) {
		/* it fit: cap <= max + 1, so within the bound too */
		va_end(again);
		b->len += (size_t)n;
		return 0;
	}
	if (b->p != NULL) {
		b->p[b->len] =
		    '\0'; /* what the first try wrote is not content */
	}
	rv = grow(b, (size_t)n);
	if (rv == 0) {
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
	return rv;
}

int baton_buf_printf(struct baton_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rv;

	va_start(ap, fmt);
	rv = baton_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rv;
}

void baton_buf_consume(struct baton_buf *b, size_t n)
{
	BATON_ASSERT(n <= b->len);
	if (n == 0) {
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
	b->p[b->len] = '\0';
}

char *baton_buf_take(struct baton_buf *b)
{
	char *p = b->p;

	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void baton_buf_reset(struct baton_buf *b)
{
	b->len = 0;
	if (b->p != NULL) {
		b->p[0] = '\0';
	}
}

void baton_buf_free(struct baton_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}
