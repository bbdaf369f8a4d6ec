/* What batond caches (batond/cachefields.h, kube/prune.h).
 *
 * The fixtures (tests/unit/data/cache/) are a pod and a DatabaseCluster as
 * the API server served them in `make bench-batond`, with what a live one
 * may carry besides (managedFields, a Ready condition, an address, the
 * forensic-fence and switchover annotations, a deletionTimestamp).
 *
 * Two independent checks that nothing batond reads is pruned:
 * - every path batond reads (listed here from the json_object_get calls on
 *   cached objects in operator/batond/ and operator/kube/, not copied from
 *   the allow-lists) has the same value before and after;
 * - batond's own readers (dbspec, pod readiness, the forensic fence, the
 *   cache key) answer the same on the pruned object as on the whole one.
 * Either fails when a field is dropped from an allow-list that a reader
 * needs; the third group fails when what should go stays.
 *
 * batond/applyhash.c reads no cached field itself: it hashes the children
 * built from the dbspec, and its annotation (baton.dev/applied-hash) is on
 * those children, which are never cached. What it depends on: a pruned
 * DatabaseCluster gives the same children, so the same stamps, and
 * stamping never writes into a cached object (which interning may share
 * between databases).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond/agents.h"
#include "batond/applyhash.h"
#include "batond/cachefields.h"
#include "batond/children.h"
#include "batond/dbspec.h"
#include "batond/hold.h"
#include "common/labels.h"
#include "harness.h"
#include "kube/informer.h"
#include "kube/intern.h"
#include "kube/prune.h"

static json_t *fixture(const char *name)
{
	char path[512];
	json_error_t err;
	const char *dir = getenv("BATON_TEST_DATA");
	json_t *o;

	snprintf(path, sizeof path, "%s/cache/%s.json",
		 dir != NULL ? dir : "tests/unit/data", name);
	o = json_load_file(path, 0, &err);
	ck_assert_msg(o != NULL, "fixture %s: %s", path, err.text);
	return o;
}

/* The value at PATH (keys, or array indexes written as "#N"). */
static json_t *at(json_t *v, const char *const *path)
{
	for (; *path != NULL && v != NULL; path++) {
		if ((*path)[0] == '#') {
			v = json_array_get(
			    v, (size_t)strtoul(*path + 1, NULL, 10));
		} else {
			v = json_object_get(v, *path);
		}
	}
	return v;
}

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

static void same_at(json_t *whole, json_t *pruned, const char *const *path)
{
	json_t *w = at(whole, path), *p = at(pruned, path);
	char where[256] = "";

	for (const char *const *c = path; *c != NULL; c++) {
		size_t n = strlen(where);
		snprintf(where + n, sizeof where - n, "%s%s", n ? "." : "", *c);
	}
	ck_assert_msg(w != NULL, "fixture lacks %s", where);
	ck_assert_msg(p != NULL, "pruned away: %s", where);
	ck_assert_msg(json_equal(w, p), "changed by pruning: %s", where);
}

/* Every field of a pod batond reads: controller.c (index, label fence),
 * agents.c (sync_pods, pod_port, pod_ready), hold.c, informer.c. */
START_TEST(pod_keeps_every_read_field)
{
	json_t *whole = fixture("pod"), *pod = json_deep_copy(whole);
	char a[256], b[256], ra[64], rb[64];

	baton_cachefields_pod(pod);
	same_at(whole, pod, P("metadata", "name"));
	same_at(whole, pod, P("metadata", "namespace"));
	same_at(whole, pod, P("metadata", "resourceVersion"));
	same_at(whole, pod, P("metadata", "deletionTimestamp"));
	same_at(whole, pod, P("metadata", "labels", BATON_LABEL_CLUSTER));
	same_at(whole, pod, P("metadata", "labels", BATON_LABEL_ROLE));
	same_at(whole, pod, P("metadata", "labels", BATON_LABEL_EPOCH));
	same_at(whole, pod,
		P("metadata", "annotations", BATON_ANNOTATION_HOLD));
	same_at(whole, pod, P("status", "podIP"));
	for (int i = 0; i < 4; i++) {
		char n[8];
		snprintf(n, sizeof n, "#%d", i);
		same_at(whole, pod, P("status", "conditions", n, "type"));
		same_at(whole, pod, P("status", "conditions", n, "status"));
	}
	for (int i = 0; i < 3; i++) {
		char n[8];
		snprintf(n, sizeof n, "#%d", i);
		same_at(whole, pod,
			P("spec", "containers", "#0", "ports", n, "name"));
		same_at(
		    whole, pod,
		    P("spec", "containers", "#0", "ports", n, "containerPort"));
	}
	/* the readers themselves */
	ck_assert(baton_agents_pod_ready(whole));
	ck_assert(baton_agents_pod_ready(pod));
	ck_assert(baton_hold_of_pod(whole, ra, sizeof ra));
	ck_assert(baton_hold_of_pod(pod, rb, sizeof rb));
	ck_assert_str_eq(ra, rb);
	ck_assert_int_eq(baton_kube_object_key(whole, a, sizeof a), 0);
	ck_assert_int_eq(baton_kube_object_key(pod, b, sizeof b), 0);
	ck_assert_str_eq(a, b);
	json_decref(pod);
	json_decref(whole);
}
END_TEST

