using System.Diagnostics;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Polls a condition until it holds or a deadline passes (no sleeps as assertions).</summary>
public static class Eventually
{
    public static async Task True(Func<bool> condition, TimeSpan? timeout = null, string? because = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("condition not met in time" + (because is null ? "" : ": " + because));
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes.</summary>
    public static async Task<bool> Holds(Func<bool> condition, TimeSpan? deadline = null)
    {
        var stopwatch = Stopwatch.StartNew();
        var limit = deadline ?? TimeSpan.FromSeconds(10);
        while (!condition())
        {
            if (stopwatch.Elapsed > limit)
            {
                return false;
            }
            await Task.Delay(20);
        }
        return true;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds or the deadline passes (then fails with <paramref name="what"/>).</summary>
    public static async Task True(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < limit, $"timed out after {limit.TotalSeconds:0}s waiting for {what}");
            await Task.Delay(20);
        }
    }

    /// <summary>Polls <paramref name="condition"/> (async) until true or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> Holds(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await condition())
            {
                return true;
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(50);
        }
    }
}
