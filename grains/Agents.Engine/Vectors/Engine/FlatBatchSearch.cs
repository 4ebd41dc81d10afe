using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Agents.Engine.Vectors;

/// <summary>
/// Exact top-k of many queries at once, as FAISS answers a batch on a flat index: the arena is read once per batch, four
/// vectors at a time, and each group of four is scored against the queries four at a time in registers (sixteen SIMD
/// accumulators, Vector512 or Vector256 fused multiply-adds), so every vector loaded from memory serves every query and
/// every query chunk loaded serves four vectors. Each query keeps its best k in a small heap (<see cref="BatchTopK"/>).
/// </summary>
/// <remarks>
/// Scores are those of <see cref="DistanceKernels"/> up to float rounding (the sums run in another order). With
/// <see cref="DistanceKernels.UseSimd"/> off every pair is scored by the scalar reference.
/// </remarks>
public static class FlatBatchSearch
{
    private const int Tile = 4;

    // Half of a typical 512 KB to 2 MB L2 cache: 170 queries of 384 dimensions.
    private const int QueryBlockBytes = 256 * 1024;

    /// <summary>
    /// Merges into <paramref name="top"/> the best slots in [<paramref name="from"/>, <paramref name="to"/>) that pass
    /// <paramref name="accept"/> (asked once a slot, for all queries) for each of the queries laid end to end in
    /// <paramref name="queries"/> (<see cref="BatchTopK.Queries"/> rows of the arena's dimension).
    /// </summary>
    public static void Scan(VectorArena vectors, DistanceMetric metric, ReadOnlySpan<float> queries, int from, int to, Func<int, bool>? accept, BatchTopK top)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentNullException.ThrowIfNull(top);
        var dim = vectors.Dimension;
        if (queries.Length != top.Queries * dim)
        {
            throw new ArgumentException($"{queries.Length} floats are not {top.Queries} queries of {dim} dimensions.", nameof(queries));
        }

