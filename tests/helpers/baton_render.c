/* baton_render: prints, as a JSON List, the objects batond would apply in
 * REGION for the DatabaseCluster in FILE (YAML or JSON): its children and
 * the mesh backend's routing objects with the primary in PRIMARY at EPOCH.
 * Used by the integration tests to check those objects against a real API
 * server, and by people to see what batond will write.
 *
 *   baton_render FILE REGION [PRIMARY EPOCH]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond/children.h"
#include "batond/dbspec.h"
#include "common/yamljson.h"
#include "mesh-adapters/mesh.h"

int main(int argc, char **argv)
{
	char errmsg[BATON_ERRMSG_SIZE];
	struct baton_dbspec spec;
	struct baton_mesh_region regions[BATON_DB_MAX_REGIONS];
	struct baton_mesh_spec ms;
	const struct baton_mesh_backend *backend;
	json_t *doc;
	json_t *items;
	size_t n = 0;
	char *text;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: %s FILE REGION [PRIMARY EPOCH]\n",
			argv[0]);
		return 2;
	}
	if (baton_yaml_load_file(argv[1], &doc, errmsg) != 0) {
		fprintf(stderr, "%s\n", errmsg);
		return 1;
	}
	if (json_object_get(json_object_get(doc, "metadata"), "uid") == NULL) {
		json_object_set_new(json_object_get(doc, "metadata"), "uid",
				    json_string("00000000-0000-4000-8000-"
						"000000000000"));
	}
	if (baton_dbspec_parse(doc, &spec, errmsg) != 0) {
		fprintf(stderr, "%s: %s\n", argv[1], errmsg);
		json_decref(doc);
		return 1;
	}
	json_decref(doc);
	items = json_array();
	/* BATON_RENDER_AGENT_TLS=<batond's namespace>: with the agent API's
	 * mutual TLS (placeholder certificate data: the API server checks
	 * the Secret's keys, not its PEM) */
	const char *tls_ns = getenv("BATON_RENDER_AGENT_TLS");
	struct baton_children_tls tls = {.order_peer = "baton://batond/render",
					 .batond_namespace = tls_ns,
					 .ca_b64 = "cGxhY2Vob2xkZXI=",
					 .cert_b64 = "cGxhY2Vob2xkZXI=",
					 .key_b64 = "cGxhY2Vob2xkZXI="};
	if (baton_children_desired(&spec, argv[2], "http://batond:8080",
				   tls_ns != NULL ? &tls : NULL, items,
				   errmsg) != 0) {
		fprintf(stderr, "%s\n", errmsg);
		return 1;
	}
	for (int i = 0; i < spec.n_regions; i++) {
		if (spec.regions[i].role == BATON_DB_REGION_DATA) {
			regions[n].name = spec.regions[i].name;
			regions[n].istio_cluster_id = NULL;
			n++;
		}
	}
	memset(&ms, 0, sizeof ms);
	ms.db = spec.name;
	ms.ns = spec.ns;
	ms.db_uid = spec.uid;
	ms.service = spec.service;
	ms.port = spec.port;
	ms.regions = regions;
	ms.n_regions = n;
	ms.local_region = argv[2];
	ms.primary_region = argc == 5 ? argv[3] : NULL;
	ms.epoch = argc == 5 ? strtoull(argv[4], NULL, 10) : 0;
	backend = baton_mesh_lookup(spec.mesh);
	if (backend == NULL || backend->desired(&ms, items, errmsg) != 0) {
		fprintf(stderr, "mesh %s: %s\n", spec.mesh,
			backend ? errmsg : "unknown");
		json_decref(items);
		return 1;
	}
	doc = json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "List",
			"items", items);
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	if (text == NULL) {
		return 1;
	}
	puts(text);
	free(text);
	return 0;
}
