/* One bounded dynamic buffer (STYLE 6; the model is curl's lib/dynbuf.c,
 * Curl_dyn_init(s, toobig)).
 *
 * A buffer has a bound, MAX, set once: its content never grows past MAX
 * bytes, and an append that would is refused with BATON_ETOOLARGE, an
 * error of its own, so the caller can say "too large" (a watch line, a
 * response body, a request) instead of "out of memory". Memory grows by
 * doubling from 256 bytes up to the bound (MAX + 1 with the terminator),
 * so a bounded buffer never holds more than about twice its content.
 *
 * The content is NUL-terminated once anything was appended (b->p is NULL
 * before): it can go to strtol, json_loadb or a log line as it is. A
 * refused append (BATON_ETOOLARGE, BATON_ENOMEM) leaves the buffer as it
 * was. Allocation failures are injected with common/failpoint.h: every
 * growth is a fail point, so a test can make the Nth one fail.
 *
 * Not for hot paths that need zero copies; for everything that used to
 * hand-write `realloc(p, cap * 2)`.
 */
#ifndef BATON_COMMON_BUF_H
#define BATON_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "common/error.h"

struct baton_buf {
	char *p; /* the content, NUL-terminated; NULL until the first append */
	size_t len; /* bytes of content, without the terminator */
	/* Private. */
	size_t cap; /* bytes allocated */
	size_t max; /* the bound on len */
};

/* An empty buffer that will hold at most MAX bytes (MAX > 0). Allocates
 * nothing. */
void baton_buf_init(struct baton_buf *b, size_t max);

/* Appends LEN bytes: 0, BATON_ETOOLARGE past the bound, BATON_ENOMEM. */
int baton_buf_add(struct baton_buf *b, const void *data, size_t len);

/* Appends a formatted string, with the same errors. */
int baton_buf_printf(struct baton_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int baton_buf_vprintf(struct baton_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Drops the first N bytes (N <= len), keeping the rest and the memory. */
void baton_buf_consume(struct baton_buf *b, size_t n);

/* Hands the content over (NULL if nothing was ever appended; the caller
 * free()s it) and leaves the buffer empty, with the same bound: the next
 * append allocates anew. */
char *baton_buf_take(struct baton_buf *b);

/* Empties the buffer, keeping its memory for the next content. */
void baton_buf_reset(struct baton_buf *b);

/* Releases the memory; the buffer is empty again with the same bound. */
void baton_buf_free(struct baton_buf *b);

#endif /* BATON_COMMON_BUF_H */
