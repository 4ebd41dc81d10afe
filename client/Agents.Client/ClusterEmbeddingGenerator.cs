using Microsoft.Extensions.AI;

namespace Agents.Client;

/// <summary>
/// Microsoft.Extensions.AI's embedding generator over the cluster's all-MiniLM-L6-v2 model, so .NET AI code
/// (Semantic Kernel, vector-store ingestion pipelines) embeds on the silos like with any other provider.
/// </summary>
public sealed class ClusterEmbeddingGenerator(AgentsClient client) : IEmbeddingGenerator<string, Embedding<float>>
{
    private static readonly EmbeddingGeneratorMetadata Info = new("agents-orleans", null, "all-MiniLM-L6-v2", IEmbeddingGrain.Dimension);

    /// <inheritdoc />
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } dimensions && dimensions != IEmbeddingGrain.Dimension)
        {
            throw new ArgumentException($"The cluster's model gives {IEmbeddingGrain.Dimension} dimensions; {dimensions} were asked for.", nameof(options));
        }

        var vectors = await client.EmbedAsync(values.ToList(), cancellationToken);
        var created = DateTimeOffset.UtcNow;
        return new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { CreatedAt = created, ModelId = Info.DefaultModelId }));
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? Info
        : serviceType.IsInstanceOfType(this) ? this
        : serviceType.IsInstanceOfType(client) ? client
        : null;

    /// <summary>The client belongs to the caller; nothing to release.</summary>
    public void Dispose()
    {
    }
}
