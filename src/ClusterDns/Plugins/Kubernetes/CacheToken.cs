namespace ClusterDns.Plugins.Kubernetes;

/// <summary>
/// Validity mark for precompiled replies (<see cref="AnswerCache"/>): an index object that answers were computed from.
/// When a newer index replaces it, it is superseded before that index is published; a cached reply is served only
/// while every token it depends on is still current (one volatile read each), so nothing stale is ever served.
/// </summary>
internal abstract class CacheToken
{
    private volatile bool _superseded;

    public bool IsCurrent => !_superseded;

    public void Supersede() => _superseded = true;
}

/// <summary>Stands for everything not owned by one service or PTR entry: serial (in every SOA), namespaces, which
/// services/PTR addresses exist, pods and name servers. Replaced when any of those change.</summary>
internal sealed class IndexGeneration : CacheToken;

/// <summary>What one reply was computed from, collected while it is resolved: up to two service/PTR entries, plus the
/// index generation when <see cref="Global"/> (or whenever the reply is negative, since every SOA carries the serial).
/// Its cached copy is valid exactly while these are current.</summary>
internal struct CacheDependencies
{
    public CacheToken? First;
    public CacheToken? Second;
    public bool Global;
    /// <summary>More entries than a cached reply can track (long CNAME chains): do not cache.</summary>
    public bool Overflow;

    public void Add(CacheToken token)
    {
        if (First is null || ReferenceEquals(First, token))
        {
            First = token;
        }
        else if (Second is null || ReferenceEquals(Second, token))
        {
            Second = token;
        }
        else
        {
            Overflow = true;
        }
    }

    public void AddGeneration() => Global = true;
}
