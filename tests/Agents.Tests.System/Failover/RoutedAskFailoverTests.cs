using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Agents.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Agents.Tests.Failover;

/// <summary>Routed asks on real silo processes and PostgreSQL while a holder's silo is SIGKILLed.</summary>
[Collection(nameof(PostgresCollection))]
public sealed class RoutedAskFailoverTests(PostgresServer postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task KillingAHoldersSiloCostsSecondsOfFailoversAndLosesNoAsk()
    {
        await using var cluster = await ProcessCluster.StartAsync(await postgres.CreateDatabaseAsync(), 3, output);
        var client = cluster.Client;
        const string capability = "routed-echo";
        var holders = new Dictionary<string, string>();
        for (var i = 0; i < 9; i++)
        {
            var id = $"holder-{i}";
            await client.Agent(id).SetCapabilitiesAsync([capability]);
            holders[id] = (await client.Agent(id).GetProfileAsync()).Silo;
        }

        var found = await client.FindAgentsAsync(capability);
        Assert.Equal(9, found.Count);

        // The victim: a silo (not the first, whose gateway the client may use) that holds some of the holders.
        var victim = cluster.Silos.Skip(1).First(s => holders.Values.Any(silo => PortOf(silo) == 11111 + s.Instance));
        var deadSilo = holders.Values.First(silo => PortOf(silo) == 11111 + victim.Instance);

        // Every ask carries its own body and must come back with it: none lost, none failed.
        using var stop = new CancellationTokenSource();
        var failures = new ConcurrentBag<Exception>();
        long asked = 0, answered = 0;
        var traffic = Task.WhenAll(Enumerable.Range(0, 8).Select(async worker =>
        {
            while (!stop.IsCancellationRequested)
            {
                var body = Encoding.UTF8.GetBytes($"{worker}-{Interlocked.Increment(ref asked)}");
                try
                {
                    var reply = await client.AskAnyAsync(capability, "echo", body, TimeSpan.FromSeconds(5));
                    Assert.Equal(body, reply);
                    Interlocked.Increment(ref answered);
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            }
        }));

        await Task.Delay(TimeSpan.FromSeconds(2));
        var killedAt = DateTime.UtcNow;
        output.WriteLine($"killing silo instance {victim.Instance} ({holders.Count(h => h.Value == deadSilo)} holders) after {Interlocked.Read(ref answered)} answers");
        victim.Kill();

        // The directory drops the dead silo's holders and keeps the rest.
        var clock = Stopwatch.StartNew();
        while ((found = await client.FindAgentsAsync(capability)).Any(h => h.Silo == deadSilo))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the dead silo's holders were never pruned");
            await Task.Delay(100);
        }

        // The survivors stay listed (a lost holder may be back already, reactivated on a live silo by an ask in flight).
        Assert.Subset(found.Select(h => h.AgentId).ToHashSet(), holders.Where(h => h.Value != deadSilo).Select(h => h.Key).ToHashSet());

        await Task.Delay(TimeSpan.FromSeconds(8));
        await stop.CancelAsync();
        await traffic;
        var failoverWindow = client.LastFailoverAtUtc is { } last ? last - killedAt : TimeSpan.Zero;
        output.WriteLine($"{answered} of {asked} asks answered; {client.RoutingFailovers} failovers, the last {failoverWindow.TotalSeconds:F2} s after the kill");
        Assert.Empty(failures);
        Assert.Equal(asked, answered);
        Assert.True(failoverWindow <= TimeSpan.FromSeconds(5), $"asks still failed over {failoverWindow.TotalSeconds:F2} s after the kill");
        cluster.Passed();
    }

    private static int PortOf(string silo) => int.Parse(silo.Split('@')[0].Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);
}
