using ClusterDns.Plugins.Rewrite;
using static ClusterDns.Tests.TestSupport.PluginTestSupport;

namespace ClusterDns.Tests.Plugins.Rewrite;

public sealed class RewriteSetupTests
{
    // CoreDNS's rule errors are plain errors behind plugin.Error("rewrite", ...): they carry no file or line.
    [Theory]
    [InlineData("rewrite", "plugin/rewrite: no rule type specified for rewrite")]
    [InlineData("rewrite foo bar baz", "plugin/rewrite: invalid rule type \"foo\"")]
    [InlineData("rewrite stop", "plugin/rewrite: stop rule must begin with a rule type")]
    [InlineData("rewrite continue", "plugin/rewrite: continue rule must begin with a rule type")]
    [InlineData("rewrite answer name a b", "plugin/rewrite: response rewrites must begin with a name rule")]
    [InlineData("rewrite name a", "plugin/rewrite: too few arguments for a name rule")]
    [InlineData("rewrite name foo a b", "plugin/rewrite: name rule supports only exact, prefix, suffix, substring, and regex name matching, received: foo")]
    [InlineData("rewrite name regex ( b", "plugin/rewrite: invalid regex matching pattern: (")]
    [InlineData("rewrite name regex (a) {1}{2}", "plugin/rewrite: the rewrite regex pattern ({1}{2}) uses more subexpressions than its corresponding matching regex pattern ((a))")]
    [InlineData("rewrite name exact a b answer", "plugin/rewrite: invalid arguments for exact rule")]
    [InlineData("rewrite name exact a b foo bar", "plugin/rewrite: exceeded the number of arguments for a non-answer rule argument for exact rule")]
    [InlineData("rewrite name exact a b answer foo", "plugin/rewrite: invalid type \"foo\" for answer rule for exact rule")]
    [InlineData("rewrite name regex a b answer name x", "plugin/rewrite: name answer rule for regex rule: 2 arguments required")]
    [InlineData("rewrite name regex (a) b answer value x {2}", "plugin/rewrite: value answer rule for regex rule: the rewrite regex pattern ({2}) uses more subexpressions than its corresponding matching regex pattern (x)")]
    [InlineData("rewrite name prefix a b answer auto answer name x y", "plugin/rewrite: auto name answer rule cannot be combined with explicit name anwer rules")]
    [InlineData("rewrite type A", "plugin/rewrite: type rules must have exactly two arguments")]
    [InlineData("rewrite type A XYZ", "plugin/rewrite: invalid type \"XYZ\"")]
    [InlineData("rewrite class IN", "plugin/rewrite: class rules must have exactly two arguments")]
    [InlineData("rewrite class IN XX", "plugin/rewrite: invalid class \"XX\"")]
    [InlineData("rewrite ttl a.example.net", "plugin/rewrite: too few (1) arguments for a ttl rule")]
    [InlineData("rewrite ttl a.example.net abc", "plugin/rewrite: invalid TTL 'abc' for a ttl rule")]
    [InlineData("rewrite ttl a.example.net 20-10", "plugin/rewrite: invalid TTL '20-10' for a ttl rule")]
    [InlineData("rewrite ttl a.example.net -", "plugin/rewrite: invalid TTL '-' for a ttl rule")]
    [InlineData("rewrite ttl foo a.example.net 10", "plugin/rewrite: ttl rule supports only exact, prefix, suffix, substring, and regex name matching")]
    [InlineData("rewrite ttl regex ( 10", "plugin/rewrite: invalid regex pattern in a ttl rule: (")]
    [InlineData("rewrite rcode a.example.net NXDOMAIN", "plugin/rewrite: too few (2) arguments for a rcode rule")]
    [InlineData("rewrite rcode a.example.net BOGUS NOERROR", "plugin/rewrite: invalid matching RCODE 'BOGUS' for a rcode rule")]
    [InlineData("rewrite rcode a.example.net NXDOMAIN 24", "plugin/rewrite: invalid replacement RCODE '24' for a rcode rule")]
    [InlineData("rewrite edns0 local", "plugin/rewrite: too few arguments for an EDNS0 rule")]
    [InlineData("rewrite edns0 local foo 1 2", "plugin/rewrite: invalid action: \"foo\"")]
    [InlineData("rewrite edns0 local set 0xffee", "plugin/rewrite: EDNS0 local rules require exactly three args")]
    [InlineData("rewrite edns0 local set xyz 1", "plugin/rewrite: strconv.ParseUint: parsing \"xyz\": invalid syntax")]
    [InlineData("rewrite edns0 local set 0x10000 1", "plugin/rewrite: strconv.ParseUint: parsing \"0x10000\": value out of range")]
    [InlineData("rewrite edns0 local set 0xffee 0xabc", "plugin/rewrite: encoding/hex: odd length hex string")]
    [InlineData("rewrite edns0 local set 0xffee 0xzz", "plugin/rewrite: encoding/hex: invalid byte: U+007A 'z'")]
    [InlineData("rewrite edns0 nsid set x", "plugin/rewrite: EDNS0 NSID rules do not accept args")]
    [InlineData("rewrite edns0 subnet set 24", "plugin/rewrite: EDNS0 subnet rules require exactly three args")]
    [InlineData("rewrite edns0 subnet set 33 56", "plugin/rewrite: invalid IPv4 bit mask length 33")]
    [InlineData("rewrite edns0 subnet set 24 129", "plugin/rewrite: invalid IPv6 bit mask length 129")]
    [InlineData("rewrite edns0 cookie set 1", "plugin/rewrite: invalid rule type \"cookie\"")]
    [InlineData("rewrite edns0 local set 0xffee {foo}", "plugin/rewrite: unsupported variable name \"{foo}\"")]
    [InlineData("rewrite edns0 local set 0xffee {/label}", "plugin/rewrite: unsupported variable name \"{/label}\"")]
    [InlineData("rewrite edns0 local set 0xffee {plugin/}", "plugin/rewrite: unsupported variable name \"{plugin/}\"")]
    [InlineData("rewrite edns0 local set xyz {qname}", "plugin/rewrite: strconv.ParseUint: parsing \"xyz\": invalid syntax")]
    [InlineData("rewrite edns0 local unset", "plugin/rewrite: EDNS0 local unset rules require exactly one arg")]
    [InlineData("rewrite edns0 local unset 0xffee abc", "plugin/rewrite: EDNS0 local unset rules require exactly one arg")]
    [InlineData("rewrite edns0 subnet unset 24", "plugin/rewrite: EDNS0 subnet unset rules do not accept args")]
    [InlineData("rewrite edns0 nsid unset x", "plugin/rewrite: EDNS0 NSID rules do not accept args")]
    [InlineData("rewrite edns0 local set 0xffee revert", "plugin/rewrite: EDNS0 local rules require exactly three args")]
    [InlineData("rewrite cname a.example.", "plugin/rewrite: too few (1) arguments for a cname rule")]
    [InlineData("rewrite cname exact a. b. c.", "plugin/rewrite: too few (4) arguments for a cname rule")]
    [InlineData("rewrite cname foo a. b.", "plugin/rewrite: unknown cname rewrite type: foo")]
    [InlineData("rewrite cname regex ( b.", "plugin/rewrite: invalid regex matching pattern: (")]
    public async Task Setup_errors_match_CoreDNS(string directive, string expected)
    {
        Assert.Equal(expected, await SetupErrorAsync($".:0 {{\n    {directive}\n    whoami\n}}\n"));
    }

