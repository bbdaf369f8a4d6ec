#!/usr/bin/env bash
# Benchmark: how long one batond takes to bring N DatabaseClusters to
# status.observedGeneration == metadata.generation, and its RSS idle and at N
# objects. Prints numbers; asserts nothing about time.
#
#   tests/bench/bench-batond.sh [N]     (default 1000; optimised build)
#
# BATON_BENCH_BUILD picks the build directory (default build/plain; always
# built without sanitizers). BATON_BENCH_BATOND_ARGS adds batond flags, e.g.
# "--kube-qps 50 --kube-burst 100" for the client limit before issue 20.
# It also prints the API writes per database (batond's
# baton_kube_requests_total) until convergence and over a steady minute
# after it (BATON_BENCH_STEADY_S), and the load average.
# BATON_BENCH_WRAP runs batond under a command (e.g. "heaptrack -o FILE"
# for where its heap goes; the RSS printed is then the wrapper's process).
# BATON_BENCH_SMAPS=1 prints the settled RSS by mapping (heap, libraries,
# thread arenas). BATON_BENCH_RESTART=1 then stops batond (TERM, by pid), starts it again on
# the same Raft directory, and prints its peak RSS (VmHWM) during the
# re-list, its RSS once steady, and the seconds until steady.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-1000}
build=${BATON_BENCH_BUILD:-build/plain}
cd "$top" || exit 1
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
# two ClusterIP Services per database: the region's default /20 holds 2,046
# databases; a /17 (RFC 2544's range, below dockerd's 198.19.128.0/17)
# holds 16,383
if [ "$n" -gt 2000 ] && [ -z "${BATON_SERVICE_CIDR:-}" ]; then
    export BATON_SERVICE_CIDR=198.19.0.0/17
