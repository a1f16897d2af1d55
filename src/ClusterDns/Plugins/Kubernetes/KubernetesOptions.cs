using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Shared;

namespace ClusterDns.Plugins.Kubernetes;

public enum PodMode : byte
{
    Disabled,
    Insecure,
    Verified,
}

/// <summary>
/// The parsed <c>kubernetes</c> block (docs/kubernetes-dns.md §6). Immutable: a reload builds a new instance.
/// </summary>
public sealed record KubernetesOptions
{
    public const uint DefaultTtl = 5;

    /// <summary>Lower-case FQDN zones in Corefile order (CIDRs already expanded).</summary>
    public IReadOnlyList<string> Zones { get; init; } = [];

    /// <summary>First non-reverse zone: PTR targets use it (docs/kubernetes-dns.md §5.7).</summary>
    public string PrimaryZone { get; init; } = "cluster.local.";

    public uint Ttl { get; init; } = DefaultTtl;

    public PodMode PodMode { get; init; } = PodMode.Disabled;

    /// <summary>Exposed namespaces; empty means all (docs/kubernetes-dns.md §7).</summary>
    public IReadOnlySet<string> Namespaces { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public string? NamespaceLabels { get; init; }

    public string? Labels { get; init; }

    public bool EndpointPodNames { get; init; }

    public bool NoEndpoints { get; init; }

    /// <summary>The <c>fallthrough [ZONES...]</c> option (docs/kubernetes-dns.md §10): NXDOMAIN names it covers go to the
    /// next plugin.</summary>
    public Fallthrough Fallthrough { get; init; } = Fallthrough.None;

    public bool IgnoreEmptyService { get; init; }

    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public KubernetesConnectionOptions Connection { get; init; } = new();

    /// <summary>ClusterDns extension <c>snapshot FILE|DIR</c>: serve from files instead of the API.</summary>
    public string? Snapshot { get; init; }

    /// <summary>Client-side request rate limit (token bucket with <see cref="ApiServerBurst"/> capacity); 0 = no limit.</summary>
    public double ApiServerQps { get; init; }

    public int ApiServerBurst { get; init; }

    /// <summary>0 = unlimited.</summary>
    public int ApiServerMaxInflight { get; init; }

    /// <summary>Zones answered from MCS ServiceImports and their slices instead of Services (docs/kubernetes-dns.md §11).</summary>
    public IReadOnlyList<string>? MulticlusterZones { get; init; }


    /// <summary>Non-fatal remarks from parsing (the caller logs them as warnings).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    public WatchOptions ToWatchOptions() => new()
    {
        LabelSelector = Labels,
        NamespaceLabelSelector = NamespaceLabels,
        WatchPods = PodMode == PodMode.Verified,
        WatchEndpointSlices = !NoEndpoints,
        WatchMulticluster = MulticlusterZones is { Count: > 0 },
    };

    internal static bool IsReverseZone(string zone) =>
        zone is "in-addr.arpa." or "ip6.arpa."
        || zone.EndsWith(".in-addr.arpa.", StringComparison.Ordinal) || zone.EndsWith(".ip6.arpa.", StringComparison.Ordinal);
}
