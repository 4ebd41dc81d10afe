using System.Runtime.InteropServices;
using System.Text;
using Agents.Client;
using Agents.Engine;
using Agents.Hosting;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Reliability;

/// <summary>
/// Randomised bad input (seeded, so a failure repeats): thousands of point batches, searches, names, vector files
/// and configuration texts. Every rejection is an <see cref="ArgumentException"/>-family or data error whose
/// message says what was wrong, nothing is partially written, and the cluster keeps serving.
/// </summary>
[Collection(nameof(ThreeSiloCollection))]
public sealed class BadInputFuzzTests(ThreeSiloCluster fixture)
{
    private AgentsClient Client => AgentsClient.FromCluster(fixture.Client);

    [Fact]
    public async Task RandomPointBatchesAreAcceptedWholeOrRejectedWholeWithAReason()
    {
        var name = $"fuzz-{Guid.NewGuid():N}"[..20];
        await Client.CreateCollectionAsync(new CollectionSpec(name, 8, VectorMetric.Cosine, Shards: 1));
        var shard = fixture.Client.GetGrain<IVectorShardGrain>($"{name}/0");
        var random = new Random(1234);
        var accepted = new HashSet<string>(StringComparer.Ordinal);
        var rejected = 0;
        for (var round = 0; round < 1500; round++)
        {
            var n = random.Next(0, 6);
            var dimension = random.Next(10) == 0 ? random.Next(0, 20) : 8;
            var ids = Enumerable.Range(0, n).Select(_ => RandomId(random)).ToArray();
            var floats = Enumerable.Range(0, n * dimension).Select(_ => RandomFloat(random)).ToArray();
            var payloads = Enumerable.Range(0, random.Next(12) == 0 ? n + 1 : n).Select(_ => RandomPayload(random)).ToArray();
            var batch = new PointBatch(ids, MemoryMarshal.AsBytes(floats.AsSpan()).ToArray(), payloads);
            try
            {
                await shard.UpsertAsync(batch);
                accepted.UnionWith(ids);
            }
            catch (ArgumentException e)
            {
                rejected++;
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }

        // Nothing half-written: the shard holds exactly the ids of the batches it accepted.
        Assert.True(rejected > 300 && accepted.Count > 300, $"{rejected} rejected, {accepted.Count} accepted: the generator should exercise both");
        Assert.Equal(accepted.Count, (await Client.DescribeCollectionAsync(name)).Points);
        foreach (var id in accepted.Take(50))
        {
            Assert.NotNull(await Client.GetPointAsync(name, id));
        }

        // Searches with random k, ef and dimension.
        for (var round = 0; round < 500; round++)
        {
            var k = random.Next(-3, 12_000);
            int? ef = random.Next(4) == 0 ? random.Next(-2, 200_000) : null;
            var query = Enumerable.Range(0, random.Next(8) == 0 ? random.Next(0, 12) : 8).Select(_ => RandomFloat(random)).ToArray();
            try
            {
                var hits = await Client.SearchAsync(name, query, k, ef);
                Assert.True(hits.Length <= k);
            }
            catch (ArgumentException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }

        Assert.Single(await Client.SearchAsync(name, [1, 0, 0, 0, 0, 0, 0, 1], 1));
        await Client.DropCollectionAsync(name);
    }

    [Fact]
    public async Task RandomCollectionNamesAndSpecsAreValidatedWithTheirName()
    {
        var random = new Random(99);
        const string alphabet = "abcXYZ019_-./ é*%";
        for (var round = 0; round < 400; round++)
        {
            var name = new string(Enumerable.Range(0, random.Next(0, 70)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var spec = new CollectionSpec(name, random.Next(-2, 5000), (VectorMetric)random.Next(0, 4), random.Next(-1, 300), random.Next(3) == 0 ? (VectorIndexKind)7 : VectorIndexKind.Flat);
            try
            {
                await Client.CreateCollectionAsync(spec);
                await Client.DropCollectionAsync(name);
            }
            catch (ArgumentException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }
    }

    [Fact]
    public void MutatedVectorFilesParseOrFailWithADataError()
    {
        var dir = Directory.CreateTempSubdirectory("agents-fuzz-files-").FullName;
        var random = new Random(7);
        var valid = new List<byte>();
        for (var row = 0; row < 20; row++)
        {
            valid.AddRange(BitConverter.GetBytes(4));
            for (var i = 0; i < 4; i++)
            {
                valid.AddRange(BitConverter.GetBytes((float)random.NextDouble()));
            }
        }

        var jsonl = string.Join('\n', Enumerable.Range(0, 10).Select(i => $$$"""{"id": "p{{{i}}}", "vector": [0.1, 0.2, {{{i}}}], "payload": {"n": {{{i}}}}}"""));
        var tried = 0;
        for (var round = 0; round < 1500; round++)
        {
            var bytes = valid.ToArray();
            var text = Encoding.UTF8.GetBytes(jsonl);
            foreach (var target in new[] { bytes, text })
            {
                for (var m = random.Next(1, 4); m > 0; m--)
                {
                    target[random.Next(target.Length)] = (byte)random.Next(256);
                }
            }

            var fvecs = Path.Combine(dir, "m.fvecs");
            File.WriteAllBytes(fvecs, random.Next(5) == 0 ? bytes[..random.Next(bytes.Length)] : bytes);
            var lines = Path.Combine(dir, "m.jsonl");
            File.WriteAllBytes(lines, text);
            foreach (var path in new[] { fvecs, lines })
            {
                tried++;
                try
                {
                    var points = VectorFiles.ReadPoints(path).ToList();
                    Assert.All(points, p => Assert.NotNull(p.Vector));
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException)
                {
                    Assert.Contains(Path.GetFileName(path), e.Message, StringComparison.Ordinal);
                }
            }
        }

        Assert.Equal(3000, tried);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void RandomConfigurationIsLoadedOrRejectedNamingWhatIsWrong()
    {
        var random = new Random(5);
        string[] keys = ["worker_threads", "max_blocking_threads", "document_cache_size", "vector_cache_size", "write_buffer_size", "message_batch_size",
            "keepalive_interval", "metrics_interval", "message_flush_interval", "embedding_batch_size", "embedding_max_wait", "bloom_filter_bits", "worker_thread", "chunk_tokens"];
        string[] values = ["4", "0", "-1", "1GB", "512MB", "2.5GB", "10s", "0ms", "abc", "", "99999999999", "1e3", "true", "[1, 2]", "{a: 1}", "30"];
        for (var round = 0; round < 1000; round++)
        {
            var yaml = new StringBuilder(random.Next(6) == 0 ? "perfomance:\n" : "performance:\n");
            for (var i = random.Next(1, 4); i > 0; i--)
            {
                yaml.Append("  ").Append(keys[random.Next(keys.Length)]).Append(": ").Append(values[random.Next(values.Length)]).Append('\n');
            }

            try
            {
                AgentsConfiguration.Validate(AgentsConfiguration.ApplyYaml(new AgentsSettings(), yaml.ToString()));
            }
            catch (ConfigurationException e)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }
    }

    private static string RandomId(Random random) => random.Next(20) switch
    {
        0 => "",
        1 => new string('x', 300),
        2 => "dup",
        _ => $"id-{random.Next(100_000)}",
    };

    private static float RandomFloat(Random random) => random.Next(60) switch
    {
        0 => float.NaN,
        1 => float.PositiveInfinity,
        2 => 0,
        _ => (float)((random.NextDouble() * 2) - 1),
    };

    private static byte[] RandomPayload(Random random) => random.Next(15) switch
    {
        0 => "[1]"u8.ToArray(),
        1 => "{not json"u8.ToArray(),
        2 => "{\"a\": {\"deep\": 1}}"u8.ToArray(),
        3 => [],
        _ => Encoding.UTF8.GetBytes($$"""{"n": {{random.Next(10)}}, "tag": "t{{random.Next(3)}}"}"""),
    };
}
