using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Server;

/// <summary>
/// What the started server has loaded (docs/performance/footprint.md): the configuration hash loads OpenSSL, so only
/// a Corefile with <c>reload</c> (which logs and compares it) may pay for it; the hash it logs is still the SHA-512
/// of the Corefile as loaded.
/// </summary>
public sealed class FootprintTests
{
    public static TheoryData<string, string, bool> Cases => new()
    {
        { "hosts only: no OpenSSL mapped", "hosts {\n        10.0.0.1 a.example\n    }", false },
        { "with reload: the hash of the Corefile is logged", "hosts {\n        10.0.0.1 a.example\n    }\n    reload", true },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Openssl_is_loaded_only_when_reload_needs_the_hash(string name, string plugins, bool reload)
    {
        var port = ServerTestKit.FreePort();
        var directory = ClusterDnsProcess.NewDirectory();
        var corefile = $".:{port.ToString(CultureInfo.InvariantCulture)} {{\n    {plugins}\n}}\n";
        await File.WriteAllTextAsync(Path.Combine(directory, "Corefile"), corefile);
        await using var server = ClusterDnsProcess.Start(directory);
        await server.WaitForBannerAsync();
        Assert.Equal("NOERROR", (await ServerTestKit.DigAsync(port, "a.example.", "A")).Status); // the banner: listening
        var maps = await File.ReadAllTextAsync($"/proc/{server.Id}/maps");
        if (reload)
        {
            var hash = Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes(corefile)));
            Assert.True(await Eventually.Holds(() => server.Stdout.Contains($"Running configuration SHA512 = {hash}", StringComparison.Ordinal),
                TimeSpan.FromSeconds(20)), $"{name}: {server.Stdout}");
        }
        else
        {
            Assert.DoesNotContain("libcrypto", maps, StringComparison.Ordinal);
            Assert.DoesNotContain("libssl", maps, StringComparison.Ordinal);
        }
    }
}
