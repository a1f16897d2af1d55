using System.Collections.Immutable;
using System.Net;
using ClusterDns.Corefile;
using ClusterDns.Kubernetes;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Conformance fixture F1 (the cluster behind the conformance table) and its profiles.</summary>
internal static class F1Fixture
{
    public const long Serial = 1700000000;
    public static readonly IPAddress ServerAddress = IPAddress.Parse("10.244.0.53");

    private static ServicePortInfo P(string name, int port, string proto = "TCP") => new(name, proto, port);

    private static ServiceInfo Svc(string ns, string name, string[] ips, params ServicePortInfo[] ports) =>
        new(ns, name, ips.Length == 1 && ips[0] == "None" ? ServiceKind.Headless : ServiceKind.ClusterIP, [.. ips], null,
            ports.Length == 0 ? [ServicePortInfo.Sentinel] : [.. ports]);

    private static ServiceInfo Ext(string ns, string name, string target) =>
        new(ns, name, ServiceKind.ExternalName, [], target, [ServicePortInfo.Sentinel]);

    private static EndpointInfo Ep(string ip, bool ready = true, string? host = null, string? pod = null) =>
        new([ip], host, pod, null, ready, null);

    private static EndpointSliceInfo Slice(string ns, string name, string service, ServicePortInfo[] ports, params EndpointInfo[] eps) =>
        new(ns, name, service, ports.Length == 0 ? [ServicePortInfo.Sentinel] : [.. ports], [.. eps], null);

    public static ClusterState Build(bool onlyTeamA = false)
    {
        string[] namespaces = onlyTeamA ? ["ns1"] : ["default", "kube-system", "ns1", "ns2", "empty-ns"];
        var dnsPorts = new[] { P("dns", 53, "UDP"), P("dns-tcp", 53), P("metrics", 9153) };
        ServiceInfo[] services =
        [
            Svc("default", "kubernetes", ["10.96.0.1"], P("https", 443)),
            Svc("kube-system", "kube-dns", ["10.96.0.10"], dnsPorts),
            Svc("ns1", "web", ["10.96.0.11"], P("http", 80), P("https", 443)),
            Svc("ns1", "v6", ["fd00:10:96::6"], P("http", 80)),
            Svc("ns1", "dual", ["10.96.0.12", "fd00:10:96::c"], P("http", 80)),
            Svc("ns1", "empty", ["10.96.0.13"], P("http", 80)),
            Svc("ns1", "noport", ["10.96.0.14"]),
            Svc("ns1", "unnamed", ["10.96.0.15"], P("", 8080)),
            Svc("ns1", "hl", ["None"], P("http", 80)),
            Svc("ns1", "hl-peer", ["None"], P("http", 80)),
            Svc("ns1", "hl-nr", ["None"], P("http", 80)),
            Svc("ns1", "hl-np", ["None"]),
            Ext("ns1", "ext", "www.example.com"),
            Ext("ns1", "ext-in", "web.ns1.svc.cluster.local"),
            Ext("ns1", "ext-nx", "nx.example.com"),
            Svc("ns2", "web", ["10.96.1.11"], P("http", 80)),
        ];
        var http80 = new[] { P("http", 80) };
        EndpointSliceInfo[] slices =
        [
            Slice("default", "kubernetes-a", "kubernetes", [P("https", 6443)], Ep("192.168.0.10")),
            Slice("kube-system", "kube-dns-a", "kube-dns", dnsPorts, Ep("10.244.0.53", pod: "coredns-abc")),
            Slice("ns1", "web-a", "web", [P("http", 8080), P("https", 8443)], Ep("10.244.1.1", pod: "web-7f9c-aaaaa"), Ep("10.244.1.2", false)),
            Slice("ns1", "hl-v4", "hl", http80, Ep("10.244.2.1", host: "web-0"), Ep("10.244.2.2", host: "web-1"),
                Ep("10.244.2.3", pod: "hl-5d8f-ccccc"), Ep("10.244.2.4", false, host: "web-3")),
            Slice("ns1", "hl-v6", "hl", http80, Ep("fd00:244::2:1", host: "web-0")),
            Slice("ns1", "hl-peer-a", "hl-peer", http80, Ep("10.244.2.1", pod: "web-0")),
            Slice("ns1", "hl-nr-a", "hl-nr", http80, Ep("10.244.4.1", false)),
            Slice("ns1", "hl-np-a", "hl-np", [], Ep("10.244.3.1")),
            Slice("ns2", "web-a", "web", http80, Ep("10.244.9.1")),
        ];
        // ns1/done (Succeeded) is filtered server-side and never reaches the cache.
        PodInfo[] pods = [new("ns1", "client", "10.244.1.50"), new("ns1", "web-0", "10.244.2.1"), new("ns2", "other", "10.244.9.9")];
        return ClusterState.Build(namespaces, services, slices, pods, Serial);
    }

