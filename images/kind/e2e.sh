#!/usr/bin/env bash
# make kind-e2e: the product on real kubelets, checked end to end (issue 17
# item 5). The kind lab up (node image and Baton image built or reused from
# their caches, three kind clusters, `helm install` per region, the example
# DatabaseCluster applied, every region Healthy), `helm test` in every
# region, then the drills (default: kill-region, partition, kill-batond,
# switchover; KIND_E2E_DRILLS to choose), each checked by drill.sh
# (converged, no split brain, no lost acknowledged write); then the kind
# lab down, also on failure or Ctrl-C (KIND_E2E_KEEP=1 leaves it up).
# Exit 0 only if every step passed. Never part of `make check`: a cold
# node image takes ~40 min on 2 cores (docs/kind.md).
#   images/kind/e2e.sh [REPORT-DIR]
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
state=${BATON_KIND_LAB:-$top/build/kind-lab}
build=${BATON_BUILD:-build/plain}
[[ $build = /* ]] || build=$top/$build
drills=${KIND_E2E_DRILLS:-kill-region partition kill-batond switchover}
report=${1:-$top/build/kind-e2e}/$(date -u +%Y%m%dT%H%M%SZ)
regions=(eu-west us-east ap-south)

say() { printf '[kind-e2e] %s\n' "$*" >&2; }
failed=()

if [ -s "$state/clusters.created" ]; then
    say "a kind lab is up already ($state/clusters.created): 'make kind-lab-down' first"
    exit 2
fi
if [ -f "$top/tests/lab/run/regions/regions" ]; then
    say "the network-namespace lab is up (tests/lab/run): 'make lab-down' first (drills would pick it)"
    exit 2
fi

down() {
    if [ "${KIND_E2E_KEEP:-0}" = 1 ]; then
        say "KIND_E2E_KEEP=1: the kind lab stays up ('make kind-lab-down' stops it)"
        return
    fi
    "$here/lab.sh" down >"$report/down.log" 2>&1 || say "kind-lab down failed (see $report/down.log)"
}
mkdir -p "$report"
trap down EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
say "kind lab up (log: $report/up.log)"
if ! "$here/lab.sh" up >"$report/up.log" 2>&1; then
    say "the kind lab did not come up:"
    tail -15 "$report/up.log" >&2
    exit 1
fi
say "kind lab up in $(($(date +%s) - t0)) s"

helm=$top/tests/env/bin/helm
kubectl=$("$here/build-bins.sh" path k8s-node)/kubectl
for r in "${regions[@]}"; do
    if "$helm" --kubeconfig "$state/$r.kubeconfig" test baton -n baton-system --timeout 180s \
        >"$report/helm-test-$r.log" 2>&1; then
        say "$r: helm test passed"
    else
        say "$r: helm test FAILED (see $report/helm-test-$r.log)"
        failed+=("helm-test-$r")
    fi
    "$kubectl" --kubeconfig "$state/$r.kubeconfig" get pods -A -o wide >"$report/pods-$r.txt" 2>&1 || true
done

for s in $drills; do
    say "drill $s"
    if BATON_BUILD=$build "$build/bin/batonctl" drill "$s" --lab kind --report "$report" \
        >"$report/drill-$s.log" 2>&1; then
        say "drill $s passed"
    else
        say "drill $s FAILED (see $report/drill-$s.log)"
        tail -5 "$report/drill-$s.log" >&2
        failed+=("drill-$s")
    fi
done

say "reports in $report ($(($(date +%s) - t0)) s in all)"
if [ ${#failed[@]} -gt 0 ]; then
    say "FAILED: ${failed[*]}"
    exit 1
fi
say "every step passed"
exit 0
