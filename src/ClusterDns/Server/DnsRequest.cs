using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Server;

public enum DnsTransport : byte
{
    Udp,
    Tcp,
}

/// <summary>
/// One query in flight: the facts CoreDNS's <c>request.Request</c> computes once (name, type, class, DO, EDNS size,
/// transport, client) plus the reply being written. Instances are reused by the socket loops, so plugins must not
/// keep a reference after their <c>ServeAsync</c> completed. Lazily-built objects (name text, parsed message,
/// endpoints) are the slow path for plugins that need them; the hot path reads the spans.
/// </summary>
public sealed class DnsRequest
{
    public const int MaxMessageSize = ushort.MaxValue;

    /// <summary>What a request's query buffer holds before a bigger query needs more: every ordinary query fits.</summary>
    internal const int InitialQueryCapacity = 512;

    // Sized for the query it holds, grown on demand (the receive paths copy into it): a request waiting on an upstream
    // costs a few KiB, not the 64 KiB a datagram may need — a black-holed flood keeps tens of thousands in flight.
    private byte[] _query = new byte[InitialQueryCapacity];
    private readonly byte[] _name = new byte[DnsName.MaxWireLength];
    private readonly byte[] _lowerName = new byte[DnsName.MaxWireLength];
    private DnsQueryInfo _info;
    private string? _nameText;
    private DnsName? _questionName;
    private DnsMessage? _message;
    private IPEndPoint? _remote;
    private Dictionary<string, object>? _items;

    public DnsRequest(AddressFamily family = AddressFamily.InterNetworkV6)
    {
        Response = new DnsResponseWriter(this);
        RemoteAddress = new SocketAddress(family);
    }

    /// <summary>Room for a query of <paramref name="length"/> octets (the receive paths copy the datagram or frame into it,
    /// then <see cref="Prepare"/>); grows the buffer when it is too small.</summary>
    internal Span<byte> QuerySpace(int length)
    {
        if (_query.Length < length)
        {
            _query = new byte[Math.Min(MaxMessageSize, Math.Max(length, _query.Length * 2))];
        }
        return _query;
    }

    public int QueryLength { get; private set; }

    public ReadOnlySpan<byte> Query => _query.AsSpan(0, QueryLength);

    public ref readonly DnsQueryInfo Info => ref _info;

    public ushort Id => _info.Header.Id;

    public DnsType Type => _info.Type;

    public DnsClass Class => _info.Class;

    /// <summary>The question name in wire form as the client wrote it (case preserved).</summary>
    public ReadOnlySpan<byte> NameWire => _name.AsSpan(0, _info.NameLength);

    /// <summary>The question name in wire form, lower-cased (for matching).</summary>
    public ReadOnlySpan<byte> LowerNameWire => _lowerName.AsSpan(0, _info.NameLength);

    public bool HasEdns => _info.HasOpt;

    public bool DnssecOk => _info.DnssecOk;

    public bool CheckingDisabled => _info.Header.CheckingDisabled;

    public DnsTransport Transport { get; private set; }

    /// <summary>The client's advertised UDP size: 512 without EDNS (or below 512).</summary>
    public int UdpSize => _info.HasOpt ? Math.Max(512, (int)_info.UdpPayloadSize) : 512;

    /// <summary>The largest reply the client accepts: 64 KiB over TCP.</summary>
    public int MaxResponseSize => Transport == DnsTransport.Tcp ? MaxMessageSize : UdpSize;

    /// <summary>The client's socket address as received (no allocation).</summary>
    public SocketAddress RemoteAddress { get; }

    /// <summary>The client endpoint, with IPv4-mapped IPv6 addresses (dual-mode sockets) shown as IPv4.</summary>
    public IPEndPoint RemoteEndPoint => _remote ??= MapEndPoint(RemoteAddress);

