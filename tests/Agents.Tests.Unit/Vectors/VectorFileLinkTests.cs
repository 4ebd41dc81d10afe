namespace Agents.Tests.Vectors;

/// <summary>Vector files reached through symbolic links, as data sets often are.</summary>
public sealed class VectorFileLinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fvecs-link-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void AnFvecsFileThroughALinkIsReadAsItsTarget()
    {
        var target = Path.Combine(_dir, "base.fvecs");
        using (var writer = new BinaryWriter(File.Create(target)))
        {
            for (var row = 0; row < 2; row++)
            {
                writer.Write(384);
                for (var d = 0; d < 384; d++)
                {
                    writer.Write((float)(row + d));
                }
            }
        }

        // A link to a link: the final target's length counts, not the link's own.
        var first = Path.Combine(_dir, "first.fvecs");
        File.CreateSymbolicLink(first, target);
        var link = Path.Combine(_dir, "link.fvecs");
        File.CreateSymbolicLink(link, first);

        var rows = VectorFiles.ReadFvecs(link).ToList();

        Assert.Equal(2, rows.Count);
        Assert.Equal(384, rows[1].Length);
        Assert.Equal(384f, rows[1][383]);
    }

    [Fact]
    public void ABrokenLinkIsNamedWithWhereItPoints()
    {
        var link = Path.Combine(_dir, "dangling.fvecs");
        File.CreateSymbolicLink(link, Path.Combine(_dir, "gone.fvecs"));

        var e = Assert.Throws<FileNotFoundException>(() => VectorFiles.ReadFvecs(link).ToList());

        Assert.Contains("dangling.fvecs", e.Message, StringComparison.Ordinal);
        Assert.Contains("gone.fvecs", e.Message, StringComparison.Ordinal);
    }
}
