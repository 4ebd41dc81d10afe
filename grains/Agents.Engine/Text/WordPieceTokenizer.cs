using System.Buffers;
using System.Globalization;
using System.Text;
using FastBertTokenizer;

namespace Agents.Engine.Text;

/// <summary>One WordPiece token: its vocabulary id, its vocabulary string and the text span it came from.</summary>
/// <param name="Id">Vocabulary id (line number in vocab.txt).</param>
/// <param name="Text">Vocabulary entry, e.g. "token" or "##ization".</param>
/// <param name="CharStart">UTF-16 offset of the token in the tokenised text.</param>
/// <param name="CharLength">UTF-16 length of the token's text (a word's pieces share out the word's span).</param>
public readonly record struct WordPieceToken(int Id, string Text, int CharStart, int CharLength);

/// <summary>
/// Uncased BERT WordPiece tokenisation (lower-casing, accent stripping, punctuation and CJK splitting, greedy
/// longest-match pieces) by FastBertTokenizer, plus the character offsets of every token, which that library
/// does not report. Thread-safe: the vocabulary is immutable after construction.
/// </summary>
public sealed class WordPieceTokenizer
{
    private const int NoPieceLength = int.MaxValue;

    private readonly BertTokenizer _tokenizer = new();
    private readonly string[] _tokens;
    private readonly bool[] _isContinuation;
    private readonly int[] _pieceLength;
    private readonly Dictionary<string, int> _ids;

    /// <summary>Loads a vocab.txt (one token per line, the line number is the id) for an uncased model.</summary>
    public WordPieceTokenizer(Stream vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        string text;
        using (var reader = new StreamReader(vocabulary, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true))
        {
            text = reader.ReadToEnd();
        }

        var lines = text.Split('\n');
        var count = lines.Length;

        // A trailing newline leaves one empty entry that is not a token.
        if (count > 0 && lines[count - 1].Length == 0)
        {
            count--;
        }

        _tokens = new string[count];
        _isContinuation = new bool[count];
        _pieceLength = new int[count];
        _ids = new Dictionary<string, int>(count, StringComparer.Ordinal);
        for (var id = 0; id < count; id++)
        {
            var token = lines[id].TrimEnd('\r');
            _tokens[id] = token;
            _ids.TryAdd(token, id);
            var continuation = token.Length > 2 && token.StartsWith("##", StringComparison.Ordinal);
            _isContinuation[id] = continuation;
            _pieceLength[id] = continuation ? token.Length - 2 : token.Length;
        }

        if (count == 0)
        {
            throw new InvalidDataException("The vocabulary is empty.");
        }

        UnknownId = RequireId("[UNK]");
        ClsId = RequireId("[CLS]");
        SepId = RequireId("[SEP]");
        PadId = RequireId("[PAD]");

        // Special tokens have no natural length: their span is the whole segment they replace.
        _pieceLength[UnknownId] = NoPieceLength;

        // Uncased models: lower-case and strip accents (FormD vocabulary matching), as bert-base-uncased does.
        _tokenizer.LoadVocabulary(new StringReader(text), convertInputToLowercase: true, unknownToken: "[UNK]", clsToken: "[CLS]", sepToken: "[SEP]", padToken: "[PAD]", normalization: NormalizationForm.FormD);
    }

    /// <summary>Number of entries in the vocabulary.</summary>
    public int VocabularySize => _tokens.Length;

    /// <summary>Id of [UNK].</summary>
    public int UnknownId { get; }

    /// <summary>Id of [CLS].</summary>
    public int ClsId { get; }

    /// <summary>Id of [SEP].</summary>
    public int SepId { get; }

    /// <summary>Id of [PAD].</summary>
    public int PadId { get; }

    /// <summary>Loads the MiniLM vocabulary from the package assembly (see <see cref="MiniLmResources"/>).</summary>
    public static WordPieceTokenizer FromMiniLm(string? assemblyPath = null)
    {
        using var stream = MiniLmResources.OpenVocabulary(assemblyPath);
        return new WordPieceTokenizer(stream);
    }

    /// <summary>The vocabulary string of an id.</summary>
    public string TokenOf(int id) => _tokens[id];

    /// <summary>The id of a vocabulary string, or null when the vocabulary lacks it.</summary>
    public int? IdOf(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    /// <summary>Tokenises text (without [CLS]/[SEP]) and reports each token's span in <paramref name="text"/>.</summary>
    public IReadOnlyList<WordPieceToken> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var tokens = Encode(text);
        var result = new WordPieceToken[tokens.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new WordPieceToken(tokens.Ids[i], _tokens[tokens.Ids[i]], tokens.Starts[i], tokens.Ends[i] - tokens.Starts[i]);
        }

        return result;
    }