    private static IPEndPoint MapEndPoint(SocketAddress address)
    {
        // Sockets bound to one IPv4 address (bind) receive IPv4-sized addresses; only wildcard sockets are dual-mode.
        var template = address.Family == AddressFamily.InterNetwork ? new IPEndPoint(IPAddress.Any, 0) : new IPEndPoint(IPAddress.IPv6Any, 0);
        var endPoint = (IPEndPoint)template.Create(address);
        return endPoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endPoint.Address.MapToIPv4(), endPoint.Port) : endPoint;
    }

    public IPEndPoint? LocalEndPoint { get; internal set; }

    /// <summary>The address a UDP query was sent to, where a wildcard listener learns it (the reply's source).</summary>
    internal PacketDestination Destination { get; set; }

    /// <summary>The listener this came in on, as CoreDNS labels it: <c>dns://:53</c>.</summary>
    public string Server { get; internal set; } = string.Empty;

    /// <summary>The matched server block zone (longest of the block's zones containing the name).</summary>
    public string Zone { get; internal set; } = ".";

    /// <summary>The view of the block the query was routed to (the metrics' <c>view</c> label), "" without one.</summary>
    public string View { get; internal set; } = string.Empty;

    public DnsResponseWriter Response { get; }

    /// <summary>Cancelled when the query's deadline passed (the <c>cancel</c> plugin's context timeout); <c>None</c>
    /// without one. Plugins waiting on I/O (forward) give up when it fires.</summary>
    public CancellationToken Deadline { get; set; }

    /// <summary>Lower-cased FQDN text of the question (allocates once per query when used).</summary>
    public string Name => _nameText ??= DnsNameSpan.ToText(LowerNameWire);

    /// <summary>The question name as a <see cref="DnsName"/>, original case.</summary>
    public DnsName QuestionName => _questionName ??= DnsName.FromValidatedWire(NameWire);

    /// <summary>The whole query as objects (slow path).</summary>
    public DnsMessage Message => _message ??= DnsMessage.Parse(Query);

    /// <summary>Per-query values plugins hand to each other (metadata, autopath...). Allocated on first use.</summary>
    public IDictionary<string, object> Items => _items ??= new Dictionary<string, object>(StringComparer.Ordinal);

    /// <summary>Replaces the question (rewrite, autopath, loop probes): re-parses the new query bytes.</summary>
    public QueryDisposition Load(ReadOnlySpan<byte> query, DnsTransport transport)
    {
        query.CopyTo(QuerySpace(query.Length));
        return Prepare(query.Length, transport);
    }

    /// <summary>Replaces the query for the rest of the chain (rewrite) and re-parses it, keeping the transport, client,
    /// zone, per-query items and the reply being written. False (and the request unusable until the caller restores its
    /// copy of the previous bytes) when <paramref name="query"/> is not a well-formed query.</summary>
    public bool ReplaceQuery(ReadOnlySpan<byte> query)
    {
        query.CopyTo(QuerySpace(query.Length));
        QueryLength = query.Length;
        _nameText = null;
        _questionName = null;
        _message = null;
        if (DnsQueryParser.Parse(Query, _name, out _info) != QueryDisposition.Query)
        {
            return false;
        }
        _name.AsSpan(0, _info.NameLength).CopyTo(_lowerName);
        DnsNameSpan.ToLower(_lowerName.AsSpan(0, _info.NameLength));
        return true;
    }

    /// <summary>Parses the first <paramref name="length"/> octets of the query buffer (<see cref="QuerySpace"/>).</summary>
    internal QueryDisposition Prepare(int length, DnsTransport transport)
    {
        QueryLength = length;
        Transport = transport;
        _nameText = null;
        _questionName = null;
        _message = null;
        _remote = null;
        _items?.Clear();
        Deadline = default;
        Zone = ".";
        Response.Reset();
        var disposition = DnsQueryParser.Parse(Query, _name, out _info);
        if (disposition == QueryDisposition.Query)
        {
            _name.AsSpan(0, _info.NameLength).CopyTo(_lowerName);
            DnsNameSpan.ToLower(_lowerName.AsSpan(0, _info.NameLength));
        }
        return disposition;
    }

    /// <summary>Lowers the client's EDNS0 UDP size (bufsize, as CoreDNS rewrites the request's OPT): the reply limit, the
    /// size echoed in the reply's OPT and the size a forwarded query carries all follow. Never raises it; no-op without EDNS.</summary>
    public void LowerUdpSize(ushort size)
    {
        if (!_info.HasOpt || _info.UdpPayloadSize <= size)
        {
            return;
        }
        _info.UdpPayloadSize = size;
        // The OPT's CLASS (the UDP size) sits before its TTL and RDLENGTH, 8 octets ahead of the RDATA.
        BinaryPrimitives.WriteUInt16BigEndian(_query.AsSpan(_info.OptDataOffset - 8), size);
        _message = null;
    }

    /// <summary>Replaces the query's header flags (header's query rules); replies echo RD and CD from the query.</summary>
    public void SetQueryFlags(ushort flags)
    {
        _info.Header.Flags = flags;
        BinaryPrimitives.WriteUInt16BigEndian(_query.AsSpan(2), flags);
        _message = null;
    }

    /// <summary>Sets the client endpoint for in-memory use (tests, internal sub-queries).</summary>
    internal void SetRemote(IPEndPoint endPoint)
    {
        var address = endPoint.Serialize();
        RemoteAddress.Size = address.Size;
        address.Buffer.Span.CopyTo(RemoteAddress.Buffer.Span);
        _remote = endPoint;
    }

    /// <summary>Sets the client endpoint from its serialized form, made once per TCP connection rather than per query.</summary>
    internal void SetRemote(IPEndPoint endPoint, SocketAddress serialized)
    {
        RemoteAddress.Size = serialized.Size;
        serialized.Buffer.Span.CopyTo(RemoteAddress.Buffer.Span);
        _remote = endPoint;
    }

    internal void InvalidateRemote() => _remote = null;

    /// <summary>A reply skeleton (id, opcode, RD, CD, question, the reply OPT of <see cref="EdnsEcho"/>) as objects, for plugins that build answers.</summary>
    public DnsMessage CreateReply(DnsRcode rcode = DnsRcode.NoError, bool authoritative = true)
    {
        var reply = new DnsMessage();
        reply.Header.Id = Id;
        reply.Header.IsResponse = true;
        reply.Header.Opcode = _info.Header.Opcode;
        reply.Header.RecursionDesired = _info.Header.RecursionDesired;
        reply.Header.CheckingDisabled = _info.Header.CheckingDisabled;
        reply.Header.Authoritative = authoritative;
        reply.Rcode = rcode;
        reply.Questions.Add(new DnsQuestion(QuestionName, Type, Class));
        if (HasEdns)
        {
            reply.Additionals.Add(OptRecord.Create(Math.Max(_info.UdpPayloadSize, (ushort)512), DnssecOk,
                options: EdnsEcho.Options(Query, _info)));
        }
        return reply;
    }
}
