using System.Buffers;
using System.Buffers.Binary;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Loadbalance;

/// <summary>
/// CoreDNS <c>loadbalance</c> (round_robin): after the inner chain wrote a NOERROR reply, each section is reordered to
/// CNAMEs, other records, shuffled A/AAAA, shuffled MX. Replies whose address records already form one run of
/// self-contained records (owner compressed to a pointer, as our writers and most servers produce) are shuffled
/// in place in the wire bytes; anything else is decoded, reordered and re-encoded.
/// </summary>
public sealed class LoadbalancePlugin : DnsPlugin
{
    public override string Name => "loadbalance";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var pending = NextAsync(request, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitAndShuffle(request, pending);
        }
        Shuffle(request);
        return pending;
    }

    private static async ValueTask<DnsResult> AwaitAndShuffle(DnsRequest request, ValueTask<DnsResult> pending)
    {
        var result = await pending.ConfigureAwait(false);
        Shuffle(request);
        return result;
    }

    private static void Shuffle(DnsRequest request)
    {
        var response = request.Response;
        if (!response.Written || response.Rcode != DnsRcode.NoError || request.Type is DnsType.AXFR or DnsType.IXFR)
        {
            return;
        }
        if (!ShuffleInPlace(response.EditableBytes))
        {
            ShuffleDecoded(response, response.Plugin);
        }
    }

    /// <summary>Shuffles the address-record run of each section in place; false when the layout needs the slow path.</summary>
    internal static bool ShuffleInPlace(Span<byte> message)
    {
        if (!DnsHeader.TryRead(message, out var header))
        {
            return true;
        }
        var reader = new DnsReader(message, DnsHeader.Size);
        for (var i = 0; i < header.QuestionCount; i++)
        {
            if (!reader.TrySkipName() || !reader.TryReadUInt32(out _))
            {
                return true; // not ours to fix
            }
        }
        Span<int> starts = stackalloc int[65];
        Span<ushort> types = stackalloc ushort[64];
        ReadOnlySpan<ushort> counts = [header.AnswerCount, header.AuthorityCount, header.AdditionalCount];
        foreach (var count in counts)
        {
            if (count > 64)
            {
                return false;
            }
            for (var i = 0; i < count; i++)
            {
                starts[i] = reader.Position;
                var ownerIsPointer = reader.Position < message.Length && (message[reader.Position] & 0xC0) == 0xC0;
                if (!reader.TrySkipName() || !reader.TryReadUInt16(out types[i]) || !reader.TryReadUInt32(out _)
                    || !reader.TryReadUInt16(out _) || !reader.TryReadUInt16(out var length) || reader.Remaining < length)
                {
                    return true;
                }
                reader.Position += length;
                var type = (DnsType)types[i];
                if ((type is DnsType.A or DnsType.AAAA && !ownerIsPointer) || type == DnsType.MX)
                {
                    return false;
                }
            }
            starts[count] = reader.Position;
            if (!ShuffleRun(message, starts[..(count + 1)], types[..count]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Checks the section is already CNAME*, other*, address* and permutes the address run.</summary>
    private static bool ShuffleRun(Span<byte> message, ReadOnlySpan<int> starts, ReadOnlySpan<ushort> types)
    {
        var phase = 0; // 0 = CNAMEs, 1 = others, 2 = addresses
        var first = -1;
        for (var i = 0; i < types.Length; i++)
        {
            var type = (DnsType)types[i];
            var wanted = type == DnsType.CNAME ? 0 : type is DnsType.A or DnsType.AAAA ? 2 : 1;
            if (wanted < phase)
            {
                return false;
            }
            if (wanted == 2 && first < 0)
            {
                first = i;
            }
            phase = wanted;
        }
        if (first < 0 || types.Length - first < 2)
        {
            return true;
        }
        var count = types.Length - first;
        var runStart = starts[first];
        var runLength = starts[types.Length] - runStart;
        Span<int> order = stackalloc int[count];
        for (var i = 0; i < count; i++)
        {
            order[i] = first + i;
        }
        Permute(order);
        var rented = runLength > 2048 ? ArrayPool<byte>.Shared.Rent(runLength) : null;
        var scratch = rented is null ? stackalloc byte[runLength] : rented.AsSpan(0, runLength);
        message.Slice(runStart, runLength).CopyTo(scratch);
        var position = runStart;
        foreach (var index in order)
        {
            var length = starts[index + 1] - starts[index];
            scratch.Slice(starts[index] - runStart, length).CopyTo(message[position..]);
            position += length;
        }
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        return true;
    }

    /// <summary>CoreDNS's roundRobinShuffle.</summary>
    private static void Permute<T>(Span<T> items)
    {
        switch (items.Length)
        {
            case 0 or 1:
                return;
            case 2:
                if ((Random.Shared.Next() & 1) == 0)
                {
                    (items[0], items[1]) = (items[1], items[0]);
                }
                return;
            default:
                for (var j = 0; j < items.Length; j++)
                {
                    var p = j + Random.Shared.Next(items.Length - j);
                    if (p != j)
                    {
                        (items[j], items[p]) = (items[p], items[j]);
                    }
                }
                return;
        }
    }

    private static void ShuffleDecoded(DnsResponseWriter response, string plugin)
    {
        if (!DnsMessage.TryParse(response.Bytes, out var message, out _))
        {
            return;
        }
        Reorder(message.Answers);
        Reorder(message.Authorities);
        Reorder(message.Additionals);
        var flags = message.Header.Flags;
        var buffer = response.GetBuffer(DnsRequest.MaxMessageSize);
        var length = message.Write(buffer);
        if (length > 0)
        {
            // Keep the original header flags (TC included) exactly.
            BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], flags);
            response.Commit(length, plugin);
        }
    }

    internal static void Reorder(List<DnsRecord> records)
    {
        if (records.Count < 2)
        {
            return;
        }
        var cname = new List<DnsRecord>();
        var address = new List<DnsRecord>();
        var mx = new List<DnsRecord>();
        var rest = new List<DnsRecord>();
        foreach (var record in records)
        {
            (record.Type switch
            {
                DnsType.CNAME => cname,
                DnsType.A or DnsType.AAAA => address,
                DnsType.MX => mx,
                _ => rest,
            }).Add(record);
        }
        var addressArray = address.ToArray();
        var mxArray = mx.ToArray();
        Permute(addressArray.AsSpan());
        Permute(mxArray.AsSpan());
        records.Clear();
        records.AddRange(cname);
        records.AddRange(rest);
        records.AddRange(addressArray);
        records.AddRange(mxArray);
    }
}