    public static KubernetesOptions ParseOptions(string corefileBlock)
    {
        var tokens = Lexer.Tokenize(corefileBlock, "Corefile");
        return KubernetesSetup.Parse(new Dispenser(new DirectiveGroup("kubernetes", tokens)), ["cluster.local."]);
    }

    public static string ProfileText(string profile)
    {
        const string p0 = "kubernetes cluster.local in-addr.arpa ip6.arpa";
        string Line(string line) => p0 + " {\n    " + line + "\n}\n";
        return profile switch
        {
            "P0" or "PU" => p0 + "\n",
            "PI" => Line("pods insecure"),
            "PV" => Line("pods verified"),
            "PN" => Line("namespaces ns1"),
            "PL" => Line("namespace_labels team=a"),
            "PE" => Line("ignore empty_service"),
            "PP" => Line("endpoint_pod_names"),
            "P30" => Line("ttl 30"),
            "P3600" => Line("ttl 3600"),
            "PF" or "PU+PF" => Line("fallthrough"),
            "PFR" => Line("fallthrough in-addr.arpa ip6.arpa"),
            "PX" => Line("noendpoints"),
            "PM" => "kubernetes cluster.local example.org in-addr.arpa\n",
            _ => throw new ArgumentException(profile),
        };
    }

    public static (KubernetesPlugin Plugin, RecordingNext Next) CreatePlugin(string profile)
    {
        var options = ParseOptions(ProfileText(profile));
        var unsynced = profile.StartsWith("PU", StringComparison.Ordinal);
        var state = unsynced ? ClusterState.Empty : Build(onlyTeamA: profile == "PL");
        var source = new StaticClusterSource(state, synced: !unsynced);
        var plugin = new KubernetesPlugin(options, [ServerAddress], upstream: Upstream, source: source);
        var next = new RecordingNext();
        plugin.Next = next;
        return (plugin, next);
    }

    /// <summary>The rest of the chain as seen by ExternalName resolution.</summary>
    public static ValueTask<DnsMessage?> Upstream(DnsName name, DnsType type, CancellationToken ct)
    {
        var reply = new DnsMessage();
        reply.Header.IsResponse = true;
        reply.Questions.Add(new DnsQuestion(name, type));
        if (name == DnsName.Parse("www.example.com."))
        {
            if (type == DnsType.A)
            {
                reply.Answers.Add(ZoneText.ParseRecord("www.example.com. 300 IN A 192.0.2.10"));
            }
            else if (type == DnsType.AAAA)
            {
                reply.Answers.Add(ZoneText.ParseRecord("www.example.com. 300 IN AAAA 2001:db8::10"));
            }
        }
        else
        {
            reply.Rcode = DnsRcode.NXDomain;
        }
        return new ValueTask<DnsMessage?>(reply);
    }
}

/// <summary>Next handler stub: records that it was called and writes nothing.</summary>
internal sealed class RecordingNext : DnsPlugin
{
    public int Calls { get; private set; }

    public override string Name => "next";

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        Calls++;
        return new ValueTask<DnsResult>(DnsResult.Success);
    }
}
