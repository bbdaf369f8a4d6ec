/* mcs: the Multi-Cluster Services API.
 *
 * Only the primary's cluster exports the primary Service (a ServiceExport
 * with the same name); every other cluster's desired set lacks it, so the
 * caller deletes it there. The cluster-set Service
 * (<svc>.<ns>.svc.clusterset.local) then has endpoints from the primary's
 * cluster only, on top of the label fence. The group/version is whatever the
 * cluster serves (v1beta1, v1alpha1, or GKE's net.gke.io/v1), detected by
 * the caller from discovery.
 */
#include <string.h>

#include "mesh-adapters/mesh.h"

static int mcs_desired(const struct baton_mesh_spec *spec, json_t *out,
		       char *errmsg)
{
	char namebuf[128];
	const char *name;
	json_t *export;
	int rv;

	rv = baton_mesh_plain_services(spec, out, errmsg);
	if (rv != 0) {
		return rv;
	}
	if (spec->primary_region == NULL ||
	    strcmp(spec->primary_region, spec->local_region) != 0) {
		return 0;
	}
	name = baton_mesh_service_name(spec, namebuf, sizeof namebuf);
	export = json_pack(
	    "{s:s, s:s, s:o}", "apiVersion",
	    spec->mcs_api_version != NULL ? spec->mcs_api_version
					  : "multicluster.x-k8s.io/v1beta1",
	    "kind", "ServiceExport", "metadata",
	    baton_mesh_metadata(spec, name, "mcs-serviceexport"));
	if (export == NULL) {
		baton_errmsg_printf(errmsg, "mcs: out of memory");
		return BATON_ENOMEM;
	}
	json_array_append_new(out, export);
	return 0;
}

/* Any one of these is enough; the caller checks with
 * baton_mesh_mcs_pick_version. */
static const char *const mcs_apis[] = {"multicluster.x-k8s.io/v1beta1", NULL};

const struct baton_mesh_backend baton_mesh_mcs = {
    .name = "mcs",
    .required_apis = mcs_apis,
    .desired = mcs_desired,
};
