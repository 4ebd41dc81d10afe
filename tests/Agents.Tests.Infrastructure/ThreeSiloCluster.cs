using Agents.Engine;
using Agents.Hosting;
using Agents.Grains.Jobs;
using Orleans.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Agents.Tests.Infrastructure;

/// <summary>A real 3-silo cluster (in-memory transport) shared by the cluster tests.</summary>
public sealed class ThreeSiloCluster : IAsyncLifetime
{
    /// <summary>Small batches and two workers per silo, so a modest job makes many batches.</summary>
    public static readonly AgentsSettings Settings = new()
    {
        Performance = new PerformanceSettings { WorkerThreads = 2, MessageBatchSize = 10, DocumentCacheSize = 8L << 20 },
    };

    /// <summary>Collections of this cluster live in a temporary folder, shared by its silos as one disk would be.</summary>
    public VectorStorage Storage { get; } =
        VectorStorage.Files(Directory.CreateTempSubdirectory("agents-vectors-").FullName);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAgents(Settings);
            silo.AddMemoryGrainStorage(JobStorage.Name);
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.Services.AddSingleton(Storage);
            silo.AddIncomingGrainCallFilter<JobTrafficRecorder>();
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>Submits a job and waits (with a deadline, no sleeps) for it to finish.</summary>
    public async Task<JobResult> RunJobAsync(JobSpec spec, IReadOnlyList<JobTask> tasks, TimeSpan? timeout = null)
    {
        var client = Agents.Client.AgentsClient.FromCluster(Client);
        var id = await client.StartJobAsync(spec);
        await client.AppendAsync(id, tasks);
        await client.SealAsync(id);
        var job = Client.GetGrain<IJobGrain>(id);
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (!(await job.GetStatusAsync()).IsFinished)
        {
            Assert.True(DateTime.UtcNow < deadline, "the job did not finish in time");
            await Task.Delay(20);
        }

        return (await job.GetResultAsync())!;
    }
}

[CollectionDefinition(nameof(ThreeSiloCollection))]
public sealed class ThreeSiloCollection : ICollectionFixture<ThreeSiloCluster>;
