/* A tiny Prometheus registry: counters, gauges and histograms with labels,
 * rendered in the text exposition format (version 0.0.4) for /metrics.
 *
 * Families are registered once at start-up; series (one per label-value
 * tuple) are created on first use, found through a hash index (a gauge per
 * database is set for every database at every scrape: a linear search made
 * that quadratic). Both are bounded (BATON_METRICS_MAX_*), and a full
 * family answers BATON_ETOOLARGE instead of growing and says so once in
 * the log: a label with unbounded values (a pod name per request...) is a
 * bug to notice. Single-threaded, like the loop that owns it.
 */
#ifndef BATON_HTTP_METRICS_H
#define BATON_HTTP_METRICS_H

#include <stddef.h>

#include "common/error.h"

#define BATON_METRICS_MAX_FAMILIES 64
#define BATON_METRICS_MAX_LABELS 4
/* per family: a series per database and region at the scale
 * (10,000 databases, 3 regions) with room to spare; storage grows on use */
#define BATON_METRICS_MAX_SERIES 65536
#define BATON_METRICS_MAX_BUCKETS 16

enum baton_metric_type {
	BATON_METRIC_COUNTER,
	BATON_METRIC_GAUGE,
	BATON_METRIC_HISTOGRAM,
};

struct baton_metric_series;

struct baton_metric {
	char *name;
	char *help;
	enum baton_metric_type type;
	char *labels[BATON_METRICS_MAX_LABELS];
	unsigned n_labels;
	double buckets[BATON_METRICS_MAX_BUCKETS]; /* upper bounds, sorted */
	unsigned n_buckets;
	struct baton_metric_series *series; /* grows; n_series in use */
	unsigned n_series;
	unsigned cap_series;
	unsigned *index;    /* open addressing: series position + 1, 0 empty */
	unsigned index_cap; /* a power of two, > 2 * n_series */
	unsigned long long dropped; /* samples refused by a full family */
};

struct baton_metrics {
	struct baton_metric *families[BATON_METRICS_MAX_FAMILIES];
	unsigned n_families;
};

void baton_metrics_init(struct baton_metrics *m);
void baton_metrics_free(struct baton_metrics *m);

/* label_names: NULL-terminated array or NULL. buckets: for histograms
 * only (n_buckets upper bounds, ascending; +Inf is implicit). Returns NULL
 * on a bad name, too many families or out of memory. */
struct baton_metric *baton_metrics_add(struct baton_metrics *m,
				       enum baton_metric_type type,
				       const char *name, const char *help,
				       const char *const *label_names,
				       const double *buckets,
				       unsigned n_buckets);

/* label_values: as many as label names (NULL if none). */
/* Drops every series of F: for a gauge whose label values are computed
 * afresh before each render (series of what no longer exists must go,
 * not stay at their last value). */
void baton_metric_clear(struct baton_metric *f);

int baton_metric_inc(struct baton_metric *f, const char *const *label_values,
		     double delta);
int baton_metric_set(struct baton_metric *f, const char *const *label_values,
		     double value);
int baton_metric_observe(struct baton_metric *f,
			 const char *const *label_values, double value);

/* Renders everything; *out is malloc'ed and NUL-terminated. */
int baton_metrics_render(const struct baton_metrics *m, char **out,
			 size_t *len);

#endif /* BATON_HTTP_METRICS_H */
