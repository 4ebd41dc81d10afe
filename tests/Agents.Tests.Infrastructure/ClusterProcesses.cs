using Agents.Client;
using Orleans.Runtime;

namespace Agents.Tests.Infrastructure;

/// <summary>Joining and watching a cluster of real silo processes on PostgreSQL, for the failover tests.</summary>
public static class ClusterProcesses
{
    /// <summary>Connects through the membership table once a gateway is up; fails early if a silo exits.</summary>
    public static async Task<AgentsClient> ConnectAsync(string database, IReadOnlyList<SiloProcess> silos)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                return await AgentsClient.ConnectAsync(ClusterConnection.Postgres(database), new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !silos.Any(s => s.HasExited))
            {
                await Task.Delay(250);
            }
        }
    }

    /// <summary>Connects through the gateway of the embedded silo process of <paramref name="instance"/> once it listens.</summary>
    public static async Task<AgentsClient> ConnectGatewayAsync(int instance, SiloProcess silo)
    {
        var connection = new ClusterConnection { Gateways = [$"127.0.0.1:{HostSettings.GatewayPortBase + instance}"] };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                return await AgentsClient.ConnectAsync(connection);
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !silo.HasExited)
            {
                await Task.Delay(500);
            }
        }
    }

    /// <summary>Waits (with a deadline) until <paramref name="count"/> silos are active.</summary>
    public static async Task WaitForActiveSilosAsync(AgentsClient client, int count, IReadOnlyList<SiloProcess> silos)
    {
        var management = client.Cluster.GetGrain<IManagementGrain>(0);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while ((await management.GetHosts(onlyActive: true)).Count < count)
        {
            Assert.False(silos.Any(s => s.HasExited), "a silo exited during start-up");
            Assert.True(DateTime.UtcNow < deadline, $"{count} silos did not become active");
            await Task.Delay(200);
        }
    }

    /// <summary>Writes every silo's output to the test log (on failure) and stops the silos.</summary>
    public static async Task StopAsync(IReadOnlyList<SiloProcess> silos, Xunit.Abstractions.ITestOutputHelper? dumpTo = null)
    {
        foreach (var silo in silos)
        {
            dumpTo?.WriteLine($"--- silo {silo.ProcessId} ---\n{silo.Output}");
            await silo.DisposeAsync();
        }
    }
}
