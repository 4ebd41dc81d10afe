namespace Agents.Engine.Text;

/// <summary>
/// A document's title, for readers and for what is embedded with each chunk: the first heading near the top
/// (Markdown <c># Title</c> or an underlined line, AsciiDoc <c>= Title</c>, a manual page's NAME line), else a first
/// line that stands alone as a short paragraph, else the file name without its extension.
/// </summary>
public static class DocumentTitle
{
    /// <summary>The longest title kept, in characters; a longer heading is cut at a word.</summary>
    public const int MaxLength = 80;

    // How far into a document a title is looked for: man pages start with a licence in comments.
    private const int ScanChars = 8192;
    private const int HeadingLines = 10;

    /// <summary>The title the text gives itself, or null when it has none (see <see cref="DocumentTitle"/>).</summary>
    /// <param name="text">Normalised text (LF line ends), as the pipeline holds it.</param>
    public static string? FromText(ReadOnlySpan<char> text)
    {
        text = text[..Math.Min(text.Length, ScanChars)];
        string? firstLine = null;
        var lines = 0;
        var nameFollows = false;
        var previousBlank = true;
        var position = 0;
        while (position < text.Length && lines < HeadingLines)
        {
            var rest = text[position..];
            var newline = rest.IndexOf('\n');
            var raw = newline < 0 ? rest : rest[..newline];
            position += newline < 0 ? rest.Length : newline + 1;
            var line = raw.Trim();
            if (line.IsEmpty)
            {
                previousBlank = true;
                continue;
            }

            var blankBefore = previousBlank;
            previousBlank = false;
            if (line.StartsWith(".\\\"") || line.StartsWith("'\\\"") || line.StartsWith("\\\""))
            {
                continue; // a roff comment
            }

            if (line[0] == '.' && line.Length >= 2 && char.IsLetter(line[1]))
            {
                // A roff request: ".SH NAME" introduces the line that names the page.
                nameFollows = line.StartsWith(".SH", StringComparison.Ordinal) && line[3..].Trim().Trim('"') is "NAME";
                continue;
            }

            lines++;
            if (nameFollows)
            {
                return Clean(RoffText(line));
            }

            if (line is "NAME")
            {
                nameFollows = true; // a rendered manual page
                continue;
            }

            if (IsDecoration(line))
            {
                continue;
            }

            var marker = line[0];
            if (marker is '#' or '=')
            {
                var level = line.IndexOfAnyExcept(marker);
                if (level is >= 1 and <= 6 && line[level] == ' ')
                {
                    return Clean(line[level..].TrimEnd(marker));
                }
            }

            // An underlined line (Markdown setext, reStructuredText) is a heading.
            var following = NextLine(text, position);
            if (IsDecoration(following) && following.Length >= 3 && following[0] is '=' or '-' or '~' or '*')
            {
                return Clean(line);
            }

            // Otherwise the first line is the title only when it is a paragraph of its own and text follows.
            if (lines == 1 && blankBefore && following.IsEmpty && line.Length <= MaxLength && HasTextAfter(text, position))
            {
                firstLine = Clean(line);
            }
        }

        return firstLine;
    }

    /// <summary>The title taken from a file name or relative path: its last segment without the extension.</summary>
    public static string FromFileName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var file = name[(name.LastIndexOfAny(['/', '\\']) + 1)..];
        var stem = Path.GetFileNameWithoutExtension(file);
        return Clean(stem.Length > 0 ? stem : file) ?? name;
    }

    // The next line after position, trimmed (empty at the end or when it is blank).
    private static ReadOnlySpan<char> NextLine(ReadOnlySpan<char> text, int position)
    {
        var rest = text[Math.Min(position, text.Length)..];
        var newline = rest.IndexOf('\n');
        return (newline < 0 ? rest : rest[..newline]).Trim();
    }

    private static bool HasTextAfter(ReadOnlySpan<char> text, int position) =>
        position < text.Length && !text[position..].IsWhiteSpace();

    // A line of one repeated punctuation character, as under or over a heading.
    private static bool IsDecoration(ReadOnlySpan<char> line) =>
        line.Length >= 3 && (char.IsPunctuation(line[0]) || char.IsSymbol(line[0])) && line.IndexOfAnyExcept(line[0]) < 0;

    // Roff escapes as man shows them: "\-" is a hyphen, font changes ("\fB") and zero-width marks ("\&") vanish.
    private static string RoffText(ReadOnlySpan<char> line) =>
        line.ToString().Replace("\\-", "-", StringComparison.Ordinal).Replace("\\&", "", StringComparison.Ordinal)
            .Replace("\\fB", "", StringComparison.Ordinal).Replace("\\fI", "", StringComparison.Ordinal)
            .Replace("\\fR", "", StringComparison.Ordinal).Replace("\\fP", "", StringComparison.Ordinal)
            .Replace("\\(em", "-", StringComparison.Ordinal).Replace("\\ ", " ", StringComparison.Ordinal);

    // Markup around a heading ("**", "`") goes; whitespace runs become single spaces; a long title is cut at a word.
    private static string? Clean(ReadOnlySpan<char> title)
    {
        var plain = title.ToString().Replace("**", "", StringComparison.Ordinal).Replace("`", "", StringComparison.Ordinal).Trim('*', '_', ' ');
        var text = string.Join(' ', plain.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (text.Length > MaxLength)
        {
            var cut = text.LastIndexOf(' ', MaxLength);
            text = text[..(cut > 0 ? cut : MaxLength)];
        }

        return text.Any(char.IsLetterOrDigit) ? text : null;
    }
}
