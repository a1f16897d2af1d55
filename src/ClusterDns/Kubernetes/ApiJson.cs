using System.Globalization;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace ClusterDns.Kubernetes;

/// <summary>Reads one API object at the reader's current token (its StartObject) and leaves the reader on its EndObject.</summary>
internal delegate T ModelReader<T>(ref Utf8JsonReader reader);

/// <summary>One decoded watch line: the event type and its object; <see cref="Status"/> is set for an ERROR event.</summary>
internal readonly record struct WatchLine<T>(WatchEventType Type, T? Object, ApiStatus? Status);

/// <summary>A <c>Status</c> object of the API (an error answer, or the object of an ERROR watch event).</summary>
internal sealed record ApiStatus(int Code, string? Reason, string? Message);

/// <summary>
/// JSON for the five kinds the kubernetes plugin reads (Namespace, Service, EndpointSlice, Pod, ServiceImport), their
/// lists and watch events, with <see cref="Utf8JsonReader"/> and no reflection: only the fields
/// <see cref="ModelConverter"/> uses are read, everything else is skipped. The client library's source-generated
/// serializer covers its ~1,000 API types, all of which the native AOT build would otherwise compile in
/// (docs/performance/footprint.md). A field that is read but has the wrong JSON type is a <see cref="JsonException"/>,
/// as it was with that serializer.
/// </summary>
internal static class ApiJson
{
    public static readonly ModelReader<V1Namespace> Namespace = ReadNamespace;
    public static readonly ModelReader<V1Service> Service = ReadService;
    public static readonly ModelReader<V1EndpointSlice> EndpointSlice = ReadEndpointSlice;
    public static readonly ModelReader<V1Pod> Pod = ReadPod;
    public static readonly ModelReader<V1Alpha1ServiceImport> ServiceImport = ReadServiceImport;

