namespace Agents.Engine.Text;

/// <summary>Everything the pipeline derives from one document.</summary>
/// <param name="ContentHash">Lower-case hex SHA-256 of the document's UTF-8 bytes, the cache key.</param>
/// <param name="Statistics">Counts and averages over the normalised text.</param>
/// <param name="Chunks">Runs of whole sentences (or words of a long sentence), in order, overlapping by whole sentences, ready for an embedding model.</param>
/// <param name="Keywords">Key phrases, best first.</param>
/// <param name="Title">The title the text gives itself (<see cref="DocumentTitle.FromText"/>), or null when it has none.</param>
public sealed record ProcessedDocument(string ContentHash, DocumentStatistics Statistics, IReadOnlyList<TextChunk> Chunks, IReadOnlyList<Keyword> Keywords, string? Title = null);

/// <summary>Statistics of a normalised document.</summary>
/// <param name="Characters">UTF-16 code units of the normalised text (the unit of <see cref="TextChunk.CharStart"/>).</param>
/// <param name="Words">Words: runs of letters and digits (with inner apostrophes, hyphens and number separators); each CJK ideograph is a word.</param>
/// <param name="Sentences">Sentences found by the sentence splitter.</param>
/// <param name="Tokens">WordPiece tokens, without [CLS] and [SEP].</param>
/// <param name="Chunks">Number of chunks.</param>
/// <param name="UniqueWords">Distinct words, compared lower-case.</param>
/// <param name="AverageWordLength">Mean word length in UTF-16 code units.</param>
/// <param name="AverageSentenceWords">Mean words per sentence.</param>
public sealed record DocumentStatistics(int Characters, int Words, int Sentences, int Tokens, int Chunks, int UniqueWords, double AverageWordLength, double AverageSentenceWords);

/// <summary>A run of WordPiece tokens that starts and ends on a word, and the span of normalised text it covers.</summary>
/// <param name="Index">Zero-based position of the chunk in the document.</param>
/// <param name="TokenStart">Index of the chunk's first token among the document's tokens (without [CLS]).</param>
/// <param name="TokenCount">Tokens in the chunk.</param>
/// <param name="CharStart">UTF-16 offset in the normalised text where the first token starts.</param>
/// <param name="CharLength">UTF-16 length up to the end of the last token.</param>
/// <param name="Text">The normalised text of the span.</param>
public sealed record TextChunk(int Index, int TokenStart, int TokenCount, int CharStart, int CharLength, string Text);

/// <summary>A key phrase, lower-case, with its relevance score (higher is better).</summary>
/// <param name="Term">The phrase, lower-case, words joined by single spaces.</param>
/// <param name="Score">RAKE score weighted by the phrase's frequency.</param>
public sealed record Keyword(string Term, double Score);
