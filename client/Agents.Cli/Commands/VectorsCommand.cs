using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Agents.Grains.Vectors;

namespace Agents.Cli;

/// <summary><c>vectors upsert|search|delete</c>: the points of a collection.</summary>
internal static class VectorsCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var name = new Argument<string>("collection") { Description = "The collection's name." };
        var input = new Option<string>("--input") { Description = ".fvecs (ids 0..n-1) or .jsonl ({\"id\",\"vector\",\"payload\"} per line).", Required = true };
        var upsert = new Command("upsert", "Upsert points from a file; returns once they are durable.") { name, input };
        upsert.AddConnection().AddJson().WithExamples(
            "p2p-ai-agents vectors upsert sift --input base.fvecs",
            "p2p-ai-agents vectors upsert docs --input points.jsonl --json");
        upsert.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var collection = OptionChecks.CollectionName(parse, name);
            var path = OptionChecks.PathOf(parse.GetValue(input), "--input");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"Vector file '{path}' does not exist.");
            }

            // Read through once before anything starts, so a bad point is named by its line and nothing is half written.
            var count = VectorFiles.ReadPoints(path).LongCount();
            if (count == 0)
            {
                throw new InvalidDataException($"'{path}' holds no points.");
            }

            var json = parse.GetValue(GlobalOptions.Json);
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            var clock = Stopwatch.StartNew();
            var written = await ProgressReporter.RunAsync($"upsert {collection}", "points", json, report =>
                client.UpsertAsync(collection, VectorFiles.ReadPoints(path), new ProgressReporter.Reported<long>(n => report(n, count)), cancellationToken));
            var seconds = clock.Elapsed.TotalSeconds;
            Console.WriteLine(json
                ? JsonSerializer.Serialize(new { upserted = written, seconds, perSecond = written / seconds }, GlobalOptions.JsonOutput)
                : $"{written} points upserted into {collection} in {seconds:F2} s ({written / seconds:F0}/s)");
            return 0;
        }));

        var searchName = new Argument<string>("collection") { Description = "The collection's name." };
        var vector = new Option<string?>("--vector") { Description = "One query: comma-separated floats." };
        var queryFile = new Option<string?>("--query-file") { Description = "Queries from an .fvecs file." };
        var k = new Option<int>("-k", "--k") { Description = "Neighbours per query.", DefaultValueFactory = _ => 10 };
        var ef = new Option<int?>("--ef") { Description = "HNSW search breadth (default: the collection's)." };
        var filter = new Option<string[]>("--filter") { Description = "field=value, field=a|b, field>=n, field<=n, field=lo..hi (repeat: all must hold)." };
        var output = new Option<string?>("--output") { Description = "Write ids and scores per query as JSON." };
        var text = new Option<string?>("--text") { Description = "One query in plain words: embedded on the cluster for dense and hybrid, matched by BM25 for keyword and hybrid." };
        var mode = new Option<string>("--mode")
        {
            Description = "With --text: hybrid (dense and keyword fused; the default when the collection has text fields), dense, or keyword (BM25 alone).",
        }.OneOf(SearchModeNames.All, v => SearchModeNames.All.Contains(v.Trim().ToLowerInvariant()));
        var alpha = new Option<double?>("--alpha")
        {
            Description = $"Hybrid mode: the dense list's weight in the fused score, 0 (keyword only) to 1 (dense only). [default: {HybridSearch.DefaultAlpha}]",
        };
        var search = new Command("search", "Nearest-neighbour, keyword or hybrid search.") { searchName, vector, queryFile, text, mode, alpha, k, ef, filter, output };
        search.AddConnection().AddJson().WithExamples(
            "p2p-ai-agents vectors search docs --text \"how do silos join a cluster\" -k 5",
            "p2p-ai-agents vectors search docs --text \"half a byte\" --mode keyword",
            "p2p-ai-agents vectors search small --vector 0.1,0.2,0.3,0.4 --filter lang=en --filter year>=2020",
            "p2p-ai-agents vectors search sift --query-file query.fvecs -k 10 --output hits.json");
        search.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var collection = OptionChecks.CollectionName(parse, searchName);
            OptionChecks.InRange(parse.GetValue(k), "-k", 1, ShardRouter.MaxK);
            OptionChecks.InRange(parse.GetValue(ef) ?? 1, "--ef", 1, ShardRouter.MaxEf);
            var outputPath = OptionChecks.OutputFile(parse.GetValue(output), "--output");
            var given = new[] { (vector, "--vector"), (queryFile, "--query-file"), (text, "--text") }.Where(o => parse.GetValue(o.Item1) is not null).Select(o => o.Item2).ToList();
            if (given.Count != 1)
            {
                throw new ArgumentException(given.Count == 0
                    ? "Give a query: --text \"plain words\", --vector \"0.1,0.2,...\" or --query-file FILE.fvecs."
                    : $"Give one query, not {string.Join(" and ", given)}.");
            }

            SearchMode? searchMode = parse.GetValue(mode) is { } m ? SearchModeNames.Parse(m) : null;
            var weight = parse.GetValue(alpha);
            if (weight is { } a && !(a is >= 0 and <= 1))
            {
                throw new ArgumentException($"--alpha {a} is out of range: use 0 (keyword only) .. 1 (dense only).");
            }

            if (weight is not null && parse.GetValue(text) is null)
            {
                throw new ArgumentException("--alpha weighs a hybrid search, which needs the query in words: give --text \"...\".");
            }

            if (weight is not null && searchMode is SearchMode.Dense or SearchMode.Keyword)
            {
                throw new ArgumentException($"--alpha weighs the two lists of a hybrid search; --mode {searchMode.Value.ToName()} has one.");
            }

            if (parse.GetValue(text) is { } question)
            {
                return string.IsNullOrWhiteSpace(question)
                    ? throw new ArgumentException("--text is empty: give the words to search for.")
                    : await SearchTextAsync(
                        GlobalOptions.Connection(parse), collection, question, searchMode, weight, parse.GetValue(k), parse.GetValue(ef), parse.GetValue(filter), parse.GetValue(GlobalOptions.Json), cancellationToken);
            }

            if (searchMode is SearchMode.Keyword or SearchMode.Hybrid)
            {
                throw new ArgumentException($"--mode {searchMode.Value.ToName()} needs the query in words: give --text \"...\" instead of {given[0]}.");
            }

            var queries = parse.GetValue(vector) is { } v ? [VectorFiles.ParseVector(v)] : VectorFiles.ReadFvecs(OptionChecks.PathOf(parse.GetValue(queryFile), "--query-file")).ToList();
            if (queries.Count == 0)
            {
                throw new InvalidDataException($"--query-file '{parse.GetValue(queryFile)}' holds no vectors.");
            }

            var conditions = parse.GetValue(filter) is { Length: > 0 } fs ? fs.Select(VectorFiles.ParseFilter).ToArray() : null;
            var payloadFilter = conditions is null ? null : new PayloadFilter(conditions);
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            var results = new List<object>();
            var json = parse.GetValue(GlobalOptions.Json);
            var table = ResultTable.Create(queries.Count > 1 ? ["query", "id", "score", "payload"] : ["id", "score", "payload"]);
            var clock = Stopwatch.StartNew();

            // A query file goes to the shards in batches, many queries per call.
            var answers = queries.Count == 1
                ? [await client.SearchAsync(collection, queries[0], parse.GetValue(k), parse.GetValue(ef), payloadFilter, cancellationToken)]
                : await client.SearchBatchAsync(collection, queries, parse.GetValue(k), parse.GetValue(ef), payloadFilter, cancellationToken: cancellationToken);
            for (var q = 0; q < queries.Count; q++)
            {
                var hits = answers[q];
                results.Add(new
                {
                    query = q,
                    ids = hits.Select(h => h.Id).ToArray(),
                    scores = hits.Select(h => h.Score).ToArray(),
                    // A payload is the JSON object it was stored as, not a string holding it.
                    payloads = hits.Select(h => PayloadJson(h.Payload)).ToArray(),
                });
                foreach (var h in hits)
                {
                    var payload = h.Payload.Length == 0 ? "" : Encoding.UTF8.GetString(h.Payload);
                    var score = h.Score.ToString("F6", System.Globalization.CultureInfo.InvariantCulture);
                    if (queries.Count > 1)
                    {
                        table.Row(q, h.Id, score, payload);
                    }
                    else
                    {
                        table.Row(h.Id, score, payload);
                    }
                }
            }

            var seconds = clock.Elapsed.TotalSeconds;
            if (outputPath is { } path)
            {
                // As benchmark --output: the folder is made if it is not there.
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                await File.WriteAllTextAsync(path, JsonSerializer.Serialize(results, GlobalOptions.JsonOutput), cancellationToken);
                Console.WriteLine($"{queries.Count} queries in {seconds:F2} s ({queries.Count / seconds:F0}/s); results written to {path}");
            }
            else if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(results, GlobalOptions.JsonOutput));
            }
            else
            {
                ResultTable.Write(table);
            }

            return 0;
        }));

        var deleteName = new Argument<string>("collection") { Description = "The collection's name." };
        var ids = new Option<string[]>("--id") { Description = "A point id (repeatable).", Required = true };
        var delete = new Command("delete", "Delete points by id.") { deleteName, ids };
        delete.AddConnection().AddJson().WithExamples("p2p-ai-agents vectors delete docs --id a1 --id a2", "p2p-ai-agents vectors delete docs --id a1 --json");
        delete.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var collection = OptionChecks.CollectionName(parse, deleteName);
            if (parse.GetValue(ids)!.FirstOrDefault(id => id.Length is 0 or > ShardRouter.MaxIdLength) is { } badId)
            {
                throw new ArgumentException($"--id '{badId}' has {badId.Length} characters; use 1..{ShardRouter.MaxIdLength}.");
            }

            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            var n = await client.DeletePointsAsync(collection, parse.GetValue(ids)!, cancellationToken);
            Console.WriteLine(parse.GetValue(GlobalOptions.Json) ? JsonSerializer.Serialize(new { deleted = n }, GlobalOptions.JsonOutput) : $"{n} point(s) deleted");
            return 0;
        }));

        return new Command("vectors", "Upsert, search and delete points of a collection.") { upsert, search, delete }.WithExamples(
            "p2p-ai-agents vectors upsert sift --input base.fvecs",
            "p2p-ai-agents vectors search docs --text \"how do silos join a cluster\"",
            "p2p-ai-agents vectors delete docs --id a1");
    }

    private static async Task<int> SearchTextAsync(
        Target connection, string collection, string question, SearchMode? mode, double? alpha, int k, int? ef, string[]? filters, bool json, CancellationToken cancellationToken)
    {
        var conditions = filters is { Length: > 0 } fs ? fs.Select(VectorFiles.ParseFilter).ToArray() : null;
        await using var client = await connection.ConnectAsync(cancellationToken);
        var spec = (await client.DescribeCollectionAsync(collection, cancellationToken)).Spec;

        // Hybrid where the collection keeps a keyword index; a collection without text fields answers dense searches only.
        var searchMode = mode ?? (spec.HasKeywordIndex ? SearchMode.Hybrid : SearchMode.Dense);
        if (searchMode != SearchMode.Dense && !spec.HasKeywordIndex)
        {
            throw new ArgumentException(
                $"--mode {searchMode.ToName()} needs a collection with text fields; {collection} has none (create it with --text-field, or search with --mode dense).");
        }

        // Checked before the model is loaded: its vectors fit only a collection of its dimension.
        if (searchMode != SearchMode.Keyword && spec.Dimension != IEmbeddingGrain.Dimension)
        {
            throw new ArgumentException(
                $"--text needs a collection of the model's {IEmbeddingGrain.Dimension} dimensions; {collection} has {spec.Dimension} ({searchMode.ToName()} mode embeds the query; --mode keyword needs no model).");
        }

        var hits = await client.SearchTextHitsAsync(collection, question, k, searchMode, conditions is null ? null : new PayloadFilter(conditions), ef, alpha, cancellationToken);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(hits, GlobalOptions.JsonOutput));
            return 0;
        }

        var table = ResultTable.Create("score", "source", "text");
        foreach (var hit in hits)
        {
            table.Row(hit.Score.ToString("F4", System.Globalization.CultureInfo.InvariantCulture), $"{hit.Source ?? hit.Id}{(hit.Chunk is { } c ? $" #{c}" : "")}", Snippets.Of(hit.Text, hit.Chunk));
        }

        ResultTable.Write(table);
        return 0;
    }

    /// <summary>A payload as the JSON object it was stored as; null when the point has none.</summary>
    private static JsonElement? PayloadJson(byte[] payload)
    {
        if (payload.Length == 0)
        {
            return null;
        }

        using var document = JsonDocument.Parse(payload);
        return document.RootElement.Clone();
    }
}
