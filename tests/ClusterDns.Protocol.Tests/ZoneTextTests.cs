using ClusterDns.Protocol;

namespace ClusterDns.Protocol.Tests;

public class ZoneTextTests
{
    [Theory]
    [InlineData("web.ns1.svc.cluster.local. 5 IN A 10.0.0.1", "web.ns1.svc.cluster.local.\t5\tIN\tA\t10.0.0.1")]
    [InlineData("web.ns1. A 10.0.0.1", "web.ns1.\t3600\tIN\tA\t10.0.0.1")]
    [InlineData("web.ns1. IN 30 AAAA fd00::1", "web.ns1.\t30\tIN\tAAAA\tfd00::1")]
    [InlineData("a. 1 ANY A 1.2.3.4", "a.\t1\tANY\tA\t1.2.3.4")]                  // ANY as a class
    [InlineData("a. 1 CLASS300 TYPE1 1.2.3.4", "a.\t1\tCLASS300\tA\t1.2.3.4")]
    [InlineData("a. 1 IN TYPE1 \\# 4 0a000001", "a.\t1\tIN\tA\t10.0.0.1")]       // RFC 3597 generic form of a known type
    [InlineData("a. 1 IN TYPE999 \\# 0", "a.\t1\tIN\tTYPE999\t\\# 0")]
    [InlineData("a. 1 IN CAA \\# 3 0001 61", "a.\t1\tIN\tCAA\t\\# 3 000161")]
    [InlineData("a. 1 IN TXT \"x y\" plain \"q\\\"\\\\\\255\"", "a.\t1\tIN\tTXT\t\"x y\" \"plain\" \"q\\\"\\\\\\255\"")]
    [InlineData("a. 1 IN TXT bare\\032esc", "a.\t1\tIN\tTXT\t\"bare esc\"")]
    [InlineData("a. 1 IN TXT", "a.\t1\tIN\tTXT\t")]
    [InlineData("a. 1 IN SOA ns. host. ( 1 2 ; comment\n 3 4 5 )", "a.\t1\tIN\tSOA\tns. host. 1 2 3 4 5")]
    [InlineData("a\\;b\\(c\\). 1 IN CNAME x\\ y.", "a\\;b\\(c\\).\t1\tIN\tCNAME\tx\\032y.")] // escaped ; ( ) and blank stay in names
    [InlineData("_http._tcp.web. 5 IN SRV 0 50 8080 pod.web.", "_http._tcp.web.\t5\tIN\tSRV\t0 50 8080 pod.web.")]
    [InlineData("x. 5 IN MX 10 mail.x.", "x.\t5\tIN\tMX\t10 mail.x.")]
    [InlineData("x. 5 IN HINFO \"cpu\" \"os\"", "x.\t5\tIN\tHINFO\t\"cpu\" \"os\"")]
    [InlineData("x. 5 in ptr y.", "x.\t5\tIN\tPTR\ty.")]
    public void Record_text_parses_and_prints_canonically(string text, string printed) => Assert.Equal(printed, ZoneText.ParseRecord(text).ToString());

    [Theory]
    [InlineData("a. 1 IN A 1.2.3")]
    [InlineData("a. 1 IN A 10")]
    [InlineData("a. 1 IN A 010.0.0.1")]
    [InlineData("a. 1 IN A 0x0a.0.0.1")]
    [InlineData("a. 1 IN A 1.2.3.256")]
    [InlineData("a. 1 IN A 1.2.3.4.5")]
    [InlineData("a. 1 IN A ::1")]
    [InlineData("a. 1 IN AAAA 1.2.3.4")]
    [InlineData("a. 1 IN MX -1 b.")]
    [InlineData("a. 1 IN MX +1 b.")]
    [InlineData("a. 1 IN MX 65536 b.")]
    [InlineData("a. 1 IN SRV 1 2 b.")]
    [InlineData("a. 1 IN TXT \"unterminated")]
    [InlineData("a. 1 IN TXT \"\\256\"")]
    [InlineData("a. 1 IN TXT \"\u0100\"")]
    [InlineData("a. 1 IN TYPE999 \\# 2 0a")]
    [InlineData("a. 1 IN TYPE999 \\# 1 zz")]
    [InlineData("a. 1 IN TYPE999 \\# x 0a")]
    [InlineData("a. 1 IN A \\# 3 0a0000")]     // generic data must still be valid for the type
    [InlineData("a. 1 IN +1 \\# 0")]          // Enum.TryParse would take "+1"
    [InlineData("a. 1 IN A,NS 1.2.3.4")]
    [InlineData("a.. 1 IN A 1.2.3.4")]
    [InlineData("a. 1 IN")]
    [InlineData("a. 1 IN CNAME b..")]
    public void Malformed_record_text_is_rejected(string text)
    {
        Assert.False(ZoneText.TryParseRecord(text, out var record, out var error));
        Assert.Null(record);
        Assert.NotEmpty(error);
        Assert.Throws<FormatException>(() => ZoneText.ParseRecord(text));
    }

    [Fact]
    public void Relative_names_use_the_origin()
    {
        var origin = DnsName.Parse("cluster.local.");
        Assert.Equal("web.cluster.local.\t5\tIN\tCNAME\tcluster.local.", ZoneText.ParseRecord("web 5 IN CNAME @", origin).ToString());
        Assert.Equal("cluster.local.\t5\tIN\tMX\t1 mail.cluster.local.", ZoneText.ParseRecord("@ 5 IN MX 1 mail", origin).ToString());
        var longLabel = new string('a', 63);
        Assert.False(ZoneText.TryParseRecord($"{longLabel}.{longLabel}.{longLabel}.{longLabel} 5 IN A 1.2.3.4", out _, out _, origin));
    }

    [Theory]
    [InlineData("A", true, DnsType.A)]
    [InlineData("srv", true, DnsType.SRV)]
    [InlineData("TYPE65535", true, (DnsType)65535)]
    [InlineData("TYPE65536", false, DnsType.None)]
    [InlineData("1", false, DnsType.None)]
    [InlineData("+1", false, DnsType.None)]
    [InlineData("A,NS", false, DnsType.None)]
    [InlineData("None", false, DnsType.None)]
    [InlineData("", false, DnsType.None)]
    public void Type_mnemonics(string text, bool ok, DnsType expected)
    {
        Assert.Equal(ok, DnsMnemonics.TryParseType(text, out var type));
        Assert.Equal(expected, type);
    }
}
