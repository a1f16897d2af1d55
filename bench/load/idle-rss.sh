#!/usr/bin/env bash
# Idle footprint: starts the built server on three Corefiles (hosts only; hosts + health/ready/prometheus; the
# kubeadm plugin set on the demo snapshot), sends one query a second for SECONDS, then prints VmRSS and its parts.
# Usage: bench/load/idle-rss.sh [SECONDS=20]   (after `dotnet build src/ClusterDns -c Release`)
# CLUSTERDNS=path/to/binary measures another build (e.g. native AOT); SMAPS=N also prints the N largest mappings
# (resident and anonymous KiB, from /proc/PID/smaps) and the threads by name. Runtime settings to try go in the
# environment, e.g. DOTNET_GCgen0size=0x100000 bench/load/idle-rss.sh 6.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-20}"
bin="${CLUSTERDNS:-src/ClusterDns/bin/Release/net10.0/clusterdns}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '10.0.0.1 a.example\n' > "$work/hosts"
cat > "$work/hosts.Corefile" <<EOC
.:5370 {
    hosts $work/hosts
}
EOC
cat > "$work/hosts-http.Corefile" <<EOC
.:5370 {
    health 127.0.0.1:18080
    ready 127.0.0.1:18181
    prometheus 127.0.0.1:19153
    hosts $work/hosts
}
EOC
cat > "$work/kubeadm.Corefile" <<EOC
.:5370 {
    errors
    health 127.0.0.1:18080 {
       lameduck 5s
    }
    ready 127.0.0.1:18181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       snapshot $PWD/examples/demo-cluster.yaml
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus 127.0.0.1:19153
    forward . 127.0.0.1:5999
    cache 30
    loop
    reload
    loadbalance
}
EOC
printf '%-11s %9s %9s %9s %9s\n' corefile VmRSS_KiB anon file shmem
for name in hosts hosts-http kubeadm; do
  "$bin" -conf "$work/$name.Corefile" > "$work/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 "$seconds"); do
    dig +short +tries=1 +time=1 -p 5370 @127.0.0.1 a.example kubernetes.default.svc.cluster.local > /dev/null || true
    curl -s -o /dev/null 127.0.0.1:19153/metrics || true
    sleep 1
  done
  awk -v n="$name" '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} /^RssShmem/{s=$2} END{printf "%-11s %9d %9d %9d %9d\n", n, r, a, f, s}' "/proc/$pid/status"
  if [ -n "${SMAPS:-}" ]; then
    awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6; if (name == "") name="[anon " $1 "]"} /^Rss:/{rss[name]+=$2}
         /^Anonymous:/{anon[name]+=$2} END{for (k in rss) printf "  %9d %9d %s\n", rss[k], anon[k], k}' "/proc/$pid/smaps" \
      | sort -rn | head -"$SMAPS"
    for task in /proc/"$pid"/task/*; do cat "$task/comm"; done | sort | uniq -c | sort -rn | sed 's/^/  threads: /'
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
