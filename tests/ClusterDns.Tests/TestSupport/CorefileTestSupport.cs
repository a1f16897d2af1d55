using System.Runtime.CompilerServices;
using ClusterDns.Corefile;

namespace ClusterDns.Tests.TestSupport;

internal static class CorefileTestSupport
{
    public static readonly string ExamplesDir = Path.Combine(SourceDir(), "..", "Corefile", "Examples");

    public static CorefileParserOptions Options(IReadOnlyDictionary<string, string>? env = null, int defaultPort = 53) => new()
    {
        IsDirective = name => name == "import" || PluginOrder.Default.Contains(name),
        GetEnvironmentVariable = name => env is not null && env.TryGetValue(name, out var v) ? v : null,
        DefaultPort = defaultPort,
    };

    public static CorefileDocument Parse(string text, IReadOnlyDictionary<string, string>? env = null, int defaultPort = 53) =>
        CorefileParser.Parse(text, "Corefile", Options(env, defaultPort));

    public static string ReadExample(string name) => File.ReadAllText(Path.Combine(ExamplesDir, name));

    /// <summary>One line per block: "KEY KEY… | directive,directive…".</summary>
    public static string Shape(CorefileDocument doc) => string.Join("\n", doc.Blocks.Select(b =>
        string.Join(" ", b.Keys.Select(k => k.Canonical)) + " | " + string.Join(",", b.Directives.Select(d => d.Name))));

    public static string Texts(IEnumerable<Token> tokens) => string.Join(" ", tokens.Select(t => t.Text));

    public static CorefileException ParseError(string text, IReadOnlyDictionary<string, string>? env = null) =>
        Assert.Throws<CorefileException>(() => Parse(text, env));

    private static string SourceDir([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}

/// <summary>A throw-away directory for import tests.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "clusterdns-corefile-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Write(string relative, string text)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, text);
        return full;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
