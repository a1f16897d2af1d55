using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Rewrite;

/// <summary>CoreDNS's edns0 actions: <c>set</c> replaces or adds, <c>replace</c> only replaces, <c>append</c> only adds,
/// <c>unset</c> removes.</summary>
internal enum Edns0Action
{
    Set,
    Replace,
    Append,
    Unset,
}

/// <summary>
/// An edns0 rule (local, nsid, subnet). Like CoreDNS it runs on every query that reaches it and gives the request an
/// OPT record (4096 octets) when it had none. With <c>revert</c> the reply's option of the rule's code is put back as
/// the client sent it (removed when the client sent none), so what the rule added never reaches the client.
/// </summary>
internal abstract class Edns0Rule(bool stop, Edns0Action action, bool revert) : RewriteRule(stop)
{
    public const ushort NsidCode = 3;
    public const ushort SubnetCode = 8;

    public override bool Matches(ReadOnlySpan<char> name, DnsType type, DnsClass @class) => true;

    public override bool Apply(RewriteState state, RewriteContext context)
    {
        var clientOptions = context.Request.Message.Opt?.Options;
        var options = state.Options ??= [.. clientOptions ?? []];
        var code = Code;
        var applied = action == Edns0Action.Unset ? Unset(options, code) : Change(state, context, options, code);
        if (applied && revert)
        {
            state.ResponseRules.Add(new Edns0RevertResponseRule(code, ClientData(clientOptions, code)));
        }
        return applied;
    }

    private bool Change(RewriteState state, RewriteContext context, List<EdnsOption> options, ushort code)
    {
        for (var i = 0; i < options.Count; i++)
        {
            if (options[i].Code != code)
            {
                continue;
            }
            if (action == Edns0Action.Append || Data(state, context, options[i].Data) is not { } replaced)
            {
                return false;
            }
            options[i] = new EdnsOption(code, replaced);
            return true;
        }
        if (action == Edns0Action.Replace || Data(state, context, null) is not { } added)
        {
            return false;
        }
        options.Add(new EdnsOption(code, added));
        return true;
    }

    /// <summary>Removes every option of the code; false (the rule is ignored) when there was none.</summary>
    private static bool Unset(List<EdnsOption> options, ushort code) => options.RemoveAll(option => option.Code == code) > 0;

    private static byte[]? ClientData(IReadOnlyList<EdnsOption>? options, ushort code)
    {
        if (options is null)
        {
            return null;
        }
        foreach (var option in options)
        {
            if (option.Code == code)
            {
                return option.Data;
            }
        }
        return null;
    }

    protected abstract ushort Code { get; }

    /// <summary>The option data to write (existing: the data of the option being replaced); null to leave it.</summary>
    protected abstract byte[]? Data(RewriteState state, RewriteContext context, byte[]? existing);
}

internal sealed class Edns0LocalRule(bool stop, Edns0Action action, bool revert, ushort code, byte[] data) : Edns0Rule(stop, action, revert)
{
    protected override ushort Code => code;

    protected override byte[]? Data(RewriteState state, RewriteContext context, byte[]? existing) => data;
}

/// <summary>
/// An EDNS0 local option whose data is a variable (CoreDNS's edns0VariableRule): <c>{qname}</c> (the question name as
/// the rules have made it so far), <c>{qtype}</c> (2 octets), <c>{client_ip}</c> and <c>{server_ip}</c> (4 or 16 octets,
/// by the client's address family), <c>{client_port}</c> and <c>{server_port}</c> (2 octets), <c>{protocol}</c>
/// (<c>udp</c> or <c>tcp</c>), or a metadata label <c>{plugin/label}</c>. A variable without a value (an empty or
/// missing label) leaves the query alone, as CoreDNS's RewriteIgnored.
/// </summary>
internal sealed class Edns0VariableRule(bool stop, Edns0Action action, bool revert, ushort code, string variable) : Edns0Rule(stop, action, revert)
{
    public static bool IsValid(string variable) => variable switch
    {
        "{qname}" or "{qtype}" or "{client_ip}" or "{client_port}" or "{protocol}" or "{server_ip}" or "{server_port}" => true,
        // CoreDNS's metadata.IsLabel: "namespace/name", neither part empty.
        _ => variable.Length > 2 && variable[0] == '{' && variable[^1] == '}' && IsLabel(variable[1..^1]),
    };

