using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Errors;

/// <summary>
/// CoreDNS <c>errors</c>: calls the rest of the chain and logs the error it returns as
/// <c>RCODE qname QTYPE: error</c>; errors matching a <c>consolidate</c> rule are counted and summarised
/// once per period instead. The reply is never touched.
/// </summary>
public sealed partial class ErrorsPlugin : DnsPlugin, IPluginLifecycle
{
    private readonly ILogger _logger;
    private readonly Consolidator[] _consolidators;
    private int _stopped;

    internal ErrorsPlugin(ErrorsOptions options, ILogger logger)
    {
        Options = options;
        _logger = logger;
        _consolidators = new Consolidator[options.Rules.Count];
        for (var i = 0; i < _consolidators.Length; i++)
        {
            _consolidators[i] = new Consolidator(this, options.Rules[i]);
        }
    }

    public override string Name => "errors";

    internal ErrorsOptions Options { get; }

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var pending = NextAsync(request, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            var result = pending.Result;
            if (result.Error is not null)
            {
                Report(request, result);
            }
            return new ValueTask<DnsResult>(result);
        }
        return AwaitNext(request, pending);
    }

    private async ValueTask<DnsResult> AwaitNext(DnsRequest request, ValueTask<DnsResult> pending)
    {
        var result = await pending.ConfigureAwait(false);
        if (result.Error is not null)
        {
            Report(request, result);
        }
        return result;
    }

    /// <summary>The error path: allocation here is fine (CoreDNS formats a string too).</summary>
    private void Report(DnsRequest request, DnsResult result)
    {
        var error = result.Error!;
        foreach (var consolidator in _consolidators)
        {
            if (consolidator.Rule.Pattern.IsMatch(error))
            {
                if (consolidator.Count(out var logFirst) && !logFirst)
                {
                    return;
                }
                break;
            }
        }
        LogError(_logger, (int)result.Rcode, request.Name, request.Type.ToText(), error);
    }

    Task IPluginLifecycle.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IPluginLifecycle.StopAsync()
    {
        Stop();
        return Task.CompletedTask;
    }

    /// <summary>Stops counting and prints every pending summary now.</summary>
    internal void Stop()
    {
        Volatile.Write(ref _stopped, 1);
        foreach (var consolidator in _consolidators)
        {
            consolidator.Flush();
        }
    }

    private bool Stopped => Volatile.Read(ref _stopped) != 0;

    [LoggerMessage(Level = LogLevel.Error, Message = "{Rcode} {Name} {Type}: {Error}")]
    private static partial void LogError(ILogger logger, int rcode, string name, string type, string error);

    [LoggerMessage(Message = "{Count} errors like '{Pattern}' occurred in last {Period}")]
    private static partial void LogSummary(ILogger logger, LogLevel level, int count, string pattern, string period);

    /// <summary>Counter and timer of one rule: the first match starts a one-shot timer that prints the summary.</summary>
    private sealed class Consolidator(ErrorsPlugin owner, ConsolidateRule rule)
    {
        private readonly string _period = GoDuration.Format(rule.Period);
        private readonly Lock _gate = new();
        private int _count;
        private Timer? _timer;

        public ConsolidateRule Rule { get; } = rule;

        /// <summary>Counts one error; false when stopped (the caller logs it normally). <paramref name="logFirst"/> asks
        /// the caller to log this occurrence too (show_first on the first error of a period).</summary>
        public bool Count(out bool logFirst)
        {
            logFirst = false;
            if (owner.Stopped)
            {
                return false;
            }
            if (Interlocked.Increment(ref _count) == 1)
            {
                logFirst = Rule.ShowFirst;
                lock (_gate)
                {
                    _timer?.Dispose();
                    // Go's AfterFunc fires at once for zero or negative periods; Timer rejects negatives.
                    var due = Rule.Period > TimeSpan.Zero ? Rule.Period : TimeSpan.Zero;
                    _timer = new Timer(static state => ((Consolidator)state!).Elapsed(), this, due, Timeout.InfiniteTimeSpan);
                }
                if (owner.Stopped)
                {
                    Flush(); // stopped while arming: print now rather than lose the count
                }
            }
            return true;
        }

        private void Elapsed() => Print();

        public void Flush()
        {
            lock (_gate)
            {
                _timer?.Dispose();
                _timer = null;
            }
            Print();
        }

        private void Print()
        {
            var count = Interlocked.Exchange(ref _count, 0);
            // With show_first the first error was already printed; a summary only says something when more followed.
            if (count > (Rule.ShowFirst ? 1 : 0))
            {
                LogSummary(owner._logger, Rule.Level, count, Rule.PatternText, _period);
            }
        }
    }
}
