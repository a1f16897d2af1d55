using ClusterDns.Corefile;
using ClusterDns.Plugins.Shared;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.ZoneFiles;

/// <summary>One <c>file DBFILE [ZONES...]</c>: the file, the origins it is loaded for, how often it is re-read.</summary>
public sealed record FileSource(string Path, IReadOnlyList<string> Origins, TimeSpan Reload);

/// <summary>
/// CoreDNS <c>file</c>: answers authoritatively from zone files (<see cref="FileZone.Lookup"/>), resolves CNAME targets
/// outside the zone through the server, hands zones to <c>transfer</c>, and re-reads each file every reload interval,
/// swapping a zone in when its SOA serial changed. A zone is one volatile reference: queries never lock.
/// </summary>
public sealed partial class FilePlugin : DnsPlugin, IPluginLifecycle, Transfer.ITransferSource
{
    private readonly ZoneSet _zones;
    private readonly FileZone?[] _loaded;
    private readonly int[] _sourceOf;
    private readonly IReadOnlyList<FileSource> _sources;
    private readonly Fallthrough _fallthrough;
    private readonly InternalResolver _resolver;
    private readonly ILogger _logger;
    private CancellationTokenSource? _stop;
    private readonly List<Task> _reloaders = [];

    public FilePlugin(IReadOnlyList<FileSource> sources, IReadOnlyList<string> zones, FileZone?[] loaded, int[] sourceOf, Fallthrough fallthrough,
        InternalResolver resolver, ILogger logger)
    {
        _sources = sources;
        _zones = new ZoneSet(zones);
        _loaded = loaded;
        _sourceOf = sourceOf;
        _fallthrough = fallthrough;
        _resolver = resolver;
        _logger = logger;
    }

    public override string Name => "file";

    public IReadOnlyList<string> Zones => _zones.Zones;

    /// <summary>The zone currently served for origin <paramref name="index"/> (null while its file could not be read).</summary>
    public FileZone? Zone(int index) => Volatile.Read(ref _loaded[index]);

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var index = _zones.Match(request.LowerNameWire);
        if (index < 0)
        {
            return NextAsync(request, cancellationToken);
        }
        if (Zone(index) is not { } zone)
        {
            return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail));
        }
        if (request.Type is DnsType.AXFR or DnsType.IXFR)
        {
            // Transfers are the transfer plugin's; reaching here means it is not configured.
            return new ValueTask<DnsResult>(new DnsResult(DnsRcode.Refused));
        }
        var qname = DnsName.Parse(request.Name);
        var answer = zone.Lookup(qname, request.Type);
        if (answer.Result == FileResult.NameError && _fallthrough.Through(request.LowerNameWire))
        {
            return NextAsync(request, cancellationToken);
        }
        if (answer.ExternalTarget is { } target)
        {
            return ResolveExternalAsync(request, answer, target, cancellationToken);
        }
        return new ValueTask<DnsResult>(Write(request, answer));
    }

    private async ValueTask<DnsResult> ResolveExternalAsync(DnsRequest request, FileAnswer answer, DnsName target, CancellationToken cancellationToken)
    {
        var reply = await _resolver(target, request.Type, cancellationToken).ConfigureAwait(false);
        if (reply is not null)
        {
            answer.Answer.AddRange(reply.Answers);
        }
        return Write(request, answer);
    }

    private DnsResult Write(DnsRequest request, FileAnswer answer)
    {
        if (answer.Result == FileResult.ServerFailure)
        {
            return new DnsResult(DnsRcode.ServFail);
        }
        var reply = request.CreateReply(answer.Result == FileResult.NameError ? DnsRcode.NXDomain : DnsRcode.NoError,
            authoritative: answer.Result != FileResult.Delegation);
        reply.Answers.AddRange(answer.Answer);
        reply.Authorities.AddRange(answer.Authority);
        reply.Additionals.InsertRange(0, answer.Additional);
        request.Response.Write(reply, Name);
        return DnsResult.Success;
    }

    /// <summary>The zone's records for <c>transfer</c>: SOA, the rest in file order, SOA; the SOA alone when an IXFR's serial is current.</summary>
    public IReadOnlyList<DnsRecord>? Transfer(DnsName zone, uint? ixfrSerial)
    {
        var index = _zones.IndexOf(zone.ToLowerInvariant().ToString());
        if (index < 0 || Zone(index) is not { } loaded)
        {
            return null;
        }
        if (ixfrSerial is { } serial && serial >= loaded.Soa.Serial)
        {
            return [loaded.Soa];
        }
        var records = new List<DnsRecord>(loaded.All.Count + 1) { loaded.Soa };
        foreach (var record in loaded.All)
        {
            if (record is not SoaRecord)
            {
                records.Add(record);
            }
        }
        records.Add(loaded.Soa);
        return records;
    }

    Task IPluginLifecycle.StartAsync(CancellationToken cancellationToken)
    {
        _stop = new CancellationTokenSource();
        for (var i = 0; i < _sources.Count; i++)
        {
            if (_sources[i].Reload > TimeSpan.Zero)
            {
                _reloaders.Add(ReloadLoopAsync(i, _stop.Token));
            }
        }
        return Task.CompletedTask;
    }

    private async Task ReloadLoopAsync(int source, CancellationToken cancellationToken)
    {
        var interval = _sources[source].Reload;
        using var timer = new PeriodicTimer(interval < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Reload(source);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>CoreDNS's reload tick: re-read the file for each of its origins, keep the zone unless the SOA serial moved.</summary>
    internal void Reload(int source)
    {
        var path = _sources[source].Path;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            LogOpenFailed(_logger, path, exception.Message);
            return;
        }
        for (var i = 0; i < _loaded.Length; i++)
        {
            if (_sourceOf[i] != source)
            {
                continue;
            }
            var origin = _zones.Name(i);
            FileZone zone;
            try
            {
                zone = ZoneFile.Parse(text, origin, path);
            }
            catch (FormatException exception)
            {
                LogParseFailed(_logger, _zones[i], exception.Message);
                continue;
            }
            if (Zone(i) is { } current && current.Soa.Serial == zone.Soa.Serial)
            {
                continue;
            }
            Volatile.Write(ref _loaded[i], zone);
            LogReloaded(_logger, _zones[i], path, zone.Soa.Serial);
        }
    }

    async Task IPluginLifecycle.StopAsync()
    {
        if (_stop is null)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_reloaders).ConfigureAwait(false);
        _reloaders.Clear();
        _stop.Dispose();
        _stop = null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Successfully reloaded zone \"{Zone}\" in \"{File}\" with {Serial} SOA serial")]
    private static partial void LogReloaded(ILogger logger, string zone, string file, uint serial);

    [LoggerMessage(Level = LogLevel.Error, Message = "Failed to open zone file \"{File}\": {Reason}")]
    private static partial void LogOpenFailed(ILogger logger, string file, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Parsing zone \"{Zone}\": {Reason}")]
    private static partial void LogParseFailed(ILogger logger, string zone, string reason);
}
