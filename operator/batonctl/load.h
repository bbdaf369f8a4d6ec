/* The drills' write load and split-brain prober (libpq).
 *
 * The writer inserts one row every interval, ids 1, 2, 3 ... with the
 * client's clock, into whichever instance accepts writes: it connects to
 * every host at once (target_session_attrs=read-write) and keeps the first
 * that answers, so a dead host costs nothing. Every acknowledged write and
 * every error goes to OUT/writes.jsonl with the time it was sent and the
 * time it was answered (ms since the epoch).
 *
 * One prober per host tries a tiny write (INSERT into baton_probe) on that
 * host every probe interval and records each outcome in OUT/probes.jsonl:
 * two hosts whose acknowledged probes overlap in time is a split brain. The
 * prober also polls the host's agent (/v1/status on AGENT_PORT) for role,
 * epoch and writable, into OUT/states.jsonl, for the timeline.
 *
 * On SIGTERM/SIGINT (or after DURATION) it stops, reads back every id of
 * this run from the instance that accepts writes then, and writes
 * OUT/summary.json: acknowledged, present, missing (acknowledged but not
 * there: lost writes), and the first missing ids.
 */
#ifndef BATON_BATONCTL_LOAD_H
#define BATON_BATONCTL_LOAD_H

#include <stdbool.h>

#include <libpq-fe.h>

#define BATON_CTL_LOAD_MAX_HOSTS 8

struct baton_ctl_load_opts {
	const char *hosts[BATON_CTL_LOAD_MAX_HOSTS];
	int n_hosts;
	int port;
	const char *user;
	const char *password;
	const char *dbname;
	const char *out_dir;
	const char *run; /* NULL: "run-<ms>" */
	long interval_ms;
	long probe_interval_ms;
	long write_timeout_ms;
	long duration_ms;      /* 0: until a signal */
	long setup_timeout_ms; /* waiting for a writable instance at start */
	long readback_timeout_ms;
	int agent_port; /* 0: no agent polling */
};

void baton_ctl_load_defaults(struct baton_ctl_load_opts *o);

/* Runs until done. 0, or a BATON_E* with a message on stderr. */
int baton_ctl_load_run(const struct baton_ctl_load_opts *o);

/* Runs SQL with PARAMS on C (the extended protocol when N > 0), waiting
 * at most TIMEOUT_MS. Returns the result (caller clears) or NULL with ERR
 * set, also when the statement completed and its commit then failed;
 * *BROKEN says the connection must be dropped. */
PGresult *baton_ctl_load_exec(PGconn *c, const char *sql, int n,
			      const char *const *params, long timeout_ms,
			      char *err, size_t errlen, bool *broken);

#endif /* BATON_BATONCTL_LOAD_H */
