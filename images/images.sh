#!/usr/bin/env bash
# make images: the Debian bookworm base (images/base.sh) and the Baton image
# from operator/Dockerfile, tagged ghcr.io/baton-dev/baton:$VERSION.
#
#   images/images.sh build    base (cached by content), then the Baton image
#   images/images.sh clean    remove the images this builds and the cached
#                             base tarballs (not the engine's build cache)
#   images/images.sh tag      print the Baton image's tag
#
# Environment: VERSION (default: charts/baton/Chart.yaml appVersion),
# BATON_IMAGE (default ghcr.io/baton-dev/baton:$VERSION), IMAGE_BINARIES
# (host | source; default host when this machine is Debian bookworm, the
# image's release, so the host's `make all` binaries link against the same
# libraries; else source: built in the Dockerfile's builder stage), BATON_CACHE.
#
# Needs a Docker engine: images/dockerd.sh starts one when none answers
# (and says how to stop it). The Baton image's layers are cached by the
# engine by content (the base's tag, the Dockerfile, the binaries' bytes),
# so a build with nothing changed takes seconds (docs/images.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
version=${VERSION:-$(awk -F'"' '/^appVersion:/ {print $2}' "$top/charts/baton/Chart.yaml")}
[ -n "$version" ] || { echo "images: no appVersion in charts/baton/Chart.yaml" >&2; exit 1; }
image=${BATON_IMAGE:-ghcr.io/baton-dev/baton:$version}
buildlog=${BATON_IMAGES_LOG:-$top/build/images/build.log}
log() { printf '[images] %s\n' "$*" >&2; }

build() {
    local docker base binaries codename start
    "$here/dockerd.sh" start
    docker=$("$here/dockerd.sh" cli)
    start=$(date +%s)
    base=$("$here/base.sh")
    log "base: $base ($(( $(date +%s) - start )) s)"

    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    binaries=${IMAGE_BINARIES:-$([ "$codename" = bookworm ] && echo host || echo source)}
    case "$binaries" in
    host)
        [ "$codename" = bookworm ] ||
            log "warning: IMAGE_BINARIES=host on '$codename', not bookworm: the binaries may not find their libraries"
        log "binaries: built on this host (make all)"
        # build/plain whatever SANITIZE or BUILD the caller's make was given
        make -C "$top" --no-print-directory BUILD=build/plain SANITIZE= COVERAGE= all >/dev/null
        ;;
    source) log "binaries: built inside the image build (builder stage)" ;;
    *) log "IMAGE_BINARIES must be host or source, not '$binaries'"; exit 2 ;;
    esac

    start=$(date +%s)
    log "docker build -f operator/Dockerfile --build-arg BASE=$base --build-arg BINARIES=$binaries -t $image ."
    mkdir -p "$(dirname "$buildlog")"
    (cd "$top" && DOCKER_BUILDKIT=1 "$docker" build --progress=plain \
        -f operator/Dockerfile \
        --build-arg BASE="$base" --build-arg BINARIES="$binaries" \
        --label dev.baton.version="$version" --label dev.baton.base="$base" \
        --label dev.baton.binaries="$binaries" \
        -t "$image" .) >"$buildlog" 2>&1 || {
        log "docker build failed; the end of $buildlog:"
        tail -30 "$buildlog" >&2
        exit 1
    }
    log "built $image in $(( $(date +%s) - start )) s (log $buildlog)"
    log "size: $image ($("$docker" image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"
    echo "$image"
}

clean() {
    local docker base
    docker=$("$here/dockerd.sh" cli)
    if "$docker" info >/dev/null 2>&1; then
        for ref in "$image" $("$docker" image ls --format '{{.Repository}}:{{.Tag}}' baton-base); do
            "$docker" image rm "$ref" >/dev/null 2>&1 && log "removed $ref" || true
        done
    else
        log "no Docker engine answers: images left as they are"
    fi
    base=${BATON_CACHE:-$HOME/.cache/baton}/images
    if ls "$base"/base-*.tar >/dev/null 2>&1; then
        rm -f "$base"/base-*.tar
        log "removed the cached base tarballs in $base"
    fi
}

case "${1:-}" in
build) build ;;
clean) clean ;;
tag) echo "$image" ;;
*) echo "usage: images/images.sh build|clean|tag" >&2; exit 2 ;;
esac
