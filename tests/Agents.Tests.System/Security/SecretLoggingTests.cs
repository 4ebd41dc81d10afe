using Agents.Client;
using Agents.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Agents.Tests.Security;

/// <summary>
/// Connection-string and certificate passwords never reach a silo's output: not while it runs (with every log category
/// at Information), and not when the database cannot be reached. The test PostgreSQL trusts any password, so a marker
/// password in the connection string is accepted and has to travel through everything the silo does.
/// </summary>
[Collection(nameof(PostgresCollection))]
public sealed class SecretLoggingTests(PostgresServer postgres, ITestOutputHelper output)
{
    private const string DatabaseSecret = "db-secret-8Hn";
    private const string CertificateSecret = "pfx-secret-5Vb";

    [Fact]
    public async Task ARunningSiloPrintsNoPassword()
    {
        using var pki = TestCertificates.Create("logging-ca");
        var database = await postgres.CreateDatabaseAsync() + $";Password={DatabaseSecret}";
        var env = new Dictionary<string, string>(pki.Environment(pki.Issue("silo", CertificateSecret), CertificateSecret))
        {
            ["P2P_CLUSTER"] = database,
            // Everything Orleans and the hosting stack say at Information and above.
            ["Logging__LogLevel__Default"] = "Information",
        };
        var silos = new List<SiloProcess> { SiloProcess.Start(["--init-schema"], SiloProcess.FreeInstance(), env) };
        try
        {
            var tls = pki.Settings(pki.Issue("client", CertificateSecret, silo: false), CertificateSecret);
            var deadline = DateTime.UtcNow.AddSeconds(90);
            AgentsClient? client = null;
            while (client is null)
            {
                try
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    client = await AgentsClient.ConnectAsync(ClusterConnection.Postgres(database) with { Tls = tls }, cts.Token);
                }
                catch (Exception) when (DateTime.UtcNow < deadline && !silos[0].HasExited)
                {
                    await Task.Delay(250);
                }
            }

            await using (client)
            {
                await ClusterProcesses.WaitForActiveSilosAsync(client, 1, silos);
                var tasks = Enumerable.Range(0, 10).Select(i => new JobTask(i, $"d{i}", System.Text.Encoding.UTF8.GetBytes($"Document {i}."))).ToList();
                Assert.Equal(10, (await client.WaitAsync(await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), tasks))).Status.SucceededTasks);
            }

            Assert.Contains("info: Orleans.Storage.AdoNetGrainStorage", silos[0].Output, StringComparison.Ordinal);
            AssertNoSecret(silos[0].Output);
        }
        finally
        {
            await ClusterProcesses.StopAsync(silos, output);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ASiloThatCannotReachTheDatabasePrintsNoPassword(bool initSchema)
    {
        // A port nothing listens on: the schema step (or the membership table) fails to connect.
        var unreachable = $"Host=127.0.0.1;Port={PostgresServer.FreePort()};Username=postgres;Password={DatabaseSecret};Database=agents;Timeout=2";
        await using var silo = SiloProcess.Start(initSchema ? ["--init-schema"] : [], SiloProcess.FreeInstance(), new Dictionary<string, string>
        {
            ["P2P_CLUSTER"] = unreachable,
            ["Logging__LogLevel__Default"] = "Information",
        });

        // It fails (exits, or keeps retrying and saying so); either way its words so far carry no password.
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (!silo.HasExited && DateTime.UtcNow < deadline && !silo.Output.Contains("Failed to connect", StringComparison.Ordinal))
        {
            await Task.Delay(250);
        }

        output.WriteLine(silo.Output);
        Assert.Contains("127.0.0.1", silo.Output, StringComparison.Ordinal);
        AssertNoSecret(silo.Output);
    }

    private static void AssertNoSecret(string text)
    {
        Assert.DoesNotContain(DatabaseSecret, text, StringComparison.Ordinal);
        Assert.DoesNotContain(CertificateSecret, text, StringComparison.Ordinal);
    }
}
