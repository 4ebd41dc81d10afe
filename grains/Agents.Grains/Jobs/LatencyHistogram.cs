namespace Agents.Grains.Jobs;

/// <summary>Log-bucketed latency counts (10% wide buckets from 1 µs), small enough to live in a job's durable state.</summary>
public static class LatencyHistogram
{
    /// <summary>Buckets from 1 µs to about 30 minutes.</summary>
    public const int Buckets = 224;

    private const double Smallest = 0.001;
    private static readonly double LogGrowth = Math.Log(1.1);

    /// <summary>A new, empty histogram.</summary>
    public static long[] Create() => new long[Buckets];

    /// <summary>The bucket of a latency in milliseconds.</summary>
    public static int BucketOf(double milliseconds) =>
        milliseconds <= Smallest ? 0 : Math.Min(Buckets - 1, (int)(Math.Log(milliseconds / Smallest) / LogGrowth) + 1);

    /// <summary>The upper bound of a bucket in milliseconds.</summary>
    public static double UpperBound(int bucket) => Smallest * Math.Pow(1.1, bucket);

    /// <summary>Counts one latency.</summary>
    public static void Record(long[] histogram, double milliseconds) => histogram[BucketOf(milliseconds)]++;

    /// <summary>The latency below which <paramref name="quantile"/> of the counts fall (upper bucket bound, within 10%).</summary>
    public static double Quantile(long[] histogram, double quantile)
    {
        var total = histogram.Sum();
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < histogram.Length; i++)
        {
            seen += histogram[i];
            if (seen >= rank)
            {
                return UpperBound(i);
            }
        }

        return UpperBound(histogram.Length - 1);
    }
}
