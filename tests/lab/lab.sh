#!/usr/bin/env bash
# lab.sh — Baton's local lab: real control planes in network namespaces and
# real database processes in per-pod network namespaces (docs/lab.md).
#
#   lab.sh up [N]     start N regions (default 3) with --netns, or reuse them,
#                     then per region: taint the kwok node, start one lab
#                     kubelet, create PersistentVolumes, start batond
#                     (mTLS fleet PKI, config per region; a dead one is
#                     restarted, a running one left alone)
#   lab.sh down       stop exactly the processes up started, remove the pod
#                     hosts they left, then stop the regions
#   lab.sh status     what runs where
#   lab.sh env        shell exports (kubeconfigs, PATH)
#   lab.sh apply-example [NS/NAME [automatic|manual]]
#                     namespace, replication Secret and a synchronous
#                     DatabaseCluster over all regions (default lab/orders),
#                     the same in every region
#   lab.sh recycle    make Released PersistentVolumes Available again
#                     (wipes their data)
#   lab.sh isolate R | heal R
#                     cut / restore every link of region R: its region host
#                     and all its pod hosts (their veths go down / up)
#   lab.sh isolate-control R | heal-control R
#                     cut / restore only R's region host (control plane and
#                     batond): its pod hosts keep their links, so clients
#                     still reach its database instances
#   lab.sh isolate-pod R ORD [NS/NAME] | heal-pod R ORD [NS/NAME]
#                     cut / restore the link of one pod host: instance ORD
#                     of region R of NS/NAME (default lab/orders), a lost
#                     node under one database instance; its pod object,
#                     its region's control plane and batond stay up
#   lab.sh delay R MS | undelay R
#                     hold what R's batond sends to R's agents (orders,
#                     status polls, lease answers) MS ms (baton_netdelay on
#                     an NFQUEUE: the kernel has no netem); undelay ends it
#
# Everything lives under $BATON_LAB_DIR (default tests/lab/run): regions/
# (tests/env/regions' directory), state/<region>/ (each lab kubelet's pod
# state files and container logs), volumes/<region>/ (the PVs' hostPaths),
# pids/<name>.pid and logs/<name>.log for every process up started.
#
# Environment: BATON_BUILD (default build/plain: bin/baton-agent and
# tests/helpers/baton_labkubelet come from there; missing ones are built),
# BATON_LAB_PVS (PersistentVolumes per region, default 6),
# BATON_LAB_BATOND (0: do not start batond; tests that run their own),
# BATON_LAB_PV_SIZE (default 100Gi), BATON_LAB_STORAGE_CLASS (default none),
# LAB_REPLICAS (instances per data region apply-example asks for, 1-4,
# default 1), LAB_DESIGNATION (default 1, as the chart: batond runs with
# designation on, a region moves its designated instance when it dies,
# once every region's batond knows the command: docs/lab.md; 0: off),
# LAB_LOG_LEVEL (batond's log level). These three are remembered in
# $BATON_LAB_DIR/settings/ when given, so a later `up` (a drill's restore)
# starts batond as the first did.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
lab=${BATON_LAB_DIR:-$top/tests/lab/run}
regions_dir=$lab/regions
regions=$top/tests/env/regions
build=${BATON_BUILD:-build/plain}
[[ $build = /* ]] || build=$top/$build
labkubelet=$build/tests/helpers/baton_labkubelet
kubectl=$top/tests/env/bin/kubectl
npvs=${BATON_LAB_PVS:-6}
pv_size=${BATON_LAB_PV_SIZE:-100Gi}
storage_class=${BATON_LAB_STORAGE_CLASS:-}
# Pod addresses: region i gets 198.18.0.(100 + 40*(i-1)) .. +31 on the
# region bridge (region hosts are .11-.16, the root namespace .1).
pod_base_octet=100
pod_stride=40
max_pods=32

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }

region_names() { cat "$regions_dir/regions" 2>/dev/null; }
# lab_setting NAME: $NAME when set (remembered in $lab/settings/NAME), else
# what an earlier command of this lab was given: a drill's restore runs
# `up` again without the environment `make lab` had, and must not start a
# batond with other settings than its peers.
lab_setting() {
    local f=$lab/settings/$1
    if [ -n "${!1+x}" ]; then
        mkdir -p "$lab/settings" && printf '%s\n' "${!1}" >"$f"
        printf '%s' "${!1}"
    elif [ -f "$f" ]; then
        cat "$f"
    fi
}
kc() { local r=$1; shift; "$kubectl" --kubeconfig "$regions_dir/$r/admin.kubeconfig" "$@"; }

# ------------------------------------------------------------- processes ---
# alive and not a zombie waiting for its reaper
pid_alive() {
    local pid
    [ -f "$1" ] || return 1
    pid=$(cat "$1")
    kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]
}

# stop_pidfile FILE TIMEOUT_S: TERM the recorded pid, KILL after TIMEOUT_S.
stop_pidfile() {
    local f=$1 timeout=$2 pid i
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 $((timeout * 10))); do
            pid_alive "$f" || break
            sleep 0.1
        done
        if pid_alive "$f"; then
            log "$(basename "$f" .pid) (pid $pid) did not stop in ${timeout}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$f"
}

# start_proc NAME CMD...: background CMD in its own session, output in
# logs/NAME.log, pid in pids/NAME.pid.
start_proc() {
    local name=$1
    shift
    mkdir -p "$lab/logs" "$lab/pids"
    setsid "$@" >>"$lab/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$lab/pids/$name.pid"
}

# Pod hosts a lab kubelet could not remove (it was SIGKILLed): its state
# files name their processes (pid + /proc start time) and namespaces.
cleanup_pod_hosts() {
    local f pid start ns
    for f in "$lab"/state/*/pods/*/state; do
        [ -f "$f" ] || continue
        while read -r pid start; do
            if [ "$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null)" = "$start" ]; then
                kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
            fi
        done < <(sed -n 's/^pid=\([0-9]*\) \([0-9]*\).*/\1 \2/p' "$f")
        ns=$(sed -n 's/^netns=//p' "$f")
        if [ -n "$ns" ] && [ -e "/run/netns/$ns" ]; then
            # whatever else still runs in it (postgres started by an agent)
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
            log "removed leftover pod host $ns"
        fi
        rm -f "$f"
    done
}

# ------------------------------------------------------------------- up ---
ensure_binaries() {
    local targets=()
    [ -x "$labkubelet" ] || targets+=("${labkubelet#"$top"/}")
    [ -x "$build/bin/baton-agent" ] || targets+=("${build#"$top"/}/bin/baton-agent")
    if [ "${BATON_LAB_BATOND:-1}" != 0 ]; then
        [ -x "$build/bin/batond" ] || targets+=("${build#"$top"/}/bin/batond")
    fi
    if [ ${#targets[@]} -gt 0 ]; then
        log "building ${targets[*]}"
        local san=""
        [[ $build == */san ]] && san=address,undefined
        make -C "$top" -j2 BUILD="${build#"$top"/}" SANITIZE=$san "${targets[@]}" >&2 || die "build failed"
    fi
}

apply_pvs() {
    local r=$1 k dir
    for k in $(seq 0 $((npvs - 1))); do
        dir=$lab/volumes/$r/pv-$k
        mkdir -p "$dir"
        chmod 0755 "$dir"
        cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: lab-$r-$k
  labels: {baton.dev/lab: "true", topology.kubernetes.io/region: $r}
spec:
  capacity: {storage: $pv_size}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: "$storage_class"
  hostPath: {path: $dir, type: DirectoryOrCreate}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [$r-lab]}
EOF
    done | kc "$r" apply -f - >/dev/null
}

# ---- batond ----------------------------------------------------------
# One batond per region (a Raft voter), inside the region host so its
# addresses are the region's (198.18.0.1x): Raft on :7100, the peer API on
# :7101, /healthz /readyz /metrics /v1/status on :8080. The agents reach it
# over the bridge. Mutual TLS between the batonds: a fleet CA under pki/ and
# one certificate per region naming it (SAN URI baton://region/<r>, and the
# region's address). Raft data in batond/raft-<r>/ survives a restart, so a
# killed batond rejoins from its log. Mutual TLS on the agent API too: one
# agent CA per region (pki/agents-<r>.*); batond issues the certificates.
# BATON_LAB_BATOND=0 skips all of this
# (tests that start their own batonds on the same addresses).
region_ip() { sed -n 's/^BATON_IP=//p' "$regions_dir/$1/region.env"; }

ensure_pki() {
    local pki=$lab/pki r ip
    mkdir -p "$pki"
    if [ ! -f "$pki/ca.crt" ]; then
        openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
        openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=baton-lab-fleet" -days 30 -sha256 \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
            -out "$pki/ca.crt" 2>/dev/null || die "cannot create the fleet CA in $pki"
    fi
    for r in $(region_names); do
        [ -f "$pki/$r.crt" ] && continue
        ip=$(region_ip "$r")
        openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$r.key" 2>/dev/null
        openssl req -new -key "$pki/$r.key" -subj "/CN=$r" -out "$pki/$r.csr" 2>/dev/null
        printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:baton://region/%s,IP:%s\n' \
            "$r" "$ip" >"$pki/$r.ext"
        openssl x509 -req -in "$pki/$r.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
            -days 30 -sha256 -extfile "$pki/$r.ext" -out "$pki/$r.crt" 2>/dev/null ||
            die "cannot sign $r's certificate"
        chmod 600 "$pki/$r.key"
    done
    # each region's agent CA: batond issues, from it, its own certificate
    # (what the agents obey) and one per database (what the agents show)
    for r in $(region_names); do
        [ -f "$pki/agents-$r.crt" ] && continue
        openssl ecparam -name prime256v1 -genkey -noout -out "$pki/agents-$r.key" 2>/dev/null
        chmod 600 "$pki/agents-$r.key"
        openssl req -x509 -new -key "$pki/agents-$r.key" -subj "/CN=baton-lab-agents-$r" -days 30 -sha256 \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" \
            -out "$pki/agents-$r.crt" 2>/dev/null || die "cannot create $r's agent CA in $pki"
    done
}

write_batond_config() {
    local r=$1 p pki=$lab/pki level
    mkdir -p "$lab/batond"
    {
        echo "# written by lab.sh up; regenerated on every up"
        echo "region: $r"
        echo "kubeconfig: $regions_dir/$r/admin.kubeconfig"
        echo "peers:"
        for p in $(region_names); do
            [ "$p" = "$r" ] && continue
            echo "  - {name: $p, raftAddress: \"$(region_ip "$p"):7100\", apiAddress: \"$(region_ip "$p"):7101\", kubeconfig: $regions_dir/$p/admin.kubeconfig}"
        done
        echo "raft: {bind: \"$(region_ip "$r"):7100\", dataDir: $lab/batond/raft-$r, electionTimeoutMillis: 1000, heartbeatMillis: 50}"
        echo "peerApi: {bind: \"$(region_ip "$r"):7101\"}"
        echo "http: {bind: \"$(region_ip "$r"):8080\"}"
        echo "agentApi: {bind: \"$(region_ip "$r"):7102\", caCert: $pki/agents-$r.crt, caKey: $pki/agents-$r.key}"
        echo "lease: {driftPercent: 5, marginMillis: 200}"
        echo "tls: {ca: $pki/ca.crt, cert: $pki/$r.crt, key: $pki/$r.key}"
        # designation (the default, LAB_DESIGNATION=0 turns it off): a
        # region whose designated instance dies moves it to a sibling
        # (docs/design-per-instance.md)
        if [ "$(lab_setting LAB_DESIGNATION)" != 0 ]; then echo "designation: true"; fi
        # LAB_LOG_LEVEL=debug: every command applied, every report sent
        level=$(lab_setting LAB_LOG_LEVEL)
        if [ -n "$level" ]; then echo "log: {level: $level}"; fi
    } >"$lab/batond/$r.yaml"
}

start_batond() {
    local r=$1
    [ "${BATON_LAB_BATOND:-1}" = 0 ] && return 0
    if pid_alive "$lab/pids/batond-$r.pid"; then
        log "$r: batond already runs (pid $(cat "$lab/pids/batond-$r.pid"))"
        return 0
    fi
    ensure_pki
    write_batond_config "$r"
    # GNUTLS_NO_IMPLICIT_INIT=1 as the chart sets it (~0.7 MiB: GnuTLS is
    # loaded through libcurl and never used); env execs, so the pid stays
    # batond's
    start_proc "batond-$r" ip netns exec "baton-$r" env GNUTLS_NO_IMPLICIT_INIT=1 "$build/bin/batond" --config "$lab/batond/$r.yaml"
    log "$r: batond pid $(cat "$lab/pids/batond-$r.pid"), http://$(region_ip "$r"):8080, config $lab/batond/$r.yaml"
}
# ------------------------------------------------------------------------

cmd_up() {
    local n=${1:-3} i r ip base
    [ "$(id -u)" -eq 0 ] || die "the lab needs root (network namespaces, a bridge, veth pairs)"
    [[ $n =~ ^[1-6]$ ]] || die "N must be between 1 and 6"
    ensure_binaries
    mkdir -p "$lab/pids" "$lab/logs" "$lab/state" "$lab/volumes"
    if [ -f "$regions_dir/regions" ]; then
        [ -f "$regions_dir/$(head -1 "$regions_dir/regions")/netns" ] ||
            die "$regions_dir holds regions started without --netns: '$0 down' first"
        log "reusing the regions in $regions_dir: $(region_names | tr '\n' ' ')"
    else
        if ip link show batonbr0 >/dev/null 2>&1; then
            die "bridge batonbr0 exists but no lab regions are recorded in $regions_dir (regions from another directory?): stop them first"
        fi
        BATON_REGIONS_DIR=$regions_dir "$regions" up "$n" --netns ||
            die "regions did not start (see above)"
    fi
    i=0
    for r in $(region_names); do
        i=$((i + 1))
        ip=$(sed -n 's/^BATON_IP=//p' "$regions_dir/$r/region.env")
        # Database pods must land on the lab node, not on kwok's fake one.
        kc "$r" taint node "$r-node-0" baton.dev/kwok=true:NoSchedule --overwrite >/dev/null
        kc "$r" apply -f "$top/crds/" >/dev/null
        if pid_alive "$lab/pids/labkubelet-$r.pid"; then
            log "$r: lab kubelet already runs (pid $(cat "$lab/pids/labkubelet-$r.pid"))"
        else
            base=198.18.0.$((pod_base_octet + pod_stride * (i - 1)))
            mkdir -p "$lab/state/$r"
            start_proc "labkubelet-$r" "$labkubelet" \
                --kubeconfig "$regions_dir/$r/admin.kubeconfig" \
                --node "$r-lab" --region "$r" --node-ip "$ip" \
                --bin-dir "$build/bin" --state-dir "$lab/state/$r" \
                --pod-cidr-base "$base" --max-pods $max_pods
            log "$r: lab kubelet pid $(cat "$lab/pids/labkubelet-$r.pid"), node $r-lab, pods from $base"
        fi
        apply_pvs "$r"
    done
    # batond watches its peers' DatabaseClusters too: start it only once
    # every region has the CRD (a peer informer that starts on a 404 did
    # not see the peer's objects in the lab)
    for r in $(region_names); do
        start_batond "$r"
    done
    for r in $(region_names); do
        local ok=0
        for _ in $(seq 1 120); do
            if [ "$(kc "$r" get node "$r-lab" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; then
                ok=1; break
            fi
            pid_alive "$lab/pids/labkubelet-$r.pid" || break
            sleep 0.5
        done
        [ $ok = 1 ] || die "$r: node $r-lab did not become Ready (see $lab/logs/labkubelet-$r.log)"
    done
    log "lab is up: $(region_names | tr '\n' ' ')"
    cmd_status
}

# ----------------------------------------------------------------- down ---
cmd_down() {
    local f
    [ -d "$lab" ] || { log "nothing is up"; return 0; }
    for f in "$lab"/pids/batond-*.pid; do
        [ -e "$f" ] && stop_pidfile "$f" 35
    done
    # A lab kubelet stops its pods (grace <= 15 s) and removes their
    # namespaces on SIGTERM; give it the time, in parallel.
    for f in "$lab"/pids/labkubelet-*.pid; do
        [ -e "$f" ] && stop_pidfile "$f" 40 &
    done
    wait
    for f in "$lab"/pids/*.pid; do
        [ -e "$f" ] && stop_pidfile "$f" 10
    done
    cleanup_pod_hosts
    BATON_REGIONS_DIR=$regions_dir "$regions" down || true
    rm -rf "$lab"
    log "down"
}

# --------------------------------------------------------------- status ---
cmd_status() {
    local r f name state
    [ -f "$regions_dir/regions" ] || { echo "the lab is not up"; return 0; }
    BATON_REGIONS_DIR=$regions_dir "$regions" status
    echo "lab processes:"
    for f in "$lab"/pids/*.pid; do
        [ -e "$f" ] || continue
        name=$(basename "$f" .pid)
        if pid_alive "$f"; then state="pid $(cat "$f")"; else state=DEAD; fi
        printf '  %-24s%s\n' "$name:" "$state"
    done
    if ls "$lab"/pids/batond-*.pid >/dev/null 2>&1; then
        echo "batond:"
        for r in $(region_names); do
            printf '  %-12s http://%s:8080  readyz: %s\n' "$r" "$(region_ip "$r")" \
                "$(curl -s --max-time 1 "http://$(region_ip "$r"):8080/readyz" 2>&1 | head -1 || echo unreachable)"
        done
    fi
    echo "pod hosts:"
    for f in "$lab"/state/*/pods/*/state; do
        [ -f "$f" ] || continue
        printf '  %-28s %-16s %s\n' "$(sed -n 's/^netns=//p' "$f")" "$(sed -n 's/^ip=//p' "$f")" \
            "$(sed -n 's/^pod=//p' "$f")"
    done
    for r in $(region_names); do
        echo "region $r pods on $r-lab:"
        kc "$r" get pods -A -o wide --field-selector "spec.nodeName=$r-lab" 2>&1 | sed 's/^/  /'
    done
}

# apply-example [NAMESPACE/NAME [MODE]]: the same objects in every region, as a
# GitOps tool would: the namespace, the replication Secret the agents read
# (<name>-replication, key password) and a DatabaseCluster over all the
# lab's regions, primary in the first, synchronous, lease 2 s, 1 MiB WAL
# segments (LAB_WAL_SEGMENT_MB; 16 is PostgreSQL's default): each promote
# starts its timeline with a copy of the current segment and a heal's
# pg_rewind copies them all (docs/lab.md, the heal's rejoin).
cmd_apply_example() {
    local ref=${1:-lab/orders} mode=${2:-automatic} ns name r prio regions_yaml="" first
    local wal_segment_mb=${LAB_WAL_SEGMENT_MB:-1} replicas
    replicas=$(lab_setting LAB_REPLICAS); replicas=${replicas:-1}
    [[ $mode =~ ^(automatic|manual)$ ]] || die "failover mode must be automatic or manual, not '$mode'"
    [[ $replicas =~ ^[1-4]$ ]] || die "LAB_REPLICAS must be 1 to 4, not '$replicas'"
    [[ $ref == */* ]] || ref=lab/$ref
    ns=${ref%%/*} name=${ref#*/}
    [[ $ns =~ ^[a-z0-9-]+$ && $name =~ ^[a-z0-9-]+$ ]] || die "NAMESPACE/NAME must be DNS labels: '$ref'"
    [ -f "$regions_dir/regions" ] || die "the lab is not up"
    first=$(region_names | head -1)
    prio=300
    for r in $(region_names); do
        regions_yaml+="  - {name: $r, role: data, replicas: $replicas, priority: $prio}"$'\n'
        prio=$((prio - 100))
    done
    for r in $(region_names); do
        kc "$r" create namespace "$ns" --dry-run=client -o yaml | kc "$r" apply -f - >/dev/null
        kc "$r" -n "$ns" create secret generic "$name-replication" --from-literal=password=lab-only \
            --dry-run=client -o yaml | kc "$r" apply -f - >/dev/null
        kc "$r" apply -f - >/dev/null <<EOF
apiVersion: baton.dev/v1alpha1
kind: DatabaseCluster
metadata: {name: $name, namespace: $ns}
spec:
  engine: postgres
  regions:
$regions_yaml  primaryRegion: $first
  failover: {mode: $mode, leaseSeconds: 2, renewMillis: 500, synchronous: true}
  storage: {size: 1Gi, walSegmentSizeMB: $wal_segment_mb}
EOF
        log "$r: applied namespace $ns, secret $name-replication, DatabaseCluster $ns/$name (primary $first)"
    done
}

cmd_env() {
    [ -f "$regions_dir/regions" ] || die "the lab is not up"
    BATON_REGIONS_DIR=$regions_dir "$regions" env
    echo "export BATON_LAB_DIR=$lab"
}

cmd_recycle() {
    local r pv path
    for r in $(region_names); do
        for pv in $(kc "$r" get pv -l baton.dev/lab=true -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}'); do
            path=$(kc "$r" get pv "$pv" -o jsonpath='{.spec.hostPath.path}')
            case $path in "$lab"/volumes/*) rm -rf "${path:?}"/* "${path:?}"/.[!.]* 2>/dev/null || true ;; esac
            kc "$r" patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null
            log "$r: $pv wiped and Available again"
        done
    done
}

# The bridge-side veths of region R's pod hosts, from its kubelet's state.
region_pod_veths() {
    local f
    for f in "$lab/state/$1"/pods/*/state; do
        [ -f "$f" ] && sed -n 's/^veth=//p' "$f"
    done
}

cmd_link() { # cmd_link isolate|heal|isolate-control|heal-control REGION
    local verb=${1%-control} r=${2:-} v state
    [ -n "$r" ] && [ -d "$regions_dir/$r" ] || die "which region? ($(region_names | tr '\n' ' '))"
    BATON_REGIONS_DIR=$regions_dir "$regions" "$verb" "$r"
    [ "$1" != "$verb" ] && return 0 # the control plane alone
    state=$([ "$verb" = isolate ] && echo down || echo up)
    for v in $(region_pod_veths "$r"); do
        ip link set "$v" "$state" 2>/dev/null && log "$r: pod host link $v $state"
    done
}

# isolate-pod|heal-pod R ORD [NS/NAME]: the link of the pod host of
# instance ORD (<name>-<R>-<ORD>) goes down / up, nothing else.
cmd_pod_link() {
    local verb=$1 r=${2:-} ord=${3:-} ref=${4:-lab/orders} f want v="" state
    [ -n "$r" ] && [ -d "$regions_dir/$r" ] || die "which region? ($(region_names | tr '\n' ' '))"
    [[ $ord =~ ^[0-9]+$ ]] || die "$verb $r ORD: ORD is the instance's ordinal"
    [[ $ref == */* ]] || ref=lab/$ref
    want="${ref%%/*}/${ref#*/}-$r-$ord"
    for f in "$lab/state/$r"/pods/*/state; do
        [ -f "$f" ] && [ "$(sed -n 's/^pod=//p' "$f")" = "$want" ] && v=$(sed -n 's/^veth=//p' "$f")
    done
    [ -n "$v" ] || die "$r runs no pod $want (lab.sh status)"
    state=$([ "$verb" = isolate-pod ] && echo down || echo up)
    ip link set "$v" "$state" || die "cannot set $v $state"
    log "$r: pod host of $want: link $v $state"
}

# delay R MS: what region R's host (batond) sends to R's pod hosts' agents
# (orders and status polls to tcp 8081, answers to the agents' lease asks
# from tcp 7102) is held MS ms by baton_netdelay on an NFQUEUE (the kernel
# has no netem). Everything else, and the other direction, is untouched.
# undelay R removes the rules and stops the delayer.
delay_chain=BATON-DELAY
cmd_delay() {
    local r=${1:-} ms=${2:-} q ip f ips=() netdelay=$build/tests/lab/baton_netdelay
    [ -n "$r" ] && [ -d "$regions_dir/$r" ] || die "which region? ($(region_names | tr '\n' ' '))"
    [[ $ms =~ ^[0-9]+$ ]] || die "delay $r MS: MS in milliseconds"
    command -v iptables >/dev/null || die "iptables is missing (make deps)"
    if [ ! -x "$netdelay" ]; then
        make -C "$top" --no-print-directory "${netdelay#"$top"/}" >&2 || die "cannot build $netdelay (libnetfilter-queue-dev: make deps)"
    fi
    cmd_undelay "$r" quiet
    for f in "$lab/state/$r"/pods/*/state; do
        [ -f "$f" ] && ip=$(sed -n 's/^ip=//p' "$f") && [ -n "$ip" ] && ips+=("$ip")
    done
    [ ${#ips[@]} -gt 0 ] || die "$r has no pod hosts to delay"
    q=$((100 + $(region_names | grep -nx "$r" | cut -d: -f1)))
    start_proc "netdelay-$r" ip netns exec "baton-$r" "$netdelay" --queue "$q" --delay-ms "$ms"
    sleep 0.3
    pid_alive "$lab/pids/netdelay-$r.pid" || die "baton_netdelay did not start (see $lab/logs/netdelay-$r.log)"
    ip netns exec "baton-$r" iptables -N "$delay_chain"
    for ip in "${ips[@]}"; do
        ip netns exec "baton-$r" iptables -A "$delay_chain" -d "$ip" -p tcp --dport 8081 -j NFQUEUE --queue-num "$q" --queue-bypass
        ip netns exec "baton-$r" iptables -A "$delay_chain" -d "$ip" -p tcp --sport 7102 -j NFQUEUE --queue-num "$q" --queue-bypass
    done
    ip netns exec "baton-$r" iptables -I OUTPUT -j "$delay_chain"
    log "$r: batond -> agent traffic to ${ips[*]} delayed by $ms ms"
}
cmd_undelay() {
    local r=${1:-}
    [ -n "$r" ] && [ -d "$regions_dir/$r" ] || die "which region? ($(region_names | tr '\n' ' '))"
    if ip netns exec "baton-$r" iptables -D OUTPUT -j "$delay_chain" 2>/dev/null; then
        ip netns exec "baton-$r" iptables -F "$delay_chain"
    fi
    ip netns exec "baton-$r" iptables -X "$delay_chain" 2>/dev/null || true
    stop_pidfile "$lab/pids/netdelay-$r.pid" 5
    [ "${2:-}" = quiet ] || log "$r: batond -> agent traffic no longer delayed"
}

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

case ${1:-} in
    up) shift; cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    recycle) cmd_recycle ;;
    apply-example) shift; cmd_apply_example "$@" ;;
    isolate|heal|isolate-control|heal-control) cmd_link "$1" "${2:-}" ;;
    isolate-pod|heal-pod) cmd_pod_link "$1" "${2:-}" "${3:-}" "${4:-}" ;;
    delay) cmd_delay "${2:-}" "${3:-}" ;;
    undelay) cmd_undelay "${2:-}" ;;
    -h|--help|help|"") usage ;;
    *) die "unknown command '$1' (see --help)" ;;
esac
