using Microsoft.Extensions.Logging;

namespace ClusterDns.Kubernetes;

/// <summary>Source-generated log messages of the Kubernetes data layer (category <c>plugin/kubernetes</c>).</summary>
internal static partial class KubernetesLog
{
    public const string Category = "plugin/kubernetes";

    [LoggerMessage(1, LogLevel.Debug, "Listed {Resource}: {Count} objects at resourceVersion {ResourceVersion} ({Pages} pages)")]
    public static partial void Listed(this ILogger logger, string resource, int count, string? resourceVersion, int pages);

    [LoggerMessage(2, LogLevel.Information, "Watch of {Resource} expired at resourceVersion {ResourceVersion} (410 Gone); relisting")]
    public static partial void WatchExpired(this ILogger logger, string resource, string? resourceVersion);

    [LoggerMessage(3, LogLevel.Warning, "Watch of {Resource} was silent longer than {Limit}; restarting it")]
    public static partial void WatchdogFired(this ILogger logger, string resource, TimeSpan limit);

    [LoggerMessage(4, LogLevel.Warning, "{Resource} list/watch failed (attempt {Attempt}); retrying in {Delay}")]
    public static partial void ListWatchFailed(this ILogger logger, Exception ex, string resource, int attempt, TimeSpan delay);

    [LoggerMessage(5, LogLevel.Warning, "Error in {Resource} watch stream; continuing")]
    public static partial void WatchStreamError(this ILogger logger, Exception ex, string resource);

    [LoggerMessage(6, LogLevel.Debug, "Watch of {Resource} ended at resourceVersion {ResourceVersion} after {Events} events; re-watching")]
    public static partial void WatchEnded(this ILogger logger, string resource, string? resourceVersion, int events);

    [LoggerMessage(7, LogLevel.Information, "Kubernetes API synced")]
    public static partial void Synced(this ILogger logger);

    [LoggerMessage(8, LogLevel.Error, "A ClusterState Changed handler threw")]
    public static partial void ChangedHandlerFailed(this ILogger logger, Exception ex);

    [LoggerMessage(9, LogLevel.Information, "Loaded snapshot {Path}: {Namespaces} namespaces, {Services} services, {Slices} slices, {Pods} pods")]
    public static partial void SnapshotLoaded(this ILogger logger, string path, int namespaces, int services, int slices, int pods);

    [LoggerMessage(10, LogLevel.Error, "Could not load snapshot {Path}; keeping the previous state")]
    public static partial void SnapshotLoadFailed(this ILogger logger, Exception ex, string path);

    [LoggerMessage(12, LogLevel.Error, "Skipped a {Type} event of {Resource} {Namespace}/{Name} that could not be applied")]
    public static partial void WatchEventFailed(this ILogger logger, Exception ex, string resource, k8s.WatchEventType type, string? @namespace, string? name);

    [LoggerMessage(11, LogLevel.Warning, "Snapshot {Path}: skipped object of unsupported kind {Kind}")]
    public static partial void SnapshotSkippedKind(this ILogger logger, string path, string kind);

    [LoggerMessage(13, LogLevel.Warning, "{Resource} list/watch loop made no progress for {Stalled} (limit {Limit}); restarting it")]
    public static partial void LoopRestarted(this ILogger logger, string resource, TimeSpan stalled, TimeSpan limit);
}