/* Every field of a DatabaseCluster batond reads: dbspec.c, reconcile.c
 * (generation, resourceVersion, finalizers, deletionTimestamp, the whole
 * status), controller.c (the switchover annotation, status.switchover and
 * phase), events (kind, apiVersion, uid), peerwatch.c (status.regions). */
START_TEST(dbc_keeps_every_read_field)
{
	json_t *whole = fixture("dbc"), *dbc = json_deep_copy(whole);
	struct baton_dbspec sa, sb;
	char ea[BATON_ERRMSG_SIZE], eb[BATON_ERRMSG_SIZE];

	baton_cachefields_dbc(dbc);
	same_at(whole, dbc, P("apiVersion"));
	same_at(whole, dbc, P("kind"));
	same_at(whole, dbc, P("metadata", "name"));
	same_at(whole, dbc, P("metadata", "namespace"));
	same_at(whole, dbc, P("metadata", "uid"));
	same_at(whole, dbc, P("metadata", "generation"));
	same_at(whole, dbc, P("metadata", "resourceVersion"));
	same_at(whole, dbc, P("metadata", "deletionTimestamp"));
	same_at(whole, dbc, P("metadata", "finalizers"));
	same_at(whole, dbc,
		P("metadata", "annotations", BATON_ANNOTATION_SWITCHOVER));
	same_at(whole, dbc, P("spec"));
	same_at(whole, dbc, P("status"));
	/* dbspec reads all of spec and most of metadata */
	memset(&sa, 0, sizeof sa);
	memset(&sb, 0, sizeof sb);
	ck_assert_int_eq(baton_dbspec_parse(whole, &sa, ea), 0);
	ck_assert_int_eq(baton_dbspec_parse(dbc, &sb, eb), 0);
	ck_assert(sa.deleting && sa.has_finalizer && sa.uid[0] != '\0');
	ck_assert(memcmp(&sa, &sb, sizeof sa) == 0);
	json_decref(dbc);
	json_decref(whole);
}
END_TEST

/* The region's own DatabaseClusters (baton_cachefields_dbc_local): the
 * whole status as text, read back equal to the API's (reconcile.c's
 * compare-before-write and status.c's transition times and history read
 * that); status.phase and status.switchover still in the tree
 * (controller.c); everything else as baton_cachefields_dbc keeps it. */
