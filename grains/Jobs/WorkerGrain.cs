using Agents.Grains.Hosting;
using Agents.Grains.Text;

namespace Agents.Grains.Jobs;

/// <summary>The worker of one silo: runs batches on that silo's <see cref="WorkerPool"/>.</summary>
[Reentrant, SiloTargetedPlacement]
public sealed class WorkerGrain(WorkerPool pool, TextBatchProcessor text, Embeddings.EmbeddingBatchProcessor embeddings, ILocalSiloDetails silo)
    : Grain, IWorkerGrain
{
    /// <inheritdoc />
    public async Task<BatchResult> ProcessAsync(BatchWork work)
    {
        TaskTypes.EnsureRunnable(work.TaskType);
        var name = silo.SiloAddress.ToParsableString();
        if (this.GetPrimaryKeyString() != name)
        {
            // Placed elsewhere because the named silo was not yet known here (it had just joined): do this batch,
            // then make way so the next call activates the worker where its key says.
            DeactivateOnIdle();
        }

        Metrics.AgentsMetrics.ActiveTasks.Add(work.Tasks.Length);
        try
        {
            var result = work.TaskType == TaskTypes.TextProcessing
                ? await pool.RunAsync(() => text.Process(work, name, pool.Capacity))
                : await embeddings.ProcessAsync(work, name, pool);
            Record(work.TaskType, result);
            return result;
        }
        finally
        {
            Metrics.AgentsMetrics.ActiveTasks.Add(-work.Tasks.Length);
        }
    }

    private static void Record(string taskType, BatchResult result)
    {
        var type = new KeyValuePair<string, object?>("task_type", taskType);
        Metrics.AgentsMetrics.TasksProcessed.Add(result.Succeeded, type, new("outcome", "succeeded"));
        if (result.Failures.Length > 0)
        {
            Metrics.AgentsMetrics.TasksProcessed.Add(result.Failures.Length, type, new("outcome", "failed"));
        }

        foreach (var milliseconds in result.TaskMilliseconds)
        {
            Metrics.AgentsMetrics.TaskDuration.Record(milliseconds / 1000.0, type);
        }
    }
}
