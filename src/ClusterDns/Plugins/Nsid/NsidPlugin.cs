using System.Buffers.Binary;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Nsid;

/// <summary>
/// CoreDNS <c>nsid</c> (RFC 5001): when a query carries the NSID option, the reply written by the rest of the chain
/// gets an NSID option holding the configured data (replacing one an upstream put there), and an OPT record if it had
/// none. Queries without the option pass through untouched and unpaid.
/// </summary>
public sealed class NsidPlugin(byte[] data) : DnsPlugin
{
    private const ushort NsidCode = 3;

    public override string Name => "nsid";

    // Shared by every reply's option; never written to.
    private readonly byte[] _data = data;

    public ReadOnlyMemory<byte> Data => _data;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (!AsksForNsid(request))
        {
            return NextAsync(request, cancellationToken);
        }
        var pending = NextAsync(request, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitAndAdd(request, pending);
        }
        AddNsid(request);
        return pending;
    }

    private async ValueTask<DnsResult> AwaitAndAdd(DnsRequest request, ValueTask<DnsResult> pending)
    {
        var result = await pending.ConfigureAwait(false);
        AddNsid(request);
        return result;
    }

    /// <summary>True when the query's OPT record holds an NSID option (its data is ignored, as RFC 5001 asks).</summary>
    internal static bool AsksForNsid(DnsRequest request)
    {
        ref readonly var info = ref request.Info;
        if (!info.HasOpt || info.OptDataLength == 0)
        {
            return false;
        }
        // The parser checked the options are well framed.
        var options = request.Query.Slice(info.OptDataOffset, info.OptDataLength);
        while (options.Length >= 4)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(options) == NsidCode)
            {
                return true;
            }
            options = options[(4 + BinaryPrimitives.ReadUInt16BigEndian(options[2..]))..];
        }
        return false;
    }

    private void AddNsid(DnsRequest request)
    {
        var response = request.Response;
        if (!response.Written || !DnsMessage.TryParse(response.Bytes, out var reply, out _))
        {
            return;
        }
        var index = reply.Additionals.FindIndex(record => record is OptRecord);
        var opt = index >= 0
            ? (OptRecord)reply.Additionals[index]
            : OptRecord.Create(Math.Max(request.Info.UdpPayloadSize, (ushort)512), request.DnssecOk);
        var options = new List<EdnsOption>(opt.Options.Count + 1);
        var replaced = false;
        foreach (var option in opt.Options)
        {
            if (option.Code == NsidCode)
            {
                options.Add(new EdnsOption(NsidCode, _data));
                replaced = true;
            }
            else
            {
                options.Add(option);
            }
        }
        if (!replaced)
        {
            options.Add(new EdnsOption(NsidCode, _data));
        }
        opt = opt with { Options = options };
        if (index >= 0)
        {
            reply.Additionals[index] = opt;
        }
        else
        {
            reply.Additionals.Add(opt);
        }
        response.Write(reply, response.Plugin);
    }
}
