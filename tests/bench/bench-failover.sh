#!/usr/bin/env bash
# bench-failover — issue 16's side-by-side: the same kill-region drill
# against Patroni and against Baton, on this machine, with the same write
# load and the same kill, and both RTOs with their ratio (docs/lab.md,
# "Side by side with Patroni").
#
#   tests/bench/bench-failover.sh [--runs N] [--only patroni|baton] [--out DIR]
#   make bench-failover [RUNS=3]
#
# Patroni side, per run, from nothing: three network namespaces
# bp-pat-<region> on their own bridge bpatbr0 (198.18.64.0/24: clear of the
# netns lab's 198.18.0.0/24, 198.18.101-103.0/24 and 198.19.0.0/18 and of
# the kind lab's ranges), each with one etcd member (a 3-member cluster,
# as a real 3-region Patroni deployment has) and one Patroni (Debian's
# patroni, etcd3: DCS, synchronous_mode on) running PostgreSQL 15. Then
# `batonctl load` against the three addresses (a write every 20 ms to
# whichever accepts writes, a probe write on each every 100 ms), and the
# kill of drill.sh's kill-region: SIGKILL, by pid, of every process in the
# primary's namespace (etcd member, Patroni, PostgreSQL). Converged once
# another instance acknowledges writes. `batonctl report --check` computes
# the RTO (the longest gap between acknowledged writes from the last one
# before the kill), lost acknowledged writes and split brains, exactly as
# for Baton's drills. Then everything of the run is stopped and removed.
#
# Baton side: the netns lab (`make lab` when it is not up; taken down again
# at the end if this script brought it up) and `batonctl drill kill-region
# --repeat N`; its summary.json and reports give the same numbers.
#
# Patroni's timing settings (TTL, LOOP_WAIT, RETRY_TIMEOUT to override):
# the fastest its documentation allows, see patroni_settings_why below.
# Patroni is installed with apt on first use (said in the output).
#
# Holds /tmp/baton-netns.lock (flock, up to an hour) for the whole run: the
# lab, the integration tests and this bench share namespace names and the
# machine. Output: a summary on stdout and
# build/bench-failover/<UTC time>/{summary.json,patroni/,baton/}.
# Environment: RUNS (default 3), LINKS_DOWN=1 (also set the killed
# namespace's link down after the kill; drill.sh does not), BATON_LAB_DIR,
# BATON_BUILD (default build/plain). Exit 0 when both sides produced
# numbers, 1 otherwise, 2 on usage errors. Nothing here asserts a time.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
build=${BATON_BUILD:-build/plain}
[[ $build = /* ]] || build=$top/$build
batonctl=$build/bin/batonctl
lab=${BATON_LAB_DIR:-$top/tests/lab/run}
runs=${RUNS:-3} only="" out=""
ttl=${TTL:-20} loop_wait=${LOOP_WAIT:-1} retry_timeout=${RETRY_TIMEOUT:-3}
links_down=${LINKS_DOWN:-0}
lockfile=/tmp/baton-netns.lock
state=/tmp/baton-bench-failover # this bench's processes, namespaces, data
bridge=bpatbr0 net=198.18.64
regions=(eu-west us-east ap-south)
pgbin=/usr/lib/postgresql/15/bin

log() { printf '[bench-failover %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf '[bench-failover] error: %s\n' "$*" >&2; exit "${2:-1}"; }
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
        --runs) runs=${2:-}; shift 2 ;;
        --only) only=${2:-}; shift 2 ;;
        --out) out=${2:-}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs (RUNS) wants a positive number" 2
case $only in ""|patroni|baton) ;; *) die "--only wants patroni or baton" 2 ;; esac
for v in "$ttl" "$loop_wait" "$retry_timeout"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "TTL, LOOP_WAIT and RETRY_TIMEOUT want whole seconds" 2
done
# Patroni's documented rule (dynamic_configuration): loop_wait + 2*retry_timeout <= ttl
[ $((loop_wait + 2 * retry_timeout)) -le "$ttl" ] ||
    die "Patroni's rule loop_wait + 2*retry_timeout <= ttl does not hold ($loop_wait + 2*$retry_timeout > $ttl)" 2
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)" 2
[ -x "$batonctl" ] || die "$batonctl is not built (make all)" 2

patroni_settings_why="ttl $ttl s is the documented minimum (Patroni docs, dynamic_configuration: \
ttl min 20, loop_wait min 1, retry_timeout min 3, and loop_wait + 2*retry_timeout <= ttl): the \
leader lock outlives a dead primary by at most ttl, so ttl is the floor of the failover time; \
loop_wait $loop_wait s (the minimum) renews the lock every second, so it expires ~ttl after the \
kill, and replicas re-check every second besides the etcd watch; retry_timeout $retry_timeout s \
(the minimum) is the shortest wait on a dead etcd member. Source: \
https://patroni.readthedocs.io/en/latest/dynamic_configuration.html"
[ "$ttl$loop_wait$retry_timeout" = 2013 ] || patroni_settings_why="overridden (TTL/LOOP_WAIT/RETRY_TIMEOUT); the documented fastest are ttl 20, loop_wait 1, retry_timeout 3"

now_ms() { date +%s%3N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
wait_for() { # wait_for SECONDS CMD...: poll every 0.2 s
    local deadline=$(($(date +%s) + $1)); shift
    while :; do
        "$@" && return 0
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.2
    done
}
# p50 (nearest rank, as drill.sh) and max of the numbers on stdin, as JSON
stats() { jq -s 'sort as $r | if ($r | length) == 0 then {p50: null, max: null, n: 0}
    else {p50: $r[(($r | length) * 0.5 | ceil) - 1], max: $r[-1], n: ($r | length)} end'; }

# ---- the lock, the output directory -----------------------------------------
# fd 9 holds the lock; every long-lived child gets it closed (9>&-): a
# region the drill restarts in a lab that stays up must not keep the lock
# after this script has ended.
exec 9>"$lockfile"
log "waiting for $lockfile (the netns lab and the integration tests use it too)"
flock -w 3600 9 || die "could not take $lockfile within an hour"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${out:-$top/build/bench-failover/$stamp}
mkdir -p "$out" || die "cannot create $out"
load_start=$(loadavg)

# ---- cleanup: exactly what this script created --------------------------------
# $state/created lists, one a line: "pid PID STARTTIME", "ns NAME",
# "link NAME". A crashed earlier run's list is cleaned up first (we hold
# the lock, so nobody else is using it).
record() { echo "$*" >>"$state/created"; }
starttime() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
patroni_down() {
    local kind a b pid
    [ -f "$state/created" ] || return 0
    while read -r kind a b; do
        if [ "$kind" = pid ] && [ "$(starttime "$a")" = "$b" ]; then kill -KILL "$a" 2>/dev/null; fi
    done <"$state/created"
    while read -r kind a b; do
        [ "$kind" = ns ] || continue
        # whatever still runs in our namespace was started by us (postgres
        # children of the Patroni killed above)
        for pid in $(ip netns pids "$a" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    done <"$state/created"
    sleep 0.3
    while read -r kind a b; do
        case $kind in
            ns) ip netns del "$a" 2>/dev/null ;;
            link) ip link del "$a" 2>/dev/null ;;
        esac
    done < <(tac "$state/created")
    rm -rf "$state"
}
lab_started=0 cur_load=""
on_exit() {
    [ -n "$cur_load" ] && kill -TERM "$cur_load" 2>/dev/null && wait "$cur_load" 2>/dev/null
    patroni_down
    if [ "$lab_started" = 1 ]; then
        log "taking down the lab this bench brought up"
        BATON_BUILD=$build BATON_LAB_DIR=$lab tests/lab/lab.sh down >>"$out/baton/lab.log" 2>&1
    fi
    return 0
}
trap on_exit EXIT
trap 'exit 130' INT TERM
patroni_down

# ---- Patroni: install, cluster up ---------------------------------------------
ensure_patroni() {
    local x
    if ! command -v patroni >/dev/null || ! /usr/bin/python3 -c 'import etcd, psycopg2' 2>/dev/null; then
        log "installing Debian's patroni with apt (first use of this bench; not part of make deps)"
        echo "bench-failover: installing Debian's patroni (apt-get install patroni) on first use"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends patroni python3-etcd \
            >"$out/apt.log" 2>&1 || { apt-get update -qq >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends patroni python3-etcd \
                >"$out/apt.log" 2>&1; } || return 1
    fi
    etcd_bin=$top/tests/env/bin/etcd
    if [ ! -x "$etcd_bin" ]; then
        for x in "${BATON_CACHE:-$HOME/.cache/baton}"/bin/etcd-*/etcd; do etcd_bin=$x; done
    fi
    [ -x "$etcd_bin" ] || { log "no etcd: run 'make testenv' (tests/env/build.sh builds it from Go modules)"; return 1; }
    [ -x "$pgbin/postgres" ] || { log "no PostgreSQL 15 in $pgbin (make deps)"; return 1; }
}

ip_of() { local k; for k in "${!regions[@]}"; do [ "${regions[$k]}" = "$1" ] && echo "$net.$((11 + k))"; done; }

patroni_config() { # patroni_config REGION
    local r=$1 ip hosts="" x
    ip=$(ip_of "$r")
    for x in "${regions[@]}"; do hosts="$hosts${hosts:+, }$(ip_of "$x"):2379"; done
    cat <<EOF
scope: bench
namespace: /bench-failover/
name: $r
log: {level: INFO}
restapi: {listen: '$ip:8008', connect_address: '$ip:8008'}
etcd3: {hosts: [$hosts]}
bootstrap:
  dcs:
    ttl: $ttl
    loop_wait: $loop_wait
    retry_timeout: $retry_timeout
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters: {wal_level: replica, hot_standby: 'on', max_wal_senders: 10, max_replication_slots: 10, wal_log_hints: 'on'}
  initdb: [{encoding: UTF8}, data-checksums]
postgresql:
  listen: '$ip:5432'
  connect_address: '$ip:5432'
  data_dir: $state/$r/data
  bin_dir: $pgbin
  pgpass: $state/$r/pgpass
  authentication:
    superuser: {username: postgres, password: bench}
    replication: {username: replicator, password: bench}
  parameters: {unix_socket_directories: '$state/$r/run'}
  pg_hba:
    - local all all trust
    - host replication replicator $net.0/24 scram-sha-256
    - host all all $net.0/24 scram-sha-256
watchdog: {mode: 'off'}
EOF
}

patroni_up() {
    local k r ip v pid
    mkdir -p "$state" && chmod 0755 "$state"
    ip link show "$bridge" >/dev/null 2>&1 && { log "$bridge exists and is not this bench's"; return 1; }
    ip link add "$bridge" type bridge && record link "$bridge"
    ip addr add "$net.1/24" dev "$bridge" && ip link set "$bridge" up || return 1
    sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null
    for k in "${!regions[@]}"; do
        r=${regions[$k]} ip=$(ip_of "$r") v=bpatv$((k + 1))
        ip netns add "bp-pat-$r" && record ns "bp-pat-$r" || return 1
        ip link add "$v" type veth peer name eth0 netns "bp-pat-$r" && record link "$v" || return 1
        ip link set "$v" master "$bridge" up &&
            ip -n "bp-pat-$r" addr add "$ip/24" dev eth0 &&
            ip -n "bp-pat-$r" link set eth0 up && ip -n "bp-pat-$r" link set lo up || return 1
        mkdir -p "$state/$r/etcd" "$state/$r/run" "$state/logs"
        patroni_config "$r" >"$state/$r/patroni.yml"
        chown -R postgres:postgres "$state/$r"
        chmod 0700 "$state/$r/etcd"
    done
    local cluster=""
    for r in "${regions[@]}"; do cluster="$cluster${cluster:+,}$r=http://$(ip_of "$r"):2380"; done
    for r in "${regions[@]}"; do
        ip=$(ip_of "$r")
        setsid ip netns exec "bp-pat-$r" "$etcd_bin" --name "$r" --data-dir "$state/$r/etcd" \
            --listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379" \
            --listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
            --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token "bench-failover-$$" \
            >"$state/logs/etcd-$r.log" 2>&1 </dev/null 9>&- &
        pid=$!; disown "$pid"; record pid "$pid" "$(starttime "$pid")"
    done
    for r in "${regions[@]}"; do
        wait_for 30 curl -fs --max-time 1 "http://$(ip_of "$r"):2379/health" -o /dev/null ||
            { log "etcd in $r not healthy (see $state/logs/etcd-$r.log)"; return 1; }
    done
    for r in "${regions[@]}"; do
        setsid ip netns exec "bp-pat-$r" setpriv --reuid=postgres --regid=postgres --init-groups \
            env HOME=/var/lib/postgresql /usr/bin/patroni "$state/$r/patroni.yml" \
            >"$state/logs/patroni-$r.log" 2>&1 </dev/null 9>&- &
        pid=$!; disown "$pid"; record pid "$pid" "$(starttime "$pid")"
    done
}
cluster_json() { # what the first answering Patroni says about the cluster
    local r
    for r in "${regions[@]}"; do
        curl -fs --max-time 1 "http://$(ip_of "$r"):8008/cluster" && return 0
    done
    return 1
}
# one leader running, one sync standby and one replica streaming
patroni_healthy() {
    cluster_json 2>/dev/null | jq -e '(.members | map(select(.role == "leader" and .state == "running")) | length) == 1
        and (.members | map(select(.role == "sync_standby" and (.state == "streaming" or .state == "running"))) | length) == 1
        and (.members | map(select(.role == "replica" and (.state == "streaming" or .state == "running"))) | length) == 1' \
        >/dev/null 2>&1
}
leader_of() { cluster_json 2>/dev/null | jq -r '.members[] | select(.role == "leader") | .name' | head -1; }
steady() { # 100 acknowledged writes (2 s at 20 ms), as drill.sh
    local n
    n=$(grep -c '"ok":true' "$1/writes.jsonl" 2>/dev/null)
    [ "${n:-0}" -ge 100 ]
}
acked_by_other_after() { # DIR IP MS: a write acknowledged by another host than IP after MS
    jq -n -R -e --arg h "$2" --argjson t "$3" \
        'reduce (inputs | fromjson? | select(.ok and .host != $h and .t > $t)) as $x (false; true)' \
        "$1/writes.jsonl" >/dev/null 2>&1
}
# Patroni's own log line for the promotion, in ms since the epoch
promoted_at() { # promoted_at REGION
    local line
    line=$(grep -m1 'promoted self to leader' "$state/logs/patroni-$1.log" 2>/dev/null) || return 1
    date -d "$(echo "$line" | cut -c1-23 | tr , .)" +%s%3N 2>/dev/null
}

patroni_run() { # patroni_run I
    local i=$1 dir=$out/patroni/kill-region-$1 p pip hosts lpid fault conv="" converged=false new="" x pr="" k
    mkdir -p "$dir"
    log "patroni #$i: three namespaces, etcd and Patroni in each"
    if ! patroni_up; then
        log "patroni #$i: setup failed"
        cp -r "$state/logs" "$dir/" 2>/dev/null; patroni_down; return 1
    fi
    if ! wait_for 180 patroni_healthy; then
        log "patroni #$i: no leader + sync standby + replica within 180 s: $(cluster_json 2>/dev/null | jq -c '[.members[] | {name, role, state}]' 2>/dev/null)"
        cp -r "$state/logs" "$dir/" 2>/dev/null; patroni_down; return 1
    fi
    p=$(leader_of) pip=$(ip_of "$p")
    # the application role the load writes as, as in drill.sh
    psql -h "$state/$p/run" -U postgres -d postgres -qc \
        "CREATE ROLE app LOGIN PASSWORD 'app' CONNECTION LIMIT 40" -c "GRANT CREATE ON SCHEMA public TO app" \
        >"$dir/setup.log" 2>&1 || { log "patroni #$i: cannot create the app role (see $dir/setup.log)"; cp -r "$state/logs" "$dir/"; patroni_down; return 1; }
    hosts=$(for r in "${regions[@]}"; do ip_of "$r"; done | paste -sd,)
    "$batonctl" load --hosts "$hosts" --agent-port 0 --out "$dir" --run "patroni-$i-$(now_ms)" \
        >"$dir/load.out" 2>"$dir/load.err" &
    lpid=$! cur_load=$!
    local started; started=$(now_ms)
    wait_for 60 steady "$dir" || log "patroni #$i: the load never got steady (see $dir/load.err)"
    sleep 1
    cluster_json >"$dir/cluster-before.json" 2>/dev/null
    fault=$(now_ms)
    log "patroni #$i: leader $p ($pip); SIGKILL of every process in bp-pat-$p"
    # one pass is drill.sh's kill; more passes only catch a backend the
    # postmaster forked while the first pass ran
    for k in 1 2 3; do
        for x in $(ip netns pids "bp-pat-$p" 2>/dev/null); do kill -KILL "$x" 2>/dev/null; done
    done
    [ "$links_down" = 1 ] && ip link set "bpatv$(( $(printf '%s\n' "${regions[@]}" | grep -nx "$p" | cut -d: -f1) ))" down
    if wait_for 120 acked_by_other_after "$dir" "$pip" "$fault"; then
        conv=$(now_ms) converged=true
        new=$(leader_of)
        log "patroni #$i: $new is the leader, writes acknowledged by it, $((conv - fault)) ms after the kill"
    else
        log "patroni #$i: no other instance acknowledged writes within 120 s"
    fi
    sleep 2
    kill -TERM "$lpid" 2>/dev/null; wait "$lpid"; cur_load=""
    cluster_json >"$dir/cluster-after.json" 2>/dev/null
    [ -n "$new" ] && pr=$(promoted_at "$new")
    jq -n --argjson i "$i" --argjson fault "$fault" --argjson conv "${conv:-0}" --argjson converged "$converged" \
        --arg pb "$p" --arg pa "$new" --argjson started "$started" --argjson ended "$(now_ms)" \
        --argjson promoted "${pr:-null}" \
        --argjson instances "$(for r in "${regions[@]}"; do jq -n --arg k "$(ip_of "$r")" --arg v "$r" '{($k): $v}'; done | jq -s add)" \
        '{scenario: "kill-region", system: "patroni", run: $i, faultRegion: $pb, faultAt: $fault,
          convergedAt: (if $conv > 0 then $conv else null end), converged: $converged,
          convergeMs: (if $conv > 0 then $conv - $fault else null end),
          primaryBefore: $pb, primaryAfter: $pa, replicationMode: "synchronous",
          patroniPromotedMs: (if $promoted then $promoted - $fault else null end),
          instances: $instances, startedAt: $started, endedAt: $ended}' >"$dir/drill.json"
    "$batonctl" report --check "$dir" >"$dir/report.out" 2>&1 || log "patroni #$i: report --check: $(tail -1 "$dir/report.out")"
    cp -r "$state/logs" "$dir/" 2>/dev/null
    patroni_down
    $converged
}

