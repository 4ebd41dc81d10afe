using Agents.Engine;
using Agents.Hosting;

namespace Agents.Tests.Configuration;

public sealed class ConfigurationTests
{
    private static readonly IReadOnlyDictionary<string, string?> NoEnvironment = new Dictionary<string, string?>();

    private static AgentsSettings Yaml(string yaml) => AgentsConfiguration.ApplyYaml(new AgentsSettings(), yaml);

    private static AgentsSettings Env(params (string Name, string Value)[] variables) =>
        AgentsConfiguration.ApplyEnvironment(new AgentsSettings(), variables.ToDictionary(v => v.Name, v => (string?)v.Value));

    [Fact]
    public void FullPerformanceFileSetsEveryPerformanceKey()
    {
        var s = Yaml("""
            performance:
              worker_threads: 8
              max_blocking_threads: 16
              document_cache_size: "512MB"
              connection_pool_size: 100
              message_batch_size: 25
              keepalive_interval: "45s"
              vector_cache_size: "1GB"
              write_buffer_size: "64MB"
            text:
              chunk_tokens: 128
              chunk_overlap: 16
              max_keywords: 7
              max_document_size: 2MB
            """);
        Assert.Equal(8, s.Performance.WorkerThreads);
        Assert.Equal(16, s.Performance.MaxBlockingThreads);
        Assert.Equal(512L * 1024 * 1024, s.Performance.DocumentCacheSize);
        Assert.Equal(100, s.Performance.ConnectionPoolSize);
        Assert.Equal(25, s.Performance.MessageBatchSize);
        Assert.Equal(TimeSpan.FromSeconds(45), s.Performance.KeepaliveInterval);
        Assert.Equal(1L << 30, s.Performance.VectorCacheSize);
        Assert.Equal(64L << 20, s.Performance.WriteBufferSize);
        Assert.Equal(128, s.Text.ChunkTokens);
        Assert.Equal(16, s.Text.ChunkOverlap);
        Assert.Equal(7, s.Text.MaxKeywords);
        Assert.Equal(2L * 1024 * 1024, s.Text.MaxDocumentSize);
    }

