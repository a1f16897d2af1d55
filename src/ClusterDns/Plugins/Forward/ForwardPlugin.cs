using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using ClusterDns.Corefile;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Forward;

internal enum ForwardPolicy : byte
{
    Random,
    RoundRobin,
    Sequential,
}

/// <summary>
/// CoreDNS's <c>forward</c>: one instance per <c>forward</c> line, chained in file order. Sends the client's query
/// (new id) to an upstream chosen by the policy, moves on after network errors (kicking the upstream's health check),
/// and relays the upstream's reply as-is.
/// </summary>
public sealed partial class ForwardPlugin : DnsPlugin, IPluginLifecycle, IForwardStatistics
{
    /// <summary>Overall time budget of one query (defaultTimeout).</summary>
    internal static readonly TimeSpan QueryDeadline = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger;
    private readonly Upstream[] _upstreams;
    private long _concurrent;
    private uint _robin;
    private long _healthcheckBroken;
    private long _maxConcurrentRejects;

    internal ForwardPlugin(ForwardOptions options, Upstream[] upstreams, ILogger logger)
    {
        Options = options;
        _upstreams = upstreams;
        _logger = logger;
        From = DnsName.Parse(options.From).ToLowerInvariant().Wire.ToArray();
        Except = new ZoneSet(options.Except);
        LimitError = "concurrent queries exceeded maximum " + options.MaxConcurrentText;
    }

    public override string Name => "forward";

    internal ForwardOptions Options { get; }

    internal IReadOnlyList<Upstream> UpstreamList => _upstreams;

    private byte[] From { get; }

    private ZoneSet Except { get; }