        if (!DistanceKernels.UseSimd || !(Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated))
        {
            ScanPairs(vectors, metric, queries, from, to, accept, top);
        }
        else if (metric == DistanceMetric.L2)
        {
            ScanTiles<SquaredDistance>(vectors, queries, from, to, accept, top);
        }
        else
        {
            ScanTiles<InnerProduct>(vectors, queries, from, to, accept, top);
        }
    }

    /// <summary>The scalar reference: every (query, slot) pair on its own.</summary>
    private static void ScanPairs(VectorArena vectors, DistanceMetric metric, ReadOnlySpan<float> queries, int from, int to, Func<int, bool>? accept, BatchTopK top)
    {
        var dim = vectors.Dimension;
        for (var slot = from; slot < to; slot++)
        {
            if (accept is not null && !accept(slot))
            {
                continue;
            }

            var x = vectors[slot];
            for (var q = 0; q < top.Queries; q++)
            {
                top.Offer(q, slot, DistanceKernels.Score(metric, queries.Slice(q * dim, dim), x));
            }
        }
    }

    private static void ScanTiles<TOp>(VectorArena vectors, ReadOnlySpan<float> queries, int from, int to, Func<int, bool>? accept, BatchTopK top)
        where TOp : struct, IPairKernel
    {
        var dim = vectors.Dimension;
        var n = top.Queries;
        Span<float> scores = stackalloc float[Tile * Tile];
        Span<bool> live = stackalloc bool[Tile];
        ref var q0 = ref MemoryMarshal.GetReference(queries);

        // Queries a block that stays in the L2 cache while every vector streams past it once.
        var block = Math.Max(Tile, QueryBlockBytes / (dim * sizeof(float)) / Tile * Tile);
        for (var first = 0; first < n; first += block)
        {
            ScanBlock<TOp>(vectors, ref q0, first, Math.Min(n, first + block), from, to - ((to - from) % Tile), accept, top, scores, live);
        }

        // The last slots, fewer than a tile.
        for (var slot = to - ((to - from) % Tile); slot < to; slot++)
        {
            if (accept is not null && !accept(slot))
            {
                continue;
            }

            ref var x = ref MemoryMarshal.GetReference(vectors[slot]);
            for (var q = 0; q < n; q++)
            {
                top.Offer(q, slot, Score1x1<TOp>(ref Unsafe.Add(ref q0, q * dim), ref x, dim));
            }
        }
    }

    /// <summary>Queries [<paramref name="firstQuery"/>, <paramref name="endQuery"/>) against the whole tiles of slots in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    private static void ScanBlock<TOp>(
        VectorArena vectors, ref float q0, int firstQuery, int endQuery, int from, int to, Func<int, bool>? accept, BatchTopK top, Span<float> scores, Span<bool> live)
        where TOp : struct, IPairKernel
    {
        var dim = vectors.Dimension;
        var n = endQuery;
        for (var slot = from; slot < to; slot += Tile)
        {
            var any = false;
            for (var j = 0; j < Tile; j++)
            {
                live[j] = accept is null || accept(slot + j);
                any |= live[j];
            }

            if (!any)
            {
                continue;
            }

            ref var x0 = ref MemoryMarshal.GetReference(vectors[slot]);
            ref var x1 = ref MemoryMarshal.GetReference(vectors[slot + 1]);
            ref var x2 = ref MemoryMarshal.GetReference(vectors[slot + 2]);
            ref var x3 = ref MemoryMarshal.GetReference(vectors[slot + 3]);
            var q = firstQuery;
            for (; q + Tile <= n; q += Tile)
            {
                ref var row = ref Unsafe.Add(ref q0, q * dim);
                Score4x4<TOp>(ref row, dim, ref x0, ref x1, ref x2, ref x3, scores);
                for (var i = 0; i < Tile; i++)
                {
                    var threshold = top.Threshold(q + i);
                    for (var j = 0; j < Tile; j++)
                    {
                        var score = scores[(i * Tile) + j];
                        if (score > threshold && live[j])
                        {
                            top.Offer(q + i, slot + j, score);
                            threshold = top.Threshold(q + i);
                        }
                    }
                }
            }

            for (; q < n; q++)
            {
                ref var row = ref Unsafe.Add(ref q0, q * dim);
                Score1x4<TOp>(ref row, dim, ref x0, ref x1, ref x2, ref x3, scores);
                for (var j = 0; j < Tile; j++)
                {
                    if (scores[j] > top.Threshold(q) && live[j])
                    {
                        top.Offer(q, slot + j, scores[j]);
                    }
                }
            }
        }
    }

    /// <summary>Four consecutive query rows against four vectors: sixteen scores, row-major by query.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Score4x4<TOp>(ref float q, int dim, ref float x0, ref float x1, ref float x2, ref float x3, Span<float> scores)
        where TOp : struct, IPairKernel
    {
        ref var q1 = ref Unsafe.Add(ref q, dim);
        ref var q2 = ref Unsafe.Add(ref q, 2 * dim);
        ref var q3 = ref Unsafe.Add(ref q, 3 * dim);
        var d = 0;
        if (Vector512.IsHardwareAccelerated && dim >= Vector512<float>.Count)
        {
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (; d + Vector512<float>.Count <= dim; d += Vector512<float>.Count)
            {
                var v0 = Vector512.LoadUnsafe(ref x0, (nuint)d);
                var v1 = Vector512.LoadUnsafe(ref x1, (nuint)d);
                var v2 = Vector512.LoadUnsafe(ref x2, (nuint)d);
                var v3 = Vector512.LoadUnsafe(ref x3, (nuint)d);
                var w = Vector512.LoadUnsafe(ref q, (nuint)d);
                a00 = TOp.Step(w, v0, a00);
                a01 = TOp.Step(w, v1, a01);
                a02 = TOp.Step(w, v2, a02);
                a03 = TOp.Step(w, v3, a03);
                w = Vector512.LoadUnsafe(ref q1, (nuint)d);
                a10 = TOp.Step(w, v0, a10);
                a11 = TOp.Step(w, v1, a11);
                a12 = TOp.Step(w, v2, a12);
                a13 = TOp.Step(w, v3, a13);
                w = Vector512.LoadUnsafe(ref q2, (nuint)d);
                a20 = TOp.Step(w, v0, a20);
                a21 = TOp.Step(w, v1, a21);
                a22 = TOp.Step(w, v2, a22);
                a23 = TOp.Step(w, v3, a23);
                w = Vector512.LoadUnsafe(ref q3, (nuint)d);
                a30 = TOp.Step(w, v0, a30);
                a31 = TOp.Step(w, v1, a31);
                a32 = TOp.Step(w, v2, a32);
                a33 = TOp.Step(w, v3, a33);
            }

            Reduce4(a00, a01, a02, a03).StoreUnsafe(ref scores[0]);
            Reduce4(a10, a11, a12, a13).StoreUnsafe(ref scores[4]);
            Reduce4(a20, a21, a22, a23).StoreUnsafe(ref scores[8]);
            Reduce4(a30, a31, a32, a33).StoreUnsafe(ref scores[12]);
        }
        else
        {
            Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
            for (; d + Vector256<float>.Count <= dim; d += Vector256<float>.Count)
            {
                var v0 = Vector256.LoadUnsafe(ref x0, (nuint)d);
                var v1 = Vector256.LoadUnsafe(ref x1, (nuint)d);
                var v2 = Vector256.LoadUnsafe(ref x2, (nuint)d);
                var v3 = Vector256.LoadUnsafe(ref x3, (nuint)d);
                var w = Vector256.LoadUnsafe(ref q, (nuint)d);
                a00 = TOp.Step(w, v0, a00);
                a01 = TOp.Step(w, v1, a01);
                a02 = TOp.Step(w, v2, a02);
                a03 = TOp.Step(w, v3, a03);
                w = Vector256.LoadUnsafe(ref q1, (nuint)d);
                a10 = TOp.Step(w, v0, a10);
                a11 = TOp.Step(w, v1, a11);
                a12 = TOp.Step(w, v2, a12);
                a13 = TOp.Step(w, v3, a13);
                w = Vector256.LoadUnsafe(ref q2, (nuint)d);
                a20 = TOp.Step(w, v0, a20);
                a21 = TOp.Step(w, v1, a21);
                a22 = TOp.Step(w, v2, a22);
                a23 = TOp.Step(w, v3, a23);
                w = Vector256.LoadUnsafe(ref q3, (nuint)d);
                a30 = TOp.Step(w, v0, a30);
                a31 = TOp.Step(w, v1, a31);
                a32 = TOp.Step(w, v2, a32);
                a33 = TOp.Step(w, v3, a33);
            }

            Reduce4(a00, a01, a02, a03).StoreUnsafe(ref scores[0]);
            Reduce4(a10, a11, a12, a13).StoreUnsafe(ref scores[4]);
            Reduce4(a20, a21, a22, a23).StoreUnsafe(ref scores[8]);
            Reduce4(a30, a31, a32, a33).StoreUnsafe(ref scores[12]);
        }

        // The dimensions past the last whole SIMD width.
        for (; d < dim; d++)
        {
            float v0 = Unsafe.Add(ref x0, d), v1 = Unsafe.Add(ref x1, d), v2 = Unsafe.Add(ref x2, d), v3 = Unsafe.Add(ref x3, d);
            ReadOnlySpan<float> w = [Unsafe.Add(ref q, d), Unsafe.Add(ref q1, d), Unsafe.Add(ref q2, d), Unsafe.Add(ref q3, d)];
            for (var i = 0; i < Tile; i++)
            {
                scores[i * Tile] = TOp.Step(w[i], v0, scores[i * Tile]);
                scores[(i * Tile) + 1] = TOp.Step(w[i], v1, scores[(i * Tile) + 1]);
                scores[(i * Tile) + 2] = TOp.Step(w[i], v2, scores[(i * Tile) + 2]);
                scores[(i * Tile) + 3] = TOp.Step(w[i], v3, scores[(i * Tile) + 3]);
            }
        }

        for (var i = 0; i < Tile * Tile; i++)
        {
            scores[i] = TOp.Finish(scores[i]);
        }
    }

    /// <summary>One query row against four vectors: the first four of <paramref name="scores"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Score1x4<TOp>(ref float q, int dim, ref float x0, ref float x1, ref float x2, ref float x3, Span<float> scores)
        where TOp : struct, IPairKernel
    {
        var d = 0;
        if (Vector512.IsHardwareAccelerated && dim >= Vector512<float>.Count)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; d + Vector512<float>.Count <= dim; d += Vector512<float>.Count)
            {
                var w = Vector512.LoadUnsafe(ref q, (nuint)d);
                a0 = TOp.Step(w, Vector512.LoadUnsafe(ref x0, (nuint)d), a0);
                a1 = TOp.Step(w, Vector512.LoadUnsafe(ref x1, (nuint)d), a1);
                a2 = TOp.Step(w, Vector512.LoadUnsafe(ref x2, (nuint)d), a2);
                a3 = TOp.Step(w, Vector512.LoadUnsafe(ref x3, (nuint)d), a3);
            }

            Reduce4(a0, a1, a2, a3).StoreUnsafe(ref scores[0]);
        }
        else
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; d + Vector256<float>.Count <= dim; d += Vector256<float>.Count)
            {
                var w = Vector256.LoadUnsafe(ref q, (nuint)d);
                a0 = TOp.Step(w, Vector256.LoadUnsafe(ref x0, (nuint)d), a0);
                a1 = TOp.Step(w, Vector256.LoadUnsafe(ref x1, (nuint)d), a1);
                a2 = TOp.Step(w, Vector256.LoadUnsafe(ref x2, (nuint)d), a2);
                a3 = TOp.Step(w, Vector256.LoadUnsafe(ref x3, (nuint)d), a3);
            }

            Reduce4(a0, a1, a2, a3).StoreUnsafe(ref scores[0]);
        }

        for (; d < dim; d++)
        {
            var w = Unsafe.Add(ref q, d);
            scores[0] = TOp.Step(w, Unsafe.Add(ref x0, d), scores[0]);
            scores[1] = TOp.Step(w, Unsafe.Add(ref x1, d), scores[1]);
            scores[2] = TOp.Step(w, Unsafe.Add(ref x2, d), scores[2]);
            scores[3] = TOp.Step(w, Unsafe.Add(ref x3, d), scores[3]);
        }

        for (var j = 0; j < Tile; j++)
        {
            scores[j] = TOp.Finish(scores[j]);
        }
    }

    /// <summary>The sums of four vectors' lanes, in one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
        Reduce4(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper(), c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper());

    /// <summary>The sums of four vectors' lanes, in one vector: three horizontal adds rather than four full reductions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        if (Avx.IsSupported)
        {
            // Per 128-bit lane: [a0+a1, a2+a3, b0+b1, b2+b3], then [a, b, c, d] partial sums; the two lanes add up.
            var sums = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d));
            return sums.GetLower() + sums.GetUpper();
        }

        return Vector128.Create(Vector256.Sum(a), Vector256.Sum(b), Vector256.Sum(c), Vector256.Sum(d));
    }

    private static float Score1x1<TOp>(ref float q, ref float x, int dim)
        where TOp : struct, IPairKernel
    {
        var d = 0;
        var acc = Vector256<float>.Zero;
        for (; d + Vector256<float>.Count <= dim; d += Vector256<float>.Count)
        {
            acc = TOp.Step(Vector256.LoadUnsafe(ref q, (nuint)d), Vector256.LoadUnsafe(ref x, (nuint)d), acc);
        }

        var sum = Vector256.Sum(acc);
        for (; d < dim; d++)
        {
            sum = TOp.Step(Unsafe.Add(ref q, d), Unsafe.Add(ref x, d), sum);
        }

        return TOp.Finish(sum);
    }

    /// <summary>One step of a score over a pair of vectors, in each SIMD width, and the score from the sum.</summary>
    private interface IPairKernel
    {
        static abstract Vector512<float> Step(Vector512<float> q, Vector512<float> x, Vector512<float> sum);

        static abstract Vector256<float> Step(Vector256<float> q, Vector256<float> x, Vector256<float> sum);

        static abstract float Step(float q, float x, float sum);

        static abstract float Finish(float sum);
    }

    /// <summary>Dot product (cosine on normalised vectors).</summary>
    private readonly struct InnerProduct : IPairKernel
    {
        public static Vector512<float> Step(Vector512<float> q, Vector512<float> x, Vector512<float> sum) => Vector512.FusedMultiplyAdd(q, x, sum);

        public static Vector256<float> Step(Vector256<float> q, Vector256<float> x, Vector256<float> sum) => Vector256.FusedMultiplyAdd(q, x, sum);

        public static float Step(float q, float x, float sum) => MathF.FusedMultiplyAdd(q, x, sum);

        public static float Finish(float sum) => sum;
    }

    /// <summary>Squared Euclidean distance, summed as differences (not |q|²+|x|²−2q·x, which loses digits), negated.</summary>
    private readonly struct SquaredDistance : IPairKernel
    {
        public static Vector512<float> Step(Vector512<float> q, Vector512<float> x, Vector512<float> sum)
        {
            var d = q - x;
            return Vector512.FusedMultiplyAdd(d, d, sum);
        }

        public static Vector256<float> Step(Vector256<float> q, Vector256<float> x, Vector256<float> sum)
        {
            var d = q - x;
            return Vector256.FusedMultiplyAdd(d, d, sum);
        }

        public static float Step(float q, float x, float sum)
        {
            var d = q - x;
            return MathF.FusedMultiplyAdd(d, d, sum);
        }

        public static float Finish(float sum) => -sum;
    }
}

