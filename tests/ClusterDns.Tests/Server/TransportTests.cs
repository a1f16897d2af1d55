using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Logging;
using ClusterDns.Protocol;
using ClusterDns.Server;
using ClusterDns.Tests.TestSupport;
using DnsClient;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Tests.Server;

/// <summary>UDP and TCP as real clients use them: dig, kdig, DnsClient.NET and hand-framed TCP.</summary>
public sealed class TransportTests
{
    private const string Whoami = ".:0 {\n    whoami\n}\n";

    [Theory]
    [InlineData("dig", false)]
    [InlineData("dig", true)]
    [InlineData("kdig", false)]
    [InlineData("kdig", true)]
    public async Task Whoami_answers_dig_and_kdig_over_udp_and_tcp(string tool, bool tcp)
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        string[] args = ["example.org.", "A", tcp ? "+tcp" : "+notcp"];
        var output = tool == "dig" ? await ServerTestKit.DigAsync(server.Port, args) : await ServerTestKit.KdigAsync(server.Port, args);
        Assert.Equal("NOERROR", output.Status);
        Assert.Contains("aa", output.Flags);
        Assert.Contains("qr", output.Flags);
        Assert.Empty(output.Answers);
        var additionals = output.Additionals;
        Assert.Contains(additionals, line => line.StartsWith("example.org.", StringComparison.Ordinal) && line.EndsWith("127.0.0.1", StringComparison.Ordinal));
        var srvOwner = tcp ? "_tcp.example.org." : "_udp.example.org.";
        Assert.Contains(additionals, line => line.StartsWith(srvOwner, StringComparison.Ordinal) && line.Contains("SRV", StringComparison.Ordinal));
        Assert.Contains(tcp ? "(TCP)" : "(UDP)", output.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Whoami_answers_DnsClient(bool tcpOnly)
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var client = ServerTestKit.Lookup(server.Port, tcpOnly);
        var response = await client.QueryAsync("example.org", QueryType.A);
        Assert.False(response.HasError, response.ErrorMessage);
        Assert.True(response.Header.HasAuthorityAnswer);
        var a = Assert.Single(response.Additionals.ARecords());
        Assert.Equal(IPAddress.Loopback, a.Address);
        var srv = Assert.Single(response.Additionals.SrvRecords());
        Assert.Equal(tcpOnly ? "_tcp.example.org." : "_udp.example.org.", srv.DomainName.Value);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Ipv6_client_of_the_dual_stack_listener_is_seen_as_ipv6(bool tcp)
    {
        await using var server = await TestDnsServer.StartAsync(Whoami);
        var output = await ServerTestKit.RunAsync("dig", ["@::1", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "+tries=1", "+time=3", tcp ? "+tcp" : "+notcp", "example.org.", "A"]);
        var dig = new DigOutput(output.Stdout);
        Assert.Equal("NOERROR", dig.Status);
        Assert.Contains(dig.Additionals, line => line.Contains("AAAA", StringComparison.Ordinal) && line.EndsWith("::1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task At_the_tcp_cap_a_new_connection_replaces_the_longest_idle_one()
    {
        await using var server = await StartWithListenerOptionsAsync(Whoami, new ListenerOptions { MaxTcpConnections = 2 });
        using var first = await ConnectAndAskAsync(server.Endpoint, IPAddress.Loopback);
        await Task.Delay(50);
        using var second = await ConnectAndAskAsync(server.Endpoint, IPAddress.Loopback);
        // Both idle: the newcomer is served and the one idle longest (first) is closed for it.
        using var third = await ConnectAndAskAsync(server.Endpoint, IPAddress.Loopback);
        Assert.True(await IsClosedAsync(first), "the longest-idle connection was not closed");
        await WriteFrameAsync(second.GetStream(), DnsMessage.CreateQuery("example.org.", DnsType.A, id: 2).ToArray());
        Assert.NotNull(await TestDnsServer.ReadFrameAsync(second.GetStream()));
    }

    [Fact]
    public async Task At_the_tcp_cap_with_every_connection_busy_a_new_one_is_closed_at_once()
    {
        var plugins = TestPlugins.With(new PluginDescriptor("erratic", _ => [new DelayPlugin(TimeSpan.FromSeconds(3))]));
        await using var server = await StartWithListenerOptionsAsync(".:0 {\n    erratic\n}\n", new ListenerOptions { MaxTcpConnections = 2 }, plugins);
        using var first = new TcpClient();
        using var second = new TcpClient();
        foreach (var client in new[] { first, second })
        {
            await client.ConnectAsync(server.Endpoint);
            await WriteFrameAsync(client.GetStream(), DnsMessage.CreateQuery("slow.example.", DnsType.TXT, id: 1).ToArray());
        }
        await Task.Delay(300); // both queries are being answered
        using var third = new TcpClient();
        await third.ConnectAsync(server.Endpoint); // the kernel accepts; the server closes it
        Assert.True(await IsClosedAsync(third), "a connection beyond the cap was kept while every slot was busy");
        // The busy ones are not cut: their answers arrive.
        foreach (var client in new[] { first, second })
        {
            Assert.NotNull(await TestDnsServer.ReadFrameAsync(client.GetStream()));
        }
    }

    [Fact]
    public async Task One_client_address_cannot_hold_more_than_its_share_of_tcp_connections()
    {
        await using var server = await StartWithListenerOptionsAsync(Whoami, new ListenerOptions { MaxTcpConnections = 10, MaxTcpConnectionsPerClient = 3 });
        var noisy = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                noisy.Add(await ConnectAndAskAsync(server.Endpoint, IPAddress.Loopback));
            }
            using var fourth = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
            await fourth.ConnectAsync(server.Endpoint);
            Assert.True(await IsClosedAsync(fourth), "a fourth connection from the same address was kept");
            using var other = await ConnectAndAskAsync(server.Endpoint, IPAddress.Parse("127.0.0.2")); // another client is served
            foreach (var client in noisy)
            {
                await WriteFrameAsync(client.GetStream(), DnsMessage.CreateQuery("example.org.", DnsType.A, id: 3).ToArray());
                Assert.NotNull(await TestDnsServer.ReadFrameAsync(client.GetStream())); // and the noisy one's own are intact
            }
        }
        finally
        {
            noisy.ForEach(client => client.Dispose());
        }
    }

    [Fact]
    public async Task A_thousand_idle_and_chatty_connections_from_one_client_lock_no_one_else_out()
    {
        // The probe that found the lockout: 1,100 connections from one address, some idle and some sending a query
        // every second, with default limits; 28 TCP queries from other addresses (dig) must all be answered meanwhile.
        await using var server = await StartWithListenerOptionsAsync(Whoami, new ListenerOptions());
        var noisy = new List<TcpClient>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            for (var i = 0; i < 1100; i++)
            {
                var client = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
                noisy.Add(client);
                await client.ConnectAsync(server.Endpoint);
            }
            var chatter = Task.Run(async () =>
            {
                var query = DnsMessage.CreateQuery("noisy.example.", DnsType.A, id: 9).ToArray();
                while (!stop.IsCancellationRequested)
                {
                    for (var i = 0; i < noisy.Count; i += 2)
                    {
                        try
                        {
                            await WriteFrameAsync(noisy[i].GetStream(), query);
                        }
                        catch (Exception exception) when (exception is IOException or InvalidOperationException or ObjectDisposedException)
                        {
                            // closed by the server: expected for most of them
                        }
                    }
                    await Task.Delay(1000, stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            });
            var answered = 0;
            for (var i = 0; i < 28; i++)
            {
                var source = $"127.0.0.{2 + (i % 7)}";
                var output = await ServerTestKit.RunAsync("dig", ["@127.0.0.1", "-p", server.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "-b", source, "+tcp", "+tries=1", "+time=2", "example.org.", "A"]);
                answered += new DigOutput(output.Stdout).Status == "NOERROR" ? 1 : 0;
            }
            stop.Cancel();
            await chatter;
            Assert.Equal(28, answered);
        }
        finally
        {
            noisy.ForEach(client => client.Dispose());
        }
    }

    private static async Task<TcpClient> ConnectAndAskAsync(IPEndPoint server, IPAddress source)
    {
        var client = new TcpClient(new IPEndPoint(source, 0));
        await client.ConnectAsync(server);
        await WriteFrameAsync(client.GetStream(), DnsMessage.CreateQuery("example.org.", DnsType.A, id: 1).ToArray());
        Assert.NotNull(await TestDnsServer.ReadFrameAsync(client.GetStream()));
        return client;
    }

    /// <summary>True once the server has closed the connection (EOF or reset) within a few seconds.</summary>
    private static async Task<bool> IsClosedAsync(TcpClient client)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            return await client.GetStream().ReadAsync(new byte[1], deadline.Token) == 0;
        }
        catch (IOException)
        {
            return true; // reset instead of FIN: closed all the same
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Pipelined_tcp_queries_are_answered_as_they_complete()
    {
        var plugins = TestPlugins.With(new PluginDescriptor("erratic", _ => [new DelayPlugin(TimeSpan.FromMilliseconds(700))]));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    erratic\n}\n", plugins: plugins);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Endpoint);
        var stream = client.GetStream();
        string[] names = ["slow1.example.", "fast1.example.", "slow2.example.", "fast2.example.", "fast3.example."];
        var frames = new List<byte>();
        for (var i = 0; i < names.Length; i++)
        {
            var query = DnsMessage.CreateQuery(names[i], DnsType.TXT, id: (ushort)(100 + i)).ToArray();
            frames.Add((byte)(query.Length >> 8));
            frames.Add((byte)query.Length);
            frames.AddRange(query);
        }
        var stopwatch = Stopwatch.StartNew();
        await stream.WriteAsync(frames.ToArray()); // all five in one segment: true pipelining
        var order = new List<string>();
        for (var i = 0; i < names.Length; i++)
        {
            var frame = await TestDnsServer.ReadFrameAsync(stream);
            Assert.NotNull(frame);
            var reply = DnsMessage.Parse(frame);
            var txt = Assert.IsType<TxtRecord>(Assert.Single(reply.Answers));
            Assert.Equal(names[reply.Header.Id - 100], txt.Strings[0]);
            order.Add(txt.Strings[0]);
        }
        stopwatch.Stop();
        // The fast ones did not wait behind slow1, and the two slow ones were delayed concurrently, not one after the other.
        Assert.Equal(["fast1.example.", "fast2.example.", "fast3.example."], order.Take(3));
        Assert.Equal(["slow1.example.", "slow2.example."], order.Skip(3).Order());
        Assert.True(stopwatch.Elapsed < TimeSpan.FromMilliseconds(1400 * 2), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Tcp_connection_serves_many_queries_then_closes_when_idle()
    {
        await using var server = await StartWithListenerOptionsAsync(Whoami, new ListenerOptions { TcpIdleTimeout = TimeSpan.FromMilliseconds(600) });
        using var client = new TcpClient();
        await client.ConnectAsync(server.Endpoint);
        var stream = client.GetStream();
        for (var i = 0; i < 3; i++)
        {
            await WriteFrameAsync(stream, DnsMessage.CreateQuery("example.org.", DnsType.A, id: (ushort)(7 + i)).ToArray());
            var reply = await TestDnsServer.ReadFrameAsync(stream);
            Assert.NotNull(reply);
            Assert.Equal(7 + i, DnsMessage.Parse(reply).Header.Id);
        }
        var idle = Stopwatch.StartNew();
        var buffer = new byte[1];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var read = await stream.ReadAsync(buffer, deadline.Token); // EOF when the server closes
        idle.Stop();
        Assert.Equal(0, read);
        Assert.True(idle.Elapsed >= TimeSpan.FromMilliseconds(450), $"closed after {idle.Elapsed}, before the idle timeout");
    }

    [Fact]
    public async Task Tcp_connection_with_a_stalled_frame_is_closed_after_the_read_timeout()
    {
        await using var server = await StartWithListenerOptionsAsync(Whoami,
            new ListenerOptions { TcpReadTimeout = TimeSpan.FromMilliseconds(400), TcpIdleTimeout = TimeSpan.FromSeconds(30) });
        using var client = new TcpClient();
        await client.ConnectAsync(server.Endpoint);
        var stream = client.GetStream();
        await stream.WriteAsync(new byte[] { 0, 40, 1, 2, 3 }); // announces 40 octets, sends 3
        var stopwatch = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var read = await stream.ReadAsync(new byte[1], deadline.Token);
        Assert.Equal(0, read);
        // Closed because of the read timeout, not held until the in-flight bookkeeping gives up.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(3), $"closed after {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Tcp_client_that_pipelines_and_never_reads_is_closed_after_the_write_timeout()
    {
        // 200 answers of ~64 KB (13 MB) overflow every socket buffer on the way: the server's sends block.
        var plugins = TestPlugins.With(new PluginDescriptor("file", _ => [new ManyAPlugin(3_900)]));
        await using var server = await StartWithListenerOptionsAsync(".:0 {\n    file\n}\n",
            new ListenerOptions { TcpWriteTimeout = TimeSpan.FromMilliseconds(500), TcpIdleTimeout = TimeSpan.FromSeconds(60) }, plugins);
        using var stuck = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await stuck.ConnectAsync(server.Endpoint);
        using var stuckStream = new NetworkStream(stuck, ownsSocket: false);
        for (var i = 0; i < 200; i++)
        {
            await WriteFrameAsync(stuckStream, DnsMessage.CreateQuery("big.example.", DnsType.A, id: (ushort)i).ToArray());
        }
        await Task.Delay(TimeSpan.FromSeconds(2)); // not reading: the server's writes time out and it closes

        // Draining now finds the stream ended early — without the timeout all 200 answers would come, then nothing
        // until the 60 s idle timeout.
        var frames = 0;
        var ended = false;
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15)))
        {
            try
            {
                while (await ReadFrameAsync(stuckStream, deadline.Token) is not null)
                {
                    frames++;
                }
                ended = true;
            }
            catch (IOException)
            {
                ended = true; // reset by the server's close
            }
            catch (OperationCanceledException)
            {
            }
        }
        Assert.True(ended, $"still open after {frames} answers");
        Assert.True(frames < 200, "every answer arrived: the server never gave up on the client");

        // The listener keeps serving everyone else.
        using var other = new TcpClient();
        await other.ConnectAsync(server.Endpoint);
        var otherStream = other.GetStream();
        await WriteFrameAsync(otherStream, DnsMessage.CreateQuery("big.example.", DnsType.A, id: 4242).ToArray());
        Assert.Equal(4242, DnsMessage.Parse((await TestDnsServer.ReadFrameAsync(otherStream))!).Header.Id);
    }

    /// <summary>One length-prefixed frame, null at end of stream.</summary>
    private static async Task<byte[]?> ReadFrameAsync(Stream stream, CancellationToken cancellationToken)
    {
        var prefix = new byte[2];
        if (!await ReadAllAsync(stream, prefix, cancellationToken))
        {
            return null;
        }
        var frame = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        return await ReadAllAsync(stream, frame, cancellationToken) ? frame : null;
    }

    private static async Task<bool> ReadAllAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var count = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (count == 0)
            {
                return false;
            }
            read += count;
        }
        return true;
    }

