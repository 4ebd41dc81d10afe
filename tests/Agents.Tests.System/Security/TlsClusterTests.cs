using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Agents.Client;
using Agents.Hosting;
using Agents.Tests.Infrastructure;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Agents.Tests.Security;

/// <summary>
/// Two real silo processes on PostgreSQL with mutual TLS from a CA the test makes: a client of that CA works across
/// both; a plain client, a client of another CA and a silo of another CA are all turned away.
/// </summary>
[Collection(nameof(PostgresCollection))]
public sealed class TlsClusterTests(PostgresServer postgres, ITestOutputHelper output)
{
    private const string Password = "node-pfx-pass";

    [Fact]
    public async Task ATlsClusterServesItsCaAndTurnsStrangersAway()
    {
        using var pki = TestCertificates.Create("agents-ca");
        using var strangers = TestCertificates.Create("stranger-ca");
        var database = await postgres.CreateDatabaseAsync();
        var silos = new List<SiloProcess>();
        var failed = true;
        try
        {
            var first = SiloProcess.FreeInstance();
            silos.Add(SiloProcess.Start(["--init-schema"], first, Env(database, pki.Environment(pki.Issue("silo-1", Password), Password))));
            await using var client = await ConnectAsync(database, pki.Settings(pki.Issue("client", Password, silo: false), Password), silos);
            silos.Add(SiloProcess.Start([], SiloProcess.FreeInstance(), Env(database, pki.Environment(pki.Issue("silo-2", Password), Password))));
            await ClusterProcesses.WaitForActiveSilosAsync(client, 2, silos);

            // Real work over both silos: the job's batches go silo to silo, over TLS. The job's silo may learn of the
            // second one a moment after the membership table lists it, so a job that used one silo is run again.
            var tasks = Enumerable.Range(0, 40).Select(i => new JobTask(i, $"d{i}", Encoding.UTF8.GetBytes($"Document {i} travels between silos over TLS."))).ToList();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            Guid jobId;
            JobResult result;
            do
            {
                jobId = await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 5), tasks);
                result = await client.WaitAsync(jobId);
                Assert.Equal(40, result.Status.SucceededTasks);
            }
            while (result.PerSilo.Count < 2 && DateTime.UtcNow < deadline);

            Assert.Equal(2, result.PerSilo.Count);

            // The command line takes the same P2P_TLS_* variables; without them it cannot reach the cluster.
            var cliTls = pki.Environment(pki.Issue("cli", Password, silo: false), Password);
            var listed = await CliProcess.RunAsync(["jobs", "list", "--json"], Env(database, cliTls), TimeSpan.FromSeconds(90));
            Assert.True(listed.ExitCode == 0, listed.Stderr);
            Assert.Contains(jobId.ToString(), listed.Stdout, StringComparison.Ordinal);
            var refused = await CliProcess.RunAsync(["jobs", "list", "--json", "--connect-timeout", "5s"], Env(database, []), TimeSpan.FromSeconds(30));
            Assert.True(refused.ExitCode == 3, refused.Stderr);

            // The gateway port speaks TLS and presents the silo's own certificate.
            var presented = await GatewayCertificateAsync(first, pki.Issue("probe", Password, silo: false), Password);
            using var silo1 = X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(pki.Folder, "silo-1.pfx"), Password);
            Assert.Equal(silo1.Thumbprint, presented?.Thumbprint);

            // A client without TLS, and one whose certificate another CA issued, cannot connect.
            await AssertCannotConnectAsync(ClusterConnection.Postgres(database));
            await AssertCannotConnectAsync(ClusterConnection.Postgres(database) with { Tls = strangers.Settings(strangers.Issue("intruder", Password, silo: false), Password) });

            // A silo of another CA never becomes active; the cluster keeps its two silos and keeps working.
            var intruder = SiloProcess.Start([], SiloProcess.FreeInstance(), Env(database, strangers.Environment(strangers.Issue("intruder-silo", Password), Password)));
            silos.Add(intruder);
            var management = client.Cluster.GetGrain<IManagementGrain>(0);
            var watch = Stopwatch.StartNew();
            var rejection = "";
            while (watch.Elapsed < TimeSpan.FromSeconds(60) && rejection.Length == 0)
            {
                Assert.Equal(2, (await management.GetHosts(onlyActive: true)).Count);
                await Task.Delay(500);
                rejection = intruder.Output.Split('\n').FirstOrDefault(l => l.Contains("TLS peer rejected", StringComparison.Ordinal)) ?? "";
            }

            // The intruder turned the cluster's certificates away, saying why.
            Assert.Contains("does not chain to the configured CA", rejection, StringComparison.Ordinal);
            Assert.Contains("CN=agents-ca", rejection, StringComparison.Ordinal);
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(2, (await management.GetHosts(onlyActive: true)).Count);
                await Task.Delay(500);
            }

            var again = await client.WaitAsync(await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin, 5), tasks));
            Assert.Equal(40, again.Status.SucceededTasks);
            Assert.DoesNotContain(silos, s => s.Output.Contains(Password, StringComparison.Ordinal));
            failed = false;
        }
        finally
        {
            await ClusterProcesses.StopAsync(silos, failed ? output : null);
        }
    }

    /// <summary>The connection string goes by environment, as an operator would pass it.</summary>
    private static Dictionary<string, string> Env(string database, Dictionary<string, string> tls) =>
        new(tls) { ["P2P_CLUSTER"] = database };

    private static async Task<AgentsClient> ConnectAsync(string database, TlsSettings tls, IReadOnlyList<SiloProcess> silos)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                return await AgentsClient.ConnectAsync(ClusterConnection.Postgres(database) with { Tls = tls }, cts.Token);
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !silos.Any(s => s.HasExited))
            {
                await Task.Delay(250);
            }
        }
    }

    private static async Task AssertCannotConnectAsync(ClusterConnection connection)
    {
        var watch = Stopwatch.StartNew();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var client = await AgentsClient.ConnectAsync(connection, cts.Token);
            // Were it connected, a call would have to fail.
            await client.Cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(cts.Token);
        });
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(45), $"the refusal took {watch.Elapsed}");
    }

    /// <summary>Shakes hands with a silo's gateway as a TLS client and returns the certificate it presented.</summary>
    private static async Task<X509Certificate2?> GatewayCertificateAsync(int instance, string pfx, string password)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, HostSettings.GatewayPortBase + instance);
        await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using var mine = X509CertificateLoader.LoadPkcs12FromFile(pfx, password);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ClientCertificates = [mine],
        });
        return tls.RemoteCertificate is { } remote ? X509CertificateLoader.LoadCertificate(remote.GetRawCertData()) : null;
    }
}
