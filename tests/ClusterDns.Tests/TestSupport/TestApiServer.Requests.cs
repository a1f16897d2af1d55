

namespace ClusterDns.Tests.TestSupport;

/// <summary>The request log: what clients asked for, with which credentials, and what was refused.</summary>
public sealed partial class TestApiServer
{
    /// <summary>The Authorization header of the latest request (null if none).</summary>
    public string? LastAuthorization { get; private set; }

    /// <summary>Every list and watch request served so far, in arrival order (refused ones are not listed).</summary>
    public IReadOnlyList<ApiRequest> Requests => [.. _requests];

    /// <summary>Requests refused with 401 (no or wrong bearer token).</summary>
    public int Unauthorized => Volatile.Read(ref _unauthorized);

    /// <summary>Requests refused with 403 (not granted by <see cref="TestApiServerOptions.Authorize"/>).</summary>
    public int Forbidden => Volatile.Read(ref _forbidden);

    public int ListRequests(ApiResource r) => Volatile.Read(ref _lists[(int)r]);

    public int WatchRequests(ApiResource r) => Volatile.Read(ref _watches[(int)r]);

    /// <summary>The resourceVersion parameter of the latest watch request for <paramref name="r"/>.</summary>
    public string? LastWatchResourceVersion(ApiResource r) => Volatile.Read(ref _lastWatchRv[(int)r]);
}
