/* labkubelet/node.c: the Node and its Lease: server-side apply of the
 * Node, then nodes/status and a Lease in kube-node-lease every heartbeat
 * (10 s), which also drives the periodic work (secret volumes, logs). */
#include <stdio.h>

#include "common/clock.h"
#include "common/error.h"
#include "kube/rest.h"

#include "labkubelet.h"

static void node_status_cb(struct baton_kube_request *req, int status)
{
	struct lk *lk = req->data;
	lk->nstat_busy = false;
	if (status == BATON_ENOTFOUND) {
		baton_log(BATON_LOG_WARN, COMP,
			  "node %s is gone from the API: registering again",
			  lk->o.node);
		lk->node_applied = false;
	} else if (status != 0 && status != BATON_ECANCELED) {
		baton_log(BATON_LOG_WARN, COMP, "node status: %s", req->errmsg);
	}
	lk_check_done(lk);
}

static void lease_cb(struct baton_kube_request *req, int status)
{
	struct lk *lk = req->data;
	lk->lease_busy = false;
	if (status != 0 && status != BATON_ECANCELED) {
		baton_log(BATON_LOG_WARN, COMP, "node lease: %s", req->errmsg);
	}
	lk_check_done(lk);
}

static void node_cb(struct baton_kube_request *req, int status)
{
	struct lk *lk = req->data;
	const char *uid;

	lk->node_busy = false;
	if (status != 0) {
		if (status != BATON_ECANCELED) {
			baton_log(BATON_LOG_WARN, COMP,
				  "cannot register node %s: %s (retrying)",
				  lk->o.node, req->errmsg);
		}
		lk_check_done(lk);
		return;
	}
	uid = jpath(req->result, "metadata", "uid");
	snprintf(lk->node_uid, sizeof lk->node_uid, "%s", uid ? uid : "");
	if (!lk->node_applied) {
		baton_log(BATON_LOG_INFO, COMP, "node %s registered",
			  lk->o.node);
	}
	lk->node_applied = true;
	heartbeat(lk);
}

void heartbeat(struct lk *lk)
{
	struct baton_kube_ref nref = {
	    .version = "v1", .resource = "nodes", .name = lk->o.node};
	char now[32], micro[40], pods[16];
	json_t *obj;

	if (lk->stopping) {
		return;
	}
	if (!lk->node_applied) {
		if (lk->node_busy) {
			return;
		}
		obj = json_pack(
		    "{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}, "
		    "s:{s:s}}, s:{}}",
		    "apiVersion", "v1", "kind", "Node", "metadata", "name",
		    lk->o.node, "labels", "kubernetes.io/hostname", lk->o.node,
		    "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64",
		    "topology.kubernetes.io/region", lk->o.region,
		    "topology.kubernetes.io/zone", lk->o.region,
		    "baton.dev/lab", "true", "annotations",
		    "baton.dev/lab-kubelet",
		    "pod hosts are network "
		    "namespaces bp-<pod>",
		    "spec");
		lk->node_req.data = lk;
		if (baton_kube_apply(&lk->kube, &lk->node_req, &nref, obj,
				     FIELD_MANAGER, true, node_cb) == 0) {
			lk->node_busy = true;
		}
		json_decref(obj);
		return;
	}
	time_rfc3339(now, sizeof now);
	baton_clock_rfc3339(micro, sizeof micro, 6);
	snprintf(pods, sizeof pods, "%d", lk->o.max_pods);
	if (!lk->nstat_busy) {
		json_t *res = json_pack("{s:s, s:s, s:s, s:s}", "cpu", "8",
					"memory", "32Gi", "pods", pods,
					"ephemeral-storage", "100Gi");
		json_t *cond = json_array();
		const char *types[][4] = {
		    {"Ready", "True", "KubeletReady",
		     "baton lab kubelet is posting ready status"},
		    {"MemoryPressure", "False", "KubeletHasSufficientMemory",
		     ""},
		    {"DiskPressure", "False", "KubeletHasNoDiskPressure", ""},
		    {"PIDPressure", "False", "KubeletHasSufficientPID", ""},
		    {"NetworkUnavailable", "False", "RouteCreated", ""},
		};
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
			json_array_append_new(
			    cond,
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type",
				      types[i][0], "status", types[i][1],
				      "reason", types[i][2], "message",
				      types[i][3], "lastHeartbeatTime", now,
				      "lastTransitionTime", lk->ready_since));
		}
		obj = json_pack(
		    "{s:s, s:s, s:{s:s}, s:{s:o, s:O, s:O, s:[{s:s, s:s}, "
		    "{s:s, s:s}], s:{s:s, s:s, s:s, s:s, s:s, s:s}, "
		    "s:{s:{s:i}}}}",
		    "apiVersion", "v1", "kind", "Node", "metadata", "name",
		    lk->o.node, "status", "conditions", cond, "capacity", res,
		    "allocatable", res, "addresses", "type", "InternalIP",
		    "address", lk->o.node_ip, "type", "Hostname", "address",
		    lk->o.node, "nodeInfo", "kubeletVersion", "v1.34.4-lab",
		    "containerRuntimeVersion", "baton-lab://0.1.0",
		    "operatingSystem", "linux", "architecture", "amd64",
		    "osImage", "Baton lab (network namespaces)",
		    "kernelVersion", "", "daemonEndpoints", "kubeletEndpoint",
		    "Port", 0);
		json_decref(res);
		nref.subresource = "status";
		lk->nstat_req.data = lk;
		if (obj != NULL &&
		    baton_kube_apply(&lk->kube, &lk->nstat_req, &nref, obj,
				     FIELD_MANAGER, true,
				     node_status_cb) == 0) {
			lk->nstat_busy = true;
		}
		json_decref(obj);
	}
	if (!lk->lease_busy) {
		struct baton_kube_ref lref = {.group = "coordination.k8s.io",
					      .version = "v1",
					      .resource = "leases",
					      .ns = "kube-node-lease",
					      .name = lk->o.node};
		obj = json_pack(
		    "{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:i, s:s}}", "apiVersion",
		    "coordination.k8s.io/v1", "kind", "Lease", "metadata",
		    "name", lk->o.node, "namespace", "kube-node-lease", "spec",
		    "holderIdentity", lk->o.node, "leaseDurationSeconds",
		    LEASE_SECONDS, "renewTime", micro);
		if (obj != NULL && lk->node_uid[0] != '\0') {
			json_object_set_new(
			    json_object_get(obj, "metadata"), "ownerReferences",
			    json_pack("[{s:s, s:s, s:s, s:s}]", "apiVersion",
				      "v1", "kind", "Node", "name", lk->o.node,
				      "uid", lk->node_uid));
		}
		lk->lease_req.data = lk;
		if (obj != NULL &&
		    baton_kube_apply(&lk->kube, &lk->lease_req, &lref, obj,
				     FIELD_MANAGER, true, lease_cb) == 0) {
			lk->lease_busy = true;
		}
		json_decref(obj);
	}
}

void heartbeat_cb(uv_timer_t *t)
{
	struct lk *lk = t->data;
	heartbeat(lk);
	if (!lk->stopping) {
		secrets_refresh(lk);
	}
	logs_rotate(lk);
	dead_dirs_prune(lk);
	/* until registered, retry sooner */
	uv_timer_start(&lk->heartbeat, heartbeat_cb,
		       lk->node_applied ? HEARTBEAT_MS : RETRY_MS, 0);
}
