using System.Globalization;
using System.Text.RegularExpressions;
using ClusterDns.Fuzz;
using ClusterDns.Fuzz.Engine;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Fuzz;

/// <summary>
/// The short coverage-guided run of CI: every in-process target under AFL++ for a few seconds through
/// <c>bench/ClusterDns.Fuzz/afl.sh</c> (SharpFuzz-instrumented ClusterDns assemblies, the committed seed corpus), failing on
/// any saved crash or hang and on a run that found no edges. The long runs are in docs/RELIABILITY.md.
/// <c>CLUSTERDNS_AFL_SECONDS</c> lengthens it. Without afl-fuzz on the PATH it passes with a note, except under CI
/// (<c>CI=true</c>), where <c>.ci/run</c> installs afl++ and its absence is a failure.
/// </summary>
public sealed partial class AflFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_target_runs_under_afl_without_crashes_or_hangs()
    {
        if (!OnPath("afl-fuzz"))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "afl-fuzz is missing: .ci/run installs afl++");
            output.WriteLine("afl-fuzz not installed (apt-get install afl++): coverage-guided run not done");
            return;
        }
        var seconds = int.TryParse(Environment.GetEnvironmentVariable("CLUSTERDNS_AFL_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 15;
        var root = Corpus.RepositoryRoot()!;
        var script = Path.Combine(root, "bench", "ClusterDns.Fuzz", "afl.sh");
        var work = Path.Combine(root, "bench", "ClusterDns.Fuzz", "out", "afl-ci");
        // The test build already built the fuzz project (a project reference): instrument that output, no rebuild.
        var run = await ServerTestKit.RunAsync("bash", [script, "--no-build", "--seconds", seconds.ToString(CultureInfo.InvariantCulture),
            "--out", work, .. FuzzCli.InProcessTargets], TimeSpan.FromMinutes(10 + seconds * 4 / 60.0));
        output.WriteLine(run.Stdout);
        output.WriteLine(run.Stderr);
        Assert.True(run.ExitCode == 0, $"afl.sh exited {run.ExitCode}:\n{run.Stdout}\n{run.Stderr}");
        foreach (var target in FuzzCli.InProcessTargets)
        {
            var line = SummaryLine().Matches(run.Stdout).FirstOrDefault(m => m.Groups["target"].Value == target);
            Assert.True(line is not null, $"no summary for {target}:\n{run.Stdout}");
            Assert.True(long.Parse(line.Groups["execs"].Value, CultureInfo.InvariantCulture) > 0, line.Value);
            Assert.True(int.Parse(line.Groups["edges"].Value, CultureInfo.InvariantCulture) > 0, line.Value);
            Assert.Equal("0", line.Groups["crashes"].Value);
            Assert.Equal("0", line.Groups["hangs"].Value);
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, tool)));

    [GeneratedRegex(@"^(?<target>\w+): execs (?<execs>\d+) .* edges (?<edges>\d+)/\d+, .* crashes (?<crashes>\d+), hangs (?<hangs>\d+)$", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();
}
