using System.Net;
using System.Net.Sockets;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>What a name below a kubernetes zone denotes by its shape alone (CoreDNS's parse.go).</summary>
internal enum KubernetesNameKind : byte
{
    /// <summary>The zone itself.</summary>
    Apex,
    /// <summary><c>ns.dns.&lt;zone&gt;</c>, any case [DEV1] (docs/kubernetes-dns.md).</summary>
    NameServer,
    /// <summary><c>svc.&lt;zone&gt;</c> or <c>pod.&lt;zone&gt;</c>: exists, holds nothing.</summary>
    Structural,
    /// <summary><c>&lt;ns&gt;.svc.&lt;zone&gt;</c> or <c>&lt;ns&gt;.pod.&lt;zone&gt;</c>.</summary>
    Namespace,
    /// <summary><c>&lt;service&gt;.&lt;ns&gt;.svc.&lt;zone&gt;</c>.</summary>
    Service,
    /// <summary><c>&lt;endpoint&gt;.&lt;service&gt;.&lt;ns&gt;.svc.&lt;zone&gt;</c>.</summary>
    Endpoint,
    /// <summary><c>_&lt;port&gt;._&lt;proto&gt;.&lt;service&gt;.&lt;ns&gt;.svc.&lt;zone&gt;</c> (underscores optional).</summary>
    Port,
    /// <summary><c>[...]&lt;dashed-ip&gt;.&lt;ns&gt;.pod.&lt;zone&gt;</c>: up to two further labels on the left are ignored.</summary>
    Pod,
    /// <summary>Anything else: the label before the zone is neither <c>svc</c> nor <c>pod</c>, or more than five labels.</summary>
    Invalid,
}

/// <summary>
/// The query-name grammar of the kubernetes plugin: a name split at its zone into original and lower-case wire with
/// label offsets, and what its labels denote (<see cref="Kind"/>). A ref struct over caller-provided buffers, so
/// parsing a query allocates nothing; the resolver and <c>clusterdns explain</c> share it, so they cannot disagree
/// about which name means what.
/// </summary>
internal ref struct KubernetesName
{
    /// <summary>Label offsets the caller provides (a name has at most 127 labels).</summary>
    public const int MaxLabels = 128;

    private readonly Span<int> _offsets;
    private readonly ReadOnlySpan<byte> _original;

    /// <param name="original">The name's wire form, as written by the client.</param>
    /// <param name="lower">At least <paramref name="original"/>'s length: receives the lower-case copy.</param>
    /// <param name="offsets"><see cref="MaxLabels"/> entries: receives the label offsets.</param>
    /// <param name="zoneLabels">Labels of the matched zone.</param>
    /// <param name="zoneIndex">Which zone matched (kept for the caller).</param>
    public KubernetesName(ReadOnlySpan<byte> original, Span<byte> lower, Span<int> offsets, int zoneLabels, int zoneIndex)
    {
        _original = original;
        original.CopyTo(lower);
        DnsNameSpan.ToLower(lower);
        Lower = lower;
        _offsets = offsets;
        var n = 0;
        for (var i = 0; lower[i] != 0 && n < offsets.Length; i += lower[i] + 1)
        {
            offsets[n++] = i;
        }
        LabelCount = n;
        BaseCount = n - zoneLabels;
        ZoneOffset = BaseCount < n ? offsets[BaseCount] : lower.Length - 1;
        ZoneIndex = zoneIndex;
        Kind = Classify();
    }

    public ReadOnlySpan<byte> Lower { get; }

    public int LabelCount { get; }

    /// <summary>Labels left of the zone.</summary>
    public int BaseCount { get; }

    public int ZoneOffset { get; }

    public int ZoneIndex { get; }

    public KubernetesNameKind Kind { get; }

    /// <summary>The label before the zone is <c>pod</c> (the pod branch); else the service branch or invalid.</summary>
    public readonly bool IsPodBranch => BaseCount > 0 && Label(BaseCount - 1).SequenceEqual("pod"u8);

    /// <summary>The label before the zone (<c>svc</c>, <c>pod</c> or whatever the client wrote); empty at the apex.</summary>
    public readonly ReadOnlySpan<byte> BranchLabel => BaseCount > 0 ? Label(BaseCount - 1) : default;

    /// <summary>The namespace label (<see cref="KubernetesNameKind.Namespace"/> and below).</summary>
    public readonly ReadOnlySpan<byte> NamespaceLabel => Label(BaseCount - 2);

    /// <summary>The service label (<see cref="KubernetesNameKind.Service"/>, <see cref="KubernetesNameKind.Endpoint"/>,
    /// <see cref="KubernetesNameKind.Port"/>) or the dashed pod address (<see cref="KubernetesNameKind.Pod"/>).</summary>
    public readonly ReadOnlySpan<byte> ObjectLabel => Label(BaseCount - 3);

    /// <summary>The endpoint label (<see cref="KubernetesNameKind.Endpoint"/>).</summary>
    public readonly ReadOnlySpan<byte> EndpointLabel => Label(0);

    /// <summary>The port name without its underscore (<see cref="KubernetesNameKind.Port"/>).</summary>
    public readonly ReadOnlySpan<byte> PortLabel => StripUnderscore(Label(0));

    /// <summary>The protocol without its underscore (<see cref="KubernetesNameKind.Port"/>).</summary>
    public readonly ReadOnlySpan<byte> ProtocolLabel => StripUnderscore(Label(1));

    public readonly int LabelOffset(int index) => _offsets[index];

    public readonly ReadOnlySpan<byte> Label(int index)
    {
        var at = _offsets[index];
        return Lower.Slice(at + 1, Lower[at]);
    }

    /// <summary><c>ns.dns.&lt;zone&gt;</c>, any case [DEV1] (docs/kubernetes-dns.md).</summary>
    public readonly bool IsNsDns() => Kind == KubernetesNameKind.NameServer;

    /// <summary><c>dns-version.&lt;zone&gt;</c> (the TXT schema version record).</summary>
    public readonly bool IsDnsVersion() => BaseCount == 1 && Label(0).SequenceEqual("dns-version"u8);

    /// <summary>The zone labels in the client's case (SOA owner, SRV/NS targets).</summary>
    public readonly DnsName ZoneAsWritten() => DnsName.FromValidatedWire(_original[ZoneOffset..]);

    private readonly KubernetesNameKind Classify()
    {
        var n = BaseCount;
        if (n == 0)
        {
            return KubernetesNameKind.Apex;
        }
        if (n == 2 && Label(0).SequenceEqual("ns"u8) && Label(1).SequenceEqual("dns"u8))
        {
            return KubernetesNameKind.NameServer;
        }
        var last = Label(n - 1);
        var isSvc = last.SequenceEqual("svc"u8);
        var isPod = last.SequenceEqual("pod"u8);
        if ((!isSvc && !isPod) || n > 5)
        {
            return KubernetesNameKind.Invalid; // k >= 3 labels left of the service is invalid too
        }
        return n switch
        {
            1 => KubernetesNameKind.Structural,
            2 => KubernetesNameKind.Namespace,
            _ when isPod => KubernetesNameKind.Pod,
            3 => KubernetesNameKind.Service,
            4 => KubernetesNameKind.Endpoint,
            _ => KubernetesNameKind.Port,
        };
    }

    private static ReadOnlySpan<byte> StripUnderscore(ReadOnlySpan<byte> label) =>
        label.Length > 0 && label[0] == '_' ? label[1..] : label;

    /// <summary>Kubernetes object names are [a-z0-9-]; anything else cannot match (and keeps keys unambiguous).</summary>
    public static bool ToName(ReadOnlySpan<byte> label, Span<char> chars)
    {
        for (var i = 0; i < label.Length; i++)
        {
            var b = label[i];
            if (!(char.IsAsciiLetterLower((char)b) || char.IsAsciiDigit((char)b) || b == '-'))
            {
                return false;
            }
            chars[i] = (char)b;
        }
        return true;
    }

    /// <summary><c>1-2-3-4</c> (exactly three dashes, no <c>--</c>) is IPv4; anything else is IPv6 with <c>-</c> for <c>:</c>.</summary>
    public static IPAddress? DecodePodLabel(ReadOnlySpan<byte> label)
    {
        if (label.IsEmpty)
        {
            return null;
        }
        var dashes = label.Count((byte)'-');
        if (dashes == 3 && label.IndexOf("--"u8) < 0)
        {
            Span<byte> v4 = stackalloc byte[4];
            var part = 0;
            var start = 0;
            for (var i = 0; i <= label.Length; i++)
            {
                if (i < label.Length && label[i] != '-')
                {
                    continue;
                }
                if (!TryOctet(label[start..i], out v4[part]))
                {
                    return null;
                }
                part++;
                start = i + 1;
            }
            return new IPAddress(v4);
        }
        Span<char> text = stackalloc char[label.Length];
        for (var i = 0; i < label.Length; i++)
        {
            var c = (char)label[i];
            if (!(char.IsAsciiHexDigit(c) || c == '-' || c == '.'))
            {
                return null;
            }
            text[i] = c == '-' ? ':' : c;
        }
        return text.Contains(':') && IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : null;
    }

    // Decimal 0..255 without leading zeros, as Go's net.ParseIP.
    public static bool TryOctet(ReadOnlySpan<byte> digits, out byte value)
    {
        value = 0;
        if (digits.Length is 0 or > 3 || (digits.Length > 1 && digits[0] == '0'))
        {
            return false;
        }
        var v = 0;
        foreach (var d in digits)
        {
            if (!char.IsAsciiDigit((char)d))
            {
                return false;
            }
            v = v * 10 + (d - '0');
        }
        if (v > 255)
        {
            return false;
        }
        value = (byte)v;
        return true;
    }
}
