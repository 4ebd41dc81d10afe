using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>
/// Ctrl-C and SIGTERM sent to the real command while it works: it stops promptly with 130 / 143 and leaves no silo
/// process behind. The command's own bound is 2 s; the tests allow 3 s for a machine busy with other tests.
/// </summary>
[Collection(nameof(ProcessWide))] // timed: alone, not beside other tests
public sealed class SignalTests
{
    private const int SigInt = 2;
    private const int SigTerm = 15;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(3);

    [Theory]
    [InlineData(SigInt, 130)]
    [InlineData(SigTerm, 143)]
    public async Task StatsWatchStopsOnASignal(int signal, int expectedExit)
    {
        await using var command = Signalled.Start(["stats", "--watch"]);
        await command.WaitForOutputAsync(_ => true, TimeSpan.FromSeconds(60));

        var (exit, elapsed) = await command.SignalAsync(signal);

        Assert.True(exit == expectedExit, $"exit {exit}: {command.Output}");
        Assert.True(elapsed < Bound, $"stopped {elapsed.TotalSeconds:F2} s after the signal");
    }

    [Theory]
    [InlineData(SigInt, 130)]
    [InlineData(SigTerm, 143)]
    public async Task ALongClusterBenchmarkStopsAndTakesItsSilosWithIt(int signal, int expectedExit)
    {
        await using var command = Signalled.Start(["benchmark", "--mode", "cluster", "--nodes", "2", "--tasks", "2000000", "--warmup", "0"]);
        // Both silos are up; the signal comes while the run prepares or runs its job.
        await command.WaitForOutputAsync(line => line.Contains("silo 2/2", StringComparison.Ordinal), TimeSpan.FromSeconds(120));
        await Task.Delay(TimeSpan.FromSeconds(3));
        var silos = command.DescendantSilos();
        Assert.Equal(2, silos.Count);

        var (exit, elapsed) = await command.SignalAsync(signal);

        Assert.True(exit == expectedExit, $"exit {exit}: {command.Output}");
        Assert.True(elapsed < Bound, $"stopped {elapsed.TotalSeconds:F2} s after the signal");
        await AssertGoneAsync(silos);
    }

    [Fact]
    public async Task ASilosOwnerKilledOutrightStillTakesItsSilosWithIt()
    {
        await using var command = Signalled.Start(["benchmark", "--mode", "cluster", "--nodes", "2", "--tasks", "2000000", "--warmup", "0"]);
        await command.WaitForOutputAsync(line => line.Contains("silo 2/2", StringComparison.Ordinal), TimeSpan.FromSeconds(120));
        var silos = command.DescendantSilos();
        Assert.Equal(2, silos.Count);

        var (exit, _) = await command.SignalAsync(9);

        Assert.Equal(137, exit);
        await AssertGoneAsync(silos);
    }

    [Fact]
    public async Task IngestStopsOnSigtermAndCancelsItsJob()
    {
        var folder = Directory.CreateTempSubdirectory("signal-ingest-").FullName;
        var text = string.Join(' ', Enumerable.Repeat("Grains answer requests while silos come and go in the cluster.", 40));
        for (var i = 0; i < 3000; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(folder, $"doc-{i:D4}.txt"), $"Document {i}. {text}");
        }

        var data = Directory.CreateTempSubdirectory("signal-ingest-data-").FullName;
        await using var command = Signalled.Start(["ingest", "notes", "--input", folder, "--data-dir", data]);
        // The job runs once its progress shows; embedding 3,000 documents takes far longer than the wait.
        await command.WaitForOutputAsync(line => line.Contains('/', StringComparison.Ordinal), TimeSpan.FromSeconds(120));
        await Task.Delay(TimeSpan.FromSeconds(1));

        var (exit, elapsed) = await command.SignalAsync(SigTerm);

        Assert.True(exit == 143, $"exit {exit}: {command.Output}");
        Assert.True(elapsed < Bound, $"stopped {elapsed.TotalSeconds:F2} s after the signal");
        Assert.Contains("cancelled", command.Output, StringComparison.Ordinal);
    }

    private static async Task AssertGoneAsync(IReadOnlyList<int> pids)
    {
        // Killed silos are reaped by init a moment later; a zombie is gone for this purpose.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (pids.Any(IsAlive) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(!pids.Any(IsAlive), $"silo process(es) {string.Join(", ", pids.Where(IsAlive))} outlived the command");
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>The command as a terminal runs it: SIGINT at its default (a test host may have inherited it ignored).</summary>
    private sealed class Signalled : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = [];
        private readonly Lock _gate = new();

        private Signalled(Process process) => _process = process;

        public string Output
        {
            get
            {
                lock (_gate)
                {
                    return string.Join('\n', _lines);
                }
            }
        }

        public static Signalled Start(IEnumerable<string> arguments)
        {
            // A background job's SIGINT is ignored, and .NET then leaves it so: perl resets it and execs the command.
            var start = new ProcessStartInfo("perl")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            foreach (var a in (string[])["-e", "$SIG{INT} = 'DEFAULT'; exec @ARGV or die $!", "dotnet", Path.Combine(AppContext.BaseDirectory, "p2p-ai-agents.dll"), .. arguments])
            {
                start.ArgumentList.Add(a);
            }

            var command = new Signalled(Process.Start(start)!);
            command._process.OutputDataReceived += (_, e) => command.Add(e.Data);
            command._process.ErrorDataReceived += (_, e) => command.Add(e.Data);
            command._process.BeginOutputReadLine();
            command._process.BeginErrorReadLine();
            return command;
        }

        public async Task WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                lock (_gate)
                {
                    if (_lines.Any(match))
                    {
                        return;
                    }
                }

                if (_process.HasExited)
                {
                    Assert.Fail($"the command exited ({_process.ExitCode}) first: {Output}");
                }

                Assert.True(DateTime.UtcNow < deadline, $"no expected output within {timeout.TotalSeconds} s: {Output}");
                await Task.Delay(100);
            }
        }

        /// <summary>The silo processes this command started (its children running Agents.Silo).</summary>
        public IReadOnlyList<int> DescendantSilos() =>
            Directory.GetDirectories("/proc")
                .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                .Where(pid => pid > 0 && ParentOf(pid) == _process.Id && CommandLineOf(pid).Contains("Agents.Silo.dll", StringComparison.Ordinal))
                .ToList();

        public async Task<(int Exit, TimeSpan Elapsed)> SignalAsync(int signal)
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal(0, Kill(_process.Id, signal));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _process.WaitForExitAsync(timeout.Token);
            return (_process.ExitCode, clock.Elapsed);
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

        private void Add(string? line)
        {
            if (line is not null)
            {
                lock (_gate)
                {
                    _lines.Add(line);
                }
            }
        }

        private static int ParentOf(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                return 0;
            }
        }

        private static string CommandLineOf(int pid)
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            }
            catch (IOException)
            {
                return "";
            }
        }
    }
}