    [Fact]
    public void EmbeddingKeysSetTheSilosModelOptions()
    {
        var s = Yaml("""
            performance:
              worker_threads: 1
              embedding_batch_size: 16
              embedding_max_wait: "10ms"
              embedding_queue_limit: 64
              message_outbox_limit: 500
            """);
        var options = EmbeddingModel.OptionsFor(s.Performance);
        Assert.Equal((1, 16, TimeSpan.FromMilliseconds(10), 64), (options.Sessions, options.MaxBatchSize, options.MaxWait, options.QueueLimit));
        Assert.Equal(500, s.Performance.MessageOutboxLimit);
        Assert.Equal(Environment.ProcessorCount, options.IntraOpThreads);

        var fromEnv = Env(("P2P_EMBEDDING_BATCH_SIZE", "4"), ("P2P_EMBEDDING_MAX_WAIT", "0ms"));
        Assert.Equal((4, TimeSpan.Zero), (fromEnv.Performance.EmbeddingBatchSize, fromEnv.Performance.EmbeddingMaxWait));
        Assert.Contains("embedding_batch_size", Assert.Throws<ConfigurationException>(() => Yaml("performance:\n  embedding_batch_size: 0\n")).Message, StringComparison.Ordinal);
        Assert.Contains("P2P_EMBEDDING_MAX_WAIT", Assert.Throws<ConfigurationException>(() => Env(("P2P_EMBEDDING_MAX_WAIT", "5s"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MessageFlushIntervalParsesAndIsBounded()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(5), Yaml("performance:\n  message_flush_interval: 5ms\n").Performance.MessageFlushInterval);
        Assert.Equal(TimeSpan.Zero, Env(("P2P_MESSAGE_FLUSH_INTERVAL", "0s")).Performance.MessageFlushInterval);
        Assert.Contains("message_flush_interval", Assert.Throws<ConfigurationException>(() => Yaml("performance:\n  message_flush_interval: 1h\n")).Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(1), Yaml("performance:\n  metrics_interval: 1s\n").Performance.MetricsInterval);
        Assert.Contains("P2P_METRICS_INTERVAL", Assert.Throws<ConfigurationException>(() => Env(("P2P_METRICS_INTERVAL", "1ms"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedPerformanceYamlLoads()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "performance.yaml");
        var s = AgentsConfiguration.Load(path, NoEnvironment);
        Assert.Equal(50, s.Performance.MessageBatchSize);
        Assert.Equal(64L * 1024 * 1024, s.Performance.DocumentCacheSize);
    }

    [Theory]
    [InlineData("1GB", 1L << 30)]
    [InlineData("512MB", 512L << 20)]
    [InlineData("64KB", 64L << 10)]
    [InlineData("1.5GB", 3L << 29)]
    [InlineData("2 MiB", 2L << 20)]
    [InlineData("1024", 1024L)]
    public void SizesParse(string text, long bytes)
    {
        Assert.True(ValueParsers.TryParseSize(text, out var parsed));
        Assert.Equal(bytes, parsed);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("00:00:10", 10_000)]
    public void DurationsParse(string text, double milliseconds)
    {
        Assert.True(ValueParsers.TryParseDuration(text, out var parsed));
        Assert.Equal(milliseconds, parsed.TotalMilliseconds);
    }

    [Theory]
    [InlineData("performance:\n  worker_treads: 4\n", "performance.worker_treads")]
    [InlineData("performance:\n  document_cache_size: lots\n", "performance.document_cache_size")]
    [InlineData("performance:\n  document_cache_size: -5MB\n", "performance.document_cache_size")]
    [InlineData("performance:\n  keepalive_interval: soon\n", "performance.keepalive_interval")]
    [InlineData("performance:\n  keepalive_interval: 30\n", "performance.keepalive_interval")]
    [InlineData("performance:\n  worker_threads: 0\n", "performance.worker_threads")]
    [InlineData("performance:\n  worker_threads: eight\n", "performance.worker_threads")]
    [InlineData("performance:\n  message_batch_size: [1, 2]\n", "performance.message_batch_size")]
    [InlineData("performance:\n  vector_cache_size: lots\n", "performance.vector_cache_size")]
    [InlineData("performance:\n  write_buffer_size: 1KB\n", "performance.write_buffer_size")]
    [InlineData("performance:\n  write_buffer_size: 200MB\n", "performance.write_buffer_size")]
    [InlineData("performance:\n  bloom_filter_bits: 10\n", "performance.bloom_filter_bits")]
    [InlineData("networking:\n  port: 1\n", "networking")]
    [InlineData("performance:\n  worker_threads: 4\n   bad indent: [\n", "line")]
    [InlineData("- just\n- a list\n", "top level")]
    public void BadYamlIsRejectedNamingTheKey(string yaml, string named)
    {
        var e = Assert.Throws<ConfigurationException>(() => Yaml(yaml));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnvironmentOverridesTheFile()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "performance:\n  worker_threads: 3\n  message_batch_size: 10\n");
            var s = AgentsConfiguration.Load(path, new Dictionary<string, string?>
            {
                ["P2P_WORKER_THREADS"] = "5",
                ["P2P_CACHE_SIZE"] = "256MB",
                ["P2P_KEEPALIVE_INTERVAL"] = "10s",
                ["P2P_CHUNK_TOKENS"] = "64",
            });
            Assert.Equal(5, s.Performance.WorkerThreads);
            Assert.Equal(10, s.Performance.MessageBatchSize);
            Assert.Equal(256L << 20, s.Performance.DocumentCacheSize);
            Assert.Equal(TimeSpan.FromSeconds(10), s.Performance.KeepaliveInterval);
            Assert.Equal(64, s.Text.ChunkTokens);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void EveryKeyHasAVariable()
    {
        foreach (var path in AgentsConfiguration.KeyPaths)
        {
            var variable = "P2P_" + path.Split('.')[1].ToUpperInvariant();
            Assert.Contains(variable, AgentsConfiguration.KeyVariables);
        }
    }

    [Theory]
    [InlineData("P2P_WORKER_THREADS", "many", "P2P_WORKER_THREADS")]
    [InlineData("P2P_CACHE_SIZE", "big", "P2P_CACHE_SIZE")]
    [InlineData("P2P_WORKER_THRADS", "4", "P2P_WORKER_THRADS")]
    [InlineData("P2P_ENABLE_SIMD", "maybe", "P2P_ENABLE_SIMD")]
    [InlineData("P2P_VECTOR_CACHE_SIZE", "huge", "P2P_VECTOR_CACHE_SIZE")]
    [InlineData("P2P_BLOOM_FILTER_BITS", "10", "P2P_BLOOM_FILTER_BITS")]
    public void BadVariablesAreRejectedNamingThem(string name, string value, string named)
    {
        var e = Assert.Throws<ConfigurationException>(() => Env((name, value)));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnableSimdSelectsTheKernels()
    {
        Assert.True(new AgentsSettings().EnableSimd);
        Assert.False(Env(("P2P_ENABLE_SIMD", "false")).EnableSimd);
    }

    [Fact]
    public void HostVariablesAreNotCalledUnknown()
    {
        var s = Env(("P2P_INSTANCE", "2"), ("P2P_DATA_DIR", "/tmp/x"));
        Assert.Equal(new AgentsSettings(), s);
        Assert.Equal(2, HostSettings.FromEnvironment(new Dictionary<string, string?> { ["P2P_INSTANCE"] = "2" }).Instance);
    }

    [Fact]
    public void AddressIsAnIpOrAHostNameThatResolves()
    {
        HostSettings Host(string value) => HostSettings.FromEnvironment(new Dictionary<string, string?> { ["P2P_ADDRESS"] = value });
        Assert.Equal(System.Net.IPAddress.Parse("10.1.2.3"), Host("10.1.2.3").AdvertisedAddress);
        Assert.Equal(System.Net.IPAddress.Loopback, Host("localhost").AdvertisedAddress);
        Assert.Equal(System.Net.IPAddress.Loopback, HostSettings.FromEnvironment(new Dictionary<string, string?>()).AdvertisedAddress);
        Assert.Equal(new AgentsSettings(), Env(("P2P_ADDRESS", "10.1.2.3")));
        var e = Assert.Throws<ConfigurationException>(() => Host("no-such-host.invalid"));
        Assert.Contains("P2P_ADDRESS: 'no-such-host.invalid'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlapMustBeSmallerThanTheChunk()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            AgentsConfiguration.Validate(Yaml("text:\n  chunk_tokens: 32\n  chunk_overlap: 32\n")));
        Assert.Contains("text.chunk_overlap", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var e = Assert.Throws<ConfigurationException>(() => AgentsConfiguration.Load("/nonexistent/performance.yaml", NoEnvironment));
        Assert.Contains("/nonexistent/performance.yaml", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PoolSizeAndKeepaliveReachTheConnectionString()
    {
        var performance = new PerformanceSettings { ConnectionPoolSize = 7, KeepaliveInterval = TimeSpan.FromSeconds(15) };
        var built = new Npgsql.NpgsqlConnectionStringBuilder(
            ClusterSchema.Connection("Host=127.0.0.1;Port=5432;Username=postgres;Password=secret", performance));
        Assert.Equal(7, built.MaxPoolSize);
        Assert.Equal(15, built.KeepAlive);
    }

    [Fact]
    public void BadConnectionStringIsRejectedWithoutEchoingIt()
    {
        var e = Assert.Throws<ConfigurationException>(() => ClusterSchema.Connection("Host=x;Passwrd=hunter2", new PerformanceSettings()));
        Assert.DoesNotContain("hunter2", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WorkerAndBlockingThreadsSetThePoolLimits()
    {
        var (min, max) = ThreadPoolLimits.Compute(new PerformanceSettings { WorkerThreads = 3, MaxBlockingThreads = 40 });
        Assert.Equal(3, min);
        Assert.Equal(43, max);
    }

    [Fact]
    public void SiloArgumentsOverrideTheEnvironment()
    {
        var (host, _) = SiloHost.Parse(
            ["--instance", "3", "--cluster", "Host=127.0.0.1", "--init-schema"],
            new Dictionary<string, string?> { ["P2P_INSTANCE"] = "1" });
        Assert.Equal(3, host.Instance);
        Assert.Equal(HostSettings.SiloPortBase + 3, host.EffectiveSiloPort);
        Assert.Equal(HostSettings.GatewayPortBase + 3, host.EffectiveGatewayPort);
        Assert.True(host.InitSchema);
        Assert.Throws<ConfigurationException>(() => SiloHost.Parse(["--instanse", "1"], NoEnvironment));
        Assert.Throws<ConfigurationException>(() => SiloHost.Parse(["--init-schema"], NoEnvironment));
    }

    [Fact]
    public void PrimaryNamesTheDevelopmentClusterToJoinAndExcludesADatabase()
    {
        var primary = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 11200);
        Assert.Null(SiloHost.Parse([], NoEnvironment).Host.Primary);
        Assert.Equal(primary, SiloHost.Parse(["--primary", "127.0.0.1:11200"], NoEnvironment).Host.Primary);
        Assert.Equal(primary, SiloHost.Parse([], new Dictionary<string, string?> { ["P2P_PRIMARY"] = "localhost:11200" }).Host.Primary);
        Assert.Equal(new AgentsSettings(), Env(("P2P_PRIMARY", "127.0.0.1:11200")));
        Assert.Contains("P2P_PRIMARY: '127.0.0.1'", Assert.Throws<ConfigurationException>(
            () => SiloHost.Parse([], new Dictionary<string, string?> { ["P2P_PRIMARY"] = "127.0.0.1" })).Message, StringComparison.Ordinal);
        Assert.Contains("--primary", Assert.Throws<ConfigurationException>(
            () => SiloHost.Parse(["--primary", "127.0.0.1:0"], NoEnvironment)).Message, StringComparison.Ordinal);
        Assert.Contains("--cluster", Assert.Throws<ConfigurationException>(
            () => SiloHost.Parse(["--primary", "127.0.0.1:11200", "--cluster", "Host=127.0.0.1"], NoEnvironment)).Message, StringComparison.Ordinal);
    }
}
