/* Unit tests for mesh-adapters/: each backend's desired objects, checked for
 * the properties that keep the write path on one region (label fence,
 * subset pin, shared/affinity, export only from the primary) and compared
 * with reviewed golden files in tests/unit/data/mesh/ (regenerate with
 * BATON_UPDATE_GOLDEN=1 and review the diff). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mesh-adapters/mesh.h"

static const struct baton_mesh_region regions[] = {
    {"eu-west", "cluster-eu"},
    {"us-east", "cluster-us"},
    {"ap-south", NULL},
};

static struct baton_mesh_spec spec_for(const char *local, const char *primary,
				       unsigned long epoch)
{
	struct baton_mesh_spec s = {
	    .db = "orders",
	    .ns = "shop",
	    .db_uid = "0b7c4d2e-0000-4000-8000-000000000001",
	    .service = "orders-rw",
	    .port = 5432,
	    .regions = regions,
	    .n_regions = 3,
	    .local_region = local,
	    .primary_region = primary,
	    .epoch = epoch,
	};
	return s;
}

static json_t *desired(const char *mesh, const struct baton_mesh_spec *s)
{
	char errmsg[BATON_ERRMSG_SIZE] = "";
	const struct baton_mesh_backend *b = baton_mesh_lookup(mesh);
	json_t *out = json_array();
	ck_assert_ptr_nonnull(b);
	ck_assert_msg(b->desired(s, out, errmsg) == 0, "%s: %s", mesh, errmsg);
	return out;
}

static json_t *find(json_t *objs, const char *kind, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(objs, i, o)
	{
		const char *k = json_string_value(json_object_get(o, "kind"));
		const char *n = json_string_value(
		    json_object_get(json_object_get(o, "metadata"), "name"));
		if (strcmp(k, kind) == 0 && strcmp(n, name) == 0) {
			return o;
		}
	}
	return NULL;
}

static const char *path_str(json_t *o, const char *a, const char *b,
			    const char *c)
{
	json_t *v = json_object_get(o, a);
	if (b != NULL) {
		v = json_object_get(v, b);
	}
	if (c != NULL) {
		v = json_object_get(v, c);
	}
	return json_string_value(v);
}

static void golden(const char *name, json_t *got)
{
	char path[512];
	json_error_t err;
	json_t *want;
	const char *dir = getenv("BATON_TEST_DATA");

	snprintf(path, sizeof path, "%s/mesh/%s.json",
		 dir != NULL ? dir : "tests/unit/data", name);
	if (getenv("BATON_UPDATE_GOLDEN") != NULL) {
		ck_assert_int_eq(
		    json_dump_file(got, path, JSON_INDENT(2) | JSON_SORT_KEYS),
		    0);
	}
	want = json_load_file(path, 0, &err);
	ck_assert_msg(want != NULL, "golden file %s: %s", path, err.text);
	if (!json_equal(want, got)) {
		char *g = json_dumps(got, JSON_INDENT(2) | JSON_SORT_KEYS);
		ck_abort_msg("%s differs from the golden file; got:\n%s", path,
			     g);
	}
	json_decref(want);
}

START_TEST(plain_fences_on_role_and_epoch)
{
	struct baton_mesh_spec s = spec_for("eu-west", "us-east", 7);
	json_t *objs = desired("none", &s);
	json_t *svc = find(objs, "Service", "orders-rw");
	json_t *sel;

	ck_assert_int_eq(json_array_size(objs), 2);
	ck_assert_ptr_nonnull(svc);
	sel = json_object_get(json_object_get(svc, "spec"), "selector");
	ck_assert_str_eq(
	    json_string_value(json_object_get(sel, "baton.dev/role")),
	    "primary");
	ck_assert_str_eq(
	    json_string_value(json_object_get(sel, "baton.dev/epoch")), "7");
	ck_assert_str_eq(
	    json_string_value(json_object_get(sel, "baton.dev/cluster")),
	    "orders");
	ck_assert_ptr_nonnull(find(objs, "Service", "orders-ro"));
	/* owned by the DatabaseCluster, so the garbage collector removes it */
	ck_assert_str_eq(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(json_object_get(svc, "metadata"),
					       "ownerReferences"),
			       0),
		"uid")),
	    "0b7c4d2e-0000-4000-8000-000000000001");
	golden("plain-eu-west-primary-us-east-7", objs);
	json_decref(objs);
}
END_TEST

START_TEST(plain_without_primary_selects_nothing)
{
	struct baton_mesh_spec s = spec_for("eu-west", NULL, 7);
	json_t *objs = desired("none", &s);
	json_t *svc = find(objs, "Service", "orders-rw");
	ck_assert_str_eq(path_str(svc, "spec", "selector", "baton.dev/epoch"),
			 "0");
	json_decref(objs);
}
END_TEST

