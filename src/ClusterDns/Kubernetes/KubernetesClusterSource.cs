using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Kubernetes;

/// <summary>Cluster data from the Kubernetes API: one list/watch reflector per watched resource (docs/kubernetes-dns.md §8.2).</summary>
public sealed class KubernetesClusterSource : IClusterSource
{
    private readonly IKubernetes _client;
    private readonly bool _ownsClient;
    private readonly WatchOptions _options;
    private readonly ILogger _logger;
    private readonly ClusterStore _store;
    private readonly SyncGate _sync = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private int _started;

    public KubernetesClusterSource(IKubernetes client, WatchOptions options, ILoggerFactory loggerFactory)
        : this(client, false, options, loggerFactory)
    {
    }

    public KubernetesClusterSource(KubernetesClientConfiguration config, WatchOptions options, ILoggerFactory loggerFactory)
        : this(new k8s.Kubernetes(config), true, options, loggerFactory)
    {
    }

    private KubernetesClusterSource(IKubernetes client, bool ownsClient, WatchOptions options, ILoggerFactory loggerFactory)
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
        var core = _client.CoreV1;
        var starts = new List<Func<Task>>
        {
            Loop(new ResourceApi<V1Namespace>(
                    async (cont, limit, c) => Page(await core.ListNamespaceAsync(continueParameter: cont, limit: limit,
                        labelSelector: o.NamespaceLabelSelector, cancellationToken: c).ConfigureAwait(false)),
                    (rv, timeout, onError, c) => OwnedWatch<V1Namespace, V1NamespaceList>(w => core.ListNamespaceWithHttpMessagesAsync(
                        allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, labelSelector: o.NamespaceLabelSelector,
                        watch: true, cancellationToken: w), onError, c)),
                (m, _) => ModelConverter.ToNamespace(m), ClusterKinds.Namespaces),
            Loop(new ResourceApi<V1Service>(
                    async (cont, limit, c) => Page(await core.ListServiceForAllNamespacesAsync(continueParameter: cont, limit: limit,
                        labelSelector: o.LabelSelector, cancellationToken: c).ConfigureAwait(false)),
                    (rv, timeout, onError, c) => OwnedWatch<V1Service, V1ServiceList>(w => core.ListServiceForAllNamespacesWithHttpMessagesAsync(
                        allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, labelSelector: o.LabelSelector,
                        watch: true, cancellationToken: w), onError, c)),
                (m, _) => ModelConverter.ToService(m), ClusterKinds.Services),
        };
        if (o.WatchEndpointSlices)
        {
            var discovery = _client.DiscoveryV1;
            starts.Add(Loop(new ResourceApi<V1EndpointSlice>(
                    async (cont, limit, c) => Page(await discovery.ListEndpointSliceForAllNamespacesAsync(continueParameter: cont,
                        limit: limit, labelSelector: o.LabelSelector, cancellationToken: c).ConfigureAwait(false)),
                    (rv, timeout, onError, c) => OwnedWatch<V1EndpointSlice, V1EndpointSliceList>(w =>
                        discovery.ListEndpointSliceForAllNamespacesWithHttpMessagesAsync(allowWatchBookmarks: true, resourceVersion: rv,
                            timeoutSeconds: timeout, labelSelector: o.LabelSelector, watch: true, cancellationToken: w), onError, c)),
                (m, _) => ModelConverter.ToSlice(m), ClusterKinds.Slices));
        }

