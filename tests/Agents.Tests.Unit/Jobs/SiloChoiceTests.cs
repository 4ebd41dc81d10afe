using Agents.GrainInterfaces;
using Agents.Grains.Jobs;

namespace Agents.Tests.Jobs;

public sealed class SiloChoiceTests
{
    private static readonly DateTime Now = new(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static SiloChoice Choice(params string[] active)
    {
        var choice = new SiloChoice(new Random(7));
        choice.SetActive(active);
        return choice;
    }

    [Fact]
    public void RoundRobinGoesByBatchIndexOverTheActiveSilosInOrder()
    {
        var choice = Choice("c", "a", "b");
        Assert.Equal(["a", "b", "c"], choice.Active);
        Assert.Equal(["c", "a", "b", "c"], choice.Place(Distribution.RoundRobin, firstBatch: 2, count: 4, Now));
    }

    [Fact]
    public void RandomPicksOnlyActiveSilos()
    {
        var placed = Choice("a", "b").Place(Distribution.Random, 0, 200, Now);
        Assert.All(placed, s => Assert.Contains(s, new[] { "a", "b" }));
        Assert.Contains("a", placed);
        Assert.Contains("b", placed);
    }

    [Fact]
    public void LeastLoadedWeighsOutstandingBatchesAgainstCapacity()
    {
        var choice = Choice("a", "b");
        choice.Reported("a", 2);
        for (var i = 0; i < 8; i++)
        {
            choice.Holds("a");
        }

        // a: 8 outstanding for a limit of 8 (load 1); b: none for a limit of 4. The first four fill b to load 1; from
        // then on each goes where the load is lowest, so the loads end within a batch of each other.
        var placed = choice.Place(Distribution.LeastLoaded, 0, 12, Now);
        Assert.Equal(["b", "b", "b", "b"], placed[..4]);
        var toA = placed.Count(s => s == "a");
        Assert.InRange(toA, 5, 6);
        Assert.InRange(Math.Abs((8.0 + toA) / 8 - (12.0 - toA) / 4), 0, 0.25);
    }

    [Fact]
    public void ASuspectSiloTakesNoNewBatchesUntilItsTimeIsUp()
    {
        var choice = Choice("a", "b");
        choice.Suspect("a", Now + TimeSpan.FromSeconds(10));
        Assert.All(choice.Place(Distribution.RoundRobin, 0, 4, Now), s => Assert.Equal("b", s));
        Assert.True(choice.IsSuspect("a", Now));
        Assert.False(choice.IsSuspect("a", Now + TimeSpan.FromSeconds(11)));
        Assert.Contains("a", choice.Place(Distribution.RoundRobin, 0, 4, Now + TimeSpan.FromSeconds(11)));
    }

    [Fact]
    public void NoSiloToPlaceOnIsRetryable()
    {
        var choice = Choice("a");
        choice.Suspect("a", Now + TimeSpan.FromSeconds(10));
        Assert.Throws<OverloadedException>(() => choice.Place(Distribution.RoundRobin, 0, 1, Now));
        Assert.Throws<OverloadedException>(() => Choice().Place(Distribution.LeastLoaded, 0, 1, Now));
    }

    [Fact]
    public void ASiloRunsFourBatchesPerWorkerThreadAtOnce()
    {
        var choice = Choice("a");
        Assert.Equal(4, choice.Limit("a"));
        choice.Reported("a", 3);
        Assert.Equal(12, choice.Limit("a"));
        choice.Reported("a", 0);
        Assert.Equal(4, choice.Limit("a"));

        for (var i = 0; i < 4; i++)
        {
            Assert.True(choice.HasRoom("a"));
            choice.Start("a");
        }

        Assert.False(choice.HasRoom("a"));
        choice.Finish("a");
        Assert.True(choice.HasRoom("a"));
        Assert.Equal(3, choice.InFlight("a"));
    }

    [Fact]
    public void BatchesOfALeftSiloShareTheElsewhereSlotWhichIsNeverSuspect()
    {
        var choice = Choice("a");
        Assert.Equal("a", choice.SlotOf("a"));
        Assert.Equal(SiloChoice.Elsewhere, choice.SlotOf("gone"));

        choice.Suspect(SiloChoice.Elsewhere, Now + TimeSpan.FromSeconds(10));
        Assert.False(choice.IsSuspect(SiloChoice.Elsewhere, Now));

        choice.SetActive(["b"]);
        Assert.Equal(SiloChoice.Elsewhere, choice.SlotOf("a"));
    }

    [Fact]
    public void CountedBatchesNoLongerWeighOnTheirSilo()
    {
        var choice = Choice("a");
        choice.Holds("a");
        choice.Holds("a");
        choice.Counted("a");
        Assert.Equal(1, choice.Uncounted("a"));
        Assert.Equal(0, choice.Uncounted("b"));
    }
}
