using System.Text;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Kubernetes;

/// <summary>
/// ClusterDns extension (`snapshot FILE|DIR` in the kubernetes block): cluster data from files instead of an API
/// server. Polls the files' mtimes and swaps the state on edits; a broken edit is logged and the old state kept.
/// </summary>
public sealed class SnapshotFileClusterSource : IClusterSource
{
    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly ClusterStore _store;
    private readonly SyncGate _sync = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private string? _fingerprint;

    public SnapshotFileClusterSource(string path, ILoggerFactory loggerFactory, TimeSpan? pollInterval = null, TimeProvider? time = null)
    {
        _path = Path.GetFullPath(path);
        _time = time ?? TimeProvider.System;
        _pollInterval = pollInterval ?? TimeSpan.FromSeconds(1);
        _logger = loggerFactory.CreateLogger(KubernetesLog.Category);
        _store = new ClusterStore(_time, _logger);
        _store.Changed += c => Changed?.Invoke(c);
        _sync.Expect(1);
    }

    public ClusterState Current => _store.Current;

    public bool HasSynced => _sync.HasSynced;

    public event Action<ClusterChange>? Changed;

    /// <summary>Loads the files once (synchronously: they are local) and starts polling for edits.</summary>
    public Task StartAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        Poll();
        _loop = Task.Run(LoopAsync);
        return Task.CompletedTask;
    }

    public Task<bool> WaitForSyncAsync(TimeSpan timeout, CancellationToken ct) => _sync.WaitAsync(timeout, _time, ct);

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_pollInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var seen = SafeFingerprint();
                if (seen == _fingerprint)
                {
                    continue;
                }
                // An editor or `kubectl ... > file` writes in steps: load only once the files stopped changing, so a
                // half-written (or just truncated) file never replaces the cluster.
                await Task.Delay(SettleTime, _time, _stop.Token).ConfigureAwait(false);
                if (SafeFingerprint() == seen)
                {
                    Poll();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(150);

    private string SafeFingerprint()
    {
        try
        {
            return Fingerprint();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "unreadable:" + ex.Message;
        }
    }

    private void Poll()
    {
        var fingerprint = SafeFingerprint();

        if (fingerprint == _fingerprint)
        {
            return;
        }
        // Remember it even if loading fails: retrying an unchanged broken file every second would only spam the log.
        _fingerprint = fingerprint;
        try
        {
            var state = SnapshotLoader.Load(_path, (file, kind) => _logger.SnapshotSkippedKind(file, kind));
            _store.ReplaceAll(state);
            _logger.SnapshotLoaded(_path, state.Namespaces.Count, state.ServiceCount, state.SliceCount, state.PodCount);
            if (!_sync.HasSynced)
            {
                _sync.Signal();
            }
        }
        catch (Exception ex)
        {
            _logger.SnapshotLoadFailed(ex, _path);
        }
    }

    private string Fingerprint()
    {
        var sb = new StringBuilder();
        foreach (var f in SnapshotLoader.Files(_path))
        {
            var info = new FileInfo(f);
            sb.Append(f).Append('|').Append(info.Exists ? info.LastWriteTimeUtc.Ticks : -1).Append('|')
              .Append(info.Exists ? info.Length : -1).Append('\n');
        }

        return sb.ToString();
    }
}
