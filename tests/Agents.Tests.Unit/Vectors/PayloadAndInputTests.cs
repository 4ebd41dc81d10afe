using System.Text;
using Agents.Grains.Vectors;
using Agents.Engine.Vectors;

namespace Agents.Tests.Vectors;

public sealed class PayloadAndInputTests
{
    private static PayloadFields P(string json) => PayloadFields.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void FiltersMatchEqualitySetsAndRanges()
    {
        var doc = P("""{"lang":"en","year":2021,"tags":["a","b"],"draft":false,"nested":{"x":1}}""");
        Assert.True(doc.Matches(new PayloadFilter([new("lang", FilterOperator.In, ["en"])])));
        Assert.False(doc.Matches(new PayloadFilter([new("lang", FilterOperator.In, ["fr"])])));
        Assert.True(doc.Matches(new PayloadFilter([new("lang", FilterOperator.In, ["fr", "en"])])));
        Assert.True(doc.Matches(new PayloadFilter([new("tags", FilterOperator.In, ["b"])])));
        Assert.True(doc.Matches(new PayloadFilter([new("year", FilterOperator.Range, Min: 2020, Max: 2021)])));
        Assert.False(doc.Matches(new PayloadFilter([new("year", FilterOperator.Range, Min: 2022)])));
        Assert.True(doc.Matches(new PayloadFilter([new("year", FilterOperator.In, ["2021.0"])])));
        Assert.True(doc.Matches(new PayloadFilter([new("draft", FilterOperator.In, ["false"])])));
        Assert.False(doc.Matches(new PayloadFilter([new("lang", FilterOperator.In, ["en"]), new("year", FilterOperator.Range, Max: 2000)])));
        Assert.False(PayloadFields.Empty.Matches(new PayloadFilter([new("lang", FilterOperator.In, ["en"])])));
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("{\"a\":")]
    [InlineData("not json")]
    public void BadPayloadsAreRejected(string json)
    {
        var e = Assert.Throws<ArgumentException>(() => P(json));
        Assert.Contains("payload", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("lang=en", "lang", FilterOperator.In)]
    [InlineData("tag=a|b|c", "tag", FilterOperator.In)]
    [InlineData("year>=2020", "year", FilterOperator.Range)]
    [InlineData("year<=2020", "year", FilterOperator.Range)]
    [InlineData("price=10..20", "price", FilterOperator.Range)]
    public void CommandLineFiltersParse(string text, string field, FilterOperator op)
    {
        var c = VectorFiles.ParseFilter(text);
        Assert.Equal(field, c.Field);
        Assert.Equal(op, c.Operator);
    }

    [Theory]
    [InlineData("lang")]
    [InlineData("year>=soon")]
    [InlineData("=5")]
    public void BadFiltersSayWhatIsWrong(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => VectorFiles.ParseFilter(text));
        Assert.Contains(text, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4097)]
    [InlineData(-3)]
    public void DimensionOutOfRangeIsRejected(int dimension)
    {
        var e = Assert.Throws<ArgumentException>(() => ShardRouter.Validate(new CollectionSpec("c", dimension)));
        Assert.Contains("Dimension", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("../etc")]
    [InlineData("a-very-long-name-that-goes-on-and-on-and-on-past-sixty-four-characters-x")]
    public void InvalidNamesAreRejected(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => ShardRouter.ValidateName(name));
        Assert.Contains("not valid", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShardOfIsStableAndSpreads()
    {
        Assert.Equal(ShardRouter.ShardOf("doc-42", 8), ShardRouter.ShardOf("doc-42", 8));
        var counts = new int[4];
        for (var i = 0; i < 4000; i++)
        {
            counts[ShardRouter.ShardOf($"p{i}", 4)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 850, 1150));
    }

    [Fact]
    public void FvecsRoundTripsAndMalformedFilesAreNamed()
    {
        var path = Path.GetTempFileName() + ".fvecs";
        try
        {
            using (var w = new BinaryWriter(File.Create(path)))
            {
                foreach (var row in new[] { new float[] { 1, 2, 3 }, [4, 5, 6] })
                {
                    w.Write(row.Length);
                    foreach (var x in row)
                    {
                        w.Write(x);
                    }
                }
            }

            var rows = VectorFiles.ReadFvecs(path).ToList();
            Assert.Equal([4f, 5f, 6f], rows[1]);

            File.WriteAllBytes(path, File.ReadAllBytes(path)[..^3]);
            var cut = Assert.Throws<InvalidDataException>(() => VectorFiles.ReadFvecs(path).ToList());
            Assert.Contains("row 1", cut.Message, StringComparison.Ordinal);

            File.WriteAllBytes(path, [0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0]);
            var bad = Assert.Throws<InvalidDataException>(() => VectorFiles.ReadFvecs(path).ToList());
            Assert.Contains("dimension", bad.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MalformedJsonlNamesTheLine()
    {
        var path = Path.GetTempFileName() + ".jsonl";
        try
        {
            File.WriteAllLines(path, ["""{"id":"a","vector":[1,2]}""", """{"id":"b","vector":"oops"}"""]);
            var e = Assert.Throws<InvalidDataException>(() => VectorFiles.ReadJsonl(path).ToList());
            Assert.Contains("line 2", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
