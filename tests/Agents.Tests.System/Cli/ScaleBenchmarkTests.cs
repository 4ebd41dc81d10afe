using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Agents.Cli;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>
/// <c>benchmark --mode cluster --nodes N [--cpu-limit C]</c> with no database: the command starts N silo processes that
/// form a development cluster of their own, caps each in a CPU cgroup when asked, records their CPU seconds, and leaves
/// no process, port or cgroup behind.
/// </summary>
public sealed partial class ScaleBenchmarkTests
{
    // Nothing inherited may name a cluster: these runs must form their own.
    private static readonly Dictionary<string, string> NoCluster = new() { ["P2P_CLUSTER"] = "", ["P2P_GATEWAYS"] = "", ["P2P_PRIMARY"] = "" };

    [Fact]
    public async Task ThreeNodesWithoutADatabaseFormTheirOwnClusterAndShareTheJob()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("agents-scale-").FullName, "three.json");

        var outcome = await CliProcess.RunAsync(
            ["benchmark", "--mode", "cluster", "--nodes", "3", "--tasks", "3000", "--warmup", "0", "--output", output], NoCluster, TimeSpan.FromMinutes(3));

        Assert.True(outcome.ExitCode == 0, $"exit {outcome.ExitCode}\n{outcome.Stdout}\n{outcome.Stderr}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var root = json.RootElement;
        Assert.Equal(3, root.GetProperty("nodes").GetInt32());
        var perNode = root.GetProperty("perNode").EnumerateArray().ToList();
        Assert.Equal(3, perNode.Count);
        Assert.Equal(3000, perNode.Sum(n => n.GetProperty("tasks").GetInt32()));
        Assert.All(perNode, n => Assert.True(n.GetProperty("tasks").GetInt32() > 0));
        Assert.All(perNode, n => Assert.True(n.GetProperty("cpuSeconds").GetDouble() > 0));
        var silos = root.GetProperty("silos").EnumerateArray().ToList();
        Assert.Equal(3, silos.Count);
        Assert.All(silos, s => Assert.True(s.GetProperty("cpuSeconds").GetDouble() > 0));
        Assert.Equal(silos.Sum(s => s.GetProperty("cpuSeconds").GetDouble()), root.GetProperty("cpuSecondsTotal").GetDouble(), 3);
        Assert.True(root.GetProperty("cpuSecondsPerTask").GetDouble() > 0);
        // Uncapped, and no one-silo run in this invocation to compare with.
        Assert.False(root.TryGetProperty("cpuLimit", out _));
        Assert.False(root.TryGetProperty("efficiency", out _));
        Assert.Equal(2, Regex.Count(outcome.Stderr, "joins primary 127.0.0.1:"));

        // Every silo it started has exited and its gateway port is free again.
        foreach (var silo in silos)
        {
            Assert.False(IsSilo(silo.GetProperty("pid").GetInt32()), $"silo pid {silo.GetProperty("pid").GetInt32()} still runs");
            using var listener = new TcpListener(IPAddress.Loopback, silo.GetProperty("gatewayPort").GetInt32());
            listener.Start();
        }

        Assert.Equal(3, GatewayPort().Matches(outcome.Stderr).Count);
    }

    [Fact]
    public async Task CpuLimitRunsTheSiloInsideACappedCgroupAndRemovesItAfterwards()
    {
        var (root, unified) = CpuCgroup.FindHierarchy();
        var before = Groups(root);
        var output = Path.Combine(Directory.CreateTempSubdirectory("agents-scale-cap-").FullName, "capped.json");
        var observed = new List<(string Group, string Quota, string Procs)>();
        using var stop = new CancellationTokenSource();
        // Watches the hierarchy while the command runs: the group must exist with the quota and hold the silo.
        var watching = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var group in Groups(root).Except(before))
                {
                    try
                    {
                        var procs = File.ReadAllText(Path.Combine(group, "cgroup.procs")).Trim();
                        if (procs.Length > 0)
                        {
                            observed.Add((group, File.ReadAllText(Path.Combine(group, unified ? "cpu.max" : "cpu.cfs_quota_us")).Trim(), procs));
                        }
                    }
                    catch (IOException)
                    {
                    }
                }

                await Task.Delay(100);
            }
        });

        var outcome = await CliProcess.RunAsync(
            ["benchmark", "--mode", "cluster", "--nodes", "1", "--cpu-limit", "0.5", "--tasks", "500", "--warmup", "0", "--output", output], NoCluster, TimeSpan.FromMinutes(3));
        await stop.CancelAsync();
        await watching;

        Assert.True(outcome.ExitCode == 0, $"exit {outcome.ExitCode}\n{outcome.Stdout}\n{outcome.Stderr}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var result = json.RootElement;
        Assert.Equal(0.5, result.GetProperty("cpuLimit").GetDouble());
        Assert.Equal(1.0, result.GetProperty("efficiency").GetDouble());
        var silo = Assert.Single(result.GetProperty("silos").EnumerateArray().ToList());
        var pid = silo.GetProperty("pid").GetInt32();
        var recorded = silo.GetProperty("cgroup").GetString()!;
        Assert.True(silo.GetProperty("cpuSeconds").GetDouble() > 0);

        // Seen from outside while it ran: the silo itself in the recorded group, at half a core.
        var seen = observed.Where(o => o.Group == recorded).ToList();
        Assert.NotEmpty(seen);
        Assert.All(seen, o => Assert.Equal(pid.ToString(CultureInfo.InvariantCulture), o.Procs));
        Assert.All(seen, o => Assert.Equal(unified ? "50000 100000" : "50000", o.Quota));
        Assert.False(Directory.Exists(recorded), $"{recorded} was not removed");
        Assert.Empty(Groups(root).Except(before));
    }

    [Fact]
    public async Task AMessagingRunRecordsTheCappedSilosCpu()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("agents-scale-msg-").FullName, "messaging.json");

        var outcome = await CliProcess.RunAsync(
            ["benchmark", "--mode", "cluster", "--nodes", "1", "--cpu-limit", "0.5", "--task-type", "messaging", "--tasks", "2000", "--output", output],
            NoCluster, TimeSpan.FromMinutes(3));

        Assert.True(outcome.ExitCode == 0, $"exit {outcome.ExitCode}\n{outcome.Stdout}\n{outcome.Stderr}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var result = json.RootElement;
        Assert.Equal(0.5, result.GetProperty("cpuLimit").GetDouble());
        // The batched phase of 2,000 messages lasts milliseconds, below the 10 ms CPU resolution: it may read 0.
        var silo = Assert.Single(result.GetProperty("silos").EnumerateArray().ToList());
        Assert.True(silo.GetProperty("cpuSeconds").GetDouble() >= 0);
        Assert.Equal(silo.GetProperty("cpuSeconds").GetDouble(), result.GetProperty("cpuSecondsTotal").GetDouble(), 3);
        Assert.True(result.GetProperty("clientCpuSeconds").GetDouble() >= 0);
        Assert.Equal(1.0, result.GetProperty("efficiency").GetDouble());
        // Request/reply, unbatched, lasts long enough for the silo's CPU to register.
        var config = result.GetProperty("config");
        Assert.True(double.Parse(config.GetProperty("requestReplySiloCpuSeconds").GetString()!, CultureInfo.InvariantCulture) > 0);
        Assert.Equal("1.000", config.GetProperty("requestReplyEfficiency").GetString());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("99")]
    [InlineData("abc")]
    public async Task ABadCpuLimitIsBadInput(string limit)
    {
        var outcome = await CliProcess.RunAsync(["benchmark", "--mode", "cluster", "--nodes", "1", "--cpu-limit", limit, "--tasks", "10"], NoCluster);
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains("--cpu-limit", outcome.Stderr, StringComparison.Ordinal);
        // What is wrong, then where to read more: two lines, the first naming the option.
        var lines = outcome.Stderr.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("error: --cpu-limit", lines[0], StringComparison.Ordinal);
        Assert.Contains("--help", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task CpuLimitNeedsSilosThisCommandStartsAndACommandNeverReadsPrimary()
    {
        var gateway = await CliProcess.RunAsync(["benchmark", "--mode", "cluster", "--gateway", "127.0.0.1:1", "--cpu-limit", "0.5", "--tasks", "10"], NoCluster);
        Assert.Equal(2, gateway.ExitCode);
        Assert.Contains("--cpu-limit caps the silos this command starts", gateway.Stderr, StringComparison.Ordinal);

        var primary = await CliProcess.RunAsync(["benchmark", "--tasks", "10"], new Dictionary<string, string> { ["P2P_PRIMARY"] = "127.0.0.1:11111" });
        Assert.Equal(2, primary.ExitCode);
        Assert.Contains("P2P_PRIMARY", primary.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void NoCpuControllerOrAnUnwritableOneIsAClearError()
    {
        var mounts = Path.GetTempFileName();
        try
        {
            File.WriteAllText(mounts, "proc /proc proc rw 0 0\n");
            Assert.Contains("--cpu-limit", Assert.Throws<InvalidOperationException>(() => CpuCgroup.FindHierarchy(mounts)).Message, StringComparison.Ordinal);

            // /proc takes no new directories, root or not.
            File.WriteAllText(mounts, "cgroup /proc cgroup rw,cpu 0 0\n");
            var e = Assert.Throws<InvalidOperationException>(() => CpuCgroup.Create("agents-bench-test", 0.5, mounts));
            Assert.Contains("--cpu-limit: cannot create '/proc/agents-bench-test'", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(mounts);
        }
    }

    private static HashSet<string> Groups(string root) => Directory.EnumerateDirectories(root, "agents-bench-*").ToHashSet();

    private static bool IsSilo(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Contains("Agents.Silo.dll", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"gateway port (\d+)")]
    private static partial Regex GatewayPort();
}
