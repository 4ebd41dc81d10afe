using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Agents.Client;

namespace Agents.Tests.Messaging;

/// <summary>Request handlers, capability discovery and routed asks on a real 3-silo cluster.</summary>
[Collection(nameof(HandlerCollection))]
public sealed class AgentHandlerTests(HandlerCluster fixture)
{
    private AgentsClient Client => AgentsClient.FromCluster(fixture.Cluster.Client);

    private static byte[] Json<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, AgentJson.Options);

    /// <summary>A fresh agent serving <c>math</c> on each of the silos, in silo order.</summary>
    private async Task<List<string>> HolderPerSiloAsync(AgentsClient client, string capability, int silos = 3)
    {
        var bySilo = new Dictionary<string, string>();
        for (var i = 0; i < 200 && bySilo.Count < silos; i++)
        {
            var id = $"{capability}-{Guid.NewGuid():N}";
            var silo = (await client.Agent(id).GetProfileAsync()).Silo;
            if (bySilo.TryAdd(silo, id))
            {
                await client.Agent(id).SetCapabilitiesAsync([capability, "math"]);
            }
        }

        Assert.Equal(silos, bySilo.Count);
        return bySilo.Values.ToList();
    }

    [Fact]
    public async Task HandlersAnswerAcrossSilosForClientsAndAgents()
    {
        var client = Client;
        var holders = await HolderPerSiloAsync(client, "across");
        foreach (var id in holders)
        {
            var reply = await client.AskAsync<AddRequest, AddReply>(id, "add", new AddRequest(2, 3));
            Assert.Equal(5, reply.Sum);
            Assert.Equal(id, reply.Agent);
            Assert.Equal((await client.Agent(id).GetProfileAsync()).Silo, reply.Silo);
        }

        // Agent to agent, silo to silo, with JSON bodies.
        var answer = await client.Agent(holders[0]).AskAsync(holders[1], "add", Json(new AddRequest(40, 2)));
        Assert.Equal(42, JsonSerializer.Deserialize<AddReply>(answer, AgentJson.Options)!.Sum);
    }

    [Fact]
    public async Task AThrowingHandlerIsATypedFailureAndTheAgentAnswersOnWithItsState()
    {
        var client = Client;
        var id = (await HolderPerSiloAsync(client, "failing", 1))[0];
        Assert.Equal(1, await client.AskAsync<string, int>(id, "count", "calls"));

        var failure = await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.AskAsync(id, "fail", Json("boom")));
        Assert.Equal(id, failure.AgentId);
        Assert.Equal("fail", failure.Kind);
        Assert.Equal(AgentRequestFailure.HandlerFailed, failure.Failure);
        Assert.Equal(typeof(InvalidOperationException).FullName, failure.ErrorType);
        Assert.Contains("boom", failure.Message);

        // From another agent too, and the body that does not parse is a failure of its own.
        var asker = $"asker-{Guid.NewGuid():N}";
        var relayed = await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.Agent(asker).AskAsync(id, "fail", Json("again")));
        Assert.Equal(id, relayed.AgentId);
        var bad = await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.AskAsync(id, "add", Encoding.UTF8.GetBytes("not json")));
        Assert.Equal(AgentRequestFailure.BadRequest, bad.Failure);

        // Same activation, same state: the failures neither killed it nor lost what it kept.
        Assert.Equal(2, await client.AskAsync<string, int>(id, "count", "calls"));
        Assert.Equal(5, (await client.AskAsync<AddRequest, AddReply>(id, "add", new AddRequest(1, 4))).Sum);
    }

    [Fact]
    public async Task AnUnknownKindNamesTheAgentTheKindAndWhatItServes()
    {
        var client = Client;
        var id = (await HolderPerSiloAsync(client, "unknown", 1))[0];
        var failure = await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.AskAsync(id, "translate", Json("hi")));
        Assert.Equal(AgentRequestFailure.NoHandler, failure.Failure);
        Assert.Contains($"Agent '{id}' has no handler for 'translate'", failure.Message);
        Assert.Contains("it serves: echo, capabilities, add, count, fail, slow", failure.Message);

        // A handler the silo has, for an agent that does not list its capability.
        var plain = $"plain-{Guid.NewGuid():N}";
        var notListed = await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.AskAsync(plain, "add", Json(new AddRequest(1, 1))));
        Assert.Contains("(it serves: echo, capabilities)", notListed.Message);
    }

    [Fact]
    public async Task ASlowHandlerIsCancelledAtTheAskersTimeout()
    {
        var client = Client;
        var id = (await HolderPerSiloAsync(client, "slow", 1))[0];
        var before = HandlerCluster.Cancelled.Count;
        var clock = Stopwatch.StartNew();
        var timeout = await Assert.ThrowsAsync<AgentRequestTimeoutException>(() => client.AskAsync(id, "slow", Json(60), TimeSpan.FromMilliseconds(500)));
        clock.Stop();
        Assert.IsAssignableFrom<TimeoutException>(timeout);
        Assert.Equal(id, timeout.AgentId);
        Assert.Equal("slow", timeout.Kind);
        Assert.Contains($"Agent '{id}' did not answer 'slow' within 0.5 s", timeout.Message);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(10));

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (HandlerCluster.Cancelled.Count == before)
        {
            Assert.True(DateTime.UtcNow < deadline, "the slow handler's token was never cancelled");
            await Task.Delay(20);
        }

        // One within its time still answers, from the same agent.
        Assert.Equal(0, await client.AskAsync<int, int>(id, "slow", 0, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task FindAgentsListsTheHoldersWithTheirSilos()
    {
        var client = Client;
        var capability = $"find-{Guid.NewGuid():N}"[..16];
        var holders = await HolderPerSiloAsync(client, capability);
        var found = await client.FindAgentsAsync(capability);
        Assert.Equal(holders.Order(), found.Select(h => h.AgentId).Order());
        foreach (var holder in found)
        {
            Assert.Equal((await client.Agent(holder.AgentId).GetProfileAsync()).Silo, holder.Silo);
        }

        Assert.Contains(capability, await client.ListCapabilitiesAsync());

        // Giving up a capability takes the agent out of its directory.
        await client.Agent(holders[0]).SetCapabilitiesAsync(["math"]);
        Assert.DoesNotContain(holders[0], (await client.FindAgentsAsync(capability)).Select(h => h.AgentId));
        Assert.Empty(await client.FindAgentsAsync($"none-{Guid.NewGuid():N}"[..16]));
    }

    [Fact]
    public async Task AskAnySpreadsRequestsEvenlyOverTheHolders()
    {
        var client = Client;
        var capability = $"spread-{Guid.NewGuid():N}"[..16];
        var holders = await HolderPerSiloAsync(client, capability);
        const int asks = 600;
        var answered = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < asks)
            {
                var reply = await client.AskAnyAsync<AddRequest, AddReply>(capability, "add", new AddRequest(1, 1));
                answered.AddOrUpdate(reply.Agent, 1, (_, n) => n + 1);
            }
        }));

        Assert.Equal(holders.Order(), answered.Keys.Order());
        Assert.Equal(asks, answered.Values.Sum());
        foreach (var (agent, count) in answered)
        {
            Assert.InRange(count, asks / 3 * 0.85, asks / 3 * 1.15);
        }

        // A handler's failure comes back as it is, never retried on another holder.
        var before = client.RoutingFailovers;
        await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.AskAnyAsync(capability, "fail", Json("no retry")));
        Assert.Equal(before, client.RoutingFailovers);
        var none = await Assert.ThrowsAsync<AgentRequestFailedException>(() => client.AskAnyAsync($"none-{Guid.NewGuid():N}"[..16], "add", Json(new AddRequest(1, 1))));
        Assert.Contains("No agent holds capability", none.Message);
    }

    [Fact]
    public async Task AnAgentAsksALocalHolderFirst()
    {
        var client = Client;
        var capability = $"local-{Guid.NewGuid():N}"[..16];
        var holders = await HolderPerSiloAsync(client, capability);
        foreach (var holder in holders)
        {
            // A fresh asker on the holder's silo.
            var silo = (await client.Agent(holder).GetProfileAsync()).Silo;
            string asker;
            do
            {
                asker = $"asker-{Guid.NewGuid():N}";
            }
            while ((await client.Agent(asker).GetProfileAsync()).Silo != silo);

            for (var i = 0; i < 5; i++)
            {
                var reply = JsonSerializer.Deserialize<AddReply>(await client.Agent(asker).AskAnyAsync(capability, "add", Json(new AddRequest(i, i))), AgentJson.Options)!;
                Assert.Equal(holder, reply.Agent);
            }
        }
    }

    [Fact]
    public async Task BadAsksAreRefusedWithWhatWasWrong()
    {
        var client = Client;
        var wrong = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.AskAsync("someone", "add", [], TimeSpan.Zero));
        Assert.Contains("timeout", wrong.Message);
        var name = await Assert.ThrowsAsync<ArgumentException>(() => client.FindAgentsAsync("two words"));
        Assert.Contains("capability", name.Message);
    }
}
