using System.Runtime.InteropServices;
using Agents.Engine.Vectors;
using Agents.Engine.Vectors.Storage;

namespace Agents.Grains.Vectors;

/// <summary>
/// One shard of a collection. An upsert is validated, written durably, then applied in memory and acknowledged;
/// a background task catches the HNSW graph up, and searches cover the slots it has not reached with an exact scan,
/// so a point is searchable the moment its upsert returns. Writes are serialised so memory follows the durable order.
/// When the active silos change, a shard whose <see cref="ShardPlacement"/> target is now another silo migrates there
/// once membership has been quiet for a moment, and reloads from the store and its saved graph.
/// </summary>
[Reentrant, ShardPlacement]
public sealed partial class VectorShardGrain(
    VectorStorage storage, VectorMemoryBudget budget, ILocalSiloDetails silo, IClusterMembershipService membership, ILogger<VectorShardGrain> logger)
    : Grain, IVectorShardGrain
{
    /// <summary>Largest k a search may ask for.</summary>
    public const int MaxK = 10_000;

    /// <summary>Largest HNSW search breadth a search may ask for.</summary>
    public const int MaxEf = 100_000;

    /// <summary>Points per upsert call.</summary>
    public const int MaxBatch = 100_000;

    // A filter matching at most this share of the points is answered by an exact scan of the matches.
    private const double SelectiveFilter = 0.05;
    private const int SnapshotEvery = 20_000;

    /// <summary>Tombstones a shard keeps at least before it compacts (and then only once they are twice the live points).</summary>
    public const int CompactAfterDeadSlots = 100_000;

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
    private readonly object _indexLock = new();
    private readonly Dictionary<string, int> _slotById = new(StringComparer.Ordinal);
    private readonly List<string?> _idBySlot = [];
    private readonly List<byte[]> _payloadBySlot = [];
    private readonly List<PayloadFields> _fieldsBySlot = [];
    private CollectionSpec _spec = null!;
    private IShardStore _store = null!;
    private VectorArena _arena = null!;
    private HnswIndex? _graph;
    private bool[] _dead = new bool[1024];
    private int _indexed;
    private int _liveCount;
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
        _arena = _spec.Quantize ? VectorArena.MemoryMapped(_spec.Dimension, storage.MappedDirectory) : new VectorArena(_spec.Dimension);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var points = new Dictionary<string, StoredPoint>(StringComparer.Ordinal);
        await foreach (var point in _store.LoadAsync(cancellationToken))
        {
            points[point.Id] = point;
        }

        var snapshot = _spec.Index == "hnsw" ? await _store.LoadSnapshotAsync(cancellationToken) : null;
        if (snapshot is { } saved && ShardSnapshot.TryRead(saved.Snapshot, out var slotIds, out var graphBytes))
        {
            // Rebuild the arena in the graph's slot order; points deleted since are dead slots.
            foreach (var id in slotIds)
            {
                if (id is not null && points.Remove(id, out var point))
                {
                    AddToMemory(point.Id, point.Vector, point.Payload);
                }
                else
                {
                    AddDeadSlot();
                }
            }

            try
            {
                using var graphStream = new MemoryStream(graphBytes);
                _graph = HnswIndex.Load(graphStream, _arena);
            }
            catch (InvalidDataException e)
            {
                // A damaged saved graph costs a re-index, never data: the points come from the store.
                LogSnapshotRejected(logger, this.GetPrimaryKeyString(), e.Message);
                _graph = new HnswIndex(_arena, _spec.Metric.ToEngine(), GraphParameters);
            }

            _indexed = _graph.Count;
            for (var slot = 0; slot < _indexed; slot++)
            {
                if (_dead[slot] && !_graph.IsDeleted(slot))
                {
                    _graph.Delete(slot);
                }
            }

            _snapshotAt = _indexed;
        }

        foreach (var point in points.Values)
        {
            AddToMemory(point.Id, point.Vector, point.Payload);
        }

        // Already durable, so loaded whatever the budget says; it counts against later upserts.
        _reserved = (long)_arena.Count * BytesPerPoint;
        budget.ForceReserve(_reserved);
        if (_spec.Index == "hnsw")
        {
            _graph ??= new HnswIndex(_arena, _spec.Metric.ToEngine(), GraphParameters);
            StartIndexing();
        }

        LogLoaded(logger, this.GetPrimaryKeyString(), _liveCount, _indexed, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
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
            LogMoving(logger, this.GetPrimaryKeyString(), silo.SiloAddress.ToParsableString(), _liveCount);
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
                _arena?.Dispose();
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
            foreach (var (point, fields) in points)
            {
                AddToMemory(point.Id, point.Vector, point.Payload, fields);
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
            var existing = ids.Distinct(StringComparer.Ordinal).Where(_slotById.ContainsKey).ToList();
            if (existing.Count == 0)
            {
                return 0;
            }

            await _store.AppendDeletesAsync(existing);
            foreach (var id in existing)
            {
                Kill(_slotById[id]);
                _slotById.Remove(id);
            }

            return existing.Count;
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <inheritdoc />
    public Task<VectorPoint?> GetAsync(string id) =>
        Task.FromResult(_slotById.TryGetValue(id, out var slot)
            ? new VectorPoint(id, MemoryMarshal.AsBytes(_arena[slot]).ToArray(), _payloadBySlot[slot])
            : null);

    /// <inheritdoc />
    public Task<SearchHit[]> SearchAsync(SearchRequest request)
    {
        var query = ReadQuery(request);
        if (request.Filter is { } f)
        {
            f.Validate();
        }

        var k = request.K;
        var filter = request.Filter;
        Func<int, bool> accept = filter is null
            ? slot => !_dead[slot]
            : slot => !_dead[slot] && _fieldsBySlot[slot].Matches(filter);
        var count = _arena.Count;
        var top = new TopK(k);
        var indexed = Volatile.Read(ref _indexed);
        if (filter is not null && SelectiveMatches(filter, count) is { } matches)
        {
            // Few points pass: score exactly those, evaluating the filter once.
            ExactSearch.ScanSlots(_arena, _spec.Metric.ToEngine(), query, matches, top);
        }
        else if (_graph is null || indexed == 0)
        {
            ExactSearch.Scan(_arena, _spec.Metric.ToEngine(), query, 0, count, accept, top);
        }
        else
        {
            var ef = Math.Max(request.Ef ?? _spec.Ef, k);
            foreach (var hit in _graph.Search(query, k, ef, accept))
            {
                top.Offer(hit.Slot, hit.Score);
            }

            // The graph has not reached these yet: cover them exactly so an acknowledged upsert is always found.
            ExactSearch.Scan(_arena, _spec.Metric.ToEngine(), query, indexed, count, accept, top);
        }

        var hits = top.ToSortedArray();
        AgentsMetrics.Searches.Add(1);
        var result = new SearchHit[hits.Length];
        for (var i = 0; i < hits.Length; i++)
        {
            var (slot, score) = hits[i];
            result[i] = new SearchHit(_idBySlot[slot]!, DistanceKernels.ToUserScore(_spec.Metric.ToEngine(), score), _payloadBySlot[slot]);
        }

        return Task.FromResult(result);
    }

    /// <inheritdoc />
    public Task<ShardInfo> DescribeAsync() => Task.FromResult(new ShardInfo(
        _shard, silo.SiloAddress.ToParsableString(), _liveCount, Math.Min(_liveCount, Volatile.Read(ref _indexed)),
        _arena.AllocatedBytes, (_graph?.MemoryBytes ?? 0) + (_graph?.CodeBytes ?? 0), _arena.MappedBytes));

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
            _slotById.Clear();
            _liveCount = 0;
            Array.Fill(_dead, true);
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

    /// <summary>The live slots passing <paramref name="filter"/> when they are at most the selective share, else null.</summary>
    private List<int>? SelectiveMatches(PayloadFilter filter, int count)
    {
        var limit = Math.Max(1, (int)(count * SelectiveFilter));
        var matches = new List<int>();
        for (var slot = 0; slot < count; slot++)
        {
            if (!_dead[slot] && _fieldsBySlot[slot].Matches(filter))
            {
                if (matches.Count == limit)
                {
                    return null;
                }

                matches.Add(slot);
            }
        }

        return matches;
    }

    private float[] ReadQuery(SearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.K is < 1 or > MaxK)
        {
            throw new ArgumentException($"k {request.K} is out of range: use 1..{MaxK}.");
        }

        if (request.Ef is { } ef && ef is < 1 or > MaxEf)
        {
            throw new ArgumentException($"ef {ef} is out of range: use 1..{MaxEf}.");
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

    private void AddToMemory(string id, float[] vector, byte[] payload, PayloadFields? fields = null)
    {
        if (_slotById.TryGetValue(id, out var old))
        {
            // An overwrite: the old slot dies, the new one lives.
            Kill(old);
        }

        _liveCount++;

        var slot = _arena.Add(vector);
        EnsureDeadCapacity(slot);
        _idBySlot.Add(id);
        _payloadBySlot.Add(payload);
        _fieldsBySlot.Add(fields ?? PayloadFields.Parse(payload));
        _slotById[id] = slot;
    }

    private void AddDeadSlot()
    {
        var slot = _arena.Add(new float[_spec.Dimension]);
        EnsureDeadCapacity(slot);
        _dead[slot] = true;
        _idBySlot.Add(null);
        _payloadBySlot.Add([]);
        _fieldsBySlot.Add(PayloadFields.Empty);
    }

    private void EnsureDeadCapacity(int slot)
    {
        if (slot >= _dead.Length)
        {
            Array.Resize(ref _dead, Math.Max(slot + 1, _dead.Length * 2));
        }
    }

    private void Kill(int slot)
    {
        _dead[slot] = true;
        _liveCount--;
        var dead = _arena.Count - _liveCount;
        if (!_compacting && dead >= CompactAfterDeadSlots && dead >= 2 * _liveCount)
        {
            // Overwrites and deletes leave tombstones; past twice the live points, reload without them (see OnDeactivateAsync).
            _compacting = true;
            LogCompacting(logger, this.GetPrimaryKeyString(), _liveCount, dead);
            DeactivateOnIdle();
        }

        _idBySlot[slot] = null;
        _payloadBySlot[slot] = [];
        _fieldsBySlot[slot] = PayloadFields.Empty;
        if (_graph is not null && slot < Volatile.Read(ref _indexed))
        {
            lock (_indexLock)
            {
                _graph.Delete(slot);
            }
        }
    }

    private void StartIndexing()
    {
        if (_graph is null || _dropped || _migrating || !_indexing.IsCompleted || Volatile.Read(ref _indexed) >= _arena.Count)
        {
            return;
        }

        var graph = _graph;
        _indexing = Task.Run(async () =>
        {
            // One writer: slots are added in order; a slot that died before its turn is added and tombstoned.
            while (Volatile.Read(ref _indexed) < _arena.Count && !Volatile.Read(ref _dropped) && !Volatile.Read(ref _migrating))
            {
                // Ingest first: while upserts keep arriving, the graph waits (searches cover the gap exactly).
                if (System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref _lastUpsert)) < IngestQuiet)
                {
                    await Task.Delay(IngestQuiet);
                    continue;
                }

                var slot = _indexed;
                lock (_indexLock)
                {
                    graph.Add(slot);
                    if (_dead[slot])
                    {
                        graph.Delete(slot);
                    }

                    Volatile.Write(ref _indexed, slot + 1);
                }
            }
        });
        _indexing.ContinueWith(
            async _ =>
            {
                if (_indexed - _snapshotAt >= SnapshotEvery)
                {
                    await SaveSnapshotAsync(CancellationToken.None);
                }

                StartIndexing();
            },
            CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Current).Unwrap().Ignore();
    }

    private async Task SaveSnapshotAsync(CancellationToken cancellationToken)
    {
        if (_dropped || _graph is null || _indexed == _snapshotAt)
        {
            return;
        }

        byte[] bytes;
        int covered;
        lock (_indexLock)
        {
            covered = _indexed;
            bytes = ShardSnapshot.Write(_idBySlot.Take(covered), _graph);
        }

        await _store.SaveSnapshotAsync(bytes, covered, cancellationToken);
        _snapshotAt = covered;
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
