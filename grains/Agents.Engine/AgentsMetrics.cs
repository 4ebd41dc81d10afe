using System.Diagnostics.Metrics;

namespace Agents.Engine;

/// <summary>
/// The product's meter, <c>Agents</c>: what the silo did, recorded where it happens. OpenTelemetry and the
/// <see cref="NodeMetricsPublisher"/> both read it. Instruments are named <c>agents.*</c> (OpenTelemetry's dotted style);
/// Prometheus sees them as <c>agents_*</c> with the unit's suffix (<c>agents_tasks_processed_total</c>,
/// <c>agents_task_duration_seconds</c>, <c>agents_node_cpu_ratio</c>, <c>agents_node_working_set_bytes</c>).
/// </summary>
public static class AgentsMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Agents";

    private static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>Tasks a worker finished (succeeded or failed), tagged <c>task_type</c> and <c>outcome</c>.</summary>
    public static readonly Counter<long> TasksProcessed = Meter.CreateCounter<long>("agents.tasks.processed", "{task}", "Tasks a worker finished.");

    /// <summary>Processing time per task.</summary>
    public static readonly Histogram<double> TaskDuration = Meter.CreateHistogram("agents.task.duration", "s", "Processing time of one task.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });

    /// <summary>Tasks being processed now.</summary>
    public static readonly UpDownCounter<long> ActiveTasks = Meter.CreateUpDownCounter<long>("agents.tasks.active", "{task}", "Tasks being processed now.");

    /// <summary>Points written to vector shards (acknowledged upserts).</summary>
    public static readonly Counter<long> VectorsStored = Meter.CreateCounter<long>("agents.vectors.stored", "{vector}", "Points upserted into shards.");

    /// <summary>Searches answered by shards.</summary>
    public static readonly Counter<long> Searches = Meter.CreateCounter<long>("agents.searches", "{search}", "Shard searches answered.");

    /// <summary>Agent messages delivered.</summary>
    public static readonly Counter<long> Messages = Meter.CreateCounter<long>("agents.messages", "{message}", "Agent messages delivered.");

    /// <summary>Texts embedded by the model.</summary>
    public static readonly Counter<long> Embeddings = Meter.CreateCounter<long>("agents.embeddings", "{embedding}", "Texts embedded.");

    private static double _cpuRatio;

    /// <summary>
    /// The process's CPU use over the last metrics interval as a ratio of all cores, 0..1 (set by <see cref="NodeMetricsPublisher"/>;
    /// Prometheus: <c>agents_node_cpu_ratio</c>, apart from node_exporter's <c>node_*</c>).
    /// </summary>
    public static readonly ObservableGauge<double> CpuRatio = Meter.CreateObservableGauge(
        "agents.node.cpu.ratio", () => Volatile.Read(ref _cpuRatio), unit: "1", description: "CPU use of the silo process over the last metrics interval, ratio of all cores (0-1).");

    /// <summary>The process's resident memory.</summary>
    public static readonly ObservableGauge<long> WorkingSet = Meter.CreateObservableGauge(
        "agents.node.working_set", () => Environment.WorkingSet, unit: "By", description: "Resident memory of the silo process, bytes.");

    /// <summary>The managed heap after the last collection.</summary>
    public static readonly ObservableGauge<long> GcHeap = Meter.CreateObservableGauge(
        "agents.node.gc_heap", () => GC.GetGCMemoryInfo().HeapSizeBytes, unit: "By", description: "Managed heap size at the last garbage collection, bytes.");

    /// <summary>Work items waiting for a thread-pool thread: above zero for long, the silo is saturated.</summary>
    public static readonly ObservableGauge<long> ThreadPoolQueue = Meter.CreateObservableGauge(
        "agents.node.threadpool.queue_length", () => ThreadPool.PendingWorkItemCount, unit: "{work_item}", description: "Work items waiting for a thread-pool thread.");

    /// <summary>Records the CPU use the publisher measured (0..1), for <see cref="CpuRatio"/>.</summary>
    public static void ReportCpu(double ratio) => Volatile.Write(ref _cpuRatio, ratio);
}
