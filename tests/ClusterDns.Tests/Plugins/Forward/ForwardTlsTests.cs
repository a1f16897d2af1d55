using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using ClusterDns.Plugins.Forward;
using ClusterDns.Protocol;
using ClusterDns.Tests.TestSupport;
using static ClusterDns.Tests.TestSupport.ForwardTestSupport;

namespace ClusterDns.Tests.Plugins.Forward;

/// <summary>DNS-over-TLS upstreams (<c>tls://</c>) against a real TLS server with a certificate made in the test.</summary>
public sealed class ForwardTlsTests
{
    private const string Answer = "192.0.2.53";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Udp_and_tcp_clients_are_forwarded_over_tls(bool tcp)
    {
        using var pki = TestPki.Create();
        await using var upstream = DotUpstream.Start(pki.ServerCertificate);
        await using var server = await StartAsync(upstream, "tls ca.pem\n        tls_servername dns.test", pki);
        var reply = await Query(server, "example.org.", tcp: tcp);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        var a = Assert.IsType<ARecord>(Assert.Single(reply.Answers));
        Assert.Equal(IPAddress.Parse(Answer), a.Address);
        Assert.Equal(1, upstream.Handshakes);
        Assert.Equal(1, upstream.Queries);
        var stats = (IUpstreamStatistics)Plugin<ForwardPlugin>(server).Upstreams[0];
        Assert.Equal(1, stats.ConnCacheMisses("tcp-tls"));
        Assert.Equal(0, stats.ConnCacheMisses("udp") + stats.ConnCacheMisses("tcp"));
    }

    [Fact]
    public async Task Queries_reuse_one_tls_connection()
    {
        using var pki = TestPki.Create();
        await using var upstream = DotUpstream.Start(pki.ServerCertificate);
        await using var server = await StartAsync(upstream, "tls ca.pem\n        tls_servername dns.test", pki);
        for (var i = 0; i < 3; i++)
        {
            var reply = await Query(server, $"n{i}.example.org.", tcp: i % 2 == 1);
            Assert.Equal(Answer, ((ARecord)Assert.Single(reply.Answers)).Address.ToString());
        }
        Assert.Equal(1, upstream.Accepted);
        Assert.Equal(1, upstream.Handshakes);
        Assert.Equal(3, upstream.Queries);
        var stats = (IUpstreamStatistics)Plugin<ForwardPlugin>(server).Upstreams[0];
        Assert.Equal(1, stats.ConnCacheMisses("tcp-tls"));
        Assert.Equal(2, stats.ConnCacheHits("tcp-tls"));
    }

    [Fact]
    public async Task Upstream_closing_a_pooled_tls_connection_is_redialed()
    {
        using var pki = TestPki.Create();
        await using var upstream = DotUpstream.Start(pki.ServerCertificate, queriesPerConnection: 1);
        await using var server = await StartAsync(upstream, "tls ca.pem\n        tls_servername dns.test", pki);
        for (var i = 0; i < 2; i++)
        {
            var reply = await Query(server, $"n{i}.example.org.");
            Assert.Equal(DnsRcode.NoError, reply.Rcode);
        }
        Assert.Equal(2, upstream.Handshakes);
        Assert.Equal(2, upstream.Queries);
    }

