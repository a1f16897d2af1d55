using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ClusterDns.Protocol;
using ClusterDns.Server;
using DnsClient;

namespace ClusterDns.Tests.TestSupport;

/// <summary>The result of running an external program (dig, kdig, clusterdns).</summary>
public sealed record ProcessOutput(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>dig/kdig output, parsed for what the tests assert on. <see cref="Text"/> is kept for failure messages.</summary>
public sealed partial record DigOutput(string Text)
{
    /// <summary>NOERROR, SERVFAIL, BADVERS... from the header line (dig: "status: X," kdig: "status: X;").</summary>
    public string? Status => StatusPattern().Match(Text) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>Header flags ("qr aa rd tc"), lower-case, as dig and kdig both print them.</summary>
    public IReadOnlySet<string> Flags =>
        FlagsPattern().Match(Text) is { Success: true } m
            ? new HashSet<string>(m.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal)
            : new HashSet<string>();

    /// <summary>The record lines of the ANSWER SECTION.</summary>
    public IReadOnlyList<string> Answers => Section("ANSWER");

    public IReadOnlyList<string> Additionals => Section("ADDITIONAL");

    /// <summary>dig: "; EDNS: version: 0, flags: do; udp: 1232"; kdig: ";; Version: 0; flags: do; UDP size: 1232 B; ...".</summary>
    public string? EdnsLine
    {
        get
        {
            foreach (var line in Lines)
            {
                if (line.StartsWith("; EDNS:", StringComparison.Ordinal) || line.StartsWith(";; Version:", StringComparison.Ordinal))
                {
                    return line;
                }
            }
            return null;
        }
    }

    /// <summary>dig's "MSG SIZE  rcvd: N" / kdig's ";; Received N B".</summary>
    public int? ReceivedSize => SizePattern().Match(Text) is { Success: true } m ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;

    private string[] Lines => Text.Split('\n', StringSplitOptions.TrimEntries);

    private List<string> Section(string name)
    {
        var result = new List<string>();
        var inside = false;
        foreach (var line in Lines)
        {
            if (line.StartsWith(";; ", StringComparison.Ordinal) && line.Contains("SECTION", StringComparison.Ordinal))
            {
                inside = line.StartsWith($";; {name} SECTION", StringComparison.Ordinal);
                continue;
            }
            if (line.Length == 0)
            {
                inside = false;
            }
            else if (inside && !line.StartsWith(';'))
            {
                result.Add(line);
            }
        }
        return result;
    }

    public override string ToString() => Text;

    [GeneratedRegex(@"status: ([A-Z]+)[,;]")]
    private static partial Regex StatusPattern();

    [GeneratedRegex(@";; [Ff]lags: ([a-z ]*);")]
    private static partial Regex FlagsPattern();

    [GeneratedRegex(@"(?:MSG SIZE\s+rcvd:|;; Received) (\d+)")]
    private static partial Regex SizePattern();
}

public static class ServerTestKit
{
    public static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(30);

    public static async Task<ProcessOutput> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (workingDirectory is not null)
        {
            info.WorkingDirectory = workingDirectory;
        }
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? ProcessTimeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', info.ArgumentList)} did not finish");
        }
        return new ProcessOutput(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs dig against 127.0.0.1:<paramref name="port"/> with one try and a short timeout.</summary>
    public static async Task<DigOutput> DigAsync(int port, params string[] arguments)
    {
        var output = await RunAsync("dig", ["@127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+tries=1", "+time=3", .. arguments]);
        Assert.True(output.ExitCode == 0, output.ToString());
        return new DigOutput(output.Stdout);
    }

    /// <summary>Runs kdig against 127.0.0.1:<paramref name="port"/> with one try and a short timeout.</summary>
    public static async Task<DigOutput> KdigAsync(int port, params string[] arguments)
    {
        var output = await RunAsync("kdig", ["@127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "+retry=0", "+time=3", .. arguments]);
        Assert.True(output.ExitCode == 0, output.ToString());
        return new DigOutput(output.Stdout);
    }

    public static LookupClient Lookup(int port, bool tcpOnly = false) =>
        new(new LookupClientOptions(new NameServer(IPAddress.Loopback, port))
        {
            UseCache = false,
            Retries = 0,
            UseTcpOnly = tcpOnly,
            Timeout = TimeSpan.FromSeconds(3),
            ThrowDnsErrors = false,
        });

    /// <summary>A port free for both UDP and TCP on all addresses right now (for Corefiles that need two distinct ports).</summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var udp = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
            udp.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
            var port = ((IPEndPoint)udp.LocalEndPoint!).Port;
            try
            {
                using var tcp = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
                tcp.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("no free port");
    }

    /// <summary>A raw query with an arbitrary header and question, for what well-behaved clients never send.</summary>
    public static byte[] RawQuery(ushort id, ushort flags, ushort qdCount, ushort anCount, ushort nsCount, ushort arCount, params byte[][] body)
    {
        var header = new byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header, id);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), flags);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), qdCount);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), anCount);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(8), nsCount);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(10), arCount);
        return [.. header, .. body.SelectMany(part => part)];
    }

    /// <summary>Question section bytes: name in wire form, type, class.</summary>
    public static byte[] Question(string name, DnsType type, DnsClass @class = DnsClass.IN)
    {
        var wire = DnsName.Parse(name).Wire.ToArray();
        return [.. wire, (byte)((ushort)type >> 8), (byte)type, (byte)((ushort)@class >> 8), (byte)@class];
    }
}
