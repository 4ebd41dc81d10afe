using Agents.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Agents.Hosting;

/// <summary>Mutual TLS on a silo's silo-to-silo and gateway connections.</summary>
public static class AgentsSiloTlsExtensions
{
    /// <summary>
    /// With <paramref name="tls"/> set, every silo-to-silo and gateway connection is TLS, both ends present a
    /// certificate, and each accepts only peers chained to the configured CA; null leaves connections plain.
    /// </summary>
    public static ISiloBuilder UseAgentsTls(this ISiloBuilder silo, TlsSettings? tls)
    {
        if (tls is null)
        {
            return silo;
        }

        var credentials = tls.Load(server: true);
        var validator = new TlsPeerValidator(credentials.Authorities);
        silo.UseTls(credentials.Certificate, o => AgentsTlsExtensions.ConfigureMutual(o, validator));
        // The options are built before the container exists; the validator gets its logger when the connections are set up.
        silo.Services.AddOptions<SiloConnectionOptions>().PostConfigure<ILoggerFactory>((_, loggers) => validator.Attach(loggers));
        return silo;
    }

}
