using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Benchmarks.Pipeline;

/// <summary>
/// A real server configuration without sockets: a Corefile (and the files it reads) written to a temporary directory,
/// built by <see cref="ClusterDnsApp.Load"/> and — with <see cref="StartAsync"/> — its lifecycles started, so queries go
/// through the same QueryProcessor, routes and plugins as UDP queries do. Shared by the pipeline benchmarks and the
/// allocation tests that guard them (tests/ClusterDns.Tests links this file), so both measure the same path.
/// </summary>
public sealed class InMemoryPipeline : IAsyncDisposable
{
    private readonly string _directory;
    private bool _started;

    private InMemoryPipeline(string directory, ServerConfig config)
    {
        _directory = directory;
        Config = config;
        Routes = config.Listeners.Single().Routes;
    }

    /// <summary>The built configuration (blocks, plugins, lifecycles).</summary>
    public ServerConfig Config { get; }

    /// <summary>The routes of the configuration's one listener.</summary>
    public ListenerRoutes Routes { get; }

    /// <summary>Writes <paramref name="corefile"/> and <paramref name="files"/> (name → text) to a new temporary
    /// directory and builds the configuration; nothing is started.</summary>
    public static InMemoryPipeline Load(string corefile, IReadOnlyDictionary<string, string>? files = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-pipeline-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        foreach (var (name, text) in files ?? new Dictionary<string, string>())
        {
            File.WriteAllText(Path.Combine(directory, name), text);
        }
        File.WriteAllText(Path.Combine(directory, "Corefile"), corefile);
        var app = new ClusterDnsApp(new AppOptions { Conf = Path.Combine(directory, "Corefile"), Quiet = true, WorkingDirectory = directory },
            NullLoggerFactory.Instance);
        return new InMemoryPipeline(directory, app.Load());
    }

    /// <summary><see cref="Load"/>, then starts every lifecycle (the kubernetes plugin loads its snapshot here).</summary>
    public static async Task<InMemoryPipeline> StartAsync(string corefile, IReadOnlyDictionary<string, string>? files = null)
    {
        var pipeline = Load(corefile, files);
        pipeline._started = true;
        foreach (var lifecycle in pipeline.Config.Lifecycles)
        {
            await lifecycle.StartAsync(CancellationToken.None).ConfigureAwait(false);
        }
        return pipeline;
    }

    /// <summary>A query as dnsperf writes it: id, RD, one question, optionally an OPT record (no EDNS by default).</summary>
    public static byte[] Query(string name, DnsType type, bool edns = false)
    {
        var message = new DnsMessage();
        message.Header.Id = 0x1234;
        message.Header.RecursionDesired = true;
        message.Questions.Add(new DnsQuestion(DnsName.Parse(name), type));
        if (edns)
        {
            message.Additionals.Add(OptRecord.Create(1232));
        }
        return message.ToArray();
    }

    /// <summary>Loads <paramref name="query"/> into <paramref name="request"/> as a socket receive does.</summary>
    public static QueryDisposition Receive(DnsRequest request, byte[] query)
    {
        query.CopyTo(request.QuerySpace(query.Length));
        return request.Prepare(query.Length, DnsTransport.Udp);
    }

    /// <summary>The whole in-memory pipeline on <paramref name="routes"/>: datagram bytes in, reply length out (0 when
    /// nothing is sent). Throws when the chain goes asynchronous: a locally answered query never does, and a benchmark
    /// or test that got there would measure the wrong thing.</summary>
    public static int Answer(DnsRequest request, byte[] query, ListenerRoutes routes)
    {
        var disposition = Receive(request, query);
        var pending = QueryProcessor.ProcessAsync(request, disposition, routes, NullLogger.Instance, CancellationToken.None);
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("the chain went asynchronous");
        }
        return request.Response.Written ? request.Response.Length : 0;
    }

    /// <summary><see cref="Answer(DnsRequest, byte[], ListenerRoutes)"/> on this configuration's routes.</summary>
    public int Answer(DnsRequest request, byte[] query) => Answer(request, query, Routes);

    public async ValueTask DisposeAsync()
    {
        if (_started)
        {
            foreach (var lifecycle in Config.Lifecycles)
            {
                await lifecycle.StopAsync().ConfigureAwait(false);
            }
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}
