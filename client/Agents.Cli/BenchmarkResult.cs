using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agents.Cli;

/// <summary>The benchmark result schema of the design (camelCase JSON).</summary>
public sealed record BenchmarkResult(
    string Mode,
    string TaskType,
    int Tasks,
    int Nodes,
    string Distribution,
    DateTimeOffset StartedAt,
    double DurationSeconds,
    double ThroughputPerSecond,
    LatencyMs LatencyMs,
    int Errors,
    IReadOnlyList<NodeFigures> PerNode,
    MemoryFigures Memory,
    MachineInfo Machine,
    IReadOnlyDictionary<string, string> Config,
    JobResultSummary? Job = null,
    double? RecallAtK = null,
    int? K = null,
    ClusterMetricsView? Metrics = null)
{
    /// <summary>Cores each started silo was capped at (<c>--cpu-limit</c>); null when uncapped or when no silos were started.</summary>
    public double? CpuLimit { get; init; }

    /// <summary>The silo processes the benchmark started, with their CPU seconds over the measured run; null when it started none.</summary>
    public IReadOnlyList<SiloFigures>? Silos { get; init; }

    /// <summary>The started silos' CPU seconds over the measured run, summed.</summary>
    public double? CpuSecondsTotal { get; init; }

    /// <summary>CPU seconds of the benchmark's own process (the client: generating, storing and following) over the measured run.</summary>
    public double? ClientCpuSeconds { get; init; }

    /// <summary><see cref="CpuSecondsTotal"/> divided by the tasks counted.</summary>
    public double? CpuSecondsPerTask { get; init; }

    /// <summary>
    /// Seconds the bare text pipeline takes per document of this run, on one thread of the benchmark's own process (a
    /// sample of the run's documents, measured before the run): the floor a silo's CPU per task is held against.
    /// </summary>
    public double? RawPipelineSecondsPerTask { get; init; }

    /// <summary><see cref="CpuSecondsPerTask"/> ÷ <see cref="RawPipelineSecondsPerTask"/>: what a task costs a silo beyond its processing.</summary>
    public double? CpuOverRawPipeline { get; init; }

    /// <summary>
    /// Throughput ÷ (nodes × the throughput of the one-silo run of the same invocation); null when the invocation ran no
    /// one-silo count.
    /// </summary>
    public double? Efficiency { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A file with a figure missing or null is not a result (the report would fail on it), rather than one with holes.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Writes the result as JSON, creating the folder if needed.</summary>
    public async Task WriteAsync(string path)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        await File.WriteAllTextAsync(path, ToJson());
    }

    /// <summary>The JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a result written by <see cref="WriteAsync"/>.</summary>
    public static BenchmarkResult? Parse(string json) => JsonSerializer.Deserialize<BenchmarkResult>(json, Json);
}

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record LatencyMs(double P50, double P95, double P99, double Max);

/// <summary>What one node did; <paramref name="CpuSeconds"/> is its process's CPU over the run when the benchmark started it.</summary>
public sealed record NodeFigures(string Silo, int Tasks, double ThroughputPerSecond, double? CpuSeconds = null);

/// <summary>A silo process the benchmark started: its ports, its CPU seconds (user + system) over the measured run, its CPU cgroup if capped.</summary>
public sealed record SiloFigures(int Pid, int SiloPort, int GatewayPort, double CpuSeconds, string? Cgroup = null);

/// <summary>Memory figures.</summary>
public sealed record MemoryFigures(long PeakWorkingSetBytes, double? BytesPerVector = null);

/// <summary>Where the benchmark ran.</summary>
public sealed record MachineInfo(int Cores, string Os, string Runtime)
{
    /// <summary>This machine.</summary>
    public static MachineInfo Current() => new(
        Environment.ProcessorCount, System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription);
}

/// <summary>The job's own counts, so a reader can check every task was counted once.</summary>
public sealed record JobResultSummary(
    Guid JobId, int Succeeded, int Failed, int Batches, int RedispatchedBatches, long Tokens, long Chunks, long Sentences,
    long Words, IReadOnlyList<string> TopKeywords, long TaskIdChecksum, long Embeddings = 0, double EmbeddingsPerSecond = 0);
