using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Agents.Engine.Vectors;

/// <summary>
/// int8 scalar quantization with one range for every dimension: a float x is stored as the code
/// c = round((x − centre) / step), clamped to [−127, 127], so x ≈ centre + step·c. One shared range keeps scores exact
/// integer kernels plus a per-vector correction: for dot products
/// x·y ≈ step²·Σcᵢdᵢ + bias(c) + bias(d) with bias(c) = centre·step·Σcᵢ + dim·centre²/2, and for L2
/// ‖x − y‖² ≈ step²·Σ(cᵢ − dᵢ)². The range is learnt from the data (see <see cref="Train"/>).
/// </summary>
public sealed class ScalarQuantizer
{
    /// <summary>Share of the sampled values left outside the range at each end, so a few outliers do not waste codes.</summary>
    public const double ClipShare = 0.0005;

    /// <summary>A quantizer for values in [<paramref name="low"/>, <paramref name="high"/>] of vectors of <paramref name="dimension"/>.</summary>
    public ScalarQuantizer(DistanceMetric metric, int dimension, float low, float high)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (!float.IsFinite(low) || !float.IsFinite(high) || high < low)
        {
            throw new ArgumentException($"A quantizer range must be finite and ordered; got [{low}, {high}].");
        }

        Metric = metric;
        Dimension = dimension;
        Low = low;
        High = high;
        Centre = (low + high) / 2;

        // A constant sample has no spread; any positive step then encodes it exactly as code 0.
        Step = high > low ? (high - low) / 254f : MathF.Max(MathF.Abs(Centre), 1f) * 1e-6f;
        _halfDimensionCentre2 = dimension * Centre * Centre / 2;
    }

    private readonly float _halfDimensionCentre2;

    /// <summary>The metric the scores are for.</summary>
    public DistanceMetric Metric { get; }

    /// <summary>Codes per vector.</summary>
    public int Dimension { get; }

    /// <summary>The lowest value encoded without clipping.</summary>
    public float Low { get; }

    /// <summary>The highest value encoded without clipping.</summary>
    public float High { get; }

    /// <summary>The value code 0 stands for.</summary>
    public float Centre { get; }

    /// <summary>The value between neighbouring codes.</summary>
    public float Step { get; }

    /// <summary>
    /// Learns the range from up to <paramref name="sampleVectors"/> vectors spread evenly over slots [0, <paramref name="count"/>):
    /// the values at the <see cref="ClipShare"/> and 1 − <see cref="ClipShare"/> quantiles.
    /// </summary>
    public static ScalarQuantizer Train(VectorArena vectors, DistanceMetric metric, int count, int sampleVectors = 2000)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var taken = Math.Min(count, sampleVectors);
        var values = new float[(long)taken * vectors.Dimension];
        for (var i = 0; i < taken; i++)
        {
            var slot = (int)((long)i * count / taken);
            vectors[slot].CopyTo(values.AsSpan(i * vectors.Dimension));
        }

        Array.Sort(values);
        var clip = (int)(values.Length * ClipShare);
        return new ScalarQuantizer(metric, vectors.Dimension, values[clip], values[values.Length - 1 - clip]);
    }

    /// <summary>Writes the codes of <paramref name="vector"/> to <paramref name="codes"/> and returns the vector's bias.</summary>
    public float Encode(ReadOnlySpan<float> vector, Span<sbyte> codes)
    {
        if (vector.Length != Dimension || codes.Length != Dimension)
        {
            throw new ArgumentException($"Expected {Dimension} values and codes; got {vector.Length} and {codes.Length}.");
        }

        var inverse = 1f / Step;
        var sum = 0;
        for (var i = 0; i < vector.Length; i++)
        {
            var code = (int)MathF.Round((vector[i] - Centre) * inverse);
            code = Math.Clamp(code, -127, 127);
            codes[i] = (sbyte)code;
            sum += code;
        }

        return Bias(sum);
    }

    /// <summary>The approximate score ("higher is closer", as <see cref="DistanceKernels.Score"/>) of two encoded vectors.</summary>
    public float Score(ReadOnlySpan<sbyte> a, float biasA, ReadOnlySpan<sbyte> b, float biasB) => Metric == DistanceMetric.L2
        ? -(Step * Step * Int8Kernels.SquaredDistance(a, b))
        : (Step * Step * Int8Kernels.Dot(a, b)) + biasA + biasB;

    private float Bias(int codeSum) => Metric == DistanceMetric.L2 ? 0 : (Centre * Step * codeSum) + _halfDimensionCentre2;
}

