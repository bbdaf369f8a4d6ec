#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (tests/fuzz/fuzz_*.c; docs/fuzz.md).
#
#   tests/fuzz/run.sh smoke SECONDS [TARGET...]   `make fuzz-smoke`
#   tests/fuzz/run.sh long SECONDS [TARGET...]    `make fuzz`
#
# Each target is built on its own (`make build/fuzz/fuzz_T`: a target that
# does not build fails alone) and run for SECONDS with its checked-in seeds
# copied to a work directory: nothing is ever written into tests/fuzz/.
# smoke: a fresh temporary corpus per run, removed afterwards. long: the
# corpus grows in build/fuzz/corpus/T across runs. Crashes are written to
# build/fuzz/artifacts/T/. Everything runs under `nice -n 19` (the machine
# may be running timing-sensitive drills).
#
# Prints one line per target and, last, exactly one summary line,
# "fuzz: N passed, M failed"; exits non-zero if anything failed or if no
# target ran.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

mode=${1:?usage: run.sh smoke|long SECONDS [TARGET...]}
secs=${2:?usage: run.sh smoke|long SECONDS [TARGET...]}
shift 2
case $mode in smoke | long) ;; *)
	echo "run.sh: mode is smoke or long, not '$mode'" >&2
	exit 2
	;;
esac
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || {
	echo "run.sh: SECONDS must be a positive integer, not '$secs'" >&2
	exit 2
}

if [ $# -gt 0 ]; then
	targets=("$@")
else
	targets=()
	for f in tests/fuzz/fuzz_*.c; do
		[ -e "$f" ] || continue
		t=${f#tests/fuzz/fuzz_}
		targets+=("${t%.c}")
	done
fi

out=build/fuzz
mkdir -p "$out/logs" "$out/artifacts"
# the targets' scratch files (TMPDIR), removed even when an input aborts
tmp=$(mktemp -d /tmp/baton-fuzz.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

passed=0 failed=0
start=$SECONDS
for t in "${targets[@]}"; do
	bin=$out/fuzz_$t
	log=$out/logs/$t.log
	if ! nice -n 19 make --no-print-directory -j1 "$bin" >"$log" 2>&1; then
		echo "fuzz_$t: FAILED to build (log: $log)"
		grep -E 'error|undefined reference|No rule' "$log" | head -n 10
		failed=$((failed + 1))
		continue
	fi
	if [ "$mode" = smoke ]; then
		corpus=$tmp/corpus/$t
	else
		corpus=$out/corpus/$t
	fi
	mkdir -p "$corpus" "$out/artifacts/$t"
	if [ -d "tests/fuzz/corpus/$t" ]; then
		cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
	fi
	# stdin from /dev/null: a kubeconfig naming /dev/stdin as its CA file
	# must not wait for a terminal
	TMPDIR=$tmp nice -n 19 "$bin" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t/" "$corpus" \
		</dev/null >>"$log" 2>&1
	st=$?
	# libFuzzer's last "#N DONE cov: C ft: F corp: ..." and exec/s
	stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 |
		sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+cov: ([0-9]+) ft: ([0-9]+) corp: ([0-9]+).*exec\/s: ([0-9]+).*/\1 execs, cov \2, ft \3, corpus \4, \5 exec\/s/')
	if [ "$st" -eq 0 ] && [ -n "$stats" ]; then
		echo "fuzz_$t: ok ($stats)"
		passed=$((passed + 1))
	else
		echo "fuzz_$t: FAILED (exit $st; log: $log, inputs: $out/artifacts/$t/)"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z_]+: invariant)|runtime error' "$log" | head -n 5
		failed=$((failed + 1))
	fi
done

echo "fuzz-$mode took $((SECONDS - start))s"
echo "fuzz: $passed passed, $failed failed"
[ $((passed + failed)) -gt 0 ] || {
	echo "fuzz: no target ran" >&2
	exit 1
}
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
