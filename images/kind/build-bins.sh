#!/usr/bin/env bash
# Builds, from Go modules, every binary the kind node image and the kind lab
# need, and caches each set by what pins its versions:
#
#   $BATON_CACHE/kind/bin/<name>-<hash>/    (BATON_CACHE: ~/.cache/baton)
#
#   k8s-node   kubelet, kubeadm, kube-proxy (+ kubectl and the control-plane
#              binaries, linked from tests/env's cache or built here) from
#              k8s.io/kubernetes, pinned by tests/env/k8s/go.mod: the same
#              v1.34.x as the test environment's API server
#   pause      registry.k8s.io/pause's pause.c, from the k8s.io/kubernetes
#              module (build/pause/linux/pause.c), static, gcc
#   <module>   every wrapper module in images/kind/mods/ (kind, crictl, the
#              CNI plugins, etcd, CoreDNS, local-path-provisioner)
#
# The machine's 2 cores are shared: everything runs under nice -n 19 with
# one build at a time (go build -p 1). A failed build leaves no cache
# directory (it builds into a temporary one and renames it into place).
#
#   images/kind/build-bins.sh            build what is missing, print the dirs
#   images/kind/build-bins.sh path NAME  print NAME's cache directory
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${BATON_CACHE:-$HOME/.cache/baton}/kind/bin
mkdir -p "$cache"
export GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 GOMAXPROCS=${GOMAXPROCS:-1}
nice_cmd=(nice -n 19)

log() { printf '[kind-bins] %s\n' "$*" >&2; }

k8s_version() {
    awk '($1=="k8s.io/kubernetes" && $2 ~ /^v/) {print $2; exit}' "$root/tests/env/k8s/go.mod"
}

key_of() { cat "$@" | sha256sum | cut -c1-12; }

# what goes into k8s-node and pause besides the pins (bump to rebuild)
k8s_node_recipe="kubelet kubeadm kube-proxy kube-apiserver kube-controller-manager kube-scheduler kubectl; pause.c -static; v1"
k8s_key() { { cat "$root/tests/env/k8s/go.mod" "$root/tests/env/k8s/go.sum"; echo "$k8s_node_recipe"; } | sha256sum | cut -c1-12; }

mod_key() { key_of "$here/mods/$1/go.mod" "$here/mods/$1/go.sum" "$here/mods/$1/build"; }

path_of() {
    case $1 in
        k8s-node) echo "$cache/k8s-node-$(k8s_key)" ;;
        pause) echo "$cache/pause-$(k8s_key)" ;;
        *) echo "$cache/$1-$(mod_key "$1")" ;;
    esac
}

# cached NAME FUNCTION: runs FUNCTION TMPDIR unless NAME's directory exists.
cached() {
    local name=$1 fn=$2 out tmp start
    out=$(path_of "$name")
    if [ -f "$out/.complete" ]; then
        log "$name: cached ($out)"
        return 0
    fi
    log "$name: building into $out (first time for this version: minutes)"
    start=$(date +%s)
    tmp=$(mktemp -d "$cache/.$name.XXXXXX")
    chmod 755 "$tmp"
    if ! "$fn" "$tmp" "$name"; then
        rm -rf "$tmp"
        log "$name: build FAILED"
        return 1
    fi
    touch "$tmp/.complete"
    rm -rf "$out"
    mv "$tmp" "$out"
    log "$name: built in $(( $(date +%s) - start ))s"
}

# The k8s.io/kubernetes wrapper module is tests/env/k8s: copied, so that
# go's -mod=mod additions for the node binaries never touch the checkout.
build_k8s_node() {
    local out=$1 v minor ld work
    v=$(k8s_version)
    minor=$(echo "$v" | cut -d. -f2)
    ld="-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
    ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
    work=$(mktemp -d)
    cp "$root/tests/env/k8s/go.mod" "$root/tests/env/k8s/go.sum" "$work/"
    (cd "$work" && GOBIN=$out "${nice_cmd[@]}" go install -p 1 -ldflags "$ld" \
        k8s.io/kubernetes/cmd/kubelet \
        k8s.io/kubernetes/cmd/kubeadm \
        k8s.io/kubernetes/cmd/kube-proxy \
        k8s.io/kubernetes/cmd/kube-apiserver \
        k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler \
        k8s.io/kubernetes/cmd/kubectl) || { rm -rf "$work"; return 1; }
    echo "$v" >"$out/VERSION"
    rm -rf "$work"
}

build_pause() {
    local out=$1 v dir work
    v=$(k8s_version)
    work=$(mktemp -d)
    cp "$root/tests/env/k8s/go.mod" "$root/tests/env/k8s/go.sum" "$work/"
    dir=$(cd "$work" && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
    rm -rf "$work"
    [ -f "$dir/build/pause/linux/pause.c" ] || { log "no pause.c in $dir"; return 1; }
    # the version kubeadm names (cmd/kubeadm/app/constants: PauseVersion)
    sed -n 's/^\s*PauseVersion = "\(.*\)"/\1/p' "$dir/cmd/kubeadm/app/constants/constants.go" >"$out/VERSION"
    [ -s "$out/VERSION" ] || { log "cannot read PauseVersion"; return 1; }
    "${nice_cmd[@]}" gcc -Os -Wall -Werror -static -DVERSION="v$(cat "$out/VERSION")-baton" \
        -o "$out/pause" "$dir/build/pause/linux/pause.c"
    strip "$out/pause"
}

# Each images/kind/mods/NAME is a wrapper module with a `build` file: one
# line per binary, "OUTPUT PACKAGE" (go build -o OUTPUT PACKAGE).
build_mod() {
    local out=$1 name=$2 bin pkg list
    list=$(grep -v '^#' "$here/mods/$name/build")
    (
        cd "$here/mods/$name"
        while read -r bin pkg; do
            [ -n "$bin" ] || continue
            "${nice_cmd[@]}" go build -p 1 -trimpath -ldflags "-s -w" -o "$out/$bin" "$pkg"
        done <<<"$list"
    )
}

if [ "${1:-}" = path ]; then
    path_of "$2"
    exit 0
fi

cached k8s-node build_k8s_node
cached pause build_pause
for m in "$here"/mods/*/; do
    m=$(basename "$m")
    cached "$m" build_mod
done
