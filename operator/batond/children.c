#include "batond/children.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/labels.h"
#include "mesh-adapters/mesh.h"

/* where the agent reads the replication password (the Secret's key
 * "password", a file) */
#define REPLICATION_DIR "/etc/baton/replication"

/* The one naming rule: a region's StatefulSet is "<db>-<region>", its
 * pods "<db>-<region>-<ordinal>" (the StatefulSet controller's). */
#define STS_FORMAT "%s-%s"

const char *baton_children_sts_name(const struct baton_dbspec *s,
				    const char *region, char *buf, size_t size)
{
	snprintf(buf, size, STS_FORMAT, s->name, region);
	return buf;
}

const char *baton_children_pod_name(const char *db, const char *region,
				    int ordinal, char *buf, size_t size)
{
	int len = snprintf(buf, size, STS_FORMAT "-%d", db, region, ordinal);

	return len >= 0 && (size_t)len < size ? buf : NULL;
}

static json_t *metadata(const struct baton_dbspec *s, const char *region,
			const char *name, const char *component)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:[{s:s, "
			 "s:s, s:s, s:s, s:b, s:b}]}",
			 "name", name, "namespace", s->ns, "labels",
			 "app.kubernetes.io/managed-by", "baton",
			 "app.kubernetes.io/part-of", "baton",
			 BATON_LABEL_CLUSTER, s->name, BATON_LABEL_REGION,
			 region, BATON_LABEL_COMPONENT, component,
			 "ownerReferences", "apiVersion", BATON_API_VERSION,
			 "kind", "DatabaseCluster", "name", s->name, "uid",
			 s->uid, "controller", 1, "blockOwnerDeletion", 1);
}

static json_t *selector(const struct baton_dbspec *s, const char *region)
{
	return json_pack("{s:s, s:s}", BATON_LABEL_CLUSTER, s->name,
			 BATON_LABEL_REGION, region);
}

static void add_args(json_t *args, const char *const *list)
{
	for (; *list != NULL; list++) {
		json_array_append_new(args, json_string(*list));
	}
}

