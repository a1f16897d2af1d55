using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Template;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.View;

/// <summary>The static type of a view expression node (expr-lang checks types when it compiles).</summary>
internal enum ExprType : byte
{
    Bool,
    Int,
    String,
    Array,
}

/// <summary>
/// One node of a compiled view expression. Types are fixed at parse time, so evaluation asks a node for the one type it
/// has. A <c>false</c> return is a run-time error (an unparsable IP given to <c>incidr</c>, a regex timeout): expr-lang
/// aborts the whole program then, and CoreDNS's view counts that as "does not match".
/// </summary>
internal abstract class ExprNode
{
    public abstract ExprType Type { get; }

    public virtual bool TryBool(DnsRequest request, out bool value) => throw new InvalidOperationException($"not a bool: {GetType().Name}");

    public virtual bool TryInt(DnsRequest request, out long value) => throw new InvalidOperationException($"not an int: {GetType().Name}");

    public virtual bool TryString(DnsRequest request, out string value) => throw new InvalidOperationException($"not a string: {GetType().Name}");

    public static string TypeName(ExprType type) => type switch
    {
        ExprType.Bool => "bool",
        ExprType.Int => "int",
        ExprType.String => "string",
        _ => "array",
    };
}

internal sealed class BoolLiteral(bool value) : ExprNode
{
    public override ExprType Type => ExprType.Bool;

    public override bool TryBool(DnsRequest request, out bool result)
    {
        result = value;
        return true;
    }
}

internal sealed class IntLiteral(long value) : ExprNode
{
    public override ExprType Type => ExprType.Int;

    public override bool TryInt(DnsRequest request, out long result)
    {
        result = value;
        return true;
    }
}

internal sealed class StringLiteral(string value) : ExprNode
{
    public string Value { get; } = value;

    public override ExprType Type => ExprType.String;

    public override bool TryString(DnsRequest request, out string result)
    {
        result = Value;
        return true;
    }
}

internal sealed class ArrayLiteral(ExprNode[] items) : ExprNode
{
    public ExprNode[] Items { get; } = items;

    public override ExprType Type => ExprType.Array;
}

/// <summary>The query functions of CoreDNS's <c>expression.DefaultEnv</c>, evaluated against the request.</summary>
internal enum RequestFunction
{
    Bufsize,
    Class,
    ClientIp,
    Do,
    Id,
    Name,
    Opcode,
    Port,
    Proto,
    ServerIp,
    ServerPort,
    Size,
    Type,
}

internal sealed class RequestCall(RequestFunction function) : ExprNode
{
    public RequestFunction Function { get; } = function;

    public override ExprType Type => Function switch
    {
        RequestFunction.Do => ExprType.Bool,
        RequestFunction.Bufsize or RequestFunction.Id or RequestFunction.Opcode or RequestFunction.Size => ExprType.Int,
        _ => ExprType.String,
    };

    public override bool TryBool(DnsRequest request, out bool value)
    {
        value = request.DnssecOk;
        return true;
    }

    public override bool TryInt(DnsRequest request, out long value)
    {
        value = Function switch
        {
            // request.Size: 64 KiB over TCP, else the EDNS0 size with 512 as the floor.
            RequestFunction.Bufsize => request.MaxResponseSize,
            RequestFunction.Id => request.Id,
            RequestFunction.Opcode => (long)request.Info.Header.Opcode,
            _ => request.QueryLength,
        };
        return true;
    }

    public override bool TryString(DnsRequest request, out string value)
    {
        value = Function switch
        {
            RequestFunction.Class => ClassText(request.Class),
            RequestFunction.ClientIp => AddressText(request.RemoteEndPoint.Address),
            RequestFunction.Name => request.Name,
            RequestFunction.Port => request.RemoteEndPoint.Port.ToString(CultureInfo.InvariantCulture),
            RequestFunction.Proto => request.Transport == DnsTransport.Tcp ? "tcp" : "udp",
            RequestFunction.ServerIp => request.LocalEndPoint is { } local ? AddressText(local.Address) : string.Empty,
            RequestFunction.ServerPort => request.LocalEndPoint is { } local ? local.Port.ToString(CultureInfo.InvariantCulture) : string.Empty,
            _ => TypeText(request.Type),
        };
        return true;
    }

