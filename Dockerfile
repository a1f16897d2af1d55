# ClusterDns image: a drop-in for the coredns container (kubeadm's args `-conf /etc/coredns/Corefile` work unchanged).
#   docker build -t REGISTRY/clusterdns:VERSION .
# deploy/rootfs.sh assembles the same root filesystem without a registry.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/ClusterDns/ClusterDns.csproj -c Release -r linux-x64 --self-contained true \
        -p:PublishSingleFile=true -p:InvariantGlobalization=true -o /out \
    && rm -f /out/*.pdb

# NodeLocal DNSCache image (deploy/nodelocal/daemonset.yaml), built with
#   docker build --target nodelocal -t REGISTRY/clusterdns-nodelocal:VERSION .
# `clusterdns nodelocal` runs the node's network set-up through the ip and iptables binaries (as node-cache does), so
# this image has a Debian base with iproute2 and iptables (nft backend by default; on nodes whose kube-proxy still
# uses iptables-legacy, add `RUN update-alternatives --set iptables /usr/sbin/iptables-legacy` here). It runs as root
# with NET_ADMIN, NET_RAW and NET_BIND_SERVICE only (the DaemonSet drops everything else).
FROM debian:bookworm-slim AS nodelocal
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 iptables \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /
EXPOSE 53/udp 53/tcp 9253/tcp 8080/tcp
ENTRYPOINT ["/clusterdns"]

# The cluster DNS image (the default target: the last stage).
# runtime-deps carries only what a self-contained .NET app links against (glibc, libssl, libstdc++, zlib, CA bundle).
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled
# Single-file: /clusterdns carries the managed code (read from the file, never extracted, so the root filesystem can
# stay read-only); the runtime's few native libraries sit next to it. The path matches CoreDNS's image (`/coredns`).
COPY --from=build /out/ /
USER 65532:65532
EXPOSE 53/udp 53/tcp 9153/tcp 8080/tcp 8181/tcp
ENTRYPOINT ["/clusterdns"]
