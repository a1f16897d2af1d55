#!/usr/bin/env bash
# bench/load/runtime-variants.sh: the runtime choices of issue 5 (GC mode, tiered PGO, tiered compilation,
# ReadyToRun, native AOT), each the same ClusterDns code measured by run.sh (variant `one`: server on CPU 0,
# udp-blast on CPU 1) in one session, then one table: QPS per busy core and RSS after load per size, as ratios to
# the shipped configuration (`jit`).
#
#   bench/load/runtime-variants.sh                     # ~15 min: all variants, N = 1,000 and 50,000
#   ONLY="jit aot" SIZES=1000 bench/load/runtime-variants.sh
#
# Env: SIZES ["1000 50000"]  RUNS [3]  DURATION [10]  ONLY [all variants]  WORK [bench/load/.work]
# The AOT build needs the ILCompiler package from NuGet (restored on first use); when it does not build, the
# variant is reported as skipped. Results: $WORK/variants/<stamp>/<variant>/ (run.sh's layout) and table.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-$HERE/.work}"
SIZES="${SIZES:-1000 50000}"
RUNS="${RUNS:-3}"
DURATION="${DURATION:-10}"
OUT="$WORK/variants/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
log() { echo "== $*" >&2; }

publish() { # publish NAME ARGS...: a Release build of src/ClusterDns into $WORK/v-NAME; fails quietly
  local name="$1"; shift
  log "publishing $name"
  dotnet publish "$REPO/src/ClusterDns" -c Release -o "$WORK/v-$name" -nologo -v quiet "$@" >"$OUT/publish-$name.log" 2>&1
}

publish jit || { cat "$OUT/publish-jit.log" >&2; exit 1; }
JIT="$WORK/v-jit/clusterdns"
# name|command that starts the server (run.sh appends -conf Corefile -quiet)
VARIANTS=(
  "jit|$JIT"
  "server-gc|env DOTNET_gcServer=1 $JIT"
  "concurrent-gc|env DOTNET_gcConcurrent=1 $JIT"
  "no-pgo|env DOTNET_TieredPGO=0 $JIT"
  "no-tiering|env DOTNET_TieredCompilation=0 $JIT"
)
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
if want r2r && publish r2r -r linux-x64 --self-contained false -p:PublishReadyToRun=true; then
  VARIANTS+=("r2r|$WORK/v-r2r/clusterdns")
fi
# Trim/AOT analysis warnings of the dependencies (KubernetesClient, YamlDotNet, prometheus-net) are reported, not fatal.
if want aot && publish aot -r linux-x64 -p:PublishAot=true -p:TreatWarningsAsErrors=false; then
  VARIANTS+=("aot|$WORK/v-aot/clusterdns")
else
  want aot && echo "aot: did not build (see $OUT/publish-aot.log)" >"$OUT/aot-skipped.txt"
fi

for v in "${VARIANTS[@]}"; do
  name="${v%%|*}"; cmd="${v#*|}"
  want "$name" || continue
  log "variant $name: $cmd"
  RESULTS="$OUT/$name" CLUSTERDNS="$cmd" PEERS="" VARIANTS=one SIZES="$SIZES" RUNS="$RUNS" DURATION="$DURATION" \
    RATE_RUNS=1 RATE_DURATION=5 "$HERE/run.sh" >"$OUT/$name.log" 2>&1 || log "variant $name: run.sh failed (see $OUT/$name.log)"
done

python3 - "$OUT" $SIZES >"$OUT/table.md" <<'EOF'
import json, os, sys
out, sizes = sys.argv[1], [int(n) for n in sys.argv[2:]]
def row(variant, n):
    try:
        r = json.load(open(os.path.join(out, variant, "one", f"clusterdns-{n}", "blast", "result.json")))
    except OSError:
        return None
    cpu = r.get("server_cpu_pct") or 0
    rss = (r.get("mem_end") or {}).get("tree_rss_kb")
    return (r["qps_median"] / (cpu / 100.0) if cpu else None, rss / 1024.0 if rss else None, f"{r['n_runs']}+{r['n_noisy']}")
variants = sorted((d for d in os.listdir(out) if os.path.isdir(os.path.join(out, d))), key=lambda d: (d != "jit", d))
base = {n: row("jit", n) for n in sizes}
head = "| runtime variant | " + " | ".join(f"N={n:,}: QPS per busy core | vs jit | RSS (MiB) | runs+noisy" for n in sizes) + " |"
print(head)
print("|---|" + "---:|---:|---:|---:|" * len(sizes))
for v in variants:
    cells = []
    for n in sizes:
        r = row(v, n)
        if not r or r[0] is None:
            cells += ["–", "–", "–", "–"]
            continue
        ratio = f"{r[0] / base[n][0]:.2f}×" if base[n] and base[n][0] else "–"
        cells += [f"{r[0]:,.0f}", ratio, f"{r[1]:.1f}" if r[1] else "–", r[2]]
    print(f"| {v} | " + " | ".join(cells) + " |")
EOF
cat "$OUT/table.md"
[ -f "$OUT/aot-skipped.txt" ] && cat "$OUT/aot-skipped.txt"
echo "results: $OUT"
