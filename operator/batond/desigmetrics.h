/* Designation metrics (issue 15 item 4, docs/design-per-instance.md §5):
 *   baton_database_designated_ordinal{db_namespace,name,region}: the
 *     ordinal the FSM designates in each data region (which instance is
 *     promoted, given the lease, or counts for synchronous commits);
 *   baton_designations_total{step,result}: DESIGNATE steps (join, leave,
 *     release) applied here, by the FSM's verdict ("ok", "stale-...");
 *   baton_designation_seconds: a move's time from its JOIN applied to its
 *     RELEASE applied (synchronous moves; an asynchronous RELEASE has no
 *     JOIN and is only counted).
 * Every batond applies every command, so each one's counters are the
 * fleet's. The gauge is set only with designation on (a fleet without it
 * designates ordinal 0 everywhere; 3 series per database for nothing).
 * Fed by raftglue's observer; memory: one record per database with a move
 * in flight. */
#ifndef BATON_BATOND_DESIGMETRICS_H
#define BATON_BATOND_DESIGMETRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/fsm.h"
#include "consensus/index.h"
#include "http/metrics.h"

struct baton_desigmetrics {
	struct baton_metric *ordinal, *steps, *seconds;
	bool on; /* designation on: the gauge is kept */
	/* per database with a JOIN applied and no RELEASE yet: when */
	struct baton_index joins;
};

/* Registers the three metrics in REG. 0, or BATON_ENOMEM. */
int baton_desigmetrics_add(struct baton_desigmetrics *m,
			   struct baton_metrics *reg, bool designation_on);
/* CMD applied with RESULT at NOW (ms, any clock that only goes forward);
 * CMD NULL: a snapshot
 * was restored; moves in flight are not timed. */
void baton_desigmetrics_applied(struct baton_desigmetrics *m,
				const struct baton_cmd *cmd, int result,
				uint64_t now);
/* The gauge from FSM (at a scrape). */
void baton_desigmetrics_update(struct baton_desigmetrics *m,
			       const struct baton_fsm *fsm);
void baton_desigmetrics_close(struct baton_desigmetrics *m);

#endif /* BATON_BATOND_DESIGMETRICS_H */
