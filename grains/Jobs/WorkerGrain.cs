using Agents.Grains.Hosting;
using Agents.Grains.Text;

namespace Agents.Grains.Jobs;

/// <summary>The worker of one silo: runs batches on that silo's <see cref="WorkerPool"/>.</summary>
[Reentrant, SiloTargetedPlacement]
public sealed class WorkerGrain(WorkerPool pool, TextBatchProcessor text, Embeddings.EmbeddingBatchProcessor embeddings, ILocalSiloDetails silo)
    : Grain, IWorkerGrain
{
    /// <inheritdoc />
    public Task<BatchResult> ProcessAsync(BatchWork work)
    {
        TaskTypes.EnsureRunnable(work.TaskType);
        var name = silo.SiloAddress.ToParsableString();
        if (this.GetPrimaryKeyString() != name)
        {
            // Placed elsewhere because the named silo was not yet known here (it had just joined): do this batch,
            // then make way so the next call activates the worker where its key says.
            DeactivateOnIdle();
        }

        return work.TaskType == TaskTypes.TextProcessing
            ? pool.RunAsync(() => text.Process(work, name, pool.Capacity))
            : embeddings.ProcessAsync(work, name, pool);
    }
}
