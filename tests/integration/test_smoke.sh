#!/usr/bin/env bash
# Smoke test of the test environment itself, against real regions started by
# tests/integration/run.sh: every region serves a real kube-apiserver, takes
# the DatabaseCluster CRD and the examples, rejects every invalid spec with the
# schema's or CEL rule's message, garbage-collects dependents (controller-
# manager), makes StatefulSet pods Ready (scheduler + kwok), and RBAC denies
# the limited service account what it must not do.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
: "${BATON_REGIONS_DIR:?run through tests/integration/run.sh (regions must be up)}"
: "${BATON_REGION_NAMES:?}"
export PATH=$top/tests/env/bin:$PATH

# all_described KUBECTL...: the served CRD's spec and status fields all
# carry a description (a failed get or jq fails too: no empty pass).
all_described() {
    local crd missing
    crd=$("$@" get crd databaseclusters.baton.dev -o json) || return 1
    missing=$(jq -r '.spec.versions[].schema.openAPIV3Schema.properties | (.spec, .status) |
        .. | objects | select(has("properties")) | .properties | to_entries[] |
        select(.value.description == null) | .key' <<<"$crd") || return 1
    [ -z "$missing" ] || { echo "no description: ${missing//$'\n'/ }"; return 1; }
}

for region in $BATON_REGION_NAMES; do
    admin=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig")
    limited=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$region/limited.kubeconfig")

    check "$region: server reports a real version" \
        bash -c "${admin[*]} version -o json | grep -q '\"gitVersion\": \"v1\.3[3-9]'"
    check "$region: CRD installs" "${admin[@]}" apply -f "$top/crds/"
    # every field of spec and status says what it is (kubectl explain)
    check "$region: every spec and status field of the served CRD has a description" \
        all_described "${admin[@]}"
    check "$region: CRD established" "${admin[@]}" wait --for condition=established \
        --timeout=30s crd/databaseclusters.baton.dev
    # the schema reaches kubectl explain through the published OpenAPI,
    # a moment after the CRD is established
    eventually 30 "$region: kubectl explain dbc.spec.failover.mode says what the modes do" \
        bash -c "${admin[*]} explain databaseclusters.spec.failover.mode | tr -s '[:space:]' ' ' | grep -q 'manual never promotes by itself'"
    check "$region: examples apply" "${admin[@]}" apply -f "$top/examples/orders-3-regions.yaml" \
        -f "$top/examples/ledger-2-plus-witness.yaml"
    check "$region: kubectl get dbc shows printer columns" \
        bash -c "${admin[*]} get dbc | head -1 | grep -q 'PRIMARY *EPOCH *PHASE *READY *AGE'"
    check "$region: short name and category work" bash -c "${admin[*]} get baton -o name | grep -q databasecluster.baton.dev/orders"
    check "$region: schema defaults applied (renewMillis, teardown.timeoutSeconds)" \
        bash -c "[ \"\$(${admin[*]} get dbc orders -o jsonpath='{.spec.failover.renewMillis}/{.spec.teardown.timeoutSeconds}')\" = 500/300 ]"
    check "$region: storage.walSegmentSizeMB defaults to 16 and cannot be changed (initdb fixed it)" \
        bash -c "[ \"\$(${admin[*]} get dbc orders -o jsonpath='{.spec.storage.walSegmentSizeMB}')\" = 16 ] &&
                 ${admin[*]} patch dbc orders --type=merge -p '{\"spec\":{\"storage\":{\"walSegmentSizeMB\":1}}}' 2>&1 |
                 grep -q 'walSegmentSizeMB cannot be changed after creation'"

    # RBAC: the limited account reads ConfigMaps in baton-system and nothing more.
    check "$region: limited account can list configmaps in baton-system" \
        bash -c "[ \"\$(${limited[*]} auth can-i list configmaps -n baton-system)\" = yes ]"
    for verb_res in "delete namespaces" "get secrets" "create databaseclusters.baton.dev" \
        "list configmaps --all-namespaces" "create clusterroles" "patch nodes"; do
        check "$region: limited account cannot $verb_res" \
            bash -c "[ \"\$(${limited[*]} auth can-i $verb_res 2>/dev/null)\" = no ]"
        check "$region: admin account can $verb_res" \
            bash -c "[ \"\$(${admin[*]} auth can-i $verb_res 2>/dev/null)\" = yes ]"
    done
    check "$region: the server refuses the limited account (Forbidden), not just can-i" \
        bash -c "${limited[*]} get secrets -n kube-system 2>&1 | grep -q Forbidden"
done

first=${BATON_REGION_NAMES%% *}
admin=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$first/admin.kubeconfig")

# Every invalid spec is refused with its rule's own message.
for f in "$top"/tests/integration/invalid/*.yaml; do
    expect=$(head -1 "$f" | sed 's/^# expect: //')
    out=$("${admin[@]}" apply -f "$f" 2>&1)
    if [ $? -ne 0 ] && grep -qF -- "$expect" <<<"$out"; then
        ok "$first: rejects $(basename "$f" .yaml)"
    else
        not_ok "$first: rejects $(basename "$f" .yaml): expected '$expect', got: $out"
    fi
done

# Owner references are garbage-collected by the real controller-manager.
uid=$("${admin[@]}" get dbc orders -o jsonpath='{.metadata.uid}')
"${admin[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: orders-child
  namespace: default
  ownerReferences:
  - {apiVersion: baton.dev/v1alpha1, kind: DatabaseCluster, name: orders, uid: "$uid", controller: true}
YAML
check "$first: delete a DatabaseCluster" "${admin[@]}" delete dbc orders --wait=true --timeout=30s
# 180 s, not 90: the controller-manager started before the CRD existed, and
# its garbage collector learns a new kind only at its next discovery sync
# (every 30 s). Until then every attempt on the ConfigMap fails with a REST
# mapping error and is requeued with client-go's default backoff (5 ms
# doubling), so the attempt that succeeds can come up to twice as late as
# the sync: 91 s once on a loaded CI machine (2026-12-05).
if ! eventually 180 "$first: its owned ConfigMap is garbage-collected" \
    not_found "${admin[@]}" get configmap orders-child -n default; then
    grep -iE "garbage|restmapp" "$BATON_REGIONS_DIR/$first/logs/kube-controller-manager.log" |
        tail -n 20 | sed 's/^/#   kcm: /'
fi

# The scheduler and kwok make StatefulSet pods Running and Ready.
"${admin[@]}" apply -f - >/dev/null <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: smoke, namespace: default}
spec:
  serviceName: smoke
  replicas: 2
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: smoke}}
  template:
    metadata: {labels: {app: smoke}}
    spec:
      containers: [{name: c, image: example.invalid/none}]
YAML
eventually 60 "$first: StatefulSet pods become Ready (kwok)" \
    bash -c "[ \"\$(${admin[*]} get statefulset smoke -o jsonpath='{.status.readyReplicas}')\" = 2 ]"
check "$first: delete the StatefulSet" "${admin[@]}" delete statefulset smoke --wait=true --timeout=30s

tap_exit
