#!/usr/bin/env bash
# Runs Baton's integration tests against real regions it starts itself.
#
#   tests/integration/run.sh [TEST...]
#
# Starts BATON_ITEST_REGIONS (default 2) regions with tests/env/regions in a
# private directory, runs every tests/integration/test_*.sh (TAP-style "ok"/
# "not ok" lines) and every $BATON_BUILD/itests/itest_* Check binary with the
# regions' kubeconfigs in the environment, stops the regions (also on failure
# or interrupt), and prints one summary line:
#   integration: N passed, M failed
# A test file or binary that reports nothing counts as failed; zero tests in
# total is a failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BATON_BUILD:-build/san}
nregions=${BATON_ITEST_REGIONS:-3}
export BATON_REGIONS_DIR=${BATON_ITEST_DIR:-$(mktemp -d /tmp/baton-itest.XXXXXX)/regions}
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-300}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
regions=$top/tests/env/regions

cleanup() { "$regions" down >/dev/null 2>&1 || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! "$regions" up "$nregions" > "$BATON_REGIONS_DIR.up.log" 2>&1; then
    cat "$BATON_REGIONS_DIR.up.log" >&2
    echo "integration: 0 passed, 1 failed (regions did not start)"
    exit 1
fi
eval "$("$regions" env)"
# Every test region serves the DatabaseCluster API, as after `helm install`.
for r in $BATON_REGION_NAMES; do
    "$top/tests/env/bin/kubectl" --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" \
        apply -f "$top/crds/" >/dev/null &&
    # `kubectl wait` fails outright before the CRD has any status: poll
    for _ in $(seq 1 60); do
        "$top/tests/env/bin/kubectl" --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" \
            get crd databaseclusters.baton.dev \
            -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null |
            grep -qx True && break
        sleep 0.5
    done
    "$top/tests/env/bin/kubectl" --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" \
        wait --for condition=established --timeout=30s crd/databaseclusters.baton.dev >/dev/null ||
        { echo "integration: 0 passed, 1 failed (CRD install in $r)"; exit 1; }
done
export BATON_ROOT=$top BATON_BUILD=$build

tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
    shopt -s nullglob
    tests=("$top"/tests/integration/test_*.sh "$top/$build"/itests/itest_*)
fi

passed=0 failed=0
for t in "${tests[@]}"; do
    name=$(basename "$t")
    start=$SECONDS
    echo "=== $name"
    out=$(timeout "${BATON_ITEST_TIMEOUT:-900}" "$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    if [[ $name == *.sh ]]; then
        p=$(grep -c '^ok ' <<<"$out"); f=$(grep -c '^not ok ' <<<"$out")
    else
        line=$(grep -E '^[0-9]+%: Checks: [0-9]+' <<<"$out" | tail -1)
        if [ -n "$line" ]; then
            n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
            f=$(( $(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line") + $(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line") ))
            p=$((n - f))
        else
            p=0 f=0
        fi
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        echo "$name: reported no results (exit $rc)" >&2; f=1
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "$name: exit $rc with no failed check" >&2; f=1
    fi
    echo "--- $name: $p passed, $f failed ($((SECONDS - start))s)"
    passed=$((passed + p)); failed=$((failed + f))
done

echo "integration: $passed passed, $failed failed"
[ "$passed" -gt 0 ] || { echo "integration: no test ran: failing" >&2; exit 1; }
[ "$failed" -eq 0 ]
