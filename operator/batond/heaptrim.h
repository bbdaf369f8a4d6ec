/* Giving freed heap back to the kernel, from inside batond's loop.
 *
 * glibc keeps freed memory in its arenas for reuse and returns it only
 * from the top of the heap, past M_TRIM_THRESHOLD: free chunks between
 * live ones stay resident. A burst of work (the first reconcile of every
 * database after a start: their requests, bodies and answers) leaves such
 * free chunks behind, and batond settled ~4 MiB higher after a restart at
 * 1,000 databases than before it (24.0 against 19.9 MiB; a malloc_trim(0)
 * by hand then gave back 1.3 MiB, issue 20). The trimmer is a timer due
 * every BATON_HEAPTRIM_PERIOD_MS: when the arenas hold at least
 * BATON_HEAPTRIM_MIN_FREE bytes free, it calls malloc_trim(0), which
 * releases every whole free page in them (madvise), not only the top.
 * Nothing is trimmed while little is free, so an idle batond costs one
 * mallinfo2() every period.
 *
 *   baton_heap_free_bytes    free bytes in the arenas at the last check
 *   baton_heap_trims_total   trims that gave memory back
 */
#ifndef BATON_BATOND_HEAPTRIM_H
#define BATON_BATOND_HEAPTRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "http/metrics.h"

#define BATON_HEAPTRIM_PERIOD_MS 30000
#define BATON_HEAPTRIM_MIN_FREE ((size_t)1 << 20)

struct baton_heaptrim {
	uv_timer_t timer;
	struct baton_metric *free_bytes;
	struct baton_metric *trims;
	bool started;
};

/* Whether FREE_BYTES free in the arenas are worth a trim. */
bool baton_heaptrim_due(size_t free_bytes);

/* One check: reads the arenas' free bytes, trims when due. Returns true
 * when malloc_trim gave memory back. H may have no metrics (NULL). */
bool baton_heaptrim_check(struct baton_heaptrim *h);

/* Registers the metrics in M and starts the timer on LOOP (it never keeps
 * the loop alive). BATON_ENOMEM on failure (nothing started). */
int baton_heaptrim_start(struct baton_heaptrim *h, struct baton_metrics *m,
			 uv_loop_t *loop);

/* Closes the timer (the loop must run once more to finish the close). */
void baton_heaptrim_stop(struct baton_heaptrim *h);

#endif /* BATON_BATOND_HEAPTRIM_H */
