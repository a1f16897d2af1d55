using System.Runtime.CompilerServices;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Locates the test fixtures in the source tree (the csproj does not copy them to the output).</summary>
public static class Fixtures
{
    public static string Directory { get; } = Locate();

    public static string PathOf(string name) => System.IO.Path.Combine(Directory, name);

    public static string Read(string name) => File.ReadAllText(PathOf(name));

    /// <summary>Loads the example cluster (namespaces, services, endpointslices, pods; list RV 1540) into a server.</summary>
    public static void LoadExampleCluster(TestApiServer server)
    {
        server.LoadList(Read("example-namespacelist.json"));
        server.LoadList(Read("example-servicelist.json"));
        server.LoadList(Read("example-endpointslicelist.json"));
        server.LoadList(Read("example-podlist.json"));
    }

    private static string Locate([CallerFilePath] string thisFile = "") =>
        System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(thisFile)!, "..", "Kubernetes", "Fixtures"));
}
