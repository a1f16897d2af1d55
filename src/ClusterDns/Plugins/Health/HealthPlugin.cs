using ClusterDns.Server;

namespace ClusterDns.Plugins.Health;

/// <summary>
/// CoreDNS <c>health</c> (setup only, no query handler): <c>/health</c> answers 200 <c>OK</c> while the process
/// runs, and on final shutdown <c>lameduck</c> keeps DNS and HTTP serving for a while before sockets close.
/// A <see cref="HealthProbe"/> GETs the endpoint every second and reports <c>coredns_health_*</c>.
/// </summary>
public static class HealthPlugin
{
    public const string DefaultAddress = ":8080";
    public const string Path = "/health";

    // Always healthy while the process serves (CoreDNS ≥ 1.6.2); readiness is ready's job.
    internal static Task Handle(HttpExchange exchange) => exchange.WriteAsync(200, "OK");
}
