using System.Text;
using System.Text.Json;
using ClusterDns.Kubernetes;
using k8s;
using k8s.Models;

namespace ClusterDns.Tests.Kubernetes;

/// <summary>Our readers for the five kinds against the client library's own deserializer: the same objects must give
/// the same slim records, and watch lines, lists and Status objects read as the API writes them.</summary>
public sealed class ApiJsonTests
{
    private const string Service = """
        {"kind":"Service","apiVersion":"v1","metadata":{"name":"web","namespace":"shop","resourceVersion":"7","uid":"u1",
         "labels":{"app":"web"},"annotations":{"a":"b"},"creationTimestamp":"2024-01-02T03:04:05Z","managedFields":[{"manager":"x"}]},
         "spec":{"type":"LoadBalancer","clusterIP":"10.0.0.5","clusterIPs":["10.0.0.5","fd00::5"],"ipFamilies":["IPv4","IPv6"],
         "ports":[{"name":"http","protocol":"TCP","port":80,"targetPort":"http"},null,{"name":"dns","protocol":"UDP","port":53,"targetPort":5353}],
         "externalIPs":["192.0.2.1"],"sessionAffinity":"None","selector":{"app":"web"}},
         "status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.1","ports":[{"port":80,"protocol":"TCP"}]},{"hostname":"lb.example"}]}}}
        """;

    private const string ExternalName = """
        {"metadata":{"name":"ext","namespace":"shop"},"spec":{"type":"ExternalName","externalName":"db.example.com"}}
        """;

    private const string Slice = """
        {"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","addressType":"IPv4",
         "metadata":{"name":"web-abc","namespace":"shop","labels":{"kubernetes.io/service-name":"web","multicluster.kubernetes.io/service-name":"web",
           "multicluster.kubernetes.io/source-cluster":"c2"},
           "annotations":{"endpoints.kubernetes.io/last-change-trigger-time":"2024-05-06T07:08:09Z"}},
         "ports":[{"name":"http","protocol":"TCP","port":80,"appProtocol":"http"}],
         "endpoints":[{"addresses":["10.1.0.1"],"conditions":{"ready":true,"serving":true,"terminating":false},"hostname":"h0",
                       "nodeName":"n1","zone":"z1","targetRef":{"kind":"Pod","name":"web-0","namespace":"shop","uid":"p0"},"hints":{"forZones":[{"name":"z1"}]}},
                      {"addresses":["10.1.0.2","10.1.0.3"],"conditions":{"ready":false}},
                      {"addresses":["10.1.0.4"]}]}
        """;

    private const string Pod = """
        {"metadata":{"name":"web-0","namespace":"shop","deletionTimestamp":"2024-01-02T03:04:05.123456Z"},
         "spec":{"containers":[{"name":"c","image":"i","ports":[{"containerPort":80}]}]},
         "status":{"phase":"Running","podIP":"10.1.0.1","podIPs":[{"ip":"10.1.0.1"}],"conditions":[{"type":"Ready","status":"True"}]}}
        """;

    private const string Namespace = """{"kind":"Namespace","metadata":{"name":"shop","labels":{"team":"a"}},"status":{"phase":"Active"}}""";

    private const string Import = """
        {"apiVersion":"multicluster.x-k8s.io/v1alpha1","kind":"ServiceImport","metadata":{"name":"x","namespace":"y"},
         "spec":{"type":"ClusterSetIP","ips":["10.1.1.1"],"ports":[{"name":"dns","port":53,"protocol":"UDP"}]}}
        """;

    [Fact]
    public void Objects_give_the_same_records_as_the_client_library()
    {
        foreach (var json in new[] { Service, ExternalName })
        {
            Assert.Equal(ModelConverter.ToService(KubernetesJson.Deserialize<V1Service>(json)),
                ModelConverter.ToService(ApiJson.Parse(Encoding.UTF8.GetBytes(json), ApiJson.Service)));
        }
        var slice = ApiJson.Parse(Encoding.UTF8.GetBytes(Slice), ApiJson.EndpointSlice);
        var theirs = KubernetesJson.Deserialize<V1EndpointSlice>(Slice);
        Assert.Equal(Text(ModelConverter.ToSlice(theirs)), Text(ModelConverter.ToSlice(slice)));
        Assert.Equal(Text(ModelConverter.ToMcsSlice(theirs)), Text(ModelConverter.ToMcsSlice(slice)));
        Assert.Equal(ModelConverter.ToPod(KubernetesJson.Deserialize<V1Pod>(Pod)), ModelConverter.ToPod(ApiJson.Parse(Encoding.UTF8.GetBytes(Pod), ApiJson.Pod)));
        Assert.NotNull(ApiJson.Parse(Encoding.UTF8.GetBytes(Pod), ApiJson.Pod).Metadata.DeletionTimestamp);
        Assert.Equal("shop", ModelConverter.ToNamespace(ApiJson.Parse(Encoding.UTF8.GetBytes(Namespace), ApiJson.Namespace)));
        var import = ModelConverter.ToServiceImport(ApiJson.Parse(Encoding.UTF8.GetBytes(Import), ApiJson.ServiceImport));
        Assert.NotNull(import);
        Assert.Equal("10.1.1.1", Assert.Single(import.Ips));
        Assert.Equal(53, Assert.Single(import.Ports).Port);
    }

