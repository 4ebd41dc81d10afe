using System.Diagnostics;
using System.Diagnostics.Metrics;
using Agents.Engine;
using Microsoft.Extensions.Hosting;
using Orleans.Streams;

namespace Agents.Grains.Metrics;

/// <summary>
/// In every silo: keeps running totals of the <c>Agents</c> meter (through a <see cref="MeterListener"/>), samples the
/// process (CPU, working set, GC, thread pool) every <c>metrics_interval</c>, and publishes a <see cref="NodeMetrics"/>
/// on the <c>node-metrics</c> stream, which the <see cref="IMetricsAggregatorGrain"/> receives.
/// </summary>
public sealed partial class NodeMetricsPublisher(
    IClusterClient cluster, ILocalSiloDetails silo, PerformanceSettings performance, ILogger<NodeMetricsPublisher> logger) : BackgroundService
{
    /// <summary>The stream namespace of the samples.</summary>
    public const string StreamNamespace = "node-metrics";

    private readonly MeterListener _listener = new();
    private long _tasks;
    private long _failed;
    private double _taskMilliseconds;
    private long _active;
    private long _vectors;
    private long _searches;
    private long _messages;
    private long _embeddings;
    private readonly Lock _latencyLock = new();
    private Jobs.LatencyHistogram _latency = new();

    /// <summary>The stream every silo publishes to (one stream; the aggregator is its implicit subscriber).</summary>
    public static StreamId Stream => StreamId.Create(StreamNamespace, 0L);

    /// <summary>The latest totals, as they would be published now, with the task latencies counted since the last sample.</summary>
    public NodeMetrics Sample(double cpuRatio)
    {
        Jobs.LatencyHistogram latency;
        lock (_latencyLock)
        {
            (latency, _latency) = (_latency, new Jobs.LatencyHistogram());
        }

        return new(
            silo.SiloAddress.ToParsableString(), DateTimeOffset.UtcNow,
            Interlocked.Read(ref _tasks), Interlocked.Read(ref _failed), Volatile.Read(ref _taskMilliseconds), Interlocked.Read(ref _active),
            Interlocked.Read(ref _vectors), Interlocked.Read(ref _searches), Interlocked.Read(ref _messages), Interlocked.Read(ref _embeddings),
            cpuRatio, Environment.WorkingSet, GC.GetGCMemoryInfo().HeapSizeBytes, GC.CollectionCount(0), GC.CollectionCount(2),
            ThreadPool.ThreadCount, ThreadPool.PendingWorkItemCount, latency.Count > 0 ? latency.Encode() : null);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Listen();
        var stream = cluster.GetStreamProvider(Messaging.AgentGrain.StreamProvider).GetStream<NodeMetrics>(Stream);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        using var timer = new PeriodicTimer(performance.MetricsInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = Process.GetCurrentProcess().TotalProcessorTime;
                var ratio = Math.Clamp((now - cpu).TotalSeconds / Math.Max(1e-9, clock.Elapsed.TotalSeconds) / Environment.ProcessorCount, 0, 1);
                cpu = now;
                clock.Restart();
                AgentsMetrics.ReportCpu(ratio);
                try
                {
                    await stream.OnNextAsync(Sample(ratio));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A sample lost while the cluster reconfigures is replaced by the next one.
                    LogPublishFailed(logger, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
    }

    private void Listen()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == AgentsMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument == AgentsMetrics.TasksProcessed)
            {
                Interlocked.Add(ref _tasks, value);
                foreach (var tag in tags)
                {
                    if (tag is { Key: "outcome", Value: "failed" })
                    {
                        Interlocked.Add(ref _failed, value);
                    }
                }
            }
            else if (instrument == AgentsMetrics.ActiveTasks)
            {
                Interlocked.Add(ref _active, value);
            }
            else if (instrument == AgentsMetrics.VectorsStored)
            {
                Interlocked.Add(ref _vectors, value);
            }
            else if (instrument == AgentsMetrics.Searches)
            {
                Interlocked.Add(ref _searches, value);
            }
            else if (instrument == AgentsMetrics.Messages)
            {
                Interlocked.Add(ref _messages, value);
            }
            else if (instrument == AgentsMetrics.Embeddings)
            {
                Interlocked.Add(ref _embeddings, value);
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) =>
        {
            if (instrument == AgentsMetrics.TaskDuration)
            {
                double seen, next;
                do
                {
                    seen = Volatile.Read(ref _taskMilliseconds);
                    next = seen + (value * 1000);
                }
                while (Interlocked.CompareExchange(ref _taskMilliseconds, next, seen) != seen);

                lock (_latencyLock)
                {
                    _latency.Record(value * 1000);
                }
            }
        });
        _listener.Start();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A node-metrics sample was not published: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string reason);
}
