using System.Runtime.InteropServices;

namespace Agents.Client;

/// <summary>A chunk found by a plain-words search: its point, score, and the source, chunk index and text it was ingested with.</summary>
public sealed record TextHit(string Id, float Score, string? Source, int? Chunk, string? Text);

public sealed partial class AgentsClient
{
    /// <summary>Texts sent to one silo per call: enough to fill the silo's model batches, small enough to spread.</summary>
    public const int EmbedRequestTexts = 64;

    /// <summary>The payload fields a collection that ingest creates indexes for keyword search: each chunk's document title and text.</summary>
    public static readonly string[] IngestTextFields = ["title", "text"];

    private string[] _embeddingSilos = [];
    private DateTime _embeddingSilosAt;
    private int _nextSilo;

    /// <summary>
    /// The unit-length all-MiniLM-L6-v2 embeddings (384 floats) of <paramref name="texts"/>, computed on the cluster:
    /// requests of <see cref="EmbedRequestTexts"/> texts go round-robin to the active silos, all in flight at once.
    /// </summary>
    public async Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var silos = await EmbeddingSilosAsync(cancellationToken);
        var parts = texts.Chunk(EmbedRequestTexts).ToList();
        var results = await Task.WhenAll(parts.Select(part =>
        {
            var silo = silos[(int)((uint)Interlocked.Increment(ref _nextSilo) % silos.Length)];
            return RetryAsync(() => Cluster.GetGrain<IEmbeddingGrain>(silo).EmbedAsync(part), cancellationToken);
        }));

        var vectors = new float[texts.Count][];
        var next = 0;
        foreach (var bytes in results)
        {
            var floats = MemoryMarshal.Cast<byte, float>(bytes);
            for (var offset = 0; offset < floats.Length; offset += IEmbeddingGrain.Dimension)
            {
                vectors[next++] = floats.Slice(offset, IEmbeddingGrain.Dimension).ToArray();
            }
        }

        return vectors;
    }

    /// <summary>The best chunks of an ingested collection for <paramref name="question"/> (see <see cref="SearchTextAsync"/>), read as text hits.</summary>
    public async Task<TextHit[]> SearchTextHitsAsync(
        string collection, string question, int k = 10, SearchMode mode = SearchMode.Hybrid, PayloadFilter? filter = null, int? ef = null,
        double? alpha = null, CancellationToken cancellationToken = default)
    {
        var hits = await SearchTextAsync(collection, question, k, mode, filter, ef, alpha, cancellationToken);
        return hits.Select(h => ReadTextHit(h)).ToArray();
    }

    /// <summary>
    /// Ingests documents into <paramref name="collection"/> as an e2e job (chunks → embeddings → upserts, spread over the
    /// silos), creating the collection (cosine, 384-d) when it does not exist, and waits for it.
    /// </summary>
    public async Task<JobResult> IngestAsync(
        string collection, IEnumerable<JobTask> documents, IProgress<JobStatus>? progress = null, CancellationToken cancellationToken = default) =>
        await WaitAsync(await SubmitIngestAsync(collection, documents, cancellationToken), progress, cancellationToken);

    /// <summary>As <see cref="IngestAsync"/>, returning once the job is submitted.</summary>
    public async Task<Guid> SubmitIngestAsync(string collection, IEnumerable<JobTask> documents, CancellationToken cancellationToken = default)
    {
        ShardRouter.ValidateName(collection);
        try
        {
            await DescribeCollectionAsync(collection, cancellationToken);
        }
        catch (KeyNotFoundException)
        {
            await CreateCollectionAsync(new CollectionSpec(collection, IEmbeddingGrain.Dimension, VectorMetric.Cosine, TextFields: IngestTextFields), cancellationToken);
        }

        return await SubmitAsync(new JobSpec(TaskTypes.Ingest, Distribution.LeastLoaded, Label: $"ingest into {collection}", Collection: collection), documents, cancellationToken);
    }

    private async Task<string[]> EmbeddingSilosAsync(CancellationToken cancellationToken)
    {
        // Membership changes rarely; a list some seconds old costs at most a retried call to a departed silo.
        if (_embeddingSilos.Length == 0 || DateTime.UtcNow - _embeddingSilosAt > TimeSpan.FromSeconds(10))
        {
            var hosts = await RetryAsync(() => Cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true), cancellationToken);
            _embeddingSilos = hosts.Keys.Select(s => s.ToParsableString()).Order(StringComparer.Ordinal).ToArray();
            _embeddingSilosAt = DateTime.UtcNow;
        }

        return _embeddingSilos.Length > 0 ? _embeddingSilos : throw new InvalidOperationException("The cluster has no active silo to embed on.");
    }

    private static TextHit ReadTextHit(SearchHit hit)
    {
        string? source = null, text = null;
        int? chunk = null;
        if (hit.Payload.Length > 0)
        {
            using var json = System.Text.Json.JsonDocument.Parse(hit.Payload);
            var root = json.RootElement;
            if (root.TryGetProperty("source", out var s) && s.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                source = s.GetString();
            }

            if (root.TryGetProperty("chunk", out var c) && c.TryGetInt32(out var index))
            {
                chunk = index;
            }

            if (root.TryGetProperty("text", out var t) && t.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                text = t.GetString();
            }
        }

        return new TextHit(hit.Id, hit.Score, source, chunk, text);
    }
}
