#!/usr/bin/env bash
# Benchmark: how long one batond takes to bring N DatabaseClusters to
# status.observedGeneration == metadata.generation, and its RSS idle and at N
# objects. Prints numbers; asserts nothing about time.
#
#   tests/bench/bench-batond.sh [N]     (default 1000; optimised build)
#
# BATON_BENCH_BUILD picks the build directory (default build/plain; always
# built without sanitizers).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000}
build=${BATON_BENCH_BUILD:-build/plain}
cd "$top"
make --no-print-directory -j2 BUILD="$build" SANITIZE= "$build/bin/batond" >/dev/null || exit 1
export PATH=$top/tests/env/bin:$PATH
work=$(mktemp -d /tmp/baton-bench.XXXXXX)
export BATON_REGIONS_DIR=$work/regions
bpid=""
cleanup() {
    [ -n "$bpid" ] && kill -TERM "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
    tests/env/regions down >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
tests/env/regions up 1 >/dev/null
region=$(head -1 "$BATON_REGIONS_DIR/regions")
kc=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig")
"${kc[@]}" apply -f crds/ >/dev/null
"${kc[@]}" wait --for condition=established crd/databaseclusters.baton.dev >/dev/null
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# CPU seconds (user + system) the process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http_port=$(port)
"$build/bin/batond" --region "$region" --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig" \
    --http-bind "127.0.0.1:$http_port" --agent-api-bind "127.0.0.1:$(port)" --raft-dir "$work/raft" --raft-bind "127.0.0.1:$(port)" \
    --log-level warn 2> "$work/batond.log" &
bpid=$!
sleep 3
idle=$(rss "$bpid")
echo "batond RSS idle: ${idle} KiB"

python3 - "$n" "$region" > "$work/dbcs.yaml" <<'PY'
import sys
n, region = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    print(f"""---
apiVersion: baton.dev/v1alpha1
kind: DatabaseCluster
metadata: {{name: db-{i:04d}, namespace: default}}
spec:
  regions: [{{name: {region}}}]
  primaryRegion: {region}
  failover: {{mode: manual, synchronous: false}}""")
PY
start=$(date +%s.%N)
"${kc[@]}" apply -f "$work/dbcs.yaml" >/dev/null || { echo "apply failed" >&2; exit 1; }
applied=$(date +%s.%N)
deadline=$((SECONDS + ${BATON_BENCH_TIMEOUT:-900}))
while :; do
    done_n=$("${kc[@]}" get dbc -o jsonpath='{range .items[*]}{.metadata.generation}={.status.observedGeneration}{"\n"}{end}' |
        awk -F= '$1 == $2' | wc -l)
    [ "$done_n" -ge "$n" ] && break
    if [ $SECONDS -ge $deadline ]; then
        echo "only $done_n of $n at observedGeneration = generation after ${BATON_BENCH_TIMEOUT:-900} s" >&2
        tail -5 "$work/batond.log" >&2
        exit 1
    fi
    sleep 1
done
end=$(date +%s.%N)
echo "DatabaseClusters: $n"
echo "kubectl apply of all: $(echo "$applied - $start" | bc) s"
echo "all at observedGeneration = generation: $(echo "$end - $start" | bc) s after the first create"
echo "batond RSS at $n objects: $(rss "$bpid") KiB"
sleep 10
echo "reconciles after settling 10 s (should not grow):"
curl -s "127.0.0.1:$http_port/metrics" | grep '^baton_reconciles_total'
c0=$(cpu "$bpid")
sleep 10
curl -s "127.0.0.1:$http_port/metrics" | grep '^baton_reconciles_total'
echo "batond CPU while idle at $n objects: $(echo "($(cpu "$bpid") - $c0) * 10" | bc) % of one core (10 s)"
echo "batond RSS settled at $n objects: $(rss "$bpid") KiB"
