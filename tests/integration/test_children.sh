#!/usr/bin/env bash
# The objects batond writes for a DatabaseCluster (children + plain mesh
# Services, rendered by the same code batond uses) against a real API server:
# they apply with server-side apply, applying again changes nothing, pods
# become Ready (kwok), the label fence routes the primary Service to exactly
# the pod labelled primary with the CURRENT epoch, and deleting the
# DatabaseCluster garbage-collects everything.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
: "${BATON_REGIONS_DIR:?run through tests/integration/run.sh (regions must be up)}"
export PATH=$top/tests/env/bin:$PATH
render=$top/${BATON_BUILD:-build/san}/tests/helpers/baton_render
region=${BATON_REGION_NAMES%% *}
k=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"${k[@]}" apply -f "$top/crds/" >/dev/null && "${k[@]}" wait --for condition=established crd/databaseclusters.baton.dev >/dev/null
sed "s/name: orders/name: kids/; s/eu-west/$region/" "$top/examples/orders-3-regions.yaml" > "$tmp/db.yaml"
check "apply a DatabaseCluster" "${k[@]}" apply -f "$tmp/db.yaml"
uid=$("${k[@]}" get dbc kids -o jsonpath='{.metadata.uid}')
# with the agent API's mutual TLS: its certificate Secret and the
# NetworkPolicy that admits the order port only from batond's pods
check "render the region's objects" bash -c "BATON_RENDER_AGENT_TLS=baton-system '$render' '$tmp/db.yaml' '$region' '$region' 3 > '$tmp/objs.json'"
sed -i "s/00000000-0000-4000-8000-000000000000/$uid/" "$tmp/objs.json"
"${k[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: kids-pv}
spec:
  capacity: {storage: 100Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  # bound in advance to this test's claim: another test's Pending claim
  # in these shared regions must not take it (test_failover.sh)
  claimRef: {namespace: default, name: data-kids-$region-0}
  hostPath: {path: /tmp/kids-pv}
YAML
check "server-side apply of StatefulSet, Services, PDB, ConfigMap, Secret, NetworkPolicy" \
    "${k[@]}" apply --server-side --field-manager=batond -f "$tmp/objs.json"
pod=kids-$region-0
eventually 60 "the database pod becomes Ready" \
    bash -c "[ \"\$(${k[*]} get pod $pod -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
# Controllers write status (a resourceVersion bump) until the pod is Ready;
# after that a second apply of the same objects must not write anything.
sleep 2
rvs() { "${k[@]}" get sts,svc,pdb,cm,secret,networkpolicy -l baton.dev/cluster=kids -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}'; }
rv1=$(rvs)
"${k[@]}" apply --server-side --field-manager=batond -f "$tmp/objs.json" >/dev/null
rv2=$(rvs)
check "applying again changes nothing (no resourceVersion churn)" test "$rv1" = "$rv2"
check "the agents' certificate Secret is a kubernetes.io/tls Secret" \
    bash -c "[ \"\$(${k[*]} get secret kids-$region-agent-tls -o jsonpath='{.type} {.data.ca\.crt}')\" = 'kubernetes.io/tls cGxhY2Vob2xkZXI=' ]"
check "the pod mounts it and the agent takes orders only from batond over mutual TLS" \
    bash -c "${k[*]} get sts kids-$region -o json | jq -e '.spec.template.spec | (.volumes[] | select(.name == \"agent-tls\") | .secret.secretName == \"kids-$region-agent-tls\") and (.containers[] | select(.name == \"baton-agent\") | (.args | index(\"--order-peer\")) != null and (.readinessProbe.httpGet.port == \"probe\"))' >/dev/null"
check "the NetworkPolicy admits the order port only from batond's pods" \
    bash -c "${k[*]} get networkpolicy kids-$region-agent -o json | jq -e '.spec.ingress[0].ports[0].port == 8081 and .spec.ingress[0].from[0].namespaceSelector.matchLabels[\"kubernetes.io/metadata.name\"] == \"baton-system\" and .spec.ingress[0].from[0].podSelector.matchLabels[\"app.kubernetes.io/component\"] == \"batond\" and (.spec.ingress[1].ports | map(.port) | index(8081)) == null' >/dev/null"
check "a new pod starts fenced (role=replica, epoch=0)" \
    bash -c "[ \"\$(${k[*]} get pod $pod -o jsonpath='{.metadata.labels.baton\.dev/role}/{.metadata.labels.baton\.dev/epoch}')\" = replica/0 ]"
endpoints() { "${k[@]}" get endpointslices -l kubernetes.io/service-name="$1" -o jsonpath='{.items[*].endpoints[*].addresses[*]}'; }
check "the primary Service has no endpoints while no pod holds epoch 3" test -z "$(endpoints kids-rw)"
eventually 20 "the replica Service selects the replica" test -n "$(endpoints kids-ro)"
"${k[@]}" label pod "$pod" baton.dev/role=primary baton.dev/epoch=2 --overwrite >/dev/null
sleep 2
check "a primary from an older epoch (2) gets no traffic" test -z "$(endpoints kids-rw)"
"${k[@]}" label pod "$pod" baton.dev/epoch=3 --overwrite >/dev/null
eventually 20 "the primary with the current epoch (3) gets the traffic" \
    bash -c "[ -n \"\$(${k[*]} get endpointslices -l kubernetes.io/service-name=kids-rw -o jsonpath='{.items[*].endpoints[*].addresses[*]}')\" ]"
check "delete the DatabaseCluster" "${k[@]}" delete dbc kids --wait=true --timeout=30s
eventually 90 "its children are garbage-collected" \
    bash -c "[ -z \"\$(${k[*]} get sts,svc,pdb,cm,secret,networkpolicy -l baton.dev/cluster=kids -o name)\" ]"
tap_exit
