namespace Agents.Grains.Capabilities;

/// <summary><c>process-text</c>: the silo's text pipeline on one document.</summary>
public sealed class ProcessTextHandler(TextPipeline pipeline)
{
    /// <summary>Keywords a request may ask for at most.</summary>
    public const int MaxKeywords = 1000;

    /// <summary>Tokens, chunks, keywords and statistics of the request's text.</summary>
    public ProcessTextReply Handle(ProcessTextRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Text))
        {
            throw new ArgumentException("The process-text request has no text: give the document in \"text\".");
        }

        var used = pipeline;
        if (request.MaxKeywords is { } max)
        {
            if (max is < 0 or > MaxKeywords)
            {
                throw new ArgumentException($"maxKeywords {max} is out of range: use 0..{MaxKeywords}.");
            }

            used = pipeline.WithSettings(pipeline.Settings with { MaxKeywords = max });
        }

        var document = used.Process(request.Text);
        var s = document.Statistics;
        return new ProcessTextReply(
            document.ContentHash,
            document.Title,
            new TextStatistics(s.Characters, s.Words, s.Sentences, s.Tokens, s.Chunks, s.UniqueWords, s.AverageWordLength, s.AverageSentenceWords),
            document.Chunks.Select(c => new TextChunkInfo(c.Index, c.TokenStart, c.TokenCount, c.CharStart, c.CharLength, request.WithChunkText ? c.Text : null)).ToArray(),
            document.Keywords.Select(k => new KeywordScore(k.Term, k.Score)).ToArray());
    }
}
