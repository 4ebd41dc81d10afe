using Agents.Engine.Vectors.Storage;

namespace Agents.Grains.Vectors;

/// <summary>Owns a collection's schema in the catalogue; shards are addressed directly by clients for upserts and searches.</summary>
public sealed class VectorCollectionGrain(VectorStorage storage, IClusterMembershipService membership) : Grain, IVectorCollectionGrain
{
    private CollectionRecord? _record;

    private string Name => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken) =>
        _record = await storage.Catalog.GetAsync(Name, cancellationToken);

    /// <inheritdoc />
    public async Task<CollectionInfo> CreateAsync(CollectionSpec spec)
    {
        ShardRouter.Validate(spec);
        if (spec.Name != Name)
        {
            throw new ArgumentException($"Spec names collection '{spec.Name}' but was sent to '{Name}'.");
        }

        if (spec.Shards == ShardRouter.ClusterDefaultShards)
        {
            // Fixed now for the collection's life; an existing collection keeps its count whatever the cluster is today.
            var existing = _record ?? await storage.Catalog.GetAsync(Name);
            spec = spec with
            {
                Shards = existing?.Shards
                    ?? ShardRouter.DefaultShards(membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active)),
            };
        }

        var record = ToRecord(spec, DateTimeOffset.UtcNow);
        if (!await storage.Catalog.TryCreateAsync(record))
        {
            _record = await storage.Catalog.GetAsync(Name);
            if (_record is null || ToSpec(_record) != spec)
            {
                throw new InvalidOperationException($"Collection '{Name}' already exists with another schema; drop it first.");
            }
        }
        else
        {
            _record = record;
        }

        return await DescribeAsync();
    }

    /// <inheritdoc />
    public Task<CollectionSpec?> GetSpecAsync() => Task.FromResult(_record is null ? null : ToSpec(_record));

    /// <inheritdoc />
    public async Task<CollectionInfo> DescribeAsync()
    {
        var record = _record ?? throw new KeyNotFoundException($"Collection '{Name}' does not exist.");
        var spec = ToSpec(record);
        var shards = await Task.WhenAll(Enumerable.Range(0, spec.Shards)
            .Select(i => GrainFactory.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(Name, i)).DescribeAsync()));
        return new CollectionInfo(spec, record.CreatedAt, shards.Sum(s => s.Points), shards.Sum(s => s.Indexed), shards);
    }

    /// <inheritdoc />
    public async Task DropAsync()
    {
        var record = _record ?? throw new KeyNotFoundException($"Collection '{Name}' does not exist.");
        await Task.WhenAll(Enumerable.Range(0, record.Shards)
            .Select(i => GrainFactory.GetGrain<IVectorShardGrain>(ShardRouter.ShardKey(Name, i)).DropAsync()));
        await storage.Catalog.DropAsync(Name);
        _record = null;
        DeactivateOnIdle();
    }

    internal static CollectionSpec ToSpec(CollectionRecord r) =>
        new(r.Name, r.Dimension, EngineMapping.MetricFromCatalog(r.Metric), r.Shards, EngineMapping.IndexFromCatalog(r.Index), r.M, r.EfConstruction, r.Ef, r.Quantize,
            r.TextFields is { Length: > 0 } fields ? fields : null);

    private static CollectionRecord ToRecord(CollectionSpec s, DateTimeOffset createdAt) =>
        new(s.Name, s.Dimension, s.Metric.ToCatalogName(), s.Shards, s.Index.ToCatalogName(), s.M, s.EfConstruction, s.Ef, s.Quantize, createdAt,
            s.TextFields is { Length: > 0 } fields ? fields : null);
}

/// <summary>Lists collections from the catalogue, on whichever silo is asked.</summary>
[StatelessWorker]
public sealed class VectorCatalogGrain(VectorStorage storage) : Grain, IVectorCatalogGrain
{
    /// <inheritdoc />
    public async Task<IReadOnlyList<CollectionSpec>> ListAsync() =>
        (await storage.Catalog.ListAsync()).Select(VectorCollectionGrain.ToSpec).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
}
