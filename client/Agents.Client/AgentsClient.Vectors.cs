using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace Agents.Client;

/// <summary>A point to upsert; <paramref name="Payload"/> is a JSON object or null.</summary>
public sealed record PointInput(string Id, float[] Vector, string? Payload = null);

/// <summary>Vector collections: the client partitions upserts by id and fans searches out to every shard itself.</summary>
public sealed partial class AgentsClient
{
    /// <summary>Points per upsert call to one shard of <paramref name="dimension"/>: as many as fit in <c>write_buffer_size</c>.</summary>
    public int UpsertBatchFor(int dimension) =>
        (int)Math.Clamp(Connection.WriteBufferSize / (dimension * sizeof(float) + 64L), 1, 100_000);

    private readonly ConcurrentDictionary<string, CollectionSpec> _specs = new(StringComparer.Ordinal);

    private readonly ConcurrentDictionary<string, (CollectionSpec Spec, IVectorShardGrain[] Shards)> _shards = new(StringComparer.Ordinal);

    private int _searchKey;

    /// <summary>Creates a collection (a no-op if it exists with the same schema).</summary>
    public async Task<CollectionInfo> CreateCollectionAsync(CollectionSpec spec, CancellationToken cancellationToken = default)
    {
        ShardRouter.Validate(spec);
        var info = await RetryAsync(() => Cluster.GetGrain<IVectorCollectionGrain>(spec.Name).CreateAsync(spec), cancellationToken);
        _specs[spec.Name] = info.Spec;
        return info;
    }

    /// <summary>Every collection's schema.</summary>
    public Task<IReadOnlyList<CollectionSpec>> ListCollectionsAsync(CancellationToken cancellationToken = default) =>
        RetryAsync(() => Cluster.GetGrain<IVectorCatalogGrain>(0).ListAsync(), cancellationToken);

    /// <summary>A collection's schema and point counts.</summary>
    public Task<CollectionInfo> DescribeCollectionAsync(string name, CancellationToken cancellationToken = default)
    {
        ShardRouter.ValidateName(name);
        return RetryAsync(() => Cluster.GetGrain<IVectorCollectionGrain>(name).DescribeAsync(), cancellationToken);
    }

    /// <summary>Deletes a collection and its points.</summary>
    public async Task DropCollectionAsync(string name, CancellationToken cancellationToken = default)
    {
        ShardRouter.ValidateName(name);
        await RetryAsync(() => Cluster.GetGrain<IVectorCollectionGrain>(name).DropAsync(), cancellationToken);
        _specs.TryRemove(name, out _);
        _shards.TryRemove(name, out _);
    }

    /// <summary>
    /// Upserts points: each batch goes straight to the shard that owns its ids, shards in parallel; returns once every
    /// point is durable. A batch a shard rejects fails the call with the shard's message (earlier batches stay).
    /// </summary>
    public async Task<long> UpsertAsync(string collection, IEnumerable<PointInput> points, IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        await UpsertAsync(collection, points, progress, batchAcknowledged: null, cancellationToken);

    /// <summary>As <see cref="UpsertAsync(string, IEnumerable{PointInput}, IProgress{long}?, CancellationToken)"/>, reporting how long each batch took to be acknowledged.</summary>
    public async Task<long> UpsertAsync(
        string collection, IEnumerable<PointInput> points, IProgress<long>? progress, Action<TimeSpan>? batchAcknowledged, CancellationToken cancellationToken = default)
    {
        var spec = await GetSpecAsync(collection, cancellationToken);
        var batchSize = UpsertBatchFor(spec.Dimension);
        var pending = new List<PointInput>[spec.Shards];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = new List<PointInput>(batchSize);
        }

        var inFlight = new List<Task<int>>();
        long written = 0;
        foreach (var point in points)
        {
            if (point.Vector.Length != spec.Dimension)
            {
                throw new ArgumentException($"Point '{point.Id}' has {point.Vector.Length} dimensions; collection '{collection}' has {spec.Dimension}.");
            }

            var shard = ShardRouter.ShardOf(point.Id, spec.Shards);
            pending[shard].Add(point);
            if (pending[shard].Count >= batchSize)
            {
                inFlight.Add(SendAsync(spec, shard, pending[shard], batchAcknowledged, cancellationToken));
                pending[shard] = new List<PointInput>(batchSize);
                if (inFlight.Count >= 2 * spec.Shards)
                {
                    written += await DrainOneAsync(inFlight);
                    progress?.Report(written);
                }
            }
        }

        for (var shard = 0; shard < spec.Shards; shard++)
        {
            if (pending[shard].Count > 0)
            {
                inFlight.Add(SendAsync(spec, shard, pending[shard], batchAcknowledged, cancellationToken));
            }
        }

        while (inFlight.Count > 0)
        {
            written += await DrainOneAsync(inFlight);
            progress?.Report(written);
        }

        return written;
    }

    /// <summary>The exact merge of every shard's best <paramref name="k"/>, best first.</summary>
    public Task<SearchHit[]> SearchAsync(
        string collection, float[] query, int k = 10, int? ef = null, PayloadFilter? filter = null, CancellationToken cancellationToken = default) =>
        SearchAsync(collection, query, k, ef, filter, withPayloads: true, cancellationToken);

