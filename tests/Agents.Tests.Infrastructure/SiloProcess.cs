using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Agents.Tests.Infrastructure;

/// <summary>A real <c>Agents.Silo</c> process, started from the test's output folder and killed or stopped by the test.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private SiloProcess(Process process, int instance)
    {
        _process = process;
        Instance = instance;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Instance { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output => string.Join('\n', _output);

    /// <summary>Starts a silo; <paramref name="environment"/> adds variables to its environment.</summary>
    public static SiloProcess Start(string[] arguments, int instance, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Agents.Silo.dll"));
        // No Prometheus endpoint unless a test asks for one: silos of parallel tests must not race for ports.
        var metrics = arguments.Contains("--metrics-port") ? [] : new[] { "--metrics-port", "0" };
        var dashboard = arguments.Contains("--dashboard-port") ? [] : new[] { "--dashboard-port", "0" };
        foreach (var a in arguments.Concat(metrics).Concat(dashboard).Concat(["--instance", instance.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            start.ArgumentList.Add(a);
        }

        // Failure detection is the silo's own default: the failover tests prove what a user gets.
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        return new SiloProcess(Process.Start(start)!, instance);
    }

    /// <summary>An instance number whose silo and gateway ports are both free now (the command's own choice).</summary>
    public static int FreeInstance() => HostSettings.FreeInstance();

    /// <summary>SIGKILL: the process dies without a word to the cluster.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>SIGTERM: the host's graceful shutdown, as from <c>docker stop</c> or a Kubernetes pod deletion.</summary>
    public void Terminate()
    {
        if (Kill(_process.Id, 15) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 400 && _output.TryDequeue(out _))
        {
        }
    }
}