    [Fact]
    public async Task Server_name_mismatch_fails_the_handshake_servfails_and_marks_the_upstream_down()
    {
        using var pki = TestPki.Create();
        await using var upstream = DotUpstream.Start(pki.ServerCertificate);
        await using var server = await StartAsync(upstream,
            "tls ca.pem\n        tls_servername wrong.test\n        max_connect_attempts 1\n        health_check 50ms", pki, errors: true);
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.ServFail, reply.Rcode);
        // The server may see its side of the handshake complete (.NET checks the peer certificate afterwards), but no
        // query is ever written to an unverified connection.
        Assert.Equal(0, upstream.Queries);
        Assert.True(await server.LogContainsAsync($"[ERROR] plugin/errors: 2 example.org. A: dial tcp 127.0.0.1:{upstream.Port}: tls: "), server.Log);
        // Health-checked like any network error: the checks fail too, and the upstream goes down.
        var forward = Plugin<ForwardPlugin>(server);
        var up = forward.UpstreamList[0];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!up.Down(forward.Options.MaxFails) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.True(up.Down(forward.Options.MaxFails), $"fails={up.Fails}");
        Assert.True(((IUpstreamStatistics)up).HealthcheckFailures > 2);
        Assert.True(await server.LogContainsAsync($"health check for 127.0.0.1:{upstream.Port} failed"), server.Log);
    }

    [Fact]
    public async Task Health_check_of_an_upstream_that_never_finishes_the_handshake_gives_up_after_one_second()
    {
        using var pki = TestPki.Create();
        // Accepts TCP (kernel backlog) but never answers the ClientHello.
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var port = ((IPEndPoint)silent.LocalEndpoint).Port;
            await using var server = await TestDnsServer.StartAsync(
                $".:0 {{\n    forward . tls://127.0.0.1:{port} {{\n        tls ca.pem\n        tls_servername dns.test\n    }}\n}}\n",
                new Dictionary<string, string> { ["ca.pem"] = pki.CaPem });
            var up = Plugin<ForwardPlugin>(server).UpstreamList[0];
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Assert.False(await up.CheckAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(3));
            Assert.True(await server.LogContainsAsync($"health check for 127.0.0.1:{port} failed: dial tcp 127.0.0.1:{port}: i/o timeout"), server.Log);
        }
        finally
        {
            silent.Stop();
        }
    }

    [Fact]
    public async Task Certificate_without_the_name_fails()
    {
        using var pki = TestPki.Create();
        using var other = pki.IssueServer("other.test");
        await using var upstream = DotUpstream.Start(other);
        await using var server = await StartAsync(upstream,
            "tls ca.pem\n        tls_servername dns.test\n        max_connect_attempts 1", pki, errors: true);
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.ServFail, reply.Rcode);
        Assert.Equal(0, upstream.Queries);
        Assert.True(await server.LogContainsAsync($"dial tcp 127.0.0.1:{upstream.Port}: tls: "), server.Log);
    }

    [Fact]
    public async Task Per_upstream_server_name_after_percent_works_without_tls_servername()
    {
        using var pki = TestPki.Create();
        await using var upstream = DotUpstream.Start(pki.ServerCertificate);
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . tls://127.0.0.1:{upstream.Port}%dns.test {{\n        tls ca.pem\n    }}\n}}\n",
            new Dictionary<string, string> { ["ca.pem"] = pki.CaPem });
        Assert.Equal("dns.test", Plugin<ForwardPlugin>(server).UpstreamList[0].Tls!.ServerName);
        Assert.Equal($"127.0.0.1:{upstream.Port}", Plugin<ForwardPlugin>(server).UpstreamList[0].To);
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
        Assert.Equal(Answer, ((ARecord)Assert.Single(reply.Answers)).Address.ToString());
    }

    [Fact]
    public async Task Per_upstream_server_name_wins_over_tls_servername()
    {
        using var pki = TestPki.Create();
        await using var upstream = DotUpstream.Start(pki.ServerCertificate);
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . tls://127.0.0.1:{upstream.Port}%dns.test {{\n        tls ca.pem\n        tls_servername wrong.test\n    }}\n}}\n",
            new Dictionary<string, string> { ["ca.pem"] = pki.CaPem });
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.NoError, reply.Rcode);
    }

    [Fact]
    public async Task Untrusted_ca_fails()
    {
        using var pki = TestPki.Create();
        using var stranger = TestPki.Create();
        await using var upstream = DotUpstream.Start(pki.ServerCertificate);
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    errors\n    forward . tls://127.0.0.1:{upstream.Port} {{\n        tls ca.pem\n        tls_servername dns.test\n        max_connect_attempts 1\n    }}\n}}\n",
            new Dictionary<string, string> { ["ca.pem"] = stranger.CaPem });
        var reply = await Query(server, "example.org.");
        Assert.Equal(DnsRcode.ServFail, reply.Rcode);
        Assert.Equal(0, upstream.Queries);
        Assert.True(await server.LogContainsAsync($"dial tcp 127.0.0.1:{upstream.Port}: tls: "), server.Log);
    }

    [Fact]
    public async Task Ca_and_client_certificate_forms_are_accepted()
    {
        using var pki = TestPki.Create();
        using var client = pki.IssueServer("client.test");
        var files = new Dictionary<string, string>
        {
            ["ca.pem"] = pki.CaPem,
            ["client.pem"] = client.ExportCertificatePem(),
            ["client.key"] = client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(),
        };
        await using var upstream = DotUpstream.Start(pki.ServerCertificate);
        await using var server = await TestDnsServer.StartAsync(
            $".:0 {{\n    forward . tls://127.0.0.1:{upstream.Port} {{\n        tls client.pem client.key ca.pem\n        tls_servername dns.test\n    }}\n}}\n",
            files);
        var tls = Plugin<ForwardPlugin>(server).UpstreamList[0].Tls!;
        Assert.Single(tls.ClientCertificates!);
        Assert.Single(tls.Roots!);
        var reply = await Query(server, "example.org.", tcp: true);
        Assert.Equal(DnsRcode.NoError, reply.Rcode);

        // Two arguments: client certificate and key, system roots.
        await using var system = await TestDnsServer.StartAsync(
            ".:0 {\n    forward . tls://127.0.0.1 {\n        tls client.pem client.key\n    }\n}\n", files);
        var systemTls = Plugin<ForwardPlugin>(system).UpstreamList[0].Tls!;
        Assert.Null(systemTls.Roots);
        Assert.NotNull(systemTls.ClientCertificates);
        Assert.Equal("127.0.0.1:853", Plugin<ForwardPlugin>(system).UpstreamList[0].To);
    }

    private static async Task<string> Error(string block, IReadOnlyDictionary<string, string>? files = null)
    {
        var exception = await Assert.ThrowsAnyAsync<Exception>(() => TestDnsServer.StartAsync($".:0 {{\n    {block}\n}}\n", files));
        return exception.Message;
    }

    [Theory]
    [InlineData("forward . tls://127.0.0.1 {\n        tls a b c d\n    }", "Wrong argument count or unexpected line ending after 'd'")]
    [InlineData("forward . tls://127.0.0.1 {\n        tls_servername\n    }", "Wrong argument count or unexpected line ending after 'tls_servername'")]
    [InlineData("forward . tls://127.0.0.1 {\n        tls missing.pem\n    }", "error reading ")]
    [InlineData("forward . tls://127.0.0.1 {\n        tls missing.pem\n    }", "missing.pem: open ")]
    [InlineData("forward . tls://127.0.0.1 {\n        tls missing.pem\n    }", ": no such file or directory")]
    [InlineData("forward . tls://127.0.0.1 {\n        tls empty.pem\n    }", "could not read root certs: %!s(<nil>)")]
    [InlineData("forward . tls://127.0.0.1 {\n        tls missing.pem missing.key\n    }", "could not load TLS cert: open ")]
    [InlineData("forward . 127.0.0.1 {\n        tls missing.pem\n    }", "error reading ")]
    public async Task Tls_option_errors_use_coredns_texts(string block, string expected)
    {
        var files = new Dictionary<string, string> { ["empty.pem"] = "not a certificate\n" };
        Assert.Contains(expected, await Error(block, files));
    }

    private static Task<TestDnsServer> StartAsync(DotUpstream upstream, string options, TestPki pki, bool errors = false) =>
        TestDnsServer.StartAsync(
            $".:0 {{\n{(errors ? "    errors\n" : "")}    forward . tls://127.0.0.1:{upstream.Port} {{\n        {options}\n    }}\n}}\n",
            new Dictionary<string, string> { ["ca.pem"] = pki.CaPem });

    /// <summary>A throw-away CA and a server certificate for <c>dns.test</c> it signed.</summary>
    private sealed class TestPki : IDisposable
    {
        private readonly ECDsa _caKey;

        private TestPki(ECDsa caKey, X509Certificate2 ca)
        {
            _caKey = caKey;
            Ca = ca;
            ServerCertificate = IssueServer("dns.test");
        }

        public X509Certificate2 Ca { get; }

        public X509Certificate2 ServerCertificate { get; }

        public string CaPem => Ca.ExportCertificatePem();

        public static TestPki Create()
        {
            var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=ClusterDns Test CA " + Guid.NewGuid().ToString("N")[..8], key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            var now = DateTimeOffset.UtcNow;
            return new TestPki(key, request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1)));
        }

        public X509Certificate2 IssueServer(string dnsName)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=" + dnsName, key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(dnsName);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, false));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
                [new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"), new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")], false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, true, false));
            var serial = RandomNumberGenerator.GetBytes(16);
            serial[0] &= 0x7F;
            var now = DateTimeOffset.UtcNow;
            using var signed = request.Create(Ca.SubjectName, X509SignatureGenerator.CreateForECDsa(_caKey),
                now.AddHours(-1), now.AddHours(12), serial);
            // Round-trip through PEM so the private key is usable by SslStream on every platform.
            return X509Certificate2.CreateFromPem(signed.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
        }

        public void Dispose()
        {
            ServerCertificate.Dispose();
            Ca.Dispose();
            _caKey.Dispose();
        }
    }

    /// <summary>A DoT server on loopback: 2-octet framed queries over TLS, several per connection, A → 192.0.2.53.</summary>
    private sealed class DotUpstream : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly X509Certificate2 _certificate;
        private readonly int _queriesPerConnection;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<TcpClient> _clients = [];
        private int _accepted;
        private int _handshakes;
        private int _queries;

        private DotUpstream(X509Certificate2 certificate, int queriesPerConnection)
        {
            _certificate = certificate;
            _queriesPerConnection = queriesPerConnection;
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            _ = AcceptLoopAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int Accepted => Volatile.Read(ref _accepted);

        public int Handshakes => Volatile.Read(ref _handshakes);

        /// <summary>Queries answered, health checks (<c>. NS</c>) not counted.</summary>
        public int Queries => Volatile.Read(ref _queries);

        public static DotUpstream Start(X509Certificate2 certificate, int queriesPerConnection = int.MaxValue) =>
            new(certificate, queriesPerConnection);

        private async Task AcceptLoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }
                Interlocked.Increment(ref _accepted);
                lock (_clients)
                {
                    _clients.Add(client);
                }
                _ = ServeAsync(client);
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            try
            {
                await using var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                Interlocked.Increment(ref _handshakes);
                var prefix = new byte[2];
                for (var served = 0; served < _queriesPerConnection; served++)
                {
                    await ssl.ReadExactlyAsync(prefix, _stop.Token);
                    var query = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                    await ssl.ReadExactlyAsync(query, _stop.Token);
                    var message = DnsMessage.Parse(query);
                    var healthCheck = message.Question!.Name.IsRoot && message.Question.Type == DnsType.NS;
                    if (!healthCheck)
                    {
                        Interlocked.Increment(ref _queries);
                    }
                    var reply = FakeUpstream.Reply(message, DnsRcode.NoError, message.Question.Type == DnsType.A
                        ? [new ARecord(IPAddress.Parse(Answer)) { Name = message.Question.Name, Ttl = 300 }]
                        : []).ToArray();
                    var frame = new byte[reply.Length + 2];
                    BinaryPrimitives.WriteUInt16BigEndian(frame, (ushort)reply.Length);
                    reply.CopyTo(frame, 2);
                    await ssl.WriteAsync(frame, _stop.Token);
                }
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException
                or SocketException or System.Security.Authentication.AuthenticationException)
            {
            }
            finally
            {
                client.Dispose();
            }
        }

        public ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            lock (_clients)
            {
                foreach (var client in _clients)
                {
                    client.Dispose();
                }
            }
            return ValueTask.CompletedTask;
        }
    }
}
