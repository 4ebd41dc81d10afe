using System.Net;
using Agents.Grains.Vectors;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Agents.Tests.Vectors;

/// <summary>The shard assignment on its own: balance, order independence, and what moves when a silo joins or dies.</summary>
public sealed class ShardPlacementTests(ITestOutputHelper output)
{
    // Silo n started n-th: its generation is its age.
    private static SiloAddress Silo(int n) => SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11000 + n), 1000 + n);

    private static List<SiloAddress> Silos(int count) => Enumerable.Range(0, count).Select(Silo).ToList();

    private static int Moved(SiloAddress[] before, SiloAddress[] after) => before.Zip(after).Count(p => !p.First.Equals(p.Second));

    [Fact]
    public void EverySiloHoldsItsShareWhateverTheCounts()
    {
        for (var shards = 1; shards <= 24; shards++)
        {
            for (var silos = 1; silos <= 8; silos++)
            {
                var all = Silos(silos);
                var owner = ShardPlacement.Assign($"c{shards}-{silos}", shards, all);
                var counts = all.Select(s => owner.Count(o => o.Equals(s))).ToList();
                Assert.All(owner, o => Assert.Contains(o, all));
                Assert.True(counts.Max() - counts.Min() <= 1, $"{shards} shards on {silos} silos: {string.Join('/', counts)}");
            }
        }

        // The case plain rendezvous gets wrong half the time: two shards, two silos.
        for (var c = 0; c < 50; c++)
        {
            Assert.Equal(2, ShardPlacement.Assign($"pair{c}", 2, Silos(2)).Distinct().Count());
        }
    }

    [Fact]
    public void TheAnswerDoesNotDependOnTheOrderSilosAreListedIn()
    {
        var silos = Silos(5);
        var expected = ShardPlacement.Assign("orders", 12, silos);
        for (var seed = 0; seed < 20; seed++)
        {
            var shuffled = silos.OrderBy(_ => Random.Shared.Next()).ToList();
            Assert.Equal(expected, ShardPlacement.Assign("orders", 12, shuffled));
        }
    }

    [Fact]
    public void AJoiningSiloTakesExactlyItsShareAndNothingElseMoves()
    {
        foreach (var (shards, silos) in new[] { (4, 1), (4, 2), (6, 2), (8, 3), (16, 4), (12, 5), (2, 2), (256, 7) })
        {
            for (var c = 0; c < 20; c++)
            {
                var collection = $"join{c}";
                var before = ShardPlacement.Assign(collection, shards, Silos(silos));
                var joiner = Silo(silos);
                var after = ShardPlacement.Assign(collection, shards, Silos(silos + 1));
                Assert.All(before.Zip(after).Where(p => !p.First.Equals(p.Second)), p => Assert.Equal(joiner, p.Second));
                Assert.Equal(shards / (silos + 1), Moved(before, after));
            }
        }
    }

    [Fact]
    public void WhenTheYoungestSiloDiesOnlyItsShardsMove()
    {
        for (var c = 0; c < 50; c++)
        {
            var before = ShardPlacement.Assign($"young{c}", 8, Silos(4));
            var after = ShardPlacement.Assign($"young{c}", 8, Silos(3));
            Assert.All(before.Zip(after), p => Assert.True(p.First.Equals(Silo(3)) || p.First.Equals(p.Second)));
        }
    }

    [Fact]
    public void WhenAnySiloDiesItsShardsMoveAndFewOthersDo()
    {
        foreach (var (shards, silos) in new[] { (4, 3), (8, 4), (16, 4), (12, 6) })
        {
            double extra = 0;
            var trials = 0;
            for (var c = 0; c < 50; c++)
            {
                var all = Silos(silos);
                var before = ShardPlacement.Assign($"death{c}", shards, all);
                foreach (var dead in all)
                {
                    var after = ShardPlacement.Assign($"death{c}", shards, all.Where(s => !s.Equals(dead)));
                    Assert.All(before.Zip(after).Where(p => p.First.Equals(dead)), p => Assert.NotEqual(dead, p.Second));
                    var counts = all.Where(s => !s.Equals(dead)).Select(s => after.Count(o => o.Equals(s))).ToList();
                    Assert.True(counts.Max() - counts.Min() <= 1);
                    extra += Moved(before, after) - before.Count(o => o.Equals(dead));
                    trials++;
                }
            }

            // Survivors that move are those whose silo joined after the dead one and took shards it no longer has to give.
            var perDeath = extra / trials;
            output.WriteLine($"{shards} shards on {silos} silos: a death moves the dead silo's {shards / (double)silos:F1} shards and {perDeath:F2} others on average");
            Assert.True(perDeath < shards / (double)silos, $"{perDeath:F2} survivors moved per death");
        }
    }
}
