using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Agents.Engine.Vectors;

/// <summary>
/// Hierarchical navigable small world graph (Malkov &amp; Yashunin) over the vectors of a <see cref="VectorArena"/>,
/// addressed by arena slot. Layer 0 keeps up to 2·M links per node, upper layers M; neighbours are chosen with the
/// paper's "select neighbours heuristic"; a search descends greedily to layer 0 and runs an ef-wide best-first search.
/// </summary>
/// <remarks>
/// <para><b>Storage.</b> Nodes live in blocks of 4096 (the first block grows from 64 by doubling, so a small index
/// stays small). A block holds one flat <c>int[]</c> of layer-0 lists, each <c>[count, link0 .. link(2M-1)]</c>, the
/// node levels as bytes, one small <c>int[]</c> per node that has upper layers, and the tombstone bits.</para>
/// <para><b>Threads.</b> One writer at a time (<see cref="Add"/>, <see cref="Delete"/>, <see cref="Compact"/>,
/// <see cref="Save"/> take a private lock) and any number of concurrent, lock-free searches. Link lists are edited in
/// place: the writer stores the link ids first and then publishes the list length with a release write, and every id
/// ever stored in a list is the id of a fully built node, so a reader that races an edit sees a slightly stale but
/// valid list (accepted in HNSW). A new node becomes visible only when the writer publishes an immutable
/// <c>GraphState</c> (node count, entry point, top level, block table) after linking it; a search reads that state
/// once and ignores links to slots at or above its count. Tombstone words are written atomically.</para>
/// <para><b>Deletes.</b> <see cref="Delete"/> only sets a tombstone: the node keeps routing searches but is never
/// returned. <see cref="Compact"/> repairs the graph (see there) and should run when <see cref="NeedsCompaction"/>.</para>
/// </remarks>
public sealed partial class HnswIndex
{
    private const int BlockShift = 12;
    private const int BlockSize = 1 << BlockShift;
    private const int BlockMask = BlockSize - 1;
    private const int FirstBlockCapacity = 64;
    private const int MaxLevel = 32;

    // A quantizer learnt from this many vectors is kept; fewer, and it is learnt again as the arena grows.
    private const int RetrainUntil = 20_000;

    private readonly VectorArena _vectors;
    private readonly DistanceMetric _metric;
    private readonly HnswParameters _parameters;
    private readonly int _m;
    private readonly int _m0;
    private readonly int _stride0;
    private readonly int _strideUp;
    private readonly double _levelMultiplier;
    private readonly System.Threading.Lock _writeLock = new();
    private readonly HnswScratch _writerScratch = new();
    private Random _random;
    private NodeBlock[] _blocks = [];
    private volatile GraphState _state;

    // Quantized indexes only: the codes the graph is built and searched on; replaced whole when retrained.
    private volatile QuantizedCodes? _codes;
    private int _deletedCount;
    private int _pendingTombstones;
    private long _upperBytes;
    private int _trainedOn;

    /// <summary>An empty index over <paramref name="vectors"/>, compared with <paramref name="metric"/>.</summary>
    public HnswIndex(VectorArena vectors, DistanceMetric metric, HnswParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentNullException.ThrowIfNull(parameters);
        parameters.Validate();
        if (!Enum.IsDefined(metric))
        {
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown metric.");
        }

        _vectors = vectors;
        _metric = metric;
        _parameters = parameters;
        _m = parameters.M;
        _m0 = 2 * parameters.M;
        _stride0 = _m0 + 1;
        _strideUp = _m + 1;
        _levelMultiplier = 1.0 / Math.Log(parameters.M);
        _random = new Random(parameters.Seed);
        _state = new GraphState([], 0, -1, -1);
    }

    /// <summary>The metric the graph was built with.</summary>
    public DistanceMetric Metric => _metric;

    /// <summary>The build and search parameters.</summary>
    public HnswParameters Parameters => _parameters;

    /// <summary>Slots inserted, including deleted ones.</summary>
    public int Count => _state.Count;

    /// <summary>Slots that carry a tombstone.</summary>
    public int DeletedCount => Volatile.Read(ref _deletedCount);

    /// <summary>True when tombstones not yet repaired by <see cref="Compact"/> exceed 20% of the nodes still linked.</summary>
    public bool NeedsCompaction
    {
        get
        {
            lock (_writeLock)
            {
                var linked = _state.Count - (_deletedCount - _pendingTombstones);
                return _pendingTombstones > 0 && _pendingTombstones * 5L > linked;
            }
        }
    }

