using System.Collections.Concurrent;
using Agents.Grains.Jobs;
using Agents.Grains.Messaging;
using Agents.Hosting;
using Agents.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Agents.Tests.Messaging;

/// <summary>A request the test handlers take.</summary>
public sealed record AddRequest(int A, int B);

/// <summary>The reply: the sum and who answered, where.</summary>
public sealed record AddReply(int Sum, string Agent, string Silo);

/// <summary>
/// A 3-silo in-process cluster whose silos register the test handlers (capability <c>math</c>: <c>add</c>, <c>fail</c>,
/// <c>slow</c>, <c>count</c>), with grain state in one store shared by the silos, as a cluster's database is (so state
/// outlives a killed silo).
/// </summary>
public sealed class HandlerCluster : IAsyncLifetime
{
    /// <summary>Request ids whose <c>slow</c> handler saw its token cancelled.</summary>
    public static readonly ConcurrentDictionary<Guid, DateTime> Cancelled = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await StartAsync(3);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>Starts <paramref name="silos"/> silos with the test handlers and a shared grain store.</summary>
    public static async Task<InProcessTestCluster> StartAsync(int silos)
    {
        var store = new ConcurrentDictionary<(string, GrainId), object>();
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAgents(ThreeSiloCluster.Settings);
            silo.Services.AddKeyedSingleton<IGrainStorage>(JobStorage.Name, (sp, _) => new SiloLocalGrainStorage(sp.GetRequiredService<DeepCopier>(), store));
            silo.AddMemoryGrainStorage("PubSubStore");
            silo.Services.AddSingleton(VectorStorage.Files(Directory.CreateTempSubdirectory("agents-handlers-").FullName));
            silo.AddAgentHandlers(a => a
                .Handle<AddRequest, AddReply>("add", (ctx, r) =>
                    Task.FromResult(new AddReply(r.A + r.B, ctx.AgentId, ctx.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString())), "math")
                .Handle<string, string>("fail", (_, message) => throw new InvalidOperationException(message), "math")
                .Handle<int, int>("slow", async (ctx, seconds) =>
                {
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(seconds), ctx.CancellationToken);
                        return seconds;
                    }
                    catch (OperationCanceledException)
                    {
                        Cancelled[ctx.RequestId] = DateTime.UtcNow;
                        throw;
                    }
                }, "math")
                .Handle<CountingHandler>("count", "math"));
        });
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>A handler type resolved from the silo's services: counts its calls in the agent's state.</summary>
    public sealed class CountingHandler : IAgentHandler<string, int>
    {
        public async Task<int> HandleAsync(AgentContext context, string key)
        {
            var count = context.State.Get<int>(key) + 1;
            context.State.Set(key, count);
            await Task.Yield();
            return count;
        }
    }
}

[CollectionDefinition(nameof(HandlerCollection))]
public sealed class HandlerCollection : ICollectionFixture<HandlerCluster>;
