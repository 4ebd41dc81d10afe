using System.Text.Json;
using Agents.Cli;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>
/// <c>benchmark --task-type retrieval</c>: the relevance scores against hand-computed examples, the BEIR loader's
/// errors, and a real run on a tiny data set on the embedded silo.
/// </summary>
public sealed class RetrievalBenchmarkTests
{
    private static readonly HashSet<string> RelevantAC = ["a", "c"];

    [Fact]
    public void ChunksCollapseToTheirDocumentAtTheRankOfTheFirst()
    {
        var ranked = RetrievalMetrics.Documents(["b#0", "a#2", "b#1", "c#0", "a#0", "x#y#3", "plain"]);
        Assert.Equal(new[] { "b", "a", "c", "x#y", "plain" }, ranked);
    }

    [Fact]
    public void RecallCountsTheRelevantDocumentsWithinK()
    {
        string[] ranked = ["b", "a", "d", "e", "f", "c"];
        Assert.Equal(0.0, RetrievalMetrics.RecallAt(ranked, RelevantAC, 1));
        Assert.Equal(0.5, RetrievalMetrics.RecallAt(ranked, RelevantAC, 5));
        Assert.Equal(1.0, RetrievalMetrics.RecallAt(ranked, RelevantAC, 10));
        Assert.Equal(0.0, RetrievalMetrics.RecallAt([], RelevantAC, 10));
    }

    [Fact]
    public void ReciprocalRankIsOfTheFirstRelevantDocumentWithinK()
    {
        Assert.Equal(0.5, RetrievalMetrics.ReciprocalRankAt(["b", "a", "c"], RelevantAC, 10));
        Assert.Equal(1.0, RetrievalMetrics.ReciprocalRankAt(["c", "a"], RelevantAC, 10));
        Assert.Equal(0.0, RetrievalMetrics.ReciprocalRankAt(["b", "d", "a"], RelevantAC, 2));
    }

    [Fact]
    public void NdcgWithSeveralRelevantDocumentsMatchesTheHandComputedValue()
    {
        // Relevant at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068; ideal = 1 + 1/log2(3) = 1.63093.
        var ndcg = RetrievalMetrics.NdcgAt(["b", "a", "d", "c"], RelevantAC, 10);
        Assert.Equal((0.6309298 + 0.4306766) / 1.6309298, ndcg, 6);
        Assert.Equal(1.0, RetrievalMetrics.NdcgAt(["c", "a", "b"], RelevantAC, 10), 12);
        // Cut at 3, the one found at rank 2 counts, the ideal still holds both.
        Assert.Equal(0.6309298 / 1.6309298, RetrievalMetrics.NdcgAt(["b", "a", "d", "c"], RelevantAC, 3), 6);
        Assert.Equal(0.0, RetrievalMetrics.NdcgAt(["b", "d"], RelevantAC, 10));
    }

    [Fact]
    public void ChunkHitsScoreAsTheirDocuments()
    {
        // Two chunks of b first, then a chunk of a: a is the second document, not the third hit.
        var ranked = RetrievalMetrics.Documents(["b#0", "b#1", "a#3"]);
        Assert.Equal(0.5, RetrievalMetrics.ReciprocalRankAt(ranked, RelevantAC, 10));
        Assert.Equal(0.5, RetrievalMetrics.RecallAt(ranked, RelevantAC, 2));
    }

    [Fact]
    public void TheLoaderReadsADataSetAndKeepsOnlyJudgedQueries()
    {
        var dir = TinyDataSet();
        File.AppendAllText(Path.Combine(dir, "queries.jsonl"), "{\"_id\": \"q9\", \"text\": \"never judged\"}\n");
        var data = RetrievalDataset.Load(dir);
        Assert.Equal(4, data.Corpus.Count);
        Assert.Equal(new[] { "q1", "q2" }, data.Judged.Select(q => q.Id));
        Assert.Equal(new[] { "d1" }, data.Relevant["q1"]);
        Directory.Delete(dir, recursive: true);
    }

