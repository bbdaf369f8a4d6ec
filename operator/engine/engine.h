/* The database engine interface: one instance, the role changes the agent
 * orders, and what batond needs to know to choose a new primary.
 *
 * One file per engine behind this header (postgres.c first), like curl's
 * lib/vtls/. Every operation is a short *blocking* call (seconds at most,
 * bounded by timeouts): engines shell out to their tools (initdb,
 * pg_basebackup, pg_ctl, pg_rewind) and talk to the server with blocking
 * client calls. On a loop, run them through baton_engine_submit(), which
 * queues them on libuv's threadpool; an engine handle runs one operation at
 * a time (the agent serialises its orders), so implementations need no
 * locks.
 *
 * Safety contract (what the agent builds on):
 *  - fence() returns 0 only when the instance accepts no more writes: it is
 *    read-only and its client sessions were cut, or it is stopped. When
 *    read-only cannot be confirmed, fence() stops the server.
 *  - promote() refuses (BATON_EBUSY) a replica lagging more than
 *    max_lag_bytes behind what it has received or behind ref_lsn.
 *  - promote() leaves the instance fenced; unfence() makes it writable. The
 *    agent unfences only while it holds a valid lease.
 */
#ifndef BATON_ENGINE_H
#define BATON_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/error.h"

enum baton_engine_role {
	BATON_ROLE_UNKNOWN = 0,
	BATON_ROLE_PRIMARY,
	BATON_ROLE_REPLICA,
	BATON_ROLE_STOPPED,
};

const char *baton_engine_role_name(enum baton_engine_role role);

/* Standby names listed in a status (PostgreSQL: NAMEDATALEN 64). */
#define BATON_ENGINE_MAX_STANDBYS 16
#define BATON_ENGINE_NAME_SIZE 64

struct baton_engine_status {
	enum baton_engine_role role;
	bool running;
	bool read_only;	     /* new transactions are read-only */
	bool writable;	     /* primary and not read-only */
	uint64_t lsn;	     /* primary: current write; replica: received */
	uint64_t replay_lsn; /* replica: replayed; primary: = lsn */
	int64_t lag_bytes;   /* replica: received - replayed; -1 unknown */
	unsigned timeline;
	unsigned sync_standbys; /* primary: standbys streaming in sync */
	unsigned standbys;	/* primary: standbys streaming */
	/* Their application_names, sorted (the first
	 * BATON_ENGINE_MAX_STANDBYS of each; the counts above are exact). */
	unsigned n_standby_names;
	unsigned n_sync_names;
	char standby_names[BATON_ENGINE_MAX_STANDBYS][BATON_ENGINE_NAME_SIZE];
	/* what each of standby_names has flushed (0: not known yet) */
	uint64_t standby_flush[BATON_ENGINE_MAX_STANDBYS];
	char sync_names[BATON_ENGINE_MAX_STANDBYS][BATON_ENGINE_NAME_SIZE];
	/* replica: the primary it is configured to stream from, "host:port"
	 * (whether or not it is connected); "" otherwise */
	char upstream[128];
};

/* Where a replica streams from. */
struct baton_engine_peer {
	const char *host;
	int port;
};

struct baton_engine;

struct baton_engine_ops {
	const char *name;
	/* Create the instance in an empty data directory. BATON_EEXIST when
	 * it already holds one: an init never overwrites an instance. On
	 * failure the engine removes what it created (stopping a server it
	 * started), so the same init can be retried. */
	int (*init_primary)(struct baton_engine *e);
	int (*init_replica)(struct baton_engine *e,
			    const struct baton_engine_peer *primary);
	int (*start)(struct baton_engine *e);
	/* Clean stop; falls back to an immediate stop. */
	int (*stop)(struct baton_engine *e, bool immediate);
	int (*status)(struct baton_engine *e, struct baton_engine_status *st);
	int (*promote)(struct baton_engine *e, uint64_t ref_lsn);
	int (*fence)(struct baton_engine *e);
	int (*unfence)(struct baton_engine *e);
	/* Stop cleanly and report the last WAL position the instance wrote
	 * (its shutdown checkpoint): the demotion token. */
	int (*demote)(struct baton_engine *e, uint64_t *final_lsn);
	/* Follow PRIMARY, rewinding divergent history first. */
	int (*rejoin)(struct baton_engine *e,
		      const struct baton_engine_peer *primary);
	/* A replica stops receiving WAL from its primary (a synchronous
	 * failover: from now on it acknowledges nothing more) and reports
	 * the last position it received and flushed: its final position.
	 * It stays a replica; rejoin() follows a primary again. May be
	 * NULL (the engine cannot detach: no synchronous failover). */
	int (*detach)(struct baton_engine *e, uint64_t *final_lsn);
	/* A planned switchover, before the target is promoted: this
	 * streaming replica streams from UPSTREAM, another replica of the
	 * same primary on the same timeline (the target), instead
	 * (cascading replication); it follows UPSTREAM's promotion on the
	 * same connection. Never leaves it holding WAL UPSTREAM lacks: it
	 * refuses (and streams from its primary again, as before) unless
	 * UPSTREAM has flushed everything this replica received. May be
	 * NULL (the engine cannot: standbys rejoin after the promote). */
	int (*cascade)(struct baton_engine *e,
		       const struct baton_engine_peer *upstream);
	/* The synchronous standby list becomes NAMES (N <= BATON_ENGINE_
	 * MAX_STANDBYS, each baton_engine_standby_name_valid()). On a
	 * primary, returns only once no unlisted standby can acknowledge a
	 * commit any more, with *FLUSH_LSN = the primary's flushed WAL
	 * then (X, docs/design-per-instance.md §3.3): every commit
	 * acknowledged with a removed standby's help is at or before it. On
	 * a replica or a stopped instance it records the list for the next
	 * start or promotion, *FLUSH_LSN 0. May be NULL. */
	int (*set_sync_names)(struct baton_engine *e, const char *const *names,
			      unsigned n, uint64_t *flush_lsn);
	void (*destroy)(struct baton_engine *e);
};

