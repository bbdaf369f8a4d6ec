#!/usr/bin/env bash
# make images-smoke: proof that the Baton image (make images) works.
#
#  1. batond, baton-agent and batonctl run in it: `--help` exits 0 and
#     `--version` prints this tree's version (so the image holds this
#     build, not an older one).
#  2. Users: the image runs as baton (65532), never root; postgres is 999:999
#     with a passwd entry (initdb and peer authentication need the name).
#  3. baton-agent as the database pod runs it (operator/batond/children.c:
#     uid 999, read-only root filesystem, no capabilities, the data volume
#     at /var/lib/postgresql/data, the pod's agent flags but TLS and
#     batond): --init primary runs initdb and starts PostgreSQL 15 with the
#     baton_lease module; /readyz turns 200 and /v1/status says primary.
#     With no batond there is no lease, so the instance must be fenced: a
#     write is refused by PostgreSQL. No process in the container is root.
#  4. docker stop: the agent exits 0; a new container on the same volume,
#     without --init, starts the existing instance (what the init made is
#     there). How the first server ended is printed (see the note below).
#
# Every command that touches the engine is printed before it runs. The
# container and volume are named baton-smoke-<pid> and removed on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
image=${BATON_IMAGE:-$("$here/images.sh" tag)}
version=${VERSION:-${image##*:}}
docker=$("$here/dockerd.sh" cli)
name=baton-smoke-$$
vol=$name-data
secret=$(mktemp -d)
fails=0
passes=0

# fd 3: the terminal's stderr, so a command's trace is printed even where
# its own output is captured ($(run ... 2>&1))
exec 3>&2
say() { printf '[smoke] %s\n' "$*" >&3; }
run() { printf '+ %s\n' "$*" >&3; "$@"; }
ok() { passes=$((passes + 1)); printf '[smoke] ok   %s\n' "$*" >&3; }
bad() { fails=$((fails + 1)); printf '[smoke] FAIL %s\n' "$*" >&3; }
cleanup() {
    "$docker" rm -f "$name" "$name-2" >/dev/null 2>&1 || true
    "$docker" volume rm "$vol" >/dev/null 2>&1 || true
    rm -rf "$secret"
}
trap cleanup EXIT

"$docker" info >/dev/null 2>&1 || { say "no Docker engine answers: make images first (it starts one)"; exit 1; }
"$docker" image inspect "$image" >/dev/null 2>&1 || { say "no image $image: run make images"; exit 1; }
say "image $image ($("$docker" image inspect -f '{{.Id}}' "$image" | cut -c1-19))"

# ---- 1. the three programs ---------------------------------------------------
for prog in batond baton-agent batonctl; do
    if out=$(run "$docker" run --rm "$image" "$prog" --help 2>&1); then
        ok "$prog --help exits 0: $(printf '%s\n' "$out" | head -1)"
    else
        bad "$prog --help exited non-zero: $(printf '%s\n' "$out" | tail -3)"
    fi
    out=$(run "$docker" run --rm "$image" "$prog" --version 2>&1) || true
    if [ "$out" = "$prog $version" ]; then ok "$prog --version: $out"
    else bad "$prog --version printed '$out', want '$prog $version'"; fi
done

# ---- 2. users ----------------------------------------------------------------
out=$(run "$docker" run --rm "$image" id 2>&1) || true
case "$out" in
"uid=65532(baton) gid=65532(baton)"*) ok "default user: $out" ;;
*) bad "default user: '$out', want uid=65532(baton)" ;;
esac
out=$(run "$docker" run --rm --user 999:999 "$image" id -un 2>&1) || true
if [ "$out" = postgres ]; then ok "uid 999 is postgres"; else bad "uid 999 is '$out', want postgres"; fi

# ---- 3. the agent initialises and starts PostgreSQL --------------------------
# the replication password, as the pod's Secret volume gives it (0440, group 999)
printf 'smoke-%s\n' "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" >"$secret/password"
chgrp 999 "$secret/password" && chmod 0440 "$secret/password"
chmod 0755 "$secret"
run "$docker" volume create "$vol" >/dev/null
# the volume's root belongs to root: the kubelet's fsGroup pass makes a
# PVC group-writable for 999; here a one-off root container does the same
run "$docker" run --rm --user 0:0 -v "$vol:/var/lib/postgresql/data" "$image" \
    sh -c 'chgrp 999 /var/lib/postgresql/data && chmod 2775 /var/lib/postgresql/data'

agent_args=(baton-agent --region smoke --pod-name smoke-0 --namespace smoke
    --listen 0.0.0.0:8081 --probe-listen 0.0.0.0:8082
    --pg-data /var/lib/postgresql/data/pgdata --pg-port 5432
    --state-file /var/lib/postgresql/data/baton-agent.state
    --pg-lease-module baton_lease --lease-file /var/lib/postgresql/data/baton.lease
    --pg-socket-dir /var/lib/postgresql/data/run
    --repl-password-file /etc/baton/replication/password)
container_opts=(--user 999:999 --read-only --tmpfs /tmp --cap-drop ALL
    --security-opt no-new-privileges
    -v "$vol:/var/lib/postgresql/data" -v "$secret:/etc/baton/replication:ro")

