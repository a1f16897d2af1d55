using System.Text.RegularExpressions;
using ClusterDns.Corefile;
using ClusterDns.Plugins;
using ClusterDns.Server;
using YamlDotNet.RepresentationModel;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Tools;

/// <summary>What <c>clusterdns check</c> was asked: a Corefile path, or a ConfigMap as kubectl prints it.</summary>
internal sealed record CheckOptions
{
    public string? Conf { get; init; }
    public string? ConfigMap { get; init; }
    public int DnsPort { get; init; } = 53;
}

/// <summary>
/// <c>clusterdns check</c>: builds the whole configuration without serving (every plugin's setup runs, nothing
/// listens and nothing connects) and prints every problem it finds with its file and line, so a Corefile can be
/// vetted before it reaches a running server. A ConfigMap's other data keys are written next to its Corefile, as the
/// kubelet mounts them, so relative <c>import</c>s resolve.
/// </summary>
internal static partial class CheckCommand
{
    public static async Task<int> RunAsync(CheckOptions options, ILoggerFactory loggerFactory, TextWriter output, TextWriter errors)
    {
        if (options.ConfigMap is null)
        {
            var conf = options.Conf ?? "Corefile";
            var workingDirectory = Environment.CurrentDirectory;
            return await CheckAsync(conf, workingDirectory, options.DnsPort, lineMap: null, loggerFactory, output, errors).ConfigureAwait(false);
        }
        string yaml;
        Dictionary<string, string>? data;
        try
        {
            yaml = await File.ReadAllTextAsync(options.ConfigMap).ConfigureAwait(false);
            data = ConfigMapData(yaml);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or YamlDotNet.Core.YamlException)
        {
            await errors.WriteLineAsync($"{options.ConfigMap}: {exception.Message}").ConfigureAwait(false);
            return 1;
        }
        if (data is null || !data.TryGetValue("Corefile", out var corefile))
        {
            await errors.WriteLineAsync($"{options.ConfigMap}: no data.Corefile in the ConfigMap").ConfigureAwait(false);
            return 1;
        }
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-check-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            foreach (var (key, value) in data)
            {
                // ConfigMap keys are file names ([-._a-zA-Z0-9]+), so none can leave the directory.
                if (key is "." or ".." || key.Contains('/', StringComparison.Ordinal))
                {
                    continue;
                }
                await File.WriteAllTextAsync(Path.Combine(directory, key), value).ConfigureAwait(false);
            }
            var lineMap = CorefileLineInYaml(yaml, options.ConfigMap);
            return await CheckAsync(Path.Combine(directory, "Corefile"), directory, options.DnsPort, lineMap, loggerFactory, output, errors).ConfigureAwait(false);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }


    /// <summary>The ConfigMap's <c>data</c> (string values only), read with YamlDotNet's representation model: no
    /// reflection, so it works in the native AOT build.</summary>
    private static Dictionary<string, string>? ConfigMapData(string yaml)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
        {
            stream.Load(reader);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue(new YamlScalarNode("data"), out var node) || node is not YamlMappingNode map)
        {
            return null;
        }
        var data = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Children)
        {
            if (key is YamlScalarNode { Value: { } name } && value is YamlScalarNode { Value: { } text })
            {
                data[name] = text;
            }
        }
        return data;
    }
    private static async Task<int> CheckAsync(string conf, string workingDirectory, int dnsPort, Func<int, string>? lineMap,
        ILoggerFactory loggerFactory, TextWriter output, TextWriter errors)
    {
        var problems = new List<string>();
        var appOptions = new AppOptions { Conf = conf, DnsPort = dnsPort, Quiet = true, WorkingDirectory = workingDirectory };
        await using var app = new ClusterDnsApp(appOptions, loggerFactory);
        var fullPath = Path.GetFullPath(conf, workingDirectory);
        CorefileDocument? document = null;
        try
        {
            var text = CorefileParser.ReadFile(fullPath, shownPath: conf);
            document = ParseCollectingUnknown(text, conf, dnsPort, problems);
        }
        catch (CorefileException exception)
        {
            problems.Add(exception.Message);
        }
        ServerConfig? config = null;
        if (document is not null)
        {
            var builder = new ConfigBuilder(BuiltinPlugins.All, PluginOrder.Default, app.Services, app.Host.ResolverFor);
            var directory = Path.GetDirectoryName(fullPath) ?? workingDirectory;
            string? wholeProblem = null;
            if (problems.Count == 0)
            {
                var wholeProblems = new List<string>();
                config = TryBuild(builder, document, directory, null, wholeProblems);
                wholeProblem = wholeProblems.Count > 0 ? wholeProblems[0] : null;
            }
            if (config is null)
            {
                // Each block on its own, so one bad block does not hide the next one's problems; a problem only the
                // whole file shows (a zone defined twice) is reported when no single block has one.
                var before = problems.Count;
                foreach (var block in document.Blocks)
                {
                    TryBuild(builder, document with { Blocks = [block] }, directory, block, problems);
                }
                if (problems.Count == before && wholeProblem is not null)
                {
                    problems.Add(wholeProblem);
                }
                RemoveDuplicates(problems);
            }
        }
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                // A ConfigMap's Corefile is read from a temporary directory; its messages name it as the kubelet's mount would.
                var shown = lineMap is null ? problem : problem.Replace(workingDirectory + Path.DirectorySeparatorChar, "", StringComparison.Ordinal);
                await errors.WriteLineAsync(WithYamlLine(shown, lineMap)).ConfigureAwait(false);
            }
            await errors.WriteLineAsync($"{problems.Count} problem{(problems.Count == 1 ? "" : "s")} found").ConfigureAwait(false);
            return 1;
        }
        await output.WriteLineAsync(Summary(document!, config!)).ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Parses with every directive name accepted, then reports each name this build does not know with CoreDNS's
    /// "Unknown directive" text and leaves it out, so the blocks can still be checked for everything else.
    /// </summary>
    private static CorefileDocument ParseCollectingUnknown(string text, string fileName, int dnsPort, List<string> problems)
    {
        var lenient = new CorefileParserOptions { IsDirective = static _ => true, DefaultPort = dnsPort };
        var document = CorefileParser.Parse(text, fileName, lenient);
        var blocks = new List<ServerBlock>(document.Blocks.Count);
        foreach (var block in document.Blocks)
        {
            var known = new List<DirectiveGroup>(block.Directives.Count);
            foreach (var group in block.Directives)
            {
                if (PluginOrder.Default.Contains(group.Name))
                {
                    known.Add(group);
                    continue;
                }
                var first = group.Tokens[0];
                problems.Add($"{first.File}:{first.Line} - Error during parsing: Unknown directive '{group.Name}'");
            }
            blocks.Add(block with { Directives = known });
        }
        return document with { Blocks = blocks };
    }

    private static ServerConfig? TryBuild(ConfigBuilder builder, CorefileDocument document, string directory, ServerBlock? block, List<string> problems)
    {
        try
        {
            return builder.Build(document, directory, hash: "check");
        }
        catch (Exception exception) when (exception is CorefileException or ConfigException)
        {
            problems.Add(Locate(exception.Message, block));
            return null;
        }
    }

    /// <summary>Setup messages that carry no file:line of their own get the line of the plugin (or block) they came from.</summary>
    private static string Locate(string message, ServerBlock? block)
    {
        if (block is null || FileLineRegex().IsMatch(message))
        {
            return message;
        }
        var plugin = PluginPrefixRegex().Match(message);
        var group = plugin.Success ? block.Find(plugin.Groups[1].Value) : null;
        var (file, line) = group is null ? (block.File, block.Line) : (group.Tokens[0].File, group.Tokens[0].Line);
        return $"{file}:{line} - {message}";
    }

    private static void RemoveDuplicates(List<string> problems)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        problems.RemoveAll(problem => !seen.Add(problem));
    }

    private static string Summary(CorefileDocument document, ServerConfig config)
    {
        var listeners = new List<string>();
        foreach (var listener in config.Listeners)
        {
            listeners.Add(listener.Address);
        }
        var plugins = new List<string>();
        foreach (var block in document.Blocks)
        {
            foreach (var group in block.Directives)
            {
                if (!plugins.Contains(group.Name))
                {
                    plugins.Add(group.Name);
                }
            }
        }
        var blocks = document.Blocks.Count;
        return $"Corefile OK: {blocks} server block{(blocks == 1 ? "" : "s")}, listeners {string.Join(' ', listeners)}, plugins {string.Join(' ', plugins)}";
    }

    /// <summary>
    /// Where line N of data.Corefile sits in the ConfigMap file, when kubectl printed it as a literal block
    /// (<c>Corefile: |</c>): the block starts on the line after the key. Null when the layout is anything else.
    /// </summary>
    private static Func<int, string>? CorefileLineInYaml(string yaml, string yamlPath)
    {
        var lines = yaml.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (CorefileKeyRegex().IsMatch(lines[i].TrimEnd('\r')))
            {
                var keyLine = i + 1;
                return line => $"{yamlPath}:{keyLine + line}";
            }
        }
        return null;
    }

    private static string WithYamlLine(string problem, Func<int, string>? lineMap)
    {
        if (lineMap is null)
        {
            return problem;
        }
        var match = CorefileLineRegex().Match(problem);
        return match.Success ? $"{problem} ({lineMap(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))})" : problem;
    }

    [GeneratedRegex(@"(^|: )\S+:\d+ - ")]
    private static partial Regex FileLineRegex();

    [GeneratedRegex(@"^plugin/([A-Za-z0-9_]+): ")]
    private static partial Regex PluginPrefixRegex();

    [GeneratedRegex(@"^\s+Corefile:\s*\|[-+]?\d*\s*$")]
    private static partial Regex CorefileKeyRegex();

    [GeneratedRegex(@"^Corefile:(\d+) - ")]
    private static partial Regex CorefileLineRegex();
}