# ---- Baton ----------------------------------------------------------------------
baton_side() {
    mkdir -p "$out/baton"
    if [ ! -f "$lab/regions/regions" ]; then
        ip link show batonbr0 >/dev/null 2>&1 &&
            { log "batonbr0 exists but no lab in $lab: someone else's lab is up (BATON_LAB_DIR=...)"; return 1; }
        log "baton: make lab (the lab is not up; taken down again at the end)"
        lab_started=1
        make --no-print-directory lab >"$out/baton/lab.log" 2>&1 9>&- || { log "make lab failed (see $out/baton/lab.log)"; return 1; }
    fi
    baton_load=$(loadavg)
    log "baton: batonctl drill kill-region --repeat $runs"
    BATON_LAB_DIR=$lab BATON_BUILD=$build "$batonctl" drill kill-region --repeat "$runs" --report "$out/baton" \
        >"$out/baton/drill.out" 2>&1 9>&- || log "baton: the drill reported a failure (see $out/baton/drill.out)"
    [ -f "$out/baton/summary.json" ]
}

# ---- main ---------------------------------------------------------------------------
echo "bench-failover: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo '+changes'), $(nproc) CPUs, load average $load_start"
failed=0 patroni_version="" etcd_version="" patroni_load="" baton_load=""
if [ "$only" != baton ]; then
    if ensure_patroni; then
        patroni_version=$(patroni --version 2>/dev/null | awk '{print $2}')
        etcd_version=$("$etcd_bin" --version 2>/dev/null | awk '/^etcd Version/ {print $3}')
        echo "patroni $patroni_version, etcd $etcd_version (etcd3 API), PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'), synchronous_mode on"
        echo "patroni settings: ttl $ttl, loop_wait $loop_wait, retry_timeout $retry_timeout"
        echo "  why: $patroni_settings_why"
        patroni_load=$(loadavg)
        for i in $(seq 1 "$runs"); do patroni_run "$i" || failed=1; done
    else
        log "Patroni could not be set up (see above); no Patroni numbers"
        failed=1
    fi
