using System.Runtime.InteropServices;

namespace Agents.Client;

/// <summary>Keyword and hybrid search: BM25 over a collection's text fields, alone or fused with dense search.</summary>
public sealed partial class AgentsClient
{
    /// <summary>
    /// The best <paramref name="k"/> hits of <paramref name="collection"/> in <paramref name="mode"/>: dense needs
    /// <paramref name="vector"/>, keyword needs <paramref name="text"/>, hybrid both (its scores are fused relative scores,
    /// scores). The filter applies in every mode; <paramref name="alpha"/> weighs the dense list in a hybrid query (0..1,
    /// default <see cref="HybridSearch.DefaultAlpha"/>). Keyword and hybrid need a collection with text fields.
    /// </summary>
    public async Task<SearchHit[]> HybridSearchAsync(
        string collection, float[]? vector, string? text, int k, SearchMode mode = SearchMode.Hybrid, PayloadFilter? filter = null, int? ef = null,
        double? alpha = null, CancellationToken cancellationToken = default)
    {
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentException($"Search mode {(int)mode} is unknown: use dense, keyword or hybrid.", nameof(mode));
        }

        if (mode != SearchMode.Keyword && vector is null)
        {
            throw new ArgumentException($"A {mode.ToString().ToLowerInvariant()} search needs a query vector.", nameof(vector));
        }

        if (mode != SearchMode.Dense && string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException($"A {mode.ToString().ToLowerInvariant()} search needs query text.", nameof(text));
        }

        if (mode == SearchMode.Dense)
        {
            return await SearchAsync(collection, vector!, k, ef, filter, cancellationToken);
        }

        var spec = await GetSpecAsync(collection, cancellationToken);
        if (vector is not null && vector.Length != spec.Dimension)
        {
            throw new ArgumentException($"The query has {vector.Length} dimensions; collection '{collection}' has {spec.Dimension}.");
        }

        var request = new HybridSearchRequest(mode, vector is null ? null : MemoryMarshal.AsBytes(vector.AsSpan()).ToArray(), text, k, ef, filter, Alpha: alpha);
        HybridSearch.Validate(spec, request);
        var shards = ShardsOf(spec);
        if (shards.Length == 1 || Connection.IsEmbedded)
        {
            return (await RetryAsync(() => HybridSearch.RunAsync(shards, spec, request), cancellationToken)).ToHits();
        }

        // Through a gateway, one call carries the query to a silo that runs both phases and the fusion there.
        var router = Cluster.GetGrain<IVectorSearchGrain>(Interlocked.Increment(ref _searchKey) & 7);
        return (await RetryAsync(() => router.HybridSearchAsync(spec, request), cancellationToken)).ToHits();
    }

    /// <summary>
    /// As <see cref="HybridSearchAsync"/> for a query in plain words, embedded with the cluster's model when
    /// <paramref name="mode"/> needs a vector (an ingested collection of the model's dimension).
    /// </summary>
    public async Task<SearchHit[]> SearchTextAsync(
        string collection, string text, int k, SearchMode mode = SearchMode.Hybrid, PayloadFilter? filter = null, int? ef = null,
        double? alpha = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException("The query text is empty: give the words to search for.", nameof(text));
        }

        var vector = mode == SearchMode.Keyword ? null : (await EmbedAsync([text], cancellationToken))[0];
        return await HybridSearchAsync(collection, vector, text, k, mode, filter, ef, alpha, cancellationToken);
    }
}