    /// <summary>Bytes held by the int8 codes of a quantized index (0 otherwise).</summary>
    public long CodeBytes => _codes?.MemoryBytes ?? 0;

    /// <summary>Bytes held by the graph (link lists, levels, tombstones); the vectors and codes are not counted.</summary>
    public long MemoryBytes
    {
        get
        {
            lock (_writeLock)
            {
                const int arrayHeader = 24;
                long bytes = _upperBytes + (_blocks.Length * 8L) + arrayHeader;
                foreach (var block in _blocks)
                {
                    bytes += (block.Links0.Length * 4L) + block.Levels.Length + (block.Upper.Length * 8L)
                        + (block.Deleted.Length * 8L) + (4 * arrayHeader);
                }

                return bytes;
            }
        }
    }

    /// <summary>
    /// Links the vector already stored at <c>vectors[slot]</c> into the graph. Slots must arrive in increasing order;
    /// a slot skipped by the caller becomes a tombstone.
    /// </summary>
    public void Add(int slot)
    {
        lock (_writeLock)
        {
            var count = _state.Count;
            if (slot < count)
            {
                throw new ArgumentException($"Slot {slot} is already indexed (count {count}).", nameof(slot));
            }

            if (slot >= _vectors.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(slot), $"Slot {slot} is not in the arena (count {_vectors.Count}).");
            }

            if (_parameters.Quantize)
            {
                EncodeThrough(slot);
            }

            for (var gap = count; gap < slot; gap++)
            {
                // A skipped slot has no links, so it is already as unreachable as a compacted tombstone.
                EnsureCapacity(gap);
                SetDeletedBit(_blocks, gap);
                _deletedCount++;
            }

            Insert(slot);
        }
    }

    /// <summary>Tombstones <paramref name="slot"/>: it is never returned again, but the graph keeps routing through it.</summary>
    public void Delete(int slot)
    {
        lock (_writeLock)
        {
            if ((uint)slot >= (uint)_state.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(slot), $"Slot {slot} is not indexed (count {_state.Count}).");
            }

            if (SetDeletedBit(_blocks, slot))
            {
                Volatile.Write(ref _deletedCount, _deletedCount + 1);
                _pendingTombstones++;
            }
        }
    }

    /// <summary>Whether <paramref name="slot"/> carries a tombstone.</summary>
    public bool IsDeleted(int slot)
    {
        var state = _state;
        if ((uint)slot >= (uint)state.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(slot), $"Slot {slot} is not indexed (count {state.Count}).");
        }

        return IsDeletedIn(state.Blocks, slot);
    }

    /// <summary>
    /// The at most <paramref name="k"/> closest live slots to <paramref name="query"/>, best first, searching
    /// <paramref name="ef"/> wide (raised to <paramref name="k"/>). When <paramref name="filter"/> is given only slots
    /// it accepts are returned, while the search still travels through the others; ef is widened from a sampled
    /// estimate of the filter's selectivity.
    /// </summary>
    public IReadOnlyList<ScoredSlot> Search(ReadOnlySpan<float> query, int k, int ef, Func<int, bool>? filter = null) =>
        SearchCore(query, k, ef, filter, -1);

    /// <summary>
    /// As <see cref="Search(ReadOnlySpan{float}, int, int, Func{int, bool}?)"/>, with the caller's count of slots the
    /// filter accepts (instead of a sample) to size the widening of ef. A caller whose filter accepts very few slots
    /// should run an exact scan over them instead.
    /// </summary>
    public IReadOnlyList<ScoredSlot> Search(ReadOnlySpan<float> query, int k, int ef, Func<int, bool>? filter, int expectedMatches)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedMatches);
        return SearchCore(query, k, ef, filter, expectedMatches);
    }

    /// <summary>
    /// Repairs the graph around tombstones (FreshDiskANN-style consolidation with the HNSW heuristic): on every layer,
    /// each live node that links to a deleted node replaces it by that node's live neighbours, then re-selects its list
    /// with the neighbour heuristic. Afterwards no live node links to a tombstone, the deleted nodes' lists are emptied,
    /// and a deleted entry point is replaced by the live node of highest level, so searches no longer spend distance
    /// computations on dead nodes and recall does not decay. Slots are never reused (the arena is dense).
    /// </summary>
    public void Compact()
    {
        lock (_writeLock)
        {
            var state = _state;
            var blocks = _blocks;
            var count = state.Count;
            var scratch = _writerScratch;
            scratch.EnsureBuffers((_m0 * (_m0 + 1)) + 1);
            for (var level = 0; level <= state.TopLevel; level++)
            {
                var max = level == 0 ? _m0 : _m;
                for (var node = 0; node < count; node++)
                {
                    if (LevelOf(blocks, node) < level || IsDeletedIn(blocks, node))
                    {
                        continue;
                    }

                    RepairNode(blocks, count, node, level, max, scratch);
                }
            }

            for (var node = 0; node < count; node++)
            {
                if (IsDeletedIn(blocks, node))
                {
                    for (var level = LevelOf(blocks, node); level >= 0; level--)
                    {
                        var links = GetLinks(blocks, node, level, out var offset);
                        if (links is not null)
                        {
                            Volatile.Write(ref links[offset], 0);
                        }
                    }
                }
            }

            var entry = state.EntryPoint;
            var top = state.TopLevel;
            if (entry >= 0 && IsDeletedIn(blocks, entry))
            {
                for (var node = 0; node < count; node++)
                {
                    if (!IsDeletedIn(blocks, node) && (entry == state.EntryPoint || LevelOf(blocks, node) > top))
                    {
                        entry = node;
                        top = LevelOf(blocks, node);
                    }
                }
            }

            _pendingTombstones = 0;
            _state = new GraphState(blocks, count, entry, top);
        }
    }

    private IReadOnlyList<ScoredSlot> SearchCore(ReadOnlySpan<float> query, int k, int ef, Func<int, bool>? filter, int expectedMatches)
    {
        if (query.Length != _vectors.Dimension)
        {
            throw new ArgumentException($"Query has {query.Length} dimensions; the index holds {_vectors.Dimension}.", nameof(query));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfLessThan(ef, 1);
        var state = _state;
        if (k == 0 || state.EntryPoint < 0)
        {
            return [];
        }

        var blocks = state.Blocks;
        var count = state.Count;
        var width = Math.Max(ef, k);
        if (filter is not null)
        {
            width = WidenForFilter(width, filter, blocks, count, expectedMatches);
        }

        var scratch = HnswScratch.Rent();
        try
        {
            // A copy on a cache line, like the stored vectors, so no load of the query straddles two lines.
            var buffer = scratch.QueryBuffer(query.Length);
            query.CopyTo(buffer);
            if (_metric == DistanceMetric.Cosine)
            {
                // Stored cosine vectors are unit length; normalising the query makes the scores true cosines.
                DistanceKernels.Normalize(buffer);
            }

            query = buffer;

            // Read after the state: the codes then cover every slot the state lets the search reach.
            var codes = _codes;
            var probe = new Probe(query);
            if (codes is not null)
            {
                var queryCodes = scratch.QueryCodeBuffer(query.Length);
                probe = new Probe(queryCodes, codes.Quantizer.Encode(query, queryCodes), codes);
            }

            var entry = state.EntryPoint;
            var entryScore = Score(probe, entry);
            (entry, entryScore) = GreedyDescend(blocks, count, probe, entry, entryScore, state.TopLevel, 0);
            var checkAdmit = filter is not null || Volatile.Read(ref _deletedCount) > 0;
            SearchLayer(blocks, count, probe, entry, entryScore, width, 0, scratch, filter, checkAdmit, admitDeleted: false);

            var results = scratch.Results;
            if (codes is not null)
            {
                return Rescore(query, scratch, k);
            }

            while (results.Count > k)
            {
                results.Pop();
            }

            var output = new ScoredSlot[results.Count];
            for (var i = output.Length - 1; i >= 0; i--)
            {
                output[i] = results.Pop();
            }

            return output;
        }
        finally
        {
            scratch.Return();
        }
    }

    /// <summary>Scores the ef candidates a quantized search found on the full vectors and keeps the best <paramref name="k"/>.</summary>
    private unsafe ScoredSlot[] Rescore(ReadOnlySpan<float> query, HnswScratch scratch, int k)
    {
        var candidates = scratch.Results;
        var found = candidates.Count;
        scratch.EnsureBuffers(found);
        var rescored = scratch.Sorted.AsSpan(0, found);
        var bytes = query.Length * sizeof(float);
        for (var i = 0; i < found; i++)
        {
            // Every candidate's floats will be read in full: start all the loads before the first score.
            var slot = candidates.Pop().Slot;
            rescored[i] = new ScoredSlot(slot, 0);
            if (Sse.IsSupported)
            {
                var start = (byte*)Unsafe.AsPointer(ref _vectors.FirstFloat(slot));
                for (var line = 0; line < bytes; line += 64)
                {
                    Sse.Prefetch0(start + line);
                }
            }
        }

        ref var q = ref MemoryMarshal.GetReference(query);
        for (var i = 0; i < found; i++)
        {
            var slot = rescored[i].Slot;
            rescored[i] = new ScoredSlot(slot, DistanceKernels.ScoreUnchecked(_metric, ref q, ref _vectors.FirstFloat(slot), query.Length));
        }

        rescored.Sort(default(BestFirst));
        return rescored[..Math.Min(k, found)].ToArray();
    }

    private static int WidenForFilter(int width, Func<int, bool> filter, NodeBlock[] blocks, int count, int expectedMatches)
    {
        double selectivity;
        if (expectedMatches >= 0)
        {
            selectivity = count == 0 ? 1 : (double)expectedMatches / count;
        }
        else
        {
            // A sample of evenly spaced live slots is enough to tell a 50% filter from a 5% one.
            const int samples = 64;
            var step = Math.Max(1, count / samples);
            int seen = 0, hits = 0;
            for (var slot = step / 2; slot < count && seen < samples; slot += step)
            {
                if (!IsDeletedIn(blocks, slot))
                {
                    seen++;
                    hits += filter(slot) ? 1 : 0;
                }
            }

            selectivity = seen == 0 ? 1 : (hits + 0.5) / (seen + 0.5);
        }

        // Only accepted slots enter the result heap, so ef already counts matches; a selective filter also breaks up
        // the graph between matches, which a moderately wider search (1/sqrt(selectivity), at most 4x) makes up for.
        var factor = Math.Clamp(1.0 / Math.Sqrt(Math.Max(selectivity, 1e-6)), 1.0, 4.0);
        return (int)Math.Min(Math.Ceiling(width * factor), Math.Max(width, count));
    }

    private void Insert(int slot)
    {
        EnsureCapacity(slot);
        var blocks = _blocks;
        var block = blocks[slot >> BlockShift];
        var index = slot & BlockMask;
        var level = RandomLevel();
        block.Levels[index] = (byte)level;
        if (level > 0)
        {
            block.Upper[index] = new int[level * _strideUp];
            _upperBytes += 24 + (level * _strideUp * 4L);
        }

        var state = _state;
        if (state.EntryPoint < 0)
        {
            _state = new GraphState(blocks, slot + 1, slot, level);
            return;
        }

        var vector = ProbeOf(slot);
        var scratch = _writerScratch;
        var entry = state.EntryPoint;
        var entryScore = Score(vector, entry);
        (entry, entryScore) = GreedyDescend(blocks, slot, vector, entry, entryScore, state.TopLevel, level);

        var checkAdmit = _deletedCount > 0;
        Span<ScoredSlot> chosen = stackalloc ScoredSlot[_m];
        for (var layer = Math.Min(level, state.TopLevel); layer >= 0; layer--)
        {
            SearchLayer(blocks, slot, vector, entry, entryScore, _parameters.EfConstruction, layer, scratch, null, checkAdmit, admitDeleted: false);
            if (scratch.Results.Count == 0)
            {
                // Everything reachable is deleted: link through the tombstones rather than leave the node stranded.
                SearchLayer(blocks, slot, vector, entry, entryScore, _parameters.EfConstruction, layer, scratch, null, checkAdmit, admitDeleted: true);
            }

            var found = DrainSorted(scratch);
            entry = scratch.Sorted[0].Slot;
            entryScore = scratch.Sorted[0].Score;
            var selected = SelectNeighbors(scratch.Sorted.AsSpan(0, found), _m, scratch.Selected);

            var links = GetLinks(blocks, slot, layer, out var offset)!;
            for (var i = 0; i < selected; i++)
            {
                links[offset + 1 + i] = scratch.Selected[i].Slot;
            }

            Volatile.Write(ref links[offset], selected);

            // Copy out: Connect reuses the scratch buffers.
            scratch.Selected.AsSpan(0, selected).CopyTo(chosen);
            foreach (var neighbour in chosen[..selected])
            {
                Connect(blocks, neighbour.Slot, slot, neighbour.Score, layer, scratch);
            }
        }

        var (newEntry, newTop) = level > state.TopLevel ? (slot, level) : (state.EntryPoint, state.TopLevel);
        _state = new GraphState(blocks, slot + 1, newEntry, newTop);
    }

    private void Connect(NodeBlock[] blocks, int node, int newSlot, float score, int layer, HnswScratch scratch)
    {
        var links = GetLinks(blocks, node, layer, out var offset)!;
        var max = layer == 0 ? _m0 : _m;
        var count = links[offset];
        if (count < max)
        {
            links[offset + 1 + count] = newSlot;
            Volatile.Write(ref links[offset], count + 1);
            return;
        }

        // Full: re-select among the old links and the newcomer, as seen from the node.
        scratch.EnsureBuffers(max + 1);
        var sorted = scratch.Sorted;
        var vector = ProbeOf(node);
        for (var i = 0; i < count; i++)
        {
            var other = links[offset + 1 + i];
            sorted[i] = new ScoredSlot(other, Score(vector, other));
        }

        sorted[count] = new ScoredSlot(newSlot, score);
        var candidates = sorted.AsSpan(0, count + 1);
        candidates.Sort(default(BestFirst));
        var selected = SelectNeighbors(candidates, max, scratch.Selected);
        for (var i = 0; i < selected; i++)
        {
            links[offset + 1 + i] = scratch.Selected[i].Slot;
        }

        Volatile.Write(ref links[offset], selected);
    }

    private void RepairNode(NodeBlock[] blocks, int count, int node, int level, int max, HnswScratch scratch)
    {
        var links = GetLinks(blocks, node, level, out var offset)!;
        var length = links[offset];
        var touched = false;
        for (var i = 0; i < length && !touched; i++)
        {
            touched = IsDeletedIn(blocks, links[offset + 1 + i]);
        }

        if (!touched)
        {
            return;
        }

        scratch.ResetVisited(count);
        var visited = scratch.Visited;
        var generation = scratch.Generation;
        visited[node] = generation;
        var sorted = scratch.Sorted;
        var found = 0;
        var vector = ProbeOf(node);
        for (var i = 0; i < length; i++)
        {
            var other = links[offset + 1 + i];
            if (!IsDeletedIn(blocks, other))
            {
                Collect(other, in vector, visited, generation, sorted, ref found);
                continue;
            }

            // Bridge over the tombstone to its live neighbours on the same layer.
            var bridge = GetLinks(blocks, other, level, out var bridgeOffset);
            if (bridge is null)
            {
                continue;
            }

            var bridgeLength = Math.Min(bridge[bridgeOffset], max);
            for (var j = 0; j < bridgeLength; j++)
            {
                var next = bridge[bridgeOffset + 1 + j];
                if (!IsDeletedIn(blocks, next))
                {
                    Collect(next, in vector, visited, generation, sorted, ref found);
                }
            }
        }

        var candidates = sorted.AsSpan(0, found);
        candidates.Sort(default(BestFirst));
        var selected = SelectNeighbors(candidates, max, scratch.Selected);
        for (var i = 0; i < selected; i++)
        {
            links[offset + 1 + i] = scratch.Selected[i].Slot;
        }

        Volatile.Write(ref links[offset], selected);
    }

    private void Collect(int candidate, scoped in Probe vector, ushort[] visited, ushort generation, ScoredSlot[] sorted, ref int found)
    {
        if (visited[candidate] != generation)
        {
            visited[candidate] = generation;
            sorted[found++] = new ScoredSlot(candidate, Score(vector, candidate));
        }
    }

    /// <summary>The paper's heuristic: keep a candidate only if it is closer to the base than to every kept one.</summary>
    private int SelectNeighbors(ReadOnlySpan<ScoredSlot> bestFirst, int max, ScoredSlot[] selected)
    {
        if (bestFirst.Length <= max)
        {
            bestFirst.CopyTo(selected);
            return bestFirst.Length;
        }

        var kept = 0;
        foreach (var candidate in bestFirst)
        {
            var vector = ProbeOf(candidate.Slot);
            var good = true;
            for (var i = 0; i < kept; i++)
            {
                if (Score(vector, selected[i].Slot) > candidate.Score)
                {
                    good = false;
                    break;
                }
            }

            if (good)
            {
                selected[kept++] = candidate;
                if (kept == max)
                {
                    break;
                }
            }
        }

        return kept;
    }

    private (int Slot, float Score) GreedyDescend(NodeBlock[] blocks, int count, scoped in Probe query, int entry, float entryScore, int fromLevel, int toLevel)
    {
        for (var level = fromLevel; level > toLevel; level--)
        {
            bool changed;
            do
            {
                changed = false;
                var links = GetLinks(blocks, entry, level, out var offset);
                if (links is null)
                {
                    break;
                }

                var length = Math.Min(Volatile.Read(ref links[offset]), _m);
                for (var i = 1; i <= length; i++)
                {
                    var other = links[offset + i];
                    if ((uint)other >= (uint)count)
                    {
                        continue;
                    }

                    var score = Score(query, other);
                    if (score > entryScore)
                    {
                        entryScore = score;
                        entry = other;
                        changed = true;
                    }
                }
            }
            while (changed);
        }

        return (entry, entryScore);
    }

    /// <summary>
    /// Best-first search of one layer from one entry, leaving the <paramref name="ef"/> best admitted slots in
    /// <c>scratch.Results</c>. Slots that are deleted or filtered out are traversed but never admitted, and the search
    /// goes on until ef admitted slots are found (hnswlib's rule), so selective filters keep their recall.
    /// </summary>
    private void SearchLayer(NodeBlock[] blocks, int count, scoped in Probe query, int entry, float entryScore, int ef, int level,
        HnswScratch scratch, Func<int, bool>? filter, bool checkAdmit, bool admitDeleted)
    {
        scratch.ResetVisited(count);
        var visited = scratch.Visited;
        var generation = scratch.Generation;
        var candidates = scratch.Candidates;
        var results = scratch.Results;
        candidates.Clear();
        results.Clear();
        var max = level == 0 ? _m0 : _m;

        visited[entry] = generation;

        // ResetVisited sized the array for count slots, and every slot is checked against count before it is stamped.
        ref var seen = ref MemoryMarshal.GetArrayDataReference(visited);
        Span<int> pending = stackalloc int[max];
        candidates.Push(entry, -entryScore);
        var lowerBound = float.NegativeInfinity;
        if (!checkAdmit || Admit(blocks, entry, filter, admitDeleted))
        {
            results.Push(entry, entryScore);
            lowerBound = entryScore;
        }

        while (candidates.Count > 0)
        {
            var current = candidates.Top;
            if (-current.Score < lowerBound && results.Count >= ef)
            {
                break;
            }

            candidates.Pop();
            var links = GetLinks(blocks, current.Slot, level, out var offset);
            if (links is null)
            {
                continue;
            }

            // First mark the unvisited neighbours and prefetch their vectors, then score them: the memory loads of
            // the whole list overlap instead of each distance waiting for its own cache misses (hnswlib, FAISS).
            var length = Math.Min(Volatile.Read(ref links[offset]), max);
            ref var link = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(links), offset + 1);
            var fresh = 0;
            for (var i = 0; i < length; i++)
            {
                var other = Unsafe.Add(ref link, i);
                if ((uint)other >= (uint)count || Unsafe.Add(ref seen, other) == generation)
                {
                    continue;
                }

                Unsafe.Add(ref seen, other) = generation;
                Prefetch(query, other);
                pending[fresh++] = other;
            }

            // The first lines are on their way; the rest of each float vector is requested one neighbour ahead.
            if (fresh > 0)
            {
                PrefetchWhole(query, pending[0]);
            }

            for (var j = 0; j < fresh; j++)
            {
                var other = pending[j];
                if (j + 1 < fresh)
                {
                    PrefetchWhole(query, pending[j + 1]);
                }

                var score = Score(query, other);
                if (results.Count < ef || score > lowerBound)
                {
                    candidates.Push(other, -score);
                    if (!checkAdmit || Admit(blocks, other, filter, admitDeleted))
                    {
                        if (results.Count < ef)
                        {
                            results.Push(other, score);
                        }
                        else
                        {
                            results.ReplaceTop(other, score);
                        }

                        lowerBound = results.Top.Score;
                    }
                }
            }

            if (candidates.Count > 0)
            {
                // The next node to expand: start loading its link list while the heap work finishes (hnswlib does).
                PrefetchLinks(blocks, candidates.Top.Slot, level);
            }
        }
    }

    /// <summary>Starts loading the layer-0 link list of <paramref name="slot"/> (every line of its 2M+1 ints).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchLinks(NodeBlock[] blocks, int slot, int level)
    {
        if (Sse.IsSupported && level == 0)
        {
            var block = blocks[slot >> BlockShift];
            var start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(block.Links0)) + ((slot & BlockMask) * _stride0 * sizeof(int));
            var end = start + (_stride0 * sizeof(int)) - 1;
            for (var line = (byte*)((nint)start & ~63); line <= end; line += 64)
            {
                Sse.Prefetch0(line);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Admit(NodeBlock[] blocks, int slot, Func<int, bool>? filter, bool admitDeleted) =>
        (admitDeleted || !IsDeletedIn(blocks, slot)) && (filter is null || filter(slot));

    /// <summary>Empties the result heap into <c>scratch.Sorted</c>, best first; returns how many.</summary>
    private static int DrainSorted(HnswScratch scratch)
    {
        var results = scratch.Results;
        var found = results.Count;
        scratch.EnsureBuffers(found);
        var sorted = scratch.Sorted;
        for (var i = found - 1; i >= 0; i--)
        {
            sorted[i] = results.Pop();
        }

        return found;
    }

    // Every caller passes a slot below a published count, which the arena and the codes already cover.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float Score(scoped in Probe probe, int slot) => probe.Codes is { } codes
        ? codes.ScoreUnchecked(ref MemoryMarshal.GetReference(probe.QueryCodes), probe.Bias, slot)
        : DistanceKernels.ScoreUnchecked(_metric, ref MemoryMarshal.GetReference(probe.Vector), ref _vectors.FirstFloat(slot), probe.Vector.Length);

    /// <summary>Asks the CPU to start loading what <see cref="Score"/> will read for <paramref name="slot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void Prefetch(scoped in Probe probe, int slot)
    {
        if (Sse.IsSupported)
        {
            // A hint only: if the collector moves the array meanwhile, the load is merely wasted.
            if (probe.Codes is { } codes)
            {
                // Codes are a few cache lines (6 at 384 dimensions): fetch them all.
                var start = (byte*)Unsafe.AsPointer(ref codes.FirstCode(slot));
                for (var line = 0; line < probe.QueryCodes.Length; line += 64)
                {
                    Sse.Prefetch0(start + line);
                }
            }
            else
            {
                // Floats are 24 lines at 384 dimensions; the first starts the hardware's stream (as hnswlib does).
                Sse.Prefetch0(Unsafe.AsPointer(ref _vectors.FirstFloat(slot)));
            }
        }
    }

    /// <summary>Starts loading every line after the first of a float vector (codes are prefetched whole already).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchWhole(scoped in Probe probe, int slot)
    {
        if (Sse.IsSupported && probe.Codes is null)
        {
            var start = (byte*)Unsafe.AsPointer(ref _vectors.FirstFloat(slot));
            var bytes = probe.Vector.Length * sizeof(float);
            for (var line = 64; line < bytes; line += 64)
            {
                Sse.Prefetch0(start + line);
            }
        }
    }

    /// <summary>A stored slot as the writer compares it: its codes when quantized, else its floats.</summary>
    private Probe ProbeOf(int slot) => _codes is { } codes ? new Probe(codes[slot], codes.Bias(slot), codes) : new Probe(_vectors[slot]);

    /// <summary>
    /// Encodes slots up to <paramref name="slot"/>. The range is learnt from the arena on the first call and learnt
    /// again (every code rewritten, into a new store) each time the arena has grown fourfold, until the sample is full.
    /// </summary>
    private void EncodeThrough(int slot)
    {
        var codes = _codes;
        if (codes is null || (_trainedOn < RetrainUntil && _vectors.Count >= 4L * _trainedOn))
        {
            _trainedOn = _vectors.Count;
            var retrained = new QuantizedCodes(ScalarQuantizer.Train(_vectors, _metric, _trainedOn));
            for (var i = 0; i < (codes?.Count ?? 0); i++)
            {
                retrained.Add(_vectors[i]);
            }

            // Searches read the graph state before the codes, and every slot they can reach is already encoded here.
            _codes = codes = retrained;
        }

        while (codes.Count <= slot)
        {
            codes.Add(_vectors[codes.Count]);
        }
    }

    private int RandomLevel()
    {
        var level = (int)(-Math.Log(1.0 - _random.NextDouble()) * _levelMultiplier);
        return Math.Min(level, MaxLevel);
    }

    /// <summary>The link list of <paramref name="slot"/> on <paramref name="level"/>: <c>[count, ids...]</c> at offset.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int[]? GetLinks(NodeBlock[] blocks, int slot, int level, out int offset)
    {
        var block = blocks[slot >> BlockShift];
        var index = slot & BlockMask;
        if (level == 0)
        {
            offset = index * _stride0;
            return block.Links0;
        }

        var upper = block.Upper[index];
        offset = (level - 1) * _strideUp;
        return upper is not null && offset < upper.Length ? upper : null;
    }

    private static int LevelOf(NodeBlock[] blocks, int slot) => blocks[slot >> BlockShift].Levels[slot & BlockMask];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsDeletedIn(NodeBlock[] blocks, int slot) =>
        (Volatile.Read(ref blocks[slot >> BlockShift].Deleted[(slot & BlockMask) >> 6]) & (1UL << slot)) != 0;

    /// <summary>Sets the tombstone bit; false when it was already set.</summary>
    private static bool SetDeletedBit(NodeBlock[] blocks, int slot)
    {
        ref var word = ref blocks[slot >> BlockShift].Deleted[(slot & BlockMask) >> 6];
        var bit = 1UL << slot;
        if ((word & bit) != 0)
        {
            return false;
        }

        // One aligned 64-bit store: a concurrent reader sees the word before or after, never torn.
        Volatile.Write(ref word, word | bit);
        return true;
    }

    /// <summary>Makes room for <paramref name="slot"/>; a replaced block table is published before it is written to.</summary>
    private void EnsureCapacity(int slot)
    {
        var blockIndex = slot >> BlockShift;
        if (blockIndex < _blocks.Length && (slot & BlockMask) < _blocks[blockIndex].Capacity)
        {
            return;
        }

        NodeBlock[] table;
        if (blockIndex == 0)
        {
            var capacity = _blocks.Length == 0 ? FirstBlockCapacity : Math.Min(BlockSize, _blocks[0].Capacity * 2);
            while (capacity <= slot)
            {
                capacity = Math.Min(BlockSize, capacity * 2);
            }

            table = [_blocks.Length == 0 ? new NodeBlock(capacity, _stride0) : _blocks[0].CopyTo(new NodeBlock(capacity, _stride0))];
        }
        else
        {
            if (blockIndex - 1 >= _blocks.Length || _blocks[blockIndex - 1].Capacity < BlockSize)
            {
                // Every earlier block is full-size before this one starts (a load jumps straight to the last).
                EnsureCapacity((blockIndex << BlockShift) - 1);
            }

            table = new NodeBlock[blockIndex + 1];
            Array.Copy(_blocks, table, _blocks.Length);
            table[blockIndex] = new NodeBlock(BlockSize, _stride0);
        }

        _blocks = table;
        var state = _state;
        _state = new GraphState(table, state.Count, state.EntryPoint, state.TopLevel);
    }

    /// <summary>Orders scored slots best (highest score) first.</summary>
    /// <summary>What a score is measured from: a float vector, or int8 codes with their bias and the store they index.</summary>
    private readonly ref struct Probe
    {
        public Probe(ReadOnlySpan<float> vector) => Vector = vector;

        public Probe(ReadOnlySpan<sbyte> queryCodes, float bias, QuantizedCodes codes)
        {
            QueryCodes = queryCodes;
            Bias = bias;
            Codes = codes;
        }

        public ReadOnlySpan<float> Vector { get; }

        public ReadOnlySpan<sbyte> QueryCodes { get; }

        public float Bias { get; }

        public QuantizedCodes? Codes { get; }
    }

    private readonly struct BestFirst : IComparer<ScoredSlot>
    {
        public int Compare(ScoredSlot x, ScoredSlot y) => y.Score.CompareTo(x.Score);
    }

    /// <summary>What a search reads once: published node count, entry point, top level and block table.</summary>
    private sealed class GraphState(NodeBlock[] blocks, int count, int entryPoint, int topLevel)
    {
        public NodeBlock[] Blocks { get; } = blocks;

        public int Count { get; } = count;

        public int EntryPoint { get; } = entryPoint;

        public int TopLevel { get; } = topLevel;
    }

    /// <summary>Storage of up to 4096 consecutive nodes.</summary>
    private sealed class NodeBlock
    {
        public NodeBlock(int capacity, int stride0)
        {
            Capacity = capacity;
            Links0 = new int[capacity * stride0];
            Levels = new byte[capacity];
            Upper = new int[]?[capacity];
            Deleted = new ulong[(capacity + 63) >> 6];
        }

        public int Capacity { get; }

        public int[] Links0 { get; }

        public byte[] Levels { get; }

        public int[]?[] Upper { get; }

        public ulong[] Deleted { get; }

        public NodeBlock CopyTo(NodeBlock target)
        {
            Links0.AsSpan().CopyTo(target.Links0);
            Levels.AsSpan().CopyTo(target.Levels);
            Upper.AsSpan().CopyTo(target.Upper);
            Deleted.AsSpan().CopyTo(target.Deleted);
            return target;
        }
    }
}