START_TEST(dbc_local_keeps_the_status_as_text)
{
	json_t *whole = fixture("dbc"), *dbc = json_deep_copy(whole);
	json_t *plain = json_deep_copy(whole), *st = NULL, *again;
	json_t *none = json_pack("{s:{s:s}}", "metadata", "name", "x");
	struct baton_dbspec sa, sb;
	char ea[BATON_ERRMSG_SIZE], eb[BATON_ERRMSG_SIZE];
	const char *key;
	json_t *v;

	baton_cachefields_dbc_local(dbc);
	baton_cachefields_dbc(plain);
	ck_assert_int_eq(baton_cachefields_dbc_status(dbc, &st), 0);
	ck_assert_ptr_nonnull(st);
	ck_assert(json_equal(st, json_object_get(whole, "status")));
	ck_assert_ptr_ne(st, json_object_get(dbc, "status"));
	json_decref(st);
	same_at(whole, dbc, P("status", "phase"));
	same_at(whole, dbc, P("status", "switchover"));
	ck_assert_ptr_null(at(dbc, P("status", "conditions")));
	ck_assert_ptr_nonnull(at(dbc, P(BATON_CACHEFIELDS_STATUS_TEXT)));
	/* compressed: smaller than the status's compact text */
	{
		char *text = json_dumps(json_object_get(whole, "status"),
					JSON_COMPACT | JSON_SORT_KEYS);
		ck_assert_ptr_nonnull(text);
		ck_assert_uint_lt(json_string_length(at(
				      dbc, P(BATON_CACHEFIELDS_STATUS_TEXT))),
				  strlen(text));
		free(text);
	}
	/* the rest as the plain transform keeps it */
	json_object_foreach(plain, key, v)
	{
		if (strcmp(key, "status") != 0) {
			ck_assert_msg(json_equal(v, json_object_get(dbc, key)),
				      "%s differs", key);
		}
	}
	memset(&sa, 0, sizeof sa);
	memset(&sb, 0, sizeof sb);
	ck_assert_int_eq(baton_dbspec_parse(whole, &sa, ea), 0);
	ck_assert_int_eq(baton_dbspec_parse(dbc, &sb, eb), 0);
	ck_assert(memcmp(&sa, &sb, sizeof sa) == 0);
	/* idempotent: a relist passes it through again */
	again = json_deep_copy(dbc);
	baton_cachefields_dbc_local(again);
	ck_assert(json_equal(again, dbc));
	json_decref(again);
	/* an object not transformed so: its own status, the same value */
	ck_assert_int_eq(baton_cachefields_dbc_status(plain, &st), 0);
	ck_assert_ptr_eq(st, json_object_get(plain, "status"));
	json_decref(st);
	/* none at all */
	baton_cachefields_dbc_local(none);
	ck_assert_ptr_null(at(none, P(BATON_CACHEFIELDS_STATUS_TEXT)));
	ck_assert_int_eq(baton_cachefields_dbc_status(none, &st), 0);
	ck_assert_ptr_null(st);
	/* text that does not parse is an error, not "no status" (which
	 * would reset every condition's transition time) */
	json_object_set_new(none, BATON_CACHEFIELDS_STATUS_TEXT,
			    json_string("{"));
	ck_assert_int_eq(baton_cachefields_dbc_status(none, &st), BATON_ENOMEM);
	ck_assert_ptr_null(st);
	/* nor does a block cut short */
	{
		json_t *packed = at(dbc, P(BATON_CACHEFIELDS_STATUS_TEXT));
		json_object_set_new(
		    none, BATON_CACHEFIELDS_STATUS_TEXT,
		    json_stringn_nocheck(json_string_value(packed),
					 json_string_length(packed) - 8));
		ck_assert_int_eq(baton_cachefields_dbc_status(none, &st),
				 BATON_ENOMEM);
		ck_assert_ptr_null(st);
	}
	json_decref(none);
	json_decref(plain);
	json_decref(dbc);
	json_decref(whole);
}
END_TEST

/* applyhash.c's stamps of the region's children are the same from the
 * pruned DatabaseCluster as from the whole one, and stamping them leaves
 * the cached object as it was. */
START_TEST(dbc_pruned_gives_the_same_stamps)
{
	json_t *whole = fixture("dbc"), *dbc = json_deep_copy(whole);
	json_t *before, *ca = json_array(), *cb = json_array(), *o;
	struct baton_dbspec sa, sb;
	char ea[BATON_ERRMSG_SIZE], eb[BATON_ERRMSG_SIZE];
	uint64_t ha, hb;
	size_t i;

	baton_cachefields_dbc(dbc);
	before = json_deep_copy(dbc);
	memset(&sa, 0, sizeof sa);
	memset(&sb, 0, sizeof sb);
	ck_assert_int_eq(baton_dbspec_parse(whole, &sa, ea), 0);
	ck_assert_int_eq(baton_dbspec_parse(dbc, &sb, eb), 0);
	ck_assert_int_eq(baton_children_desired(&sa, "eu-west",
						"http://batond:8080", NULL, ca,
						ea),
			 0);
	ck_assert_int_eq(baton_children_desired(&sb, "eu-west",
						"http://batond:8080", NULL, cb,
						eb),
			 0);
	ck_assert_uint_ge(json_array_size(ca), 4);
	ck_assert_uint_eq(json_array_size(ca), json_array_size(cb));
	json_array_foreach(ca, i, o)
	{
		json_t *p = json_array_get(cb, i);
		ck_assert_int_eq(baton_applyhash_stamp(o, &ha), 0);
		ck_assert_int_eq(baton_applyhash_stamp(p, &hb), 0);
		ck_assert_msg(ha == hb,
			      "child %zu: stamp %016llx whole, %016llx "
			      "pruned",
			      i, (unsigned long long)ha,
			      (unsigned long long)hb);
		ck_assert_ptr_nonnull(at(p, P("metadata", "annotations",
					      BATON_ANNOTATION_APPLIED_HASH)));
	}
	ck_assert(json_equal(dbc, before));
	ck_assert_ptr_null(at(
	    dbc, P("metadata", "annotations", BATON_ANNOTATION_APPLIED_HASH)));
	json_decref(cb);
	json_decref(ca);
	json_decref(before);
	json_decref(dbc);
	json_decref(whole);
}
END_TEST

