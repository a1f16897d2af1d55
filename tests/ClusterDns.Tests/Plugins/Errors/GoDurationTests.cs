using ClusterDns.Plugins.Shared;

namespace ClusterDns.Tests.Plugins.Errors;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("5s", 5_000_000_000L)]
    [InlineData("1m30s", 90_000_000_000L)]
    [InlineData("1.5h", 5_400_000_000_000L)]
    [InlineData("500ms", 500_000_000L)]
    [InlineData("-2s", -2_000_000_000L)]
    [InlineData("100us", 100_000L)]
    [InlineData("100\u00b5s", 100_000L)]
    public void Parses_go_durations(string text, long nanoseconds)
    {
        Assert.True(GoDuration.TryParse(text, out var value, out _));
        Assert.Equal(nanoseconds / 100, value.Ticks);
    }

    [Theory]
    [InlineData("", "time: invalid duration \"\"")]
    [InlineData("abc", "time: invalid duration \"abc\"")]
    [InlineData("5", "time: missing unit in duration \"5\"")]
    [InlineData("5d", "time: unknown unit \"d\" in duration \"5d\"")]
    public void Rejects_with_go_messages(string text, string error)
    {
        Assert.False(GoDuration.TryParse(text, out _, out var message));
        Assert.Equal(error, message);
    }

    [Theory]
    [InlineData(0L, "0s")]
    [InlineData(5_000_000_000L, "5s")]
    [InlineData(300_000_000_000L, "5m0s")]
    [InlineData(3_600_000_000_000L, "1h0m0s")]
    [InlineData(90_500_000_000L, "1m30.5s")]
    [InlineData(300_000_000L, "300ms")]
    [InlineData(1_500_000L, "1.5ms")]
    [InlineData(2_000L, "2\u00b5s")]
    public void Formats_like_go(long nanoseconds, string expected) =>
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromTicks(nanoseconds / 100)));
}
