using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Agents.Cli;

/// <summary>
/// Real silo processes for <c>benchmark --mode cluster --nodes N</c>: <c>Agents.Silo</c> from beside this command, each
/// on free ports of its own, joined through the cluster's PostgreSQL when one is given, else forming a development
/// cluster of their own (the first is the primary; memory grain storage; one shared data folder for vector files).
/// Each is optionally pinned to one core (<c>taskset</c>) and capped at a CPU budget (<see cref="CpuCgroup"/>), and all
/// are stopped (then killed if they linger) when the run ends, their cgroups and the run's data folder removed.
/// They never outlive this command: whatever still runs when it exits is killed, and each silo is started with a
/// parent-death signal (<c>setpriv --pdeathsig KILL</c>), so a command killed outright takes its silos with it.
/// </summary>
public sealed class SiloLauncher : IAsyncDisposable
{
    // Group names stay unique across the node counts of one invocation.
    private static int _groups;

    // Every silo started and not yet stopped, killed when this process exits (Ctrl-C ends a command after 2 s).
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    // The parent-death signal fires when the thread that forked the child ends, not the process: silos are forked
    // from one thread that lives as long as this process.
    private static readonly BlockingCollection<(ProcessStartInfo Start, TaskCompletionSource<Process> Started)> Forks = StartForkThread();

    private readonly List<StartedSilo> _silos = [];
    private readonly string _dataDirectory;

    // Cancelled when the command is stopped (Ctrl-C, SIGTERM): the silos then get one second to leave, not twenty.
    private readonly CancellationToken _stopping;

    private SiloLauncher(string dataDirectory, CancellationToken stopping) => (_dataDirectory, _stopping) = (dataDirectory, stopping);

    /// <summary>What to start.</summary>
    /// <param name="Count">How many silos.</param>
    /// <param name="Cluster">The PostgreSQL connection string to join through; null forms a development cluster.</param>
    /// <param name="Pin">Pin silo i to core i mod cores.</param>
    /// <param name="CpuLimit">Cores each silo may use (its own CPU cgroup); null: uncapped.</param>
    public sealed record Options(int Count, string? Cluster, bool Pin, double? CpuLimit);

    /// <summary>One started silo.</summary>
    /// <param name="Process">The silo process (its pid is the silo's, also when started through a shell or taskset).</param>
    /// <param name="Instance">The <c>--instance</c> whose ports it listens on.</param>
    /// <param name="Cgroup">Its CPU cgroup, when capped.</param>
    public sealed record StartedSilo(Process Process, int Instance, CpuCgroup? Cgroup)
    {
        /// <summary>The silo-to-silo port.</summary>
        public int SiloPort => HostSettings.SiloPortBase + Instance;

        /// <summary>The client gateway port.</summary>
        public int GatewayPort => HostSettings.GatewayPortBase + Instance;
    }

    /// <summary>The started silos, the first being the primary (or the one that applied the schema).</summary>
    public IReadOnlyList<StartedSilo> Silos => _silos;

    /// <summary>The processes' ids.</summary>
    public IReadOnlyList<int> ProcessIds => _silos.Select(s => s.Process.Id).ToList();

    /// <summary>Every silo's gateway as <c>host:port</c>, for a client of a development cluster.</summary>
    public IReadOnlyList<string> Gateways => _silos.Select(s => $"127.0.0.1:{s.GatewayPort}").ToList();

    /// <summary>Starts the silos: the first alone (it holds the membership table or applies the schema), then the rest together.</summary>
    public static async Task<SiloLauncher> StartAsync(Options options, Action<string> say, CancellationToken cancellationToken)
    {
        var silo = Path.Combine(AppContext.BaseDirectory, "Agents.Silo.dll");
        if (!File.Exists(silo))
        {
            throw new FileNotFoundException($"'{silo}' is missing: benchmark --nodes starts silo processes from beside this command.");
        }

        if (options.Pin && !File.Exists("/usr/bin/taskset"))
        {
            throw new ArgumentException("--pin needs taskset (util-linux) to set each silo's CPU affinity.");
        }

        var launcher = new SiloLauncher(Directory.CreateTempSubdirectory("agents-bench-").FullName, cancellationToken);
        try
        {
            var primary = launcher.Start(silo, 0, options, primary: null, say);
            await WaitListeningAsync(primary.Process, primary.GatewayPort, cancellationToken);
            var rest = Enumerable.Range(1, options.Count - 1).Select(i => launcher.Start(silo, i, options, primary.SiloPort, say)).ToList();
            await Task.WhenAll(rest.Select(s => WaitListeningAsync(s.Process, s.GatewayPort, cancellationToken)));
            foreach (var s in launcher._silos.Where(s => s.Cgroup is { } g && !g.Contains(s.Process.Id)))
            {
                throw new InvalidOperationException($"--cpu-limit: silo pid {s.Process.Id} is not in its cgroup '{s.Cgroup!.Path}'.");
            }

            return launcher;
        }
        catch
        {
            await launcher.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Each silo's CPU time so far (user + system, seconds) from <c>/proc/PID/stat</c>; a silo that has exited counts
    /// as null.
    /// </summary>
    public IReadOnlyList<double?> CpuSeconds() => _silos.Select(s => ProcessCpuSeconds(s.Process.Id)).ToList();

    /// <summary>User plus system CPU seconds of process <paramref name="pid"/>, or null when it is gone.</summary>
    public static double? ProcessCpuSeconds(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }

        // The command name may hold spaces and parentheses; the fields that follow start after its last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // utime and stime (fields 14 and 15) are in USER_HZ ticks, 100 a second on Linux.
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
    }

    /// <summary>
    /// Stops every silo: SIGTERM first (a clean leave), SIGKILL after 20 seconds (1 second when the command was stopped);
    /// then removes the cgroups and the data folder.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        // The secondaries first, so the primary of a development cluster sees them leave.
        foreach (var s in Enumerable.Reverse(_silos).Where(s => !s.Process.HasExited))
        {
            // .NET has no SIGTERM for a child; `kill` sends it so the silo leaves the cluster cleanly.
            using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", s.Process.Id.ToString(CultureInfo.InvariantCulture)]));
            await term!.WaitForExitAsync();
        }

        var lingering = new List<string>();
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(_stopping.IsCancellationRequested ? 1 : 20));
        foreach (var (process, _, cgroup) in _silos)
        {
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            Running.TryRemove(process.Id, out _);
            process.Dispose();
            if (cgroup is not null && !cgroup.Remove())
            {
                lingering.Add(cgroup.Path);
            }
        }

