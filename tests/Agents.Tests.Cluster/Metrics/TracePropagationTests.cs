using System.Collections.Concurrent;
using System.Diagnostics;
using Agents.Client;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Metrics;

/// <summary>Activity propagation: a call one agent makes to another, on another silo, continues the caller's trace.</summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class TracePropagationTests(ThreeSiloCluster fixture)
{
    [Fact]
    public async Task AGrainToGrainCallJoinsTheCallersTrace()
    {
        var started = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = started.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var client = AgentsClient.FromCluster(fixture.Client);
        var asker = $"trace-a-{Guid.NewGuid():N}";
        var peer = $"trace-b-{Guid.NewGuid():N}";
        Assert.Equal([7], await client.Agent(asker).AskAsync(peer, "echo", [7]));

        // Other agents (the silos' worker agents) answer requests of their own meanwhile: the peer's answer is the
        // HandleAsync that joined the ask's trace, and without propagation no HandleAsync would have.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        Activity? answer = null, ask = null;
        while ((answer is null || ask is null) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            ask = started.FirstOrDefault(a => a.DisplayName.Contains("AskAsync", StringComparison.Ordinal) && a.Kind == ActivityKind.Server);
            answer = ask is null ? null : started.FirstOrDefault(a =>
                a.DisplayName.Contains("IAgentGrain/HandleAsync", StringComparison.Ordinal) && a.Kind == ActivityKind.Server && a.TraceId == ask.TraceId);
        }

        Assert.True(answer is not null && ask is not null, $"activities seen: {string.Join(", ", started.Select(a => $"{a.DisplayName}/{a.Kind}/{a.TraceId}"))}");
        Assert.NotEqual(ask!.SpanId, answer!.SpanId);
    }
}
