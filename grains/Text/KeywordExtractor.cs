using System.Buffers;

namespace Agents.Grains.Text;

/// <summary>Word counts of a text, from the same scan that feeds keyword extraction.</summary>
/// <param name="Words">Number of words.</param>
/// <param name="UniqueWords">Distinct words, lower-case.</param>
/// <param name="TotalWordLength">Sum of word lengths in UTF-16 code units.</param>
public readonly record struct WordCounts(int Words, int UniqueWords, long TotalWordLength);

/// <summary>
/// RAKE keyword extraction (Rose et al., 2010): candidate phrases are runs of words between stopwords and
/// punctuation; a word scores degree/frequency over the candidates and a phrase sums its words' scores. The phrase
/// score is then weighted by 1 + ln(occurrences) so a phrase the document keeps returning to outranks a one-off.
/// </summary>
public static class KeywordExtractor
{
    /// <summary>Candidates with more words than this are dropped, as RAKE's usual max-length filter does.</summary>
    public const int MaxPhraseWords = 4;

    private static readonly HashSet<string> s_stopwords = new(StringComparer.Ordinal)
    {
        "a", "about", "above", "according", "across", "after", "afterwards", "again", "against", "all", "almost", "alone",
        "along", "already", "also", "although", "always", "am", "among", "amongst", "an", "and", "another", "any", "anyhow",
        "anyone", "anything", "anyway", "anywhere", "are", "around", "as", "at", "be", "became", "because", "become",
        "becomes", "becoming", "been", "before", "beforehand", "behind", "being", "below", "beside", "besides", "between",
        "beyond", "both", "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "done", "down", "due",
        "during", "each", "either", "else", "elsewhere", "enough", "etc", "even", "ever", "every", "everyone",
        "everything", "everywhere", "except", "few", "for", "former", "formerly", "from", "further", "get", "gets",
        "getting", "give", "given", "gives", "go", "goes", "going", "got", "had", "has", "have", "having", "he", "hence",
        "her", "here", "hereafter", "hereby", "herein", "hers", "herself", "him", "himself", "his", "how", "however", "i",
        "if", "in", "indeed", "instead", "into", "is", "it", "its", "itself", "just", "keep", "keeps", "kept", "last",
        "latter", "least", "less", "let", "lets", "like", "likely", "made", "make", "makes", "making", "many", "may",
        "maybe", "me", "meanwhile", "might", "mine", "more", "moreover", "most", "mostly", "much", "must", "my", "myself",
        "namely", "near", "nearly", "neither", "never", "nevertheless", "next", "no", "nobody", "none", "nor", "not",
        "nothing", "now", "nowhere", "of", "off", "often", "on", "once", "one", "only", "onto", "or", "other", "others",
        "otherwise", "our", "ours", "ourselves", "out", "over", "own", "per", "perhaps", "please", "quite", "rather",
        "really", "same", "say", "says", "said", "see", "seem", "seemed", "seeming", "seems", "several", "she", "should",
        "since", "so", "some", "somehow", "someone", "something", "sometime", "sometimes", "somewhere", "still", "such",
        "take", "takes", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "thence", "there",
        "thereafter", "thereby", "therefore", "therein", "thereupon", "these", "they", "this", "those", "though",
        "through", "throughout", "thru", "thus", "to", "together", "too", "toward", "towards", "under", "unless", "until",
        "up", "upon", "us", "use", "used", "uses", "using", "usually", "various", "very", "via", "was", "we", "well",
        "were", "what", "whatever", "when", "whence", "whenever", "where", "whereafter", "whereas", "whereby", "wherein",
        "whereupon", "wherever", "whether", "which", "while", "whither", "who", "whoever", "whole", "whom", "whose", "why",
        "will", "with", "within", "without", "would", "yet", "you", "your", "yours", "yourself", "yourselves",
        "can't", "couldn't", "didn't", "doesn't", "don't", "hadn't", "hasn't", "haven't", "isn't", "it's",
        "let's", "shouldn't", "that's", "there's", "they're", "wasn't", "we're", "weren't", "won't", "wouldn't", "you're",
        "i'm", "i've", "we've", "they've", "you've", "he's", "she's", "what's", "who's", "new", "two", "three", "first",
        "second", "able", "way", "ways", "thing", "things", "lot", "lots",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> s_stopwordLookup = s_stopwords.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The built-in English stopword list (lower-case).</summary>
    public static IReadOnlySet<string> Stopwords => s_stopwords;

    /// <summary>Top keywords of a (normalised) text, lower-case, best first, ties broken by ordinal term order.</summary>
    public static IReadOnlyList<Keyword> Extract(string text, int maxKeywords) => Analyze(text, maxKeywords, out _);

    /// <summary>Keywords and word counts in one pass over the text.</summary>
    internal static IReadOnlyList<Keyword> Analyze(string text, int maxKeywords, out WordCounts counts)
    {
        ArgumentNullException.ThrowIfNull(text);
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = vocabulary.GetAlternateLookup<ReadOnlySpan<char>>();
        var isStop = new List<bool>();
        var words = 0;
        long totalLength = 0;

        // Candidate phrases as word-id runs; a run is cut by stopwords, numbers, punctuation and line ends.
        var phraseIds = new List<int>();
        var phraseStarts = new List<int> { 0 };
        var lower = ArrayPool<char>.Shared.Rent(64);
        try
        {
            var scanner = new WordScanner(text);
            while (scanner.MoveNext())
            {
                var (start, length, breakBefore) = scanner.Current;
                words++;
                totalLength += length;
                if (lower.Length < length)
                {
                    ArrayPool<char>.Shared.Return(lower);
                    lower = ArrayPool<char>.Shared.Rent(length);
                }

                var word = lower.AsSpan(0, text.AsSpan(start, length).ToLowerInvariant(lower));

                // Typographic apostrophes compare like ASCII ones, so "don’t" meets the stopword "don't".
                word.Replace('\u2019', '\'');
                if (!lookup.TryGetValue(word, out var id))
                {
                    id = vocabulary.Count;
                    lookup[word] = id;
                    isStop.Add(!IsContentWord(word));
                }

                if (breakBefore || isStop[id])
                {
                    EndPhrase(phraseIds, phraseStarts);
                }

                if (!isStop[id])
                {
                    phraseIds.Add(id);
                }
            }

            EndPhrase(phraseIds, phraseStarts);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(lower);
        }

        counts = new WordCounts(words, vocabulary.Count, totalLength);
        return maxKeywords <= 0 ? [] : Rank(vocabulary, phraseIds, phraseStarts, maxKeywords);
    }

    private static IReadOnlyList<Keyword> Rank(Dictionary<string, int> vocabulary, List<int> phraseIds, List<int> phraseStarts, int maxKeywords)
    {
        var frequency = new int[vocabulary.Count];
        var degree = new int[vocabulary.Count];
        var occurrences = new Dictionary<(int, int, int, int), int>();
        for (var p = 0; p + 1 < phraseStarts.Count; p++)
        {
            var start = phraseStarts[p];
            var length = phraseStarts[p + 1] - start;
            if (length > MaxPhraseWords)
            {
                continue;
            }

            for (var k = start; k < start + length; k++)
            {
                frequency[phraseIds[k]]++;
                degree[phraseIds[k]] += length;
            }

            var key = (phraseIds[start], At(phraseIds, start, length, 1), At(phraseIds, start, length, 2), At(phraseIds, start, length, 3));
            occurrences[key] = occurrences.GetValueOrDefault(key) + 1;
        }

        var words = new string[vocabulary.Count];
        foreach (var (word, id) in vocabulary)
        {
            words[id] = word;
        }

        var ranked = new List<Keyword>(occurrences.Count);
        foreach (var ((w0, w1, w2, w3), count) in occurrences)
        {
            var score = 0.0;
            foreach (var w in (ReadOnlySpan<int>)[w0, w1, w2, w3])
            {
                if (w >= 0)
                {
                    score += (double)degree[w] / frequency[w];
                }
            }

            var term = w1 < 0 ? words[w0]
                : w2 < 0 ? string.Join(' ', words[w0], words[w1])
                : w3 < 0 ? string.Join(' ', words[w0], words[w1], words[w2])
                : string.Join(' ', words[w0], words[w1], words[w2], words[w3]);
            ranked.Add(new Keyword(term, Math.Round(score * (1 + Math.Log(count)), 6)));
        }

        ranked.Sort(static (a, b) =>
        {
            var byScore = b.Score.CompareTo(a.Score);
            return byScore != 0 ? byScore : string.CompareOrdinal(a.Term, b.Term);
        });
        return ranked.Count > maxKeywords ? ranked.GetRange(0, maxKeywords) : ranked;
    }

    private static int At(List<int> ids, int start, int length, int offset) => offset < length ? ids[start + offset] : -1;

    private static void EndPhrase(List<int> phraseIds, List<int> phraseStarts)
    {
        if (phraseIds.Count > phraseStarts[^1])
        {
            phraseStarts.Add(phraseIds.Count);
        }
    }

    private static bool IsContentWord(ReadOnlySpan<char> word)
    {
        if (s_stopwordLookup.Contains(word))
        {
            return false;
        }

        // Numbers and single Latin letters say little about a document; a single CJK ideograph is a word of its own.
        var hasLetter = false;
        foreach (var c in word)
        {
            if (char.IsLetter(c))
            {
                hasLetter = true;
                break;
            }
        }

        return hasLetter && (word.Length > 1 || WordPieceTokenizer.IsCjkIdeograph(word[0]));
    }
}

/// <summary>
/// Finds words: runs of letters, digits and combining marks, joined across an apostrophe or hyphen between
/// letters/digits and across '.' or ',' between digits; each CJK ideograph is a word. Reports whether anything
/// other than spaces or tabs (punctuation, a line end) stood between a word and the previous one.
/// </summary>
internal struct WordScanner(string text)
{
    private int _position;

