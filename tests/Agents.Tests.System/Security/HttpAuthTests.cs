using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Agents.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Agents.Tests.Security;

/// <summary>
/// A real silo process with <c>P2P_HTTP_AUTH</c>: <c>/metrics</c> and the dashboard answer 401 with a Basic challenge
/// unless the request carries the configured user and password; each port serves only its own endpoint.
/// </summary>
public sealed class HttpAuthTests(ITestOutputHelper output)
{
    private const string User = "scraper";
    private const string Password = "http-secret-4Rt";

    [Fact]
    public async Task MetricsAndDashboardDemandTheConfiguredCredentials()
    {
        var metricsPort = PostgresServer.FreePort();
        var dashboardPort = PostgresServer.FreePort();
        var dataDir = Directory.CreateTempSubdirectory("agents-auth-silo-").FullName;
        await using var silo = SiloProcess.Start(
            ["--data-dir", dataDir, "--metrics-port", Port(metricsPort), "--dashboard-port", Port(dashboardPort)],
            SiloProcess.FreeInstance(),
            new Dictionary<string, string> { ["P2P_HTTP_AUTH"] = $"{User}:{Password}" });
        try
        {
            using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
            using var dashboard = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{dashboardPort}") };
            await WaitListeningAsync(metrics, silo);
            await WaitListeningAsync(dashboard, silo);

            foreach (var (client, path) in new[] { (metrics, "/metrics"), (dashboard, "/"), (dashboard, "/DashboardCounters") })
            {
                await AssertChallengedAsync(client, path, null);
                await AssertChallengedAsync(client, path, $"{User}:wrong");
                await AssertChallengedAsync(client, path, $"someone:{Password}");
                await AssertChallengedAsync(client, path, Password);
            }

            var scrape = await SendAsync(metrics, "/metrics", $"{User}:{Password}");
            Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
            var text = await scrape.Content.ReadAsStringAsync();
            Assert.Contains("# TYPE ", text, StringComparison.Ordinal);
            Assert.Contains("target_info", text, StringComparison.Ordinal);

            var page = await SendAsync(dashboard, "/", $"{User}:{Password}");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
            var counters = await SendAsync(dashboard, "/DashboardCounters", $"{User}:{Password}");
            Assert.Equal(HttpStatusCode.OK, counters.StatusCode);

            // Each port serves only its own endpoint, credentials or not.
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(metrics, "/", $"{User}:{Password}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(metrics, "/DashboardCounters", $"{User}:{Password}")).StatusCode);
            var crossed = await SendAsync(dashboard, "/metrics", $"{User}:{Password}");
            Assert.DoesNotContain("# TYPE ", await crossed.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            Assert.DoesNotContain(Password, silo.Output, StringComparison.Ordinal);
        }
        catch
        {
            output.WriteLine(silo.Output);
            throw;
        }
    }

    [Fact]
    public async Task WithoutCredentialsConfiguredMetricsAreOpenAndTheDashboardIsOff()
    {
        var metricsPort = PostgresServer.FreePort();
        var dataDir = Directory.CreateTempSubdirectory("agents-open-silo-").FullName;
        await using var silo = SiloProcess.Start(["--data-dir", dataDir, "--metrics-port", Port(metricsPort)], SiloProcess.FreeInstance());
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
        await WaitListeningAsync(metrics, silo);
        var scrape = await SendAsync(metrics, "/metrics", null);
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains("target_info", await scrape.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(metrics, "/DashboardCounters", null)).StatusCode);
    }

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    private static async Task AssertChallengedAsync(HttpClient client, string path, string? credentials)
    {
        using var reply = await SendAsync(client, path, credentials);
        Assert.Equal(HttpStatusCode.Unauthorized, reply.StatusCode);
        var challenge = Assert.Single(reply.Headers.WwwAuthenticate);
        Assert.Equal("Basic", challenge.Scheme);
        Assert.StartsWith("realm=\"agents\"", challenge.Parameter, StringComparison.Ordinal);
        Assert.DoesNotContain("# TYPE", await reply.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string path, string? credentials)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (credentials is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)));
        }

        return await client.SendAsync(request);
    }

    /// <summary>Waits until the port answers HTTP at all (any status), failing early if the silo exits.</summary>
    private static async Task WaitListeningAsync(HttpClient client, SiloProcess silo)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(silo.HasExited, $"the silo exited:\n{silo.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"the silo never listened on {client.BaseAddress}:\n{silo.Output}");
            try
            {
                using var reply = await client.GetAsync("/");
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(250);
            }
        }
    }
}
