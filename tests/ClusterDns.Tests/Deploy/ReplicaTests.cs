using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using Xunit.Abstractions;

namespace ClusterDns.Tests.Deploy;

/// <summary>
/// The Deployment's replicas, as Kubernetes scales DNS out: five processes of the published build against one test
/// API server, each with its own credentials so the server can tell them apart. They must answer alike, load the API
/// no more than CoreDNS does (one list and one watch per resource, no periodic relists) and, after the API server
/// comes back from an outage that lost its watch history, come back at different moments rather than in lockstep.
/// </summary>
public sealed class ReplicaTests(ITestOutputHelper output)
{
    private const int Replicas = 5;

    // The kubeadm Deployment's plugins that touch the API, with no upstream: the replicas must differ in nothing
    // but their credentials.
    private static string Corefile(int dnsPort, int httpPort, string kubeconfig) => $$"""
        .:{{dnsPort.ToString(CultureInfo.InvariantCulture)}} {
            errors
            health 127.0.0.1:{{httpPort.ToString(CultureInfo.InvariantCulture)}}
            ready 127.0.0.1:{{httpPort.ToString(CultureInfo.InvariantCulture)}}
            kubernetes cluster.local in-addr.arpa ip6.arpa {
               kubeconfig {{kubeconfig}}
               pods insecure
               fallthrough in-addr.arpa ip6.arpa
               ttl 30
            }
        }

        """;

