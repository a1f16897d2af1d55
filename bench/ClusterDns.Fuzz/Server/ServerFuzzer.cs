using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Fuzz.Engine;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Fuzz.Server;

public sealed record ServerFuzzOptions
{
    public int Seed { get; init; } = 1;

    /// <summary>Stop after this many fuzzed packets (UDP and TCP together; 0: no limit).</summary>
    public long Packets { get; init; }

    public double Seconds { get; init; }

    /// <summary>UDP packets sent between two plain probe queries.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Every this many batches, a TCP round: pipelined fuzzed frames, bad lengths, partial frames, many connections.</summary>
    public int TcpEvery { get; init; } = 4;

    public string? CrashDirectory { get; init; }

    public TextWriter? Log { get; init; }
}

public sealed record ServerFuzzResult(long UdpPackets, long TcpFrames, long GarbageConnections, long Replies, long Drops, long Probes,
    IReadOnlyDictionary<string, long> RepliesByRcode, IReadOnlyList<string> Violations, TimeSpan Elapsed, long RssBefore, long RssAfter,
    long RssAfterWarmup)
{
    public bool Clean => Violations.Count == 0;

    public override string ToString()
    {
        var rcodes = string.Join(", ", RepliesByRcode.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key} {pair.Value:N0}"));
        return $"server: {UdpPackets:N0} UDP packets + {TcpFrames:N0} TCP frames + {GarbageConnections:N0} garbage TCP connections in " +
            $"{Elapsed.TotalSeconds:F1} s; replies {Replies:N0} ({rcodes}); no reply {Drops:N0}; probes answered {Probes:N0}; " +
            $"violations {Violations.Count}; RSS {Rss.Format(RssBefore)} at start, {Rss.Format(RssAfterWarmup)} after the first batches, " +
            $"{Rss.Format(RssAfter)} at the end";
    }
}

/// <summary>
/// Whole-server mode: the real server (examples/Corefile serving examples/demo-cluster.yaml) runs in this process on a
/// free port and gets mutated packets over real UDP and TCP sockets. Checked after every batch: a plain query is
/// answered. Checked on every reply: none to a response (QR=1) or a headerless packet; over UDP none longer than 512
/// octets without EDNS or than the advertised EDNS size; FORMERR for malformed queries and NOTIMP for other opcodes
/// (the rcode the query parser predicts); every reply parses.
/// </summary>
public sealed class ServerFuzzer
{
    private const int ProbeFlag = 0x8000;
    private readonly ServerFuzzOptions _options;
    private readonly Random _random;
    private readonly Mutator _mutator;
    private readonly IReadOnlyList<byte[]> _seeds;
    private readonly Sent[] _sent = new Sent[ProbeFlag];
    private readonly Dictionary<string, long> _rcodes = new(StringComparer.Ordinal);
    private readonly List<string> _violations = [];
    private readonly byte[] _buffer = new byte[4096 + 64];
    private readonly byte[] _name = new byte[DnsName.MaxWireLength];
    private long _udp;
    private long _tcp;
    private long _garbage;
    private long _replies;
    private long _probes;
    private int _sequence;

    private struct Sent
    {
        public QueryDisposition Disposition;
        public bool HasOpt;
        public ushort UdpSize;
        public int Replies;
        public bool Live;
        public byte[] Packet;
    }

    public ServerFuzzer(IReadOnlyList<byte[]> seeds, ServerFuzzOptions options)
    {
        _seeds = seeds;
        _options = options;
        _random = new Random(options.Seed);
        _mutator = new Mutator(_random, seeds, 4096);
    }

