using System.Runtime.CompilerServices;
using k8s;
using k8s.Models;

namespace ClusterDns.Tests.Deploy;

/// <summary>deploy/nodelocal: valid Kubernetes objects, listed in the kustomization, and the DaemonSet as NodeLocal DNSCache runs.</summary>
public sealed class NodeLocalManifestTests
{
    public static TheoryData<string> Files() => ["serviceaccount.yaml", "service.yaml", "configmap.yaml", "daemonset.yaml"];

    [Theory]
    [MemberData(nameof(Files))]
    public void Manifest_parses_as_kubernetes_objects_and_is_listed_in_the_kustomization(string file)
    {
        var objects = Load(file);
        Assert.NotEmpty(objects);
        foreach (var item in objects)
        {
            var meta = Assert.IsAssignableFrom<IMetadata<V1ObjectMeta>>(item).Metadata;
            Assert.Equal("kube-system", meta.NamespaceProperty);
        }
        Assert.Contains($"- {file}", File.ReadAllText(NodeLocalPath("kustomization.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public void Daemonset_runs_on_the_host_network_with_net_admin_and_the_configmap_template()
    {
        var daemonSet = Assert.Single(Load("daemonset.yaml").OfType<V1DaemonSet>());
        var pod = daemonSet.Spec.Template.Spec;
        Assert.True(pod.HostNetwork);
        Assert.Equal("Default", pod.DnsPolicy);
        Assert.Equal("system-node-critical", pod.PriorityClassName);
        Assert.Equal("node-local-dns", pod.ServiceAccountName);
        var container = Assert.Single(pod.Containers);
        Assert.Contains("NET_ADMIN", container.SecurityContext.Capabilities.Add);
        Assert.Equal(["ALL"], container.SecurityContext.Capabilities.Drop);
        Assert.Equal("nodelocal", container.Args[0]);
        Assert.Equal("169.254.20.10,10.96.0.10", container.Args[container.Args.IndexOf("-localip") + 1]);
        Assert.Equal("kube-dns-upstream", container.Args[container.Args.IndexOf("-upstreamsvc") + 1]);
        Assert.Equal("169.254.20.10", container.LivenessProbe.HttpGet.Host);
        var configVolume = Assert.Single(pod.Volumes, v => v.ConfigMap is not null);
        Assert.Equal("node-local-dns", configVolume.ConfigMap.Name);
        Assert.Equal("/etc/coredns/Corefile.base", Path.Combine(container.VolumeMounts.Single(m => m.Name == configVolume.Name).MountPath, configVolume.ConfigMap.Items.Single().Path));
        Assert.Equal("/etc/coredns/Corefile.base", container.Args[container.Args.IndexOf("-basecorefile") + 1]);

        var corefile = Assert.Single(Load("configmap.yaml").OfType<V1ConfigMap>()).Data["Corefile"];
        Assert.Contains("bind 169.254.20.10 10.96.0.10", corefile, StringComparison.Ordinal);
        Assert.Contains("forward . __PILLAR__CLUSTER__DNS__ {\n        force_tcp\n    }", corefile, StringComparison.Ordinal);
        Assert.Contains("cache", corefile, StringComparison.Ordinal);
        // The upstream Service the agent reads (KUBE_DNS_UPSTREAM_SERVICE_HOST) selects the cluster DNS pods.
        var upstream = Load("service.yaml").OfType<V1Service>().Single(s => s.Metadata.Name == "kube-dns-upstream");
        Assert.Equal("kube-dns", upstream.Spec.Selector["k8s-app"]);
    }

    private static List<object> Load(string file) => [.. KubernetesYaml.LoadAllFromString(File.ReadAllText(NodeLocalPath(file)))];

    private static string NodeLocalPath(string file, [CallerFilePath] string path = "")
    {
        var directory = Path.GetDirectoryName(path)!;
        while (!Directory.Exists(Path.Combine(directory, "src", "ClusterDns")))
        {
            directory = Path.GetDirectoryName(directory)!;
        }
        return Path.Combine(directory, "deploy", "nodelocal", file);
    }
}
