# Tiny TAP-style helpers for Baton's shell tests. Each check prints
# "ok - what" or "not ok - what"; tests/integration/run.sh counts them.
# A test file that prints no "ok" line at all is counted as failed.
_tap_failed=0
ok() { printf 'ok - %s\n' "$*"; }
not_ok() { printf 'not ok - %s\n' "$*"; _tap_failed=1; }
# check DESCRIPTION CMD...: ok if CMD succeeds.
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what"; printf '#   %s\n' "${out//$'\n'/$'\n#   '}"; fi
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
tap_exit() { exit $_tap_failed; }