/* What nothing reads goes: managedFields, other annotations (kubectl's
 * last-applied copy of the spec), labels of a DatabaseCluster, owner
 * references, almost all of a pod's spec and status. */
START_TEST(drops_what_nothing_reads)
{
	json_t *pod = fixture("pod"), *dbc = fixture("dbc"), *again;
	char *whole_s, *pruned_s;
	size_t whole_n, pruned_n;

	whole_s = json_dumps(pod, JSON_COMPACT);
	whole_n = strlen(whole_s);
	baton_cachefields_pod(pod);
	pruned_s = json_dumps(pod, JSON_COMPACT);
	pruned_n = strlen(pruned_s);
	ck_assert_ptr_null(at(pod, P("metadata", "managedFields")));
	ck_assert_ptr_null(at(pod, P("metadata", "ownerReferences")));
	ck_assert_ptr_null(at(pod, P("metadata", "uid")));
	ck_assert_ptr_null(
	    at(pod, P("metadata", "labels", "controller-revision-hash")));
	ck_assert_ptr_null(at(pod, P("metadata", "labels",
				     "statefulset.kubernetes.io/pod-name")));
	ck_assert_ptr_null(
	    at(pod, P("metadata", "annotations", "example.com/other")));
	ck_assert_ptr_null(at(pod, P("spec", "volumes")));
	ck_assert_ptr_null(at(pod, P("spec", "containers", "#0", "env")));
	ck_assert_ptr_null(at(pod, P("spec", "containers", "#0", "args")));
	ck_assert_ptr_null(
	    at(pod, P("spec", "containers", "#0", "ports", "#0", "protocol")));
	ck_assert_ptr_null(at(pod, P("status", "containerStatuses")));
	ck_assert_ptr_null(
	    at(pod, P("status", "conditions", "#0", "lastTransitionTime")));
	ck_assert_ptr_null(at(pod, P("apiVersion")));
	/* a fifth of it, or less (the labels are most of what is left) */
	ck_assert_msg(pruned_n * 5 <= whole_n, "%zu of %zu bytes kept: %s",
		      pruned_n, whole_n, pruned_s);
	free(whole_s);
	free(pruned_s);

	baton_cachefields_dbc(dbc);
	ck_assert_ptr_null(at(dbc, P("metadata", "managedFields")));
	ck_assert_ptr_null(
	    at(dbc, P("metadata", "annotations",
		      "kubectl.kubernetes.io/last-applied-configuration")));
	ck_assert_ptr_null(at(dbc, P("metadata", "labels")));
	ck_assert_ptr_null(at(dbc, P("metadata", "creationTimestamp")));
	/* idempotent: an informer's relist passes objects through again */
	again = json_deep_copy(dbc);
	baton_cachefields_dbc(again);
	ck_assert(json_equal(again, dbc));
	json_decref(again);
	json_decref(dbc);
	json_decref(pod);
}
END_TEST

/* kube/prune.h on its own: nested lists, arrays element by element,
 * values of another type kept as they are, a non-object left alone. */
START_TEST(prune_rules)
{
	static const struct baton_kube_keep leaf[] = {{"k", NULL},
						      {NULL, NULL}};
	static const struct baton_kube_keep top[] = {{"whole", NULL},
						     {"obj", leaf},
						     {"arr", leaf},
						     {"str", leaf},
						     {NULL, NULL}};
	json_t *o = json_loads(
	    "{\"whole\": {\"a\": 1, \"b\": [2]}, \"obj\": {\"k\": 1, \"x\": 2},"
	    " \"arr\": [{\"k\": 1, \"x\": 2}, 3, {\"x\": 4}], \"str\": \"s\","
	    " \"gone\": {\"k\": 1}}",
	    0, NULL);
	json_t *want = json_loads(
	    "{\"whole\": {\"a\": 1, \"b\": [2]}, \"obj\": {\"k\": 1},"
	    " \"arr\": [{\"k\": 1}, 3, {}], \"str\": \"s\"}",
	    0, NULL);
	json_t *s = json_string("x");

	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_nonnull(want);
	baton_kube_prune(o, top);
	ck_assert_msg(json_equal(o, want), "%s", json_dumps(o, JSON_COMPACT));
	baton_kube_prune(s, top);
	ck_assert_str_eq(json_string_value(s), "x");
	baton_kube_prune(NULL, top);
	json_decref(s);
	json_decref(want);
	json_decref(o);
}
END_TEST

