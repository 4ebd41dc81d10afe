namespace Agents.Grains.Jobs;

/// <summary>What a job keeps durable: its spec, where each batch is, which are counted, and the sums of their results.</summary>
[GenerateSerializer]
public sealed class JobGrainState
{
    [Id(0)] public JobSpec? Spec { get; set; }
    [Id(1)] public JobState State { get; set; }
    [Id(2)] public int BatchSize { get; set; }
    [Id(3)] public List<int> BatchSizes { get; set; } = [];
    [Id(4)] public List<bool> Counted { get; set; } = [];
    [Id(5)] public int TotalTasks { get; set; }
    [Id(6)] public int Succeeded { get; set; }
    [Id(7)] public int Failed { get; set; }
    [Id(8)] public int CompletedBatches { get; set; }
    [Id(9)] public int RedispatchedBatches { get; set; }
    [Id(10)] public TextTotals Totals { get; set; } = TextTotals.Zero;
    [Id(11)] public Dictionary<string, SiloShare> PerSilo { get; set; } = [];
    [Id(13)] public double LatencyMax { get; set; }
    [Id(14)] public double LatencySum { get; set; }
    [Id(15)] public List<TaskFailure> Failures { get; set; } = [];
    [Id(16)] public Dictionary<string, int> Keywords { get; set; } = [];
    [Id(17)] public long TaskIdSum { get; set; }
    [Id(18)] public DateTimeOffset CreatedAt { get; set; }
    [Id(19)] public DateTimeOffset? StartedAt { get; set; }
    [Id(20)] public DateTimeOffset? FinishedAt { get; set; }
    [Id(21)] public bool InputSealed { get; set; }

    /// <summary>The silos batches were placed on; <see cref="BatchSilo"/> holds an index into it per batch.</summary>
    [Id(22)] public List<string> Silos { get; set; } = [];
    [Id(23)] public List<int> BatchSilo { get; set; } = [];

    /// <summary>The latencies of the tasks counted (an HDR histogram; field 12 held the older log-bucket one).</summary>
    [Id(24)] public LatencyHistogram Latency { get; set; } = new();
}
