using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Logging;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// A real ClusterDns server started in-process from Corefile text, on real sockets. Use port 0 in the Corefile
/// (<c>.:0 { ... }</c>) to get a free port; <see cref="Port"/> tells which. Log lines are captured in <see cref="Log"/>.
/// </summary>
public sealed class TestDnsServer : IAsyncDisposable
{
    private readonly StringWriterLog _log;
    private readonly ILoggerFactory _loggerFactory;

    private TestDnsServer(ClusterDnsApp app, StringWriterLog log, ILoggerFactory loggerFactory, string directory)
    {
        App = app;
        _log = log;
        _loggerFactory = loggerFactory;
        Directory = directory;
    }

    public ClusterDnsApp App { get; }

    /// <summary>Temporary directory holding the Corefile (and any files a test adds).</summary>
    public string Directory { get; }

    public string CorefilePath => Path.Combine(Directory, "Corefile");

    public int Port => Endpoint.Port;

    public IPEndPoint Endpoint
    {
        get
        {
            foreach (var endpoint in App.Host.Endpoints.Values)
            {
                return new IPEndPoint(IPAddress.Loopback, endpoint.Port);
            }
            throw new InvalidOperationException("no listener");
        }
    }

    /// <summary>Endpoint of a given listener, e.g. <c>dns://:0</c> is not stable, so look up by index order.</summary>
    public IReadOnlyDictionary<string, IPEndPoint> Endpoints => App.Host.Endpoints;

    public string Log => _log.Text;

    /// <summary>Waits until the (asynchronously written) log contains <paramref name="text"/>; false after the timeout.</summary>
    public async Task<bool> LogContainsAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(20);
        }
        return true;
    }

    /// <summary>Writes the Corefile (and extra files) to a fresh temp directory and starts the server.</summary>
    public static async Task<TestDnsServer> StartAsync(string corefile, IReadOnlyDictionary<string, string>? files = null,
        IReadOnlyDictionary<string, ClusterDns.Server.PluginDescriptor>? plugins = null, Action<ClusterDns.Server.ServiceHub>? configure = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-test-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"), corefile);
        if (files is not null)
        {
            foreach (var (name, content) in files)
            {
                var path = Path.Combine(directory, name);
                System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllTextAsync(path, content);
            }
        }
        var log = new StringWriterLog();
        var provider = new CoreDnsLoggerProvider(log);
        var loggerFactory = LoggerFactory.Create(builder => builder.ClearProviders().SetMinimumLevel(LogLevel.Trace).AddProvider(provider));
        var app = new ClusterDnsApp(new AppOptions
        {
            Conf = Path.Combine(directory, "Corefile"),
            Quiet = true,
            WorkingDirectory = directory,
            Plugins = plugins ?? ClusterDns.Plugins.BuiltinPlugins.All,
        }, loggerFactory);
        configure?.Invoke(app.Services);
        app.Services.SetMinimumLogLevel = level => provider.MinimumLevel = level;
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            loggerFactory.Dispose();
            throw;
        }
        return new TestDnsServer(app, log, loggerFactory, directory);
    }

    /// <summary>Sends <paramref name="query"/> over UDP and returns the raw reply (null on timeout).</summary>
    public Task<byte[]?> ExchangeUdpAsync(byte[] query, TimeSpan? timeout = null) => ExchangeUdpAsync(Endpoint, query, timeout);

    public static async Task<byte[]?> ExchangeUdpAsync(IPEndPoint endpoint, byte[] query, TimeSpan? timeout = null)
    {
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.SendToAsync(query, SocketFlags.None, endpoint);
        var buffer = new byte[65535];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(3));
        try
        {
            var any = endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            var result = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(any, 0), cts.Token);
            return buffer[..result.ReceivedBytes];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async Task<DnsMessage> QueryAsync(string name, DnsType type, bool tcp = false, ushort? ednsSize = 1232)
    {
        var query = DnsMessage.CreateQuery(name, type, id: (ushort)Random.Shared.Next(1, 65535), ednsSize: ednsSize).ToArray();
        var reply = tcp ? await ExchangeTcpAsync(Endpoint, query) : await ExchangeUdpAsync(query);
        Assert.NotNull(reply);
        return DnsMessage.Parse(reply);
    }

    /// <summary>Sends one framed query over a new TCP connection and reads one framed reply.</summary>
    public static async Task<byte[]?> ExchangeTcpAsync(IPEndPoint endpoint, byte[] query, TimeSpan? timeout = null)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        var stream = client.GetStream();
        var frame = new byte[query.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)query.Length);
        query.CopyTo(frame, 2);
        await stream.WriteAsync(frame);
        return await ReadFrameAsync(stream, timeout);
    }

    public static async Task<byte[]?> ReadFrameAsync(Stream stream, TimeSpan? timeout = null)
    {
        var prefix = new byte[2];
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            await stream.ReadExactlyAsync(prefix, cts.Token);
            var reply = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
            await stream.ReadExactlyAsync(reply, cts.Token);
            return reply;
        }
        catch (Exception exception) when (exception is EndOfStreamException or OperationCanceledException or IOException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        _loggerFactory.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A thread-safe text sink for the logger.</summary>
    private sealed class StringWriterLog : StringWriter
    {
        private readonly object _gate = new();

        public string Text
        {
            get
            {
                lock (_gate)
                {
                    return ToString();
                }
            }
        }

        public override Task WriteLineAsync(string? value)
        {
            lock (_gate)
            {
                base.WriteLine(value);
            }
            return Task.CompletedTask;
        }

        public override Task FlushAsync() => Task.CompletedTask;
    }
}
