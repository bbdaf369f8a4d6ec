#!/usr/bin/env bash
# make kind-lab / kind-lab-down: three kind clusters, one per region, on one
# Docker network, with Baton installed by Helm in each (docs/kind.md).
#
#   images/kind/lab.sh up        build what is missing, create, install, wait
#   images/kind/lab.sh down      delete exactly the clusters and the network
#                                this script created (recorded in its state)
#   images/kind/lab.sh routes    (re)add the cross-cluster routes, and this
#                                host's routes to every region's pods
#   images/kind/lab.sh env       print KUBECONFIG lines for each region
#
# Addresses: everything is inside 198.18.0.0/15 (RFC 2544), clear of the
# network-namespace lab (198.18.0.0/24, 198.18.101-103.0/24,
# 198.19.0.0/18) and of images/dockerd.sh's docker0 and default pools
# (198.19.128.0/24, 198.19.192.0/18):
#   Docker network baton-kind   198.19.100.0/24
#   eu-west   pods 198.18.128.0/20  services 198.18.192.0/22
#   us-east   pods 198.18.144.0/20  services 198.18.196.0/22
#   ap-south  pods 198.18.160.0/20  services 198.18.200.0/22
# Every node gets a route to the other regions' pod and service ranges via
# that region's node: a flat, routed multi-cluster network (pods reach pods
# across clusters with their own addresses), the model Cilium ClusterMesh's
# native routing uses; a peer's Service IP is answered by the kube-proxy of
# the node the route leads to.
#
# KIND_NODE_IMAGE picks the node image: default the one built here
# (images/kind/node-image.sh); kindest/node:v1.34.x where a user has it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
state=${BATON_KIND_LAB:-$top/build/kind-lab}
network=baton-kind
subnet=198.19.100.0/24
regions=(eu-west us-east ap-south)
declare -A pod_cidr=([eu-west]=198.18.128.0/20 [us-east]=198.18.144.0/20 [ap-south]=198.18.160.0/20)
declare -A svc_cidr=([eu-west]=198.18.192.0/22 [us-east]=198.18.196.0/22 [ap-south]=198.18.200.0/22)
log() { printf '[kind-lab] %s\n' "$*" >&2; }