    [Theory]
    [InlineData("rewrite name a b", 1)]
    [InlineData("rewrite stop type AAAA A\n    rewrite continue class CH IN\n    rewrite ttl a 10-", 3)]
    [InlineData("rewrite stop {\n        name regex (.*)\\.a {1}.b\n        answer name (.*)\\.b {1}.a\n    }", 1)]
    [InlineData("rewrite name regex (.*)\\.a {1}.b answer name (.*)\\.b {1}.a value (.*)\\.b {1}.a", 1)]
    [InlineData("rewrite name exact a b answer value (.*)\\.b {1}.a", 1)]
    [InlineData("rewrite rcode regex .*\\.a NXDOMAIN 0", 1)]
    [InlineData("rewrite edns0 local set 0o17 abc\n    rewrite edns0 subnet append 0 0", 2)]
    [InlineData("rewrite edns0 local unset 0xffee\n    rewrite edns0 nsid unset\n    rewrite edns0 subnet unset revert", 3)]
    [InlineData("rewrite edns0 local set 0xffee abc revert\n    rewrite edns0 local set 0xffee {client_ip}\n    rewrite edns0 local append 1 {kubernetes/client-namespace}", 3)]
    [InlineData("rewrite continue cname exact def.example.com. xyz.example.com.\n    rewrite stop cname a. b.\n    rewrite cname regex (.*)\\.web\\.(.*)\\.site\\. {1}.webapp.{2}.org.", 3)]
    public void Setup_builds_one_rule_per_directive(string directives, int rules)
    {
        var config = Build($".:0 {{\n    {directives}\n    whoami\n}}\n");
        var plugin = config.Blocks[0].Plugins.OfType<RewritePlugin>().Single();
        Assert.Equal(rules, plugin.Rules.Count);
    }
}
