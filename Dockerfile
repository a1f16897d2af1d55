# ClusterDns image: a drop-in for the coredns container (kubeadm's args `-conf /etc/coredns/Corefile` work unchanged).
#   docker build -t REGISTRY/clusterdns:VERSION .
# deploy/rootfs.sh assembles the same root filesystem without a registry (and the nodelocal stage runs it: below).
# The build that ships is native AOT: one self-contained executable, no JIT, no IL (docs/performance/aot.md). The
# AOT compiler links with clang and needs zlib's headers.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN dotnet publish src/ClusterDns/ClusterDns.csproj -c Release -r linux-x64 -p:PublishAot=true -o /out \
    && rm -f /out/*.pdb /out/*.dbg

# NodeLocal DNSCache image (deploy/nodelocal/daemonset.yaml), built with
#   docker build --target nodelocal -t REGISTRY/clusterdns-nodelocal:VERSION .
#   (nodes whose kube-proxy still uses iptables-legacy: add --build-arg IPTABLES_BACKEND=legacy)
# deploy/rootfs.sh --nodelocal IS THE REFERENCE for this image: this stage only installs the packages and runs it, so
# the image holds exactly the files the script assembles and tests/ClusterDns.Tests/Deploy/NodeLocalRootFilesystemTests
# runs chrooted: /clusterdns, the ip and iptables binaries `clusterdns nodelocal` runs (found on PATH), their shared
# libraries, the xtables modules, /etc/iproute2 and /etc/protocols, with iptables linked to the IPTABLES_BACKEND
# (nft by default). No shell, no package manager. It runs as root with NET_ADMIN, NET_RAW and NET_BIND_SERVICE only
# (the DaemonSet drops everything else). Built on the build stage so the tools come from the same distribution (and
# glibc) the AOT executable was linked against.
FROM build AS nodelocal-rootfs
ARG IPTABLES_BACKEND=nft
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 iptables \
    && rm -rf /var/lib/apt/lists/* \
    && CLUSTERDNS_AOT_BINARY=/out/clusterdns IPTABLES_BACKEND="$IPTABLES_BACKEND" sh deploy/rootfs.sh --nodelocal /rootfs

FROM scratch AS nodelocal
COPY --from=nodelocal-rootfs /rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EXPOSE 53/udp 53/tcp 9253/tcp 8080/tcp
ENTRYPOINT ["/clusterdns"]

# The cluster DNS image (the default target: the last stage).
# runtime-deps carries only what a self-contained .NET app links against (glibc, libssl for the API client's TLS,
# CA bundle); no shell.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled
# Native AOT: /clusterdns is the whole server (nothing extracted, so the root filesystem can stay read-only). The
# path matches CoreDNS's image (`/coredns`).
COPY --from=build /out/clusterdns /clusterdns
USER 65532:65532
EXPOSE 53/udp 53/tcp 9153/tcp 8080/tcp 8181/tcp
ENTRYPOINT ["/clusterdns"]
