using System.Diagnostics;
using System.Net;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Log;

/// <summary>
/// CoreDNS <c>log</c>: for the first rule whose name scope contains the query name, runs the rest of the chain,
/// then formats one line from the query and the reply as written and logs it at INFO without a plugin prefix.
/// </summary>
public sealed partial class LogPlugin : DnsPlugin
{
    private const string EmptyValue = "-";
    private const int StackLineSize = 512;
    private readonly LogRule[] _rules;
    private readonly ILogger _logger;

    internal LogPlugin(IReadOnlyList<LogRule> rules, ILogger logger)
    {
        _rules = [.. rules];
        _logger = logger;
    }

    public override string Name => "log";

    internal IReadOnlyList<LogRule> Rules => _rules;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var rule = Match(request);
        if (rule is null)
        {
            return NextAsync(request, cancellationToken);
        }
        var start = Stopwatch.GetTimestamp();
        var pending = NextAsync(request, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            Report(request, rule, start);
            return pending;
        }
        return AwaitNext(request, rule, start, pending);
    }

    private async ValueTask<DnsResult> AwaitNext(DnsRequest request, LogRule rule, long start, ValueTask<DnsResult> pending)
    {
        var result = await pending.ConfigureAwait(false);
        Report(request, rule, start);
        return result;
    }

    private LogRule? Match(DnsRequest request)
    {
        var name = request.LowerNameWire;
        foreach (var rule in _rules)
        {
            if (DnsNameSpan.IsSubdomainOf(name, rule.ScopeWire))
            {
                return rule;
            }
        }
        return null;
    }

    private void Report(DnsRequest request, LogRule rule, long start)
    {
        if (!_logger.IsEnabled(LogLevel.Information))
        {
            return;
        }
        var elapsed = ElapsedNanoseconds(start);
        if ((rule.Classes & ResponseClass.All) == 0
            && (rule.Classes & ReplyClassifier.Classify(request.Response.Bytes, request.Response.Written)) == 0
            && (rule.MinDuration <= TimeSpan.Zero || elapsed <= rule.MinDuration.Ticks * 100))
        {
            return;
        }
        var line = new LineBuilder(stackalloc char[StackLineSize]);
        try
        {
            foreach (var node in rule.Format.Nodes)
            {
                AppendNode(ref line, node, request, elapsed);
            }
            LogLine(_logger, line.ToString());
        }
        finally
        {
            line.Dispose();
        }
    }

    private static long ElapsedNanoseconds(long start)
    {
        var delta = Stopwatch.GetTimestamp() - start;
        return Stopwatch.Frequency == 1_000_000_000 ? delta : (long)(delta * (1e9 / Stopwatch.Frequency));
    }

    private static void AppendNode(ref LineBuilder line, in LogNode node, DnsRequest request, long elapsedNanoseconds)
    {
        var response = request.Response;
        switch (node.Label)
        {
            case LogLabel.Literal:
                line.Append(node.Text);
                break;
            case LogLabel.Type:
                line.Append(request.Type.ToText());
                break;
            case LogLabel.Name:
                AppendName(ref line, request.LowerNameWire);
                break;
            case LogLabel.Class:
                line.Append(request.Class.ToText());
                break;
            case LogLabel.Proto:
                line.Append(request.Transport == DnsTransport.Tcp ? "tcp" : "udp");
                break;
            case LogLabel.Size:
                line.Append(request.QueryLength);
                break;
            case LogLabel.Remote:
                AppendAddress(ref line, request.RemoteEndPoint.Address);
                break;
            case LogLabel.Port:
                line.Append(request.RemoteEndPoint.Port);
                break;
            case LogLabel.Local:
                if (request.LocalEndPoint is { } local)
                {
                    AppendAddress(ref line, local.Address);
                }
                else
                {
                    line.Append(EmptyValue);
                }
                break;
            case LogLabel.Id:
                line.Append(request.Id);
                break;
            case LogLabel.Opcode:
                line.Append((long)request.Info.Header.Opcode);
                break;
            case LogLabel.Do:
                line.Append(request.DnssecOk ? "true" : "false");
                break;
            case LogLabel.Bufsize:
                // CoreDNS's state.Size(): 65535 over TCP, else the EDNS size with a 512 floor.
                line.Append(request.MaxResponseSize);
                break;
            case LogLabel.Rcode:
                // Nothing written (the server writes SERVFAIL/REFUSED after us): "-" as CoreDNS since 1.8.5 (#4725).
                line.Append(response.Written ? response.Rcode.ToText() : EmptyValue);
                break;
            case LogLabel.Rsize:
                line.Append(response.Written ? response.Length : 0);
                break;
            case LogLabel.Duration:
                // Go: float64(d/Second) + float64(d%Second)/1e9, printed with 'f' -1.
                var seconds = (elapsedNanoseconds / 1_000_000_000) + ((elapsedNanoseconds % 1_000_000_000) / 1e9);
                line.AppendShortestFixed(seconds);
                line.Append('s');
                break;
            case LogLabel.Rflags:
                if (response.Written)
                {
                    AppendFlags(ref line, response.Flags);
                }
                else
                {
                    line.Append(EmptyValue);
                }
                break;
            case LogLabel.Metadata:
                line.Append(request.Items.TryGetValue(node.Text, out var value) && value switch
                {
                    string text => text,
                    Func<string> func => func(),
                    _ => null,
                } is { } metadata ? metadata : EmptyValue);
                break;
        }
    }

    private static void AppendAddress(ref LineBuilder line, IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            line.Append('[');
            line.Append(address);
            line.Append(']');
        }
        else
        {
            line.Append(address);
        }
    }

    private static void AppendFlags(ref LineBuilder line, ushort flags)
    {
        var first = true;
        Flag(ref line, ref first, flags, DnsHeader.QrBit, "qr");
        Flag(ref line, ref first, flags, DnsHeader.AaBit, "aa");
        Flag(ref line, ref first, flags, DnsHeader.TcBit, "tc");
        Flag(ref line, ref first, flags, DnsHeader.RdBit, "rd");
        Flag(ref line, ref first, flags, DnsHeader.RaBit, "ra");
        Flag(ref line, ref first, flags, DnsHeader.ZBit, "z");
        Flag(ref line, ref first, flags, DnsHeader.AdBit, "ad");
        Flag(ref line, ref first, flags, DnsHeader.CdBit, "cd");

        static void Flag(ref LineBuilder line, ref bool first, ushort flags, ushort bit, string text)
        {
            if ((flags & bit) == 0)
            {
                return;
            }
            if (!first)
            {
                line.Append(',');
            }
            line.Append(text);
            first = false;
        }
    }

    /// <summary>Presentation form of a wire name, escaped as DnsNameSpan.ToText does, without a string per query.</summary>
    private static void AppendName(ref LineBuilder line, ReadOnlySpan<byte> wire)
    {
        if (wire.Length <= 1)
        {
            line.Append('.');
            return;
        }
        var i = 0;
        while (i < wire.Length && wire[i] != 0)
        {
            var length = wire[i];
            for (var j = i + 1; j <= i + length && j < wire.Length; j++)
            {
                var b = wire[j];
                switch (b)
                {
                    case (byte)'.' or (byte)'\\' or (byte)'"' or (byte)'(' or (byte)')' or (byte)';' or (byte)'@' or (byte)'$':
                        line.Append('\\');
                        line.Append((char)b);
                        break;
                    case < 0x21 or > 0x7E:
                        line.Append('\\');
                        line.Append((char)('0' + (b / 100)));
                        line.Append((char)('0' + (b / 10 % 10)));
                        line.Append((char)('0' + (b % 10)));
                        break;
                    default:
                        line.Append((char)b);
                        break;
                }
            }
            line.Append('.');
            i += length + 1;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Line}")]
    private static partial void LogLine(ILogger logger, string line);
}
