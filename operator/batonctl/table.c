/* batonctl's tables (batonctl/table.h). */
#include "batonctl/table.h"

#include <stdlib.h>
#include <string.h>

#include "common/assert.h"
#include "common/error.h"

static char *cell_copy(const char *s)
{
	size_t n;
	char *c;

	if (s == NULL || s[0] == '\0') {
		s = "-";
	}
	n = strlen(s);
	if (n < BATON_CTL_TABLE_MAX_CELL) {
		return strdup(s);
	}
	c = malloc(BATON_CTL_TABLE_MAX_CELL);
	if (c != NULL) {
		memcpy(c, s, BATON_CTL_TABLE_MAX_CELL - 4);
		memcpy(c + BATON_CTL_TABLE_MAX_CELL - 4, "...", 4);
	}
	return c;
}

int baton_ctl_table_init(struct baton_ctl_table *t, size_t ncols,
			 const char *const *header)
{
	BATON_ASSERT(ncols > 0 && ncols <= BATON_CTL_TABLE_MAX_COLS);
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	return baton_ctl_table_add(t, header);
}

int baton_ctl_table_add(struct baton_ctl_table *t, const char *const *row)
{
	if (t->nrows > BATON_CTL_TABLE_MAX_ROWS) {
		return BATON_ETOOLARGE;
	}
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **cells =
		    realloc(t->cells, cap * t->ncols * sizeof *cells);
		if (cells == NULL) {
			return BATON_ENOMEM;
		}
		t->cells = cells;
		t->cap = cap;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		char *copy = cell_copy(row[c]);
		if (copy == NULL) {
			for (size_t k = 0; k < c; k++) {
				free(t->cells[t->nrows * t->ncols + k]);
			}
			return BATON_ENOMEM;
		}
		t->cells[t->nrows * t->ncols + c] = copy;
	}
	t->nrows++;
	return 0;
}

void baton_ctl_table_print(const struct baton_ctl_table *t, FILE *out)
{
	size_t width[BATON_CTL_TABLE_MAX_COLS] = {0};

	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			size_t n = strlen(t->cells[r * t->ncols + c]);
			if (n > width[c]) {
				width[c] = n;
			}
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols) {
				fprintf(out, "%s\n", s);
			} else {
				fprintf(out, "%-*s   ", (int)width[c], s);
			}
		}
	}
}

void baton_ctl_table_free(struct baton_ctl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++) {
		free(t->cells[i]);
	}
	free(t->cells);
	memset(t, 0, sizeof *t);
}

const char *baton_ctl_human_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B",   "KiB", "MiB",
					    "GiB", "TiB", "PiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024.0 && u + 1 < sizeof units / sizeof *units) {
		v /= 1024.0;
		u++;
	}
	/* one decimal below 10 (1.5 MiB), none above (16 MiB); never
	 * rounded up to "1024 KiB": that is the next unit's 1.0 */
	if (v < 9.95) {
		snprintf(buf, len, "%.1f %s", v, units[u]);
	} else if (v < 1023.5 || u + 1 == sizeof units / sizeof *units) {
		snprintf(buf, len, "%.0f %s", v, units[u]);
	} else {
		snprintf(buf, len, "1.0 %s", units[u + 1]);
	}
	return buf;
}
