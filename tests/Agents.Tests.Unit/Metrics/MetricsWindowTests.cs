using Agents.GrainInterfaces;
using Agents.Grains.Jobs;
using Agents.Grains.Metrics;

namespace Agents.Tests.Metrics;

/// <summary>The aggregator's figures over a window: rates and percentiles cover the last window, not the whole history.</summary>
public sealed class MetricsWindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// A node sampled every 5 s for a minute: idle for 50 s (its tasks then took 100 ms), then 1,000 tasks/s for the
    /// last 10 s (taking 1 ms each), as after a short benchmark.
    /// </summary>
    private static List<NodeMetrics> BurstAtTheEnd()
    {
        var samples = new List<NodeMetrics>();
        long tasks = 0;
        for (var second = 0; second <= 60; second += 5)
        {
            var latency = new LatencyHistogram();
            var burst = second > 50;
            var done = burst ? 5_000 : 1;
            for (var i = 0; i < done; i++)
            {
                latency.Record(burst ? 1.0 : 100.0);
            }

            tasks += second == 0 ? 0 : done;
            samples.Add(new NodeMetrics(
                "silo-a", Start.AddSeconds(second), tasks, 0, 0, 0, 0, 0, 0, 0, 0.5, 1 << 20, 1 << 20, 0, 0, 4, 0,
                second == 0 ? null : latency.Encode()));
        }

        return samples;
    }

    [Fact]
    public void RatesCoverTheLastWindowOnly()
    {
        var samples = BurstAtTheEnd();

        var (tenSeconds, _) = MetricsAggregatorGrain.View(samples, TimeSpan.FromSeconds(10));
        var (minute, _) = MetricsAggregatorGrain.View(samples, TimeSpan.FromSeconds(60));

        Assert.Equal(10, tenSeconds.Seconds, 3);
        Assert.Equal(1000, tenSeconds.TasksPerSecond, 3);
        Assert.Equal(60, minute.Seconds, 3);
        Assert.Equal((10_000 + 10) / 60.0, minute.TasksPerSecond, 3);
    }

    [Fact]
    public void PercentilesCoverTheIntervalsInTheWindow()
    {
        var samples = BurstAtTheEnd();

        var (tenSeconds, latency) = MetricsAggregatorGrain.View(samples, TimeSpan.FromSeconds(10));
        var (minute, _) = MetricsAggregatorGrain.View(samples, TimeSpan.FromSeconds(60));

        Assert.Equal(10_000, latency.Count);
        Assert.Equal(1.0, tenSeconds.TaskP99Milliseconds, 3);
        Assert.Equal(1.0, minute.TaskP50Milliseconds, 3);
        Assert.Equal(1.0, minute.TaskP99Milliseconds, 3);
        Assert.Equal(100.0, MetricsAggregatorGrain.View(samples[..11], TimeSpan.FromSeconds(20)).View.TaskP99Milliseconds, 1);
    }

    [Fact]
    public void AWindowLongerThanTheHistoryUsesAllOfIt()
    {
        var samples = BurstAtTheEnd()[^3..];

        var (view, _) = MetricsAggregatorGrain.View(samples, TimeSpan.FromMinutes(5));

        Assert.Equal(10, view.Seconds, 3);
        Assert.Equal(1000, view.TasksPerSecond, 3);
    }

    [Fact]
    public void OneSampleHasNoRateButItsLatencies()
    {
        var (view, latency) = MetricsAggregatorGrain.View(BurstAtTheEnd()[^1..], TimeSpan.FromSeconds(10));

        Assert.Equal(0, view.TasksPerSecond);
        Assert.Equal(5_000, latency.Count);
    }

    [Theory]
    [InlineData(0.5, 5)]
    [InlineData(10, 10)]
    [InlineData(3600, 600)]
    public void TheWindowIsAtLeastAnIntervalAndAtMostTheLongestKept(double asked, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), MetricsAggregatorGrain.Clamp(TimeSpan.FromSeconds(asked), TimeSpan.FromSeconds(5)));
}
