using ClusterDns.Corefile;

namespace ClusterDns.Tests.Corefile;

public sealed class PluginOrderTests
{
    [Fact]
    public void Default_is_the_embedded_plugin_cfg()
    {
        var order = PluginOrder.Default;
        Assert.Same(order, PluginOrder.Default);
        Assert.Equal("root", order.Names[0]);
        Assert.True(order.Contains("kubernetes"));
        Assert.False(order.Contains("import"));
        Assert.False(order.Contains("proxy"));
        Assert.True(order.IndexOf("errors") < order.IndexOf("log"));
        Assert.True(order.IndexOf("cache") < order.IndexOf("rewrite")); // 1.11–1.14.1 order
        Assert.Equal(-1, order.IndexOf("nosuchplugin"));
    }

    [Fact]
    public void Parse_skips_comments_and_blank_lines()
    {
        var order = PluginOrder.Parse("# header\n\nerrors\r\n  log  # trailing\nwhoami\n");
        Assert.Equal(["errors", "log", "whoami"], order.Names);
        Assert.Equal(1, order.IndexOf("log"));
    }
}
