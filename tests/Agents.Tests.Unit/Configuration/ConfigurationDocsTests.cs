using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Agents.Tests.Configuration;

/// <summary>The configuration reference in docs/configuration.md is checked against the binder and the settings' defaults.</summary>
public sealed partial class ConfigurationDocsTests
{
    [Fact]
    public void EveryKeyIsDocumentedOnceAndNoDocumentedKeyIsUnknown()
    {
        var documented = Rows().Select(r => r.Key).ToList();
        Assert.Equal(documented.Count, documented.Distinct().Count());
        Assert.Equal(AgentsConfiguration.KeyPaths.Order(), documented.Order());
    }

    [Fact]
    public void EveryDocumentedDefaultIsTheSettingsDefault()
    {
        var defaults = new AgentsSettings();
        foreach (var (key, value) in Rows().Where(r => r.Default != "cores"))
        {
            var (section, name) = (key[..key.IndexOf('.')], key[(key.IndexOf('.') + 1)..]);
            var applied = AgentsConfiguration.ApplyYaml(defaults, $"{section}:\n  {name}: \"{value}\"\n");
            Assert.True(applied == defaults, $"docs/configuration.md gives {key} a default of {value}, which is not the settings' default.");
        }

        Assert.Equal("cores", Rows().Single(r => r.Key == "performance.worker_threads").Default);
        Assert.Equal(Environment.ProcessorCount, defaults.Performance.WorkerThreads);
    }

    private static IEnumerable<(string Key, string Default)> Rows()
    {
        var docs = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "configuration.md"));
        return Row().Matches(docs).Select(m => (m.Groups["key"].Value, m.Groups["default"].Value.Trim()));
    }

    // The source file's own path, so the check works from any build output folder.
    private static string RepositoryRoot([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", ".."));

    [GeneratedRegex(@"^\| `(?<key>(performance|text)\.[a-z_]+)`[^|]*\| (?<default>[^|]+)\|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
