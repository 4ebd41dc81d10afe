namespace Agents.Grains.Vectors;

/// <summary>
/// Fans a client's query out to a collection's shards from the silo it reached and merges their answers, so the query
/// crosses the client's connection once. Stateless and reentrant: queries never wait for one another here.
/// </summary>
[StatelessWorker, Reentrant]
public sealed class VectorSearchGrain : Grain, IVectorSearchGrain
{
    /// <inheritdoc />
    public async Task<ShardHits> SearchAsync(CollectionSpec spec, SearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(request);
        if (spec.Shards is < 1 or > ShardRouter.MaxShards)
        {
            throw new ArgumentException($"Shard count {spec.Shards} is out of range: use 1..{ShardRouter.MaxShards}.");
        }

        var pending = new Task<ShardHits>[spec.Shards];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = GrainFactory.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(spec.Name, i)).SearchAsync(request).AsTask();
        }

        var answers = new ShardHits[pending.Length];
        for (var i = 0; i < pending.Length; i++)
        {
            answers[i] = await pending[i];
        }

        return ShardHits.Merge(answers, request.K, descending: spec.Metric != VectorMetric.L2);
    }

    /// <inheritdoc />
    public Task<ShardHits> HybridSearchAsync(CollectionSpec spec, HybridSearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Shards is < 1 or > ShardRouter.MaxShards)
        {
            throw new ArgumentException($"Shard count {spec.Shards} is out of range: use 1..{ShardRouter.MaxShards}.");
        }

        var shards = new IVectorShardGrain[spec.Shards];
        for (var i = 0; i < shards.Length; i++)
        {
            shards[i] = GrainFactory.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(spec.Name, i));
        }

        return HybridSearch.RunAsync(shards, spec, request);
    }
}
