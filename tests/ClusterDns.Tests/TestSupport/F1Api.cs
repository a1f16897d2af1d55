using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using ClusterDns.Kubernetes;
using k8s;
using k8s.Models;

namespace ClusterDns.Tests.TestSupport;

/// <summary>
/// Fixture F1 as Kubernetes objects for the test API server, converted from the in-code
/// <see cref="F1Fixture"/> so both suites share one source of truth. F1 puts the DNS server at 10.244.0.53 (an
/// endpoint of kube-dns, which is what makes NS answer kube-dns); a test process cannot own that address, so the
/// server binds a real non-loopback address of this host and the kube-dns endpoint carries that address instead.
/// </summary>
internal static class F1Api
{
    public const string FixtureServerAddress = "10.244.0.53";

    /// <summary>A non-loopback IPv4 address of this host (null if it has none: NS rows cannot run then).</summary>
    public static IPAddress? HostAddress { get; } = FindHostAddress();

    /// <summary>Where test servers bind and clients send.</summary>
    public static IPAddress ServerAddress => HostAddress ?? IPAddress.Loopback;

    private static IPAddress? FindHostAddress()
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                if (unicast.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(unicast.Address))
                {
                    return unicast.Address;
                }
            }
        }
        return null;
    }

    /// <summary>Replaces the fixture's server address in expected text with the one the test server really has.</summary>
    public static string Localize(string text) => text.Replace(FixtureServerAddress, ServerAddress.ToString(), StringComparison.Ordinal);

    /// <summary>Every F1 object, namespaces first.</summary>
    public static List<IKubernetesObject<V1ObjectMeta>> Objects()
    {
        var state = F1Fixture.Build();
        var result = new List<IKubernetesObject<V1ObjectMeta>>();
        foreach (var ns in state.Namespaces.Keys)
        {
            // Namespace labels of F1 (the in-code fixture models namespace_labels by leaving ns out instead).
            var labels = ns switch
            {
                "ns1" => new Dictionary<string, string> { ["team"] = "a" },
                "ns2" => new Dictionary<string, string> { ["team"] = "b" },
                _ => null,
            };
            result.Add(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns, Labels = labels } });
        }
        foreach (var service in state.Services)
        {
            result.Add(ToService(service));
        }
        foreach (var slice in state.Slices)
        {
            result.Add(ToSlice(slice));
        }
        foreach (var pod in state.Pods)
        {
            result.Add(Pod(pod.Namespace, pod.Name, pod.PodIP, "Running"));
        }
        // Filtered server-side by the phase field selector, so the in-code state never holds it.
        result.Add(Pod("ns1", "done", "10.244.1.60", "Succeeded"));
        return result;
    }

    public static void Load(TestApiServer api)
    {
        foreach (var obj in Objects())
        {
            api.Upsert(obj);
        }
    }

    public static V1Pod Pod(string ns, string name, string ip, string phase) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Status = new V1PodStatus { PodIP = ip, Phase = phase },
    };

    public static V1Service ToService(ServiceInfo s)
    {
        var ports = new List<V1ServicePort>();
        foreach (var p in s.Ports)
        {
            if (p.Port >= 0)
            {
                ports.Add(new V1ServicePort { Name = p.Name.Length == 0 ? null : p.Name, Port = p.Port, Protocol = p.Protocol });
            }
        }
        return new V1Service
        {
            Metadata = new V1ObjectMeta { Name = s.Name, NamespaceProperty = s.Namespace },
            Spec = s.Kind == ServiceKind.ExternalName
                ? new V1ServiceSpec { Type = "ExternalName", ExternalName = s.ExternalName }
                : new V1ServiceSpec
                {
                    Type = "ClusterIP",
                    ClusterIP = s.ClusterIPs[0],
                    ClusterIPs = [.. s.ClusterIPs],
                    Ports = ports.Count == 0 ? null : ports,
                },
        };
    }

    public static V1Service Service(string ns, string name, string ip, int port = 80) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = ip,
            ClusterIPs = [ip],
            Ports = [new V1ServicePort { Name = "http", Port = port, Protocol = "TCP" }],
        },
    };

    public static V1EndpointSlice ToSlice(EndpointSliceInfo s)
    {
        var endpoints = new List<V1Endpoint>();
        foreach (var e in s.Endpoints)
        {
            var addresses = new List<string>();
            foreach (var a in e.Addresses)
            {
                addresses.Add(a == FixtureServerAddress ? ServerAddress.ToString() : a);
            }
            endpoints.Add(new V1Endpoint
            {
                Addresses = addresses,
                Hostname = e.Hostname,
                TargetRef = e.TargetRefName is null ? null : new V1ObjectReference { Kind = "Pod", Name = e.TargetRefName, NamespaceProperty = s.Namespace },
                Conditions = new V1EndpointConditions { Ready = e.Ready },
            });
        }
        var ports = new List<Discoveryv1EndpointPort>();
        foreach (var p in s.Ports)
        {
            if (p.Port >= 0)
            {
                ports.Add(new Discoveryv1EndpointPort { Name = p.Name, Port = p.Port, Protocol = p.Protocol });
            }
        }
        var family = s.Endpoints.Length > 0 && s.Endpoints[0].Addresses[0].Contains(':') ? "IPv6" : "IPv4";
        return new V1EndpointSlice
        {
            Metadata = new V1ObjectMeta
            {
                Name = s.Name,
                NamespaceProperty = s.Namespace,
                Labels = new Dictionary<string, string> { [ModelConverter.ServiceNameLabel] = s.ServiceName },
            },
            AddressType = family,
            Endpoints = endpoints,
            Ports = ports.Count == 0 ? null : ports,
        };
    }

    /// <summary>The Corefile for an F1 profile: one server block on the host address, the kubernetes block with
    /// <c>endpoint</c>, <paramref name="extra"/> lines in the block, and a stub upstream/next handler.</summary>
    public static string Corefile(string profile, string endpoint, string extraBlockLines = "", string extraDirectives = "")
    {
        var block = F1Fixture.ProfileText(profile).TrimEnd();
        var lines = "    endpoint " + endpoint + "\n" + extraBlockLines;
        block = block.EndsWith('}')
            ? block[..^1] + lines + "}"
            : block + " {\n" + lines + "}";
        return ".:0 {\n    bind " + ServerAddress + "\n" + extraDirectives + block + "\n    forward .\n}\n";
    }

    /// <summary>
    /// The rest of the chain, in the <c>forward</c> slot: answers the ExternalName targets of F1 (reached
    /// through the server itself, as "upstream"), and marks anything else with a TXT so tests can tell that the
    /// kubernetes plugin delegated (→NEXT).
    /// </summary>
    public static IReadOnlyDictionary<string, ClusterDns.Server.PluginDescriptor> Plugins { get; } = TestPlugins.With(
        TestPlugins.Answering("forward", _ => request =>
        {
            var name = request.Name;
            if (name == "www.example.com.")
            {
                var reply = request.CreateReply(authoritative: false);
                if (request.Type == Protocol.DnsType.A)
                {
                    reply.Answers.Add(Protocol.ZoneText.ParseRecord("www.example.com. 300 IN A 192.0.2.10"));
                }
                else if (request.Type == Protocol.DnsType.AAAA)
                {
                    reply.Answers.Add(Protocol.ZoneText.ParseRecord("www.example.com. 300 IN AAAA 2001:db8::10"));
                }
                return reply;
            }
            if (name == "nx.example.com.")
            {
                return request.CreateReply(Protocol.DnsRcode.NXDomain, authoritative: false);
            }
            var next = request.CreateReply(authoritative: false);
            next.Answers.Add(new Protocol.TxtRecord([NextMarker]) { Name = request.QuestionName, Ttl = 0 });
            return next;
        }));

    public const string NextMarker = "next-handler";
}