    /// <summary>Reads one object from a complete JSON text.</summary>
    public static T Parse<T>(ReadOnlySpan<byte> utf8, ModelReader<T> read)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read())
        {
            throw new JsonException("empty JSON text");
        }
        return read(ref reader);
    }

    /// <summary>A LIST answer: <c>{"metadata":{"resourceVersion","continue"},"items":[…]}</c>.</summary>
    public static ListPage<T> ReadList<T>(ReadOnlySpan<byte> utf8, ModelReader<T> read)
    {
        var r = new Utf8JsonReader(utf8);
        r.Read();
        Expect(ref r, JsonTokenType.StartObject, "a list");
        var items = new List<T>();
        string? rv = null, cont = null;
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8))
            {
                r.Read();
                if (!Begin(ref r, "list metadata"))
                {
                    continue;
                }
                while (Next(ref r))
                {
                    if (r.ValueTextEquals("resourceVersion"u8)) rv = String(ref r);
                    else if (r.ValueTextEquals("continue"u8)) cont = String(ref r);
                    else Skip(ref r);
                }
            }
            else if (r.ValueTextEquals("items"u8))
            {
                r.Read();
                if (r.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                Expect(ref r, JsonTokenType.StartArray, "the list's items");
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                {
                    if (r.TokenType != JsonTokenType.Null)
                    {
                        items.Add(read(ref r));
                    }
                }
            }
            else
            {
                Skip(ref r);
            }
        }
        return new ListPage<T>(items, rv, cont);
    }

    /// <summary>One line of a watch stream: <c>{"type":"ADDED","object":{…}}</c>.</summary>
    public static WatchLine<T> ReadWatchLine<T>(ReadOnlySpan<byte> utf8, ModelReader<T> read) where T : class
    {
        var r = new Utf8JsonReader(utf8);
        r.Read();
        Expect(ref r, JsonTokenType.StartObject, "a watch event");
        WatchEventType? type = null;
        T? obj = null;
        ApiStatus? status = null;
        // "object" may come before "type": keep where it starts and read it once the type is known.
        var objectStart = -1L;
        while (Next(ref r))
        {
            if (r.ValueTextEquals("type"u8))
            {
                type = EventType(String(ref r));
            }
            else if (r.ValueTextEquals("object"u8))
            {
                r.Read();
                objectStart = r.TokenStartIndex;
                r.Skip();
            }
            else
            {
                Skip(ref r);
            }
        }
        if (type is null)
        {
            throw new JsonException("a watch event without a type");
        }
        if (objectStart >= 0)
        {
            var o = new Utf8JsonReader(utf8[(int)objectStart..]);
            o.Read();
            if (type == WatchEventType.Error)
            {
                status = ReadStatus(ref o);
            }
            else if (o.TokenType != JsonTokenType.Null)
            {
                obj = read(ref o);
            }
        }
        return new WatchLine<T>(type.Value, obj, status);
    }

    /// <summary>A <c>Status</c> object (code, reason, message); null when the text is not one.</summary>
    public static ApiStatus? TryReadStatus(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var r = new Utf8JsonReader(utf8);
            return r.Read() && r.TokenType == JsonTokenType.StartObject ? ReadStatus(ref r) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ApiStatus ReadStatus(ref Utf8JsonReader r)
    {
        int code = 0;
        string? reason = null, message = null;
        if (Begin(ref r, "a Status"))
        {
            while (Next(ref r))
            {
                if (r.ValueTextEquals("code"u8)) code = Int(ref r) ?? 0;
                else if (r.ValueTextEquals("reason"u8)) reason = String(ref r);
                else if (r.ValueTextEquals("message"u8)) message = String(ref r);
                else Skip(ref r);
            }
        }
        return new ApiStatus(code, reason, message);
    }

    private static WatchEventType EventType(string? type) => type switch
    {
        "ADDED" => WatchEventType.Added,
        "MODIFIED" => WatchEventType.Modified,
        "DELETED" => WatchEventType.Deleted,
        "BOOKMARK" => WatchEventType.Bookmark,
        "ERROR" => WatchEventType.Error,
        _ => throw new JsonException($"unknown watch event type '{type}'"),
    };

    private static V1Namespace ReadNamespace(ref Utf8JsonReader r)
    {
        var ns = new V1Namespace();
        if (!Begin(ref r, "a Namespace"))
        {
            return ns;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8)) ns.Metadata = Meta(ref r);
            else Skip(ref r);
        }
        return ns;
    }

    private static V1Service ReadService(ref Utf8JsonReader r)
    {
        var svc = new V1Service();
        if (!Begin(ref r, "a Service"))
        {
            return svc;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8)) svc.Metadata = Meta(ref r);
            else if (r.ValueTextEquals("spec"u8)) svc.Spec = ServiceSpec(ref r);
            else if (r.ValueTextEquals("status"u8)) svc.Status = ServiceStatus(ref r);
            else Skip(ref r);
        }
        return svc;
    }

    private static V1ServiceSpec? ServiceSpec(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "a Service spec"))
        {
            return null;
        }
        var spec = new V1ServiceSpec();
        while (Next(ref r))
        {
            if (r.ValueTextEquals("type"u8)) spec.Type = String(ref r);
            else if (r.ValueTextEquals("clusterIP"u8)) spec.ClusterIP = String(ref r);
            else if (r.ValueTextEquals("clusterIPs"u8)) spec.ClusterIPs = Strings(ref r);
            else if (r.ValueTextEquals("externalName"u8)) spec.ExternalName = String(ref r);
            else if (r.ValueTextEquals("externalIPs"u8)) spec.ExternalIPs = Strings(ref r);
            else if (r.ValueTextEquals("ports"u8)) spec.Ports = ServicePorts(ref r);
            else Skip(ref r);
        }
        return spec;
    }

    private static List<V1ServicePort>? ServicePorts(ref Utf8JsonReader r)
    {
        r.Read();
        if (!BeginArray(ref r, "ports"))
        {
            return null;
        }
        var ports = new List<V1ServicePort>();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (!Begin(ref r, "a port"))
            {
                ports.Add(null!);   // `ports: [null]`: ModelConverter skips it
                continue;
            }
            var p = new V1ServicePort();
            while (Next(ref r))
            {
                if (r.ValueTextEquals("name"u8)) p.Name = String(ref r);
                else if (r.ValueTextEquals("protocol"u8)) p.Protocol = String(ref r);
                else if (r.ValueTextEquals("port"u8)) p.Port = Int(ref r) ?? 0;
                else Skip(ref r);
            }
            ports.Add(p);
        }
        return ports;
    }

    private static V1ServiceStatus? ServiceStatus(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "a Service status"))
        {
            return null;
        }
        var status = new V1ServiceStatus();
        while (Next(ref r))
        {
            if (!r.ValueTextEquals("loadBalancer"u8))
            {
                Skip(ref r);
                continue;
            }
            r.Read();
            if (!Begin(ref r, "loadBalancer"))
            {
                continue;
            }
            status.LoadBalancer = new V1LoadBalancerStatus();
            while (Next(ref r))
            {
                if (!r.ValueTextEquals("ingress"u8))
                {
                    Skip(ref r);
                    continue;
                }
                r.Read();
                if (!BeginArray(ref r, "ingress"))
                {
                    continue;
                }
                var ingress = new List<V1LoadBalancerIngress>();
                while (r.Read() && r.TokenType != JsonTokenType.EndArray)
                {
                    if (!Begin(ref r, "an ingress point"))
                    {
                        ingress.Add(null!);
                        continue;
                    }
                    var lb = new V1LoadBalancerIngress();
                    while (Next(ref r))
                    {
                        if (r.ValueTextEquals("ip"u8)) lb.Ip = String(ref r);
                        else if (r.ValueTextEquals("hostname"u8)) lb.Hostname = String(ref r);
                        else Skip(ref r);
                    }
                    ingress.Add(lb);
                }
                status.LoadBalancer.Ingress = ingress;
            }
        }
        return status;
    }

    private static V1EndpointSlice ReadEndpointSlice(ref Utf8JsonReader r)
    {
        var slice = new V1EndpointSlice();
        if (!Begin(ref r, "an EndpointSlice"))
        {
            return slice;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8)) slice.Metadata = Meta(ref r);
            else if (r.ValueTextEquals("addressType"u8)) slice.AddressType = String(ref r);
            else if (r.ValueTextEquals("ports"u8)) slice.Ports = SlicePorts(ref r);
            else if (r.ValueTextEquals("endpoints"u8)) slice.Endpoints = Endpoints(ref r);
            else Skip(ref r);
        }
        return slice;
    }

    private static List<Discoveryv1EndpointPort>? SlicePorts(ref Utf8JsonReader r)
    {
        r.Read();
        if (!BeginArray(ref r, "ports"))
        {
            return null;
        }
        var ports = new List<Discoveryv1EndpointPort>();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (!Begin(ref r, "a port"))
            {
                ports.Add(null!);
                continue;
            }
            var p = new Discoveryv1EndpointPort();
            while (Next(ref r))
            {
                if (r.ValueTextEquals("name"u8)) p.Name = String(ref r);
                else if (r.ValueTextEquals("protocol"u8)) p.Protocol = String(ref r);
                else if (r.ValueTextEquals("port"u8)) p.Port = Int(ref r);
                else Skip(ref r);
            }
            ports.Add(p);
        }
        return ports;
    }

    private static List<V1Endpoint>? Endpoints(ref Utf8JsonReader r)
    {
        r.Read();
        if (!BeginArray(ref r, "endpoints"))
        {
            return null;
        }
        var endpoints = new List<V1Endpoint>();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (!Begin(ref r, "an endpoint"))
            {
                endpoints.Add(null!);
                continue;
            }
            var e = new V1Endpoint();
            while (Next(ref r))
            {
                if (r.ValueTextEquals("addresses"u8)) e.Addresses = Strings(ref r);
                else if (r.ValueTextEquals("hostname"u8)) e.Hostname = String(ref r);
                else if (r.ValueTextEquals("nodeName"u8)) e.NodeName = String(ref r);
                else if (r.ValueTextEquals("zone"u8)) e.Zone = String(ref r);
                else if (r.ValueTextEquals("targetRef"u8)) e.TargetRef = TargetRef(ref r);
                else if (r.ValueTextEquals("conditions"u8)) e.Conditions = Conditions(ref r);
                else Skip(ref r);
            }
            endpoints.Add(e);
        }
        return endpoints;
    }

    private static V1ObjectReference? TargetRef(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "targetRef"))
        {
            return null;
        }
        var target = new V1ObjectReference();
        while (Next(ref r))
        {
            if (r.ValueTextEquals("name"u8)) target.Name = String(ref r);
            else if (r.ValueTextEquals("namespace"u8)) target.NamespaceProperty = String(ref r);
            else if (r.ValueTextEquals("kind"u8)) target.Kind = String(ref r);
            else Skip(ref r);
        }
        return target;
    }

    private static V1EndpointConditions? Conditions(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "conditions"))
        {
            return null;
        }
        var conditions = new V1EndpointConditions();
        while (Next(ref r))
        {
            if (r.ValueTextEquals("ready"u8)) conditions.Ready = Bool(ref r);
            else if (r.ValueTextEquals("serving"u8)) conditions.Serving = Bool(ref r);
            else if (r.ValueTextEquals("terminating"u8)) conditions.Terminating = Bool(ref r);
            else Skip(ref r);
        }
        return conditions;
    }

    private static V1Pod ReadPod(ref Utf8JsonReader r)
    {
        var pod = new V1Pod();
        if (!Begin(ref r, "a Pod"))
        {
            return pod;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8))
            {
                pod.Metadata = Meta(ref r);
                continue;
            }
            if (!r.ValueTextEquals("status"u8))
            {
                Skip(ref r);
                continue;
            }
            r.Read();
            if (!Begin(ref r, "a Pod status"))
            {
                continue;
            }
            pod.Status = new V1PodStatus();
            while (Next(ref r))
            {
                if (r.ValueTextEquals("podIP"u8)) pod.Status.PodIP = String(ref r);
                else if (r.ValueTextEquals("phase"u8)) pod.Status.Phase = String(ref r);
                else Skip(ref r);
            }
        }
        return pod;
    }

    private static V1Alpha1ServiceImport ReadServiceImport(ref Utf8JsonReader r)
    {
        var import = new V1Alpha1ServiceImport();
        if (!Begin(ref r, "a ServiceImport"))
        {
            return import;
        }
        while (Next(ref r))
        {
            if (r.ValueTextEquals("metadata"u8))
            {
                import.Metadata = Meta(ref r) ?? new V1ObjectMeta();
                continue;
            }
            if (!r.ValueTextEquals("spec"u8))
            {
                Skip(ref r);
                continue;
            }
            r.Read();
            if (!Begin(ref r, "a ServiceImport spec"))
            {
                continue;
            }
            var spec = import.Spec = new V1Alpha1ServiceImportSpec();
            while (Next(ref r))
            {
                if (r.ValueTextEquals("type"u8)) spec.Type = String(ref r);
                else if (r.ValueTextEquals("ips"u8)) spec.Ips = Strings(ref r);
                else if (r.ValueTextEquals("ports"u8)) spec.Ports = ImportPorts(ref r);
                else Skip(ref r);
            }
        }
        return import;
    }

    private static List<V1Alpha1ServiceImportPort>? ImportPorts(ref Utf8JsonReader r)
    {
        r.Read();
        if (!BeginArray(ref r, "ports"))
        {
            return null;
        }
        var ports = new List<V1Alpha1ServiceImportPort>();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (!Begin(ref r, "a port"))
            {
                ports.Add(null!);
                continue;
            }
            var p = new V1Alpha1ServiceImportPort();
            while (Next(ref r))
            {
                if (r.ValueTextEquals("name"u8)) p.Name = String(ref r);
                else if (r.ValueTextEquals("protocol"u8)) p.Protocol = String(ref r);
                else if (r.ValueTextEquals("port"u8)) p.Port = Int(ref r) ?? 0;
                else Skip(ref r);
            }
            ports.Add(p);
        }
        return ports;
    }

    /// <summary>Object metadata: what DNS and the reflector read (name, namespace, resourceVersion, labels,
    /// annotations, deletionTimestamp).</summary>
    private static V1ObjectMeta? Meta(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "metadata"))
        {
            return null;
        }
        var meta = new V1ObjectMeta();
        while (Next(ref r))
        {
            if (r.ValueTextEquals("name"u8)) meta.Name = String(ref r);
            else if (r.ValueTextEquals("namespace"u8)) meta.NamespaceProperty = String(ref r);
            else if (r.ValueTextEquals("resourceVersion"u8)) meta.ResourceVersion = String(ref r);
            else if (r.ValueTextEquals("labels"u8)) meta.Labels = Map(ref r);
            else if (r.ValueTextEquals("annotations"u8)) meta.Annotations = Map(ref r);
            else if (r.ValueTextEquals("deletionTimestamp"u8)) meta.DeletionTimestamp = Time(ref r);
            else Skip(ref r);
        }
        return meta;
    }

    private static Dictionary<string, string>? Map(ref Utf8JsonReader r)
    {
        r.Read();
        if (!Begin(ref r, "a string map"))
        {
            return null;
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (Next(ref r))
        {
            var key = r.GetString()!;
            map[key] = String(ref r)!;
        }
        return map;
    }

    private static DateTime? Time(ref Utf8JsonReader r)
    {
        var text = String(ref r);
        if (text is null)
        {
            return null;
        }
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.UtcDateTime
            : throw new JsonException($"'{text}' is not an RFC 3339 time");
    }

    private static List<string>? Strings(ref Utf8JsonReader r)
    {
        r.Read();
        if (!BeginArray(ref r, "a string list"))
        {
            return null;
        }
        var list = new List<string>();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            list.Add(StringHere(ref r)!);
        }
        return list;
    }

    /// <summary>Moves to the next property name of the current object; false at its end.</summary>
    private static bool Next(ref Utf8JsonReader r) => r.Read() && r.TokenType == JsonTokenType.PropertyName;

    /// <summary>Skips the value of the property the reader is on.</summary>
    private static void Skip(ref Utf8JsonReader r)
    {
        r.Read();
        r.Skip();
    }

    /// <summary>At a value: true for an object, false for null, a <see cref="JsonException"/> otherwise.</summary>
    private static bool Begin(ref Utf8JsonReader r, string what)
    {
        if (r.TokenType == JsonTokenType.Null)
        {
            return false;
        }
        Expect(ref r, JsonTokenType.StartObject, what);
        return true;
    }

    private static bool BeginArray(ref Utf8JsonReader r, string what)
    {
        if (r.TokenType == JsonTokenType.Null)
        {
            return false;
        }
        Expect(ref r, JsonTokenType.StartArray, what);
        return true;
    }

    private static void Expect(ref Utf8JsonReader r, JsonTokenType type, string what)
    {
        if (r.TokenType != type)
        {
            throw new JsonException($"expected {what} ({type}) but found {r.TokenType} at byte {r.TokenStartIndex}");
        }
    }

    /// <summary>The value of the property the reader is on, as a string (null for JSON null).</summary>
    private static string? String(ref Utf8JsonReader r)
    {
        r.Read();
        return StringHere(ref r);
    }

    private static string? StringHere(ref Utf8JsonReader r) => r.TokenType switch
    {
        JsonTokenType.String => r.GetString(),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"expected a string but found {r.TokenType} at byte {r.TokenStartIndex}"),
    };

    private static int? Int(ref Utf8JsonReader r)
    {
        r.Read();
        if (r.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (r.TokenType != JsonTokenType.Number || !r.TryGetInt32(out var value))
        {
            throw new JsonException($"expected a 32-bit integer but found {r.TokenType} at byte {r.TokenStartIndex}");
        }
        return value;
    }

    private static bool? Bool(ref Utf8JsonReader r)
    {
        r.Read();
        return r.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            JsonTokenType.Null => null,
            _ => throw new JsonException($"expected true or false but found {r.TokenType} at byte {r.TokenStartIndex}"),
        };
    }
}
