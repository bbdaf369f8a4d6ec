#!/usr/bin/env bash
# Builds the real control-plane binaries the tests run against, from Go
# modules pinned in tests/env/{k8s,etcd,kwok,helm}/go.mod, and links them into
# tests/env/bin/.
#
# Binaries are cached outside the checkout, under
#   ${BATON_CACHE:-$HOME/.cache/baton}/bin/<module>-<hash of go.mod+go.sum>/
# so a fresh clone reuses them, and a version bump (which changes go.mod)
# rebuilds exactly the module that changed. A build that fails leaves no
# half-filled cache directory behind (it builds into a temporary directory
# and renames it into place).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${BATON_CACHE:-$HOME/.cache/baton}/bin
bin=$here/bin
mkdir -p "$cache" "$bin"
export GOFLAGS=-mod=mod CGO_ENABLED=0

log() { printf '[testenv] %s\n' "$*" >&2; }

# key MODULE_DIR: a short hash of what pins the module's versions.
key() { cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -c1-12; }

# build_module NAME DIR BUILD_FUNCTION: runs BUILD_FUNCTION OUTDIR in DIR
# unless the cache already holds this exact version.
build_module() {
    local name=$1 dir=$here/$2 fn=$3
    local k out tmp start
    k=$(key "$dir")
    out=$cache/$name-$k
    if [ -f "$out/.complete" ]; then
        log "$name: cached ($out)"
    else
        log "$name: building into $out (first time for this version: minutes)"
        start=$(date +%s)
        tmp=$(mktemp -d "$cache/.$name.XXXXXX")
        (cd "$dir" && "$fn" "$tmp") || { rm -rf "$tmp"; log "$name: build FAILED"; return 1; }
        touch "$tmp/.complete"
        rm -rf "$out"
        mv "$tmp" "$out"
        log "$name: built in $(( $(date +%s) - start ))s"
    fi
    local f
    for f in "$out"/*; do
        ln -sfn "$f" "$bin/$(basename "$f")"
    done
}

k8s_version() {
    awk '($1=="require" && $2=="k8s.io/kubernetes") {print $3; exit}
         ($1=="k8s.io/kubernetes" && $2 ~ /^v/) {print $2; exit}' "$here/k8s/go.mod"
}

build_k8s() {
    local v minor ld
    v=$(k8s_version)
    [ -n "$v" ] || { log "cannot read the k8s.io/kubernetes version from k8s/go.mod"; return 1; }
    minor=$(echo "$v" | cut -d. -f2)
    ld="-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
    ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
    GOBIN=$1 go install -ldflags "$ld" \
        k8s.io/kubernetes/cmd/kube-apiserver \
        k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler \
        k8s.io/kubernetes/cmd/kubectl
}

build_etcd() { go build -ldflags "-s -w" -o "$1/etcd" go.etcd.io/etcd/server/v3; }

build_kwok() { GOBIN=$1 go install -ldflags "-s -w" sigs.k8s.io/kwok/cmd/kwok; }

build_helm() { GOBIN=$1 go install -ldflags "-s -w" helm.sh/helm/v3/cmd/helm; }

# The mesh CRDs are data, not binaries: copied from the module cache.
build_meshcrds() {
    local istio mcs
    istio=$(go mod download -json istio.io/api | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
    mcs=$(go mod download -json sigs.k8s.io/mcs-api | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
    [ -n "$istio" ] && [ -n "$mcs" ] || return 1
    cp "$istio/kubernetes/customresourcedefinitions.gen.yaml" "$1/istio-crds.yaml"
    cp "$mcs"/config/crd/multicluster.x-k8s.io_service*.yaml "$1/"
    chmod 644 "$1"/*.yaml
}

build_module etcd etcd build_etcd
build_module meshcrds meshcrds build_meshcrds
build_module kwok kwok build_kwok
build_module helm helm build_helm
build_module k8s k8s build_k8s
log "binaries in $bin: $(ls "$bin" | tr '\n' ' ')"