static json_t *statefulset(const struct baton_dbspec *s,
			   const struct baton_db_region *r,
			   const char *batond_url,
			   const struct baton_children_tls *tls,
			   const char *name, const char *headless)
{
	json_t *pod_labels = selector(s, r->name);
	json_t *args;
	json_t *agent;
	char port[16];
	char lag[32];
	char secret[128];
	json_t *pod;
	json_t *pvc;
	json_t *spec;

	json_object_set_new(pod_labels, "app.kubernetes.io/name",
			    json_string("baton-db"));
	json_object_set_new(pod_labels, BATON_LABEL_ROLE,
			    json_string("replica"));
	json_object_set_new(pod_labels, BATON_LABEL_EPOCH, json_string("0"));

	/* The agent alone decides whether the engine accepts writes; these
	 * are baton-agent's own flags (baton-agent --help). */
	/* The replication password: the same Secret in every region, created
	 * by the user (batond reads no Secrets: least privilege), mounted as
	 * a file and never passed as an environment variable: every process
	 * the agent starts, PostgreSQL included, would inherit it, and
	 * /proc/<pid>/environ shows it to the pod's user (docs/agent.md). */
	snprintf(secret, sizeof secret, "%s-replication", s->name);
	snprintf(port, sizeof port, "%d", s->port);
	snprintf(lag, sizeof lag, "%lld", (long long)s->max_lag_bytes);
	args = json_pack("[s, s, s, s, s, s, s, s, s, s, s, s, s, s, s]",
			 "baton-agent", "--region", r->name, "--listen",
			 "0.0.0.0:8081", "--pg-data",
			 "/var/lib/postgresql/data/pgdata", "--pg-port", port,
			 "--pg-host", "$(POD_IP)", "--state-file",
			 "/var/lib/postgresql/data/baton-agent.state",
			 "--max-lag-bytes", lag);
	/* The agent counts its lease from when it asked (agent/lease.h) and
	 * fences this long before it ends: room for the fence itself. */
	json_array_append_new(args, json_string("--lease-margin-ms"));
	json_array_append_new(args, json_string("100"));
	/* PostgreSQL enforces the lease itself (docs/agent.md): the
	 * baton_lease module in the image's pkglibdir reads the deadline the
	 * agent writes to this file, outside PGDATA (pg_basebackup and
	 * pg_rewind copy everything inside it) */
	json_array_append_new(args, json_string("--pg-lease-module"));
	json_array_append_new(args, json_string("baton_lease"));
	json_array_append_new(args, json_string("--lease-file"));
	json_array_append_new(
	    args, json_string("/var/lib/postgresql/data/baton.lease"));
	/* the socket outside PGDATA: pg_rewind copies everything inside */
	json_array_append_new(args, json_string("--pg-socket-dir"));
	json_array_append_new(args,
			      json_string("/var/lib/postgresql/data/run"));
	json_array_append_new(args, json_string("--repl-password-file"));
	json_array_append_new(args, json_string(REPLICATION_DIR "/password"));
	if (s->wal_segment_mb != 16) {
		/* only when not initdb's default: a pod template that does
		 * not change rolls no pod on an upgrade */
		char mb[16];
		snprintf(mb, sizeof mb, "%d", s->wal_segment_mb);
		json_array_append_new(args, json_string("--pg-wal-segsize"));
		json_array_append_new(args, json_string(mb));
	}
	if (args != NULL && s->synchronous) {
		/* The synchronous standbys (ANY 1) are the designated
		 * instances (the one a region promotes) of the *other* data
		 * regions: an acknowledged commit is then on an instance that
		 * survives the loss of this region and that a failover can
		 * promote. Same-region replicas stream asynchronously. This
		 * is only the boot default, ordinal 0 as REGISTER designates:
		 * the primary's batond sends the list the FSM holds as a
		 * standbys order (batond/syncset.h, equal to this one while
		 * every region is at ordinal 0), the promote carries it, and
		 * the agent keeps it over this argument from then on. Left
		 * as it is, so that no pod template changes (and no pod
		 * rolls) when a designation moves. */
		char names[1024] = "";
		for (int i = 0; i < s->n_regions; i++) {
			char one[144];
			size_t used = strlen(names);
			if (s->regions[i].role != BATON_DB_REGION_DATA ||
			    s->regions[i].replicas < 1 ||
			    strcmp(s->regions[i].name, r->name) == 0) {
				continue;
			}
			if (baton_children_pod_name(s->name, s->regions[i].name,
						    0, one,
						    sizeof one) == NULL ||
			    used + strlen(one) + 2 >= sizeof names) {
				break; /* a name is never cut */
			}
			snprintf(names + used, sizeof names - used, "%s%s",
				 used ? "," : "", one);
		}
		json_array_append_new(args, json_string("--synchronous"));
		json_array_append_new(args, json_string("--sync-names"));
		json_array_append_new(args, json_string(names));
	}
	if (args != NULL && tls != NULL) {
		/* orders only from this region's batond, over mutual TLS; the
		 * lease asked over https with the same certificate; kubelet's
		 * probes on a plain port that takes no orders */
		const char *const t[] = {"--tls-cert",
					 BATON_AGENT_TLS_DIR "/tls.crt",
					 "--tls-key",
					 BATON_AGENT_TLS_DIR "/tls.key",
					 "--tls-ca",
					 BATON_AGENT_TLS_DIR "/ca.crt",
					 "--order-peer",
					 tls->order_peer,
					 "--batond-ca",
					 BATON_AGENT_TLS_DIR "/ca.crt",
					 "--batond-cert",
					 BATON_AGENT_TLS_DIR "/tls.crt",
					 "--batond-key",
					 BATON_AGENT_TLS_DIR "/tls.key",
					 NULL};
		add_args(args, t);
	}
	/* kubelet's probes and scrapers: plain HTTP, no orders */
	json_array_append_new(args, json_string("--probe-listen"));
	json_array_append_new(args, json_string("0.0.0.0:8082"));
	agent = json_pack(
	    "{s:s, s:s, s:o, "
	    "s:[{s:s, s:{s:{s:s}}}, {s:s, s:{s:{s:s}}}, {s:s, s:{s:{s:s}}}, "
	    "{s:s, s:s}], "
	    "s:[{s:s, s:i}], s:{s:{s:s, s:s}, s:i}, s:{s:b, s:b, s:{s:[s]}}, "
	    "s:[{s:s, s:s}, {s:s, s:s, s:b}]}",
	    "name", "baton-agent", "image", s->agent_image, "args", args, "env",
	    "name", "POD_NAME", "valueFrom", "fieldRef", "fieldPath",
	    "metadata.name", "name", "POD_NAMESPACE", "valueFrom", "fieldRef",
	    "fieldPath", "metadata.namespace", "name", "POD_IP", "valueFrom",
	    "fieldRef", "fieldPath", "status.podIP", "name", "BATON_BATOND_URL",
	    "value", batond_url, "ports", "name", "agent", "containerPort",
	    BATON_AGENT_PORT, "readinessProbe", "httpGet", "path", "/readyz",
	    "port", "probe", "periodSeconds", 2, "securityContext",
	    "allowPrivilegeEscalation", 0, "readOnlyRootFilesystem", 1,
	    "capabilities", "drop", "ALL", "volumeMounts", "name", "data",
	    "mountPath", "/var/lib/postgresql/data", "name", "replication",
	    "mountPath", REPLICATION_DIR, "readOnly", 1);
	json_array_append_new(json_object_get(agent, "ports"),
			      json_pack("{s:s, s:i}", "name", "probe",
					"containerPort",
					BATON_AGENT_PROBE_PORT));
	/* PostgreSQL runs in this container, the agent's child (the Baton
	 * image holds it): the pod has no second container for it. There
	 * was one, a placeholder named "postgres" with spec.image, that
	 * only the lab's stand-in kubelet tolerated; a real kubelet pulled
	 * and started postgres:15 beside the agent on the same data
	 * directory (docs/kind.md, Findings). Its port, named "postgres"
	 * as agents.c and the Services look for, is the agent's now. */
	json_array_append_new(json_object_get(agent, "ports"),
			      json_pack("{s:s, s:i}", "name", "postgres",
					"containerPort", s->port));
	if (agent != NULL && tls != NULL) {
		json_array_append_new(
		    json_object_get(agent, "volumeMounts"),
		    json_pack("{s:s, s:s, s:b}", "name", "agent-tls",
			      "mountPath", BATON_AGENT_TLS_DIR, "readOnly", 1));
	}
	/* only the password key, 0440 with fsGroup 999: the agent (uid 999)
	 * reads it, and only the agent's container mounts it */
	pod = json_pack("{s:{s:o}, s:{s:i, s:b, s:{s:b, s:i, s:i, s:{s:s}}, "
			"s:[o], s:[{s:s, s:{s:s, s:[{s:s, s:s}], s:i}}]}}",
			"metadata", "labels", pod_labels, "spec",
			"terminationGracePeriodSeconds", 30,
			"enableServiceLinks", 0, "securityContext",
			"runAsNonRoot", 1, "runAsUser", 999, "fsGroup", 999,
			"seccompProfile", "type", "RuntimeDefault",
			"containers", agent, "volumes", "name", "replication",
			"secret", "secretName", secret, "items", "key",
			"password", "path", "password", "defaultMode", 0440);
	if (pod != NULL && tls != NULL) {
		char sname[160];
		snprintf(sname, sizeof sname, "%s-agent-tls", name);
		/* 0440 with fsGroup 999: the agent (uid 999) reads it */
		json_array_append_new(
		    json_object_get(json_object_get(pod, "spec"), "volumes"),
		    json_pack("{s:s, s:{s:s, s:i}}", "name", "agent-tls",
			      "secret", "secretName", sname, "defaultMode",
			      0440));
	}
	pvc = json_pack("{s:{s:s}, s:{s:[s], s:{s:{s:s}}}}", "metadata", "name",
			"data", "spec", "accessModes", "ReadWriteOnce",
			"resources", "requests", "storage", s->storage_size);
	if (pvc != NULL && s->storage_class[0] != '\0') {
		json_object_set_new(json_object_get(pvc, "spec"),
				    "storageClassName",
				    json_string(s->storage_class));
	}
	spec = json_pack(
	    "{s:s, s:i, s:s, s:{s:s, s:s}, s:{s:o}, s:o, s:[o]}", "serviceName",
	    headless, "replicas", r->replicas, "podManagementPolicy",
	    "Parallel", "persistentVolumeClaimRetentionPolicy", "whenDeleted",
	    s->retain_data ? "Retain" : "Delete", "whenScaled", "Retain",
	    "selector", "matchLabels", selector(s, r->name), "template", pod,
	    "volumeClaimTemplates", pvc);
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "apps/v1",
			 "kind", "StatefulSet", "metadata",
			 metadata(s, r->name, name, "database"), "spec", spec);
}