/* Whether NAME can be a standby's application name in a synchronous list:
 * 1-63 bytes of A-Z a-z 0-9 '.' '_' '-' (pod names and more; never '*',
 * PostgreSQL's wildcard, a quote or a comma). */
bool baton_engine_standby_name_valid(const char *name);

struct baton_engine {
	const struct baton_engine_ops *ops;
	void *impl;
	int64_t max_lag_bytes; /* promote refuses beyond this; <0: no limit */
	char errmsg[BATON_ERRMSG_SIZE];
};

/* ---- PostgreSQL (operator/engine/postgres.c) ---------------------------- */

struct baton_pg_config {
	const char *bindir;  /* /usr/lib/postgresql/15/bin */
	const char *datadir; /* PGDATA */
	const char *host;    /* listen_addresses and the address peers use */
	int port;
	const char *name;	/* application_name / cluster_name */
	const char *socket_dir; /* admin socket; NULL -> datadir */
	const char *run_as;	/* OS user for server tools when root */
	const char *repl_user;
	/* Never on a command line, in a child's environment or inside
	 * datadir: the engine writes it to a 0600 passfile in secrets_dir
	 * and hands the tools and primary_conninfo only that file's path. */
	const char *repl_password;
	/* Private directory (0700, the server's user) for that passfile,
	 * outside datadir (base backups copy datadir); NULL ->
	 * "DATADIR.baton-secrets", next to the data directory. */
	const char *secrets_dir;
	/* synchronous_standby_names = 'ANY 1 (sync_names)' when set. The
	 * list may name every instance of the cluster, this one included
	 * (its own name is dropped), and instances that do not exist yet. */
	bool synchronous;
	const char *sync_names; /* comma-separated application names */
	int max_wal_senders;	/* 0 -> 10 */
	/* WAL segment size in MiB for initdb (--wal-segsize): a power of two
	 * from 1 to 1024; 0 -> initdb's default (16). Fixed at init: a clone
	 * takes its source's. Every promote starts its timeline with a copy
	 * of the current segment, and a rejoin's pg_rewind copies them all
	 * (docs/lab.md, the heal's rejoin). */
	int wal_segsize_mb;
	/* After a crash or a pg_rewind the data directory is synced before
	 * use: by one syncfs(2) per file system where the kernel reports
	 * write-back errors through it (Linux 5.8 on), else an fsync per
	 * file. True: always an fsync per file. */
	bool no_syncfs;
	int64_t max_lag_bytes; /* 0 -> 16 MiB; <0 no limit */
	unsigned timeout_s;    /* start/stop/connect bound; 0 -> 30 */
	/* Lease enforced inside PostgreSQL (docs/agent.md): both or neither.
	 * lease_module is what shared_preload_libraries loads, an absolute
	 * path or a name in pkglibdir ("baton_lease"); lease_file is the
	 * absolute path of the file the agent writes (engine/leasefile.h),
	 * outside datadir. Every start of the instance, as primary or
	 * replica, after a clone or a rewind, then loads the module; an init
	 * starts it without the module until the replication role exists. */
	const char *lease_module;
	const char *lease_file;
};

/* Copies the configuration; nothing touches the disk yet. */
int baton_pg_engine_init(struct baton_engine *e,
			 const struct baton_pg_config *cfg);

/* Whether a kernel of RELEASE (uname -r) reports write-back errors through
 * syncfs(2): Linux 5.8 on. Before, PostgreSQL's documentation warns, such
 * errors could be lost; the engine then keeps an fsync per file. */
bool baton_pg_syncfs_reports_errors(const char *release);

/* Whether MB is a WAL segment size initdb takes (a power of two, 1-1024). */
bool baton_pg_wal_segsize_valid(int mb);

/* Postmaster pid from postmaster.pid, or 0 when not running. */
int baton_pg_postmaster_pid(struct baton_engine *e);

