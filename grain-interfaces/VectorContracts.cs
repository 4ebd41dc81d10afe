namespace Agents.GrainInterfaces;

/// <summary>A collection's schema: what its points look like and how they are indexed.</summary>
/// <param name="Name">1-64 characters of [A-Za-z0-9_-].</param>
/// <param name="Dimension">Floats per vector, 1..4096.</param>
/// <param name="Shards">
/// Shard grains the points are spread over by a hash of their id; 0 (the default) lets the cluster choose two per active
/// silo when the collection is created. The count never changes afterwards.
/// </param>
/// <param name="Index"><c>hnsw</c> or <c>flat</c> (exact).</param>
/// <param name="Ef">Default search breadth of <c>hnsw</c>; a search may ask for another.</param>
/// <param name="Quantize">
/// <c>hnsw</c> only: build and search the graph on int8 codes (a quarter of the floats' memory) and rescore the
/// candidates on the full vectors, which are kept in a memory-mapped file instead of the heap.
/// </param>
/// <param name="TextFields">
/// Top-level payload fields (strings, or arrays of strings) indexed for keyword search, as one text per point; null or
/// empty: the collection has no keyword index and answers dense searches only. A collection that <c>ingest</c> creates
/// names <c>title</c> and <c>text</c>.
/// </param>
[GenerateSerializer, Immutable]
public sealed record CollectionSpec(
    string Name, int Dimension, VectorMetric Metric = VectorMetric.Cosine, int Shards = 0, VectorIndexKind Index = VectorIndexKind.Hnsw,
    int M = 16, int EfConstruction = 200, int Ef = 64, bool Quantize = false, string[]? TextFields = null)
{
    /// <summary>True when the collection keeps a keyword index (it names at least one text field).</summary>
    public bool HasKeywordIndex => TextFields is { Length: > 0 };

    /// <summary>Equal schemas: every field, text fields compared in order (null and empty alike).</summary>
    public bool Equals(CollectionSpec? other) =>
        other is not null && Name == other.Name && Dimension == other.Dimension && Metric == other.Metric && Shards == other.Shards
        && Index == other.Index && M == other.M && EfConstruction == other.EfConstruction && Ef == other.Ef && Quantize == other.Quantize
        && (TextFields ?? []).AsSpan().SequenceEqual(other.TextFields ?? []);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var hash = HashCode.Combine(Name, Dimension, Metric, Shards, Index, M, EfConstruction, HashCode.Combine(Ef, Quantize));
        foreach (var field in TextFields ?? [])
        {
            hash = HashCode.Combine(hash, field);
        }

        return hash;
    }
}

/// <summary>How a query finds its hits.</summary>
[GenerateSerializer]
public enum SearchMode
{
    /// <summary>Nearest neighbours of the query vector.</summary>
    Dense,

    /// <summary>BM25 over the collection's text fields, with corpus statistics merged across shards.</summary>
    Keyword,

    /// <summary>Dense and keyword candidates fused by relative score; a hit's score is its fused score (0..1).</summary>
    Hybrid,
}

/// <summary>
/// A shard's keyword corpus statistics for one query's terms: live documents, their summed length in terms, and how many
/// documents hold each term. Summed over the shards (<see cref="Sum"/>) they let every shard score with the same idf
/// and average length, so keyword scores compare across shards.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record KeywordStats(long Documents, long TotalLength, string[] Terms, long[] DocumentFrequencies)
{
    /// <summary>The statistics of the whole collection: the shards' counts added term by term.</summary>
    public static KeywordStats Sum(IReadOnlyList<KeywordStats> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        if (shards.Count == 0)
        {
            return new KeywordStats(0, 0, [], []);
        }

        var terms = shards[0].Terms;
        var frequencies = new long[terms.Length];
        long documents = 0, length = 0;
        foreach (var shard in shards)
        {
            if (!shard.Terms.AsSpan().SequenceEqual(terms))
            {
                throw new InvalidOperationException("Shards analysed the query into different terms; they must run the same analyzer.");
            }

            documents += shard.Documents;
            length += shard.TotalLength;
            for (var i = 0; i < terms.Length; i++)
            {
                frequencies[i] += shard.DocumentFrequencies[i];
            }
        }

        return new KeywordStats(documents, length, terms, frequencies);
    }
}

