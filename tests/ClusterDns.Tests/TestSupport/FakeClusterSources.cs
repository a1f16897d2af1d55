using ClusterDns.Kubernetes;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Tests.TestSupport;

/// <summary>A source with a fixed state.</summary>
internal sealed class StaticClusterSource(ClusterState state, bool synced) : IClusterSource
{
    public ClusterState Current { get; set; } = state;

    public bool HasSynced { get; set; } = synced;

    public event Action<ClusterChange>? Changed;

    public Task StartAsync(CancellationToken ct) => Task.CompletedTask;

    public Task<bool> WaitForSyncAsync(TimeSpan timeout, CancellationToken ct) => Task.FromResult(HasSynced);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public void Publish(ClusterState state)
    {
        Current = state;
        Changed?.Invoke(new ClusterChange(new HashSet<(string, string)>(), false, false, false));
    }
}

/// <summary>A source driven through the real <see cref="ClusterStore"/>, so changes carry exactly what they touched.</summary>
internal sealed class StoreClusterSource : IClusterSource
{
    public StoreClusterSource(ClusterState initial, long now = F1Fixture.Serial)
    {
        Clock = new ManualClock(now);
        Store = new ClusterStore(Clock, NullLogger.Instance);
        Store.Changed += c => Changed?.Invoke(c);
        Store.ReplaceAll(initial);
    }

    public ManualClock Clock { get; }

    public ClusterStore Store { get; }

    public ClusterState Current => Store.Current;

    public bool HasSynced => true;

    public event Action<ClusterChange>? Changed;

    public void Upsert(ServiceInfo s) => Store.Upsert(ClusterKinds.Services, s);

    public void Upsert(EndpointSliceInfo s) => Store.Upsert(ClusterKinds.Slices, s);

    public void Upsert(PodInfo p) => Store.Upsert(ClusterKinds.Pods, p);

    public Task StartAsync(CancellationToken ct) => Task.CompletedTask;

    public Task<bool> WaitForSyncAsync(TimeSpan timeout, CancellationToken ct) => Task.FromResult(true);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
