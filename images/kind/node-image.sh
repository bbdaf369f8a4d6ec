#!/usr/bin/env bash
# make kind-node-image: a kind node image built on this machine, where no
# registry can be pulled from (docs/kind.md).
#
#   images/kind/node-image.sh          build what is missing, print the tag
#   images/kind/node-image.sh --tag    print the tag the inputs make
#
# 1. binaries from Go modules (images/kind/build-bins.sh, cached by version)
# 2. the images kubeadm and kind run, FROM the Debian base (images/base.sh)
#    or FROM scratch (pause), tagged as kubeadm names them
#    (`kubeadm config images list`), so kubeadm needs no configuration
# 3. the node image (Dockerfile.node): kind's base image contents from Debian
#    packages + kind's own files, crictl, CNI plugins, kubeadm/kubelet/kubectl
# 4. a container of it runs containerd, the images of step 2 are imported
#    into its k8s.io namespace (what `kind build node-image` does), and the
#    container is committed as the node image
#
# The node image's tag carries a hash of every input (the base image, the
# binaries' cache directories, these files), so an unchanged tree reuses it
# in about a second. Heavy steps run under nice -n 19.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
work=${BATON_KIND_BUILD:-${BATON_CACHE:-$HOME/.cache/baton}/kind/work}
log() { printf '[kind-node] %s\n' "$*" >&2; }

"$top/images/dockerd.sh" start
docker=$("$top/images/dockerd.sh" cli)
d() { "$docker" "$@"; }

