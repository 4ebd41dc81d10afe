using HdrHistogram;
using HdrHistogram.Utilities;

namespace Agents.Grains.Jobs;

/// <summary>
/// Latencies in an HDR histogram (HdrHistogram: whole microseconds, three significant digits, up to an hour) plus the
/// exact maximum. Quantiles are within 0.1% (or 1 µs) of the true ones and never above the maximum; histograms of
/// several batches or silos add up to the histogram of all their latencies. Not thread-safe.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>The largest latency told apart from larger ones: one hour, in microseconds.</summary>
    public const long HighestMicroseconds = 3_600_000_000;

    /// <summary>Significant decimal digits kept: values are resolved to 0.1%.</summary>
    public const int SignificantDigits = 3;

    private const byte FormatVersion = 1;

    // Allocated on the first value (32-bit counts: about 94 KB; a job's tasks are counted in an int too): an idle agent
    // or an empty interval costs nothing.
    private HistogramBase? _counts;

    /// <summary>Latencies recorded.</summary>
    public long Count => _counts?.TotalCount ?? 0;

    /// <summary>The largest latency recorded, exactly, in milliseconds (0 when empty).</summary>
    public double MaxMilliseconds { get; private set; }

    /// <summary>Counts one latency in milliseconds (negative ones count as 0, those past an hour as an hour).</summary>
    public void Record(double milliseconds)
    {
        var ms = double.IsFinite(milliseconds) ? Math.Max(0, milliseconds) : 0;
        Counts().RecordValue(Math.Min(HighestMicroseconds, (long)Math.Round(ms * 1000)));
        MaxMilliseconds = Math.Max(MaxMilliseconds, ms);
    }

    /// <summary>Adds <paramref name="other"/>'s counts to these.</summary>
    public void Add(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other._counts is { TotalCount: > 0 } counts)
        {
            Counts().Add(counts);
            MaxMilliseconds = Math.Max(MaxMilliseconds, other.MaxMilliseconds);
        }
    }

    /// <summary>
    /// The latency in milliseconds at or below which <paramref name="quantile"/> (0..1) of the counts fall: within the
    /// histogram's resolution of the true one, rising with <paramref name="quantile"/>, never above the maximum; 0 when empty.
    /// </summary>
    public double Quantile(double quantile)
    {
        if (_counts is not { TotalCount: > 0 } counts)
        {
            return 0;
        }

        var microseconds = counts.GetValueAtPercentile(Math.Clamp(quantile, 0, 1) * 100);
        return Math.Min(microseconds / 1000.0, MaxMilliseconds);
    }

    /// <summary>The counts and the maximum as bytes (HdrHistogram's compressed encoding after a header of ours).</summary>
    public byte[] Encode()
    {
        using var output = new MemoryStream();
        output.WriteByte(FormatVersion);
        output.Write(BitConverter.GetBytes(MaxMilliseconds));
        if (_counts is { TotalCount: > 0 } counts)
        {
            var buffer = ByteBuffer.Allocate(counts.GetNeededByteBufferCapacity());
            var length = HistogramEncoding.EncodeIntoCompressedByteBuffer(counts, buffer);
            buffer.Position = 0;
            for (var i = 0; i < length; i++)
            {
                output.WriteByte(buffer.Get());
            }
        }

        return output.ToArray();
    }

    /// <summary>A histogram from <see cref="Encode"/>'s bytes.</summary>
    public static LatencyHistogram Decode(byte[] encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (encoded.Length < 9 || encoded[0] != FormatVersion)
        {
            throw new FormatException($"not an encoded latency histogram ({encoded.Length} bytes)");
        }

        var histogram = new LatencyHistogram { MaxMilliseconds = BitConverter.ToDouble(encoded, 1) };
        if (encoded.Length > 9)
        {
            histogram._counts = HistogramEncoding.DecodeFromCompressedByteBuffer(ByteBuffer.Allocate(encoded[9..]), HighestMicroseconds);
        }

        return histogram;
    }

    private HistogramBase Counts() => _counts ??= new IntHistogram(HighestMicroseconds, SignificantDigits);
}

/// <summary>How Orleans stores a <see cref="LatencyHistogram"/> (in a job's state): its encoded bytes.</summary>
[GenerateSerializer]
public struct LatencyHistogramSurrogate
{
    /// <summary><see cref="LatencyHistogram.Encode"/>'s bytes.</summary>
    [Id(0)] public byte[] Encoded;
}

/// <summary>Converts a <see cref="LatencyHistogram"/> to and from its surrogate.</summary>
[RegisterConverter]
public sealed class LatencyHistogramConverter : IConverter<LatencyHistogram, LatencyHistogramSurrogate>
{
    /// <inheritdoc />
    public LatencyHistogram ConvertFromSurrogate(in LatencyHistogramSurrogate surrogate) => LatencyHistogram.Decode(surrogate.Encoded);

    /// <inheritdoc />
    public LatencyHistogramSurrogate ConvertToSurrogate(in LatencyHistogram value) => new() { Encoded = value.Encode() };
}
