#!/usr/bin/env bash
# Builds baton-bench-cr, the controller-runtime operator of
# tests/bench/bench-operators.sh, from the Go modules pinned in this
# directory's go.mod/go.sum, and prints the binary's path.
#
# Cached like the test environment's binaries (tests/env/build.sh):
#   ${BATON_CACHE:-$HOME/.cache/baton}/bin/bench-cr-<hash of go.mod, go.sum, main.go>/
# so a rerun reuses it and any change to the pins or the source rebuilds. A
# failed build leaves no half-filled cache directory behind.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${BATON_CACHE:-$HOME/.cache/baton}/bin
log() { printf '[bench-cr] %s\n' "$*" >&2; }

k=$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)
out=$cache/bench-cr-$k
if [ -f "$out/.complete" ]; then
    log "cached ($out)"
else
    log "building into $out (first time for this version: minutes)"
    mkdir -p "$cache"
    start=$(date +%s)
    tmp=$(mktemp -d "$cache/.bench-cr.XXXXXX")
    # -mod=readonly: go.sum is committed; a missing sum is an error, not a
    # silent change
    if ! (cd "$here" && CGO_ENABLED=0 GOFLAGS=-mod=readonly nice -n 10 \
        go build -ldflags "-s -w" -o "$tmp/baton-bench-cr" .); then
        rm -rf "$tmp"
        log "build FAILED"
        exit 1
    fi
    touch "$tmp/.complete"
    rm -rf "$out"
    mv "$tmp" "$out"
    log "built in $(($(date +%s) - start))s"
fi
echo "$out/baton-bench-cr"
