using Agents.Engine;
using Agents.GrainInterfaces;
using Agents.Grains.Messaging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;

namespace Agents.Tests.Messaging;

public sealed class AgentOutboxTests
{
    private static readonly byte[] Body = [1, 2, 3];

    /// <summary>Runs <paramref name="body"/> and every continuation it starts on one thread at a time, as a grain's turns run.</summary>
    private static Task OneAtATime(Func<Task> body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.None, new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler).Unwrap();

    /// <summary>An outbox whose deliveries land in <paramref name="delivered"/> (receiver, batch), in order.</summary>
    private static AgentOutbox Outbox(List<(string To, AgentMessage[] Batch)> delivered, int batchSize = 3, int limit = 100, TimeSpan? flushInterval = null, Func<int, Task>? attempt = null)
    {
        var calls = 0;
        return new AgentOutbox(
            "me",
            new PerformanceSettings { MessageBatchSize = batchSize, MessageOutboxLimit = limit, MessageFlushInterval = flushInterval ?? TimeSpan.Zero },
            to => async batch =>
            {
                if (attempt is not null)
                {
                    await attempt(++calls);
                }

                delivered.Add((to, batch));
            },
            NullLogger.Instance);
    }

    [Fact]
    public Task ABurstGoesInFullBatchesInOrderNumberedPerReceiver() => OneAtATime(async () =>
    {
        var delivered = new List<(string To, AgentMessage[] Batch)>();
        var outbox = Outbox(delivered);
        for (var i = 0; i < 7; i++)
        {
            outbox.Post("peer", "k", Body);
        }

        outbox.Post("other", "k", Body);
        await outbox.FlushAsync();

        var toPeer = delivered.Where(d => d.To == "peer").Select(d => d.Batch).ToList();
        Assert.Equal([3, 3, 1], toPeer.Select(b => b.Length));
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long)i), toPeer.SelectMany(b => b).Select(m => m.Sequence));
        Assert.Equal(1, delivered.Single(d => d.To == "other").Batch.Single().Sequence);
        Assert.All(delivered.SelectMany(d => d.Batch), m => Assert.Equal(("me", outbox.Epoch), (m.From, m.Epoch)));
        Assert.Equal((8L, 4L, 0), (outbox.Delivered, outbox.Batches, outbox.Queued));
    });

    [Fact]
    public Task ASendIsAcknowledgedOnceTheReceiverHasIt() => OneAtATime(async () =>
    {
        var delivered = new List<(string To, AgentMessage[] Batch)>();
        var outbox = Outbox(delivered, flushInterval: TimeSpan.FromMilliseconds(20));
        var send = outbox.SendAsync("peer", "k", Body);
        Assert.False(send.IsCompleted);
        Assert.Equal(1, outbox.Queued);

        await send;
        Assert.Single(delivered);
        Assert.Equal(0, outbox.Queued);
    });

    [Fact]
    public Task AFullOutboxRefusesSendsButTakesPosts() => OneAtATime(async () =>
    {
        var delivered = new List<(string To, AgentMessage[] Batch)>();
        var outbox = Outbox(delivered, batchSize: 10, limit: 2, flushInterval: TimeSpan.FromSeconds(10));
        var first = outbox.SendAsync("peer", "k", Body);
        var second = outbox.SendAsync("peer", "k", Body);
        Assert.True(outbox.IsFull);

        // Refused at once, before anything is queued.
        var refused = Assert.Throws<OverloadedException>(() => { _ = outbox.SendAsync("peer", "k", Body); });
        Assert.Contains("message_outbox_limit", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, outbox.Queued);

        outbox.Post("peer", "k", Body);
        await outbox.FlushAsync();
        await Task.WhenAll(first, second);
        Assert.Equal(3, delivered.Single().Batch.Length);
    });

    [Fact]
    public Task ADeliveryLostWithItsSiloIsRetriedAndAFailedOneFailsItsSenders() => OneAtATime(async () =>
    {
        var delivered = new List<(string To, AgentMessage[] Batch)>();
        var retried = Outbox(delivered, attempt: n => n < 3 ? Task.FromException(new SiloUnavailableException()) : Task.CompletedTask);
        await retried.SendAsync("peer", "k", Body);
        Assert.Single(delivered);

        var failing = Outbox(delivered, attempt: _ => Task.FromException(new InvalidOperationException("refused")));
        var send = failing.SendAsync("peer", "k", Body);
        Assert.Equal("refused", (await Assert.ThrowsAsync<InvalidOperationException>(() => send)).Message);
        Assert.Equal((0L, 0), (failing.Delivered, failing.Queued));
    });

    [Fact]
    public void BadReceiversAreRejected()
    {
        var outbox = Outbox([]);
        Assert.Contains("1-256", Assert.Throws<ArgumentException>(() => outbox.Post("", "k", Body)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => outbox.Post(new string('x', 257), "k", Body));
        Assert.Equal(0, outbox.Queued);
    }

    [Fact]
    public void StampsNumberEachTargetOnItsOwn()
    {
        var outbox = Outbox([]);
        Assert.Equal(1, outbox.Stamp("topic:news", "k", Body).Sequence);
        Assert.Equal(2, outbox.Stamp("topic:news", "k", Body).Sequence);
        Assert.Equal(1, outbox.Stamp("peer", "k", Body).Sequence);
    }
}
