using System.Buffers;

namespace Agents.Engine.Vectors.Keyword;

/// <summary>
/// A BM25 inverted index over a shard's points, addressed by the shard's slots: the text of the named payload fields
/// (one document per point, the fields' strings in order, as Elasticsearch's <c>combined_fields</c>), analysed by
/// <see cref="EnglishAnalyzer"/>, as a postings list per term (slot and term frequency, in slot order), each slot's
/// length in terms, and the live documents' count and summed length.
/// </summary>
/// <remarks>
/// <para>
/// Scores are Lucene's BM25 (since Lucene 8, without the constant (k1 + 1) factor): for each distinct query term,
/// idf × tf / (tf + k1 × (1 − b + b × length / average length)), idf = ln(1 + (N − df + 0.5) / (df + 0.5)), k1 1.2, b 0.75.
/// Lengths are exact where Lucene rounds them into one byte, so scores agree with Elasticsearch's to two or three digits.
/// </para>
/// <para>
/// The index is derived state: it is rebuilt from the stored payloads whenever a shard loads, never saved. A removed
/// point leaves its postings in place (skipped by the caller's accept function, as Lucene skips deleted documents) but
/// leaves the statistics at once; compaction, a reload, drops them. Like <see cref="LocalShard"/>: one writer, and
/// searches that do not run during a write.
/// </para>
/// </remarks>
public sealed class KeywordIndex
{
    /// <summary>BM25's term-frequency saturation (Lucene's default).</summary>
    public const double K1 = 1.2;

    /// <summary>BM25's length normalisation (Lucene's default).</summary>
    public const double B = 0.75;

    private readonly string[] _fields;
    private readonly Dictionary<string, int> _termIds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _termLookup;
    private readonly List<Postings> _postings = [];
    private readonly Dictionary<int, int> _documentTerms = [];
    private int[] _lengths = new int[1024];
    private long _documents;
    private long _totalLength;

