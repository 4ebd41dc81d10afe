using System.Text;
using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class RejectionTests
{
    [Fact]
    public void EmptyStringIsRejected()
    {
        var error = Assert.Throws<DocumentRejectedException>(() => TextTestData.Pipeline.Process(string.Empty));
        Assert.Contains("empty", error.Message);
    }

    [Fact]
    public void EmptyBytesAreRejected()
    {
        var error = Assert.Throws<DocumentRejectedException>(() => TextTestData.Pipeline.Process(ReadOnlySpan<byte>.Empty));
        Assert.Contains("empty", error.Message);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData(" \t\r\n \u3000 \n")]
    public void WhitespaceOnlyIsRejected(string text)
    {
        var error = Assert.Throws<DocumentRejectedException>(() => TextTestData.Pipeline.Process(text));
        Assert.Contains("only whitespace", error.Message);
        Assert.IsAssignableFrom<ArgumentException>(error);
    }

    [Fact]
    public void ControlCharactersOnlyAreRejected()
    {
        var error = Assert.Throws<DocumentRejectedException>(() => TextTestData.Pipeline.Process("\u0001\u0002 \u0007"));
        Assert.Contains("control characters", error.Message);
    }

    [Fact]
    public void OversizedDocumentIsRejectedWithSizeAndLimit()
    {
        var pipeline = TextTestData.With(new TextSettings { MaxDocumentSize = 100 });
        var exactly = new string('a', 98) + "é";

        // 98 + 2 bytes is exactly the limit; one more byte is over it, for strings and bytes alike.
        Assert.Single(pipeline.Process(exactly).Chunks);
        var error = Assert.Throws<DocumentRejectedException>(() => pipeline.Process(exactly + "b"));
        Assert.Contains("101 bytes", error.Message);
        Assert.Contains("100", error.Message);
        Assert.Contains(nameof(TextSettings.MaxDocumentSize), error.Message);
        Assert.Throws<DocumentRejectedException>(() => pipeline.Process(Encoding.UTF8.GetBytes(exactly + "b")));
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0x62, 0xC3, 0x28 }, 2)]
    [InlineData(new byte[] { 0xFF, 0x61 }, 0)]
    [InlineData(new byte[] { 0x48, 0x69, 0x2E, 0x20, 0xE2, 0x82 }, 4)]
    [InlineData(new byte[] { 0x61, 0xED, 0xA0, 0x80 }, 1)]
    public void InvalidUtf8IsRejectedWithTheByteOffset(byte[] bytes, int offset)
    {
        var error = Assert.Throws<DocumentRejectedException>(() => TextTestData.Pipeline.Process(bytes));
        Assert.Contains("not valid UTF-8", error.Message);
        Assert.Contains($"byte offset {offset} ", error.Message);
    }
}
