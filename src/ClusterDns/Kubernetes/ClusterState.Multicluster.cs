using System.Collections.Immutable;

namespace ClusterDns.Kubernetes;

/// <summary>The MCS part of the snapshot: ServiceImports and multicluster EndpointSlices (watched only with a
/// <c>multicluster</c> zone).</summary>
public sealed partial class ClusterState
{
    public IEnumerable<ServiceImportInfo> ServiceImports => _multicluster.Imports.Values;

    public IEnumerable<McsSliceInfo> McsSlices => _multicluster.Slices.Values;

    public int ServiceImportCount => _multicluster.Imports.Count;

    public ServiceImportInfo? GetServiceImport(string ns, string name) =>
        _multicluster.Imports.TryGetValue((ns, name), out var found) ? found : null;

    public McsSliceInfo? GetMcsSlice(string ns, string name) =>
        _multicluster.Slices.TryGetValue((ns, name), out var found) ? found : null;

    /// <summary>Multicluster slices of the ServiceImport <paramref name="ns"/>/<paramref name="service"/>, in arrival order.</summary>
    public ImmutableArray<McsSliceInfo> GetMcsSlices(string ns, string service) =>
        _multicluster.SlicesByImport.TryGetValue((ns, service), out var found) ? found : [];

    public ClusterState WithServiceImport(ServiceImportInfo import) =>
        With(multicluster: _multicluster with { Imports = _multicluster.Imports.SetItem((import.Namespace, import.Name), import) });

    public ClusterState WithoutServiceImport(string ns, string name) =>
        _multicluster.Imports.ContainsKey((ns, name))
            ? With(multicluster: _multicluster with { Imports = _multicluster.Imports.Remove((ns, name)) })
            : this;

    public ClusterState WithMcsSlice(McsSliceInfo slice)
    {
        var state = WithoutMcsSlice(slice.Slice.Namespace, slice.Slice.Name);
        var m = state._multicluster;
        var key = (slice.Slice.Namespace, slice.Slice.ServiceName);
        var list = m.SlicesByImport.TryGetValue(key, out var found) ? found.Add(slice) : [slice];
        return state.With(multicluster: new MulticlusterData(m.Imports, m.Slices.SetItem((slice.Slice.Namespace, slice.Slice.Name), slice),
            m.SlicesByImport.SetItem(key, list)));
    }

    public ClusterState WithoutMcsSlice(string ns, string name)
    {
        if (GetMcsSlice(ns, name) is not { } old)
        {
            return this;
        }
        var m = _multicluster;
        var key = (ns, old.Slice.ServiceName);
        var list = m.SlicesByImport[key].Remove(old, ReferenceEqualityComparer.Instance);
        return With(multicluster: new MulticlusterData(m.Imports, m.Slices.Remove((ns, name)),
            list.IsEmpty ? m.SlicesByImport.Remove(key) : m.SlicesByImport.SetItem(key, list)));
    }

    /// <summary>ServiceImports and multicluster slices (MCS): few objects, plain immutable maps.</summary>
    private sealed record MulticlusterData(
        ImmutableDictionary<(string Ns, string Name), ServiceImportInfo> Imports,
        ImmutableDictionary<(string Ns, string Name), McsSliceInfo> Slices,
        ImmutableDictionary<(string Ns, string Service), ImmutableArray<McsSliceInfo>> SlicesByImport)
    {
        public static readonly MulticlusterData Empty = new(
            ImmutableDictionary<(string, string), ServiceImportInfo>.Empty,
            ImmutableDictionary<(string, string), McsSliceInfo>.Empty,
            ImmutableDictionary<(string, string), ImmutableArray<McsSliceInfo>>.Empty);
    }
}
