# shellcheck shell=bash
# Sourced by consensus/build-raft.sh and operator/kube/build-curl.sh: the
# one way Baton's build fetches a Debian source package.
#
#   debian_build_begin NAME VERSION PREFIX CACHE
#
# Ends the calling script (exit 0) when PREFIX holds a complete build
# (PREFIX/.complete); else sets WORK to a new private directory under
# CACHE, removed when the script exits.
#
#   debian_source NAME VERSION SUITE WORK
#
# Fetches NAME=VERSION from SUITE through a private apt configuration
# under WORK (the machine's apt sources are not touched; DEBIAN_MIRROR, or
# the machine's Debian mirror, or deb.debian.org) and unpacks it into
# WORK/src/NAME: dpkg-source checks every file against the checksums in
# the .dsc and applies Debian's patch series. Returns 1, saying which
# version SUITE offers instead, when VERSION is not there any more (a
# point release replaced it).
debian_source() {
    local name=$1 version=$2 suite=$3 work=$4
    local mirror offered dsc
    local -a aptopts

    mkdir -p "$work/apt/lists/partial" "$work/apt/sources.list.d" "$work/src"
    mirror=${DEBIAN_MIRROR:-$(grep -hoE '^URIs: *http[^ ]*/debian$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')}
    mirror=${mirror:-http://deb.debian.org/debian}
    cat > "$work/apt/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main
SRC
    aptopts=(-o Dir::Etc::SourceList="$work/apt/sources.list"
             -o Dir::Etc::SourceParts="$work/apt/sources.list.d"
             -o Dir::State::Lists="$work/apt/lists"
             -o Dir::Cache="$work/apt/cache"
             -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)

    printf '[%s] fetching source %s=%s from %s (%s) through a private apt configuration\n' \
        "$name" "$name" "$version" "$mirror" "$suite" >&2
    apt-get "${aptopts[@]}" update -qq
    if ! (cd "$work/src" && apt-get "${aptopts[@]}" source --download-only "$name=$version" >/dev/null); then
        offered=$(apt-cache "${aptopts[@]}" showsrc "$name" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -1)
        printf '[%s] %s=%s is not in %s any more (it offers %s)\n' \
            "$name" "$name" "$version" "$suite" "${offered:-nothing}" >&2
        return 1
    fi
    dsc=$(ls "$work/src/${name}"_*.dsc)
    (cd "$work/src" && dpkg-source -x "$(basename "$dsc")" "$name" >/dev/null)
}

debian_build_begin() {
    local name=$1 version=$2 prefix=$3 cache=$4

    if [ -f "$prefix/.complete" ]; then
        printf '[%s] %s %s: cached in %s\n' "$name" "$name" "$version" "$prefix" >&2
        exit 0
    fi
    mkdir -p "$cache"
    work=$(mktemp -d "$cache/.$name-build.XXXXXX")
    trap 'rm -rf "$work"' EXIT
}
