using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Agents.Grains.Jobs;

namespace Agents.Cli;

/// <summary>
/// <c>benchmark --task-type retrieval --dataset DIR</c>: ingests a BEIR-layout data set's corpus through the product's
/// own ingest path, then asks its queries in dense, keyword and hybrid mode and scores the answers against its qrels
/// (recall@5, recall@10, MRR@10, nDCG@10), with each mode's query latency.
/// </summary>
public static class RetrievalBenchmark
{
    /// <summary>The task type's name.</summary>
    public const string TaskType = "retrieval";

    /// <summary>The cut-off of the scores: recall@10, MRR@10, nDCG@10.</summary>
    public const int Depth = 10;

    /// <summary>Chunks asked per query, so that after collapsing chunks to their documents there are still <see cref="Depth"/> documents.</summary>
    public const int ChunksAsked = 3 * Depth;

    /// <summary>Queries asked (and not measured) in every mode before the measured pass, so the figures are of warm code.</summary>
    public const int WarmupQueries = 10;

    /// <summary>The modes compared, in the order they are reported.</summary>
    public static readonly IReadOnlyList<SearchMode> Modes = [SearchMode.Dense, SearchMode.Keyword, SearchMode.Hybrid];

    /// <summary>Options of a retrieval benchmark.</summary>
    /// <param name="Dataset">The BEIR-layout folder.</param>
    /// <param name="Shards">Shards of the benchmark collection; 0 is the cluster's default.</param>
    /// <param name="Ef">HNSW search breadth; null is the collection's default.</param>
    public sealed record Options(string Dataset, int Shards, int? Ef);

