using Agents.Grains.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Agents.Tests.Metrics;

/// <summary>The HDR latency histogram against exact percentiles of known distributions, merged, encoded and stored.</summary>
public sealed class LatencyHistogramTests
{
    /// <summary>The histogram's resolution: 0.1% of a value, or a microsecond, whichever is larger (with rounding to whole µs).</summary>
    private static double Tolerance(double milliseconds) => Math.Max(milliseconds * 0.001, 0.001) + 0.0005;

    /// <summary>The nearest-rank percentile of <paramref name="sorted"/>: the value below which <paramref name="q"/> of them fall.</summary>
    private static double Exact(double[] sorted, double q) => sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Length) - 1)];

    private static LatencyHistogram Of(IEnumerable<double> milliseconds)
    {
        var histogram = new LatencyHistogram();
        foreach (var ms in milliseconds)
        {
            histogram.Record(ms);
        }

        return histogram;
    }

    [Fact]
    public void UniformOneToTenThousandMicrosecondsHasItsTruePercentiles()
    {
        var histogram = Of(Enumerable.Range(1, 10_000).Select(us => us / 1000.0));

        Assert.Equal(10_000, histogram.Count);
        Assert.Equal(10.0, histogram.MaxMilliseconds);
        Assert.InRange(histogram.Quantile(0.50), 5.000, 5.000 + Tolerance(5.000));
        Assert.InRange(histogram.Quantile(0.95), 9.500, 9.500 + Tolerance(9.500));
        Assert.InRange(histogram.Quantile(0.99), 9.900, 9.900 + Tolerance(9.900));
        Assert.True(histogram.Quantile(0.99) <= histogram.MaxMilliseconds);
        Assert.Equal(10.0, histogram.Quantile(1.0));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 7)]
    [InlineData(4, 100)]
    [InlineData(5, 20_000)]
    public void PercentilesMatchTheExactOnesAndNeverPassTheMaximum(int seed, int count)
    {
        // Log-normal around 0.2 ms with a long tail, as task latencies are.
        var random = new Random(seed);
        var values = Enumerable.Range(0, count)
            .Select(_ => Math.Exp(Math.Log(0.2) + (0.8 * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))))
            .ToArray();
        var histogram = Of(values);
        Array.Sort(values);

        foreach (var q in new[] { 0.5, 0.95, 0.99 })
        {
            var exact = Exact(values, q);
            Assert.InRange(histogram.Quantile(q), exact - Tolerance(exact), exact + Tolerance(exact));
        }

        Assert.True(histogram.Quantile(0.50) <= histogram.Quantile(0.95), "p50 > p95");
        Assert.True(histogram.Quantile(0.95) <= histogram.Quantile(0.99), "p95 > p99");
        Assert.True(histogram.Quantile(0.99) <= values[^1], $"p99 {histogram.Quantile(0.99)} > max {values[^1]}");
        Assert.Equal(values[^1], histogram.MaxMilliseconds);
    }

    [Fact]
    public void ATailInOneBucketStillHasP99AtMostTheMaximum()
    {
        // The old 10%-wide buckets reported p99 24.413 ms beside a maximum of 24.109 ms.
        var histogram = Of([.. Enumerable.Repeat(0.2, 98), 24.100, 24.109]);

        Assert.InRange(histogram.Quantile(0.99), 24.100 - Tolerance(24.1), 24.109);
        Assert.Equal(24.109, histogram.MaxMilliseconds);
    }

    [Fact]
    public void MediansACoupleOfPercentApartAreToldApart()
    {
        // Both fell in one 10% bucket of the old histogram and were reported as its edge.
        var a = Of(Enumerable.Range(0, 1001).Select(i => 0.2003 + (i - 500) * 0.00001));
        var b = Of(Enumerable.Range(0, 1001).Select(i => 0.2100 + (i - 500) * 0.00001));

        Assert.InRange(a.Quantile(0.5), 0.2003 - Tolerance(0.2), 0.2003 + Tolerance(0.2));
        Assert.InRange(b.Quantile(0.5), 0.2100 - Tolerance(0.21), 0.2100 + Tolerance(0.21));
        Assert.True(b.Quantile(0.5) - a.Quantile(0.5) > 0.008);
    }

    [Fact]
    public void TwoSilosHistogramsMergedGiveTheSamePercentilesAsOne()
    {
        var random = new Random(7);
        var values = Enumerable.Range(0, 50_000).Select(_ => 0.05 + (random.NextDouble() * random.NextDouble() * 40)).ToArray();
        var one = Of(values);
        var silos = new[] { new LatencyHistogram(), new LatencyHistogram() };
        foreach (var ms in values)
        {
            silos[random.Next(2)].Record(ms);
        }

        // As the aggregator does: each silo's interval arrives encoded, and the decoded ones are added.
        var merged = new LatencyHistogram();
        foreach (var silo in silos)
        {
            merged.Add(LatencyHistogram.Decode(silo.Encode()));
        }

        Assert.Equal(one.Count, merged.Count);
        Assert.Equal(one.MaxMilliseconds, merged.MaxMilliseconds);
        foreach (var q in new[] { 0.0, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0 })
        {
            Assert.Equal(one.Quantile(q), merged.Quantile(q));
        }
    }

    [Fact]
    public void AJobsHistogramStaysSmallEncoded()
    {
        // A job's state carries it on every write: 100,000 task latencies from 20 µs to seconds encode to a few KB.
        var random = new Random(11);
        var histogram = Of(Enumerable.Range(0, 100_000).Select(_ => Math.Exp(Math.Log(0.2) + (2 * ((random.NextDouble() * 2) - 1)) + (random.NextDouble() < 0.01 ? 5 : 0))));
        var encoded = histogram.Encode();

        Assert.InRange(encoded.Length, 9, 16 * 1024);
        Assert.Equal(histogram.Quantile(0.99), LatencyHistogram.Decode(encoded).Quantile(0.99));
    }

    [Fact]
    public void AnEmptyHistogramReportsZeroAndSurvivesEncoding()
    {
        var empty = LatencyHistogram.Decode(new LatencyHistogram().Encode());

        Assert.Equal(0, empty.Count);
        Assert.Equal(0.0, empty.Quantile(0.99));
        Assert.Equal(0.0, empty.MaxMilliseconds);
    }

    [Fact]
    public void AJobStateKeepsItsHistogramThroughOrleansSerialization()
    {
        using var services = new ServiceCollection()
            .AddSerializer(s => s.AddAssembly(typeof(JobGrainState).Assembly).AddAssembly(typeof(Agents.GrainInterfaces.JobSpec).Assembly))
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var state = new JobGrainState();
        foreach (var us in Enumerable.Range(1, 1000))
        {
            state.Latency.Record(us / 100.0);
        }

        var copy = serializer.Deserialize<JobGrainState>(serializer.SerializeToArray(state))!;

        Assert.Equal(1000, copy.Latency.Count);
        Assert.Equal(state.Latency.MaxMilliseconds, copy.Latency.MaxMilliseconds);
        Assert.Equal(state.Latency.Quantile(0.5), copy.Latency.Quantile(0.5));
        Assert.Equal(state.Latency.Quantile(0.99), copy.Latency.Quantile(0.99));
    }
}
