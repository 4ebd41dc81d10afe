using System.CommandLine;
using System.Text.Json;

namespace Agents.Cli;

/// <summary><c>collection create|list|describe|drop</c>: vector collections.</summary>
internal static class CollectionCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The collection's name." };
        var dimension = new Option<int>("--dimension") { Description = "Floats per vector (1..4096).", Required = true };
        var metric = new Option<string>("--metric") { Description = "How near two vectors are (l2: Euclidean distance).", DefaultValueFactory = _ => "cosine" }
            .OneOf(MetricNames.All, MetricNames.IsKnown);
        var shards = new Option<int>("--shards") { Description = "Shard grains; 0 (the default) is two per active silo, fixed at creation.", DefaultValueFactory = _ => ShardRouter.ClusterDefaultShards };
        var index = new Option<string>("--index") { Description = "hnsw: an approximate graph; flat: an exact scan.", DefaultValueFactory = _ => "hnsw" }
            .OneOf(IndexKindNames.All, v => IndexKindNames.All.Contains(v.Trim().ToLowerInvariant()));
        var m = new Option<int>("--m") { Description = "HNSW links per node.", DefaultValueFactory = _ => 16 };
        var efc = new Option<int>("--ef-construction") { Description = "HNSW build breadth.", DefaultValueFactory = _ => 200 };
        var ef = new Option<int>("--ef") { Description = "HNSW default search breadth.", DefaultValueFactory = _ => 64 };
        var quantize = new Option<bool>("--quantize") { Description = "HNSW on int8 codes, rescored on the full vectors (kept memory-mapped)." };
        var textFields = new Option<string[]>("--text-field")
        {
            Description = "A payload field to index for keyword and hybrid search (repeatable; its strings, or arrays of strings, are the text).",
        };
        var create = new Command("create", "Create a collection.") { name, dimension, metric, shards, index, m, efc, ef, quantize, textFields };
        create.AddConnection().AddJson().WithExamples(
            "p2p-ai-agents collection create docs --dimension 384",
            "p2p-ai-agents collection create sift --dimension 128 --metric l2 --index hnsw --m 16 --ef-construction 200",
            "p2p-ai-agents collection create small --dimension 4 --index flat --shards 1",
            "p2p-ai-agents collection create notes --dimension 384 --text-field title --text-field text");
        create.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var spec = new CollectionSpec(OptionChecks.CollectionName(parse, name), parse.GetValue(dimension), MetricNames.Parse(parse.GetValue(metric)),
                parse.GetValue(shards), IndexKindNames.Parse(parse.GetValue(index)), parse.GetValue(m), parse.GetValue(efc), parse.GetValue(ef), parse.GetValue(quantize),
                parse.GetValue(textFields) is { Length: > 0 } fields ? fields : null);
            ShardRouter.Validate(spec);
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            Print(await client.CreateCollectionAsync(spec, cancellationToken), parse.GetValue(GlobalOptions.Json));
            return 0;
        }));

        var list = new Command("list", "List collections.");
        list.AddConnection().AddJson().WithExamples("p2p-ai-agents collection list", "p2p-ai-agents collection list --json");
        list.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            var specs = await client.ListCollectionsAsync(cancellationToken);
            if (parse.GetValue(GlobalOptions.Json))
            {
                Console.WriteLine(JsonSerializer.Serialize(specs, GlobalOptions.JsonOutput));
            }
            else
            {
                if (specs.Count > 0)
                {
                    var table = ResultTable.Create("name", "dimension", "metric", "index", "shards", "text-fields");
                    foreach (var s in specs)
                    {
                        table.Row(s.Name, s.Dimension, s.Metric.ToName(), s.Index.ToName() + (s.Quantize ? " (int8)" : ""), s.Shards, TextFieldsOf(s));
                    }

                    ResultTable.Write(table);
                }

                Console.WriteLine($"{specs.Count} collection(s)");
            }

            return 0;
        }));

        var describeName = new Argument<string>("name") { Description = "The collection's name." };
        var describe = new Command("describe", "Show a collection's schema and point count.") { describeName };
        describe.AddConnection().AddJson().WithExamples("p2p-ai-agents collection describe docs", "p2p-ai-agents collection describe docs --json");
        describe.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var collection = OptionChecks.CollectionName(parse, describeName);
            await using var client = await GlobalOptions.Connection(parse).ConnectAsync(cancellationToken);
            Print(await client.DescribeCollectionAsync(collection, cancellationToken), parse.GetValue(GlobalOptions.Json));
            return 0;
        }));

        var dropName = new Argument<string>("name") { Description = "The collection's name." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Drop without asking (needed when stdin is not a terminal)." };
        var drop = new Command("drop", "Delete a collection and its points.") { dropName, yes };
        drop.AddConnection().AddJson().WithExamples("p2p-ai-agents collection drop docs", "p2p-ai-agents collection drop docs --yes", "p2p-ai-agents collection drop -- -odd-name");
        drop.SetAction((parse, cancellationToken) => CommandAction.Run(parse, async () =>
        {
            var collection = OptionChecks.CollectionName(parse, dropName);
            var target = GlobalOptions.Connection(parse);
            var confirmed = parse.GetValue(yes);
            if (!confirmed && Console.IsInputRedirected)
            {
                // As kubectl and gh: no terminal to ask on, so nothing is deleted unless the caller said so.
                throw new ArgumentException($"collection drop deletes {collection} and its points for good; stdin is not a terminal to confirm on: add --yes.");
            }

            await using var client = await target.ConnectAsync(cancellationToken);
            if (!confirmed)
            {
                var points = (await client.DescribeCollectionAsync(collection, cancellationToken)).Points;
                await Console.Error.WriteAsync($"Drop collection {collection} and its {points:N0} points? [y/N] ");
                var answer = (await Console.In.ReadLineAsync(cancellationToken))?.Trim();
                if (answer is null || !(answer.Equals("y", StringComparison.OrdinalIgnoreCase) || answer.Equals("yes", StringComparison.OrdinalIgnoreCase)))
                {
                    await Console.Error.WriteLineAsync($"collection {collection} kept");
                    return 1;
                }
            }

            await client.DropCollectionAsync(collection, cancellationToken);
            Console.WriteLine(parse.GetValue(GlobalOptions.Json) ? JsonSerializer.Serialize(new { dropped = collection }, GlobalOptions.JsonOutput) : $"collection {collection} dropped");
            return 0;
        }));

        return new Command("collection", "Create, list, describe and drop vector collections.") { create, list, describe, drop }.WithExamples(
            "p2p-ai-agents collection create docs --dimension 384 --metric cosine",
            "p2p-ai-agents collection list",
            "p2p-ai-agents collection describe docs");
    }

    private static void Print(CollectionInfo info, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(info, GlobalOptions.JsonOutput));
            return;
        }

        var s = info.Spec;
        Console.WriteLine($"{s.Name}: dimension {s.Dimension}, {s.Metric.ToName()}, {s.Index.ToName()} (m {s.M}, ef_construction {s.EfConstruction}, ef {s.Ef}{(s.Quantize ? ", int8 quantized" : "")}), {s.Shards} shards, {info.Points} points ({info.Indexed} indexed), created {info.CreatedAt:u}");
        Console.WriteLine($"text fields (keyword search): {TextFieldsOf(s)}");
        var mapped = info.Shards.Any(shard => shard.MappedBytes > 0);
        var table = mapped
            ? ResultTable.Create("shard", "silo", "points", "indexed", "vectors MB", "graph MB", "mapped MB")
            : ResultTable.Create("shard", "silo", "points", "indexed", "vectors MB", "graph MB");
        foreach (var shard in info.Shards)
        {
            var cells = new List<object?> { shard.Shard, shard.Silo, shard.Points, shard.Indexed, Megabytes(shard.VectorBytes), Megabytes(shard.IndexBytes) };
            if (mapped)
            {
                cells.Add(Megabytes(shard.MappedBytes));
            }

            table.Row([.. cells]);
        }

        ResultTable.Write(table);
    }

    private static string TextFieldsOf(CollectionSpec spec) => spec.HasKeywordIndex ? string.Join(", ", spec.TextFields!) : "none";

    private static string Megabytes(long bytes) => (bytes / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
}
