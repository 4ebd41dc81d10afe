using Agents.GrainInterfaces;
using Agents.Grains.Jobs;

namespace Agents.Tests.Metrics;

/// <summary>A job's latency summary, counted batch by batch from several silos, against the exact percentiles of all its tasks.</summary>
public sealed class JobLatencySummaryTests
{
    private static readonly JobStatus Status = new(
        Guid.Empty, JobState.Completed, "text-processing", Distribution.RoundRobin, null, 10_000, 10_000, 0, 100, 100, 0,
        DateTimeOffset.UnixEpoch, null, null, "silo", 1, 3);

    [Fact]
    public void BatchesFromThreeSilosSummariseToTheExactPercentilesOfAllTasks()
    {
        // 100 batches of 100 tasks, uniform 1..10,000 µs over the job, dealt round-robin to three silos.
        var random = new Random(3);
        var latencies = Enumerable.Range(1, 10_000).Select(us => us / 1000f).OrderBy(_ => random.Next()).ToArray();
        var state = new JobGrainState();
        for (var b = 0; b < 100; b++)
        {
            state.BatchSizes.Add(100);
            state.Counted.Add(false);
        }

        var tally = new JobTally(state);
        for (var b = 0; b < 100; b++)
        {
            var ms = latencies[(b * 100)..((b + 1) * 100)];
            Assert.True(tally.Count(b, new BatchResult(b, $"silo-{b % 3}", 2, 100, TextTotals.Zero, [], [], ms, 0, 0.1)));
        }

        var latency = tally.Result(Status).Latency;

        Assert.Equal(10.0, latency.Max, 6);
        Assert.InRange(latency.P50, 5.000, 5.005);
        Assert.InRange(latency.P95, 9.500, 9.510);
        Assert.InRange(latency.P99, 9.900, 9.910);
        Assert.True(latency.P50 <= latency.P95 && latency.P95 <= latency.P99 && latency.P99 <= latency.Max, $"{latency}");
    }
}
