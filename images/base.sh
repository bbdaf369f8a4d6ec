#!/usr/bin/env bash
# The Debian bookworm base image, made here: nothing can be pulled on these
# machines (../shared/research/containers.md), so the Baton image builds
# FROM this one instead of debian:bookworm-slim (operator/Dockerfile, BASE).
#
#   images/base.sh          prints the tag, building the image if missing
#   images/base.sh --tag    prints the tag only
#
# debootstrap --variant=minbase makes the root filesystem from Debian's
# packages (apt, dpkg, bash, coreutils: what -slim holds), configured the
# way the official image is (security sources, no apt caches, no
# recommends, no documentation in later installs, services never started by
# package scripts);
# `docker import` turns its tarball into an image.
#
# Cached by content: the tag is baton-base:bookworm-<hash of this file and
# the mirror>, so the image is remade only when the way it is made changes.
# The tarball is kept in $BATON_CACHE/images/, outside the checkout, so an
# engine that lost its images re-imports in seconds instead of running
# debootstrap again (3 min). Security updates do not change the tag: the
# Baton image's apt-get upgrade picks them up; `make images-clean` drops
# the cached base to start again from today's packages.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${BATON_CACHE:-$HOME/.cache/baton}/images
suite=bookworm
mirror=${DEBIAN_MIRROR:-$(grep -hoE '^URIs: *http[^ ]*/debian$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')}
mirror=${mirror:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}
id=$( { cat "$here/base.sh"; echo "$mirror $security"; } | sha256sum | cut -c1-12)
tag=baton-base:$suite-$id
log() { printf '[base] %s\n' "$*" >&2; }

if [ "${1:-}" = --tag ]; then echo "$tag"; exit 0; fi
[ $# -eq 0 ] || { echo "usage: images/base.sh [--tag]" >&2; exit 2; }
docker=$("$here/dockerd.sh" cli)

if "$docker" image inspect "$tag" >/dev/null 2>&1; then
    log "$tag: cached"
    echo "$tag"
    exit 0
fi

tarball=$cache/base-$suite-$id.tar
if [ -f "$tarball" ]; then
    log "rootfs cached in $tarball"
else
    command -v debootstrap >/dev/null || { log "no debootstrap: install it (make deps)"; exit 1; }
    [ "$(id -u)" -eq 0 ] || { log "debootstrap needs root"; exit 1; }
    mkdir -p "$cache"
    work=$(mktemp -d "$cache/.base.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    root=$work/rootfs
    log "debootstrap --variant=minbase $suite from $mirror (about 3 min)"
    start=$(date +%s)
    if ! debootstrap --variant=minbase --merged-usr "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
        log "debootstrap failed; the end of its log:"
        tail -20 "$work/debootstrap.log" >&2
        exit 1
    fi
    log "debootstrap done in $(( $(date +%s) - start )) s"

    # the official image's sources: the release, its updates, security
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    # what debuerreotype does for the official image: package scripts never
    # start services in a build, apt keeps no caches and no translations
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    echo 'APT::Install-Recommends "false";' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
    # -slim's dpkg filter: no manuals, documentation or translations
    # (copyright files stay) in anything installed later
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
DPKG
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
        "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log \
        "$root"/var/log/apt/* "$root"/var/cache/debconf/*-old
    : >"$root/etc/machine-id"
    # /dev, /proc and /sys come from the engine at run time
    tar -C "$root" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' \
        --exclude='./sys/*' -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    log "rootfs: $tarball ($(du -h "$tarball" | cut -f1))"
fi

"$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    --message "debootstrap --variant=minbase $suite ($mirror), images/base.sh $id" \
    "$tarball" "$tag" >/dev/null
log "imported $tag"
echo "$tag"
