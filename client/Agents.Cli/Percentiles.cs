using Agents.Grains.Jobs;

namespace Agents.Cli;

/// <summary>The benchmark's latency figures: p50 ≤ p95 ≤ p99 ≤ max, from every latency measured or from an HDR histogram.</summary>
public static class Percentiles
{
    /// <summary>Nearest-rank percentiles of <paramref name="milliseconds"/> (sorted in place): exact, each one a measured latency.</summary>
    public static LatencyMs Exact(double[] milliseconds)
    {
        ArgumentNullException.ThrowIfNull(milliseconds);
        if (milliseconds.Length == 0)
        {
            return new LatencyMs(0, 0, 0, 0);
        }

        Array.Sort(milliseconds);
        double At(double q) => milliseconds[Math.Clamp((int)Math.Ceiling(q * milliseconds.Length) - 1, 0, milliseconds.Length - 1)];
        return new LatencyMs(At(0.50), At(0.95), At(0.99), milliseconds[^1]);
    }

    /// <summary>The percentiles of <paramref name="histogram"/> (within its 0.1%) and its exact maximum.</summary>
    public static LatencyMs Of(LatencyHistogram histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        return new LatencyMs(histogram.Quantile(0.50), histogram.Quantile(0.95), histogram.Quantile(0.99), histogram.MaxMilliseconds);
    }
}
