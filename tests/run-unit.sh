#!/usr/bin/env bash
# Runs every Check unit-test binary in DIR and prints one summary line:
#   unit: N passed, M failed
# Exits non-zero if a binary fails, crashes, or if no test ran at all (an
# empty run is a broken build, never a pass).
set -uo pipefail
dir=${1:?usage: run-unit.sh BUILD_DIR/tests}
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-60}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0 bad_bins=()
shopt -s nullglob
for t in "$dir"/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -vE '^Running suite' 
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: [0-9]+' | tail -1)
    if [ -z "$line" ]; then
        echo "$(basename "$t"): no Check summary (exit $rc)" >&2
        failed=$((failed + 1)); bad_bins+=("$(basename "$t")"); continue
    fi
    n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
    f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
    e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + n - f - e)); failed=$((failed + f + e))
    if [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then
        echo "$(basename "$t"): exit $rc with no failed check (sanitizer?)" >&2
        failed=$((failed + 1)); bad_bins+=("$(basename "$t")")
    fi
done
[ ${#bad_bins[@]} -gt 0 ] && echo "broken test binaries: ${bad_bins[*]}" >&2
echo "unit: $passed passed, $failed failed"
[ "$passed" -gt 0 ] || { echo "unit: no test ran: failing" >&2; exit 1; }
[ "$failed" -eq 0 ]
