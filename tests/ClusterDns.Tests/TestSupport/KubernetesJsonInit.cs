using System.Runtime.CompilerServices;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Installs the product's JSON metadata for watch events (Kubernetes/KubernetesJsonSetup.cs) before any
/// test can use the client's JSON options, so the in-process tests read watches the way the AOT build does.</summary>
internal static class KubernetesJsonInit
{
    [ModuleInitializer]
#pragma warning disable CA2255 // the test assembly: the options must be set before the first test runs
    internal static void Initialize() => ClusterDns.Kubernetes.KubernetesJsonSetup.Initialize();
#pragma warning restore CA2255
}