int baton_children_desired(const struct baton_dbspec *s, const char *region,
			   const char *batond_url,
			   const struct baton_children_tls *tls, json_t *out,
			   char *errmsg)
{
	const struct baton_db_region *r = baton_dbspec_region(s, region);
	char name[128];
	char headless[140];
	json_t *objs[6] = {NULL};
	int n_objs = tls == NULL ? 4 : tls->batond_namespace == NULL ? 5 : 6;
	json_t *regions;

	if (r == NULL || r->role != BATON_DB_REGION_DATA) {
		return 0;
	}
	baton_children_sts_name(s, region, name, sizeof name);
	snprintf(headless, sizeof headless, "%s-hl", name);

	regions = json_array();
	for (int i = 0; i < s->n_regions; i++) {
		json_array_append_new(
		    regions,
		    json_pack(
			"{s:s, s:s, s:i}", "name", s->regions[i].name, "role",
			s->regions[i].role == BATON_DB_REGION_DATA ? "data"
								   : "witness",
			"replicas", s->regions[i].replicas));
	}
	objs[0] = statefulset(s, r, batond_url, tls, name, headless);
	objs[1] =
	    json_pack("{s:s, s:s, s:o, s:{s:s, s:b, s:o, s:[{s:s, s:i, s:i}]}}",
		      "apiVersion", "v1", "kind", "Service", "metadata",
		      metadata(s, region, headless, "headless-service"), "spec",
		      "clusterIP", "None", "publishNotReadyAddresses", 1,
		      "selector", selector(s, region), "ports", "name",
		      "tcp-db", "port", s->port, "targetPort", s->port);
	objs[2] = json_pack("{s:s, s:s, s:o, s:{s:i, s:{s:o}}}", "apiVersion",
			    "policy/v1", "kind", "PodDisruptionBudget",
			    "metadata", metadata(s, region, name, "pdb"),
			    "spec", "maxUnavailable", 1, "selector",
			    "matchLabels", selector(s, region));
	objs[3] = json_pack(
	    "{s:s, s:s, s:o, s:{s:o}}", "apiVersion", "v1", "kind", "ConfigMap",
	    "metadata", metadata(s, region, name, "config"), "data",
	    "cluster.json",
	    json_pack("{s:s, s:s, s:o, s:b, s:I, s:i, s:s}", "database",
		      s->name, "region", region, "regions", regions,
		      "synchronous", s->synchronous, "maxLagBytes",
		      (json_int_t)s->max_lag_bytes, "port", s->port,
		      "headlessService", headless));
	/* data.cluster.json must be a string: serialise the object */
	if (objs[3] != NULL) {
		json_t *data = json_object_get(objs[3], "data");
		char *text = json_dumps(json_object_get(data, "cluster.json"),
					JSON_COMPACT | JSON_SORT_KEYS);
		if (text == NULL) {
			json_decref(objs[3]);
			objs[3] = NULL;
		} else {
			json_object_set_new(data, "cluster.json",
					    json_string(text));
			free(text);
		}
	}
	if (tls != NULL) {
		char sname[160];
		snprintf(sname, sizeof sname, "%s-agent-tls", name);
		objs[4] = json_pack(
		    "{s:s, s:s, s:o, s:s, s:{s:s, s:s, s:s}}", "apiVersion",
		    "v1", "kind", "Secret", "metadata",
		    metadata(s, region, sname, "agent-tls"), "type",
		    "kubernetes.io/tls", "data", "ca.crt", tls->ca_b64,
		    "tls.crt", tls->cert_b64, "tls.key", tls->key_b64);
	}
	if (tls != NULL && tls->batond_namespace != NULL) {
		char pname[160];
		snprintf(pname, sizeof pname, "%s-agent", name);
		objs[5] = json_pack(
		    "{s:s, s:s, s:o, s:{s:{s:o}, s:[s], s:[{s:[{s:i, s:s}], "
		    "s:[{s:{s:{s:s}}, s:{s:{s:s}}}]}, {s:[{s:i, s:s}, "
		    "{s:i, s:s}]}]}}",
		    "apiVersion", "networking.k8s.io/v1", "kind",
		    "NetworkPolicy", "metadata",
		    metadata(s, region, pname, "agent-policy"), "spec",
		    "podSelector", "matchLabels", selector(s, region),
		    "policyTypes", "Ingress", "ingress", "ports", "port",
		    BATON_AGENT_PORT, "protocol", "TCP", "from",
		    "namespaceSelector", "matchLabels",
		    "kubernetes.io/metadata.name", tls->batond_namespace,
		    "podSelector", "matchLabels", "app.kubernetes.io/component",
		    "batond", "ports", "port", s->port, "protocol", "TCP",
		    "port", BATON_AGENT_PROBE_PORT, "protocol", "TCP");
	}
	for (int i = 0; i < n_objs; i++) {
		if (objs[i] == NULL) {
			for (int j = 0; j < n_objs; j++) {
				json_decref(objs[j]);
			}
			baton_errmsg_printf(errmsg,
					    "cannot build the %s objects (out "
					    "of memory)",
					    region);
			return BATON_ENOMEM;
		}
	}
	for (int i = 0; i < n_objs; i++) {
		json_array_append_new(out, objs[i]);
	}
	return 0;
}
