using System.Text;
using Agents.Client;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Messaging;

/// <summary>Agents messaging each other across the silos of a real 3-silo cluster.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class AgentMessagingTests(ThreeSiloCluster fixture)
{
    private AgentsClient Client => AgentsClient.FromCluster(fixture.Client);

    /// <summary>Two fresh agents that live on different silos.</summary>
    private async Task<(string A, string B)> PairOnTwoSilosAsync(string prefix)
    {
        var first = $"{prefix}-{Guid.NewGuid():N}";
        var firstSilo = (await Client.Agent(first).GetProfileAsync()).Silo;
        for (var i = 0; i < 50; i++)
        {
            var second = $"{prefix}-{Guid.NewGuid():N}";
            if ((await Client.Agent(second).GetProfileAsync()).Silo != firstSilo)
            {
                return (first, second);
            }
        }

        throw new InvalidOperationException("agents never landed on two silos");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MessagesBetweenSilosArriveCompleteAndInOrderPerSender(bool batched)
    {
        var (a, b) = await PairOnTwoSilosAsync(batched ? "batched" : "single");
        var (c, _) = await PairOnTwoSilosAsync("third");
        var sender = Client.Agent(a);
        var other = Client.Agent(c);
        const int count = 500;

        // A send returns once delivered: batched, all are in flight at once and share batches; unbatched, one at a time.
        var sends = new List<Task>();
        for (var i = 0; i < count; i++)
        {
            var first = sender.SendAsync(b, "note", Encoding.UTF8.GetBytes($"a{i}"));
            var second = other.SendAsync(b, "note", Encoding.UTF8.GetBytes($"c{i}"));
            if (batched)
            {
                sends.Add(first);
                sends.Add(second);
            }
            else
            {
                await first;
                await second;
            }
        }

        await Task.WhenAll(sends);

        var inbox = await Client.Agent(b).ReadInboxAsync(10_000);
        Assert.Equal(2 * count, inbox.Length);
        foreach (var from in new[] { a, c })
        {
            var mine = inbox.Where(m => m.From == from).ToList();
            Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), mine.Select(m => m.Sequence));
            var prefix = from == a ? "a" : "c";
            var expected = Enumerable.Range(0, count).Select(i => $"{prefix}{i}");
            var got = mine.Select(m => Encoding.UTF8.GetString(m.Body));
            // Sends in flight together may reach the sender in any order; sent one at a time, they keep it.
            Assert.Equal(batched ? expected.Order() : expected, batched ? got.Order() : got);
        }

        var stats = await sender.GetStatsAsync();
        Assert.Equal(count, stats.Sent);
        if (batched)
        {
            Assert.True(stats.Batches < count / 2, $"{stats.Batches} batches for {count} messages");
        }
        else
        {
            Assert.Equal(count, stats.Batches);
        }
    }

    [Fact]
    public async Task RequestReplyAcrossSilos()
    {
        var (a, b) = await PairOnTwoSilosAsync("ask");
        await Client.Agent(b).SetCapabilitiesAsync(["summarise", "translate"]);

        Assert.Equal("ping"u8.ToArray(), await Client.Agent(a).AskAsync(b, "echo", "ping"u8.ToArray()));
        Assert.Equal("""["summarise","translate"]""", Encoding.UTF8.GetString(await Client.Agent(a).AskAsync(b, "capabilities", [])));
        var unknown = await Assert.ThrowsAsync<AgentRequestFailedException>(() => Client.Agent(a).AskAsync(b, "dance", []));
        Assert.Equal((b, "dance", AgentRequestFailure.NoHandler), (unknown.AgentId, unknown.Kind, unknown.Failure));
        Assert.Contains($"Agent '{b}' has no handler for 'dance' (it serves: echo, capabilities", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("summarise, translate", unknown.Message, StringComparison.Ordinal);
        var driver = await Client.AgentBenchmarkAsync(a);
        var latencies = await driver.AskBurstAsync(b, 200, 64, inFlight: 8, raw: false);
        Assert.Equal(200, latencies.Length);
        Assert.All(latencies, l => Assert.True(l > 0));
        var raw = await driver.AskBurstAsync(b, 200, 64, inFlight: 8, raw: true);
        Assert.Equal(200, raw.Length);
        Assert.All(raw, l => Assert.True(l > 0));
    }

    [Fact]
    public async Task ATopicReachesEverySubscriberOnEverySilo()
    {
        var topic = $"news-{Guid.NewGuid():N}";
        var subscribers = Enumerable.Range(0, 6).Select(i => $"sub-{i}-{Guid.NewGuid():N}").ToList();
        foreach (var id in subscribers)
        {
            await Client.Agent(id).JoinTopicAsync(topic);
        }

        Assert.True((await Task.WhenAll(subscribers.Select(id => Client.Agent(id).GetProfileAsync()))).Select(p => p.Silo).Distinct().Count() >= 2);
        var publisher = Client.Agent($"pub-{Guid.NewGuid():N}");
        await publisher.PublishAsync(topic, "headline", "hello"u8.ToArray());
        await publisher.PublishAsync(topic, "headline", "again"u8.ToArray());

        foreach (var id in subscribers)
        {
            var received = new List<AgentMessage>();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (received.Count < 2 && DateTime.UtcNow < deadline)
            {
                received.AddRange(await Client.Agent(id).ReadInboxAsync());
                await Task.Delay(20);
            }

            Assert.Equal(["hello", "again"], received.Select(m => Encoding.UTF8.GetString(m.Body)));
            Assert.All(received, m => Assert.Equal($"topic:{topic}", m.To));
        }

        await Client.Agent(subscribers[0]).LeaveTopicAsync(topic);
        await publisher.PublishAsync(topic, "headline", "third"u8.ToArray());
        await Task.Delay(300);
        Assert.Empty(await Client.Agent(subscribers[0]).ReadInboxAsync());
    }

    [Fact]
    public async Task AClientWatchingAnInboxSeesDeliveries()
    {
        var (a, b) = await PairOnTwoSilosAsync("watch");
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var watching = Task.Run(async () =>
        {
            await foreach (var message in Client.WatchInboxAsync(b, cancel.Token))
            {
                seen.Enqueue(Encoding.UTF8.GetString(message.Body));
                if (seen.Contains("three"))
                {
                    return;
                }
            }
        });

        // The subscription is in place once a probe comes through (no guessing how long subscribing takes).
        while (seen.IsEmpty)
        {
            cancel.Token.ThrowIfCancellationRequested();
            await Client.Agent(a).SendAsync(b, "probe", "probe"u8.ToArray());
            await Client.Agent(a).FlushAsync();
            await Task.Delay(100);
        }

        // Orleans keeps observers weakly: a watch must hold its own through collections.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        foreach (var text in new[] { "one", "two", "three" })
        {
            await Client.Agent(a).SendAsync(b, "note", Encoding.UTF8.GetBytes(text));
        }

        await Client.Agent(a).FlushAsync();
        await watching.WaitAsync(cancel.Token);
        Assert.Equal(["one", "two", "three"], seen.Where(t => t != "probe"));
    }

    [Fact]
    public async Task AFullInboxDropsItsOldestMessagesAndCountsThem()
    {
        var (a, b) = await PairOnTwoSilosAsync("full");
        var deliveries = await (await Client.AgentBenchmarkAsync(a)).SendBurstAsync(b, 100_010, 1);
        Assert.InRange(deliveries, 1, 100_010);

        var stats = await Client.Agent(b).GetStatsAsync();
        Assert.Equal((100_010L, 100_000L, 10L), (stats.Received, stats.InboxLength, stats.Dropped));
        Assert.Equal(11, (await Client.Agent(b).ReadInboxAsync(1)).Single().Sequence);
    }

    [Fact]
    public async Task BadAgentIdsAndTopicsAreRejected()
    {
        var agent = Client.Agent($"bad-{Guid.NewGuid():N}");
        Assert.Contains("1-256", (await Assert.ThrowsAsync<ArgumentException>(() => agent.SendAsync("", "x", []))).Message, StringComparison.Ordinal);
        Assert.Contains("topic", (await Assert.ThrowsAsync<ArgumentException>(() => agent.JoinTopicAsync(" "))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Client.Agent(new string('x', 300)));
    }
}
