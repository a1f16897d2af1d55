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
internal static partial class ApiJson
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

    /// <summary>Reads one property of an object the reader is in (on its name); skips what it does not read.</summary>
    private delegate void PropertyReader<T>(ref Utf8JsonReader r, T item);

    /// <summary>An array of objects, each property handed to <paramref name="property"/>; a null item stays null (ModelConverter
    /// skips it), a null array is null.</summary>
    private static List<T>? ObjectList<T>(ref Utf8JsonReader r, string what, string item, PropertyReader<T> property) where T : new()
    {
        r.Read();
        if (!BeginArray(ref r, what))
        {
            return null;
        }
        var list = new List<T>();
        while (r.Read() && r.TokenType != JsonTokenType.EndArray)
        {
            if (!Begin(ref r, item))
            {
                list.Add(default!);
                continue;
            }
            var value = new T();
            while (Next(ref r))
            {
                property(ref r, value);
            }
            list.Add(value);
        }
        return list;
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
