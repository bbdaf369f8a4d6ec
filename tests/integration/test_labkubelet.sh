#!/usr/bin/env bash
# The lab kubelet (tests/helpers/labkubelet/) against a real control
# plane: a StatefulSet pod bound to the lab node becomes a process in its own
# network namespace with its own address, Running and Ready through the real
# API (pods/status), and an EndpointSlice carries that address; the process
# answers on it from the root namespace; its volume is the bound PV's
# hostPath; secret volumes hold the Secret's decoded keys with their modes,
# read-only, follow changes to the Secret, and a missing Secret holds its
# pod back until it exists; a SIGKILLed process is restarted and counted;
# deleting the pod stops the process and removes the namespace before the
# API lets the pod go; SIGTERM to the lab kubelet leaves nothing behind.
#
# Self-contained: tests/integration/run.sh starts its regions on loopback,
# but pod hosts need the bridge, so this test starts its own one-region
# control plane with --netns in a private directory (region "lkt",
# 198.18.0.11) and stops it on exit. Needs root. The pod's process is the
# lab kubelet's own `fake-agent` mode (serves /healthz, /readyz,
# /v1/status), so nothing beyond the project's dependencies is needed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
build=${BATON_BUILD:-build/san}
[[ $build = /* ]] || build=$top/$build
lk=$build/tests/helpers/baton_labkubelet
regions=$top/tests/env/regions
export PATH=$top/tests/env/bin:$PATH
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

if [ "$(id -u)" -ne 0 ]; then
    not_ok "the lab kubelet test needs root (network namespaces)"; tap_exit
fi
if [ ! -x "$lk" ]; then
    not_ok "$lk is not built (make SANITIZE=address,undefined unit-build)"; tap_exit
fi
if ip link show batonbr0 >/dev/null 2>&1; then
    not_ok "bridge batonbr0 exists already (a --netns lab or regions are up): stop them first"
    tap_exit
fi

tmp=$(mktemp -d /tmp/baton-lkt.XXXXXX)
R=$tmp/regions
state=$tmp/state
lkpid=""
cleanup() {
    if [ -n "$lkpid" ] && kill -0 "$lkpid" 2>/dev/null; then
        kill -TERM "$lkpid" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$lkpid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$lkpid" 2>/dev/null
    fi
    # anything a crashed lab kubelet left: its state files name it
    for f in "$state"/pods/*/state; do
        [ -f "$f" ] || continue
        while read -r _ pid start _; do
            [ "$(awk '{print $22}' "/proc/$pid/stat" 2>/dev/null)" = "$start" ] && kill -KILL "$pid"
        done < <(grep '^pid=' "$f" | sed 's/^pid=/x /')
        ns=$(sed -n 's/^netns=//p' "$f")
        [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
    done
    BATON_REGIONS_DIR=$R "$regions" down >/dev/null 2>&1
    if [ "${_tap_failed:-0}" = 0 ]; then rm -rf "$tmp"; else echo "# logs kept in $tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! BATON_REGIONS_DIR=$R "$regions" up 1 --netns --names lkt >"$tmp/up.log" 2>&1; then
    not_ok "one --netns region starts"; sed 's/^/#   /' "$tmp/up.log"; tap_exit
fi
ok "one --netns region starts"
kc=(kubectl --kubeconfig "$R/lkt/admin.kubeconfig")
node=lkt-lab

setsid "$lk" --kubeconfig "$R/lkt/admin.kubeconfig" --node $node --region lkt \
    --bin-dir "$build/bin" --state-dir "$state" --pod-cidr-base 198.18.0.200 \
    --max-pods 8 --node-ip 198.18.0.11 >"$tmp/labkubelet.log" 2>&1 </dev/null &
lkpid=$!

jp() { "${kc[@]}" get "$1" -o "jsonpath=$2" 2>/dev/null; }
# gone PID...: none of them runs (a zombie waiting for its reaper is gone)
gone() {
    local p st
    for p in "$@"; do
        st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
        [ -z "$st" ] || [ "$st" = Z ] || return 1
    done
}
export -f gone
eventually 60 "the lab node registers and is Ready" \
    bash -c "[ \"\$(${kc[*]} get node $node -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
check "the node carries the lab and region labels" \
    bash -c "${kc[*]} get nodes -l baton.dev/lab=true,topology.kubernetes.io/region=lkt -o name | grep -qx node/$node"
eventually 20 "the node's Lease in kube-node-lease is renewed" \
    bash -c "[ \"\$(${kc[*]} -n kube-node-lease get lease $node -o jsonpath='{.spec.holderIdentity}')\" = $node ]"

mkdir -p "$tmp/pv/data-lkt-0" "$tmp/pv/data-lktpg-0"
agent=$build/bin/baton-agent
"${kc[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: lkt-pv-0}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: {namespace: default, name: data-lkt-0}
  hostPath: {path: $tmp/pv/data-lkt-0, type: DirectoryOrCreate}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: lkt-pv-1}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: {namespace: default, name: data-lktpg-0}
  hostPath: {path: $tmp/pv/data-lktpg-0, type: DirectoryOrCreate}
---
# The real baton-agent, running PostgreSQL in its pod host (bare command
# name: the lab kubelet finds it in --bin-dir).
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: lktpg, namespace: default}
spec:
  serviceName: lktpg
  replicas: 1
  selector: {matchLabels: {app: lktpg}}
  template:
    metadata: {labels: {app: lktpg}}
    spec:
      nodeSelector: {baton.dev/lab: "true"}
      terminationGracePeriodSeconds: 10
      containers:
      - name: postgres
        image: postgres:15
      - name: baton-agent
        image: baton-agent:lab
        args: [baton-agent, --listen, "0.0.0.0:8081", --region, lkt,
               --pg-data, /var/lib/postgresql/data/pgdata, --pg-host, "\$(POD_IP)",
               --init, primary]
        env:
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: BATON_REPL_PASSWORD, value: lab-only}
        readinessProbe: {httpGet: {path: /readyz, port: 8081}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: ""
      resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Secret
metadata: {name: lkt-secret, namespace: default}
stringData: {password: "s3cr\$(POD_NAME)t"}
---
apiVersion: v1
kind: Service
metadata: {name: lkt, namespace: default}
spec:
  selector: {app: lkt}
  ports: [{name: agent, port: 8081, targetPort: 8081}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: lkt, namespace: default}
spec:
  serviceName: lkt
  replicas: 1
  selector: {matchLabels: {app: lkt}}
  template:
    metadata: {labels: {app: lkt}}
    spec:
      nodeSelector: {baton.dev/lab: "true"}
      terminationGracePeriodSeconds: 5
      containers:
      - name: postgres
        image: postgres:16
      - name: baton-agent
        image: baton-agent:lab
        command: ["$lk"]
        args: [fake-agent, --listen, "0.0.0.0:8081", --write, /data/hello,
               --not-ready-file, /data/notready, --echo-env, LAB_SECRET]
        env:
        - {name: LAB_SECRET, valueFrom: {secretKeyRef: {name: lkt-secret, key: password}}}
        - {name: LAB_OPTIONAL, valueFrom: {secretKeyRef: {name: lkt-no-such, key: x, optional: true}}}
        - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        ports: [{name: agent, containerPort: 8081}]
        readinessProbe: {httpGet: {path: /readyz, port: agent}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: ""
      resources: {requests: {storage: 1Gi}}
YAML

eventually 90 "the StatefulSet's pod lkt-0 is Ready on the lab node" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-0 -o jsonpath='{.spec.nodeName}/{.status.conditions[?(@.type==\"Ready\")].status}')\" = $node/True ]"
uid1=$(jp pod/lkt-0 '{.metadata.uid}')
ip=$(jp pod/lkt-0 '{.status.podIP}')
pid=$(jp pod/lkt-0 '{.status.containerStatuses[?(@.name=="baton-agent")].containerID}'); pid=${pid#lab://}
check "phase Running, podIP $ip from the pod CIDR base, hostIP the node's" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-0 -o jsonpath='{.status.phase} {.status.podIPs[0].ip} {.status.hostIP}')\" = 'Running $ip 198.18.0.11' ] && [[ $ip =~ ^198\.18\.0\.20[0-7]$ ]]"
check "both containers are reported running and ready (postgres is passive)" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-0 -o jsonpath='{range .status.containerStatuses[*]}{.name}={.ready},{.restartCount},{.state.running.startedAt}{\"\\n\"}{end}' | sed 's/,20[0-9T:-]*Z$/,t/' | sort | tr '\n' ' ')\" = 'baton-agent=true,0,t postgres=true,0,t ' ]"
check "the pod host bp-lkt-0 exists and holds the agent's pid $pid" \
    bash -c "ip netns pids bp-lkt-0 | grep -qx '$pid'"