    /// <summary>
    /// The exact merge of every shard's best <paramref name="k"/>, best first; with <paramref name="withPayloads"/> false
    /// the hits carry empty payloads and the shards send none.
    /// </summary>
    public async Task<SearchHit[]> SearchAsync(
        string collection, float[] query, int k, int? ef, PayloadFilter? filter, bool withPayloads, CancellationToken cancellationToken = default)
    {
        var spec = await GetSpecAsync(collection, cancellationToken);
        if (query.Length != spec.Dimension)
        {
            throw new ArgumentException($"The query has {query.Length} dimensions; collection '{collection}' has {spec.Dimension}.");
        }

        var request = new SearchRequest(MemoryMarshal.AsBytes(query.AsSpan()).ToArray(), k, ef, filter, withPayloads);
        var descending = spec.Metric != VectorMetric.L2;
        var shards = ShardsOf(spec);
        if (shards.Length == 1)
        {
            return ShardHits.Merge([await AskAsync(shards[0], request, cancellationToken)], k, descending).ToHits();
        }

        if (!Connection.IsEmbedded)
        {
            // Through a gateway, one call carries the query to a silo that fans it out: the rotating key spreads the
            // calls over the gateways and the workers.
            var router = Cluster.GetGrain<IVectorSearchGrain>(Interlocked.Increment(ref _searchKey) & 7);
            return (await RetryAsync(() => router.SearchAsync(spec, request), cancellationToken)).ToHits();
        }

        // Every shard is asked before any answer is awaited; the answers are then merged in one pass.
        var pending = new Task<ShardHits>[shards.Length];
        for (var i = 0; i < shards.Length; i++)
        {
            pending[i] = AskAsync(shards[i], request, cancellationToken);
        }

        var answers = new ShardHits[shards.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            answers[i] = await pending[i];
        }

        return ShardHits.Merge(answers, k, descending).ToHits();
    }

    private Task<ShardHits> AskAsync(IVectorShardGrain shard, SearchRequest request, CancellationToken cancellationToken) =>
        RetryAsync(() => shard.SearchAsync(request).AsTask(), cancellationToken);

    /// <summary>Deletes points by id; returns how many existed.</summary>
    public async Task<int> DeletePointsAsync(string collection, IEnumerable<string> ids, CancellationToken cancellationToken = default)
    {
        var spec = await GetSpecAsync(collection, cancellationToken);
        var byShard = ids.Distinct(StringComparer.Ordinal).GroupBy(id => ShardRouter.ShardOf(id, spec.Shards));
        var counts = await Task.WhenAll(byShard.Select(g =>
            RetryAsync(() => Shard(collection, g.Key).DeleteAsync(g.ToArray()), cancellationToken)));
        return counts.Sum();
    }

    /// <summary>A point by id, or null.</summary>
    public async Task<VectorPoint?> GetPointAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        var spec = await GetSpecAsync(collection, cancellationToken);
        return await RetryAsync(() => Shard(collection, ShardRouter.ShardOf(id, spec.Shards)).GetAsync(id), cancellationToken);
    }

    private IVectorShardGrain Shard(string collection, int shard) =>
        _specs.TryGetValue(collection, out var spec) ? ShardsOf(spec)[shard] : Cluster.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(collection, shard));

    /// <summary>The routing table of a collection: a reference to each of its shards, made once per schema.</summary>
    private IVectorShardGrain[] ShardsOf(CollectionSpec spec)
    {
        if (_shards.TryGetValue(spec.Name, out var known) && known.Spec == spec)
        {
            return known.Shards;
        }

        var shards = new IVectorShardGrain[spec.Shards];
        for (var i = 0; i < shards.Length; i++)
        {
            shards[i] = Cluster.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(spec.Name, i));
        }

        _shards[spec.Name] = (spec, shards);
        return shards;
    }

    private async Task<CollectionSpec> GetSpecAsync(string collection, CancellationToken cancellationToken)
    {
        ShardRouter.ValidateName(collection);
        if (_specs.TryGetValue(collection, out var cached))
        {
            return cached;
        }

        var spec = await RetryAsync(() => Cluster.GetGrain<IVectorCollectionGrain>(collection).GetSpecAsync(), cancellationToken)
            ?? throw new KeyNotFoundException($"Collection '{collection}' does not exist.");
        return _specs[collection] = spec;
    }

    private async Task<int> SendAsync(CollectionSpec spec, int shard, List<PointInput> points, Action<TimeSpan>? acknowledged, CancellationToken cancellationToken)
    {
        var ids = new string[points.Count];
        var vectors = new byte[points.Count * spec.Dimension * sizeof(float)];
        var payloads = new byte[points.Count][];
        var floats = MemoryMarshal.Cast<byte, float>(vectors.AsSpan());
        for (var i = 0; i < points.Count; i++)
        {
            ids[i] = points[i].Id;
            points[i].Vector.CopyTo(floats.Slice(i * spec.Dimension, spec.Dimension));
            payloads[i] = points[i].Payload is { Length: > 0 } p ? Encoding.UTF8.GetBytes(p) : [];
        }

        var batch = new PointBatch(ids, vectors, payloads);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var written = await RetryAsync(() => Shard(spec.Name, shard).UpsertAsync(batch), cancellationToken);
        acknowledged?.Invoke(System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return written;
    }

    private static async Task<int> DrainOneAsync(List<Task<int>> inFlight)
    {
        var done = await Task.WhenAny(inFlight);
        inFlight.Remove(done);
        return await done;
    }
}
