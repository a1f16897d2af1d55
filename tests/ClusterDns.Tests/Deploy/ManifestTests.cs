using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using ClusterDns.Tests.Plugins;
using k8s;
using k8s.Models;

using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Deploy;

/// <summary>deploy/: every manifest is a valid Kubernetes object, and the pieces line up with the code and the Corefile.</summary>
public sealed partial class ManifestTests
{
    private static readonly string[] Files = ["rbac.yaml", "configmap.yaml", "deployment.yaml", "service.yaml", "pdb.yaml", "autoscaler.yaml"];

    public static TheoryData<string> ManifestFiles() => new(Files);

    [Theory]
    [MemberData(nameof(ManifestFiles))]
    public void Manifest_parses_as_kubernetes_objects_and_is_listed_in_the_kustomization(string file)
    {
        var objects = Load(file);
        Assert.True(objects.Count > 0, $"{file}: no objects");
        foreach (var obj in objects)
        {
            var kube = Assert.IsAssignableFrom<IKubernetesObject<V1ObjectMeta>>(obj);
            Assert.False(string.IsNullOrEmpty(kube.Metadata?.Name), $"{file}: {kube.Kind} without a name");
            if (obj is not V1ClusterRole and not V1ClusterRoleBinding)
            {
                Assert.True(kube.Metadata!.NamespaceProperty == "kube-system", $"{file}: {kube.Kind}/{kube.Metadata.Name} not in kube-system");
            }
        }
        Assert.Contains($"- {file}", File.ReadAllText(DeployPath("kustomization.yaml")), StringComparison.Ordinal);
    }

