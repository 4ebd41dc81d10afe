using System.Text;
using Agents.Client;
using Agents.Engine;
using Agents.Hosting;
using Agents.Grains.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Agents.Tests.Metrics;

/// <summary>
/// Per-node metrics on a cluster of its own (a silo is stopped here): three silos publish on the node-metrics stream
/// every 200 ms, the aggregator sees all three, and one that stops leaves the live view within three intervals.
/// </summary>
public sealed class MetricsPipelineTests : IAsyncLifetime
{
    private static readonly AgentsSettings Settings = new()
    {
        Performance = new PerformanceSettings { WorkerThreads = 2, MessageBatchSize = 10, MetricsInterval = TimeSpan.FromMilliseconds(200) },
    };

    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAgents(Settings);
            silo.AddMemoryGrainStorage(JobStorage.Name);
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.Services.AddSingleton(VectorStorage.Files(Directory.CreateTempSubdirectory("agents-metrics-").FullName));
        });
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task ThreeSilosReachTheAggregatorAndAStoppedOneLeavesTheView()
    {
        var client = AgentsClient.FromCluster(_cluster.Client);
        var tasks = Enumerable.Range(0, 60).Select(i => new JobTask(i, $"d{i}", Encoding.UTF8.GetBytes($"Document {i}. Grains and silos report their metrics."))).ToList();
        var job = await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), tasks);
        await client.WaitAsync(job);

        var view = await WaitForAsync(client, v => v.Nodes.Count == 3 && v.TasksProcessed > 0 && v.TaskP99Milliseconds > 0);
        Assert.Equal(3, view.Nodes.Select(n => n.Last.Silo).Distinct().Count());
        Assert.All(view.Nodes, n => Assert.True(n.Last.WorkingSetBytes > 0));
        Assert.True(view.TaskP99Milliseconds > 0 && view.TaskP99Milliseconds >= view.TaskP50Milliseconds, $"p50 {view.TaskP50Milliseconds} p99 {view.TaskP99Milliseconds}");

        var stopped = _cluster.Silos[^1];
        await _cluster.StopSiloAsync(stopped);
        // A silo may still publish while it shuts down, so the view can briefly hold it beside one survivor: wait for the
        // two survivors and nothing else (a sample of the stopped silo goes stale after three intervals).
        var gone = stopped.SiloAddress.ToParsableString();
        var after = await WaitForAsync(client, v => v.Nodes.Count == 2 && v.Nodes.All(n => n.Last.Silo != gone));
        Assert.Equal(_cluster.Silos.Select(s => s.SiloAddress.ToParsableString()).Order(), after.Nodes.Select(n => n.Last.Silo).Order());
    }

    private static async Task<ClusterMetricsView> WaitForAsync(AgentsClient client, Func<ClusterMetricsView, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var view = await client.GetMetricsAsync();
            if (condition(view))
            {
                return view;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the metrics view never matched: {view.Nodes.Count} nodes, {view.TasksProcessed} tasks");
            await Task.Delay(100);
        }
    }
}
