/* istio: pin the write path to the primary's cluster.
 *
 * Sidecar mode: in every cluster, a DestinationRule with one subset per data
 * region (selected by the built-in endpoint label topology.istio.io/cluster,
 * whose value is the Istio cluster ID, not the region name) and a
 * VirtualService whose single TCP route sends 100% of new connections to the
 * primary's subset. Istio's own locality failover is deliberately not used:
 * it would fail the write path over by itself, and that decision belongs to
 * the Raft group. With no primary the VirtualService is omitted and the label
 * fence leaves the Service without endpoints.
 *
 * Ambient mode: VirtualService on waypoints is alpha, so the adapter only
 * marks the Service global (istio.io/global) and relies on the label fence.
 */
#include <stdio.h>
#include <string.h>

#include "mesh-adapters/mesh.h"

static const char *cluster_id(const struct baton_mesh_region *r)
{
	return r->istio_cluster_id != NULL ? r->istio_cluster_id : r->name;
}

static int istio_desired(const struct baton_mesh_spec *spec, json_t *out,
			 char *errmsg)
{
	char namebuf[128];
	char host[320];
	const char *name;
	json_t *subsets;
	json_t *dr;
	json_t *vs;
	size_t first = json_array_size(out);
	int rv;

	rv = baton_mesh_plain_services(spec, out, errmsg);
	if (rv != 0) {
		return rv;
	}
	name = baton_mesh_service_name(spec, namebuf, sizeof namebuf);
	if (spec->istio_ambient) {
		json_t *svc = json_array_get(out, first); /* the primary */
		json_object_set_new(
		    json_object_get(json_object_get(svc, "metadata"), "labels"),
		    "istio.io/global", json_string("true"));
		return 0;
	}
	snprintf(host, sizeof host, "%s.%s.svc.%s", name, spec->ns,
		 spec->cluster_domain ? spec->cluster_domain : "cluster.local");

	subsets = json_array();
	for (size_t i = 0; i < spec->n_regions; i++) {
		json_array_append_new(subsets,
				      json_pack("{s:s, s:{s:s}}", "name",
						spec->regions[i].name, "labels",
						"topology.istio.io/cluster",
						cluster_id(&spec->regions[i])));
	}
	dr = json_pack("{s:s, s:s, s:o, s:{s:s, s:o}}", "apiVersion",
		       "networking.istio.io/v1", "kind", "DestinationRule",
		       "metadata",
		       baton_mesh_metadata(spec, name, "istio-destinationrule"),
		       "spec", "host", host, "subsets", subsets);
	if (dr == NULL) {
		goto err_nomem;
	}
	json_array_append_new(out, dr);
	if (spec->primary_region == NULL) {
		return 0;
	}
	vs = json_pack(
	    "{s:s, s:s, s:o, s:{s:[s], s:[{s:[{s:i}], s:[{s:{s:s, s:s, "
	    "s:{s:i}}, s:i}]}]}}",
	    "apiVersion", "networking.istio.io/v1", "kind", "VirtualService",
	    "metadata", baton_mesh_metadata(spec, name, "istio-virtualservice"),
	    "spec", "hosts", host, "tcp", "match", "port", spec->port, "route",
	    "destination", "host", host, "subset", spec->primary_region, "port",
	    "number", spec->port, "weight", 100);
	if (vs == NULL) {
		goto err_nomem;
	}
	json_array_append_new(out, vs);
	return 0;

err_nomem:
	baton_errmsg_printf(errmsg, "istio: out of memory");
	return BATON_ENOMEM;
}

static const char *const istio_apis[] = {"networking.istio.io/v1", NULL};

const struct baton_mesh_backend baton_mesh_istio = {
    .name = "istio",
    .required_apis = istio_apis,
    .desired = istio_desired,
};
