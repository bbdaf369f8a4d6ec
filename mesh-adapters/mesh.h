/* Mesh adapters: the routing objects one cluster needs for one database.
 *
 * Every backend is a pure function from "this database, these regions, the
 * primary is in region P at epoch E, and I am writing cluster L" to the full
 * list of objects cluster L must hold (JSON, ready for server-side apply).
 * The caller applies them and deletes what it created earlier but is no
 * longer desired (objects carry the labels below, so that list is a label
 * selector away). Being pure keeps the backends testable against expected
 * files and makes repeated reconciles idempotent by construction.
 *
 * The first line of defence is not here but in the label fence every backend
 * shares: the primary Service selects baton.dev/role=primary AND
 * baton.dev/epoch=E, so a pod from an older epoch never receives traffic in
 * any cluster, whatever the mesh does. The mesh objects are the second line:
 * they keep clients in every cluster pointed at region P only (an Istio
 * subset pin, Cilium shared/affinity annotations, a ServiceExport that only
 * P's cluster publishes).
 *
 * Backends: plain (Services only), istio, cilium, mcs; one file each.
 */
#ifndef BATON_MESH_H
#define BATON_MESH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
/* Every object written by an adapter carries BATON_LABEL_CLUSTER, _ROLE,
 * _EPOCH and _COMPONENT. */
#include "common/labels.h"

struct baton_mesh_region {
	const char *name;	      /* region name as in spec.regions */
	const char *istio_cluster_id; /* Istio cluster ID; NULL: same as name */
};

struct baton_mesh_spec {
	const char *db;	     /* DatabaseCluster name */
	const char *ns;	     /* its namespace */
	const char *db_uid;  /* for ownerReferences; NULL: none */
	const char *service; /* client-facing primary Service; NULL: <db>-rw */
	int port;	     /* database port */
	const struct baton_mesh_region *regions; /* data regions */
	size_t n_regions;
	const char *local_region;   /* the cluster these objects are for */
	const char *primary_region; /* NULL: no primary (fenced everywhere) */
	uint64_t epoch;		    /* epoch of primary_region's primary */
	bool istio_ambient;	    /* Istio ambient mode (no sidecars) */
	/* The served ServiceExport group/version, as detected by the caller
	 * from discovery (baton_mesh_mcs_pick_version). NULL: default. */
	const char *mcs_api_version;
	/* The cluster's DNS domain for Service host names; NULL:
	 * cluster.local. */
	const char *cluster_domain;
};

struct baton_mesh_backend {
	const char *name; /* "plain", "istio", "cilium", "mcs" */
	/* group/version strings that must be served for this backend to
	 * work, NULL-terminated (empty for plain and cilium). The caller
	 * reports a condition instead of failing when one is missing. */
	const char *const *required_apis;
	/* Appends the desired objects for spec->local_region to OUT (a JSON
	 * array). BATON_EINVAL with ERRMSG for an unusable spec. */
	int (*desired)(const struct baton_mesh_spec *spec, json_t *out,
		       char *errmsg);
};

/* The backend for a traffic.mesh value ("none" is the plain backend);
 * NULL for an unknown name. */
const struct baton_mesh_backend *baton_mesh_lookup(const char *mesh);

/* The primary Service's name for SPEC. */
const char *baton_mesh_service_name(const struct baton_mesh_spec *spec,
				    char *buf, size_t size);

/* From the group/versions a cluster serves (discovery), the ServiceExport
 * API to use: multicluster.x-k8s.io/v1beta1, then v1alpha1, then GKE's
 * net.gke.io/v1. NULL when none is served. */
const char *baton_mesh_mcs_pick_version(const char *const *served,
					size_t n_served);

/* Plural resource name for an object's apiVersion+kind (for REST paths);
 * NULL if the adapters never write that kind. */
const char *baton_mesh_resource_for(const char *api_version, const char *kind);

/* Shared by the backends: the plain Services (primary, replicas). */
int baton_mesh_plain_services(const struct baton_mesh_spec *spec, json_t *out,
			      char *errmsg);
/* A metadata object with name, namespace, labels and owner reference. */
json_t *baton_mesh_metadata(const struct baton_mesh_spec *spec,
			    const char *name, const char *component);

extern const struct baton_mesh_backend baton_mesh_plain;
extern const struct baton_mesh_backend baton_mesh_istio;
extern const struct baton_mesh_backend baton_mesh_cilium;
extern const struct baton_mesh_backend baton_mesh_mcs;

#endif /* BATON_MESH_H */