"$here/build-bins.sh"
bin() { "$here/build-bins.sh" path "$1"; }
k8s=$(bin k8s-node)
kver=$(cat "$k8s/VERSION")
base=$("$top/images/base.sh")
kind_mod=$(cd "$here/mods/kind" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' sigs.k8s.io/kind)
[ -d "$kind_mod/images/base/files" ] || { log "no kind module source at $kind_mod"; exit 1; }

inputs_hash() {
    {
        echo "$base"
        for n in k8s-node pause crictl cni etcd coredns local-path; do bin "$n"; done
        cat "$here/Dockerfile.node" "$here/node-image.sh" "$here"/files/* "$here"/manifests/*
        echo "$kind_mod"
    } | sha256sum | cut -c1-12
}
tag=localhost/baton-kind/node:$kver-$(inputs_hash)
if [ "${1:-}" = --tag ]; then echo "$tag"; exit 0; fi
if d image inspect "$tag" >/dev/null 2>&1; then
    log "node image $tag exists (cached)"
    echo "$tag"
    exit 0
fi

# --- 2. the images kubeadm and kind need ----------------------------------
mkdir -p "$work"
images=()
# one_image TAG FROM ENTRYPOINT_JSON PACKAGES FILE... : an image with FILEs
# in /usr/local/bin (or / for FROM scratch)
one_image() {
    local t=$1 from=$2 entry=$3 pkgs=$4 ctx f dest=/usr/local/bin/
    shift 4
    ctx=$(mktemp -d "$work/ctx.XXXXXX")
    for f in "$@"; do cp "$f" "$ctx/"; done
    [ "$from" = scratch ] && dest=/
    {
        echo "FROM $from"
        [ -n "$pkgs" ] && echo "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs && apt-get clean && rm -rf /var/lib/apt/lists/*"
        for f in "$@"; do echo "COPY $(basename "$f") $dest"; done
        [ -n "$entry" ] && echo "ENTRYPOINT $entry"
        echo 'LABEL org.opencontainers.image.vendor="built by baton images/kind/node-image.sh"'
    } >"$ctx/Dockerfile"
    log "image $t"
    nice -n 19 "$docker" build -q -t "$t" "$ctx" >/dev/null
    rm -rf "$ctx"
    images+=("$t")
}

modver() { # WRAPPER MODULE: the version images/kind/mods/WRAPPER pins
    awk -v m="$2" '($1=="require" && $2==m) {print $3; exit} ($1==m) {print $2; exit}' "$here/mods/$1/go.mod"
}
want() { # the image kubeadm names for COMPONENT
    "$k8s/kubeadm" config images list --kubernetes-version "$kver" 2>/dev/null | grep "/$1:"
}
for c in kube-apiserver kube-controller-manager kube-scheduler; do
    one_image "$(want "$c")" "$base" "" "" "$k8s/$c"
done
one_image "$(want kube-proxy)" "$base" "" "iptables conntrack ipset kmod" "$k8s/kube-proxy"
etcd_tag=$(want etcd)
[ "v${etcd_tag##*:}" = "$(modver etcd go.etcd.io/etcd/server/v3)-0" ] ||
    log "warning: kubeadm wants $etcd_tag; images/kind/mods/etcd pins another version"
one_image "$etcd_tag" "$base" "" "" "$(bin etcd)/etcd"
coredns_tag=$(want coredns)
one_image "$coredns_tag" "$base" '["/usr/local/bin/coredns"]' "ca-certificates" "$(bin coredns)/coredns"
pause_tag=registry.k8s.io/pause:$(cat "$(bin pause)/VERSION")
one_image "$pause_tag" scratch '["/pause"]' "" "$(bin pause)/pause"
lp_version=$(modver local-path github.com/rancher/local-path-provisioner)
one_image "localhost/baton-kind/local-path-provisioner:$lp_version" "$base" "" "" "$(bin local-path)/local-path-provisioner"
one_image "localhost/baton-kind/local-path-helper:bookworm" "$base" "" "" 
one_image "localhost/baton-kind/cni:$kver" "$base" '["/usr/local/bin/kind-cni"]' "iproute2 iptables" "$k8s/kubectl" "$here/files/kind-cni"

# --- 3. the node image's build context -------------------------------------
ctx=$work/node-context
rm -rf "$ctx"
mkdir -p "$ctx/kindbase" "$ctx/bin" "$ctx/cni" "$ctx/k8s" "$ctx/manifests"
cp -r "$kind_mod/images/base/files/." "$ctx/kindbase/"
chmod -R u+w "$ctx/kindbase"
rm -rf "$ctx/kindbase/etc/containerd" "$ctx/kindbase/LICENSES"
sed "s#PAUSE_IMAGE#$pause_tag#" "$here/files/containerd-config.toml" >"$ctx/containerd-config.toml"
cp "$here/files/runc-nosysres" "$ctx/"
cp "$(bin crictl)/crictl" "$ctx/bin/"
cp "$(bin cni)"/* "$ctx/cni/"
cp "$k8s/kubeadm" "$k8s/kubelet" "$k8s/kubectl" "$ctx/k8s/"
sed -e "s#CNI_IMAGE#localhost/baton-kind/cni:$kver#" "$here/manifests/default-cni.yaml" >"$ctx/manifests/default-cni.yaml"
sed -e "s#PROVISIONER_IMAGE#localhost/baton-kind/local-path-provisioner:$lp_version#" \
    -e "s#HELPER_IMAGE#localhost/baton-kind/local-path-helper:bookworm#" \
    "$here/manifests/default-storage.yaml" >"$ctx/manifests/default-storage.yaml"
echo "$kver" >"$ctx/version"
log "node stage image (Debian packages: systemd, containerd, runc, iptables, ...)"
nice -n 19 "$docker" build --build-arg "BASE=$base" -f "$here/Dockerfile.node" -t "$tag-stage" "$ctx" >"$work/node-build.log" 2>&1 ||
    { tail -30 "$work/node-build.log" >&2; log "node stage build FAILED (log $work/node-build.log)"; exit 1; }

# --- 4. import the images into the node's containerd -----------------------
cid=$(d run -d --privileged --entrypoint sleep "$tag-stage" infinity)
cleanup() { d rm -f "$cid" >/dev/null 2>&1 || true; }
trap cleanup EXIT
d exec "$cid" bash -c 'nohup containerd >/var/log/containerd-import.log 2>&1 & echo $! >/run/containerd-import.pid'
for _ in $(seq 1 60); do
    d exec "$cid" ctr version >/dev/null 2>&1 && break
    sleep 0.5
done
log "importing ${#images[@]} images into the node's containerd (k8s.io)"
d save "${images[@]}" | d exec -i "$cid" ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests - >/dev/null
d exec "$cid" ctr --namespace=k8s.io images list -q | grep -v -e '^sha256:' -e '^import-' | sed 's/^/[kind-node]   /' >&2
# stop it and wait until it has exited (a zombie: sleep, pid 1, reaps nothing)
# shellcheck disable=SC2016 # expanded in the node container
d exec "$cid" bash -c 'p=$(cat /run/containerd-import.pid); kill "$p"
    for _ in $(seq 1 100); do
        case $(ps -o stat= -p "$p" 2>/dev/null) in "" | Z*) exit 0 ;; esac
        sleep 0.2
    done
    exit 1' || { log "containerd in the build container did not stop"; exit 1; }
d exec "$cid" rm -f /run/containerd-import.pid /var/log/containerd-import.log
d commit --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' "$cid" "$tag" >/dev/null
d rmi "$tag-stage" >/dev/null 2>&1 || true
log "node image $tag"
echo "$tag"
