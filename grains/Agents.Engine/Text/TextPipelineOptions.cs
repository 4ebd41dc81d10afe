namespace Agents.Engine.Text;

/// <summary>Settings of the <see cref="TextPipeline"/>: chunk window, keyword count and the document size limit.</summary>
public sealed class TextPipelineOptions
{
    /// <summary>WordPiece tokens per chunk (the window the embedding model sees); greater than zero.</summary>
    public int ChunkTokens { get; init; } = 254;

    /// <summary>Tokens shared by consecutive chunks; at least zero and less than <see cref="ChunkTokens"/>.</summary>
    public int ChunkOverlap { get; init; } = 32;

    /// <summary>Most keywords returned per document; zero turns keyword extraction off.</summary>
    public int MaxKeywords { get; init; } = 10;

    /// <summary>Largest accepted document in UTF-8 bytes; larger documents are rejected.</summary>
    public int MaxDocumentBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first property whose value is out of range.</summary>
    public void Validate()
    {
        if (ChunkTokens <= 0)
        {
            throw new ArgumentException($"{nameof(ChunkTokens)} must be greater than 0 but is {ChunkTokens}.", nameof(ChunkTokens));
        }

        if (ChunkOverlap < 0 || ChunkOverlap >= ChunkTokens)
        {
            throw new ArgumentException($"{nameof(ChunkOverlap)} must be at least 0 and less than {nameof(ChunkTokens)} ({ChunkTokens}) but is {ChunkOverlap}.", nameof(ChunkOverlap));
        }

        if (MaxKeywords < 0)
        {
            throw new ArgumentException($"{nameof(MaxKeywords)} must be at least 0 but is {MaxKeywords}.", nameof(MaxKeywords));
        }

        if (MaxDocumentBytes <= 0)
        {
            throw new ArgumentException($"{nameof(MaxDocumentBytes)} must be greater than 0 but is {MaxDocumentBytes}.", nameof(MaxDocumentBytes));
        }
    }
}
