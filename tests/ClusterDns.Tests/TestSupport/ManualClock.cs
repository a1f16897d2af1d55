namespace ClusterDns.Tests.TestSupport;

/// <summary>A clock whose "now" the test sets or advances by hand; timers created from it still run on real time.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _utcTicks;

    /// <summary>Starts at 2025-01-01T00:00:00Z.</summary>
    public ManualClock()
        : this(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    public ManualClock(long unixSeconds)
        : this(DateTimeOffset.FromUnixTimeSeconds(unixSeconds))
    {
    }

    public ManualClock(DateTimeOffset start) => _utcTicks = start.UtcTicks;

    public void Set(long unixSeconds) => Interlocked.Exchange(ref _utcTicks, DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcTicks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);
}
