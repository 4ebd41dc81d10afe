using System.Runtime.CompilerServices;
using Microsoft.Extensions.VectorData;

namespace Agents.Client.VectorData;

/// <summary>A Microsoft.Extensions.VectorData store over the vector collections of an Agents cluster.</summary>
/// <param name="client">The cluster client; not owned (disposing the store leaves it alone).</param>
/// <param name="shards">
/// Shards each collection is created with by <see cref="VectorStoreCollection{TKey, TRecord}.EnsureCollectionExistsAsync"/>;
/// 0 (the default) lets the cluster choose two per active silo.
/// </param>
public sealed class AgentsVectorStore(AgentsClient client, int shards = ShardRouter.ClusterDefaultShards) : VectorStore
{
    private readonly AgentsClient _client = client ?? throw new ArgumentNullException(nameof(client));
    /// <summary>The system name reported in metadata and exceptions.</summary>
    public const string SystemName = "agents-orleans";

    private readonly VectorStoreMetadata _metadata = new() { VectorStoreSystemName = SystemName };

    /// <summary>A typed collection; <typeparamref name="TKey"/> is string, Guid, int or long.</summary>
    public override VectorStoreCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null) =>
        new AgentsVectorStoreCollection<TKey, TRecord>(_client, name, definition, shards);

    /// <summary>A collection of <c>Dictionary&lt;string, object?&gt;</c> records keyed by property name, mapped by <paramref name="definition"/>.</summary>
    public override VectorStoreCollection<object, Dictionary<string, object?>> GetDynamicCollection(string name, VectorStoreCollectionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return new AgentsVectorStoreCollection<object, Dictionary<string, object?>>(_client, name, definition, shards);
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var spec in await _client.ListCollectionsAsync(cancellationToken))
        {
            yield return spec.Name;
        }
    }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default) =>
        ExistsAsync(_client, name, cancellationToken);

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default) =>
        DeleteIfExistsAsync(_client, name, cancellationToken);

    /// <summary>This store, its <see cref="VectorStoreMetadata"/> or its <see cref="AgentsClient"/>.</summary>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreMetadata) ? _metadata
            : serviceType == typeof(AgentsClient) ? _client
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Asks the collection grain itself, which knows at once whether it was created.</summary>
    internal static async Task<bool> ExistsAsync(AgentsClient client, string name, CancellationToken cancellationToken)
    {
        try
        {
            await client.DescribeCollectionAsync(name, cancellationToken);
            return true;
        }
        catch (KeyNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Drops the collection when it exists; a missing one is already what the caller wants.</summary>
    internal static async Task DeleteIfExistsAsync(AgentsClient client, string name, CancellationToken cancellationToken)
    {
        if (await ExistsAsync(client, name, cancellationToken))
        {
            try
            {
                await client.DropCollectionAsync(name, cancellationToken);
            }
            catch (KeyNotFoundException)
            {
                // Someone else dropped it between the check and the drop: the outcome is the same.
            }
        }
    }
}
