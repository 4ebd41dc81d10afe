using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Agents.Engine.Vectors;

/// <summary>
/// Exact integer kernels over int8 codes (see <see cref="ScalarQuantizer"/>): a dot product and a squared distance.
/// The SIMD path widens to int16 and uses multiply-add of adjacent pairs (AVX-512BW or AVX2); the scalar path is the
/// reference, and as both are integer sums they agree exactly. <see cref="DistanceKernels.UseSimd"/> selects between them.
/// </summary>
public static class Int8Kernels
{
    /// <summary>Σ aᵢ·bᵢ.</summary>
    public static int Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b) => DistanceKernels.UseSimd ? DotSimd(a, b) : DotScalar(a, b);

    /// <summary>Σ (aᵢ − bᵢ)².</summary>
    public static int SquaredDistance(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b) =>
        DistanceKernels.UseSimd ? SquaredDistanceSimd(a, b) : SquaredDistanceScalar(a, b);

    /// <summary>The reference dot product.</summary>
    public static int DotScalar(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        CheckLengths(a, b);
        var sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>The reference squared distance.</summary>
    public static int SquaredDistanceScalar(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        CheckLengths(a, b);
        var sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = a[i] - b[i];
            sum += d * d;
        }

        return sum;
    }

    /// <summary>The SIMD dot product (falls back to scalar where neither AVX-512BW nor AVX2 is present).</summary>
    public static int DotSimd(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        CheckLengths(a, b);
        return Simd(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), a.Length, squaredDistance: false);
    }

    /// <summary>The SIMD squared distance.</summary>
    public static int SquaredDistanceSimd(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        CheckLengths(a, b);
        return Simd(ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), a.Length, squaredDistance: true);
    }

    /// <summary>Σ aᵢ·bᵢ over <paramref name="length"/> codes, unchecked (search loops).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int DotUnchecked(ref sbyte a, ref sbyte b, int length) => DistanceKernels.UseSimd
        ? Simd(ref a, ref b, length, squaredDistance: false)
        : DotScalar(MemoryMarshal.CreateReadOnlySpan(ref a, length), MemoryMarshal.CreateReadOnlySpan(ref b, length));

    /// <summary>Σ (aᵢ − bᵢ)² over <paramref name="length"/> codes, unchecked (search loops).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int SquaredDistanceUnchecked(ref sbyte a, ref sbyte b, int length) => DistanceKernels.UseSimd
        ? Simd(ref a, ref b, length, squaredDistance: true)
        : SquaredDistanceScalar(MemoryMarshal.CreateReadOnlySpan(ref a, length), MemoryMarshal.CreateReadOnlySpan(ref b, length));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Simd(ref sbyte ra, ref sbyte rb, int n, bool squaredDistance)
    {
        var i = 0;
        var sum = 0;

        // Lanes hold at most 2·254² per step, so int32 accumulators cannot overflow for any dimension up to 4096.
        if (Avx512BW.IsSupported && n >= 32)
        {
            // Two accumulators over 64 codes a step, so consecutive multiply-adds do not wait on one another.
            Vector512<int> acc = default, acc1 = default;
            for (; i <= n - 64; i += 64)
            {
                var x = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref ra, (nuint)i));
                var y = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref rb, (nuint)i));
                var x1 = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref ra, (nuint)i + 32));
                var y1 = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref rb, (nuint)i + 32));
                if (squaredDistance)
                {
                    x = Avx512BW.Subtract(x, y);
                    y = x;
                    x1 = Avx512BW.Subtract(x1, y1);
                    y1 = x1;
                }

                acc = Avx512F.Add(acc, Avx512BW.MultiplyAddAdjacent(x, y));
                acc1 = Avx512F.Add(acc1, Avx512BW.MultiplyAddAdjacent(x1, y1));
            }

            for (; i <= n - 32; i += 32)
            {
                var x = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref ra, (nuint)i));
                var y = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref rb, (nuint)i));
                if (squaredDistance)
                {
                    x = Avx512BW.Subtract(x, y);
                    y = x;
                }

                acc = Avx512F.Add(acc, Avx512BW.MultiplyAddAdjacent(x, y));
            }

            sum = Vector512.Sum(Avx512F.Add(acc, acc1));
        }

        if (Avx2.IsSupported && n - i >= 16)
        {
            var acc = Vector256<int>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var x = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref ra, (nuint)i));
                var y = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref rb, (nuint)i));
                if (squaredDistance)
                {
                    x = Avx2.Subtract(x, y);
                    y = x;
                }

                acc = Avx2.Add(acc, Avx2.MultiplyAddAdjacent(x, y));
            }

            sum += Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            var x = Unsafe.Add(ref ra, i);
            var y = Unsafe.Add(ref rb, i);
            sum += squaredDistance ? (x - y) * (x - y) : x * y;
        }

        return sum;
    }

    private static void CheckLengths(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Codes of lengths {a.Length} and {b.Length} cannot be compared.");
        }
    }
}
