using Agents.Grains.Hosting;
using Agents.Grains.Text;

namespace Agents.Grains.Jobs;

/// <summary>The worker of one silo: runs batches on that silo's <see cref="WorkerPool"/>.</summary>
[Reentrant, SiloTargetedPlacement]
public sealed class WorkerGrain(WorkerPool pool, TextBatchProcessor text, ILocalSiloDetails silo) : Grain, IWorkerGrain
{
    /// <inheritdoc />
    public Task<BatchResult> ProcessAsync(BatchWork work)
    {
        TaskTypes.EnsureRunnable(work.TaskType);
        var name = silo.SiloAddress.ToParsableString();
        return pool.RunAsync(() => text.Process(work, name, pool.Capacity));
    }
}
