using System.Net;
using System.Net.Sockets;
using ClusterDns.Corefile;
using ClusterDns.Plugins.Kubernetes;
using ClusterDns.Protocol;
using ClusterDns.Server;

namespace ClusterDns.Plugins.K8sExternal;

/// <summary>
/// CoreDNS <c>k8s_external</c>: names <c>&lt;svc&gt;.&lt;ns&gt;.&lt;zone&gt;</c> answered with the Service's external
/// IPs and load-balancer ingress addresses (optionally headless services' endpoints), SRV for its ports, SOA/NS at the
/// apex with <c>ns1.&lt;apex&gt;.&lt;zone&gt;</c> glue, PTR for external IPs in reverse zones it serves. Reads the
/// cluster through the kubernetes plugin of the same block; queries outside its zones pay one zone match.
/// </summary>
public sealed partial class K8sExternalPlugin : DnsPlugin
{
    private const string Hostmaster = "hostmaster";

    private readonly K8sExternalOptions _options;
    private readonly ZoneSet _zones;
    private readonly DnsName[] _apexZones;

    public K8sExternalPlugin(K8sExternalOptions options)
    {
        _options = options;
        _zones = new ZoneSet(options.Zones);
        _apexZones = new DnsName[options.Zones.Count];
        for (var i = 0; i < _apexZones.Length; i++)
        {
            _apexZones[i] = DnsName.Parse(options.Apex + "." + options.Zones[i]);
        }
    }

    public override string Name => "k8s_external";

    public K8sExternalOptions Options => _options;

    /// <summary>The kubernetes plugin of this server block, linked once the configuration is built.</summary>
    public KubernetesPlugin? Kubernetes { get; internal set; }

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var lower = request.LowerNameWire;
        var zone = _zones.Match(lower);
        if (zone < 0 || Kubernetes is not { } kubernetes)
        {
            return NextAsync(request, cancellationToken);
        }

        var reply = request.CreateReply();
        var qname = request.QuestionName;
        var zoneName = _zones.Name(zone);
        for (var i = 0; i < _zones.Count; i++)
        {
            if (lower.SequenceEqual(_zones.Name(i).Wire))
            {
                ServeApex(kubernetes, request, reply, zoneName);
                return Written(request, reply);
            }
            if (DnsNameSpan.IsSubdomainOf(lower, _apexZones[i].Wire))
            {
                ServeSubApex(kubernetes, request, reply, zoneName);
                return Written(request, reply);
            }
        }

        var (services, rcode) = Lookup(kubernetes, request, zoneName);
        if (services.Count == 0)
        {
            if (rcode == DnsRcode.NXDomain && _options.Fallthrough.Through(lower))
            {
                return NextAsync(request, cancellationToken);
            }
            reply.Rcode = rcode;
            reply.Authorities.Add(Soa(kubernetes, zoneName));
            return Written(request, reply);
        }

        switch (request.Type)
        {
            case DnsType.A:
            case DnsType.AAAA:
                Addresses(services, qname, request.Type, reply.Answers);
                break;
            case DnsType.SRV:
                Srv(services, qname, reply.Answers, reply.Additionals);
                break;
            case DnsType.PTR:
                Ptr(services, qname, reply.Answers);
                break;
        }
        if (reply.Answers.Count == 0)
        {
            reply.Authorities.Add(Soa(kubernetes, zoneName));
        }
        return Written(request, reply);
    }

    private ValueTask<DnsResult> Written(DnsRequest request, DnsMessage reply)
    {
        request.Response.Write(reply, Name);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }

    private void ServeApex(KubernetesPlugin kubernetes, DnsRequest request, DnsMessage reply, DnsName zone)
    {
        switch (request.Type)
        {
            case DnsType.SOA:
                reply.Answers.Add(Soa(kubernetes, zone));
                break;
            case DnsType.NS:
                reply.Answers.Add(new NsRecord(Ns1(zone)) { Name = zone, Ttl = _options.Ttl });
                var glue = Ns1(request.QuestionName);
                foreach (var address in NameServerAddresses(kubernetes))
                {
                    reply.Additionals.Add(Address(glue, address));
                }
                break;
            default:
                reply.Authorities.Add(Soa(kubernetes, zone));
                break;
        }
    }

    /// <summary>The <c>APEX</c> subdomain: <c>ns1.APEX</c> has the name-server addresses, <c>APEX</c> itself is empty,
    /// anything else there does not exist.</summary>
    private void ServeSubApex(KubernetesPlugin kubernetes, DnsRequest request, DnsMessage reply, DnsName zone)
    {
        var qname = request.QuestionName;
        var labels = qname.LabelCount - zone.LabelCount;
        if (labels > 2 || (labels == 2 && !request.LowerNameWire.StartsWith("\u0003ns1"u8)))
        {
            reply.Rcode = DnsRcode.NXDomain;
            reply.Authorities.Add(Soa(kubernetes, zone));
            return;
        }
        if (labels == 2)
        {
            foreach (var address in NameServerAddresses(kubernetes))
            {
                var family = address.AddressFamily == AddressFamily.InterNetwork ? DnsType.A : DnsType.AAAA;
                if (family == request.Type)
                {
                    reply.Answers.Add(Address(qname, address));
                }
            }
        }
        if (reply.Answers.Count == 0)
        {
            reply.Authorities.Add(Soa(kubernetes, zone));
        }
    }

    private SoaRecord Soa(KubernetesPlugin kubernetes, DnsName zone) =>
        new(Ns1(zone), DnsName.Parse(Hostmaster + "." + _options.Apex + "." + zone), (uint)kubernetes.State.Serial, 7200, 1800, 86400, _options.Ttl)
        {
            Name = zone,
            Ttl = _options.Ttl,
        };

    private DnsName Ns1(DnsName zone) => DnsName.Parse("ns1." + _options.Apex + "." + zone);

    private DnsRecord Address(DnsName name, IPAddress address) => address.AddressFamily == AddressFamily.InterNetwork
        ? new ARecord(address) { Name = name, Ttl = _options.Ttl }
        : new AaaaRecord(address) { Name = name, Ttl = _options.Ttl };
}
