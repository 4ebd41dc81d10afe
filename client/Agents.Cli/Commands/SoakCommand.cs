using System.CommandLine;
using System.Text.Json;

namespace Agents.Cli;

/// <summary><c>soak</c>: steady mixed load for a set time; the load and its measurement are <see cref="Soak"/>.</summary>
internal static class SoakCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var duration = new Option<string>("--duration") { Description = "How long to run (e.g. 30s, 10m).", DefaultValueFactory = _ => "10m" };
        var nodes = new Option<int>("--nodes") { Description = "With --cluster: start this many silo processes here for the run.", DefaultValueFactory = _ => 0 };
        var output = new Option<string?>("--output") { Description = "Write the result JSON here." };
        var command = new Command("soak", "Steady mixed load for a set time; reports operations/s, errors and the slope of silo memory.") { duration, nodes, output };
        // Embedded, its collection is dropped at the end, so where the embedded silo keeps collections does not matter.
        command.AddConnection(dataDir: false).AddJson().WithExamples(
            "p2p-ai-agents soak --duration 30s",
            "P2P_CLUSTER=\"Host=db;Username=agents;Password=...\" p2p-ai-agents soak --duration 10m --nodes 2 --output results/soak.json");
        command.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var length = ValueParsers.TryParseDuration(parse.GetValue(duration), out var d) && d > TimeSpan.Zero
                ? d
                : throw new ArgumentException($"--duration: '{parse.GetValue(duration)}' is not a positive duration such as 30s or 10m.");
            var connection = GlobalOptions.Connection(parse);
            var count = parse.GetValue(nodes);
            if (count < 0 || (count > 0 && connection.PostgreSql is null))
            {
                throw new ArgumentException("--nodes starts silo processes, which needs --cluster \"<postgres connection string>\" and a count of at least 1.");
            }

            FullyOptimisedRun.Ensure();
            var quiet = parse.GetValue(GlobalOptions.Json);
            await using var launcher = count > 0 ? await SiloLauncher.StartAsync(new(count, connection.PostgreSql!, Pin: false, CpuLimit: null), line => ProgressReporter.Say(line, quiet), cancellationToken) : null;
            await using var client = await ProgressReporter.ConnectAsync(connection, quiet, cancellationToken);
            // Embedded, the silo is this process; with --nodes, the started ones; otherwise the aggregator's figures.
            IReadOnlyList<int>? pids = launcher is not null ? launcher.ProcessIds : connection.IsEmbedded ? [Environment.ProcessId] : null;
            var result = await Soak.RunAsync(client, length, Math.Max(count, 1), pids, line => ProgressReporter.Say(line, quiet), cancellationToken);
            var text = JsonSerializer.Serialize(result, GlobalOptions.JsonOutput);
            if (parse.GetValue(output) is { } path)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                await File.WriteAllTextAsync(path, text, cancellationToken);
            }

            if (quiet)
            {
                Console.WriteLine(text);
            }
            else
            {
                Console.WriteLine($"soak {result.Seconds:F0} s on {result.Nodes} node(s): {string.Join(", ", result.OperationsPerSecond.Select(o => $"{o.Key} {o.Value:F1}/s"))}");
                var slope = result.RssSlopeMbPerMinute is { } rss
                    ? $"slope after the {ProgressReporter.FormatDuration(TimeSpan.FromSeconds(result.WarmUpSeconds))} warm-up {rss:F2} MB/min (managed heap {result.GcHeapSlopeMbPerMinute:F2} MB/min)"
                    : $"no slope: the run is not longer than its {ProgressReporter.FormatDuration(TimeSpan.FromSeconds(result.WarmUpSeconds))} warm-up";
                Console.WriteLine($"errors {result.Errors}; silo memory {result.RssStartMb:F0} -> {result.RssEndMb:F0} MB, {slope}; the collection's vectors and graph {result.CollectionStartMb:F0} -> {result.CollectionEndMb:F0} MB");
            }

            return result.Errors == 0 ? 0 : 1;
        }));
        return command;
    }
}
