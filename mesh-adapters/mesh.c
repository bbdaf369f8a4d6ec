/* Shared pieces of the mesh adapters: lookup, names, metadata, and the plain
 * Services every backend starts from. */
#include "mesh-adapters/mesh.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const struct baton_mesh_backend *const backends[] = {
    &baton_mesh_plain,
    &baton_mesh_istio,
    &baton_mesh_cilium,
    &baton_mesh_mcs,
};

const struct baton_mesh_backend *baton_mesh_lookup(const char *mesh)
{
	if (mesh == NULL || strcmp(mesh, "none") == 0) {
		return &baton_mesh_plain;
	}
	for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
		if (strcmp(backends[i]->name, mesh) == 0) {
			return backends[i];
		}
	}
	return NULL;
}

const char *baton_mesh_service_name(const struct baton_mesh_spec *spec,
				    char *buf, size_t size)
{
	if (spec->service != NULL && spec->service[0] != '\0') {
		return spec->service;
	}
	snprintf(buf, size, "%s-rw", spec->db);
	return buf;
}

const char *baton_mesh_mcs_pick_version(const char *const *served,
					size_t n_served)
{
	static const char *const preference[] = {
	    "multicluster.x-k8s.io/v1beta1",
	    "multicluster.x-k8s.io/v1alpha1",
	    "net.gke.io/v1",
	};
	for (size_t p = 0; p < sizeof preference / sizeof preference[0]; p++) {
		for (size_t i = 0; i < n_served; i++) {
			if (served[i] != NULL &&
			    strcmp(served[i], preference[p]) == 0) {
				return preference[p];
			}
		}
	}
	return NULL;
}

const char *baton_mesh_resource_for(const char *api_version, const char *kind)
{
	static const struct {
		const char *group_prefix; /* "" for the core group */
		const char *kind;
		const char *resource;
	} table[] = {
	    {"", "Service", "services"},
	    {"networking.istio.io/", "DestinationRule", "destinationrules"},
	    {"networking.istio.io/", "VirtualService", "virtualservices"},
	    {"multicluster.x-k8s.io/", "ServiceExport", "serviceexports"},
	    {"net.gke.io/", "ServiceExport", "serviceexports"},
	};
	if (api_version == NULL || kind == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		size_t n = strlen(table[i].group_prefix);
		bool core = n == 0 && strchr(api_version, '/') == NULL;
		if ((core ||
		     (n > 0 &&
		      strncmp(api_version, table[i].group_prefix, n) == 0)) &&
		    strcmp(kind, table[i].kind) == 0) {
			return table[i].resource;
		}
	}
	return NULL;
}

json_t *baton_mesh_metadata(const struct baton_mesh_spec *spec,
			    const char *name, const char *component)
{
	json_t *md = json_pack(
	    "{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "name", name, "namespace",
	    spec->ns, "labels", "app.kubernetes.io/managed-by", "baton",
	    "app.kubernetes.io/part-of", "baton", BATON_LABEL_CLUSTER, spec->db,
	    BATON_LABEL_COMPONENT, component);
	if (md != NULL && spec->db_uid != NULL) {
		json_object_set_new(
		    md, "ownerReferences",
		    json_pack("[{s:s, s:s, s:s, s:s, s:b, s:b}]", "apiVersion",
			      BATON_API_VERSION, "kind", "DatabaseCluster",
			      "name", spec->db, "uid", spec->db_uid,
			      "controller", 1, "blockOwnerDeletion", 1));
	}
	return md;
}

static int check_spec(const struct baton_mesh_spec *spec, char *errmsg)
{
	if (spec->db == NULL || spec->ns == NULL ||
	    spec->local_region == NULL) {
		baton_errmsg_printf(errmsg, "mesh: database name, namespace "
					    "and local region are required");
		return BATON_EINVAL;
	}
	if (spec->port < 1 || spec->port > 65535) {
		baton_errmsg_printf(errmsg, "mesh: port %d is out of range",
				    spec->port);
		return BATON_EINVAL;
	}
	if (spec->primary_region != NULL) {
		bool found = false;
		for (size_t i = 0; i < spec->n_regions; i++) {
			if (strcmp(spec->regions[i].name,
				   spec->primary_region) == 0) {
				found = true;
			}
		}
		if (!found) {
			baton_errmsg_printf(errmsg,
					    "mesh: primary region %s is not "
					    "one of the data regions",
					    spec->primary_region);
			return BATON_EINVAL;
		}
	}
	return 0;
}

int baton_mesh_plain_services(const struct baton_mesh_spec *spec, json_t *out,
			      char *errmsg)
{
	char namebuf[128];
	char ro[128];
	char epoch[24];
	const char *name;
	json_t *primary;
	json_t *replica;
	int rv;

	rv = check_spec(spec, errmsg);
	if (rv != 0) {
		return rv;
	}
	name = baton_mesh_service_name(spec, namebuf, sizeof namebuf);
	snprintf(ro, sizeof ro, "%s-ro", spec->db);
	/* With no primary anywhere the selector names epoch 0, which no pod
	 * ever carries: the Service has no endpoints (fenced). */
	snprintf(epoch, sizeof epoch, "%" PRIu64,
		 spec->primary_region != NULL ? spec->epoch : 0);

	/* The label fence: role AND epoch. appProtocol tcp keeps meshes from
	 * guessing the protocol. */
	primary = json_pack(
	    "{s:s, s:s, s:o, s:{s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:i, s:s, "
	    "s:s, s:i}], s:b}}",
	    "apiVersion", "v1", "kind", "Service", "metadata",
	    baton_mesh_metadata(spec, name, "primary-service"), "spec", "type",
	    "ClusterIP", "selector", BATON_LABEL_CLUSTER, spec->db,
	    BATON_LABEL_ROLE, "primary", BATON_LABEL_EPOCH, epoch, "ports",
	    "name", "tcp-db", "port", spec->port, "protocol", "TCP",
	    "appProtocol", "tcp", "targetPort", spec->port,
	    "publishNotReadyAddresses", 0);
	replica = json_pack(
	    "{s:s, s:s, s:o, s:{s:s, s:{s:s, s:s}, s:[{s:s, s:i, s:s, s:s, "
	    "s:i}]}}",
	    "apiVersion", "v1", "kind", "Service", "metadata",
	    baton_mesh_metadata(spec, ro, "replica-service"), "spec", "type",
	    "ClusterIP", "selector", BATON_LABEL_CLUSTER, spec->db,
	    BATON_LABEL_ROLE, "replica", "ports", "name", "tcp-db", "port",
	    spec->port, "protocol", "TCP", "appProtocol", "tcp", "targetPort",
	    spec->port);
	if (primary == NULL || replica == NULL) {
		json_decref(primary);
		json_decref(replica);
		baton_errmsg_printf(errmsg, "mesh: out of memory");
		return BATON_ENOMEM;
	}
	json_array_append_new(out, primary);
	json_array_append_new(out, replica);
	return 0;
}
