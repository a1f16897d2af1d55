using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;

namespace ClusterDns.Kubernetes;

/// <summary>
/// Gives the client's JSON options (<see cref="KubernetesJson"/>) type information, without reflection, for the types
/// its source-generated context lacks: the watch events (<c>Watcher&lt;T&gt;.WatchEvent</c>, read once per line of a
/// watch) and our ServiceImport types. The client falls back to reflection for them, which the native AOT build does
/// not have; with this the JIT and the AOT build read watches the same way. <c>Program.Main</c> calls it first, before
/// anything can have used (and so frozen) the client's options. Not a module initializer: the coverage-guided fuzzer
/// loads this assembly instrumented, and instrumented code must not run before the fuzzer attaches its coverage map.
/// </summary>
internal static class KubernetesJsonSetup
{
    internal static void Initialize() => KubernetesJson.AddJsonOptions(Configure);

    private static void Configure(JsonSerializerOptions options)
    {
        if (options.IsReadOnly || options.TypeInfoResolverChain.Contains(WatchEventResolver.Instance))
        {
            return; // already used (possible only in-process, under the JIT, where the reflection fallback answers)
        }
        var chain = options.TypeInfoResolverChain;
        chain.Insert(0, WatchEventResolver.Instance);
        // Ahead of the client's reflection fallback (DefaultJsonTypeInfoResolver), after its own context.
        var at = chain.Count;
        for (var i = 0; i < chain.Count; i++)
        {
            if (chain[i] is DefaultJsonTypeInfoResolver)
            {
                at = i;
                break;
            }
        }
        chain.Insert(at, ClusterDnsJsonContext.Default);
    }
}

/// <summary>Source-generated metadata for the API types the client library does not have.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(V1Alpha1ServiceImport))]
[JsonSerializable(typeof(V1Alpha1ServiceImportList))]
internal sealed partial class ClusterDnsJsonContext : JsonSerializerContext;

/// <summary>The watch event envelope for every resource the kubernetes plugin watches.</summary>
internal sealed class WatchEventResolver : IJsonTypeInfoResolver
{
    public static readonly WatchEventResolver Instance = new();

    public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
    {
        if (!type.IsNested || type.DeclaringType is not { IsGenericType: true })
        {
            return null;
        }
        return type == typeof(Watcher<V1Service>.WatchEvent) ? Info<V1Service>(options)
            : type == typeof(Watcher<V1EndpointSlice>.WatchEvent) ? Info<V1EndpointSlice>(options)
            : type == typeof(Watcher<V1Pod>.WatchEvent) ? Info<V1Pod>(options)
            : type == typeof(Watcher<V1Namespace>.WatchEvent) ? Info<V1Namespace>(options)
            : type == typeof(Watcher<V1Status>.WatchEvent) ? Info<V1Status>(options)
            : type == typeof(Watcher<KubernetesObject>.WatchEvent) ? Info<KubernetesObject>(options)
            : type == typeof(Watcher<object>.WatchEvent) ? Info<object>(options)
            : type == typeof(Watcher<V1Alpha1ServiceImport>.WatchEvent) ? Info<V1Alpha1ServiceImport>(options)
            : null;
    }

    private static JsonTypeInfo<Watcher<T>.WatchEvent> Info<T>(JsonSerializerOptions options) =>
        JsonMetadataServices.CreateValueInfo<Watcher<T>.WatchEvent>(options, new WatchEventConverter<T>());
}

/// <summary>
/// One watch event, <c>{"type":"ADDED","object":{…}}</c>. The object goes through the options' own type information
/// (the client's source-generated context); <see cref="KubernetesObject"/> (which the client reads only to spot a
/// <c>Status</c>) reads just <c>apiVersion</c> and <c>kind</c>; <see cref="object"/> (custom objects) stays a
/// <see cref="JsonElement"/>.
/// </summary>
internal sealed class WatchEventConverter<T> : JsonConverter<Watcher<T>.WatchEvent>
{
    public override Watcher<T>.WatchEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a watch event is not a JSON object");
        }
        var result = new Watcher<T>.WatchEvent();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                result.Type = ParseType(reader.GetString());
            }
            else if (reader.ValueTextEquals("object"u8))
            {
                reader.Read();
                result.Object = ReadObject(ref reader, options);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return result;
    }

    private static T ReadObject(ref Utf8JsonReader reader, JsonSerializerOptions options)
    {
        if (typeof(T) == typeof(object))
        {
            return (T)(object)JsonElement.ParseValue(ref reader);
        }
        if (typeof(T) == typeof(KubernetesObject))
        {
            return (T)(object)ReadKind(ref reader);
        }
        return JsonSerializer.Deserialize(ref reader, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)))!;
    }

    private static KubernetesObject ReadKind(ref Utf8JsonReader reader)
    {
        var result = new KubernetesObject();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return result;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var kind = reader.ValueTextEquals("kind"u8);
            var apiVersion = !kind && reader.ValueTextEquals("apiVersion"u8);
            reader.Read();
            if (kind && reader.TokenType == JsonTokenType.String)
            {
                result.Kind = reader.GetString();
            }
            else if (apiVersion && reader.TokenType == JsonTokenType.String)
            {
                result.ApiVersion = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }
        return result;
    }

    private static WatchEventType ParseType(string? type) => type switch
    {
        "ADDED" => WatchEventType.Added,
        "MODIFIED" => WatchEventType.Modified,
        "DELETED" => WatchEventType.Deleted,
        "BOOKMARK" => WatchEventType.Bookmark,
        "ERROR" => WatchEventType.Error,
        _ => throw new JsonException($"unknown watch event type '{type}'"),
    };

    public override void Write(Utf8JsonWriter writer, Watcher<T>.WatchEvent value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, value.Type switch
        {
            WatchEventType.Added => "ADDED",
            WatchEventType.Modified => "MODIFIED",
            WatchEventType.Deleted => "DELETED",
            WatchEventType.Bookmark => "BOOKMARK",
            _ => "ERROR",
        });
        writer.WritePropertyName("object"u8);
        if (value.Object is null)
        {
            writer.WriteNullValue();
        }
        else if (value.Object is JsonElement element)
        {
            element.WriteTo(writer);
        }
        else
        {
            JsonSerializer.Serialize(writer, value.Object, options.GetTypeInfo(value.Object.GetType()));
        }
        writer.WriteEndObject();
    }
}