    /// <summary>Token ids of the text, without [CLS]/[SEP].</summary>
    public int[] EncodeIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var tokens = Encode(text);
        return tokens.Ids.AsSpan(0, tokens.Count).ToArray();
    }

    /// <summary>Tokenises into pooled buffers; the caller disposes the result to return them.</summary>
    internal TokenBuffer Encode(string text) => Encode(text, text);

    /// <summary>
    /// Tokenises a span (with <paramref name="textString"/> its content as a string, if the caller has one) into pooled
    /// buffers; the caller disposes the result to return them.
    /// </summary>
    internal TokenBuffer Encode(ReadOnlySpan<char> text, string? textString)
    {
        var ids = EncodeWhole(LibraryInput(text, textString), out var idCount);
        try
        {
            var buffer = new TokenBuffer(Math.Max(idCount - 2, 0));
            if (!TryAlign(text, ids.AsSpan(1, idCount - 2), buffer))
            {
                // Our segmentation disagreed with the library's (e.g. literal special tokens); encode segment by segment instead.
                buffer.Count = 0;
                EncodeBySegment(text, buffer);
            }

            return buffer;
        }
        finally
        {
            ArrayPool<long>.Shared.Return(ids);
        }
    }

    // Accented Latin letters whose NFD is an ASCII letter plus combining marks, mapped to that letter lower-cased
    // (what lower-casing and accent stripping make of them); 0 where that does not hold.
    private static readonly char[] s_accentFold = BuildAccentFold();

    private static char[] BuildAccentFold()
    {
        var fold = new char[0x180];
        for (var c = '\u00C0'; c < (char)fold.Length; c++)
        {
            var decomposed = c.ToString().Normalize(NormalizationForm.FormD);
            if (decomposed.Length < 2 || !char.IsAsciiLetter(decomposed[0]))
            {
                continue;
            }

            var marksOnly = true;
            foreach (var mark in decomposed.AsSpan(1))
            {
                marksOnly &= CharUnicodeInfo.GetUnicodeCategory(mark) == UnicodeCategory.NonSpacingMark;
            }

            if (marksOnly)
            {
                fold[c] = char.ToLowerInvariant(decomposed[0]);
            }
        }

        return fold;
    }

    /// <summary>
    /// The string handed to FastBertTokenizer. Text whose only non-ASCII chars are accented Latin letters is given
    /// with those letters folded to ASCII (same length, same tokens), which keeps the library on its ASCII path:
    /// no per-word normalisation and no allocation there.
    /// </summary>
    private static string LibraryInput(ReadOnlySpan<char> text, string? textString)
    {
        var firstNonAscii = text.IndexOfAnyExceptInRange((char)0, (char)0x7F);
        if (firstNonAscii < 0)
        {
            return textString ?? new string(text);
        }

        var fold = s_accentFold;
        foreach (var c in text[firstNonAscii..])
        {
            if (c >= 0x80 && (c >= fold.Length || fold[c] == 0))
            {
                return textString ?? new string(text);
            }
        }

        return string.Create(text.Length, text, static (destination, source) =>
        {
            var table = s_accentFold;
            for (var i = 0; i < source.Length; i++)
            {
                var c = source[i];
                destination[i] = c < 0x80 ? c : table[c];
            }
        });
    }

    private long[] EncodeWhole(string text, out int count)
    {
        // Every token covers at least one char, except NFD expansion (e.g. Hangul), so start at length + margin and grow on overflow.
        var capacity = text.Length + 16;
        while (true)
        {
            var ids = ArrayPool<long>.Shared.Rent(capacity);
            var mask = ArrayPool<long>.Shared.Rent(capacity);
            try
            {
                count = _tokenizer.Encode(text, ids.AsSpan(0, capacity), mask.AsSpan(0, capacity));
            }
            catch
            {
                ArrayPool<long>.Shared.Return(ids);
                throw;
            }
            finally
            {
                ArrayPool<long>.Shared.Return(mask);
            }

            // Fewer ids than room means the input was not truncated.
            if (count < capacity)
            {
                return ids;
            }

            ArrayPool<long>.Shared.Return(ids);
            capacity = checked(capacity * 4);
        }
    }

    private bool TryAlign(ReadOnlySpan<char> text, ReadOnlySpan<long> ids, TokenBuffer buffer)
    {
        var next = 0;
        var segments = new SegmentEnumerator(text);
        while (segments.MoveNext())
        {
            var (start, end, plainAscii) = segments.Current;
            if (!plainAscii && YieldsNoToken(text[start..end]))
            {
                continue;
            }

            if (next >= ids.Length || _isContinuation[(int)ids[next]])
            {
                return false;
            }

            var first = next++;
            while (next < ids.Length && _isContinuation[(int)ids[next]])
            {
                next++;
            }

            AddWord(ids[first..next], start, end, buffer);
        }

        return next == ids.Length;
    }

    private void EncodeBySegment(ReadOnlySpan<char> text, TokenBuffer buffer)
    {
        var ids = new long[64];
        var mask = new long[64];
        var segments = new SegmentEnumerator(text);
        while (segments.MoveNext())
        {
            var (start, end, _) = segments.Current;
            var segment = new string(text[start..end]);
            int count;
            while ((count = _tokenizer.Encode(segment, ids, mask)) >= ids.Length)
            {
                ids = new long[ids.Length * 4];
                mask = new long[ids.Length];
            }

            AddWord(ids.AsSpan(1, count - 2), start, end, buffer);
        }
    }

    private void AddWord(ReadOnlySpan<long> ids, int start, int end, TokenBuffer buffer)
    {
        var position = start;
        for (var k = 0; k < ids.Length; k++)
        {
            var id = (int)ids[k];
            var tokenStart = Math.Min(position, end);
            var length = _pieceLength[id];

            // Pieces share out the word by their vocabulary lengths; the last piece always runs to the word's end.
            position = length == NoPieceLength || k == ids.Length - 1 ? end : Math.Min(position + length, end);
            buffer.Add(id, tokenStart, position);
        }
    }

    /// <summary>True when FastBertTokenizer drops the whole segment: it consists only of U+FFFD and C* category chars.</summary>
    private static bool YieldsNoToken(ReadOnlySpan<char> segment)
    {
        foreach (var rune in segment.EnumerateRunes())
        {
            if (rune.Value == 0xFFFD)
            {
                continue;
            }

            switch (Rune.GetUnicodeCategory(rune))
            {
                case UnicodeCategory.Control:
                case UnicodeCategory.Format:
                case UnicodeCategory.Surrogate:
                case UnicodeCategory.PrivateUse:
                case UnicodeCategory.OtherNotAssigned:
                    continue;
                default:
                    return false;
            }
        }

        return true;
    }

    private int RequireId(string token) =>
        _ids.TryGetValue(token, out var id) ? id : throw new InvalidDataException($"The vocabulary lacks the special token {token}.");

    /// <summary>
    /// Splits text the way FastBertTokenizer's pre-tokenizer does (BERT's basic tokenizer): whitespace separates,
    /// every punctuation char and CJK ideograph is a segment of its own.
    /// </summary>
    private ref struct SegmentEnumerator(ReadOnlySpan<char> source)
    {
        private readonly ReadOnlySpan<char> _text = source;

        private int _position;

        public (int Start, int End, bool PlainAscii) Current { get; private set; }

        public bool MoveNext()
        {
            var start = -1;
            var plainAscii = true;
            var i = _position;
            for (; i < _text.Length; i++)
            {
                var c = _text[i];
                if (char.IsWhiteSpace(c))
                {
                    if (start >= 0)
                    {
                        break;
                    }
                }
                else if (IsPunctuation(c) || IsCjkIdeograph(c))
                {
                    if (start < 0)
                    {
                        Current = (i, i + 1, c < 0x80);
                        _position = i + 1;
                        return true;
                    }

                    break;
                }
                else
                {
                    if (start < 0)
                    {
                        start = i;
                    }

                    plainAscii &= c < 0x80 && c >= 0x20;
                }
            }

            _position = i;
            if (start < 0)
            {
                return false;
            }

            Current = (start, i, plainAscii);
            return true;
        }
    }

    /// <summary>BERT's punctuation: all non-alphanumeric printable ASCII plus Unicode punctuation.</summary>
    internal static bool IsPunctuation(char c) =>
        c is (>= '!' and <= '/') or (>= ':' and <= '@') or (>= '[' and <= '`') or (>= '{' and <= '~') || (c >= 0x80 && char.IsPunctuation(c));

    /// <summary>BERT's "Chinese character": the CJK Unified Ideographs blocks in the BMP (as FastBertTokenizer checks per char).</summary>
    internal static bool IsCjkIdeograph(char c) =>
        c is (>= '\u4E00' and <= '\u9FFF') or (>= '\u3400' and <= '\u4DBF') or (>= '\uF900' and <= '\uFAFF');
}