/// <summary>
/// A BM25 query over a collection's text fields. <paramref name="Corpus"/>: the collection's summed statistics for the
/// query's terms (first phase); null scores with the shard's own, which is exact when the collection has one shard.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record KeywordSearchRequest(string Text, int K, PayloadFilter? Filter = null, KeywordStats? Corpus = null, bool WithPayloads = true);

/// <summary>
/// One query in any <see cref="SearchMode"/>: dense needs <paramref name="Vector"/> (little-endian float32 bytes), keyword
/// needs <paramref name="Text"/>, hybrid both. The filter applies in every mode. <paramref name="Alpha"/>: the dense
/// list's weight in a hybrid query's fused score, 0..1 (null: <see cref="HybridSearch.DefaultAlpha"/>).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record HybridSearchRequest(
    SearchMode Mode, byte[]? Vector, string? Text, int K, int? Ef = null, PayloadFilter? Filter = null, bool WithPayloads = true, double? Alpha = null);

/// <summary>
/// What a shard holds: bytes of full vectors on the heap (<paramref name="VectorBytes"/>), of graph and int8 codes
/// (<paramref name="IndexBytes"/>), and of full vectors in a memory-mapped file that the operating system pages
/// (<paramref name="MappedBytes"/>, quantized collections).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ShardInfo(int Shard, string Silo, long Points, long Indexed, long VectorBytes, long IndexBytes, long MappedBytes = 0);

/// <summary>A collection's schema and size.</summary>
[GenerateSerializer, Immutable]
public sealed record CollectionInfo(CollectionSpec Spec, DateTimeOffset CreatedAt, long Points, long Indexed, IReadOnlyList<ShardInfo> Shards);

/// <summary>
/// Points to upsert: ids, their vectors as little-endian float32 bytes (n × dimension × 4; bytes cost a quarter of
/// a float[] on the wire), and a UTF-8 JSON object payload each (empty for none).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record PointBatch(string[] Ids, byte[] Vectors, byte[][] Payloads);

/// <summary>A stored point.</summary>
[GenerateSerializer, Immutable]
public sealed record VectorPoint(string Id, byte[] Vector, byte[] Payload);

/// <summary>How a condition compares a top-level payload field.</summary>
public enum FilterOperator
{
    /// <summary>The field equals one of <see cref="FilterCondition.Values"/> (one value: equality; several: set membership).</summary>
    In,

    /// <summary>The field is a number within [<see cref="FilterCondition.Min"/>, <see cref="FilterCondition.Max"/>] (either may be open).</summary>
    Range,
}

/// <summary>One condition on a payload field.</summary>
[GenerateSerializer, Immutable]
public sealed record FilterCondition(string Field, FilterOperator Operator, string[]? Values = null, double? Min = null, double? Max = null);

/// <summary>Every condition must hold.</summary>
[GenerateSerializer, Immutable]
public sealed record PayloadFilter(FilterCondition[] Must)
{
    /// <summary>Checks the filter's shape; throws <see cref="ArgumentException"/> naming the bad condition.</summary>
    public void Validate()
    {
        foreach (var c in Must)
        {
            if (string.IsNullOrWhiteSpace(c.Field))
            {
                throw new ArgumentException("A filter condition needs a field name.");
            }

            if (c.Operator == FilterOperator.In && (c.Values is null || c.Values.Length == 0))
            {
                throw new ArgumentException($"Filter on '{c.Field}' needs at least one value.");
            }

            if (c.Operator == FilterOperator.Range && c.Min is null && c.Max is null)
            {
                throw new ArgumentException($"Range filter on '{c.Field}' needs a minimum or a maximum.");
            }

            if (c.Min is { } min && c.Max is { } max && min > max)
            {
                throw new ArgumentException($"Range filter on '{c.Field}' has minimum {min} above maximum {max}.");
            }
        }
    }
}

