using System.Text.Json;
using Agents.Cli;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>The soak command, run short on its embedded silo: every kind of load runs, with no errors, and memory is sampled.</summary>
public sealed class SoakTests
{
    [Fact]
    public async Task AShortSoakRunsEveryKindOfLoadWithoutErrors()
    {
        var output = Path.Combine(Path.GetTempPath(), $"soak-{Guid.NewGuid():N}", "soak.json");
        var run = await CliProcess.RunAsync(
            ["soak", "--duration", "15s", "--output", output],
            new Dictionary<string, string> { ["P2P_DATA_DIR"] = Path.Combine(Path.GetTempPath(), $"soak-data-{Guid.NewGuid():N}") },
            timeout: TimeSpan.FromMinutes(3));

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        Assert.Contains("errors 0", run.Stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        var root = json.RootElement;
        Assert.Equal(0, root.GetProperty("errors").GetInt64());
        foreach (var kind in new[] { "jobs", "upserts", "searches", "messages" })
        {
            Assert.True(root.GetProperty("operations").GetProperty(kind).GetInt64() > 0, kind);
        }

        var samples = root.GetProperty("samples");
        Assert.True(samples.GetArrayLength() >= 5, $"{samples.GetArrayLength()} samples");
        Assert.All(samples.EnumerateArray(), s => Assert.True(s.GetProperty("rssMb").GetDouble() > 50));
        // 15 s is inside the warm-up: no slope is given rather than one of the start-up's growth.
        Assert.Equal(JsonValueKind.Null, root.GetProperty("rssSlopeMbPerMinute").ValueKind);
        Assert.Contains("no slope", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadDurationIsRefusedBeforeAnythingStarts()
    {
        var run = await CliProcess.RunAsync(["soak", "--duration", "forever"]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--duration: 'forever'", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void TheSlopeIsTheLeastSquaresFit()
    {
        Assert.Equal(2.0, Soak.Slope([(0, 1), (1, 3), (2, 5)]), 9);
        Assert.Equal(0.0, Soak.Slope([(0, 7), (1, 7), (2, 7)]), 9);
        Assert.Equal(0.0, Soak.Slope([(1, 7)]));
    }

    [Fact]
    public void ASlopeIsGivenOnlyForSamplesAfterTheWarmUp()
    {
        var warmUp = Soak.WarmUp(TimeSpan.FromSeconds(10));
        Assert.Equal(Soak.MinimumWarmUp, warmUp);
        Assert.Equal(TimeSpan.FromMinutes(12), Soak.WarmUp(TimeSpan.FromHours(1)));
        var early = Enumerable.Range(1, 10).Select(i => new Soak.Sample(i, 100 + i, 50, i)).ToList();
        Assert.Null(Soak.SteadySlope(early, warmUp, s => s.RssMb));
        // 10 MB per minute after the warm-up, whatever came before it.
        var late = early.Concat(Enumerable.Range(0, 5).Select(i => new Soak.Sample(180 + 60 * i, 500 + 10 * i, 50, i))).ToList();
        Assert.Equal(10.0, Soak.SteadySlope(late, warmUp, s => s.RssMb)!.Value, 6);
    }
}