    [Fact]
    public async Task Tcp_half_closed_client_still_gets_its_pipelined_answers()
    {
        var plugins = TestPlugins.With(new PluginDescriptor("erratic", _ => [new DelayPlugin(TimeSpan.FromMilliseconds(300))]));
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    erratic\n}\n", plugins: plugins);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.Endpoint);
        using var stream = new NetworkStream(socket, ownsSocket: false);
        await WriteFrameAsync(stream, DnsMessage.CreateQuery("slow.example.", DnsType.TXT, id: 1).ToArray());
        await WriteFrameAsync(stream, DnsMessage.CreateQuery("fast.example.", DnsType.TXT, id: 2).ToArray());
        socket.Shutdown(SocketShutdown.Send);
        var ids = new List<int>();
        for (var i = 0; i < 2; i++)
        {
            var frame = await TestDnsServer.ReadFrameAsync(stream);
            Assert.NotNull(frame);
            ids.Add(DnsMessage.Parse(frame).Header.Id);
        }
        Assert.Equal([2, 1], ids);
    }

    internal static async Task WriteFrameAsync(Stream stream, byte[] message)
    {
        var frame = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)message.Length);
        message.CopyTo(frame, 2);
        await stream.WriteAsync(frame);
    }

    /// <summary>A server like <see cref="TestDnsServer"/>, with socket options Corefiles cannot set (short TCP timeouts).</summary>
    private static async Task<OwnServer> StartWithListenerOptionsAsync(string corefile, ListenerOptions listenerOptions,
        IReadOnlyDictionary<string, PluginDescriptor>? plugins = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "Corefile");
        await File.WriteAllTextAsync(path, corefile);
        var loggerFactory = LoggerFactory.Create(builder => builder.ClearProviders().AddProvider(new CoreDnsLoggerProvider(TextWriter.Null)));
        var app = new ClusterDnsApp(new AppOptions
        {
            Conf = path,
            Quiet = true,
            WorkingDirectory = directory,
            Listener = listenerOptions,
            Plugins = plugins ?? ClusterDns.Plugins.BuiltinPlugins.All,
        }, loggerFactory);
        await app.StartAsync();
        return new OwnServer(app, loggerFactory, directory);
    }

    private sealed class OwnServer(ClusterDnsApp app, ILoggerFactory loggerFactory, string directory) : IAsyncDisposable
    {
        public IPEndPoint Endpoint => new(IPAddress.Loopback, app.Host.Endpoints.Values.Single().Port);

        public async ValueTask DisposeAsync()
        {
            await app.DisposeAsync();
            loggerFactory.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }
}
