using Agents.GrainInterfaces;
using Agents.Grains.Jobs;

namespace Agents.Tests.Jobs;

public sealed class JobTallyTests
{
    private static readonly JobStatus Status = new(
        Guid.Empty, JobState.Running, "text-processing", Distribution.RoundRobin, null, 5, 0, 0, 2, 0, 0,
        DateTimeOffset.UnixEpoch, null, null, "silo", 1, 3);

    /// <summary>A job state with batches of the given sizes, none counted.</summary>
    private static JobGrainState State(params int[] sizes)
    {
        var state = new JobGrainState();
        foreach (var size in sizes)
        {
            state.BatchSizes.Add(size);
            state.Counted.Add(false);
            state.TotalTasks += size;
        }

        return state;
    }

    private static BatchResult Result(int index, string silo, int succeeded, float[] ms, KeywordCount[]? keywords = null, TaskFailure[]? failures = null) =>
        new(index, silo, 2, succeeded, new TextTotals(10, 2, 1, 3, 1, 0), failures ?? [], keywords ?? [], ms, 100 + index, 0.5);

    [Fact]
    public void EachBatchIsCountedOnce()
    {
        var state = State(3, 2);
        var tally = new JobTally(state);

        Assert.True(tally.Count(0, Result(0, "a", 3, [1, 2, 3])));
        Assert.False(tally.Count(0, Result(0, "b", 3, [1, 2, 3])));

        Assert.Equal((1, 3, 0, 100L), (state.CompletedBatches, state.Succeeded, state.Failed, state.TaskIdSum));
        Assert.Equal(new TextTotals(10, 2, 1, 3, 1, 0), state.Totals);
        Assert.Equal([true, false], state.Counted);
        Assert.Equal(new SiloShare("a", 1, 3, 0.5), Assert.Single(state.PerSilo.Values));
    }

    [Fact]
    public void TheResultAggregatesLatencyPerSiloSharesAndKeywords()
    {
        var state = State(2, 2);
        var tally = new JobTally(state);
        tally.Count(1, Result(1, "b", 2, [4, 4], [new KeywordCount("orleans", 2)]));
        tally.Count(0, Result(0, "a", 1, [2, 6], [new KeywordCount("grain", 1), new KeywordCount("orleans", 1)], [new TaskFailure(1, "task 1", "bad")]));

        var result = tally.Result(Status);

        Assert.Same(Status, result.Status);
        Assert.Equal(new TextTotals(20, 4, 2, 6, 2, 0), result.Totals);
        Assert.Equal(["a", "b"], result.PerSilo.Select(s => s.Silo));
        Assert.Equal(2, result.PerSilo[0].Tasks);
        Assert.Equal(4.0, result.Latency.Mean);
        Assert.Equal(6.0, result.Latency.Max);
        Assert.InRange(result.Latency.P50, 4.0, 4.0 * 1.1);
        Assert.Equal([new KeywordCount("orleans", 3), new KeywordCount("grain", 1)], result.TopKeywords);
        Assert.Equal("bad", Assert.Single(result.Failures).Error);
        Assert.Equal(201L, result.TaskIdChecksum);
    }

    [Fact]
    public void AnEmptyJobHasAZeroMeanLatency()
    {
        var result = new JobTally(State()).Result(Status);
        Assert.Equal(0.0, result.Latency.Mean);
        Assert.Empty(result.PerSilo);
    }

    [Fact]
    public void FailuresBeyondTheKeptNumberAreCountedWithoutTheirMessages()
    {
        var state = State(JobTally.FailuresKept, 50);
        var tally = new JobTally(state);
        tally.Count(0, tally.Failed(0, "lost"));
        tally.Count(1, tally.Failed(1, "lost"));

        Assert.Equal(JobTally.FailuresKept + 50, state.Failed);
        Assert.Equal(JobTally.FailuresKept, state.Failures.Count);
    }

    [Fact]
    public void AFailedBatchFailsEachOfItsTasksById()
    {
        var tally = new JobTally(State(3, 2));
        var failed = tally.Failed(1, "batch 1 failed 20 times: gone");

        Assert.Equal([3, 4], failed.Failures.Select(f => f.TaskId));
        Assert.All(failed.Failures, f => Assert.Equal("batch 1 failed 20 times: gone", f.Error));
        Assert.Equal(7L, failed.TaskIdSum);
        Assert.Equal((0, 1), (failed.Succeeded, failed.BatchIndex));
    }

    [Fact]
    public void KeywordsStayBoundedKeepingTheMostFrequent()
    {
        var state = State(1, 1);
        var tally = new JobTally(state);
        tally.Count(0, Result(0, "a", 1, [1], Enumerable.Range(0, 2 * JobTally.KeywordsKept).Select(i => new KeywordCount($"k{i}", 1)).ToArray()));
        Assert.Equal(2 * JobTally.KeywordsKept, state.Keywords.Count);

        tally.Count(1, Result(1, "a", 1, [1], [new KeywordCount("top", 9)]));
        Assert.Equal(JobTally.KeywordsKept, state.Keywords.Count);
        Assert.Equal(9, state.Keywords["top"]);
    }
}
