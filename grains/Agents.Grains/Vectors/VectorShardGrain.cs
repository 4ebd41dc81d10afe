using System.Runtime.InteropServices;
using Agents.Engine.Vectors;
using Agents.Engine.Vectors.Keyword;
using Agents.Engine.Vectors.Storage;

namespace Agents.Grains.Vectors;

/// <summary>
/// One shard of a collection, its points held by a <see cref="LocalShard"/>. An upsert is validated, written durably,
/// then applied in memory and acknowledged; a background task catches the HNSW graph up, and searches cover the slots it
/// has not reached with an exact scan, so a point is searchable the moment its upsert returns. Writes are serialised so
/// memory follows the durable order.
/// When the active silos change, a shard whose <see cref="ShardPlacement"/> target is now another silo migrates there
/// once membership has been quiet for a moment, and reloads from the store and its saved graph.
/// A collection with text fields also keeps a BM25 keyword index of them. It is derived state, never saved: every
/// activation (after a move, a restart, a crash, a compaction) rebuilds it from the stored payloads as it loads the
/// points, so it can never disagree with them and costs no write on the upsert path.
/// </summary>
[Reentrant, ShardPlacement]
public sealed partial class VectorShardGrain(
    VectorStorage storage, VectorMemoryBudget budget, ILocalSiloDetails silo, IClusterMembershipService membership, ILogger<VectorShardGrain> logger)
    : Grain, IVectorShardGrain
{
    /// <summary>Points per upsert call.</summary>
    public const int MaxBatch = 100_000;

    private const int SnapshotEvery = 20_000;

    // Characters of a keyword query at most: a query is words, not a document.
    private const int MaxQueryText = 10_000;

    private static readonly TimeSpan IngestQuiet = TimeSpan.FromMilliseconds(50);

    /// <summary>How often a shard checks whether it is on its silo.</summary>
    public static readonly TimeSpan RebalanceCheck = TimeSpan.FromMilliseconds(500);

    /// <summary>How long membership must stay unchanged before a shard moves, so silos joining one after another cause one move, not several.</summary>
    public static readonly TimeSpan RebalanceQuiet = TimeSpan.FromSeconds(2);

    // A move the runtime did not carry out (the director kept the shard here) may be asked for again after this.
    private static readonly TimeSpan MoveRetry = TimeSpan.FromSeconds(30);
    private MembershipVersion _seenMembership = MembershipVersion.MinValue;
    private long _membershipChangedAt;
    private long _moveRequestedAt;
    private bool _migrating;
    private readonly SemaphoreSlim _writes = new(1, 1);
    private long _lastUpsert;
    private CollectionSpec _spec = null!;
    private IShardStore _store = null!;
    private LocalShard _points = null!;
    private int _snapshotAt;
    private Task _indexing = Task.CompletedTask;
    private string _collection = "";
    private bool _dropped;
    private bool _compacting;
    private long _reserved;
    private int _shard;

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_collection, _shard) = ShardRouter.ParseShardKey(this.GetPrimaryKeyString());
        _spec = await GrainFactory.GetGrain<IVectorCollectionGrain>(_collection).GetSpecAsync()
            ?? throw new KeyNotFoundException($"Collection '{_collection}' does not exist.");
        if (_shard < 0 || _shard >= _spec.Shards)
        {
            throw new ArgumentException($"Collection '{_collection}' has {_spec.Shards} shards; there is no shard {_shard}.");
        }

        _store = await storage.OpenShardAsync(_collection, _shard, _spec.Dimension, cancellationToken);
        _points = new LocalShard(
            _spec.Dimension, _spec.Metric.ToEngine(), _spec.Index == VectorIndexKind.Hnsw ? GraphParameters : null, _spec.Quantize ? storage.MappedDirectory : null,
            _spec.TextFields);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var points = new List<StoredPoint>();
        await foreach (var point in _store.LoadAsync(cancellationToken))
        {
            points.Add(point);
        }

        var snapshot = _points.HasGraph ? await _store.LoadSnapshotAsync(cancellationToken) : null;
        if (_points.Restore(points, snapshot?.Snapshot) is { } rejected)
        {
            // A damaged saved graph costs a re-index, never data: the points come from the store.
            LogSnapshotRejected(logger, this.GetPrimaryKeyString(), rejected);
        }

        _snapshotAt = _points.IndexedCount;

        // Already durable, so loaded whatever the budget says; it counts against later upserts.
        _reserved = (long)_points.SlotCount * BytesPerPoint;
        budget.ForceReserve(_reserved);
        StartIndexing();
        LogLoaded(logger, this.GetPrimaryKeyString(), _points.LiveCount, _points.IndexedCount, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        _seenMembership = membership.CurrentSnapshot.Version;
        _membershipChangedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        this.RegisterGrainTimer(RebalanceAsync, new GrainTimerCreationOptions(RebalanceCheck, RebalanceCheck) { Interleave = true });
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (reason.ReasonCode == DeactivationReasonCode.Migrating)
        {
            // A move waits for no indexing: the saved graph covers what is indexed and the new silo indexes the rest.
            Volatile.Write(ref _migrating, true);
            LogMoving(logger, this.GetPrimaryKeyString(), silo.SiloAddress.ToParsableString(), _points?.LiveCount ?? 0);
        }

        budget.Release(_reserved);
        _reserved = 0;
        if (_store is null)
        {
            return;
        }

        try
        {
            if (_compacting)
            {
                // An empty graph on record: the next activation loads only the live points and indexes them afresh.
                Volatile.Write(ref _dropped, true);
                await _indexing.WaitAsync(cancellationToken);
                await _store.SaveSnapshotAsync(ReadOnlyMemory<byte>.Empty, 0, cancellationToken);
            }
            else
            {
                await _indexing.WaitAsync(cancellationToken);
                if (!_dropped)
                {
                    await SaveSnapshotAsync(cancellationToken);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // The data is durable; only the saved graph is older, so the next activation indexes a little more.
        }
        finally
        {
            await _store.DisposeAsync();

            // A memory-mapped arena is unmapped only once the indexer has stopped; if it has not, the mapping is left to
            // the finalizers rather than pulled from under it.
            if (_indexing.IsCompleted)
            {
                _points?.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public async Task<int> UpsertAsync(PointBatch batch)
    {
        Volatile.Write(ref _lastUpsert, System.Diagnostics.Stopwatch.GetTimestamp());
        var points = Validate(batch);
        await _writes.WaitAsync();
        try
        {
            // Every upsert takes a new slot (an overwrite kills the old one), so it costs memory until compaction.
            var bytes = points.Count * BytesPerPoint;
            budget.Reserve(bytes, $"an upsert of {points.Count} points into '{this.GetPrimaryKeyString()}'");
            try
            {
                await _store.AppendUpsertsAsync(points.Select(p => p.Point).ToList());
            }
            catch
            {
                // Nothing was written, so nothing is held.
                budget.Release(bytes);
                throw;
            }

            _reserved += bytes;
            AgentsMetrics.VectorsStored.Add(points.Count);
            var dead = _points.DeadSlots;
            foreach (var (point, fields) in points)
            {
                _points.Upsert(point, fields);
            }

            if (_points.DeadSlots > dead)
            {
                CompactIfDue();
            }
        }
        finally
        {
            _writes.Release();
        }

        StartIndexing();
        return points.Count;
    }

    /// <inheritdoc />
    public async Task<int> DeleteAsync(string[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        await _writes.WaitAsync();
        try
        {
            var existing = ids.Distinct(StringComparer.Ordinal).Where(_points.Contains).ToList();
            if (existing.Count == 0)
            {
                return 0;
            }

            await _store.AppendDeletesAsync(existing);
            foreach (var id in existing)
            {
                _points.Delete(id);
            }

            CompactIfDue();
            return existing.Count;
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <inheritdoc />
    public Task<VectorPoint?> GetAsync(string id) =>
        Task.FromResult(_points.Get(id) is { } point
            ? new VectorPoint(id, MemoryMarshal.AsBytes(point.Vector.AsSpan()).ToArray(), point.Payload)
            : null);

    /// <inheritdoc />
    public ValueTask<ShardHits> SearchAsync(SearchRequest request)
    {
        var query = ReadQuery(request);
        var filter = request.Filter;
        filter?.Validate();
        var hits = _points.Search(query, request.K, request.Ef, filter is null ? null : fields => fields.Matches(filter));
        AgentsMetrics.Searches.Add(1);
        return ValueTask.FromResult(Compact(hits, request.WithPayloads));
    }

    /// <inheritdoc />
    public ValueTask<KeywordStats> KeywordStatsAsync(string text)
    {
        CheckKeywordQuery(text);
        var stats = _points.KeywordStatistics(text);
        return ValueTask.FromResult(new KeywordStats(stats.Documents, stats.TotalLength, stats.Terms, stats.DocumentFrequencies));
    }

    /// <inheritdoc />
    public ValueTask<ShardHits> KeywordSearchAsync(KeywordSearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckKeywordQuery(request.Text);
        if (request.K is < 1 or > ShardRouter.MaxK)
        {
            throw new ArgumentException($"k {request.K} is out of range: use 1..{ShardRouter.MaxK}.");
        }

        var filter = request.Filter;
        filter?.Validate();
        var corpus = request.Corpus is { } c
            ? new Bm25Statistics(c.Documents, c.TotalLength, c.Terms, c.DocumentFrequencies)
            : null;
        if (corpus is not null && corpus.Terms.Length != corpus.DocumentFrequencies.Length)
        {
            throw new ArgumentException($"The corpus statistics name {corpus.Terms.Length} terms but {corpus.DocumentFrequencies.Length} frequencies.");
        }

        var hits = _points.KeywordSearch(request.Text, request.K, filter is null ? null : fields => fields.Matches(filter), corpus);
        AgentsMetrics.Searches.Add(1);
        return ValueTask.FromResult(Compact(hits, request.WithPayloads));
    }

    private void CheckKeywordQuery(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new ArgumentException("A keyword query needs text: give the words to search for.");
        }

        if (text.Length > MaxQueryText)
        {
            throw new ArgumentException($"A keyword query of {text.Length} characters is too long: use at most {MaxQueryText}.");
        }

        if (!_points.HasKeywordIndex)
        {
            throw new ArgumentException($"Collection '{_collection}' indexes no text fields, so it has no keyword index: search it in dense mode, or create it with text fields.");
        }
    }

    /// <summary>Hits as the parallel arrays that cross the wire: three arrays, not an object a hit.</summary>
    internal static ShardHits Compact(ReadOnlySpan<ShardHit> hits, bool withPayloads)
    {
        if (hits.IsEmpty)
        {
            return ShardHits.None;
        }

        var ids = new string[hits.Length];
        var scores = new float[hits.Length];
        var payloads = withPayloads ? new byte[hits.Length][] : null;
        for (var i = 0; i < hits.Length; i++)
        {
            ids[i] = hits[i].Id;
            scores[i] = hits[i].Score;
            if (payloads is not null)
            {
                payloads[i] = hits[i].Payload;
            }
        }

        return new ShardHits(ids, scores, payloads);
    }

    /// <inheritdoc />
    public Task<ShardInfo> DescribeAsync() => Task.FromResult(new ShardInfo(
        _shard, silo.SiloAddress.ToParsableString(), _points.LiveCount, Math.Min(_points.LiveCount, _points.IndexedCount),
        _points.VectorBytes, _points.IndexBytes, _points.MappedBytes));

    /// <inheritdoc />
    public async Task DropAsync()
    {
        await _writes.WaitAsync();
        try
        {
            // The indexer stops at its next point: a dropped shard's graph is not worth finishing (it could take minutes).
            Volatile.Write(ref _dropped, true);
            await _indexing;
            await _store.DropAsync();
            _points.Clear();
        }
        finally
        {
            _writes.Release();
        }

        DeactivateOnIdle();
    }

    /// <summary>Moves this shard to its <see cref="ShardPlacement"/> silo once membership has settled and no write or compaction is running.</summary>
    private Task RebalanceAsync(CancellationToken cancellationToken)
    {
        var snapshot = membership.CurrentSnapshot;
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (snapshot.Version != _seenMembership)
        {
            _seenMembership = snapshot.Version;
            _membershipChangedAt = now;
            return Task.CompletedTask;
        }

        // Shards leave one after another (by number), so a silo's shards do not all reload on the same tick.
        var settle = RebalanceQuiet + TimeSpan.FromMilliseconds(_shard % 8 * 250);
        if (System.Diagnostics.Stopwatch.GetElapsedTime(_membershipChangedAt) < settle
            || (_moveRequestedAt != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(_moveRequestedAt) < MoveRetry)
            || _dropped || _compacting || _writes.CurrentCount == 0)
        {
            return Task.CompletedTask;
        }

        var (active, departed) = ShardPlacement.Members(snapshot);
        if (active.Count == 0)
        {
            return Task.CompletedTask;
        }

        var target = ShardPlacement.Assign(_collection, _spec.Shards, active, departed)[_shard];
        if (target.Equals(silo.SiloAddress))
        {
            return Task.CompletedTask;
        }

        _moveRequestedAt = now;
        LogMoveRequested(logger, this.GetPrimaryKeyString(), silo.SiloAddress.ToParsableString(), target.ToParsableString());

        // Migration hands the request context to the placement director, which honours the hint.
        RequestContext.Set(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey, target);
        try
        {
            MigrateOnIdle();
        }
        finally
        {
            RequestContext.Remove(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey);
        }

        return Task.CompletedTask;
    }

    private long BytesPerPoint => VectorMemoryBudget.BytesPerPoint(_spec.Dimension, _spec.Quantize);

    private HnswParameters GraphParameters => new(_spec.M, _spec.EfConstruction, _spec.Ef, Quantize: _spec.Quantize);

    private float[] ReadQuery(SearchRequest request)
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

        if (request.Vector.Length != _spec.Dimension * sizeof(float))
        {
            throw new ArgumentException(
                $"The query has {request.Vector.Length / (double)sizeof(float)} dimensions; collection '{_collection}' has {_spec.Dimension}.");
        }

        var query = MemoryMarshal.Cast<byte, float>(request.Vector).ToArray();
        for (var i = 0; i < query.Length; i++)
        {
            if (!float.IsFinite(query[i]))
            {
                throw new ArgumentException($"The query's value at dimension {i} is {query[i]}; only finite numbers are accepted.");
            }
        }

        if (_spec.Metric == VectorMetric.Cosine)
        {
            DistanceKernels.Normalize(query);
        }

        return query;
    }

    private List<(StoredPoint Point, PayloadFields Fields)> Validate(PointBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var n = batch.Ids.Length;
        if (n == 0)
        {
            return [];
        }

        if (n > MaxBatch)
        {
            throw new ArgumentException($"A batch of {n} points is too large: send at most {MaxBatch} per call.");
        }

        if (batch.Payloads.Length != n)
        {
            throw new ArgumentException($"The batch has {n} ids but {batch.Payloads.Length} payloads.");
        }

        var dimension = _spec.Dimension;
        if (batch.Vectors.Length != (long)n * dimension * sizeof(float))
        {
            throw new ArgumentException(
                $"The batch carries {batch.Vectors.Length / (double)sizeof(float) / n:0.##} floats per point; collection '{_collection}' has dimension {dimension}.");
        }

        var floats = MemoryMarshal.Cast<byte, float>(batch.Vectors);
        var seen = new HashSet<string>(n, StringComparer.Ordinal);
        var points = new List<(StoredPoint, PayloadFields)>(n);
        for (var i = 0; i < n; i++)
        {
            var id = batch.Ids[i];
            if (string.IsNullOrEmpty(id) || id.Length > ShardRouter.MaxIdLength)
            {
                throw new ArgumentException($"Point {i} has an id of {id?.Length ?? 0} characters: use 1..{ShardRouter.MaxIdLength}.");
            }

            if (!seen.Add(id))
            {
                throw new ArgumentException($"Point id '{id}' appears twice in one batch.");
            }

            if (ShardRouter.ShardOf(id, _spec.Shards) != _shard)
            {
                throw new ArgumentException($"Point '{id}' belongs to shard {ShardRouter.ShardOf(id, _spec.Shards)}, not {_shard}.");
            }

            var vector = floats.Slice(i * dimension, dimension).ToArray();
            for (var d = 0; d < dimension; d++)
            {
                if (!float.IsFinite(vector[d]))
                {
                    throw new ArgumentException($"Point '{id}' has {vector[d]} at dimension {d}; only finite numbers are accepted.");
                }
            }

            if (_spec.Metric == VectorMetric.Cosine)
            {
                if (vector.All(x => x == 0))
                {
                    throw new ArgumentException($"Point '{id}' is the zero vector, which has no direction for cosine similarity.");
                }

                DistanceKernels.Normalize(vector);
            }

            PayloadFields fields;
            try
            {
                fields = PayloadFields.Parse(batch.Payloads[i]);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"Point '{id}': {e.Message}");
            }

            points.Add((new StoredPoint(id, vector, batch.Payloads[i]), fields));
        }

        return points;
    }

    /// <summary>After overwrites or deletes: once the dead slots call for it, reloads without them (see OnDeactivateAsync).</summary>
    private void CompactIfDue()
    {
        if (!_compacting && _points.NeedsCompaction)
        {
            _compacting = true;
            LogCompacting(logger, this.GetPrimaryKeyString(), _points.LiveCount, _points.DeadSlots);
            DeactivateOnIdle();
        }
    }

    private void StartIndexing()
    {
        if (!_points.HasUnindexed || _dropped || _migrating || !_indexing.IsCompleted)
        {
            return;
        }

        var points = _points;
        _indexing = Task.Run(async () =>
        {
            // One writer: slots are added in order; a slot that died before its turn is added and tombstoned.
            while (points.HasUnindexed && !Volatile.Read(ref _dropped) && !Volatile.Read(ref _migrating))
            {
                // Ingest first: while upserts keep arriving, the graph waits (searches cover the gap exactly).
                if (System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _lastUpsert)) < IngestQuiet)
                {
                    await Task.Delay(IngestQuiet);
                    continue;
                }

                points.IndexNext();
            }
        });
        _indexing.ContinueWith(
            async _ =>
            {
                if (_points.IndexedCount - _snapshotAt >= SnapshotEvery)
                {
                    await SaveSnapshotAsync(CancellationToken.None);
                }

                StartIndexing();
            },
            CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Current).Unwrap().Ignore();
    }

    private async Task SaveSnapshotAsync(CancellationToken cancellationToken)
    {
        if (_dropped || _points is null || _points.IndexedCount == _snapshotAt || _points.WriteSnapshot() is not { } snapshot)
        {
            return;
        }

        await _store.SaveSnapshotAsync(snapshot.Snapshot, snapshot.Covered, cancellationToken);
        _snapshotAt = snapshot.Covered;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} on {Silo} belongs on {Target} now; moving when idle")]
    private static partial void LogMoveRequested(ILogger logger, string shard, string silo, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} leaving {Silo} with {Points} points")]
    private static partial void LogMoving(ILogger logger, string shard, string silo, int points);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard}: {Dead} tombstones for {Live} live points; reloading to compact")]
    private static partial void LogCompacting(ILogger logger, string shard, int live, int dead);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Shard}: the saved graph was rejected ({Reason}); re-indexing")]
    private static partial void LogSnapshotRejected(ILogger logger, string shard, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Shard} loaded {Points} points ({Indexed} from a saved graph) in {Milliseconds:F0} ms")]
    private static partial void LogLoaded(ILogger logger, string shard, int points, int indexed, double milliseconds);
}
