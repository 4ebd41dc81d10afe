namespace Agents.GrainInterfaces;

/// <summary>
/// One silo's figures at one moment, published on the <c>node-metrics</c> stream: running totals of the product's
/// meter (<c>Agents</c>) and the process's state. Rates are computed by the aggregator from consecutive samples.
/// <see cref="CpuRatio"/> is the process's CPU time over the last interval ÷ (interval × cores), 0..1;
/// <see cref="TaskLatencyHistogram"/> holds the task latencies of the last interval, encoded (an HDR histogram).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeMetrics(
    string Silo,
    DateTimeOffset At,
    long TasksProcessed,
    long TasksFailed,
    double TaskMillisecondsSum,
    long ActiveTasks,
    long VectorsStored,
    long Searches,
    long Messages,
    long Embeddings,
    double CpuRatio,
    long WorkingSetBytes,
    long GcHeapBytes,
    int Gen0Collections,
    int Gen2Collections,
    int ThreadPoolThreads,
    long ThreadPoolQueueLength,
    byte[]? TaskLatencyHistogram = null);

/// <summary>
/// A node as the aggregator sees it: its last sample, its rates and its task-latency percentiles over the window
/// (<see cref="Seconds"/>: the time its samples in the window actually span).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record NodeView(
    NodeMetrics Last, double TasksPerSecond, double EmbeddingsPerSecond, double SearchesPerSecond, double MessagesPerSecond, double MeanTaskMilliseconds,
    double TaskP50Milliseconds = 0, double TaskP95Milliseconds = 0, double TaskP99Milliseconds = 0, double Seconds = 0);

/// <summary>The cluster as the aggregator sees it: live nodes and their sums; rates and percentiles cover <see cref="Window"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record ClusterMetricsView(
    DateTimeOffset At, TimeSpan Window, IReadOnlyList<NodeView> Nodes, double TasksPerSecond, double EmbeddingsPerSecond,
    double SearchesPerSecond, double MessagesPerSecond, long TasksProcessed, long VectorsStored, long WorkingSetBytes,
    double TaskP50Milliseconds = 0, double TaskP95Milliseconds = 0, double TaskP99Milliseconds = 0);

/// <summary>How far back the aggregator's rates and percentiles look.</summary>
public static class MetricsWindow
{
    /// <summary>The window when none is asked for.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(10);

    /// <summary>The longest window: the aggregator keeps no older samples.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromMinutes(10);
}

/// <summary>
/// The cluster's metrics (key 0): subscribes to every silo's <c>node-metrics</c> samples, keeps up to
/// <see cref="MetricsWindow.Longest"/> of them per node, and forgets a node that stops reporting.
/// </summary>
public interface IMetricsAggregatorGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Per-node and cluster rates and task-latency percentiles over the last <paramref name="window"/> (at least one
    /// metrics interval, at most <see cref="MetricsWindow.Longest"/>).
    /// </summary>
    Task<ClusterMetricsView> GetViewAsync(TimeSpan window);

    /// <summary>Takes a sample (the stream delivers them; callable directly too).</summary>
    Task ReportAsync(NodeMetrics sample);
}
