#include "batond/dbspec.h"

#include <stdio.h>
#include <string.h>

#include "common/labels.h"
#include "common/version.h"
#include "consensus/designate.h"

static const char *str_or(json_t *obj, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s != NULL ? s : dflt;
}

static int64_t int_or(json_t *obj, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static bool bool_or(json_t *obj, const char *key, bool dflt)
{
	json_t *v = json_object_get(obj, key);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* Copies S into DST of SIZE; false if it does not fit. */
static bool copy(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);
	if (n >= size) {
		return false;
	}
	memcpy(dst, s, n + 1);
	return true;
}

#define COPY_OR_FAIL(dst, s, what)                                             \
	do {                                                                   \
		if (!copy((dst), sizeof(dst), (s))) {                          \
			baton_errmsg_printf(errmsg, "%s is too long", (what)); \
			return BATON_EINVALIDOBJ;                              \
		}                                                              \
	} while (0)

int baton_dbspec_parse(json_t *obj, struct baton_dbspec *out, char *errmsg)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *spec = json_object_get(obj, "spec");
	json_t *regions = json_object_get(spec, "regions");
	json_t *fo = json_object_get(spec, "failover");
	json_t *tr = json_object_get(spec, "traffic");
	json_t *svc = json_object_get(tr, "service");
	json_t *st = json_object_get(spec, "storage");
	json_t *td = json_object_get(spec, "teardown");
	json_t *fin = json_object_get(md, "finalizers");
	size_t i;
	json_t *r;

	memset(out, 0, sizeof *out);
	if (!json_is_object(md) || !json_is_object(spec)) {
		baton_errmsg_printf(errmsg, "object has no metadata or spec");
		return BATON_EINVALIDOBJ;
	}
	COPY_OR_FAIL(out->ns, str_or(md, "namespace", "default"),
		     "metadata.namespace");
	COPY_OR_FAIL(out->name, str_or(md, "name", ""), "metadata.name");
	COPY_OR_FAIL(out->uid, str_or(md, "uid", ""), "metadata.uid");
	out->generation = int_or(md, "generation", 0);
	out->deleting = json_object_get(md, "deletionTimestamp") != NULL &&
			!json_is_null(json_object_get(md, "deletionTimestamp"));
	json_array_foreach(fin, i, r)
	{
		if (json_is_string(r) &&
		    strcmp(json_string_value(r), BATON_FINALIZER) == 0) {
			out->has_finalizer = true;
		}
	}
	if (out->name[0] == '\0') {
		baton_errmsg_printf(errmsg, "metadata.name is empty");
		return BATON_EINVALIDOBJ;
	}
	if (strlen(out->ns) + 1 + strlen(out->name) > 63) {
		baton_errmsg_printf(errmsg,
				    "namespace/name %s/%s is longer than 63 "
				    "characters, the Raft group's limit for "
				    "a database name",
				    out->ns, out->name);
		return BATON_EINVALIDOBJ;
	}
	COPY_OR_FAIL(out->engine, str_or(spec, "engine", "postgres"),
		     "spec.engine");
	if (strcmp(out->engine, "postgres") != 0) {
		baton_errmsg_printf(errmsg,
				    "spec.engine %s is not supported by this "
				    "batond (postgres only)",
				    out->engine);
		return BATON_EINVALIDOBJ;
	}
	if (!json_is_array(regions) || json_array_size(regions) == 0 ||
	    json_array_size(regions) > BATON_DB_MAX_REGIONS) {
		baton_errmsg_printf(errmsg,
				    "spec.regions must list 1 to %d regions",
				    BATON_DB_MAX_REGIONS);
		return BATON_EINVALIDOBJ;
	}
	json_array_foreach(regions, i, r)
	{
		struct baton_db_region *reg = &out->regions[i];
		const char *role = str_or(r, "role", "data");
		COPY_OR_FAIL(reg->name, str_or(r, "name", ""),
			     "spec.regions[].name");
		if (reg->name[0] == '\0') {
			baton_errmsg_printf(
			    errmsg, "spec.regions[%zu].name is empty", i);
			return BATON_EINVALIDOBJ;
		}
		for (int j = 0; j < (int)i; j++) {
			if (strcmp(out->regions[j].name, reg->name) == 0) {
				baton_errmsg_printf(
				    errmsg, "spec.regions lists %s twice",
				    reg->name);
				return BATON_EINVALIDOBJ;
			}
		}
		reg->role = strcmp(role, "witness") == 0
				? BATON_DB_REGION_WITNESS
				: BATON_DB_REGION_DATA;
		reg->replicas = (int)int_or(
		    r, "replicas", reg->role == BATON_DB_REGION_DATA ? 1 : 0);
		reg->priority = (int)int_or(r, "priority", 100);
		out->n_regions = (int)i + 1;
	}
	COPY_OR_FAIL(out->primary_region, str_or(spec, "primaryRegion", ""),
		     "spec.primaryRegion");
	{
		const struct baton_db_region *p =
		    baton_dbspec_region(out, out->primary_region);
		if (p == NULL) {
			baton_errmsg_printf(errmsg,
					    "spec.primaryRegion %s is not one "
					    "of spec.regions",
					    out->primary_region);
			return BATON_EINVALIDOBJ;
		}
		if (p->role != BATON_DB_REGION_DATA) {
			baton_errmsg_printf(errmsg,
					    "spec.primaryRegion %s is a "
					    "witness region",
					    out->primary_region);
			return BATON_EINVALIDOBJ;
		}
	}
	out->automatic = strcmp(str_or(fo, "mode", "automatic"), "manual") != 0;
	out->lease_seconds = (int)int_or(fo, "leaseSeconds", 2);
	out->renew_millis = (int)int_or(fo, "renewMillis", 500);
	out->max_lag_bytes = int_or(fo, "maxLagBytes", 16 * 1024 * 1024);
	out->synchronous = bool_or(fo, "synchronous", true);
	{
		/* the CRD's default and bounds: an object written before the
		 * field existed has none, and one the schema did not check
		 * (an older CRD) may have anything */
		json_t *ra = json_object_get(fo, "redesignateAfterSeconds");
		if (json_is_null(ra)) {
			ra = NULL;
		}
		if (ra != NULL &&
		    (!json_is_integer(ra) || json_integer_value(ra) < 0 ||
		     json_integer_value(ra) > 3600)) {
			baton_errmsg_printf(errmsg,
					    "spec.failover.redesignateAfter"
					    "Seconds must be an integer from 0 "
					    "(never) to 3600");
			return BATON_EINVALIDOBJ;
		}
		out->redesignate_after_seconds =
		    ra != NULL ? (int)json_integer_value(ra)
			       : BATON_DESIGNATE_AFTER_DEFAULT_MS / 1000;
	}
	if (out->lease_seconds * 1000 <= 2 * out->renew_millis) {
		baton_errmsg_printf(errmsg,
				    "spec.failover.leaseSeconds must be "
				    "longer than twice renewMillis");
		return BATON_EINVALIDOBJ;
	}
	COPY_OR_FAIL(out->mesh, str_or(tr, "mesh", "none"),
		     "spec.traffic.mesh");
	{
		char dflt[80];
		snprintf(dflt, sizeof dflt, "%s-rw", out->name);
		COPY_OR_FAIL(out->service, str_or(svc, "name", dflt),
			     "spec.traffic.service.name");
	}
	out->port = (int)int_or(svc, "port", 5432);
	COPY_OR_FAIL(out->storage_size, str_or(st, "size", "10Gi"),
		     "spec.storage.size");
	COPY_OR_FAIL(out->storage_class, str_or(st, "storageClassName", ""),
		     "spec.storage.storageClassName");
	out->wal_segment_mb = (int)int_or(st, "walSegmentSizeMB", 16);
	if (out->wal_segment_mb < 1 || out->wal_segment_mb > 1024 ||
	    (out->wal_segment_mb & (out->wal_segment_mb - 1)) != 0) {
		baton_errmsg_printf(errmsg,
				    "spec.storage.walSegmentSizeMB must be a "
				    "power of two from 1 to 1024");
		return BATON_EINVALIDOBJ;
	}
	COPY_OR_FAIL(out->image, str_or(spec, "image", "postgres:15"),
		     "spec.image");
	COPY_OR_FAIL(out->agent_image,
		     str_or(spec, "agentImage", BATON_DEFAULT_IMAGE),
		     "spec.agentImage");
	out->retain_data = bool_or(td, "retainData", true);
	out->teardown_timeout_seconds = (int)int_or(td, "timeoutSeconds", 300);
	return 0;
}

const struct baton_db_region *baton_dbspec_region(const struct baton_dbspec *s,
						  const char *name)
{
	for (int i = 0; i < s->n_regions; i++) {
		if (strcmp(s->regions[i].name, name) == 0) {
			return &s->regions[i];
		}
	}
	return NULL;
}

int baton_dbspec_data_regions(const struct baton_dbspec *s)
{
	int n = 0;
	for (int i = 0; i < s->n_regions; i++) {
		n += s->regions[i].role == BATON_DB_REGION_DATA;
	}
	return n;
}
