#!/usr/bin/env bash
# bench/load/run.sh: ClusterDns against the peer servers on the shared harness, in one run, one table.
#
#   bench/load/run.sh                          # full run (~25 min): N=1000 and 50000, peers miekg + knot
#   SIZES=1000 PEERS=miekg RUNS=1 bench/load/run.sh
#   SMOKE=1 bench/load/run.sh                  # CI: ~10 s, ClusterDns only, checks answers, not speed
#
# What it does: copies the harness (bench/load/peers, a copy of /work/shared/bench/peers) to $WORK/peers and
# installs/builds it, publishes ClusterDns (Release), generates each size, then per size starts ClusterDns on the
# generated cluster.yaml (kubernetes plugin, `snapshot`) pinned to CPU 0, checks its answers against the miekg
# peer, and measures it exactly as the peers are measured (bench.py via measure-one.sh: udp-blast saturation with
# the load generator on CPU 1, then dnsperf at a fixed 20k QPS for latency); then the peers; then the 2-core and
# cache-hit variants; finally bench/load/table.py prints one markdown table with the ratios.
# Traffic goes to 127.0.0.1 only; every load run is bounded by DURATION.
#
# Env (defaults in brackets):
#   SIZES ["1000 50000"]  PEERS ["miekg knot"; empty: ClusterDns only]  DURATION [10] s per saturation run  RUNS [3] saturation runs
#   RATE [20000] RATE_RUNS [3] RATE_DURATION [10]   fixed-rate dnsperf latency runs (first size only for peers
#                                                   and ClusterDns alike; other sizes: throughput + RSS)
#   VARIANTS ["one two cache"]   one = 1 server core; two = server on CPUs 0-1 (2 SO_REUSEPORT sockets) vs
#                                miekg-rp2, load unpinned; cache = `cache 30` + `forward` to an upstream
#                                tcp = DNS over TCP at the first size, ClusterDns vs Knot (not in the default set)
#   CACHE_PEERS ["unbound dnsmasq"]   upstreams for the cache variant, also measured directly
#   TCP_ROUNDS [3]   tcp variant: rounds of one udp-blast -T run (after 3 s of warm-up) per server and shape, the servers interleaved (both
#                    started, pinned to CPU 0, measured in turn)
#   TCP_SHAPES ["pipelined:16:320 single:64:64"]   NAME:CONNECTIONS:WINDOW, each a table variant tcp-NAME: persistent
#                    connections with WINDOW/CONNECTIONS queries outstanding on each (pipelined: many per connection;
#                    single: one at a time per connection, as CoreDNS forward's force_tcp connection pool uses them)
#   CLUSTERDNS [publish]  command that starts the server (e.g. "dotnet /x/clusterdns.dll"); default: publish
#   WORK [bench/load/.work]   HARNESS_SRC [bench/load/peers]   RESULTS [$WORK/results/<stamp>]   CDNS_PORT [5399]
#   SMOKE [0]   1: N=1000, one short udp-blast run against ClusterDns only, answers checked before and after
#               against bench/load/expected-answers.txt, rcode mix of the load checked; exits 77 when the tools
#               it needs (python3, dig, gcc, taskset) are missing or udp-blast does not build, so the CI test can skip.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
SMOKE="${SMOKE:-0}"
WORK="${WORK:-$HERE/.work}"
HARNESS_SRC="${HARNESS_SRC:-$HERE/peers}"
if [ "$SMOKE" = 1 ]; then
  SIZES="${SIZES:-1000}"; PEERS="${PEERS:-}"; VARIANTS="${VARIANTS:-one}"; DURATION="${DURATION:-3}"; RUNS="${RUNS:-1}"
else
  SIZES="${SIZES:-1000 50000}"; PEERS="${PEERS-miekg knot}"; VARIANTS="${VARIANTS:-one two cache}"
  DURATION="${DURATION:-10}"; RUNS="${RUNS:-3}"
