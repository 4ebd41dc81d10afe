namespace Agents.GrainInterfaces;

/// <summary>What a job runs and how it spreads the work.</summary>
/// <param name="TaskType">One of <see cref="TaskTypes.Runnable"/>.</param>
/// <param name="Distribution">How batches are spread over the silos.</param>
/// <param name="BatchSize">Tasks per batch sent to a worker; 0 takes the silo's <c>message_batch_size</c>.</param>
/// <param name="Label">A free-form name shown by <c>jobs list</c>.</param>
/// <param name="Collection">For <see cref="TaskTypes.Ingest"/>: the collection the chunks' vectors are upserted into.</param>
[GenerateSerializer, Immutable]
public sealed record JobSpec(string TaskType, Distribution Distribution, int BatchSize = 0, string? Label = null, string? Collection = null);

/// <summary>One unit of work: a document as UTF-8 bytes.</summary>
/// <param name="Id">Unique within its job, 0..n-1.</param>
/// <param name="Name">Where it came from (a file name), for error messages.</param>
/// <param name="Content">The document, UTF-8.</param>
[GenerateSerializer, Immutable]
public sealed record JobTask(int Id, string Name, byte[] Content);

/// <summary>A batch whose input a client has stored on <paramref name="Silo"/>.</summary>
/// <param name="Index">The batch's number in its job, 0..n-1.</param>
/// <param name="Silo">The silo the job placed it on (<see cref="IJobGrain.PlaceBatchesAsync"/>).</param>
/// <param name="FirstTaskId">Its first task's id; its tasks are numbered on from there.</param>
/// <param name="Tasks">How many tasks it holds.</param>
[GenerateSerializer, Immutable]
public sealed record JobBatch(int Index, string Silo, int FirstTaskId, int Tasks);

/// <summary>What a job asks of one of its batches.</summary>
/// <param name="TaskType">The job's task type.</param>
/// <param name="Collection">For an ingest job: the collection the chunks go to.</param>
/// <param name="Tasks">How many tasks the job expects the batch to hold.</param>
[GenerateSerializer, Immutable]
public sealed record BatchRun(string TaskType, string? Collection, int Tasks);

/// <summary>A batch of tasks on the silo that runs it; <paramref name="Collection"/> is the target of an ingest job.</summary>
public sealed record BatchWork(Guid JobId, int BatchIndex, string TaskType, JobTask[] Tasks, string? Collection = null);

/// <summary>What a batch's run did.</summary>
/// <param name="Silo">The silo that ran it.</param>
/// <param name="Capacity">How many batches that silo runs at once (its <c>worker_threads</c>).</param>
/// <param name="TaskMilliseconds">Processing time of each task, in task order.</param>
[GenerateSerializer, Immutable]
public sealed record BatchResult(
    int BatchIndex,
    string Silo,
    int Capacity,
    int Succeeded,
    TextTotals Totals,
    TaskFailure[] Failures,
    KeywordCount[] Keywords,
    float[] TaskMilliseconds,
    long TaskIdSum,
    double BusySeconds);

/// <summary>The life of a job.</summary>
public enum JobState
{
    /// <summary>Created and taking tasks; not started.</summary>
    Created,

    /// <summary>Dispatching batches.</summary>
    Running,

    /// <summary>Every task is counted.</summary>
    Completed,

    /// <summary>Stopped on request; counted tasks stay counted.</summary>
    Cancelled,
}

/// <summary>A snapshot of a job's progress.</summary>
[GenerateSerializer, Immutable]
public sealed record JobStatus(
    Guid JobId,
    JobState State,
    string TaskType,
    Distribution Distribution,
    string? Label,
    int TotalTasks,
    int SucceededTasks,
    int FailedTasks,
    int TotalBatches,
    int CompletedBatches,
    int RedispatchedBatches,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string HostSilo,
    int HostProcessId,
    int BatchSize = 0)
{
    /// <summary>Tasks counted so far, succeeded or failed.</summary>
    public int CountedTasks => SucceededTasks + FailedTasks;

    /// <summary>True once the job will do no more work.</summary>
    public bool IsFinished => State is JobState.Completed or JobState.Cancelled;
}

/// <summary>Totals of the text pipeline over the counted tasks.</summary>
/// <param name="Embeddings">Chunks embedded (<see cref="TaskTypes.Embedding"/> and <see cref="TaskTypes.Ingest"/>).</param>
[GenerateSerializer, Immutable]
public sealed record TextTotals(long Characters, long Words, long Sentences, long Tokens, long Chunks, long CacheHits, long Embeddings = 0)
{
    /// <summary>No documents.</summary>
    public static readonly TextTotals Zero = new(0, 0, 0, 0, 0, 0);

    /// <summary>The sum of two totals.</summary>
    public TextTotals Add(TextTotals other) => new(
        Characters + other.Characters, Words + other.Words, Sentences + other.Sentences,
        Tokens + other.Tokens, Chunks + other.Chunks, CacheHits + other.CacheHits, Embeddings + other.Embeddings);
}

/// <summary>A task that was rejected, and why.</summary>
[GenerateSerializer, Immutable]
public sealed record TaskFailure(int TaskId, string Name, string Error);

/// <summary>A keyword and how many documents of the job named it among their keywords.</summary>
[GenerateSerializer, Immutable]
public sealed record KeywordCount(string Term, int Documents);

/// <summary>What one silo did for a job.</summary>
[GenerateSerializer, Immutable]
public sealed record SiloShare(string Silo, int Batches, int Tasks, double BusySeconds);

/// <summary>Per-task processing latency in milliseconds.</summary>
[GenerateSerializer, Immutable]
public sealed record LatencySummary(double P50, double P95, double P99, double Max, double Mean);

/// <summary>The outcome of a job; every task appears in exactly one of the counts.</summary>
/// <param name="TaskIdChecksum">Sum of the ids of counted tasks: n(n-1)/2 when each of 0..n-1 is counted once.</param>
[GenerateSerializer, Immutable]
public sealed record JobResult(
    JobStatus Status,
    TextTotals Totals,
    IReadOnlyList<SiloShare> PerSilo,
    LatencySummary Latency,
    IReadOnlyList<TaskFailure> Failures,
    IReadOnlyList<KeywordCount> TopKeywords,
    long TaskIdChecksum);
