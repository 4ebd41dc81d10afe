using Agents.Engine.Vectors.Keyword;
using Agents.Engine.Vectors.Storage;

namespace Agents.Engine.Vectors;

/// <summary>
/// One shard's points in memory: their vectors in slot order, the HNSW graph over them (none for an exact index),
/// their payloads and which slots are dead. Every upsert takes a new slot and an overwrite or a delete kills the old
/// one, so slots never move and the graph only grows. The graph catches up one slot at a time (<see cref="IndexNext"/>)
/// while searches cover the slots it has not reached with an exact scan, so a point is found the moment it is upserted.
/// </summary>
/// <remarks>
/// Vectors arrive as stored: the caller has checked their dimension and finiteness and normalised them for cosine.
/// One writer at a time (upserts, deletes, <see cref="Restore"/>, <see cref="Clear"/>) and one indexer; searches and
/// reads run alongside both.
/// </remarks>
public sealed partial class LocalShard : IDisposable
{
    /// <summary>Dead slots a shard holds at least before it <see cref="NeedsCompaction"/> (and then only once they are twice the live points).</summary>
    public const int CompactAfterDeadSlots = 100_000;

    // A filter matching at most this share of the points is answered by an exact scan of the matches.
    private const double SelectiveFilter = 0.05;

    private readonly Lock _indexLock = new();
    private readonly Dictionary<string, int> _slotById = new(StringComparer.Ordinal);
    private readonly List<string?> _idBySlot = [];
    private readonly List<byte[]> _payloadBySlot = [];
    private readonly List<PayloadFields> _fieldsBySlot = [];
    private readonly VectorArena _arena;
    private readonly DistanceMetric _metric;
    private readonly HnswParameters? _graphParameters;
    private readonly KeywordIndex? _keywords;
    private HnswIndex? _graph;
    private bool[] _dead = new bool[1024];
    private int _indexed;
    private int _liveCount;

    /// <summary>
    /// An empty shard of <paramref name="dimension"/>-float vectors compared with <paramref name="metric"/>, indexed by an
    /// HNSW graph built with <paramref name="graph"/>, or searched exactly when it is null. With a
    /// <paramref name="mappedDirectory"/>, the vectors live in a memory-mapped scratch file there rather than on the heap.
    /// With <paramref name="textFields"/>, a BM25 <see cref="KeywordIndex"/> of those payload fields is kept with the points.
    /// </summary>
    public LocalShard(int dimension, DistanceMetric metric, HnswParameters? graph, string? mappedDirectory = null, IReadOnlyList<string>? textFields = null)
    {
        graph?.Validate();
        _metric = metric;
        _graphParameters = graph;
        _keywords = textFields is { Count: > 0 } ? new KeywordIndex(textFields) : null;
        _arena = mappedDirectory is null ? new VectorArena(dimension) : VectorArena.MemoryMapped(dimension, mappedDirectory);
        try
        {
            _graph = graph is null ? null : new HnswIndex(_arena, metric, graph);
        }
        catch
        {
            _arena.Dispose();
            throw;
        }
    }

    /// <summary>Floats per vector.</summary>
    public int Dimension => _arena.Dimension;

    /// <summary>How vectors are compared.</summary>
    public DistanceMetric Metric => _metric;

    /// <summary>True when the shard keeps an HNSW graph; false when every search is exact.</summary>
    public bool HasGraph => _graph is not null;

    /// <summary>Points live now.</summary>
    public int LiveCount => _liveCount;

    /// <summary>Slots taken, live and dead.</summary>
    public int SlotCount => _arena.Count;

    /// <summary>Slots left behind by overwrites and deletes.</summary>
    public int DeadSlots => _arena.Count - _liveCount;

    /// <summary>Slots the graph has reached (dead ones included); 0 without a graph.</summary>
    public int IndexedCount => Volatile.Read(ref _indexed);

    /// <summary>True while the graph has slots still to reach.</summary>
    public bool HasUnindexed => _graph is not null && Volatile.Read(ref _indexed) < _arena.Count;

    /// <summary>True once dead slots are both many and twice the live points: reloading the live points would free them.</summary>
    public bool NeedsCompaction => DeadSlots >= CompactAfterDeadSlots && DeadSlots >= 2 * _liveCount;

    /// <summary>Bytes allocated for vectors, on the heap or mapped.</summary>
    public long VectorBytes => _arena.AllocatedBytes;

    /// <summary>Bytes held by the graph and its quantized codes.</summary>
    public long IndexBytes => (_graph?.MemoryBytes ?? 0) + (_graph?.CodeBytes ?? 0);

    /// <summary>Bytes of vectors that live in the memory-mapped scratch file.</summary>
    public long MappedBytes => _arena.MappedBytes;

