using System.Diagnostics.Metrics;

namespace Agents.Engine;

/// <summary>
/// The product's meter, <c>Agents</c>: what the silo did, recorded where it happens. OpenTelemetry and the
/// <see cref="NodeMetricsPublisher"/> both read it.
/// </summary>
public static class AgentsMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "Agents";

    private static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>Tasks a worker finished (succeeded or failed), tagged <c>task_type</c> and <c>outcome</c>.</summary>
    public static readonly Counter<long> TasksProcessed = Meter.CreateCounter<long>("tasks_processed", "{task}", "Tasks a worker finished.");

    /// <summary>Processing time per task.</summary>
    public static readonly Histogram<double> TaskDuration = Meter.CreateHistogram("task_duration", "s", "Processing time of one task.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });

    /// <summary>Tasks being processed now.</summary>
    public static readonly UpDownCounter<long> ActiveTasks = Meter.CreateUpDownCounter<long>("active_tasks", "{task}", "Tasks being processed now.");

    /// <summary>Points written to vector shards (acknowledged upserts).</summary>
    public static readonly Counter<long> VectorsStored = Meter.CreateCounter<long>("vectors_stored", "{vector}", "Points upserted into shards.");

    /// <summary>Searches answered by shards.</summary>
    public static readonly Counter<long> Searches = Meter.CreateCounter<long>("searches", "{search}", "Shard searches answered.");

    /// <summary>Agent messages delivered.</summary>
    public static readonly Counter<long> Messages = Meter.CreateCounter<long>("messages", "{message}", "Agent messages delivered.");

    /// <summary>Texts embedded by the model.</summary>
    public static readonly Counter<long> Embeddings = Meter.CreateCounter<long>("embeddings", "{embedding}", "Texts embedded.");

    private static double _cpuPercent;

    /// <summary>The process's CPU use over the last metrics interval, % of all cores (set by <see cref="NodeMetricsPublisher"/>).</summary>
    public static readonly ObservableGauge<double> CpuPercent = Meter.CreateObservableGauge(
        "node_cpu_percent", () => Volatile.Read(ref _cpuPercent), description: "CPU use of the silo process over the last metrics interval, % of all cores.");

    /// <summary>The process's resident memory.</summary>
    public static readonly ObservableGauge<long> WorkingSet = Meter.CreateObservableGauge(
        "node_working_set_bytes", () => Environment.WorkingSet, description: "Resident memory of the silo process, bytes.");

    /// <summary>The managed heap after the last collection.</summary>
    public static readonly ObservableGauge<long> GcHeap = Meter.CreateObservableGauge(
        "node_gc_heap_bytes", () => GC.GetGCMemoryInfo().HeapSizeBytes, description: "Managed heap size at the last garbage collection, bytes.");

    /// <summary>Work items waiting for a thread-pool thread: above zero for long, the silo is saturated.</summary>
    public static readonly ObservableGauge<long> ThreadPoolQueue = Meter.CreateObservableGauge(
        "node_threadpool_queue_length", () => ThreadPool.PendingWorkItemCount, description: "Work items waiting for a thread-pool thread.");

    /// <summary>Records the CPU use the publisher measured, for <see cref="CpuPercent"/>.</summary>
    public static void ReportCpu(double percent) => Volatile.Write(ref _cpuPercent, percent);
}
