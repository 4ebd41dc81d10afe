using System.Text;
using System.Text.Json;
using Agents.Client;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Metrics;

/// <summary>The Orleans dashboard served by a real silo process's Kestrel, read through its JSON endpoint.</summary>
public sealed class DashboardTests
{
    [Fact]
    public async Task DashboardCountersListOurGrainTypesAfterAJob()
    {
        var port = PostgresServer.FreePort();
        var instance = SiloProcess.FreeInstance();
        var dataDir = Directory.CreateTempSubdirectory("agents-dash-silo-").FullName;
        await using var silo = SiloProcess.Start(["--data-dir", dataDir, "--dashboard-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], instance);

        var client = await ClusterProcesses.ConnectGatewayAsync(instance, silo);
        await using (client)
        {
            var tasks = Enumerable.Range(0, 20).Select(i => new JobTask(i, $"d{i}", Encoding.UTF8.GetBytes($"Document {i} for the dashboard."))).ToList();
            await client.WaitAsync(await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), tasks));
            await client.Agent($"dash-{Guid.NewGuid():N}").AskAsync($"dash-peer-{Guid.NewGuid():N}", "echo", [1]);
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HashSet<string> types = [];
        while (!types.Contains("Agents.Grains.Jobs.JobGrain") || !types.Contains("Agents.Grains.Messaging.AgentGrain"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the dashboard never listed our grains (saw {string.Join(", ", types)})");
            await Task.Delay(500);
            string body;
            try
            {
                body = await http.GetStringAsync("/DashboardCounters");
            }
            catch (HttpRequestException)
            {
                // The web server starts after the silo's gateway: a job can finish before the dashboard listens.
                continue;
            }

            using var counters = JsonDocument.Parse(body);
            types = counters.RootElement.GetProperty("simpleGrainStats").EnumerateArray().Select(g => g.GetProperty("grainType").GetString()!).ToHashSet();
        }

        Assert.Contains("Agents.Grains.Jobs.JobRegistryGrain", types);
        var page = await http.GetStringAsync("/");
        Assert.Contains("<html", page, StringComparison.OrdinalIgnoreCase);
    }
}
