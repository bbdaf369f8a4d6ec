/* A drill's report and timeline: see report.h. Pure computation over the
 * files a drill leaves; the only I/O is reading them and writing the two
 * outputs. Records are JSON lines (jansson), at most MAX_LINES per file. */
#include "batonctl/report.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define MAX_LINES (4u * 1024 * 1024)
#define MAX_HOSTS 8

static json_t *load_jsonl(const char *dir, const char *name)
{
	char path[1024];
	char *line = NULL;
	size_t cap = 0;
	json_t *arr = json_array();
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f == NULL) {
		return arr;
	}
	while (getline(&line, &cap, f) > 0 &&
	       json_array_size(arr) < MAX_LINES) {
		json_t *o = json_loads(line, 0, NULL);
		if (json_is_object(o)) {
			json_array_append_new(arr, o);
		} else {
			json_decref(o);
		}
	}
	free(line);
	fclose(f);
	return arr;
}

static json_t *load_json(const char *dir, const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return json_load_file(path, 0, NULL);
}

static int64_t ival(json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

static const char *sval(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int by_t(const void *a, const void *b)
{
	int64_t x = ival(*(json_t *const *)a, "t");
	int64_t y = ival(*(json_t *const *)b, "t");
	return (x > y) - (x < y);
}

/* Acknowledged writes, sorted by the time the answer came. */
static json_t **sorted_acks(json_t *writes, size_t *n)
{
	json_t **v = calloc(json_array_size(writes) + 1, sizeof *v);
	size_t i, k = 0;
	json_t *w;

	if (v == NULL) {
		*n = 0;
		return NULL;
	}
	json_array_foreach(writes, i, w)
	{
		if (json_is_true(json_object_get(w, "ok"))) {
			v[k++] = w;
		}
	}
	qsort(v, k, sizeof *v, by_t);
	*n = k;
	return v;
}

struct hostinfo {
	char name[64];
	json_t *windows; /* [[from, to], ...] runs of acknowledged probes */
};

static int host_index(struct hostinfo *h, int *n, const char *name)
{
	for (int i = 0; i < *n; i++) {
		if (strcmp(h[i].name, name) == 0) {
			return i;
		}
	}
	if (*n == MAX_HOSTS || name[0] == '\0') {
		return -1;
	}
	snprintf(h[*n].name, sizeof h[*n].name, "%s", name);
	h[*n].windows = json_array();
	return (*n)++;
}

static void probe_windows(json_t *probes, struct hostinfo *h, int *nh)
{
	int64_t from[MAX_HOSTS] = {0}, to[MAX_HOSTS] = {0};
	bool open[MAX_HOSTS] = {0};
	size_t i;
	json_t *p;

	json_array_foreach(probes, i, p)
	{
		int k = host_index(h, nh, sval(p, "host"));
		if (k < 0) {
			continue;
		}
		if (json_is_true(json_object_get(p, "ok"))) {
			if (!open[k]) {
				open[k] = true;
				from[k] = ival(p, "t0");
			}
			to[k] = ival(p, "t");
		} else if (open[k]) {
			json_array_append_new(
			    h[k].windows, json_pack("[I, I]", from[k], to[k]));
			open[k] = false;
		}
	}
	for (int k = 0; k < *nh; k++) {
		if (open[k]) {
			json_array_append_new(
			    h[k].windows, json_pack("[I, I]", from[k], to[k]));
		}
	}
}

static json_t *split_brain(struct hostinfo *h, int nh)
{
	json_t *overlaps = json_array();
	for (int a = 0; a < nh; a++) {
		for (int b = a + 1; b < nh; b++) {
			size_t i, j;
			json_t *wa, *wb;
			json_array_foreach(h[a].windows, i, wa)
			{
				json_array_foreach(h[b].windows, j, wb)
				{
					int64_t s = json_integer_value(
					    json_array_get(wa, 0));
					int64_t e = json_integer_value(
					    json_array_get(wa, 1));
					int64_t s2 = json_integer_value(
					    json_array_get(wb, 0));
					int64_t e2 = json_integer_value(
					    json_array_get(wb, 1));
					int64_t lo = s > s2 ? s : s2;
					int64_t hi = e < e2 ? e : e2;
					if (hi > lo &&
					    json_array_size(overlaps) < 100) {
						json_array_append_new(
						    overlaps,
						    json_pack("{s:[s,s], s:I, "
							      "s:I}",
							      "hosts",
							      h[a].name,
							      h[b].name, "from",
							      lo, "to", hi));
					}
				}
			}
		}
	}
	return overlaps;
}

/* ---- the timeline ---------------------------------------------------------
 */

struct axis {
	int64_t t0, t1;
	double x0, w;
};

static double tx(const struct axis *a, int64_t t)
{
	if (a->t1 <= a->t0) {
		return a->x0;
	}
	return a->x0 + a->w * (double)(t - a->t0) / (double)(a->t1 - a->t0);
}

static const char *state_colour(json_t *s)
{
	const char *role = sval(s, "role");
	if (strcmp(role, "primary") == 0) {
		return json_is_true(json_object_get(s, "writable")) ? "#1f77b4"
								    : "#ff7f0e";
	}
	if (strcmp(role, "replica") == 0) {
		return "#9ecae1";
	}
	if (strcmp(role, "unreachable") == 0) {
		return "#d9d9d9";
	}
	return "#f2f2f2";
}

static void write_svg(FILE *f, json_t *drill, json_t *writes, json_t *states,
		      struct hostinfo *h, int nh, int64_t t0, int64_t t1)
{
	struct axis ax = {t0, t1, 150, 1020};
	int rows_y = 90, row_h = 56;
	int height = rows_y + nh * row_h + 70;
	int64_t fault = ival(drill, "faultAt"),
		conv = ival(drill, "convergedAt");
	double span_s = (double)(t1 - t0) / 1000.0;
	int step = span_s > 240 ? 30 : span_s > 90 ? 10 : span_s > 30 ? 5 : 2;
	size_t i;
	json_t *o;

	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1200\" "
		"height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n"
		"<rect width=\"1200\" height=\"%d\" fill=\"white\"/>\n",
		height, height);
	fprintf(f,
		"<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">"
		"drill %s: fault at +%.1f s, %s</text>\n",
		sval(drill, "scenario"), (double)(fault - t0) / 1000.0,
		json_is_true(json_object_get(drill, "converged"))
		    ? "converged"
		    : "NOT converged");
	/* time axis */
	for (int s = 0; s <= (int)span_s; s += step) {
		double x = tx(&ax, t0 + (int64_t)s * 1000);
		fprintf(f,
			"<line x1=\"%.1f\" y1=\"30\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#eeeeee\"/><text x=\"%.1f\" y=\"%d\" "
			"text-anchor=\"middle\" fill=\"#666\">%ds</text>\n",
			x, x, height - 40, x, height - 28, s);
	}
	/* writes: acknowledged up, errors down */
	fprintf(f, "<text x=\"10\" y=\"52\">writes (ack)</text>\n"
		   "<text x=\"10\" y=\"72\">writes (error)</text>\n");
	json_array_foreach(writes, i, o)
	{
		bool ok = json_is_true(json_object_get(o, "ok"));
		double x = tx(&ax, ival(o, "t"));
		fprintf(f,
			"<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"%s\"/>\n",
			x, ok ? 40 : 62, x, ok ? 56 : 76,
			ok ? "#2ca02c" : "#d62728");
	}
	/* per instance: agent role/epoch band, then probe windows */
	for (int k = 0; k < nh; k++) {
		int y = rows_y + k * row_h;
		json_t *prev = NULL;
		int64_t prev_epoch = -1;
		const char *label = json_string_value(json_object_get(
		    json_object_get(drill, "instances"), h[k].name));
		fprintf(
		    f,
		    "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s%s%s</text>"
		    "<text x=\"10\" y=\"%d\" fill=\"#666\">role/epoch</text>"
		    "<text x=\"10\" y=\"%d\" fill=\"#666\">probe writes "
		    "ok</text>\n",
		    y + 10, label ? label : "", label ? " " : "", h[k].name,
		    y + 24, y + 42);
		json_array_foreach(states, i, o)
		{
			if (strcmp(sval(o, "host"), h[k].name) != 0) {
				continue;
			}
			if (prev != NULL) {
				double xa = tx(&ax, ival(prev, "t"));
				double xb = tx(&ax, ival(o, "t"));
				fprintf(f,
					"<rect x=\"%.1f\" y=\"%d\" "
					"width=\"%.1f\" height=\"14\" "
					"fill=\"%s\"/>\n",
					xa, y + 14, xb - xa + 0.3,
					state_colour(prev));
			}
			json_t *e = json_object_get(o, "epoch");
			if (json_is_integer(e) &&
			    json_integer_value(e) != prev_epoch) {
				prev_epoch = json_integer_value(e);
				fprintf(f,
					"<text x=\"%.1f\" y=\"%d\" "
					"font-size=\"9\">e%lld %s</text>\n",
					tx(&ax, ival(o, "t")) + 1, y + 12,
					(long long)prev_epoch, sval(o, "role"));
			}
			prev = o;
		}
		json_t *w;
		json_array_foreach(h[k].windows, i, w)
		{
			double xa =
			    tx(&ax, json_integer_value(json_array_get(w, 0)));
			double xb =
			    tx(&ax, json_integer_value(json_array_get(w, 1)));
			fprintf(f,
				"<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
				"height=\"12\" fill=\"#2ca02c\"/>\n",
				xa, y + 32, xb - xa < 1 ? 1 : xb - xa);
		}
	}
	if (fault > 0) {
		double x = tx(&ax, fault);
		fprintf(
		    f,
		    "<line x1=\"%.1f\" y1=\"30\" x2=\"%.1f\" y2=\"%d\" "
		    "stroke=\"#d62728\" stroke-dasharray=\"4,3\"/>"
		    "<text x=\"%.1f\" y=\"34\" fill=\"#d62728\">fault</text>\n",
		    x, x, height - 40, x + 3);
	}
	if (conv > 0) {
		double x = tx(&ax, conv);
		fprintf(f,
			"<line x1=\"%.1f\" y1=\"30\" x2=\"%.1f\" y2=\"%d\" "
			"stroke=\"#2ca02c\" stroke-dasharray=\"4,3\"/>"
			"<text x=\"%.1f\" y=\"34\" fill=\"#2ca02c\">converged"
			"</text>\n",
			x, x, height - 40, x + 3);
	}
	fprintf(f,
		"<text x=\"10\" y=\"%d\" fill=\"#666\">band: blue primary "
		"(writable), orange primary fenced, light blue replica, grey "
		"agent unreachable; green blocks: the instance acknowledged "
		"probe writes</text>\n</svg>\n",
		height - 8);
}

int baton_ctl_report_write(const char *dir, json_t **out, char *errmsg)
{
	json_t *drill = load_json(dir, "drill.json");
	json_t *summary = load_json(dir, "summary.json");
	json_t *writes = load_jsonl(dir, "writes.jsonl");
	json_t *probes = load_jsonl(dir, "probes.jsonl");
	json_t *states = load_jsonl(dir, "states.jsonl");
	struct hostinfo hosts[MAX_HOSTS];
	int nh = 0;
	json_t **acks = NULL, *rep = NULL, *overlaps, *hw;
	size_t n_acks = 0, n_err = 0, i;
	int64_t fault, last_before = 0, prev, gap = -1, gap_from = 0,
		       gap_to = 0, t0 = INT64_MAX, t1 = 0;
	const char *last_host = "";
	json_t *first_after = NULL, *first_new = NULL, *gap_end = NULL, *o;
	char path[1024];
	FILE *f;
	int rv = 0;

	if (!json_is_object(drill)) {
		baton_errmsg_printf(errmsg,
				    "%s/drill.json is missing or not "
				    "JSON",
				    dir);
		rv = BATON_EINVAL;
		goto out;
	}
	fault = ival(drill, "faultAt");
	acks = sorted_acks(writes, &n_acks);
	json_array_foreach(writes, i, o)
	{
		n_err += !json_is_true(json_object_get(o, "ok"));
		if (ival(o, "t0") < t0) {
			t0 = ival(o, "t0");
		}
		if (ival(o, "t") > t1) {
			t1 = ival(o, "t");
		}
	}
	for (size_t k = 0; k < n_acks; k++) {
		int64_t t = ival(acks[k], "t");
		if (t <= fault) {
			last_before = t;
			last_host = sval(acks[k], "host");
		} else {
			if (first_after == NULL) {
				first_after = acks[k];
			}
			if (first_new == NULL &&
			    strcmp(sval(acks[k], "host"), last_host) != 0) {
				first_new = acks[k];
			}
		}
	}
	/* the longest stretch without an acknowledged write, from the last
	 * one before the fault */
	prev = last_before ? last_before : fault;
	for (size_t k = 0; k < n_acks; k++) {
		int64_t t = ival(acks[k], "t");
		if (t <= prev) {
			continue;
		}
		if (t - prev > gap) {
			gap = t - prev;
			gap_from = prev;
			gap_to = t;
			gap_end = acks[k];
		}
		prev = t;
	}
	probe_windows(probes, hosts, &nh);
	overlaps = split_brain(hosts, nh);
	hw = json_object();
	for (int k = 0; k < nh; k++) {
		json_object_set(hw, hosts[k].name, hosts[k].windows);
	}

	rep = json_deep_copy(drill);
	json_object_set_new(rep, "rtoMs",
			    first_after ? json_integer(gap) : json_null());
	json_object_set_new(rep, "writeGap",
			    first_after ? json_pack("{s:I, s:I}", "from",
						    gap_from, "to", gap_to)
					: json_null());
	/* the write that ended the gap came on a new session: when the
	 * writer won it (the rest is that commit's own wait) */
	if (first_after != NULL && gap_end != NULL &&
	    json_is_integer(json_object_get(gap_end, "connected"))) {
		json_object_set(json_object_get(rep, "writeGap"), "connected",
				json_object_get(gap_end, "connected"));
	}
	json_object_set_new(
	    rep, "lastAckBeforeFault",
	    last_before
		? json_pack("{s:I, s:s}", "t", last_before, "host", last_host)
		: json_null());
	json_object_set_new(
	    rep, "firstAckAfterFault",
	    first_after ? json_pack("{s:I, s:s}", "t", ival(first_after, "t"),
				    "host", sval(first_after, "host"))
			: json_null());
	json_object_set_new(rep, "firstAckByAnotherInstance",
			    first_new ? json_pack("{s:I, s:s}", "t",
						  ival(first_new, "t"), "host",
						  sval(first_new, "host"))
				      : json_null());
	json_object_set_new(rep, "writesResumed", json_boolean(first_after));
	json_object_set_new(rep, "writes",
			    json_pack("{s:I, s:I}", "acknowledged",
				      (json_int_t)n_acks, "errors",
				      (json_int_t)n_err));
	if (json_is_true(json_object_get(summary, "readback"))) {
		json_object_set_new(
		    rep, "rpo",
		    json_pack("{s:b, s:O?, s:O?, s:O?, s:O?}", "checked", 1,
			      "lostAcknowledgedWrites",
			      json_object_get(summary, "missing"), "missingIds",
			      json_object_get(summary, "missingIds"),
			      "readbackHost",
			      json_object_get(summary, "readbackHost"),
			      "present", json_object_get(summary, "present")));
	} else {
		json_object_set_new(
		    rep, "rpo",
		    json_pack("{s:b, s:n, s:s}", "checked", 0,
			      "lostAcknowledgedWrites", "error",
			      summary ? sval(summary, "readbackError")
				      : "no summary.json (load did not "
					"finish)"));
	}
	json_object_set_new(rep, "splitBrain",
			    json_pack("{s:b, s:o, s:I, s:o}", "detected",
				      json_array_size(overlaps) > 0, "overlaps",
				      overlaps, "probes",
				      (json_int_t)json_array_size(probes),
				      "writableWindows", hw));

	snprintf(path, sizeof path, "%s/report.json", dir);
	if (json_dump_file(rep, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
		baton_errmsg_printf(errmsg, "cannot write %s", path);
		rv = BATON_EIO;
		goto out;
	}
	json_array_foreach(probes, i, o)
	{
		if (ival(o, "t") > t1) {
			t1 = ival(o, "t");
		}
	}
	if (t0 == INT64_MAX) {
		t0 = fault ? fault - 1000 : 0;
	}
	if (t1 < t0 + 1000) {
		t1 = t0 + 1000;
	}
	snprintf(path, sizeof path, "%s/timeline.svg", dir);
	f = fopen(path, "w");
	if (f == NULL) {
		baton_errmsg_printf(errmsg, "cannot write %s: %s", path,
				    strerror(errno));
		rv = BATON_EIO;
		goto out;
	}
	write_svg(f, drill, writes, states, hosts, nh, t0, t1);
	fclose(f);
out:
	for (int k = 0; k < nh; k++) {
		json_decref(hosts[k].windows);
	}
	free(acks);
	json_decref(drill);
	json_decref(summary);
	json_decref(writes);
	json_decref(probes);
	json_decref(states);
	if (rv == 0) {
		*out = rep;
	} else {
		json_decref(rep);
	}
	return rv;
}
