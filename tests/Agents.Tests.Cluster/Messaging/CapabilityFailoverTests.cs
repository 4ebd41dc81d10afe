using System.Collections.Concurrent;
using System.Text.Json;
using Agents.Client;
using Orleans.TestingHost;

namespace Agents.Tests.Messaging;

/// <summary>The capability directory and routed asks when a holder's silo is killed, on a cluster of their own.</summary>
public sealed class CapabilityFailoverTests
{
    [Fact]
    public async Task AHolderSiloKilledIsPrunedAndNoAskIsLost()
    {
        await using var cluster = await HandlerCluster.StartAsync(3);
        var client = AgentsClient.FromCluster(cluster.Client);
        const string capability = "failover";
        var holdersBySilo = new Dictionary<string, string>();
        for (var i = 0; i < 300 && holdersBySilo.Count < 3; i++)
        {
            var id = $"holder-{i}";
            var silo = (await client.Agent(id).GetProfileAsync()).Silo;
            if (holdersBySilo.TryAdd(silo, id))
            {
                await client.Agent(id).SetCapabilitiesAsync([capability, "math"]);
            }
        }

        Assert.Equal(3, (await client.FindAgentsAsync(capability)).Count);
        var victim = cluster.Silos.Skip(1).First();
        var dead = victim.SiloAddress.ToParsableString();
        var lostHolder = holdersBySilo[dead];

        // Asks keep flowing while the silo dies; every one must be answered (by some holder).
        using var stop = new CancellationTokenSource();
        var answered = new ConcurrentDictionary<string, int>();
        var failures = new ConcurrentBag<Exception>();
        var asks = 0;
        var traffic = Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref asks);
                try
                {
                    var reply = await client.AskAnyAsync<AddRequest, AddReply>(capability, "add", new AddRequest(1, 2), TimeSpan.FromSeconds(3));
                    answered.AddOrUpdate(reply.Agent, 1, (_, n) => n + 1);
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            }
        }));

        await Task.Delay(300);
        await cluster.KillSiloAsync(victim);
        await cluster.WaitForLivenessToStabilizeAsync();

        // The directory (wherever it lived) still lists the survivors and drops the dead silo's holder.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        IReadOnlyList<Agents.GrainInterfaces.AgentHolder> found;
        while ((found = await client.FindAgentsAsync(capability)).Any(h => h.Silo == dead))
        {
            Assert.True(DateTime.UtcNow < deadline, "the dead silo's holder was never pruned");
            await Task.Delay(100);
        }

        // The survivors stay listed (the lost holder may be back already, reactivated on a live silo by an ask in flight).
        Assert.Subset(found.Select(h => h.AgentId).ToHashSet(), holdersBySilo.Where(p => p.Key != dead).Select(p => p.Value).ToHashSet());

        await Task.Delay(500);
        await stop.CancelAsync();
        await traffic;
        Assert.Empty(failures);
        Assert.Equal(asks, answered.Values.Sum());
        Assert.True(answered.Count >= 2);

        // The lost holder is an agent still: asked by name it comes back on a live silo and registers again there.
        var back = await client.AskAsync<AddRequest, AddReply>(lostHolder, "add", new AddRequest(2, 2));
        Assert.NotEqual(dead, back.Silo);
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!(await client.FindAgentsAsync(capability)).Any(h => h.AgentId == lostHolder && h.Silo == back.Silo))
        {
            Assert.True(DateTime.UtcNow < deadline, "the reactivated holder did not register again");
            await Task.Delay(100);
        }
    }
}