/// <summary>
/// The best k (slot, score) pairs of each query of a batch, each query's in a min-heap of fixed size in two flat arrays
/// (no allocation per offer); higher score is better, and a score equal to the worst kept does not displace it.
/// </summary>
public sealed class BatchTopK
{
    private readonly float[] _scores;
    private readonly int[] _slots;
    private readonly int[] _counts;
    private readonly float[] _thresholds;

    /// <summary>Room for the best <paramref name="k"/> of each of <paramref name="queries"/> queries.</summary>
    public BatchTopK(int queries, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queries, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        Queries = queries;
        K = k;
        _scores = new float[(long)queries * k];
        _slots = new int[_scores.Length];
        _counts = new int[queries];
        _thresholds = new float[queries];
        Array.Fill(_thresholds, float.NegativeInfinity);
    }

    /// <summary>Queries in the batch.</summary>
    public int Queries { get; }

    /// <summary>How many are kept per query.</summary>
    public int K { get; }

    /// <summary>The worst score kept for <paramref name="query"/>, or negative infinity until it has k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Threshold(int query) => _thresholds[query];

    /// <summary>Keeps (slot, score) for <paramref name="query"/> if it is among its best k.</summary>
    public void Offer(int query, int slot, float score)
    {
        var count = _counts[query];
        var heap = _scores.AsSpan(query * K, K);
        var slots = _slots.AsSpan(query * K, K);
        if (count < K)
        {
            // Sift up from the new leaf.
            var i = count;
            while (i > 0)
            {
                var parent = (i - 1) >> 1;
                if (heap[parent] <= score)
                {
                    break;
                }

                heap[i] = heap[parent];
                slots[i] = slots[parent];
                i = parent;
            }

            heap[i] = score;
            slots[i] = slot;
            _counts[query] = ++count;
            if (count == K)
            {
                _thresholds[query] = heap[0];
            }

            return;
        }

        if (!(score > heap[0]))
        {
            return;
        }

        // Replace the worst (the root) and sift down.
        var at = 0;
        while (true)
        {
            var child = (2 * at) + 1;
            if (child >= K)
            {
                break;
            }

            if (child + 1 < K && heap[child + 1] < heap[child])
            {
                child++;
            }

            if (heap[child] >= score)
            {
                break;
            }

            heap[at] = heap[child];
            slots[at] = slots[child];
            at = child;
        }

        heap[at] = score;
        slots[at] = slot;
        _thresholds[query] = heap[0];
    }

    /// <summary>The pairs kept for <paramref name="query"/>, best first (ties by slot).</summary>
    public (int Slot, float Score)[] ToSortedArray(int query)
    {
        var count = _counts[query];
        var result = new (int Slot, float Score)[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = (_slots[(query * K) + i], _scores[(query * K) + i]);
        }

        Array.Sort(result, static (a, b) => b.Score.CompareTo(a.Score) is var c && c != 0 ? c : a.Slot.CompareTo(b.Slot));
        return result;
    }
}
