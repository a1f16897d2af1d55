using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Kubernetes;

/// <summary>Cluster data from the Kubernetes API: one list/watch reflector per watched resource (docs/kubernetes-dns.md §8.2).</summary>
public sealed class KubernetesClusterSource : IClusterSource
{
    private readonly KubernetesApiClient _client;
    private readonly bool _ownsClient;
    private readonly WatchOptions _options;
    private readonly ILogger _logger;
    private readonly ClusterStore _store;
    private readonly SyncGate _sync = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private int _started;

    public KubernetesClusterSource(KubernetesApiClient client, WatchOptions options, ILoggerFactory loggerFactory)
        : this(client, false, options, loggerFactory)
    {
    }

    public KubernetesClusterSource(KubernetesClientConfiguration config, WatchOptions options, ILoggerFactory loggerFactory)
        : this(new KubernetesApiClient(config), true, options, loggerFactory)
    {
    }

    private KubernetesClusterSource(KubernetesApiClient client, bool ownsClient, WatchOptions options, ILoggerFactory loggerFactory)
    {
        _client = client;
        _ownsClient = ownsClient;
        _options = options;
        _logger = loggerFactory.CreateLogger(KubernetesLog.Category);
        _store = new ClusterStore(options.Time, _logger);
        _store.Changed += c => Changed?.Invoke(c);
    }

    public ClusterState Current => _store.Current;

    public bool HasSynced => _sync.HasSynced;

    public event Action<ClusterChange>? Changed;

    public Task StartAsync(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return Task.CompletedTask;
        }
        // The loops live until DisposeAsync; ct only guards the start itself.
        ct.ThrowIfCancellationRequested();
        var o = _options;
        var starts = new List<Func<Task>>
        {
            Loop(Api(NamespacesPath, o.NamespaceLabelSelector, null, ApiJson.Namespace), (m, _) => ModelConverter.ToNamespace(m),
                ClusterKinds.Namespaces),
            Loop(Api(ServicesPath, o.LabelSelector, null, ApiJson.Service), (m, _) => ModelConverter.ToService(m), ClusterKinds.Services),
        };
        if (o.WatchEndpointSlices)
        {
            starts.Add(Loop(Api(EndpointSlicesPath, o.LabelSelector, null, ApiJson.EndpointSlice), (m, _) => ModelConverter.ToSlice(m),
                ClusterKinds.Slices));
        }

        if (o.WatchPods)
        {
            starts.Add(Loop(Api(PodsPath, o.LabelSelector, WatchOptions.PodFieldSelector, ApiJson.Pod), ConvertPod, ClusterKinds.Pods));
        }

        if (o.WatchMulticluster)
        {
            AddMulticluster(starts);
        }

        _sync.Expect(starts.Count);
        foreach (var start in starts)
        {
            _loops.Add(Task.Run(start));
        }
        return Task.CompletedTask;
    }

    /// <summary>MCS (only with a multicluster zone, as CoreDNS): ServiceImports, and EndpointSlices that carry the
    /// multicluster.kubernetes.io/service-name label, each with its own list/watch.</summary>
    private void AddMulticluster(List<Func<Task>> starts)
    {
        starts.Add(Loop(Api(ServiceImportsPath, null, null, ApiJson.ServiceImport), (m, _) => ModelConverter.ToServiceImport(m),
            ClusterKinds.ServiceImports));
        starts.Add(Loop(Api(EndpointSlicesPath, ModelConverter.McsServiceNameLabel, null, ApiJson.EndpointSlice),
            (m, _) => ModelConverter.ToMcsSlice(m), ClusterKinds.McsSlices));
    }

    // The cluster-wide collections the plugin lists and watches.
    private const string NamespacesPath = "api/v1/namespaces";
    private const string ServicesPath = "api/v1/services";
    private const string PodsPath = "api/v1/pods";
    private const string EndpointSlicesPath = "apis/discovery.k8s.io/v1/endpointslices";
    private const string ServiceImportsPath = "apis/" + V1Alpha1ServiceImport.KubeGroup + "/" + V1Alpha1ServiceImport.KubeVersion + "/"
        + V1Alpha1ServiceImport.KubePlural;

    private ResourceApi<T> Api<T>(string path, string? labelSelector, string? fieldSelector, ModelReader<T> read) where T : class, IKubernetesObject<V1ObjectMeta> =>
        new((cont, limit, c) => _client.ListAsync(path, labelSelector, fieldSelector, cont, limit, read, c),
            (rv, timeout, onError, c) => _client.WatchAsync(path, labelSelector, fieldSelector, rv, timeout, read, onError, c));

    public Task<bool> WaitForSyncAsync(TimeSpan timeout, CancellationToken ct) => _sync.WaitAsync(timeout, _options.Time, ct);

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }
        try
        {
            await Task.WhenAll(_loops).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Expected on shutdown.
        }

        if (_ownsClient)
        {
            _client.Dispose();
        }
        _stop.Dispose();
    }

    // docs/kubernetes-dns.md §1: an update that sets deletionTimestamp is ignored; the pod stays as it was until the delete event.
    private static PodInfo? ConvertPod(V1Pod pod, WatchEventType? type) =>
        type == WatchEventType.Modified && pod.Metadata?.DeletionTimestamp is not null ? null : ModelConverter.ToPod(pod);

    private Func<Task> Loop<TModel, TInfo>(ResourceApi<TModel> api, Func<TModel, WatchEventType?, TInfo?> convert, KindOps<TInfo> ops)
        where TModel : IKubernetesObject<V1ObjectMeta>
        where TInfo : class
    {
        var reflector = new Reflector<TModel, TInfo>(api, convert, ops, _store, _options, _logger);
        return () => reflector.RunAsync(() =>
        {
            if (_sync.Signal())
            {
                _logger.Synced();
            }
        }, _stop.Token);
    }
}
