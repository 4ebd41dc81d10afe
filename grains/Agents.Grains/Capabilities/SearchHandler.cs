using System.Runtime.InteropServices;
using System.Text.Json;
using Agents.Grains.Embeddings;

namespace Agents.Grains.Capabilities;

/// <summary>
/// <c>search</c>: a collection by text (embedded here with the silo's model when the mode needs a vector), by vector,
/// or both, fanned out from this silo to the collection's shards.
/// </summary>
public sealed class SearchHandler(IGrainFactory grains, EmbeddingModel model)
{
    /// <summary>The best hits, best first.</summary>
    public async Task<CapabilitySearchReply> HandleAsync(CapabilitySearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Collection))
        {
            throw new ArgumentException("The search request names no collection: give it in \"collection\".");
        }

        ShardRouter.ValidateName(request.Collection);
        var hasText = !string.IsNullOrWhiteSpace(request.Text);
        if (!hasText && request.Vector is null)
        {
            throw new ArgumentException("The search request has neither text nor a vector: give the query in \"text\" or \"vector\".");
        }

        var mode = request.Mode is null && !hasText ? SearchMode.Dense : BuiltInCapabilities.ParseMode(request.Mode);
        var spec = await grains.GetGrain<IVectorCollectionGrain>(request.Collection).GetSpecAsync()
            ?? throw new KeyNotFoundException($"Collection '{request.Collection}' does not exist.");
        var vector = request.Vector;
        if (vector is not null && vector.Length != spec.Dimension)
        {
            throw new ArgumentException($"The query vector has {vector.Length} dimensions; collection '{spec.Name}' has {spec.Dimension}.");
        }

        if (mode != SearchMode.Keyword && vector is null)
        {
            if (spec.Dimension != SentenceEmbedder.Dimension)
            {
                throw new ArgumentException(
                    $"Collection '{spec.Name}' holds {spec.Dimension}-d vectors, not the model's {SentenceEmbedder.Dimension}: give a query vector, or search it in keyword mode.");
            }

            vector = (await model.EmbedAsync([request.Text!]))[0];
        }

        var query = new HybridSearchRequest(mode, vector is null ? null : MemoryMarshal.AsBytes(vector.AsSpan()).ToArray(), request.Text, request.K, Filter: request.Filter, Alpha: request.Alpha);
        var shards = Enumerable.Range(0, spec.Shards).Select(i => grains.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(spec.Name, i))).ToArray();
        var hits = (await HybridSearch.RunAsync(shards, spec, query)).ToHits();
        return new CapabilitySearchReply(
            mode.ToString().ToLowerInvariant(),
            hits.Select(h => new CapabilitySearchHit(h.Id, h.Score, h.Payload.Length == 0 ? null : JsonSerializer.Deserialize<JsonElement>(h.Payload))).ToArray());
    }
}