/* kube/intern.h: equal values become one, unequal ones stay apart, and
 * a sweep returns what only the pool holds. */
START_TEST(intern_rules)
{
	struct baton_kube_intern t;
	json_t *a = json_loads("{\"x\": [1, \"s\"], \"y\": {}}", 0, NULL);
	json_t *b = json_loads("{\"y\": {}, \"x\": [1, \"s\"]}", 0, NULL);
	json_t *c = json_loads("{\"x\": [2, \"s\"], \"y\": {}}", 0, NULL);
	json_t *sa, *sb, *sc;

	ck_assert_int_eq(baton_kube_intern_init(&t), 0);
	sa = baton_kube_intern_deep(&t, a, 1);
	ck_assert_ptr_eq(sa, a); /* the first is kept */
	sb = baton_kube_intern_deep(&t, b, 1);
	ck_assert_ptr_eq(sb, a); /* key order does not matter */
	sc = baton_kube_intern_deep(&t, c, 1);
	ck_assert_ptr_eq(sc, c);
	/* inside c: "s" and {} are a's */
	ck_assert_ptr_eq(json_array_get(json_object_get(c, "x"), 1),
			 json_array_get(json_object_get(a, "x"), 1));
	ck_assert_ptr_eq(json_object_get(c, "y"), json_object_get(a, "y"));
	ck_assert_uint_ge(t.hits, 3);
	/* a and c are still held: nothing of theirs goes */
	{
		size_t before = json_object_size(t.pool);
		baton_kube_intern_sweep(&t);
		ck_assert_uint_eq(json_object_size(t.pool), before);
	}
	json_decref(b);
	json_decref(c);
	baton_kube_intern_sweep(&t);
	/* c's array and c are gone; a, its array, "s", {} remain */
	ck_assert_uint_eq(json_object_size(t.pool), 4);
	json_decref(a);
	baton_kube_intern_sweep(&t);
	ck_assert_uint_eq(json_object_size(t.pool), 0);
	baton_kube_intern_free(&t);
}
END_TEST

/* Two pods of a fleet share what they have in common, and a pruned,
 * shared pod passes through the transform again unchanged (a relist). */
START_TEST(pods_share_what_they_have_in_common)
{
	json_t *p1 = fixture("pod"), *p2 = fixture("pod"), *copy;
	json_t *md2 = json_object_get(p2, "metadata");

	json_object_set_new(md2, "name", json_string("db-0001-eu-west-0"));
	baton_cachefields_pod(p1);
	baton_cachefields_pod(p2);
	ck_assert_ptr_eq(
	    json_object_get(json_object_get(p1, "status"), "conditions"),
	    json_object_get(json_object_get(p2, "status"), "conditions"));
	ck_assert_ptr_eq(json_object_get(p1, "spec"),
			 json_object_get(p2, "spec"));
	ck_assert_ptr_ne(json_object_get(p1, "metadata"), md2);
	ck_assert_str_eq(json_string_value(json_object_get(md2, "name")),
			 "db-0001-eu-west-0");
	ck_assert_uint_gt(baton_cachefields_shared(), 0);
	copy = json_deep_copy(p1);
	baton_cachefields_pod(p1);
	ck_assert(json_equal(copy, p1));
	ck_assert(baton_agents_pod_ready(p1) && baton_agents_pod_ready(p2));
	json_decref(copy);
	json_decref(p2);
	json_decref(p1);
}
END_TEST

/* The controller's one line: both informers pruned (the DatabaseClusters'
 * status as text), in pages of 100. */
START_TEST(use_sets_both_informers)
{
	struct baton_kube_informer_opts d = {0}, p = {0};

	baton_cachefields_use(&d, &p);
	ck_assert(d.transform == baton_cachefields_dbc_local);
	ck_assert(p.transform == baton_cachefields_pod);
	ck_assert_int_eq(d.page_size, 100);
	ck_assert_int_eq(p.page_size, 100);
}
END_TEST

static Suite *cachefields_suite(void)
{
	Suite *s = suite_create("batond_cachefields");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, pod_keeps_every_read_field);
	tcase_add_test(tc, dbc_keeps_every_read_field);
	tcase_add_test(tc, dbc_local_keeps_the_status_as_text);
	tcase_add_test(tc, dbc_pruned_gives_the_same_stamps);
	tcase_add_test(tc, drops_what_nothing_reads);
	tcase_add_test(tc, prune_rules);
	tcase_add_test(tc, intern_rules);
	tcase_add_test(tc, use_sets_both_informers);
	tcase_add_test(tc, pods_share_what_they_have_in_common);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(cachefields_suite)
