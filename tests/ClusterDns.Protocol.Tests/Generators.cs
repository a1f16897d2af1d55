using System.Net;
using ClusterDns.Protocol;
using FsCheck;
using FsCheck.Fluent;

namespace ClusterDns.Protocol.Tests;

/// <summary>FsCheck generators for valid names and records of every modelled type.</summary>
public static class Generators
{
    private static readonly DnsType[] Modelled =
    [
        DnsType.A, DnsType.NS, DnsType.CNAME, DnsType.SOA, DnsType.PTR, DnsType.HINFO, DnsType.MX, DnsType.TXT,
        DnsType.AAAA, DnsType.SRV, DnsType.DNAME, DnsType.OPT,
    ];

    /// <summary>Label octets: mostly host-name characters in mixed case, sometimes any byte (printed escaped).</summary>
    public static Gen<byte> LabelByte =>
        Gen.Frequency(
            (6, Gen.Elements("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_".Select(c => (byte)c).ToArray())),
            (1, Gen.Elements((byte)'.', (byte)'\\', (byte)' ', (byte)'"', (byte)';', (byte)'(', (byte)')', (byte)'@', (byte)'$', (byte)'*')),
            (1, Gen.Choose(0, 255).Select(i => (byte)i)));

    public static Gen<byte[]> Label =>
        Gen.Frequency((8, Gen.Choose(1, 12)), (1, Gen.Choose(13, 63)))
            .SelectMany(length => LabelByte.ArrayOf(length));

    public static Gen<DnsName> Name =>
        Gen.Frequency((1, Gen.Constant(0)), (10, Gen.Choose(1, 6)), (1, Gen.Choose(7, 40)))
            .SelectMany(count => Label.ArrayOf(count))
            .Select(BuildName);

    private static DnsName BuildName(byte[][] labels)
    {
        var wire = new List<byte>();
        foreach (var label in labels)
        {
            if (wire.Count + label.Length + 2 > DnsName.MaxWireLength)
            {
                break; // keep the name within 255 octets
            }
            wire.Add((byte)label.Length);
            wire.AddRange(label);
        }
        wire.Add(0);
        return DnsName.TryFromWire(wire.ToArray(), out var name) ? name : throw new InvalidOperationException("generator bug");
    }

    public static Gen<string> CharacterString =>
        Gen.Frequency((4, Gen.Choose(0, 20)), (1, Gen.Choose(21, 255)))
            .SelectMany(length => Gen.Frequency(
                    (6, Gen.Choose(0x20, 0x7E)),
                    (1, Gen.Choose(0, 255)))
                .Select(i => (char)i).ArrayOf(length))
            .Select(chars => new string(chars));

    public static Gen<DnsClass> Class =>
        Gen.Frequency(
            (8, Gen.Constant(DnsClass.IN)),
            (1, Gen.Elements(DnsClass.CH, DnsClass.HS, DnsClass.NONE, DnsClass.ANY)),
            (1, Gen.Choose(0, 65535).Select(i => (DnsClass)i)));

    public static Gen<uint> UInt32 =>
        Gen.Frequency(
            (3, Gen.Choose(0, 86400).Select(i => (uint)i)),
            (1, Gen.Elements(0u, 1u, (uint)int.MaxValue, uint.MaxValue)),
            (2, Gen.Choose(0, 65535).SelectMany(hi => Gen.Choose(0, 65535).Select(lo => ((uint)hi << 16) | (uint)lo))));

    public static Gen<ushort> UInt16 => Gen.Choose(0, 65535).Select(i => (ushort)i);

    private static Gen<IPAddress> Address(int size) =>
        Gen.Choose(0, 255).Select(i => (byte)i).ArrayOf(size).Select(bytes => new IPAddress(bytes));

    public static Gen<byte[]> Opaque =>
        Gen.Frequency((4, Gen.Choose(0, 32)), (1, Gen.Choose(33, 600)))
            .SelectMany(length => Gen.Choose(0, 255).Select(i => (byte)i).ArrayOf(length));

