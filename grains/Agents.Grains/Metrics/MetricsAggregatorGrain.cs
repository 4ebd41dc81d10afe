using Agents.Engine;
using Agents.Grains.Jobs;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Agents.Grains.Metrics;

/// <summary>
/// The cluster's metrics view. The implicit subscriber of the <c>node-metrics</c> stream: keeps each node's samples
/// of the last <see cref="MetricsWindow.Longest"/> (rates over a window are differences of running totals; percentiles
/// merge the HDR histograms of the intervals in it) and forgets a node whose last sample is older than three
/// <c>metrics_interval</c>s (a stopped or dead silo).
/// </summary>
[ImplicitStreamSubscription(NodeMetricsPublisher.StreamNamespace)]
public sealed class MetricsAggregatorGrain(PerformanceSettings performance) : Grain, IMetricsAggregatorGrain, IStreamSubscriptionObserver
{
    private readonly Dictionary<string, Queue<NodeMetrics>> _nodes = new(StringComparer.Ordinal);

    private TimeSpan StaleAfter => performance.MetricsInterval * 3;

    /// <inheritdoc />
    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<NodeMetrics>().ResumeAsync((sample, _) => ReportAsync(sample));

    /// <inheritdoc />
    public Task ReportAsync(NodeMetrics sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        if (!_nodes.TryGetValue(sample.Silo, out var samples))
        {
            _nodes[sample.Silo] = samples = new Queue<NodeMetrics>();
        }

        samples.Enqueue(sample);
        // One sample older than the longest window stays: it is the baseline of a window that long.
        while (samples.Count > 2 && sample.At - samples.ElementAt(1).At >= MetricsWindow.Longest)
        {
            samples.Dequeue();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<ClusterMetricsView> GetViewAsync(TimeSpan window)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var stale in _nodes.Where(n => now - n.Value.Last().At > StaleAfter).Select(n => n.Key).ToList())
        {
            _nodes.Remove(stale);
        }

        window = Clamp(window, performance.MetricsInterval);
        var all = new LatencyHistogram();
        var views = new List<NodeView>();
        foreach (var (_, samples) in _nodes.OrderBy(n => n.Key, StringComparer.Ordinal))
        {
            var (view, latency) = View(samples.ToList(), window);
            views.Add(view);
            all.Add(latency);
        }

        return Task.FromResult(new ClusterMetricsView(
            now, window, views,
            views.Sum(v => v.TasksPerSecond), views.Sum(v => v.EmbeddingsPerSecond), views.Sum(v => v.SearchesPerSecond), views.Sum(v => v.MessagesPerSecond),
            views.Sum(v => v.Last.TasksProcessed), views.Sum(v => v.Last.VectorsStored), views.Sum(v => v.Last.WorkingSetBytes),
            all.Quantile(0.50), all.Quantile(0.95), all.Quantile(0.99)));
    }

    /// <summary><paramref name="window"/> within one metrics interval (a rate needs two samples) and the longest window kept.</summary>
    public static TimeSpan Clamp(TimeSpan window, TimeSpan interval) =>
        window < interval ? interval : window > MetricsWindow.Longest ? MetricsWindow.Longest : window;

    /// <summary>
    /// A node's figures over the last <paramref name="window"/> of its <paramref name="samples"/> (oldest first): rates
    /// from the newest sample and the baseline (the newest one at least a window older, else the oldest kept), and the
    /// task latencies of every interval after the baseline.
    /// </summary>
    public static (NodeView View, LatencyHistogram Latency) View(IReadOnlyList<NodeMetrics> samples, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var last = samples[^1];
        var start = 0;
        for (var i = samples.Count - 1; i >= 0; i--)
        {
            if (last.At - samples[i].At >= window)
            {
                start = i;
                break;
            }
        }

        var first = samples[start];
        var seconds = (last.At - first.At).TotalSeconds;
        double Rate(long a, long b) => seconds > 0 ? Math.Max(0, b - a) / seconds : 0;
        var tasks = last.TasksProcessed - first.TasksProcessed;
        var latency = new LatencyHistogram();
        // The baseline's own histogram is the interval before it; with one sample there is no interval but its own.
        for (var i = samples.Count == 1 ? 0 : start + 1; i < samples.Count; i++)
        {
            if (samples[i].TaskLatencyHistogram is { } encoded)
            {
                latency.Add(LatencyHistogram.Decode(encoded));
            }
        }

        var view = new NodeView(
            last,
            Rate(first.TasksProcessed, last.TasksProcessed),
            Rate(first.Embeddings, last.Embeddings),
            Rate(first.Searches, last.Searches),
            Rate(first.Messages, last.Messages),
            tasks > 0 ? (last.TaskMillisecondsSum - first.TaskMillisecondsSum) / tasks : 0,
            latency.Quantile(0.50), latency.Quantile(0.95), latency.Quantile(0.99), seconds);
        return (view, latency);
    }
}
