/* Prometheus text exposition; see metrics.h. */
#include "http/metrics.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"

struct baton_metric_series {
	char *values[BATON_METRICS_MAX_LABELS];
	unsigned hash;
	double value; /* counter/gauge; histogram: sum */
	unsigned long long count;
	unsigned long long bucket_counts[BATON_METRICS_MAX_BUCKETS];
};

static int valid_name(const char *s)
{
	if (s == NULL ||
	    !(isalpha((unsigned char)*s) || *s == '_' || *s == ':')) {
		return 0;
	}
	for (; *s; s++) {
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == ':')) {
			return 0;
		}
	}
	return 1;
}

void baton_metrics_init(struct baton_metrics *m)
{
	memset(m, 0, sizeof *m);
}

static void free_family(struct baton_metric *f)
{
	for (unsigned i = 0; i < f->n_series; i++) {
		for (unsigned j = 0; j < f->n_labels; j++) {
			free(f->series[i].values[j]);
		}
	}
	for (unsigned j = 0; j < f->n_labels; j++) {
		free(f->labels[j]);
	}
	free(f->series);
	free(f->index);
	free(f->name);
	free(f->help);
	free(f);
}

void baton_metrics_free(struct baton_metrics *m)
{
	for (unsigned i = 0; i < m->n_families; i++) {
		free_family(m->families[i]);
	}
	m->n_families = 0;
}

struct baton_metric *baton_metrics_add(struct baton_metrics *m,
				       enum baton_metric_type type,
				       const char *name, const char *help,
				       const char *const *label_names,
				       const double *buckets,
				       unsigned n_buckets)
{
	struct baton_metric *f;

	if (!valid_name(name) || m->n_families >= BATON_METRICS_MAX_FAMILIES ||
	    n_buckets > BATON_METRICS_MAX_BUCKETS) {
		return NULL;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		return NULL;
	}
	f->type = type;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (f->name == NULL || f->help == NULL) {
		goto err_after_alloc;
	}
	for (; label_names != NULL && label_names[f->n_labels] != NULL;
	     f->n_labels++) {
		if (f->n_labels >= BATON_METRICS_MAX_LABELS ||
		    !valid_name(label_names[f->n_labels])) {
			goto err_after_alloc;
		}
		f->labels[f->n_labels] = strdup(label_names[f->n_labels]);
		if (f->labels[f->n_labels] == NULL) {
			goto err_after_alloc;
		}
	}
	for (unsigned i = 0; type == BATON_METRIC_HISTOGRAM && i < n_buckets;
	     i++) {
		if (i > 0 && buckets[i] <= buckets[i - 1]) {
			goto err_after_alloc;
		}
		f->buckets[i] = buckets[i];
	}
	f->n_buckets = type == BATON_METRIC_HISTOGRAM ? n_buckets : 0;
	m->families[m->n_families++] = f;
	return f;

err_after_alloc:
	free_family(f);
	return NULL;
}

/* The series index is the open-addressing table of consensus/index.h
 * (FNV-1a, linear probing, load <= 1/2) without deletion, written again
 * here rather than used: http/ sits below consensus/, and a series' key is
 * a tuple of label values of any length, not a fixed-size name.
 *
 * FNV-1a over the label values, each ended by a byte no value holds */
static unsigned hash_values(const struct baton_metric *f,
			    const char *const *values)
{
	unsigned h = 2166136261u;
	for (unsigned j = 0; j < f->n_labels; j++) {
		const char *v = values && values[j] ? values[j] : "";
		for (; *v; v++) {
			h = (h ^ (unsigned char)*v) * 16777619u;
		}
		h = (h ^ 0xffu) * 16777619u;
	}
	return h;
}

static bool same_values(const struct baton_metric *f,
			const struct baton_metric_series *s,
			const char *const *values)
{
	for (unsigned j = 0; j < f->n_labels; j++) {
		const char *v = values && values[j] ? values[j] : "";
		if (strcmp(s->values[j], v) != 0) {
			return false;
		}
	}
	return true;
}

static void index_put(unsigned *index, unsigned cap, unsigned hash,
		      unsigned pos)
{
	unsigned slot = hash & (cap - 1);
	while (index[slot] != 0) {
		slot = (slot + 1) & (cap - 1);
	}
	index[slot] = pos + 1;
}

