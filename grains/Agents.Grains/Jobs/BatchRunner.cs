using Agents.Engine.Text;

namespace Agents.Grains.Jobs;

/// <summary>Runs a batch's tasks on this silo: the seam between a job's batches and the engines that do the work.</summary>
public interface IBatchRunner
{
    /// <summary>Batches this silo runs at once.</summary>
    int Capacity { get; }

    /// <summary>Runs <paramref name="work"/>; a task that fails is reported in the result, not thrown.</summary>
    Task<BatchResult> RunAsync(BatchWork work, string silo);
}

/// <summary>Text batches on the worker pool; embedding and ingest batches on the pool, then the silo's embedding model.</summary>
public sealed class BatchRunner(WorkerPool pool, TextBatchProcessor text, Embeddings.EmbeddingBatchProcessor embeddings) : IBatchRunner
{
    /// <inheritdoc />
    public int Capacity => pool.Capacity;

    /// <inheritdoc />
    public Task<BatchResult> RunAsync(BatchWork work, string silo) => work.TaskType == TaskTypes.TextProcessing
        ? pool.RunAsync(() => text.Process(work, silo, pool.Capacity))
        : embeddings.ProcessAsync(work, silo, pool);
}
