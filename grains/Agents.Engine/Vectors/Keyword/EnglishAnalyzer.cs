using System.Globalization;
using System.Text;

namespace Agents.Engine.Vectors.Keyword;

/// <summary>Receives one term of an analysed text; the span is valid only during the call.</summary>
public delegate void TermSink(ReadOnlySpan<char> term);

/// <summary>
/// Turns text into the terms the keyword index holds and queries are matched on, as Lucene's English analyzer does
/// with a lighter stemmer: Unicode compatibility-decomposed with accents dropped (<c>café</c> → <c>cafe</c>), lower-cased,
/// split on anything that is not a letter or digit (an apostrophe inside a word stays with it), the possessive
/// <c>'s</c> cut and other apostrophes dropped (<c>don't</c> → <c>dont</c>), Lucene's 33 English stop words removed,
/// and plurals reduced by Lucene's <c>EnglishMinimalStemmer</c> (<c>queries</c> → <c>query</c>, <c>bytes</c> →
/// <c>byte</c>, <c>class</c> and <c>status</c> kept). Words longer than <see cref="MaxTermLength"/> are skipped.
/// </summary>
/// <remarks>
/// No stemming library is served to this build and Porter's stemmer conflates more than a paraphrase needs, so this is
/// the small, well-known plural stemmer; both sides of a match run it, so its choices only have to be consistent.
/// </remarks>
public static class EnglishAnalyzer
{
    /// <summary>Longest term kept, in characters; longer runs (hashes, base64) are noise to a keyword search.</summary>
    public const int MaxTermLength = 64;

    // Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET (Elasticsearch's _english_).
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of", "on",
        "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> StopWordLookup = StopWords.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The terms of <paramref name="text"/>, in order, duplicates kept.</summary>
    public static List<string> Terms(string text)
    {
        var terms = new List<string>();
        Analyze(text, term => terms.Add(term.ToString()));
        return terms;
    }

    /// <summary>Passes each term of <paramref name="text"/> to <paramref name="sink"/>, in order, duplicates kept.</summary>
    public static void Analyze(string text, TermSink sink)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sink);
        var folded = System.Text.Ascii.IsValid(text) ? text : Fold(text);
        Span<char> token = stackalloc char[MaxTermLength + 2];
        var length = 0;
        var tooLong = false;
        for (var i = 0; i <= folded.Length; i++)
        {
            var c = i < folded.Length ? folded[i] : ' ';
            if (char.IsLetterOrDigit(c))
            {
                if (length < token.Length)
                {
                    token[length++] = char.ToLowerInvariant(c);
                }
                else
                {
                    tooLong = true;
                }

                continue;
            }

            // An apostrophe between letters belongs to the word (possessives and contractions).
            if (c is '\'' or '\u2019' && length > 0 && i + 1 < folded.Length && char.IsLetter(folded[i + 1]) && length < token.Length)
            {
                token[length++] = '\'';
                continue;
            }

            if (length > 0 && !tooLong)
            {
                Emit(token[..length], sink);
            }

            length = 0;
            tooLong = false;
        }
    }

    /// <summary>
    /// Lucene's <c>EnglishMinimalStemmer</c> (after Harman's S-stemmer): <c>-ies</c> → <c>-y</c> (not after a or e),
    /// <c>-es</c> → <c>-e</c> unless after i, a, o or e, <c>-s</c> dropped, but not <c>-us</c> or <c>-ss</c>; words
    /// shorter than three characters are kept. Returns the stem's length; the span is changed in place.
    /// </summary>
    public static int Stem(Span<char> s)
    {
        var len = s.Length;
        if (len < 3 || s[len - 1] != 's')
        {
            return len;
        }

        switch (s[len - 2])
        {
            case 'u':
            case 's':
                return len;
            case 'e':
                if (len > 3 && s[len - 3] == 'i' && s[len - 4] != 'a' && s[len - 4] != 'e')
                {
                    s[len - 3] = 'y';
                    return len - 2;
                }

                if (s[len - 3] is 'i' or 'a' or 'o' or 'e')
                {
                    return len;
                }

                return len - 1;
            default:
                return len - 1;
        }
    }

    private static void Emit(Span<char> token, TermSink sink)
    {
        // Possessive first, then any other apostrophe goes (don't → dont).
        if (token.Length > 2 && token[^1] == 's' && token[^2] == '\'')
        {
            token = token[..^2];
        }

        var kept = 0;
        foreach (var c in token)
        {
            if (c != '\'')
            {
                token[kept++] = c;
            }
        }

        token = token[..kept];
        if (token.IsEmpty || token.Length > MaxTermLength || StopWordLookup.Contains(token))
        {
            return;
        }

        sink(token[..Stem(token)]);
    }

    /// <summary>Compatibility decomposition without the combining marks: ligatures and full-width forms become plain letters, accents go.</summary>
    private static string Fold(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormKD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
