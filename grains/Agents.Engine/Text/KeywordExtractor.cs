using System.Runtime.InteropServices;

namespace Agents.Engine.Text;

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
    public static IReadOnlyList<Keyword> Extract(string text, int maxKeywords)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Analyze(text, maxKeywords, out _);
    }

    /// <summary>Keywords and word counts in one pass over the text.</summary>
    internal static IReadOnlyList<Keyword> Analyze(ReadOnlySpan<char> text, int maxKeywords, out WordCounts counts)
    {

        // Each thread reuses its tables (and the word strings it has seen) so a document allocates almost nothing here.
        var scratch = t_scratch ?? new Scratch();
        t_scratch = null;
        try
        {
            return scratch.Analyze(text, maxKeywords, out counts);
        }
        finally
        {
            t_scratch = scratch;
        }
    }

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>A candidate phrase as up to four word ids (-1 pads) with its rounded score.</summary>
    private struct Candidate
    {
        public int W0;
        public int W1;
        public int W2;
        public int W3;
        public double Score;
    }

    /// <summary>Per-thread working state of <see cref="Analyze"/>; word ids are local to one document.</summary>
    private sealed class Scratch
    {
        // Word strings and their stopword verdicts are interned across documents; bounded so odd input cannot grow it forever.
        private const int MaxInternedWords = 1 << 16;

        private readonly Dictionary<string, int> _intern = new(StringComparer.Ordinal);
        private readonly List<string> _internWords = [];
        private readonly List<bool> _internStop = [];
        private readonly Dictionary<(int, int, int, int), int> _occurrences = [];
        private Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _internLookup;
        private int[] _stamp = new int[256];
        private int[] _localOf = new int[256];
        private int _epoch;
        private int[] _localGlobal = new int[256];
        private int _localCount;
        private int[] _phraseIds = new int[256];
        private int _phraseIdCount;
        private int[] _phraseStarts = new int[64];
        private int _phraseStartCount;
        private int[] _frequency = new int[256];
        private int[] _degree = new int[256];
        private Candidate[] _candidates = new Candidate[64];
        private char[] _lower = new char[64];

        public Scratch()
        {
            _internLookup = _intern.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public IReadOnlyList<Keyword> Analyze(ReadOnlySpan<char> text, int maxKeywords, out WordCounts counts)
        {
            Begin();
            var words = 0;
            long totalLength = 0;
            var scanner = new WordScanner(text);
            while (scanner.MoveNext())
            {
                var (start, length, breakBefore) = scanner.Current;
                words++;
                totalLength += length;
                if (_lower.Length < length)
                {
                    _lower = new char[Math.Max(length, _lower.Length * 2)];
                }

                var word = _lower.AsSpan(0, text.Slice(start, length).ToLowerInvariant(_lower));

                // Typographic apostrophes compare like ASCII ones, so "don’t" meets the stopword "don't".
                word.Replace('\u2019', '\'');
                var global = Intern(word);
                var isStop = _internStop[global];
                if (breakBefore || isStop)
                {
                    EndPhrase();
                }

                var id = LocalId(global);
                if (!isStop)
                {
                    Append(ref _phraseIds, ref _phraseIdCount, id);
                }
            }

            EndPhrase();
            counts = new WordCounts(words, _localCount, totalLength);
            return maxKeywords <= 0 ? [] : Rank(maxKeywords);
        }

        private void Begin()
        {
            if (_intern.Count > MaxInternedWords)
            {
                _intern.Clear();
                _internWords.Clear();
                _internStop.Clear();
                _stamp = new int[256];
                _localOf = new int[256];
                _epoch = 0;
            }

            if (_epoch == int.MaxValue)
            {
                Array.Clear(_stamp);
                _epoch = 0;
            }

            _epoch++;
            _localCount = 0;
            _phraseIdCount = 0;
            _phraseStartCount = 0;
            Append(ref _phraseStarts, ref _phraseStartCount, 0);
        }

        private int Intern(ReadOnlySpan<char> word)
        {
            if (_internLookup.TryGetValue(word, out var global))
            {
                return global;
            }

            var text = word.ToString();
            global = _internWords.Count;
            _intern.Add(text, global);
            _internWords.Add(text);
            _internStop.Add(!IsContentWord(word));
            if (global >= _stamp.Length)
            {
                Array.Resize(ref _stamp, _stamp.Length * 2);
                Array.Resize(ref _localOf, _stamp.Length);
            }

            return global;
        }

        private int LocalId(int global)
        {
            if (_stamp[global] == _epoch)
            {
                return _localOf[global];
            }

            _stamp[global] = _epoch;
            var local = _localCount;
            Append(ref _localGlobal, ref _localCount, global);
            _localOf[global] = local;
            return local;
        }

        private void EndPhrase()
        {
            if (_phraseIdCount > _phraseStarts[_phraseStartCount - 1])
            {
                Append(ref _phraseStarts, ref _phraseStartCount, _phraseIdCount);
            }
        }

        private static void Append(ref int[] array, ref int count, int value)
        {
            if (count == array.Length)
            {
                Array.Resize(ref array, array.Length * 2);
            }

            array[count++] = value;
        }

        private string WordOf(int local) => _internWords[_localGlobal[local]];

        private IReadOnlyList<Keyword> Rank(int maxKeywords)
        {
            if (_frequency.Length < _localCount)
            {
                _frequency = new int[Math.Max(_localCount, _frequency.Length * 2)];
                _degree = new int[_frequency.Length];
            }

            var frequency = _frequency.AsSpan(0, _localCount);
            var degree = _degree.AsSpan(0, _localCount);
            frequency.Clear();
            degree.Clear();
            var ids = _phraseIds;
            var occurrences = _occurrences;
            occurrences.Clear();
            for (var p = 0; p + 1 < _phraseStartCount; p++)
            {
                var start = _phraseStarts[p];
                var length = _phraseStarts[p + 1] - start;
                if (length > MaxPhraseWords)
                {
                    continue;
                }

                for (var k = start; k < start + length; k++)
                {
                    frequency[ids[k]]++;
                    degree[ids[k]] += length;
                }

                var key = (ids[start], length > 1 ? ids[start + 1] : -1, length > 2 ? ids[start + 2] : -1, length > 3 ? ids[start + 3] : -1);
                CollectionsMarshal.GetValueRefOrAddDefault(occurrences, key, out _)++;
            }

            // Keep the best maxKeywords candidates by score, then by ordinal term order, without building every term.
            // Few keywords (the usual case) are kept by insertion; many are sorted once at the end.
            var limit = Math.Min(maxKeywords, occurrences.Count);
            if (limit == 0)
            {
                return [];
            }

            var insert = limit <= 32;
            var capacity = insert ? limit : occurrences.Count;
            if (_candidates.Length < capacity)
            {
                _candidates = new Candidate[Math.Max(capacity, _candidates.Length * 2)];
            }

            var top = _candidates;
            var count = 0;
            foreach (var ((w0, w1, w2, w3), occurrenceCount) in occurrences)
            {
                var score = 0.0;
                foreach (var w in (ReadOnlySpan<int>)[w0, w1, w2, w3])
                {
                    if (w >= 0)
                    {
                        score += (double)degree[w] / frequency[w];
                    }
                }

                var candidate = new Candidate { W0 = w0, W1 = w1, W2 = w2, W3 = w3, Score = Math.Round(score * (1 + Math.Log(occurrenceCount)), 6) };
                if (!insert)
                {
                    top[count++] = candidate;
                    continue;
                }

                if (count == limit && Compare(candidate, top[count - 1]) >= 0)
                {
                    continue;
                }

                var at = count < limit ? count++ : count - 1;
                while (at > 0 && Compare(candidate, top[at - 1]) < 0)
                {
                    top[at] = top[at - 1];
                    at--;
                }

                top[at] = candidate;
            }

            if (!insert)
            {
                Array.Sort(top, 0, count, Comparer<Candidate>.Create((a, b) => Compare(a, b)));
                count = limit;
            }

            var keywords = new Keyword[count];
            for (var i = 0; i < count; i++)
            {
                ref readonly var c = ref top[i];
                var term = c.W1 < 0 ? WordOf(c.W0)
                    : c.W2 < 0 ? string.Join(' ', WordOf(c.W0), WordOf(c.W1))
                    : c.W3 < 0 ? string.Join(' ', WordOf(c.W0), WordOf(c.W1), WordOf(c.W2))
                    : string.Join(' ', WordOf(c.W0), WordOf(c.W1), WordOf(c.W2), WordOf(c.W3));
                keywords[i] = new Keyword(term, c.Score);
            }

            return keywords;
        }

        // Best first: higher score, then the space-joined term in ordinal order. Comparing word by word gives the same
        // order because a space sorts before every char a word can contain.
        private int Compare(in Candidate a, in Candidate b)
        {
            var byScore = b.Score.CompareTo(a.Score);
            if (byScore != 0)
            {
                return byScore;
            }

            var byWord = CompareWord(a.W0, b.W0);
            if (byWord == 0)
            {
                byWord = CompareWord(a.W1, b.W1);
                if (byWord == 0)
                {
                    byWord = CompareWord(a.W2, b.W2);
                    if (byWord == 0)
                    {
                        byWord = CompareWord(a.W3, b.W3);
                    }
                }
            }

            return byWord;
        }

        private int CompareWord(int a, int b) =>
            a == b ? 0 : a < 0 ? -1 : b < 0 ? 1 : string.CompareOrdinal(WordOf(a), WordOf(b));
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
internal ref struct WordScanner(ReadOnlySpan<char> source)
{
    private readonly ReadOnlySpan<char> _text = source;
    private int _position;

    public (int Start, int Length, bool BreakBefore) Current { get; private set; }

    public bool MoveNext()
    {
        var breakBefore = _position == 0;
        var i = _position;
        while (i < _text.Length)
        {
            var c = _text[i];
            if (WordPieceTokenizer.IsCjkIdeograph(c))
            {
                Current = (i, 1, breakBefore);
                _position = i + 1;
                return true;
            }

            if (IsWordChar(c))
            {
                var j = i + 1;
                while (j < _text.Length)
                {
                    var d = _text[j];
                    if (char.IsAsciiLetterOrDigit(d) || (d >= 0x80 && IsWordChar(d) && !WordPieceTokenizer.IsCjkIdeograph(d)))
                    {
                        j++;
                    }
                    else if (j + 1 < _text.Length && IsJoiner(d, _text[j - 1], _text[j + 1]))
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