    [Fact]
    public void Cluster_role_grants_list_and_watch_on_exactly_what_the_kubernetes_source_lists()
    {
        var source = File.ReadAllText(Path.Combine(RepoRoot(), "src", "ClusterDns", "Kubernetes", "KubernetesClusterSource.cs"));
        var watched = new SortedSet<string>(StringComparer.Ordinal);
        // The collections are the source's path constants: "api/v1/<resource>" (core group) or "apis/<group>/v1/<resource>".
        // ServiceImports (multicluster only) is built from the model's group, granted by the multicluster component.
        foreach (Match match in ListPathRegex().Matches(source))
        {
            watched.Add(match.Groups[1].Value + "/" + match.Groups[2].Value);
        }
        Assert.Equal(["/namespaces", "/pods", "/services", "discovery.k8s.io/endpointslices"], watched);
        var role = Assert.Single(Load("rbac.yaml").OfType<V1ClusterRole>());
        Assert.Equal("system:coredns", role.Metadata.Name);
        var granted = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var rule in role.Rules)
        {
            Assert.Equal(["list", "watch"], rule.Verbs.Order(StringComparer.Ordinal));
            foreach (var group in rule.ApiGroups)
            {
                foreach (var resource in rule.Resources)
                {
                    granted.Add($"{group}/{resource}");
                }
            }
        }
        Assert.Equal(watched, granted);
        var binding = Assert.Single(Load("rbac.yaml").OfType<V1ClusterRoleBinding>());
        Assert.Equal("system:coredns", binding.RoleRef.Name);
        var subject = Assert.Single(binding.Subjects);
        var account = Assert.Single(Load("rbac.yaml").OfType<V1ServiceAccount>());
        Assert.Equal((account.Metadata.Name, "kube-system"), (subject.Name, subject.NamespaceProperty));
        Assert.Equal(account.Metadata.Name, Deployment().Spec.Template.Spec.ServiceAccountName);
    }

    [Fact]
    public void Multicluster_component_grants_serviceimports_to_the_same_account_and_the_base_role_does_not()
    {
        var source = File.ReadAllText(Path.Combine(RepoRoot(), "src", "ClusterDns", "Kubernetes", "KubernetesClusterSource.cs"));
        Assert.Contains("ClusterKinds.ServiceImports", source, StringComparison.Ordinal);
        var component = Path.Combine(RepoRoot(), "deploy", "components", "multicluster");
        Assert.Contains("kind: Component", File.ReadAllText(Path.Combine(component, "kustomization.yaml")), StringComparison.Ordinal);
        Assert.Contains("- rbac.yaml", File.ReadAllText(Path.Combine(component, "kustomization.yaml")), StringComparison.Ordinal);
        var objects = KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(component, "rbac.yaml")));
        var mcs = new Rbac(Assert.Single(objects.OfType<V1ClusterRole>()).Rules.ToList());
        Assert.True(mcs.Allows("list", "multicluster.x-k8s.io", "serviceimports"));
        Assert.True(mcs.Allows("watch", "multicluster.x-k8s.io", "serviceimports"));
        Assert.False(mcs.Allows("get", "multicluster.x-k8s.io", "serviceimports"));
        Assert.False(Rbac.FromManifest(DeployPath("rbac.yaml")).Allows("list", "multicluster.x-k8s.io", "serviceimports"));
        var binding = Assert.Single(objects.OfType<V1ClusterRoleBinding>());
        var subject = Assert.Single(binding.Subjects);
        var account = Assert.Single(Load("rbac.yaml").OfType<V1ServiceAccount>());
        Assert.Equal((account.Metadata.Name, "kube-system"), (subject.Name, subject.NamespaceProperty));
    }

    [Fact]
    public void Configmap_corefile_builds()
    {
        var config = PluginTestSupport.Build(Corefile());
        Assert.Equal("dns://:53", Assert.Single(config.Listeners).Address);
    }

    [Fact]
    public void Deployment_args_mount_ports_and_probes_line_up_with_the_corefile()
    {
        var corefile = Corefile();
        var deployment = Deployment();
        var pod = deployment.Spec.Template.Spec;
        var container = Assert.Single(pod.Containers);
        Assert.Equal(["-conf", "/etc/coredns/Corefile"], container.Args);
        var mount = Assert.Single(container.VolumeMounts);
        Assert.Equal("/etc/coredns", mount.MountPath);
        var volume = Assert.Single(pod.Volumes, v => v.Name == mount.Name);
        Assert.Equal("coredns", volume.ConfigMap.Name);
        Assert.Equal("Corefile", Assert.Single(volume.ConfigMap.Items).Path);

        Assert.Contains("prometheus :9153", corefile, StringComparison.Ordinal);
        Assert.Contains(".:53 {", corefile, StringComparison.Ordinal);
        Assert.Matches(@"\n\s+health \{", corefile); // default :8080
        Assert.Matches(@"\n\s+ready\n", corefile);    // default :8181
        var ports = container.Ports.Select(p => $"{p.Name} {p.ContainerPort}/{p.Protocol}").Order(StringComparer.Ordinal);
        Assert.Equal(["dns 53/UDP", "dns-tcp 53/TCP", "metrics 9153/TCP"], ports);
        Assert.Equal(("/health", "8080"), (container.LivenessProbe.HttpGet.Path, container.LivenessProbe.HttpGet.Port.Value));
        Assert.Equal(("/ready", "8181"), (container.ReadinessProbe.HttpGet.Path, container.ReadinessProbe.HttpGet.Port.Value));

        var security = container.SecurityContext;
        Assert.True(security.ReadOnlyRootFilesystem);
        Assert.False(security.AllowPrivilegeEscalation);
        Assert.True(security.RunAsNonRoot);
        Assert.Equal(["ALL"], security.Capabilities.Drop);
        Assert.Equal(["NET_BIND_SERVICE"], security.Capabilities.Add);
        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.Equal("system-cluster-critical", pod.PriorityClassName);
        Assert.Equal("kube-dns", pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0]
            .PodAffinityTerm.LabelSelector.MatchExpressions[0].Values[0]);
        Assert.Equal("clusterdns:latest", container.Image);
        // Probes and the lameduck: the grace period must outlast `lameduck 5s`.
        Assert.True(pod.TerminationGracePeriodSeconds > 5);

        var service = Assert.Single(Load("service.yaml").OfType<V1Service>());
        Assert.Equal("10.96.0.10", service.Spec.ClusterIP);
        Assert.Equal(deployment.Spec.Selector.MatchLabels, service.Spec.Selector);
        Assert.Equal(["dns 53/UDP", "dns-tcp 53/TCP", "metrics 9153/TCP"],
            service.Spec.Ports.Select(p => $"{p.Name} {p.Port}/{p.Protocol}").Order(StringComparer.Ordinal));
        var pdb = Assert.Single(Load("pdb.yaml").OfType<V1PodDisruptionBudget>());
        Assert.Equal("1", pdb.Spec.MaxUnavailable.Value);
        Assert.Equal(deployment.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels);
        var autoscaler = Assert.Single(Load("autoscaler.yaml").OfType<V1ConfigMap>());
        Assert.Contains("\"nodesPerReplica\":16", autoscaler.Data["linear"], StringComparison.Ordinal);
    }

    [Fact]
    public void Kubeadm_deployment_needs_only_an_image_change()
    {
        var text = File.ReadAllText(Path.Combine(HereDirectory(), "Fixtures", "kubeadm-coredns-deployment.yaml"));
        var kubeadm = Assert.Single(KubernetesYaml.LoadAllFromString(text).OfType<V1Deployment>());
        var ours = Deployment();
        var theirs = Assert.Single(kubeadm.Spec.Template.Spec.Containers);
        var mine = Assert.Single(ours.Spec.Template.Spec.Containers);
        var cases = new (string Field, object? Kubeadm, object? ClusterDns)[]
        {
            ("deployment name", kubeadm.Metadata.Name, ours.Metadata.Name),
            ("namespace", kubeadm.Metadata.NamespaceProperty, ours.Metadata.NamespaceProperty),
            ("container name", theirs.Name, mine.Name),
            ("args", string.Join(' ', theirs.Args), string.Join(' ', mine.Args)),
            ("mount path", theirs.VolumeMounts[0].MountPath, mine.VolumeMounts[0].MountPath),
            ("volume configmap", kubeadm.Spec.Template.Spec.Volumes[0].ConfigMap.Name, ours.Spec.Template.Spec.Volumes[0].ConfigMap.Name),
            ("volume item", kubeadm.Spec.Template.Spec.Volumes[0].ConfigMap.Items[0].Path, ours.Spec.Template.Spec.Volumes[0].ConfigMap.Items[0].Path),
            ("ports", string.Join(',', theirs.Ports.Select(p => $"{p.Name}:{p.ContainerPort}/{p.Protocol}")),
                string.Join(',', mine.Ports.Select(p => $"{p.Name}:{p.ContainerPort}/{p.Protocol}"))),
            ("liveness", $"{theirs.LivenessProbe.HttpGet.Path}:{theirs.LivenessProbe.HttpGet.Port.Value}",
                $"{mine.LivenessProbe.HttpGet.Path}:{mine.LivenessProbe.HttpGet.Port.Value}"),
            ("readiness", $"{theirs.ReadinessProbe.HttpGet.Path}:{theirs.ReadinessProbe.HttpGet.Port.Value}",
                $"{mine.ReadinessProbe.HttpGet.Path}:{mine.ReadinessProbe.HttpGet.Port.Value}"),
            ("capabilities", string.Join(',', theirs.SecurityContext.Capabilities.Add), string.Join(',', mine.SecurityContext.Capabilities.Add)),
            ("read-only root", theirs.SecurityContext.ReadOnlyRootFilesystem, mine.SecurityContext.ReadOnlyRootFilesystem),
            ("selector", string.Join(',', kubeadm.Spec.Selector.MatchLabels), string.Join(',', ours.Spec.Selector.MatchLabels)),
            ("service account", kubeadm.Spec.Template.Spec.ServiceAccountName, ours.Spec.Template.Spec.ServiceAccountName),
        };
        foreach (var (field, expected, actual) in cases)
        {
            Assert.True(Equals(expected, actual), $"{field}: kubeadm has '{expected}', deploy/ has '{actual}'");
        }
        // The image runs as a non-root uid of its own, so kubeadm's pod (which sets no runAsUser) still starts it.
        var dockerfile = File.ReadAllText(Path.Combine(RepoRoot(), "Dockerfile"));
        Assert.Contains("USER 65532:65532", dockerfile, StringComparison.Ordinal);
        Assert.Contains("ENTRYPOINT [\"/clusterdns\"]", dockerfile, StringComparison.Ordinal);
    }

    private static string Corefile() => Assert.Single(Load("configmap.yaml").OfType<V1ConfigMap>()).Data["Corefile"];

    private static V1Deployment Deployment() => Assert.Single(Load("deployment.yaml").OfType<V1Deployment>());

    private static List<object> Load(string file) => KubernetesYaml.LoadAllFromString(File.ReadAllText(DeployPath(file)));

    private static string DeployPath(string file) => Path.Combine(RepoRoot(), "deploy", file);

    private static string HereDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    private static string RepoRoot()
    {
        var directory = HereDirectory();
        while (!Directory.Exists(Path.Combine(directory, "src", "ClusterDns")))
        {
            directory = Path.GetDirectoryName(directory)!;
        }
        return directory;
    }

    [GeneratedRegex(@"const string \w+Path = ""apis?/(?:([\w.]+)/)?v1/(\w+)"";")]
    private static partial Regex ListPathRegex();
}
