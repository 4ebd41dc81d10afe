using System.Text;

namespace Agents.Inputs;

/// <summary>Where a job's documents come from: a folder of text files, or deterministic generated English.</summary>
public static class DocumentSource
{
    private static readonly string[] Words =
    [
        "the", "cluster", "agent", "silo", "grain", "message", "vector", "search", "index", "document", "token", "model",
        "embedding", "throughput", "latency", "memory", "network", "scheduler", "batch", "worker", "placement", "stream",
        "metric", "aggregator", "database", "replica", "shard", "query", "result", "node", "process", "thread", "core",
        "cache", "storage", "membership", "failure", "recovery", "a", "of", "to", "and", "in", "is", "that", "for", "it",
        "with", "as", "on", "by", "from", "each", "every", "which", "when", "while", "after", "before", "between", "over",
        "distributed", "system", "runs", "keeps", "sends", "receives", "splits", "merges", "counts", "measures", "scales",
        "fast", "slow", "large", "small", "durable", "transient", "local", "remote", "parallel", "sequential", "exact",
        "approximate", "neighbour", "distance", "cosine", "graph", "layer", "entry", "point", "filter", "payload",
        "tokenizer", "vocabulary", "sentence", "paragraph", "chunk", "overlap", "window", "keyword", "statistic",
        "engineer", "operator", "dashboard", "report", "benchmark", "figure", "ratio", "baseline", "target", "host",
        "request", "reply", "timeout", "retry", "backpressure", "queue", "load", "shedding", "bounded", "unbounded",
        "café", "naïve", "résumé", "über", "coöperate", "façade", "déjà", "vu", "2026", "3.14", "v10", "42",
    ];

    /// <summary>A deterministic document of about <paramref name="bytes"/> bytes of UTF-8 for task <paramref name="id"/>.</summary>
    public static string Generate(int id, int bytes = 2048, int seed = 42)
    {
        var random = new Random(HashCode.Combine(seed, id));
        var text = new StringBuilder(bytes + 128);
        text.Append("Document ").Append(id).Append(". ");
        while (Encoding.UTF8.GetByteCount(text.ToString()) < bytes)
        {
            var length = random.Next(6, 22);
            for (var w = 0; w < length; w++)
            {
                var word = Words[random.Next(Words.Length)];
                text.Append(w == 0 ? char.ToUpperInvariant(word[0]) + word[1..] : word);
                text.Append(w == length - 1 ? "" : random.Next(12) == 0 ? ", " : " ");
            }

            text.Append(random.Next(10) switch { 0 => "? ", 1 => "! ", _ => ". " });
            if (random.Next(6) == 0)
            {
                text.Append("\n\n");
            }
        }

        return text.ToString();
    }

    /// <summary><paramref name="count"/> generated tasks.</summary>
    public static IEnumerable<JobTask> GenerateTasks(int count, int bytes = 2048, int seed = 42) =>
        Enumerable.Range(0, count).Select(i => new JobTask(i, $"generated-{i}", Encoding.UTF8.GetBytes(Generate(i, bytes, seed))));

    /// <summary>The files of <paramref name="directory"/> (recursively, sorted), read as raw bytes so the silo judges their encoding.</summary>
    public static IReadOnlyList<string> ListFiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Input folder '{directory}' does not exist.");
        }

        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .ToList();
        return files.Count == 0 ? throw new FileNotFoundException($"Input folder '{directory}' holds no files.") : files;
    }

    /// <summary>
    /// Tasks from files, repeated in order until <paramref name="count"/> tasks (or once each when null), named by file
    /// name, or by path relative to <paramref name="root"/> when given (unique within a folder tree).
    /// </summary>
    public static IEnumerable<JobTask> ReadTasks(IReadOnlyList<string> files, int? count = null, string? root = null)
    {
        var n = count ?? files.Count;
        for (var i = 0; i < n; i++)
        {
            var file = files[i % files.Count];
            var name = root is null ? Path.GetFileName(file) : Path.GetRelativePath(root, file).Replace('\\', '/');
            yield return new JobTask(i, name, File.ReadAllBytes(file));
        }
    }
}
