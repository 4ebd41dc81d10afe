namespace Agents.GrainInterfaces;

/// <summary>
/// Runs one query of any <see cref="SearchMode"/> over a collection's shards, wherever the fan-out happens (the client in
/// embedded mode or for one shard, the stateless search grain behind a gateway). Keyword queries take two phases, as
/// Elasticsearch's dfs_query_then_fetch: the shards' corpus statistics for the query's terms are summed first, then
/// every shard scores with the sums. Hybrid queries take <see cref="MinCandidates"/> (or k, if more) dense and keyword
/// candidates concurrently and fuse them by relative score (<see cref="Fuse"/>).
/// </summary>
public static class HybridSearch
{
    /// <summary>
    /// The dense list's weight in a fused score when a query sets none (the keyword list's is 1 − alpha). Chosen by
    /// measurement on half of the relevance set's questions and checked on the other half (docs/performance.md,
    /// "Relevance"): equal weights, or reciprocal rank fusion, let a keyword list that is mostly wrong push good dense
    /// hits out of the top.
    /// </summary>
    public const double DefaultAlpha = 0.7;

    /// <summary>Candidates each list contributes to a hybrid query at least.</summary>
    public const int MinCandidates = 50;

    /// <summary>Checks that <paramref name="request"/> carries what its mode needs and that the collection can answer it; throws <see cref="ArgumentException"/> saying what is missing.</summary>
    public static void Validate(CollectionSpec spec, HybridSearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(request);
        if (!Enum.IsDefined(request.Mode))
        {
            throw new ArgumentException($"Search mode {(int)request.Mode} is unknown: use dense, keyword or hybrid.");
        }

        if (request.K is < 1 or > ShardRouter.MaxK)
        {
            throw new ArgumentException($"k {request.K} is out of range: use 1..{ShardRouter.MaxK}.");
        }

        var mode = request.Mode.ToString().ToLowerInvariant();
        if (request.Mode != SearchMode.Keyword && request.Vector is null)
        {
            throw new ArgumentException($"A {mode} search needs a query vector.");
        }

        if (request.Mode != SearchMode.Dense)
        {
            if (string.IsNullOrWhiteSpace(request.Text))
            {
                throw new ArgumentException($"A {mode} search needs query text.");
            }

            if (!spec.HasKeywordIndex)
            {
                throw new ArgumentException(
                    $"Collection '{spec.Name}' indexes no text fields, so it has no keyword index for a {mode} search: search it in dense mode, or create it with text fields.");
            }
        }

        if (request.Alpha is { } alpha && !(alpha is >= 0 and <= 1))
        {
            throw new ArgumentException($"alpha {alpha} is out of range: use 0 (keyword only) .. 1 (dense only).");
        }

        request.Filter?.Validate();
    }

    /// <summary>The best k of <paramref name="shards"/> (every shard of <paramref name="spec"/>, in order) for <paramref name="request"/>, best first.</summary>
    public static async Task<ShardHits> RunAsync(IReadOnlyList<IVectorShardGrain> shards, CollectionSpec spec, HybridSearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(shards);
        Validate(spec, request);
        switch (request.Mode)
        {
            case SearchMode.Dense:
                return await DenseAsync(shards, spec, new SearchRequest(request.Vector!, request.K, request.Ef, request.Filter, request.WithPayloads));
            case SearchMode.Keyword:
                return await KeywordAsync(shards, request.Text!, request.K, request.Filter, request.WithPayloads);
            default:
                var candidates = Math.Max(request.K, MinCandidates);
                var dense = DenseAsync(shards, spec, new SearchRequest(request.Vector!, candidates, request.Ef, request.Filter, request.WithPayloads));
                var keyword = KeywordAsync(shards, request.Text!, candidates, request.Filter, request.WithPayloads);
                return Fuse(await dense, await keyword, request.K, request.Alpha ?? DefaultAlpha, denseDescending: spec.Metric != VectorMetric.L2);
        }
    }

