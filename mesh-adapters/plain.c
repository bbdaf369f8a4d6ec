/* plain: Kubernetes Services only. The primary Service selects the pod with
 * baton.dev/role=primary and the current baton.dev/epoch; the replica
 * Service selects role=replica. Clients in other clusters reach the primary
 * through whatever connects the clusters; within this cluster the Service has
 * endpoints only where the primary is. */
#include "mesh-adapters/mesh.h"

static const char *const no_apis[] = {NULL};

static int plain_desired(const struct baton_mesh_spec *spec, json_t *out,
			 char *errmsg)
{
	return baton_mesh_plain_services(spec, out, errmsg);
}

const struct baton_mesh_backend baton_mesh_plain = {
    .name = "plain",
    .required_apis = no_apis,
    .desired = plain_desired,
};
