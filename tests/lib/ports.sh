# shellcheck shell=bash
# Free loopback ports for the daemons a test starts.
#
# take_port VAR...: sets each VAR (a name, or an array element such as
# 'raft[eu-west]') to a port in 20000-31999 (below the ephemeral range, so no
# client socket takes it meanwhile) that no socket uses now and that this
# shell has not handed out before. Not `p=$(port)`: a subshell cannot
# remember what it gave, and two daemons of one test given the same port
# make one of them fail to start (seen on CI as a region that never joined).
_taken_ports=" "
take_port() {
    local var p
    for var in "$@"; do
        while :; do
            p=$((20000 + RANDOM % 12000))
            case $_taken_ports in *" $p "*) continue ;; esac
            # not `ss | grep -q`: under pipefail, grep's early exit
            # makes ss fail with SIGPIPE on a long list, and a port in
            # use passed as free (seen: an etcd's port given to a batond)
            [ -z "$(ss -Htan "sport = :$p")" ] || continue
            _taken_ports+="$p "
            printf -v "$var" '%s' "$p"
            break
        done
    done
}
