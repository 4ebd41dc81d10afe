namespace Agents.Engine.Vectors;

/// <summary>Exact top-k over a range of arena slots: the flat index, and the cover for points not yet in a graph.</summary>
public static class ExactSearch
{
    /// <summary>
    /// The best <paramref name="k"/> slots in [<paramref name="from"/>, <paramref name="to"/>) that pass <paramref name="accept"/>,
    /// merged into <paramref name="top"/> (a bounded min-heap shared across calls so several ranges merge exactly).
    /// </summary>
    public static void Scan(VectorArena vectors, DistanceMetric metric, ReadOnlySpan<float> query, int from, int to, Func<int, bool>? accept, TopK top)
    {
        for (var slot = from; slot < to; slot++)
        {
            if (accept is not null && !accept(slot))
            {
                continue;
            }

            top.Offer(slot, DistanceKernels.Score(metric, query, vectors[slot]));
        }
    }

    /// <summary>Scores exactly the given <paramref name="slots"/> (already filtered) into <paramref name="top"/>.</summary>
    public static void ScanSlots(VectorArena vectors, DistanceMetric metric, ReadOnlySpan<float> query, IReadOnlyList<int> slots, TopK top)
    {
        foreach (var slot in slots)
        {
            top.Offer(slot, DistanceKernels.Score(metric, query, vectors[slot]));
        }
    }
}

/// <summary>The best k (slot, score) pairs seen so far; higher score is better.</summary>
public sealed class TopK(int k)
{
    private readonly PriorityQueue<int, float> _heap = new(k + 1);

    /// <summary>How many are kept.</summary>
    public int K { get; } = k;

    /// <summary>How many are held now.</summary>
    public int Count => _heap.Count;

    /// <summary>The worst score held, or negative infinity until the heap is full.</summary>
    public float Threshold => _heap.Count < K ? float.NegativeInfinity : _heap.TryPeek(out _, out var worst) ? worst : float.NegativeInfinity;

    /// <summary>Keeps (slot, score) if it is among the best k.</summary>
    public void Offer(int slot, float score)
    {
        if (_heap.Count < K)
        {
            _heap.Enqueue(slot, score);
        }
        else if (score > Threshold)
        {
            _heap.DequeueEnqueue(slot, score);
        }
    }

    /// <summary>The kept pairs, best first.</summary>
    public (int Slot, float Score)[] ToSortedArray()
    {
        var result = new (int Slot, float Score)[_heap.Count];
        var items = _heap.UnorderedItems.ToArray();
        for (var i = 0; i < items.Length; i++)
        {
            result[i] = (items[i].Element, items[i].Priority);
        }

        Array.Sort(result, (a, b) => b.Score.CompareTo(a.Score) is var c && c != 0 ? c : a.Slot.CompareTo(b.Slot));
        return result;
    }
}
