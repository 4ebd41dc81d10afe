namespace Agents.Engine.Text;

/// <summary>
/// Rule-based sentence boundaries: '.', '!', '?', '…' followed by whitespace or the end (after closing quotes and
/// brackets), CJK full stops and marks anywhere, and blank lines. A '.' does not end a sentence after a known
/// abbreviation ("Dr.", "e.g."), a single capital initial, inside a number ("3.14"), or before a lower-case word.
/// </summary>
public static class SentenceSplitter
{
    // Lower-case abbreviations that are almost never sentence-final; "etc." and "a.m." often are, so they are left out.
    private static readonly HashSet<string> s_abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "cf", "al", "fig", "figs", "eq", "approx",
        "inc", "ltd", "co", "corp", "dept", "univ", "gen", "col", "lt", "sgt", "capt", "rev", "gov", "sen", "rep",
        "jan", "feb", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "e.g", "i.e", "ph.d", "u.s", "u.k",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> s_abbreviationLookup = s_abbreviations.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Sentence spans (start, length) in the text, trimmed, each containing at least one letter or digit.</summary>
    public static IReadOnlyList<(int Start, int Length)> Split(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sentences = new List<(int Start, int Length)>();
        Split(text.AsSpan(), sentences);
        return sentences;
    }

    /// <summary>The sentences of the text as strings, trimmed.</summary>
    public static IReadOnlyList<string> SplitText(string text) =>
        Split(text).Select(s => text.Substring(s.Start, s.Length)).ToArray();

    /// <summary>Number of sentences in the text.</summary>
    public static int Count(ReadOnlySpan<char> text) => SplitCore(text, null);

    /// <summary>Adds the sentence spans of the text to <paramref name="sentences"/> and returns how many there are.</summary>
    public static int Split(ReadOnlySpan<char> text, List<(int Start, int Length)> sentences)
    {
        ArgumentNullException.ThrowIfNull(sentences);
        return SplitCore(text, sentences);
    }

    private static int SplitCore(ReadOnlySpan<char> text, List<(int Start, int Length)>? sentences)
    {
        var count = 0;
        var start = 0;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            int end;
            if (c == '\n' && IsBlankLineAfter(text, i, out var resume))
            {
                end = i;
                i = resume;
            }
            else if (IsCjkTerminator(c))
            {
                end = SkipClosers(text, SkipTerminators(text, i + 1));
                i = end;
            }
            else if (c is '.' or '!' or '?' or '\u2026')
            {
                var afterRun = SkipTerminators(text, i + 1);
                var afterClosers = SkipClosers(text, afterRun);
                if ((afterClosers < text.Length && !char.IsWhiteSpace(text[afterClosers]))
                    || (c == '.' && afterRun == i + 1 && IsNonTerminalPeriod(text, i, afterClosers)))
                {
                    i = afterRun;
                    continue;
                }

                end = afterClosers;
                i = end;
            }
            else
            {
                i++;
                continue;
            }

            count += Emit(text, start, end, sentences);
            start = i;
        }

        return count + Emit(text, start, text.Length, sentences);
    }

    private static int Emit(ReadOnlySpan<char> text, int start, int end, List<(int Start, int Length)>? sentences)
    {
        while (start < end && char.IsWhiteSpace(text[start]))
        {
            start++;
        }

        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        // Stray punctuation between boundaries ("..." on its own) is not a sentence.
        var hasContent = false;
        foreach (var ch in text[start..end])
        {
            if (char.IsLetterOrDigit(ch))
            {
                hasContent = true;
                break;
            }
        }

        if (!hasContent)
        {
            return 0;
        }

        sentences?.Add((start, end - start));
        return 1;
    }

    private static bool IsNonTerminalPeriod(ReadOnlySpan<char> text, int period, int afterClosers)
    {
        // The word before the period, including inner periods so "e.g" and "U.S" are seen whole.
        var wordStart = period;
        while (wordStart > 0 && (char.IsLetter(text[wordStart - 1]) || text[wordStart - 1] == '.'))
        {
            wordStart--;
        }

        var word = text[wordStart..period].TrimStart('.');
        if (word.Length == 1 && char.IsUpper(word[0]))
        {
            // A single capital is an initial, as in "J. R. R. Tolkien".
            return true;
        }

        if (word.Length > 0 && s_abbreviationLookup.Contains(word))
        {
            return true;
        }

        // A following lower-case word means the sentence goes on ("approx. ten", unknown abbreviations).
        var next = afterClosers;
        while (next < text.Length && char.IsWhiteSpace(text[next]) && text[next] != '\n')
        {
            next++;
        }

        return next < text.Length && char.IsLower(text[next]);
    }

    private static bool IsBlankLineAfter(ReadOnlySpan<char> text, int newline, out int resume)
    {
        var j = newline + 1;
        while (j < text.Length && text[j] is ' ' or '\t')
        {
            j++;
        }

        if (j < text.Length && text[j] == '\n')
        {
            while (j < text.Length && char.IsWhiteSpace(text[j]))
            {
                j++;
            }

            resume = j;
            return true;
        }

        resume = newline + 1;
        return false;
    }

    private static int SkipTerminators(ReadOnlySpan<char> text, int i)
    {
        while (i < text.Length && (text[i] is '.' or '!' or '?' or '\u2026' || IsCjkTerminator(text[i])))
        {
            i++;
        }

        return i;
    }

    private static int SkipClosers(ReadOnlySpan<char> text, int i)
    {
        while (i < text.Length && text[i] is '"' or '\'' or ')' or ']' or '}' or '\u201D' or '\u2019' or '\u00BB' or '\u300D' or '\u300F' or '\uFF09' or '\u3011')
        {
            i++;
        }

        return i;
    }

    private static bool IsCjkTerminator(char c) => c is '\u3002' or '\uFF01' or '\uFF1F' or '\uFF0E' or '\uFF61';
}
