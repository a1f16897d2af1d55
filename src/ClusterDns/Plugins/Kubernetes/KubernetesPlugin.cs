using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// The <c>kubernetes</c> handler: answers its zones from the cluster (docs/kubernetes-dns.md §5), falls through or passes on
/// everything else. Holds the current <see cref="KubernetesResolver"/> in a volatile field; the source's
/// Changed event builds a new one, so queries never lock.
/// </summary>
public sealed partial class KubernetesPlugin : DnsPlugin, IAsyncDisposable, IPluginLifecycle, IReadinessReporter, Transfer.ITransferSource, IMetadataProvider
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LogInterval = TimeSpan.FromMilliseconds(500);

    private readonly KubernetesOptions _options;
    private readonly IReadOnlyList<IPAddress> _localAddresses;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Lock _rebuildGate = new();
    private IClusterSource? _source;
    private KubernetesApiClient? _client; // owned here only when rate limits wrap it
    private bool _startupPending;
    private volatile KubernetesResolver _resolver;
    private KubernetesMetadata? _metadata;

    /// <param name="options">Parsed block.</param>
    /// <param name="localAddresses">Addresses the server is bound to (wildcards expand to interface addresses) for NS / <c>ns.dns</c>.</param>
    /// <param name="loggerFactory">Logging.</param>
    /// <param name="upstream">Resolves out-of-zone ExternalName targets through the server's chain (docs/kubernetes-dns.md §5.6); null: none.</param>
    /// <param name="source">Cluster data; null builds one from the options at <see cref="StartAsync"/>.</param>
    public KubernetesPlugin(KubernetesOptions options, IReadOnlyList<IPAddress> localAddresses, ILoggerFactory? loggerFactory = null,
        Func<DnsName, DnsType, CancellationToken, ValueTask<DnsMessage?>>? upstream = null, IClusterSource? source = null)
    {
        _options = options;
        _localAddresses = ExpandWildcards(localAddresses);
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger(KubernetesPluginLog.Category);
        Upstream = upstream;
        _source = source;
        if (source is not null)
        {
            source.Changed += OnChanged;
        }
        _resolver = new KubernetesResolver(options, source?.Current ?? ClusterState.Empty, source?.HasSynced ?? false, _localAddresses);
        foreach (var warning in options.Warnings)
        {
            _logger.ParseWarning(warning);
        }
    }

    public override string Name => "kubernetes";

    public KubernetesOptions Options => _options;

    /// <summary>Set by the server once its chain exists (the upstream resolves through it).</summary>
    public Func<DnsName, DnsType, CancellationToken, ValueTask<DnsMessage?>>? Upstream { get; set; }

    /// <summary>Preferred over <see cref="Upstream"/>: the chase carries the client's request (EDNS size, DO bit,
    /// transport, client address), as CoreDNS's <c>upstream.Lookup(ctx, state, …)</c> does.</summary>
    public Func<DnsRequest, DnsName, DnsType, CancellationToken, ValueTask<DnsMessage?>>? RequestUpstream { get; set; }

    /// <summary>Readiness (<c>ready</c> plugin): the source finished its first list.</summary>
    public bool IsReady => _source?.HasSynced ?? false;

    /// <summary>The cluster as last seen (for tools that explain answers; queries use the resolver).</summary>
    public ClusterState State => _source?.Current ?? ClusterState.Empty;

    public KubernetesResolver Resolver => _resolver;

    /// <summary>The bound addresses (wildcards expanded) the name-server records are derived from.</summary>
    public IReadOnlyList<IPAddress> LocalAddresses => _localAddresses;

    /// <summary>Zone transfer (docs/kubernetes-dns.md §9) from the current state: only the exact forward zone apexes.</summary>
    public IReadOnlyList<DnsRecord>? Transfer(DnsName zone, uint? ixfrSerial) => _resolver.Transfer(zone, ixfrSerial);

    /// <summary>Publishes the <c>kubernetes/*</c> metadata of this query (only called under a <c>metadata</c> directive).</summary>
    public void CollectMetadata(DnsRequest request) =>
        (_metadata ??= new KubernetesMetadata(_options)).Collect(request, _resolver, State);

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var resolver = _resolver;
        if (resolver.MatchZone(request.LowerNameWire) < 0)
        {
            return NextAsync(request, cancellationToken);
        }
        if (!resolver.Synced && _source is { HasSynced: true })
        {
            resolver = Resync(); // sync completed since the last change event
        }

        if (resolver.Answers.TryServe(request, Name))
        {
            return new ValueTask<DnsResult>(DnsResult.Success);
        }

        var qname = request.QuestionName;
        var reply = request.CreateReply();
        var opt = reply.Opt;
        reply.Additionals.Clear();
        var result = resolver.Resolve(qname, request.Type, reply.Answers, reply.Authorities, reply.Additionals);
        switch (result.Outcome)
        {
            case KubernetesOutcome.NotInZone:
            case KubernetesOutcome.Fallthrough:
                return NextAsync(request, cancellationToken);
            case KubernetesOutcome.Refused:
                return new ValueTask<DnsResult>(new DnsResult(DnsRcode.Refused));
            case KubernetesOutcome.NameError:
                reply.Rcode = DnsRcode.NXDomain;
                break;
            case KubernetesOutcome.ServFail:
                reply.Rcode = DnsRcode.ServFail;
                break;
        }
        if (result.UpstreamTarget is { } target)
        {
            return ResolveUpstreamAsync(request, resolver, reply, opt, target, cancellationToken);
        }
        var dependencies = result.Dependencies;
        if (result.Outcome != KubernetesOutcome.ServFail && !dependencies.Overflow)
        {
            // The reply depends only on the entries it was computed from and the question as written: compile it
            // once, valid while those entries are. Anything with an SOA (negative) or global data also depends on
            // the index generation.
            var generation = result.Outcome != KubernetesOutcome.Answer || dependencies.Global ? resolver.Index.Generation : null;
            resolver.Answers.Store(request, reply, dependencies.First, dependencies.Second, generation, resolver.CacheCapacity);
        }
        return new ValueTask<DnsResult>(Write(request, reply, opt));
    }

    private async ValueTask<DnsResult> ResolveUpstreamAsync(DnsRequest request, KubernetesResolver resolver, DnsMessage reply, OptRecord? opt,
        DnsName target, CancellationToken cancellationToken)
    {
        DnsMessage? upstreamReply = null;
        if (RequestUpstream is not null || Upstream is not null)
        {
            try
            {
                upstreamReply = RequestUpstream is { } withRequest
                    ? await withRequest(request, target, request.Type, cancellationToken).ConfigureAwait(false)
                    : await Upstream!(target, request.Type, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.UpstreamFailed(e, target.ToString());
            }
        }
        if (upstreamReply is null)
        {
            // [Q9] (docs/kubernetes-dns.md) No reply at all: emit nothing (NODATA).
            reply.Answers.Clear();
            reply.Additionals.Clear();
            resolver.AppendSoa(request.QuestionName, reply.Authorities);
        }
        else
        {
            // [Q9] (docs/kubernetes-dns.md) The upstream's rcode and authority are dropped; its answer is copied verbatim.
            reply.Answers.AddRange(upstreamReply.Answers);
            if (upstreamReply.Header.Truncated)
            {
                reply.Header.Truncated = true;
            }
        }
        return Write(request, reply, opt);
    }

    private DnsResult Write(DnsRequest request, DnsMessage reply, OptRecord? opt)
    {
        if (opt is not null)
        {
            reply.Additionals.Add(opt);
        }
        request.Response.Write(reply, Name);
        return DnsResult.Success;
    }

    /// <summary>Starts the source and delays start-up until it synced or <c>startup_timeout</c> passed (docs/kubernetes-dns.md §8.3).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // While start-up waits nothing is served, so the initial lists (one relist event per kind) need no index
        // each: one full build at the end replaces four O(cluster) builds.
        _startupPending = true;
        if (_source is null)
        {
            _source = CreateSource();
            _source.Changed += OnChanged;
        }
        await _source.StartAsync(cancellationToken).ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        var nextLog = LogInterval;
        while (!_source.HasSynced)
        {
            var remaining = _options.StartupTimeout - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                _logger.StartingUnsynced();
                break;
            }
            if (clock.Elapsed >= nextLog)
            {
                _logger.WaitingForApi();
                nextLog += LogInterval;
            }
            await _source.WaitForSyncAsync(remaining < PollInterval ? remaining : PollInterval, cancellationToken).ConfigureAwait(false);
        }
        lock (_rebuildGate)
        {
            _startupPending = false;
        }
        var resolver = Resync();
        if (resolver.Index.ServiceCount + resolver.Index.State.PodCount > LargeCluster)
        {
            // The initial lists leave hundreds of MB of parsed-and-dropped API objects behind; the GC keeps that
            // memory committed. One aggressive collection at start-up returns it to the OS (RSS), never per event.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    /// <summary>Objects above which start-up compacts once (smaller clusters leave too little garbage to matter).</summary>
    private const int LargeCluster = 20_000;

    public async Task StopAsync()
    {
        if (_source is { } source)
        {
            source.Changed -= OnChanged;
            await source.DisposeAsync().ConfigureAwait(false);
        }
        _client?.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private IClusterSource CreateSource()
    {
        if (_options.Snapshot is { } path)
        {
            return new SnapshotFileClusterSource(path, _loggerFactory);
        }
        var config = KubernetesConnection.BuildConfig(_options.Connection);
        // apiserver_qps / apiserver_burst / apiserver_max_inflight (limits off unless set), then the REST client
        // metrics of each request as it goes out.
        _client = new KubernetesApiClient(config,
            new ApiRateLimitHandler(_options.ApiServerQps, _options.ApiServerBurst, _options.ApiServerMaxInflight),
            new ApiRequestMetricsHandler());
        return new KubernetesClusterSource(_client, _options.ToWatchOptions(), _loggerFactory);
    }

    /// <summary>
    /// Applies one published change to the current index (work proportional to the change, see
    /// <see cref="KubernetesIndex.Apply"/>) and publishes the new resolver at once: no debounce, so DNS programming
    /// latency is the cost of one Apply. Raised under the source's lock in publication order, so
    /// <c>source.Current</c> is exactly the state this change produced.
    /// </summary>
    private void OnChanged(ClusterChange change)
    {
        lock (_rebuildGate)
        {
            if (_source is not { } source || _startupPending)
            {
                return; // StartAsync builds once when its wait ends
            }
            var current = _resolver;
            KubernetesIndex index;
            try
            {
                index = current.Index.Apply(source.Current, change);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                // The next change is diffed against this index: never keep one a change failed on. A full build from
                // the published state is always correct.
                _logger.IndexApplyFailed(exception);
                _resolver = new KubernetesResolver(_options, source.Current, source.HasSynced, _localAddresses);
                return;
            }
            // A new lineage (full build, namespace change) invalidates every cached reply at once.
            var answers = ReferenceEquals(index.Lineage, current.Index.Lineage) ? current.Answers : new AnswerCache();
            _resolver = new KubernetesResolver(current, index, source.HasSynced, answers);
            _logger.IndexApplied(index.Serial, change.Services.Count);
        }
    }

    /// <summary>Refreshes the synced flag; rebuilds only if the state moved without a change event (cannot be diffed).</summary>
    private KubernetesResolver Resync()
    {
        // Serialised with OnChanged so an older state is never published over a newer one.
        lock (_rebuildGate)
        {
            var source = _source;
            var state = source?.Current ?? ClusterState.Empty;
            var synced = source?.HasSynced ?? false;
            var current = _resolver;
            if (ReferenceEquals(current.Index.State, state))
            {
                if (current.Synced != synced)
                {
                    _resolver = current = new KubernetesResolver(current, current.Index, synced, current.Answers);
                }
                return current;
            }
            var resolver = new KubernetesResolver(_options, state, synced, _localAddresses);
            _resolver = resolver;
            current.Index.Generation.Supersede();
            _logger.IndexRebuilt(resolver.Index.Serial);
            return resolver;
        }
    }

    private static IReadOnlyList<IPAddress> ExpandWildcards(IReadOnlyList<IPAddress> addresses)
    {
        var result = new List<IPAddress>();
        foreach (var address in addresses)
        {
            if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
            {
                foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                {
                    foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                    {
                        var ip = unicast.Address;
                        if (ip.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 && !ip.IsIPv6LinkLocal && !result.Contains(ip))
                        {
                            result.Add(ip);
                        }
                    }
                }
            }
            else if (!result.Contains(address))
            {
                result.Add(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
            }
        }
        return result;
    }
}

internal static partial class KubernetesPluginLog
{
    public const string Category = "plugin/kubernetes";

    [LoggerMessage(101, LogLevel.Information, "waiting for Kubernetes API before starting server")]
    public static partial void WaitingForApi(this ILogger logger);

    [LoggerMessage(102, LogLevel.Warning, "starting server with unsynced Kubernetes API")]
    public static partial void StartingUnsynced(this ILogger logger);

    [LoggerMessage(103, LogLevel.Warning, "{Warning}")]
    public static partial void ParseWarning(this ILogger logger, string warning);

    [LoggerMessage(104, LogLevel.Debug, "rebuilt the DNS index at serial {Serial}")]
    public static partial void IndexRebuilt(this ILogger logger, long serial);

    [LoggerMessage(106, LogLevel.Trace, "applied a change of {Services} services to the DNS index at serial {Serial}")]
    public static partial void IndexApplied(this ILogger logger, long serial, int services);

    [LoggerMessage(107, LogLevel.Error, "applying a cluster change to the DNS index failed; rebuilt it from the cluster state")]
    public static partial void IndexApplyFailed(this ILogger logger, Exception exception);

    [LoggerMessage(105, LogLevel.Warning, "upstream lookup of {Target} failed")]
    public static partial void UpstreamFailed(this ILogger logger, Exception exception, string target);
}
