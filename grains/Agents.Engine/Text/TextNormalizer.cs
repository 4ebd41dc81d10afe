using System.Buffers;
using System.Text;

namespace Agents.Engine.Text;

/// <summary>
/// Canonical form of a document before anything is measured or tokenised: NFC, LF line ends, no control
/// characters except tab and newline, single spaces, no leading or trailing whitespace.
/// </summary>
public static class TextNormalizer
{
    /// <summary>Returns the normalised text; returns the same instance when nothing had to change.</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);

        // IsNormalized is a cheap scan for ASCII-heavy text, so the common case allocates nothing here.
        if (!text.IsNormalized(NormalizationForm.FormC))
        {
            text = text.Normalize(NormalizationForm.FormC);
        }

        return Clean(text);
    }

    /// <summary>
    /// Normalises <paramref name="text"/> in place when it is already NFC (the common case): returns null and the
    /// normalised text as <paramref name="start"/>/<paramref name="length"/> within it. Text that needs composing
    /// is normalised into a new string, which is returned.
    /// </summary>
    internal static string? NormalizeInPlace(Span<char> text, out int start, out int length)
    {
        if (!Ascii.IsValid(text) && !((ReadOnlySpan<char>)text).IsNormalized(NormalizationForm.FormC))
        {
            var normalized = Normalize(new string(text));
            start = 0;
            length = normalized.Length;
            return normalized;
        }

        Clean(text, text, out start, out length);
        return null;
    }

    // Line ends, controls and spaces; returns original when nothing changed.
    private static string Clean(string original)
    {
        var source = original.AsSpan();
        var rented = ArrayPool<char>.Shared.Rent(Math.Max(source.Length, 1));
        try
        {
            return Clean(source, rented, out var start, out var length) ? new string(rented, start, length) : original;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    // Writes the cleaned text to rented (which may be source itself: it never writes ahead of what it reads) and
    // reports whether anything changed.
    private static bool Clean(ReadOnlySpan<char> source, Span<char> rented, out int start, out int length)
    {
        var written = 0;
        var changed = false;
        for (var i = 0; i < source.Length; i++)
        {
            var c = source[i];
            switch (c)
            {
                case '\r':
                    // CR LF becomes LF; a lone CR (old Mac line end) becomes LF too.
                    changed = true;
                    if (i + 1 < source.Length && source[i + 1] == '\n')
                    {
                        continue;
                    }

                    c = '\n';
                    break;
                case '\u2028' or '\u2029':
                    changed = true;
                    c = '\n';
                    break;
                case ' ':
                    if (written == 0 || rented[written - 1] == ' ')
                    {
                        changed = true;
                        continue;
                    }

                    break;
                case '\t' or '\n':
                    if (written == 0)
                    {
                        changed = true;
                        continue;
                    }

                    break;
                case '\uFEFF':
                    // A byte order mark (zero width no-break space) carries no text.
                    changed = true;
                    continue;
                default:
                    if (char.IsControl(c))
                    {
                        changed = true;
                        continue;
                    }

                    break;
            }

            rented[written++] = c;
        }

        // Trailing whitespace is trimmed like leading whitespace so offsets and statistics see only content.
        while (written > 0 && char.IsWhiteSpace(rented[written - 1]))
        {
            written--;
            changed = true;
        }

        start = 0;
        while (start < written && char.IsWhiteSpace(rented[start]))
        {
            start++;
            changed = true;
        }

        length = written - start;
        return changed;
    }
}
