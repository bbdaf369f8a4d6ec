/* A DatabaseCluster as batond sees it: the parsed, validated spec.
 *
 * The API server has already enforced the schema and the CEL rules, so a
 * failure here is either an object written before the CRD tightened, or a
 * rule the API server cannot know: this region is not among spec.regions,
 * a region has no configured peer. Those become a False condition with the
 * message from errmsg — never a crash and never a hot loop.
 */
#ifndef BATON_BATOND_DBSPEC_H
#define BATON_BATOND_DBSPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define BATON_DB_MAX_REGIONS 7

enum baton_db_region_role { BATON_DB_REGION_DATA, BATON_DB_REGION_WITNESS };

struct baton_db_region {
	char name[48];
	enum baton_db_region_role role;
	int replicas;
	int priority;
};

struct baton_dbspec {
	char ns[64];
	char name[64];
	char uid[64];
	int64_t generation;
	bool deleting; /* metadata.deletionTimestamp is set */
	bool has_finalizer;
	char engine[16];
	struct baton_db_region regions[BATON_DB_MAX_REGIONS];
	int n_regions;
	char primary_region[48]; /* spec: the user's wish */
	bool automatic;
	int lease_seconds;
	int renew_millis;
	int64_t max_lag_bytes;
	/* spec.failover.redesignateAfterSeconds: how long a standby region's
	 * designated instance may look down before a sibling takes its place
	 * (consensus/designate.h); 0: never */
	int redesignate_after_seconds;
	bool synchronous;
	char mesh[16];
	char service[64];
	int port;
	char storage_size[32];
	char storage_class[254];
	int wal_segment_mb; /* spec.storage.walSegmentSizeMB, default 16 */
	char image[256];
	char agent_image[256];
	bool retain_data;
	int teardown_timeout_seconds;
};

/* Parses OBJ (a DatabaseCluster). BATON_EINVALIDOBJ with ERRMSG for a spec
 * that cannot work. */
int baton_dbspec_parse(json_t *obj, struct baton_dbspec *out, char *errmsg);

/* The region entry named NAME, or NULL. */
const struct baton_db_region *baton_dbspec_region(const struct baton_dbspec *s,
						  const char *name);

/* Number of data regions. */
int baton_dbspec_data_regions(const struct baton_dbspec *s);

#endif /* BATON_BATOND_DBSPEC_H */
