using System.Text.Json;
using Agents.Cli;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Cli;

/// <summary>What the command prints, run as a user runs it (a real process, output piped): results on stdout, progress on stderr.</summary>
public sealed class OutputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("cli-output-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string[] Args(params string[] a) => [.. a, "--data-dir", Path.Combine(_dir, "data")];

    private async Task<string> FourDimensionalCollectionAsync()
    {
        var file = Path.Combine(_dir, "points.jsonl");
        await File.WriteAllLinesAsync(file,
        [
            """{"id":"a","vector":[1,0,0,0],"payload":{"lang":"café","year":2021}}""",
            """{"id":"b","vector":[0,1,0,0]}""",
        ]);
        var create = await CliProcess.RunAsync(Args("collection", "create", "four", "--dimension", "4", "--shards", "2"));
        Assert.True(create.ExitCode == 0, create.Stderr);
        var upsert = await CliProcess.RunAsync(Args("vectors", "upsert", "four", "--input", file));
        Assert.True(upsert.ExitCode == 0, upsert.Stderr);
        return "four";
    }

    [Fact]
    public async Task JsonPrintsPayloadsAsObjectsEnumsByNameAndTextAsItself()
    {
        var name = await FourDimensionalCollectionAsync();

        var search = await CliProcess.RunAsync(Args("vectors", "search", name, "--vector", "1,0,0,0", "-k", "2", "--json"));

        Assert.True(search.ExitCode == 0, search.Stderr);
        Assert.Contains("\"café\"", search.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u", search.Stdout, StringComparison.Ordinal);
        using var hits = JsonDocument.Parse(search.Stdout);
        var payloads = hits.RootElement[0].GetProperty("payloads");
        Assert.Equal(JsonValueKind.Object, payloads[0].ValueKind);
        Assert.Equal("café", payloads[0].GetProperty("lang").GetString());
        Assert.Equal(2021, payloads[0].GetProperty("year").GetInt32());
        Assert.Equal(JsonValueKind.Null, payloads[1].ValueKind);

        var describe = await CliProcess.RunAsync(Args("collection", "describe", name, "--json"));
        Assert.True(describe.ExitCode == 0, describe.Stderr);
        using var info = JsonDocument.Parse(describe.Stdout);
        var spec = info.RootElement.GetProperty("spec");
        Assert.Equal("cosine", spec.GetProperty("metric").GetString());
        Assert.Equal("hnsw", spec.GetProperty("index").GetString());
        Assert.Equal(2, info.RootElement.GetProperty("points").GetInt64());
    }

    [Fact]
    public async Task PipedTablesKeepTheirHeadersWhole()
    {
        var name = await FourDimensionalCollectionAsync();

        var list = await CliProcess.RunAsync(Args("collection", "list"));
        var search = await CliProcess.RunAsync(Args("vectors", "search", name, "--vector", "1,0,0,0", "-k", "2"));

        Assert.True(list.ExitCode == 0, list.Stderr);
        var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["NAME", "DIMENSION", "METRIC", "INDEX", "SHARDS", "TEXT-FIELDS"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["four", "4", "cosine", "hnsw", "2", "none"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain('…', list.Stdout);
        Assert.True(search.ExitCode == 0, search.Stderr);
        var rows = search.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ID", rows[0], StringComparison.Ordinal);
        Assert.StartsWith("a ", rows[1], StringComparison.Ordinal);
        Assert.EndsWith("""{"lang":"café","year":2021}""", rows[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProgressGoesToStderrAndEndsBeforeTheResult()
    {
        var run = await CliProcess.RunAsync(["benchmark", "--tasks", "300", "--warmup", "60", "--data-dir", Path.Combine(_dir, "data")]);

        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        // stdout is the result alone.
        Assert.StartsWith("300 text-processing tasks on 1 silo(s)", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("starting", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("/300 tasks", run.Stdout, StringComparison.Ordinal);
        // stderr says what runs, from the start, and ends with the finished count.
        var progress = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("starting silo", progress[0]);
        Assert.Contains("warming up (text-processing): 60/60 tasks in", run.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("benchmark text-processing: 300/300 tasks in", progress[^1], StringComparison.Ordinal);
        Assert.DoesNotContain("0/0", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("job ", run.Stderr, StringComparison.Ordinal);

        var json = await CliProcess.RunAsync(["benchmark", "--tasks", "100", "--warmup", "0", "--json", "--data-dir", Path.Combine(_dir, "data")]);
        Assert.True(json.ExitCode == 0, json.Stderr);
        using var result = JsonDocument.Parse(json.Stdout);
        Assert.Equal("round-robin", result.RootElement.GetProperty("distribution").GetString());
    }

    [Fact]
    public async Task SubmitShowsItsFolderAsWhatRuns()
    {
        var docs = Directory.CreateDirectory(Path.Combine(_dir, "notes")).FullName;
        for (var i = 0; i < 5; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(docs, $"{i}.txt"), $"Note {i}. Grains process documents.");
        }

        var run = await CliProcess.RunAsync(["submit", "--input", docs]);

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("text-processing notes: 5/5 tasks in", run.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("job ", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("text-processing notes:", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IngestShowsItsCollectionAsWhatRunsAndTextSearchPrintsATable()
    {
        var docs = Directory.CreateDirectory(Path.Combine(_dir, "docs")).FullName;
        await File.WriteAllTextAsync(Path.Combine(docs, "grains.txt"), "Grains are the units of work. A silo hosts many grains.");
        await File.WriteAllTextAsync(Path.Combine(docs, "vectors.txt"), "Vector search finds the nearest neighbours of a query.");
        await File.WriteAllTextAsync(Path.Combine(docs, "café.txt"), "Le café est une boisson.");

        var ingest = await CliProcess.RunAsync(Args("ingest", "notes", "--input", docs));
        var search = await CliProcess.RunAsync(Args("vectors", "search", "notes", "--text", "what hosts grains", "-k", "2"));
        var json = await CliProcess.RunAsync(Args("vectors", "search", "notes", "--text", "boisson", "-k", "1", "--json"));

        Assert.True(ingest.ExitCode == 0, ingest.Stderr);
        Assert.Contains("ingest notes: 3/3 tasks in", ingest.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("3 documents", ingest.Stdout, StringComparison.Ordinal);
        Assert.True(search.ExitCode == 0, search.Stderr);
        var rows = search.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["SCORE", "SOURCE", "TEXT"], rows[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("grains.txt #0", rows[1], StringComparison.Ordinal);
        Assert.Contains("Grains are the units of work.", rows[1], StringComparison.Ordinal);
        Assert.True(json.ExitCode == 0, json.Stderr);
        Assert.Contains("\"café.txt\"", json.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AVectorFileThroughASymbolicLinkIsReadAsItsTarget()
    {
        var target = Path.Combine(_dir, "real", "base.fvecs");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        WriteFvecs(target, Enumerable.Range(0, 3).Select(i => Enumerable.Range(0, 384).Select(d => (float)((i + d) % 7)).ToArray()));
        var link = Path.Combine(_dir, "base.fvecs");
        File.CreateSymbolicLink(link, target);
        var create = await CliProcess.RunAsync(Args("collection", "create", "linked", "--dimension", "384"));
        Assert.True(create.ExitCode == 0, create.Stderr);

        var upsert = await CliProcess.RunAsync(Args("vectors", "upsert", "linked", "--input", link));

        Assert.True(upsert.ExitCode == 0, upsert.Stderr);
        Assert.Contains("3 points upserted", upsert.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADatasetIsUsedWholeUnlessTasksIsGiven()
    {
        // 1,200 base vectors: more than the default --tasks (1,000). Each folder's files are links, as a user's often are.
        var random = new Random(5);
        var points = Enumerable.Range(0, 1200).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray()).ToList();
        var queries = Enumerable.Range(0, 20).Select(_ => Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray()).ToList();
        var real = Directory.CreateDirectory(Path.Combine(_dir, "texmex-files")).FullName;
        WriteFvecs(Path.Combine(real, "base.fvecs"), points);
        WriteFvecs(Path.Combine(real, "query.fvecs"), queries);
        WriteIvecs(Path.Combine(real, "groundtruth.ivecs"), queries.Select(q => points
            .Select((p, i) => (i, d: p.Zip(q, (a, b) => (a - b) * (a - b)).Sum()))
            .OrderBy(x => x.d).Take(10).Select(x => x.i).ToArray()));
        var dataset = Directory.CreateDirectory(Path.Combine(_dir, "texmex")).FullName;
        foreach (var f in new[] { "base.fvecs", "query.fvecs", "groundtruth.ivecs" })
        {
            File.CreateSymbolicLink(Path.Combine(dataset, f), Path.Combine(real, f));
        }

        var whole = await RunDatasetAsync(dataset);
        var part = await RunDatasetAsync(dataset, "--tasks", "500");

        Assert.Equal(1200, whole.GetProperty("perNode").EnumerateArray().Sum(n => n.GetProperty("tasks").GetInt32()));
        Assert.True(whole.GetProperty("recallAtK").GetDouble() > 0.9, whole.GetProperty("recallAtK").ToString());
        Assert.Equal(500, part.GetProperty("perNode").EnumerateArray().Sum(n => n.GetProperty("tasks").GetInt32()));
    }

    private async Task<JsonElement> RunDatasetAsync(string dataset, params string[] extra)
    {
        var run = await CliProcess.RunAsync(
            ["benchmark", "--task-type", "vector-search", "--dataset", dataset, "--queries", "20", "--json", "--data-dir", Path.Combine(_dir, "data"), .. extra]);
        Assert.True(run.ExitCode == 0, run.Stderr + run.Stdout);
        return JsonDocument.Parse(run.Stdout).RootElement.Clone();
    }

    [Fact]
    public async Task DropWithoutYesIsRefusedWhenNoOneCanBeAsked()
    {
        var name = await FourDimensionalCollectionAsync();

        var refused = await CliProcess.RunAsync(Args("collection", "drop", name));

        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--yes", refused.Stderr, StringComparison.Ordinal);
        Assert.Empty(refused.Stdout);
        var still = await CliProcess.RunAsync(Args("collection", "describe", name));
        Assert.True(still.ExitCode == 0, still.Stderr);

        var deleted = await CliProcess.RunAsync(Args("vectors", "delete", name, "--id", "b", "--json"));
        Assert.True(deleted.ExitCode == 0, deleted.Stderr);
        Assert.Equal(1, JsonDocument.Parse(deleted.Stdout).RootElement.GetProperty("deleted").GetInt32());

        var dropped = await CliProcess.RunAsync(Args("collection", "drop", name, "-y", "--json"));
        Assert.True(dropped.ExitCode == 0, dropped.Stderr);
        Assert.Equal(name, JsonDocument.Parse(dropped.Stdout).RootElement.GetProperty("dropped").GetString());
    }

    [Fact]
    public async Task TextSearchOnACollectionOfAnotherDimensionSaysWhatItNeeds()
    {
        var name = await FourDimensionalCollectionAsync();

        var run = await CliProcess.RunAsync(Args("vectors", "search", name, "--text", "grains"));

        Assert.Equal(2, run.ExitCode);
        Assert.Contains($"--text needs a collection of the model's 384 dimensions; {name} has 4", run.Stderr, StringComparison.Ordinal);

        // Keyword and hybrid search need a keyword index, and words to search for.
        var keyword = await CliProcess.RunAsync(Args("vectors", "search", name, "--text", "grains", "--mode", "keyword"));
        Assert.Equal(2, keyword.ExitCode);
        Assert.Contains($"--mode keyword needs a collection with text fields; {name} has none", keyword.Stderr, StringComparison.Ordinal);
        var vectorOnly = await CliProcess.RunAsync(Args("vectors", "search", name, "--vector", "1,0,0,0", "--mode", "hybrid"));
        Assert.Equal(2, vectorOnly.ExitCode);
        Assert.Contains("--mode hybrid needs the query in words", vectorOnly.Stderr, StringComparison.Ordinal);
        var unknown = await CliProcess.RunAsync(Args("vectors", "search", name, "--text", "grains", "--mode", "fuzzy"));
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("fuzzy", unknown.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeywordSearchFindsTheWordsOfACollectionsTextFieldsWithoutAModel()
    {
        var file = Path.Combine(_dir, "notes.jsonl");
        await File.WriteAllLinesAsync(file,
        [
            """{"id":"nibble","vector":[1,0,0,0],"payload":{"title":"Nibble","text":"Four bits; one hex digit; a half-byte","lang":"en"}}""",
            """{"id":"byte","vector":[0,1,0,0],"payload":{"title":"Byte","text":"Eight bits, the unit of memory addressing","lang":"en"}}""",
            """{"id":"octet","vector":[0,0,1,0],"payload":{"title":"Octet","text":"Exactly eight bits, as networks say","lang":"fr"}}""",
        ]);
        var create = await CliProcess.RunAsync(Args("collection", "create", "notes", "--dimension", "4", "--shards", "2", "--text-field", "title", "--text-field", "text"));
        Assert.True(create.ExitCode == 0, create.Stderr);
        Assert.Contains("text fields (keyword search): title, text", create.Stdout, StringComparison.Ordinal);
        var upsert = await CliProcess.RunAsync(Args("vectors", "upsert", "notes", "--input", file));
        Assert.True(upsert.ExitCode == 0, upsert.Stderr);

        var half = await CliProcess.RunAsync(Args("vectors", "search", "notes", "--text", "half of a byte, that is four bits", "--mode", "keyword", "-k", "3", "--json"));
        Assert.True(half.ExitCode == 0, half.Stderr);
        using var hits = JsonDocument.Parse(half.Stdout);
        Assert.Equal("nibble", hits.RootElement[0].GetProperty("id").GetString());

        var french = await CliProcess.RunAsync(Args("vectors", "search", "notes", "--text", "eight bits", "--mode", "keyword", "--filter", "lang=fr", "--json"));
        Assert.True(french.ExitCode == 0, french.Stderr);
        using var filtered = JsonDocument.Parse(french.Stdout);
        Assert.Equal(["octet"], filtered.RootElement.EnumerateArray().Select(h => h.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task JobsListHidesTheBenchmarksWarmUpJobUnlessAskedForAll()
    {
        var instance = SiloProcess.FreeInstance();
        await using var silo = SiloProcess.Start([], instance);
        string[] gateway = ["--gateway", $"127.0.0.1:{30000 + instance}"];
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        CliProcess.Outcome bench;
        do
        {
            Assert.False(silo.HasExited, silo.Output);
            bench = await CliProcess.RunAsync(["benchmark", "--mode", "cluster", .. gateway, "--tasks", "50", "--warmup", "20", "--nodes", "1"]);
        }
        while (bench.ExitCode != 0 && DateTime.UtcNow < deadline);
        Assert.True(bench.ExitCode == 0, bench.Stderr + bench.Stdout);

        var list = await CliProcess.RunAsync(["jobs", "list", .. gateway]);
        var all = await CliProcess.RunAsync(["jobs", "list", "--all", .. gateway]);
        var json = await CliProcess.RunAsync(["jobs", "list", "--json", .. gateway]);

        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.DoesNotContain(list.Stdout.Split('\n'), l => l.Contains("warm-up", StringComparison.Ordinal) && !l.Contains("hidden", StringComparison.Ordinal));
        Assert.Contains("1 warm-up job(s) hidden", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("benchmark warm-up", all.Stdout, StringComparison.Ordinal);
        Assert.Contains("50/50", list.Stdout, StringComparison.Ordinal);
        using var jobs = JsonDocument.Parse(json.Stdout);
        var job = Assert.Single(jobs.RootElement.EnumerateArray());
        Assert.Equal("completed", job.GetProperty("state").GetString());
        Assert.Equal("benchmark", job.GetProperty("label").GetString());
    }

    [Theory]
    [InlineData("The grain runs the batch.", "The grain runs the batch.")]
    [InlineData("  the batch\non   a silo\n", "the batch on a silo")]
    [InlineData("(grains) run", "(grains) run")]
    [InlineData("word", "word")]
    [InlineData(" \n ", "")]
    public void SnippetsAreTheChunkOnOneLineFromItsFirstWord(string text, string expected) =>
        Assert.Equal(expected, Snippets.Of(text));

    [Fact]
    public void ALongSnippetEndsOnAWord()
    {
        var text = string.Join(' ', Enumerable.Range(0, 60).Select(i => $"grain{i}"));
        var snippet = Snippets.Of(text);
        Assert.True(snippet.Length <= 161, snippet);
        Assert.StartsWith("grain0 grain1 ", snippet, StringComparison.Ordinal);

        // The last word shown is a whole word of the text, followed by the ellipsis.
        var last = snippet.TrimEnd('…').Split(' ')[^1];
        Assert.Contains(last, text.Split(' '));
        Assert.EndsWith("…", snippet, StringComparison.Ordinal);
        Assert.Equal(text[..(snippet.Length - 1)], snippet[..^1]);
    }

    [Fact]
    public void AWordLongerThanTheSnippetIsCutAtTheLength() =>
        Assert.Equal(new string('x', 160) + "…", Snippets.Of(new string('x', 300)));

    [Fact]
    public void APipedTableIsAsWideAsItsRowsAndTrimmed()
    {
        var table = ResultTable.Create(terminal: false, "silo", "tasks per second");
        table.Row("127.0.0.1:11111@155107152 on a host with a long name", 1234);

        var text = ResultTable.Render(table, width: null);

        var lines = text.TrimEnd().Split(Environment.NewLine);
        Assert.Equal(2, lines.Length);
        Assert.Equal("SILO                                                  TASKS PER SECOND", lines[0]);
        Assert.Equal("127.0.0.1:11111@155107152 on a host with a long name  1234", lines[1]);
    }

    [Fact]
    public void ATerminalTableFitsItsWidth()
    {
        var table = ResultTable.Create(terminal: true, "silo", "tasks");
        table.Row(new string('x', 200), 1);

        var text = ResultTable.Render(table, width: 60);

        Assert.All(text.TrimEnd().Split(Environment.NewLine), line => Assert.True(line.Length <= 60, line));
    }

    [Fact]
    public void ProgressLinesGiveCountsRateAndTimeLeft()
    {
        var line = new ProgressReporter.ProgressLine("ingest notes", "tasks");
        Assert.Equal("ingest notes: starting", line.Describe(withTimeLeft: true));
        line.Update(0, 0);
        Assert.Equal("ingest notes: starting", line.Describe(withTimeLeft: true));
        line.Update(1000, 4000);
        var text = line.Describe(withTimeLeft: true);
        Assert.Matches(@"^ingest notes: 1,000/4,000 tasks, [\d,]+/s, .+ left$", text);
        // Counts only grow: a late, older snapshot does not move them back.
        line.Update(900, 4000);
        Assert.StartsWith("ingest notes: 1,000/4,000", line.Describe(withTimeLeft: false), StringComparison.Ordinal);
        Assert.Matches(@"^ingest notes: 1,000/4,000 tasks in [\d.]+ s \([\d,]+/s\)$", line.Final());
        Assert.Equal("5 s", ProgressReporter.FormatDuration(TimeSpan.FromSeconds(4.2)));
        Assert.Equal("3 min 20 s", ProgressReporter.FormatDuration(TimeSpan.FromSeconds(200)));
    }

    private static void WriteFvecs(string path, IEnumerable<float[]> rows)
    {
        using var writer = new BinaryWriter(File.Create(path));
        foreach (var row in rows)
        {
            writer.Write(row.Length);
            foreach (var x in row)
            {
                writer.Write(x);
            }
        }
    }

    private static void WriteIvecs(string path, IEnumerable<int[]> rows)
    {
        using var writer = new BinaryWriter(File.Create(path));
        foreach (var row in rows)
        {
            writer.Write(row.Length);
            foreach (var x in row)
            {
                writer.Write(x);
            }
        }
    }
}
