#!/bin/sh
# Assembles the image's root filesystem into DIR without a container registry: the same native AOT publish as the
# Dockerfile, plus every shared library ldd reports for it (and the dynamic loader), plus the files glibc and the
# server read at start-up. Usage: deploy/rootfs.sh [--nodelocal] DIR   (run from anywhere; needs the .NET SDK, clang,
# zlib1g-dev and ldd). With CLUSTERDNS_AOT_BINARY naming an executable already published that way, that one is used
# instead of publishing again (CI publishes once: test.sh).
#
# --nodelocal: the NodeLocal DNSCache image (deploy/nodelocal/daemonset.yaml). THIS SCRIPT IS THE REFERENCE for that
# image: the Dockerfile's `nodelocal` stage runs it (`rootfs.sh --nodelocal /rootfs` in a stage with iproute2 and
# iptables installed, then copies /rootfs onto scratch), so the image and the tested folder are the same files. On
# top of /clusterdns it holds what `clusterdns nodelocal` runs (src/ClusterDns/NodeLocal/HostCommand.cs: `ip`,
# `iptables`, `ip6tables`, found on PATH) taken from this machine's iproute2 and iptables packages: the binaries,
# their shared libraries (ldd), the xtables extension modules (libxt_NOTRACK, libxt_tcp, ...), /etc/iproute2,
# /etc/protocols, and root in /etc/passwd (the DaemonSet runs as uid 0 with NET_ADMIN, NET_RAW, NET_BIND_SERVICE).
# iptables is the nft backend (Debian's and Ubuntu's default alternative, and kube-proxy's on current nodes):
# iptables, iptables-save, iptables-restore and the ip6tables ones are links to xtables-nft-multi. For nodes whose
# kube-proxy still uses iptables-legacy, IPTABLES_BACKEND=legacy links them to xtables-legacy-multi (the Dockerfile
# passes its IPTABLES_BACKEND build argument through). Needs iproute2 and iptables installed here (.ci/run does).
set -eu
nodelocal=
if [ "${1:-}" = "--nodelocal" ]; then
    nodelocal=1
    shift
fi
out=${1:?usage: rootfs.sh [--nodelocal] DIR}
backend=${IPTABLES_BACKEND:-nft}
case "$backend" in
    nft|legacy) ;;
    *) echo "rootfs.sh: IPTABLES_BACKEND must be nft or legacy, not '$backend'" >&2; exit 2 ;;
esac
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
# NodeLocal: the tools the agent runs, at the paths their packages install them (all on the image's PATH).
tools=
if [ -n "$nodelocal" ]; then
    multi=/usr/sbin/xtables-$backend-multi
    ip=$(command -v ip || true)
    xtables=$(for d in /usr/lib/x86_64-linux-gnu/xtables /lib/x86_64-linux-gnu/xtables /usr/lib/xtables; do
        [ -e "$d/libxt_NOTRACK.so" ] && { echo "$d"; break; }; done)
    for need in "$multi:iptables" "$ip:iproute2" "$xtables:iptables (its xtables modules)"; do
        if [ -z "${need%%:*}" ] || [ ! -e "${need%%:*}" ]; then
            echo "rootfs.sh --nodelocal: ${need#*:} is not installed here (apt-get install iproute2 iptables)" >&2
            exit 1
        fi
    done
    ip=$(readlink -f "$ip")
    mkdir -p "$out/usr/sbin" "$out$(dirname "$ip")" "$out$xtables"
    cp "$ip" "$out$ip"
    [ "$ip" = /usr/sbin/ip ] || ln -sf "$ip" "$out/usr/sbin/ip"
    cp "$multi" "$out$multi"
    for name in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
        ln -sf "xtables-$backend-multi" "$out/usr/sbin/$name"
    done
    # Every extension (they are small; the agent's rules need libxt_standard, libxt_tcp, libxt_udp, libxt_NOTRACK).
    cp -a "$xtables/." "$out$xtables/"
    tools="$out$ip $out$multi $out$xtables/*.so"
    # ip's names for tables, protocols, scopes (/etc/iproute2; iproute2 6.5 and later ship them in /usr/share/iproute2).
    for d in /etc/iproute2 /usr/share/iproute2; do
        [ -d "$d" ] && mkdir -p "$out$d" && cp -a "$d/." "$out$d/"
    done
    [ -e /etc/protocols ] && cp -L /etc/protocols "$out/etc/protocols"
fi
# Libraries the executable and the runtime's native parts link against, and the ones .NET opens by name at run time.
# shellcheck disable=SC2086 # $tools is a list of paths (and globs)
libs=$( { for f in "$out/clusterdns" "$out"/*.so $tools; do [ -e "$f" ] && ldd "$f" 2>/dev/null; done; } \
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
if [ -n "$nodelocal" ]; then
    # The DaemonSet's other mounts: the rendered Corefile's emptyDir and the host's xtables lock under /run; /sys.
    mkdir -p "$out/run/nodelocal" "$out/sys"
    echo "root:x:0:0:root:/root:/sbin/nologin" >> "$out/etc/passwd"
    echo "root:x:0:" >> "$out/etc/group"
fi
echo "$out"
