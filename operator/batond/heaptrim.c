/* See heaptrim.h. */
#include "batond/heaptrim.h"

#include <malloc.h>
#include <string.h>

#include "common/error.h"

bool baton_heaptrim_due(size_t free_bytes)
{
	return free_bytes >= BATON_HEAPTRIM_MIN_FREE;
}

bool baton_heaptrim_check(struct baton_heaptrim *h)
{
	struct mallinfo2 mi = mallinfo2();
	bool gave = false;

	if (baton_heaptrim_due(mi.fordblks)) {
		gave = malloc_trim(0) == 1;
		if (gave && h->trims != NULL) {
			(void)baton_metric_inc(h->trims, NULL, 1);
		}
	}
	if (h->free_bytes != NULL) {
		(void)baton_metric_set(h->free_bytes, NULL,
				       (double)mi.fordblks);
	}
	return gave;
}

static void tick(uv_timer_t *t)
{
	(void)baton_heaptrim_check(t->data);
}

int baton_heaptrim_start(struct baton_heaptrim *h, struct baton_metrics *m,
			 uv_loop_t *loop)
{
	memset(h, 0, sizeof *h);
	h->free_bytes = baton_metrics_add(
	    m, BATON_METRIC_GAUGE, "baton_heap_free_bytes",
	    "Bytes free in batond's malloc arenas at the last check (freed "
	    "heap still resident until trimmed)",
	    NULL, NULL, 0);
	h->trims = baton_metrics_add(
	    m, BATON_METRIC_COUNTER, "baton_heap_trims_total",
	    "Times batond gave freed heap back to the kernel (malloc_trim)",
	    NULL, NULL, 0);
	if (h->free_bytes == NULL || h->trims == NULL) {
		return BATON_ENOMEM;
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	uv_timer_start(&h->timer, tick, BATON_HEAPTRIM_PERIOD_MS,
		       BATON_HEAPTRIM_PERIOD_MS);
	uv_unref((uv_handle_t *)&h->timer); /* never keeps the loop alive */
	h->started = true;
	return 0;
}

void baton_heaptrim_stop(struct baton_heaptrim *h)
{
	if (h->started) {
		uv_close((uv_handle_t *)&h->timer, NULL);
		h->started = false;
	}
}
