/* Unit tests for the database pod's secrets in operator/batond/children.c:
 * the replication password reaches the agent as a file from the
 * <db>-replication Secret, never as an environment variable (every process
 * the agent starts would inherit it, PostgreSQL included), and the Secret
 * volume joins the agent's TLS volume rather than replacing it. What the
 * API server makes of these objects: tests/integration/test_children.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "batond/children.h"
#include "batond/dbspec.h"
#include "harness.h"

static const char cluster[] =
    "{\"apiVersion\": \"baton.dev/v1alpha1\", \"kind\": \"DatabaseCluster\","
    " \"metadata\": {\"name\": \"orders\", \"namespace\": \"shop\","
    "  \"uid\": \"00000000-0000-4000-8000-000000000001\"},"
    " \"spec\": {\"regions\": [{\"name\": \"eu-west\", \"role\": \"data\"},"
    "  {\"name\": \"us-east\", \"role\": \"data\"}],"
    "  \"primaryRegion\": \"eu-west\"}}";

/* The StatefulSet's pod spec for eu-west; *ALL gets every object (decref
 * it). */
static json_t *pod_spec_of(const char *text,
			   const struct baton_children_tls *tls, json_t **all)
{
	char errmsg[BATON_ERRMSG_SIZE];
	struct baton_dbspec spec;
	json_t *obj = json_loads(text, 0, NULL);
	size_t i;
	json_t *o;

	ck_assert_ptr_nonnull(obj);
	ck_assert_int_eq(baton_dbspec_parse(obj, &spec, errmsg), 0);
	json_decref(obj);
	*all = json_array();
	ck_assert_int_eq(baton_children_desired(&spec, "eu-west",
						"http://batond:8080", tls, *all,
						errmsg),
			 0);
	json_array_foreach(*all, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "kind")),
			   "StatefulSet") == 0) {
			return json_object_get(
			    json_object_get(json_object_get(o, "spec"),
					    "template"),
			    "spec");
		}
	}
	ck_abort_msg("no StatefulSet among the children");
	return NULL;
}

static json_t *pod_spec(const struct baton_children_tls *tls, json_t **all)
{
	return pod_spec_of(cluster, tls, all);
}

static json_t *named(json_t *array, const char *name)
{
	size_t i;
	json_t *o;
	json_array_foreach(array, i, o)
	{
		const char *n = json_string_value(json_object_get(o, "name"));
		if (n != NULL && strcmp(n, name) == 0) {
			return o;
		}
	}
	return NULL;
}

/* The argument after FLAG in the container's args, or NULL. */
static const char *arg_after(json_t *container, const char *flag)
{
	json_t *args = json_object_get(container, "args");
	for (size_t i = 0; i + 1 < json_array_size(args); i++) {
		if (strcmp(json_string_value(json_array_get(args, i)), flag) ==
		    0) {
			return json_string_value(json_array_get(args, i + 1));
		}
	}
	return NULL;
}

static void check_password_is_a_file(json_t *pod)
{
	json_t *containers = json_object_get(pod, "containers");
	json_t *agent = named(containers, "baton-agent");
	json_t *vol = named(json_object_get(pod, "volumes"), "replication");
	json_t *mount;
	json_t *items;
	size_t i;
	json_t *c;

	ck_assert_ptr_nonnull(agent);
	/* no Secret reaches any container through its environment */
	json_array_foreach(containers, i, c)
	{
		size_t k;
		json_t *env;
		json_array_foreach(json_object_get(c, "env"), k, env)
		{
			const char *name =
			    json_string_value(json_object_get(env, "name"));
			ck_assert_msg(
			    strcmp(name, "BATON_REPL_PASSWORD") != 0,
			    "container %s gets BATON_REPL_PASSWORD",
			    json_string_value(json_object_get(c, "name")));
			ck_assert_msg(
			    json_object_get(json_object_get(env, "valueFrom"),
					    "secretKeyRef") == NULL,
			    "env %s of container %s comes from a Secret", name,
			    json_string_value(json_object_get(c, "name")));
		}
	}
	/* the Secret's password key, as a file, for the agent only */
	ck_assert_ptr_nonnull(vol);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(vol, "secret"), "secretName")),
			 "orders-replication");
	items = json_object_get(json_object_get(vol, "secret"), "items");
	ck_assert_int_eq(json_array_size(items), 1);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(items, 0), "key")),
	    "password");
	ck_assert_str_eq(json_string_value(
			     json_object_get(json_array_get(items, 0), "path")),
			 "password");
	ck_assert_int_eq(json_integer_value(json_object_get(
			     json_object_get(vol, "secret"), "defaultMode")),
			 0440);
	mount = named(json_object_get(agent, "volumeMounts"), "replication");
	ck_assert_ptr_nonnull(mount);
	ck_assert_str_eq(json_string_value(json_object_get(mount, "mountPath")),
			 "/etc/baton/replication");
	ck_assert(json_is_true(json_object_get(mount, "readOnly")));
	/* one container: PostgreSQL is the agent's child, in its image */
	ck_assert_uint_eq(json_array_size(containers), 1);
	ck_assert_ptr_null(named(containers, "postgres"));
	ck_assert_ptr_nonnull(
	    named(json_object_get(agent, "ports"), "postgres"));
	ck_assert_ptr_nonnull(arg_after(agent, "--repl-password-file"));
	ck_assert_str_eq(arg_after(agent, "--repl-password-file"),
			 "/etc/baton/replication/password");
}

