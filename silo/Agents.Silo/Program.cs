using Agents.Client;
using Agents.Hosting;
using Microsoft.Extensions.Hosting;

// An Agents silo. Its settings: the command line over the P2P_* variables over performance.yaml (shipped beside
// this executable). A bad setting stops start-up with one line naming it, and exit code 2.
if (SiloHost.AsksForHelp(args))
{
    Console.Write(SiloHost.Help);
    return 0;
}

try
{
    var (host, settings) = SiloHost.Parse(args, AgentsConfiguration.ReadEnvironment());
    var ports = SiloHost.HttpPortsOf(host);

    // Before the host: certificate files opened, the PostgreSQL schema applied (--init-schema), the thread pool sized.
    await SiloHost.PrepareAsync(host, settings);

    // One host: Kestrel for /metrics and the dashboard (when their ports are on), OpenTelemetry, and the silo.
    var builder = SiloHost.CreateBuilder(host, ports);
    builder.UseOrleans(silo => silo
        .UseAgentsClustering(host, settings)      // PostgreSQL membership and grain storage, or a development cluster
        .AddAgents(settings)                      // the grains, the engine under them, placement, agent streams
        .UseAgentsTls(host.Tls)                   // mutual TLS between silos and with clients when P2P_TLS_CERT is set
        .UseAgentsOperations(ports, builder.Configuration)); // the dashboard, and failure detection from configuration

    using var app = SiloHost.Build(builder, host, ports);
    await app.StartAsync();
    await Console.Error.WriteLineAsync(SiloHost.Describe(host, ports));
    await app.WaitForShutdownAsync();
    return 0;
}
catch (ConfigurationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
