using Agents.Client;
using Xunit.Abstractions;

namespace Agents.Tests.Infrastructure;

/// <summary>
/// Real silo processes on one PostgreSQL database and a client connected through its membership table. Disposing it
/// stops the silos; unless <see cref="Passed"/> was called, their output goes to the test log first.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly ITestOutputHelper _output;
    private bool _passed;

    private ProcessCluster(List<SiloProcess> silos, AgentsClient client, ITestOutputHelper output)
    {
        Silos = silos;
        Client = client;
        _output = output;
    }

    /// <summary>The silo processes, in start order (the first applied the schema).</summary>
    public List<SiloProcess> Silos { get; }

    /// <summary>A client of the cluster.</summary>
    public AgentsClient Client { get; }

    /// <summary>Starts <paramref name="count"/> silos (the first with <c>--init-schema</c>) and waits until all are active.</summary>
    public static async Task<ProcessCluster> StartAsync(
        string database, int count, ITestOutputHelper output, IReadOnlyDictionary<string, string>? environment = null)
    {
        var silos = new List<SiloProcess> { SiloProcess.Start(["--cluster", database, "--init-schema"], SiloProcess.FreeInstance(), environment) };
        try
        {
            var client = await ClusterProcesses.ConnectAsync(database, silos);
            for (var i = 1; i < count; i++)
            {
                silos.Add(SiloProcess.Start(["--cluster", database], SiloProcess.FreeInstance(), environment));
            }

            await ClusterProcesses.WaitForActiveSilosAsync(client, count, silos);
            return new ProcessCluster(silos, client, output);
        }
        catch
        {
            await ClusterProcesses.StopAsync(silos, output);
            throw;
        }
    }

    /// <summary>Marks the test as passed, so disposal does not dump the silos' output.</summary>
    public void Passed() => _passed = true;

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await ClusterProcesses.StopAsync(Silos, _passed ? null : _output);
    }
}