    private static bool IsLabel(string label)
    {
        var slash = label.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 && slash < label.Length - 1;
    }

    protected override ushort Code => code;

    protected override byte[]? Data(RewriteState state, RewriteContext context, byte[]? existing)
    {
        var request = context.Request;
        var remote = request.RemoteEndPoint;
        var v4 = Unmap(remote.Address).AddressFamily == AddressFamily.InterNetwork;
        switch (variable)
        {
            case "{qname}":
                return System.Text.Encoding.UTF8.GetBytes(state.QuestionChanged ? state.Name : request.QuestionName.ToString());
            case "{qtype}":
                return Port((int)state.Type);
            case "{client_ip}":
                return Address(remote.Address, v4);
            case "{server_ip}":
                return request.LocalEndPoint is { } local ? Address(local.Address, v4) : null;
            case "{client_port}":
                return Port(remote.Port);
            case "{server_port}":
                return request.LocalEndPoint is { } server ? Port(server.Port) : null;
            case "{protocol}":
                return request.Transport == DnsTransport.Tcp ? "tcp"u8.ToArray() : "udp"u8.ToArray();
        }
        if (request.Items.TryGetValue(variable[1..^1], out var value))
        {
            var text = value switch
            {
                string s => s,
                Func<string> f => f(),
                _ => null,
            };
            return string.IsNullOrEmpty(text) ? null : System.Text.Encoding.UTF8.GetBytes(text);
        }
        return null;
    }

    private static IPAddress Unmap(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>CoreDNS's ipToWire: 4 octets for an IPv4 client, 16 for IPv6 (an address of the other family: none).</summary>
    private static byte[]? Address(IPAddress address, bool v4)
    {
        address = Unmap(address);
        if (v4)
        {
            return address.AddressFamily == AddressFamily.InterNetwork ? address.GetAddressBytes() : null;
        }
        return address.AddressFamily == AddressFamily.InterNetworkV6 ? address.GetAddressBytes() : address.MapToIPv6().GetAddressBytes();
    }

    private static byte[] Port(int value)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(data, (ushort)value);
        return data;
    }
}

internal sealed class Edns0NsidRule(bool stop, Edns0Action action, bool revert) : Edns0Rule(stop, action, revert)
{
    protected override ushort Code => NsidCode;

    protected override byte[]? Data(RewriteState state, RewriteContext context, byte[]? existing) => [];
}

/// <summary>EDNS0 client subnet from the client's address, cut to the configured prefix lengths (RFC 7871 framing:
/// family, source prefix, scope 0, the address octets the prefix covers).</summary>
internal sealed class Edns0SubnetRule(bool stop, Edns0Action action, bool revert, byte v4Length, byte v6Length) : Edns0Rule(stop, action, revert)
{
    protected override ushort Code => SubnetCode;

    protected override byte[]? Data(RewriteState state, RewriteContext context, byte[]? existing)
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

/// <summary><c>revert</c>: the reply's option of the code becomes the client's own again — its data when the client
/// sent the option, otherwise no option of that code at all.</summary>
internal sealed class Edns0RevertResponseRule(ushort code, byte[]? clientData) : ResponseRule
{
    public override void RewriteMessage(DnsMessage message)
    {
        var index = message.Additionals.FindIndex(record => record is OptRecord);
        if (index < 0)
        {
            return; // a reply without OPT carries no option to revert
        }
        var opt = (OptRecord)message.Additionals[index];
        var options = new List<EdnsOption>(opt.Options.Count);
        var changed = false;
        foreach (var option in opt.Options)
        {
            if (option.Code != code)
            {
                options.Add(option);
                continue;
            }
            changed = true;
            if (clientData is not null)
            {
                options.Add(new EdnsOption(code, clientData));
            }
        }
        if (changed)
        {
            message.Additionals[index] = opt with { Options = options };
        }
    }
}
