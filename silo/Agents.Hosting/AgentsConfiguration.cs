using System.Collections;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Agents.Hosting;

/// <summary>
/// The one configuration binder: reads <c>performance.yaml</c>, applies <c>P2P_*</c> overrides and validates,
/// so a bad key or value stops start-up with a message that names it.
/// </summary>
public static class AgentsConfiguration
{
    /// <summary>Host settings read elsewhere (command line and <see cref="Hosting.HostSettings"/>), accepted here so they are not called unknown.</summary>
    public static readonly IReadOnlySet<string> HostVariables = new HashSet<string>(StringComparer.Ordinal)
    {
        "P2P_INSTANCE", "P2P_CLUSTER", "P2P_PRIMARY", "P2P_GATEWAYS", "P2P_CONNECT_TIMEOUT", "P2P_DATA_DIR", "P2P_CONFIG", "P2P_INIT_SCHEMA", "P2P_METRICS_PORT", "P2P_DASHBOARD_PORT", "P2P_ADDRESS",
        "P2P_TLS_CERT", "P2P_TLS_CERT_PASSWORD", "P2P_TLS_CA", "P2P_HTTP_AUTH",
    };

    // Recognised keys of capabilities this build does not have: rejected with the reason, never silently ignored.
    private static readonly IReadOnlyDictionary<string, string> Unsupported = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["bloom_filter_bits"] = "each shard keeps an exact in-memory index of its ids, so an approximate id filter would change nothing",
    };


    private sealed record Key(string Section, string Name, Func<AgentsSettings, string, string, AgentsSettings> Apply)
    {
        public string Path => $"{Section}.{Name}";

        public string Variable => "P2P_" + Name.ToUpperInvariant();
    }

    private static readonly Key[] Keys =
    [
        new("performance", "worker_threads", (s, k, v) => s with { Performance = s.Performance with { WorkerThreads = Int(k, v, 1, 1024) } }),
        new("performance", "max_blocking_threads", (s, k, v) => s with { Performance = s.Performance with { MaxBlockingThreads = Int(k, v, 0, 32767) } }),
        new("performance", "document_cache_size", (s, k, v) => s with { Performance = s.Performance with { DocumentCacheSize = Size(k, v, 0, 1L << 40) } }),
        new("performance", "vector_cache_size", (s, k, v) => s with { Performance = s.Performance with { VectorCacheSize = Size(k, v, 0, 1L << 40) } }),
        new("performance", "write_buffer_size", (s, k, v) => s with { Performance = s.Performance with { WriteBufferSize = Size(k, v, 64L << 10, 96L << 20) } }),
        new("performance", "connection_pool_size", (s, k, v) => s with { Performance = s.Performance with { ConnectionPoolSize = Int(k, v, 1, 1000) } }),
        new("performance", "message_batch_size", (s, k, v) => s with { Performance = s.Performance with { MessageBatchSize = Int(k, v, 1, 100_000) } }),
        new("performance", "keepalive_interval", (s, k, v) => s with { Performance = s.Performance with { KeepaliveInterval = Duration(k, v, TimeSpan.FromSeconds(1), TimeSpan.FromHours(1)) } }),
        new("performance", "message_flush_interval", (s, k, v) => s with { Performance = s.Performance with { MessageFlushInterval = Duration(k, v, TimeSpan.Zero, TimeSpan.FromSeconds(10)) } }),
        new("performance", "metrics_interval", (s, k, v) => s with { Performance = s.Performance with { MetricsInterval = Duration(k, v, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10)) } }),
        new("performance", "message_outbox_limit", (s, k, v) => s with { Performance = s.Performance with { MessageOutboxLimit = Int(k, v, 1, 10_000_000) } }),
        new("performance", "embedding_queue_limit", (s, k, v) => s with { Performance = s.Performance with { EmbeddingQueueLimit = Int(k, v, 1, 10_000_000) } }),
        new("performance", "embedding_batch_size", (s, k, v) => s with { Performance = s.Performance with { EmbeddingBatchSize = Int(k, v, 1, 1024) } }),
        new("performance", "embedding_max_wait", (s, k, v) => s with { Performance = s.Performance with { EmbeddingMaxWait = Duration(k, v, TimeSpan.Zero, TimeSpan.FromSeconds(1)) } }),
        new("performance", "agent_workers", (s, k, v) => s with { Performance = s.Performance with { AgentWorkers = Int(k, v, 0, 64) } }),
        new("text", "chunk_tokens", (s, k, v) => s with { Text = s.Text with { ChunkTokens = Int(k, v, 8, 8192) } }),
        new("text", "chunk_overlap", (s, k, v) => s with { Text = s.Text with { ChunkOverlap = Int(k, v, 0, 8191) } }),
        new("text", "max_keywords", (s, k, v) => s with { Text = s.Text with { MaxKeywords = Int(k, v, 0, 1000) } }),
        new("text", "max_document_size", (s, k, v) => s with { Text = s.Text with { MaxDocumentSize = Size(k, v, 1, int.MaxValue) } }),
    ];

    private static readonly IReadOnlyDictionary<string, Key> Aliases = new Dictionary<string, Key>(StringComparer.Ordinal)
    {
        // Another name for the cache budget; the document cache is the cache of this build.
        ["P2P_CACHE_SIZE"] = Keys.Single(k => k.Name == "document_cache_size"),
    };

    /// <summary>Every key, as <c>section.key</c>.</summary>
    public static IEnumerable<string> KeyPaths => Keys.Select(k => k.Path);

    /// <summary>Every <c>P2P_*</c> variable that sets a key.</summary>
    public static IEnumerable<string> KeyVariables => Keys.Select(k => k.Variable).Concat(Aliases.Keys).Append("P2P_ENABLE_SIMD");

    /// <summary>Loads settings: defaults, then the YAML file (if any), then <c>P2P_*</c> variables; throws <see cref="ConfigurationException"/>.</summary>
    public static AgentsSettings Load(string? yamlPath, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var settings = new AgentsSettings();
        if (!string.IsNullOrEmpty(yamlPath))
        {
            if (!File.Exists(yamlPath))
            {
                throw new ConfigurationException($"Configuration file '{yamlPath}' does not exist.");
            }

            settings = ApplyYaml(settings, File.ReadAllText(yamlPath), yamlPath);
        }

        settings = ApplyEnvironment(settings, environment ?? ReadEnvironment());
        Validate(settings);
        return settings;
    }

    /// <summary>The process's <c>P2P_*</c> variables.</summary>
    public static IReadOnlyDictionary<string, string?> ReadEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            var name = (string)entry.Key;
            if (name.StartsWith("P2P_", StringComparison.Ordinal))
            {
                result[name] = entry.Value as string;
            }
        }

        return result;
    }

    /// <summary>Applies a performance.yaml document (a <c>performance:</c> section of keys).</summary>
    public static AgentsSettings ApplyYaml(AgentsSettings settings, string yaml, string source = "performance.yaml")
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigurationException($"{source}: not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}");
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return settings;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigurationException($"{source}: the top level must be a mapping of sections (performance:, text:).");
        }

        foreach (var (sectionNode, body) in root.Children)
        {
            var section = sectionNode is YamlScalarNode { Value: var sectionName } ? sectionName ?? ""
                : throw new ConfigurationException($"{source}: line {sectionNode.Start.Line}: a section name must be a plain word (performance:, text:).");
            if (!Keys.Any(k => k.Section == section))
            {
                throw new ConfigurationException($"{source}: unknown section '{section}' (line {sectionNode.Start.Line}); known sections: performance, text.");
            }

            if (body is YamlScalarNode { Value: null or "" })
            {
                continue;
            }

            if (body is not YamlMappingNode entries)
            {
                throw new ConfigurationException($"{source}: section '{section}' must be a mapping of keys.");
            }

            foreach (var (keyNode, valueNode) in entries.Children)
            {
                var name = keyNode is YamlScalarNode { Value: var keyName } ? keyName ?? ""
                    : throw new ConfigurationException($"{source}: line {keyNode.Start.Line}: a key of section '{section}' must be a plain word.");
                var path = $"{section}.{name}";
                if (Unsupported.TryGetValue(name, out var why) && section == "performance")
                {
                    throw new ConfigurationException($"{source}: key '{path}' is not supported: {why}. Remove it.");
                }

                var key = Keys.FirstOrDefault(k => k.Section == section && k.Name == name)
                    ?? throw new ConfigurationException(
                        $"{source}: unknown key '{path}' (line {keyNode.Start.Line}); known keys: {string.Join(", ", Keys.Where(k => k.Section == section).Select(k => k.Name))}.");
                if (valueNode is not YamlScalarNode { Value: { } value })
                {
                    throw new ConfigurationException($"{source}: key '{path}' needs a single value.");
                }

                settings = key.Apply(settings, path, value);
            }
        }

        return settings;
    }

    /// <summary>Applies <c>P2P_*</c> variables; unknown ones are rejected so a typo is never silently ignored.</summary>
    public static AgentsSettings ApplyEnvironment(AgentsSettings settings, IReadOnlyDictionary<string, string?> environment)
    {
        foreach (var (name, value) in environment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!name.StartsWith("P2P_", StringComparison.Ordinal) || HostVariables.Contains(name))
            {
                continue;
            }

            if (name == "P2P_ENABLE_SIMD")
            {
                settings = settings with
                {
                    EnableSimd = bool.TryParse(value, out var simd) ? simd
                        : throw new ConfigurationException($"P2P_ENABLE_SIMD: '{value}' is not true or false."),
                };
                continue;
            }

            var unsupportedKey = Unsupported.Keys.FirstOrDefault(k => "P2P_" + k.ToUpperInvariant() == name);
            if (unsupportedKey is not null)
            {
                throw new ConfigurationException($"Environment variable {name} is not supported: {Unsupported[unsupportedKey]}. Unset it.");
            }

            var key = Keys.FirstOrDefault(k => k.Variable == name) ?? (Aliases.TryGetValue(name, out var alias) ? alias : null)
                ?? throw new ConfigurationException(
                    $"Unknown environment variable {name}; known: {string.Join(", ", KeyVariables.Concat(HostVariables).Order(StringComparer.Ordinal))}.");
            settings = key.Apply(settings, name, value ?? "");
        }

        return settings;
    }

    /// <summary>Checks rules that involve more than one key.</summary>
    public static void Validate(AgentsSettings settings)
    {
        var text = settings.Text;
        if (text.ChunkOverlap >= text.ChunkTokens)
        {
            throw new ConfigurationException(
                $"text.chunk_overlap ({text.ChunkOverlap}) must be smaller than text.chunk_tokens ({text.ChunkTokens}) (P2P_CHUNK_OVERLAP, P2P_CHUNK_TOKENS in the environment).");
        }

        var perf = settings.Performance;
        if (perf.WorkerThreads + perf.MaxBlockingThreads < Environment.ProcessorCount)
        {
            throw new ConfigurationException(
                $"performance.worker_threads + performance.max_blocking_threads ({perf.WorkerThreads + perf.MaxBlockingThreads}) must be at least the number of cores ({Environment.ProcessorCount}).");
        }
    }

    private static int Int(string key, string value, int min, int max)
    {
        if (!int.TryParse(value.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
        {
            throw new ConfigurationException($"{key}: '{value}' is not a whole number.");
        }

        return n < min || n > max ? throw new ConfigurationException($"{key}: {n} is out of range [{min}, {max}].") : n;
    }

    private static long Size(string key, string value, long min, long max)
    {
        if (!ValueParsers.TryParseSize(value, out var bytes))
        {
            throw new ConfigurationException($"{key}: '{value}' is not a size (write it as 512MB, 1GB, 64KB or a byte count).");
        }

        return bytes < min || bytes > max
            ? throw new ConfigurationException($"{key}: {value} is out of range [{ValueParsers.FormatSize(min)}, {ValueParsers.FormatSize(max)}].")
            : bytes;
    }

    private static TimeSpan Duration(string key, string value, TimeSpan min, TimeSpan max)
    {
        if (!ValueParsers.TryParseDuration(value, out var d))
        {
            throw new ConfigurationException($"{key}: '{value}' is not a duration (write it as 30s, 500ms, 5m or 1h).");
        }

        return d < min || d > max ? throw new ConfigurationException($"{key}: {value} is out of range [{min}, {max}].") : d;
    }
}
