using Agents.Engine;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace Agents.Grains.Metrics;

/// <summary>
/// The cluster's metrics view. The implicit subscriber of the <c>node-metrics</c> stream: keeps each node's samples
/// of the last <see cref="Window"/> (rates are differences of running totals over it) and forgets a node whose last
/// sample is older than three <c>metrics_interval</c>s (a stopped or dead silo).
/// </summary>
[ImplicitStreamSubscription(NodeMetricsPublisher.StreamNamespace)]
public sealed class MetricsAggregatorGrain(PerformanceSettings performance) : Grain, IMetricsAggregatorGrain, IStreamSubscriptionObserver
{
    private readonly Dictionary<string, Queue<NodeMetrics>> _nodes = new(StringComparer.Ordinal);

    /// <summary>How far back rates look: ten samples.</summary>
    private TimeSpan Window => performance.MetricsInterval * 10;

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
        while (samples.Count > 1 && sample.At - samples.Peek().At > Window)
        {
            samples.Dequeue();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<ClusterMetricsView> GetViewAsync()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var stale in _nodes.Where(n => now - n.Value.Last().At > StaleAfter).Select(n => n.Key).ToList())
        {
            _nodes.Remove(stale);
        }

        var views = _nodes.OrderBy(n => n.Key, StringComparer.Ordinal).Select(n => View(n.Value)).ToList();
        var all = Merge(_nodes.Values.SelectMany(q => q));
        return Task.FromResult(new ClusterMetricsView(
            now, Window, views,
            views.Sum(v => v.TasksPerSecond), views.Sum(v => v.EmbeddingsPerSecond), views.Sum(v => v.SearchesPerSecond), views.Sum(v => v.MessagesPerSecond),
            views.Sum(v => v.Last.TasksProcessed), views.Sum(v => v.Last.VectorsStored), views.Sum(v => v.Last.WorkingSetBytes),
            Jobs.LatencyHistogram.Quantile(all, 0.50), Jobs.LatencyHistogram.Quantile(all, 0.95), Jobs.LatencyHistogram.Quantile(all, 0.99)));
    }

    private static NodeView View(Queue<NodeMetrics> samples)
    {
        var first = samples.Peek();
        var last = samples.Last();
        var seconds = (last.At - first.At).TotalSeconds;
        double Rate(long a, long b) => seconds > 0 ? Math.Max(0, b - a) / seconds : 0;
        var tasks = last.TasksProcessed - first.TasksProcessed;
        var latency = Merge(samples);
        return new NodeView(
            last,
            Rate(first.TasksProcessed, last.TasksProcessed),
            Rate(first.Embeddings, last.Embeddings),
            Rate(first.Searches, last.Searches),
            Rate(first.Messages, last.Messages),
            tasks > 0 ? (last.TaskMillisecondsSum - first.TaskMillisecondsSum) / tasks : 0,
            Jobs.LatencyHistogram.Quantile(latency, 0.50), Jobs.LatencyHistogram.Quantile(latency, 0.95), Jobs.LatencyHistogram.Quantile(latency, 0.99));
    }

    /// <summary>The task-latency counts of all <paramref name="samples"/> added up.</summary>
    private static long[] Merge(IEnumerable<NodeMetrics> samples)
    {
        var merged = Jobs.LatencyHistogram.Create();
        foreach (var histogram in samples.Select(s => s.TaskLatencyHistogram).OfType<long[]>())
        {
            for (var i = 0; i < Math.Min(histogram.Length, merged.Length); i++)
            {
                merged[i] += histogram[i];
            }
        }

        return merged;
    }
}
