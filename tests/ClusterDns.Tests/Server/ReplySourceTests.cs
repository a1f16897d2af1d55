using System.Diagnostics;
using System.Globalization;
using ClusterDns.Tests.TestSupport;

namespace ClusterDns.Tests.Server;

/// <summary>
/// A wildcard listener (<c>.:53</c>) on a host with several addresses must answer from the address each query was
/// sent to (IP_PKTINFO / IPV6_PKTINFO): stub resolvers drop a reply from any other source.
/// </summary>
public sealed class ReplySourceTests
{
    [Fact]
    public async Task A_query_to_a_second_loopback_address_is_answered_from_it()
    {
        await using var server = await TestDnsServer.StartAsync(".:0 {\n    whoami\n}\n");
        foreach (var tcp in new[] { false, true })
        {
            var dig = await ServerTestKit.RunAsync("dig", ["@127.0.0.2", "-p", server.Port.ToString(CultureInfo.InvariantCulture),
                "+tries=1", "+time=2", tcp ? "+tcp" : "+notcp", "example.org.", "A"]);
            Assert.True(new DigOutput(dig.Stdout).Status == "NOERROR", $"tcp={tcp}: {dig}");
        }
    }

    /// <summary>Two namespaces joined by a veth pair: the server's side has two IPv4 and two IPv6 addresses on one
    /// interface, the client's side one of each. dig and glibc's stub resolver ask each server address in turn.</summary>
    [Fact]
    public async Task Every_address_of_a_multi_homed_interface_answers_dig_and_the_glibc_stub()
    {
        var id = Guid.NewGuid().ToString("N")[..6];
        var (serverNs, clientNs) = ($"cdns-srv-{id}", $"cdns-cli-{id}");
        string[] serverAddresses = ["10.231.7.1", "10.231.7.2", "fd00:231:7::1", "fd00:231:7::2"];
        var resolvConfDirectory = Path.Combine("/etc/netns", clientNs);
        Process? server = null;
        try
        {
            await Ip("netns", "add", serverNs);
            await Ip("netns", "add", clientNs);
            await Ip("-n", serverNs, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", clientNs);
            foreach (var (ns, device) in new[] { (serverNs, "v0"), (clientNs, "v1") })
            {
                await Ip("-n", ns, "link", "set", "lo", "up");
                await Ip("-n", ns, "link", "set", device, "up");
            }
            foreach (var address in serverAddresses)
            {
                await Ip(["-n", serverNs, .. address.Contains(':') ? new[] { "-6" } : [], "addr", "add", address + (address.Contains(':') ? "/64" : "/24"), "dev", "v0", .. address.Contains(':') ? new[] { "nodad" } : []]);
            }
            await Ip("-n", clientNs, "addr", "add", "10.231.7.9/24", "dev", "v1");
            await Ip("-n", clientNs, "-6", "addr", "add", "fd00:231:7::9/64", "dev", "v1", "nodad");

            var directory = ClusterDnsProcess.NewDirectory();
            var corefile = Path.Combine(directory, "Corefile");
            await File.WriteAllTextAsync(corefile, ".:53 {\n    hosts {\n        192.0.2.7 mh.test\n    }\n}\n");
            var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var argument in (string[])["netns", "exec", serverNs, .. ClusterDnsProcess.Command, "-conf", corefile])
            {
                start.ArgumentList.Add(argument);
            }
            server = Process.Start(start)!;
            server.BeginOutputReadLine();
            server.BeginErrorReadLine();

            foreach (var address in serverAddresses)
            {
                foreach (var tcp in new[] { false, true })
                {
                    string[] dig = ["netns", "exec", clientNs, "dig", "@" + address, "+tries=1", "+time=2", tcp ? "+tcp" : "+notcp", "mh.test.", "A"];
                    var answered = await Eventually.Holds(() =>
                        new DigOutput(ServerTestKit.RunAsync("ip", dig).GetAwaiter().GetResult().Stdout).Status == "NOERROR", TimeSpan.FromSeconds(15));
                    Assert.True(answered, $"dig @{address} tcp={tcp} from the client namespace got no answer");
                }
            }

            // glibc's stub resolver (getent), pointed at each address through the namespace's own resolv.conf.
            Directory.CreateDirectory(resolvConfDirectory);
            foreach (var address in serverAddresses)
            {
                await File.WriteAllTextAsync(Path.Combine(resolvConfDirectory, "resolv.conf"), $"nameserver {address}\noptions timeout:2 attempts:1\n");
                var getent = await ServerTestKit.RunAsync("ip", ["netns", "exec", clientNs, "getent", "ahostsv4", "mh.test"]);
                Assert.True(getent.ExitCode == 0 && getent.Stdout.Contains("192.0.2.7", StringComparison.Ordinal), $"glibc via {address}: {getent}");
            }
        }
        finally
        {
            if (server is { HasExited: false })
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
            server?.Dispose();
            await ServerTestKit.RunAsync("ip", ["netns", "del", serverNs]);
            await ServerTestKit.RunAsync("ip", ["netns", "del", clientNs]);
            if (Directory.Exists(resolvConfDirectory))
            {
                Directory.Delete(resolvConfDirectory, recursive: true);
            }
        }
    }

    private static async Task Ip(params string[] arguments)
    {
        var output = await ServerTestKit.RunAsync("ip", arguments);
        Assert.True(output.ExitCode == 0, $"ip {string.Join(' ', arguments)}: {output}");
    }
}
