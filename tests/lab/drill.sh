#!/usr/bin/env bash
# drill.sh — failure drills in the lab, with reports (docs/lab.md).
#
#   drill.sh SCENARIO [--repeat N] [--report DIR] [--db NS/NAME]
#            [--timeout S] [--no-check] [--delay-ms MS] [--hold S]
#            [--lab netns|kind]
#   (also: batonctl drill ...)
#
# Scenarios (number or name):
#   1 kill-region   SIGKILL every process of the primary region: its region
#                   host's namespace (control plane, batond), its pod hosts
#                   (agent, PostgreSQL) and its lab kubelet
#   2 partition     cut every link of the primary region (lab.sh isolate)
#   3 kill-batond   SIGKILL only the primary region's batond
#   4 pause-agent   SIGSTOP the primary instance's baton-agent (a paused or
#                   starved agent; PostgreSQL and the network stay up, so
#                   clients keep reaching the old primary): PostgreSQL itself
#                   must refuse writes once the lease ends (baton_lease),
#                   while another region is promoted; SIGCONT afterwards,
#                   and the old primary must rejoin as a replica
#   pause-region    freeze the whole primary region (SIGSTOP of every
#                   process of it: control plane, batond, lab kubelet,
#                   agent, PostgreSQL; on kind `docker pause` of its node):
#                   another region is promoted while the old primary's
#                   processes stand still mid-step; then SIGCONT, and the
#                   old primary wakes with its lease long over: it must
#                   not take a write and must rejoin as a replica
#   7 partition-control
#                   cut only the primary region's host (control plane and
#                   batond, lab.sh isolate-control): its database instance
#                   keeps its links, so clients and the prober still reach
#                   the old primary; its lease must end inside PostgreSQL
#                   while another region is promoted; healed afterwards
#   5 switchover    planned: batonctl switchover to the next region
#   6 heal          partition the primary region, wait for the failover,
#                   then heal it: measured is the rejoin (the old primary
#                   becomes a replica of the new one, no manual step)
#   kill-instance   (netns lab, LAB_REPLICAS=2 make lab)
#                   cut the link of a standby region's designated instance
#                   (lab.sh isolate-pod: a lost node under one instance;
#                   its pod object stays): the region must move its
#                   designation to the sibling (JOIN, LEAVE, RELEASE:
#                   status.regions[].designated changes; measured as
#                   designationMs, from the cut), then the primary region is
#                   killed: the fleet must fail over with no acknowledged
#                   write lost, the sibling counting as the region's copy.
#                   The prober writes to every instance, siblings too.
#                   Restored: the pod's link, then the region
#   kill-primary-instance
#                   (netns lab, LAB_REPLICAS=2 make lab)
#                   cut the link of the primary region's designated
#                   instance only (lab.sh isolate-pod): its region, batond
#                   and sibling stay up. The region says its instance is
#                   down, the lease lapses, and the sibling may be promoted
#                   at epoch + 1 in the same region (docs/design-per-instance.md
#                   §4) when it holds every acknowledged write (synchronous:
#                   its final at or past every member's), else another
#                   region is; either way no write lost, no split brain.
#                   Reported: the instance promoted (siblingPromoted).
#                   Restored: the pod's link; the old instance must come
#                   back as a replica
#   manual          batonctl pause --wait on the live NS/NAME (failover.mode
#                   manual in every region, in force in Raft), kill the
#                   primary region, check
#                   that nothing is promoted for 4 lease periods, then
#                   promote with batonctl switchover (the same request as a
#                   planned switchover); batonctl resume --wait after the
#                   region is restored
#   delay-agent     hold what the primary region's batond sends to its
#                   agents (orders, status polls, lease answers) --delay-ms
#                   (default 1500) for --hold seconds (default 20), with
#                   lab.sh delay (an NFQUEUE delayer: no netem here): the
#                   agent counts its lease from when it asked, so late
#                   answers must shorten it, never stretch it; whatever
#                   batond decides meanwhile (keep the primary, fence it,
#                   fail over), no two instances may accept writes and no
#                   acknowledged write may be lost. Measured: from the end
#                   of the delay until writes are acknowledged again
#   steady          no fault: the write load for --duration seconds
#                   (default 600) while the primary agent's
#                   /v1/status is sampled every 250 ms; fails on any fence
#                   of the primary, any sample with less than
#                   --min-lease-ms (default 1000) of lease left, or any
#                   write error
#   all             1 2 3 5 6
#   e2e             1 2 5 6 (what make e2e runs)
#
# Two labs (--lab, or BATON_LAB; default: the network-namespace lab when
# it is up (tests/lab/run/regions), else the kind lab when `make kind-lab`
# recorded clusters (build/kind-lab/clusters.created)). On kind
# (docs/kind.md) the database is default/orders and the faults are the
# containers': kill-region = `docker kill` of the region's node container
# (restored: reconnected to the lab network at its old address, started,
# `images/kind/lab.sh routes`); partition / heal = `docker network
# disconnect` / `connect --ip` of the node; kill-batond = SIGKILL of
# batond's container on its node (crictl stop -t 0; the kubelet restarts
# it); pause-agent = SIGSTOP of the primary pod's baton-agent inside its
# node (PostgreSQL and the network stay up, as on the netns lab; the
# kubelet's liveness probe may restart the stopped container). The host reaches
# the pods through routes lab.sh routes adds (pod ranges via each node).
#
# Each run: the write load starts (batonctl load: a write every 20 ms to
# whichever instance accepts writes, a probe write on every instance every
# 100 ms), waits for steady writes, injects the fault, waits (bounded) for
# convergence: every surviving region's status names a new primary at a
# higher epoch and writes are acknowledged by that primary's instance; then
# stops the load, which reads back every acknowledged id, and writes
# DIR/<scenario>-<i>/{drill.json,report.json,timeline.svg}. Drills 1-3
# restore what they broke afterwards (region restarted, link healed,
# batond restarted) and wait for the rejoin, so the next drill starts from
# a whole fleet. With --repeat N it prints RTO p50/p99 and lost writes per
# scenario and writes DIR/summary.json.
#
# Exit 0 if every run converged with no split brain and no lost
# acknowledged write (synchronous mode), 1 otherwise (--no-check: always
# 0 once the reports are written), 2 on usage errors.
#
# Environment: BATON_LAB_DIR (default tests/lab/run), BATON_BUILD
# (default build/plain), BATONCTL (the batonctl binary; batonctl drill sets
# it).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
lab=${BATON_LAB_DIR:-$top/tests/lab/run}
export BATON_LAB_DIR=$lab
build=${BATON_BUILD:-build/plain}
[[ $build = /* ]] || build=$top/$build
batonctl=${BATONCTL:-$build/bin/batonctl}
labsh=$top/tests/lab/lab.sh
R=$lab/regions
export PATH=$top/tests/env/bin:$PATH

log() { printf '[drill %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '[drill] error: %s\n' "$*" >&2; exit 2; }
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

scenario="" repeat=1 report="" ref=lab/orders timeout=90 check=1
duration=600 min_lease=1000 delay_ms=1500 hold=20 labkind=${BATON_LAB:-} ref_set=0
while [ $# -gt 0 ]; do
    case $1 in
        --repeat) repeat=${2:-}; shift 2 ;;
        --report) report=${2:-}; shift 2 ;;
        --db) ref=${2:-}; ref_set=1; shift 2 ;;
        --lab) labkind=${2:-}; shift 2 ;;
        --timeout) timeout=${2:-}; shift 2 ;;
        --no-check) check=0; shift ;;
        --duration) duration=${2:-}; shift 2 ;;
        --min-lease-ms) min_lease=${2:-}; shift 2 ;;
        --delay-ms) delay_ms=${2:-}; shift 2 ;;
        --hold) hold=${2:-}; shift 2 ;;
        -h|--help|help) usage; exit 0 ;;
        -*) die "unknown flag '$1' (see --help)" ;;
        *) [ -z "$scenario" ] || die "one scenario at a time ('$scenario', then '$1')"; scenario=$1; shift ;;
    esac
done
[ -n "$scenario" ] || { usage >&2; exit 2; }
[[ $repeat =~ ^[1-9][0-9]*$ ]] || die "--repeat wants a positive number"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds"
[[ $delay_ms =~ ^[0-9]+$ ]] || die "--delay-ms wants milliseconds"
[[ $hold =~ ^[1-9][0-9]*$ ]] || die "--hold wants seconds"
kind_state=${BATON_KIND_LAB:-$top/build/kind-lab}
if [ -z "$labkind" ]; then
    if [ -f "$R/regions" ]; then labkind=netns
    elif [ -s "$kind_state/clusters.created" ]; then labkind=kind
    else labkind=netns; fi
fi
case $labkind in
    netns) ;;
    kind) [ "$ref_set" = 1 ] || ref=default/orders ;;
    *) die "--lab wants netns or kind" ;;
esac
[[ $ref == */* ]] || die "--db wants NAMESPACE/NAME"
ns=${ref%%/*} db=${ref#*/}
case $scenario in
    1|kill-region) list=(kill-region) ;;
    2|partition) list=(partition) ;;
    3|kill-batond) list=(kill-batond) ;;
    4|pause-agent) list=(pause-agent) ;;
    pause-region) list=(pause-region) ;;
    7|partition-control) list=(partition-control) ;;
    8|delay-agent) list=(delay-agent) ;;
    5|switchover) list=(switchover) ;;
    6|heal) list=(heal) ;;
    manual) list=(manual) ;;
    kill-instance) list=(kill-instance) ;;
    kill-primary-instance) list=(kill-primary-instance) ;;
    steady) list=(steady) ;;
    all) list=(kill-region partition kill-batond switchover heal) ;;
    e2e) list=(kill-region partition switchover heal) ;;
    *) die "unknown scenario '$scenario' (1 kill-region, 2 partition, 3 kill-batond, 4 pause-agent, 5 switchover, 6 heal, 7 partition-control, 8 delay-agent, pause-region, manual, kill-instance, kill-primary-instance, steady, all, e2e)" ;;
