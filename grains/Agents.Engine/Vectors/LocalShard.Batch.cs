namespace Agents.Engine.Vectors;

/// <summary>Many queries in one call: one exact pass over the arena for all of them, or the graph searched back to back.</summary>
public sealed partial class LocalShard
{
    /// <summary>
    /// For each of the queries laid end to end in <paramref name="queries"/> (rows of <see cref="Dimension"/> floats,
    /// normalised for cosine), what <see cref="Search"/> would return for it, in query order. Without a graph every query
    /// is answered by one blocked scan of the arena (<see cref="FlatBatchSearch"/>); with one, the queries run back to
    /// back on this thread (the graph's search scratch is reused) and the slots it has not reached are scanned for all of
    /// them at once. One <paramref name="filter"/> applies to every query.
    /// </summary>
    public ShardHit[][] SearchBatch(ReadOnlySpan<float> queries, int k, int? ef = null, Func<PayloadFields, bool>? filter = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var dim = Dimension;
        if (queries.Length % dim != 0)
        {
            throw new ArgumentException($"{queries.Length} floats are not whole queries of {dim} dimensions.", nameof(queries));
        }

        var n = queries.Length / dim;
        Func<int, bool> accept = filter is null
            ? slot => !_dead[slot]
            : slot => !_dead[slot] && filter(_fieldsBySlot[slot]);
        var count = _arena.Count;
        var top = new BatchTopK(n, k);
        var indexed = Volatile.Read(ref _indexed);
        if (filter is not null && SelectiveMatches(filter, count) is { } matches)
        {
            // Few points pass: score exactly those, evaluating the filter once for the batch.
            foreach (var slot in matches)
            {
                var x = _arena[slot];
                for (var q = 0; q < n; q++)
                {
                    top.Offer(q, slot, DistanceKernels.Score(_metric, queries.Slice(q * dim, dim), x));
                }
            }
        }
        else if (_graph is null || indexed == 0)
        {
            FlatBatchSearch.Scan(_arena, _metric, queries, 0, count, accept, top);
        }
        else
        {
            var breadth = Math.Max(ef ?? _graphParameters!.Ef, k);
            for (var q = 0; q < n; q++)
            {
                foreach (var hit in _graph.Search(queries.Slice(q * dim, dim), k, breadth, accept))
                {
                    top.Offer(q, hit.Slot, hit.Score);
                }
            }

            // The graph has not reached these yet: cover them exactly so an upserted point is always found.
            FlatBatchSearch.Scan(_arena, _metric, queries, indexed, count, accept, top);
        }

        var results = new ShardHit[n][];
        for (var q = 0; q < n; q++)
        {
            var hits = top.ToSortedArray(q);
            var result = new ShardHit[hits.Length];
            for (var i = 0; i < hits.Length; i++)
            {
                var (slot, score) = hits[i];
                result[i] = new ShardHit(_idBySlot[slot]!, DistanceKernels.ToUserScore(_metric, score), _payloadBySlot[slot]);
            }

            results[q] = result;
        }

        return results;
    }
}
