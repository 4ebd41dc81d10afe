using Agents.Client;
using Agents.Engine;
using Agents.Hosting;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Security;

/// <summary>
/// Every <c>P2P_TLS_*</c> and <c>P2P_HTTP_AUTH</c> mistake stops start-up with a message naming the variable and never
/// showing a password: in process through <see cref="SiloHost.Parse"/>, and for the main cases as a real silo process (exit code 2).
/// </summary>
public sealed class SecurityConfigurationTests : IDisposable
{
    private const string Password = "pfx-secret-7Qz";
    private const string WrongPassword = "wrong-secret-9Kx";
    private readonly TestCertificates _pki = TestCertificates.Create("config-ca");
    private readonly string _pfx;

    public SecurityConfigurationTests()
    {
        _pfx = _pki.Issue("node", Password);
    }

    public void Dispose() => _pki.Dispose();

    [Fact]
    public void AGoodCertificateLoadsAndNamesNoPassword()
    {
        var (host, _) = SiloHost.Parse([], _pki.Environment(_pfx, Password).ToDictionary(kv => kv.Key, kv => (string?)kv.Value));
        Assert.NotNull(host.Tls);
        var credentials = host.Tls.Load(server: true);
        Assert.True(credentials.Certificate.HasPrivateKey);
        Assert.Single(credentials.Authorities!);
        Assert.DoesNotContain(Password, host.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Password, host.Tls.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing-file", "P2P_TLS_CERT")]
    [InlineData("wrong-password", "P2P_TLS_CERT")]
    [InlineData("no-password", "P2P_TLS_CERT_PASSWORD")]
    [InlineData("not-a-pfx", "P2P_TLS_CERT")]
    [InlineData("missing-ca", "P2P_TLS_CA")]
    [InlineData("garbage-ca", "P2P_TLS_CA")]
    [InlineData("ca-without-cert", "P2P_TLS_CA")]
    [InlineData("password-without-cert", "P2P_TLS_CERT_PASSWORD")]
    [InlineData("expired", "P2P_TLS_CERT")]
    [InlineData("client-only-certificate", "P2P_TLS_CERT")]
    [InlineData("auth-without-colon", "P2P_HTTP_AUTH")]
    [InlineData("auth-empty-user", "P2P_HTTP_AUTH")]
    [InlineData("auth-empty-password", "P2P_HTTP_AUTH")]
    public void ABadSettingIsRejectedByName(string mistake, string variable)
    {
        var env = Mistake(mistake);
        var e = Assert.Throws<ConfigurationException>(() => SiloHost.Parse([], env.ToDictionary(kv => kv.Key, kv => (string?)kv.Value)));
        Assert.Contains(variable, e.Message, StringComparison.Ordinal);
        foreach (var secret in new[] { Password, WrongPassword })
        {
            Assert.DoesNotContain(secret, e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("missing-file", "P2P_TLS_CERT")]
    [InlineData("wrong-password", "P2P_TLS_CERT")]
    [InlineData("auth-without-colon", "P2P_HTTP_AUTH")]
    public async Task ASiloProcessWithABadSettingStopsWithCode2(string mistake, string variable)
    {
        await using var silo = SiloProcess.Start([], SiloProcess.FreeInstance(), Mistake(mistake));
        Assert.Equal(2, await silo.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains($"error: {variable}", silo.Output, StringComparison.Ordinal);
        foreach (var secret in new[] { Password, WrongPassword })
        {
            Assert.DoesNotContain(secret, silo.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheClientLibraryRefusesABadCertificateBeforeConnecting()
    {
        var connection = ClusterConnection.Gateway("127.0.0.1:1") with
        {
            Tls = new TlsSettings { CertificatePath = _pfx, CertificatePassword = WrongPassword, CaPath = _pki.CaPath },
        };
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => AgentsClient.ConnectAsync(connection));
        Assert.Contains("P2P_TLS_CERT", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongPassword, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongPassword, connection.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AClientMayHoldAClientOnlyCertificate()
    {
        var pfx = _pki.Issue("client-only", Password, silo: false);
        var tls = new TlsSettings { CertificatePath = pfx, CertificatePassword = Password, CaPath = _pki.CaPath };
        Assert.True(tls.Load(server: false).Certificate.HasPrivateKey);
        Assert.Contains("server and client authentication", Assert.Throws<ConfigurationException>(() => tls.Load(server: true)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HttpCredentialsAreCheckedAndNeverPrinted()
    {
        var host = HostSettings.FromEnvironment(new Dictionary<string, string?> { ["P2P_HTTP_AUTH"] = "scraper:pa:ss-3Wq" });
        Assert.NotNull(host.HttpAuth);
        Assert.Equal("scraper", host.HttpAuth.User);
        Assert.DoesNotContain("pa:ss-3Wq", host.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("pa:ss-3Wq", host.HttpAuth.ToString(), StringComparison.Ordinal);

        static Microsoft.AspNetCore.Http.HttpRequest Request(string? authorization)
        {
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
            if (authorization is not null)
            {
                context.Request.Headers.Authorization = authorization;
            }

            return context.Request;
        }

        static string Basic(string text) => "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
        Assert.True(host.HttpAuth.IsAuthorized(Request(Basic("scraper:pa:ss-3Wq"))));
        Assert.False(host.HttpAuth.IsAuthorized(Request(null)));
        Assert.False(host.HttpAuth.IsAuthorized(Request(Basic("scraper:pa:ss-3W"))));
        Assert.False(host.HttpAuth.IsAuthorized(Request(Basic("scrapers:pa:ss-3Wq"))));
        Assert.False(host.HttpAuth.IsAuthorized(Request(Basic("scraper"))));
        Assert.False(host.HttpAuth.IsAuthorized(Request("Basic not-base64!")));
        Assert.False(host.HttpAuth.IsAuthorized(Request("Bearer " + Convert.ToBase64String("scraper:pa:ss-3Wq"u8.ToArray()))));
    }

    [Fact]
    public void TheConnectionStringIsNotInTheSettingsText()
    {
        const string marker = "Password=pg-secret-2Lm";
        var host = HostSettings.FromEnvironment(new Dictionary<string, string?> { ["P2P_CLUSTER"] = $"Host=127.0.0.1;{marker}" });
        Assert.DoesNotContain("pg-secret-2Lm", host.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("pg-secret-2Lm", ClusterConnection.Postgres($"Host=127.0.0.1;{marker}").ToString(), StringComparison.Ordinal);
    }

    private Dictionary<string, string> Mistake(string mistake)
    {
        var env = _pki.Environment(_pfx, Password);
        switch (mistake)
        {
            case "missing-file":
                env[TlsSettings.CertificateVariable] = Path.Combine(_pki.Folder, "absent.pfx");
                break;
            case "wrong-password":
                env[TlsSettings.PasswordVariable] = WrongPassword;
                break;
            case "no-password":
                env.Remove(TlsSettings.PasswordVariable);
                break;
            case "not-a-pfx":
                env[TlsSettings.CertificateVariable] = _pki.CaPath;
                break;
            case "missing-ca":
                env[TlsSettings.CaVariable] = Path.Combine(_pki.Folder, "absent.pem");
                break;
            case "garbage-ca":
                var garbage = Path.Combine(_pki.Folder, "garbage.pem");
                File.WriteAllText(garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
                env[TlsSettings.CaVariable] = garbage;
                break;
            case "ca-without-cert":
                env.Remove(TlsSettings.CertificateVariable);
                env.Remove(TlsSettings.PasswordVariable);
                break;
            case "password-without-cert":
                env.Remove(TlsSettings.CertificateVariable);
                env.Remove(TlsSettings.CaVariable);
                break;
            case "expired":
                env[TlsSettings.CertificateVariable] = _pki.Issue("expired", Password, notAfter: DateTimeOffset.UtcNow.AddMinutes(-5));
                break;
            case "client-only-certificate":
                env[TlsSettings.CertificateVariable] = _pki.Issue("client-only", Password, silo: false);
                break;
            case "auth-without-colon":
                env = new() { [HttpBasicAuthentication.Variable] = WrongPassword };
                break;
            case "auth-empty-user":
                env = new() { [HttpBasicAuthentication.Variable] = ":" + WrongPassword };
                break;
            case "auth-empty-password":
                env = new() { [HttpBasicAuthentication.Variable] = "scraper:" };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mistake));
        }

        return env;
    }
}
