/* What the Raft FSM should hold for a DatabaseCluster, from its spec: the
 * registration, and the failover settings that may change on a live
 * database (mode, lease, renew interval, maxLagBytes, synchronous).
 * Pure: the controller proposes what these return (only the Raft leader
 * does), and the FSM decides (consensus/fsm.h: CONFIG keeps every lease
 * already granted, manual mode stops a failover under way). */
#ifndef BATON_BATOND_FSMSYNC_H
#define BATON_BATOND_FSMSYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "batond/dbspec.h"
#include "consensus/fsm.h"

/* The failover settings SPEC asks for (drift and margin are batond's). */
void baton_fsmsync_settings(const struct baton_dbspec *spec, uint32_t drift_ppm,
			    uint32_t margin_ms,
			    struct baton_failover_config *out);

/* REGISTER for SPEC under KEY ("ns/name"). */
void baton_fsmsync_register(const struct baton_dbspec *spec, const char *key,
			    uint32_t drift_ppm, uint32_t margin_ms,
			    struct baton_cmd *out);

/* CONFIG when SPEC's failover settings differ from the FSM's ST: true and
 * OUT filled; false when they agree. */
bool baton_fsmsync_config(const struct baton_dbspec *spec,
			  const struct baton_db_state *st, uint32_t drift_ppm,
			  uint32_t margin_ms, struct baton_cmd *out);

#endif /* BATON_BATOND_FSMSYNC_H */
