#!/usr/bin/env bash
# The Baton half of `make kind-lab` (images/kind/lab.sh runs it once the
# three kind clusters are up and routed, with the Baton image loaded):
#
#   1. a fleet CA and one certificate per region (SAN URI
#      baton://region/<region>), Secret baton-tls in each region
#   2. `helm upgrade --install baton charts/baton` per region with the
#      example values (examples/values/region-<region>.yaml) and a kind
#      overlay: the peers' addresses are their batond Service's fixed
#      cluster IP (service.clusterIP), which this region's node routes to
#      the peer's node, whose kube-proxy answers it
#   3. each region's peer kubeconfig (a token of its baton-peer
#      ServiceAccount, its API server at its node's address) as Secret
#      baton-peer-<region> in the other regions
#   4. examples/orders-3-regions.yaml applied with kubectl in every region
#   5. waits until every region reports the database Healthy, then prints
#      `batonctl status`
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
state=${BATON_KIND_LAB:-$top/build/kind-lab}
regions=(eu-west us-east ap-south)
declare -A svc_ip=([eu-west]=198.18.192.100 [us-east]=198.18.196.100 [ap-south]=198.18.200.100)
network=baton-kind
ns=baton-system
db=examples/orders-3-regions.yaml
log() { printf '[kind-lab] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

d() { "$("$top/images/dockerd.sh" cli)" "$@"; }
kubectl_bin=$("$here/build-bins.sh" path k8s-node)/kubectl
[ -x "$kubectl_bin" ] || kubectl_bin=$(command -v kubectl) || die "no kubectl"
k() { local r=$1; shift; "$kubectl_bin" --kubeconfig "$state/$r.kubeconfig" "$@"; }
node_ip() { d inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "baton-$1-control-plane"; }

# helm v3 from tests/env (built from its Go module, cached: seconds), or
# with BATON_HELM=helm the one on PATH (a laptop)
helm_bin() {
    if [ -n "${BATON_HELM:-}" ]; then command -v "$BATON_HELM"; return; fi
    "$top/tests/env/build.sh" >"$state/testenv-build.log" 2>&1 ||
        { tail -5 "$state/testenv-build.log" >&2; die "tests/env/build.sh failed"; }
    echo "$top/tests/env/bin/helm"
}

pki() {
    local p=$state/pki r
    mkdir -p "$p"
    if [ ! -f "$p/ca.crt" ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$p/ca.key" 2>/dev/null
        openssl req -x509 -new -key "$p/ca.key" -subj "/CN=baton-kind-lab-fleet" -days 30 -sha256 \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
            -out "$p/ca.crt" 2>/dev/null
    fi
    for r in "${regions[@]}"; do
        [ -f "$p/$r.crt" ] && continue
        openssl ecparam -name prime256v1 -genkey -noout -out "$p/$r.key" 2>/dev/null
        openssl req -new -key "$p/$r.key" -subj "/CN=$r" -out "$p/$r.csr" 2>/dev/null
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:baton://region/%s,IP:%s\n' \
            "$r" "${svc_ip[$r]}" >"$p/$r.ext"
        openssl x509 -req -in "$p/$r.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
            -days 30 -sha256 -extfile "$p/$r.ext" -out "$p/$r.crt" 2>/dev/null
    done
}

apply_secret() { # REGION NAME ARGS...: create or replace a Secret
    local r=$1 name=$2
    shift 2
    k "$r" -n "$ns" create secret generic "$name" "$@" --dry-run=client -o yaml | k "$r" apply -f - >/dev/null
}

overlay() { # the kind lab's addresses for REGION's values
    local r=$1 p
    echo "# written by images/kind/lab-baton.sh: kind lab addresses"
    echo "service: {clusterIP: ${svc_ip[$r]}}"
    echo "peers:"
    for p in "${regions[@]}"; do
        [ "$p" = "$r" ] && continue
        echo "  - {name: $p, raftAddress: \"${svc_ip[$p]}:7100\", apiAddress: \"${svc_ip[$p]}:7101\", kubeconfigSecret: {name: baton-peer-$p, key: kubeconfig}}"
    done
}

peer_kubeconfig() { # REGION: a kubeconfig of REGION's baton-peer account
    local r=$1 token ca
    token=$(k "$r" -n "$ns" create token baton-peer --duration=720h)
    ca=$(k "$r" config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
    cat <<YAML
apiVersion: v1
kind: Config
clusters:
- name: $r
  cluster: {server: "https://$(node_ip "$r"):6443", certificate-authority-data: $ca}
users:
- name: baton-peer
  user: {token: $token}
contexts:
- name: $r
  context: {cluster: $r, user: baton-peer}
current-context: $r
YAML
}

healthy() { # REGION: the database's phase there
    k "$1" get dbc orders -n default -o jsonpath='{.status.phase}' 2>/dev/null
}

up() {
    local helm r p i all start
    helm=$(helm_bin)
    pki
    for r in "${regions[@]}"; do
        k "$r" create namespace "$ns" --dry-run=client -o yaml | k "$r" apply -f - >/dev/null
        apply_secret "$r" baton-tls --type=kubernetes.io/tls --from-file=ca.crt="$state/pki/ca.crt" \
            --from-file=tls.crt="$state/pki/$r.crt" --from-file=tls.key="$state/pki/$r.key"
        overlay "$r" >"$state/values-kind-$r.yaml"
        log "$r: helm upgrade --install baton charts/baton -f examples/values/region-$r.yaml -f $state/values-kind-$r.yaml"
        "$helm" --kubeconfig "$state/$r.kubeconfig" upgrade --install baton "$top/charts/baton" -n "$ns" \
            -f "$top/examples/values/region-$r.yaml" -f "$state/values-kind-$r.yaml" >/dev/null
    done
    for r in "${regions[@]}"; do
        peer_kubeconfig "$r" >"$state/peer-$r.kubeconfig"
        for p in "${regions[@]}"; do
            [ "$p" = "$r" ] && continue
            apply_secret "$p" "baton-peer-$r" --from-file=kubeconfig="$state/peer-$r.kubeconfig"
        done
    done
    # the replication password the agents read (<name>-replication, key
    # password): the user's, the same in every region (docs/agent.md)
    [ -f "$state/replication-password" ] || openssl rand -hex 16 >"$state/replication-password"
    for r in "${regions[@]}"; do
        k "$r" -n default create secret generic orders-replication \
            --from-file=password="$state/replication-password" --dry-run=client -o yaml | k "$r" apply -f - >/dev/null
        log "$r: kubectl apply -f $db"
        k "$r" apply -f "$top/$db" >/dev/null
    done
    start=$(date +%s)
    for i in $(seq 1 120); do
        all=1
        for r in "${regions[@]}"; do [ "$(healthy "$r")" = Healthy ] || all=0; done
        [ "$all" = 1 ] && break
        if [ $((i % 6)) = 0 ]; then
            log "waiting for Healthy ($(( $(date +%s) - start )) s):$(for r in "${regions[@]}"; do printf ' %s=%s' "$r" "$(healthy "$r")"; done)"
        fi
        sleep 5
    done
    status
    [ "$all" = 1 ] || die "not every region reports Healthy after $(( $(date +%s) - start )) s (kubectl get pods -A in each: images/kind/lab.sh env)"
    log "every region Healthy after $(( $(date +%s) - start )) s"
}

status() {
    local args=() r
    for r in "${regions[@]}"; do args+=("$r=$state/$r.kubeconfig"); done
    "$top/build/plain/bin/batonctl" status --kubeconfig "$(IFS=,; echo "${args[*]}")" || true
}

case "${1:-}" in
up) up ;;
status) status ;;
*) echo "usage: images/kind/lab-baton.sh up|status" >&2; exit 2 ;;
esac
