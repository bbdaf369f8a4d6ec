#!/usr/bin/env bash
# Short-lived peer tokens (issue 15 item 6, batond/peertoken.h) on real
# kube-apiservers, two regions, batonds over mutual TLS:
#  - each region has a peer ServiceAccount baton-peer; each batond is given
#    for its peer only a bootstrap kubeconfig whose token comes from
#    `kubectl create token --duration` and is bound to a Secret (deleting
#    the Secret invalidates it at once: an expiry we need not wait for);
#  - each batond fetches a TokenRequest-minted token from its peer's batond
#    over the peer API and writes it to its token file: the token is not the
#    bootstrap, authenticates as the peer account, lives about
#    expirationSeconds, and the metric baton_peer_token_expiry_seconds says
#    so;
#  - a caller without a peer certificate gets no token;
#  - the bootstrap tokens are invalidated: the derived kubeconfig batond
#    uses still works, and a batond restarted after that (its bootstrap
#    now rejected) fetches a new token and reaches its peer again.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
: "${BATON_REGIONS_DIR:?run through tests/integration/run.sh (regions must be up)}"
export PATH=$top/tests/env/bin:$PATH
batond=$top/${BATON_BUILD:-build/san}/bin/batond
read -r -a regions <<<"$BATON_REGION_NAMES"
regions=("${regions[@]:0:2}")
a=${regions[0]} b=${regions[1]}
tmp=$(mktemp -d /tmp/baton-peertoken.XXXXXX)
declare -A pid raft api http agentapi
kc() { kubectl --kubeconfig "$BATON_REGIONS_DIR/$1/admin.kubeconfig" "${@:2}"; }
cleanup() {
    for r in "${!pid[@]}"; do kill -KILL "${pid[$r]}" 2>/dev/null; done
    wait 2>/dev/null
    for r in "${regions[@]}"; do
        kc "$r" delete clusterrolebinding baton-peer-itest --ignore-not-found >/dev/null 2>&1
        kc "$r" delete clusterrole baton-peer-itest --ignore-not-found >/dev/null 2>&1
        kc "$r" -n baton-system delete sa baton-peer --ignore-not-found >/dev/null 2>&1
        kc "$r" -n baton-system delete secret boot --ignore-not-found >/dev/null 2>&1
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT TERM
# shellcheck source=../lib/ports.sh
source "$top/tests/lib/ports.sh"
for r in "${regions[@]}"; do take_port "raft[$r]" "api[$r]" "http[$r]" "agentapi[$r]"; done

mkdir -p "$tmp/pki"
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/pki/ca.key" 2>/dev/null
openssl req -x509 -new -key "$tmp/pki/ca.key" -subj "/CN=ca" -days 2 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
    -out "$tmp/pki/ca.crt" 2>/dev/null
for r in "${regions[@]}" mallory; do
    openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/pki/$r.key" 2>/dev/null
    openssl req -new -key "$tmp/pki/$r.key" -subj "/CN=$r" -out "$tmp/pki/$r.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:baton://region/%s,IP:127.0.0.1\n' "$r" > "$tmp/pki/$r.ext"
    openssl x509 -req -in "$tmp/pki/$r.csr" -CA "$tmp/pki/ca.crt" -CAkey "$tmp/pki/ca.key" -CAcreateserial \
        -days 2 -sha256 -extfile "$tmp/pki/$r.ext" -out "$tmp/pki/$r.crt" 2>/dev/null
done

# The peer account in each region, allowed to read DatabaseClusters (what a
# peer's batond watches), and a bootstrap token for it bound to a Secret.
for r in "${regions[@]}"; do
    kc "$r" create namespace baton-system >/dev/null 2>&1
    kc "$r" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ServiceAccount
metadata: {name: baton-peer, namespace: baton-system}
---
apiVersion: v1
kind: Secret
metadata: {name: boot, namespace: baton-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: baton-peer-itest}
rules:
- {apiGroups: [baton.dev], resources: [databaseclusters], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: baton-peer-itest}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: baton-peer-itest}
subjects: [{kind: ServiceAccount, name: baton-peer, namespace: baton-system}]
YAML
    boot=$(kc "$r" -n baton-system create token baton-peer --duration=10m \
        --bound-object-kind=Secret --bound-object-name=boot)
    echo "$boot" > "$tmp/boot-$r.token"
    kc "$r" config view --raw --minify -o json > "$tmp/admin-$r.json"
    server=$(jq -r '.clusters[0].cluster.server' "$tmp/admin-$r.json")
    ca=$(jq -r '.clusters[0].cluster."certificate-authority-data"' "$tmp/admin-$r.json")
    cat > "$tmp/boot-$r.kubeconfig" <<YAML
apiVersion: v1
kind: Config
current-context: peer
clusters: [{name: peer, cluster: {server: "$server", certificate-authority-data: "$ca"}}]
users: [{name: peer, user: {token: "$boot"}}]
contexts: [{name: peer, context: {cluster: peer, user: peer}}]
YAML
done
peer_of() { [ "$1" = "$a" ] && echo "$b" || echo "$a"; }