fi
tests/env/regions up 1 >/dev/null
region=$(head -1 "$BATON_REGIONS_DIR/regions")
kc=(kubectl --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig")
"${kc[@]}" apply -f crds/ >/dev/null
"${kc[@]}" wait --for condition=established crd/databaseclusters.baton.dev >/dev/null
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# RSS as anonymous (the heap: what batond's objects cost) and file-backed
# (shared libraries' pages) KiB.
rss_split() { awk '/^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {printf "anon %d KiB, file %d KiB", a, f}' "/proc/$1/status"; }
# CPU seconds (user + system) the process has used so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# the same ports for a restart: the Raft configuration in --raft-dir
# names this node's address
http_port=$(port)
agent_port=$(port)
raft_port=$(port)
# GNUTLS_NO_IMPLICIT_INIT=1 as the chart sets it (templates/statefulset.yaml:
# GnuTLS is loaded through libcurl, never used, ~0.7 MiB when initialised);
# GNUTLS_NO_IMPLICIT_INIT=0 in the environment measures without it.
start_batond() {
    GNUTLS_NO_IMPLICIT_INIT=${GNUTLS_NO_IMPLICIT_INIT:-1} ${BATON_BENCH_WRAP:-} "$build/bin/batond" --region "$region" --kubeconfig "$BATON_REGIONS_DIR/$region/admin.kubeconfig" \
        --http-bind "127.0.0.1:$http_port" --agent-api-bind "127.0.0.1:$agent_port" --raft-dir "$work/raft" --raft-bind "127.0.0.1:$raft_port" \
        --log-level warn ${BATON_BENCH_BATOND_ARGS:-} 2>> "$work/batond.log" &
    bpid=$!
}
start_batond
# idle: once it serves /healthz (on a loaded machine 3 s after the exec
# could be before the libraries were even loaded: 1.7 MiB), then 3 s more
for _ in $(seq 60); do
    curl -sf "127.0.0.1:$http_port/healthz" >/dev/null && break
    sleep 0.5
done
sleep 3
echo "load average at the start: $(cat /proc/loadavg)"
idle=$(rss "$bpid")
echo "batond RSS idle: ${idle} KiB ($(rss_split "$bpid"))"

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
echo "batond RSS at $n objects: $(rss "$bpid") KiB ($(rss_split "$bpid"))"
# batond's own view of its API traffic (baton_kube_requests_total): how
# many requests converging took, and their mean rate against the limit.
curl -s "127.0.0.1:$http_port/metrics" > "$work/metrics.txt"
# writes: every verb that is not a read (APPLY, PATCH, POST for Events,
# PUT, DELETE), per verb and per database, from a metrics file minus an
# earlier one (/dev/null: since the start).
writes() { # label now-file before-file
    awk -v n="$n" -v what="$1" -v region="$region" '
        /^baton_kube_requests_total\{/ && index($0, "api_region=\"" region "\"") {
            split($0, a, "verb=\""); split(a[2], v, "\""); split($0, c, "code=\""); split(c[2], k, "\"")
            key = v[1] " " k[1]
            if (FILENAME == ARGV[1]) now[key] += $NF; else before[key] += $NF
        }
        END {
            for (x in now) {
                d = now[x] - before[x]; total += d
                split(x, vk, " ")
                if (vk[1] != "GET" && vk[1] != "LIST" && vk[1] != "WATCH") { w += d; wv[vk[1]] += d }
                if (d > 0) printf "  %-12s %d\n", x, d
            }
            printf "API writes per database, %s: %.2f (%d writes, %d requests in all)\n", what, w / n, w, total
            for (x in wv) printf "  %-6s %.2f per database\n", x, wv[x] / n
        }' "$2" "$3"
}
writes "until converged" "$work/metrics.txt" /dev/null
awk -v secs="$(echo "$end - $start" | bc)" -v region="$region" '
    /^baton_kube_requests_total\{/ && index($0, "api_region=\"" region "\"") { total += $NF }
    END { printf "kube requests until converged: %.1f/s over %.1f s\n", total / secs, secs }' "$work/metrics.txt"
grep '^baton_kube_request_duration_seconds_\(sum\|count\)' "$work/metrics.txt" | grep "api_region=\"$region\"" |
    awk '{ split($1, a, "verb=\""); split(a[2], v, "\""); if ($1 ~ /_sum/) s[v[1]] = $2; else c[v[1]] = $2 }
         END { for (x in c) if (c[x] > 0) printf "  %-6s mean latency %.1f ms (%d)\n", x, 1000 * s[x] / c[x], c[x] }'
sleep 10
echo "reconciles after settling 10 s (should not grow):"
curl -s "127.0.0.1:$http_port/metrics" | grep '^baton_reconciles_total'
c0=$(cpu "$bpid")
sleep 10
curl -s "127.0.0.1:$http_port/metrics" | grep '^baton_reconciles_total'
echo "batond CPU while idle at $n objects: $(echo "($(cpu "$bpid") - $c0) * 10" | bc) % of one core (10 s)"
echo "batond RSS settled at $n objects: $(rss "$bpid") KiB ($(rss_split "$bpid"))"
# BATON_BENCH_SMAPS=1: where the settled RSS lives, by mapping (the heap,
# each shared library's pages, thread stacks and arenas as anon mappings)
if [ "${BATON_BENCH_SMAPS:-0}" = 1 ]; then
    echo "batond RSS by mapping (KiB, largest first; [anon] sums unnamed mappings):"
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6 ? $6 : "[anon]") }
         /^Rss:/ { rss[name] += $2 }
         END { for (m in rss) if (rss[m] > 0) printf "%8d  %s\n", rss[m], m }' "/proc/$bpid/smaps" |
        sort -rn | head -n 20
    echo "batond threads: $(ls "/proc/$bpid/task" | wc -l)"
fi
# A steady minute after convergence: nothing changed, so every write here
# is one a converged database did not need (issue 20).
curl -s "127.0.0.1:$http_port/metrics" > "$work/metrics0.txt"
sleep "${BATON_BENCH_STEADY_S:-60}"
curl -s "127.0.0.1:$http_port/metrics" > "$work/metrics1.txt"
writes "steady ${BATON_BENCH_STEADY_S:-60} s after convergence" "$work/metrics1.txt" "$work/metrics0.txt"
echo "load average at the end: $(cat /proc/loadavg)"
[ "${BATON_BENCH_RESTART:-0}" = 1 ] || exit 0

# Restart (BATON_BENCH_RESTART=1): TERM batond by its pid, start it again
# on the same Raft directory and kubeconfig, and follow its memory while
# it lists the N DatabaseClusters and their pods again: the peak resident
# size (VmHWM, the kernel's high-water mark of VmRSS), the RSS once it is
# steady, and how long until steady: /readyz answers, the work queue is
# empty, and neither the reconciles nor the API writes moved for
# BATON_BENCH_QUIET_S seconds (default 10). The seconds are the machine's
# at its load; the memory is batond's.
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }
counters() { # "reconciles+writes queue-depth" so far, "" if /metrics does not answer
    curl -sf "127.0.0.1:$http_port/metrics" | awk '
        /^baton_reconciles_total/ { t += $NF }
        /^baton_kube_requests_total/ && !/verb="(GET|LIST|WATCH)"/ { t += $NF }
        /^baton_workqueue_depth / { q = $NF }
        END { if (NR) printf "%d %d\n", t, q }'
}
echo "restart: batond RSS before TERM at $n objects: $(rss "$bpid") KiB ($(rss_split "$bpid")); load average $(cat /proc/loadavg)"
kill -TERM "$bpid"
wait "$bpid"
echo "restart: batond exited with status $? after TERM"
t0=$(date +%s.%N)
start_batond
quiet=${BATON_BENCH_QUIET_S:-10}
deadline=$((SECONDS + ${BATON_BENCH_TIMEOUT:-900}))
ready="" last="" same_since="" steady=""
peak_load=$(cut -d' ' -f1 /proc/loadavg)
while [ -z "$steady" ]; do
    if ! kill -0 "$bpid" 2>/dev/null; then
        echo "restart: batond died (peak so far $(hwm "$bpid" 2>/dev/null) KiB)" >&2
        tail -5 "$work/batond.log" >&2
        exit 1
    fi
    peak=$(hwm "$bpid")
    l=$(cut -d' ' -f1 /proc/loadavg)
    awk -v a="$l" -v b="$peak_load" 'BEGIN { exit !(a > b) }' && peak_load=$l
    if [ -z "$ready" ] && curl -sf "127.0.0.1:$http_port/readyz" >/dev/null; then
        ready=$(date +%s.%N)
        echo "restart: /readyz after $(echo "$ready - $t0" | bc) s, RSS $(rss "$bpid") KiB, peak so far $(hwm "$bpid") KiB; load average $(cat /proc/loadavg)"
    fi
    if [ -n "$ready" ]; then
        c=$(counters)
        if [ -n "$c" ] && [ "${c#* }" = 0 ] && [ "$c" = "$last" ]; then
            [ -z "$same_since" ] && same_since=$SECONDS
            [ $((SECONDS - same_since)) -ge "$quiet" ] && steady=$(date +%s.%N)
        else
            same_since="" last=$c
        fi
    fi
    if [ $SECONDS -ge $deadline ]; then
        echo "restart: not steady after ${BATON_BENCH_TIMEOUT:-900} s (peak $peak KiB)" >&2
        exit 1
    fi
    sleep 0.5
done
echo "restart: steady (queue empty, no reconcile or write for $quiet s) $(echo "$steady - $t0 - $quiet" | bc) s after the start"
echo "restart: batond peak RSS (VmHWM) during the re-list at $n objects: $(hwm "$bpid") KiB; highest 1-min load average seen $peak_load"
# what the new process sent until steady (its counters start at 0): the
# children's stamps are read at start (batond/applyseed.h), so a restart
# with nothing changed applies nothing
curl -s "127.0.0.1:$http_port/metrics" > "$work/metrics-restart.txt"
writes "from the restart until steady" "$work/metrics-restart.txt" /dev/null
echo "restart: batond RSS when steady: $(rss "$bpid") KiB ($(rss_split "$bpid")); load average $(cat /proc/loadavg)"
sleep 20
echo "restart: batond RSS settled 20 s later: $(rss "$bpid") KiB ($(rss_split "$bpid")); peak $(hwm "$bpid") KiB; load average $(cat /proc/loadavg)"
