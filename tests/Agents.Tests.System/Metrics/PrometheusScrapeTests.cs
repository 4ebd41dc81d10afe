using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Agents.Client;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Metrics;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c>, a plain process on loopback) scrapes a real silo process's
/// OpenTelemetry endpoint, and its HTTP API reports the tasks of a job the silo ran.
/// </summary>
public sealed class PrometheusScrapeTests
{
    [Fact]
    public async Task PrometheusScrapesTasksProcessedFromASilo()
    {
        var prometheus = new[] { "/usr/bin/prometheus", "/usr/local/bin/prometheus" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("prometheus is not installed: apt-get install -y prometheus (.ci/run does).");
        var metricsPort = PostgresServer.FreePort();
        var instance = SiloProcess.FreeInstance();
        var dataDir = Directory.CreateTempSubdirectory("agents-prom-silo-").FullName;
        await using var silo = SiloProcess.Start(["--data-dir", dataDir, "--metrics-port", metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture)], instance);

        var work = Directory.CreateTempSubdirectory("agents-prometheus-").FullName;
        var promPort = PostgresServer.FreePort();
        await File.WriteAllTextAsync(Path.Combine(work, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: agents
                static_configs:
                  - targets: ["127.0.0.1:{metricsPort}"]
            """);
        var start = new ProcessStartInfo(prometheus) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"--config.file={Path.Combine(work, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(work, "data")}", $"--web.listen-address=127.0.0.1:{promPort}" })
        {
            start.ArgumentList.Add(a);
        }

        using var server = Process.Start(start)!;
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            await using var client = await ClusterProcesses.ConnectGatewayAsync(instance, silo);
            var tasks = Enumerable.Range(0, 50).Select(i => new JobTask(i, $"d{i}", Encoding.UTF8.GetBytes($"Document {i} about metrics and silos."))).ToList();
            var result = await client.WaitAsync(await client.SubmitAsync(new JobSpec(TaskTypes.TextProcessing, Distribution.RoundRobin), tasks));
            Assert.Equal(50, result.Status.SucceededTasks);

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{promPort}") };
            var deadline = DateTime.UtcNow.AddSeconds(45);
            double value = 0;
            while (value < 50)
            {
                Assert.True(DateTime.UtcNow < deadline, $"Prometheus never reported the job's tasks (last value {value}); silo output:\n{silo.Output}");
                await Task.Delay(500);
                try
                {
                    using var reply = JsonDocument.Parse(await http.GetStringAsync("/api/v1/query?query=sum(tasks_processed_total)"));
                    var series = reply.RootElement.GetProperty("data").GetProperty("result");
                    value = series.GetArrayLength() == 0 ? 0 : double.Parse(series[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                }
                catch (HttpRequestException)
                {
                    // Prometheus is still starting.
                }
            }

            Assert.Equal(50, value);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            Directory.Delete(work, recursive: true);
        }
    }
}
