using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Connections.Security;
using Orleans.Hosting;

namespace Agents.Client;

/// <summary>Mutual TLS on a client's gateway connections (the silo side is in Agents.Hosting, with the same validation).</summary>
public static class AgentsTlsExtensions
{
    /// <summary>As the silo's: the client presents its certificate to the gateway and accepts only a gateway chained to the CA.</summary>
    public static IClientBuilder UseAgentsTls(this IClientBuilder client, TlsSettings? tls)
    {
        if (tls is null)
        {
            return client;
        }

        var credentials = tls.Load(server: false);
        var validator = new TlsPeerValidator(credentials.Authorities);
        client.UseTls(credentials.Certificate, o => ConfigureMutual(o, validator));
        client.Services.AddOptions<ClientConnectionOptions>().PostConfigure<ILoggerFactory>((_, loggers) => validator.Attach(loggers));
        return client;
    }

    /// <summary>Mutual TLS options: both ends present a certificate, checked by <paramref name="validator"/>.</summary>
    public static void ConfigureMutual(TlsOptions options, TlsPeerValidator validator)
    {
        // Mutual: a silo demands a certificate of whoever connects, and every node presents its own.
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = validator.Validate;
    }
}

/// <summary>
/// Accepts a peer certificate only if it chains to the configured CA (custom root trust), or to the system store when
/// none is configured. Host names are not checked: nodes reach each other by address, and membership is the CA's.
/// </summary>
public sealed partial class TlsPeerValidator(X509Certificate2Collection? authorities)
{
    private ILogger _logger = NullLogger.Instance;

    /// <summary>Gives the validator a logger for its rejections.</summary>
    public void Attach(ILoggerFactory loggers) => _logger = loggers.CreateLogger<TlsPeerValidator>();

    /// <summary>The <see cref="TlsOptions.RemoteCertificateValidation"/> callback.</summary>
    public bool Validate(X509Certificate2 certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        string? reason;
        if (authorities is null)
        {
            // The platform built the chain against the system store; only the name is left unchecked.
            var remaining = errors & ~SslPolicyErrors.RemoteCertificateNameMismatch;
            reason = remaining == SslPolicyErrors.None ? null : $"{remaining}{Describe(presented)}";
        }
        else
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            // Intermediates the peer sent are candidates for the path, never anchors.
            if (presented is not null)
            {
                foreach (var element in presented.ChainElements)
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }

            reason = chain.Build(certificate) ? null : $"it does not chain to the configured CA{Describe(chain)}";
        }

        if (reason is not null)
        {
            LogRejected(_logger, certificate.Subject, certificate.Issuer, certificate.Thumbprint, reason);
        }

        return reason is null;
    }

    private static string Describe(X509Chain? chain) =>
        chain is null || chain.ChainStatus.Length == 0 ? "" : $" ({string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}"))})";

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS peer rejected: certificate '{Subject}' issued by '{Issuer}' (thumbprint {Thumbprint}): {Reason}")]
    private static partial void LogRejected(ILogger logger, string subject, string issuer, string thumbprint, string reason);
}
