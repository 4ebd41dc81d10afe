using System.Text.Json;
using Spectre.Console;

namespace Agents.Cli;

/// <summary>Renders the aggregator's view: a table per node and a total line, or JSON.</summary>
public static class StatsView
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>Prints <paramref name="view"/>.</summary>
    public static void Print(ClusterMetricsView view, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(view, Json));
            return;
        }

        var table = new Table().AddColumns("silo", "cpu %", "working set", "tasks/s", "ms/task", "p99 ms", "active", "embeddings/s", "searches/s", "messages/s", "vectors", "gen2 GCs");
        foreach (var n in view.Nodes)
        {
            var s = n.Last;
            table.AddRow(
                Markup.Escape(s.Silo), $"{s.CpuPercent:F0}", $"{s.WorkingSetBytes / 1048576.0:F0} MB", $"{n.TasksPerSecond:F0}", $"{n.MeanTaskMilliseconds:F2}", $"{n.TaskP99Milliseconds:F2}",
                $"{s.ActiveTasks}", $"{n.EmbeddingsPerSecond:F1}", $"{n.SearchesPerSecond:F0}", $"{n.MessagesPerSecond:F0}", $"{s.VectorsStored}", $"{s.Gen2Collections}");
        }

        AnsiConsole.Write(table);
        Console.WriteLine(
            $"{view.Nodes.Count} live silo(s), rates over {view.Window.TotalSeconds:F0} s: {view.TasksPerSecond:F0} tasks/s " +
            $"(p50 {view.TaskP50Milliseconds:F2} ms, p95 {view.TaskP95Milliseconds:F2} ms, p99 {view.TaskP99Milliseconds:F2} ms), {view.EmbeddingsPerSecond:F1} embeddings/s, " +
            $"{view.SearchesPerSecond:F0} searches/s, {view.MessagesPerSecond:F0} messages/s; {view.TasksProcessed} tasks and {view.VectorsStored} vectors in all; " +
            $"{view.WorkingSetBytes / 1048576.0:F0} MB working set");
    }
}
