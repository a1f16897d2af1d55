using ClusterDns.Protocol;
using ClusterDns.Tools;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Tests.Tools;

/// <summary><c>clusterdns explain</c> on the README's demo (examples/Corefile + demo-cluster.yaml).</summary>
public sealed class ExplainTests
{
    private static async Task<(int Code, string Output)> ExplainAsync(string name, string ns = "default", DnsType type = DnsType.A)
    {
        var examples = Path.Combine(AppContext.BaseDirectory, "examples");
        var output = new StringWriter();
        var code = await ExplainCommand.RunAsync(new ExplainOptions
        {
            Name = name,
            Type = type,
            Namespace = ns,
            App = new AppOptions { Conf = Path.Combine(examples, "Corefile"), Quiet = true, WorkingDirectory = examples },
        }, NullLoggerFactory.Instance, output);
        return (code, output.ToString());
    }

    [Fact]
    public async Task Short_name_resolves_through_the_namespace_search_domain()
    {
        var (code, output) = await ExplainAsync("web");
        Assert.Equal(0, code);
        Assert.Contains("search default.svc.cluster.local svc.cluster.local cluster.local   options ndots:5", output);
        Assert.Contains("\"web\" has 0 dot(s), fewer than ndots:5", output);
        Assert.Contains("web.default.svc.cluster.local. A  [dns://.:1053] NOERROR from kubernetes", output);
        Assert.Contains("web.default.svc.cluster.local.\t30\tIN\tA\t10.96.100.20", output);
        Assert.Contains("=> resolved: the stub resolver stops at web.default.svc.cluster.local.", output);
    }

    [Fact]
    public async Task Each_failed_candidate_says_why()
    {
        var (code, output) = await ExplainAsync("kiali.istio", ns: "kube-system");
        Assert.Equal(1, code);
        Assert.Contains("kiali.istio.kube-system.svc.cluster.local. A  [dns://.:1053] NXDOMAIN from kubernetes", output);
        Assert.Contains("why: no Service \"istio\" in namespace \"kube-system\" (it has: kube-dns)", output);
        Assert.Contains("kiali.istio.svc.cluster.local. A  [dns://.:1053] NXDOMAIN from kubernetes", output);
        Assert.Contains("why: namespace \"istio\" does not exist", output);
        Assert.Contains("why: not a Kubernetes DNS name: the label before \"cluster.local.\" must be \"svc\" or \"pod\", not \"istio\"", output);
    }

    [Fact]
    public async Task Names_with_enough_dots_are_tried_as_is_first()
    {
        var (code, output) = await ExplainAsync("kiali.istio-system.svc.cluster.local");
        Assert.Equal(0, code);
        Assert.Contains("has 4 dot(s), fewer than ndots:5", output);
        var (code2, output2) = await ExplainAsync("a.b.c.d.e.f");
        Assert.Equal(1, code2);
        Assert.Contains("has 5 dot(s), at least ndots:5: it is tried as is first", output2);
        Assert.True(output2.IndexOf("a.b.c.d.e.f. A", StringComparison.Ordinal) < output2.IndexOf("a.b.c.d.e.f.default.svc", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pod_names_and_headless_endpoints_explain_their_rules()
    {
        var (_, output) = await ExplainAsync("db-9.db");
        Assert.Contains("why: Service \"db\" has no ready endpoint named \"db-9\" (ready hostnames: db-0, db-1, db-2;", output);
        var (code, absolute) = await ExplainAsync("10-244-1-10.default.pod.cluster.local.");
        Assert.Equal(0, code);
        Assert.Contains("is absolute (ends with a dot): it is the only query.", absolute);
        Assert.Contains("10.244.1.10", absolute);
    }
}

/// <summary><c>clusterdns explain</c> with <c>autopath @kubernetes</c>: it asks as a pod of the namespace and shows the shortcut.</summary>
public sealed class ExplainAutopathTests
{
    private static async Task<(int Code, string Output)> ExplainAsync(string name, string pods = "verified")
    {
        var examples = Path.Combine(AppContext.BaseDirectory, "examples");
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-explain-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            File.Copy(Path.Combine(examples, "demo-cluster.yaml"), Path.Combine(directory, "demo-cluster.yaml"));
            await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"),
                $".:1053 {{\n    autopath @kubernetes\n    kubernetes cluster.local {{\n        snapshot demo-cluster.yaml\n        pods {pods}\n        ttl 30\n    }}\n}}\n");
            var output = new StringWriter();
            var code = await ExplainCommand.RunAsync(new ExplainOptions
            {
                Name = name,
                Namespace = "default",
                App = new AppOptions { Conf = Path.Combine(directory, "Corefile"), Quiet = true, WorkingDirectory = directory },
            }, NullLoggerFactory.Instance, output);
            return (code, output.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Shows_the_shortcut_and_the_queries_saved()
    {
        var (code, output) = await ExplainAsync("kiali.istio-system");
        Assert.Equal(0, code);
        Assert.Contains("autopath @kubernetes is on: asking as pod default/", output);
        Assert.Contains("kiali.istio-system.default.svc.cluster.local. A  [dns://.:1053] NOERROR from autopath", output);
        Assert.Contains("kiali.istio-system.default.svc.cluster.local.\t30\tIN\tCNAME\tkiali.istio-system.svc.cluster.local.", output);
        Assert.Contains("=> autopath: the server tried the search list itself and answered this first query with kiali.istio-system.svc.cluster.local. (1 of the stub resolver's queries saved)", output);
        Assert.DoesNotContain("kiali.istio-system.svc.cluster.local. A  [", output);
    }

    [Fact]
    public async Task Without_pods_verified_says_why_there_is_no_shortcut()
    {
        var (code, output) = await ExplainAsync("kiali.istio-system", pods: "insecure");
        Assert.Equal(0, code);
        Assert.Contains("lacks `pods verified`", output);
        Assert.Contains("kiali.istio-system.svc.cluster.local. A  [dns://.:1053] NOERROR from kubernetes", output);
    }
}