start_batond() {
    local r=$1 p
    p=$(peer_of "$r")
    cat > "$tmp/$r.yaml" <<YAML
region: $r
kubeconfig: $BATON_REGIONS_DIR/$r/admin.kubeconfig
peers:
  - {name: $p, raftAddress: "127.0.0.1:${raft[$p]}", apiAddress: "127.0.0.1:${api[$p]}", kubeconfig: $tmp/boot-$p.kubeconfig}
raft: {bind: "127.0.0.1:${raft[$r]}", dataDir: $tmp/raft-$r, electionTimeoutMillis: 1000, heartbeatMillis: 100}
peerApi: {bind: "127.0.0.1:${api[$r]}"}
peerTokens: {serviceAccount: baton-peer, expirationSeconds: 900, dir: $tmp/tokens-$r}
http: {bind: "127.0.0.1:${http[$r]}"}
agentApi: {bind: "127.0.0.1:${agentapi[$r]}"}
tls: {ca: $tmp/pki/ca.crt, cert: $tmp/pki/$r.crt, key: $tmp/pki/$r.key}
YAML
    "$batond" --config "$tmp/$r.yaml" >> "$tmp/$r.log" 2>&1 &
    pid[$r]=$!
}
for r in "${regions[@]}"; do start_batond "$r"; done

# the token file R holds for its peer: rotated (not the bootstrap)
rotated() {
    local r=$1 p f
    p=$(peer_of "$r")
    f=$tmp/tokens-$r/$p.token
    [ -s "$f" ] && ! cmp -s <(tr -d '\n' < "$f") <(tr -d '\n' < "$tmp/boot-$p.token")
}
for r in "${regions[@]}"; do
    p=$(peer_of "$r")
    eventually 60 "$r holds a rotated token for $p" rotated "$r"
    tok=$(cat "$tmp/tokens-$r/$p.token")
    # the kubeconfig batond loads for the peer: it reads the token file
    who=$(kubectl --kubeconfig "$tmp/tokens-$r/$p.kubeconfig" auth whoami \
        -o jsonpath='{.status.userInfo.username}' 2>&1)
    check "$r's rotated token authenticates at $p as its peer account ($who)" \
        test "$who" = system:serviceaccount:baton-system:baton-peer
    exp=$(cut -d. -f2 <<<"$tok" | tr '_-' '/+' | awk '{n=length($0)%4; if(n) $0=$0 substr("===",1,4-n); print}' | base64 -d 2>/dev/null | jq .exp)
    left=$((exp - $(date +%s)))
    check "$r's rotated token lives expirationSeconds (900 s, $left s left)" test "$left" -gt 800 -a "$left" -le 900
    m=$(curl -s "http://127.0.0.1:${http[$r]}/metrics" | awk -v p="$p" '$1 == "baton_peer_token_expiry_seconds{peer=\"" p "\"}" {print int($2)}')
    check "$r exports the token's remaining life (${m:-none} s)" test "${m:-0}" -gt 800
done

# only a peer region's certificate gets a token
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/pki/ca.crt" --cert "$tmp/pki/mallory.crt" \
    --key "$tmp/pki/mallory.key" "https://127.0.0.1:${api[$a]}/v1/peer-token")
check "a certificate of no peer region is refused a token (HTTP $code)" test "$code" = 403
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/pki/ca.crt" "https://127.0.0.1:${api[$a]}/v1/peer-token")
check "a caller without a client certificate gets no token (HTTP $code)" test "$code" != 200

# The bootstrap tokens die (their Secret goes): the rotated ones carry on.
for r in "${regions[@]}"; do kc "$r" -n baton-system delete secret boot >/dev/null; done
for r in "${regions[@]}"; do
    p=$(peer_of "$r")
    eventually 30 "$p's bootstrap token is rejected once its Secret is gone" bash -c \
        "! kubectl --kubeconfig $tmp/boot-$p.kubeconfig get dbc -A >/dev/null 2>&1 && kubectl --kubeconfig $tmp/boot-$p.kubeconfig get dbc -A 2>&1 | grep -qi 'unauthorized\|must be logged in'"
    check "$r's kubeconfig for $p (rotated token) still reads $p" \
        kubectl --kubeconfig "$tmp/tokens-$r/$p.kubeconfig" get dbc -A
done
# A batond restarted with a dead bootstrap token gets a fresh one from its
# peer and uses it.
kill -TERM "${pid[$a]}"; wait "${pid[$a]}" 2>/dev/null; unset "pid[$a]"
rm -rf "$tmp/tokens-$a"
: > "$tmp/$a.log"
start_batond "$a"
eventually 60 "$a, restarted with a dead bootstrap token, holds a rotated token for $b" rotated "$a"
eventually 30 "$a logs the new token" grep -q "peer $b: new token valid for" "$tmp/$a.log"
check "$a's kubeconfig for $b works again" kubectl --kubeconfig "$tmp/tokens-$a/$b.kubeconfig" get dbc -A
check "$a's batond logged no refused token for $b" \
    no_match "peer $b: no new token" "$tmp/$a.log"
for r in "${regions[@]}"; do
    check "$r's batond is still running" kill -0 "${pid[$r]}"
done
tap_exit
