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

/* Every node's replication password: a quote, a colon and a backslash
 * (conninfo, postgresql.conf and passfile escaping all matter), around
 * PGT_SECRET_MARK, which any copy of it contains however it was escaped:
 * tests look for the mark in command lines, environments and files. */
#define PGT_REPL_PASSWORD "s3cret'pw:x\\y"
#define PGT_SECRET_MARK "s3cret"

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

/* Whether /proc/PID/cmdline or /proc/PID/environ holds NEEDLE; WHERE
 * (optional) gets "cmdline" or "environ". */
bool pgt_proc_holds(int pid, const char *needle, char *where, size_t size);
/* The pid of the first process among the postmaster of N and its children
 * whose command line or environment holds NEEDLE, or 0. */
int pgt_server_proc_holds(struct pgt_node *n, const char *needle);
/* Whether a regular file under ROOT holds NEEDLE; FOUND gets its path. */
bool pgt_tree_holds(const char *root, const char *needle, char *found,
		    size_t size);

#endif
