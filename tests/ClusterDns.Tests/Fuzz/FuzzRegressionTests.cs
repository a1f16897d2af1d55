using ClusterDns.Corefile;
using ClusterDns.Fuzz;
using ClusterDns.Fuzz.Engine;
using ClusterDns.Fuzz.Targets;
using ClusterDns.Kubernetes;

namespace ClusterDns.Tests.Fuzz;

/// <summary>Inputs the fuzzer found crashing, replayed: the saved inputs (bench/ClusterDns.Fuzz/corpus/regressions/&lt;target&gt;/)
/// through their target, and a minimal form of each asserting the behaviour that replaced the crash.</summary>
public sealed class FuzzRegressionTests
{
    public static TheoryData<string, string> SavedInputs()
    {
        var data = new TheoryData<string, string>();
        var root = Path.Combine(Path.GetDirectoryName(Corpus.Directory("wire"))!, "regressions");
        foreach (var target in Directory.GetDirectories(root))
        {
            foreach (var file in Directory.GetFiles(target))
            {
                data.Add(Path.GetFileName(target), Path.GetRelativePath(root, file));
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SavedInputs))]
    public void Saved_crash_input_replays_cleanly(string target, string file)
    {
        var root = Path.Combine(Path.GetDirectoryName(Corpus.Directory("wire"))!, "regressions");
        FuzzCli.CreateTarget(target).Run(File.ReadAllBytes(Path.Combine(root, file)));
    }

    [Theory]
    [InlineData("import a\0b", "File to import not found: a\0b")]
    [InlineData("import /tmp/x\0y", "File to import not found: /tmp/x\0y")]
    public void Import_pattern_with_a_nul_is_not_found_like_coredns(string line, string message)
    {
        var exception = Assert.Throws<CorefileException>(() => CorefileParser.Parse($".:53 {{\n    {line}\n}}\n", "Corefile",
            new CorefileParserOptions { IsDirective = PluginOrder.Default.Contains }));
        Assert.EndsWith(message, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Import_glob_with_a_nul_matches_nothing_with_a_warning()
    {
        var document = CorefileParser.Parse(".:53 {\n    import a\0*\n    whoami\n}\n", "Corefile",
            new CorefileParserOptions { IsDirective = PluginOrder.Default.Contains });
        Assert.Contains(document.Warnings, w => w.StartsWith("No files matching import glob pattern", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("service ports [null]", """{"kind":"Service","metadata":{"name":"s","namespace":"n"},"spec":{"clusterIP":"10.0.0.1","ports":[null]}}""")]
    [InlineData("service ports [null, port]", """{"kind":"Service","metadata":{"name":"s","namespace":"n"},"spec":{"clusterIP":"10.0.0.1","ports":[null,{"name":"http","port":80,"protocol":"TCP"}]}}""")]
    [InlineData("service clusterIPs [null]", """{"kind":"Service","metadata":{"name":"s","namespace":"n"},"spec":{"clusterIPs":[null,"10.0.0.1"]}}""")]
    [InlineData("slice endpoints [null]", """{"kind":"EndpointSlice","metadata":{"name":"e","namespace":"n","labels":{"kubernetes.io/service-name":"s"}},"addressType":"IPv4","endpoints":[null]}""")]
    [InlineData("slice ports [null]", """{"kind":"EndpointSlice","metadata":{"name":"e","namespace":"n","labels":{"kubernetes.io/service-name":"s"}},"addressType":"IPv4","ports":[null],"endpoints":[{"addresses":["10.1.0.1"]}]}""")]
    [InlineData("slice addresses [null]", """{"kind":"EndpointSlice","metadata":{"name":"e","namespace":"n","labels":{"kubernetes.io/service-name":"s"}},"addressType":"IPv4","endpoints":[{"addresses":[null,"10.1.0.1"]}]}""")]
    public void Snapshot_with_null_list_items_loads_skipping_them(string name, string json)
    {
        var state = SnapshotLoader.Parse(json);
        Assert.True(state.ServiceCount + state.SliceCount == 1, name);
    }

    [Theory]
    [InlineData("? [a, b]\n: c\n")]
    [InlineData("kind: Service\nmetadata: {name: s, {x: y}: z}\n")]
    public void Yaml_complex_mapping_key_is_refused_as_a_format_error(string yaml)
    {
        var exception = Assert.Throws<FormatException>(() => SnapshotLoader.Parse(yaml));
        Assert.StartsWith("unsupported YAML mapping key", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("label 1e400", "kind: Service\nmetadata: {name: s, namespace: n, labels: {v: 1e400}}\nspec: {clusterIP: 10.0.0.1}\n")]
    [InlineData("label -1e400", "kind: Service\nmetadata: {name: s, namespace: n, labels: {v: -1e400}}\nspec: {clusterIP: 10.0.0.1}\n")]
    [InlineData("annotation 9e99999", "kind: Service\nmetadata:\n  name: s\n  namespace: n\n  annotations:\n    a: 9e99999\nspec: {clusterIP: 10.0.0.1}\n")]
    public void Yaml_float_beyond_double_range_loads_as_a_string(string name, string yaml)
    {
        // Found by AFL (k8s target): the YAML-to-JSON step wrote the plain scalar as a double, infinity, which
        // Utf8JsonWriter refuses with an ArgumentException out of the loader. Go's YAML resolver keeps a float it
        // cannot parse as a string, and so does the loader now.
        var state = SnapshotLoader.Parse(yaml);
        Assert.True(state.ServiceCount == 1, name);
    }

    [Theory]
    [InlineData("1e400")]
    [InlineData("1e400\0\0")]
    [InlineData("[1e400, -1e400]")]
    public void Yaml_document_of_an_overflowing_float_is_refused_as_a_snapshot(string yaml)
    {
        var exception = Record.Exception(() => SnapshotLoader.Parse(yaml));
        Assert.True(exception is null || KubernetesTarget.IsRejection(exception), exception?.ToString());
    }

    [Theory]
    [InlineData("block sequences", 5000)]
    [InlineData("flow sequences", 5000)]
    [InlineData("block mappings", 3000)]
    public void Yaml_nested_thousands_deep_is_a_format_error_not_a_stack_overflow(string shape, int levels)
    {
        var yaml = shape switch
        {
            "block sequences" => string.Concat(Enumerable.Repeat("- ", levels)) + "a\n",
            "flow sequences" => "k: " + new string('[', levels) + new string(']', levels) + "\n",
            _ => string.Concat(Enumerable.Range(0, levels).Select(i => new string(' ', i) + "k:\n")) + new string(' ', levels) + "v\n",
        };
        // On a thread-pool-sized stack, as the snapshot poller runs: an overflow would end the test host.
        Exception? caught = null;
        var thread = new Thread(() => caught = Record.Exception(() => SnapshotLoader.Parse(yaml)), 1536 * 1024);
        thread.Start();
        thread.Join();
        var exception = Assert.IsType<FormatException>(caught);
        Assert.StartsWith("YAML nested deeper than 64 levels", exception.Message, StringComparison.Ordinal);
    }
}
