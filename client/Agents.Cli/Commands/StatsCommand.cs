using System.CommandLine;

namespace Agents.Cli;

/// <summary><c>stats</c>: per-node and cluster metrics from the aggregator grain, once or refreshed.</summary>
internal static class StatsCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var watch = new Option<bool>("--watch") { Description = "Refresh every 2 seconds until interrupted." };
        var command = new Command("stats", "Per-node and cluster metrics from the aggregator grain.") { watch };
        command.AddConnection(dataDir: false).AddJson().WithExamples(
            "p2p-ai-agents stats --gateway 127.0.0.1:30000",
            "p2p-ai-agents stats --watch --cluster \"$P2P_CLUSTER\"",
            "p2p-ai-agents stats --json --gateway 127.0.0.1:30000");
        command.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            var json = parse.GetValue(GlobalOptions.Json);
            if (!parse.GetValue(watch))
            {
                StatsView.Print(await client.GetMetricsAsync(cancellationToken), json);
                return 0;
            }

            while (!cancellationToken.IsCancellationRequested)
            {
                if (!json && ProgressReporter.IsInteractive)
                {
                    Spectre.Console.AnsiConsole.Clear();
                }

                StatsView.Print(await client.GetMetricsAsync(cancellationToken), json);
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
}
