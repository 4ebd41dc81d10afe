using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class TextSettingsTests
{
    [Fact]
    public void DefaultsAreValid()
    {
        var options = new TextSettings();
        options.Validate();

        Assert.Equal((254, 32, 10, 10L * 1024 * 1024), (options.ChunkTokens, options.ChunkOverlap, options.MaxKeywords, options.MaxDocumentSize));
    }

    [Theory]
    [InlineData(0, 0, 10, 100, nameof(TextSettings.ChunkTokens))]
    [InlineData(-5, 0, 10, 100, nameof(TextSettings.ChunkTokens))]
    [InlineData(16, 16, 10, 100, nameof(TextSettings.ChunkOverlap))]
    [InlineData(16, -1, 10, 100, nameof(TextSettings.ChunkOverlap))]
    [InlineData(16, 4, -1, 100, nameof(TextSettings.MaxKeywords))]
    [InlineData(16, 4, 10, 0, nameof(TextSettings.MaxDocumentSize))]
    public void InvalidValuesNameTheProperty(int chunkTokens, int overlap, int maxKeywords, int maxBytes, string property)
    {
        var options = new TextSettings { ChunkTokens = chunkTokens, ChunkOverlap = overlap, MaxKeywords = maxKeywords, MaxDocumentSize = maxBytes };

        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(property, error.ParamName);
        Assert.Contains(property, error.Message);

        // The pipeline refuses them too, before it loads anything.
        Assert.Equal(property, Assert.Throws<ArgumentException>(() => new TextPipeline(options, "/nonexistent/none.dll")).ParamName);
    }

    [Fact]
    public void OverlapJustBelowTheWindowIsValid()
    {
        new TextSettings { ChunkTokens = 16, ChunkOverlap = 15 }.Validate();
        Assert.Equal(15, TextTestData.With(new TextSettings { ChunkTokens = 16, ChunkOverlap = 15 }).Settings.ChunkOverlap);
    }
}
