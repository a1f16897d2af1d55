#!/bin/sh
# Assembles the image's root filesystem into DIR without a container registry: the same native AOT publish as the
# Dockerfile, plus every shared library ldd reports for it (and the dynamic loader), plus the files glibc and the
# server read at start-up. Usage: deploy/rootfs.sh DIR   (run from anywhere; needs the .NET SDK, clang, zlib1g-dev
# and ldd). With CLUSTERDNS_AOT_BINARY naming an executable already published that way, that one is used instead
# of publishing again (CI publishes once: test.sh).
set -eu
out=${1:?usage: rootfs.sh DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -n "${CLUSTERDNS_AOT_BINARY:-}" ]; then
    cp "$CLUSTERDNS_AOT_BINARY" "$out/clusterdns"
else
    publish=$(mktemp -d)
    dotnet publish "$repo/src/ClusterDns/ClusterDns.csproj" -c Release -r linux-x64 -p:PublishAot=true \
        -o "$publish" --nologo -v quiet >/dev/null
    cp "$publish/clusterdns" "$out/clusterdns"
    rm -rf "$publish"
fi
# Libraries the executable and the runtime's native parts link against, and the ones .NET opens by name at run time.
libs=$( { for f in "$out/clusterdns" "$out"/*.so; do [ -e "$f" ] && ldd "$f" 2>/dev/null; done; } \
    | awk '/=>/ && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' | sort -u)
for name in libssl.so.3 libcrypto.so.3 libz.so.1; do
    found=$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n && /x86-64/ { print $NF; exit }')
    [ -n "$found" ] && libs="$libs
$found"
done
for lib in $libs; do
    mkdir -p "$out$(dirname "$lib")"
    cp -L "$lib" "$out$lib"
done
# Mount points the container runtime fills (/proc, /dev) and the ConfigMap mount.
mkdir -p "$out/etc" "$out/tmp" "$out/etc/coredns" "$out/proc" "$out/dev"
echo "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin" > "$out/etc/passwd"
echo "nonroot:x:65532:" > "$out/etc/group"
[ -e /etc/ssl/certs/ca-certificates.crt ] && mkdir -p "$out/etc/ssl/certs" && cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/"
echo "$out"
