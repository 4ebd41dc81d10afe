namespace Agents.GrainInterfaces;

/// <summary>A batch sent to a worker; <paramref name="Collection"/> is the target of an ingest job.</summary>
[GenerateSerializer, Immutable]
public sealed record BatchWork(Guid JobId, int BatchIndex, string TaskType, JobTask[] Tasks, string? Collection = null);

/// <summary>What a worker did with a batch.</summary>
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

/// <summary>The worker of one silo (key: the silo's address); placed on that silo so a job chooses where its batches run.</summary>
public interface IWorkerGrain : IGrainWithStringKey
{
    /// <summary>Runs a batch; a task that fails is reported in the result, not thrown.</summary>
    [ResponseTimeout("00:05:00")]
    Task<BatchResult> ProcessAsync(BatchWork work);
}
