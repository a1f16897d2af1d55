using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Logging;

/// <summary>
/// Log lines as CoreDNS prints them: no timestamp, <c>[LEVEL] </c>, then <c>plugin/NAME: </c> when the category is a
/// plugin (<c>plugin/kubernetes</c>), then the message. Lines go through a channel to one writer thread, so a
/// busy <c>log</c> plugin does not serialise query threads on the console lock.
/// </summary>
public sealed class CoreDnsLoggerProvider : ILoggerProvider
{
    private readonly Channel<string> _lines = Channel.CreateBounded<string>(new BoundedChannelOptions(65536)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly TextWriter _output;
    private readonly Task _writer;

    public CoreDnsLoggerProvider(TextWriter output, LogLevel minimumLevel = LogLevel.Information)
    {
        _output = output;
        MinimumLevel = minimumLevel;
        _writer = Task.Run(WriteLinesAsync);
    }

    /// <summary>Lowered to Debug by the <c>debug</c> plugin.</summary>
    public LogLevel MinimumLevel { get; set; }

    public ILogger CreateLogger(string categoryName) => new CoreDnsLogger(this, categoryName);

    internal void Enqueue(string line)
    {
        if (!_lines.Writer.TryWrite(line))
        {
            _lines.Writer.WriteAsync(line).AsTask().GetAwaiter().GetResult();
        }
    }

    private async Task WriteLinesAsync()
    {
        var reader = _lines.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var line))
            {
                await _output.WriteLineAsync(line).ConfigureAwait(false);
            }
            await _output.FlushAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Writes what is queued (used before exit).</summary>
    public void Flush()
    {
        _lines.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(5));
    }

    public void Dispose() => Flush();

    private sealed class CoreDnsLogger(CoreDnsLoggerProvider provider, string category) : ILogger
    {
        private readonly string _prefix = category.StartsWith("plugin/", StringComparison.Ordinal) ? category + ": " : string.Empty;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider.MinimumLevel && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            var level = logLevel switch
            {
                LogLevel.Trace or LogLevel.Debug => "[DEBUG] ",
                LogLevel.Information => "[INFO] ",
                LogLevel.Warning => "[WARNING] ",
                LogLevel.Error => "[ERROR] ",
                _ => "[FATAL] ",
            };
            var message = formatter(state, exception);
            provider.Enqueue(exception is null || logLevel < LogLevel.Error || message.Contains(exception.Message, StringComparison.Ordinal)
                ? string.Concat(level, _prefix, message)
                : string.Concat(level, _prefix, message, ": ", exception.Message));
        }
    }
}
