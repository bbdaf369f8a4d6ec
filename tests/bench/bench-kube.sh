#!/usr/bin/env bash
# bench-kube — the Kubernetes client's numbers (issue 3): watch events decoded
# into the informer cache per second, and RSS per cached object.
#
#   tests/bench/bench-kube.sh [pure|server]     (default: both)
#
# Builds the optimised helper (build/plain/tests/helpers/bench_kube), runs the
# in-memory decode benchmark, then starts one region with tests/env/regions in
# a private directory, runs the server benchmark against it (10,000
# ConfigMaps; BENCH_KUBE_OBJECTS overrides) and stops the region again, also
# on failure or interrupt. Prints numbers; the goals (>= 20,000 events/s on
# one core, <= 2 KiB per cached object beyond its JSON) are for the reader,
# nothing here asserts timings. Exit status non-zero only if something broke.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
what=${1:-all}
case $what in all|pure|server) ;; *) echo "usage: $0 [pure|server]" >&2; exit 2 ;; esac

make --no-print-directory -j2 SANITIZE= build/plain/tests/helpers/bench_kube >&2
bench=$top/build/plain/tests/helpers/bench_kube

echo "bench-kube: $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || true)," \
     "$(nproc) CPUs, $(uname -m)"

if [ "$what" != server ]; then
    "$bench" pure "${BENCH_KUBE_EVENTS:-100000}"
fi
[ "$what" = pure ] && exit 0

regions=$top/tests/env/regions
tmp=$(mktemp -d /tmp/baton-bench-kube.XXXXXX)
export BATON_REGIONS_DIR=$tmp/r
cleanup() {
    "$regions" down >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$regions" up 1 > "$tmp/up.log" 2>&1; then
    cat "$tmp/up.log" >&2
    echo "bench-kube: the region did not start" >&2
    exit 1
fi
eval "$("$regions" env)"
"$bench" server "${BENCH_KUBE_OBJECTS:-10000}"