docker_cli() { "$top/images/dockerd.sh" cli; }
d() { "$(docker_cli)" "$@"; }
kind_bin() { echo "$("$here/build-bins.sh" path kind)/kind"; }
k() { local r=$1; shift; "$(kubectl_bin)" --kubeconfig "$state/$r.kubeconfig" "$@"; }
# kubectl built here (build-bins.sh), else the one on PATH (a laptop)
kubectl_bin() {
    local c
    c=$("$here/build-bins.sh" path k8s-node)/kubectl
    if [ -x "$c" ]; then echo "$c"; else command -v kubectl; fi
}
cluster() { echo "baton-$1"; }
node_of() { echo "baton-$1-control-plane"; }
node_ip() { d inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$(node_of "$1")"; }

create_network() {
    if d network inspect "$network" >/dev/null 2>&1; then
        log "network $network exists"
        return 0
    fi
    d network create --driver bridge --subnet "$subnet" --gateway 198.19.100.1 \
        -o com.docker.network.bridge.enable_ip_masquerade=true "$network" >/dev/null
    echo "$network" >"$state/network.created"
    log "network $network $subnet created"
}

create_cluster() {
    local r=$1 image=$2 cfg
    if "$(kind_bin)" get clusters 2>/dev/null | grep -qx "$(cluster "$r")"; then
        log "$r: cluster $(cluster "$r") exists"
    else
        cfg=$state/$r.kind.yaml
        cat >"$cfg" <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: $(cluster "$r")
networking:
  ipFamily: ipv4
  podSubnet: ${pod_cidr[$r]}
  serviceSubnet: ${svc_cidr[$r]}
  kubeProxyMode: iptables
nodes:
- role: control-plane
  labels:
    topology.kubernetes.io/region: $r
YAML
        log "$r: kind create cluster $(cluster "$r") --image $image"
        cluster "$r" >>"$state/clusters.created"
        KIND_EXPERIMENTAL_DOCKER_NETWORK=$network nice -n 10 "$(kind_bin)" create cluster \
            --config "$cfg" --image "$image" --kubeconfig "$state/$r.kubeconfig" --wait 5m
    fi
    "$(kind_bin)" get kubeconfig --name "$(cluster "$r")" >"$state/$r.kubeconfig"
}

# every node: routes to the other regions' pod and service ranges via their
# node; kind-cni: no masquerade to any region's pod range
routes() {
    local r o all
    all=$(IFS=,; echo "${pod_cidr[*]}")
    for r in "${regions[@]}"; do
        for o in "${regions[@]}"; do
            [ "$o" != "$r" ] || continue
            d exec "$(node_of "$r")" ip route replace "${pod_cidr[$o]}" via "$(node_ip "$o")"
            d exec "$(node_of "$r")" ip route replace "${svc_cidr[$o]}" via "$(node_ip "$o")"
        done
        if [ "$(k "$r" -n kube-system get ds kind-cni -o jsonpath='{.spec.template.spec.containers[0].env[?(@.name=="NO_MASQ_CIDRS")].value}' 2>/dev/null)" != "$all" ]; then
            k "$r" -n kube-system set env ds/kind-cni NO_MASQ_CIDRS="$all" >/dev/null 2>&1 ||
                log "$r: no kind-cni DaemonSet (another CNI); set its masquerade exceptions to $all"
        fi
        log "$r: node $(node_ip "$r"), routes to the other regions' pods and services"
    done
    # this host reaches every region's pods too (batonctl drill on kind:
    # the agents' /v1/status, the write load on port 5432), recorded so
    # that down removes exactly these
    for r in "${regions[@]}"; do
        ip route replace "${pod_cidr[$r]}" via "$(node_ip "$r")"
        grep -qx "${pod_cidr[$r]}" "$state/host-routes" 2>/dev/null || echo "${pod_cidr[$r]}" >>"$state/host-routes"
    done
}

node_image() {
    local t
    if [ -n "${KIND_NODE_IMAGE:-}" ]; then echo "$KIND_NODE_IMAGE"; return; fi
    t=$(d images --format '{{.Repository}}:{{.Tag}}' kindest/node 2>/dev/null | grep ':v1\.34\.' | head -1 || true)
    if [ -n "$t" ]; then log "using the official $t"; echo "$t"; return; fi
    "$here/node-image.sh"
}

up() {
    local image r baton_image
    mkdir -p "$state"
    "$top/images/dockerd.sh" start
    image=$(node_image)
    create_network
    for r in "${regions[@]}"; do create_cluster "$r" "$image"; done
    routes
    baton_image=$("$top/images/images.sh" tag)
    "$top/images/images.sh" build >/dev/null
    for r in "${regions[@]}"; do
        log "$r: kind load docker-image $baton_image"
        "$(kind_bin)" load docker-image "$baton_image" --name "$(cluster "$r")" >/dev/null
    done
    if [ "${KIND_LAB_CLUSTERS_ONLY:-}" = 1 ]; then return 0; fi
    "$here/lab-baton.sh" up
}

down() {
    local c
    if [ -f "$state/clusters.created" ]; then
        while read -r c; do
            [ -n "$c" ] || continue
            log "kind delete cluster --name $c"
            "$(kind_bin)" delete cluster --name "$c" >/dev/null 2>&1 || log "$c: delete failed"
        done <"$state/clusters.created"
        rm -f "$state/clusters.created"
    fi
    if [ -f "$state/host-routes" ]; then
        while read -r c; do
            [ -n "$c" ] && ip route del "$c" 2>/dev/null && log "host route to $c removed"
        done <"$state/host-routes"
        rm -f "$state/host-routes"
    fi
    if [ -f "$state/network.created" ]; then
        if d network rm "$network" >/dev/null 2>&1; then log "network $network removed"
        else log "network $network: not removed"; fi
        rm -f "$state/network.created"
    fi
    log "down: the images and the build caches are kept"
}

case "${1:-}" in
up) up ;;
down) down ;;
routes) routes ;;
env) for r in "${regions[@]}"; do echo "$r: KUBECONFIG=$state/$r.kubeconfig"; done ;;
*) echo "usage: images/kind/lab.sh up|down|routes|env" >&2; exit 2 ;;
esac
