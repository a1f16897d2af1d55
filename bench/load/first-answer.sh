#!/usr/bin/env bash
# Start-up: milliseconds from exec to the first answer, for a hosts-only Corefile and the kubeadm plugin set on the
# demo snapshot. Until the server listens, dig's query is refused at once (ICMP port unreachable), so the loop polls
# tightly; the figure includes one dig's own start (a few ms). RUNS starts per Corefile; prints each and the median.
# Beside the wall time: the server's CPU time (user + system, /proc/PID/stat, 10 ms ticks) when it first answered,
# which a loaded machine inflates much less than the wall time.
# Usage: bench/load/first-answer.sh [RUNS=5]   (CLUSTERDNS=path/to/binary for another build, e.g. native AOT)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
bin="${CLUSTERDNS:-src/ClusterDns/bin/Release/net10.0/clusterdns}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '10.0.0.1 a.example\n' > "$work/hosts"
printf '.:5371 {\n    hosts %s\n}\n' "$work/hosts" > "$work/hosts.Corefile"
cat > "$work/kubeadm.Corefile" <<EOC
.:5371 {
    errors
    health 127.0.0.1:18082
    ready 127.0.0.1:18183
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       snapshot $PWD/examples/demo-cluster.yaml
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus 127.0.0.1:19155
    forward . 127.0.0.1:5999
    cache 30
    loop
    reload
    loadbalance
}
EOC
declare -A names=([hosts]=a.example [kubeadm]=kubernetes.default.svc.cluster.local)
printf '%-8s %-34s %s\n' corefile 'wall ms to first answer / median' 'server CPU ms by then / median'
for cf in hosts kubeadm; do
  results=(); cpu=()
  for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    "$bin" -conf "$work/$cf.Corefile" -quiet > "$work/$cf.log" 2>&1 &
    pid=$!
    answered=
    for _ in $(seq 1 2000); do   # bounded: at most ~2000 polls (a few seconds)
      if [ -n "$(dig +short +tries=1 +time=1 -p 5371 @127.0.0.1 "${names[$cf]}" A 2>/dev/null | grep -E '^[0-9.]+$')" ]; then
        answered=$(date +%s%N)
        cpu+=($(awk '{print ($14 + $15) * 10}' "/proc/$pid/stat")); break
      fi
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    if [ -z "$answered" ]; then echo "$cf: no answer (see $work/$cf.log)" >&2; cat "$work/$cf.log" >&2; exit 1; fi
    results+=($(( (answered - start) / 1000000 )))
  done
  sorted=($(printf '%s\n' "${results[@]}" | sort -n))
  csorted=($(printf '%s\n' "${cpu[@]}" | sort -n))
  printf '%-8s %-34s %s\n' "$cf" "${results[*]} / ${sorted[$(( ${#sorted[@]} / 2 ))]}" "${cpu[*]} / ${csorted[$(( ${#csorted[@]} / 2 ))]}"
done