esac
[ "$(id -u)" -eq 0 ] || die "drills need root (network namespaces, or the Docker engine of the kind lab)"
[ -x "$batonctl" ] || die "$batonctl is not built (make BUILD=${build#"$top"/} ${build#"$top"/}/bin/batonctl)"
if [ "$labkind" = kind ]; then
    [ -s "$kind_state/clusters.created" ] || die "the kind lab is not up ($kind_state/clusters.created): 'make kind-lab' first"
    mapfile -t regions < <(sed -n 's/^baton-//p' "$kind_state/clusters.created")
    docker=$("$top/images/dockerd.sh" cli)
    kind_net=baton-kind
    # batonctl switchover/pause/resume: the regions' kubeconfigs
    fleet=(--kubeconfig "$(for r in "${regions[@]}"; do printf '%s=%s/%s.kubeconfig,' "$r" "$kind_state" "$r"; done | sed 's/,$//')")
    # the host's routes to the pods (and the nodes' cross-region routes)
    "$top/images/kind/lab.sh" routes >/dev/null 2>&1 || die "images/kind/lab.sh routes failed (is the kind lab up?)"
    report=${report:-$kind_state/reports/$(date -u +%Y%m%dT%H%M%SZ)}
else
    [ -f "$R/regions" ] || die "the lab is not up in $lab: 'batonctl lab up' (or tests/lab/lab.sh up) first"
    mapfile -t regions <"$R/regions"
fi
report=${report:-$lab/reports/$(date -u +%Y%m%dT%H%M%SZ)}
[ -n "${fleet+x}" ] || fleet=() # the netns lab: batonctl finds it itself
mkdir -p "$report" || die "cannot create $report"

