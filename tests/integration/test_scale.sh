#!/usr/bin/env bash
# Scale: one batond (a one-member Raft group) against one real region holds
# BATON_SCALE_DBS (default 500) DatabaseClusters, applied with one kubectl
# apply of a multi-document YAML:
#  - every one is registered in the FSM and reaches
#    status.observedGeneration == metadata.generation with the region as
#    primary at epoch 1, a phase and a Ready condition (no PersistentVolumes:
#    the pods stay Pending, the databases Degraded; a pod per database made
#    Ready by kwok only adds the API server's and the node controller's
#    load, which is not what this measures);
#  - with nothing changing, the reconcile count stays flat (no hot loop);
#  - batond restarted (TERM, then the same Raft directory) reads the
#    children's stamps off the live objects (batond/applyseed.h) and
#    applies almost none of them again (each was applied anew at every
#    start before: six a database);
#  - deleting them all completes: every finalizer is removed and the FSM is
#    empty again (the children are the garbage collector's; the namespace
#    goes at the end);
#  - batond exits 0 on SIGTERM with no sanitizer report (LeakSanitizer
#    checks that every database's index records were freed).
# Prints the time each phase took.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
: "${BATON_REGIONS_DIR:?run through tests/integration/run.sh (regions must be up)}"
: "${BATON_REGION_NAMES:?}"
export PATH=$top/tests/env/bin:$PATH
batond=$top/${BATON_BUILD:-build/san}/bin/batond
n=${BATON_SCALE_DBS:-500}
region=${BATON_REGION_NAMES%% *}
ns=baton-scale
k=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig")
tmp=$(mktemp -d /tmp/baton-scale.XXXXXX)
bpid=""
cleanup() {
    if [ -n "$bpid" ]; then kill -KILL "$bpid" 2>/dev/null; wait "$bpid" 2>/dev/null; fi
    # whatever a failed run left behind (finalizers would block the
    # namespace's deletion with no batond running)
    "${k[@]}" -n "$ns" get dbc -o name 2>/dev/null |
        xargs -r -P 8 -I{} "${k[@]}" -n "$ns" patch {} --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
    "${k[@]}" delete namespace "$ns" --wait=false >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT TERM
# shellcheck source=../lib/ports.sh
source "$top/tests/lib/ports.sh"
declare http agentport raftport # take_port sets them by name
take_port http agentport raftport
metric() { # metric NAME: the sum of a counter's series
    curl -s "http://127.0.0.1:$http/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s += $2} END {print s + 0}'
}
dbcs() { # one line per DatabaseCluster in the namespace: JSONPATH fields
    "${k[@]}" -n "$ns" get dbc -o jsonpath="{range .items[*]}$1{\"\\n\"}{end}"
}

"${k[@]}" create namespace "$ns" >/dev/null 2>&1
for ((i = 0; i < n; i++)); do
    printf -- '---
apiVersion: baton.dev/v1alpha1
kind: DatabaseCluster
metadata: {name: db-%04d, namespace: %s}
spec:
  engine: postgres
  regions:
  - {name: %s, role: data, replicas: 1, priority: 100}
  primaryRegion: %s
  failover: {mode: manual, leaseSeconds: 2, renewMillis: 500, synchronous: false}
  traffic:
    mesh: none
    service: {name: db-%04d-rw, port: 5432}
  storage: {size: 1Gi}
  teardown: {retainData: false, timeoutSeconds: 60}
' "$i" "$ns" "$region" "$region" "$i"
done > "$tmp/dbcs.yaml"

"$batond" --region "$region" --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig" \
    --http-bind "127.0.0.1:$http" --agent-api-bind "127.0.0.1:$agentport" --raft-dir "$tmp/raft" --raft-bind "127.0.0.1:$raftport" \
    --log-level warn 2> "$tmp/batond.log" &
bpid=$!
if ! eventually 60 "batond is ready (caches synced, Raft leader)" curl -fs "http://127.0.0.1:$http/readyz"; then
    tail -3 "$tmp/batond.log" | sed 's/^/# /'
    tap_exit # nothing below can pass without it
fi

start=$SECONDS
check "one kubectl apply of $n DatabaseClusters" "${k[@]}" apply -f "$tmp/dbcs.yaml"
# Everything batond writes goes through its client-side rate limit (50
# requests/s by default), about ten requests per new database.
converged() { # every DBC at its generation, primary here at epoch 1,
    # Healthy or Degraded, with a Ready condition
    local got
    got=$(dbcs '{.metadata.generation}={.status.observedGeneration} {.status.primaryRegion}/{.status.epoch} {.status.phase} {.status.conditions[?(@.type=="Ready")].status}' |
        awk -v r="$region" '{split($1, g, "="); if (g[1] == g[2] && $2 == r"/1" && ($3 == "Healthy" || $3 == "Degraded") && ($4 == "True" || $4 == "False")) c++} END {print c + 0}')
    echo "$got of $n converged"
    [ "$got" -eq "$n" ]
}
converged_ok=false
if eventually 420 "all $n reach observedGeneration == generation, $region primary at epoch 1, phase and Ready condition" converged; then
    converged_ok=true
    echo "# $n DatabaseClusters at observedGeneration == generation $((SECONDS - start)) s after the apply"
fi
registered=$(curl -s "http://127.0.0.1:$http/v1/status" |
    python3 -c 'import json, sys; d = json.load(sys.stdin); print(sum(1 for x in d["databases"] if x["key"].startswith("'"$ns"'/") and x.get("epoch") == 1))')
check "all $n are registered in the FSM (/v1/status: $registered)" test "$registered" = "$n"

# No hot loop: once nothing changes, nothing is reconciled. (Other tests'
# leftovers in other namespaces are reconciled too, so allow the count to
# settle first; a hot loop never settles.)
flat() {
    local a b
    a=$(metric baton_reconciles_total)
    sleep 10
    b=$(metric baton_reconciles_total)
    echo "reconciles $a -> $b over 10 s"
    curl -s "http://127.0.0.1:$http/metrics" | grep '^baton_reconciles_total'
    echo "pods not yet labelled at epoch 1: $("${k[@]}" -n "$ns" get pods -l 'baton.dev/epoch!=1' -o name 2>/dev/null | wc -l)"
    [ "$a" = "$b" ] && [ "$a" -gt 0 ]
}
if $converged_ok; then
    # (pods are relabelled at the end of reconciles, a few per second:
    # at 500 databases that tail lasts a minute or two on a busy machine)
    eventually 300 "the reconcile count stays flat for 10 s when nothing changes" flat
else # still converging: "flat" would only measure how long we wait
    not_ok "the reconcile count stays flat for 10 s when nothing changes (not measured: not converged)"
fi
echo "# batond RSS with $n databases: $(awk '/^VmRSS/ {print $2}' "/proc/$bpid/status") KiB"

start_batond() {
    "$batond" --region "$region" --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig" \
        --http-bind "127.0.0.1:$http" --agent-api-bind "127.0.0.1:$agentport" --raft-dir "$tmp/raft" --raft-bind "127.0.0.1:$raftport" \
        --log-level "$1" 2>> "$tmp/batond.log" &
    bpid=$!
}
applies() { # the server-side applies batond sent
    curl -s "http://127.0.0.1:$http/metrics" | awk '$1 ~ /^baton_kube_requests_total{/ && $1 ~ /verb="APPLY"/ {s += $2} END {print s + 0}'
}
kill -TERM "$bpid"
wait "$bpid"
rc=$?
check "batond exits 0 on SIGTERM before the restart" test "$rc" = 0
start=$SECONDS
start_batond info
if eventually 120 "batond is ready again after the restart" curl -fs "http://127.0.0.1:$http/readyz"; then
    echo "# ready $((SECONDS - start)) s after the restart"
    if $converged_ok && eventually 300 "the reconcile count stays flat after the restart" flat; then
        a=$(applies)
        echo "# $a server-side applies after the restart of $n databases ($(grep -o '"msg":"[0-9]* children read[^"]*"' "$tmp/batond.log" | tail -1))"
        # every child of every database before (6 x $n); some other
        # test's leftovers in other namespaces may need theirs
        check "the restart applies almost no child again ($a applies, at most $((n / 10)))" test "$a" -le $((n / 10))
    else
        not_ok "the restart applies almost no child again (not measured: not settled)"
    fi
fi

start=$SECONDS
check "delete all $n DatabaseClusters" "${k[@]}" -n "$ns" delete dbc --all --wait=false
gone() {
    local left
    left=$("${k[@]}" -n "$ns" get dbc -o name | wc -l)
    echo "$left DatabaseClusters left"
    [ "$left" -eq 0 ]
}
if eventually 420 "every DatabaseCluster is gone (finalizers removed)" gone; then
    echo "# $n DatabaseClusters deleted $((SECONDS - start)) s after the delete"
fi
check "the FSM holds none of them (/v1/status)" bash -c "
    curl -s http://127.0.0.1:$http/v1/status | python3 -c 'import json, sys; d = json.load(sys.stdin); sys.exit(any(x[\"key\"].startswith(\"$ns/\") for x in d[\"databases\"]))'"

kill -TERM "$bpid"
wait "$bpid"
rc=$?
bpid=""
check "batond exits 0 on SIGTERM" test "$rc" = 0
check "no sanitizer report in batond's log" no_match 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$tmp/batond.log"
if grep -q '"level":"error"' "$tmp/batond.log"; then
    grep '"level":"error"' "$tmp/batond.log" | head -3 | sed 's/^/# /'
fi
tap_exit