    /// <summary>miekg/dns's Type.String(): the mnemonic, or TYPEnnn.</summary>
    private static string TypeText(DnsType type)
    {
        var text = MiekgNames.TypeText(type);
        return text.Length > 0 ? text : "TYPE" + ((int)type).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>miekg/dns's Class.String(): the mnemonic, or CLASSnnn.</summary>
    private static string ClassText(DnsClass @class)
    {
        var text = MiekgNames.ClassText(@class);
        return text.Length > 0 ? text : "CLASS" + ((int)@class).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Go's net.SplitHostPort of the address: IPv4 dotted, IPv6 without brackets; IPv4-mapped shown as IPv4.</summary>
    internal static string AddressText(IPAddress address) =>
        (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
}

/// <summary><c>incidr(ip, cidr)</c>. A literal CIDR is parsed once; <c>client_ip()</c> is read as an address, not as text.</summary>
internal sealed class InCidrCall(ExprNode ip, ExprNode cidr) : ExprNode
{
    private readonly (IPAddress Network, int Prefix)? _literal =
        cidr is StringLiteral literal && ZoneNames.TryParseCidr(literal.Value, out var network, out var prefix) ? (network, prefix) : null;

    public override ExprType Type => ExprType.Bool;

    public override bool TryBool(DnsRequest request, out bool value)
    {
        value = false;
        IPAddress address;
        if (ip is RequestCall { Function: RequestFunction.ClientIp })
        {
            address = request.RemoteEndPoint.Address;
        }
        else if (!ip.TryString(request, out var text) || !Shared.GoNet.TryParseIp(text, out address))
        {
            return false; // "first argument is not an IP address"
        }
        IPAddress network;
        int prefix;
        if (_literal is { } parsed)
        {
            (network, prefix) = parsed;
        }
        else if (!cidr.TryString(request, out var cidrText) || !ZoneNames.TryParseCidr(cidrText, out network, out prefix))
        {
            return false;
        }
        value = Contains(network, prefix, address);
        return true;
    }

    /// <summary>Go's IPNet.Contains: an IPv4 address is only in an IPv4 network, IPv6 only in IPv6.</summary>
    internal static bool Contains(IPAddress network, int prefix, IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (network.IsIPv4MappedToIPv6)
        {
            network = network.MapToIPv4();
        }
        if (address.AddressFamily != network.AddressFamily)
        {
            return false;
        }
        Span<byte> a = stackalloc byte[16];
        Span<byte> n = stackalloc byte[16];
        address.TryWriteBytes(a, out var length);
        network.TryWriteBytes(n, out _);
        var full = prefix / 8;
        if (!a[..full].SequenceEqual(n[..full]))
        {
            return false;
        }
        var bits = prefix % 8;
        if (bits == 0 || full >= length)
        {
            return true;
        }
        var mask = (byte)(0xFF << (8 - bits));
        return (a[full] & mask) == (n[full] & mask);
    }
}

internal enum CompareOp
{
    Equal,
    NotEqual,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
}

internal sealed class Comparison(CompareOp op, ExprNode left, ExprNode right) : ExprNode
{
    public override ExprType Type => ExprType.Bool;

    public override bool TryBool(DnsRequest request, out bool value)
    {
        value = false;
        int order;
        switch (left.Type)
        {
            case ExprType.Int:
                if (!left.TryInt(request, out var l) || !right.TryInt(request, out var r))
                {
                    return false;
                }
                order = l.CompareTo(r);
                break;
            case ExprType.String:
                if (!left.TryString(request, out var ls) || !right.TryString(request, out var rs))
                {
                    return false;
                }
                order = string.CompareOrdinal(ls, rs);
                break;
            default:
                if (!left.TryBool(request, out var lb) || !right.TryBool(request, out var rb))
                {
                    return false;
                }
                order = lb == rb ? 0 : 1;
                break;
        }
        value = op switch
        {
            CompareOp.Equal => order == 0,
            CompareOp.NotEqual => order != 0,
            CompareOp.Less => order < 0,
            CompareOp.Greater => order > 0,
            CompareOp.LessOrEqual => order <= 0,
            _ => order >= 0,
        };
        return true;
    }
}

/// <summary><c>&amp;&amp;</c> / <c>and</c>, <c>||</c> / <c>or</c>: short-circuit, as expr-lang compiles them to jumps.</summary>
internal sealed class Logical(bool isAnd, ExprNode left, ExprNode right) : ExprNode
{
    public override ExprType Type => ExprType.Bool;

    public override bool TryBool(DnsRequest request, out bool value)
    {
        if (!left.TryBool(request, out value))
        {
            return false;
        }
        if (value != isAnd)
        {
            return true;
        }
        return right.TryBool(request, out value);
    }
}

internal sealed class Not(ExprNode operand) : ExprNode
{
    public override ExprType Type => ExprType.Bool;

    public override bool TryBool(DnsRequest request, out bool value)
    {
        if (!operand.TryBool(request, out value))
        {
            return false;
        }
        value = !value;
        return true;
    }
}

/// <summary><c>x in [a, b]</c> (and <c>not in</c>): equality with each element; elements of another type never match.</summary>
internal sealed class InArray : ExprNode
{
    private readonly Comparison[] _tests;
    private readonly bool _negate;

    public InArray(ExprNode item, ArrayLiteral array, bool negate)
    {
        var tests = new List<Comparison>();
        foreach (var element in array.Items)
        {
            if (element.Type == item.Type && item.Type != ExprType.Array)
            {
                tests.Add(new Comparison(CompareOp.Equal, item, element));
            }
        }
        _tests = [.. tests];
        _negate = negate;
    }

    public override ExprType Type => ExprType.Bool;

    public override bool TryBool(DnsRequest request, out bool value)
    {
        value = false;
        foreach (var test in _tests)
        {
            if (!test.TryBool(request, out var hit))
            {
                return false;
            }
            if (hit)
            {
                value = true;
                break;
            }
        }
        value ^= _negate;
        return true;
    }
}

internal enum StringOp
{
    Contains,
    StartsWith,
    EndsWith,
}

internal sealed class StringTest(StringOp op, ExprNode left, ExprNode right) : ExprNode
{
    public override ExprType Type => ExprType.Bool;

    public override bool TryBool(DnsRequest request, out bool value)
    {
        value = false;
        if (!left.TryString(request, out var l) || !right.TryString(request, out var r))
        {
            return false;
        }
        value = op switch
        {
            StringOp.Contains => l.Contains(r, StringComparison.Ordinal),
            StringOp.StartsWith => l.StartsWith(r, StringComparison.Ordinal),
            _ => l.EndsWith(r, StringComparison.Ordinal),
        };
        return true;
    }
}

/// <summary><c>s matches 'RE2'</c>: an unanchored Go regexp search.</summary>
internal sealed class Matches(ExprNode left, GoRegex regex) : ExprNode
{
    public override ExprType Type => ExprType.Bool;

    public override bool TryBool(DnsRequest request, out bool value)
    {
        value = false;
        if (!left.TryString(request, out var text))
        {
            return false;
        }
        try
        {
            value = regex.Regex.IsMatch(text);
            return true;
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
