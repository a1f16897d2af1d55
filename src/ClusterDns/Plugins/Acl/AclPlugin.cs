using System.Buffers.Binary;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Acl;

/// <summary>
/// CoreDNS <c>acl</c>: the first rule whose zones contain the name decides with its first matching policy. block answers
/// REFUSED with EDE 15 (Blocked), filter an empty NOERROR with EDE 17 (Filtered), drop sends nothing, allow (or no
/// match in any rule) passes the query on. Matching reads the client's raw socket address: nothing is allocated.
/// </summary>
public sealed partial class AclPlugin(AclRule[] rules, ILogger logger) : DnsPlugin
{
    /// <summary>RFC 8914's EDNS option code and the two info codes acl uses.</summary>
    public const ushort EdeOptionCode = 15;
    public const ushort EdeBlocked = 15;
    public const ushort EdeFiltered = 17;

    public override string Name => "acl";

    public IReadOnlyList<AclRule> Rules => rules;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        Span<byte> source = stackalloc byte[16];
        var known = AclPolicy.TrySourceBytes(request.RemoteAddress, source, out var length);
        foreach (var rule in rules)
        {
            var index = rule.Zones.Match(request.LowerNameWire);
            if (index < 0)
            {
                continue;
            }
            AclAction action;
            if (!known)
            {
                LogUnparsable(logger, request.RemoteAddress.Family.ToString());
                action = AclAction.Block;
            }
            else
            {
                action = rule.Match(request.Type, source[..length]);
            }
            var zone = rule.Zones[index];
            switch (action)
            {
                case AclAction.Drop:
                    request.Response.Drop(Name);
                    AclMetrics.ZoneChild(AclMetrics.Dropped, request.Server, zone).Inc();
                    return new ValueTask<DnsResult>(DnsResult.Success);
                case AclAction.Block:
                    Write(request, DnsRcode.Refused, EdeBlocked);
                    AclMetrics.ZoneChild(AclMetrics.Blocked, request.Server, zone).Inc();
                    return new ValueTask<DnsResult>(DnsResult.Success);
                case AclAction.Filter:
                    Write(request, DnsRcode.NoError, EdeFiltered);
                    AclMetrics.ZoneChild(AclMetrics.Filtered, request.Server, zone).Inc();
                    return new ValueTask<DnsResult>(DnsResult.Success);
                case AclAction.Allow:
                    goto allowed;
            }
        }
    allowed:
        AclMetrics.AllowedFor(request.Server).Inc();
        return NextAsync(request, cancellationToken);
    }

    /// <summary>CoreDNS's reply: SetRcode on the query, then SetEdns0(4096, true) with the EDE option; the server's
    /// writer gives the OPT the client's UDP size when the client sent EDNS.</summary>
    private void Write(DnsRequest request, DnsRcode rcode, ushort infoCode)
    {
        var reply = request.CreateReply(rcode, authoritative: false);
        reply.Additionals.Clear();
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(data, infoCode);
        var size = request.HasEdns ? request.Info.UdpPayloadSize : (ushort)4096;
        reply.Additionals.Add(OptRecord.Create(size, dnssecOk: true, options: [new EdnsOption(EdeOptionCode, data)]));
        request.Response.Write(reply, Name);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Blocking request. Unable to parse source address: {Family}")]
    private static partial void LogUnparsable(ILogger logger, string family);
}