    /// <summary>An empty index of the text in <paramref name="fields"/>.</summary>
    public KeywordIndex(IReadOnlyList<string> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (fields.Count == 0)
        {
            throw new ArgumentException("A keyword index needs at least one text field.", nameof(fields));
        }

        _fields = [.. fields];
        _termLookup = _termIds.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The payload fields indexed.</summary>
    public IReadOnlyList<string> Fields => _fields;

    /// <summary>Live documents: points with at least one term.</summary>
    public long Documents => _documents;

    /// <summary>The live documents' summed length in terms.</summary>
    public long TotalLength => _totalLength;

    /// <summary>Distinct terms ever indexed (those of removed points included until a reload).</summary>
    public int TermCount => _termIds.Count;

    /// <summary>The length in terms of the document at <paramref name="slot"/> (0 for none).</summary>
    public int LengthOf(int slot) => slot < _lengths.Length ? _lengths[slot] : 0;

    /// <summary>Indexes the text of <paramref name="fields"/> as the document at <paramref name="slot"/>, a slot not indexed before.</summary>
    public void Add(int slot, PayloadFields fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        if (slot >= _lengths.Length)
        {
            Array.Resize(ref _lengths, Math.Max(slot + 1, _lengths.Length * 2));
        }

        _documentTerms.Clear();
        var length = 0;
        foreach (var text in TextOf(fields))
        {
            EnglishAnalyzer.Analyze(text, term =>
            {
                var id = TermId(term);
                _documentTerms[id] = _documentTerms.GetValueOrDefault(id) + 1;
                length++;
            });
        }

        if (length == 0)
        {
            return;
        }

        foreach (var (term, frequency) in _documentTerms)
        {
            _postings[term].Add(slot, frequency);
        }

        _lengths[slot] = length;
        _documents++;
        _totalLength += length;
    }

    /// <summary>
    /// Takes the document at <paramref name="slot"/> out of the statistics; <paramref name="fields"/> must be the payload
    /// it was added with (its terms are found again by analysing it). Its postings stay, for the caller to skip.
    /// </summary>
    public void Remove(int slot, PayloadFields fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        if (slot >= _lengths.Length || _lengths[slot] == 0)
        {
            return;
        }

        _documentTerms.Clear();
        foreach (var text in TextOf(fields))
        {
            EnglishAnalyzer.Analyze(text, term =>
            {
                if (_termLookup.TryGetValue(term, out var id))
                {
                    _documentTerms[id] = 1;
                }
            });
        }

        foreach (var term in _documentTerms.Keys)
        {
            _postings[term].Live--;
        }

        _documents--;
        _totalLength -= _lengths[slot];
        _lengths[slot] = 0;
    }

    /// <summary>Forgets every document.</summary>
    public void Clear()
    {
        _termIds.Clear();
        _postings.Clear();
        Array.Clear(_lengths);
        _documents = 0;
        _totalLength = 0;
    }

    /// <summary>This index's statistics for the distinct terms of <paramref name="query"/>, in the order they first occur.</summary>
    public Bm25Statistics Statistics(string query)
    {
        var terms = QueryTerms(query);
        var frequencies = new long[terms.Length];
        for (var i = 0; i < terms.Length; i++)
        {
            frequencies[i] = _termIds.TryGetValue(terms[i], out var id) ? _postings[id].Live : 0;
        }

        return new Bm25Statistics(_documents, _totalLength, terms, frequencies);
    }

    /// <summary>
    /// The best <paramref name="k"/> slots that <paramref name="accept"/> passes for <paramref name="query"/> by BM25,
    /// best first, scored with <paramref name="corpus"/> (the whole collection's statistics) or, when null, this index's
    /// own. Equal scores go by <paramref name="tieBreak"/> (the caller's id order, so every shard cuts at k alike), else by slot.
    /// </summary>
    public (int Slot, float Score)[] Search(
        string query, int k, Func<int, bool> accept, Bm25Statistics? corpus = null, Comparison<int>? tieBreak = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(accept);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var stats = corpus ?? Statistics(query);
        if (stats.Documents <= 0)
        {
            return [];
        }

        var averageLength = stats.AverageLength;
        // A rented array holds whatever its last user left: cleared here, then only the touched slots after use.
        var slots = Math.Max(1, _lengths.Length);
        var scores = ArrayPool<float>.Shared.Rent(slots);
        Array.Clear(scores, 0, slots);
        var touched = new List<int>();
        try
        {
            foreach (var term in stats.Terms)
            {
                if (!_termIds.TryGetValue(term, out var id))
                {
                    continue;
                }

                var df = Math.Clamp(stats.FrequencyOf(term), 0, stats.Documents);
                var idf = Math.Log(1 + ((stats.Documents - df + 0.5) / (df + 0.5)));
                var postings = _postings[id];
                for (var i = 0; i < postings.Count; i++)
                {
                    var slot = postings.Slots[i];
                    var length = _lengths[slot];
                    if (length == 0 || !accept(slot))
                    {
                        continue;
                    }

                    double tf = postings.Frequencies[i];
                    var score = (float)(idf * tf / (tf + (K1 * (1 - B + (B * length / averageLength)))));
                    if (scores[slot] == 0)
                    {
                        touched.Add(slot);
                    }

                    scores[slot] += score;
                }
            }

            var top = new PriorityQueue<int, (float Score, int Slot)>(k + 1, new WorstFirst(tieBreak ?? ((a, b) => a.CompareTo(b))));
            foreach (var slot in touched)
            {
                top.Enqueue(slot, (scores[slot], slot));
                if (top.Count > k)
                {
                    top.Dequeue();
                }
            }

            var result = new (int Slot, float Score)[top.Count];
            for (var i = result.Length - 1; i >= 0; i--)
            {
                var slot = top.Dequeue();
                result[i] = (slot, scores[slot]);
            }

            return result;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
        }
    }

    /// <summary>The distinct terms of <paramref name="query"/> in the order they first occur.</summary>
    public static string[] QueryTerms(string query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var terms = new List<string>();
        foreach (var term in EnglishAnalyzer.Terms(query))
        {
            if (seen.Add(term))
            {
                terms.Add(term);
            }
        }

        return [.. terms];
    }

    private IEnumerable<string> TextOf(PayloadFields fields)
    {
        foreach (var field in _fields)
        {
            foreach (var text in fields.StringsOf(field))
            {
                yield return text;
            }
        }
    }

    private int TermId(ReadOnlySpan<char> term)
    {
        if (_termLookup.TryGetValue(term, out var id))
        {
            return id;
        }

        id = _postings.Count;
        _termIds.Add(term.ToString(), id);
        _postings.Add(new Postings());
        return id;
    }

    /// <summary>One term's postings in slot order, and how many of their documents are live.</summary>
    private sealed class Postings
    {
        public int[] Slots = new int[4];
        public int[] Frequencies = new int[4];
        public int Count;
        public long Live;

        public void Add(int slot, int frequency)
        {
            if (Count == Slots.Length)
            {
                Array.Resize(ref Slots, Count * 2);
                Array.Resize(ref Frequencies, Count * 2);
            }

            Slots[Count] = slot;
            Frequencies[Count++] = frequency;
            Live++;
        }
    }

    /// <summary>Orders the heap so its root is the worst hit kept: lowest score, then last by the tie-break.</summary>
    private sealed class WorstFirst(Comparison<int> tieBreak) : IComparer<(float Score, int Slot)>
    {
        public int Compare((float Score, int Slot) a, (float Score, int Slot) b) =>
            a.Score != b.Score ? a.Score.CompareTo(b.Score) : tieBreak(b.Slot, a.Slot);
    }
}
