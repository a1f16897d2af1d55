using ClusterDns.Plugins.Dns64;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Dns64;

/// <summary>CoreDNS's setup_test.go table: the options read, and bad options refused with CoreDNS's error, file and line.</summary>
public sealed class Dns64SetupTests
{
    [Theory]
    [InlineData("dns64", "64:ff9b::/96", false, false)]
    [InlineData("dns64 64:dead::/96", "64:dead::/96", false, false)]
    [InlineData("dns64 {\n        translate_all\n    }", "64:ff9b::/96", true, false)]
    [InlineData("dns64 {\n        prefix 64:ff9b::/96\n    }", "64:ff9b::/96", false, false)]
    [InlineData("dns64 {\n        prefix 64:ff9b::/32\n    }", "64:ff9b::/32", false, false)]
    [InlineData("dns64 {\n        prefix 2002:ac12:b083::/96\n    }", "2002:ac12:b083::/96", false, false)]
    [InlineData("dns64 {\n        prefix 2002:c0a8:a88a::/48\n    }", "2002:c0a8:a88a::/48", false, false)]
    [InlineData("dns64 {\n        allow_ipv4\n    }", "64:ff9b::/96", false, true)]
    [InlineData("dns64 {\n        translate_all\n        allow_ipv4\n        prefix 2001:db8::/64\n    }", "2001:db8::/64", true, true)]
    // Host bits are cleared, as Go's ParseCIDR does.
    [InlineData("dns64 2001:db8::1/96", "2001:db8::/96", false, false)]
    // A block after PREFIX: its options apply (CoreDNS skips such a block unread).
    [InlineData("dns64 64:dead::/96 {\n        translate_all\n    }", "64:dead::/96", true, false)]
    // Several occurrences in one block: combined, the last prefix wins.
    [InlineData("dns64 64:dead::/96\n    dns64 {\n        allow_ipv4\n    }", "64:dead::/96", false, true)]
    [InlineData("dns64 64:dead::/96\n    dns64 2001:db8::/32", "2001:db8::/32", false, false)]
    public void Setup_reads_the_options(string directive, string prefix, bool translateAll, bool allowIpv4)
    {
        var config = Build($".:0 {{\n    {directive}\n    whoami\n}}\n");
        var options = config.Blocks[0].Plugins.OfType<Dns64Plugin>().Single().Options;
        Assert.Equal(prefix, options.Prefix.ToString());
        Assert.Equal(translateAll, options.TranslateAll);
        Assert.Equal(allowIpv4, options.AllowIpv4);
    }

    [Theory]
    [InlineData(32, true)]
    [InlineData(40, true)]
    [InlineData(48, true)]
    [InlineData(56, true)]
    [InlineData(64, true)]
    [InlineData(72, false)]
    [InlineData(80, false)]
    [InlineData(88, false)]
    [InlineData(96, true)]
    public async Task Only_RFC_6052_prefix_lengths_are_accepted(int length, bool valid)
    {
        foreach (var directive in new[] { $"dns64 2001:db8::/{length}", $"dns64 {{\n        prefix 2001:db8::/{length}\n    }}" })
        {
            var corefile = $".:0 {{\n    {directive}\n    whoami\n}}\n";
            if (valid)
            {
                Assert.Equal($"2001:db8::/{length}", Build(corefile).Blocks[0].Plugins.OfType<Dns64Plugin>().Single().Options.Prefix.ToString());
            }
            else
            {
                var line = directive.Contains('{', StringComparison.Ordinal) ? 3 : 2;
                Assert.Equal($"plugin/dns64: Corefile:{line} - Error during parsing: invalid prefix length \"2001:db8::/{length}\"",
                    await SetupErrorAsync(corefile));
            }
        }
    }

    [Theory]
    [InlineData("dns64 foobar", "plugin/dns64: invalid CIDR address: foobar")]
    [InlineData("dns64 foobar {\n        prefix 64:ff9b::/96\n    }", "plugin/dns64: invalid CIDR address: foobar")]
    [InlineData("dns64 {\n        prefix 64:ff9b::/129\n    }", "plugin/dns64: invalid CIDR address: 64:ff9b::/129")]
    [InlineData("dns64 {\n        prefix 64:ff9b::/52\n    }", "plugin/dns64: Corefile:3 - Error during parsing: invalid prefix length \"64:ff9b::/52\"")]
    [InlineData("dns64 {\n        prefix 64:ff9b::/104\n    }", "plugin/dns64: Corefile:3 - Error during parsing: invalid prefix length \"64:ff9b::/104\"")]
    [InlineData("dns64 {\n        prefix 64:ff9b::/24\n    }", "plugin/dns64: Corefile:3 - Error during parsing: invalid prefix length \"64:ff00::/24\"")]
    [InlineData("dns64 {\n        prefix 8.8.8.8/24\n    }", "plugin/dns64: Corefile:3 - Error during parsing: invalid netmask 32 IPv6 address: \"8.8.8.0/24\"")]
    [InlineData("dns64 10.0.0.0/8", "plugin/dns64: Corefile:2 - Error during parsing: invalid netmask 32 IPv6 address: \"10.0.0.0/8\"")]
    [InlineData("dns64 {\n        foobar\n    }", "plugin/dns64: Corefile:3 - Error during parsing: unknown property 'foobar'")]
    [InlineData("dns64 {\n        filter_a\n    }", "plugin/dns64: Corefile:3 - Error during parsing: unknown property 'filter_a'")]
    [InlineData("dns64 {\n        prefix\n    }", "plugin/dns64: Corefile:3 - Error during parsing: Wrong argument count or unexpected line ending after 'prefix'")]
    [InlineData("dns64 {\n        prefix 64:ff9b::/96 extra\n    }", "plugin/dns64: Corefile:3 - Error during parsing: unknown property 'extra'")]
    [InlineData("dns64 64:ff9b::/96 64:ff9b::/96", "plugin/dns64: Corefile:2 - Error during parsing: Wrong argument count or unexpected line ending after '64:ff9b::/96'")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }
}
