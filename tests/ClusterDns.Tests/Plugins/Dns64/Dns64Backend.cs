using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Dns64;

/// <summary>What the backend answers for one name: its AAAA reply and its A reply (null = writes nothing and returns
/// SERVFAIL). Records are zone-file lines with "@" for the name.</summary>
public sealed record BackendReply(DnsRcode Rcode, string[] Answers, uint? SoaTtl = null, bool Truncated = false);

/// <summary>
/// The end of the chain in the dns64 tests (the <c>erratic</c> slot, after dns64): answers AAAA and A questions from a
/// table keyed by name, as CoreDNS's dns64_test.go fakes the next handler and the upstream, and counts the A
/// questions it gets (the lookups dns64 makes through the server).
/// </summary>
internal static class Dns64Backend
{
    private static readonly ConcurrentDictionary<string, (BackendReply? Aaaa, BackendReply? A)> Table = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, int> AQuestions = new(StringComparer.Ordinal);

    public static IReadOnlyDictionary<string, PluginDescriptor> Plugins { get; } =
        TestPlugins.With(TestPlugins.Plugin("erratic", (_, _) => new BackendPlugin()));

    public static void Set(string name, BackendReply? aaaa, BackendReply? a) => Table[name] = (aaaa, a);

    public static int AQuestionsFor(string name) => AQuestions.GetValueOrDefault(name);

    /// <summary>One UDP (or TCP) exchange with the server from <paramref name="from"/> (::1 or 127.0.0.1).</summary>
    public static async Task<DnsMessage> AskAsync(IPAddress from, int port, string name, DnsType type, bool tcp = false)
    {
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: 1232).ToArray();
        var server = new IPEndPoint(from, port);
        byte[]? bytes = null;
        for (var attempt = 0; attempt < 3 && bytes is null; attempt++)
        {
            bytes = tcp ? await TcpAsync(server, query) : await UdpAsync(server, query);
        }
        Assert.NotNull(bytes);
        return DnsMessage.Parse(bytes);
    }

    private static async Task<byte[]?> UdpAsync(IPEndPoint server, byte[] query)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.SendToAsync(query, SocketFlags.None, server);
        var buffer = new byte[65535];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var any = server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(any, 0), cts.Token);
            return buffer[..result.ReceivedBytes];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private static async Task<byte[]?> TcpAsync(IPEndPoint server, byte[] query)
    {
        using var client = new TcpClient(server.AddressFamily);
        await client.ConnectAsync(server);
        var stream = client.GetStream();
        var frame = new byte[query.Length + 2];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)query.Length);
        query.CopyTo(frame, 2);
        await stream.WriteAsync(frame);
        return await TestDnsServer.ReadFrameAsync(stream, TimeSpan.FromSeconds(5));
    }

    private sealed class BackendPlugin : DnsPlugin
    {
        public override string Name => "erratic";

        public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
        {
            if (!Table.TryGetValue(request.Name, out var entry) || request.Type is not (DnsType.A or DnsType.AAAA))
            {
                return NextAsync(request, cancellationToken);
            }
            if (request.Type == DnsType.A)
            {
                AQuestions.AddOrUpdate(request.Name, 1, (_, count) => count + 1);
            }
            var answer = request.Type == DnsType.A ? entry.A : entry.Aaaa;
            if (answer is null)
            {
                return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail, "backend: no reply"));
            }
            var reply = request.CreateReply(answer.Rcode, authoritative: true);
            reply.Header.Truncated = answer.Truncated;
            foreach (var line in answer.Answers)
            {
                reply.Answers.Add(ZoneText.ParseRecord(line.Replace("@", request.Name, StringComparison.Ordinal)));
            }
            if (answer.SoaTtl is { } ttl)
            {
                reply.Authorities.Add(ZoneText.ParseRecord($"dns64.test. {ttl} IN SOA ns.dns64.test. hostmaster.dns64.test. 1 7200 900 1209600 86400"));
            }
            request.Response.Write(reply, Name);
            return new ValueTask<DnsResult>(new DnsResult(answer.Rcode));
        }
    }
}