check "the agent is reachable from the root namespace at $ip:8081" \
    curl -fsS --max-time 3 "http://$ip:8081/healthz"
check "fieldRef env is resolved (POD_NAME, POD_NAMESPACE)" \
    bash -c "curl -fsS --max-time 3 http://$ip:8081/v1/status | grep -q '\"namespace\":\"default\".*\"pod\":\"lkt-0\"'"
check "secretKeyRef env is the Secret's decoded value, not \$(VAR)-expanded" \
    bash -c "curl -fsS --max-time 3 http://$ip:8081/v1/status | grep -qF '\"LAB_SECRET\":\"s3cr\$(POD_NAME)t\"'"
check "its /data is the bound PersistentVolume's hostPath" \
    grep -qx lkt-0 "$tmp/pv/data-lkt-0/hello"
eventually 30 "the Service's EndpointSlice carries the pod-host address $ip, ready" \
    bash -c "${kc[*]} get endpointslices -l kubernetes.io/service-name=lkt -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready}{\"\\n\"}{end}' | grep -qx '$ip=true'"

# A crash: SIGKILL the process, the lab kubelet restarts it and counts it.
kill -KILL "$pid"
eventually 30 "a SIGKILLed agent is restarted and counted (restartCount 1, Ready again)" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-0 -o jsonpath='{.status.containerStatuses[?(@.name==\"baton-agent\")].restartCount}/{.status.conditions[?(@.type==\"Ready\")].status}')\" = 1/True ]"
pid2=$(jp pod/lkt-0 '{.status.containerStatuses[?(@.name=="baton-agent")].containerID}'); pid2=${pid2#lab://}
check "the restarted agent is a new process ($pid2) in the same pod host" \
    bash -c "[ '$pid2' != '$pid' ] && ip netns pids bp-lkt-0 | grep -qx '$pid2' && gone $pid"
check "lastState records the kill (exit code 137)" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-0 -o jsonpath='{.status.containerStatuses[?(@.name==\"baton-agent\")].lastState.terminated.exitCode}')\" = 137 ]"

