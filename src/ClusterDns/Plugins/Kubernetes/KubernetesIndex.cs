using System.Net;
using System.Net.Sockets;
using System.Text;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>One ready endpoint address with its endpoint name EN (spec §1), lowercase, as a wire label.</summary>
internal sealed class EndpointEntry(IPAddress address, string name)
{
    public IPAddress Address { get; } = address;

    public string Name { get; } = name;

    /// <summary>Length-prefixed label, ready to be copied in front of a service name.</summary>
    public byte[] Label { get; } = KubernetesIndex.ToLabel(name);
}

internal sealed class SliceEntry(ServicePortInfo[] ports, EndpointEntry[] endpoints)
{
    public ServicePortInfo[] Ports { get; } = ports;

    public EndpointEntry[] Endpoints { get; } = endpoints;
}

internal sealed class ServiceEntry
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public required ServiceKind Kind { get; init; }

    public required IPAddress[] ClusterIps { get; init; }

    public required ServicePortInfo[] Ports { get; init; }

    /// <summary>FQDN of a non-IP externalName, else null (spec §4 b).</summary>
    public DnsName? ExternalTarget { get; init; }

    public required SliceEntry[] Slices { get; init; }

    /// <summary>Ready endpoint addresses over all slices (<c>ignore empty_service</c>).</summary>
    public int ReadyCount { get; init; }

    /// <summary><c>name.ns.svc</c> as wire labels without the root: SRV/NS targets append the zone as written.</summary>
    public required byte[] RelativeWire { get; init; }
}

/// <summary>A name-server entry (spec §5.9): a relative name (<c>svc.ns.svc</c>, <c>EN.svc.ns.svc</c> or <c>ns.dns</c>) and an address.</summary>
internal readonly record struct NameServerEntry(byte[] RelativeWire, IPAddress Address);

internal sealed class PtrEntry
{
    public DnsName? Service { get; set; }

    public List<DnsName> Endpoints { get; } = [];
}

/// <summary>
/// Query-shaped view of one <see cref="ClusterState"/> for one option set: built once per state change,
/// then read by any number of queries without locks. Keys are spans-friendly so lookups allocate nothing.
/// </summary>
internal sealed class KubernetesIndex
{
    private static readonly ServicePortInfo[] SentinelPorts = [ServicePortInfo.Sentinel];
    private static readonly byte[] NsDnsWire = [2, (byte)'n', (byte)'s', 3, (byte)'d', (byte)'n', (byte)'s'];

    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _namespaces;
    private readonly Dictionary<string, ServiceEntry>.AlternateLookup<ReadOnlySpan<char>> _services;
    private readonly Dictionary<UInt128, PtrEntry> _ptr;
    private readonly Dictionary<UInt128, string[]> _podNamespacesByIp;

    private KubernetesIndex(long serial, HashSet<string> namespaces, Dictionary<string, ServiceEntry> services,
        Dictionary<UInt128, PtrEntry> ptr, Dictionary<UInt128, string[]> pods, NameServerEntry[] nameServers)
    {
        Serial = serial;
        _namespaces = namespaces.GetAlternateLookup<ReadOnlySpan<char>>();
        _services = services.GetAlternateLookup<ReadOnlySpan<char>>();
        _ptr = ptr;
        _podNamespacesByIp = pods;
        NameServers = nameServers;
    }

    public long Serial { get; }

    public NameServerEntry[] NameServers { get; }

    public static KubernetesIndex Build(ClusterState state, KubernetesOptions options, IReadOnlyList<IPAddress> localAddresses)
    {
        var namespaces = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ns in state.Namespaces.Keys)
        {
            if (options.Namespaces.Count == 0 || options.Namespaces.Contains(ns))
            {
                namespaces.Add(ns);
            }
        }

        var primary = DnsName.Parse(options.PrimaryZone);
        var services = new Dictionary<string, ServiceEntry>(StringComparer.Ordinal);
        var ptr = new Dictionary<UInt128, PtrEntry>();
        foreach (var service in state.Services)
        {
            var entry = BuildService(state, service, options);
            services[Key(service.Name, service.Namespace)] = entry;
            if (options.Namespaces.Count != 0 && !options.Namespaces.Contains(service.Namespace))
            {
                continue; // PTR honours only the namespaces list [Q10]
            }
            foreach (var ip in entry.ClusterIps)
            {
                var p = GetPtr(ptr, ip);
                p.Service ??= Target(null, entry.RelativeWire, primary);
            }
            foreach (var slice in entry.Slices)
            {
                foreach (var ep in slice.Endpoints)
                {
                    var target = Target(ep.Label, entry.RelativeWire, primary);
                    var p = GetPtr(ptr, ep.Address);
                    if (target is not null && !p.Endpoints.Contains(target))
                    {
                        p.Endpoints.Add(target);
                    }
                }
            }
        }

