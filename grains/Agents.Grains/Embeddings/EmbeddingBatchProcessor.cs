using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Agents.Engine.Text;
using Agents.Grains.Jobs;
using Agents.Grains.Vectors;

namespace Agents.Grains.Embeddings;

/// <summary>
/// Runs <see cref="TaskTypes.Embedding"/> and <see cref="TaskTypes.Ingest"/> batches: the text pipeline on the worker
/// pool, then every chunk through the silo's embedding model; an ingest batch then upserts the chunks into its
/// collection with id <c>source#chunk</c> and payload <c>{"source", "title", "chunk", "text"}</c>, each chunk embedded
/// as "title: text". Upserts are by id, so a batch that runs again after a silo failure overwrites rather than duplicates.
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
        float[][] vectors;
        if (work.TaskType == TaskTypes.Ingest)
        {
            // What is kept for search is embedded with its document's title in front, so a passage is found by
            // what its document is about as well as by its own words.
            var titles = new string[work.Tasks.Length];
            foreach (var (task, document) in documents)
            {
                titles[task] = Title(work.Tasks[task].Name, document);
            }

            vectors = await model.EmbedAsync(chunks.Select(c => EmbeddedText(titles[c.Task], c.Chunk)).ToList());
            await UpsertAsync(work, chunks, titles, vectors);
        }
        else
        {
            vectors = await model.EmbedAsync(chunks.Select(c => c.Chunk.Text).ToList());
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

    /// <summary>The title a document's chunks carry: the one its text gives itself, else its file name without the extension.</summary>
    public static string Title(string source, ProcessedDocument document) => document.Title ?? DocumentTitle.FromFileName(source);

    /// <summary>The text embedded for a chunk: "title: text".</summary>
    public static string EmbeddedText(string title, TextChunk chunk) => $"{title}: {chunk.Text}";

    private async Task UpsertAsync(BatchWork work, List<(int Task, TextChunk Chunk)> chunks, string[] titles, float[][] vectors)
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
                payloads[j] = Payload(work.Tasks[task].Name, titles[task], chunk);
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

    /// <summary>A chunk's payload: <c>{"source", "title", "chunk", "text"}</c>, the text being the chunk alone.</summary>
    public static byte[] Payload(string source, string title, TextChunk chunk)
    {
        var buffer = new ArrayBufferWriter<byte>(chunk.Text.Length + source.Length + title.Length + 64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("source", source);
            json.WriteString("title", title);
            json.WriteNumber("chunk", chunk.Index);
            json.WriteString("text", chunk.Text);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