fi
RATE="${RATE:-20000}"; RATE_RUNS="${RATE_RUNS:-3}"; RATE_DURATION="${RATE_DURATION:-10}"
CACHE_PEERS="${CACHE_PEERS:-unbound dnsmasq}"
STAMP="$(date +%Y%m%d-%H%M%S)"
PEERDIR="$WORK/peers"
OUT="${RESULTS:-$WORK/results/$STAMP}"
CDNS_PORT="${CDNS_PORT:-5399}"
N0="${SIZES%% *}"
log() { echo "== $*" >&2; }

# ---- harness: copy (timestamps kept so install.sh rebuilds only what changed) and install
mkdir -p "$PEERDIR" "$OUT"
cp -rp "$HARNESS_SRC/." "$PEERDIR/"
if [ "$SMOKE" = 1 ]; then
  # The smoke run needs no peer: only the load generator (gcc) and dig; skip (77) rather than install packages.
  for tool in python3 dig gcc taskset; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (bench/load smoke needs python3, dig, gcc, taskset)" >&2; exit 77; }
  done
  mkdir -p "$PEERDIR/bin"
  if [ ! -x "$PEERDIR/bin/udp-blast" ] || [ "$PEERDIR/udp-blast/udp-blast.c" -nt "$PEERDIR/bin/udp-blast" ]; then
    gcc -O2 -Wall -o "$PEERDIR/bin/udp-blast" "$PEERDIR/udp-blast/udp-blast.c" \
      || { echo "SKIP: udp-blast does not build" >&2; exit 77; }
  fi
else
  "$PEERDIR/install.sh"
fi

# ---- data: the zone files/queries of gen-cluster.py and the same cluster as Kubernetes objects (gen-k8s.py)
for n in $SIZES; do
  d="$PEERDIR/data/$n"
  if [ ! -s "$d/queries.txt" ] || [ "$PEERDIR/gen-cluster.py" -nt "$d/queries.txt" ]; then
    python3 "$PEERDIR/gen-cluster.py" -n "$n" -o "$d" >/dev/null
  fi
  if [ ! -s "$d/cluster.yaml" ] || [ "$PEERDIR/gen-k8s.py" -nt "$d/cluster.yaml" ]; then
    python3 "$PEERDIR/gen-k8s.py" -n "$n" -o "$d"
  fi
done

# ---- ClusterDns binary
if [ -z "${CLUSTERDNS:-}" ]; then
  log "publishing ClusterDns (Release)"
  dotnet publish "$REPO/src/ClusterDns" -c Release -o "$WORK/clusterdns" -nologo -v quiet >"$WORK/publish.log" 2>&1 \
    || { cat "$WORK/publish.log" >&2; exit 1; }
  CLUSTERDNS="$WORK/clusterdns/clusterdns"
fi
read -r -a CDNS_CMD <<<"$CLUSTERDNS"

# ---- processes we start; stopped by PID only
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

{
  echo "machine=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
  echo "kernel=$(uname -r)"
  echo "dotnet=$(dotnet --list-runtimes 2>/dev/null | awk '/NETCore.App/ {v=$2} END {print v}')"
  echo "commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$REPO" diff --quiet 2>/dev/null || echo +dirty)"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

# start_cdns NAME CPUS COREFILE-TEXT DATADIR: runs ClusterDns in $WORK/run/NAME, waits until it answers, sets CPID.
start_cdns() {
  local name="$1" cpus="$2" corefile="$3" data="$4" dir="$WORK/run/$1"
  rm -rf "$dir"; mkdir -p "$dir"
  [ -n "$data" ] && ln -s "$data/cluster.yaml" "$dir/cluster.yaml"
  printf '%s\n' "$corefile" >"$dir/Corefile"
  (cd "$dir" && exec taskset -c "$cpus" "${CDNS_CMD[@]}" -conf Corefile -quiet) >"$dir/server.log" 2>&1 &
  CPID=$!
  PIDS+=("$CPID")
  for _ in $(seq 1 300); do
    kill -0 "$CPID" 2>/dev/null || { echo "ClusterDns ($name) exited:" >&2; cat "$dir/server.log" >&2; exit 1; }
    [ "$(dig +short +tries=1 +time=1 @127.0.0.1 -p "$CDNS_PORT" svc-0.ns-0.svc.cluster.local A 2>/dev/null | head -1)" = 10.96.1.0 ] && return 0
    sleep 0.2
  done
  echo "ClusterDns ($name) did not answer on $CDNS_PORT; log:" >&2; cat "$dir/server.log" >&2; exit 1
}

