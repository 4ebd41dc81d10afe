using Agents.Engine;

namespace Agents.Grains.Jobs;

/// <summary>What a batch keeps durable: its input, until its job no longer needs it.</summary>
[GenerateSerializer]
public sealed class JobBatchState
{
    /// <summary>The batch's tasks.</summary>
    [Id(0)]
    public JobTask[] Tasks { get; set; } = [];

    /// <summary>True once the client's input is stored.</summary>
    [Id(1)]
    public bool Stored { get; set; }

    /// <summary>Documents refused at storing (over the size limit), with their ids.</summary>
    [Id(2)]
    public List<TaskFailure> Rejected { get; set; } = [];
}

/// <summary>
/// One batch of a job, on the silo its key names: the client stores the documents here, the job says "run", and the
/// batch runs on this silo (<see cref="IBatchRunner"/>). The input is durable until the job clears it, so a batch whose
/// silo dies is placed again elsewhere, reloads its input and runs there. Once it has run, the activation keeps only the
/// result (a job whose answer was lost gets the same one) and lets go of the documents; storage is not written again,
/// and a batch asked to run after a reactivation runs again (its job counts it once).
/// </summary>
[SiloTargetedPlacement, CollectionAgeLimit(Minutes = 2)]
public sealed class JobBatchGrain(
    [PersistentState("batch", JobStorage.Batches)] IPersistentState<JobBatchState> state,
    IBatchRunner runner,
    AgentsSettings settings,
    ILocalSiloDetails silo) : Grain, IJobBatchGrain
{
    private BatchResult? _result;

    private JobBatchState S => state.State;

    /// <inheritdoc />
    public async Task StoreAsync(JobTask[] tasks)
    {
        if (S.Stored)
        {
            // A retried store whose first attempt landed (or a batch that already ran): nothing to do.
            return;
        }

        var max = settings.Text.MaxDocumentSize;
        S.Rejected = tasks.Where(t => t.Content.Length > max).Select(t => new TaskFailure(t.Id, t.Name,
            $"The document is too large: {t.Content.Length / 1048576.0:F1} MB ({t.Content.Length} bytes); the largest accepted is {ValueParsers.FormatSize(max)} (text.max_document_size).")).ToList();
        S.Tasks = S.Rejected.Count == 0 ? tasks : tasks.Where(t => t.Content.Length <= max).ToArray();
        S.Stored = true;
        await state.WriteStateAsync();
    }

    /// <inheritdoc />
    public async Task<BatchResult> RunAsync(BatchRun run)
    {
        if (_result is { } done)
        {
            return done;
        }

        TaskTypes.EnsureRunnable(run.TaskType);
        var (jobId, index) = JobBatchKey.Parse(this.GetPrimaryKeyString());
        if (!S.Stored || S.Tasks.Length + S.Rejected.Count != run.Tasks)
        {
            throw new InvalidOperationException(
                $"Batch {index} of job {jobId} holds {S.Tasks.Length + S.Rejected.Count} tasks{(S.Stored ? "" : " (its input was never stored)")}; the job expects {run.Tasks}.");
        }

        var name = silo.SiloAddress.ToParsableString();
        var work = new BatchWork(jobId, index, run.TaskType, S.Tasks, run.Collection);
        AgentsMetrics.ActiveTasks.Add(work.Tasks.Length);
        BatchResult result;
        try
        {
            result = work.Tasks.Length == 0
                ? new BatchResult(index, name, runner.Capacity, 0, TextTotals.Zero, [], [], [], 0, 0)
                : await runner.RunAsync(work, name);
        }
        finally
        {
            AgentsMetrics.ActiveTasks.Add(-work.Tasks.Length);
        }

        if (S.Rejected.Count > 0)
        {
            result = result with
            {
                Failures = [.. S.Rejected, .. result.Failures],
                TaskIdSum = result.TaskIdSum + S.Rejected.Sum(f => (long)f.TaskId),
            };
        }

        Record(run.TaskType, result);

        // Memory holds the sums, not the documents, once the batch has run; storage keeps the input until the job clears it.
        (_result, S.Tasks, S.Rejected) = (result, [], []);
        return result;
    }

    /// <inheritdoc />
    public async Task ClearAsync()
    {
        await state.ClearStateAsync();
        DeactivateOnIdle();
    }

    private static void Record(string taskType, BatchResult result)
    {
        var type = new KeyValuePair<string, object?>("task_type", taskType);
        AgentsMetrics.TasksProcessed.Add(result.Succeeded, type, new("outcome", "succeeded"));
        if (result.Failures.Length > 0)
        {
            AgentsMetrics.TasksProcessed.Add(result.Failures.Length, type, new("outcome", "failed"));
        }

        foreach (var milliseconds in result.TaskMilliseconds)
        {
            AgentsMetrics.TaskDuration.Record(milliseconds / 1000.0, type);
        }
    }
}

/// <summary>The grain storage that holds jobs: memory when embedded, PostgreSQL in a cluster.</summary>
public static class JobStorage
{
    /// <summary>The storage provider of jobs' own state.</summary>
    public const string Name = "jobs";

    /// <summary>
    /// The storage provider of batch inputs: PostgreSQL in a cluster on a database, else the memory of the silo that
    /// holds the batch (silo-local storage).
    /// </summary>
    public const string Batches = "job-batches";
}
