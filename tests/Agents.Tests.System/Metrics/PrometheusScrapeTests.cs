using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Agents.Client;
using Agents.Tests.Infrastructure;

namespace Agents.Tests.Metrics;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c>, a plain process on loopback) scrapes a real silo process's
/// OpenTelemetry endpoint, and its HTTP API reports the tasks of a job the silo ran under the product's names
/// (<c>agents_*</c>), the CPU as a 0-1 ratio, and the service's name.
/// </summary>
public sealed class PrometheusScrapeTests
{
    [Fact]
    public async Task PrometheusScrapesTasksProcessedFromASiloUnderTheProductsNames()
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
                    value = (await QueryAsync(http, "sum(agents_tasks_processed_total)")).FirstOrDefault().Value;
                }
                catch (HttpRequestException)
                {
                    // Prometheus is still starting.
                }
            }

            Assert.Equal(50, value);
            var cpu = Assert.Single(await QueryAsync(http, "agents_node_cpu_ratio"));
            Assert.InRange(cpu.Value, 0, 1);
            Assert.Single(await QueryAsync(http, "agents_node_working_set_bytes"));
            Assert.NotEmpty(await QueryAsync(http, "agents_task_duration_seconds_bucket"));
            var target = Assert.Single(await QueryAsync(http, "target_info"));
            Assert.Equal("agents-silo", target.Labels["service_name"]);
            Assert.Equal($"{Environment.MachineName}/{instance}", target.Labels["service_instance_id"]);

            // Nothing of ours is left outside the prefix (node_* belongs to node_exporter).
            var names = await QueryAsync(http, "count by (__name__) ({job=\"agents\"})");
            var ours = new[] { "tasks_processed_total", "node_cpu_percent", "node_working_set_bytes", "active_tasks", "searches_total" };
            Assert.DoesNotContain(names, n => ours.Contains(n.Labels["__name__"]));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The series of an instant query: each one's labels and value.</summary>
    private static async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(HttpClient http, string query)
    {
        using var reply = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/query?query={Uri.EscapeDataString(query)}"));
        return reply.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(series => (
                series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                double.Parse(series.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
    }
}
