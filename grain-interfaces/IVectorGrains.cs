namespace Agents.GrainInterfaces;

/// <summary>A collection (key: its name): owns the schema; never on the hot path of upserts and searches.</summary>
public interface IVectorCollectionGrain : IGrainWithStringKey
{
    /// <summary>Creates the collection; creating it again with the same spec is a no-op, with another spec an error.</summary>
    Task<CollectionInfo> CreateAsync(CollectionSpec spec);

    /// <summary>The schema, or null when the collection does not exist; interleaves, as shards ask while the collection creates them.</summary>
    [AlwaysInterleave]
    Task<CollectionSpec?> GetSpecAsync();

    /// <summary>Schema and point counts of every shard.</summary>
    Task<CollectionInfo> DescribeAsync();

    /// <summary>Deletes the collection and all its points.</summary>
    Task DropAsync();
}

/// <summary>The collections the cluster knows (a stateless worker over the catalogue).</summary>
public interface IVectorCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Every collection's schema.</summary>
    Task<IReadOnlyList<CollectionSpec>> ListAsync();
}

/// <summary>
/// One shard of a collection (key: <c>{collection}/{shard}</c>): the points whose id hashes to it, durable before
/// acknowledged, indexed in the background and searched exactly where the index has not caught up.
/// </summary>
public interface IVectorShardGrain : IGrainWithStringKey
{
    /// <summary>Validates, stores durably, then acknowledges with the number of points written; nothing is written if any point is bad.</summary>
    Task<int> UpsertAsync(PointBatch batch);

    /// <summary>Deletes points by id durably; returns how many existed.</summary>
    Task<int> DeleteAsync(string[] ids);

    /// <summary>A point by id, or null.</summary>
    Task<VectorPoint?> GetAsync(string id);

    /// <summary>The shard's best k for a query, best first; payloads only when the request asks for them.</summary>
    ValueTask<ShardHits> SearchAsync(SearchRequest request);

    /// <summary>The shard's best k for each query of a batch, best first, in query order.</summary>
    Task<SearchHit[][]> SearchBatchAsync(SearchBatchRequest request);

    /// <summary>The shard's keyword statistics for the terms of <paramref name="text"/> (the first phase of a keyword search).</summary>
    ValueTask<KeywordStats> KeywordStatsAsync(string text);

    /// <summary>The shard's best k by BM25 for a keyword query, best first (ties by id).</summary>
    ValueTask<ShardHits> KeywordSearchAsync(KeywordSearchRequest request);

    /// <summary>A hybrid query's first phase in one call: the shard's dense answer and its keyword statistics for <paramref name="text"/>.</summary>
    ValueTask<HybridCandidates> HybridCandidatesAsync(SearchRequest dense, string text);

    /// <summary>The payloads of <paramref name="ids"/>, in order; empty for a point the shard does not hold.</summary>
    ValueTask<byte[][]> GetPayloadsAsync(string[] ids);

    /// <summary>What the shard holds.</summary>
    Task<ShardInfo> DescribeAsync();

    /// <summary>Deletes the shard's points and deactivates.</summary>
    Task DropAsync();
}

/// <summary>
/// Answers a client's query in one call: a stateless worker on the silo the call reaches asks every shard from there
/// and returns their merged best k, so a query crosses the client's connection once rather than once a shard.
/// </summary>
public interface IVectorSearchGrain : IGrainWithIntegerKey
{
    /// <summary>The best k of all of <paramref name="spec"/>'s shards, best first (ties by id).</summary>
    Task<ShardHits> SearchAsync(CollectionSpec spec, SearchRequest request);

    /// <summary>
    /// The best k of all of <paramref name="spec"/>'s shards in the request's mode, best first: keyword searches merge
    /// the shards' corpus statistics first, hybrid ones fuse the dense and keyword candidates by reciprocal rank.
    /// </summary>
    Task<ShardHits> HybridSearchAsync(CollectionSpec spec, HybridSearchRequest request);
}
