namespace ClusterDns.Tests.TestSupport;

/// <summary>Allocation assertions for hot paths that must allocate nothing per call.</summary>
internal static class Allocations
{
    /// <summary>
    /// Runs <paramref name="call"/> 100 times to warm it (compiled replies, JIT), then asserts that some round of 1,000
    /// calls allocated nothing on this thread. A per-call allocation shows in every round; a one-off (a busy machine's
    /// runtime housekeeping landing on this thread, seen only under the full suite's load) shows in one.
    /// </summary>
    public static void AssertNonePerCall(Action call, string what)
    {
        for (var i = 0; i < 100; i++)
        {
            call();
        }
        var rounds = new long[3];
        for (var round = 0; round < rounds.Length; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                call();
            }
            rounds[round] = GC.GetAllocatedBytesForCurrentThread() - before;
            if (rounds[round] == 0)
            {
                return;
            }
        }
        Assert.Fail($"{what}: allocated in every round of 1000 calls: {string.Join(", ", rounds)} bytes");
    }
}
