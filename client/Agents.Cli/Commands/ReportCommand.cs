using System.CommandLine;

namespace Agents.Cli;

/// <summary><c>report</c>: one HTML page with charts from a folder of benchmark results, and a summary on the console.</summary>
internal static class ReportCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var input = new Option<string>("--input") { Description = "A folder of benchmark results (*.json from 'benchmark --output').", DefaultValueFactory = _ => "results" };
        var output = new Option<string>("--output") { Description = "The HTML page to write.", DefaultValueFactory = _ => "performance-report.html" };
        var command = new Command("report", "One self-contained HTML page with charts from a folder of benchmark results, and a summary here.") { input, output };
        command.WithExamples(
            "p2p-ai-agents report --input results/ --output performance-report.html",
            "p2p-ai-agents report --input results/scaling --output scaling.html");
        command.SetAction((parse, _) => CommandAction.Run(parse, async () =>
        {
            var path = OptionChecks.OutputFile(parse.GetValue(output), "--output")!;
            var (results, skipped) = PerformanceReport.Load(OptionChecks.PathOf(parse.GetValue(input), "--input"));
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }

            await File.WriteAllTextAsync(path, PerformanceReport.Html(results));
            Console.Write(PerformanceReport.Summary(results));
            foreach (var file in skipped)
            {
                Console.WriteLine($"skipped {file}: not a benchmark result");
            }

            Console.WriteLine($"report of {results.Count} results written to {path}");
            return 0;
        }));
        return command;
    }
}
