using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins;

/// <summary>Every plugin has a README with CoreDNS's headings, and every Corefile example in it builds.</summary>
public sealed class PluginReadmeTests
{
    public static TheoryData<string> Plugins()
    {
        var data = new TheoryData<string>();
        foreach (var descriptor in ClusterDns.Plugins.BuiltinPlugins.All.Keys)
        {
            data.Add(descriptor);
        }
        return data;
    }

    private static string Folder(string plugin) => plugin switch
    {
        "loadbalance" => "Loadbalance",
        "k8s_external" => "K8sExternal",
        _ => char.ToUpperInvariant(plugin[0]) + plugin[1..],
    };

    [Theory]
    [MemberData(nameof(Plugins))]
    public void Readme_has_the_headings_and_its_examples_build(string plugin)
    {
        var text = ReadmeText(Folder(plugin));
        foreach (var heading in new[] { "## Name", "## Description", "## Syntax", "## Examples", "## Metrics" })
        {
            Assert.Contains(heading, text, StringComparison.Ordinal);
        }
        var examples = ReadmeCorefiles(Folder(plugin));
        Assert.NotEmpty(examples);
        foreach (var example in examples)
        {
            var config = Build(example);
            Assert.NotEmpty(config.Blocks);
        }
    }
}
