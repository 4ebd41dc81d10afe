using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class DocumentTitleTests
{
    [Theory]
    [InlineData("# Getting started #\n\nInstall the package.", "Getting started")]
    [InlineData("[![build](https://ci/badge.svg)](https://ci/job/a-long-link-to-the-build-status-page-of-this-project)\n\n## **Orleans** agents\nText.", "Orleans agents")]
    [InlineData("Release notes\n=============\n\nVersion 2 fixes things.", "Release notes")]
    [InlineData("=========\nUser guide\n=========\n\nRead me.", "User guide")]
    [InlineData("= The AsciiDoc Guide\nAuthor Name\n\nBody.", "The AsciiDoc Guide")]
    [InlineData(".\\\" Copyright 1990 the authors\n.TH LS 1 \"2024\" \"GNU\"\n.SH NAME\nls \\- list directory contents\n.SH SYNOPSIS\n.B ls", "ls - list directory contents")]
    [InlineData("LS(1) User Commands LS(1)\n\nNAME\n ls - list directory contents\n\nSYNOPSIS\n ls [OPTION]... [FILE]...", "ls - list directory contents")]
    [InlineData("Debian adduser\n\nThis package provides the adduser command.", "Debian adduser")]
    public void TheFirstHeadingOrAStandaloneFirstLineIsTheTitle(string text, string title) =>
        Assert.Equal(title, DocumentTitle.FromText(text));

    [Theory]
    [InlineData("Four bits; one hex digit; a half-byte.")]
    [InlineData("This program is free software; you can redistribute it\nand/or modify it under the terms of the GNU GPL.")]
    [InlineData("A first line that is far too long to be a title, since it goes on and on for more than eighty characters.\n\nMore.")]
    [InlineData("---\n...\n\n   \n")]
    public void TextWithoutATitleLineHasNone(string text) =>
        Assert.Null(DocumentTitle.FromText(text));

    [Theory]
    [InlineData("nibble.txt", "nibble")]
    [InlineData("docs/guides/getting-started.md", "getting-started")]
    [InlineData("usr\\share\\README", "README")]
    [InlineData(".bashrc", ".bashrc")]
    [InlineData("archive.tar.gz", "archive.tar")]
    public void TheFileNameWithoutItsExtensionIsTheFallback(string name, string title) =>
        Assert.Equal(title, DocumentTitle.FromFileName(name));

    [Fact]
    public void ALongHeadingIsCutAtAWord()
    {
        var title = DocumentTitle.FromText("# " + string.Join(' ', Enumerable.Repeat("heading", 20)) + "\n\nBody.");

        Assert.NotNull(title);
        Assert.InRange(title.Length, 70, DocumentTitle.MaxLength);
        Assert.EndsWith("heading", title, StringComparison.Ordinal);
    }

    [Fact]
    public void ThePipelineGivesTheDocumentItsTitle()
    {
        Assert.Equal("Chunking", TextTestData.Pipeline.Process("# Chunking\r\n\r\nChunks are whole sentences.").Title);
        Assert.Null(TextTestData.Pipeline.Process("Chunks are whole sentences.").Title);
    }
}