now_ms() { date +%s%3N; }
kc() {
    if [ "$labkind" = kind ]; then
        kubectl --kubeconfig "$kind_state/$1.kubeconfig" --request-timeout=3s "${@:2}"
    else
        kubectl --kubeconfig "$R/$1/admin.kubeconfig" --request-timeout=3s "${@:2}"
    fi
}
st() { kc "$1" -n "$ns" get dbc "$db" -o jsonpath="{.status.$2}" 2>/dev/null; }
region_ip() { sed -n 's/^BATON_IP=//p' "$R/$1/region.env"; }
# designated REGION: the pod a failover to REGION promotes, as REGION's
# status names it (the FSM's; <db>-<region>-0 until a designation moves it)
designated() {
    local d
    d=$(st "$1" "regions[?(@.name==\"$1\")].designated")
    echo "${d:-$db-$1-0}"
}
pod_ip() { kc "$1" -n "$ns" get pod "$(designated "$1")" -o jsonpath='{.status.podIP}' 2>/dev/null; }
# every instance's address, siblings too (kill-instance: the prober must
# reach each, so a second writable instance anywhere is seen)
all_pod_ips() {
    local r
    for r in "${regions[@]}"; do
        kc "$r" -n "$ns" get pods -l "baton.dev/cluster=$db" -o jsonpath='{range .items[*]}{.status.podIP}{"\n"}{end}' 2>/dev/null |
            while read -r ip; do [ -n "$ip" ] && echo "$ip $r"; done
    done
}
agent() { curl -fs --max-time 1 "http://$1:8082/v1/status" 2>/dev/null; }
# wait_for SECONDS CMD...: poll every 0.5 s; 0 if CMD succeeded in time
wait_for() { wait_every 0.5 "$@"; }
# wait_every INTERVAL SECONDS CMD...: the same, every INTERVAL s (for a
# cheap CMD whose moment is the measure)
wait_every() {
    local every=$1 deadline=$(($(date +%s) + $2)); shift 2
    while :; do
        "$@" && return 0
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep "$every"
    done
}

