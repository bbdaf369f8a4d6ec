#!/usr/bin/env bash
# batonctl's command line against the real regions run.sh starts (no
# batond, no lab needed):
#  - help and exit codes: 0 help, 2 unknown command / bad flag / bad value;
#  - status over every region plus one that does not answer: the table and
#    -o json show it unreachable with the error, exit 0; exit 1 when no
#    region answers;
#  - a broken or missing kubeconfig is a clear error naming the file, exit 2;
#  - --region-config reads a batond config (region, kubeconfig, http.bind);
#  - switchover: a database that does not exist, a region that is not one
#    of the database's: exit 1 with a clear message; a real request sets
#    spec.primaryRegion and the request annotation in every region; --wait
#    with no batond to act on it times out with exit 1;
#  - pause/resume: spec.failover.mode in every region, --wait times out
#    without a batond, a change the API server refuses is exit 1;
#  - --context REGION=CTX over $KUBECONFIG merged as kubectl does, a fleet
#    file (~/.config/baton/fleet.yaml: `kubectl baton status` with nothing
#    else), its errors with FILE:LINE; an exec credential plugin reaching
#    the API server, and one that fails; -n NS NAME beside NS/NAME;
#  - a switchover after the loss of the primary's region needs --yes;
#  - fence/unfence: the forensic-fence annotation on the pod, its errors,
#    and --yes for the primary's instance;
#  - reinit: its refusals, its fence confirmed by (a fake) batond before
#    the region's claims and pods are deleted.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
: "${BATON_REGIONS_DIR:?run through tests/integration/run.sh (regions must be up)}"
export PATH=$top/tests/env/bin:$PATH
ctl=$top/${BATON_BUILD:-build/san}/bin/batonctl
[[ $ctl = /* ]] || ctl=$top/$ctl
read -r -a regions <<<"$BATON_REGION_NAMES"
if [ ! -x "$ctl" ]; then not_ok "$ctl is not built"; tap_exit; fi
if [ "${#regions[@]}" -lt 2 ]; then not_ok "needs 2 regions, got ${#regions[@]}"; tap_exit; fi
r1=${regions[0]} r2=${regions[1]}
tmp=$(mktemp -d /tmp/baton-ctl.XXXXXX)
kc() { kubectl --kubeconfig "$BATON_REGIONS_DIR/$1/admin.kubeconfig" "${@:2}"; }
fake_pid=
cleanup() {
    [ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null
    for r in "$r1" "$r2"; do kc "$r" delete dbc ctltest --ignore-not-found --wait=false >/dev/null 2>&1; done
    # the reinit tests' pod and claim: a claim left Pending here binds the
    # next test's PersistentVolume (the regions are shared)
    kc "$r2" delete pod "ctltest-$r2-0" --ignore-not-found --wait=false >/dev/null 2>&1
    kc "$r2" delete pvc "data-ctltest-$r2-0" --ignore-not-found --wait=false >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
# expect RC DESCRIPTION PATTERN CMD...: CMD exits RC and its output
# (stdout+stderr) matches the extended regex PATTERN
expect() {
    local rc=$1 what=$2 pat=$3 out got
    shift 3
    out=$("$@" 2>&1); got=$?
    if [ "$got" = "$rc" ] && grep -Eq -- "$pat" <<<"$out"; then
        ok "$what"
    else
        not_ok "$what (exit $got, want $rc)"; printf '#   %s\n' "${out//$'\n'/$'\n#   '}" | head -12
    fi
}
K1=$BATON_REGIONS_DIR/$r1/admin.kubeconfig
K2=$BATON_REGIONS_DIR/$r2/admin.kubeconfig
for r in "$r1" "$r2"; do kc "$r" apply -f "$top/crds/" >/dev/null; done
for r in "$r1" "$r2"; do kc "$r" wait --for condition=established crd/databaseclusters.baton.dev >/dev/null; done

# ---- help, usage errors -------------------------------------------------------
expect 0 "--help lists the commands" 'status.*switchover|switchover' "$ctl" --help
expect 2 "an unknown command is a usage error (exit 2)" "unknown command 'frobnicate'" "$ctl" frobnicate
expect 2 "no command at all: usage, exit 2" 'usage: batonctl' "$ctl"
expect 0 "status --help explains the columns and exit codes" 'Exit 0 if any region' "$ctl" status --help
expect 0 "switchover --help explains --wait" '--wait DURATION' "$ctl" switchover --help
expect 2 "an unknown flag is a usage error" 'unrecognized option|usage' "$ctl" status --frobnicate
expect 2 "-o wants table, wide, json or yaml" "-o wants table, wide, json or yaml, not 'xml'" "$ctl" status -o xml --kubeconfig "$r1=$K1"
expect 2 "status NS/DB must be NAMESPACE/NAME" "'nodb' is not NAMESPACE/NAME" "$ctl" status nodb --kubeconfig "$r1=$K1"
expect 2 "--batond wants NAME=URL" 'wants NAME=URL' "$ctl" status --batond http://127.0.0.1:1
expect 2 "--batond wants an http URL" "must start with http://" "$ctl" status --batond "$r1=127.0.0.1:1"
expect 2 "switchover --wait wants a duration" "--wait wants a duration like 60s, not 'soon'" \
    "$ctl" switchover default/x "$r2" --wait soon --kubeconfig "$r1=$K1"
expect 2 "switchover needs NS/DB and REGION" 'usage: batonctl switchover' "$ctl" switchover default/x --kubeconfig "$r1=$K1"
expect 2 "load needs --hosts and --out" 'usage: batonctl load' "$ctl" load
expect 2 "load rejects a bad duration" "wants a duration" "$ctl" load --hosts 127.0.0.1 --out "$tmp/l" --interval fast
expect 1 "report of a directory without a drill is an error" 'drill.json is missing' "$ctl" report "$tmp/none"

# ---- broken kubeconfigs -----------------------------------------------------------
printf 'apiVersion: v1\nkind: Config\nclusters: [ {{{ broken\n' >"$tmp/broken.kubeconfig"
expect 2 "a broken kubeconfig is a clear error naming the file" "broken.kubeconfig" \
    "$ctl" status --kubeconfig "$r1=$tmp/broken.kubeconfig"
expect 2 "a missing kubeconfig is a clear error naming the file" "$tmp/missing.kubeconfig" \
    "$ctl" status --kubeconfig "$r1=$tmp/missing.kubeconfig"
printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n' >"$tmp/empty.kubeconfig"
expect 2 "a kubeconfig without a context is a clear error" "empty.kubeconfig" \
    "$ctl" status --kubeconfig "$r1=$tmp/empty.kubeconfig"

# ---- kubectl plugin -----------------------------------------------------------
# `make install` links kubectl-baton to batonctl; real kubectl finds it on PATH
mkdir -p "$tmp/plugin" && ln -sf "$ctl" "$tmp/plugin/kubectl-baton"
expect 0 "kubectl baton (the plugin name make install links) runs batonctl" "^$r1 +yes " \
    env PATH="$tmp/plugin:$PATH" kubectl baton status --kubeconfig "$r1=$K1"

# ---- shell completion -----------------------------------------------------------
# comp WORD...: what `batonctl completion bash`, sourced in a real bash,
# offers for the last WORD
comp() {
    bash -c 'source <("$1" completion bash) || exit 1; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _batonctl; echo "${COMPREPLY[*]}"' _ "$ctl" "$@"
}
# every command --help lists is offered at the first word
all_commands_complete() {
    local offered c
    offered=" $(comp batonctl '') " || return 1
    for c in $("$ctl" --help | sed -n '/^commands:/,/^$/p' | grep -oE '^  [a-z]+'); do
        [[ $offered = *" $c "* ]] || { echo "--help lists '$c', completion does not offer it: $offered"; return 1; }
    done
}
expect 0 "completion bash: a command from its prefix" '^switchover$' comp batonctl sw
expect 0 "completion bash: drill scenarios" '^kill-region kill-batond kill-instance kill-primary-instance$' comp batonctl drill kill
expect 0 "completion bash: status's -o values" '^table wide json yaml$' comp batonctl status -o ''
expect 0 "completion bash: switchover's flags" '--wait' comp batonctl switchover --
check "completion bash offers every command --help lists" all_commands_complete
expect 0 "completion zsh: the same function through bashcompinit" '^#compdef batonctl' "$ctl" completion zsh
expect 2 "completion of an unknown shell is a usage error" "unknown shell 'fish'" "$ctl" completion fish

# ---- status with an unreachable region -----------------------------------------
# the same credentials, a server nobody listens on
sed 's#server: .*#server: https://127.0.0.1:1#' "$K2" >"$tmp/dead.kubeconfig"
expect 0 "status lists the dead region as not reachable, exit 0" "^dead +no " \
    "$ctl" status --kubeconfig "$r1=$K1,$r2=$K2" --kubeconfig "dead=$tmp/dead.kubeconfig"
expect 0 "status says why the dead region is unreachable" "^dead: API server unreachable: .*(onnect|refused)" \
    "$ctl" status --kubeconfig "$r1=$K1,$r2=$K2" --kubeconfig "dead=$tmp/dead.kubeconfig"
expect 0 "status lists the live regions as reachable" "^$r2 +yes " \
    "$ctl" status --kubeconfig "$r1=$K1,$r2=$K2" --kubeconfig "dead=$tmp/dead.kubeconfig"
check "status -o json: reachable yes for the live regions, no (with the error) for the dead one" bash -c "
    '$ctl' status -o json --kubeconfig '$r1=$K1,$r2=$K2,dead=$tmp/dead.kubeconfig' |
    jq -e '(.regions | map({(.name): .reachable}) | add) == {\"$r1\": \"yes\", \"$r2\": \"yes\", \"dead\": \"no\"}
           and (.regions[] | select(.name == \"dead\") | .api.error | length > 0)'"
check "status --watch=1s -o json: a compact document per interval until stopped (3 s: at least 2)" bash -c "
    out=\$(timeout 3 '$ctl' status --watch=1s -o json --kubeconfig '$r1=$K1'); [ \$? = 124 ] &&
    [ \"\$(jq -c 'select(.regions[0].reachable == \"yes\") | .at' <<<\"\$out\" | sort -u | wc -l)\" -ge 2 ]"
expect 2 "status --watch wants an interval" "--watch wants an interval like 2s, not 'soon'" \
    "$ctl" status --watch=soon --kubeconfig "$r1=$K1"
check "a bare kubeconfig path takes its directory's name as the region" bash -c "
    '$ctl' status -o json --kubeconfig '$K1' | jq -e '.regions[0].name == \"$r1\"'"
expect 0 "status: a batond that does not answer is shown as such" "$r1: batond unreachable" \
    "$ctl" status --kubeconfig "$r1=$K1" --batond "$r1=http://127.0.0.1:1"
expect 1 "status exits 1 when no region answers" "no region answered" \
    "$ctl" status --kubeconfig "dead=$tmp/dead.kubeconfig"
{
    echo "region: $r1"
    echo "kubeconfig: $K1"
    echo "peers:"
    echo "  - {name: $r2, raftAddress: \"127.0.0.1:1\", apiAddress: \"127.0.0.1:2\", kubeconfig: $K2}"
    echo "http: {bind: \"127.0.0.1:1\"}"
} >"$tmp/batond.yaml"
check "--region-config: the region, its peer (through the peer's kubeconfig) and its batond URL" bash -c "
    '$ctl' status -o json --region-config '$tmp/batond.yaml' |
    jq -e '[.regions[] | {name, reachable, url: .batond.url}] == [{name: \"$r1\", reachable: \"partial\", url: \"http://127.0.0.1:1\"}, {name: \"$r2\", reachable: \"yes\", url: null}]'"
printf 'region: %s\nbogusKey: 1\n' "$r1" >"$tmp/bad-batond.yaml"
expect 2 "--region-config with an unknown key is a clear error" "bad-batond.yaml" \
    "$ctl" status --region-config "$tmp/bad-batond.yaml"

# ---- contexts, $KUBECONFIG, the fleet file, exec plugins -----------------------
# One kubeconfig per region whose user is renamed: merged, kubectl's rule
# (the first file wins per name) would otherwise give r2's context r1's
# user "baton-admin". A file of the list that does not exist is skipped.
merged=$tmp/none.kubeconfig
for r in "${regions[@]}"; do
    sed "s/baton-admin/admin-$r/" "$BATON_REGIONS_DIR/$r/admin.kubeconfig" >"$tmp/kc-$r"
    merged+=":$tmp/kc-$r"
done
home=$tmp/home
mkdir -p "$home/.config/baton"
# only HOME and KUBECONFIG say where the regions are (no lab, no flags)
only_env() { env -u BATON_LAB_DIR -u BATON_FLEET -u XDG_CONFIG_HOME HOME="$home" KUBECONFIG="$merged" "$@"; }
check "--context REGION=CTX: contexts of \$KUBECONFIG, merged as kubectl does" bash -c "
    $(declare -f only_env); home='$home' merged='$merged'
    only_env '$ctl' status -o json --context '$r1=$r1,$r2=$r2' |
    jq -e '[.regions[] | {name, reachable, context: .api.context}] == [{name: \"$r1\", reachable: \"yes\", context: \"$r1\"}, {name: \"$r2\", reachable: \"yes\", context: \"$r2\"}]'"
expect 0 "--context with the region's --kubeconfig takes the context from that file" "^$r2 +yes " \
    "$ctl" status --kubeconfig "$r2=$K2" --context "$r2=$r2"
expect 2 "--context naming no context of the kubeconfig: a clear error" "no context named \"nope\"" \
    "$ctl" status --kubeconfig "$r1=$K1" --context "$r1=nope"
expect 2 "--context wants REGION=CONTEXT" "--context wants REGION=CONTEXT" \
    "$ctl" status --context "arn:aws:eks:x"
{
    echo "# every region of the test environment, named once"
    echo "regions:"
    for r in "${regions[@]}"; do
        echo "  $r:"
        echo "    context: $r"
    done
} >"$home/.config/baton/fleet.yaml"
# the acceptance of issue 19: kubectl baton status with only $KUBECONFIG
# holding the contexts (one per region) and a fleet file naming them
for r in "${regions[@]}"; do
    expect 0 "kubectl baton status: ~/.config/baton/fleet.yaml names contexts of \$KUBECONFIG ($r reachable)" "^$r +yes " \
        only_env PATH="$tmp/plugin:$PATH" kubectl baton status
done
check "kubectl baton status -o json: the fleet file's regions, each through its context" bash -c "
    $(declare -f only_env); home='$home' merged='$merged'
    only_env PATH='$tmp/plugin:$PATH' kubectl baton status -o json |
    jq -e '[.regions[] | select(.reachable == \"yes\" and .api.context == .name) | .name] == \$ARGS.positional' --args ${regions[*]}"
printf 'regions:\n  %s:\n    contxt: %s\n' "$r1" "$r1" >"$tmp/typo-fleet.yaml"
expect 2 "a fleet file with an unknown key: FILE:LINE and the key" "typo-fleet.yaml:3: regions.$r1.contxt: unknown key" \
    only_env BATON_FLEET="$tmp/typo-fleet.yaml" "$ctl" status
expect 2 "--fleet naming a file that does not exist" "missing-fleet.yaml: cannot read" \
    "$ctl" status --fleet "$tmp/missing-fleet.yaml"
printf 'regions:\n  %s: {kubeconfig: kc-%s}\n  %s: {kubeconfig: kc-%s, context: nope}\n' "$r1" "$r1" "$r2" "$r2" >"$tmp/fleet.yaml"
expect 2 "a fleet file's region whose context does not exist: FILE:LINE" "fleet.yaml:3: region $r2: .*no context named \"nope\"" \
    "$ctl" status --fleet "$tmp/fleet.yaml"
# exec credential plugins: one that prints the admin's client certificate
# as an ExecCredential (what EKS/GKE/AKS plugins print, with a token)
cat >"$tmp/cred-plugin" <<'SH'
#!/bin/sh
# usage: cred-plugin KUBECONFIG (the region's admin kubeconfig)
[ "$FAIL" = yes ] && { echo "cred-plugin: please log in first" >&2; exit 4; }
field() { sed -n "s/^ *$1: //p" "$2" | base64 -d; }
jq -n --arg c "$(field client-certificate-data "$1")" --arg k "$(field client-key-data "$1")" \
    '{apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential",
      status: {clientCertificateData: $c, clientKeyData: $k}}'
SH
chmod +x "$tmp/cred-plugin"
exec_kubeconfig() { # FILE FAIL
    sed '/^users:/,$d' "$K1" >"$1"
    cat >>"$1" <<YAML
users:
- name: baton-admin
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./cred-plugin
      args: [$K1]
      env: [{name: FAIL, value: "$2"}]
      interactiveMode: Never
contexts:
- name: $r1
  context: {cluster: $r1, user: baton-admin}
current-context: $r1
YAML
}
exec_kubeconfig "$tmp/exec.kubeconfig" no
exec_kubeconfig "$tmp/exec-fail.kubeconfig" yes
expect 0 "an exec credential plugin's client certificate reaches the API server" "^$r1 +yes " \
    "$ctl" status --kubeconfig "$r1=$tmp/exec.kubeconfig"
expect 1 "a failing exec plugin: the region is unreachable with the plugin's own words" \
    "$r1: API server unreachable: .*exited with status 4: cred-plugin: please log in first" \
    "$ctl" status --kubeconfig "$r1=$tmp/exec-fail.kubeconfig"

# ---- switchover -------------------------------------------------------------------
expect 1 "switchover of a database that does not exist: clear error, exit 1" \
    "DatabaseCluster default/nope was not found in any reachable region" \
    "$ctl" switchover default/nope "$r2" --kubeconfig "$r1=$K1,$r2=$K2"
for r in "$r1" "$r2"; do
    kc "$r" apply -f - >/dev/null <<YAML
apiVersion: baton.dev/v1alpha1
kind: DatabaseCluster
metadata: {name: ctltest, namespace: default}
spec:
  regions: [{name: $r1}, {name: $r2}]
  primaryRegion: $r1
  failover: {mode: manual, synchronous: false}
YAML
done
# -o wide: the phase's reason as batond writes it (the status subresource
# of the real API server; no batond runs here)
kc "$r1" patch dbc ctltest --subresource=status --type=merge \
    -p '{"status":{"phase":"Degraded","phaseReason":"1 of 2 data regions ready; not ready: mars (unreachable)"}}' >/dev/null
expect 0 "status -o wide adds the REASON column: the region's status.phaseReason" \
    "^$r1 .* Degraded .* 1 of 2 data regions ready; not ready: mars \(unreachable\)$" \
    "$ctl" status default/ctltest -o wide --kubeconfig "$r1=$K1"
check "status without -o wide has no REASON column" bash -c "
    ! '$ctl' status default/ctltest --kubeconfig '$r1=$K1' | grep -q 'REASON\|not ready: mars' &&
    '$ctl' status default/ctltest --kubeconfig '$r1=$K1' | grep -q '^$r1 .* Degraded'"
check "status -o yaml: the same document as -o json, in YAML" bash -c "
    '$ctl' status default/ctltest -o yaml --kubeconfig '$r1=$K1' >'$tmp/st.yaml' &&
    grep -qx -- '- name: $r1' '$tmp/st.yaml' && grep -Eq \"^    phaseReason: .?1 of 2 data regions ready\" '$tmp/st.yaml' &&
    python3 -c 'import json, sys, yaml; d = yaml.safe_load(open(sys.argv[1])); sys.exit(d[\"regions\"][0][\"databases\"][0][\"phase\"] != \"Degraded\")' '$tmp/st.yaml'"
check "status -o json carries phaseReason" bash -c "
    '$ctl' status default/ctltest -o json --kubeconfig '$r1=$K1' |
    jq -e '.regions[0].databases[0].phaseReason | startswith(\"1 of 2 data regions ready\")'"
# history: the promotions as the regions recorded them (status written
# through the status subresource, as batond writes it). The same epoch in
# two regions is one row, with the promoted region's own record.
kc "$r1" patch dbc ctltest --subresource=status --type=merge -p "{\"status\":{
    \"lastFailover\":{\"epoch\":3,\"from\":\"$r1\",\"to\":\"$r2\",\"reason\":\"switchover\",\"startedAt\":\"2026-12-05T10:00:00Z\",\"stepsMillis\":{\"serving\":990}},
    \"history\":[{\"epoch\":2,\"from\":\"$r2\",\"to\":\"$r1\",\"reason\":\"lease-expired\",\"startedAt\":\"2026-12-05T09:00:00Z\",\"stepsMillis\":{\"serving\":2710}}]}}" >/dev/null
kc "$r2" patch dbc ctltest --subresource=status --type=merge -p "{\"status\":{
    \"lastFailover\":{\"epoch\":3,\"from\":\"$r1\",\"to\":\"$r2\",\"reason\":\"switchover\",\"startedAt\":\"2026-12-05T10:00:01Z\",\"stepsMillis\":{\"serving\":812}}}}" >/dev/null
expect 0 "history: newest first, one row per epoch, the promoted region's own record, where it was seen" \
    "^3 +$r1 +$r2 +switchover +2026-12-05T10:00:01Z +812 +$r1,$r2\$" \
    "$ctl" history default/ctltest --kubeconfig "$r1=$K1,$r2=$K2"
expect 0 "history: the earlier promotion from status.history" \
    "^2 +$r2 +$r1 +lease-expired +2026-12-05T09:00:00Z +2710 +$r1\$" \
    "$ctl" history default/ctltest --kubeconfig "$r1=$K1,$r2=$K2"
expect 0 "history -n NS NAME is NS/NAME" \
    "^3 +$r1 +$r2 +switchover +2026-12-05T10:00:01Z +812 +$r1,$r2\$" \
    "$ctl" history -n default ctltest --kubeconfig "$r1=$K1,$r2=$K2"
expect 0 "status -n NS NAME is NS/NAME" "^$r1 .* Degraded" \
    "$ctl" status -n default ctltest --kubeconfig "$r1=$K1"
check "status -n NS: every database of NS, none of another" bash -c "
    '$ctl' status -n default -o json --kubeconfig '$r1=$K1' | jq -e '.regions[0].databases | (map(.database) | index(\"default/ctltest\")) != null and all(.database | startswith(\"default/\"))' &&
    '$ctl' status -n kube-system -o json --kubeconfig '$r1=$K1' | jq -e '.regions[0].databases == []'"
expect 2 "-n NS and NS/NAME naming two namespaces: a usage error" "-n other and 'default/ctltest' name two namespaces" \
    "$ctl" history -n other default/ctltest --kubeconfig "$r1=$K1"
expect 2 "a bare NAME without -n: a usage error that says so" "or give -n NAMESPACE NAME" \
    "$ctl" history ctltest --kubeconfig "$r1=$K1"
check "history -o json: two promotions, newest first" bash -c "
    '$ctl' history default/ctltest -o json --kubeconfig '$r1=$K1,$r2=$K2' | jq -e 'map(.epoch) == [3, 2]'"
expect 1 "history of a database no region has: clear error, exit 1" \
    "DatabaseCluster default/nope was not found in any reachable region" \
    "$ctl" history default/nope --kubeconfig "$r1=$K1"
expect 1 "switchover to a region the database does not have: clear error, exit 1" \
    "mars is not one of default/ctltest's regions \($r1, $r2\)" \
    "$ctl" switchover default/ctltest mars --kubeconfig "$r1=$K1,$r2=$K2"
expect 0 "switchover requests in every reachable region, skipping a dead one" \
    "dead: unreachable, skipped" \
    "$ctl" switchover default/ctltest "$r2" --kubeconfig "$r1=$K1,$r2=$K2,dead=$tmp/dead.kubeconfig"
for r in "$r1" "$r2"; do
    check "$r: spec.primaryRegion is $r2 and the request annotation names it" bash -c "
        [ \"\$(kubectl --kubeconfig $BATON_REGIONS_DIR/$r/admin.kubeconfig get dbc ctltest -o jsonpath='{.spec.primaryRegion}')\" = $r2 ] &&
        kubectl --kubeconfig $BATON_REGIONS_DIR/$r/admin.kubeconfig get dbc ctltest -o jsonpath='{.metadata.annotations.baton\.dev/switchover}' | grep -q '^$r2/batonctl-'"
done
expect 1 "switchover --wait with no batond acting on it times out with a clear message, exit 1" \
    "timed out after 2 s waiting for $r2 to be primary" \
    "$ctl" switchover default/ctltest "$r2" --wait 2s --kubeconfig "$r1=$K1,$r2=$K2"

# a switchover after the loss of the primary's region is a manual
# promotion: it asks (no terminal here: it needs --yes)
for r in "$r1" "$r2"; do
    kc "$r" patch dbc ctltest --subresource=status --type=merge -p "{\"status\":{\"primaryRegion\":\"$r1\"}}" >/dev/null
done
expect 1 "switchover while the primary's region does not answer: not without --yes, exit 1" \
    "primary's region $r1 does not answer.*|not confirmed: give --yes" \
    "$ctl" switchover default/ctltest "$r2" --kubeconfig "$r1=$tmp/dead.kubeconfig,$r2=$K2"
check "... and nothing was requested" test "$(kc "$r2" get dbc ctltest -o jsonpath='{.metadata.annotations.baton\.dev/switchover}')" = \
    "$(kc "$r1" get dbc ctltest -o jsonpath='{.metadata.annotations.baton\.dev/switchover}')"
expect 0 "switchover --yes after the loss of the primary's region: requested" \
    "$r2: switchover to $r2 requested" \
    "$ctl" switchover default/ctltest "$r2" --yes --kubeconfig "$r1=$tmp/dead.kubeconfig,$r2=$K2"
kc "$r2" patch dbc ctltest --subresource=status --type=merge \
    -p '{"status":{"primaryFailingSince":"2026-12-05T20:00:00Z"}}' >/dev/null
expect 1 "switchover while a region says the primary's lease expired: not without --yes" \
    "lease of the primary in $r1 expired at 2026-12-05T20:00:00Z" \
    "$ctl" switchover default/ctltest "$r2" --kubeconfig "$r1=$K1,$r2=$K2"
expect 0 "switchover back to the lost primary's region needs no --yes" \
    "$r1: switchover to $r1 requested" \
    "$ctl" switchover default/ctltest "$r1" --kubeconfig "$r1=$K1,$r2=$K2"

# fence / unfence: the forensic-fence annotation on one database pod of
# the region its name says (kwok pods; no batond acts on it here)
pod() { # REGION NAME LABELS (a YAML flow mapping)
    kc "$1" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $2, namespace: default, labels: $3}
spec: {containers: [{name: postgres, image: ctltest.invalid/none}]}
YAML
}
hold_of() { kc "$1" get pod "$2" -o jsonpath='{.metadata.annotations.baton\.dev/forensic-fence}'; }
pod "$r1" "ctltest-$r1-0" '{baton.dev/cluster: ctltest}'
pod "$r1" "ctltest-$r1-1" '{baton.dev/cluster: ctltest}'
pod "$r1" "ctltest-$r1-2" '{app: other}'
expect 2 "fence needs NS/DB and POD" 'usage: batonctl fence' "$ctl" fence default/ctltest --kubeconfig "$r1=$K1"
expect 2 "fence of a name that is no pod of the database: usage error" \
    "'other-0' is not a pod of default/ctltest: its pods are named ctltest-REGION-ORDINAL" \
    "$ctl" fence default/ctltest other-0 --kubeconfig "$r1=$K1"
expect 2 "fence of a pod in a region batonctl cannot reach: says which flag" \
    "ctltest-mars-0 is in region mars, and batonctl has no API server for it" \
    "$ctl" fence default/ctltest ctltest-mars-0 --kubeconfig "$r1=$K1"
expect 2 "unfence takes no --reason" "unfence takes no --reason" \
    "$ctl" unfence default/ctltest "ctltest-$r1-1" --reason x --kubeconfig "$r1=$K1"
expect 1 "fence of a pod that does not exist: exit 1" "$r1: pod default/ctltest-$r1-7:" \
    "$ctl" fence default/ctltest "ctltest-$r1-7" --kubeconfig "$r1=$K1,$r2=$K2"
expect 1 "fence of a pod that is not the database's: exit 1" "is not a database pod of ctltest" \
    "$ctl" fence default/ctltest "ctltest-$r1-2" --kubeconfig "$r1=$K1,$r2=$K2"
expect 0 "fence a replica's pod with a reason" "$r1: default/ctltest-$r1-1 fenced for forensics: disk errors \(batonctl, " \
    "$ctl" fence default/ctltest "ctltest-$r1-1" --reason "disk errors" --kubeconfig "$r1=$K1,$r2=$K2"
check "... the pod carries baton.dev/forensic-fence with the reason" bash -c "[[ '$(hold_of "$r1" "ctltest-$r1-1")' == 'disk errors (batonctl, '* ]]"
expect 0 "unfence -n NS NAME POD removes it" "$r1: default/ctltest-$r1-1 unfenced" \
    "$ctl" unfence -n default ctltest "ctltest-$r1-1" --kubeconfig "$r1=$K1,$r2=$K2"
check "... the annotation is gone" test -z "$(hold_of "$r1" "ctltest-$r1-1")"
expect 1 "fence of the primary's instance without a terminal: not without --yes, exit 1" \
    "ctltest-$r1-0 is the primary's instance .*|not confirmed: give --yes" \
    "$ctl" fence default/ctltest "ctltest-$r1-0" --kubeconfig "$r1=$K1,$r2=$K2"
check "... and the pod is not fenced" test -z "$(hold_of "$r1" "ctltest-$r1-0")"
expect 0 "fence --yes of the primary's instance" "fenced for forensics: no reason given" \
    "$ctl" fence default/ctltest "ctltest-$r1-0" --yes --kubeconfig "$r1=$K1,$r2=$K2"
check "... the pod is fenced" bash -c "[ -n '$(hold_of "$r1" "ctltest-$r1-0")' ]"
kc "$r1" delete pod "ctltest-$r1-0" "ctltest-$r1-1" "ctltest-$r1-2" --wait=false >/dev/null 2>&1

# reinit: a replica region's claims and pods go, once its batond holds
# them. A fake batond for both regions answers /v1/status from a file.
cat >"$tmp/fakebatond.py" <<'PY'
import http.server, sys
status_file, port_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open(status_file, 'rb').read()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
open(port_file, 'w').write(str(s.server_port))
s.serve_forever()
PY
echo '{"agents": []}' >"$tmp/status.json"
python3 "$tmp/fakebatond.py" "$tmp/status.json" "$tmp/port" &
fake_pid=$!
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
fake=http://127.0.0.1:$(cat "$tmp/port")
kc "$r2" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-ctltest-$r2-0, namespace: default}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: ctltest-$r2-0, namespace: default, labels: {baton.dev/cluster: ctltest}}
spec:
  containers: [{name: postgres, image: ctltest.invalid/none}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data-ctltest-$r2-0}}]
YAML
both=(--kubeconfig "$r1=$K1,$r2=$K2" --batond "$r1=$fake,$r2=$fake")
expect 2 "reinit without the region's batond: says it needs it" \
    "reinit needs region $r2's API server and its batond" \
    "$ctl" reinit default/ctltest "$r2" --yes --kubeconfig "$r1=$K1,$r2=$K2"
expect 1 "reinit while a region says the primary's lease expired: refused" \
    "refused: $r2's status says the primary's lease expired at .*no primary to clone from" \
    "$ctl" reinit default/ctltest "$r2" --yes "${both[@]}"
kc "$r2" patch dbc ctltest --subresource=status --type=merge -p '{"status":{"primaryFailingSince":null}}' >/dev/null
expect 1 "reinit of the primary's region: refused" \
    "names $r1 as the primary region: switch over first" \
    "$ctl" reinit default/ctltest "$r1" --yes "${both[@]}"
expect 1 "reinit of a region the database does not have" "mars is not one of the regions of default/ctltest" \
    "$ctl" reinit default/ctltest mars --yes --kubeconfig "$r1=$K1,mars=$K2" --batond "mars=$fake"
expect 1 "reinit without a terminal: not without --yes" \
    "reinit deletes the data of default/ctltest in $r2: ctltest-$r2-0 \(data-ctltest-$r2-0\).*|not confirmed: give --yes" \
    "$ctl" reinit default/ctltest "$r2" "${both[@]}"
check "... and the pod was not even fenced" test -z "$(hold_of "$r2" "ctltest-$r2-0")"
expect 1 "reinit whose fences batond does not confirm: nothing deleted" \
    "$r2's batond holds 0 of 1 pods after 30 s" \
    "$ctl" reinit default/ctltest "$r2" --yes "${both[@]}"
check "... the fence it set is removed again, the claim and the pod are still there" bash -c "
    [ -z \"\$(kubectl --kubeconfig $K2 get pod ctltest-$r2-0 -o jsonpath='{.metadata.annotations.baton\.dev/forensic-fence}')\" ] &&
    [ -z \"\$(kubectl --kubeconfig $K2 get pvc data-ctltest-$r2-0 -o jsonpath='{.metadata.deletionTimestamp}')\" ]"
echo "{\"agents\": [{\"pod\": \"default/ctltest-$r2-0\", \"forensicFence\": \"reinit\"}]}" >"$tmp/status.json"
echo "{\"agents\": [{\"pod\": \"default/ctltest-$r2-0\", \"db\": \"default/ctltest\", \"forensicFence\": \"reinit\"}]}" >"$tmp/status.json"
expect 0 "status -o wide: FENCED names the pods the region's batond holds" \
    "^$r2 .* default/ctltest .* ctltest-$r2-0 " \
    "$ctl" status default/ctltest -o wide "${both[@]}"
check "status -o json: the held pods and why" bash -c "
    '$ctl' status default/ctltest -o json ${both[*]} | jq -e '.regions[] | select(.name == \"$r2\") | .databases[0].fenced == {\"ctltest-$r2-0\": \"reinit\"}'"
expect 0 "reinit once batond holds the pods: claim and pod deleted" \
    "$r2: default/ctltest-$r2-0 deleted with its claim" \
    "$ctl" reinit default/ctltest "$r2" --yes "${both[@]}"
eventually 30 "... the claim and the pod are gone or going" bash -c "
    pvc=\$(kubectl --kubeconfig $K2 get pvc data-ctltest-$r2-0 --ignore-not-found -o jsonpath='{.metadata.uid}/{.metadata.deletionTimestamp}')
    pod=\$(kubectl --kubeconfig $K2 get pod ctltest-$r2-0 --ignore-not-found -o jsonpath='{.metadata.uid}/{.metadata.deletionTimestamp}')
    { [ -z \"\$pvc\" ] || [[ \$pvc != */ ]]; } && { [ -z \"\$pod\" ] || [[ \$pod != */ ]]; }"
kill "$fake_pid" 2>/dev/null

# pause / resume: spec.failover.mode in every region (ctltest has two
# regions, so the CRD's rule refuses automatic: a clear error, exit 1)
expect 2 "pause needs NS/DB" 'usage: batonctl pause' "$ctl" pause --kubeconfig "$r1=$K1"
expect 1 "pause of a database that does not exist: clear error, exit 1" \
    "DatabaseCluster default/nope was not found in any reachable region" \
    "$ctl" pause default/nope --kubeconfig "$r1=$K1,$r2=$K2"
expect 1 "pause -n NS NAME of a database that does not exist" \
    "DatabaseCluster default/nope was not found in any reachable region" \
    "$ctl" pause -n default nope --kubeconfig "$r1=$K1,$r2=$K2"
for r in "$r1" "$r2"; do kc "$r" patch dbc ctltest --type merge -p '{"spec":{"failover":{"mode":"manual"}}}' >/dev/null; done
expect 0 "pause sets failover.mode manual in every reachable region" "$r2: failover.mode manual" \
    "$ctl" pause default/ctltest --kubeconfig "$r1=$K1,$r2=$K2"
for r in "$r1" "$r2"; do
    check "$r: spec.failover.mode is manual" test "$(kc "$r" get dbc ctltest -o jsonpath='{.spec.failover.mode}')" = manual
done
expect 1 "pause --wait with no batond to commit it times out naming status.failoverMode" \
    "failover.mode manual in force in 0 of 2 reachable regions" \
    "$ctl" pause default/ctltest --wait 2s --kubeconfig "$r1=$K1,$r2=$K2"
expect 1 "resume of a two-region database: the API server's rule, exit 1" \
    "no region accepted the change" \
    "$ctl" resume default/ctltest --kubeconfig "$r1=$K1,$r2=$K2"
tap_exit