START_TEST(password_is_a_file_not_an_env_var)
{
	json_t *all;
	json_t *pod = pod_spec(NULL, &all);

	ck_assert_ptr_nonnull(pod);
	check_password_is_a_file(pod);
	ck_assert_int_eq(json_array_size(json_object_get(pod, "volumes")), 1);
	json_decref(all);
}
END_TEST

/* With the agent API's mutual TLS the pod has two Secret volumes: the
 * password's must not replace the certificate's, nor the other way. */
START_TEST(password_volume_joins_the_tls_volume)
{
	struct baton_children_tls tls = {.order_peer = "baton://batond/eu-west",
					 .ca_b64 = "cGxhY2Vob2xkZXI=",
					 .cert_b64 = "cGxhY2Vob2xkZXI=",
					 .key_b64 = "cGxhY2Vob2xkZXI="};
	json_t *all;
	json_t *pod = pod_spec(&tls, &all);
	json_t *vols;
	json_t *tlsvol;
	json_t *agent;

	ck_assert_ptr_nonnull(pod);
	check_password_is_a_file(pod);
	vols = json_object_get(pod, "volumes");
	ck_assert_int_eq(json_array_size(vols), 2);
	tlsvol = named(vols, "agent-tls");
	ck_assert_ptr_nonnull(tlsvol);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_object_get(tlsvol, "secret"), "secretName")),
			 "orders-eu-west-agent-tls");
	agent = named(json_object_get(pod, "containers"), "baton-agent");
	ck_assert_ptr_nonnull(
	    named(json_object_get(agent, "volumeMounts"), "agent-tls"));
	ck_assert_ptr_nonnull(
	    named(json_object_get(agent, "volumeMounts"), "data"));
	json_decref(all);
}
END_TEST

/* The cluster with spec.storage STORAGE (a JSON object's text). */
static char *with_storage(const char *storage)
{
	static char text[2048];
	json_t *obj = json_loads(cluster, 0, NULL);
	json_t *st = json_loads(storage, 0, NULL);
	char *dump;

	ck_assert_ptr_nonnull(obj);
	ck_assert_ptr_nonnull(st);
	json_object_set_new(json_object_get(obj, "spec"), "storage", st);
	dump = json_dumps(obj, 0);
	snprintf(text, sizeof text, "%s", dump);
	free(dump);
	json_decref(obj);
	return text;
}

/* spec.storage.walSegmentSizeMB reaches the agent as --pg-wal-segsize,
 * only when it is not PostgreSQL's default (an upgrade then changes no
 * existing database's pod template: no pod rolls), and a size initdb
 * would refuse is refused with the field's name. */
START_TEST(wal_segment_size_reaches_the_agent)
{
	char errmsg[BATON_ERRMSG_SIZE];
	struct baton_dbspec spec;
	json_t *all, *pod, *agent, *obj;
	const char *bad[] = {
	    "{\"walSegmentSizeMB\": 3}", "{\"walSegmentSizeMB\": 0}",
	    "{\"walSegmentSizeMB\": 2048}", "{\"walSegmentSizeMB\": -16}"};

	pod = pod_spec(NULL, &all);
	agent = named(json_object_get(pod, "containers"), "baton-agent");
	ck_assert_ptr_null(arg_after(agent, "--pg-wal-segsize"));
	json_decref(all);

	pod =
	    pod_spec_of(with_storage("{\"walSegmentSizeMB\": 16}"), NULL, &all);
	agent = named(json_object_get(pod, "containers"), "baton-agent");
	ck_assert_ptr_null(arg_after(agent, "--pg-wal-segsize"));
	json_decref(all);

	pod =
	    pod_spec_of(with_storage("{\"walSegmentSizeMB\": 1}"), NULL, &all);
	agent = named(json_object_get(pod, "containers"), "baton-agent");
	ck_assert_ptr_nonnull(arg_after(agent, "--pg-wal-segsize"));
	ck_assert_str_eq(arg_after(agent, "--pg-wal-segsize"), "1");
	json_decref(all);

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		obj = json_loads(with_storage(bad[i]), 0, NULL);
		ck_assert_ptr_nonnull(obj);
		ck_assert_int_eq(baton_dbspec_parse(obj, &spec, errmsg),
				 BATON_EINVALIDOBJ);
		ck_assert_msg(strstr(errmsg, "spec.storage.walSegmentSizeMB") !=
				  NULL,
			      "%s: %s", bad[i], errmsg);
		json_decref(obj);
	}
}
END_TEST

static Suite *children_suite(void)
{
	Suite *s = suite_create("batond_children");
	TCase *tc = tcase_create("secrets");
	tcase_add_test(tc, password_is_a_file_not_an_env_var);
	tcase_add_test(tc, password_volume_joins_the_tls_volume);
	tcase_add_test(tc, wal_segment_size_reaches_the_agent);
	suite_add_tcase(s, tc);
	return s;
}

BATON_TEST_MAIN(children_suite)