# ---- the database ---------------------------------------------------------
declare -A podip
declare -A ipregion # every address a region's instance had in this run (the report's instances)
ensure_db() {
    local r
    if ! kc "${regions[0]}" -n "$ns" get dbc "$db" >/dev/null 2>&1; then
        [ "$labkind" = kind ] && die "no $ns/$db in the kind lab (make kind-lab applies examples/orders-3-regions.yaml)"
        log "applying $ns/$db in every region"
        "$labsh" apply-example "$ns/$db" || die "apply-example failed"
    fi
}
# every region agrees on one primary, Healthy, all instances ready, and
# that primary's agent says writable
healthy() {
    local r p="" e="" x
    for r in "${regions[@]}"; do
        x=$(kc "$r" -n "$ns" get dbc "$db" -o jsonpath='{.status.primaryRegion}/{.status.epoch}/{.status.phase}' 2>/dev/null) || return 1
        [ "${x##*/}" = Healthy ] || return 1
        x=${x%/*}
        [ -z "$p" ] && p=$x
        [ "$x" = "$p" ] || return 1
    done
    for r in "${regions[@]}"; do
        [ -n "${podip[$r]:-}" ] || podip[$r]=$(pod_ip "$r")
        [ -n "${podip[$r]}" ] || return 1
        ipregion[${podip[$r]}]=$r
    done
    # and what the instances themselves say: the primary writable with
    # every other instance attached as a standby, each of those a replica
    # (status alone has said 3/3 ready while a replica sat stopped)
    p=${p%/*}
    agent "${podip[$p]}" | jq -e --argjson n $((${#regions[@]} - 1)) \
        '.role == "primary" and .writable == true and ((.standbys // []) | length) >= $n' >/dev/null 2>&1 || return 1
    for r in "${regions[@]}"; do
        [ "$r" = "$p" ] && continue
        agent "${podip[$r]}" | jq -e '.role == "replica"' >/dev/null 2>&1 || return 1
    done
}
# set_mode automatic|manual: batonctl pause/resume (spec.failover.mode in
# every region), waiting until every region's status says it is in force
# (committed in Raft)
set_mode() {
    local verb=resume
    [ "$1" = manual ] && verb=pause
    "$batonctl" "$verb" "${fleet[@]}" "$ns/$db" --wait 60s >/dev/null
}
fleet_state() { # "primary/epoch" as the first answering region (or SKIP) says
    local r x
    for r in "${regions[@]}"; do
        [ "$r" = "${1:-}" ] && continue
        x=$(kc "$r" -n "$ns" get dbc "$db" -o jsonpath='{.status.primaryRegion}/{.status.epoch}' 2>/dev/null) &&
            [ -n "$x" ] && { echo "$x"; return 0; }
    done
    return 1
}
# the application role the load writes as, through the primary's socket:
# not a superuser and at most 40 connections, so however the load's
# connections pile up in an outage, the agent's own (superuser, reserved
# slots) still get in
ensure_app_role() { # on every primary socket of region $1 (one per database)
    local p=$1 sock done=1
    if [ "$labkind" = kind ]; then # psql in the database pod's container
        kc "$p" -n "$ns" exec "$db-$p-0" -c baton-agent -- psql -h /var/lib/postgresql/data/run -U postgres -d postgres -Atqc \
            "SELECT NOT pg_is_in_recovery()" 2>/dev/null | grep -q t || return 1
        kc "$p" -n "$ns" exec "$db-$p-0" -c baton-agent -- psql -h /var/lib/postgresql/data/run -U postgres -d postgres -qc \
            "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN CREATE ROLE app LOGIN PASSWORD 'app' CONNECTION LIMIT 40; END IF; END\$\$" -c "GRANT CREATE ON SCHEMA public TO app" \
            >/dev/null 2>&1
        return
    fi
    for sock in "$lab"/volumes/"$p"/*/run; do
        [ -S "$sock/.s.PGSQL.5432" ] || continue
        if psql -h "$sock" -U postgres -d postgres -Atqc "SELECT NOT pg_is_in_recovery()" 2>/dev/null | grep -q t; then
            psql -h "$sock" -U postgres -d postgres -qc \
                "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'app') THEN CREATE ROLE app LOGIN PASSWORD 'app' CONNECTION LIMIT 40; END IF; END\$\$" -c "GRANT CREATE ON SCHEMA public TO app" \
                >/dev/null 2>&1 && done=0
        fi
    done
    return $done
}

# ---- faults -------------------------------------------------------------------
# ---- kind: the faults are the node containers' ----------------------------
node_of() { echo "baton-$1-control-plane"; }
node_ip() { "$docker" inspect -f "{{(index .NetworkSettings.Networks \"$kind_net\").IPAddress}}" "$(node_of "$1")" 2>/dev/null; }
declare -A kind_ip
kind_remember() { local r; for r in "${regions[@]}"; do [ -n "${kind_ip[$r]:-}" ] || kind_ip[$r]=$(node_ip "$r"); done; }
kind_kill_region() { kind_remember; "$docker" kill "$(node_of "$1")" >/dev/null; }
kind_api_up() { kc "$1" get --raw /readyz >/dev/null 2>&1; }
kind_restore_region() { # at the node's old address: the peers' kubeconfigs and routes name it
    local r=$1
    {
        "$docker" network disconnect -f "$kind_net" "$(node_of "$r")"
        "$docker" network connect --ip "${kind_ip[$r]}" "$kind_net" "$(node_of "$r")" &&
            "$docker" start "$(node_of "$r")" && wait_for 180 kind_api_up "$r" &&
            "$top/images/kind/lab.sh" routes
    } >>"$2/restore.log" 2>&1
}
kind_isolate() { kind_remember; "$docker" network disconnect -f "$kind_net" "$(node_of "$1")"; }
kind_heal() {
    "$docker" network connect --ip "${kind_ip[$1]}" "$kind_net" "$(node_of "$1")" &&
        "$top/images/kind/lab.sh" routes
}
# pause-agent on kind: SIGSTOP the database pod's baton-agent (its
# container's first process; PostgreSQL, its child, and the network stay
# up, so clients keep reaching the old primary). Found by the pod's name
# through the node's CRI, signalled by pid inside the node; the kubelet's
# liveness probe may restart the container while it is stopped, so the
# SIGCONT goes only to the same container's same pid.
kind_agent_container() {
    "$docker" exec "$(node_of "$1")" crictl ps -q --name '^baton-agent$' \
        --label "io.kubernetes.pod.name=$db-$1-0" 2>/dev/null | head -1
}
kind_container_pid() {
    "$docker" exec "$1" crictl inspect -o go-template --template '{{.info.pid}}' "$2" 2>/dev/null
}
kind_pause_agent() {
    local node c pid
    node=$(node_of "$1")
    c=$(kind_agent_container "$1") && [ -n "$c" ] || { log "no baton-agent container of $db-$1-0 on $node"; return 1; }
    pid=$(kind_container_pid "$node" "$c") && [ "$pid" -gt 1 ] 2>/dev/null || { log "no pid for container $c on $node"; return 1; }
    "$docker" exec "$node" kill -STOP "$pid" || return 1
    cur_paused_kind="$node $c $pid"
    # docker exec takes seconds on a loaded machine: when the stop landed
    echo "$(now_ms) SIGSTOP of baton-agent pid $pid (container $c on $node) returned"
}
kind_resume_agent() { # $1 = "node container pid"
    local node c pid
    read -r node c pid <<<"$1"
    [ "$(kind_container_pid "$node" "$c")" = "$pid" ] || { log "the paused agent's container $c was replaced (liveness probe): nothing to resume"; return 0; }
    "$docker" exec "$node" kill -CONT "$pid"
}
kind_kill_batond() {
    local c
    c=$("$docker" exec "$(node_of "$1")" crictl ps -q --name '^batond$' 2>/dev/null | head -1)
    [ -n "$c" ] || { log "no batond container on $(node_of "$1")"; return 1; }
    "$docker" exec "$(node_of "$1")" crictl stop -t 0 "$c" >/dev/null
}

heal_region() {
    if [ "$labkind" = kind ]; then kind_heal "$1"; else "$labsh" heal "$1"; fi
}
kill_region() {
    local r=$1 ns_ pid f
    if [ "$labkind" = kind ]; then kind_kill_region "$r"; return; fi
    pid=$(cat "$lab/pids/labkubelet-$r.pid" 2>/dev/null) && kill -KILL "$pid" 2>/dev/null
    for ns_ in "baton-$r" $(sed -n 's/^netns=//p' "$lab"/state/"$r"/pods/*/state 2>/dev/null); do
        for pid in $(ip netns pids "$ns_" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    done
    f=$lab/pids/batond-$r.pid
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
    return 0
}
# pause-region: every process kill_region would kill, stopped instead
# (the lab kubelet and batond first, so nothing restarts what stops); on
# kind the node container is frozen (docker pause: its cgroup freezer).
# The stopped pids are kept for the SIGCONT.
pause_region() {
    local r=$1 ns_ pid f
    if [ "$labkind" = kind ]; then
        "$docker" pause "$(node_of "$r")" && cur_paused_region="kind:$(node_of "$r")"
        echo "$(now_ms) docker pause of $(node_of "$r") returned"
        return 0
    fi
    cur_paused_region=""
    for f in "$lab/pids/labkubelet-$r.pid" "$lab/pids/batond-$r.pid"; do
        pid=$(cat "$f" 2>/dev/null) && kill -STOP "$pid" 2>/dev/null && cur_paused_region+=" $pid"
    done
    for ns_ in "baton-$r" $(sed -n 's/^netns=//p' "$lab"/state/"$r"/pods/*/state 2>/dev/null); do
        for pid in $(ip netns pids "$ns_" 2>/dev/null); do
            kill -STOP "$pid" 2>/dev/null && cur_paused_region+=" $pid"
        done
    done
    return 0
}
resume_region() {
    local pid
    case $cur_paused_region in
        kind:*) "$docker" unpause "${cur_paused_region#kind:}" ;;
        *) for pid in $cur_paused_region; do kill -CONT "$pid" 2>/dev/null; done ;;
    esac
    cur_paused_region=""
}
# the pid of region R's database pod's baton-agent (found in its pod host's
# network namespace, by the pod name the lab kubelet recorded)
agent_pid() {
    local r=$1 f ns_ pid
    for f in "$lab"/state/"$r"/pods/*/state; do
        grep -qx "pod=$ns/$db-$r-0" "$f" 2>/dev/null || continue
        ns_=$(sed -n 's/^netns=//p' "$f")
        for pid in $(ip netns pids "$ns_" 2>/dev/null); do
            case "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" in
                baton-agent\ * | */baton-agent\ *) echo "$pid"; return 0 ;;
            esac
        done
    done
    return 1
}
restore_region() { # after kill-region: control plane, then lab kubelet + batond
    local r=$1
    if [ "$labkind" = kind ]; then kind_restore_region "$r" "$2"; return; fi
    BATON_REGIONS_DIR=$R "$top/tests/env/regions" start "$r" >>"$2/restore.log" 2>&1 &&
        "$labsh" up "${#regions[@]}" >>"$2/restore.log" 2>&1
}
# the old primary region's instance is a replica of NEW and its status agrees
# the old primary a read-only replica that the new one streams to: what the
# agents say (two local HTTP asks, cheap enough to poll every 0.1 s)
streams_again() {
    local old=$1 new=$2
    # kind: a restarted node gives the pod a new address
    [ "$labkind" = kind ] && podip[$old]=$(pod_ip "$old") && [ -n "${podip[$old]}" ] && ipregion[${podip[$old]}]=$old
    agent "${podip[$old]}" | jq -e '.role == "replica" and .writable == false' >/dev/null 2>&1 &&
        agent "${podip[$new]}" | jq -e --arg p "$db-$old-0" '(.standbys // []) | index($p) != null' >/dev/null 2>&1
}
# and the old region's status names the new primary
rejoined() {
    streams_again "$1" "$2" && [ "$(st "$1" primaryRegion)" = "$2" ]
}
acked_by_after() { # acked_by_after DIR IP MS: a write acknowledged by IP after MS
    # one answer from jq itself: `jq | grep -q` died of SIGPIPE under
    # pipefail once thousands of records matched (a switchover that had
    # converged was reported as not); a line the writer is still
    # appending is skipped, not an error (no first/any: jq 1.6's `?`
    # catches their break)
    jq -n -R -e --arg h "$2" --argjson t "$3" \
        'reduce (inputs | fromjson? | select(.ok and .host == $h and .t > $t)) as $x (false; true)' \
        "$1/writes.jsonl" >/dev/null 2>&1
}

