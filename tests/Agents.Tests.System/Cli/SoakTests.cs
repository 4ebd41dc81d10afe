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
        Assert.True(double.IsFinite(root.GetProperty("rssSlopeMbPerMinute").GetDouble()));
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
}
