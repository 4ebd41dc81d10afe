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

    /// <summary>The source commit of the build that ran (or of <c>P2P_COMMIT</c> when set); null when unknown.</summary>
    public string? Commit { get; init; }

    /// <summary>Which of the invocation's repeated runs of this configuration this is (1-based, <c>--repeat</c>); null in older results.</summary>
    public int? Run { get; init; }

    /// <summary>How many runs of this configuration the invocation made (<c>--repeat</c>); null in older results.</summary>
    public int? Runs { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // A file with a figure missing or null is not a result (the report would fail on it), rather than one with holes.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
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

/// <summary>
/// A silo process the benchmark started: its ports, its CPU seconds (user + system) over the measured run, its CPU cgroup
/// if capped, and its peak working set (resident memory, from its start to the end of the run; null in older results).
/// </summary>
public sealed record SiloFigures(int Pid, int SiloPort, int GatewayPort, double CpuSeconds, string? Cgroup = null, long? PeakWorkingSetBytes = null)
{
    /// <summary>The peak resident set of process <paramref name="pid"/> (<c>VmHWM</c> of <c>/proc/PID/status</c>), or null when it is gone.</summary>
    public static long? PeakWorkingSetOf(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            // "VmHWM:    123456 kB"
            return line is null ? null : long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>Memory figures.</summary>
public sealed record MemoryFigures(long PeakWorkingSetBytes, double? BytesPerVector = null);

/// <summary>Where the benchmark ran.</summary>
public sealed record MachineInfo(int Cores, string Os, string Runtime)
{
    /// <summary>The host's name; null in older results.</summary>
    public string? Host { get; init; }

    /// <summary>The processor's model name (<c>/proc/cpuinfo</c>); null when unknown or in older results.</summary>
    public string? Cpu { get; init; }

    /// <summary>This machine.</summary>
    public static MachineInfo Current() => new(
        Environment.ProcessorCount, System.Runtime.InteropServices.RuntimeInformation.OSDescription,
        System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription)
    {
        Host = Environment.MachineName,
        Cpu = CpuModel(),
    };

    /// <summary>One line: host, cores, processor, OS and runtime, with what is known.</summary>
    public string Describe() => string.Join(", ", new[] { Host, $"{Cores} cores", Cpu, Os, Runtime }.Where(p => !string.IsNullOrWhiteSpace(p)));

    private static string? CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}

/// <summary>The source commit a result is stamped with.</summary>
public static class SourceCommit
{
    private static readonly Lazy<string?> Value = new(Find);

    /// <summary><c>P2P_COMMIT</c> when set, else the commit the SDK stamped into this build, else <c>git rev-parse HEAD</c> here; null when none answers.</summary>
    public static string? Current => Value.Value;

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("P2P_COMMIT") is { Length: > 0 } given)
        {
            return given;
        }

        // The SDK appends "+<commit>" to the informational version when it builds from a git checkout.
        var version = typeof(SourceCommit).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
        if (version?.Split('+', 2) is [_, { Length: >= 7 } stamped])
        {
            return stamped;
        }

        try
        {
            using var git = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git", ["rev-parse", "HEAD"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            var head = git!.StandardOutput.ReadToEnd().Trim();
            return git.WaitForExit(2000) && git.ExitCode == 0 && head.Length >= 7 ? head : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No git on this machine.
            return null;
        }
    }
}

/// <summary>The job's own counts, so a reader can check every task was counted once.</summary>
public sealed record JobResultSummary(
    Guid JobId, int Succeeded, int Failed, int Batches, int RedispatchedBatches, long Tokens, long Chunks, long Sentences,
    long Words, IReadOnlyList<string> TopKeywords, long TaskIdChecksum, long Embeddings = 0, double EmbeddingsPerSecond = 0);