steady() { # 100 acknowledged writes (2 s at 20 ms)
    local n
    n=$(grep -c '"ok":true' "$1/writes.jsonl" 2>/dev/null)
    [ "${n:-0}" -ge 100 ]
}

# ---- steady: no fault, the lease must hold -------------------------------------
# sample_lease IP FILE: the agent's lease, fences and writability every
# 250 ms until killed
sample_lease() {
    while :; do
        agent "$1" | jq -c --argjson t "$(now_ms)" \
            '{t: $t, left: .leaseRemainingMillis, writable: .writable, epoch: .epoch}' >>"$2" 2>/dev/null ||
            echo "{\"t\": $(now_ms), \"error\": true}" >>"$2"
        sleep 0.25
    done
}
fences() { curl -fs --max-time 2 "http://$1:8082/metrics" | awk '/^baton_agent_fences_total/ {s += $2} END {print s + 0}'; }
run_steady() {
    local i=$1 dir=$report/steady-$1 p e hosts lpid spid f0 f1 r ok=true notes=""
    mkdir -p "$dir"
    podip=() ipregion=()
    log "steady #$i: waiting for a healthy fleet"
    wait_for 240 healthy || { log "steady #$i: the fleet is not healthy"; return 1; }
    local before; before=$(fleet_state) p=${before%/*} e=${before#*/}
    wait_for 60 ensure_app_role "$p" || { log "cannot create the app role on $p's instance"; return 1; }
    hosts=$(for r in "${regions[@]}"; do echo "${podip[$r]}"; done | paste -sd,)
    f0=$(fences "${podip[$p]}")
    "$batonctl" load --hosts "$hosts" --out "$dir" --run "steady-$i-$(now_ms)" >"$dir/load.out" 2>"$dir/load.err" &
    lpid=$! cur_load=$!
    sample_lease "${podip[$p]}" "$dir/lease.jsonl" &
    spid=$!
    log "steady #$i: primary $p at epoch $e; load and lease samples for ${duration} s"
    sleep "$duration"
    kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
    kill -TERM "$lpid" 2>/dev/null; wait "$lpid"; cur_load=""
    f1=$(fences "${podip[$p]}")
    jq -s --argjson min "$min_lease" --argjson f0 "${f0:-0}" --argjson f1 "${f1:-0}" --arg p "$p" --arg e "$e" \
        --argjson dur "$duration" --slurpfile w "$dir/writes.jsonl" '
        (map(select(.error | not)) | map(.left) | sort) as $l
        | ($w | map(select(.ok == false)) ) as $errs
        | {scenario: "steady", primary: $p, epoch: ($e | tonumber), durationS: $dur,
           samples: length, sampleErrors: (map(select(.error)) | length),
           leftMs: {min: $l[0], p1: $l[((($l | length) * 0.01) | floor)], p50: $l[((($l | length) * 0.5) | floor)], max: $l[-1]},
           below: (map(select((.error | not) and .left < $min)) | length),
           notWritable: (map(select((.error | not) and (.writable | not))) | length),
           fences: ($f1 - $f0), writes: ($w | map(select(.ok)) | length), writeErrors: ($errs | length),
           firstErrors: ($errs[:5] | map(.err))}' "$dir/lease.jsonl" >"$dir/steady.json"
    jq -c . "$dir/steady.json" >&2
    jq -e '.below == 0 and .notWritable == 0 and .fences == 0 and .writeErrors == 0 and .samples > 0 and .sampleErrors == 0' \
        "$dir/steady.json" >/dev/null || ok=false
    log "steady #$i: $($ok && echo passed || echo FAILED) ($dir/steady.json)"
    $ok
}

