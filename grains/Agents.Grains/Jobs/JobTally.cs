namespace Agents.Grains.Jobs;

/// <summary>
/// The sums of a job's results, kept in its durable state: each batch is counted once (its tasks, totals, failures,
/// per-silo share, task latencies and keywords), and the job's result is read from those sums. Not thread-safe: the job
/// grain calls it from its own turns.
/// </summary>
public sealed class JobTally(JobGrainState state)
{
    /// <summary>Failures kept with their messages; the count covers all of them.</summary>
    public const int FailuresKept = 100;

    /// <summary>Keywords kept once the list grows past twice this many: the most frequent ones.</summary>
    public const int KeywordsKept = 500;

    /// <summary>Adds batch <paramref name="index"/>'s result to the sums; false, changing nothing, if it was counted already.</summary>
    public bool Count(int index, BatchResult result)
    {
        if (state.Counted[index])
        {
            return false;
        }

        state.Counted[index] = true;
        state.CompletedBatches++;
        state.Succeeded += result.Succeeded;
        state.Failed += result.Failures.Length;
        state.Totals = state.Totals.Add(result.Totals);
        state.TaskIdSum += result.TaskIdSum;
        foreach (var failure in result.Failures.Take(FailuresKept - state.Failures.Count))
        {
            state.Failures.Add(failure);
        }

        var share = state.PerSilo.GetValueOrDefault(result.Silo) ?? new SiloShare(result.Silo, 0, 0, 0);
        state.PerSilo[result.Silo] = share with
        {
            Batches = share.Batches + 1,
            Tasks = share.Tasks + result.Succeeded + result.Failures.Length,
            BusySeconds = share.BusySeconds + result.BusySeconds,
        };
        foreach (var ms in result.TaskMilliseconds)
        {
            state.Latency.Record(ms);
            state.LatencySum += ms;
            state.LatencyMax = Math.Max(state.LatencyMax, ms);
        }

        foreach (var keyword in result.Keywords)
        {
            state.Keywords[keyword.Term] = state.Keywords.GetValueOrDefault(keyword.Term) + keyword.Documents;
        }

        if (state.Keywords.Count > 2 * KeywordsKept)
        {
            // Bounded state: keep the most frequent terms (the top of the list is what a user reads).
            state.Keywords = state.Keywords.OrderByDescending(k => k.Value).Take(KeywordsKept).ToDictionary();
        }

        return true;
    }

    /// <summary>
    /// The result of batch <paramref name="index"/> when it will not run: each of its tasks failed with
    /// <paramref name="error"/>, so every task still appears in exactly one count.
    /// </summary>
    public BatchResult Failed(int index, string error)
    {
        var first = state.BatchSizes.Take(index).Sum();
        var ids = Enumerable.Range(first, state.BatchSizes[index]).ToArray();
        var failures = ids.Select(id => new TaskFailure(id, $"task {id}", error)).ToArray();
        return new BatchResult(index, "none", 1, 0, TextTotals.Zero, failures, [], [], ids.Sum(id => (long)id), 0);
    }

    /// <summary>The job's result from the sums so far, with <paramref name="status"/>.</summary>
    public JobResult Result(JobStatus status)
    {
        var counted = state.Succeeded + state.Failed;
        var latency = new LatencySummary(
            state.Latency.Quantile(0.50), state.Latency.Quantile(0.95), state.Latency.Quantile(0.99), state.LatencyMax, counted == 0 ? 0 : state.LatencySum / counted);
        var keywords = state.Keywords.OrderByDescending(k => k.Value).ThenBy(k => k.Key, StringComparer.Ordinal)
            .Take(20).Select(k => new KeywordCount(k.Key, k.Value)).ToList();
        return new JobResult(
            status, state.Totals, state.PerSilo.Values.OrderBy(s => s.Silo, StringComparer.Ordinal).ToList(),
            latency, state.Failures.ToList(), keywords, state.TaskIdSum);
    }
}
