using ClusterDns.Server;

namespace ClusterDns.Plugins.Bufsize;

/// <summary>
/// CoreDNS <c>bufsize</c>: lowers the EDNS0 UDP size of queries that advertise a larger one before the rest of the
/// chain runs, so replies are sized (and truncated) for it, the reply's OPT advertises it and forwarded queries carry
/// it. Queries without EDNS are left alone.
/// </summary>
public sealed class BufsizePlugin(ushort size) : DnsPlugin
{
    public override string Name => "bufsize";

    public ushort Size { get; } = size;

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        request.LowerUdpSize(Size);
        return NextAsync(request, cancellationToken);
    }
}
