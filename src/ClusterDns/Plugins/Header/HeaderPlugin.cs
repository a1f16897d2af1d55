using System.Buffers.Binary;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Header;

/// <summary>
/// CoreDNS <c>header</c>: query rules change the query's flags before the rest of the chain sees it (so replies that
/// echo RD follow them); response rules change the flags of the reply the chain wrote, in place. Replies the server
/// writes itself for returned errors are left alone, as in CoreDNS.
/// </summary>
public sealed class HeaderPlugin(HeaderRule[] queryRules, HeaderRule[] responseRules) : DnsPlugin
{
    public override string Name => "header";

    public IReadOnlyList<HeaderRule> QueryRules { get; } = queryRules;

    public IReadOnlyList<HeaderRule> ResponseRules { get; } = responseRules;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (queryRules.Length > 0)
        {
            var flags = Apply(request.Info.Header.Flags, queryRules);
            if (flags != request.Info.Header.Flags)
            {
                request.SetQueryFlags(flags);
            }
        }
        var pending = NextAsync(request, cancellationToken);
        if (responseRules.Length == 0)
        {
            return pending;
        }
        if (!pending.IsCompletedSuccessfully)
        {
            return AwaitAndApply(request, pending);
        }
        ApplyToReply(request);
        return pending;
    }

    private async ValueTask<DnsResult> AwaitAndApply(DnsRequest request, ValueTask<DnsResult> pending)
    {
        var result = await pending.ConfigureAwait(false);
        ApplyToReply(request);
        return result;
    }

    private void ApplyToReply(DnsRequest request)
    {
        var response = request.Response;
        if (!response.Written || response.Length < 4)
        {
            return;
        }
        var flags = response.EditableBytes[2..4];
        BinaryPrimitives.WriteUInt16BigEndian(flags, Apply(BinaryPrimitives.ReadUInt16BigEndian(flags), responseRules));
        foreach (var message in response.MoreMessages)
        {
            // Zone transfers: every message of the stream goes through the same writer in CoreDNS.
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), Apply(BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(2)), responseRules));
        }
    }

    private static ushort Apply(ushort flags, HeaderRule[] rules)
    {
        foreach (var rule in rules)
        {
            flags = rule.Set ? (ushort)(flags | rule.Bit) : (ushort)(flags & ~rule.Bit);
        }
        return flags;
    }
}