fi
if [ "$only" != patroni ]; then
    baton_side || failed=1
fi

# ---- the summary ------------------------------------------------------------------------
pat_reports=$(cat "$out"/patroni/*/report.json 2>/dev/null | jq -s '.')
[ -n "$pat_reports" ] || pat_reports='[]'
bat_reports=$(cat "$out"/baton/kill-region-*/report.json 2>/dev/null | jq -s '.')
[ -n "$bat_reports" ] || bat_reports='[]'
per_run='map({run, primaryBefore, primaryAfter, converged, rtoMs,
    writableMs: (if .firstAckByAnotherInstance then .firstAckByAnotherInstance.t - .faultAt else null end),
    patroniPromotedMs, lost: .rpo.lostAcknowledgedWrites, splitBrain: .splitBrain.detected})'
pat_rto=$(jq '[.[] | select(.converged) | .rtoMs // empty] | .[]' <<<"$pat_reports" | stats)
bat_rto=$(jq '[.[] | select(.converged) | .rtoMs // empty] | .[]' <<<"$bat_reports" | stats)
pat_wr=$(jq '[.[] | select(.converged and .firstAckByAnotherInstance) | .firstAckByAnotherInstance.t - .faultAt] | .[]' <<<"$pat_reports" | stats)
bat_wr=$(jq '[.[] | select(.converged and .firstAckByAnotherInstance) | .firstAckByAnotherInstance.t - .faultAt] | .[]' <<<"$bat_reports" | stats)
jq -n --arg date "$(date -u +%FT%TZ)" --arg commit "$(git rev-parse HEAD 2>/dev/null)" \
    --argjson dirty "$(git diff --quiet HEAD 2>/dev/null && echo false || echo true)" \
    --arg host "$(uname -n)" --argjson cpus "$(nproc)" --arg l0 "$load_start" --arg l1 "$(loadavg)" \
    --arg lp "$patroni_load" --arg lb "$baton_load" --argjson runs "$runs" \
    --arg pv "$patroni_version" --arg ev "$etcd_version" --argjson ttl "$ttl" --argjson lw "$loop_wait" \
    --argjson rt "$retry_timeout" --arg why "$patroni_settings_why" --argjson linksdown "$links_down" \
    --argjson pr "$pat_reports" --argjson br "$bat_reports" \
    --argjson prto "$pat_rto" --argjson brto "$bat_rto" --argjson pwr "$pat_wr" --argjson bwr "$bat_wr" \
    --argjson bsum "$(cat "$out/baton/summary.json" 2>/dev/null || echo null)" \
    "def ratio(a; b): if a and b and b > 0 then ((a / b) * 100 | round) / 100 else null end;
     {date: \$date, commit: \$commit, uncommittedChanges: \$dirty, host: \$host, cpus: \$cpus,
      loadAverage: {start: \$l0, patroniSide: \$lp, batonSide: \$lb, end: \$l1}, runsPerSystem: \$runs,
      scenario: (\"kill-region: SIGKILL by pid of every process of the primary's region\" + (if \$linksdown == 1 then \" + its link down\" else \"\" end)),
      load: \"batonctl load: a write every 20 ms to whichever instance accepts writes, 1 s write deadline\",
      rto: \"the longest gap between acknowledged writes from the last one before the kill (batonctl report)\",
      patroni: {version: \$pv, etcd: \$ev, dcs: \"etcd3, 3 members, one per region\", synchronousMode: true,
                settings: {ttl: \$ttl, loop_wait: \$lw, retry_timeout: \$rt, why: \$why},
                rtoMs: \$prto, writableMs: \$pwr, runs: (\$pr | $per_run)},
      baton: {lab: \"make lab: 3 regions, synchronous, leaseSeconds 2\", rtoMs: \$brto, writableMs: \$bwr,
              drillSummary: \$bsum, runs: (\$br | $per_run)},
      ratioPatroniToBaton: {rtoP50: ratio(\$prto.p50; \$brto.p50), rtoMax: ratio(\$prto.max; \$brto.max)}}" \
    >"$out/summary.json" || { log "cannot write $out/summary.json"; exit 1; }

fmt() { jq -r --arg k "$1" --arg s "$2" '.[$k][$s] as $x | if $x.p50 then "\($x.p50 / 1000 * 100 | round / 100) s / \($x.max / 1000 * 100 | round / 100) s (n=\($x.n))" else "-" end' "$out/summary.json"; }
echo
printf '%-8s %-28s %-28s %s\n' SYSTEM "RTO p50 / max" "new primary writable p50/max" "lost / split brains"
for s in patroni baton; do
    printf '%-8s %-28s %-28s %s\n' "$s" "$(fmt "$s" rtoMs)" "$(fmt "$s" writableMs)" \
        "$(jq -r --arg s "$s" '.[$s].runs | "\(map(.lost // 0) | add // 0) / \(map(select(.splitBrain)) | length)"' "$out/summary.json")"
done
echo "ratio Patroni/Baton: RTO p50 $(jq -r '.ratioPatroniToBaton.rtoP50 | if . then "\(.)x" else "- (one side has no numbers)" end' "$out/summary.json"), max $(jq -r '.ratioPatroniToBaton.rtoMax | if . then "\(.)x" else "-" end' "$out/summary.json")"
echo "load average: start $load_start, Patroni side $patroni_load, Baton side $baton_load, end $(loadavg) ($(nproc) CPUs)"
echo "summary: $out/summary.json"
exit "$failed"
