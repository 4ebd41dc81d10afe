using Agents.Client;
using Agents.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Agents.Tests.Failover;

/// <summary>
/// PostgreSQL restarts in the middle of an ingest into two silo processes: upserts fail while it is down (a clear
/// error, retried by the caller), succeed again once it is back without restarting any silo, and every acknowledged
/// point is there at the end. The server is this test's own: a restart would break the pooled connections of the
/// other tests that share <see cref="PostgresCollection"/>'s server.
/// </summary>
public sealed class PostgresRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly PostgresServer postgres = new();

    public Task InitializeAsync() => postgres.InitializeAsync();

    public Task DisposeAsync() => postgres.DisposeAsync();

    [Fact]
    public async Task NoAcknowledgedPointIsLostWhenTheDatabaseRestartsDuringIngest()
    {
        var database = await postgres.CreateDatabaseAsync();
        var silos = new List<SiloProcess>();
        try
        {
            silos.Add(SiloProcess.Start(["--cluster", database, "--init-schema"], SiloProcess.FreeInstance()));
            silos.Add(SiloProcess.Start(["--cluster", database], SiloProcess.FreeInstance()));
            await using var client = await ClusterProcesses.ConnectAsync(database, silos);
            await ClusterProcesses.WaitForActiveSilosAsync(client, 2, silos);
            await client.CreateCollectionAsync(new CollectionSpec("restart", 16, VectorMetric.L2, Shards: 2));

            var random = new Random(3);
            var acknowledged = new List<PointInput>();
            var failures = 0;
            var restarted = false;
            for (var batch = 0; batch < 60; batch++)
            {
                var points = Enumerable.Range(0, 100)
                    .Select(i => new PointInput($"b{batch}-{i}", Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble()).ToArray()))
                    .ToList();
                if (batch == 20)
                {
                    await postgres.RestartAsync();
                    restarted = true;
                }

                // A caller's retry loop: a failed batch is sent again until it is acknowledged.
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (true)
                {
                    try
                    {
                        await client.UpsertAsync("restart", points);
                        acknowledged.AddRange(points);
                        break;
                    }
                    catch (Exception e) when (DateTime.UtcNow < deadline && !silos.Any(s => s.HasExited))
                    {
                        failures++;
                        Assert.False(string.IsNullOrWhiteSpace(e.Message));
                        await Task.Delay(250);
                    }
                }
            }

            output.WriteLine($"{failures} failed attempts while PostgreSQL restarted");
            Assert.True(restarted);
            Assert.DoesNotContain(silos, s => s.HasExited);
            Assert.Equal(acknowledged.Count, (await client.DescribeCollectionAsync("restart")).Points);
            foreach (var point in acknowledged.Where((_, i) => i % 97 == 0))
            {
                Assert.NotNull(await client.GetPointAsync("restart", point.Id));
            }

            // What a shard reactivated elsewhere would load: the durable rows hold every acknowledged point.
            await using var connection = new Npgsql.NpgsqlConnection(database);
            await connection.OpenAsync();
            await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM agents_vector_points WHERE collection = 'restart'", connection);
            Assert.Equal(acknowledged.Count, Convert.ToInt32(await count.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            await ClusterProcesses.StopAsync(silos, output);
        }
    }
}
