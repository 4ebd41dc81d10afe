using System.Numerics.Tensors;

namespace Agents.Engine.Vectors;

/// <summary>
/// Similarity scores on SIMD (System.Numerics.Tensors) or, when <see cref="UseSimd"/> is off (<c>P2P_ENABLE_SIMD=false</c>),
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
    public static float ScoreSimd(DistanceMetric metric, ReadOnlySpan<float> a, ReadOnlySpan<float> b) => metric switch
    {
        DistanceMetric.L2 => -SquaredDistanceSimd(a, b),
        _ => TensorPrimitives.Dot(a, b),
    };

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

    private static float SquaredDistanceSimd(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var d = TensorPrimitives.Distance(a, b);
        return d * d;
    }

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
