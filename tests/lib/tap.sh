# shellcheck shell=bash
# Tiny TAP-style helpers for Baton's shell tests. Each check prints
# "ok - what" or "not ok - what"; tests/integration/run.sh counts them.
# A test file that prints no "ok" line at all is counted as failed.
_tap_failed=0
ok() { printf 'ok - %s\n' "$*"; }
not_ok() { printf 'not ok - %s\n' "$*"; _tap_failed=1; }
# check DESCRIPTION CMD...: ok if CMD succeeds (and returns CMD's success,
# so a caller can add diagnostics when it failed).
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what"; printf '#   %s\n' "${out//$'\n'/$'\n#   '}"; return 1; fi
}
# eventually TIMEOUT_S DESCRIPTION CMD...: retry CMD until it succeeds.
eventually() {
    local timeout=$1 what=$2 end out
    shift 2
    end=$((SECONDS + timeout))
    while :; do
        if out=$("$@" 2>&1); then ok "$what"; return 0; fi
        if [ $SECONDS -ge $end ]; then
            not_ok "$what (not within ${timeout}s)"; printf '#   %s\n' "${out//$'\n'/$'\n#   '}"; return 1
        fi
        sleep 0.5
    done
}
# no_match PATTERN FILE...: ok only when every FILE exists and none has a
# line matching PATTERN (grep's exit 1). A missing file, an unmatched glob
# or a grep error fails: `! grep` would have passed on them.
no_match() {
    local pat=$1 f rc
    shift
    [ $# -gt 0 ] || { echo "no files to search"; return 1; }
    for f in "$@"; do
        [ -r "$f" ] || { echo "missing or unreadable: $f"; return 1; }
    done
    grep -H -e "$pat" "$@"
    rc=$?
    [ "$rc" -eq 1 ]
}
# not_found CMD...: ok only when CMD (a kubectl get) fails saying NotFound;
# any other failure (API server down, bad kubeconfig) is not "absent".
not_found() {
    local out
    if out=$("$@" 2>&1); then echo "still there: $out"; return 1; fi
    case $out in
        *NotFound* | *"not found"*) return 0 ;;
        *) echo "failed, but not NotFound: $out"; return 1 ;;
    esac
}
tap_exit() { exit $_tap_failed; }
