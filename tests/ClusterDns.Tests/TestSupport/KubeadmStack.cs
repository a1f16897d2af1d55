using System.Globalization;
using System.Net;
using ClusterDns.Kubernetes;
using ClusterDns.Protocol;
using k8s;
using k8s.Models;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// The kubeadm setup of corefile.md E1 on real sockets: the Corefile exactly as kubeadm writes it except for the
/// addresses a test must choose (DNS and HTTP listeners on port 0 of loopback, lameduck 2s, reload 2s 1s), the
/// in-cluster API connection replaced by <c>endpoint</c> to <see cref="TestApiServer"/>, and <c>/etc/resolv.conf</c>
/// replaced by a resolv.conf-style file naming a real dnsmasq.
/// </summary>
internal static class KubeadmStack
{
    /// <summary>The one HTTP address health, ready and prometheus share here (same address = one listener).</summary>
    public const string HttpAddress = "127.0.0.1:0";

    public const string WebClusterIp = "10.96.0.20";
    public const string KubeDnsClusterIp = "10.96.0.10";
    public static readonly string[] DbEndpoints = ["10.244.1.11", "10.244.1.12", "10.244.1.13"];

    /// <summary>E1 with the test's substitutions. <paramref name="forwardTarget"/> is the resolv.conf path (or
    /// <c>IP:PORT</c> when dnsmasq could not take port 53).</summary>
    public static string Corefile(string apiUrl, string forwardTarget, int ttl = 30, string dnsAddress = ".:0", string healthAddress = HttpAddress,
        string readyAddress = HttpAddress, string prometheusAddress = HttpAddress, string reload = "reload 2s 1s", string kubernetesExtra = "") => $$"""
        {{dnsAddress}} {
            errors
            health {{healthAddress}} {
               lameduck 2s
            }
            ready {{readyAddress}}
            kubernetes cluster.local in-addr.arpa ip6.arpa {
               endpoint {{apiUrl}}
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl {{ttl.ToString(CultureInfo.InvariantCulture)}}{{kubernetesExtra}}
            }
            prometheus {{prometheusAddress}}
            forward . {{forwardTarget}} {
               max_concurrent 1000
            }
            cache 30 {
               disable success cluster.local
               disable denial cluster.local
            }
            loop
            {{reload}}
            loadbalance
        }

        """;

    /// <summary>The forward target for <paramref name="upstream"/>: a resolv.conf-style file when it is on port 53.</summary>
    public static string ForwardTarget(DnsmasqUpstream upstream, string directory)
    {
        if (!upstream.ResolvConfUsable)
        {
            return upstream.To; // resolv.conf has no port syntax (nor does CoreDNS read one): name IP:PORT directly
        }
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "resolv.conf");
        File.WriteAllText(path, $"# written by the kubeadm tests\nsearch example.test\nnameserver {upstream.EndPoint.Address}\noptions ndots:5\n");
        return path;
    }

    public static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-kubeadm-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>A small cluster: kube-dns, a ClusterIP Service <c>web</c> and a headless Service <c>db</c> with three endpoints.</summary>
    public static void LoadCluster(TestApiServer api)
    {
        api.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "default" } });
        api.Upsert(new V1Namespace { Metadata = new V1ObjectMeta { Name = "kube-system" } });
        api.Upsert(Service("kube-system", "kube-dns", KubeDnsClusterIp, 53));
        api.Upsert(Service("default", "web", WebClusterIp, 80));
        api.Upsert(Service("default", "db", "None", 5432));
        api.Upsert(Slice("default", "web-abcde", "web", 80, ["10.244.1.5"], null));
        api.Upsert(Slice("default", "db-fghij", "db", 5432, DbEndpoints, null));
    }

    public static V1Service Service(string ns, string name, string clusterIp, int port) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = clusterIp,
            ClusterIPs = [clusterIp],
            Selector = new Dictionary<string, string> { ["app"] = name },
            Ports = [new V1ServicePort { Name = "p", Port = port, Protocol = "TCP" }],
        },
    };

    /// <summary>An EndpointSlice of <paramref name="service"/>; <paramref name="trigger"/> sets the
    /// <c>endpoints.kubernetes.io/last-change-trigger-time</c> annotation the EndpointSlice controller writes.</summary>
    public static V1EndpointSlice Slice(string ns, string name, string service, int port, IEnumerable<string> addresses, DateTimeOffset? trigger) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Labels = new Dictionary<string, string> { [ModelConverter.ServiceNameLabel] = service },
            Annotations = trigger is { } t
                ? new Dictionary<string, string> { ["endpoints.kubernetes.io/last-change-trigger-time"] = t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) }
                : null,
        },
        AddressType = "IPv4",
        Endpoints = [.. addresses.Select(a => new V1Endpoint { Addresses = [a], Conditions = new V1EndpointConditions { Ready = true } })],
        Ports = [new Discoveryv1EndpointPort { Name = "p", Port = port, Protocol = "TCP" }],
    };

    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(int port, string path)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await client.GetAsync($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}{path}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>GET, or null when the listener does not answer (closed).</summary>
    public static async Task<(HttpStatusCode Status, string Body)?> TryGetAsync(int port, string path)
    {
        try
        {
            return await GetAsync(port, path);
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public static int HttpPort(TestDnsServer server, string address = HttpAddress) =>
        server.App.Services.GetHttpServer(address)?.Port ?? throw new InvalidOperationException($"no HTTP listener on {address}");

    public static Task<Exposition> ScrapeAsync(TestDnsServer server) => Exposition.ScrapeAsync(HttpPort(server));

    public static IEnumerable<string> Addresses(DnsMessage reply) =>
        reply.Answers.Where(r => r.Type == DnsType.A).Select(r => r.DataText());

}