    private string LimitError { get; }

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (!Match(request.LowerNameWire))
        {
            return NextAsync(request, cancellationToken);
        }
        // Counted before the check, as CoreDNS does; ForwardAsync gives the slot back.
        if (Interlocked.Increment(ref _concurrent) > Options.MaxConcurrent && Options.MaxConcurrent > 0)
        {
            Interlocked.Decrement(ref _concurrent);
            Interlocked.Increment(ref _maxConcurrentRejects);
            ForwardMetrics.MaxConcurrentRejects.Inc();
            return new ValueTask<DnsResult>(new DnsResult(DnsRcode.Refused, LimitError));
        }
        return ForwardAsync(request, cancellationToken);
    }

    /// <summary>Under FROM, and not under an <c>except</c> name (unless the name is FROM itself).</summary>
    private bool Match(ReadOnlySpan<byte> name)
    {
        if (!DnsNameSpan.IsSubdomainOf(name, From))
        {
            return false;
        }
        if (name.SequenceEqual(From))
        {
            return true;
        }
        return !Except.Covers(name);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<DnsResult> ForwardAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var count = _upstreams.Length;
        var order = ArrayPool<int>.Shared.Rent(count);
        var queryLength = request.QueryLength;
        var frame = ArrayPool<byte>.Shared.Rent(queryLength + 2);
        try
        {
            Order(order, count);
            BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)queryLength);
            request.Query.CopyTo(frame.AsSpan(2));
            var udpSize = request.MaxResponseSize;
            var deadline = Environment.TickCount64 + (long)QueryDeadline.TotalMilliseconds;
            string? upstreamError = null;
            var fails = 0;
            var attempts = 0;
            var i = 0;
            while (Environment.TickCount64 < deadline && !cancellationToken.IsCancellationRequested && !request.Deadline.IsCancellationRequested
                && (Options.MaxConnectAttempts == 0 || attempts < Options.MaxConnectAttempts))
            {
                if (i >= count)
                {
                    i = 0;
                    fails = 0;
                }
                var upstream = _upstreams[order[i]];
                i++;
                if (upstream.Down(Options.MaxFails))
                {
                    fails++;
                    if (fails < count)
                    {
                        continue;
                    }
                    // Every upstream is down: assume the health checks are broken and spray to a random one.
                    Interlocked.Increment(ref _healthcheckBroken);
                    ForwardMetrics.HealthcheckBroken.Inc();
                    if (Options.FailFast)
                    {
                        break;
                    }
                    upstream = _upstreams[Random.Shared.Next(count)];
                }
                attempts++;
                var tcp = Options.ForceTcp || (!Options.PreferUdp && request.Transport == DnsTransport.Tcp);
                ExchangeResult result;
                var started = Stopwatch.GetTimestamp();
                while (true)
                {
                    // Each attempt gets a fresh id, restored before the reply reaches the client.
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)Random.Shared.Next(ushort.MaxValue + 1));
                    result = await upstream.ExchangeAsync(frame, queryLength, tcp, udpSize, cancellationToken, request.Deadline).ConfigureAwait(false);
                    if (result.Status == ExchangeStatus.CachedClosed)
                    {
                        continue; // the upstream closed a pooled connection: redial
                    }
                    if (result.Status == ExchangeStatus.Ok && !tcp && Options.PreferUdp && request.Transport == DnsTransport.Tcp
                        && (result.Buffer![2] & (DnsHeader.TcBit >> 8)) != 0)
                    {
                        // prefer_udp for a TCP client: a truncated UDP answer is retried over TCP.
                        ArrayPool<byte>.Shared.Return(result.Buffer);
                        tcp = true;
                        continue;
                    }
                    break;
                }
                if (result.Status != ExchangeStatus.Ok)
                {
                    upstreamError = result.Error;
                    if (Options.MaxFails != 0)
                    {
                        upstream.TriggerHealthCheck();
                    }
                    if (fails < count)
                    {
                        continue;
                    }
                    break;
                }
                var buffer = result.Buffer!;
                try
                {
                    var reply = buffer.AsSpan(0, result.Length);
                    var rcode = (DnsRcode)(reply[3] & 0xF);
                    var elapsed = Stopwatch.GetElapsedTime(started);
                    upstream.Counters.Observe((int)rcode, elapsed);
                    upstream.Series.Response((int)rcode, elapsed.TotalSeconds);
                    if (!ReplyMatches(request, reply))
                    {
                        LogWrongReply(_logger, request.Name, request.Type.ToText());
                        request.Response.WriteError(DnsRcode.FormErr, Name);
                        return DnsResult.Success;
                    }
                    if (Contains(Options.FailoverRcodes, rcode) && fails < count)
                    {
                        fails++;
                        continue;
                    }
                    if (Contains(Options.NextRcodes, rcode) && Next is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = null!;
                        return await NextAsync(request, cancellationToken).ConfigureAwait(false);
                    }
                    WriteReply(request, reply);
                    return DnsResult.Success;
                }
                finally
                {
                    if (buffer is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
            }
            return new DnsResult(DnsRcode.ServFail, upstreamError ?? "no healthy proxies");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
            ArrayPool<int>.Shared.Return(order);
            Interlocked.Decrement(ref _concurrent);
        }
    }

    /// <summary>The upstream's reply, id restored, within the client's size limit.</summary>
    private void WriteReply(DnsRequest request, Span<byte> reply)
    {
        BinaryPrimitives.WriteUInt16BigEndian(reply, request.Id);
        if (reply.Length > request.MaxResponseSize)
        {
            // Bigger than this client takes (TCP upstream, UDP client): truncate with TC as the server's scrub does.
            if (DnsMessage.TryParse(reply, out var message, out _))
            {
                request.Response.Write(message, Name);
                return;
            }
            request.Response.WriteError(DnsRcode.ServFail, Name);
            return;
        }
        reply.CopyTo(request.Response.GetBuffer(reply.Length));
        request.Response.Commit(reply.Length, Name);
    }

    /// <summary>request.Match: a response with exactly our question (name compared case-insensitively).</summary>
    private static bool ReplyMatches(DnsRequest request, ReadOnlySpan<byte> reply)
    {
        if (reply.Length < DnsHeader.Size || (reply[2] & 0x80) == 0 || BinaryPrimitives.ReadUInt16BigEndian(reply[4..]) != 1)
        {
            return false;
        }
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        var reader = new DnsReader(reply, DnsHeader.Size);
        return reader.TryReadName(name, out var length) && reader.TryReadUInt16(out var type) && reader.TryReadUInt16(out var @class)
            && (DnsType)type == request.Type && (DnsClass)@class == request.Class
            && DnsNameSpan.EqualsIgnoreCase(name[..length], request.LowerNameWire);
    }

    private static bool Contains(DnsRcode[] codes, DnsRcode rcode)
    {
        foreach (var code in codes)
        {
            if (code == rcode)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The policy's upstream order for this query, as indices into the configured list.</summary>
    private void Order(int[] order, int count)
    {
        switch (Options.Policy)
        {
            case ForwardPolicy.Sequential:
                for (var i = 0; i < count; i++)
                {
                    order[i] = i;
                }
                break;
            case ForwardPolicy.RoundRobin:
                var start = (int)(Interlocked.Increment(ref _robin) % (uint)count);
                for (var i = 0; i < count; i++)
                {
                    order[i] = (start + i) % count;
                }
                break;
            default:
                for (var i = 0; i < count; i++)
                {
                    order[i] = i;
                }
                Random.Shared.Shuffle(order.AsSpan(0, count));
                break;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var upstream in _upstreams)
        {
            upstream.Start();
        }
        return Task.CompletedTask;
    }

    public Task StopAsync()
    {
        foreach (var upstream in _upstreams)
        {
            upstream.Dispose();
        }
        return Task.CompletedTask;
    }

    public long HealthcheckBroken => Interlocked.Read(ref _healthcheckBroken);

    public long MaxConcurrentRejects => Interlocked.Read(ref _maxConcurrentRejects);

    public IReadOnlyList<IUpstreamStatistics> Upstreams => _upstreams;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Wrong reply for {Name} {Type}")]
    private static partial void LogWrongReply(ILogger logger, string name, string type);
}
