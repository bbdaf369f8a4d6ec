#!/usr/bin/env bash
# watchNamespaces against a real API server (issue 15 #6): a batond told to
# manage wn-a and wn-b
#  - with an admin kubeconfig (so only batond itself can keep the rule):
#    adds its finalizer to, writes the status of, and creates the children
#    of a DatabaseCluster in wn-a, and leaves one in wn-out untouched (no
#    finalizer, no status, no StatefulSet);
#  - with the token of the ServiceAccount the chart makes for that
#    watchNamespaces (a Role in wn-a and wn-b, no ClusterRole): its caches
#    sync (one LIST+WATCH per namespace; a LIST across namespaces would be
#    Forbidden and it would never be ready), it manages a new
#    DatabaseCluster in wn-b, is never refused anything, and wn-out is
#    still untouched.
# The Raft group is this one batond (no peers): what is tested is where it
# reads and writes, not failover.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
: "${BATON_REGIONS_DIR:?run through tests/integration/run.sh (regions must be up)}"
: "${BATON_REGION_NAMES:?}"
export PATH=$top/tests/env/bin:$PATH
batond=$top/${BATON_BUILD:-build/san}/bin/batond
chart=$top/charts/baton
r=${BATON_REGION_NAMES%% *}
tmp=$(mktemp -d /tmp/baton-watchns.XXXXXX)
pid=
kc() { kubectl --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" "$@"; }
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    wait 2>/dev/null
    # the regions are shared with later tests: no finalizer left that no
    # batond will remove, no namespace left behind
    for o in wn-a/inside wn-b/second wn-out/outside; do
        kc -n "${o%/*}" patch dbc "${o#*/}" --type=merge \
            -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    done
    # (a Pending claim keeps kubernetes.io/pvc-protection here: without
    # clearing it the namespaces would stay Terminating)
    for ns in wn-a wn-b wn-out; do
        kc -n "$ns" delete statefulsets --all --wait=false >/dev/null 2>&1
        for c in $(kc -n "$ns" get pvc -o name 2>/dev/null); do
            kc -n "$ns" patch "$c" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
        done
    done
    kc delete namespace wn-a wn-b wn-out baton-wn --wait=false >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT TERM
# shellcheck source=../lib/ports.sh
source "$top/tests/lib/ports.sh"
declare http # take_port sets it by name
take_port http

for ns in wn-a wn-b wn-out baton-wn; do
    check "create namespace $ns" kc create namespace "$ns"
done
dbc() { # dbc NAMESPACE NAME
    kc apply -f - <<YAML
apiVersion: baton.dev/v1alpha1
kind: DatabaseCluster
metadata: {name: $2, namespace: $1}
spec:
  regions: [{name: $r}]
  primaryRegion: $r
  failover: {mode: manual, synchronous: false}
YAML
}
check "a DatabaseCluster in the watched namespace wn-a" dbc wn-a inside
check "a DatabaseCluster in the unwatched namespace wn-out" dbc wn-out outside

start_batond() { # start_batond KUBECONFIG LOG [AGENT-API-PORT]
    declare -g raftport apiport agentport
    take_port raftport apiport agentport
    agentport=${3:-$agentport}
    cat > "$tmp/batond.yaml" <<YAML
region: $r
namespace: baton-wn
kubeconfig: $1
watchNamespaces: [wn-a, wn-b]
raft: {bind: "127.0.0.1:$raftport", dataDir: $tmp/raft, electionTimeoutMillis: 1000, heartbeatMillis: 100}
peerApi: {bind: "127.0.0.1:$apiport"}
http: {bind: "127.0.0.1:$http"}
agentApi: {bind: "127.0.0.1:$agentport"}
YAML
    "$batond" --config "$tmp/batond.yaml" >> "$2" 2>&1 &
    pid=$!
}
stop_batond() { # not inside check: wait needs this shell, not a subshell
    local rc
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    pid=
    check "batond stops cleanly on SIGTERM (exit $rc)" test "$rc" -eq 0
}
# managed NS NAME: batond's finalizer and a status phase are there
managed() {
    local out
    out=$(kc -n "$1" get dbc "$2" -o jsonpath='{.metadata.finalizers}|{.status.phase}') || return 1
    echo "$out"
    [[ $out == *baton.dev/teardown*\|?* ]]
}
# untouched: wn-out's DatabaseCluster has no finalizer and no status, and
# no child of it exists (each kubectl must succeed: an error is no proof)
untouched() {
    local out sts
    out=$(kc -n wn-out get dbc outside -o jsonpath='{.metadata.finalizers}|{.status}') || return 1
    sts=$(kc -n wn-out get statefulsets,services,configmaps -l baton.dev/cluster=outside -o name) || return 1
    echo "dbc: '$out' children: '$sts'"
    [ "$out" = "|" ] && [ -z "$sts" ]
}
ready() { curl -fs "http://127.0.0.1:$http/readyz" >/dev/null; }

# ---- batond with an admin kubeconfig: batond's own rule ---------------------
start_batond "$BATON_REGIONS_DIR/$r/admin.kubeconfig" "$tmp/admin.log"
eventually 60 "batond (admin kubeconfig) is ready" ready
eventually 60 "wn-a/inside gets the finalizer and a status" managed wn-a inside
eventually 30 "wn-a/inside gets its StatefulSet" kc -n wn-a get statefulset "inside-$r"
# Reconciles run in parallel: by the time inside is converged, outside
# (created first) would have been reconciled long ago.
sleep 3
check "wn-out/outside: no finalizer, no status, no children" untouched
check "batond says which namespaces it manages" \
    grep -q 'managing DatabaseClusters only in namespaces wn-a, wn-b' "$tmp/admin.log"
check "no 'not enforced' warning any more" no_match 'not enforced' "$tmp/admin.log"
stop_batond

# ---- batond with the chart's ServiceAccount: Roles in wn-a, wn-b only -----
chart_rbac() { # the RBAC the chart renders for this watchNamespaces, applied
    helm template baton "$chart" -n baton-wn --kube-version=1.34.4 --set region="$r" \
        --set 'watchNamespaces={wn-a,wn-b}' --set peerAccess.enabled=false \
        --show-only templates/rbac.yaml --show-only templates/serviceaccount.yaml \
        > "$tmp/rbac.yaml" || return 1
    [ "$(grep -c '^kind: Role$' "$tmp/rbac.yaml")" = 3 ] || { echo "not 3 Roles"; return 1; }
    [ "$(grep -c '^kind: ClusterRole' "$tmp/rbac.yaml")" = 0 ] || { echo "a ClusterRole"; return 1; }
    kc apply -f "$tmp/rbac.yaml"
}
check "the chart's RBAC for watchNamespaces [wn-a, wn-b] (3 Roles, no ClusterRole) applies" chart_rbac
server=$(kc config view --minify -o jsonpath='{.clusters[0].cluster.server}')
ca=$(kc config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
token=$(kc -n baton-wn create token baton --duration=20m)
check "a token for batond's ServiceAccount" test -n "$token"
cat > "$tmp/sa.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "$server", certificate-authority-data: "$ca"}}]
users: [{name: u, user: {token: "$token"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
YAML
check "the ServiceAccount cannot list DatabaseClusters across namespaces" bash -c \
    "[ \"\$(kubectl --kubeconfig '$tmp/sa.kubeconfig' auth can-i list databaseclusters.baton.dev --all-namespaces)\" = no ]"
check "a DatabaseCluster in wn-b" dbc wn-b second
start_batond "$tmp/sa.kubeconfig" "$tmp/sa.log"
eventually 60 "batond (namespaced Roles only) syncs its caches and is ready" ready
eventually 60 "wn-b/second gets the finalizer and a status" managed wn-b second
eventually 30 "wn-b/second gets its StatefulSet" kc -n wn-b get statefulset "second-$r"
sleep 3
check "wn-out/outside is still untouched" untouched
check "the API server refused batond nothing (no 403 in its log)" no_match '[Ff]orbidden' "$tmp/sa.log"
stop_batond

# ---- a taken agent API port: the reason, exit 1, nothing left running -------
# (CI stress found the half-started controller's agents timer reading Raft's
# freed state after such a failure: a use-after-free instead of an exit)
declare busy
take_port busy
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(120)' "$busy" &
holder=$!
listening() { [ -n "$(ss -Htln "sport = :$busy")" ]; }
eventually 10 "something else listens on the agent API's port" listening
start_batond "$tmp/sa.kubeconfig" "$tmp/taken.log" "$busy"
exited() { ! kill -0 "$pid" 2>/dev/null; }
eventually 60 "batond with its agent API port taken stops by itself" exited
wait "$pid"
rc=$?
pid=
check "... with exit code 1 (got $rc)" test "$rc" -eq 1
check "... saying why" grep -q 'agent API on 127.0.0.1:'"$busy"'.*address already in use' "$tmp/taken.log"
check "... and no sanitizer report" no_match 'ERROR: AddressSanitizer\|runtime error:' "$tmp/taken.log"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

if [ "$_tap_failed" -ne 0 ]; then
    for f in "$tmp"/*.log; do echo "# --- $f"; tail -40 "$f" | sed 's/^/#   /'; done
fi
tap_exit
