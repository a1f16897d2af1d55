using System.Globalization;
using System.Text;
using System.Runtime.InteropServices;
using System.Text.Json;
using YamlDotNet.RepresentationModel;

namespace ClusterDns.Kubernetes;

/// <summary>
/// Reads cluster objects the way <c>kubectl get svc,endpointslices,pods,namespaces -A -o yaml|json</c> prints them:
/// a <c>List</c>, typed lists (<c>ServiceList</c>…), single objects, multi-document YAML, or a directory of such files.
/// </summary>
public static class SnapshotLoader
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    /// <summary>Files making up a snapshot path: the file itself, or a directory's *.yaml/*.yml/*.json in name order.</summary>
    public static IReadOnlyList<string> Files(string path)
    {
        if (!Directory.Exists(path)) return [path];
        var files = new List<string>();
        foreach (var f in Directory.EnumerateFiles(path))
            if (Array.IndexOf(Extensions, Path.GetExtension(f).ToLowerInvariant()) >= 0) files.Add(f);
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>Loads a file or directory; throws on any unreadable file so callers can keep their old state.</summary>
    public static ClusterState Load(string path, Action<string, string>? skipped = null)
    {
        var acc = new Accumulator();
        foreach (var file in Files(path))
            Parse(File.ReadAllBytes(file), acc, kind => skipped?.Invoke(file, kind));
        return acc.ToState();
    }

    /// <summary>Parses one document text (YAML or JSON).</summary>
    public static ClusterState Parse(string text)
    {
        var acc = new Accumulator();
        Parse(Encoding.UTF8.GetBytes(text), acc, null);
        return acc.ToState();
    }

    private static void Parse(byte[] utf8, Accumulator acc, Action<string>? skipped)
    {
        var bytes = utf8.AsSpan();
        if (bytes.StartsWith(Encoding.UTF8.Preamble)) bytes = bytes[Encoding.UTF8.Preamble.Length..];
        var trimmed = bytes.TrimStart(" \t\r\n"u8);
        if (trimmed.Length > 0 && (trimmed[0] == (byte)'{' || trimmed[0] == (byte)'['))
        {
            ParseJson(trimmed, acc, skipped);
            return;
        }

        // YAML: convert each document to JSON so one reader (ApiJson) handles both formats.
        var text = Encoding.UTF8.GetString(bytes);
        CheckNesting(text);
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        foreach (var yamlDoc in stream.Documents)
        {
            if (yamlDoc.RootNode is YamlScalarNode { Value: null or "" }) continue;   // empty document
            ParseJson(YamlToJson(yamlDoc.RootNode), acc, skipped);
        }
    }

    /// <summary>Streams a JSON text item by item: a whole-file <see cref="JsonDocument"/> of a 50,000-service
    /// snapshot rents tens of MB from the shared array pool, which stay committed (RSS) long after the load.</summary>
    private static void ParseJson(ReadOnlySpan<byte> utf8, Accumulator acc, Action<string>? skipped)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read()) return;
        ReadValue(ref reader, null, acc, skipped);
        // `kubectl … -o json >> file` twice gives two documents: the reader throws on the second rather than the
        // first being loaded alone.
        reader.Read();
    }

    private static void ReadValue(ref Utf8JsonReader reader, string? impliedKind, Accumulator acc, Action<string>? skipped)
    {
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray) ReadValue(ref reader, impliedKind, acc, skipped);
            return;
        }

        if (reader.TokenType == JsonTokenType.StartObject && ListKind(reader) is { } listKind)
        {
            // API lists omit each item's kind; kubectl's `List` keeps it.
            var itemKind = listKind == "List" ? null : listKind[..^4];
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isItems = reader.ValueTextEquals("items"u8);
                reader.Read();
                if (isItems && reader.TokenType == JsonTokenType.StartArray) ReadValue(ref reader, itemKind, acc, skipped);
                else reader.Skip();
            }
            return;
        }

        using var doc = JsonDocument.ParseValue(ref reader);
        AddJson(doc.RootElement, impliedKind, acc, skipped);
    }

    /// <summary>The object's <c>kind</c> when it is a list (<c>…List</c>), read ahead on a copy of the reader.</summary>
    private static string? ListKind(Utf8JsonReader probe)
    {
        while (probe.Read() && probe.TokenType == JsonTokenType.PropertyName)
        {
            var isKind = probe.ValueTextEquals("kind"u8);
            probe.Read();
            if (isKind)
            {
                return probe.TokenType == JsonTokenType.String && probe.GetString() is { } kind && kind.EndsWith("List", StringComparison.Ordinal)
                    ? kind
                    : null;
            }
            probe.Skip();
        }
        return null;
    }

    private static void AddJson(JsonElement e, string? impliedKind, Accumulator acc, Action<string>? skipped)
    {
        if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in e.EnumerateArray()) AddJson(item, impliedKind, acc, skipped);
            return;
        }

        if (e.ValueKind != JsonValueKind.Object) return;
        var kind = e.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : impliedKind;
        if (kind is null) return;
        if (kind.EndsWith("List", StringComparison.Ordinal))
        {
            // API lists omit each item's kind; kubectl's `List` keeps it.
            if (e.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array)
                AddJson(items, kind == "List" ? null : kind[..^4], acc, skipped);
            return;
        }

        var raw = JsonMarshal.GetRawUtf8Value(e);
        switch (kind)
        {
            case "Namespace":
                if (ModelConverter.ToNamespace(ApiJson.Parse(raw, ApiJson.Namespace)) is { } ns) acc.Namespaces.Add(ns);
                break;
            case "Service":
                if (ModelConverter.ToService(ApiJson.Parse(raw, ApiJson.Service)) is { } svc) acc.Services.Add(svc);
                break;
            case "EndpointSlice":
            {
                var model = ApiJson.Parse(raw, ApiJson.EndpointSlice);
                if (ModelConverter.ToSlice(model) is { } slice) acc.Slices.Add(slice);
                if (ModelConverter.ToMcsSlice(model) is { } mcs) acc.McsSlices.Add(mcs);
                break;
            }
            case "ServiceImport":
                if (ModelConverter.ToServiceImport(ApiJson.Parse(raw, ApiJson.ServiceImport)) is { } import) acc.Imports.Add(import);
                break;
            case "Pod":
                var pod = ApiJson.Parse(raw, ApiJson.Pod);
                // Mirror the server-side field selector of a live pod watch (docs/kubernetes-dns.md §8.2).
                if (pod.Status?.Phase is "Succeeded" or "Failed" or "Unknown") break;
                if (ModelConverter.ToPod(pod) is { } p) acc.Pods.Add(p);
                break;
            default:
                skipped?.Invoke(kind);
                break;
        }
    }

    /// <summary>
    /// Refuses YAML nested deeper than <see cref="MaxDepth"/> before <see cref="YamlStream"/> builds its node tree:
    /// that build recurses once per level, so a few thousand levels (`- - - … a`, 10 KB) overflow the thread's stack,
    /// which no handler can catch. The event parser used here keeps its own stack and does not recurse.
    /// </summary>
    private static void CheckNesting(string text)
    {
        var parser = new YamlDotNet.Core.Parser(new StringReader(text));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart:
                    if (++depth > MaxDepth)
                    {
                        throw new FormatException($"YAML nested deeper than {MaxDepth} levels at {parser.Current.Start}");
                    }
                    break;
                case YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd:
                    depth--;
                    break;
            }
        }
    }

    private static byte[] YamlToJson(YamlNode root)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
            Write(w, root);
        return ms.ToArray();
    }

    /// <summary>The JSON reader's default depth limit: deeper YAML would only be refused after conversion.</summary>
    private const int MaxDepth = 64;

    private static void Write(Utf8JsonWriter w, YamlNode node, int depth = 0)
    {
        if (depth > MaxDepth) throw new FormatException($"YAML nested deeper than {MaxDepth} levels at {node.Start}");
        switch (node)
        {
            case YamlMappingNode map:
                w.WriteStartObject();
                foreach (var (key, value) in map.Children)
                {
                    // A complex key (`? [a, b] : c`) is valid YAML but has no JSON form.
                    if (key is not YamlScalarNode scalarKey) throw new FormatException($"unsupported YAML mapping key at {key.Start}");
                    w.WritePropertyName(scalarKey.Value ?? "");
                    Write(w, value, depth + 1);
                }

                w.WriteEndObject();
                break;
            case YamlSequenceNode seq:
                w.WriteStartArray();
                foreach (var item in seq.Children) Write(w, item, depth + 1);
                w.WriteEndArray();
                break;
            case YamlScalarNode scalar:
                WriteScalar(w, scalar);
                break;
            default:
                throw new FormatException($"unsupported YAML node at {node.Start}");
        }
    }

    // YAML 1.2 core schema for plain scalars; quoted scalars are always strings (kubectl quotes "80", "true"…).
    private static void WriteScalar(Utf8JsonWriter w, YamlScalarNode s)
    {
        var v = s.Value ?? "";
        if (s.Style is YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any)
        {
            switch (v)
            {
                case "" or "~" or "null" or "Null" or "NULL":
                    w.WriteNullValue();
                    return;
                case "true" or "True" or "TRUE":
                    w.WriteBooleanValue(true);
                    return;
                case "false" or "False" or "FALSE":
                    w.WriteBooleanValue(false);
                    return;
            }

            if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
            {
                w.WriteNumberValue(l);
                return;
            }

            // A float beyond double's range stays a string, as Go's YAML resolver keeps it (a YAML writer need not quote
            // such a label value); JSON has no infinity.
            if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && char.IsAsciiDigit(v[^1])
                && double.IsFinite(d))
            {
                w.WriteNumberValue(d);
                return;
            }
        }

        w.WriteStringValue(v);
    }

    private sealed class Accumulator
    {
        public List<string> Namespaces { get; } = [];
        public List<ServiceInfo> Services { get; } = [];
        public List<EndpointSliceInfo> Slices { get; } = [];
        public List<PodInfo> Pods { get; } = [];
        public List<ServiceImportInfo> Imports { get; } = [];
        public List<McsSliceInfo> McsSlices { get; } = [];

        public ClusterState ToState()
        {
            // Namespaces referenced by objects but not listed exist implicitly (a snapshot often omits them).
            var names = new HashSet<string>(Namespaces, StringComparer.Ordinal);
            foreach (var s in Services) names.Add(s.Namespace);
            foreach (var s in Slices) names.Add(s.Namespace);
            foreach (var p in Pods) names.Add(p.Namespace);
            names.Remove("");
            return ClusterState.Build(names, Services, Slices, Pods, imports: Imports, mcsSlices: McsSlices);
        }
    }
}
