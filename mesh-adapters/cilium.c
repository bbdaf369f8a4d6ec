/* cilium: ClusterMesh global Service annotations on the primary Service.
 *
 * The Service is global in every cluster (backends merged by name and
 * namespace). Only the primary's cluster shares its backends
 * (service.cilium.io/shared=true) and prefers them (affinity=local); every
 * other cluster does not share (so nobody is sent to a demoted or stale
 * primary there) and prefers remote backends. With no primary nobody
 * shares. Cilium needs no CRDs for this: annotations only.
 */
#include <string.h>

#include "mesh-adapters/mesh.h"

static int cilium_desired(const struct baton_mesh_spec *spec, json_t *out,
			  char *errmsg)
{
	size_t first = json_array_size(out);
	bool local_primary;
	json_t *md;
	json_t *ann;
	int rv;

	rv = baton_mesh_plain_services(spec, out, errmsg);
	if (rv != 0) {
		return rv;
	}
	local_primary = spec->primary_region != NULL &&
			strcmp(spec->primary_region, spec->local_region) == 0;
	md = json_object_get(json_array_get(out, first), "metadata");
	ann = json_pack("{s:s, s:s, s:s}", "service.cilium.io/global", "true",
			"service.cilium.io/shared",
			local_primary ? "true" : "false",
			"service.cilium.io/affinity",
			spec->primary_region == NULL ? "none"
			: local_primary		     ? "local"
						     : "remote");
	if (md == NULL || ann == NULL) {
		json_decref(ann);
		baton_errmsg_printf(errmsg, "cilium: out of memory");
		return BATON_ENOMEM;
	}
	json_object_set_new(md, "annotations", ann);
	return 0;
}

static const char *const cilium_apis[] = {NULL};

const struct baton_mesh_backend baton_mesh_cilium = {
    .name = "cilium",
    .required_apis = cilium_apis,
    .desired = cilium_desired,
};