        var pods = new Dictionary<UInt128, string[]>();
        if (options.PodMode == PodMode.Verified)
        {
            var lists = new Dictionary<UInt128, List<string>>();
            foreach (var pod in state.Pods)
            {
                if (IPAddress.TryParse(pod.PodIP, out var ip))
                {
                    var key = ToKey(ip);
                    if (!lists.TryGetValue(key, out var list))
                    {
                        lists[key] = list = [];
                    }
                    list.Add(pod.Namespace);
                }
            }
            foreach (var (key, list) in lists)
            {
                pods[key] = [.. list];
            }
        }

        return new KubernetesIndex(state.Serial, namespaces, services, ptr, pods, BuildNameServers(services, localAddresses));
    }

    public bool IsNamespaceExposed(ReadOnlySpan<char> ns) => _namespaces.Contains(ns);

    /// <summary>Every service, in no particular order (zone transfer).</summary>
    public IEnumerable<ServiceEntry> Services => _services.Dictionary.Values;

    public ServiceEntry? FindService(ReadOnlySpan<char> key) => _services.TryGetValue(key, out var entry) ? entry : null;

    public PtrEntry? FindPtr(UInt128 key) => _ptr.GetValueOrDefault(key);

    public bool HasPod(UInt128 ip, ReadOnlySpan<char> ns)
    {
        if (!_podNamespacesByIp.TryGetValue(ip, out var list))
        {
            return false;
        }
        foreach (var item in list)
        {
            if (ns.SequenceEqual(item))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Key of a service: <c>name.ns</c> (neither part can contain a dot).</summary>
    public static string Key(string name, string ns) => name + "." + ns;

    /// <summary>IPv4 lives in the IPv4-mapped range so both families share one key space.</summary>
    public static UInt128 ToKey(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes.Clear();
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
        }
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }

    public static byte[] ToLabel(string text)
    {
        var length = Math.Min(text.Length, DnsName.MaxLabelLength);
        var label = new byte[length + 1];
        label[0] = (byte)length;
        Encoding.Latin1.GetBytes(text.AsSpan(0, length), label.AsSpan(1));
        return label;
    }

    /// <summary>Builds <c>[label.]relative.zone</c>; null when the result would be too long.</summary>
    public static DnsName? Target(byte[]? label, ReadOnlySpan<byte> relative, DnsName zone)
    {
        var length = (label?.Length ?? 0) + relative.Length + zone.WireLength;
        if (length > DnsName.MaxWireLength)
        {
            return null;
        }
        Span<byte> wire = stackalloc byte[length];
        var at = 0;
        if (label is not null)
        {
            label.CopyTo(wire);
            at = label.Length;
        }
        relative.CopyTo(wire[at..]);
        zone.Wire.CopyTo(wire[(at + relative.Length)..]);
        return DnsName.FromValidatedWire(wire);
    }

    private static PtrEntry GetPtr(Dictionary<UInt128, PtrEntry> ptr, IPAddress ip)
    {
        var key = ToKey(ip);
        if (!ptr.TryGetValue(key, out var entry))
        {
            ptr[key] = entry = new PtrEntry();
        }
        return entry;
    }

    private static ServiceEntry BuildService(ClusterState state, ServiceInfo s, KubernetesOptions options)
    {
        var ips = new List<IPAddress>();
        if (s.Kind == ServiceKind.ClusterIP && !s.ClusterIPs.IsDefaultOrEmpty)
        {
            foreach (var text in s.ClusterIPs)
            {
                if (IPAddress.TryParse(text, out var ip))
                {
                    ips.Add(ip);
                }
            }
        }

        var slices = new List<SliceEntry>();
        var ready = 0;
        if (!options.NoEndpoints && s.Kind != ServiceKind.ExternalName)
        {
            foreach (var slice in state.GetSlices(s.Namespace, s.Name))
            {
                var endpoints = new List<EndpointEntry>();
                foreach (var ep in slice.Endpoints)
                {
                    if (!ep.Ready || ep.Addresses.IsDefaultOrEmpty)
                    {
                        continue;
                    }
                    foreach (var address in ep.Addresses)
                    {
                        if (IPAddress.TryParse(address, out var ip))
                        {
                            endpoints.Add(new EndpointEntry(ip, EndpointName(ep, address, options.EndpointPodNames)));
                        }
                    }
                }
                ready += endpoints.Count;
                slices.Add(new SliceEntry(Ports(slice.Ports), [.. endpoints]));
            }
        }

        DnsName? external = null;
        if (s.Kind == ServiceKind.ExternalName && !string.IsNullOrEmpty(s.ExternalName) && !IPAddress.TryParse(s.ExternalName, out _))
        {
            var fqdn = s.ExternalName.EndsWith('.') ? s.ExternalName : s.ExternalName + ".";
            DnsName.TryParse(fqdn, out external);
        }

        var relative = new byte[s.Name.Length + s.Namespace.Length + 6];
        var at = 0;
        foreach (var part in (ReadOnlySpan<string>)[s.Name, s.Namespace, "svc"])
        {
            relative[at++] = (byte)part.Length;
            at += Encoding.Latin1.GetBytes(part.ToLowerInvariant(), relative.AsSpan(at));
        }

        return new ServiceEntry
        {
            Namespace = s.Namespace,
            Name = s.Name,
            Kind = s.Kind,
            ClusterIps = [.. ips],
            Ports = Ports(s.Ports),
            ExternalTarget = external,
            Slices = [.. slices],
            ReadyCount = ready,
            RelativeWire = relative,
        };
    }

    private static ServicePortInfo[] Ports(System.Collections.Immutable.ImmutableArray<ServicePortInfo> ports) =>
        ports.IsDefaultOrEmpty ? SentinelPorts : [.. ports];

    /// <summary>EN(EA), spec §1: hostname, then (endpoint_pod_names) the pod name, then the dashed address.</summary>
    internal static string EndpointName(EndpointInfo ep, string address, bool podNames)
    {
        if (!string.IsNullOrEmpty(ep.Hostname))
        {
            return ep.Hostname.ToLowerInvariant();
        }
        if (podNames && !string.IsNullOrEmpty(ep.TargetRefName) && ep.TargetRefName.Length <= DnsName.MaxLabelLength)
        {
            return ep.TargetRefName.ToLowerInvariant();
        }
        if (address.Contains(':'))
        {
            var dashed = address.Replace(':', '-').ToLowerInvariant();
            return dashed.EndsWith('-') ? dashed + "0" : dashed;
        }
        return address.Replace('.', '-');
    }

    private static NameServerEntry[] BuildNameServers(Dictionary<string, ServiceEntry> services, IReadOnlyList<IPAddress> localAddresses)
    {
        var entries = new List<NameServerEntry>();
        var locals = new HashSet<UInt128>();
        foreach (var address in localAddresses)
        {
            if (!IPAddress.IsLoopback(address))
            {
                locals.Add(ToKey(address));
            }
        }
        if (locals.Count > 0)
        {
            foreach (var service in services.Values)
            {
                foreach (var slice in service.Slices)
                {
                    if (!SliceHolds(slice, locals))
                    {
                        continue;
                    }
                    if (service.Kind == ServiceKind.Headless)
                    {
                        foreach (var ep in slice.Endpoints)
                        {
                            Add(entries, [.. ep.Label, .. service.RelativeWire], ep.Address);
                        }
                    }
                    else
                    {
                        foreach (var ip in service.ClusterIps)
                        {
                            Add(entries, service.RelativeWire, ip);
                        }
                    }
                }
            }
        }
        if (entries.Count == 0)
        {
            foreach (var address in localAddresses)
            {
                if (!IPAddress.IsLoopback(address))
                {
                    Add(entries, NsDnsWire, address);
                }
            }
        }
        return [.. entries];
    }

    private static bool SliceHolds(SliceEntry slice, HashSet<UInt128> locals)
    {
        foreach (var ep in slice.Endpoints)
        {
            if (locals.Contains(ToKey(ep.Address)))
            {
                return true;
            }
        }
        return false;
    }

    private static void Add(List<NameServerEntry> entries, byte[] relative, IPAddress address)
    {
        foreach (var e in entries)
        {
            if (e.Address.Equals(address) && e.RelativeWire.AsSpan().SequenceEqual(relative))
            {
                return;
            }
        }
        entries.Add(new NameServerEntry(relative, address));
    }
}
