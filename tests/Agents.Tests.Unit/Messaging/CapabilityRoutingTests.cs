using Agents.GrainInterfaces;
using Agents.Grains.Messaging;

namespace Agents.Tests.Messaging;

/// <summary>The router's choice of holder and the handler registry's rules, without a cluster.</summary>
public sealed class CapabilityRoutingTests
{
    // Pick needs no grain factory: only HoldersAsync and ReportLostAsync call the directory.
    private static CapabilityRouter Router() => new(null!);

    private static AgentHolder Holder(string id, string silo) => new(id, silo, DateTime.UtcNow);

    [Fact]
    public void HoldersAreTakenInTurnAndLostOnesSkipped()
    {
        var router = Router();
        var holders = new[] { Holder("a", "s1"), Holder("b", "s2"), Holder("c", "s3") };
        var picks = Enumerable.Range(0, 300).Select(_ => router.Pick(holders, null)!.AgentId).GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal([100, 100, 100], picks.Values);

        var lost = new HashSet<string> { "a", "b" };
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal("c", router.Pick(holders, null, lost)!.AgentId));
        Assert.Null(router.Pick(holders, null, new HashSet<string> { "a", "b", "c" }));
        Assert.Null(router.Pick([], null));
    }

    [Fact]
    public void ALocalHolderComesFirstAndOneFarBehindIsPassedOver()
    {
        var router = Router();
        var holders = new[] { Holder("a", "s1"), Holder("b", "s2"), Holder("c", "s2") };
        Assert.All(Enumerable.Range(0, 10), _ => Assert.Equal("a", router.Pick(holders, "s1")!.AgentId));
        Assert.All(Enumerable.Range(0, 10), _ => Assert.NotEqual("a", router.Pick(holders, "s2")!.AgentId));

        // "b" has more requests in flight than the least loaded plus the slack: only "a" and "c" take turns.
        var inFlight = Enumerable.Range(0, router.LoadSlack + 1).Select(_ => router.Track("b")).ToList();
        Assert.DoesNotContain("b", Enumerable.Range(0, 20).Select(_ => router.Pick(holders, null)!.AgentId));
        Assert.Equal(router.LoadSlack + 1, router.InFlight("b"));
        inFlight.ForEach(r => r.Dispose());
        Assert.Equal(0, router.InFlight("b"));
        Assert.Contains("b", Enumerable.Range(0, 20).Select(_ => router.Pick(holders, null)!.AgentId));
    }

    [Fact]
    public void TheRegistryRefusesBadRegistrationsNamingTheKind()
    {
        var registry = new AgentHandlerRegistry().Handle<int, int>("double", (_, n) => Task.FromResult(2 * n), capability: "math");
        Assert.Equal("math", registry.Find("double")!.Capability);
        Assert.Equal(["math"], registry.Capabilities);
        Assert.Contains("'double' is already registered", Assert.Throws<ArgumentException>(() => registry.HandleRaw("double", (_, b) => Task.FromResult(b))).Message);
        Assert.Contains("'echo' is answered by every agent", Assert.Throws<ArgumentException>(() => registry.HandleRaw("echo", (_, b) => Task.FromResult(b))).Message);
        Assert.Contains("without spaces", Assert.Throws<ArgumentException>(() => registry.HandleRaw("two words", (_, b) => Task.FromResult(b))).Message);
        Assert.Contains("must implement IAgentHandler", Assert.Throws<ArgumentException>(() => registry.Handle<string>("text")).Message);
        Assert.Equal("text", new AgentHandlerRegistry().Handle<Upper>("text").Find("text")!.Capability);
    }

    [Fact]
    public void AnAsksTimeoutMustBePositiveAndBounded()
    {
        Assert.Equal(AgentRequests.DefaultTimeout, AgentRequests.EffectiveTimeout(null));
        Assert.Throws<ArgumentOutOfRangeException>(() => AgentRequests.EffectiveTimeout(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => AgentRequests.EffectiveTimeout(AgentRequests.MaxTimeout + TimeSpan.FromSeconds(1)));
    }

    private sealed class Upper : IAgentHandler<string, string>
    {
        public Task<string> HandleAsync(AgentContext context, string request) => Task.FromResult(request.ToUpperInvariant());
    }
}
