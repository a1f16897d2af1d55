using System.Buffers.Binary;
using ClusterDns.Protocol;

namespace ClusterDns.Server;

/// <summary>
/// The reply of one request, held as wire bytes in a buffer owned by the request. Plugins write either a
/// <see cref="DnsMessage"/> (encoded here, truncated to the client's limit with TC set — CoreDNS's "scrub"),
/// or raw bytes they prepared (the precomputed-answer fast path). Outer plugins (log, metrics, cache,
/// loadbalance) inspect or adjust the written reply after the inner chain returns; the socket sends it last.
/// </summary>
public sealed class DnsResponseWriter
{
    private readonly DnsRequest _request;
    /// <summary>What a reply buffer holds before a bigger reply needs more: a reply to the usual EDNS size (1232).</summary>
    internal const int InitialCapacity = 1232;

    // Pinned (POH) so the batched send path can hand its address to sendmmsg. Grown on demand, up to 64 KiB (TCP, large
    // EDNS sizes); a request keeps what it grew to for its next uses.
    private byte[] _buffer = GC.AllocateUninitializedArray<byte>(InitialCapacity, pinned: true);
    private List<byte[]>? _more;

    internal DnsResponseWriter(DnsRequest request) => _request = request;

    public bool Written { get; private set; }

    /// <summary>A plugin decided no reply is sent at all (acl's drop): the server writes nothing, the socket sends nothing.</summary>
    public bool Dropped { get; private set; }

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, Length);

    /// <summary>Name of the plugin that wrote the reply (metrics' <c>plugin</c> label); empty when the server did.</summary>
    public string Plugin { get; private set; } = string.Empty;

    /// <summary>The rcode of the written reply (header bits only; extended rcodes are not used by answers).</summary>
    public DnsRcode Rcode => Length >= DnsHeader.Size ? (DnsRcode)(_buffer[3] & 0xF) : DnsRcode.NoError;

    public ushort Flags => Length >= DnsHeader.Size ? BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(2)) : (ushort)0;

    internal void Reset()
    {
        Written = false;
        Dropped = false;
        Length = 0;
        Plugin = string.Empty;
        _more?.Clear();
    }

    /// <summary>Messages that follow the written one on the same TCP connection (zone transfers span several);
    /// UDP never sends them.</summary>
    public IReadOnlyList<byte[]> MoreMessages => _more is null ? [] : _more;

    /// <summary>Queues one more complete message (wire form) after the written reply.</summary>
    public void AddMessage(byte[] message) => (_more ??= []).Add(message);

    /// <summary>Sends no reply to this query (CoreDNS: a handler that returns without writing and without an error rcode).</summary>
    public void Drop(string plugin)
    {
        Dropped = true;
        Plugin = plugin;
    }

    /// <summary>Encodes <paramref name="message"/> within the client's size limit.</summary>
    public void Write(DnsMessage message, string plugin)
    {
        EnsureCapacity(_request.MaxResponseSize);
        var length = message.Write(_buffer, _request.MaxResponseSize);
        if (length < 0)
        {
            // Not even the question fits (cannot happen for a query we parsed): answer SERVFAIL bare.
            EnsureCapacity(DnsQueryParser.ErrorReplyLength(_request.Query, _request.Info, includeQuestion: false));
            length = DnsQueryParser.WriteErrorReply(_request.Query, _request.Info, DnsRcode.ServFail, _buffer, includeQuestion: false);
        }
        Commit(length, plugin);
    }

    /// <summary>The pinned array behind the reply (native send paths take its address).</summary>
    internal byte[] GetBufferArray() => _buffer;

    /// <summary>The written reply, for plugins that adjust it in place (header bits, TTLs, record order).</summary>
    public Span<byte> EditableBytes => _buffer.AsSpan(0, Length);

    /// <summary>Space for a raw reply of up to <paramref name="size"/> octets (grown when needed, keeping what was
    /// written); call <see cref="Commit"/> with the length written.</summary>
    public Span<byte> GetBuffer(int size)
    {
        EnsureCapacity(size);
        return _buffer;
    }

    private void EnsureCapacity(int size)
    {
        if (_buffer.Length >= size)
        {
            return;
        }
        var grown = GC.AllocateUninitializedArray<byte>(Math.Min(DnsRequest.MaxMessageSize, Math.Max(size, _buffer.Length * 2)), pinned: true);
        _buffer.AsSpan(0, Length).CopyTo(grown);
        _buffer = grown;
    }

    public void Commit(int length, string plugin)
    {
        if (length > _request.MaxResponseSize)
        {
            // A prepared reply (cache, precompiled answers) bigger than this client takes: scrub it as Write does.
            length = DnsMessage.TryParse(_buffer.AsSpan(0, length), out var message, out _)
                ? message.Write(_buffer, _request.MaxResponseSize)
                : -1;
            if (length < 0)
            {
                EnsureCapacity(DnsQueryParser.ErrorReplyLength(_request.Query, _request.Info, includeQuestion: false));
                length = DnsQueryParser.WriteErrorReply(_request.Query, _request.Info, DnsRcode.ServFail, _buffer, includeQuestion: false);
            }
        }
        Length = length;
        Written = true;
        Plugin = plugin;
    }

    /// <summary>Writes a bare reply with <paramref name="rcode"/> (the server's reply for unwritten SERVFAIL/REFUSED/...).</summary>
    public void WriteError(DnsRcode rcode, string plugin = "")
    {
        EnsureCapacity(DnsQueryParser.ErrorReplyLength(_request.Query, _request.Info));
        var length = DnsQueryParser.WriteErrorReply(_request.Query, _request.Info, rcode, _buffer);
        Commit(length, plugin);
    }

    /// <summary>The written reply as objects, for plugins that modify it (slow path).</summary>
    public DnsMessage ReadMessage() => DnsMessage.Parse(Bytes);

    /// <summary>Patches the id in place (answers served from a cache or precompiled bytes).</summary>
    public void PatchId(ushort id) => BinaryPrimitives.WriteUInt16BigEndian(_buffer, id);
}
