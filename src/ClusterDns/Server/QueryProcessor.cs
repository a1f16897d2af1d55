using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Server;

/// <summary>Counters for what never reaches a plugin (the prometheus plugin exports them).</summary>
public static class ServerCounters
{
    private static long _dropped;
    private static long _formErr;
    private static long _panics;

    public static long Dropped => Interlocked.Read(ref _dropped);

    public static long FormErr => Interlocked.Read(ref _formErr);

    public static long Panics => Interlocked.Read(ref _panics);

    internal static void CountDropped() => Interlocked.Increment(ref _dropped);

    internal static void CountFormErr() => Interlocked.Increment(ref _formErr);

    internal static void CountPanic() => Interlocked.Increment(ref _panics);

    /// <summary>Raised for every query rejected before a chain ran, and for recovered panics (zone "dropped"): server, rcode written.</summary>
    public static event Action<DnsRequest, DnsRcode>? Rejected;

    internal static void OnRejected(DnsRequest request, DnsRcode rcode) => Rejected?.Invoke(request, rcode);
}

/// <summary>
/// The per-query path shared by UDP, TCP and in-memory callers: validate, route, run the chain, and make
/// sure a reply is written when CoreDNS would write one. Completes synchronously unless a plugin awaits I/O.
/// </summary>
public static partial class QueryProcessor
{
    /// <summary>Processes a request whose query bytes were already loaded with <see cref="DnsRequest.Prepare"/>.
    /// Afterwards <c>request.Response.Written</c> says whether there is something to send.</summary>
    public static ValueTask ProcessAsync(DnsRequest request, QueryDisposition disposition, ListenerRoutes routes, ILogger logger, CancellationToken cancellationToken)
    {
        request.Server = routes.Address;
        switch (disposition)
        {
            case QueryDisposition.Drop:
                ServerCounters.CountDropped();
                return ValueTask.CompletedTask;
            case QueryDisposition.FormErr:
                ServerCounters.CountFormErr();
                request.Response.WriteError(DnsRcode.FormErr);
                ServerCounters.OnRejected(request, DnsRcode.FormErr);
                return ValueTask.CompletedTask;
            case QueryDisposition.NotImp:
                request.Response.WriteError(DnsRcode.NotImp);
                ServerCounters.OnRejected(request, DnsRcode.NotImp);
                return ValueTask.CompletedTask;
        }
        if (request.Class != DnsClass.IN && !routes.AllowAnyClass)
        {
            return Reject(request, DnsRcode.Refused);
        }
        if (request.HasEdns && request.Info.EdnsVersion != 0)
        {
            return Reject(request, DnsRcode.BadVers);
        }
        var block = routes.Route(request);
        if (block?.Chain is not { } chain)
        {
            return Reject(request, DnsRcode.Refused);
        }
        request.Zone = block.MatchZone(request.LowerNameWire);
        request.View = block.ViewName;
        ValueTask<DnsResult> pending;
        try
        {
            pending = chain.ServeAsync(request, cancellationToken);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            Recover(request, routes, logger, exception);
            return ValueTask.CompletedTask;
        }
        if (pending.IsCompletedSuccessfully)
        {
            Finish(request, pending.Result);
            return ValueTask.CompletedTask;
        }
        return AwaitChain(request, pending, routes, logger);
    }

    private static async ValueTask AwaitChain(DnsRequest request, ValueTask<DnsResult> pending, ListenerRoutes routes, ILogger logger)
    {
        try
        {
            Finish(request, await pending.ConfigureAwait(false));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            Recover(request, routes, logger, exception);
        }
    }

    private static ValueTask Reject(DnsRequest request, DnsRcode rcode)
    {
        request.Response.WriteError(rcode);
        ServerCounters.OnRejected(request, rcode);
        return ValueTask.CompletedTask;
    }

    private static void Finish(DnsRequest request, DnsResult result)
    {
        if (!request.Response.Written && !request.Response.Dropped)
        {
            // SERVFAIL/REFUSED/FORMERR/NOTIMP: the server writes. A plugin that returned another rcode without
            // writing is a bug; answer SERVFAIL rather than leave the client waiting.
            request.Response.WriteError(result.ServerWrites ? result.Rcode : DnsRcode.ServFail);
        }
    }

    private static void Recover(DnsRequest request, ListenerRoutes routes, ILogger logger, Exception exception)
    {
        ServerCounters.CountPanic();
        LogPanic(logger, routes.Address, routes.PanicStacktraces ? $"{exception.Message}\n{exception.StackTrace}" : exception.Message, exception);
        request.Response.WriteError(DnsRcode.ServFail);
        // CoreDNS's recover calls errorAndMetricsFunc: the SERVFAIL is counted under zone "dropped".
        ServerCounters.OnRejected(request, DnsRcode.ServFail);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Recovered from panic in server: \"{Server}\" {Reason}")]
    private static partial void LogPanic(ILogger logger, string server, string reason, Exception exception);
}