START_TEST(istio_hosts_use_the_cluster_domain)
{
	struct baton_mesh_spec s = spec_for("eu-west", "us-east", 7);
	json_t *objs;
	s.cluster_domain = "corp.example";
	objs = desired("istio", &s);
	ck_assert_str_eq(path_str(find(objs, "DestinationRule", "orders-rw"),
				  "spec", "host", NULL),
			 "orders-rw.shop.svc.corp.example");
	json_decref(objs);
}
END_TEST

START_TEST(istio_pins_every_cluster_to_the_primary_subset)
{
	const char *locals[] = {"eu-west", "us-east", "ap-south"};
	for (int i = 0; i < 3; i++) {
		struct baton_mesh_spec s = spec_for(locals[i], "us-east", 7);
		json_t *objs = desired("istio", &s);
		json_t *dr = find(objs, "DestinationRule", "orders-rw");
		json_t *vs = find(objs, "VirtualService", "orders-rw");
		json_t *subsets, *route;

		ck_assert_ptr_nonnull(dr);
		ck_assert_ptr_nonnull(vs);
		ck_assert_str_eq(path_str(dr, "spec", "host", NULL),
				 "orders-rw.shop.svc.cluster.local");
		subsets =
		    json_object_get(json_object_get(dr, "spec"), "subsets");
		ck_assert_int_eq(json_array_size(subsets), 3);
		/* subsets select the Istio cluster ID, not the region name */
		ck_assert_str_eq(path_str(json_array_get(subsets, 1), "labels",
					  "topology.istio.io/cluster", NULL),
				 "cluster-us");
		ck_assert_str_eq(path_str(json_array_get(subsets, 2), "labels",
					  "topology.istio.io/cluster", NULL),
				 "ap-south");
		/* one TCP route, one destination, 100% to the primary */
		route = json_object_get(
		    json_array_get(
			json_object_get(json_object_get(vs, "spec"), "tcp"), 0),
		    "route");
		ck_assert_int_eq(json_array_size(route), 1);
		ck_assert_str_eq(path_str(json_array_get(route, 0),
					  "destination", "subset", NULL),
				 "us-east");
		ck_assert_int_eq(json_integer_value(json_object_get(
				     json_array_get(route, 0), "weight")),
				 100);
		if (i == 0) {
			golden("istio-eu-west-primary-us-east-7", objs);
		}
		json_decref(objs);
	}
}
END_TEST

START_TEST(istio_without_primary_has_no_route)
{
	struct baton_mesh_spec s = spec_for("eu-west", NULL, 3);
	json_t *objs = desired("istio", &s);
	ck_assert_ptr_null(find(objs, "VirtualService", "orders-rw"));
	ck_assert_ptr_nonnull(find(objs, "DestinationRule", "orders-rw"));
	json_decref(objs);
}
END_TEST

START_TEST(istio_ambient_marks_the_service_global_only)
{
	struct baton_mesh_spec s = spec_for("eu-west", "eu-west", 2);
	json_t *objs;
	s.istio_ambient = true;
	objs = desired("istio", &s);
	ck_assert_int_eq(json_array_size(objs), 2);
	ck_assert_str_eq(path_str(find(objs, "Service", "orders-rw"),
				  "metadata", "labels", "istio.io/global"),
			 "true");
	json_decref(objs);
}
END_TEST

START_TEST(cilium_shares_only_from_the_primary_cluster)
{
	struct baton_mesh_spec p = spec_for("us-east", "us-east", 7);
	struct baton_mesh_spec o = spec_for("eu-west", "us-east", 7);
	struct baton_mesh_spec n = spec_for("eu-west", NULL, 7);
	json_t *po = desired("cilium", &p);
	json_t *oo = desired("cilium", &o);
	json_t *no = desired("cilium", &n);
	json_t *ps = find(po, "Service", "orders-rw");
	json_t *os = find(oo, "Service", "orders-rw");
	json_t *ns = find(no, "Service", "orders-rw");

	ck_assert_str_eq(
	    path_str(ps, "metadata", "annotations", "service.cilium.io/global"),
	    "true");
	ck_assert_str_eq(
	    path_str(ps, "metadata", "annotations", "service.cilium.io/shared"),
	    "true");
	ck_assert_str_eq(path_str(ps, "metadata", "annotations",
				  "service.cilium.io/affinity"),
			 "local");
	ck_assert_str_eq(
	    path_str(os, "metadata", "annotations", "service.cilium.io/shared"),
	    "false");
	ck_assert_str_eq(path_str(os, "metadata", "annotations",
				  "service.cilium.io/affinity"),
			 "remote");
	ck_assert_str_eq(
	    path_str(ns, "metadata", "annotations", "service.cilium.io/shared"),
	    "false");
	golden("cilium-us-east-primary-us-east-7", po);
	golden("cilium-eu-west-primary-us-east-7", oo);
	json_decref(po);
	json_decref(oo);
	json_decref(no);
}
END_TEST

