/* Test helpers for real PostgreSQL instances (integration tests, bench).
 *
 * Every instance lives under one temp dir owned by the postgres OS user
 * (tests run as root; the engine runs the server tools as postgres), on a
 * free loopback port. Tests stop exactly the servers they started, by data
 * directory, and remove the temp dir.
 */
#ifndef BATON_TEST_PG_CLUSTER_H
#define BATON_TEST_PG_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

#define PGT_BINDIR "/usr/lib/postgresql/15/bin"

struct pgt_node {
	char name[32];
	char datadir[256];
	char sockdir[256];
	int port;
	struct baton_pg_config cfg;
	struct baton_engine e;
};

/* Fails (never skips) when the PostgreSQL binaries are missing. */
void pgt_require_binaries(void);
/* Unchecked teardown: stops servers and removes dirs a failed test left. */
void pgt_reap(void);
/* mkdtemp under /tmp, owned by postgres. */
void pgt_tmpdir(char *out, size_t size);
int pgt_free_port(void);
void pgt_node_init(struct pgt_node *n, const char *dir, const char *name,
		   bool synchronous, const char *sync_names);
/* Runs SQL over the node's socket; 0 or -1 (err gets libpq's message). */
int pgt_exec(const struct pgt_node *n, const char *sql, char *out,
	     size_t out_size, char *err, size_t err_size);
/* SIGKILL the postmaster and all its children. */
void pgt_kill9(struct pgt_node *n);
/* Stops (immediate) every node given and removes DIR. */
void pgt_cleanup(const char *dir, struct pgt_node *nodes, int n);
double pgt_now_ms(void);
/* The baton_lease module next to the test binary (BUILD/lib), copied into
 * DIR (postgres must read it, and the build tree may not be readable by
 * it); OUT gets its path. */
void pgt_lease_module_copy(const char *dir, char *out, size_t size);

#endif