        if (o.WatchPods)
        {
            starts.Add(Loop(new ResourceApi<V1Pod>(
                    async (cont, limit, c) => Page(await core.ListPodForAllNamespacesAsync(continueParameter: cont, limit: limit,
                        labelSelector: o.LabelSelector, fieldSelector: WatchOptions.PodFieldSelector, cancellationToken: c)
                        .ConfigureAwait(false)),
                    (rv, timeout, onError, c) => OwnedWatch<V1Pod, V1PodList>(w => core.ListPodForAllNamespacesWithHttpMessagesAsync(
                        allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, labelSelector: o.LabelSelector,
                        fieldSelector: WatchOptions.PodFieldSelector, watch: true, cancellationToken: w), onError, c)),
                ConvertPod, ClusterKinds.Pods));
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
        const string group = V1Alpha1ServiceImport.KubeGroup, version = V1Alpha1ServiceImport.KubeVersion, plural = V1Alpha1ServiceImport.KubePlural;
        var custom = _client.CustomObjects;
        starts.Add(Loop(new ResourceApi<V1Alpha1ServiceImport>(
                async (cont, limit, c) =>
                {
                    using var response = await custom.ListClusterCustomObjectWithHttpMessagesAsync<V1Alpha1ServiceImportList>(group, version,
                        plural, continueParameter: cont, limit: limit, cancellationToken: c).ConfigureAwait(false);
                    return Page(response.Body);
                },
                (rv, timeout, onError, c) => Typed<V1Alpha1ServiceImport>(custom.WatchListClusterCustomObjectAsync(group, version, plural,
                    allowWatchBookmarks: true, resourceVersion: rv, timeoutSeconds: timeout, onError: onError, cancellationToken: c))),
            (m, _) => ModelConverter.ToServiceImport(m), ClusterKinds.ServiceImports));

        var discovery = _client.DiscoveryV1;
        const string selector = ModelConverter.McsServiceNameLabel;
        starts.Add(Loop(new ResourceApi<V1EndpointSlice>(
                async (cont, limit, c) => Page(await discovery.ListEndpointSliceForAllNamespacesAsync(continueParameter: cont,
                    limit: limit, labelSelector: selector, cancellationToken: c).ConfigureAwait(false)),
                (rv, timeout, onError, c) => discovery.WatchListEndpointSliceForAllNamespacesAsync(allowWatchBookmarks: true,
                    resourceVersion: rv, timeoutSeconds: timeout, labelSelector: selector, onError: onError, cancellationToken: c)),
            (m, _) => ModelConverter.ToMcsSlice(m), ClusterKinds.McsSlices));
    }

    /// <summary>The custom-object watch yields untyped objects: read each event into <typeparamref name="T"/>.</summary>
    private static async IAsyncEnumerable<(WatchEventType, T)> Typed<T>(IAsyncEnumerable<(WatchEventType, object)> events)
    {
        await foreach (var (type, obj) in events.ConfigureAwait(false))
        {
            var json = obj is System.Text.Json.JsonElement element ? element.GetRawText() : KubernetesJson.Serialize(obj);
            yield return (type, KubernetesJson.Deserialize<T>(json));
        }
    }

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

    /// <summary>
    /// A watch whose HTTP response this source owns: disposed the moment the stream ends, breaks or is cancelled (a
    /// cancellation disposes it at once, which also ends a read pending on a half-open connection). The client's own
    /// <c>Watch…Async</c> helpers never dispose the response, so a stream the API server cut kept its socket in
    /// CLOSE-WAIT until a garbage collection finalized it.
    /// </summary>
    internal static async IAsyncEnumerable<(WatchEventType, T)> OwnedWatch<T, TList>(
        Func<CancellationToken, Task<HttpOperationResponse<TList>>> open, Action<Exception> onError,
        [EnumeratorCancellation] CancellationToken ct)
    {
        var response = await open(ct).ConfigureAwait(false);
        try
        {
            using var registration = ct.Register(static r => ((IDisposable)r!).Dispose(), response);
            // Obsolete in favour of the Watch…Async helpers, which are exactly what hide the response from us.
#pragma warning disable CS0618
            await foreach (var item in Task.FromResult(response).WatchAsync<T, TList>(onError, ct).ConfigureAwait(false))
            {
                yield return item;
            }
#pragma warning restore CS0618
        }
        finally
        {
            response.Dispose();
        }
    }

    private static ListPage<T> Page<T>(IItems<T> list) where T : IKubernetesObject<V1ObjectMeta>
    {
        var meta = ((IMetadata<V1ListMeta>)list).Metadata;
        return new ListPage<T>(list.Items, meta?.ResourceVersion, meta?.ContinueProperty);
    }
}