/// <summary>Token ids and char spans in pooled arrays; dispose to return them.</summary>
internal sealed class TokenBuffer : IDisposable
{
    public TokenBuffer(int capacity)
    {
        capacity = Math.Max(capacity, 4);
        Ids = ArrayPool<int>.Shared.Rent(capacity);
        Starts = ArrayPool<int>.Shared.Rent(capacity);
        Ends = ArrayPool<int>.Shared.Rent(capacity);
    }

    public int[] Ids { get; private set; }

    public int[] Starts { get; private set; }

    public int[] Ends { get; private set; }

    public int Count { get; set; }

    public void Add(int id, int start, int end)
    {
        if (Count == Ids.Length)
        {
            Ids = Grow(Ids);
            Starts = Grow(Starts);
            Ends = Grow(Ends);
        }

        Ids[Count] = id;
        Starts[Count] = start;
        Ends[Count] = end;
        Count++;
    }

    public void Dispose()
    {
        // Disposing twice must not hand the same arrays back to the pool twice.
        if (Ids.Length == 0)
        {
            return;
        }

        ArrayPool<int>.Shared.Return(Ids);
        ArrayPool<int>.Shared.Return(Starts);
        ArrayPool<int>.Shared.Return(Ends);
        Ids = Starts = Ends = [];
        Count = 0;
    }

    private int[] Grow(int[] array)
    {
        var larger = ArrayPool<int>.Shared.Rent(array.Length * 2);
        array.AsSpan(0, Count).CopyTo(larger);
        ArrayPool<int>.Shared.Return(array);
        return larger;
    }
}