    /// <summary>Loads the data set, ingests it into a collection of its own (dropped afterwards), runs the queries and prints the result.</summary>
    internal static async Task<int> RunAsync(Target connection, Options o, string? output, bool quiet, CancellationToken cancellationToken)
    {
        var data = RetrievalDataset.Load(o.Dataset);
        ProgressReporter.Say($"{data.Corpus.Count} documents, {data.Judged.Count} judged queries from {o.Dataset}", quiet);
        await using var client = await ProgressReporter.ConnectAsync(connection, quiet, cancellationToken);
        var result = await MeasureAsync(client, data, o, quiet, cancellationToken);
        if (output is not null)
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(output));
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }

            await File.WriteAllTextAsync(output, result.ToJson(), cancellationToken);
        }

        if (quiet)
        {
            Console.WriteLine(result.ToJson());
            return 0;
        }

        Console.WriteLine(
            $"ingested {result.Documents} documents ({result.Chunks} chunks) in {result.IngestSeconds:F1} s: " +
            $"{result.DocumentsPerSecond:F1} documents/s, {result.ChunksPerSecond:F1} chunks/s; {result.Queries} queries in each mode, {result.Silos} silo(s)");
        var table = ResultTable.Create("mode", "recall@5", $"recall@{Depth}", $"mrr@{Depth}", $"ndcg@{Depth}", "p50 ms", "p99 ms");
        foreach (var m in result.Modes)
        {
            table.Row(m.Mode, F(m.RecallAt5), F(m.RecallAt10), F(m.MrrAt10), F(m.NdcgAt10), m.LatencyMs.P50.ToString("F2", Inv), m.LatencyMs.P99.ToString("F2", Inv));
        }

        ResultTable.Write(table);
        if (output is not null)
        {
            Console.WriteLine($"result written to {output}");
        }

        return 0;

        static string F(double x) => x.ToString("F3", Inv);
    }

    /// <summary>Ingests <paramref name="data"/>'s corpus, asks its judged queries in every mode and scores them.</summary>
    public static async Task<RetrievalResult> MeasureAsync(AgentsClient client, RetrievalDataset data, Options o, bool quiet, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(o);
        var startedAt = DateTimeOffset.UtcNow;
        var silos = await client.Cluster.GetGrain<Orleans.Runtime.IManagementGrain>(0).GetHosts(onlyActive: true);
        var name = $"bench-rel-{Guid.NewGuid():N}"[..24];
        await client.CreateCollectionAsync(
            new CollectionSpec(name, IEmbeddingGrain.Dimension, VectorMetric.Cosine, o.Shards, TextFields: AgentsClient.IngestTextFields), cancellationToken);
        try
        {
            // Each corpus document is one ingested document named by its id, its title as its first line.
            var documents = data.Corpus.Select((d, i) => new JobTask(i, d.Id, Encoding.UTF8.GetBytes(d.Title.Length > 0 ? $"{d.Title}\n\n{d.Text}" : d.Text)));
            var clock = Stopwatch.StartNew();
            var jobId = await client.SubmitIngestAsync(name, documents, cancellationToken);
            var ingest = await ProgressReporter.FollowAsync(client, jobId, $"benchmark {TaskType}: ingest", quiet, cancellationToken, data.Corpus.Count);
            var ingestSeconds = clock.Elapsed.TotalSeconds;
            if (ingest.Status.FailedTasks > 0)
            {
                var first = ingest.Failures.FirstOrDefault();
                throw new InvalidOperationException(
                    $"{ingest.Status.FailedTasks} of the data set's documents failed to ingest{(first is null ? "" : $" (first: {first.Name}: {first.Error})")}: the scores would miss them.");
            }

            await WaitIndexedAsync(client, name, quiet, cancellationToken);

            var queries = data.Judged;
            foreach (var query in queries.Take(WarmupQueries))
            {
                foreach (var mode in Modes)
                {
                    await client.SearchTextAsync(name, query.Text, ChunksAsked, mode, ef: o.Ef, cancellationToken: cancellationToken);
                }
            }

            // Every query in every mode, the modes' order turned query by query, so drift in the machine's load falls on each alike.
            var latency = Modes.ToDictionary(m => m, _ => new LatencyHistogram());
            var scores = Modes.ToDictionary(m => m, _ => new double[4]);
            await ProgressReporter.RunAsync($"benchmark {TaskType}: queries", "queries", quiet, async report =>
            {
                for (var q = 0; q < queries.Count; q++)
                {
                    var relevant = data.Relevant[queries[q].Id];
                    for (var j = 0; j < Modes.Count; j++)
                    {
                        var mode = Modes[(q + j) % Modes.Count];
                        var t0 = Stopwatch.GetTimestamp();
                        var hits = await client.SearchTextAsync(name, queries[q].Text, ChunksAsked, mode, ef: o.Ef, cancellationToken: cancellationToken);
                        latency[mode].Record(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                        var ranked = RetrievalMetrics.Documents(hits.Select(h => h.Id));
                        var s = scores[mode];
                        s[0] += RetrievalMetrics.RecallAt(ranked, relevant, 5);
                        s[1] += RetrievalMetrics.RecallAt(ranked, relevant, Depth);
                        s[2] += RetrievalMetrics.ReciprocalRankAt(ranked, relevant, Depth);
                        s[3] += RetrievalMetrics.NdcgAt(ranked, relevant, Depth);
                    }

                    report(q + 1, queries.Count);
                }

                return queries.Count;
            });

            var chunks = ingest.Totals.Embeddings;
            return new RetrievalResult(
                TaskType, Path.GetFullPath(data.Folder), data.Corpus.Count, chunks, queries.Count, startedAt, ingestSeconds,
                data.Corpus.Count / ingestSeconds, chunks / ingestSeconds,
                Modes.Select(m => new ModeFigures(
                    m.ToString().ToLowerInvariant(), scores[m][0] / queries.Count, scores[m][1] / queries.Count, scores[m][2] / queries.Count,
                    scores[m][3] / queries.Count, Percentiles.Of(latency[m]))).ToList(),
                ChunksAsked, silos.Count, MachineInfo.Current())
            {
                Commit = SourceCommit.Current,
            };
        }
        finally
        {
            await client.DropCollectionAsync(name, CancellationToken.None);
        }
    }

    private static async Task WaitIndexedAsync(AgentsClient client, string name, bool quiet, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var info = await client.DescribeCollectionAsync(name, cancellationToken);
            if (info.Indexed >= info.Points)
            {
                ProgressReporter.Say($"indexed {info.Indexed} chunks ({clock.Elapsed.TotalSeconds:F1} s after the ingest ended)", quiet);
                return;
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;
}

/// <summary>Relevance scores with binary relevance, over a ranked list of documents.</summary>
public static class RetrievalMetrics
{
    /// <summary>
    /// The documents of a ranked list of chunk ids (<c>DOCUMENT#CHUNK</c>, as ingest names them), each at the rank of its
    /// first chunk.
    /// </summary>
    public static IReadOnlyList<string> Documents(IEnumerable<string> pointIds)
    {
        ArgumentNullException.ThrowIfNull(pointIds);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var documents = new List<string>();
        foreach (var id in pointIds)
        {
            var hash = id.LastIndexOf('#');
            var document = hash < 0 ? id : id[..hash];
            if (seen.Add(document))
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    /// <summary>The share of the relevant documents found in the first <paramref name="k"/>.</summary>
    public static double RecallAt(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(relevant);
        return relevant.Count == 0 ? 0 : ranked.Take(k).Count(relevant.Contains) / (double)relevant.Count;
    }

    /// <summary>1 / the rank (from 1) of the first relevant document in the first <paramref name="k"/>; 0 when there is none.</summary>
    public static double ReciprocalRankAt(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(relevant);
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            if (relevant.Contains(ranked[i]))
            {
                return 1.0 / (i + 1);
            }
        }

        return 0;
    }

    /// <summary>
    /// Normalised discounted cumulative gain at <paramref name="k"/>: the sum of 1 / log2(rank + 1) over the relevant
    /// documents in the first k, over the same sum for the ideal list (every relevant document first).
    /// </summary>
    public static double NdcgAt(IReadOnlyList<string> ranked, IReadOnlySet<string> relevant, int k)
    {
        ArgumentNullException.ThrowIfNull(ranked);
        ArgumentNullException.ThrowIfNull(relevant);
        double gain = 0, ideal = 0;
        for (var i = 0; i < Math.Min(k, ranked.Count); i++)
        {
            gain += relevant.Contains(ranked[i]) ? 1 / Math.Log2(i + 2) : 0;
        }

        for (var i = 0; i < Math.Min(k, relevant.Count); i++)
        {
            ideal += 1 / Math.Log2(i + 2);
        }

        return ideal == 0 ? 0 : gain / ideal;
    }
}

/// <summary>A document of a retrieval corpus.</summary>
public sealed record CorpusDocument(string Id, string Title, string Text);

/// <summary>A query of a retrieval data set.</summary>
public sealed record RetrievalQuery(string Id, string Text);

/// <summary>
/// A BEIR-layout data set: <c>corpus.jsonl</c> (<c>_id</c>, <c>title</c>, <c>text</c>), <c>queries.jsonl</c>
/// (<c>_id</c>, <c>text</c>) and <c>qrels/test.tsv</c> (<c>query-id</c>, <c>corpus-id</c>, <c>score</c>; a score above 0 is relevant).
/// </summary>
/// <param name="Folder">Where it was read from.</param>
/// <param name="Corpus">The documents, in file order.</param>
/// <param name="Judged">The queries that have at least one relevant document, in file order: the ones scored.</param>
/// <param name="Relevant">The relevant documents of each judged query.</param>
public sealed record RetrievalDataset(
    string Folder, IReadOnlyList<CorpusDocument> Corpus, IReadOnlyList<RetrievalQuery> Judged, IReadOnlyDictionary<string, IReadOnlySet<string>> Relevant)
{
    /// <summary>The longest document id taken: ingest names a chunk <c>ID#N</c> within the longest point id.</summary>
    public const int MaxIdLength = ShardRouter.MaxIdLength - 8;

    /// <summary>Reads and checks the data set; a missing file, a malformed line or an id that names nothing is an error naming the file and line.</summary>
    public static RetrievalDataset Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"--dataset folder '{folder}' does not exist.");
        }

        var corpusPath = Path.Combine(folder, "corpus.jsonl");
        var queriesPath = Path.Combine(folder, "queries.jsonl");
        var qrelsPath = Path.Combine(folder, "qrels", "test.tsv");
        foreach (var path in new[] { corpusPath, queriesPath, qrelsPath }.Where(p => !File.Exists(p)))
        {
            throw new FileNotFoundException(
                $"--dataset '{folder}' lacks {Path.GetRelativePath(folder, path)} (BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv).");
        }

        var corpus = new List<CorpusDocument>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (line, json) in JsonLines(corpusPath))
        {
            var id = Field(json, "_id", corpusPath, line, required: true)!;
            if (id.Length > MaxIdLength)
            {
                throw new InvalidDataException($"{corpusPath} line {line}: _id '{id[..40]}...' is longer than {MaxIdLength} characters.");
            }

            var text = Field(json, "text", corpusPath, line, required: true)!;
            var title = Field(json, "title", corpusPath, line, required: false) ?? "";
            if (string.IsNullOrWhiteSpace(text) && string.IsNullOrWhiteSpace(title))
            {
                throw new InvalidDataException($"{corpusPath} line {line}: document '{id}' has no text.");
            }

            if (!ids.Add(id))
            {
                throw new InvalidDataException($"{corpusPath} line {line}: _id '{id}' appears twice.");
            }

            corpus.Add(new CorpusDocument(id, title.Trim(), text.Trim()));
        }

        if (corpus.Count == 0)
        {
            throw new InvalidDataException($"{corpusPath} holds no documents.");
        }

        var queries = new Dictionary<string, RetrievalQuery>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var (line, json) in JsonLines(queriesPath))
        {
            var id = Field(json, "_id", queriesPath, line, required: true)!;
            var text = Field(json, "text", queriesPath, line, required: true)!;
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new InvalidDataException($"{queriesPath} line {line}: query '{id}' has no text.");
            }

            if (!queries.TryAdd(id, new RetrievalQuery(id, text.Trim())))
            {
                throw new InvalidDataException($"{queriesPath} line {line}: _id '{id}' appears twice.");
            }

            order.Add(id);
        }

        var relevant = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in File.ReadLines(qrelsPath))
        {
            number++;
            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }

            var cells = raw.Split('\t');
            if (number == 1)
            {
                if (cells is not ["query-id", "corpus-id", "score"])
                {
                    throw new InvalidDataException($"{qrelsPath} line 1: expected the header 'query-id<TAB>corpus-id<TAB>score', found '{raw}'.");
                }

                continue;
            }

            if (cells.Length != 3 || !int.TryParse(cells[2], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var score))
            {
                throw new InvalidDataException($"{qrelsPath} line {number}: expected query-id, corpus-id and an integer score separated by tabs, found '{raw}'.");
            }

            if (!queries.ContainsKey(cells[0]))
            {
                throw new InvalidDataException($"{qrelsPath} line {number}: query '{cells[0]}' is not in {queriesPath}.");
            }

            if (!ids.Contains(cells[1]))
            {
                throw new InvalidDataException($"{qrelsPath} line {number}: document '{cells[1]}' is not in {corpusPath}.");
            }

            if (score > 0)
            {
                (relevant.TryGetValue(cells[0], out var set) ? set : relevant[cells[0]] = new HashSet<string>(StringComparer.Ordinal)).Add(cells[1]);
            }
        }

        var judged = order.Where(relevant.ContainsKey).Select(id => queries[id]).ToList();
        if (judged.Count == 0)
        {
            throw new InvalidDataException($"{qrelsPath} judges no query relevant to any document: there is nothing to score.");
        }

        return new RetrievalDataset(folder, corpus, judged, relevant.ToDictionary(e => e.Key, e => (IReadOnlySet<string>)e.Value, StringComparer.Ordinal));
    }

    private static IEnumerable<(int Line, JsonElement Json)> JsonLines(string path)
    {
        var number = 0;
        foreach (var raw in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }

            JsonElement element;
            try
            {
                using var json = JsonDocument.Parse(raw);
                element = json.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path} line {number}: not a JSON object ({e.Message.Split('.')[0]}).");
            }

            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"{path} line {number}: not a JSON object.");
            }

            yield return (number, element);
        }
    }

    private static string? Field(JsonElement json, string name, string path, int line, bool required) =>
        json.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                JsonValueKind.Null when !required => null,
                _ => throw new InvalidDataException($"{path} line {line}: \"{name}\" is not a string."),
            }
            : required ? throw new InvalidDataException($"{path} line {line}: \"{name}\" is missing.") : null;
}

/// <summary>One search mode's scores and latency.</summary>
public sealed record ModeFigures(string Mode, double RecallAt5, double RecallAt10, double MrrAt10, double NdcgAt10, LatencyMs LatencyMs);

/// <summary>The result of a retrieval benchmark, as written by <c>--output</c> and <c>--json</c>.</summary>
public sealed record RetrievalResult(
    string TaskType, string Dataset, int Documents, long Chunks, int Queries, DateTimeOffset StartedAt, double IngestSeconds,
    double DocumentsPerSecond, double ChunksPerSecond, IReadOnlyList<ModeFigures> Modes, int ChunksAskedPerQuery, int Silos, MachineInfo Machine)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The source commit the binary was built from.</summary>
    public string? Commit { get; init; }

    /// <summary>The JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);
}
