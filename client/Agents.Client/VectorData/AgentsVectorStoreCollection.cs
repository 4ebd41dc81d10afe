using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace Agents.Client.VectorData;

/// <summary>
/// A Microsoft.Extensions.VectorData collection over an Agents cluster collection. The key becomes the point id
/// (string, Guid, int or long), the single float32 vector the point vector, and the data properties the point's JSON
/// payload under their storage names.
/// </summary>
/// <remarks>
/// <para>Searching with <see cref="VectorSearchOptions{TRecord}.IncludeVectors"/> fetches each hit's vector with one extra
/// point read per hit (in parallel), because the cluster's search returns payloads only; hits deleted in between are dropped.</para>
/// <para>Hybrid search (<see cref="IKeywordHybridSearchable{TRecord}"/>) needs at least one string data property marked
/// full-text indexed: the collection is created with those properties as its text fields, and the keywords are searched
/// with BM25 over all of them together, fused with the dense hits by reciprocal rank.</para>
/// <para>Vectors come back as the cluster stores them: a cosine collection keeps unit-length vectors, so a read returns
/// the normalised vector, not the one upserted.</para>
/// <para>Not supported (they throw <see cref="NotSupportedException"/>): filtered retrieval without a vector
/// (<c>GetAsync(filter, top)</c>), embedding generation (search values must be float vectors), distance functions other
/// than cosine, dot product and Euclidean, and filters beyond those <see cref="FilterTranslator"/> lists.</para>
/// </remarks>
public sealed class AgentsVectorStoreCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>, IKeywordHybridSearchable<TRecord>
    where TKey : notnull
    where TRecord : class
{
    /// <summary>Point reads in flight at once when fetching several records.</summary>
    private const int ParallelReads = 32;

    private readonly AgentsClient _client;
    private readonly RecordModel<TRecord> _model;
    private readonly int _shards;
    private readonly VectorStoreCollectionMetadata _metadata;

    /// <summary>Maps <typeparamref name="TRecord"/> (by <paramref name="definition"/>, else its attributes) onto collection <paramref name="name"/>.</summary>
    /// <param name="client">The cluster client; not owned (disposing the collection leaves it alone).</param>
    /// <param name="name">1-64 of [A-Za-z0-9_-].</param>
    /// <param name="definition">The schema; required for <c>Dictionary&lt;string, object?&gt;</c> records.</param>
    /// <param name="shards">Shards <see cref="EnsureCollectionExistsAsync"/> creates the collection with; 0 (the default) is two per active silo.</param>
    public AgentsVectorStoreCollection(
        AgentsClient client, string name, VectorStoreCollectionDefinition? definition = null, int shards = ShardRouter.ClusterDefaultShards)
    {
        ArgumentNullException.ThrowIfNull(client);
        ShardRouter.ValidateName(name);
        ArgumentOutOfRangeException.ThrowIfNegative(shards);
        _client = client;
        _shards = shards;
        Name = name;
        _model = RecordModel<TRecord>.Build(typeof(TKey), definition);
        _metadata = new VectorStoreCollectionMetadata { VectorStoreSystemName = AgentsVectorStore.SystemName, CollectionName = name };
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <summary>The schema <see cref="EnsureCollectionExistsAsync"/> creates.</summary>
    public CollectionSpec Spec => new(Name, _model.Dimensions, _model.Metric, _shards, _model.Index)
    {
        TextFields = _model.FullTextFields is { Length: > 0 } fields ? fields : null,
    };

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default) =>
        Run("CollectionExists", () => AgentsVectorStore.ExistsAsync(_client, Name, cancellationToken));

    /// <inheritdoc />
    public override Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default) =>
        Run("EnsureCollectionExists", () => _client.CreateCollectionAsync(Spec, cancellationToken));

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default) =>
        Run("EnsureCollectionDeleted", async () =>
        {
            await AgentsVectorStore.DeleteIfExistsAsync(_client, Name, cancellationToken);
            return true;
        });

    /// <inheritdoc />
    public override Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        var id = _model.ToId(key);
        return Run("Get", () => ReadAsync(id, options?.IncludeVectors ?? false, cancellationToken));
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<TRecord> GetAsync(
        IEnumerable<TKey> keys, RecordRetrievalOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var includeVectors = options?.IncludeVectors ?? false;
        foreach (var chunk in keys.Select(k => _model.ToId(k)).Chunk(ParallelReads))
        {
            var records = await Run("Get", () => Task.WhenAll(chunk.Select(id => ReadAsync(id, includeVectors, cancellationToken))));
            foreach (var record in records)
            {
                if (record is not null)
                {
                    yield return record;
                }
            }
        }
    }

    /// <summary>Not supported: the cluster has no filtered scan; use <see cref="SearchAsync{TInput}"/> with a filter.</summary>
    public override IAsyncEnumerable<TRecord> GetAsync(
        Expression<Func<TRecord, bool>> filter, int top, FilteredRecordRetrievalOptions<TRecord>? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException(
            "The Agents vector store cannot list records by filter alone: its shards only answer nearest-neighbour searches. Use SearchAsync with a Filter instead.");

    /// <inheritdoc />
    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default) => DeleteAsync([key], cancellationToken);

    /// <inheritdoc />
    public override Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var ids = keys.Select(k => _model.ToId(k)).ToArray();
        return ids.Length == 0 ? Task.CompletedTask : Run("Delete", () => _client.DeletePointsAsync(Name, ids, cancellationToken));
    }

    /// <inheritdoc />
    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default) => UpsertAsync([record], cancellationToken);

    /// <inheritdoc />
    public override Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);

        // Mapped up front so a bad record fails the call before any batch reaches a shard.
        var points = records.Select(_model.ToPoint).ToList();
        return points.Count == 0 ? Task.CompletedTask : Run("Upsert", () => _client.UpsertAsync(Name, points, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// The <paramref name="top"/> nearest records (after <see cref="VectorSearchOptions{TRecord}.Skip"/>), best first;
    /// <see cref="VectorSearchResult{TRecord}.Score"/> is the similarity for cosine and dot product, the distance for Euclidean.
    /// </summary>
    /// <param name="searchValue">A <c>ReadOnlyMemory&lt;float&gt;</c>, <c>float[]</c> or <c>Embedding&lt;float&gt;</c>.</param>
    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(
        TInput searchValue, int top, VectorSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip, nameof(options.Skip));
        var query = ToQueryVector(searchValue);
        CheckVectorProperty(options.VectorProperty);
        var filter = FilterTranslator.Translate(options.Filter, _model, out var matchesNothing);
        if (matchesNothing)
        {
            yield break;
        }

        var results = await Run("Search", async () =>
        {
            var hits = await _client.SearchAsync(Name, query, top + options.Skip, filter: filter, cancellationToken: cancellationToken);
            return await ToResultsAsync(hits, options, cancellationToken);
        });
        foreach (var result in results)
        {
            yield return result;
        }
    }

    /// <summary>
    /// The <paramref name="top"/> best records (after <see cref="HybridSearchOptions{TRecord}.Skip"/>) for a vector and
    /// keywords together: the dense hits of <paramref name="searchValue"/> and the BM25 hits of the keywords over the
    /// full-text indexed properties, fused by reciprocal rank; <see cref="VectorSearchResult{TRecord}.Score"/> is the fused
    /// score (higher is better, whatever the metric), and <see cref="HybridSearchOptions{TRecord}.ScoreThreshold"/> is a
    /// minimum of it.
    /// </summary>
    /// <param name="searchValue">A <c>ReadOnlyMemory&lt;float&gt;</c>, <c>float[]</c> or <c>Embedding&lt;float&gt;</c>.</param>
    /// <param name="keywords">Words to match; searched as one query (any of them may match, rarer ones weigh more).</param>
    public async IAsyncEnumerable<VectorSearchResult<TRecord>> HybridSearchAsync<TInput>(
        TInput searchValue, ICollection<string> keywords, int top, HybridSearchOptions<TRecord>? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TInput : notnull
    {
        ArgumentNullException.ThrowIfNull(keywords);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new HybridSearchOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip, nameof(options.Skip));
        var query = ToQueryVector(searchValue);
        CheckVectorProperty(options.VectorProperty);
        CheckFullTextProperty(options.AdditionalProperty);
        var text = string.Join(' ', keywords.Where(w => !string.IsNullOrWhiteSpace(w)));
        if (text.Length == 0)
        {
            throw new ArgumentException("A hybrid search needs at least one keyword.", nameof(keywords));
        }

        var filter = FilterTranslator.Translate(options.Filter, _model, out var matchesNothing);
        if (matchesNothing)
        {
            yield break;
        }

        var results = await Run("HybridSearch", async () =>
        {
            var hits = await _client.HybridSearchAsync(Name, query, text, top + options.Skip, SearchMode.Hybrid, filter, cancellationToken: cancellationToken);
            return await ToResultsAsync(hits, options.Skip, options.ScoreThreshold, higherIsBetter: true, options.IncludeVectors, cancellationToken);
        });
        foreach (var result in results)
        {
            yield return result;
        }
    }

    private static float[] ToQueryVector<TInput>(TInput searchValue) => searchValue switch
    {
        ReadOnlyMemory<float> memory => memory.ToArray(),
        float[] array => array,
        Embedding<float> embedding => embedding.Vector.ToArray(),
        null => throw new ArgumentNullException(nameof(searchValue)),
        _ => throw new NotSupportedException(
            $"Search value of type '{searchValue.GetType().Name}' is not supported: the Agents vector store generates no embeddings, so pass ReadOnlyMemory<float>, float[] or Embedding<float>."),
    };

    /// <summary>A search's hits as results: <c>Skip</c> and <c>ScoreThreshold</c> applied, records built from the payloads.</summary>
    private Task<List<VectorSearchResult<TRecord>>> ToResultsAsync(
        IEnumerable<SearchHit> hits, VectorSearchOptions<TRecord> options, CancellationToken cancellationToken) =>
        ToResultsAsync(hits, options.Skip, options.ScoreThreshold, higherIsBetter: _model.Metric != VectorMetric.L2, options.IncludeVectors, cancellationToken);

    private async Task<List<VectorSearchResult<TRecord>>> ToResultsAsync(
        IEnumerable<SearchHit> hits, int skip, double? scoreThreshold, bool higherIsBetter, bool includeVectors, CancellationToken cancellationToken)
    {
        var kept = hits.Skip(skip).Where(h => scoreThreshold is not { } threshold
            || (higherIsBetter ? h.Score >= threshold : h.Score <= threshold));
        var found = await Task.WhenAll(kept.Select(async hit =>
        {
            // The search returns payloads only, so vectors cost one point read per hit.
            var record = includeVectors
                ? await ReadAsync(hit.Id, includeVectors: true, cancellationToken)
                : _model.ToRecord(hit.Id, hit.Payload, vector: null);
            return record is null ? null : new VectorSearchResult<TRecord>(record, hit.Score);
        }));
        return found.OfType<VectorSearchResult<TRecord>>().ToList();
    }

    /// <summary>
    /// For each of <paramref name="searchValues"/>, in order, what <see cref="SearchAsync{TInput}"/> returns for it; the
    /// queries go to the shards in batches, many per call (<see cref="AgentsClient.SearchBatchAsync"/>), so a large set of
    /// queries costs a few calls per shard rather than one each. The <paramref name="options"/> apply to every query.
    /// </summary>
    public async Task<IReadOnlyList<IReadOnlyList<VectorSearchResult<TRecord>>>> SearchBatchAsync(
        IReadOnlyList<ReadOnlyMemory<float>> searchValues, int top, VectorSearchOptions<TRecord>? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(searchValues);
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        ArgumentOutOfRangeException.ThrowIfNegative(options.Skip, nameof(options.Skip));
        CheckVectorProperty(options.VectorProperty);
        var filter = FilterTranslator.Translate(options.Filter, _model, out var matchesNothing);
        if (matchesNothing || searchValues.Count == 0)
        {
            return searchValues.Select(_ => (IReadOnlyList<VectorSearchResult<TRecord>>)[]).ToList();
        }

        var queries = searchValues.Select(v => v.ToArray()).ToList();
        return await Run("Search", async () =>
        {
            var answers = await _client.SearchBatchAsync(Name, queries, top + options.Skip, filter: filter, cancellationToken: cancellationToken);
            var results = new List<IReadOnlyList<VectorSearchResult<TRecord>>>(answers.Length);
            foreach (var hits in answers)
            {
                results.Add(await ToResultsAsync(hits, options, cancellationToken));
            }

            return results;
        });
    }

    /// <summary>This collection, its <see cref="VectorStoreCollectionMetadata"/> or its <see cref="AgentsClient"/>.</summary>
    public override object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(VectorStoreCollectionMetadata) ? _metadata
            : serviceType == typeof(AgentsClient) ? _client
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>The property a selector such as <c>r =&gt; r.Text</c> (or <c>r =&gt; r["Text"]</c> for dynamic records) names.</summary>
    private static string? PropertyName(Expression<Func<TRecord, object?>> selector)
    {
        var body = selector.Body is UnaryExpression { NodeType: ExpressionType.Convert } convert ? convert.Operand : selector.Body;
        return body switch
        {
            MemberExpression member => member.Member.Name,
            MethodCallExpression { Method.Name: "get_Item", Arguments: [ConstantExpression { Value: string key }] } => key,
            _ => null,
        };
    }

    /// <summary>A hybrid search needs full-text properties, and an <c>AdditionalProperty</c> must name one of them.</summary>
    private void CheckFullTextProperty(Expression<Func<TRecord, object?>>? selector)
    {
        var fullText = _model.Data.Where(d => d.FullText).ToList();
        if (fullText.Count == 0)
        {
            throw new NotSupportedException(
                $"'{typeof(TRecord).Name}' has no full-text indexed property: mark a string data property IsFullTextIndexed to use hybrid search.");
        }

        if (selector is not null && !fullText.Any(d => d.Name == PropertyName(selector)))
        {
            throw new NotSupportedException(
                $"AdditionalProperty '{selector}' does not name a full-text indexed property of this collection ({string.Join(", ", fullText.Select(d => d.Name))}).");
        }
    }

    private void CheckVectorProperty(Expression<Func<TRecord, object?>>? selector)
    {
        if (selector is null)
        {
            return;
        }

        var name = PropertyName(selector);
        if (name != _model.Vector.Name)
        {
            throw new NotSupportedException(
                $"VectorProperty '{selector}' does not name '{_model.Vector.Name}', the only vector property of this Agents collection.");
        }
    }

    private async Task<TRecord?> ReadAsync(string id, bool includeVectors, CancellationToken cancellationToken)
    {
        var point = await _client.GetPointAsync(Name, id, cancellationToken);
        if (point is null)
        {
            return null;
        }

        var vector = includeVectors ? MemoryMarshal.Cast<byte, float>(point.Vector.AsSpan()).ToArray() : null;
        return _model.ToRecord(point.Id, point.Payload, vector);
    }

    /// <summary>Wraps cluster failures in <see cref="VectorStoreException"/> as the abstraction documents; caller errors pass through.</summary>
    private async Task<T> Run<T>(string operation, Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is not (ArgumentException or NotSupportedException or OperationCanceledException or VectorStoreException))
        {
            throw new VectorStoreException($"{operation} on collection '{Name}' failed: {e.Message}", e)
            {
                VectorStoreSystemName = AgentsVectorStore.SystemName,
                CollectionName = Name,
                OperationName = operation,
            };
        }
    }

    private async Task Run(string operation, Func<Task> action) => await Run(operation, async () =>
    {
        await action();
        return true;
    });
}
