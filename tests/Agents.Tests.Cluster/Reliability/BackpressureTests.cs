using System.Text;
using Agents.Engine;
using Agents.Hosting;
using Agents.Grains.Embeddings;
using Agents.Grains.Jobs;
using Agents.Tests.Text;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Agents.Tests.Reliability;

/// <summary>Overload meets bounded queues: work past a limit is refused at once with a message, and nothing accepted is lost.</summary>
public sealed class BackpressureTests
{
    [Fact]
    public async Task AFullEmbeddingQueueRefusesARequestWholeAndServesTheRest()
    {
        using var service = new EmbeddingService(new EmbeddingOptions(1, 1, MaxBatchSize: 4, TimeSpan.FromMilliseconds(1), QueueLimit: 16), TextTestData.Tokenizer);
        var accepted = service.EmbedAsync(Enumerable.Range(0, 16).Select(i => $"text number {i}").ToArray());

        // At most one batch of four can have left the queue yet, so twelve wait and twenty more do not fit.
        var refused = await Assert.ThrowsAsync<EmbeddingQueueFullException>(() => service.EmbedAsync(Enumerable.Range(0, 20).Select(i => $"more {i}").ToArray()));
        Assert.Contains("limit 16", refused.Message, StringComparison.Ordinal);
        Assert.Contains("20 more were refused", refused.Message, StringComparison.Ordinal);

        Assert.Equal(16, (await accepted).Length);
        Assert.Single(await service.EmbedAsync(["once the queue drained"]));
        Assert.Equal(17, service.TextsEmbedded);
    }

    [Fact]
    public async Task AFullOutboxRefusesSendsAndDeliversEveryAcceptedOne()
    {
        // Batches wait two seconds to fill, so the first fifty sends sit in the outbox while the rest arrive.
        var settings = new AgentsSettings
        {
            Performance = new PerformanceSettings { MessageOutboxLimit = 50, MessageBatchSize = 1000, MessageFlushInterval = TimeSpan.FromSeconds(2) },
        };
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddAgents(settings);
            silo.AddMemoryGrainStorage(JobStorage.Name);
            silo.AddMemoryGrainStorage("PubSubStore");
        });
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var sender = cluster.Client.GetGrain<IAgentGrain>("flooder");

        var sends = Enumerable.Range(0, 200).Select(i => sender.SendAsync("slow-reader", "note", Encoding.UTF8.GetBytes($"m{i}"))).ToList();
        var outcomes = await Task.WhenAll(sends.Select(async s =>
        {
            try
            {
                await s;
                return null;
            }
            catch (OverloadedException e)
            {
                return e.Message;
            }
        }));

        var refusals = outcomes.Where(o => o is not null).ToList();
        Assert.Equal(150, refusals.Count);
        Assert.All(refusals, m => Assert.Contains("performance.message_outbox_limit 50", m, StringComparison.Ordinal));
        var inbox = await cluster.Client.GetGrain<IAgentGrain>("slow-reader").ReadInboxAsync();
        Assert.Equal(50, inbox.Length);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), inbox.Select(m => m.Sequence));

        // Room again once delivered.
        await sender.SendAsync("slow-reader", "note", "after"u8.ToArray());
        Assert.Equal(51, (await sender.GetStatsAsync()).Sent);
    }
}
