using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Plugins.Timeouts;

/// <summary>The timeouts plugin: CoreDNS's options and errors, and each value honoured by the TCP listener.</summary>
public sealed class TimeoutsTests
{
    [Theory]
    [InlineData("timeouts", "Corefile:2 - Error during parsing: timeouts block with no timeouts or limits specified")]
    [InlineData("timeouts {\n    }", "Corefile:3 - Error during parsing: timeouts block with no timeouts or limits specified")]
    [InlineData("timeouts 5s", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after '5s'")]
    [InlineData("timeouts {\n        read\n    }", "Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'read'")]
    [InlineData("timeouts {\n        read 500ms\n    }", "Corefile:3 - Error during parsing: timeout provided '500ms' needs to be between 1 second and 24 hours")]
    [InlineData("timeouts {\n        idle 25h\n    }", "Corefile:3 - Error during parsing: timeout provided '25h0m0s' needs to be between 1 second and 24 hours")]
    [InlineData("timeouts {\n        write soon\n    }", "Corefile:3 - Error during parsing: failed to parse duration")]
    [InlineData("timeouts {\n        maxtcpqueries x\n    }", "Corefile:3 - Error during parsing: strconv.Atoi: parsing \"x\": invalid syntax")]
    [InlineData("timeouts {\n        maxtcpqueries 0\n    }", "Corefile:3 - Error during parsing: maxtcpqueries must be a positive integer or -1 (unlimited)")]
    [InlineData("timeouts {\n        max_connections_per_client 0\n    }", "Corefile:3 - Error during parsing: max_connections_per_client must be a positive integer")]
    [InlineData("timeouts {\n        linger 5s\n    }", "Corefile:3 - Error during parsing: unknown option: 'linger'")]
    public async Task Bad_options_are_refused_with_coredns_text_and_line(string directive, string expected)
    {
        var message = await PluginTestSupport.SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n");
        Assert.EndsWith(expected, message, StringComparison.Ordinal);
        Assert.StartsWith("plugin/timeouts: ", message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read 10")] // bare integers are seconds
    [InlineData("write 1m")]
    [InlineData("idle 24h")]
    [InlineData("maxtcpqueries -1")]
    [InlineData("max_queries 128")]
    [InlineData("max_connections 10")]
    public void Good_options_build(string option) =>
        Assert.NotNull(PluginTestSupport.Build($".:0 {{\n    timeouts {{\n        {option}\n    }}\n    whoami\n}}\n"));

    [Fact]
    public async Task Idle_closes_a_quiet_connection_after_its_time_not_the_default_ten_seconds()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    timeouts {\n        idle 1s\n    }\n    whoami\n}\n");
        using var client = new TcpClient();
        await client.ConnectAsync(server.Endpoint);
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(8));
        var read = await client.GetStream().ReadAsync(new byte[1], deadline.Token);
        Assert.Equal(0, read);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.8, 5);
    }

    [Fact]
    public async Task Maxtcpqueries_closes_the_connection_after_that_many_answers()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    timeouts {\n        maxtcpqueries 2\n    }\n    whoami\n}\n");
        using var client = new TcpClient();
        await client.ConnectAsync(server.Endpoint);
        var stream = client.GetStream();
        for (var i = 1; i <= 2; i++)
        {
            await WriteFrameAsync(stream, DnsMessage.CreateQuery("example.org.", DnsType.A, id: (ushort)i).ToArray());
            var reply = await TestDnsServer.ReadFrameAsync(stream);
            Assert.True(reply is not null, $"answer {i} of 2 missing");
        }
        // The third query is not read: the server closes after the second answer.
        try
        {
            await WriteFrameAsync(stream, DnsMessage.CreateQuery("example.org.", DnsType.A, id: 3).ToArray());
        }
        catch (IOException)
        {
        }
        Assert.Null(await TestDnsServer.ReadFrameAsync(stream));
    }

    [Fact]
    public async Task Connection_limits_from_the_corefile_are_honoured()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    timeouts {\n        max_connections_per_client 1\n    }\n    whoami\n}\n");
        using var first = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await first.ConnectAsync(server.Endpoint);
        await WriteFrameAsync(first.GetStream(), DnsMessage.CreateQuery("example.org.", DnsType.A, id: 1).ToArray());
        Assert.NotNull(await TestDnsServer.ReadFrameAsync(first.GetStream()));
        using var second = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await second.ConnectAsync(server.Endpoint);
        Assert.Null(await TestDnsServer.ReadFrameAsync(second.GetStream(), TimeSpan.FromSeconds(3))); // closed: one per client
        using var other = new TcpClient(new IPEndPoint(IPAddress.Parse("127.0.0.3"), 0));
        await other.ConnectAsync(server.Endpoint);
        await WriteFrameAsync(other.GetStream(), DnsMessage.CreateQuery("example.org.", DnsType.A, id: 2).ToArray());
        Assert.NotNull(await TestDnsServer.ReadFrameAsync(other.GetStream()));
    }

    private static async Task WriteFrameAsync(Stream stream, byte[] query)
    {
        var frame = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)query.Length);
        query.CopyTo(frame, 2);
        await stream.WriteAsync(frame);
    }
}