/// <summary>
/// A k-nearest-neighbour query; the vector as little-endian float32 bytes. <paramref name="WithPayloads"/> false leaves
/// the payloads out of the answer (a caller that needs only ids and scores sends and copies less).
/// </summary>
[GenerateSerializer, Immutable]
public sealed record SearchRequest(byte[] Vector, int K, int? Ef = null, PayloadFilter? Filter = null, bool WithPayloads = true);

/// <summary>
/// A shard's answer to a query, best first, as parallel arrays rather than an object a hit: ids, scores (as in
/// <see cref="SearchHit"/>) and, when the request asked for them, payloads.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ShardHits(string[] Ids, float[] Scores, byte[][]? Payloads)
{
    /// <summary>The answer with no hits.</summary>
    public static readonly ShardHits None = new([], [], null);

    /// <summary>Hits held.</summary>
    public int Count => Ids.Length;

    /// <summary>
    /// The best <paramref name="k"/> of several shards' answers: by score (descending for similarities, ascending for
    /// distances), ties by id, so the order does not depend on which shard answered first. One answer already in that
    /// order is returned as it is, neither sorted nor copied.
    /// </summary>
    public static ShardHits Merge(IReadOnlyList<ShardHits> answers, int k, bool descending)
    {
        ArgumentNullException.ThrowIfNull(answers);
        if (answers.Count == 1 && answers[0].Count <= k && answers[0].IsOrdered(descending))
        {
            return answers[0];
        }

        var total = 0;
        var payloads = false;
        foreach (var answer in answers)
        {
            total += answer.Count;
            payloads |= answer.Payloads is not null;
        }

        var all = new Candidate[total];
        var n = 0;
        foreach (var answer in answers)
        {
            for (var i = 0; i < answer.Count; i++)
            {
                all[n++] = new Candidate(answer.Scores[i], answer.Ids[i], answer.Payloads?[i]);
            }
        }

        Array.Sort(all, descending ? Candidate.Descending : Candidate.Ascending);
        var kept = Math.Min(k, total);
        var merged = new ShardHits(new string[kept], new float[kept], payloads ? new byte[kept][] : null);
        for (var i = 0; i < kept; i++)
        {
            merged.Ids[i] = all[i].Id;
            merged.Scores[i] = all[i].Score;
            if (merged.Payloads is { } p)
            {
                p[i] = all[i].Payload ?? [];
            }
        }

        return merged;
    }

    /// <summary>The hits as records, in the order held; missing payloads are empty.</summary>
    public SearchHit[] ToHits()
    {
        var hits = new SearchHit[Count];
        for (var i = 0; i < hits.Length; i++)
        {
            hits[i] = new SearchHit(Ids[i], Scores[i], Payloads?[i] ?? []);
        }

        return hits;
    }

    private bool IsOrdered(bool descending)
    {
        for (var i = 1; i < Count; i++)
        {
            var order = descending ? Scores[i - 1].CompareTo(Scores[i]) : Scores[i].CompareTo(Scores[i - 1]);
            if (order < 0 || (order == 0 && string.CompareOrdinal(Ids[i - 1], Ids[i]) > 0))
            {
                return false;
            }
        }

        return true;
    }

    private readonly record struct Candidate(float Score, string Id, byte[]? Payload)
    {
        public static readonly Comparison<Candidate> Descending = (a, b) =>
            b.Score.CompareTo(a.Score) is var byScore and not 0 ? byScore : string.CompareOrdinal(a.Id, b.Id);

        public static readonly Comparison<Candidate> Ascending = (a, b) =>
            a.Score.CompareTo(b.Score) is var byScore and not 0 ? byScore : string.CompareOrdinal(a.Id, b.Id);
    }
}

/// <summary>One hit: similarity for cosine and dot, Euclidean distance for l2.</summary>
[GenerateSerializer, Immutable]
public sealed record SearchHit(string Id, float Score, byte[] Payload);
