using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Agents.Cli;

/// <summary>
/// Real silo processes for <c>benchmark --mode cluster --nodes N</c>: <c>Agents.Silo</c> from beside this command,
/// joined through the cluster's PostgreSQL, each on free ports of its own, optionally pinned to one core
/// (<c>taskset</c>), and stopped (then killed if they linger) when the run ends.
/// </summary>
public sealed class SiloLauncher : IAsyncDisposable
{
    private readonly List<(Process Process, int Instance)> _silos = [];

    /// <summary>The processes' ids.</summary>
    public IReadOnlyList<int> ProcessIds => _silos.Select(s => s.Process.Id).ToList();

    /// <summary>Starts <paramref name="count"/> silos on <paramref name="cluster"/> (the first applies the schema).</summary>
    public static async Task<SiloLauncher> StartAsync(string cluster, int count, bool pin, Action<string> say, CancellationToken ct)
    {
        var silo = Path.Combine(AppContext.BaseDirectory, "Agents.Silo.dll");
        if (!File.Exists(silo))
        {
            throw new FileNotFoundException($"'{silo}' is missing: benchmark --nodes starts silo processes from beside this command.");
        }

        if (pin && !File.Exists("/usr/bin/taskset"))
        {
            throw new ArgumentException("--pin needs taskset (util-linux) to set each silo's CPU affinity.");
        }

        var launcher = new SiloLauncher();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var instance = FreeInstance();
                var start = new ProcessStartInfo(pin ? "/usr/bin/taskset" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
                if (pin)
                {
                    start.ArgumentList.Add("-c");
                    start.ArgumentList.Add((i % Environment.ProcessorCount).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    start.ArgumentList.Add("dotnet");
                }

                foreach (var a in new[] { silo, "--instance", instance.ToString(System.Globalization.CultureInfo.InvariantCulture), "--metrics-port", "0", "--dashboard-port", "0",
                             "--data-dir", Path.Combine(Path.GetTempPath(), $"agents-bench-silo-{instance}") }.Concat(i == 0 ? ["--init-schema"] : []))
                {
                    start.ArgumentList.Add(a);
                }

                // The connection string goes by environment, never on a command line others can read.
                start.Environment["P2P_CLUSTER"] = cluster;

                // Samples every second, so the result's per-node view is fresh when a short run ends.
                start.Environment["P2P_METRICS_INTERVAL"] = "1s";
                var process = Process.Start(start)!;
                process.OutputDataReceived += (_, _) => { };
                process.ErrorDataReceived += (_, _) => { };
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                launcher._silos.Add((process, instance));
                say($"silo {i + 1}/{count}: pid {process.Id}, instance {instance}{(pin ? $", pinned to core {i % Environment.ProcessorCount}" : "")}");

                // One at a time: the first creates the schema the others join through.
                await WaitListeningAsync(process, 30000 + instance, ct);
            }

            return launcher;
        }
        catch
        {
            await launcher.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops every silo: SIGTERM-like close first (a clean leave), SIGKILL after 20 seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var (process, _) in _silos)
        {
            if (!process.HasExited)
            {
                // .NET has no SIGTERM for a child; `kill` sends it so the silo leaves the cluster cleanly.
                using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]));
                await term!.WaitForExitAsync();
            }
        }

        foreach (var (process, _) in _silos)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        _silos.Clear();
    }

    private static async Task WaitListeningAsync(Process process, int gatewayPort, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"A silo process exited with code {process.ExitCode} before it listened on port {gatewayPort}.");
            }

            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, gatewayPort, ct);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, ct);
            }
        }
    }

    /// <summary>An instance number (100..998) whose silo and gateway ports are both free now.</summary>
    public static int FreeInstance()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var instance = Random.Shared.Next(100, 999);
            if (IsFree(11111 + instance) && IsFree(30000 + instance))
            {
                return instance;
            }
        }

        throw new InvalidOperationException("No free pair of silo and gateway ports was found.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
