using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

/// <summary>Tokens must equal what bert-base-uncased / all-MiniLM-L6-v2 produce (HuggingFace BertTokenizer).</summary>
public sealed class WordPieceTokenizerTests
{
    private static WordPieceTokenizer Tokenizer => TextTestData.Tokenizer;

    [Theory]
    [InlineData("Hello, world!", new[] { "hello", ",", "world", "!" })]
    [InlineData("Café résumé naïve", new[] { "cafe", "resume", "naive" })]
    [InlineData("Ünïcödé", new[] { "unicode" })]
    [InlineData("中文 日本語", new[] { "中", "文", "日", "本", "語" })]
    [InlineData("中文and日本", new[] { "中", "文", "and", "日", "本" })]
    [InlineData("tab\there\nnew  line", new[] { "tab", "here", "new", "line" })]
    [InlineData("tokenization", new[] { "token", "##ization" })]
    [InlineData("unaffable", new[] { "una", "##ffa", "##ble" })]
    [InlineData("3.14 and 1,000", new[] { "3", ".", "14", "and", "1", ",", "000" })]
    [InlineData("2024 123456", new[] { "202", "##4", "123", "##45", "##6" })]
    [InlineData("don't", new[] { "don", "'", "t" })]
    [InlineData("$5 (approx.)", new[] { "$", "5", "(", "approx", ".", ")" })]
    public void TokensMatchUncasedBertReference(string text, string[] expected)
    {
        var tokens = Tokenizer.Tokenize(text).Select(t => t.Text).ToArray();

        Assert.Equal(expected, tokens);
        foreach (var token in expected)
        {
            // The reference tokens must themselves be vocabulary entries, or the expectation is wrong.
            Assert.NotNull(Tokenizer.IdOf(token));
        }
    }

    [Fact]
    public void IdsMatchKnownBertIds()
    {
        Assert.Equal(101, Tokenizer.ClsId);
        Assert.Equal(102, Tokenizer.SepId);
        Assert.Equal(100, Tokenizer.UnknownId);
        Assert.Equal(30522, Tokenizer.VocabularySize);
        Assert.Equal(new[] { 7592, 1010, 2088, 999 }, Tokenizer.EncodeIds("Hello, world!"));
    }

    [Fact]
    public void HanCharacterMissingFromVocabularyIsUnknown()
    {
        // bert-base-uncased has no entry for 字, so it becomes [UNK] on its own while 中 stays.
        Assert.Null(Tokenizer.IdOf("字"));
        Assert.Equal(new[] { "中", "[UNK]" }, Tokenizer.Tokenize("中字").Select(t => t.Text));
    }

    [Fact]
    public void OffsetsPointAtTheSourceCharacters()
    {
        const string text = "Hello, tokenization!";
        var tokens = Tokenizer.Tokenize(text);

        Assert.Equal(
            new[] { (0, 5), (5, 1), (7, 5), (12, 7), (19, 1) },
            tokens.Select(t => (t.CharStart, t.CharLength)));
        Assert.Equal("Hello", text.Substring(tokens[0].CharStart, tokens[0].CharLength));
        Assert.Equal("ization", text.Substring(tokens[3].CharStart, tokens[3].CharLength));
    }

    [Fact]
    public void OffsetsStayConsistentWhenSegmentationFallsBack()
    {
        // A literal special token makes our segmentation differ from the library's; spans must still be ordered and in range.
        const string text = "before [CLS] after [SEP] end";
        var tokens = Tokenizer.Tokenize(text);

        Assert.Equal("before", tokens[0].Text);
        Assert.Equal("end", tokens[^1].Text);
        var previousEnd = 0;
        foreach (var token in tokens)
        {
            Assert.True(token.CharStart >= previousEnd, $"token {token} starts before {previousEnd}");
            Assert.True(token.CharStart + token.CharLength <= text.Length);
            previousEnd = token.CharStart + token.CharLength;
        }
    }
}
