using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Server;

/// <summary>What never reaches a plugin: NOTIMP, FORMERR, silent drops, garbage floods (raw sockets and dig).</summary>
public sealed class MalformedQueryTests
{
    private const string Whoami = ".:0 {\n    whoami\n}\n";

    private static readonly byte[] ExampleQuestion = ServerTestKit.Question("example.org.", DnsType.A);

    [Theory]
    [InlineData("status")]
    [InlineData("update")]
    [InlineData("3")]
    [InlineData("15")]
    public async Task Unknown_opcodes_get_notimp_from_dig(string opcode)
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var output = await ServerTestKit.DigAsync(server.Port, "example.org.", "A", $"+opcode={opcode}");
        Assert.Equal("NOTIMP", output.Status);
        Assert.Empty(output.Additionals); // whoami never ran
    }

    [Fact]
    public async Task Notify_opcode_reaches_the_chain()
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var reply = await UdpAsync(server, ServerTestKit.RawQuery(9, 0x2000 /* opcode 4 */, 1, 0, 0, 0, ExampleQuestion));
        Assert.NotNull(reply);
        Assert.Equal(DnsRcode.NoError, (DnsRcode)(reply[3] & 0xF));
        Assert.Equal(DnsOpcode.Notify, DnsMessage.Parse(reply).Header.Opcode);
    }

    public static TheoryData<string, byte[]> FormErrQueries => new()
    {
        { "qdcount 2", ServerTestKit.RawQuery(0x1234, 0x0100, 2, 0, 0, 0, ExampleQuestion, ExampleQuestion) },
        { "qdcount 0", ServerTestKit.RawQuery(0x1234, 0x0100, 0, 0, 0, 0) },
        { "ancount 2", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 2, 0, 0, ExampleQuestion) },
        { "arcount 3", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 3, ExampleQuestion) },
        { "pointer loop", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 0, [0xC0, 0x0C, 0, 1, 0, 1]) },
        { "pointer to itself via label", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 0, [3, (byte)'a', (byte)'b', (byte)'c', 0xC0, 0x0C, 0, 1, 0, 1]) },
        { "forward pointer", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 0, [0xC0, 0x20, 0, 1, 0, 1]) },
        { "label past the end", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 0, [40, (byte)'a', (byte)'b']) },
        { "question without type", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 0, [0]) },
        { "reserved label type 0x40", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 0, [0x41, (byte)'a', 0, 0, 1, 0, 1]) },
        { "arcount 1 but no record", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 1, ExampleQuestion) },
        { "name over 255 octets", ServerTestKit.RawQuery(0x1234, 0x0100, 1, 0, 0, 0, LongName(), [0, 1, 0, 1]) },
    };

    [Theory]
    [MemberData(nameof(FormErrQueries))]
    public async Task Malformed_queries_with_a_readable_header_get_formerr(string what, byte[] query)
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var formErrBefore = ServerCounters.FormErr;
        foreach (var tcp in new[] { false, true })
        {
            var reply = tcp ? await TestDnsServer.ExchangeTcpAsync(server.Endpoint, query) : await UdpAsync(server, query);
            Assert.True(reply is not null, $"{what}: no reply (tcp={tcp})");
            Assert.True(reply.Length >= 12, what);
            Assert.Equal(0x12, reply[0]);
            Assert.Equal(0x34, reply[1]);
            Assert.True((reply[2] & 0x80) != 0, "QR");
            Assert.Equal(DnsRcode.FormErr, (DnsRcode)(reply[3] & 0xF));
            // Nothing but (at most) the question: no answers, authorities or additionals.
            Assert.Equal(0, reply[6] | reply[7] | reply[8] | reply[9] | reply[10] | reply[11]);
        }
        Assert.True(ServerCounters.FormErr >= formErrBefore + 2);
    }

    [Fact]
    public async Task Dig_sees_formerr_for_two_questions()
    {
        // dig cannot send two questions; DnsClient.NET neither: the raw reply is checked with the codec instead.
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var reply = await UdpAsync(server, ServerTestKit.RawQuery(5, 0x0100, 2, 0, 0, 0, ExampleQuestion, ExampleQuestion));
        var message = DnsMessage.Parse(reply!);
        Assert.Equal(DnsRcode.FormErr, message.Rcode);
        Assert.Equal(5, message.Header.Id);
    }

    public static TheoryData<string, byte[]> DroppedDatagrams => new()
    {
        { "5 octets", [1, 2, 3, 4, 5] },
        { "11 octets", new byte[11] },
        { "empty", [] },
        { "response (QR=1)", ServerTestKit.RawQuery(0x4321, 0x8180, 1, 0, 0, 0, ExampleQuestion) },
        { "response with garbage", ServerTestKit.RawQuery(0x4321, 0x8000, 7, 7, 7, 7, [0xFF, 0xFF]) },
    };

    [Theory]
    [MemberData(nameof(DroppedDatagrams))]
    public async Task Unreadable_or_response_datagrams_are_dropped_silently(string what, byte[] datagram)
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var droppedBefore = ServerCounters.Dropped;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server.Endpoint);
        await socket.SendAsync(datagram, SocketFlags.None);
        // Then a good query from the same socket: the same SO_REUSEPORT socket and thread handle both, in order, so
        // the first datagram back must be the good query's answer if the bad one got none.
        var good = DnsMessage.CreateQuery("example.org.", DnsType.A, id: 0x0BAD + 1).ToArray();
        await socket.SendAsync(good, SocketFlags.None);
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var received = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
        var first = DnsMessage.Parse(buffer.AsSpan(0, received));
        Assert.True(first.Header.Id == 0x0BAD + 1, $"{what}: got a reply with id {first.Header.Id:x4} first");
        if (datagram.Length > 0)
        {
            Assert.True(ServerCounters.Dropped > droppedBefore, what);
        }
    }

    [Fact]
    public async Task Garbage_over_tcp_is_dropped_and_the_connection_keeps_serving()
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Endpoint);
        var stream = client.GetStream();
        await TransportTests.WriteFrameAsync(stream, [1, 2, 3, 4, 5]);
        await TransportTests.WriteFrameAsync(stream, ServerTestKit.RawQuery(1, 0x8180, 1, 0, 0, 0, ExampleQuestion));
        await TransportTests.WriteFrameAsync(stream, DnsMessage.CreateQuery("example.org.", DnsType.A, id: 99).ToArray());
        var reply = await TestDnsServer.ReadFrameAsync(stream);
        Assert.NotNull(reply);
        Assert.Equal(99, DnsMessage.Parse(reply).Header.Id);
    }

    [Fact]
    public async Task Flood_of_random_garbage_leaves_the_server_answering()
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var random = new Random(20_000);
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            socket.Connect(server.Endpoint);
            var buffer = new byte[600];
            for (var i = 0; i < 20_000; i++)
            {
                var length = random.Next(0, buffer.Length);
                random.NextBytes(buffer.AsSpan(0, length));
                if (i % 3 == 0 && length >= 12)
                {
                    buffer[2] &= 0x07; // QR=0, opcode QUERY: get past the first checks into the parser
                    buffer[4] = 0;
                    buffer[5] = 1;
                }
                try
                {
                    socket.Send(buffer.AsSpan(0, length));
                }
                catch (SocketException)
                {
                    // ICMP errors surfacing on a connected socket do not matter here
                }
            }
        }
        var output = await ServerTestKit.DigAsync(server.Port, "example.org.", "A");
        Assert.Equal("NOERROR", output.Status);
        Assert.Contains(output.Additionals, line => line.EndsWith("127.0.0.1", StringComparison.Ordinal));
        var tcp = await ServerTestKit.DigAsync(server.Port, "example.org.", "A", "+tcp");
        Assert.Equal("NOERROR", tcp.Status);
    }

    private static async Task<byte[]?> UdpAsync(TestDnsServer server, byte[] query) =>
        await TestDnsServer.ExchangeUdpAsync(new IPEndPoint(IPAddress.Loopback, server.Port), query);

    private static byte[] LongName()
    {
        var name = new List<byte>();
        for (var i = 0; i < 5; i++)
        {
            name.Add(60);
            name.AddRange(Enumerable.Repeat((byte)'a', 60));
        }
        name.Add(0);
        return [.. name];
    }
}