    public (int Start, int Length, bool BreakBefore) Current { get; private set; }

    public bool MoveNext()
    {
        var breakBefore = _position == 0;
        var i = _position;
        while (i < text.Length)
        {
            var c = text[i];
            if (WordPieceTokenizer.IsCjkIdeograph(c))
            {
                Current = (i, 1, breakBefore);
                _position = i + 1;
                return true;
            }

            if (IsWordChar(c))
            {
                var j = i + 1;
                while (j < text.Length)
                {
                    var d = text[j];
                    if (IsWordChar(d) && !WordPieceTokenizer.IsCjkIdeograph(d))
                    {
                        j++;
                    }
                    else if (j + 1 < text.Length && IsJoiner(d, text[j - 1], text[j + 1]))
                    {
                        j += 2;
                    }
                    else
                    {
                        break;
                    }
                }

                Current = (i, j - i, breakBefore);
                _position = j;
                return true;
            }

            if (c is not (' ' or '\t'))
            {
                breakBefore = true;
            }

            i++;
        }

        _position = i;
        return false;
    }

    private static bool IsWordChar(char c) =>
        char.IsLetterOrDigit(c) || (c >= 0x300 && char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark);

    private static bool IsJoiner(char joiner, char before, char after) => joiner switch
    {
        '\'' or '\u2019' or '-' or '\u2010' => char.IsLetterOrDigit(before) && char.IsLetterOrDigit(after) && !WordPieceTokenizer.IsCjkIdeograph(after),
        '.' or ',' => char.IsDigit(before) && char.IsDigit(after),
        _ => false,
    };
}