# ---- one run --------------------------------------------------------------------
run_one() {
    local scen=$1 i=$2 dir=$report/$1-$2 p e before after new="" fault_at conv_at="" converged=false
    local lpid t target="" restored=null rejoin_ms=null hosts r notes="" failover_ms="" auto=null x designation_ms=null
    local primary_was="" sibling=null
    mkdir -p "$dir"
    podip=() ipregion=() # pod addresses can change when a region comes back
    log "$scen #$i: waiting for a healthy fleet"
    if ! wait_for 240 healthy; then
        log "$scen #$i: the fleet is not healthy (status: $(kc "${regions[0]}" -n "$ns" get dbc "$db" -o jsonpath='{.status.primaryRegion}/{.status.epoch}/{.status.phase}/{.status.ready}' 2>&1))"
        jq -n --arg s "$scen" '{scenario: $s, converged: false, error: "the fleet was not healthy before the fault"}' >"$dir/drill.json"
        return 1
    fi
    if [ "$scen" = manual ]; then
        # a live edit: it must reach Raft (status.failoverMode) everywhere
        log "manual #$i: batonctl pause $ns/$db --wait (failover.mode manual on the live database)"
        set_mode manual || { log "manual #$i: mode manual never came into force (status.failoverMode)"; return 1; }
    fi
    before=$(fleet_state) p=${before%/*} e=${before#*/}
    wait_for 60 ensure_app_role "$p" || { log "cannot create the app role on $p's instance"; return 1; }
    hosts=$(for r in "${regions[@]}"; do echo "${podip[$r]}"; done | paste -sd,)
    if [ "$scen" = kill-instance ] || [ "$scen" = kill-primary-instance ]; then
        [ "$labkind" = netns ] || { log "$scen runs on the netns lab only"; return 1; }
        while read -r x r; do ipregion[$x]=$r; done < <(all_pod_ips)
        hosts=$(printf '%s\n' "${!ipregion[@]}" | sort -u | paste -sd,)
    fi
    "$batonctl" load --hosts "$hosts" --out "$dir" --run "$scen-$i-$(now_ms)" >"$dir/load.out" 2>"$dir/load.err" &
    lpid=$! cur_load=$!
    local started_at; started_at=$(now_ms)
    if ! wait_for 60 steady "$dir"; then
        log "$scen #$i: the load never got steady (see $dir/load.err)"
        notes="load never steady"
    fi
    sleep 1
    for r in "${regions[@]}"; do [ "$r" = "$p" ] || { target=$r; break; }; done
    fault_at=$(now_ms)
    log "$scen #$i: primary $p at epoch $e; injecting the fault"
    case $scen in
        kill-region) kill_region "$p" ;;
        kill-instance)
            local was now_d ord cut_at
            was=$(designated "$target") ord=${was##*-}
            [ "$(kc "$target" -n "$ns" get pods -l "baton.dev/cluster=$db" -o name 2>/dev/null | wc -l)" -ge 2 ] ||
                log "kill-instance #$i: $target has one instance (LAB_REPLICAS=2 make lab): nothing can take over"
            cur_pod_cut="$target $ord"
            "$labsh" isolate-pod "$target" "$ord" "$ns/$db" >>"$dir/fault.log" 2>&1
            cut_at=$(now_ms)
            moved() { now_d=$(designated "$target"); [ -n "$now_d" ] && [ "$now_d" != "$was" ]; }
            if wait_for 180 moved; then
                designation_ms=$(($(now_ms) - cut_at))
                log "kill-instance #$i: $target's designated instance moved $was -> $now_d in $designation_ms ms"
                podip[$target]=$(pod_ip "$target")
            else
                notes="designation of $target did not move from $was within 180 s"
                log "kill-instance #$i: $notes (status: $(kc "$target" -n "$ns" get dbc "$db" -o jsonpath='{.status.regions}' 2>&1))"
            fi
            fault_at=$(now_ms)
            log "kill-instance #$i: killing the primary region $p"
            kill_region "$p"
            ;;
        kill-primary-instance)
            local ord
            primary_was=$(designated "$p") ord=${primary_was##*-}
            [ "$(kc "$p" -n "$ns" get pods -l "baton.dev/cluster=$db" -o name 2>/dev/null | wc -l)" -ge 2 ] ||
                log "kill-primary-instance #$i: $p has one instance (LAB_REPLICAS=2 make lab): only another region can take over"
            cur_pod_cut="$p $ord"
            log "kill-primary-instance #$i: cutting $primary_was (the primary instance) only"
            "$labsh" isolate-pod "$p" "$ord" "$ns/$db" >>"$dir/fault.log" 2>&1
            ;;
        pause-region) pause_region "$p" >>"$dir/fault.log" 2>&1 ;;
        manual)
            kill_region "$p"
            # nothing may be promoted by itself: 4 lease periods
            sleep 8
            x=$(fleet_state "$p")
            if [ "${x%/*}" = "$p" ] && [ "${x#*/}" = "$e" ]; then auto=false; else auto=true; fi
            log "manual #$i: after 8 s the surviving regions say $x (promoted by itself: $auto); promoting $target"
            "$batonctl" switchover "${fleet[@]}" "$ns/$db" "$target" --wait "${timeout}s" >"$dir/switchover.log" 2>&1 &
            ;;
        partition | heal)
            cur_cut=$p
            if [ "$labkind" = kind ]; then kind_isolate "$p" >>"$dir/fault.log" 2>&1
            else "$labsh" isolate "$p" >>"$dir/fault.log" 2>&1; fi
            ;;
        partition-control) cur_cut_control=$p; "$labsh" isolate-control "$p" >>"$dir/fault.log" 2>&1 ;;
        delay-agent)
            cur_delayed=$p
            "$labsh" delay "$p" "$delay_ms" >>"$dir/fault.log" 2>&1 || log "delay-agent #$i: lab.sh delay failed (see $dir/fault.log)"
            ;;
        kill-batond)
            if [ "$labkind" = kind ]; then kind_kill_batond "$p" >>"$dir/fault.log" 2>&1
            else kill -KILL "$(cat "$lab/pids/batond-$p.pid")" 2>/dev/null; fi
            ;;
        pause-agent)
            if [ "$labkind" = kind ]; then
                kind_pause_agent "$p" >>"$dir/fault.log" 2>&1 || log "pause-agent #$i: could not stop the agent (see $dir/fault.log)"
            else
            cur_paused=$(agent_pid "$p") || { log "pause-agent #$i: no baton-agent process found for $db-$p-0"; cur_paused=""; }
            [ -n "$cur_paused" ] && kill -STOP "$cur_paused"
            fi
            ;;
        switchover) "$batonctl" switchover "${fleet[@]}" "$ns/$db" "$target" --wait "${timeout}s" >"$dir/switchover.log" 2>&1 & ;;
    esac
    converged_now() {
        local r x n=""
        for r in "${regions[@]}"; do
            [ "$scen" != switchover ] && [ "$scen" != kill-primary-instance ] && [ "$r" = "$p" ] && continue
            x=$(kc "$r" -n "$ns" get dbc "$db" -o jsonpath='{.status.primaryRegion}/{.status.epoch}' 2>/dev/null) || return 1
            # a lost primary instance: a sibling in the same region may
            # take over (a later epoch, another designated instance)
            if [ "$scen" = kill-primary-instance ]; then
                [ "${x#*/}" -gt "$e" ] 2>/dev/null || return 1
            else
                [ "${x%/*}" != "$p" ] && [ "${x#*/}" -gt "$e" ] 2>/dev/null || return 1
            fi
            [ -z "$n" ] && n=${x%/*}
            [ "${x%/*}" = "$n" ] || return 1
        done
        if [ "$scen" = kill-primary-instance ] && [ "$n" = "$p" ]; then
            [ "$(designated "$p")" != "$primary_was" ] || return 1
            podip[$p]=$(pod_ip "$p")
        fi
        acked_by_after "$dir" "${podip[$n]}" "$fault_at" && echo "$n" >"$dir/.new"
    }
    # delay-agent: any outcome of the delay itself is allowed (the report
    # checks that no two instances took writes and nothing acknowledged
    # was lost); what is measured is how soon after the delay ends writes
    # are acknowledged again, by whichever primary the fleet agrees on.
    writes_back() {
        local r x n=""
        for r in "${regions[@]}"; do
            x=$(kc "$r" -n "$ns" get dbc "$db" -o jsonpath='{.status.primaryRegion}/{.status.epoch}' 2>/dev/null) || return 1
            [ "${x#*/}" -ge "$e" ] 2>/dev/null || return 1
            [ -z "$n" ] && n=$x
            [ "$x" = "$n" ] || return 1
        done
        acked_by_after "$dir" "${podip[${n%/*}]}" "$fault_at" && echo "${n%/*}" >"$dir/.new"
    }
    if [ "$scen" = delay-agent ]; then
        sleep "$hold"
        x=$(fleet_state)
        notes="during the ${delay_ms} ms delay: $p/$e -> $x"
        "$labsh" undelay "$p" >>"$dir/fault.log" 2>&1
        cur_delayed=""
        local undelay_at; undelay_at=$(now_ms)
        log "delay-agent #$i: after ${hold} s of delay the fleet says $x; delay removed"
        if wait_for "$timeout" writes_back; then
            conv_at=$(now_ms) converged=true new=$(cat "$dir/.new")
            log "delay-agent #$i: $new acknowledges writes, $((conv_at - undelay_at)) ms after the delay ended"
        else
            log "delay-agent #$i: writes not acknowledged again within ${timeout}s (status: $(fleet_state))"
        fi
        [ "$new" = "$p" ] && new="" # nothing to rejoin
    elif wait_for "$timeout" converged_now; then
        conv_at=$(now_ms) converged=true new=$(cat "$dir/.new")
        log "$scen #$i: converged: $new is primary, writes acknowledged by it, $((conv_at - fault_at)) ms after the fault"
    else
        log "$scen #$i: did NOT converge within ${timeout}s (status: $(fleet_state "$p"))"
    fi
    after=$(fleet_state "$p")
    if [ "$scen" = manual ] && [ "$auto" = true ]; then
        log "manual #$i: a region was promoted without a request in manual mode"
        converged=false
    fi
    if [ "$scen" = heal ] && $converged; then
        # the drill proper: heal, then the old primary must rejoin by itself
        failover_ms=$((conv_at - fault_at))
        fault_at=$(now_ms) converged=false
        heal_region "$p" >>"$dir/fault.log" 2>&1
        cur_cut=""
        # the moment is the agents' (polled every 0.1 s: a kubectl each
        # 0.5 s added up to a second of the drill's own); the status must
        # agree too, but a region only orders the rejoin once it applied
        # the promote, so it is not timed
        if wait_every 0.1 "$timeout" streams_again "$p" "$new" &&
            conv_at=$(now_ms) && wait_for "$timeout" rejoined "$p" "$new"; then
            converged=true rejoin_ms=$((conv_at - fault_at))
            log "heal #$i: $p rejoined as a replica of $new in $rejoin_ms ms"
        else
            log "heal #$i: $p did NOT rejoin within ${timeout}s"
        fi
        restored=true
    fi
    if { [ "$scen" = pause-region ] || [ "$scen" = pause-agent ]; } && $converged; then
        # woken while the load and the prober still write to every
        # instance: the old primary resumes mid-step with its lease long
        # over and must refuse every write (an overlap is a split brain
        # in the report) and rejoin by itself
        sleep 1
        t=$(now_ms)
        log "$scen #$i: resuming $p while the load runs"
        if [ "$scen" = pause-region ]; then resume_region >>"$dir/fault.log" 2>&1
        else
            [ -n "$cur_paused" ] && kill -CONT "$cur_paused"; cur_paused=""
            [ -n "$cur_paused_kind" ] && kind_resume_agent "$cur_paused_kind" >>"$dir/fault.log" 2>&1; cur_paused_kind=""
        fi
        if wait_for 180 rejoined "$p" "$new"; then restored=true rejoin_ms=$(($(now_ms) - t)); else restored=false; fi
        log "$scen #$i: $p resumed: rejoined=$restored${rejoin_ms:+ in ${rejoin_ms} ms}"
    fi
    sleep 2
    kill -TERM "$lpid" 2>/dev/null
    wait "$lpid"
    cur_load=""
    # put back what the drill broke, so the next one starts whole
    case $scen in
        kill-region | manual) restore_region "$p" "$dir" ;;
        kill-instance)
            [ -n "$cur_pod_cut" ] && "$labsh" heal-pod $cur_pod_cut "$ns/$db" >>"$dir/fault.log" 2>&1
            cur_pod_cut=""
            restore_region "$p" "$dir"
            ;;
        kill-primary-instance)
            [ -n "$cur_pod_cut" ] && "$labsh" heal-pod $cur_pod_cut "$ns/$db" >>"$dir/fault.log" 2>&1
            cur_pod_cut=""
            if [ "$new" = "$p" ]; then
                sibling=true
                # the old primary instance comes back as a replica of its
                # sibling (fenced by epoch, rewound, re-pointed)
                t=$(now_ms)
                old_replica() {
                    local ip
                    ip=$(kc "$p" -n "$ns" get pod "$primary_was" -o jsonpath='{.status.podIP}' 2>/dev/null)
                    [ -n "$ip" ] && agent "$ip" | jq -e '.role == "replica" and .writable == false' >/dev/null 2>&1
                }
                if wait_for 180 old_replica; then restored=true rejoin_ms=$(($(now_ms) - t)); else restored=false; fi
                log "kill-primary-instance #$i: $primary_was back: a replica=$restored${rejoin_ms:+ in ${rejoin_ms} ms}"
            elif [ -n "$new" ]; then
                sibling=false
            fi
            ;;
        partition) heal_region "$p" >>"$dir/fault.log" 2>&1; cur_cut="" ;;
        kill-batond) [ "$labkind" = kind ] || "$labsh" up "${#regions[@]}" >>"$dir/restore.log" 2>&1 ;; # kind: the kubelet restarts it
        pause-agent)
            [ -n "$cur_paused" ] && kill -CONT "$cur_paused"; cur_paused=""
            [ -n "$cur_paused_kind" ] && kind_resume_agent "$cur_paused_kind" >>"$dir/fault.log" 2>&1; cur_paused_kind=""
            ;;
        partition-control) "$labsh" heal-control "$p" >>"$dir/fault.log" 2>&1; cur_cut_control="" ;;
        pause-region) resume_region >>"$dir/fault.log" 2>&1 ;;
        heal) [ -n "$cur_cut" ] && heal_region "$p" >>"$dir/fault.log" 2>&1; cur_cut="" ;; # no failover: heal anyway
    esac
    if [ "$scen" != heal ] && [ "$scen" != switchover ] && [ -n "$new" ] && [ "$restored" = null ]; then
        t=$(now_ms)
        if wait_for 180 rejoined "$p" "$new"; then restored=true rejoin_ms=$(($(now_ms) - t)); else restored=false; fi
        log "$scen #$i: restored $p: rejoined=$restored${rejoin_ms:+ in ${rejoin_ms} ms}"
    fi
    if [ "$scen" = manual ] && ! set_mode automatic; then
        log "manual #$i: mode automatic never came back into force"
        notes="${notes:+$notes; }mode automatic not restored"
        converged=false
    fi

    jq -n --arg s "$scen" --argjson i "$i" --argjson fault "$fault_at" --argjson conv "${conv_at:-0}" \
        --argjson converged "$converged" --arg pb "$p" --arg eb "$e" --arg pa "${after%/*}" --arg ea "${after#*/}" \
        --argjson started "$started_at" --argjson ended "$(now_ms)" --argjson timeout "$timeout" \
        --argjson restored "$restored" --argjson rejoin "$rejoin_ms" --arg notes "$notes" --arg target "$target" \
        --arg mode synchronous --argjson failover "${failover_ms:-null}" --argjson auto "$auto" \
        --argjson desig "$designation_ms" --argjson sibling "$sibling" --arg was "$primary_was" \
        --argjson instances "$(for k in "${!ipregion[@]}"; do jq -n --arg k "$k" --arg v "${ipregion[$k]}" '{($k): $v}'; done | jq -s 'add // {}')" \
        '{scenario: $s, run: $i, faultRegion: $pb, faultAt: $fault, convergedAt: (if $conv > 0 then $conv else null end),
          converged: $converged, convergeMs: (if $conv > 0 then $conv - $fault else null end),
          primaryBefore: $pb, epochBefore: ($eb | tonumber? // null), primaryAfter: $pa, epochAfter: ($ea | tonumber? // null),
          switchoverTarget: (if $s == "switchover" or $s == "manual" then $target else null end),
          rejoined: $restored, rejoinMs: $rejoin, replicationMode: $mode,
          partitionFailoverMs: $failover, promotedWithoutRequest: $auto, instances: $instances,
          designationMs: $desig, siblingPromoted: $sibling,
          primaryInstanceBefore: (if $was == "" then null else $was end),
          startedAt: $started, endedAt: $ended, timeoutS: $timeout, notes: $notes}' >"$dir/drill.json"
    if [ "$check" = 1 ]; then
        "$batonctl" report --check "$dir"
    else
        "$batonctl" report "$dir"
    fi
}

