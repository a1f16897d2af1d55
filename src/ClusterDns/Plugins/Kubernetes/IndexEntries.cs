using System.Net;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>One ready endpoint address with its endpoint name EN (docs/kubernetes-dns.md §1), lowercase, as a wire label.</summary>
internal sealed class EndpointEntry(IPAddress address, byte[] label)
{
    public EndpointEntry(IPAddress address, string name)
        : this(address, IndexKeys.ToLabel(name))
    {
    }

    public IPAddress Address { get; } = address;

    /// <summary>Length-prefixed label, ready to be copied in front of a service name (the name itself is not kept:
    /// queries compare against the label bytes). For a multicluster endpoint two labels: <c>&lt;EN&gt;.&lt;cluster id&gt;</c>.</summary>
    public byte[] Label { get; } = label;

    public ReadOnlySpan<byte> NameBytes => Label.AsSpan(1);

    public bool SameContent(EndpointEntry other) => Address.Equals(other.Address) && Label.AsSpan().SequenceEqual(other.Label);
}

internal sealed class SliceEntry(ServicePortInfo[] ports, EndpointEntry[] endpoints)
{
    public ServicePortInfo[] Ports { get; } = ports;

    public EndpointEntry[] Endpoints { get; } = endpoints;

    public static bool SamePorts(ServicePortInfo[] a, ServicePortInfo[] b) => a.AsSpan().SequenceEqual(b);

    public bool SameContent(SliceEntry other)
    {
        if (!SamePorts(Ports, other.Ports) || Endpoints.Length != other.Endpoints.Length)
        {
            return false;
        }
        for (var i = 0; i < Endpoints.Length; i++)
        {
            if (!Endpoints[i].SameContent(other.Endpoints[i]))
            {
                return false;
            }
        }
        return true;
    }
}

internal sealed class ServiceEntry : CacheToken, ITrieItem<ServiceEntry>
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public required ServiceKind Kind { get; init; }

    public required IPAddress[] ClusterIps { get; init; }

    public required ServicePortInfo[] Ports { get; init; }

    /// <summary>FQDN of a non-IP externalName, else null (docs/kubernetes-dns.md §4 b).</summary>
    public DnsName? ExternalTarget { get; init; }

    public required SliceEntry[] Slices { get; init; }

    /// <summary>Ready endpoint addresses over all slices (<c>ignore empty_service</c>).</summary>
    public int ReadyCount { get; init; }

    /// <summary><c>name.ns.svc</c> as wire labels without the root: SRV/NS targets append the zone as written.</summary>
    public required byte[] RelativeWire { get; init; }

    /// <summary>Hash of the key <c>name.ns</c> (see <see cref="IndexKeys.KeyHash(ReadOnlySpan{char})"/>).</summary>
    public required ulong Hash { get; init; }

    public bool SameKey(ServiceEntry other) => Name == other.Name && Namespace == other.Namespace;

    /// <summary>Key <c>name.ns</c> compared without building the string.</summary>
    public bool HasKey(ReadOnlySpan<char> key) =>
        key.Length == Name.Length + 1 + Namespace.Length && key.StartsWith(Name) && key[Name.Length] == '.'
        && key[(Name.Length + 1)..].SequenceEqual(Namespace);

    /// <summary>Same answers: lets an event that changed nothing DNS-visible keep the old entry (and its cached replies).</summary>
    public bool SameContent(ServiceEntry other)
    {
        if (Kind != other.Kind || ReadyCount != other.ReadyCount || !Equals(ExternalTarget, other.ExternalTarget)
            || ClusterIps.Length != other.ClusterIps.Length || Slices.Length != other.Slices.Length || !SliceEntry.SamePorts(Ports, other.Ports))
        {
            return false;
        }
        for (var i = 0; i < ClusterIps.Length; i++)
        {
            if (!ClusterIps[i].Equals(other.ClusterIps[i]))
            {
                return false;
            }
        }
        for (var i = 0; i < Slices.Length; i++)
        {
            if (!Slices[i].SameContent(other.Slices[i]))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>A name-server entry (docs/kubernetes-dns.md §5.9): a relative name (<c>svc.ns.svc</c>, <c>EN.svc.ns.svc</c> or <c>ns.dns</c>) and an address.</summary>
internal readonly record struct NameServerEntry(byte[] RelativeWire, IPAddress Address);

internal sealed class PtrEntry(UInt128 key, byte[]? serviceRelative, DnsName[] endpoints) : CacheToken, ITrieItem<PtrEntry>
{
    public UInt128 Key { get; } = key;

    public ulong Hash { get; } = IndexKeys.IpHash(key);

    /// <summary>The ClusterIP service's <see cref="ServiceEntry.RelativeWire"/> (shared, not copied): the target
    /// <c>name.ns.svc.zone</c> is built when a reply is compiled, not kept as a name per service.</summary>
    public byte[]? ServiceRelative { get; } = serviceRelative;

    public DnsName[] Endpoints { get; } = endpoints;

    public bool SameKey(PtrEntry other) => Key == other.Key;

    public bool SameContent(PtrEntry other)
    {
        if (!ServiceRelative.AsSpan().SequenceEqual(other.ServiceRelative) || (ServiceRelative is null) != (other.ServiceRelative is null)
            || Endpoints.Length != other.Endpoints.Length)
        {
            return false;
        }
        for (var i = 0; i < Endpoints.Length; i++)
        {
            if (!Endpoints[i].Equals(other.Endpoints[i]))
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Namespaces of the pods holding one IP (<c>pods verified</c>); one string in the common case, no array.</summary>
internal sealed class PodIpEntry(UInt128 key, string first, string[]? more) : ITrieItem<PodIpEntry>
{
    public UInt128 Key { get; } = key;

    public ulong Hash { get; } = IndexKeys.IpHash(key);

    public bool SameKey(PodIpEntry other) => Key == other.Key;

    /// <summary>The namespace of the first pod listed at this IP.</summary>
    public string First => first;

    public bool Has(ReadOnlySpan<char> ns)
    {
        if (ns.SequenceEqual(first))
        {
            return true;
        }
        if (more is not null)
        {
            foreach (var item in more)
            {
                if (ns.SequenceEqual(item))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
