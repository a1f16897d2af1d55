using System.Buffers.Binary;
using System.Net;
using ClusterDns.Corefile;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Transfer;

/// <summary>
/// CoreDNS <c>transfer</c>: answers AXFR/IXFR over TCP for its zones from the first <see cref="ITransferSource"/>
/// after it in the chain, to the peers listed in <c>to</c> (<c>*</c> = anyone). UDP or a peer not listed gets REFUSED;
/// a zone no source owns is passed on (so the source itself can refuse it). The stream is split into messages of at
/// most <see cref="MaxRecordsPerMessage"/> records that each fit 64 KiB, sent back to back on the connection.
/// </summary>
public sealed class TransferPlugin : DnsPlugin
{
    /// <summary>CoreDNS flushes an envelope once it holds more than 500 records.</summary>
    public const int MaxRecordsPerMessage = 500;

    // Every stanza's zones in one set, with the stanza owning each: the longest zone picks the stanza.
    private readonly ZoneSet _zones;
    private readonly TransferRule[] _zoneRules;
    private readonly ILogger _logger;

    internal TransferPlugin(TransferRule[] rules, ILogger logger)
    {
        var zones = new List<string>();
        var zoneRules = new List<TransferRule>();
        foreach (var rule in rules)
        {
            foreach (var zone in rule.Zones)
            {
                zones.Add(zone);
                zoneRules.Add(rule);
            }
        }
        _zones = new ZoneSet(zones);
        _zoneRules = [.. zoneRules];
        _logger = logger;
    }

    public override string Name => "transfer";

    private static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (request.Type is not (DnsType.AXFR or DnsType.IXFR))
        {
            return NextAsync(request, cancellationToken);
        }
        if (request.Transport != DnsTransport.Tcp)
        {
            return new ValueTask<DnsResult>(new DnsResult(DnsRcode.Refused));
        }
        var match = _zones.Match(request.LowerNameWire);
        if (match < 0)
        {
            return NextAsync(request, cancellationToken);
        }
        var rule = _zoneRules[match];
        var qname = request.QuestionName;
        if (!rule.Allows(Normalize(request.RemoteEndPoint.Address)))
        {
            // Written here (not left to the server) so log/metrics see it, as CoreDNS does.
            request.Response.Write(request.CreateReply(DnsRcode.Refused, authoritative: false), Name);
            return new ValueTask<DnsResult>(DnsResult.Success);
        }

        uint? serial = null;
        if (request.Type == DnsType.IXFR)
        {
            var authority = request.Message.Authorities;
            if (authority.Count != 1 || authority[0] is not SoaRecord soa)
            {
                return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail, "plugin/transfer: IXFR without exactly one SOA"));
            }
            serial = soa.Serial;
        }

        for (var plugin = Next; plugin is not null; plugin = plugin.Next)
        {
            if (plugin is ITransferSource source && source.Transfer(qname, serial) is { } records)
            {
                Send(request, records);
                if (records.Count == 1)
                {
                    _logger.UpToDate(qname.ToString(), request.RemoteEndPoint.Address.ToString(), (records[0] as SoaRecord)?.Serial ?? 0);
                }
                else
                {
                    _logger.Transferred(records.Count, qname.ToString(), request.RemoteEndPoint.Address.ToString(), (records[0] as SoaRecord)?.Serial ?? 0);
                }
                return new ValueTask<DnsResult>(DnsResult.Success);
            }
        }
        return NextAsync(request, cancellationToken);
    }

    /// <summary>Writes the first message as the reply and queues the rest; each holds as many records as fit.</summary>
    private void Send(DnsRequest request, IReadOnlyList<DnsRecord> records)
    {
        var buffer = new byte[DnsRequest.MaxMessageSize];
        var at = 0;
        var first = true;
        while (at < records.Count || first)
        {
            var message = request.CreateReply();
            message.Additionals.Clear(); // no OPT in transfer messages
            var take = Math.Min(MaxRecordsPerMessage, records.Count - at);
            for (var i = 0; i < take; i++)
            {
                message.Answers.Add(records[at + i]);
            }
            var length = message.Write(buffer, DnsRequest.MaxMessageSize);
            // Write drops whole records that do not fit 64 KiB; the header says how many made it.
            var written = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(6));
            if (written < take)
            {
                buffer[2] &= 0xFD; // clear TC: the rest follows in the next message
            }
            if (first)
            {
                buffer.AsSpan(0, length).CopyTo(request.Response.GetBuffer(length));
                request.Response.Commit(length, Name);
                first = false;
            }
            else
            {
                request.Response.AddMessage(buffer[..length]);
            }
            if (written == 0 && take > 0)
            {
                break; // a single record larger than a message: cannot happen for our names, but never loop forever
            }
            at += written;
        }
    }
}

/// <summary>One <c>transfer</c> stanza: its zones and who may transfer them.</summary>
internal sealed record TransferRule(IReadOnlyList<string> Zones, bool Any, IPAddress[] Peers)
{
    public bool Allows(IPAddress client) => Any || Array.Exists(Peers, p => p.Equals(client));
}

internal static partial class TransferLog
{
    [LoggerMessage(201, LogLevel.Information, "Outgoing transfer of {Count} records of zone \"{Zone}\" to {Client} for {Serial} SOA serial")]
    public static partial void Transferred(this ILogger logger, int count, string zone, string client, uint serial);

    [LoggerMessage(202, LogLevel.Information, "Outgoing noop, incremental transfer for up to date zone \"{Zone}\" to {Client} for {Serial} SOA serial")]
    public static partial void UpToDate(this ILogger logger, string zone, string client, uint serial);
}
