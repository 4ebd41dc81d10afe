using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Agents.Grains.Jobs;
using Agents.Engine.Text;
using Agents.Grains.Vectors;

namespace Agents.Grains.Embeddings;

/// <summary>
/// Runs <see cref="TaskTypes.Embedding"/> and <see cref="TaskTypes.Ingest"/> batches: the text pipeline on the worker
/// pool, then every chunk through the silo's embedding model; an ingest batch then upserts the chunks into its
/// collection with id <c>source#chunk</c> and payload <c>{"source", "chunk", "text"}</c>. Upserts are by id, so a batch
/// that runs again after a silo failure overwrites rather than duplicates.
/// </summary>
public sealed class EmbeddingBatchProcessor(TextBatchProcessor text, EmbeddingModel model, IGrainFactory grains)
{
    /// <summary>Processes <paramref name="work"/> on <paramref name="pool"/> and the embedding sessions.</summary>
    public async Task<BatchResult> ProcessAsync(BatchWork work, string silo, WorkerPool pool)
    {
        var documents = new List<(int Task, ProcessedDocument Document)>();
        var result = await pool.RunAsync(() => text.Process(work, silo, pool.Capacity, documents));
        var started = Stopwatch.GetTimestamp();
        var chunks = documents.SelectMany(d => d.Document.Chunks.Select(c => (d.Task, Chunk: c))).ToList();
        var vectors = await model.EmbedAsync(chunks.Select(c => c.Chunk.Text).ToList());
        if (work.TaskType == TaskTypes.Ingest)
        {
            await UpsertAsync(work, chunks, vectors);
        }

        // Each task is charged the model time of its own chunks.
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var millis = (float[])result.TaskMilliseconds.Clone();
        foreach (var (task, _) in chunks)
        {
            millis[task] += (float)(seconds * 1000 / chunks.Count);
        }

        return result with
        {
            Totals = result.Totals with { Embeddings = vectors.Length },
            TaskMilliseconds = millis,
            BusySeconds = result.BusySeconds + seconds,
        };
    }

    private async Task UpsertAsync(BatchWork work, List<(int Task, TextChunk Chunk)> chunks, float[][] vectors)
    {
        var collection = work.Collection ?? throw new ArgumentException("An e2e (ingest) batch names no collection.");
        var spec = await grains.GetGrain<IVectorCollectionGrain>(collection).GetSpecAsync()
            ?? throw new KeyNotFoundException($"Collection '{collection}' does not exist.");
        var byShard = new List<int>[spec.Shards];
        for (var i = 0; i < chunks.Count; i++)
        {
            var shard = ShardRouter.ShardOf(PointId(work, chunks[i]), spec.Shards);
            (byShard[shard] ??= []).Add(i);
        }

        await Task.WhenAll(byShard.Select((members, shard) => members is null ? Task.CompletedTask : UpsertShardAsync(shard, members)));

        Task UpsertShardAsync(int shard, List<int> members)
        {
            var ids = new string[members.Count];
            var payloads = new byte[members.Count][];
            var floats = new float[members.Count * SentenceEmbedder.Dimension];
            for (var j = 0; j < members.Count; j++)
            {
                var (task, chunk) = chunks[members[j]];
                ids[j] = PointId(work, chunks[members[j]]);
                payloads[j] = Payload(work.Tasks[task].Name, chunk);
                vectors[members[j]].CopyTo(floats, j * SentenceEmbedder.Dimension);
            }

            var batch = new PointBatch(ids, MemoryMarshal.AsBytes(floats.AsSpan()).ToArray(), payloads);
            return grains.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(collection, shard)).UpsertAsync(batch);
        }
    }

    /// <summary>The point id of a chunk: its source name and index, cut to the longest id a collection takes.</summary>
    private static string PointId(BatchWork work, (int Task, TextChunk Chunk) chunk)
    {
        var suffix = $"#{chunk.Chunk.Index}";
        var source = work.Tasks[chunk.Task].Name;
        var room = ShardRouter.MaxIdLength - suffix.Length;
        return (source.Length > room ? source[^room..] : source) + suffix;
    }

    private static byte[] Payload(string source, TextChunk chunk)
    {
        var buffer = new ArrayBufferWriter<byte>(chunk.Text.Length + source.Length + 64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("source", source);
            json.WriteNumber("chunk", chunk.Index);
            json.WriteString("text", chunk.Text);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
