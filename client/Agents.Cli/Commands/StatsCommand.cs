using System.CommandLine;

namespace Agents.Cli;

/// <summary><c>stats</c>: per-node and cluster metrics from the aggregator grain, once or refreshed.</summary>
internal static class StatsCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var watch = new Option<bool>("--watch") { Description = "Refresh every 2 seconds until interrupted." };
        var window = new Option<string>("--window")
        {
            Description = $"Rates and latency percentiles over the last DURATION (e.g. 10s, 1m; at most {MetricsWindow.Longest.TotalMinutes:0}m, at least the silos' metrics_interval).",
            DefaultValueFactory = _ => $"{MetricsWindow.Default.TotalSeconds:0}s",
            HelpName = "DURATION",
        };
        var command = new Command("stats", "Per-node and cluster metrics from the aggregator grain.") { watch, window };
        command.AddConnection(dataDir: false).AddJson().WithExamples(
            "p2p-ai-agents stats --gateway 127.0.0.1:30000",
            "p2p-ai-agents stats --watch --window 30s --cluster \"$P2P_CLUSTER\"",
            "p2p-ai-agents stats --json --gateway 127.0.0.1:30000");
        command.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var span = Window(parse.GetValue(window));
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            var json = parse.GetValue(GlobalOptions.Json);
            if (!parse.GetValue(watch))
            {
                StatsView.Print(await client.GetMetricsAsync(span, cancellationToken), json);
                return 0;
            }

            while (!cancellationToken.IsCancellationRequested)
            {
                if (!json && ProgressReporter.IsInteractive)
                {
                    Spectre.Console.AnsiConsole.Clear();
                }

                StatsView.Print(await client.GetMetricsAsync(span, cancellationToken), json);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return 0;
        }));
        return command;
    }

    /// <summary>The <c>--window</c> given: a positive duration no longer than the aggregator keeps.</summary>
    private static TimeSpan Window(string? text) =>
        ValueParsers.TryParseDuration(text, out var span) && span > TimeSpan.Zero && span <= MetricsWindow.Longest
            ? span
            : throw new ArgumentException($"--window: '{text}' is not a positive duration of at most {MetricsWindow.Longest.TotalMinutes:0}m, such as 10s or 1m.");
}
