namespace Agents.GrainInterfaces;

/// <summary>
/// One silo's figures at one moment, published on the <c>node-metrics</c> stream: running totals of the product's
/// meter (<c>Agents</c>) and the process's state. Rates are computed by the aggregator from consecutive samples.
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
    double CpuPercent,
    long WorkingSetBytes,
    long GcHeapBytes,
    int Gen0Collections,
    int Gen2Collections,
    int ThreadPoolThreads,
    long ThreadPoolQueueLength,
    long[]? TaskLatencyHistogram = null);

/// <summary>A node as the aggregator sees it: its last sample, its rates and its task-latency percentiles over the window.</summary>
[GenerateSerializer, Immutable]
public sealed record NodeView(
    NodeMetrics Last, double TasksPerSecond, double EmbeddingsPerSecond, double SearchesPerSecond, double MessagesPerSecond, double MeanTaskMilliseconds,
    double TaskP50Milliseconds = 0, double TaskP95Milliseconds = 0, double TaskP99Milliseconds = 0);

/// <summary>The cluster as the aggregator sees it: live nodes and their sums.</summary>
[GenerateSerializer, Immutable]
public sealed record ClusterMetricsView(
    DateTimeOffset At, TimeSpan Window, IReadOnlyList<NodeView> Nodes, double TasksPerSecond, double EmbeddingsPerSecond,
    double SearchesPerSecond, double MessagesPerSecond, long TasksProcessed, long VectorsStored, long WorkingSetBytes,
    double TaskP50Milliseconds = 0, double TaskP95Milliseconds = 0, double TaskP99Milliseconds = 0);

/// <summary>
/// The cluster's metrics (key 0): subscribes to every silo's <c>node-metrics</c> samples, keeps a window of them per
/// node, and forgets a node that stops reporting.
/// </summary>
public interface IMetricsAggregatorGrain : IGrainWithIntegerKey
{
    /// <summary>Per-node and cluster figures over the last window.</summary>
    Task<ClusterMetricsView> GetViewAsync();

    /// <summary>Takes a sample (the stream delivers them; callable directly too).</summary>
    Task ReportAsync(NodeMetrics sample);
}
