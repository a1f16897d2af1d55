using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Routes library logs to the xunit test output, so a failing test shows what the watcher did.</summary>
public sealed class XunitLoggerProvider(ITestOutputHelper output, LogLevel minLevel = LogLevel.Debug) : ILoggerProvider
{
    public static ILoggerFactory CreateFactory(ITestOutputHelper output, LogLevel minLevel = LogLevel.Debug) =>
        LoggerFactory.Create(b => b.SetMinimumLevel(minLevel).AddProvider(new XunitLoggerProvider(output, minLevel)));

    public ILogger CreateLogger(string categoryName) => new Logger(output, categoryName, minLevel);

    public void Dispose()
    {
    }

    private sealed class Logger(ITestOutputHelper output, string category, LogLevel minLevel) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            try
            {
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}"
                                 + (exception is null ? "" : $" [{exception.GetType().Name}: {exception.Message}]"));
            }
            catch (InvalidOperationException)
            {
                // The test already finished.
            }
        }
    }
}