# start_peer PEER N PORT CPUS: the harness's start-peer.sh; sets PPID_.
start_peer() {
  PPID_=$("$PEERDIR/start-peer.sh" "$1" "$PEERDIR/data/$2" "$3" "$4") || return 1
  PIDS+=("$PPID_")
}

# answers PORT: check-answers.sh without the message sizes (ClusterDns compresses names, miekg does not).
answers() { "$PEERDIR/check-answers.sh" "$1" | sed 's/ *[0-9]*B$//'; }

# compare LABEL WANT GOT [FILTER]: identical rcode/flags/section counts per query class, else print the diff and fail.
FAILED=0
compare() {
  if ! diff -u --label "$1: expected" --label "$1: ClusterDns" "$2" "$3" >"$OUT/$1.diff"; then
    echo "!! answers differ ($1):" >&2; cat "$OUT/$1.diff" >&2; FAILED=1
  else
    echo "answers match ($1)" >&2
  fi
}

# measure LABEL PORT PID N CPUS-FOR-LOAD LATENCY(0/1): saturation (udp-blast) + optional fixed-rate latency (dnsperf)
# through the harness's measure-one.sh; results land in $OUT/LABEL/{blast,rate}/result.json.
measure() {
  local label="$1" port="$2" pid="$3" n="$4" client="$5" latency="$6" raw
  log "measure $label (udp-blast, ${RUNS}x${DURATION}s)"
  raw=$(N="$n" DURATION="$DURATION" RUNS="$RUNS" RATE=0 "$PEERDIR/measure-one.sh" 127.0.0.1 "$port" "$pid" \
        --tool udp-blast --clients 4 --outstanding 160 --rate 0 --client-cpu "$client" --label "$label" 2>&1 >/dev/null |
        tee -a "$OUT/progress.log" | sed -n 's/^raw: //p') || true
  [ -n "$raw" ] || { echo "!! measure-one.sh failed for $label; see $OUT/progress.log" >&2; FAILED=1; return 0; }
  mkdir -p "$OUT/$label"; rm -rf "$OUT/$label/blast"; mv "$raw" "$OUT/$label/blast"
  if [ "$latency" = 1 ] && command -v dnsperf >/dev/null; then
    log "measure $label (dnsperf at $RATE QPS, ${RATE_RUNS}x${RATE_DURATION}s)"
    raw=$(N="$n" DURATION="$RATE_DURATION" RUNS=0 RATE="$RATE" RATE_RUNS="$RATE_RUNS" "$PEERDIR/measure-one.sh" \
          127.0.0.1 "$port" "$pid" --warmup 2 --client-cpu "$client" --label "$label" 2>&1 >/dev/null |
          tee -a "$OUT/progress.log" | sed -n 's/^raw: //p') || true
    [ -n "$raw" ] && { rm -rf "$OUT/$label/rate"; mv "$raw" "$OUT/$label/rate"; }
  fi
  return 0
}

K8S_COREFILE=".:$CDNS_PORT {
    kubernetes cluster.local in-addr.arpa {
        snapshot cluster.yaml
    }
}"

if [ "$SMOKE" = 1 ]; then
  start_cdns smoke 0 "$K8S_COREFILE" "$PEERDIR/data/$N0"
  answers "$CDNS_PORT" >"$OUT/answers-before.txt"; compare smoke-before "$HERE/expected-answers.txt" "$OUT/answers-before.txt"
  python3 "$PEERDIR/bench.py" 127.0.0.1 "$CDNS_PORT" --tool udp-blast --queries "$PEERDIR/data/$N0/queries.txt" \
    --server-pid "$CPID" --duration "$DURATION" --runs "$RUNS" --warmup 1 --retries 0 --rate 0 --clients 4 \
    --outstanding 160 --client-cpu "" --label smoke --out "$OUT/smoke" >/dev/null 2>>"$OUT/progress.log"
  answers "$CDNS_PORT" >"$OUT/answers-after.txt"; compare smoke-after "$HERE/expected-answers.txt" "$OUT/answers-after.txt"
  stop "$CPID"
  # The load's rcode mix must be the query file's: 10% NXDOMAIN, the rest NOERROR, nothing lost or failed.
  python3 - "$OUT/smoke/result.json" <<'EOF' || FAILED=1
