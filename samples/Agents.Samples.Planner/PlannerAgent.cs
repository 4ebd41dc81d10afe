using System.Collections.Concurrent;
using System.Text.Json;
using Agents.Client;
using Agents.GrainInterfaces;

namespace Agents.Samples.Planner;

/// <summary>What the planner did with a folder: documents and chunks, and how many embed requests each agent (on its silo) answered.</summary>
public sealed record LearnReport(int Documents, int Chunks, IReadOnlyDictionary<string, int> EmbedsByAgent);

/// <summary>
/// A planner agent: it splits a folder of documents into chunks (<c>process-text</c>), has each document's chunks
/// embedded by the <c>embed</c> agents spread over the silos (<c>AskAnyAsync</c> picks a holder per request), upserts them into a
/// collection, and answers questions with <c>search</c>. Every step is a request to the cluster's built-in capabilities.
/// </summary>
public sealed class PlannerAgent(AgentsClient client, string collection, TextWriter log, int chunksPerEmbed = PlannerAgent.ChunksPerEmbed)
{
    /// <summary>Chunks per embed request by default: small enough that a folder's requests spread over the holders.</summary>
    public const int ChunksPerEmbed = 16;

    /// <summary>The payload fields the collection indexes for keyword search.</summary>
    private static readonly string[] TextFields = ["title", "text"];

    /// <summary>Reads every .md and .txt file under <paramref name="folder"/>, embeds its chunks on the cluster and upserts them.</summary>
    public async Task<LearnReport> LearnAsync(string folder, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"The documents folder '{folder}' does not exist.");
        }

        var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".md", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count == 0)
        {
            throw new FileNotFoundException($"The folder '{folder}' holds no .md or .txt documents.");
        }

        // 1. Split: the text pipeline cuts each document into chunks of whole sentences (on any holder of process-text).
        var chunks = new List<(string Source, string? Title, int Index, string Text)>();
        foreach (var file in files)
        {
            var text = await File.ReadAllTextAsync(file, cancellationToken);
            var processed = await AskAnyAsync<ProcessTextRequest, ProcessTextReply>(BuiltInCapabilities.ProcessText, new ProcessTextRequest(text), cancellationToken);
            var source = Path.GetRelativePath(folder, file);
            chunks.AddRange(processed.Chunks.Select(c => (source, processed.Title, c.Index, c.Text!)));
        }

        await log.WriteLineAsync($"planner: {files.Count} document(s) split into {chunks.Count} chunk(s)");

        // 2. Embed: one request per document (its chunks, at most chunksPerEmbed a request), all in flight at once,
        // each routed to an embed agent; the vectors come back in the chunks' order.
        var byAgent = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var groups = chunks.GroupBy(c => c.Source, StringComparer.Ordinal).SelectMany(d => d.Chunk(Math.Max(1, chunksPerEmbed))).ToList();
        var vectors = await Task.WhenAll(groups.Select(async group =>
        {
            var reply = await AskAnyAsync<EmbedRequest, EmbedReply>(
                BuiltInCapabilities.Embed, new EmbedRequest(group.Select(c => c.Text).ToArray()), cancellationToken);
            byAgent.AddOrUpdate($"{reply.Agent} on {reply.Silo}", 1, (_, n) => n + 1);
            return reply.Vectors;
        }));

        // 3. Upsert: one point per chunk, its text and source in the payload for keyword search and for the answer.
        try
        {
            await client.DescribeCollectionAsync(collection, cancellationToken);
        }
        catch (KeyNotFoundException)
        {
            await client.CreateCollectionAsync(new CollectionSpec(collection, IEmbeddingGrain.Dimension, VectorMetric.Cosine, TextFields: TextFields), cancellationToken);
        }

        var points = chunks.Zip(vectors.SelectMany(v => v)).Select(p => new PointInput(
            $"{p.First.Source}#{p.First.Index}",
            p.Second,
            JsonSerializer.Serialize(new { source = p.First.Source, chunk = p.First.Index, title = p.First.Title, text = p.First.Text })));
        await client.UpsertAsync(collection, points, cancellationToken: cancellationToken);
        foreach (var (agent, n) in byAgent.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            await log.WriteLineAsync($"planner: {n} embed request(s) answered by {agent}");
        }

        return new LearnReport(files.Count, chunks.Count, byAgent);
    }

    /// <summary>The best <paramref name="k"/> chunks for <paramref name="question"/> (hybrid search, on any holder of search).</summary>
    public async Task<CapabilitySearchHit[]> AnswerAsync(string question, int k = 3, CancellationToken cancellationToken = default)
    {
        var reply = await AskAnyAsync<CapabilitySearchRequest, CapabilitySearchReply>(
            BuiltInCapabilities.Search, new CapabilitySearchRequest(collection, question, K: k), cancellationToken);
        return reply.Hits;
    }

    private async Task<TReply> AskAnyAsync<TRequest, TReply>(string capability, TRequest request, CancellationToken cancellationToken)
    {
        var reply = await client.AskAnyAsync(capability, capability, BuiltInCapabilities.Encode(request), cancellationToken: cancellationToken);
        return BuiltInCapabilities.Decode<TReply>(reply, capability);
    }
}
