using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Cancel;

/// <summary>
/// CoreDNS <c>cancel</c>: gives every query a deadline (<see cref="DnsRequest.Deadline"/>, CoreDNS's context.WithTimeout)
/// that plugins waiting on I/O honour; <c>forward</c> abandons its upstream exchange and answers SERVFAIL when it fires.
/// The token sources are pooled, so a query answered in time allocates nothing.
/// </summary>
public sealed class CancelPlugin(TimeSpan timeout) : DnsPlugin
{
    private static readonly ConcurrentQueue<CancellationTokenSource> Sources = new();

    public override string Name => "cancel";

    public TimeSpan Timeout { get; } = timeout;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var source = Sources.TryDequeue(out var pooled) ? pooled : new CancellationTokenSource();
        source.CancelAfter(Timeout);
        var outer = request.Deadline;
        request.Deadline = source.Token;
        ValueTask<DnsResult> pending;
        try
        {
            pending = NextAsync(request, cancellationToken);
        }
        catch
        {
            Finish(request, source, outer);
            throw;
        }
        if (pending.IsCompleted)
        {
            Finish(request, source, outer);
            return pending;
        }
        return AwaitAsync(request, pending, source, outer);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<DnsResult> AwaitAsync(DnsRequest request, ValueTask<DnsResult> pending, CancellationTokenSource source,
        CancellationToken outer)
    {
        try
        {
            return await pending.ConfigureAwait(false);
        }
        finally
        {
            Finish(request, source, outer);
        }
    }

    private static void Finish(DnsRequest request, CancellationTokenSource source, CancellationToken outer)
    {
        request.Deadline = outer;
        if (source.TryReset() && Sources.Count < 1024)
        {
            Sources.Enqueue(source);
            return;
        }
        source.Dispose();
    }
}
