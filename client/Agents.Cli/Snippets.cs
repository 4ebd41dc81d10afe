namespace Agents.Cli;

/// <summary>The text of a search hit as one line that starts and ends on a word.</summary>
public static class Snippets
{
    /// <summary>
    /// Up to <paramref name="length"/> characters of a chunk's text on one line, starting and ending on a word: a chunk
    /// after the first may begin inside a word (chunks are cut at tokens), so its first, partial word is left out.
    /// </summary>
    public static string Of(string? text, int? chunk, int length = 160)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "";
        }

        var words = text.ReplaceLineEndings(" ").Trim();
        var leading = "";
        if (chunk is > 0 && char.IsLetterOrDigit(words[0]) && words.IndexOf(' ', StringComparison.Ordinal) is var space and > 0)
        {
            words = words[(space + 1)..].TrimStart();
            leading = "…";
        }

        if (words.Length <= length)
        {
            return leading + words;
        }

        var cut = words.LastIndexOf(' ', length);
        return leading + words[..(cut > 0 ? cut : length)].TrimEnd() + "…";
    }
}