/* LSN "16/B374D848" <-> 64-bit. */
int baton_pg_parse_lsn(const char *s, uint64_t *out);

/* Where timeline TLI ended, from a timeline history file's text (lines
 * "parent-tli<TAB>switchpoint<TAB>reason", what TIMELINE_HISTORY returns):
 * true and *LSN when HISTORY names TLI as a parent. */
bool baton_pg_history_switchpoint(const char *history, unsigned tli,
				  uint64_t *lsn);

/* Whether the standby E has gone past the point where PRIMARY's timeline
 * forked off its own (it replayed WAL of the old timeline beyond the switch):
 * PostgreSQL then refuses it the new timeline and only a rewind makes it a
 * standby of PRIMARY. *PAST false when it can follow (same timeline, or
 * at or before the switch) or when it does not stream (its timeline is not
 * known then); an error when either side cannot be asked. */
int baton_pg_past_fork(struct baton_engine *e,
		       const struct baton_engine_peer *primary, bool *past);

/* What a failed pg_rewind leaves (OUTPUT: the tool's output; EARLIER: a
 * previous rewind of this data directory did not finish):
 *   BATON_PG_REWIND_RETRY   the target was not touched: rewind again later
 *   BATON_PG_REWIND_RECLONE the target may be half rewritten (pg_rewind got
 *                           to copying, now or before): it is no instance
 *                           any more; clone it again from the primary
 *   BATON_PG_REWIND_REFUSE  the source is another database system: touch
 *                           nothing, an operator must look */
enum {
	BATON_PG_REWIND_RETRY,
	BATON_PG_REWIND_RECLONE,
	BATON_PG_REWIND_REFUSE,
};
int baton_pg_rewind_failure(const char *output, bool earlier);

static inline void baton_engine_destroy(struct baton_engine *e)
{
	if (e->ops != NULL && e->ops->destroy != NULL) {
		e->ops->destroy(e);
	}
}

/* ---- planned switchover (engine.c) -------------------------------------- */

struct baton_switchover_result {
	uint64_t final_lsn;    /* old primary's demotion token */
	double fence_ms;       /* fence + clean stop of the old primary */
	double catchup_ms;     /* target replayed final_lsn */
	double promote_ms;     /* target promoted and writable */
	double unavailable_ms; /* from fence to target writable */
};

/* Fence OLD, stop it cleanly and read its final LSN, wait until TARGET has
 * replayed it (timeout_ms), promote TARGET and make it writable. No
 * acknowledged write is lost: nothing is accepted after the fence and the
 * target serves only once it holds everything before it. On a failure
 * after the fence OLD stays down and fenced (never two primaries);
 * errmsg of the failing engine says why. */
int baton_engine_switchover(struct baton_engine *old,
			    struct baton_engine *target, unsigned timeout_ms,
			    struct baton_switchover_result *res);

/* ---- on a loop ----------------------------------------------------------- */

enum baton_engine_op {
	BATON_ENGINE_STATUS,
	BATON_ENGINE_START,
	BATON_ENGINE_STOP,
	BATON_ENGINE_PROMOTE,
	BATON_ENGINE_FENCE,
	BATON_ENGINE_UNFENCE,
	BATON_ENGINE_DEMOTE,
	BATON_ENGINE_REJOIN,
	BATON_ENGINE_INIT_PRIMARY,
	BATON_ENGINE_INIT_REPLICA, /* from peer_host:peer_port */
	BATON_ENGINE_DETACH,	   /* final_lsn: where it stopped */
	BATON_ENGINE_CASCADE,	   /* from peer_host:peer_port */
	/* sync_names[n_sync_names]; final_lsn: X (0 on a replica) */
	BATON_ENGINE_SET_SYNC_NAMES,
};

struct baton_engine_req;
typedef void (*baton_engine_cb)(struct baton_engine_req *req, int status);

struct baton_engine_req {
	void *data;
	uv_work_t work;
	struct baton_engine *engine;
	enum baton_engine_op op;
	/* inputs */
	uint64_t ref_lsn;
	char peer_host[256];
	int peer_port;
	/* set_sync_names; promote too when with_sync_names (written first) */
	bool with_sync_names;
	unsigned n_sync_names;
	char sync_names[BATON_ENGINE_MAX_STANDBYS][BATON_ENGINE_NAME_SIZE];
	/* outputs */
	int status;
	struct baton_engine_status st; /* filled after every op */
	uint64_t final_lsn;
	char errmsg[BATON_ERRMSG_SIZE];
	baton_engine_cb cb;
};

/* Runs OP on the threadpool; cb runs on the loop with 0 or BATON_E*,
 * BATON_ECANCELED if uv_cancel() took it back before it started. */
int baton_engine_submit(uv_loop_t *loop, struct baton_engine_req *req,
			struct baton_engine *e, enum baton_engine_op op,
			baton_engine_cb cb);

#endif /* BATON_ENGINE_H */
