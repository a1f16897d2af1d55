using System.Net;
using ClusterDns.Corefile;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Local;

/// <summary>
/// CoreDNS <c>local</c>: answers for <c>localhost.</c>, <c>0.in-addr.arpa.</c>, <c>127.in-addr.arpa.</c> and
/// <c>255.in-addr.arpa.</c> itself (loopback addresses, SOA/NS at the apexes, the one PTR, NXDOMAIN elsewhere), and
/// gives loopback answers to names under <c>.localhost.</c> and (unless turned off) to <c>localhost.&lt;anything&gt;</c>,
/// so these never leak to upstream resolvers. Matching reads the lower-cased wire name: other queries pay nothing.
/// </summary>
public sealed partial class LocalPlugin(bool disableLocalhostPrefix, ILogger logger) : DnsPlugin
{
    private const uint Ttl = 604800;

    private static readonly byte[] LocalhostLabel = [9, .. "localhost"u8];
    private static readonly byte[] Localhost = [.. LocalhostLabel, 0];
    private static readonly ZoneSet Zones = new(["localhost.", "0.in-addr.arpa.", "127.in-addr.arpa.", "255.in-addr.arpa."]);
    private static readonly byte[] LoopbackPtr = DnsName.Parse("1.0.0.127.in-addr.arpa.").Wire.ToArray();
    private static readonly DnsName LocalhostName = DnsName.Parse("localhost.");
    private static readonly DnsName RootLocalhostName = DnsName.Parse("root.localhost.");

    public override string Name => "local";

    public bool DisableLocalhostPrefix { get; } = disableLocalhostPrefix;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var name = request.LowerNameWire;
        if (name.Length > Localhost.Length && (DnsNameSpan.IsSubdomainOf(name, Localhost) || (!DisableLocalhostPrefix && name.StartsWith(LocalhostLabel))))
        {
            if (logger.IsEnabled(LogLevel.Debug))
            {
                LogIntercept(logger, request.Name, request.Type.ToText(), request.RemoteEndPoint.Address);
            }
            LocalMetrics.LocalhostRequests.Inc();
            request.Response.Write(Loopback(request), Name);
            return new ValueTask<DnsResult>(DnsResult.Success);
        }
        var zone = Zones.Match(name);
        if (zone < 0)
        {
            return NextAsync(request, cancellationToken);
        }
        request.Response.Write(Answer(request, Zones.Name(zone).WireLength), Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }

    /// <summary>The reply for a name inside one of the zones; <paramref name="zoneLength"/> is the zone's wire length.</summary>
    private static DnsMessage Answer(DnsRequest request, int zoneLength)
    {
        var reply = request.CreateReply(authoritative: false);
        var qname = request.QuestionName;
        var wire = request.NameWire;
        // The zone as the client spelled it (its case), as CoreDNS slices it off the question.
        var zone = DnsName.FromValidatedWire(wire[^zoneLength..]);
        var name = request.LowerNameWire;
        if (name.Length == zoneLength)
        {
            switch (request.Type)
            {
                case DnsType.A when name.SequenceEqual(Localhost):
                    reply.Answers.Add(new ARecord(IPAddress.Loopback) { Name = qname, Ttl = Ttl });
                    break;
                case DnsType.AAAA when name.SequenceEqual(Localhost):
                    reply.Answers.Add(new AaaaRecord(IPAddress.IPv6Loopback) { Name = qname, Ttl = Ttl });
                    break;
                case DnsType.SOA:
                    reply.Answers.Add(Soa(qname));
                    break;
                case DnsType.NS:
                    reply.Answers.Add(new NsRecord(LocalhostName) { Name = qname, Ttl = Ttl });
                    break;
                default:
                    reply.Authorities.Add(Soa(qname)); // NODATA
                    break;
            }
        }
        else if (name.SequenceEqual(LoopbackPtr))
        {
            if (request.Type == DnsType.PTR)
            {
                reply.Answers.Add(new PtrRecord(LocalhostName) { Name = qname, Ttl = Ttl });
            }
            else
            {
                reply.Authorities.Add(Soa(zone)); // NODATA
            }
        }
        if (reply.Answers.Count == 0 && reply.Authorities.Count == 0)
        {
            reply.Authorities.Add(Soa(zone));
            reply.Rcode = DnsRcode.NXDomain;
        }
        return reply;
    }

    /// <summary>Names under <c>.localhost.</c> (RFC 6761) and legacy <c>localhost.&lt;domain&gt;</c>: loopback or NODATA.</summary>
    private static DnsMessage Loopback(DnsRequest request)
    {
        var reply = request.CreateReply(authoritative: false);
        var qname = request.QuestionName;
        switch (request.Type)
        {
            case DnsType.A:
                reply.Answers.Add(new ARecord(IPAddress.Loopback) { Name = qname, Ttl = Ttl });
                break;
            case DnsType.AAAA:
                reply.Answers.Add(new AaaaRecord(IPAddress.IPv6Loopback) { Name = qname, Ttl = Ttl });
                break;
            default:
                reply.Authorities.Add(Soa(qname));
                break;
        }
        return reply;
    }

    private static SoaRecord Soa(DnsName origin) =>
        new(LocalhostName, RootLocalhostName, 1, 0, 0, 0, Ttl) { Name = origin, Ttl = Ttl };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Intercepting localhost query for \"{Name}\" {Type}, from {Client}")]
    private static partial void LogIntercept(ILogger logger, string name, string type, IPAddress client);
}
