using System.Text.Json;
using System.Text.Json.Serialization;

namespace Agents.GrainInterfaces;

/// <summary>
/// The capabilities every silo serves out of the box: the product's own work (text processing, embeddings, search, jobs)
/// as agent requests. Bodies are UTF-8 JSON (camelCase) of the request and reply records below.
/// </summary>
public static class BuiltInCapabilities
{
    /// <summary>The text pipeline on one document: <see cref="ProcessTextRequest"/> → <see cref="ProcessTextReply"/>.</summary>
    public const string ProcessText = "process-text";

    /// <summary>Texts to unit-length vectors with the silo's model: <see cref="EmbedRequest"/> → <see cref="EmbedReply"/>.</summary>
    public const string Embed = "embed";

    /// <summary>A collection searched by text or vector: <see cref="CapabilitySearchRequest"/> → <see cref="CapabilitySearchReply"/>.</summary>
    public const string Search = "search";

    /// <summary>A job spec and its documents to a job id: <see cref="SubmitJobRequest"/> → <see cref="SubmitJobReply"/>.</summary>
    public const string SubmitJob = "submit-job";

    /// <summary>Every built-in capability, in the order listed to users.</summary>
    public static readonly IReadOnlyList<string> All = [ProcessText, Embed, Search, SubmitJob];

    /// <summary>How request and reply bodies are written: camelCase, case-insensitive on read, enums by name (a filter's <c>"operator": "range"</c>).</summary>
    public static readonly JsonSerializerOptions Json = AgentJson.Options;

    /// <summary>The JSON body of <paramref name="value"/>.</summary>
    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Json);

    /// <summary>
    /// The <typeparamref name="T"/> in <paramref name="body"/>; a body that is not JSON of that shape throws an
    /// <see cref="ArgumentException"/> naming the capability and where the JSON broke.
    /// </summary>
    public static T Decode<T>(byte[] body, string capability)
    {
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            return JsonSerializer.Deserialize<T>(body, Json)
                ?? throw new ArgumentException($"The '{capability}' request body is JSON null; send a {typeof(T).Name} object.");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"The '{capability}' request body is not a {typeof(T).Name}: {e.Message}", e);
        }
    }

    /// <summary>The search mode named <paramref name="name"/> (dense, keyword, hybrid; null means hybrid).</summary>
    public static SearchMode ParseMode(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" or "hybrid" => SearchMode.Hybrid,
        "dense" => SearchMode.Dense,
        "keyword" => SearchMode.Keyword,
        _ => throw new ArgumentException($"Search mode '{name}' is unknown: use dense, keyword or hybrid."),
    };

    /// <summary>The job distribution named <paramref name="name"/> (round-robin, random, least-loaded; null means least-loaded).</summary>
    public static Distribution ParseDistribution(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null or "" or "least-loaded" => Distribution.LeastLoaded,
        "round-robin" => Distribution.RoundRobin,
        "random" => Distribution.Random,
        _ => throw new ArgumentException($"Distribution '{name}' is unknown: use round-robin, random or least-loaded."),
    };
}

/// <summary>A document for the text pipeline.</summary>
/// <param name="Text">The document's text (not empty).</param>
/// <param name="MaxKeywords">Keywords returned at most (the silo's setting when null).</param>
/// <param name="WithChunkText">False leaves the chunks' text out of the reply (their offsets stay).</param>
public sealed record ProcessTextRequest(string Text, int? MaxKeywords = null, bool WithChunkText = true);

/// <summary>What the text pipeline made of a document.</summary>
public sealed record ProcessTextReply(string ContentHash, string? Title, TextStatistics Statistics, TextChunkInfo[] Chunks, KeywordScore[] Keywords);

/// <summary>A document's counts.</summary>
public sealed record TextStatistics(int Characters, int Words, int Sentences, int Tokens, int Chunks, int UniqueWords, double AverageWordLength, double AverageSentenceWords);

/// <summary>One chunk of whole sentences: its place in tokens and characters, and its text (null when not asked for).</summary>
public sealed record TextChunkInfo(int Index, int TokenStart, int TokenCount, int CharStart, int CharLength, string? Text);

/// <summary>A keyword and its score.</summary>
public sealed record KeywordScore(string Term, double Score);

/// <summary>Texts to embed (1..4096, none empty).</summary>
public sealed record EmbedRequest(string[] Texts);

/// <summary>One unit-length vector per text, in order, and the agent and silo that computed them (to see requests spread).</summary>
public sealed record EmbedReply(int Dimension, float[][] Vectors, string Agent, string Silo);

/// <summary>
/// A search of <paramref name="Collection"/>: by <paramref name="Text"/> (embedded with the silo's model when the mode
/// needs a vector), by <paramref name="Vector"/>, or both.
/// </summary>
/// <param name="Collection">The collection's name.</param>
/// <param name="Text">The query in words (keyword and hybrid modes; dense mode embeds it when no vector is given).</param>
/// <param name="Vector">The query vector, of the collection's dimension.</param>
/// <param name="K">Hits wanted (1..10,000).</param>
/// <param name="Mode">dense, keyword or hybrid; null means hybrid with text, dense with only a vector.</param>
/// <param name="Filter">Conditions every hit's payload must meet.</param>
/// <param name="Alpha">The dense list's weight in a hybrid query (0..1).</param>
public sealed record CapabilitySearchRequest(
    string Collection, string? Text = null, float[]? Vector = null, int K = 10, string? Mode = null, PayloadFilter? Filter = null, double? Alpha = null);

/// <summary>The hits, best first.</summary>
public sealed record CapabilitySearchReply(string Mode, CapabilitySearchHit[] Hits);

/// <summary>A hit: the point's id, its score in the query's mode, and its payload (JSON, null when it has none).</summary>
public sealed record CapabilitySearchHit(string Id, float Score, JsonElement? Payload);

/// <summary>A job to run over documents.</summary>
/// <param name="TaskType">text-processing, embedding or e2e (ingest into <paramref name="Collection"/>).</param>
/// <param name="Documents">The documents (at least one, none empty).</param>
/// <param name="Distribution">round-robin, random or least-loaded (the default).</param>
/// <param name="Collection">The collection an e2e job upserts into (created, cosine and 384-d, when missing).</param>
/// <param name="Label">A label shown by <c>jobs list</c>.</param>
/// <param name="BatchSize">Documents per batch (the job's default when 0).</param>
public sealed record SubmitJobRequest(
    string TaskType, JobDocument[] Documents, string? Distribution = null, string? Collection = null, string? Label = null, int BatchSize = 0);

/// <summary>A document of a job: a name (e.g. its file name) and its text.</summary>
public sealed record JobDocument(string Name, string Text);

/// <summary>The job's id and the documents it took; follow it with <c>jobs status</c> or the client's WaitAsync.</summary>
public sealed record SubmitJobReply(Guid JobId, int Tasks);
