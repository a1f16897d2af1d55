using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Kubernetes;

/// <summary>One page of a LIST, reduced to what the reflector needs.</summary>
internal readonly record struct ListPage<TModel>(IList<TModel>? Items, string? ResourceVersion, string? Continue);

/// <summary>The API calls for one resource type (closures over the generated client methods).</summary>
internal sealed record ResourceApi<TModel>(
    Func<string? /*continue*/, int /*limit*/, CancellationToken, Task<ListPage<TModel>>> List,
    Func<string /*rv*/, int /*timeoutSeconds*/, Action<Exception>, CancellationToken, IAsyncEnumerable<(WatchEventType, TModel)>> Watch)
    where TModel : IKubernetesObject<V1ObjectMeta>;

/// <summary>
/// List+watch loop for one resource type (the client library has no informer): LIST in pages and replace the
/// store, WATCH from the list's resourceVersion, re-watch from the last seen resourceVersion when a stream ends or
/// breaks, relist on 410 Gone, back off with jitter on failures, and cancel watches that go silent (watchdog).
/// </summary>
internal sealed class Reflector<TModel, TInfo>
    where TModel : IKubernetesObject<V1ObjectMeta>
    where TInfo : class
{
    private readonly ResourceApi<TModel> _api;
    // eventType is null while listing; a converter returns null to skip an object/event.
    private readonly Func<TModel, WatchEventType?, TInfo?> _convert;
    private readonly KindOps<TInfo> _ops;
    private readonly ClusterStore _store;
    private readonly WatchOptions _options;
    private readonly ILogger _logger;
    private string? _lastRv;

    public Reflector(ResourceApi<TModel> api, Func<TModel, WatchEventType?, TInfo?> convert, KindOps<TInfo> ops,
        ClusterStore store, WatchOptions options, ILogger logger)
    {
        _api = api;
        _convert = convert;
        _ops = ops;
        _store = store;
        _options = options;
        _logger = logger;
    }

    public string Resource => _ops.Resource;

    public async Task RunAsync(Action onFirstList, CancellationToken ct)
    {
        bool needList = true, listedOnce = false;
        int failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await ListAsync(ct).ConfigureAwait(false);
                    needList = false;
                    failures = 0;
                    if (!listedOnce)
                    {
                        listedOnce = true;
                        onFirstList();
                    }
                }

                var (gone, events) = await WatchAsync(_lastRv!, ct).ConfigureAwait(false);
                if (events > 0)
                {
                    failures = 0;
                }
                if (gone)
                {
                    _logger.WatchExpired(Resource, _lastRv);
                    needList = true;
                }
                else
                {
                    _logger.WatchEnded(Resource, _lastRv, events);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (IsGone(ex))
            {
                _logger.WatchExpired(Resource, _lastRv);
                needList = true;
            }
            catch (Exception ex)
            {
                // Covers connection refused, 5xx, resets (IOException) and the 0-event stream (HttpRequestException).
                failures++;
                var delay = Backoff(failures);
                _logger.ListWatchFailed(ex, Resource, failures, delay);
                try
                {
                    await Task.Delay(delay, _options.Time, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async Task ListAsync(CancellationToken ct)
    {
        var items = new List<TInfo>();
        string? cont = null, rv = null;
        int pages = 0;
        do
        {
            ListPage<TModel> page;
            try
            {
                page = await _api.List(cont, _options.PageSize, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (cont is not null && IsGone(ex))
            {
                // The continue token expired (compaction mid-list): start the list over.
                items.Clear();
                cont = null;
                pages = 0;
                continue;
            }

            pages++;
            if (page.Items is { } list)
            {
                foreach (var model in list)
                {
                    if (_convert(model, null) is { } info)
                    {
                        items.Add(info);
                    }
                }
            }
            rv = page.ResourceVersion;
            cont = string.IsNullOrEmpty(page.Continue) ? null : page.Continue;
        }
        while (cont is not null);

        _store.Replace(_ops, items);
        _lastRv = rv ?? "";
        _logger.Listed(Resource, items.Count, rv, pages);
    }

    /// <returns>gone: the resourceVersion expired and a relist is needed; events: how many events arrived.</returns>
    private async Task<(bool Gone, int Events)> WatchAsync(string rv, CancellationToken ct)
    {
        var limit = _options.WatchTimeout + _options.WatchdogSlack;
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bool gone = false, watchdogFired = false;
        int events = 0;
        // Nothing in the client times out an idle watch; a half-open HTTP/1.1 connection could hang forever.
        using var watchdog = _options.Time.CreateTimer(_ =>
        {
            watchdogFired = true;
            TryCancel(watchCts);
        }, null, limit, Timeout.InfiniteTimeSpan);

        void OnError(Exception ex)
        {
            // An ERROR event never reaches the enumerator; the client reports it here and keeps reading.
            if (IsGone(ex))
            {
                gone = true;
                TryCancel(watchCts);
            }
            else
            {
                _logger.WatchStreamError(ex, Resource);
            }
        }

        var timeoutSeconds = Math.Max(1, (int)Math.Ceiling(_options.WatchTimeout.TotalSeconds));
        try
        {
            await foreach (var (type, model) in _api.Watch(rv, timeoutSeconds, OnError, watchCts.Token)
                               .WithCancellation(watchCts.Token).ConfigureAwait(false))
            {
                watchdog.Change(limit, Timeout.InfiniteTimeSpan);
                events++;
                try
                {
                    Apply(type, model);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // As client-go's reflector: report the object and go on. Retrying from the same resourceVersion
                    // would meet it again and hold back every later event of this resource.
                    _logger.WatchEventFailed(ex, Resource, type, model?.Metadata?.NamespaceProperty, model?.Metadata?.Name);
                }
                // Bookmarks carry only metadata.resourceVersion; saving it keeps re-watches cheap.
                if (model?.Metadata?.ResourceVersion is { Length: > 0 } newRv)
                {
                    _lastRv = newRv;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && (gone || watchdogFired))
        {
            if (!gone)
            {
                _logger.WatchdogFired(Resource, limit);
            }
        }
        catch (Exception ex) when (gone && ex is not OperationCanceledException)
        {
            // The stream broke after the 410 was reported; the relist covers it.
        }

        return (gone, events);
    }

    private void Apply(WatchEventType type, TModel model)
    {
        switch (type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
                if (_convert(model, type) is { } info)
                {
                    _store.Upsert(_ops, info);
                }
                break;
            case WatchEventType.Deleted:
                if (_convert(model, type) is { } gone)
                {
                    _store.Delete(_ops, gone);
                }
                break;
            default:
                break;   // Bookmark (only a resourceVersion) and Error (handled in onError).
        }
    }

    private TimeSpan Backoff(int failures)
    {
        // Exponential from 250 ms, capped, with "equal jitter" so many clients do not retry in lockstep.
        var max = _options.MaxBackoff;
        var exp = Math.Min(max.TotalMilliseconds, 250 * Math.Pow(2, Math.Min(failures - 1, 16)));
        return TimeSpan.FromMilliseconds(exp / 2 + Random.Shared.NextDouble() * exp / 2);
    }

    private static bool IsGone(Exception ex) => ex switch
    {
        KubernetesException k => k.Status?.Code == 410,
        HttpOperationException h => h.Response?.StatusCode == HttpStatusCode.Gone,
        _ => false,
    };

    private static void TryCancel(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The watch already finished.
        }
    }
}
