#!/usr/bin/env bash
# The Helm chart against real regions: lint and template every example values
# file, reject bad values with the schema's message, install into every
# region (pods made Ready by kwok), then act with the chart's own
# ServiceAccount token — not admin — to show batond can do everything it
# needs and nothing it must not, check the peer-fencing account and its
# admission policy, and uninstall leaving no operator objects behind.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
: "${BATON_REGIONS_DIR:?run through tests/integration/run.sh (regions must be up)}"
: "${BATON_REGION_NAMES:?}"
export PATH=$top/tests/env/bin:$PATH
chart=$top/charts/baton
kv=--kube-version=1.34.4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- offline: lint, template, schema ---------------------------------------
for f in "$top"/examples/values/*.yaml; do
    check "helm lint $(basename "$f")" helm lint "$chart" -f "$f"
    check "helm template $(basename "$f") renders the StatefulSet, RBAC and Services" \
        bash -c "helm template baton '$chart' -n baton-system $kv -f '$f' | grep -c '^kind: \(StatefulSet\|ClusterRole\|Service\|ValidatingAdmissionPolicy\)$' | grep -qx 7"
    check "helm template $(basename "$f"): the agents ask for their lease at the -agents Service, over https" \
        bash -c "helm template baton '$chart' -n baton-system $kv -f '$f' | grep -q 'url: \"https://baton-agents.baton-system.svc:7102\"'"
    check "helm template $(basename "$f"): batond gets the region's agent CA (generated, kept across upgrades and uninstall)" \
        bash -c "out=\$(helm template baton '$chart' -n baton-system $kv -f '$f'); grep -q 'caKey: /etc/baton/agent-ca/tls.key' <<<\"\$out\" && grep -q 'secretName: baton-agent-ca' <<<\"\$out\" && grep -q 'helm.sh/resource-policy: keep' <<<\"\$out\""
done
# designation is on by default (batond waits for the fleet's command level
# before it proposes any), and off when asked
check "helm template: batond runs with --designation by default, without it when designation.enabled=false" \
    bash -c "helm template baton '$chart' -n baton-system $kv --set region=a | grep -q 'args: \[batond, --config, /etc/baton/config/config.yaml, --designation\]' &&
        ! helm template baton '$chart' -n baton-system $kv --set region=a --set designation.enabled=false | grep -q -- '--designation' &&
        helm template baton '$chart' -n baton-system $kv --set region=a --set designation.enabled=false | grep -q 'args: \[batond, --config, /etc/baton/config/config.yaml\]'"
# watchNamespaces: a Role per listed namespace for batond and the peer
# account, and no ClusterRole at all (batond reads nothing cluster-scoped).
scoped_render() { helm template baton "$chart" -n baton-system $kv --set region=a --set 'watchNamespaces={team-a,team-b}'; }
check "helm template with watchNamespaces: no ClusterRole or ClusterRoleBinding" \
    bash -c "$(declare -f scoped_render); $(declare -p chart kv); out=\$(scoped_render) && [ \"\$(grep -c '^kind: ClusterRole' <<<\"\$out\")\" = 0 ]"
check "helm template with watchNamespaces: batond's and the peer's Role in each listed namespace, plus the Lease Role and the peer-token Role" \
    bash -c "$(declare -f scoped_render); $(declare -p chart kv); out=\$(scoped_render) && [ \"\$(grep -c '^kind: Role$' <<<\"\$out\")\" = 6 ] && [ \"\$(grep -c '^kind: RoleBinding$' <<<\"\$out\")\" = 6 ]"
# monitoring: the Prometheus Operator objects, and alerts only on series
# that batond or the agent really export (a renamed metric would leave an
# alert that can never fire)
# shellcheck disable=SC2120 # called with arguments inside bash -c below
mon_render() { helm template baton "$chart" -n baton-system $kv -f "$chart/ci/monitoring-values.yaml" "$@"; }
check "helm template with monitoring: ServiceMonitor, the agents' PodMonitor (port probe) and the PrometheusRule" \
    bash -c "$(declare -f mon_render); $(declare -p chart kv); out=\$(mon_render) &&
        grep -qx 'kind: ServiceMonitor' <<<\"\$out\" && grep -qx 'kind: PodMonitor' <<<\"\$out\" &&
        grep -qx 'kind: PrometheusRule' <<<\"\$out\" && grep -q -- '- port: probe' <<<\"\$out\""
check "helm template with monitoring and watchNamespaces: the PodMonitor watches only those namespaces" \
    bash -c "$(declare -f mon_render); $(declare -p chart kv); mon_render --set 'watchNamespaces={team-a}' | grep -q 'matchNames: \[\"team-a\"\]'"
alert_metrics_exist() {
    local out names n missing=""
    out=$(mon_render) || return 1
    names=$(grep -E '^ +expr: ' <<<"$out" | grep -oE '\b(baton|process)_[a-z_]+' | sed -E 's/_(bucket|sum|count)$//' | sort -u)
    [ -n "$names" ] || { echo "no metric names found in the rules"; return 1; }
    for n in $names; do
        grep -rqF "\"$n\"" "$top/operator" || missing+=" $n"
    done
    [ -z "$missing" ] || { echo "alerts on series nobody exports:$missing"; return 1; }
}
check "every series the PrometheusRule's alerts read is one batond or the agent exports" alert_metrics_exist
check "helm template with monitoring: the Grafana dashboard's ConfigMap, labelled for the sidecar, holding the dashboard" \
    bash -c "$(declare -f mon_render); $(declare -p chart kv); out=\$(mon_render --show-only templates/grafana-dashboard.yaml) &&
        grep -q 'grafana_dashboard: \"1\"' <<<\"\$out\" &&
        sed -n '/^  baton.json: |-\$/,\$p' <<<\"\$out\" | sed '1d; s/^    //' |
        jq -e '.uid == \"baton-overview\" and (.panels | length) > 10'"
check "helm template without metrics.grafanaDashboard: no dashboard" \
    bash -c "! helm template baton '$chart' $kv -f '$chart/ci/single-region-values.yaml' | grep -q grafana_dashboard"
check "chart crds/ is the top-level crds/ (one source of truth)" \
    diff -r "$top/crds" "$chart/crds"

bad() { # bad NAME EXPECTED-MESSAGE YAML
    printf '%s\n' "$3" > "$tmp/bad-$1.yaml"
    local out
    out=$(helm template baton "$chart" $kv -f "$tmp/bad-$1.yaml" 2>&1)
    if [ $? -ne 0 ] && grep -qF -- "$2" <<<"$out"; then ok "bad values rejected: $1"
    else not_ok "bad values rejected: $1 (expected '$2', got: $out)"; fi
}
bad no-region "values: region is required" 'peers: []'
bad region-name "does not match pattern" 'region: EU_WEST'
bad peer-fields "missing properties 'raftAddress', 'apiAddress', 'kubeconfigSecret'" $'region: a\npeers: [{name: b}]'
bad peer-address "at '/peers/0/raftAddress'" $'region: a\npeers: [{name: b, raftAddress: nope, apiAddress: "h:1", kubeconfigSecret: {name: s}}]'
bad log-level "at '/logLevel'" $'region: a\nlogLevel: verbose'
bad port "at '/raft/port'" $'region: a\nraft: {port: 70000}'
bad unknown-image-key "additional properties 'tga' not allowed" $'region: a\nimage: {tga: v1}'
bad kube-qps-zero "at '/kubeClient/qps'" $'region: a\nkubeClient: {qps: 0}'
bad kube-qps-text "at '/kubeClient/qps'" $'region: a\nkubeClient: {qps: fast}'
bad kube-burst-zero "at '/kubeClient/burst'" $'region: a\nkubeClient: {burst: 0}'
bad kube-burst-fraction "at '/kubeClient/burst'" $'region: a\nkubeClient: {burst: 2.5}'
bad kube-client-key "additional properties 'qbs' not allowed" $'region: a\nkubeClient: {qbs: 5}'

# kubeClient values reach batond's config file, which batond itself accepts
# (defaults 200/400 when not set).
batond_bin=$top/${BATON_BUILD:-build/san}/bin/batond
rendered_config() { # rendered_config VALUES-YAML: the config.yaml batond gets
    printf '%s\n' "$1" > "$tmp/cfg-values.yaml"
    helm template baton "$chart" -n baton-system $kv -f "$tmp/cfg-values.yaml" \
        --show-only templates/configmap.yaml |
        sed -n '/config.yaml: |/,$p' | tail -n +2 | sed 's/^    //'
}
rendered_config $'region: eu-west\nkubeClient: {qps: 75, burst: 150}' > "$tmp/cfg-75.yaml"
check "kubeClient {qps: 75, burst: 150} is rendered into batond's config and batond accepts it" \
    bash -c "grep -qx '  qps: 75' '$tmp/cfg-75.yaml' && grep -qx '  burst: 150' '$tmp/cfg-75.yaml' && '$batond_bin' --check-config -c '$tmp/cfg-75.yaml'"
rendered_config 'region: eu-west' > "$tmp/cfg-default.yaml"
check "batond's config gets kubeClient 200/400 by default" \
    bash -c "grep -qx '  qps: 200' '$tmp/cfg-default.yaml' && grep -qx '  burst: 400' '$tmp/cfg-default.yaml' && '$batond_bin' --check-config -c '$tmp/cfg-default.yaml'"

# ---- install into every region ---------------------------------------------
read -ra regions <<<"$BATON_REGION_NAMES"
values_for() { # values_for REGION: a values file naming every other region as a peer
    local r=$1 p i=0
    echo "region: $r"
    echo "peers:"
    for p in "${regions[@]}"; do
        i=$((i + 1))
        [ "$p" = "$r" ] && continue
        echo "  - {name: $p, raftAddress: \"peer-$i.example:7100\", apiAddress: \"peer-$i.example:7101\", kubeconfigSecret: {name: baton-peer-$p}}"
    done
}

for r in "${regions[@]}"; do
    admin=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig")
    values_for "$r" > "$tmp/values-$r.yaml"
    # The Secrets the chart expects but does not create, and a volume for the
    # Raft data (there is no storage provisioner in the test regions).
    "${admin[@]}" -n baton-system create secret generic baton-tls \
        --from-literal=ca.crt=x --from-literal=tls.crt=x --from-literal=tls.key=x >/dev/null
    for p in "${regions[@]}"; do
        [ "$p" = "$r" ] && continue
        "${admin[@]}" -n baton-system create secret generic "baton-peer-$p" --from-literal=kubeconfig=x >/dev/null
    done
    "${admin[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: baton-raft-$r}
spec:
  # Bound ahead to the chart's claim: an earlier test's StatefulSet claim
  # (e.g. data-ctltest-$r-0, kept after its DatabaseCluster was deleted)
  # would otherwise take this volume first (CI on 102d458 saw exactly that).
  claimRef: {namespace: baton-system, name: data-baton-0}
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  hostPath: {path: /tmp/baton-pv-$r}
YAML
    if ! check "$r: helm install --wait" helm --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" \
        install baton "$chart" -n baton-system -f "$tmp/values-$r.yaml" --wait --timeout 180s; then
        # what the pod was waiting for (a kwok pod once never became Ready)
        "${admin[@]}" -n baton-system get sts,pods,pvc -o wide 2>&1 | sed 's/^/#   /'
        "${admin[@]}" get pv,nodes -o wide 2>&1 | sed 's/^/#   /'
        "${admin[@]}" -n baton-system get events --sort-by=.lastTimestamp 2>&1 | tail -20 | sed 's/^/#   /'
    fi
    check "$r: batond StatefulSet is ready" \
        bash -c "[ \"\$(${admin[*]} -n baton-system get sts baton -o jsonpath='{.status.readyReplicas}')\" = 1 ]"
    check "$r: the config names this region and its peers" \
        bash -c "${admin[*]} -n baton-system get cm baton-config -o jsonpath='{.data.config\.yaml}' | grep -q 'region: \"$r\"'"
done

# ---- least privilege, with the chart's own ServiceAccount token ------------
r=${regions[0]}
admin=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig")
server=$("${admin[@]}" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
"${admin[@]}" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > "$tmp/ca.crt"
sa_kubectl() { # sa_kubectl ACCOUNT ARGS...
    local token
    token=$("${admin[@]}" -n baton-system create token "$1" --duration=10m)
    shift
    kubectl --server "$server" --certificate-authority "$tmp/ca.crt" --token "$token" "$@"
}
"${admin[@]}" apply -f "$top/examples/orders-3-regions.yaml" >/dev/null 2>&1 || \
    "${admin[@]}" apply -f "$top/crds/" >/dev/null
"${admin[@]}" apply -f "$top/examples/orders-3-regions.yaml" >/dev/null

check "batond account: list DatabaseClusters in all namespaces" sa_kubectl baton get dbc -A
check "batond account: watch DatabaseClusters" \
    sa_kubectl baton get dbc -A --watch-only --request-timeout=1s
check "batond account: add its finalizer" sa_kubectl baton patch dbc orders --type=merge \
    -p '{"metadata":{"finalizers":["baton.dev/teardown"]}}'
check "batond account: write status" sa_kubectl baton patch dbc orders --subresource=status --type=merge \
    -p '{"status":{"phase":"Provisioning","epoch":1,"primaryRegion":"eu-west"}}'
cat > "$tmp/children.yaml" <<'YAML'
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: orders-eu-west, namespace: default, labels: {baton.dev/cluster: orders}}
spec:
  serviceName: orders-headless
  replicas: 1
  selector: {matchLabels: {baton.dev/cluster: orders}}
  template:
    metadata: {labels: {baton.dev/cluster: orders}}
    spec: {containers: [{name: postgres, image: postgres:15}]}
---
apiVersion: v1
kind: Service
metadata: {name: orders-rw, namespace: default}
spec:
  selector: {baton.dev/cluster: orders, baton.dev/role: primary, baton.dev/epoch: "1"}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: orders-config, namespace: default}
data: {a: b}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: orders, namespace: default}
spec: {maxUnavailable: 1, selector: {matchLabels: {baton.dev/cluster: orders}}}
YAML
check "batond account: server-side apply StatefulSet, Service, ConfigMap, PDB" \
    sa_kubectl baton apply --server-side --field-manager=batond -f "$tmp/children.yaml"
eventually 60 "the StatefulSet's pod exists" "${admin[@]}" get pod orders-eu-west-0
check "batond account: label a pod with role and epoch" \
    sa_kubectl baton label pod orders-eu-west-0 baton.dev/role=primary baton.dev/epoch=1 --overwrite
check "batond account: create an Event" sa_kubectl baton create -f - <<'YAML'
apiVersion: v1
kind: Event
metadata: {name: orders.test, namespace: default}
involvedObject: {apiVersion: baton.dev/v1alpha1, kind: DatabaseCluster, name: orders, namespace: default}
reason: Promoted
message: test
type: Normal
source: {component: batond}
YAML
check "batond account: leader-election Lease in its namespace" sa_kubectl baton -n baton-system create -f - <<'YAML'
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: batond-test}
spec: {holderIdentity: test, leaseDurationSeconds: 15}
YAML
for denied in "get secrets -n baton-system" "get secrets -n kube-system" "delete namespaces" \
    "create clusterroles" "create rolebindings -n default" "delete databaseclusters.baton.dev -n default" \
    "create pods -n default" "create pods/exec -n default" "update nodes" "create leases -n default"; do
    check "batond account: cannot $denied" \
        bash -c "$(declare -f sa_kubectl); $(declare -p admin server tmp); [ \"\$(sa_kubectl baton auth can-i $denied 2>/dev/null)\" = no ]"
done
check "batond account: the server refuses reading a Secret (Forbidden)" \
    bash -c "$(declare -f sa_kubectl); $(declare -p admin server tmp); sa_kubectl baton -n kube-system get secrets 2>&1 | grep -q Forbidden"

# Short-lived peer tokens: batond mints tokens of the peer account
# (TokenRequest) and of no other account.
check "batond account: mint a token of the peer account (TokenRequest)" \
    sa_kubectl baton -n baton-system create token baton-peer --duration=10m
out=$(sa_kubectl baton -n baton-system create token baton --duration=10m 2>&1)
if [ $? -ne 0 ] && grep -qi forbidden <<<"$out"; then
    ok "batond account: cannot mint a token of any other account (its own)"
else not_ok "batond account: cannot mint a token of any other account (its own) (got: $out)"; fi
check "the chart's config serves and rotates peer tokens" \
    bash -c "${admin[*]} -n baton-system get cm baton-config -o jsonpath='{.data.config\.yaml}' | grep -q 'serviceAccount: baton-peer'"

# Peer account: read and fence, nothing else (RBAC + admission policy).
check "peer account: read DatabaseClusters and pods" sa_kubectl baton-peer get dbc,pods -n default
check "peer account: fence a pod (baton.dev/fenced label, fenced-by annotation)" \
    sa_kubectl baton-peer annotate pod orders-eu-west-0 -n default baton.dev/fenced-by=us-east --overwrite
check "peer account: set the fence label" \
    sa_kubectl baton-peer label pod orders-eu-west-0 -n default baton.dev/fenced=true --overwrite
out=$(sa_kubectl baton-peer label pod orders-eu-west-0 -n default app=hijack 2>&1)
if [ $? -ne 0 ] && grep -q "may only set the baton.dev/fenced label" <<<"$out"; then
    ok "peer account: any other label change is denied by the admission policy"
else not_ok "peer account: any other label change is denied by the admission policy (got: $out)"; fi
for what in finalizers ownerReferences; do
    case $what in
        finalizers) patch='{"metadata":{"finalizers":["evil.example/hold"]}}' ;;
        *) patch='{"metadata":{"ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"x","uid":"00000000-0000-4000-8000-000000000001"}]}}' ;;
    esac
    out=$(sa_kubectl baton-peer patch pod orders-eu-west-0 -n default --type=merge -p "$patch" 2>&1)
    if [ $? -ne 0 ] && grep -q "may not change a pod's ownerReferences or finalizers" <<<"$out"; then
        ok "peer account: setting $what is denied by the admission policy"
    else not_ok "peer account: setting $what is denied by the admission policy (got: $out)"; fi
done
check "peer account: cannot delete pods" \
    bash -c "$(declare -f sa_kubectl); $(declare -p admin server tmp); [ \"\$(sa_kubectl baton-peer auth can-i delete pods -n default)\" = no ]"
check "peer account: cannot write DatabaseClusters" \
    bash -c "$(declare -f sa_kubectl); $(declare -p admin server tmp); [ \"\$(sa_kubectl baton-peer auth can-i patch databaseclusters.baton.dev -n default)\" = no ]"

# An annotation the peer account did not add may not be removed either
# (the policy once checked only the annotations a patch left).
"${admin[@]}" annotate pod orders-eu-west-0 -n default example.com/owner=team --overwrite >/dev/null
out=$(sa_kubectl baton-peer annotate pod orders-eu-west-0 -n default example.com/owner- 2>&1)
if [ $? -ne 0 ] && grep -q "may only set the baton.dev/fenced label" <<<"$out"; then
    ok "peer account: removing another annotation is denied by the admission policy"
else not_ok "peer account: removing another annotation is denied by the admission policy (got: $out)"; fi
check "the annotation is still there" bash -c \
    "[ \"\$(${admin[*]} get pod orders-eu-west-0 -n default -o jsonpath='{.metadata.annotations.example\.com/owner}')\" = team ]"

# ---- watchNamespaces: Roles, not ClusterRoles (issue 15 #6) -----------------
# A second release in its own namespace that manages team-a only. Its pod
# never runs here (no TLS Secret): what is tested is what its accounts may do.
for ns in team-a team-b; do "${admin[@]}" create namespace "$ns" >/dev/null; done
check "install a release with watchNamespaces [team-a]" \
    helm --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" install scoped "$chart" \
    -n baton-scoped --create-namespace --set region="$r" --set 'watchNamespaces={team-a}'
can_i() { # can_i ACCOUNT EXPECTED VERB RESOURCE [-n NS | --all-namespaces]
    local acct=$1 want=$2 got token
    shift 2
    token=$("${admin[@]}" -n baton-scoped create token "$acct" --duration=10m) || return 1
    # can-i prints yes or no on stdout (and exits 1 on no): anything else,
    # an error included, fails; stderr (warnings for cluster-scoped
    # resources asked with -n) is shown, not compared
    got=$(kubectl --server "$server" --certificate-authority "$tmp/ca.crt" --token "$token" auth can-i "$@" 2>"$tmp/can-i.err")
    echo "can-i $*: '$got' ($(cat "$tmp/can-i.err"))"
    [ "$got" = "$want" ]
}
for q in "patch pods -n team-a" "delete persistentvolumeclaims -n team-a" "update configmaps -n team-a" \
    "watch databaseclusters.baton.dev -n team-a" "patch databaseclusters.baton.dev -n team-a --subresource=status" \
    "create leases.coordination.k8s.io -n baton-scoped"; do
    check "scoped batond account: can $q" can_i scoped-baton yes $q
done
for q in "patch pods -n team-b" "delete persistentvolumeclaims -n team-b" "update configmaps -n team-b" \
    "patch pods -n kube-system" "delete persistentvolumeclaims -n kube-system" "update configmaps -n kube-system" \
    "create services -n kube-system" "list databaseclusters.baton.dev --all-namespaces" \
    "list pods --all-namespaces" "patch pods -n default" "get customresourcedefinitions.apiextensions.k8s.io" \
    "list nodes"; do
    check "scoped batond account: cannot $q" can_i scoped-baton no $q
done
check "scoped peer account: can patch pods in team-a" can_i scoped-baton-peer yes patch pods -n team-a
for q in "patch pods -n team-b" "patch pods -n kube-system" "list pods --all-namespaces" \
    "list databaseclusters.baton.dev --all-namespaces"; do
    check "scoped peer account: cannot $q" can_i scoped-baton-peer no $q
done
check "scoped release: no ClusterRole or ClusterRoleBinding installed" bash -c \
    "out=\$(${admin[*]} get clusterrole,clusterrolebinding -l app.kubernetes.io/instance=scoped -o name) && [ -z \"\$out\" ]"
check "scoped release: helm uninstall" helm --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" \
    uninstall scoped -n baton-scoped --wait --timeout 60s
check "scoped release: no Role left in team-a" bash -c \
    "out=\$(${admin[*]} get role,rolebinding -n team-a -l app.kubernetes.io/instance=scoped -o name) && [ -z \"\$out\" ]"
"${admin[@]}" delete namespace team-a team-b baton-scoped --wait=false >/dev/null 2>&1

# ---- uninstall ---------------------------------------------------------------
"${admin[@]}" patch dbc orders --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
# (the regions are shared with later tests: a batond there would adopt it)
"${admin[@]}" delete dbc orders --wait=false >/dev/null 2>&1
"${admin[@]}" delete -f "$tmp/children.yaml" --wait=false >/dev/null 2>&1
for r in "${regions[@]}"; do
    a=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig")
    check "$r: helm uninstall" helm --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" \
        uninstall baton -n baton-system --wait --timeout 60s
    check "$r: no operator objects left behind" bash -c \
        "[ -z \"\$(${a[*]} get sts,svc,cm,sa,role,rolebinding,pdb -n baton-system -l app.kubernetes.io/instance=baton -o name; ${a[*]} get clusterrole,clusterrolebinding,validatingadmissionpolicy,validatingadmissionpolicybinding -l app.kubernetes.io/instance=baton -o name)\" ]"
    check "$r: the CRD stays (Helm never deletes chart CRDs; documented)" "${a[@]}" get crd databaseclusters.baton.dev
done

tap_exit
