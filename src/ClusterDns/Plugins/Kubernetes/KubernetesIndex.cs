using System.Net;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;

namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// Query-shaped view of one <see cref="ClusterState"/> for one option set, read by any number of queries without
/// locks. Built in full once (and on relists); every later change goes through <see cref="Apply"/>, which rebuilds
/// only the changed services, the PTR entries of the addresses they had or have, the name-server entries when a
/// local address is involved, and the pod entries of changed pod IPs. Everything else (persistent tries) is
/// shared with the previous index, so one event costs work proportional to the object it changed.
/// </summary>
internal sealed partial class KubernetesIndex
{

    private readonly Context _context;
    private readonly HashSet<string> _namespaceSet;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _namespaces;
    private readonly HashTrie<ServiceEntry> _services;
    private readonly HashTrie<PtrEntry> _ptr;
    private readonly HashTrie<PodIpEntry> _pods;
    private readonly HashTrie<ServiceEntry> _imports;

    /// <summary>What stays fixed for a plugin instance: options, bound addresses, the parsed primary zone.</summary>
    private sealed class Context(KubernetesOptions options, IReadOnlyList<IPAddress> localAddresses)
    {
        public KubernetesOptions Options { get; } = options;

        public IReadOnlyList<IPAddress> LocalAddresses { get; } = localAddresses;

        public DnsName Primary { get; } = DnsName.Parse(options.PrimaryZone);

        /// <summary>Non-loopback bound addresses as keys: an event touching one of them recomputes the NS entries.</summary>
        public HashSet<UInt128> LocalKeys { get; } = LocalKeysOf(localAddresses);

        public bool PtrAllowed(string ns) => Options.Namespaces.Count == 0 || Options.Namespaces.Contains(ns);
    }

    private KubernetesIndex(Context context, ClusterState state, HashSet<string> namespaces, HashTrie<ServiceEntry> services,
        HashTrie<PtrEntry> ptr, HashTrie<PodIpEntry> pods, NameServerEntry[] nameServers, IndexGeneration generation, object lineage,
        HashTrie<ServiceEntry> imports)
    {
        _imports = imports;
        _context = context;
        Lineage = lineage;
        State = state;
        _namespaceSet = namespaces;
        _namespaces = namespaces.GetAlternateLookup<ReadOnlySpan<char>>();
        _services = services;
        _ptr = ptr;
        _pods = pods;
        NameServers = nameServers;
        Generation = generation;
    }

    /// <summary>The snapshot this index reflects (the "before" side of the next <see cref="Apply"/>).</summary>
    public ClusterState State { get; }

    public long Serial => State.Serial;

    public NameServerEntry[] NameServers { get; }

    /// <summary>Token of every cached reply that is not owned by one service/PTR entry (see <see cref="IndexGeneration"/>).</summary>
    public IndexGeneration Generation { get; }

    /// <summary>The first zone: where PTR and other generated targets live.</summary>
    public DnsName PrimaryZone => _context.Primary;

    public int ServiceCount => _services.Count;

    public int PtrCount => _ptr.Count;

    public bool IsNamespaceExposed(ReadOnlySpan<char> ns) => _namespaces.Contains(ns);

    /// <summary>Every service, in no particular order (zone transfer).</summary>
    public IEnumerable<ServiceEntry> Services => _services.Items();

    /// <summary>Identity of the entry lineage: changes when cached replies must all be dropped (full build,
    /// namespace change — positive replies depend on namespace exposure and carry no generation token).</summary>
    public object Lineage { get; }

    public ServiceEntry? FindService(ReadOnlySpan<char> key) => _services.Find(IndexKeys.KeyHash(key), new ServiceKey(key));

    public PtrEntry? FindPtr(UInt128 key) => FindPtr(_ptr, key);

    public bool HasPod(UInt128 ip, ReadOnlySpan<char> ns) => _pods.Find(IndexKeys.IpHash(ip), new PodKey(ip)) is { } entry && entry.Has(ns);

    /// <summary>Namespace of the first pod holding <paramref name="ip"/> (autopath's client pod), or null.</summary>
    public string? FirstPodNamespace(UInt128 ip) => _pods.Find(IndexKeys.IpHash(ip), new PodKey(ip))?.First;

    private static ServiceEntry? Find(HashTrie<ServiceEntry> services, string name, string ns) =>
        services.Find(IndexKeys.KeyHash(name, ns), new ServiceName(name, ns));

    private static PtrEntry? FindPtr(HashTrie<PtrEntry> ptr, UInt128 key) => ptr.Find(IndexKeys.IpHash(key), new PtrKey(key));

    /// <summary>The key <c>name.ns</c> of a query, compared without building the string.</summary>
    private readonly ref struct ServiceKey(ReadOnlySpan<char> key) : ITrieMatch<ServiceEntry>
    {
        private readonly ReadOnlySpan<char> _key = key;

        public bool Matches(ServiceEntry item) => item.HasKey(_key);
    }

    private readonly struct ServiceName(string name, string ns) : ITrieMatch<ServiceEntry>
    {
        public bool Matches(ServiceEntry item) => item.Name == name && item.Namespace == ns;
    }

    private readonly struct PtrKey(UInt128 key) : ITrieMatch<PtrEntry>
    {
        public bool Matches(PtrEntry item) => item.Key == key;
    }

    private readonly struct PodKey(UInt128 key) : ITrieMatch<PodIpEntry>
    {
        public bool Matches(PodIpEntry item) => item.Key == key;
    }
}