    public async Task<ServerFuzzResult> RunAsync()
    {
        var rssBefore = Rss.Current();
        var root = Corpus.RepositoryRoot() ?? throw new InvalidOperationException("ClusterDns.slnx not found");
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-fuzz-server-" + Environment.ProcessId + "-" + _options.Seed);
        Directory.CreateDirectory(directory);
        var corefile = File.ReadAllText(Path.Combine(root, "examples", "Corefile")).Replace(".:1053 {", ".:0 {", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(directory, "Corefile"), corefile);
        File.Copy(Path.Combine(root, "examples", "demo-cluster.yaml"), Path.Combine(directory, "demo-cluster.yaml"), overwrite: true);
        await using var app = new ClusterDnsApp(new AppOptions
        {
            Conf = Path.Combine(directory, "Corefile"),
            Quiet = true,
            WorkingDirectory = directory,
            Listener = new ClusterDns.Server.ListenerOptions { TcpReadTimeout = TimeSpan.FromMilliseconds(500), TcpIdleTimeout = TimeSpan.FromSeconds(2) },
        }, NullLoggerFactory.Instance);
        await app.StartAsync();
        var port = 0;
        foreach (var listener in app.Host.Endpoints.Values)
        {
            port = listener.Port;
            break;
        }
        var endpoint = new IPEndPoint(IPAddress.Loopback, port);
        var clock = Stopwatch.StartNew();
        long rssWarm = 0;
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect(endpoint);
        udp.ReceiveTimeout = 1000;
        CheckDemoAnswer(udp);
        var batches = 0;
        while (_violations.Count < 50)
        {
            if (_options.Packets > 0 && _udp + _tcp >= _options.Packets)
            {
                break;
            }
            if (_options.Seconds > 0 && clock.Elapsed.TotalSeconds >= _options.Seconds)
            {
                break;
            }
            UdpBatch(udp);
            if (++batches % _options.TcpEvery == 0)
            {
                await TcpRoundAsync(endpoint);
            }
            if (batches == 20)
            {
                rssWarm = Rss.Current();
            }
        }
        CheckDemoAnswer(udp);
        clock.Stop();
        GC.Collect();
        var rssAfter = Rss.Current();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        return new ServerFuzzResult(_udp, _tcp, _garbage, _replies, _drops, _probes, new Dictionary<string, long>(_rcodes), [.. _violations],
            clock.Elapsed, rssBefore, rssAfter, rssWarm == 0 ? rssAfter : rssWarm);
    }

    private long _drops;