import json, re, sys
r = json.load(open(sys.argv[1]))
codes = {k: int(v) for k, v in re.findall(r"([A-Z?]+) (\d+)", r["rcodes"] or "")}
done = sum(codes.values())
nx = codes.get("NXDOMAIN", 0) / done if done else 0
bad = {k: v for k, v in codes.items() if k not in ("NOERROR", "NXDOMAIN")}
lost = r["lost_median"] or 0
print(f"smoke load: {r['qps_median']:,} QPS, {done} answers, rcodes {codes}, lost {lost}", file=sys.stderr)
ok = done > 1000 and 0.07 < nx < 0.13 and not bad and lost <= done * 0.001
sys.exit(0 if ok else 1)
EOF
  [ "$FAILED" = 0 ] && echo "SMOKE OK" >&2 || echo "SMOKE FAILED (results in $OUT)" >&2
  exit "$FAILED"
fi

# ---- variant one: 1 server core, every size; ClusterDns then each peer, same load
case " $VARIANTS " in *" one "*)
  for n in $SIZES; do
    lat=0; [ "$n" = "$N0" ] && lat=1
    log "ClusterDns N=$n (CPU 0)"
    start_cdns "cdns-$n" 0 "$K8S_COREFILE" "$PEERDIR/data/$n"
    answers "$CDNS_PORT" >"$OUT/answers-clusterdns-$n.txt"
    if [ "$n" = 1000 ]; then compare "golden-$n" "$HERE/expected-answers.txt" "$OUT/answers-clusterdns-$n.txt"; fi
    measure "one/clusterdns-$n" "$CDNS_PORT" "$CPID" "$n" 1 "$lat"
    stop "$CPID"
    port=5310
    for peer in $PEERS; do
      port=$((port + 1))
      log "$peer N=$n (CPU 0)"
      start_peer "$peer" "$n" "$port" 0 || { echo "!! $peer failed to start" >&2; continue; }
      if [ "$peer" = miekg ]; then
        answers "$port" >"$OUT/answers-miekg-$n.txt"
        compare "miekg-$n" "$OUT/answers-miekg-$n.txt" "$OUT/answers-clusterdns-$n.txt"
      fi
      measure "one/$peer-$n" "$port" "$PPID_" "$n" 1 "$lat"
      "$PEERDIR/stop-peer.sh" "$PPID_"
    done
  done ;;
esac

# ---- variant two: server on CPUs 0-1 (ClusterDns opens one SO_REUSEPORT socket per CPU it may run on: 2),
# the load generator unpinned (it shares both cores, as dnsperf would in a 2-core pod); miekg-rp2 likewise.
case " $VARIANTS " in *" two "*)
  log "ClusterDns N=$N0 (CPUs 0-1)"
  start_cdns "cdns2-$N0" 0,1 "$K8S_COREFILE" "$PEERDIR/data/$N0"
  measure "two/clusterdns-$N0" "$CDNS_PORT" "$CPID" "$N0" "" 0
  stop "$CPID"
  log "miekg-rp2 N=$N0 (CPUs 0-1)"
  if start_peer miekg-rp2 "$N0" 5331 0,1; then
    measure "two/miekg-rp2-$N0" 5331 "$PPID_" "$N0" "" 0
    "$PEERDIR/stop-peer.sh" "$PPID_"
  fi ;;
esac

