using Agents.Engine;
using Agents.Engine.Text;

namespace Agents.Engine.Embeddings;

/// <summary>
/// The silo's one <see cref="EmbeddingService"/>, loaded on first use so a silo that never embeds never pays for the
/// model (about 235 MB: one copy of the weights shared by the sessions, their prepacked forms, each session's arena).
/// </summary>
public sealed class EmbeddingModel(PerformanceSettings performance, TextPipeline pipeline) : IDisposable
{
    private readonly Lazy<EmbeddingService> _service = new(() => new EmbeddingService(OptionsFor(performance), pipeline.Tokenizer));

    /// <summary>
    /// How a silo runs the model: sessions from <c>worker_threads</c> and the cores, batches from
    /// <c>embedding_batch_size</c> and <c>embedding_max_wait</c>.
    /// </summary>
    public static EmbeddingOptions OptionsFor(PerformanceSettings performance) =>
        EmbeddingOptions.For(performance.WorkerThreads, Environment.ProcessorCount, performance.EmbeddingBatchSize, performance.EmbeddingMaxWait, performance.EmbeddingQueueLimit);

    /// <summary>The running service (loading the model on the first call).</summary>
    public EmbeddingService Service => _service.Value;

    /// <summary>True once the model is loaded.</summary>
    public bool IsLoaded => _service.IsValueCreated;

    /// <inheritdoc />
    public void Dispose()
    {
        if (_service.IsValueCreated)
        {
            _service.Value.Dispose();
        }
    }
}