    /// <summary>The demo cluster is served: kubernetes.default answers NOERROR with an address.</summary>
    private void CheckDemoAnswer(Socket udp)
    {
        var query = DnsMessage.CreateQuery("kubernetes.default.svc.cluster.local.", DnsType.A, id: 0xFFFF).ToArray();
        var buffer = new byte[65535];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            udp.Send(query);
            try
            {
                while (true)
                {
                    var length = udp.Receive(buffer);
                    if (length >= 2 && BinaryPrimitives.ReadUInt16BigEndian(buffer) == 0xFFFF)
                    {
                        var reply = DnsMessage.Parse(buffer.AsSpan(0, length));
                        if (reply.Rcode != DnsRcode.NoError || reply.Answers.Count == 0)
                        {
                            Violation($"the demo cluster is not served: {reply}", query);
                        }
                        return;
                    }
                }
            }
            catch (SocketException exception) when (exception.SocketErrorCode == SocketError.TimedOut)
            {
            }
        }
        Violation("no answer to kubernetes.default.svc.cluster.local A", query);
    }

    private void UdpBatch(Socket udp)
    {
        var batchStart = _sequence;
        for (var i = 0; i < _options.BatchSize; i++)
        {
            var length = NextPacket(out var id);
            udp.Send(_buffer.AsSpan(0, length));
            _udp++;
            _ = id;
        }
        var probeId = (ushort)(ProbeFlag | (_sequence & 0x7FFF));
        var probe = DnsMessage.CreateQuery("kubernetes.default.svc.cluster.local.", DnsType.A, id: probeId, ednsSize: 1232).ToArray();
        var reply = new byte[65535];
        var answered = false;
        for (var attempt = 0; attempt < 3 && !answered; attempt++)
        {
            udp.Send(probe);
            try
            {
                while (!answered)
                {
                    var length = udp.Receive(reply);
                    answered = HandleReply(reply.AsSpan(0, length), probeId, udp: true);
                }
            }
            catch (SocketException exception) when (exception.SocketErrorCode is SocketError.TimedOut or SocketError.ConnectionRefused)
            {
            }
        }
        if (!answered)
        {
            Violation("the server stopped answering a plain UDP query after a batch", probe);
        }
        else
        {
            _probes++;
        }
        // Anything not answered by the time the probe came back counts as dropped (a late reply is still checked).
        for (var s = batchStart; s < _sequence; s++)
        {
            ref var sent = ref _sent[s & 0x7FFF];
            if (sent.Live && sent.Replies == 0)
            {
                _drops++;
            }
        }
    }

    /// <summary>Mutates a seed into <see cref="_buffer"/>, stamps a fresh id and records what the server should do.</summary>
    private int NextPacket(out ushort id)
    {
        var parent = _seeds[_random.Next(_seeds.Count)];
        var length = _random.Next(16) == 0 ? Math.Min(parent.Length, 4096) : _mutator.Mutate(parent, _buffer, dnsAware: true, text: false);
        if (length == parent.Length && _random.Next(16) == 0)
        {
            parent.AsSpan(0, length).CopyTo(_buffer);
        }
        id = (ushort)(_sequence++ & 0x7FFF);
        if (length >= 2)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer, id);
        }
        var packet = _buffer.AsSpan(0, length);
        var disposition = DnsQueryParser.Parse(packet, _name, out var info);
        _sent[id] = new Sent { Disposition = length < 2 ? QueryDisposition.Drop : disposition, HasOpt = info.HasOpt, UdpSize = info.UdpPayloadSize, Live = length >= 2, Packet = packet.ToArray() };
        return length;
    }

    /// <summary>Checks one reply; true when it is the reply to <paramref name="probeId"/>.</summary>
    private bool HandleReply(ReadOnlySpan<byte> reply, ushort probeId, bool udp)
    {
        if (reply.Length < DnsHeader.Size)
        {
            Violation($"a {reply.Length}-octet reply", reply.ToArray());
            return false;
        }
        var id = BinaryPrimitives.ReadUInt16BigEndian(reply);
        if ((id & ProbeFlag) != 0)
        {
            return id == probeId;
        }
        _replies++;
        var rcode = reply[3] & 0xF;
        var name = ((DnsRcode)rcode).ToString().ToUpperInvariant();
        _rcodes[name] = _rcodes.GetValueOrDefault(name) + 1;
        ref var sent = ref _sent[id];
        sent.Replies++;
        if (!sent.Live || sent.Disposition == QueryDisposition.Drop)
        {
            Violation($"reply ({name}) to a packet that must be dropped (QR=1 or no header)", sent.Packet ?? reply.ToArray());
            return false;
        }
        if (sent.Replies > 1)
        {
            Violation("two replies to one query", sent.Packet ?? reply.ToArray());
        }
        if ((reply[2] & 0x80) == 0)
        {
            Violation("reply without QR", sent.Packet ?? reply.ToArray());
        }
        if (udp)
        {
            var limit = sent.HasOpt ? Math.Max(sent.UdpSize, (ushort)512) : 512;
            if (reply.Length > limit)
            {
                Violation($"{reply.Length}-octet UDP reply to a query allowing {limit}", sent.Packet ?? reply.ToArray());
            }
        }
        var expected = sent.Disposition switch
        {
            QueryDisposition.FormErr => (int)DnsRcode.FormErr,
            QueryDisposition.NotImp => (int)DnsRcode.NotImp,
            _ => -1,
        };
        if (expected >= 0 && rcode != expected)
        {
            Violation($"{name} to a query the parser classifies {sent.Disposition}", sent.Packet ?? reply.ToArray());
        }
        if (!DnsMessage.TryParse(reply, out _, out var error))
        {
            Violation($"reply does not parse ({error})", sent.Packet ?? reply.ToArray());
        }
        return false;
    }

    private async Task TcpRoundAsync(IPEndPoint endpoint)
    {
        // 1. Pipelined fuzzed frames, then a probe frame on the same connection.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(endpoint);
            var stream = client.GetStream();
            var frames = new MemoryStream();
            var count = _random.Next(1, 9);
            for (var i = 0; i < count; i++)
            {
                var length = NextPacket(out _);
                var prefix = new byte[2];
                BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)length);
                frames.Write(prefix);
                frames.Write(_buffer, 0, length);
                _tcp++;
            }
            var probeId = (ushort)(ProbeFlag | (_sequence & 0x7FFF));
            var probe = DnsMessage.CreateQuery("kubernetes.default.svc.cluster.local.", DnsType.SRV, id: probeId).ToArray();
            var probeFrame = new byte[probe.Length + 2];
            BinaryPrimitives.WriteUInt16BigEndian(probeFrame, (ushort)probe.Length);
            probe.CopyTo(probeFrame, 2);
            frames.Write(probeFrame);
            await stream.WriteAsync(frames.ToArray());
            while (await ReadFrameAsync(stream) is { } reply)
            {
                if (HandleReply(reply, probeId, udp: false))
                {
                    break;
                }
            }
        }

        // 2. Garbage connections: bad lengths, partial frames, random bytes, several at once.
        var garbage = new List<TcpClient>();
        var connections = _random.Next(1, 24);
        for (var i = 0; i < connections; i++)
        {
            var client = new TcpClient();
            garbage.Add(client);
            try
            {
                await client.ConnectAsync(endpoint);
                await client.GetStream().WriteAsync(GarbageFrame());
            }
            catch (Exception exception) when (exception is SocketException or IOException)
            {
                // The server may close a connection at once (at its cap, or on a zero-length frame): fine.
            }
            _garbage++;
        }
        foreach (var client in garbage)
        {
            if (_random.Next(2) == 0)
            {
                client.Client.LingerState = new LingerOption(true, 0); // reset instead of FIN
            }
            client.Dispose();
        }

        // 3. A fresh connection still gets an answer.
        if (!await TcpProbeAsync(endpoint))
        {
            Violation("the server stopped answering a plain TCP query after garbage connections", []);
        }
    }

    private byte[] GarbageFrame()
    {
        var length = NextPacket(out _);
        var frame = new byte[length + 2];
        _buffer.AsSpan(0, length).CopyTo(frame.AsSpan(2));
        switch (_random.Next(6))
        {
            case 0:
                return [0, 0]; // zero-length frame
            case 1:
                BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)(length + _random.Next(1, 2000))); // announced longer than sent
                return frame;
            case 2:
                BinaryPrimitives.WriteUInt16BigEndian(frame, 0xFFFF);
                return frame;
            case 3:
                return [(byte)_random.Next(256)]; // half a length prefix
            case 4:
                _random.NextBytes(frame);
                return frame;
            default:
                BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)Math.Max(0, length - _random.Next(1, 12))); // shorter: the rest is a bad next frame
                return frame;
        }
    }

    private async Task<bool> TcpProbeAsync(IPEndPoint endpoint)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(endpoint);
                var query = DnsMessage.CreateQuery("kube-dns.kube-system.svc.cluster.local.", DnsType.A, id: 0xFFFE).ToArray();
                var frame = new byte[query.Length + 2];
                BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)query.Length);
                query.CopyTo(frame, 2);
                await client.GetStream().WriteAsync(frame);
                if (await ReadFrameAsync(client.GetStream()) is { } reply && reply.Length >= 2 && BinaryPrimitives.ReadUInt16BigEndian(reply) == 0xFFFE)
                {
                    _probes++;
                    return true;
                }
            }
            catch (Exception exception) when (exception is SocketException or IOException)
            {
            }
        }
        return false;
    }

    private static async Task<byte[]?> ReadFrameAsync(Stream stream)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        try
        {
            var prefix = new byte[2];
            await stream.ReadExactlyAsync(prefix, cts.Token);
            var reply = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
            await stream.ReadExactlyAsync(reply, cts.Token);
            return reply;
        }
        catch (Exception exception) when (exception is EndOfStreamException or OperationCanceledException or IOException or SocketException)
        {
            return null;
        }
    }

    private void Violation(string message, byte[] input)
    {
        _violations.Add(message);
        _options.Log?.WriteLine($"[server] {message}");
        if (_options.CrashDirectory is { } directory && input.Length > 0)
        {
            Directory.CreateDirectory(directory);
            var path = Path.Combine(directory, $"server-{_violations.Count}.bin");
            File.WriteAllBytes(path, input);
            File.WriteAllText(Path.ChangeExtension(path, ".txt"), message + Environment.NewLine);
        }
    }
}