    // The records hold immutable arrays (reference equality): compare their printed form.
    private static string Text(object? record) => record is null ? "null" : JsonSerializer.Serialize(record, record.GetType());

    public static TheoryData<string, string, WatchEventType, string?> WatchLines => new()
    {
        { "added", """{"type":"ADDED","object":{"kind":"Service","apiVersion":"v1","metadata":{"name":"a","namespace":"ns"},"spec":{"clusterIP":"10.0.0.1"}}}""", WatchEventType.Added, "a" },
        { "object before type", """{"object":{"metadata":{"name":"b"}},"type":"MODIFIED"}""", WatchEventType.Modified, "b" },
        { "unknown fields", """{"type":"DELETED","extra":[1,{"x":2}],"object":{"metadata":{"name":"c","creationTimestamp":"2024-01-02T03:04:05Z"}}}""", WatchEventType.Deleted, "c" },
        { "bookmark", """{"type":"BOOKMARK","object":{"kind":"Service","metadata":{"resourceVersion":"42"}}}""", WatchEventType.Bookmark, null },
    };

    [Theory]
    [MemberData(nameof(WatchLines))]
    public void Watch_lines(string name, string line, WatchEventType type, string? objectName)
    {
        var ev = ApiJson.ReadWatchLine(Encoding.UTF8.GetBytes(line), ApiJson.Service);
        Assert.True(type == ev.Type, name);
        Assert.Equal(objectName, ev.Object!.Metadata.Name);
        Assert.Null(ev.Status);
    }

    [Fact]
    public void Error_events_carry_their_status_and_bad_lines_throw()
    {
        var ev = ApiJson.ReadWatchLine(Encoding.UTF8.GetBytes(
            """{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","code":410,"reason":"Expired","message":"too old"}}"""),
            ApiJson.Service);
        Assert.Equal(WatchEventType.Error, ev.Type);
        Assert.Equal(new ApiStatus(410, "Expired", "too old"), ev.Status);
        Assert.Null(ev.Object);

        Assert.Throws<JsonException>(() => ApiJson.ReadWatchLine("""{"type":"EXPLODED","object":{}}"""u8, ApiJson.Service));
        Assert.Throws<JsonException>(() => ApiJson.ReadWatchLine("""{"object":{}}"""u8, ApiJson.Service));
        // A field we read with the wrong JSON type is an error, as with the library's serializer.
        Assert.Throws<JsonException>(() => ApiJson.Parse("""{"metadata":{"name":"a"},"spec":{"ports":[{"port":"80"}]}}"""u8, ApiJson.Service));
        Assert.Throws<JsonException>(() => ApiJson.Parse("""{"metadata":{"name":7}}"""u8, ApiJson.Namespace));
    }

    [Fact]
    public void Lists_read_items_resource_version_and_continue()
    {
        var page = ApiJson.ReadList(Encoding.UTF8.GetBytes(
            "{\"kind\":\"ServiceList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"99\",\"continue\":\"tok\",\"remainingItemCount\":3},"
            + "\"items\":[" + Service + "," + ExternalName + ",null]}"), ApiJson.Service);
        Assert.Equal("99", page.ResourceVersion);
        Assert.Equal("tok", page.Continue);
        Assert.Equal(["web", "ext"], page.Items!.Select(s => s.Metadata.Name));

        var empty = ApiJson.ReadList("""{"metadata":{"resourceVersion":"5"},"items":null}"""u8, ApiJson.Pod);
        Assert.Equal("5", empty.ResourceVersion);
        Assert.Null(empty.Continue);
        Assert.Empty(empty.Items!);
    }

    [Fact]
    public void Status_answers_are_read_and_other_text_is_not_one()
    {
        Assert.Equal(new ApiStatus(403, "Forbidden", "no"),
            ApiJson.TryReadStatus("""{"kind":"Status","status":"Failure","message":"no","reason":"Forbidden","code":403}"""u8));
        Assert.Null(ApiJson.TryReadStatus("<html>"u8));
        Assert.Null(ApiJson.TryReadStatus(""u8));
    }
}
