namespace Agents.Engine;

/// <summary>The <c>performance:</c> section of performance.yaml; each member has a real effect on a silo.</summary>
public sealed record PerformanceSettings
{
    /// <summary>Batches a silo processes at once; also the thread pool's minimum worker threads.</summary>
    public int WorkerThreads { get; init; } = Environment.ProcessorCount;

    /// <summary>Threads the pool may add beyond <see cref="WorkerThreads"/> for work that blocks (the pool's maximum is the sum).</summary>
    public int MaxBlockingThreads { get; init; } = 64;

    /// <summary>Bytes of processed documents a silo keeps, keyed by content hash, so a repeated document is not processed twice.</summary>
    public long DocumentCacheSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>Most PostgreSQL connections a silo or client keeps open (Npgsql <c>Maximum Pool Size</c>).</summary>
    public int ConnectionPoolSize { get; init; } = 20;

    /// <summary>Tasks per batch a job sends to a worker in one message, and messages per batch an agent delivers to a peer.</summary>
    public int MessageBatchSize { get; init; } = 50;

    /// <summary>Bytes of vectors (with their index) the shards of one silo may hold; an upsert past it is refused. 0: no bound.</summary>
    public long VectorCacheSize { get; init; } = 1L << 30;

    /// <summary>Bytes of points a client sends to a shard in one upsert call (and the shard writes in one durable batch).</summary>
    public long WriteBufferSize { get; init; } = 8L << 20;

    /// <summary>TCP keepalive on PostgreSQL connections and the period of the silo's liveness row in the membership table.</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often each silo publishes its <c>NodeMetrics</c> sample to the aggregator.</summary>
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an agent's outbox waits for a batch to fill before it delivers what it has.</summary>
    public TimeSpan MessageFlushInterval { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Undelivered messages one agent holds at most; a send past it is refused with an overload error.</summary>
    public int MessageOutboxLimit { get; init; } = 100_000;

    /// <summary>Texts a silo's embedding queue holds at most; a request past it is refused with an overload error.</summary>
    public int EmbeddingQueueLimit { get; init; } = 8192;

    /// <summary>Worker agents each silo starts, each holding the built-in capabilities (process-text, embed, search, submit-job); 0: none.</summary>
    public int AgentWorkers { get; init; } = 2;

    /// <summary>Texts per call of the embedding model at most (the micro-batcher's batch size).</summary>
    public int EmbeddingBatchSize { get; init; } = 8;

    /// <summary>How long an embedding session holding a partial batch waits for more texts before it runs.</summary>
    public TimeSpan EmbeddingMaxWait { get; init; } = TimeSpan.FromMilliseconds(2);
}

/// <summary>The <c>text:</c> section: how documents are chunked and summarised; the one settings type of the text pipeline.</summary>
public sealed record TextSettings
{
    /// <summary>WordPiece tokens per chunk: 254 by default, so a chunk with [CLS] and [SEP] fills the embedding model's 256.</summary>
    public int ChunkTokens { get; init; } = 254;

    /// <summary>Tokens shared by consecutive chunks.</summary>
    public int ChunkOverlap { get; init; } = 32;

    /// <summary>Keywords kept per document.</summary>
    public int MaxKeywords { get; init; } = 10;

    /// <summary>Largest document accepted, in bytes of UTF-8.</summary>
    public long MaxDocumentSize { get; init; } = 10L * 1024 * 1024;

    /// <summary>The text pipeline these settings describe (a silo's, or a benchmark's baseline of the same).</summary>
    public Text.TextPipeline CreatePipeline() => new(this);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property whose value is out of range.</summary>
    public void Validate()
    {
        if (ChunkTokens <= 0)
        {
            throw new ArgumentException($"{nameof(ChunkTokens)} must be greater than 0 but is {ChunkTokens}.", nameof(ChunkTokens));
        }

        if (ChunkOverlap < 0 || ChunkOverlap >= ChunkTokens)
        {
            throw new ArgumentException($"{nameof(ChunkOverlap)} must be at least 0 and less than {nameof(ChunkTokens)} ({ChunkTokens}) but is {ChunkOverlap}.", nameof(ChunkOverlap));
        }

        if (MaxKeywords < 0)
        {
            throw new ArgumentException($"{nameof(MaxKeywords)} must be at least 0 but is {MaxKeywords}.", nameof(MaxKeywords));
        }

        if (MaxDocumentSize is <= 0 or > int.MaxValue)
        {
            throw new ArgumentException($"{nameof(MaxDocumentSize)} must be between 1 and {int.MaxValue} bytes but is {MaxDocumentSize}.", nameof(MaxDocumentSize));
        }
    }
}

/// <summary>Everything <c>performance.yaml</c> and the <c>P2P_*</c> variables set.</summary>
public sealed record AgentsSettings
{
    /// <summary>CPU, memory, network and storage tuning.</summary>
    public PerformanceSettings Performance { get; init; } = new();

    /// <summary>Text pipeline settings.</summary>
    public TextSettings Text { get; init; } = new();

    /// <summary>SIMD distance kernels (<c>P2P_ENABLE_SIMD</c>); false selects the scalar reference kernels.</summary>
    public bool EnableSimd { get; init; } = true;
}

