/* The FSM's view of a DatabaseCluster spec; see fsmsync.h. */
#include "batond/fsmsync.h"

#include <stdio.h>
#include <string.h>

void baton_fsmsync_settings(const struct baton_dbspec *spec, uint32_t drift_ppm,
			    uint32_t margin_ms,
			    struct baton_failover_config *out)
{
	memset(out, 0, sizeof *out);
	out->lease_ms = (uint32_t)spec->lease_seconds * 1000;
	out->renew_ms = (uint32_t)spec->renew_millis;
	out->drift_ppm = drift_ppm;
	out->margin_ms = margin_ms;
	out->max_lag_bytes = (uint64_t)spec->max_lag_bytes;
	out->automatic = spec->automatic;
	out->synchronous = spec->synchronous;
}

void baton_fsmsync_register(const struct baton_dbspec *spec, const char *key,
			    uint32_t drift_ppm, uint32_t margin_ms,
			    struct baton_cmd *out)
{
	memset(out, 0, sizeof *out);
	out->type = BATON_CMD_REGISTER;
	snprintf(out->db, sizeof out->db, "%s", key);
	baton_fsmsync_settings(spec, drift_ppm, margin_ms, &out->cfg);
	out->n_regions = (unsigned)spec->n_regions;
	for (int i = 0; i < spec->n_regions && i < BATON_MAX_REGIONS; i++) {
		snprintf(out->regions[i].name, sizeof out->regions[i].name,
			 "%s", spec->regions[i].name);
		out->regions[i].role =
		    spec->regions[i].role == BATON_DB_REGION_WITNESS
			? BATON_ROLE_WITNESS
			: BATON_ROLE_DATA;
		out->regions[i].priority = spec->regions[i].priority;
	}
	snprintf(out->primary, sizeof out->primary, "%s", spec->primary_region);
}

bool baton_fsmsync_config(const struct baton_dbspec *spec,
			  const struct baton_db_state *st, uint32_t drift_ppm,
			  uint32_t margin_ms, struct baton_cmd *out)
{
	struct baton_failover_config want;
	const struct baton_failover_config *have = &st->cfg;

	baton_fsmsync_settings(spec, drift_ppm, margin_ms, &want);
	if (want.lease_ms == have->lease_ms &&
	    want.renew_ms == have->renew_ms &&
	    want.drift_ppm == have->drift_ppm &&
	    want.margin_ms == have->margin_ms &&
	    want.max_lag_bytes == have->max_lag_bytes &&
	    want.automatic == have->automatic &&
	    want.synchronous == have->synchronous) {
		return false;
	}
	memset(out, 0, sizeof *out);
	out->type = BATON_CMD_CONFIG;
	snprintf(out->db, sizeof out->db, "%s", st->name);
	out->cfg = want;
	return true;
}
