using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Agents.Engine.Vectors;

/// <summary>
/// Similarity scores on SIMD (Vector512 or Vector256 with fused multiply-add and four accumulators) or, when <see cref="UseSimd"/> is off (<c>P2P_ENABLE_SIMD=false</c>),
/// on a plain scalar loop that the tests prove equal. Every score is "higher is closer": dot product for
/// <see cref="DistanceMetric.Cosine"/> (vectors are normalised on the way in) and <see cref="DistanceMetric.Dot"/>, and the
/// negated squared Euclidean distance for <see cref="DistanceMetric.L2"/>.
/// </summary>
public static class DistanceKernels
{
    /// <summary>Process-wide switch between the SIMD and the scalar kernels.</summary>
    public static bool UseSimd { get; set; } = true;

    /// <summary>The score of <paramref name="a"/> against <paramref name="b"/> (equal lengths).</summary>
    public static float Score(DistanceMetric metric, ReadOnlySpan<float> a, ReadOnlySpan<float> b) =>
        UseSimd ? ScoreSimd(metric, a, b) : ScoreScalar(metric, a, b);

    /// <summary>The SIMD kernel.</summary>
    public static float ScoreSimd(DistanceMetric metric, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Vectors of lengths {a.Length} and {b.Length} cannot be compared.");
        }

        return ScoreSimd(metric, ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), a.Length);
    }

    /// <summary>
    /// The score of the <paramref name="length"/> floats at <paramref name="a"/> against those at <paramref name="b"/>,
    /// unchecked: for the search loops, which know both vectors are whole.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float ScoreUnchecked(DistanceMetric metric, ref float a, ref float b, int length)
    {
        if (!UseSimd)
        {
            return ScoreScalar(metric, MemoryMarshal.CreateReadOnlySpan(ref a, length), MemoryMarshal.CreateReadOnlySpan(ref b, length));
        }

        return ScoreSimd(metric, ref a, ref b, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScoreSimd(DistanceMetric metric, ref float a, ref float b, int length) =>
        metric == DistanceMetric.L2 ? -SquaredDistanceSimd(ref a, ref b, length) : DotSimd(ref a, ref b, length);

    // Four independent accumulators hide the latency of the fused multiply-add (4 cycles, 2 per cycle on current
    // cores); one accumulator would leave the loop waiting on its own sum. 384 and 512 floats are whole 64-float steps.
    private static float DotSimd(ref float a, ref float b, int length)
    {
        nuint i = 0;
        var n = (nuint)length;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i + 64 <= n; i += 64)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, i + 16), Vector512.LoadUnsafe(ref b, i + 16), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, i + 32), Vector512.LoadUnsafe(ref b, i + 32), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, i + 48), Vector512.LoadUnsafe(ref b, i + 48), s3);
            }

            for (; i + 16 <= n; i += 16)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref a, i), Vector512.LoadUnsafe(ref b, i), s0);
            }

            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i + 32 <= n; i += 32)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, i + 8), Vector256.LoadUnsafe(ref b, i + 8), s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, i + 16), Vector256.LoadUnsafe(ref b, i + 16), s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, i + 24), Vector256.LoadUnsafe(ref b, i + 24), s3);
            }

            for (; i + 8 <= n; i += 8)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref a, i), Vector256.LoadUnsafe(ref b, i), s0);
            }

            sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        }

        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref a, i) * Unsafe.Add(ref b, i);
        }

        return sum;
    }

    private static float SquaredDistanceSimd(ref float a, ref float b, int length)
    {
        nuint i = 0;
        var n = (nuint)length;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i + 64 <= n; i += 64)
            {
                var d0 = Vector512.LoadUnsafe(ref a, i) - Vector512.LoadUnsafe(ref b, i);
                var d1 = Vector512.LoadUnsafe(ref a, i + 16) - Vector512.LoadUnsafe(ref b, i + 16);
                var d2 = Vector512.LoadUnsafe(ref a, i + 32) - Vector512.LoadUnsafe(ref b, i + 32);
                var d3 = Vector512.LoadUnsafe(ref a, i + 48) - Vector512.LoadUnsafe(ref b, i + 48);
                s0 = Vector512.FusedMultiplyAdd(d0, d0, s0);
                s1 = Vector512.FusedMultiplyAdd(d1, d1, s1);
                s2 = Vector512.FusedMultiplyAdd(d2, d2, s2);
                s3 = Vector512.FusedMultiplyAdd(d3, d3, s3);
            }

            for (; i + 16 <= n; i += 16)
            {
                var d = Vector512.LoadUnsafe(ref a, i) - Vector512.LoadUnsafe(ref b, i);
                s0 = Vector512.FusedMultiplyAdd(d, d, s0);
            }

            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i + 32 <= n; i += 32)
            {
                var d0 = Vector256.LoadUnsafe(ref a, i) - Vector256.LoadUnsafe(ref b, i);
                var d1 = Vector256.LoadUnsafe(ref a, i + 8) - Vector256.LoadUnsafe(ref b, i + 8);
                var d2 = Vector256.LoadUnsafe(ref a, i + 16) - Vector256.LoadUnsafe(ref b, i + 16);
                var d3 = Vector256.LoadUnsafe(ref a, i + 24) - Vector256.LoadUnsafe(ref b, i + 24);
                s0 = Vector256.FusedMultiplyAdd(d0, d0, s0);
                s1 = Vector256.FusedMultiplyAdd(d1, d1, s1);
                s2 = Vector256.FusedMultiplyAdd(d2, d2, s2);
                s3 = Vector256.FusedMultiplyAdd(d3, d3, s3);
            }

            for (; i + 8 <= n; i += 8)
            {
                var d = Vector256.LoadUnsafe(ref a, i) - Vector256.LoadUnsafe(ref b, i);
                s0 = Vector256.FusedMultiplyAdd(d, d, s0);
            }

            sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        }

        for (; i < n; i++)
        {
            var d = Unsafe.Add(ref a, i) - Unsafe.Add(ref b, i);
            sum += d * d;
        }

        return sum;
    }

    /// <summary>The scalar reference kernel.</summary>
    public static float ScoreScalar(DistanceMetric metric, ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Vectors of lengths {a.Length} and {b.Length} cannot be compared.");
        }

        float sum = 0;
        if (metric == DistanceMetric.L2)
        {
            for (var i = 0; i < a.Length; i++)
            {
                var d = a[i] - b[i];
                sum += d * d;
            }

            return -sum;
        }

        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>Scales <paramref name="vector"/> to unit length in place (a zero vector stays zero).</summary>
    public static void Normalize(Span<float> vector)
    {
        var norm = UseSimd ? TensorPrimitives.Norm(vector) : ScalarNorm(vector);
        if (norm > 0)
        {
            if (UseSimd)
            {
                TensorPrimitives.Divide(vector, norm, vector);
            }
            else
            {
                for (var i = 0; i < vector.Length; i++)
                {
                    vector[i] /= norm;
                }
            }
        }
    }

    /// <summary>The score a user sees: similarity for cosine and dot, Euclidean distance for L2.</summary>
    public static float ToUserScore(DistanceMetric metric, float score) => metric == DistanceMetric.L2 ? MathF.Sqrt(-score) : score;

    private static float ScalarNorm(ReadOnlySpan<float> v)
    {
        float sum = 0;
        foreach (var x in v)
        {
            sum += x * x;
        }

        return MathF.Sqrt(sum);
    }
}