# ---- main -------------------------------------------------------------------------
# Interrupted (Ctrl-C, timeout): stop the load, and heal a region this
# drill cut off, so the lab is not left half broken.
cur_load="" cur_cut="" cur_paused="" cur_cut_control="" cur_delayed="" cur_paused_kind="" cur_paused_region="" cur_pod_cut=""
on_exit() {
    [ -n "$cur_paused" ] && kill -CONT "$cur_paused" 2>/dev/null
    [ -n "$cur_paused_kind" ] && kind_resume_agent "$cur_paused_kind" >/dev/null 2>&1
    [ -n "$cur_paused_region" ] && resume_region >/dev/null 2>&1
    [ -n "$cur_cut_control" ] && "$labsh" heal-control "$cur_cut_control" >/dev/null 2>&1
    [ -n "$cur_delayed" ] && "$labsh" undelay "$cur_delayed" >/dev/null 2>&1
    [ -n "$cur_load" ] && kill -TERM "$cur_load" 2>/dev/null
    [ -n "$cur_cut" ] && heal_region "$cur_cut" >/dev/null 2>&1
    # shellcheck disable=SC2086 # "REGION ORDINAL"
    [ -n "$cur_pod_cut" ] && "$labsh" heal-pod $cur_pod_cut "$ns/$db" >/dev/null 2>&1
    return 0
}
trap on_exit EXIT
trap 'exit 130' INT TERM
ensure_db
failed=0
for scen in "${list[@]}"; do
    for i in $(seq 1 "$repeat"); do
        if [ "$scen" = steady ]; then
            run_steady "$i" || failed=1
        else
            run_one "$scen" "$i" || failed=1
        fi
    done
