using System.CommandLine;
using System.Text.Json;

namespace Agents.Cli;

/// <summary><c>submit</c>: run a job over a folder of text files, or start it and return.</summary>
internal static class SubmitCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var taskType = new Option<string>("--task-type") { Description = "What each task does (a folder into a collection: ingest).", DefaultValueFactory = _ => TaskTypes.TextProcessing }
            .OneOf([TaskTypes.TextProcessing, TaskTypes.Embedding], v => v == TaskTypes.Ingest);
        var input = new Option<string>("--input") { Description = "A folder of text files, one task per file.", Required = true };
        var distribution = new Option<string>("--distribution") { Description = "How batches are spread over the silos.", DefaultValueFactory = _ => "round-robin" }
            .OneOf(DistributionNames.All, DistributionNames.IsKnown);
        var batch = new Option<int>("--batch-size") { Description = "Tasks per batch; 0 takes message_batch_size.", DefaultValueFactory = _ => 0 };
        var detach = new Option<bool>("--detach") { Description = "Return once the job is started (cluster only; an embedded job lives as long as this process)." };
        var command = new Command("submit", "Submit a job and (unless --detach) wait for its result.") { taskType, input, distribution, batch, detach };
        command.AddConnection(dataDir: false).AddJson().WithExamples(
            "p2p-ai-agents submit --input ./docs",
            "p2p-ai-agents submit --input ./docs --task-type embedding --distribution least-loaded --gateway 127.0.0.1:30000",
            "p2p-ai-agents submit --input ./docs --detach --json --cluster \"$P2P_CLUSTER\"");
        command.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var folder = OptionChecks.PathOf(parse.GetValue(input), "--input");
            var spec = new JobSpec(parse.GetValue(taskType)!, DistributionNames.Parse(parse.GetValue(distribution)), OptionChecks.AtLeast(parse.GetValue(batch), "--batch-size", 0), Path.GetFileName(Path.GetFullPath(folder)));
            TaskTypes.EnsureRunnable(spec.TaskType);
            if (spec.TaskType == TaskTypes.Ingest)
            {
                throw new ArgumentException($"--task-type {TaskTypes.Ingest} upserts into a collection: use 'ingest <collection> --input {folder}'.");
            }

            var files = DocumentSource.ListFiles(folder);
            var connection = GlobalOptions.Connection(parse);
            var json = parse.GetValue(GlobalOptions.Json);
            await using var client = await ProgressReporter.ConnectAsync(connection, json, cancellationToken);
            if (parse.GetValue(detach) && !connection.IsEmbedded)
            {
                var started = await client.SubmitAsync(spec, DocumentSource.ReadTasks(files), cancellationToken);
                Console.WriteLine(json ? JsonSerializer.Serialize(new { jobId = started }, GlobalOptions.JsonOutput) : $"job {started} started");
                return 0;
            }

            var (_, result) = await JobSubmission.RunAsync(client, spec, DocumentSource.ReadTasks(files), json, cancellationToken, files.Count);
            JobView.PrintResult(result, json);
            return result.Status.FailedTasks == 0 ? 0 : 1;
        }));
        return command;
    }
}
