using System.Runtime.InteropServices;
using Agents.Engine.Vectors;

namespace Agents.Grains.Vectors;

/// <summary>Batched search: many queries per call, answered by one pass of the shard (see <see cref="LocalShard.SearchBatch"/>).</summary>
public sealed partial class VectorShardGrain
{
    /// <inheritdoc />
    public Task<SearchHit[][]> SearchBatchAsync(SearchBatchRequest request)
    {
        var queries = ReadQueries(request);
        var filter = request.Filter;
        filter?.Validate();
        var perQuery = _points.SearchBatch(queries, request.K, request.Ef, filter is null ? null : fields => fields.Matches(filter));
        AgentsMetrics.Searches.Add(perQuery.Length);
        var result = new SearchHit[perQuery.Length][];
        for (var q = 0; q < perQuery.Length; q++)
        {
            var hits = perQuery[q];
            var row = new SearchHit[hits.Length];
            for (var i = 0; i < hits.Length; i++)
            {
                row[i] = new SearchHit(hits[i].Id, hits[i].Score, hits[i].Payload);
            }

            result[q] = row;
        }

        return Task.FromResult(result);
    }

    private float[] ReadQueries(SearchBatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.K is < 1 or > ShardRouter.MaxK)
        {
            throw new ArgumentException($"k {request.K} is out of range: use 1..{ShardRouter.MaxK}.");
        }

        if (request.Ef is { } ef && ef is < 1 or > ShardRouter.MaxEf)
        {
            throw new ArgumentException($"ef {ef} is out of range: use 1..{ShardRouter.MaxEf}.");
        }

        var rowBytes = _spec.Dimension * sizeof(float);
        if (request.Vectors.Length % rowBytes != 0)
        {
            throw new ArgumentException(
                $"The batch carries {request.Vectors.Length / (double)sizeof(float)} floats, not a whole number of queries of collection '{_collection}''s {_spec.Dimension} dimensions.");
        }

        var n = request.Vectors.Length / rowBytes;
        if (n > SearchBatchRequest.MaxQueries)
        {
            throw new ArgumentException($"A batch of {n} queries is too large: send at most {SearchBatchRequest.MaxQueries} per call.");
        }

        var queries = MemoryMarshal.Cast<byte, float>(request.Vectors).ToArray();
        for (var i = 0; i < queries.Length; i++)
        {
            if (!float.IsFinite(queries[i]))
            {
                throw new ArgumentException($"Query {i / _spec.Dimension} has {queries[i]} at dimension {i % _spec.Dimension}; only finite numbers are accepted.");
            }
        }

        if (_spec.Metric == VectorMetric.Cosine)
        {
            for (var q = 0; q < n; q++)
            {
                DistanceKernels.Normalize(queries.AsSpan(q * _spec.Dimension, _spec.Dimension));
            }
        }

        return queries;
    }
}
