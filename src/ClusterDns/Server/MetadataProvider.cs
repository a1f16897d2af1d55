namespace ClusterDns.Server;

/// <summary>
/// A plugin that publishes per-query metadata (CoreDNS's <c>metadata.Provider</c>). The <c>metadata</c> plugin calls
/// <see cref="CollectMetadata"/> for every query in its zones before the rest of the chain runs; the provider puts
/// label → value entries (<c>kubernetes/namespace</c> → a <see cref="Func{String}"/>, evaluated only when read) into
/// <see cref="DnsRequest.Items"/>. Without a <c>metadata</c> directive no provider is ever called.
/// </summary>
public interface IMetadataProvider
{
    void CollectMetadata(DnsRequest request);
}
