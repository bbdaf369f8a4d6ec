#!/usr/bin/env bash
# A Docker engine for the image targets (make images, images-smoke).
#
#   images/dockerd.sh start    use the running engine, or start one
#   images/dockerd.sh stop     stop the engine *this script* started
#   images/dockerd.sh status
#
# These machines have no init system, so nothing starts dockerd for us
# (../shared/research/containers.md). `start` first asks the engine that
# may already be there (`docker info`): if one answers, whoever started it
# owns it and it is used as it is. Otherwise it starts dockerd in the
# background with its own configuration, records the pid in
# $BATON_DOCKERD_DIR/dockerd.pid and leaves it running, so the image build
# cache and the images survive between make runs. `stop` signals exactly
# that pid (after checking it is still the dockerd we started, not a
# recycled pid), never a process found by name. dockerd stops the
# containerd it started itself.
#
# The configuration keeps Docker's networks out of private ranges: the
# default bridge (which `docker build` RUN steps use) is 198.19.128.1/24 and
# networks created without a subnet come from 198.19.192.0/18, both inside
# the benchmarking range 198.18.0.0/15 (RFC 2544) and clear of what the
# network-namespace lab and the integration tests use (198.18.0.0/24 for
# hosts and pods, 198.18.101-103.0/24, 198.19.0.0-198.19.63.255 for
# service ranges): a docker0 on 198.18.0.0/24 took the lab's routes.
set -euo pipefail

dir=${BATON_DOCKERD_DIR:-/run/baton-dockerd}
pidfile=$dir/dockerd.pid
conf=$dir/daemon.json
log() { printf '[dockerd] %s\n' "$*" >&2; }

docker_cli() {
    # The engine is Debian's 20.10; its own CLI (/usr/bin/docker) drives
    # BuildKit without the buildx plugin that newer CLIs require.
    if [ -n "${DOCKER:-}" ]; then echo "$DOCKER"
    elif [ -x /usr/bin/docker ]; then echo /usr/bin/docker
    else command -v docker; fi
}

# The pid in the pidfile, if that process is still the dockerd we started.
our_pid() {
    local pid
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--config-file $conf" || return 1
    echo "$pid"
}

engine_answers() { "$(docker_cli)" info >/dev/null 2>&1; }

start() {
    local pid i
    command -v dockerd >/dev/null || { log "no dockerd: install docker.io (make deps)"; exit 1; }
    if engine_answers; then
        if pid=$(our_pid); then
            log "running (pid $pid, started by images/dockerd.sh; stop: images/dockerd.sh stop)"
        else
            log "a Docker engine is already running and not ours: using it, leaving it alone"
        fi
        return 0
    fi
    if pid=$(our_pid); then
        log "dockerd pid $pid is ours but does not answer yet; waiting"
    else
        [ "$(id -u)" -eq 0 ] || { log "no Docker engine answers and starting one needs root"; exit 1; }
        mkdir -p "$dir"
        # Root here lacks CAP_SYS_RESOURCE, so privileged containers (kind's
        # nodes) need runc without it: images/kind/files/runc-nosysres.
        install -m 0755 "$(dirname "$0")/kind/files/runc-nosysres" "$dir/runc-nosysres"
        cat >"$conf" <<JSON
{
  "runtimes": {"runc-nosysres": {"path": "$dir/runc-nosysres"}},
  "default-runtime": "runc-nosysres",
  "bip": "198.19.128.1/24",
  "default-address-pools": [{"base": "198.19.192.0/18", "size": 24}],
  "storage-driver": "overlay2",
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m", "max-file": "2"}
}
JSON
        # setsid: the engine outlives this script and make's process group
        setsid dockerd --config-file "$conf" --pidfile "$dir/dockerd.docker-pid" \
            >>"$dir/dockerd.log" 2>&1 </dev/null &
        pid=$!
        echo "$pid" >"$pidfile"
        log "started dockerd pid $pid (log $dir/dockerd.log); stop it with: images/dockerd.sh stop"
    fi
    for i in $(seq 1 120); do
        engine_answers && { log "engine answers after ${i}x0.5 s"; return 0; }
        if ! kill -0 "$pid" 2>/dev/null; then
            log "dockerd pid $pid exited; the end of $dir/dockerd.log:"
            tail -20 "$dir/dockerd.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    log "dockerd pid $pid does not answer after 60 s (see $dir/dockerd.log)"
    exit 1
}

stop() {
    local pid i
    if ! pid=$(our_pid); then
        log "no dockerd started by this script is running: nothing to stop"
        return 0
    fi
    log "stopping dockerd pid $pid (the one this script started)"
    kill -TERM "$pid"
    for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "stopped"; return 0; }
        sleep 0.5
    done
    log "dockerd pid $pid still running after 30 s; left as is"
    exit 1
}

status() {
    local pid
    if pid=$(our_pid); then echo "dockerd pid $pid (started by images/dockerd.sh)"
    elif engine_answers; then echo "a Docker engine runs, not started by images/dockerd.sh"
    else echo "no Docker engine"; return 1; fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
cli) docker_cli ;;
*) echo "usage: images/dockerd.sh start|stop|status|cli" >&2; exit 2 ;;
esac
