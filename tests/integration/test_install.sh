#!/usr/bin/env bash
# `make install DESTDIR=... PREFIX=/usr` lays out what a package would
# ship, and the man pages render (no region needed; run.sh runs it with the
# others, or run it alone):
#  - the three programs and kubectl-baton (a link to batonctl) in bin;
#  - batonctl.1 (and kubectl-baton.1, a link to it), batond.8 and
#    baton-agent.8 under share/man, stamped with the version;
#  - bash and zsh completion (bash's also for kubectl-baton);
#  - `man -l` renders every page with NAME, SYNOPSIS and EXIT STATUS and
#    no groff warning, and batonctl.1 describes every command `batonctl
#    --help` lists; the installed kubectl-baton runs;
#  - `make uninstall` removes all of it again.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib/tap.sh
source "$top/tests/lib/tap.sh"
build=${BATON_BUILD:-build/san}
san=
[ "$build" = build/san ] && san=address,undefined
tmp=$(mktemp -d /tmp/baton-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
version=$(awk -F'"' '/^appVersion:/ {print $2}' "$top/charts/baton/Chart.yaml")
mk() { make -C "$top" --no-print-directory SANITIZE="$san" BUILD="$build" "$@"; }

if ! mk install DESTDIR="$dest" PREFIX=/usr >"$tmp/install.log" 2>&1; then
    not_ok "make install DESTDIR=... PREFIX=/usr"; sed 's/^/#   /' "$tmp/install.log" | tail -20; tap_exit
fi
ok "make install DESTDIR=... PREFIX=/usr"
for f in bin/batond bin/baton-agent bin/batonctl; do
    check "$f installed, executable" test -x "$dest/usr/$f"
done
check "bin/kubectl-baton is a link to batonctl" test "$(readlink "$dest/usr/bin/kubectl-baton")" = batonctl
for f in man1/batonctl.1 man8/batond.8 man8/baton-agent.8; do
    check "share/man/$f installed, 0644" test "$(stat -c %a "$dest/usr/share/man/$f")" = 644
    check "share/man/$f carries the version $version" grep -q "^\.Os Baton $version\$" "$dest/usr/share/man/$f"
done
check "share/man/man1/kubectl-baton.1 is a link to batonctl.1" \
    test "$(readlink "$dest/usr/share/man/man1/kubectl-baton.1")" = batonctl.1
check "bash completion for batonctl" grep -q 'complete -F _batonctl batonctl kubectl-baton' \
    "$dest/usr/share/bash-completion/completions/batonctl"
check "bash completion for kubectl-baton is a link" \
    test "$(readlink "$dest/usr/share/bash-completion/completions/kubectl-baton")" = batonctl
check "zsh completion" grep -q '^#compdef batonctl kubectl-baton' "$dest/usr/share/zsh/site-functions/_batonctl"
check "nothing else installed outside bin and share" \
    test "$(cd "$dest/usr" && find . -mindepth 1 -maxdepth 1 | sort | tr '\n' ' ')" = "./bin ./share "

# the pages as man renders them
for f in man1/batonctl.1 man1/kubectl-baton.1 man8/batond.8 man8/baton-agent.8; do
    page=$dest/usr/share/man/$f
    MANWIDTH=80 man --warnings=all -l "$page" >"$tmp/page.txt" 2>"$tmp/page.err"
    check "man -l $f renders NAME, SYNOPSIS, EXIT STATUS" bash -c "
        grep -q '^NAME' '$tmp/page.txt' && grep -q '^SYNOPSIS' '$tmp/page.txt' && grep -q '^EXIT STATUS' '$tmp/page.txt'"
    check "man -l $f: no warnings" test ! -s "$tmp/page.err"
done
MANWIDTH=200 man -l "$dest/usr/share/man/man1/batonctl.1" >"$tmp/batonctl.txt" 2>/dev/null
missing=
for cmd in $("$dest/usr/bin/batonctl" --help | awk '/^commands:/ {on = 1; next} /^$/ {on = 0} on && /^  [a-z]/ {print $1}'); do
    grep -Eq "^ +$cmd( |$)" "$tmp/batonctl.txt" || missing="$missing $cmd"
done
check "batonctl.1 describes every command of batonctl --help${missing:+ (missing:$missing)}" test -z "$missing"
check "batonctl.1 names the commands' exit codes" grep -q '2 on a usage or configuration error' "$tmp/batonctl.txt"
check "the installed kubectl-baton runs" bash -c "'$dest/usr/bin/kubectl-baton' --version | grep -qx 'batonctl $version'"

if mk uninstall DESTDIR="$dest" PREFIX=/usr >"$tmp/uninstall.log" 2>&1; then
    check "make uninstall leaves no file behind" test -z "$(find "$dest" -type f -o -type l)"
else
    not_ok "make uninstall"; sed 's/^/#   /' "$tmp/uninstall.log" | tail -5
fi
tap_exit