/* Room for one more series: the array and an index kept under half full. */
static int make_room(struct baton_metric *f)
{
	if (f->n_series + 1 > f->cap_series) {
		unsigned ncap = f->cap_series ? f->cap_series * 2 : 8;
		struct baton_metric_series *p;
		if (ncap > BATON_METRICS_MAX_SERIES) {
			ncap = BATON_METRICS_MAX_SERIES;
		}
		p = realloc(f->series, ncap * sizeof *p);
		if (p == NULL) {
			return BATON_ENOMEM;
		}
		f->series = p;
		f->cap_series = ncap;
	}
	if (2 * (f->n_series + 1) > f->index_cap) {
		unsigned ncap = f->index_cap ? f->index_cap * 2 : 16;
		unsigned *idx = calloc(ncap, sizeof *idx);
		if (idx == NULL) {
			return BATON_ENOMEM;
		}
		for (unsigned i = 0; i < f->n_series; i++) {
			index_put(idx, ncap, f->series[i].hash, i);
		}
		free(f->index);
		f->index = idx;
		f->index_cap = ncap;
	}
	return 0;
}

static int find_series(struct baton_metric *f, const char *const *values,
		       struct baton_metric_series **out)
{
	struct baton_metric_series *s;
	unsigned hash = hash_values(f, values);
	int rv;

	for (unsigned slot = hash & (f->index_cap - 1);
	     f->index_cap != 0 && f->index[slot] != 0;
	     slot = (slot + 1) & (f->index_cap - 1)) {
		s = &f->series[f->index[slot] - 1];
		if (s->hash == hash && same_values(f, s, values)) {
			*out = s;
			return 0;
		}
	}
	if (f->n_series >= BATON_METRICS_MAX_SERIES) {
		if (f->dropped++ == 0) {
			baton_log(
			    BATON_LOG_WARN, "metrics",
			    "%s holds %u series, its bound: new series "
			    "are dropped (a label with unbounded values?)",
			    f->name, f->n_series);
		}
		return BATON_ETOOLARGE;
	}
	rv = make_room(f);
	if (rv != 0) {
		return rv;
	}
	s = &f->series[f->n_series];
	memset(s, 0, sizeof *s);
	s->hash = hash;
	for (unsigned j = 0; j < f->n_labels; j++) {
		s->values[j] = strdup(values && values[j] ? values[j] : "");
		if (s->values[j] == NULL) {
			while (j-- > 0) {
				free(s->values[j]);
			}
			return BATON_ENOMEM;
		}
	}
	index_put(f->index, f->index_cap, hash, f->n_series);
	f->n_series++;
	*out = s;
	return 0;
}

void baton_metric_clear(struct baton_metric *f)
{
	if (f == NULL) {
		return;
	}
	for (unsigned i = 0; i < f->n_series; i++) {
		for (unsigned j = 0; j < f->n_labels; j++) {
			free(f->series[i].values[j]);
		}
	}
	f->n_series = 0;
	if (f->index != NULL) {
		memset(f->index, 0, f->index_cap * sizeof *f->index);
	}
}

int baton_metric_inc(struct baton_metric *f, const char *const *label_values,
		     double delta)
{
	struct baton_metric_series *s;
	int rv;

	if (f == NULL || f->type == BATON_METRIC_HISTOGRAM ||
	    (f->type == BATON_METRIC_COUNTER && delta < 0)) {
		return BATON_EINVAL;
	}
	rv = find_series(f, label_values, &s);
	if (rv == 0) {
		s->value += delta;
	}
	return rv;
}

int baton_metric_set(struct baton_metric *f, const char *const *label_values,
		     double value)
{
	struct baton_metric_series *s;
	int rv;

	if (f == NULL || f->type != BATON_METRIC_GAUGE) {
		return BATON_EINVAL;
	}
	rv = find_series(f, label_values, &s);
	if (rv == 0) {
		s->value = value;
	}
	return rv;
}

