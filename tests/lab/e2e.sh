#!/usr/bin/env bash
# make e2e: the lab up, drills 1 (kill the primary region), 2 (partition
# it), 5 (planned switchover) and 6 (heal: the old primary rejoins), each
# checked (converged, no split brain, no lost acknowledged write), then the
# lab down, also on failure or Ctrl-C. Exit 0 only if every drill passed.
#   tests/lab/e2e.sh [REPORT-DIR]
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
export BATON_LAB_DIR=${BATON_LAB_DIR:-/tmp/baton-e2e-lab}
build=${BATON_BUILD:-build/plain}
[[ $build = /* ]] || build=$top/$build
export BATON_BUILD=$build
report=${1:-$top/build/e2e-reports}/$(date -u +%Y%m%dT%H%M%SZ)
lab=$top/tests/lab/lab.sh
if ip link show batonbr0 >/dev/null 2>&1 && [ ! -f "$BATON_LAB_DIR/regions/regions" ]; then
    echo "e2e: bridge batonbr0 exists: another lab or --netns regions are up; stop them first" >&2
    exit 2
fi
trap '"$lab" down >"$report.down.log" 2>&1' EXIT
trap 'exit 130' INT TERM
mkdir -p "$report"
"$lab" up 3 >"$report/up.log" 2>&1 || { echo "e2e: the lab did not start (see $report/up.log)" >&2; tail -5 "$report/up.log" >&2; exit 1; }
"$build/bin/batonctl" drill e2e --report "$report"
rc=$?
if [ $rc = 0 ]; then echo "e2e: all drills passed (reports in $report)"; else echo "e2e: FAILED (reports in $report)" >&2; fi
exit $rc
