using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;

namespace Agents.Cli;

/// <summary><c>ingest</c>: chunk, embed and upsert a folder of text files into a collection.</summary>
internal static class IngestCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var collection = new Argument<string>("collection") { Description = "The collection to fill (created, cosine 384-d, if missing)." };
        var input = new Option<string>("--input") { Description = "A folder of text files, read recursively.", Required = true };
        var command = new Command("ingest", "Chunk, embed and upsert a folder of text files, spread over the cluster.") { collection, input };
        command.AddConnection().AddJson().WithExamples(
            "p2p-ai-agents ingest docs --input ./notes",
            "p2p-ai-agents ingest docs --input ./notes --gateway 127.0.0.1:30000 --json");
        command.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var name = OptionChecks.CollectionName(parse, collection);
            var root = Path.GetFullPath(OptionChecks.PathOf(parse.GetValue(input), "--input"));
            var files = DocumentSource.ListFiles(root);
            var json = parse.GetValue(GlobalOptions.Json);
            await using var client = await ProgressReporter.ConnectAsync(GlobalOptions.Connection(parse), json, cancellationToken);
            var clock = Stopwatch.StartNew();
            var jobId = await client.SubmitIngestAsync(name, DocumentSource.ReadTasks(files, root: root), cancellationToken);
            JobResult result;
            try
            {
                result = await ProgressReporter.FollowAsync(client, jobId, $"ingest {name}", json, cancellationToken, files.Count);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await JobSubmission.CancelOnStopAsync(client, jobId);
                throw;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var status = result.Status;
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    jobId,
                    collection = parse.GetValue(collection),
                    documents = status.SucceededTasks,
                    failed = status.FailedTasks,
                    chunks = result.Totals.Embeddings,
                    seconds,
                    documentsPerSecond = status.SucceededTasks / seconds,
                    embeddingsPerSecond = result.Totals.Embeddings / seconds,
                    failures = result.Failures,
                }, GlobalOptions.JsonOutput));
            }
            else
            {
                Console.WriteLine($"{status.SucceededTasks} documents ({result.Totals.Embeddings} chunks) ingested into {parse.GetValue(collection)} in {seconds:F1} s: " +
                    $"{status.SucceededTasks / seconds:F1} documents/s, {result.Totals.Embeddings / seconds:F1} embeddings/s" +
                    (status.FailedTasks > 0 ? $"; {status.FailedTasks} failed" : ""));
                foreach (var failure in result.Failures.Take(10))
                {
                    Console.WriteLine($"  {failure.Name}: {failure.Error}");
                }
            }

            return status.FailedTasks == 0 ? 0 : 1;
        }));
        return command;
    }
}
