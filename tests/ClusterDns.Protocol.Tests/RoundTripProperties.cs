using ClusterDns.Protocol;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ClusterDns.Protocol.Tests;

/// <summary>Wire and text round trips for every record type, over random valid records.</summary>
public class RoundTripProperties
{
    private static void AssertSectionEqual(IReadOnlyList<DnsRecord> expected, IReadOnlyList<DnsRecord> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i], actual[i]);
        }
    }

    [Property(MaxTest = 300)]
    public Property Message_wire_round_trip() =>
        Prop.ForAll(Generators.Message.ToArbitrary(), message =>
        {
            var wire = message.ToArray();
            Assert.NotEmpty(wire);
            Assert.True(DnsMessage.TryParse(wire, out var parsed, out var error), error.ToString());
            Assert.Equal(message.Header.Id, parsed.Header.Id);
            Assert.Equal(message.Header.Flags, parsed.Header.Flags);
            Assert.Equal(message.Questions, parsed.Questions);
            AssertSectionEqual(message.Answers, parsed.Answers);
            AssertSectionEqual(message.Authorities, parsed.Authorities);
            AssertSectionEqual(message.Additionals, parsed.Additionals);
            // Writing what was parsed gives the same bytes: names keep their case wherever they are not compressed.
            Assert.Equal(wire, parsed.ToArray());
        });

    [Property(MaxTest = 500)]
    public Property Each_record_wire_round_trip() =>
        Prop.ForAll(Generators.TextRecord.ToArbitrary(), record =>
        {
            var message = new DnsMessage();
            message.Answers.Add(record);
            Assert.True(DnsMessage.TryParse(message.ToArray(), out var parsed, out _));
            var single = Assert.Single(parsed.Answers);
            Assert.Equal(record, single);
            Assert.Equal(record.GetType(), single.GetType());
            // Names compare case-insensitively; the uncompressed first occurrence must also keep its case.
            Assert.Equal(record.Name.ToString(), single.Name.ToString());
        });

    [Property(MaxTest = 500)]
    public Property Each_record_text_round_trip() =>
        Prop.ForAll(Generators.TextRecord.ToArbitrary(), record =>
        {
            var text = record.ToString();
            Assert.True(ZoneText.TryParseRecord(text, out var parsed, out var error), $"{error}: {text}");
            Assert.Equal(record, parsed);
            Assert.Equal(text, parsed!.ToString());
        });

    [Property(MaxTest = 300)]
    public Property Opt_wire_round_trip() =>
        Prop.ForAll(Generators.Opt.ToArbitrary(), opt =>
        {
            var message = DnsMessage.CreateQuery("example.org.", DnsType.A);
            message.Additionals.Add(opt);
            Assert.True(DnsMessage.TryParse(message.ToArray(), out var parsed, out _));
            var read = Assert.IsType<OptRecord>(Assert.Single(parsed.Additionals));
            Assert.Equal(opt, read);
            Assert.Equal(opt.UdpPayloadSize, read.UdpPayloadSize);
            Assert.Equal(opt.DnssecOk, read.DnssecOk);
            Assert.Equal(opt.Version, read.Version);
            Assert.Equal(opt.ExtendedRcode, read.ExtendedRcode);
        });

    [Property(MaxTest = 500)]
    public Property Name_text_round_trip() =>
        Prop.ForAll(Generators.Name.ToArbitrary(), name =>
        {
            var text = name.ToString();
            Assert.True(DnsName.TryParse(text, out var parsed), text);
            Assert.True(name.Wire.SequenceEqual(parsed.Wire), text); // exact octets, case included
            Assert.Equal(name.GetHashCode(), parsed.ToLowerInvariant().GetHashCode());
        });

    [Property(MaxTest = 300)]
    public Property Name_case_insensitive_equality() =>
        Prop.ForAll(Generators.Name.ToArbitrary(), name =>
        {
            var upper = name.Wire.ToArray();
            for (var i = 0; i < upper.Length; i++)
            {
                if (upper[i] is >= (byte)'a' and <= (byte)'z')
                {
                    upper[i] -= 0x20;
                }
            }
            Assert.True(DnsName.TryFromWire(upper, out var shouted));
            Assert.Equal(name, shouted);
            Assert.Equal(name.GetHashCode(), shouted.GetHashCode());
            Assert.True(name.IsSubdomainOf(shouted.Parent()));
        });
}
