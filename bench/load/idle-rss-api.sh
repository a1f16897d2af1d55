#!/usr/bin/env bash
# Idle RSS with the kubeadm plugin set against a live test API server (the benchmarks' k8s-apiserver: 100 services,
# 100 endpoints, 100 pods), one query and one /metrics scrape a second for SECONDS, then VmRSS and its parts, and the
# server's log lines by count (the forward upstream 127.0.0.1:5999 is absent on purpose, as in idle-rss.sh).
# Usage: bench/load/idle-rss-api.sh [SECONDS=60]   (CLUSTERDNS=path/to/binary, default the JIT build;
# needs `dotnet build bench/ClusterDns.Benchmarks -c Release`)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
bin="${CLUSTERDNS:-src/ClusterDns/bin/Release/net10.0/clusterdns}"
work=$(mktemp -d)
# The API server runs until its stdin closes: bounded by this sleep.
sleep $((seconds + 30)) | dotnet bench/ClusterDns.Benchmarks/bin/Release/net10.0/ClusterDns.Benchmarks.dll k8s-apiserver 100 100 100 > "$work/api.out" 2>&1 &
api=$!
for _ in $(seq 1 100); do grep -qs listening "$work/api.out" && break; sleep 0.2; done
url=$(sed -n 's/^listening //p' "$work/api.out" | head -1)
if [ -z "$url" ]; then echo "the test API server did not start:" >&2; cat "$work/api.out" >&2; exit 1; fi
cat > "$work/Corefile" <<EOC
.:5373 {
    errors
    health 127.0.0.1:18090 {
       lameduck 5s
    }
    ready 127.0.0.1:18191
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       endpoint $url
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus 127.0.0.1:19163
    forward . 127.0.0.1:5999
    cache 30
    loop
    reload
    loadbalance
}
EOC
"$bin" -conf "$work/Corefile" > "$work/dns.log" 2>&1 &
pid=$!
for _ in $(seq 1 "$seconds"); do
  dig +short +tries=1 +time=1 -p 5373 @127.0.0.1 svc-1.ns-1.svc.cluster.local svc-2.ns-2.svc.cluster.local > /dev/null || true
  curl -s -o /dev/null 127.0.0.1:19163/metrics || true
  sleep 1
done
echo "answer: $(dig +short -p 5373 @127.0.0.1 svc-1.ns-1.svc.cluster.local | head -1)"; grep -v "^\[INFO\] 127.0.0.1\|^$" "$work/dns.log" | sort | uniq -c | sort -rn | head -8 || true
awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{printf "VmRSS %d KiB (anon %d, file %d)\n", r, a, f}' "/proc/$pid/status"
kill $pid; wait $pid 2>/dev/null || true
kill $api 2>/dev/null || true
rm -rf "$work"
