using System.Collections.Immutable;
using System.Net;
using BenchmarkDotNet.Attributes;
using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Benchmarks.Kubernetes;

/// <summary>A source with a fixed state (the benchmark never changes it).</summary>
internal sealed class FixedClusterSource(ClusterState state) : IClusterSource
{
    public ClusterState Current => state;

    public bool HasSynced => true;

#pragma warning disable CS0067 // never raised: the state is fixed
    public event Action<ClusterChange>? Changed;
#pragma warning restore CS0067

    public Task StartAsync(CancellationToken ct) => Task.CompletedTask;

    public Task<bool> WaitForSyncAsync(TimeSpan timeout, CancellationToken ct) => Task.FromResult(true);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// A kubernetes answer through <see cref="KubernetesPlugin.ServeAsync"/> on a warmed <see cref="DnsRequest"/> in a
/// 50,000-service cluster: the reply-cache hit (the steady state) and the index lookups a miss starts with; and, for
/// reference, a full miss (resolve + encode + store) forced by a cache that is always stale.
/// <c>dotnet run -c Release --project bench/ClusterDns.Benchmarks -- --filter '*KubernetesHit*'</c>
/// </summary>
[MemoryDiagnoser]
public class KubernetesHitBenchmarks
{
    private const int Services = 50_000;
    private readonly DnsRequest _request = new();
    private KubernetesPlugin _plugin = null!;
    private KubernetesIndex _index = null!;
    private byte[] _serviceA = [];
    private byte[] _headlessSrv = [];
    private byte[] _ptr = [];
    private byte[] _nxdomain = [];

    [GlobalSetup]
    public void Setup()
    {
        var state = ClusterState.Empty;
        var port = ImmutableArray.Create(new ServicePortInfo("http", "TCP", 80));
        for (var n = 0; n < 100; n++)
        {
            state = state.WithNamespace("ns-" + n);
        }
        for (var i = 0; i < Services; i++)
        {
            var ns = "ns-" + (i % 100);
            var name = "svc-" + i;
            var headless = i % 10 == 9;
            state = state.WithService(new ServiceInfo(ns, name, headless ? ServiceKind.Headless : ServiceKind.ClusterIP,
                [headless ? "None" : ScaleCluster.ClusterIp(i)], null, port));
            state = state.WithSlice(new EndpointSliceInfo(ns, name + "-x", name, port,
                [new EndpointInfo([ScaleCluster.PodIp(2 * i)], headless ? "ep-0" : null, null, null, true, null),
                 new EndpointInfo([ScaleCluster.PodIp(2 * i + 1)], headless ? "ep-1" : null, null, null, true, null)], null));
        }
        var options = KubernetesSetup.Parse(new Corefile.Dispenser(new Corefile.DirectiveGroup("kubernetes",
            Corefile.Lexer.Tokenize("kubernetes cluster.local in-addr.arpa ip6.arpa\n", "Corefile"))), ["cluster.local."]);
        _plugin = new KubernetesPlugin(options, [IPAddress.Parse("10.244.0.53")], source: new FixedClusterSource(state.WithSerial(1)));
        _index = _plugin.Resolver.Index;
        _serviceA = DnsMessage.CreateQuery("svc-1234.ns-34.svc.cluster.local.", DnsType.A, id: 7).ToArray();
        _headlessSrv = DnsMessage.CreateQuery("svc-1239.ns-39.svc.cluster.local.", DnsType.SRV, id: 7).ToArray();
        _ptr = DnsMessage.CreateQuery("210.5.96.10.in-addr.arpa.", DnsType.PTR, id: 7).ToArray();
        _nxdomain = DnsMessage.CreateQuery("nope.ns-1.svc.cluster.local.", DnsType.A, id: 7).ToArray();
        foreach (var q in (byte[][])[_serviceA, _headlessSrv, _ptr, _nxdomain])
        {
            Serve(q);
            Serve(q);
        }
    }

    private int Serve(byte[] query)
    {
        _request.Load(query, DnsTransport.Udp);
        var task = _plugin.ServeAsync(_request, CancellationToken.None);
        return task.IsCompletedSuccessfully ? _request.Response.Length : -1;
    }

    [Benchmark(Baseline = true)]
    public int CacheHitServiceA() => Serve(_serviceA);

    [Benchmark]
    public int CacheHitHeadlessSrv() => Serve(_headlessSrv);

    [Benchmark]
    public int CacheHitPtr() => Serve(_ptr);

    [Benchmark]
    public int CacheHitNxdomain() => Serve(_nxdomain);

    /// <summary>What every miss starts with: namespace, service and PTR lookups in the persistent tries.</summary>
    [Benchmark]
    public int IndexLookups()
    {
        var found = 0;
        found += _index.IsNamespaceExposed("ns-34") ? 1 : 0;
        found += _index.FindService("svc-1234.ns-34") is not null ? 1 : 0;
        found += _index.FindService("nope.ns-1") is null ? 1 : 0;
        found += _index.FindPtr(0xFFFF_0A60_05D2UL) is not null ? 1 : 0;
        return found;
    }
}
