#!/usr/bin/env bash
# Benchmark (issue 20): batond beside a minimal controller-runtime operator
# doing the same per-DatabaseCluster work (tests/bench/operators/main.go),
# one after the other, each on a fresh one-region control plane
# (tests/env/regions up 1). For each size N it prints, per operator: seconds
# until every DatabaseCluster has status.observedGeneration ==
# metadata.generation (from the first create), RSS idle and at N, CPU
# seconds used until then, API writes (batond: baton_kube_requests_total;
# the Go operator: client-go's rest_client_requests_total), the load
# average seen during the run; then the ratios. Prints numbers; asserts
# nothing about time.
#
#   tests/bench/bench-operators.sh [N ...]     (default: 200 1000)
#
# BATON_BENCH_BUILD picks batond's build directory (default build/plain,
# never sanitized); BATON_BENCH_BATOND_ARGS and BATON_BENCH_CR_ARGS add
# flags (e.g. "--max-concurrent-reconciles 4" for the Go operator, whose
# default is controller-runtime's: 1); BATON_BENCH_TIMEOUT (default 900 s)
# bounds one convergence. BATON_BENCH_KEEP=DIR keeps each run's operator
# metrics and log and the API server's /metrics (writes by resource)
# there. BATON_BENCH_ORDER="controller-runtime batond" runs the Go operator first at each size (the load of a shared machine
# drifts; the order is one way to see how much). batond is started as tests/bench/bench-batond.sh
# starts it. The operators and the control plane run at the script's own
# priority: make bench-operators runs it under nice -n 10 (a shared machine).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
sizes=${*:-200 1000}
build=${BATON_BENCH_BUILD:-build/plain}
timeout=${BATON_BENCH_TIMEOUT:-900}
cd "$top" || exit 1
nice -n 10 make --no-print-directory -j2 BUILD="$build" SANITIZE= "$build/bin/batond" >/dev/null || exit 1
[ -x tests/env/bin/kube-apiserver ] || nice -n 10 tests/env/build.sh || exit 1
cr=$(tests/bench/operators/build.sh) || exit 1
export PATH=$top/tests/env/bin:$PATH
work=$(mktemp -d /tmp/baton-bench-ops.XXXXXX)
export BATON_REGIONS_DIR=$work/regions
opid=""
up=""
stop_operator() {
    if [ -n "$opid" ]; then
        kill -TERM "$opid" 2>/dev/null && wait "$opid" 2>/dev/null
        opid=""
    fi
}
region_down() {
    [ -n "$up" ] && tests/env/regions down >/dev/null 2>&1
    up=""
}
cleanup() {
    stop_operator
    region_down
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# CPU seconds (user + system) the process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# writes OPERATOR METRICS_FILE REGION: the operator's API writes so far
# (every verb but GET, LIST and WATCH; client-go counts LIST and WATCH as GET).
writes() {
    if [ "$1" = batond ]; then
        awk -v region="$3" '/^baton_kube_requests_total\{/ && index($0, "api_region=\"" region "\"") {
                split($0, a, "verb=\""); split(a[2], v, "\"")
                if (v[1] != "GET" && v[1] != "LIST" && v[1] != "WATCH") w += $NF
            } END { printf "%d\n", w }' "$2"
    else
        awk '/^rest_client_requests_total\{/ {
                split($0, a, "method=\""); split(a[2], m, "\"")
                if (m[1] != "GET") w += $NF
            } END { printf "%d\n", w }' "$2"
    fi
}

