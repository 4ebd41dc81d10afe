using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Agents.Client;

/// <summary>
/// Mutual TLS between silos and between clients and gateways: this node's certificate (<c>P2P_TLS_CERT</c>, a PKCS#12
/// file, opened with <c>P2P_TLS_CERT_PASSWORD</c>) and the CA its peers must chain to (<c>P2P_TLS_CA</c>; the system
/// trust store when absent). The password is never printed, not even by <see cref="ToString"/>.
/// </summary>
public sealed class TlsSettings
{
    /// <summary>The variable naming this node's PKCS#12 (PFX) certificate file.</summary>
    public const string CertificateVariable = "P2P_TLS_CERT";

    /// <summary>The variable holding the password of <see cref="CertificateVariable"/>'s file.</summary>
    public const string PasswordVariable = "P2P_TLS_CERT_PASSWORD";

    /// <summary>The variable naming the CA certificate file (PEM, one or more certificates, or DER).</summary>
    public const string CaVariable = "P2P_TLS_CA";

    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private TlsCredentials? _loaded;

    /// <summary>Path of this node's certificate and private key as a PKCS#12 (PFX) file.</summary>
    public required string CertificatePath { get; init; }

    /// <summary>Password of <see cref="CertificatePath"/>; null for none.</summary>
    public string? CertificatePassword { get; init; }

    /// <summary>Path of the CA certificate(s) peers must chain to; null trusts the system store.</summary>
    public string? CaPath { get; init; }

    /// <summary>Reads <c>P2P_TLS_CERT</c>, <c>P2P_TLS_CERT_PASSWORD</c>, <c>P2P_TLS_CA</c>; null when TLS is off.</summary>
    public static TlsSettings? FromEnvironment(IReadOnlyDictionary<string, string?> environment)
    {
        string? Read(string name) => environment.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v : null;
        var certificate = Read(CertificateVariable);
        if (certificate is null)
        {
            // A password or CA without a certificate would silently leave TLS off.
            foreach (var name in new[] { PasswordVariable, CaVariable })
            {
                if (Read(name) is not null)
                {
                    throw new ConfigurationException($"{name} is set but {CertificateVariable} is not: TLS needs this node's certificate; set {CertificateVariable} or unset {name}.");
                }
            }

            return null;
        }

        // The password is taken as given (it may start or end with spaces); the paths are trimmed.
        var password = environment.TryGetValue(PasswordVariable, out var p) && !string.IsNullOrEmpty(p) ? p : null;
        return new TlsSettings { CertificatePath = certificate.Trim(), CertificatePassword = password, CaPath = Read(CaVariable)?.Trim() };
    }

    /// <summary>
    /// Loads the certificate and the CA (once) and checks them; throws <see cref="ConfigurationException"/> naming the
    /// variable when a file is missing or unreadable, the password is wrong, or the certificate cannot authenticate
    /// this node: a silo (<paramref name="server"/>) listens and connects, so it needs server and client usage; a client only connects.
    /// </summary>
    public TlsCredentials Load(bool server)
    {
        _loaded ??= new TlsCredentials(LoadCertificate(), LoadCa());
        CheckUsage(_loaded.Certificate, server);
        return _loaded;
    }

    /// <inheritdoc />
    public override string ToString() => $"TLS with {CertificatePath}, peers chained to {CaPath ?? "the system trust store"}";

    private X509Certificate2 LoadCertificate()
    {
        if (!File.Exists(CertificatePath))
        {
            throw new ConfigurationException($"{CertificateVariable}: the certificate file '{CertificatePath}' does not exist.");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(CertificatePath, CertificatePassword);
        }
        catch (CryptographicException e)
        {
            // Neither the exception nor this message carries the password.
            throw new ConfigurationException(
                $"{CertificateVariable}: '{CertificatePath}' cannot be opened as a PKCS#12 (PFX) file with the {PasswordVariable} given " +
                $"({(CertificatePassword is null ? "none is set" : "wrong password?")}): {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{CertificateVariable}: '{CertificatePath}' cannot be read: {e.Message}");
        }

        if (!certificate.HasPrivateKey)
        {
            throw new ConfigurationException($"{CertificateVariable}: '{CertificatePath}' holds no private key; the file must carry this node's certificate and its key.");
        }

        var now = DateTime.Now;
        if (now < certificate.NotBefore || now > certificate.NotAfter)
        {
            throw new ConfigurationException(
                $"{CertificateVariable}: the certificate '{certificate.Subject}' is valid from {certificate.NotBefore:u} to {certificate.NotAfter:u}, not now.");
        }

        return certificate;
    }

    // Without an extended key usage extension a certificate may be used for anything.
    private static void CheckUsage(X509Certificate2 certificate, bool server)
    {
        if (certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is not { } usage)
        {
            return;
        }

        var oids = usage.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToHashSet();
        if (!oids.Contains(ClientAuthentication.Value) || (server && !oids.Contains(ServerAuthentication.Value)))
        {
            throw new ConfigurationException(server
                ? $"{CertificateVariable}: the certificate '{certificate.Subject}' of a silo must allow server and client authentication (extended key usages 1.3.6.1.5.5.7.3.1 and 1.3.6.1.5.5.7.3.2)."
                : $"{CertificateVariable}: the certificate '{certificate.Subject}' must allow client authentication (extended key usage 1.3.6.1.5.5.7.3.2).");
        }
    }

    private X509Certificate2Collection? LoadCa()
    {
        if (CaPath is null)
        {
            return null;
        }

        if (!File.Exists(CaPath))
        {
            throw new ConfigurationException($"{CaVariable}: the CA file '{CaPath}' does not exist.");
        }

        var authorities = new X509Certificate2Collection();
        try
        {
            if (File.ReadAllText(CaPath).Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                authorities.ImportFromPemFile(CaPath);
            }
            else
            {
                authorities.Add(X509CertificateLoader.LoadCertificateFromFile(CaPath));
            }
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{CaVariable}: '{CaPath}' is not a readable PEM or DER certificate: {e.Message}");
        }

        return authorities.Count > 0
            ? authorities
            : throw new ConfigurationException($"{CaVariable}: '{CaPath}' holds no certificate.");
    }
}

/// <summary>A loaded node certificate and the CA certificates peers must chain to (null: the system trust store).</summary>
/// <param name="Certificate">This node's certificate, with its private key.</param>
/// <param name="Authorities">The trusted roots; null trusts the system store.</param>
public sealed record TlsCredentials(X509Certificate2 Certificate, X509Certificate2Collection? Authorities);