# $1 container: waits for /readyz 200 on the probe port, at most 120 s
wait_ready() {
    local c=$1 ip code
    ip=$("$docker" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$c")
    for _ in $(seq 1 240); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://$ip:8082/readyz" 2>/dev/null || true)
        [ "$code" = 200 ] && { echo "$ip"; return 0; }
        [ "$("$docker" inspect -f '{{.State.Running}}' "$c")" = true ] || break
        sleep 0.5
    done
    say "$c not ready (last /readyz: ${code:-none}); its log:"
    "$docker" logs --tail 30 "$c" >&2 || true
    return 1
}

psql_in() { # $1 container, $2 SQL; as postgres over the agent's socket
    "$docker" exec --user 999:999 "$1" psql -X -v ON_ERROR_STOP=1 -h /var/lib/postgresql/data/run \
        -p 5432 -U postgres -d postgres -Atc "$2" 2>&1
}

check_instance() { # $1 container, $2 what
    local c=$1 what=$2 ip status out
    local t0
    t0=$(date +%s%N)
    if ! ip=$(wait_ready "$c"); then bad "$what: agent not ready"; return 1; fi
    ok "$what: /readyz 200 after $(( ($(date +%s%N) - t0) / 1000000 )) ms (http://$ip:8082)"
    say "+ curl http://$ip:8082/v1/status"
    status=$(curl -s "http://$ip:8082/v1/status")
    say "  $status"
    if printf '%s' "$status" | jq -e '.initialized == true and .role == "primary" and .fenced == true' >/dev/null; then
        ok "$what: /v1/status initialized, primary, fenced (no batond, no lease)"
    else bad "$what: /v1/status is not an initialized, fenced primary"; fi
    out=$(printf '+ psql: select version()\n' >&2; psql_in "$c" 'select version()') || true
    case "$out" in
    "PostgreSQL 15."*) ok "$what: $(printf '%s' "$out" | cut -c1-40)" ;;
    *) bad "$what: select version(): $out" ;;
    esac
    out=$(printf '+ psql: show shared_preload_libraries\n' >&2; psql_in "$c" 'show shared_preload_libraries') || true
    case "$out" in
    *baton_lease*) ok "$what: shared_preload_libraries = $out" ;;
    *) bad "$what: baton_lease not loaded: '$out'" ;;
    esac
    # fenced: PostgreSQL itself refuses the write (read-only transaction)
    if out=$(printf '+ psql: create table smoke(x int)\n' >&2; psql_in "$c" 'create table smoke(x int)'); then
        bad "$what: a write succeeded on an instance without a lease"
    else
        case "$out" in
        *read-only*|*"no valid lease"*) ok "$what: write refused: $(printf '%s' "$out" | head -1)" ;;
        *) bad "$what: write failed for another reason: $out" ;;
        esac
    fi
    printf '+ %s top %s -eo user,pid,args\n' "$docker" "$c" >&2
    out=$("$docker" top "$c" -eo user,pid,args)
    printf '%s\n' "$out" | sed 's/^/  /' >&2
    if printf '%s\n' "$out" | awk 'NR > 1 && $1 != "999" && $1 != "postgres" {exit 1}' &&
        printf '%s\n' "$out" | grep -q 'postgres.*-D /var/lib/postgresql/data/pgdata\|postgres: '; then
        ok "$what: PostgreSQL runs, every process as postgres (999)"
    else bad "$what: a process not running as postgres, or no PostgreSQL"; fi
}

if ! run "$docker" run -d --name "$name" "${container_opts[@]}" "$image" "${agent_args[@]}" --init primary >/dev/null; then
    bad "the agent's container did not start"
    say "$passes passed, $fails failed"
    exit 1
fi
check_instance "$name" "first boot (--init primary)" || true

# ---- 4. a clean stop, and a restart on the same data -------------------------
start=$(date +%s)
run "$docker" stop -t 30 "$name" >/dev/null
code=$("$docker" inspect -f '{{.State.ExitCode}}' "$name")
if [ "$code" = 0 ]; then ok "docker stop: the agent exited 0 after $(( $(date +%s) - start )) s"
else bad "docker stop: the agent exited $code"; "$docker" logs --tail 20 "$name" >&2; fi
run "$docker" run -d --name "$name-2" "${container_opts[@]}" "$image" "${agent_args[@]}" >/dev/null ||
    bad "the second agent container did not start"
check_instance "$name-2" "restart (existing instance, no --init)" || true
# the data on the volume survived: the replication role the init created
out=$(printf '+ psql: select rolname from pg_roles where rolname = %s\n' "'baton_repl'" >&3
    psql_in "$name-2" "select rolname from pg_roles where rolname = 'baton_repl'") || true
if [ "$out" = baton_repl ]; then ok "restart: the instance made by the init (role baton_repl) is there"
else bad "restart: role baton_repl not found: '$out'"; fi
# How the first server ended. The agent fences and exits on SIGTERM and
# leaves the server running (docs/agent.md: "stopping the database is the
# pod's job"); in a container the server is the agent's child, so it ends
# with the container (SIGKILL) and the restart begins with crash recovery.
# Reported as found, not asserted: the pod design decides (issue 17).
printf '+ %s exec %s tail pgdata.baton-log/postgres.log\n' "$docker" "$name-2" >&3
out=$("$docker" exec "$name-2" sh -c 'grep -E "database system (was|is) " /var/lib/postgresql/data/pgdata.baton-log/postgres.log | tail -3' 2>&1 || true)
printf '%s\n' "$out" | sed 's/^/  /' >&3
case "$out" in
*"not properly shut down"*|*"was interrupted"*)
    say "note: the first server did not shut down cleanly (killed with its container after the agent exited): crash recovery at the restart" ;;
*"was shut down at"*) say "note: the first server shut down cleanly" ;;
esac

say "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
