using System.Runtime.CompilerServices;

namespace Agents.Engine.Vectors;

/// <summary>
/// Per-thread working memory of an HNSW search: a generation-stamped visited array, the two heaps and the sort
/// buffers. Reused across searches (and across indexes on the same thread) so the search loop does not allocate.
/// </summary>
internal sealed class HnswScratch
{
    [ThreadStatic]
    private static HnswScratch? t_cached;

    private ushort[] _visited = [];
    private ushort _generation;
    private bool _inUse;

    /// <summary>Frontier of the layer search, keyed by the negated score so the best candidate is on top.</summary>
    public HnswHeap Candidates { get; } = new();

    /// <summary>The ef best admitted slots, keyed by score so the worst is on top.</summary>
    public HnswHeap Results { get; } = new();

    /// <summary>Candidates sorted best first, before neighbour selection.</summary>
    public ScoredSlot[] Sorted { get; private set; } = new ScoredSlot[256];

    /// <summary>Output of neighbour selection.</summary>
    public ScoredSlot[] Selected { get; private set; } = new ScoredSlot[256];

    /// <summary>The int8 codes of a query, for a quantized index.</summary>
    public sbyte[] QueryCodes { get; private set; } = [];

    // The query's copy: a pinned array and where in it the 64-byte aligned floats start.
    private float[] _query = [];
    private int _queryStart;
    private int _queryLength;

    /// <summary>The visited stamps; a slot is visited when its stamp equals <see cref="Generation"/>.</summary>
    public ushort[] Visited => _visited;

    /// <summary>The stamp of the current search.</summary>
    public ushort Generation => _generation;

    /// <summary>The calling thread's scratch, or a fresh one when it is busy (a filter callback that searches again).</summary>
    public static HnswScratch Rent()
    {
        var scratch = t_cached;
        if (scratch is null || scratch._inUse)
        {
            scratch = new HnswScratch();
            t_cached ??= scratch;
        }

        scratch._inUse = true;
        return scratch;
    }

    /// <summary>Hands a rented scratch back to its thread.</summary>
    public void Return() => _inUse = false;

    /// <summary>Starts a new visited generation covering slots below <paramref name="count"/>.</summary>
    public void ResetVisited(int count)
    {
        if (_visited.Length < count)
        {
            // Headroom so a shard that keeps growing does not reallocate on every search.
            _visited = new ushort[Math.Max(1024, count + (count >> 1))];
            _generation = 1;
            return;
        }

        if (++_generation == 0)
        {
            Array.Clear(_visited);
            _generation = 1;
        }
    }

    /// <summary>Makes <see cref="Sorted"/> and <see cref="Selected"/> hold at least <paramref name="length"/> items.</summary>
    public void EnsureBuffers(int length)
    {
        if (Sorted.Length < length)
        {
            Sorted = new ScoredSlot[length];
            Selected = new ScoredSlot[length];
        }
    }

    /// <summary>A query buffer of <paramref name="dimension"/> floats that starts on a 64-byte cache line.</summary>
    public unsafe Span<float> QueryBuffer(int dimension)
    {
        if (_queryLength != dimension)
        {
            // Pinned, so the aligned start found once stays aligned.
            _query = GC.AllocateUninitializedArray<float>(dimension + 16, pinned: true);
            var address = (nint)Unsafe.AsPointer(ref _query[0]);
            _queryStart = (int)((((address + 63) & ~(nint)63) - address) / sizeof(float));
            _queryLength = dimension;
        }

        return _query.AsSpan(_queryStart, dimension);
    }

    /// <summary>A buffer of <paramref name="dimension"/> query codes.</summary>
    public sbyte[] QueryCodeBuffer(int dimension)
    {
        if (QueryCodes.Length != dimension)
        {
            QueryCodes = new sbyte[dimension];
        }

        return QueryCodes;
    }
}

/// <summary>A binary min-heap of (slot, key) structs; callers negate keys for a max-heap.</summary>
internal sealed class HnswHeap
{
    private ScoredSlot[] _items = new ScoredSlot[128];

    /// <summary>Items in the heap.</summary>
    public int Count { get; private set; }

    /// <summary>The item with the smallest key.</summary>
    public ScoredSlot Top
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _items[0];
    }

    /// <summary>Empties the heap, keeping its storage.</summary>
    public void Clear() => Count = 0;

    /// <summary>Adds an item.</summary>
    public void Push(int slot, float key)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        var items = _items;
        var i = Count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (items[parent].Score <= key)
            {
                break;
            }

            items[i] = items[parent];
            i = parent;
        }

        items[i] = new ScoredSlot(slot, key);
    }

    /// <summary>Removes and returns the item with the smallest key.</summary>
    public ScoredSlot Pop()
    {
        var top = _items[0];
        var last = _items[--Count];
        if (Count > 0)
        {
            SiftDown(last);
        }

        return top;
    }

    /// <summary>Replaces the smallest item by a new one (a push and a pop in one sift).</summary>
    public void ReplaceTop(int slot, float key) => SiftDown(new ScoredSlot(slot, key));

    private void SiftDown(ScoredSlot item)
    {
        var items = _items;
        var count = Count;
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= count)
            {
                break;
            }

            if (child + 1 < count && items[child + 1].Score < items[child].Score)
            {
                child++;
            }

            if (item.Score <= items[child].Score)
            {
                break;
            }

            items[i] = items[child];
            i = child;
        }

        items[i] = item;
    }
}
