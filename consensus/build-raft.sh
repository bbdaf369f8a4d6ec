#!/usr/bin/env bash
# Builds cowsql/raft (Debian's `raft` source package, 0.22.1-1 from trixie)
# into a prefix outside the checkout:
#   ${BATON_CACHE:-$HOME/.cache/baton}/raft-<version>/
# Bookworm ships libraft 0.15, which predates the fixes for committing
# earlier-term entries (canonical/raft #220) and two leaders in one term
# (#386); it must never be linked. The source comes through a private apt
# configuration (the machine's sources are not touched) and apt-get source
# checks it against the .dsc checksums. Our patches (consensus/raft-patches/,
# each says why) are applied on top; the prefix carries a hash of them, so
# raft is rebuilt when the version or a patch changes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
version=${RAFT_VERSION:-0.22.1-1}
cache=${BATON_CACHE:-$HOME/.cache/baton}
patches=("$here"/raft-patches/*.patch)
patch_id=$(cat "${patches[@]}" | sha256sum | cut -c1-8)
prefix=${RAFT_PREFIX:-$cache/raft-$version-$patch_id}
log() { printf '[raft] %s\n' "$*" >&2; }

# shellcheck source=tests/env/debian-source.sh
. "$here/../tests/env/debian-source.sh"
debian_build_begin raft "$version" "$prefix" "$cache"
debian_source raft "$version" trixie "$work"

for p in "${patches[@]}"; do
    log "applying $(basename "$p")"
    patch -d "$work/src/raft" -p1 --forward --quiet <"$p"
done

log "building (autotools) into $prefix"
cd "$work/src/raft"
autoreconf -i >/dev/null 2>&1
./configure --prefix="$prefix" --enable-fixture --disable-example --disable-benchmark \
    --disable-debug --disable-sanitize >/dev/null
make -j"$(nproc)" >/dev/null
rm -rf "$prefix"
make install >/dev/null
touch "$prefix/.complete"
log "raft $version installed in $prefix"