START_TEST(mcs_exports_only_from_the_primary_cluster)
{
	struct baton_mesh_spec p = spec_for("us-east", "us-east", 7);
	struct baton_mesh_spec o = spec_for("eu-west", "us-east", 7);
	json_t *po, *oo, *exp;
	p.mcs_api_version = "multicluster.x-k8s.io/v1alpha1";
	po = desired("mcs", &p);
	oo = desired("mcs", &o);
	exp = find(po, "ServiceExport", "orders-rw");
	ck_assert_ptr_nonnull(exp);
	ck_assert_str_eq(path_str(exp, "apiVersion", NULL, NULL),
			 "multicluster.x-k8s.io/v1alpha1");
	ck_assert_ptr_null(find(oo, "ServiceExport", "orders-rw"));
	golden("mcs-us-east-primary-us-east-7", po);
	json_decref(po);
	json_decref(oo);
}
END_TEST

START_TEST(mcs_version_detection)
{
	const char *both[] = {"multicluster.x-k8s.io/v1alpha1", "v1",
			      "multicluster.x-k8s.io/v1beta1"};
	const char *alpha[] = {"apps/v1", "multicluster.x-k8s.io/v1alpha1"};
	const char *gke[] = {"net.gke.io/v1"};
	const char *none[] = {"apps/v1", "networking.istio.io/v1"};
	ck_assert_str_eq(baton_mesh_mcs_pick_version(both, 3),
			 "multicluster.x-k8s.io/v1beta1");
	ck_assert_str_eq(baton_mesh_mcs_pick_version(alpha, 2),
			 "multicluster.x-k8s.io/v1alpha1");
	ck_assert_str_eq(baton_mesh_mcs_pick_version(gke, 1), "net.gke.io/v1");
	ck_assert_ptr_null(baton_mesh_mcs_pick_version(none, 2));
}
END_TEST

START_TEST(bad_specs_are_refused_with_a_message)
{
	char errmsg[BATON_ERRMSG_SIZE] = "";
	struct baton_mesh_spec s = spec_for("eu-west", "mars", 1);
	json_t *out = json_array();
	ck_assert_int_eq(baton_mesh_istio.desired(&s, out, errmsg),
			 BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(errmsg, "mars"));
	s = spec_for("eu-west", "eu-west", 1);
	s.port = 0;
	ck_assert_int_eq(baton_mesh_plain.desired(&s, out, errmsg),
			 BATON_EINVAL);
	ck_assert_ptr_nonnull(strstr(errmsg, "port"));
	ck_assert_int_eq(json_array_size(out), 0);
	ck_assert_ptr_null(baton_mesh_lookup("linkerd"));
	json_decref(out);
}
END_TEST

START_TEST(resource_names_for_rest_paths)
{
	ck_assert_str_eq(baton_mesh_resource_for("v1", "Service"), "services");
	ck_assert_str_eq(
	    baton_mesh_resource_for("networking.istio.io/v1", "VirtualService"),
	    "virtualservices");
	ck_assert_str_eq(
	    baton_mesh_resource_for("net.gke.io/v1", "ServiceExport"),
	    "serviceexports");
	ck_assert_ptr_null(baton_mesh_resource_for("apps/v1", "Service"));
	ck_assert_ptr_null(baton_mesh_resource_for("v1", "Pod"));
}
END_TEST

static Suite *mesh_suite(void)
{
	Suite *s = suite_create("mesh");
	TCase *tc = tcase_create("desired");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, plain_fences_on_role_and_epoch);
	tcase_add_test(tc, plain_without_primary_selects_nothing);
	tcase_add_test(tc, istio_pins_every_cluster_to_the_primary_subset);
	tcase_add_test(tc, istio_hosts_use_the_cluster_domain);
	tcase_add_test(tc, istio_without_primary_has_no_route);
	tcase_add_test(tc, istio_ambient_marks_the_service_global_only);
	tcase_add_test(tc, cilium_shares_only_from_the_primary_cluster);
	tcase_add_test(tc, mcs_exports_only_from_the_primary_cluster);
	tcase_add_test(tc, mcs_version_detection);
	tcase_add_test(tc, bad_specs_are_refused_with_a_message);
	tcase_add_test(tc, resource_names_for_rest_paths);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(mesh_suite)