# Readiness follows the probe: not ready → Ready False and out of the
# EndpointSlice's ready endpoints; ready again → back.
touch "$tmp/pv/data-lkt-0/notready"
eventually 20 "a failing /readyz makes the pod not Ready (failureThreshold 3)" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-0 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = False ]"
eventually 20 "... and its EndpointSlice endpoint not ready" \
    bash -c "${kc[*]} get endpointslices -l kubernetes.io/service-name=lkt -o jsonpath='{range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready}{\"\\n\"}{end}' | grep -qx '$ip=false'"
rm -f "$tmp/pv/data-lkt-0/notready"
eventually 20 "a passing /readyz makes it Ready again" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-0 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"

eventually 15 "kubectl describe shows the lab kubelet's Events (Started, BackOff, Unhealthy)" \
    bash -c "[ \"\$(${kc[*]} get events --field-selector involvedObject.name=lkt-0,involvedObject.kind=Pod,source=baton-labkubelet -o jsonpath='{range .items[*]}{.reason}{\"\\n\"}{end}' | sort -u | grep -E '^(Started|BackOff|Unhealthy)$' | tr '\n' ' ')\" = 'BackOff Started Unhealthy ' ]"

# A process that ignores SIGTERM is killed after the grace period; a pod
# whose command does not exist says so in its waiting state.
"${kc[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: lkt-stubborn, namespace: default}
spec:
  nodeName: $node
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: lab
    command: ["$lk", fake-agent, --listen, "0.0.0.0:8082", --ignore-sigterm]
---
apiVersion: v1
kind: Pod
metadata: {name: lkt-missing, namespace: default}
spec:
  nodeName: $node
  containers:
  - {name: main, image: lab, args: [no-such-program-baton]}
