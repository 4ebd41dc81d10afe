using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Agents.Hosting;

namespace Agents.Tests.Security;

/// <summary>
/// A throwaway PKI made by the test: a CA and certificates it issues, written as PFX (with a password) and PEM files
/// to a temporary folder that is deleted on dispose.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2 _ca;

    private TestCertificates(string name, string folder)
    {
        Folder = folder;
        // The CA's key lives as long as the CA certificate, which signs with it.
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(2));
        CaPath = Path.Combine(folder, $"{name}.pem");
        File.WriteAllText(CaPath, _ca.ExportCertificatePem());
    }

    /// <summary>The folder holding every file of this PKI.</summary>
    public string Folder { get; }

    /// <summary>The CA certificate as PEM (what <c>P2P_TLS_CA</c> names).</summary>
    public string CaPath { get; }

    /// <summary>A new CA named <paramref name="name"/> in a fresh temporary folder.</summary>
    public static TestCertificates Create(string name) =>
        new(name, Directory.CreateTempSubdirectory($"agents-pki-{name}-").FullName);

    /// <summary>
    /// Issues a certificate for <paramref name="name"/> (server and client usage for a silo, client usage only otherwise)
    /// and writes it with its key as <c>name.pfx</c> under <paramref name="password"/>; returns the path.
    /// </summary>
    public string Issue(string name, string password, bool silo = true, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            silo ? new OidCollection { ServerAuthentication, ClientAuthentication } : new OidCollection { ClientAuthentication }, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = request.Create(_ca, DateTimeOffset.UtcNow.AddHours(-1), notAfter ?? DateTimeOffset.UtcNow.AddDays(1), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        var path = Path.Combine(Folder, $"{name}.pfx");
        File.WriteAllBytes(path, withKey.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    /// <summary>The <c>P2P_TLS_*</c> variables of a node holding <paramref name="pfx"/>.</summary>
    public Dictionary<string, string> Environment(string pfx, string password) => new()
    {
        [TlsSettings.CertificateVariable] = pfx,
        [TlsSettings.PasswordVariable] = password,
        [TlsSettings.CaVariable] = CaPath,
    };

    /// <summary>The client-side settings of a node holding <paramref name="pfx"/>.</summary>
    public TlsSettings Settings(string pfx, string password) => new() { CertificatePath = pfx, CertificatePassword = password, CaPath = CaPath };

    /// <inheritdoc />
    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
