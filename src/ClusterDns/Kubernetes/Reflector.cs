using k8s;
using k8s.Models;
using ClusterDns.Plugins.Kubernetes;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Kubernetes;

/// <summary>One page of a LIST, reduced to what the reflector needs.</summary>
internal readonly record struct ListPage<TModel>(IList<TModel>? Items, string? ResourceVersion, string? Continue);

/// <summary>The API calls for one resource type (closures over <see cref="KubernetesApiClient"/>).</summary>
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
    private bool _listedOnce;
    private int _generation;
    private long _deadline;   // TimeProvider timestamp after which the loop counts as stalled

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

    /// <summary>
    /// Runs the list/watch loop under a watchdog: a loop whose next step is overdue by more than
    /// <see cref="StallGrace"/> (the backoff cap plus the list timeout) is abandoned and a fresh one started (relist),
    /// with a log line and <c>clusterdns_kubernetes_watch_restarts_total{resource}</c>.
    /// </summary>
    public async Task RunAsync(Action onFirstList, CancellationToken ct)
    {
        var time = _options.Time;
        while (!ct.IsCancellationRequested)
        {
            var generation = Interlocked.Increment(ref _generation);
            var runCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Beat(TimeSpan.Zero);
            var run = Task.Run(() => LoopAsync(generation, onFirstList, runCts.Token), CancellationToken.None);
            bool restart = false;
            while (true)
            {
                var finished = await Task.WhenAny(run, Task.Delay(_options.LoopCheckInterval, time, ct)).ConfigureAwait(false);
                if (finished == run || ct.IsCancellationRequested)
                {
                    break;
                }
                var overdue = time.GetTimestamp() - Volatile.Read(ref _deadline);
                if (overdue > 0)
                {
                    restart = true;
                    _logger.LoopRestarted(Resource, TimeSpan.FromSeconds((double)overdue / time.TimestampFrequency) + StallGrace, StallGrace);
                    KubernetesMetrics.WatchRestarts.WithLabels(Resource).Inc();
                    break;
                }
            }

            if (!restart && !run.IsCompleted)
            {
                // Stopping: give the run a moment to leave on its cancelled token.
                TryCancel(runCts);
                await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
            }
            if (!run.IsCompleted)
            {
                // The stalled run may never return (a request that ignores its token): cancel it and let it go; its
                // generation is stale, so it writes nothing if it ever wakes up.
                TryCancel(runCts);
                _ = run.ContinueWith(static (t, state) =>
                {
                    _ = t.Exception;
                    ((CancellationTokenSource)state!).Dispose();
                }, runCts, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                continue;
            }
            runCts.Dispose();
            await run.ConfigureAwait(false);
        }
    }

    /// <summary>How far past its expected end a step of the loop may run before the watchdog restarts the loop.</summary>
    private TimeSpan StallGrace => _options.MaxBackoff + _options.ListTimeout;

    /// <summary>The loop made progress; its next step should finish within <paramref name="expected"/>.</summary>
    private void Beat(TimeSpan expected) => Volatile.Write(ref _deadline,
        _options.Time.GetTimestamp() + (long)((expected + StallGrace).TotalSeconds * _options.Time.TimestampFrequency));

    private async Task LoopAsync(int generation, Action onFirstList, CancellationToken ct)
    {
        bool needList = true;
        int failures = 0;
        var watch = new WatchAttempt();
        while (!ct.IsCancellationRequested && generation == Volatile.Read(ref _generation))
        {
            watch = new WatchAttempt();
            try
            {
                if (needList)
                {
                    await ListAsync(generation, ct).ConfigureAwait(false);
                    needList = false;
                    failures = 0;
                    if (!_listedOnce)
                    {
                        _listedOnce = true;
                        onFirstList();
                    }
                }

                var gone = await WatchAsync(_lastRv!, generation, watch, ct).ConfigureAwait(false);
                if (watch.Healthy)
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
                    _logger.WatchEnded(Resource, _lastRv, watch.Events);
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
                // Covers connection refused, 5xx, resets (IOException), list timeouts and the 0-event stream
                // (HttpRequestException). A watch that was cut after it delivered events or stayed up a while was
                // healthy: the API is back, so the next try starts promptly instead of after a grown backoff.
                if (watch.Healthy)
                {
                    failures = 0;
                }
                failures++;
                var delay = Backoff(failures);
                _logger.ListWatchFailed(ex, Resource, failures, delay);
                Beat(delay);
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

    private async Task ListAsync(int generation, CancellationToken ct)
    {
        var items = new List<TInfo>();
        string? cont = null, rv = null;
        int pages = 0;
        do
        {
            ListPage<TModel> page;
            Beat(_options.ListTimeout);
            using var timeout = new CancellationTokenSource(_options.ListTimeout, _options.Time);
            using var pageCts = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
            try
            {
                page = await _api.List(cont, _options.PageSize, pageCts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new TimeoutException($"list of {Resource} did not answer within {_options.ListTimeout}");
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

        if (generation != Volatile.Read(ref _generation))
        {
            throw new OperationCanceledException("superseded by a restarted loop");
        }
        _store.Replace(_ops, items);
        _lastRv = rv ?? "";
        _logger.Listed(Resource, items.Count, rv, pages);
    }

    /// <returns>gone: the resourceVersion expired and a relist is needed. <paramref name="attempt"/> says how many
    /// events arrived and whether the watch was healthy, also when it ends in an exception.</returns>
    private async Task<bool> WatchAsync(string rv, int generation, WatchAttempt attempt, CancellationToken ct)
    {
        var limit = _options.WatchTimeout + _options.WatchdogSlack;
        using var watchCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bool gone = false, watchdogFired = false;
        var started = _options.Time.GetTimestamp();
        Beat(limit);
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
                if (generation != Volatile.Read(ref _generation))
                {
                    return false;   // a restarted loop owns the store now
                }
                watchdog.Change(limit, Timeout.InfiniteTimeSpan);
                Beat(limit);
                attempt.Events++;
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
        catch (Exception) when (!ct.IsCancellationRequested && (gone || watchdogFired))
        {
            // Cancelling disposes the response, so the pending read may end in an IOException or
            // ObjectDisposedException rather than an OperationCanceledException.
            if (!gone)
            {
                _logger.WatchdogFired(Resource, limit);
            }
        }
        finally
        {
            attempt.Healthy = attempt.Events > 0 || _options.Time.GetElapsedTime(started) >= _options.HealthyWatchUptime;
        }

        return gone;
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

    private static bool IsGone(Exception ex) => ex is KubernetesApiException { Code: 410 };

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

    /// <summary>What one watch achieved, filled in even when it ends in an exception.</summary>
    private sealed class WatchAttempt
    {
        public int Events;
        public bool Healthy;
    }
}
