using System.Globalization;
using System.Text.Json;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary><c>vectors search --query-file</c>: the queries go in batches, and each answer is the one a single query gets.</summary>
public sealed class QueryFileTests
{
    [Fact]
    public async Task AQueryFileAnswersEachQueryAsASingleSearchDoes()
    {
        var dataDir = Directory.CreateTempSubdirectory("cli-query-file-").FullName;
        var random = new Random(3);
        float[] Vector() => Enumerable.Range(0, 5).Select(_ => (float)Math.Round(random.NextDouble() * 2 - 1, 3)).ToArray();
        var points = Path.Combine(dataDir, "points.jsonl");
        await File.WriteAllLinesAsync(points, Enumerable.Range(0, 60).Select(i =>
            JsonSerializer.Serialize(new { id = $"p{i}", vector = Vector(), payload = new { n = i } })));
        var queries = Enumerable.Range(0, 9).Select(_ => Vector()).ToArray();
        var queryFile = Path.Combine(dataDir, "queries.fvecs");
        await using (var writer = new BinaryWriter(File.Create(queryFile)))
        {
            foreach (var query in queries)
            {
                writer.Write(query.Length);
                foreach (var x in query)
                {
                    writer.Write(x);
                }
            }
        }

        string[] Args(params string[] a) => [.. a, "--data-dir", dataDir];
        Assert.Equal(0, (await CliProcess.RunAsync(Args("collection", "create", "c", "--dimension", "5", "--metric", "l2", "--shards", "3", "--index", "flat"))).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(Args("vectors", "upsert", "c", "--input", points))).ExitCode);

        var output = Path.Combine(dataDir, "hits.json");
        var batch = await CliProcess.RunAsync(Args("vectors", "search", "c", "--query-file", queryFile, "-k", "4", "--output", output));
        Assert.True(batch.ExitCode == 0, batch.Stderr);
        Assert.Contains("9 queries", batch.Stdout, StringComparison.Ordinal);
        using var hits = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        Assert.Equal(9, hits.RootElement.GetArrayLength());

        foreach (var q in new[] { 0, 8 })
        {
            var vector = string.Join(",", queries[q].Select(x => x.ToString("R", CultureInfo.InvariantCulture)));
            var single = await CliProcess.RunAsync(Args("vectors", "search", "c", "--vector", vector, "-k", "4", "--json"));
            Assert.True(single.ExitCode == 0, single.Stderr);
            using var one = JsonDocument.Parse(single.Stdout);
            Assert.Equal(
                one.RootElement[0].GetProperty("ids").EnumerateArray().Select(e => e.GetString()),
                hits.RootElement[q].GetProperty("ids").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(q, hits.RootElement[q].GetProperty("query").GetInt32());
        }

        Directory.Delete(dataDir, recursive: true);
    }
}
