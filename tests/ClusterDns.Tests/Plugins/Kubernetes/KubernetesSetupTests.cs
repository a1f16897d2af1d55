using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Plugins.Kubernetes;

namespace ClusterDns.Tests.Plugins.Kubernetes;

/// <summary>Accepted forms and error texts of the <c>kubernetes</c> block.</summary>
public sealed class KubernetesSetupTests
{
    private static KubernetesOptions Parse(string text, params string[] serverZones) =>
        KubernetesSetup.Parse(new Dispenser(new DirectiveGroup("kubernetes", Lexer.Tokenize(text, "Corefile"))),
            serverZones.Length == 0 ? ["cluster.local."] : serverZones);

    private static string Block(string line) => "kubernetes cluster.local {\n    " + line + "\n}\n";

    [Fact]
    public void A_bare_directive_gets_the_defaults()
    {
        var o = Parse("kubernetes");
        Assert.Equal(["cluster.local."], o.Zones);
        Assert.Equal("cluster.local.", o.PrimaryZone);
        Assert.Equal(5u, o.Ttl);
        Assert.Equal(PodMode.Disabled, o.PodMode);
        Assert.Empty(o.Namespaces);
        Assert.False(o.Fallthrough.IsEnabled);
        Assert.False(o.NoEndpoints);
        Assert.False(o.EndpointPodNames);
        Assert.False(o.IgnoreEmptyService);
        Assert.Equal(TimeSpan.FromSeconds(5), o.StartupTimeout);
        Assert.Null(o.Snapshot);
    }

    [Fact]
    public void Zones_normalised_and_primary_is_first_forward()
    {
        var o = Parse("kubernetes in-addr.arpa Cluster.Local 10.96.0.0/16");
        Assert.Equal(["in-addr.arpa.", "cluster.local.", "96.10.in-addr.arpa."], o.Zones);
        Assert.Equal("cluster.local.", o.PrimaryZone);
    }

    [Fact]
    public void Cidr_expands_to_octet_zones() => Assert.Equal(128, Parse("kubernetes cluster.local 10.0.0.0/17").Zones.Count - 1);

    [Fact]
    public void Server_block_zones_used_without_args() =>
        Assert.Equal(["example.org.", "in-addr.arpa."], Parse("kubernetes", "example.org.", "in-addr.arpa.").Zones);

    [Theory]
    [InlineData("pods insecure", PodMode.Insecure)]
    [InlineData("pods verified", PodMode.Verified)]
    [InlineData("pods disabled", PodMode.Disabled)]
    public void Pods_mode_is_parsed(string line, PodMode mode) => Assert.Equal(mode, Parse(Block(line)).PodMode);

    [Theory]
    [InlineData("ttl 0", 0u)]
    [InlineData("ttl 30", 30u)]
    [InlineData("ttl 3600", 3600u)]
    public void Ttl_is_parsed(string line, uint ttl) => Assert.Equal(ttl, Parse(Block(line)).Ttl);

    [Fact]
    public void Accepted_forms()
    {
        var o = Parse("""
            kubernetes cluster.local in-addr.arpa {
                endpoint https://a:6443 https://b:6443
                tls cert.pem key.pem ca.pem
                kubeconfig /k.conf ctx
                namespaces ns1 ns2
                namespaces ns3
                labels app=web,tier in (a, b)
                endpoint_pod_names
                noendpoints
                fallthrough in-addr.arpa 10.0.0.0/8
                ignore empty_service
                startup_timeout 1m30s
                apiserver_qps 12.5
                apiserver_burst 20
                apiserver_max_inflight 0
                multicluster cluster.local
                snapshot /tmp/cluster.json
            }
            """);
        Assert.Equal("https://a:6443", o.Connection.Endpoint);
        Assert.Equal(("cert.pem", "key.pem", "ca.pem"), (o.Connection.TlsCert, o.Connection.TlsKey, o.Connection.TlsCa));
        Assert.Equal(("/k.conf", "ctx"), (o.Connection.Kubeconfig, o.Connection.KubeconfigContext));
        Assert.Equal(3, o.Namespaces.Count);
        Assert.Equal("app=web,tier in (a, b)", o.Labels);
        Assert.True(o.EndpointPodNames);
        Assert.True(o.NoEndpoints);
        Assert.Equal(["in-addr.arpa.", "10.in-addr.arpa."], o.Fallthrough.Zones);
        Assert.True(o.IgnoreEmptyService);
        Assert.Equal(TimeSpan.FromSeconds(90), o.StartupTimeout);
        Assert.Equal(12.5, o.ApiServerQps);
        Assert.Equal(20, o.ApiServerBurst);
        Assert.Equal(0, o.ApiServerMaxInflight);
        Assert.Equal(["cluster.local."], o.MulticlusterZones);
        Assert.Equal("/tmp/cluster.json", o.Snapshot);
        Assert.Contains(o.Warnings, w => w.Contains("only the first specified endpoint 'https://a:6443' is used", StringComparison.Ordinal));
        Assert.Contains(o.Warnings, w => w.Contains("noendpoints", StringComparison.Ordinal)); // [Q17]
    }

    [Fact]
    public void Fallthrough_without_zones_means_all() => Assert.Equal(["."], Parse(Block("fallthrough")).Fallthrough.Zones);

    [Fact]
    public void Bare_ignore_accepted() // [Q16]
    {
        var o = Parse(Block("ignore"));
        Assert.False(o.IgnoreEmptyService);
        Assert.Single(o.Warnings);
    }

