using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class SentenceSplitterTests
{
    [Fact]
    public void AbbreviationsAndDecimalsDoNotEndSentences()
    {
        var sentences = SentenceSplitter.SplitText("Dr. Smith met Mr. Jones at 3.14 p.m. today. They talked, e.g. about pi! Was it fun? Yes.");

        Assert.Equal(
            new[] { "Dr. Smith met Mr. Jones at 3.14 p.m. today.", "They talked, e.g. about pi!", "Was it fun?", "Yes." },
            sentences);
    }

    [Fact]
    public void InitialsAndNumbersStayInOneSentence()
    {
        Assert.Single(SentenceSplitter.SplitText("J. R. R. Tolkien wrote 3.5 books in version 2.0 of the list."));
    }

    [Fact]
    public void BlankLineEndsASentenceButASingleNewlineDoesNot()
    {
        var sentences = SentenceSplitter.SplitText("Title without a stop\n\nBody text that\nwraps here. Last one");

        Assert.Equal(new[] { "Title without a stop", "Body text that\nwraps here.", "Last one" }, sentences);
    }

    [Fact]
    public void ClosingQuotesStayWithTheirSentence()
    {
        Assert.Equal(
            new[] { "He said \"Stop.\"", "Then he left..." },
            SentenceSplitter.SplitText("He said \"Stop.\" Then he left..."));
    }

    [Fact]
    public void CjkTerminatorsSplitWithoutSpaces()
    {
        Assert.Equal(new[] { "今天天气很好。", "我们去公园！", "好吗？" }, SentenceSplitter.SplitText("今天天气很好。我们去公园！好吗？"));
    }

    [Fact]
    public void PunctuationOnlyIsNoSentence()
    {
        Assert.Equal(0, SentenceSplitter.Count("... !!! ?"));
        Assert.Equal(2, SentenceSplitter.Count("One. ... Two."));
    }
}