YAML
eventually 30 "a pod bound by spec.nodeName runs (lkt-stubborn)" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-stubborn -o jsonpath='{.status.phase}/{.status.containerStatuses[0].started}')\" = Running/true ]"
spid=$(jp pod/lkt-stubborn '{.status.containerStatuses[0].containerID}'); spid=${spid#lab://}
eventually 20 "a missing executable is reported (RunContainerError, names --bin-dir)" \
    bash -c "${kc[*]} get pod lkt-missing -o jsonpath='{.status.containerStatuses[0].state.waiting.reason}: {.status.containerStatuses[0].state.waiting.message}' | grep -q '^RunContainerError: executable no-such-program-baton not found in --bin-dir'"
start=$SECONDS
"${kc[@]}" delete pod lkt-stubborn --wait=false >/dev/null
eventually 15 "SIGTERM ignored: SIGKILL after the 2 s grace period" gone "$spid"
check "... not before the grace period ($((SECONDS - start))s >= 2s)" test $((SECONDS - start)) -ge 2
eventually 15 "... and the pod is deleted from the API once stopped" \
    not_found "${kc[@]}" get pod lkt-stubborn
check "... the lab kubelet logged the SIGKILL" grep -q '"grace period over: SIGKILL".*lkt-stubborn\|lkt-stubborn.*grace period over: SIGKILL' "$tmp/labkubelet.log"
"${kc[@]}" delete pod lkt-missing --wait=false >/dev/null

# Secret volumes, as the kubelet mounts them: every key decoded into a file
# (defaultMode, or only items[] at their paths and modes), read-only in the
# pod, rewritten in place when the Secret changes (a dropped key's file
# goes); an optional missing Secret is an empty directory; a missing one
# holds the pod back, saying why, until it exists.
b64() { printf "$1" | base64 -w0; }
# files_are WANT PID DIR: the files under DIR as the pod whose process is
# PID sees them (its own mount namespace) are WANT: "PATH MODE BASE64"
# lines, sorted.
files_are() {
    local got
    got=$(nsenter -t "$2" -m -- bash -c 'cd "$1" && find . -type f -printf "%P %m\n" | LC_ALL=C sort |
        while read -r f m; do echo "$f $m $(base64 -w0 <"$f")"; done' _ "$3") || return 1
    [ "$got" = "$1" ] || { printf 'want:\n%s\ngot:\n%s\n' "$1" "$got"; return 1; }
}
# mount_opts PID DIR: the mount options of DIR in PID's mount namespace
mount_opts() { awk -v m="$2" '$5 == m {print $6}' "/proc/$1/mountinfo"; }
"${kc[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata: {name: lkt-tls, namespace: default}
data:
  tls.crt: $(b64 'CERT one\n')
  tls.key: $(b64 'KEY one\n')
  ca.crt: $(b64 'CA one\n')
  blob: $(b64 'a\0b\377\n')
---
apiVersion: v1
kind: Pod
metadata: {name: lkt-sec, namespace: default}
spec:
  nodeName: $node
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: lab
    command: ["$lk", fake-agent, --listen, "0.0.0.0:8083"]
    volumeMounts:
    - {name: agent-tls, mountPath: $tmp/mnt/agent-tls, readOnly: true}
    - {name: picked, mountPath: $tmp/mnt/picked}
    - {name: opt, mountPath: $tmp/mnt/opt}
  volumes:
  - {name: agent-tls, secret: {secretName: lkt-tls, defaultMode: 0440}}
  - name: picked
    secret:
      secretName: lkt-tls
      items: [{key: ca.crt, path: certs/ca.pem, mode: 0400}, {key: tls.crt, path: leaf.crt}]
  - {name: opt, secret: {secretName: lkt-no-such, optional: true}}
---
apiVersion: v1
kind: Pod
metadata: {name: lkt-wait, namespace: default}
spec:
  nodeName: $node
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: lab
    command: ["$lk", fake-agent, --listen, "0.0.0.0:8084"]
    volumeMounts: [{name: later, mountPath: $tmp/mnt/later}]
  volumes:
  - {name: later, secret: {secretName: lkt-later}}
YAML
eventually 30 "a pod with secret volumes runs (lkt-sec)" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-sec -o jsonpath='{.status.phase}/{.status.containerStatuses[0].started}')\" = Running/true ]"
secpid=$(jp pod/lkt-sec '{.status.containerStatuses[0].containerID}'); secpid=${secpid#lab://}
secuid=$(jp pod/lkt-sec '{.metadata.uid}')
check "secret volume agent-tls: every key decoded (binary too), mode 0440 from defaultMode" \
    files_are "blob 440 $(b64 'a\0b\377\n')
ca.crt 440 $(b64 'CA one\n')
tls.crt 440 $(b64 'CERT one\n')
tls.key 440 $(b64 'KEY one\n')" "$secpid" "$tmp/mnt/agent-tls"
check "secret volume with items: only those keys, at their paths, item mode else 0644" \
    files_are "certs/ca.pem 400 $(b64 'CA one\n')
leaf.crt 644 $(b64 'CERT one\n')" "$secpid" "$tmp/mnt/picked"
check "an optional Secret that does not exist is an empty directory, mounted" \
    bash -c "[ -n \"\$(awk -v m=$tmp/mnt/opt '\$5 == m' /proc/$secpid/mountinfo)\" ] && [ -z \"\$(nsenter -t $secpid -m -- ls -A $tmp/mnt/opt)\" ]"
check "secret volumes are mounted read-only, with or without readOnly: true" \
    bash -c "[ \"\$(awk -v a=$tmp/mnt/agent-tls -v b=$tmp/mnt/picked '\$5 == a || \$5 == b {sub(/,.*/, \"\", \$6); print \$6}' /proc/$secpid/mountinfo | tr '\n' ' ')\" = 'ro ro ' ]"
check "... and a write into one fails (Read-only file system)" \
    bash -c "! out=\$(nsenter -t $secpid -m -- sh -c 'echo x > $tmp/mnt/picked/leaf.crt' 2>&1) && grep -q 'Read-only file system' <<<\"\$out\""
check "the files live in the pod's state directory, not at the host's mount path" \
    bash -c "[ -f $state/pods/$secuid/volumes/agent-tls/tls.key ] && [ -z \"\$(ls -A $tmp/mnt/agent-tls)\" ]"

"${kc[@]}" replace -f - >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata: {name: lkt-tls, namespace: default}
data:
  tls.crt: $(b64 'CERT two\n')
  ca.crt: $(b64 'CA one\n')
  blob: $(b64 'a\0b\377\n')
YAML
eventually 40 "a changed Secret reaches the running pod: tls.crt rewritten, the dropped tls.key removed" \
    files_are "blob 440 $(b64 'a\0b\377\n')
ca.crt 440 $(b64 'CA one\n')
tls.crt 440 $(b64 'CERT two\n')" "$secpid" "$tmp/mnt/agent-tls"
eventually 15 "... and the items volume too (leaf.crt)" \
    files_are "certs/ca.pem 400 $(b64 'CA one\n')
leaf.crt 644 $(b64 'CERT two\n')" "$secpid" "$tmp/mnt/picked"
check "... without restarting the container (same pid $secpid, restartCount 0)" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-sec -o jsonpath='{.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount}')\" = 'lab://$secpid 0' ]"

wmsg='volume later: Secret lkt-later not found (the pod waits for it: the volume is not optional)'
eventually 20 "a pod whose Secret is missing waits, saying why (lkt-wait)" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-wait -o jsonpath='{.status.phase} {.status.containerStatuses[0].state.waiting.reason}: {.status.containerStatuses[0].state.waiting.message}')\" = 'Pending ContainerCreating: $wmsg' ]"
eventually 15 "... as a Warning Event (FailedCreatePodSandBox, the retry path's reason)" \
    bash -c "${kc[*]} get events --field-selector involvedObject.name=lkt-wait,reason=FailedCreatePodSandBox -o jsonpath='{range .items[*]}{.type}: {.message}{\"\\n\"}{end}' | grep -qxF 'Warning: $wmsg'"