/// <summary>
/// The int8 codes and biases of an arena's first <see cref="Count"/> slots under one <see cref="ScalarQuantizer"/>,
/// in blocks so growth never copies. One writer appends; readers read slots below <see cref="Count"/>.
/// </summary>
public sealed class QuantizedCodes
{
    private const int SlotsPerBlock = 1024;
    private sbyte[][] _codes = [];
    private float[][] _biases = [];
    private int _count;

    /// <summary>An empty store for <paramref name="quantizer"/>'s codes.</summary>
    public QuantizedCodes(ScalarQuantizer quantizer)
    {
        ArgumentNullException.ThrowIfNull(quantizer);
        Quantizer = quantizer;
    }

    /// <summary>The quantizer the codes were made with.</summary>
    public ScalarQuantizer Quantizer { get; }

    /// <summary>Slots encoded.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes held by codes and biases.</summary>
    public long MemoryBytes => (long)_codes.Length * SlotsPerBlock * (Quantizer.Dimension + sizeof(float));

    /// <summary>The codes of <paramref name="slot"/>.</summary>
    public ReadOnlySpan<sbyte> this[int slot] =>
        Volatile.Read(ref _codes)[slot / SlotsPerBlock].AsSpan(slot % SlotsPerBlock * Quantizer.Dimension, Quantizer.Dimension);

    /// <summary>The bias of <paramref name="slot"/>.</summary>
    public float Bias(int slot) => Volatile.Read(ref _biases)[slot / SlotsPerBlock][slot % SlotsPerBlock];

    /// <summary>Encodes <paramref name="vector"/> into the next slot.</summary>
    public void Add(ReadOnlySpan<float> vector)
    {
        var slot = _count;
        if (slot == _codes.Length * SlotsPerBlock)
        {
            var codes = new sbyte[_codes.Length + 1][];
            _codes.CopyTo(codes, 0);
            codes[^1] = new sbyte[SlotsPerBlock * Quantizer.Dimension];
            var biases = new float[_biases.Length + 1][];
            _biases.CopyTo(biases, 0);
            biases[^1] = new float[SlotsPerBlock];
            Volatile.Write(ref _codes, codes);
            Volatile.Write(ref _biases, biases);
        }

        var block = slot / SlotsPerBlock;
        var index = slot % SlotsPerBlock;
        _biases[block][index] = Quantizer.Encode(vector, _codes[block].AsSpan(index * Quantizer.Dimension, Quantizer.Dimension));
        Volatile.Write(ref _count, slot + 1);
    }

    /// <summary>The approximate score of encoded <paramref name="codes"/> (with <paramref name="bias"/>) against <paramref name="slot"/>.</summary>
    public float Score(ReadOnlySpan<sbyte> codes, float bias, int slot) => Quantizer.Score(codes, bias, this[slot], Bias(slot));

    /// <summary>
    /// As <see cref="Score(ReadOnlySpan{sbyte}, float, int)"/> without bounds checks, for search loops that already
    /// bounded <paramref name="slot"/> by <see cref="Count"/>; <paramref name="codes"/> holds <c>Dimension</c> codes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal float ScoreUnchecked(ref sbyte codes, float bias, int slot)
    {
        var quantizer = Quantizer;
        var block = (uint)slot / SlotsPerBlock;
        var index = (uint)slot % SlotsPerBlock;
        ref var stored = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Volatile.Read(ref _codes)[block]), (nint)index * quantizer.Dimension);
        if (quantizer.Metric == DistanceMetric.L2)
        {
            return -(quantizer.Step * quantizer.Step * Int8Kernels.SquaredDistanceUnchecked(ref codes, ref stored, quantizer.Dimension));
        }

        var storedBias = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Volatile.Read(ref _biases)[block]), (nint)index);
        return (quantizer.Step * quantizer.Step * Int8Kernels.DotUnchecked(ref codes, ref stored, quantizer.Dimension)) + bias + storedBias;
    }

    /// <summary>The first code of <paramref name="slot"/>, unchecked (for prefetching).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref sbyte FirstCode(int slot) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Volatile.Read(ref _codes)[(uint)slot / SlotsPerBlock]), (nint)((uint)slot % SlotsPerBlock) * Quantizer.Dimension);
}