    [Fact]
    public void Repeated_single_value_last_wins() => Assert.Equal(9u, Parse("kubernetes cluster.local {\n ttl 3\n ttl 9\n}").Ttl);

    [Theory]
    [InlineData("kubernetes in-addr.arpa ip6.arpa", "non-reverse zone name must be used")]
    [InlineData("kubernetes 10.0.0.0/8", "non-reverse zone name must be used")]
    [InlineData("kubernetes cluster.local {\n upstream 8.8.8.8\n}", "Corefile:2 - Error during parsing: unknown property 'upstream'")]
    [InlineData("kubernetes cluster.local {\n resyncperiod 5m\n}", "Corefile:2 - Error during parsing: unknown property 'resyncperiod'")]
    [InlineData("kubernetes cluster.local {\n transfer to *\n}", "Corefile:2 - Error during parsing: unknown property 'transfer'")]
    [InlineData("kubernetes cluster.local {\n ttl 3601\n}", "Corefile:2 - Error during parsing: ttl must be in range [0, 3600]: 3601")]
    [InlineData("kubernetes cluster.local {\n ttl -1\n}", "Corefile:2 - Error during parsing: ttl must be in range [0, 3600]: -1")]
    [InlineData("kubernetes cluster.local {\n ttl abc\n}", "strconv.Atoi: parsing \"abc\": invalid syntax")]
    [InlineData("kubernetes cluster.local {\n ttl\n}", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'ttl'")]
    [InlineData("kubernetes cluster.local {\n pods bogus\n}", "wrong value for pods: bogus,  must be one of: disabled, verified, insecure")]
    [InlineData("kubernetes cluster.local {\n pods\n}", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'pods'")]
    [InlineData("kubernetes cluster.local {\n namespaces\n}", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'namespaces'")]
    [InlineData("kubernetes cluster.local {\n endpoint\n}", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'endpoint'")]
    [InlineData("kubernetes cluster.local {\n tls a b\n}", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'b'")]
    [InlineData("kubernetes cluster.local {\n kubeconfig a b c\n}", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'c'")]
    [InlineData("kubernetes cluster.local {\n endpoint_pod_names x\n}", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'x'")]
    [InlineData("kubernetes cluster.local {\n noendpoints x\n}", "Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after 'x'")]
    [InlineData("kubernetes cluster.local {\n ignore foo\n}", "unable to parse ignore value: 'foo'")]
    [InlineData("kubernetes cluster.local {\n namespaces ns1\n namespace_labels team=a\n}", "Corefile:4 - Error during parsing: namespaces and namespace_labels cannot both be set")]
    [InlineData("kubernetes cluster.local {\n startup_timeout 0s\n}", "Corefile:2 - Error during parsing: startup_timeout must be greater than 0: 0s")]
    [InlineData("kubernetes cluster.local {\n startup_timeout -1s\n}", "Corefile:2 - Error during parsing: startup_timeout must be greater than 0: -1s")]
    [InlineData("kubernetes cluster.local {\n startup_timeout 5\n}", "unable to parse startup_timeout value: '5': time: invalid duration \"5\"")]
    [InlineData("kubernetes cluster.local {\n apiserver_qps -1\n}", "Corefile:2 - Error during parsing: apiserver_qps must be greater than or equal to 0: -1")]
    [InlineData("kubernetes cluster.local {\n apiserver_burst x\n}", "Corefile:2 - Error during parsing: unable to parse apiserver_burst value: 'x'")]
    [InlineData("kubernetes cluster.local {\n apiserver_max_inflight -3\n}", "Corefile:2 - Error during parsing: apiserver_max_inflight must be greater than or equal to 0: -3")]
    [InlineData("kubernetes cluster.local {\n multicluster example.org\n}", "Corefile:2 - Error during parsing: multicluster zone 'example.org.' is not one of the kubernetes zones")]
    [InlineData("kubernetes cluster.local {\n zonal\n noendpoints\n}", "Corefile:2 - Error during parsing: zonal is not supported by ClusterDns yet")]
    [InlineData("kubernetes cluster.local {\n zonal\n}", "Corefile:2 - Error during parsing: zonal is not supported by ClusterDns yet")]
    [InlineData("kubernetes cluster.local {\n labels a=b=c\n}", "unable to parse label selector value: 'a=b=c': invalid label value: \"b=c\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")]
    [InlineData("kubernetes cluster.local {\n namespace_labels in (x)\n}", "unable to parse namespace_label selector value: 'in (x)': found '(x)', expected: in, notin, =, ==, !=, gt, lt")]
    [InlineData("kubernetes\nkubernetes", "this plugin can only be used once per Server Block")]
    public void Bad_options_give_CoreDNS_errors(string text, string message)
    {
        var e = Assert.Throws<CorefileException>(() => Parse(text));
        Assert.Equal(message, e.Message);
    }

    [Theory]
    [InlineData("500ms", 5_000_000L)]
    [InlineData("10s", 100_000_000L)]
    [InlineData("1m30s", 900_000_000L)]
    [InlineData("1.5h", 54_000_000_000L)]
    [InlineData("0", 0L)]
    public void Go_durations(string text, long ticks)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(ticks, value.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("1x")]
    [InlineData("s")]
    public void Bad_go_durations(string text) => Assert.False(GoDuration.TryParse(text, out _));
}
