namespace ClusterDns.Server;

/// <summary>Socket settings for every listener, in one place (Kestrel-style). Defaults follow CoreDNS.</summary>
public sealed record ListenerOptions
{
    /// <summary>SO_REUSEPORT UDP sockets per address on Linux (one receive thread each). 0 = one per core.</summary>
    public int UdpSockets { get; init; }

    /// <summary>TCP connections closed after this long without a query (CoreDNS: 10 s idle).</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A started TCP frame must arrive completely within this time (CoreDNS: 3 s read).</summary>
    public TimeSpan TcpReadTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>An answer must be handed to a TCP client's socket within this time, else the connection is closed: a
    /// client that pipelines queries and never reads would otherwise hold its slot and its requests forever
    /// (CoreDNS: 5 s write).</summary>
    public TimeSpan TcpWriteTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Most concurrent TCP connections per listener. At the cap a new connection takes the place of the one
    /// that has waited longest for its next query with nothing being answered; when every connection is busy the new
    /// one is closed at once.</summary>
    public int MaxTcpConnections { get; init; } = 1024;

    /// <summary>Most concurrent TCP connections from one client address per listener, so one noisy client cannot hold
    /// the whole <see cref="MaxTcpConnections"/>; beyond it that client's new connections are closed at once.</summary>
    public int MaxTcpConnectionsPerClient { get; init; } = 256;

    /// <summary>Most queries of one TCP connection being answered at the same time.</summary>
    public int MaxTcpPipelined { get; init; } = 64;

    public int EffectiveUdpSockets => UdpSockets > 0 ? UdpSockets : OperatingSystem.IsLinux() ? Environment.ProcessorCount : 1;
}
