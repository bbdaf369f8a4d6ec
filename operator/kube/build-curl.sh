#!/usr/bin/env bash
# Builds a minimal static libcurl (Debian's `curl` source package, bookworm's
# 7.88.1, the version Debian's libcurl4 has here) into a prefix outside the
# checkout:
#   ${BATON_CACHE:-$HOME/.cache/baton}/curl-<version>-<flags hash>/
#
#   operator/kube/build-curl.sh        build it unless it is there already
#   operator/kube/build-curl.sh --id   print <version>-<flags hash> (the
#                                      Makefile names the prefix with it)
#
# Why: Debian's libcurl4 is built for every protocol, so every Baton
# binary loaded ~30 shared libraries it never uses (GnuTLS through librtmp,
# krb5/GSSAPI, LDAP/SASL, libssh2, libidn2, libpsl, brotli, zstd,
# p11-kit...): ~3 MiB of RSS per process, a sixth of batond's 20 MiB aim at
# 1,000 databases (issue 20, docs/batond.md "Memory"). This one speaks HTTP
# and HTTPS over OpenSSL and nothing else, and is linked in statically.
#
# What Baton uses of curl (grep CURLOPT_ operator/ tests/) and so keeps:
# the multi interface on libuv, HTTP/2 (nghttp2: kube-apiserver speaks h2
# and PIPEWAIT multiplexes the watches and requests on one connection),
# gzip responses (zlib, CURLOPT_ACCEPT_ENCODING ""), client certificates,
# CA and key as PEM blobs (mutual TLS to agents, kubeconfigs), CONNECT_TO,
# the threaded resolver, proxies (curl honours https_proxy/no_proxy from
# the environment, as Debian's did) and Debian's CA bundle and path for a
# kubeconfig without a CA. Everything else is configured out: the other
# protocols, LDAP, SSH, RTMP, GSSAPI, IDN, PSL, brotli, zstd, NTLM, cookies,
# alt-svc, HSTS, DoH, MIME, netrc, unix sockets.
#
# The source comes through a private apt configuration (the machine's
# sources are not touched) and dpkg-source checks it against the .dsc.
# Debian's own patches (CVE fixes) are kept; the last two of its series
# turn the tree into the GnuTLS and NSS flavours, and are reversed, as
# debian/rules does for the OpenSSL libcurl4. The prefix carries a hash of
# the version and the configure flags, so a change builds a new prefix.
# Statically linked, Debian's security updates to libcurl4 no longer reach
# the binaries: bump CURL_VERSION (Makefile) to the version apt offers.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

version=${CURL_VERSION:-7.88.1-10+deb12u15}
suite=${CURL_SUITE:-bookworm}
cache=${BATON_CACHE:-$HOME/.cache/baton}
flags=(
    --disable-shared --enable-static --with-pic --disable-dependency-tracking
    --with-openssl --with-nghttp2 --with-zlib --enable-threaded-resolver
    --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --with-ca-path=/etc/ssl/certs
    --without-brotli --without-zstd --without-libpsl --without-libidn2
    --without-librtmp --without-libssh2 --without-libssh --without-gssapi
    --without-libgsasl --without-hyper --without-ngtcp2 --without-nghttp3
    --without-quiche --without-msh3
    --without-zsh-functions-dir --without-fish-functions-dir
    --disable-ldap --disable-ldaps --disable-ftp --disable-file --disable-dict
    --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smtp
    --disable-gopher --disable-mqtt --disable-rtsp --disable-smb
    --disable-manual --disable-ntlm --disable-ntlm-wb --disable-tls-srp
    --disable-unix-sockets --disable-cookies --disable-alt-svc --disable-hsts
    --disable-doh --disable-mime --disable-netrc --disable-websockets
)
# Debian's hardening flags, as its package is built with (dpkg-buildflags
# is asked only when building: --id must not depend on dpkg-dev, which
# `make deps` may install after the Makefile has named the prefix)
hardening=hardening=+all
flags_id=$(printf '%s\n' "$suite" "${flags[@]}" "$hardening" | sha256sum | cut -c1-8)
id=$version-$flags_id
if [ "${1:-}" = --id ]; then
    echo "$id"
    exit 0
fi
prefix=${CURL_PREFIX:-$cache/curl-$id}
log() { printf '[curl] %s\n' "$*" >&2; }

# shellcheck source=tests/env/debian-source.sh
. "$here/../../tests/env/debian-source.sh"
debian_build_begin curl "$version" "$prefix" "$cache"
if ! debian_source curl "$version" "$suite" "$work"; then
    log "set CURL_VERSION in the Makefile to the version $suite offers"
    exit 1
fi
cd "$work/src/curl"
# The series ends with the GnuTLS and NSS flavours' patches (library
# renamed libcurl-gnutls/-nss): the OpenSSL libcurl4 is built without them.
if [ "$(grep -v '^#' debian/patches/series | grep . | tail -2 | tr '\n' ' ')" != "90_gnutls.patch 99_nss.patch " ]; then
    log "debian/patches/series no longer ends with 90_gnutls.patch, 99_nss.patch: check debian/rules"
    exit 1
fi
patch -R -p1 --quiet <debian/patches/99_nss.patch
patch -R -p1 --quiet <debian/patches/90_gnutls.patch

log "building (autotools, HTTP and HTTPS only, static) into $prefix"
cflags=$(DEB_BUILD_MAINT_OPTIONS=$hardening dpkg-buildflags --get CFLAGS)
cppflags=$(DEB_BUILD_MAINT_OPTIONS=$hardening dpkg-buildflags --get CPPFLAGS)
# Debian's patches change configure.ac and Makefile.am, and one ltmain.sh,
# which autoreconf -fi would overwrite: kept, as debian/rules does.
cp ltmain.sh "$work/ltmain.sh"
autoreconf -fi >/dev/null 2>&1
cp "$work/ltmain.sh" ltmain.sh
./configure --prefix="$prefix" CFLAGS="$cflags" CPPFLAGS="$cppflags" "${flags[@]}" >"$work/configure.log" 2>&1 ||
    { tail -20 "$work/configure.log" >&2; exit 1; }
grep -q '^  Protocols: *HTTP HTTPS$' "$work/configure.log" ||
    { grep -E '^  (Protocols|Features):' "$work/configure.log" >&2; log "configure enabled more than HTTP and HTTPS"; exit 1; }
# the library, its headers, curl-config and libcurl.pc; not the curl tool
make -j"$(nproc)" -C lib >/dev/null
rm -rf "$prefix"
make -C lib install >/dev/null
make -C include install >/dev/null
make install-binSCRIPTS install-pkgconfigDATA >/dev/null
touch "$prefix/.complete"
log "curl $version installed in $prefix ($(grep -E '^  Features:' "$work/configure.log" | sed 's/^ *//'))"