int baton_metric_observe(struct baton_metric *f,
			 const char *const *label_values, double value)
{
	struct baton_metric_series *s;
	int rv;

	if (f == NULL || f->type != BATON_METRIC_HISTOGRAM) {
		return BATON_EINVAL;
	}
	rv = find_series(f, label_values, &s);
	if (rv != 0) {
		return rv;
	}
	s->value += value;
	s->count++;
	for (unsigned i = 0; i < f->n_buckets; i++) {
		if (value <= f->buckets[i]) {
			s->bucket_counts[i]++;
		}
	}
	return 0;
}

/* ---- rendering ------------------------------------------------------------
 */

struct out {
	struct baton_buf b;
	int err; /* the first error; nothing is added after it */
};

/* 10,000 databases with a few per-database families render to ~10 MiB */
#define RENDER_CAP (64u * 1024 * 1024)

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->err) {
		return;
	}
	va_start(ap, fmt);
	o->err = baton_buf_vprintf(&o->b, fmt, ap);
	va_end(ap);
	if (o->err == BATON_EINVAL) {
		o->err = BATON_EINTERNAL; /* vsnprintf failed: our format */
	}
}

/* Label values escape \ " and newline; HELP escapes \ and newline. */
static void put_escaped(struct out *o, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\') {
			put(o, "\\\\");
		} else if (*s == '\n') {
			put(o, "\\n");
		} else if (quote && *s == '"') {
			put(o, "\\\"");
		} else {
			put(o, "%c", *s);
		}
	}
}

static void put_value(struct out *o, double v)
{
	if (isnan(v)) {
		put(o, "NaN");
	} else if (isinf(v)) {
		put(o, v > 0 ? "+Inf" : "-Inf");
	} else {
		/* shortest of %.15g / %.17g that reads back exactly */
		char buf[40];
		snprintf(buf, sizeof buf, "%.15g", v);
		if (strtod(buf, NULL) != v) {
			snprintf(buf, sizeof buf, "%.17g", v);
		}
		put(o, "%s", buf);
	}
}

/* {a="x",b="y"[,le="..."]} */
static void put_labels(struct out *o, const struct baton_metric *f,
		       const struct baton_metric_series *s, const char *le)
{
	if (f->n_labels == 0 && le == NULL) {
		return;
	}
	put(o, "{");
	for (unsigned j = 0; j < f->n_labels; j++) {
		put(o, "%s%s=\"", j ? "," : "", f->labels[j]);
		put_escaped(o, s->values[j], 1);
		put(o, "\"");
	}
	if (le != NULL) {
		put(o, "%sle=\"%s\"", f->n_labels ? "," : "", le);
	}
	put(o, "}");
}

int baton_metrics_render(const struct baton_metrics *m, char **out, size_t *len)
{
	static const char *type_names[] = {"counter", "gauge", "histogram"};
	struct out o = {.err = 0};

	baton_buf_init(&o.b, RENDER_CAP);
	o.err = baton_buf_add(&o.b, "", 0); /* "" when there is no family */
	for (unsigned i = 0; i < m->n_families; i++) {
		const struct baton_metric *f = m->families[i];
		put(&o, "# HELP %s ", f->name);
		put_escaped(&o, f->help, 0);
		put(&o, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
		for (unsigned k = 0; k < f->n_series; k++) {
			const struct baton_metric_series *s = &f->series[k];
			if (f->type != BATON_METRIC_HISTOGRAM) {
				put(&o, "%s", f->name);
				put_labels(&o, f, s, NULL);
				put(&o, " ");
				put_value(&o, s->value);
				put(&o, "\n");
				continue;
			}
			for (unsigned b = 0; b < f->n_buckets; b++) {
				char le[32];
				snprintf(le, sizeof le, "%g", f->buckets[b]);
				put(&o, "%s_bucket", f->name);
				put_labels(&o, f, s, le);
				put(&o, " %llu\n", s->bucket_counts[b]);
			}
			put(&o, "%s_bucket", f->name);
			put_labels(&o, f, s, "+Inf");
			put(&o, " %llu\n%s_sum", s->count, f->name);
			put_labels(&o, f, s, NULL);
			put(&o, " ");
			put_value(&o, s->value);
			put(&o, "\n%s_count", f->name);
			put_labels(&o, f, s, NULL);
			put(&o, " %llu\n", s->count);
		}
	}
	if (o.err) {
		baton_buf_free(&o.b);
		return o.err;
	}
	*len = o.b.len;
	*out = baton_buf_take(&o.b);
	return 0;
}
