#!/usr/bin/env bash
# `make check`: dependencies (idempotent; seconds when cached), make lint
# (clang-format, cppcheck, shellcheck, helm lint --strict), unit tests
# under ASan+UBSan, every fuzz target for a few seconds (make fuzz-smoke,
# docs/fuzz.md), then integration tests on real regions. Prints one
# closing line, "check: N passed, M failed", and fails if anything failed
# or if no test ran.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
start=$SECONDS
log=$(mktemp -d /tmp/baton-check.XXXXXX)

echo "== deps"
make --no-print-directory deps 2>&1 | tail -n 20 || { echo "check: 0 passed, 1 failed (make deps)"; exit 1; }

echo "== build (optimised, -Werror)"
if ! make --no-print-directory -j2 all > "$log/build.log" 2>&1; then
    grep -E 'error|Error' "$log/build.log" | head -n 30
    echo "check: 0 passed, 1 failed (make all)"
    exit 1
fi

total_p=0 total_f=0 rc=0
stage() { # stage NAME CMD...: run, echo output, add its "NAME: N passed, M failed" line
    local name=$1 line p f
    shift
    echo "== $name"
    "$@" 2>&1 | tee "$log/$name.log"
    local st=${PIPESTATUS[0]}
    line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log/$name.log" | tail -1)
    if [ -z "$line" ]; then
        echo "$name: produced no summary (exit $st)" >&2
        total_f=$((total_f + 1)); rc=1; return
    fi
    p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$line")
    total_p=$((total_p + p)); total_f=$((total_f + f))
    if [ "$st" -ne 0 ]; then rc=1; [ "$f" -eq 0 ] && total_f=$((total_f + 1)); fi
}

# make lint prints "lint: ok" or what failed; counted as one check
lint() {
    if make --no-print-directory lint; then echo "lint: 1 passed, 0 failed"
    else echo "lint: 0 passed, 1 failed"; return 1; fi
}

stage lint lint
stage unit make --no-print-directory unit
stage fuzz make --no-print-directory fuzz-smoke
stage integration make --no-print-directory integration

# What failed, again at the end: a CI report shows the tail of a long
# output, and the first failure may be thousands of lines up.
if [ "$total_f" -gt 0 ] || [ "$rc" -ne 0 ]; then
    echo "== failures"
    grep -hE -A4 '^not ok|:[0-9]+:[FE]:|produced no summary|^--- .*: [0-9]+ passed, [1-9][0-9]* failed' "$log"/*.log 2>/dev/null |
        cut -c1-300 | head -n 80
fi
rm -rf "$log"
echo "== done in $((SECONDS - start))s"
echo "check: $total_p passed, $total_f failed"
[ "$total_p" -gt 0 ] || { echo "check: no test ran" >&2; exit 1; }
[ "$rc" -eq 0 ] && [ "$total_f" -eq 0 ]
