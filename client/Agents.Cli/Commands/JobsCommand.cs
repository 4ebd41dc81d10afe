using System.CommandLine;
using System.Text.Json;

namespace Agents.Cli;

/// <summary><c>jobs status|list|cancel</c>.</summary>
internal static class JobsCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var id = new Argument<Guid>("job-id") { Description = "The job's id, as submit and jobs list print it." };
        var status = new Command("status", "Show a job's progress and result.") { id };
        status.AddConnection(dataDir: false).AddJson().WithExamples(
            "p2p-ai-agents jobs status 3f2b8c1e-7d4a-4c2e-9a61-0b5d7e9f1234 --gateway 127.0.0.1:30000",
            "p2p-ai-agents jobs status 3f2b8c1e-7d4a-4c2e-9a61-0b5d7e9f1234 --json");
        status.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            JobView.PrintResult(await client.GetResultAsync(parse.GetValue(id), cancellationToken), parse.GetValue(GlobalOptions.Json));
            return 0;
        }));

        var cancelId = new Argument<Guid>("job-id") { Description = "The job's id, as submit and jobs list print it." };
        var cancel = new Command("cancel", "Stop a job; batches in flight finish and are counted.") { cancelId };
        cancel.AddConnection(dataDir: false).AddJson().WithExamples("p2p-ai-agents jobs cancel 3f2b8c1e-7d4a-4c2e-9a61-0b5d7e9f1234 --gateway 127.0.0.1:30000");
        cancel.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            JobView.PrintStatus(await client.CancelAsync(parse.GetValue(cancelId), cancellationToken), parse.GetValue(GlobalOptions.Json));
            return 0;
        }));

        var max = new Option<int>("--max") { Description = "Most jobs listed.", DefaultValueFactory = _ => 50 };
        var all = new Option<bool>("--all") { Description = "Also list the benchmark's warm-up jobs." };
        var list = new Command("list", "List the newest jobs (a benchmark's warm-up jobs only with --all).") { max, all };
        list.AddConnection(dataDir: false).AddJson().WithExamples("p2p-ai-agents jobs list --gateway 127.0.0.1:30000", "p2p-ai-agents jobs list --max 10 --json");
        list.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var most = OptionChecks.AtLeast(parse.GetValue(max), "--max", 1);
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            var listed = await client.ListAsync(most, cancellationToken);
            // A benchmark's warm-up job is not work anyone asked for: hidden unless --all.
            var jobs = parse.GetValue(all) ? listed : listed.Where(j => !IsWarmUp(j)).ToList();
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(jobs, GlobalOptions.JsonOutput));
            }
            else
            {
                if (jobs.Count > 0)
                {
                    var table = ResultTable.Create("job", "state", "task type", "tasks", "failed", "created", "label");
                    foreach (var job in jobs)
                    {
                        table.Row(job.JobId, job.State.ToString().ToLowerInvariant(), job.TaskType, $"{job.CountedTasks}/{job.TotalTasks}", job.FailedTasks, job.CreatedAt.ToString("u", System.Globalization.CultureInfo.InvariantCulture), IsWarmUp(job) ? "benchmark warm-up" : job.Label);
                    }

                    ResultTable.Write(table);
                }

                var hidden = listed.Count - jobs.Count;
                Console.WriteLine($"{jobs.Count} job(s){(hidden > 0 ? $"; {hidden} warm-up job(s) hidden (--all lists them)" : "")}");
            }

            return 0;
        }));

        return new Command("jobs", "Inspect and cancel jobs.") { status, list, cancel }.WithExamples(
            "p2p-ai-agents jobs list --gateway 127.0.0.1:30000",
            "p2p-ai-agents jobs status 3f2b8c1e-7d4a-4c2e-9a61-0b5d7e9f1234 --gateway 127.0.0.1:30000");
    }

    /// <summary>True for the job a benchmark runs, unmeasured, before the one it measures (labelled so by it).</summary>
    private static bool IsWarmUp(JobStatus job) => job.Label == "warm-up";
}
