using System.Text.Json;

namespace Agents.Cli;

/// <summary>Prints a job's status or result, as text or (with <c>--json</c>) JSON.</summary>
public static class JobView
{
    /// <summary>One line of a job's progress.</summary>
    public static void PrintStatus(JobStatus s, bool json)
    {
        Console.WriteLine(json
            ? JsonSerializer.Serialize(s, GlobalOptions.JsonOutput)
            : $"job {s.JobId}: {s.State.ToString().ToLowerInvariant()}, {s.TaskType}, {s.CountedTasks}/{s.TotalTasks} tasks ({s.FailedTasks} failed), " +
              $"{s.CompletedBatches}/{s.TotalBatches} batches, {s.RedispatchedBatches} re-dispatched");
    }

    /// <summary>A job's status, totals, latency, keywords, silos and failures.</summary>
    public static void PrintResult(JobResult r, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(r, GlobalOptions.JsonOutput));
            return;
        }

        PrintStatus(r.Status, false);
        var t = r.Totals;
        Console.WriteLine($"  {t.Words} words, {t.Sentences} sentences, {t.Tokens} tokens, {t.Chunks} chunks, {t.CacheHits} cache hits");
        Console.WriteLine($"  latency per task: p50 {r.Latency.P50:F3} ms, p95 {r.Latency.P95:F3} ms, p99 {r.Latency.P99:F3} ms, max {r.Latency.Max:F3} ms");
        if (r.TopKeywords.Count > 0)
        {
            Console.WriteLine($"  keywords: {string.Join(", ", r.TopKeywords.Take(10).Select(k => k.Term))}");
        }

        foreach (var silo in r.PerSilo)
        {
            Console.WriteLine($"  {silo.Silo}: {silo.Tasks} tasks in {silo.Batches} batches");
        }

        foreach (var failure in r.Failures)
        {
            Console.WriteLine($"  failed: task {failure.TaskId} ({failure.Name}): {failure.Error}");
        }
    }
}
