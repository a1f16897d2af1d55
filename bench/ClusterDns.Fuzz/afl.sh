#!/usr/bin/env bash
# Coverage-guided fuzzing of the in-process targets with AFL++ and SharpFuzz (docs/RELIABILITY.md,
# "Coverage-guided fuzzing").
#
#   bench/ClusterDns.Fuzz/afl.sh [--seconds N] [--no-build] [--timeout MS] [--out DIR] TARGET...
#
# TARGET is wire, reply, corefile, k8s or all. Builds the fuzz project (Release), copies its output to
# DIR/bin and instruments clusterdns.dll and ClusterDns.Protocol.dll there with the sharpfuzz tool (SharpFuzz.CommandLine,
# installed pinned into DIR/tools), then runs afl-fuzz on each target for N seconds (default 60) from the committed seed
# corpus, with `dotnet ClusterDns.Fuzz.dll --afl --target TARGET` as the driver. Prints one line per target (execs,
# paths, edges, map density, crashes, hangs) and exits 1 when any target saved a crash or a hang; the inputs are in
# DIR/findings/TARGET/default/{crashes,hangs}/ (replay one: dotnet DIR/bin/ClusterDns.Fuzz.dll --afl --target T < FILE).
# Needs afl-fuzz (Debian: apt-get install afl++).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
seconds=60
build=1
timeout_ms=5000
out=$here/out/afl
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --timeout) timeout_ms=$2; shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    all) targets+=(wire reply corefile k8s); shift ;;
    wire|reply|corefile|k8s) targets+=("$1"); shift ;;
    *) echo "afl.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || { echo "afl.sh: name a target: wire, reply, corefile, k8s or all" >&2; exit 2; }
command -v afl-fuzz >/dev/null || { echo "afl.sh: afl-fuzz not found (apt-get install afl++)" >&2; exit 3; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
sharpfuzz_version=2.3.0
tools=$out/tools
bin=$out/bin
built=$here/bin/Release/net10.0

if [ "$build" = 1 ]; then
  dotnet build "$here/ClusterDns.Fuzz.csproj" -c Release 2>&1 | grep -E " error |Build succeeded|FAILED" || true
fi
[ -f "$built/ClusterDns.Fuzz.dll" ] || { echo "afl.sh: $built/ClusterDns.Fuzz.dll missing (build the project)" >&2; exit 3; }

if [ ! -x "$tools/sharpfuzz" ] || ! grep -qs "$sharpfuzz_version" "$tools/.version"; then
  rm -rf "$tools"
  dotnet tool install SharpFuzz.CommandLine --version "$sharpfuzz_version" --tool-path "$tools" >/dev/null
  echo "$sharpfuzz_version" > "$tools/.version"
fi

# A fresh copy every run: the instrumentation rewrites the assemblies in place and refuses to do it twice.
rm -rf "$bin"
mkdir -p "$bin"
cp -r "$built/." "$bin/"
for assembly in clusterdns.dll ClusterDns.Protocol.dll; do
  "$tools/sharpfuzz" "$bin/$assembly" >/dev/null
done

# The machine is shared: no CPU pinning, no frequency check, no core_pattern demand; no curses UI in a log.
export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1
export AFL_FAST_CAL=1 AFL_FORKSRV_INIT_TMOUT=60000

status=0
for target in "${targets[@]}"; do
  case "$target" in
    wire|reply) seeds=$here/corpus/wire ;;
    *) seeds=$here/corpus/$target ;;
  esac
  dictionary=()
  case "$target" in
    corefile|k8s)
      dotnet "$built/ClusterDns.Fuzz.dll" --afl-dict "$target" > "$out/$target.dict"
      dictionary=(-x "$out/$target.dict") ;;
  esac
  findings=$out/findings/$target
  rm -rf "$findings"
  mkdir -p "$findings"
  log=$findings.log
  afl-fuzz -i "$seeds" -o "$findings" -t "$timeout_ms" -m none -V "$seconds" "${dictionary[@]}" \
    -- dotnet "$bin/ClusterDns.Fuzz.dll" --afl --target "$target" >"$log" 2>&1 || {
    echo "$target: afl-fuzz failed (exit $?), see $log"; tail -n 20 "$log"; status=1; continue; }
  stats=$findings/default/fuzzer_stats
  if [ ! -f "$stats" ]; then
    echo "$target: no fuzzer_stats, see $log"; tail -n 20 "$log"; status=1; continue
  fi
  field() { sed -n "s/^$1 *: *//p" "$stats"; }
  crashes=$(find "$findings/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
  hangs=$(find "$findings/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
  echo "$target: execs $(field execs_done) in $(field run_time) s ($(field execs_per_sec)/s), paths $(field corpus_count)" \
    "(found $(field corpus_found)), edges $(field edges_found)/$(field total_edges), map density $(field bitmap_cvg)," \
    "stability $(field stability), crashes $crashes, hangs $hangs"
  if [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; then
    status=1
    for file in "$findings"/default/crashes/id:* "$findings"/default/hangs/id:*; do
      [ -f "$file" ] && echo "  $file"
    done
  fi
done
exit $status
