using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// The built <c>clusterdns</c> executable run as a child process (<c>dotnet clusterdns.dll ...</c>), with its output
/// collected line by line. It runs from the product's own build output (<c>src/ClusterDns/bin/CONFIG/TFM/</c>), not the
/// copy next to the test assembly: the tests reference ASP.NET Core (the fake API server), which would hide the
/// product's own dependencies from that copy. With <c>CLUSTERDNS_AOT_BINARY</c> set to a published native AOT
/// executable (<c>dotnet publish src/ClusterDns -c Release -r linux-x64 -p:PublishAot=true</c>), that binary runs
/// instead, so the process-level tests check that build.
/// </summary>
public sealed class ClusterDnsProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private ClusterDnsProcess(Process process, string workingDirectory)
    {
        _process = process;
        WorkingDirectory = workingDirectory;
    }

    public static string Executable { get; } = FindExecutable();

    /// <summary>The native AOT executable under test, when <c>CLUSTERDNS_AOT_BINARY</c> names one.</summary>
    public static string? AotBinary { get; } = Environment.GetEnvironmentVariable("CLUSTERDNS_AOT_BINARY") is { Length: > 0 } aot
        ? Path.GetFullPath(aot)
        : null;

    private static string FindExecutable()
    {
        // BaseDirectory is .../tests/ClusterDns.Tests/bin/CONFIG/TFM/.
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = output.Name;
        var configuration = output.Parent!.Name;
        var repository = output.Parent.Parent!.Parent!.Parent!.Parent!.FullName;
        var product = Path.Combine(repository, "src", "ClusterDns", "bin", configuration, tfm, "clusterdns.dll");
        return File.Exists(product) ? product : Path.Combine(AppContext.BaseDirectory, "clusterdns.dll");
    }

    /// <summary>The command line that starts the server under test: the AOT executable when one is named, else
    /// <c>dotnet clusterdns.dll</c>.</summary>
    public static IReadOnlyList<string> Command { get; } = AotBinary is null ? ["dotnet", Executable] : [AotBinary];

    public string WorkingDirectory { get; }

    public int Id => _process.Id;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>A fresh empty working directory (no Corefile unless a test writes one).</summary>
    public static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-cli-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        return directory;
    }

    public static ClusterDnsProcess Start(string workingDirectory, params string[] arguments) =>
        StartWith(workingDirectory, [], arguments);

    /// <summary>Started through <paramref name="wrapper"/> (e.g. <c>ip netns exec NS</c>, which execs in place, so
    /// <see cref="Id"/> and signals still reach the server).</summary>
    public static ClusterDnsProcess StartWith(string workingDirectory, IReadOnlyList<string> wrapper, params string[] arguments)
    {
        var info = new ProcessStartInfo(wrapper.Count > 0 ? wrapper[0] : AotBinary ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        for (var i = 1; i < wrapper.Count; i++)
        {
            info.ArgumentList.Add(wrapper[i]);
        }
        if (AotBinary is null)
        {
            if (wrapper.Count > 0)
            {
                info.ArgumentList.Add("dotnet");
            }
            info.ArgumentList.Add(Executable);
        }
        else if (wrapper.Count > 0)
        {
            info.ArgumentList.Add(AotBinary);
        }
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        return Launch(info, workingDirectory);
    }

    /// <summary>Any command line whose process ends up as the server (e.g. a script that mounts a root filesystem and
    /// execs the executable inside it with <c>chroot</c>): output collected and signals sent as for the others.</summary>
    public static ClusterDnsProcess StartCommand(string workingDirectory, IReadOnlyList<string> command)
    {
        var info = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        for (var i = 1; i < command.Count; i++)
        {
            info.ArgumentList.Add(command[i]);
        }
        return Launch(info, workingDirectory);
    }

    private static ClusterDnsProcess Launch(ProcessStartInfo info, string workingDirectory)
    {
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var result = new ClusterDnsProcess(process, workingDirectory);
        process.OutputDataReceived += (_, e) => Append(result._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(result._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;

        static void Append(StringBuilder builder, string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (builder)
            {
                builder.Append(line).Append('\n');
            }
        }
    }

    /// <summary>
    /// Starts a server whose one block is <c>kubernetes cluster.local { endpoint API }</c> on a free port and waits for
    /// its banner: the process the API-fault tests (chaos soak, connection leaks) watch.
    /// </summary>
    public static async Task<(ClusterDnsProcess Process, IPEndPoint Dns)> StartKubernetesAsync(string apiUrl)
    {
        var dnsPort = ServerTestKit.FreePort();
        var directory = NewDirectory();
        await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"),
            $".:{dnsPort.ToString(CultureInfo.InvariantCulture)} {{\n    kubernetes cluster.local {{\n        endpoint {apiUrl}\n    }}\n}}\n");
        var process = Start(directory);
        await process.WaitForBannerAsync();
        return (process, new IPEndPoint(IPAddress.Loopback, dnsPort));
    }

    /// <summary>Runs to completion (for flags that print and exit, and for start-up errors).</summary>
    public static async Task<ProcessOutput> RunAsync(string workingDirectory, params string[] arguments)
    {
        await using var process = Start(workingDirectory, arguments);
        process._process.StandardInput.Close();
        var exitCode = await process.WaitForExitAsync(ServerTestKit.ProcessTimeout);
        return new ProcessOutput(exitCode, process.Stdout, process.Stderr);
    }

    public async Task WriteStdinAndCloseAsync(string text)
    {
        await _process.StandardInput.WriteAsync(text);
        _process.StandardInput.Close();
    }

    /// <summary>Waits for the start-up banner's version line (the server is listening by then). Generous: several
    /// processes starting at once on a loaded machine can each take tens of seconds to JIT their start-up.</summary>
    public async Task WaitForBannerAsync()
    {
        var started = await Eventually.Holds(() => Stdout.Contains("ClusterDns-", StringComparison.Ordinal) || HasExited, TimeSpan.FromSeconds(90));
        Assert.True(started && !HasExited, $"server did not start\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
    }

    /// <summary>Sends a signal with the kill(1) command, as an operator or kubelet would.</summary>
    public async Task SignalAsync(string signal)
    {
        var output = await ServerTestKit.RunAsync("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(output.ExitCode == 0, output.ToString());
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"clusterdns did not exit\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
        }
        _process.WaitForExit(); // drains the asynchronous output readers
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        await Task.CompletedTask;
    }
}
