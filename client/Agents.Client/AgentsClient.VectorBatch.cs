using System.Runtime.InteropServices;

namespace Agents.Client;

/// <summary>Batched vector search: many queries per shard call.</summary>
public sealed partial class AgentsClient
{
    /// <summary>Queries per shard call for <paramref name="dimension"/>: as many as fit in <c>write_buffer_size</c>, at most <see cref="SearchBatchRequest.MaxQueries"/>.</summary>
    public int SearchBatchFor(int dimension) =>
        (int)Math.Clamp(Connection.WriteBufferSize / (dimension * (long)sizeof(float)), 1, SearchBatchRequest.MaxQueries);

    /// <summary>
    /// For each query, the exact merge of every shard's best <paramref name="k"/>, best first, in query order: what
    /// <see cref="SearchAsync(string, float[], int, int?, PayloadFilter?, CancellationToken)"/> returns for it. The queries
    /// go to the shards in batches of <paramref name="batchSize"/> (default <see cref="SearchBatchFor"/>), each batch to
    /// every shard at once, two batches in flight; one <paramref name="filter"/> applies to all.
    /// </summary>
    public async Task<SearchHit[][]> SearchBatchAsync(
        string collection, IReadOnlyList<float[]> queries, int k = 10, int? ef = null, PayloadFilter? filter = null, int? batchSize = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var spec = await GetSpecAsync(collection, cancellationToken);
        for (var q = 0; q < queries.Count; q++)
        {
            if (queries[q].Length != spec.Dimension)
            {
                throw new ArgumentException($"Query {q} has {queries[q].Length} dimensions; collection '{collection}' has {spec.Dimension}.");
            }
        }

        var size = batchSize ?? SearchBatchFor(spec.Dimension);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1, nameof(batchSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, SearchBatchRequest.MaxQueries, nameof(batchSize));
        var results = new SearchHit[queries.Count][];
        using var inFlight = new SemaphoreSlim(2);
        var batches = new List<Task>();
        for (var first = 0; first < queries.Count; first += size)
        {
            await inFlight.WaitAsync(cancellationToken);
            var start = first;
            var count = Math.Min(size, queries.Count - first);
            batches.Add(Task.Run(
                async () =>
                {
                    try
                    {
                        await SearchOneBatchAsync(spec, queries, start, count, k, ef, filter, results, cancellationToken);
                    }
                    finally
                    {
                        inFlight.Release();
                    }
                },
                cancellationToken));
        }

        await Task.WhenAll(batches);
        return results;
    }

    private async Task SearchOneBatchAsync(
        CollectionSpec spec, IReadOnlyList<float[]> queries, int first, int count, int k, int? ef, PayloadFilter? filter, SearchHit[][] results,
        CancellationToken cancellationToken)
    {
        var vectors = new byte[count * spec.Dimension * sizeof(float)];
        var floats = MemoryMarshal.Cast<byte, float>(vectors.AsSpan());
        for (var i = 0; i < count; i++)
        {
            queries[first + i].CopyTo(floats.Slice(i * spec.Dimension, spec.Dimension));
        }

        var request = new SearchBatchRequest(vectors, k, ef, filter);
        var perShard = await Task.WhenAll(Enumerable.Range(0, spec.Shards).Select(shard =>
            RetryAsync(() => Shard(spec.Name, shard).SearchBatchAsync(request), cancellationToken)));
        var descending = spec.Metric != VectorMetric.L2;
        for (var i = 0; i < count; i++)
        {
            var merged = perShard.SelectMany(hits => hits[i]);
            results[first + i] = (descending ? merged.OrderByDescending(h => h.Score) : merged.OrderBy(h => h.Score))
                .ThenBy(h => h.Id, StringComparer.Ordinal).Take(k).ToArray();
        }
    }
}