    /// <summary>True when the shard keeps a keyword index.</summary>
    public bool HasKeywordIndex => _keywords is not null;

    /// <summary>The keyword index, or null.</summary>
    public KeywordIndex? Keywords => _keywords;

    /// <summary>True when a point with <paramref name="id"/> is live.</summary>
    public bool Contains(string id) => _slotById.ContainsKey(id);

    /// <summary>
    /// Adds <paramref name="point"/> in a new slot, killing the slot of an earlier point with its id. Pass the payload's
    /// <paramref name="fields"/> when already parsed; otherwise they are parsed here.
    /// </summary>
    public void Upsert(StoredPoint point, PayloadFields? fields = null)
    {
        ArgumentNullException.ThrowIfNull(point);
        if (_slotById.TryGetValue(point.Id, out var old))
        {
            Kill(old);
        }

        _liveCount++;
        var slot = _arena.Add(point.Vector);
        EnsureDeadCapacity(slot);
        fields ??= PayloadFields.Parse(point.Payload);
        _idBySlot.Add(point.Id);
        _payloadBySlot.Add(point.Payload);
        _fieldsBySlot.Add(fields);
        _slotById[point.Id] = slot;
        _keywords?.Add(slot, fields);
    }

    /// <summary>Kills the point with <paramref name="id"/>; false when there is none.</summary>
    public bool Delete(string id)
    {
        if (!_slotById.Remove(id, out var slot))
        {
            return false;
        }

        Kill(slot);
        return true;
    }

    /// <summary>The live point with <paramref name="id"/> (its vector as stored), or null.</summary>
    public StoredPoint? Get(string id) =>
        _slotById.TryGetValue(id, out var slot) ? new StoredPoint(id, _arena[slot].ToArray(), _payloadBySlot[slot]) : null;

    /// <summary>
    /// The <paramref name="k"/> live points closest to <paramref name="query"/> (normalised for cosine, like the stored
    /// vectors) among those whose payload passes <paramref name="filter"/>, best first. The graph is searched with
    /// breadth <paramref name="ef"/> (at least k; the graph's own when null) and the slots it has not reached are scanned
    /// exactly; a filter that few points pass is answered by scoring exactly those.
    /// </summary>
    public ShardHit[] Search(float[] query, int k, int? ef = null, Func<PayloadFields, bool>? filter = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (query.Length != Dimension)
        {
            throw new ArgumentException($"The query has {query.Length} dimensions; the shard has {Dimension}.", nameof(query));
        }

        Func<int, bool> accept = filter is null
            ? slot => !_dead[slot]
            : slot => !_dead[slot] && filter(_fieldsBySlot[slot]);
        var count = _arena.Count;
        var top = new TopK(k);
        var indexed = Volatile.Read(ref _indexed);
        if (filter is not null && SelectiveMatches(filter, count) is { } matches)
        {
            // Few points pass: score exactly those, evaluating the filter once.
            ExactSearch.ScanSlots(_arena, _metric, query, matches, top);
        }
        else if (_graph is null || indexed == 0)
        {
            ExactSearch.Scan(_arena, _metric, query, 0, count, accept, top);
        }
        else
        {
            var breadth = Math.Max(ef ?? _graphParameters!.Ef, k);
            foreach (var hit in _graph.Search(query, k, breadth, accept))
            {
                top.Offer(hit.Slot, hit.Score);
            }

            // The graph has not reached these yet: cover them exactly so an upserted point is always found.
            ExactSearch.Scan(_arena, _metric, query, indexed, count, accept, top);
        }

        var hits = top.ToSortedArray();
        var result = new ShardHit[hits.Length];
        for (var i = 0; i < hits.Length; i++)
        {
            var (slot, score) = hits[i];
            result[i] = new ShardHit(_idBySlot[slot]!, DistanceKernels.ToUserScore(_metric, score), _payloadBySlot[slot]);
        }

        return result;
    }

    /// <summary>This shard's keyword statistics for the terms of <paramref name="query"/>; the shard must keep a keyword index.</summary>
    public Bm25Statistics KeywordStatistics(string query) =>
        (_keywords ?? throw new InvalidOperationException("The shard keeps no keyword index.")).Statistics(query);