    [Theory]
    [InlineData("corpus.jsonl", null, "lacks corpus.jsonl")]
    [InlineData("qrels/test.tsv", null, "lacks qrels")]
    [InlineData("corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"x\"}\n{not json\n", "corpus.jsonl line 2: not a JSON object")]
    [InlineData("corpus.jsonl", "{\"title\": \"t\", \"text\": \"x\"}\n", "line 1: \"_id\" is missing")]
    [InlineData("corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"x\"}\n{\"_id\": \"d1\", \"text\": \"y\"}\n", "_id 'd1' appears twice")]
    [InlineData("queries.jsonl", "{\"_id\": \"q1\", \"text\": \"  \"}\n", "query 'q1' has no text")]
    [InlineData("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\tnowhere\t1\n", "line 2: document 'nowhere' is not in")]
    [InlineData("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq7\td1\t1\n", "line 2: query 'q7' is not in")]
    [InlineData("qrels/test.tsv", "q1\td1\t1\n", "line 1: expected the header")]
    [InlineData("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1 d1 1\n", "line 2: expected query-id, corpus-id and an integer score")]
    [InlineData("qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t0\n", "judges no query relevant")]
    public void BadDataSetsFailNamingTheFileAndLine(string file, string? content, string message)
    {
        var dir = TinyDataSet();
        var path = Path.Combine(dir, file);
        if (content is null)
        {
            File.Delete(path);
        }
        else
        {
            File.WriteAllText(path, content);
        }

        var e = Assert.ThrowsAny<SystemException>(() => RetrievalDataset.Load(dir));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task TheBenchmarkRunsOnATinyDataSetAndNamesEveryModeAndScore()
    {
        var dir = TinyDataSet();
        var dataDir = Directory.CreateTempSubdirectory("cli-retrieval-data-").FullName;
        var output = Path.Combine(dataDir, "retrieval.json");
        var run = await CliProcess.RunAsync(["benchmark", "--task-type", "retrieval", "--dataset", dir, "--output", output, "--data-dir", dataDir]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        foreach (var name in new[] { "DENSE", "KEYWORD", "HYBRID", "RECALL@5", "RECALL@10", "MRR@10", "NDCG@10", "P50 MS", "P99 MS", "documents/s", "chunks/s" })
        {
            Assert.Contains(name, run.Stdout, StringComparison.OrdinalIgnoreCase);
        }

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        Assert.Equal(4, json.RootElement.GetProperty("documents").GetInt32());
        Assert.Equal(new[] { "dense", "keyword", "hybrid" }, json.RootElement.GetProperty("modes").EnumerateArray().Select(m => m.GetProperty("mode").GetString()));
        foreach (var mode in json.RootElement.GetProperty("modes").EnumerateArray())
        {
            Assert.InRange(mode.GetProperty("recallAt10").GetDouble(), 0, 1);
            Assert.InRange(mode.GetProperty("ndcgAt10").GetDouble(), 0, 1);
        }

        // The keyword-only question names its document's words: keyword search finds it first.
        var keyword = json.RootElement.GetProperty("modes")[1];
        Assert.True(keyword.GetProperty("mrrAt10").GetDouble() >= 0.5, run.Stdout);
        Directory.Delete(dir, recursive: true);
        Directory.Delete(dataDir, recursive: true);
    }

    [Fact]
    public async Task AMissingDataSetFileExitsTwoNamingIt()
    {
        var dir = TinyDataSet();
        File.Delete(Path.Combine(dir, "queries.jsonl"));
        var run = await CliProcess.RunAsync(["benchmark", "--task-type", "retrieval", "--dataset", dir]);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("lacks queries.jsonl", run.Stderr, StringComparison.Ordinal);
        var none = await CliProcess.RunAsync(["benchmark", "--task-type", "retrieval"]);
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("needs --dataset", none.Stderr, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>Four documents, two judged queries, in the BEIR layout.</summary>
    private static string TinyDataSet()
    {
        var dir = Directory.CreateTempSubdirectory("beir-").FullName;
        File.WriteAllLines(Path.Combine(dir, "corpus.jsonl"),
        [
            "{\"_id\": \"d1\", \"title\": \"nibble\", \"text\": \"Four bits; one hex digit; a half-byte.\"}",
            "{\"_id\": \"d2\", \"title\": \"byte\", \"text\": \"Eight bits, the smallest addressable unit of memory on most machines.\"}",
            "{\"_id\": \"d3\", \"title\": \"kernel\", \"text\": \"The core of an operating system, which manages processes, memory and devices.\"}",
            "{\"_id\": \"d4\", \"title\": \"compiler\", \"text\": \"A program that translates source code into machine code.\"}",
        ]);
        File.WriteAllLines(Path.Combine(dir, "queries.jsonl"),
        [
            "{\"_id\": \"q1\", \"text\": \"half-byte hex digit\"}",
            "{\"_id\": \"q2\", \"text\": \"what translates source code\"}",
        ]);
        Directory.CreateDirectory(Path.Combine(dir, "qrels"));
        File.WriteAllText(Path.Combine(dir, "qrels", "test.tsv"), "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td4\t1\n");
        return dir;
    }
}
