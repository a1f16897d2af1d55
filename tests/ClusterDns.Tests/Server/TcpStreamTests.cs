using System.Buffers.Binary;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Server;

/// <summary>The TCP listener reads a connection as a stream: frames are found wherever the client's writes cut them.</summary>
public sealed class TcpStreamTests
{
    private const string Whoami = ".:0 {\n    whoami\n}\n";

    public static TheoryData<string, int[]> Cuts => new()
    {
        { "all in one write", [int.MaxValue] },
        { "one octet per write", [1] },
        { "cuts inside length prefixes and bodies", [1, 2, 3, 5, 7, 11, 13, 17, 19, 23] },
        { "large writes cut mid-frame", [1000, 777, 4096] },
    };

    [Theory]
    [MemberData(nameof(Cuts))]
    public async Task Pipelined_queries_are_all_answered_however_the_stream_is_cut(string shape, int[] cuts)
    {
        _ = shape;
        const int queries = 120;
        await using var server = await TestDnsServer.StartAsync(Whoami);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Endpoint);
        var stream = client.GetStream();
        var bytes = new List<byte>();
        for (var i = 0; i < queries; i++)
        {
            var query = DnsMessage.CreateQuery($"q{i}.example.", DnsType.A, id: (ushort)(1000 + i)).ToArray();
            bytes.Add((byte)(query.Length >> 8));
            bytes.Add((byte)query.Length);
            bytes.AddRange(query);
        }
        var all = bytes.ToArray();
        var writer = Task.Run(async () =>
        {
            var offset = 0;
            for (var i = 0; offset < all.Length; i++)
            {
                var size = Math.Min(cuts[i % cuts.Length], all.Length - offset);
                await stream.WriteAsync(all.AsMemory(offset, size));
                offset += size;
                if (cuts.Length > 1 || cuts[0] == 1)
                {
                    await Task.Yield();
                }
            }
        });
        var ids = new HashSet<int>();
        for (var i = 0; i < queries; i++)
        {
            var frame = await TestDnsServer.ReadFrameAsync(stream, TimeSpan.FromSeconds(20));
            Assert.True(frame is not null, $"answer {i + 1} of {queries} missing");
            var reply = DnsMessage.Parse(frame);
            Assert.Equal((byte)DnsRcode.NoError, reply.Header.Rcode);
            Assert.True(ids.Add(reply.Header.Id), $"id {reply.Header.Id} answered twice");
        }
        await writer;
        Assert.Equal(Enumerable.Range(1000, queries).ToHashSet(), ids);
    }

    [Fact]
    public async Task A_frame_larger_than_the_receive_buffer_is_read_whole_and_the_stream_stays_in_step()
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Endpoint);
        var stream = client.GetStream();
        // A query whose OPT carries 40,000 octets of EDNS padding (option 12): larger than the listener's 16 KiB buffer.
        var query = DnsMessage.CreateQuery("big.example.", DnsType.A, id: 77).ToArray();
        const int padding = 40_000;
        var message = new byte[query.Length + 11 + 4 + padding];
        query.CopyTo(message, 0);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(10), 1); // ARCOUNT
        var opt = message.AsSpan(query.Length);
        opt[0] = 0; // root owner
        BinaryPrimitives.WriteUInt16BigEndian(opt[1..], 41); // OPT
        BinaryPrimitives.WriteUInt16BigEndian(opt[3..], 1232); // UDP size
        BinaryPrimitives.WriteUInt16BigEndian(opt[9..], 4 + padding); // RDLENGTH
        BinaryPrimitives.WriteUInt16BigEndian(opt[11..], 12); // PADDING
        BinaryPrimitives.WriteUInt16BigEndian(opt[13..], padding);
        await TransportTests.WriteFrameAsync(stream, message);
        await TransportTests.WriteFrameAsync(stream, DnsMessage.CreateQuery("small.example.", DnsType.A, id: 78).ToArray());
        var first = await TestDnsServer.ReadFrameAsync(stream, TimeSpan.FromSeconds(20));
        var second = await TestDnsServer.ReadFrameAsync(stream, TimeSpan.FromSeconds(20));
        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Equal([77, 78], new[] { DnsMessage.Parse(first).Header.Id, DnsMessage.Parse(second).Header.Id }.Order().Select(id => (int)id));
        Assert.Equal((byte)DnsRcode.NoError, DnsMessage.Parse(first).Header.Rcode);
    }
    [Fact]
    public async Task Many_connections_with_one_query_at_a_time_are_all_answered_in_order()
    {
        // CoreDNS forward's force_tcp shape: each connection waits for its answer before the next query (on Linux the
        // connections are woken by the TCP event loop, edge-triggered, and answered there).
        const int connections = 24;
        const int perConnection = 40;
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var clients = Enumerable.Range(0, connections).Select(async c =>
        {
            using var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(server.Endpoint);
            var stream = client.GetStream();
            for (var i = 0; i < perConnection; i++)
            {
                var id = (ushort)(c * 100 + i);
                var query = DnsMessage.CreateQuery($"c{c}-q{i}.example.", DnsType.A, id: id).ToArray();
                var frame = new byte[query.Length + 2];
                BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)query.Length);
                query.CopyTo(frame, 2);
                await stream.WriteAsync(frame);
                var reply = await TestDnsServer.ReadFrameAsync(stream, TimeSpan.FromSeconds(20));
                Assert.True(reply is not null, $"connection {c}: answer {i + 1} of {perConnection} missing");
                Assert.Equal(id, DnsMessage.Parse(reply).Header.Id);
            }
        });
        await Task.WhenAll(clients);
    }
}
