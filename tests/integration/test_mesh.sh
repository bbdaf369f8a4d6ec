#!/usr/bin/env bash
# The mesh adapters against real API servers, one namespace per backend
# (plain = traffic.mesh none, istio, cilium, mcs), across all three regions:
#   - a cluster without the Istio / MCS CRDs refuses their objects with a
#     clear "no matches for kind" (batond then falls back to plain Services
#     and reports TrafficRouted=False/MeshUnavailable);
#   - the upstream Istio and MCS CRDs install (server-side) and are served;
#   - what baton_render prints for each region (exactly what batond applies:
#     children + mesh objects) applies with server-side apply, field manager
#     batond, and every cluster then holds exactly the rendered routing
#     objects, field by field (spec, labels, cilium annotations, owner);
#   - the routing is what the design says (Istio: a DestinationRule with one
#     subset per region and a VirtualService pinning 100% to the primary's
#     subset in EVERY cluster; Cilium: global everywhere, shared+local only
#     in the primary's cluster; MCS: a ServiceExport in the primary's cluster
#     only; the primary Service selects the current epoch);
#   - applying the same objects again changes no resourceVersion;
#   - primary A@1 -> B@2 -> A@3, applying and pruning like batond (delete
#     labelled DestinationRules/VirtualServices/ServiceExports that are no
#     longer rendered), the routing follows;
#   - deleting the DatabaseCluster garbage-collects everything it owned.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
: "${BATON_REGIONS_DIR:?run through tests/integration/run.sh (regions must be up)}"
export PATH=$top/tests/env/bin:$PATH
render=$top/${BATON_BUILD:-build/san}/tests/helpers/baton_render
bin=$top/tests/env/bin
istio_crds=$bin/istio-crds.yaml
mcs_crds=("$bin/multicluster.x-k8s.io_serviceexports.yaml" "$bin/multicluster.x-k8s.io_serviceimports.yaml")
# python3 is on every machine that ran tests/env/deps-apt.sh (cppcheck and
# clang-format depend on it); prefer Debian's over any shim on PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3 || echo python3)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

