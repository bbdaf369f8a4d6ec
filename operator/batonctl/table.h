/* batonctl's tables: columns as wide as their widest cell, as kubectl
 * prints them, and byte counts in units a human reads.
 *
 * Rows are collected first (copied), then printed: each column padded to
 * its widest cell (header included) and three spaces apart, the last one
 * not padded. Bounded: at most BATON_CTL_TABLE_MAX_ROWS rows and cells of
 * at most BATON_CTL_TABLE_MAX_CELL bytes (longer ones are cut, with "...").
 */
#ifndef BATON_BATONCTL_TABLE_H
#define BATON_BATONCTL_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BATON_CTL_TABLE_MAX_COLS 16
#define BATON_CTL_TABLE_MAX_ROWS 100000
#define BATON_CTL_TABLE_MAX_CELL 512

struct baton_ctl_table {
	size_t ncols;
	size_t nrows; /* the header included */
	size_t cap;
	char **cells; /* nrows * ncols, malloc'd */
};

/* A table whose header is the NCOLS strings HEADER. 0 or BATON_ENOMEM. */
int baton_ctl_table_init(struct baton_ctl_table *t, size_t ncols,
			 const char *const *header);
/* Appends a row of t->ncols cells (NULL cells print as "-"). 0,
 * BATON_ENOMEM, or BATON_ETOOLARGE past the row cap. */
int baton_ctl_table_add(struct baton_ctl_table *t, const char *const *row);
void baton_ctl_table_print(const struct baton_ctl_table *t, FILE *out);
void baton_ctl_table_free(struct baton_ctl_table *t);

/* BYTES as "0 B", "512 B", "1.5 KiB", "16 MiB", "2.0 GiB" (IEC units; one
 * decimal below 10 of a unit) into BUF of LEN; returns BUF. */
const char *baton_ctl_human_bytes(uint64_t bytes, char *buf, size_t len);

#endif /* BATON_BATONCTL_TABLE_H */
