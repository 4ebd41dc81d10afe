namespace Agents.Engine.Vectors.Keyword;

/// <summary>
/// Corpus statistics BM25 scores with: documents (live points with text), their summed length in terms, and the
/// document frequency of each query term. One shard's, or every shard's summed, so scores compare across shards.
/// </summary>
public sealed record Bm25Statistics(long Documents, long TotalLength, string[] Terms, long[] DocumentFrequencies)
{
    /// <summary>The average document length; 1 for an empty corpus.</summary>
    public double AverageLength => Documents == 0 ? 1 : (double)TotalLength / Documents;

    /// <summary>The document frequency of <paramref name="term"/>; 0 when it is not among <see cref="Terms"/>.</summary>
    public long FrequencyOf(string term)
    {
        var i = Array.IndexOf(Terms, term);
        return i < 0 ? 0 : DocumentFrequencies[i];
    }
}
