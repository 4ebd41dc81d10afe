using System.Threading.Channels;
using Agents.Engine.Text;

namespace Agents.Engine.Embeddings;

/// <summary>How a silo runs the embedding model.</summary>
/// <param name="Sessions">ONNX Runtime sessions, each on its own thread pulling batches.</param>
/// <param name="IntraOpThreads">Threads each session computes one batch on.</param>
/// <param name="MaxBatchSize">Texts per model call at most.</param>
/// <param name="MaxWait">How long a session holding a partial batch waits for more texts before it runs.</param>
/// <param name="QueueLimit">
/// Texts waiting for the model at most; a request that would go beyond it is refused whole with
/// <see cref="EmbeddingQueueFullException"/>, so a flood costs a clear error, not memory (8192: 30-60 s of work for two sessions).
/// </param>
public sealed record EmbeddingOptions(int Sessions, int IntraOpThreads, int MaxBatchSize, TimeSpan MaxWait, int QueueLimit = 8192)
{
    /// <summary>
    /// The defaults for a silo with <paramref name="workerThreads"/> workers on <paramref name="cores"/> cores: one
    /// single-threaded session per core, up to the worker count. Measured on 2 cores (<c>benchmarks -- embed</c>): two
    /// sessions of one thread embed 205 sentences/s or 25.7 paragraphs/s, one session of two threads 134-201 and 18-22;
    /// batches of 8 similar-length texts are as fast as 32 for sentences and within 10% of single texts for paragraphs.
    /// </summary>
    public static EmbeddingOptions For(int workerThreads, int cores, int maxBatchSize = 8, TimeSpan? maxWait = null, int queueLimit = 8192)
    {
        var sessions = Math.Clamp(Math.Min(workerThreads, cores), 1, 64);
        return new EmbeddingOptions(sessions, Math.Max(1, cores / sessions), maxBatchSize, maxWait ?? TimeSpan.FromMilliseconds(2), queueLimit);
    }
}

/// <summary>
/// The silo's embedding model: one loaded model shared by every grain, run by <see cref="EmbeddingOptions.Sessions"/>
/// sessions that each take texts from one queue in batches of up to <see cref="EmbeddingOptions.MaxBatchSize"/>, waiting
/// at most <see cref="EmbeddingOptions.MaxWait"/> to fill one, so many small concurrent requests share model calls.
/// </summary>
public sealed class EmbeddingService : IDisposable
{
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly SharedModelWeights _weights;
    private readonly SentenceEmbedder[] _sessions;
    private readonly Thread[] _threads;
    private long _texts;
    private long _batches;
    private int _queued;

    /// <summary>Loads the model from the MiniLM package and starts the sessions.</summary>
    public EmbeddingService(EmbeddingOptions options, WordPieceTokenizer tokenizer, string? modelAssemblyPath = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Sessions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        Options = options;
        byte[]? model = SentenceEmbedder.ReadMiniLmModel(modelAssemblyPath);
        _weights = new SharedModelWeights(model);
        _sessions = new SentenceEmbedder[options.Sessions];
        _threads = new Thread[options.Sessions];
        for (var i = 0; i < options.Sessions; i++)
        {
            _sessions[i] = new SentenceEmbedder(tokenizer, model, options.IntraOpThreads, _weights);
            var session = _sessions[i];
            _threads[i] = new Thread(() => Serve(session)) { IsBackground = true, Name = $"embedding-session-{i}" };
            _threads[i].Start();
        }

        // The model's bytes (~90 MB on the large-object heap) are garbage now that the sessions hold the weights; a GC
        // that returns them, and the parse buffers the C heap keeps, leaves the silo with one copy of the model.
        model = null;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
    }

    /// <summary>How the model runs.</summary>
    public EmbeddingOptions Options { get; }

    /// <summary>Texts embedded since start.</summary>
    public long TextsEmbedded => Interlocked.Read(ref _texts);

    /// <summary>Model calls since start.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>
    /// The unit-length embeddings of <paramref name="texts"/>, in order. Every text is checked first, so an empty one
    /// fails the whole request with a message naming it and nothing is computed.
    /// </summary>
    public async Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var encoded = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            try
            {
                encoded[i] = _sessions[0].Encode(texts[i] ?? throw new ArgumentException("The text is null."));
            }
            catch (ArgumentException e) when (texts.Count > 1)
            {
                throw new ArgumentException($"Text {i}: {e.Message}", e);
            }
        }

        if (Interlocked.Add(ref _queued, encoded.Length) > Options.QueueLimit)
        {
            var queued = Interlocked.Add(ref _queued, -encoded.Length);
            throw new EmbeddingQueueFullException(
                $"The embedding queue of this silo holds {queued:N0} texts (limit {Options.QueueLimit:N0}); {encoded.Length} more were refused: retry later or add silos.");
        }

        var pending = new Task<float[]>[encoded.Length];
        for (var i = 0; i < encoded.Length; i++)
        {
            var item = new Item(encoded[i], new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously));
            pending[i] = item.Done.Task;
            if (!_queue.Writer.TryWrite(item))
            {
                throw new ObjectDisposedException(nameof(EmbeddingService));
            }
        }

        return await Task.WhenAll(pending).WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        foreach (var session in _sessions)
        {
            session.Dispose();
        }

        _weights.Dispose();
    }

    private void Serve(SentenceEmbedder session)
    {
        var reader = _queue.Reader;
        var batch = new List<Item>(Options.MaxBatchSize);
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            batch.Clear();
            var deadline = DateTime.UtcNow + Options.MaxWait;
            while (batch.Count < Options.MaxBatchSize)
            {
                if (reader.TryRead(out var item))
                {
                    batch.Add(item);
                    continue;
                }

                var left = deadline - DateTime.UtcNow;
                if (batch.Count > 0 && (left <= TimeSpan.Zero || !WaitForMore(reader, left)))
                {
                    break;
                }

                if (batch.Count == 0 && !reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                {
                    return;
                }
            }

            Run(session, batch);
        }
    }

    private static bool WaitForMore(ChannelReader<Item> reader, TimeSpan left)
    {
        var wait = reader.WaitToReadAsync().AsTask();
        return wait.Wait(left) && wait.Result;
    }

    private void Run(SentenceEmbedder session, List<Item> batch)
    {
        Interlocked.Add(ref _queued, -batch.Count);
        try
        {
            var vectors = session.Embed(batch.Select(i => i.Encoded).ToList());
            Interlocked.Add(ref _texts, batch.Count);
            AgentsMetrics.Embeddings.Add(batch.Count);
            Interlocked.Increment(ref _batches);
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Done.TrySetResult(vectors[i]);
            }
        }
        catch (Exception e)
        {
            foreach (var item in batch)
            {
                item.Done.TrySetException(e);
            }
        }
    }

    private sealed record Item(int[] Encoded, TaskCompletionSource<float[]> Done);
}

/// <summary>The embedding queue is full: nothing of the request was accepted, and it can be retried once the load falls.</summary>
public sealed class EmbeddingQueueFullException(string message) : Exception(message);