# ---- variant cache: ClusterDns `cache 30` + `forward` to a peer on loopback, against the peer alone
case " $VARIANTS " in *" cache "*)
  plugins="$("${CDNS_CMD[@]}" -plugins 2>/dev/null || true)"
  if ! grep -q 'dns.cache$' <<<"$plugins" || ! grep -q 'dns.forward$' <<<"$plugins"; then
    echo "PENDING: this ClusterDns build has no cache/forward plugin; cache variant skipped" | tee "$OUT/cache-pending.txt" >&2
  else
    port=5340
    for peer in $CACHE_PEERS; do
      port=$((port + 1))
      log "$peer N=$N0 alone (CPU 0)"
      start_peer "$peer" "$N0" "$port" 0 || { echo "!! $peer failed to start" >&2; continue; }
      answers "$port" | sed 's/ aa / /' >"$OUT/answers-$peer.txt"
      measure "cache/$peer-$N0" "$port" "$PPID_" "$N0" 1 1
      "$PEERDIR/stop-peer.sh" "$PPID_"
      # The upstream runs on CPU 1 beside the load generator: after the cache warms it only sees expiries.
      start_peer "$peer" "$N0" "$port" 1 || { echo "!! $peer failed to start" >&2; continue; }
      up="$PPID_"
      log "ClusterDns cache+forward -> $peer N=$N0 (CPU 0)"
      start_cdns "cdns-cache-$peer" 0 ".:$CDNS_PORT {
    cache 30
    forward . 127.0.0.1:$port
}" ""
      answers "$CDNS_PORT" | sed 's/ aa / /' >"$OUT/answers-cache-$peer.txt"
      compare "cache-$peer" "$OUT/answers-$peer.txt" "$OUT/answers-cache-$peer.txt"
      measure "cache/clusterdns+$peer-$N0" "$CDNS_PORT" "$CPID" "$N0" 1 1
      stop "$CPID"; "$PEERDIR/stop-peer.sh" "$up"
    done
  fi ;;
esac

# ---- variant tcp: DNS over TCP, persistent connections with pipelined queries (udp-blast -T on CPU 1), ClusterDns
# and Knot both pinned to CPU 0 and measured in turn, round after round, so that both see the same machine load.
case " $VARIANTS " in *" tcp "*)
  TCP_ROUNDS="${TCP_ROUNDS:-3}"; TCP_SHAPES="${TCP_SHAPES:-pipelined:16:320 single:64:64}"
  log "tcp: ClusterDns and knot N=$N0 (CPU 0), ${TCP_ROUNDS} interleaved rounds of ${DURATION}s"
  start_cdns "cdns-tcp-$N0" 0 "$K8S_COREFILE" "$PEERDIR/data/$N0"
  tcp_servers=("clusterdns:$CDNS_PORT:$CPID")
  if start_peer knot "$N0" 5351 0; then tcp_servers+=("knot:5351:$PPID_"); else echo "!! knot failed to start" >&2; FAILED=1; fi
  for round in $(seq 1 "$TCP_ROUNDS"); do
    for shape in $TCP_SHAPES; do
      IFS=: read -r sname conns window <<<"$shape"
      for entry in "${tcp_servers[@]}"; do
        IFS=: read -r name port pid <<<"$entry"
        echo "$(cut -d' ' -f1-3 /proc/loadavg) before $name $sname round $round" >>"$OUT/tcp-load.txt"
        python3 "$PEERDIR/bench.py" 127.0.0.1 "$port" --tool udp-blast --mode tcp --queries "$PEERDIR/data/$N0/queries.txt" \
          --server-pid "$pid" --duration "$DURATION" --runs 1 --warmup 3 --retries 2 --rate 0 --clients "$conns" \
          --outstanding "$window" --client-cpu 1 --label "tcp-$sname/$name-$N0" \
          --out "$OUT/tcp-$sname/$name-$N0/round-$round" >/dev/null 2>>"$OUT/progress.log" \
          || { echo "!! tcp run failed for $name ($sname)" >&2; FAILED=1; }
      done
    done
  done
  echo "$(cut -d' ' -f1-3 /proc/loadavg) after" >>"$OUT/tcp-load.txt"
  stop "$CPID"; [ "${#tcp_servers[@]}" -gt 1 ] && "$PEERDIR/stop-peer.sh" "$PPID_" ;;
esac

trap - EXIT INT TERM
cleanup
python3 "$HERE/table.py" "$OUT" | tee "$OUT/table.md"
echo "results: $OUT" >&2
exit "$FAILED"
