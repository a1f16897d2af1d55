using System.Buffers.Binary;
using System.Net.Sockets;
using ClusterDns.Protocol;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Forward;

// Health checks (CoreDNS's health.go): the probe loop a failed exchange starts, and one check.
internal sealed partial class Upstream
{
    /// <summary>Proxy.Healthcheck: starts the probe loop unless it already runs. It checks at once, then every
    /// interval until a check succeeds; each failure counts towards <c>max_fails</c>.</summary>
    public void TriggerHealthCheck()
    {
        if (Interlocked.CompareExchange(ref _probing, 1, 0) != 0)
        {
            return;
        }
        _ = ProbeLoopAsync(_stopping.Token);
    }

    private async Task ProbeLoopAsync(CancellationToken stopping)
    {
        try
        {
            await Task.Yield();
            while (!stopping.IsCancellationRequested)
            {
                if (await CheckAsync().ConfigureAwait(false))
                {
                    Volatile.Write(ref _fails, 0);
                    return;
                }
                Interlocked.Increment(ref Counters.HealthcheckFailures);
                Series.HealthcheckFailure();
                Interlocked.Increment(ref _fails);
                await Task.Delay(HealthCheckInterval, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Volatile.Write(ref _probing, 0);
        }
    }

    /// <summary>One health check: <c>. IN NS</c> (RD unless no_rec) on a fresh connection, 1 s timeout; any reply is healthy.</summary>
    internal async Task<bool> CheckAsync()
    {
        var domain = HealthCheckDomain;
        var frame = new byte[2 + DnsHeader.Size + domain.Length + 4];
        var id = (ushort)Random.Shared.Next(ushort.MaxValue + 1);
        var header = new DnsHeader { Id = id, QuestionCount = 1 };
        header.RecursionDesired = HealthCheckRecursionDesired;
        header.Write(frame.AsSpan(2));
        domain.CopyTo(frame.AsSpan(2 + DnsHeader.Size));
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2 + DnsHeader.Size + domain.Length), (ushort)DnsType.NS);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(4 + DnsHeader.Size + domain.Length), (ushort)DnsClass.IN);
        BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)(frame.Length - 2));
        var proto = Tls is not null ? "tcp-tls" : HealthCheckTcp ? "tcp" : "udp";
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        UpstreamConnection? connection = null;
        try
        {
            var dialed = await DialAsync(proto, timeout.Token).ConfigureAwait(false);
            if (dialed.Connection is null)
            {
                LogHealthCheckFailed(_logger, To, dialed.Error!);
                return false;
            }
            connection = dialed.Connection;
            var reply = new byte[ushort.MaxValue];
            if (connection.Stream is null)
            {
                await connection.Socket.SendAsync(frame.AsMemory(2), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                while (true)
                {
                    var received = await connection.Socket.ReceiveAsync(reply, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (received >= DnsHeader.Size && BinaryPrimitives.ReadUInt16BigEndian(reply) == id)
                    {
                        return true;
                    }
                }
            }
            await connection.Stream.WriteAsync(frame, timeout.Token).ConfigureAwait(false);
            await connection.Stream.ReadExactlyAsync(connection.Prefix, timeout.Token).ConfigureAwait(false);
            var size = BinaryPrimitives.ReadUInt16BigEndian(connection.Prefix);
            await connection.Stream.ReadExactlyAsync(reply.AsMemory(0, size), timeout.Token).ConfigureAwait(false);
            return size >= DnsHeader.Size && BinaryPrimitives.ReadUInt16BigEndian(reply) == id;
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or IOException
            or ObjectDisposedException)
        {
            LogHealthCheckFailed(_logger, To, exception is OperationCanceledException ? "i/o timeout" : exception.Message);
            return false;
        }
        finally
        {
            connection?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "health check for {To} failed: {Reason}")]
    private static partial void LogHealthCheckFailed(ILogger logger, string to, string reason);
}