sleep 3 # a retry or two (every 2 s)
check "... and nothing of it runs: no process, no pod host" \
    bash -c "[ -z \"\$(${kc[*]} get pod lkt-wait -o jsonpath='{.status.containerStatuses[0].containerID}')\" ] && ! ip netns list | grep -q '^bp-lkt-wait\\b'"
"${kc[@]}" create secret generic lkt-later -n default --from-literal=token=late-but-here >/dev/null
eventually 30 "once the Secret exists the waiting pod starts" \
    bash -c "[ \"\$(${kc[*]} get pod lkt-wait -o jsonpath='{.status.phase}/{.status.containerStatuses[0].started}')\" = Running/true ]"
wpid=$(jp pod/lkt-wait '{.status.containerStatuses[0].containerID}'); wpid=${wpid#lab://}
check "... and sees the Secret's key (mode 0644 by default)" \
    files_are "token 644 $(b64 'late-but-here')" "$wpid" "$tmp/mnt/later"

# A pod deleted while it waits: the volumes already made (lkt-tls decoded)
# go with it, though it never had a pod host.
"${kc[@]}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: lkt-never, namespace: default}
spec:
  nodeName: $node
  containers:
  - {name: main, image: lab, command: ["$lk", fake-agent]}
  volumes:
  - {name: made, secret: {secretName: lkt-tls}}
  - {name: never, secret: {secretName: lkt-never}}
YAML
nuid=$(jp pod/lkt-never '{.metadata.uid}')
eventually 20 "a pod with one Secret there and one missing waits for the missing one (lkt-never)" \
    bash -c "${kc[*]} get pod lkt-never -o jsonpath='{.status.containerStatuses[0].state.waiting.message}' | grep -q '^volume never: Secret lkt-never not found'"
check "... with the first volume's files made (mode 0644 without defaultMode)" \
    bash -c "[ \"\$(cat $state/pods/$nuid/volumes/made/tls.crt) \$(stat -c %a $state/pods/$nuid/volumes/made/tls.crt)\" = 'CERT two 644' ]"
"${kc[@]}" delete pod lkt-never --wait=false >/dev/null
eventually 20 "deleting the waiting pod lets it go" not_found "${kc[@]}" get pod lkt-never
check "... and removes the secret files it had made" test ! -e "$state/pods/$nuid/volumes"

"${kc[@]}" delete pod lkt-sec --wait=false >/dev/null
eventually 20 "deleting the pod with secret volumes stops it" not_found "${kc[@]}" get pod lkt-sec
check "... and removes the decoded secret files from the state directory" \
    test ! -e "$state/pods/$secuid/volumes"

# Deletion: the process stops, the namespace goes, then the API lets go and
# the StatefulSet makes a new pod with the same claim.
"${kc[@]}" delete pod lkt-0 --wait=false >/dev/null
eventually 20 "deleting the pod stops its process (pid $pid2 is gone)" \
    gone "$pid2"
eventually 20 "deleting the pod removes its network namespace" \
    bash -c "! ip netns list | grep -q '^bp-lkt-0\\b' || [ \"\$(${kc[*]} get pod lkt-0 -o jsonpath='{.metadata.uid}')\" != $uid1 ]"
eventually 60 "the StatefulSet's new lkt-0 (new uid) is Ready" \
    bash -c "u=\$(${kc[*]} get pod lkt-0 -o jsonpath='{.metadata.uid}/{.status.conditions[?(@.type==\"Ready\")].status}'); [ \"\${u%/*}\" != $uid1 ] && [ \"\${u#*/}\" = True ]"
check "the new pod found the old pod's data on the same claim (one line per start)" \
    bash -c "[ \"\$(cat $tmp/pv/data-lkt-0/hello | tr '\n' ' ')\" = 'lkt-0 lkt-0 lkt-0 ' ]"
ip3=$(jp pod/lkt-0 '{.status.podIP}')
pid3=$(jp pod/lkt-0 '{.status.containerStatuses[?(@.name=="baton-agent")].containerID}'); pid3=${pid3#lab://}
check "the new pod answers at $ip3" curl -fsS --max-time 3 "http://$ip3:8081/healthz"

# The real agent: PostgreSQL initialised on the claim, served at the pod
# host's address, the agent's status says primary (fenced: no batond).
check "the real baton-agent is built ($agent)" test -x "$agent"
eventually 60 "the real agent's pod lktpg-0 is Ready" \
    bash -c "[ \"\$(${kc[*]} get pod lktpg-0 -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]"
pgip=$(jp pod/lktpg-0 '{.status.podIP}')
check "the agent reports an initialised primary at $pgip" \
    bash -c "curl -fsS --max-time 3 http://$pgip:8081/v1/status | grep -q '\"role\":\"primary\"'"
check "PostgreSQL accepts connections at the pod host's address $pgip:5432" \
    pg_isready -h "$pgip" -p 5432 -t 3
check "its data directory is on the claim's hostPath" test -f "$tmp/pv/data-lktpg-0/pgdata/PG_VERSION"
pgpids=$(ip netns pids bp-lktpg-0 | tr '\n' ' ')
check "the pod host holds the agent and the postmaster ($pgpids)" \
    bash -c "[ \$(wc -w <<<'$pgpids') -ge 3 ]"

# Our own SIGTERM: every process and pod host we started goes away.
kill -TERM "$lkpid"
eventually 30 "SIGTERM: the lab kubelet exits" bash -c "! kill -0 $lkpid 2>/dev/null"
wait "$lkpid"; rc=$?
check "it exited 0" test "$rc" = 0
lkpid=""
check "SIGTERM stopped the pod's process" gone "$pid3"
check "SIGTERM stopped the agent and PostgreSQL in the other pod host" \
    gone $pgpids
check "SIGTERM removed the pod host" bash -c "! ip netns list | grep -q '^bp-'"
check "no state file is left behind" bash -c "! ls $state/pods/*/state 2>/dev/null | grep -q ."
check "the lab kubelet logged JSON lines only" \
    bash -c "grep -v '^{' $tmp/labkubelet.log | grep -v '^$' | (! grep -q .)"
tap_exit
