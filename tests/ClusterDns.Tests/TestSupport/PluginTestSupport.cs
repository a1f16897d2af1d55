using System.Net;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using ClusterDns.Corefile;
using ClusterDns.Server;
using Microsoft.Extensions.Logging.Abstractions;

namespace ClusterDns.Tests.TestSupport;

/// <summary>Helpers shared by the plugin tests: setup errors as users read them, log polling, HTTP, README examples.</summary>
internal static partial class PluginTestSupport
{
    /// <summary>Starts a server that must fail and returns its message with the temp Corefile path shortened to "Corefile".</summary>
    public static async Task<string> SetupErrorAsync(string corefile, IReadOnlyDictionary<string, PluginDescriptor>? plugins = null)
    {
        var exception = await Assert.ThrowsAsync<ConfigException>(() => TestDnsServer.StartAsync(corefile, plugins: plugins));
        return TempCorefile().Replace(exception.Message, "Corefile");
    }

    /// <summary>Log lines arrive through a writer thread: poll until <paramref name="predicate"/> holds.</summary>
    public static async Task<string> WaitForLogAsync(TestDnsServer server, Func<string, bool> predicate, int timeoutMs = 3000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (true)
        {
            var log = server.Log;
            if (predicate(log) || Environment.TickCount64 > deadline)
            {
                return log;
            }
            await Task.Delay(20);
        }
    }

    public static string[] Lines(string log) => log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public static int HttpPort(TestDnsServer server, string address) =>
        server.App.Services.GetHttpServer(address)?.Port ?? throw new InvalidOperationException($"no HTTP server on {address}");

    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(int port, string path)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await client.GetAsync($"http://127.0.0.1:{port}{path}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public static string ReadmeText(string plugin) =>
        File.ReadAllText(Path.Combine(RepoRoot(), "src", "ClusterDns", "Plugins", plugin, "README.md"));

    /// <summary>The ```corefile / ~~~ corefile blocks of a plugin README.</summary>
    public static IReadOnlyList<string> ReadmeCorefiles(string plugin)
    {
        var text = ReadmeText(plugin);
        var blocks = new List<string>();
        foreach (Match match in FenceRegex().Matches(text))
        {
            blocks.Add(match.Groups[2].Value);
        }
        return blocks;
    }

    /// <summary>Parses and builds (without serving) a Corefile, as a start-up would.</summary>
    public static ServerConfig Build(string corefile)
    {
        var directory = Path.Combine(Path.GetTempPath(), "clusterdns-readme-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        try
        {
            File.WriteAllText(Path.Combine(directory, "Corefile"), corefile);
            var app = new ClusterDnsApp(new AppOptions { Conf = Path.Combine(directory, "Corefile"), Quiet = true, WorkingDirectory = directory },
                NullLoggerFactory.Instance);
            return app.Load();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static Regex TempCorefile() => TempCorefileRegex();

    [GeneratedRegex(@"/\S*?/clusterdns-test-[0-9a-f]+/Corefile")]
    private static partial Regex TempCorefileRegex();

    [GeneratedRegex(@"(```|~~~) ?corefile\n(.*?)\1", RegexOptions.Singleline)]
    private static partial Regex FenceRegex();

    private static string RepoRoot([CallerFilePath] string path = "")
    {
        var directory = Path.GetDirectoryName(path)!;
        while (!Directory.Exists(Path.Combine(directory, "src", "ClusterDns")))
        {
            directory = Path.GetDirectoryName(directory)!;
        }
        return directory;
    }
}