    /// <summary>The merged best k of every shard's dense answer.</summary>
    public static async Task<ShardHits> DenseAsync(IReadOnlyList<IVectorShardGrain> shards, CollectionSpec spec, SearchRequest request)
    {
        var pending = new Task<ShardHits>[shards.Count];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = shards[i].SearchAsync(request).AsTask();
        }

        return ShardHits.Merge(await Task.WhenAll(pending), request.K, descending: spec.Metric != VectorMetric.L2);
    }

    /// <summary>The merged best k by BM25, scored with the collection's summed statistics (one shard: its own).</summary>
    public static async Task<ShardHits> KeywordAsync(IReadOnlyList<IVectorShardGrain> shards, string text, int k, PayloadFilter? filter, bool withPayloads)
    {
        KeywordStats? corpus = null;
        if (shards.Count > 1)
        {
            var stats = new Task<KeywordStats>[shards.Count];
            for (var i = 0; i < stats.Length; i++)
            {
                stats[i] = shards[i].KeywordStatsAsync(text).AsTask();
            }

            corpus = KeywordStats.Sum(await Task.WhenAll(stats));
        }

        var request = new KeywordSearchRequest(text, k, filter, corpus, withPayloads);
        var pending = new Task<ShardHits>[shards.Count];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = shards[i].KeywordSearchAsync(request).AsTask();
        }

        return ShardHits.Merge(await Task.WhenAll(pending), k, descending: true);
    }

    /// <summary>
    /// Relative score fusion of two ranked lists (Weaviate's <c>relativeScoreFusion</c>): each list's scores are scaled
    /// to 0..1 (its best hit 1, its worst 0; a list of equal scores all 1), and a hit scores
    /// <paramref name="alpha"/> × its dense share + (1 − <paramref name="alpha"/>) × its keyword share, 0 for a list that
    /// does not hold it; the best <paramref name="k"/>, ties by id. <paramref name="denseDescending"/> false: the dense
    /// scores are distances (lower is better).
    /// </summary>
    public static ShardHits Fuse(ShardHits dense, ShardHits keyword, int k, double alpha = DefaultAlpha, bool denseDescending = true)
    {
        ArgumentNullException.ThrowIfNull(dense);
        ArgumentNullException.ThrowIfNull(keyword);
        ArgumentOutOfRangeException.ThrowIfLessThan(alpha, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(alpha, 1);
        var fused = new Dictionary<string, (double Score, byte[]? Payload)>(dense.Count + keyword.Count, StringComparer.Ordinal);
        Add(dense, alpha, denseDescending);
        Add(keyword, 1 - alpha, descending: true);

        void Add(ShardHits list, double weight, bool descending)
        {
            if (list.Count == 0)
            {
                return;
            }

            var (low, high) = (list.Scores.Min(), list.Scores.Max());
            for (var i = 0; i < list.Count; i++)
            {
                var scaled = high > low ? (descending ? list.Scores[i] - low : high - list.Scores[i]) / (double)(high - low) : 1.0;
                var share = weight * scaled;
                var id = list.Ids[i];
                fused[id] = fused.TryGetValue(id, out var seen) ? (seen.Score + share, seen.Payload) : (share, list.Payloads?[i]);
            }
        }

        var payloads = dense.Payloads is not null || keyword.Payloads is not null;
        var order = fused.OrderByDescending(e => e.Value.Score).ThenBy(e => e.Key, StringComparer.Ordinal).Take(k).ToList();
        var result = new ShardHits(new string[order.Count], new float[order.Count], payloads ? new byte[order.Count][] : null);
        for (var i = 0; i < order.Count; i++)
        {
            result.Ids[i] = order[i].Key;
            result.Scores[i] = (float)order[i].Value.Score;
            if (result.Payloads is { } p)
            {
                p[i] = order[i].Value.Payload ?? [];
            }
        }

        return result;
    }
}