done
if [ "${list[*]}" = steady ]; then
    [ "$check" = 1 ] && exit "$failed"
    exit 0
fi
# RTO p50/p99 (nearest rank), lost writes, split brains per scenario
jq -s 'group_by(.scenario) | map({
        scenario: .[0].scenario, runs: length,
        converged: (map(select(.converged)) | length),
        rtoMs: ((map(.rtoMs // empty) | sort) as $r
            | {p50: (if ($r | length) > 0 then $r[((($r | length) * 0.5) | ceil) - 1] else null end),
               p99: (if ($r | length) > 0 then $r[((($r | length) * 0.99) | ceil) - 1] else null end),
               max: ($r | max)}),
        lostAcknowledgedWrites: (map(.rpo.lostAcknowledgedWrites // 0) | add),
        rpoUnchecked: (map(select(.rpo.checked | not)) | length),
        splitBrains: (map(select(.splitBrain.detected)) | length)})' \
    "$report"/*/report.json >"$report/summary.json" 2>/dev/null
printf '%-12s %5s %9s %10s %10s %6s %11s\n' SCENARIO RUNS CONVERGED "RTO p50" "RTO p99" LOST SPLITBRAIN
jq -r '.[] | [.scenario, .runs, .converged, (.rtoMs.p50 // "-"), (.rtoMs.p99 // "-"),
              .lostAcknowledgedWrites, .splitBrains] | @tsv' "$report/summary.json" |
    while IFS=$'\t' read -r s n c p50 p99 lost sb; do
        printf '%-12s %5s %9s %8s ms %8s ms %6s %11s\n' "$s" "$n" "$c" "$p50" "$p99" "$lost" "$sb"
    done
echo "reports: $report"
[ "$check" = 1 ] && exit "$failed"
exit 0
