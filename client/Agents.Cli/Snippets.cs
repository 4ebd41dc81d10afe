namespace Agents.Cli;

/// <summary>The text of a search hit as one line that starts and ends on a word.</summary>
public static class Snippets
{
    /// <summary>
    /// Up to <paramref name="length"/> characters of a chunk's text on one line. Ingest cuts chunks between words, so
    /// the snippet starts where the chunk does; a longer text is cut after its last whole word that fits, and a word
    /// longer than the whole snippet is cut at the length.
    /// </summary>
    public static string Of(string? text, int length = 160)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }

        var words = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (words.Length <= length)
        {
            return words;
        }

        // The cut is at a space, so the last word shown is whole.
        var cut = words.LastIndexOf(' ', length);
        return words[..(cut > 0 ? cut : length)].TrimEnd() + "…";
    }
}
