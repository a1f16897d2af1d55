#!/usr/bin/env bash
# Runs every test project of the solution and ends with one plain "N passed, N failed" line.
# Usage: ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Corefile]
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
log=$(mktemp)
dotnet build ClusterDns.slnx -c Release 2>&1 | tee "$log" | grep -E "error|Warn|Build succeeded|Time Elapsed" || true
if ! grep -q "Build succeeded" "$log"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
# The build that ships is native AOT: publish it once; every test that starts the server as a process
# (TestSupport/ClusterDnsProcess.cs, deploy/rootfs.sh) then runs that executable. The in-process tests test the
# library. CLUSTERDNS_AOT_BINARY set by the caller skips the publish; CLUSTERDNS_AOT=0 tests the JIT build instead.
if [ -z "${CLUSTERDNS_AOT_BINARY:-}" ] && [ "${CLUSTERDNS_AOT:-1}" != 0 ]; then
  if command -v clang >/dev/null; then
    aot_dir="$PWD/src/ClusterDns/bin/aot"
    start=$(date +%s)
    if ! dotnet publish src/ClusterDns -c Release -r linux-x64 -p:PublishAot=true -o "$aot_dir" --nologo >"$log" 2>&1; then
      grep -E "error|warn" "$log" | sort -u | head -40
      echo "native AOT publish failed"
      echo "0 passed, 1 failed"
      exit 1
    fi
    echo "native AOT publish: $(($(date +%s) - start)) s -> $aot_dir/clusterdns"
    export CLUSTERDNS_AOT_BINARY="$aot_dir/clusterdns"
  else
    echo "clang not found: the process-level tests run the JIT build (the AOT publish needs clang and zlib1g-dev, see .ci/run)"
  fi
fi
dotnet test ClusterDns.slnx -c Release --no-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Sum the per-assembly summaries: "Passed!  - Failed:     0, Passed:   176, Skipped:     0, Total: ..."
read -r passed failed < <(grep -E "^(Passed|Failed)! +- +Failed: " "$log" |
  sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+).*/\2 \1/' |
  awk '{p+=$1; f+=$2} END {print p+0, f+0}')
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # the test host crashed or a project failed to run: count it
fi
echo "${passed} passed, ${failed} failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
