using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Bench;

/// <summary>
/// Keeps bench/load working: runs <c>bench/load/run.sh</c> in its smoke mode (N=1000, ClusterDns only, a few
/// seconds of udp-blast on loopback) against the built clusterdns.dll. It asserts correctness
/// (answers per query class before and after load, the load's rcode mix, nothing lost), never speed.
/// </summary>
public sealed class LoadSmokeTests(ITestOutputHelper output)
{
    // run.sh exits 77 when python3, dig, gcc or taskset are missing (or udp-blast does not build).
    private const int SkipExitCode = 77;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Load_run_answers_correctly()
    {
        if (!OperatingSystem.IsLinux())
        {
            output.WriteLine("skipped: bench/load runs on Linux only (taskset, recvmmsg load generator)");
            return;
        }
        var script = Path.Combine(RepoRoot(), "bench", "load", "run.sh");
        var work = Path.Combine(Path.GetTempPath(), "clusterdns-loadsmoke-" + Guid.NewGuid().ToString("N")[..12]);
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        info.Environment["SMOKE"] = "1";
        info.Environment["WORK"] = work;
        info.Environment["CDNS_PORT"] = FreeUdpPort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["CLUSTERDNS"] = string.Join(' ', ClusterDnsProcess.Command);
        var text = new StringBuilder();
        try
        {
            using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start bash");
            process.OutputDataReceived += (_, e) => Append(text, e.Data);
            process.ErrorDataReceived += (_, e) => Append(text, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            using var cts = new CancellationTokenSource(Budget);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                // SIGTERM first: run.sh's trap stops the server it started; then make sure nothing is left.
                Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
                if (!process.WaitForExit(5000))
                {
                    process.Kill(entireProcessTree: true);
                }
                Assert.Fail($"bench/load smoke did not finish within {Budget.TotalSeconds} s:\n{Snapshot(text)}");
            }
            process.WaitForExit(); // flushes the redirected output
            var log = Snapshot(text);
            output.WriteLine(log);
            if (process.ExitCode == SkipExitCode)
            {
                // xunit 2 has no dynamic skip: pass, and say why in the output.
                output.WriteLine("skipped: the tools bench/load needs are missing (see SKIP line above)");
                return;
            }
            Assert.True(process.ExitCode == 0, $"bench/load smoke failed (exit {process.ExitCode}):\n{log}");
            Assert.Contains("SMOKE OK", log, StringComparison.Ordinal);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
                // Left in /tmp: harmless.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (text)
        {
            text.AppendLine(line);
        }
    }

    private static string Snapshot(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }

    /// <summary>A UDP port free right now (the kernel picks it), so a bench run on 5399 does not collide.</summary>
    private static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string RepoRoot([CallerFilePath] string path = "")
    {
        var directory = Path.GetDirectoryName(path)!;
        while (!File.Exists(Path.Combine(directory, "bench", "load", "run.sh")))
        {
            directory = Path.GetDirectoryName(directory) ?? throw new InvalidOperationException("repository root not found");
        }
        return directory;
    }
}
