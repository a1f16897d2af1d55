using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Prometheus;

namespace ClusterDns.Plugins.Dns64;

/// <summary>
/// CoreDNS's dns64 (RFC 6147): an IN AAAA query from an IPv6 client (any client with <c>allow_ipv4</c>) goes down the
/// chain; when its reply has no AAAA answer (or always, with <c>translate_all</c>) and is not NXDOMAIN, the name's A
/// records are asked through the whole server and the reply is replaced by one whose A answers became AAAA answers
/// under the prefix, TTL capped by the AAAA reply's SOA TTL (600 without one). Other queries cost one type compare.
/// </summary>
public sealed class Dns64Plugin : DnsPlugin
{
    private const uint DefaultSoaTtl = 600;

    private readonly InternalResolver _resolver;
    private TranslatedSeries? _translated;

    public Dns64Plugin(Dns64Options options, InternalResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _resolver = resolver;
    }

    public override string Name => "dns64";

    public Dns64Options Options { get; }

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (request.Type != DnsType.AAAA || request.Class != DnsClass.IN || (!Options.AllowIpv4 && CameOverIpv4(request)))
        {
            return NextAsync(request, cancellationToken);
        }
        return InterceptAsync(request, cancellationToken);
    }

    /// <summary>CoreDNS's <c>request.Family() == 1</c>: an IPv4 client, IPv4-mapped addresses of dual-mode sockets included.
    /// Read from the socket address as received, so the check allocates nothing.</summary>
    internal static bool CameOverIpv4(DnsRequest request)
    {
        var address = request.RemoteAddress;
        if (address.Family == AddressFamily.InterNetwork)
        {
            return true;
        }
        if (address.Family != AddressFamily.InterNetworkV6)
        {
            return false;
        }
        // sockaddr_in6: family (2), port (2), flow info (4), then the 16 address octets.
        var bytes = address.Buffer.Span;
        if (address.Size < 24)
        {
            return request.RemoteEndPoint.AddressFamily == AddressFamily.InterNetwork;
        }
        var ip = bytes.Slice(8, 16);
        return ip[..10].IndexOfAnyExcept((byte)0) < 0 && ip[10] == 0xFF && ip[11] == 0xFF;
    }

    private async ValueTask<DnsResult> InterceptAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var result = await NextAsync(request, cancellationToken).ConfigureAwait(false);
        var response = request.Response;
        if (!response.Written)
        {
            return result; // nothing written: the server answers the returned rcode, as CoreDNS without a message
        }
        if (!ShouldTranslate(response.Bytes, Options.TranslateAll, out var soaTtl))
        {
            // CoreDNS writes the intercepted reply itself, so the metrics' plugin label says dns64.
            response.Commit(response.Length, Name);
            return result;
        }
        var aReply = await _resolver(DnsName.FromValidatedWire(request.LowerNameWire), DnsType.A, cancellationToken, request).ConfigureAwait(false);
        if (aReply is null)
        {
            response.WriteError(DnsRcode.ServFail, Name);
            return new DnsResult(DnsRcode.ServFail, "plugin/dns64: no reply to the A query for " + request.Name);
        }
        response.Write(Synthesize(request, aReply, soaTtl), Name);
        TranslatedFor(request.Server).Inc();
        return new DnsResult(DnsRcode.NoError);
    }

    /// <summary>CoreDNS's Synthesize: the client's header bits and question, the A reply's TC bit, authority and
    /// additional sections, its A answers as AAAA (TTL at most <paramref name="soaTtl"/>) and its other answers unchanged.</summary>
    private DnsMessage Synthesize(DnsRequest request, DnsMessage aReply, uint soaTtl)
    {
        var reply = new DnsMessage();
        ref readonly var header = ref request.Info.Header;
        reply.Header.Id = request.Id;
        reply.Header.IsResponse = true;
        reply.Header.Opcode = header.Opcode;
        if (header.Opcode == DnsOpcode.Query)
        {
            reply.Header.RecursionDesired = header.RecursionDesired;
            reply.Header.CheckingDisabled = header.CheckingDisabled;
        }
        reply.Header.Truncated = aReply.Header.Truncated;
        reply.Questions.Add(new DnsQuestion(request.QuestionName, request.Type, request.Class));
        foreach (var record in aReply.Answers)
        {
            reply.Answers.Add(record is ARecord a
                ? new AaaaRecord(Options.Prefix.Embed(a.Address)) { Name = a.Name, Class = a.Class, Ttl = Math.Min(a.Ttl, soaTtl) }
                : record);
        }
        reply.Authorities.AddRange(aReply.Authorities);
        reply.Additionals.AddRange(aReply.Additionals);
        return reply;
    }

    /// <summary>
    /// CoreDNS's responseShouldDNS64 read from the written reply: false for a NameError (NXDOMAIN with an SOA in the
    /// authority section, as response.Typify classifies it); otherwise true with <paramref name="translateAll"/>, else
    /// true when no answer is an AAAA. <paramref name="soaTtl"/> is the TTL of the authority section's last SOA.
    /// </summary>
    internal static bool ShouldTranslate(ReadOnlySpan<byte> reply, bool translateAll, out uint soaTtl)
    {
        soaTtl = DefaultSoaTtl;
        if (!DnsHeader.TryRead(reply, out var header))
        {
            return false;
        }
        var reader = new DnsReader(reply, DnsHeader.Size);
        for (var i = 0; i < header.QuestionCount; i++)
        {
            if (!reader.TrySkipName() || !reader.TryReadUInt32(out _))
            {
                return false;
            }
        }
        var hasAaaa = false;
        var hasSoa = false;
        var rcode = (int)header.Rcode;
        var total = header.AnswerCount + header.AuthorityCount + header.AdditionalCount;
        for (var i = 0; i < total; i++)
        {
            if (!reader.TrySkipName() || !reader.TryReadUInt16(out var type) || !reader.TryReadUInt16(out _)
                || !reader.TryReadUInt32(out var ttl) || !reader.TryReadUInt16(out var length) || reader.Remaining < length)
            {
                return false;
            }
            reader.Position += length;
            if (i < header.AnswerCount)
            {
                hasAaaa |= (DnsType)type == DnsType.AAAA;
            }
            else if (i < header.AnswerCount + header.AuthorityCount)
            {
                if ((DnsType)type == DnsType.SOA)
                {
                    hasSoa = true;
                    soaTtl = ttl;
                }
            }
            else if ((DnsType)type == DnsType.OPT)
            {
                rcode |= (int)(ttl >> 24) << 4;
            }
        }
        if (hasSoa && rcode == (int)DnsRcode.NXDomain)
        {
            return false;
        }
        return translateAll || !hasAaaa;
    }

    /// <summary>The counter child for this server label; a plugin instance belongs to one block, so one entry serves.</summary>
    private Counter.Child TranslatedFor(string server)
    {
        var last = Volatile.Read(ref _translated);
        if (last is not null && ReferenceEquals(last.Server, server))
        {
            return last.Child;
        }
        var series = new TranslatedSeries(server, Dns64Metrics.RequestsTranslated.WithLabels(server));
        Volatile.Write(ref _translated, series);
        return series.Child;
    }

    private sealed record TranslatedSeries(string Server, Counter.Child Child);
}
