using System.Diagnostics;

namespace Agents.Cli;

/// <summary>
/// The CPU seconds of the silos a benchmark started, and of the benchmark's own process, over one measured phase:
/// read as the phase starts and as it ends, so warm-up, loading and building are not counted.
/// </summary>
public sealed class CpuWindow(SiloLauncher? launcher)
{
    private IReadOnlyList<double?>? _silosBefore;
    private TimeSpan _clientBefore;

    /// <summary>Each started silo's CPU seconds over the phase; null when no silos were started or the phase has not ended.</summary>
    public List<SiloFigures>? Silos { get; private set; }

    /// <summary>The benchmark process's CPU seconds over the phase; null when no silos were started or the phase has not ended.</summary>
    public double? ClientCpuSeconds { get; private set; }

    /// <summary><see cref="Silos"/>' CPU seconds summed.</summary>
    public double? Total => Silos?.Sum(s => s.CpuSeconds);

    /// <summary>Cores each started silo was capped at; null when uncapped or when none were started.</summary>
    public double? CpuLimit => launcher?.Silos.FirstOrDefault()?.Cgroup?.Cores;

    /// <summary>Takes the readings at the start of the phase.</summary>
    public void Start()
    {
        _silosBefore = launcher?.CpuSeconds();
        _clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
    }

    /// <summary>Takes the readings at the end of the phase.</summary>
    public void Stop()
    {
        if (launcher is null || _silosBefore is null)
        {
            return;
        }

        var after = launcher.CpuSeconds();
        // A silo gone by the second reading counts what it had.
        Silos = launcher.Silos.Select((s, i) => new SiloFigures(
            s.Process.Id, s.SiloPort, s.GatewayPort, Math.Round(Math.Max(0, (after[i] ?? _silosBefore[i] ?? 0) - (_silosBefore[i] ?? 0)), 3), s.Cgroup?.Path,
            SiloFigures.PeakWorkingSetOf(s.Process.Id))).ToList();
        ClientCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - _clientBefore).TotalSeconds;
    }

    /// <summary>The result with this window's figures: cap, silos, their total, the client's CPU and the total per operation.</summary>
    public BenchmarkResult Apply(BenchmarkResult report, int operations) => report with
    {
        CpuLimit = CpuLimit,
        Silos = Silos,
        CpuSecondsTotal = Total,
        ClientCpuSeconds = Silos is null ? null : ClientCpuSeconds,
        CpuSecondsPerTask = Total / Math.Max(1, operations),
    };
}

/// <summary>
/// The one-silo rates of a benchmark invocation, per measured figure, that the runs at more silos are held against.
/// </summary>
public sealed class ScaleReference
{
    private readonly Dictionary<string, double> _oneSilo = [];

    /// <summary>
    /// Efficiency of <paramref name="rate"/> at <paramref name="silos"/> silos: 1.0 for the one-silo run of started silos
    /// (which becomes the reference), rate ÷ (silos × the one-silo rate) after it, null without one.
    /// </summary>
    public double? Efficiency(string figure, int? expected, bool startedSilos, int silos, double rate)
    {
        if (expected == 1 && startedSilos)
        {
            _oneSilo[figure] = rate;
            return 1.0;
        }

        return _oneSilo.TryGetValue(figure, out var one) && one > 0 ? rate / (silos * one) : null;
    }
}
