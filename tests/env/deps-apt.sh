#!/usr/bin/env bash
# Installs the Debian packages Baton builds and tests with. Idempotent: when
# every package is already installed it touches nothing (no apt-get update).
set -euo pipefail
pkgs=(
    build-essential pkg-config autoconf automake libtool dpkg-dev patch
    libuv1-dev libjansson-dev libssl-dev libyaml-dev
    # libcurl is built from source, static (operator/kube/build-curl.sh):
    # the libraries it links dynamically
    libnghttp2-dev zlib1g-dev
    liblz4-dev libhttp-parser-dev libpq-dev check postgresql-server-dev-15
    postgresql postgresql-contrib
    iproute2 nftables openssl curl procps psmisc
    clang-format cppcheck valgrind shellcheck
    # promtool for make lint and test_http_promtool (the prometheus
    # server in it is installed, never started)
    prometheus
    iptables libnetfilter-queue-dev
    clang libclang-rt-14-dev
    # make images / images-smoke (docs/images.md); installed, never started
    # by make deps: no init system here, images/dockerd.sh starts dockerd
    docker.io debootstrap jq
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "[deps] all ${#pkgs[@]} Debian packages present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "[deps] missing packages (${missing[*]}); run as root or install them" >&2
    exit 1
fi
echo "[deps] installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[deps] installed ${#missing[@]} packages"