    private static string Kubeconfig(string url, string token) => $$"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: test
          cluster: {server: "{{url}}"}
        contexts:
        - name: test
          context: {cluster: test, user: replica}
        current-context: test
        users:
        - name: replica
          user: {token: {{token}}}
        """;

    private static readonly (string Name, DnsType Type)[] Questions =
    [
        ("web.default.svc.cluster.local.", DnsType.A),
        ("db.default.svc.cluster.local.", DnsType.A),
        ("kube-dns.kube-system.svc.cluster.local.", DnsType.A),
        ("_p._tcp.db.default.svc.cluster.local.", DnsType.SRV),
        ("10.0.96.10.in-addr.arpa.", DnsType.PTR),
        ("nope.default.svc.cluster.local.", DnsType.A),
    ];

    private static async Task<string> AnswerTextAsync(int port, string name, DnsType type)
    {
        var query = DnsMessage.CreateQuery(name, type, id: 7).ToArray();
        var reply = await TestDnsServer.ExchangeUdpAsync(new IPEndPoint(IPAddress.Loopback, port), query, TimeSpan.FromSeconds(3));
        if (reply is null)
        {
            return "no reply";
        }
        var message = DnsMessage.Parse(reply);
        var records = new List<string>();
        foreach (var record in message.Answers)
        {
            records.Add(record.ToString()!);
        }
        foreach (var record in message.Authorities)
        {
            // The SOA serial is when this replica saw the last change (as in CoreDNS): it may differ by a second.
            records.Add(Regex.Replace(record.ToString()!, @"(\tSOA\t\S+ \S+ )\d+", "${1}SERIAL"));
        }
        records.Sort(StringComparer.Ordinal); // loadbalance is not in this Corefile, but order is not the point
        return $"{message.Rcode} {string.Join(" | ", records)}";
    }

    [Fact]
    public async Task Five_replicas_answer_alike_watch_once_per_resource_and_come_back_spread_out()
    {
        await using var api = await TestApiServer.StartAsync();
        KubeadmStack.LoadCluster(api);
        var replicas = new List<(ClusterDnsProcess Process, int DnsPort, int HttpPort, string Token)>();
        try
        {
            for (var i = 0; i < Replicas; i++)
            {
                var directory = ClusterDnsProcess.NewDirectory();
                var kubeconfig = Path.Combine(directory, "kubeconfig");
                var token = "replica-" + i.ToString(CultureInfo.InvariantCulture);
                await File.WriteAllTextAsync(kubeconfig, Kubeconfig(api.Url, token));
                var (dnsPort, httpPort) = (ServerTestKit.FreePort(), ServerTestKit.FreePort());
                await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"), Corefile(dnsPort, httpPort, kubeconfig));
                replicas.Add((ClusterDnsProcess.Start(directory), dnsPort, httpPort, token));
            }
            foreach (var replica in replicas)
            {
                await replica.Process.WaitForBannerAsync();
                Assert.True(await Eventually.Holds(async () => (await KubeadmStack.TryGetAsync(replica.HttpPort, "/ready"))?.Status == HttpStatusCode.OK,
                    TimeSpan.FromSeconds(30)), replica.Token + " never ready\n" + replica.Process.Stdout);
            }

            // Identical answers from every replica.
            foreach (var (name, type) in Questions)
            {
                var first = await AnswerTextAsync(replicas[0].DnsPort, name, type);
                Assert.DoesNotContain("no reply", first, StringComparison.Ordinal);
                for (var i = 1; i < Replicas; i++)
                {
                    var other = await AnswerTextAsync(replicas[i].DnsPort, name, type);
                    Assert.True(other == first, $"{name} {type}: replica-0 said\n  {first}\nreplica-{i} said\n  {other}");
                }
            }

            // A quiet spell: nothing but the initial list and watch per resource — no periodic relists, and no more
            // watches than CoreDNS's (services, endpointslices, namespaces; pods only with `pods verified`).
            await Task.Delay(TimeSpan.FromSeconds(5));
            foreach (var replica in replicas)
            {
                var mine = RequestsOf(api, replica.Token, DateTime.MinValue);
                var lists = new Dictionary<ApiResource, int>();
                var watches = new Dictionary<ApiResource, int>();
                foreach (var request in mine)
                {
                    var counts = request.Watch ? watches : lists;
                    counts[request.Resource] = counts.GetValueOrDefault(request.Resource) + 1;
                }
                output.WriteLine($"{replica.Token}: lists {Describe(lists)}; watches {Describe(watches)}");
                Assert.Equal(3, lists.Count);
                Assert.Equal(3, watches.Count);
                Assert.DoesNotContain(ApiResource.Pods, lists.Keys);
                foreach (var (resource, count) in lists)
                {
                    Assert.True(count == 1, $"{replica.Token} listed {resource} {count} times");
                }
                foreach (var (resource, count) in watches)
                {
                    Assert.True(count == 1, $"{replica.Token} watched {resource} {count} times");
                }
            }

            // The API server goes away and comes back without its watch history (as after a restart): every replica
            // must relist, and their returns must not arrive in lockstep.
            api.SetOutage(true);
            await Task.Delay(TimeSpan.FromSeconds(3));
            api.Upsert(KubeadmStack.Service("default", "late", "10.96.0.77", 80)); // changed while away ...
            api.Compact(); // ... and the history to watch it from is gone: a watch from before gets 410 Gone
            var back = DateTime.UtcNow;
            api.SetOutage(false);
            var firstReturn = new List<DateTime>();
            foreach (var replica in replicas)
            {
                Assert.True(await Eventually.Holds(() => Relisted(api, replica.Token, back), TimeSpan.FromSeconds(60)),
                    $"{replica.Token} did not relist every resource after the outage");
                firstReturn.Add(RequestsOf(api, replica.Token, back)[0].Time);
            }
            firstReturn.Sort();
            var spread = firstReturn[^1] - firstReturn[0];
            output.WriteLine($"returns after the outage: {string.Join(", ", firstReturn.ConvertAll(t => $"+{(t - back).TotalMilliseconds:F0} ms"))}; spread {spread.TotalMilliseconds:F0} ms");
            Assert.True(spread >= TimeSpan.FromMilliseconds(20), $"replicas came back in lockstep: spread {spread.TotalMilliseconds:F0} ms");

            // And they all serve what changed while the API server was away.
            foreach (var replica in replicas)
            {
                Assert.True(await Eventually.Holds(async () => (await AnswerTextAsync(replica.DnsPort, "late.default.svc.cluster.local.", DnsType.A)).Contains("10.96.0.77", StringComparison.Ordinal),
                    TimeSpan.FromSeconds(30)), $"{replica.Token} did not serve the Service added during the outage");
            }
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.Process.DisposeAsync();
            }
        }
    }

    private static List<ApiRequest> RequestsOf(TestApiServer api, string token, DateTime since)
    {
        var mine = new List<ApiRequest>();
        foreach (var request in api.Requests)
        {
            if (request.Authorization == "Bearer " + token && request.Time >= since)
            {
                mine.Add(request);
            }
        }
        return mine;
    }

    private static bool Relisted(TestApiServer api, string token, DateTime since)
    {
        var resources = new HashSet<ApiResource>();
        foreach (var request in RequestsOf(api, token, since))
        {
            if (!request.Watch)
            {
                resources.Add(request.Resource);
            }
        }
        return resources.Count == 3;
    }

    private static string Describe(Dictionary<ApiResource, int> counts)
    {
        var parts = new List<string>();
        foreach (var (resource, count) in counts)
        {
            parts.Add($"{resource}={count}");
        }
        return string.Join(' ', parts);
    }
}
