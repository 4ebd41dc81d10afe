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
        var list = new Command("list", "List the newest jobs.") { max };
        list.AddConnection(dataDir: false).AddJson().WithExamples("p2p-ai-agents jobs list --gateway 127.0.0.1:30000", "p2p-ai-agents jobs list --max 10 --json");
        list.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var most = OptionChecks.AtLeast(parse.GetValue(max), "--max", 1);
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            var jobs = await client.ListAsync(most, cancellationToken);
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(jobs, GlobalOptions.JsonOutput));
            }
            else
            {
                foreach (var job in jobs)
                {
                    Console.WriteLine($"{job.JobId}  {job.State,-9}  {job.TaskType,-16} {job.CountedTasks}/{job.TotalTasks}  {job.CreatedAt:u}  {job.Label}");
                }

                Console.WriteLine($"{jobs.Count} job(s)");
            }

            return 0;
        }));

        return new Command("jobs", "Inspect and cancel jobs.") { status, list, cancel }.WithExamples(
            "p2p-ai-agents jobs list --gateway 127.0.0.1:30000",
            "p2p-ai-agents jobs status 3f2b8c1e-7d4a-4c2e-9a61-0b5d7e9f1234 --gateway 127.0.0.1:30000");
    }
}
