using System.Buffers.Binary;
using ClusterDns.Corefile;
using ClusterDns.Protocol;
using ClusterDns.Server;
using Microsoft.Extensions.Logging;

namespace ClusterDns.Plugins.Hosts;

/// <summary>
/// CoreDNS <c>hosts</c>: A/AAAA from a hosts file plus inline entries, PTR synthesised from them, NODATA for
/// known names asked other types, and — as there is no SOA to build NXDOMAIN with — an unwritten SERVFAIL for
/// unknown names unless <c>fallthrough</c> covers them. The file is re-read when its mtime or size changes.
/// </summary>
public sealed partial class HostsPlugin : DnsPlugin, IPluginLifecycle
{
    private readonly ILogger _logger;
    private readonly ZoneSet _origins;
    private readonly HostsMap _inline;
    private volatile HostsSnapshot _snapshot;
    private DateTime _mtime;
    private long _size = -1;
    private CancellationTokenSource? _stop;
    private Task? _reloader;

    internal HostsPlugin(HostsOptions options, ILogger logger)
    {
        Options = options;
        _logger = logger;
        _origins = new ZoneSet(options.Origins);
        _inline = HostsMap.Parse(string.Join('\n', options.Inline), _origins, options.AutoReverse);
        _snapshot = HostsSnapshot.Build(new HostsMap(), _inline, options.Ttl);
        ReadHosts(); // serve file entries from the first query on, as CoreDNS's OnStartup read does
    }

    public override string Name => "hosts";

    internal HostsOptions Options { get; }

    /// <summary>Entries currently served (file + inline), what coredns_hosts_entries reports.</summary>
    public int Entries => _snapshot.Count;

    /// <summary>When the served file was last (re)loaded, for coredns_hosts_reload_timestamp_seconds.</summary>
    public DateTime LastReload { get; private set; }

    public override ValueTask<DnsResult> ServeAsync(DnsRequest request, CancellationToken cancellationToken)
    {
        var name = request.LowerNameWire;
        var type = request.Type;
        if (!_origins.Covers(name) && type != DnsType.PTR)
        {
            // Not our zone: always pass on, whatever fallthrough says. PTR is answered outside the zones too.
            return NextAsync(request, cancellationToken);
        }
        var snapshot = _snapshot;
        byte[][]? records = null;
        switch (type)
        {
            case DnsType.PTR:
                if (!snapshot.TryGetReverse(name, out records))
                {
                    return NextAsync(request, cancellationToken);
                }
                break;
            case DnsType.A:
                if (snapshot.TryGetName(name, out var forA))
                {
                    records = forA.A;
                }
                break;
            case DnsType.AAAA:
                if (snapshot.TryGetName(name, out var forAaaa))
                {
                    records = forAaaa.Aaaa;
                }
                break;
        }
        if ((records is null || records.Length == 0) && !snapshot.TryGetName(name, out _))
        {
            // NXDOMAIN territory: only then does fallthrough apply.
            if (Options.Fallthrough.Through(name))
            {
                return NextAsync(request, cancellationToken);
            }
            return new ValueTask<DnsResult>(new DnsResult(DnsRcode.ServFail));
        }
        WriteReply(request, records ?? []);
        return new ValueTask<DnsResult>(DnsResult.Success);
    }

    /// <summary>Header + the query's question + precomputed records (+ OPT when the query had one), straight into the reply buffer.</summary>
    private void WriteReply(DnsRequest request, byte[][] records)
    {
        var buffer = request.Response.GetBuffer(request.MaxResponseSize);
        ref readonly var info = ref request.Info;
        var limit = request.MaxResponseSize - EdnsEcho.Length(request.Query, info);
        var header = new DnsHeader { Id = info.Header.Id, QuestionCount = 1 };
        header.IsResponse = true;
        header.Authoritative = true;
        header.Opcode = info.Header.Opcode;
        header.RecursionDesired = info.Header.RecursionDesired;
        header.CheckingDisabled = info.Header.CheckingDisabled;
        var query = request.Query;
        query[DnsHeader.Size..info.QuestionEnd].CopyTo(buffer[DnsHeader.Size..]);
        var position = info.QuestionEnd;
        ushort answers = 0;
        foreach (var record in records)
        {
            if (position + record.Length > limit)
            {
                header.Truncated = true;
                break;
            }
            record.CopyTo(buffer[position..]);
            position += record.Length;
            answers++;
        }
        header.AnswerCount = answers;
        if (request.HasEdns)
        {
            position += EdnsEcho.Write(buffer[position..], request.Query, info);
            header.AdditionalCount = 1;
        }
        header.Write(buffer);
        request.Response.Commit(position, Name);
    }

    /// <summary>Re-reads the file when its mtime or size changed; a missing or unreadable file keeps what is served.</summary>
    internal void ReadHosts()
    {
        string text;
        DateTime mtime;
        long size;
        try
        {
            var info = new FileInfo(Options.Path);
            if (!info.Exists)
            {
                return;
            }
            mtime = info.LastWriteTimeUtc;
            size = info.Length;
            if (mtime == _mtime && size == _size)
            {
                return;
            }
            text = File.ReadAllText(Options.Path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return;
        }
        var file = HostsMap.Parse(text, _origins, Options.AutoReverse);
        LogParsed(_logger, file.Count);
        _snapshot = HostsSnapshot.Build(file, _inline, Options.Ttl);
        _mtime = mtime;
        _size = size;
        LastReload = mtime;
    }

    Task IPluginLifecycle.StartAsync(CancellationToken cancellationToken)
    {
        if (Options.Reload > TimeSpan.Zero)
        {
            _stop = new CancellationTokenSource();
            _reloader = ReloadLoopAsync(_stop.Token);
        }
        return Task.CompletedTask;
    }

    private async Task ReloadLoopAsync(CancellationToken cancellationToken)
    {
        // PeriodicTimer needs at least 1 ms; Go's ticker would spin on anything shorter anyway.
        using var timer = new PeriodicTimer(Options.Reload < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : Options.Reload);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                ReadHosts();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    async Task IPluginLifecycle.StopAsync()
    {
        if (_stop is null)
        {
            return;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_reloader is not null)
        {
            await _reloader.ConfigureAwait(false);
        }
        _stop.Dispose();
        _stop = null;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Parsed hosts file into {Count} entries")]
    private static partial void LogParsed(ILogger logger, int count);
}
