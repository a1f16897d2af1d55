using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Rewrite;

/// <summary>CoreDNS's edns0 actions: <c>set</c> replaces or adds, <c>replace</c> only replaces, <c>append</c> only adds.</summary>
internal enum Edns0Action
{
    Set,
    Replace,
    Append,
}

/// <summary>
/// An edns0 rule (local, nsid, subnet). Like CoreDNS it runs on every query that reaches it and gives the request an
/// OPT record (4096 octets) when it had none.
/// </summary>
internal abstract class Edns0Rule(bool stop, Edns0Action action) : RewriteRule(stop)
{
    public const ushort NsidCode = 3;
    public const ushort SubnetCode = 8;

    public override bool Matches(ReadOnlySpan<char> name, DnsType type, DnsClass @class) => true;

    public override bool Apply(RewriteState state, RewriteContext context)
    {
        var options = state.Options ??= [.. context.Request.Message.Opt?.Options ?? []];
        var code = Code;
        for (var i = 0; i < options.Count; i++)
        {
            if (options[i].Code != code)
            {
                continue;
            }
            if (action == Edns0Action.Append || Data(context, options[i].Data) is not { } replaced)
            {
                return false;
            }
            options[i] = new EdnsOption(code, replaced);
            return true;
        }
        if (action == Edns0Action.Replace || Data(context, null) is not { } added)
        {
            return false;
        }
        options.Add(new EdnsOption(code, added));
        return true;
    }

    protected abstract ushort Code { get; }

    /// <summary>The option data to write (existing: the data of the option being replaced); null to leave it.</summary>
    protected abstract byte[]? Data(RewriteContext context, byte[]? existing);
}

internal sealed class Edns0LocalRule(bool stop, Edns0Action action, ushort code, byte[] data) : Edns0Rule(stop, action)
{
    protected override ushort Code => code;

    protected override byte[]? Data(RewriteContext context, byte[]? existing) => data;
}

internal sealed class Edns0NsidRule(bool stop, Edns0Action action) : Edns0Rule(stop, action)
{
    protected override ushort Code => NsidCode;

    protected override byte[]? Data(RewriteContext context, byte[]? existing) => [];
}

/// <summary>EDNS0 client subnet from the client's address, cut to the configured prefix lengths (RFC 7871 framing:
/// family, source prefix, scope 0, the address octets the prefix covers).</summary>
internal sealed class Edns0SubnetRule(bool stop, Edns0Action action, byte v4Length, byte v6Length) : Edns0Rule(stop, action)
{
    protected override ushort Code => SubnetCode;

    protected override byte[]? Data(RewriteContext context, byte[]? existing)
    {
        var address = context.Request.RemoteEndPoint.Address;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        var v4 = address.AddressFamily == AddressFamily.InterNetwork;
        var length = v4 ? v4Length : v6Length;
        // miekg starts a new option at 128 and an existing one at its own source prefix; the rule's length caps both.
        var current = existing is { Length: >= 3 } ? existing[2] : (byte)128;
        length = Math.Min(length, current);
        var bytes = address.GetAddressBytes();
        var count = (length + 7) / 8;
        var data = new byte[4 + count];
        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)(v4 ? 1 : 2));
        data[2] = length;
        data[3] = 0;
        for (var i = 0; i < count; i++)
        {
            var bits = Math.Min(8, length - i * 8);
            data[4 + i] = (byte)(bytes[i] & (0xFF << (8 - bits)));
        }
        return data;
    }
}