# run OPERATOR N: one convergence on a fresh region; appends a line to
# $work/results: operator n seconds rss_idle_kib rss_n_kib cpu_s writes load_min load_max
run() {
    local op=$1 n=$2 region kc mport start applied end done_n deadline idle lmin lmax l
    tests/env/regions up 1 >"$work/regions-up.log" 2>&1 || {
        echo "regions up failed:" >&2
        tail -5 "$work/regions-up.log" >&2
        return 1
    }
    up=1
    region=$(head -1 "$BATON_REGIONS_DIR/regions")
    kc=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig")
    "${kc[@]}" apply -f crds/ >/dev/null || return 1
    "${kc[@]}" wait --for condition=established crd/databaseclusters.baton.dev >/dev/null || return 1
    mport=$(port)
    rm -rf "$work/raft"
    if [ "$op" = batond ]; then
        # as tests/bench/bench-batond.sh starts it
        GNUTLS_NO_IMPLICIT_INIT=${GNUTLS_NO_IMPLICIT_INIT:-1} "$build/bin/batond" --region "$region" \
            --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig" \
            --http-bind "127.0.0.1:$mport" --agent-api-bind "127.0.0.1:$(port)" \
            --raft-dir "$work/raft" --raft-bind "127.0.0.1:$(port)" \
            --log-level warn ${BATON_BENCH_BATOND_ARGS:-} 2>"$work/$op-$n.log" &
    else
        KUBECONFIG=$BATON_REGIONS_DIR/$region/admin.kubeconfig "$cr" \
            --region "$region" --metrics-bind "127.0.0.1:$mport" \
            --batond-url "http://127.0.0.1:$(port)" ${BATON_BENCH_CR_ARGS:-} 2>"$work/$op-$n.log" &
    fi
    opid=$!
    for _ in $(seq 1 100); do
        curl -sf "127.0.0.1:$mport/metrics" >/dev/null && break
        sleep 0.1
    done
    sleep 3
    idle=$(rss "$opid")

    python3 - "$n" "$region" >"$work/dbcs.yaml" <<'PY'
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
    lmin=$(load1)
    lmax=$lmin
    start=$(date +%s.%N)
    "${kc[@]}" apply -f "$work/dbcs.yaml" >/dev/null || { echo "apply failed" >&2; return 1; }
    applied=$(date +%s.%N)
    deadline=$((SECONDS + timeout))
    while :; do
        done_n=$("${kc[@]}" get dbc -o jsonpath='{range .items[*]}{.metadata.generation}={.status.observedGeneration}{"\n"}{end}' |
            awk -F= '$1 == $2' | wc -l)
        l=$(load1)
        lmin=$(echo "$l $lmin" | awk '{print ($1 < $2) ? $1 : $2}')
        lmax=$(echo "$l $lmax" | awk '{print ($1 > $2) ? $1 : $2}')
        [ "$done_n" -ge "$n" ] && break
        if [ $SECONDS -ge $deadline ]; then
            echo "$op: only $done_n of $n at observedGeneration = generation after $timeout s" >&2
            tail -5 "$work/$op-$n.log" >&2
            return 1
        fi
        sleep 1
    done
    end=$(date +%s.%N)
    curl -s "127.0.0.1:$mport/metrics" >"$work/metrics.txt"
    if [ -n "${BATON_BENCH_KEEP:-}" ]; then
        # what each write was: the API server's counts by resource
        mkdir -p "$BATON_BENCH_KEEP"
        cp "$work/metrics.txt" "$BATON_BENCH_KEEP/$op-$n.metrics"
        cp "$work/$op-$n.log" "$BATON_BENCH_KEEP/$op-$n.log"
        "${kc[@]}" get --raw /metrics >"$BATON_BENCH_KEEP/$op-$n.apiserver" || true
    fi
    printf '%s %d %.1f %d %d %s %d %s %s\n' "$op" "$n" "$(echo "$end - $start" | bc)" "$idle" \
        "$(rss "$opid")" "$(cpu "$opid")" "$(writes "$op" "$work/metrics.txt" "$region")" \
        "$lmin" "$lmax" >>"$work/results"
    echo "  result: $(tail -1 "$work/results")" >&2
    echo "  $op N=$n: kubectl apply $(echo "$applied - $start" | bc | cut -c1-5) s, converged $(echo "$end - $start" | bc | cut -c1-6) s after the first create" >&2
    stop_operator
    region_down
}

echo "batond: $build/bin/batond; controller-runtime: $cr"
echo "sizes: $sizes; $(nproc) CPUs; load average before: $(cat /proc/loadavg)"
# A run that fails (timeout, a region that does not come up) is reported
# and skipped: the sizes measured so far still make the table.
for n in $sizes; do
    for op in ${BATON_BENCH_ORDER:-batond controller-runtime}; do
        if ! run "$op" "$n"; then
            echo "  $op N=$n: FAILED (see above); skipped" >&2
            stop_operator
            region_down
        fi
    done
done
[ -s "$work/results" ] || exit 1

echo
awk '
    { op[NR] = $1; n[NR] = $2; s[NR] = $3; idle[NR] = $4; rss[NR] = $5; cpu[NR] = $6; w[NR] = $7; lo[NR] = $8; hi[NR] = $9 }
    END {
        printf "%-18s %6s %10s %10s %10s %7s %8s %8s %11s\n", "operator", "N", "converge s", "RSS idle", "RSS at N", "CPU s", "writes", "writes/N", "load1"
        for (i = 1; i <= NR; i++)
            printf "%-18s %6d %10.1f %6.1f MiB %6.1f MiB %7.1f %8d %8.2f %5.1f-%-5.1f\n", op[i], n[i], s[i], idle[i] / 1024, rss[i] / 1024, cpu[i], w[i], w[i] / n[i], lo[i], hi[i]
        print ""
        # each batond run beside the run of the other operator at the same
        # size in the same round (sizes may repeat: "200 1000 200 1000")
        for (i = 1; i <= NR; i++) {
            if (op[i] != "batond") continue
            for (j = 1; j <= NR; j++) {
                if (op[j] == "batond" || n[j] != n[i] || used[j]) continue
                used[j] = 1
                printf "N=%d: batond converges %.2fx as fast (%.1f s vs %.1f s); its RSS at N is %.2f of the other'"'"'s (idle %.2f); CPU %.2f; writes %.2f\n", \
                    n[i], s[j] / s[i], s[i], s[j], rss[i] / rss[j], idle[i] / idle[j], cpu[i] / cpu[j], w[i] / w[j]
                break
            }
        }
    }' "$work/results"
echo "load average after: $(cat /proc/loadavg)"