    /// <summary>
    /// The <paramref name="k"/> live points best matching <paramref name="query"/> by BM25 among those whose payload
    /// passes <paramref name="filter"/>, best first (ties by id), scored with <paramref name="corpus"/> (the collection's
    /// summed statistics) or, when null, the shard's own.
    /// </summary>
    public ShardHit[] KeywordSearch(string query, int k, Func<PayloadFields, bool>? filter = null, Bm25Statistics? corpus = null)
    {
        var keywords = _keywords ?? throw new InvalidOperationException("The shard keeps no keyword index.");
        Func<int, bool> accept = filter is null
            ? slot => !_dead[slot]
            : slot => !_dead[slot] && filter(_fieldsBySlot[slot]);
        var hits = keywords.Search(query, k, accept, corpus, (a, b) => string.CompareOrdinal(_idBySlot[a], _idBySlot[b]));
        var result = new ShardHit[hits.Length];
        for (var i = 0; i < hits.Length; i++)
        {
            var (slot, score) = hits[i];
            result[i] = new ShardHit(_idBySlot[slot]!, score, _payloadBySlot[slot]);
        }

        // Equal scores by id, as the shards' answers are merged.
        Array.Sort(result, static (a, b) => b.Score.CompareTo(a.Score) is var byScore and not 0 ? byScore : string.CompareOrdinal(a.Id, b.Id));
        return result;
    }

    /// <summary>Adds the next slot the graph has not reached (tombstoned if it died before its turn); false when none is left.</summary>
    public bool IndexNext()
    {
        if (!HasUnindexed)
        {
            return false;
        }

        var slot = _indexed;
        lock (_indexLock)
        {
            _graph!.Add(slot);
            if (_dead[slot])
            {
                _graph.Delete(slot);
            }

            Volatile.Write(ref _indexed, slot + 1);
        }

        return true;
    }

    /// <summary>
    /// Fills an empty shard with <paramref name="points"/>, its store's live points. With a <paramref name="snapshot"/>
    /// from <see cref="WriteSnapshot"/>, the arena is rebuilt in the saved graph's slot order (points deleted since become
    /// dead slots) and the graph is loaded rather than rebuilt; the points it does not cover follow. A snapshot of
    /// another format is ignored; a damaged graph is replaced by an empty one, and the reason returned, so damage costs
    /// a re-index, never data.
    /// </summary>
    /// <returns>Why the saved graph was rejected, or null.</returns>
    public string? Restore(IEnumerable<StoredPoint> points, byte[]? snapshot)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (_arena.Count != 0)
        {
            throw new InvalidOperationException("Only an empty shard can be restored.");
        }

        var pending = new Dictionary<string, StoredPoint>(StringComparer.Ordinal);
        foreach (var point in points)
        {
            pending[point.Id] = point;
        }

        string? rejected = null;
        if (_graph is not null && snapshot is not null && ShardSnapshot.TryRead(snapshot, out var slotIds, out var graphBytes))
        {
            foreach (var id in slotIds)
            {
                if (id is not null && pending.Remove(id, out var point))
                {
                    Upsert(point);
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
                rejected = e.Message;
                _graph = new HnswIndex(_arena, _metric, _graphParameters!);
            }

            _indexed = _graph.Count;
            for (var slot = 0; slot < _indexed; slot++)
            {
                if (_dead[slot] && !_graph.IsDeleted(slot))
                {
                    _graph.Delete(slot);
                }
            }
        }

        foreach (var point in pending.Values)
        {
            Upsert(point);
        }

        return rejected;
    }

    /// <summary>
    /// The graph and the point id of every slot it covers, in the form <see cref="Restore"/> reads, with the number of
    /// slots covered; null without a graph. Taken between two <see cref="IndexNext"/> steps, so it may run beside the indexer.
    /// </summary>
    public (byte[] Snapshot, int Covered)? WriteSnapshot()
    {
        if (_graph is null)
        {
            return null;
        }

        lock (_indexLock)
        {
            var covered = _indexed;
            return (ShardSnapshot.Write(_idBySlot.Take(covered), _graph), covered);
        }
    }

    /// <summary>Kills every point; the slots stay taken until the shard is disposed.</summary>
    public void Clear()
    {
        _slotById.Clear();
        _liveCount = 0;
        Array.Fill(_dead, true);
        _keywords?.Clear();
    }

    /// <summary>Frees the vectors (and unmaps them); the indexer must have stopped.</summary>
    public void Dispose() => _arena.Dispose();

    /// <summary>The live slots passing <paramref name="filter"/> when they are at most the selective share, else null.</summary>
    private List<int>? SelectiveMatches(Func<PayloadFields, bool> filter, int count)
    {
        var limit = Math.Max(1, (int)(count * SelectiveFilter));
        var matches = new List<int>();
        for (var slot = 0; slot < count; slot++)
        {
            if (!_dead[slot] && filter(_fieldsBySlot[slot]))
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

    private void AddDeadSlot()
    {
        var slot = _arena.Add(new float[Dimension]);
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
        _keywords?.Remove(slot, _fieldsBySlot[slot]);
        _dead[slot] = true;
        _liveCount--;
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
}
