using System.CommandLine;

namespace Agents.Cli;

/// <summary>The values a closed option takes, shown in its help and checked as the command line is parsed.</summary>
public static class ClosedOptions
{
    /// <summary>
    /// Makes <paramref name="option"/> take one of <paramref name="names"/> (or a value <paramref name="accepts"/> also
    /// takes, such as an alias): help shows them as <c>&lt;a|b|c&gt;</c>, and any other value is a parse error in one
    /// line that lists them and names the closest.
    /// </summary>
    public static Option<string> OneOf(this Option<string> option, IReadOnlyList<string> names, Func<string, bool>? accepts = null)
    {
        // Short lists read best in the option's usage (--mode <single-node|cluster>), long ones in its description.
        if (string.Join('|', names) is { Length: <= 32 } inline)
        {
            option.HelpName = inline;
        }
        else
        {
            option.HelpName = option.Name.TrimStart('-');
            option.Description = $"{option.Description} One of: {string.Join(", ", names)}.";
        }

        option.CompletionSources.Add([.. names]);
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 0)
            {
                return;
            }

            var value = result.Tokens[^1].Value;
            if (names.Contains(value, StringComparer.Ordinal) || accepts?.Invoke(value) == true)
            {
                return;
            }

            var hint = Suggestions.Closest(value, names) is { } near ? $"; did you mean '{near}'?" : ".";
            result.AddError($"{option.Name} '{value}' is not {(names.Count > 2 ? "one of " : "")}{Suggestions.List(names)}{hint}");
        });
        return option;
    }
}

/// <summary>"Did you mean": the known name closest to a mistyped one.</summary>
public static class Suggestions
{
    /// <summary>
    /// The name among <paramref name="candidates"/> nearest to <paramref name="typed"/> (edits, counting a swap of two
    /// neighbours as one), if it is near enough to be a typo; null otherwise.
    /// </summary>
    public static string? Closest(string typed, IEnumerable<string> candidates)
    {
        var word = typed.ToLowerInvariant();
        var allowed = Math.Max(1, Math.Min(3, word.TrimStart('-').Length / 3));
        return candidates
            .Select(c => (Name: c, Distance: Distance(word, c.ToLowerInvariant())))
            .Where(c => c.Distance <= allowed || (word.TrimStart('-').Length >= 3 && c.Name.StartsWith(typed, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();
    }

    /// <summary>"a, b or c".</summary>
    public static string List(IReadOnlyList<string> names) =>
        names.Count == 1 ? names[0] : $"{string.Join(", ", names.Take(names.Count - 1))} or {names[^1]}";

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}

/// <summary>The command-line names of <see cref="Distribution"/>.</summary>
public static class DistributionNames
{
    /// <summary>The names, as the options take them.</summary>
    public static readonly IReadOnlyList<string> All = ["round-robin", "random", "least-loaded"];

    /// <summary>True for a name (or alias) <see cref="Parse"/> takes.</summary>
    public static bool IsKnown(string name) => name.Trim().ToLowerInvariant() is "round-robin" or "roundrobin" or "random" or "least-loaded" or "leastloaded";

    /// <summary>Parses <c>round-robin</c>, <c>random</c> or <c>least-loaded</c>.</summary>
    public static Distribution Parse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "round-robin" or "roundrobin" => Distribution.RoundRobin,
        "random" => Distribution.Random,
        "least-loaded" or "leastloaded" => Distribution.LeastLoaded,
        _ => throw new ArgumentException($"--distribution '{name}' is unknown; use round-robin, random or least-loaded."),
    };

    /// <summary>The command-line name of a distribution.</summary>
    public static string ToName(this Distribution distribution) => distribution switch
    {
        Distribution.RoundRobin => "round-robin",
        Distribution.Random => "random",
        Distribution.LeastLoaded => "least-loaded",
        _ => throw new ArgumentOutOfRangeException(nameof(distribution)),
    };
}

/// <summary>The command-line names of <see cref="VectorMetric"/>.</summary>
public static class MetricNames
{
    /// <summary>The names, as the options take them.</summary>
    public static readonly IReadOnlyList<string> All = ["cosine", "dot", "l2"];

    /// <summary>True for a name (or alias) <see cref="Parse"/> takes.</summary>
    public static bool IsKnown(string name) => name.Trim().ToLowerInvariant() is "cosine" or "dot" or "l2" or "euclid" or "euclidean";

    /// <summary>Parses <c>cosine</c>, <c>dot</c> or <c>l2</c>.</summary>
    public static VectorMetric Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "cosine" => VectorMetric.Cosine,
        "dot" => VectorMetric.Dot,
        "l2" or "euclid" or "euclidean" => VectorMetric.L2,
        _ => throw new ArgumentException($"Metric '{text}' is unknown: use cosine, dot or l2."),
    };

    /// <summary>The command-line name of a metric.</summary>
    public static string ToName(this VectorMetric metric) => metric.ToString().ToLowerInvariant();
}

/// <summary>The command-line names of <see cref="VectorIndexKind"/>.</summary>
public static class IndexKindNames
{
    /// <summary>The names, as the options take them.</summary>
    public static readonly IReadOnlyList<string> All = ["hnsw", "flat"];

    /// <summary>Parses <c>hnsw</c> or <c>flat</c>; <paramref name="option"/> names where the value came from.</summary>
    public static VectorIndexKind Parse(string? text, string option = "Index") => text?.Trim().ToLowerInvariant() switch
    {
        "hnsw" => VectorIndexKind.Hnsw,
        "flat" => VectorIndexKind.Flat,
        _ => throw new ArgumentException($"{option} '{text}' is unknown: use hnsw or flat."),
    };

    /// <summary>The command-line name of an index kind.</summary>
    public static string ToName(this VectorIndexKind index) => index.ToString().ToLowerInvariant();
}

/// <summary>The command-line names of <see cref="SearchMode"/>.</summary>
public static class SearchModeNames
{
    /// <summary>The names, as the options take them.</summary>
    public static readonly IReadOnlyList<string> All = ["dense", "keyword", "hybrid"];

    /// <summary>Parses <c>dense</c>, <c>keyword</c> or <c>hybrid</c>.</summary>
    public static SearchMode Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "dense" => SearchMode.Dense,
        "keyword" => SearchMode.Keyword,
        "hybrid" => SearchMode.Hybrid,
        _ => throw new ArgumentException($"Search mode '{text}' is unknown: use dense, keyword or hybrid."),
    };

    /// <summary>The command-line name of a search mode.</summary>
    public static string ToName(this SearchMode mode) => mode.ToString().ToLowerInvariant();
}
