using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Protocol;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// A real upstream resolver: Debian's dnsmasq (installed by .ci/run) on loopback, authoritative-ish for
/// <c>example.test</c> from a hosts file (TTL 300), every name under <c>wild.example.test</c> → 192.0.2.99, REFUSED for anything else. It prefers port 53 on a random
/// 127.x.y.z address, so a resolv.conf-style file (which has no port syntax) can point the kubeadm Corefile's
/// <c>forward . /etc/resolv.conf</c> at it unchanged; when port 53 cannot be bound (not root) it falls back to
/// 127.0.0.1 on a free port, and <see cref="ResolvConfUsable"/> tells the test to list <c>IP:PORT</c> directly.
/// </summary>
internal sealed class DnsmasqUpstream : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/dnsmasq";

    /// <summary>Names served, with their A records.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Records = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["web.example.test"] = ["192.0.2.10"],
        ["multi.example.test"] = ["192.0.2.21", "192.0.2.22", "192.0.2.23", "192.0.2.24"],
        ["other.example.test"] = ["192.0.2.30"],
    };

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly string _directory;

    private DnsmasqUpstream(Process process, IPEndPoint endPoint, string directory)
    {
        _process = process;
        EndPoint = endPoint;
        _directory = directory;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>True when the upstream listens on port 53, so a resolv.conf <c>nameserver</c> line can name it.</summary>
    public bool ResolvConfUsable => EndPoint.Port == 53;

    /// <summary><c>host:port</c>, the forward plugin's <c>to</c> label.</summary>
    public string To => $"{EndPoint.Address}:{EndPoint.Port.ToString(CultureInfo.InvariantCulture)}";

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>How many queries for <paramref name="name"/> reached dnsmasq (from its --log-queries lines).</summary>
    public int QueriesFor(string name, string type = "A")
    {
        var needle = $"query[{type}] {name} from";
        var count = 0;
        foreach (var line in Log.Split('\n'))
        {
            if (line.Contains(needle, StringComparison.Ordinal))
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>The query count for <paramref name="name"/> once it reached <paramref name="atLeast"/> (its log is read
    /// asynchronously) or the deadline passed.</summary>
    public async Task<int> QueriesAsync(string name, int atLeast, string type = "A")
    {
        var deadline = Stopwatch.StartNew();
        while (QueriesFor(name, type) < atLeast && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20);
        }
        return QueriesFor(name, type);
    }

    public bool HasExited => _process.HasExited;

    public static bool Installed => File.Exists(Binary);

    public static async Task<DnsmasqUpstream> StartAsync()
    {
        Assert.True(Installed, $"{Binary} is missing: .ci/run installs dnsmasq (apt-get install dnsmasq)");
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-dnsmasq-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        var hosts = new StringBuilder();
        foreach (var (name, addresses) in Records)
        {
            foreach (var address in addresses)
            {
                hosts.Append(address).Append(' ').Append(name).Append('\n');
            }
        }
        var hostsFile = Path.Combine(directory, "hosts");
        await File.WriteAllTextAsync(hostsFile, hosts.ToString());
        // Port 53 on a random 127/8 address first (Linux routes all of 127/8 to lo), then a free port on 127.0.0.1.
        for (var attempt = 0; attempt < 4; attempt++)
        {
            var endPoint = attempt < 3
                ? new IPEndPoint(new IPAddress([127, (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(1, 255), (byte)Random.Shared.Next(2, 255)]), 53)
                : new IPEndPoint(IPAddress.Loopback, ServerTestKit.FreePort());
            var upstream = Launch(endPoint, hostsFile, directory);
            if (await upstream.AnswersAsync(TimeSpan.FromSeconds(5)))
            {
                return upstream;
            }
            await upstream.StopAsync();
        }
        throw new InvalidOperationException("dnsmasq did not start");
    }

    private static DnsmasqUpstream Launch(IPEndPoint endPoint, string hostsFile, string directory)
    {
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", "--bind-interfaces",
            $"--listen-address={endPoint.Address}", $"--port={endPoint.Port.ToString(CultureInfo.InvariantCulture)}",
            "--user=" + Environment.UserName, "--pid-file=", "--local=/example.test/", "--address=/wild.example.test/192.0.2.99", $"--addn-hosts={hostsFile}",
            "--local-ttl=300", "--log-facility=-", "--log-queries", "--cache-size=0",
        })
        {
            info.ArgumentList.Add(argument);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start dnsmasq");
        var upstream = new DnsmasqUpstream(process, endPoint, directory);
        process.ErrorDataReceived += (_, e) => upstream.Append(e.Data);
        process.OutputDataReceived += (_, e) => upstream.Append(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return upstream;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_log)
        {
            _log.Append(line).Append('\n');
        }
    }

    private async Task<bool> AnswersAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout && !_process.HasExited)
        {
            var query = DnsMessage.CreateQuery("probe.example.test.", DnsType.A, id: 7).ToArray();
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            try
            {
                await socket.SendToAsync(query, SocketFlags.None, EndPoint, cts.Token);
                var buffer = new byte[512];
                var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
                if (result.ReceivedBytes > 12)
                {
                    return true;
                }
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException)
            {
                await Task.Delay(50);
            }
        }
        return false;
    }

    /// <summary>Stops the process (the upstream is then down: ICMP port unreachable for UDP, RST for TCP).</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