read -r -a regions <<<"${BATON_REGION_NAMES:-}"
if [ ${#regions[@]} -lt 3 ]; then
    not_ok "three regions are up (BATON_REGION_NAMES='${BATON_REGION_NAMES:-}')"
    tap_exit
fi
A=${regions[0]} B=${regions[1]} C=${regions[2]}
regions=("$A" "$B" "$C")
db=orders
dr=destinationrules.networking.istio.io
vs=virtualservices.networking.istio.io
se=serviceexports.multicluster.x-k8s.io
# What batond prunes (operator/batond/reconcile.c, prunable[]).
prunable=("$dr" "$vs" "$se")

# kubectl for one region, with a private discovery cache: the CRDs appear
# during the test and a shared/stale cache must not hide them.
kc() {
    local r=$1
    shift
    kubectl --kubeconfig "$BATON_REGIONS_DIR/$r/admin.kubeconfig" --cache-dir "$tmp/kcache/$r" "$@"
}
# is_eq WANT CMD...: CMD succeeds and prints exactly WANT.
is_eq() {
    local want=$1 got
    shift
    got=$("$@") || return 1
    [ "$got" = "$want" ] || { printf 'want: %s\ngot:  %s\n' "$want" "$got"; return 1; }
}

# The comparison of rendered and live objects (python3, stdlib only).
cat > "$tmp/meshcmp.py" <<'PY'
import json, sys

ROUTING_KINDS = {"Service", "DestinationRule", "VirtualService", "ServiceExport"}

def group(api_version):
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""

def ident(o):
    return "%s %s/%s" % (o["kind"], group(o["apiVersion"]) or "core", o["metadata"]["name"])

def zero(v):
    return v in (False, 0, "", None) or v == [] or v == {}

def sub(want, have, path, errs):
    """Every rendered field is live with the same value; lists match
    element by element (same length). The API server omits zero values
    (omitempty), so a rendered false/0/"" may be absent."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            errs.append("%s: rendered an object, live has %s" % (path, json.dumps(have)))
            return
        for k, v in want.items():
            if k not in have:
                if not zero(v):
                    errs.append("%s.%s: rendered %s, missing live" % (path, k, json.dumps(v)))
            else:
                sub(v, have[k], "%s.%s" % (path, k), errs)
    elif isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            errs.append("%s: rendered %s, live %s" % (path, json.dumps(want), json.dumps(have)))
            return
        for i, (w, h) in enumerate(zip(want, have)):
            sub(w, h, "%s[%d]" % (path, i), errs)
    elif want != have:
        errs.append("%s: rendered %s, live %s" % (path, json.dumps(want), json.dumps(have)))

def routing(items):
    return {ident(o): o for o in items if o.get("kind") in ROUTING_KINDS}

def compare(rendered_file, live_file, prefix=""):
    rendered = routing(json.load(open(rendered_file))["items"])
    live = routing(json.load(open(live_file))["items"])
    errs = []
    for k in sorted(set(rendered) - set(live)):
        errs.append("%s: rendered but not in the cluster" % k)
    for k in sorted(set(live) - set(rendered)):
        errs.append("%s: in the cluster but not rendered (should have been pruned)" % k)
    for k in sorted(set(rendered) & set(live)):
        r, l = rendered[k], live[k]
        rm, lm = r["metadata"], l["metadata"]
        sub(r.get("spec", {}), l.get("spec", {}), k + " spec", errs)
        sub(rm.get("labels", {}), lm.get("labels", {}), k + " labels", errs)
        sub(rm.get("ownerReferences", []), lm.get("ownerReferences", []), k + " ownerReferences", errs)
        sub(rm.get("namespace"), lm.get("namespace"), k + " namespace", errs)
        ra, la = rm.get("annotations", {}), lm.get("annotations", {})
        sub(ra, la, k + " annotations", errs)
        for a in sorted(la):
            if a.startswith("service.cilium.io/") and a not in ra:
                errs.append("%s annotations.%s: live %s, not rendered" % (k, a, la[a]))
    for e in errs:
        print(prefix + e)
    print("%s%d routing objects compared, %d differences" % (prefix, len(rendered), len(errs)))
    return 1 if errs else 0

def names(rendered_file):
    for o in json.load(open(rendered_file))["items"]:
        print("%s/%s" % (o["kind"], o["metadata"]["name"]))
    return 0

if __name__ == "__main__":
    if sys.argv[1] == "compare":
        sys.exit(compare(*sys.argv[2:5]))
    sys.exit(names(sys.argv[2]))
PY

check "baton_render is built ($render)" test -x "$render"
check "python3 is available ($py)" "$py" -c 'import json'
check "the Istio and MCS CRDs exist (tests/env/build.sh)" test -s "$istio_crds" -a -s "${mcs_crds[0]}" -a -s "${mcs_crds[1]}"

# The DatabaseCluster for backend $1 in namespace $2 (the example, mesh set).
db_yaml() {
    sed "s/^  name: orders$/  name: $db/; s/^  namespace: default$/  namespace: $2/; s/mesh: none/mesh: $1/" \
        "$top/examples/orders-3-regions.yaml"
}
# setup MESH NS: namespace + DatabaseCluster in every region, and per region
# a copy of the file carrying that region's uid (owner references).
setup_db() {
    local mesh=$1 ns=$2 r uid
    mkdir -p "$tmp/$ns"
    db_yaml "$mesh" "$ns" > "$tmp/$ns/db.yaml"
    for r in "${regions[@]}"; do
        kc "$r" create namespace "$ns" >/dev/null || return 1
        kc "$r" apply -f "$tmp/$ns/db.yaml" >/dev/null || return 1
        uid=$(kc "$r" -n "$ns" get dbc "$db" -o jsonpath='{.metadata.uid}') && [ -n "$uid" ] || return 1
        sed "s/^  namespace: $ns$/  namespace: $ns\n  uid: $uid/" "$tmp/$ns/db.yaml" > "$tmp/$ns/db.$r.yaml"
    done
}
# render_all NS PRIMARY EPOCH: $tmp/NS/<region>.<epoch>.json for every region.
render_all() {
    local ns=$1 p=$2 e=$3 r
    for r in "${regions[@]}"; do
        "$render" "$tmp/$ns/db.$r.yaml" "$r" "$p" "$e" > "$tmp/$ns/$r.$e.json" || return 1
        grep -q "\"uid\": \"$(kc "$r" -n "$ns" get dbc "$db" -o jsonpath='{.metadata.uid}')\"" "$tmp/$ns/$r.$e.json" ||
            { echo "$r: rendered objects do not carry the DatabaseCluster's uid"; return 1; }
    done
}
apply_all() {
    local ns=$1 e=$2 r
    for r in "${regions[@]}"; do
        kc "$r" apply --server-side --field-manager=batond --force-conflicts -f "$tmp/$ns/$r.$e.json" >/dev/null || return 1
    done
}
# What batond does after applying: delete the labelled objects of the
# prunable kinds that are no longer rendered.
prune_all() {
    local ns=$1 e=$2 r kind obj
    : > "$tmp/$ns/pruned.$e"
    for r in "${regions[@]}"; do
        "$py" "$tmp/meshcmp.py" names "$tmp/$ns/$r.$e.json" > "$tmp/$ns/$r.$e.names" || return 1
        for kind in "${prunable[@]}"; do
            while read -r obj; do
                [ -n "$obj" ] || continue
                grep -qx "$obj" "$tmp/$ns/$r.$e.names" && continue
                echo "$r: $obj" >> "$tmp/$ns/pruned.$e"
                kc "$r" -n "$ns" delete "$kind" "${obj#*/}" --wait=true >/dev/null || return 1
            done < <(kc "$r" -n "$ns" get "$kind" -l "baton.dev/cluster=$db" \
                -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}{"\n"}{end}')
        done
    done
}
live_routing() {
    kc "$1" -n "$2" get "svc,$dr,$vs,$se" -l "baton.dev/cluster=$db" -o json
}
# Every cluster holds exactly the rendered routing objects, field by field.
matches_rendered() {
    local ns=$1 e=$2 r rc=0
    : > "$tmp/$ns/compared.$e"
    for r in "${regions[@]}"; do
        live_routing "$r" "$ns" > "$tmp/$ns/$r.$e.live.json" || return 1
        "$py" "$tmp/meshcmp.py" compare "$tmp/$ns/$r.$e.json" "$tmp/$ns/$r.$e.live.json" "$r: " >> "$tmp/$ns/compared.$e" || rc=1
    done
    cat "$tmp/$ns/compared.$e"
    return $rc
}
switch_to() { # NS PRIMARY EPOCH
    render_all "$1" "$2" "$3" && apply_all "$1" "$3"
}
# Before pruning, the old primary's ServiceExport is still there and the
# comparison says so (it is not vacuous, and pruning is what removes it).
stale_export() { # NS EPOCH OLD-PRIMARY
    local out
    if out=$(matches_rendered "$1" "$2"); then echo "$out"; echo "no difference reported"; return 1; fi
    grep -q "^$3: ServiceExport multicluster.x-k8s.io/$db-rw: in the cluster but not rendered" <<<"$out" || { echo "$out"; return 1; }
}
compared() { # NS EPOCH: the comparison's summary as a TAP comment
    echo "# $(sed -E 's/ routing objects compared, 0 differences//' "$tmp/$1/compared.$2" 2>/dev/null | tr '\n' ' ')(routing objects compared per region)"
}
rvs() {
    local ns=$1 r
    for r in "${regions[@]}"; do
        kc "$r" -n "$ns" get "svc,cm,$dr,$vs,$se" -l "baton.dev/cluster=$db" \
            -o jsonpath="{range .items[*]}$r:{.kind}/{.metadata.name}={.metadata.resourceVersion} {end}" || return 1
    done
}

# ---- routing semantics, checked on the live objects ---------------------
primary_selects() { # NS EPOCH
    local r rc=0
    for r in "${regions[@]}"; do
        is_eq "$db/primary/$2" kc "$r" -n "$1" get svc "$db-rw" \
            -o jsonpath='{.spec.selector.baton\.dev/cluster}/{.spec.selector.baton\.dev/role}/{.spec.selector.baton\.dev/epoch}' || rc=1
    done
    return $rc
}
istio_pins() { # NS PRIMARY
    local r rc=0 host="$db-rw.$1.svc.cluster.local"
    for r in "${regions[@]}"; do
        is_eq "$host|$A=$A,$B=$B,$C=$C," kc "$r" -n "$1" get "$dr" "$db-rw" \
            -o jsonpath='{.spec.host}|{range .spec.subsets[*]}{.name}={.labels.topology\.istio\.io/cluster},{end}' || rc=1
        is_eq "$host|5432|$host:$2:5432=100" kc "$r" -n "$1" get "$vs" "$db-rw" \
            -o jsonpath='{.spec.hosts[*]}|{.spec.tcp[*].match[*].port}|{range .spec.tcp[*].route[*]}{.destination.host}:{.destination.subset}:{.destination.port.number}={.weight}{end}' || rc=1
    done
    return $rc
}
cilium_annotations() { # NS PRIMARY
    local r rc=0 want
    for r in "${regions[@]}"; do
        if [ "$r" = "$2" ]; then want=true/true/local; else want=true/false/remote; fi
        is_eq "$want" kc "$r" -n "$1" get svc "$db-rw" \
            -o jsonpath='{.metadata.annotations.service\.cilium\.io/global}/{.metadata.annotations.service\.cilium\.io/shared}/{.metadata.annotations.service\.cilium\.io/affinity}' || rc=1
        is_eq "" kc "$r" -n "$1" get svc "$db-ro" -o jsonpath='{.metadata.annotations}' || rc=1
    done
    return $rc
}
mcs_exports() { # NS PRIMARY
    local r rc=0 want
    for r in "${regions[@]}"; do
        if [ "$r" = "$2" ]; then want="$db-rw"; else want=""; fi
        is_eq "$want" kc "$r" -n "$1" get "$se" -l "baton.dev/cluster=$db" -o jsonpath='{.items[*].metadata.name}' || rc=1
    done
    return $rc
}
# No mesh objects at all (plain and cilium write none).
no_mesh_objects() { # NS
    local r rc=0
    for r in "${regions[@]}"; do
        is_eq "" kc "$r" -n "$1" get "$dr,$vs,$se" -l "baton.dev/cluster=$db" -o name || rc=1
    done
    return $rc
}
plain_only() { # NS
    local r rc=0
    no_mesh_objects "$1" || rc=1
    for r in "${regions[@]}"; do
        is_eq "" kc "$r" -n "$1" get svc "$db-rw" -o jsonpath='{.metadata.annotations}' || rc=1
    done
    return $rc
}
routing_is() { # MESH NS PRIMARY EPOCH
    local mesh=$1 ns=$2 p=$3 e=$4
    check "[$mesh] the primary Service selects role=primary, epoch=$e in every cluster" primary_selects "$ns" "$e"
    case $mesh in
    istio)
        check "[$mesh] every cluster: DestinationRule with one subset per region, VirtualService pins 100% to $p" istio_pins "$ns" "$p" ;;
    cilium)
        check "[$mesh] global everywhere; shared+local only in $p, not shared+remote elsewhere" cilium_annotations "$ns" "$p"
        check "[$mesh] no Istio or MCS objects" no_mesh_objects "$ns" ;;
    mcs)
        check "[$mesh] a ServiceExport only in $p's cluster" mcs_exports "$ns" "$p" ;;
    none)
        check "[$mesh] no Istio or MCS objects, no cilium annotations" plain_only "$ns" ;;
    esac
}

# ---- 6. a cluster without the mesh CRDs ---------------------------------
# Before anything is installed: the third region serves neither API, and
# the objects batond would write there are refused by name.
nocrd="mesh-nocrd"
check "$C serves no networking.istio.io API before the CRDs are installed" \
    is_eq "" kc "$C" api-resources --api-group=networking.istio.io -o name
check "$C serves no multicluster.x-k8s.io API before the CRDs are installed" \
    is_eq "" kc "$C" api-resources --api-group=multicluster.x-k8s.io -o name
kc "$C" create namespace "$nocrd" >/dev/null
mkdir -p "$tmp/$nocrd"
for mesh in istio mcs; do
    db_yaml "$mesh" "$nocrd" | sed "s/^  name: $db$/  name: $db-$mesh/" > "$tmp/$nocrd/$mesh.yaml"
    if [ "$mesh" = istio ]; then kind=DestinationRule gv=networking.istio.io/v1; else kind=ServiceExport gv=multicluster.x-k8s.io/v1beta1; fi
    "$render" "$tmp/$nocrd/$mesh.yaml" "$C" "$C" 1 > "$tmp/$nocrd/$mesh.json" 2>&1
    out=$(kc "$C" apply --server-side --field-manager=batond --force-conflicts -f "$tmp/$nocrd/$mesh.json" 2>&1); rc=$?
    if [ $rc -ne 0 ] && grep -q "no matches for kind \"$kind\" in version \"$gv\"" <<<"$out"; then
        ok "[$mesh] without its CRDs, applying the $mesh objects fails: no matches for kind \"$kind\" in version \"$gv\""
    else
        not_ok "[$mesh] without its CRDs, applying the $mesh objects fails with \"no matches for kind $kind\" (exit $rc)"
        printf '#   %s\n' "${out//$'\n'/$'\n#   '}"
    fi
    echo "#   kubectl still applied the list's other items: $(kc "$C" -n "$nocrd" get svc,sts,pdb,cm -l "baton.dev/cluster=$db-$mesh" -o name | tr '\n' ' ')"
done
# What batond does instead (operator/batond/reconcile.c desired_objects):
# it checks discovery first, writes the plain backend's objects, and sets
# the condition below; the plain objects do apply in such a cluster.
db_yaml none "$nocrd" | sed "s/^  name: $db$/  name: $db-fallback/" > "$tmp/$nocrd/plain.yaml"
"$render" "$tmp/$nocrd/plain.yaml" "$C" "$C" 1 > "$tmp/$nocrd/plain.json"
check "[istio] the plain fallback batond writes instead applies in $C" \
    kc "$C" apply --server-side --field-manager=batond --force-conflicts -f "$tmp/$nocrd/plain.json"
echo "# batond in $C reports: TrafficRouted=False reason=MeshUnavailable message=\"traffic.mesh is istio but this cluster does not serve networking.istio.io/v1: install its CRDs; routing falls back to plain Services\""
echo "# (mcs: \"traffic.mesh is mcs but this cluster serves no ServiceExport API (multicluster.x-k8s.io or net.gke.io): install the MCS CRDs; routing falls back to plain Services\")"
kc "$C" delete namespace "$nocrd" --wait=false >/dev/null 2>&1

# ---- 1. install the Istio and MCS CRDs everywhere ------------------------
install_crds() {
    local r
    for r in "${regions[@]}"; do
        kc "$r" apply --server-side --field-manager=baton-test -f "$istio_crds" -f "${mcs_crds[0]}" -f "${mcs_crds[1]}" >/dev/null || return 1
    done
    for r in "${regions[@]}"; do
        kc "$r" wait --for condition=established --timeout=60s \
            "crd/$dr" "crd/$vs" "crd/$se" crd/serviceimports.multicluster.x-k8s.io >/dev/null || return 1
    done
}
check "install the Istio and MCS CRDs in ${regions[*]} (server-side, established)" install_crds
rm -rf "$tmp/kcache"
served() {
    local r
    for r in "${regions[@]}"; do
        kc "$r" api-versions | grep -qx networking.istio.io/v1 || { echo "$r: no networking.istio.io/v1"; return 1; }
        kc "$r" api-versions | grep -qx multicluster.x-k8s.io/v1beta1 || { echo "$r: no multicluster.x-k8s.io/v1beta1"; return 1; }
    done
}
eventually 30 "every region serves networking.istio.io/v1 and multicluster.x-k8s.io/v1beta1" served

# ---- 2-4. per backend: apply, no churn, A@1 -> B@2 -> A@3 ---------------
for mesh in none istio cilium mcs; do
    if [ "$mesh" = none ]; then ns="mesh-plain"; else ns="mesh-$mesh"; fi
    if ! check "[$mesh] namespace $ns and DatabaseCluster $db (mesh $mesh) in every region" setup_db "$mesh" "$ns"; then
        continue
    fi
    check "[$mesh] render every region's objects, primary $A at epoch 1" render_all "$ns" "$A" 1
    check "[$mesh] server-side apply (field manager batond) in every region" apply_all "$ns" 1
    check "[$mesh] every cluster holds exactly the rendered routing objects, field by field" matches_rendered "$ns" 1
    compared "$ns" 1
    routing_is "$mesh" "$ns" "$A" 1
    rv1=$(rvs "$ns")
    apply_all "$ns" 1
    rv2=$(rvs "$ns")
    check "[$mesh] applying the same objects again changes no resourceVersion" \
        bash -c '[ -n "$1" ] && [ "$1" = "$2" ] || { printf "before: %s\nafter:  %s\n" "$1" "$2"; exit 1; }' _ "$rv1" "$rv2"

    check "[$mesh] switch to $B at epoch 2: render and apply in every region" switch_to "$ns" "$B" 2
    if [ "$mesh" = mcs ]; then
        check "[$mesh] before pruning, the comparison reports $A's ServiceExport as not rendered" stale_export "$ns" 2 "$A"
    fi
    check "[$mesh] prune what is no longer rendered (as batond does)" prune_all "$ns" 2
    echo "# [$mesh] pruned: $(tr '\n' ' ' < "$tmp/$ns/pruned.2")"
    check "[$mesh] after the switch to $B, exactly the rendered routing objects" matches_rendered "$ns" 2
    compared "$ns" 2
    routing_is "$mesh" "$ns" "$B" 2
    check "[$mesh] switch back to $A at epoch 3: render and apply in every region" switch_to "$ns" "$A" 3
    if [ "$mesh" = mcs ]; then
        check "[$mesh] before pruning, the comparison reports $B's ServiceExport as not rendered" stale_export "$ns" 3 "$B"
    fi
    check "[$mesh] prune what is no longer rendered (as batond does)" prune_all "$ns" 3
    echo "# [$mesh] pruned: $(tr '\n' ' ' < "$tmp/$ns/pruned.3")"
    check "[$mesh] after the switch back to $A, exactly the rendered routing objects" matches_rendered "$ns" 3
    compared "$ns" 3
    routing_is "$mesh" "$ns" "$A" 3
done

# ---- 5. deleting the DatabaseCluster removes everything it owned ----------
for mesh in none istio cilium mcs; do
    if [ "$mesh" = none ]; then ns="mesh-plain"; else ns="mesh-$mesh"; fi
    for r in "${regions[@]}"; do
        kc "$r" -n "$ns" delete dbc "$db" --wait=true --timeout=30s >/dev/null 2>&1 ||
            not_ok "[$mesh] delete the DatabaseCluster in $r"
    done
done
owned_left() {
    local ns r left=""
    for ns in mesh-plain mesh-istio mesh-cilium mesh-mcs; do
        for r in "${regions[@]}"; do
            left+=$(kc "$r" -n "$ns" get "sts,pdb,cm,svc,$dr,$vs,$se" -l "baton.dev/cluster=$db" \
                -o jsonpath="{range .items[*]}$r/$ns:{.kind}/{.metadata.name} {end}") || return 1
        done
    done
    [ -z "$left" ] || { echo "still there: $left"; return 1; }
}
eventually 90 "every backend: deleting the DatabaseCluster garbage-collects its Services, mesh objects and children in every region" owned_left
for ns in mesh-plain mesh-istio mesh-cilium mesh-mcs; do
    for r in "${regions[@]}"; do kc "$r" delete namespace "$ns" --wait=false >/dev/null 2>&1; done
done
tap_exit