    /// <summary>Record data of a type with a text form (everything but OPT), owner/TTL/class filled in later.</summary>
    public static Gen<DnsRecord> TextRecordData(DnsName owner) =>
        Gen.OneOf(
            Address(4).Select(a => (DnsRecord)new ARecord(a) { Name = owner }),
            Address(16).Select(a => (DnsRecord)new AaaaRecord(a) { Name = owner }),
            Name.Select(n => (DnsRecord)new CnameRecord(n) { Name = owner }),
            Name.Select(n => (DnsRecord)new NsRecord(n) { Name = owner }),
            Name.Select(n => (DnsRecord)new PtrRecord(n) { Name = owner }),
            Name.Select(n => (DnsRecord)new DnameRecord(n) { Name = owner }),
            from preference in UInt16
            from exchange in Name
            select (DnsRecord)new MxRecord(preference, exchange) { Name = owner },
            from priority in UInt16
            from weight in UInt16
            from port in UInt16
            from target in Name
            select (DnsRecord)new SrvRecord(priority, weight, port, target) { Name = owner },
            from mname in Name
            from rname in Name
            from serial in UInt32
            from refresh in UInt32
            from retry in UInt32
            from expire in UInt32
            from minimum in UInt32
            select (DnsRecord)new SoaRecord(mname, rname, serial, refresh, retry, expire, minimum) { Name = owner },
            Gen.Choose(1, 4).SelectMany(n => CharacterString.ArrayOf(n))
                .Select(strings => (DnsRecord)new TxtRecord(strings) { Name = owner }),
            from cpu in CharacterString
            from os in CharacterString
            select (DnsRecord)new HinfoRecord(cpu, os) { Name = owner },
            from type in UInt16.Where(t => Array.IndexOf(Modelled, (DnsType)t) < 0)
            from data in Opaque
            select (DnsRecord)new UnknownRecord((DnsType)type, data) { Name = owner });

    /// <summary>Any record with a presentation form.</summary>
    public static Gen<DnsRecord> TextRecord =>
        from owner in Name
        from ttl in UInt32
        from @class in Class
        from record in TextRecordData(owner)
        select record with { Ttl = ttl, Class = @class };

    public static Gen<OptRecord> Opt =>
        from size in UInt16
        from dnssecOk in Gen.Elements(true, false)
        from version in Gen.Choose(0, 255)
        from extended in Gen.Choose(0, 255)
        from options in (from code in UInt16 from data in Opaque select new EdnsOption(code, data)).ListOf()
        select OptRecord.Create(size, dnssecOk, (byte)version, (byte)extended, options.Take(4).ToList());

    /// <summary>A message with random sections, at most one OPT (last in the additional section).</summary>
    public static Gen<DnsMessage> Message =>
        from id in UInt16
        from flags in UInt16
        from question in Name
        from qtype in UInt16
        from answers in TextRecord.ListOf()
        from authorities in TextRecord.ListOf()
        from additionals in TextRecord.ListOf()
        from withOpt in Gen.Elements(true, false)
        from opt in Opt
        select BuildMessage(id, flags, question, (DnsType)qtype, answers, authorities, additionals, withOpt ? opt : null);

    private static DnsMessage BuildMessage(ushort id, ushort flags, DnsName question, DnsType qtype,
        IEnumerable<DnsRecord> answers, IEnumerable<DnsRecord> authorities, IEnumerable<DnsRecord> additionals, OptRecord? opt)
    {
        var message = new DnsMessage { Header = new DnsHeader { Id = id, Flags = flags } };
        message.Questions.Add(new DnsQuestion(question, qtype));
        message.Answers.AddRange(answers.Take(8));
        message.Authorities.AddRange(authorities.Take(4));
        message.Additionals.AddRange(additionals.Take(4));
        if (opt is not null)
        {
            message.Additionals.Add(opt);
        }
        return message;
    }
}