        _silos.Clear();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is not worth failing a finished run for.
        }

        if (lingering.Count > 0)
        {
            await Console.Error.WriteLineAsync($"warning: cgroup(s) not removed: {string.Join(", ", lingering)}");
        }
    }

    private StartedSilo Start(string silo, int index, Options options, int? primary, Action<string> say)
    {
        var instance = HostSettings.FreeInstance(_silos.Select(s => s.Instance));
        var arguments = new List<string>
        {
            silo, "--instance", instance.ToString(CultureInfo.InvariantCulture), "--metrics-port", "0", "--dashboard-port", "0",
            // A development cluster's silos share one folder, so a vector shard that moves between them finds its files.
            "--data-dir", options.Cluster is null ? _dataDirectory : Path.Combine(_dataDirectory, $"silo-{instance}"),
        };
        if (options.Cluster is not null && index == 0)
        {
            arguments.Add("--init-schema");
        }

        if (options.Cluster is null && primary is { } port)
        {
            arguments.AddRange(["--primary", $"127.0.0.1:{port}"]);
        }

        var (file, args) = ("dotnet", (IReadOnlyList<string>)arguments);
        var core = index % Environment.ProcessorCount;
        if (options.Pin)
        {
            (file, args) = ("/usr/bin/taskset", ["-c", core.ToString(CultureInfo.InvariantCulture), file, .. args]);
        }

        CpuCgroup? cgroup = null;
        if (options.CpuLimit is { } cores)
        {
            cgroup = CpuCgroup.Create($"agents-bench-{Environment.ProcessId}-{Interlocked.Increment(ref _groups)}", cores);
            (file, args) = cgroup.Wrap(file, args);
        }

        if (File.Exists(SetPriv))
        {
            (file, args) = (SetPriv, ["--pdeathsig", "KILL", "--", file, .. args]);
        }

        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        // A development cluster is this launcher's alone: nothing inherited may point a silo elsewhere.
        foreach (var variable in new[] { "P2P_CLUSTER", "P2P_PRIMARY", "P2P_GATEWAYS", "P2P_INIT_SCHEMA" })
        {
            start.Environment.Remove(variable);
        }

        if (options.Cluster is not null)
        {
            // The connection string goes by environment, never on a command line others can read.
            start.Environment["P2P_CLUSTER"] = options.Cluster;
        }

        // Samples every second, so the result's per-node view is fresh when a short run ends.
        start.Environment["P2P_METRICS_INTERVAL"] = "1s";
        Process process;
        try
        {
            process = Fork(start);
        }
        catch
        {
            cgroup?.Remove();
            throw;
        }

        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = new StartedSilo(process, instance, cgroup);
        _silos.Add(started);
        say($"silo {index + 1}/{options.Count}: pid {process.Id}, instance {instance} (silo port {started.SiloPort}, gateway port {started.GatewayPort})" +
            (options.Cluster is null ? index == 0 ? ", primary" : $", joins primary 127.0.0.1:{primary}" : "") +
            (options.Pin ? $", pinned to core {core}" : "") +
            (cgroup is null ? "" : $", cpu cgroup {cgroup.Path} capped at {cgroup.Cores.ToString(CultureInfo.InvariantCulture)} cores"));
        return started;
    }

    private const string SetPriv = "/usr/bin/setpriv";

    private static Process Fork(ProcessStartInfo start)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Forks.Add((start, started));
        var process = started.Task.GetAwaiter().GetResult();
        Running[process.Id] = process;
        return process;
    }

    private static BlockingCollection<(ProcessStartInfo, TaskCompletionSource<Process>)> StartForkThread()
    {
        var forks = new BlockingCollection<(ProcessStartInfo, TaskCompletionSource<Process>)>();
        new Thread(() =>
        {
            foreach (var (start, started) in forks.GetConsumingEnumerable())
            {
                try
                {
                    started.SetResult(Process.Start(start)!);
                }
                catch (Exception e)
                {
                    started.SetException(e);
                }
            }
        })
        { IsBackground = true, Name = "silo launcher" }.Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Running.Values)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }
            }
        };
        return forks;
    }

    private static async Task WaitListeningAsync(Process process, int gatewayPort, CancellationToken cancellationToken)
    {
        // Capped silos start slowly (the JIT runs on a fraction of a core): allow them two minutes.
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"A silo process exited with code {process.ExitCode} before it listened on port {gatewayPort}.");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, gatewayPort, cancellationToken);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, cancellationToken);
            }
        }
    }

}
