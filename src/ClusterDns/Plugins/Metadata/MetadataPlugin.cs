using ClusterDns.Corefile;
using ClusterDns.Server;

namespace ClusterDns.Plugins.Metadata;

/// <summary>
/// CoreDNS <c>metadata</c>: for a query in its zones, asks every metadata provider of the block (found once the
/// configuration is built, as CoreDNS's OnStartup does) to publish its values before the rest of the chain runs.
/// Values are functions, so nothing is computed unless a consumer (<c>log</c>'s <c>{/label}</c>, <c>template</c>'s
/// <c>.Meta</c>) reads it.
/// </summary>
public sealed class MetadataPlugin(ZoneSet zones) : DnsPlugin
{
    private IMetadataProvider[] _providers = [];

    public override string Name => "metadata";

    public ZoneSet Zones { get; } = zones;

    public IReadOnlyList<IMetadataProvider> Providers => _providers;

    internal void SetProviders(IMetadataProvider[] providers) => _providers = providers;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        if (Zones.Match(request.LowerNameWire) >= 0)
        {
            foreach (var provider in _providers)
            {
                provider.CollectMetadata(request);
            }
        }
        return NextAsync(request, cancellationToken);
    }
}
